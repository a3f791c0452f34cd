//! The control thread of a host: it receives the switches' events over a channel,
//! resolves provider next hops by ARP (IPv4) or neighbour solicitation (IPv6) on the
//! uplink, shares what one worker learned with every worker, applies policy reloads, and
//! watches the devices' link state.
//!
//! Everything it changes goes through the [`LiveTables`] handle: it builds a new
//! [`SharedTables`] value and publishes it; each worker picks the new snapshot up at the
//! start of its next round, so forwarding never stops.
//!
//! - **Resolution.** An [`Event::UnresolvedNeighbor`] starts a resolution of that next
//!   hop: a request from the host's first PA of the hop's family, out of the uplink, then
//!   retries after 100 ms, 200 ms, … (doubling, [`MAX_ATTEMPTS`] requests in all); then it
//!   counts as failed, and a later event starts again. Requests are [`CtlFrame`]s sent
//!   over a channel to whichever thread owns the uplink.
//! - **Answers.** [`UplinkSnoop`] wraps the uplink device: every ARP message or neighbour
//!   solicitation / advertisement addressed to one of the host's PAs tells the control
//!   thread the sender's MAC (the switch itself only keeps what it sees in its own map,
//!   which other workers do not read).
//! - **Learned records.** [`Event::Learned`] records are added to the shared snapshot, so
//!   every worker finds them, not only the one that saw the ARP.
//! - **Reloads.** When the reload flag is set (SIGHUP), the reload function compiles the
//!   policy file again; an error is printed with its problems and the old tables stay.
//! - **Links.** Every [`LINK_CHECK`] the `operstate` of every device is read; a change is
//!   printed on stderr and counted.
//!
//! Allocation: the data path only sends [`ControlMsg`] values (`Copy`) into a bounded
//! channel (full: counted in [`Events::dropped`]); the control thread allocates when it
//! publishes a snapshot, which happens once per new neighbour, record or reload.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};
use hnv_core::ids::MacAddr;
use hnv_core::policy::Tables;
use hnv_core::switch::{Event, EventSink, HostTables};
use hnv_core::wire::arp::{ArpHeader, ArpOp, ArpPacket};
use hnv_core::wire::checksum;
use hnv_core::wire::ethernet::{EtherType, EthernetFrame};
use hnv_core::wire::ip_proto;
use hnv_core::wire::ipv6::Ipv6Packet;
use zerocopy::IntoBytes;

use crate::frame::Frame;
use crate::port::{FrameAccount, Port, PortCounters, PortError};
use crate::shared::{LiveTables, SharedTables};
use crate::worker::EventCounts;

/// Requests sent for one next hop before the resolution counts as failed.
pub const MAX_ATTEMPTS: u32 = 6;
/// Wait before the first retry (doubled after each).
pub const FIRST_RETRY: Duration = Duration::from_millis(100);
/// How often the link state of the devices is read.
pub const LINK_CHECK: Duration = Duration::from_millis(250);
/// Capacity of the event channel (workers → control thread).
pub const EVENT_QUEUE: usize = 4096;
/// Capacity of the request channel (control thread → uplink owner).
pub const REQUEST_QUEUE: usize = 256;
/// How long a worker waits before reporting the same unresolved next hop again.
const REPEAT_UNRESOLVED: Duration = Duration::from_millis(50);

/// A frame the control thread built (an ARP request or a neighbour solicitation), kept
/// inline so that sending it allocates nothing.
#[derive(Clone, Copy)]
pub struct CtlFrame {
    len: usize,
    bytes: [u8; 96],
}

impl fmt::Debug for CtlFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CtlFrame")
            .field("len", &self.len)
            .field("bytes", &self.bytes())
            .finish()
    }
}

impl CtlFrame {
    /// The frame's bytes.
    pub fn bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

/// What the data path tells the control thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlMsg {
    /// An event of a worker's switch.
    Event(Event),
    /// A provider neighbour's MAC, seen on the uplink in ARP / ND addressed to this host.
    Neighbor(IpAddr, MacAddr),
}

