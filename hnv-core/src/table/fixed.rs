//! [`FixedTables`]: the data-plane tables of one host in fixed capacity, no allocation.
//!
//! It answers the [`LookupTable`], [`RouteTable`] and [`NeighborTable`] queries exactly
//! as `Tables` (feature `alloc`) does for the same policy, from inline storage whose size
//! is fixed by const parameters: [`FixedMap`]s for the exact-match keys, [`FixedLpm`]s
//! for routes and `heapless` vectors for the record arena and the per-subnet PA lists.
//! Firmware that receives its policy over its own control channel fills it record by
//! record ([`FixedTables::add_customer_route`], [`FixedTables::add_record`], ...); with
//! `alloc`, `FixedTables::compile` fills it from a validated `Policy`.
//!
//! Every `add_*` either succeeds or returns a [`FillError`] and leaves the tables as they
//! were: a full part is [`FillError::Full`] naming the part, never a panic.
//!
//! Fill order matters the way it does for `Tables::compile`: own PAs before the records
//! (a record is *local* when its PA is one of them), customer routes before the records
//! of their subnets (a record is kept only when its VSID is one of this host's subnets,
//! or when it is a Nat record), and among routes for one prefix the lowest metric wins,
//! then the first added.

use core::fmt;
use core::net::IpAddr;

use super::exact::{CaKey, ExactMap, FixedMap, MacKey, PaKey, VsidKey};
use super::lpm::{FixedLpm, PrefixTable};
use crate::ids::{MacAddr, Vsid};
use crate::policy::{
    LookupEntry, LookupTable, NeighborTable, Prefix, ProviderRouteEntry, Rdid, RecordType,
    RouteEntry, RouteTable, Rule, SubnetInfo,
};
use crate::switch::PortId;

/// The part of a [`FixedTables`] that had no room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    /// Lookup records (`RECORDS`).
    Records,
    /// Virtual subnets (`SUBNETS`).
    Subnets,
    /// Routing domains (`DOMAINS`).
    RoutingDomains,
    /// Customer routes of one routing domain (`ROUTES`).
    CustomerRoutes,
    /// Provider routes (`ROUTES`).
    ProviderRoutes,
    /// A subnet's list of remote PAs, L2Only PAs or gateway records (`PAS` each).
    SubnetList,
    /// Provider-network neighbours (`PAS` slots).
    Neighbors,
    /// The host's own PAs (`PAS`).
    OwnPas,
    /// VM ports ([`PORT_CAPACITY`]).
    Ports,
}

/// Why a [`FixedTables`] refused an addition. The tables are unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FillError {
    /// This part is at its fixed capacity.
    Full(Part),
    /// The VSID was added to another routing domain before (a valid policy puts each VSID
    /// in exactly one).
    VsidInOtherDomain(Vsid),
}

impl fmt::Display for FillError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(part) => write!(f, "fixed table is full: {part:?}"),
            Self::VsidInOtherDomain(v) => write!(f, "VSID {v} is in another routing domain"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for FillError {}

/// A virtual subnet in a [`FixedTables`]: its routing domain and replication lists of at
/// most `PAS` entries each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedSubnet<const PAS: usize> {
    rdid: Rdid,
    rdid_index: u32,
    remote_pas: heapless::Vec<IpAddr, PAS>,
    l2only_pas: heapless::Vec<IpAddr, PAS>,
    gateways: heapless::Vec<u32, PAS>,
}

impl<const PAS: usize> SubnetInfo for FixedSubnet<PAS> {
    fn rdid(&self) -> Rdid {
        self.rdid
    }

    fn rdid_index(&self) -> u32 {
        self.rdid_index
    }

    fn remote_pas(&self) -> &[IpAddr] {
        &self.remote_pas
    }

    fn l2only_pas(&self) -> &[IpAddr] {
        &self.l2only_pas
    }

    fn gateways(&self) -> &[u32] {
        &self.gateways
    }
}

/// True when `v` holds `x` already or has room for it.
fn fits<T: PartialEq, const N: usize>(v: &heapless::Vec<T, N>, x: &T) -> bool {
    v.contains(x) || !v.is_full()
}

/// Adds `x` unless held; callers check [`fits`] first.
fn push_unique<T: PartialEq, const N: usize>(v: &mut heapless::Vec<T, N>, x: T) {
    if !v.contains(&x) {
        let _ = v.push(x);
    }
}

