//! The switch's caches of recent decisions: encapsulations by (ingress port, destination
//! MAC) and routed frames by (ingress port, destination CA).
//!
//! Everything a cached decision read beyond the frame and the port's [`PortState`] is
//! covered by a generation number, which moves on whenever any of it can change:
//! [`Switch::set_tables`](super::Switch::set_tables), a learned record, a learned
//! provider neighbour. The frame's own checks (source MAC and CA, VLAN, MTU) are made for
//! every frame, hit or not. Both caches are two-way set-associative arrays inside the
//! [`Switch`](super::Switch), with no allocation.
//!
//! A lookup that misses costs a frame about 5 ns (`docs/performance.md`): with traffic
//! spread over far more destinations than a cache holds, it would slow every frame and
//! speed up none. So each cache is on trial: after every [`FLOW_TRIAL`] lookups, if fewer
//! than one in [`FLOW_MIN_HITS`] hit, it is set aside for the next [`FLOW_REST`] frames
//! (decided in full and counted), then tried again.

use core::net::IpAddr;

use super::{encap_action, exceeds_uplink, underlay_to, Action, HostTables, Ip, PortId, PortState};
use crate::ids::{MacAddr, Vsid};

/// Lookups in one trial of each of the switch's flow caches (see [`FLOW_MIN_HITS`]).
pub const FLOW_TRIAL: u32 = 4096;

/// A flow cache of the switch stays in use while at least one lookup in this many hits
/// over a trial of [`FLOW_TRIAL`] lookups. A hit saves about 10 ns of the 35 ns a frame
/// takes in full, and a miss costs about 5 ns when the tables are far larger than the
/// CPU's caches (`docs/performance.md`, "Switch"): with large tables a cache pays from
/// about one hit in three, and one in four leaves it in use for the 1k bench stream
/// (95 % hits) while setting it aside at 1M (under 1 %).
pub const FLOW_MIN_HITS: u32 = 4;

/// Frames decided without a flow cache after a trial with too few hits, before it is
/// tried again (15 trials' worth: the cache is tried on one frame in sixteen while it
/// does not pay).
pub const FLOW_REST: u32 = 15 * FLOW_TRIAL;

/// Sets of the encapsulation cache (two flows each).
const FLOW_SETS: usize = 1024;

/// Sets of the routed-frame cache (two flows each).
const ROUTE_SETS: usize = 128;

/// An entry of a [`Ways`] cache.
pub(super) trait Remembered: Copy {
    /// What the entry is found by.
    type Key: Copy + Eq;
    /// The key this entry was remembered under.
    fn key(&self) -> Self::Key;
    /// The cache generation it was made in (valid while the cache's is the same).
    fn generation(&self) -> u32;
    /// A 64-bit hash of `key`; its top bits choose the set.
    fn hash(key: &Self::Key) -> u64;
    /// The action this entry stands for, for a frame of `judged` bytes from the port in
    /// state `ps`; `None`: decide in full (it does not fit the uplink once encapsulated,
    /// or the port has no PA of the family needed).
    fn action<T: HostTables>(&self, tables: &T, ps: &PortState, judged: usize) -> Option<Action>;
}

/// A two-way set-associative cache of `SETS` sets, invalidated as a whole by a
/// generation number, on trial (module documentation).
#[derive(Clone)]
pub(super) struct Ways<E, const SETS: usize> {
    /// Two ways per set, the most recently decided first.
    sets: [[Option<E>; 2]; SETS],
    generation: u32,
    /// The caller's hit counter when the current trial began, and its misses so far:
    /// the trial is judged on misses only, so a hit costs nothing more than its count.
    hits_before: u64,
    misses: u32,
    /// Frames still to be decided without the cache before the next trial.
    resting: u32,
}

impl<E: Remembered, const SETS: usize> Ways<E, SETS> {
    const SET_BITS: u32 = {
        assert!(SETS.is_power_of_two() && SETS > 1);
        SETS.trailing_zeros()
    };

    // Evaluated at compile time, for `Caches::EMPTY` (80 KiB and 16 KiB).
    #[allow(clippy::large_stack_arrays)]
    pub(super) const fn new() -> Self {
        Self {
            sets: [[None; 2]; SETS],
            generation: 0,
            hits_before: 0,
            misses: 0,
            resting: 0,
        }
    }

