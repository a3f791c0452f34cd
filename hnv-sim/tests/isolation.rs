//! Isolation over random fabrics and random traffic.
//!
//! Each case builds a random valid policy — two or three routing domains whose virtual
//! subnets use the *same* customer prefixes (overlapping CAs, optionally overlapping MACs
//! too), VMs spread over two or three hosts — attaches a VM model to every port and sends a
//! random mix of traffic: VMs resolving and sending UDP or pings to any CA of any domain,
//! hand-made frames with a spoofed source MAC or CA, and NVGRE frames injected at a host's
//! uplink with any VSID. After each send the fabric carries every resulting frame (the
//! VMs answer what reaches them), and the test checks, on every link:
//!
//! - no frame reaches a port of another routing domain than the one it started in;
//! - every NVGRE frame on the provider network carries a VSID of that routing domain;
//! - a frame injected from the wire is delivered only to a port of the key's VSID whose
//!   MAC is its destination;
//! - a unicast frame delivered to a port is addressed to that port's MAC;
//! - a frame with a spoofed source MAC or CA is dropped at its port;
//! - every frame carried into a switch gets exactly one decision.
//!
//! etherparse builds the hand-made frames and reads the delivered ones; the fabric's
//! switches are the code under test.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};

use etherparse::{IpNumber, PacketBuilder, SlicedPacket};
use hnv_core::ids::MacAddr;
use hnv_core::policy::{
    CustomerRoute, Host, LookupRecord, Neighbor, Policy, Port, RecordType, Rule, Uplink,
};
use hnv_core::switch::Verdict;
use hnv_sim::fabric::{Direction, Fabric, Link, MAX_STEPS};
use hnv_sim::vm::{IfAddr, Vm};
use proptest::prelude::*;

const GATEWAY_MAC: MacAddr = MacAddr([0x02, 0x00, 0x5e, 0x00, 0x01, 0x01]);

/// One VM of the random fabric.
#[derive(Debug, Clone)]
struct VmSpec {
    host: usize,
    port: String,
    name: String,
    domain: u8,
    vsid: u32,
    ca: Ipv4Addr,
    mac: MacAddr,
}

#[derive(Debug, Clone)]
struct World {
    policy: Policy,
    hosts: Vec<String>,
    vms: Vec<VmSpec>,
}

impl World {
    fn domain_of_vsid(&self, vsid: u32) -> Option<u8> {
        self.vms.iter().find(|v| v.vsid == vsid).map(|v| v.domain)
    }

    fn vm_at(&self, host: &str, port: &str) -> &VmSpec {
        self.vms
            .iter()
            .find(|v| self.hosts[v.host] == host && v.port == port)
            .expect("every port has a VM")
    }
}

fn vsid_of(domain: u8, subnet: u8) -> u32 {
    5000 + u32::from(domain) * 100 + u32::from(subnet)
}

fn pa_of(host: usize) -> Ipv4Addr {
    Ipv4Addr::new(192, 168, 4, 10 + host as u8)
}

fn uplink_mac(host: usize) -> MacAddr {
    MacAddr([0x02, 0, 0, 0, 0x01, host as u8])
}

