//! What a NIC can offload for NVGRE traffic.
//!
//! [`OffloadCaps`] is a set of feature bits (hand-rolled bitflags: `const` values combined
//! with `|`, tested with [`contains`](OffloadCaps::contains)); [`NicCaps`] adds the numeric
//! limits of large send offload. A descriptor is checked against them with
//! [`TxOffload::validate`](crate::TxOffload::validate).

use core::fmt;
use core::ops::{BitAnd, BitOr, BitOrAssign, Not};

/// Offload features of a NIC for NVGRE-encapsulated traffic.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct OffloadCaps(u32);

impl OffloadCaps {
    /// Computes the outer IPv4 header checksum.
    pub const OUTER_IPV4_CSUM: Self = Self(1 << 0);
    /// Computes the inner IPv4 header checksum.
    pub const INNER_IPV4_CSUM: Self = Self(1 << 1);
    /// Computes the inner TCP checksum over inner IPv4.
    pub const INNER_TCP4_CSUM: Self = Self(1 << 2);
    /// Computes the inner TCP checksum over inner IPv6.
    pub const INNER_TCP6_CSUM: Self = Self(1 << 3);
    /// Computes the inner UDP checksum over inner IPv4.
    pub const INNER_UDP4_CSUM: Self = Self(1 << 4);
    /// Computes the inner UDP checksum over inner IPv6.
    pub const INNER_UDP6_CSUM: Self = Self(1 << 5);
    /// Segments inner TCP over inner IPv4 (LSO).
    pub const LSO_INNER_TCP4: Self = Self(1 << 6);
    /// Segments inner TCP over inner IPv6 (LSO).
    pub const LSO_INNER_TCP6: Self = Self(1 << 7);
    /// Segments when the inner IPv4 header carries options.
    pub const LSO_IP_OPTIONS: Self = Self(1 << 8);
    /// Segments when the inner TCP header carries options.
    pub const LSO_TCP_OPTIONS: Self = Self(1 << 9);
    /// Any of the above also with an IPv6 outer header (else IPv4 outer only).
    pub const OUTER_IPV6: Self = Self(1 << 10);
    /// IPv6 extension headers (outer or inner) are parsed past.
    pub const IPV6_EXT_HEADERS: Self = Self(1 << 11);
    /// RSS hashes the inner headers of NVGRE frames (else only the outer ones).
    pub const RSS_INNER: Self = Self(1 << 12);
    /// RSS hash type IPv4 (2-tuple).
    pub const RSS_IPV4: Self = Self(1 << 13);
    /// RSS hash type TCP over IPv4 (4-tuple).
    pub const RSS_TCP_IPV4: Self = Self(1 << 14);
    /// RSS hash type UDP over IPv4 (4-tuple).
    pub const RSS_UDP_IPV4: Self = Self(1 << 15);
    /// RSS hash type IPv6 (2-tuple).
    pub const RSS_IPV6: Self = Self(1 << 16);
    /// RSS hash type TCP over IPv6 (4-tuple).
    pub const RSS_TCP_IPV6: Self = Self(1 << 17);
    /// RSS hash type UDP over IPv6 (4-tuple).
    pub const RSS_UDP_IPV6: Self = Self(1 << 18);
    /// VMQ: steers received frames to queues by inner destination MAC (+ VLAN).
    pub const VMQ: Self = Self(1 << 19);
    /// VMQ filters may also match the VSID.
    pub const VMQ_VSID: Self = Self(1 << 20);

    /// Every checksum feature.
    pub const ALL_CSUM: Self = Self(0x3f);
    /// Every RSS hash type.
    pub const ALL_RSS_TYPES: Self = Self(0x3f << 13);
    /// Everything this crate models.
    pub const ALL: Self = Self((1 << 21) - 1);

    /// The empty set.
    pub const fn empty() -> Self {
        Self(0)
    }

    /// The raw bits.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// The set of the known bits in `bits`; unknown bits are dropped.
    pub const fn from_bits_truncate(bits: u32) -> Self {
        Self(bits & Self::ALL.0)
    }

    /// True when every feature of `other` is in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// True when `self` and `other` share a feature.
    pub const fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }

    /// True for the empty set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// `self` with the features of `other` added (usable in `const`).
    #[must_use]
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// `self` without the features of `other`.
    #[must_use]
    pub const fn difference(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }
}

