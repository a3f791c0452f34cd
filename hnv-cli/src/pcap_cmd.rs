//! `hnv pcap`: a capture replayed through one host's switch.
//!
//! Every frame of the input (pcap or pcapng) enters the host's switch from the wire or
//! from one VM port; what comes out is written where the verdict sends it, as the
//! in-memory fabric would carry it: `wire.pcap` for the uplink, `port-NAME.pcap` for each
//! port that received frames, and one line per input frame in `verdicts.jsonl`. Output
//! frames keep their input frame's timestamp (nanosecond pcap files).

use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::rc::Rc;

use anyhow::{bail, Context, Result};
use hnv_core::buf::{FrameBuf, PacketBuf};
use hnv_core::ids::{MacAddr, Vsid};
use hnv_core::nvgre;
use hnv_core::policy::{CompileError, Policy, Tables};
use hnv_core::switch::{Event, Flood, PortId, Switch, Verdict};
use hnv_core::DropReason;
use hnv_sim::pcap::{CaptureReader, PcapFrame, PcapWriter};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::policy_cmd;

/// Headroom in front of every frame: room for the largest outer headers.
const HEADROOM: usize = 128;
const _: () = assert!(HEADROOM >= nvgre::MAX_OVERHEAD);

/// Captures at least this large get a progress bar (when stderr is a terminal).
const PROGRESS_MIN_BYTES: u64 = 4 << 20;
/// Frames between two progress updates.
const PROGRESS_EVERY: usize = 1024;

/// Arguments of `hnv pcap`.
#[derive(clap::Args)]
#[command(
    after_help = "Writes into D: wire.pcap (frames sent to the uplink: NVGRE, \
    replies, flood copies), port-NAME.pcap for each port that received frames (the \
    host's other port files are removed), and \
    verdicts.jsonl with one JSON object per input frame: index, verdict (to-port, to-wire, \
    reply, flood, consumed, drop), reason (drops), vsid (when known), to."
)]
pub struct PcapArgs {
    /// Policy file (JSON, as docs/examples/seed-policy.json).
    #[arg(long, value_name = "F")]
    policy: PathBuf,
    /// The host whose switch handles the frames.
    #[arg(long, value_name = "H")]
    host: String,
    /// Where the frames enter the switch: `wire` (the uplink) or `port:NAME`.
    #[arg(long, value_name = "wire|port:NAME", value_parser = parse_ingress)]
    from: Ingress,
    /// Input capture: pcap (µs or ns, either byte order) or pcapng; Ethernet frames.
    #[arg(long = "in", value_name = "IN.pcap")]
    input: PathBuf,
    /// Output directory (created if missing).
    #[arg(long, value_name = "D")]
    out_dir: PathBuf,
    /// Print the summary as one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Where frames enter the switch.
#[derive(Debug, Clone)]
enum Ingress {
    Wire,
    Port(String),
}

fn parse_ingress(s: &str) -> Result<Ingress, String> {
    if s == "wire" {
        return Ok(Ingress::Wire);
    }
    s.strip_prefix("port:")
        .filter(|name| !name.is_empty())
        .map(|name| Ingress::Port(name.to_string()))
        .ok_or_else(|| format!("expected `wire` or `port:NAME`, got {s:?}"))
}

/// Runs `hnv pcap`.
pub fn run(args: &PcapArgs) -> Result<ExitCode> {
    let Some(policy) = policy_cmd::load_valid(&args.policy)? else {
        return Ok(ExitCode::from(2));
    };
    let Some(tables) = compile(&policy, args)? else {
        return Ok(ExitCode::from(2));
    };
    let ingress = ingress_port(&tables, args)?;
    let size = std::fs::metadata(&args.input)
        .with_context(|| format!("opening {}", args.input.display()))?
        .len();
    let consumed = Rc::new(Cell::new(0u64));
    let file =
        File::open(&args.input).with_context(|| format!("opening {}", args.input.display()))?;
    let counting = Counting {
        inner: BufReader::new(file),
        count: Rc::clone(&consumed),
    };
    let reader = CaptureReader::open(counting)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.input.display()))?;
    let format = reader.format();

    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("creating {}", args.out_dir.display()))?;
    let outputs: Vec<String> = ["wire.pcap".to_string(), "verdicts.jsonl".to_string()]
        .into_iter()
        .chain(port_files(&tables))
        .collect();
    refuse_overwriting_input(&args.input, &args.out_dir, &outputs)?;
    let mut replay = Replay::new(tables, ingress, &args.out_dir)?;

    let bar = progress_bar(size);
    let mut frames = 0usize;
    for (index, item) in reader.enumerate() {
        let frame = match item {
            Ok(f) => f,
            Err(e) => {
                bar.finish_and_clear();
                replay.finish()?;
                let done = match index {
                    0 => "nothing was replayed".to_string(),
                    1 => "the outputs hold the frame before it".to_string(),
                    n => format!("the outputs hold the {n} frames before it"),
                };
                bail!("{}: {e} ({done})", args.input.display());
            }
        };
        replay.frame(index, &frame)?;
        frames = index + 1;
        if frames % PROGRESS_EVERY == 0 {
            bar.set_position(consumed.get());
            bar.set_message(format!("{frames} frames"));
        }
    }
    bar.finish_and_clear();
    let (files, counts) = replay.finish()?;
    let summary = Summary {
        input: args.input.display().to_string(),
        format: format.name(),
        host: args.host.clone(),
        from: match &args.from {
            Ingress::Wire => "wire".into(),
            Ingress::Port(p) => format!("port:{p}"),
        },
        frames,
        verdicts: counts.verdicts(),
        drop_reasons: counts.drop_reasons(),
        copy_drops: counts.copy_drop_reasons(),
        events: counts.events,
        files,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print_summary(&summary);
    }
    Ok(ExitCode::SUCCESS)
}

