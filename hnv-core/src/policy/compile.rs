//! Compilation: a validated [`Policy`] → the [`Tables`] snapshot one host's data path reads.
//!
//! A host keeps the records of every routing domain one of its ports belongs to (plus
//! every Nat record, found by PA on ingress); records of other routing domains, other
//! hosts' ports and neighbours are left out.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::IpAddr;

pub use super::dataplane::{
    LookupEntry, LookupTable, NeighborTable, ProviderRouteEntry, RouteEntry, RouteTable, SubnetInfo,
};
use super::error::PolicyError;
use super::prefix::{Prefix, Rdid};
use super::records::{CustomerRoute, Host, LookupRecord, Policy, RecordType, Rule};
use super::validate::validate;
use crate::ids::{MacAddr, Vsid};
use crate::table::exact::{CaKey, ExactMap, GrowMap, MacKey, PaKey, VsidKey};
use crate::table::fixed::{FillError, FixedTables};
use crate::table::lpm::{Lpm, LpmBuilder, PrefixTable};

/// What the data path knows about a virtual subnet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VsidEntry {
    /// Its routing domain.
    pub rdid: Rdid,
    /// Dense index of the routing domain in this snapshot.
    pub rdid_index: u32,
    /// PAs of other hosts that host this VSID (targets of N-way unicast broadcast).
    pub remote_pas: Vec<IpAddr>,
    /// PAs holding an L2Only record in this VSID (targets of unicast ARP/ND for unknown CAs).
    pub l2only_pas: Vec<IpAddr>,
    /// Indices of GatewayWildcard records of this VSID.
    pub gateways: Vec<u32>,
}

/// A local VM port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortEntry {
    /// Name.
    pub name: String,
    /// MAC.
    pub mac: MacAddr,
    /// VSID, `None` when not virtualized.
    pub vsid: Option<Vsid>,
}

/// One host's compiled, immutable policy snapshot.
pub struct Tables {
    host: String,
    own_pas: Vec<IpAddr>,
    uplink_mac: MacAddr,
    uplink_mtu: u16,
    gateway_mac: MacAddr,
    /// VLAN ID of each own PA that has one (`ProviderAddresses[].VlanID` ≠ 0).
    pa_vlans: Vec<(IpAddr, u16)>,
    ports: Vec<PortEntry>,
    records: Vec<LookupEntry>,
    by_ca: GrowMap<CaKey, u32>,
    by_mac: GrowMap<MacKey, u32>,
    by_pa: GrowMap<PaKey, u32>,
    vsids: GrowMap<VsidKey, VsidEntry>,
    rdids: Vec<Rdid>,
    routes: Vec<Lpm<RouteEntry>>,
    provider_routes: Lpm<ProviderRouteEntry>,
    neighbors: GrowMap<PaKey, MacAddr>,
}

/// Why a policy could not be compiled for a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompileError {
    /// The policy breaks these rules.
    Invalid(Vec<PolicyError>),
    /// No host of that name in the policy.
    UnknownHost(String),
}

