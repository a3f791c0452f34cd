//! `hnv policy check|show`: validate a policy file, or show what it compiles to per host.
//!
//! Exit codes: 0 valid (check) / shown (show); 2 the file is not a valid policy (every
//! problem on stderr, one per line, or in the `--json` document); 1 the file cannot be
//! read or the host is unknown.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use hnv_core::policy::file::{self, FileError, LoadError};
use hnv_core::policy::{Host, LookupEntry, Policy, PolicyError, Tables};
use serde::Serialize;

/// Exit code of a file that is not a valid policy.
pub const EXIT_INVALID: u8 = 2;

const CHECK_ABOUT: &str = "\
Validate a policy file: JSON syntax, field names, types and ranges, address formats, then \
every policy rule (VSID ranges, one routing domain per VSID, unique CAs and MACs per routing \
domain, the reserved .1 gateway, record types, ports backed by lookup records, provider \
addresses and routes, hosts).

Every problem is printed on stderr, one line each, naming the record (array and index, \
e.g. LookupRecords[3]), the field and the record's key fields; nothing stops at the first \
problem. A valid file prints a one-line summary on stdout.

Exit status: 0 valid; 2 invalid (problems listed); 1 the file cannot be read.";

const CHECK_EXAMPLES: &str = "\
Examples:
  hnv policy check docs/examples/seed-policy.json
  hnv policy check --json policy.json | jq '.problems[].path'";

const SHOW_ABOUT: &str = "\
Show what a policy compiles to for a host: the snapshot its data path reads. For each host: \
its provider addresses, uplink (interface, MAC, MTU) and gateway MAC, its VM ports, the \
routing domains of those ports with their VSIDs and customer routes, the lookup records the \
host keeps (CA, VSID, MAC, PA, rule, type, and where the VM is), its provider routes and \
static provider-network neighbours.

Exit status: 0 shown; 2 the file is not a valid policy (problems listed as by `check`); \
1 the file cannot be read or the host is unknown.";

const SHOW_EXAMPLES: &str = "\
Examples:
  hnv policy show docs/examples/seed-policy.json --host HostA
  hnv policy show docs/examples/seed-policy.json              # every host
  hnv policy show docs/examples/seed-policy.json --host HostB --json";

/// The `hnv policy` subcommands.
#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Validate a policy file; list every problem (exit 2) or summarize it (exit 0).
    #[command(long_about = CHECK_ABOUT, after_help = CHECK_EXAMPLES)]
    Check(CheckArgs),
    /// Show the compiled per-host view of a policy: ports, routing domains, lookup records,
    /// provider routes.
    #[command(long_about = SHOW_ABOUT, after_help = SHOW_EXAMPLES)]
    Show(ShowArgs),
}

/// Arguments of `hnv policy check`.
#[derive(clap::Args)]
pub struct CheckArgs {
    /// The policy file (JSON with the PowerShell property names; UTF-8, or UTF-16 with a
    /// byte-order mark as Windows PowerShell writes it).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Print `{"valid": …, "problems": [{"path", "problem", …}], …}` on stdout instead of
    /// text (same exit status).
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `hnv policy show`.
#[derive(clap::Args)]
pub struct ShowArgs {
    /// The policy file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Only this host (by its `Name`); default: every host of the file.
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,
    /// Print a JSON object `{"hosts": [...]}` instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// Runs `hnv policy …`.
pub fn run(command: PolicyCommand) -> Result<ExitCode> {
    match command {
        PolicyCommand::Check(args) => check(&args),
        PolicyCommand::Show(args) => show(&args),
    }
}

// ---------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------

/// One reason a file is not a valid policy, as printed and as serialized by `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct ProblemLine {
    /// `file` for syntax, field, type and format errors; `policy` for broken rules.
    pub kind: &'static str,
    /// Where: `LookupRecords[3].VirtualSubnetID`; empty for the document itself.
    pub path: String,
    /// What is wrong, without the position or the record.
    pub problem: String,
    /// The key fields of the record named (`CA 10.0.0.5, VSID 5001, VMName "Contoso1"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    /// 1-based line of a file error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// 1-based column of a file error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// The whole line as `hnv policy check` prints it.
    pub text: String,
}

/// A policy file's content: a valid policy, or everything wrong with it.
pub enum Loaded {
    /// The file is a valid policy.
    Valid(Policy),
    /// The file is not a valid policy; nothing of it may be applied.
    Invalid(Vec<ProblemLine>),
}

/// Reads and validates a policy file. `Err` only when the file cannot be read.
pub fn load(path: &Path) -> Result<Loaded> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let text = match decode_text(&bytes) {
        Ok(t) => t,
        Err((problem, at)) => {
            let mut text = problem.clone();
            if let Some((line, column)) = at {
                let _ = write!(text, " (line {line}, column {column})");
            }
            return Ok(Loaded::Invalid(vec![ProblemLine {
                kind: "file",
                path: String::new(),
                problem,
                record: None,
                line: at.map(|(l, _)| l),
                column: at.map(|(_, c)| c),
                text,
            }]));
        }
    };
    Ok(match file::load(&text) {
        Ok(policy) => Loaded::Valid(policy),
        Err(e) => Loaded::Invalid(problem_lines(&e)),
    })
}