/// The host's tables, or `None` after printing the policy's problems (exit 2).
fn compile(policy: &Policy, args: &PcapArgs) -> Result<Option<Tables>> {
    policy_cmd::find_host(policy, &args.host, &args.policy)?;
    match Tables::compile(policy, &args.host) {
        Ok(t) => Ok(Some(t)),
        Err(CompileError::UnknownHost(h)) => bail!("no host named {h:?}"),
        Err(e @ CompileError::Invalid(_)) => {
            let text = e.to_string();
            policy_cmd::report_invalid(&args.policy, &text.lines().collect::<Vec<_>>());
            Ok(None)
        }
    }
}

/// The ingress port of `--from port:NAME`; `None` for the wire.
fn ingress_port(tables: &Tables, args: &PcapArgs) -> Result<Option<PortId>> {
    let Ingress::Port(name) = &args.from else {
        return Ok(None);
    };
    let ports = tables.ports();
    let Some(i) = ports.iter().position(|p| &p.name == name) else {
        let names: Vec<_> = ports.iter().map(|p| p.name.as_str()).collect();
        bail!(
            "host {} has no port {name:?}; its ports: {}",
            args.host,
            list(&names)
        );
    };
    Ok(Some(PortId(u16::try_from(i).context("port index")?)))
}

fn list(names: &[&str]) -> String {
    if names.is_empty() {
        "(none)".into()
    } else {
        names.join(", ")
    }
}

/// Refuses an input that is one of the files the run would overwrite.
fn refuse_overwriting_input(input: &Path, out_dir: &Path, outputs: &[String]) -> Result<()> {
    let (Ok(input), Ok(dir)) = (input.canonicalize(), out_dir.canonicalize()) else {
        return Ok(());
    };
    let name = input
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if outputs.iter().any(|o| o == name) && input.parent() == Some(dir.as_path()) {
        bail!(
            "{} would be overwritten by the output; choose another --out-dir",
            input.display()
        );
    }
    Ok(())
}

