//! The packet flows of the seed chapter (figures 1-7 to 1-11), isolation and anti-spoofing,
//! on the two hosts of `docs/examples/seed-policy.json`. Frames are built and checked with
//! etherparse, an independent parser; every hop's bytes are asserted.

use std::net::{IpAddr, Ipv4Addr};

use etherparse::{
    ArpHardwareId, ArpOperation, ArpPacket, EtherType as EpEtherType, Ethernet2Header,
    PacketBuilder, SlicedPacket,
};
use hnv_core::buf::{FrameBuf, PacketBuf};
use hnv_core::ids::{MacAddr, Vsid};
use hnv_core::policy::{file, LookupTable, NeighborTable, RecordType, Tables};
use hnv_core::switch::{Event, Flood, PortId, Remote, Switch, Verdict};
use hnv_core::DropReason;
use proptest::prelude::*;

const SEED: &str = include_str!("../../docs/examples/seed-policy.json");
const HEADROOM: usize = 128;

const CONTOSO1: MacAddr = MacAddr([0x00, 0x15, 0x5d, 0, 0, 0x01]);
const CONTOSO2: MacAddr = MacAddr([0x00, 0x15, 0x5d, 0, 0, 0x02]);
const CONTOSO3: MacAddr = MacAddr([0x00, 0x15, 0x5d, 0, 0, 0x03]);
const CONTOSO4: MacAddr = MacAddr([0x00, 0x15, 0x5d, 0, 0, 0x04]);
const CONTOSO5: MacAddr = MacAddr([0x00, 0x15, 0x5d, 0, 0, 0x05]);
const FABRIKAM1: MacAddr = MacAddr([0x00, 0x15, 0x5d, 0, 0x01, 0x01]);
const MAC_DFGW: MacAddr = MacAddr([0x02, 0x00, 0x5e, 0x00, 0x01, 0x01]);
const UPLINK_A: MacAddr = MacAddr([0x02, 0, 0, 0, 0x0a, 0x01]);
const UPLINK_B: MacAddr = MacAddr([0x02, 0, 0, 0, 0x0b, 0x01]);

// Port indices in the seed policy's host sections.
const A_CONTOSO1: PortId = PortId(0);
const A_CONTOSO3: PortId = PortId(1);
const A_CONTOSO4: PortId = PortId(2);
const A_FABRIKAM1: PortId = PortId(3);
const B_CONTOSO2: PortId = PortId(0);
const B_CONTOSO5: PortId = PortId(1);

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn hosts(policy_json: &str) -> (Switch<Tables>, Switch<Tables>) {
    let policy = file::from_json(policy_json).unwrap();
    (
        Switch::new(Tables::compile(&policy, "HostA").unwrap()),
        Switch::new(Tables::compile(&policy, "HostB").unwrap()),
    )
}

/// A frame in a buffer with headroom for encapsulation.
struct Buf {
    mem: Vec<u8>,
    start: usize,
    len: usize,
}

impl Buf {
    fn new(frame: &[u8]) -> Self {
        let mut mem = vec![0u8; HEADROOM + frame.len()];
        mem[HEADROOM..].copy_from_slice(frame);
        Self {
            mem,
            start: HEADROOM,
            len: frame.len(),
        }
    }

    /// Runs `f` on a `FrameBuf` over this buffer and keeps where the frame ends up.
    fn with<R>(&mut self, f: impl FnOnce(&mut FrameBuf<'_>) -> R) -> R {
        let mut fb = FrameBuf::new(&mut self.mem, self.start, self.len).unwrap();
        let r = f(&mut fb);
        self.start = fb.offset();
        self.len = fb.len();
        r
    }

    fn bytes(&self) -> &[u8] {
        &self.mem[self.start..self.start + self.len]
    }
}

fn from_port(sw: &mut Switch<Tables>, port: PortId, buf: &mut Buf, ev: &mut Vec<Event>) -> Verdict {
    buf.with(|f| sw.from_port(port, f, ev))
}

fn from_wire(sw: &mut Switch<Tables>, buf: &mut Buf, ev: &mut Vec<Event>) -> Verdict {
    buf.with(|f| sw.from_wire(f, ev))
}

/// Each frame in its own buffer behind `HEADROOM` bytes (for batches of `FrameBuf`s).
fn with_headroom(frames: &[Vec<u8>]) -> Vec<Vec<u8>> {
    frames
        .iter()
        .map(|f| {
            let mut m = vec![0u8; HEADROOM + f.len()];
            m[HEADROOM..].copy_from_slice(f);
            m
        })
        .collect()
}

/// A `FrameBuf` over each buffer of [`with_headroom`], holding its frame.
fn frame_bufs(mems: &mut [Vec<u8>]) -> Vec<FrameBuf<'_>> {
    mems.iter_mut()
        .map(|m| {
            let len = m.len() - HEADROOM;
            FrameBuf::new(m, HEADROOM, len).unwrap()
        })
        .collect()
}

/// An ARP request "who has `target`? tell `sender_ip`" from `src`, broadcast, 60 bytes.
fn arp_request(src: MacAddr, sender_ip: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    arp(
        ArpOperation::REQUEST,
        src,
        MacAddr::BROADCAST,
        sender_ip,
        MacAddr([0; 6]),
        target,
    )
}

fn arp(
    op: ArpOperation,
    src: MacAddr,
    dst: MacAddr,
    sender_ip: Ipv4Addr,
    target_mac: MacAddr,
    target_ip: Ipv4Addr,
) -> Vec<u8> {
    let mut f = Ethernet2Header {
        source: src.0,
        destination: dst.0,
        ether_type: EpEtherType::ARP,
    }
    .to_bytes()
    .to_vec();
    let a = ArpPacket::new(
        ArpHardwareId::ETHERNET,
        EpEtherType::IPV4,
        op,
        &src.0,
        &sender_ip.octets(),
        &target_mac.0,
        &target_ip.octets(),
    )
    .unwrap();
    f.extend_from_slice(&a.to_bytes());
    f.resize(60, 0);
    f
}

/// Contoso2's ARP reply to Contoso1: "10.0.0.7 is at Contoso2's MAC" (fig. 1-10).
fn contoso2_answers_contoso1() -> Vec<u8> {
    arp(
        ArpOperation::REPLY,
        CONTOSO2,
        CONTOSO1,
        ip("10.0.0.7"),
        CONTOSO1,
        ip("10.0.0.5"),
    )
}

/// A provider-network ARP reply to HostA's uplink: PA `pa` is at `mac`.
fn neighbour_reply(pa: &str, mac: MacAddr) -> Vec<u8> {
    arp(
        ArpOperation::REPLY,
        mac,
        UPLINK_A,
        ip(pa),
        UPLINK_A,
        ip("192.168.4.11"),
    )
}

/// An Ethernet/IPv4/UDP frame.
fn udp(
    src_mac: MacAddr,
    dst_mac: MacAddr,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    payload: &[u8],
) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(src_mac.0, dst_mac.0)
        .ipv4(src.octets(), dst.octets(), 64)
        .udp(40000, 7);
    let mut out = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut out, payload).unwrap();
    out
}

/// (op, sender MAC, sender IP, target MAC, target IP) of an ARP frame, read by etherparse.
fn read_arp(frame: &[u8]) -> (ArpOperation, MacAddr, Ipv4Addr, MacAddr, Ipv4Addr) {
    let s = SlicedPacket::from_ethernet(frame).unwrap();
    let Some(etherparse::NetSlice::Arp(a)) = s.net else {
        panic!("not ARP: {frame:02x?}");
    };
    let mac = |b: &[u8]| MacAddr(b.try_into().unwrap());
    let v4 = |b: &[u8]| Ipv4Addr::from(<[u8; 4]>::try_from(b).unwrap());
    (
        a.operation(),
        mac(a.sender_hw_addr()),
        v4(a.sender_protocol_addr()),
        mac(a.target_hw_addr()),
        v4(a.target_protocol_addr()),
    )
}

fn eth_addrs(frame: &[u8]) -> (MacAddr, MacAddr) {
    (
        MacAddr(frame[0..6].try_into().unwrap()),
        MacAddr(frame[6..12].try_into().unwrap()),
    )
}

/// Checks an NVGRE frame with etherparse: outer MACs, PAs, protocol 47, a valid header
/// checksum, and the GRE header; returns (VSID, inner frame).
fn read_nvgre(frame: &[u8], macs: (MacAddr, MacAddr), pas: (&str, &str)) -> (u32, Vec<u8>) {
    let s = SlicedPacket::from_ethernet(frame).unwrap();
    let Some(etherparse::LinkSlice::Ethernet2(eth)) = s.link else {
        panic!("no Ethernet");
    };
    assert_eq!((MacAddr(eth.destination()), MacAddr(eth.source())), macs);
    let Some(etherparse::NetSlice::Ipv4(v4)) = s.net else {
        panic!("outer is not IPv4");
    };
    let h = v4.header().to_header();
    assert_eq!(h.source, ip(pas.0).octets());
    assert_eq!(h.destination, ip(pas.1).octets());
    assert_eq!(h.protocol, etherparse::IpNumber::GRE);
    assert_eq!(h.header_checksum, h.calc_header_checksum());
    assert!(h.dont_fragment);
    let gre = v4.payload().payload;
    assert_eq!(
        gre[..4],
        [0x20, 0x00, 0x65, 0x58],
        "GRE flags/version/protocol"
    );
    let key = u32::from_be_bytes(gre[4..8].try_into().unwrap());
    (key >> 8, gre[8..].to_vec())
}

// ---- figure 1-7 ---------------------------------------------------------------------------

#[test]
fn fig_1_7_same_vsid_same_host_is_switched_locally() {
    let (mut a, _) = hosts(SEED);
    let mut ev = Vec::new();
    // ARP for Contoso3 (10.0.0.6, same host): flooded to the VSID's other local ports only.
    let req = arp_request(CONTOSO1, ip("10.0.0.5"), ip("10.0.0.6"));
    let mut f = Buf::new(&req);
    let v = from_port(&mut a, A_CONTOSO1, &mut f, &mut ev);
    let Verdict::Flood(flood) = v else {
        panic!("{v:?}")
    };
    assert_eq!(
        flood,
        Flood {
            vsid: Vsid::new(5001).unwrap(),
            except: Some(A_CONTOSO1),
            remote: Remote::None
        }
    );
    assert_eq!(a.flood_ports(&flood).collect::<Vec<_>>(), [A_CONTOSO3]);
    assert_eq!(a.flood_pas(&flood).count(), 0);
    assert_eq!(f.bytes(), &req[..], "flooded frame unchanged");

    // Contoso3 answers; the unicast reply goes straight to Contoso1's port.
    let reply = arp(
        ArpOperation::REPLY,
        CONTOSO3,
        CONTOSO1,
        ip("10.0.0.6"),
        CONTOSO1,
        ip("10.0.0.5"),
    );
    let mut f = Buf::new(&reply);
    assert_eq!(
        from_port(&mut a, A_CONTOSO3, &mut f, &mut ev),
        Verdict::ToPort(A_CONTOSO1)
    );

    // The IP packet: delivered to Contoso3 untouched, no encapsulation.
    let pkt = udp(
        CONTOSO1,
        CONTOSO3,
        ip("10.0.0.5"),
        ip("10.0.0.6"),
        b"fig 1-7",
    );
    let mut f = Buf::new(&pkt);
    assert_eq!(
        from_port(&mut a, A_CONTOSO1, &mut f, &mut ev),
        Verdict::ToPort(A_CONTOSO3)
    );
    assert_eq!(f.bytes(), &pkt[..]);
    assert!(ev.is_empty());
    assert_eq!(a.stats().port_tx[A_CONTOSO3.index()], 1);
    assert_eq!(a.stats().wire_tx, 0);
}

// ---- figure 1-8 ---------------------------------------------------------------------------

#[test]
fn fig_1_8_different_vsid_same_host_is_routed_by_the_filter() {
    let (mut a, _) = hosts(SEED);
    let mut ev = Vec::new();
    // ARP for the default gateway 10.0.0.1: answered with MAC_DFGW.
    let mut f = Buf::new(&arp_request(CONTOSO1, ip("10.0.0.5"), ip("10.0.0.1")));
    assert_eq!(
        from_port(&mut a, A_CONTOSO1, &mut f, &mut ev),
        Verdict::Reply
    );
    assert_eq!(eth_addrs(f.bytes()), (CONTOSO1, MAC_DFGW));
    assert_eq!(
        read_arp(f.bytes()),
        (
            ArpOperation::REPLY,
            MAC_DFGW,
            ip("10.0.0.1"),
            CONTOSO1,
            ip("10.0.0.5")
        )
    );

    // Routed to Contoso4 (10.0.1.6, VSID 6001, same host): destination MAC rewritten to
    // Contoso4's, source MAC to the gateway's; IP header and payload unchanged.
    let pkt = udp(
        CONTOSO1,
        MAC_DFGW,
        ip("10.0.0.5"),
        ip("10.0.1.6"),
        b"fig 1-8",
    );
    let mut f = Buf::new(&pkt);
    assert_eq!(
        from_port(&mut a, A_CONTOSO1, &mut f, &mut ev),
        Verdict::ToPort(A_CONTOSO4)
    );
    assert_eq!(eth_addrs(f.bytes()), (CONTOSO4, MAC_DFGW));
    assert_eq!(f.bytes()[12..], pkt[12..]);
    assert!(ev.is_empty());
}

