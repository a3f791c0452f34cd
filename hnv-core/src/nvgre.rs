//! NVGRE encapsulation and decapsulation (RFC 7637).
//!
//! [`encap`] writes outer Ethernet, IPv4 or IPv6, and the 8-byte GRE header into the
//! headroom of a [`PacketBuf`] without moving the inner frame. [`inspect`] validates a
//! received frame read-only and says where the inner frame is; [`decap`] does that and
//! strips the outer headers. Every RFC 7637 rule that concerns framing is enforced here:
//!
//! | rule (RFC 7637) | encap | decap |
//! |---|---|---|
//! | GRE C=0, S=0, K=1, version 0, reserved bits 0 (§3.2) | always emitted so | [`DropReason::GreChecksumPresent`], [`DropReason::GreSequencePresent`], [`DropReason::GreKeyAbsent`], [`DropReason::GreReservedBits`], [`DropReason::GreVersion`] |
//! | protocol 0x6558 (§3.2) | always | [`DropReason::GreProtocol`] |
//! | key = VSID ‖ FlowID (§3.2) | from [`EncapParams`] | [`Nvgre::vsid`], [`Nvgre::flow_id`] |
//! | reserved VSIDs (§3.4) | unrepresentable ([`Vsid`]) | [`DropReason::ReservedVsid`] |
//! | no inner 802.1Q (§3.3) | one tag stripped, deeper stacks refused | [`DropReason::InnerVlanTag`], [`DropReason::InnerQinQTag`] |
//! | never fragment (§4.4) | outer DF=1 by default | [`DropReason::OuterFragment`] |
//! | FlowID entropy (§3.2, §4.1) | [`flow_id_of`] over the inner flow | ignored for matching |
//!
//! ```
//! use core::net::Ipv4Addr;
//! use hnv_core::buf::{FrameBuf, PacketBuf};
//! use hnv_core::ids::{MacAddr, Vsid};
//! use hnv_core::nvgre::{self, EncapParams, Underlay};
//!
//! // A 60-byte inner frame placed after 64 bytes of headroom.
//! let mut mem = [0u8; 64 + 60];
//! mem[64 + 12..64 + 14].copy_from_slice(&[0x08, 0x06]); // an ARP frame, say
//! let mut frame = FrameBuf::new(&mut mem, 64, 60).unwrap();
//!
//! let params = EncapParams::new(
//!     Vsid::new(5001).unwrap(),
//!     MacAddr([2, 0, 0, 0, 0x0a, 1]),
//!     MacAddr([2, 0, 0, 0, 0x0b, 1]),
//!     Underlay::V4 { src: Ipv4Addr::new(192, 168, 4, 11), dst: Ipv4Addr::new(192, 168, 4, 22) },
//! );
//! nvgre::encap(&mut frame, &params).unwrap();
//! assert_eq!(frame.len(), 60 + nvgre::OVERHEAD_V4);
//!
//! let got = nvgre::decap(&mut frame).unwrap();
//! assert_eq!(got.vsid().get(), 5001);
//! assert_eq!(frame.len(), 60);
//! ```

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use core::num::NonZeroU64;

use zerocopy::Ref;

use crate::buf::{BufError, PacketBuf};
use crate::ids::{FlowId, MacAddr, Vsid};
use crate::wire::checksum::Checksum;
use crate::wire::ethernet::{EtherType, EthernetFrame, EthernetHeader, VlanTag};
use crate::wire::gre::{GrePacket, NvgreHeader, FLAG_C, FLAG_K, FLAG_S, RESERVED0, VERSION_MASK};
use crate::wire::ipv4::{Ipv4Header, Ipv4Packet};
use crate::wire::ipv6::{Ipv6Header, Ipv6Packet};
use crate::wire::{ip_proto, ParseError};
use crate::DropReason;

/// Bytes NVGRE adds with an IPv4 outer header: Ethernet 14 + IPv4 20 + GRE 8.
pub const OVERHEAD_V4: usize = EthernetHeader::LEN + Ipv4Header::LEN + NvgreHeader::LEN;
/// Bytes NVGRE adds with an IPv6 outer header: Ethernet 14 + IPv6 40 + GRE 8.
pub const OVERHEAD_V6: usize = EthernetHeader::LEN + Ipv6Header::LEN + NvgreHeader::LEN;
/// Headroom that fits any outer header hnv writes (IPv6 with an outer VLAN tag).
pub const MAX_OVERHEAD: usize = OVERHEAD_V6 + VlanTag::LEN;

/// The provider-address pair of the outer IP header. Families are independent of the inner
/// frame's (RFC 7637 §3.2: IPv6 CAs over IPv4 PAs and the reverse both work).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Underlay {
    /// IPv4 outer header.
    V4 {
        /// Source PA.
        src: Ipv4Addr,
        /// Destination PA.
        dst: Ipv4Addr,
    },
    /// IPv6 outer header.
    V6 {
        /// Source PA.
        src: Ipv6Addr,
        /// Destination PA.
        dst: Ipv6Addr,
    },
}

impl Underlay {
    /// Source PA.
    pub fn src(&self) -> IpAddr {
        match *self {
            Self::V4 { src, .. } => IpAddr::V4(src),
            Self::V6 { src, .. } => IpAddr::V6(src),
        }
    }

    /// Destination PA.
    pub fn dst(&self) -> IpAddr {
        match *self {
            Self::V4 { dst, .. } => IpAddr::V4(dst),
            Self::V6 { dst, .. } => IpAddr::V6(dst),
        }
    }

    /// Bytes of outer headers for this family (without an outer VLAN tag).
    pub const fn overhead(&self) -> usize {
        match self {
            Self::V4 { .. } => OVERHEAD_V4,
            Self::V6 { .. } => OVERHEAD_V6,
        }
    }
}

/// How the outer DSCP/ECN (IPv4 TOS, IPv6 traffic class) is chosen. RFC 7637 leaves it
/// to the implementation (§4.3 of the checklist: item 19).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OuterTos {
    /// Copy DSCP and ECN from the inner IP header (RFC 2983 uniform model, RFC 6040 normal
    /// mode); 0 for a non-IP inner frame.
    Inherit,
    /// Always this byte.
    Fixed(u8),
}

/// What [`encap`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncapParams {
    /// VSID for the key: the *destination* VM's virtual subnet.
    pub vsid: Vsid,
    /// FlowID for the key; `None` computes it with [`flow_id_of`].
    pub flow_id: Option<FlowId>,
    /// Outer source MAC (this host's uplink).
    pub src_mac: MacAddr,
    /// Outer destination MAC (next hop towards the destination PA).
    pub dst_mac: MacAddr,
    /// Outer addresses.
    pub underlay: Underlay,
    /// Outer 802.1Q tag control information (PA VLAN), if any.
    pub outer_vlan: Option<u16>,
    /// Outer IPv4 TTL / IPv6 hop limit. Default 64.
    pub ttl: u8,
    /// Outer IPv4 identification. Default 0 (the datagram is atomic, RFC 6864).
    pub ip_id: u16,
    /// Outer IPv4 Don't Fragment. Default true (RFC 7637 §4.4).
    pub dont_fragment: bool,
    /// Outer DSCP/ECN. Default [`OuterTos::Inherit`].
    pub tos: OuterTos,
}