/// Writes the Ethernet header (with an 802.1Q tag when `vlan` is set) at the start of
/// `out`; returns its length.
fn ethernet(out: &mut [u8; 96], dst: MacAddr, src: MacAddr, vlan: Option<u16>, ty: u16) -> usize {
    out[..6].copy_from_slice(&dst.0);
    out[6..12].copy_from_slice(&src.0);
    if let Some(vid) = vlan {
        out[12..14].copy_from_slice(&0x8100u16.to_be_bytes());
        out[14..16].copy_from_slice(&(vid & 0x0fff).to_be_bytes());
        out[16..18].copy_from_slice(&ty.to_be_bytes());
        18
    } else {
        out[12..14].copy_from_slice(&ty.to_be_bytes());
        14
    }
}

/// A broadcast ARP request "who has `target`? tell `src_ip`" from `src_mac`.
pub fn arp_request(
    src_mac: MacAddr,
    vlan: Option<u16>,
    src_ip: Ipv4Addr,
    target: Ipv4Addr,
) -> CtlFrame {
    let mut bytes = [0u8; 96];
    let at = ethernet(&mut bytes, MacAddr([0xff; 6]), src_mac, vlan, 0x0806);
    let arp = ArpHeader::new_request(src_mac, src_ip, target);
    bytes[at..at + ArpHeader::LEN].copy_from_slice(arp.as_bytes());
    CtlFrame {
        len: at + ArpHeader::LEN,
        bytes,
    }
}

/// The solicited-node multicast address of `ip` (RFC 4291 §2.7.1).
pub fn solicited_node(ip: Ipv6Addr) -> Ipv6Addr {
    let o = ip.octets();
    Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(o[13]),
        u16::from_be_bytes([o[14], o[15]]),
    )
}

/// A neighbour solicitation for `target` from `src_ip` / `src_mac` (with the source
/// link-layer address option), to the target's solicited-node multicast address.
pub fn neighbor_solicitation(
    src_mac: MacAddr,
    vlan: Option<u16>,
    src_ip: Ipv6Addr,
    target: Ipv6Addr,
) -> CtlFrame {
    const ICMP_LEN: usize = 32; // type, code, checksum, reserved, target, SLLA option
    let dst = solicited_node(target);
    let d = dst.octets();
    let mac = MacAddr([0x33, 0x33, d[12], d[13], d[14], d[15]]);
    let mut bytes = [0u8; 96];
    let at = ethernet(&mut bytes, mac, src_mac, vlan, 0x86dd);
    let ip = &mut bytes[at..at + 40];
    ip[0] = 0x60;
    ip[4..6].copy_from_slice(&(ICMP_LEN as u16).to_be_bytes());
    ip[6] = ip_proto::ICMPV6;
    ip[7] = 255;
    ip[8..24].copy_from_slice(&src_ip.octets());
    ip[24..40].copy_from_slice(&d);
    let icmp = &mut bytes[at + 40..at + 40 + ICMP_LEN];
    icmp[0] = 135;
    icmp[8..24].copy_from_slice(&target.octets());
    icmp[24] = 1; // source link-layer address
    icmp[25] = 1; // in units of 8 bytes
    icmp[26..32].copy_from_slice(&src_mac.0);
    let sum = checksum::pseudo_v6(src_ip, dst, ip_proto::ICMPV6, ICMP_LEN as u32)
        .add_bytes(icmp)
        .finish();
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    CtlFrame {
        len: at + 40 + ICMP_LEN,
        bytes,
    }
}

/// The provider neighbour a frame from the wire reveals: the sender of an ARP message or
/// neighbour solicitation for one of `tables`' PAs, or the target of a neighbour
/// advertisement sent to one of them.
pub fn snoop(frame: &[u8], tables: &SharedTables) -> Option<(IpAddr, MacAddr)> {
    let eth = EthernetFrame::parse(frame).ok()?;
    match eth.ethertype() {
        EtherType::ARP => {
            let arp = ArpPacket::parse(eth.payload()).ok()?;
            let target = IpAddr::V4(arp.target_ip());
            let sender = arp.sender_ip();
            let useful = matches!(arp.operation(), ArpOp::Request | ArpOp::Reply)
                && !sender.is_unspecified()
                && tables.owns_pa(target)
                && !arp.sender_mac().is_multicast();
            useful.then(|| (IpAddr::V4(sender), arp.sender_mac()))
        }
        EtherType::IPV6 => {
            let ip = Ipv6Packet::parse(eth.payload()).ok()?;
            let h = ip.header();
            if h.next_header != ip_proto::ICMPV6 || eth.src().is_multicast() {
                return None;
            }
            let icmp = hnv_core::wire::icmpv6::Icmpv6Packet::parse(ip.payload()).ok()?;
            // RFC 4861 §7.1.1/§7.1.2: only from the link itself, and intact.
            if h.hop_limit != 255 || !icmp.verify_checksum(h.src(), h.dst()) {
                return None;
            }
            match icmp.msg_type() {
                // A solicitation for an own PA: its sender (unless it is DAD).
                135 => {
                    let ns = icmp.neighbor_solicit().ok()?;
                    let ok = tables.owns_pa(IpAddr::V6(ns.target())) && !h.src().is_unspecified();
                    ok.then(|| (IpAddr::V6(h.src()), eth.src()))
                }
                // An advertisement to an own PA: the target is at the link address
                // (the option, else the frame's source).
                136 => {
                    let na = icmp.neighbor_advert().ok()?;
                    tables.owns_pa(IpAddr::V6(h.dst())).then(|| {
                        (
                            IpAddr::V6(na.target()),
                            na.target_link_addr().unwrap_or_else(|| eth.src()),
                        )
                    })
                }
                _ => None,
            }
        }
        _ => None,
    }
}