fn progress_bar(size: u64) -> ProgressBar {
    if size < PROGRESS_MIN_BYTES {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "replaying {wide_bar} {bytes}/{total_bytes} ({eta} left) {msg}",
    ) {
        bar.set_style(style);
    }
    bar
}

/// Counts the bytes read through it (the progress bar's position).
struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// A pcap file being written.
struct Output {
    path: PathBuf,
    writer: PcapWriter<BufWriter<File>>,
    frames: u64,
    bytes: u64,
}

impl Output {
    fn create(path: PathBuf) -> Result<Self> {
        let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        let writer = PcapWriter::new_nanos(BufWriter::new(file))
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(Self {
            path,
            writer,
            frames: 0,
            bytes: 0,
        })
    }

    fn write(&mut self, at: &PcapFrame, frame: &[u8]) -> Result<()> {
        self.writer
            .write_frame(at.secs, at.frac, frame)
            .with_context(|| format!("writing {}", self.path.display()))?;
        self.frames += 1;
        self.bytes += frame.len() as u64;
        Ok(())
    }

    fn finish(self) -> Result<FileSummary> {
        self.writer
            .into_inner()
            .and_then(|mut w| w.flush())
            .with_context(|| format!("writing {}", self.path.display()))?;
        Ok(FileSummary {
            path: self.path.display().to_string(),
            frames: Some(self.frames),
            bytes: Some(self.bytes),
            lines: None,
        })
    }
}

/// The output file name of each port: `port-NAME.pcap`, with anything but letters,
/// digits, `-`, `_` and `.` in the name replaced by `_` (and `-N`, the port's index,
/// added should two names become the same).
fn port_files(tables: &Tables) -> Vec<String> {
    let mut files: Vec<String> = Vec::new();
    for (i, p) in tables.ports().iter().enumerate() {
        let safe: String = p
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let mut name = format!("port-{safe}.pcap");
        if files.contains(&name) {
            name = format!("port-{safe}-{i}.pcap");
        }
        files.push(name);
    }
    files
}

/// The verdicts, in the order they are reported.
const VERDICTS: [&str; 6] = ["to-port", "to-wire", "reply", "flood", "consumed", "drop"];

fn verdict_index(v: &Verdict) -> usize {
    match v {
        Verdict::ToPort(_) => 0,
        Verdict::ToWire => 1,
        Verdict::Reply => 2,
        Verdict::Flood(_) => 3,
        Verdict::Consumed => 4,
        Verdict::Drop(_) => 5,
    }
}

/// Events the switch raised during the run.
#[derive(Debug, Default, Clone, Copy, Serialize)]
struct EventCounts {
    learned: u64,
    miss: u64,
    unresolved_neighbor: u64,
}

struct Counts {
    verdicts: [u64; VERDICTS.len()],
    drops: [u64; DropReason::COUNT],
    copy_drops: [u64; DropReason::COUNT],
    events: EventCounts,
}

impl Default for Counts {
    fn default() -> Self {
        Self {
            verdicts: [0; VERDICTS.len()],
            drops: [0; DropReason::COUNT],
            copy_drops: [0; DropReason::COUNT],
            events: EventCounts::default(),
        }
    }
}

impl Counts {
    fn verdicts(&self) -> Vec<(&'static str, u64)> {
        VERDICTS
            .iter()
            .zip(self.verdicts)
            .filter(|(_, n)| *n > 0)
            .map(|(v, n)| (*v, n))
            .collect()
    }

    /// Reasons with their counts, most frequent first.
    fn reasons(counts: &[u64; DropReason::COUNT]) -> Vec<(&'static str, u64)> {
        let mut v: Vec<_> = DropReason::ALL
            .iter()
            .zip(counts)
            .filter(|(_, n)| **n > 0)
            .map(|(r, n)| (r.name(), *n))
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        v
    }

