//! ARP for Ethernet and IPv4 (RFC 826), the only kind HNV answers.
//!
//! HNV replies to a VM's ARP requests itself, from its lookup tables, so the view can turn
//! a request into the matching reply in place ([`ArpPacket::make_reply_in_place`]).
//!
//! ```
//! use core::net::Ipv4Addr;
//! use hnv_core::ids::MacAddr;
//! use hnv_core::wire::arp::{ArpOp, ArpPacket};
//! // Who has 10.0.0.7? Tell 10.0.0.5 (at 00-15-5D-00-00-01).
//! let mut bytes = [
//!     0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, // Ethernet, IPv4, 6, 4, request
//!     0x00, 0x15, 0x5d, 0x00, 0x00, 0x01, 10, 0, 0, 5, // sender
//!     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 10, 0, 0, 7, // target
//! ];
//! let mut arp = ArpPacket::parse(&mut bytes[..]).unwrap();
//! assert_eq!(arp.operation(), ArpOp::Request);
//! assert_eq!(arp.target_ip(), Ipv4Addr::new(10, 0, 0, 7));
//! arp.make_reply_in_place(MacAddr([0x00, 0x15, 0x5d, 0x00, 0x00, 0x07]));
//! assert_eq!(arp.operation(), ArpOp::Reply);
//! assert_eq!(arp.sender_ip(), Ipv4Addr::new(10, 0, 0, 7));
//! assert_eq!(arp.target_mac(), MacAddr([0x00, 0x15, 0x5d, 0x00, 0x00, 0x01]));
//! ```

use core::net::Ipv4Addr;

use zerocopy::byteorder::network_endian::U16;
use zerocopy::{
    ByteSlice, ByteSliceMut, FromBytes, Immutable, IntoBytes, KnownLayout, Ref, SplitByteSlice,
    Unaligned,
};

use super::{Layer, ParseError};
use crate::ids::MacAddr;

/// The ARP operation (`oper`) field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArpOp {
    /// `1`: who has the target protocol address?
    Request,
    /// `2`: the sender has the sender protocol address.
    Reply,
    /// Any other value (RARP, InARP, ...), kept as written.
    Other(u16),
}

impl ArpOp {
    /// Decodes the wire value.
    pub const fn from_u16(v: u16) -> Self {
        match v {
            1 => Self::Request,
            2 => Self::Reply,
            other => Self::Other(other),
        }
    }

    /// The wire value.
    pub const fn to_u16(self) -> u16 {
        match self {
            Self::Request => 1,
            Self::Reply => 2,
            Self::Other(v) => v,
        }
    }
}

impl From<u16> for ArpOp {
    fn from(v: u16) -> Self {
        Self::from_u16(v)
    }
}

impl From<ArpOp> for u16 {
    fn from(op: ArpOp) -> Self {
        op.to_u16()
    }
}

/// The 28-byte ARP message for Ethernet hardware and IPv4 protocol addresses.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct ArpHeader {
    /// Hardware type (1 = Ethernet).
    pub htype: U16,
    /// Protocol type (0x0800 = IPv4).
    pub ptype: U16,
    /// Hardware address length (6).
    pub hlen: u8,
    /// Protocol address length (4).
    pub plen: u8,
    /// Operation (see [`ArpOp`]).
    pub oper: U16,
    /// Sender hardware address.
    pub sha: MacAddr,
    /// Sender protocol address.
    pub spa: [u8; 4],
    /// Target hardware address.
    pub tha: MacAddr,
    /// Target protocol address.
    pub tpa: [u8; 4],
}

impl ArpHeader {
    /// Message length in bytes.
    pub const LEN: usize = 28;
    /// `htype` of Ethernet.
    pub const HTYPE_ETHERNET: u16 = 1;
    /// `ptype` of IPv4 (its EtherType).
    pub const PTYPE_IPV4: u16 = 0x0800;

