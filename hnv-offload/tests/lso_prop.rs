//! LSO property test: random inner TCP payloads, MSS values, IPv4 options, TCP options and
//! IPv4/IPv6 inner and outer headers. Every case checks reassembly and every segment's
//! lengths, IDs, sequence numbers and flags against the rules; tshark (Wireshark's
//! dissectors, an independent decoder) then checks every checksum of every segment.
#![allow(clippy::many_single_char_names)]

mod common;

use std::sync::Mutex;

use common::{nvgre_frame, Spec};
use hnv_offload::soft::lso::{output_len, segment};
use hnv_offload::{CwrPolicy, IdWrap, IpIdPolicy, LsoRequest, NicCaps, TxOffload, TxRequest};
use proptest::prelude::*;
use proptest::strategy::ValueTree;

/// Segments of every case, checked by tshark once at the end (one tshark run, not one per
/// case).
static SEGMENTS: Mutex<Vec<(String, Vec<u8>)>> = Mutex::new(Vec::new());

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}

/// The case without its payload bytes (for failure messages).
fn describe(s: &Spec, r: LsoRequest) -> String {
    format!(
        "outer_v6 {} inner_v6 {} vlan {:?} ip_options {} ext_header {} tcp_options {} flags {:#04x} \
         seq {} ids {:#x}/{:#x} payload {} bytes, {r:?}",
        s.outer_v6, s.inner_v6, s.outer_vlan, s.ip_options.len(), s.ext_header,
        s.tcp_options.len(), s.flags, s.seq, s.outer_id, s.inner_id, s.payload.len()
    )
}

