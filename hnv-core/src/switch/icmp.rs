//! ICMP the switch originates in place: "fragmentation needed" / "packet too big" to a VM
//! whose packet would not fit the uplink once encapsulated, and echo replies for pings to
//! this host's PAs.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::buf::PacketBuf;
use crate::ids::MacAddr;
use crate::wire::checksum::{self, Checksum};
use crate::wire::ethernet::{EtherType, EthernetFrame};
use crate::wire::ip_proto;
use crate::wire::ipv4::Ipv4Packet;
use crate::DropReason;

/// Largest IPv4 datagram an ICMPv4 error may make (RFC 1812 §4.3.2.3: 576 bytes).
const ICMPV4_ERROR_MAX: usize = 576;
/// Largest IPv6 packet an ICMPv6 error may make (RFC 4443 §2.4(c): the minimum MTU).
const ICMPV6_ERROR_MAX: usize = 1280;

fn put(b: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(dst) = b.get_mut(at..at + bytes.len()) {
        dst.copy_from_slice(bytes);
    }
}

/// What a too-big packet looks like: its family, DF and source address.
pub(super) fn too_big_kind(frame: &[u8]) -> Option<(bool, IpAddr)> {
    let eth = EthernetFrame::parse(frame).ok()?;
    match eth.ethertype() {
        EtherType::IPV4 => {
            let ip = Ipv4Packet::parse(eth.payload()).ok()?;
            Some((ip.header().dont_fragment(), IpAddr::V4(ip.header().src())))
        }
        EtherType::IPV6 => {
            let src: [u8; 16] = eth.payload().get(8..24)?.try_into().ok()?;
            Some((true, IpAddr::V6(Ipv6Addr::from(src))))
        }
        _ => None,
    }
}

/// Turns the VM's packet in `frame` into the ICMP error that tells it the path MTU is
/// `mtu`: Destination Unreachable / Fragmentation Needed (IPv4) or Packet Too Big (IPv6),
/// from the virtual subnet's gateway (`gw_ip`, `gw_mac`) to the VM, quoting as much of the
/// packet as the error may carry. The headers go into the headroom; nothing is copied.
pub(super) fn too_big<P: PacketBuf + ?Sized>(
    frame: &mut P,
    gw_mac: MacAddr,
    gw_ip: IpAddr,
    mtu: u16,
) -> Result<(), DropReason> {
    let (vm_mac, vm_ip) = {
        let eth = EthernetFrame::parse(frame.data()).map_err(|_| DropReason::NotRoutable)?;
        let (_, src) = too_big_kind(frame.data()).ok_or(DropReason::NotRoutable)?;
        (eth.src(), src)
    };
    let quoted = frame.len() - 14;
    match (gw_ip, vm_ip) {
        (IpAddr::V4(gw), IpAddr::V4(vm)) => {
            let quoted = quoted.min(ICMPV4_ERROR_MAX - 28);
            frame.push_front(28).map_err(|_| DropReason::NoHeadroom)?;
            frame.truncate(42 + quoted);
            let b = frame.data_mut();
            write_eth(b, vm_mac, gw_mac, EtherType::IPV4);
            let total = (28 + quoted) as u16;
            let ip_sum = Checksum::new()
                .add_u16(0x4500)
                .add_u16(total)
                .add_u16(0)
                .add_u16(0)
                .add_u16(64 << 8 | u16::from(ip_proto::ICMP))
                .add_u32(gw.to_bits())
                .add_u32(vm.to_bits());
            put(b, 14, &[0x45, 0]);
            put(b, 16, &total.to_be_bytes());
            put(b, 18, &[0, 0, 0, 0, 64, ip_proto::ICMP]);
            put(b, 24, &ip_sum.finish().to_be_bytes());
            put(b, 26, &gw.octets());
            put(b, 30, &vm.octets());
            // Type 3 code 4, checksum, unused, next-hop MTU (RFC 1191).
            put(b, 34, &[3, 4, 0, 0, 0, 0]);
            put(b, 40, &mtu.to_be_bytes());
            let sum = checksum::of(b.get(34..).unwrap_or_default());
            put(b, 36, &sum.to_be_bytes());
            Ok(())
        }
        (IpAddr::V6(gw), IpAddr::V6(vm)) => {
            let quoted = quoted.min(ICMPV6_ERROR_MAX - 48);
            frame.push_front(48).map_err(|_| DropReason::NoHeadroom)?;
            frame.truncate(62 + quoted);
            let b = frame.data_mut();
            write_eth(b, vm_mac, gw_mac, EtherType::IPV6);
            let plen = (8 + quoted) as u16;
            put(b, 14, &[0x60, 0, 0, 0]);
            put(b, 18, &plen.to_be_bytes());
            put(b, 20, &[ip_proto::ICMPV6, 64]);
            put(b, 22, &gw.octets());
            put(b, 38, &vm.octets());
            // Type 2 code 0, checksum, MTU (32 bits).
            put(b, 54, &[2, 0, 0, 0]);
            put(b, 58, &u32::from(mtu).to_be_bytes());
            let sum = checksum::pseudo_v6(gw, vm, ip_proto::ICMPV6, u32::from(plen))
                .add_bytes(b.get(54..).unwrap_or_default())
                .finish();
            put(b, 56, &sum.to_be_bytes());
            Ok(())
        }
        _ => Err(DropReason::NotRoutable),
    }
}

fn write_eth(b: &mut [u8], dst: MacAddr, src: MacAddr, t: EtherType) {
    put(b, 0, &dst.0);
    put(b, 6, &src.0);
    put(b, 12, &t.0.to_be_bytes());
}

