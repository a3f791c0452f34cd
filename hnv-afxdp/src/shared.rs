//! [`SharedTables`]: what every switch of a host reads — the compiled policy plus the
//! provider neighbours and Dynamic lookup records the control thread resolved or learned
//! — published through [`hnv_core::live::Live`] so that workers pick up a new snapshot at
//! their next round without stopping.
//!
//! A value is three `Arc`s: cloning it (once per worker per update) copies no table. The
//! policy part is replaced whole on a reload; the neighbour and record parts grow by
//! read-copy-update (a new map with one more entry), which is cheap for the few
//! neighbours of a provider network and the records learned between reloads.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use hnv_core::ids::{MacAddr, Vsid};
use hnv_core::live::Live;
use hnv_core::policy::{
    LookupEntry, LookupTable, NeighborTable, ProviderRouteEntry, RecordType, RouteEntry,
    RouteTable, Tables, VsidEntry,
};
use hnv_core::switch::{HostTables, PortId};

/// Dynamic lookup records learned by any worker, by CA and by MAC.
#[derive(Debug, Default, Clone)]
pub struct LearnedRecords {
    by_ca: BTreeMap<(Vsid, IpAddr), LookupEntry>,
    by_mac: BTreeMap<(Vsid, MacAddr), LookupEntry>,
}

impl LearnedRecords {
    /// Records kept.
    pub fn len(&self) -> usize {
        self.by_ca.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.by_ca.is_empty()
    }
}

/// The table snapshot a worker's switch reads (see the [module documentation](self)).
#[derive(Clone)]
pub struct SharedTables {
    tables: Arc<Tables>,
    neighbors: Arc<BTreeMap<IpAddr, MacAddr>>,
    learned: Arc<LearnedRecords>,
}

impl std::fmt::Debug for SharedTables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedTables")
            .field("host", &self.tables.host())
            .field("neighbors", &self.neighbors)
            .field("learned", &self.learned.len())
            .finish_non_exhaustive()
    }
}

impl From<Tables> for SharedTables {
    fn from(tables: Tables) -> Self {
        Self::new(tables)
    }
}

impl std::ops::Deref for SharedTables {
    type Target = Tables;

    fn deref(&self) -> &Tables {
        &self.tables
    }
}

impl SharedTables {
    /// The compiled `tables`, no resolved neighbours, no learned records.
    pub fn new(tables: Tables) -> Self {
        Self {
            tables: Arc::new(tables),
            neighbors: Arc::default(),
            learned: Arc::default(),
        }
    }

    /// The compiled policy.
    pub fn tables(&self) -> &Tables {
        &self.tables
    }

    /// The same neighbours and learned records over a new policy (a reload).
    #[must_use]
    pub fn with_tables(&self, tables: Tables) -> Self {
        Self {
            tables: Arc::new(tables),
            neighbors: Arc::clone(&self.neighbors),
            learned: Arc::clone(&self.learned),
        }
    }

    /// A copy with `ip` resolved to `mac` (`None` when that is already known).
    pub fn with_neighbor(&self, ip: IpAddr, mac: MacAddr) -> Option<Self> {
        if self.tables.neighbor(ip).is_some() || self.neighbors.get(&ip) == Some(&mac) {
            return None;
        }
        let mut n = (*self.neighbors).clone();
        n.insert(ip, mac);
        Some(Self {
            tables: Arc::clone(&self.tables),
            neighbors: Arc::new(n),
            learned: Arc::clone(&self.learned),
        })
    }

    /// A copy with the Dynamic record `rec` (`None` when the same record is already
    /// known, or the policy has a Static one for its CA).
    pub fn with_learned(&self, rec: LookupEntry) -> Option<Self> {
        if self
            .tables
            .by_ca(rec.vsid, rec.ca)
            .is_some_and(|r| r.record_type != RecordType::L2Only)
            || self.learned.by_ca.get(&(rec.vsid, rec.ca)) == Some(&rec)
        {
            return None;
        }
        let mut l = (*self.learned).clone();
        if let Some(old) = l.by_ca.insert((rec.vsid, rec.ca), rec) {
            l.by_mac.remove(&(old.vsid, old.mac));
        }
        l.by_mac.insert((rec.vsid, rec.mac), rec);
        Some(Self {
            tables: Arc::clone(&self.tables),
            neighbors: Arc::clone(&self.neighbors),
            learned: Arc::new(l),
        })
    }