    /// An Ethernet/IPv4 message with the given operation and addresses.
    pub fn new(
        op: ArpOp,
        sender_mac: MacAddr,
        sender_ip: Ipv4Addr,
        target_mac: MacAddr,
        target_ip: Ipv4Addr,
    ) -> Self {
        Self {
            htype: U16::new(Self::HTYPE_ETHERNET),
            ptype: U16::new(Self::PTYPE_IPV4),
            hlen: 6,
            plen: 4,
            oper: U16::new(op.to_u16()),
            sha: sender_mac,
            spa: sender_ip.octets(),
            tha: target_mac,
            tpa: target_ip.octets(),
        }
    }

    /// A request for `target_ip` from `sender_mac` / `sender_ip`; the target MAC is zero.
    pub fn new_request(sender_mac: MacAddr, sender_ip: Ipv4Addr, target_ip: Ipv4Addr) -> Self {
        Self::new(
            ArpOp::Request,
            sender_mac,
            sender_ip,
            MacAddr::ZERO,
            target_ip,
        )
    }

    /// A reply telling `target_mac` / `target_ip` that `sender_ip` is at `sender_mac`.
    pub fn new_reply(
        sender_mac: MacAddr,
        sender_ip: Ipv4Addr,
        target_mac: MacAddr,
        target_ip: Ipv4Addr,
    ) -> Self {
        Self::new(ArpOp::Reply, sender_mac, sender_ip, target_mac, target_ip)
    }

    /// True when the fixed fields say Ethernet / IPv4 (`htype` 1, `ptype` 0x0800, lengths
    /// 6 and 4): the only combination this module handles.
    pub fn is_ethernet_ipv4(&self) -> bool {
        self.htype.get() == Self::HTYPE_ETHERNET
            && self.ptype.get() == Self::PTYPE_IPV4
            && self.hlen == 6
            && self.plen == 4
    }

    /// The operation.
    pub fn operation(&self) -> ArpOp {
        ArpOp::from_u16(self.oper.get())
    }

    /// Sender hardware address.
    pub fn sender_mac(&self) -> MacAddr {
        self.sha
    }

    /// Sender protocol address.
    pub fn sender_ip(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.spa)
    }

    /// Target hardware address (zero or ignored in a request).
    pub fn target_mac(&self) -> MacAddr {
        self.tha
    }

    /// Target protocol address.
    pub fn target_ip(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.tpa)
    }

    /// Gratuitous ARP (an announcement, RFC 5227 §3): sender and target protocol addresses
    /// are equal. Request or reply; the sender tells the segment where its address lives.
    pub fn is_gratuitous(&self) -> bool {
        self.spa == self.tpa
    }

    /// ARP probe (RFC 5227 §2.1.1): a request with sender protocol address `0.0.0.0`, sent
    /// by a host checking that the target address is free.
    pub fn is_probe(&self) -> bool {
        self.operation() == ArpOp::Request && self.spa == [0; 4]
    }

    /// Sets the operation.
    pub fn set_operation(&mut self, op: ArpOp) {
        self.oper.set(op.to_u16());
    }

    /// Sets the sender hardware address.
    pub fn set_sender_mac(&mut self, mac: MacAddr) {
        self.sha = mac;
    }

    /// Sets the sender protocol address.
    pub fn set_sender_ip(&mut self, ip: Ipv4Addr) {
        self.spa = ip.octets();
    }

    /// Sets the target hardware address.
    pub fn set_target_mac(&mut self, mac: MacAddr) {
        self.tha = mac;
    }

    /// Sets the target protocol address.
    pub fn set_target_ip(&mut self, ip: Ipv4Addr) {
        self.tpa = ip.octets();
    }

    /// Turns this message into the reply to it, as RFC 826 describes: the old sender
    /// becomes the target, `answer_mac` and the old target protocol address become the
    /// sender, and the operation becomes [`ArpOp::Reply`].
    pub fn make_reply(&mut self, answer_mac: MacAddr) {
        self.tha = self.sha;
        core::mem::swap(&mut self.spa, &mut self.tpa);
        self.sha = answer_mac;
        self.set_operation(ArpOp::Reply);
    }
}

/// A checked view of an Ethernet/IPv4 ARP message.
///
/// `parse` checks that the 28 bytes are present and that the hardware and protocol
/// types and lengths are Ethernet (6) and IPv4 (4); afterwards no accessor panics. Bytes
/// after the message (Ethernet padding up to the 60-byte minimum frame) are kept apart as
/// [`padding`](Self::padding).
pub struct ArpPacket<B> {
    header: Ref<B, ArpHeader>,
    padding: B,
}

