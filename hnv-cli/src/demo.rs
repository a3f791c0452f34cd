//! `hnv demo`: the seed scenarios on an in-memory fabric of two hosts running the real
//! switch, each step printed as a person reads it, the wire decoded, every expectation
//! checked.

use std::fmt::Write as _;
use std::fs::File;
use std::io::BufWriter;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, Context, Result};
use hnv_core::ids::MacAddr;
use hnv_core::nvgre;
use hnv_core::policy::{file, Policy};
use hnv_core::switch::{Action, Event, Step, Verdict};
use hnv_core::wire::ethernet::{EtherType, EthernetFrame};
use hnv_core::wire::ipv4::Ipv4Packet;
use hnv_core::wire::{checksum, ip_proto};
use hnv_sim::fabric::{Decision, Direction, Fabric, Link, Record};
use hnv_sim::pcap::PcapWriter;
use hnv_sim::seed;
use hnv_sim::vm::{IfAddr, Message, Vm};

use crate::decode;
use crate::explain::Explainer;

/// Arguments of `hnv demo`.
#[derive(clap::Args)]
#[command(after_help = "Scenarios:\n  \
    fig-1-7       same VSID, same host: switched locally, never on the wire\n  \
    fig-1-8       different VSIDs, same host: routed by the HNV filter's .1 gateway\n  \
    fig-1-9       same VSID, two hosts, static records: ARP answered locally, NVGRE\n  \
    fig-1-10      dynamic learning with an L2Only record: ARP across, records learned\n  \
    fig-1-11      different VSIDs, two hosts: routed, then NVGRE with the destination VSID\n  \
    ip-rewrite    Fabrikam with IP rewrite (TranslationMethodNat): CA<->PA, no GRE\n  \
    gateway       a customer route via a gateway VM on the other host\n  \
    isolation     Contoso and Fabrikam share CAs and never reach each other\n\n\
    Examples:\n  hnv demo\n  hnv demo --scenario fig-1-9 --pcap /tmp/fig-1-9.pcap   # then: tshark -r /tmp/fig-1-9.pcap -V")]
pub struct DemoArgs {
    /// Write every frame of the provider network (the wire) to this pcap file.
    #[arg(long, value_name = "FILE")]
    pcap: Option<PathBuf>,
    /// Run only this scenario (see the list below).
    #[arg(long, value_name = "NAME", value_parser = clap::builder::PossibleValuesParser::new(SCENARIO_NAMES))]
    scenario: Option<String>,
    /// Print only the summary table.
    #[arg(long, short)]
    quiet: bool,
}

const SCENARIO_NAMES: [&str; 8] = [
    "fig-1-7",
    "fig-1-8",
    "fig-1-9",
    "fig-1-10",
    "fig-1-11",
    "ip-rewrite",
    "gateway",
    "isolation",
];

/// One expectation and whether it held.
struct Check {
    what: String,
    ok: bool,
}

fn check(what: impl Into<String>, ok: bool) -> Check {
    Check {
        what: what.into(),
        ok,
    }
}

/// A scenario: the policy it runs on, what the VMs do, what must hold afterwards.
struct Scenario {
    name: &'static str,
    title: &'static str,
    story: &'static str,
    policy: fn() -> Result<Policy>,
    drive: fn(&mut Fabric) -> Result<()>,
    expect: fn(&Fabric) -> Vec<Check>,
}

