//! `hnv run`: one host's data plane on Linux. The uplink is an AF_XDP socket on the
//! host's `Uplink.Interface`; each VM port is an AF_XDP socket on the host end of the
//! VM's veth named by the port's `Interface`, or a TAP device when that name starts with
//! `tap`. One worker thread runs the switch (or, with `--workers N`, a dispatcher spreads
//! the devices' frames over N switch workers by software RSS) next to a control thread
//! (provider ARP/ND resolution, policy reload on SIGHUP, link state) until SIGINT or
//! SIGTERM, then the devices are drained and closed (detaching the XDP programs) and the
//! counters printed.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use hnv_afxdp::{Host, Port, ReloadFn, TapPort, XdpConfig, XdpMode, XdpPort};
use hnv_core::policy::{Policy, Tables};

use crate::policy_cmd;

const DETAILS: &str = "\
Brings up the data plane of one host of the policy file in the current network namespace:
  uplink    an AF_XDP socket on queue 0 of the host's Uplink.Interface (copy mode)
  VM ports  for each of the host's Ports, by its Interface name: a name starting with \
\"tap\" is a TAP device (created, or attached when it exists, with a virtio-net header); \
any other name is the host end of a veth (or any interface) that gets an AF_XDP socket
The host's kernel does not own the PAs: hnv answers ARP and ping for them on the uplink, \
so give the uplink interface no PA address.

Workers: with --workers 1 (the default) one thread polls every device and runs the switch. \
With --workers N (N > 1) a dispatcher thread owns the devices (each has one queue) and spreads \
their frames over N switch workers by a software RSS hash on the inner headers (the inner \
TCP/UDP flow of NVGRE from the wire, the frame's own flow from a VM port, non-IP frames to \
worker 0), so one flow always meets the same worker and keeps its order; the workers' frames \
go back to the dispatcher, which sends them.

A control thread receives the switches' events. A provider next hop without a MAC (no static \
Neighbors entry, nothing learned yet) is resolved by ARP (IPv4) or neighbour solicitation \
(IPv6) sent out of the uplink from the host's first PA of its family, retried after 100 ms, \
200 ms, ... (6 requests); the answer, and every Dynamic record one worker learns, is shared \
with all workers. It also reports a device whose link goes down or comes back up.

SIGHUP reloads the policy file: it is read, validated and compiled again; a valid file is \
swapped in without stopping the workers (they pick it up at their next batch) and one line \
\"hnv run: policy reloaded (reload N): generation G\" is printed on stderr; an invalid file \
(or one that changes the host's uplink or ports, which needs a restart) is refused with its \
problems on stderr and the old tables stay.

Runs until SIGINT or SIGTERM; then drains transmissions, closes the sockets (detaching the \
XDP programs in the mode they were attached with) and prints the counters on stdout: per \
device, per switch port, the flow caches, drops by reason, events, the workers (summed, then \
one line each), the control thread, and the UMEM frame accounting.";

const EXIT_CODES: &str = "\
Exit status:
  0  stopped by a signal, every UMEM frame accounted for
  1  a device could not be opened, or UMEM frames were missing at shutdown
  2  bad command line, or the policy file is invalid (its problems are listed)";

const EXAMPLES: &str = "\
Examples (inside a host's network namespace; see scripts/netns and docs/afxdp.md):
  hnv run --policy docs/examples/seed-policy.json --host HostA
  hnv run --policy docs/examples/seed-policy.json --host HostB --mode native --stats-interval 1
  hnv run --policy docs/examples/seed-policy.json --host HostA --workers 2
  kill -HUP $(pidof hnv)      # reload the policy file";

fn short_help() -> String {
    format!("{EXIT_CODES}\n\n{EXAMPLES}")
}

fn long_help() -> String {
    format!("{DETAILS}\n\n{EXIT_CODES}\n\n{EXAMPLES}")
}

/// XDP attach mode (`--mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// In the driver (veth supports it).
    Native,
    /// On the generic receive path (any device).
    Generic,
}

/// Arguments of `hnv run`.
#[derive(clap::Args)]
#[command(after_help = short_help(), after_long_help = long_help())]
pub struct RunArgs {
    /// The policy file (as `hnv policy check` accepts).
    #[arg(long, value_name = "FILE")]
    pub policy: PathBuf,
    /// The host to run (a `Name` of the file's `Hosts`).
    #[arg(long, value_name = "NAME")]
    pub host: String,
    /// How the XDP programs are attached.
    #[arg(long, value_enum, default_value_t = Mode::Generic)]
    pub mode: Mode,
    /// Print a stats line (frames/s, totals, drops by reason) on stderr every S seconds;
    /// 0 turns it off.
    #[arg(long, value_name = "S", default_value_t = 0.0)]
    pub stats_interval: f64,
    /// Switch workers: 1 polls every device on one thread; N > 1 spreads the devices'
    /// frames over N workers by software RSS on the inner headers (1 to 64).
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub workers: u16,
}