/// Prints the problems of an invalid policy file as `hnv policy check` does: one line per
/// problem, then `FILE: invalid (N problems)`, all on stderr.
pub fn report_invalid(path: &Path, lines: &[&str]) {
    for line in lines {
        eprintln!("{line}");
    }
    eprintln!(
        "{}: invalid ({})",
        path.display(),
        count(lines.len(), "problem", "problems")
    );
}

/// Reads a policy file that must be valid (for commands that use it rather than check
/// it): `Ok(None)` after printing its problems with [`report_invalid`] (the caller exits
/// with [`EXIT_INVALID`]); `Err` when the file cannot be read.
pub fn load_valid(path: &Path) -> Result<Option<Policy>> {
    match load(path)? {
        Loaded::Valid(p) => Ok(Some(p)),
        Loaded::Invalid(problems) => {
            let lines: Vec<&str> = problems.iter().map(|p| p.text.as_str()).collect();
            report_invalid(path, &lines);
            Ok(None)
        }
    }
}

/// The file's text: UTF-8 (an optional byte-order mark is skipped by the parser), or
/// UTF-16 behind a byte-order mark (what `ConvertTo-Json > file` writes on Windows
/// PowerShell 5). Else what is wrong, with the line and column (in bytes) of a bad byte.
#[allow(clippy::type_complexity)]
fn decode_text(bytes: &[u8]) -> Result<String, (String, Option<(usize, usize)>)> {
    let utf16 = |rest: &[u8], from: fn([u8; 2]) -> u16| {
        if rest.len() % 2 != 0 {
            return Err((
                "not valid UTF-16 text: odd number of bytes".to_string(),
                None,
            ));
        }
        let units: Vec<u16> = rest.chunks_exact(2).map(|c| from([c[0], c[1]])).collect();
        String::from_utf16(&units).map_err(|_| ("not valid UTF-16 text".to_string(), None))
    };
    if let Some(rest) = bytes.strip_prefix(&[0xff, 0xfe]) {
        return utf16(rest, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xfe, 0xff]) {
        return utf16(rest, u16::from_be_bytes);
    }
    String::from_utf8(bytes.to_vec()).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let lines: Vec<&[u8]> = bytes[..at].split(|&b| b == b'\n').collect();
        let line = lines.len();
        let column = 1 + lines.last().map_or(0, |l| l.len());
        let byte = bytes.get(at).copied().unwrap_or_default();
        (
            format!("not UTF-8 text: invalid byte 0x{byte:02X}"),
            Some((line, column)),
        )
    })
}

/// One [`ProblemLine`] per problem of `err`, in file order.
fn problem_lines(err: &LoadError) -> Vec<ProblemLine> {
    match err {
        LoadError::File(e) => vec![file_problem(e)],
        LoadError::Invalid { problems, .. } => {
            // The loader prints one line per problem, each followed by the key fields of
            // the record it names; take those lines as they are.
            let text = err.to_string();
            let lines: Vec<&str> = text.lines().collect();
            problems
                .iter()
                .enumerate()
                .map(|(n, p)| {
                    let line = match lines.get(n) {
                        Some(l) if lines.len() == problems.len() => (*l).to_string(),
                        _ => p.to_string(),
                    };
                    policy_problem(p, line)
                })
                .collect()
        }
    }
}

