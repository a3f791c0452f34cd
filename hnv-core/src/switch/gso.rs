//! [`Gso`]: what the switch needs to know about a GSO super-frame (a TCP or UDP send a VM
//! handed over whole, larger than its MTU, to be cut into segments after the switch).

use crate::wire::ethernet::{EtherType, EthernetFrame};
use crate::wire::ip_proto;
use crate::wire::ipv4::Ipv4Packet;
use crate::wire::ipv6::Ipv6Packet;
use crate::wire::tcp::TcpPacket;
use crate::wire::udp::UdpHeader;

/// The segmentation a GSO super-frame asks for (virtio-net `gso_size`, NDIS LSO MSS): see
/// [`Switch::from_port_gso`](super::Switch::from_port_gso).
///
/// Only the segment size travels: the header length is read from the frame itself
/// ([`Gso::segment_len`]), since the `hdr_len` a virtio-net header carries is a hint
/// (Linux puts the length of the skb's linear part there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Gso {
    /// Transport payload bytes per segment (the last segment may be shorter).
    pub mss: u16,
}

impl Gso {
    /// A super-frame cut into segments of `mss` payload bytes.
    pub const fn new(mss: u16) -> Self {
        Self { mss }
    }

    /// The length of the largest segment `frame` is cut into: every header up to the
    /// transport payload (Ethernet with its VLAN tag, IPv4 with options or IPv6 with
    /// extension headers, TCP with options or UDP) plus `mss` bytes, at most the frame's
    /// length. `None` when the frame is not TCP or UDP over IPv4 / IPv6 (or is a
    /// fragment), or `mss` is 0: such a frame cannot be segmented.
    pub fn segment_len(self, frame: &[u8]) -> Option<usize> {
        if self.mss == 0 {
            return None;
        }
        let eth = EthernetFrame::parse(frame).ok()?;
        let l3 = eth.header_len();
        let (protocol, l4) = match eth.ethertype() {
            EtherType::IPV4 => {
                let ip = Ipv4Packet::parse(eth.payload()).ok()?;
                if ip.header().is_fragment() {
                    return None;
                }
                (ip.header().protocol, l3 + ip.header_len())
            }
            EtherType::IPV6 => {
                let ip = Ipv6Packet::parse(eth.payload()).ok()?;
                let ul = ip.upper_layer().ok()?;
                if ul.fragment.is_some() {
                    return None;
                }
                (ul.protocol, l3 + 40 + ul.offset)
            }
            _ => return None,
        };
        let rest = frame.get(l4..)?;
        let payload = match protocol {
            ip_proto::TCP => l4 + TcpPacket::parse(rest).ok()?.header_len(),
            ip_proto::UDP if rest.len() >= UdpHeader::LEN => l4 + UdpHeader::LEN,
            _ => return None,
        };
        Some((payload + usize::from(self.mss)).min(frame.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ethernet + IPv4 (ihl words) + TCP (doff words) headers, `payload` bytes after.
    fn tcp4(ihl: u8, doff: u8, payload: usize) -> [u8; 4096] {
        let mut f = [0u8; 4096];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x40 | ihl;
        let ip_len = usize::from(ihl) * 4 + usize::from(doff) * 4 + payload;
        f[16..18].copy_from_slice(&(ip_len as u16).to_be_bytes());
        f[20] = 0x40; // DF
        f[22] = 64;
        f[23] = ip_proto::TCP;
        let l4 = 14 + usize::from(ihl) * 4;
        f[l4 + 12] = doff << 4;
        f
    }

    #[test]
    fn largest_segment_of_tcp_and_udp() {
        let f = tcp4(5, 8, 1800);
        let len = 14 + 20 + 32 + 1800;
        assert_eq!(
            Gso::new(1448).segment_len(&f[..len]),
            Some(14 + 20 + 32 + 1448)
        );
        // Options on both headers count as headers.
        let f = tcp4(6, 5, 3000);
        let len = 14 + 24 + 20 + 3000;
        assert_eq!(
            Gso::new(1000).segment_len(&f[..len]),
            Some(14 + 24 + 20 + 1000)
        );
        // A super-frame shorter than one segment is its own largest segment.
        let f = tcp4(5, 5, 100);
        assert_eq!(Gso::new(1448).segment_len(&f[..159]), Some(159));
        let mut f = tcp4(5, 5, 1000);
        f[23] = ip_proto::UDP;
        assert_eq!(
            Gso::new(500).segment_len(&f[..1054]),
            Some(14 + 20 + 8 + 500)
        );
    }

    #[test]
    fn unsegmentable_frames() {
        let f = tcp4(5, 5, 1000);
        assert_eq!(Gso::new(0).segment_len(&f[..1054]), None);
        let mut icmp = f;
        icmp[23] = ip_proto::ICMP;
        assert_eq!(Gso::new(500).segment_len(&icmp[..1054]), None);
        let mut frag = f;
        frag[20] = 0x20; // MF
        assert_eq!(Gso::new(500).segment_len(&frag[..1054]), None);
        let mut bad_doff = f;
        bad_doff[14 + 20 + 12] = 4 << 4;
        assert_eq!(Gso::new(500).segment_len(&bad_doff[..1054]), None);
        assert_eq!(Gso::new(500).segment_len(&f[..40]), None);
        let mut arp = f;
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(Gso::new(500).segment_len(&arp[..60]), None);
    }

    #[test]
    fn tcp_over_ipv6() {
        let mut f = [0u8; 400];
        f[12..14].copy_from_slice(&[0x86, 0xdd]);
        f[14] = 0x60;
        f[18..20].copy_from_slice(&(20u16 + 300).to_be_bytes());
        f[20] = ip_proto::TCP;
        f[21] = 64;
        f[54 + 12] = 5 << 4;
        assert_eq!(
            Gso::new(100).segment_len(&f[..374]),
            Some(14 + 40 + 20 + 100)
        );
    }

    /// The switch judges a super-frame by its largest segment (seed policy, HostA:
    /// Contoso1 → Contoso2 on HostB, uplink MTU 1500, NVGRE over IPv4 adds 42 bytes).
    #[cfg(feature = "std")]
    mod switch {
        use crate::buf::{FrameBuf, PacketBuf};
        use crate::policy::{file, Tables};
        use crate::switch::{Gso, PortId, Switch, Verdict};
        use crate::wire::checksum;
        use crate::DropReason;

        const SEED: &str = include_str!("../../../docs/examples/seed-policy.json");
        const HEADROOM: usize = 128;

        /// Contoso1 (10.0.0.5) → Contoso2 (10.0.0.7): TCP, DF, `payload` bytes.
        fn super_frame(payload: usize) -> std::vec::Vec<u8> {
            let mut f = std::vec![0u8; 54 + payload];
            f[..6].copy_from_slice(&[0, 0x15, 0x5d, 0, 0, 2]);
            f[6..12].copy_from_slice(&[0, 0x15, 0x5d, 0, 0, 1]);
            f[12..14].copy_from_slice(&[0x08, 0x00]);
            f[14] = 0x45;
            f[16..18].copy_from_slice(&((40 + payload) as u16).to_be_bytes());
            f[20] = 0x40;
            f[22] = 64;
            f[23] = 6;
            f[26..30].copy_from_slice(&[10, 0, 0, 5]);
            f[30..34].copy_from_slice(&[10, 0, 0, 7]);
            let c = checksum::of(&f[14..34]);
            f[24..26].copy_from_slice(&c.to_be_bytes());
            f[34..36].copy_from_slice(&49152u16.to_be_bytes());
            f[36..38].copy_from_slice(&5001u16.to_be_bytes());
            f[46] = 5 << 4;
            f[47] = 0x18; // ACK PSH
            f
        }

        fn run(gso: Option<Gso>, frame: &[u8]) -> (Verdict, std::vec::Vec<u8>, u64) {
            let policy = file::from_json(SEED).unwrap();
            let mut a = Switch::new(Tables::compile(&policy, "HostA").unwrap());
            let mut mem = std::vec![0u8; HEADROOM + frame.len()];
            mem[HEADROOM..].copy_from_slice(frame);
            let mut f = FrameBuf::new(&mut mem, HEADROOM, frame.len()).unwrap();
            let v = match gso {
                Some(g) => a.from_port_gso(PortId(0), &mut f, g, &mut ()),
                None => a.from_port(PortId(0), &mut f, &mut ()),
            };
            let replies = a.stats().replies;
            (v, f.data().to_vec(), replies)
        }

        #[test]
        fn segments_that_fit_are_encapsulated_once() {
            // Inner IP of a segment: 20 + 20 + 1418 = 1458, the most that fits.
            let frame = super_frame(3 * 1418 + 100);
            let (v, out, _) = run(Some(Gso::new(1418)), &frame);
            assert_eq!(v, Verdict::ToWire);
            assert_eq!(out.len(), frame.len() + 42, "outer headers once");
            assert_eq!(&out[42..], &frame[..], "the inner super-frame unchanged");
            // As a plain frame the same bytes are far too big: the VM is told the MTU.
            let (v, _, replies) = run(None, &frame);
            assert_eq!((v, replies), (Verdict::Reply, 1));
        }

        #[test]
        fn segments_too_big_get_fragmentation_needed() {
            let frame = super_frame(3 * 1419);
            let (v, out, replies) = run(Some(Gso::new(1419)), &frame);
            assert_eq!((v, replies), (Verdict::Reply, 1));
            // ICMP type 3 code 4, next-hop MTU 1458, from the .1 to the VM.
            assert_eq!((out[34], out[35]), (3, 4));
            assert_eq!(u16::from_be_bytes([out[40], out[41]]), 1458);
            assert_eq!(&out[26..34], &[10, 0, 0, 1, 10, 0, 0, 5]);
            assert!(out.len() <= 14 + 576);
        }

        #[test]
        fn unreadable_super_frames_are_dropped() {
            let mut frame = super_frame(3000);
            frame[23] = 1; // ICMP: nothing to segment
            let (v, _, _) = run(Some(Gso::new(1000)), &frame);
            assert_eq!(v, Verdict::Drop(DropReason::PortFrameMalformed));
        }
    }
}
