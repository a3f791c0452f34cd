//! The vswitch and its HNV filter: a frame from a VM port or from the provider network,
//! a table snapshot, a [`Verdict`] — the frame rewritten in place.
//!
//! Each entry point is two steps: [`Switch::decide_port`] / [`Switch::decide_wire`] read the
//! frame and the tables and return an [`Action`] (nothing is written), and [`Switch::act`]
//! applies it to the buffer and says where the result goes. [`Switch::from_port`] and
//! [`Switch::from_wire`] do both; the `*_batch` forms do it for a slice of frames.
//! [`Switch::from_port_gso`] takes a GSO super-frame (a TCP send larger than the VM's MTU,
//! cut into segments by the caller afterwards) and judges the MTU by its segments
//! ([`Gso`]).
//!
//! What the switch does, by the seed's figures:
//!
//! | flow | from a port | from the wire |
//! |---|---|---|
//! | same VSID, same host (fig. 1-7) | ARP flooded to the VSID's local ports; unicast to the local port | — |
//! | different VSID, same host (fig. 1-8) | ARP for the `.1` answered with the gateway MAC; routed: MACs and VSID rewritten | — |
//! | same VSID, other host (fig. 1-9) | ARP answered on behalf of the remote VM; NVGRE to the record's PA | decap, VSID and destination checked, delivered |
//! | L2Only learning (fig. 1-10) | ARP for an unknown CA sent as unicast NVGRE to each L2Only PA; a local VM's ARP reply becomes a Dynamic record | the remote VM's ARP becomes a Dynamic record |
//! | different VSIDs, other host (fig. 1-11) | routed, then NVGRE with the destination VSID | as fig. 1-9 |
//!
//! Every refusal is a [`DropReason`] counted in [`Stats`]. Nothing allocates: learned
//! records go to a fixed-capacity map inside the switch and to the caller's [`EventSink`].

mod flows;
mod gso;
mod icmp;
mod learn;
mod nd;
mod rewrite;
mod stats;

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub use flows::{FLOW_MIN_HITS, FLOW_REST, FLOW_TRIAL};
pub use gso::Gso;
pub use learn::LEARNED_CAPACITY;
pub use stats::{Stats, VsidCounters, MAX_PORTS, VSID_COUNTER_SLOTS};

use crate::buf::PacketBuf;
use crate::ids::{MacAddr, Vsid};
use crate::nvgre::{self, EncapError, EncapParams, Underlay};
use crate::policy::{
    LookupEntry, LookupTable, NeighborTable, RecordType, RouteEntry, RouteTable, Rule, SubnetInfo,
};
use crate::table::exact::{ExactMap, FixedMap, PaKey};
use crate::wire::arp::{ArpOp, ArpPacket};
use crate::wire::ethernet::{EtherType, EthernetFrame};
use crate::wire::ipv4::Ipv4Packet;
use crate::wire::ipv6::Ipv6Packet;
use crate::DropReason;
use flows::{Flow, FlowCache, RouteCache, RouteKey, RoutedFlow};
use learn::Learned;

/// A VM port of the host: its index in the host's port list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortId(pub u16);

impl PortId {
    /// The index as `usize`.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

/// What the switch needs to know about its host, beyond the lookup, route and neighbour
/// tables.
pub trait HostTables: LookupTable + RouteTable + NeighborTable {
    /// This host's provider addresses.
    fn own_pas(&self) -> &[IpAddr];
    /// MAC of the uplink (outer source MAC of NVGRE frames; answer to ARP for own PAs).
    fn uplink_mac(&self) -> MacAddr;
    /// MTU of the uplink (largest outer IP packet).
    fn uplink_mtu(&self) -> u16;
    /// The MAC the HNV filter answers for every virtual subnet's `.1` gateway.
    fn gateway_mac(&self) -> MacAddr;
    /// Number of VM ports.
    fn port_count(&self) -> usize;
    /// MAC and VSID of a port (`None` VSID: not virtualized).
    fn port(&self, port: PortId) -> Option<(MacAddr, Option<Vsid>)>;

    /// The VLAN ID of own PA `pa`, when frames from it are tagged (none by default).
    fn pa_vlan(&self, pa: IpAddr) -> Option<u16> {
        let _ = pa;
        None
    }

    /// True when `pa` is one of this host's PAs.
    fn owns_pa(&self, pa: IpAddr) -> bool {
        self.own_pas().contains(&pa)
    }

    /// The local port with `mac` on `vsid`. An implementation that overrides this must
    /// agree with [`HostTables::port`] (the switch skips the call for a MAC no port has).
    fn port_by_mac(&self, vsid: Option<Vsid>, mac: MacAddr) -> Option<PortId> {
        (0..self.port_count()).find_map(|i| {
            let id = PortId(u16::try_from(i).ok()?);
            let (m, v) = self.port(id)?;
            (m == mac && v == vsid).then_some(id)
        })
    }
}

#[cfg(feature = "alloc")]
impl HostTables for crate::policy::Tables {
    fn own_pas(&self) -> &[IpAddr] {
        crate::policy::Tables::own_pas(self)
    }
    fn uplink_mac(&self) -> MacAddr {
        crate::policy::Tables::uplink_mac(self)
    }
    fn uplink_mtu(&self) -> u16 {
        crate::policy::Tables::uplink_mtu(self)
    }
    fn gateway_mac(&self) -> MacAddr {
        crate::policy::Tables::gateway_mac(self)
    }
    fn pa_vlan(&self, pa: IpAddr) -> Option<u16> {
        crate::policy::Tables::pa_vlan(self, pa)
    }
    fn port_count(&self) -> usize {
        self.ports().len()
    }
    fn port(&self, port: PortId) -> Option<(MacAddr, Option<Vsid>)> {
        self.ports().get(port.index()).map(|p| (p.mac, p.vsid))
    }
}

/// The switch over fixed-capacity tables: no allocator needed.
impl<
        const RECORDS: usize,
        const SUBNETS: usize,
        const DOMAINS: usize,
        const ROUTES: usize,
        const PAS: usize,
    > HostTables for crate::table::fixed::FixedTables<RECORDS, SUBNETS, DOMAINS, ROUTES, PAS>
{
    fn own_pas(&self) -> &[IpAddr] {
        Self::own_pas(self)
    }
    fn uplink_mac(&self) -> MacAddr {
        Self::uplink_mac(self)
    }
    fn uplink_mtu(&self) -> u16 {
        Self::uplink_mtu(self)
    }
    fn gateway_mac(&self) -> MacAddr {
        Self::gateway_mac(self)
    }
    fn pa_vlan(&self, pa: IpAddr) -> Option<u16> {
        Self::pa_vlan(self, pa)
    }
    fn port_count(&self) -> usize {
        self.ports().len()
    }
    fn port(&self, port: PortId) -> Option<(MacAddr, Option<Vsid>)> {
        self.ports().get(port.index()).copied()
    }
}

/// Where the frame goes after [`Switch::act`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Deliver the (plain Ethernet) frame to this local port.
    ToPort(PortId),
    /// Send the frame out of the uplink (NVGRE, or untouched for a VSID 0 port).
    ToWire,
    /// The frame was rewritten into a reply: send it back where it came from (the
    /// ingress port, or the uplink for a frame from the wire).
    Reply,
    /// Replicate within a virtual subnet ([`Switch::flood_ports`], [`Switch::flood_pas`],
    /// [`Switch::encap_copy`]).
    Flood(Flood),
    /// Nothing to send (the frame was only learned from).
    Consumed,
    /// Dropped, counted under this reason.
    Drop(DropReason),
}

/// A replication: the local ports of `vsid` except `except`, plus unicast NVGRE copies to
/// the PAs of `remote`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flood {
    /// The virtual subnet.
    pub vsid: Vsid,
    /// The ingress port, which gets no copy.
    pub except: Option<PortId>,
    /// Which other hosts get an encapsulated copy.
    pub remote: Remote,
}

/// Which PAs a [`Flood`] reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remote {
    /// Local ports only.
    None,
    /// Every other host of the VSID (broadcast and multicast).
    Hosting,
    /// The PAs holding an L2Only record in the VSID (ARP for an unknown CA, fig. 1-10).
    L2Only,
}

/// Something the control plane should know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A Dynamic lookup record was learned from an ARP message (fig. 1-10).
    Learned(LookupEntry),
    /// No lookup record for `ca` in `vsid`.
    Miss {
        /// Virtual subnet.
        vsid: Vsid,
        /// The customer address nobody knows.
        ca: IpAddr,
    },
    /// No MAC for the provider-network next hop `ip`.
    UnresolvedNeighbor(IpAddr),
}

/// One step of a decision, reported to [`EventSink::trace`] (what `hnv trace` prints).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The ingress port: its MAC and VSID.
    Port {
        /// The port.
        port: PortId,
        /// Its MAC.
        mac: MacAddr,
        /// Its VSID (`None`: not virtualized).
        vsid: Option<Vsid>,
    },
    /// A frame from the wire: the outer PAs and the key's VSID.
    Wire {
        /// Outer source PA.
        src_pa: IpAddr,
        /// Outer destination PA.
        dst_pa: IpAddr,
        /// VSID of the key.
        vsid: Vsid,
    },
    /// The routing domain (dense index) of the sender's VSID.
    RoutingDomain(u32),
    /// The customer route chosen (longest prefix, then metric).
    Route(RouteEntry),
    /// The lookup record that decides where the frame goes.
    Record(LookupEntry),
    /// The provider next hop for a PA and its MAC (`None`: unresolved).
    NextHop {
        /// Destination PA.
        pa: IpAddr,
        /// Next hop (the PA itself when on-link).
        hop: IpAddr,
        /// Its MAC.
        mac: Option<MacAddr>,
    },
    /// The decision.
    Action(Action),
}

/// Receives [`Event`]s and, when tracing, the [`Step`]s of each decision.
pub trait EventSink {
    /// One event.
    fn event(&mut self, event: Event);

    /// One decision step; ignored unless the sink traces (the default does nothing, so
    /// the data path pays nothing for it).
    #[inline]
    fn trace(&mut self, step: Step) {
        let _ = step;
    }

    /// True when this sink wants every step of every decision: the switch then decides
    /// each frame in full, without the shortcut of its flow cache (which skips the
    /// record and next-hop steps). False by default.
    #[inline]
    fn traces(&self) -> bool {
        false
    }
}

/// Records events and every decision step (for `hnv trace` and tests).
#[cfg(feature = "alloc")]
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Trace {
    /// Events, in order.
    pub events: alloc::vec::Vec<Event>,
    /// Steps, in order.
    pub steps: alloc::vec::Vec<Step>,
}

