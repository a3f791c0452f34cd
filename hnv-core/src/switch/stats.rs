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

impl VsidCounters {
    #[inline]
    fn count(&mut self, verdict: Verdict) {
        self.frames += 1;
        if matches!(verdict, Verdict::Drop(_)) {
            self.dropped += 1;
        } else if verdict != Verdict::Consumed {
            self.forwarded += 1;
        }
    }

    fn add(&mut self, other: &Self) {
        self.frames += other.frames;
        self.forwarded += other.forwarded;
        self.dropped += other.dropped;
    }
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
    /// Frames from a port to a remote VM of its VSID whose encapsulation was taken from
    /// the switch's flow cache.
    pub flow_hits: u64,
    /// IP frames from a port to a unicast MAC of its VSID that is no local port's, decided
    /// in full (not in the flow cache, no longer valid there, or too big once
    /// encapsulated).
    pub flow_misses: u64,
    /// Frames like those of `flow_misses` decided in full without a lookup in the flow
    /// cache, while it was set aside after a trial with too few hits
    /// ([`FLOW_MIN_HITS`](super::FLOW_MIN_HITS)).
    pub flow_bypassed: u64,
    /// Frames to the gateway MAC (routed by the distributed router) whose decision was
    /// taken from the switch's routed-flow cache.
    pub routed_hits: u64,
    /// Routed frames decided in full (not in the cache, no longer valid there, or too
    /// big once encapsulated).
    pub routed_misses: u64,
    /// Routed frames decided in full without a lookup in the routed-flow cache, while it
    /// was set aside after a trial with too few hits.
    pub routed_bypassed: u64,
    per_vsid: FixedMap<VsidKey, VsidCounters, VSID_COUNTER_SLOTS>,
    /// The VSID of each port (of the switch's current tables) and what its frames added
    /// to that VSID's counters: counted in place, with no map lookup per frame; folded
    /// into `per_vsid` when the port's VSID changes.
    port_vsid: [Option<Vsid>; MAX_PORTS],
    port_vsid_counts: [VsidCounters; MAX_PORTS],
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
            flow_hits: 0,
            flow_misses: 0,
            flow_bypassed: 0,
            routed_hits: 0,
            routed_misses: 0,
            routed_bypassed: 0,
            vsid_overflow: 0,
            per_vsid: FixedMap::new(),
            port_vsid: [None; MAX_PORTS],
            port_vsid_counts: [VsidCounters {
                frames: 0,
                forwarded: 0,
                dropped: 0,
            }; MAX_PORTS],
        }
    }

    /// Counters of `vsid` (zero when it has seen no frame).
    pub fn vsid(&self, vsid: Vsid) -> VsidCounters {
        let mut total = self
            .per_vsid
            .get(&VsidKey::new(vsid))
            .copied()
            .unwrap_or_default();
        for (v, c) in self.port_vsid.iter().zip(&self.port_vsid_counts) {
            if *v == Some(vsid) {
                total.add(c);
            }
        }
        total
    }

    pub(super) fn count_vsid(&mut self, vsid: Vsid, verdict: Verdict) {
        let mut c = VsidCounters::default();
        c.count(verdict);
        self.add_vsid(vsid, &c);
    }

    /// A frame from `port`, of `vsid`: counted in the port's slot when `vsid` is the
    /// port's, in the per-VSID map otherwise.
    pub(super) fn count_port_vsid(&mut self, port: PortId, vsid: Vsid, verdict: Verdict) {
        if !self.count_in_port_slot(port, vsid, verdict) {
            self.count_vsid(vsid, verdict);
        }
    }

    /// [`Stats::count_port_vsid`]'s usual case, inlined where it is called: counted in the
    /// port's slot when `vsid` is the port's; false, with nothing counted, otherwise. (The
    /// batch's one-step path calls it; calling `count_port_vsid` there instead, out of line,
    /// measured about 1 ns a packet slower at 1M records, four paired runs.)
    #[allow(clippy::inline_always)]
    #[inline(always)]
    pub(super) fn count_in_port_slot(
        &mut self,
        port: PortId,
        vsid: Vsid,
        verdict: Verdict,
    ) -> bool {
        let i = port.index();
        if self.port_vsid.get(i) == Some(&Some(vsid)) {
            if let Some(c) = self.port_vsid_counts.get_mut(i) {
                c.count(verdict);
                return true;
            }
        }
        false
    }

    /// The ports' VSIDs from now on (`vsids[i]`: port `i`'s); what each port counted so
    /// far moves to the per-VSID map.
    pub(super) fn set_port_vsids(&mut self, vsids: &[Option<Vsid>; MAX_PORTS]) {
        for i in 0..MAX_PORTS {
            let (Some(old), Some(new)) = (self.port_vsid.get(i), vsids.get(i)) else {
                continue;
            };
            if old == new {
                continue;
            }
            let counts = self
                .port_vsid_counts
                .get_mut(i)
                .map(core::mem::take)
                .unwrap_or_default();
            if let Some(v) = *old {
                if counts.frames > 0 {
                    self.add_vsid(v, &counts);
                }
            }
        }
        self.port_vsid = *vsids;
    }

    fn add_vsid(&mut self, vsid: Vsid, counts: &VsidCounters) {
        let key = VsidKey::new(vsid);
        if let Some(c) = self.per_vsid.get_mut(&key) {
            c.add(counts);
            return;
        }
        if self.per_vsid.insert(key, *counts).is_err() {
            self.vsid_overflow += counts.frames;
        }
    }

    /// Adds `other`'s counts to these (the counters of several switches, e.g. one per
    /// worker thread, summed into one report). Every field is named here, so a counter
    /// added to `Stats` cannot be left out of the sum unnoticed.
    ///
    /// ```
    /// use hnv_core::switch::Stats;
    /// let (mut total, mut one) = (Stats::new(), Stats::new());
    /// one.wire_rx = 3;
    /// total.add(&one);
    /// total.add(&one);
    /// assert_eq!(total.wire_rx, 6);
    /// ```
    pub fn add(&mut self, other: &Self) {
        let Self {
            drops,
            port_rx,
            port_tx,
            wire_rx,
            wire_tx,
            replies,
            floods,
            consumed,
            learn_full,
            vsid_overflow,
            flow_hits,
            flow_misses,
            flow_bypassed,
            routed_hits,
            routed_misses,
            routed_bypassed,
            per_vsid,
            port_vsid,
            port_vsid_counts,
        } = other;
        for (sum, part) in [
            (&mut self.drops[..], &drops[..]),
            (&mut self.port_rx, port_rx),
            (&mut self.port_tx, port_tx),
        ] {
            for (a, b) in sum.iter_mut().zip(part) {
                *a += b;
            }
        }
        for (a, b) in [
            (&mut self.wire_rx, wire_rx),
            (&mut self.wire_tx, wire_tx),
            (&mut self.replies, replies),
            (&mut self.floods, floods),
            (&mut self.consumed, consumed),
            (&mut self.learn_full, learn_full),
            (&mut self.vsid_overflow, vsid_overflow),
            (&mut self.flow_hits, flow_hits),
            (&mut self.flow_misses, flow_misses),
            (&mut self.flow_bypassed, flow_bypassed),
            (&mut self.routed_hits, routed_hits),
            (&mut self.routed_misses, routed_misses),
            (&mut self.routed_bypassed, routed_bypassed),
        ] {
            *a += b;
        }
        // Per VSID: the other's map, then what its ports counted in their own slots.
        for (key, counts) in per_vsid.iter() {
            if let Ok(vsid) = Vsid::new(key.vsid()) {
                self.add_vsid(vsid, counts);
            }
        }
        for (vsid, counts) in port_vsid.iter().zip(port_vsid_counts) {
            if let (Some(vsid), true) = (vsid, counts.frames > 0) {
                self.add_vsid(*vsid, counts);
            }
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

    #[allow(clippy::inline_always)]
    #[inline(always)]
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

#[cfg(test)]
mod tests {
    use super::*;

    fn vsid(v: u32) -> Vsid {
        Vsid::new(v).unwrap()
    }

    #[test]
    fn port_counts_stay_with_the_vsid_they_were_counted_for() {
        let (a, b) = (vsid(5001), vsid(6001));
        let mut s = Stats::new();
        let mut ports = [None; MAX_PORTS];
        ports[0] = Some(a);
        s.set_port_vsids(&ports);
        s.count_port_vsid(PortId(0), a, Verdict::ToWire);
        s.count_port_vsid(PortId(0), a, Verdict::Drop(DropReason::NoRoute));
        // A frame counted for another VSID than the port's goes to the map.
        s.count_port_vsid(PortId(0), b, Verdict::Consumed);
        assert_eq!(
            s.vsid(a),
            VsidCounters {
                frames: 2,
                forwarded: 1,
                dropped: 1
            }
        );
        assert_eq!(s.vsid(b).frames, 1);
        // Port 0 moves to VSID b: what it counted for a stays a's.
        ports[0] = Some(b);
        s.set_port_vsids(&ports);
        s.count_port_vsid(PortId(0), b, Verdict::ToWire);
        assert_eq!((s.vsid(a).frames, s.vsid(a).forwarded), (2, 1));
        assert_eq!(
            s.vsid(b),
            VsidCounters {
                frames: 2,
                forwarded: 1,
                dropped: 0
            }
        );
        // Ports beyond MAX_PORTS are counted through the map.
        s.count_port_vsid(PortId(MAX_PORTS as u16), a, Verdict::ToWire);
        assert_eq!(s.vsid(a).frames, 3);
        assert_eq!(s.vsid_overflow, 0);
    }

    #[test]
    fn a_sum_of_stats_keeps_every_count() {
        let (a, b) = (vsid(5001), vsid(6001));
        let mut one = Stats::new();
        let mut ports = [None; MAX_PORTS];
        ports[1] = Some(a);
        one.set_port_vsids(&ports);
        one.count_port_vsid(PortId(1), a, Verdict::ToWire); // the port's slot
        one.count_port_vsid(PortId(1), b, Verdict::Drop(DropReason::NoRoute)); // the map
        one.port_rx(PortId(1));
        one.count(Verdict::Drop(DropReason::NoRoute));
        one.routed_hits = 4;
        one.flow_bypassed = 5;
        let mut total = Stats::new();
        total.add(&one);
        total.add(&one);
        assert_eq!((total.vsid(a).frames, total.vsid(a).forwarded), (2, 2));
        assert_eq!((total.vsid(b).frames, total.vsid(b).dropped), (2, 2));
        assert_eq!(total.port_rx[1], 2);
        assert_eq!(total.dropped(DropReason::NoRoute), 2);
        assert_eq!((total.routed_hits, total.flow_bypassed), (8, 10));
    }
}