#[test]
fn fig_1_8_drops_across_routing_domains_and_without_a_record() {
    let (mut a, _) = hosts(SEED);
    let mut ev = Vec::new();
    // Fabrikam1 (its own routing domain, overlapping CAs) tries to reach Contoso4's CA.
    let pkt = udp(FABRIKAM1, MAC_DFGW, ip("10.0.0.5"), ip("10.0.1.6"), b"x");
    let mut f = Buf::new(&pkt);
    assert_eq!(
        from_port(&mut a, A_FABRIKAM1, &mut f, &mut ev),
        Verdict::Drop(DropReason::NoRoute)
    );
    assert_eq!(f.bytes(), &pkt[..], "a dropped frame is not changed");
    // A CA inside Contoso's 6001 prefix that has no lookup record: dropped, and a miss.
    let mut f = Buf::new(&udp(
        CONTOSO1,
        MAC_DFGW,
        ip("10.0.0.5"),
        ip("10.0.1.99"),
        b"x",
    ));
    assert_eq!(
        from_port(&mut a, A_CONTOSO1, &mut f, &mut ev),
        Verdict::Drop(DropReason::NoLookupRecord)
    );
    assert_eq!(
        ev,
        [Event::Miss {
            vsid: Vsid::new(6001).unwrap(),
            ca: IpAddr::V4(ip("10.0.1.99"))
        }]
    );
    assert_eq!(a.stats().dropped(DropReason::NoRoute), 1);
    assert_eq!(a.stats().dropped(DropReason::NoLookupRecord), 1);
}

// ---- figure 1-9 ---------------------------------------------------------------------------

#[test]
fn fig_1_9_same_vsid_other_host_static_records() {
    let (mut a, mut b) = hosts(SEED);
    let mut ev = Vec::new();
    // ARP for Contoso2 answered by HostA's filter on Contoso2's behalf; nothing on the wire.
    let mut f = Buf::new(&arp_request(CONTOSO1, ip("10.0.0.5"), ip("10.0.0.7")));
    assert_eq!(
        from_port(&mut a, A_CONTOSO1, &mut f, &mut ev),
        Verdict::Reply
    );
    assert_eq!(
        read_arp(f.bytes()),
        (
            ArpOperation::REPLY,
            CONTOSO2,
            ip("10.0.0.7"),
            CONTOSO1,
            ip("10.0.0.5")
        )
    );
    assert_eq!(eth_addrs(f.bytes()), (CONTOSO1, CONTOSO2));
    assert_eq!(a.stats().wire_tx, 0, "the ARP never reaches the wire");

    // The IP packet is encapsulated to the record's PA with VSID 5001.
    let pkt = udp(
        CONTOSO1,
        CONTOSO2,
        ip("10.0.0.5"),
        ip("10.0.0.7"),
        b"fig 1-9",
    );
    let mut f = Buf::new(&pkt);
    assert_eq!(
        from_port(&mut a, A_CONTOSO1, &mut f, &mut ev),
        Verdict::ToWire
    );
    let (vsid, inner) = read_nvgre(
        f.bytes(),
        (UPLINK_B, UPLINK_A),
        ("192.168.4.11", "192.168.4.22"),
    );
    assert_eq!((vsid, &inner[..]), (5001, &pkt[..]));

    // HostB decapsulates, checks the VSID and delivers the original frame to Contoso2.
    assert_eq!(
        from_wire(&mut b, &mut f, &mut ev),
        Verdict::ToPort(B_CONTOSO2)
    );
    assert_eq!(f.bytes(), &pkt[..]);
    assert!(ev.is_empty());
}

// ---- figure 1-10 --------------------------------------------------------------------------

/// The seed policy with Contoso2's record turned into an L2Only record (CA 0.0.0.0).
fn learning_policy() -> String {
    let mut v: serde_json::Value = serde_json::from_str(SEED).unwrap();
    let recs = v["LookupRecords"].as_array_mut().unwrap();
    let c2 = recs.iter_mut().find(|r| r["VMName"] == "Contoso2").unwrap();
    c2["CustomerAddress"] = "0.0.0.0".into();
    c2["Type"] = "L2Only".into();
    v.to_string()
}

#[test]
#[allow(clippy::too_many_lines)] // one function per figure: the steps read in order
fn fig_1_10_dynamic_learning_with_l2only_records() {
    let (mut a, mut b) = hosts(&learning_policy());
    let v5001 = Vsid::new(5001).unwrap();
    let mut ev = Vec::new();

    // 1-4. Contoso1 ARPs for 10.0.0.7: no record, so a unicast copy to each L2Only PA.
    let req = arp_request(CONTOSO1, ip("10.0.0.5"), ip("10.0.0.7"));
    let mut f = Buf::new(&req);
    let Verdict::Flood(flood) = from_port(&mut a, A_CONTOSO1, &mut f, &mut ev) else {
        panic!("expected a flood")
    };
    assert_eq!(flood.remote, Remote::L2Only);
    assert_eq!(a.flood_ports(&flood).collect::<Vec<_>>(), [A_CONTOSO3]);
    let pas: Vec<_> = a.flood_pas(&flood).collect();
    assert_eq!(pas, [IpAddr::V4(ip("192.168.4.22"))]);
    // 5-6. The copy is encapsulated with VSID 5001.
    let mut copy = Buf::new(&req);
    assert_eq!(
        copy.with(|c| a.encap_copy(c, v5001, CONTOSO1, pas[0], &mut ev)),
        Verdict::ToWire
    );
    let (vsid, inner) = read_nvgre(
        copy.bytes(),
        (UPLINK_B, UPLINK_A),
        ("192.168.4.11", "192.168.4.22"),
    );
    assert_eq!((vsid, &inner[..]), (5001, &req[..]));

    // 8-11. HostB decapsulates and floods the ARP to its ports on 5001 (Contoso2).
    let Verdict::Flood(at_b) = from_wire(&mut b, &mut copy, &mut ev) else {
        panic!("expected a local flood on HostB")
    };
    assert_eq!(b.flood_ports(&at_b).collect::<Vec<_>>(), [B_CONTOSO2]);
    assert_eq!(b.flood_pas(&at_b).count(), 0);
    assert_eq!(copy.bytes(), &req[..]);
    assert!(
        ev.is_empty(),
        "Contoso1 has a static record: nothing learned"
    );

    // 12-16. Contoso2 replies; HostB learns 10.0.0.7 at its own PA and tells the control
    // plane, then encapsulates the reply towards Contoso1's PA.
    let reply = contoso2_answers_contoso1();
    let mut f = Buf::new(&reply);
    assert_eq!(
        from_port(&mut b, B_CONTOSO2, &mut f, &mut ev),
        Verdict::ToWire
    );
    let learned_b = match ev.as_slice() {
        [Event::Learned(r)] => *r,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        (
            learned_b.ca,
            learned_b.mac,
            learned_b.pa,
            learned_b.record_type
        ),
        (
            IpAddr::V4(ip("10.0.0.7")),
            CONTOSO2,
            IpAddr::V4(ip("192.168.4.22")),
            RecordType::Dynamic
        )
    );
    let (vsid, inner) = read_nvgre(
        f.bytes(),
        (UPLINK_A, UPLINK_B),
        ("192.168.4.22", "192.168.4.11"),
    );
    assert_eq!((vsid, &inner[..]), (5001, &reply[..]));

    // 17-21. HostA decapsulates, learns the same record from the ARP, delivers to Contoso1.
    ev.clear();
    assert_eq!(
        from_wire(&mut a, &mut f, &mut ev),
        Verdict::ToPort(A_CONTOSO1)
    );
    assert_eq!(f.bytes(), &reply[..]);
    assert_eq!(ev, [Event::Learned(learned_b)]);
    assert_eq!(a.learned().copied().collect::<Vec<_>>(), [learned_b]);

    // 22-. The next IP packet follows fig. 1-9, and a new ARP is answered by the filter.
    ev.clear();
    let pkt = udp(
        CONTOSO1,
        CONTOSO2,
        ip("10.0.0.5"),
        ip("10.0.0.7"),
        b"fig 1-10",
    );
    let mut f = Buf::new(&pkt);
    assert_eq!(
        from_port(&mut a, A_CONTOSO1, &mut f, &mut ev),
        Verdict::ToWire
    );
    let (vsid, inner) = read_nvgre(
        f.bytes(),
        (UPLINK_B, UPLINK_A),
        ("192.168.4.11", "192.168.4.22"),
    );
    assert_eq!((vsid, &inner[..]), (5001, &pkt[..]));
    assert_eq!(
        from_wire(&mut b, &mut f, &mut ev),
        Verdict::ToPort(B_CONTOSO2)
    );
    assert_eq!(f.bytes(), &pkt[..]);
    let mut f = Buf::new(&req);
    assert_eq!(
        from_port(&mut a, A_CONTOSO1, &mut f, &mut ev),
        Verdict::Reply
    );
    assert_eq!(read_arp(f.bytes()).1, CONTOSO2);
    assert!(ev.is_empty());
}

// ---- figure 1-11 --------------------------------------------------------------------------

#[test]
fn fig_1_11_different_vsids_other_host_routed_then_encapsulated() {
    let (mut a, mut b) = hosts(SEED);
    let mut ev = Vec::new();
    let pkt = udp(
        CONTOSO1,
        MAC_DFGW,
        ip("10.0.0.5"),
        ip("10.0.1.7"),
        b"fig 1-11",
    );
    let mut f = Buf::new(&pkt);
    assert_eq!(
        from_port(&mut a, A_CONTOSO1, &mut f, &mut ev),
        Verdict::ToWire
    );
    // The key carries the destination VSID; the inner MACs are the router's.
    let (vsid, inner) = read_nvgre(
        f.bytes(),
        (UPLINK_B, UPLINK_A),
        ("192.168.4.11", "192.168.4.22"),
    );
    assert_eq!(vsid, 6001);
    assert_eq!(eth_addrs(&inner), (CONTOSO5, MAC_DFGW));
    assert_eq!(inner[12..], pkt[12..]);
    assert_eq!(
        from_wire(&mut b, &mut f, &mut ev),
        Verdict::ToPort(B_CONTOSO5)
    );
    assert_eq!(f.bytes(), &inner[..]);
    assert!(ev.is_empty());
}

// ---- isolation and anti-spoofing --------------------------------------------------------

#[test]
fn ports_cannot_spoof_macs_or_cas() {
    let (mut a, _) = hosts(SEED);
    let mut ev = Vec::new();
    // Contoso1's port sending as Contoso3.
    let mut f = Buf::new(&udp(
        CONTOSO3,
        CONTOSO2,
        ip("10.0.0.6"),
        ip("10.0.0.7"),
        b"x",
    ));
    assert_eq!(
        from_port(&mut a, A_CONTOSO1, &mut f, &mut ev),
        Verdict::Drop(DropReason::SpoofedSourceMac)
    );
    // Its own MAC but Contoso3's CA.
    let mut f = Buf::new(&udp(
        CONTOSO1,
        CONTOSO2,
        ip("10.0.0.6"),
        ip("10.0.0.7"),
        b"x",
    ));
    assert_eq!(
        from_port(&mut a, A_CONTOSO1, &mut f, &mut ev),
        Verdict::Drop(DropReason::SpoofedSourceCa)
    );
    // ARP claiming Contoso3's CA.
    let mut f = Buf::new(&arp_request(CONTOSO1, ip("10.0.0.6"), ip("10.0.0.7")));
    assert_eq!(
        from_port(&mut a, A_CONTOSO1, &mut f, &mut ev),
        Verdict::Drop(DropReason::SpoofedSourceCa)
    );
    // A port the host does not have.
    let mut f = Buf::new(&udp(
        CONTOSO1,
        CONTOSO2,
        ip("10.0.0.5"),
        ip("10.0.0.7"),
        b"x",
    ));
    assert_eq!(
        from_port(&mut a, PortId(9), &mut f, &mut ev),
        Verdict::Drop(DropReason::UnknownPort)
    );
    assert_eq!(a.stats().wire_tx, 0);
    assert_eq!(a.stats().total_drops(), 4);
}