#[cfg(feature = "alloc")]
impl EventSink for Trace {
    fn event(&mut self, event: Event) {
        self.events.push(event);
    }
    fn trace(&mut self, step: Step) {
        self.steps.push(step);
    }
    fn traces(&self) -> bool {
        true
    }
}

/// Ignores events.
impl EventSink for () {
    fn event(&mut self, _: Event) {}
}

#[cfg(feature = "alloc")]
impl EventSink for alloc::vec::Vec<Event> {
    fn event(&mut self, event: Event) {
        self.push(event);
    }
}

/// What [`Switch::act`] does to a frame: the outcome of a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Leave the frame as it is.
    Forward(Verdict),
    /// Turn the ARP request into the reply "target is at `mac`" and send it back.
    ArpReply {
        /// The answer.
        mac: MacAddr,
    },
    /// Routed on this host: destination MAC ← `dst_mac`, source MAC ← the gateway MAC.
    RouteLocal {
        /// The destination port.
        port: PortId,
        /// The destination VM's MAC.
        dst_mac: MacAddr,
    },
    /// NVGRE-encapsulate (after rewriting the inner MACs when `route_to` is set).
    Encap {
        /// The outer headers.
        params: EncapParams,
        /// Routed: the destination VM's MAC (the source MAC becomes the gateway MAC).
        route_to: Option<MacAddr>,
    },
    /// IP rewrite (TranslationMethodNat): addresses replaced, checksums updated
    /// incrementally, Ethernet addresses set; then `then`.
    Rewrite {
        /// New source address.
        src: IpAddr,
        /// New destination address.
        dst: IpAddr,
        /// New Ethernet destination.
        eth_dst: MacAddr,
        /// New Ethernet source.
        eth_src: MacAddr,
        /// Where the rewritten frame goes.
        then: Verdict,
    },
    /// The packet is too big for the uplink once encapsulated: turn it into ICMP
    /// Fragmentation Needed / Packet Too Big from the subnet's gateway `gw_ip` with path
    /// MTU `mtu`, back to the VM.
    TooBig {
        /// The virtual subnet's gateway CA (the error's source).
        gw_ip: IpAddr,
        /// The MTU to report (uplink MTU minus the NVGRE overhead).
        mtu: u16,
    },
    /// Answer an ICMP echo request to one of this host's PAs.
    EchoReply,
    /// Turn the IPv6 neighbour solicitation into the advertisement "target is at `mac`"
    /// and send it back.
    NdReply {
        /// The answer.
        mac: MacAddr,
        /// Set the router flag (the answer for the subnet's gateway).
        router: bool,
    },
    /// Strip the outer headers found at `inner_offset` / `inner_len`, then `then`.
    Decap {
        /// Offset of the inner frame.
        inner_offset: usize,
        /// Length of the inner frame.
        inner_len: usize,
        /// Where the inner frame goes.
        then: Verdict,
    },
    /// Drop.
    Drop(DropReason),
}

/// The switch of one host over a table snapshot `T`. A clone carries on from the state
/// of the original (learned records, neighbours, caches, counters) on its own.
#[derive(Clone)]
pub struct Switch<T> {
    tables: T,
    learned: Learned,
    stats: Stats,
    /// VSID of the NVGRE frame `decide_wire` last looked at (for per-VSID counters).
    wire_vsid: Option<Vsid>,
    /// Provider-network neighbours learned from ARP / ND on the uplink.
    neighbors: FixedMap<PaKey, MacAddr, NEIGHBOR_SLOTS>,
    /// Next hops and recent decisions (see [`Caches`]).
    caches: Caches,
    /// What decisions need of each port (see [`PortState`]).
    ports: PortStates,
}

/// What the switch remembers of its own answers: resolved next hops by destination PA
/// ([`HopCache`]), recent encapsulations ([`FlowCache`]) and recent routed frames
/// ([`RouteCache`]).
#[derive(Clone)]
struct Caches {
    hops: HopCache,
    flows: FlowCache,
    routed: RouteCache,
}

impl Caches {
    /// All empty, built at compile time: `Switch::new` copies it into place instead of
    /// building each array at run time (in a debug build, through temporaries on the
    /// stack: over 100 KiB each).
    const EMPTY: Self = Self::new();

    const fn new() -> Self {
        Self {
            hops: HopCache::new(),
            flows: FlowCache::new(),
            routed: RouteCache::new(),
        }
    }

    /// Forgets the remembered decisions: what a MAC or CA resolves to may have changed
    /// (a learned record).
    fn forget_decisions(&mut self) {
        self.flows.invalidate();
        self.routed.invalidate();
    }

    /// Forgets everything: new tables, or a provider neighbour learned or moved.
    fn forget_all(&mut self) {
        self.hops.clear();
        self.forget_decisions();
    }
}

/// Where [`View::toward_record`] remembers the decision it makes, if anywhere.
enum Remember<'c> {
    Not,
    /// An encapsulation, under its (port, destination MAC) key.
    Bridged(&'c mut FlowCache, u64),
    /// A routed frame, under its (port, destination CA) key.
    Routed(&'c mut RouteCache, RouteKey),
}

impl Remember<'_> {
    /// This, if `yes`; else nowhere.
    fn when(self, yes: bool) -> Self {
        if yes {
            self
        } else {
            Self::Not
        }
    }
}

/// Slots of the switch's next-hop cache (direct-mapped by destination PA).
const HOP_SLOTS: usize = 512;

/// One resolved next hop: destination PA → the provider route's hop and its MAC.
#[derive(Clone, Copy)]
struct Hop {
    pa: IpAddr,
    via: IpAddr,
    mac: MacAddr,
}

/// The provider-network MAC towards a destination PA, remembered: resolving it takes a
/// provider-route match and a neighbour lookup for every encapsulated or rewritten frame,
/// and a host talks to few PAs at a time. Direct-mapped, `HOP_SLOTS` slots, no
/// allocation. Only resolved hops are kept. Emptied whenever what it was computed from
/// changes: [`Switch::set_tables`] and every neighbour the switch learns (the tables are
/// otherwise read-only while the switch holds them).
#[derive(Clone)]
struct HopCache {
    slots: [Option<Hop>; HOP_SLOTS],
}

impl HopCache {
    // 512 slots of 40 bytes (20 KiB) of a `Switch<Tables>` of 204 KiB (measured with
    // `size_of`), built once with it.
    #[allow(clippy::large_stack_arrays)]
    const fn new() -> Self {
        Self {
            slots: [None; HOP_SLOTS],
        }
    }

    /// The slot of `pa`: a multiplicative hash of its 32 bits (IPv4) or of its four
    /// 32-bit words XORed (IPv6).
    #[allow(clippy::cast_possible_truncation)] // the shift leaves 9 bits
    fn index(pa: IpAddr) -> usize {
        let low = match pa {
            IpAddr::V4(a) => a.to_bits(),
            IpAddr::V6(a) => {
                let b = a.to_bits();
                (b as u32) ^ ((b >> 32) as u32) ^ ((b >> 64) as u32) ^ ((b >> 96) as u32)
            }
        };
        (low.wrapping_mul(0x9e37_79b9) >> 23) as usize
    }

    fn get(&self, pa: IpAddr) -> Option<Hop> {
        self.slots
            .get(Self::index(pa))
            .copied()
            .flatten()
            .filter(|h| h.pa == pa)
    }

    /// The next hop's MAC alone, read in place.
    #[allow(clippy::inline_always)]
    #[inline(always)]
    fn mac(&self, pa: IpAddr) -> Option<MacAddr> {
        let h = self.slots.get(Self::index(pa))?.as_ref()?;
        (h.pa == pa).then_some(h.mac)
    }

    fn put(&mut self, hop: Hop) {
        if let Some(slot) = self.slots.get_mut(Self::index(hop.pa)) {
            *slot = Some(hop);
        }
    }

    fn clear(&mut self) {
        self.slots.fill(None);
    }
}

const _: () = assert!(HOP_SLOTS == 1 << 9, "HopCache::index keeps 9 bits");

/// What decisions need to know about a VM port, worked out once per table snapshot
/// ([`Switch::new`], [`Switch::set_tables`]) instead of once per frame: its MAC and VSID,
/// its own lookup record's CA (the usual source address, checked without a lookup; an
/// L2Only record lets it use any CA), and the source PA and PA VLAN of whatever it
/// sends encapsulated, per outer family.
#[derive(Clone, Copy)]
struct PortState {
    mac: MacAddr,
    vsid: Option<Vsid>,
    own_ca: Option<Ip>,
    learning: bool,
    src4: Option<Ipv4Addr>,
    vlan4: Option<u16>,
    src6: Option<Ipv6Addr>,
    vlan6: Option<u16>,
}

impl PortState {
    fn of<T: HostTables>(tables: &T, port: PortId) -> Option<Self> {
        let (mac, vsid) = tables.port(port)?;
        Some(Self::for_vm(tables, mac, vsid))
    }

    /// The state of a VM with `mac` on `vsid` (a port, or the sender of a flood copy).
    fn for_vm<T: HostTables>(tables: &T, mac: MacAddr, vsid: Option<Vsid>) -> Self {
        let own = vsid.and_then(|v| tables.by_mac(v, mac));
        let own_pa = own.map(|r| r.pa);
        // The sender's own record's PA when it is this host's and of the destination's
        // family, else this host's first PA of that family.
        let src = |v4: bool| {
            own_pa
                .filter(|pa| pa.is_ipv4() == v4 && tables.owns_pa(*pa))
                .or_else(|| tables.own_pas().iter().copied().find(|a| a.is_ipv4() == v4))
        };
        let src4 = match src(true) {
            Some(IpAddr::V4(a)) => Some(a),
            _ => None,
        };
        let src6 = match src(false) {
            Some(IpAddr::V6(a)) => Some(a),
            _ => None,
        };
        Self {
            mac,
            vsid,
            own_ca: own.map(|r| Ip::of(r.ca)),
            learning: own.is_some_and(|r| r.record_type == RecordType::L2Only),
            src4,
            vlan4: src4.and_then(|a| tables.pa_vlan(IpAddr::V4(a))),
            src6,
            vlan6: src6.and_then(|a| tables.pa_vlan(IpAddr::V6(a))),
        }
    }
}

