//! The transmit descriptor: what a sender asks a NIC to do with one NVGRE frame.
//!
//! A [`TxOffload`] is built by parsing the frame ([`TxOffload::new`]) from a
//! [`TxRequest`] (which checksums, whether to segment and with which policies), and
//! checked against a NIC's [`NicCaps`] ([`TxOffload::validate`]; [`TxOffload::build`] does
//! both). The [`target`](crate::target) conversions turn it into NDIS, DPDK, AF_XDP or
//! virtio-net terms; [`SoftNic`](crate::SoftNic) executes it.
//!
//! ## Sender conventions (the NDIS ones)
//! * IP header checksum fields the NIC fills are left zero by the sender.
//! * The inner TCP/UDP checksum field holds the pseudo-header sum (folded, not
//!   complemented): **with** the upper-layer length for checksum offload, **without** it
//!   (length 0) for LSO, where every segment has its own length.

use core::fmt;

use hnv_core::ids::{FlowId, Vsid};
use hnv_core::wire::ethernet::EthernetHeader;
use hnv_core::wire::tcp::TcpFlags;

use crate::caps::{NicCaps, OffloadCaps};
use crate::layout::{FrameError, IpVersion, L4Proto, Layout, GRE_LEN};

/// Which checksums the NIC computes (a set; combine with `|`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Checksums(u8);

impl Checksums {
    /// The outer IPv4 header checksum.
    pub const OUTER_IPV4: Self = Self(1);
    /// The inner IPv4 header checksum.
    pub const INNER_IPV4: Self = Self(2);
    /// The inner TCP or UDP checksum.
    pub const INNER_L4: Self = Self(4);
    /// All three.
    pub const ALL: Self = Self(7);

    /// No checksum.
    pub const fn empty() -> Self {
        Self(0)
    }

    /// True when every checksum of `other` is in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// `self` plus `other`.
    #[must_use]
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// `self` without `other`.
    #[must_use]
    pub const fn difference(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }

    /// True for no checksum.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl core::ops::BitOr for Checksums {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        self.union(rhs)
    }
}

/// How segment k of an LSO send gets an IPv4 identification (chosen separately for the
/// inner and the outer header: DPDK's fixed-ID flag, for one, fixes the inner ID only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum IpIdPolicy {
    /// ID = ID0 + k (NDIS LSO, Linux, DPDK default). The default.
    #[default]
    Increment,
    /// ID = ID0 for every segment (DPDK `RTE_GSO_FLAG_IPID_FIXED`, Linux
    /// `SKB_GSO_TCP_FIXEDID`), valid for DF datagrams (RFC 6864).
    Fixed,
}

/// How an incremented IPv4 identification wraps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum IdWrap {
    /// Modulo 2^16 (Linux, DPDK). The default.
    #[default]
    Bits16,
    /// Within 15 bits: the top bit of ID0 is kept and the low 15 bits wrap modulo 2^15,
    /// so 0x7fff is followed by 0x0000 and 0xffff by 0x8000 (NDIS LSOv2).
    Bits15,
}

/// What happens to a TCP CWR flag of the large send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CwrPolicy {
    /// CWR only on the first segment (Linux GSO: the window reduction is signalled once).
    /// The default.
    #[default]
    FirstOnly,
    /// CWR copied to every segment (DPDK librte_gso).
    Every,
}

/// A large-send request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LsoRequest {
    /// Maximum segment size: TCP payload bytes per segment.
    pub mss: u16,
    /// Inner IPv4 identification rule.
    pub ip_id: IpIdPolicy,
    /// Outer IPv4 identification rule.
    pub outer_ip_id: IpIdPolicy,
    /// IPv4 identification wrap.
    pub id_wrap: IdWrap,
    /// CWR rule.
    pub cwr: CwrPolicy,
}

