//! ICMP for IPv4 (RFC 792), with the next-hop MTU of Fragmentation Needed (RFC 1191).
//!
//! HNV answers pings to its gateway addresses and, since NVGRE encapsulation over IPv4 adds
//! 42 bytes, sends Fragmentation Needed to VMs whose packets no longer fit
//! ([`Icmpv4Header::frag_needed`]).
//!
//! ```
//! use hnv_core::wire::icmpv4::{Icmpv4Kind, Icmpv4Packet};
//! // Echo request, identifier 1, sequence 0x21, 4 bytes of data.
//! let mut bytes = [0x08, 0x00, 0x33, 0x17, 0x00, 0x01, 0x00, 0x21, b'a', b'b', b'c', b'd'];
//! let mut p = Icmpv4Packet::parse(&mut bytes[..]).unwrap();
//! assert_eq!(p.kind(), Icmpv4Kind::EchoRequest { id: 1, seq: 0x21 });
//! assert!(p.verify_checksum());
//! assert_eq!(p.body(), b"abcd");
//! // Answer it in place.
//! p.header_mut().msg_type = hnv_core::wire::icmpv4::msg_type::ECHO_REPLY;
//! p.fill_checksum();
//! assert_eq!(p.kind(), Icmpv4Kind::EchoReply { id: 1, seq: 0x21 });
//! assert_eq!(p.header().checksum.get(), 0x3b17);
//! ```

use zerocopy::byteorder::network_endian::U16;
use zerocopy::{
    ByteSlice, ByteSliceMut, FromBytes, Immutable, IntoBytes, KnownLayout, Ref, SplitByteSlice,
    Unaligned,
};

use super::checksum::Checksum;
use super::{Layer, ParseError};

/// ICMPv4 message types (the `type` field).
pub mod msg_type {
    /// Echo reply (RFC 792).
    pub const ECHO_REPLY: u8 = 0;
    /// Destination unreachable (RFC 792); codes in [`super::unreach_code`].
    pub const DEST_UNREACHABLE: u8 = 3;
    /// Redirect (RFC 792).
    pub const REDIRECT: u8 = 5;
    /// Echo request (RFC 792).
    pub const ECHO_REQUEST: u8 = 8;
    /// Time exceeded (RFC 792); codes in [`super::time_exceeded_code`].
    pub const TIME_EXCEEDED: u8 = 11;
    /// Parameter problem (RFC 792).
    pub const PARAMETER_PROBLEM: u8 = 12;
    /// Timestamp request (RFC 792).
    pub const TIMESTAMP: u8 = 13;
    /// Timestamp reply (RFC 792).
    pub const TIMESTAMP_REPLY: u8 = 14;
}

/// Codes of [`msg_type::DEST_UNREACHABLE`].
pub mod unreach_code {
    /// Network unreachable.
    pub const NET: u8 = 0;
    /// Host unreachable.
    pub const HOST: u8 = 1;
    /// Protocol unreachable.
    pub const PROTOCOL: u8 = 2;
    /// Port unreachable.
    pub const PORT: u8 = 3;
    /// Fragmentation needed and DF set; carries the next-hop MTU (RFC 1191).
    pub const FRAG_NEEDED: u8 = 4;
    /// Source route failed.
    pub const SOURCE_ROUTE_FAILED: u8 = 5;
    /// Communication administratively prohibited (RFC 1812).
    pub const ADMIN_PROHIBITED: u8 = 13;
}

/// Codes of [`msg_type::TIME_EXCEEDED`].
pub mod time_exceeded_code {
    /// Time to live exceeded in transit.
    pub const TTL: u8 = 0;
    /// Fragment reassembly time exceeded.
    pub const REASSEMBLY: u8 = 1;
}

/// The 8-byte ICMPv4 header: type, code, checksum and the 4 type-specific bytes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct Icmpv4Header {
    /// Message type (see [`msg_type`]).
    pub msg_type: u8,
    /// Message code, meaning depends on the type.
    pub code: u8,
    /// Checksum over the whole ICMP message (header and body).
    pub checksum: U16,
    /// The "rest of header": identifier and sequence for echo, unused and next-hop MTU
    /// for Fragmentation Needed, the gateway for Redirect, the pointer for Parameter
    /// Problem.
    pub rest: [u8; 4],
}

