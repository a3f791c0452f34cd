//! Counters of a [`super::Switch`]: per drop reason, per port, per verdict.

use super::{PortId, Verdict};
use crate::DropReason;

/// Ports with their own counters (ports beyond are counted in the totals only).
pub const MAX_PORTS: usize = 64;

/// Counters. Plain integers: a switch is used by one thread at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
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
