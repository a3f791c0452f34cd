//! Shared by the `switch_port` and `switch_wire` targets.
//!
//! * The two hosts of `docs/examples/seed-policy.json`, compiled once per process. Every
//!   input gets a fresh [`Switch`] over a borrowed snapshot ([`Host`]), so what the switch
//!   learns from one input never changes the outcome of another.
//! * [`Frame`]: a frame in memory with headroom and a tail, both filled with a sentinel;
//!   [`Frame::run`] checks that the switch leaves every byte outside the frame it hands
//!   back as it was.
//! * [`Sink`]: an [`EventSink`] that keeps the decision ([`Step::Action`]) and the NVGRE
//!   header the switch looked at ([`Step::Wire`]).
//! * Checks both targets make: counters, per-VSID counters, IP rewrites, NVGRE the host
//!   sends, the replication of a [`Flood`], and what the host owning a sent frame's
//!   destination PA does with it ([`check_peer_delivery`]).
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use hnv_core::buf::{FrameBuf, PacketBuf};
use hnv_core::ids::{MacAddr, Vsid};
use hnv_core::nvgre::{self, Nvgre};
use hnv_core::policy::{
    file, LookupEntry, LookupTable, NeighborTable, ProviderRouteEntry, Rdid, RouteEntry,
    RouteTable, Tables, VsidEntry,
};
use hnv_core::switch::{
    Action, Event, EventSink, Flood, HostTables, PortId, Remote, Stats, Step, Switch, Verdict,
};
use hnv_core::wire::checksum;

const SEED: &str = include_str!("../../../docs/examples/seed-policy.json");

/// HostA and HostB of the seed policy.
fn hosts() -> &'static [Tables; 2] {
    static HOSTS: OnceLock<[Tables; 2]> = OnceLock::new();
    HOSTS.get_or_init(|| {
        let policy = file::from_json(SEED).expect("the seed policy loads");
        ["HostA", "HostB"].map(|h| Tables::compile(&policy, h).expect("the seed policy compiles"))
    })
}

/// A compiled snapshot shared by every switch of the process. `Tables` is not `Clone`,
/// so each input's switch borrows it; every query is passed through unchanged.
#[derive(Clone, Copy)]
pub struct Host(pub &'static Tables);

impl LookupTable for Host {
    type Subnet = VsidEntry;
    fn by_ca(&self, vsid: Vsid, ca: IpAddr) -> Option<&LookupEntry> {
        self.0.by_ca(vsid, ca)
    }
    fn by_mac(&self, vsid: Vsid, mac: MacAddr) -> Option<&LookupEntry> {
        self.0.by_mac(vsid, mac)
    }
    fn by_pa(&self, pa: IpAddr) -> Option<&LookupEntry> {
        self.0.by_pa(pa)
    }
    fn vsid(&self, vsid: Vsid) -> Option<&VsidEntry> {
        self.0.vsid(vsid)
    }
    fn record(&self, index: u32) -> Option<&LookupEntry> {
        self.0.record(index)
    }
    fn looks_ahead(&self) -> bool {
        self.0.looks_ahead()
    }
    fn prefetch_by_mac(&self, vsid: Vsid, mac: MacAddr) {
        self.0.prefetch_by_mac(vsid, mac);
    }
    fn look_ahead_by_mac(&self, vsid: Vsid, mac: MacAddr) -> Option<u32> {
        self.0.look_ahead_by_mac(vsid, mac)
    }
}

impl RouteTable for Host {
    fn customer_route(&self, rdid_index: u32, dst: IpAddr) -> Option<&RouteEntry> {
        self.0.customer_route(rdid_index, dst)
    }
    fn provider_route(&self, dst: IpAddr) -> Option<&ProviderRouteEntry> {
        self.0.provider_route(dst)
    }
}

impl NeighborTable for Host {
    fn neighbor(&self, ip: IpAddr) -> Option<MacAddr> {
        self.0.neighbor(ip)
    }
}

impl HostTables for Host {
    fn own_pas(&self) -> &[IpAddr] {
        <Tables as HostTables>::own_pas(self.0)
    }
    fn uplink_mac(&self) -> MacAddr {
        <Tables as HostTables>::uplink_mac(self.0)
    }
    fn uplink_mtu(&self) -> u16 {
        <Tables as HostTables>::uplink_mtu(self.0)
    }
    fn gateway_mac(&self) -> MacAddr {
        <Tables as HostTables>::gateway_mac(self.0)
    }
    fn port_count(&self) -> usize {
        <Tables as HostTables>::port_count(self.0)
    }
    fn port(&self, port: PortId) -> Option<(MacAddr, Option<Vsid>)> {
        <Tables as HostTables>::port(self.0, port)
    }
    fn owns_pa(&self, pa: IpAddr) -> bool {
        <Tables as HostTables>::owns_pa(self.0, pa)
    }
    fn port_by_mac(&self, vsid: Option<Vsid>, mac: MacAddr) -> Option<PortId> {
        <Tables as HostTables>::port_by_mac(self.0, vsid, mac)
    }
}

pub type Sw = Switch<Host>;

/// A fresh switch of HostA, or HostB when `host_b`.
pub fn switch(host_b: bool) -> Sw {
    Switch::new(Host(&hosts()[usize::from(host_b)]))
}

/// The snapshot under `sw`.
pub fn tables(sw: &Sw) -> &'static Tables {
    sw.tables().0
}

