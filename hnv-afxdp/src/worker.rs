//! [`Worker`]: one thread polling the uplink and the VM ports, running the switch over
//! each received batch and executing its verdicts (the way `hnv_sim::fabric` does in
//! memory): to a port, to the wire, back to the ingress, or replicated.
//!
//! Everything the loop touches is allocated in [`Worker::new`]: the receive batch, the
//! verdicts, the flood scratch lists and the copy buffer for encapsulated flood copies.
//!
//! With [`Worker::attach`] the worker also reads its tables through a live handle (a new
//! snapshot is picked up at the start of the next round), forwards its switch's events to
//! the control thread, and, when it owns the uplink, sends the control thread's ARP / ND
//! requests out of it.

use std::fmt::{self, Write as _};
use std::net::IpAddr;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use hnv_core::buf::PacketBuf;
use hnv_core::ids::MacAddr;
// The switch reads the shared snapshot (policy + resolved neighbours + learned records).
use crate::shared::SharedTables as Tables;
use hnv_core::switch::{Event, EventSink, PortId, Stats, Switch, Verdict};
use hnv_core::DropReason;

use crate::control::{ControlMsg, CtlFrame, Events};
use crate::frame::{Frame, FrameGso};
use crate::gso::{self, GsoCounters, GsoError, Segmenter};
use crate::port::{FrameAccount, Port, PortCounters};
use crate::shared::LiveTables;
use crate::sys;

/// Frames taken from one port per round.
pub const BATCH: usize = 32;

/// How long an idle worker sleeps in poll(2) before it looks at the stop flag again.
const IDLE_WAIT: Duration = Duration::from_millis(20);

/// Events the switch raised, counted (the control thread acts on them: `crate::control`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventCounts {
    /// Dynamic records learned.
    pub learned: u64,
    /// Lookup misses.
    pub misses: u64,
    /// Provider next hops without a MAC.
    pub unresolved: u64,
}

impl EventSink for EventCounts {
    fn event(&mut self, event: Event) {
        match event {
            Event::Learned(_) => self.learned += 1,
            Event::Miss { .. } => self.misses += 1,
            Event::UnresolvedNeighbor(_) => self.unresolved += 1,
        }
    }
}

/// Counters of the worker itself (the switch keeps its own: [`Switch::stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerCounters {
    /// Rounds over all ports.
    pub rounds: u64,
    /// Frames handed to the switch.
    pub frames: u64,
    /// Frames sent out of a port or the uplink (flood copies each count).
    pub forwarded: u64,
    /// Verdicts naming a port with no device (not opened).
    pub no_device: u64,
    /// Receive errors from a device.
    pub rx_errors: u64,
    /// Errors handing queued frames to a device (e.g. ENETDOWN while its link is down;
    /// the frames stay queued and go out once it is up again).
    pub flush_errors: u64,
    /// Table snapshots picked up from the live handle.
    pub snapshots: u64,
    /// Control-thread requests (ARP / ND) sent out of the uplink (counted in `forwarded`).
    pub control_sent: u64,
}

/// The uplink and the VM ports of one host. `vm[i]` is the device of switch port `i`.
struct Devices {
    uplink: Box<dyn Port>,
    vm: Vec<Option<Box<dyn Port>>>,
}

impl Devices {
    fn vm(&mut self, p: PortId) -> Option<&mut Box<dyn Port>> {
        self.vm.get_mut(p.index()).and_then(Option::as_mut)
    }
}

/// Where a batch came from.
#[derive(Clone, Copy)]
enum Ingress {
    Wire,
    Port(PortId),
}

/// Scratch state the verdict executor needs.
struct Scratch {
    ports: Vec<PortId>,
    pas: Vec<IpAddr>,
    copy: Frame,
    /// Cuts GSO super-frames into segments on the way out (gso.rs).
    gso: Segmenter,
}

/// One host's data plane on one thread.
pub struct Worker {
    switch: Switch<Tables>,
    dev: Devices,
    batch: Vec<Frame>,
    verdicts: Vec<Verdict>,
    scratch: Scratch,
    fds: Vec<RawFd>,
    events: Events,
    counters: WorkerCounters,
    live: Option<Arc<LiveTables>>,
    generation: u64,
    requests: Option<Receiver<CtlFrame>>,
    label: String,
}