impl EncapParams {
    /// Parameters with the defaults above.
    pub const fn new(vsid: Vsid, src_mac: MacAddr, dst_mac: MacAddr, underlay: Underlay) -> Self {
        Self {
            vsid,
            flow_id: None,
            src_mac,
            dst_mac,
            underlay,
            outer_vlan: None,
            ttl: 64,
            ip_id: 0,
            dont_fragment: true,
            tos: OuterTos::Inherit,
        }
    }
}

/// Why [`encap`] refused. The buffer is left exactly as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EncapError {
    /// The inner frame is shorter than an Ethernet header (or its VLAN tag).
    InnerTruncated,
    /// The inner frame has an 802.1ad tag or more than one 802.1Q tag; only a single
    /// 802.1Q tag is stripped (RFC 7637 §3.3).
    StackedVlanTags,
    /// The outer IPv4 total length or IPv6 payload length would exceed 65535.
    TooLarge,
    /// The buffer has less headroom than the outer headers need.
    NoHeadroom,
}

impl fmt::Display for EncapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::InnerTruncated => "inner frame shorter than an Ethernet header",
            Self::StackedVlanTags => "inner frame has 802.1ad or stacked VLAN tags",
            Self::TooLarge => "outer IPv4 total length or IPv6 payload length would exceed 65535",
            Self::NoHeadroom => "not enough headroom for the outer headers",
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for EncapError {}

/// What [`encap`] did.
///
/// Four bytes behind accessors, so `Result<Encapsulated, EncapError>` comes back in a
/// register (a 16-byte result went through the stack and stalled store forwarding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encapsulated {
    flow_id: FlowId,
    /// At most [`MAX_OVERHEAD`].
    outer_len: u8,
    vlan_stripped: bool,
}

impl Encapsulated {
    #[inline]
    fn new(flow_id: FlowId, outer_len: usize, vlan_stripped: bool) -> Self {
        Self {
            flow_id,
            outer_len: outer_len as u8,
            vlan_stripped,
        }
    }

    /// FlowID written into the key.
    #[inline]
    pub fn flow_id(&self) -> FlowId {
        self.flow_id
    }

    /// Bytes of outer headers written (what [`PacketBuf::pull_front`] takes to undo it).
    #[inline]
    pub fn outer_len(&self) -> usize {
        usize::from(self.outer_len)
    }

    /// True when an inner 802.1Q tag was removed.
    #[inline]
    pub fn vlan_stripped(&self) -> bool {
        self.vlan_stripped
    }
}

/// Encapsulates the Ethernet frame in `buf` into NVGRE, in place.
///
/// A single inner 802.1Q tag is removed first (the 12 address bytes move 4 bytes forward;
/// the payload never moves). Outer headers go into the headroom: Ethernet (with
/// `outer_vlan` if set), IPv4 with a valid checksum and DF, or IPv6 with the flow label
/// set from the inner flow hash, then the GRE header with key = VSID ‖ FlowID.
/// On error nothing is written.
#[inline]
pub fn encap<P: PacketBuf + ?Sized>(
    buf: &mut P,
    p: &EncapParams,
) -> Result<Encapsulated, EncapError> {
    if let Some(done) = fast::encap(buf, p) {
        return Ok(done);
    }
    encap_general(buf, p)
}

/// [`encap`] for every case: the reference the fast path must agree with.
#[doc(hidden)]
#[inline(never)] // keeps the fast path's function small (fewer registers to save)
pub fn encap_general<P: PacketBuf + ?Sized>(
    buf: &mut P,
    p: &EncapParams,
) -> Result<Encapsulated, EncapError> {
    let (strip, flow) = {
        let data = buf.data();
        let eth = EthernetFrame::parse(data).map_err(|_| EncapError::InnerTruncated)?;
        let strip = match eth.vlan_tpid() {
            None => false,
            Some(EtherType::VLAN) if !eth.ethertype().is_vlan_tag() => true,
            Some(_) => return Err(EncapError::StackedVlanTags),
        };
        // The hash feeds the FlowID and the IPv6 flow label, the TOS an inherited outer
        // TOS: skip the inner parse when none of them is needed.
        let needed = p.flow_id.is_none()
            || matches!(p.underlay, Underlay::V6 { .. })
            || p.tos == OuterTos::Inherit;
        let flow = if needed {
            flow_of(data, &eth)
        } else {
            InnerFlow { hash: 0, tos: 0 }
        };
        (strip, flow)
    };
    let vlan_len = if p.outer_vlan.is_some() {
        VlanTag::LEN
    } else {
        0
    };
    let outer_len = p.underlay.overhead() + vlan_len;
    let inner_len = buf.len() - if strip { VlanTag::LEN } else { 0 };
    // The length field that must fit in 16 bits: IPv4 total length (header included),
    // IPv6 payload length (fixed header excluded).
    let ip_len = outer_len - EthernetHeader::LEN - vlan_len + inner_len;
    let length_field = match p.underlay {
        Underlay::V4 { .. } => ip_len,
        Underlay::V6 { .. } => ip_len - Ipv6Header::LEN,
    };
    let length_field = u16::try_from(length_field).map_err(|_| EncapError::TooLarge)?;
    if buf.headroom() + if strip { VlanTag::LEN } else { 0 } < outer_len {
        return Err(EncapError::NoHeadroom);
    }
    if strip {
        let data = buf.data_mut();
        data.copy_within(0..12, VlanTag::LEN);
        buf.pull_front(VlanTag::LEN)
            .map_err(|_| EncapError::InnerTruncated)?;
    }
    let flow_id = p.flow_id.unwrap_or(FlowId(fold8(flow.hash)));
    let tos = match p.tos {
        OuterTos::Inherit => flow.tos,
        OuterTos::Fixed(t) => t,
    };
    let out = buf.push_front(outer_len).map_err(|e| match e {
        BufError::NoHeadroom => EncapError::NoHeadroom,
        _ => EncapError::InnerTruncated,
    })?;
    write_outer(out, p, flow_id, tos, flow.hash, length_field);
    Ok(Encapsulated::new(flow_id, outer_len, strip))
}

/// Writes the outer headers field by field straight into `out` (no header is assembled
/// elsewhere and copied), with the IPv4 checksum computed from the field values rather
/// than read back from memory. `encap` sized `out` to hold every header it writes.
#[inline]
fn write_outer(
    out: &mut [u8],
    p: &EncapParams,
    flow_id: FlowId,
    tos: u8,
    hash: u32,
    length_field: u16,
) {
    let ethertype = match p.underlay {
        Underlay::V4 { .. } => EtherType::IPV4,
        Underlay::V6 { .. } => EtherType::IPV6,
    };
    let Ok((mut eth, rest)) = Ref::<_, EthernetHeader>::from_prefix(out) else {
        return;
    };
    eth.dst = p.dst_mac;
    eth.src = p.src_mac;
    let rest = match p.outer_vlan {
        None => {
            eth.ethertype.set(ethertype.0);
            rest
        }
        Some(tci) => {
            eth.ethertype.set(EtherType::VLAN.0);
            let Ok((mut tag, rest)) = Ref::<_, VlanTag>::from_prefix(rest) else {
                return;
            };
            tag.tci.set(tci);
            tag.ethertype.set(ethertype.0);
            rest
        }
    };
    let rest = match p.underlay {
        Underlay::V4 { src, dst } => {
            let Ok((mut h, rest)) = Ref::<_, Ipv4Header>::from_prefix(rest) else {
                return;
            };
            let flags_frag: u16 = if p.dont_fragment { 0x4000 } else { 0 };
            let (s, d) = (src.to_bits(), dst.to_bits());
            let sum = Checksum::new()
                .add_u16(0x4500 | u16::from(tos))
                .add_u16(length_field)
                .add_u16(p.ip_id)
                .add_u16(flags_frag)
                .add_u16(u16::from(p.ttl) << 8 | u16::from(ip_proto::GRE))
                .add_u32(s)
                .add_u32(d);
            h.version_ihl = 0x45;
            h.tos = tos;
            h.total_len.set(length_field);
            h.ident.set(p.ip_id);
            h.flags_frag.set(flags_frag);
            h.ttl = p.ttl;
            h.protocol = ip_proto::GRE;
            h.checksum.set(sum.finish());
            h.src = src.octets();
            h.dst = dst.octets();
            rest
        }
        Underlay::V6 { src, dst } => {
            let Ok((mut h, rest)) = Ref::<_, Ipv6Header>::from_prefix(rest) else {
                return;
            };
            h.ver_tc_flow
                .set(6 << 28 | u32::from(tos) << 20 | hash >> 12);
            h.payload_len.set(length_field);
            h.next_header = ip_proto::GRE;
            h.hop_limit = p.ttl;
            h.src = src.octets();
            h.dst = dst.octets();
            rest
        }
    };
    if let Ok((mut g, _)) = Ref::<_, NvgreHeader>::from_prefix(rest) {
        g.flags_version.set(FLAG_K);
        g.protocol.set(EtherType::TRANSPARENT_ETHERNET.0);
        g.key.set(p.vsid.get() << 8 | u32::from(flow_id.0));
    }
}

