//! `nvgre::inspect` and `nvgre::decap` on arbitrary bytes.
//!
//! Invariants checked:
//! * `decap` agrees with `inspect` (same `Ok(Nvgre)` or same `DropReason`), and `inspect`
//!   (which tries fast paths for the common shapes first) agrees with the general parser
//!   `inspect_general`; `flow_hash_of` of the bytes as an inner frame agrees with
//!   `flow_hash_general`;
//! * on `Ok`: `inner_offset + inner_len <= data.len()`, the decapped buffer is exactly
//!   `data[inner_offset..inner_offset + inner_len]` at the same place in memory, the VSID is
//!   in `4096..=16_777_214`, the key bytes in front of the inner frame say that VSID and
//!   FlowID, the inner frame is an untagged Ethernet header, the outer MACs / VLAN /
//!   underlay family are those of the outer headers, and no byte of the memory changed;
//!   re-encapsulating the inner frame with what `decap` reported decaps to the same result;
//! * on `Err`: the buffer (offset, length and every byte of the backing memory) is
//!   unchanged.
//!
//! Input layout: byte 0 is the mode, the rest is the frame.
//! * bit 0 — fix up the outer IPv4 header checksum (so the fuzzer gets past it);
//! * bit 1 — fix up the outer IPv4 total length / IPv6 payload length to the frame length;
//! * bits 2..=7 — headroom in front of the frame in the `FrameBuf`.
#![no_main]

use hnv_core::buf::{FrameBuf, PacketBuf};
use hnv_core::ids::Vsid;
use hnv_core::nvgre::{self, EncapParams, OuterTos, Underlay};
use hnv_core::wire::checksum;
use hnv_core::DropReason;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&mode, rest)) = input.split_first() else {
        return;
    };
    let mut data = rest.to_vec();
    fix_up(&mut data, mode);
    check(&data, usize::from(mode >> 2));
});

/// Offset of the outer L3 header, if the outer Ethernet header is there.
fn l3_offset(data: &[u8]) -> Option<(usize, u16)> {
    let t = u16::from_be_bytes([*data.get(12)?, *data.get(13)?]);
    if t == 0x8100 || t == 0x88a8 {
        Some((18, u16::from_be_bytes([*data.get(16)?, *data.get(17)?])))
    } else {
        Some((14, t))
    }
}

fn fix_up(data: &mut [u8], mode: u8) {
    let Some((l3, ethertype)) = l3_offset(data) else {
        return;
    };
    let len = data.len() - l3.min(data.len());
    match ethertype {
        0x0800 => {
            let Some(&vihl) = data.get(l3) else { return };
            let hlen = usize::from(vihl & 0x0f) * 4;
            if mode & 2 != 0 && data.len() >= l3 + 4 {
                let total = u16::try_from(len).unwrap_or(u16::MAX);
                data[l3 + 2..l3 + 4].copy_from_slice(&total.to_be_bytes());
            }
            if mode & 1 != 0 && hlen >= 20 && data.len() >= l3 + hlen {
                data[l3 + 10..l3 + 12].fill(0);
                let c = checksum::of(&data[l3..l3 + hlen]);
                data[l3 + 10..l3 + 12].copy_from_slice(&c.to_be_bytes());
            }
        }
        0x86dd => {
            if mode & 2 != 0 && data.len() >= l3 + 40 {
                let payload = u16::try_from(len - 40).unwrap_or(u16::MAX);
                data[l3 + 4..l3 + 6].copy_from_slice(&payload.to_be_bytes());
            }
        }
        _ => {}
    }
}

const SENTINEL: u8 = 0xa5;
const TAIL: usize = 7;

