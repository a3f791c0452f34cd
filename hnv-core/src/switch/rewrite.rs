//! IP rewrite (TranslationMethodNat): the source and destination addresses of an IPv4 or
//! IPv6 packet replaced in place, with the IPv4 header checksum and the TCP, UDP and
//! ICMPv6 checksums updated incrementally (RFC 1624) over the changed pseudo-header words.
//! ICMPv4 has no pseudo-header, so its checksum stays as it is.

use core::net::IpAddr;

use crate::wire::checksum::update_bytes;
use crate::wire::ethernet::{EtherType, EthernetFrame};
use crate::wire::ip_proto;
use crate::wire::ipv4::Ipv4Packet;
use crate::wire::ipv6::Ipv6Packet;
use crate::DropReason;

/// Where the fields to change are, found by a read-only parse.
struct Layout {
    /// Offset of the source address; the destination follows it.
    addrs: usize,
    /// Address length (4 or 16).
    alen: usize,
    /// Offset of the IPv4 header checksum.
    ip_check: Option<usize>,
    /// Offset of the L4 checksum covering the pseudo-header, and whether it is UDP.
    l4_check: Option<(usize, bool)>,
}

fn layout(frame: &[u8], v6: bool) -> Option<Layout> {
    let eth = EthernetFrame::parse(frame).ok()?;
    let l3 = eth.header_len();
    let l4 = |protocol: u8, at: usize, first_fragment: bool| -> Option<(usize, bool)> {
        if !first_fragment {
            return None;
        }
        match protocol {
            ip_proto::TCP => Some((at + 16, false)),
            ip_proto::UDP => Some((at + 6, true)),
            ip_proto::ICMPV6 if v6 => Some((at + 2, false)),
            _ => None,
        }
    };
    match (eth.ethertype(), v6) {
        (EtherType::IPV4, false) => {
            let ip = Ipv4Packet::parse(eth.payload()).ok()?;
            let h = ip.header();
            let at = l3 + ip.header_len();
            let fragment_offset = h.flags_frag.get() & 0x1fff;
            let first = fragment_offset == 0;
            let l4c = l4(h.protocol, at, first)
                .filter(|(o, _)| o + 2 <= l3 + ip.header_len() + ip.payload().len());
            Some(Layout {
                addrs: l3 + 12,
                alen: 4,
                ip_check: Some(l3 + 10),
                l4_check: l4c,
            })
        }
        (EtherType::IPV6, true) => {
            let ip = Ipv6Packet::parse(eth.payload()).ok()?;
            let ul = ip.upper_layer().ok()?;
            let first = ul.fragment.is_none_or(|f| f.offset == 0);
            let at = l3 + 40 + ul.offset;
            let l4c =
                l4(ul.protocol, at, first).filter(|(o, _)| o + 2 <= l3 + 40 + ip.payload().len());
            Some(Layout {
                addrs: l3 + 8,
                alen: 16,
                ip_check: None,
                l4_check: l4c,
            })
        }
        _ => None,
    }
}

fn read16(b: &[u8], at: usize) -> Option<u16> {
    let w = b.get(at..at + 2)?;
    Some(u16::from_be_bytes([*w.first()?, *w.get(1)?]))
}

fn write16(b: &mut [u8], at: usize, v: u16) {
    if let Some(w) = b.get_mut(at..at + 2) {
        w.copy_from_slice(&v.to_be_bytes());
    }
}