/// Routing domain of `vsid` on this host (dense index), if the host knows the VSID.
pub fn rd(t: &Tables, vsid: Vsid) -> Option<u32> {
    t.vsid(vsid).map(|s| s.rdid_index)
}

/// Routing domain of `vsid` (its GUID, comparable across hosts).
pub fn rdid(t: &Tables, vsid: Vsid) -> Option<Rdid> {
    t.vsid(vsid).map(|s| s.rdid)
}

// ---- events ---------------------------------------------------------------------------------

/// Keeps what the switch reports about one frame.
#[derive(Default)]
pub struct Sink {
    /// The decision.
    pub action: Option<Action>,
    /// Outer source PA, destination PA and VSID of an NVGRE frame from the wire.
    pub wire: Option<(IpAddr, IpAddr, Vsid)>,
    /// Every event.
    pub events: Vec<Event>,
}

impl EventSink for Sink {
    fn event(&mut self, event: Event) {
        self.events.push(event);
    }
    fn trace(&mut self, step: Step) {
        match step {
            Step::Action(a) => {
                assert!(
                    self.action.replace(a).is_none(),
                    "two decisions for one frame"
                );
            }
            Step::Wire {
                src_pa,
                dst_pa,
                vsid,
            } => self.wire = Some((src_pa, dst_pa, vsid)),
            _ => {}
        }
    }
}

// ---- buffers --------------------------------------------------------------------------------

/// Fill of the headroom and tail.
pub const SENTINEL: u8 = 0xa5;
/// Bytes after the frame.
pub const TAIL: usize = 8;
/// Headroom for every encapsulation and ICMP error the switch makes.
pub const FULL_HEADROOM: usize = 128;

/// Headroom selector: bit 7 clear gives [`FULL_HEADROOM`], set gives bits 0..=6 (so
/// encapsulation and ICMP errors also meet too little headroom).
pub fn headroom(sel: u8) -> usize {
    if sel & 0x80 == 0 {
        FULL_HEADROOM
    } else {
        usize::from(sel & 0x7f)
    }
}

/// A frame at `mem[off..off + len]`.
pub struct Frame {
    pub mem: Vec<u8>,
    pub off: usize,
    pub len: usize,
}

impl Frame {
    /// `bytes` after `headroom` sentinel bytes, followed by [`TAIL`] more.
    pub fn new(bytes: &[u8], headroom: usize) -> Self {
        let mut mem = vec![SENTINEL; headroom + bytes.len() + TAIL];
        mem[headroom..headroom + bytes.len()].copy_from_slice(bytes);
        Self {
            mem,
            off: headroom,
            len: bytes.len(),
        }
    }