    /// Provider neighbours resolved by the control thread.
    pub fn resolved_neighbors(&self) -> impl Iterator<Item = (IpAddr, MacAddr)> + '_ {
        self.neighbors.iter().map(|(i, m)| (*i, *m))
    }

    /// Dynamic records learned by any worker.
    pub fn learned_records(&self) -> impl Iterator<Item = &LookupEntry> + '_ {
        self.learned.by_ca.values()
    }

    /// The MAC of provider neighbour `ip`: static, else resolved.
    pub fn neighbor_mac(&self, ip: IpAddr) -> Option<MacAddr> {
        self.tables
            .neighbor(ip)
            .or_else(|| self.neighbors.get(&ip).copied())
    }
}

/// The live handle every worker and the control thread share.
pub type LiveTables = Live<SharedTables>;

impl LookupTable for SharedTables {
    type Subnet = VsidEntry;

    fn by_ca(&self, vsid: Vsid, ca: IpAddr) -> Option<&LookupEntry> {
        match self.tables.by_ca(vsid, ca) {
            Some(r) => Some(r),
            None if self.learned.is_empty() => None,
            None => self.learned.by_ca.get(&(vsid, ca)),
        }
    }

    fn by_mac(&self, vsid: Vsid, mac: MacAddr) -> Option<&LookupEntry> {
        match self.tables.by_mac(vsid, mac) {
            Some(r) if r.record_type == RecordType::L2Only && !self.learned.is_empty() => {
                Some(self.learned.by_mac.get(&(vsid, mac)).unwrap_or(r))
            }
            Some(r) => Some(r),
            None if self.learned.is_empty() => None,
            None => self.learned.by_mac.get(&(vsid, mac)),
        }
    }

    #[inline]
    fn looks_ahead(&self) -> bool {
        self.tables.looks_ahead()
    }

    #[inline]
    fn prefetch_by_mac(&self, vsid: Vsid, mac: MacAddr) {
        self.tables.prefetch_by_mac(vsid, mac);
    }

    /// The snapshot's answer where `by_mac` would give it: not for an L2Only record, which
    /// a learned record may replace.
    #[inline]
    fn look_ahead_by_mac(&self, vsid: Vsid, mac: MacAddr) -> Option<u32> {
        let i = self.tables.look_ahead_by_mac(vsid, mac)?;
        let r = self.tables.record(i)?;
        (r.record_type != RecordType::L2Only).then_some(i)
    }

    fn by_pa(&self, pa: IpAddr) -> Option<&LookupEntry> {
        self.tables.by_pa(pa)
    }

    fn vsid(&self, vsid: Vsid) -> Option<&VsidEntry> {
        self.tables.vsid(vsid)
    }

    fn record(&self, index: u32) -> Option<&LookupEntry> {
        self.tables.record(index)
    }
}

impl RouteTable for SharedTables {
    fn customer_route(&self, rdid_index: u32, dst: IpAddr) -> Option<&RouteEntry> {
        self.tables.customer_route(rdid_index, dst)
    }

    fn provider_route(&self, dst: IpAddr) -> Option<&ProviderRouteEntry> {
        self.tables.provider_route(dst)
    }
}

impl NeighborTable for SharedTables {
    fn neighbor(&self, ip: IpAddr) -> Option<MacAddr> {
        self.neighbor_mac(ip)
    }
}

