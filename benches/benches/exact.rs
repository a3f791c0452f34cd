//! Exact-match lookups: hnv's `GrowMap` / `FixedMap` beside `std::collections::HashMap`
//! (SipHash-1-3, the default `RandomState`), measured in the same run on the same keys.
//! See `docs/performance.md` for the results.
//!
//! Groups (`exact/<records>`), each timed iteration being one batch of 1024 lookups of
//! present `CaKey`s in random order (criterion's throughput is lookups per second). Rows
//! named `*_many` make one `ExactMap::get_many` call per batch instead of one `get` per key;
//! the rest of the loop (the sum) is the same.
//! * `exact/1k`: `hnv_grow`, `hnv_grow_many`, `hnv_fixed`, `hnv_fixed_many`, `std_hashmap`.
//! * `exact/100k`: `hnv_grow`, `hnv_grow_many`, `std_hashmap`.
//! * `exact/1M`: the same plus, on Linux, `hnv_grow_many_hugepages` and
//!   `hnv_grow_hugepages`: a map whose slot array the bench (not hnv-core) asked the kernel
//!   to back with transparent huge pages, through `GrowMap::try_with_capacity_advised`.
//! * `exact_miss/1M`: `hnv_grow`, `hnv_grow_many`, `std_hashmap` with keys that are not in
//!   the table.
//! * `exact_warm/1M`: the three rows of `exact_miss` on the same 1024 present keys in every
//!   iteration, so after the first iterations their slots are in the CPU caches: the CPU
//!   cost of a lookup without the memory latency (not a measure of a 1M-record working
//!   set).
//!
//! The keys: 1/4 IPv6, 3/4 IPv4 customer addresses spread over 64 VSIDs; values are `u32`
//! record indices. Maps are built once, outside the timed loop, with capacity for exactly
//! the records inserted. The lookup stream is a random sequence of the inserted keys,
//! `max(records, 1024)` rounded up to whole batches long; iterations walk it batch by
//! batch and wrap, so at 1M records a lookup hits a slot that was not touched recently.
//! The 1024 lookups of a batch are independent (a burst of packets), so the CPU overlaps
//! their cache misses: this is throughput, not the latency of one isolated lookup.

use std::collections::HashMap;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hnv_benches::Rng;
use hnv_core::ids::Vsid;
use hnv_core::table::exact::{CaKey, ExactMap, FixedMap, GrowMap};

/// Lookups per timed iteration.
const BATCH: usize = 1024;

/// Slots of the `FixedMap` measured at 1k records: ⌊7·1280/8⌋ = 1120 entries.
const FIXED_SLOTS: usize = 1280;

/// Record `i`'s key: distinct for distinct `i` (the address encodes `i`), every fourth an
/// IPv6 address, VSIDs 5000..5064.
fn key(i: u32, salt: u32) -> CaKey {
    let vsid = Vsid::new(5000 + i % 64).expect("valid VSID");
    let ca = if i % 4 == 3 {
        IpAddr::V6(Ipv6Addr::new(
            0xfd00,
            salt as u16,
            0,
            0,
            0,
            0,
            (i >> 16) as u16,
            i as u16,
        ))
    } else {
        IpAddr::V4(Ipv4Addr::from((10 + salt) << 24 | i))
    };
    CaKey::new(vsid, ca)
}

/// The `n` record keys and a random lookup stream over them of whole batches.
fn workload(n: usize, salt: u32, rng: &mut Rng) -> (Vec<CaKey>, Vec<CaKey>) {
    let n32 = u32::try_from(n).expect("fits u32");
    let keys: Vec<CaKey> = (0..n32).map(|i| key(i, salt)).collect();
    let len = n.max(BATCH).div_ceil(BATCH) * BATCH;
    let stream = (0..len)
        .map(|_| keys[rng.below(n as u64) as usize])
        .collect();
    (keys, stream)
}

fn grow_map(keys: &[CaKey]) -> GrowMap<CaKey, u32> {
    let mut m = GrowMap::with_capacity(keys.len());
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(m.insert(*k, i as u32), Ok(None));
    }
    m
}

