//! The simulated VMs wired back to back: every frame one VM sends is fed to the other.
//! Frames are checked with etherparse (an independent parser) and, in one test, with
//! tshark's dissectors through a pcap file.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;

use etherparse::{ArpOperation, LinkSlice, NetSlice, SlicedPacket, TransportSlice};
use hnv_core::ids::MacAddr;
use hnv_core::wire::arp::ArpOp;
use hnv_core::wire::tcp::TcpFlags;
use hnv_core::wire::{Layer, ParseError};
use hnv_sim::pcap::PcapWriter;
use hnv_sim::vm::{IfAddr, Message, Route, RxError, Via, Vm, VmError, MIN_FRAME_LEN};
use proptest::prelude::*;

const MAC_1: MacAddr = MacAddr([0x00, 0x15, 0x5d, 0x00, 0x00, 0x01]);
const MAC_2: MacAddr = MacAddr([0x00, 0x15, 0x5d, 0x00, 0x00, 0x02]);
const MAC_DFGW: MacAddr = MacAddr([0x02, 0x00, 0x5e, 0x00, 0x01, 0x01]);

fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn ifaddr(s: &str) -> IfAddr {
    s.parse().unwrap()
}

/// Contoso1 (10.0.0.5, fd00::5) and Contoso2 (10.0.0.7, fd00::7) on one subnet, both
/// with the `.1` / `::1` gateway.
fn pair() -> (Vm, Vm) {
    let gws = [IpAddr::from(v4("10.0.0.1")), IpAddr::from(v6("fd00::1"))];
    let a = Vm::new(
        "Contoso1",
        MAC_1,
        &[ifaddr("10.0.0.5/24"), ifaddr("fd00::5/64")],
        &gws,
    )
    .unwrap();
    let b = Vm::new(
        "Contoso2",
        MAC_2,
        &[ifaddr("10.0.0.7/24"), ifaddr("fd00::7/64")],
        &gws,
    )
    .unwrap();
    (a, b)
}

/// Feeds `first` (sent by `a`) to `b`, and every response back and forth until both are
/// quiet. Returns every frame in wire order; each is checked by [`check_frame`].
fn shuttle(a: &mut Vm, b: &mut Vm, first: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut wire = Vec::new();
    let mut queue: Vec<(bool, Vec<u8>)> = first.into_iter().map(|f| (true, f)).collect();
    while !queue.is_empty() {
        let (to_b, frame) = queue.remove(0);
        check_frame(&frame);
        let out = if to_b {
            b.receive(&frame)
        } else {
            a.receive(&frame)
        };
        wire.push(frame);
        queue.extend(out.into_iter().map(|f| (!to_b, f)));
        assert!(wire.len() < 100, "the exchange does not settle");
    }
    wire
}

/// Parses `frame` with etherparse and recomputes every checksum it carries.
fn check_frame(frame: &[u8]) {
    assert!(frame.len() >= MIN_FRAME_LEN, "short frame {frame:02x?}");
    let packet = SlicedPacket::from_ethernet(frame)
        .unwrap_or_else(|e| panic!("etherparse: {e:?} in {frame:02x?}"));
    assert!(matches!(packet.link, Some(LinkSlice::Ethernet2(_))));
    assert!(packet.link_exts.is_empty(), "no VLAN tag from a VM");
    match (&packet.net, &packet.transport) {
        (Some(NetSlice::Arp(arp)), None) => {
            let arp = arp.to_packet();
            assert_eq!(arp.hw_addr_size(), 6);
            assert_eq!(arp.protocol_addr_size(), 4);
        }
        (Some(NetSlice::Ipv4(ip)), transport) => {
            let h = ip.header().to_header();
            assert_eq!(h.calc_header_checksum(), h.header_checksum, "IPv4 header");
            let (src, dst) = (h.source, h.destination);
            match transport {
                Some(TransportSlice::Udp(u)) => {
                    let c = u.to_header().calc_checksum_ipv4(&h, u.payload()).unwrap();
                    assert_ne!(u.checksum(), 0, "the VM always sends a UDP checksum");
                    assert_eq!(c, u.checksum(), "UDP/IPv4");
                }
                Some(TransportSlice::Tcp(t)) => {
                    assert_eq!(t.calc_checksum_ipv4(src, dst).unwrap(), t.checksum());
                }
                Some(TransportSlice::Icmpv4(i)) => {
                    let c = i.header().icmp_type.calc_checksum(i.payload());
                    assert_eq!(c, i.checksum(), "ICMPv4");
                }
                other => panic!("unexpected IPv4 payload {other:?}"),
            }
        }
        (Some(NetSlice::Ipv6(ip)), transport) => {
            let h = ip.header().to_header();
            match transport {
                Some(TransportSlice::Udp(u)) => {
                    let c = u.to_header().calc_checksum_ipv6(&h, u.payload()).unwrap();
                    assert_eq!(c, u.checksum(), "UDP/IPv6");
                }
                Some(TransportSlice::Tcp(t)) => {
                    let c = t.calc_checksum_ipv6(h.source, h.destination).unwrap();
                    assert_eq!(c, t.checksum(), "TCP/IPv6");
                }
                Some(TransportSlice::Icmpv6(i)) => {
                    assert!(i.is_checksum_valid(h.source, h.destination), "ICMPv6");
                }
                other => panic!("unexpected IPv6 payload {other:?}"),
            }
        }
        other => panic!("unexpected frame {other:?}"),
    }
}