/// [`PortState`] of ports `0..MAX_PORTS` (others are worked out per frame), and a filter
/// of every port's MAC.
#[derive(Clone)]
struct PortStates {
    states: [Option<PortState>; MAX_PORTS],
    /// Bit [`mac_bit`] of each port's MAC: a destination MAC whose bit is clear is no
    /// local port's, which spares the port scan for frames to remote VMs.
    macs: u64,
}

/// A MAC's bit in [`PortStates::macs`]: six bits of a multiplicative hash.
#[inline]
fn mac_bit(mac: MacAddr) -> u64 {
    1 << (mac.to_word().wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 58)
}

impl PortStates {
    fn new<T: HostTables>(tables: &T) -> Self {
        let mut states = [None; MAX_PORTS];
        for (i, s) in states.iter_mut().enumerate() {
            if let Ok(i) = u16::try_from(i) {
                *s = PortState::of(tables, PortId(i));
            }
        }
        let macs = (0..tables.port_count())
            .filter_map(|i| tables.port(PortId(u16::try_from(i).ok()?)))
            .fold(0, |m, (mac, _)| m | mac_bit(mac));
        Self { states, macs }
    }

    /// The VSID of each port `0..MAX_PORTS`.
    fn vsids(&self) -> [Option<Vsid>; MAX_PORTS] {
        let mut v = [None; MAX_PORTS];
        for (v, s) in v.iter_mut().zip(&self.states) {
            *v = s.and_then(|s| s.vsid);
        }
        v
    }

    /// False when no port has `mac` (true: some port may have it).
    #[inline]
    fn may_have(&self, mac: MacAddr) -> bool {
        self.macs & mac_bit(mac) != 0
    }

    /// The state of `port`: the remembered one, else worked out into `spare`.
    fn get<'a, T: HostTables>(
        &'a self,
        tables: &T,
        port: PortId,
        spare: &'a mut Option<PortState>,
    ) -> Option<&'a PortState> {
        if let Some(s) = self.states.get(port.index()) {
            return s.as_ref();
        }
        *spare = PortState::of(tables, port);
        spare.as_ref()
    }
}

/// Who sent the frame being decided, and the frame.
struct Sender<'a> {
    state: &'a PortState,
    frame: &'a [u8],
    /// The length the MTU check judges (the frame's, or its largest GSO segment's);
    /// `None`: no ICMP error is made here (flood copies are checked when encapsulated).
    judged: Option<usize>,
}

/// The parts of a switch a decision reads, borrowed apart from the next-hop cache it
/// fills, so that records are used where they are stored: never copied, never re-read
/// from a copy.
struct View<'s, T> {
    tables: &'s T,
    learned: &'s Learned,
    neighbors: &'s FixedMap<PaKey, MacAddr, NEIGHBOR_SLOTS>,
}

/// [`Switch::from_port_batch`] works in groups of this many frames: it requests the
/// index slots of the group after next and looks up the records of the next group while it
/// decides the current one.
const PREFETCH_GROUP: usize = 8;

/// A frame's destination record, looked up by [`Switch::from_port_batch`] a group ahead of
/// the decision ([`LookupTable::look_ahead_by_mac`]): the decision uses it, instead of a
/// second lookup, when the frame's port VSID and destination MAC are the ones it was looked
/// up for.
#[derive(Clone, Copy)]
struct Ahead {
    vsid: Vsid,
    dst: MacAddr,
    record: u32,
}

/// Slots of the learned provider-neighbour map (⌊7·N/8⌋ neighbours; a full map keeps the
/// oldest and counts the refusals in [`Stats::learn_full`]).
pub const NEIGHBOR_SLOTS: usize = 128;

/// An IP address as decisions hold it: one 128-bit word (an IPv4 address in the low 32
/// bits) and the family. It is written and read whole; an `IpAddr` is a tag byte and a
/// payload written apart and read back with wider loads, which stalls on store
/// forwarding (5 ns of the encap decision, measured with `perf`).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Ip {
    bits: u128,
    v6: bool,
}

impl Ip {
    #[inline]
    fn of(a: IpAddr) -> Self {
        match a {
            IpAddr::V4(a) => Self {
                bits: u128::from(a.to_bits()),
                v6: false,
            },
            IpAddr::V6(a) => Self {
                bits: a.to_bits(),
                v6: true,
            },
        }
    }

    #[inline]
    #[allow(clippy::cast_possible_truncation)] // an IPv4 address is the low 32 bits
    fn addr(self) -> IpAddr {
        if self.v6 {
            IpAddr::V6(Ipv6Addr::from_bits(self.bits))
        } else {
            IpAddr::V4(Ipv4Addr::from_bits(self.bits as u32))
        }
    }
}

/// The first bytes of an IP packet that decisions need.
#[derive(Clone, Copy)]
struct IpInfo {
    src: Ip,
    dst: Ip,
    /// IPv4 protocol, or the IPv6 upper-layer protocol after extension headers.
    protocol: u8,
}

impl IpInfo {
    fn src(&self) -> IpAddr {
        self.src.addr()
    }

    fn dst(&self) -> IpAddr {
        self.dst.addr()
    }
}

#[inline]
fn ip_info(ethertype: EtherType, l3: &[u8]) -> Option<IpInfo> {
    match ethertype {
        EtherType::IPV4 => {
            let ip = Ipv4Packet::parse(l3).ok()?;
            Some(IpInfo {
                src: Ip::of(IpAddr::V4(ip.header().src())),
                dst: Ip::of(IpAddr::V4(ip.header().dst())),
                protocol: ip.header().protocol,
            })
        }
        EtherType::IPV6 => {
            let ip = Ipv6Packet::parse(l3).ok()?;
            let protocol = ip
                .upper_layer()
                .map_or(ip.header().next_header, |u| u.protocol);
            Some(IpInfo {
                src: Ip::of(IpAddr::V6(ip.header().src())),
                dst: Ip::of(IpAddr::V6(ip.header().dst())),
                protocol,
            })
        }
        _ => None,
    }
}

/// The outer addresses and PA VLAN of what the port in state `ps` sends to `dst_pa`: its
/// source PA of that family (`None`: this host has none).
#[inline]
fn underlay_to(ps: &PortState, dst_pa: IpAddr) -> Option<(Underlay, Option<u16>)> {
    match dst_pa {
        IpAddr::V4(dst) => Some((Underlay::V4 { src: ps.src4?, dst }, ps.vlan4)),
        IpAddr::V6(dst) => Some((Underlay::V6 { src: ps.src6?, dst }, ps.vlan6)),
    }
}

/// The encapsulation with `vsid` through next hop `hop_mac` in `underlay`, tagged with
/// `vlan` when the source PA is on one (priority 0); `route_to` as in [`Action::Encap`].
#[allow(clippy::inline_always)]
#[inline(always)] // built where the caller returns it (see `flows::Ways::hit`)
fn encap_action<T: HostTables>(
    tables: &T,
    (vsid, hop_mac): (Vsid, MacAddr),
    (underlay, vlan): (Underlay, Option<u16>),
    route_to: Option<MacAddr>,
) -> Action {
    let mut params = EncapParams::new(vsid, tables.uplink_mac(), hop_mac, underlay);
    params.outer_vlan = vlan;
    Action::Encap { params, route_to }
}

/// True when a frame of `len` bytes encapsulated in `underlay` makes an outer IP packet
/// longer than the uplink MTU.
#[inline]
fn exceeds_uplink<T: HostTables>(tables: &T, len: usize, underlay: &Underlay) -> bool {
    len + underlay.overhead() - crate::wire::ethernet::EthernetHeader::LEN
        > usize::from(tables.uplink_mtu())
}

/// The verdict on a frame [`nvgre::encap`] encapsulated, or could not.
#[allow(clippy::inline_always)]
#[inline(always)]
fn encap_verdict(done: Result<nvgre::Encapsulated, EncapError>) -> Verdict {
    match done {
        Ok(_) => Verdict::ToWire,
        Err(EncapError::NoHeadroom) => Verdict::Drop(DropReason::NoHeadroom),
        Err(EncapError::TooLarge) => Verdict::Drop(DropReason::MtuExceeded),
        Err(EncapError::InnerTruncated | EncapError::StackedVlanTags) => {
            Verdict::Drop(DropReason::PortFrameMalformed)
        }
    }
}

/// An ARP message's operation, sender and target.
#[derive(Clone, Copy)]
struct ArpInfo {
    op: ArpOp,
    sender_mac: MacAddr,
    sender_ip: Ipv4Addr,
    target_ip: Ipv4Addr,
}

fn arp_info(l3: &[u8]) -> Option<ArpInfo> {
    let arp = ArpPacket::parse(l3).ok()?;
    Some(ArpInfo {
        op: arp.operation(),
        sender_mac: arp.sender_mac(),
        sender_ip: arp.sender_ip(),
        target_ip: arp.target_ip(),
    })
}

impl<T: HostTables> Switch<T> {
    /// A switch over `tables`.
    pub fn new(tables: T) -> Self {
        let ports = PortStates::new(&tables);
        let mut stats = Stats::new();
        stats.set_port_vsids(&ports.vsids());
        Self {
            ports,
            tables,
            learned: Learned::new(),
            stats,
            wire_vsid: None,
            neighbors: FixedMap::new(),
            caches: Caches::EMPTY,
        }
    }

    /// The table snapshot.
    pub fn tables(&self) -> &T {
        &self.tables
    }

    /// Replaces the table snapshot (learned records are kept).
    ///
    /// The switch reads its tables only through `&T` while it holds them and remembers
    /// some answers (the next hop towards each destination PA) until the next
    /// `set_tables`: a `T` whose answers change behind a shared reference (interior
    /// mutability) must be handed over again with `set_tables` after each change.
    pub fn set_tables(&mut self, tables: T) {
        self.ports = PortStates::new(&tables);
        self.stats.set_port_vsids(&self.ports.vsids());
        self.tables = tables;
        self.caches.forget_all();
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Records learned from ARP on this switch (Dynamic records), in no particular order.
    pub fn learned(&self) -> impl Iterator<Item = &LookupEntry> {
        self.learned.iter()
    }

    /// The record for `ca` in `vsid`: the snapshot's, else a learned one.
    pub fn record_by_ca(&self, vsid: Vsid, ca: IpAddr) -> Option<&LookupEntry> {
        self.view().record_by_ca(vsid, ca)
    }

    /// The record for `mac` in `vsid`, preferring one with an IP address over L2Only.
    pub fn record_by_mac(&self, vsid: Vsid, mac: MacAddr) -> Option<&LookupEntry> {
        self.view().record_by_mac(vsid, mac)
    }

    fn view(&self) -> View<'_, T> {
        View {
            tables: &self.tables,
            learned: &self.learned,
            neighbors: &self.neighbors,
        }
    }

