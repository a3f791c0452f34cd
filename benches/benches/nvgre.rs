//! NVGRE encapsulation and decapsulation: hnv's in-place paths beside etherparse, measured
//! in the same run. See `docs/performance.md` for what each timed region contains.
//!
//! Groups (`<op>/<outer family>/<inner frame bytes>`):
//! * `encap/{v4,v6}/{64,1500}`: `hnv_encap+pull_front` vs `etherparse_build`, plus
//!   `hnv_flow_hash_of` (the FlowID hash alone, a part of encap).
//! * `decap/{v4,v6}/{64,1500}`: `hnv_decap+push_front` and `hnv_inspect` vs
//!   `etherparse_slice_outer`.
//! * `encap+decap/{v4,v6}/64`: `hnv_encap+decap` vs `etherparse_build+slice_outer`.
//! * `burst/{v4,v6}/64x32`: the same round trip over 32 frames in separate buffers per
//!   iteration (`Throughput::Elements(32)`): `hnv_encap+decap` vs
//!   `etherparse_build+slice_outer`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use etherparse::{IpNumber, SlicedPacket};
use hnv_benches::{
    assert_same_packet, etherparse_build, frame_buf, gre_payload, headroom_buffer,
    hnv_encapsulated, inner_frame, Family, HEADROOM, INNER_SIZES,
};
use hnv_core::buf::{FrameBuf, PacketBuf};
use hnv_core::nvgre;

/// Checks (untimed) that etherparse slices the encapsulated frame down to a GRE payload, so
/// the baseline parses what hnv parses up to the GRE header.
fn check_etherparse_sees_gre(wire: &[u8]) {
    let sliced = SlicedPacket::from_ethernet(wire).expect("etherparse slices the frame");
    let ip = sliced
        .net
        .as_ref()
        .and_then(|n| n.ip_payload_ref())
        .expect("IP payload");
    assert_eq!(ip.ip_number, IpNumber::GRE);
    assert!(sliced.transport.is_none(), "etherparse stops at GRE");
}

fn encap(c: &mut Criterion, family: Family, size: usize) {
    let inner = inner_frame(size);
    assert_same_packet(family, &inner);
    let params = family.params();
    let payload = gre_payload(&inner);
    let mut mem = headroom_buffer(&inner);
    let mut fb = frame_buf(&mut mem);

    let mut g = c.benchmark_group(format!("encap/{}/{size}", family.label()));
    // Timed: encap (parse inner Ethernet/IPv4/UDP for the flow hash, write outer Ethernet,
    // IP with checksum or flow label, GRE) + pull_front(outer_len), which only moves the
    // start offset back so the next iteration sees the un-encapsulated frame again.
    g.bench_function("hnv_encap+pull_front", |b| {
        b.iter(|| {
            let fb = black_box(&mut fb);
            let e = nvgre::encap(fb, black_box(&params)).expect("encap");
            fb.pull_front(e.outer_len()).expect("undo");
            e
        });
    });
    assert_eq!(fb.data(), &inner[..], "encap was undone every iteration");
    // Timed: the inner-flow hash alone (parse inner Ethernet/IPv4/UDP, hash addresses,
    // protocol and ports): the part of `encap` that produces the FlowID / IPv6 flow label.
    g.bench_function("hnv_flow_hash_of", |b| {
        b.iter(|| nvgre::flow_hash_of(black_box(&inner)));
    });
    // Timed: builder construction, Vec allocation, header + payload copy, IPv4 checksum,
    // and (as criterion drops the returned Vec inside the loop) the free.
    g.bench_function("etherparse_build", |b| {
        b.iter(|| etherparse_build(black_box(family), black_box(&payload)));
    });
    g.finish();
}

fn decap(c: &mut Criterion, family: Family, size: usize) {
    let inner = inner_frame(size);
    let wire = hnv_encapsulated(family, &inner);
    check_etherparse_sees_gre(&wire);
    let mut mem = headroom_buffer(&inner);
    let mut fb = frame_buf(&mut mem);
    nvgre::encap(&mut fb, &family.params()).expect("encap");
    assert_eq!(fb.data(), &wire[..]);

    let mut g = c.benchmark_group(format!("decap/{}/{size}", family.label()));
    // Timed: decap (= inspect: outer Ethernet, IPv4 checksum verify / IPv6 extension walk,
    // GRE flags, VSID, inner Ethernet; then pull_front + truncate) + push_front(inner_offset),
    // which only moves the start offset forward again (the outer bytes are still there).
    g.bench_function("hnv_decap+push_front", |b| {
        b.iter(|| {
            let fb = black_box(&mut fb);
            let n = nvgre::decap(fb).expect("decap");
            fb.push_front(n.inner_offset()).expect("undo");
            black_box(&n);
        });
    });
    assert_eq!(fb.data(), &wire[..], "decap was undone every iteration");
    // Timed: inspect alone (read-only validation, nothing to undo).
    g.bench_function("hnv_inspect", |b| {
        b.iter(|| {
            black_box(&nvgre::inspect(black_box(&wire)).expect("inspect"));
        });
    });
    // Timed: etherparse slicing of the outer Ethernet + IP headers; it does not verify the
    // IPv4 header checksum and stops at GRE (an unknown transport to it).
    g.bench_function("etherparse_slice_outer", |b| {
        b.iter(|| {
            black_box(&SlicedPacket::from_ethernet(black_box(&wire)).expect("slice"));
        });
    });
    g.finish();
}