fn eth(frame: &[u8]) -> (MacAddr, MacAddr, u16) {
    let dst = MacAddr(frame[..6].try_into().unwrap());
    let src = MacAddr(frame[6..12].try_into().unwrap());
    (dst, src, u16::from_be_bytes([frame[12], frame[13]]))
}

fn arp_fields(frame: &[u8]) -> (ArpOperation, [u8; 6], Ipv4Addr, [u8; 6], Ipv4Addr) {
    let p = SlicedPacket::from_ethernet(frame).unwrap();
    let Some(NetSlice::Arp(arp)) = p.net else {
        panic!("not ARP: {frame:02x?}")
    };
    let a = arp.to_packet().try_eth_ipv4().unwrap();
    (
        a.operation,
        a.sender_mac,
        Ipv4Addr::from(a.sender_ipv4),
        a.target_mac,
        Ipv4Addr::from(a.target_ipv4),
    )
}

/// (src, dst, hop limit, ICMPv6 type, ICMPv6 bytes from offset 4) of an ICMPv6 frame.
fn icmpv6_fields(frame: &[u8]) -> (Ipv6Addr, Ipv6Addr, u8, u8, Vec<u8>) {
    let p = SlicedPacket::from_ethernet(frame).unwrap();
    let (Some(NetSlice::Ipv6(ip)), Some(TransportSlice::Icmpv6(i))) = (p.net, p.transport) else {
        panic!("not ICMPv6: {frame:02x?}")
    };
    let h = ip.header();
    (
        h.source_addr(),
        h.destination_addr(),
        h.hop_limit(),
        i.type_u8(),
        i.slice()[4..].to_vec(),
    )
}

fn ipv4_dst_and_id(frame: &[u8]) -> (Ipv4Addr, u16, bool) {
    let p = SlicedPacket::from_ethernet(frame).unwrap();
    let Some(NetSlice::Ipv4(ip)) = p.net else {
        panic!("not IPv4")
    };
    let h = ip.header();
    (h.destination_addr(), h.identification(), h.dont_fragment())
}