// A table of the eight scenarios: one entry each, long because each spells out its checks.
#[allow(clippy::too_many_lines)]
fn scenarios() -> [Scenario; 8] {
    [
        Scenario {
            name: "fig-1-7",
            title: "same VSID, same host (figure 1-7)",
            story: "Contoso1 (10.0.0.5) pings Contoso3 (10.0.0.6); both are in VSID 5001 on HostA.",
            policy: seed_policy,
            drive: |f| ping(f, "Contoso1", "10.0.0.6", 1),
            expect: |f| {
                vec![
                    check("Contoso1 got the echo reply from 10.0.0.6", got_echo_reply(f, "Contoso1", "10.0.0.6")),
                    check(
                        "Contoso3 answered the ARP itself",
                        arp_reply_from(f, "Contoso1", "10.0.0.6") == Some(mac_of("Contoso3")),
                    ),
                    check("nothing went on the wire", wire_frames(f).is_empty()),
                ]
            },
        },
        Scenario {
            name: "fig-1-8",
            title: "different VSIDs, same host (figure 1-8)",
            story: "Contoso1 (10.0.0.5, VSID 5001) pings Contoso4 (10.0.1.6, VSID 6001) on HostA: \
                    one routing domain, two virtual subnets.",
            policy: seed_policy,
            drive: |f| ping(f, "Contoso1", "10.0.1.6", 2),
            expect: |f| {
                vec![
                    check("Contoso1 got the echo reply from 10.0.1.6", got_echo_reply(f, "Contoso1", "10.0.1.6")),
                    check(
                        "the .1 gateway was answered with the HNV filter's MAC",
                        f.vm("Contoso1").and_then(|v| v.neighbor(ip("10.0.0.1"))) == Some(gateway_mac(f)),
                    ),
                    check("nothing went on the wire", wire_frames(f).is_empty()),
                ]
            },
        },
        Scenario {
            name: "fig-1-9",
            title: "same VSID, different hosts, static lookup records (figure 1-9)",
            story: "Contoso1 (10.0.0.5 on HostA, PA 192.168.4.11) pings and sends UDP to Contoso2 \
                    (10.0.0.7 on HostB, PA 192.168.4.22), both in VSID 5001.",
            policy: seed_policy,
            drive: |f| {
                ping(f, "Contoso1", "10.0.0.7", 3)?;
                f.send_udp("Contoso1", ip("10.0.0.7"), 5000, 7, b"hello over NVGRE")?;
                Ok(())
            },
            expect: |f| {
                vec![
                    check("Contoso1 got the echo reply from 10.0.0.7", got_echo_reply(f, "Contoso1", "10.0.0.7")),
                    check("Contoso2 got the UDP datagram", got_udp(f, "Contoso2", b"hello over NVGRE")),
                    check(
                        "HostA answered the ARP on Contoso2's behalf",
                        arp_reply_from(f, "Contoso1", "10.0.0.7") == Some(mac_of("Contoso2"))
                            && decided(f, "HostA", Verdict::Reply),
                    ),
                    check("only NVGRE with VSID 5001 on the wire", wire_vsids(f).iter().all(|v| *v == Some(5001)) && !wire_frames(f).is_empty()),
                    check("no ARP crossed the wire", !wire_carries_arp(f)),
                ]
            },
        },
        Scenario {
            name: "fig-1-10",
            title: "dynamic learning with an L2Only record (figure 1-10)",
            story: "HostA knows only that a VM with Contoso2's MAC lives behind PA 192.168.4.22 \
                    (an L2Only record, no CA). Contoso1 pings 10.0.0.7 twice.",
            policy: learning_policy,
            drive: |f| {
                ping(f, "Contoso1", "10.0.0.7", 4)?;
                f.run();
                ping(f, "Contoso1", "10.0.0.7", 5)
            },
            expect: |f| {
                let learned = |host: &str| {
                    f.host(host).is_some_and(|h| {
                        h.events().iter().any(|e| {
                            matches!(e, Event::Learned(r) if r.ca == ip("10.0.0.7") && r.pa == ip("192.168.4.22"))
                        })
                    })
                };
                vec![
                    check("the ARP request crossed the wire, unicast NVGRE to the L2Only PA", wire_carries_arp(f)),
                    check("HostA learned 10.0.0.7 at 192.168.4.22 and told the control plane", learned("HostA")),
                    check("HostB learned it too", learned("HostB")),
                    check("both pings were answered", echo_replies(f, "Contoso1", "10.0.0.7") == 2),
                    check("only one ARP exchange: the second ping used the learned record", wire_arp_count(f) == 2),
                ]
            },
        },
        Scenario {
            name: "fig-1-11",
            title: "different VSIDs, different hosts (figure 1-11)",
            story: "Contoso1 (10.0.0.5, VSID 5001, HostA) pings Contoso5 (10.0.1.7, VSID 6001, HostB).",
            policy: seed_policy,
            drive: |f| ping(f, "Contoso1", "10.0.1.7", 6),
            expect: |f| {
                let vsids = wire_vsids(f);
                vec![
                    check("Contoso1 got the echo reply from 10.0.1.7", got_echo_reply(f, "Contoso1", "10.0.1.7")),
                    check("the request crossed with the destination's VSID 6001", vsids.first() == Some(&Some(6001))),
                    check("the reply crossed with VSID 5001", vsids.last() == Some(&Some(5001))),
                ]
            },
        },
        Scenario {
            name: "ip-rewrite",
            title: "IP rewrite (TranslationMethodNat)",
            story: "Fabrikam1 (10.0.0.5 on HostA, its own PA 192.168.4.51) pings Fabrikam2 (10.0.0.7 on \
                    HostB, PA 192.168.4.52). Contoso uses the same CAs in another routing domain.",
            policy: seed_policy,
            drive: |f| ping(f, "Fabrikam1", "10.0.0.7", 7),
            expect: |f| {
                let wire = wire_frames(f);
                vec![
                    check("Fabrikam1 got the echo reply from 10.0.0.7", got_echo_reply(f, "Fabrikam1", "10.0.0.7")),
                    check(
                        "the wire carried plain IPv4 between the PAs 192.168.4.51 and 192.168.4.52, no GRE",
                        !wire.is_empty() && wire.iter().all(|r| rewritten_between(&r.frame, "192.168.4.51", "192.168.4.52")),
                    ),
                    check("every IPv4 and ICMP checksum on the wire is correct", wire.iter().all(|r| checksums_ok(&r.frame))),
                    check("Contoso2, also 10.0.0.7, received nothing", inbox_len(f, "Contoso2") == 0),
                ]
            },
        },
        Scenario {
            name: "gateway",
            title: "a customer route via a gateway",
            story: "VSID 5001 gets a default route via 10.0.0.254, a gateway VM on HostB. Contoso1 sends \
                    UDP to 8.8.8.8.",
            policy: gateway_policy,
            drive: |f| {
                let gw = Vm::new(
                    "ContosoGW",
                    GW_MAC,
                    &[IfAddr::new(ip("10.0.0.254"), 24)?],
                    &[],
                )?;
                f.attach("HostB", "ContosoGW", gw)?;
                f.send_udp("Contoso1", ip("8.8.8.8"), 5000, 4000, b"to the internet")?;
                Ok(())
            },
            expect: |f| {
                let to_gw = f
                    .frames_on(&Link::Port { host: "HostB".into(), port: "ContosoGW".into() }, Direction::Out);
                vec![
                    check("the datagram crossed as NVGRE with VSID 5001 to the gateway's PA 192.168.4.22", wire_vsids(f) == [Some(5001)]),
                    check(
                        "the gateway VM received the datagram for 8.8.8.8, addressed to its MAC",
                        to_gw.iter().any(|fr| fr.get(..6) == Some(&GW_MAC.0[..]) && decode::summary(fr).contains("8.8.8.8")),
                    ),
                ]
            },
        },
        Scenario {
            name: "isolation",
            title: "isolation between routing domains with overlapping CAs",
            story: "Fabrikam1 (10.0.0.5, Fabrikam) tries 10.0.0.6, a CA only Contoso has: first by \
                    ARP, then with a forged neighbour entry pointing at Contoso3's MAC. Contoso1 \
                    (also 10.0.0.5, Contoso) pings 10.0.0.7, a CA both have.",
            policy: seed_policy,
            drive: |f| {
                ping(f, "Fabrikam1", "10.0.0.6", 8)?;
                f.run();
                f.with_vm("Fabrikam1", |vm| Ok(vm.set_neighbor(ip("10.0.0.6"), mac_of("Contoso3"))))?;
                f.run();
                ping(f, "Contoso1", "10.0.0.7", 9)
            },
            expect: |f| {
                let miss = f.host("HostA").is_some_and(|h| {
                    h.events().iter().any(|e| matches!(e, Event::Miss { ca, .. } if *ca == ip("10.0.0.6")))
                });
                vec![
                    check("HostA told the control plane it has no record of 10.0.0.6 for Fabrikam", miss),
                    check("the forged echo request was dropped and counted", dropped(f, "HostA") > 0),
                    check("Fabrikam1 got no answer", !got_echo_reply(f, "Fabrikam1", "10.0.0.6")),
                    check("Contoso3 (10.0.0.6) received nothing", inbox_len(f, "Contoso3") == 0),
                    check("Contoso1's ping reached Contoso2 and was answered", got_echo_reply(f, "Contoso1", "10.0.0.7")),
                    check("Fabrikam2 (also 10.0.0.7) received nothing", inbox_len(f, "Fabrikam2") == 0),
                ]
            },
        },
    ]
}