impl<B: SplitByteSlice> ArpPacket<B> {
    /// Views `bytes` (an Ethernet payload) as an ARP message.
    pub fn parse(bytes: B) -> Result<Self, ParseError> {
        let (header, padding) = Ref::<B, ArpHeader>::from_prefix(bytes)
            .map_err(|_| ParseError::Truncated(Layer::Arp))?;
        if !header.is_ethernet_ipv4() {
            return Err(ParseError::Unsupported(Layer::Arp));
        }
        Ok(Self { header, padding })
    }
}

impl<B: ByteSlice> ArpPacket<B> {
    /// The message.
    pub fn header(&self) -> &ArpHeader {
        &self.header
    }

    /// Bytes after the 28-byte message (link-layer padding), not part of ARP.
    pub fn padding(&self) -> &[u8] {
        &self.padding
    }

    /// The operation.
    pub fn operation(&self) -> ArpOp {
        self.header.operation()
    }

    /// Sender hardware address.
    pub fn sender_mac(&self) -> MacAddr {
        self.header.sender_mac()
    }

    /// Sender protocol address.
    pub fn sender_ip(&self) -> Ipv4Addr {
        self.header.sender_ip()
    }

    /// Target hardware address.
    pub fn target_mac(&self) -> MacAddr {
        self.header.target_mac()
    }

    /// Target protocol address.
    pub fn target_ip(&self) -> Ipv4Addr {
        self.header.target_ip()
    }

    /// Gratuitous ARP: sender and target protocol addresses are equal (see
    /// [`ArpHeader::is_gratuitous`]).
    pub fn is_gratuitous(&self) -> bool {
        self.header.is_gratuitous()
    }

    /// ARP probe: a request from `0.0.0.0` (see [`ArpHeader::is_probe`]).
    pub fn is_probe(&self) -> bool {
        self.header.is_probe()
    }
}

impl<B: ByteSliceMut> ArpPacket<B> {
    /// The message, writable.
    pub fn header_mut(&mut self) -> &mut ArpHeader {
        &mut self.header
    }

    /// Sets the operation.
    pub fn set_operation(&mut self, op: ArpOp) {
        self.header.set_operation(op);
    }

    /// Sets the sender hardware address.
    pub fn set_sender_mac(&mut self, mac: MacAddr) {
        self.header.set_sender_mac(mac);
    }

    /// Sets the sender protocol address.
    pub fn set_sender_ip(&mut self, ip: Ipv4Addr) {
        self.header.set_sender_ip(ip);
    }

    /// Sets the target hardware address.
    pub fn set_target_mac(&mut self, mac: MacAddr) {
        self.header.set_target_mac(mac);
    }

    /// Sets the target protocol address.
    pub fn set_target_ip(&mut self, ip: Ipv4Addr) {
        self.header.set_target_ip(ip);
    }

