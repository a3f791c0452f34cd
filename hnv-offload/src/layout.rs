//! Where the headers of an NVGRE frame are: the parse every offload starts from.
//!
//! [`Layout::parse`] reads an NVGRE frame as the sender hands it to a NIC: outer Ethernet
//! (one optional VLAN tag), outer IPv4 (options allowed) or IPv6 (extension headers
//! allowed), the 8-byte NVGRE GRE header, an untagged inner Ethernet header, inner IPv4 or
//! IPv6 and, when present, inner TCP or UDP. IP checksums are **not** checked: a sender
//! asking for checksum offload leaves them zero. Everything else is checked once here, so
//! the offsets in a [`Layout`] are always inside the frame.

use core::fmt;

use hnv_core::ids::{FlowId, Vsid};
use hnv_core::wire::ethernet::{EtherType, EthernetFrame, EthernetHeader};
use hnv_core::wire::gre::{GrePacket, FLAG_C, FLAG_K, FLAG_S, RESERVED0, VERSION_MASK};
use hnv_core::wire::ip_proto;
use hnv_core::wire::ipv4::Ipv4Packet;
use hnv_core::wire::ipv6::{Ipv6Header, Ipv6Packet};
use hnv_core::wire::tcp::TcpPacket;
use hnv_core::wire::udp::UdpHeader;

/// An IP version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpVersion {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

/// The inner transport protocol, when the descriptor model knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum L4Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

/// Why a frame is not an NVGRE frame the offload model can describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameError {
    /// The frame ends before a header (or a length it declares) does.
    Truncated,
    /// The outer Ethernet type is not IPv4 or IPv6 (after at most one VLAN tag).
    OuterNotIp,
    /// A length or header-length field of the outer IP header is inconsistent.
    OuterMalformed,
    /// The outer IP packet is a fragment.
    OuterFragment,
    /// The outer IP protocol is not GRE.
    NotGre,
    /// GRE flags, version or protocol are not NVGRE's (C=0, K=1, S=0, 0x6558).
    NotNvgre,
    /// The key holds a reserved VSID.
    ReservedVsid,
    /// The inner frame carries a VLAN tag (RFC 7637 §3.3 forbids it).
    InnerVlanTag,
    /// The inner frame is not IPv4 or IPv6.
    InnerNotIp,
    /// A length or header-length field of the inner IP header is inconsistent.
    InnerMalformed,
    /// The inner TCP header is malformed.
    InnerL4Malformed,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Truncated => "frame truncated",
            Self::OuterNotIp => "outer frame is not IPv4 or IPv6",
            Self::OuterMalformed => "outer IP header malformed",
            Self::OuterFragment => "outer IP packet is a fragment",
            Self::NotGre => "outer IP protocol is not GRE",
            Self::NotNvgre => "GRE header is not NVGRE (C=0, K=1, S=0, version 0, 0x6558)",
            Self::ReservedVsid => "reserved VSID in the GRE key",
            Self::InnerVlanTag => "inner frame has a VLAN tag",
            Self::InnerNotIp => "inner frame is not IPv4 or IPv6",
            Self::InnerMalformed => "inner IP header malformed",
            Self::InnerL4Malformed => "inner TCP/UDP header malformed",
        })
    }
}

/// The header offsets and kinds of an NVGRE frame. All offsets are from the frame start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Layout {
    /// Outer Ethernet header length: 14, or 18 with a VLAN tag.
    pub outer_l2_len: usize,
    /// Outer VLAN ID, if tagged.
    pub outer_vlan: Option<u16>,
    /// Outer IP version.
    pub outer_ip: IpVersion,
    /// Outer IP header length (IPv4 options, IPv6 extension headers included).
    pub outer_l3_len: usize,
    /// True when the outer IPv6 header is followed by extension headers.
    pub outer_ext_headers: bool,
    /// VSID from the GRE key.
    pub vsid: Vsid,
    /// FlowID from the GRE key.
    pub flow_id: FlowId,
    /// Inner IP version.
    pub inner_ip: IpVersion,
    /// Inner IP header length (IPv4 options, IPv6 extension headers included).
    pub inner_l3_len: usize,
    /// True when the inner IPv4 header has options or the inner IPv6 header extension
    /// headers.
    pub inner_ip_options: bool,
    /// True when the inner IP packet is a fragment (then `inner_l4` is `None`).
    pub inner_fragment: bool,
    /// The inner transport protocol and its header length (TCP with options; UDP 8).
    pub inner_l4: Option<(L4Proto, usize)>,
    /// End of the outer IP packet: bytes after it are link-layer padding.
    pub outer_end: usize,
    /// End of the inner IP packet.
    pub inner_end: usize,
}

/// GRE header length of NVGRE (K only).
pub const GRE_LEN: usize = 8;

impl Layout {
    /// Offset of the outer IP header.
    pub const fn outer_l3(&self) -> usize {
        self.outer_l2_len
    }