/// A random valid fabric. `vms`: (domain, subnet, host, last octet) picks, deduplicated
/// per (domain, subnet, last octet) so CAs and MACs are unique within a routing domain;
/// the same CA (and, with `shared_macs`, the same MAC) recurs across domains.
fn world(
    domains: u8,
    subnets: u8,
    hosts: usize,
    picks: &[(u8, u8, u8, u8)],
    shared_macs: bool,
) -> World {
    let mut policy = Policy::default();
    for d in 0..domains {
        let rdid = format!("{{{:08x}-0000-0000-0000-000000000000}}", u32::from(d) + 1);
        for s in 0..subnets {
            policy.customer_routes.push(CustomerRoute {
                routing_domain_id: rdid.parse().unwrap(),
                virtual_subnet_id: vsid_of(d, s),
                destination_prefix: format!("10.{s}.0.0/24").parse().unwrap(),
                next_hop: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                metric: 0,
            });
        }
    }
    let mut seen = BTreeSet::new();
    let mut vms = Vec::new();
    for &(d, s, h, last) in picks {
        let (domain, subnet, host) = (d % domains, s % subnets, usize::from(h) % hosts);
        let last = 2 + last % 250;
        if !seen.insert((domain, subnet, last)) {
            continue;
        }
        let mac_domain = if shared_macs { 0 } else { domain };
        let ca = Ipv4Addr::new(10, subnet, 0, last);
        let mac = MacAddr([0x00, 0x15, 0x5d, mac_domain, subnet, last]);
        let vsid = vsid_of(domain, subnet);
        policy.lookup_records.push(LookupRecord {
            customer_address: IpAddr::V4(ca),
            virtual_subnet_id: vsid,
            mac_address: mac,
            provider_address: IpAddr::V4(pa_of(host)),
            rule: Rule::Encap,
            record_type: RecordType::Static,
            vm_name: String::new(),
            customer_id: String::new(),
            context: String::new(),
            use_vm_mac_address: false,
        });
        let on_host = vms.iter().filter(|v: &&VmSpec| v.host == host).count();
        vms.push(VmSpec {
            host,
            port: format!("vm{on_host}"),
            name: format!("h{host}-vm{on_host}"),
            domain,
            vsid,
            ca,
            mac,
        });
    }
    let names: Vec<String> = (0..hosts).map(|h| format!("Host{h}")).collect();
    for (h, name) in names.iter().enumerate() {
        policy.hosts.push(Host {
            name: name.clone(),
            provider_addresses: vec![IpAddr::V4(pa_of(h))],
            uplink: Uplink {
                interface: "eth1".into(),
                mac_address: uplink_mac(h),
                mtu: 1500,
            },
            gateway_mac_address: GATEWAY_MAC,
            neighbors: (0..hosts)
                .filter(|&o| o != h)
                .map(|o| Neighbor {
                    ip_address: IpAddr::V4(pa_of(o)),
                    mac_address: uplink_mac(o),
                })
                .collect(),
            ports: vms
                .iter()
                .filter(|v| v.host == h)
                .map(|v| Port {
                    name: v.port.clone(),
                    mac_address: v.mac,
                    virtual_subnet_id: v.vsid,
                    interface: v.port.clone(),
                })
                .collect(),
        });
    }
    World {
        policy,
        hosts: names,
        vms,
    }
}

fn fabric(w: &World) -> Fabric {
    let names: Vec<&str> = w.hosts.iter().map(String::as_str).collect();
    let mut f = Fabric::from_policy(&w.policy, &names).unwrap();
    for v in &w.vms {
        let addr: IfAddr = format!("{}/24", v.ca).parse().unwrap();
        let gw = IpAddr::V4(Ipv4Addr::new(10, v.ca.octets()[1], 0, 1));
        let vm = Vm::new(v.name.clone(), v.mac, &[addr], &[gw]).unwrap();
        f.attach(&w.hosts[v.host], &v.port, vm).unwrap();
    }
    f
}