// ---- policies -----------------------------------------------------------------------------

fn seed_policy() -> Result<Policy> {
    file::from_json(seed::POLICY).map_err(|e| anyhow!("the seed policy: {e}"))
}

/// The seed with Contoso2's record turned into an L2Only record (no CA): HostA must learn.
fn learning_policy() -> Result<Policy> {
    let mut p = seed_policy()?;
    for r in &mut p.lookup_records {
        if r.vm_name == "Contoso2" {
            r.customer_address = IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);
            r.record_type = hnv_core::policy::RecordType::L2Only;
        }
    }
    Ok(p)
}

const GW_MAC: MacAddr = MacAddr([0x00, 0x15, 0x5d, 0x00, 0x00, 0xfe]);

/// The seed with a gateway VM (10.0.0.254 on HostB) and a default route to it in VSID 5001.
fn gateway_policy() -> Result<Policy> {
    let mut p = seed_policy()?;
    let mut gw = p
        .lookup_records
        .iter()
        .find(|r| r.vm_name == "Contoso2")
        .cloned()
        .context("the seed has no Contoso2 record")?;
    gw.customer_address = ip("10.0.0.254");
    gw.mac_address = GW_MAC;
    gw.vm_name = "ContosoGW".into();
    gw.context = "a gateway VM".into();
    p.lookup_records.push(gw);
    let mut route = p
        .customer_routes
        .iter()
        .find(|r| r.virtual_subnet_id == 5001)
        .cloned()
        .context("the seed has no route for VSID 5001")?;
    route.destination_prefix = "0.0.0.0/0".parse().map_err(|e| anyhow!("{e:?}"))?;
    route.next_hop = ip("10.0.0.254");
    p.customer_routes.push(route);
    let host_b = p
        .hosts
        .iter_mut()
        .find(|h| h.name == "HostB")
        .context("the seed has no HostB")?;
    let mut port = host_b.ports[0].clone();
    port.name = "ContosoGW".into();
    port.mac_address = GW_MAC;
    port.virtual_subnet_id = 5001;
    port.interface = "vm-contosogw".into();
    host_b.ports.push(port);
    Ok(p)
}