/// A validated NVGRE frame: the key, where the inner frame is, and where the outer
/// headers are.
///
/// Sixteen bytes, so returning it (also inside a `Result`) costs no memory round trip. The
/// outer addresses are read on demand from the frame with [`Nvgre::underlay`] /
/// [`Nvgre::outer`]: most frames never need them, and copying 32 address bytes into every
/// result stalled the CPU's store forwarding (see `docs/performance.md`). Read them before
/// [`strip`] or [`decap`] removes the outer headers from the buffer's view.
///
/// ```
/// # use core::net::Ipv4Addr;
/// # use hnv_core::buf::{FrameBuf, PacketBuf};
/// # use hnv_core::ids::{MacAddr, Vsid};
/// # use hnv_core::nvgre::{self, EncapParams, Underlay};
/// # let mut mem = [0u8; 64 + 60];
/// # mem[64 + 12..64 + 14].copy_from_slice(&[0x08, 0x06]);
/// # let mut frame = FrameBuf::new(&mut mem, 64, 60).unwrap();
/// # let pas = Underlay::V4 { src: Ipv4Addr::new(192, 168, 4, 11), dst: Ipv4Addr::new(192, 168, 4, 22) };
/// # let p = EncapParams::new(Vsid::new(5001).unwrap(), MacAddr([2, 0, 0, 0, 0, 1]), MacAddr([2, 0, 0, 0, 0, 2]), pas);
/// # nvgre::encap(&mut frame, &p).unwrap();
/// // A frame from the wire: validate, read the sender's PA, then strip the outer headers.
/// let n = nvgre::inspect(frame.data()).unwrap();
/// let sender = n.underlay(frame.data()).src();
/// assert_eq!(sender, Ipv4Addr::new(192, 168, 4, 11));
/// nvgre::strip(&mut frame, &n).unwrap();
/// assert_eq!((n.vsid().get(), frame.len()), (5001, 60));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Nvgre {
    /// The GRE key (VSID ‖ FlowID, bits 32..64), the inner frame's length (bits 16..32)
    /// and the outer VLAN ID or [`NO_VLAN`] (bits 0..16). Never 0 (a valid VSID makes the
    /// key at least 0x0010_0000), and that niche keeps `Result<Nvgre, DropReason>` at 16
    /// bytes, two words built in registers and returned in them: a result of byte-sized
    /// fields was assembled on the stack with narrow stores and copied with wide loads,
    /// which cannot be forwarded from them.
    hi: NonZeroU64,
    /// Offset of the inner frame (bits 0..32), of the outer IP header (bits 32..40: 14, or
    /// 18 behind a VLAN tag), and the IPv6 flag (bit 40).
    lo: u64,
}

const _: () = assert!(size_of::<Result<Nvgre, DropReason>>() == 16);

/// `Nvgre::vlan` of an untagged frame (a VLAN ID has 12 bits, so it never collides).
const NO_VLAN: u16 = u16::MAX;

/// The outer Ethernet and IP addresses of an NVGRE frame ([`Nvgre::outer`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Outer {
    /// Outer source and destination PAs.
    pub underlay: Underlay,
    /// Outer source MAC (the previous hop).
    pub src_mac: MacAddr,
    /// Outer destination MAC.
    pub dst_mac: MacAddr,
}

impl Nvgre {
    /// Assembles the result. `key >> 8` must be a valid VSID (inspect checked it); the
    /// lengths fit their fields (an IP length field is 16 bits; `inner_offset` is at most
    /// 18 + 40 + 65535 + 8).
    #[inline(always)]
    #[allow(clippy::inline_always)] // built where it is returned, see `mod fast`
    fn new(
        key: u32,
        l3_offset: usize,
        v6: bool,
        outer_vlan: Option<u16>,
        inner_offset: usize,
        inner_len: usize,
    ) -> Self {
        let hi = u64::from(key) << 32
            | (inner_len as u64 & 0xffff) << 16
            | u64::from(outer_vlan.unwrap_or(NO_VLAN));
        Self {
            hi: NonZeroU64::new(hi).unwrap_or(NonZeroU64::MIN),
            lo: (inner_offset as u64 & 0xffff_ffff)
                | (l3_offset as u64 & 0xff) << 32
                | u64::from(v6) << 40,
        }
    }

    #[inline]
    fn key_bits(&self) -> u32 {
        (self.hi.get() >> 32) as u32
    }

    #[inline]
    fn vlan_bits(&self) -> u16 {
        self.hi.get() as u16
    }

    /// VSID from the key.
    #[inline]
    pub fn vsid(&self) -> Vsid {
        Vsid::from_key_unchecked(self.key_bits() >> 8)
    }

    /// FlowID from the key (informational; never used for matching).
    #[inline]
    pub fn flow_id(&self) -> FlowId {
        FlowId(self.key_bits() as u8)
    }

    /// The whole GRE key: VSID (24 bits) ‖ FlowID (8 bits).
    #[inline]
    pub fn key(&self) -> u32 {
        self.key_bits()
    }

    /// True when the outer header is IPv6.
    #[inline]
    pub fn is_ipv6(&self) -> bool {
        self.lo >> 40 & 1 == 1
    }

    /// Outer VLAN ID, if the frame was tagged.
    #[inline]
    pub fn outer_vlan(&self) -> Option<u16> {
        let vlan = self.vlan_bits();
        (vlan != NO_VLAN).then_some(vlan)
    }

    /// Offset of the outer IP header in the frame.
    #[inline]
    pub fn l3_offset(&self) -> usize {
        (self.lo >> 32 & 0xff) as usize
    }

    /// Offset of the inner Ethernet frame in the NVGRE frame.
    #[inline]
    pub fn inner_offset(&self) -> usize {
        (self.lo & 0xffff_ffff) as usize
    }

    /// Length of the inner Ethernet frame (link-layer padding after it excluded).
    #[inline]
    pub fn inner_len(&self) -> usize {
        (self.hi.get() >> 16 & 0xffff) as usize
    }

