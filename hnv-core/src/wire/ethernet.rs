//! Ethernet II frames, with IEEE 802.1Q (and 802.1ad) tag detection.
//!
//! ```
//! use hnv_core::wire::ethernet::{EtherType, EthernetFrame};
//! let bytes = [
//!     0x00, 0x15, 0x5d, 0x00, 0x00, 0x02, // destination
//!     0x00, 0x15, 0x5d, 0x00, 0x00, 0x01, // source
//!     0x81, 0x00, 0x20, 0x0a, // 802.1Q: PCP 1, VID 10
//!     0x08, 0x00, // IPv4
//!     0x45,
//! ];
//! let f = EthernetFrame::parse(&bytes[..]).unwrap();
//! assert_eq!(f.vlan().map(|t| t.vid()), Some(10));
//! assert_eq!(f.ethertype(), EtherType::IPV4);
//! assert_eq!(f.payload(), &[0x45]);
//! ```

use zerocopy::byteorder::network_endian::U16;
use zerocopy::{
    ByteSlice, ByteSliceMut, FromBytes, Immutable, IntoBytes, KnownLayout, Ref, SplitByteSlice,
    Unaligned,
};

use super::{Layer, ParseError};
use crate::ids::MacAddr;

/// An Ethernet type / TPID value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EtherType(pub u16);

impl EtherType {
    /// IPv4.
    pub const IPV4: Self = Self(0x0800);
    /// ARP.
    pub const ARP: Self = Self(0x0806);
    /// IEEE 802.1Q customer VLAN tag.
    pub const VLAN: Self = Self(0x8100);
    /// IEEE 802.1ad service VLAN tag (Q-in-Q).
    pub const QINQ: Self = Self(0x88a8);
    /// IPv6.
    pub const IPV6: Self = Self(0x86dd);
    /// Transparent Ethernet Bridging: the GRE protocol type of NVGRE.
    pub const TRANSPARENT_ETHERNET: Self = Self(0x6558);

    /// True for the TPIDs of 802.1Q and 802.1ad tags.
    pub const fn is_vlan_tag(self) -> bool {
        self.0 == Self::VLAN.0 || self.0 == Self::QINQ.0
    }
}

/// The 14-byte Ethernet II header.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct EthernetHeader {
    /// Destination MAC address.
    pub dst: MacAddr,
    /// Source MAC address.
    pub src: MacAddr,
    /// Ethernet type, or a VLAN TPID when a tag follows.
    pub ethertype: U16,
}

impl EthernetHeader {
    /// Header length in bytes.
    pub const LEN: usize = 14;

    /// A header with the given addresses and type.
    pub fn new(dst: MacAddr, src: MacAddr, ethertype: EtherType) -> Self {
        Self {
            dst,
            src,
            ethertype: U16::new(ethertype.0),
        }
    }

    /// The type field as written (a TPID when tagged).
    pub fn ethertype(&self) -> EtherType {
        EtherType(self.ethertype.get())
    }
}

/// The 4-byte tag that follows the addresses in an 802.1Q / 802.1ad frame (after the TPID):
/// tag control information and the encapsulated type.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct VlanTag {
    /// Priority (3 bits), drop eligible (1 bit), VLAN ID (12 bits).
    pub tci: U16,
    /// The type of what follows the tag (may be another TPID for stacked tags).
    pub ethertype: U16,
}

impl VlanTag {
    /// Tag length in bytes, excluding the TPID which sits in the Ethernet header.
    pub const LEN: usize = 4;

    /// VLAN identifier (12 bits).
    pub fn vid(&self) -> u16 {
        self.tci.get() & 0x0fff
    }

    /// Priority code point (3 bits).
    pub fn pcp(&self) -> u8 {
        (self.tci.get() >> 13) as u8
    }

    /// The type that follows the tag.
    pub fn ethertype(&self) -> EtherType {
        EtherType(self.ethertype.get())
    }
}

/// A checked view of an Ethernet II frame with at most one VLAN tag decoded.
///
/// `parse` checks that the header and, when the type is a VLAN TPID, the tag are present;
/// afterwards no accessor panics. A second stacked tag is left in the payload and shows in
/// [`ethertype`](Self::ethertype) as a TPID.
pub struct EthernetFrame<B> {
    header: Ref<B, EthernetHeader>,
    vlan: Option<Ref<B, VlanTag>>,
    payload: B,
}

