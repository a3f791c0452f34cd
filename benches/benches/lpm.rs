//! Longest-prefix match: `hnv_core::table::lpm::Lpm` beside a linear scan over the same
//! routes written here, measured in the same run. See `docs/performance.md`.
//!
//! Route sets (deterministic pseudo-random, duplicates possible as in a real table):
//! * IPv4, lengths like a BGP table: 55 % /24, 35 % /16–/23, 5 % /8–/15, 5 % /25–/32.
//! * IPv6 inside 2000::/3: 40 % /48, 30 % /32–/47, 20 % /49–/64, 5 % /128, 5 % /16–/31.
//!
//! Lookup addresses: `mixed` = half uniform random (IPv6: in 2000::/3), half inside a random
//! route with random host bits; `uniform` = uniform random only.
//!
//! Groups (`Throughput::Elements` = lookups per iteration):
//! * `lpm/{v4,v6}/{1k,100k}`: `hnv` (1024 mixed addresses), `hnv_uniform` (1024 uniform
//!   addresses), at 1k `hnv_fixed` (`FixedLpm<u32, 1024>`, the 1024 mixed addresses) and
//!   `linear_scan` (the first 64 mixed addresses).
//! * `lpm/{v4,v6}/100k/scan`: `linear_scan` at 100k routes (64 addresses, 10 samples: one
//!   iteration takes milliseconds).
//!
//! Table memory and build time are printed to stderr.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hnv_benches::Rng;
use hnv_core::policy::Prefix;
use hnv_core::table::lpm::{FixedLpm, Lpm, LpmBuilder, PrefixTable};

/// Addresses per `hnv` iteration.
const BATCH: usize = 1024;
/// Addresses per `linear_scan` iteration.
const SCAN_BATCH: usize = 64;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    V4,
    V6,
}

impl Family {
    const fn label(self) -> &'static str {
        match self {
            Self::V4 => "v4",
            Self::V6 => "v6",
        }
    }

    const fn width(self) -> u32 {
        match self {
            Self::V4 => 32,
            Self::V6 => 128,
        }
    }

    fn len(self, rng: &mut Rng) -> u8 {
        let pick = rng.below(100);
        let spread = rng.below(8) as u8;
        let spread16 = rng.below(16) as u8;
        match self {
            Self::V4 => match pick {
                0..55 => 24,
                55..90 => 16 + spread,
                90..95 => 8 + spread,
                _ => 25 + spread,
            },
            Self::V6 => match pick {
                0..40 => 48,
                40..70 => 32 + spread16,
                70..90 => 49 + spread16,
                90..95 => 128,
                _ => 16 + spread16,
            },
        }
    }

    /// A uniform random address (IPv6: in 2000::/3).
    fn addr(self, rng: &mut Rng) -> IpAddr {
        match self {
            Self::V4 => IpAddr::V4(Ipv4Addr::from_bits(rng.next_u64() as u32)),
            Self::V6 => IpAddr::V6(Ipv6Addr::from_bits((rng.u128() >> 3) | (1u128 << 125))),
        }
    }
}

/// `a` as an integer, IPv4 in the low 32 bits.
fn bits(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(a) => u128::from(a.to_bits()),
        IpAddr::V6(a) => a.to_bits(),
    }
}

/// `n` routes `(prefix, metric)`.
fn routes(family: Family, n: usize, seed: u64) -> Vec<(Prefix, u32)> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|_| {
            let len = family.len(&mut rng);
            let prefix = Prefix::truncating(family.addr(&mut rng), len);
            (prefix, rng.below(4) as u32)
        })
        .collect()
}

/// `n` addresses: alternately inside a random route (random host bits) and uniform random.
fn mixed_addrs(family: Family, routes: &[(Prefix, u32)], n: usize, seed: u64) -> Vec<IpAddr> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|i| {
            if i % 2 == 1 {
                return family.addr(&mut rng);
            }
            let (prefix, _) = routes[rng.below(routes.len() as u64) as usize];
            let host = family.width() - u32::from(prefix.len());
            let low = if host >= 128 {
                u128::MAX
            } else {
                (1u128 << host) - 1
            };
            let b = bits(prefix.addr()) | (rng.u128() & low);
            match family {
                Family::V4 => IpAddr::V4(Ipv4Addr::from_bits(b as u32)),
                Family::V6 => IpAddr::V6(Ipv6Addr::from_bits(b)),
            }
        })
        .collect()
}

fn uniform_addrs(family: Family, n: usize, seed: u64) -> Vec<IpAddr> {
    let mut rng = Rng(seed);
    (0..n).map(|_| family.addr(&mut rng)).collect()
}

/// The baseline: every route as (network, mask, length, metric, value), scanned in full
/// for each lookup, keeping the longest match, then the lowest metric, then the first.
struct LinearScan {
    routes: Vec<(u128, u128, u8, u32, u32)>,
}

impl LinearScan {
    fn new(family: Family, routes: &[(Prefix, u32)]) -> Self {
        let routes = routes
            .iter()
            .zip(0u32..)
            .map(|(&(p, metric), value)| {
                let host = family.width() - u32::from(p.len());
                let mask = if host >= 128 {
                    0
                } else {
                    !((1u128 << host) - 1)
                };
                (bits(p.addr()), mask, p.len(), metric, value)
            })
            .collect();
        Self { routes }
    }