    /// Outer source and destination PAs, read from `frame`.
    ///
    /// `frame` must be the frame this was inspected from, outer headers included (before
    /// [`strip`]); for any other bytes the addresses are meaningless (unspecified addresses
    /// when `frame` is too short) — never a panic.
    #[inline]
    pub fn underlay(&self, frame: &[u8]) -> Underlay {
        let l3 = self.l3_offset();
        if self.is_ipv6() {
            Underlay::V6 {
                src: Ipv6Addr::from(read_array::<16>(frame, l3 + 8)),
                dst: Ipv6Addr::from(read_array::<16>(frame, l3 + 24)),
            }
        } else {
            Underlay::V4 {
                src: Ipv4Addr::from(read_array::<4>(frame, l3 + 12)),
                dst: Ipv4Addr::from(read_array::<4>(frame, l3 + 16)),
            }
        }
    }

    /// Outer MACs and PAs, read from `frame` (the same conditions as [`Nvgre::underlay`]).
    pub fn outer(&self, frame: &[u8]) -> Outer {
        Outer {
            underlay: self.underlay(frame),
            dst_mac: MacAddr(read_array::<6>(frame, 0)),
            src_mac: MacAddr(read_array::<6>(frame, 6)),
        }
    }
}

/// `N` bytes of `b` from `at`, zeros when they are not all there.
#[inline]
fn read_array<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    b.get(at..)
        .and_then(|rest| rest.first_chunk::<N>())
        .copied()
        .unwrap_or([0; N])
}

impl fmt::Debug for Nvgre {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Nvgre")
            .field("vsid", &self.vsid())
            .field("flow_id", &self.flow_id())
            .field("ipv6", &self.is_ipv6())
            .field("key", &format_args!("{:#010x}", self.key()))
            .field("outer_vlan", &self.outer_vlan())
            .field("l3_offset", &self.l3_offset())
            .field("inner_offset", &self.inner_offset())
            .field("inner_len", &self.inner_len())
            .finish_non_exhaustive()
    }
}

fn malformed(e: ParseError) -> DropReason {
    match e {
        ParseError::Truncated(_) => DropReason::Truncated,
        _ => DropReason::OuterMalformed,
    }
}

/// Validates an NVGRE frame without changing it.
///
/// Checks, in order: outer Ethernet (one optional 802.1Q/802.1ad tag) carrying IPv4 or
/// IPv6; the IPv4 header checksum; no fragmentation (IPv4 MF/offset, IPv6 fragment header);
/// protocol GRE after any IPv6 extension headers; the GRE flags (C, S, K, reserved bits,
/// version), protocol 0x6558 and the VSID; an inner Ethernet header without VLAN tag.
#[inline(always)]
#[allow(clippy::inline_always)] // see `mod fast`
pub fn inspect(frame: &[u8]) -> Result<Nvgre, DropReason> {
    match fast::inspect(frame) {
        Some(n) => Ok(n),
        None => inspect_general(frame),
    }
}

/// [`inspect`] for every shape of frame: the reference the fast path must agree with.
#[doc(hidden)]
#[inline(never)] // keeps the fast path's function small (fewer registers to save)
pub fn inspect_general(frame: &[u8]) -> Result<Nvgre, DropReason> {
    let eth = EthernetFrame::parse(frame).map_err(malformed)?;
    let outer_vlan = eth.vlan().map(VlanTag::vid);
    let l3_offset = eth.header_len();
    let (underlay, gre_offset, gre_bytes) = match eth.ethertype() {
        EtherType::IPV4 => {
            let ip = Ipv4Packet::parse(eth.payload()).map_err(malformed)?;
            let h = ip.header();
            if !ip.verify_checksum() {
                return Err(DropReason::BadOuterChecksum);
            }
            if h.is_fragment() {
                return Err(DropReason::OuterFragment);
            }
            if h.protocol != ip_proto::GRE {
                return Err(DropReason::NotGre);
            }
            let u = Underlay::V4 {
                src: h.src(),
                dst: h.dst(),
            };
            (u, l3_offset + ip.header_len(), ip.into_payload())
        }
        EtherType::IPV6 => {
            let ip = Ipv6Packet::parse(eth.payload()).map_err(malformed)?;
            let ul = ip.upper_layer().map_err(malformed)?;
            if ul.fragment.is_some() {
                return Err(DropReason::OuterFragment);
            }
            if ul.protocol != ip_proto::GRE {
                return Err(DropReason::NotGre);
            }
            let u = Underlay::V6 {
                src: ip.header().src(),
                dst: ip.header().dst(),
            };
            let gre = ip
                .into_payload()
                .get(ul.offset..)
                .ok_or(DropReason::Truncated)?;
            (u, l3_offset + Ipv6Header::LEN + ul.offset, gre)
        }
        _ => return Err(DropReason::NotIp),
    };
    let gre = GrePacket::parse(gre_bytes).map_err(malformed)?;
    let flags = gre.header().flags();
    let reason = if flags & FLAG_C != 0 {
        Some(DropReason::GreChecksumPresent)
    } else if flags & FLAG_S != 0 {
        Some(DropReason::GreSequencePresent)
    } else if flags & FLAG_K == 0 {
        Some(DropReason::GreKeyAbsent)
    } else if flags & RESERVED0 != 0 {
        Some(DropReason::GreReservedBits)
    } else if flags & VERSION_MASK != 0 {
        Some(DropReason::GreVersion)
    } else if gre.header().protocol() != EtherType::TRANSPARENT_ETHERNET {
        Some(DropReason::GreProtocol)
    } else {
        None
    };
    if let Some(r) = reason {
        return Err(r);
    }
    let key = gre.key().ok_or(DropReason::GreKeyAbsent)?;
    Vsid::new(key >> 8).map_err(|_| DropReason::ReservedVsid)?;
    let inner = EthernetFrame::parse(gre.payload()).map_err(|_| DropReason::InnerTruncated)?;
    match inner.vlan_tpid() {
        None => {}
        Some(EtherType::VLAN) => return Err(DropReason::InnerVlanTag),
        Some(_) => return Err(DropReason::InnerQinQTag),
    }
    Ok(Nvgre::new(
        key,
        l3_offset,
        matches!(underlay, Underlay::V6 { .. }),
        outer_vlan,
        gre_offset + gre.header_len(),
        gre.payload().len(),
    ))
}

/// Validates an NVGRE frame ([`inspect`]) and strips the outer headers in place, leaving
/// exactly the inner Ethernet frame. On error the buffer is unchanged.
///
/// To read the outer addresses too, [`inspect`], read them with [`Nvgre::underlay`], then
/// [`strip`].
#[inline(always)]
#[allow(clippy::inline_always)] // see `mod fast`
pub fn decap<P: PacketBuf + ?Sized>(buf: &mut P) -> Result<Nvgre, DropReason> {
    let n = inspect(buf.data())?;
    // `inspect` checked that the inner frame lies within these bytes, so unlike `strip`
    // there is nothing left to check here but what `pull_front` checks itself.
    buf.pull_front(n.inner_offset())
        .map_err(|_| DropReason::Truncated)?;
    buf.truncate(n.inner_len());
    Ok(n)
}

