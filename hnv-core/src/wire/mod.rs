//! Zero-copy views of the protocols hnv reads and writes.
//!
//! One module per protocol. Each follows the same shape:
//!
//! * `XxxHeader` — the fixed part of the header as a `#[repr(C)]` zerocopy struct with
//!   network-endian fields. It is both the in-place view (through a [`zerocopy::Ref`]) and
//!   the plain representation a caller fills in and writes with
//!   [`zerocopy::IntoBytes::write_to_prefix`].
//! * `XxxPacket<B>` — a checked view over a byte slice `B` (`&[u8]` to read, `&mut [u8]`
//!   to read and write in place). `parse` performs **every** length and consistency check
//!   once; after it returns `Ok`, no accessor of the view can panic or read out of
//!   bounds, whatever the bytes are. Malformed input is a [`ParseError`], never a panic.
//!
//! Unit tests with literal bytes sit at the bottom of each file.

pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod gre;
pub mod icmpv4;
pub mod icmpv6;
pub mod ipv4;
pub mod ipv6;
pub mod tcp;
pub mod udp;

use core::fmt;

/// The protocol layer a [`ParseError`] refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    /// Ethernet II header.
    Ethernet,
    /// IEEE 802.1Q / 802.1ad tag.
    Vlan,
    /// ARP (Ethernet / IPv4).
    Arp,
    /// IPv4 header and options.
    Ipv4,
    /// IPv6 fixed header.
    Ipv6,
    /// IPv6 extension header chain.
    Ipv6Extension,
    /// ICMPv4 message.
    Icmpv4,
    /// ICMPv6 message.
    Icmpv6,
    /// ICMPv6 neighbour-discovery option.
    NdpOption,
    /// GRE header (RFC 2784 / RFC 2890).
    Gre,
    /// TCP header and options.
    Tcp,
    /// UDP header.
    Udp,
}

/// Why bytes could not be viewed as a protocol header.
///
/// Small and `Copy`: the data path returns it by value and counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParseError {
    /// The buffer ends before the header (or the length it declares) does.
    Truncated(Layer),
    /// The version field is not the one this view reads (e.g. IPv4 view over IPv6).
    BadVersion(Layer),
    /// A header-length field is smaller than the fixed header or larger than the packet.
    BadHeaderLength(Layer),
    /// A total-length field contradicts the header length.
    BadLength(Layer),
    /// A well-formed header of a kind this view does not handle (e.g. ARP over non-Ethernet).
    Unsupported(Layer),
}

impl ParseError {
    /// The layer the error refers to.
    pub const fn layer(self) -> Layer {
        match self {
            Self::Truncated(l)
            | Self::BadVersion(l)
            | Self::BadHeaderLength(l)
            | Self::BadLength(l)
            | Self::Unsupported(l) => l,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            Self::Truncated(_) => "truncated",
            Self::BadVersion(_) => "wrong version",
            Self::BadHeaderLength(_) => "bad header length",
            Self::BadLength(_) => "bad total length",
            Self::Unsupported(_) => "unsupported",
        };
        write!(f, "{:?}: {what}", self.layer())
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ParseError {}

/// IP protocol numbers (IPv4 `protocol`, IPv6 `next header`) used by hnv.
pub mod ip_proto {
    /// IPv6 hop-by-hop options.
    pub const HOP_BY_HOP: u8 = 0;
    /// ICMP for IPv4.
    pub const ICMP: u8 = 1;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// IPv6 routing header.
    pub const IPV6_ROUTE: u8 = 43;
    /// IPv6 fragment header.
    pub const IPV6_FRAG: u8 = 44;
    /// GRE (RFC 2784).
    pub const GRE: u8 = 47;
    /// IPsec ESP.
    pub const ESP: u8 = 50;
    /// IPsec AH.
    pub const AH: u8 = 51;
    /// ICMP for IPv6.
    pub const ICMPV6: u8 = 58;
    /// IPv6 "no next header".
    pub const IPV6_NONXT: u8 = 59;
    /// IPv6 destination options.
    pub const IPV6_OPTS: u8 = 60;
}
