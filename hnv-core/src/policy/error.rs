//! Policy problems: one typed, `Copy` value per broken rule, naming the record (array and
//! index) and the field, printed like `LookupRecords[3].VirtualSubnetID: 4095 is below 4096`.

use core::fmt;
use core::net::IpAddr;

use super::prefix::{Prefix, PrefixError, Rdid};
use crate::ids::MacAddr;

/// The top-level arrays of a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Array {
    /// `LookupRecords`.
    LookupRecords,
    /// `CustomerRoutes`.
    CustomerRoutes,
    /// `ProviderAddresses`.
    ProviderAddresses,
    /// `ProviderRoutes`.
    ProviderRoutes,
    /// `Hosts`.
    Hosts,
}

impl Array {
    /// The policy-file name of the array.
    pub const fn name(self) -> &'static str {
        match self {
            Self::LookupRecords => "LookupRecords",
            Self::CustomerRoutes => "CustomerRoutes",
            Self::ProviderAddresses => "ProviderAddresses",
            Self::ProviderRoutes => "ProviderRoutes",
            Self::Hosts => "Hosts",
        }
    }
}

/// Arrays nested inside a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostArray {
    /// `Ports`.
    Ports,
    /// `Neighbors`.
    Neighbors,
    /// `ProviderAddresses`.
    ProviderAddresses,
}

impl HostArray {
    /// The policy-file name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Ports => "Ports",
            Self::Neighbors => "Neighbors",
            Self::ProviderAddresses => "ProviderAddresses",
        }
    }
}

/// A field, by its policy-file (PowerShell) name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Field {
    CustomerAddress,
    VirtualSubnetID,
    MACAddress,
    ProviderAddress,
    Rule,
    Type,
    UseVmMACAddress,
    RoutingDomainID,
    DestinationPrefix,
    NextHop,
    Metric,
    PrefixLength,
    VlanID,
    Name,
    MTU,
    UplinkMACAddress,
    GatewayMACAddress,
    IPAddress,
    /// The element itself (e.g. an entry of a host's `ProviderAddresses`).
    Value,
}

impl Field {
    /// The policy-file name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::CustomerAddress => "CustomerAddress",
            Self::VirtualSubnetID => "VirtualSubnetID",
            Self::MACAddress => "MACAddress",
            Self::ProviderAddress => "ProviderAddress",
            Self::Rule => "Rule",
            Self::Type => "Type",
            Self::UseVmMACAddress => "UseVmMACAddress",
            Self::RoutingDomainID => "RoutingDomainID",
            Self::DestinationPrefix => "DestinationPrefix",
            Self::NextHop => "NextHop",
            Self::Metric => "Metric",
            Self::PrefixLength => "PrefixLength",
            Self::VlanID => "VlanID",
            Self::Name => "Name",
            Self::MTU => "Uplink.MTU",
            Self::UplinkMACAddress => "Uplink.MACAddress",
            Self::GatewayMACAddress => "GatewayMACAddress",
            Self::IPAddress => "IPAddress",
            Self::Value => "",
        }
    }
}

/// Where a problem is: `Array[index]`, optionally `.HostArray[index]`, then `.Field`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Location {
    /// Top-level array.
    pub array: Array,
    /// Index in it.
    pub index: usize,
    /// Nested array of a host, with the index in it.
    pub nested: Option<(HostArray, usize)>,
    /// The field.
    pub field: Field,
}

impl Location {
    /// `array[index].field`.
    pub const fn at(array: Array, index: usize, field: Field) -> Self {
        Self {
            array,
            index,
            nested: None,
            field,
        }
    }

    /// `Hosts[host].nested[index].field`.
    pub const fn in_host(host: usize, nested: HostArray, index: usize, field: Field) -> Self {
        Self {
            array: Array::Hosts,
            index: host,
            nested: Some((nested, index)),
            field,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]", self.array.name(), self.index)?;
        if let Some((a, i)) = self.nested {
            write!(f, ".{}[{}]", a.name(), i)?;
        }
        match self.field {
            Field::Value => Ok(()),
            field => write!(f, ".{}", field.name()),
        }
    }
}