/// Removes the outer headers [`inspect`] found in `buf` (and link-layer padding after the
/// inner frame), leaving exactly the inner Ethernet frame.
///
/// `n` must come from `inspect(buf.data())` of the same, unchanged frame; a buffer shorter
/// than `n` says is refused with [`DropReason::Truncated`] and left as it was.
#[inline]
pub fn strip<P: PacketBuf + ?Sized>(buf: &mut P, n: &Nvgre) -> Result<(), DropReason> {
    if n.inner_offset() + n.inner_len() > buf.len() {
        return Err(DropReason::Truncated);
    }
    buf.pull_front(n.inner_offset())
        .map_err(|_| DropReason::Truncated)?;
    buf.truncate(n.inner_len());
    Ok(())
}

/// What the inner frame contributes to the FlowID and the outer TOS.
#[derive(Clone, Copy)]
struct InnerFlow {
    hash: u32,
    tos: u8,
}

/// Seeds of the flow hash (hex digits of pi): fixed, so every host computes the same
/// FlowID for a flow.
const SEED: [u64; 4] = [
    0x243f_6a88_85a3_08d3,
    0x1319_8a2e_0370_7344,
    0xa409_3822_299f_31d0,
    0x082e_fa98_ec4e_6c89,
];

/// The high and low halves of the 128-bit product, XORed: one multiply mixes every input
/// bit into every output bit.
#[inline]
const fn folded_mul(a: u64, b: u64) -> u64 {
    let p = (a as u128) * (b as u128);
    (p as u64) ^ ((p >> 64) as u64)
}

#[inline]
const fn finish(h: u64) -> u32 {
    (h ^ (h >> 32)) as u32
}

#[inline]
fn read_u32(bytes: &[u8], at: usize) -> u32 {
    bytes.get(at..at + 4).map_or(0, |w| {
        let mut word = [0u8; 4];
        word.copy_from_slice(w);
        u32::from_le_bytes(word)
    })
}

#[inline]
fn read_u64(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8).map_or(0, |w| {
        let mut a = [0u8; 8];
        a.copy_from_slice(w);
        u64::from_le_bytes(a)
    })
}

/// Hashes addresses, protocol and — for unfragmented TCP, UDP and SCTP — ports of the
/// inner IP packet; `None` for non-IP or unparsable frames.
#[inline]
fn inner_flow(ethertype: EtherType, l3: &[u8]) -> Option<InnerFlow> {
    #[inline]
    fn ports(protocol: u8, l4: &[u8]) -> u64 {
        match protocol {
            ip_proto::TCP | ip_proto::UDP | 132 => u64::from(read_u32(l4, 0)),
            _ => 0,
        }
    }
    match ethertype {
        EtherType::IPV4 => {
            let ip = Ipv4Packet::parse(l3).ok()?;
            let h = ip.header();
            let p = if h.is_fragment() {
                0
            } else {
                ports(h.protocol, ip.payload())
            };
            let addrs =
                u64::from(u32::from_le_bytes(h.src)) | u64::from(u32::from_le_bytes(h.dst)) << 32;
            Some(InnerFlow {
                hash: v4_hash(addrs, p, h.protocol),
                tos: h.tos,
            })
        }
        EtherType::IPV6 => {
            let ip = Ipv6Packet::parse(l3).ok()?;
            let tos = ip.header().traffic_class();
            let (protocol, p) = match ip.upper_layer() {
                Ok(ul) if ul.fragment.is_none() => (
                    ul.protocol,
                    ports(ul.protocol, ip.payload().get(ul.offset..)?),
                ),
                Ok(ul) => (ul.protocol, 0),
                Err(_) => (ip.header().next_header, 0),
            };
            let src = folded_mul(read_u64(l3, 8) ^ SEED[0], read_u64(l3, 16) ^ SEED[1]);
            let dst = folded_mul(read_u64(l3, 24) ^ SEED[2], read_u64(l3, 32) ^ SEED[3]);
            let h64 = folded_mul(src ^ (p << 8 | u64::from(protocol)), dst ^ SEED[0]);
            Some(InnerFlow {
                hash: finish(h64),
                tos,
            })
        }
        _ => None,
    }
}

/// The flow hash of an IPv4 packet: `addrs` is source ‖ destination (little-endian),
/// `ports` the first four bytes after the header (0 when they are not ports).
#[inline(always)]
#[allow(clippy::inline_always)] // on the encap fast path
fn v4_hash(addrs: u64, ports: u64, protocol: u8) -> u32 {
    finish(folded_mul(
        addrs ^ SEED[0],
        (ports << 8 | u64::from(protocol)) ^ SEED[1],
    ))
}

/// Hash of the MAC addresses and type of a non-IP frame.
#[inline]
fn mac_hash(frame: &[u8]) -> u32 {
    // dst (6) ‖ src (6) ‖ type (2) as two overlapping words: bytes 0..8 and 6..14.
    finish(folded_mul(
        read_u64(frame, 0) ^ SEED[0],
        read_u64(frame, 6) ^ SEED[1],
    ))
}

/// Flow hash and TOS of an inner Ethernet frame whose header is `eth`.
#[inline]
fn flow_of<B: zerocopy::ByteSlice>(frame: &[u8], eth: &EthernetFrame<B>) -> InnerFlow {
    if let Some(f) = fast::flow_v4(frame) {
        return f;
    }
    flow_general(frame, eth)
}

/// Flow hash and TOS of an inner frame, `None` when it has no Ethernet header.
#[inline]
fn flow_hash_and_tos(inner: &[u8]) -> Option<InnerFlow> {
    let eth = EthernetFrame::parse(inner).ok()?;
    Some(flow_general(inner, &eth))
}

/// [`flow_of`] without the fast path: the reference it must agree with.
#[inline]
fn flow_general<B: zerocopy::ByteSlice>(frame: &[u8], eth: &EthernetFrame<B>) -> InnerFlow {
    inner_flow(eth.ethertype(), eth.payload()).unwrap_or(InnerFlow {
        hash: mac_hash(frame),
        tos: 0,
    })
}

/// [`flow_hash_of`] without the fast path, for tests that compare the two.
#[doc(hidden)]
pub fn flow_hash_general(inner: &[u8]) -> u32 {
    match EthernetFrame::parse(inner) {
        Ok(eth) => flow_general(inner, &eth).hash,
        Err(_) => 0,
    }
}

/// The FlowID hnv puts in the key for an inner Ethernet frame: a hash of the inner
/// addresses, IP protocol and, for TCP/UDP/SCTP, ports (MAC addresses and type for non-IP
/// frames), folded to 8 bits. The same flow always gets the same FlowID, so a flow is
/// never spread over paths and reordered; different flows spread over all 256 values.
///
/// ```
/// use hnv_core::nvgre::flow_id_of;
/// let frame = [0u8; 14];
/// assert_eq!(flow_id_of(&frame), flow_id_of(&frame));
/// ```
pub fn flow_id_of(inner: &[u8]) -> FlowId {
    FlowId(fold8(flow_hash_of(inner)))
}

/// The 32-bit flow hash behind [`flow_id_of`] (its top 20 bits are the outer IPv6 flow
/// label).
pub fn flow_hash_of(inner: &[u8]) -> u32 {
    match EthernetFrame::parse(inner) {
        Ok(eth) => flow_of(inner, &eth).hash,
        Err(_) => 0,
    }
}

fn fold8(hash: u32) -> u8 {
    (hash >> 24) as u8
}

/// Fast paths for the common frame shapes, read through one fixed-layout view with a
/// single length check. Each returns `None` for anything else (tags, IPv4 options, IPv6
/// extension headers, any error), and the caller then takes the general path; for every
/// frame a fast path accepts, its answer equals the general path's (tested on generated
/// frames and fuzzed by the `nvgre_decap` target).
// Inlined into the caller so the result is built where it is used: returned through the
// stack, the CPU reloaded it with wider moves than it was stored with (store-forwarding
// stalls, about 20 ns per frame in the decap bench).
#[allow(clippy::inline_always)]
mod fast {
    use zerocopy::byteorder::network_endian::{U16, U32};
    use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

