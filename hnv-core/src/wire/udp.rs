//! UDP (RFC 768), with the checksum rules of RFC 768 for IPv4 and RFC 8200 §8.1 for IPv6.
//!
//! ```
//! use core::net::Ipv4Addr;
//! use hnv_core::wire::{checksum, ip_proto, udp::{UdpPacket, ZeroChecksum}};
//! // 10.0.0.5:53000 -> 10.0.0.53:53, length 12, 4 bytes of payload, then one byte that
//! // is not part of the datagram.
//! let bytes = [0xcf, 0x08, 0x00, 0x35, 0x00, 0x0c, 0x7e, 0xc1, 0xde, 0xad, 0xbe, 0xef, 0x00];
//! let u = UdpPacket::parse(&bytes[..]).unwrap();
//! assert_eq!((u.src_port(), u.dst_port()), (53000, 53));
//! assert_eq!(u.payload(), &[0xde, 0xad, 0xbe, 0xef]);
//! let pseudo = checksum::pseudo_v4(
//!     Ipv4Addr::new(10, 0, 0, 5),
//!     Ipv4Addr::new(10, 0, 0, 53),
//!     ip_proto::UDP,
//!     u.length(),
//! );
//! assert!(u.verify_checksum(pseudo, ZeroChecksum::Allowed));
//! ```

use zerocopy::byteorder::network_endian::U16;
use zerocopy::{
    ByteSlice, ByteSliceMut, FromBytes, Immutable, IntoBytes, KnownLayout, Ref, SplitByteSlice,
    Unaligned,
};

use super::checksum::{self, Checksum};
use super::{Layer, ParseError};

/// The 8-byte UDP header.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct UdpHeader {
    /// Source port (0 when unused).
    pub src_port: U16,
    /// Destination port.
    pub dst_port: U16,
    /// Length of header and payload in bytes.
    pub length: U16,
    /// Checksum over the pseudo-header, header and payload; 0 means "none" over IPv4.
    pub checksum: U16,
}

// The offload descriptors rely on the field position.
const _: () = assert!(core::mem::offset_of!(UdpHeader, checksum) == 6);

impl UdpHeader {
    /// Header length in bytes.
    pub const LEN: usize = 8;

    /// Offset of the checksum field from the start of the header, for checksum-offload
    /// descriptors (`csum_start` + this = where the NIC stores the result).
    pub const fn checksum_offset() -> usize {
        6
    }

    /// A header for `payload_len` bytes of payload (length saturates at 65535) with
    /// checksum 0; fill the checksum once the datagram is complete, or leave it 0 over
    /// IPv4 to send none.
    pub fn new(src_port: u16, dst_port: u16, payload_len: u16) -> Self {
        Self {
            src_port: U16::new(src_port),
            dst_port: U16::new(dst_port),
            length: U16::new(payload_len.saturating_add(Self::LEN as u16)),
            checksum: U16::ZERO,
        }
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        self.src_port.get()
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        self.dst_port.get()
    }

    /// Sets the source port (the checksum is not updated).
    pub fn set_src_port(&mut self, port: u16) {
        self.src_port.set(port);
    }

    /// Sets the destination port (the checksum is not updated).
    pub fn set_dst_port(&mut self, port: u16) {
        self.dst_port.set(port);
    }

    /// The length field: header and payload in bytes.
    pub fn length(&self) -> u16 {
        self.length.get()
    }

    /// Checksum field as stored.
    pub fn checksum(&self) -> u16 {
        self.checksum.get()
    }
}

/// How [`UdpPacket::verify_checksum`] treats a checksum field of zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ZeroChecksum {
    /// UDP over IPv4 (RFC 768): zero means the sender computed no checksum; the datagram
    /// is accepted without verification.
    Allowed,
    /// UDP over IPv6 (RFC 8200 §8.1): the checksum is mandatory and zero is invalid.
    Rejected,
}