// ---- the worker side --------------------------------------------------------------------

/// A worker's event sink: counts every event and forwards it to the control thread
/// (when there is one) without blocking.
#[derive(Debug, Default)]
pub struct Events {
    counts: EventCounts,
    to_control: Option<Sender<ControlMsg>>,
    last_unresolved: Option<(IpAddr, Instant)>,
    /// Events not forwarded because the channel was full.
    pub dropped: u64,
}

impl Events {
    /// A sink forwarding to `to_control`.
    pub fn to(to_control: Sender<ControlMsg>) -> Self {
        Self {
            to_control: Some(to_control),
            ..Self::default()
        }
    }

    /// The events counted.
    pub fn counts(&self) -> EventCounts {
        self.counts
    }
}

impl EventSink for Events {
    fn event(&mut self, event: Event) {
        self.counts.event(event);
        let Some(tx) = &self.to_control else {
            return;
        };
        if let Event::UnresolvedNeighbor(hop) = event {
            // Every frame to an unresolved next hop raises the event: report a hop at
            // most every REPEAT_UNRESOLVED.
            let now = Instant::now();
            if let Some((last, at)) = self.last_unresolved {
                if last == hop && now.duration_since(at) < REPEAT_UNRESOLVED {
                    return;
                }
            }
            self.last_unresolved = Some((hop, now));
        }
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
            tx.try_send(ControlMsg::Event(event))
        {
            self.dropped += 1;
        }
    }
}

/// The uplink device with a look at every received frame for provider neighbours
/// ([`snoop`]), reported to the control thread. Everything else is the device's.
pub struct UplinkSnoop {
    inner: Box<dyn Port>,
    live: Arc<LiveTables>,
    to_control: Sender<ControlMsg>,
    dropped: Arc<AtomicU64>,
}

impl UplinkSnoop {
    /// Wraps `inner`; neighbours not reported because the channel was full are counted
    /// in `dropped`.
    pub fn new(
        inner: Box<dyn Port>,
        live: Arc<LiveTables>,
        to_control: Sender<ControlMsg>,
        dropped: Arc<AtomicU64>,
    ) -> Self {
        Self {
            inner,
            live,
            to_control,
            dropped,
        }
    }
}