impl core::fmt::Display for CompileError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Invalid(errs) => {
                for (i, e) in errs.iter().enumerate() {
                    if i > 0 {
                        f.write_str("\n")?;
                    }
                    write!(f, "{e}")?;
                }
                Ok(())
            }
            Self::UnknownHost(h) => write!(f, "no host named {h:?} in the policy"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for CompileError {}

fn vsid_of(v: u32) -> Option<Vsid> {
    Vsid::new(v).ok()
}

impl Tables {
    /// Validates `policy` and compiles the snapshot of host `host`.
    pub fn compile(policy: &Policy, host: &str) -> Result<Self, CompileError> {
        Self::compile_advised(policy, host, |_, _| {})
    }

    /// [`Tables::compile`], calling `advise(address, bytes)` for each of the arrays that
    /// grow with the lookup records (the records, and the slot arrays of the CA and MAC
    /// indices) after it is allocated and before it is first written. The hook for a
    /// `std` user to ask the kernel for transparent huge pages (`madvise(MADV_HUGEPAGE)`):
    /// with a million records those arrays are about 130 MB, and a lookup that misses the
    /// TLB on each of them waits for page walks as well as for memory. hnv-core itself
    /// makes no system calls.
    ///
    /// ```
    /// use hnv_core::policy::{file, Tables};
    /// let policy = file::from_json(include_str!("../../../docs/examples/seed-policy.json"))?;
    /// let mut advised = 0;
    /// let tables = Tables::compile_advised(&policy, "HostA", |_addr, bytes| advised += bytes)?;
    /// assert!(advised > 0);
    /// assert_eq!(tables.records().len(), 7);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn compile_advised(
        policy: &Policy,
        host: &str,
        mut advise: impl FnMut(usize, usize),
    ) -> Result<Self, CompileError> {
        validate(policy).map_err(CompileError::Invalid)?;
        let h = policy
            .host(host)
            .ok_or_else(|| CompileError::UnknownHost(host.into()))?;
        Ok(Self::compile_valid(policy, h, &mut advise))
    }

    fn compile_valid(policy: &Policy, h: &Host, advise: &mut impl FnMut(usize, usize)) -> Self {
        let n = policy.lookup_records.len();
        let records = Vec::with_capacity(n);
        if n > 0 {
            advise(
                records.as_ptr() as usize,
                n * core::mem::size_of::<LookupEntry>(),
            );
        }
        let by_ca = GrowMap::try_with_capacity_advised(n, &mut *advise).unwrap_or_default();
        let by_mac = GrowMap::try_with_capacity_advised(n, &mut *advise).unwrap_or_default();
        let rdids = host_routing_domains(policy, h);

        let mut t = Self {
            host: h.name.clone(),
            own_pas: h.provider_addresses.clone(),
            uplink_mac: h.uplink.mac_address,
            uplink_mtu: h.uplink.mtu,
            gateway_mac: h.gateway_mac_address,
            pa_vlans: pa_vlans(policy, h).collect(),
            ports: h
                .ports
                .iter()
                .map(|p| PortEntry {
                    name: p.name.clone(),
                    mac: p.mac_address,
                    vsid: Vsid::for_port(p.virtual_subnet_id).ok().flatten(),
                })
                .collect(),
            records,
            by_ca,
            by_mac,
            by_pa: GrowMap::with_capacity(0),
            vsids: GrowMap::with_capacity(0),
            rdids: rdids.clone(),
            routes: Vec::new(),
            provider_routes: LpmBuilder::new().build(),
            neighbors: GrowMap::with_capacity(h.neighbors.len()),
        };

        // Virtual subnets of the kept routing domains (built in a BTreeMap, then frozen).
        let mut vsids: BTreeMap<u32, VsidEntry> = BTreeMap::new();
        for (vsid, idx, r) in kept_routes(policy, &rdids) {
            vsids.entry(vsid.get()).or_insert_with(|| VsidEntry {
                rdid: r.routing_domain_id,
                rdid_index: idx as u32,
                remote_pas: Vec::new(),
                l2only_pas: Vec::new(),
                gateways: Vec::new(),
            });
        }

        for rec in &policy.lookup_records {
            let Some(vsid) = vsid_of(rec.virtual_subnet_id) else {
                continue;
            };
            let keep = vsids.contains_key(&vsid.get()) || rec.rule == Rule::Nat;
            if !keep {
                continue;
            }
            let idx = t.records.len() as u32;
            t.records.push(entry_of(rec, vsid));
            let local = h.provider_addresses.contains(&rec.provider_address);
            if let Some(v) = vsids.get_mut(&vsid.get()) {
                match rec.record_type {
                    RecordType::L2Only => push_unique(&mut v.l2only_pas, rec.provider_address),
                    RecordType::GatewayWildcard => v.gateways.push(idx),
                    RecordType::Static | RecordType::Dynamic => {}
                }
                if !local && rec.record_type != RecordType::GatewayWildcard {
                    push_unique(&mut v.remote_pas, rec.provider_address);
                }
            }
            if rec.record_type == RecordType::GatewayWildcard {
                continue;
            }
            // An L2Only record has no CA (0.0.0.0 / ::) and is found by its MAC only.
            if rec.record_type != RecordType::L2Only {
                let _ = t.by_ca.insert(CaKey::new(vsid, rec.customer_address), idx);
            }
            if t.by_mac.get(&MacKey::new(vsid, rec.mac_address)).is_none() {
                let _ = t.by_mac.insert(MacKey::new(vsid, rec.mac_address), idx);
            }
            if rec.rule == Rule::Nat {
                let _ = t.by_pa.insert(PaKey::new(rec.provider_address), idx);
            }
        }

        t.vsids = GrowMap::with_capacity(vsids.len());
        for (v, entry) in vsids {
            if let Some(v) = vsid_of(v) {
                let _ = t.vsids.insert(VsidKey::new(v), entry);
            }
        }

        t.routes = customer_lpms(policy, &rdids);
        t.provider_routes = provider_lpm(policy, h);
        for n in &h.neighbors {
            let _ = t.neighbors.insert(PaKey::new(n.ip_address), n.mac_address);
        }
        t
    }

    /// The host this snapshot is for.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// PAs owned by this host.
    pub fn own_pas(&self) -> &[IpAddr] {
        &self.own_pas
    }

    /// Uplink MAC.
    pub fn uplink_mac(&self) -> MacAddr {
        self.uplink_mac
    }

    /// Uplink (provider network) MTU.
    pub fn uplink_mtu(&self) -> u16 {
        self.uplink_mtu
    }

    /// MAC_DFGW: the MAC that answers for every virtual subnet's gateway.
    pub fn gateway_mac(&self) -> MacAddr {
        self.gateway_mac
    }

    /// The VLAN ID of own PA `pa` (`New-NetVirtualizationProviderAddress -VlanID`), `None`
    /// when it has none: frames sent from that PA carry an 802.1Q tag with it.
    pub fn pa_vlan(&self, pa: IpAddr) -> Option<u16> {
        self.pa_vlans
            .iter()
            .find(|(a, _)| *a == pa)
            .map(|&(_, v)| v)
    }

    /// Local VM ports, in policy order (the index is the port id).
    pub fn ports(&self) -> &[PortEntry] {
        &self.ports
    }

    /// Every lookup record this host keeps.
    pub fn records(&self) -> &[LookupEntry] {
        &self.records
    }

    /// Routing domains of this host's ports, by dense index.
    pub fn routing_domains(&self) -> &[Rdid] {
        &self.rdids
    }

    /// True when `pa` belongs to this host.
    pub fn owns_pa(&self, pa: IpAddr) -> bool {
        self.own_pas.contains(&pa)
    }
}

