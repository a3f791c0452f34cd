//! ICMP for IPv6 (RFC 4443) and the neighbour-discovery messages HNV answers (RFC 4861).
//!
//! [`Icmpv6Packet`] views the 4-byte header (type, code, checksum) and the body after it.
//! The checksum covers the IPv6 pseudo-header, so checking and filling it takes the
//! addresses. [`NeighborSolicit`] and [`NeighborAdvert`] view the body of the two
//! neighbour-discovery messages; [`NdpOptions`] walks their options.
//!
//! ```
//! use core::net::Ipv6Addr;
//! use hnv_core::ids::MacAddr;
//! use hnv_core::wire::icmpv6::{Icmpv6Kind, Icmpv6Packet};
//! // fe80::215:5dff:fe00:1 asks ff02::1:ff00:2 who has fe80::215:5dff:fe00:2.
//! let bytes = [
//!     0x87, 0x00, 0x63, 0x57, // neighbour solicitation, checksum
//!     0x00, 0x00, 0x00, 0x00, // reserved
//!     0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x15, 0x5d, 0xff, 0xfe, 0x00, 0x00, 0x02, // target
//!     0x01, 0x01, 0x00, 0x15, 0x5d, 0x00, 0x00, 0x01, // source link-layer address option
//! ];
//! let src: Ipv6Addr = "fe80::215:5dff:fe00:1".parse().unwrap();
//! let dst: Ipv6Addr = "ff02::1:ff00:2".parse().unwrap();
//! let p = Icmpv6Packet::parse(&bytes[..]).unwrap();
//! assert!(p.verify_checksum(src, dst));
//! assert_eq!(p.kind(), Icmpv6Kind::NeighborSolicit);
//! let ns = p.neighbor_solicit().unwrap();
//! assert_eq!(ns.target(), "fe80::215:5dff:fe00:2".parse::<Ipv6Addr>().unwrap());
//! assert_eq!(ns.source_link_addr(), Some(MacAddr([0x00, 0x15, 0x5d, 0x00, 0x00, 0x01])));
//! ```

use core::iter::FusedIterator;
use core::net::Ipv6Addr;

use zerocopy::byteorder::network_endian::{U16, U32};
use zerocopy::{
    ByteSlice, ByteSliceMut, FromBytes, Immutable, IntoBytes, KnownLayout, Ref, SplitByteSlice,
    Unaligned,
};

use super::checksum::{pseudo_v6, Checksum};
use super::{ip_proto, Layer, ParseError};
use crate::ids::MacAddr;

/// ICMPv6 message types (the `type` field).
pub mod msg_type {
    /// Destination unreachable (RFC 4443).
    pub const DEST_UNREACHABLE: u8 = 1;
    /// Packet too big (RFC 4443).
    pub const PACKET_TOO_BIG: u8 = 2;
    /// Time exceeded (RFC 4443).
    pub const TIME_EXCEEDED: u8 = 3;
    /// Parameter problem (RFC 4443).
    pub const PARAMETER_PROBLEM: u8 = 4;
    /// Echo request (RFC 4443).
    pub const ECHO_REQUEST: u8 = 128;
    /// Echo reply (RFC 4443).
    pub const ECHO_REPLY: u8 = 129;
    /// Router solicitation (RFC 4861).
    pub const ROUTER_SOLICIT: u8 = 133;
    /// Router advertisement (RFC 4861).
    pub const ROUTER_ADVERT: u8 = 134;
    /// Neighbour solicitation (RFC 4861).
    pub const NEIGHBOR_SOLICIT: u8 = 135;
    /// Neighbour advertisement (RFC 4861).
    pub const NEIGHBOR_ADVERT: u8 = 136;
    /// Redirect (RFC 4861).
    pub const REDIRECT: u8 = 137;
}

/// Neighbour-discovery option types (RFC 4861 §4.6).
pub mod ndp_option {
    /// Source link-layer address.
    pub const SOURCE_LINK_ADDR: u8 = 1;
    /// Target link-layer address.
    pub const TARGET_LINK_ADDR: u8 = 2;
    /// Prefix information.
    pub const PREFIX_INFO: u8 = 3;
    /// Redirected header.
    pub const REDIRECTED_HEADER: u8 = 4;
    /// MTU.
    pub const MTU: u8 = 5;
}

/// The 4-byte ICMPv6 header common to every message.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct Icmpv6Header {
    /// Message type (see [`msg_type`]).
    pub msg_type: u8,
    /// Message code, meaning depends on the type.
    pub code: u8,
    /// Checksum over the pseudo-header and the whole message.
    pub checksum: U16,
}

impl Icmpv6Header {
    /// Header length in bytes.
    pub const LEN: usize = 4;
    /// Shortest message [`Icmpv6Packet::parse`] accepts: the header and the 4
    /// type-specific bytes after it.
    pub const MIN_MESSAGE_LEN: usize = 8;

    /// A header with checksum 0; fill it with [`Icmpv6Packet::fill_checksum`] once the
    /// body is in place.
    pub const fn new(msg_type: u8, code: u8) -> Self {
        Self {
            msg_type,
            code,
            checksum: U16::ZERO,
        }
    }
}

/// An ICMPv6 message decoded by type, code and the four bytes after the checksum.
///
/// As in RFC 4443 and RFC 4861, echo, packet too big and the neighbour-discovery messages
/// are only recognised with code 0; any other code makes them [`Other`](Self::Other).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Icmpv6Kind {
    /// Echo request (type 128).
    EchoRequest {
        /// Identifier.
        id: u16,
        /// Sequence number.
        seq: u16,
    },
    /// Echo reply (type 129).
    EchoReply {
        /// Identifier.
        id: u16,
        /// Sequence number.
        seq: u16,
    },
    /// Packet too big (type 2).
    PacketTooBig {
        /// MTU of the next-hop link.
        mtu: u32,
    },
    /// Destination unreachable (type 1).
    DestUnreachable {
        /// The code.
        code: u8,
    },
    /// Time exceeded (type 3).
    TimeExceeded {
        /// The code.
        code: u8,
    },
    /// Parameter problem (type 4).
    ParameterProblem {
        /// The code.
        code: u8,
        /// Offset of the error in the invoking packet.
        pointer: u32,
    },
    /// Router solicitation (type 133).
    RouterSolicit,
    /// Router advertisement (type 134).
    RouterAdvert,
    /// Neighbour solicitation (type 135); see [`Icmpv6Packet::neighbor_solicit`].
    NeighborSolicit,
    /// Neighbour advertisement (type 136); see [`Icmpv6Packet::neighbor_advert`].
    NeighborAdvert,
    /// Redirect (type 137).
    Redirect,
    /// Any other type, or a known type with a code it does not define.
    Other {
        /// The type.
        msg_type: u8,
        /// The code.
        code: u8,
    },
}