    fn lookup(&self, addr: IpAddr) -> Option<u32> {
        let a = bits(addr);
        let mut best: Option<(u8, u32, u32)> = None;
        for &(net, mask, len, metric, value) in &self.routes {
            if a & mask != net {
                continue;
            }
            let better = match best {
                None => true,
                Some((bl, bm, _)) => len > bl || (len == bl && metric < bm),
            };
            if better {
                best = Some((len, metric, value));
            }
        }
        best.map(|(_, _, v)| v)
    }

    fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.routes.len() * std::mem::size_of::<(u128, u128, u8, u32, u32)>()
    }
}

fn build(routes: &[(Prefix, u32)]) -> (Lpm<u32>, Duration) {
    let start = Instant::now();
    let mut b = LpmBuilder::new();
    for (&(prefix, metric), value) in routes.iter().zip(0u32..) {
        b.insert(prefix, metric, value);
    }
    let lpm = b.build();
    (lpm, start.elapsed())
}

/// Sum of the values found: keeps every lookup's result alive.
fn run<T: PrefixTable<u32>>(t: &T, addrs: &[IpAddr]) -> u32 {
    let mut acc = 0u32;
    for &a in addrs {
        if let Some(&v) = t.lookup(black_box(a)) {
            acc = acc.wrapping_add(v);
        }
    }
    acc
}

fn family_benches(c: &mut Criterion, family: Family) {
    for (n, label) in [(1_000usize, "1k"), (100_000, "100k")] {
        let routes = routes(family, n, 0x5eed_0000 + n as u64);
        let mixed = mixed_addrs(family, &routes, BATCH, 0xadd5 + n as u64);
        let uniform = uniform_addrs(family, BATCH, 0x0a11 + n as u64);
        let (lpm, build_time) = build(&routes);
        let scan = LinearScan::new(family, &routes);
        // Untimed: hnv and the scan agree on every address measured.
        for &a in mixed.iter().chain(&uniform) {
            assert_eq!(lpm.lookup(a).copied(), scan.lookup(a), "{a}");
        }
        let found = mixed.iter().filter(|&&a| lpm.lookup(a).is_some()).count();
        eprintln!(
            "lpm/{}/{label}: {} routes ({} distinct prefixes): Lpm {} bytes ({} per prefix), \
             built in {:.1} ms; linear scan {} bytes; {found}/{BATCH} mixed addresses match; {lpm:?}",
            family.label(),
            routes.len(),
            lpm.len(),
            lpm.memory_bytes(),
            lpm.memory_bytes() / lpm.len().max(1),
            build_time.as_secs_f64() * 1e3,
            scan.memory_bytes(),
        );

        let mut g = c.benchmark_group(format!("lpm/{}/{label}", family.label()));
        g.throughput(Throughput::Elements(BATCH as u64));
        // Timed: 1024 lookups (IpAddr → first-level read, node walk, value), values summed.
        g.bench_function("hnv", |b| b.iter(|| run(&lpm, black_box(&mixed))));
        g.bench_function("hnv_uniform", |b| {
            b.iter(|| run(&lpm, black_box(&uniform)));
        });
        if n <= 1024 {
            let mut fixed: Box<FixedLpm<u32, 1024>> = Box::default();
            for (&(prefix, metric), value) in routes.iter().zip(0u32..) {
                fixed.insert(prefix, metric, value).expect("fits");
            }
            for &a in &mixed {
                assert_eq!(fixed.lookup(a).copied(), scan.lookup(a), "{a}");
            }
            eprintln!(
                "lpm/{}/{label}: FixedLpm<u32, 1024> {} bytes",
                family.label(),
                std::mem::size_of::<FixedLpm<u32, 1024>>()
            );
            // Timed: the same 1024 lookups in the allocation-free table.
            g.bench_function("hnv_fixed", |b| {
                b.iter(|| run(&*fixed, black_box(&mixed)));
            });
        }
        let few = &mixed[..SCAN_BATCH];
        let scan_run = |b: &mut criterion::Bencher<'_>| {
            b.iter(|| {
                let mut acc = 0u32;
                for &a in black_box(few) {
                    if let Some(v) = scan.lookup(black_box(a)) {
                        acc = acc.wrapping_add(v);
                    }
                }
                acc
            });
        };
        if n <= 1024 {
            g.throughput(Throughput::Elements(SCAN_BATCH as u64));
            // Timed: 64 lookups, each a scan of every route.
            g.bench_function("linear_scan", scan_run);
            g.finish();
        } else {
            g.finish();
            let mut g = c.benchmark_group(format!("lpm/{}/{label}/scan", family.label()));
            g.throughput(Throughput::Elements(SCAN_BATCH as u64));
            g.sample_size(10);
            g.warm_up_time(Duration::from_millis(500));
            g.measurement_time(Duration::from_secs(2));
            // Timed: 64 lookups, each a scan of every route.
            g.bench_function("linear_scan", scan_run);
            g.finish();
        }
    }
}

fn lpm_benches(c: &mut Criterion) {
    family_benches(c, Family::V4);
    family_benches(c, Family::V6);
}

criterion_group!(benches, lpm_benches);
criterion_main!(benches);
