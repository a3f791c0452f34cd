//! Counters of a [`super::Switch`]: per drop reason, per port, per VSID, per verdict.

use super::{PortId, Verdict};
use crate::ids::Vsid;
use crate::table::exact::{ExactMap, FixedMap, VsidKey};
use crate::DropReason;

/// Slots of the per-VSID counter map: counters for up to ⌊7·N/8⌋ VSIDs (frames of further
/// VSIDs are counted in [`Stats::vsid_overflow`]).
pub const VSID_COUNTER_SLOTS: usize = 256;

/// Frames of one VSID: from its ports or with its key from the wire.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VsidCounters {
    /// Frames handled.
    pub frames: u64,
    /// Of those, delivered to a port, sent to the wire, replied to or flooded.
    pub forwarded: u64,
    /// Of those, dropped.
    pub dropped: u64,
}

/// Ports with their own counters (ports beyond are counted in the totals only).
pub const MAX_PORTS: usize = 64;

/// Counters. Plain integers: a switch is used by one thread at a time.
#[derive(Debug, Clone)]
pub struct Stats {
    /// Drops by reason ([`DropReason::index`]).
    pub drops: [u64; DropReason::COUNT],
    /// Frames received from each port.
    pub port_rx: [u64; MAX_PORTS],
    /// Frames delivered to each port.
    pub port_tx: [u64; MAX_PORTS],
    /// Frames received from the wire.
    pub wire_rx: u64,
    /// Frames sent to the wire (encapsulated or passed through).
    pub wire_tx: u64,
    /// Replies generated (ARP answered by the switch).
    pub replies: u64,
    /// Floods (replications) decided.
    pub floods: u64,
    /// Frames only learned from.
    pub consumed: u64,
    /// Records that could not be learned because the learned-record map was full.
    pub learn_full: u64,
    /// Frames of VSIDs beyond the per-VSID counter map's capacity.
    pub vsid_overflow: u64,
    per_vsid: FixedMap<VsidKey, VsidCounters, VSID_COUNTER_SLOTS>,
}

impl Default for Stats {
    fn default() -> Self {
        Self::new()
    }
}

impl Stats {
    /// All zero.
    pub const fn new() -> Self {
        Self {
            drops: [0; DropReason::COUNT],
            port_rx: [0; MAX_PORTS],
            port_tx: [0; MAX_PORTS],
            wire_rx: 0,
            wire_tx: 0,
            replies: 0,
            floods: 0,
            consumed: 0,
            learn_full: 0,
            vsid_overflow: 0,
            per_vsid: FixedMap::new(),
        }
    }

    /// Counters of `vsid` (zero when it has seen no frame).
    pub fn vsid(&self, vsid: Vsid) -> VsidCounters {
        self.per_vsid
            .get(&VsidKey::new(vsid))
            .copied()
            .unwrap_or_default()
    }

    pub(super) fn count_vsid(&mut self, vsid: Vsid, verdict: Verdict) {
        let count = |c: &mut VsidCounters| {
            c.frames += 1;
            if matches!(verdict, Verdict::Drop(_)) {
                c.dropped += 1;
            } else if verdict != Verdict::Consumed {
                c.forwarded += 1;
            }
        };
        let key = VsidKey::new(vsid);
        // Counted in place: one lookup per frame once the VSID has its counters.
        if let Some(c) = self.per_vsid.get_mut(&key) {
            count(c);
            return;
        }
        let mut c = VsidCounters::default();
        count(&mut c);
        if self.per_vsid.insert(key, c).is_err() {
            self.vsid_overflow += 1;
        }
    }

    /// Drops counted under `reason`.
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.drops.get(reason.index()).copied().unwrap_or(0)
    }

    /// Total drops.
    pub fn total_drops(&self) -> u64 {
        self.drops.iter().sum()
    }

    pub(super) fn port_rx(&mut self, port: PortId) {
        if let Some(c) = self.port_rx.get_mut(port.index()) {
            *c += 1;
        }
    }

    pub(super) fn count(&mut self, verdict: Verdict) {
        match verdict {
            Verdict::ToPort(p) => {
                if let Some(c) = self.port_tx.get_mut(p.index()) {
                    *c += 1;
                }
            }
            Verdict::ToWire => self.wire_tx += 1,
            Verdict::Reply => self.replies += 1,
            Verdict::Flood(_) => self.floods += 1,
            Verdict::Consumed => self.consumed += 1,
            Verdict::Drop(r) => {
                if let Some(c) = self.drops.get_mut(r.index()) {
                    *c += 1;
                }
            }
        }
    }
}