/// Rewrites the source and destination addresses of the IP packet in `frame` (an
/// Ethernet frame) to `src` and `dst`, fixing the checksums. Both must be of the packet's
/// family. On error nothing is written.
pub(super) fn rewrite_ips(frame: &mut [u8], src: IpAddr, dst: IpAddr) -> Result<(), DropReason> {
    let mut new = [0u8; 32];
    let v6 = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            new[..4].copy_from_slice(&s.octets());
            new[4..8].copy_from_slice(&d.octets());
            false
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            new[..16].copy_from_slice(&s.octets());
            new[16..].copy_from_slice(&d.octets());
            true
        }
        _ => return Err(DropReason::UnsupportedRule),
    };
    let l = layout(frame, v6).ok_or(DropReason::NotRoutable)?;
    let new = new.get(..2 * l.alen).ok_or(DropReason::NotRoutable)?;
    let mut old = [0u8; 32];
    let old = {
        let span = frame
            .get(l.addrs..l.addrs + 2 * l.alen)
            .ok_or(DropReason::NotRoutable)?;
        let o = old.get_mut(..2 * l.alen).ok_or(DropReason::NotRoutable)?;
        o.copy_from_slice(span);
        &*o
    };
    if let Some(at) = l.ip_check {
        let c = read16(frame, at).ok_or(DropReason::NotRoutable)?;
        write16(frame, at, update_bytes(c, old, new));
    }
    if let Some((at, udp)) = l.l4_check {
        let c = read16(frame, at).ok_or(DropReason::NotRoutable)?;
        // An IPv4 UDP checksum of 0 means "none" and stays 0; a computed 0 is sent as
        // 0xffff (RFC 768).
        if !(udp && !v6 && c == 0) {
            let n = update_bytes(c, old, new);
            write16(frame, at, if udp && n == 0 { 0xffff } else { n });
        }
    }
    if let Some(span) = frame.get_mut(l.addrs..l.addrs + 2 * l.alen) {
        span.copy_from_slice(new);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{Ipv4Addr, Ipv6Addr};
    use etherparse::{PacketBuilder, SlicedPacket, TransportSlice};
    use std::vec::Vec;

    fn v6(last: u16) -> Ipv6Addr {
        Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, last)
    }

    /// Every L4 checksum of an IPv6 frame, checked by etherparse.
    fn check_v6(frame: &[u8]) -> (Ipv6Addr, Ipv6Addr) {
        let s = SlicedPacket::from_ethernet(frame).unwrap();
        let Some(etherparse::NetSlice::Ipv6(ip)) = &s.net else {
            panic!()
        };
        let (src, dst) = (ip.header().source(), ip.header().destination());
        match &s.transport {
            Some(TransportSlice::Udp(u)) => {
                let want = u
                    .to_header()
                    .calc_checksum_ipv6_raw(src, dst, u.payload())
                    .unwrap();
                assert_eq!(u.checksum(), want);
            }
            Some(TransportSlice::Icmpv6(i)) => {
                let want = i
                    .header()
                    .icmp_type
                    .calc_checksum(src, dst, i.payload())
                    .unwrap();
                assert_eq!(i.checksum(), want);
            }
            other => panic!("{other:?}"),
        }
        (src.into(), dst.into())
    }

    #[test]
    fn ipv6_udp_and_icmpv6_rewritten_with_valid_checksums_and_back() {
        let mk = |icmp: bool| {
            let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]).ipv6(
                v6(5).octets(),
                v6(7).octets(),
                64,
            );
            let mut out = Vec::new();
            if icmp {
                b.icmpv6_echo_request(1, 2)
                    .write(&mut out, b"ping")
                    .unwrap();
            } else {
                b.udp(1000, 2000).write(&mut out, b"payload").unwrap();
            }
            out
        };
        for icmp in [false, true] {
            let orig = mk(icmp);
            let mut f = orig.clone();
            rewrite_ips(&mut f, v6(51).into(), v6(52).into()).unwrap();
            assert_eq!(check_v6(&f), (v6(51), v6(52)));
            rewrite_ips(&mut f, v6(5).into(), v6(7).into()).unwrap();
            assert_eq!(f, orig);
        }
    }

    #[test]
    fn ipv4_udp_without_checksum_keeps_it_zero() {
        let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4([10, 0, 0, 5], [10, 0, 0, 7], 64)
            .udp(1, 2);
        let mut f = Vec::new();
        b.write(&mut f, b"x").unwrap();
        f[14 + 20 + 6..14 + 20 + 8].copy_from_slice(&[0, 0]);
        let new = (
            Ipv4Addr::new(192, 168, 4, 51),
            Ipv4Addr::new(192, 168, 4, 52),
        );
        rewrite_ips(&mut f, new.0.into(), new.1.into()).unwrap();
        assert_eq!(f[14 + 20 + 6..14 + 20 + 8], [0, 0]);
        assert!(crate::wire::checksum::verifies(&f[14..34]));
    }

    #[test]
    fn family_mismatch_and_non_ip_are_refused_unchanged() {
        let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4([10, 0, 0, 5], [10, 0, 0, 7], 64)
            .udp(1, 2);
        let mut f = Vec::new();
        b.write(&mut f, b"x").unwrap();
        let orig = f.clone();
        assert_eq!(
            rewrite_ips(&mut f, v6(1).into(), v6(2).into()),
            Err(DropReason::NotRoutable)
        );
        assert_eq!(
            rewrite_ips(&mut f, v6(1).into(), Ipv4Addr::LOCALHOST.into()),
            Err(DropReason::UnsupportedRule)
        );
        assert_eq!(f, orig);
    }
}
