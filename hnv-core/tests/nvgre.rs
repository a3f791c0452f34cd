//! NVGRE framing against RFC 7637, with etherparse as an independent parser of what hnv
//! emits. Each `DropReason` of decapsulation has a test that produces it.

use std::net::{Ipv4Addr, Ipv6Addr};

use etherparse::{Ethernet2Header, IpNumber, Ipv4Header, Ipv6Header, PacketBuilder};
use hnv_core::buf::{BufError, FrameBuf, PacketBuf};
use hnv_core::ids::{FlowId, MacAddr, Vsid};
use hnv_core::nvgre::{
    self, decap, encap, flow_id_of, inspect, EncapError, EncapParams, OuterTos, Underlay,
};
use hnv_core::wire::checksum;
use hnv_core::DropReason;
use proptest::prelude::*;

const HOST_A: MacAddr = MacAddr([0x02, 0, 0, 0, 0x0a, 0x01]);
const HOST_B: MacAddr = MacAddr([0x02, 0, 0, 0, 0x0b, 0x01]);
const PA_A: Ipv4Addr = Ipv4Addr::new(192, 168, 4, 11);
const PA_B: Ipv4Addr = Ipv4Addr::new(192, 168, 4, 22);

fn pa6(last: u16) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 0, 4, 0, 0, 0, last)
}

fn v4() -> Underlay {
    Underlay::V4 {
        src: PA_A,
        dst: PA_B,
    }
}

fn v6() -> Underlay {
    Underlay::V6 {
        src: pa6(11),
        dst: pa6(22),
    }
}

fn params(vsid: u32, underlay: Underlay) -> EncapParams {
    EncapParams::new(Vsid::new(vsid).unwrap(), HOST_A, HOST_B, underlay)
}

/// Contoso1 -> Contoso2 UDP over IPv4, built by etherparse.
fn inner_udp4(sport: u16, dport: u16, payload_len: usize) -> Vec<u8> {
    let b = PacketBuilder::ethernet2([0, 0x15, 0x5d, 0, 0, 1], [0, 0x15, 0x5d, 0, 0, 2])
        .ipv4([10, 0, 0, 5], [10, 0, 0, 7], 128)
        .udp(sport, dport);
    let payload = vec![0xab; payload_len];
    let mut v = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut v, &payload).unwrap();
    v
}

/// An IPv6 TCP frame, built by etherparse.
fn inner_tcp6(sport: u16) -> Vec<u8> {
    let b = PacketBuilder::ethernet2([0, 0x15, 0x5d, 0, 0, 1], [0, 0x15, 0x5d, 0, 0, 2])
        .ipv6(pa6(0x55).octets(), pa6(0x77).octets(), 64)
        .tcp(sport, 443, 1000, 65535);
    let mut v = Vec::new();
    b.write(&mut v, b"hello").unwrap();
    v
}

/// Places `inner` after MAX_OVERHEAD bytes of headroom; returns the backing memory.
fn with_headroom(inner: &[u8]) -> Vec<u8> {
    let mut mem = vec![0u8; nvgre::MAX_OVERHEAD + inner.len()];
    mem[nvgre::MAX_OVERHEAD..].copy_from_slice(inner);
    mem
}

/// Encapsulates `inner` and returns the wire frame.
fn encap_vec(inner: &[u8], p: &EncapParams) -> Vec<u8> {
    let mut mem = with_headroom(inner);
    let mut f = FrameBuf::new(&mut mem, nvgre::MAX_OVERHEAD, inner.len()).unwrap();
    encap(&mut f, p).unwrap();
    f.data().to_vec()
}