/// The data-path form of a lookup record.
fn entry_of(rec: &LookupRecord, vsid: Vsid) -> LookupEntry {
    LookupEntry {
        ca: rec.customer_address,
        vsid,
        mac: rec.mac_address,
        pa: rec.provider_address,
        rule: rec.rule,
        record_type: rec.record_type,
        use_vm_mac: rec.use_vm_mac_address,
    }
}

/// Why a policy could not be compiled into a [`FixedTables`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FixedCompileError {
    /// The policy is invalid or has no such host.
    Compile(CompileError),
    /// The host's part of the policy does not fit the tables' capacity.
    Fill(FillError),
}

impl core::fmt::Display for FixedCompileError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Compile(e) => e.fmt(f),
            Self::Fill(e) => e.fmt(f),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for FixedCompileError {}

impl<
        const RECORDS: usize,
        const SUBNETS: usize,
        const DOMAINS: usize,
        const ROUTES: usize,
        const PAS: usize,
    > FixedTables<RECORDS, SUBNETS, DOMAINS, ROUTES, PAS>
{
    /// Validates `policy` and fills fixed tables for host `host` with what
    /// [`Tables::compile`] would keep; every [`LookupTable`], [`RouteTable`] and
    /// [`NeighborTable`] query then answers as on the `Tables`. The value is returned
    /// inline: for large capacities use [`FixedTables::compile_into`] on a table that
    /// lives in a `static` or a `Box`.
    pub fn compile(policy: &Policy, host: &str) -> Result<Self, FixedCompileError> {
        let mut t = Self::new();
        t.compile_into(policy, host)?;
        Ok(t)
    }

    /// [`FixedTables::compile`] into `self` (emptied first). On an error `self` is left
    /// empty.
    pub fn compile_into(&mut self, policy: &Policy, host: &str) -> Result<(), FixedCompileError> {
        self.clear();
        validate(policy).map_err(|e| FixedCompileError::Compile(CompileError::Invalid(e)))?;
        let h = policy
            .host(host)
            .ok_or_else(|| FixedCompileError::Compile(CompileError::UnknownHost(host.into())))?;
        let filled = self.fill_valid(policy, h);
        if filled.is_err() {
            self.clear();
        }
        filled.map_err(FixedCompileError::Fill)
    }

    /// The fill order of `Tables::compile_valid`: own PAs, routing domains in port order,
    /// customer routes, records, provider routes (own subnets first), neighbours; then the
    /// uplink, the gateway MAC and the ports.
    fn fill_valid(&mut self, policy: &Policy, h: &Host) -> Result<(), FillError> {
        for pa in &h.provider_addresses {
            self.add_own_pa(*pa)?;
        }
        let rdids = host_routing_domains(policy, h);
        for rdid in &rdids {
            self.add_routing_domain(*rdid)?;
        }
        for (vsid, _, r) in kept_routes(policy, &rdids) {
            let next_hop = (!r.is_on_link()).then_some(r.next_hop);
            self.add_customer_route(
                r.routing_domain_id,
                vsid,
                r.destination_prefix,
                next_hop,
                r.metric,
            )?;
        }
        for rec in &policy.lookup_records {
            if let Some(vsid) = vsid_of(rec.virtual_subnet_id) {
                self.add_record(entry_of(rec, vsid))?;
            }
        }
        for pa in &policy.provider_addresses {
            if h.provider_addresses.contains(&pa.provider_address) {
                let prefix = Prefix::truncating(pa.provider_address, pa.prefix_length);
                self.add_provider_route(prefix, None, u32::MAX)?;
            }
        }
        for r in &policy.provider_routes {
            let next_hop = (!r.next_hop.is_unspecified()).then_some(r.next_hop);
            self.add_provider_route(r.destination_prefix, next_hop, r.metric)?;
        }
        for n in &h.neighbors {
            self.add_neighbor(n.ip_address, n.mac_address)?;
        }
        for (pa, vlan) in pa_vlans(policy, h) {
            self.set_pa_vlan(pa, vlan)?;
        }
        self.set_uplink(h.uplink.mac_address, h.uplink.mtu);
        self.set_gateway_mac(h.gateway_mac_address);
        for port in &h.ports {
            let vsid = Vsid::for_port(port.virtual_subnet_id).ok().flatten();
            self.add_port(port.mac_address, vsid)?;
        }
        Ok(())
    }
}