impl HostTables for SharedTables {
    fn own_pas(&self) -> &[IpAddr] {
        self.tables.own_pas()
    }
    fn uplink_mac(&self) -> MacAddr {
        self.tables.uplink_mac()
    }
    fn uplink_mtu(&self) -> u16 {
        self.tables.uplink_mtu()
    }
    fn gateway_mac(&self) -> MacAddr {
        self.tables.gateway_mac()
    }
    fn pa_vlan(&self, pa: IpAddr) -> Option<u16> {
        self.tables.pa_vlan(pa)
    }
    fn port_count(&self) -> usize {
        self.tables.ports().len()
    }
    fn port(&self, port: PortId) -> Option<(MacAddr, Option<Vsid>)> {
        self.tables
            .ports()
            .get(port.index())
            .map(|p| (p.mac, p.vsid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hnv_core::policy::{file, Rule};

    fn seed() -> SharedTables {
        let policy = file::from_json(include_str!("../../docs/examples/seed-policy.json")).unwrap();
        SharedTables::new(Tables::compile(&policy, "HostA").unwrap())
    }

    /// The look-ahead of a batch names a record only where `by_mac` answers with the
    /// snapshot's record: not for an L2Only record, which a learned one may replace.
    #[test]
    fn records_looked_up_ahead_are_the_ones_by_mac_returns() {
        let mut policy =
            file::from_json(include_str!("../../docs/examples/seed-policy.json")).unwrap();
        let mut l2only = policy.lookup_records[0].clone();
        l2only.customer_address = "0.0.0.0".parse().unwrap();
        l2only.mac_address = MacAddr([2, 0x77, 0, 0, 0, 1]);
        l2only.record_type = RecordType::L2Only;
        let vsid = Vsid::new(l2only.virtual_subnet_id).unwrap();
        let mut bulk = policy.lookup_records[0].clone();
        bulk.virtual_subnet_id = vsid.get();
        for i in 0..20_000u32 {
            let [_, b, c, d] = i.to_be_bytes();
            bulk.customer_address = IpAddr::from([10, 9, b ^ c, d]);
            bulk.mac_address = MacAddr([2, 0x99, 0, b, c, d]);
            policy.lookup_records.push(bulk.clone());
        }
        policy.lookup_records.push(l2only.clone());
        let t = SharedTables::new(Tables::compile(&policy, "HostA").unwrap());
        assert!(t.looks_ahead());
        let m = MacAddr([2, 0x99, 0, 0, 1, 2]);
        let i = t.look_ahead_by_mac(vsid, m).expect("a Static record");
        assert!(std::ptr::eq(
            t.record(i).unwrap(),
            t.by_mac(vsid, m).unwrap()
        ));
        assert_eq!(
            t.tables
                .look_ahead_by_mac(vsid, l2only.mac_address)
                .map(|i| t.record(i).unwrap().record_type),
            Some(RecordType::L2Only),
            "the snapshot has it"
        );
        assert_eq!(t.look_ahead_by_mac(vsid, l2only.mac_address), None);
    }

    #[test]
    fn resolved_neighbours_and_learned_records_are_found() {
        let t = seed();
        let pa: IpAddr = "192.168.4.99".parse().unwrap();
        assert_eq!(t.neighbor(pa), None);
        let mac = MacAddr([2, 0, 0, 0, 9, 9]);
        let t2 = t.with_neighbor(pa, mac).unwrap();
        assert_eq!(t2.neighbor(pa), Some(mac));
        assert!(t2.with_neighbor(pa, mac).is_none(), "already known");
        assert_eq!(t.neighbor(pa), None, "the old snapshot is unchanged");

        let vsid = Vsid::new(5001).unwrap();
        let rec = LookupEntry {
            ca: "10.0.0.99".parse().unwrap(),
            vsid,
            mac: MacAddr([0, 0x15, 0x5d, 0, 0, 0x99]),
            pa,
            rule: Rule::Encap,
            record_type: RecordType::Dynamic,
            use_vm_mac: false,
        };
        let t3 = t2.with_learned(rec).unwrap();
        assert_eq!(t3.by_ca(vsid, rec.ca), Some(&rec));
        assert_eq!(t3.by_mac(vsid, rec.mac), Some(&rec));
        assert!(t3.with_learned(rec).is_none());
        assert_eq!(t3.neighbor(pa), Some(mac), "neighbours survive");
        let reloaded = t3.with_tables(
            Tables::compile(
                &file::from_json(include_str!("../../docs/examples/seed-policy.json")).unwrap(),
                "HostA",
            )
            .unwrap(),
        );
        assert_eq!(reloaded.by_ca(vsid, rec.ca), Some(&rec));
        assert_eq!(reloaded.neighbor(pa), Some(mac));
    }
}