#[test]
fn wire_frames_reach_only_local_ports_of_their_vsid() {
    let (mut a, mut b) = hosts(SEED);
    let mut ev = Vec::new();
    let pkt = udp(CONTOSO1, CONTOSO2, ip("10.0.0.5"), ip("10.0.0.7"), b"x");
    let mut wire = Buf::new(&pkt);
    assert_eq!(
        from_port(&mut a, A_CONTOSO1, &mut wire, &mut ev),
        Verdict::ToWire
    );
    let nvgre = wire.bytes().to_vec();

    // Sent to HostA instead (not its PA): refused.
    let mut f = Buf::new(&nvgre);
    assert_eq!(
        from_wire(&mut a, &mut f, &mut ev),
        Verdict::Drop(DropReason::NotOurPa)
    );

    // The same inner frame with the key's VSID changed to 6001 (Contoso5's subnet): no
    // port on 6001 has Contoso2's MAC.
    let mut moved = nvgre.clone();
    moved[38..41].copy_from_slice(&6001u32.to_be_bytes()[1..]);
    let mut f = Buf::new(&moved);
    assert_eq!(
        from_wire(&mut b, &mut f, &mut ev),
        Verdict::Drop(DropReason::NoLocalPort)
    );

    // A VSID HostB has no port on.
    let mut alien = nvgre.clone();
    alien[38..41].copy_from_slice(&9999u32.to_be_bytes()[1..]);
    let mut f = Buf::new(&alien);
    assert_eq!(
        from_wire(&mut b, &mut f, &mut ev),
        Verdict::Drop(DropReason::UnknownVsid)
    );

    // A framing error is the decap's reason.
    let mut bad = nvgre.clone();
    bad[34] |= 0x80; // GRE C bit
    let mut f = Buf::new(&bad);
    assert_eq!(
        from_wire(&mut b, &mut f, &mut ev),
        Verdict::Drop(DropReason::GreChecksumPresent)
    );
    assert_eq!(f.bytes(), &bad[..]);
    assert_eq!(b.stats().total_drops(), 3);
}

#[test]
fn arp_for_an_own_pa_is_answered_on_the_uplink() {
    let (_, mut b) = hosts(SEED);
    let mut ev = Vec::new();
    let router = MacAddr([0x02, 0, 0, 0, 0, 0xfe]);
    let mut f = Buf::new(&arp_request(router, ip("192.168.4.1"), ip("192.168.4.22")));
    assert_eq!(from_wire(&mut b, &mut f, &mut ev), Verdict::Reply);
    assert_eq!(
        read_arp(f.bytes()),
        (
            ArpOperation::REPLY,
            UPLINK_B,
            ip("192.168.4.22"),
            router,
            ip("192.168.4.1")
        )
    );
    // Not an own PA: not answered.
    let mut f = Buf::new(&arp_request(router, ip("192.168.4.1"), ip("192.168.4.11")));
    assert_eq!(
        from_wire(&mut b, &mut f, &mut ev),
        Verdict::Drop(DropReason::NotForHost)
    );
}

#[test]
fn batch_gives_each_frame_its_verdict() {
    let (mut a, _) = hosts(SEED);
    let frames = [
        udp(CONTOSO1, CONTOSO3, ip("10.0.0.5"), ip("10.0.0.6"), b"1"),
        udp(CONTOSO1, CONTOSO2, ip("10.0.0.5"), ip("10.0.0.7"), b"2"),
        udp(CONTOSO3, CONTOSO2, ip("10.0.0.6"), ip("10.0.0.7"), b"3"),
    ];
    let mut mems = with_headroom(&frames);
    let mut bufs = frame_bufs(&mut mems);
    let mut verdicts = [Verdict::Consumed; 3];
    a.from_port_batch(A_CONTOSO1, &mut bufs, &mut verdicts, &mut ());
    assert_eq!(
        verdicts,
        [
            Verdict::ToPort(A_CONTOSO3),
            Verdict::ToWire,
            Verdict::Drop(DropReason::SpoofedSourceMac)
        ]
    );
    assert_eq!(bufs[0].data(), &frames[0][..]);
    assert_eq!(bufs[1].len(), frames[1].len() + 42);
}

// ---- IP rewrite (TranslationMethodNat) ----------------------------------------------------

const FABRIKAM2: MacAddr = MacAddr([0x00, 0x15, 0x5d, 0, 0x01, 0x02]);
const B_FABRIKAM2: PortId = PortId(2);

/// Checks with etherparse that every checksum of an Ethernet/IPv4 frame is right and
/// returns (src, dst) of the IP header.
fn checked_ipv4(frame: &[u8]) -> (Ipv4Addr, Ipv4Addr) {
    let s = SlicedPacket::from_ethernet(frame).unwrap();
    let Some(etherparse::NetSlice::Ipv4(v4)) = &s.net else {
        panic!("not IPv4");
    };
    let h = v4.header().to_header();
    assert_eq!(
        h.header_checksum,
        h.calc_header_checksum(),
        "IPv4 header checksum"
    );
    match &s.transport {
        Some(etherparse::TransportSlice::Udp(u)) => {
            let want = u.to_header().calc_checksum_ipv4(&h, u.payload()).unwrap();
            assert_eq!(u.checksum(), want, "UDP checksum");
        }
        Some(etherparse::TransportSlice::Tcp(t)) => {
            let want = t.to_header().calc_checksum_ipv4(&h, t.payload()).unwrap();
            assert_eq!(t.checksum(), want, "TCP checksum");
        }
        Some(etherparse::TransportSlice::Icmpv4(i)) => {
            let want = i.header().icmp_type.calc_checksum(i.payload());
            assert_eq!(i.checksum(), want, "ICMP checksum");
        }
        other => panic!("unexpected transport {other:?}"),
    }
    (Ipv4Addr::from(h.source), Ipv4Addr::from(h.destination))
}

fn fabrikam_frames() -> Vec<Vec<u8>> {
    let (s, d) = (ip("10.0.0.5").octets(), ip("10.0.0.7").octets());
    let mut out = vec![udp(
        FABRIKAM1,
        FABRIKAM2,
        ip("10.0.0.5"),
        ip("10.0.0.7"),
        b"rewrite me",
    )];
    let tcp = PacketBuilder::ethernet2(FABRIKAM1.0, FABRIKAM2.0)
        .ipv4(s, d, 64)
        .tcp(40001, 80, 0x1234_5678, 4096)
        .syn();
    let mut f = Vec::new();
    tcp.write(&mut f, b"").unwrap();
    out.push(f);
    let icmp = PacketBuilder::ethernet2(FABRIKAM1.0, FABRIKAM2.0)
        .ipv4(s, d, 64)
        .icmpv4_echo_request(7, 1);
    let mut f = Vec::new();
    icmp.write(&mut f, b"ping").unwrap();
    out.push(f);
    out
}

#[test]
fn ip_rewrite_egress_and_ingress_udp_tcp_icmp() {
    let (mut a, mut b) = hosts(SEED);
    let mut ev = Vec::new();
    for pkt in fabrikam_frames() {
        let mut f = Buf::new(&pkt);
        assert_eq!(
            from_port(&mut a, A_FABRIKAM1, &mut f, &mut ev),
            Verdict::ToWire
        );
        // On the wire: PAs instead of CAs, no GRE, provider MACs, checksums right.
        assert_eq!(f.bytes().len(), pkt.len(), "no encapsulation");
        assert_eq!(eth_addrs(f.bytes()), (UPLINK_B, UPLINK_A));
        assert_eq!(
            checked_ipv4(f.bytes()),
            (ip("192.168.4.51"), ip("192.168.4.52"))
        );
        // HostB rewrites back and delivers to Fabrikam2 from the gateway MAC.
        assert_eq!(
            from_wire(&mut b, &mut f, &mut ev),
            Verdict::ToPort(B_FABRIKAM2)
        );
        assert_eq!(eth_addrs(f.bytes()), (FABRIKAM2, MAC_DFGW));
        assert_eq!(checked_ipv4(f.bytes()), (ip("10.0.0.5"), ip("10.0.0.7")));
        assert_eq!(
            f.bytes()[14..],
            pkt[14..],
            "the IP packet is restored exactly"
        );
    }
    assert!(ev.is_empty());
}

#[test]
fn ip_rewrite_ingress_requires_a_nat_sender_in_the_same_routing_domain() {
    let (_, mut b) = hosts(SEED);
    let mut ev = Vec::new();
    // From Contoso's PA (an Encap record, another routing domain) to Fabrikam2's PA.
    let forged = udp(
        UPLINK_A,
        UPLINK_B,
        ip("192.168.4.11"),
        ip("192.168.4.52"),
        b"x",
    );
    let mut f = Buf::new(&forged);
    assert_eq!(
        from_wire(&mut b, &mut f, &mut ev),
        Verdict::Drop(DropReason::NoLookupRecord)
    );
    assert_eq!(f.bytes(), &forged[..]);
    // To a PA that is not a Nat PA of this host: not for us.
    let mut f = Buf::new(&udp(
        UPLINK_A,
        UPLINK_B,
        ip("192.168.4.51"),
        ip("192.168.4.22"),
        b"x",
    ));
    assert_eq!(
        from_wire(&mut b, &mut f, &mut ev),
        Verdict::Drop(DropReason::NotGre)
    );
}

// ---- MTU and the provider side ------------------------------------------------------------

/// A UDP frame of `payload` bytes from Contoso1 to Contoso2, DF set or not.
fn big_udp(payload: usize, df: bool) -> Vec<u8> {
    let mut f = udp(
        CONTOSO1,
        CONTOSO2,
        ip("10.0.0.5"),
        ip("10.0.0.7"),
        &vec![0xab; payload],
    );
    f[20] = if df { 0x40 } else { 0 };
    f[24..26].copy_from_slice(&[0, 0]);
    let c = hnv_core::wire::checksum::of(&f[14..34]);
    f[24..26].copy_from_slice(&c.to_be_bytes());
    f
}

#[test]
fn too_big_for_the_uplink_gets_fragmentation_needed_from_the_gateway() {
    let (mut a, _) = hosts(SEED);
    let mut ev = Vec::new();
    // 1472-byte frames fit: 1472 - 14 + 42 = 1500 bytes of outer IPv4.
    let mut f = Buf::new(&big_udp(1472 - 42, true));
    assert_eq!(
        from_port(&mut a, A_CONTOSO1, &mut f, &mut ev),
        Verdict::ToWire
    );
    assert_eq!(f.bytes().len() - 14, 1500);

    let pkt = big_udp(1473 - 42, true);
    let mut f = Buf::new(&pkt);
    assert_eq!(
        from_port(&mut a, A_CONTOSO1, &mut f, &mut ev),
        Verdict::Reply
    );
    let s = SlicedPacket::from_ethernet(f.bytes()).unwrap();
    assert_eq!(eth_addrs(f.bytes()), (CONTOSO1, MAC_DFGW));
    let Some(etherparse::NetSlice::Ipv4(v4)) = &s.net else {
        panic!()
    };
    let h = v4.header().to_header();
    assert_eq!(
        (h.source, h.destination),
        (ip("10.0.0.1").octets(), ip("10.0.0.5").octets())
    );
    assert_eq!(h.header_checksum, h.calc_header_checksum());
    assert_eq!(
        usize::from(h.total_len),
        576,
        "RFC 1812: the error fits 576 bytes"
    );
    let Some(etherparse::TransportSlice::Icmpv4(icmp)) = &s.transport else {
        panic!()
    };
    assert_eq!(
        icmp.icmp_type(),
        etherparse::Icmpv4Type::DestinationUnreachable(
            etherparse::icmpv4::DestUnreachableHeader::FragmentationNeeded { next_hop_mtu: 1458 }
        )
    );
    assert_eq!(
        icmp.checksum(),
        icmp.icmp_type().calc_checksum(icmp.payload())
    );
    assert_eq!(
        icmp.payload(),
        &pkt[14..14 + 548],
        "quotes the start of the packet"
    );

    // Without DF the packet cannot be fragmented by NVGRE either: dropped, counted.
    let mut f = Buf::new(&big_udp(1473 - 42, false));
    assert_eq!(
        from_port(&mut a, A_CONTOSO1, &mut f, &mut ev),
        Verdict::Drop(DropReason::MtuExceeded)
    );
    assert_eq!(a.stats().replies, 1);
}