/// (PA, VLAN ID) of the host's own PAs that are on a VLAN.
fn pa_vlans<'p>(policy: &'p Policy, h: &'p Host) -> impl Iterator<Item = (IpAddr, u16)> + 'p {
    policy
        .provider_addresses
        .iter()
        .filter(move |a| a.vlan_id != 0 && h.provider_addresses.contains(&a.provider_address))
        .map(|a| (a.provider_address, a.vlan_id))
}

/// The routing domains the host's ports are in, in port order.
fn host_routing_domains(policy: &Policy, h: &Host) -> Vec<Rdid> {
    let mut rdids: Vec<Rdid> = Vec::new();
    for port in &h.ports {
        let rdid = policy
            .customer_routes
            .iter()
            .find(|r| r.virtual_subnet_id == port.virtual_subnet_id)
            .map(|r| r.routing_domain_id);
        if let Some(r) = rdid {
            if !rdids.contains(&r) {
                rdids.push(r);
            }
        }
    }
    rdids
}

/// The customer routes of the kept routing domains, with their VSID and the routing
/// domain's dense index.
fn kept_routes<'p>(
    policy: &'p Policy,
    rdids: &'p [Rdid],
) -> impl Iterator<Item = (Vsid, usize, &'p CustomerRoute)> + 'p {
    policy.customer_routes.iter().filter_map(move |r| {
        let vsid = vsid_of(r.virtual_subnet_id)?;
        let idx = rdids.iter().position(|x| *x == r.routing_domain_id)?;
        Some((vsid, idx, r))
    })
}

/// One customer-route LPM per kept routing domain, indexed like `rdids`.
fn customer_lpms(policy: &Policy, rdids: &[Rdid]) -> Vec<Lpm<RouteEntry>> {
    let mut builders: Vec<LpmBuilder<RouteEntry>> =
        rdids.iter().map(|_| LpmBuilder::new()).collect();
    for (vsid, idx, r) in kept_routes(policy, rdids) {
        if let Some(b) = builders.get_mut(idx) {
            let entry = RouteEntry {
                vsid,
                prefix: r.destination_prefix,
                next_hop: (!r.is_on_link()).then_some(r.next_hop),
                metric: r.metric,
            };
            b.insert(r.destination_prefix, r.metric, entry);
        }
    }
    builders.into_iter().map(LpmBuilder::build).collect()
}

/// Provider routes plus an on-link route for the subnet of each of the host's PAs.
fn provider_lpm(policy: &Policy, h: &Host) -> Lpm<ProviderRouteEntry> {
    let mut pb = LpmBuilder::new();
    for pa in &policy.provider_addresses {
        if h.provider_addresses.contains(&pa.provider_address) {
            let prefix = Prefix::truncating(pa.provider_address, pa.prefix_length);
            pb.insert(
                prefix,
                u32::MAX,
                ProviderRouteEntry {
                    prefix,
                    next_hop: None,
                    metric: u32::MAX,
                },
            );
        }
    }
    for r in &policy.provider_routes {
        let entry = ProviderRouteEntry {
            prefix: r.destination_prefix,
            next_hop: (!r.next_hop.is_unspecified()).then_some(r.next_hop),
            metric: r.metric,
        };
        pb.insert(r.destination_prefix, r.metric, entry);
    }
    pb.build()
}

fn push_unique(v: &mut Vec<IpAddr>, a: IpAddr) {
    if !v.contains(&a) {
        v.push(a);
    }
}

impl SubnetInfo for VsidEntry {
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

impl LookupTable for Tables {
    type Subnet = VsidEntry;

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

    fn vsid(&self, vsid: Vsid) -> Option<&VsidEntry> {
        self.vsids.get(&VsidKey::new(vsid))
    }

    fn record(&self, index: u32) -> Option<&LookupEntry> {
        self.records.get(index as usize)
    }
}

impl RouteTable for Tables {
    fn customer_route(&self, rdid_index: u32, dst: IpAddr) -> Option<&RouteEntry> {
        self.routes.get(rdid_index as usize)?.lookup(dst)
    }

    fn provider_route(&self, dst: IpAddr) -> Option<&ProviderRouteEntry> {
        self.provider_routes.lookup(dst)
    }
}

impl NeighborTable for Tables {
    fn neighbor(&self, ip: IpAddr) -> Option<MacAddr> {
        self.neighbors.get(&PaKey::new(ip)).copied()
    }
}