    // ---- from a VM port ----------------------------------------------------------------

    /// Handles a frame a VM sent on `port`: decides, acts, counts.
    pub fn from_port<P: PacketBuf + ?Sized>(
        &mut self,
        port: PortId,
        frame: &mut P,
        events: &mut impl EventSink,
    ) -> Verdict {
        self.port_frame_judged::<false, _>(port, frame, None, None, events)
    }

    /// [`Switch::from_port`] for a GSO super-frame: a TCP (or UDP) send larger than the
    /// VM's MTU that is cut into segments of `gso.mss` payload bytes after the switch
    /// (by the caller, e.g. hnv-offload's `SoftNic` LSO on the way to the uplink).
    ///
    /// The switch decides once for the whole super-frame, and everything it does applies
    /// to every segment alike (the same headers). The MTU check judges the largest
    /// segment, [`Gso::segment_len`], not the super-frame: a super-frame whose segments
    /// fit the uplink once encapsulated is encapsulated (the outer headers describe the
    /// super-frame, for the segmenter to rewrite per segment); one whose segments do not
    /// fit gets ICMP Fragmentation Needed / Packet Too Big with the uplink MTU minus the
    /// overhead, as a plain frame of that size would. A super-frame whose headers cannot
    /// be read is dropped (`port_frame_malformed`).
    pub fn from_port_gso<P: PacketBuf + ?Sized>(
        &mut self,
        port: PortId,
        frame: &mut P,
        gso: Gso,
        events: &mut impl EventSink,
    ) -> Verdict {
        self.port_frame_judged::<false, _>(port, frame, Some(gso), None, events)
    }

    /// `AHEAD`: a batch's frame, whose destination record may have been looked up ahead
    /// ([`Ahead`]). A parameter of the type, not a value: the single-frame path is compiled
    /// without the check (with it, `encap_egress/1k` measured 0.4–0.7 ns slower).
    fn port_frame_judged<const AHEAD: bool, P: PacketBuf + ?Sized>(
        &mut self,
        port: PortId,
        frame: &mut P,
        gso: Option<Gso>,
        ahead: Option<Ahead>,
        events: &mut impl EventSink,
    ) -> Verdict {
        self.stats.port_rx(port);
        let judged = match gso {
            None => Some(frame.len()),
            Some(g) => g.segment_len(frame.data()),
        };
        let (action, judged) = match judged {
            Some(len) => (
                self.decide_port_judged::<AHEAD>(port, frame.data(), len, ahead, events),
                len,
            ),
            None => (Action::Drop(DropReason::PortFrameMalformed), 0),
        };
        let verdict = self.act_judged(frame, &action, judged);
        self.count(verdict);
        let vsid = match self.ports.states.get(port.index()) {
            Some(s) => s.and_then(|s| s.vsid),
            None => self.tables.port(port).and_then(|(_, v)| v),
        };
        if let Some(vsid) = vsid {
            self.stats.count_port_vsid(port, vsid, verdict);
        }
        verdict
    }

    /// [`Switch::from_port`] for each frame of `frames`, all from `port`; `verdicts[i]` is
    /// the verdict of `frames[i]` (frames beyond `verdicts.len()` are left alone).
    pub fn from_port_batch<P: PacketBuf>(
        &mut self,
        port: PortId,
        frames: &mut [P],
        verdicts: &mut [Verdict],
        events: &mut impl EventSink,
    ) {
        // With large tables each frame's destination record is two dependent cache misses
        // (index slot, then record). The batch overlaps them, a group of frames at a
        // time: while group `g` is decided, the slots of group `g + 2` are requested and
        // the records of group `g + 1` (whose slots have arrived) are looked up and
        // requested; the decision of each frame then uses the record looked up for it
        // instead of a second lookup. Each stage runs over a whole group in a short loop,
        // so that a slot still on its way stalls one stage for all of the group's frames
        // at once rather than each frame's decision in turn (measured against one frame
        // per step: `docs/performance.md`). While the flow cache is set aside (traffic
        // to more destinations than it holds), a frame of the usual kind is decided and
        // encapsulated in one step (`encap_plain`), the others in full.
        let n = frames.len().min(verdicts.len());
        let vsid = match self.tables.port(port) {
            Some((_, Some(vsid))) if self.tables.looks_ahead() => vsid,
            _ => {
                for (f, v) in frames.iter_mut().zip(verdicts.iter_mut()) {
                    *v = self.from_port(port, f, events);
                }
                return;
            }
        };
        let plain = !events.traces();
        let dst_of = |frames: &[P], j: usize| {
            let d = frames.get(j)?.data().get(..6)?;
            Some(MacAddr(<[u8; 6]>::try_from(d).ok()?))
        };
        let prefetch = |t: &T, frames: &[P], j: usize| {
            if let Some(dst) = dst_of(frames, j) {
                t.prefetch_by_mac(vsid, dst);
            }
        };
        let look_ahead = |t: &T, frames: &[P], j: usize| {
            let dst = dst_of(frames, j)?;
            let record = t.look_ahead_by_mac(vsid, dst)?;
            Some(Ahead { vsid, dst, record })
        };
        // The records of groups `g` and `g + 1`, by frame index modulo its length.
        let mut ahead = [None; 2 * PREFETCH_GROUP];
        let slot = |j: usize| j % (2 * PREFETCH_GROUP);
        let range = |g: usize| (g * PREFETCH_GROUP).min(n)..((g + 1) * PREFETCH_GROUP).min(n);
        for j in range(0).start..range(1).end {
            prefetch(&self.tables, frames, j);
        }
        for j in range(0) {
            if let Some(a) = ahead.get_mut(slot(j)) {
                *a = look_ahead(&self.tables, frames, j);
            }
        }
        for g in 0..n.div_ceil(PREFETCH_GROUP) {
            for j in range(g + 2) {
                prefetch(&self.tables, frames, j);
            }
            for j in range(g + 1) {
                if let Some(a) = ahead.get_mut(slot(j)) {
                    *a = look_ahead(&self.tables, frames, j);
                }
            }
            for j in range(g) {
                if let (Some(f), Some(v)) = (frames.get_mut(j), verdicts.get_mut(j)) {
                    let a = ahead.get(slot(j)).copied().flatten();
                    if let Some(verdict) = a
                        .filter(|_| plain)
                        .and_then(|a| self.encap_plain(port, f, a))
                    {
                        *v = verdict;
                        continue;
                    }
                    *v = self.port_frame_judged::<true, _>(port, f, None, a, events);
                }
            }
        }
    }

    /// The batch's path for its usual frame: IPv4 from `port`'s own MAC and CA to a remote
    /// Encap record of the port's VSID (looked up `ahead`), decided and encapsulated in
    /// one step with the effects [`Switch::from_port`] would have (counters included).
    /// `None`, with nothing changed, for any other frame: it is then decided in full.
    #[allow(clippy::inline_always)]
    #[inline(always)]
    fn encap_plain<P: PacketBuf + ?Sized>(
        &mut self,
        port: PortId,
        frame: &mut P,
        ahead: Ahead,
    ) -> Option<Verdict> {
        let ps = self.ports.states.get(port.index())?.as_ref()?;
        let data = frame.data();
        let eth = EthernetFrame::parse(data).ok()?;
        let dst = eth.dst();
        if eth.vlan().is_some()
            || eth.src() != ps.mac
            || eth.ethertype() != EtherType::IPV4
            || dst != ahead.dst
            || ps.vsid != Some(ahead.vsid)
            || dst.is_multicast()
            || dst == self.tables.gateway_mac()
            || !self.caches.flows.set_aside()
        {
            return None;
        }
        let ip = ip_info(EtherType::IPV4, eth.payload())?;
        if ps.own_ca != Some(ip.src) || self.local_port(port, ahead.vsid, dst).is_some() {
            return None;
        }
        let rec = self.tables.record(ahead.record)?;
        if rec.record_type == RecordType::L2Only || rec.rule != Rule::Encap {
            return None;
        }
        let (underlay, vlan) = underlay_to(ps, rec.pa)?;
        // A remembered next hop is never one of this host's PAs (`resolve_next_hop`): the
        // record is another host's VM, as `toward_record` would have found.
        let hop_mac = self.caches.hops.mac(rec.pa)?;
        let judged = data.len();
        if exceeds_uplink(&self.tables, judged, &underlay) {
            return None;
        }
        let mut params = EncapParams::new(rec.vsid, self.tables.uplink_mac(), hop_mac, underlay);
        params.outer_vlan = vlan;
        let vsid = ahead.vsid;
        // Decided: from here on, what `from_port` would do.
        self.stats.port_rx(port);
        self.caches.flows.in_use();
        self.stats.flow_bypassed += 1;
        // `Switch::encap` without its MTU test, made above.
        let verdict = encap_verdict(nvgre::encap(frame, &params));
        self.stats.count(verdict);
        if !self.stats.count_in_port_slot(port, vsid, verdict) {
            self.stats.count_vsid(vsid, verdict);
        }
        Some(verdict)
    }

    /// Decides what to do with a frame from `port` (reads only; learning updates the
    /// learned-record map and raises events).
    pub fn decide_port(
        &mut self,
        port: PortId,
        frame: &[u8],
        events: &mut impl EventSink,
    ) -> Action {
        self.decide_port_judged::<false>(port, frame, frame.len(), None, events)
    }

    /// [`Switch::decide_port`] with the MTU check judging a frame of `judged` bytes (the
    /// largest segment of a GSO super-frame; the frame's length otherwise).
    fn decide_port_judged<const AHEAD: bool>(
        &mut self,
        port: PortId,
        frame: &[u8],
        judged: usize,
        ahead: Option<Ahead>,
        events: &mut impl EventSink,
    ) -> Action {
        // The action is written once, where the caller reads it: the MTU check is made
        // before an `Encap` is built, not on a copy of it afterwards.
        let action = self.decide_port_inner::<AHEAD>(port, frame, judged, ahead, events);
        events.trace(Step::Action(action));
        action
    }

