//! `hnv trace`: the decision path of one probe packet through one host's switch, the
//! question `Select-NetVirtualizationNextHop` / `Test-VMNetworkAdapter` answer on Windows.
//!
//! The probe is built as the VM on the chosen port would send it, run through
//! [`Switch::from_port`] with a [`Trace`] sink, and every [`Step`] is printed in words.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use hnv_core::buf::{FrameBuf, PacketBuf};
use hnv_core::ids::{MacAddr, Vsid};
use hnv_core::nvgre;
use hnv_core::policy::{LookupTable, RecordType, Tables};
use hnv_core::switch::{Action, Event, PortId, Step, Switch, Trace, Verdict};
use hnv_core::wire::checksum;
use hnv_core::wire::ethernet::{EtherType, EthernetHeader};
use hnv_core::wire::ip_proto;
use hnv_core::wire::ipv4::Ipv4Header;
use hnv_core::wire::ipv6::Ipv6Header;
use serde_json::{json, Value};
use zerocopy::IntoBytes;

use crate::decode;
use crate::explain::Explainer;
use crate::policy_cmd;

/// Exit code when the switch dropped the probe.
pub const EXIT_DROPPED: u8 = 3;

/// Source port of TCP and UDP probes (the first of the dynamic range).
const PROBE_SPORT: u16 = 49152;

/// How the probe is built and what is printed (`--help` only).
const DETAILS: &str = "\
The probe is built as the VM on --from would send it: source MAC = the port's MAC; source \
CA = --src or the port's CA (from its lookup record); destination MAC = the destination \
VM's MAC when the destination CA has a lookup record in the port's VSID (the VM would ARP \
for it directly), else the host's gateway MAC (the VM sends off-subnet traffic to its .1 \
gateway); IPv4 or IPv6 by the address family; a TCP SYN, a UDP datagram or an ICMP echo \
request, with valid checksums and Don't Fragment set (IPv4).

The probe goes through the real switch of the host, like Select-NetVirtualizationNextHop / \
Test-VMNetworkAdapter on Windows. Printed: the probe, each decision step (ingress port and \
VSID, routing domain, customer route, lookup record, provider next hop and its MAC, the \
action), events for the control plane, the verdict, a summary (for NVGRE: PA source -> \
destination, VSID, FlowID, next-hop MAC) and the resulting frame decoded.";

const EXIT_CODES: &str = "\
Exit status:
  0  the switch forwarded the probe (to a local port, to the wire, flooded) or answered it
  3  the switch dropped the probe (the reason is printed)
  1  the policy file cannot be read, or the host or port is unknown
  2  bad command line, or the policy file is invalid (its problems are listed)";

const EXAMPLES: &str = "\
Examples (the seed policy):
  # same VSID, other host (figure 1-9): NVGRE to PA 192.168.4.22, VSID 5001
  hnv trace --policy docs/examples/seed-policy.json --host HostA --from port:Contoso1 --dst 10.0.0.7
  # other VSID, other host (figure 1-11): routed, then NVGRE with VSID 6001
  hnv trace --policy docs/examples/seed-policy.json --host HostA --from port:Contoso1 --dst 10.0.1.7 --proto tcp --dport 443
  # same VSID, same host (figure 1-7): switched locally to Contoso3
  hnv trace --policy docs/examples/seed-policy.json --host HostA --from port:Contoso1 --dst 10.0.0.6
  # IP rewrite (TranslationMethodNat): PA 192.168.4.51 -> 192.168.4.52
  hnv trace --policy docs/examples/seed-policy.json --host HostA --from port:Fabrikam1 --dst 10.0.0.7 --json
  # no route: dropped, exit status 3
  hnv trace --policy docs/examples/seed-policy.json --host HostA --from port:Contoso1 --dst 10.9.9.9";

fn short_help() -> String {
    format!("{EXIT_CODES}\n\n{EXAMPLES}")
}

fn long_help() -> String {
    format!("{DETAILS}\n\n{EXIT_CODES}\n\n{EXAMPLES}")
}