    /// The frame's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.mem[self.off..self.off + self.len]
    }

    /// Runs `f` on a `FrameBuf` over the frame and keeps where the frame ends up. Checks
    /// that the frame stays inside the memory and that no byte outside the resulting frame
    /// changed.
    pub fn run<R>(&mut self, f: impl FnOnce(&mut FrameBuf<'_>) -> R) -> R {
        let before = self.mem.clone();
        let mut fb = FrameBuf::new(&mut self.mem, self.off, self.len).expect("frame in bounds");
        let r = f(&mut fb);
        let (off, len) = (fb.offset(), fb.len());
        assert_eq!(fb.data().len(), len);
        drop(fb);
        let end = off.checked_add(len).expect("frame end overflows");
        assert!(
            end <= self.mem.len(),
            "frame {off}..{end} outside the buffer"
        );
        assert!(
            self.mem[..off] == before[..off] && self.mem[end..] == before[end..],
            "bytes outside the frame {off}..{end} changed"
        );
        self.off = off;
        self.len = len;
        r
    }
}

// ---- frames ---------------------------------------------------------------------------------

pub fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

pub fn mac_at(b: &[u8], at: usize) -> MacAddr {
    MacAddr(b[at..at + 6].try_into().expect("6 bytes"))
}

pub fn v4_at(b: &[u8], at: usize) -> Ipv4Addr {
    Ipv4Addr::from(<[u8; 4]>::try_from(&b[at..at + 4]).expect("4 bytes"))
}

pub fn v6_at(b: &[u8], at: usize) -> Ipv6Addr {
    Ipv6Addr::from(<[u8; 16]>::try_from(&b[at..at + 16]).expect("16 bytes"))
}

/// True for the TPIDs of 802.1Q and 802.1ad.
pub fn is_tag(t: u16) -> bool {
    t == 0x8100 || t == 0x88a8
}

/// Offset and type of the L3 header after Ethernet and at most one tag.
pub fn l3_of(frame: &[u8]) -> Option<(usize, u16)> {
    if frame.len() < 14 {
        return None;
    }
    let t = be16(frame, 12);
    if is_tag(t) {
        (frame.len() >= 18).then(|| (18, be16(frame, 16)))
    } else {
        Some((14, t))
    }
}

/// Header and total length of the IPv4 packet `ip`, when both are consistent and whole.
pub fn ipv4_lengths(ip: &[u8]) -> Option<(usize, usize)> {
    let vihl = *ip.first()?;
    if vihl >> 4 != 4 || ip.len() < 20 {
        return None;
    }
    let hlen = usize::from(vihl & 0x0f) * 4;
    let total = usize::from(be16(ip, 2));
    (hlen >= 20 && total >= hlen && total <= ip.len()).then_some((hlen, total))
}

/// Offset of the TCP / UDP checksum in its header.
fn l4_check_at(protocol: u8) -> Option<usize> {
    match protocol {
        6 => Some(16),
        17 => Some(6),
        _ => None,
    }
}

/// Whether the checksums of the IPv4 packet `ip` verify: (header, TCP or UDP). The second
/// is `None` without an L4 checksum to check (other protocol, not the first fragment, a
/// segment ending before its checksum field, a UDP checksum of 0).
pub fn ipv4_checksums(ip: &[u8]) -> Option<(bool, Option<bool>)> {
    let (hlen, total) = ipv4_lengths(ip)?;
    let header = checksum::verifies(&ip[..hlen]);
    let protocol = ip[9];
    let first = be16(ip, 6) & 0x1fff == 0;
    let seg = &ip[hlen..total];
    let Some(at) = l4_check_at(protocol).filter(|at| first && seg.len() >= at + 2) else {
        return Some((header, None));
    };
    if protocol == 17 && seg[at..at + 2] == [0, 0] {
        return Some((header, None));
    }
    let len = u16::try_from(seg.len()).ok()?;
    let sum = checksum::pseudo_v4(v4_at(ip, 12), v4_at(ip, 16), protocol, len)
        .add_bytes(seg)
        .sum();
    Some((header, Some(sum == 0xffff)))
}