/// One thing that happens in the fabric.
#[derive(Debug, Clone)]
enum Op {
    /// VM `from` sends UDP to the CA of VM `to` (any domain; resolving first).
    Udp { from: usize, to: usize },
    /// VM `from` pings the CA of VM `to`.
    Ping { from: usize, to: usize },
    /// A hand-made UDP frame from VM `from`'s port to VM `to`'s MAC (or broadcast, or the
    /// gateway MAC), with `from`'s own source MAC and CA or `spoof`'s.
    Raw {
        from: usize,
        to: usize,
        dst: u8,
        spoof: Option<(usize, bool)>,
    },
    /// An NVGRE frame from host `src`'s PA to host `dst`'s with the VSID of VM `vsid_of`,
    /// carrying a UDP frame to VM `to`.
    Wire {
        src: usize,
        dst: usize,
        vsid_of: usize,
        to: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let ix = || 0usize..64;
    prop_oneof![
        (ix(), ix()).prop_map(|(a, b)| Op::Udp { from: a, to: b }),
        (ix(), ix()).prop_map(|(a, b)| Op::Ping { from: a, to: b }),
        (
            ix(),
            ix(),
            0u8..3,
            proptest::option::of((ix(), any::<bool>()))
        )
            .prop_map(|(a, b, dst, spoof)| Op::Raw {
                from: a,
                to: b,
                dst,
                spoof,
            }),
        (ix(), ix(), ix(), ix()).prop_map(|(a, b, c, d)| Op::Wire {
            src: a,
            dst: b,
            vsid_of: c,
            to: d,
        }),
    ]
}

fn udp_frame(
    src_mac: MacAddr,
    dst_mac: MacAddr,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    tag: u32,
) -> Vec<u8> {
    let payload = tag.to_be_bytes();
    let b = PacketBuilder::ethernet2(src_mac.0, dst_mac.0)
        .ipv4(src.octets(), dst.octets(), 64)
        .udp(40000, 7);
    let mut out = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut out, &payload).unwrap();
    out
}

fn nvgre_frame(src: usize, dst: usize, vsid: u32, inner: &[u8]) -> Vec<u8> {
    let mut gre = vec![0x20, 0x00, 0x65, 0x58];
    gre.extend_from_slice(&(vsid << 8).to_be_bytes());
    gre.extend_from_slice(inner);
    let b = PacketBuilder::ethernet2(uplink_mac(src).0, uplink_mac(dst).0).ipv4(
        pa_of(src).octets(),
        pa_of(dst).octets(),
        64,
    );
    let mut out = Vec::with_capacity(b.size(gre.len()));
    b.write(&mut out, IpNumber::GRE, &gre).unwrap();
    out
}

/// The VSID of an NVGRE frame (outer Ethernet + IPv4 + GRE), if it is one.
fn nvgre_vsid(frame: &[u8]) -> Option<u32> {
    let p = SlicedPacket::from_ethernet(frame).ok()?;
    let Some(etherparse::NetSlice::Ipv4(ip)) = p.net else {
        return None;
    };
    if ip.header().protocol() != IpNumber::GRE {
        return None;
    }
    let gre = ip.payload().payload;
    let key = gre.get(4..8)?;
    Some(u32::from_be_bytes(key.try_into().ok()?) >> 8)
}

/// What one [`Op`] sent.
struct Sent {
    /// The routing domain it started in: every delivery must stay in it.
    domain: u8,
    /// For [`Op::Wire`]: the inner frame and the key's VSID.
    wire: Option<(Vec<u8>, u32)>,
    /// For [`Op::Raw`]: whether the source MAC or CA is another VM's.
    spoofed: Option<bool>,
}

