//! IPv4 (RFC 791) with options.
//!
//! ```
//! use core::net::Ipv4Addr;
//! use hnv_core::wire::ipv4::Ipv4Packet;
//! // 20-byte header (protocol UDP, 10.0.0.5 -> 10.0.0.7) and 4 bytes of payload, then
//! // two bytes of Ethernet padding that the view drops.
//! let bytes = [
//!     0x45, 0x00, 0x00, 0x18, 0x00, 0x01, 0x40, 0x00, 0x40, 0x11, 0x26, 0xc9,
//!     10, 0, 0, 5, 10, 0, 0, 7, 0xde, 0xad, 0xbe, 0xef, 0, 0,
//! ];
//! let p = Ipv4Packet::parse(&bytes[..]).unwrap();
//! assert_eq!(p.header().src(), Ipv4Addr::new(10, 0, 0, 5));
//! assert!(p.header().dont_fragment());
//! assert!(p.verify_checksum());
//! assert_eq!(p.payload(), &[0xde, 0xad, 0xbe, 0xef]);
//! ```

use core::net::Ipv4Addr;

use zerocopy::byteorder::network_endian::U16;
use zerocopy::{
    ByteSlice, ByteSliceMut, FromBytes, Immutable, IntoBytes, KnownLayout, Ref, SplitByteSlice,
    Unaligned,
};

use super::checksum::Checksum;
use super::{Layer, ParseError};

/// The fixed 20-byte IPv4 header.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct Ipv4Header {
    /// Version (4 bits, = 4) and header length in 32-bit words (4 bits, >= 5).
    pub version_ihl: u8,
    /// DSCP (6 bits) and ECN (2 bits).
    pub tos: u8,
    /// Length of header and payload in bytes.
    pub total_len: U16,
    /// Identification.
    pub ident: U16,
    /// Flags (reserved, DF, MF) and the fragment offset in 8-byte units.
    pub flags_frag: U16,
    /// Time to live.
    pub ttl: u8,
    /// Upper-layer protocol (see [`super::ip_proto`]).
    pub protocol: u8,
    /// Header checksum over the header and options.
    pub checksum: U16,
    /// Source address.
    pub src: [u8; 4],
    /// Destination address.
    pub dst: [u8; 4],
}

const DF: u16 = 0x4000;
const MF: u16 = 0x2000;
const OFFSET_MASK: u16 = 0x1fff;

impl Ipv4Header {
    /// Length of the fixed header (no options).
    pub const LEN: usize = 20;

    /// An option-less header with checksum 0; call [`fill_checksum`](Self::fill_checksum)
    /// once the other fields are final.
    pub fn new(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, payload_len: u16) -> Self {
        Self {
            version_ihl: 0x45,
            tos: 0,
            total_len: U16::new(payload_len.saturating_add(Self::LEN as u16)),
            ident: U16::ZERO,
            flags_frag: U16::ZERO,
            ttl: 64,
            protocol,
            checksum: U16::ZERO,
            src: src.octets(),
            dst: dst.octets(),
        }
    }

    /// The version nibble.
    pub fn version(&self) -> u8 {
        self.version_ihl >> 4
    }

    /// Header length in bytes (IHL × 4).
    pub fn header_len(&self) -> usize {
        usize::from(self.version_ihl & 0x0f) * 4
    }

    /// Source address.
    pub fn src(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.src)
    }

    /// Destination address.
    pub fn dst(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.dst)
    }

    /// Sets the source address.
    pub fn set_src(&mut self, a: Ipv4Addr) {
        self.src = a.octets();
    }

    /// Sets the destination address.
    pub fn set_dst(&mut self, a: Ipv4Addr) {
        self.dst = a.octets();
    }

    /// DSCP (upper 6 bits of the TOS byte).
    pub fn dscp(&self) -> u8 {
        self.tos >> 2
    }

    /// ECN (lower 2 bits of the TOS byte).
    pub fn ecn(&self) -> u8 {
        self.tos & 3
    }

    /// Don't Fragment.
    pub fn dont_fragment(&self) -> bool {
        self.flags_frag.get() & DF != 0
    }

    /// More Fragments.
    pub fn more_fragments(&self) -> bool {
        self.flags_frag.get() & MF != 0
    }

    /// Fragment offset in bytes.
    pub fn fragment_offset(&self) -> u32 {
        u32::from(self.flags_frag.get() & OFFSET_MASK) * 8
    }

    /// True for any fragment of a larger datagram (MF set or a non-zero offset).
    pub fn is_fragment(&self) -> bool {
        self.flags_frag.get() & (MF | OFFSET_MASK) != 0
    }

    /// Sets or clears Don't Fragment.
    pub fn set_dont_fragment(&mut self, df: bool) {
        let f = self.flags_frag.get() & !DF;
        self.flags_frag.set(if df { f | DF } else { f });
    }

    /// Computes and stores the checksum of this option-less header.
    pub fn fill_checksum(&mut self) {
        self.checksum = U16::ZERO;
        self.checksum
            .set(Checksum::new().add_bytes(self.as_bytes()).finish());
    }
}