/// Transport of the probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Proto {
    /// A TCP SYN (no payload unless --payload).
    Tcp,
    /// A UDP datagram.
    Udp,
    /// An ICMP / ICMPv6 echo request.
    Icmp,
}

impl Proto {
    const fn name(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Udp => "udp",
            Self::Icmp => "icmp",
        }
    }
}

/// Arguments of `hnv trace`.
#[derive(clap::Args)]
#[command(after_help = short_help(), after_long_help = long_help())]
pub struct TraceArgs {
    /// The policy file (as `hnv policy check` accepts).
    #[arg(long, value_name = "FILE")]
    pub policy: PathBuf,
    /// The host whose switch decides (a `Name` of the file's `Hosts`).
    #[arg(long, value_name = "NAME")]
    pub host: String,
    /// Where the probe enters: `port:NAME`, a VM port of the host (a `Ports[].Name`).
    #[arg(long, value_name = "port:NAME", value_parser = parse_from)]
    pub from: String,
    /// Destination customer address (IPv4 or IPv6).
    #[arg(long, value_name = "CA")]
    pub dst: IpAddr,
    /// Source customer address; default: the port's CA from its lookup record (of the
    /// destination's address family).
    #[arg(long, value_name = "CA")]
    pub src: Option<IpAddr>,
    /// Transport of the probe.
    #[arg(long, value_enum, default_value_t = Proto::Icmp)]
    pub proto: Proto,
    /// Destination port of a TCP or UDP probe [default: 80 for tcp, 53 for udp].
    #[arg(long, value_name = "N")]
    pub dport: Option<u16>,
    /// Payload bytes after the TCP/UDP/ICMP header [default: 0 for tcp, 32 otherwise];
    /// a large payload shows the MTU handling.
    #[arg(long, value_name = "BYTES")]
    pub payload: Option<u16>,
    /// Print the probe, steps, events, verdict, summary and resulting frame as one JSON
    /// object.
    #[arg(long)]
    pub json: bool,
}

/// `port:NAME` → `NAME`.
fn parse_from(s: &str) -> Result<String, String> {
    match s.strip_prefix("port:") {
        Some(name) if !name.is_empty() => Ok(name.to_string()),
        Some(_) => Err("the port name is missing: port:NAME".into()),
        None if s == "wire" => Err(
            "trace builds probes from a VM port only (port:NAME); replay frames from the wire \
             with `hnv pcap --from wire`"
                .into(),
        ),
        None => Err(format!("expected port:NAME, got {s:?}")),
    }
}

/// Runs `hnv trace`.
pub fn run(args: &TraceArgs) -> Result<ExitCode> {
    let Some(policy) = policy_cmd::load_valid(&args.policy)? else {
        return Ok(ExitCode::from(policy_cmd::EXIT_INVALID));
    };
    policy_cmd::find_host(&policy, &args.host, &args.policy)?;
    let tables = Tables::compile(&policy, &args.host)
        .map_err(|e| anyhow::anyhow!("compiling host {:?}: {e}", args.host))?;
    let port = find_port(&tables, &args.host, &args.from)?;
    let probe = Probe::new(&tables, port, args)?;
    let input = probe.frame();

    let mut mem = vec![0u8; nvgre::MAX_OVERHEAD + input.len()];
    mem[nvgre::MAX_OVERHEAD..].copy_from_slice(&input);
    let mut frame = FrameBuf::new(&mut mem, nvgre::MAX_OVERHEAD, input.len())?;
    let mut switch = Switch::new(tables);
    let mut sink = Trace::default();
    let verdict = switch.from_port(PortId(port as u16), &mut frame, &mut sink);

    let ctx = Explainer {
        policy: &policy,
        switch: &switch,
        uplink: policy
            .host(&args.host)
            .map_or("", |h| h.uplink.interface.as_str()),
    };
    let report = Report {
        probe: &probe,
        input: &input,
        steps: &sink.steps,
        events: &sink.events,
        verdict,
        output: frame.data(),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report.json(&ctx))?);
    } else {
        print!("{}", report.text(&ctx));
    }
    Ok(match verdict {
        Verdict::Drop(_) => ExitCode::from(EXIT_DROPPED),
        _ => ExitCode::SUCCESS,
    })
}