/// Queues what `op` sends into the fabric `fab` of `world` (not yet carried).
fn send(world: &World, fab: &mut Fabric, op: &Op, tag: u32) -> Sent {
    let count = world.vms.len();
    match *op {
        Op::Udp { from, to } | Op::Ping { from, to } => {
            let (a, b) = (&world.vms[from % count], &world.vms[to % count]);
            let dst = IpAddr::V4(b.ca);
            let sent = if matches!(op, Op::Udp { .. }) {
                fab.send_udp(&a.name, dst, 40000, 7, &tag.to_be_bytes())
            } else {
                fab.send_ping(&a.name, dst, tag as u16)
            };
            // A VM refuses to send to its own address; nothing was queued then.
            if a.ca != b.ca {
                sent.unwrap();
            }
            Sent {
                domain: a.domain,
                wire: None,
                spoofed: None,
            }
        }
        Op::Raw {
            from,
            to,
            dst,
            spoof,
        } => {
            let (a, b) = (&world.vms[from % count], &world.vms[to % count]);
            let (mut src_mac, mut src_ca) = (a.mac, a.ca);
            let mut spoofed = false;
            if let Some((s, mac)) = spoof {
                let s = &world.vms[s % count];
                if mac {
                    spoofed |= s.mac != a.mac;
                    src_mac = s.mac;
                } else {
                    spoofed |= s.ca != a.ca;
                    src_ca = s.ca;
                }
            }
            let dst_mac = match dst {
                0 => b.mac,
                1 => MacAddr::BROADCAST,
                _ => GATEWAY_MAC,
            };
            let frame = udp_frame(src_mac, dst_mac, src_ca, b.ca, tag);
            fab.inject_port(&world.hosts[a.host], &a.port, frame)
                .unwrap();
            Sent {
                domain: a.domain,
                wire: None,
                spoofed: Some(spoofed),
            }
        }
        Op::Wire {
            src,
            dst,
            vsid_of,
            to,
        } => {
            let hosts = world.hosts.len();
            let (src, dst) = (src % hosts, dst % hosts);
            let v = &world.vms[vsid_of % count];
            let b = &world.vms[to % count];
            let sender = Ipv4Addr::new(10, v.ca.octets()[1], 0, 254);
            let inner = udp_frame(
                MacAddr([0x00, 0x15, 0x5d, 0xee, 0, 1]),
                b.mac,
                sender,
                b.ca,
                tag,
            );
            fab.inject_wire(&world.hosts[dst], nvgre_frame(src, dst, v.vsid, &inner))
                .unwrap();
            Sent {
                domain: v.domain,
                wire: Some((inner, v.vsid)),
                spoofed: None,
            }
        }
    }
}

/// How far the fabric's records and decisions went before a step.
#[derive(Clone, Copy)]
struct Mark {
    records: usize,
    decisions: usize,
}

impl Mark {
    fn of(fab: &Fabric) -> Self {
        Self {
            records: fab.links().len(),
            decisions: fab.decisions().len(),
        }
    }
}

/// Checks everything the fabric carried since `mark` for what `sent` started.
fn check_step(world: &World, fab: &Fabric, mark: Mark, sent: &Sent) -> Result<(), TestCaseError> {
    let records = &fab.links()[mark.records..];
    for r in records {
        match (&r.link, r.dir) {
            (Link::Port { host, port }, Direction::Out) => {
                let vm = world.vm_at(host, port);
                prop_assert_eq!(
                    vm.domain,
                    sent.domain,
                    "frame delivered to {}/{} of another routing domain: {:02x?}",
                    host,
                    port,
                    r.frame
                );
                let dst = MacAddr(r.frame[..6].try_into().unwrap());
                prop_assert!(
                    dst.is_multicast() || dst == vm.mac,
                    "unicast frame for {} delivered to {}/{} ({})",
                    dst,
                    host,
                    port,
                    vm.mac
                );
                if let Some((inner, vsid)) = &sent.wire {
                    if r.frame == *inner {
                        prop_assert_eq!(vm.vsid, *vsid, "wire frame delivered across VSIDs");
                        prop_assert_eq!(dst, vm.mac);
                    }
                }
            }
            (Link::Uplink { .. }, Direction::Out) => {
                if let Some(vsid) = nvgre_vsid(&r.frame) {
                    prop_assert_eq!(
                        world.domain_of_vsid(vsid),
                        Some(sent.domain),
                        "NVGRE frame with VSID {} from routing domain {}",
                        vsid,
                        sent.domain
                    );
                }
            }
            _ => {}
        }
    }
    // One decision per frame carried into a switch (a flood's encapsulated copies get
    // decisions of their own, marked with the PA they were made for).
    let decisions = &fab.decisions()[mark.decisions..];
    let carried: Vec<usize> = records
        .iter()
        .filter(|r| r.dir == Direction::In)
        .map(|r| r.seq)
        .collect();
    let decided: Vec<usize> = decisions
        .iter()
        .filter(|d| d.replica_to.is_none())
        .map(|d| d.input)
        .collect();
    prop_assert_eq!(decided, carried);
    if sent.spoofed == Some(true) {
        prop_assert!(
            matches!(decisions.first().map(|d| d.verdict), Some(Verdict::Drop(_))),
            "a spoofed frame was not dropped: {:?}",
            decisions.first()
        );
    }
    Ok(())
}