fn file_problem(e: &FileError) -> ProblemLine {
    ProblemLine {
        kind: "file",
        path: e.path.clone(),
        problem: e.message.clone(),
        record: None,
        line: (e.line > 0).then_some(e.line),
        column: (e.line > 0).then_some(e.column),
        text: e.to_string(),
    }
}

fn policy_problem(p: &PolicyError, text: String) -> ProblemLine {
    let bare = p.to_string();
    let record = text
        .strip_prefix(bare.as_str())
        .and_then(|rest| rest.strip_prefix(" ("))
        .and_then(|rest| rest.strip_suffix(')'))
        .map(str::to_string);
    ProblemLine {
        kind: "policy",
        path: p.at.to_string(),
        problem: p.problem.to_string(),
        record,
        line: None,
        column: None,
        text,
    }
}

/// `1 port`, `2 ports`.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

// ---------------------------------------------------------------------------------------
// check
// ---------------------------------------------------------------------------------------

#[derive(Serialize)]
struct Counts {
    lookup_records: usize,
    customer_routes: usize,
    provider_addresses: usize,
    provider_routes: usize,
    hosts: usize,
    ports: usize,
}

impl Counts {
    fn of(p: &Policy) -> Self {
        Self {
            lookup_records: p.lookup_records.len(),
            customer_routes: p.customer_routes.len(),
            provider_addresses: p.provider_addresses.len(),
            provider_routes: p.provider_routes.len(),
            hosts: p.hosts.len(),
            ports: p.hosts.iter().map(|h| h.ports.len()).sum(),
        }
    }
}

#[derive(Serialize)]
struct CheckReport<'a> {
    file: String,
    valid: bool,
    problems: &'a [ProblemLine],
    #[serde(skip_serializing_if = "Option::is_none")]
    counts: Option<Counts>,
}

fn check(args: &CheckArgs) -> Result<ExitCode> {
    let name = args.file.display().to_string();
    let (problems, counts) = match load(&args.file)? {
        Loaded::Valid(p) => (Vec::new(), Some(Counts::of(&p))),
        Loaded::Invalid(problems) => (problems, None),
    };
    if args.json {
        let report = CheckReport {
            file: name,
            valid: problems.is_empty(),
            problems: &problems,
            counts,
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if let Some(c) = counts {
        println!(
            "{name}: valid ({}, {}, {}, {}, {}, {})",
            count(c.lookup_records, "lookup record", "lookup records"),
            count(c.customer_routes, "customer route", "customer routes"),
            count(
                c.provider_addresses,
                "provider address",
                "provider addresses"
            ),
            count(c.provider_routes, "provider route", "provider routes"),
            count(c.hosts, "host", "hosts"),
            count(c.ports, "port", "ports"),
        );
    } else {
        let lines: Vec<&str> = problems.iter().map(|p| p.text.as_str()).collect();
        report_invalid(&args.file, &lines);
    }
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_INVALID)
    })
}

// ---------------------------------------------------------------------------------------
// show
// ---------------------------------------------------------------------------------------

/// One host's compiled view.
#[derive(Serialize)]
struct HostView {
    name: String,
    provider_addresses: Vec<PaView>,
    uplink: UplinkView,
    gateway_mac: String,
    ports: Vec<PortView>,
    routing_domains: Vec<DomainView>,
    lookup_records: Vec<RecordView>,
    provider_routes: Vec<ProviderRouteView>,
    neighbors: Vec<NeighborView>,
}

#[derive(Serialize)]
struct PaView {
    address: IpAddr,
    prefix_length: Option<u8>,
    vlan_id: Option<u16>,
    interface_index: Option<u32>,
}

#[derive(Serialize)]
struct UplinkView {
    interface: String,
    mac: String,
    mtu: u16,
}

#[derive(Serialize)]
struct PortView {
    id: usize,
    name: String,
    mac: String,
    /// `None`: not virtualized (VSID 0).
    vsid: Option<u32>,
    interface: String,
}

#[derive(Serialize)]
struct DomainView {
    index: usize,
    rdid: String,
    vsids: Vec<u32>,
    ports: Vec<String>,
    routes: Vec<RouteView>,
}

#[derive(Serialize)]
struct RouteView {
    prefix: String,
    vsid: u32,
    /// `None`: on-link.
    next_hop: Option<IpAddr>,
    metric: u32,
}