/// One host's data-plane tables in fixed capacity; never allocates.
///
/// The const parameters bound each part (a full part is [`FillError::Full`]):
///
/// | parameter | bounds |
/// |---|---|
/// | `RECORDS` | lookup records: ⌊7·`RECORDS`/8⌋ ([`Self::RECORD_CAPACITY`]); each exact-match index (CA, MAC, Nat PA) has `RECORDS` slots |
/// | `SUBNETS` | virtual subnets: ⌊7·`SUBNETS`/8⌋ |
/// | `DOMAINS` | routing domains |
/// | `ROUTES` | customer routes (distinct prefixes) per routing domain, and provider routes |
/// | `PAS` | own PAs; each subnet's remote-PA, L2Only-PA and gateway lists; neighbour slots (⌊7·`PAS`/8⌋ neighbours) |
///
/// `RECORDS`, `SUBNETS` and `PAS` must be at least 2 ([`FixedMap`]'s bound, checked at
/// compile time). The whole value is inline: put a large one in a `static` or a `Box`.
///
/// ```
/// use hnv_core::ids::{MacAddr, Vsid};
/// use hnv_core::policy::{LookupEntry, LookupTable, RecordType, RouteTable, Rule};
/// use hnv_core::table::fixed::{FillError, FixedTables, Part};
///
/// let mut t: FixedTables<8, 4, 1, 4, 4> = FixedTables::new();
/// let vsid = Vsid::new(5001).unwrap();
/// let rdid = "{11111111-2222-3333-4444-000000000000}".parse().unwrap();
/// t.add_own_pa("192.168.4.11".parse().unwrap()).unwrap();
/// t.add_customer_route(rdid, vsid, "10.0.0.0/24".parse().unwrap(), None, 0).unwrap();
/// let vm = |i: u8| LookupEntry {
///     ca: [10, 0, 0, i].into(),
///     vsid,
///     mac: MacAddr([0, 0x15, 0x5d, 0, 0, i]),
///     pa: "192.168.4.22".parse().unwrap(),
///     rule: Rule::Encap,
///     record_type: RecordType::Static,
///     use_vm_mac: false,
/// };
/// for i in 2..9 {
///     assert_eq!(t.add_record(vm(i)), Ok(true));
/// }
/// assert_eq!(t.add_record(vm(9)), Err(FillError::Full(Part::Records)));
/// assert_eq!(t.by_ca(vsid, [10, 0, 0, 5].into()).unwrap().mac, MacAddr([0, 0x15, 0x5d, 0, 0, 5]));
/// assert_eq!(t.customer_route(0, [10, 0, 0, 9].into()).unwrap().vsid, vsid);
/// ```
#[derive(Debug, Clone)]
pub struct FixedTables<
    const RECORDS: usize,
    const SUBNETS: usize,
    const DOMAINS: usize,
    const ROUTES: usize,
    const PAS: usize,
> {
    own_pas: heapless::Vec<IpAddr, PAS>,
    records: heapless::Vec<LookupEntry, RECORDS>,
    by_ca: FixedMap<CaKey, u32, RECORDS>,
    by_mac: FixedMap<MacKey, u32, RECORDS>,
    by_pa: FixedMap<PaKey, u32, RECORDS>,
    subnets: FixedMap<VsidKey, FixedSubnet<PAS>, SUBNETS>,
    domains: heapless::Vec<(Rdid, FixedLpm<RouteEntry, ROUTES>), DOMAINS>,
    provider_routes: FixedLpm<ProviderRouteEntry, ROUTES>,
    neighbors: FixedMap<PaKey, MacAddr, PAS>,
    uplink_mac: MacAddr,
    uplink_mtu: u16,
    gateway_mac: MacAddr,
    /// VLAN ID of each own PA on a VLAN.
    pa_vlans: heapless::Vec<(IpAddr, u16), PAS>,
    /// MAC and VSID (`None`: not virtualized) of each VM port, by [`PortId`].
    ports: heapless::Vec<(MacAddr, Option<Vsid>), PORT_CAPACITY>,
}

/// Most VM ports a [`FixedTables`] holds (about 12 bytes each).
pub const PORT_CAPACITY: usize = 256;

/// The uplink MTU of new [`FixedTables`] until [`FixedTables::set_uplink`] says otherwise.
pub const DEFAULT_MTU: u16 = 1500;

impl<
        const RECORDS: usize,
        const SUBNETS: usize,
        const DOMAINS: usize,
        const ROUTES: usize,
        const PAS: usize,
    > Default for FixedTables<RECORDS, SUBNETS, DOMAINS, ROUTES, PAS>
{
    fn default() -> Self {
        Self::new()
    }
}

