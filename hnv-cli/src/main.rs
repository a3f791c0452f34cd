//! `hnv`: run the HNV data plane's scenarios, replay captures, check policies.
//!
//! Today `hnv demo` walks one seed flow (RFC 7637 NVGRE between two hosts, figure 1-9 of
//! the HNV internals chapter) through encapsulation and decapsulation and prints every
//! header; the other commands of the design arrive with the policy and switch work.

mod decode;
mod offload;

use std::fs::File;
use std::io::BufWriter;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use hnv_core::buf::{FrameBuf, PacketBuf};
use hnv_core::ids::{MacAddr, Vsid};
use hnv_core::nvgre::{self, EncapParams, Underlay};
use hnv_core::wire::checksum;
use hnv_core::wire::ethernet::{EtherType, EthernetHeader};
use hnv_core::wire::ip_proto;
use hnv_core::wire::ipv4::Ipv4Header;
use hnv_sim::pcap::PcapWriter;
use zerocopy::IntoBytes;

#[derive(Parser)]
#[command(
    name = "hnv",
    version,
    about = "Hyper-V Network Virtualization (NVGRE, RFC 7637) data plane",
    long_about = "hnv is the HNV data plane as a library; this command runs its scenarios and tools.\n\n\
                  Examples:\n  hnv demo\n  hnv demo --pcap /tmp/hnv-demo.pcap   # then: tshark -r /tmp/hnv-demo.pcap -V"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Walk a seed packet flow through NVGRE encapsulation and decapsulation, printing each
    /// header as a protocol analyzer would; no root, nothing to set up.
    Demo {
        /// Also write the frames (VM side and wire side) to this pcap file.
        #[arg(long, value_name = "FILE")]
        pcap: Option<PathBuf>,
    },
    /// Apply the software NIC (NVGRE task offload) to a capture: segment, fill checksums,
    /// or print RSS hashes and queues.
    Offload {
        #[command(subcommand)]
        command: offload::OffloadCommand,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo { pcap } => demo(pcap),
        Command::Offload { command } => offload::run(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hnv: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Seed addressing (figure 1-9): Contoso1 and Contoso2 in VSID 5001 on two hosts.
const CONTOSO1_MAC: MacAddr = MacAddr([0x00, 0x15, 0x5d, 0x00, 0x00, 0x01]);
const CONTOSO2_MAC: MacAddr = MacAddr([0x00, 0x15, 0x5d, 0x00, 0x00, 0x02]);
const HOST_A_MAC: MacAddr = MacAddr([0x02, 0x00, 0x00, 0x00, 0x0a, 0x01]);
const HOST_B_MAC: MacAddr = MacAddr([0x02, 0x00, 0x00, 0x00, 0x0b, 0x01]);

/// An ICMP echo request from 10.0.0.5 to 10.0.0.7, as Contoso1 would send it.
fn seed_frame() -> Vec<u8> {
    let payload = b"hnv demo payload";
    let mut icmp = vec![8, 0, 0, 0, 0x12, 0x34, 0x00, 0x01];
    icmp.extend_from_slice(payload);
    let c = checksum::of(&icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    let mut ip = Ipv4Header::new(
        Ipv4Addr::new(10, 0, 0, 5),
        Ipv4Addr::new(10, 0, 0, 7),
        ip_proto::ICMP,
        icmp.len() as u16,
    );
    ip.ident.set(0x1c46);
    ip.set_dont_fragment(true);
    ip.ttl = 128;
    ip.fill_checksum();
    let mut f = EthernetHeader::new(CONTOSO2_MAC, CONTOSO1_MAC, EtherType::IPV4)
        .as_bytes()
        .to_vec();
    f.extend_from_slice(ip.as_bytes());
    f.extend_from_slice(&icmp);
    f
}

fn demo(pcap: Option<PathBuf>) -> Result<()> {
    // Open the capture first: a bad path fails before any output.
    let mut capture = match &pcap {
        Some(path) => {
            let file =
                File::create(path).with_context(|| format!("creating {}", path.display()))?;
            Some(PcapWriter::new(BufWriter::new(file))?)
        }
        None => None,
    };
    let inner = seed_frame();
    println!("Scenario: same VSID, different hosts, static lookup records (figure 1-9)");
    println!("  Contoso1 10.0.0.5 on HostA (PA 192.168.4.11) pings Contoso2 10.0.0.7 on HostB (PA 192.168.4.22), VSID 5001\n");
    println!("1. Contoso1 sends (VM side, {} bytes):", inner.len());
    decode::print(&inner, "   ");

    let mut mem = vec![0u8; nvgre::MAX_OVERHEAD + inner.len()];
    mem[nvgre::MAX_OVERHEAD..].copy_from_slice(&inner);
    let mut frame = FrameBuf::new(&mut mem, nvgre::MAX_OVERHEAD, inner.len())?;
    let params = EncapParams::new(
        Vsid::new(5001)?,
        HOST_A_MAC,
        HOST_B_MAC,
        Underlay::V4 {
            src: Ipv4Addr::new(192, 168, 4, 11),
            dst: Ipv4Addr::new(192, 168, 4, 22),
        },
    );
    let done = nvgre::encap(&mut frame, &params)?;
    let wire = frame.data().to_vec();
    println!(
        "\n2. HostA's HNV filter encapsulates: +{} bytes of outer headers, FlowID {} from the inner flow ({} bytes on the wire):",
        done.outer_len(),
        done.flow_id(),
        wire.len()
    );
    decode::print(&wire, "   ");

    let got = nvgre::decap(&mut frame).map_err(|r| anyhow::anyhow!("decap dropped: {r}"))?;
    println!(
        "\n3. HostB's HNV filter decapsulates: VSID {} from {} to {}, delivers {} bytes to Contoso2:",
        got.vsid(),
        got.underlay(&wire).src(),
        got.underlay(&wire).dst(),
        frame.len()
    );
    decode::print(frame.data(), "   ");
    if frame.data() != inner.as_slice() {
        bail!("decapsulated frame differs from the one Contoso1 sent");
    }
    println!(
        "\nresult: the frame Contoso2 receives is byte-identical to the one Contoso1 sent: PASS"
    );

    if let (Some(path), Some(mut w)) = (pcap, capture.take()) {
        w.write_frame(0, 0, &inner)?;
        w.write_frame(0, 1, &wire)?;
        w.write_frame(0, 2, frame.data())?;
        w.into_inner()?;
        println!(
            "wrote 3 frames to {} (VM side, wire, VM side)",
            path.display()
        );
    }
    Ok(())
}
