//! IPv6 neighbour discovery at the switch: recognising neighbour solicitations and
//! answering them in place with an advertisement (for the gateway, or on behalf of a remote
//! VM, as ARP is answered for IPv4).

use core::net::Ipv6Addr;

use crate::ids::MacAddr;
use crate::wire::ethernet::{EtherType, EthernetFrame};
use crate::wire::icmpv6::{Icmpv6Packet, NeighborSolicit};
use crate::wire::ip_proto;
use crate::wire::ipv6::Ipv6Packet;

/// ICMPv6 type of a neighbour solicitation (RFC 4861 §4.3).
const NS: u8 = 135;
/// ICMPv6 type of a neighbour advertisement (RFC 4861 §4.4).
const NA: u8 = 136;
/// All-nodes multicast, the destination of an advertisement answering DAD.
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// A neighbour solicitation's source and target.
#[derive(Clone, Copy)]
pub(super) struct Solicit {
    /// `::` for duplicate address detection.
    pub src: Ipv6Addr,
    pub target: Ipv6Addr,
}

impl Solicit {
    /// Duplicate address detection (RFC 4862 §5.4): sent from `::`.
    pub fn is_dad(&self) -> bool {
        self.src.is_unspecified()
    }
}

/// The ICMPv6 message right after the fixed IPv6 header of an Ethernet payload, with hop
/// limit 255 (RFC 4861 §7.1), if there is one.
fn nd_message(l3: &[u8]) -> Option<(Ipv6Addr, u8, &[u8])> {
    let ip = Ipv6Packet::parse(l3).ok()?;
    let (next, hop_limit, src) = (
        ip.header().next_header,
        ip.header().hop_limit,
        ip.header().src(),
    );
    if next != ip_proto::ICMPV6 || hop_limit != 255 {
        return None;
    }
    let payload = ip.into_payload();
    let t = *payload.first()?;
    Some((src, t, payload))
}

/// The solicitation in an IPv6 Ethernet payload, if it is one.
pub(super) fn solicit(ethertype: EtherType, l3: &[u8]) -> Option<Solicit> {
    if ethertype != EtherType::IPV6 {
        return None;
    }
    let (src, t, msg) = nd_message(l3)?;
    if t != NS {
        return None;
    }
    let icmp = Icmpv6Packet::parse(msg).ok()?;
    let ns = NeighborSolicit::parse(icmp.body()).ok()?;
    Some(Solicit {
        src,
        target: ns.target(),
    })
}

fn put(b: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(dst) = b.get_mut(at..at + bytes.len()) {
        dst.copy_from_slice(bytes);
    }
}

/// Turns the solicitation in `frame` (checked by [`solicit`]) into the advertisement "the
/// target is at `mac`": from the target address to the solicitor (all-nodes for DAD), with
/// the solicited (not for DAD), override and — for the gateway — router flags and a target
/// link-layer option when the solicitation left room for one. Returns the new frame length.
pub(super) fn advertise(frame: &mut [u8], mac: MacAddr, router: bool) -> Option<usize> {
    let (requester, s, options_len) = {
        let eth = EthernetFrame::parse(&*frame).ok()?;
        let s = solicit(eth.ethertype(), eth.payload())?;
        let (_, _, msg) = nd_message(eth.payload())?;
        (eth.src(), s, msg.len().checked_sub(24)?)
    };
    let dad = s.is_dad();
    let dst_ip = if dad { ALL_NODES } else { s.src };
    let dst_mac = if dad {
        MacAddr([0x33, 0x33, 0, 0, 0, 1])
    } else {
        requester
    };
    let with_option = options_len >= 8;
    let icmp_len: u16 = if with_option { 32 } else { 24 };
    put(frame, 0, &dst_mac.0);
    put(frame, 6, &mac.0);
    // IPv6: payload length, hop limit 255, source = target, destination.
    put(frame, 18, &icmp_len.to_be_bytes());
    put(frame, 21, &[255]);
    put(frame, 22, &s.target.octets());
    put(frame, 38, &dst_ip.octets());
    // ICMPv6: type 136, code 0, flags, target unchanged.
    put(frame, 54, &[NA, 0, 0, 0]);
    let flags: u8 = (u8::from(router) << 7) | (u8::from(!dad) << 6) | (1 << 5);
    put(frame, 58, &[flags, 0, 0, 0]);
    if with_option {
        put(frame, 78, &[2, 1]);
        put(frame, 80, &mac.0);
    }
    let len = 54 + usize::from(icmp_len);
    let msg = frame.get_mut(54..len)?;
    let mut icmp = Icmpv6Packet::parse(msg).ok()?;
    icmp.fill_checksum(s.target, dst_ip);
    Some(len)
}