// ---- what the VMs do ----------------------------------------------------------------------

fn ip(s: &str) -> IpAddr {
    s.parse()
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
}

fn ping(f: &mut Fabric, vm: &str, dst: &str, seq: u16) -> Result<()> {
    f.send_ping(vm, ip(dst), seq)?;
    Ok(())
}

// ---- what the checks look at --------------------------------------------------------------

fn mac_of(vm: &str) -> MacAddr {
    seed::VMS
        .iter()
        .find(|v| v.name == vm)
        .map_or(MacAddr([0; 6]), |v| v.mac)
}

fn gateway_mac(f: &Fabric) -> MacAddr {
    f.hosts()
        .first()
        .map_or(MacAddr([0; 6]), |h| h.switch().tables().gateway_mac())
}

fn inbox_len(f: &Fabric, vm: &str) -> usize {
    f.vm(vm).map_or(0, |v| v.inbox().len())
}

fn echo_replies(f: &Fabric, vm: &str, from: &str) -> usize {
    f.vm(vm).map_or(0, |v| {
        v.inbox()
            .iter()
            .filter(|e| matches!(e.message, Message::EchoReply { src, .. } if src == ip(from)))
            .count()
    })
}

fn got_echo_reply(f: &Fabric, vm: &str, from: &str) -> bool {
    echo_replies(f, vm, from) > 0
}

fn got_udp(f: &Fabric, vm: &str, payload: &[u8]) -> bool {
    f.vm(vm)
        .is_some_and(|v| v.udp_received().any(|(_, _, p)| p == payload))
}

/// The MAC the ARP reply for `target` that `vm` received claimed.
fn arp_reply_from(f: &Fabric, vm: &str, target: &str) -> Option<MacAddr> {
    f.vm(vm)?.inbox().iter().find_map(|e| match e.message {
        Message::Arp {
            op: hnv_core::wire::arp::ArpOp::Reply,
            sender_mac,
            sender_ip,
            ..
        } if IpAddr::V4(sender_ip) == ip(target) => Some(sender_mac),
        _ => None,
    })
}