    fn decide_port_inner<const AHEAD: bool>(
        &mut self,
        port: PortId,
        frame: &[u8],
        judged: usize,
        ahead: Option<Ahead>,
        events: &mut impl EventSink,
    ) -> Action {
        let mut spare = None;
        let Some(ps) = self.ports.get(&self.tables, port, &mut spare) else {
            return Action::Drop(DropReason::UnknownPort);
        };
        events.trace(Step::Port {
            port,
            mac: ps.mac,
            vsid: ps.vsid,
        });
        let Ok(eth) = EthernetFrame::parse(frame) else {
            return Action::Drop(DropReason::PortFrameMalformed);
        };
        if eth.vlan().is_some() {
            return Action::Drop(DropReason::PortVlanTag);
        }
        let port_mac = ps.mac;
        if eth.src() != port_mac {
            return Action::Drop(DropReason::SpoofedSourceMac);
        }
        let Some(vsid) = ps.vsid else {
            return self.not_virtualized(port, eth.dst());
        };
        let learning = ps.learning;
        let ethertype = eth.ethertype();
        let dst = eth.dst();
        if ethertype == EtherType::ARP {
            let Some(arp) = arp_info(eth.payload()) else {
                return Action::Drop(DropReason::PortFrameMalformed);
            };
            return self.port_arp(port, frame, judged, vsid, dst, arp, events);
        }
        if let Some(ns) = nd::solicit(ethertype, eth.payload()) {
            return self.port_solicit(port, port_mac, vsid, learning, ns, events);
        }
        let view = View {
            tables: &self.tables,
            learned: &self.learned,
            neighbors: &self.neighbors,
        };
        let ip = ip_info(ethertype, eth.payload());
        if let Some(ip) = &ip {
            // Link-local IPv6 sources (neighbour discovery, router solicitation) stay on
            // the virtual subnet and are not CAs of the policy.
            // The usual case, the port's own record's CA, needs no lookup.
            if !learning
                && ps.own_ca != Some(ip.src)
                && !is_link_local(ip.src())
                && !view.owns_ca(vsid, port_mac, ip.src())
            {
                return Action::Drop(DropReason::SpoofedSourceCa);
            }
        }
        if dst.is_multicast() {
            return Action::Forward(Verdict::Flood(Flood {
                vsid,
                except: Some(port),
                remote: Remote::Hosting,
            }));
        }
        let from = Sender {
            state: ps,
            frame,
            judged: Some(judged),
        };
        if dst == self.tables.gateway_mac() {
            let Some(ip) = &ip else {
                return Action::Drop(DropReason::NotRoutable);
            };
            return view.routed(&mut self.caches, &mut self.stats, &from, port, ip, events);
        }
        if let Some(action) = self.local_port(port, vsid, dst) {
            return action;
        }
        // IP to a remote MAC of the port's own VSID: perhaps decided before.
        let cacheable = ip.is_some() && !events.traces();
        let remember = cacheable && self.caches.flows.in_use();
        let key = Flow::key_of(port, dst);
        if remember {
            let (flows, s) = (&mut self.caches.flows, &mut self.stats);
            let counts = (&mut s.flow_hits, &mut s.flow_misses);
            if let Some(action) = flows.hit(&key, counts, (&self.tables, ps, judged)) {
                return action;
            }
        } else if cacheable {
            self.stats.flow_bypassed += 1;
        }
        let rec = view.dst_record(ahead.filter(|_| AHEAD), vsid, dst);
        let Some(rec) = rec else {
            if let Some(ip) = &ip {
                events.event(Event::Miss { vsid, ca: ip.dst() });
            }
            return Action::Drop(DropReason::NoLookupRecord);
        };
        let remember = Remember::Bridged(&mut self.caches.flows, key).when(remember);
        view.toward_record(
            &mut self.caches.hops,
            remember,
            &from,
            rec,
            None,
            ip.as_ref(),
            events,
        )
    }

    /// Fig. 1-7: a frame from `port` to `dst`, the MAC of a local port of its VSID, is
    /// switched locally; the filter is not involved. A frame to the sender's own MAC is
    /// not sent back to it (no hairpin), as on VSID-0 ports. `None`: no local port has
    /// `dst`. Inlined: the `Action` it returns would otherwise pass through memory.
    #[allow(clippy::inline_always)]
    #[inline(always)]
    fn local_port(&self, port: PortId, vsid: Vsid, dst: MacAddr) -> Option<Action> {
        let p = self
            .ports
            .may_have(dst)
            .then(|| self.tables.port_by_mac(Some(vsid), dst))??;
        Some(Action::Forward(if p == port {
            Verdict::Drop(DropReason::NoLocalPort)
        } else {
            Verdict::ToPort(p)
        }))
    }

    /// A frame from a port without VSID: a plain L2 switch between such ports and the
    /// uplink.
    fn not_virtualized(&self, port: PortId, dst: MacAddr) -> Action {
        Action::Forward(match self.tables.port_by_mac(None, dst) {
            Some(p) if p != port => Verdict::ToPort(p),
            Some(_) => Verdict::Drop(DropReason::NoLocalPort),
            None => Verdict::ToWire,
        })
    }

    /// ARP from a VM port: the gateway, proxy answers, flooding and learning.
    #[allow(clippy::too_many_arguments)]
    fn port_arp(
        &mut self,
        port: PortId,
        frame: &[u8],
        judged: usize,
        vsid: Vsid,
        dst: MacAddr,
        arp: ArpInfo,
        events: &mut impl EventSink,
    ) -> Action {
        // A copy: learning below needs the switch mutably (ARP is not the hot path).
        let mut spare = None;
        let Some(state) = self.ports.get(&self.tables, port, &mut spare).copied() else {
            return Action::Drop(DropReason::UnknownPort);
        };
        let (port_mac, learning) = (state.mac, state.learning);
        if arp.sender_mac != port_mac {
            return Action::Drop(DropReason::SpoofedSourceMac);
        }
        let sender = IpAddr::V4(arp.sender_ip);
        // An ARP probe (sender 0.0.0.0, RFC 5227) claims no address.
        if !arp.sender_ip.is_unspecified()
            && !learning
            && !self.view().owns_ca(vsid, port_mac, sender)
        {
            return Action::Drop(DropReason::SpoofedSourceCa);
        }
        if learning && !arp.sender_ip.is_unspecified() {
            // Fig. 1-10 step 15: a local VM answers (or asks); its CA becomes a Dynamic
            // record at this host's PA.
            if let Some(l2) = self.tables.by_mac(vsid, port_mac).copied() {
                self.learn(vsid, sender, port_mac, l2.pa, events);
            }
        }
        let view = View {
            tables: &self.tables,
            learned: &self.learned,
            neighbors: &self.neighbors,
        };
        match arp.op {
            ArpOp::Request => {
                let target = IpAddr::V4(arp.target_ip);
                if view.is_gateway(vsid, target) {
                    // Fig. 1-8: the filter is every subnet's `.1`.
                    return Action::ArpReply {
                        mac: self.tables.gateway_mac(),
                    };
                }
                match view.record_by_ca(vsid, target) {
                    Some(rec) if self.tables.owns_pa(rec.pa) => {
                        // Fig. 1-7: a local VM answers for itself.
                        Action::Forward(Verdict::Flood(Flood {
                            vsid,
                            except: Some(port),
                            remote: Remote::None,
                        }))
                    }
                    // Fig. 1-9: answered on behalf of the remote VM, never sent to the wire.
                    Some(rec) => Action::ArpReply { mac: rec.mac },
                    None => {
                        let l2only = self
                            .tables
                            .vsid(vsid)
                            .is_some_and(|s| !s.l2only_pas().is_empty());
                        if !l2only {
                            events.event(Event::Miss { vsid, ca: target });
                        }
                        // Fig. 1-10 step 4: unicast copies to each L2Only PA.
                        Action::Forward(Verdict::Flood(Flood {
                            vsid,
                            except: Some(port),
                            remote: if l2only { Remote::L2Only } else { Remote::None },
                        }))
                    }
                }
            }
            ArpOp::Reply | ArpOp::Other(_) => {
                if dst.is_multicast() {
                    return Action::Forward(Verdict::Flood(Flood {
                        vsid,
                        except: Some(port),
                        remote: Remote::None,
                    }));
                }
                if let Some(p) = self.tables.port_by_mac(Some(vsid), dst) {
                    return Action::Forward(if p == port {
                        Verdict::Drop(DropReason::NoLocalPort)
                    } else {
                        Verdict::ToPort(p)
                    });
                }
                let Some(rec) = view.record_by_mac(vsid, dst) else {
                    return Action::Drop(DropReason::NoLookupRecord);
                };
                let from = Sender {
                    state: &state,
                    frame,
                    judged: Some(judged),
                };
                view.toward_record(
                    &mut self.caches.hops,
                    Remember::Not,
                    &from,
                    rec,
                    None,
                    None,
                    events,
                )
            }
        }
    }

    /// IPv6 neighbour solicitation from a VM port: the IPv6 counterpart of ARP.
    #[allow(clippy::too_many_arguments)]
    fn port_solicit(
        &mut self,
        port: PortId,
        port_mac: MacAddr,
        vsid: Vsid,
        learning: bool,
        ns: nd::Solicit,
        events: &mut impl EventSink,
    ) -> Action {
        let src = IpAddr::V6(ns.src);
        if !ns.is_dad()
            && !learning
            && !is_link_local(src)
            && !self.view().owns_ca(vsid, port_mac, src)
        {
            return Action::Drop(DropReason::SpoofedSourceCa);
        }
        let target = IpAddr::V6(ns.target);
        let flood = |remote| {
            Action::Forward(Verdict::Flood(Flood {
                vsid,
                except: Some(port),
                remote,
            }))
        };
        if self.view().is_gateway(vsid, target) {
            return Action::NdReply {
                mac: self.tables.gateway_mac(),
                router: true,
            };
        }
        match self.view().record_by_ca(vsid, target) {
            // Its own address (DAD): every host of the VSID hears it.
            Some(rec) if rec.mac == port_mac => flood(Remote::Hosting),
            // A local VM answers (or defends its address) itself.
            Some(rec) if self.tables.owns_pa(rec.pa) => flood(Remote::None),
            // Answered (or defended, for DAD) on behalf of the remote VM.
            Some(rec) => Action::NdReply {
                mac: rec.mac,
                router: false,
            },
            None if ns.is_dad() => flood(Remote::Hosting),
            None => {
                let l2only = self
                    .tables
                    .vsid(vsid)
                    .is_some_and(|s| !s.l2only_pas().is_empty());
                if !l2only {
                    events.event(Event::Miss { vsid, ca: target });
                }
                flood(if l2only { Remote::L2Only } else { Remote::None })
            }
        }
    }
}