    use super::{
        fold8, EncapParams, Encapsulated, InnerFlow, Nvgre, OuterTos, Underlay, OVERHEAD_V4,
        OVERHEAD_V6,
    };
    use crate::buf::PacketBuf;
    use crate::ids::{FlowId, Vsid};
    use crate::wire::ethernet::{EtherType, EthernetHeader};
    use crate::wire::gre::{NvgreHeader, FLAG_K};
    use crate::wire::ip_proto;
    use crate::wire::ipv4::Ipv4Header;
    use crate::wire::ipv6::Ipv6Header;

    /// GRE flags/version and protocol of every valid NVGRE header, as one word.
    const NVGRE_WORD: u32 = (FLAG_K as u32) << 16 | EtherType::TRANSPARENT_ETHERNET.0 as u32;

    /// Untagged Ethernet, option-less IPv4, GRE, inner Ethernet. The 20 IPv4 bytes and the
    /// GRE flags/protocol word are read as three little-endian 64-bit words (see [`V4Words`]).
    #[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
    #[repr(C)]
    struct V4 {
        eth: EthernetHeader,
        words: [[u8; 8]; 3],
        key: U32,
        inner: EthernetHeader,
    }

    /// Bytes 14..38 of an untagged IPv4 NVGRE frame (the IPv4 header and the GRE
    /// flags/protocol word) as three little-endian 64-bit words: `encap` stores them with
    /// the widths `inspect` loads them with (a load that spans several narrower stores
    /// cannot be forwarded from them and waits for them to retire).
    ///
    /// * `a`: version/IHL, TOS, total length, identification, flags/fragment offset;
    /// * `b`: TTL, protocol, header checksum, source address;
    /// * `c`: destination address, GRE flags/version, GRE protocol.
    ///
    /// Little-endian because the IPv4 checksum is checked and built in that order without
    /// swapping bytes: a 32-bit word read either way is congruent, modulo 65535, to its two
    /// 16-bit halves added (65536 ≡ 1), and a byte-swapped 16-bit value is the value times
    /// 256 modulo 65535, which is 0 exactly when the value is (256 and 65535 are coprime).
    /// So the header verifies exactly when the sum of its five little-endian 32-bit words
    /// is a multiple of 65535 (it is never 0: the first byte is 0x45).
    #[derive(Clone, Copy)]
    struct V4Words {
        a: u64,
        b: u64,
        c: u64,
    }

    impl V4Words {
        /// Bits of `a` that must equal [`Self::A_WANT`]: version/IHL (byte 0), MF and the
        /// fragment offset (bytes 6 and 7, mask 0x3fff big-endian).
        const A_MASK: u64 = 0xff3f_0000_0000_00ff;
        const A_WANT: u64 = 0x45;
        /// The protocol byte of `b`.
        const B_MASK: u64 = 0xff00;
        const B_WANT: u64 = (ip_proto::GRE as u64) << 8;
        /// The GRE word in `c`.
        const C_MASK: u64 = 0xffff_ffff_0000_0000;
        const C_WANT: u64 = (NVGRE_WORD.swap_bytes() as u64) << 32;

        #[inline(always)]
        fn read(w: &[[u8; 8]; 3]) -> Self {
            Self {
                a: u64::from_le_bytes(w[0]),
                b: u64::from_le_bytes(w[1]),
                c: u64::from_le_bytes(w[2]),
            }
        }

        /// The IPv4 total length.
        #[inline(always)]
        fn total_len(self) -> usize {
            usize::from(((self.a >> 16) as u16).swap_bytes())
        }

        /// Version 4 without options, not a fragment, protocol GRE, NVGRE's GRE word, and a
        /// header checksum that verifies.
        #[inline(always)]
        fn valid(self) -> bool {
            const LOW: u64 = 0xffff_ffff;
            let sum =
                (self.a & LOW) + (self.a >> 32) + (self.b & LOW) + (self.b >> 32) + (self.c & LOW);
            self.a & Self::A_MASK == Self::A_WANT
                && self.b & Self::B_MASK == Self::B_WANT
                && self.c & Self::C_MASK == Self::C_WANT
                && sum % 0xffff == 0
        }
    }

    /// Untagged Ethernet, IPv6 without extension headers, GRE, inner Ethernet.
    #[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
    #[repr(C)]
    struct V6 {
        eth: EthernetHeader,
        ip: Ipv6Header,
        gre_word: U32,
        key: U32,
        inner: EthernetHeader,
    }

    const _: () = assert!(size_of::<V4>() == 14 + Ipv4Header::LEN + NvgreHeader::LEN + 14);
    const _: () = assert!(size_of::<V6>() == 14 + Ipv6Header::LEN + NvgreHeader::LEN + 14);

    /// True for the ethertypes the general path treats as a VLAN tag.
    #[inline]
    fn is_tag(t: U16) -> bool {
        // Compared as stored (network order), without swapping bytes.
        t == U16::new(EtherType::VLAN.0) || t == U16::new(EtherType::QINQ.0)
    }

    /// True when the key's VSID is one a VM may use.
    #[inline]
    pub(super) fn valid_key(key: u32) -> bool {
        // `Vsid::MIN <= key >> 8 <= Vsid::MAX` as one unsigned compare of the whole key.
        const LOW: u32 = Vsid::MIN << 8;
        const SPAN: u32 = (Vsid::MAX << 8 | 0xff) - LOW;
        key.wrapping_sub(LOW) <= SPAN
    }

    #[inline(always)]
    pub(super) fn inspect(frame: &[u8]) -> Option<Nvgre> {
        let (eth, _) = EthernetHeader::ref_from_prefix(frame).ok()?;
        match eth.ethertype() {
            EtherType::IPV4 => v4(frame),
            EtherType::IPV6 => v6(frame),
            _ => None,
        }
    }

    #[inline(always)]
    fn v4(frame: &[u8]) -> Option<Nvgre> {
        /// The shortest total length: IPv4, GRE and an inner Ethernet header.
        const MIN: usize = Ipv4Header::LEN + NvgreHeader::LEN + EthernetHeader::LEN;
        let (h, _) = V4::ref_from_prefix(frame).ok()?;
        let w = V4Words::read(&h.words);
        // The total length covers GRE and an inner Ethernet header and fits the frame
        // (one unsigned compare: `V4` guarantees `available >= MIN`).
        let total = w.total_len();
        let available = frame.len() - EthernetHeader::LEN;
        if !w.valid() || total.wrapping_sub(MIN) > available - MIN || is_tag(h.inner.ethertype) {
            return None;
        }
        let key = h.key.get();
        if !valid_key(key) {
            return None;
        }
        Some(Nvgre::new(
            key,
            EthernetHeader::LEN,
            false,
            None,
            EthernetHeader::LEN + Ipv4Header::LEN + NvgreHeader::LEN,
            total - Ipv4Header::LEN - NvgreHeader::LEN,
        ))
    }