#[test]
fn encap_ipv4_outer_parsed_by_etherparse() {
    let inner = inner_udp4(5000, 53, 18);
    let wire = encap_vec(&inner, &params(5001, v4()));
    assert_eq!(wire.len(), inner.len() + 42);

    let (eth, rest) = Ethernet2Header::from_slice(&wire).unwrap();
    assert_eq!((eth.source, eth.destination), (HOST_A.0, HOST_B.0));
    assert_eq!(eth.ether_type, etherparse::EtherType::IPV4);
    let (ip, gre) = Ipv4Header::from_slice(rest).unwrap();
    assert_eq!(ip.source, PA_A.octets());
    assert_eq!(ip.destination, PA_B.octets());
    assert_eq!(ip.protocol, IpNumber::GRE);
    assert_eq!(usize::from(ip.total_len), 20 + 8 + inner.len());
    assert!(ip.dont_fragment, "RFC 7637 §4.4: outer DF");
    assert!(!ip.more_fragments);
    assert_eq!(ip.time_to_live, 64);
    assert_eq!(ip.header_checksum, ip.calc_header_checksum());
    // GRE: C=0 K=1 S=0 ver 0, proto 0x6558, key = 5001 << 8 | FlowID.
    assert_eq!(&gre[..4], &[0x20, 0x00, 0x65, 0x58]);
    let key = u32::from_be_bytes([gre[4], gre[5], gre[6], gre[7]]);
    assert_eq!(key >> 8, 5001);
    assert_eq!(FlowId(key as u8), flow_id_of(&inner));
    assert_eq!(&gre[8..], &inner[..]);
}

#[test]
fn encap_ipv6_outer_parsed_by_etherparse() {
    let inner = inner_udp4(5000, 53, 100);
    let wire = encap_vec(&inner, &params(6001, v6()));
    assert_eq!(wire.len(), inner.len() + 62);
    let (eth, rest) = Ethernet2Header::from_slice(&wire).unwrap();
    assert_eq!(eth.ether_type, etherparse::EtherType::IPV6);
    let (ip, gre) = Ipv6Header::from_slice(rest).unwrap();
    assert_eq!(ip.source, pa6(11).octets());
    assert_eq!(ip.destination, pa6(22).octets());
    assert_eq!(ip.next_header, IpNumber::GRE);
    assert_eq!(usize::from(ip.payload_length), 8 + inner.len());
    assert_eq!(ip.hop_limit, 64);
    assert_eq!(ip.flow_label.value(), nvgre::flow_hash_of(&inner) >> 12);
    assert_eq!(&gre[..4], &[0x20, 0x00, 0x65, 0x58]);
    assert_eq!(
        u32::from_be_bytes([gre[4], gre[5], gre[6], gre[7]]) >> 8,
        6001
    );
    assert_eq!(&gre[8..], &inner[..]);
}

#[test]
fn rfc7637_key_layout() {
    // VSID 0x123456 and FlowID 0xAB give key bytes 12 34 56 AB.
    let mut p = params(0x12_3456, v4());
    p.flow_id = Some(FlowId(0xab));
    let wire = encap_vec(&inner_udp4(1, 2, 0), &p);
    assert_eq!(
        &wire[34..42],
        &[0x20, 0x00, 0x65, 0x58, 0x12, 0x34, 0x56, 0xab]
    );
}

#[test]
fn mixed_families_round_trip() {
    for (inner, underlay) in [(inner_tcp6(40000), v4()), (inner_udp4(1, 2, 3), v6())] {
        let mut mem = with_headroom(&inner);
        let mut f = FrameBuf::new(&mut mem, nvgre::MAX_OVERHEAD, inner.len()).unwrap();
        encap(&mut f, &params(5001, underlay)).unwrap();
        let wire = f.data().to_vec();
        let got = decap(&mut f).unwrap();
        assert_eq!(got.underlay(&wire), underlay);
        assert_eq!(f.data(), &inner[..]);
    }
}

#[test]
fn outer_tos_inherits_inner_dscp_ecn_or_is_fixed() {
    let mut inner = inner_udp4(1, 2, 3);
    inner[15] = 0xb9; // DSCP 46 (EF), ECN ECT(1)
    let c = checksum::of(&{
        let mut h = inner[14..34].to_vec();
        h[10] = 0;
        h[11] = 0;
        h
    });
    inner[24..26].copy_from_slice(&c.to_be_bytes());
    let wire = encap_vec(&inner, &params(5001, v4()));
    assert_eq!(wire[15], 0xb9);
    let wire6 = encap_vec(&inner, &params(5001, v6()));
    let (ip6, _) = Ipv6Header::from_slice(&wire6[14..]).unwrap();
    assert_eq!(ip6.traffic_class, 0xb9);
    let mut p = params(5001, v4());
    p.tos = OuterTos::Fixed(0x10);
    p.ttl = 7;
    p.ip_id = 0xbeef;
    p.dont_fragment = false;
    let wire = encap_vec(&inner, &p);
    let (ip, _) = Ipv4Header::from_slice(&wire[14..]).unwrap();
    assert_eq!((ip.dscp.value(), ip.ecn.value()), (0x04, 0));
    assert_eq!(
        (ip.time_to_live, ip.identification, ip.dont_fragment),
        (7, 0xbeef, false)
    );
    assert_eq!(ip.header_checksum, ip.calc_header_checksum());
}