impl<'s, T: HostTables> View<'s, T> {
    /// The record for `ca` in `vsid`: the snapshot's, else a learned one.
    fn record_by_ca(&self, vsid: Vsid, ca: IpAddr) -> Option<&'s LookupEntry> {
        self.tables
            .by_ca(vsid, ca)
            .or_else(|| self.learned.by_ca(vsid, ca))
    }

    /// The record for `mac` in `vsid`, preferring one with an IP address over L2Only.
    /// Out of line, as it was before the batch's look-ahead: inlined into the decision, it
    /// made the flow cache's hits 0.4 ns slower (`encap_egress/1k`, paired runs).
    #[inline(never)]
    fn record_by_mac(&self, vsid: Vsid, mac: MacAddr) -> Option<&'s LookupEntry> {
        self.over_snapshot(vsid, mac, self.tables.by_mac(vsid, mac))
    }

    /// [`View::record_by_mac`] for a frame's destination `dst`, from the record a batch
    /// looked up `ahead` when that was for this VSID and MAC.
    #[allow(clippy::inline_always)]
    #[inline(always)]
    fn dst_record(
        &self,
        ahead: Option<Ahead>,
        vsid: Vsid,
        dst: MacAddr,
    ) -> Option<&'s LookupEntry> {
        match ahead {
            Some(a) if a.vsid == vsid && a.dst == dst => match self.tables.record(a.record) {
                Some(r) => self.over_snapshot(vsid, dst, Some(r)),
                None => self.record_by_mac(vsid, dst),
            },
            _ => self.record_by_mac(vsid, dst),
        }
    }

    /// The record for `mac` in `vsid`, given the snapshot's (`snapshot`): a learned
    /// Dynamic record replaces an L2Only one, and stands where the snapshot has none.
    #[inline]
    fn over_snapshot(
        &self,
        vsid: Vsid,
        mac: MacAddr,
        snapshot: Option<&'s LookupEntry>,
    ) -> Option<&'s LookupEntry> {
        match snapshot {
            Some(r) if r.record_type == RecordType::L2Only => {
                Some(self.learned.by_mac(vsid, mac).unwrap_or(r))
            }
            Some(r) => Some(r),
            None => self.learned.by_mac(vsid, mac),
        }
    }

    /// True when `ca` in `vsid` belongs to the port with `mac` (snapshot or learned).
    fn owns_ca(&self, vsid: Vsid, mac: MacAddr, ca: IpAddr) -> bool {
        self.record_by_ca(vsid, ca).is_some_and(|r| r.mac == mac)
    }

    /// True when `ip` is the first address of an on-link customer prefix of `vsid`.
    fn is_gateway(&self, vsid: Vsid, ip: IpAddr) -> bool {
        let Some(subnet) = self.tables.vsid(vsid) else {
            return false;
        };
        self.tables
            .customer_route(subnet.rdid_index(), ip)
            .is_some_and(|r| r.vsid == vsid && r.next_hop.is_none() && r.prefix.first_host() == ip)
    }

    /// A frame from the port of `from` (`port`) to the gateway MAC: routed, from the
    /// routed-flow cache when it holds the destination CA, else in full (and remembered).
    /// Inlined so that the action is built where the caller returns it (see
    /// [`Ways::hit`](flows::Ways::hit)).
    #[allow(clippy::inline_always)]
    #[inline(always)]
    fn routed(
        &self,
        caches: &mut Caches,
        stats: &mut Stats,
        from: &Sender<'_>,
        port: PortId,
        ip: &IpInfo,
        events: &mut impl EventSink,
    ) -> Action {
        let key = RouteKey::new(port, ip.dst());
        let cacheable = !events.traces();
        let remember = cacheable && caches.routed.in_use();
        if remember {
            let counts = (&mut stats.routed_hits, &mut stats.routed_misses);
            let judged = from.judged.unwrap_or(from.frame.len());
            if let Some(action) = caches
                .routed
                .hit(&key, counts, (self.tables, from.state, judged))
            {
                return action;
            }
        } else if cacheable {
            stats.routed_bypassed += 1;
        }
        let remember = Remember::Routed(&mut caches.routed, key).when(remember);
        self.route(&mut caches.hops, remember, from, ip, events)
    }

    /// Routing by the distributed router (fig. 1-8, 1-11).
    fn route(
        &self,
        hops: &mut HopCache,
        remember: Remember<'_>,
        from: &Sender<'_>,
        ip: &IpInfo,
        events: &mut impl EventSink,
    ) -> Action {
        let Some(vsid) = from.state.vsid else {
            return Action::Drop(DropReason::NoRoute);
        };
        let Some(src_rd) = self.tables.vsid(vsid).map(SubnetInfo::rdid_index) else {
            return Action::Drop(DropReason::NoRoute);
        };
        events.trace(Step::RoutingDomain(src_rd));
        let Some(route) = self.tables.customer_route(src_rd, ip.dst()) else {
            return Action::Drop(DropReason::NoRoute);
        };
        events.trace(Step::Route(*route));
        let target = route.next_hop.unwrap_or(ip.dst());
        // A CA with its own record; else, behind a gateway, the VSID's GatewayWildcard
        // record (it stands for every CA the gateway serves).
        let rec = self.record_by_ca(route.vsid, target).or_else(|| {
            let subnet = self.tables.vsid(route.vsid)?;
            let first = *subnet.gateways().first()?;
            self.tables.record(first)
        });
        let Some(rec) = rec else {
            events.event(Event::Miss {
                vsid: route.vsid,
                ca: target,
            });
            return Action::Drop(DropReason::NoLookupRecord);
        };
        let dst_rd = self.tables.vsid(rec.vsid).map(SubnetInfo::rdid_index);
        if dst_rd != Some(src_rd) {
            return Action::Drop(DropReason::CrossRoutingDomain);
        }
        self.toward_record(hops, remember, from, rec, Some(rec.mac), Some(ip), events)
    }

    /// Sends toward the VM a record describes: a local port, or NVGRE to its PA. An
    /// encapsulation or a routed frame's destination is remembered where `remember` says.
    #[allow(clippy::too_many_arguments)]
    fn toward_record(
        &self,
        hops: &mut HopCache,
        remember: Remember<'_>,
        from: &Sender<'_>,
        rec: &LookupEntry,
        route_to: Option<MacAddr>,
        ip: Option<&IpInfo>,
        events: &mut impl EventSink,
    ) -> Action {
        events.trace(Step::Record(*rec));
        if self.tables.owns_pa(rec.pa) {
            return match self.tables.port_by_mac(Some(rec.vsid), rec.mac) {
                Some(port) => match route_to {
                    Some(dst_mac) => {
                        if let Remember::Routed(c, key) = remember {
                            let g = c.generation();
                            c.put(RoutedFlow::local(key, g, (rec.vsid, port), dst_mac));
                        }
                        Action::RouteLocal { port, dst_mac }
                    }
                    None => Action::Forward(Verdict::ToPort(port)),
                },
                None => Action::Drop(DropReason::NoLocalPort),
            };
        }
        match rec.rule {
            Rule::Encap => {}
            Rule::Nat => return self.rewrite_egress(hops, from, rec, ip, events),
            Rule::None => return Action::Drop(DropReason::UnsupportedRule),
        }
        let Some((underlay, vlan)) = underlay_to(from.state, rec.pa) else {
            return Action::Drop(DropReason::NotOurPa);
        };
        let Some(dst_mac) = self.next_hop_mac(hops, rec.pa, events) else {
            return Action::Drop(DropReason::UnresolvedNeighbor);
        };
        if from
            .judged
            .is_some_and(|len| exceeds_uplink(self.tables, len, &underlay))
        {
            return self.too_big(from, underlay.overhead());
        }
        match (remember, route_to) {
            (Remember::Bridged(c, key), _) => {
                c.put(Flow::new(key, c.generation(), rec.vsid, dst_mac, rec.pa));
            }
            (Remember::Routed(c, key), Some(to)) => {
                let flow = RoutedFlow::encap(key, c.generation(), (rec.vsid, dst_mac, rec.pa), to);
                c.put(flow);
            }
            _ => {}
        }
        encap_action(self.tables, (rec.vsid, dst_mac), (underlay, vlan), route_to)
    }

    /// Too big once encapsulated (`overhead` bytes of outer headers): an ICMP error for
    /// the VM (IPv4 with DF, IPv6), or a drop.
    fn too_big(&self, from: &Sender<'_>, overhead: usize) -> Action {
        let fail = Action::Drop(DropReason::MtuExceeded);
        let Some((df, src)) = icmp::too_big_kind(from.frame) else {
            return fail;
        };
        let Some(vsid) = from.state.vsid else {
            return fail;
        };
        let Some(rd) = self.tables.vsid(vsid).map(SubnetInfo::rdid_index) else {
            return fail;
        };
        let gw = self
            .tables
            .customer_route(rd, src)
            .filter(|r| r.vsid == vsid && r.next_hop.is_none())
            .map(|r| r.prefix.first_host());
        match gw {
            Some(gw_ip) if df => Action::TooBig {
                gw_ip,
                mtu: self.tables.uplink_mtu().saturating_sub(overhead as u16),
            },
            _ => fail,
        }
    }

    /// IP rewrite towards a remote VM (fig. "IP rewrite"): the sender's CA becomes its own
    /// PA, the destination CA the destination's PA; no encapsulation.
    fn rewrite_egress(
        &self,
        hops: &mut HopCache,
        from: &Sender<'_>,
        rec: &LookupEntry,
        ip: Option<&IpInfo>,
        events: &mut impl EventSink,
    ) -> Action {
        let Some(ip) = ip else {
            return Action::Drop(DropReason::NotRoutable);
        };
        let Some(src_rec) = from
            .state
            .vsid
            .and_then(|vsid| self.record_by_ca(vsid, ip.src()))
        else {
            return Action::Drop(DropReason::SpoofedSourceCa);
        };
        if src_rec.rule != Rule::Nat
            || !self.tables.owns_pa(src_rec.pa)
            || src_rec.pa.is_ipv4() == ip.src.v6
            || rec.pa.is_ipv4() == ip.dst.v6
        {
            return Action::Drop(DropReason::UnsupportedRule);
        }
        let Some(eth_dst) = self.next_hop_mac(hops, rec.pa, events) else {
            return Action::Drop(DropReason::UnresolvedNeighbor);
        };
        let eth_src = if src_rec.use_vm_mac {
            from.state.mac
        } else {
            self.tables.uplink_mac()
        };
        Action::Rewrite {
            src: src_rec.pa,
            dst: rec.pa,
            eth_dst,
            eth_src,
            then: Verdict::ToWire,
        }
    }

    /// The provider-network MAC towards `pa`: a neighbour, or the neighbour that is the
    /// provider route's next hop. A remembered hop is read in place (only its MAC); the
    /// rest, out of line, traces the step or resolves and remembers the hop.
    #[inline]
    fn next_hop_mac(
        &self,
        hops: &mut HopCache,
        pa: IpAddr,
        events: &mut impl EventSink,
    ) -> Option<MacAddr> {
        if !events.traces() {
            if let Some(mac) = hops.mac(pa) {
                return Some(mac);
            }
        }
        self.resolve_next_hop(hops, pa, events)
    }

    #[inline(never)]
    fn resolve_next_hop(
        &self,
        hops: &mut HopCache,
        pa: IpAddr,
        events: &mut impl EventSink,
    ) -> Option<MacAddr> {
        if let Some(h) = hops.get(pa) {
            events.trace(Step::NextHop {
                pa,
                hop: h.via,
                mac: Some(h.mac),
            });
            return Some(h.mac);
        }
        let hop = match self.tables.provider_route(pa) {
            Some(r) => r.next_hop.unwrap_or(pa),
            None => pa,
        };
        let mac = self
            .tables
            .neighbor(hop)
            .or_else(|| self.neighbors.get(&PaKey::new(hop)).copied());
        events.trace(Step::NextHop { pa, hop, mac });
        match mac {
            // Never one of this host's PAs: a remembered hop then says its PA is another
            // host's, which the batch's one-step path relies on (`encap_plain`).
            Some(mac) if !self.tables.owns_pa(pa) => hops.put(Hop { pa, via: hop, mac }),
            Some(_) => {}
            None => events.event(Event::UnresolvedNeighbor(hop)),
        }
        mac
    }
}

