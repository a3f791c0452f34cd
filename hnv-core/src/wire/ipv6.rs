//! IPv6 (RFC 8200): the fixed header, and a walk over extension headers to find the
//! upper layer.
//!
//! ```
//! use hnv_core::wire::{ip_proto, ipv6::Ipv6Packet};
//! let mut bytes = [0u8; 48];
//! bytes[0] = 0x60;
//! bytes[5] = 8; // payload length
//! bytes[6] = ip_proto::IPV6_FRAG; // next header: fragment
//! bytes[7] = 64;
//! bytes[40] = ip_proto::UDP; // fragment header: next header UDP, offset 0, M=1
//! bytes[43] = 1;
//! let p = Ipv6Packet::parse(&bytes[..]).unwrap();
//! let ul = p.upper_layer().unwrap();
//! assert_eq!(ul.protocol, ip_proto::UDP);
//! assert_eq!(ul.offset, 8);
//! assert!(ul.fragment.unwrap().more);
//! ```

use core::net::Ipv6Addr;

use zerocopy::byteorder::network_endian::{U16, U32};
use zerocopy::{
    ByteSlice, ByteSliceMut, FromBytes, Immutable, IntoBytes, KnownLayout, Ref, SplitByteSlice,
    Unaligned,
};

use super::checksum::Checksum;
use super::{ip_proto, Layer, ParseError};

/// The fixed 40-byte IPv6 header.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct Ipv6Header {
    /// Version (4 bits, = 6), traffic class (8 bits), flow label (20 bits).
    pub ver_tc_flow: U32,
    /// Length of everything after the fixed header, extension headers included.
    pub payload_len: U16,
    /// Type of the first extension header or of the upper layer.
    pub next_header: u8,
    /// Hop limit.
    pub hop_limit: u8,
    /// Source address.
    pub src: [u8; 16],
    /// Destination address.
    pub dst: [u8; 16],
}

impl Ipv6Header {
    /// Length of the fixed header.
    pub const LEN: usize = 40;

    /// A header with traffic class and flow label 0 and hop limit 64.
    pub fn new(src: Ipv6Addr, dst: Ipv6Addr, next_header: u8, payload_len: u16) -> Self {
        Self {
            ver_tc_flow: U32::new(6 << 28),
            payload_len: U16::new(payload_len),
            next_header,
            hop_limit: 64,
            src: src.octets(),
            dst: dst.octets(),
        }
    }

    /// The version nibble.
    pub fn version(&self) -> u8 {
        (self.ver_tc_flow.get() >> 28) as u8
    }

    /// Traffic class (DSCP ‖ ECN).
    pub fn traffic_class(&self) -> u8 {
        (self.ver_tc_flow.get() >> 20) as u8
    }

    /// Sets the traffic class.
    pub fn set_traffic_class(&mut self, tc: u8) {
        let v = self.ver_tc_flow.get() & !0x0ff0_0000;
        self.ver_tc_flow.set(v | u32::from(tc) << 20);
    }

    /// Flow label (20 bits).
    pub fn flow_label(&self) -> u32 {
        self.ver_tc_flow.get() & 0x000f_ffff
    }

    /// Sets the flow label (the upper 12 bits of `label` are ignored).
    pub fn set_flow_label(&mut self, label: u32) {
        let v = self.ver_tc_flow.get() & !0x000f_ffff;
        self.ver_tc_flow.set(v | (label & 0x000f_ffff));
    }

    /// Source address.
    pub fn src(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.src)
    }

    /// Destination address.
    pub fn dst(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.dst)
    }

    /// Sets the source address.
    pub fn set_src(&mut self, a: Ipv6Addr) {
        self.src = a.octets();
    }

    /// Sets the destination address.
    pub fn set_dst(&mut self, a: Ipv6Addr) {
        self.dst = a.octets();
    }
}

/// What an IPv6 fragment header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragmentInfo {
    /// Offset of this fragment in bytes.
    pub offset: u16,
    /// M flag: more fragments follow.
    pub more: bool,
    /// Identification.
    pub ident: u32,
}

/// The upper-layer header located after the extension headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpperLayer {
    /// Its protocol number (may be [`ip_proto::IPV6_NONXT`] or [`ip_proto::ESP`]).
    pub protocol: u8,
    /// Its offset from the start of the IPv6 payload.
    pub offset: usize,
    /// The fragment header met on the way, if any.
    pub fragment: Option<FragmentInfo>,
}

