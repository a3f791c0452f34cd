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
//! | key = VSID ‖ FlowID (§3.2) | from [`EncapParams`] | returned in [`Nvgre`] |
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
//! assert_eq!(got.vsid.get(), 5001);
//! assert_eq!(frame.len(), 60);
//! ```

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encapsulated {
    /// FlowID written into the key.
    pub flow_id: FlowId,
    /// Bytes of outer headers written.
    pub outer_len: usize,
    /// True when an inner 802.1Q tag was removed.
    pub vlan_stripped: bool,
}

/// Encapsulates the Ethernet frame in `buf` into NVGRE, in place.
///
/// A single inner 802.1Q tag is removed first (the 12 address bytes move 4 bytes forward;
/// the payload never moves). Outer headers go into the headroom: Ethernet (with
/// `outer_vlan` if set), IPv4 with a valid checksum and DF, or IPv6 with the flow label
/// set from the inner flow hash, then the GRE header with key = VSID ‖ FlowID.
/// On error nothing is written.
pub fn encap<P: PacketBuf + ?Sized>(
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
    Ok(Encapsulated {
        flow_id,
        outer_len,
        vlan_stripped: strip,
    })
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

/// A validated NVGRE frame: what the outer headers say and where the inner frame is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nvgre {
    /// VSID from the key.
    pub vsid: Vsid,
    /// FlowID from the key (informational; never used for matching).
    pub flow_id: FlowId,
    /// Outer source and destination PAs.
    pub underlay: Underlay,
    /// Outer source MAC.
    pub src_mac: MacAddr,
    /// Outer destination MAC.
    pub dst_mac: MacAddr,
    /// Outer VLAN ID, if the frame was tagged.
    pub outer_vlan: Option<u16>,
    /// Offset of the inner Ethernet frame.
    pub inner_offset: usize,
    /// Length of the inner Ethernet frame (link-layer padding after it excluded).
    pub inner_len: usize,
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
#[inline]
pub fn inspect(frame: &[u8]) -> Result<Nvgre, DropReason> {
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
    let vsid = Vsid::new(key >> 8).map_err(|_| DropReason::ReservedVsid)?;
    let inner = EthernetFrame::parse(gre.payload()).map_err(|_| DropReason::InnerTruncated)?;
    match inner.vlan_tpid() {
        None => {}
        Some(EtherType::VLAN) => return Err(DropReason::InnerVlanTag),
        Some(_) => return Err(DropReason::InnerQinQTag),
    }
    Ok(Nvgre {
        vsid,
        flow_id: FlowId(key as u8),
        underlay,
        src_mac: eth.src(),
        dst_mac: eth.dst(),
        outer_vlan,
        inner_offset: gre_offset + gre.header_len(),
        inner_len: gre.payload().len(),
    })
}

/// Validates an NVGRE frame ([`inspect`]) and strips the outer headers in place, leaving
/// exactly the inner Ethernet frame. On error the buffer is unchanged.
pub fn decap<P: PacketBuf + ?Sized>(buf: &mut P) -> Result<Nvgre, DropReason> {
    let n = inspect(buf.data())?;
    buf.pull_front(n.inner_offset)
        .map_err(|_| DropReason::Truncated)?;
    buf.truncate(n.inner_len);
    Ok(n)
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
    let h = folded_mul(h ^ SEED[2], SEED[3]);
    (h ^ (h >> 32)) as u32
}

#[inline]
fn read_u32(bytes: &[u8], at: usize) -> u32 {
    bytes.get(at..at + 4).map_or(0, |w| {
        let mut word = [0u8; 4];
        word.copy_from_slice(w);
        u32::from_be_bytes(word)
    })
}

#[inline]
fn read_u64(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8).map_or(0, |w| {
        let mut a = [0u8; 8];
        a.copy_from_slice(w);
        u64::from_be_bytes(a)
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
                u64::from(u32::from_be_bytes(h.src)) << 32 | u64::from(u32::from_be_bytes(h.dst));
            let h64 = folded_mul(addrs ^ SEED[0], (p << 8 | u64::from(h.protocol)) ^ SEED[1]);
            Some(InnerFlow {
                hash: finish(h64),
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
    inner_flow(eth.ethertype(), eth.payload()).unwrap_or(InnerFlow {
        hash: mac_hash(frame),
        tos: 0,
    })
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
    hash.to_be_bytes().iter().fold(0, |acc, byte| acc ^ byte)
}