impl<T: HostTables> Switch<T> {
    /// IP rewrite of a packet from the wire addressed to a PA of a local Nat record: the
    /// PAs become the two VMs' CAs. `None` when the packet is not for a Nat PA here.
    fn rewrite_ingress(&self, ip: IpInfo) -> Option<Action> {
        let (src, dst) = (ip.src(), ip.dst());
        if !self.tables.owns_pa(dst) {
            return None;
        }
        let rec = *self.tables.by_pa(dst).filter(|r| r.rule == Rule::Nat)?;
        let rd = |v: Vsid| self.tables.vsid(v).map(SubnetInfo::rdid_index);
        let Some(src_rec) = self.tables.by_pa(src).filter(|r| r.rule == Rule::Nat) else {
            return Some(Action::Drop(DropReason::NoLookupRecord));
        };
        if rd(src_rec.vsid).is_none() || rd(src_rec.vsid) != rd(rec.vsid) {
            return Some(Action::Drop(DropReason::CrossRoutingDomain));
        }
        let Some(port) = self.tables.port_by_mac(Some(rec.vsid), rec.mac) else {
            return Some(Action::Drop(DropReason::NoLocalPort));
        };
        Some(Action::Rewrite {
            src: src_rec.ca,
            dst: rec.ca,
            eth_dst: rec.mac,
            eth_src: self.tables.gateway_mac(),
            then: Verdict::ToPort(port),
        })
    }

    /// Remembers a provider-network neighbour's MAC (static entries always win).
    fn learn_neighbor(&mut self, ip: IpAddr, mac: MacAddr) {
        if self.tables.neighbor(ip).is_some() || mac.is_multicast() {
            return;
        }
        if self.neighbors.get(&PaKey::new(ip)) == Some(&mac) {
            return;
        }
        if self.neighbors.insert(PaKey::new(ip), mac).is_err() {
            self.stats.learn_full += 1;
        }
        // A next hop may now resolve differently (a new or moved neighbour).
        self.caches.forget_all();
    }

    /// The provider neighbours learned on the uplink.
    pub fn learned_neighbors(&self) -> impl Iterator<Item = (IpAddr, MacAddr)> + '_ {
        self.neighbors.iter().map(|(k, m)| (k.pa(), *m))
    }

    fn learn(
        &mut self,
        vsid: Vsid,
        ca: IpAddr,
        mac: MacAddr,
        pa: IpAddr,
        events: &mut impl EventSink,
    ) {
        if self
            .record_by_ca(vsid, ca)
            .is_some_and(|r| r.mac == mac && r.pa == pa)
        {
            return;
        }
        let rec = LookupEntry {
            ca,
            vsid,
            mac,
            pa,
            rule: Rule::Encap,
            record_type: RecordType::Dynamic,
            use_vm_mac: false,
        };
        if self.learned.insert(rec) {
            // A learned record can change what a MAC or CA resolves to.
            self.caches.forget_decisions();
            events.event(Event::Learned(rec));
        } else {
            self.stats.learn_full += 1;
        }
    }

    // ---- from the wire -------------------------------------------------------------------

    /// Handles a frame from the provider network: decides, acts, counts.
    pub fn from_wire<P: PacketBuf + ?Sized>(
        &mut self,
        frame: &mut P,
        events: &mut impl EventSink,
    ) -> Verdict {
        self.stats.wire_rx += 1;
        let action = self.decide_wire(frame.data(), events);
        let verdict = self.act(frame, &action);
        self.count(verdict);
        if let Some(vsid) = self.wire_vsid {
            self.stats.count_vsid(vsid, verdict);
        }
        verdict
    }

    /// [`Switch::from_wire`] for each frame of `frames`.
    pub fn from_wire_batch<P: PacketBuf>(
        &mut self,
        frames: &mut [P],
        verdicts: &mut [Verdict],
        events: &mut impl EventSink,
    ) {
        for (f, v) in frames.iter_mut().zip(verdicts.iter_mut()) {
            *v = self.from_wire(f, events);
        }
    }

    /// Decides what to do with a frame from the provider network.
    pub fn decide_wire(&mut self, frame: &[u8], events: &mut impl EventSink) -> Action {
        self.wire_vsid = None;
        let action = self.decide_wire_inner(frame, events);
        events.trace(Step::Action(action));
        action
    }

    /// Frames from the provider network that are not NVGRE: ARP and neighbour discovery
    /// for this host's PAs, IP rewrite ingress, pings to own PAs. `None` for NVGRE (and
    /// anything `inspect` should judge).
    fn provider_side(&mut self, frame: &[u8]) -> Option<Action> {
        let eth = EthernetFrame::parse(frame).ok()?;
        if eth.ethertype() == EtherType::ARP {
            let Some(a) = arp_info(eth.payload()) else {
                return Some(Action::Drop(DropReason::NotForHost));
            };
            // Provider side: neighbours are learned from ARP addressed to this host
            // (requests for an own PA, replies to our requests).
            let for_us = self.tables.owns_pa(IpAddr::V4(a.target_ip));
            if for_us && !a.sender_ip.is_unspecified() {
                self.learn_neighbor(IpAddr::V4(a.sender_ip), a.sender_mac);
            }
            return Some(match a.op {
                ArpOp::Request if for_us => Action::ArpReply {
                    mac: self.tables.uplink_mac(),
                },
                ArpOp::Reply if for_us => Action::Forward(Verdict::Consumed),
                _ => Action::Drop(DropReason::NotForHost),
            });
        }
        // The same for IPv6 PAs: neighbour solicitations for an own PA are answered.
        if let Some(ns) = nd::solicit(eth.ethertype(), eth.payload()) {
            let target = IpAddr::V6(ns.target);
            if !self.tables.owns_pa(target) {
                return Some(Action::Drop(DropReason::NotForHost));
            }
            if !ns.is_dad() {
                self.learn_neighbor(IpAddr::V6(ns.src), eth.src());
            }
            return Some(Action::NdReply {
                mac: self.tables.uplink_mac(),
                router: false,
            });
        }
        if let Some(ip) = ip_info(eth.ethertype(), eth.payload()) {
            // A Nat PA belongs to its one VM: whatever reaches it — GRE included — is that
            // VM's IP-rewrite traffic and is never decapsulated, so a tenant sending GRE
            // through IP rewrite cannot inject NVGRE into another routing domain.
            if let Some(a) = self.rewrite_ingress(ip) {
                return Some(a);
            }
            if ip.protocol != crate::wire::ip_proto::GRE {
                // `ping -p`: echo requests to this host's own PAs are answered.
                return Some(match ip.dst() {
                    IpAddr::V4(pa)
                        if self.tables.owns_pa(IpAddr::V4(pa))
                            && icmp::is_echo_request_to(frame, pa) =>
                    {
                        Action::EchoReply
                    }
                    _ => Action::Drop(DropReason::NotGre),
                });
            }
        }
        None
    }

    fn decide_wire_inner(&mut self, frame: &[u8], events: &mut impl EventSink) -> Action {
        if let Some(action) = self.provider_side(frame) {
            return action;
        }
        let n = match nvgre::inspect(frame) {
            Ok(n) => n,
            Err(r) => return Action::Drop(r),
        };
        let outer = n.underlay(frame);
        if !self.tables.owns_pa(outer.dst()) {
            return Action::Drop(DropReason::NotOurPa);
        }
        let vsid = n.vsid();
        self.wire_vsid = Some(vsid);
        events.trace(Step::Wire {
            src_pa: outer.src(),
            dst_pa: outer.dst(),
            vsid,
        });
        if self.tables.vsid(vsid).is_none() {
            return Action::Drop(DropReason::UnknownVsid);
        }
        let inner = frame
            .get(n.inner_offset()..n.inner_offset() + n.inner_len())
            .unwrap_or_default();
        let Ok(eth) = EthernetFrame::parse(inner) else {
            return Action::Drop(DropReason::InnerTruncated);
        };
        if eth.ethertype() == EtherType::ARP {
            if let Some(arp) = arp_info(eth.payload()) {
                // Fig. 1-10 step 20: learn the remote VM's CA at the sending PA.
                let l2 = self
                    .tables
                    .by_mac(vsid, arp.sender_mac)
                    .is_some_and(|r| r.record_type == RecordType::L2Only);
                if l2 && !arp.sender_ip.is_unspecified() {
                    self.learn(
                        vsid,
                        IpAddr::V4(arp.sender_ip),
                        arp.sender_mac,
                        outer.src(),
                        events,
                    );
                }
            }
        }
        let then = if eth.dst().is_multicast() {
            Verdict::Flood(Flood {
                vsid,
                except: None,
                remote: Remote::None,
            })
        } else {
            match self.tables.port_by_mac(Some(vsid), eth.dst()) {
                Some(p) => Verdict::ToPort(p),
                None => return Action::Drop(DropReason::NoLocalPort),
            }
        };
        Action::Decap {
            inner_offset: n.inner_offset(),
            inner_len: n.inner_len(),
            then,
        }
    }

    // ---- acting ----------------------------------------------------------------------------

    /// Applies `action` to `frame` and says where it goes. On any failure the frame is
    /// dropped (and left as it was, except where noted by the verdict).
    pub fn act<P: PacketBuf + ?Sized>(&self, frame: &mut P, action: &Action) -> Verdict {
        let len = frame.len();
        self.act_judged(frame, action, len)
    }

    /// [`Switch::act`] where encapsulation checks the MTU against `judged` bytes (the
    /// largest segment of a GSO super-frame) instead of the frame's length.
    fn act_judged<P: PacketBuf + ?Sized>(
        &self,
        frame: &mut P,
        action: &Action,
        judged: usize,
    ) -> Verdict {
        match *action {
            Action::Forward(v) => v,
            Action::Drop(r) => Verdict::Drop(r),
            Action::ArpReply { mac } => arp_reply(frame.data_mut(), mac),
            Action::RouteLocal { port, dst_mac } => {
                set_macs(frame.data_mut(), dst_mac, self.tables.gateway_mac());
                Verdict::ToPort(port)
            }
            Action::Encap {
                ref params,
                ref route_to,
            } => self.encap(frame, params, route_to.as_ref(), judged),
            Action::TooBig { gw_ip, mtu } => {
                match icmp::too_big(frame, self.tables.gateway_mac(), gw_ip, mtu) {
                    Ok(()) => Verdict::Reply,
                    Err(r) => Verdict::Drop(r),
                }
            }
            Action::NdReply { mac, router } => match nd::advertise(frame.data_mut(), mac, router) {
                Some(len) => {
                    frame.truncate(len);
                    Verdict::Reply
                }
                None => Verdict::Drop(DropReason::PortFrameMalformed),
            },
            Action::EchoReply => {
                icmp::echo_reply(frame.data_mut(), self.tables.uplink_mac());
                Verdict::Reply
            }
            Action::Rewrite {
                src,
                dst,
                eth_dst,
                eth_src,
                then,
            } => match rewrite::rewrite_ips(frame.data_mut(), src, dst) {
                Ok(()) => {
                    // A VM gets plain Ethernet: a provider-network VLAN tag goes (the
                    // 12 address bytes move up by 4; the packet stays where it is). The
                    // bytes left in front of the frame are the ones it arrived with.
                    if matches!(then, Verdict::ToPort(_)) {
                        strip_vlan_tag(frame);
                    }
                    set_macs(frame.data_mut(), eth_dst, eth_src);
                    then
                }
                Err(r) => Verdict::Drop(r),
            },
            Action::Decap {
                inner_offset,
                inner_len,
                then,
            } => {
                if inner_offset + inner_len > frame.len() || frame.pull_front(inner_offset).is_err()
                {
                    return Verdict::Drop(DropReason::Truncated);
                }
                frame.truncate(inner_len);
                then
            }
        }
    }

    fn encap<P: PacketBuf + ?Sized>(
        &self,
        frame: &mut P,
        params: &EncapParams,
        route_to: Option<&MacAddr>,
        judged: usize,
    ) -> Verdict {
        if exceeds_uplink(&self.tables, judged, &params.underlay) {
            return Verdict::Drop(DropReason::MtuExceeded);
        }
        if frame.headroom() < params.underlay.overhead() {
            return Verdict::Drop(DropReason::NoHeadroom);
        }
        // Only the tag is read unless the frame was routed: for `None` the decision wrote
        // the tag alone, and a load spanning it and the MAC bytes after it would wait for
        // that store to reach the cache (a store-forwarding stall, 3 ns per frame).
        if route_to.is_some() {
            self.route_macs(frame.data_mut(), route_to);
        }
        encap_verdict(nvgre::encap(frame, params))
    }

    /// The inner MACs of a routed frame: the destination VM's, and the gateway's as the
    /// source. Out of line, so that its loads of `route_to` are not hoisted above the
    /// caller's check of the tag.
    #[inline(never)]
    fn route_macs(&self, frame: &mut [u8], route_to: Option<&MacAddr>) {
        if let Some(dst) = route_to {
            set_macs(frame, *dst, self.tables.gateway_mac());
        }
    }

    // ---- replication -------------------------------------------------------------------

    /// The local ports a [`Flood`] reaches.
    pub fn flood_ports(&self, flood: &Flood) -> impl Iterator<Item = PortId> + '_ {
        let flood = *flood;
        (0..self.tables.port_count()).filter_map(move |i| {
            let id = PortId(u16::try_from(i).ok()?);
            let (_, v) = self.tables.port(id)?;
            (v == Some(flood.vsid) && Some(id) != flood.except).then_some(id)
        })
    }

    /// The PAs a [`Flood`] reaches (never this host's own).
    pub fn flood_pas(&self, flood: &Flood) -> impl Iterator<Item = IpAddr> + '_ {
        let subnet = self.tables.vsid(flood.vsid);
        let list: &[IpAddr] = match (flood.remote, subnet) {
            (Remote::Hosting, Some(s)) => s.remote_pas(),
            (Remote::L2Only, Some(s)) => s.l2only_pas(),
            _ => &[],
        };
        list.iter().copied().filter(|pa| !self.tables.owns_pa(*pa))
    }

    /// Encapsulates a copy of a flooded frame (`frame`, the caller's copy) for `pa`.
    pub fn encap_copy<P: PacketBuf + ?Sized>(
        &mut self,
        frame: &mut P,
        vsid: Vsid,
        src_mac: MacAddr,
        pa: IpAddr,
        events: &mut impl EventSink,
    ) -> Verdict {
        let rec = LookupEntry {
            ca: pa,
            vsid,
            mac: MacAddr::BROADCAST,
            pa,
            rule: Rule::Encap,
            record_type: RecordType::L2Only,
            use_vm_mac: false,
        };
        let state = PortState::for_vm(&self.tables, src_mac, Some(vsid));
        let from = Sender {
            state: &state,
            frame: frame.data(),
            judged: None,
        };
        let view = View {
            tables: &self.tables,
            learned: &self.learned,
            neighbors: &self.neighbors,
        };
        let action = view.toward_record(
            &mut self.caches.hops,
            Remember::Not,
            &from,
            &rec,
            None,
            None,
            events,
        );
        let verdict = self.act(frame, &action);
        self.count(verdict);
        verdict
    }

    fn count(&mut self, verdict: Verdict) {
        self.stats.count(verdict);
    }
}