fn std_map(keys: &[CaKey]) -> HashMap<CaKey, u32> {
    let mut m = HashMap::with_capacity(keys.len());
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(m.insert(*k, i as u32), None);
    }
    m
}

/// Times `map.get_many` over the stream, one batch per call and iteration, then sums the
/// values found like [`bench_lookups`] (same batches, same sum).
fn bench_many<M: ExactMap<CaKey, u32>>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    stream: &[CaKey],
    map: &M,
) {
    let mut batches = stream.chunks_exact(BATCH).cycle();
    let mut out: Vec<Option<&u32>> = vec![None; BATCH];
    g.bench_function(name, |b| {
        b.iter(|| {
            let batch = batches.next().expect("non-empty stream");
            map.get_many(black_box(batch), &mut out);
            let mut sum = 0u32;
            for v in &out {
                sum = sum.wrapping_add(v.copied().unwrap_or(u32::MAX));
            }
            sum
        });
    });
}

/// A `GrowMap` whose slot array the kernel was asked to back with transparent huge pages
/// (`madvise(MADV_HUGEPAGE)` before its first write, through
/// `GrowMap::try_with_capacity_advised`). Prints how much of the array got huge pages.
#[cfg(target_os = "linux")]
fn grow_map_huge(keys: &[CaKey]) -> GrowMap<CaKey, u32> {
    let mut range = (0, 0);
    let mut m = GrowMap::try_with_capacity_advised(keys.len(), |addr, len| {
        range = (addr, len);
        hnv_benches::advise_huge_pages(addr, len);
    })
    .expect("allocation");
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(m.insert(*k, i as u32), Ok(None));
    }
    eprintln!(
        "exact/{}: huge-page GrowMap: {} of {} slot-array bytes in huge pages",
        label(keys.len()),
        huge_bytes(range.0, range.1),
        range.1
    );
    m
}

/// `AnonHugePages` of the mappings that overlap `start..start + len`, from
/// `/proc/self/smaps` (0 if unreadable).
#[cfg(target_os = "linux")]
fn huge_bytes(start: usize, len: usize) -> usize {
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
    let mut inside = false;
    let mut total = 0;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if let Some((lo, hi)) = first.split_once('-') {
            if let (Ok(lo), Ok(hi)) = (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16))
            {
                inside = lo < start + len && start < hi;
                continue;
            }
        }
        if let (true, Some(kb)) = (inside, line.strip_prefix("AnonHugePages:")) {
            let kb = kb.trim().trim_end_matches("kB").trim();
            total += kb.parse::<usize>().unwrap_or(0) * 1024;
        }
    }
    total
}

/// Times `lookup` over the stream, one batch per iteration, summing the values found so
/// nothing is optimised away; a missing key adds `u32::MAX`.
fn bench_lookups(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    stream: &[CaKey],
    lookup: impl Fn(&CaKey) -> Option<u32>,
) {
    let mut batches = stream.chunks_exact(BATCH).cycle();
    g.bench_function(name, |b| {
        b.iter(|| {
            let batch = batches.next().expect("non-empty stream");
            let mut sum = 0u32;
            for k in batch {
                sum = sum.wrapping_add(lookup(black_box(k)).unwrap_or(u32::MAX));
            }
            sum
        });
    });
}

fn label(n: usize) -> String {
    match n {
        1_000_000 => "1M".to_owned(),
        _ => format!("{}k", n / 1000),
    }
}

/// Bytes per record (a report figure: exact to far more digits than printed).
#[allow(clippy::cast_precision_loss)]
fn per_record(bytes: usize, records: usize) -> f64 {
    bytes as f64 / records as f64
}

