//! [`Host`]: one host's data plane on its threads — the control thread, and either one
//! [`Worker`] owning every device (`workers == 1`, the single-thread path) or a
//! [`Dispatcher`] owning the devices with `workers` switch workers behind it.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hnv_core::policy::Tables;
use hnv_core::switch::{Stats, Switch};

use crate::chan::Dispatcher;
use crate::control::{Control, ControlCounters, ReloadFn, UplinkSnoop, EVENT_QUEUE, REQUEST_QUEUE};
use crate::gso::GsoCounters;
use crate::port::{FrameAccount, Port};
use crate::shared::{LiveTables, SharedTables};
use crate::worker::{counters_text, EventCounts, Summary, Worker, WorkerCounters};

/// Most switch workers of a host.
pub const MAX_WORKERS: usize = 64;

/// Stack of a worker thread: a switch keeps its learned-record, neighbour and counter
/// maps inline (fixed capacity, no allocation), which unoptimised builds copy around on
/// the stack; the main thread's 8 MiB is what the single-worker path has always had.
const WORKER_STACK: usize = 8 << 20;

/// How long workers wait for the dispatcher at shutdown, and it for them.
const LINGER: Duration = Duration::from_secs(2);

/// What a host printed and whether its frames were all accounted for.
#[derive(Debug, Clone)]
pub struct Finished {
    /// The report (stdout).
    pub report: String,
    /// Every UMEM frame accounted for.
    pub balanced: bool,
    /// The UMEM accounting of every AF_XDP device, by name.
    pub accounts: Vec<(String, FrameAccount)>,
}

/// A host ready to run (see the [module documentation](self)).
pub struct Host {
    tables: Tables,
    uplink: Box<dyn Port>,
    ports: Vec<Option<Box<dyn Port>>>,
    workers: usize,
    reload: Option<(Arc<AtomicBool>, ReloadFn)>,
    stats_every: Option<Duration>,
}

/// The signal flags of `hnv run`: `stop` is set by SIGINT and SIGTERM, `hangup` by SIGHUP
/// (a policy reload). Register nothing else for these signals (the `ctrlc` crate with its
/// `termination` feature would also take SIGHUP as a stop).
pub fn signal_flags() -> std::io::Result<(Arc<AtomicBool>, Arc<AtomicBool>)> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let stop = Arc::new(AtomicBool::new(false));
    let hangup = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(SIGINT, Arc::clone(&stop))?;
    signal_hook::flag::register(SIGTERM, Arc::clone(&stop))?;
    signal_hook::flag::register(SIGHUP, Arc::clone(&hangup))?;
    Ok((stop, hangup))
}

impl Host {
    /// A host over `tables` with its uplink and `ports[i]` the device of switch port `i`.
    pub fn new(tables: Tables, uplink: Box<dyn Port>, ports: Vec<Option<Box<dyn Port>>>) -> Self {
        Self {
            tables,
            uplink,
            ports,
            workers: 1,
            reload: None,
            stats_every: None,
        }
    }