/// A checked view of an IPv4 packet.
///
/// `parse` checks: version 4; IHL ≥ 5 and the options present; `total_len` covers the
/// header and fits the buffer. The payload ends at `total_len` (trailing link-layer
/// padding is not part of it). The checksum is *not* checked by `parse`; see
/// [`verify_checksum`](Self::verify_checksum).
pub struct Ipv4Packet<B> {
    header: Ref<B, Ipv4Header>,
    options: B,
    payload: B,
}

impl<B: SplitByteSlice> Ipv4Packet<B> {
    /// Views `bytes` as an IPv4 packet; bytes past `total_len` are ignored.
    pub fn parse(bytes: B) -> Result<Self, ParseError> {
        let (header, rest) = Ref::<B, Ipv4Header>::from_prefix(bytes)
            .map_err(|_| ParseError::Truncated(Layer::Ipv4))?;
        if header.version() != 4 {
            return Err(ParseError::BadVersion(Layer::Ipv4));
        }
        let hlen = header.header_len();
        if hlen < Ipv4Header::LEN {
            return Err(ParseError::BadHeaderLength(Layer::Ipv4));
        }
        let total = usize::from(header.total_len.get());
        if total < hlen {
            return Err(ParseError::BadLength(Layer::Ipv4));
        }
        let (options, rest) = rest
            .split_at(hlen - Ipv4Header::LEN)
            .map_err(|_| ParseError::Truncated(Layer::Ipv4))?;
        let (payload, _padding) = rest
            .split_at(total - hlen)
            .map_err(|_| ParseError::Truncated(Layer::Ipv4))?;
        Ok(Self {
            header,
            options,
            payload,
        })
    }
}

impl<B: ByteSlice> Ipv4Packet<B> {
    /// The fixed header.
    pub fn header(&self) -> &Ipv4Header {
        &self.header
    }

    /// The options (empty when IHL = 5).
    pub fn options(&self) -> &[u8] {
        &self.options
    }

    /// Header length including options.
    pub fn header_len(&self) -> usize {
        Ipv4Header::LEN + self.options.len()
    }

    /// Consumes the view, returning the payload with the buffer's lifetime.
    pub fn into_payload(self) -> B {
        self.payload
    }

    /// The payload, `total_len - header_len` bytes.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// True when the header checksum (over header and options) verifies.
    pub fn verify_checksum(&self) -> bool {
        header_sum(&self.header, &self.options).sum() == 0xffff
    }

    /// The pseudo-header sum for the payload's TCP/UDP checksum.
    pub fn pseudo_header(&self) -> Checksum {
        super::checksum::pseudo_v4(
            self.header.src(),
            self.header.dst(),
            self.header.protocol,
            self.payload.len() as u16,
        )
    }
}

impl<B: ByteSliceMut> Ipv4Packet<B> {
    /// The fixed header, writable (remember to refill the checksum).
    pub fn header_mut(&mut self) -> &mut Ipv4Header {
        &mut self.header
    }

    /// The payload, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.payload
    }

    /// Computes and stores the header checksum (header and options).
    pub fn fill_checksum(&mut self) {
        self.header.checksum = U16::ZERO;
        let c = header_sum(&self.header, &self.options).finish();
        self.header.checksum.set(c);
    }
}

