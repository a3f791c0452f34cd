//! Every wire view of `hnv_core::wire` over the same arbitrary bytes.
//!
//! The module contract (`hnv-core/src/wire/mod.rs`): once `parse` returns `Ok`, no accessor
//! panics or reads out of bounds, whatever the bytes are; malformed input is a
//! `ParseError`, never a panic. So every view is parsed from the bytes in both the
//! read-only (`&[u8]`) and the writable (`&mut [u8]`) form, and every accessor of the
//! views that parse is called. Beyond "does not panic" the target asserts what the views
//! promise: lengths add up, optional fields announced by flags are present, option lists
//! validated by `parse` iterate without error, `fill_checksum` makes `verify_checksum`
//! true, RFC 1624 incremental updates keep a valid checksum valid, and the optimised
//! Internet checksum equals a naive RFC 1071 reference.
//!
//! Input layout: byte 0 is the mode, the rest is the packet.
//!
//! * mode bits 0..=1 — where the layered dissection starts: Ethernet, IP (by version
//!   nibble), GRE, or the L4 protocol given by mode bits 2..=3 (TCP, UDP, ICMPv4, ICMPv6).
//! * mode bits 4..=7 — seed for the addresses and ports written by the mutation checks.
//!
//! Views covered (re-checked against hnv-core/src/wire/*.rs): ethernet (EthernetFrame,
//! EthernetHeader, VlanTag), arp (ArpPacket, ArpHeader, ArpOp), ipv4 (Ipv4Packet,
//! Ipv4Header), ipv6 (Ipv6Packet, Ipv6Header, upper_layer), gre (GrePacket, GreHeader,
//! NvgreHeader), icmpv4 (Icmpv4Packet, Icmpv4Header, Icmpv4Kind), icmpv6 (Icmpv6Packet,
//! Icmpv6Kind, NeighborSolicit, NeighborAdvert, NeighborHeader, NdpOptions), tcp
//! (TcpPacket, TcpHeader, TcpFlags), udp (UdpPacket, UdpHeader), checksum.
#![no_main]

use std::hint::black_box;
use std::net::{Ipv4Addr, Ipv6Addr};

use hnv_core::ids::MacAddr;
use hnv_core::wire::arp::{ArpHeader, ArpOp, ArpPacket};
use hnv_core::wire::checksum::{self, Checksum};
use hnv_core::wire::ethernet::{EtherType, EthernetFrame, EthernetHeader, VlanTag};
use hnv_core::wire::gre::{GreHeader, GrePacket, NvgreHeader, FLAG_C, FLAG_K, FLAG_S};
use hnv_core::wire::icmpv4::{Icmpv4Header, Icmpv4Kind, Icmpv4Packet};
use hnv_core::wire::icmpv6::{
    Icmpv6Header, Icmpv6Kind, Icmpv6Packet, NdpOptions, NeighborAdvert, NeighborHeader,
    NeighborSolicit,
};
use hnv_core::wire::ipv4::{Ipv4Header, Ipv4Packet};
use hnv_core::wire::ipv6::{Ipv6Header, Ipv6Packet};
use hnv_core::wire::tcp::{TcpFlags, TcpHeader, TcpPacket};
use hnv_core::wire::udp::{UdpHeader, UdpPacket, ZeroChecksum};
use hnv_core::wire::{ip_proto, Layer, ParseError};
use libfuzzer_sys::fuzz_target;
use zerocopy::byteorder::network_endian::{U16, U32};
use zerocopy::{ByteSlice, IntoBytes};

fuzz_target!(|input: &[u8]| {
    let Some((&mode, data)) = input.split_first() else {
        return;
    };
    let seed = mode >> 4;

    // 1. Every view, read-only and writable, over the same bytes.
    checksum_reference(data, seed);
    ethernet(data);
    arp(data, seed);
    ipv4(data, seed);
    ipv6(data, seed);
    gre(data);
    icmpv4(data);
    icmpv6(data, seed);
    ndp_options(data);
    tcp(data, seed);
    udp(data, seed);
    // >>> New wire views go here: add a `fn xxx(data: &[u8], seed: u8)` that parses
    // >>> `&[u8]` and `&mut [u8]`, calls every accessor, and call it above.

    // 2. The views stacked as the data path uses them, so nested headers get explored.
    let start = match mode & 3 {
        0 => Start::Ethernet,
        1 => Start::Ip,
        2 => Start::Gre,
        _ => Start::L4(match (mode >> 2) & 3 {
            0 => ip_proto::TCP,
            1 => ip_proto::UDP,
            2 => ip_proto::ICMP,
            _ => ip_proto::ICMPV6,
        }),
    };
    dissect(data, start, Pseudo::None, 0);
});

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn err(e: ParseError) {
    black_box(e.layer());
    black_box(e.to_string());
}

fn v4(seed: u8, salt: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, seed, salt, seed ^ salt)
}

fn v6(seed: u8, salt: u8) -> Ipv6Addr {
    Ipv6Addr::from([
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        seed,
        salt,
        0,
        0,
        0,
        0,
        seed ^ salt,
        1,
    ])
}

