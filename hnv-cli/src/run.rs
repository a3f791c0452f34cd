//! `hnv run`: one host's data plane on Linux. The uplink is an AF_XDP socket on the
//! host's `Uplink.Interface`; each VM port is an AF_XDP socket on the host end of the
//! VM's veth named by the port's `Interface`, or a TAP device when that name starts with
//! `tap`. One worker thread runs the switch until SIGINT or SIGTERM, then the devices
//! are drained and closed (detaching the XDP programs) and the counters printed.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use hnv_afxdp::{Port, TapPort, Worker, XdpConfig, XdpMode, XdpPort};
use hnv_core::policy::Tables;
use hnv_core::switch::Switch;

use crate::policy_cmd;

const DETAILS: &str = "\
Brings up the data plane of one host of the policy file in the current network namespace:
  uplink    an AF_XDP socket on queue 0 of the host's Uplink.Interface (copy mode)
  VM ports  for each of the host's Ports, by its Interface name: a name starting with \
\"tap\" is a TAP device (created, or attached when it exists, with a virtio-net header); \
any other name is the host end of a veth (or any interface) that gets an AF_XDP socket
The host's kernel does not own the PAs: hnv answers ARP and ping for them on the uplink, \
so give the uplink interface no PA address.

Runs until SIGINT or SIGTERM; then drains transmissions, closes the sockets (detaching the \
XDP programs in the mode they were attached with) and prints the counters on stdout: per \
device, per switch port, drops by reason, events, and the UMEM frame accounting.";

const EXIT_CODES: &str = "\
Exit status:
  0  stopped by a signal, every UMEM frame accounted for
  1  a device could not be opened, or UMEM frames were missing at shutdown
  2  bad command line, or the policy file is invalid (its problems are listed)";

const EXAMPLES: &str = "\
Examples (inside a host's network namespace; see scripts/netns and docs/afxdp.md):
  hnv run --policy docs/examples/seed-policy.json --host HostA
  hnv run --policy docs/examples/seed-policy.json --host HostB --mode native --stats-interval 1";

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
    let tables = Tables::compile(&policy, &args.host)
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

    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed))
        .context("installing the SIGINT/SIGTERM handler")?;

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

    let mut worker = Worker::new(Switch::new(tables), uplink, ports);
    let devices: Vec<String> = worker
        .devices()
        .map(|d| format!("{} ({})", d.name(), d.kind()))
        .collect();
    eprintln!(
        "hnv run: {} ready ({} mode): {}",
        args.host,
        config.mode.name(),
        devices.join(", ")
    );
    worker.run(&stop, stats_every);
    worker.drain(Duration::from_millis(200));
    println!("hnv run: {} stopped", args.host);
    print!("{}", worker.report());
    let balanced = worker.frames_balanced();
    if !balanced {
        for (name, account) in worker.frame_accounts() {
            eprintln!("hnv run: {name}: UMEM frames {account}");
        }
    }
    drop(worker);
    Ok(if balanced {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