/// Input fix-ups so the fuzzer gets past lengths and checksums (`mode` bits): bit 0 the
/// IPv4 header checksum, bit 1 the IPv4 total length / IPv6 payload length (to the frame
/// length), bit 2 the TCP, UDP, ICMP or ICMPv6 checksum right after the IP header.
pub fn fix_up(frame: &mut [u8], mode: u8) {
    let Some((l3, ethertype)) = l3_of(frame) else {
        return;
    };
    let len = frame.len() - l3;
    let ip = &mut frame[l3..];
    match ethertype {
        0x0800 if len >= 20 => {
            if mode & 2 != 0 {
                let total = u16::try_from(len).unwrap_or(u16::MAX);
                ip[2..4].copy_from_slice(&total.to_be_bytes());
            }
            if mode & 4 != 0 {
                fix_l4_v4(ip);
            }
            let hlen = usize::from(ip[0] & 0x0f) * 4;
            if mode & 1 != 0 && hlen >= 20 && len >= hlen {
                ip[10..12].fill(0);
                let c = checksum::of(&ip[..hlen]);
                ip[10..12].copy_from_slice(&c.to_be_bytes());
            }
        }
        0x86dd if len >= 40 => {
            if mode & 2 != 0 {
                let plen = u16::try_from(len - 40).unwrap_or(u16::MAX);
                ip[4..6].copy_from_slice(&plen.to_be_bytes());
            }
            if mode & 4 != 0 {
                fix_l4_v6(ip);
            }
        }
        _ => {}
    }
}

fn store_l4_sum(seg: &mut [u8], at: usize, protocol: u8, sum: u16) {
    let sum = if protocol == 17 && sum == 0 {
        0xffff
    } else {
        sum
    };
    seg[at..at + 2].copy_from_slice(&sum.to_be_bytes());
}

fn fix_l4_v4(ip: &mut [u8]) {
    let Some((hlen, total)) = ipv4_lengths(ip) else {
        return;
    };
    if be16(ip, 6) & 0x1fff != 0 {
        return;
    }
    let (protocol, src, dst) = (ip[9], v4_at(ip, 12), v4_at(ip, 16));
    let seg = &mut ip[hlen..total];
    let Some(at) = l4_check_at(protocol).or((protocol == 1).then_some(2)) else {
        return;
    };
    if seg.len() < at + 2 {
        return;
    }
    seg[at..at + 2].fill(0);
    let sum = if protocol == 1 {
        checksum::of(seg)
    } else {
        let Ok(len) = u16::try_from(seg.len()) else {
            return;
        };
        checksum::pseudo_v4(src, dst, protocol, len)
            .add_bytes(seg)
            .finish()
    };
    store_l4_sum(seg, at, protocol, sum);
}

fn fix_l4_v6(ip: &mut [u8]) {
    let (plen, next, src, dst) = (usize::from(be16(ip, 4)), ip[6], v6_at(ip, 8), v6_at(ip, 24));
    let Some(seg) = ip.get_mut(40..40 + plen) else {
        return;
    };
    let Some(at) = l4_check_at(next).or((next == 58).then_some(2)) else {
        return;
    };
    if seg.len() < at + 2 {
        return;
    }
    seg[at..at + 2].fill(0);
    let sum = checksum::pseudo_v6(src, dst, next, plen as u32)
        .add_bytes(seg)
        .finish();
    store_l4_sum(seg, at, next, sum);
}

/// True when the ICMPv6 message after the fixed IPv6 header of `ip` checksums correctly.
pub fn icmpv6_verifies(ip: &[u8]) -> bool {
    let plen = usize::from(be16(ip, 4));
    let Some(msg) = ip.get(40..40 + plen) else {
        return false;
    };
    checksum::pseudo_v6(v6_at(ip, 8), v6_at(ip, 24), 58, plen as u32)
        .add_bytes(msg)
        .sum()
        == 0xffff
}

// ---- checks ---------------------------------------------------------------------------------