    /// The generation new entries must carry.
    pub(super) fn generation(&self) -> u32 {
        self.generation
    }

    /// False while the cache is set aside after a trial with too few hits (and one frame
    /// fewer to wait).
    #[inline]
    pub(super) fn in_use(&mut self) -> bool {
        if self.resting == 0 {
            return true;
        }
        self.resting -= 1;
        false
    }

    /// True while the cache is set aside ([`Ways::in_use`] would answer false); changes
    /// nothing.
    #[inline]
    pub(super) fn set_aside(&self) -> bool {
        self.resting > 0
    }

    #[allow(clippy::cast_possible_truncation)] // the shift leaves SET_BITS bits
    fn index(key: &E::Key) -> usize {
        (E::hash(key) >> (64 - Self::SET_BITS)) as usize
    }

    #[allow(clippy::inline_always)]
    #[inline(always)]
    fn get(&self, key: &E::Key) -> Option<&E> {
        let valid = |e: &&E| e.key() == *key && e.generation() == self.generation;
        let [first, second] = self.sets.get(Self::index(key))?;
        first
            .as_ref()
            .filter(valid)
            .or_else(|| second.as_ref().filter(valid))
    }

    /// Remembers `entry` (made with [`Ways::generation`]) in its set's first way; a valid
    /// entry of another key there moves to the second, the one there is forgotten.
    pub(super) fn put(&mut self, entry: E) {
        let key = entry.key();
        let generation = self.generation;
        if let Some([first, second]) = self.sets.get_mut(Self::index(&key)) {
            if first.is_some_and(|f| f.key() != key && f.generation() == generation) {
                *second = *first;
            }
            *first = Some(entry);
        }
    }

    /// Notes a miss, `hits` being the caller's hit counter now. Once the trial has seen
    /// [`FLOW_TRIAL`] lookups, sets the cache aside if fewer than one in [`FLOW_MIN_HITS`]
    /// hit, and begins the next trial.
    fn note_miss(&mut self, hits: u64) {
        self.misses += 1;
        // The counter only grows; wrapping keeps this free of overflow checks anyway.
        let hit = hits.wrapping_sub(self.hits_before);
        let tried = hit.saturating_add(u64::from(self.misses));
        if tried >= u64::from(FLOW_TRIAL) {
            if hit.saturating_mul(u64::from(FLOW_MIN_HITS)) < tried {
                self.resting = FLOW_REST;
            }
            self.hits_before = hits;
            self.misses = 0;
        }
    }

    /// The action of the valid entry of `key` for a frame of `judged` bytes from the port
    /// in state `ps`, counted in `hits`; else `None` (decide in full), counted in
    /// `misses`. Inlined so that the action is built where the caller returns it:
    /// returned through a temporary, it was copied with wider loads than it was written
    /// with (a store-forwarding stall, 3 ns per frame).
    #[allow(clippy::inline_always)]
    #[inline(always)]
    pub(super) fn hit<T: HostTables>(
        &mut self,
        key: &E::Key,
        (hits, misses): (&mut u64, &mut u64),
        (tables, ps, judged): (&T, &PortState, usize),
    ) -> Option<Action> {
        if let Some(action) = self.get(key).and_then(|e| e.action(tables, ps, judged)) {
            *hits += 1;
            return Some(action);
        }
        *misses += 1;
        self.note_miss(*hits);
        None
    }

    /// Forgets every entry (in O(1): the entries of older generations never match).
    pub(super) fn invalidate(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            // 2^32 invalidations later a stale entry could match again: empty instead.
            self.sets.fill([None; 2]);
        }
    }
}

/// The encapsulations decided recently, by (ingress port, destination MAC): a frame from
/// a VM port to a remote VM of its own VSID reads one slot here instead of its
/// destination record, the record's index slot and the next hop (three dependent loads:
/// most of the decision's time). 2048 flows of 40 bytes (80 KiB).
pub(super) type FlowCache = Ways<Flow, FLOW_SETS>;

/// The routed frames decided recently, by (ingress port, destination CA): a frame to the
/// gateway MAC reads one slot here instead of the customer route, the destination record
/// and its routing domain, and the next hop. 256 flows of 64 bytes (16 KiB).
pub(super) type RouteCache = Ways<RoutedFlow, ROUTE_SETS>;