/// True when `frame` is an ICMPv4 echo request to `pa` (unfragmented).
pub(super) fn is_echo_request_to(frame: &[u8], pa: Ipv4Addr) -> bool {
    let Ok(eth) = EthernetFrame::parse(frame) else {
        return false;
    };
    if eth.ethertype() != EtherType::IPV4 {
        return false;
    }
    let Ok(ip) = Ipv4Packet::parse(eth.payload()) else {
        return false;
    };
    let h = ip.header();
    // An echo request has at least its 8-byte header (type, code, checksum, id, sequence);
    // anything shorter is not one, and answering it would echo a request back.
    h.dst() == pa
        && h.protocol == ip_proto::ICMP
        && !h.is_fragment()
        && ip.payload().len() >= ECHO_HEADER_LEN
        && ip.payload().first() == Some(&8)
        && ip.payload().get(1) == Some(&0)
}

/// Type, code, checksum, identifier and sequence number of an ICMP echo message.
const ECHO_HEADER_LEN: usize = 8;

/// Turns an ICMPv4 echo request (checked by [`is_echo_request_to`]) into its reply from
/// `mac`: addresses swapped, type 0, TTL 64, checksums updated.
pub(super) fn echo_reply(frame: &mut [u8], mac: MacAddr) {
    let Ok(mut eth) = EthernetFrame::parse(&mut *frame) else {
        return;
    };
    let peer = eth.src();
    let h = eth.header_mut();
    h.dst = peer;
    h.src = mac;
    let Ok(mut ip) = Ipv4Packet::parse(eth.payload_mut()) else {
        return;
    };
    let h = ip.header_mut();
    let (src, dst) = (h.src, h.dst);
    h.src = dst;
    h.dst = src;
    // Swapping the addresses keeps the header sum; the TTL word changes.
    let old_word = u16::from(h.ttl) << 8 | u16::from(h.protocol);
    h.ttl = 64;
    let new_word = u16::from(h.ttl) << 8 | u16::from(h.protocol);
    h.checksum
        .set(checksum::update_u16(h.checksum.get(), old_word, new_word));
    // The ICMP checksum is computed afresh rather than updated: an incremental update of a
    // message that sums to zero (id 0, sequence 0, zero data) gives 0x0000 where 0xffff is
    // the only correct value, and a ping to a PA is not the data path.
    let payload = ip.payload_mut();
    if payload.len() >= ECHO_HEADER_LEN {
        put(payload, 0, &[0]);
        put(payload, 2, &[0, 0]);
        let n = checksum::of(payload);
        put(payload, 2, &n.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buf::FrameBuf;
    use etherparse::{Icmpv6Type, PacketBuilder, SlicedPacket, TransportSlice};
    use std::vec;
    use std::vec::Vec;

    #[test]
    fn packet_too_big_for_ipv6_from_the_gateway() {
        let vm = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 5);
        let gw = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1);
        let mut pkt = Vec::new();
        PacketBuilder::ethernet2([2, 0, 0, 0, 0, 5], [2, 0, 0, 0, 0, 7])
            .ipv6(
                vm.octets(),
                Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 7).octets(),
                64,
            )
            .udp(1, 2)
            .write(&mut pkt, &vec![7u8; 1400 - 62])
            .unwrap();
        let mut mem = vec![0u8; 128 + pkt.len()];
        mem[128..].copy_from_slice(&pkt);
        let mut f = FrameBuf::new(&mut mem, 128, pkt.len()).unwrap();
        too_big(&mut f, MacAddr([2, 0, 0x5e, 0, 1, 1]), gw.into(), 1438).unwrap();
        let s = SlicedPacket::from_ethernet(f.data()).unwrap();
        let Some(etherparse::NetSlice::Ipv6(ip)) = &s.net else {
            panic!()
        };
        assert_eq!(
            (ip.header().source_addr(), ip.header().destination_addr()),
            (gw, vm)
        );
        assert_eq!(usize::from(ip.header().payload_length()) + 40, 1280);
        let Some(TransportSlice::Icmpv6(icmp)) = &s.transport else {
            panic!()
        };
        assert_eq!(icmp.icmp_type(), Icmpv6Type::PacketTooBig { mtu: 1438 });
        let want = icmp
            .icmp_type()
            .calc_checksum(gw.octets(), vm.octets(), icmp.payload())
            .unwrap();
        assert_eq!(icmp.checksum(), want);
        assert_eq!(icmp.payload(), &pkt[14..14 + 1232]);
        assert_eq!(&f.data()[..12], &[2, 0, 0, 0, 0, 5, 2, 0, 0x5e, 0, 1, 1]);
    }

    #[test]
    fn no_headroom_is_a_drop_and_changes_nothing() {
        let mut pkt = Vec::new();
        PacketBuilder::ethernet2([2, 0, 0, 0, 0, 5], [2, 0, 0, 0, 0, 7])
            .ipv4([10, 0, 0, 5], [10, 0, 0, 7], 64)
            .udp(1, 2)
            .write(&mut pkt, b"x")
            .unwrap();
        let mut mem = pkt.clone();
        let mut f = FrameBuf::new(&mut mem, 0, pkt.len()).unwrap();
        let gw = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(
            too_big(&mut f, MacAddr([2; 6]), gw, 1458),
            Err(DropReason::NoHeadroom)
        );
        assert_eq!(f.data(), &pkt[..]);
    }
}