#[test]
fn inner_8021q_tag_is_stripped() {
    // RFC 7637 §3.3: the tag is removed; the frame comes out 4 bytes shorter with its
    // original type.
    let untagged = inner_udp4(7, 9, 20);
    let mut tagged = untagged[..12].to_vec();
    tagged.extend_from_slice(&[0x81, 0x00, 0x00, 0x64]);
    tagged.extend_from_slice(&untagged[12..]);
    let mut mem = with_headroom(&tagged);
    let mut f = FrameBuf::new(&mut mem, nvgre::MAX_OVERHEAD, tagged.len()).unwrap();
    let e = encap(&mut f, &params(5001, v4())).unwrap();
    assert!(e.vlan_stripped());
    assert_eq!(e.flow_id(), flow_id_of(&untagged));
    assert_eq!(f.len(), untagged.len() + 42);
    assert_eq!(&f.data()[42..], &untagged[..]);
    decap(&mut f).unwrap();
    assert_eq!(f.data(), &untagged[..]);
}

#[test]
fn stacked_or_qinq_inner_tags_are_refused_unchanged() {
    let base = inner_udp4(7, 9, 20);
    for tags in [
        &[0x88, 0xa8, 0, 1, 0x81, 0x00, 0, 2][..],
        &[0x81, 0x00, 0, 1, 0x81, 0x00, 0, 2],
    ] {
        let mut frame = base[..12].to_vec();
        frame.extend_from_slice(tags);
        frame.extend_from_slice(&base[12..]);
        let mut mem = with_headroom(&frame);
        let before = mem.clone();
        let mut f = FrameBuf::new(&mut mem, nvgre::MAX_OVERHEAD, frame.len()).unwrap();
        assert_eq!(
            encap(&mut f, &params(5001, v4())),
            Err(EncapError::StackedVlanTags)
        );
        assert_eq!(f.data(), &frame[..]);
        assert_eq!(mem, before);
    }
}

#[test]
fn encap_errors_leave_buffer_unchanged() {
    let inner = inner_udp4(1, 2, 3);
    // Headroom one byte short.
    let mut mem = vec![0u8; 41 + inner.len()];
    mem[41..].copy_from_slice(&inner);
    let before = mem.clone();
    let mut f = FrameBuf::new(&mut mem, 41, inner.len()).unwrap();
    assert_eq!(
        encap(&mut f, &params(5001, v4())),
        Err(EncapError::NoHeadroom)
    );
    assert_eq!(f.data(), &inner[..]);
    assert_eq!(mem, before);
    // A tagged frame needs 4 bytes less headroom: 38 suffices for IPv4.
    let mut tagged = inner[..12].to_vec();
    tagged.extend_from_slice(&[0x81, 0, 0, 5]);
    tagged.extend_from_slice(&inner[12..]);
    let mut mem = vec![0u8; 38 + tagged.len()];
    mem[38..].copy_from_slice(&tagged);
    let mut f = FrameBuf::new(&mut mem, 38, tagged.len()).unwrap();
    encap(&mut f, &params(5001, v4())).unwrap();
    assert_eq!(f.headroom(), 0);
    // Shorter than an Ethernet header.
    let mut mem = vec![0u8; 100];
    let mut f = FrameBuf::new(&mut mem, 64, 13).unwrap();
    assert_eq!(
        encap(&mut f, &params(5001, v4())),
        Err(EncapError::InnerTruncated)
    );
    assert_eq!(f.len(), 13);
    // Outer length over 65535.
    let big = 65_535 - 20 - 8 + 1;
    let mut mem = vec![0u8; 64 + big];
    let mut f = FrameBuf::new(&mut mem, 64, big).unwrap();
    assert_eq!(
        encap(&mut f, &params(5001, v4())),
        Err(EncapError::TooLarge)
    );
    let big6 = 65_535 - 8 + 1;
    let mut mem = vec![0u8; 64 + big6];
    let mut f = FrameBuf::new(&mut mem, 64, big6).unwrap();
    assert_eq!(
        encap(&mut f, &params(5001, v6())),
        Err(EncapError::TooLarge)
    );
    assert_eq!(f.push_front(65), Err(BufError::NoHeadroom));
}