/// A 128-bit address as two words and a family flag: a `u128` would align the entries to
/// 16 bytes and make them longer.
#[allow(clippy::cast_possible_truncation)] // the halves of 128 bits
fn words(ip: IpAddr) -> ([u64; 2], bool) {
    let Ip { bits, v6 } = Ip::of(ip);
    ([bits as u64, (bits >> 64) as u64], v6)
}

fn addr(words: [u64; 2], v6: bool) -> IpAddr {
    Ip {
        bits: u128::from(words[0]) | u128::from(words[1]) << 64,
        v6,
    }
    .addr()
}

/// The encapsulation of a frame of `judged` bytes from the port in state `ps` to PA
/// `pa` with `vsid` through `hop_mac`; `None` when it does not fit the uplink once
/// encapsulated (the full decision then says what to do) or the port has no PA of that
/// family.
#[allow(clippy::inline_always)]
#[inline(always)]
fn encap<T: HostTables>(
    tables: &T,
    ps: &PortState,
    judged: usize,
    (vsid, hop_mac, pa): (Vsid, MacAddr, IpAddr),
    route_to: Option<MacAddr>,
) -> Option<Action> {
    let (underlay, vlan) = underlay_to(ps, pa)?;
    if exceeds_uplink(tables, judged, &underlay) {
        return None;
    }
    Some(encap_action(
        tables,
        (vsid, hop_mac),
        (underlay, vlan),
        route_to,
    ))
}

/// One remembered encapsulation: frames from port `key >> 48` to MAC
/// `key & (2^48 - 1)` were encapsulated with VSID `vsid` to PA `dst` through next hop
/// `hop_mac`.
#[derive(Clone, Copy)]
pub(super) struct Flow {
    key: u64,
    dst: [u64; 2],
    generation: u32,
    vsid: Vsid,
    hop_mac: MacAddr,
    dst_v6: bool,
}

const _: () = assert!(core::mem::size_of::<Option<Flow>>() == 40);

impl Remembered for Flow {
    type Key = u64;
    fn key(&self) -> u64 {
        self.key
    }
    fn generation(&self) -> u32 {
        self.generation
    }
    fn hash(key: &u64) -> u64 {
        key.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }
    #[allow(clippy::inline_always)]
    #[inline(always)]
    fn action<T: HostTables>(&self, tables: &T, ps: &PortState, judged: usize) -> Option<Action> {
        let to = (self.vsid, self.hop_mac, addr(self.dst, self.dst_v6));
        encap(tables, ps, judged, to, None)
    }
}

impl Flow {
    /// The key of frames from `port` to `dst`.
    pub(super) fn key_of(port: PortId, dst: MacAddr) -> u64 {
        dst.to_word() | u64::from(port.0) << 48
    }

    pub(super) fn new(
        key: u64,
        generation: u32,
        vsid: Vsid,
        hop_mac: MacAddr,
        dst: IpAddr,
    ) -> Self {
        let (dst, dst_v6) = words(dst);
        Self {
            key,
            dst,
            generation,
            vsid,
            hop_mac,
            dst_v6,
        }
    }
}

/// The key of a routed flow: the ingress port and the destination CA.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct RouteKey {
    dst: [u64; 2],
    port: PortId,
    dst_v6: bool,
}

impl RouteKey {
    pub(super) fn new(port: PortId, dst: IpAddr) -> Self {
        let (dst, dst_v6) = words(dst);
        Self { dst, port, dst_v6 }
    }
}

/// Where a routed frame went: to local port `to_port` (`RouteLocal`), or encapsulated
/// with VSID `vsid` to PA `pa` through next hop `hop_mac`; either way re-addressed to the
/// destination VM's MAC `dst_mac`.
#[derive(Clone, Copy)]
pub(super) struct RoutedFlow {
    /// The key's fields (a `RouteKey` inside would carry its own padding).
    dst: [u64; 2],
    port: PortId,
    dst_v6: bool,
    pa: [u64; 2],
    generation: u32,
    vsid: Vsid,
    to_port: Option<PortId>,
    hop_mac: MacAddr,
    dst_mac: MacAddr,
    pa_v6: bool,
}

const _: () = assert!(core::mem::size_of::<Option<RoutedFlow>>() == 64);