#[test]
fn ping_to_an_own_pa_is_answered() {
    let (_, mut b) = hosts(SEED);
    let mut ev = Vec::new();
    let router = MacAddr([0x02, 0, 0, 0, 0, 0xfe]);
    let req = PacketBuilder::ethernet2(router.0, UPLINK_B.0)
        .ipv4(ip("192.168.4.1").octets(), ip("192.168.4.22").octets(), 60)
        .icmpv4_echo_request(0x77, 3);
    let mut frame = Vec::new();
    req.write(&mut frame, b"ping -p").unwrap();
    let mut f = Buf::new(&frame);
    assert_eq!(from_wire(&mut b, &mut f, &mut ev), Verdict::Reply);
    assert_eq!(eth_addrs(f.bytes()), (router, UPLINK_B));
    assert_eq!(
        checked_ipv4(f.bytes()),
        (ip("192.168.4.22"), ip("192.168.4.1"))
    );
    let s = SlicedPacket::from_ethernet(f.bytes()).unwrap();
    let Some(etherparse::TransportSlice::Icmpv4(icmp)) = &s.transport else {
        panic!()
    };
    assert_eq!(
        icmp.icmp_type(),
        etherparse::Icmpv4Type::EchoReply(etherparse::IcmpEchoHeader { id: 0x77, seq: 3 })
    );
    assert_eq!(icmp.payload(), b"ping -p");
    // To another host's PA: not answered.
    let mut frame = Vec::new();
    PacketBuilder::ethernet2(router.0, UPLINK_B.0)
        .ipv4(ip("192.168.4.1").octets(), ip("192.168.4.11").octets(), 60)
        .icmpv4_echo_request(1, 1)
        .write(&mut frame, b"x")
        .unwrap();
    let mut f = Buf::new(&frame);
    assert_eq!(
        from_wire(&mut b, &mut f, &mut ev),
        Verdict::Drop(DropReason::NotGre)
    );
}

// ---- IPv6: neighbour discovery across hosts -------------------------------------------------

const V6A: MacAddr = MacAddr([0x00, 0x15, 0x5d, 0, 0x02, 0x01]);
const V6B: MacAddr = MacAddr([0x00, 0x15, 0x5d, 0, 0x02, 0x02]);
const V6A_PORT: PortId = PortId(4);
const V6B_PORT: PortId = PortId(3);

fn v6(last: u16) -> std::net::Ipv6Addr {
    std::net::Ipv6Addr::new(0xfd00, 0x8001, 0, 0, 0, 0, 0, last)
}

/// The seed policy plus an IPv6 routing domain: VSID 8001, fd00:8001::/64, one VM on each
/// host (::5 on HostA, ::7 on HostB).
fn ipv6_policy() -> String {
    let mut v: serde_json::Value = serde_json::from_str(SEED).unwrap();
    v["CustomerRoutes"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "RoutingDomainID": "{33333333-2222-3333-4444-000000000000}",
            "VirtualSubnetID": 8001, "DestinationPrefix": "fd00:8001::/64",
            "NextHop": "::", "Metric": 0
        }));
    for (ca, mac, pa, name) in [
        ("fd00:8001::5", "00-15-5D-00-02-01", "192.168.4.11", "V6A"),
        ("fd00:8001::7", "00-15-5D-00-02-02", "192.168.4.22", "V6B"),
    ] {
        v["LookupRecords"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({
                "CustomerAddress": ca, "VirtualSubnetID": 8001, "MACAddress": mac,
                "ProviderAddress": pa, "Rule": "TranslationMethodEncap", "Type": "Static",
                "VMName": name, "CustomerID": "", "Context": "", "UseVmMACAddress": false
            }));
    }
    for (host, mac, name) in [
        (0, "00-15-5D-00-02-01", "V6A"),
        (1, "00-15-5D-00-02-02", "V6B"),
    ] {
        v["Hosts"][host]["Ports"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({
                "Name": name, "MACAddress": mac, "VirtualSubnetID": 8001, "Interface": name
            }));
    }
    v.to_string()
}

/// A neighbour solicitation for `target` from `src` (`::` for DAD) with a source
/// link-layer option unless DAD, to the solicited-node multicast group.
fn solicit(mac: MacAddr, src: std::net::Ipv6Addr, target: std::net::Ipv6Addr) -> Vec<u8> {
    let t = target.octets();
    let group = [
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(t[13]),
        u16::from_be_bytes([t[14], t[15]]),
    ];
    let group = std::net::Ipv6Addr::from(group);
    let g = group.octets();
    let mut body = vec![0u8; 4];
    body.extend_from_slice(&t);
    if !src.is_unspecified() {
        body.extend_from_slice(&[1, 1]);
        body.extend_from_slice(&mac.0);
    }
    let b = PacketBuilder::ethernet2(mac.0, [0x33, 0x33, 0xff, g[13], g[14], g[15]])
        .ipv6(src.octets(), g, 255)
        .icmpv6(etherparse::Icmpv6Type::Unknown {
            type_u8: 135,
            code_u8: 0,
            bytes5to8: [0; 4],
        });
    let mut f = Vec::new();
    b.write(&mut f, &body[4..]).unwrap();
    f
}

/// (IPv6 src, dst, ICMPv6 type, flags byte, target, option bytes) of an advertisement,
/// with the ICMPv6 checksum checked by etherparse.
fn read_na(
    frame: &[u8],
) -> (
    std::net::Ipv6Addr,
    std::net::Ipv6Addr,
    u8,
    u8,
    std::net::Ipv6Addr,
    Vec<u8>,
) {
    let s = SlicedPacket::from_ethernet(frame).unwrap();
    let Some(etherparse::NetSlice::Ipv6(ip)) = &s.net else {
        panic!()
    };
    let (src, dst) = (ip.header().source(), ip.header().destination());
    assert_eq!(ip.header().hop_limit(), 255);
    let Some(etherparse::TransportSlice::Icmpv6(icmp)) = &s.transport else {
        panic!()
    };
    let want = icmp
        .icmp_type()
        .calc_checksum(src, dst, icmp.payload())
        .unwrap();
    assert_eq!(icmp.checksum(), want, "ICMPv6 checksum");
    let raw = icmp.slice();
    let target = std::net::Ipv6Addr::from(<[u8; 16]>::try_from(&raw[8..24]).unwrap());
    (
        src.into(),
        dst.into(),
        raw[0],
        raw[4],
        target,
        raw[24..].to_vec(),
    )
}

#[test]
fn ipv6_neighbour_solicitations_are_answered_like_arp() {
    let (mut a, _) = hosts(&ipv6_policy());
    let mut ev = Vec::new();
    // For the remote VM: answered on its behalf (solicited + override, its MAC).
    let mut f = Buf::new(&solicit(V6A, v6(5), v6(7)));
    assert_eq!(from_port(&mut a, V6A_PORT, &mut f, &mut ev), Verdict::Reply);
    assert_eq!(eth_addrs(f.bytes()), (V6A, V6B));
    let (src, dst, t, flags, target, opt) = read_na(f.bytes());
    assert_eq!(
        (src, dst, t, flags, target),
        (v6(7), v6(5), 136, 0x60, v6(7))
    );
    assert_eq!(
        opt,
        [&[2u8, 1][..], &V6B.0[..]].concat(),
        "target link-layer option"
    );
    // For the gateway fd00:8001::1: the gateway MAC, router flag set.
    let mut f = Buf::new(&solicit(V6A, v6(5), v6(1)));
    assert_eq!(from_port(&mut a, V6A_PORT, &mut f, &mut ev), Verdict::Reply);
    let (src, _, _, flags, _, opt) = read_na(f.bytes());
    assert_eq!((src, flags), (v6(1), 0xe0));
    assert_eq!(opt[2..], MAC_DFGW.0);
    assert!(ev.is_empty());
}

#[test]
fn ipv6_dad_reaches_every_host_of_the_vsid_and_traffic_flows() {
    let (mut a, mut b) = hosts(&ipv6_policy());
    let v8001 = Vsid::new(8001).unwrap();
    let mut ev = Vec::new();
    // V6A probes its own address: flooded locally and to HostB.
    let dad = solicit(V6A, std::net::Ipv6Addr::UNSPECIFIED, v6(5));
    let mut f = Buf::new(&dad);
    let Verdict::Flood(flood) = from_port(&mut a, V6A_PORT, &mut f, &mut ev) else {
        panic!()
    };
    assert_eq!(flood.remote, Remote::Hosting);
    let pas: Vec<_> = a.flood_pas(&flood).collect();
    assert_eq!(pas, [IpAddr::V4(ip("192.168.4.22"))]);
    let mut copy = Buf::new(&dad);
    assert_eq!(
        copy.with(|c| a.encap_copy(c, v8001, V6A, pas[0], &mut ev)),
        Verdict::ToWire
    );
    let Verdict::Flood(at_b) = from_wire(&mut b, &mut copy, &mut ev) else {
        panic!()
    };
    assert_eq!(b.flood_ports(&at_b).collect::<Vec<_>>(), [V6B_PORT]);
    assert_eq!(copy.bytes(), &dad[..]);
    // Another VM claiming V6B's address is defended on V6B's behalf (NA to all-nodes).
    let mut f = Buf::new(&solicit(V6A, std::net::Ipv6Addr::UNSPECIFIED, v6(7)));
    assert_eq!(from_port(&mut a, V6A_PORT, &mut f, &mut ev), Verdict::Reply);
    let (src, dst, _, flags, _, _) = read_na(f.bytes());
    assert_eq!((src, dst, flags), (v6(7), "ff02::1".parse().unwrap(), 0x20));
    // Unicast UDP between them is encapsulated like IPv4.
    let mut pkt = Vec::new();
    PacketBuilder::ethernet2(V6A.0, V6B.0)
        .ipv6(v6(5).octets(), v6(7).octets(), 64)
        .udp(1, 2)
        .write(&mut pkt, b"v6")
        .unwrap();
    let mut f = Buf::new(&pkt);
    assert_eq!(
        from_port(&mut a, V6A_PORT, &mut f, &mut ev),
        Verdict::ToWire
    );
    let (vsid, inner) = read_nvgre(
        f.bytes(),
        (UPLINK_B, UPLINK_A),
        ("192.168.4.11", "192.168.4.22"),
    );
    assert_eq!((vsid, &inner[..]), (8001, &pkt[..]));
    assert_eq!(
        from_wire(&mut b, &mut f, &mut ev),
        Verdict::ToPort(V6B_PORT)
    );
    assert!(ev.is_empty());
}

// ---- gateways -------------------------------------------------------------------------------

const GATEWAY_VM: MacAddr = MacAddr([0x00, 0x15, 0x5d, 0, 0x09, 0x01]);

/// The seed policy plus a default route of Contoso's 5001 subnet via the gateway CA
/// 10.0.0.254, whose GatewayWildcard record lives at PA 192.168.4.100.
fn gateway_policy(neighbor: bool) -> String {
    let mut v: serde_json::Value = serde_json::from_str(SEED).unwrap();
    v["CustomerRoutes"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "RoutingDomainID": "{11111111-2222-3333-4444-000000000000}",
            "VirtualSubnetID": 5001, "DestinationPrefix": "0.0.0.0/0",
            "NextHop": "10.0.0.254", "Metric": 10
        }));
    v["LookupRecords"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "CustomerAddress": "0.0.0.0", "VirtualSubnetID": 5001,
            "MACAddress": "00-15-5D-00-09-01", "ProviderAddress": "192.168.4.100",
            "Rule": "TranslationMethodEncap", "Type": "GatewayWildcard",
            "VMName": "Gateway", "CustomerID": "", "Context": "", "UseVmMACAddress": false
        }));
    v["ProviderAddresses"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "ProviderAddress": "192.168.4.100", "InterfaceIndex": 2, "PrefixLength": 24, "VlanID": 0
        }));
    if neighbor {
        v["Hosts"][0]["Neighbors"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({
                "IPAddress": "192.168.4.100", "MACAddress": "02-00-00-00-64-01"
            }));
    }
    v.to_string()
}

#[test]
fn off_subnet_traffic_goes_to_the_gateway_wildcard_record() {
    let (mut a, _) = hosts(&gateway_policy(true));
    let mut ev = Vec::new();
    let gateway_host = MacAddr([0x02, 0, 0, 0, 0x64, 0x01]);
    let pkt = udp(
        CONTOSO1,
        MAC_DFGW,
        ip("10.0.0.5"),
        ip("203.0.113.9"),
        b"internet",
    );
    let mut f = Buf::new(&pkt);
    assert_eq!(
        from_port(&mut a, A_CONTOSO1, &mut f, &mut ev),
        Verdict::ToWire
    );
    // The gateway's PA is on the provider subnet: its neighbour entry gives the outer MAC.
    let (vsid, inner) = read_nvgre(
        f.bytes(),
        (gateway_host, UPLINK_A),
        ("192.168.4.11", "192.168.4.100"),
    );
    assert_eq!(vsid, 5001);
    assert_eq!(eth_addrs(&inner), (GATEWAY_VM, MAC_DFGW));
    assert_eq!(inner[12..], pkt[12..]);
    // On-subnet destinations still use their own records.
    let mut f = Buf::new(&udp(
        CONTOSO1,
        MAC_DFGW,
        ip("10.0.0.5"),
        ip("10.0.1.6"),
        b"x",
    ));
    assert_eq!(
        from_port(&mut a, A_CONTOSO1, &mut f, &mut ev),
        Verdict::ToPort(A_CONTOSO4)
    );
    assert!(ev.is_empty());
    // Without a neighbour entry for the gateway's PA: dropped, counted and reported.
    let (mut a, _) = hosts(&gateway_policy(false));
    let mut f = Buf::new(&pkt);
    assert_eq!(
        from_port(&mut a, A_CONTOSO1, &mut f, &mut ev),
        Verdict::Drop(DropReason::UnresolvedNeighbor)
    );
    assert_eq!(
        ev,
        [Event::UnresolvedNeighbor(IpAddr::V4(ip("192.168.4.100")))]
    );
    assert_eq!(a.stats().dropped(DropReason::UnresolvedNeighbor), 1);
}