impl BitOr for OffloadCaps {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        self.union(rhs)
    }
}

impl BitOrAssign for OffloadCaps {
    fn bitor_assign(&mut self, rhs: Self) {
        *self = self.union(rhs);
    }
}

impl BitAnd for OffloadCaps {
    type Output = Self;
    fn bitand(self, rhs: Self) -> Self {
        Self(self.0 & rhs.0)
    }
}

impl Not for OffloadCaps {
    type Output = Self;
    fn not(self) -> Self {
        Self(!self.0 & Self::ALL.0)
    }
}

const NAMES: [&str; 21] = [
    "OUTER_IPV4_CSUM",
    "INNER_IPV4_CSUM",
    "INNER_TCP4_CSUM",
    "INNER_TCP6_CSUM",
    "INNER_UDP4_CSUM",
    "INNER_UDP6_CSUM",
    "LSO_INNER_TCP4",
    "LSO_INNER_TCP6",
    "LSO_IP_OPTIONS",
    "LSO_TCP_OPTIONS",
    "OUTER_IPV6",
    "IPV6_EXT_HEADERS",
    "RSS_INNER",
    "RSS_IPV4",
    "RSS_TCP_IPV4",
    "RSS_UDP_IPV4",
    "RSS_IPV6",
    "RSS_TCP_IPV6",
    "RSS_UDP_IPV6",
    "VMQ",
    "VMQ_VSID",
];

impl fmt::Debug for OffloadCaps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OffloadCaps(")?;
        let mut first = true;
        for (i, name) in NAMES.iter().enumerate() {
            if self.0 & (1 << i) != 0 {
                if !first {
                    f.write_str(" | ")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        f.write_str(")")
    }
}

/// A NIC's offload features and large-send limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NicCaps {
    /// Feature bits.
    pub offloads: OffloadCaps,
    /// Largest frame (all headers included) the NIC segments, in bytes (NDIS
    /// `MaxOffLoadSize` counts the same way).
    pub lso_max_size: u32,
    /// Fewest segments a large send must produce (NDIS `MinSegmentCount`).
    pub lso_min_segments: u16,
    /// Most segments one large send may produce.
    pub lso_max_segments: u16,
}

impl NicCaps {
    /// The software NIC: every feature, 64 KiB + headers (the outer IPv6 payload-length
    /// limit), 1 to 65535 segments.
    pub const SOFTWARE: Self = Self {
        offloads: OffloadCaps::ALL,
        lso_max_size: 65_535 + 14 + 4 + 40,
        lso_min_segments: 1,
        lso_max_segments: u16::MAX,
    };

    /// No offload at all.
    pub const NONE: Self = Self {
        offloads: OffloadCaps::empty(),
        lso_max_size: 0,
        lso_min_segments: 0,
        lso_max_segments: 0,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_operations() {
        let c = OffloadCaps::OUTER_IPV4_CSUM | OffloadCaps::LSO_INNER_TCP4;
        assert!(c.contains(OffloadCaps::OUTER_IPV4_CSUM));
        assert!(!c.contains(OffloadCaps::OUTER_IPV4_CSUM | OffloadCaps::VMQ));
        assert!(c.intersects(OffloadCaps::LSO_INNER_TCP4 | OffloadCaps::VMQ));
        assert_eq!(
            c.difference(OffloadCaps::LSO_INNER_TCP4),
            OffloadCaps::OUTER_IPV4_CSUM
        );
        assert_eq!((!c) & c, OffloadCaps::empty());
        assert_eq!(OffloadCaps::from_bits_truncate(u32::MAX), OffloadCaps::ALL);
        assert!(OffloadCaps::ALL.contains(OffloadCaps::ALL_CSUM | OffloadCaps::ALL_RSS_TYPES));
        assert!(!OffloadCaps::ALL_CSUM.intersects(OffloadCaps::ALL_RSS_TYPES));
    }

    #[test]
    fn debug_names_every_bit() {
        extern crate std;
        use std::format;
        let s = format!("{:?}", OffloadCaps::INNER_IPV4_CSUM | OffloadCaps::VMQ_VSID);
        assert_eq!(s, "OffloadCaps(INNER_IPV4_CSUM | VMQ_VSID)");
        let all = format!("{:?}", OffloadCaps::ALL);
        for n in NAMES {
            assert!(all.contains(n), "{n}");
        }
    }
}
