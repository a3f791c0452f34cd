//! `nvgre::encap` then `nvgre::decap` with arbitrary parameters and inner frames.
//!
//! The expected outcome of `encap` is computed independently from the input bytes
//! (truncated inner frame, stacked tags, too large, no headroom, or success with or
//! without stripping a single 802.1Q tag). On success the outer headers must say what
//! the parameters asked for, the inner payload must not have moved, and `decap` must
//! return the same VSID, FlowID, underlay, MACs and outer VLAN ID, leaving exactly the
//! inner frame (minus its 802.1Q tag when one was stripped). On error the buffer must be
//! unchanged, byte for byte. `encap` (which tries a fast path first) and `encap_general`
//! return the same and write the same bytes.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hnv_core::buf::{FrameBuf, PacketBuf};
use hnv_core::ids::{FlowId, MacAddr, Vsid, VsidError};
use hnv_core::nvgre::{self, EncapError, EncapParams, OuterTos, Underlay};
use hnv_core::wire::checksum;
use hnv_core::wire::ipv4::Ipv4Packet;
use hnv_core::wire::ipv6::Ipv6Packet;
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug, Clone, Copy)]
enum UnderlayIn {
    V4 { src: [u8; 4], dst: [u8; 4] },
    V6 { src: [u8; 16], dst: [u8; 16] },
}

#[derive(Arbitrary, Debug)]
struct Input {
    /// Raw VSID; reserved / too large values are checked to be refused by `Vsid::new`,
    /// then folded into the valid range so the input is still used.
    vsid: u32,
    flow_id: Option<u8>,
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    underlay: UnderlayIn,
    /// Outer 802.1Q TCI.
    outer_vlan: Option<u16>,
    ttl: u8,
    ip_id: u16,
    dont_fragment: bool,
    /// `None` = `OuterTos::Inherit`.
    tos: Option<u8>,
    /// Take this many bytes (mod MAX_OVERHEAD + 1) off the headroom.
    headroom_short: Option<u8>,
    /// `n < 64`: grow the inner frame to `65_472 + n` bytes, around the 65535-byte IP
    /// length limit (rarely, as such frames are slow to check).
    big: Option<u8>,
    inner: Vec<u8>,
}