/// True for the frames [`snoop`] looks into (ARP, and IPv6 without a VLAN tag or with
/// one): cheap enough to ask of every frame.
fn maybe_neighbor(frame: &[u8]) -> bool {
    let ty = |at: usize| {
        frame
            .get(at..at + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
    };
    match ty(12) {
        Some(0x0806 | 0x86dd) => true,
        Some(0x8100 | 0x88a8) => matches!(ty(16), Some(0x0806 | 0x86dd)),
        _ => false,
    }
}

impl Port for UplinkSnoop {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
    fn recv(&mut self, frames: &mut [Frame]) -> Result<usize, PortError> {
        let n = self.inner.recv(frames)?;
        let mut snap = None;
        for f in frames.iter().take(n) {
            if !maybe_neighbor(f.bytes()) {
                continue;
            }
            let tables = snap.get_or_insert_with(|| self.live.load());
            if let Some((ip, mac)) = snoop(f.bytes(), tables) {
                if tables.neighbor_mac(ip) == Some(mac) {
                    continue;
                }
                if self
                    .to_control
                    .try_send(ControlMsg::Neighbor(ip, mac))
                    .is_err()
                {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        Ok(n)
    }
    fn send(&mut self, frame: &[u8]) -> bool {
        self.inner.send(frame)
    }
    fn flush(&mut self) -> Result<(), PortError> {
        self.inner.flush()
    }
    fn counters(&self) -> PortCounters {
        self.inner.counters()
    }
    fn poll_fd(&self) -> RawFd {
        self.inner.poll_fd()
    }
    fn frames(&self) -> Option<FrameAccount> {
        self.inner.frames()
    }
    fn drain(&mut self, timeout: Duration) {
        self.inner.drain(timeout);
    }
}

// ---- the control thread -----------------------------------------------------------------

/// Counters of the control thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ControlCounters {
    /// ARP requests handed to the uplink owner.
    pub arp_requests: u64,
    /// Neighbour solicitations handed to the uplink owner.
    pub solicitations: u64,
    /// Requests not sent (request channel full, or no PA of the hop's family).
    pub requests_dropped: u64,
    /// Next hops resolved after a request.
    pub resolved: u64,
    /// Resolutions given up after [`MAX_ATTEMPTS`] requests.
    pub failed: u64,
    /// Provider neighbours learned from the uplink without a request of ours.
    pub neighbors_seen: u64,
    /// Dynamic records shared with every worker.
    pub records_shared: u64,
    /// Lookup misses reported.
    pub misses: u64,
    /// Snapshots published (neighbours, records, reloads).
    pub published: u64,
    /// Policy reloads applied.
    pub reloads: u64,
    /// Policy reloads refused (invalid file; the old tables stayed).
    pub reload_errors: u64,
    /// Link state changes seen on the devices.
    pub link_changes: u64,
}

impl fmt::Display for ControlCounters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "control: arp requests {}, neighbour solicitations {}, requests dropped {}, \
             neighbours resolved {}, resolution failures {}, neighbours seen {}, \
             records shared {}, misses {}, snapshots published {}, reloads {}, \
             reload errors {}, link changes {}",
            self.arp_requests,
            self.solicitations,
            self.requests_dropped,
            self.resolved,
            self.failed,
            self.neighbors_seen,
            self.records_shared,
            self.misses,
            self.published,
            self.reloads,
            self.reload_errors,
            self.link_changes
        )
    }
}

/// Compiles the policy again (on SIGHUP): the new tables, or the problems as text.
pub type ReloadFn = Box<dyn FnMut() -> Result<Tables, String> + Send>;

/// A next hop being resolved.
struct Pending {
    attempts: u32,
    next: Instant,
    wait: Duration,
}

/// The control thread's state (run it with [`Control::run`]).
pub struct Control {
    live: Arc<LiveTables>,
    events: Receiver<ControlMsg>,
    requests: Sender<CtlFrame>,
    reload: Option<(Arc<AtomicBool>, ReloadFn)>,
    links: Vec<(String, Option<bool>)>,
    pending: BTreeMap<IpAddr, Pending>,
    counters: ControlCounters,
}

impl Control {
    /// A control thread over `live`, reading `events`, sending requests into `requests`,
    /// watching the link state of the interfaces `links`.
    pub fn new(
        live: Arc<LiveTables>,
        events: Receiver<ControlMsg>,
        requests: Sender<CtlFrame>,
        links: Vec<String>,
    ) -> Self {
        Self {
            live,
            events,
            requests,
            reload: None,
            links: links.into_iter().map(|l| (l, None)).collect(),
            pending: BTreeMap::new(),
            counters: ControlCounters::default(),
        }
    }

    /// Reloads with `reload` whenever `flag` is set (and clears it).
    #[must_use]
    pub fn with_reload(mut self, flag: Arc<AtomicBool>, reload: ReloadFn) -> Self {
        self.reload = Some((flag, reload));
        self
    }

