//! NVGRE task offload in software (hnv-offload), each path beside a baseline in the same run.
//!
//! * `offload/lso_64k` (`Throughput::Bytes` = TCP payload): `hnv_segment` cuts a 65,000-byte
//!   inner TCP send (outer and inner IPv4, MSS 1448, 45 segments) into complete NVGRE
//!   segments; `copy_only` writes the same output bytes (headers copied per segment,
//!   payload copied once) with no field updates and no checksums — the memory-traffic
//!   floor any segmenter pays.
//! * `offload/csum_1500`: `hnv_fill` executes a checksum descriptor (outer IPv4, inner
//!   IPv4, inner TCP) on a 1500-byte inner frame; `direct_sums` computes the same three
//!   checksums with `hnv_core::wire::checksum` at fixed offsets (no descriptor checks).
//! * `offload/toeplitz_{v4,v6}`: the table-driven Toeplitz hash of an IPv4 (12-byte) and
//!   IPv6 (36-byte) 4-tuple beside the bit-by-bit reference; `rss_classify_nvgre` is the
//!   whole RSS path on an NVGRE TCP frame (parse to the inner 4-tuple, hash, indirection).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hnv_benches::{nvgre_tcp_send, Family, Rng};
use hnv_core::wire::checksum::{self, Checksum};
use hnv_offload::soft::csum::{fill_checksums, write_seeds, ChecksumMode};
use hnv_offload::soft::lso::{output_len, segment};
use hnv_offload::soft::rss::{toeplitz_reference, Rss, Toeplitz, MS_VERIFICATION_KEY};
use hnv_offload::{Checksums, NicCaps, OffloadCaps, TxOffload, TxRequest};

const LSO_PAYLOAD: usize = 65_000;
const MSS: u16 = 1448;

/// The copy floor: the bytes LSO writes, without touching a field.
fn copy_only(frame: &[u8], hdr: usize, mss: usize, out: &mut [u8]) -> usize {
    let (headers, payload) = frame.split_at(hdr);
    let mut at = 0;
    for chunk in payload.chunks(mss) {
        out[at..at + hdr].copy_from_slice(headers);
        out[at + hdr..at + hdr + chunk.len()].copy_from_slice(chunk);
        at += hdr + chunk.len();
    }
    at
}

fn lso(c: &mut Criterion) {
    let frame = nvgre_tcp_send(Family::V4, LSO_PAYLOAD);
    let d = TxOffload::build(&frame, &TxRequest::lso(MSS), &NicCaps::SOFTWARE).expect("desc");
    assert_eq!(d.payload_len as usize, LSO_PAYLOAD);
    let mut out = vec![0u8; output_len(&d)];
    let mut g = c.benchmark_group("offload/lso_64k");
    g.throughput(Throughput::Bytes(LSO_PAYLOAD as u64));
    g.bench_function("hnv_segment", |b| {
        b.iter(|| {
            let (segs, _) = segment(black_box(&frame), &d, &mut out).expect("lso");
            segs.len()
        });
    });
    let hdr = d.header_len();
    g.bench_function("copy_only", |b| {
        b.iter(|| copy_only(black_box(&frame), hdr, usize::from(MSS), &mut out));
    });
    g.finish();
}

fn csum(c: &mut Criterion) {
    let frame = nvgre_tcp_send(Family::V4, 1500 - 54);
    let d = TxOffload::new(&frame, &TxRequest::checksums(Checksums::ALL)).expect("desc");
    let mut seeded = frame.clone();
    write_seeds(&mut seeded, &d).expect("seeds");
    let mut work = seeded.clone();
    fill_checksums(&mut work, &d, ChecksumMode::Hardware).expect("fill");
    assert_eq!(work, frame, "the fill restores the valid checksums");
    let (o3, i3, l4) = (
        d.outer_l3_offset(),
        d.inner_l3_offset(),
        d.inner_l4_offset(),
    );
    let mut g = c.benchmark_group("offload/csum_1500");
    g.throughput(Throughput::Bytes(frame.len() as u64));
    g.bench_function("hnv_fill", |b| {
        b.iter(|| {
            work.copy_from_slice(&seeded);
            fill_checksums(black_box(&mut work), &d, ChecksumMode::Hardware).expect("fill")
        });
    });
    g.bench_function("direct_sums", |b| {
        b.iter(|| {
            work.copy_from_slice(&seeded);
            let w = black_box(&mut work);
            let tcp = Checksum::new().add_bytes(&w[l4..]).finish();
            w[l4 + 16..l4 + 18].copy_from_slice(&tcp.to_be_bytes());
            let inner = checksum::of(&w[i3..i3 + 20]);
            w[i3 + 10..i3 + 12].copy_from_slice(&inner.to_be_bytes());
            let outer = checksum::of(&w[o3..o3 + 20]);
            w[o3 + 10..o3 + 12].copy_from_slice(&outer.to_be_bytes());
        });
    });
    g.finish();
}

fn toeplitz(c: &mut Criterion) {
    let table = Toeplitz::new(&MS_VERIFICATION_KEY);
    let mut rng = Rng(7);
    // 1024 distinct tuples per family, walked round robin, so the bench is not one input.
    let v4: Vec<[u8; 12]> = (0..1024)
        .map(|_| {
            let x = rng.u128().to_be_bytes();
            core::array::from_fn(|i| x[i])
        })
        .collect();
    let v6: Vec<[u8; 36]> = (0..1024)
        .map(|_| {
            let src = rng.u128().to_be_bytes();
            let dst = rng.u128().to_be_bytes();
            let ports = rng.next_u64().to_be_bytes();
            core::array::from_fn(|i| match i {
                0..16 => src[i],
                16..32 => dst[i - 16],
                _ => ports[i - 32],
            })
        })
        .collect();
    for x in v4.iter().take(16) {
        assert_eq!(
            table.hash_array(x),
            toeplitz_reference(&MS_VERIFICATION_KEY, x)
        );
    }
    toeplitz_group(c, "toeplitz_v4", &table, &v4);
    toeplitz_group(c, "toeplitz_v6", &table, &v6);
    let rss = Rss::new(
        &MS_VERIFICATION_KEY,
        OffloadCaps::ALL_RSS_TYPES | OffloadCaps::RSS_INNER,
        8,
    );
    let frame = nvgre_tcp_send(Family::V4, 64);
    let mut g = c.benchmark_group("offload/rss");
    g.throughput(Throughput::Elements(1));
    g.bench_function("rss_classify_nvgre", |b| {
        b.iter(|| rss.classify(black_box(&frame)));
    });
    g.finish();
}

/// `hnv_table` (fixed-length input, as the RSS path hashes) beside `bitwise_reference`,
/// walking 1024 distinct inputs round robin.
fn toeplitz_group<const N: usize>(
    c: &mut Criterion,
    name: &str,
    table: &Toeplitz,
    inputs: &[[u8; N]],
) {
    let mut g = c.benchmark_group(format!("offload/{name}"));
    g.throughput(Throughput::Elements(1));
    let mut i = 0usize;
    g.bench_function(BenchmarkId::new("hnv_table", N), |b| {
        b.iter(|| {
            i = (i + 1) & 1023;
            table.hash_array(black_box(&inputs[i]))
        });
    });
    let mut i = 0usize;
    g.bench_function(BenchmarkId::new("bitwise_reference", N), |b| {
        b.iter(|| {
            i = (i + 1) & 1023;
            toeplitz_reference(&MS_VERIFICATION_KEY, black_box(&inputs[i]))
        });
    });
    g.finish();
}

criterion_group!(benches, lso, csum, toeplitz);
criterion_main!(benches);