    fn drop_reasons(&self) -> Vec<(&'static str, u64)> {
        Self::reasons(&self.drops)
    }

    fn copy_drop_reasons(&self) -> Vec<(&'static str, u64)> {
        Self::reasons(&self.copy_drops)
    }
}

/// Where a frame went: `wire`, `port:NAME`, or for a flood copy `wire:PA`.
#[derive(Serialize)]
#[serde(untagged)]
enum To {
    One(String),
    Many(Vec<String>),
}

/// A flood copy the switch refused to encapsulate.
#[derive(Serialize)]
struct CopyDrop {
    to: String,
    reason: &'static str,
}

/// One line of `verdicts.jsonl`.
#[derive(Serialize)]
struct VerdictLine {
    index: usize,
    verdict: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vsid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    to: Option<To>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    dropped_copies: Vec<CopyDrop>,
}

/// The switch, the files, the counters.
struct Replay {
    switch: Switch<Tables>,
    ingress: Option<PortId>,
    port_names: Vec<String>,
    /// Each port's output file (created when it gets its first frame).
    port_paths: Vec<PathBuf>,
    wire: Output,
    ports: Vec<Option<Output>>,
    verdicts_path: PathBuf,
    verdicts: BufWriter<File>,
    lines: u64,
    counts: Counts,
    events: Vec<Event>,
    /// Frame memory, reused: headroom, then the frame.
    mem: Vec<u8>,
}