impl Icmpv4Header {
    /// Header length in bytes.
    pub const LEN: usize = 8;

    /// A header with checksum 0; fill it with [`Icmpv4Packet::fill_checksum`] once the
    /// body is in place.
    pub const fn new(msg_type: u8, code: u8, rest: [u8; 4]) -> Self {
        Self {
            msg_type,
            code,
            checksum: U16::ZERO,
            rest,
        }
    }

    /// An echo request header.
    pub const fn echo_request(id: u16, seq: u16) -> Self {
        Self::new(msg_type::ECHO_REQUEST, 0, echo_rest(id, seq))
    }

    /// An echo reply header.
    pub const fn echo_reply(id: u16, seq: u16) -> Self {
        Self::new(msg_type::ECHO_REPLY, 0, echo_rest(id, seq))
    }

    /// A Destination Unreachable header with the given code (see [`unreach_code`]) and
    /// the unused bytes zero. The body is the offending IPv4 header and its first 8 data
    /// bytes.
    pub const fn dest_unreachable(code: u8) -> Self {
        Self::new(msg_type::DEST_UNREACHABLE, code, [0; 4])
    }

    /// A Fragmentation Needed and DF Set header (type 3, code 4) advertising the next-hop
    /// `mtu` in the low 16 bits of the rest of the header (RFC 1191 §4).
    pub const fn frag_needed(mtu: u16) -> Self {
        let [hi, lo] = mtu.to_be_bytes();
        Self::new(
            msg_type::DEST_UNREACHABLE,
            unreach_code::FRAG_NEEDED,
            [0, 0, hi, lo],
        )
    }

    /// A Time Exceeded header with the given code (see [`time_exceeded_code`]).
    pub const fn time_exceeded(code: u8) -> Self {
        Self::new(msg_type::TIME_EXCEEDED, code, [0; 4])
    }

    /// The first 16 bits of the rest of the header (echo identifier).
    pub const fn rest_hi(&self) -> u16 {
        let [a, b, _, _] = self.rest;
        u16::from_be_bytes([a, b])
    }

    /// The last 16 bits of the rest of the header (echo sequence, next-hop MTU).
    pub const fn rest_lo(&self) -> u16 {
        let [_, _, c, d] = self.rest;
        u16::from_be_bytes([c, d])
    }

    /// The message decoded by type and code.
    pub const fn kind(&self) -> Icmpv4Kind {
        match (self.msg_type, self.code) {
            (msg_type::ECHO_REQUEST, 0) => Icmpv4Kind::EchoRequest {
                id: self.rest_hi(),
                seq: self.rest_lo(),
            },
            (msg_type::ECHO_REPLY, 0) => Icmpv4Kind::EchoReply {
                id: self.rest_hi(),
                seq: self.rest_lo(),
            },
            (msg_type::DEST_UNREACHABLE, unreach_code::FRAG_NEEDED) => Icmpv4Kind::FragNeeded {
                next_hop_mtu: self.rest_lo(),
            },
            (msg_type::DEST_UNREACHABLE, code) => Icmpv4Kind::DestUnreachable { code },
            (msg_type::TIME_EXCEEDED, code) => Icmpv4Kind::TimeExceeded { code },
            (msg_type, code) => Icmpv4Kind::Other { msg_type, code },
        }
    }
}

const fn echo_rest(id: u16, seq: u16) -> [u8; 4] {
    let [a, b] = id.to_be_bytes();
    let [c, d] = seq.to_be_bytes();
    [a, b, c, d]
}

/// An ICMPv4 message decoded by type and code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Icmpv4Kind {
    /// Echo request (type 8, code 0).
    EchoRequest {
        /// Identifier.
        id: u16,
        /// Sequence number.
        seq: u16,
    },
    /// Echo reply (type 0, code 0).
    EchoReply {
        /// Identifier.
        id: u16,
        /// Sequence number.
        seq: u16,
    },
    /// Destination unreachable, fragmentation needed and DF set (type 3, code 4).
    FragNeeded {
        /// Next-hop MTU (RFC 1191); 0 from a router that predates RFC 1191.
        next_hop_mtu: u16,
    },
    /// Destination unreachable with any code but 4 (see [`unreach_code`]).
    DestUnreachable {
        /// The code.
        code: u8,
    },
    /// Time exceeded (type 11; see [`time_exceeded_code`]).
    TimeExceeded {
        /// The code.
        code: u8,
    },
    /// Any other type, or echo with a non-zero code.
    Other {
        /// The type.
        msg_type: u8,
        /// The code.
        code: u8,
    },
}