    /// Offset of the GRE header.
    pub const fn tunnel(&self) -> usize {
        self.outer_l2_len + self.outer_l3_len
    }

    /// Offset of the inner Ethernet header.
    pub const fn inner_l2(&self) -> usize {
        self.tunnel() + GRE_LEN
    }

    /// Offset of the inner IP header.
    pub const fn inner_l3(&self) -> usize {
        self.inner_l2() + EthernetHeader::LEN
    }

    /// Offset of the inner TCP/UDP header (meaningful when `inner_l4` is `Some`).
    pub const fn inner_l4(&self) -> usize {
        self.inner_l3() + self.inner_l3_len
    }

    /// Offset of the inner transport payload (after TCP options / the UDP header).
    pub fn payload(&self) -> usize {
        self.inner_l4() + self.inner_l4.map_or(0, |(_, l)| l)
    }

    /// Bytes of inner transport payload.
    pub fn payload_len(&self) -> usize {
        self.inner_end.saturating_sub(self.payload())
    }

    /// Parses `frame` as an NVGRE frame with an IP inner frame.
    pub fn parse(frame: &[u8]) -> Result<Self, FrameError> {
        let eth = EthernetFrame::parse(frame).map_err(|_| FrameError::Truncated)?;
        let outer_l2_len = eth.header_len();
        let outer_vlan = eth.vlan().map(hnv_core::wire::ethernet::VlanTag::vid);
        let (outer_ip, outer_l3_len, ext, outer_total, gre_bytes) = match eth.ethertype() {
            EtherType::IPV4 => {
                let ip = Ipv4Packet::parse(eth.payload()).map_err(outer_err)?;
                let h = ip.header();
                if h.is_fragment() {
                    return Err(FrameError::OuterFragment);
                }
                if h.protocol != ip_proto::GRE {
                    return Err(FrameError::NotGre);
                }
                let hl = ip.header_len();
                let total = usize::from(h.total_len.get());
                (IpVersion::V4, hl, false, total, ip.into_payload())
            }
            EtherType::IPV6 => {
                let ip = Ipv6Packet::parse(eth.payload()).map_err(outer_err)?;
                let ul = ip.upper_layer().map_err(outer_err)?;
                if ul.fragment.is_some() {
                    return Err(FrameError::OuterFragment);
                }
                if ul.protocol != ip_proto::GRE {
                    return Err(FrameError::NotGre);
                }
                let total = Ipv6Header::LEN + usize::from(ip.header().payload_len.get());
                let payload = ip.into_payload();
                let gre = payload.get(ul.offset..).ok_or(FrameError::Truncated)?;
                (
                    IpVersion::V6,
                    Ipv6Header::LEN + ul.offset,
                    ul.offset > 0,
                    total,
                    gre,
                )
            }
            _ => return Err(FrameError::OuterNotIp),
        };
        let gre = GrePacket::parse(gre_bytes).map_err(|_| FrameError::Truncated)?;
        let flags = gre.header().flags();
        if flags & (FLAG_C | FLAG_S | RESERVED0 | VERSION_MASK) != 0
            || flags & FLAG_K == 0
            || gre.header().protocol() != EtherType::TRANSPARENT_ETHERNET
        {
            return Err(FrameError::NotNvgre);
        }
        let key = gre.key().ok_or(FrameError::NotNvgre)?;
        let vsid = Vsid::new(key >> 8).map_err(|_| FrameError::ReservedVsid)?;
        let inner = EthernetFrame::parse(gre.payload()).map_err(|_| FrameError::Truncated)?;
        if inner.vlan_tpid().is_some() {
            return Err(FrameError::InnerVlanTag);
        }
        let inner_l3_off = outer_l2_len + outer_l3_len + GRE_LEN + EthernetHeader::LEN;
        let i = Inner::parse(inner.ethertype(), inner.payload())?;
        Ok(Self {
            outer_l2_len,
            outer_vlan,
            outer_ip,
            outer_l3_len,
            outer_ext_headers: ext,
            vsid,
            flow_id: hnv_core::ids::FlowId(key as u8),
            inner_ip: i.ip,
            inner_l3_len: i.l3_len,
            inner_ip_options: i.options,
            inner_fragment: i.fragment,
            inner_l4: i.l4,
            outer_end: outer_l2_len + outer_total,
            inner_end: inner_l3_off + i.total,
        })
    }
}

/// The inner IP packet's shape.
struct Inner {
    ip: IpVersion,
    l3_len: usize,
    options: bool,
    fragment: bool,
    l4: Option<(L4Proto, usize)>,
    total: usize,
}