impl Remembered for RoutedFlow {
    type Key = RouteKey;
    fn key(&self) -> RouteKey {
        RouteKey {
            dst: self.dst,
            port: self.port,
            dst_v6: self.dst_v6,
        }
    }
    fn generation(&self) -> u32 {
        self.generation
    }
    #[allow(clippy::inline_always)]
    #[inline(always)]
    fn action<T: HostTables>(&self, tables: &T, ps: &PortState, judged: usize) -> Option<Action> {
        if let Some(port) = self.to_port {
            return Some(Action::RouteLocal {
                port,
                dst_mac: self.dst_mac,
            });
        }
        let to = (self.vsid, self.hop_mac, addr(self.pa, self.pa_v6));
        encap(tables, ps, judged, to, Some(self.dst_mac))
    }
    fn hash(key: &RouteKey) -> u64 {
        let [low, high] = key.dst;
        (low ^ high.rotate_left(29) ^ u64::from(key.port.0) << 40 ^ u64::from(key.dst_v6) << 63)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }
}

impl RoutedFlow {
    /// Frames with `key` went to local port `port` of `vsid`, re-addressed to `dst_mac`.
    pub(super) fn local(
        key: RouteKey,
        generation: u32,
        (vsid, port): (Vsid, PortId),
        dst_mac: MacAddr,
    ) -> Self {
        Self {
            dst: key.dst,
            port: key.port,
            dst_v6: key.dst_v6,
            pa: [0; 2],
            generation,
            vsid,
            to_port: Some(port),
            hop_mac: dst_mac,
            dst_mac,
            pa_v6: false,
        }
    }

    /// Frames with `key` were encapsulated with `vsid` to `pa` through `hop_mac`,
    /// re-addressed to `dst_mac`.
    pub(super) fn encap(
        key: RouteKey,
        generation: u32,
        (vsid, hop_mac, pa): (Vsid, MacAddr, IpAddr),
        dst_mac: MacAddr,
    ) -> Self {
        let (pa, pa_v6) = words(pa);
        Self {
            dst: key.dst,
            port: key.port,
            dst_v6: key.dst_v6,
            pa,
            generation,
            vsid,
            to_port: None,
            hop_mac,
            dst_mac,
            pa_v6,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::boxed::Box;

    fn flow(cache: &FlowCache, key: u64) -> Flow {
        let vsid = Vsid::new(5001).unwrap();
        let pa = IpAddr::from([192, 168, 4, 22]);
        Flow::new(
            key,
            cache.generation(),
            vsid,
            MacAddr([2, 0, 0, 0, 0, 1]),
            pa,
        )
    }

    /// Three keys of one set, found by search (the set is the hash's top bits).
    fn same_set() -> [u64; 3] {
        let set = FlowCache::index(&1);
        let mut keys = (2..).filter(|k| FlowCache::index(k) == set);
        [1, keys.next().unwrap(), keys.next().unwrap()]
    }

    #[test]
    fn a_set_keeps_its_two_latest_keys() {
        let mut cache = Box::new(FlowCache::new());
        let [a, b, c] = same_set();
        cache.put(flow(&cache, a));
        cache.put(flow(&cache, b));
        assert!(cache.get(&a).is_some() && cache.get(&b).is_some());
        cache.put(flow(&cache, c));
        assert!(cache.get(&a).is_none(), "the older of the two is forgotten");
        assert!(cache.get(&b).is_some() && cache.get(&c).is_some());
        // Remembering a key again keeps the other one.
        cache.put(flow(&cache, b));
        assert!(cache.get(&b).is_some() && cache.get(&c).is_some());
    }

    #[test]
    fn invalidation_forgets_everything_even_after_the_generation_wraps() {
        let mut cache = Box::new(FlowCache::new());
        cache.put(flow(&cache, 7));
        cache.invalidate();
        assert!(cache.get(&7).is_none());
        cache.put(flow(&cache, 8));
        assert!(cache.get(&8).is_some());
        // An entry of generation 0, then 2^32 invalidations: the generation is 0 again,
        // and the entry must not come back.
        let mut cache = Box::new(FlowCache::new());
        cache.put(flow(&cache, 9));
        cache.generation = u32::MAX;
        cache.invalidate();
        assert_eq!(cache.generation(), 0);
        assert!(cache.get(&9).is_none());
    }
}