impl Icmpv6Kind {
    /// Decodes a message from its type, code and the four bytes after the checksum.
    pub const fn decode(msg_type: u8, code: u8, rest: [u8; 4]) -> Self {
        let [a, b, c, d] = rest;
        let hi = u16::from_be_bytes([a, b]);
        let lo = u16::from_be_bytes([c, d]);
        let word = u32::from_be_bytes(rest);
        match (msg_type, code) {
            (msg_type::ECHO_REQUEST, 0) => Self::EchoRequest { id: hi, seq: lo },
            (msg_type::ECHO_REPLY, 0) => Self::EchoReply { id: hi, seq: lo },
            (msg_type::PACKET_TOO_BIG, 0) => Self::PacketTooBig { mtu: word },
            (msg_type::DEST_UNREACHABLE, code) => Self::DestUnreachable { code },
            (msg_type::TIME_EXCEEDED, code) => Self::TimeExceeded { code },
            (msg_type::PARAMETER_PROBLEM, code) => Self::ParameterProblem {
                code,
                pointer: word,
            },
            (msg_type::ROUTER_SOLICIT, 0) => Self::RouterSolicit,
            (msg_type::ROUTER_ADVERT, 0) => Self::RouterAdvert,
            (msg_type::NEIGHBOR_SOLICIT, 0) => Self::NeighborSolicit,
            (msg_type::NEIGHBOR_ADVERT, 0) => Self::NeighborAdvert,
            (msg_type::REDIRECT, 0) => Self::Redirect,
            (msg_type, code) => Self::Other { msg_type, code },
        }
    }
}

/// A checked view of an ICMPv6 message: the 4-byte header and the body after it.
///
/// `parse` checks that the header and the 32 bits that follow it in every ICMPv6 message
/// (RFC 4443 §3–4, RFC 4861 §4) are present, so the message is at least
/// [`Icmpv6Header::MIN_MESSAGE_LEN`] bytes; the body is everything after the header (pass the
/// upper-layer payload of the IPv6 packet). The checksum is *not* checked by `parse`; see
/// [`verify_checksum`](Self::verify_checksum).
pub struct Icmpv6Packet<B> {
    header: Ref<B, Icmpv6Header>,
    body: B,
}

impl<B: SplitByteSlice> Icmpv6Packet<B> {
    /// Views `bytes` as an ICMPv6 message.
    pub fn parse(bytes: B) -> Result<Self, ParseError> {
        let (header, body) = Ref::<B, Icmpv6Header>::from_prefix(bytes)
            .map_err(|_| ParseError::Truncated(Layer::Icmpv6))?;
        if body.len() < Icmpv6Header::MIN_MESSAGE_LEN - Icmpv6Header::LEN {
            return Err(ParseError::Truncated(Layer::Icmpv6));
        }
        Ok(Self { header, body })
    }
}

impl<B: ByteSlice> Icmpv6Packet<B> {
    /// The header.
    pub fn header(&self) -> &Icmpv6Header {
        &self.header
    }

    /// The message type.
    pub fn msg_type(&self) -> u8 {
        self.header.msg_type
    }

    /// The message code.
    pub fn code(&self) -> u8 {
        self.header.code
    }

    /// The message decoded by type and code.
    pub fn kind(&self) -> Icmpv6Kind {
        Icmpv6Kind::decode(
            self.header.msg_type,
            self.header.code,
            self.rest_of_header(),
        )
    }

    /// The bytes after the 4-byte header, starting with the 4 type-specific bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The 4 bytes after the checksum (echo identifier and sequence, MTU, pointer, flags).
    pub fn rest_of_header(&self) -> [u8; 4] {
        // `parse` guarantees 4 body bytes; the fallback is unreachable.
        self.body.first_chunk::<4>().copied().unwrap_or_default()
    }

    /// Length of the whole message (header and body), the upper-layer length of the
    /// pseudo-header.
    pub fn len(&self) -> usize {
        Icmpv6Header::LEN + self.body.len()
    }

    /// Always false: a message has at least [`Icmpv6Header::MIN_MESSAGE_LEN`] bytes.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// True when the checksum over the pseudo-header for `src` → `dst` and the whole
    /// message verifies.
    pub fn verify_checksum(&self, src: Ipv6Addr, dst: Ipv6Addr) -> bool {
        message_sum(src, dst, self.header.as_bytes(), &self.body).sum() == 0xffff
    }

    /// The body as a neighbour solicitation.
    ///
    /// [`ParseError::Unsupported`] unless the type is 135 and the code 0; otherwise as
    /// [`NeighborSolicit::parse`].
    pub fn neighbor_solicit(&self) -> Result<NeighborSolicit<&[u8]>, ParseError> {
        self.expect(msg_type::NEIGHBOR_SOLICIT)?;
        NeighborSolicit::parse(&*self.body)
    }

    /// The body as a neighbour advertisement.
    ///
    /// [`ParseError::Unsupported`] unless the type is 136 and the code 0; otherwise as
    /// [`NeighborAdvert::parse`].
    pub fn neighbor_advert(&self) -> Result<NeighborAdvert<&[u8]>, ParseError> {
        self.expect(msg_type::NEIGHBOR_ADVERT)?;
        NeighborAdvert::parse(&*self.body)
    }