impl Worker {
    /// A worker for `switch`, with `uplink` and `ports[i]` the device of switch port `i`
    /// (`None`: the port has no device; frames for it are counted in
    /// [`WorkerCounters::no_device`]).
    pub fn new(
        switch: Switch<Tables>,
        uplink: Box<dyn Port>,
        ports: Vec<Option<Box<dyn Port>>>,
    ) -> Self {
        let mut fds = vec![uplink.poll_fd()];
        fds.extend(ports.iter().flatten().map(|p| p.poll_fd()));
        let n = ports.len().max(1);
        Self {
            switch,
            dev: Devices { uplink, vm: ports },
            batch: (0..BATCH).map(|_| Frame::new()).collect(),
            verdicts: vec![Verdict::Consumed; BATCH],
            scratch: Scratch {
                ports: Vec::with_capacity(n),
                pas: Vec::with_capacity(64),
                copy: Frame::new(),
                gso: Segmenter::new(),
            },
            fds,
            events: Events::default(),
            counters: WorkerCounters::default(),
            live: None,
            generation: 0,
            requests: None,
            label: String::new(),
        }
    }

    /// Connects the worker to a control thread: tables are read through `live` (picked up
    /// at the start of each round when its generation moved), events go to `events`, and
    /// when `requests` is given (the worker owns the real uplink) the frames it carries
    /// are sent out of the uplink.
    #[must_use]
    pub fn attach(
        mut self,
        live: Arc<LiveTables>,
        events: Sender<ControlMsg>,
        requests: Option<Receiver<CtlFrame>>,
    ) -> Self {
        self.generation = live.generation();
        self.live = Some(live);
        self.events = Events::to(events);
        self.requests = requests;
        self
    }

    /// Names the worker in its stats lines (`worker 1 stats: ...`).
    #[must_use]
    pub fn labelled(mut self, label: String) -> Self {
        self.label = label;
        self
    }

    /// Events not forwarded to the control thread because its channel was full.
    pub fn events_dropped(&self) -> u64 {
        self.events.dropped
    }

    /// Picks up a newer table snapshot, if there is one.
    fn pick_up_snapshot(&mut self) {
        let Some(live) = &self.live else {
            return;
        };
        if live.generation() == self.generation {
            return;
        }
        let snap = live.load();
        self.generation = snap.generation();
        self.switch.set_tables((*snap).clone());
        self.counters.snapshots += 1;
    }

    /// Sends the control thread's pending requests out of the uplink.
    fn send_requests(&mut self) {
        let Some(requests) = &self.requests else {
            return;
        };
        while let Ok(frame) = requests.try_recv() {
            if self.dev.uplink.send(frame.bytes()) {
                self.counters.forwarded += 1;
                self.counters.control_sent += 1;
            }
        }
    }

    /// The switch (its counters, tables).
    pub fn switch(&self) -> &Switch<Tables> {
        &self.switch
    }

    /// The worker's counters.
    pub fn counters(&self) -> WorkerCounters {
        self.counters
    }

    /// The events counted so far.
    pub fn events(&self) -> EventCounts {
        self.events.counts()
    }

    /// What happened to GSO super-frames on the way out.
    pub fn gso_counters(&self) -> GsoCounters {
        self.scratch.gso.counters()
    }

    /// Every device: the uplink first, then the VM ports in switch order.
    pub fn devices(&self) -> impl Iterator<Item = &dyn Port> {
        std::iter::once(&*self.dev.uplink).chain(self.dev.vm.iter().flatten().map(|p| &**p))
    }

    /// The UMEM accounting of every AF_XDP device, by name.
    pub fn frame_accounts(&self) -> Vec<(String, FrameAccount)> {
        self.devices()
            .filter_map(|d| d.frames().map(|a| (d.name().to_string(), a)))
            .collect()
    }

    /// True when every AF_XDP device accounts for all its UMEM frames.
    pub fn frames_balanced(&self) -> bool {
        self.devices()
            .filter_map(Port::frames)
            .all(|a| a.balanced())
    }

