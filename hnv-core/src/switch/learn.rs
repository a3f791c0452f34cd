//! Dynamic lookup records the switch learned from ARP (fig. 1-10), in fixed memory.

use core::net::IpAddr;

use crate::ids::{MacAddr, Vsid};
use crate::policy::LookupEntry;
use crate::table::exact::{CaKey, ExactMap, FixedMap, MacKey};

/// Slots of each learned-record index; at most ⌊7·N/8⌋ records are learned (then learning
/// stops and [`super::Stats::learn_full`] counts the refusals).
pub const LEARNED_CAPACITY: usize = 512;

/// Learned records by (VSID, CA) and by (VSID, MAC).
#[derive(Clone)]
pub(super) struct Learned {
    by_ca: FixedMap<CaKey, LookupEntry, LEARNED_CAPACITY>,
    by_mac: FixedMap<MacKey, LookupEntry, LEARNED_CAPACITY>,
}

impl Learned {
    pub(super) fn new() -> Self {
        Self {
            by_ca: FixedMap::new(),
            by_mac: FixedMap::new(),
        }
    }

    pub(super) fn by_ca(&self, vsid: Vsid, ca: IpAddr) -> Option<&LookupEntry> {
        self.by_ca.get(&CaKey::new(vsid, ca))
    }

    pub(super) fn by_mac(&self, vsid: Vsid, mac: MacAddr) -> Option<&LookupEntry> {
        self.by_mac.get(&MacKey::new(vsid, mac))
    }

    /// Adds or replaces `rec`; false (and nothing changed) when full.
    pub(super) fn insert(&mut self, rec: LookupEntry) -> bool {
        let ca = CaKey::new(rec.vsid, rec.ca);
        let mac = MacKey::new(rec.vsid, rec.mac);
        let room = |m: usize, present: bool| present || m < LEARNED_CAPACITY * 7 / 8;
        if !room(self.by_ca.len(), self.by_ca.get(&ca).is_some())
            || !room(self.by_mac.len(), self.by_mac.get(&mac).is_some())
        {
            return false;
        }
        self.by_ca.insert(ca, rec).is_ok() && self.by_mac.insert(mac, rec).is_ok()
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &LookupEntry> {
        self.by_ca.iter().map(|(_, v)| v)
    }
}