impl<B: SplitByteSlice> EthernetFrame<B> {
    /// Views `bytes` as an Ethernet frame (no FCS).
    pub fn parse(bytes: B) -> Result<Self, ParseError> {
        let (header, rest) = Ref::<B, EthernetHeader>::from_prefix(bytes)
            .map_err(|_| ParseError::Truncated(Layer::Ethernet))?;
        if header.ethertype().is_vlan_tag() {
            let (tag, payload) = Ref::<B, VlanTag>::from_prefix(rest)
                .map_err(|_| ParseError::Truncated(Layer::Vlan))?;
            Ok(Self {
                header,
                vlan: Some(tag),
                payload,
            })
        } else {
            Ok(Self {
                header,
                vlan: None,
                payload: rest,
            })
        }
    }
}

impl<B: ByteSlice> EthernetFrame<B> {
    /// The fixed header.
    pub fn header(&self) -> &EthernetHeader {
        &self.header
    }

    /// Destination MAC.
    pub fn dst(&self) -> MacAddr {
        self.header.dst
    }

    /// Source MAC.
    pub fn src(&self) -> MacAddr {
        self.header.src
    }

    /// The outermost VLAN tag, if the frame is tagged.
    pub fn vlan(&self) -> Option<&VlanTag> {
        self.vlan.as_deref()
    }

    /// The TPID of the outermost tag (802.1Q or 802.1ad), if tagged.
    pub fn vlan_tpid(&self) -> Option<EtherType> {
        self.vlan.as_ref().map(|_| self.header.ethertype())
    }

    /// The type of the payload: after the tag when tagged.
    pub fn ethertype(&self) -> EtherType {
        match &self.vlan {
            Some(tag) => tag.ethertype(),
            None => self.header.ethertype(),
        }
    }

    /// Length of the Ethernet header including the decoded tag.
    pub fn header_len(&self) -> usize {
        EthernetHeader::LEN + if self.vlan.is_some() { VlanTag::LEN } else { 0 }
    }

    /// The bytes after the header (and tag).
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }
}

impl<B: ByteSliceMut> EthernetFrame<B> {
    /// The fixed header, writable.
    pub fn header_mut(&mut self) -> &mut EthernetHeader {
        &mut self.header
    }

    /// The bytes after the header (and tag), writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.payload
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNTAGGED_ARP: [u8; 16] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x15, 0x5d, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00,
        0x01,
    ];

    #[test]
    fn untagged() {
        let f = EthernetFrame::parse(&UNTAGGED_ARP[..]).unwrap();
        assert_eq!(f.dst(), MacAddr::BROADCAST);
        assert_eq!(f.src(), MacAddr([0x00, 0x15, 0x5d, 0, 0, 1]));
        assert_eq!(f.ethertype(), EtherType::ARP);
        assert!(f.vlan().is_none());
        assert_eq!(f.header_len(), 14);
        assert_eq!(f.payload(), &[0x00, 0x01]);
    }

    #[test]
    fn qinq_tag_detected() {
        let mut b = [0u8; 18];
        b[12..14].copy_from_slice(&[0x88, 0xa8]);
        b[14..18].copy_from_slice(&[0xe0, 0x64, 0x81, 0x00]); // PCP 7, VID 100, then 802.1Q
        let f = EthernetFrame::parse(&b[..]).unwrap();
        assert_eq!(f.vlan_tpid(), Some(EtherType::QINQ));
        let tag = f.vlan().unwrap();
        assert_eq!((tag.pcp(), tag.vid()), (7, 100));
        assert!(f.ethertype().is_vlan_tag());
    }

    #[test]
    fn truncated() {
        assert_eq!(
            EthernetFrame::parse(&UNTAGGED_ARP[..13]).err(),
            Some(ParseError::Truncated(Layer::Ethernet))
        );
        let mut b = [0u8; 17];
        b[12..14].copy_from_slice(&[0x81, 0x00]);
        assert_eq!(
            EthernetFrame::parse(&b[..]).err(),
            Some(ParseError::Truncated(Layer::Vlan))
        );
    }

    #[test]
    fn write_in_place() {
        let mut b = UNTAGGED_ARP;
        let mut f = EthernetFrame::parse(&mut b[..]).unwrap();
        f.header_mut().dst = MacAddr([2, 0, 0, 0, 0, 9]);
        f.payload_mut()[1] = 2;
        assert_eq!(&b[..6], &[2, 0, 0, 0, 0, 9]);
        assert_eq!(b[15], 2);
    }
}