/// A checked view of a UDP datagram.
///
/// `parse` checks that the header is present (else [`ParseError::Truncated`]), that the
/// length field covers at least the header (else [`ParseError::BadLength`]; this includes
/// the length 0 of RFC 2675 jumbograms, which hnv does not handle) and that it fits the
/// buffer (else [`ParseError::Truncated`]). The payload ends at the length field: bytes
/// past it are ignored. The checksum is *not* checked by `parse`; see
/// [`verify_checksum`](Self::verify_checksum).
pub struct UdpPacket<B> {
    header: Ref<B, UdpHeader>,
    payload: B,
}

impl<B: SplitByteSlice> UdpPacket<B> {
    /// Views `bytes` (normally the IP payload) as a UDP datagram; bytes past the length
    /// field are ignored.
    pub fn parse(bytes: B) -> Result<Self, ParseError> {
        let (header, rest) = Ref::<B, UdpHeader>::from_prefix(bytes)
            .map_err(|_| ParseError::Truncated(Layer::Udp))?;
        let len = usize::from(header.length());
        if len < UdpHeader::LEN {
            return Err(ParseError::BadLength(Layer::Udp));
        }
        let (payload, _trailing) = rest
            .split_at(len - UdpHeader::LEN)
            .map_err(|_| ParseError::Truncated(Layer::Udp))?;
        Ok(Self { header, payload })
    }
}

impl<B: ByteSlice> UdpPacket<B> {
    /// The header.
    pub fn header(&self) -> &UdpHeader {
        &self.header
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        self.header.src_port()
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        self.header.dst_port()
    }

    /// The length field (header and payload): the length to put in the pseudo-header.
    pub fn length(&self) -> u16 {
        self.header.length()
    }

    /// Checksum field as stored.
    pub fn checksum(&self) -> u16 {
        self.header.checksum()
    }

    /// False when the checksum field is 0 ("no checksum", legal only over IPv4).
    pub fn checksum_present(&self) -> bool {
        self.header.checksum() != 0
    }

    /// The payload: `length - 8` bytes.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// True when the checksum verifies, or when it is absent (field 0) and `zero` is
    /// [`ZeroChecksum::Allowed`]. `pseudo` is the IP pseudo-header sum for protocol UDP and
    /// length [`length`](Self::length), e.g.
    /// [`Ipv4Packet::pseudo_header`](super::ipv4::Ipv4Packet::pseudo_header),
    /// [`checksum::pseudo_v4`] or [`checksum::pseudo_v6`].
    pub fn verify_checksum(&self, pseudo: Checksum, zero: ZeroChecksum) -> bool {
        if !self.checksum_present() {
            return zero == ZeroChecksum::Allowed;
        }
        datagram_sum(pseudo, *self.header, &self.payload).sum() == 0xffff
    }
}

impl<B: ByteSliceMut> UdpPacket<B> {
    /// The header, writable (the checksum is not updated). Changing the length does not
    /// re-split the view; parse again afterwards.
    pub fn header_mut(&mut self) -> &mut UdpHeader {
        &mut self.header
    }

    /// The payload, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.payload
    }

    /// Sets the source port and updates the checksum incrementally (RFC 1624); an absent
    /// (zero) checksum stays absent.
    pub fn set_src_port(&mut self, port: u16) {
        let old = self.header.src_port();
        self.header.set_src_port(port);
        self.patch_checksum(|c| checksum::update_u16(c, old, port));
    }

    /// Sets the destination port and updates the checksum incrementally (RFC 1624); an
    /// absent (zero) checksum stays absent.
    pub fn set_dst_port(&mut self, port: u16) {
        let old = self.header.dst_port();
        self.header.set_dst_port(port);
        self.patch_checksum(|c| checksum::update_u16(c, old, port));
    }

    /// Computes and stores the checksum over `pseudo` (see
    /// [`verify_checksum`](UdpPacket::verify_checksum)), header and payload. A computed
    /// value of 0 is stored as `0xffff` (RFC 768), since 0 would mean "no checksum".
    pub fn fill_checksum(&mut self, pseudo: Checksum) {
        self.header.checksum = U16::ZERO;
        let c = datagram_sum(pseudo, *self.header, &self.payload).finish();
        self.header.checksum.set(nonzero(c));
    }

    /// Sets the checksum field to 0: "no checksum". Legal over IPv4 only.
    pub fn clear_checksum(&mut self) {
        self.header.checksum = U16::ZERO;
    }

    /// Updates the checksum incrementally (RFC 1624) after an address in the
    /// pseudo-header changed from `old` to `new` (4 bytes for IPv4, 16 for IPv6).
    ///
    /// A zero (absent) checksum is left alone: over IPv4 it stays "no checksum"; over
    /// IPv6 it was already invalid. A non-zero result never becomes 0. Slices of different
    /// or odd length are a caller bug and leave the checksum unchanged.
    pub fn update_checksum_for_address(&mut self, old: &[u8], new: &[u8]) {
        self.patch_checksum(|c| checksum::update_bytes(c, old, new));
    }

    /// Applies an incremental update unless the checksum is absent; keeps it non-zero.
    fn patch_checksum(&mut self, update: impl FnOnce(u16) -> u16) {
        let c = self.header.checksum();
        if c != 0 {
            self.header.checksum.set(nonzero(update(c)));
        }
    }
}