    fn expect(&self, msg_type: u8) -> Result<(), ParseError> {
        if self.header.msg_type == msg_type && self.header.code == 0 {
            Ok(())
        } else {
            Err(ParseError::Unsupported(Layer::Icmpv6))
        }
    }
}

impl<B: ByteSliceMut> Icmpv6Packet<B> {
    /// The header, writable (remember to refill the checksum).
    pub fn header_mut(&mut self) -> &mut Icmpv6Header {
        &mut self.header
    }

    /// The body, writable.
    pub fn body_mut(&mut self) -> &mut [u8] {
        &mut self.body
    }

    /// Writes the 4 bytes after the checksum.
    pub fn set_rest_of_header(&mut self, rest: [u8; 4]) {
        if let Some(r) = self.body.first_chunk_mut::<4>() {
            *r = rest;
        }
    }

    /// Writes an echo identifier and sequence number after the checksum.
    pub fn set_echo(&mut self, id: u16, seq: u16) {
        let [a, b] = id.to_be_bytes();
        let [c, d] = seq.to_be_bytes();
        self.set_rest_of_header([a, b, c, d]);
    }

    /// Writes a packet-too-big MTU after the checksum.
    pub fn set_mtu(&mut self, mtu: u32) {
        self.set_rest_of_header(mtu.to_be_bytes());
    }

    /// The body as a writable neighbour solicitation (see
    /// [`neighbor_solicit`](Self::neighbor_solicit)).
    pub fn neighbor_solicit_mut(&mut self) -> Result<NeighborSolicit<&mut [u8]>, ParseError> {
        self.expect(msg_type::NEIGHBOR_SOLICIT)?;
        NeighborSolicit::parse(&mut *self.body)
    }

    /// The body as a writable neighbour advertisement (see
    /// [`neighbor_advert`](Self::neighbor_advert)).
    pub fn neighbor_advert_mut(&mut self) -> Result<NeighborAdvert<&mut [u8]>, ParseError> {
        self.expect(msg_type::NEIGHBOR_ADVERT)?;
        NeighborAdvert::parse(&mut *self.body)
    }

    /// Computes and stores the checksum over the pseudo-header for `src` → `dst` and the
    /// whole message.
    pub fn fill_checksum(&mut self, src: Ipv6Addr, dst: Ipv6Addr) {
        self.header.checksum = U16::ZERO;
        let c = message_sum(src, dst, self.header.as_bytes(), &self.body).finish();
        self.header.checksum.set(c);
    }
}

fn message_sum(src: Ipv6Addr, dst: Ipv6Addr, header: &[u8], body: &[u8]) -> Checksum {
    // A message longer than 4 GiB cannot be in a slice on any target hnv runs on.
    let len = u32::try_from(header.len() + body.len()).unwrap_or(u32::MAX);
    pseudo_v6(src, dst, ip_proto::ICMPV6, len)
        .add_bytes(header)
        .add_bytes(body)
}

/// The fixed 20-byte body of a neighbour solicitation or advertisement (RFC 4861 §4.3,
/// §4.4): flags and reserved bits, then the target address. Options follow it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct NeighborHeader {
    /// Reserved (zero) in a solicitation; the R, S and O flags in the top bits and
    /// reserved bits in an advertisement.
    pub flags: U32,
    /// Target address.
    pub target: [u8; 16],
}

impl NeighborHeader {
    /// Length in bytes.
    pub const LEN: usize = 20;
    /// Router flag: the sender is a router.
    pub const ROUTER: u32 = 0x8000_0000;
    /// Solicited flag: the advertisement answers a solicitation.
    pub const SOLICITED: u32 = 0x4000_0000;
    /// Override flag: the advertisement overrides a cached link-layer address.
    pub const OVERRIDE: u32 = 0x2000_0000;

    /// The body of a solicitation for `target`.
    pub fn solicit(target: Ipv6Addr) -> Self {
        Self {
            flags: U32::ZERO,
            target: target.octets(),
        }
    }

    /// The body of an advertisement for `target` with the given flags.
    pub fn advert(target: Ipv6Addr, router: bool, solicited: bool, override_: bool) -> Self {
        let mut h = Self::solicit(target);
        h.set_flags(router, solicited, override_);
        h
    }

    /// Target address.
    pub fn target(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.target)
    }

    /// Sets the target address.
    pub fn set_target(&mut self, a: Ipv6Addr) {
        self.target = a.octets();
    }

    /// Router flag (advertisement).
    pub fn is_router(&self) -> bool {
        self.flags.get() & Self::ROUTER != 0
    }

    /// Solicited flag (advertisement).
    pub fn is_solicited(&self) -> bool {
        self.flags.get() & Self::SOLICITED != 0
    }

    /// Override flag (advertisement).
    pub fn is_override(&self) -> bool {
        self.flags.get() & Self::OVERRIDE != 0
    }

    /// Sets the R, S and O flags and clears the reserved bits.
    pub fn set_flags(&mut self, router: bool, solicited: bool, override_: bool) {
        let mut f = 0;
        if router {
            f |= Self::ROUTER;
        }
        if solicited {
            f |= Self::SOLICITED;
        }
        if override_ {
            f |= Self::OVERRIDE;
        }
        self.flags.set(f);
    }
}

/// Splits a neighbour-message body into its fixed part and validated options.
fn parse_neighbor<B: SplitByteSlice>(body: B) -> Result<(Ref<B, NeighborHeader>, B), ParseError> {
    let (header, options) = Ref::<B, NeighborHeader>::from_prefix(body)
        .map_err(|_| ParseError::Truncated(Layer::Icmpv6))?;
    for option in NdpOptions::new(&options) {
        option?;
    }
    Ok((header, options))
}

/// A checked view of a neighbour solicitation body (the bytes after the 4-byte ICMPv6
/// header): reserved bits, target address, options.
///
/// `parse` checks the 20-byte fixed part and that every option has a non-zero length and
/// fits (RFC 4861 §7.1.1); afterwards no accessor fails. Hop limit 255, a non-multicast
/// target and the absence of a source link-layer option from `::` are IP-level checks
/// left to the caller.
pub struct NeighborSolicit<B> {
    header: Ref<B, NeighborHeader>,
    options: B,
}

