//! TCP (RFC 9293): the fixed header, options, flags and the checksum over the
//! caller-supplied IP pseudo-header.
//!
//! ```
//! use core::net::Ipv4Addr;
//! use hnv_core::wire::{checksum, ip_proto, tcp::{TcpFlags, TcpPacket}};
//! // 10.0.0.5:51514 -> 10.0.0.7:80, SYN, seq 1, window 64240, option MSS 1460.
//! let bytes = [
//!     0xc9, 0x3a, 0x00, 0x50, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
//!     0x60, 0x02, 0xfa, 0xf0, 0xbf, 0x9e, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4,
//! ];
//! let t = TcpPacket::parse(&bytes[..]).unwrap();
//! assert_eq!((t.src_port(), t.dst_port()), (51514, 80));
//! assert_eq!(t.flags(), TcpFlags::SYN);
//! assert_eq!(t.header_len(), 24);
//! assert_eq!(t.mss(), Some(1460));
//! let pseudo = checksum::pseudo_v4(
//!     Ipv4Addr::new(10, 0, 0, 5),
//!     Ipv4Addr::new(10, 0, 0, 7),
//!     ip_proto::TCP,
//!     bytes.len() as u16,
//! );
//! assert!(t.verify_checksum(pseudo));
//! ```

use core::ops::{BitAnd, BitOr, BitOrAssign};

use zerocopy::byteorder::network_endian::{U16, U32};
use zerocopy::{
    ByteSlice, ByteSliceMut, FromBytes, Immutable, IntoBytes, KnownLayout, Ref, SplitByteSlice,
    Unaligned,
};

use super::checksum::{self, Checksum};
use super::{Layer, ParseError};

/// The eight TCP control bits (RFC 9293 §3.1, with ECE and CWR from RFC 3168).
///
/// A plain bit set over the flags byte: combine with `|`, test with
/// [`contains`](Self::contains) or the per-flag accessors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// No more data from sender.
    pub const FIN: Self = Self(0x01);
    /// Synchronize sequence numbers.
    pub const SYN: Self = Self(0x02);
    /// Reset the connection.
    pub const RST: Self = Self(0x04);
    /// Push function.
    pub const PSH: Self = Self(0x08);
    /// Acknowledgment field is significant.
    pub const ACK: Self = Self(0x10);
    /// Urgent pointer field is significant.
    pub const URG: Self = Self(0x20);
    /// ECN-Echo (RFC 3168).
    pub const ECE: Self = Self(0x40);
    /// Congestion Window Reduced (RFC 3168).
    pub const CWR: Self = Self(0x80);

    /// No flag set.
    pub const fn empty() -> Self {
        Self(0)
    }

    /// The flags byte.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// True when every flag of `other` is set in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// True when at least one flag of `other` is set in `self`.
    pub const fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }

    /// FIN is set.
    pub const fn fin(self) -> bool {
        self.contains(Self::FIN)
    }

    /// SYN is set.
    pub const fn syn(self) -> bool {
        self.contains(Self::SYN)
    }

    /// RST is set.
    pub const fn rst(self) -> bool {
        self.contains(Self::RST)
    }

    /// PSH is set.
    pub const fn psh(self) -> bool {
        self.contains(Self::PSH)
    }

    /// ACK is set.
    pub const fn ack(self) -> bool {
        self.contains(Self::ACK)
    }

    /// URG is set.
    pub const fn urg(self) -> bool {
        self.contains(Self::URG)
    }

    /// ECE is set.
    pub const fn ece(self) -> bool {
        self.contains(Self::ECE)
    }

    /// CWR is set.
    pub const fn cwr(self) -> bool {
        self.contains(Self::CWR)
    }
}

