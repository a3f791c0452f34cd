//! `hnv offload lso|csum|rss`: hnv-offload's software NIC applied to a capture.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Subcommand, ValueEnum};
use hnv_offload::soft::csum::{fill_checksums, ChecksumMode, SeedCheck};
use hnv_offload::soft::lso::{output_len, segment};
use hnv_offload::soft::rss::{Rss, MS_VERIFICATION_KEY};
use hnv_offload::{
    Checksums, CwrPolicy, IdWrap, IpIdPolicy, IpVersion, Layout, LsoRequest, NicCaps, OffloadCaps,
    TxOffload, TxRequest,
};
use hnv_sim::pcap::{CaptureReader, PcapFrame, PcapWriter};

/// How segments get their IPv4 identification.
#[derive(Clone, Copy, ValueEnum)]
pub enum IpId {
    /// ID0 + k for segment k (wraps modulo 2^16).
    Incr,
    /// ID0 on every segment.
    Fixed,
}

/// The `hnv offload` subcommands.
#[derive(Subcommand)]
pub enum OffloadCommand {
    /// Segment every NVGRE TCP frame (large send offload on the inner TCP) into frames of
    /// at most MSS payload bytes with complete checksums; other frames pass unchanged.
    Lso {
        /// TCP payload bytes per segment.
        #[arg(long, value_name = "N")]
        mss: u16,
        /// Input capture (pcap or pcapng, Ethernet).
        #[arg(long = "in", value_name = "IN.pcap")]
        input: PathBuf,
        /// Output capture.
        #[arg(long = "out", value_name = "OUT.pcap")]
        output: PathBuf,
        /// IPv4 identification of the segments.
        #[arg(long, value_enum, default_value = "incr")]
        ipid: IpId,
    },
    /// Fill the outer IPv4, inner IPv4 and inner TCP/UDP checksums of every NVGRE frame;
    /// other frames pass unchanged.
    Csum {
        /// Input capture.
        #[arg(long = "in", value_name = "IN.pcap")]
        input: PathBuf,
        /// Output capture.
        #[arg(long = "out", value_name = "OUT.pcap")]
        output: PathBuf,
    },
    /// Print the RSS hash type, Toeplitz hash and queue of every frame (inner 4-tuple for
    /// NVGRE TCP/UDP, else the outer addresses), one line per frame.
    Rss {
        /// Input capture.
        #[arg(long = "in", value_name = "IN.pcap")]
        input: PathBuf,
        /// 40-byte key in hex (separators `:` `-` allowed); default: the Microsoft RSS
        /// verification key.
        #[arg(long, value_name = "HEX")]
        key: Option<String>,
        /// Receive queues (indirection table of 128 entries, round robin).
        #[arg(long, value_name = "N", default_value_t = 8)]
        queues: u16,
        /// One JSON object per line instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Runs one `hnv offload` subcommand.
pub fn run(cmd: OffloadCommand) -> Result<()> {
    match cmd {
        OffloadCommand::Lso {
            mss,
            input,
            output,
            ipid,
        } => lso(mss, &input, &output, ipid),
        OffloadCommand::Csum { input, output } => csum(&input, &output),
        OffloadCommand::Rss {
            input,
            key,
            queues,
            json,
        } => rss(&input, key.as_deref(), queues, json),
    }
}

fn read_all(path: &Path) -> Result<Vec<PcapFrame>> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let reader = CaptureReader::open(BufReader::new(file))
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn writer(path: &Path) -> Result<PcapWriter<BufWriter<File>>> {
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    // Nanosecond pcap: pcap, nanosecond pcap and pcapng inputs all keep their timestamps.
    Ok(PcapWriter::new_nanos(BufWriter::new(file))?)
}

fn lso(mss: u16, input: &Path, output: &Path, ipid: IpId) -> Result<()> {
    if mss == 0 {
        bail!("--mss must be at least 1");
    }
    let frames = read_all(input)?;
    let mut w = writer(output)?;
    let req = TxRequest {
        checksums: Checksums::ALL,
        lso: Some(LsoRequest {
            mss,
            ip_id: match ipid {
                IpId::Incr => IpIdPolicy::Increment,
                IpId::Fixed => IpIdPolicy::Fixed,
            },
            outer_ip_id: match ipid {
                IpId::Incr => IpIdPolicy::Increment,
                IpId::Fixed => IpIdPolicy::Fixed,
            },
            id_wrap: IdWrap::Bits16,
            cwr: CwrPolicy::FirstOnly,
        }),
    };
    let (mut segmented, mut segments, mut passed, mut wrong_seeds) = (0, 0, 0, 0);
    let mut out = Vec::new();
    for f in &frames {
        let Ok(d) = TxOffload::build(&f.data, &req, &NicCaps::SOFTWARE) else {
            w.write_frame(f.secs, f.frac, &f.data)?;
            passed += 1;
            continue;
        };
        out.resize(output_len(&d), 0);
        let (segs, seed) = segment(&f.data, &d, &mut out)
            .map_err(|e| anyhow::anyhow!("frame {}: {e}", segmented + passed))?;
        if matches!(seed, SeedCheck::Wrong { .. }) {
            wrong_seeds += 1;
        }
        for s in segs.iter() {
            w.write_frame(f.secs, f.frac, s)?;
        }
        segmented += 1;
        segments += segs.len();
    }
    w.into_inner()?.flush()?;
    println!(
        "{} frames: {segmented} NVGRE TCP frames segmented into {segments} segments (MSS {mss}), \
         {passed} passed unchanged; wrote {}",
        frames.len(),
        output.display()
    );
    if wrong_seeds > 0 {
        println!(
            "note: {wrong_seeds} frames did not carry the LSO pseudo-header seed in the TCP \
             checksum field (the segments' checksums are complete anyway)"
        );
    }
    Ok(())
}

fn csum(input: &Path, output: &Path) -> Result<()> {
    let frames = read_all(input)?;
    let mut w = writer(output)?;
    let (mut filled, mut passed) = (0, 0);
    for f in &frames {
        let mut data = f.data.clone();
        let desc = Layout::parse(&data).ok().and_then(|l| {
            let mut c = Checksums::empty();
            if l.outer_ip == IpVersion::V4 {
                c = c | Checksums::OUTER_IPV4;
            }
            if l.inner_ip == IpVersion::V4 {
                c = c | Checksums::INNER_IPV4;
            }
            if l.inner_l4.is_some() {
                c = c | Checksums::INNER_L4;
            }
            TxOffload::from_layout(&data, &l, &TxRequest::checksums(c)).ok()
        });
        match desc {
            Some(d) if fill_checksums(&mut data, &d, ChecksumMode::Complete).is_ok() => {
                filled += 1;
            }
            _ => passed += 1,
        }
        w.write_frame(f.secs, f.frac, &data)?;
    }
    w.into_inner()?.flush()?;
    println!(
        "{} frames: checksums filled in {filled} NVGRE frames, {passed} passed unchanged; wrote {}",
        frames.len(),
        output.display()
    );
    Ok(())
}

fn parse_key(hex: &str) -> Result<[u8; 40]> {
    let digits: String = hex
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | ' '))
        .collect();
    if digits.len() != 80 {
        bail!(
            "--key must be 40 bytes (80 hex digits), got {} digits",
            digits.len()
        );
    }
    let mut key = [0u8; 40];
    for (i, b) in key.iter_mut().enumerate() {
        *b = u8::from_str_radix(&digits[2 * i..2 * i + 2], 16)
            .with_context(|| format!("--key: bad hex at byte {i}"))?;
    }
    Ok(key)
}

fn rss(input: &Path, key: Option<&str>, queues: u16, json: bool) -> Result<()> {
    let key = match key {
        Some(k) => parse_key(k)?,
        None => MS_VERIFICATION_KEY,
    };
    if queues == 0 {
        bail!("--queues must be at least 1");
    }
    let frames = read_all(input)?;
    let rss = Rss::new(
        &key,
        OffloadCaps::ALL_RSS_TYPES | OffloadCaps::RSS_INNER,
        queues,
    );
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for (i, f) in frames.iter().enumerate() {
        let r = rss.classify(&f.data);
        let layer = if r.inner { "inner" } else { "outer" };
        if json {
            writeln!(
                out,
                "{{\"index\":{i},\"hash_type\":\"{}\",\"headers\":\"{layer}\",\"hash\":\"0x{:08x}\",\"queue\":{}}}",
                r.hash_type.name(),
                r.hash,
                r.queue
            )?;
        } else {
            writeln!(
                out,
                "{i} {} {layer} 0x{:08x} queue {}",
                r.hash_type.name(),
                r.hash,
                r.queue
            )?;
        }
    }
    Ok(())
}