impl<B: SplitByteSlice> NeighborSolicit<B> {
    /// Views `body` (an ICMPv6 body of type 135) as a neighbour solicitation.
    ///
    /// [`ParseError::Truncated`] if shorter than 20 bytes,
    /// [`ParseError::BadLength`]`(`[`Layer::NdpOption`]`)` for a malformed option.
    pub fn parse(body: B) -> Result<Self, ParseError> {
        let (header, options) = parse_neighbor(body)?;
        Ok(Self { header, options })
    }
}

impl<B: ByteSlice> NeighborSolicit<B> {
    /// The fixed part.
    pub fn header(&self) -> &NeighborHeader {
        &self.header
    }

    /// The address whose link-layer address is asked for.
    pub fn target(&self) -> Ipv6Addr {
        self.header.target()
    }

    /// The options, as bytes.
    pub fn options(&self) -> &[u8] {
        &self.options
    }

    /// The options (validated by `parse`, so the iterator yields no error unless the
    /// bytes were changed through a mutable view since).
    pub fn options_iter(&self) -> NdpOptions<'_> {
        NdpOptions::new(&self.options)
    }

    /// The first source link-layer address option: the solicitor's MAC.
    pub fn source_link_addr(&self) -> Option<MacAddr> {
        self.options_iter()
            .link_addr(ndp_option::SOURCE_LINK_ADDR)
            .ok()
            .flatten()
    }
}

impl<B: ByteSliceMut> NeighborSolicit<B> {
    /// The fixed part, writable.
    pub fn header_mut(&mut self) -> &mut NeighborHeader {
        &mut self.header
    }

    /// The options, writable.
    pub fn options_mut(&mut self) -> &mut [u8] {
        &mut self.options
    }
}

/// A checked view of a neighbour advertisement body (the bytes after the 4-byte ICMPv6
/// header): R/S/O flags, target address, options.
///
/// `parse` checks the same as [`NeighborSolicit::parse`].
pub struct NeighborAdvert<B> {
    header: Ref<B, NeighborHeader>,
    options: B,
}

impl<B: SplitByteSlice> NeighborAdvert<B> {
    /// Views `body` (an ICMPv6 body of type 136) as a neighbour advertisement.
    ///
    /// [`ParseError::Truncated`] if shorter than 20 bytes,
    /// [`ParseError::BadLength`]`(`[`Layer::NdpOption`]`)` for a malformed option.
    pub fn parse(body: B) -> Result<Self, ParseError> {
        let (header, options) = parse_neighbor(body)?;
        Ok(Self { header, options })
    }
}

impl<B: ByteSlice> NeighborAdvert<B> {
    /// The fixed part.
    pub fn header(&self) -> &NeighborHeader {
        &self.header
    }

    /// The address whose link-layer address is advertised.
    pub fn target(&self) -> Ipv6Addr {
        self.header.target()
    }

    /// Router flag.
    pub fn is_router(&self) -> bool {
        self.header.is_router()
    }

    /// Solicited flag.
    pub fn is_solicited(&self) -> bool {
        self.header.is_solicited()
    }

    /// Override flag.
    pub fn is_override(&self) -> bool {
        self.header.is_override()
    }

    /// The options, as bytes.
    pub fn options(&self) -> &[u8] {
        &self.options
    }

    /// The options (validated by `parse`).
    pub fn options_iter(&self) -> NdpOptions<'_> {
        NdpOptions::new(&self.options)
    }

    /// The first target link-layer address option: the MAC of [`target`](Self::target).
    pub fn target_link_addr(&self) -> Option<MacAddr> {
        self.options_iter()
            .link_addr(ndp_option::TARGET_LINK_ADDR)
            .ok()
            .flatten()
    }
}

impl<B: ByteSliceMut> NeighborAdvert<B> {
    /// The fixed part, writable.
    pub fn header_mut(&mut self) -> &mut NeighborHeader {
        &mut self.header
    }

    /// Sets the R, S and O flags (reserved bits cleared).
    pub fn set_flags(&mut self, router: bool, solicited: bool, override_: bool) {
        self.header.set_flags(router, solicited, override_);
    }

    /// The options, writable.
    pub fn options_mut(&mut self) -> &mut [u8] {
        &mut self.options
    }
}

/// One neighbour-discovery option (RFC 4861 §4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NdpOption<'a> {
    /// Option type (see [`ndp_option`]).
    pub option_type: u8,
    /// Length of the whole option in 8-byte units (never 0).
    pub length: u8,
    /// The option after its type and length bytes: `8 * length - 2` bytes.
    pub data: &'a [u8],
}

impl NdpOption<'_> {
    /// For a source or target link-layer address option, the Ethernet address (the first
    /// 6 data bytes, RFC 2464 §6); `None` for other types.
    pub fn link_addr(&self) -> Option<MacAddr> {
        match self.option_type {
            ndp_option::SOURCE_LINK_ADDR | ndp_option::TARGET_LINK_ADDR => {
                self.data.first_chunk::<6>().map(|m| MacAddr(*m))
            }
            _ => None,
        }
    }
}

/// Iterator over the neighbour-discovery options in a byte run.
///
/// Yields `Err(`[`ParseError::BadLength`]`(`[`Layer::NdpOption`]`))` for an option of
/// length 0 or one that runs past the end of the bytes (including a lone trailing byte),
/// then stops.
#[derive(Debug, Clone)]
pub struct NdpOptions<'a> {
    rest: &'a [u8],
}

impl<'a> NdpOptions<'a> {
    /// Iterates over the options in `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    /// The first link-layer address option of `option_type`
    /// ([`ndp_option::SOURCE_LINK_ADDR`] or [`ndp_option::TARGET_LINK_ADDR`]); an error if
    /// a malformed option comes before it.
    pub fn link_addr(self, option_type: u8) -> Result<Option<MacAddr>, ParseError> {
        for option in self {
            let option = option?;
            if option.option_type == option_type {
                return Ok(option.link_addr());
            }
        }
        Ok(None)
    }
}