/// RFC 768: a computed checksum of 0 is transmitted as all ones.
const fn nonzero(c: u16) -> u16 {
    if c == 0 {
        0xffff
    } else {
        c
    }
}

fn datagram_sum(pseudo: Checksum, h: UdpHeader, payload: &[u8]) -> Checksum {
    // The 8-byte header is even, so header and payload runs concatenate.
    pseudo.add_bytes(h.as_bytes()).add_bytes(payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ip_proto;
    use core::net::{Ipv4Addr, Ipv6Addr};
    use proptest::prelude::*;
    extern crate std;
    use std::vec::Vec;

    /// A DNS query for example.com A (id 0x1234, RD) from 10.0.0.5:53000 to 10.0.0.53:53.
    /// Checksum 0x3a8b computed independently (python, RFC 1071 over pseudo-header +
    /// datagram, odd length 37).
    const DNS_V4: [u8; 37] = [
        0xcf, 0x08, 0x00, 0x35, 0x00, 0x25, 0x3a, 0x8b, 0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x63,
        0x6f, 0x6d, 0x00, 0x00, 0x01, 0x00, 0x01,
    ];

    /// The same datagram from `fd00::5` to `fd00::35`: checksum 0x5489 (computed independently).
    const DNS_V6: [u8; 37] = [
        0xcf, 0x08, 0x00, 0x35, 0x00, 0x25, 0x54, 0x89, 0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x63,
        0x6f, 0x6d, 0x00, 0x00, 0x01, 0x00, 0x01,
    ];

    /// 10.0.0.5:1000 -> 10.0.0.7:2000 with payload e0 16: the computed checksum is 0.
    const ZERO_SUM: [u8; 10] = [0x03, 0xe8, 0x07, 0xd0, 0x00, 0x0a, 0x00, 0x00, 0xe0, 0x16];

    const SRC4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 5);
    const DST4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 53);

    fn v4(src: Ipv4Addr, dst: Ipv4Addr, len: u16) -> Checksum {
        checksum::pseudo_v4(src, dst, ip_proto::UDP, len)
    }

    fn v6(src: &str, dst: &str, len: u16) -> Checksum {
        let s: Ipv6Addr = src.parse().unwrap();
        let d: Ipv6Addr = dst.parse().unwrap();
        checksum::pseudo_v6(s, d, ip_proto::UDP, u32::from(len))
    }

    #[test]
    fn dns_v4_fields_and_checksum() {
        let u = UdpPacket::parse(&DNS_V4[..]).unwrap();
        assert_eq!(u.src_port(), 53000);
        assert_eq!(u.dst_port(), 53);
        assert_eq!(u.length(), 37);
        assert_eq!(u.checksum(), 0x3a8b);
        assert!(u.checksum_present());
        assert_eq!(u.payload(), &DNS_V4[8..]);
        assert_eq!(u.header().length(), 37);
        assert!(u.verify_checksum(v4(SRC4, DST4, 37), ZeroChecksum::Allowed));
        assert!(u.verify_checksum(v4(SRC4, DST4, 37), ZeroChecksum::Rejected));
        assert!(!u.verify_checksum(
            v4(SRC4, Ipv4Addr::new(10, 0, 0, 54), 37),
            ZeroChecksum::Allowed
        ));

        let mut b = DNS_V4;
        b[6] = 0;
        b[7] = 0;
        let mut u = UdpPacket::parse(&mut b[..]).unwrap();
        u.fill_checksum(v4(SRC4, DST4, 37));
        assert_eq!(b, DNS_V4);
    }

    #[test]
    fn dns_v6_fields_and_checksum() {
        let u = UdpPacket::parse(&DNS_V6[..]).unwrap();
        assert_eq!((u.src_port(), u.dst_port()), (53000, 53));
        let ph = v6("fd00::5", "fd00::35", 37);
        assert!(u.verify_checksum(ph, ZeroChecksum::Rejected));
        let mut b = DNS_V6;
        b[6] = 0;
        b[7] = 0;
        let mut u = UdpPacket::parse(&mut b[..]).unwrap();
        // A zero checksum over IPv6 is invalid.
        assert!(!u.checksum_present());
        assert!(!u.verify_checksum(ph, ZeroChecksum::Rejected));
        u.fill_checksum(ph);
        assert_eq!(b, DNS_V6);
    }

    #[test]
    fn zero_checksum_over_ipv4() {
        let mut b = DNS_V4;
        let mut u = UdpPacket::parse(&mut b[..]).unwrap();
        u.clear_checksum();
        // Absent: accepted over IPv4 whatever the pseudo-header, rejected for IPv6 rules.
        assert!(u.verify_checksum(v4(SRC4, DST4, 37), ZeroChecksum::Allowed));
        assert!(u.verify_checksum(Checksum::new(), ZeroChecksum::Allowed));
        assert!(!u.verify_checksum(v4(SRC4, DST4, 37), ZeroChecksum::Rejected));
        // Incremental updates keep it absent.
        u.update_checksum_for_address(&[10, 0, 0, 53], &[172, 16, 0, 1]);
        u.set_src_port(1);
        u.set_dst_port(2);
        assert_eq!(u.checksum(), 0);
        assert_eq!(&b[..8], &[0, 1, 0, 2, 0, 0x25, 0, 0]);
    }

    #[test]
    fn computed_zero_is_sent_as_ffff() {
        let dst = Ipv4Addr::new(10, 0, 0, 7);
        let mut b = ZERO_SUM;
        let mut u = UdpPacket::parse(&mut b[..]).unwrap();
        u.fill_checksum(v4(SRC4, dst, 10));
        assert_eq!(u.checksum(), 0xffff);
        assert!(u.verify_checksum(v4(SRC4, dst, 10), ZeroChecksum::Rejected));
        // etherparse agrees.
        let h = etherparse::UdpHeader {
            source_port: 1000,
            destination_port: 2000,
            length: 10,
            checksum: 0,
        };
        let c = h
            .calc_checksum_ipv4_raw(SRC4.octets(), dst.octets(), &ZERO_SUM[8..])
            .unwrap();
        assert_eq!(c, 0xffff);
        // An incremental update landing on 0 also yields 0xffff: changing the source
        // address from 10.0.0.4 to 10.0.0.5 gives the zero-sum datagram.
        let mut b = ZERO_SUM;
        let mut u = UdpPacket::parse(&mut b[..]).unwrap();
        let from = Ipv4Addr::new(10, 0, 0, 4);
        u.fill_checksum(v4(from, dst, 10));
        assert_ne!(u.checksum(), 0xffff);
        u.update_checksum_for_address(&from.octets(), &SRC4.octets());
        assert_eq!(u.checksum(), 0xffff);
        // And a port change from there is still right.
        u.set_src_port(1001);
        assert!(u.verify_checksum(v4(SRC4, dst, 10), ZeroChecksum::Rejected));
    }

    #[test]
    fn address_update_matches_literal() {
        // Independently computed: 10.0.0.5 -> 172.16.0.1 gives 0x98ae.
        let mut b = DNS_V4;
        let mut u = UdpPacket::parse(&mut b[..]).unwrap();
        u.update_checksum_for_address(&[10, 0, 0, 53], &[172, 16, 0, 1]);
        assert_eq!(u.checksum(), 0x98ae);
        // fd00::5 -> 2001:db8::1 over IPv6 gives 0x23d5.
        let mut b = DNS_V6;
        let mut u = UdpPacket::parse(&mut b[..]).unwrap();
        let old: Ipv6Addr = "fd00::5".parse().unwrap();
        let new: Ipv6Addr = "2001:db8::1".parse().unwrap();
        u.update_checksum_for_address(&old.octets(), &new.octets());
        assert_eq!(u.checksum(), 0x23d5);
        assert!(u.verify_checksum(v6("2001:db8::1", "fd00::35", 37), ZeroChecksum::Rejected));
        // Mismatched lengths are ignored.
        u.update_checksum_for_address(&old.octets(), &[1, 2, 3, 4]);
        assert_eq!(u.checksum(), 0x23d5);
    }

    #[test]
    fn port_setters_keep_checksum_valid() {
        let mut b = DNS_V4;
        let mut u = UdpPacket::parse(&mut b[..]).unwrap();
        u.set_src_port(4789);
        u.set_dst_port(5353);
        assert_eq!((u.src_port(), u.dst_port()), (4789, 5353));
        assert!(u.verify_checksum(v4(SRC4, DST4, 37), ZeroChecksum::Rejected));
        let c = u.checksum();
        u.header_mut().set_dst_port(53);
        assert_eq!(u.checksum(), c);
        u.payload_mut()[0] = 0xff;
        assert!(!u.verify_checksum(v4(SRC4, DST4, 37), ZeroChecksum::Rejected));
        assert_eq!(&b[..4], &[0x12, 0xb5, 0x00, 0x35]);
        assert_eq!(b[8], 0xff);
    }

    #[test]
    fn header_new() {
        let h = UdpHeader::new(53000, 53, 29);
        assert_eq!(
            h.as_bytes(),
            &[0xcf, 0x08, 0x00, 0x35, 0x00, 0x25, 0x00, 0x00]
        );
        assert_eq!(UdpHeader::new(1, 2, u16::MAX).length(), u16::MAX);
        assert_eq!(UdpHeader::checksum_offset(), 6);
    }

    #[test]
    fn trailing_bytes_ignored() {
        let mut b = [0u8; 40];
        b[..37].copy_from_slice(&DNS_V4);
        b[37..].copy_from_slice(&[0xee; 3]);
        let u = UdpPacket::parse(&b[..]).unwrap();
        assert_eq!(u.payload(), &DNS_V4[8..]);
        assert!(u.verify_checksum(v4(SRC4, DST4, 37), ZeroChecksum::Rejected));
        // Length exactly 8: empty payload.
        let e = [0, 1, 0, 2, 0, 8, 0, 0, 0xee];
        assert!(UdpPacket::parse(&e[..]).unwrap().payload().is_empty());
    }

    #[test]
    fn errors() {
        assert_eq!(
            UdpPacket::parse(&DNS_V4[..7]).err(),
            Some(ParseError::Truncated(Layer::Udp))
        );
        assert_eq!(
            UdpPacket::parse(&[][..]).err(),
            Some(ParseError::Truncated(Layer::Udp))
        );
        // Length field beyond the buffer.
        assert_eq!(
            UdpPacket::parse(&DNS_V4[..36]).err(),
            Some(ParseError::Truncated(Layer::Udp))
        );
        let mut b = DNS_V4;
        for len in 0..8u8 {
            b[5] = len;
            assert_eq!(
                UdpPacket::parse(&b[..]).err(),
                Some(ParseError::BadLength(Layer::Udp)),
                "length {len}"
            );
        }
        b[4] = 0xff;
        b[5] = 0xff;
        assert_eq!(
            UdpPacket::parse(&b[..]).err(),
            Some(ParseError::Truncated(Layer::Udp))
        );
    }

    #[test]
    fn etherparse_cross_check() {
        let payload = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www";
        // IPv4
        let builder =
            etherparse::PacketBuilder::ipv4(SRC4.octets(), DST4.octets(), 64).udp(40000, 53);
        let mut pkt = Vec::new();
        builder.write(&mut pkt, payload).unwrap();
        let ip = crate::wire::ipv4::Ipv4Packet::parse(&pkt[..]).unwrap();
        let reference = etherparse::UdpHeaderSlice::from_slice(ip.payload()).unwrap();
        let u = UdpPacket::parse(ip.payload()).unwrap();
        assert_eq!(
            (u.src_port(), u.dst_port()),
            (reference.source_port(), reference.destination_port())
        );
        assert_eq!(u.length(), reference.length());
        assert_eq!(u.checksum(), reference.checksum());
        assert_eq!(u.payload(), payload);
        assert!(u.verify_checksum(ip.pseudo_header(), ZeroChecksum::Rejected));
        let mut seg = ip.payload().to_vec();
        seg[6] = 0;
        seg[7] = 0;
        let mut mut_view = UdpPacket::parse(&mut seg[..]).unwrap();
        mut_view.fill_checksum(ip.pseudo_header());
        assert_eq!(mut_view.checksum(), reference.checksum());

        // IPv6
        let src6: Ipv6Addr = "fd00::5".parse().unwrap();
        let dst6: Ipv6Addr = "fd00::35".parse().unwrap();
        let builder =
            etherparse::PacketBuilder::ipv6(src6.octets(), dst6.octets(), 64).udp(40000, 53);
        let mut pkt = Vec::new();
        builder.write(&mut pkt, payload).unwrap();
        let seg = &pkt[40..];
        let reference = etherparse::UdpHeaderSlice::from_slice(seg).unwrap();
        let u = UdpPacket::parse(seg).unwrap();
        assert_eq!(
            (u.src_port(), u.dst_port(), u.length()),
            (40000, 53, reference.length())
        );
        let ph = checksum::pseudo_v6(src6, dst6, ip_proto::UDP, u32::from(u.length()));
        assert!(u.verify_checksum(ph, ZeroChecksum::Rejected));
        let mut copy = seg.to_vec();
        copy[6] = 0;
        copy[7] = 0;
        let mut mut_view = UdpPacket::parse(&mut copy[..]).unwrap();
        mut_view.fill_checksum(ph);
        assert_eq!(mut_view.checksum(), reference.checksum());
    }

    proptest! {
        #[test]
        fn incremental_address_update_equals_recompute(
            sport in any::<u16>(),
            dport in any::<u16>(),
            payload in proptest::collection::vec(any::<u8>(), 0..200),
            old4 in any::<[u8; 4]>(),
            new4 in any::<[u8; 4]>(),
            old6 in any::<[u8; 16]>(),
            new6 in any::<[u8; 16]>(),
            new_port in any::<u16>(),
        ) {
            let mut d = Vec::from(UdpHeader::new(sport, dport, payload.len() as u16).as_bytes());
            d.extend_from_slice(&payload);
            let len = d.len() as u16;
            let p4 = |s: [u8; 4]| checksum::pseudo_v4(s.into(), DST4, ip_proto::UDP, len);
            let p6 = |s: [u8; 16]| {
                checksum::pseudo_v6(s.into(), Ipv6Addr::LOCALHOST, ip_proto::UDP, u32::from(len))
            };

            let mut u = UdpPacket::parse(&mut d[..]).unwrap();
            u.fill_checksum(p4(old4));
            u.update_checksum_for_address(&old4, &new4);
            let inc = u.checksum();
            u.fill_checksum(p4(new4));
            prop_assert_eq!(inc, u.checksum());
            prop_assert!(u.verify_checksum(p4(new4), ZeroChecksum::Rejected));

            u.fill_checksum(p6(old6));
            u.update_checksum_for_address(&old6, &new6);
            let inc = u.checksum();
            u.fill_checksum(p6(new6));
            prop_assert_eq!(inc, u.checksum());

            u.set_src_port(new_port);
            let inc = u.checksum();
            u.fill_checksum(p6(new6));
            prop_assert_eq!(inc, u.checksum());

            // Absent stays absent.
            u.clear_checksum();
            u.update_checksum_for_address(&old4, &new4);
            u.set_dst_port(new_port);
            prop_assert_eq!(u.checksum(), 0);
        }
    }
}