#[derive(Serialize)]
struct RecordView {
    ca: IpAddr,
    vsid: u32,
    mac: String,
    pa: IpAddr,
    rule: &'static str,
    #[serde(rename = "type")]
    record_type: &'static str,
    vm_name: String,
    /// True when the PA is this host's.
    local: bool,
    /// The local port with the record's MAC and VSID.
    port: Option<String>,
}

#[derive(Serialize)]
struct ProviderRouteView {
    prefix: String,
    /// `None`: on-link.
    next_hop: Option<IpAddr>,
    /// `None` for the implicit on-link route of an own PA's subnet.
    metric: Option<u32>,
}

#[derive(Serialize)]
struct NeighborView {
    ip: IpAddr,
    mac: String,
}

#[derive(Serialize)]
struct ShowReport {
    hosts: Vec<HostView>,
}

fn show(args: &ShowArgs) -> Result<ExitCode> {
    let policy = match load(&args.file)? {
        Loaded::Valid(p) => p,
        Loaded::Invalid(problems) => {
            for p in &problems {
                eprintln!("{}", p.text);
            }
            eprintln!(
                "{}: invalid ({})",
                args.file.display(),
                count(problems.len(), "problem", "problems")
            );
            return Ok(ExitCode::from(EXIT_INVALID));
        }
    };
    let hosts: Vec<&Host> = match &args.host {
        Some(name) => vec![find_host(&policy, name, &args.file)?],
        None => policy.hosts.iter().collect(),
    };
    let mut views = Vec::with_capacity(hosts.len());
    for h in hosts {
        let tables = Tables::compile(&policy, &h.name)
            .map_err(|e| anyhow::anyhow!("compiling host {:?}: {e}", h.name))?;
        views.push(host_view(&policy, h, &tables));
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&ShowReport { hosts: views })?
        );
    } else if views.is_empty() {
        println!("{}: no hosts", args.file.display());
    } else {
        let text: Vec<String> = views.iter().map(render_host).collect();
        print!("{}", text.join("\n"));
    }
    Ok(ExitCode::SUCCESS)
}

/// The host named `name`, or an error naming the hosts there are.
pub fn find_host<'p>(policy: &'p Policy, name: &str, file: &Path) -> Result<&'p Host> {
    if let Some(h) = policy.host(name) {
        return Ok(h);
    }
    let names: Vec<String> = policy
        .hosts
        .iter()
        .map(|h| format!("{:?}", h.name))
        .collect();
    if names.is_empty() {
        bail!(
            "no host named {name:?} in {}: it has no hosts",
            file.display()
        );
    }
    bail!(
        "no host named {name:?} in {}; its hosts: {}",
        file.display(),
        names.join(", ")
    )
}

/// The VMName of the policy record behind a compiled entry (empty when it has none).
pub fn vm_name<'p>(policy: &'p Policy, e: &LookupEntry) -> &'p str {
    policy
        .lookup_records
        .iter()
        .find(|r| {
            r.virtual_subnet_id == e.vsid.get()
                && r.customer_address == e.ca
                && r.mac_address == e.mac
                && r.provider_address == e.pa
        })
        .map_or("", |r| r.vm_name.as_str())
}

fn host_view(policy: &Policy, h: &Host, t: &Tables) -> HostView {
    let provider_addresses = t
        .own_pas()
        .iter()
        .map(|&pa| {
            let rec = policy
                .provider_addresses
                .iter()
                .find(|a| a.provider_address == pa);
            PaView {
                address: pa,
                prefix_length: rec.map(|a| a.prefix_length),
                vlan_id: rec.map(|a| a.vlan_id),
                interface_index: rec.map(|a| a.interface_index),
            }
        })
        .collect();
    let ports = t
        .ports()
        .iter()
        .enumerate()
        .map(|(id, p)| PortView {
            id,
            name: p.name.clone(),
            mac: p.mac.to_string(),
            vsid: p.vsid.map(hnv_core::ids::Vsid::get),
            interface: h
                .ports
                .get(id)
                .map(|hp| hp.interface.clone())
                .unwrap_or_default(),
        })
        .collect();
    HostView {
        name: t.host().to_string(),
        provider_addresses,
        uplink: UplinkView {
            interface: h.uplink.interface.clone(),
            mac: t.uplink_mac().to_string(),
            mtu: t.uplink_mtu(),
        },
        gateway_mac: t.gateway_mac().to_string(),
        ports,
        routing_domains: domain_views(policy, t),
        lookup_records: record_views(policy, t),
        provider_routes: provider_route_views(policy, h),
        neighbors: h
            .neighbors
            .iter()
            .map(|n| NeighborView {
                ip: n.ip_address,
                mac: n.mac_address.to_string(),
            })
            .collect(),
    }
}