/// Naive RFC 1071 sum: big-endian 16-bit words, odd byte padded, end-around carry.
fn ref_sum(bytes: &[u8]) -> u16 {
    let mut s: u64 = 0;
    for w in bytes.chunks(2) {
        s += u64::from(u16::from_be_bytes([w[0], w.get(1).copied().unwrap_or(0)]));
    }
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

/// True when `sum + field` is the one's-complement negative zero, i.e. the field is a
/// valid checksum for data summing to `sum`.
///
/// Data that sums to +0 (all zero words) is the one case RFC 1624 §5 cannot get right
/// incrementally (it may yield 0x0000 instead of 0xffff); real headers never sum to +0
/// (version nibbles, pseudo-header protocol), so it is accepted here.
fn field_ok(sum: Checksum, field: u16) -> bool {
    sum.sum() == 0 || sum.add_u16(field).sum() == 0xffff
}

// ---------------------------------------------------------------------------------------
// checksum
// ---------------------------------------------------------------------------------------

fn checksum_reference(data: &[u8], seed: u8) {
    let want = ref_sum(data);
    let got = Checksum::new().add_bytes(data);
    assert_eq!(got.sum(), want, "Checksum::add_bytes differs from RFC 1071");
    assert_eq!(checksum::of(data), !want);
    assert_eq!(checksum::verifies(data), want == 0xffff);
    assert_eq!(got.finish(), !got.sum());
    if let Some(w) = data.first_chunk::<4>() {
        let v = u32::from_be_bytes(*w);
        assert_eq!(Checksum::new().add_u32(v).sum(), ref_sum(w));
    }

    // Runs of even length concatenate.
    if !data.is_empty() {
        let k = (usize::from(seed) * 2 + 2 * (data.len() / 7)) % (data.len() + 1) & !1;
        let (a, b) = data.split_at(k);
        assert_eq!(Checksum::new().add_bytes(a).add_bytes(b).sum(), want);
    }

    // RFC 1624: replace one 16-bit word / 32-bit word / 16-byte run and update
    // incrementally; the result must be a valid checksum of the new bytes.
    if data.len() >= 2 {
        let c = checksum::of(data);
        let mut new = data.to_vec();
        let at = (usize::from(seed) * 2) % (data.len() & !1);
        let old16 = u16::from_be_bytes([data[at], data[at + 1]]);
        let new16 = old16.rotate_left(u32::from(seed)) ^ 0x5a5a;
        new[at..at + 2].copy_from_slice(&new16.to_be_bytes());
        let c2 = checksum::update_u16(c, old16, new16);
        assert!(field_ok(Checksum::new().add_bytes(&new), c2), "update_u16");
        black_box(checksum::update_u16(c, old16, old16));
    }
    if data.len() >= 4 {
        let c = checksum::of(data);
        let at = (usize::from(seed) * 2) % ((data.len() - 2) & !1);
        let old32 = u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
        let new32 = !old32 ^ u32::from(seed);
        let mut new = data.to_vec();
        new[at..at + 4].copy_from_slice(&new32.to_be_bytes());
        let c2 = checksum::update_u32(c, old32, new32);
        assert!(field_ok(Checksum::new().add_bytes(&new), c2), "update_u32");
    }
    if data.len() >= 32 {
        let c = checksum::of(data);
        let (old, new_part) = (&data[..16], &data[16..32]);
        let mut new = data.to_vec();
        new[..16].copy_from_slice(new_part);
        let c2 = checksum::update_bytes(c, old, new_part);
        assert!(
            field_ok(Checksum::new().add_bytes(&new), c2),
            "update_bytes"
        );
        // Caller bugs leave the checksum alone.
        assert_eq!(checksum::update_bytes(c, &data[..3], &data[3..6]), c);
        assert_eq!(checksum::update_bytes(c, &data[..4], &data[4..10]), c);
    }
    black_box(checksum::pseudo_v4(
        v4(seed, 1),
        v4(seed, 2),
        seed,
        data.len() as u16,
    ));
    black_box(checksum::pseudo_v6(
        v6(seed, 1),
        v6(seed, 2),
        seed,
        data.len() as u32,
    ));
}

// ---------------------------------------------------------------------------------------
// Ethernet
// ---------------------------------------------------------------------------------------

fn ethernet_common<B: ByteSlice>(f: &EthernetFrame<B>, data: &[u8]) {
    let h: &EthernetHeader = f.header();
    black_box(h);
    assert_eq!(f.dst(), h.dst);
    assert_eq!(f.src(), h.src);
    assert_eq!(&f.dst().0[..], &data[..6]);
    assert_eq!(&f.src().0[..], &data[6..12]);
    let outer_type = EtherType(u16::from_be_bytes([data[12], data[13]]));
    assert_eq!(h.ethertype(), outer_type);
    match f.vlan() {
        Some(tag) => {
            let tag: &VlanTag = tag;
            assert!(outer_type.is_vlan_tag());
            assert_eq!(f.vlan_tpid(), Some(outer_type));
            assert_eq!(f.header_len(), EthernetHeader::LEN + VlanTag::LEN);
            assert_eq!(f.ethertype(), tag.ethertype());
            assert!(tag.vid() <= 0x0fff);
            assert!(tag.pcp() <= 7);
            black_box(tag);
        }
        None => {
            assert!(!outer_type.is_vlan_tag());
            assert_eq!(f.vlan_tpid(), None);
            assert_eq!(f.header_len(), EthernetHeader::LEN);
            assert_eq!(f.ethertype(), outer_type);
        }
    }
    assert_eq!(f.payload(), &data[f.header_len()..]);
}

fn ethernet(data: &[u8]) {
    match EthernetFrame::parse(data) {
        Ok(f) => ethernet_common(&f, data),
        Err(e) => {
            assert!(matches!(
                e,
                ParseError::Truncated(Layer::Ethernet | Layer::Vlan)
            ));
            err(e);
        }
    }
    let mut buf = data.to_vec();
    if let Ok(mut f) = EthernetFrame::parse(&mut buf[..]) {
        ethernet_common(&f, data);
        let hl = f.header_len();
        f.header_mut().dst = MacAddr::BROADCAST;
        f.header_mut().src = MacAddr([2, 0, 0, 0, 0, 1]);
        f.payload_mut().iter_mut().for_each(|b| *b = !*b);
        assert!(f.dst().is_broadcast());
        assert!(f.src().is_unicast());
        assert_eq!(buf.len(), data.len());
        assert!(buf[hl..].iter().zip(&data[hl..]).all(|(a, b)| *a == !*b));
        assert_eq!(&buf[12..hl], &data[12..hl]);
    }
    black_box(EthernetHeader::new(
        MacAddr::ZERO,
        MacAddr::BROADCAST,
        EtherType::IPV4,
    ));
}

// ---------------------------------------------------------------------------------------
// ARP
// ---------------------------------------------------------------------------------------

fn arp_common<B: ByteSlice>(p: &ArpPacket<B>, data: &[u8]) {
    let h: &ArpHeader = p.header();
    black_box(h);
    assert!(data.len() >= ArpHeader::LEN);
    assert!(h.is_ethernet_ipv4());
    assert_eq!(p.padding(), &data[ArpHeader::LEN..]);
    let op = p.operation();
    assert_eq!(op, h.operation());
    assert_eq!(op.to_u16(), u16::from_be_bytes([data[6], data[7]]));
    assert_eq!(ArpOp::from(u16::from(op)), op);
    assert_eq!(ArpOp::from_u16(op.to_u16()), op);
    assert_eq!(p.sender_mac(), MacAddr(data[8..14].try_into().unwrap()));
    assert_eq!(p.sender_ip().octets(), data[14..18]);
    assert_eq!(p.target_mac(), MacAddr(data[18..24].try_into().unwrap()));
    assert_eq!(p.target_ip().octets(), data[24..28]);
    assert_eq!(p.is_gratuitous(), data[14..18] == data[24..28]);
    assert_eq!(p.is_probe(), op == ArpOp::Request && data[14..18] == [0; 4]);
    assert_eq!(p.is_gratuitous(), h.is_gratuitous());
    assert_eq!(p.is_probe(), h.is_probe());
}

fn arp(data: &[u8], seed: u8) {
    match ArpPacket::parse(data) {
        Ok(p) => arp_common(&p, data),
        Err(e) => {
            assert!(matches!(
                e,
                ParseError::Truncated(Layer::Arp) | ParseError::Unsupported(Layer::Arp)
            ));
            err(e);
        }
    }
    let mut buf = data.to_vec();
    if let Ok(mut p) = ArpPacket::parse(&mut buf[..]) {
        arp_common(&p, data);
        let (sm, si, ti) = (p.sender_mac(), p.sender_ip(), p.target_ip());
        let answer = MacAddr([2, seed, 0, 0, 0, 7]);
        p.make_reply_in_place(answer);
        assert_eq!(p.operation(), ArpOp::Reply);
        assert_eq!(p.sender_mac(), answer);
        assert_eq!(p.sender_ip(), ti);
        assert_eq!(p.target_mac(), sm);
        assert_eq!(p.target_ip(), si);
        assert_eq!(p.padding(), &data[ArpHeader::LEN..]);

        p.set_operation(ArpOp::Other(u16::from(seed) + 3));
        p.set_sender_mac(MacAddr([seed; 6]));
        p.set_sender_ip(v4(seed, 1));
        p.set_target_mac(MacAddr([!seed; 6]));
        p.set_target_ip(v4(seed, 2));
        assert_eq!(p.operation(), ArpOp::Other(u16::from(seed) + 3));
        assert_eq!(p.sender_mac(), MacAddr([seed; 6]));
        assert_eq!(p.sender_ip(), v4(seed, 1));
        assert_eq!(p.target_mac(), MacAddr([!seed; 6]));
        assert_eq!(p.target_ip(), v4(seed, 2));
        p.header_mut().make_reply(MacAddr::ZERO);
        assert!(p.header().is_ethernet_ipv4());
    }
    let req = ArpHeader::new_request(MacAddr([2, 0, 0, 0, 0, seed]), v4(seed, 3), v4(seed, 4));
    let rep = ArpHeader::new_reply(
        MacAddr([2; 6]),
        v4(seed, 4),
        req.sender_mac(),
        req.sender_ip(),
    );
    assert_eq!(req.operation(), ArpOp::Request);
    assert_eq!(rep.operation(), ArpOp::Reply);
    assert!(req.is_ethernet_ipv4() && rep.is_ethernet_ipv4());
}

// ---------------------------------------------------------------------------------------
// IPv4
// ---------------------------------------------------------------------------------------

fn ipv4_common<B: ByteSlice>(p: &Ipv4Packet<B>, data: &[u8]) {
    let h: &Ipv4Header = p.header();
    black_box(h);
    assert_eq!(h.version(), 4);
    let hl = p.header_len();
    assert_eq!(hl, h.header_len());
    assert!(hl >= Ipv4Header::LEN);
    assert_eq!(p.options(), &data[Ipv4Header::LEN..hl]);
    let total = usize::from(h.total_len.get());
    assert!(total <= data.len());
    assert_eq!(p.payload(), &data[hl..total]);
    assert_eq!(h.src().octets(), data[12..16]);
    assert_eq!(h.dst().octets(), data[16..20]);
    assert_eq!(h.dscp(), data[1] >> 2);
    assert_eq!(h.ecn(), data[1] & 3);
    assert_eq!(
        h.is_fragment(),
        h.more_fragments() || h.fragment_offset() != 0
    );
    assert!(h.fragment_offset() <= 0x1fff * 8);
    black_box(h.dont_fragment());
    assert_eq!(p.verify_checksum(), ref_sum(&data[..hl]) == 0xffff);
    let pseudo = p.pseudo_header();
    assert_eq!(
        pseudo,
        checksum::pseudo_v4(h.src(), h.dst(), h.protocol, p.payload().len() as u16)
    );
}

fn ipv4(data: &[u8], seed: u8) {
    match Ipv4Packet::parse(data) {
        Ok(p) => {
            ipv4_common(&p, data);
            let total = usize::from(p.header().total_len.get());
            assert_eq!(
                p.into_payload().len(),
                total - (data[0] & 0x0f) as usize * 4
            );
        }
        Err(e) => {
            assert_eq!(e.layer(), Layer::Ipv4);
            err(e);
        }
    }
    let mut buf = data.to_vec();
    if let Ok(mut p) = Ipv4Packet::parse(&mut buf[..]) {
        ipv4_common(&p, data);
        p.fill_checksum();
        assert!(p.verify_checksum(), "IPv4 fill_checksum does not verify");
        let old_flags = p.header().flags_frag.get();
        let h = p.header_mut();
        h.set_src(v4(seed, 5));
        h.set_dst(v4(seed, 6));
        h.set_dont_fragment(seed & 1 == 1);
        assert_eq!(h.dont_fragment(), seed & 1 == 1);
        assert_eq!(h.flags_frag.get() & !0x4000, old_flags & !0x4000);
        assert_eq!((h.src(), h.dst()), (v4(seed, 5), v4(seed, 6)));
        p.payload_mut().fill(seed);
        p.fill_checksum();
        assert!(p.verify_checksum());
    }
    // A header built from scratch parses and verifies.
    let mut h = Ipv4Header::new(v4(seed, 7), v4(seed, 8), seed, u16::from(seed) * 3);
    h.fill_checksum();
    let mut bytes = h.as_bytes().to_vec();
    bytes.resize(Ipv4Header::LEN + usize::from(seed) * 3, 0);
    let p = Ipv4Packet::parse(&bytes[..]).expect("Ipv4Header::new does not parse");
    assert!(p.verify_checksum());
}

// ---------------------------------------------------------------------------------------
// IPv6
// ---------------------------------------------------------------------------------------

fn ipv6_common<B: ByteSlice>(p: &Ipv6Packet<B>, data: &[u8]) {
    let h: &Ipv6Header = p.header();
    black_box(h);
    assert_eq!(h.version(), 6);
    let len = usize::from(h.payload_len.get());
    assert_eq!(p.payload(), &data[Ipv6Header::LEN..Ipv6Header::LEN + len]);
    assert_eq!(h.src().octets(), data[8..24]);
    assert_eq!(h.dst().octets(), data[24..40]);
    assert!(h.flow_label() <= 0xf_ffff);
    black_box(h.traffic_class());
    match p.upper_layer() {
        Ok(ul) => {
            black_box(ul);
            assert!(
                ul.offset <= p.payload().len(),
                "upper_layer offset past payload"
            );
            assert!(!matches!(
                ul.protocol,
                ip_proto::HOP_BY_HOP
                    | ip_proto::IPV6_ROUTE
                    | ip_proto::IPV6_FRAG
                    | ip_proto::AH
                    | ip_proto::IPV6_OPTS
            ));
            if let Some(f) = ul.fragment {
                assert_eq!(f.offset & 7, 0);
                black_box((f.more, f.ident));
            }
            if ul.offset == 0 {
                assert_eq!(ul.protocol, h.next_header);
            }
            black_box(p.pseudo_header(ul.protocol, (p.payload().len() - ul.offset) as u32));
        }
        Err(e) => {
            assert_eq!(e, ParseError::Truncated(Layer::Ipv6Extension));
            err(e);
        }
    }
}

fn ipv6(data: &[u8], seed: u8) {
    match Ipv6Packet::parse(data) {
        Ok(p) => {
            ipv6_common(&p, data);
            let len = usize::from(p.header().payload_len.get());
            assert_eq!(p.into_payload().len(), len);
        }
        Err(e) => {
            assert_eq!(e.layer(), Layer::Ipv6);
            err(e);
        }
    }
    let mut buf = data.to_vec();
    if let Ok(mut p) = Ipv6Packet::parse(&mut buf[..]) {
        ipv6_common(&p, data);
        let (tc, fl) = (p.header().traffic_class(), p.header().flow_label());
        let h = p.header_mut();
        h.set_traffic_class(seed.wrapping_mul(17));
        assert_eq!(h.traffic_class(), seed.wrapping_mul(17));
        assert_eq!(h.flow_label(), fl);
        assert_eq!(h.version(), 6);
        h.set_flow_label(u32::from(seed) << 16 | 0xfff0_0000 | u32::from(tc));
        assert_eq!(
            h.flow_label(),
            (u32::from(seed) << 16 | u32::from(tc)) & 0xf_ffff
        );
        assert_eq!(h.traffic_class(), seed.wrapping_mul(17));
        assert_eq!(h.version(), 6);
        h.set_src(v6(seed, 1));
        h.set_dst(v6(seed, 2));
        assert_eq!((h.src(), h.dst()), (v6(seed, 1), v6(seed, 2)));
        p.payload_mut().fill(0);
        let _ = black_box(p.upper_layer());
    }
    let h = Ipv6Header::new(v6(seed, 3), v6(seed, 4), ip_proto::UDP, 0);
    let p = Ipv6Packet::parse(h.as_bytes()).expect("Ipv6Header::new");
    assert_eq!(
        p.upper_layer().map(|u| (u.protocol, u.offset)),
        Ok((ip_proto::UDP, 0))
    );
}

// ---------------------------------------------------------------------------------------
// GRE
// ---------------------------------------------------------------------------------------

fn gre_common<B: ByteSlice>(g: &GrePacket<B>, data: &[u8]) {
    let h: &GreHeader = g.header();
    black_box(h);
    let flags = u16::from_be_bytes([data[0], data[1]]);
    assert_eq!(h.flags(), flags);
    assert_eq!(h.version(), (flags & 7) as u8);
    assert_eq!(
        h.protocol(),
        EtherType(u16::from_be_bytes([data[2], data[3]]))
    );
    assert_eq!(g.checksum_present(), flags & FLAG_C != 0);
    assert_eq!(g.key_present(), flags & FLAG_K != 0);
    assert_eq!(g.sequence_present(), flags & FLAG_S != 0);
    black_box(g.reserved_bits_set());
    let hl = g.header_len();
    assert_eq!(hl, GreHeader::LEN + h.optional_len());
    assert_eq!(g.payload(), &data[hl..]);
    // Fields announced by the flags are present, at RFC 2784/2890 positions.
    let word = |i: usize| u32::from_be_bytes(data[4 + 4 * i..8 + 4 * i].try_into().unwrap());
    let c = usize::from(g.checksum_present());
    let k = usize::from(g.key_present());
    assert_eq!(
        g.checksum(),
        g.checksum_present().then(|| (word(0) >> 16) as u16)
    );
    assert_eq!(g.key(), g.key_present().then(|| word(c)));
    assert_eq!(g.sequence(), g.sequence_present().then(|| word(c + k)));
}

fn gre(data: &[u8]) {
    match GrePacket::parse(data) {
        Ok(g) => gre_common(&g, data),
        Err(e) => {
            assert_eq!(e, ParseError::Truncated(Layer::Gre));
            err(e);
        }
    }
    let mut buf = data.to_vec();
    if let Ok(mut g) = GrePacket::parse(&mut buf[..]) {
        gre_common(&g, data);
        let before_seq = g.sequence();
        let before_csum = g.checksum();
        let wrote = g.set_key(0x1234_5678);
        assert_eq!(wrote, g.key_present());
        if wrote {
            assert_eq!(g.key(), Some(0x1234_5678));
        }
        assert_eq!(g.sequence(), before_seq);
        assert_eq!(g.checksum(), before_csum);
        g.payload_mut().fill(0xee);
    }
    // The NVGRE form of the header.
    if let Some(b) = data.get(..NvgreHeader::LEN) {
        let h = NvgreHeader {
            flags_version: U16::new(u16::from_be_bytes([b[0], b[1]])),
            protocol: U16::new(u16::from_be_bytes([b[2], b[3]])),
            key: U32::new(u32::from_be_bytes([b[4], b[5], b[6], b[7]])),
        };
        assert!(h.vsid_raw() <= 0xff_ffff);
        assert_eq!(h.flow_id().0, b[7]);
        if let Ok(vsid) = hnv_core::ids::Vsid::new(h.vsid_raw()) {
            let n = NvgreHeader::new(vsid, h.flow_id());
            let g = GrePacket::parse(n.as_bytes()).expect("NvgreHeader parses");
            assert_eq!(g.key(), Some(u32::from_be_bytes([b[4], b[5], b[6], b[7]])));
            assert!(!g.checksum_present() && !g.sequence_present() && !g.reserved_bits_set());
            assert_eq!(g.header().protocol(), EtherType::TRANSPARENT_ETHERNET);
        }
    }
}

// ---------------------------------------------------------------------------------------
// ICMPv4
// ---------------------------------------------------------------------------------------

fn icmpv4_common<B: ByteSlice>(p: &Icmpv4Packet<B>, data: &[u8]) {
    let h: &Icmpv4Header = p.header();
    black_box(h);
    assert_eq!(p.msg_type(), data[0]);
    assert_eq!(p.code(), data[1]);
    assert_eq!(p.body(), &data[Icmpv4Header::LEN..]);
    assert_eq!(p.len(), data.len());
    assert!(!p.is_empty());
    assert_eq!(h.rest_hi(), u16::from_be_bytes([data[4], data[5]]));
    assert_eq!(h.rest_lo(), u16::from_be_bytes([data[6], data[7]]));
    let kind = p.kind();
    assert_eq!(kind, h.kind());
    match kind {
        Icmpv4Kind::EchoRequest { id, seq } | Icmpv4Kind::EchoReply { id, seq } => {
            assert_eq!((id, seq), (h.rest_hi(), h.rest_lo()));
            assert_eq!(p.code(), 0);
        }
        Icmpv4Kind::FragNeeded { next_hop_mtu } => assert_eq!(next_hop_mtu, h.rest_lo()),
        Icmpv4Kind::DestUnreachable { code } => assert!(code != 4 && p.msg_type() == 3),
        Icmpv4Kind::TimeExceeded { code } => assert_eq!(code, p.code()),
        Icmpv4Kind::Other { msg_type, code } => {
            assert_eq!((msg_type, code), (p.msg_type(), p.code()));
        }
    }
    assert_eq!(p.verify_checksum(), ref_sum(data) == 0xffff);
}

fn icmpv4(data: &[u8]) {
    match Icmpv4Packet::parse(data) {
        Ok(p) => icmpv4_common(&p, data),
        Err(e) => {
            assert_eq!(e, ParseError::Truncated(Layer::Icmpv4));
            err(e);
        }
    }
    let mut buf = data.to_vec();
    if let Ok(mut p) = Icmpv4Packet::parse(&mut buf[..]) {
        icmpv4_common(&p, data);
        p.fill_checksum();
        assert!(p.verify_checksum(), "ICMPv4 fill_checksum does not verify");
        *p.header_mut() = Icmpv4Header::frag_needed(1458);
        assert_eq!(p.kind(), Icmpv4Kind::FragNeeded { next_hop_mtu: 1458 });
        p.body_mut().fill(0x11);
        p.fill_checksum();
        assert!(p.verify_checksum());
        for (h, want) in [
            (
                Icmpv4Header::echo_request(1, 2),
                Icmpv4Kind::EchoRequest { id: 1, seq: 2 },
            ),
            (
                Icmpv4Header::echo_reply(3, 4),
                Icmpv4Kind::EchoReply { id: 3, seq: 4 },
            ),
            (
                Icmpv4Header::dest_unreachable(3),
                Icmpv4Kind::DestUnreachable { code: 3 },
            ),
            (
                Icmpv4Header::time_exceeded(1),
                Icmpv4Kind::TimeExceeded { code: 1 },
            ),
        ] {
            *p.header_mut() = h;
            assert_eq!(p.kind(), want);
        }
    }
}

// ---------------------------------------------------------------------------------------
// ICMPv6 and neighbour discovery
// ---------------------------------------------------------------------------------------

/// Walks options the way RFC 4861 §4.6 describes; returns (count, bytes) of valid options
/// before the first malformed one and whether one was malformed.
fn ndp_walk(mut b: &[u8]) -> (usize, bool) {
    let mut n = 0;
    while !b.is_empty() {
        if b.len() < 2 || b[1] == 0 || usize::from(b[1]) * 8 > b.len() {
            return (n, true);
        }
        b = &b[usize::from(b[1]) * 8..];
        n += 1;
    }
    (n, false)
}

fn ndp_options(data: &[u8]) {
    let (want_n, want_bad) = ndp_walk(data);
    let mut it = NdpOptions::new(data);
    let mut n = 0;
    let mut bad = false;
    let mut total = 0;
    for o in it.by_ref() {
        match o {
            Ok(o) => {
                assert!(!bad, "NdpOptions yielded an option after an error");
                assert!(o.length != 0);
                assert_eq!(o.data.len(), usize::from(o.length) * 8 - 2);
                assert_eq!(o.data, &data[total + 2..total + usize::from(o.length) * 8]);
                assert_eq!(data[total], o.option_type);
                total += usize::from(o.length) * 8;
                let la = o.link_addr();
                match o.option_type {
                    1 | 2 => assert_eq!(
                        la.map(|m| m.0.to_vec()),
                        o.data.get(..6).map(<[u8]>::to_vec)
                    ),
                    _ => assert_eq!(la, None),
                }
                n += 1;
            }
            Err(e) => {
                assert!(!bad, "NdpOptions yielded two errors");
                assert_eq!(e, ParseError::BadLength(Layer::NdpOption));
                bad = true;
            }
        }
    }
    assert!(it.next().is_none(), "NdpOptions not fused");
    assert_eq!(
        (n, bad),
        (want_n, want_bad),
        "NdpOptions disagrees with RFC 4861 walk"
    );
    let _ = black_box(NdpOptions::new(data).link_addr(1));
    let _ = black_box(NdpOptions::new(data).link_addr(2));
}

fn neighbor_header_checks(h: &NeighborHeader, body: &[u8]) {
    black_box(h);
    assert_eq!(h.target().octets(), body[4..20]);
    let flags = u32::from_be_bytes(body[..4].try_into().unwrap());
    assert_eq!(h.is_router(), flags & NeighborHeader::ROUTER != 0);
    assert_eq!(h.is_solicited(), flags & NeighborHeader::SOLICITED != 0);
    assert_eq!(h.is_override(), flags & NeighborHeader::OVERRIDE != 0);
}

/// `body` is an ICMPv6 body (after the 4-byte header).
fn neighbor_views(body: &[u8], seed: u8) {
    match NeighborSolicit::parse(body) {
        Ok(ns) => {
            neighbor_header_checks(ns.header(), body);
            assert_eq!(ns.target(), ns.header().target());
            assert_eq!(ns.options(), &body[NeighborHeader::LEN..]);
            let mut total = 0;
            for o in ns.options_iter() {
                let o = o.expect("options validated by NeighborSolicit::parse");
                total += usize::from(o.length) * 8;
            }
            assert_eq!(total, ns.options().len());
            let sll = ns.source_link_addr();
            assert_eq!(sll, NdpOptions::new(ns.options()).link_addr(1).unwrap());
        }
        Err(e) => {
            assert!(matches!(
                e,
                ParseError::Truncated(Layer::Icmpv6) | ParseError::BadLength(Layer::NdpOption)
            ));
            err(e);
        }
    }
    match NeighborAdvert::parse(body) {
        Ok(na) => {
            neighbor_header_checks(na.header(), body);
            assert_eq!(na.target(), na.header().target());
            assert_eq!(
                (na.is_router(), na.is_solicited(), na.is_override()),
                (
                    na.header().is_router(),
                    na.header().is_solicited(),
                    na.header().is_override()
                )
            );
            assert_eq!(na.options(), &body[NeighborHeader::LEN..]);
            let mut total = 0;
            for o in na.options_iter() {
                let o = o.expect("options validated by NeighborAdvert::parse");
                total += usize::from(o.length) * 8;
            }
            assert_eq!(total, na.options().len());
            let tll = na.target_link_addr();
            assert_eq!(tll, NdpOptions::new(na.options()).link_addr(2).unwrap());
        }
        Err(e) => err(e),
    }
    // Writable forms.
    let mut buf = body.to_vec();
    if let Ok(mut ns) = NeighborSolicit::parse(&mut buf[..]) {
        ns.header_mut().set_target(v6(seed, 9));
        assert_eq!(ns.target(), v6(seed, 9));
        ns.options_mut().fill(0);
        assert_eq!(
            ns.options_iter().next().map(|r| r.is_err()),
            ns.options().first().map(|_| true)
        );
    }
    let mut buf = body.to_vec();
    if let Ok(mut na) = NeighborAdvert::parse(&mut buf[..]) {
        let (r, s, o) = (seed & 1 != 0, seed & 2 != 0, seed & 4 != 0);
        na.set_flags(r, s, o);
        assert_eq!(
            (na.is_router(), na.is_solicited(), na.is_override()),
            (r, s, o)
        );
        assert_eq!(
            na.header().flags.get() & 0x1fff_ffff,
            0,
            "set_flags keeps reserved bits"
        );
        na.header_mut().set_target(v6(seed, 10));
        assert_eq!(na.target(), v6(seed, 10));
        black_box(na.options_mut().len());
    }
    let a = NeighborHeader::advert(v6(seed, 11), seed & 1 != 0, seed & 2 != 0, seed & 4 != 0);
    assert_eq!(a.is_router(), seed & 1 != 0);
    assert_eq!(NeighborHeader::solicit(v6(seed, 12)).target(), v6(seed, 12));
}

fn icmpv6_common<B: ByteSlice>(p: &Icmpv6Packet<B>, data: &[u8], src: Ipv6Addr, dst: Ipv6Addr) {
    black_box(p.header());
    assert!(data.len() >= 8);
    assert_eq!(p.msg_type(), data[0]);
    assert_eq!(p.code(), data[1]);
    assert_eq!(p.body(), &data[4..]);
    assert_eq!(p.len(), data.len());
    assert!(!p.is_empty());
    let rest: [u8; 4] = data[4..8].try_into().unwrap();
    assert_eq!(p.rest_of_header(), rest);
    let kind = p.kind();
    assert_eq!(kind, Icmpv6Kind::decode(data[0], data[1], rest));
    match kind {
        // 4-byte header + 20-byte fixed part, then options that must all be well formed.
        Icmpv6Kind::NeighborSolicit => assert_eq!(
            p.neighbor_solicit().is_ok(),
            data.len() >= 24 && !ndp_walk(&data[24..]).1
        ),
        Icmpv6Kind::NeighborAdvert => assert_eq!(
            p.neighbor_advert().is_ok(),
            data.len() >= 24 && !ndp_walk(&data[24..]).1
        ),
        _ => {
            assert_eq!(
                p.neighbor_solicit().err(),
                Some(ParseError::Unsupported(Layer::Icmpv6))
            );
            assert_eq!(
                p.neighbor_advert().err(),
                Some(ParseError::Unsupported(Layer::Icmpv6))
            );
        }
    }
    if let Ok(ns) = p.neighbor_solicit() {
        black_box((ns.target(), ns.source_link_addr()));
    }
    if let Ok(na) = p.neighbor_advert() {
        black_box((na.target(), na.target_link_addr()));
    }
    let pseudo = checksum::pseudo_v6(src, dst, ip_proto::ICMPV6, data.len() as u32);
    assert_eq!(
        p.verify_checksum(src, dst),
        pseudo.add_u16(ref_sum(data)).sum() == 0xffff
    );
}

fn icmpv6(data: &[u8], seed: u8) {
    let (src, dst) = (v6(seed, 0x21), v6(seed, 0x22));
    match Icmpv6Packet::<&[u8]>::parse(data) {
        Ok(p) => icmpv6_common(&p, data, src, dst),
        Err(e) => {
            assert_eq!(e, ParseError::Truncated(Layer::Icmpv6));
            assert!(data.len() < Icmpv6Header::MIN_MESSAGE_LEN);
            err(e);
        }
    }
    if let Some(body) = data.get(4..) {
        neighbor_views(body, seed);
    }
    let mut buf = data.to_vec();
    if let Ok(mut p) = Icmpv6Packet::parse(&mut buf[..]) {
        icmpv6_common(&p, data, src, dst);
        p.fill_checksum(src, dst);
        assert!(
            p.verify_checksum(src, dst),
            "ICMPv6 fill_checksum does not verify"
        );
        if let Ok(mut ns) = p.neighbor_solicit_mut() {
            ns.header_mut().set_target(v6(seed, 0x23));
            assert_eq!(ns.target(), v6(seed, 0x23));
        }
        if let Ok(mut na) = p.neighbor_advert_mut() {
            na.set_flags(true, true, false);
            assert!(na.is_router() && na.is_solicited() && !na.is_override());
        }
        p.set_echo(0x1234, u16::from(seed));
        assert_eq!(p.rest_of_header(), [0x12, 0x34, 0, seed]);
        p.set_mtu(1280 + u32::from(seed));
        assert_eq!(p.rest_of_header(), (1280 + u32::from(seed)).to_be_bytes());
        p.set_rest_of_header([1, 2, 3, 4]);
        assert_eq!(&p.body()[..4], &[1, 2, 3, 4]);
        *p.header_mut() = Icmpv6Header::new(128, 0);
        assert_eq!(
            p.kind(),
            Icmpv6Kind::EchoRequest {
                id: 0x0102,
                seq: 0x0304
            }
        );
        p.header_mut().msg_type = 2;
        p.header_mut().code = 0;
        assert_eq!(p.kind(), Icmpv6Kind::PacketTooBig { mtu: 0x0102_0304 });
        p.body_mut().iter_mut().for_each(|b| *b ^= seed);
        p.fill_checksum(dst, src);
        assert!(p.verify_checksum(dst, src));
    }
}

// ---------------------------------------------------------------------------------------
// TCP
// ---------------------------------------------------------------------------------------

/// The MSS walk as documented on `TcpPacket::mss`.
fn ref_mss(opts: &[u8]) -> Option<u16> {
    let mut i = 0;
    while i < opts.len() {
        match opts[i] {
            0 => return None,
            1 => i += 1,
            kind => {
                let len = usize::from(*opts.get(i + 1)?);
                if len < 2 || i + len > opts.len() {
                    return None;
                }
                if kind == 2 {
                    return (len == 4).then(|| u16::from_be_bytes([opts[i + 2], opts[i + 3]]));
                }
                i += len;
            }
        }
    }
    None
}

fn tcp_common<B: ByteSlice>(t: &TcpPacket<B>, data: &[u8]) {
    let h: &TcpHeader = t.header();
    black_box(h);
    assert_eq!(t.src_port(), u16::from_be_bytes([data[0], data[1]]));
    assert_eq!(t.dst_port(), u16::from_be_bytes([data[2], data[3]]));
    assert_eq!(t.seq(), u32::from_be_bytes(data[4..8].try_into().unwrap()));
    assert_eq!(t.ack(), u32::from_be_bytes(data[8..12].try_into().unwrap()));
    assert_eq!(h.data_offset(), data[12] >> 4);
    assert_eq!(t.flags(), TcpFlags(data[13]));
    assert_eq!(t.window(), u16::from_be_bytes([data[14], data[15]]));
    assert_eq!(t.checksum(), u16::from_be_bytes([data[16], data[17]]));
    assert_eq!(h.urgent(), u16::from_be_bytes([data[18], data[19]]));
    let hl = t.header_len();
    assert_eq!(hl, h.header_len());
    assert!(hl >= TcpHeader::LEN);
    assert_eq!(t.options(), &data[TcpHeader::LEN..hl]);
    assert_eq!(t.payload(), &data[hl..]);
    assert_eq!(t.segment_len(), data.len());
    assert_eq!(
        t.mss(),
        ref_mss(t.options()),
        "TcpPacket::mss disagrees with its doc"
    );
    let f = t.flags();
    let all = [
        (f.fin(), TcpFlags::FIN),
        (f.syn(), TcpFlags::SYN),
        (f.rst(), TcpFlags::RST),
        (f.psh(), TcpFlags::PSH),
        (f.ack(), TcpFlags::ACK),
        (f.urg(), TcpFlags::URG),
        (f.ece(), TcpFlags::ECE),
        (f.cwr(), TcpFlags::CWR),
    ];
    let mut rebuilt = TcpFlags::empty();
    for (set, flag) in all {
        assert_eq!(set, f.contains(flag));
        assert_eq!(set, f.intersects(flag));
        assert_eq!(set, (f & flag) == flag);
        if set {
            rebuilt |= flag;
        }
    }
    assert_eq!(rebuilt, f);
    assert_eq!((rebuilt | TcpFlags::default()).bits(), data[13]);
}

fn tcp(data: &[u8], seed: u8) {
    match TcpPacket::parse(data) {
        Ok(t) => {
            tcp_common(&t, data);
            let (s, d) = (v6(seed, 0x31), v6(seed, 0x32));
            let pseudo = checksum::pseudo_v6(s, d, ip_proto::TCP, data.len() as u32);
            assert_eq!(
                t.verify_checksum(pseudo),
                pseudo.add_u16(ref_sum(data)).sum() == 0xffff
            );
        }
        Err(e) => {
            assert!(matches!(
                e,
                ParseError::Truncated(Layer::Tcp) | ParseError::BadHeaderLength(Layer::Tcp)
            ));
            err(e);
        }
    }
    let Ok(len16) = u16::try_from(data.len()) else {
        return;
    };
    let mut buf = data.to_vec();
    if let Ok(mut t) = TcpPacket::parse(&mut buf[..]) {
        tcp_common(&t, data);
        let (s, d) = (v4(seed, 0x31), v4(seed, 0x32));
        let pseudo = checksum::pseudo_v4(s, d, ip_proto::TCP, len16);
        t.fill_checksum(pseudo);
        assert!(
            t.verify_checksum(pseudo),
            "TCP fill_checksum does not verify"
        );
        t.set_src_port(u16::from(seed) * 1000 + 7);
        assert_eq!(t.src_port(), u16::from(seed) * 1000 + 7);
        assert!(
            t.verify_checksum(pseudo),
            "TCP set_src_port broke the checksum"
        );
        t.set_dst_port(!u16::from(seed));
        assert_eq!(t.dst_port(), !u16::from(seed));
        assert!(
            t.verify_checksum(pseudo),
            "TCP set_dst_port broke the checksum"
        );
        let s2 = v4(seed ^ 0x55, 0x33);
        t.update_checksum_for_address(&s.octets(), &s2.octets());
        let pseudo2 = checksum::pseudo_v4(s2, d, ip_proto::TCP, len16);
        assert!(
            t.verify_checksum(pseudo2),
            "TCP update_checksum_for_address (v4)"
        );
        let c = t.checksum();
        t.update_checksum_for_address(&[1, 2, 3], &[4, 5, 6]);
        assert_eq!(t.checksum(), c);

        // IPv6 pseudo-header and address rewrite.
        let (a, b) = (v6(seed, 0x34), v6(seed, 0x35));
        let p6 = checksum::pseudo_v6(a, b, ip_proto::TCP, u32::from(len16));
        t.fill_checksum(p6);
        assert!(t.verify_checksum(p6));
        let b2 = v6(!seed, 0x36);
        t.update_checksum_for_address(&b.octets(), &b2.octets());
        assert!(
            t.verify_checksum(checksum::pseudo_v6(a, b2, ip_proto::TCP, u32::from(len16))),
            "TCP update_checksum_for_address (v6)"
        );

        let h = t.header_mut();
        h.set_flags(TcpFlags::SYN | TcpFlags::ACK);
        h.set_src_port(1);
        h.set_dst_port(2);
        let dof = h.data_offset();
        h.set_data_offset(dof);
        assert_eq!(h.data_offset(), dof);
        assert_eq!(t.flags(), TcpFlags::SYN | TcpFlags::ACK);
        t.options_mut().fill(1);
        assert_eq!(t.mss(), None);
        t.payload_mut().fill(seed);
    }
    let h = TcpHeader::new(1, 2, 3, 4, TcpFlags(seed), 5);
    let t = TcpPacket::parse(h.as_bytes()).expect("TcpHeader::new parses");
    assert_eq!(
        (t.header_len(), t.flags()),
        (TcpHeader::LEN, TcpFlags(seed))
    );
    assert_eq!(TcpHeader::checksum_offset(), 16);
}

// ---------------------------------------------------------------------------------------
// UDP
// ---------------------------------------------------------------------------------------

fn udp_common<B: ByteSlice>(u: &UdpPacket<B>, data: &[u8]) {
    let h: &UdpHeader = u.header();
    black_box(h);
    assert_eq!(u.src_port(), u16::from_be_bytes([data[0], data[1]]));
    assert_eq!(u.dst_port(), u16::from_be_bytes([data[2], data[3]]));
    let len = usize::from(u.length());
    assert!(len >= UdpHeader::LEN && len <= data.len());
    assert_eq!(u.length(), h.length());
    assert_eq!(u.checksum(), u16::from_be_bytes([data[6], data[7]]));
    assert_eq!(u.checksum(), h.checksum());
    assert_eq!(u.checksum_present(), u.checksum() != 0);
    assert_eq!(u.payload(), &data[UdpHeader::LEN..len]);
    assert_eq!((h.src_port(), h.dst_port()), (u.src_port(), u.dst_port()));
}

fn udp(data: &[u8], seed: u8) {
    match UdpPacket::parse(data) {
        Ok(u) => {
            udp_common(&u, data);
            let (s, d) = (v4(seed, 0x41), v4(seed, 0x42));
            let pseudo = checksum::pseudo_v4(s, d, ip_proto::UDP, u.length());
            let dgram = &data[..usize::from(u.length())];
            let ok = pseudo.add_u16(ref_sum(dgram)).sum() == 0xffff;
            if u.checksum_present() {
                assert_eq!(u.verify_checksum(pseudo, ZeroChecksum::Allowed), ok);
                assert_eq!(u.verify_checksum(pseudo, ZeroChecksum::Rejected), ok);
            } else {
                assert!(u.verify_checksum(pseudo, ZeroChecksum::Allowed));
                assert!(!u.verify_checksum(pseudo, ZeroChecksum::Rejected));
            }
        }
        Err(e) => {
            assert!(matches!(
                e,
                ParseError::Truncated(Layer::Udp) | ParseError::BadLength(Layer::Udp)
            ));
            err(e);
        }
    }
    let mut buf = data.to_vec();
    if let Ok(mut u) = UdpPacket::parse(&mut buf[..]) {
        udp_common(&u, data);
        let len = u.length();
        let (s, d) = (v6(seed, 0x43), v6(seed, 0x44));
        let pseudo = checksum::pseudo_v6(s, d, ip_proto::UDP, u32::from(len));

        // Absent checksum stays absent through port rewrites.
        u.clear_checksum();
        assert!(!u.checksum_present());
        u.set_src_port(53);
        u.set_dst_port(u16::from(seed));
        u.update_checksum_for_address(&s.octets(), &d.octets());
        assert_eq!(u.checksum(), 0, "absent UDP checksum became present");
        assert!(u.verify_checksum(pseudo, ZeroChecksum::Allowed));
        assert!(!u.verify_checksum(pseudo, ZeroChecksum::Rejected));

        u.fill_checksum(pseudo);
        assert!(u.checksum_present(), "UDP fill_checksum stored 0");
        assert!(
            u.verify_checksum(pseudo, ZeroChecksum::Rejected),
            "UDP fill_checksum"
        );
        u.set_src_port(u16::from(seed) << 8 | 0x35);
        assert_eq!(u.src_port(), u16::from(seed) << 8 | 0x35);
        assert!(u.checksum_present());
        assert!(
            u.verify_checksum(pseudo, ZeroChecksum::Rejected),
            "UDP set_src_port"
        );
        u.set_dst_port(!u16::from(seed));
        assert!(
            u.verify_checksum(pseudo, ZeroChecksum::Rejected),
            "UDP set_dst_port"
        );
        let s2 = v6(!seed, 0x45);
        u.update_checksum_for_address(&s.octets(), &s2.octets());
        assert!(u.checksum_present());
        let pseudo2 = checksum::pseudo_v6(s2, d, ip_proto::UDP, u32::from(len));
        assert!(
            u.verify_checksum(pseudo2, ZeroChecksum::Rejected),
            "UDP address update"
        );

        let (a, b) = (v4(seed, 0x46), v4(seed, 0x47));
        let p4 = checksum::pseudo_v4(a, b, ip_proto::UDP, len);
        u.fill_checksum(p4);
        let a2 = v4(!seed, 0x48);
        u.update_checksum_for_address(&a.octets(), &a2.octets());
        let p4b = checksum::pseudo_v4(a2, b, ip_proto::UDP, len);
        assert!(
            u.verify_checksum(p4b, ZeroChecksum::Rejected),
            "UDP address update (v4)"
        );

        let h = u.header_mut();
        h.set_src_port(7);
        h.set_dst_port(9);
        assert_eq!((u.src_port(), u.dst_port()), (7, 9));
        u.payload_mut().fill(seed);
    }
    let h = UdpHeader::new(1, 2, u16::from(seed));
    assert_eq!(usize::from(h.length()), UdpHeader::LEN + usize::from(seed));
    assert_eq!(UdpHeader::new(1, 2, u16::MAX).length(), u16::MAX);
    assert_eq!(UdpHeader::checksum_offset(), 6);
}

// ---------------------------------------------------------------------------------------
// Layered dissection
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Start {
    Ethernet,
    Ip,
    Gre,
    L4(u8),
}

#[derive(Clone, Copy)]
enum Pseudo {
    None,
    V4(Ipv4Addr, Ipv4Addr),
    V6(Ipv6Addr, Ipv6Addr),
}

fn dissect(bytes: &[u8], start: Start, pseudo: Pseudo, depth: u32) {
    if depth > 4 {
        return;
    }
    match start {
        Start::Ethernet => {
            let Ok(eth) = EthernetFrame::parse(bytes) else {
                return;
            };
            let next = match eth.ethertype() {
                EtherType::IPV4 | EtherType::IPV6 => Start::Ip,
                EtherType::ARP => {
                    if let Ok(a) = ArpPacket::parse(eth.payload()) {
                        black_box((a.operation(), a.sender_ip(), a.target_ip()));
                    }
                    return;
                }
                _ => return,
            };
            dissect(eth.payload(), next, pseudo, depth + 1);
        }
        Start::Ip => match bytes.first().map(|b| b >> 4) {
            Some(4) => {
                let Ok(ip) = Ipv4Packet::parse(bytes) else {
                    return;
                };
                black_box(ip.verify_checksum());
                let h = ip.header();
                if h.fragment_offset() != 0 {
                    return;
                }
                let ps = Pseudo::V4(h.src(), h.dst());
                dissect(ip.payload(), Start::L4(h.protocol), ps, depth + 1);
            }
            Some(6) => {
                let Ok(ip) = Ipv6Packet::parse(bytes) else {
                    return;
                };
                let Ok(ul) = ip.upper_layer() else { return };
                if ul.fragment.is_some_and(|f| f.offset != 0) {
                    return;
                }
                let ps = Pseudo::V6(ip.header().src(), ip.header().dst());
                let l4 = &ip.payload()[ul.offset..];
                dissect(l4, Start::L4(ul.protocol), ps, depth + 1);
            }
            _ => {}
        },
        Start::Gre => {
            let Ok(g) = GrePacket::parse(bytes) else {
                return;
            };
            black_box((g.key(), g.sequence(), g.checksum()));
            if g.header().protocol() == EtherType::TRANSPARENT_ETHERNET {
                dissect(g.payload(), Start::Ethernet, Pseudo::None, depth + 1);
            }
        }
        Start::L4(proto) => match proto {
            ip_proto::GRE => dissect(bytes, Start::Gre, pseudo, depth),
            ip_proto::TCP => {
                let Ok(t) = TcpPacket::parse(bytes) else {
                    return;
                };
                let ok = match pseudo {
                    Pseudo::V4(s, d) => u16::try_from(t.segment_len())
                        .ok()
                        .map(|l| t.verify_checksum(checksum::pseudo_v4(s, d, proto, l))),
                    Pseudo::V6(s, d) => Some(t.verify_checksum(checksum::pseudo_v6(
                        s,
                        d,
                        proto,
                        t.segment_len() as u32,
                    ))),
                    Pseudo::None => None,
                };
                black_box((ok, t.mss(), t.flags(), t.payload().len()));
            }
            ip_proto::UDP => {
                let Ok(u) = UdpPacket::parse(bytes) else {
                    return;
                };
                let ok = match pseudo {
                    Pseudo::V4(s, d) => Some(u.verify_checksum(
                        checksum::pseudo_v4(s, d, proto, u.length()),
                        ZeroChecksum::Allowed,
                    )),
                    Pseudo::V6(s, d) => Some(u.verify_checksum(
                        checksum::pseudo_v6(s, d, proto, u32::from(u.length())),
                        ZeroChecksum::Rejected,
                    )),
                    Pseudo::None => None,
                };
                black_box((ok, u.src_port(), u.dst_port()));
            }
            ip_proto::ICMP => {
                let Ok(i) = Icmpv4Packet::parse(bytes) else {
                    return;
                };
                black_box((i.verify_checksum(), i.kind()));
                // Error messages quote the offending IPv4 header.
                if !matches!(
                    i.kind(),
                    Icmpv4Kind::EchoReply { .. } | Icmpv4Kind::EchoRequest { .. }
                ) {
                    if let Ok(inner) = Ipv4Packet::parse(i.body()) {
                        black_box(inner.header().protocol);
                    }
                }
            }
            ip_proto::ICMPV6 => {
                let Ok(i) = Icmpv6Packet::parse(bytes) else {
                    return;
                };
                let (s, d) = match pseudo {
                    Pseudo::V6(s, d) => (s, d),
                    _ => (Ipv6Addr::UNSPECIFIED, Ipv6Addr::UNSPECIFIED),
                };
                black_box((i.verify_checksum(s, d), i.kind()));
                if let Ok(ns) = i.neighbor_solicit() {
                    black_box((ns.target(), ns.source_link_addr()));
                    for o in ns.options_iter() {
                        black_box(o.expect("validated").link_addr());
                    }
                }
                if let Ok(na) = i.neighbor_advert() {
                    black_box((na.target(), na.target_link_addr(), na.is_router()));
                    for o in na.options_iter() {
                        black_box(o.expect("validated").link_addr());
                    }
                }
            }
            _ => {}
        },
    }
}