impl<'a> Iterator for NdpOptions<'a> {
    type Item = Result<NdpOption<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let option = match self.rest.split_first_chunk::<2>() {
            Some((&[option_type, length], _)) if length != 0 => self
                .rest
                .split_at_checked(usize::from(length) * 8)
                .map(|(option, rest)| (option_type, length, option, rest)),
            _ => None,
        };
        let Some((option_type, length, option, rest)) = option else {
            // Fused: a malformed option hides where the next one starts.
            self.rest = &[];
            return Some(Err(ParseError::BadLength(Layer::NdpOption)));
        };
        self.rest = rest;
        let data = option.get(2..).unwrap_or_default();
        Some(Ok(NdpOption {
            option_type,
            length,
            data,
        }))
    }
}

impl FusedIterator for NdpOptions<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use proptest::prelude::*;
    use std::vec::Vec;

    const VM1: MacAddr = MacAddr([0x00, 0x15, 0x5d, 0x00, 0x00, 0x01]);
    const VM2: MacAddr = MacAddr([0x00, 0x15, 0x5d, 0x00, 0x00, 0x02]);

    fn a(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    /// fe80::215:5dff:fe00:1 -> ff02::1:ff00:2: who has fe80::215:5dff:fe00:2, with a
    /// source link-layer option 00-15-5D-00-00-01. Checksum 0x6357 computed independently
    /// (python RFC 1071 sum over the pseudo-header and message).
    const NS: [u8; 32] = [
        0x87, 0x00, 0x63, 0x57, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x02, 0x15, 0x5d, 0xff, 0xfe, 0x00, 0x00, 0x02, 0x01, 0x01, 0x00, 0x15, 0x5d, 0x00,
        0x00, 0x01,
    ];

    /// The answer, fe80::215:5dff:fe00:2 -> fe80::215:5dff:fe00:1: S and O set, target
    /// link-layer option 00-15-5D-00-00-02. Checksum 0xa2c4 computed independently.
    const NA: [u8; 32] = [
        0x88, 0x00, 0xa2, 0xc4, 0x60, 0x00, 0x00, 0x00, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x02, 0x15, 0x5d, 0xff, 0xfe, 0x00, 0x00, 0x02, 0x02, 0x01, 0x00, 0x15, 0x5d, 0x00,
        0x00, 0x02,
    ];

    /// 2001:db8::1 -> 2001:db8::5: packet too big, MTU 1458, quoting the IPv6 header of a
    /// 1500-byte TCP packet 2001:db8::5 -> 2001:db8::9. Checksum 0xd4f6 computed
    /// independently.
    const PTB: [u8; 48] = [
        0x02, 0x00, 0xd4, 0xf6, 0x00, 0x00, 0x05, 0xb2, // header, MTU
        0x60, 0x00, 0x00, 0x00, 0x05, 0xb4, 0x06, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09,
    ];

    /// 2001:db8::5 -> 2001:db8::9: echo request id 0x1a2b seq 7, data 0x10..0x17.
    /// Checksum 0xbdb2 computed independently.
    const ECHO: [u8; 16] = [
        0x80, 0x00, 0xbd, 0xb2, 0x1a, 0x2b, 0x00, 0x07, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16,
        0x17,
    ];

    #[test]
    fn neighbor_solicit() {
        let (src, dst) = (a("fe80::215:5dff:fe00:1"), a("ff02::1:ff00:2"));
        let p = Icmpv6Packet::parse(&NS[..]).unwrap();
        assert_eq!(p.msg_type(), msg_type::NEIGHBOR_SOLICIT);
        assert_eq!(p.kind(), Icmpv6Kind::NeighborSolicit);
        assert!(p.verify_checksum(src, dst));
        assert!(!p.verify_checksum(a("fe80::215:5dff:fe00:3"), dst));
        assert_eq!(p.len(), 32);
        assert!(!p.is_empty());
        let ns = p.neighbor_solicit().unwrap();
        assert_eq!(ns.target(), a("fe80::215:5dff:fe00:2"));
        assert_eq!(ns.header().flags.get(), 0);
        assert_eq!(ns.source_link_addr(), Some(VM1));
        let opts: Vec<_> = ns.options_iter().collect();
        assert_eq!(
            opts,
            [Ok(NdpOption {
                option_type: 1,
                length: 1,
                data: &NS[26..]
            })]
        );
        assert_eq!(ns.options(), &NS[24..]);
        assert_eq!(
            p.neighbor_advert().err(),
            Some(ParseError::Unsupported(Layer::Icmpv6))
        );
    }

    #[test]
    fn neighbor_advert() {
        let (src, dst) = (a("fe80::215:5dff:fe00:2"), a("fe80::215:5dff:fe00:1"));
        let p = Icmpv6Packet::parse(&NA[..]).unwrap();
        assert_eq!(p.kind(), Icmpv6Kind::NeighborAdvert);
        assert!(p.verify_checksum(src, dst));
        let na = p.neighbor_advert().unwrap();
        assert!(!na.is_router() && na.is_solicited() && na.is_override());
        assert_eq!(na.target(), a("fe80::215:5dff:fe00:2"));
        assert_eq!(na.target_link_addr(), Some(VM2));
        assert_eq!(na.options(), &NA[24..]);
        assert_eq!(na.options_iter().count(), 1);
        assert_eq!(
            p.neighbor_solicit().err(),
            Some(ParseError::Unsupported(Layer::Icmpv6))
        );
    }

    /// Proxy ND: answer a solicitation in place, the way HNV answers for a VM.
    #[test]
    fn advert_from_solicit_in_place() {
        let mut b = NS;
        let mut p = Icmpv6Packet::parse(&mut b[..]).unwrap();
        let target = p.neighbor_solicit().unwrap().target();
        p.header_mut().msg_type = msg_type::NEIGHBOR_ADVERT;
        let mut na = p.neighbor_advert_mut().unwrap();
        na.set_flags(false, true, true);
        let opt = na.options_mut();
        opt[0] = ndp_option::TARGET_LINK_ADDR;
        opt[2..8].copy_from_slice(&VM2.0);
        assert_eq!(na.target(), target);
        p.fill_checksum(target, a("fe80::215:5dff:fe00:1"));
        assert_eq!(b, NA);
        // And the same message from the constructors.
        let mut c = [0u8; 32];
        Icmpv6Header::new(msg_type::NEIGHBOR_ADVERT, 0)
            .write_to_prefix(&mut c[..])
            .unwrap();
        NeighborHeader::advert(target, false, true, true)
            .write_to_prefix(&mut c[4..])
            .unwrap();
        c[24..].copy_from_slice(&[2, 1, 0x00, 0x15, 0x5d, 0x00, 0x00, 0x02]);
        let mut p = Icmpv6Packet::parse(&mut c[..]).unwrap();
        p.fill_checksum(target, a("fe80::215:5dff:fe00:1"));
        assert_eq!(c, NA);
    }

    #[test]
    fn neighbor_header_flags() {
        let mut h = NeighborHeader::advert(Ipv6Addr::LOCALHOST, true, false, false);
        assert!(h.is_router() && !h.is_solicited() && !h.is_override());
        assert_eq!(h.flags.get(), NeighborHeader::ROUTER);
        h.flags.set(0xffff_ffff);
        h.set_flags(false, false, true);
        assert_eq!(h.flags.get(), NeighborHeader::OVERRIDE);
        h.set_target(Ipv6Addr::UNSPECIFIED);
        assert_eq!(h.target(), Ipv6Addr::UNSPECIFIED);
        assert_eq!(NeighborHeader::solicit(Ipv6Addr::LOCALHOST).flags.get(), 0);
        assert_eq!(core::mem::size_of::<NeighborHeader>(), NeighborHeader::LEN);
        assert_eq!(core::mem::size_of::<Icmpv6Header>(), Icmpv6Header::LEN);
    }

    #[test]
    fn packet_too_big() {
        let (src, dst) = (a("2001:db8::1"), a("2001:db8::5"));
        let p = Icmpv6Packet::parse(&PTB[..]).unwrap();
        assert_eq!(p.kind(), Icmpv6Kind::PacketTooBig { mtu: 1458 });
        assert_eq!(p.rest_of_header(), [0, 0, 0x05, 0xb2]);
        assert!(p.verify_checksum(src, dst));
        assert_eq!(p.body().get(4..), Some(&PTB[8..]));
        // Build it.
        let mut b = [0u8; 48];
        Icmpv6Header::new(msg_type::PACKET_TOO_BIG, 0)
            .write_to_prefix(&mut b[..])
            .unwrap();
        b[8..].copy_from_slice(&PTB[8..]);
        let mut p = Icmpv6Packet::parse(&mut b[..]).unwrap();
        p.set_mtu(1458);
        p.fill_checksum(src, dst);
        assert_eq!(b, PTB);
    }

    #[test]
    fn echo() {
        let (src, dst) = (a("2001:db8::5"), a("2001:db8::9"));
        let p = Icmpv6Packet::parse(&ECHO[..]).unwrap();
        assert_eq!(p.kind(), Icmpv6Kind::EchoRequest { id: 0x1a2b, seq: 7 });
        assert!(p.verify_checksum(src, dst));
        let mut b = [0u8; 16];
        Icmpv6Header::new(msg_type::ECHO_REQUEST, 0)
            .write_to_prefix(&mut b[..])
            .unwrap();
        b[8..].copy_from_slice(&ECHO[8..]);
        let mut p = Icmpv6Packet::parse(&mut b[..]).unwrap();
        p.set_echo(0x1a2b, 7);
        p.body_mut()[4] = 0x10;
        p.fill_checksum(src, dst);
        assert_eq!(b, ECHO);
        // Reply in place: type 129, addresses swapped.
        let mut p = Icmpv6Packet::parse(&mut b[..]).unwrap();
        p.header_mut().msg_type = msg_type::ECHO_REPLY;
        p.fill_checksum(dst, src);
        assert_eq!(p.kind(), Icmpv6Kind::EchoReply { id: 0x1a2b, seq: 7 });
        assert!(p.verify_checksum(dst, src));
    }

    #[test]
    fn kinds() {
        let k = |t, c| Icmpv6Kind::decode(t, c, [0, 0, 0x05, 0xdc]);
        assert_eq!(k(1, 4), Icmpv6Kind::DestUnreachable { code: 4 });
        assert_eq!(k(2, 0), Icmpv6Kind::PacketTooBig { mtu: 1500 });
        assert_eq!(
            k(2, 1),
            Icmpv6Kind::Other {
                msg_type: 2,
                code: 1
            }
        );
        assert_eq!(k(3, 1), Icmpv6Kind::TimeExceeded { code: 1 });
        assert_eq!(
            k(4, 0),
            Icmpv6Kind::ParameterProblem {
                code: 0,
                pointer: 1500
            }
        );
        assert_eq!(
            k(128, 1),
            Icmpv6Kind::Other {
                msg_type: 128,
                code: 1
            }
        );
        assert_eq!(k(129, 0), Icmpv6Kind::EchoReply { id: 0, seq: 1500 });
        assert_eq!(k(133, 0), Icmpv6Kind::RouterSolicit);
        assert_eq!(k(134, 0), Icmpv6Kind::RouterAdvert);
        assert_eq!(
            k(135, 1),
            Icmpv6Kind::Other {
                msg_type: 135,
                code: 1
            }
        );
        assert_eq!(k(137, 0), Icmpv6Kind::Redirect);
        assert_eq!(
            k(143, 0),
            Icmpv6Kind::Other {
                msg_type: 143,
                code: 0
            }
        );
    }

    #[test]
    fn ndp_options_iteration() {
        // SLLA, an MTU option (type 5, length 1), a 16-byte unknown option, TLLA.
        let bytes = [
            1, 1, 0x00, 0x15, 0x5d, 0x00, 0x00, 0x01, //
            5, 1, 0, 0, 0x00, 0x00, 0x05, 0xb2, //
            200, 2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, //
            2, 1, 0x00, 0x15, 0x5d, 0x00, 0x00, 0x02,
        ];
        let opts: Vec<_> = NdpOptions::new(&bytes).map(Result::unwrap).collect();
        assert_eq!(opts.len(), 4);
        assert_eq!(opts[0].link_addr(), Some(VM1));
        assert_eq!(
            (opts[1].option_type, opts[1].data),
            (ndp_option::MTU, &bytes[10..16])
        );
        assert_eq!(opts[1].link_addr(), None);
        assert_eq!(
            (opts[2].option_type, opts[2].length, opts[2].data.len()),
            (200, 2, 14)
        );
        assert_eq!(opts[3].link_addr(), Some(VM2));
        assert_eq!(
            NdpOptions::new(&bytes).link_addr(ndp_option::TARGET_LINK_ADDR),
            Ok(Some(VM2))
        );
        assert_eq!(
            NdpOptions::new(&bytes[8..]).link_addr(ndp_option::SOURCE_LINK_ADDR),
            Ok(None)
        );
        assert_eq!(NdpOptions::new(&[]).next(), None);
    }

    #[test]
    fn ndp_option_errors() {
        let err = ParseError::BadLength(Layer::NdpOption);
        let bad = Err(err);
        // Zero length: an error, then the iterator stops.
        let mut it = NdpOptions::new(&[1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(it.next(), Some(bad));
        assert_eq!(it.next(), None);
        // Length 2 (16 bytes) in 8 bytes.
        let mut it = NdpOptions::new(&[1, 2, 0, 0, 0, 0, 0, 0]);
        assert_eq!(it.next(), Some(bad));
        assert_eq!(it.next(), None);
        // A good option then a lone trailing byte.
        let mut it = NdpOptions::new(&[1, 1, 0, 0, 0, 0, 0, 0, 2]);
        assert!(matches!(it.next(), Some(Ok(_))));
        assert_eq!(it.next(), Some(bad));
        assert_eq!(it.next(), None);
        // An error before the wanted option is reported by `link_addr`.
        let b = [3, 0, 0, 0, 0, 0, 0, 0, 2, 1, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            NdpOptions::new(&b).link_addr(ndp_option::TARGET_LINK_ADDR),
            Err(err)
        );
    }

    #[test]
    fn errors() {
        let trunc = Some(ParseError::Truncated(Layer::Icmpv6));
        assert_eq!(Icmpv6Packet::parse(&NS[..3]).err(), trunc);
        assert_eq!(Icmpv6Packet::parse(&NS[..7]).err(), trunc);
        assert!(Icmpv6Packet::parse(&NS[..8]).is_ok());
        // NS body shorter than reserved + target.
        let p = Icmpv6Packet::parse(&NS[..23]).unwrap();
        assert_eq!(p.neighbor_solicit().err(), trunc);
        assert_eq!(NeighborAdvert::parse(&NA[4..23]).err(), trunc);
        assert!(NeighborAdvert::parse(&NA[4..24]).is_ok());
        // Code must be 0.
        let mut b = NS;
        b[1] = 1;
        let mut p = Icmpv6Packet::parse(&mut b[..]).unwrap();
        assert_eq!(
            p.neighbor_solicit().err(),
            Some(ParseError::Unsupported(Layer::Icmpv6))
        );
        assert_eq!(
            p.neighbor_solicit_mut().err(),
            Some(ParseError::Unsupported(Layer::Icmpv6))
        );
        assert_eq!(
            p.neighbor_advert_mut().err(),
            Some(ParseError::Unsupported(Layer::Icmpv6))
        );
        // Malformed options fail the NS/NA parse.
        let bad = Some(ParseError::BadLength(Layer::NdpOption));
        let mut b = NS;
        b[25] = 0; // option length 0
        assert_eq!(
            Icmpv6Packet::parse(&b[..])
                .unwrap()
                .neighbor_solicit()
                .err(),
            bad
        );
        b[25] = 2; // 16 bytes in 8
        assert_eq!(NeighborSolicit::parse(&b[4..]).err(), bad);
        assert_eq!(NeighborAdvert::parse(&NA[4..31]).err(), bad);
    }

    #[test]
    fn mutated_options_do_not_panic() {
        let mut b = NS;
        let mut ns = NeighborSolicit::parse(&mut b[4..]).unwrap();
        ns.header_mut().set_target(Ipv6Addr::LOCALHOST);
        ns.options_mut()[1] = 0;
        assert_eq!(ns.source_link_addr(), None);
        assert_eq!(ns.target(), Ipv6Addr::LOCALHOST);
        let mut na = NeighborAdvert::parse(&mut b[4..24]).unwrap();
        na.header_mut().flags.set(NeighborHeader::ROUTER);
        assert!(na.is_router());
        assert_eq!(na.target_link_addr(), None);
    }

    #[test]
    fn etherparse_agrees_on_ns() {
        use etherparse::icmpv6::{Icmpv6PayloadSlice, NdpOptionSlice};
        let (src, dst) = (a("fe80::215:5dff:fe00:1"), a("ff02::1:ff00:2"));
        let s = etherparse::Icmpv6Slice::from_slice(&NS).unwrap();
        assert!(s.is_checksum_valid(src.octets(), dst.octets()));
        assert_eq!(s.icmp_type(), etherparse::Icmpv6Type::NeighborSolicitation);
        let Icmpv6PayloadSlice::NeighborSolicitation(ep) = s.payload_slice().unwrap() else {
            panic!("not an NS");
        };
        let p = Icmpv6Packet::parse(&NS[..]).unwrap();
        let ns = p.neighbor_solicit().unwrap();
        assert_eq!(ep.target_address(), ns.target());
        let ep_opts: Vec<_> = ep.options_iterator().map(Result::unwrap).collect();
        assert_eq!(ep_opts.len(), ns.options_iter().count());
        let NdpOptionSlice::SourceLinkLayerAddress(sl) = &ep_opts[0] else {
            panic!("not an SLLA");
        };
        assert_eq!(
            Some(sl.link_layer_address()),
            ns.source_link_addr().as_ref().map(|m| &m.0[..])
        );
    }

    #[test]
    fn etherparse_agrees_on_na() {
        let (src, dst) = (a("fe80::215:5dff:fe00:2"), a("fe80::215:5dff:fe00:1"));
        let s = etherparse::Icmpv6Slice::from_slice(&NA).unwrap();
        assert!(s.is_checksum_valid(src.octets(), dst.octets()));
        let etherparse::Icmpv6Type::NeighborAdvertisement(h) = s.icmp_type() else {
            panic!("not an NA");
        };
        let p = Icmpv6Packet::parse(&NA[..]).unwrap();
        let na = p.neighbor_advert().unwrap();
        assert_eq!(
            (h.router, h.solicited, h.r#override),
            (na.is_router(), na.is_solicited(), na.is_override())
        );
    }

    #[test]
    fn etherparse_agrees_on_ptb() {
        let (src, dst) = (a("2001:db8::1"), a("2001:db8::5"));
        let theirs = etherparse::Icmpv6Type::PacketTooBig { mtu: 1458 }
            .to_header(src.octets(), dst.octets(), &PTB[8..])
            .unwrap();
        assert_eq!(&theirs.to_bytes()[..], &PTB[..8]);
        let slice = etherparse::Icmpv6Slice::from_slice(&PTB).unwrap();
        let etherparse::Icmpv6Type::PacketTooBig { mtu } = slice.icmp_type() else {
            panic!("not a PTB");
        };
        assert_eq!(
            Icmpv6Packet::parse(&PTB[..]).unwrap().kind(),
            Icmpv6Kind::PacketTooBig { mtu }
        );
    }

    #[test]
    fn etherparse_agrees_on_echo() {
        let (src, dst) = (a("2001:db8::5"), a("2001:db8::9"));
        let echo = etherparse::IcmpEchoHeader { id: 0x1a2b, seq: 7 };
        let theirs = etherparse::Icmpv6Type::EchoRequest(echo)
            .to_header(src.octets(), dst.octets(), &ECHO[8..])
            .unwrap();
        assert_eq!(&theirs.to_bytes()[..], &ECHO[..8]);
        // A message etherparse builds with a checksum we did not compute verifies with ours.
        let theirs = etherparse::Icmpv6Type::EchoReply(echo)
            .to_header(dst.octets(), src.octets(), b"hnv!")
            .unwrap();
        let mut bytes = [0u8; 12];
        bytes[..8].copy_from_slice(&theirs.to_bytes());
        bytes[8..].copy_from_slice(b"hnv!");
        let p = Icmpv6Packet::parse(&bytes[..]).unwrap();
        assert!(p.verify_checksum(dst, src));
        assert_eq!(p.kind(), Icmpv6Kind::EchoReply { id: 0x1a2b, seq: 7 });
    }

    proptest! {
        /// Our option walk agrees with etherparse's on arbitrary bytes, up to the first
        /// option etherparse also checks for a type-specific size (types 3, 4 and 5).
        #[test]
        fn ndp_options_match_etherparse(
            options in proptest::collection::vec(
                (prop_oneof![Just(1u8), Just(2u8), 6u8..=255], 0u8..4, any::<u8>()),
                0..5,
            ),
            tail in proptest::collection::vec(any::<u8>(), 0..12),
        ) {
            // Mostly well-formed options (some of length 0), then arbitrary bytes.
            let mut bytes = Vec::new();
            for (option_type, length, fill) in options {
                bytes.extend_from_slice(&[option_type, length]);
                let data_len = (usize::from(length) * 8).saturating_sub(2);
                bytes.extend(core::iter::repeat_n(fill, data_len));
            }
            bytes.extend_from_slice(&tail);
            let mut seen_ok = 0;
            let theirs = etherparse::icmpv6::NdpOptionsIterator::from_slice(&bytes);
            let mut consumed = 0;
            for (ours, theirs) in NdpOptions::new(&bytes).zip(theirs) {
                match ours {
                    Ok(o) if (3..=5).contains(&o.option_type) => break,
                    Ok(o) => {
                        let theirs = theirs.unwrap();
                        prop_assert_eq!(&theirs.as_bytes()[2..], o.data);
                        prop_assert_eq!(usize::from(o.length) * 8, o.data.len() + 2);
                        consumed += o.data.len() + 2;
                        seen_ok += 1;
                    }
                    Err(e) => {
                        prop_assert_eq!(e, ParseError::BadLength(Layer::NdpOption));
                        prop_assert!(theirs.is_err());
                    }
                }
            }
            prop_assert!(consumed <= bytes.len());
            prop_assert!(seen_ok <= 5 + tail.len() / 8);
            // The views never panic either.
            if let Ok(ns) = NeighborSolicit::parse(&bytes[..]) {
                let _ = (ns.target(), ns.source_link_addr(), ns.options_iter().count());
            }
            if let Ok(p) = Icmpv6Packet::parse(&bytes[..]) {
                let _ = (p.kind(), p.neighbor_solicit().is_ok(), p.neighbor_advert().is_ok());
            }
        }

        /// Our checksum is the one etherparse computes, on arbitrary messages.
        #[test]
        fn checksum_matches_etherparse(
            msg_type in any::<u8>(),
            code in any::<u8>(),
            rest in any::<[u8; 4]>(),
            body in proptest::collection::vec(any::<u8>(), 0..100),
            src in any::<[u8; 16]>(),
            dst in any::<[u8; 16]>(),
        ) {
            let mut bytes = Vec::from(Icmpv6Header::new(msg_type, code).as_bytes());
            bytes.extend_from_slice(&rest);
            bytes.extend_from_slice(&body);
            let mut p = Icmpv6Packet::parse(&mut bytes[..]).unwrap();
            p.fill_checksum(src.into(), dst.into());
            prop_assert!(p.verify_checksum(src.into(), dst.into()));
            let theirs = etherparse::Icmpv6Type::Unknown { type_u8: msg_type, code_u8: code, bytes5to8: rest }
                .calc_checksum(src, dst, &body)
                .unwrap();
            prop_assert_eq!(p.header().checksum.get(), theirs);
            prop_assert!(etherparse::Icmpv6Slice::from_slice(&bytes).unwrap().is_checksum_valid(src, dst));
        }
    }
}