/// How much of the traffic the checks actually saw (so the property cannot pass vacuously).
#[derive(Debug, Default)]
struct Seen {
    port_deliveries: usize,
    nvgre_frames: usize,
    wire_deliveries: usize,
    spoofed_drops: usize,
}

fn tally(seen: &mut Seen, fab: &Fabric, mark: Mark, sent: &Sent) {
    for r in &fab.links()[mark.records..] {
        match (&r.link, r.dir) {
            (Link::Port { .. }, Direction::Out) => {
                seen.port_deliveries += 1;
                if sent
                    .wire
                    .as_ref()
                    .is_some_and(|(inner, _)| r.frame == *inner)
                {
                    seen.wire_deliveries += 1;
                }
            }
            (Link::Uplink { .. }, Direction::Out) if nvgre_vsid(&r.frame).is_some() => {
                seen.nvgre_frames += 1;
            }
            _ => {}
        }
    }
    if sent.spoofed == Some(true) {
        seen.spoofed_drops += 1;
    }
}

#[test]
fn no_frame_crosses_routing_domains_or_virtual_subnets() {
    let strategy = (
        2u8..4,
        1u8..4,
        2usize..4,
        proptest::collection::vec(any::<(u8, u8, u8, u8)>(), 2..24),
        any::<bool>(),
        proptest::collection::vec(op(), 1..24),
    );
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(256));
    let seen = std::cell::RefCell::new(Seen::default());
    runner
        .run(
            &strategy,
            |(domains, subnets, hosts, picks, shared_macs, ops)| {
                let w = world(domains, subnets, hosts, &picks, shared_macs);
                prop_assert_eq!(hnv_core::policy::validate(&w.policy), Ok(()));
                let mut f = fabric(&w);
                for (i, op) in ops.iter().enumerate() {
                    let mark = Mark::of(&f);
                    let sent = send(&w, &mut f, op, 0x4e56_0000 | i as u32);
                    let steps = f.run();
                    prop_assert!(steps < MAX_STEPS, "the fabric did not settle");
                    check_step(&w, &f, mark, &sent)?;
                    tally(&mut seen.borrow_mut(), &f, mark, &sent);
                }
                Ok(())
            },
        )
        .unwrap();
    // The random traffic really crossed hosts, reached ports from the wire and tried
    // spoofing: over 256 fabrics each of these happens many times.
    let seen = seen.into_inner();
    eprintln!("{seen:?}");
    assert!(seen.port_deliveries > 500, "{seen:?}");
    assert!(seen.nvgre_frames > 100, "{seen:?}");
    assert!(seen.wire_deliveries > 10, "{seen:?}");
    assert!(seen.spoofed_drops > 10, "{seen:?}");
}

/// The checks above can fail: a delivery into routing domain 0 is accepted for a frame that
/// started there and refused for one that claims to come from domain 1.
#[test]
fn the_domain_check_catches_a_crossing() {
    let w = world(2, 1, 2, &[(0, 0, 0, 5), (1, 0, 1, 5)], false);
    let mut f = fabric(&w);
    let mark = Mark::of(&f);
    let op = Op::Wire {
        src: 1,
        dst: 0,
        vsid_of: 0,
        to: 0,
    };
    let mut sent = send(&w, &mut f, &op, 1);
    f.run();
    // The frame really is delivered in domain 0 ...
    let delivered = f.links()[mark.records..]
        .iter()
        .any(|r| r.dir == Direction::Out && matches!(r.link, Link::Port { .. }));
    assert!(delivered, "{:#?}", f.decisions());
    assert!(check_step(&w, &f, mark, &sent).is_ok());
    // ... so claiming it started in domain 1 must fail the check.
    sent.domain = 1;
    assert!(check_step(&w, &f, mark, &sent).is_err());
}