    /// One round: a batch from the uplink, then from each port, each through the switch
    /// and out; then every device is flushed. Returns the frames handled.
    pub fn poll_once(&mut self) -> usize {
        self.counters.rounds += 1;
        self.pick_up_snapshot();
        self.send_requests();
        let mut handled = self.round(Ingress::Wire);
        for i in 0..self.dev.vm.len() {
            if self.dev.vm[i].is_some() {
                let id = PortId(u16::try_from(i).unwrap_or(u16::MAX));
                handled += self.round(Ingress::Port(id));
            }
        }
        if self.dev.uplink.flush().is_err() {
            self.counters.flush_errors += 1;
        }
        for p in self.dev.vm.iter_mut().flatten() {
            if p.flush().is_err() {
                self.counters.flush_errors += 1;
            }
        }
        handled
    }

    fn round(&mut self, from: Ingress) -> usize {
        let got = match from {
            Ingress::Wire => self.dev.uplink.recv(&mut self.batch),
            Ingress::Port(p) => match self.dev.vm(p) {
                Some(d) => d.recv(&mut self.batch),
                None => Ok(0),
            },
        };
        let n = match got {
            Ok(n) => n.min(BATCH),
            Err(e) => {
                self.counters.rx_errors += 1;
                log::warn!("receive: {e}");
                0
            }
        };
        if n == 0 {
            return 0;
        }
        self.counters.frames += n as u64;
        let frames = &mut self.batch[..n];
        let verdicts = &mut self.verdicts[..n];
        match from {
            Ingress::Wire => self
                .switch
                .from_wire_batch(frames, verdicts, &mut self.events),
            Ingress::Port(p) => {
                gso::from_port_batch(&mut self.switch, p, frames, verdicts, &mut self.events);
            }
        }
        for k in 0..n {
            execute(
                &mut self.switch,
                &mut self.dev,
                &mut self.scratch,
                &mut self.events,
                &mut self.counters,
                from,
                &self.batch[k],
                self.verdicts[k],
            );
        }
        n
    }

    /// Polls until `stop` is set; prints a stats line on stderr every `stats_every`.
    pub fn run(&mut self, stop: &AtomicBool, stats_every: Option<Duration>) {
        let mut last = Instant::now();
        let mut last_frames = 0;
        while !stop.load(Ordering::Relaxed) {
            if self.poll_once() == 0 {
                let _ = sys::wait_readable(&self.fds, IDLE_WAIT);
            }
            if let Some(every) = stats_every {
                let now = Instant::now();
                let dt = now - last;
                if dt >= every {
                    let frames = self.counters.frames;
                    #[allow(clippy::cast_precision_loss)]
                    let pps = (frames - last_frames) as f64 / dt.as_secs_f64();
                    eprintln!("{}{}", self.label, self.stats_line(pps));
                    last = now;
                    last_frames = frames;
                }
            }
        }
    }

    /// Waits up to `timeout` for every device's transmissions to complete.
    pub fn drain(&mut self, timeout: Duration) {
        self.dev.uplink.drain(timeout);
        for p in self.dev.vm.iter_mut().flatten() {
            p.drain(timeout);
        }
    }

    /// A one-line summary: rates, totals and drops by reason.
    pub fn stats_line(&self, pps: f64) -> String {
        let s = self.switch.stats();
        let mut line = format!(
            "stats: {pps:.0} pps, frames {} forwarded {} wire rx {} tx {} drops {}",
            self.counters.frames,
            self.counters.forwarded,
            s.wire_rx,
            s.wire_tx,
            s.total_drops()
        );
        for r in DropReason::ALL {
            let n = s.dropped(*r);
            if n > 0 {
                let _ = write!(line, " {}={n}", r.name());
            }
        }
        line
    }

    /// The full report: per device, the switch, drops by reason, events, UMEM frames.
    pub fn report(&self) -> Report<'_> {
        Report { w: self }
    }
}

/// The printable report of a [`Worker`] ([`Worker::report`]).
pub struct Report<'a> {
    w: &'a Worker,
}