impl<
        const RECORDS: usize,
        const SUBNETS: usize,
        const DOMAINS: usize,
        const ROUTES: usize,
        const PAS: usize,
    > FixedTables<RECORDS, SUBNETS, DOMAINS, ROUTES, PAS>
{
    /// Most lookup records: ⌊7·`RECORDS`/8⌋, so each exact-match index keeps one slot in
    /// eight free and can never be the part that is full.
    pub const RECORD_CAPACITY: usize = FixedMap::<CaKey, u32, RECORDS>::CAPACITY;

    /// Empty tables.
    pub const fn new() -> Self {
        Self {
            own_pas: heapless::Vec::new(),
            records: heapless::Vec::new(),
            by_ca: FixedMap::new(),
            by_mac: FixedMap::new(),
            by_pa: FixedMap::new(),
            subnets: FixedMap::new(),
            domains: heapless::Vec::new(),
            provider_routes: FixedLpm::new(),
            neighbors: FixedMap::new(),
            uplink_mac: MacAddr([0; 6]),
            uplink_mtu: DEFAULT_MTU,
            gateway_mac: MacAddr([0; 6]),
            pa_vlans: heapless::Vec::new(),
            ports: heapless::Vec::new(),
        }
    }

    /// Puts own PA `pa` on VLAN `vlan` (frames sent from it carry an 802.1Q tag; 0 removes
    /// it).
    pub fn set_pa_vlan(&mut self, pa: IpAddr, vlan: u16) -> Result<(), FillError> {
        self.pa_vlans.retain(|(a, _)| *a != pa);
        if vlan == 0 {
            return Ok(());
        }
        self.pa_vlans
            .push((pa, vlan))
            .map_err(|_| FillError::Full(Part::OwnPas))
    }

    /// The VLAN ID of own PA `pa`, if it is on one.
    pub fn pa_vlan(&self, pa: IpAddr) -> Option<u16> {
        self.pa_vlans
            .iter()
            .find(|(a, _)| *a == pa)
            .map(|&(_, v)| v)
    }

    /// Sets the uplink's MAC (outer source MAC, the answer to ARP / ND for own PAs) and
    /// MTU (the largest outer IP packet).
    pub fn set_uplink(&mut self, mac: MacAddr, mtu: u16) {
        self.uplink_mac = mac;
        self.uplink_mtu = mtu;
    }

    /// Sets the MAC the switch answers for every virtual subnet's `.1` gateway.
    pub fn set_gateway_mac(&mut self, mac: MacAddr) {
        self.gateway_mac = mac;
    }

    /// Adds a VM port with `mac` on `vsid` (`None`: not virtualized, frames pass through
    /// untouched); ports are numbered in the order added.
    pub fn add_port(&mut self, mac: MacAddr, vsid: Option<Vsid>) -> Result<PortId, FillError> {
        let id = PortId(self.ports.len() as u16);
        self.ports
            .push((mac, vsid))
            .map_err(|_| FillError::Full(Part::Ports))?;
        Ok(id)
    }

    /// The uplink's MAC.
    pub fn uplink_mac(&self) -> MacAddr {
        self.uplink_mac
    }

    /// The uplink's MTU.
    pub fn uplink_mtu(&self) -> u16 {
        self.uplink_mtu
    }

    /// The gateway MAC.
    pub fn gateway_mac(&self) -> MacAddr {
        self.gateway_mac
    }

    /// MAC and VSID of each port, by [`PortId`] index.
    pub fn ports(&self) -> &[(MacAddr, Option<Vsid>)] {
        &self.ports
    }

    /// Removes everything.
    pub fn clear(&mut self) {
        *self = Self::new();
    }

    /// Declares `pa` one of this host's provider addresses (records on it are local).
    pub fn add_own_pa(&mut self, pa: IpAddr) -> Result<(), FillError> {
        if !fits(&self.own_pas, &pa) {
            return Err(FillError::Full(Part::OwnPas));
        }
        push_unique(&mut self.own_pas, pa);
        Ok(())
    }

    /// This host's provider addresses.
    pub fn own_pas(&self) -> &[IpAddr] {
        &self.own_pas
    }

    /// True when `pa` belongs to this host.
    pub fn owns_pa(&self, pa: IpAddr) -> bool {
        self.own_pas.contains(&pa)
    }

    /// The dense index of routing domain `rdid`, adding it when new. Indices count from 0
    /// in the order domains are first added.
    pub fn add_routing_domain(&mut self, rdid: Rdid) -> Result<u32, FillError> {
        if let Some(i) = self.domain_index(rdid) {
            return Ok(i);
        }
        let i = self.domains.len() as u32;
        self.domains
            .push((rdid, FixedLpm::new()))
            .map_err(|_| FillError::Full(Part::RoutingDomains))?;
        Ok(i)
    }

    fn domain_index(&self, rdid: Rdid) -> Option<u32> {
        let i = self.domains.iter().position(|(r, _)| *r == rdid)?;
        Some(i as u32)
    }

    /// Adds a customer route of `vsid` in routing domain `rdid` (`next_hop` `None` when
    /// on-link) and makes `vsid` one of this host's subnets. Adds the routing domain when
    /// new.
    pub fn add_customer_route(
        &mut self,
        rdid: Rdid,
        vsid: Vsid,
        prefix: Prefix,
        next_hop: Option<IpAddr>,
        metric: u32,
    ) -> Result<(), FillError> {
        let key = VsidKey::new(vsid);
        let known = self.domain_index(rdid);
        if known.is_none() && self.domains.is_full() {
            return Err(FillError::Full(Part::RoutingDomains));
        }
        match self.subnets.get(&key) {
            Some(s) if s.rdid != rdid => return Err(FillError::VsidInOtherDomain(vsid)),
            None if self.subnets.len() >= self.subnets.capacity() => {
                return Err(FillError::Full(Part::Subnets));
            }
            Some(_) | None => {}
        }
        let entry = RouteEntry {
            vsid,
            prefix,
            next_hop,
            metric,
        };
        let index = match known {
            Some(i) => i,
            None => self.add_routing_domain(rdid)?,
        };
        let inserted = self
            .domains
            .get_mut(index as usize)
            .map(|(_, lpm)| lpm.insert(prefix, metric, entry));
        if inserted != Some(Ok(())) {
            if known.is_none() {
                self.domains.pop();
            }
            return Err(FillError::Full(Part::CustomerRoutes));
        }
        if self.subnets.get(&key).is_none() {
            let subnet = FixedSubnet {
                rdid,
                rdid_index: index,
                remote_pas: heapless::Vec::new(),
                l2only_pas: heapless::Vec::new(),
                gateways: heapless::Vec::new(),
            };
            // Room was checked above.
            let _ = self.subnets.insert(key, subnet);
        }
        Ok(())
    }

    /// Adds a lookup record. Returns `Ok(false)` (nothing stored) when the record's VSID is
    /// not one of this host's subnets and it is not a Nat record — the records a host
    /// does not need. A kept record is found by (VSID, CA) (a later record replaces an
    /// earlier one with the same key), by (VSID, MAC) (the first one keeps the MAC) and,
    /// for Nat, by PA; L2Only and GatewayWildcard records go only into their subnet's
    /// lists. A record on a PA that is not this host's adds that PA to the subnet's
    /// remote PAs.
    pub fn add_record(&mut self, rec: LookupEntry) -> Result<bool, FillError> {
        let key = VsidKey::new(rec.vsid);
        let local = self.owns_pa(rec.pa);
        let subnet = self.subnets.get(&key);
        if subnet.is_none() && rec.rule != Rule::Nat {
            return Ok(false);
        }
        if self.records.len() >= Self::RECORD_CAPACITY {
            return Err(FillError::Full(Part::Records));
        }
        let idx = self.records.len() as u32;
        let gateway = rec.record_type == RecordType::GatewayWildcard;
        if let Some(s) = subnet {
            let room = match rec.record_type {
                RecordType::L2Only => fits(&s.l2only_pas, &rec.pa),
                RecordType::GatewayWildcard => !s.gateways.is_full(),
                RecordType::Static | RecordType::Dynamic => true,
            } && (local || gateway || fits(&s.remote_pas, &rec.pa));
            if !room {
                return Err(FillError::Full(Part::SubnetList));
            }
        }
        if self.records.push(rec).is_err() {
            return Err(FillError::Full(Part::Records));
        }
        if let Some(s) = self.subnets.get_mut(&key) {
            match rec.record_type {
                RecordType::L2Only => push_unique(&mut s.l2only_pas, rec.pa),
                RecordType::GatewayWildcard => {
                    let _ = s.gateways.push(idx);
                }
                RecordType::Static | RecordType::Dynamic => {}
            }
            if !local && !gateway {
                push_unique(&mut s.remote_pas, rec.pa);
            }
        }
        if rec.record_type == RecordType::GatewayWildcard {
            return Ok(true);
        }
        // Each record adds at most one key to each index, and the indices have more slots
        // than RECORD_CAPACITY, so none of these inserts can be refused. An L2Only record
        // has no CA (0.0.0.0 / ::) and is found by its MAC only.
        if rec.record_type != RecordType::L2Only {
            let _ = self.by_ca.insert(CaKey::new(rec.vsid, rec.ca), idx);
        }
        let mac = MacKey::new(rec.vsid, rec.mac);
        if self.by_mac.get(&mac).is_none() {
            let _ = self.by_mac.insert(mac, idx);
        }
        if rec.rule == Rule::Nat {
            let _ = self.by_pa.insert(PaKey::new(rec.pa), idx);
        }
        Ok(true)
    }

    /// Adds a provider route (`next_hop` `None` when on-link). The on-link route of an own
    /// PA's subnet is `add_provider_route(subnet, None, u32::MAX)`, added before the
    /// configured provider routes.
    pub fn add_provider_route(
        &mut self,
        prefix: Prefix,
        next_hop: Option<IpAddr>,
        metric: u32,
    ) -> Result<(), FillError> {
        let entry = ProviderRouteEntry {
            prefix,
            next_hop,
            metric,
        };
        self.provider_routes
            .insert(prefix, metric, entry)
            .map_err(|_| FillError::Full(Part::ProviderRoutes))
    }

    /// Adds (or replaces) a static provider-network neighbour.
    pub fn add_neighbor(&mut self, ip: IpAddr, mac: MacAddr) -> Result<(), FillError> {
        self.neighbors
            .insert(PaKey::new(ip), mac)
            .map(|_| ())
            .map_err(|_| FillError::Full(Part::Neighbors))
    }

    /// Every lookup record held, in the order added (the index is [`LookupTable::record`]'s).
    pub fn records(&self) -> &[LookupEntry] {
        &self.records
    }

    /// Routing domains by dense index.
    pub fn routing_domains(&self) -> impl Iterator<Item = Rdid> + '_ {
        self.domains.iter().map(|(r, _)| *r)
    }
}