    #[inline(always)]
    fn v6(frame: &[u8]) -> Option<Nvgre> {
        /// The shortest payload: GRE and an inner Ethernet header.
        const MIN: usize = NvgreHeader::LEN + EthernetHeader::LEN;
        let (h, _) = V6::ref_from_prefix(frame).ok()?;
        let payload = usize::from(h.ip.payload_len.get());
        // Fields compared as stored (network order) where no value is needed.
        if h.ip.ver_tc_flow.to_bytes()[0] >> 4 != 6
            || h.ip.next_header != ip_proto::GRE
            // The payload covers GRE and an inner Ethernet header and fits the frame (one
            // unsigned compare: `V6` guarantees the frame holds at least that much).
            || payload.wrapping_sub(MIN) > frame.len() - EthernetHeader::LEN - Ipv6Header::LEN - MIN
            || h.gre_word != U32::new(NVGRE_WORD)
            || is_tag(h.inner.ethertype)
        {
            return None;
        }
        let key = h.key.get();
        if !valid_key(key) {
            return None;
        }
        Some(Nvgre::new(
            key,
            EthernetHeader::LEN,
            true,
            None,
            EthernetHeader::LEN + Ipv6Header::LEN + NvgreHeader::LEN,
            payload - NvgreHeader::LEN,
        ))
    }

    /// The outer headers of an untagged IPv4 NVGRE frame, the IPv4 header and GRE word as
    /// the three words of [`V4Words`], written with the widths `inspect` reads them with.
    #[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
    #[repr(C)]
    struct OuterV4 {
        eth: EthernetHeader,
        words: [[u8; 8]; 3],
        key: U32,
    }

    /// The outer headers of an untagged IPv6 NVGRE frame.
    #[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
    #[repr(C)]
    struct OuterV6 {
        eth: EthernetHeader,
        ip: Ipv6Header,
        gre_word: U32,
        key: U32,
    }

    /// [`super::encap`] without an outer VLAN tag of a frame without an inner one: the
    /// outer headers are assembled as one value and stored once. `None` (nothing written)
    /// for every other case and every error, which the general path then handles.
    #[inline(always)]
    pub(super) fn encap<P: PacketBuf + ?Sized>(
        buf: &mut P,
        p: &EncapParams,
    ) -> Option<Encapsulated> {
        if p.outer_vlan.is_some() {
            return None;
        }
        let data = buf.data();
        let inner_len = data.len();
        // An untagged IPv4 frame (what `flow_v4` accepts) needs no further check.
        let flow = if let Some(f) = flow_v4(data) {
            f
        } else {
            let (eth, _) = EthernetHeader::ref_from_prefix(data).ok()?;
            if eth.ethertype().is_vlan_tag() {
                return None;
            }
            super::flow_hash_and_tos(data)?
        };
        let flow_id = p.flow_id.unwrap_or(FlowId(fold8(flow.hash)));
        let tos = match p.tos {
            OuterTos::Inherit => flow.tos,
            OuterTos::Fixed(t) => t,
        };
        let key = U32::new(p.vsid.get() << 8 | u32::from(flow_id.0));
        // Fields are assigned one by one straight into the buffer: assembling the headers
        // as a value first made LLVM build the MAC addresses on the stack with narrow
        // stores and copy them with a wide load (a store-forwarding stall).
        let outer_len = match p.underlay {
            Underlay::V4 { src, dst } => {
                let total = u16::try_from(OVERHEAD_V4 - EthernetHeader::LEN + inner_len).ok()?;
                let flags_frag: u16 = if p.dont_fragment { 0x4000 } else { 0 };
                // The header's nine non-checksum 16-bit words: their sum is below 2^20,
                // so two folds bring it to 16 bits (`Checksum` folds any 64-bit sum).
                let (s, d) = (src.to_bits(), dst.to_bits());
                let sum = (0x4500 | u32::from(tos))
                    + u32::from(total)
                    + u32::from(p.ip_id)
                    + u32::from(flags_frag)
                    + (u32::from(p.ttl) << 8 | u32::from(ip_proto::GRE))
                    + (s >> 16)
                    + (s & 0xffff)
                    + (d >> 16)
                    + (d & 0xffff);
                let sum = (sum & 0xffff) + (sum >> 16);
                let sum = (sum & 0xffff) + (sum >> 16);
                let checksum = !(sum as u16);
                let out = buf.push_front(OVERHEAD_V4).ok()?;
                let Ok(h) = OuterV4::mut_from_bytes(out) else {
                    // Unreachable: `push_front` returned exactly OVERHEAD_V4 bytes.
                    return None;
                };
                h.eth.dst = p.dst_mac;
                h.eth.src = p.src_mac;
                h.eth.ethertype = U16::new(EtherType::IPV4.0);
                // Whole words, as `inspect` loads them (see `V4Words`): a frame
                // encapsulated, then inspected (e.g. looped back) is read from these stores.
                h.words = [
                    (0x45
                        | u64::from(tos) << 8
                        | be16(total) << 16
                        | be16(p.ip_id) << 32
                        | be16(flags_frag) << 48)
                        .to_le_bytes(),
                    (u64::from(p.ttl)
                        | u64::from(ip_proto::GRE) << 8
                        | be16(checksum) << 16
                        | be32(src.to_bits()) << 32)
                        .to_le_bytes(),
                    (be32(dst.to_bits()) | be32(NVGRE_WORD) << 32).to_le_bytes(),
                ];
                h.key = key;
                OVERHEAD_V4
            }
            Underlay::V6 { src, dst } => {
                let payload = u16::try_from(NvgreHeader::LEN + inner_len).ok()?;
                let out = buf.push_front(OVERHEAD_V6).ok()?;
                let Ok(h) = OuterV6::mut_from_bytes(out) else {
                    // Unreachable: `push_front` returned exactly OVERHEAD_V6 bytes.
                    return None;
                };
                h.eth.dst = p.dst_mac;
                h.eth.src = p.src_mac;
                h.eth.ethertype = U16::new(EtherType::IPV6.0);
                h.ip.ver_tc_flow = U32::new(6 << 28 | u32::from(tos) << 20 | flow.hash >> 12);
                h.ip.payload_len = U16::new(payload);
                h.ip.next_header = ip_proto::GRE;
                h.ip.hop_limit = p.ttl;
                h.ip.src = src.octets();
                h.ip.dst = dst.octets();
                h.gre_word = U32::new(NVGRE_WORD);
                h.key = key;
                OVERHEAD_V6
            }
        };
        Some(Encapsulated::new(flow_id, outer_len, false))
    }

    /// A 16-bit field as it sits, big-endian, in the low bytes of a little-endian word.
    #[inline(always)]
    fn be16(v: u16) -> u64 {
        u64::from(u16::from_le_bytes(v.to_be_bytes()))
    }

    /// A 32-bit field as it sits, big-endian, in the low bytes of a little-endian word.
    #[inline(always)]
    fn be32(v: u32) -> u64 {
        u64::from(u32::from_le_bytes(v.to_be_bytes()))
    }

    /// Untagged Ethernet, option-less IPv4, the first four bytes after it.
    #[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
    #[repr(C)]
    struct InnerV4 {
        eth: EthernetHeader,
        ip: Ipv4Header,
        ports: [u8; 4],
    }