fn device_line(f: &mut fmt::Formatter<'_>, what: &str, d: &dyn Port) -> fmt::Result {
    let c: PortCounters = d.counters();
    write!(
        f,
        "{what} {} ({}): rx {} frames {} bytes, tx {} frames {} bytes, rx dropped {}, \
         tx dropped {}",
        d.name(),
        d.kind(),
        c.rx_frames,
        c.rx_bytes,
        c.tx_frames,
        c.tx_bytes,
        c.rx_dropped(),
        c.tx_dropped()
    )?;
    for (name, v) in [
        ("rx_oversized", c.rx_oversized),
        ("rx_malformed", c.rx_malformed),
        ("rx_gso_frames", c.rx_gso_frames),
        ("rx_gso_dropped", c.rx_gso_dropped),
        ("tx_gso_frames", c.tx_gso_frames),
        ("rx_csum_completed", c.rx_csum_completed),
        ("rx_kernel_dropped", c.rx_kernel_dropped),
        ("tx_ring_full", c.tx_ring_full),
        ("tx_no_frame", c.tx_no_frame),
        ("tx_oversized", c.tx_oversized),
        ("tx_errors", c.tx_errors),
    ] {
        if v > 0 {
            write!(f, ", {name} {v}")?;
        }
    }
    if let Some(a) = d.frames() {
        write!(f, "; umem {a}")?;
    }
    writeln!(f)
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let worker = self.w;
        Summary {
            uplink: &*worker.dev.uplink,
            vm: worker.dev.vm.iter().map(|d| d.as_deref()).collect(),
            ports: worker.switch.tables().ports(),
            stats: worker.switch.stats(),
            events: worker.events(),
            counters: worker.counters,
            balanced: worker.frames_balanced(),
        }
        .fmt(f)?;
        writeln!(f, "{}", worker.gso_counters())
    }
}

/// The report's body, from its parts: one worker's, or the sum over several workers
/// (`crate::host`).
pub(crate) struct Summary<'a> {
    pub uplink: &'a dyn Port,
    pub vm: Vec<Option<&'a dyn Port>>,
    pub ports: &'a [hnv_core::policy::PortEntry],
    pub stats: &'a hnv_core::switch::Stats,
    pub events: EventCounts,
    pub counters: WorkerCounters,
    pub balanced: bool,
}

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stats = self.stats;
        device_line(f, "uplink", self.uplink)?;
        for (index, device) in self.vm.iter().enumerate() {
            let name = self
                .ports
                .get(index)
                .map_or("?", |entry| entry.name.as_str());
            match device {
                Some(device) => device_line(f, &format!("port {name}:"), *device)?,
                None => writeln!(f, "port {name}: no device")?,
            }
        }
        for (index, entry) in self.ports.iter().enumerate() {
            let from_vm = stats.port_rx.get(index).copied().unwrap_or(0);
            let to_vm = stats.port_tx.get(index).copied().unwrap_or(0);
            writeln!(
                f,
                "switch port {}: from vm {from_vm}, to vm {to_vm}",
                entry.name
            )?;
        }
        writeln!(
            f,
            "switch: wire rx {}, wire tx {}, replies {}, floods {}, consumed {}, drops {}",
            stats.wire_rx,
            stats.wire_tx,
            stats.replies,
            stats.floods,
            stats.consumed,
            stats.total_drops()
        )?;
        writeln!(f, "switch caches: {}", caches_text(stats))?;
        for reason in DropReason::ALL {
            let count = stats.dropped(*reason);
            if count > 0 {
                writeln!(f, "drop {}: {count}", reason.name())?;
            }
        }
        let events = self.events;
        writeln!(
            f,
            "events: learned {}, misses {}, unresolved neighbours {}",
            events.learned, events.misses, events.unresolved
        )?;
        writeln!(f, "worker: {}", counters_text(&self.counters))?;
        writeln!(
            f,
            "frame accounting: {}",
            if self.balanced { "ok" } else { "LEAK" }
        )
    }
}

/// How the switch's flow caches fared, as the report prints it (after `switch caches: `):
/// lookups that hit or missed, and frames decided while a cache was set aside.
pub(crate) fn caches_text(s: &Stats) -> String {
    format!(
        "flow hits {}, flow misses {}, flow set aside {}, routed hits {}, routed misses {}, \
         routed set aside {}",
        s.flow_hits,
        s.flow_misses,
        s.flow_bypassed,
        s.routed_hits,
        s.routed_misses,
        s.routed_bypassed
    )
}