// ---- trace and counters ---------------------------------------------------------------------

#[test]
fn trace_records_each_decision_step() {
    use hnv_core::policy::LookupTable;
    use hnv_core::switch::{Action, Step, Trace};
    let (mut a, mut b) = hosts(SEED);
    let pkt = udp(
        CONTOSO1,
        MAC_DFGW,
        ip("10.0.0.5"),
        ip("10.0.1.7"),
        b"traced",
    );
    let mut f = Buf::new(&pkt);
    let mut t = Trace::default();
    assert_eq!(
        f.with(|fb| a.from_port(A_CONTOSO1, fb, &mut t)),
        Verdict::ToWire
    );
    let v5001 = Vsid::new(5001).unwrap();
    let v6001 = Vsid::new(6001).unwrap();
    let pa_b = IpAddr::V4(ip("192.168.4.22"));
    match t.steps.as_slice() {
        [Step::Port { port, mac, vsid }, Step::RoutingDomain(rd), Step::Route(route), Step::Record(rec), Step::NextHop {
            pa,
            hop,
            mac: hop_mac,
        }, Step::Action(Action::Encap { params, route_to })] => {
            assert_eq!((*port, *mac, *vsid), (A_CONTOSO1, CONTOSO1, Some(v5001)));
            assert_eq!(*rd, a.tables().vsid(v5001).unwrap().rdid_index);
            assert_eq!(
                (route.vsid, route.prefix.to_string()),
                (v6001, "10.0.1.0/24".to_string())
            );
            assert_eq!(
                (rec.ca, rec.mac, rec.pa),
                (IpAddr::V4(ip("10.0.1.7")), CONTOSO5, pa_b)
            );
            assert_eq!((*pa, *hop, *hop_mac), (pa_b, pa_b, Some(UPLINK_B)));
            assert_eq!((params.vsid, *route_to), (v6001, Some(CONTOSO5)));
        }
        other => panic!("unexpected steps {other:#?}"),
    }
    assert!(t.events.is_empty());
    // The receiving side: the outer PAs and the key's VSID, then the delivery.
    let mut t = Trace::default();
    assert_eq!(
        f.with(|fb| b.from_wire(fb, &mut t)),
        Verdict::ToPort(B_CONTOSO5)
    );
    assert_eq!(
        t.steps.first(),
        Some(&Step::Wire {
            src_pa: IpAddr::V4(ip("192.168.4.11")),
            dst_pa: pa_b,
            vsid: v6001
        })
    );
    assert!(matches!(
        t.steps.last(),
        Some(Step::Action(Action::Decap { .. }))
    ));
}

#[test]
fn counters_per_vsid_port_and_reason() {
    let (mut a, mut b) = hosts(SEED);
    let mut ev = Vec::new();
    let v5001 = Vsid::new(5001).unwrap();
    for payload in [&b"1"[..], b"2", b"3"] {
        let mut f = Buf::new(&udp(
            CONTOSO1,
            CONTOSO2,
            ip("10.0.0.5"),
            ip("10.0.0.7"),
            payload,
        ));
        assert_eq!(
            from_port(&mut a, A_CONTOSO1, &mut f, &mut ev),
            Verdict::ToWire
        );
        assert_eq!(
            from_wire(&mut b, &mut f, &mut ev),
            Verdict::ToPort(B_CONTOSO2)
        );
    }
    let mut f = Buf::new(&udp(
        CONTOSO1,
        CONTOSO2,
        ip("10.0.0.6"),
        ip("10.0.0.7"),
        b"spoof",
    ));
    from_port(&mut a, A_CONTOSO1, &mut f, &mut ev);
    let c = a.stats().vsid(v5001);
    assert_eq!((c.frames, c.forwarded, c.dropped), (4, 3, 1));
    assert_eq!(b.stats().vsid(v5001).forwarded, 3);
    assert_eq!(a.stats().vsid(Vsid::new(6001).unwrap()).frames, 0);
    assert_eq!((a.stats().port_rx[0], a.stats().wire_tx), (4, 3));
    assert_eq!(
        (b.stats().wire_rx, b.stats().port_tx[B_CONTOSO2.index()]),
        (3, 3)
    );
    assert_eq!(a.stats().dropped(DropReason::SpoofedSourceCa), 1);
}

#[test]
fn provider_neighbours_are_learned_from_arp_on_the_uplink() {
    let (mut a, _) = hosts(&gateway_policy(false));
    let mut ev = Vec::new();
    let pkt = udp(CONTOSO1, MAC_DFGW, ip("10.0.0.5"), ip("203.0.113.9"), b"x");
    let mut f = Buf::new(&pkt);
    assert_eq!(
        from_port(&mut a, A_CONTOSO1, &mut f, &mut ev),
        Verdict::Drop(DropReason::UnresolvedNeighbor)
    );
    // The gateway host answers the control plane's ARP for 192.168.4.100.
    let gw_host = MacAddr([0x02, 0, 0, 0, 0x64, 0x01]);
    let reply = neighbour_reply("192.168.4.100", gw_host);
    let mut r = Buf::new(&reply);
    assert_eq!(from_wire(&mut a, &mut r, &mut ev), Verdict::Consumed);
    assert_eq!(
        a.learned_neighbors().collect::<Vec<_>>(),
        [(IpAddr::V4(ip("192.168.4.100")), gw_host)]
    );
    let mut f = Buf::new(&pkt);
    assert_eq!(
        from_port(&mut a, A_CONTOSO1, &mut f, &mut ev),
        Verdict::ToWire
    );
    assert_eq!(eth_addrs(f.bytes()), (gw_host, UPLINK_A));
    // An ARP reply addressed to another host teaches nothing.
    let (mut a2, _) = hosts(&gateway_policy(false));
    let other = arp(
        ArpOperation::REPLY,
        gw_host,
        UPLINK_B,
        ip("192.168.4.100"),
        UPLINK_B,
        ip("192.168.4.22"),
    );
    let mut r = Buf::new(&other);
    assert_eq!(
        from_wire(&mut a2, &mut r, &mut ev),
        Verdict::Drop(DropReason::NotForHost)
    );
    assert_eq!(a2.learned_neighbors().count(), 0);
}

/// The switch remembers each destination PA's next hop; a neighbour that moves (a new
/// ARP reply with another MAC) and a new table snapshot (a static neighbour) both take
/// effect on the very next frame.
#[test]
fn a_moved_neighbour_and_new_tables_take_effect_at_once() {
    let (mut a, _) = hosts(&gateway_policy(false));
    let mut ev = Vec::new();
    let pkt = udp(CONTOSO1, MAC_DFGW, ip("10.0.0.5"), ip("203.0.113.9"), b"x");
    let learn = |a: &mut Switch<Tables>, mac: MacAddr, ev: &mut Vec<Event>| {
        let reply = neighbour_reply("192.168.4.100", mac);
        let mut r = Buf::new(&reply);
        assert_eq!(from_wire(a, &mut r, ev), Verdict::Consumed);
    };
    let send = |a: &mut Switch<Tables>, ev: &mut Vec<Event>| {
        let mut f = Buf::new(&pkt);
        assert_eq!(from_port(a, A_CONTOSO1, &mut f, ev), Verdict::ToWire);
        eth_addrs(f.bytes()).0
    };
    let first = MacAddr([0x02, 0, 0, 0, 0x64, 0x01]);
    let moved = MacAddr([0x02, 0, 0, 0, 0x64, 0x02]);
    learn(&mut a, first, &mut ev);
    assert_eq!(send(&mut a, &mut ev), first);
    assert_eq!(send(&mut a, &mut ev), first, "remembered");
    learn(&mut a, moved, &mut ev);
    assert_eq!(send(&mut a, &mut ev), moved, "the neighbour moved");
    // A snapshot with a static neighbour for the gateway host: static entries win.
    let policy = file::from_json(&gateway_policy(true)).unwrap();
    let tables = Tables::compile(&policy, "HostA").unwrap();
    let static_mac = tables
        .neighbor(IpAddr::V4(ip("192.168.4.100")))
        .expect("a static neighbour");
    assert_ne!(static_mac, moved);
    a.set_tables(tables);
    assert_eq!(
        send(&mut a, &mut ev),
        static_mac,
        "the new snapshot's neighbour"
    );
}

// ---- regressions found by the switch fuzz targets ---------------------------------------------

/// (src, dst) of an IPv4 GRE packet whose header checksum etherparse verifies.
fn gre_ipv4(frame: &[u8]) -> (Ipv4Addr, Ipv4Addr) {
    let s = SlicedPacket::from_ethernet(frame).unwrap();
    let Some(etherparse::NetSlice::Ipv4(v4)) = &s.net else {
        panic!("not IPv4");
    };
    let h = v4.header().to_header();
    assert_eq!(h.header_checksum, h.calc_header_checksum());
    assert_eq!(h.protocol, etherparse::IpNumber::GRE);
    (Ipv4Addr::from(h.source), Ipv4Addr::from(h.destination))
}

/// GRE a tenant sends through IP rewrite reaches the peer VM as GRE; it is never taken
/// for NVGRE and decapsulated into whatever VSID its key names (another routing domain).
#[test]
fn gre_through_ip_rewrite_is_never_decapsulated_into_another_tenant() {
    let (mut a, mut b) = hosts(SEED);
    let mut ev = Vec::new();
    // Inner: a frame posing as Contoso1 -> Contoso2 (VSID 5001, Contoso's domain).
    let forged = udp(CONTOSO1, CONTOSO2, ip("10.0.0.5"), ip("10.0.0.7"), b"pwn");
    let mut gre = vec![0x20, 0x00, 0x65, 0x58];
    gre.extend_from_slice(&(5001u32 << 8).to_be_bytes());
    gre.extend_from_slice(&forged);
    let mut pkt = Vec::new();
    PacketBuilder::ethernet2(FABRIKAM1.0, FABRIKAM2.0)
        .ipv4(ip("10.0.0.5").octets(), ip("10.0.0.7").octets(), 64)
        .write(&mut pkt, etherparse::IpNumber::GRE, &gre)
        .unwrap();
    let mut f = Buf::new(&pkt);
    assert_eq!(
        from_port(&mut a, A_FABRIKAM1, &mut f, &mut ev),
        Verdict::ToWire
    );
    assert_eq!(
        gre_ipv4(f.bytes()),
        (ip("192.168.4.51"), ip("192.168.4.52"))
    );
    // HostB: the Nat PA's traffic goes to Fabrikam2, still GRE, never to Contoso2.
    assert_eq!(
        from_wire(&mut b, &mut f, &mut ev),
        Verdict::ToPort(B_FABRIKAM2)
    );
    assert_eq!(gre_ipv4(f.bytes()), (ip("10.0.0.5"), ip("10.0.0.7")));
    assert_eq!(f.bytes()[14..], pkt[14..], "the GRE packet arrives as sent");
    assert_eq!(b.stats().vsid(Vsid::new(5001).unwrap()).forwarded, 0);
}

/// Provider-network VLAN tags stay on the provider network: IP-rewrite traffic arriving
/// tagged is delivered to the VM untagged.
#[test]
fn ip_rewrite_ingress_strips_a_provider_vlan_tag() {
    let (mut a, mut b) = hosts(SEED);
    let mut ev = Vec::new();
    let pkt = fabrikam_frames().remove(0);
    let mut f = Buf::new(&pkt);
    assert_eq!(
        from_port(&mut a, A_FABRIKAM1, &mut f, &mut ev),
        Verdict::ToWire
    );
    let mut tagged = f.bytes()[..12].to_vec();
    tagged.extend_from_slice(&[0x81, 0x00, 0x00, 0x07]);
    tagged.extend_from_slice(&f.bytes()[12..]);
    let mut f = Buf::new(&tagged);
    assert_eq!(
        from_wire(&mut b, &mut f, &mut ev),
        Verdict::ToPort(B_FABRIKAM2)
    );
    assert_eq!(f.bytes().len(), pkt.len(), "4 bytes shorter than tagged");
    assert_eq!(f.bytes()[12..14], [0x08, 0x00], "no tag left");
    assert_eq!(eth_addrs(f.bytes()), (FABRIKAM2, MAC_DFGW));
    assert_eq!(f.bytes()[14..], pkt[14..]);
}