#[test]
fn outer_vlan_round_trip() {
    let inner = inner_udp4(1, 2, 3);
    let mut p = params(5001, v6());
    p.outer_vlan = Some(0x2064); // PCP 1, VID 100
    let mut mem = with_headroom(&inner);
    let mut f = FrameBuf::new(&mut mem, nvgre::MAX_OVERHEAD, inner.len()).unwrap();
    let e = encap(&mut f, &p).unwrap();
    assert_eq!(e.outer_len(), nvgre::MAX_OVERHEAD);
    assert_eq!(&f.data()[12..18], &[0x81, 0x00, 0x20, 0x64, 0x86, 0xdd]);
    let got = decap(&mut f).unwrap();
    assert_eq!(got.outer_vlan(), Some(100));
    assert_eq!(f.data(), &inner[..]);
}

#[test]
fn decap_excludes_link_padding() {
    // A 14-byte inner frame (ARP-less Ethernet header only) gives a 56-byte wire frame
    // that the sender pads to 60: the padding must not reach the VM.
    let inner = [0u8, 0x15, 0x5d, 0, 0, 2, 0, 0x15, 0x5d, 0, 0, 1, 0x08, 0x06];
    let mut wire = encap_vec(&inner, &params(5001, v4()));
    wire.extend_from_slice(&[0; 4]);
    let mut f = FrameBuf::new(&mut wire, 0, 60).unwrap();
    let n = decap(&mut f).unwrap();
    assert_eq!((n.inner_offset(), n.inner_len()), (42, 14));
    assert_eq!(f.data(), &inner[..]);
}

// ---- every DropReason of decapsulation -----------------------------------------------------

/// A valid IPv4-outer NVGRE frame; GRE starts at 34.
fn good_wire() -> Vec<u8> {
    encap_vec(&inner_udp4(1000, 2000, 10), &params(5001, v4()))
}

/// Refills the outer IPv4 checksum after an edit.
fn fix_ip_checksum(w: &mut [u8]) {
    w[24] = 0;
    w[25] = 0;
    let c = checksum::of(&w[14..34]);
    w[24..26].copy_from_slice(&c.to_be_bytes());
}

/// Asserts `frame` is dropped for `reason` and a decap attempt leaves it unchanged.
fn assert_drop(mut frame: Vec<u8>, reason: DropReason) {
    assert_eq!(inspect(&frame), Err(reason));
    let before = frame.clone();
    let len = frame.len();
    let mut f = FrameBuf::new(&mut frame, 0, len).unwrap();
    assert_eq!(decap(&mut f), Err(reason));
    assert_eq!(f.data(), &before[..]);
}

#[test]
fn drop_truncated() {
    let w = good_wire();
    for cut in [0, 13, 14 + 19, 34 + 3, 34 + 7] {
        assert_drop(w[..cut].to_vec(), DropReason::Truncated);
    }
    // IPv4 total length longer than the frame.
    let mut w2 = good_wire();
    w2[17] += 1;
    fix_ip_checksum(&mut w2);
    assert_drop(w2, DropReason::Truncated);
    // IPv6: an extension header running past the payload.
    let mut w6 = encap_vec(&inner_udp4(1, 2, 3), &params(5001, v6()));
    w6[20] = 0; // next header: hop-by-hop
    w6[54 + 1] = 200; // its length: 1608 bytes
    assert_drop(w6, DropReason::Truncated);
}

#[test]
fn drop_outer_malformed() {
    let mut w = good_wire();
    w[14] = 0x44; // IHL 4
    assert_drop(w, DropReason::OuterMalformed);
    let mut w6 = encap_vec(&inner_udp4(1, 2, 3), &params(5001, v6()));
    w6[14] = 0x40; // version 4 in an IPv6 ethertype
    assert_drop(w6, DropReason::OuterMalformed);
}

#[test]
fn drop_not_ip() {
    let mut w = good_wire();
    w[12..14].copy_from_slice(&[0x08, 0x06]);
    assert_drop(w, DropReason::NotIp);
}