impl LsoRequest {
    /// A request for `mss` with the default policies.
    pub const fn new(mss: u16) -> Self {
        Self {
            mss,
            ip_id: IpIdPolicy::Increment,
            outer_ip_id: IpIdPolicy::Increment,
            id_wrap: IdWrap::Bits16,
            cwr: CwrPolicy::FirstOnly,
        }
    }

    /// The inner IPv4 identification of segment `k` given the large send's `id0`.
    pub const fn segment_id(&self, id0: u16, k: u32) -> u16 {
        self.id_with(self.ip_id, id0, k)
    }

    /// The outer IPv4 identification of segment `k` given the large send's `id0`.
    pub const fn outer_segment_id(&self, id0: u16, k: u32) -> u16 {
        self.id_with(self.outer_ip_id, id0, k)
    }

    /// True when either identification is fixed.
    pub const fn any_fixed_id(&self) -> bool {
        matches!(self.ip_id, IpIdPolicy::Fixed) || matches!(self.outer_ip_id, IpIdPolicy::Fixed)
    }

    const fn id_with(self, policy: IpIdPolicy, id0: u16, k: u32) -> u16 {
        match (policy, self.id_wrap) {
            (IpIdPolicy::Fixed, _) => id0,
            (IpIdPolicy::Increment, IdWrap::Bits16) => id0.wrapping_add(k as u16),
            (IpIdPolicy::Increment, IdWrap::Bits15) => {
                (id0 & 0x8000) | (id0.wrapping_add(k as u16) & 0x7fff)
            }
        }
    }

    /// The TCP flags of segment `k` of `n` given the large send's flags: FIN and PSH only
    /// on the last segment, CWR per [`CwrPolicy`], every other flag copied.
    pub const fn segment_flags(&self, flags: TcpFlags, k: u32, n: u32) -> TcpFlags {
        let mut f = flags.bits();
        if k + 1 < n {
            f &= !(TcpFlags::FIN.bits() | TcpFlags::PSH.bits());
        }
        if k > 0 && matches!(self.cwr, CwrPolicy::FirstOnly) {
            f &= !TcpFlags::CWR.bits();
        }
        TcpFlags(f)
    }
}

/// What the sender asks for one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TxRequest {
    /// Checksums to compute. With LSO every checksum is computed on every segment
    /// whatever this says (LSO implies checksum offload, as in NDIS and DPDK).
    pub checksums: Checksums,
    /// Segment the inner TCP payload.
    pub lso: Option<LsoRequest>,
}

impl TxRequest {
    /// Checksum offload only.
    pub const fn checksums(checksums: Checksums) -> Self {
        Self {
            checksums,
            lso: None,
        }
    }

    /// LSO with `mss` and default policies (all checksums).
    pub const fn lso(mss: u16) -> Self {
        Self {
            checksums: Checksums::ALL,
            lso: Some(LsoRequest::new(mss)),
        }
    }
}

/// Why a descriptor could not be built, or does not fit a NIC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DescError {
    /// The frame is not an NVGRE frame the model describes.
    Frame(FrameError),
    /// An outer IPv4 checksum was asked for an IPv6 outer header (or an inner IPv4 one
    /// for an IPv6 inner header).
    NoIpv4Header,
    /// A transport checksum or LSO was asked but the inner packet is a fragment or not
    /// TCP/UDP.
    NoTransport,
    /// LSO was asked for inner UDP (only TCP is segmented).
    LsoNotTcp,
    /// LSO with MSS 0.
    LsoZeroMss,
    /// LSO of a segment with SYN, RST or URG set (these are never segmented).
    LsoControlFlags,
    /// LSO of a frame with link-layer padding inside the outer IP packet (the inner IP
    /// packet ends before the outer one).
    LsoInnerPadding,
    /// One segment (headers + MSS) would exceed an IP length field.
    LsoSegmentTooLarge,
    /// The NIC lacks a feature the request needs.
    Unsupported(OffloadCaps),
    /// The frame is larger than the NIC's LSO limit.
    LsoTooLarge {
        /// Frame length.
        len: usize,
        /// NIC limit.
        max: u32,
    },
    /// The send makes fewer segments than the NIC's minimum.
    LsoTooFewSegments {
        /// Segments of this send.
        segments: u32,
        /// NIC minimum.
        min: u16,
    },
    /// The send makes more segments than the NIC's maximum.
    LsoTooManySegments {
        /// Segments of this send.
        segments: u32,
        /// NIC maximum.
        max: u16,
    },
}