/// The routing domains of the host's ports, with the customer routes the host compiled.
fn domain_views(policy: &Policy, t: &Tables) -> Vec<DomainView> {
    t.routing_domains()
        .iter()
        .enumerate()
        .map(|(index, rdid)| {
            let routes: Vec<RouteView> = policy
                .customer_routes
                .iter()
                .filter(|r| r.routing_domain_id == *rdid)
                .filter(|r| hnv_core::ids::Vsid::new(r.virtual_subnet_id).is_ok())
                .map(|r| RouteView {
                    prefix: r.destination_prefix.to_string(),
                    vsid: r.virtual_subnet_id,
                    next_hop: (!r.is_on_link()).then_some(r.next_hop),
                    metric: r.metric,
                })
                .collect();
            let mut vsids: Vec<u32> = routes.iter().map(|r| r.vsid).collect();
            vsids.sort_unstable();
            vsids.dedup();
            let ports = t
                .ports()
                .iter()
                .filter(|p| p.vsid.is_some_and(|v| vsids.contains(&v.get())))
                .map(|p| p.name.clone())
                .collect();
            DomainView {
                index,
                rdid: rdid.to_string(),
                vsids,
                ports,
                routes,
            }
        })
        .collect()
}

fn record_views(policy: &Policy, t: &Tables) -> Vec<RecordView> {
    t.records()
        .iter()
        .map(|e| {
            let local = t.owns_pa(e.pa);
            let port = local
                .then(|| {
                    t.ports()
                        .iter()
                        .find(|p| p.mac == e.mac && p.vsid == Some(e.vsid))
                        .map(|p| p.name.clone())
                })
                .flatten();
            RecordView {
                ca: e.ca,
                vsid: e.vsid.get(),
                mac: e.mac.to_string(),
                pa: e.pa,
                rule: e.rule.name(),
                record_type: e.record_type.name(),
                vm_name: vm_name(policy, e).to_string(),
                local,
                port,
            }
        })
        .collect()
}

/// The host's provider routes as compiled: an on-link route for the subnet of each own PA,
/// then the policy's provider routes.
fn provider_route_views(policy: &Policy, h: &Host) -> Vec<ProviderRouteView> {
    let own = policy
        .provider_addresses
        .iter()
        .filter(|a| h.provider_addresses.contains(&a.provider_address))
        .map(|a| {
            hnv_core::policy::Prefix::truncating(a.provider_address, a.prefix_length).to_string()
        });
    let mut out: Vec<ProviderRouteView> = Vec::new();
    for prefix in own {
        if !out.iter().any(|r| r.prefix == prefix) {
            out.push(ProviderRouteView {
                prefix,
                next_hop: None,
                metric: None,
            });
        }
    }
    out.extend(policy.provider_routes.iter().map(|r| ProviderRouteView {
        prefix: r.destination_prefix.to_string(),
        next_hop: (!r.next_hop.is_unspecified()).then_some(r.next_hop),
        metric: Some(r.metric),
    }));
    out
}

// ---------------------------------------------------------------------------------------
// Text rendering
// ---------------------------------------------------------------------------------------