/// A checked view of an IPv6 packet.
///
/// `parse` checks version 6 and that `payload_len` bytes are present; the payload ends
/// there (link-layer padding is excluded). Jumbograms (payload length 0 with a hop-by-hop
/// header) are [`ParseError::Unsupported`].
pub struct Ipv6Packet<B> {
    header: Ref<B, Ipv6Header>,
    payload: B,
}

impl<B: SplitByteSlice> Ipv6Packet<B> {
    /// Views `bytes` as an IPv6 packet; bytes past the payload length are ignored.
    pub fn parse(bytes: B) -> Result<Self, ParseError> {
        let (header, rest) = Ref::<B, Ipv6Header>::from_prefix(bytes)
            .map_err(|_| ParseError::Truncated(Layer::Ipv6))?;
        if header.version() != 6 {
            return Err(ParseError::BadVersion(Layer::Ipv6));
        }
        let len = usize::from(header.payload_len.get());
        if len == 0 && header.next_header == ip_proto::HOP_BY_HOP {
            return Err(ParseError::Unsupported(Layer::Ipv6));
        }
        let (payload, _padding) = rest
            .split_at(len)
            .map_err(|_| ParseError::Truncated(Layer::Ipv6))?;
        Ok(Self { header, payload })
    }
}

impl<B: ByteSlice> Ipv6Packet<B> {
    /// The fixed header.
    pub fn header(&self) -> &Ipv6Header {
        &self.header
    }

    /// Consumes the view, returning the payload with the buffer's lifetime.
    pub fn into_payload(self) -> B {
        self.payload
    }

    /// Everything after the fixed header (extension headers and upper layer).
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// Walks hop-by-hop, routing, destination-options, fragment and AH headers to the
    /// upper layer. An extension header running past the payload is
    /// `Truncated(Ipv6Extension)`. A non-first fragment is reported with its protocol but
    /// its bytes are not an upper-layer header.
    pub fn upper_layer(&self) -> Result<UpperLayer, ParseError> {
        let mut next = self.header.next_header;
        let mut offset = 0usize;
        let mut fragment = None;
        let bytes: &[u8] = &self.payload;
        loop {
            let ext_len = match next {
                ip_proto::HOP_BY_HOP | ip_proto::IPV6_ROUTE | ip_proto::IPV6_OPTS => {
                    bytes.get(offset + 1).map(|l| (usize::from(*l) + 1) * 8)
                }
                ip_proto::AH => bytes.get(offset + 1).map(|l| (usize::from(*l) + 2) * 4),
                ip_proto::IPV6_FRAG => {
                    let f = bytes.get(offset..offset + 8);
                    if let Some(&[_, _, o1, o2, i1, i2, i3, i4]) = f {
                        let of = u16::from_be_bytes([o1, o2]);
                        fragment = Some(FragmentInfo {
                            offset: of & 0xfff8,
                            more: of & 1 != 0,
                            ident: u32::from_be_bytes([i1, i2, i3, i4]),
                        });
                    }
                    f.map(|_| 8)
                }
                protocol => {
                    return Ok(UpperLayer {
                        protocol,
                        offset,
                        fragment,
                    })
                }
            };
            let Some(ext_len) = ext_len.filter(|l| offset + l <= bytes.len()) else {
                return Err(ParseError::Truncated(Layer::Ipv6Extension));
            };
            next = bytes.get(offset).copied().unwrap_or(ip_proto::IPV6_NONXT);
            offset += ext_len;
        }
    }

    /// The pseudo-header sum for an upper layer of `len` bytes with protocol `next_header`.
    pub fn pseudo_header(&self, next_header: u8, len: u32) -> Checksum {
        super::checksum::pseudo_v6(self.header.src(), self.header.dst(), next_header, len)
    }
}

impl<B: ByteSliceMut> Ipv6Packet<B> {
    /// The fixed header, writable.
    pub fn header_mut(&mut self) -> &mut Ipv6Header {
        &mut self.header
    }