impl From<FrameError> for DescError {
    fn from(e: FrameError) -> Self {
        Self::Frame(e)
    }
}

impl fmt::Display for DescError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Frame(e) => write!(f, "frame: {e}"),
            Self::NoIpv4Header => f.write_str("IPv4 header checksum asked for an IPv6 header"),
            Self::NoTransport => {
                f.write_str("transport offload asked but the inner packet is not TCP/UDP")
            }
            Self::LsoNotTcp => f.write_str("LSO asked for a non-TCP inner packet"),
            Self::LsoZeroMss => f.write_str("LSO with MSS 0"),
            Self::LsoControlFlags => f.write_str("LSO of a segment with SYN, RST or URG"),
            Self::LsoInnerPadding => {
                f.write_str("LSO of a frame with padding after the inner IP packet")
            }
            Self::LsoSegmentTooLarge => f.write_str("one segment would exceed an IP length field"),
            Self::Unsupported(c) => write!(f, "NIC lacks {c:?}"),
            Self::LsoTooLarge { len, max } => {
                write!(f, "frame of {len} bytes exceeds the LSO limit {max}")
            }
            Self::LsoTooFewSegments { segments, min } => {
                write!(f, "{segments} segments, NIC minimum {min}")
            }
            Self::LsoTooManySegments { segments, max } => {
                write!(f, "{segments} segments, NIC maximum {max}")
            }
        }
    }
}

/// A transmit offload descriptor for one NVGRE frame.
///
/// Lengths are in bytes; offsets derive from them (see the methods). Built only by
/// [`TxOffload::new`] / [`TxOffload::build`], so its lengths always describe the frame it
/// was built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TxOffload {
    /// Outer Ethernet header length (14, or 18 with a VLAN tag).
    pub outer_l2_len: u16,
    /// Outer IP version.
    pub outer_ip: IpVersion,
    /// Outer IP header length (options / extension headers included).
    pub outer_l3_len: u16,
    /// True when the outer IPv6 header has extension headers.
    pub outer_ext_headers: bool,
    /// Tunnel (GRE) header length: 8.
    pub tunnel_len: u16,
    /// Inner Ethernet header length: 14.
    pub inner_l2_len: u16,
    /// Inner IP version.
    pub inner_ip: IpVersion,
    /// Inner IP header length (options / extension headers included).
    pub inner_l3_len: u16,
    /// True when the inner IPv4 header has options or the IPv6 one extension headers.
    pub inner_ip_options: bool,
    /// Inner transport protocol, when TCP or UDP (and not a fragment).
    pub inner_l4: Option<L4Proto>,
    /// Inner TCP header length with options, or 8 for UDP; 0 without transport.
    pub inner_l4_len: u16,
    /// True when the inner TCP header has options.
    pub tcp_options: bool,
    /// Checksums to compute.
    pub checksums: Checksums,
    /// Large send, if asked.
    pub lso: Option<LsoRequest>,
    /// VSID of the GRE key (travels beside the packet in NDIS).
    pub vsid: Vsid,
    /// FlowID of the GRE key.
    pub flow_id: FlowId,
    /// Frame length up to the end of the outer IP packet.
    pub frame_len: u32,
    /// Inner transport payload bytes (what LSO segments).
    pub payload_len: u32,
}

impl TxOffload {
    /// Parses `frame` and builds the descriptor for `req` (no NIC limits checked).
    pub fn new(frame: &[u8], req: &TxRequest) -> Result<Self, DescError> {
        let l = Layout::parse(frame)?;
        Self::from_layout(frame, &l, req)
    }