/// The worker counters as the report prints them (after `worker: ` or `worker N: `).
pub(crate) fn counters_text(c: &WorkerCounters) -> String {
    format!(
        "rounds {}, frames {}, forwarded {}, no device {}, rx errors {}, flush errors {}, \
         snapshots {}, control requests sent {}",
        c.rounds,
        c.frames,
        c.forwarded,
        c.no_device,
        c.rx_errors,
        c.flush_errors,
        c.snapshots,
        c.control_sent
    )
}

/// Sends `frame` out of port `p`, counting.
fn to_port(dev: &mut Devices, counters: &mut WorkerCounters, port: PortId, frame: &[u8]) {
    match dev.vm(port) {
        Some(device) => {
            if device.send(frame) {
                counters.forwarded += 1;
            }
        }
        None => counters.no_device += 1,
    }
}

fn to_wire(dev: &mut Devices, counters: &mut WorkerCounters, frame: &[u8]) {
    if dev.uplink.send(frame) {
        counters.forwarded += 1;
    }
}

/// Does what `verdict` says with the processed `frame`.
#[allow(clippy::too_many_arguments)]
fn execute(
    switch: &mut Switch<Tables>,
    dev: &mut Devices,
    scratch: &mut Scratch,
    events: &mut impl EventSink,
    counters: &mut WorkerCounters,
    from: Ingress,
    frame: &Frame,
    verdict: Verdict,
) {
    if let Some(gso) = frame.gso() {
        if send_super_frame(dev, scratch, counters, frame, gso, verdict) {
            return;
        }
    }
    match verdict {
        Verdict::ToPort(port) => to_port(dev, counters, port, frame.bytes()),
        Verdict::ToWire => to_wire(dev, counters, frame.bytes()),
        Verdict::Reply => match from {
            Ingress::Port(port) => to_port(dev, counters, port, frame.bytes()),
            Ingress::Wire => to_wire(dev, counters, frame.bytes()),
        },
        Verdict::Flood(flood) => {
            scratch.ports.clear();
            scratch.ports.extend(switch.flood_ports(&flood));
            scratch.pas.clear();
            scratch.pas.extend(switch.flood_pas(&flood));
            for &port in &scratch.ports {
                to_port(dev, counters, port, frame.bytes());
            }
            let src_mac = match from {
                Ingress::Port(port) => switch
                    .tables()
                    .ports()
                    .get(port.index())
                    .map_or(MacAddr([0; 6]), |entry| entry.mac),
                Ingress::Wire => MacAddr([0; 6]),
            };
            for &pa in &scratch.pas {
                if !scratch.copy.copy_from(frame.bytes()) {
                    continue;
                }
                let copy_verdict =
                    switch.encap_copy(&mut scratch.copy, flood.vsid, src_mac, pa, events);
                if copy_verdict == Verdict::ToWire {
                    to_wire(dev, counters, scratch.copy.data());
                }
            }
        }
        Verdict::Consumed | Verdict::Drop(_) => {}
    }
}

/// Sends a GSO super-frame where `verdict` says, segmented as the device needs (gso.rs).
/// `false` when the verdict sends no super-frame (a `Reply` is the switch's ICMP error,
/// an ordinary frame; drops and consumed frames need nothing).
fn send_super_frame(
    dev: &mut Devices,
    scratch: &mut Scratch,
    counters: &mut WorkerCounters,
    frame: &Frame,
    gso: FrameGso,
    verdict: Verdict,
) -> bool {
    let device: &mut dyn Port = match verdict {
        Verdict::ToWire => &mut *dev.uplink,
        Verdict::ToPort(port) => {
            let Some(device) = dev.vm(port) else {
                counters.no_device += 1;
                return true;
            };
            &mut **device
        }
        Verdict::Flood(_) => {
            scratch.gso.refuse(GsoError::Flood);
            return true;
        }
        Verdict::Reply | Verdict::Consumed | Verdict::Drop(_) => return false,
    };
    counters.forwarded += scratch.gso.send(device, frame.bytes(), gso);
    true
}
