//! GRE (RFC 2784, with the key and sequence extensions of RFC 2890) and the fixed 8-byte
//! NVGRE form of it (RFC 7637 §3.2).
//!
//! ```
//! use hnv_core::ids::{FlowId, Vsid};
//! use hnv_core::wire::gre::{GrePacket, NvgreHeader};
//! use zerocopy::IntoBytes;
//! let h = NvgreHeader::new(Vsid::new(0x12_3456).unwrap(), FlowId(0xab));
//! assert_eq!(h.as_bytes(), &[0x20, 0x00, 0x65, 0x58, 0x12, 0x34, 0x56, 0xab]);
//! let g = GrePacket::parse(h.as_bytes()).unwrap();
//! assert_eq!(g.key(), Some(0x1234_56ab));
//! assert!(!g.checksum_present() && !g.sequence_present());
//! ```

use zerocopy::byteorder::network_endian::{U16, U32};
use zerocopy::{
    ByteSlice, ByteSliceMut, FromBytes, Immutable, IntoBytes, KnownLayout, Ref, SplitByteSlice,
    Unaligned,
};

use super::ethernet::EtherType;
use super::{Layer, ParseError};
use crate::ids::{FlowId, Vsid};

/// Checksum Present (RFC 2784).
pub const FLAG_C: u16 = 0x8000;
/// Routing Present (RFC 1701; reserved in RFC 2784).
pub const FLAG_R: u16 = 0x4000;
/// Key Present (RFC 2890).
pub const FLAG_K: u16 = 0x2000;
/// Sequence Number Present (RFC 2890).
pub const FLAG_S: u16 = 0x1000;
/// Bits of Reserved0 other than K and S (R, s, Recur, Flags): must be zero (RFC 2784 §2.2).
pub const RESERVED0: u16 = 0x4ff8;
/// The 3-bit version field.
pub const VERSION_MASK: u16 = 0x0007;

/// The 4-byte mandatory GRE header.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct GreHeader {
    /// C, reserved bits (K and S per RFC 2890) and version.
    pub flags_version: U16,
    /// EtherType of the payload (0x6558 for NVGRE).
    pub protocol: U16,
}

impl GreHeader {
    /// Length of the mandatory part.
    pub const LEN: usize = 4;

    /// Flags and version as one word.
    pub fn flags(&self) -> u16 {
        self.flags_version.get()
    }

    /// Version (3 bits).
    pub fn version(&self) -> u8 {
        (self.flags() & VERSION_MASK) as u8
    }

    /// Protocol type of the payload.
    pub fn protocol(&self) -> EtherType {
        EtherType(self.protocol.get())
    }

    /// Bytes of optional fields that follow (checksum + reserved1, key, sequence).
    pub fn optional_len(&self) -> usize {
        let f = self.flags();
        4 * (usize::from(f & FLAG_C != 0)
            + usize::from(f & FLAG_K != 0)
            + usize::from(f & FLAG_S != 0))
    }
}

/// The NVGRE header: GRE with only K set, protocol 0x6558 and key = VSID ‖ FlowID.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct NvgreHeader {
    /// Always `0x2000`: C=0, K=1, S=0, version 0.
    pub flags_version: U16,
    /// Always `0x6558`, Transparent Ethernet Bridging.
    pub protocol: U16,
    /// VSID (24 bits) and FlowID (8 bits).
    pub key: U32,
}

impl NvgreHeader {
    /// Length: 8 bytes (RFC 7637 §3.2).
    pub const LEN: usize = 8;

    /// The header for `vsid` and `flow`.
    pub fn new(vsid: Vsid, flow: FlowId) -> Self {
        Self {
            flags_version: U16::new(FLAG_K),
            protocol: U16::new(EtherType::TRANSPARENT_ETHERNET.0),
            key: U32::new(vsid.get() << 8 | u32::from(flow.0)),
        }
    }

    /// The 24-bit VSID in the key, unvalidated.
    pub fn vsid_raw(&self) -> u32 {
        self.key.get() >> 8
    }

    /// The FlowID in the key.
    pub fn flow_id(&self) -> FlowId {
        FlowId(self.key.get() as u8)
    }
}

/// A checked view of a GRE packet: mandatory header, the optional fields its flags
/// announce, and the payload.
///
/// `parse` checks only that the announced fields are present; it accepts any flags and
/// version so the caller can tell *why* a packet is not what it wants (see
/// [`crate::nvgre::inspect`]). The optional fields are laid out per RFC 2784/2890
/// (checksum, key, sequence), the routing field of RFC 1701 is not decoded.
pub struct GrePacket<B> {
    header: Ref<B, GreHeader>,
    optional: B,
    payload: B,
}

impl<B: SplitByteSlice> GrePacket<B> {
    /// Views `bytes` as GRE.
    pub fn parse(bytes: B) -> Result<Self, ParseError> {
        let (header, rest) = Ref::<B, GreHeader>::from_prefix(bytes)
            .map_err(|_| ParseError::Truncated(Layer::Gre))?;
        let (optional, payload) = rest
            .split_at(header.optional_len())
            .map_err(|_| ParseError::Truncated(Layer::Gre))?;
        Ok(Self {
            header,
            optional,
            payload,
        })
    }
}

impl<B: ByteSlice> GrePacket<B> {
    /// The mandatory header.
    pub fn header(&self) -> &GreHeader {
        &self.header
    }