fn check(data: &[u8], headroom: usize) {
    let inspected = nvgre::inspect(data);
    assert_eq!(inspected, nvgre::inspect_general(data), "fast and general inspect disagree");
    assert_eq!(
        nvgre::flow_hash_of(data),
        nvgre::flow_hash_general(data),
        "fast and general flow hash disagree"
    );

    let mut mem = vec![SENTINEL; headroom + data.len() + TAIL];
    mem[headroom..headroom + data.len()].copy_from_slice(data);
    let orig = mem.clone();
    let mut f = FrameBuf::new(&mut mem, headroom, data.len()).expect("frame fits");
    let got = nvgre::decap(&mut f);
    assert_eq!(got, inspected, "decap and inspect disagree");

    match got {
        Ok(n) => {
            let end = n
                .inner_offset()
                .checked_add(n.inner_len())
                .expect("offset + len overflows");
            assert!(end <= data.len(), "inner frame past the end: {n:?}");
            assert_eq!(f.data(), &data[n.inner_offset()..end], "decapped bytes");
            assert_eq!(f.offset(), headroom + n.inner_offset(), "inner frame moved");
            assert_eq!(f.len(), n.inner_len());
            assert!(
                (Vsid::MIN..=Vsid::MAX).contains(&n.vsid().get()),
                "reserved VSID accepted: {n:?}"
            );
            assert!((4096..=16_777_214).contains(&n.vsid().get()));
            // The NVGRE key sits right before the inner frame.
            assert!(n.inner_offset() >= nvgre::OVERHEAD_V4);
            let key = &data[n.inner_offset() - 4..n.inner_offset()];
            assert_eq!(
                u32::from_be_bytes([0, key[0], key[1], key[2]]),
                n.vsid().get()
            );
            assert_eq!(key[3], n.flow_id().0);
            assert_eq!(
                &data[n.inner_offset() - 8..n.inner_offset() - 4],
                &[0x20, 0, 0x65, 0x58]
            );
            // Inner frame: a whole Ethernet header, no VLAN tag (RFC 7637 §3.3).
            assert!(
                n.inner_len() >= 14,
                "inner frame shorter than Ethernet: {n:?}"
            );
            let inner = f.data();
            let inner_type = u16::from_be_bytes([inner[12], inner[13]]);
            assert!(
                inner_type != 0x8100 && inner_type != 0x88a8,
                "inner VLAN tag accepted"
            );
            // Outer headers.
            let outer = n.outer(data);
            assert_eq!(outer.dst_mac.0[..], data[..6]);
            assert_eq!(outer.src_mac.0[..], data[6..12]);
            let (l3, ethertype) = l3_offset(data).expect("outer Ethernet");
            assert_eq!(n.l3_offset(), l3);
            match n.outer_vlan() {
                Some(vid) => {
                    assert_eq!(l3, 18);
                    assert_eq!(vid, u16::from_be_bytes([data[14], data[15]]) & 0x0fff);
                }
                None => assert_eq!(l3, 14),
            }
            assert_eq!(n.is_ipv6(), matches!(outer.underlay, Underlay::V6 { .. }));
            match outer.underlay {
                Underlay::V4 { src, dst } => {
                    assert_eq!(ethertype, 0x0800);
                    assert_eq!(src.octets(), data[l3 + 12..l3 + 16]);
                    assert_eq!(dst.octets(), data[l3 + 16..l3 + 20]);
                    let hlen = usize::from(data[l3] & 0x0f) * 4;
                    assert!(
                        checksum::verifies(&data[l3..l3 + hlen]),
                        "bad IPv4 checksum"
                    );
                    assert_eq!(data[l3 + 9], 47);
                    let ff = u16::from_be_bytes([data[l3 + 6], data[l3 + 7]]);
                    assert_eq!(ff & 0x3fff, 0, "IPv4 fragment accepted");
                    let total = usize::from(u16::from_be_bytes([data[l3 + 2], data[l3 + 3]]));
                    assert_eq!(
                        l3 + total,
                        end,
                        "inner frame does not end at IPv4 total length"
                    );
                }
                Underlay::V6 { src, dst } => {
                    assert_eq!(ethertype, 0x86dd);
                    assert_eq!(src.octets(), data[l3 + 8..l3 + 24]);
                    assert_eq!(dst.octets(), data[l3 + 24..l3 + 40]);
                    let plen = usize::from(u16::from_be_bytes([data[l3 + 4], data[l3 + 5]]));
                    assert_eq!(
                        l3 + 40 + plen,
                        end,
                        "inner frame does not end at IPv6 length"
                    );
                }
            }
            drop(f);
            assert!(mem == orig, "decap wrote to the buffer");
            reencap(&n, &outer, &data[n.inner_offset()..end]);
        }
        Err(reason) => {
            assert_eq!(f.offset(), headroom, "decap moved the buffer on error");
            assert_eq!(f.len(), data.len(), "decap resized the buffer on error");
            assert_eq!(f.data(), data);
            drop(f);
            assert!(mem == orig, "decap changed the buffer on error");
            assert!(reason.index() < DropReason::COUNT);
            assert_eq!(DropReason::ALL[reason.index()], reason);
            assert!(!reason.name().is_empty());
            std::hint::black_box(reason.to_string());
        }
    }
}

/// Encapsulating the decapped inner frame with what decap reported decaps to the same.
fn reencap(n: &nvgre::Nvgre, outer: &nvgre::Outer, inner: &[u8]) {
    let mut p = EncapParams::new(n.vsid(), outer.src_mac, outer.dst_mac, outer.underlay);
    p.flow_id = Some(n.flow_id());
    p.outer_vlan = n.outer_vlan();
    p.tos = OuterTos::Fixed(0);
    let mut mem = vec![0u8; nvgre::MAX_OVERHEAD + inner.len()];
    mem[nvgre::MAX_OVERHEAD..].copy_from_slice(inner);
    let mut f = FrameBuf::new(&mut mem, nvgre::MAX_OVERHEAD, inner.len()).expect("fits");
    let enc = nvgre::encap(&mut f, &p).expect("re-encapsulating a decapped frame failed");
    assert!(!enc.vlan_stripped());
    assert_eq!(enc.flow_id(), n.flow_id());
    let wire = f.data().to_vec();
    let again = nvgre::decap(&mut f).expect("decap of re-encapsulated frame failed");
    assert_eq!(f.data(), inner);
    assert_eq!(
        (again.vsid(), again.flow_id(), again.outer_vlan(), again.outer(&wire)),
        (n.vsid(), n.flow_id(), n.outer_vlan(), *outer)
    );
    assert_eq!(again.inner_len(), n.inner_len());
}