fn header_sum(h: &Ipv4Header, options: &[u8]) -> Checksum {
    Checksum::new().add_bytes(h.as_bytes()).add_bytes(options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ip_proto;

    /// 10.0.0.5 -> 10.0.0.7 UDP, DF, ID 1, TTL 64, checksum 0x26c9, 4 payload bytes.
    const PKT: [u8; 24] = [
        0x45, 0x00, 0x00, 0x18, 0x00, 0x01, 0x40, 0x00, 0x40, 0x11, 0x26, 0xc9, 10, 0, 0, 5, 10, 0,
        0, 7, 0xde, 0xad, 0xbe, 0xef,
    ];

    #[test]
    fn fields() {
        let p = Ipv4Packet::parse(&PKT[..]).unwrap();
        let h = p.header();
        assert_eq!(h.version(), 4);
        assert_eq!(h.header_len(), 20);
        assert_eq!(h.total_len.get(), 24);
        assert_eq!(h.ident.get(), 1);
        assert!(h.dont_fragment() && !h.more_fragments() && !h.is_fragment());
        assert_eq!(h.ttl, 64);
        assert_eq!(h.protocol, ip_proto::UDP);
        assert_eq!(h.dst(), Ipv4Addr::new(10, 0, 0, 7));
        assert!(p.verify_checksum());
        assert_eq!(p.payload(), &PKT[20..]);
    }

    #[test]
    fn checksum_fill_matches_literal() {
        let mut b = PKT;
        b[10] = 0;
        b[11] = 0;
        let mut p = Ipv4Packet::parse(&mut b[..]).unwrap();
        assert!(!p.verify_checksum());
        p.fill_checksum();
        assert_eq!(&b[10..12], &[0x26, 0xc9]);
        let mut h = Ipv4Header::new(
            Ipv4Addr::new(10, 0, 0, 5),
            Ipv4Addr::new(10, 0, 0, 7),
            ip_proto::UDP,
            4,
        );
        h.ident.set(1);
        h.set_dont_fragment(true);
        h.fill_checksum();
        assert_eq!(h.as_bytes(), &PKT[..20]);
    }

    #[test]
    fn options_and_padding() {
        // IHL 6 (one 4-byte option: NOPs), total 28, then 2 bytes of padding.
        let mut b = [0u8; 30];
        b[0] = 0x46;
        b[3] = 28;
        b[8] = 64;
        b[9] = 6;
        b[20..24].copy_from_slice(&[1, 1, 1, 1]);
        b[24..28].copy_from_slice(&[9, 9, 9, 9]);
        let mut p = Ipv4Packet::parse(&mut b[..]).unwrap();
        assert_eq!(p.options(), &[1, 1, 1, 1]);
        assert_eq!(p.payload(), &[9, 9, 9, 9]);
        p.fill_checksum();
        assert!(p.verify_checksum());
        assert!(crate::wire::checksum::verifies(&b[..24]));
    }

    #[test]
    fn fragments() {
        let mut b = PKT;
        b[6] = 0x20; // MF
        b[7] = 0;
        assert!(Ipv4Packet::parse(&b[..]).unwrap().header().is_fragment());
        b[6] = 0x00;
        b[7] = 0x01; // offset 8
        let p = Ipv4Packet::parse(&b[..]).unwrap();
        assert!(p.header().is_fragment());
        assert_eq!(p.header().fragment_offset(), 8);
    }

    #[test]
    fn errors() {
        assert_eq!(
            Ipv4Packet::parse(&PKT[..19]).err(),
            Some(ParseError::Truncated(Layer::Ipv4))
        );
        let mut b = PKT;
        b[0] = 0x65;
        assert_eq!(
            Ipv4Packet::parse(&b[..]).err(),
            Some(ParseError::BadVersion(Layer::Ipv4))
        );
        b[0] = 0x44;
        assert_eq!(
            Ipv4Packet::parse(&b[..]).err(),
            Some(ParseError::BadHeaderLength(Layer::Ipv4))
        );
        b[0] = 0x45;
        b[3] = 19;
        assert_eq!(
            Ipv4Packet::parse(&b[..]).err(),
            Some(ParseError::BadLength(Layer::Ipv4))
        );
        b[3] = 25;
        assert_eq!(
            Ipv4Packet::parse(&b[..]).err(),
            Some(ParseError::Truncated(Layer::Ipv4))
        );
        b[0] = 0x4f; // IHL 15 = 60 bytes of header in a 24-byte buffer
        b[3] = 60;
        assert_eq!(
            Ipv4Packet::parse(&b[..]).err(),
            Some(ParseError::Truncated(Layer::Ipv4))
        );
    }
}
