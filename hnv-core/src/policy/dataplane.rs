//! What the data path reads, without allocation: the record kinds, the entries a lookup
//! returns and the table traits ([`LookupTable`], [`RouteTable`], [`NeighborTable`]).
//!
//! Two implementations answer the same queries: `Tables` (feature `alloc`), compiled from
//! a policy and sized for scale, and [`crate::table::fixed::FixedTables`], fixed capacity
//! and filled without allocating.

use core::fmt;
use core::net::IpAddr;

use super::prefix::{Prefix, Rdid};
use crate::ids::{MacAddr, Vsid};

/// `-Rule` of a lookup record: how packets of this CA are virtualized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Rule {
    /// `TranslationMethodEncap`: NVGRE encapsulation.
    #[default]
    Encap,
    /// `TranslationMethodNat`: IP rewrite, CA ↔ PA.
    Nat,
    /// `TranslationMethodNone`: not virtualized.
    None,
}

impl Rule {
    /// The PowerShell enum name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Encap => "TranslationMethodEncap",
            Self::Nat => "TranslationMethodNat",
            Self::None => "TranslationMethodNone",
        }
    }
}

/// `-Type` of a lookup record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RecordType {
    /// Provisioned by the control plane.
    #[default]
    Static,
    /// Learned by the data path (dynamic IP address learning).
    Dynamic,
    /// Dynamic IP address learning for the VM with this MAC on this PA: its CAs are not
    /// provisioned; unknown CAs of the VSID are resolved by unicast ARP/ND to every PA
    /// with such a record, and the answers become Dynamic records. CA is `0.0.0.0` / `::`.
    L2Only,
    /// Off-subnet traffic goes to this gateway. CA is `0.0.0.0` / `::`.
    GatewayWildcard,
}

impl RecordType {
    /// The PowerShell enum name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Static => "Static",
            Self::Dynamic => "Dynamic",
            Self::L2Only => "L2Only",
            Self::GatewayWildcard => "GatewayWildcard",
        }
    }

    /// True for the kinds whose CA must be the unspecified address.
    pub const fn is_wildcard(self) -> bool {
        matches!(self, Self::L2Only | Self::GatewayWildcard)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One lookup record as the data path reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LookupEntry {
    /// Customer address (unspecified for L2Only / GatewayWildcard).
    pub ca: IpAddr,
    /// Virtual subnet.
    pub vsid: Vsid,
    /// VM MAC.
    pub mac: MacAddr,
    /// Provider address of the host running the VM.
    pub pa: IpAddr,
    /// Encap, Nat or None.
    pub rule: Rule,
    /// Static, Dynamic, L2Only or GatewayWildcard.
    pub record_type: RecordType,
    /// Keep the VM MAC on the provider network (Nat only).
    pub use_vm_mac: bool,
}

/// A customer route as the data path reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteEntry {
    /// The VSID the route belongs to (for on-link routes: the subnet holding the prefix).
    pub vsid: Vsid,
    /// Destination prefix.
    pub prefix: Prefix,
    /// `None` when on-link, else the gateway CA.
    pub next_hop: Option<IpAddr>,
    /// Metric.
    pub metric: u32,
}

/// A provider route as the data path reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderRouteEntry {
    /// Destination prefix on the provider network.
    pub prefix: Prefix,
    /// `None` when on-link, else the next-hop router.
    pub next_hop: Option<IpAddr>,
    /// Metric.
    pub metric: u32,
}

/// What the data path knows about a virtual subnet, whatever holds it (`VsidEntry` in
/// `Tables`, [`crate::table::fixed::FixedSubnet`] in `FixedTables`).
pub trait SubnetInfo {
    /// Its routing domain.
    fn rdid(&self) -> Rdid;
    /// Dense index of the routing domain in this snapshot (the `rdid_index` of
    /// [`RouteTable::customer_route`]).
    fn rdid_index(&self) -> u32;
    /// PAs of other hosts that host this VSID (targets of N-way unicast broadcast).
    fn remote_pas(&self) -> &[IpAddr];
    /// PAs holding an L2Only record in this VSID (targets of unicast ARP/ND for unknown
    /// CAs).
    fn l2only_pas(&self) -> &[IpAddr];
    /// Indices ([`LookupTable::record`]) of the GatewayWildcard records of this VSID.
    fn gateways(&self) -> &[u32];
}

/// Exact-match access to lookup records.
pub trait LookupTable {
    /// How this table describes a virtual subnet.
    type Subnet: SubnetInfo;
    /// The record for CA `ca` in `vsid`.
    fn by_ca(&self, vsid: Vsid, ca: IpAddr) -> Option<&LookupEntry>;
    /// The record for MAC `mac` in `vsid`.
    fn by_mac(&self, vsid: Vsid, mac: MacAddr) -> Option<&LookupEntry>;
    /// True when [`LookupTable::prefetch_by_mac`] and [`LookupTable::look_ahead_by_mac`]
    /// do anything (tables large enough for their lookups to miss the caches). False by
    /// default; a batch over tables that do not look ahead skips both.
    #[inline]
    fn looks_ahead(&self) -> bool {
        false
    }
    /// A hint that [`LookupTable::by_mac`] for (`vsid`, `mac`) comes soon: the first of
    /// two stages of a batch's lookups over large tables, which starts loading the index
    /// slot. A no-op by default.
    #[inline]
    fn prefetch_by_mac(&self, vsid: Vsid, mac: MacAddr) {
        let _ = (vsid, mac);
    }
    /// The second stage, once the slot of [`LookupTable::prefetch_by_mac`] has had time to
    /// arrive: `Some(i)` when [`LookupTable::record`]`(i)` is the record `by_mac(vsid, mac)`
    /// returns, with its cache lines requested. `None` (the default) says nothing: the
    /// table does not look up ahead (small tables), there is no record, or `by_mac` may
    /// answer otherwise (an implementation that lays learned records over the snapshot's
    /// L2Only ones); the caller then asks `by_mac`.
    #[inline]
    fn look_ahead_by_mac(&self, vsid: Vsid, mac: MacAddr) -> Option<u32> {
        let _ = (vsid, mac);
        None
    }
    /// The Nat record whose PA is `pa` (IP rewrite ingress).
    fn by_pa(&self, pa: IpAddr) -> Option<&LookupEntry>;
    /// What is known of `vsid` (routing domain, replication targets).
    fn vsid(&self, vsid: Vsid) -> Option<&Self::Subnet>;
    /// The record at `index` (the indices of [`SubnetInfo::gateways`]).
    fn record(&self, index: u32) -> Option<&LookupEntry>;
}

/// Longest-prefix match over customer routes (per routing domain) and provider routes.
pub trait RouteTable {
    /// Best customer route to `dst` in routing domain `rdid_index`.
    fn customer_route(&self, rdid_index: u32, dst: IpAddr) -> Option<&RouteEntry>;
    /// Best provider route to `dst`.
    fn provider_route(&self, dst: IpAddr) -> Option<&ProviderRouteEntry>;
}

/// Provider-network neighbours (static entries, later learned ones).
pub trait NeighborTable {
    /// MAC of provider-network neighbour `ip`.
    fn neighbor(&self, ip: IpAddr) -> Option<MacAddr>;
}