/// A checked view of an ICMPv4 message: the 8-byte header and the body after it.
///
/// `parse` checks only that the header is present: the body is whatever follows (pass the
/// IPv4 payload, which [`super::ipv4::Ipv4Packet`] has already cut at `total_len`). The
/// checksum is *not* checked by `parse`; see [`verify_checksum`](Self::verify_checksum).
pub struct Icmpv4Packet<B> {
    header: Ref<B, Icmpv4Header>,
    body: B,
}

impl<B: SplitByteSlice> Icmpv4Packet<B> {
    /// Views `bytes` as an ICMPv4 message.
    pub fn parse(bytes: B) -> Result<Self, ParseError> {
        let (header, body) = Ref::<B, Icmpv4Header>::from_prefix(bytes)
            .map_err(|_| ParseError::Truncated(Layer::Icmpv4))?;
        Ok(Self { header, body })
    }
}

impl<B: ByteSlice> Icmpv4Packet<B> {
    /// The header.
    pub fn header(&self) -> &Icmpv4Header {
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
    pub fn kind(&self) -> Icmpv4Kind {
        self.header.kind()
    }

    /// The bytes after the header: echo data, or the offending datagram's IPv4 header and
    /// first 8 data bytes for an error message.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Length of the whole message (header and body).
    pub fn len(&self) -> usize {
        Icmpv4Header::LEN + self.body.len()
    }

    /// Always false: a message has at least its 8-byte header.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// True when the checksum over header and body verifies.
    pub fn verify_checksum(&self) -> bool {
        message_sum(self.header.as_bytes(), &self.body).sum() == 0xffff
    }
}

impl<B: ByteSliceMut> Icmpv4Packet<B> {
    /// The header, writable (remember to refill the checksum).
    pub fn header_mut(&mut self) -> &mut Icmpv4Header {
        &mut self.header
    }

    /// The body, writable.
    pub fn body_mut(&mut self) -> &mut [u8] {
        &mut self.body
    }