/// The index of the port named `name`, or an error naming the host's ports.
fn find_port(t: &Tables, host: &str, name: &str) -> Result<usize> {
    if let Some(i) = t.ports().iter().position(|p| p.name == name) {
        if u16::try_from(i).is_err() {
            bail!("port {name:?} is beyond the switch's port numbering");
        }
        return Ok(i);
    }
    let names: Vec<String> = t.ports().iter().map(|p| format!("{:?}", p.name)).collect();
    if names.is_empty() {
        bail!("no port named {name:?} on host {host}: it has no ports");
    }
    bail!(
        "no port named {name:?} on host {host}; its ports: {}",
        names.join(", ")
    )
}

// ---------------------------------------------------------------------------------------
// The probe
// ---------------------------------------------------------------------------------------

/// The probe packet and why its addresses are what they are.
struct Probe {
    port: usize,
    port_name: String,
    vsid: Vsid,
    src_mac: MacAddr,
    dst_mac: MacAddr,
    /// Why `dst_mac`: the destination's record, or the gateway.
    dst_mac_from: &'static str,
    dst_mac_why: String,
    src: IpAddr,
    dst: IpAddr,
    proto: Proto,
    dport: u16,
    payload: u16,
}

impl Probe {
    fn new(t: &Tables, port: usize, args: &TraceArgs) -> Result<Self> {
        let p = &t.ports()[port];
        let Some(vsid) = p.vsid else {
            bail!(
                "port {:?} is not virtualized (VSID 0): its frames pass through the switch \
                 untouched, there is no HNV decision to trace",
                p.name
            );
        };
        let dst = args.dst;
        let src = match args.src {
            Some(s) => s,
            None => own_ca(t, vsid, p.mac, dst.is_ipv4()).ok_or_else(|| {
                anyhow::anyhow!(
                    "port {:?} has no {} customer address in its lookup records (VSID {vsid}, \
                     MAC {}); give one with --src",
                    p.name,
                    if dst.is_ipv4() { "IPv4" } else { "IPv6" },
                    p.mac
                )
            })?,
        };
        if src.is_ipv4() != dst.is_ipv4() {
            bail!("--src {src} and --dst {dst} are of different address families");
        }
        let (dst_mac, dst_mac_from, dst_mac_why) = match t.by_ca(vsid, dst) {
            Some(rec) if !rec.record_type.is_wildcard() => (
                rec.mac,
                "lookup_record",
                format!("{dst} has a lookup record in VSID {vsid}, so the VM ARPs for it directly"),
            ),
            _ => (
                t.gateway_mac(),
                "gateway",
                format!(
                    "the gateway MAC: {dst} has no lookup record in VSID {vsid}, so the VM sends \
                     to its .1 gateway"
                ),
            ),
        };
        let dport = match (args.proto, args.dport) {
            (Proto::Icmp, Some(_)) => bail!("--dport needs --proto tcp or --proto udp"),
            (Proto::Icmp, None) => 0,
            (_, Some(n)) => n,
            (Proto::Tcp, None) => 80,
            (Proto::Udp, None) => 53,
        };
        let payload = args
            .payload
            .unwrap_or(if args.proto == Proto::Tcp { 0 } else { 32 });
        if payload > 9000 {
            bail!("--payload {payload}: at most 9000 bytes");
        }
        Ok(Self {
            port,
            port_name: p.name.clone(),
            vsid,
            src_mac: p.mac,
            dst_mac,
            dst_mac_from,
            dst_mac_why,
            src,
            dst,
            proto: args.proto,
            dport,
            payload,
        })
    }