#[test]
fn drop_not_gre() {
    let mut w = good_wire();
    w[23] = 17;
    fix_ip_checksum(&mut w);
    assert_drop(w, DropReason::NotGre);
    let mut w6 = encap_vec(&inner_udp4(1, 2, 3), &params(5001, v6()));
    w6[20] = 4; // IP-in-IPv6
    assert_drop(w6, DropReason::NotGre);
}

#[test]
fn drop_bad_outer_checksum() {
    let mut w = good_wire();
    w[25] ^= 1;
    assert_drop(w, DropReason::BadOuterChecksum);
}

#[test]
fn drop_outer_fragment() {
    // RFC 7637 §4.4: fragments are dropped: MF, non-zero offset, IPv6 fragment header.
    let mut mf = good_wire();
    mf[20] |= 0x20;
    fix_ip_checksum(&mut mf);
    assert_drop(mf, DropReason::OuterFragment);
    let mut off = good_wire();
    off[20] = 0x40;
    off[21] = 0x10;
    fix_ip_checksum(&mut off);
    assert_drop(off, DropReason::OuterFragment);

    let w6 = encap_vec(&inner_udp4(1, 2, 3), &params(5001, v6()));
    let mut frag = w6[..54].to_vec();
    frag[20] = 44; // next header: fragment
    let plen = u16::from_be_bytes([frag[18], frag[19]]) + 8;
    frag[18..20].copy_from_slice(&plen.to_be_bytes());
    frag.extend_from_slice(&[47, 0, 0, 0, 0, 0, 0, 1]); // first fragment, M=0 still counts
    frag.extend_from_slice(&w6[54..]);
    assert_drop(frag, DropReason::OuterFragment);
}

#[test]
fn ipv6_extension_headers_before_gre_are_accepted() {
    let inner = inner_udp4(1, 2, 3);
    let w6 = encap_vec(&inner, &params(5001, v6()));
    let mut ext = w6[..54].to_vec();
    ext[20] = 60; // destination options
    let plen = u16::from_be_bytes([ext[18], ext[19]]) + 8;
    ext[18..20].copy_from_slice(&plen.to_be_bytes());
    ext.extend_from_slice(&[47, 0, 1, 4, 0, 0, 0, 0]); // PadN
    ext.extend_from_slice(&w6[54..]);
    let n = inspect(&ext).unwrap();
    assert_eq!(n.inner_offset(), 62 + 8);
    assert_eq!(&ext[n.inner_offset()..], &inner[..]);
}

#[test]
fn drop_gre_flag_faults() {
    let cases: [(u8, u8, DropReason); 6] = [
        (0xa0, 0x00, DropReason::GreChecksumPresent), // C=1
        (0x30, 0x00, DropReason::GreSequencePresent), // S=1
        (0x00, 0x00, DropReason::GreKeyAbsent),       // K=0
        (0x60, 0x00, DropReason::GreReservedBits),    // R=1
        (0x20, 0x40, DropReason::GreReservedBits),    // a flag bit in Reserved0
        (0x20, 0x01, DropReason::GreVersion),         // version 1
    ];
    for (b0, b1, reason) in cases {
        let mut w = good_wire();
        w[34] = b0;
        w[35] = b1;
        assert_drop(w, reason);
    }
}

#[test]
fn drop_gre_protocol() {
    let mut w = good_wire();
    w[36..38].copy_from_slice(&[0x08, 0x00]);
    assert_drop(w, DropReason::GreProtocol);
}

#[test]
fn drop_reserved_vsid() {
    // RFC 7637 §3.4: 0x000000-0x000FFF and 0xFFFFFF.
    for vsid in [0u32, 1, 0xfff, 0xff_ffff] {
        let mut w = good_wire();
        w[38..41].copy_from_slice(&vsid.to_be_bytes()[1..]);
        assert_drop(w, DropReason::ReservedVsid);
    }
    let mut ok = good_wire();
    ok[38..41].copy_from_slice(&[0x00, 0x10, 0x00]);
    assert_eq!(inspect(&ok).unwrap().vsid().get(), 4096);
}

