//! The Internet checksum: `hnv_core::wire::checksum::of` beside a straightforward RFC 1071
//! reference written here, on IPv4-header, minimum-frame, MTU and jumbo lengths.
//!
//! Groups `checksum/{20,64,1500,9000}` with `Throughput::Bytes`: `hnv_of` vs
//! `rfc1071_reference`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hnv_core::wire::checksum;

const SIZES: [usize; 4] = [20, 64, 1500, 9000];

/// RFC 1071 §4.1 done the textbook way: one 16-bit big-endian word (two bytes read one at a
/// time) per step into a 32-bit sum, an odd last byte padded with zero, carries folded at
/// the end, result complemented.
fn rfc1071_reference(bytes: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut i = 0;
    while i + 1 < bytes.len() {
        sum += u32::from(u16::from_be_bytes([bytes[i], bytes[i + 1]]));
        i += 2;
    }
    if i < bytes.len() {
        sum += u32::from(bytes[i]) << 8;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn checksum_benches(c: &mut Criterion) {
    let data: Vec<u8> = (0..9000usize).map(|i| (i * 131 + 7) as u8 ^ 0xa5).collect();
    let mut g = c.benchmark_group("checksum");
    for size in SIZES {
        let bytes = &data[..size];
        assert_eq!(
            checksum::of(bytes),
            rfc1071_reference(bytes),
            "{size} bytes"
        );
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::new("hnv_of", size), bytes, |b, bytes| {
            b.iter(|| checksum::of(black_box(bytes)));
        });
        g.bench_with_input(
            BenchmarkId::new("rfc1071_reference", size),
            bytes,
            |b, bytes| {
                b.iter(|| rfc1071_reference(black_box(bytes)));
            },
        );
    }
    g.finish();
}

criterion_group!(benches, checksum_benches);
criterion_main!(benches);