#[test]
fn arp_resolution_then_udp_v4() {
    let (mut a, mut b) = pair();
    let out = a
        .send_udp(v4("10.0.0.7"), 5000, 7000, b"hello Contoso2")
        .unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(a.pending(), 1, "the datagram waits for the ARP reply");
    check_frame(&out[0]);
    assert_eq!(out[0].len(), MIN_FRAME_LEN, "42-byte ARP padded to 60");
    assert_eq!(eth(&out[0]), (MacAddr::BROADCAST, MAC_1, 0x0806));
    let (op, sha, spa, tha, tpa) = arp_fields(&out[0]);
    assert_eq!(op, ArpOperation::REQUEST);
    assert_eq!(
        (sha, spa, tha, tpa),
        (MAC_1.0, v4("10.0.0.5"), [0; 6], v4("10.0.0.7"))
    );

    let reply = b.receive(&out[0]);
    assert_eq!(reply.len(), 1);
    check_frame(&reply[0]);
    assert_eq!(eth(&reply[0]), (MAC_1, MAC_2, 0x0806));
    let (op, sha, spa, tha, tpa) = arp_fields(&reply[0]);
    assert_eq!(op, ArpOperation::REPLY);
    assert_eq!(
        (sha, spa, tha, tpa),
        (MAC_2.0, v4("10.0.0.7"), MAC_1.0, v4("10.0.0.5"))
    );
    assert_eq!(
        b.neighbor(v4("10.0.0.5")),
        Some(MAC_1),
        "learned from the request"
    );

    let released = a.receive(&reply[0]);
    assert_eq!(a.pending(), 0);
    assert_eq!(a.neighbor(v4("10.0.0.7")), Some(MAC_2));
    assert_eq!(released.len(), 1);
    check_frame(&released[0]);
    assert_eq!(eth(&released[0]), (MAC_2, MAC_1, 0x0800));
    assert_eq!(ipv4_dst_and_id(&released[0]), (v4("10.0.0.7"), 1, true));

    assert!(b.receive(&released[0]).is_empty());
    let got: Vec<_> = b.udp_received().collect();
    assert_eq!(
        got,
        vec![(
            SocketAddr::new(v4("10.0.0.5").into(), 5000),
            SocketAddr::new(v4("10.0.0.7").into(), 7000),
            &b"hello Contoso2"[..]
        )]
    );

    // Resolved now: the next datagram goes straight out with the next identification.
    let out = a.send_udp(v4("10.0.0.7"), 5000, 7000, b"again").unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(eth(&out[0]).0, MAC_2);
    assert_eq!(ipv4_dst_and_id(&out[0]), (v4("10.0.0.7"), 2, true));
    assert!(b.rejected().is_empty() && a.rejected().is_empty());
}

#[test]
fn packets_queue_behind_one_resolution() {
    let (mut a, mut b) = pair();
    let first = a.send_udp(v4("10.0.0.7"), 1, 2, b"one").unwrap();
    let second = a.send_udp(v4("10.0.0.7"), 1, 2, b"two").unwrap();
    assert_eq!(first.len(), 1);
    assert!(second.is_empty(), "no second ARP while one is outstanding");
    assert_eq!(a.pending(), 2);
    let wire = shuttle(&mut a, &mut b, first);
    assert_eq!(wire.len(), 4, "request, reply, two datagrams");
    let payloads: Vec<&[u8]> = b.udp_received().map(|(_, _, p)| p).collect();
    assert_eq!(payloads, vec![&b"one"[..], &b"two"[..]]);
}

#[test]
fn ns_na_then_udp_v6() {
    let (mut a, mut b) = pair();
    let out = a
        .send_udp(v6("fd00::7"), 5000, 7000, b"hello over v6")
        .unwrap();
    assert_eq!(out.len(), 1);
    check_frame(&out[0]);
    assert_eq!(
        eth(&out[0]),
        (MacAddr([0x33, 0x33, 0xff, 0, 0, 7]), MAC_1, 0x86dd)
    );
    let (src, dst, hl, t, body) = icmpv6_fields(&out[0]);
    assert_eq!(
        (src, dst, hl, t),
        (v6("fd00::5"), v6("ff02::1:ff00:7"), 255, 135)
    );
    assert_eq!(&body[4..20], &v6("fd00::7").octets(), "target");
    assert_eq!(
        &body[20..],
        &[1, 1, 0x00, 0x15, 0x5d, 0, 0, 1],
        "source link-layer option"
    );

    let na = b.receive(&out[0]);
    assert_eq!(na.len(), 1);
    check_frame(&na[0]);
    assert_eq!(eth(&na[0]), (MAC_1, MAC_2, 0x86dd));
    let (src, dst, hl, t, body) = icmpv6_fields(&na[0]);
    assert_eq!((src, dst, hl, t), (v6("fd00::7"), v6("fd00::5"), 255, 136));
    assert_eq!(body[0], 0x60, "solicited and override, not router");
    assert_eq!(&body[4..20], &v6("fd00::7").octets());
    assert_eq!(
        &body[20..],
        &[2, 1, 0x00, 0x15, 0x5d, 0, 0, 2],
        "target link-layer option"
    );
    assert_eq!(b.neighbor(v6("fd00::5")), Some(MAC_1));

    let released = a.receive(&na[0]);
    assert_eq!(released.len(), 1);
    assert_eq!(eth(&released[0]), (MAC_2, MAC_1, 0x86dd));
    assert!(b.receive(&released[0]).is_empty());
    let (from, to, payload) = b.udp_received().next().unwrap();
    assert_eq!(from, SocketAddr::new(v6("fd00::5").into(), 5000));
    assert_eq!(to, SocketAddr::new(v6("fd00::7").into(), 7000));
    assert_eq!(payload, b"hello over v6");
}