/// What is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Problem {
    /// VSID below 4096 (reserved; the VLAN range).
    VsidBelowRange(u32),
    /// VSID above 16_777_214.
    VsidAboveRange(u32),
    /// A port VSID of 0 would not be virtualized but is listed for virtualization, or a
    /// reserved non-zero value.
    PortVsidReserved(u32),
    /// The VSID already belongs to another routing domain (by a customer route).
    VsidInTwoRoutingDomains {
        /// The VSID.
        vsid: u32,
        /// The routing domain it was first seen in.
        first: Rdid,
        /// The other one.
        second: Rdid,
    },
    /// The VSID of a record has no customer route, so no routing domain.
    VsidWithoutRoutingDomain(u32),
    /// The CA is already used in this routing domain by an earlier record.
    DuplicateCustomerAddress {
        /// The CA.
        ca: IpAddr,
        /// Index of the earlier record.
        first: usize,
    },
    /// The MAC is already used in this routing domain by an earlier record.
    DuplicateMac {
        /// The MAC.
        mac: MacAddr,
        /// Index of the earlier record.
        first: usize,
    },
    /// The routing domain already has CAs of the other address family.
    MixedAddressFamilies {
        /// The routing domain.
        rdid: Rdid,
    },
    /// The CA is the `.1` of an on-link prefix of its routing domain, reserved for the
    /// distributed router's gateway.
    GatewayAddressUsed {
        /// The CA.
        ca: IpAddr,
        /// The on-link prefix whose first address it is.
        prefix: Prefix,
    },
    /// L2Only and GatewayWildcard records carry the unspecified CA.
    WildcardNeedsUnspecifiedCa(IpAddr),
    /// A Static/Dynamic record cannot have the unspecified CA.
    UnspecifiedCa,
    /// UseVmMACAddress is only meaningful with the Nat rule.
    UseVmMacWithoutNat,
    /// A Nat record's PA is also used by another record (index).
    NatPaShared {
        /// The PA.
        pa: IpAddr,
        /// Index of the other record.
        other: usize,
    },
    /// A prefix is malformed.
    BadPrefix(PrefixError),
    /// The next hop is not inside any on-link prefix of the routing domain (customer
    /// route), or of the provider network (provider route).
    NextHopUnreachable(IpAddr),
    /// Next hop and destination are of different address families.
    NextHopFamily(IpAddr),
    /// A MAC that must be unicast is multicast, broadcast or zero.
    NotUnicastMac(MacAddr),
    /// A port's VSID and MAC match no lookup record for one of the host's PAs.
    PortWithoutRecord {
        /// The port's VSID.
        vsid: u32,
        /// The port's MAC.
        mac: MacAddr,
    },
    /// Two ports of a host share a MAC in the same VSID.
    DuplicatePortMac(MacAddr),
    /// Two hosts or two ports share a name.
    DuplicateName,
    /// Two hosts claim the same PA.
    PaOwnedTwice(IpAddr),
    /// Prefix length beyond the address family (32 / 128).
    PrefixLengthTooLong(u8),
    /// VLAN ID beyond 4094.
    VlanOutOfRange(u16),
    /// MTU too small to carry NVGRE and a minimal inner frame (IPv6 needs 1280).
    MtuTooSmall(u16),
    /// A PA is the unspecified, multicast or loopback address.
    BadProviderAddress(IpAddr),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::VsidBelowRange(v) => write!(f, "{v} is below 4096"),
            Self::VsidAboveRange(v) => write!(f, "{v} is above 16777214"),
            Self::PortVsidReserved(v) => write!(f, "{v} is reserved (use 0 or 4096..=16777214)"),
            Self::VsidInTwoRoutingDomains { vsid, first, second } => {
                write!(f, "VSID {vsid} is in routing domain {first} and in {second}")
            }
            Self::VsidWithoutRoutingDomain(v) => {
                write!(f, "VSID {v} has no customer route, so no routing domain")
            }
            Self::DuplicateCustomerAddress { ca, first } => {
                write!(f, "{ca} is already used in this routing domain by LookupRecords[{first}]")
            }
            Self::DuplicateMac { mac, first } => {
                write!(f, "{mac} is already used in this routing domain by LookupRecords[{first}]")
            }
            Self::MixedAddressFamilies { rdid } => {
                write!(f, "routing domain {rdid} mixes IPv4 and IPv6 customer addresses")
            }
            Self::GatewayAddressUsed { ca, prefix } => {
                write!(f, "{ca} is the gateway (first address) of {prefix}, reserved for HNV")
            }
            Self::WildcardNeedsUnspecifiedCa(ca) => {
                write!(f, "{ca}: L2Only and GatewayWildcard records use 0.0.0.0 or ::")
            }
            Self::UnspecifiedCa => f.write_str("the unspecified address is only for L2Only/GatewayWildcard records"),
            Self::UseVmMacWithoutNat => f.write_str("true is only allowed with Rule TranslationMethodNat"),
            Self::NatPaShared { pa, other } => {
                write!(f, "{pa} is also used by LookupRecords[{other}]; IP rewrite needs one PA per CA")
            }
            Self::BadPrefix(e) => write!(f, "{e}"),
            Self::NextHopUnreachable(a) => write!(f, "{a} is not inside any on-link prefix"),
            Self::NextHopFamily(a) => write!(f, "{a} is not of the destination's address family"),
            Self::NotUnicastMac(m) => write!(f, "{m} is not a unicast MAC address"),
            Self::PortWithoutRecord { vsid, mac } => write!(
                f,
                "no lookup record with VirtualSubnetID {vsid} and MACAddress {mac} for a provider address of this host"
            ),
            Self::DuplicatePortMac(m) => write!(f, "{m} is used by another port of this host in this VSID"),
            Self::DuplicateName => f.write_str("name already used"),
            Self::PaOwnedTwice(a) => write!(f, "{a} is owned by another host too"),
            Self::PrefixLengthTooLong(l) => write!(f, "{l} is longer than the address"),
            Self::VlanOutOfRange(v) => write!(f, "{v} is above 4094"),
            Self::MtuTooSmall(m) => write!(f, "{m} is too small"),
            Self::BadProviderAddress(a) => write!(f, "{a} cannot be a provider address"),
        }
    }
}

/// One broken rule of a policy: where and what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PolicyError {
    /// Where.
    pub at: Location,
    /// What.
    pub problem: Problem,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.problem)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for PolicyError {}
