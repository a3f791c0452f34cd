//! Why the data path refused a frame.
//!
//! Every refusal is one [`DropReason`]: small, `Copy`, with a stable snake-case name for
//! counters and logs and a dense index for per-reason counter arrays.
//!
//! ```
//! use hnv_core::DropReason;
//! let mut counters = [0u64; DropReason::COUNT];
//! counters[DropReason::GreKeyAbsent.index()] += 1;
//! assert_eq!(DropReason::GreKeyAbsent.name(), "gre_key_absent");
//! assert_eq!(DropReason::ALL[DropReason::GreKeyAbsent.index()], DropReason::GreKeyAbsent);
//! ```

use core::fmt;

macro_rules! drop_reasons {
    ($( $(#[$doc:meta])* $variant:ident => $name:literal, )*) => {
        /// Why a frame was dropped.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum DropReason {
            $( $(#[$doc])* $variant, )*
        }

        impl DropReason {
            /// Every reason, in index order.
            pub const ALL: &'static [DropReason] = &[$(DropReason::$variant,)*];
            /// Number of reasons (size of a per-reason counter array).
            pub const COUNT: usize = Self::ALL.len();

            /// Stable snake-case name.
            pub const fn name(self) -> &'static str {
                match self {
                    $( DropReason::$variant => $name, )*
                }
            }
        }
    };
}

drop_reasons! {
    /// Outer headers end before they should (Ethernet, IP, GRE).
    Truncated => "truncated",
    /// An outer header is inconsistent (IP version, header or total length).
    OuterMalformed => "outer_malformed",
    /// Outer Ethernet type is neither IPv4 nor IPv6 (after at most one VLAN tag).
    NotIp => "not_ip",
    /// Outer IP protocol / next header is not GRE (47).
    NotGre => "not_gre",
    /// Outer IPv4 header checksum does not verify.
    BadOuterChecksum => "bad_outer_checksum",
    /// Outer IPv4 fragment (MF or offset) or IPv6 fragment header (RFC 7637 §4.4).
    OuterFragment => "outer_fragment",
    /// GRE C bit set: NVGRE carries no GRE checksum (RFC 7637 §3.2).
    GreChecksumPresent => "gre_checksum_present",
    /// GRE S bit set: NVGRE carries no sequence number (RFC 7637 §3.2).
    GreSequencePresent => "gre_sequence_present",
    /// GRE K bit clear: no key, so no VSID (RFC 7637 §3.2).
    GreKeyAbsent => "gre_key_absent",
    /// A reserved GRE flag bit is set (RFC 2784 §2.2).
    GreReservedBits => "gre_reserved_bits",
    /// GRE version is not 0.
    GreVersion => "gre_version",
    /// GRE protocol type is not 0x6558 (Transparent Ethernet Bridging).
    GreProtocol => "gre_protocol",
    /// VSID in the key is reserved: `0..=0xFFF` or `0xFFFFFF` (RFC 7637 §3.4).
    ReservedVsid => "reserved_vsid",
    /// Inner frame shorter than an Ethernet header.
    InnerTruncated => "inner_truncated",
    /// Inner frame carries an 802.1Q tag (RFC 7637 §3.3).
    InnerVlanTag => "inner_vlan_tag",
    /// Inner frame carries an 802.1ad (Q-in-Q) tag.
    InnerQinQTag => "inner_qinq_tag",
    /// The frame came from a port the host does not have.
    UnknownPort => "unknown_port",
    /// A frame from a VM port is shorter than an Ethernet header or its L3 header.
    PortFrameMalformed => "port_frame_malformed",
    /// A VM port sent from a MAC address other than its own.
    SpoofedSourceMac => "spoofed_source_mac",
    /// A VM port sent from (or ARPed as) a CA that is not its own, and learning is off.
    SpoofedSourceCa => "spoofed_source_ca",
    /// A VM port sent a VLAN-tagged frame (the switch tags with VSIDs, not VLANs).
    PortVlanTag => "port_vlan_tag",
    /// No lookup record for the destination (CA or MAC) in the VSID.
    NoLookupRecord => "no_lookup_record",
    /// No customer route to the destination in the sender's routing domain (it is in
    /// another VM network, or nowhere).
    NoRoute => "no_route",
    /// Source and destination VSIDs are in different routing domains.
    CrossRoutingDomain => "cross_routing_domain",
    /// A routed frame that is neither IPv4 nor IPv6.
    NotRoutable => "not_routable",
    /// The record says the destination is on this host, but no local port has its MAC
    /// and VSID.
    NoLocalPort => "no_local_port",
    /// An NVGRE frame for a PA that is not this host's.
    NotOurPa => "not_our_pa",
    /// An NVGRE frame for a VSID this host has no port on.
    UnknownVsid => "unknown_vsid",
    /// The record's rule is not supported on this path yet (IP rewrite, or none).
    UnsupportedRule => "unsupported_rule",
    /// No provider-network neighbour MAC for the next hop towards the destination PA.
    UnresolvedNeighbor => "unresolved_neighbor",
    /// The encapsulated frame would exceed the uplink MTU.
    MtuExceeded => "mtu_exceeded",
    /// The buffer has too little headroom for the outer headers.
    NoHeadroom => "no_headroom",
    /// A frame from the provider network that is neither NVGRE nor for this host.
    NotForHost => "not_for_host",
}

impl DropReason {
    /// True for the reasons [`crate::nvgre::inspect`] gives (framing rules of RFC 7637);
    /// the others come from the switch.
    pub const fn is_framing(self) -> bool {
        (self as usize) <= (Self::InnerQinQTag as usize)
    }
}

impl DropReason {
    /// Dense index in `0..COUNT`.
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_are_dense_and_names_unique() {
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
            for other in &DropReason::ALL[i + 1..] {
                assert_ne!(r.name(), other.name());
            }
        }
    }
}