    /// C bit.
    pub fn checksum_present(&self) -> bool {
        self.header.flags() & FLAG_C != 0
    }

    /// K bit.
    pub fn key_present(&self) -> bool {
        self.header.flags() & FLAG_K != 0
    }

    /// S bit.
    pub fn sequence_present(&self) -> bool {
        self.header.flags() & FLAG_S != 0
    }

    /// True when any reserved bit of Reserved0 is set.
    pub fn reserved_bits_set(&self) -> bool {
        self.header.flags() & RESERVED0 != 0
    }

    /// Header length: 4 + optional fields.
    pub fn header_len(&self) -> usize {
        GreHeader::LEN + self.optional.len()
    }

    fn word(&self, index: usize) -> Option<u32> {
        let b = self.optional.get(index * 4..index * 4 + 4)?;
        let mut w = [0u8; 4];
        w.copy_from_slice(b);
        Some(u32::from_be_bytes(w))
    }

    /// The GRE checksum field, when C is set.
    pub fn checksum(&self) -> Option<u16> {
        if self.checksum_present() {
            self.word(0).map(|w| (w >> 16) as u16)
        } else {
            None
        }
    }

    /// The key, when K is set.
    pub fn key(&self) -> Option<u32> {
        if self.key_present() {
            self.word(usize::from(self.checksum_present()))
        } else {
            None
        }
    }

    /// The sequence number, when S is set.
    pub fn sequence(&self) -> Option<u32> {
        if self.sequence_present() {
            self.word(usize::from(self.checksum_present()) + usize::from(self.key_present()))
        } else {
            None
        }
    }

    /// The encapsulated bytes.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }
}

impl<B: ByteSliceMut> GrePacket<B> {
    /// The encapsulated bytes, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.payload
    }

    /// Rewrites the key in place; returns false (and writes nothing) when K is clear.
    pub fn set_key(&mut self, key: u32) -> bool {
        let at = usize::from(self.checksum_present()) * 4;
        match (self.key_present(), self.optional.get_mut(at..at + 4)) {
            (true, Some(slot)) => {
                slot.copy_from_slice(&key.to_be_bytes());
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nvgre_layout_rfc7637() {
        // RFC 7637 §3.2: VSID 0x123456, FlowID 0xAB -> key bytes 12 34 56 AB.
        let h = NvgreHeader::new(Vsid::new(0x12_3456).unwrap(), FlowId(0xab));
        assert_eq!(
            h.as_bytes(),
            &[0x20, 0x00, 0x65, 0x58, 0x12, 0x34, 0x56, 0xab]
        );
        assert_eq!(h.vsid_raw(), 0x12_3456);
        assert_eq!(h.flow_id(), FlowId(0xab));
    }

    #[test]
    fn all_optional_fields() {
        // C, K, S set: checksum 0xbeef + reserved1, key, sequence, then payload.
        let b = [
            0xb0, 0x00, 0x65, 0x58, 0xbe, 0xef, 0x00, 0x00, 0x00, 0x13, 0x89, 0x07, 0x00, 0x00,
            0x00, 0x2a, 0xaa,
        ];
        let g = GrePacket::parse(&b[..]).unwrap();
        assert_eq!(g.header_len(), 16);
        assert_eq!(g.checksum(), Some(0xbeef));
        assert_eq!(g.key(), Some(0x0013_8907));
        assert_eq!(g.sequence(), Some(42));
        assert_eq!(g.payload(), &[0xaa]);
        assert_eq!(g.header().version(), 0);
        assert!(!g.reserved_bits_set());
    }

    #[test]
    fn key_and_sequence_without_checksum() {
        let b = [0x30, 0x00, 0x08, 0x00, 0, 0, 0x10, 0x01, 0, 0, 0, 7];
        let g = GrePacket::parse(&b[..]).unwrap();
        assert_eq!(g.checksum(), None);
        assert_eq!(g.key(), Some(0x1001));
        assert_eq!(g.sequence(), Some(7));
        assert_eq!(g.header().protocol(), EtherType::IPV4);
    }

    #[test]
    fn plain_gre_and_flags() {
        let b = [0x40, 0x01, 0x65, 0x58];
        let g = GrePacket::parse(&b[..]).unwrap();
        assert_eq!(g.key(), None);
        assert!(g.reserved_bits_set());
        assert_eq!(g.header().version(), 1);
        assert!(g.payload().is_empty());
    }

    #[test]
    fn truncated() {
        assert_eq!(
            GrePacket::parse(&[0x20, 0x00, 0x65][..]).err(),
            Some(ParseError::Truncated(Layer::Gre))
        );
        assert_eq!(
            GrePacket::parse(&[0x20, 0x00, 0x65, 0x58, 0, 0, 0][..]).err(),
            Some(ParseError::Truncated(Layer::Gre))
        );
    }

    #[test]
    fn set_key_in_place() {
        let mut b = [0x20, 0x00, 0x65, 0x58, 0, 0, 0, 0, 0xaa];
        let mut g = GrePacket::parse(&mut b[..]).unwrap();
        assert!(g.set_key(0x0013_8901));
        assert_eq!(&b[4..8], &[0x00, 0x13, 0x89, 0x01]);
        let mut plain = [0x00, 0x00, 0x65, 0x58];
        assert!(!GrePacket::parse(&mut plain[..]).unwrap().set_key(1));
    }
}
