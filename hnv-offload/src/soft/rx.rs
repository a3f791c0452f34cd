//! Receive checksum validation: what a NIC reports beside a received frame.
//!
//! For an NVGRE frame the outer IPv4 header checksum, the inner IPv4 header checksum and
//! the inner TCP/UDP checksum are checked; for any other IP frame its IPv4 header and
//! TCP/UDP checksums. Each result is [`CsumStatus`]; IPv6 has no header checksum
//! (`NotPresent`), a UDP-over-IPv4 checksum of zero means "none" (`NotPresent`), and
//! fragments have no checkable transport checksum (`NotPresent`).

use hnv_core::wire::checksum::{self, Checksum};
use hnv_core::wire::ethernet::{EtherType, EthernetFrame};
use hnv_core::wire::ip_proto;
use hnv_core::wire::ipv4::Ipv4Packet;
use hnv_core::wire::ipv6::Ipv6Packet;

use crate::layout::Layout;

/// One checksum's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CsumStatus {
    /// No such checksum in this frame (or not checkable).
    NotPresent,
    /// It verifies.
    Ok,
    /// It does not verify.
    Failed,
}

impl CsumStatus {
    fn of(ok: bool) -> Self {
        if ok {
            Self::Ok
        } else {
            Self::Failed
        }
    }
}

/// The checksum flags of a received frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RxChecksum {
    /// True when the frame is NVGRE and the inner fields refer to its inner packet.
    pub tunnel: bool,
    /// Outer (or only) IPv4 header checksum.
    pub ip: CsumStatus,
    /// TCP/UDP checksum of a non-tunnelled frame.
    pub l4: CsumStatus,
    /// Inner IPv4 header checksum.
    pub inner_ip: CsumStatus,
    /// Inner TCP/UDP checksum.
    pub inner_l4: CsumStatus,
}

/// Verdicts of the IP header and transport checksums of the IP packet `l3`.
fn ip_and_l4(t: EtherType, l3: &[u8]) -> (CsumStatus, CsumStatus) {
    match t {
        EtherType::IPV4 => {
            let Ok(p) = Ipv4Packet::parse(l3) else {
                return (CsumStatus::NotPresent, CsumStatus::NotPresent);
            };
            let ip = CsumStatus::of(p.verify_checksum());
            let h = p.header();
            if h.is_fragment() {
                return (ip, CsumStatus::NotPresent);
            }
            let pseudo = |len: usize| checksum::pseudo_v4(h.src(), h.dst(), h.protocol, len as u16);
            (ip, l4_status(h.protocol, p.payload(), pseudo, true))
        }
        EtherType::IPV6 => {
            let Ok(p) = Ipv6Packet::parse(l3) else {
                return (CsumStatus::NotPresent, CsumStatus::NotPresent);
            };
            let l4 = match p.upper_layer() {
                Ok(ul) if ul.fragment.is_none() => {
                    let h = p.header();
                    let pseudo =
                        |len: usize| checksum::pseudo_v6(h.src(), h.dst(), ul.protocol, len as u32);
                    match p.payload().get(ul.offset..) {
                        Some(seg) => l4_status(ul.protocol, seg, pseudo, false),
                        None => CsumStatus::NotPresent,
                    }
                }
                _ => CsumStatus::NotPresent,
            };
            (CsumStatus::NotPresent, l4)
        }
        _ => (CsumStatus::NotPresent, CsumStatus::NotPresent),
    }
}

fn be16(b: &[u8], at: usize) -> u16 {
    match (b.get(at), b.get(at + 1)) {
        (Some(h), Some(l)) => u16::from_be_bytes([*h, *l]),
        _ => 0,
    }
}

fn l4_status(protocol: u8, seg: &[u8], pseudo: impl Fn(usize) -> Checksum, v4: bool) -> CsumStatus {
    match protocol {
        ip_proto::TCP if seg.len() >= 20 => {
            CsumStatus::of(pseudo(seg.len()).add_bytes(seg).sum() == 0xffff)
        }
        ip_proto::UDP if seg.len() >= 8 => {
            let field = be16(seg, 6);
            let udp_len = usize::from(be16(seg, 4));
            if field == 0 && v4 {
                return CsumStatus::NotPresent;
            }
            let Some(dgram) = seg.get(..udp_len).filter(|_| udp_len >= 8) else {
                return CsumStatus::Failed;
            };
            CsumStatus::of(pseudo(udp_len).add_bytes(dgram).sum() == 0xffff)
        }
        ip_proto::TCP | ip_proto::UDP => CsumStatus::Failed,
        _ => CsumStatus::NotPresent,
    }
}

/// Validates the checksums of a received frame.
pub fn rx_checksums(frame: &[u8]) -> RxChecksum {
    let Ok(eth) = EthernetFrame::parse(frame) else {
        return RxChecksum {
            tunnel: false,
            ip: CsumStatus::NotPresent,
            l4: CsumStatus::NotPresent,
            inner_ip: CsumStatus::NotPresent,
            inner_l4: CsumStatus::NotPresent,
        };
    };
    let (ip, l4) = ip_and_l4(eth.ethertype(), eth.payload());
    if let Ok(l) = Layout::parse(frame) {
        let t = match l.inner_ip {
            crate::layout::IpVersion::V4 => EtherType::IPV4,
            crate::layout::IpVersion::V6 => EtherType::IPV6,
        };
        let (inner_ip, inner_l4) = ip_and_l4(t, frame.get(l.inner_l3()..).unwrap_or(&[]));
        return RxChecksum {
            tunnel: true,
            ip,
            l4: CsumStatus::NotPresent,
            inner_ip,
            inner_l4,
        };
    }
    RxChecksum {
        tunnel: false,
        ip,
        l4,
        inner_ip: CsumStatus::NotPresent,
        inner_l4: CsumStatus::NotPresent,
    }
}