    /// Computes and stores the checksum over header and body.
    pub fn fill_checksum(&mut self) {
        self.header.checksum = U16::ZERO;
        let c = message_sum(self.header.as_bytes(), &self.body).finish();
        self.header.checksum.set(c);
    }
}

fn message_sum(header: &[u8], body: &[u8]) -> Checksum {
    Checksum::new().add_bytes(header).add_bytes(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use proptest::prelude::*;
    use std::vec::Vec;

    /// Windows `ping`: echo request id 1 seq 0x21, the 32-byte alphabet payload.
    /// Checksum 0x4d3a computed independently (python RFC 1071 sum).
    const ECHO: [u8; 40] = [
        0x08, 0x00, 0x4d, 0x3a, 0x00, 0x01, 0x00, 0x21, b'a', b'b', b'c', b'd', b'e', b'f', b'g',
        b'h', b'i', b'j', b'k', b'l', b'm', b'n', b'o', b'p', b'q', b'r', b's', b't', b'u', b'v',
        b'w', b'a', b'b', b'c', b'd', b'e', b'f', b'g', b'h', b'i',
    ];

    /// Fragmentation needed, next-hop MTU 1458, quoting a 1500-byte TCP packet
    /// 10.0.0.5:49152 -> 10.0.0.7:445 (IPv4 header and first 8 TCP bytes). Checksum 0xf125
    /// computed independently.
    const FRAG_NEEDED: [u8; 36] = [
        0x03, 0x04, 0xf1, 0x25, 0x00, 0x00, 0x05, 0xb2, // ICMP header
        0x45, 0x00, 0x05, 0xdc, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x06, 0x04, 0xcb, 0x0a, 0x00, 0x00,
        0x05, 0x0a, 0x00, 0x00, 0x07, // quoted IPv4 header
        0xc0, 0x00, 0x01, 0xbd, 0x11, 0x22, 0x33, 0x44, // first 8 bytes of TCP
    ];

    #[test]
    fn echo_request() {
        let p = Icmpv4Packet::parse(&ECHO[..]).unwrap();
        assert_eq!(p.msg_type(), msg_type::ECHO_REQUEST);
        assert_eq!(p.code(), 0);
        assert_eq!(p.kind(), Icmpv4Kind::EchoRequest { id: 1, seq: 0x21 });
        assert_eq!(p.header().checksum.get(), 0x4d3a);
        assert!(p.verify_checksum());
        assert_eq!(p.body(), b"abcdefghijklmnopqrstuvwabcdefghi");
        assert_eq!(p.len(), 40);
        assert!(!p.is_empty());
        assert!(crate::wire::checksum::verifies(&ECHO));
    }

    #[test]
    fn echo_reply_in_place() {
        let mut b = ECHO;
        let mut p = Icmpv4Packet::parse(&mut b[..]).unwrap();
        *p.header_mut() = Icmpv4Header::echo_reply(1, 0x21);
        assert!(!p.verify_checksum());
        p.fill_checksum();
        assert!(p.verify_checksum());
        // 0x553a computed independently for the reply.
        assert_eq!(&b[..4], &[0x00, 0x00, 0x55, 0x3a]);
        assert_eq!(&b[8..], &ECHO[8..]);
    }

    #[test]
    fn fill_matches_literal() {
        let mut b = ECHO;
        b[2] = 0xab;
        b[3] = 0xcd;
        let mut p = Icmpv4Packet::parse(&mut b[..]).unwrap();
        assert!(!p.verify_checksum());
        p.body_mut()[0] = b'a';
        p.fill_checksum();
        assert_eq!(b, ECHO);
        assert_eq!(Icmpv4Header::echo_request(1, 0x21).rest, [0, 1, 0, 0x21]);
    }

    #[test]
    fn frag_needed() {
        let p = Icmpv4Packet::parse(&FRAG_NEEDED[..]).unwrap();
        assert_eq!(p.kind(), Icmpv4Kind::FragNeeded { next_hop_mtu: 1458 });
        assert!(p.verify_checksum());
        let inner = crate::wire::ipv4::Ipv4Packet::parse(p.body());
        // The quoted datagram is truncated by design; its header still reads.
        assert_eq!(inner.err(), Some(ParseError::Truncated(Layer::Ipv4)));
        // Build the same message from the constructor.
        let mut b = [0u8; 36];
        Icmpv4Header::frag_needed(1458)
            .write_to_prefix(&mut b[..])
            .unwrap();
        b[8..].copy_from_slice(&FRAG_NEEDED[8..]);
        let mut p = Icmpv4Packet::parse(&mut b[..]).unwrap();
        p.fill_checksum();
        assert_eq!(b, FRAG_NEEDED);
    }

    #[test]
    fn kinds() {
        let k = |t, c| Icmpv4Header::new(t, c, [0xaa, 0xbb, 0x05, 0xdc]).kind();
        assert_eq!(k(3, 4), Icmpv4Kind::FragNeeded { next_hop_mtu: 1500 });
        assert_eq!(
            k(3, 3),
            Icmpv4Kind::DestUnreachable {
                code: unreach_code::PORT
            }
        );
        assert_eq!(
            k(11, 0),
            Icmpv4Kind::TimeExceeded {
                code: time_exceeded_code::TTL
            }
        );
        assert_eq!(
            k(8, 1),
            Icmpv4Kind::Other {
                msg_type: 8,
                code: 1
            }
        );
        assert_eq!(
            k(5, 1),
            Icmpv4Kind::Other {
                msg_type: msg_type::REDIRECT,
                code: 1
            }
        );
        assert_eq!(
            k(0, 0),
            Icmpv4Kind::EchoReply {
                id: 0xaabb,
                seq: 0x05dc
            }
        );
        assert_eq!(
            Icmpv4Header::dest_unreachable(1).kind(),
            Icmpv4Kind::DestUnreachable { code: 1 }
        );
        assert_eq!(
            Icmpv4Header::time_exceeded(1).kind(),
            Icmpv4Kind::TimeExceeded { code: 1 }
        );
        assert_eq!(core::mem::size_of::<Icmpv4Header>(), Icmpv4Header::LEN);
    }

    #[test]
    fn header_only_and_odd_body() {
        let p = Icmpv4Packet::parse(&ECHO[..8]).unwrap();
        assert!(p.body().is_empty());
        // Odd-length body: checksum pads the last byte with zero.
        let mut b = [0x08, 0, 0, 0, 0, 1, 0, 1, 0x61];
        let mut p = Icmpv4Packet::parse(&mut b[..]).unwrap();
        p.fill_checksum();
        assert!(p.verify_checksum());
        // 0x0800 + 0x0001 + 0x0001 + 0x6100 = 0x6902 -> 0x96fd.
        assert_eq!(p.header().checksum.get(), 0x96fd);
    }

    #[test]
    fn errors() {
        assert_eq!(
            Icmpv4Packet::parse(&ECHO[..7]).err(),
            Some(ParseError::Truncated(Layer::Icmpv4))
        );
        assert_eq!(
            Icmpv4Packet::parse(&[][..]).err(),
            Some(ParseError::Truncated(Layer::Icmpv4))
        );
    }

    #[test]
    fn etherparse_agrees_on_echo() {
        let s = etherparse::Icmpv4Slice::from_slice(&ECHO).unwrap();
        let p = Icmpv4Packet::parse(&ECHO[..]).unwrap();
        match s.icmp_type() {
            etherparse::Icmpv4Type::EchoRequest(e) => {
                assert_eq!(
                    p.kind(),
                    Icmpv4Kind::EchoRequest {
                        id: e.id,
                        seq: e.seq
                    }
                );
            }
            other => panic!("etherparse read {other:?}"),
        }
        assert_eq!(s.checksum(), p.header().checksum.get());
        assert_eq!(s.payload(), p.body());
        // etherparse computes the same checksum for the header it builds.
        let h = etherparse::Icmpv4Header::with_checksum(
            etherparse::Icmpv4Type::EchoReply(etherparse::IcmpEchoHeader { id: 7, seq: 9 }),
            b"hnv",
        );
        let mut b = [0u8; 11];
        Icmpv4Header::echo_reply(7, 9)
            .write_to_prefix(&mut b[..])
            .unwrap();
        b[8..].copy_from_slice(b"hnv");
        let mut p = Icmpv4Packet::parse(&mut b[..]).unwrap();
        p.fill_checksum();
        assert_eq!(&b[..8], &h.to_bytes()[..]);
    }

    #[test]
    fn etherparse_agrees_on_frag_needed() {
        use etherparse::icmpv4::DestUnreachableHeader;
        let h = etherparse::Icmpv4Header::with_checksum(
            etherparse::Icmpv4Type::DestinationUnreachable(
                DestUnreachableHeader::FragmentationNeeded { next_hop_mtu: 1458 },
            ),
            &FRAG_NEEDED[8..],
        );
        assert_eq!(&h.to_bytes()[..], &FRAG_NEEDED[..8]);
        let s = etherparse::Icmpv4Slice::from_slice(&FRAG_NEEDED).unwrap();
        let p = Icmpv4Packet::parse(&FRAG_NEEDED[..]).unwrap();
        match s.icmp_type() {
            etherparse::Icmpv4Type::DestinationUnreachable(
                DestUnreachableHeader::FragmentationNeeded { next_hop_mtu },
            ) => assert_eq!(p.kind(), Icmpv4Kind::FragNeeded { next_hop_mtu }),
            other => panic!("etherparse read {other:?}"),
        }
    }

    proptest! {
        /// Our checksum is the one etherparse computes, and `kind` never panics.
        #[test]
        fn checksum_matches_etherparse(
            msg_type in any::<u8>(),
            code in any::<u8>(),
            rest in any::<[u8; 4]>(),
            body in proptest::collection::vec(any::<u8>(), 0..100),
        ) {
            let mut bytes = Vec::from(Icmpv4Header::new(msg_type, code, rest).as_bytes());
            bytes.extend_from_slice(&body);
            let mut p = Icmpv4Packet::parse(&mut bytes[..]).unwrap();
            let _ = p.kind();
            p.fill_checksum();
            prop_assert!(p.verify_checksum());
            let theirs = etherparse::Icmpv4Type::Unknown { type_u8: msg_type, code_u8: code, bytes5to8: rest }
                .calc_checksum(&body);
            prop_assert_eq!(p.header().checksum.get(), theirs);
        }
    }
}