impl<
        const RECORDS: usize,
        const SUBNETS: usize,
        const DOMAINS: usize,
        const ROUTES: usize,
        const PAS: usize,
    > LookupTable for FixedTables<RECORDS, SUBNETS, DOMAINS, ROUTES, PAS>
{
    type Subnet = FixedSubnet<PAS>;

    fn by_ca(&self, vsid: Vsid, ca: IpAddr) -> Option<&LookupEntry> {
        let i = *self.by_ca.get(&CaKey::new(vsid, ca))?;
        self.records.get(i as usize)
    }

    fn by_mac(&self, vsid: Vsid, mac: MacAddr) -> Option<&LookupEntry> {
        let i = *self.by_mac.get(&MacKey::new(vsid, mac))?;
        self.records.get(i as usize)
    }

    crate::table::exact::mac_look_ahead!();

    fn by_pa(&self, pa: IpAddr) -> Option<&LookupEntry> {
        let i = *self.by_pa.get(&PaKey::new(pa))?;
        self.records.get(i as usize)
    }

    fn vsid(&self, vsid: Vsid) -> Option<&FixedSubnet<PAS>> {
        self.subnets.get(&VsidKey::new(vsid))
    }

    fn record(&self, index: u32) -> Option<&LookupEntry> {
        self.records.get(index as usize)
    }
}

impl<
        const RECORDS: usize,
        const SUBNETS: usize,
        const DOMAINS: usize,
        const ROUTES: usize,
        const PAS: usize,
    > RouteTable for FixedTables<RECORDS, SUBNETS, DOMAINS, ROUTES, PAS>
{
    fn customer_route(&self, rdid_index: u32, dst: IpAddr) -> Option<&RouteEntry> {
        self.domains.get(rdid_index as usize)?.1.lookup(dst)
    }

    fn provider_route(&self, dst: IpAddr) -> Option<&ProviderRouteEntry> {
        self.provider_routes.lookup(dst)
    }
}

impl<
        const RECORDS: usize,
        const SUBNETS: usize,
        const DOMAINS: usize,
        const ROUTES: usize,
        const PAS: usize,
    > NeighborTable for FixedTables<RECORDS, SUBNETS, DOMAINS, ROUTES, PAS>
{
    fn neighbor(&self, ip: IpAddr) -> Option<MacAddr> {
        self.neighbors.get(&PaKey::new(ip)).copied()
    }
}