/// Left-aligned columns, two spaces apart, no trailing blanks.
fn table(indent: &str, header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| (*h).to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::from(indent);
        for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let _ = write!(line, "{cell:<w$}");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn render_host(h: &HostView) -> String {
    let mut s = format!("Host {}\n", h.name);
    let pas: Vec<String> = h
        .provider_addresses
        .iter()
        .map(|p| {
            let mut a = p.address.to_string();
            if let Some(len) = p.prefix_length {
                let _ = write!(a, "/{len}");
            }
            if let Some(v) = p.vlan_id.filter(|&v| v != 0) {
                let _ = write!(a, " (VLAN {v})");
            }
            a
        })
        .collect();
    let _ = writeln!(s, "  Provider addresses  {}", or_none(&pas.join(", ")));
    let _ = writeln!(
        s,
        "  Uplink              {}, MAC {}, MTU {}",
        h.uplink.interface, h.uplink.mac, h.uplink.mtu
    );
    let _ = writeln!(
        s,
        "  Gateway MAC         {} (answers for every virtual subnet's .1)",
        h.gateway_mac
    );
    render_ports(&mut s, &h.ports);
    render_domains(&mut s, &h.routing_domains);
    render_records(&mut s, &h.lookup_records);
    render_provider(&mut s, &h.provider_routes, &h.neighbors);
    s
}

fn render_ports(s: &mut String, ports: &[PortView]) {
    s.push_str("\n  Ports\n");
    let rows: Vec<Vec<String>> = ports
        .iter()
        .map(|p| {
            vec![
                p.id.to_string(),
                p.name.clone(),
                p.mac.clone(),
                p.vsid
                    .map_or_else(|| "0 (not virtualized)".into(), |v| v.to_string()),
                or_none(&p.interface),
            ]
        })
        .collect();
    s.push_str(&table(
        "    ",
        &["ID", "NAME", "MAC", "VSID", "INTERFACE"],
        &rows,
    ));
}

fn render_domains(s: &mut String, domains: &[DomainView]) {
    s.push_str("\n  Routing domains\n");
    if domains.is_empty() {
        s.push_str("    (none: no port is in a virtual subnet with a customer route)\n");
    }
    for d in domains {
        let vsids: Vec<String> = d.vsids.iter().map(u32::to_string).collect();
        let _ = writeln!(
            s,
            "    {} (index {}): VSIDs {}; ports {}",
            d.rdid,
            d.index,
            vsids.join(", "),
            or_none(&d.ports.join(", "))
        );
        let rows: Vec<Vec<String>> = d
            .routes
            .iter()
            .map(|r| {
                vec![
                    r.prefix.clone(),
                    r.vsid.to_string(),
                    r.next_hop
                        .map_or_else(|| "on-link".to_string(), |a| a.to_string()),
                    r.metric.to_string(),
                ]
            })
            .collect();
        s.push_str(&table(
            "      ",
            &["PREFIX", "VSID", "NEXT HOP", "METRIC"],
            &rows,
        ));
    }
}

fn render_records(s: &mut String, records: &[RecordView]) {
    s.push_str("\n  Lookup records\n");
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            let at = match (&r.port, r.local) {
                (Some(p), _) => format!("local port {p}"),
                (None, true) => "local (no port)".to_string(),
                (None, false) => "remote".to_string(),
            };
            vec![
                r.ca.to_string(),
                r.vsid.to_string(),
                r.mac.clone(),
                r.pa.to_string(),
                r.rule.to_string(),
                r.record_type.to_string(),
                or_none(&r.vm_name),
                at,
            ]
        })
        .collect();
    s.push_str(&table(
        "    ",
        &["CA", "VSID", "MAC", "PA", "RULE", "TYPE", "VMNAME", "WHERE"],
        &rows,
    ));
}

fn render_provider(s: &mut String, routes: &[ProviderRouteView], neighbors: &[NeighborView]) {
    s.push_str("\n  Provider routes\n");
    let rows: Vec<Vec<String>> = routes
        .iter()
        .map(|r| {
            vec![
                r.prefix.clone(),
                r.next_hop
                    .map_or_else(|| "on-link".to_string(), |a| a.to_string()),
                r.metric
                    .map_or_else(|| "- (own PA subnet)".to_string(), |m| m.to_string()),
            ]
        })
        .collect();
    s.push_str(&table("    ", &["PREFIX", "NEXT HOP", "METRIC"], &rows));

    s.push_str("\n  Neighbors\n");
    if neighbors.is_empty() {
        s.push_str("    (none: PA next hops are resolved with ARP/ND on the uplink)\n");
    } else {
        let rows: Vec<Vec<String>> = neighbors
            .iter()
            .map(|n| vec![n.ip.to_string(), n.mac.clone()])
            .collect();
        s.push_str(&table("    ", &["IP ADDRESS", "MAC"], &rows));
    }
}

fn or_none(s: &str) -> String {
    if s.is_empty() {
        "-".to_string()
    } else {
        s.to_string()
    }
}