/// An ICMP message too short to be an echo request is not answered (an answer would be
/// a request again, bounced between hosts for ever).
#[test]
fn a_truncated_echo_to_an_own_pa_is_not_answered() {
    let (_, mut b) = hosts(SEED);
    let mut ev = Vec::new();
    let mut frame = Vec::new();
    PacketBuilder::ethernet2(UPLINK_A.0, UPLINK_B.0)
        .ipv4(ip("192.168.4.11").octets(), ip("192.168.4.22").octets(), 64)
        .write(&mut frame, etherparse::IpNumber::ICMP, &[8, 0, 0])
        .unwrap();
    let mut f = Buf::new(&frame);
    assert_eq!(
        from_wire(&mut b, &mut f, &mut ev),
        Verdict::Drop(DropReason::NotGre)
    );
    assert_eq!(f.bytes(), &frame[..], "left as it was");
}

/// An echo reply whose message sums to zero (id 0, sequence 0, no data) carries checksum
/// 0xffff, the only one receivers accept, not 0x0000.
#[test]
fn echo_reply_checksum_is_right_when_the_message_sums_to_zero() {
    let (_, mut b) = hosts(SEED);
    let mut ev = Vec::new();
    let mut frame = Vec::new();
    PacketBuilder::ethernet2(UPLINK_A.0, UPLINK_B.0)
        .ipv4(ip("192.168.4.11").octets(), ip("192.168.4.22").octets(), 64)
        .icmpv4_echo_request(0, 0)
        .write(&mut frame, b"")
        .unwrap();
    let mut f = Buf::new(&frame);
    assert_eq!(from_wire(&mut b, &mut f, &mut ev), Verdict::Reply);
    let icmp = &f.bytes()[34..];
    assert_eq!(icmp, [0, 0, 0xff, 0xff, 0, 0, 0, 0]);
    let s = SlicedPacket::from_ethernet(f.bytes()).unwrap();
    let Some(etherparse::TransportSlice::Icmpv4(reply)) = &s.transport else {
        panic!()
    };
    assert_eq!(
        reply.checksum(),
        reply.header().icmp_type.calc_checksum(reply.payload())
    );
}

/// A VM's frame to its own MAC is not sent back to it (no hairpin).
#[test]
fn a_frame_to_the_senders_own_mac_is_not_hairpinned() {
    let (mut a, _) = hosts(SEED);
    let mut ev = Vec::new();
    let own = udp(CONTOSO1, CONTOSO1, ip("10.0.0.5"), ip("10.0.0.5"), b"me");
    let mut f = Buf::new(&own);
    assert_eq!(
        from_port(&mut a, A_CONTOSO1, &mut f, &mut ev),
        Verdict::Drop(DropReason::NoLocalPort)
    );
}

/// `policy` with 20,000 more Encap records in VSID 5001 (CA 10.9.x.y, MAC 02-99-00-…, at
/// HostB's PA): tables large enough for `from_port_batch` to look records up ahead.
fn with_many_records(policy: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(policy).unwrap();
    let records = v["LookupRecords"].as_array_mut().unwrap();
    for i in 0..20_000u32 {
        records.push(serde_json::json!({
            "CustomerAddress": format!("10.9.{}.{}", i / 250, 1 + i % 250),
            "VirtualSubnetID": 5001,
            "MACAddress": format!("02-99-00-{:02X}-{:02X}-{:02X}", i >> 16, (i >> 8) & 0xff, i & 0xff),
            "ProviderAddress": "192.168.4.22",
            "Rule": "TranslationMethodEncap",
            "Type": "Static",
        }));
    }
    v.to_string()
}

/// Each of `frames` from Contoso1 through `single` one call at a time (events into
/// `ev.0`) and through `batch` in batches of the lengths `lens`, cycled (events into
/// `ev.1`): asserts that every frame gets the same verdict and bytes both ways, and returns
/// the verdicts.
fn batches_match_single_calls(
    (single, batch): (&mut Switch<Tables>, &mut Switch<Tables>),
    frames: &[Vec<u8>],
    lens: &[usize],
    ev: &mut (Vec<Event>, Vec<Event>),
) -> Vec<Verdict> {
    let mut expected = Vec::new();
    for f in frames {
        let mut b = Buf::new(f);
        let verdict = from_port(single, A_CONTOSO1, &mut b, &mut ev.0);
        expected.push((verdict, b.bytes().to_vec()));
    }
    let mut mems = with_headroom(frames);
    let mut bufs = frame_bufs(&mut mems);
    let mut verdicts = vec![Verdict::Consumed; bufs.len()];
    let mut at = 0;
    for &len in lens.iter().cycle() {
        if at == frames.len() {
            break;
        }
        let len = len.min(frames.len() - at);
        let (b, v) = (&mut bufs[at..at + len], &mut verdicts[at..at + len]);
        batch.from_port_batch(A_CONTOSO1, b, v, &mut ev.1);
        at += len;
    }
    for (k, ((v, b), (want, bytes))) in verdicts.iter().zip(&bufs).zip(&expected).enumerate() {
        assert_eq!((k, v), (k, want));
        assert_eq!(b.data(), &bytes[..], "frame {k}");
    }
    verdicts
}

/// With a table large enough for `from_port_batch` to look records up ahead (tens of
/// thousands of records), batches of any length decide and rewrite every frame exactly as
/// one call per frame does.
#[test]
fn batches_over_a_large_table_match_single_calls() {
    let v = with_many_records(SEED);
    let (mut single, _) = hosts(&v);
    let (mut batch, _) = hosts(&v);
    assert!(batch.tables().looks_ahead());
    // Contoso1 sends to every 37th record, a few unknown MACs in between.
    let frames: Vec<Vec<u8>> = (0..600u32)
        .map(|k| {
            let i = k * 37 % 20_000;
            let dst = if k % 50 == 7 {
                MacAddr([0x02, 0x77, 0, 0, 0, k as u8])
            } else {
                MacAddr([0x02, 0x99, 0, (i >> 16) as u8, (i >> 8) as u8, i as u8])
            };
            udp(
                CONTOSO1,
                dst,
                ip("10.0.0.5"),
                Ipv4Addr::new(10, 9, (i / 250) as u8, (1 + i % 250) as u8),
                b"big",
            )
        })
        .collect();
    let mut ev = (Vec::new(), Vec::new());
    // Batches of several lengths, whole groups of the prefetch pipeline and partial ones.
    let lens = [1, 7, 8, 9, 23, 40, 512];
    let verdicts = batches_match_single_calls((&mut single, &mut batch), &frames, &lens, &mut ev);
    let to_wire = verdicts.iter().filter(|v| **v == Verdict::ToWire).count();
    assert!(to_wire >= 580, "{to_wire} of 600 encapsulated");
    assert_eq!(
        verdicts
            .iter()
            .filter(|v| **v == Verdict::Drop(DropReason::NoLookupRecord))
            .count(),
        12
    );
}

/// In a batch over a large table each frame's decision uses its own destination's record,
/// and a record learned over an L2Only one is the one used, as in a single call: the record
/// looked up ahead is the snapshot's, and the learned record still lies over it.
#[test]
fn batches_over_a_large_table_use_learned_records() {
    use hnv_core::switch::{Step, Trace};
    let (mut a, mut b) = hosts(&with_many_records(&learning_policy()));
    assert!(a.tables().looks_ahead());
    // Fig. 1-10, steps 12-21: Contoso2's reply teaches HostA its Dynamic record.
    let mut ev = Vec::new();
    let mut f = Buf::new(&contoso2_answers_contoso1());
    assert_eq!(
        from_port(&mut b, B_CONTOSO2, &mut f, &mut ev),
        Verdict::ToWire
    );
    assert_eq!(
        from_wire(&mut a, &mut f, &mut ev),
        Verdict::ToPort(A_CONTOSO1)
    );
    let v5001 = Vsid::new(5001).unwrap();
    assert_eq!(
        a.tables().by_mac(v5001, CONTOSO2).map(|r| r.record_type),
        Some(RecordType::L2Only),
        "the snapshot keeps its L2Only record"
    );
    // Every other frame to Contoso2, the others to records of the large table.
    let dsts: Vec<MacAddr> = (0..40u8)
        .map(|k| match k % 2 {
            0 => CONTOSO2,
            _ => MacAddr([0x02, 0x99, 0, 0, k, 3 * k]),
        })
        .collect();
    let frames: Vec<Vec<u8>> = dsts
        .iter()
        .map(|&d| udp(CONTOSO1, d, ip("10.0.0.5"), ip("10.0.0.7"), b"x"))
        .collect();
    let mut mems = with_headroom(&frames);
    let mut bufs = frame_bufs(&mut mems);
    let mut verdicts = vec![Verdict::Consumed; bufs.len()];
    // A tracing sink: every frame is decided in full (no flow cache) and shows its record.
    let mut trace = Trace::default();
    a.from_port_batch(A_CONTOSO1, &mut bufs, &mut verdicts, &mut trace);
    assert!(verdicts.iter().all(|v| *v == Verdict::ToWire));
    let records: Vec<(MacAddr, RecordType)> = trace
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::Record(r) => Some((r.mac, r.record_type)),
            _ => None,
        })
        .collect();
    let expected: Vec<(MacAddr, RecordType)> = dsts
        .iter()
        .map(|&d| match d {
            CONTOSO2 => (d, RecordType::Dynamic),
            _ => (d, RecordType::Static),
        })
        .collect();
    assert_eq!(records, expected);
}

/// Records [`mixed_policy`] adds to VSID 5001: one at HostA's own PA that no port of
/// HostA has, and a `TranslationMethodNat` one.
const OWN_PA_NO_PORT: MacAddr = MacAddr([0x02, 0x99, 0xff, 0, 0, 1]);
const NAT_IN_5001: MacAddr = MacAddr([0x02, 0x99, 0xff, 0, 0, 2]);

/// [`with_many_records`] over [`learning_policy`], with the two records above.
fn mixed_policy() -> String {
    let mut v: serde_json::Value =
        serde_json::from_str(&with_many_records(&learning_policy())).unwrap();
    let records = v["LookupRecords"].as_array_mut().unwrap();
    for (ca, mac, pa, rule) in [
        (
            "10.9.200.1",
            "02-99-FF-00-00-01",
            "192.168.4.11",
            "TranslationMethodEncap",
        ),
        (
            "10.9.200.2",
            "02-99-FF-00-00-02",
            "100.64.0.9",
            "TranslationMethodNat",
        ),
    ] {
        records.push(serde_json::json!({
            "CustomerAddress": ca,
            "VirtualSubnetID": 5001,
            "MACAddress": mac,
            "ProviderAddress": pa,
            "Rule": rule,
            "Type": "Static",
        }));
    }
    v.to_string()
}

/// The MAC and CA of record `i` of [`with_many_records`].
fn many(i: u32) -> (MacAddr, Ipv4Addr) {
    let mac = MacAddr([0x02, 0x99, 0, (i >> 16) as u8, (i >> 8) as u8, i as u8]);
    (
        mac,
        Ipv4Addr::new(10, 9, (i / 250) as u8, (1 + i % 250) as u8),
    )
}

/// Frame `k` of a mixed stream from Contoso1 over a large table: mostly IPv4 to the
/// table's records, with every kind of frame a batch must leave to the full decision in
/// between (each commented with what it meets).
fn mixed_frame(k: u32) -> Vec<u8> {
    let (mac, ca) = many(k * 53 % 20_000);
    let me = ip("10.0.0.5");
    match k % 16 {
        // The usual frame: IPv4 from the port's MAC and CA to a remote Encap record.
        0..=7 => udp(CONTOSO1, mac, me, ca, b"usual"),
        // No record for the destination MAC.
        8 => udp(
            CONTOSO1,
            MacAddr([0x02, 0x77, 0, 0, 0, k as u8]),
            me,
            ca,
            b"x",
        ),
        // Another VM's source MAC, then another CA.
        9 => udp(CONTOSO3, mac, me, ca, b"x"),
        10 => udp(CONTOSO1, mac, ip("10.0.0.99"), ca, b"x"),
        // Broadcast; the gateway's MAC; a local port's MAC; an L2Only record's MAC.
        11 => udp(CONTOSO1, MacAddr::BROADCAST, me, ca, b"x"),
        12 => udp(CONTOSO1, MAC_DFGW, me, ip("10.0.1.6"), b"x"),
        13 => udp(CONTOSO1, CONTOSO3, me, ip("10.0.0.6"), b"x"),
        14 => udp(CONTOSO1, CONTOSO2, me, ip("10.0.0.7"), b"x"),
        _ => match k / 16 % 8 {
            // Too big for the uplink once encapsulated (DF set).
            0 => {
                let mut f = udp(CONTOSO1, mac, me, ca, &[0xab; 1480]);
                f[20] = 0x40;
                f[24..26].copy_from_slice(&[0, 0]);
                let c = hnv_core::wire::checksum::of(&f[14..34]);
                f[24..26].copy_from_slice(&c.to_be_bytes());
                f
            }
            // 802.1Q-tagged.
            1 => {
                let mut f = udp(CONTOSO1, mac, me, ca, b"x");
                f.splice(12..12, [0x81, 0x00, 0x00, 0x05]);
                f
            }
            // IPv6.
            2 => {
                let b = PacketBuilder::ethernet2(CONTOSO1.0, mac.0)
                    .ipv6(v6(5).octets(), v6(7).octets(), 64)
                    .udp(40000, 7);
                let mut out = Vec::new();
                b.write(&mut out, b"v6").unwrap();
                out
            }
            // An IPv4 header that does not parse (header length 16 bytes).
            3 => {
                let mut f = udp(CONTOSO1, mac, me, ca, b"x");
                f[14] = 0x44;
                f
            }
            // Unicast ARP to the record's MAC.
            4 => arp(ArpOperation::REQUEST, CONTOSO1, mac, me, mac, ca),
            // A record at this host's own PA that no port has; a Nat record.
            5 => udp(CONTOSO1, OWN_PA_NO_PORT, me, ip("10.9.200.1"), b"x"),
            6 => udp(CONTOSO1, NAT_IN_5001, me, ip("10.9.200.2"), b"x"),
            // A runt: Ethernet header and half an IPv4 header.
            _ => udp(CONTOSO1, mac, me, ca, b"x")[..24].to_vec(),
        },
    }
}