/// The counters moved by exactly what one frame with `verdict` moves: one drop under its
/// reason, or one of wire_tx / replies / floods / consumed / the destination port's tx.
pub fn check_counted(before: &Stats, after: &Stats, verdict: Verdict) {
    let mut drops = before.drops;
    let mut port_tx = before.port_tx;
    let mut wire_tx = before.wire_tx;
    let mut replies = before.replies;
    let mut floods = before.floods;
    let mut consumed = before.consumed;
    match verdict {
        Verdict::Drop(r) => {
            assert_eq!(
                after.dropped(r),
                before.dropped(r) + 1,
                "{r:?} not counted once"
            );
            drops[r.index()] += 1;
        }
        Verdict::ToPort(p) => {
            if let Some(c) = port_tx.get_mut(p.index()) {
                *c += 1;
            }
        }
        Verdict::ToWire => wire_tx += 1,
        Verdict::Reply => replies += 1,
        Verdict::Flood(_) => floods += 1,
        Verdict::Consumed => consumed += 1,
    }
    let dropped = u64::from(matches!(verdict, Verdict::Drop(_)));
    assert_eq!(after.total_drops(), before.total_drops() + dropped);
    assert_eq!(after.drops, drops, "drop counters after {verdict:?}");
    assert_eq!(after.port_tx, port_tx, "port tx counters after {verdict:?}");
    assert_eq!(
        (after.wire_tx, after.replies, after.floods, after.consumed),
        (wire_tx, replies, floods, consumed),
        "verdict counters after {verdict:?}"
    );
}

/// The counters of `vsid` moved by one frame with `verdict`.
pub fn check_vsid_counted(before: &Stats, after: &Stats, vsid: Vsid, verdict: Verdict) {
    if after.vsid_overflow != before.vsid_overflow {
        return;
    }
    let (b, a) = (before.vsid(vsid), after.vsid(vsid));
    let dropped = matches!(verdict, Verdict::Drop(_));
    let forwarded = !dropped && verdict != Verdict::Consumed;
    assert_eq!(
        (a.frames, a.dropped, a.forwarded),
        (
            b.frames + 1,
            b.dropped + u64::from(dropped),
            b.forwarded + u64::from(forwarded)
        ),
        "counters of VSID {} after {verdict:?}",
        vsid.get()
    );
}

/// The destination address of the IP packet in `frame` (after at most one tag).
pub fn ip_dst(frame: &[u8]) -> Option<IpAddr> {
    let (l3, ethertype) = l3_of(frame)?;
    let ip = &frame[l3..];
    match ethertype {
        0x0800 if ip.len() >= 20 => Some(IpAddr::V4(v4_at(ip, 16))),
        0x86dd if ip.len() >= 40 => Some(IpAddr::V6(v6_at(ip, 24))),
        _ => None,
    }
}

/// Hands `frame`, sent to the wire by a VM of routing domain `domain`, to a fresh switch
/// of the seed host that owns its destination address, if one does: whatever that host
/// delivers to its VMs (a port, or a flood) must be in the same routing domain.
pub fn check_peer_delivery(frame: &[u8], domain: Rdid) {
    let Some(dst) = ip_dst(frame) else {
        return;
    };
    let Some(peer) = hosts().iter().position(|t| t.owns_pa(dst)) else {
        return;
    };
    let mut sw = switch(peer == 1);
    let t = tables(&sw);
    let mut f = Frame::new(frame, FULL_HEADROOM);
    let v = f.run(|b| sw.from_wire(b, &mut ()));
    let reached = match v {
        Verdict::ToPort(q) => t.ports()[q.index()].vsid,
        Verdict::Flood(fl) => Some(fl.vsid),
        _ => return,
    };
    assert_eq!(
        reached.and_then(|v| rdid(t, v)),
        Some(domain),
        "a frame sent from routing domain {domain} reached VSID {:?} ({v:?}) on {}",
        reached.map(Vsid::get),
        t.host()
    );
}

/// The MAC of the provider-network next hop towards `pa`: a static neighbour, else one
/// the switch learned.
pub fn next_hop_mac(sw: &Sw, pa: IpAddr) -> Option<MacAddr> {
    let t = tables(sw);
    let hop = t.provider_route(pa).and_then(|r| r.next_hop).unwrap_or(pa);
    t.neighbor(hop).or_else(|| {
        sw.learned_neighbors()
            .find_map(|(ip, mac)| (ip == hop).then_some(mac))
    })
}

