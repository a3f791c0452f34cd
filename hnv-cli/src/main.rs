//! `hnv`: the HNV data plane's command — run the seed scenarios, check and show policies,
//! replay captures through a host's switch, explain decisions, apply the software NIC.

mod decode;
mod demo;
mod explain;
mod offload;
mod pcap_cmd;
mod policy_cmd;
mod run;
mod trace;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "hnv",
    version,
    about = "Hyper-V Network Virtualization (NVGRE, RFC 7637) data plane",
    long_about = "hnv is the HNV data plane as a library; this command runs its scenarios and tools.\n\n\
                  Examples:\n  \
                  hnv demo                                   # every seed scenario, decoded\n  \
                  hnv demo --scenario fig-1-9 --pcap /tmp/hnv.pcap\n  \
                  hnv policy check docs/examples/seed-policy.json\n  \
                  hnv policy show docs/examples/seed-policy.json --host HostA\n  \
                  hnv trace --policy docs/examples/seed-policy.json --host HostA --from port:Contoso1 --dst 10.0.0.7\n  \
                  hnv pcap --policy docs/examples/seed-policy.json --host HostB --from wire --in in.pcap --out-dir out/\n\n\
                  Logging: -v / -vv, or RUST_LOG=debug."
)]
struct Cli {
    /// More log output on stderr (-v: info, -vv: debug, -vvv: trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the seed scenarios on an in-memory fabric of hosts running the real switch,
    /// printing each step with the packets decoded; no root, nothing to set up.
    Demo(demo::DemoArgs),
    /// Validate a policy file, or show what it compiles to for a host.
    Policy {
        #[command(subcommand)]
        command: policy_cmd::PolicyCommand,
    },
    /// Replay a capture through one host's switch and write what comes out.
    Pcap(pcap_cmd::PcapArgs),
    /// Explain how one host's switch decides for a probe packet, step by step.
    Trace(trace::TraceArgs),
    /// Run one host's data plane on Linux: AF_XDP on the uplink and VM ports (TAP for
    /// ports whose interface starts with "tap") until SIGINT/SIGTERM.
    Run(run::RunArgs),
    /// Apply the software NIC (NVGRE task offload) to a capture: segment, fill checksums,
    /// or print RSS hashes and queues.
    Offload {
        #[command(subcommand)]
        command: offload::OffloadCommand,
    },
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default))
        .format_timestamp(None)
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let result = match cli.command {
        Command::Demo(args) => demo::run(&args),
        Command::Policy { command } => policy_cmd::run(command),
        Command::Pcap(args) => pcap_cmd::run(&args),
        Command::Trace(args) => trace::run(&args),
        Command::Run(args) => run::run(&args),
        Command::Offload { command } => offload::run(command).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("hnv: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