fn ping(family_dst: IpAddr) {
    let (mut a, mut b) = pair();
    let out = a.send_ping(family_dst, 0x77, 3, b"abcdefgh").unwrap();
    let wire = shuttle(&mut a, &mut b, out);
    assert_eq!(wire.len(), 4, "resolution, answer, request, reply");
    let request = b
        .inbox()
        .iter()
        .find(|e| matches!(e.message, Message::EchoRequest { .. }))
        .unwrap();
    let Message::EchoRequest { src, id, seq, .. } = &request.message else {
        unreachable!()
    };
    assert_eq!((*id, *seq), (0x77, 3));
    assert!(a.owns(*src));
    let replies: Vec<_> = a
        .inbox()
        .iter()
        .filter_map(|e| match &e.message {
            Message::EchoReply {
                src,
                dst,
                id,
                seq,
                data,
            } => Some((*src, *dst, *id, *seq, data.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(replies.len(), 1);
    let (src, dst, id, seq, data) = &replies[0];
    assert_eq!(*src, family_dst);
    assert!(a.owns(*dst));
    assert_eq!((*id, *seq, data.as_slice()), (0x77, 3, &b"abcdefgh"[..]));
    // The reply went straight back: b had learned a from the resolution request.
    assert_eq!(eth(&wire[3]), (MAC_1, MAC_2, eth(&wire[2]).2));
}

#[test]
fn ping_v4() {
    ping(v4("10.0.0.7").into());
}

#[test]
fn ping_v6() {
    ping(v6("fd00::7").into());
}

#[test]
fn off_subnet_destination_goes_to_the_gateway() {
    let (mut a, _) = pair();
    assert_eq!(
        a.route(v4("10.0.1.7")).unwrap(),
        Route {
            src: v4("10.0.0.5").into(),
            via: Via::Gateway(v4("10.0.0.1").into()),
        }
    );
    assert_eq!(
        a.route(v4("10.0.0.7")).unwrap().via,
        Via::OnLink(v4("10.0.0.7").into())
    );
    let out = a.send_udp(v4("10.0.1.7"), 5000, 53, b"routed").unwrap();
    let (op, _, spa, _, tpa) = arp_fields(&out[0]);
    assert_eq!(
        (op, spa, tpa),
        (ArpOperation::REQUEST, v4("10.0.0.5"), v4("10.0.0.1"))
    );

    // Stand in for the HNV filter answering for the .1 with MAC_DFGW.
    let mut gw = Vm::new("dfgw", MAC_DFGW, &[ifaddr("10.0.0.1/24")], &[]).unwrap();
    let reply = gw.receive(&out[0]);
    let released = a.receive(&reply[0]);
    assert_eq!(released.len(), 1);
    check_frame(&released[0]);
    assert_eq!(eth(&released[0]), (MAC_DFGW, MAC_1, 0x0800));
    assert_eq!(
        ipv4_dst_and_id(&released[0]).0,
        v4("10.0.1.7"),
        "IP dst unchanged"
    );
    assert_eq!(a.neighbor(v4("10.0.0.1")), Some(MAC_DFGW));
    assert_eq!(a.neighbor(v4("10.0.1.7")), None);

    // IPv6: the solicitation is for the gateway too.
    let out = a
        .send_udp(v6("fd00:0:0:1::7"), 5000, 53, b"routed")
        .unwrap();
    let (_, dst, _, _, body) = icmpv6_fields(&out[0]);
    assert_eq!(dst, v6("ff02::1:ff00:1"));
    assert_eq!(&body[4..20], &v6("fd00::1").octets());

    // Without a gateway, an off-subnet destination has no route.
    let lonely = Vm::new("lonely", MAC_2, &[ifaddr("10.0.0.9/24")], &[]).unwrap();
    assert_eq!(
        lonely.route(v4("10.0.1.7")),
        Err(VmError::NoRoute(v4("10.0.1.7").into()))
    );
    assert_eq!(
        lonely.route(v6("fd00::7")),
        Err(VmError::NoSourceAddress(v6("fd00::7").into()))
    );
}

#[test]
fn broadcast_needs_no_resolution() {
    let (mut a, mut b) = pair();
    for dst in ["255.255.255.255", "10.0.0.255"] {
        let out = a.send_udp(v4(dst), 68, 67, b"to all").unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(eth(&out[0]).0, MacAddr::BROADCAST);
        check_frame(&out[0]);
        assert!(b.receive(&out[0]).is_empty());
    }
    let out = a.send_ping(v6("ff02::1"), 1, 1, b"").unwrap();
    assert_eq!(eth(&out[0]).0, MacAddr([0x33, 0x33, 0, 0, 0, 1]));
    assert!(
        b.receive(&out[0]).is_empty(),
        "no reply to a multicast ping"
    );
    assert_eq!(b.udp_received().count(), 2);
    assert_eq!(b.inbox().len(), 3);
    assert_eq!(a.pending(), 0);
}

#[test]
fn tcp_syn_gets_rst_or_syn_ack() {
    for dst in [IpAddr::from(v4("10.0.0.7")), IpAddr::from(v6("fd00::7"))] {
        let (mut a, mut b) = pair();
        let out = a.send_tcp_syn(dst, 49152, 80, 1000).unwrap();
        let wire = shuttle(&mut a, &mut b, out);
        let syn = &wire[2];
        let p = SlicedPacket::from_ethernet(syn).unwrap();
        let Some(TransportSlice::Tcp(t)) = p.transport else {
            panic!("not TCP")
        };
        assert!(t.syn() && !t.ack());
        assert_eq!((t.sequence_number(), t.window_size()), (1000, 64240));
        let mss = if dst.is_ipv4() { 1460u16 } else { 1440 };
        let [hi, lo] = mss.to_be_bytes();
        assert_eq!(t.options(), &[2, 4, hi, lo]);
        // Port 80 is closed: RST, ACK = SYN + 1.
        let Message::Tcp {
            flags, seq, ack, ..
        } = a.inbox().last().unwrap().message
        else {
            panic!("no TCP answer")
        };
        assert_eq!(flags, TcpFlags::RST | TcpFlags::ACK);
        assert_eq!((seq, ack), (0, 1001));

        b.listen_tcp(80);
        let out = a.send_tcp_syn(dst, 49153, 80, 5).unwrap();
        shuttle(&mut a, &mut b, out);
        let Message::Tcp {
            src,
            flags,
            seq,
            ack,
            ..
        } = a.inbox().last().unwrap().message
        else {
            panic!("no TCP answer")
        };
        assert_eq!(src, SocketAddr::new(dst, 80));
        assert_eq!(flags, TcpFlags::SYN | TcpFlags::ACK);
        assert_eq!((seq, ack), (0x1000_0000, 6));
    }
}

#[test]
fn dad_probe_is_defended_and_nud_probe_answered() {
    let (mut a, mut b) = pair();
    let probe = a.dad_probe(v6("fd00::7")).unwrap();
    check_frame(&probe);
    assert_eq!(eth(&probe).0, MacAddr([0x33, 0x33, 0xff, 0, 0, 7]));
    let (src, dst, hl, t, body) = icmpv6_fields(&probe);
    assert_eq!(
        (src, dst, hl, t),
        (Ipv6Addr::UNSPECIFIED, v6("ff02::1:ff00:7"), 255, 135)
    );
    assert_eq!(body.len(), 20, "no source link-layer option from ::");

    let defence = b.receive(&probe);
    assert_eq!(defence.len(), 1);
    check_frame(&defence[0]);
    assert_eq!(
        eth(&defence[0]),
        (MacAddr([0x33, 0x33, 0, 0, 0, 1]), MAC_2, 0x86dd)
    );
    let (src, dst, _, t, body) = icmpv6_fields(&defence[0]);
    assert_eq!((src, dst, t), (v6("fd00::7"), v6("ff02::1"), 136));
    assert_eq!(body[0], 0x20, "override only, not solicited");
    assert_eq!(
        b.neighbor(Ipv6Addr::UNSPECIFIED),
        None,
        "nothing learned from ::"
    );
    a.receive(&defence[0]);
    let Message::NeighborAdvert {
        target,
        target_link_addr,
        solicited,
        ..
    } = a.inbox().last().unwrap().message
    else {
        panic!("advertisement not delivered")
    };
    assert_eq!(
        (target, target_link_addr, solicited),
        (v6("fd00::7"), Some(MAC_2), false)
    );

    // A tentative address nobody owns: silence.
    let free = a.dad_probe(v6("fd00::99")).unwrap();
    assert_eq!(b.receive(&free), Vec::<Vec<u8>>::new());
    assert_eq!(
        b.rejected(),
        &[RxError::NotForUs(MacAddr([0x33, 0x33, 0xff, 0, 0, 0x99]))]
    );

    // NUD: unicast solicitation to the cached neighbour, solicited answer.
    assert_eq!(
        a.nud_probe(v6("fd00::8")),
        Err(VmError::UnknownNeighbor(v6("fd00::8").into()))
    );
    let probe = a.nud_probe(v6("fd00::7")).unwrap();
    assert_eq!(eth(&probe).0, MAC_2);
    assert_eq!(icmpv6_fields(&probe).1, v6("fd00::7"));
    let na = b.receive(&probe);
    assert_eq!(icmpv6_fields(&na[0]).4[0], 0x60);
}

#[test]
fn refuses_what_is_not_for_it() {
    let (mut a, mut b) = pair();
    a.set_neighbor(v4("10.0.0.7"), MAC_2);
    a.set_neighbor(v4("10.0.0.8"), MAC_2);
    let good = a
        .send_udp(v4("10.0.0.7"), 1, 2, b"payload")
        .unwrap()
        .remove(0);

    let mut other_mac = good.clone();
    other_mac[5] = 0x09;
    assert_eq!(
        b.try_receive(&other_mac),
        Err(RxError::NotForUs(MacAddr([0, 0x15, 0x5d, 0, 0, 9])))
    );
    let mut bad_ip = good.clone();
    bad_ip[14 + 8] ^= 1; // TTL
    assert_eq!(
        b.try_receive(&bad_ip),
        Err(RxError::BadChecksum(Layer::Ipv4))
    );
    let mut bad_udp = good.clone();
    bad_udp[14 + 20 + 8] ^= 0x40; // first payload byte (the frame is padded after it)
    assert_eq!(
        b.try_receive(&bad_udp),
        Err(RxError::BadChecksum(Layer::Udp))
    );
    let mut tagged = good[..12].to_vec();
    tagged.extend_from_slice(&[0x81, 0, 0, 10]);
    tagged.extend_from_slice(&good[12..]);
    assert_eq!(b.try_receive(&tagged), Err(RxError::VlanTagged));
    assert_eq!(
        b.try_receive(&good[..10]),
        Err(RxError::Parse(ParseError::Truncated(Layer::Ethernet)))
    );
    let elsewhere = a.send_udp(v4("10.0.0.8"), 1, 2, b"x").unwrap().remove(0);
    assert_eq!(
        b.try_receive(&elsewhere),
        Err(RxError::NotOurAddress(v4("10.0.0.8").into()))
    );
    assert_eq!(a.try_receive(&good), Err(RxError::NotForUs(MAC_2)));
    let own_broadcast = a.arp_request(v4("10.0.0.7")).unwrap();
    assert_eq!(a.try_receive(&own_broadcast), Err(RxError::FromSelf));
    assert!(b.inbox().is_empty());
    assert_eq!(b.try_receive(&good).map(|r| r.len()), Ok(0));
    assert_eq!(b.inbox().len(), 1);

    // Neighbour discovery must arrive with hop limit 255.
    let ns = a.neighbor_solicit(v6("fd00::7")).unwrap();
    let mut forwarded = ns.clone();
    forwarded[14 + 7] = 254;
    assert_eq!(b.try_receive(&forwarded), Err(RxError::BadHopLimit(254)));
    assert_eq!(b.receive(&ns).len(), 1);

    // An ARP request for someone else is seen (broadcast) but not answered.
    let arp = a.arp_request(v4("10.0.0.99")).unwrap();
    assert!(b.receive(&arp).is_empty());
    let Message::Arp { op, target_ip, .. } = b.inbox().last().unwrap().message else {
        panic!("ARP not delivered")
    };
    assert_eq!((op, target_ip), (ArpOp::Request, v4("10.0.0.99")));
}

#[test]
fn constructor_checks() {
    assert_eq!(
        Vm::new(
            "x",
            MacAddr([1, 0, 0x5e, 0, 0, 1]),
            &[ifaddr("10.0.0.5/24")],
            &[]
        )
        .err(),
        Some(VmError::NotUnicastMac(MacAddr([1, 0, 0x5e, 0, 0, 1])))
    );
    assert_eq!(
        Vm::new("x", MAC_1, &[], &[]).err(),
        Some(VmError::NoAddresses)
    );
    assert_eq!(
        Vm::new(
            "x",
            MAC_1,
            &[ifaddr("10.0.0.5/24")],
            &[v4("10.0.1.1").into()]
        )
        .err(),
        Some(VmError::GatewayNotOnLink(v4("10.0.1.1").into()))
    );
    assert_eq!(
        Vm::new(
            "x",
            MAC_1,
            &[ifaddr("10.0.0.5/24")],
            &[v4("10.0.0.1").into(), v4("10.0.0.2").into()]
        )
        .err(),
        Some(VmError::SecondGateway(v4("10.0.0.2").into()))
    );
    assert_eq!(
        Vm::new(
            "x",
            MAC_1,
            &[ifaddr("10.0.0.5/24"), ifaddr("10.0.0.5/16")],
            &[]
        )
        .err(),
        Some(VmError::DuplicateAddress(v4("10.0.0.5").into()))
    );
    assert_eq!(
        "10.0.0.5/33".parse::<IfAddr>(),
        Err(VmError::PrefixTooLong {
            addr: v4("10.0.0.5").into(),
            prefix_len: 33
        })
    );
    assert_eq!("10.0.0.5".parse::<IfAddr>(), Err(VmError::AddressSyntax));
    assert_eq!(
        "ff02::1/64".parse::<IfAddr>(),
        Err(VmError::NotUnicastAddress(v6("ff02::1").into()))
    );
    let (mut a, _) = pair();
    assert_eq!(
        a.send_udp(v4("10.0.0.5"), 1, 2, b""),
        Err(VmError::OwnAddress(v4("10.0.0.5").into()))
    );
    assert_eq!(
        a.send_udp(v4("10.0.0.7"), 1, 2, &[0; 1473]),
        Err(VmError::TooLarge {
            len: 1501,
            limit: 1500
        })
    );
    assert_eq!(
        a.send_udp(v4("10.0.0.7"), 1, 2, &[0; 1472])
            .map(|f| f.len()),
        Ok(1)
    );
}

#[test]
fn runs_are_deterministic() {
    let run = || {
        let (mut a, mut b) = pair();
        let mut wire = Vec::new();
        let out = a.send_udp(v4("10.0.0.7"), 1, 2, b"x").unwrap();
        wire.extend(shuttle(&mut a, &mut b, out));
        let out = a.send_ping(v6("fd00::7"), 9, 9, b"y").unwrap();
        wire.extend(shuttle(&mut a, &mut b, out));
        wire
    };
    let first = run();
    assert_eq!(first.len(), 7);
    assert_eq!(first, run());
}

/// One step of a scenario: what the first VM sends.
type Step = Box<dyn Fn(&mut Vm) -> Vec<Vec<u8>>>;

/// Every exchange of this file's scenarios, in order, for the pcap.
fn full_exchange() -> Vec<Vec<u8>> {
    let (mut a, mut b) = pair();
    b.listen_tcp(443);
    let mut wire = Vec::new();
    let steps: Vec<Step> = vec![
        Box::new(|a| a.send_udp(v4("10.0.0.7"), 5000, 7000, b"udp v4").unwrap()),
        Box::new(|a| a.send_ping(v4("10.0.0.7"), 1, 1, b"ping v4").unwrap()),
        Box::new(|a| a.send_tcp_syn(v4("10.0.0.7"), 49152, 443, 1).unwrap()),
        Box::new(|a| a.send_tcp_syn(v4("10.0.0.7"), 49153, 80, 1).unwrap()),
        Box::new(|a| a.send_udp(v6("fd00::7"), 5000, 7000, b"udp v6").unwrap()),
        Box::new(|a| a.send_ping(v6("fd00::7"), 1, 1, b"ping v6").unwrap()),
        Box::new(|a| a.send_tcp_syn(v6("fd00::7"), 49152, 443, 1).unwrap()),
        Box::new(|a| vec![a.dad_probe(v6("fd00::7")).unwrap()]),
        Box::new(|a| vec![a.nud_probe(v6("fd00::7")).unwrap()]),
    ];
    for step in steps {
        let out = step(&mut a);
        wire.extend(shuttle(&mut a, &mut b, out));
    }
    assert!(a.rejected().is_empty(), "{:?}", a.rejected());
    assert!(b.rejected().is_empty(), "{:?}", b.rejected());
    wire
}

/// tshark's fields for every frame of `pcap`, checksum checking on (`hnv_sim::tshark`).
fn tshark_fields(pcap: &Path, fields: &[&str]) -> Vec<Vec<String>> {
    hnv_sim::tshark::fields(pcap, fields).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn tshark_finds_every_checksum_good() {
    let wire = full_exchange();
    let dir = std::env::temp_dir().join(format!("hnv-vm-tshark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pcap = dir.join("vms.pcap");
    let mut w = PcapWriter::new(std::fs::File::create(&pcap).unwrap()).unwrap();
    for (i, f) in wire.iter().enumerate() {
        w.write_frame(1, i as u32, f).unwrap();
    }
    w.into_inner().unwrap();

    let fields = [
        "frame.protocols",
        "ip.checksum.status",
        "udp.checksum.status",
        "tcp.checksum.status",
        "icmp.checksum.status",
        "icmpv6.checksum.status",
        "_ws.malformed",
    ];
    let rows = tshark_fields(&pcap, &fields);
    assert_eq!(rows.len(), wire.len());
    let mut checked = [0usize; 5];
    for (i, row) in rows.iter().enumerate() {
        let ctx = format!("frame {i}: {row:?}");
        assert_eq!(row.len(), fields.len(), "{ctx}");
        assert_eq!(row[6], "", "malformed; {ctx}");
        for (n, status) in row[1..6].iter().enumerate() {
            // Wireshark checksum status: 0 bad, 1 good, 2 unverified, 3 not present.
            for s in status.split(';').filter(|s| !s.is_empty()) {
                assert_eq!(s, "1", "{}; {ctx}", fields[n + 1]);
                checked[n] += 1;
            }
        }
    }
    // Every kind of checksum was actually checked, as often as the exchange carries it.
    let count = |needle: &str| rows.iter().filter(|r| r[0].contains(needle)).count();
    assert_eq!(checked[0], count("eth:ethertype:ip:"), "IPv4 headers");
    assert_eq!(checked[1], count(":udp"), "UDP");
    assert_eq!(checked[2], count(":tcp"), "TCP");
    assert_eq!(checked[3], count(":icmp:"), "ICMP");
    assert_eq!(checked[4], count(":icmpv6"), "ICMPv6");
    assert!(checked.iter().all(|&c| c >= 2), "{checked:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn fed_frames() -> Vec<Vec<u8>> {
    full_exchange()
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let (_, mut b) = pair();
        let out = b.receive(&bytes);
        prop_assert!(out.len() <= 1);
    }

    #[test]
    fn arbitrary_payload_behind_a_valid_header_never_panics(
        ethertype in prop_oneof![Just(0x0806u16), Just(0x0800), Just(0x86dd)],
        dst in prop_oneof![Just(MAC_2.0), Just([0xff; 6]), Just([0x33, 0x33, 0xff, 0, 0, 7])],
        payload in proptest::collection::vec(any::<u8>(), 0..120),
    ) {
        let (_, mut b) = pair();
        let mut frame = dst.to_vec();
        frame.extend_from_slice(&MAC_1.0);
        frame.extend_from_slice(&ethertype.to_be_bytes());
        frame.extend_from_slice(&payload);
        let _ = b.receive(&frame);
        prop_assert_eq!(b.inbox().len() + b.rejected().len(), 1);
    }

    #[test]
    fn mutated_valid_frames_never_panic(
        pick in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        xor in 1u8..,
        cut in any::<prop::sample::Index>(),
    ) {
        let frames = fed_frames();
        let mut frame = pick.get(&frames).clone();
        let i = at.index(frame.len());
        frame[i] ^= xor;
        frame.truncate(cut.index(frame.len() + 1).max(i + 1));
        let (mut a, mut b) = pair();
        let _ = a.receive(&frame);
        let _ = b.receive(&frame);
        prop_assert_eq!(a.inbox().len() + a.rejected().len(), 1);
        prop_assert_eq!(b.inbox().len() + b.rejected().len(), 1);
    }
}