    /// One line: `ICMP echo request 10.0.0.5 -> 10.0.0.7`.
    fn describe(&self) -> String {
        match self.proto {
            Proto::Tcp => format!(
                "TCP SYN {} -> {}",
                sock(self.src, PROBE_SPORT),
                sock(self.dst, self.dport)
            ),
            Proto::Udp => format!(
                "UDP {} -> {}",
                sock(self.src, PROBE_SPORT),
                sock(self.dst, self.dport)
            ),
            Proto::Icmp => format!("ICMP echo request {} -> {}", self.src, self.dst),
        }
    }

    /// The Ethernet frame the VM sends.
    fn frame(&self) -> Vec<u8> {
        let body: Vec<u8> = (0..self.payload).map(|i| b'a' + (i % 23) as u8).collect();
        let (ethertype, l3) = match (self.src, self.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => (EtherType::IPV4, self.ipv4(s, d, &body)),
            (IpAddr::V6(s), IpAddr::V6(d)) => (EtherType::IPV6, self.ipv6(s, d, &body)),
            // Probe::new refuses mixed families.
            _ => (EtherType::IPV4, Vec::new()),
        };
        let mut f = EthernetHeader::new(self.dst_mac, self.src_mac, ethertype)
            .as_bytes()
            .to_vec();
        f.extend_from_slice(&l3);
        f
    }

    /// The transport header and payload, checksum field zero, and its IP protocol.
    fn l4(&self, body: &[u8], v6: bool) -> (u8, Vec<u8>) {
        let mut l4 = Vec::with_capacity(20 + body.len());
        let proto = match self.proto {
            Proto::Tcp => {
                l4.extend_from_slice(&PROBE_SPORT.to_be_bytes());
                l4.extend_from_slice(&self.dport.to_be_bytes());
                l4.extend_from_slice(&0x4e11_0001_u32.to_be_bytes()); // sequence number
                l4.extend_from_slice(&0_u32.to_be_bytes()); // acknowledgment
                l4.extend_from_slice(&[5 << 4, 0x02]); // data offset 5 words, SYN
                l4.extend_from_slice(&64240_u16.to_be_bytes()); // window
                l4.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
                ip_proto::TCP
            }
            Proto::Udp => {
                l4.extend_from_slice(&PROBE_SPORT.to_be_bytes());
                l4.extend_from_slice(&self.dport.to_be_bytes());
                l4.extend_from_slice(&((8 + body.len()) as u16).to_be_bytes());
                l4.extend_from_slice(&[0, 0]);
                ip_proto::UDP
            }
            Proto::Icmp => {
                l4.extend_from_slice(&[if v6 { 128 } else { 8 }, 0, 0, 0]);
                l4.extend_from_slice(&[0x00, 0x01, 0x00, 0x01]); // identifier, sequence
                if v6 {
                    ip_proto::ICMPV6
                } else {
                    ip_proto::ICMP
                }
            }
        };
        l4.extend_from_slice(body);
        (proto, l4)
    }

    /// Writes the transport checksum, whose pseudo-header sum is `pseudo`.
    fn fill_l4_checksum(&self, l4: &mut [u8], pseudo: checksum::Checksum) {
        let at = match self.proto {
            Proto::Tcp => 16,
            Proto::Udp => 6,
            Proto::Icmp => 2,
        };
        let mut c = pseudo.add_bytes(l4).finish();
        if self.proto == Proto::Udp && c == 0 {
            c = 0xffff;
        }
        l4[at..at + 2].copy_from_slice(&c.to_be_bytes());
    }

    fn ipv4(&self, src: Ipv4Addr, dst: Ipv4Addr, body: &[u8]) -> Vec<u8> {
        let (proto, mut l4) = self.l4(body, false);
        let len = l4.len() as u16;
        let pseudo = if proto == ip_proto::ICMP {
            checksum::Checksum::new()
        } else {
            checksum::pseudo_v4(src, dst, proto, len)
        };
        self.fill_l4_checksum(&mut l4, pseudo);
        let mut ip = Ipv4Header::new(src, dst, proto, len);
        ip.ident.set(0x4e11);
        ip.ttl = 128;
        ip.set_dont_fragment(true);
        ip.fill_checksum();
        let mut out = ip.as_bytes().to_vec();
        out.extend_from_slice(&l4);
        out
    }