impl Replay {
    fn new(tables: Tables, ingress: Option<PortId>, dir: &Path) -> Result<Self> {
        let port_names: Vec<String> = tables.ports().iter().map(|p| p.name.clone()).collect();
        let port_paths: Vec<PathBuf> = port_files(&tables).iter().map(|f| dir.join(f)).collect();
        // A port file left by an earlier run would read as this run's output.
        for path in &port_paths {
            match std::fs::remove_file(path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(e).with_context(|| format!("removing {}", path.display()));
                }
                _ => {}
            }
        }
        let wire = Output::create(dir.join("wire.pcap"))?;
        let verdicts_path = dir.join("verdicts.jsonl");
        let verdicts = File::create(&verdicts_path)
            .with_context(|| format!("creating {}", verdicts_path.display()))?;
        let ports = port_names.iter().map(|_| None).collect();
        Ok(Self {
            switch: Switch::new(tables),
            ingress,
            port_names,
            port_paths,
            wire,
            ports,
            verdicts_path,
            verdicts: BufWriter::new(verdicts),
            lines: 0,
            counts: Counts::default(),
            events: Vec::new(),
            mem: Vec::new(),
        })
    }

    fn port_label(&self, p: PortId) -> String {
        match self.port_names.get(p.index()) {
            Some(name) => format!("port:{name}"),
            None => format!("port:#{}", p.0),
        }
    }

    /// Writes `frame` to the uplink (`None`) or a port's file; returns its label.
    fn send(&mut self, to: Option<PortId>, at: &PcapFrame, frame: &[u8]) -> Result<String> {
        let Some(p) = to else {
            self.wire.write(at, frame)?;
            return Ok("wire".into());
        };
        let label = self.port_label(p);
        let Some(slot) = self.ports.get_mut(p.index()) else {
            bail!("the switch sent a frame to {label}, which the host does not have");
        };
        if slot.is_none() {
            let Some(path) = self.port_paths.get(p.index()) else {
                bail!("no output file for {label}");
            };
            *slot = Some(Output::create(path.clone())?);
        }
        if let Some(out) = slot {
            out.write(at, frame)?;
        }
        Ok(label)
    }

    /// Runs one frame through the switch, writes what comes out and its verdict line.
    fn frame(&mut self, index: usize, at: &PcapFrame) -> Result<()> {
        let mut mem = std::mem::take(&mut self.mem);
        mem.clear();
        mem.resize(HEADROOM, 0);
        mem.extend_from_slice(&at.data);
        let mut buf = FrameBuf::new(&mut mem, HEADROOM, at.data.len())?;
        let (verdict, vsid) = if let Some(port) = self.ingress {
            let vsid = self
                .switch
                .tables()
                .ports()
                .get(port.index())
                .and_then(|p| p.vsid)
                .map(Vsid::get);
            let v = self.switch.from_port(port, &mut buf, &mut self.events);
            (v, vsid)
        } else {
            let vsid = nvgre::inspect(&at.data).ok().map(|n| n.vsid().get());
            (self.switch.from_wire(&mut buf, &mut self.events), vsid)
        };
        log::debug!("frame {index}: {verdict:?}");
        let mut line = VerdictLine {
            index,
            verdict: VERDICTS[verdict_index(&verdict)],
            reason: None,
            vsid,
            to: None,
            dropped_copies: Vec::new(),
        };
        let result = self.execute(verdict, at, buf.data(), &mut line);
        self.mem = mem;
        result?;
        self.count(verdict);
        serde_json::to_writer(&mut self.verdicts, &line)?;
        self.verdicts.write_all(b"\n")?;
        self.lines += 1;
        Ok(())
    }

    /// Does what `verdict` says with the processed `frame`, as the fabric would.
    fn execute(
        &mut self,
        verdict: Verdict,
        at: &PcapFrame,
        frame: &[u8],
        line: &mut VerdictLine,
    ) -> Result<()> {
        match verdict {
            Verdict::ToPort(p) => line.to = Some(To::One(self.send(Some(p), at, frame)?)),
            Verdict::ToWire => line.to = Some(To::One(self.send(None, at, frame)?)),
            // Back where it came from: the ingress port, or the uplink.
            Verdict::Reply => line.to = Some(To::One(self.send(self.ingress, at, frame)?)),
            Verdict::Flood(flood) => {
                let (to, dropped) = self.flood(&flood, at, frame)?;
                line.to = Some(To::Many(to));
                line.dropped_copies = dropped;
            }
            Verdict::Consumed => {}
            Verdict::Drop(r) => line.reason = Some(r.name()),
        }
        Ok(())
    }

    /// Copies to the flood's local ports, and NVGRE copies to its PAs.
    fn flood(
        &mut self,
        flood: &Flood,
        at: &PcapFrame,
        frame: &[u8],
    ) -> Result<(Vec<String>, Vec<CopyDrop>)> {
        let ports: Vec<PortId> = self.switch.flood_ports(flood).collect();
        let pas: Vec<IpAddr> = self.switch.flood_pas(flood).collect();
        let mut to = Vec::with_capacity(ports.len() + pas.len());
        for p in ports {
            to.push(self.send(Some(p), at, frame)?);
        }
        let src_mac = self
            .ingress
            .and_then(|p| self.switch.tables().ports().get(p.index()))
            .map_or(MacAddr([0; 6]), |p| p.mac);
        let mut dropped = Vec::new();
        let mut copy = vec![0u8; HEADROOM + frame.len()];
        for pa in pas {
            copy[HEADROOM..].copy_from_slice(frame);
            let mut buf = FrameBuf::new(&mut copy, HEADROOM, frame.len())?;
            let v = self
                .switch
                .encap_copy(&mut buf, flood.vsid, src_mac, pa, &mut self.events);
            let label = format!("wire:{pa}");
            match v {
                Verdict::ToWire => {
                    self.wire.write(at, buf.data())?;
                    to.push(label);
                }
                Verdict::Drop(r) => {
                    self.counts.copy_drops[r.index()] += 1;
                    dropped.push(CopyDrop {
                        to: label,
                        reason: r.name(),
                    });
                }
                other => dropped.push(CopyDrop {
                    to: label,
                    reason: VERDICTS[verdict_index(&other)],
                }),
            }
        }
        Ok((to, dropped))
    }

    fn count(&mut self, verdict: Verdict) {
        self.counts.verdicts[verdict_index(&verdict)] += 1;
        if let Verdict::Drop(r) = verdict {
            self.counts.drops[r.index()] += 1;
        }
        for e in self.events.drain(..) {
            match e {
                Event::Learned(_) => self.counts.events.learned += 1,
                Event::Miss { .. } => self.counts.events.miss += 1,
                Event::UnresolvedNeighbor(_) => self.counts.events.unresolved_neighbor += 1,
            }
        }
    }

    /// Flushes every file; what was written (wire first, then the ports in port order)
    /// and the counters.
    fn finish(mut self) -> Result<(Vec<FileSummary>, Counts)> {
        let mut files = vec![self.wire.finish()?];
        for out in self.ports.into_iter().flatten() {
            files.push(out.finish()?);
        }
        self.verdicts
            .flush()
            .with_context(|| format!("writing {}", self.verdicts_path.display()))?;
        files.push(FileSummary {
            path: self.verdicts_path.display().to_string(),
            frames: None,
            bytes: None,
            lines: Some(self.lines),
        });
        Ok((files, self.counts))
    }
}