/// An NVGRE frame this host sends: valid per `nvgre::inspect`, from the uplink MAC to the
/// next hop's MAC, from one of this host's PAs to another host's PA of the same family,
/// within the uplink MTU, the inner frame at `inner_at` in memory (encapsulation does not
/// move it) and `inner_len` bytes long.
pub fn check_sent_nvgre(sw: &Sw, f: &Frame, inner_at: usize, inner_len: usize) -> Nvgre {
    let t = tables(sw);
    let out = f.bytes();
    let n = nvgre::inspect(out).unwrap_or_else(|r| panic!("sent frame is not NVGRE: {r:?}"));
    let outer = n.outer(out);
    let (src, dst) = (outer.underlay.src(), outer.underlay.dst());
    assert_eq!(outer.src_mac, t.uplink_mac(), "outer source MAC");
    assert!(t.owns_pa(src), "sent from {src}, not an own PA");
    assert!(!t.owns_pa(dst), "sent to own PA {dst}");
    assert_eq!(src.is_ipv4(), dst.is_ipv4());
    assert_eq!(
        Some(outer.dst_mac),
        next_hop_mac(sw, dst),
        "outer MAC for {dst}"
    );
    assert_eq!(n.outer_vlan(), None);
    assert!(
        out.len() - n.l3_offset() <= usize::from(t.uplink_mtu()),
        "outer packet of {} bytes over the uplink MTU",
        out.len() - n.l3_offset()
    );
    assert_eq!(f.off + n.inner_offset(), inner_at, "inner frame moved");
    assert_eq!(n.inner_len(), inner_len, "inner frame length");
    n
}

/// An IP rewrite (TranslationMethodNat) of `before` into `after`: same length and bytes
/// but for the MACs, the IP addresses (now `src` and `dst`) and the checksums; an IPv4
/// header or TCP / UDP checksum that verified still does. A provider VLAN tag of `before`
/// may be gone from `after` (delivery to a VM), and nothing else.
pub fn check_rewrite(before: &[u8], after: &[u8], src: IpAddr, dst: IpAddr) {
    let untagged: Vec<u8>;
    let tag = before.get(12..14).map(|t| u16::from_be_bytes([t[0], t[1]]));
    let before = if after.len() + 4 == before.len() && matches!(tag, Some(0x8100 | 0x88a8)) {
        untagged = [&before[..12], &before[16..]].concat();
        &untagged[..]
    } else {
        before
    };
    assert_eq!(after.len(), before.len(), "rewrite changed the length");
    let (l3, ethertype) = l3_of(before).expect("rewritten frame has an L3 header");
    assert_eq!(
        after[12..l3],
        before[12..l3],
        "rewrite changed the Ethernet type / tag"
    );
    match (ethertype, src, dst) {
        (0x0800, IpAddr::V4(s), IpAddr::V4(d)) => {
            let (b, a) = (&before[l3..], &after[l3..]);
            assert_eq!((v4_at(a, 12), v4_at(a, 16)), (s, d), "rewritten addresses");
            let (hlen, _) = ipv4_lengths(b).expect("rewritten IPv4 packet");
            let mut mask = vec![true; b.len()];
            mask[10..20].fill(false);
            if let Some(at) = l4_check_at(b[9]) {
                if let Some(m) = mask.get_mut(hlen + at..hlen + at + 2) {
                    m.fill(false);
                }
            }
            for (i, keep) in mask.iter().enumerate() {
                if *keep {
                    assert_eq!(a[i], b[i], "rewrite changed byte {} of the IP packet", i);
                }
            }
            let (hb, lb) = ipv4_checksums(b).expect("IPv4 before");
            let (ha, la) = ipv4_checksums(a).expect("IPv4 after");
            assert!(!hb || ha, "rewrite broke the IPv4 header checksum");
            if lb == Some(true) {
                assert_eq!(la, Some(true), "rewrite broke the TCP/UDP checksum");
            }
        }
        (0x86dd, IpAddr::V6(s), IpAddr::V6(d)) => {
            let a = &after[l3..];
            assert_eq!((v6_at(a, 8), v6_at(a, 24)), (s, d), "rewritten addresses");
        }
        other => panic!("rewrite across families: {other:?}"),
    }
}