fn decided(f: &Fabric, host: &str, verdict: Verdict) -> bool {
    f.decisions()
        .iter()
        .any(|d| d.host == host && d.verdict == verdict)
}

fn dropped(f: &Fabric, host: &str) -> u64 {
    f.host(host).map_or(0, |h| h.switch().stats().total_drops())
}

/// Frames sent onto the provider network.
fn wire_frames(f: &Fabric) -> Vec<&Record> {
    f.links()
        .iter()
        .filter(|r| matches!(r.link, Link::Uplink { .. }) && r.dir == Direction::Out)
        .collect()
}

/// The VSID of each wire frame (`None`: not NVGRE).
fn wire_vsids(f: &Fabric) -> Vec<Option<u32>> {
    wire_frames(f)
        .iter()
        .map(|r| nvgre::inspect(&r.frame).ok().map(|n| n.vsid().get()))
        .collect()
}

/// The inner frame of an NVGRE frame.
fn inner(frame: &[u8]) -> Option<&[u8]> {
    let n = nvgre::inspect(frame).ok()?;
    frame.get(n.inner_offset()..n.inner_offset() + n.inner_len())
}

fn is_arp(frame: &[u8]) -> bool {
    EthernetFrame::parse(frame).is_ok_and(|e| e.ethertype() == EtherType::ARP)
}

fn wire_arp_count(f: &Fabric) -> usize {
    wire_frames(f)
        .iter()
        .filter(|r| inner(&r.frame).is_some_and(is_arp))
        .count()
}

fn wire_carries_arp(f: &Fabric) -> bool {
    wire_arp_count(f) > 0
}

/// True for a plain IPv4 frame (not GRE) between the two PAs, either way.
fn rewritten_between(frame: &[u8], one: &str, other: &str) -> bool {
    let Ok(eth) = EthernetFrame::parse(frame) else {
        return false;
    };
    let Ok(p) = Ipv4Packet::parse(eth.payload()) else {
        return false;
    };
    let h = p.header();
    let (s, d) = (IpAddr::V4(h.src()), IpAddr::V4(h.dst()));
    h.protocol != ip_proto::GRE
        && ((s, d) == (ip(one), ip(other)) || (s, d) == (ip(other), ip(one)))
}

/// The IPv4 header checksum and, for ICMP, the ICMP checksum are correct.
fn checksums_ok(frame: &[u8]) -> bool {
    let Ok(eth) = EthernetFrame::parse(frame) else {
        return false;
    };
    let Ok(p) = Ipv4Packet::parse(eth.payload()) else {
        return false;
    };
    p.verify_checksum() && (p.header().protocol != ip_proto::ICMP || checksum::of(p.payload()) == 0)
}

// ---- printing -----------------------------------------------------------------------------

fn link_label(r: &Record) -> String {
    match (&r.link, r.dir) {
        (Link::Port { host, port }, Direction::In) => format!("{port} -> {host}"),
        (Link::Port { host, port }, Direction::Out) => format!("{host} -> {port}"),
        (Link::Uplink { host }, Direction::Out) => format!("{host} -> wire"),
        (Link::Uplink { host }, Direction::In) => format!("wire -> {host}"),
        (Link::Router, _) => "router -> wire".to_string(),
    }
}

fn print_decision(out: &mut String, policy: &Policy, f: &Fabric, d: &Decision) {
    let Some(host) = f.host(&d.host) else { return };
    let words = Explainer {
        policy,
        switch: host.switch(),
        uplink: policy
            .host(&d.host)
            .map_or("", |h| h.uplink.interface.as_str()),
    };
    // A flood copy's record is made up for the copy (its PA says it all); a plain forward
    // or a drop says no more than the verdict line.
    let lead = match d.replica_to {
        Some(pa) => format!("{} copies it for PA {pa}:", d.host),
        None => format!("{} decides:", d.host),
    };
    let _ = writeln!(out, "        {lead}");
    for s in &d.steps {
        let skip = match s {
            Step::Record(_) => d.replica_to.is_some(),
            Step::Action(a) => matches!(a, Action::Forward(_) | Action::Drop(_)),
            _ => false,
        };
        if !skip {
            let _ = writeln!(out, "          - {}", words.step(s).0);
        }
    }
    for e in &d.events {
        let _ = writeln!(out, "          event: {}", Explainer::event(e).0);
    }
    let _ = writeln!(out, "          => {}", words.verdict(&d.verdict));
}