/// Reads, validates and compiles the policy file again for `host` (on SIGHUP); refuses a
/// file that changes the host's uplink or ports (devices are opened once).
fn reloader(path: PathBuf, name: String, before: &Policy) -> ReloadFn {
    let host = name.clone();
    let devices = move |p: &Policy| {
        p.host(&host).map(|h| {
            let ports: Vec<(String, String)> = h
                .ports
                .iter()
                .map(|p| (p.name.clone(), p.interface.clone()))
                .collect();
            (h.uplink.interface.clone(), ports)
        })
    };
    let expected = devices(before);
    Box::new(move || {
        let policy = match policy_cmd::load(&path) {
            Ok(policy_cmd::Loaded::Valid(p)) => p,
            Ok(policy_cmd::Loaded::Invalid(problems)) => {
                let mut text: Vec<String> = problems.into_iter().map(|p| p.text).collect();
                text.push(format!(
                    "{}: invalid ({} problems)",
                    path.display(),
                    text.len()
                ));
                return Err(text.join("\n"));
            }
            Err(e) => return Err(format!("{e:#}")),
        };
        let now = devices(&policy);
        if now.is_none() {
            return Err(format!("{}: no host named {name:?}", path.display()));
        }
        if now != expected {
            return Err(format!(
                "{}: the uplink or the ports of {name} changed (restart hnv run for that)",
                path.display()
            ));
        }
        Tables::compile_advised(&policy, &name, hnv_afxdp::advise_huge_pages)
            .map_err(|e| format!("compiling host {name:?}: {e}"))
    })
}

fn open_port(interface: &str, config: XdpConfig) -> Result<Box<dyn Port>> {
    if interface.starts_with("tap") {
        Ok(Box::new(TapPort::open(interface)?))
    } else {
        Ok(Box::new(XdpPort::open(interface, 0, config)?))
    }
}

/// Runs `hnv run`.
pub fn run(args: &RunArgs) -> Result<ExitCode> {
    let Some(policy) = policy_cmd::load_valid(&args.policy)? else {
        return Ok(ExitCode::from(policy_cmd::EXIT_INVALID));
    };
    let host = policy_cmd::find_host(&policy, &args.host, &args.policy)?;
    // Large record arrays in transparent huge pages (fewer TLB misses per lookup).
    let tables = Tables::compile_advised(&policy, &args.host, hnv_afxdp::advise_huge_pages)
        .map_err(|e| anyhow::anyhow!("compiling host {:?}: {e}", args.host))?;
    let config = XdpConfig {
        mode: match args.mode {
            Mode::Native => XdpMode::Native,
            Mode::Generic => XdpMode::Generic,
        },
        ..XdpConfig::default()
    };
    let stats_every = (args.stats_interval > 0.0)
        .then(|| Duration::try_from_secs_f64(args.stats_interval))
        .transpose()
        .context("--stats-interval")?;

    let (stop, hangup) =
        hnv_afxdp::signal_flags().context("installing the SIGINT/SIGTERM/SIGHUP handlers")?;

    let uplink_name = &host.uplink.interface;
    let uplink: Box<dyn Port> = Box::new(
        XdpPort::open(uplink_name, 0, config)
            .with_context(|| format!("opening the uplink {uplink_name}"))?,
    );
    let mut ports = Vec::with_capacity(tables.ports().len());
    for entry in tables.ports() {
        let interface = host
            .ports
            .iter()
            .find(|p| p.name == entry.name)
            .map(|p| p.interface.as_str())
            .unwrap_or_default();
        if interface.is_empty() {
            log::warn!("port {} has no Interface: not opened", entry.name);
            ports.push(None);
            continue;
        }
        let port = open_port(interface, config)
            .with_context(|| format!("opening port {} on {interface}", entry.name))?;
        ports.push(Some(port));
    }

    let host = Host::new(tables, uplink, ports)
        .workers(usize::from(args.workers))
        .stats(stats_every)
        .reload(
            hangup,
            reloader(args.policy.clone(), args.host.clone(), &policy),
        );
    let devices = host.device_names();
    let (name, mode, workers) = (&args.host, config.mode.name(), args.workers);
    let finished = host
        .run(&stop, || {
            eprintln!(
                "hnv run: {name} ready ({mode} mode, {workers} worker{}): {}",
                if workers == 1 { "" } else { "s" },
                devices.join(", ")
            );
        })
        .context("starting the workers")?;
    println!("hnv run: {} stopped", args.host);
    print!("{}", finished.report);
    if !finished.balanced {
        for (name, account) in &finished.accounts {
            eprintln!("hnv run: {name}: UMEM frames {account}");
        }
    }
    Ok(if finished.balanced {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