const SENTINEL: u8 = 0xa5;
const TAIL: usize = 5;

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fuzz_target!(|input: Input| {
    // --- parameters ---------------------------------------------------------------------
    let vsid = match Vsid::new(input.vsid) {
        Ok(v) => {
            assert!((4096..=16_777_214).contains(&input.vsid));
            v
        }
        Err(e) => {
            match e {
                VsidError::NotVirtualized => assert_eq!(input.vsid, 0),
                VsidError::Reserved(v) => {
                    assert_eq!(v, input.vsid);
                    assert!(v < 4096 || v == 0xff_ffff);
                }
                VsidError::TooLarge(v) => {
                    assert_eq!(v, input.vsid);
                    assert!(v > 0xff_ffff);
                }
            }
            let span = Vsid::MAX - Vsid::MIN + 1;
            Vsid::new(Vsid::MIN + input.vsid % span).expect("folded VSID is valid")
        }
    };
    let underlay_in = input.underlay;
    let underlay = match underlay_in {
        UnderlayIn::V4 { src, dst } => Underlay::V4 {
            src: Ipv4Addr::from(src),
            dst: Ipv4Addr::from(dst),
        },
        UnderlayIn::V6 { src, dst } => Underlay::V6 {
            src: Ipv6Addr::from(src),
            dst: Ipv6Addr::from(dst),
        },
    };
    let mut p = EncapParams::new(
        vsid,
        MacAddr(input.src_mac),
        MacAddr(input.dst_mac),
        underlay,
    );
    p.flow_id = input.flow_id.map(FlowId);
    p.outer_vlan = input.outer_vlan;
    p.ttl = input.ttl;
    p.ip_id = input.ip_id;
    p.dont_fragment = input.dont_fragment;
    p.tos = input.tos.map_or(OuterTos::Inherit, OuterTos::Fixed);

    // --- inner frame ----------------------------------------------------------------------
    let mut inner = input.inner;
    if let Some(n) = input.big.filter(|&n| n < 64) {
        let want = 65_472 + usize::from(n);
        if inner.is_empty() {
            inner.push(0);
        }
        inner.reserve(want.saturating_sub(inner.len()));
        while inner.len() < want {
            let take = inner.len().min(want - inner.len());
            inner.extend_from_within(..take);
        }
    }

    // --- expected outcome, from the bytes -------------------------------------------------
    let tpid = (inner.len() >= 14).then(|| be16(&inner, 12));
    let is_tag = |t: u16| t == 0x8100 || t == 0x88a8;
    let expect_strip: Result<bool, EncapError> = match tpid {
        None => Err(EncapError::InnerTruncated),
        Some(t) if !is_tag(t) => Ok(false),
        Some(_) if inner.len() < 18 => Err(EncapError::InnerTruncated),
        Some(0x8100) if !is_tag(be16(&inner, 16)) => Ok(true),
        Some(_) => Err(EncapError::StackedVlanTags),
    };
    let vlan_len = if p.outer_vlan.is_some() { 4 } else { 0 };
    let outer_len = underlay.overhead() + vlan_len;
    let headroom = nvgre::MAX_OVERHEAD
        - input
            .headroom_short
            .map_or(0, |k| usize::from(k) % (nvgre::MAX_OVERHEAD + 1));
    let expect: Result<bool, EncapError> = expect_strip.and_then(|strip| {
        let inner_len = inner.len() - if strip { 4 } else { 0 };
        // The 16-bit length field: IPv4 total length (20 + GRE + inner), IPv6 payload
        // length (GRE + inner; the 40-byte fixed header is not counted).
        let length_field = match underlay {
            Underlay::V4 { .. } => 20 + 8 + inner_len,
            Underlay::V6 { .. } => 8 + inner_len,
        };
        if length_field > 65_535 {
            Err(EncapError::TooLarge)
        } else if headroom + if strip { 4 } else { 0 } < outer_len {
            Err(EncapError::NoHeadroom)
        } else {
            Ok(strip)
        }
    });
    // The inner frame once encapsulated (a single 802.1Q tag removed).
    let expected_inner: Vec<u8> = match expect {
        Ok(true) => [&inner[..12], &inner[16..]].concat(),
        _ => inner.clone(),
    };
    // Outer TOS / traffic class with OuterTos::Inherit: the inner IP header's.
    let inherited_tos = {
        let (t, l3) = match tpid {
            Some(0x8100 | 0x88a8) if inner.len() >= 18 => (be16(&inner, 16), &inner[18..]),
            Some(t) => (t, &inner[14..]),
            None => (0, &inner[..0]),
        };
        match t {
            0x0800 => Ipv4Packet::parse(l3).map_or(0, |ip| ip.header().tos),
            0x86dd => Ipv6Packet::parse(l3).map_or(0, |ip| ip.header().traffic_class()),
            _ => 0,
        }
    };

    // --- encap ----------------------------------------------------------------------------
    let mut mem = vec![SENTINEL; headroom + inner.len() + TAIL];
    mem[headroom..headroom + inner.len()].copy_from_slice(&inner);
    let orig = mem.clone();
    let mut f = FrameBuf::new(&mut mem, headroom, inner.len()).expect("frame fits");
    let res = nvgre::encap(&mut f, &p);
    {
        // The general path (no fast path) gives the same result and the same bytes.
        let mut gmem = orig.clone();
        let mut g = FrameBuf::new(&mut gmem, headroom, inner.len()).expect("frame fits");
        let gres = nvgre::encap_general(&mut g, &p);
        assert_eq!(res, gres, "fast and general encap disagree");
        assert_eq!((f.offset(), f.len()), (g.offset(), g.len()));
        assert_eq!(f.data(), g.data(), "fast and general encap wrote different bytes");
    }
    match (&res, &expect) {
        (Ok(e), Ok(strip)) => assert_eq!(e.vlan_stripped(), *strip, "vlan_stripped"),
        (Err(a), Err(b)) => assert_eq!(a, b, "encap refused for another reason"),
        _ => panic!(
            "encap returned {res:?}, expected {expect:?} (inner {} bytes)",
            inner.len()
        ),
    }
    let enc = match res {
        Ok(enc) => enc,
        Err(e) => {
            assert_eq!(f.offset(), headroom, "encap moved the frame on error");
            assert_eq!(f.len(), inner.len(), "encap resized the frame on error");
            drop(f);
            assert!(mem == orig, "encap wrote to the buffer on error ({e:?})");
            std::hint::black_box(e.to_string());
            return;
        }
    };

    // --- the encapsulated frame -----------------------------------------------------------
    let inner_start = headroom + if enc.vlan_stripped() { 4 } else { 0 };
    assert_eq!(enc.outer_len(), outer_len);
    assert_eq!(f.offset() + outer_len, inner_start, "inner payload moved");
    assert_eq!(f.len(), outer_len + expected_inner.len());
    let frame = f.data().to_vec();
    assert_eq!(&frame[outer_len..], &expected_inner[..]);
    let want_flow = p.flow_id.unwrap_or_else(|| nvgre::flow_id_of(&inner));
    assert_eq!(enc.flow_id(), want_flow, "FlowID");
    assert_eq!(frame[..6], input.dst_mac);
    assert_eq!(frame[6..12], input.src_mac);
    let l3 = 14 + vlan_len;
    let want_type: u16 = if matches!(underlay, Underlay::V4 { .. }) {
        0x0800
    } else {
        0x86dd
    };
    match p.outer_vlan {
        Some(tci) => {
            assert_eq!(be16(&frame, 12), 0x8100);
            assert_eq!(be16(&frame, 14), tci, "outer TCI");
            assert_eq!(be16(&frame, 16), want_type);
        }
        None => assert_eq!(be16(&frame, 12), want_type),
    }
    let want_tos = input.tos.unwrap_or(inherited_tos);
    match underlay {
        Underlay::V4 { src, dst } => {
            let h = &frame[l3..l3 + 20];
            assert_eq!(h[0], 0x45);
            assert_eq!(h[1], want_tos, "outer TOS");
            assert_eq!(
                usize::from(be16(h, 2)),
                frame.len() - l3,
                "IPv4 total length"
            );
            assert_eq!(be16(h, 4), p.ip_id);
            assert_eq!(be16(h, 6), if p.dont_fragment { 0x4000 } else { 0 });
            assert_eq!((h[8], h[9]), (p.ttl, 47));
            assert!(checksum::verifies(h), "outer IPv4 checksum");
            assert_eq!(
                (&h[12..16], &h[16..20]),
                (&src.octets()[..], &dst.octets()[..])
            );
        }
        Underlay::V6 { src, dst } => {
            let h = &frame[l3..l3 + 40];
            let vtf = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
            assert_eq!(vtf >> 28, 6);
            assert_eq!((vtf >> 20) as u8, want_tos, "outer traffic class");
            assert_eq!(
                vtf & 0xf_ffff,
                nvgre::flow_hash_of(&inner) >> 12,
                "flow label"
            );
            assert_eq!(
                usize::from(be16(h, 4)),
                frame.len() - l3 - 40,
                "IPv6 payload length"
            );
            assert_eq!((h[6], h[7]), (47, p.ttl));
            assert_eq!(
                (&h[8..24], &h[24..40]),
                (&src.octets()[..], &dst.octets()[..])
            );
        }
    }
    let gre = &frame[outer_len - 8..outer_len];
    let key = (vsid.get() << 8 | u32::from(enc.flow_id().0)).to_be_bytes();
    assert_eq!(gre[..4], [0x20, 0x00, 0x65, 0x58]);
    assert_eq!(gre[4..], key);

    // --- decap ----------------------------------------------------------------------------
    let inspected = nvgre::inspect(f.data());
    let n = nvgre::decap(&mut f).unwrap_or_else(|r| panic!("decap of encap output failed: {r:?}"));
    assert_eq!(Ok(n), inspected);
    assert_eq!(n.vsid(), vsid);
    assert_eq!(n.flow_id(), enc.flow_id());
    let outer = n.outer(&frame);
    assert_eq!(outer.underlay, underlay);
    let (usrc, udst) = match underlay_in {
        UnderlayIn::V4 { src, dst } => (IpAddr::from(src), IpAddr::from(dst)),
        UnderlayIn::V6 { src, dst } => (IpAddr::from(src), IpAddr::from(dst)),
    };
    assert_eq!((outer.underlay.src(), outer.underlay.dst()), (usrc, udst));
    assert_eq!(outer.src_mac, p.src_mac);
    assert_eq!(outer.dst_mac, p.dst_mac);
    // EncapParams::outer_vlan is the TCI; Nvgre::outer_vlan is the VLAN ID.
    assert_eq!(n.outer_vlan(), p.outer_vlan.map(|tci| tci & 0x0fff));
    assert_eq!(n.inner_offset(), outer_len);
    assert_eq!(n.inner_len(), expected_inner.len());
    assert_eq!(f.offset(), inner_start);
    assert_eq!(
        f.data(),
        &expected_inner[..],
        "decapped bytes differ from the inner frame"
    );
    drop(f);
    // Nothing outside the headroom and the frame was touched.
    let front = headroom + if enc.vlan_stripped() { 4 } else { 0 } - outer_len;
    assert!(
        mem[..front].iter().all(|&b| b == SENTINEL),
        "encap wrote in front of its headers"
    );
    assert!(
        mem[mem.len() - TAIL..].iter().all(|&b| b == SENTINEL),
        "wrote past the frame"
    );
});