    /// Rewrites a request into the reply that says its target IP is at `answer_mac`
    /// (see [`ArpHeader::make_reply`]). The Ethernet header (reply to the requester's MAC,
    /// from `answer_mac`) is the caller's business.
    pub fn make_reply_in_place(&mut self, answer_mac: MacAddr) {
        self.header.make_reply(answer_mac);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const VM1: MacAddr = MacAddr([0x00, 0x15, 0x5d, 0x00, 0x00, 0x01]);
    const VM7: MacAddr = MacAddr([0x00, 0x15, 0x5d, 0x00, 0x00, 0x07]);

    /// Who has 10.0.0.7? Tell 10.0.0.5 — from 00-15-5D-00-00-01, as captured in a
    /// 60-byte frame (18 bytes of padding after the 28-byte message).
    const REQUEST: [u8; 46] = [
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x00, 0x15, 0x5d, 0x00, 0x00, 0x01, 0x0a,
        0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x07, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];

    /// 10.0.0.7 is at 00-15-5D-00-00-07, to 10.0.0.5 at 00-15-5D-00-00-01.
    const REPLY: [u8; 28] = [
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02, 0x00, 0x15, 0x5d, 0x00, 0x00, 0x07, 0x0a,
        0x00, 0x00, 0x07, 0x00, 0x15, 0x5d, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x05,
    ];

    #[test]
    fn request_fields() {
        let p = ArpPacket::parse(&REQUEST[..]).unwrap();
        assert_eq!(p.operation(), ArpOp::Request);
        assert_eq!(p.sender_mac(), VM1);
        assert_eq!(p.sender_ip(), Ipv4Addr::new(10, 0, 0, 5));
        assert_eq!(p.target_mac(), MacAddr::ZERO);
        assert_eq!(p.target_ip(), Ipv4Addr::new(10, 0, 0, 7));
        assert!(!p.is_gratuitous() && !p.is_probe());
        assert_eq!(p.padding(), &[0u8; 18]);
        assert_eq!(p.header().htype.get(), 1);
        assert_eq!(p.header().ptype.get(), 0x0800);
    }

    #[test]
    fn constructors_match_literals() {
        let req =
            ArpHeader::new_request(VM1, Ipv4Addr::new(10, 0, 0, 5), Ipv4Addr::new(10, 0, 0, 7));
        assert_eq!(req.as_bytes(), &REQUEST[..28]);
        let rep = ArpHeader::new_reply(
            VM7,
            Ipv4Addr::new(10, 0, 0, 7),
            VM1,
            Ipv4Addr::new(10, 0, 0, 5),
        );
        assert_eq!(rep.as_bytes(), &REPLY[..]);
        assert_eq!(core::mem::size_of::<ArpHeader>(), ArpHeader::LEN);
    }

    #[test]
    fn reply_in_place() {
        let mut b = REQUEST;
        let mut p = ArpPacket::parse(&mut b[..]).unwrap();
        p.make_reply_in_place(VM7);
        assert_eq!(p.operation(), ArpOp::Reply);
        assert_eq!(&b[..28], &REPLY[..]);
        assert_eq!(&b[28..], &[0u8; 18]);
    }

    #[test]
    fn setters() {
        let mut b = REPLY;
        let mut p = ArpPacket::parse(&mut b[..]).unwrap();
        p.set_operation(ArpOp::Other(9));
        p.set_sender_mac(VM1);
        p.set_sender_ip(Ipv4Addr::new(192, 168, 1, 2));
        p.set_target_mac(MacAddr::BROADCAST);
        p.set_target_ip(Ipv4Addr::new(192, 168, 1, 3));
        assert_eq!(p.operation(), ArpOp::Other(9));
        assert_eq!(p.header_mut().oper.get(), 9);
        assert_eq!(
            b,
            [
                0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x09, 0x00, 0x15, 0x5d, 0x00, 0x00, 0x01,
                192, 168, 1, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 192, 168, 1, 3,
            ]
        );
    }

    #[test]
    fn op_codes() {
        for v in [0u16, 1, 2, 3, 4, 8, 9, 0xffff] {
            assert_eq!(ArpOp::from(v).to_u16(), v);
            assert_eq!(u16::from(ArpOp::from_u16(v)), v);
        }
        assert_eq!(ArpOp::from_u16(1), ArpOp::Request);
        assert_eq!(ArpOp::from_u16(2), ArpOp::Reply);
        assert_eq!(ArpOp::from_u16(3), ArpOp::Other(3));
    }

    #[test]
    fn gratuitous_and_probe() {
        // Announcement: 10.0.0.7 is at 00-15-5D-00-00-07 (spa == tpa).
        let g = ArpHeader::new_request(VM7, Ipv4Addr::new(10, 0, 0, 7), Ipv4Addr::new(10, 0, 0, 7));
        let p = ArpPacket::parse(g.as_bytes()).unwrap();
        assert!(p.is_gratuitous() && !p.is_probe());
        // Probe: 0.0.0.0 asking for 10.0.0.9.
        let pr = ArpHeader::new_request(VM7, Ipv4Addr::UNSPECIFIED, Ipv4Addr::new(10, 0, 0, 9));
        let p = ArpPacket::parse(pr.as_bytes()).unwrap();
        assert!(p.is_probe() && !p.is_gratuitous());
    }

    #[test]
    fn errors() {
        assert_eq!(
            ArpPacket::parse(&REQUEST[..27]).err(),
            Some(ParseError::Truncated(Layer::Arp))
        );
        assert_eq!(
            ArpPacket::parse(&[][..]).err(),
            Some(ParseError::Truncated(Layer::Arp))
        );
        // Each fixed field in turn: htype 6 (IEEE 802), ptype IPv6, hlen 8, plen 16.
        for (at, v) in [(1, 6), (2, 0x86), (4, 8), (5, 16)] {
            let mut b = REQUEST;
            b[at] = v;
            assert_eq!(
                ArpPacket::parse(&b[..]).err(),
                Some(ParseError::Unsupported(Layer::Arp)),
                "byte {at} = {v}"
            );
        }
    }

    #[test]
    fn etherparse_parses_ours() {
        let ep = etherparse::ArpPacket::from_slice(&REQUEST[..28]).unwrap();
        let ep = ep.try_eth_ipv4().unwrap();
        let p = ArpPacket::parse(&REQUEST[..]).unwrap();
        assert_eq!(ep.operation.0, p.operation().to_u16());
        assert_eq!(ep.sender_mac, p.sender_mac().0);
        assert_eq!(ep.sender_ipv4_addr(), p.sender_ip());
        assert_eq!(ep.target_mac, p.target_mac().0);
        assert_eq!(ep.target_ipv4_addr(), p.target_ip());
    }

    #[test]
    fn ours_parses_etherparse() {
        let ep = etherparse::ArpEthIpv4Packet {
            operation: etherparse::ArpOperation::REPLY,
            sender_mac: [0x02, 0, 0, 0xaa, 0xbb, 0xcc],
            sender_ipv4: [172, 16, 0, 1],
            target_mac: [0x02, 0, 0, 0xdd, 0xee, 0xff],
            target_ipv4: [172, 16, 0, 2],
        };
        let bytes = ep.to_bytes();
        let p = ArpPacket::parse(&bytes[..]).unwrap();
        assert_eq!(p.operation(), ArpOp::Reply);
        assert_eq!(p.sender_mac(), MacAddr(ep.sender_mac));
        assert_eq!(p.sender_ip(), Ipv4Addr::new(172, 16, 0, 1));
        assert_eq!(p.target_mac(), MacAddr(ep.target_mac));
        assert_eq!(p.target_ip(), Ipv4Addr::new(172, 16, 0, 2));
        // And a reply built by us from etherparse's request is what etherparse builds.
        let req = etherparse::ArpEthIpv4Packet {
            operation: etherparse::ArpOperation::REQUEST,
            sender_mac: ep.target_mac,
            sender_ipv4: ep.target_ipv4,
            target_mac: [0; 6],
            target_ipv4: ep.sender_ipv4,
        };
        let mut b = req.to_bytes();
        ArpPacket::parse(&mut b[..])
            .unwrap()
            .make_reply_in_place(MacAddr(ep.sender_mac));
        assert_eq!(b, bytes);
    }

    proptest! {
        /// On arbitrary bytes we accept exactly what etherparse reads as Ethernet/IPv4 ARP,
        /// and read the same fields.
        #[test]
        fn matches_etherparse(mut bytes in any::<[u8; 28]>(), fixed in any::<bool>()) {
            if fixed {
                bytes[..6].copy_from_slice(&[0x00, 0x01, 0x08, 0x00, 0x06, 0x04]);
            }
            let ours = ArpPacket::parse(&bytes[..]);
            let theirs = etherparse::ArpPacket::from_slice(&bytes)
                .ok()
                .and_then(|p| p.try_eth_ipv4().ok());
            prop_assert_eq!(ours.is_ok(), theirs.is_some());
            if let (Ok(p), Some(t)) = (ours, theirs) {
                prop_assert_eq!(p.operation().to_u16(), t.operation.0);
                prop_assert_eq!(p.sender_mac().0, t.sender_mac);
                prop_assert_eq!(p.sender_ip(), t.sender_ipv4_addr());
                prop_assert_eq!(p.target_mac().0, t.target_mac);
                prop_assert_eq!(p.target_ip(), t.target_ipv4_addr());
            }
        }
    }
}