/// Prints every frame the scenario carried, in order, each followed by its decision.
fn narrate(policy: &Policy, f: &Fabric) -> String {
    let mut out = String::new();
    for (i, r) in f.links().iter().enumerate() {
        let label = link_label(r);
        let is_wire_out =
            matches!(r.link, Link::Uplink { .. } | Link::Router) && r.dir == Direction::Out;
        if is_wire_out {
            let _ = writeln!(out, "  {:>3}  {label} ({} bytes)", i + 1, r.frame.len());
            for line in decode::describe(&r.frame) {
                let _ = writeln!(out, "          {line}");
            }
        } else {
            let _ = writeln!(
                out,
                "  {:>3}  {label:<22} {}",
                i + 1,
                decode::summary(&r.frame)
            );
        }
        if r.dir == Direction::In {
            for d in f.decisions().iter().filter(|d| d.input == r.seq) {
                print_decision(&mut out, policy, f, d);
            }
        }
    }
    out
}

/// Counts of each verdict kind, for the summary table.
fn verdict_counts(f: &Fabric) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for d in f.decisions() {
        let k = match d.verdict {
            Verdict::ToPort(_) => "port",
            Verdict::ToWire => "wire",
            Verdict::Reply => "reply",
            Verdict::Flood(_) => "flood",
            Verdict::Consumed => "learn",
            Verdict::Drop(_) => "drop",
        };
        match counts.iter_mut().find(|(n, _)| *n == k) {
            Some((_, c)) => *c += 1,
            None => counts.push((k, 1)),
        }
    }
    counts
        .iter()
        .map(|(k, c)| format!("{k} {c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

struct Outcome {
    name: &'static str,
    frames: usize,
    verdicts: String,
    passed: bool,
}

/// Runs `hnv demo`.
pub fn run(args: &DemoArgs) -> Result<ExitCode> {
    // Open the capture first: a bad path fails before any output.
    let mut capture = match &args.pcap {
        Some(path) => {
            let file =
                File::create(path).with_context(|| format!("creating {}", path.display()))?;
            Some(PcapWriter::new(BufWriter::new(file))?)
        }
        None => None,
    };
    let mut outcomes = Vec::new();
    let mut wire_written = 0usize;
    for (n, s) in scenarios().into_iter().enumerate() {
        if args.scenario.as_deref().is_some_and(|want| want != s.name) {
            continue;
        }
        let policy = (s.policy)()?;
        let mut fabric =
            seed::fabric(&policy).with_context(|| format!("building the fabric of {}", s.name))?;
        (s.drive)(&mut fabric).with_context(|| format!("running {}", s.name))?;
        fabric.run();
        let checks = (s.expect)(&fabric);
        let passed = checks.iter().all(|c| c.ok);
        if !args.quiet {
            println!("== {}: {} ==", s.name, s.title);
            println!("{}\n", s.story);
            print!("{}", narrate(&policy, &fabric));
            println!();
            for c in &checks {
                println!("  [{}] {}", if c.ok { "ok" } else { "FAILED" }, c.what);
            }
            println!("  {}\n", if passed { "PASS" } else { "FAIL" });
        }
        if let Some(w) = capture.as_mut() {
            for r in wire_frames(&fabric) {
                let secs = u32::try_from(n + 1).unwrap_or(u32::MAX);
                let micros = u32::try_from(r.seq).unwrap_or(0);
                w.write_frame(secs, micros, &r.frame)?;
                wire_written += 1;
            }
        }
        outcomes.push(Outcome {
            name: s.name,
            frames: fabric.links().len(),
            verdicts: verdict_counts(&fabric),
            passed,
        });
    }
    println!(
        "{:<12} {:>6}  {:<44} result",
        "scenario", "frames", "verdicts"
    );
    for o in &outcomes {
        println!(
            "{:<12} {:>6}  {:<44} {}",
            o.name,
            o.frames,
            o.verdicts,
            if o.passed { "PASS" } else { "FAIL" }
        );
    }
    if let (Some(path), Some(w)) = (&args.pcap, capture) {
        w.into_inner()?;
        println!("\nwrote {wire_written} wire frames to {}", path.display());
    }
    let failed = outcomes.iter().filter(|o| !o.passed).count();
    if failed > 0 {
        eprintln!("hnv demo: {failed} scenario(s) failed their expectations");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