impl BitOr for TcpFlags {
    type Output = Self;

    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl BitOrAssign for TcpFlags {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for TcpFlags {
    type Output = Self;

    fn bitand(self, rhs: Self) -> Self {
        Self(self.0 & rhs.0)
    }
}

/// The fixed 20-byte TCP header.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct TcpHeader {
    /// Source port.
    pub src_port: U16,
    /// Destination port.
    pub dst_port: U16,
    /// Sequence number.
    pub seq: U32,
    /// Acknowledgment number.
    pub ack: U32,
    /// Data offset in 32-bit words (upper 4 bits) and reserved bits (lower 4 bits).
    pub offset_reserved: u8,
    /// Control bits (see [`TcpFlags`]).
    pub flags: u8,
    /// Receive window.
    pub window: U16,
    /// Checksum over the pseudo-header, header, options and payload.
    pub checksum: U16,
    /// Urgent pointer.
    pub urgent: U16,
}

// The offload descriptors rely on the field position.
const _: () = assert!(core::mem::offset_of!(TcpHeader, checksum) == 16);

impl TcpHeader {
    /// Length of the fixed header (no options).
    pub const LEN: usize = 20;
    /// Smallest valid data offset, in 32-bit words.
    pub const MIN_DATA_OFFSET: u8 = 5;

    /// Offset of the checksum field from the start of the header, for checksum-offload
    /// descriptors (`csum_start` + this = where the NIC stores the result).
    pub const fn checksum_offset() -> usize {
        16
    }