#[test]
fn drop_inner_truncated_and_tagged() {
    let w = good_wire();
    let mut short = w[..42 + 13].to_vec();
    let l = (short.len() - 14) as u16;
    short[16..18].copy_from_slice(&l.to_be_bytes());
    fix_ip_checksum(&mut short);
    assert_drop(short, DropReason::InnerTruncated);

    // RFC 7637 §3.3 / checklist 15: inner 802.1Q and 802.1ad are dropped.
    for (tpid, reason) in [
        ([0x81, 0x00], DropReason::InnerVlanTag),
        ([0x88, 0xa8], DropReason::InnerQinQTag),
    ] {
        let mut t = w[..42 + 12].to_vec();
        t.extend_from_slice(&tpid);
        t.extend_from_slice(&[0, 5]);
        t.extend_from_slice(&w[42 + 12..]);
        let l = (t.len() - 14) as u16;
        t[16..18].copy_from_slice(&l.to_be_bytes());
        fix_ip_checksum(&mut t);
        assert_drop(t, reason);
    }
}

#[test]
fn every_decap_drop_reason_is_covered_above() {
    // The decap reasons exercised by the drop_* tests; a new reason must get a test.
    let covered = [
        DropReason::Truncated,
        DropReason::OuterMalformed,
        DropReason::NotIp,
        DropReason::NotGre,
        DropReason::BadOuterChecksum,
        DropReason::OuterFragment,
        DropReason::GreChecksumPresent,
        DropReason::GreSequencePresent,
        DropReason::GreKeyAbsent,
        DropReason::GreReservedBits,
        DropReason::GreVersion,
        DropReason::GreProtocol,
        DropReason::ReservedVsid,
        DropReason::InnerTruncated,
        DropReason::InnerVlanTag,
        DropReason::InnerQinQTag,
    ];
    // Every framing reason (the ones `inspect` gives) has a test above; the switch's
    // reasons are covered by the switch tests.
    let framing: Vec<_> = DropReason::ALL.iter().filter(|r| r.is_framing()).collect();
    assert_eq!(covered.len(), framing.len());
    for r in framing {
        assert!(covered.contains(r), "{r} has no test");
    }
}

// ---- FlowID -----------------------------------------------------------------------------------

#[test]
fn flow_id_is_stable_per_flow_and_spread_across_flows() {
    // Same flow (different payloads and IP IDs) -> same FlowID.
    let a = inner_udp4(40000, 53, 10);
    let mut b = inner_udp4(40000, 53, 300);
    b[18] = 0x77;
    assert_eq!(flow_id_of(&a), flow_id_of(&b));
    // 256 * 100 flows differing only in source port: every value used, and a chi-square
    // statistic well inside what a uniform distribution gives (255 dof: mean 255,
    // sd ~22.6; 400 is > 6 sd).
    let n = 25_600u32;
    let mut counts = [0u32; 256];
    for port in 0..n {
        counts[usize::from(flow_id_of(&inner_udp4(port as u16, 443, 0)).0)] += 1;
    }
    assert!(counts.iter().all(|&c| c > 0), "unused FlowIDs");
    let expected = f64::from(n) / 256.0;
    let chi2: f64 = counts
        .iter()
        .map(|&c| (f64::from(c) - expected).powi(2) / expected)
        .sum();
    assert!(chi2 < 400.0, "chi-square {chi2}");
    // Non-IP frames hash their MAC addresses.
    let arp1 = [
        0xffu8, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0x15, 0x5d, 0, 0, 1, 0x08, 0x06,
    ];
    let mut arp2 = arp1;
    arp2[11] = 2;
    assert_ne!(nvgre::flow_hash_of(&arp1), nvgre::flow_hash_of(&arp2));
    // A given FlowID is written as is.
    let mut p = params(5001, v4());
    p.flow_id = Some(FlowId(0));
    assert_eq!(encap_vec(&a, &p)[41], 0);
}

#[test]
fn flow_id_ignores_ports_of_fragments() {
    let mut f1 = inner_udp4(1111, 53, 10);
    f1[20] = 0x20; // MF: ports are still present in a first fragment, but not in later ones
    let mut f2 = inner_udp4(2222, 53, 10);
    f2[20] = 0x20;
    assert_eq!(flow_id_of(&f1), flow_id_of(&f2));
}

// ---- properties ---------------------------------------------------------------------------

fn arb_underlay() -> impl Strategy<Value = Underlay> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<[u8; 4]>()).prop_map(|(s, d)| Underlay::V4 {
            src: s.into(),
            dst: d.into()
        }),
        (any::<[u8; 16]>(), any::<[u8; 16]>()).prop_map(|(s, d)| Underlay::V6 {
            src: s.into(),
            dst: d.into()
        }),
    ]
}