fn report_memory(n: usize, grow: &GrowMap<CaKey, u32>, std: &HashMap<CaKey, u32>) {
    let entry = std::mem::size_of::<(CaKey, u32)>();
    let std_est = std.capacity() * (entry + 1);
    // hashbrown allocates capacity·8/7 buckets (a power of two) of entry + 1 control byte.
    let std_buckets = (std.capacity() * 8 / 7).next_power_of_two();
    let std_alloc = std_buckets * (entry + 1);
    eprintln!(
        "exact/{}: GrowMap {} B = {:.1} B/record ({} entries); HashMap estimate \
         capacity {} x {} B = {:.1} B/record (allocated {} buckets x {} B = {:.1} B/record)",
        label(n),
        grow.memory_bytes(),
        per_record(grow.memory_bytes(), n),
        grow.len(),
        std.capacity(),
        entry + 1,
        per_record(std_est, n),
        std_buckets,
        entry + 1,
        per_record(std_alloc, n),
    );
}

fn hit_benches(c: &mut Criterion) {
    let mut rng = Rng(0x5eed);
    for n in [1_000, 100_000, 1_000_000] {
        let (keys, stream) = workload(n, 0, &mut rng);
        let grow = grow_map(&keys);
        let std = std_map(&keys);
        report_memory(n, &grow, &std);
        for k in &stream {
            assert_eq!(grow.get(k), std.get(k));
        }

        let mut g = c.benchmark_group(format!("exact/{}", label(n)));
        g.throughput(Throughput::Elements(BATCH as u64));
        bench_lookups(&mut g, "hnv_grow", &stream, |k| grow.get(k).copied());
        bench_many(&mut g, "hnv_grow_many", &stream, &grow);
        #[cfg(target_os = "linux")]
        if n == 1_000_000 {
            let huge = grow_map_huge(&keys);
            bench_many(&mut g, "hnv_grow_many_hugepages", &stream, &huge);
            bench_lookups(&mut g, "hnv_grow_hugepages", &stream, |k| {
                huge.get(k).copied()
            });
        }
        if n <= FixedMap::<CaKey, u32, FIXED_SLOTS>::CAPACITY {
            let mut fixed: Box<FixedMap<CaKey, u32, FIXED_SLOTS>> = Box::default();
            for (i, k) in keys.iter().enumerate() {
                assert_eq!(fixed.insert(*k, i as u32), Ok(None));
            }
            bench_lookups(&mut g, "hnv_fixed", &stream, |k| fixed.get(k).copied());
            bench_many(&mut g, "hnv_fixed_many", &stream, &*fixed);
        }
        bench_lookups(&mut g, "std_hashmap", &stream, |k| std.get(k).copied());
        g.finish();
    }
}

fn miss_benches(c: &mut Criterion) {
    let mut rng = Rng(0x0bad_5eed);
    let n = 1_000_000;
    let (keys, _) = workload(n, 0, &mut rng);
    // Same shape of keys, other addresses (salt): none is in the maps.
    let (_, absent) = workload(n, 1, &mut rng);
    let grow = grow_map(&keys);
    let std = std_map(&keys);
    assert!(absent.iter().take(BATCH).all(|k| grow.get(k).is_none()));

    let mut g = c.benchmark_group(format!("exact_miss/{}", label(n)));
    g.throughput(Throughput::Elements(BATCH as u64));
    bench_lookups(&mut g, "hnv_grow", &absent, |k| grow.get(k).copied());
    bench_many(&mut g, "hnv_grow_many", &absent, &grow);
    bench_lookups(&mut g, "std_hashmap", &absent, |k| std.get(k).copied());
    g.finish();
}

fn warm_benches(c: &mut Criterion) {
    let mut rng = Rng(0x3a7d);
    let n = 1_000_000;
    let (keys, stream) = workload(n, 0, &mut rng);
    let grow = grow_map(&keys);
    let std = std_map(&keys);
    let batch = &stream[..BATCH];

    let mut g = c.benchmark_group(format!("exact_warm/{}", label(n)));
    g.throughput(Throughput::Elements(BATCH as u64));
    bench_lookups(&mut g, "hnv_grow", batch, |k| grow.get(k).copied());
    bench_many(&mut g, "hnv_grow_many", batch, &grow);
    bench_lookups(&mut g, "std_hashmap", batch, |k| std.get(k).copied());
    g.finish();
}

criterion_group!(benches, hit_benches, miss_benches, warm_benches);
criterion_main!(benches);