/// Once the flow cache is set aside, a batch over a large table decides its usual frames
/// (IPv4 from the port to a remote Encap record) in one step; every frame of a stream that
/// mixes them with frames of every other kind still gets exactly what one call per frame
/// gives it: verdict, bytes, events and every counter.
#[test]
fn batches_with_the_flow_cache_aside_match_single_calls() {
    use hnv_core::switch::{FLOW_REST, FLOW_TRIAL};
    let v = mixed_policy();
    let (mut single, _) = hosts(&v);
    let (mut batch, _) = hosts(&v);
    assert!(batch.tables().looks_ahead());
    let me = ip("10.0.0.5");
    // One trial of the flow cache with distinct destinations sets it aside; then the mix,
    // long enough for the cache's next trial to begin (and end: set aside again).
    let frames: Vec<Vec<u8>> = (0..FLOW_TRIAL)
        .map(|i| {
            let (mac, ca) = many(i * 7 % 20_000);
            udp(CONTOSO1, mac, me, ca, b"trial")
        })
        .chain((0..(FLOW_REST + FLOW_TRIAL) * 2).map(mixed_frame))
        .collect();
    let mut ev = (Vec::new(), Vec::new());
    let lens = [1000, 3000, 96, 1, 7, 9, 500];
    let verdicts = batches_match_single_calls((&mut single, &mut batch), &frames, &lens, &mut ev);
    let (ev_single, ev_batch) = ev;
    assert_eq!(ev_batch, ev_single);
    assert_eq!(
        format!("{:?}", batch.stats()),
        format!("{:?}", single.stats())
    );
    // The mix met every kind of verdict, and most of it passed the set-aside cache.
    let kinds = |want: &dyn Fn(&Verdict) -> bool| verdicts.iter().filter(|v| want(v)).count();
    assert!(kinds(&|v| *v == Verdict::ToWire) > 4500);
    assert!(kinds(&|v| *v == Verdict::ToPort(A_CONTOSO3)) > 0);
    assert!(kinds(&|v| matches!(v, Verdict::Flood(_))) > 0);
    assert!(kinds(&|v| *v == Verdict::Reply) > 0);
    for reason in [
        DropReason::NoLookupRecord,
        DropReason::SpoofedSourceMac,
        DropReason::SpoofedSourceCa,
        DropReason::PortVlanTag,
        DropReason::NoLocalPort,
        DropReason::UnsupportedRule,
    ] {
        assert!(kinds(&|v| *v == Verdict::Drop(reason)) > 0, "{reason:?}");
    }
    let s = batch.stats();
    let trial = u64::from(FLOW_TRIAL);
    assert_eq!(s.flow_hits + s.flow_misses, 2 * trial, "a second trial ran");
    assert!(
        s.flow_bypassed > u64::from(FLOW_REST),
        "{}",
        s.flow_bypassed
    );
}

/// A PA on a VLAN (`ProviderAddresses[].VlanID`) sends its NVGRE frames tagged with it; the
/// receiving host reads through the tag and delivers the inner frame unchanged.
#[test]
fn nvgre_from_a_pa_on_a_vlan_is_tagged() {
    let mut policy: serde_json::Value = serde_json::from_str(SEED).unwrap();
    for pa in policy["ProviderAddresses"].as_array_mut().unwrap() {
        if pa["ProviderAddress"] == "192.168.4.11" {
            pa["VlanID"] = 7.into();
        }
    }
    let (mut a, mut b) = hosts(&policy.to_string());
    let mut ev = Vec::new();
    let pkt = udp(
        CONTOSO1,
        CONTOSO2,
        ip("10.0.0.5"),
        ip("10.0.0.7"),
        b"tagged",
    );
    let mut f = Buf::new(&pkt);
    assert_eq!(
        from_port(&mut a, A_CONTOSO1, &mut f, &mut ev),
        Verdict::ToWire
    );
    let wire = f.bytes().to_vec();
    let sliced = SlicedPacket::from_ethernet(&wire).unwrap();
    let Some(etherparse::VlanSlice::SingleVlan(tag)) = sliced.vlan() else {
        panic!("no 802.1Q tag: {:02x?}", &f.bytes()[..18]);
    };
    assert_eq!(tag.vlan_identifier().value(), 7);
    assert_eq!(tag.priority_code_point().value(), 0);
    let Some(etherparse::NetSlice::Ipv4(outer)) = &sliced.net else {
        panic!("outer is not IPv4");
    };
    let h = outer.header().to_header();
    assert_eq!(
        (h.source, h.destination),
        ([192, 168, 4, 11], [192, 168, 4, 22])
    );
    assert_eq!(h.header_checksum, h.calc_header_checksum());
    assert_eq!(f.bytes().len(), pkt.len() + 42 + 4);
    // HostB's PA is on no VLAN: its reply would leave untagged; its switch takes ours.
    assert_eq!(
        from_wire(&mut b, &mut f, &mut ev),
        Verdict::ToPort(B_CONTOSO2)
    );
    assert_eq!(f.bytes(), &pkt[..]);
}

// ---- the flow cache -----------------------------------------------------------------------

/// An NVGRE frame from `src_pa` (Ethernet source `src_mac`) to HostA's 192.168.4.11 with
/// key `vsid` carrying `inner`.
fn nvgre_to_a(src_mac: MacAddr, src_pa: Ipv4Addr, vsid: u32, inner: &[u8]) -> Vec<u8> {
    let mut gre = vec![0x20, 0x00, 0x65, 0x58];
    gre.extend_from_slice(&(vsid << 8).to_be_bytes());
    gre.extend_from_slice(inner);
    let mut pkt = Vec::new();
    PacketBuilder::ethernet2(src_mac.0, UPLINK_A.0)
        .ipv4(src_pa.octets(), ip("192.168.4.11").octets(), 64)
        .write(&mut pkt, etherparse::IpNumber::GRE, &gre)
        .unwrap();
    pkt
}

/// (outer destination MAC, outer destination PA) of an NVGRE frame, read by etherparse.
fn outer_dst(frame: &[u8]) -> (MacAddr, Ipv4Addr) {
    let s = SlicedPacket::from_ethernet(frame).unwrap();
    let Some(etherparse::NetSlice::Ipv4(v4)) = s.net else {
        panic!("outer is not IPv4: {frame:02x?}");
    };
    (
        eth_addrs(frame).0,
        Ipv4Addr::from(v4.header().destination()),
    )
}

/// Repeated frames between the same two VMs are decided once and then taken from the
/// switch's flow cache; every change of what that decision read must show in the very
/// next frame: a learned record, a learned (or moved) neighbour, new tables, and a frame
/// too big for the uplink.
#[test]
#[allow(clippy::too_many_lines)] // one scenario, its steps in order
fn remembered_encapsulations_follow_learning_neighbours_and_tables() {
    let (mut a, _) = hosts(&learning_policy());
    let mut ev = Vec::new();
    let pkt = udp(CONTOSO1, CONTOSO2, ip("10.0.0.5"), ip("10.0.0.7"), b"x");
    let send = |a: &mut Switch<Tables>, ev: &mut Vec<Event>| {
        let mut buf = Buf::new(&pkt);
        let verdict = from_port(a, A_CONTOSO1, &mut buf, ev);
        (verdict, buf.bytes().to_vec())
    };
    // Contoso2's L2Only record is at HostB (192.168.4.22, a static neighbour).
    let (v1, first) = send(&mut a, &mut ev);
    let (v2, second) = send(&mut a, &mut ev);
    assert_eq!((v1, v2), (Verdict::ToWire, Verdict::ToWire));
    assert_eq!(first, second, "the remembered decision encapsulates alike");
    assert_eq!(
        (a.stats().flow_misses, a.stats().flow_hits),
        (1, 1),
        "the second frame was a hit"
    );
    assert_eq!(outer_dst(&first), (UPLINK_B, ip("192.168.4.22")));

    // HostA learns Contoso2 at 192.168.4.33 from an ARP reply that PA sends.
    let other = MacAddr([0x02, 0, 0, 0, 0x33, 0x01]);
    let reply = contoso2_answers_contoso1();
    let mut wire = Buf::new(&nvgre_to_a(other, ip("192.168.4.33"), 5001, &reply));
    assert_eq!(
        from_wire(&mut a, &mut wire, &mut ev),
        Verdict::ToPort(A_CONTOSO1)
    );
    assert!(ev.iter().any(|e| matches!(
        e,
        Event::Learned(r) if r.mac == CONTOSO2 && r.pa == IpAddr::V4(ip("192.168.4.33"))
    )));
    // The learned record wins over the L2Only one; its PA has no known neighbour yet.
    assert_eq!(
        send(&mut a, &mut ev).0,
        Verdict::Drop(DropReason::UnresolvedNeighbor)
    );

    // The PA answers on the provider network; then it moves to another MAC.
    let neighbour = |a: &mut Switch<Tables>, mac: MacAddr, ev: &mut Vec<Event>| {
        let r = neighbour_reply("192.168.4.33", mac);
        let mut r = Buf::new(&r);
        assert_eq!(from_wire(a, &mut r, ev), Verdict::Consumed);
    };
    neighbour(&mut a, other, &mut ev);
    for _ in 0..2 {
        let (verdict, out) = send(&mut a, &mut ev);
        assert_eq!(verdict, Verdict::ToWire);
        assert_eq!(outer_dst(&out), (other, ip("192.168.4.33")));
    }
    let moved = MacAddr([0x02, 0, 0, 0, 0x33, 0x02]);
    neighbour(&mut a, moved, &mut ev);
    let (_, out) = send(&mut a, &mut ev);
    assert_eq!(
        outer_dst(&out),
        (moved, ip("192.168.4.33")),
        "the neighbour moved"
    );

    // Too big once encapsulated: Fragmentation Needed, remembered decision or not.
    let mut big = Buf::new(&big_udp(1472, true));
    assert_eq!(
        from_port(&mut a, A_CONTOSO1, &mut big, &mut ev),
        Verdict::Reply
    );

    // A tracing sink sees every step: the record and the next hop are still looked up.
    let mut trace = hnv_core::switch::Trace::default();
    let mut traced = Buf::new(&pkt);
    assert_eq!(
        traced.with(|f| a.from_port(A_CONTOSO1, f, &mut trace)),
        Verdict::ToWire
    );
    assert!(trace
        .steps
        .iter()
        .any(|s| matches!(s, hnv_core::switch::Step::Record(r) if r.mac == CONTOSO2)));

    // New tables where Contoso2 is a static record at HostB: it wins over the learned one.
    let policy = file::from_json(SEED).unwrap();
    a.set_tables(Tables::compile(&policy, "HostA").unwrap());
    let (verdict, out) = send(&mut a, &mut ev);
    assert_eq!(verdict, Verdict::ToWire);
    assert_eq!(outer_dst(&out), (UPLINK_B, ip("192.168.4.22")));
}