impl Inner {
    fn parse(t: EtherType, inner_bytes: &[u8]) -> Result<Self, FrameError> {
        let (ip, l3_len, options, fragment, l4, total) = match t {
            EtherType::IPV4 => {
                let ip = Ipv4Packet::parse(inner_bytes).map_err(inner_err)?;
                let h = ip.header();
                let hl = ip.header_len();
                let frag = h.is_fragment();
                let l4 = if frag {
                    None
                } else {
                    l4_of(h.protocol, ip.payload())?
                };
                let total = usize::from(h.total_len.get());
                (IpVersion::V4, hl, hl > 20, frag, l4, total)
            }
            EtherType::IPV6 => {
                let ip = Ipv6Packet::parse(inner_bytes).map_err(inner_err)?;
                let ul = ip.upper_layer().map_err(inner_err)?;
                let frag = ul.fragment.is_some();
                let l4 = if frag {
                    None
                } else {
                    let rest = ip.payload().get(ul.offset..).ok_or(FrameError::Truncated)?;
                    l4_of(ul.protocol, rest)?
                };
                let total = Ipv6Header::LEN + usize::from(ip.header().payload_len.get());
                (
                    IpVersion::V6,
                    Ipv6Header::LEN + ul.offset,
                    ul.offset > 0,
                    frag,
                    l4,
                    total,
                )
            }
            _ => return Err(FrameError::InnerNotIp),
        };
        Ok(Self {
            ip,
            l3_len,
            options,
            fragment,
            l4,
            total,
        })
    }
}

fn outer_err(e: hnv_core::wire::ParseError) -> FrameError {
    match e {
        hnv_core::wire::ParseError::Truncated(_) => FrameError::Truncated,
        _ => FrameError::OuterMalformed,
    }
}

fn inner_err(e: hnv_core::wire::ParseError) -> FrameError {
    match e {
        hnv_core::wire::ParseError::Truncated(_) => FrameError::Truncated,
        _ => FrameError::InnerMalformed,
    }
}

/// The transport header at the start of `l4` (the rest of the IP payload), if TCP or UDP.
fn l4_of(protocol: u8, l4: &[u8]) -> Result<Option<(L4Proto, usize)>, FrameError> {
    match protocol {
        ip_proto::TCP => {
            let t = TcpPacket::parse(l4).map_err(|e| match e {
                hnv_core::wire::ParseError::Truncated(_) => FrameError::Truncated,
                _ => FrameError::InnerL4Malformed,
            })?;
            Ok(Some((L4Proto::Tcp, t.header_len())))
        }
        ip_proto::UDP => {
            if l4.len() < UdpHeader::LEN {
                return Err(FrameError::Truncated);
            }
            Ok(Some((L4Proto::Udp, UdpHeader::LEN)))
        }
        _ => Ok(None),
    }
}

/// The tunnel part of an NVGRE frame, whatever its inner frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tunnel {
    /// Outer VLAN ID, if tagged.
    pub outer_vlan: Option<u16>,
    /// VSID from the key.
    pub vsid: Vsid,
    /// Offset of the inner Ethernet header (which is present and untagged).
    pub inner_offset: usize,
    /// End of the outer IP packet.
    pub outer_end: usize,
}

impl Tunnel {
    /// Reads the outer headers of an NVGRE frame: outer Ethernet (one optional tag), IPv4
    /// (not a fragment) or IPv6 with GRE after any extension headers, NVGRE's GRE header
    /// with a non-reserved VSID, an untagged inner Ethernet header. Checksums are not
    /// checked. `None` for anything else.
    pub fn parse(frame: &[u8]) -> Option<Self> {
        let eth = EthernetFrame::parse(frame).ok()?;
        let l2 = eth.header_len();
        let outer_vlan = eth.vlan().map(hnv_core::wire::ethernet::VlanTag::vid);
        let (gre_off, total) = match eth.ethertype() {
            EtherType::IPV4 => {
                let ip = Ipv4Packet::parse(eth.payload()).ok()?;
                let h = ip.header();
                if h.is_fragment() || h.protocol != ip_proto::GRE {
                    return None;
                }
                (l2 + ip.header_len(), usize::from(h.total_len.get()))
            }
            EtherType::IPV6 => {
                let ip = Ipv6Packet::parse(eth.payload()).ok()?;
                let ul = ip.upper_layer().ok()?;
                if ul.fragment.is_some() || ul.protocol != ip_proto::GRE {
                    return None;
                }
                let total = Ipv6Header::LEN + usize::from(ip.header().payload_len.get());
                (l2 + Ipv6Header::LEN + ul.offset, total)
            }
            _ => return None,
        };
        let outer_end = l2 + total;
        let gre = GrePacket::parse(frame.get(gre_off..outer_end)?).ok()?;
        let flags = gre.header().flags();
        if flags & (FLAG_C | FLAG_S | RESERVED0 | VERSION_MASK) != 0
            || flags & FLAG_K == 0
            || gre.header().protocol() != EtherType::TRANSPARENT_ETHERNET
        {
            return None;
        }
        let vsid = Vsid::new(gre.key()? >> 8).ok()?;
        let inner = EthernetFrame::parse(gre.payload()).ok()?;
        if inner.vlan_tpid().is_some() {
            return None;
        }
        Some(Self {
            outer_vlan,
            vsid,
            inner_offset: gre_off + gre.header_len(),
            outer_end,
        })
    }
}