/// Arbitrary inner Ethernet frames whose type is not a VLAN TPID.
fn arb_inner() -> impl Strategy<Value = Vec<u8>> {
    (proptest::collection::vec(any::<u8>(), 14..1600)).prop_map(|mut f| {
        if matches!([f[12], f[13]], [0x81, 0x00] | [0x88, 0xa8]) {
            f[12] = 0x08;
        }
        f
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decap_of_encap_is_identity(
        inner in arb_inner(),
        vsid in Vsid::MIN..=Vsid::MAX,
        flow in proptest::option::of(any::<u8>()),
        underlay in arb_underlay(),
        vlan in proptest::option::of(any::<u16>()),
        ttl in any::<u8>(),
    ) {
        let mut p = params(vsid, underlay);
        p.flow_id = flow.map(FlowId);
        p.outer_vlan = vlan;
        p.ttl = ttl;
        let mut mem = with_headroom(&inner);
        let mut f = FrameBuf::new(&mut mem, nvgre::MAX_OVERHEAD, inner.len()).unwrap();
        let e = encap(&mut f, &p).unwrap();
        prop_assert_eq!(e.flow_id(), flow.map_or_else(|| flow_id_of(&inner), FlowId));

        // The outer headers as etherparse reads them.
        let wire = f.data().to_vec();
        let l3 = 14 + if vlan.is_some() { 4 } else { 0 };
        match underlay {
            Underlay::V4 { src, dst } => {
                let (ip, gre) = Ipv4Header::from_slice(&wire[l3..]).unwrap();
                prop_assert_eq!(ip.source, src.octets());
                prop_assert_eq!(ip.destination, dst.octets());
                prop_assert_eq!(usize::from(ip.total_len), 28 + inner.len());
                prop_assert_eq!(ip.header_checksum, ip.calc_header_checksum());
                prop_assert_eq!(ip.time_to_live, ttl);
                prop_assert_eq!(&gre[8..], &inner[..]);
            }
            Underlay::V6 { src, dst } => {
                let (ip, gre) = Ipv6Header::from_slice(&wire[l3..]).unwrap();
                prop_assert_eq!(ip.source, src.octets());
                prop_assert_eq!(ip.destination, dst.octets());
                prop_assert_eq!(usize::from(ip.payload_length), 8 + inner.len());
                prop_assert_eq!(&gre[8..], &inner[..]);
            }
        }

        let got = decap(&mut f).unwrap();
        prop_assert_eq!(got.vsid().get(), vsid);
        prop_assert_eq!(got.flow_id(), e.flow_id());
        prop_assert_eq!(got.underlay(&wire), underlay);
        let outer = got.outer(&wire);
        prop_assert_eq!((outer.src_mac, outer.dst_mac), (p.src_mac, p.dst_mac));
        prop_assert_eq!(got.outer_vlan(), vlan.map(|t| t & 0x0fff));
        prop_assert_eq!(f.data(), &inner[..]);
    }

    /// `inspect` tries fast paths for untagged, option-less outer headers before the general
    /// parser: on valid NVGRE frames and on every one- or two-byte corruption of them (which
    /// reaches each refusal the fast path hands over), both give the same answer. The same for
    /// the flow hash of the inner frame and of the corrupted frame read as an inner frame.
    #[test]
    fn fast_paths_agree_with_general_parser(
        inner in arb_inner(),
        vsid in Vsid::MIN..=Vsid::MAX,
        underlay in arb_underlay(),
        vlan in proptest::option::of(any::<u16>()),
        edits in proptest::collection::vec((0usize..90, any::<u8>()), 0..=2),
        cut in proptest::option::of(0usize..200),
    ) {
        let mut p = params(vsid, underlay);
        p.outer_vlan = vlan;
        let mut mem = with_headroom(&inner);
        let mut f = FrameBuf::new(&mut mem, nvgre::MAX_OVERHEAD, inner.len()).unwrap();
        encap(&mut f, &p).unwrap();
        let mut wire = f.data().to_vec();
        prop_assert!(inspect(&wire).is_ok());
        for (at, byte) in edits {
            if let Some(b) = wire.get_mut(at) {
                *b = byte;
            }
        }
        if let Some(len) = cut {
            wire.truncate(len);
        }
        prop_assert_eq!(inspect(&wire), nvgre::inspect_general(&wire));
        prop_assert_eq!(nvgre::flow_hash_of(&wire), nvgre::flow_hash_general(&wire));
        prop_assert_eq!(nvgre::flow_hash_of(&inner), nvgre::flow_hash_general(&inner));
    }

    /// `encap` (fast path for untagged frames without an outer VLAN) writes exactly what
    /// the general path writes, returns the same, and fails the same way.
    #[test]
    fn encap_fast_path_agrees_with_general_path(
        inner in prop_oneof![arb_inner(), (0u16..2000, 0u16..2000, 0usize..1400).prop_map(|(s, d, n)| inner_udp4(s, d, n))],
        vsid in Vsid::MIN..=Vsid::MAX,
        flow in proptest::option::of(any::<u8>()),
        underlay in arb_underlay(),
        vlan in proptest::option::of(any::<u16>()),
        ttl in any::<u8>(),
        ip_id in any::<u16>(),
        df in any::<bool>(),
        tos in proptest::option::of(any::<u8>()),
        headroom in prop_oneof![Just(nvgre::MAX_OVERHEAD), 0usize..80],
    ) {
        let mut p = params(vsid, underlay);
        p.flow_id = flow.map(FlowId);
        p.outer_vlan = vlan;
        p.ttl = ttl;
        p.ip_id = ip_id;
        p.dont_fragment = df;
        p.tos = tos.map_or(OuterTos::Inherit, OuterTos::Fixed);
        let run = |general: bool| {
            let mut mem = vec![0x5a; headroom + inner.len()];
            mem[headroom..].copy_from_slice(&inner);
            let mut f = FrameBuf::new(&mut mem, headroom, inner.len()).unwrap();
            let r = if general { nvgre::encap_general(&mut f, &p) } else { encap(&mut f, &p) };
            let (offset, len) = (f.offset(), f.len());
            (r, offset, len, mem)
        };
        prop_assert_eq!(run(false), run(true));
    }

    /// The IPv4 fast path of the flow hash against the general parser on inner IPv4 frames
    /// with random header fields: IHL 5 or not, lengths around and beyond the frame,
    /// fragments, TCP/UDP/SCTP/other protocols.
    #[test]
    fn flow_hash_fast_path_agrees_with_general_parser(
        header in any::<[u8; 20]>(),
        ihl5 in any::<bool>(),
        protocol in prop_oneof![Just(6u8), Just(17), Just(132), Just(1), any::<u8>()],
        len_delta in -30i32..30,
        frag in prop_oneof![Just(0u16), Just(0x4000), any::<u16>()],
        rest in proptest::collection::vec(any::<u8>(), 0..80),
    ) {
        let mut frame = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00];
        let mut h = header;
        if ihl5 {
            h[0] = 0x45;
        }
        h[9] = protocol;
        h[6..8].copy_from_slice(&frag.to_be_bytes());
        let total = i32::try_from(20 + rest.len()).unwrap() + len_delta;
        h[2..4].copy_from_slice(&u16::try_from(total.clamp(0, 0xffff)).unwrap().to_be_bytes());
        frame.extend_from_slice(&h);
        frame.extend_from_slice(&rest);
        prop_assert_eq!(nvgre::flow_hash_of(&frame), nvgre::flow_hash_general(&frame));
    }

    #[test]
    fn inspect_never_panics_and_stays_in_bounds(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(n) = inspect(&bytes) {
            prop_assert!(n.inner_offset() + n.inner_len() <= bytes.len());
            prop_assert!((Vsid::MIN..=Vsid::MAX).contains(&n.vsid().get()));
        }
    }

    #[test]
    fn incremental_checksum_equals_recompute(
        mut header in proptest::collection::vec(any::<u8>(), 20..=60),
        at in 0usize..10,
        new in any::<u16>(),
    ) {
        if header.len() % 2 == 1 { header.pop(); }
        let at = (at * 2).min(header.len() - 2);
        let before = checksum::of(&header);
        let old = u16::from_be_bytes([header[at], header[at + 1]]);
        header[at..at + 2].copy_from_slice(&new.to_be_bytes());
        let recomputed = checksum::of(&header);
        let incremental = checksum::update_u16(before, old, new);
        // Both are valid one's-complement representations; RFC 1624 eqn. 3 never yields
        // -0 (0x0000) from a non-zero sum, and the full computation never does either.
        prop_assert_eq!(incremental, recomputed);
    }
}
