//! VMQ: receive filters that steer a frame to a VM's queue by its (inner) destination MAC.
//!
//! For an NVGRE frame (as [`Tunnel::parse`] reads it) the key is the inner
//! destination MAC, the outer VLAN and the VSID; for any other frame the destination MAC
//! and its VLAN. A filter matches when its MAC is equal and its VLAN and VSID, when set,
//! are equal too (VSID matching is the optional extension). The first matching filter, in
//! insertion order, wins.

use hnv_core::ids::{MacAddr, Vsid};
use hnv_core::wire::ethernet::{EthernetFrame, VlanTag};

use crate::layout::Tunnel;

/// One receive filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VmqFilter {
    /// Destination MAC (the inner one for NVGRE frames).
    pub mac: MacAddr,
    /// VLAN ID to match, or any.
    pub vlan: Option<u16>,
    /// VSID to match (NVGRE frames only), or any.
    pub vsid: Option<Vsid>,
    /// The queue.
    pub queue: u16,
}

/// Why a filter was not added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VmqError {
    /// Every slot is in use.
    Full,
    /// A filter with the same MAC, VLAN and VSID exists.
    Duplicate,
}

/// A fixed-capacity VMQ filter table.
#[derive(Debug, Clone)]
pub struct Vmq<const N: usize> {
    filters: [Option<VmqFilter>; N],
}

impl<const N: usize> Default for Vmq<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Vmq<N> {
    /// An empty table.
    pub const fn new() -> Self {
        Self { filters: [None; N] }
    }

    /// Adds a filter.
    pub fn add(&mut self, f: VmqFilter) -> Result<(), VmqError> {
        let same = |g: &VmqFilter| g.mac == f.mac && g.vlan == f.vlan && g.vsid == f.vsid;
        if self.filters.iter().flatten().any(same) {
            return Err(VmqError::Duplicate);
        }
        let slot = self
            .filters
            .iter_mut()
            .find(|s| s.is_none())
            .ok_or(VmqError::Full)?;
        *slot = Some(f);
        Ok(())
    }

    /// Removes the filters for `mac`; returns how many.
    pub fn remove(&mut self, mac: MacAddr) -> usize {
        let mut n = 0;
        for s in &mut self.filters {
            if matches!(s, Some(f) if f.mac == mac) {
                *s = None;
                n += 1;
            }
        }
        n
    }

    /// The queue of the first filter matching `frame`, or `None` (default queue).
    pub fn steer(&self, frame: &[u8]) -> Option<u16> {
        let (mac, vlan, vsid) = if let Some(t) = Tunnel::parse(frame) {
            let inner = frame.get(t.inner_offset..t.inner_offset + 6)?;
            let mut m = [0u8; 6];
            m.copy_from_slice(inner);
            (MacAddr(m), t.outer_vlan, Some(t.vsid))
        } else {
            let eth = EthernetFrame::parse(frame).ok()?;
            (eth.dst(), eth.vlan().map(VlanTag::vid), None)
        };
        self.filters.iter().flatten().find_map(|f| {
            let ok = f.mac == mac
                && f.vlan.is_none_or(|v| Some(v) == vlan)
                && f.vsid.is_none_or(|v| Some(v) == vsid);
            ok.then_some(f.queue)
        })
    }
}