    /// Runs `n` switch workers (1: one thread owning the devices; clamped to
    /// [`MAX_WORKERS`]).
    #[must_use]
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n.clamp(1, MAX_WORKERS);
        self
    }

    /// Reloads the policy with `reload` whenever `flag` is set.
    #[must_use]
    pub fn reload(mut self, flag: Arc<AtomicBool>, reload: ReloadFn) -> Self {
        self.reload = Some((flag, reload));
        self
    }

    /// A stats line on stderr every `every` (per worker).
    #[must_use]
    pub fn stats(mut self, every: Option<Duration>) -> Self {
        self.stats_every = every;
        self
    }

    /// The devices' names and kinds (`eth1 (af_xdp)`), the uplink first.
    pub fn device_names(&self) -> Vec<String> {
        std::iter::once(&self.uplink)
            .chain(self.ports.iter().flatten())
            .map(|d| format!("{} ({})", d.name(), d.kind()))
            .collect()
    }

    /// Runs until `stop` is set; `ready` is called once everything is started.
    // One function, so that the threads borrow the flags of one scope; the two paths
    // (one worker, several) read best side by side.
    #[allow(clippy::too_many_lines)]
    pub fn run(self, stop: &AtomicBool, ready: impl FnOnce()) -> std::io::Result<Finished> {
        let Self {
            tables,
            uplink,
            ports,
            workers,
            reload,
            stats_every,
        } = self;
        let live = Arc::new(LiveTables::new(SharedTables::new(tables)));
        let (ev_tx, ev_rx) = crossbeam_channel::bounded(EVENT_QUEUE);
        let (req_tx, req_rx) = crossbeam_channel::bounded(REQUEST_QUEUE);
        let links: Vec<String> = std::iter::once(&uplink)
            .chain(ports.iter().flatten())
            .map(|d| d.name().to_string())
            .collect();
        let snoop_dropped = Arc::new(AtomicU64::new(0));
        let uplink: Box<dyn Port> = Box::new(UplinkSnoop::new(
            uplink,
            Arc::clone(&live),
            ev_tx.clone(),
            Arc::clone(&snoop_dropped),
        ));
        let mut control = Control::new(Arc::clone(&live), ev_rx, req_tx, links);
        if let Some((flag, f)) = reload {
            control = control.with_reload(flag, f);
        }
        let control_stop = AtomicBool::new(false);
        let rx_closed = AtomicBool::new(false);
        let done = AtomicUsize::new(0);

        std::thread::scope(|s| {
            let control = std::thread::Builder::new()
                .name("hnv-control".into())
                .spawn_scoped(s, || control.run(&control_stop))?;
            let finish_control = |extra: &mut String| {
                control_stop.store(true, Ordering::Relaxed);
                let counters = control.join().unwrap_or_default();
                control_lines(extra, &counters, snoop_dropped.load(Ordering::Relaxed));
            };
            if workers == 1 {
                let snapshot = (*live.load()).clone();
                let mut worker = Worker::new(Switch::new(snapshot), uplink, ports).attach(
                    Arc::clone(&live),
                    ev_tx,
                    Some(req_rx),
                );
                ready();
                worker.run(stop, stats_every);
                worker.drain(Duration::from_millis(200));
                let mut report = worker.report().to_string();
                let _ = writeln!(
                    report,
                    "worker 0: events not passed on {}",
                    worker.events_dropped()
                );
                finish_control(&mut report);
                return Ok(Finished {
                    report,
                    balanced: worker.frames_balanced(),
                    accounts: worker.frame_accounts(),
                });
            }

            // Several workers: the dispatcher owns the devices, in this thread.
            let has_device: Vec<bool> = ports.iter().map(Option::is_some).collect();
            let mut devices = vec![uplink];
            devices.extend(ports.into_iter().flatten());
            // A failure from here on stops the threads already started before it returns
            // (the scope would otherwise wait for them).
            let fail = |e: std::io::Error| {
                stop.store(true, Ordering::SeqCst);
                rx_closed.store(true, Ordering::SeqCst);
                control_stop.store(true, Ordering::Relaxed);
                e
            };
            let (mut dispatcher, worker_ports) =
                Dispatcher::new(devices, workers, req_rx).map_err(fail)?;
            let mut handles = Vec::with_capacity(workers);
            for (i, wp) in worker_ports.into_iter().enumerate() {
                let mut others = wp.others.into_iter();
                let vm: Vec<Option<Box<dyn Port>>> = has_device
                    .iter()
                    .map(|&has| {
                        if has {
                            others.next().map(|p| Box::new(p) as Box<dyn Port>)
                        } else {
                            None
                        }
                    })
                    .collect();
                let snapshot = (*live.load()).clone();
                let mut worker = Worker::new(Switch::new(snapshot), Box::new(wp.uplink), vm)
                    .attach(Arc::clone(&live), ev_tx.clone(), None)
                    .labelled(format!("worker {i} "));
                let (rx_closed, done) = (&rx_closed, &done);
                let handle = std::thread::Builder::new()
                    .name(format!("hnv-worker-{i}"))
                    .stack_size(WORKER_STACK)
                    .spawn_scoped(s, move || {
                        worker.run(stop, stats_every);
                        // Every frame handed over gets its verdict: wait until the
                        // dispatcher receives no more, then empty the channels.
                        let end = Instant::now() + LINGER;
                        while !rx_closed.load(Ordering::SeqCst) && Instant::now() < end {
                            std::thread::sleep(Duration::from_millis(1));
                        }
                        for _ in 0..10_000 {
                            if worker.poll_once() == 0 {
                                break;
                            }
                        }
                        done.fetch_add(1, Ordering::SeqCst);
                        worker
                    })
                    .map_err(fail)?;
                handles.push(handle);
            }
            drop(ev_tx);
            ready();
            dispatcher.run(stop, &rx_closed, &done, LINGER);
            let workers: Vec<Worker> = handles.into_iter().filter_map(|h| h.join().ok()).collect();
            let mut report = multi_report(&dispatcher, &workers, &has_device);
            finish_control(&mut report);
            let accounts: Vec<(String, FrameAccount)> = dispatcher
                .devices()
                .filter_map(|d| d.frames().map(|a| (d.name().to_string(), a)))
                .collect();
            Ok(Finished {
                report,
                balanced: accounts.iter().all(|(_, a)| a.balanced()),
                accounts,
            })
        })
    }
}