fn spec_strategy() -> impl Strategy<Value = (Spec, LsoRequest)> {
    (
        any::<(bool, bool, bool)>(),
        0usize..=10, // IPv4 option words
        0usize..=10, // TCP option words
        proptest::collection::vec(any::<u8>(), 0..9000),
        1u16..=3000,
        any::<(u16, u16, u32)>(),
        any::<u8>(),
        any::<(bool, bool, bool)>(),
    )
        .prop_map(
            |(
                (outer_v6, inner_v6, vlan),
                ipo,
                tcpo,
                payload,
                mss,
                (iid, oid, seq),
                flags,
                (fixed, w15, every),
            )| {
                // No SYN/RST/URG (refused for LSO, tested elsewhere).
                let flags = flags & !(0x02 | 0x04 | 0x20);
                let spec = Spec {
                    outer_v6,
                    inner_v6,
                    outer_vlan: vlan.then_some(42),
                    // NOPs then End of List: valid options of any word count.
                    ip_options: if inner_v6 { vec![] } else { vec![1; ipo * 4] },
                    ext_header: inner_v6 && ipo % 2 == 1,
                    tcp_options: vec![1; tcpo * 4],
                    udp: false,
                    flags,
                    seq,
                    inner_id: iid,
                    outer_id: oid,
                    payload,
                    vsid: 4096 + u32::from(iid),
                };
                let req = LsoRequest {
                    mss,
                    ip_id: if fixed {
                        IpIdPolicy::Fixed
                    } else {
                        IpIdPolicy::Increment
                    },
                    // The outer policy drawn independently (from a bit of the sequence).
                    outer_ip_id: if seq & 1 == 1 {
                        IpIdPolicy::Fixed
                    } else {
                        IpIdPolicy::Increment
                    },
                    id_wrap: if w15 { IdWrap::Bits15 } else { IdWrap::Bits16 },
                    cwr: if every {
                        CwrPolicy::Every
                    } else {
                        CwrPolicy::FirstOnly
                    },
                };
                (spec, req)
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn lso_segments_follow_the_rules((spec, req) in spec_strategy()) {
        let f = nvgre_frame(&spec);
        let d = TxOffload::build(&f, &TxRequest { checksums: hnv_offload::Checksums::ALL, lso: Some(req) }, &NicCaps::SOFTWARE).unwrap();
        let mut out = vec![0u8; output_len(&d)];
        let (segs, _) = segment(&f, &d, &mut out).unwrap();
        let n = segs.len();
        let mss = usize::from(req.mss);
        prop_assert_eq!(n, spec.payload.len().div_ceil(mss).max(1));
        let hdr = d.header_len();
        let (o3, i3, l4) = (d.outer_l3_offset(), d.inner_l3_offset(), d.inner_l4_offset());
        let mut reassembled = Vec::new();
        for (k, s) in segs.iter().enumerate() {
            let plen = mss.min(spec.payload.len() - k * mss);
            prop_assert_eq!(s.len(), hdr + plen);
            // Outer and inner lengths.
            if spec.outer_v6 {
                prop_assert_eq!(usize::from(be16(s, o3 + 4)), s.len() - o3 - 40);
            } else {
                prop_assert_eq!(usize::from(be16(s, o3 + 2)), s.len() - o3);
                prop_assert_eq!(be16(s, o3 + 4), req.outer_segment_id(spec.outer_id, k as u32));
            }
            if spec.inner_v6 {
                prop_assert_eq!(usize::from(be16(s, i3 + 4)), s.len() - i3 - 40);
            } else {
                prop_assert_eq!(usize::from(be16(s, i3 + 2)), s.len() - i3);
                let id = be16(s, i3 + 4);
                let k16 = k as u16;
                let want = match (req.ip_id, req.id_wrap) {
                    (IpIdPolicy::Fixed, _) => spec.inner_id,
                    (_, IdWrap::Bits16) => spec.inner_id.wrapping_add(k16),
                    (_, IdWrap::Bits15) => (spec.inner_id & 0x8000) | (spec.inner_id.wrapping_add(k16) & 0x7fff),
                };
                prop_assert_eq!(id, want);
            }
            // Everything before the length fields is copied: MACs, VLAN, GRE key.
            prop_assert_eq!(&s[..o3], &f[..o3]);
            prop_assert_eq!(&s[d.tunnel_offset()..i3], &f[d.tunnel_offset()..i3]);
            // TCP sequence and flags.
            prop_assert_eq!(be32(s, l4 + 4), spec.seq.wrapping_add((k * mss) as u32));
            let fl = s[l4 + 13];
            let last = k + 1 == n;
            let mut want = spec.flags;
            if !last { want &= !(0x01 | 0x08); }
            if k > 0 && req.cwr == CwrPolicy::FirstOnly { want &= !0x80; }
            prop_assert_eq!(fl, want, "segment {} of {}", k, n);
            // Options copied unchanged.
            prop_assert_eq!(&s[l4 + 20..hdr], &f[l4 + 20..hdr]);
            reassembled.extend_from_slice(&s[hdr..]);
            SEGMENTS.lock().unwrap().push((format!("{} seg {k}", describe(&spec, req)), s.to_vec()));
        }
        prop_assert_eq!(reassembled, spec.payload);
    }
}

/// tshark decodes every segment and finds every IP and TCP checksum good: the segments of
/// 48 cases drawn here from the same strategy (deterministic seed), plus whatever segments
/// the property test has recorded by the time this runs (tests of one binary share
/// `SEGMENTS`; they may run in either order).
#[test]
fn tshark_validates_every_checksum() {
    // Generate a fixed set of cases here too, so this test stands alone.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut cases = Vec::new();
    for _ in 0..48 {
        let (spec, req) = spec_strategy().new_tree(&mut runner).unwrap().current();
        let f = nvgre_frame(&spec);
        let d = TxOffload::build(
            &f,
            &TxRequest {
                checksums: hnv_offload::Checksums::ALL,
                lso: Some(req),
            },
            &NicCaps::SOFTWARE,
        )
        .unwrap();
        let mut out = vec![0u8; output_len(&d)];
        let (segs, _) = segment(&f, &d, &mut out).unwrap();
        for (k, s) in segs.iter().enumerate() {
            cases.push((format!("{} seg {k}", describe(&spec, req)), s.to_vec()));
        }
    }
    cases.extend(SEGMENTS.lock().unwrap().drain(..));
    let frames: Vec<&[u8]> = cases.iter().map(|(_, f)| f.as_slice()).collect();
    let rows = common::tshark(
        &frames,
        &[
            "ip.checksum.status",
            "tcp.checksum.status",
            "gre.key",
            "tcp.len",
        ],
    );
    assert_eq!(rows.len(), frames.len());
    let mut ip_checked = 0;
    for (row, (what, frame)) in rows.iter().zip(&cases) {
        // One status per IPv4 header (outer, inner); with checking on, 1 = Good, 0 = Bad,
        // 2 = Unverified.
        let v4_headers = usize::from(frame[12..14] == [8, 0] || frame[16..18] == [8, 0])
            + usize::from(!what.contains("inner_v6 true"));
        let statuses: Vec<&str> = row[0].split(';').filter(|v| !v.is_empty()).collect();
        assert_eq!(statuses.len(), v4_headers, "IPv4 headers decoded in {what}");
        for v in statuses {
            assert_eq!(v, "1", "IP checksum status {v} in {what}");
            ip_checked += 1;
        }
        assert_eq!(row[1], "1", "TCP checksum status {:?} in {what}", row[1]);
        assert!(!row[2].is_empty(), "no GRE key decoded in {what}");
    }
    assert!(ip_checked > 0);
}