    /// The payload, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.payload
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// fe80::1 -> ff02::1, hop-by-hop (8 bytes) then ICMPv6 (4 bytes), TC 0xb8, label 0x12345.
    const PKT: [u8; 54] = [
        0x6b, 0x81, 0x23, 0x45, 0x00, 0x0c, 0x00, 0xff, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 1, 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 58, 0, 5, 2, 0, 0, 1, 0,
        0x80, 0, 0x12, 0x34, 0xee, 0xee,
    ];

    #[test]
    fn fields_and_padding() {
        let p = Ipv6Packet::parse(&PKT[..]).unwrap();
        let h = p.header();
        assert_eq!(h.version(), 6);
        assert_eq!(h.traffic_class(), 0xb8);
        assert_eq!(h.flow_label(), 0x12345);
        assert_eq!(h.hop_limit, 255);
        assert_eq!(h.src(), "fe80::1".parse::<Ipv6Addr>().unwrap());
        assert_eq!(h.dst(), "ff02::1".parse::<Ipv6Addr>().unwrap());
        assert_eq!(p.payload().len(), 12); // the two 0xee padding bytes are excluded
        let ul = p.upper_layer().unwrap();
        assert_eq!(
            ul,
            UpperLayer {
                protocol: 58,
                offset: 8,
                fragment: None
            }
        );
    }

    #[test]
    fn setters_keep_other_bits() {
        let mut b = PKT;
        let mut p = Ipv6Packet::parse(&mut b[..]).unwrap();
        p.header_mut().set_flow_label(0xfff_abcde);
        p.header_mut().set_traffic_class(0x01);
        assert_eq!(&b[..4], &[0x60, 0x1a, 0xbc, 0xde]);
    }

    #[test]
    fn chain_of_extensions() {
        // routing (16 bytes) -> dest opts (8) -> AH (12: len field 1) -> fragment -> TCP
        let mut b = [0u8; 40 + 16 + 8 + 12 + 8 + 4];
        b[0] = 0x60;
        b[5] = (16 + 8 + 12 + 8 + 4) as u8;
        b[6] = ip_proto::IPV6_ROUTE;
        b[40] = ip_proto::IPV6_OPTS;
        b[41] = 1;
        b[56] = ip_proto::AH;
        b[64] = ip_proto::IPV6_FRAG;
        b[65] = 1;
        b[76] = ip_proto::TCP;
        b[78..80].copy_from_slice(&[0x05, 0x38]); // offset 0x0538 & !7 = 1336, M = 0
        b[80..84].copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
        let p = Ipv6Packet::parse(&b[..]).unwrap();
        let ul = p.upper_layer().unwrap();
        assert_eq!(ul.protocol, ip_proto::TCP);
        assert_eq!(ul.offset, 44);
        assert_eq!(
            ul.fragment,
            Some(FragmentInfo {
                offset: 1336,
                more: false,
                ident: 0xdead_beef
            })
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            Ipv6Packet::parse(&PKT[..39]).err(),
            Some(ParseError::Truncated(Layer::Ipv6))
        );
        assert_eq!(
            Ipv6Packet::parse(&PKT[..51]).err(),
            Some(ParseError::Truncated(Layer::Ipv6))
        );
        let mut v4 = PKT;
        v4[0] = 0x45;
        assert_eq!(
            Ipv6Packet::parse(&v4[..]).err(),
            Some(ParseError::BadVersion(Layer::Ipv6))
        );
        let mut jumbo = PKT;
        jumbo[4] = 0;
        jumbo[5] = 0;
        jumbo[6] = ip_proto::HOP_BY_HOP;
        assert_eq!(
            Ipv6Packet::parse(&jumbo[..]).err(),
            Some(ParseError::Unsupported(Layer::Ipv6))
        );
        // Hop-by-hop claims 16 bytes but only 12 are there.
        let mut ext = PKT;
        ext[41] = 1;
        let p = Ipv6Packet::parse(&ext[..]).unwrap();
        assert_eq!(
            p.upper_layer().err(),
            Some(ParseError::Truncated(Layer::Ipv6Extension))
        );
        // Fragment header cut short.
        let mut frag = PKT;
        frag[5] = 4;
        frag[6] = ip_proto::IPV6_FRAG;
        let p = Ipv6Packet::parse(&frag[..]).unwrap();
        assert_eq!(
            p.upper_layer().err(),
            Some(ParseError::Truncated(Layer::Ipv6Extension))
        );
    }
}