    /// Runs until `stop` is set; returns the counters.
    pub fn run(mut self, stop: &AtomicBool) -> ControlCounters {
        let tick = Duration::from_millis(20);
        let mut next_link_check = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            match self.events.recv_timeout(tick) {
                Ok(msg) => {
                    self.handle(msg);
                    // Take whatever else is queued before the periodic work.
                    while let Ok(msg) = self.events.try_recv() {
                        self.handle(msg);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => std::thread::sleep(tick),
            }
            self.retry(Instant::now());
            if let Some((flag, _)) = &self.reload {
                if flag.swap(false, Ordering::Relaxed) {
                    self.do_reload();
                }
            }
            if Instant::now() >= next_link_check {
                self.check_links();
                next_link_check = Instant::now() + LINK_CHECK;
            }
        }
        self.counters
    }

    /// The counters so far.
    pub fn counters(&self) -> ControlCounters {
        self.counters
    }

    /// Handles one message (public for tests).
    pub fn handle(&mut self, msg: ControlMsg) {
        match msg {
            ControlMsg::Event(Event::UnresolvedNeighbor(hop)) => {
                if self.live.load().neighbor_mac(hop).is_some() || self.pending.contains_key(&hop) {
                    return;
                }
                let now = Instant::now();
                self.pending.insert(
                    hop,
                    Pending {
                        attempts: 0,
                        next: now,
                        wait: FIRST_RETRY,
                    },
                );
                self.retry(now);
            }
            ControlMsg::Event(Event::Learned(rec)) => {
                // Nothing is published (no new generation) when the record is known.
                let added = self
                    .live
                    .try_update(|old| old.with_learned(rec).ok_or(()))
                    .is_ok();
                if added {
                    self.counters.records_shared += 1;
                    self.counters.published += 1;
                }
            }
            ControlMsg::Event(Event::Miss { .. }) => self.counters.misses += 1,
            ControlMsg::Neighbor(ip, mac) => {
                let added = self
                    .live
                    .try_update(|old| old.with_neighbor(ip, mac).ok_or(()))
                    .is_ok();
                let was_pending = self.pending.remove(&ip).is_some();
                if added {
                    self.counters.published += 1;
                    if was_pending {
                        self.counters.resolved += 1;
                        log::info!("provider neighbour {ip} resolved: {mac}");
                    } else {
                        self.counters.neighbors_seen += 1;
                    }
                }
            }
        }
    }

    /// Sends the requests that are due; gives up on hops that had all their attempts.
    fn retry(&mut self, now: Instant) {
        if self.pending.is_empty() {
            return;
        }
        let snap = self.live.load();
        let mut done = Vec::new();
        let due: Vec<IpAddr> = self
            .pending
            .iter()
            .filter(|(_, p)| p.next <= now)
            .map(|(ip, _)| *ip)
            .collect();
        for hop in due {
            if snap.neighbor_mac(hop).is_some() {
                done.push(hop);
                continue;
            }
            let Some(p) = self.pending.get_mut(&hop) else {
                continue;
            };
            if p.attempts >= MAX_ATTEMPTS {
                self.counters.failed += 1;
                log::warn!("provider next hop {hop}: no answer to {MAX_ATTEMPTS} requests");
                done.push(hop);
                continue;
            }
            p.attempts += 1;
            p.next = now + p.wait;
            p.wait *= 2;
            let frame = request_for(&snap, hop);
            match frame {
                Some(f) if self.requests.try_send(f).is_ok() => {
                    if hop.is_ipv4() {
                        self.counters.arp_requests += 1;
                    } else {
                        self.counters.solicitations += 1;
                    }
                }
                _ => self.counters.requests_dropped += 1,
            }
        }
        for hop in done {
            self.pending.remove(&hop);
        }
    }

    fn do_reload(&mut self) {
        let Some((_, reload)) = &mut self.reload else {
            return;
        };
        match reload() {
            Ok(tables) => {
                self.live.update(|old| old.with_tables(tables));
                self.counters.reloads += 1;
                self.counters.published += 1;
                eprintln!(
                    "hnv run: policy reloaded (reload {}): generation {}",
                    self.counters.reloads,
                    self.live.generation()
                );
            }
            Err(problems) => {
                self.counters.reload_errors += 1;
                eprintln!(
                    "hnv run: policy reload refused, the old policy stays (generation {}):\n{problems}",
                    self.live.generation()
                );
            }
        }
    }

    fn check_links(&mut self) {
        for (name, last) in &mut self.links {
            let Some(up) = link_up(name) else {
                continue;
            };
            if *last != Some(up) {
                if last.is_some() {
                    self.counters.link_changes += 1;
                    if up {
                        eprintln!("hnv run: {name}: link up again; forwarding resumes");
                    } else {
                        eprintln!(
                            "hnv run: {name}: link down; frames for it are queued or dropped \
                             (counted) until it comes back"
                        );
                    }
                }
                *last = Some(up);
            }
        }
    }
}

/// The request that resolves `hop`: from the host's first PA of its family.
fn request_for(t: &SharedTables, hop: IpAddr) -> Option<CtlFrame> {
    let src = t
        .own_pas()
        .iter()
        .copied()
        .find(|pa| pa.is_ipv4() == hop.is_ipv4())?;
    let vlan = t.pa_vlan(src);
    match (src, hop) {
        (IpAddr::V4(s), IpAddr::V4(h)) => Some(arp_request(t.uplink_mac(), vlan, s, h)),
        (IpAddr::V6(s), IpAddr::V6(h)) => Some(neighbor_solicitation(t.uplink_mac(), vlan, s, h)),
        _ => None,
    }
}

/// Whether interface `name` is administratively and operationally up (`None`: unknown).
fn link_up(name: &str) -> Option<bool> {
    let flags = std::fs::read_to_string(format!("/sys/class/net/{name}/flags")).ok()?;
    let flags = u32::from_str_radix(flags.trim().trim_start_matches("0x"), 16).ok()?;
    let oper = std::fs::read_to_string(format!("/sys/class/net/{name}/operstate")).ok()?;
    let iff_up = flags & 1 != 0;
    Some(iff_up && oper.trim() != "down")
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{Icmpv6Type, NetSlice, SlicedPacket, TransportSlice};
    use hnv_core::policy::file;

    const MAC: MacAddr = MacAddr([2, 0, 0, 0, 0x0a, 1]);

    #[test]
    fn arp_request_bytes() {
        let f = arp_request(
            MAC,
            None,
            [192, 168, 4, 11].into(),
            [192, 168, 4, 22].into(),
        );
        let p = SlicedPacket::from_ethernet(f.bytes()).unwrap();
        let eth = p.link.unwrap().to_header().unwrap();
        let etherparse::LinkHeader::Ethernet2(eth) = eth else {
            panic!("not Ethernet II: {eth:?}")
        };
        assert_eq!(eth.destination, [0xff; 6]);
        assert_eq!(eth.source, MAC.0);
        assert_eq!(eth.ether_type, etherparse::EtherType::ARP);
        let Some(NetSlice::Arp(arp)) = p.net else {
            panic!("not ARP: {:?}", p.net)
        };
        assert_eq!(arp.operation(), etherparse::ArpOperation::REQUEST);
        assert_eq!(arp.sender_hw_addr(), MAC.0);
        assert_eq!(arp.sender_protocol_addr(), [192, 168, 4, 11]);
        assert_eq!(arp.target_hw_addr(), [0; 6]);
        assert_eq!(arp.target_protocol_addr(), [192, 168, 4, 22]);
        assert_eq!(f.bytes().len(), 42);

        let tagged = arp_request(
            MAC,
            Some(7),
            [192, 168, 4, 11].into(),
            [192, 168, 4, 22].into(),
        );
        let p = SlicedPacket::from_ethernet(tagged.bytes()).unwrap();
        let vlan = p.link_exts.first().expect("a VLAN tag");
        let etherparse::LinkExtSlice::Vlan(v) = vlan else {
            panic!("{vlan:?}")
        };
        assert_eq!(v.vlan_identifier().value(), 7);
        assert!(matches!(p.net, Some(NetSlice::Arp(_))));
    }

    #[test]
    fn neighbor_solicitation_bytes() {
        let src: Ipv6Addr = "fd00::11".parse().unwrap();
        let target: Ipv6Addr = "fd00::1:22".parse().unwrap();
        let f = neighbor_solicitation(MAC, None, src, target);
        let p = SlicedPacket::from_ethernet(f.bytes()).unwrap();
        let Some(etherparse::LinkSlice::Ethernet2(eth)) = &p.link else {
            panic!("{:?}", p.link)
        };
        assert_eq!(eth.destination(), [0x33, 0x33, 0xff, 0x01, 0x00, 0x22]);
        assert_eq!(eth.source(), MAC.0);
        let Some(NetSlice::Ipv6(ip)) = &p.net else {
            panic!("{:?}", p.net)
        };
        let h = ip.header();
        assert_eq!(h.source_addr(), src);
        assert_eq!(
            h.destination_addr(),
            "ff02::1:ff01:22".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(h.hop_limit(), 255);
        assert_eq!(h.payload_length(), 32);
        let Some(TransportSlice::Icmpv6(icmp)) = &p.transport else {
            panic!("{:?}", p.transport)
        };
        assert_eq!(icmp.icmp_type(), Icmpv6Type::NeighborSolicitation);
        // etherparse recomputes the checksum over the pseudo-header and the message.
        let header = icmp.header();
        let expected = header
            .icmp_type
            .calc_checksum(h.source(), h.destination(), icmp.payload())
            .unwrap();
        assert_eq!(icmp.checksum(), expected);
        let body = icmp.payload();
        assert_eq!(&body[..16], &target.octets());
        assert_eq!(&body[16..24], &[1, 1, 2, 0, 0, 0, 0x0a, 1]);
        // hnv-core's own parser agrees, and the checksum verifies.
        let ipp = Ipv6Packet::parse(&f.bytes()[14..]).unwrap();
        let icmp = hnv_core::wire::icmpv6::Icmpv6Packet::parse(ipp.payload()).unwrap();
        assert!(icmp.verify_checksum(src, ipp.header().dst()));
        assert_eq!(icmp.neighbor_solicit().unwrap().target(), target);
    }

    fn seed_a() -> SharedTables {
        let policy = file::from_json(include_str!("../../docs/examples/seed-policy.json")).unwrap();
        SharedTables::new(Tables::compile(&policy, "HostA").unwrap())
    }

    #[test]
    fn snoop_learns_replies_to_own_pas_only() {
        let t = seed_a();
        let peer = MacAddr([2, 0, 0, 0, 0x0b, 9]);
        // A reply from .99 to HostA's PA .11 ...
        let mut reply = arp_request(
            peer,
            None,
            [192, 168, 4, 99].into(),
            [192, 168, 4, 11].into(),
        );
        reply.bytes[21] = 2; // operation: reply
        assert_eq!(
            snoop(reply.bytes(), &t),
            Some(("192.168.4.99".parse().unwrap(), peer))
        );
        // ... but not one for someone else's PA.
        let other = arp_request(
            peer,
            None,
            [192, 168, 4, 99].into(),
            [192, 168, 4, 77].into(),
        );
        assert_eq!(snoop(other.bytes(), &t), None);
        assert!(maybe_neighbor(reply.bytes()));
        assert!(!maybe_neighbor(&[0u8; 14]));
    }

    /// HostA of the seed with a second, IPv6 PA `fd00::11`.
    fn seed_a_v6() -> SharedTables {
        let json = include_str!("../../docs/examples/seed-policy.json")
            .replacen(
                "\"ProviderAddresses\": [\n    {",
                "\"ProviderAddresses\": [\n    {\"ProviderAddress\": \"fd00::11\", \
                 \"InterfaceIndex\": 2, \"PrefixLength\": 64, \"VlanID\": 0},\n    {",
                1,
            )
            .replacen(
                "\"192.168.4.11\",\n        \"192.168.4.51\"",
                "\"192.168.4.11\",\n        \"192.168.4.51\",\n        \"fd00::11\"",
                1,
            );
        let policy = file::from_json(&json).unwrap();
        SharedTables::new(Tables::compile(&policy, "HostA").unwrap())
    }

    #[test]
    fn ipv6_next_hops_are_solicited_and_advertisements_learned() {
        let t = seed_a_v6();
        let pa: IpAddr = "fd00::11".parse().unwrap();
        assert!(t.owns_pa(pa), "the test policy has the IPv6 PA");
        let hop: IpAddr = "fd00::22".parse().unwrap();
        let req = request_for(&t, hop).expect("a solicitation from the IPv6 PA");
        let ip = Ipv6Packet::parse(&req.bytes()[14..]).unwrap();
        assert_eq!(IpAddr::V6(ip.header().src()), pa);
        assert_eq!(
            IpAddr::V6(ip.header().dst()),
            IpAddr::V6("ff02::1:ff00:22".parse().unwrap())
        );
        // The peer's advertisement, sent to our PA: type 136, target fd00::22, with its
        // link-layer address in the option.
        let peer = MacAddr([2, 0, 0, 0, 0x0b, 1]);
        let mut na = neighbor_solicitation(
            peer,
            None,
            "fd00::22".parse().unwrap(),
            "fd00::22".parse().unwrap(),
        );
        let b = &mut na.bytes;
        b[..6].copy_from_slice(&MAC.0);
        b[38..54].copy_from_slice(&"fd00::11".parse::<Ipv6Addr>().unwrap().octets());
        b[54] = 136;
        b[58] = 0x60; // solicited, override
        b[78] = 2; // target link-layer address
        b[56..58].fill(0);
        let sum = checksum::pseudo_v6(
            "fd00::22".parse().unwrap(),
            "fd00::11".parse().unwrap(),
            ip_proto::ICMPV6,
            32,
        )
        .add_bytes(&b[54..86])
        .finish();
        b[56..58].copy_from_slice(&sum.to_be_bytes());
        // A corrupted copy is ignored.
        let mut bad = na;
        bad.bytes[70] ^= 1;
        assert_eq!(snoop(bad.bytes(), &t), None);
        assert_eq!(snoop(na.bytes(), &t), Some((hop, peer)));
        // A solicitation for our PA teaches its sender.
        let ns = neighbor_solicitation(
            peer,
            None,
            "fd00::33".parse().unwrap(),
            "fd00::11".parse().unwrap(),
        );
        assert_eq!(
            snoop(ns.bytes(), &t),
            Some(("fd00::33".parse().unwrap(), peer))
        );
        // One for another address does not.
        let other = neighbor_solicitation(
            peer,
            None,
            "fd00::33".parse().unwrap(),
            "fd00::44".parse().unwrap(),
        );
        assert_eq!(snoop(other.bytes(), &t), None);
    }

    #[test]
    fn control_resolves_with_retries_and_learns_the_answer() {
        let live = Arc::new(LiveTables::new(seed_a()));
        let (_etx, erx) = crossbeam_channel::bounded(16);
        let (rtx, rrx) = crossbeam_channel::bounded(16);
        let mut c = Control::new(Arc::clone(&live), erx, rtx, Vec::new());
        let hop: IpAddr = "192.168.4.99".parse().unwrap();
        c.handle(ControlMsg::Event(Event::UnresolvedNeighbor(hop)));
        c.handle(ControlMsg::Event(Event::UnresolvedNeighbor(hop)));
        assert_eq!(rrx.len(), 1, "one request, however many events");
        let req = rrx.try_recv().unwrap();
        let arp = ArpPacket::parse(&req.bytes()[14..]).unwrap();
        assert_eq!(arp.target_ip(), Ipv4Addr::new(192, 168, 4, 99));
        assert_eq!(arp.sender_ip(), Ipv4Addr::new(192, 168, 4, 11));
        // Retries, doubling: due after 100 ms, then 200 ms after that.
        let t0 = Instant::now();
        c.retry(t0 + Duration::from_millis(50));
        assert_eq!(rrx.len(), 0);
        c.retry(t0 + Duration::from_millis(150));
        assert_eq!(rrx.len(), 1);
        c.retry(t0 + Duration::from_millis(250));
        assert_eq!(rrx.len(), 1, "the next one waits 200 ms");
        c.retry(t0 + Duration::from_millis(400));
        assert_eq!(rrx.len(), 2);
        assert_eq!(c.counters().arp_requests, 3);
        // The answer: the neighbour becomes part of the shared snapshot.
        let mac = MacAddr([2, 0, 0, 0, 0x0c, 1]);
        let g = live.generation();
        c.handle(ControlMsg::Neighbor(hop, mac));
        assert_eq!(live.load().neighbor_mac(hop), Some(mac));
        assert_eq!(live.generation(), g + 1);
        assert_eq!(c.counters().resolved, 1);
        c.retry(t0 + Duration::from_secs(10));
        assert_eq!(rrx.len(), 2, "no more requests once resolved");

        // A hop nobody answers: MAX_ATTEMPTS requests, then a failure.
        let dead: IpAddr = "192.168.4.98".parse().unwrap();
        while rrx.try_recv().is_ok() {}
        c.handle(ControlMsg::Event(Event::UnresolvedNeighbor(dead)));
        let mut at = Instant::now();
        for _ in 0..20 {
            at += Duration::from_secs(10);
            c.retry(at);
        }
        assert_eq!(rrx.len(), MAX_ATTEMPTS as usize);
        assert_eq!(c.counters().failed, 1);
    }
}