/// Routed frames are remembered by (ingress port, destination CA): the second frame to a
/// destination is decided from the routed-flow cache, alike, whether routed to a local
/// port (fig. 1-8) or encapsulated to another host (fig. 1-11); new tables forget them.
#[test]
fn routed_frames_are_remembered_by_destination_ca() {
    let (mut a, _) = hosts(SEED);
    let mut ev = Vec::new();
    let mut send = |a: &mut Switch<Tables>, dst: &str| {
        let mut f = Buf::new(&udp(CONTOSO1, MAC_DFGW, ip("10.0.0.5"), ip(dst), b"r"));
        let verdict = from_port(a, A_CONTOSO1, &mut f, &mut ev);
        (verdict, f.bytes().to_vec())
    };
    let counts = |a: &Switch<Tables>| {
        let s = a.stats();
        (s.routed_hits, s.routed_misses, s.flow_hits + s.flow_misses)
    };
    let local = send(&mut a, "10.0.1.6");
    assert_eq!(local.0, Verdict::ToPort(A_CONTOSO4));
    assert_eq!(eth_addrs(&local.1), (CONTOSO4, MAC_DFGW));
    assert_eq!(send(&mut a, "10.0.1.6"), local);
    let remote = send(&mut a, "10.0.1.7");
    assert_eq!(remote.0, Verdict::ToWire);
    let (vsid, inner) = read_nvgre(
        &remote.1,
        (UPLINK_B, UPLINK_A),
        ("192.168.4.11", "192.168.4.22"),
    );
    assert_eq!((vsid, eth_addrs(&inner)), (6001, (CONTOSO5, MAC_DFGW)));
    assert_eq!(send(&mut a, "10.0.1.7"), remote);
    assert_eq!(
        counts(&a),
        (2, 2, 0),
        "one miss and one hit per destination"
    );

    a.set_tables(Tables::compile(&file::from_json(SEED).unwrap(), "HostA").unwrap());
    assert_eq!(send(&mut a, "10.0.1.7"), remote);
    assert_eq!(counts(&a), (2, 3, 0), "forgotten with the old tables");
}

/// Traffic spread over far more destinations than the flow cache holds: after a trial of
/// `FLOW_TRIAL` lookups with too few hits the switch sets the cache aside for `FLOW_REST`
/// frames (decided in full, the same way), then tries it again; a trial with enough hits
/// keeps it.
#[test]
fn the_flow_cache_steps_aside_while_it_does_not_pay() {
    use hnv_core::switch::{FLOW_MIN_HITS, FLOW_REST, FLOW_TRIAL};
    const _: () = assert!(2 < FLOW_MIN_HITS, "every second lookup hitting is enough");
    let (mut a, _) = hosts(&learning_policy());
    let mut ev = Vec::new();
    let known = udp(CONTOSO1, CONTOSO2, ip("10.0.0.5"), ip("10.0.0.7"), b"x");
    let mut send = |a: &mut Switch<Tables>, dst: Option<u32>| {
        let frame = match dst {
            // A MAC no record has: looked up in the cache (a miss), then dropped.
            Some(n) => {
                let [_, _, hi, lo] = n.to_be_bytes();
                let mut f = known.clone();
                f[..6].copy_from_slice(&[0x02, 0xaa, 0, 0, hi, lo]);
                f
            }
            None => known.clone(),
        };
        let mut buf = Buf::new(&frame);
        let verdict = from_port(a, A_CONTOSO1, &mut buf, &mut ev);
        ev.clear();
        (verdict, buf.bytes().to_vec())
    };
    let counts = |a: &Switch<Tables>| {
        let s = a.stats();
        (s.flow_hits, s.flow_misses, s.flow_bypassed)
    };
    let (_, encapsulated) = send(&mut a, None);
    let trial = u64::from(FLOW_TRIAL);

    // Two trials where every second lookup hits: kept.
    for i in 1..2 * FLOW_TRIAL {
        let unknown = (i % 2 != 0).then_some(i);
        let expected = match unknown {
            Some(_) => Verdict::Drop(DropReason::NoLookupRecord),
            None => Verdict::ToWire,
        };
        assert_eq!(send(&mut a, unknown).0, expected);
    }
    let (hits, misses, bypassed) = counts(&a);
    assert_eq!((hits + misses, bypassed), (2 * trial, 0));
    assert_eq!(
        hits,
        trial - 1,
        "every second frame but the first was a hit"
    );

    // A trial of misses only: set aside.
    for i in 0..FLOW_TRIAL {
        assert_eq!(
            send(&mut a, Some(i)).0,
            Verdict::Drop(DropReason::NoLookupRecord)
        );
    }
    assert_eq!(counts(&a), (hits, misses + trial, 0));
    // Decided in full, alike, without a lookup in the cache.
    for _ in 0..2 {
        assert_eq!(send(&mut a, None), (Verdict::ToWire, encapsulated.clone()));
    }
    assert_eq!(counts(&a), (hits, misses + trial, 2));
    for i in 2..FLOW_REST {
        send(&mut a, Some(i));
    }
    assert_eq!(counts(&a), (hits, misses + trial, u64::from(FLOW_REST)));
    // Tried again: what it remembered before is still valid.
    assert_eq!(send(&mut a, None), (Verdict::ToWire, encapsulated.clone()));
    assert_eq!(
        send(&mut a, Some(1)).0,
        Verdict::Drop(DropReason::NoLookupRecord)
    );
    assert_eq!(send(&mut a, None), (Verdict::ToWire, encapsulated));
    assert_eq!(
        counts(&a),
        (hits + 2, misses + trial + 1, u64::from(FLOW_REST))
    );
}

/// One thing that happens to HostA in [`the_flow_cache_never_changes_a_decision`].
#[derive(Debug, Clone)]
enum CacheOp {
    /// A UDP frame from port `port` (with its MAC, or another) to MAC `dst` (an index),
    /// from its own CA or CA `src` (an index) to CA `dst_ip` (an index), `big` or small.
    Send {
        port: u16,
        spoof_mac: bool,
        own_src: bool,
        src: usize,
        dst: usize,
        dst_ip: usize,
        big: bool,
    },
    /// An NVGRE-encapsulated ARP reply from `mac` (an index) saying CA `ca` (an index) is
    /// at it, from PA `pa` (an index), key `vsid`.
    Learn {
        mac: usize,
        ca: usize,
        pa: usize,
        vsid: u32,
    },
    /// A provider ARP reply: PA `pa` (an index) is at `mac` (an index).
    Neighbour { pa: usize, mac: usize },
    /// New tables: the seed's, or the learning policy's (both without a static
    /// neighbour for HostB's PA).
    Tables { learning: bool },
}

const CACHE_MACS: [MacAddr; 9] = [
    CONTOSO2,
    CONTOSO5,
    FABRIKAM2,
    CONTOSO1,
    CONTOSO3,
    CONTOSO4,
    FABRIKAM1,
    MAC_DFGW,
    MacAddr([0x02, 0, 0, 0, 0x77, 0x01]),
];
const CACHE_CAS: [&str; 6] = [
    "10.0.0.5", "10.0.0.6", "10.0.0.7", "10.0.1.6", "10.0.1.7", "10.0.0.8",
];
/// HostA's ports: MAC and own CA.
const CACHE_PORTS: [(MacAddr, &str); 4] = [
    (CONTOSO1, "10.0.0.5"),
    (CONTOSO3, "10.0.0.6"),
    (CONTOSO4, "10.0.1.6"),
    (FABRIKAM1, "10.0.0.5"),
];
const CACHE_PAS: [&str; 4] = [
    "192.168.4.22",
    "192.168.4.33",
    "192.168.4.52",
    "192.168.4.1",
];
const NEIGHBOUR_MACS: [MacAddr; 2] = [
    MacAddr([0x02, 0, 0, 0, 0x33, 0x01]),
    MacAddr([0x02, 0, 0, 0, 0x33, 0x02]),
];

fn cache_op() -> impl Strategy<Value = CacheOp> {
    // Mostly frames a port may send to a remote VM or to the gateway MAC (the frames the
    // caches are for), so that flows repeat between learning, neighbour and table
    // changes.
    let dst = prop_oneof![3 => 0usize..3, 2 => Just(7usize), 1 => 0..CACHE_MACS.len()];
    let send = (
        0u16..5,
        prop::bool::weighted(0.03),
        prop::bool::weighted(0.9),
        0..CACHE_CAS.len(),
        dst,
        0..CACHE_CAS.len(),
        prop::bool::weighted(0.1),
    )
        .prop_map(
            |(port, spoof_mac, own_src, src, dst, dst_ip, big)| CacheOp::Send {
                port,
                spoof_mac,
                own_src,
                src,
                dst,
                dst_ip,
                big,
            },
        );
    let learn = (
        prop_oneof![3 => 0usize..3, 1 => 0..CACHE_MACS.len()],
        0..CACHE_CAS.len(),
        0..CACHE_PAS.len(),
        prop::sample::select(vec![5001u32, 6001]),
    )
        .prop_map(|(mac, ca, pa, vsid)| CacheOp::Learn { mac, ca, pa, vsid });
    prop_oneof![
        12 => send,
        1 => learn,
        1 => (0..CACHE_PAS.len(), 0..NEIGHBOUR_MACS.len())
            .prop_map(|(pa, mac)| CacheOp::Neighbour { pa, mac }),
        1 => any::<bool>().prop_map(|learning| CacheOp::Tables { learning }),
    ]
}

/// The frame an op sends, and the port it comes from (`None`: from the wire).
fn cache_frame(op: &CacheOp) -> Option<(Vec<u8>, Option<PortId>)> {
    match *op {
        CacheOp::Send {
            port,
            spoof_mac,
            own_src,
            src,
            dst,
            dst_ip,
            big,
        } => {
            let (mac, own) = CACHE_PORTS
                .get(usize::from(port))
                .copied()
                .unwrap_or((CACHE_MACS[8], CACHE_CAS[5]));
            let mac = if spoof_mac { CACHE_MACS[8] } else { mac };
            let src = if own_src { own } else { CACHE_CAS[src] };
            let payload = vec![0x5a; if big { 1472 } else { 18 }];
            let mut f = udp(
                mac,
                CACHE_MACS[dst],
                ip(src),
                ip(CACHE_CAS[dst_ip]),
                &payload,
            );
            if big {
                f[20] = 0x40; // DF
                f[24..26].copy_from_slice(&[0, 0]);
                let c = hnv_core::wire::checksum::of(&f[14..34]);
                f[24..26].copy_from_slice(&c.to_be_bytes());
            }
            Some((f, Some(PortId(port))))
        }
        CacheOp::Learn { mac, ca, pa, vsid } => {
            let reply = arp(
                ArpOperation::REPLY,
                CACHE_MACS[mac],
                CONTOSO1,
                ip(CACHE_CAS[ca]),
                CONTOSO1,
                ip("10.0.0.5"),
            );
            let outer = nvgre_to_a(NEIGHBOUR_MACS[0], ip(CACHE_PAS[pa]), vsid, &reply);
            Some((outer, None))
        }
        CacheOp::Neighbour { pa, mac } => {
            let r = neighbour_reply(CACHE_PAS[pa], NEIGHBOUR_MACS[mac]);
            Some((r, None))
        }
        CacheOp::Tables { .. } => None,
    }
}

/// `policy_json` without HostA's static neighbour for 192.168.4.22, so that the next hop
/// to HostB is learned (and can move).
fn without_static_neighbour(policy_json: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(policy_json).unwrap();
    let host = v["Hosts"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|h| h["Name"] == "HostA")
        .unwrap();
    host["Neighbors"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["IPAddress"] != "192.168.4.22");
    v.to_string()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// The flow caches are only a shortcut: a switch that uses them and one that decides
    /// every frame in full (its sink traces) give every frame the same verdict, the same
    /// bytes and the same events, through learning, moved neighbours and new tables.
    #[test]
    fn the_flow_cache_never_changes_a_decision(ops in proptest::collection::vec(cache_op(), 1..120)) {
        let policies = [
            without_static_neighbour(SEED),
            without_static_neighbour(&learning_policy()),
        ];
        let (mut cached, _) = hosts(&policies[1]);
        let (mut full, _) = hosts(&policies[1]);
        let mut events = Vec::new();
        let mut trace = hnv_core::switch::Trace::default();
        for op in &ops {
            if let CacheOp::Tables { learning } = op {
                let policy = file::from_json(&policies[usize::from(*learning)]).unwrap();
                cached.set_tables(Tables::compile(&policy, "HostA").unwrap());
                full.set_tables(Tables::compile(&policy, "HostA").unwrap());
                continue;
            }
            let (frame, port) = cache_frame(op).unwrap();
            let (mut a, mut b) = (Buf::new(&frame), Buf::new(&frame));
            let (va, vb) = match port {
                Some(p) => (
                    a.with(|f| cached.from_port(p, f, &mut events)),
                    b.with(|f| full.from_port(p, f, &mut trace)),
                ),
                None => (
                    a.with(|f| cached.from_wire(f, &mut events)),
                    b.with(|f| full.from_wire(f, &mut trace)),
                ),
            };
            prop_assert_eq!(va, vb, "{:?}", op);
            prop_assert_eq!(a.bytes(), b.bytes(), "{:?}", op);
            prop_assert_eq!(&events, &trace.events, "{:?}", op);
        }
        prop_assert_eq!(full.stats().flow_hits + full.stats().flow_misses, 0);
        prop_assert_eq!(full.stats().routed_hits + full.stats().routed_misses, 0);
        let (sc, sf) = (cached.stats(), full.stats());
        prop_assert_eq!((sc.drops, sc.port_tx, sc.wire_tx), (sf.drops, sf.port_tx, sf.wire_tx));
    }
}