    fn ipv6(&self, src: Ipv6Addr, dst: Ipv6Addr, body: &[u8]) -> Vec<u8> {
        let (proto, mut l4) = self.l4(body, true);
        let len = l4.len() as u16;
        self.fill_l4_checksum(
            &mut l4,
            checksum::pseudo_v6(src, dst, proto, u32::from(len)),
        );
        let mut ip = Ipv6Header::new(src, dst, proto, len);
        ip.hop_limit = 128;
        let mut out = ip.as_bytes().to_vec();
        out.extend_from_slice(&l4);
        out
    }
}

/// The CA of the port's own (Static or Dynamic) lookup record of the wanted family.
fn own_ca(t: &Tables, vsid: Vsid, mac: MacAddr, v4: bool) -> Option<IpAddr> {
    t.records()
        .iter()
        .find(|r| {
            r.vsid == vsid
                && r.mac == mac
                && matches!(r.record_type, RecordType::Static | RecordType::Dynamic)
                && r.ca.is_ipv4() == v4
                && t.owns_pa(r.pa)
        })
        .map(|r| r.ca)
}

/// `10.0.0.5:49152`, `[fd00::5]:49152`.
fn sock(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

// ---------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------

/// Everything one trace produced.
struct Report<'a> {
    probe: &'a Probe,
    input: &'a [u8],
    steps: &'a [Step],
    events: &'a [Event],
    verdict: Verdict,
    /// The frame after the switch (unchanged when dropped).
    output: &'a [u8],
}

/// The answer `Select-NetVirtualizationNextHop` would give, from the resulting frame.
struct Summary {
    text: String,
    json: Value,
}