/// Replicates `fl` as a caller would: the local ports (`flood_ports`) are exactly the
/// VSID's ports but the ingress one, the PAs (`flood_pas`) exactly the VSID's other hosts
/// (or L2Only PAs) and never this host's; each `encap_copy` of `frame` (in a buffer with
/// `headroom`) is counted once and is either a drop that leaves the copy as it was or
/// NVGRE with the flood's VSID to that PA carrying `frame` unchanged.
pub fn check_flood(sw: &mut Sw, fl: Flood, frame: &[u8], src_mac: MacAddr, headroom: usize) {
    let t = tables(sw);
    let ports: Vec<PortId> = sw.flood_ports(&fl).collect();
    let want: Vec<PortId> = t
        .ports()
        .iter()
        .enumerate()
        .map(|(i, p)| (PortId(u16::try_from(i).expect("port index")), p))
        .filter(|(id, p)| p.vsid == Some(fl.vsid) && Some(*id) != fl.except)
        .map(|(id, _)| id)
        .collect();
    assert_eq!(ports, want, "flood ports of {fl:?}");
    let pas: Vec<IpAddr> = sw.flood_pas(&fl).collect();
    let listed: &[IpAddr] = match (fl.remote, t.vsid(fl.vsid)) {
        (Remote::Hosting, Some(s)) => &s.remote_pas,
        (Remote::L2Only, Some(s)) => &s.l2only_pas,
        _ => &[],
    };
    let want: Vec<IpAddr> = listed
        .iter()
        .copied()
        .filter(|pa| !t.owns_pa(*pa))
        .collect();
    assert_eq!(pas, want, "flood PAs of {fl:?}");
    for pa in pas {
        let mut copy = Frame::new(frame, headroom);
        let mem = copy.mem.clone();
        let before = sw.stats().clone();
        let v = copy.run(|c| sw.encap_copy(c, fl.vsid, src_mac, pa, &mut ()));
        check_counted(&before, sw.stats(), v);
        match v {
            Verdict::ToWire => {
                let n = check_sent_nvgre(sw, &copy, headroom, frame.len());
                assert_eq!(n.vsid(), fl.vsid, "VSID of the copy for {pa}");
                assert_eq!(n.underlay(copy.bytes()).dst(), pa, "copy sent elsewhere");
                let inner = &copy.bytes()[n.inner_offset()..];
                assert_eq!(&inner[..n.inner_len()], frame, "copy changed the frame");
                if let Some(domain) = rdid(t, fl.vsid) {
                    check_peer_delivery(copy.bytes(), domain);
                }
            }
            Verdict::Drop(_) => {
                assert!(
                    copy.mem == mem && copy.off == headroom,
                    "dropped copy changed"
                );
            }
            other => panic!("encap_copy to {pa}: {other:?}"),
        }
    }
}

/// The traced action agrees with the verdict: a plain forward or a drop gives the verdict
/// it names, a forward leaves the frame as it was (`mem` before, at `headroom`), and any
/// drop leaves the whole buffer untouched (`len` bytes at `headroom`).
pub fn check_action(
    action: Action,
    verdict: Verdict,
    f: &Frame,
    mem: &[u8],
    headroom: usize,
    len: usize,
) {
    match action {
        Action::Forward(v) => {
            assert_eq!(verdict, v, "verdict of {action:?}");
            assert!(
                f.mem == mem && f.off == headroom,
                "{action:?} changed the frame"
            );
        }
        Action::Drop(r) => assert_eq!(verdict, Verdict::Drop(r), "verdict of {action:?}"),
        _ => {}
    }
    if let Verdict::Drop(_) = verdict {
        assert!(
            f.mem == mem && f.off == headroom && f.len == len,
            "{verdict:?} after {action:?} changed the buffer"
        );
    }
}