fn round_trip(c: &mut Criterion, family: Family, size: usize) {
    let inner = inner_frame(size);
    assert_same_packet(family, &inner);
    let params = family.params();
    let payload = gre_payload(&inner);
    let mut mem = headroom_buffer(&inner);
    let mut fb = frame_buf(&mut mem);

    let mut g = c.benchmark_group(format!("encap+decap/{}/{size}", family.label()));
    // Timed: encap then decap; decap leaves exactly the inner frame, so nothing to undo.
    g.bench_function("hnv_encap+decap", |b| {
        b.iter(|| {
            let fb = black_box(&mut fb);
            let e = nvgre::encap(fb, black_box(&params)).expect("encap");
            black_box(&nvgre::decap(fb).expect("decap"));
            e
        });
    });
    assert_eq!(fb.data(), &inner[..], "round trip restores the inner frame");
    // Timed: etherparse_build as in `encap`, then slicing the result as in `decap`.
    g.bench_function("etherparse_build+slice_outer", |b| {
        b.iter(|| {
            let out = etherparse_build(black_box(family), black_box(&payload));
            black_box(&SlicedPacket::from_ethernet(&out).expect("slice"));
            out
        });
    });
    g.finish();
}

/// Frames in a `burst` iteration, and the bytes between their buffers.
const BURST: usize = 32;
const BURST_STRIDE: usize = 2048;

fn burst(c: &mut Criterion, family: Family) {
    let inner = inner_frame(64);
    assert_same_packet(family, &inner);
    let params = family.params();
    let payload = gre_payload(&inner);
    let mut mem = vec![0u8; BURST * BURST_STRIDE];
    for slot in mem.chunks_exact_mut(BURST_STRIDE) {
        slot[HEADROOM..HEADROOM + inner.len()].copy_from_slice(&inner);
    }
    let mut g = c.benchmark_group(format!("burst/{}/64x{BURST}", family.label()));
    g.throughput(criterion::Throughput::Elements(BURST as u64));
    // Timed: for each of 32 frames, each in its own buffer (as in a ring of UMEM frames):
    // a `FrameBuf` over it, encap, decap. Decap leaves the inner frame, so nothing to undo.
    g.bench_function("hnv_encap+decap", |b| {
        b.iter(|| {
            let mut keys = 0u32;
            for slot in mem.chunks_exact_mut(BURST_STRIDE) {
                let mut fb = FrameBuf::new(slot, HEADROOM, inner.len()).expect("fits");
                let e = nvgre::encap(&mut fb, black_box(&params)).expect("encap");
                let n = nvgre::decap(&mut fb).expect("decap");
                keys ^= n.key() ^ u32::from(e.flow_id().0);
            }
            keys
        });
    });
    for slot in mem.chunks_exact(BURST_STRIDE) {
        assert_eq!(
            &slot[HEADROOM..HEADROOM + inner.len()],
            &inner[..],
            "frames restored"
        );
    }
    // Timed: 32 times `etherparse_build+slice_outer` as in `round_trip`.
    g.bench_function("etherparse_build+slice_outer", |b| {
        b.iter(|| {
            for _ in 0..BURST {
                let out = etherparse_build(black_box(family), black_box(&payload));
                black_box(&SlicedPacket::from_ethernet(&out).expect("slice"));
            }
        });
    });
    g.finish();
}

fn nvgre_benches(c: &mut Criterion) {
    for family in Family::ALL {
        for size in INNER_SIZES {
            encap(c, family, size);
        }
    }
    for family in Family::ALL {
        for size in INNER_SIZES {
            decap(c, family, size);
        }
    }
    for family in Family::ALL {
        round_trip(c, family, 64);
    }
    for family in Family::ALL {
        burst(c, family);
    }
}

criterion_group!(benches, nvgre_benches);
criterion_main!(benches);