impl Report<'_> {
    fn action(&self) -> Option<Action> {
        self.steps.iter().rev().find_map(|s| match s {
            Step::Action(a) => Some(*a),
            _ => None,
        })
    }

    fn summary(&self, ctx: &Explainer<'_>) -> Option<Summary> {
        match (self.verdict, self.action()?) {
            (Verdict::ToWire, Action::Encap { .. }) => {
                let n = nvgre::inspect(self.output).ok()?;
                let outer = n.outer(self.output);
                let (src, dst) = (outer.underlay.src(), outer.underlay.dst());
                Some(Summary {
                    text: format!(
                        "PA {src} -> {dst}, VSID {}, FlowID {}, next-hop MAC {}",
                        n.vsid(),
                        n.flow_id(),
                        outer.dst_mac
                    ),
                    json: json!({"kind": "encap", "src_pa": src, "dst_pa": dst,
                                 "vsid": n.vsid().get(), "flow_id": n.flow_id().to_string(),
                                 "next_hop_mac": outer.dst_mac.to_string()}),
                })
            }
            (
                Verdict::ToWire,
                Action::Rewrite {
                    src, dst, eth_dst, ..
                },
            ) => Some(Summary {
                text: format!(
                    "IP rewrite: PA {src} -> {dst} (CA {} -> {}), no encapsulation, next-hop MAC \
                     {eth_dst}",
                    self.probe.src, self.probe.dst
                ),
                json: json!({"kind": "rewrite", "src_pa": src, "dst_pa": dst,
                             "next_hop_mac": eth_dst.to_string()}),
            }),
            (Verdict::ToPort(p), _) => {
                let entry = ctx.tables().ports().get(p.index())?;
                let vsid = entry.vsid.map(Vsid::get);
                Some(Summary {
                    text: format!(
                        "local delivery to port {} (VSID {}, MAC {}), no encapsulation",
                        entry.name,
                        vsid.unwrap_or(0),
                        entry.mac
                    ),
                    json: json!({"kind": "local", "port": entry.name, "vsid": vsid,
                                 "mac": entry.mac.to_string()}),
                })
            }
            _ => None,
        }
    }

    fn text(&self, ctx: &Explainer<'_>) -> String {
        let p = self.probe;
        let t = ctx.tables();
        let mut s = format!(
            "Probe from port {} on {}: {}, {} bytes\n",
            p.port_name,
            t.host(),
            p.describe(),
            self.input.len()
        );
        let _ = writeln!(s, "  destination MAC {} ({})", p.dst_mac, p.dst_mac_why);
        for line in decode::describe(self.input) {
            let _ = writeln!(s, "  {line}");
        }
        let _ = writeln!(s, "\nDecision of {}'s switch:", t.host());
        for (n, step) in self.steps.iter().enumerate() {
            let _ = writeln!(s, "  {}. {}", n + 1, ctx.step(step).0);
        }
        for e in self.events {
            let _ = writeln!(s, "  event: {}", Explainer::event(e).0);
        }
        let _ = writeln!(s, "\nVerdict: {}", ctx.verdict(&self.verdict));
        if let Some(sum) = self.summary(ctx) {
            let _ = writeln!(s, "Summary: {}", sum.text);
        }
        if !matches!(self.verdict, Verdict::Drop(_)) {
            let _ = writeln!(s, "\nResulting frame ({} bytes):", self.output.len());
            for line in decode::describe(self.output) {
                let _ = writeln!(s, "  {line}");
            }
        }
        s
    }

    fn json(&self, ctx: &Explainer<'_>) -> Value {
        let p = self.probe;
        let steps: Vec<Value> = self
            .steps
            .iter()
            .enumerate()
            .map(|(n, step)| {
                let (text, mut v) = ctx.step(step);
                v["n"] = json!(n + 1);
                v["text"] = json!(text);
                v
            })
            .collect();
        let events: Vec<Value> = self
            .events
            .iter()
            .map(|e| {
                let (text, mut v) = Explainer::event(e);
                v["text"] = json!(text);
                v
            })
            .collect();
        let dropped = matches!(self.verdict, Verdict::Drop(_));
        let summary = self.summary(ctx).map(|s| {
            let mut v = s.json;
            v["text"] = json!(s.text);
            v
        });
        json!({
            "host": ctx.tables().host(),
            "probe": {
                "port": p.port_name,
                "port_id": p.port,
                "vsid": p.vsid.get(),
                "proto": p.proto.name(),
                "src": p.src,
                "dst": p.dst,
                "sport": (p.proto != Proto::Icmp).then_some(PROBE_SPORT),
                "dport": (p.proto != Proto::Icmp).then_some(p.dport),
                "src_mac": p.src_mac.to_string(),
                "dst_mac": p.dst_mac.to_string(),
                "dst_mac_from": p.dst_mac_from,
                "dst_mac_reason": p.dst_mac_why,
                "text": p.describe(),
                "frame": decode::describe(self.input),
                "hex": hex(self.input),
            },
            "steps": steps,
            "events": events,
            "verdict": verdict_json(ctx, &self.verdict),
            "forwarded": !dropped,
            "summary": summary,
            "frame": (!dropped).then(|| decode::describe(self.output)),
            "frame_hex": (!dropped).then(|| hex(self.output)),
        })
    }
}

/// Lower-case hex digits, no separators.
fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn verdict_json(ctx: &Explainer<'_>, v: &Verdict) -> Value {
    let text = ctx.verdict(v);
    match *v {
        Verdict::ToPort(p) => {
            json!({"verdict": "to_port", "port": ctx.port_name(p), "port_id": p.0, "text": text})
        }
        Verdict::ToWire => json!({"verdict": "to_wire", "text": text}),
        Verdict::Reply => json!({"verdict": "reply", "text": text}),
        Verdict::Flood(f) => json!({"verdict": "flood", "vsid": f.vsid.get(), "text": text}),
        Verdict::Consumed => json!({"verdict": "consumed", "text": text}),
        Verdict::Drop(r) => json!({"verdict": "drop", "reason": r.name(), "text": text}),
    }
}