    /// An option-less header (data offset 5), urgent pointer and checksum 0; fill the
    /// checksum once the segment is complete.
    pub fn new(
        src_port: u16,
        dst_port: u16,
        seq: u32,
        ack: u32,
        flags: TcpFlags,
        window: u16,
    ) -> Self {
        Self {
            src_port: U16::new(src_port),
            dst_port: U16::new(dst_port),
            seq: U32::new(seq),
            ack: U32::new(ack),
            offset_reserved: Self::MIN_DATA_OFFSET << 4,
            flags: flags.0,
            window: U16::new(window),
            checksum: U16::ZERO,
            urgent: U16::ZERO,
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

    /// Sequence number.
    pub fn seq(&self) -> u32 {
        self.seq.get()
    }

    /// Acknowledgment number.
    pub fn ack(&self) -> u32 {
        self.ack.get()
    }

    /// Data offset: header length in 32-bit words.
    pub fn data_offset(&self) -> u8 {
        self.offset_reserved >> 4
    }

    /// Sets the data offset in 32-bit words (only the low 4 bits of `words` are used); the
    /// reserved bits are kept.
    pub fn set_data_offset(&mut self, words: u8) {
        self.offset_reserved = (words << 4) | (self.offset_reserved & 0x0f);
    }

    /// Header length in bytes (data offset × 4), options included.
    pub fn header_len(&self) -> usize {
        usize::from(self.data_offset()) * 4
    }

    /// The control bits.
    pub fn flags(&self) -> TcpFlags {
        TcpFlags(self.flags)
    }

    /// Sets the control bits.
    pub fn set_flags(&mut self, flags: TcpFlags) {
        self.flags = flags.0;
    }

    /// Receive window.
    pub fn window(&self) -> u16 {
        self.window.get()
    }

    /// Checksum field as stored.
    pub fn checksum(&self) -> u16 {
        self.checksum.get()
    }

    /// Urgent pointer.
    pub fn urgent(&self) -> u16 {
        self.urgent.get()
    }
}

/// Option kind: end of option list.
pub const OPT_EOL: u8 = 0;
/// Option kind: no-operation (padding).
pub const OPT_NOP: u8 = 1;
/// Option kind: maximum segment size.
pub const OPT_MSS: u8 = 2;

/// A checked view of a TCP segment: header, options and payload.
///
/// The segment is the whole input: pass exactly the IP payload (the IPv4 payload, or the
/// IPv6 payload after its extension headers). `parse` checks that the fixed header is
/// present (else [`ParseError::Truncated`]), that the data offset is at least 5 (else
/// [`ParseError::BadHeaderLength`]) and that the options it declares fit the buffer (else
/// [`ParseError::Truncated`]). The checksum is *not* checked by `parse`; see
/// [`verify_checksum`](Self::verify_checksum).
pub struct TcpPacket<B> {
    header: Ref<B, TcpHeader>,
    options: B,
    payload: B,
}

impl<B: SplitByteSlice> TcpPacket<B> {
    /// Views `bytes`, the whole segment, as a TCP packet.
    pub fn parse(bytes: B) -> Result<Self, ParseError> {
        let (header, rest) = Ref::<B, TcpHeader>::from_prefix(bytes)
            .map_err(|_| ParseError::Truncated(Layer::Tcp))?;
        let hlen = header.header_len();
        if hlen < TcpHeader::LEN {
            return Err(ParseError::BadHeaderLength(Layer::Tcp));
        }
        let (options, payload) = rest
            .split_at(hlen - TcpHeader::LEN)
            .map_err(|_| ParseError::Truncated(Layer::Tcp))?;
        Ok(Self {
            header,
            options,
            payload,
        })
    }
}

impl<B: ByteSlice> TcpPacket<B> {
    /// The fixed header.
    pub fn header(&self) -> &TcpHeader {
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

    /// Sequence number.
    pub fn seq(&self) -> u32 {
        self.header.seq()
    }

    /// Acknowledgment number.
    pub fn ack(&self) -> u32 {
        self.header.ack()
    }

    /// The control bits.
    pub fn flags(&self) -> TcpFlags {
        self.header.flags()
    }

    /// Receive window.
    pub fn window(&self) -> u16 {
        self.header.window()
    }

    /// Checksum field as stored.
    pub fn checksum(&self) -> u16 {
        self.header.checksum()
    }

    /// Header length including options (data offset × 4).
    pub fn header_len(&self) -> usize {
        TcpHeader::LEN + self.options.len()
    }

    /// Length of the whole segment (header, options, payload): the length to put in the
    /// pseudo-header.
    pub fn segment_len(&self) -> usize {
        self.header_len() + self.payload.len()
    }

    /// The option bytes (empty when the data offset is 5).
    pub fn options(&self) -> &[u8] {
        &self.options
    }

    /// The payload: everything after the options.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The Maximum Segment Size option, if present and well formed (kind 2, length 4).
    ///
    /// The walk stops at End of Option List or at an option whose length is below 2 or
    /// runs past the options; such malformed lists yield `None` unless MSS came first.
    pub fn mss(&self) -> Option<u16> {
        let opts: &[u8] = &self.options;
        let mut i = 0usize;
        loop {
            match *opts.get(i)? {
                OPT_EOL => return None,
                OPT_NOP => i += 1,
                kind => {
                    let len = usize::from(*opts.get(i + 1)?);
                    if len < 2 {
                        return None;
                    }
                    let body = opts.get(i + 2..i + len)?;
                    if kind == OPT_MSS {
                        return match *body {
                            [hi, lo] => Some(u16::from_be_bytes([hi, lo])),
                            _ => None,
                        };
                    }
                    i += len;
                }
            }
        }
    }

    /// True when the checksum verifies. `pseudo` is the IP pseudo-header sum for protocol
    /// TCP and length [`segment_len`](Self::segment_len), e.g.
    /// [`Ipv4Packet::pseudo_header`](super::ipv4::Ipv4Packet::pseudo_header),
    /// [`checksum::pseudo_v4`] or [`checksum::pseudo_v6`].
    pub fn verify_checksum(&self, pseudo: Checksum) -> bool {
        segment_sum(pseudo, &self.header, &self.options, &self.payload).sum() == 0xffff
    }
}

impl<B: ByteSliceMut> TcpPacket<B> {
    /// The fixed header, writable (the checksum is not updated). Changing the data offset
    /// does not re-split the view; parse again afterwards.
    pub fn header_mut(&mut self) -> &mut TcpHeader {
        &mut self.header
    }

    /// The option bytes, writable.
    pub fn options_mut(&mut self) -> &mut [u8] {
        &mut self.options
    }

    /// The payload, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.payload
    }

    /// Sets the source port and updates the checksum incrementally (RFC 1624).
    pub fn set_src_port(&mut self, port: u16) {
        let old = self.header.src_port();
        self.header.set_src_port(port);
        let c = checksum::update_u16(self.header.checksum(), old, port);
        self.header.checksum.set(c);
    }

    /// Sets the destination port and updates the checksum incrementally (RFC 1624).
    pub fn set_dst_port(&mut self, port: u16) {
        let old = self.header.dst_port();
        self.header.set_dst_port(port);
        let c = checksum::update_u16(self.header.checksum(), old, port);
        self.header.checksum.set(c);
    }

    /// Computes and stores the checksum over `pseudo` (see
    /// [`verify_checksum`](TcpPacket::verify_checksum)), header, options and payload.
    pub fn fill_checksum(&mut self, pseudo: Checksum) {
        self.header.checksum = U16::ZERO;
        let c = segment_sum(pseudo, &self.header, &self.options, &self.payload).finish();
        self.header.checksum.set(c);
    }

    /// Updates the checksum incrementally (RFC 1624) after an address in the
    /// pseudo-header changed from `old` to `new` (4 bytes for IPv4, 16 for IPv6), as when
    /// the outer IP header is rewritten. Slices of different or odd length are a caller
    /// bug and leave the checksum unchanged.
    pub fn update_checksum_for_address(&mut self, old: &[u8], new: &[u8]) {
        let c = checksum::update_bytes(self.header.checksum(), old, new);
        self.header.checksum.set(c);
    }
}

fn segment_sum(pseudo: Checksum, h: &TcpHeader, options: &[u8], payload: &[u8]) -> Checksum {
    // Header (20) and options (a multiple of 4) are even, so the runs concatenate.
    pseudo
        .add_bytes(h.as_bytes())
        .add_bytes(options)
        .add_bytes(payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ip_proto;
    use core::net::{Ipv4Addr, Ipv6Addr};
    use proptest::prelude::*;
    extern crate std;
    use std::vec::Vec;

    const SRC: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 5);
    const DST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 7);

    /// A Linux-style SYN 10.0.0.5:51514 -> 10.0.0.7:80, seq 0x12345678, window 64240,
    /// options MSS 1460, SACK permitted, timestamps (0x0a1b2c3d, 0), NOP, window scale 7.
    /// Checksum 0xd074 computed independently (python, RFC 1071 over pseudo-header + segment).
    const SYN: [u8; 40] = [
        0xc9, 0x3a, 0x00, 0x50, 0x12, 0x34, 0x56, 0x78, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfa,
        0xf0, 0xd0, 0x74, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x0a, 0x1b,
        0x2c, 0x3d, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
    ];

    fn pseudo(src: Ipv4Addr, len: usize) -> Checksum {
        checksum::pseudo_v4(src, DST, ip_proto::TCP, len as u16)
    }

    #[test]
    fn syn_fields() {
        let t = TcpPacket::parse(&SYN[..]).unwrap();
        assert_eq!(t.src_port(), 51514);
        assert_eq!(t.dst_port(), 80);
        assert_eq!(t.seq(), 0x1234_5678);
        assert_eq!(t.ack(), 0);
        assert_eq!(t.header().data_offset(), 10);
        assert_eq!(t.header_len(), 40);
        assert_eq!(t.segment_len(), 40);
        assert_eq!(t.flags(), TcpFlags::SYN);
        assert!(t.flags().syn() && !t.flags().ack());
        assert_eq!(t.window(), 64240);
        assert_eq!(t.checksum(), 0xd074);
        assert_eq!(t.header().urgent(), 0);
        assert_eq!(t.options(), &SYN[20..]);
        assert!(t.payload().is_empty());
        assert_eq!(t.mss(), Some(1460));
        assert!(t.verify_checksum(pseudo(SRC, 40)));
        assert!(!t.verify_checksum(pseudo(Ipv4Addr::new(10, 0, 0, 6), 40)));
    }

    #[test]
    fn fill_checksum_matches_literal() {
        let mut b = SYN;
        b[16] = 0;
        b[17] = 0;
        let mut t = TcpPacket::parse(&mut b[..]).unwrap();
        assert!(!t.verify_checksum(pseudo(SRC, 40)));
        t.fill_checksum(pseudo(SRC, 40));
        assert_eq!(b, SYN);
    }

    #[test]
    fn address_update_matches_literal() {
        // Independently computed: the same SYN from 192.168.4.11 has checksum 0x15c6.
        let mut b = SYN;
        let mut t = TcpPacket::parse(&mut b[..]).unwrap();
        t.update_checksum_for_address(&[10, 0, 0, 5], &[192, 168, 4, 11]);
        assert_eq!(t.checksum(), 0x15c6);
        assert!(t.verify_checksum(pseudo(Ipv4Addr::new(192, 168, 4, 11), 40)));
        // Mismatched lengths are ignored.
        t.update_checksum_for_address(&[1, 2, 3, 4], &[1, 2]);
        assert_eq!(t.checksum(), 0x15c6);
    }

    #[test]
    fn port_setters_keep_checksum_valid() {
        let mut b = SYN;
        let mut t = TcpPacket::parse(&mut b[..]).unwrap();
        t.set_src_port(40000);
        t.set_dst_port(8080);
        assert_eq!((t.src_port(), t.dst_port()), (40000, 8080));
        assert!(t.verify_checksum(pseudo(SRC, 40)));
        let c = t.checksum();
        t.fill_checksum(pseudo(SRC, 40));
        assert_eq!(t.checksum(), c);
        // The header setters leave the checksum alone.
        t.header_mut().set_src_port(1);
        assert_eq!(t.checksum(), c);
        assert_eq!(&b[..2], &[0, 1]);
    }

    #[test]
    fn header_new_and_setters() {
        let mut h = TcpHeader::new(1, 2, 3, 4, TcpFlags::SYN | TcpFlags::ACK, 5);
        assert_eq!(
            h.as_bytes(),
            &[0, 1, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0x50, 0x12, 0, 5, 0, 0, 0, 0]
        );
        h.offset_reserved |= 0x01; // AE / reserved bit survives set_data_offset
        h.set_data_offset(15);
        assert_eq!(h.offset_reserved, 0xf1);
        assert_eq!(h.header_len(), 60);
        h.set_flags(TcpFlags::FIN);
        assert_eq!(h.flags, 0x01);
        assert_eq!(TcpHeader::checksum_offset(), 16);
        let mut f = TcpFlags::empty();
        f |= TcpFlags::CWR;
        f |= TcpFlags::ECE;
        assert_eq!(f.bits(), 0xc0);
        assert!(f.cwr() && f.ece() && !f.urg() && !f.psh() && !f.rst() && !f.fin());
        assert!(f.intersects(TcpFlags::ECE | TcpFlags::SYN));
        assert!(!f.contains(TcpFlags::ECE | TcpFlags::SYN));
        assert_eq!(f & TcpFlags::ECE, TcpFlags::ECE);
        assert!(TcpFlags(0x20).urg() && TcpFlags(0x08).psh() && TcpFlags(0x04).rst());
    }

    #[test]
    fn payload_after_options() {
        // Data offset 6, 4 option bytes, 3 payload bytes.
        let mut b = [0u8; 27];
        b[12] = 0x60;
        b[13] = 0x18; // PSH | ACK
        b[20..24].copy_from_slice(&[1, 1, 0, 0]); // NOP NOP EOL
        b[24..].copy_from_slice(b"abc");
        let mut t = TcpPacket::parse(&mut b[..]).unwrap();
        assert_eq!(t.options(), &[1, 1, 0, 0]);
        assert_eq!(t.payload(), b"abc");
        assert_eq!(t.segment_len(), 27);
        assert_eq!(t.mss(), None);
        assert_eq!(t.flags(), TcpFlags::PSH | TcpFlags::ACK);
        // Odd-length payload: fill then verify.
        t.fill_checksum(pseudo(SRC, 27));
        assert!(t.verify_checksum(pseudo(SRC, 27)));
        t.payload_mut()[0] = b'x';
        assert!(!t.verify_checksum(pseudo(SRC, 27)));
        t.options_mut()[0] = 0;
        assert_eq!(b[20], 0);
        assert_eq!(b[24], b'x');
    }

    #[test]
    fn mss_malformed_options() {
        let with = |opts: [u8; 8]| {
            let mut b = [0u8; 28];
            b[12] = 0x70;
            b[20..].copy_from_slice(&opts);
            TcpPacket::parse(&b[..]).unwrap().mss()
        };
        // Found after NOPs and another option.
        assert_eq!(with([1, 4, 2, 2, 4, 0x23, 0x28, 0]), Some(9000));
        // Length 0 or 1: stop.
        assert_eq!(with([3, 0, 2, 4, 5, 0xb4, 0, 0]), None);
        assert_eq!(with([3, 1, 2, 4, 5, 0xb4, 0, 0]), None);
        // MSS with the wrong length.
        assert_eq!(with([2, 3, 5, 0, 0, 0, 0, 0]), None);
        // Option running past the end.
        assert_eq!(with([1, 1, 1, 1, 1, 1, 2, 4]), None);
        assert_eq!(with([1, 1, 1, 1, 1, 1, 1, 2]), None);
        // No EOL, all NOPs.
        assert_eq!(with([1; 8]), None);
    }

    #[test]
    fn errors() {
        assert_eq!(
            TcpPacket::parse(&SYN[..19]).err(),
            Some(ParseError::Truncated(Layer::Tcp))
        );
        assert_eq!(
            TcpPacket::parse(&[][..]).err(),
            Some(ParseError::Truncated(Layer::Tcp))
        );
        // Options declared past the end of the buffer.
        assert_eq!(
            TcpPacket::parse(&SYN[..39]).err(),
            Some(ParseError::Truncated(Layer::Tcp))
        );
        let mut b = SYN;
        for off in 0..5u8 {
            b[12] = off << 4;
            assert_eq!(
                TcpPacket::parse(&b[..]).err(),
                Some(ParseError::BadHeaderLength(Layer::Tcp)),
                "data offset {off}"
            );
        }
        b[12] = 0x50;
        assert_eq!(TcpPacket::parse(&b[..20]).unwrap().header_len(), 20);
        b[12] = 0xf0;
        assert_eq!(
            TcpPacket::parse(&b[..]).err(),
            Some(ParseError::Truncated(Layer::Tcp))
        );
    }

    fn build_v4(flags: &[TcpFlags], payload: &[u8]) -> Vec<u8> {
        let mut b = etherparse::PacketBuilder::ipv4(SRC.octets(), DST.octets(), 64).tcp(
            51514,
            443,
            0xdead_beef,
            29200,
        );
        for f in flags {
            b = match *f {
                TcpFlags::SYN => b.syn(),
                TcpFlags::ACK => b.ack(0x0102_0304),
                TcpFlags::PSH => b.psh(),
                TcpFlags::FIN => b.fin(),
                TcpFlags::RST => b.rst(),
                TcpFlags::URG => b.urg(7),
                TcpFlags::ECE => b.ece(),
                TcpFlags::CWR => b.cwr(),
                _ => unreachable!(),
            };
        }
        let b = b
            .options(&[
                etherparse::TcpOptionElement::MaximumSegmentSize(1400),
                etherparse::TcpOptionElement::Noop,
                etherparse::TcpOptionElement::WindowScale(7),
            ])
            .unwrap();
        let mut out = Vec::with_capacity(b.size(payload.len()));
        b.write(&mut out, payload).unwrap();
        out
    }

    #[test]
    fn etherparse_cross_check_v4() {
        let payload = b"GET / HTTP/1.1\r\n\r\n!";
        let all = [
            TcpFlags::SYN,
            TcpFlags::ACK,
            TcpFlags::PSH,
            TcpFlags::FIN,
            TcpFlags::RST,
            TcpFlags::URG,
            TcpFlags::ECE,
            TcpFlags::CWR,
        ];
        for f in all {
            let pkt = build_v4(&[f, TcpFlags::ACK], payload);
            let ip = crate::wire::ipv4::Ipv4Packet::parse(&pkt[..]).unwrap();
            let t = TcpPacket::parse(ip.payload()).unwrap();
            let reference = etherparse::TcpHeaderSlice::from_slice(ip.payload()).unwrap();
            assert_eq!(t.src_port(), 51514);
            assert_eq!(t.dst_port(), 443);
            assert_eq!(t.seq(), 0xdead_beef);
            assert_eq!(t.ack(), 0x0102_0304);
            assert_eq!(t.window(), 29200);
            assert_eq!(t.flags(), f | TcpFlags::ACK);
            assert_eq!(t.header().urgent(), reference.urgent_pointer());
            assert_eq!(t.header_len(), reference.slice().len());
            assert_eq!(t.options(), reference.options());
            assert_eq!(t.mss(), Some(1400));
            assert_eq!(t.payload(), payload);
            assert_eq!(t.checksum(), reference.checksum());
            assert!(t.verify_checksum(ip.pseudo_header()));

            let mut seg = ip.payload().to_vec();
            seg[16] = 0;
            seg[17] = 0;
            let mut t = TcpPacket::parse(&mut seg[..]).unwrap();
            t.fill_checksum(ip.pseudo_header());
            assert_eq!(t.checksum(), reference.checksum());
        }
    }

    #[test]
    fn etherparse_cross_check_v6() {
        let src: Ipv6Addr = "fd00::5".parse().unwrap();
        let dst: Ipv6Addr = "fd00::7".parse().unwrap();
        let payload = [0xa5u8; 33];
        let b = etherparse::PacketBuilder::ipv6(src.octets(), dst.octets(), 64)
            .tcp(22, 60000, 7, 1024)
            .ack(9)
            .psh();
        let mut pkt = Vec::new();
        b.write(&mut pkt, &payload).unwrap();
        let seg = &pkt[40..];
        let t = TcpPacket::parse(seg).unwrap();
        assert_eq!(
            (t.src_port(), t.dst_port(), t.seq(), t.ack()),
            (22, 60000, 7, 9)
        );
        assert_eq!(t.flags(), TcpFlags::ACK | TcpFlags::PSH);
        let ph = checksum::pseudo_v6(src, dst, ip_proto::TCP, seg.len() as u32);
        assert!(t.verify_checksum(ph));
        let mut copy = seg.to_vec();
        copy[16] = 0;
        copy[17] = 0;
        let mut t2 = TcpPacket::parse(&mut copy[..]).unwrap();
        t2.fill_checksum(ph);
        assert_eq!(t2.checksum(), t.checksum());
    }

    proptest! {
        #[test]
        fn incremental_address_update_equals_recompute(
            sport in any::<u16>(),
            dport in any::<u16>(),
            seq in any::<u32>(),
            payload in proptest::collection::vec(any::<u8>(), 0..200),
            old4 in any::<[u8; 4]>(),
            new4 in any::<[u8; 4]>(),
            old6 in any::<[u8; 16]>(),
            new6 in any::<[u8; 16]>(),
            new_port in any::<u16>(),
        ) {
            let mut seg = Vec::from(TcpHeader::new(sport, dport, seq, 0, TcpFlags::ACK, 1000)
                .as_bytes());
            seg.extend_from_slice(&payload);
            let len = seg.len();
            let v4 = |s: [u8; 4]| checksum::pseudo_v4(s.into(), DST, ip_proto::TCP, len as u16);
            let v6 = |s: [u8; 16]| {
                checksum::pseudo_v6(s.into(), Ipv6Addr::LOCALHOST, ip_proto::TCP, len as u32)
            };

            let mut t = TcpPacket::parse(&mut seg[..]).unwrap();
            t.fill_checksum(v4(old4));
            t.update_checksum_for_address(&old4, &new4);
            let inc = t.checksum();
            t.fill_checksum(v4(new4));
            prop_assert_eq!(inc, t.checksum());
            prop_assert!(t.verify_checksum(v4(new4)));

            t.fill_checksum(v6(old6));
            t.update_checksum_for_address(&old6, &new6);
            let inc = t.checksum();
            t.fill_checksum(v6(new6));
            prop_assert_eq!(inc, t.checksum());

            t.set_dst_port(new_port);
            let inc = t.checksum();
            t.fill_checksum(v6(new6));
            prop_assert_eq!(inc, t.checksum());
        }
    }
}