    /// [`new`](Self::new) then [`validate`](Self::validate).
    pub fn build(frame: &[u8], req: &TxRequest, caps: &NicCaps) -> Result<Self, DescError> {
        let d = Self::new(frame, req)?;
        d.validate(caps)?;
        Ok(d)
    }

    /// Builds the descriptor for an already parsed frame.
    pub fn from_layout(frame: &[u8], l: &Layout, req: &TxRequest) -> Result<Self, DescError> {
        let mut checksums = req.checksums;
        if req.lso.is_some() {
            // LSO implies every checksum that exists in the frame.
            checksums = Checksums::INNER_L4;
            if l.outer_ip == IpVersion::V4 {
                checksums = checksums.union(Checksums::OUTER_IPV4);
            }
            if l.inner_ip == IpVersion::V4 {
                checksums = checksums.union(Checksums::INNER_IPV4);
            }
        }
        if checksums.contains(Checksums::OUTER_IPV4) && l.outer_ip != IpVersion::V4
            || checksums.contains(Checksums::INNER_IPV4) && l.inner_ip != IpVersion::V4
        {
            return Err(DescError::NoIpv4Header);
        }
        if checksums.contains(Checksums::INNER_L4) && l.inner_l4.is_none() {
            return Err(DescError::NoTransport);
        }
        let (inner_l4, inner_l4_len) = match l.inner_l4 {
            Some((p, len)) => (Some(p), len),
            None => (None, 0),
        };
        let tcp_options = matches!(l.inner_l4, Some((L4Proto::Tcp, len)) if len > 20);
        if let Some(lso) = &req.lso {
            match inner_l4 {
                Some(L4Proto::Tcp) => {}
                Some(L4Proto::Udp) => return Err(DescError::LsoNotTcp),
                None => return Err(DescError::NoTransport),
            }
            if lso.mss == 0 {
                return Err(DescError::LsoZeroMss);
            }
            let flags = frame.get(l.inner_l4() + 13).copied().unwrap_or(0);
            let bad = TcpFlags::SYN.bits() | TcpFlags::RST.bits() | TcpFlags::URG.bits();
            if flags & bad != 0 {
                return Err(DescError::LsoControlFlags);
            }
            if l.inner_end != l.outer_end {
                return Err(DescError::LsoInnerPadding);
            }
            // The largest segment's outer IP length field must fit 16 bits.
            let seg = l.payload() - l.outer_l2_len + usize::from(lso.mss);
            let field = match l.outer_ip {
                IpVersion::V4 => seg,
                IpVersion::V6 => seg - 40,
            };
            if field > 65_535 {
                return Err(DescError::LsoSegmentTooLarge);
            }
        }
        Ok(Self {
            outer_l2_len: l.outer_l2_len as u16,
            outer_ip: l.outer_ip,
            outer_l3_len: l.outer_l3_len as u16,
            outer_ext_headers: l.outer_ext_headers,
            tunnel_len: GRE_LEN as u16,
            inner_l2_len: EthernetHeader::LEN as u16,
            inner_ip: l.inner_ip,
            inner_l3_len: l.inner_l3_len as u16,
            inner_ip_options: l.inner_ip_options,
            inner_l4,
            inner_l4_len: inner_l4_len as u16,
            tcp_options,
            checksums,
            lso: req.lso,
            vsid: l.vsid,
            flow_id: l.flow_id,
            frame_len: l.outer_end as u32,
            payload_len: l.payload_len() as u32,
        })
    }

    /// Offset of the outer IP header.
    pub const fn outer_l3_offset(&self) -> usize {
        self.outer_l2_len as usize
    }

    /// Offset of the GRE header.
    pub const fn tunnel_offset(&self) -> usize {
        self.outer_l3_offset() + self.outer_l3_len as usize
    }

