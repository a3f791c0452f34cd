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
    ($( $(#[$doc:meta])* $variant:ident => $name:literal, $description:literal, )*) => {
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

            /// What it means, in a short phrase for people reading counters or logs.
            ///
            /// ```
            /// use hnv_core::DropReason;
            /// assert_eq!(
            ///     DropReason::GreKeyAbsent.description(),
            ///     "GRE without a key, so without a VSID"
            /// );
            /// ```
            pub const fn description(self) -> &'static str {
                match self {
                    $( DropReason::$variant => $description, )*
                }
            }
        }
    };
}

drop_reasons! {
    /// Outer headers end before they should (Ethernet, IP, GRE).
    Truncated => "truncated", "the outer headers end early",
    /// An outer header is inconsistent (IP version, header or total length).
    OuterMalformed => "outer_malformed", "an outer header is inconsistent",
    /// Outer Ethernet type is neither IPv4 nor IPv6 (after at most one VLAN tag).
    NotIp => "not_ip", "the outer frame is neither IPv4 nor IPv6",
    /// Outer IP protocol / next header is not GRE (47).
    NotGre => "not_gre", "the outer IP packet is not GRE",
    /// Outer IPv4 header checksum does not verify.
    BadOuterChecksum => "bad_outer_checksum", "the outer IPv4 checksum does not verify",
    /// Outer IPv4 fragment (MF or offset) or IPv6 fragment header (RFC 7637 §4.4).
    OuterFragment => "outer_fragment", "the outer IP packet is a fragment",
    /// GRE C bit set: NVGRE carries no GRE checksum (RFC 7637 §3.2).
    GreChecksumPresent => "gre_checksum_present", "GRE checksum present (not NVGRE)",
    /// GRE S bit set: NVGRE carries no sequence number (RFC 7637 §3.2).
    GreSequencePresent => "gre_sequence_present", "GRE sequence number present (not NVGRE)",
    /// GRE K bit clear: no key, so no VSID (RFC 7637 §3.2).
    GreKeyAbsent => "gre_key_absent", "GRE without a key, so without a VSID",
    /// A reserved GRE flag bit is set (RFC 2784 §2.2).
    GreReservedBits => "gre_reserved_bits", "a reserved GRE flag is set",
    /// GRE version is not 0.
    GreVersion => "gre_version", "GRE version is not 0",
    /// GRE protocol type is not 0x6558 (Transparent Ethernet Bridging).
    GreProtocol => "gre_protocol", "GRE protocol is not 0x6558",
    /// VSID in the key is reserved: `0..=0xFFF` or `0xFFFFFF` (RFC 7637 §3.4).
    ReservedVsid => "reserved_vsid", "the VSID in the key is reserved",
    /// Inner frame shorter than an Ethernet header.
    InnerTruncated => "inner_truncated", "the inner frame is shorter than an Ethernet header",
    /// Inner frame carries an 802.1Q tag (RFC 7637 §3.3).
    InnerVlanTag => "inner_vlan_tag", "the inner frame carries an 802.1Q tag",
    /// Inner frame carries an 802.1ad (Q-in-Q) tag.
    InnerQinQTag => "inner_qinq_tag", "the inner frame carries an 802.1ad tag",
    /// The frame came from a port the host does not have.
    UnknownPort => "unknown_port", "the port does not exist on this host",
    /// A frame from a VM port is shorter than an Ethernet header or its L3 header.
    PortFrameMalformed => "port_frame_malformed", "the frame from the port is malformed",
    /// A VM port sent from a MAC address other than its own.
    SpoofedSourceMac => "spoofed_source_mac", "the source MAC is not the port's",
    /// A VM port sent from (or ARPed as) a CA that is not its own, and learning is off.
    SpoofedSourceCa => "spoofed_source_ca", "the source CA is not the port's: no lookup record has this CA with the port's MAC",
    /// A VM port sent a VLAN-tagged frame (the switch tags with VSIDs, not VLANs).
    PortVlanTag => "port_vlan_tag", "the VM sent a VLAN-tagged frame",
    /// No lookup record for the destination (CA or MAC) in the VSID.
    NoLookupRecord => "no_lookup_record", "no lookup record for the destination in its VSID",
    /// No customer route to the destination in the sender's routing domain (it is in
    /// another VM network, or nowhere).
    NoRoute => "no_route", "no customer route to the destination in the sender's routing domain",
    /// Source and destination VSIDs are in different routing domains.
    CrossRoutingDomain => "cross_routing_domain", "source and destination VSIDs are in different routing domains",
    /// A routed frame that is neither IPv4 nor IPv6.
    NotRoutable => "not_routable", "a frame to the gateway MAC that is neither IPv4 nor IPv6",
    /// The record says the destination is on this host, but no local port has its MAC
    /// and VSID.
    NoLocalPort => "no_local_port", "the record puts the destination on this host, but no port has its MAC and VSID",
    /// An NVGRE frame for a PA that is not this host's.
    NotOurPa => "not_our_pa", "an NVGRE frame for a PA that is not this host's",
    /// An NVGRE frame for a VSID this host has no port on.
    UnknownVsid => "unknown_vsid", "this host has no port in that VSID",
    /// The record's rule is not supported on this path yet (IP rewrite, or none).
    UnsupportedRule => "unsupported_rule", "the records' rules do not allow this path",
    /// No provider-network neighbour MAC for the next hop towards the destination PA.
    UnresolvedNeighbor => "unresolved_neighbor", "no provider-network MAC for the next hop towards the destination PA",
    /// The encapsulated frame would exceed the uplink MTU.
    MtuExceeded => "mtu_exceeded", "the encapsulated frame would exceed the uplink MTU",
    /// The buffer has too little headroom for the outer headers.
    NoHeadroom => "no_headroom", "no room for the outer headers",
    /// A frame from the provider network that is neither NVGRE nor for this host.
    NotForHost => "not_for_host", "a provider-network frame not for this host",
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
