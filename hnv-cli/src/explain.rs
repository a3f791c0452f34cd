//! Plain-words descriptions of the switch's decision steps, events and verdicts (for
//! `hnv demo` and `hnv trace`).

use std::fmt::Write as _;

use hnv_core::ids::Vsid;
use hnv_core::policy::{LookupEntry, LookupTable, Policy, Tables};
use hnv_core::switch::{Action, Event, Flood, PortId, Remote, Step, Switch, Verdict};
use hnv_core::DropReason;
use serde_json::{json, Value};

use crate::policy_cmd;

/// Describes a switch's decisions in words (and JSON): the policy gives names (VMName),
/// the switch its tables and flood targets, `uplink` the uplink's interface name.
pub struct Explainer<'a> {
    /// The policy the switch's tables were compiled from.
    pub policy: &'a Policy,
    /// The switch.
    pub switch: &'a Switch<Tables>,
    /// The uplink interface (may be empty).
    pub uplink: &'a str,
}

impl Explainer<'_> {
    /// The switch's tables.
    pub fn tables(&self) -> &Tables {
        self.switch.tables()
    }

    pub fn port_name(&self, p: PortId) -> String {
        self.tables()
            .ports()
            .get(p.index())
            .map_or_else(|| format!("#{}", p.0), |e| e.name.clone())
    }

    pub fn rdid(&self, index: u32) -> String {
        self.tables()
            .routing_domains()
            .get(index as usize)
            .map_or_else(|| "(unknown)".to_string(), ToString::to_string)
    }

    fn rdid_of(&self, vsid: Vsid) -> Option<String> {
        self.tables().vsid(vsid).map(|s| self.rdid(s.rdid_index))
    }

    pub fn record_text(&self, r: &LookupEntry) -> String {
        let at = if self.tables().owns_pa(r.pa) {
            "this host"
        } else {
            "remote"
        };
        let mut s = format!(
            "CA {}, VSID {}, MAC {}, PA {} ({at}), {}, {}",
            r.ca,
            r.vsid,
            r.mac,
            r.pa,
            r.rule.name(),
            r.record_type.name()
        );
        let name = policy_cmd::vm_name(self.policy, r);
        if !name.is_empty() {
            let _ = write!(s, ", VMName {name}");
        }
        s
    }

    /// A numbered step's text and its JSON fields.
    pub fn step(&self, step: &Step) -> (String, Value) {
        match *step {
            Step::Port { port, mac, vsid } => {
                let v = vsid.map_or_else(|| "0 (not virtualized)".to_string(), |v| v.to_string());
                let rd = vsid
                    .and_then(|v| self.rdid_of(v))
                    .map(|r| format!(", routing domain {r}"))
                    .unwrap_or_default();
                (
                    format!(
                        "ingress port {} (port {}): MAC {mac}, VSID {v}{rd}",
                        self.port_name(port),
                        port.0
                    ),
                    json!({"step": "port", "port": self.port_name(port), "port_id": port.0,
                           "mac": mac.to_string(), "vsid": vsid.map(Vsid::get)}),
                )
            }
            Step::Wire {
                src_pa,
                dst_pa,
                vsid,
            } => (
                format!("from the wire: PA {src_pa} -> {dst_pa}, VSID {vsid}"),
                json!({"step": "wire", "src_pa": src_pa, "dst_pa": dst_pa, "vsid": vsid.get()}),
            ),
            Step::RoutingDomain(i) => (
                format!(
                    "destination MAC is the gateway: routed in routing domain {} (index {i})",
                    self.rdid(i)
                ),
                json!({"step": "routing_domain", "index": i, "rdid": self.rdid(i)}),
            ),
            Step::Route(r) => {
                let hop = r
                    .next_hop
                    .map_or_else(|| "on-link".to_string(), |h| format!("via gateway CA {h}"));
                (
                    format!(
                        "customer route {} in VSID {}, {hop}, metric {}",
                        r.prefix, r.vsid, r.metric
                    ),
                    json!({"step": "route", "prefix": r.prefix.to_string(), "vsid": r.vsid.get(),
                           "next_hop": r.next_hop, "metric": r.metric}),
                )
            }
            Step::Record(r) => (
                format!("lookup record: {}", self.record_text(&r)),
                json!({"step": "record", "ca": r.ca, "vsid": r.vsid.get(),
                       "mac": r.mac.to_string(), "pa": r.pa, "rule": r.rule.name(),
                       "type": r.record_type.name(), "local": self.tables().owns_pa(r.pa),
                       "vm_name": policy_cmd::vm_name(self.policy, &r)}),
            ),
            Step::NextHop { pa, hop, mac } => {
                let via = if hop == pa {
                    "on-link".to_string()
                } else {
                    format!("via router {hop}")
                };
                let m = mac.map_or_else(
                    || {
                        "MAC unresolved (no neighbour entry; the host would ARP/ND on the uplink)"
                            .to_string()
                    },
                    |m| format!("MAC {m}"),
                );
                (
                    format!("provider next hop for PA {pa}: {hop} ({via}), {m}"),
                    json!({"step": "next_hop", "pa": pa, "hop": hop,
                           "mac": mac.map(|m| m.to_string())}),
                )
            }
            Step::Action(a) => {
                let (kind, text) = self.action(&a);
                (
                    format!("action: {text}"),
                    json!({"step": "action", "action": kind}),
                )
            }
        }
    }

    /// A short name and a sentence for an action.
    pub fn action(&self, a: &Action) -> (&'static str, String) {
        let gw = self.tables().gateway_mac();
        match *a {
            Action::Forward(v) => (
                "forward",
                format!("forward unchanged: {}", self.verdict(&v)),
            ),
            Action::ArpReply { mac } => (
                "arp_reply",
                format!("answer the ARP request: the target is at {mac}"),
            ),
            Action::RouteLocal { port, dst_mac } => (
                "route_local",
                format!(
                    "route on this host to port {}: destination MAC <- {dst_mac}, source MAC <- \
                     gateway {gw}",
                    self.port_name(port)
                ),
            ),
            Action::Encap { params, route_to } => {
                let routed = route_to
                    .map(|m| {
                        format!(
                            " after routing (inner destination MAC <- {m}, source MAC <- gateway \
                             {gw})"
                        )
                    })
                    .unwrap_or_default();
                (
                    "encap",
                    format!(
                        "NVGRE-encapsulate with VSID {}{routed}: PA {} -> {}, outer MAC {} -> {}",
                        params.vsid,
                        params.underlay.src(),
                        params.underlay.dst(),
                        params.src_mac,
                        params.dst_mac
                    ),
                )
            }
            Action::Rewrite {
                src,
                dst,
                eth_dst,
                eth_src,
                then,
            } => (
                "rewrite",
                format!(
                    "IP rewrite (TranslationMethodNat): source -> {src}, destination -> {dst}, \
                     checksums updated, MAC {eth_src} -> {eth_dst}; then {}",
                    self.verdict(&then)
                ),
            ),
            Action::TooBig { gw_ip, mtu } => (
                "too_big",
                format!(
                    "too big for the uplink once encapsulated: answer with ICMP Fragmentation \
                     Needed / Packet Too Big from {gw_ip}, MTU {mtu}"
                ),
            ),
            Action::EchoReply => (
                "echo_reply",
                "answer the echo request to this host's PA".to_string(),
            ),
            Action::NdReply { mac, router } => (
                "nd_reply",
                format!(
                    "answer the neighbour solicitation: the target is at {mac}{}",
                    if router { " (router)" } else { "" }
                ),
            ),
            Action::Decap {
                inner_offset, then, ..
            } => (
                "decap",
                format!(
                    "strip the outer headers ({inner_offset} bytes), then {}",
                    self.verdict(&then)
                ),
            ),
            Action::Drop(r) => ("drop", format!("drop: {}", drop_text(r))),
        }
    }

    pub fn flood_text(&self, f: &Flood) -> String {
        let ports: Vec<String> = self
            .switch
            .flood_ports(f)
            .map(|p| self.port_name(p))
            .collect();
        let pas: Vec<String> = self.switch.flood_pas(f).map(|a| a.to_string()).collect();
        let ports = if ports.is_empty() {
            "no local port".to_string()
        } else {
            format!("ports {}", ports.join(", "))
        };
        let remote = match f.remote {
            Remote::None => String::new(),
            Remote::Hosting | Remote::L2Only if pas.is_empty() => ", no other host".to_string(),
            Remote::Hosting => format!(", NVGRE copies to PAs {}", pas.join(", ")),
            Remote::L2Only => format!(
                ", NVGRE copies to the L2Only PAs {} (dynamic learning)",
                pas.join(", ")
            ),
        };
        format!("flooded in VSID {}: {ports}{remote}", f.vsid)
    }

    pub fn verdict(&self, v: &Verdict) -> String {
        match *v {
            Verdict::ToPort(p) => format!("delivered to port {} (port {})", self.port_name(p), p.0),
            Verdict::ToWire if self.uplink.is_empty() => "sent to the wire (uplink)".to_string(),
            Verdict::ToWire => format!("sent to the wire (uplink {})", self.uplink),
            Verdict::Reply => "answered: the reply goes back to the sender".to_string(),
            Verdict::Flood(f) => self.flood_text(&f),
            Verdict::Consumed => "consumed: nothing is sent".to_string(),
            Verdict::Drop(r) => format!("dropped: {}", drop_text(r)),
        }
    }

    pub fn event(e: &Event) -> (String, Value) {
        match *e {
            Event::Learned(r) => (
                format!(
                    "learned a Dynamic lookup record: CA {}, VSID {}, MAC {}, PA {}",
                    r.ca, r.vsid, r.mac, r.pa
                ),
                json!({"event": "learned", "ca": r.ca, "vsid": r.vsid.get(),
                       "mac": r.mac.to_string(), "pa": r.pa}),
            ),
            Event::Miss { vsid, ca } => (
                format!("lookup miss: no record for {ca} in VSID {vsid} (reported to the control plane)"),
                json!({"event": "miss", "vsid": vsid.get(), "ca": ca}),
            ),
            Event::UnresolvedNeighbor(ip) => (
                format!("provider neighbour {ip} is unresolved (the host would ARP/ND for it)"),
                json!({"event": "unresolved_neighbor", "ip": ip}),
            ),
        }
    }
}

/// `name (what it means)`.
pub fn drop_text(r: DropReason) -> String {
    format!("{} ({})", r.name(), r.description())
}