    /// Offset of the inner Ethernet frame (NDIS `InnerFrameOffset`).
    pub const fn inner_frame_offset(&self) -> usize {
        self.tunnel_offset() + self.tunnel_len as usize
    }

    /// Offset of the inner IP header.
    pub const fn inner_l3_offset(&self) -> usize {
        self.inner_frame_offset() + self.inner_l2_len as usize
    }

    /// Offset of the inner TCP/UDP header.
    pub const fn inner_l4_offset(&self) -> usize {
        self.inner_l3_offset() + self.inner_l3_len as usize
    }

    /// Length of all headers before the inner transport payload.
    pub const fn header_len(&self) -> usize {
        self.inner_l4_offset() + self.inner_l4_len as usize
    }

    /// Offset of the inner transport checksum field (TCP 16, UDP 6 into its header).
    pub fn inner_l4_csum_offset(&self) -> Option<usize> {
        self.inner_l4.map(|p| {
            self.inner_l4_offset()
                + match p {
                    L4Proto::Tcp => 16,
                    L4Proto::Udp => 6,
                }
        })
    }

    /// Number of segments LSO makes (1 without LSO or without payload).
    pub fn segments(&self) -> u32 {
        match &self.lso {
            Some(l) if self.payload_len > 0 => self.payload_len.div_ceil(u32::from(l.mss)),
            _ => 1,
        }
    }

    /// The features this descriptor needs from a NIC.
    pub fn required_caps(&self) -> OffloadCaps {
        let mut c = OffloadCaps::empty();
        if self.checksums.contains(Checksums::OUTER_IPV4) {
            c |= OffloadCaps::OUTER_IPV4_CSUM;
        }
        if self.checksums.contains(Checksums::INNER_IPV4) {
            c |= OffloadCaps::INNER_IPV4_CSUM;
        }
        let v4 = self.inner_ip == IpVersion::V4;
        if self.checksums.contains(Checksums::INNER_L4) {
            c |= match (self.inner_l4, v4) {
                (Some(L4Proto::Udp), true) => OffloadCaps::INNER_UDP4_CSUM,
                (Some(L4Proto::Udp), false) => OffloadCaps::INNER_UDP6_CSUM,
                (_, true) => OffloadCaps::INNER_TCP4_CSUM,
                (_, false) => OffloadCaps::INNER_TCP6_CSUM,
            };
        }
        if self.lso.is_some() {
            c |= if v4 {
                OffloadCaps::LSO_INNER_TCP4
            } else {
                OffloadCaps::LSO_INNER_TCP6
            };
            if self.inner_ip_options && v4 {
                c |= OffloadCaps::LSO_IP_OPTIONS;
            }
            if self.tcp_options {
                c |= OffloadCaps::LSO_TCP_OPTIONS;
            }
        }
        if self.outer_ip == IpVersion::V6 {
            c |= OffloadCaps::OUTER_IPV6;
        }
        if self.outer_ext_headers || self.inner_ip == IpVersion::V6 && self.inner_ip_options {
            c |= OffloadCaps::IPV6_EXT_HEADERS;
        }
        c
    }

    /// Checks the descriptor against a NIC's features and LSO limits.
    pub fn validate(&self, caps: &NicCaps) -> Result<(), DescError> {
        let missing = self.required_caps().difference(caps.offloads);
        if !missing.is_empty() {
            return Err(DescError::Unsupported(missing));
        }
        if self.lso.is_some() {
            if self.frame_len > caps.lso_max_size {
                return Err(DescError::LsoTooLarge {
                    len: self.frame_len as usize,
                    max: caps.lso_max_size,
                });
            }
            let segments = self.segments();
            if segments < u32::from(caps.lso_min_segments) {
                return Err(DescError::LsoTooFewSegments {
                    segments,
                    min: caps.lso_min_segments,
                });
            }
            if segments > u32::from(caps.lso_max_segments) {
                return Err(DescError::LsoTooManySegments {
                    segments,
                    max: caps.lso_max_segments,
                });
            }
        }
        Ok(())
    }
}