/// A file the run wrote.
#[derive(Serialize)]
struct FileSummary {
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    frames: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lines: Option<u64>,
}

/// What the run did (`--json` prints it as is).
#[derive(Serialize)]
struct Summary {
    input: String,
    format: &'static str,
    host: String,
    from: String,
    frames: usize,
    #[serde(serialize_with = "as_map")]
    verdicts: Vec<(&'static str, u64)>,
    #[serde(serialize_with = "as_map")]
    drop_reasons: Vec<(&'static str, u64)>,
    /// Flood copies the switch did not encapsulate, by reason.
    #[serde(serialize_with = "as_map")]
    copy_drops: Vec<(&'static str, u64)>,
    events: EventCounts,
    files: Vec<FileSummary>,
}

/// Serializes pairs as a JSON object, keeping their order.
#[allow(clippy::ptr_arg)] // the signature serde's `serialize_with` calls
fn as_map<S: serde::Serializer>(pairs: &Vec<(&'static str, u64)>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(pairs.iter().map(|(k, v)| (*k, *v)))
}

fn print_summary(s: &Summary) {
    println!(
        "{}: {} frames ({}) through {}'s switch from {}",
        s.input, s.frames, s.format, s.host, s.from
    );
    let width = s
        .verdicts
        .iter()
        .chain(&s.drop_reasons)
        .chain(&s.copy_drops)
        .map(|(k, _)| k.len())
        .max()
        .unwrap_or(0);
    let section = |title: &str, pairs: &[(&str, u64)]| {
        if !pairs.is_empty() {
            println!("{title}:");
            for (k, n) in pairs {
                println!("  {k:<width$}  {n:>8}");
            }
        }
    };
    section("verdicts", &s.verdicts);
    section("drop reasons", &s.drop_reasons);
    section("flood copies not sent", &s.copy_drops);
    let e = s.events;
    if e.learned + e.miss + e.unresolved_neighbor > 0 {
        println!(
            "events: {} learned, {} lookup misses, {} unresolved neighbours",
            e.learned, e.miss, e.unresolved_neighbor
        );
    }
    println!("written:");
    let width = s.files.iter().map(|f| f.path.len()).max().unwrap_or(0);
    for f in &s.files {
        match (f.frames, f.bytes, f.lines) {
            (Some(frames), Some(bytes), _) => {
                let unit = if frames == 1 { "frame " } else { "frames" };
                println!(
                    "  {:<width$}  {frames:>8} {unit}  {bytes:>10} bytes",
                    f.path
                );
            }
            (_, _, Some(lines)) => println!("  {:<width$}  {lines:>8} lines", f.path),
            _ => println!("  {}", f.path),
        }
    }
}