    /// The flow hash of an untagged inner IPv4 frame without options whose total length
    /// covers 4 bytes after the header and fits the frame.
    #[inline]
    pub(super) fn flow_v4(frame: &[u8]) -> Option<InnerFlow> {
        let (h, _) = InnerV4::ref_from_prefix(frame).ok()?;
        let total = usize::from(h.ip.total_len.get());
        if h.eth.ethertype.get() != EtherType::IPV4.0
            || h.ip.version_ihl != 0x45
            || total < Ipv4Header::LEN + 4
            || total > frame.len() - EthernetHeader::LEN
        {
            return None;
        }
        let protocol = h.ip.protocol;
        let ports = if h.ip.is_fragment() {
            0
        } else {
            match protocol {
                ip_proto::TCP | ip_proto::UDP | 132 => u64::from(u32::from_le_bytes(h.ports)),
                _ => 0,
            }
        };
        let addrs =
            u64::from(u32::from_le_bytes(h.ip.src)) | u64::from(u32::from_le_bytes(h.ip.dst)) << 32;
        Some(InnerFlow {
            hash: super::v4_hash(addrs, ports, protocol),
            tos: h.ip.tos,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buf::FrameBuf;

    /// An encapsulated 64-byte inner IPv4/UDP frame, as the data path sees it.
    fn wire(underlay: Underlay, outer_vlan: Option<u16>) -> ([u8; 64], std::vec::Vec<u8>) {
        let mut inner = [0u8; 64];
        inner[12..14].copy_from_slice(&[0x08, 0x00]);
        inner[14..24].copy_from_slice(&[0x45, 0, 0, 50, 0, 0, 0, 0, 64, 17]);
        inner[26..34].copy_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
        inner[34..38].copy_from_slice(&[0x30, 0x39, 0x01, 0xbb]);
        let mut mem = [0u8; MAX_OVERHEAD + 64];
        mem[MAX_OVERHEAD..].copy_from_slice(&inner);
        let mut f = FrameBuf::new(&mut mem, MAX_OVERHEAD, 64).unwrap();
        let mut p = EncapParams::new(
            Vsid::new(5001).unwrap(),
            MacAddr([2, 0, 0, 0, 0, 1]),
            MacAddr([2, 0, 0, 0, 0, 2]),
            underlay,
        );
        p.outer_vlan = outer_vlan;
        encap(&mut f, &p).unwrap();
        (inner, f.data().to_vec())
    }

    /// The fast paths' one-compare key check accepts exactly the keys whose VSID `Vsid::new`
    /// accepts, at every boundary of the ranges and in between.
    #[test]
    fn fast_key_check_agrees_with_vsid_rules() {
        let mut keys = std::vec::Vec::new();
        for vsid in [
            0,
            1,
            Vsid::MIN - 1,
            Vsid::MIN,
            Vsid::MIN + 1,
            0x12_3456,
            Vsid::MAX - 1,
        ]
        .into_iter()
        .chain([Vsid::MAX, Vsid::MAX + 1])
        {
            for flow in [0u32, 1, 0x7f, 0xfe, 0xff] {
                keys.push(vsid << 8 | flow);
            }
        }
        keys.extend((0..=u32::MAX).step_by(65_521));
        for key in keys {
            assert_eq!(
                fast::valid_key(key),
                Vsid::new(key >> 8).is_ok(),
                "key {key:#010x}"
            );
        }
    }

    /// The fast path's checksum rule (sum of little-endian words ≡ 0 mod 65535) accepts
    /// exactly what the general path's RFC 1071 check accepts: every single-bit change of
    /// the outer IPv4 header and GRE word is judged the same by both, a change that only
    /// breaks the checksum is refused as `BadOuterChecksum`, and a checksum field changed
    /// by its one's-complement twin (0x0000 <-> 0xffff) is not a change at all.
    #[test]
    fn fast_ipv4_checks_agree_with_the_general_path_bit_for_bit() {
        let v4 = Underlay::V4 {
            src: Ipv4Addr::new(192, 168, 4, 11),
            dst: Ipv4Addr::new(192, 168, 4, 22),
        };
        let (_, w) = wire(v4, None);
        assert!(fast::inspect(&w).is_some());
        let mut refused = 0;
        for byte in 14..38 {
            for bit in 0..8 {
                let mut m = w.clone();
                m[byte] ^= 1 << bit;
                let general = inspect_general(&m);
                match fast::inspect(&m) {
                    Some(n) => assert_eq!(Ok(n), general, "byte {byte} bit {bit}"),
                    None => assert!(general.is_err(), "byte {byte} bit {bit}: fast path refused"),
                }
                if (26..34).contains(&byte) {
                    // Addresses: only the checksum breaks.
                    assert_eq!(general, Err(DropReason::BadOuterChecksum));
                    refused += 1;
                }
            }
        }
        assert_eq!(refused, 64);
        // A header whose checksum is 0x0000 verifies with 0xffff too (RFC 1624 §3).
        let mut zero = w.clone();
        let sum = u32::from(checksum_without_field(&zero[14..34]));
        // Pick an identification that makes the stored checksum 0x0000.
        let id = (0xffff - sum) as u16;
        zero[18..20].copy_from_slice(&id.to_be_bytes());
        zero[24..26].copy_from_slice(&[0, 0]);
        let mut ones = zero.clone();
        ones[24..26].copy_from_slice(&[0xff, 0xff]);
        for f in [&zero, &ones] {
            assert!(inspect_general(f).is_ok());
            assert_eq!(fast::inspect(f).map(Ok), Some(inspect_general(f)));
        }
    }

    /// The one's-complement sum of an IPv4 header with its checksum and identification
    /// fields taken as zero.
    fn checksum_without_field(h: &[u8]) -> u16 {
        let mut c = h.to_vec();
        c[4..6].copy_from_slice(&[0, 0]);
        c[10..12].copy_from_slice(&[0, 0]);
        crate::wire::checksum::Checksum::new().add_bytes(&c).sum()
    }

    /// The differential tests compare `inspect` with `inspect_general`; this makes sure the
    /// fast paths really answer for the shapes they exist for, and hand tagged frames over.
    #[test]
    fn fast_paths_take_the_common_shapes() {
        let v4 = Underlay::V4 {
            src: Ipv4Addr::new(192, 168, 4, 11),
            dst: Ipv4Addr::new(192, 168, 4, 22),
        };
        let v6 = Underlay::V6 {
            src: Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 11),
            dst: Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 22),
        };
        for u in [v4, v6] {
            let (inner, w) = wire(u, None);
            let fast = fast::inspect(&w).expect("fast path answers");
            assert_eq!(Ok(fast), inspect_general(&w));
            let outer = fast.outer(&w);
            assert_eq!(outer.underlay, u);
            assert_eq!(outer.src_mac, MacAddr([2, 0, 0, 0, 0, 1]));
            assert_eq!(outer.dst_mac, MacAddr([2, 0, 0, 0, 0, 2]));
            assert_eq!(fast.vsid().get(), 5001);
            assert_eq!(fast.inner_len(), 64);
            assert!(fast::flow_v4(&inner).is_some());
            let mut mem = [0u8; MAX_OVERHEAD + 64];
            mem[MAX_OVERHEAD..].copy_from_slice(&inner);
            let mut f = FrameBuf::new(&mut mem, MAX_OVERHEAD, 64).unwrap();
            let p = EncapParams::new(
                Vsid::new(5001).unwrap(),
                MacAddr([2, 0, 0, 0, 0, 1]),
                MacAddr([2, 0, 0, 0, 0, 2]),
                u,
            );
            let done = fast::encap(&mut f, &p).expect("fast encap answers");
            assert_eq!(f.data(), &w[..]);
            assert_eq!(done.outer_len(), u.overhead());
            let (_, tagged) = wire(u, Some(7));
            assert!(fast::inspect(&tagged).is_none());
            assert_eq!(inspect(&tagged).unwrap().outer_vlan(), Some(7));
        }
    }
}