/// Rewrites an ARP request (Ethernet + ARP) into the reply "target is at `mac`", addressed
/// to the requester.
fn arp_reply(frame: &mut [u8], mac: MacAddr) -> Verdict {
    let Ok(mut eth) = EthernetFrame::parse(&mut *frame) else {
        return Verdict::Drop(DropReason::PortFrameMalformed);
    };
    let requester = eth.src();
    let Ok(mut arp) = ArpPacket::parse(eth.payload_mut()) else {
        return Verdict::Drop(DropReason::PortFrameMalformed);
    };
    arp.make_reply_in_place(mac);
    let h = eth.header_mut();
    h.dst = requester;
    h.src = mac;
    Verdict::Reply
}

/// True for IPv6 link-local unicast addresses (fe80::/10).
fn is_link_local(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V6(a) if a.segments().first().is_some_and(|s| s & 0xffc0 == 0xfe80))
}

/// Removes one 802.1Q / 802.1ad tag from the front of `frame`, if it has one.
fn strip_vlan_tag<P: PacketBuf + ?Sized>(frame: &mut P) {
    let tagged = frame
        .data()
        .get(12..14)
        .and_then(|t| <[u8; 2]>::try_from(t).ok())
        .is_some_and(|t| EtherType(u16::from_be_bytes(t)).is_vlan_tag());
    if tagged && frame.len() >= 18 {
        frame.data_mut().copy_within(0..12, 4);
        let _ = frame.pull_front(4);
    }
}

/// Sets the Ethernet destination and source.
fn set_macs(frame: &mut [u8], dst: MacAddr, src: MacAddr) {
    if let Ok(mut eth) = EthernetFrame::parse(frame) {
        let h = eth.header_mut();
        h.dst = dst;
        h.src = src;
    }
}

#[cfg(test)]
mod tests {
    use super::{Hop, HopCache, IpAddr, MacAddr, Switch, View};
    use crate::policy::{file, Tables};

    /// A next hop resolved for one of the host's own PAs is not remembered (the batch's
    /// one-step path takes a remembered hop as proof that a PA is another host's); one for
    /// another host's PA is.
    #[test]
    fn no_own_pa_is_remembered_as_a_next_hop() {
        let seed = include_str!("../../../docs/examples/seed-policy.json");
        let policy = file::from_json(seed).unwrap();
        let mut sw = Switch::new(Tables::compile(&policy, "HostA").unwrap());
        let own: IpAddr = "192.168.4.11".parse().unwrap();
        let other: IpAddr = "192.168.4.22".parse().unwrap();
        // As if a frame on the uplink had shown a neighbour answering for HostA's own PA.
        sw.learn_neighbor(own, MacAddr([2, 0, 0, 0, 0x0a, 0x99]));
        let view = View {
            tables: &sw.tables,
            learned: &sw.learned,
            neighbors: &sw.neighbors,
        };
        let mut hops = HopCache::new();
        // Both resolve (the other host's PA through HostA's static neighbours) ...
        assert!(view.resolve_next_hop(&mut hops, own, &mut ()).is_some());
        assert!(view.resolve_next_hop(&mut hops, other, &mut ()).is_some());
        // ... and only the other host's is remembered.
        assert_eq!(hops.mac(own), None);
        assert!(hops.mac(other).is_some());
    }

    /// A remembered hop answers for its own PA only, not for another PA of the same slot.
    #[test]
    fn the_hop_cache_answers_for_its_own_pa_only() {
        let pa: IpAddr = "192.168.4.22".parse().unwrap();
        let other: IpAddr = "192.168.6.120".parse().unwrap();
        assert_eq!(HopCache::index(pa), HopCache::index(other), "one slot");
        let mac = MacAddr([2, 0, 0, 0, 0, 0x22]);
        let mut hops = HopCache::new();
        assert_eq!(hops.mac(pa), None);
        hops.put(Hop { pa, via: pa, mac });
        assert_eq!(hops.mac(pa), Some(mac));
        assert_eq!(hops.get(pa).map(|h| h.mac), Some(mac));
        assert_eq!(hops.mac(other), None);
        assert!(hops.get(other).is_none());
        hops.clear();
        assert_eq!(hops.mac(pa), None);
    }
}