fn control_lines(out: &mut String, c: &ControlCounters, snoop_dropped: u64) {
    let _ = writeln!(out, "{c}");
    let _ = writeln!(out, "control: neighbours not passed on {snoop_dropped}");
}

/// The report of a host with several workers: the devices as the dispatcher drove them,
/// the switch counters summed over the workers, then a line per worker and one for the
/// dispatcher.
fn multi_report(dispatcher: &Dispatcher, workers: &[Worker], has_device: &[bool]) -> String {
    let mut stats = Stats::new();
    let mut events = EventCounts::default();
    let mut counters = WorkerCounters::default();
    let mut gso = GsoCounters::default();
    for w in workers {
        let g = w.gso_counters();
        gso.super_frames += g.super_frames;
        gso.segmented += g.segmented;
        gso.segments += g.segments;
        gso.whole += g.whole;
        for (a, b) in gso.failed.iter_mut().zip(g.failed) {
            *a += b;
        }
        stats.add(w.switch().stats());
        let e = w.events();
        events.learned += e.learned;
        events.misses += e.misses;
        events.unresolved += e.unresolved;
        let c = w.counters();
        counters.frames += c.frames;
        counters.no_device += c.no_device;
        counters.rx_errors += c.rx_errors;
        counters.snapshots += c.snapshots;
    }
    let d = dispatcher.counters();
    counters.rounds = d.rounds;
    counters.forwarded = d.forwarded;
    counters.rx_errors += d.rx_errors;
    counters.flush_errors = d.flush_errors;
    counters.control_sent = d.control_sent;

    let devices: Vec<&dyn Port> = dispatcher.devices().collect();
    let mut rest = devices.iter().skip(1);
    let vm: Vec<Option<&dyn Port>> = has_device
        .iter()
        .map(|&has| if has { rest.next().copied() } else { None })
        .collect();
    let balanced = devices
        .iter()
        .filter_map(|d| d.frames())
        .all(|a| a.balanced());
    let ports = workers
        .first()
        .map_or(&[][..], |w| w.switch().tables().ports());
    let mut out = String::new();
    if let Some(&uplink) = devices.first() {
        let _ = write!(
            out,
            "{}",
            Summary {
                uplink,
                vm,
                ports,
                stats: &stats,
                events,
                counters,
                balanced,
            }
        );
    }
    let _ = writeln!(out, "{gso}");
    for (i, w) in workers.iter().enumerate() {
        let c = w.counters();
        let tx_dropped: u64 = w.devices().map(|p| p.counters().tx_dropped()).sum();
        let _ = writeln!(
            out,
            "worker {i}: {}, channel tx dropped {tx_dropped}, events not passed on {}",
            counters_text(&c),
            w.events_dropped()
        );
    }
    let _ = writeln!(
        out,
        "dispatch: rounds {}, frames to workers {:?}, stalled batches {}, dropped {}, \
         from workers {}, forwarded {}, control requests sent {}",
        d.rounds, d.to_worker, d.stalled, d.dropped, d.from_workers, d.forwarded, d.control_sent
    );
    out
}
