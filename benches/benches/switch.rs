//! The switch (`hnv_core::switch::Switch`), one packet path at a time, each beside a
//! baseline written here with `std::collections::HashMap` and etherparse, measured in the
//! same run, with 1k and 1M lookup records (`HNV_BENCH_RECORDS=20000` runs every group on
//! a table of that many records instead). See `docs/performance.md` for the results.
//!
//! **Policy.** `docs/examples/seed-policy.json` (HostA's switch is measured) plus extra
//! Static records so that the policy holds 1,000 or 1,000,000 lookup records in all:
//! 15/16 of the extra records are `TranslationMethodEncap` records of the Contoso routing
//! domain, spread evenly over VSIDs 5001, 6001, 5002 and 6002 (each with an extra on-link
//! /12 for their CAs) on 256 remote PAs (172.16.0.1–172.16.1.0, reached through the seed's
//! default provider route); 1/16 are `TranslationMethodNat` records of Fabrikam's VSID
//! 7001 (CAs in an extra 10.128.0.0/12), each with its own remote PA in 100.64.0.0/10.
//! Policy, `Tables::compile` and the baseline's maps are built once per record count and
//! shared by every group of that count; build time is printed to stderr.
//!
//! **Iterations.** Every group has the same shape: one timed iteration is one batch of
//! 1024 frames (`Throughput::Elements(1024)`), each in its own 256-byte slot of a buffer
//! arena (128 bytes of headroom, then the frame). Before each batch, *outside* the timed
//! region (`iter_custom`), the next 1024 frames of the group's frame stream are copied
//! into the arena: that restores every frame the previous batch rewrote or encapsulated,
//! and leaves the frames in the cache as a NIC writing into the LLC would. Inside the timed
//! region, each frame gets a fresh `FrameBuf` (offset 128, its length) and one
//! `Switch::from_port` / `Switch::from_wire` call (`hnv` row), or one call of the baseline
//! on the same bytes (`std_hashmap+etherparse` row).
//!
//! **Frame streams.** Where the destination is a lookup record (encap, ARP proxy, IP
//! rewrite), the stream is a random sequence of frames to the records in scope,
//! `max(records in scope, 1024)` rounded up to whole batches long, walked batch by batch
//! and wrapped: at 1M records a lookup reads a record that was not touched for hundreds of
//! batches, so DRAM latency is part of the measurement (as in the exact-match bench).
//! Where the destination is a local VM (local switch, routed same host, decap), the stream
//! is 1024 frames over the few local pairs: those paths only look up the host's own VMs.
//!
//! Before any timing, each group runs hnv and the baseline on the first 8192 frames of its
//! stream (all of it at 1k) and asserts that both reach the group's verdict with the same
//! bytes (NVGRE output: the same bytes except the FlowID byte of the GRE key, which each
//! computes with its own hash; decap: the same port and inner frame).
//!
//! Groups (`switch/<path>/<records>`, rows `hnv` and `std_hashmap+etherparse`):
//! * `local_switch`: UDP between two VMs of one VSID on this host (Contoso1 ↔ Contoso3,
//!   fig. 1-7) → `ToPort`, frame untouched.
//! * `routed_local`: UDP from a Contoso VM to the gateway MAC for a VM of the other
//!   Contoso VSID on this host (Contoso1/3 ↔ Contoso4, fig. 1-8) → `ToPort`, MACs
//!   rewritten.
//! * `encap_egress`: UDP from a local VM to the MAC and CA of a remote Encap record of its
//!   own VSID (fig. 1-9) → NVGRE to the record's PA. Two more rows split `hnv` in its
//!   halves (parts, not baselines): `hnv_decide_port` (`Switch::decide_port` alone: parse,
//!   lookups, the `Action`; nothing written) and `hnv_act` (`Switch::act` alone, on
//!   decisions made before the timer starts: the encapsulation).
//! * `encap_routed`: UDP from a local VM to the gateway MAC for a remote Encap record in
//!   another VSID of the routing domain (fig. 1-11) → inner MACs rewritten, NVGRE with
//!   the destination VSID.
//! * `decap_ingress`: NVGRE from a remote PA to this host's PA, inner UDP to a local VM →
//!   outer headers stripped, `ToPort`.
//! * `rewrite_egress`: UDP from Fabrikam1 to a remote Nat record of VSID 7001 → addresses
//!   rewritten to the PAs, checksums fixed, MACs set, `ToWire`.
//! * `rewrite_ingress`: UDP from a remote Nat PA to Fabrikam1's PA → addresses rewritten to
//!   the CAs, checksums fixed, MACs set, `ToPort`.
//! * `arp_proxy`: ARP request from a local VM for the CA of a remote Encap record of its
//!   VSID → rewritten in place into the reply "CA is at the record's MAC", `Reply`.
//! * `encap_egress_reuse<N>`, only when `HNV_BENCH_REUSE` lists record counts (e.g.
//!   `HNV_BENCH_REUSE=20000,100000`): `encap_egress` sent to only `N` of its records,
//!   evenly spaced through the table, with the same rows. At the same table size, it shows
//!   what the time per packet owes to how much of the table the traffic keeps using.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::ops::Range;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use etherparse::{
    ArpEthIpv4Packet, ArpOperation, EtherType, Ethernet2Header, IpDscp, IpEcn, IpNumber,
    Ipv4Header, LinkSlice, NetSlice, PacketBuilder, SlicedPacket, TransportSlice, UdpHeader,
};
use hnv_benches::{Rng, HEADROOM};
use hnv_core::buf::{FrameBuf, PacketBuf};
use hnv_core::ids::MacAddr;
use hnv_core::policy::{
    file, CustomerRoute, LookupEntry, LookupRecord, Policy, Prefix, RecordType, Rule, Tables,
};
use hnv_core::switch::{PortId, Switch, Verdict};

/// Frames per timed iteration.
const BATCH: usize = 1024;
/// Bytes per frame slot in the arena: headroom, then the frame (at most 106 bytes here).
const STRIDE: usize = 256;
/// Frames checked against the baseline before timing.
const CHECK: usize = 8192;

const SEED: &str = include_str!("../../docs/examples/seed-policy.json");
/// The host whose switch is measured.
const HOST: &str = "HostA";
const CONTOSO: &str = "{11111111-2222-3333-4444-000000000000}";
const FABRIKAM: &str = "{22222222-2222-3333-4444-000000000000}";

/// VSIDs of the extra Encap records and the on-link /12 holding their CAs.
const ENCAP_SUBNETS: [(u32, Ipv4Addr); 4] = [
    (5001, Ipv4Addr::new(10, 64, 0, 0)),
    (6001, Ipv4Addr::new(10, 80, 0, 0)),
    (5002, Ipv4Addr::new(10, 96, 0, 0)),
    (6002, Ipv4Addr::new(10, 112, 0, 0)),
];
/// VSID of the extra Nat records and the /12 holding their CAs.
const NAT_SUBNET: (u32, Ipv4Addr) = (7001, Ipv4Addr::new(10, 128, 0, 0));
/// Remote hosts of the extra Encap records: PAs 172.16.0.1 onwards.
const REMOTE_HOSTS: u32 = 256;
const REMOTE_PA_BASE: u32 = 0xac10_0001;
/// First PA of the extra Nat records (one PA each): 100.64.0.1 onwards.
const NAT_PA_BASE: u32 = 0x6440_0001;
/// Outer source MAC of the frames from the wire (the seed's provider router).
const ROUTER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0xfe];
/// GRE flags (K), version 0, protocol 0x6558 (Transparent Ethernet Bridging).
const GRE_START: [u8; 4] = [0x20, 0x00, 0x65, 0x58];
/// Offset of the FlowID byte (last byte of the GRE key) in an NVGRE frame over IPv4.
const FLOW_ID_AT: usize = 14 + 20 + 7;

// ---- the policy ---------------------------------------------------------------------------

fn customer_route(rdid: &str, vsid: u32, net: Ipv4Addr, len: u8) -> CustomerRoute {
    CustomerRoute {
        routing_domain_id: rdid.parse().expect("routing domain"),
        virtual_subnet_id: vsid,
        destination_prefix: Prefix::new(IpAddr::V4(net), len).expect("prefix"),
        next_hop: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        metric: 0,
    }
}

fn static_record(ca: Ipv4Addr, vsid: u32, mac: [u8; 6], pa: Ipv4Addr, rule: Rule) -> LookupRecord {
    LookupRecord {
        customer_address: IpAddr::V4(ca),
        virtual_subnet_id: vsid,
        mac_address: MacAddr(mac),
        provider_address: IpAddr::V4(pa),
        rule,
        record_type: RecordType::Static,
        vm_name: String::new(),
        customer_id: String::new(),
        context: String::new(),
        use_vm_mac_address: false,
    }
}

/// `net` + `offset` (CAs start at .2 of each /12: .1 is the gateway).
fn nth(net: Ipv4Addr, offset: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(net) + 2 + offset)
}

/// MAC `tag`:`n` (locally administered unicast, distinct for distinct `(tag, n)`).
fn mac_of(tag: u8, n: u32) -> [u8; 6] {
    let b = n.to_be_bytes();
    [0x02, tag, b[0], b[1], b[2], b[3]]
}

/// The seed policy plus extra records, `total` lookup records in all.
fn policy(total: usize) -> Policy {
    let mut p = file::from_json(SEED).expect("seed policy");
    let extra = total - p.lookup_records.len();
    let nat = extra / 16;
    let encap = extra - nat;
    for (vsid, net) in ENCAP_SUBNETS {
        p.customer_routes
            .push(customer_route(CONTOSO, vsid, net, 12));
    }
    p.customer_routes
        .push(customer_route(FABRIKAM, NAT_SUBNET.0, NAT_SUBNET.1, 12));
    p.lookup_records.reserve(extra);
    let subnets = ENCAP_SUBNETS.len() as u32;
    for i in 0..encap as u32 {
        let (vsid, net) = ENCAP_SUBNETS[(i % subnets) as usize];
        let pa = Ipv4Addr::from(REMOTE_PA_BASE + i % REMOTE_HOSTS);
        p.lookup_records.push(static_record(
            nth(net, i / subnets),
            vsid,
            mac_of(0xbe, i),
            pa,
            Rule::Encap,
        ));
    }
    for j in 0..nat as u32 {
        let pa = Ipv4Addr::from(NAT_PA_BASE + j);
        p.lookup_records.push(static_record(
            nth(NAT_SUBNET.1, j),
            NAT_SUBNET.0,
            mac_of(0xbf, j),
            pa,
            Rule::Nat,
        ));
    }
    assert_eq!(p.lookup_records.len(), total);
    p
}

/// A VM on this host: its port and its lookup record.
#[derive(Clone, Copy)]
struct LocalVm {
    port: PortId,
    rec: LookupEntry,
}

/// What the frame streams are drawn from.
struct Scope {
    local: Vec<LocalVm>,
    remote_encap: Vec<LookupEntry>,
    remote_nat: Vec<LookupEntry>,
    uplink_mac: MacAddr,
    gateway_mac: MacAddr,
}

impl Scope {
    fn new(t: &Tables) -> Self {
        let mut local = Vec::new();
        for (i, port) in t.ports().iter().enumerate() {
            let Some(vsid) = port.vsid else { continue };
            let rec = t
                .records()
                .iter()
                .find(|r| r.vsid == vsid && r.mac == port.mac && t.owns_pa(r.pa))
                .expect("every port has a local record");
            local.push(LocalVm {
                port: PortId(i as u16),
                rec: *rec,
            });
        }
        let remote = |rule| -> Vec<LookupEntry> {
            t.records()
                .iter()
                .filter(|r| r.rule == rule && !t.owns_pa(r.pa))
                .copied()
                .collect()
        };
        Self {
            local,
            remote_encap: remote(Rule::Encap),
            remote_nat: remote(Rule::Nat),
            uplink_mac: t.uplink_mac(),
            gateway_mac: t.gateway_mac(),
        }
    }

    /// Local VMs with `rule` (Encap: Contoso's, Nat: Fabrikam's).
    fn local_with(&self, rule: Rule) -> Vec<LocalVm> {
        self.local
            .iter()
            .filter(|v| v.rec.rule == rule)
            .copied()
            .collect()
    }
}

// ---- frames -------------------------------------------------------------------------------

fn v4(a: IpAddr) -> Ipv4Addr {
    match a {
        IpAddr::V4(a) => a,
        IpAddr::V6(_) => panic!("the bench's policy is IPv4 only"),
    }
}

/// A 64-byte Ethernet + IPv4 + UDP frame (22 bytes of payload, valid checksums).
fn udp_frame(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    port: u16,
) -> Vec<u8> {
    let payload = [0x5a; 22];
    let b = PacketBuilder::ethernet2(src_mac, dst_mac)
        .ipv4(src.octets(), dst.octets(), 64)
        .udp(port, 7);
    let mut f = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut f, &payload).expect("UDP frame");
    assert_eq!(f.len(), 64);
    f
}

/// A 60-byte broadcast ARP request "who has `target`? tell `sender`" (zero padded).
fn arp_request(mac: [u8; 6], sender: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    let mut f = Ethernet2Header {
        source: mac,
        destination: [0xff; 6],
        ether_type: EtherType::ARP,
    }
    .to_bytes()
    .to_vec();
    let arp = ArpEthIpv4Packet {
        operation: ArpOperation::REQUEST,
        sender_mac: mac,
        sender_ipv4: sender.octets(),
        target_mac: [0; 6],
        target_ipv4: target.octets(),
    };
    f.extend_from_slice(&arp.to_bytes());
    f.resize(60, 0);
    f
}

/// `inner` in NVGRE over IPv4 from `src_pa` to `dst_pa`, addressed to `dst_mac`.
fn nvgre_frame(
    dst_mac: [u8; 6],
    src_pa: Ipv4Addr,
    dst_pa: Ipv4Addr,
    vsid: u32,
    inner: &[u8],
) -> Vec<u8> {
    let mut payload = GRE_START.to_vec();
    payload.extend_from_slice(&(vsid << 8 | 0x2a).to_be_bytes());
    payload.extend_from_slice(inner);
    let b =
        PacketBuilder::ethernet2(ROUTER_MAC, dst_mac).ipv4(src_pa.octets(), dst_pa.octets(), 64);
    let mut f = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut f, IpNumber::GRE, &payload)
        .expect("NVGRE frame");
    f
}

/// The verdict every frame of a group must get.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    ToPort,
    ToWire,
    Reply,
}

/// A group's frame stream: `count` frames of `len` bytes and where each comes from.
struct Workload {
    path: &'static str,
    len: usize,
    frames: Vec<u8>,
    /// Ingress port of each frame; `None`: from the wire.
    from: Vec<Option<PortId>>,
    expect: Expect,
}

impl Workload {
    fn new(path: &'static str, expect: Expect) -> Self {
        Self {
            path,
            len: 0,
            frames: Vec::new(),
            from: Vec::new(),
            expect,
        }
    }

    fn push(&mut self, from: Option<PortId>, frame: &[u8]) {
        if self.from.is_empty() {
            self.len = frame.len();
        }
        assert_eq!(
            frame.len(),
            self.len,
            "{}: one frame length per group",
            self.path
        );
        self.frames.extend_from_slice(frame);
        self.from.push(from);
    }

    fn count(&self) -> usize {
        self.from.len()
    }

    fn frame(&self, i: usize) -> &[u8] {
        &self.frames[i * self.len..(i + 1) * self.len]
    }

    /// Copies batch `batch` into the arena's slots (untimed): restores whatever the
    /// previous batch did to the frames.
    fn refill(&self, arena: &mut [u8], batch: usize) {
        let frames = &self.frames[batch * BATCH * self.len..(batch + 1) * BATCH * self.len];
        for (slot, f) in arena
            .chunks_exact_mut(STRIDE)
            .zip(frames.chunks_exact(self.len))
        {
            slot[HEADROOM..HEADROOM + self.len].copy_from_slice(f);
        }
    }
}

/// Stream length for `n` candidate destinations: at least one batch, whole batches.
fn stream_len(n: usize) -> usize {
    n.max(BATCH).div_ceil(BATCH) * BATCH
}

fn pick<'a, T>(rng: &mut Rng, v: &'a [T]) -> &'a T {
    &v[rng.below(v.len() as u64) as usize]
}

/// A random source port, so flows (and FlowIDs) differ.
fn sport(rng: &mut Rng) -> u16 {
    1024 + rng.below(60_000) as u16
}

/// Pairs of local Encap VMs: same VSID (`same`) or different VSIDs of one routing domain.
fn local_pairs(s: &Scope, same: bool) -> Vec<(LocalVm, LocalVm)> {
    let vms = s.local_with(Rule::Encap);
    let mut pairs = Vec::new();
    for a in &vms {
        for b in &vms {
            if a.port != b.port && (a.rec.vsid == b.rec.vsid) == same {
                pairs.push((*a, *b));
            }
        }
    }
    assert!(!pairs.is_empty());
    pairs
}

fn local_switch(scope: &Scope, rng: &mut Rng) -> Workload {
    let pairs = local_pairs(scope, true);
    let mut work = Workload::new("local_switch", Expect::ToPort);
    for _ in 0..BATCH {
        let (src, dst) = pick(rng, &pairs);
        let frame = udp_frame(
            src.rec.mac.0,
            dst.rec.mac.0,
            v4(src.rec.ca),
            v4(dst.rec.ca),
            sport(rng),
        );
        work.push(Some(src.port), &frame);
    }
    work
}

fn routed_local(scope: &Scope, rng: &mut Rng) -> Workload {
    let pairs = local_pairs(scope, false);
    let mut work = Workload::new("routed_local", Expect::ToPort);
    for _ in 0..BATCH {
        let (src, dst) = pick(rng, &pairs);
        let frame = udp_frame(
            src.rec.mac.0,
            scope.gateway_mac.0,
            v4(src.rec.ca),
            v4(dst.rec.ca),
            sport(rng),
        );
        work.push(Some(src.port), &frame);
    }
    work
}

/// Remote Encap records whose VSID has a local VM, and those local VMs.
fn bridged_scope(scope: &Scope) -> (Vec<LookupEntry>, Vec<LocalVm>) {
    let vms = scope.local_with(Rule::Encap);
    let recs = scope
        .remote_encap
        .iter()
        .filter(|rec| vms.iter().any(|vm| vm.rec.vsid == rec.vsid))
        .copied()
        .collect();
    (recs, vms)
}

/// A stream of frames from local VMs (`vms`) to random records of `recs`; `sender` says
/// which VMs may send to a record, `frame` builds the frame.
fn to_records(
    work: &mut Workload,
    rng: &mut Rng,
    recs: &[LookupEntry],
    vms: &[LocalVm],
    sender: impl Fn(&LocalVm, &LookupEntry) -> bool,
    frame: impl Fn(&LocalVm, &LookupEntry, u16) -> Vec<u8>,
) {
    for _ in 0..stream_len(recs.len()) {
        let rec = pick(rng, recs);
        let senders: Vec<&LocalVm> = vms.iter().filter(|vm| sender(vm, rec)).collect();
        let vm = pick(rng, &senders);
        let port = sport(rng);
        work.push(Some(vm.port), &frame(vm, rec, port));
    }
}

fn encap_egress(scope: &Scope, rng: &mut Rng) -> Workload {
    let (recs, vms) = bridged_scope(scope);
    encap_to(
        Workload::new("encap_egress", Expect::ToWire),
        rng,
        &recs,
        &vms,
    )
}

/// `encap_egress` over only `reuse` of its records, taken evenly spaced through the
/// table (so their index slots and records lie all over its memory, as a busy host's
/// working set would): how the time per packet depends on how many records the traffic
/// keeps using, at the same table size.
/// `None` when `reuse` is not below the records `encap_egress` uses (the group would be
/// `encap_egress` again).
fn encap_egress_reuse(scope: &Scope, rng: &mut Rng, reuse: usize) -> Option<Workload> {
    let (recs, vms) = bridged_scope(scope);
    if reuse == 0 || reuse >= recs.len() {
        return None;
    }
    let some: Vec<LookupEntry> = recs
        .iter()
        .step_by(recs.len() / reuse)
        .take(reuse)
        .copied()
        .collect();
    let path: &'static str = format!("encap_egress_reuse{reuse}").leak();
    Some(encap_to(
        Workload::new(path, Expect::ToWire),
        rng,
        &some,
        &vms,
    ))
}

/// The record counts of `HNV_BENCH_REUSE` (comma-separated, e.g. `20000,100000`): for
/// each, one more group `encap_egress_reuse<N>` per table size. None when unset.
fn reuse_counts() -> Vec<usize> {
    let Ok(list) = std::env::var("HNV_BENCH_REUSE") else {
        return Vec::new();
    };
    list.split(',')
        .map(|n| {
            n.trim().parse().unwrap_or_else(|_| {
                panic!("HNV_BENCH_REUSE: {n:?} is not a record count (expected e.g. 20000,100000)")
            })
        })
        .collect()
}

/// A stream from `vms` to random records of `recs` in their own VSID (fig. 1-9).
fn encap_to(mut work: Workload, rng: &mut Rng, recs: &[LookupEntry], vms: &[LocalVm]) -> Workload {
    to_records(
        &mut work,
        rng,
        recs,
        vms,
        |vm, rec| vm.rec.vsid == rec.vsid,
        |vm, rec, port| udp_frame(vm.rec.mac.0, rec.mac.0, v4(vm.rec.ca), v4(rec.ca), port),
    );
    work
}

fn encap_routed(scope: &Scope, rng: &mut Rng) -> Workload {
    let vms = scope.local_with(Rule::Encap);
    let gateway = scope.gateway_mac.0;
    let mut work = Workload::new("encap_routed", Expect::ToWire);
    to_records(
        &mut work,
        rng,
        &scope.remote_encap,
        &vms,
        |vm, rec| vm.rec.vsid != rec.vsid,
        |vm, rec, port| udp_frame(vm.rec.mac.0, gateway, v4(vm.rec.ca), v4(rec.ca), port),
    );
    work
}

fn arp_proxy(scope: &Scope, rng: &mut Rng) -> Workload {
    let (recs, vms) = bridged_scope(scope);
    let mut work = Workload::new("arp_proxy", Expect::Reply);
    to_records(
        &mut work,
        rng,
        &recs,
        &vms,
        |vm, rec| vm.rec.vsid == rec.vsid,
        |vm, rec, _| arp_request(vm.rec.mac.0, v4(vm.rec.ca), v4(rec.ca)),
    );
    work
}

fn rewrite_egress(scope: &Scope, rng: &mut Rng) -> Workload {
    let vms = scope.local_with(Rule::Nat);
    let mut work = Workload::new("rewrite_egress", Expect::ToWire);
    to_records(
        &mut work,
        rng,
        &scope.remote_nat,
        &vms,
        |vm, rec| vm.rec.vsid == rec.vsid,
        |vm, rec, port| udp_frame(vm.rec.mac.0, rec.mac.0, v4(vm.rec.ca), v4(rec.ca), port),
    );
    work
}

fn rewrite_ingress(scope: &Scope, rng: &mut Rng) -> Workload {
    let vms = scope.local_with(Rule::Nat);
    let uplink = scope.uplink_mac.0;
    let mut work = Workload::new("rewrite_ingress", Expect::ToPort);
    to_records(
        &mut work,
        rng,
        &scope.remote_nat,
        &vms,
        |vm, rec| vm.rec.vsid == rec.vsid,
        |vm, rec, port| udp_frame(ROUTER_MAC, uplink, v4(rec.pa), v4(vm.rec.pa), port),
    );
    // From the wire: the VM only chose the destination PA.
    work.from.fill(None);
    work
}

fn decap_ingress(scope: &Scope, rng: &mut Rng) -> Workload {
    let (recs, vms) = bridged_scope(scope);
    let senders: Vec<Vec<LookupEntry>> = vms
        .iter()
        .map(|vm| {
            let same = recs.iter().filter(|rec| rec.vsid == vm.rec.vsid);
            same.copied().collect()
        })
        .collect();
    let mut work = Workload::new("decap_ingress", Expect::ToPort);
    for _ in 0..BATCH {
        let i = rng.below(vms.len() as u64) as usize;
        let (dst, src) = (&vms[i], pick(rng, &senders[i]));
        let inner = udp_frame(
            src.mac.0,
            dst.rec.mac.0,
            v4(src.ca),
            v4(dst.rec.ca),
            sport(rng),
        );
        let vsid = dst.rec.vsid.get();
        let wire = nvgre_frame(scope.uplink_mac.0, v4(src.pa), v4(dst.rec.pa), vsid, &inner);
        work.push(None, &wire);
    }
    work
}

// ---- the baseline -------------------------------------------------------------------------

/// An IPv4 route of the baseline (customer or provider).
struct V4Route {
    net: u32,
    mask: u32,
    len: u8,
    vsid: u32,
    next_hop: Option<Ipv4Addr>,
}

impl V4Route {
    fn new(prefix: Prefix, vsid: u32, next_hop: IpAddr) -> Self {
        let len = prefix.len();
        let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
        Self {
            net: u32::from(v4(prefix.addr())) & mask,
            mask,
            len,
            vsid,
            next_hop: (!next_hop.is_unspecified()).then(|| v4(next_hop)),
        }
    }
}

/// Longest matching route (linear scan; the bench's route lists are short).
fn longest(routes: &[V4Route], a: Ipv4Addr) -> Option<&V4Route> {
    let a = u32::from(a);
    routes
        .iter()
        .filter(|r| a & r.mask == r.net)
        .max_by_key(|r| r.len)
}

/// What the baseline did with a frame.
#[derive(Debug)]
enum StdOut {
    /// The frame (perhaps rewritten in place) goes to this port.
    ToPort(u16),
    /// The inner frame at this range of the input goes to this port.
    Decap(u16, Range<usize>),
    /// The frame, rewritten in place, goes to the wire.
    ToWire,
    /// A new frame for the wire.
    Encapsulated(Vec<u8>),
    /// The frame was rewritten into a reply.
    Reply,
    /// Not handled (not reached by the bench's frames).
    Drop(&'static str),
}

/// What the baseline reads of a frame from a port, copied out of etherparse's slices so
/// the frame can be rewritten afterwards.
enum Parsed {
    Arp {
        op: ArpOperation,
        sender_mac: [u8; 6],
        sender: Ipv4Addr,
        target: Ipv4Addr,
    },
    Ipv4(Flow),
}

/// Ethernet destination, source and the ARP or IPv4 part of a frame from a port.
fn parse_port_frame(frame: &[u8]) -> Result<([u8; 6], [u8; 6], Parsed), &'static str> {
    let sliced = SlicedPacket::from_ethernet(frame).map_err(|_| "malformed")?;
    let Some(LinkSlice::Ethernet2(eth)) = &sliced.link else {
        return Err("not Ethernet II");
    };
    if !sliced.link_exts.is_empty() {
        return Err("VLAN tag");
    }
    let parsed = match &sliced.net {
        Some(NetSlice::Arp(a)) => {
            let (Ok(sender_mac), Ok(sender), Ok(target)) = (
                <[u8; 6]>::try_from(a.sender_hw_addr()),
                <[u8; 4]>::try_from(a.sender_protocol_addr()),
                <[u8; 4]>::try_from(a.target_protocol_addr()),
            ) else {
                return Err("not Ethernet/IPv4 ARP");
            };
            Parsed::Arp {
                op: a.operation(),
                sender_mac,
                sender: sender.into(),
                target: target.into(),
            }
        }
        Some(NetSlice::Ipv4(ip)) => {
            let h = ip.header();
            let ports = match &sliced.transport {
                Some(TransportSlice::Udp(u)) => (u.source_port(), u.destination_port()),
                Some(TransportSlice::Tcp(t)) => (t.source_port(), t.destination_port()),
                _ => (0, 0),
            };
            Parsed::Ipv4(Flow {
                src: h.source_addr(),
                dst: h.destination_addr(),
                protocol: h.protocol().0,
                ports,
                tos: h.dcp().value() << 2 | h.ecn().value(),
            })
        }
        _ => return Err("not IPv4 or ARP"),
    };
    Ok((eth.destination(), eth.source(), parsed))
}

/// What the baseline reads of a frame from the wire.
enum WireParsed {
    /// NVGRE: the key's VSID, the inner frame's place and its Ethernet destination.
    Nvgre {
        vsid: u32,
        inner: Range<usize>,
        inner_dst: [u8; 6],
    },
    /// Another IPv4 packet (IP rewrite ingress).
    Plain { src: IpAddr, dst: IpAddr },
}

/// Parses a frame from the wire; for NVGRE also checks part of what `nvgre::inspect`
/// checks: IPv4 header checksum, not a fragment, GRE flags, version and protocol, an inner
/// Ethernet header.
fn parse_wire_frame(frame: &[u8]) -> Result<(IpAddr, WireParsed), &'static str> {
    let sliced = SlicedPacket::from_ethernet(frame).map_err(|_| "malformed")?;
    let Some(NetSlice::Ipv4(ip)) = &sliced.net else {
        return Err("not IPv4");
    };
    let h = ip.header();
    let (src, dst) = (
        IpAddr::V4(h.source_addr()),
        IpAddr::V4(h.destination_addr()),
    );
    if h.protocol() != IpNumber::GRE {
        return Ok((dst, WireParsed::Plain { src, dst }));
    }
    if h.header_checksum() != h.to_header().calc_header_checksum() {
        return Err("bad IPv4 header checksum");
    }
    if ip.is_payload_fragmented() {
        return Err("fragment");
    }
    let gre = ip.payload().payload;
    if gre.len() < 8 + 14 || gre[..4] != GRE_START {
        return Err("not NVGRE");
    }
    let vsid = u32::from_be_bytes([gre[4], gre[5], gre[6], gre[7]]) >> 8;
    let inner = &gre[8..];
    let (ieth, _) = Ethernet2Header::from_slice(inner).map_err(|_| "inner truncated")?;
    let start = inner.as_ptr() as usize - frame.as_ptr() as usize;
    Ok((
        dst,
        WireParsed::Nvgre {
            vsid,
            inner: start..start + inner.len(),
            inner_dst: ieth.destination,
        },
    ))
}

/// The sender of a frame from a port: its VSID, its record's PA and the frame's flow.
#[derive(Clone, Copy)]
struct Sender {
    vsid: u32,
    pa: Option<IpAddr>,
    flow: Flow,
}

/// The same decisions as the switch for the bench's paths, written the straightforward
/// way: etherparse to parse and build, `std::collections::HashMap` (SipHash-1-3) holding
/// the same lookup records, linear scans over the short route lists. IPv4 only.
struct StdSwitch {
    own_pas: Vec<IpAddr>,
    uplink_mac: [u8; 6],
    gateway_mac: [u8; 6],
    mtu: usize,
    ports: Vec<([u8; 6], Option<u32>)>,
    port_by_mac: HashMap<(u32, [u8; 6]), u16>,
    by_ca: HashMap<(u32, IpAddr), LookupEntry>,
    by_mac: HashMap<(u32, [u8; 6]), LookupEntry>,
    by_pa: HashMap<IpAddr, LookupEntry>,
    /// VSID → index of its routing domain in `routes`.
    vsid_rd: HashMap<u32, usize>,
    routes: Vec<Vec<V4Route>>,
    provider_routes: Vec<V4Route>,
    neighbors: HashMap<IpAddr, [u8; 6]>,
}

impl StdSwitch {
    /// The host's part of `p`, with the records `t` kept.
    fn new(p: &Policy, t: &Tables) -> Self {
        let host = p.host(HOST).expect("host");
        let rdids = t.routing_domains();
        let mut routes: Vec<Vec<V4Route>> = rdids.iter().map(|_| Vec::new()).collect();
        let mut vsid_rd = HashMap::new();
        for r in &p.customer_routes {
            if let Some(i) = rdids.iter().position(|d| *d == r.routing_domain_id) {
                let route = V4Route::new(r.destination_prefix, r.virtual_subnet_id, r.next_hop);
                routes[i].push(route);
                vsid_rd.insert(r.virtual_subnet_id, i);
            }
        }
        let mut provider_routes = Vec::new();
        for a in &p.provider_addresses {
            if t.owns_pa(a.provider_address) {
                let prefix = Prefix::truncating(a.provider_address, a.prefix_length);
                let on_link = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
                provider_routes.push(V4Route::new(prefix, 0, on_link));
            }
        }
        for r in &p.provider_routes {
            provider_routes.push(V4Route::new(r.destination_prefix, 0, r.next_hop));
        }
        let ports: Vec<([u8; 6], Option<u32>)> = t
            .ports()
            .iter()
            .map(|e| (e.mac.0, e.vsid.map(hnv_core::ids::Vsid::get)))
            .collect();
        let mut port_by_mac = HashMap::new();
        for (i, (mac, vsid)) in ports.iter().enumerate() {
            if let Some(v) = vsid {
                port_by_mac.insert((*v, *mac), i as u16);
            }
        }
        let n = t.records().len();
        let mut ca_map = HashMap::with_capacity(n);
        let mut mac_map = HashMap::with_capacity(n);
        let mut nat_pa_map = HashMap::new();
        for r in t.records() {
            ca_map.insert((r.vsid.get(), r.ca), *r);
            mac_map.entry((r.vsid.get(), r.mac.0)).or_insert(*r);
            if r.rule == Rule::Nat {
                nat_pa_map.insert(r.pa, *r);
            }
        }
        Self {
            own_pas: t.own_pas().to_vec(),
            uplink_mac: t.uplink_mac().0,
            gateway_mac: t.gateway_mac().0,
            mtu: usize::from(t.uplink_mtu()),
            ports,
            port_by_mac,
            by_ca: ca_map,
            by_mac: mac_map,
            by_pa: nat_pa_map,
            vsid_rd,
            routes,
            provider_routes,
            neighbors: host
                .neighbors
                .iter()
                .map(|n| (n.ip_address, n.mac_address.0))
                .collect(),
        }
    }

    fn owns(&self, pa: IpAddr) -> bool {
        self.own_pas.contains(&pa)
    }

    /// MAC of the provider next hop towards `pa`.
    fn next_hop_mac(&self, pa: IpAddr) -> Option<[u8; 6]> {
        let hop = longest(&self.provider_routes, v4(pa))
            .and_then(|r| r.next_hop)
            .map_or(pa, IpAddr::V4);
        self.neighbors.get(&hop).copied()
    }

    /// A frame from VM port `port`.
    fn port_frame(&self, port: u16, frame: &mut [u8]) -> StdOut {
        let Some(&(port_mac, Some(vsid))) = self.ports.get(usize::from(port)) else {
            return StdOut::Drop("unknown or unvirtualized port");
        };
        let (dst, src, parsed) = match parse_port_frame(frame) {
            Ok(p) => p,
            Err(e) => return StdOut::Drop(e),
        };
        if src != port_mac {
            return StdOut::Drop("spoofed MAC");
        }
        // The sender's own record: L2Only (learning) check and source PA.
        let own = self.by_mac.get(&(vsid, port_mac));
        let learning = own.is_some_and(|r| r.record_type == RecordType::L2Only);
        let owns_ca = |ca: Ipv4Addr| {
            learning
                || self
                    .by_ca
                    .get(&(vsid, IpAddr::V4(ca)))
                    .is_some_and(|r| r.mac.0 == port_mac)
        };
        let flow = match parsed {
            Parsed::Arp {
                op,
                sender_mac,
                sender,
                target,
            } => {
                if sender_mac != port_mac || !owns_ca(sender) {
                    return StdOut::Drop("spoofed ARP");
                }
                if op != ArpOperation::REQUEST {
                    return StdOut::Drop("ARP reply: not benched");
                }
                return self.arp_request(vsid, frame, port_mac, sender, target);
            }
            Parsed::Ipv4(flow) => flow,
        };
        if !owns_ca(flow.src) {
            return StdOut::Drop("spoofed CA");
        }
        let from = Sender {
            vsid,
            pa: own.map(|r| r.pa),
            flow,
        };
        if dst[0] & 1 == 1 {
            return StdOut::Drop("flood: not benched");
        }
        if dst == self.gateway_mac {
            return self.route(from, frame);
        }
        if let Some(&p) = self.port_by_mac.get(&(vsid, dst)) {
            return StdOut::ToPort(p);
        }
        match self.by_mac.get(&(vsid, dst)) {
            Some(rec) => self.toward(rec, frame, from, false),
            None => StdOut::Drop("no record"),
        }
    }

    /// ARP request from a local VM: the gateway's `.1`, or a remote VM answered by proxy.
    fn arp_request(
        &self,
        vsid: u32,
        frame: &mut [u8],
        mac: [u8; 6],
        sender: Ipv4Addr,
        target: Ipv4Addr,
    ) -> StdOut {
        let Some(&rd) = self.vsid_rd.get(&vsid) else {
            return StdOut::Drop("unknown VSID");
        };
        let gateway = self.routes[rd]
            .iter()
            .any(|r| r.vsid == vsid && r.next_hop.is_none() && u32::from(target) == r.net + 1);
        let answer = if gateway {
            self.gateway_mac
        } else {
            match self.by_ca.get(&(vsid, IpAddr::V4(target))) {
                Some(rec) if !self.owns(rec.pa) => rec.mac.0,
                Some(_) => return StdOut::Drop("local VM answers itself: not benched"),
                None => return StdOut::Drop("unknown CA: not benched"),
            }
        };
        let eth = Ethernet2Header {
            source: answer,
            destination: mac,
            ether_type: EtherType::ARP,
        };
        let reply = ArpEthIpv4Packet {
            operation: ArpOperation::REPLY,
            sender_mac: answer,
            sender_ipv4: target.octets(),
            target_mac: mac,
            target_ipv4: sender.octets(),
        };
        frame[..14].copy_from_slice(&eth.to_bytes());
        frame[14..14 + ArpEthIpv4Packet::LEN].copy_from_slice(&reply.to_bytes());
        StdOut::Reply
    }

    /// Routed by the distributed router: customer route, then the destination's record.
    fn route(&self, from: Sender, frame: &mut [u8]) -> StdOut {
        let Some(&rd) = self.vsid_rd.get(&from.vsid) else {
            return StdOut::Drop("unknown VSID");
        };
        let Some(route) = longest(&self.routes[rd], from.flow.dst) else {
            return StdOut::Drop("no route");
        };
        let target = route.next_hop.unwrap_or(from.flow.dst);
        let Some(rec) = self.by_ca.get(&(route.vsid, IpAddr::V4(target))) else {
            return StdOut::Drop("no record");
        };
        if self.vsid_rd.get(&rec.vsid.get()) != Some(&rd) {
            return StdOut::Drop("other routing domain");
        }
        self.toward(rec, frame, from, true)
    }

    /// Towards the VM of `rec`: a local port, IP rewrite, or NVGRE.
    fn toward(&self, rec: &LookupEntry, frame: &mut [u8], from: Sender, routed: bool) -> StdOut {
        if self.owns(rec.pa) {
            let Some(&p) = self.port_by_mac.get(&(rec.vsid.get(), rec.mac.0)) else {
                return StdOut::Drop("no local port");
            };
            if routed {
                frame[..6].copy_from_slice(&rec.mac.0);
                frame[6..12].copy_from_slice(&self.gateway_mac);
            }
            return StdOut::ToPort(p);
        }
        match rec.rule {
            Rule::Encap => {}
            Rule::Nat => return self.rewrite_egress(rec, frame, from),
            Rule::None => return StdOut::Drop("rule None"),
        }
        let Some(src_pa) = from
            .pa
            .filter(|pa| self.owns(*pa))
            .or_else(|| self.own_pas.first().copied())
        else {
            return StdOut::Drop("no own PA");
        };
        let Some(dst_mac) = self.next_hop_mac(rec.pa) else {
            return StdOut::Drop("unresolved neighbour");
        };
        if frame.len() + 20 + 8 > self.mtu {
            return StdOut::Drop("too big");
        }
        let route_to = routed.then_some(rec.mac.0);
        StdOut::Encapsulated(self.encapsulate(frame, rec, v4(src_pa), dst_mac, from.flow, route_to))
    }

    /// IP rewrite towards a remote Nat record: CAs to PAs, provider MACs.
    fn rewrite_egress(&self, rec: &LookupEntry, frame: &mut [u8], from: Sender) -> StdOut {
        let Some(own) = self.by_ca.get(&(from.vsid, IpAddr::V4(from.flow.src))) else {
            return StdOut::Drop("no sender record");
        };
        if own.rule != Rule::Nat || !self.owns(own.pa) {
            return StdOut::Drop("sender not Nat");
        }
        let Some(dst_mac) = self.next_hop_mac(rec.pa) else {
            return StdOut::Drop("unresolved neighbour");
        };
        if rewrite_ipv4(frame, v4(own.pa), v4(rec.pa)).is_none() {
            return StdOut::Drop("not rewritable");
        }
        frame[..6].copy_from_slice(&dst_mac);
        frame[6..12].copy_from_slice(&self.uplink_mac);
        StdOut::ToWire
    }

    /// The NVGRE frame in a fresh `Vec`: outer Ethernet and IPv4 by etherparse (header
    /// checksum computed by `Ipv4Header::write`), GRE header, inner frame (with its MACs
    /// set for a routed frame).
    fn encapsulate(
        &self,
        inner: &[u8],
        rec: &LookupEntry,
        src_pa: Ipv4Addr,
        dst_mac: [u8; 6],
        flow: Flow,
        route_to: Option<[u8; 6]>,
    ) -> Vec<u8> {
        let mut out = Vec::with_capacity(14 + 20 + 8 + inner.len());
        let eth = Ethernet2Header {
            source: self.uplink_mac,
            destination: dst_mac,
            ether_type: EtherType::IPV4,
        };
        eth.write(&mut out).expect("Vec write");
        let (len, dst) = ((8 + inner.len()) as u16, v4(rec.pa).octets());
        let mut ip =
            Ipv4Header::new(len, 64, IpNumber::GRE, src_pa.octets(), dst).expect("IPv4 length");
        ip.dscp = IpDscp::try_new(flow.tos >> 2).expect("DSCP");
        ip.ecn = IpEcn::try_new(flow.tos & 3).expect("ECN");
        ip.write(&mut out).expect("Vec write");
        out.extend_from_slice(&GRE_START);
        let key = rec.vsid.get() << 8 | u32::from(flow_id(&flow));
        out.extend_from_slice(&key.to_be_bytes());
        match route_to {
            Some(mac) => {
                out.extend_from_slice(&mac);
                out.extend_from_slice(&self.gateway_mac);
                out.extend_from_slice(&inner[12..]);
            }
            None => out.extend_from_slice(inner),
        }
        out
    }

    /// A frame from the provider network.
    fn wire_frame(&self, frame: &mut [u8]) -> StdOut {
        let (dst_pa, parsed) = match parse_wire_frame(frame) {
            Ok(p) => p,
            Err(e) => return StdOut::Drop(e),
        };
        if !self.owns(dst_pa) {
            return StdOut::Drop("not our PA");
        }
        let (vsid, inner, inner_dst) = match parsed {
            WireParsed::Plain { src, dst } => return self.rewrite_ingress(frame, src, dst),
            WireParsed::Nvgre {
                vsid,
                inner,
                inner_dst,
            } => (vsid, inner, inner_dst),
        };
        if !self.vsid_rd.contains_key(&vsid) {
            return StdOut::Drop("unknown VSID");
        }
        if inner_dst[0] & 1 == 1 {
            return StdOut::Drop("flood: not benched");
        }
        match self.port_by_mac.get(&(vsid, inner_dst)) {
            Some(&p) => StdOut::Decap(p, inner),
            None => StdOut::Drop("no local port"),
        }
    }

    /// IP rewrite of a packet to the PA of a local Nat record: PAs back to CAs.
    fn rewrite_ingress(&self, frame: &mut [u8], src: IpAddr, dst: IpAddr) -> StdOut {
        let (Some(rec), Some(from)) = (self.by_pa.get(&dst), self.by_pa.get(&src)) else {
            return StdOut::Drop("no Nat record");
        };
        let rd = |r: &LookupEntry| self.vsid_rd.get(&r.vsid.get());
        if rd(rec).is_none() || rd(rec) != rd(from) {
            return StdOut::Drop("other routing domain");
        }
        let Some(&p) = self.port_by_mac.get(&(rec.vsid.get(), rec.mac.0)) else {
            return StdOut::Drop("no local port");
        };
        if rewrite_ipv4(frame, v4(from.ca), v4(rec.ca)).is_none() {
            return StdOut::Drop("not rewritable");
        }
        frame[..6].copy_from_slice(&rec.mac.0);
        frame[6..12].copy_from_slice(&self.gateway_mac);
        StdOut::ToPort(p)
    }
}

/// The IPv4 flow of a frame.
#[derive(Clone, Copy)]
struct Flow {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: u8,
    /// UDP/TCP source and destination ports (0 for other protocols).
    ports: (u16, u16),
    /// DSCP and ECN (copied to the outer header, as hnv's default `OuterTos::Inherit`).
    tos: u8,
}

/// The baseline's FlowID: the low byte of std's `DefaultHasher` (SipHash-1-3) over the
/// 5-tuple.
fn flow_id(flow: &Flow) -> u8 {
    let mut h = DefaultHasher::new();
    (flow.src, flow.dst, flow.protocol, flow.ports).hash(&mut h);
    h.finish() as u8
}

/// Replaces the addresses of the Ethernet + IPv4 (+ UDP) frame and recomputes the IPv4
/// header checksum and the UDP checksum from scratch with etherparse.
fn rewrite_ipv4(frame: &mut [u8], src: Ipv4Addr, dst: Ipv4Addr) -> Option<()> {
    let (mut ip, rest) = Ipv4Header::from_slice(frame.get(14..)?).ok()?;
    let ip_len = ip.header_len();
    ip.source = src.octets();
    ip.destination = dst.octets();
    ip.header_checksum = ip.calc_header_checksum();
    let udp = if ip.protocol == IpNumber::UDP {
        let (mut udp, _) = UdpHeader::from_slice(rest).ok()?;
        let payload = rest.get(8..usize::from(udp.length))?;
        udp.checksum = udp.calc_checksum_ipv4(&ip, payload).ok()?;
        Some(udp.to_bytes())
    } else {
        None
    };
    frame[14..14 + ip_len].copy_from_slice(&ip.to_bytes());
    if let Some(u) = udp {
        frame[14 + ip_len..14 + ip_len + 8].copy_from_slice(&u);
    }
    Some(())
}

// ---- running and checking -----------------------------------------------------------------

fn hnv_one(sw: &mut Switch<Tables>, from: Option<PortId>, fb: &mut FrameBuf<'_>) -> Verdict {
    match from {
        Some(p) => sw.from_port(p, fb, &mut ()),
        None => sw.from_wire(fb, &mut ()),
    }
}

fn base_one(sw: &StdSwitch, from: Option<PortId>, frame: &mut [u8]) -> StdOut {
    match from {
        Some(p) => sw.port_frame(p.0, frame),
        None => sw.wire_frame(frame),
    }
}

/// The timed part of the `hnv` row: one switch call per frame of the arena.
fn hnv_batch(sw: &mut Switch<Tables>, arena: &mut [u8], len: usize, from: &[Option<PortId>]) {
    for (slot, &p) in arena.chunks_exact_mut(STRIDE).zip(from) {
        let mut fb = FrameBuf::new(slot, HEADROOM, len).expect("slot holds the frame");
        black_box(hnv_one(sw, p, &mut fb));
    }
}

/// The timed part of the baseline row: one baseline call per frame of the arena (a new
/// NVGRE frame is freed here too).
fn std_batch(sw: &StdSwitch, arena: &mut [u8], len: usize, from: &[Option<PortId>]) {
    for (slot, &p) in arena.chunks_exact_mut(STRIDE).zip(from) {
        let out = base_one(sw, p, &mut slot[HEADROOM..HEADROOM + len]);
        black_box(&out);
    }
}

/// Untimed: hnv and the baseline reach the group's verdict with the same bytes.
fn check_same(sw: &mut Switch<Tables>, base: &StdSwitch, work: &Workload) {
    let len = work.len;
    let mut slot = vec![0u8; STRIDE];
    for i in 0..work.count().min(CHECK) {
        let input = work.frame(i);
        slot[HEADROOM..HEADROOM + len].copy_from_slice(input);
        let mut theirs = input.to_vec();
        let mut fb = FrameBuf::new(&mut slot, HEADROOM, len).expect("slot");
        let verdict = hnv_one(sw, work.from[i], &mut fb);
        let ours = fb.data();
        let out = base_one(base, work.from[i], &mut theirs);
        let same = match (work.expect, verdict, &out) {
            (Expect::ToPort, Verdict::ToPort(p), StdOut::ToPort(q)) => {
                p.0 == *q && ours == &theirs[..]
            }
            (Expect::ToPort, Verdict::ToPort(p), StdOut::Decap(q, inner)) => {
                p.0 == *q && ours == &theirs[inner.clone()]
            }
            (Expect::ToWire, Verdict::ToWire, StdOut::ToWire)
            | (Expect::Reply, Verdict::Reply, StdOut::Reply) => ours == &theirs[..],
            (Expect::ToWire, Verdict::ToWire, StdOut::Encapsulated(built)) => {
                // Equal but for the FlowID, which each side hashes its own way.
                let mut ours = ours.to_vec();
                let mut built = built.clone();
                ours[FLOW_ID_AT] = 0;
                built[FLOW_ID_AT] = 0;
                ours == built
            }
            (_, _, StdOut::Drop(reason)) => {
                panic!(
                    "{}: frame {i}: the baseline dropped it: {reason}",
                    work.path
                )
            }
            _ => false,
        };
        assert!(
            same,
            "{}: frame {i}: hnv {verdict:?} {ours:02x?}\nbaseline {out:?} {theirs:02x?}",
            work.path
        );
    }
}

fn label(n: usize) -> String {
    if n % 1_000_000 == 0 {
        format!("{}M", n / 1_000_000)
    } else if n % 1000 == 0 {
        format!("{}k", n / 1000)
    } else {
        n.to_string()
    }
}

/// Runs `batch(i)` for batches 0, 1, … (wrapping after `batches`) as criterion asks and
/// returns the sum of the durations it reports: each call refills the arena first,
/// untimed, then times its own part.
fn timed_batches(
    b: &mut criterion::Bencher<'_>,
    batches: usize,
    mut batch: impl FnMut(usize) -> Duration,
) {
    let mut next = 0;
    b.iter_custom(|iters| {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            total += batch(next);
            next = (next + 1) % batches;
        }
        total
    });
}

fn bench_group(
    c: &mut Criterion,
    records: usize,
    sw: &mut Switch<Tables>,
    base: &StdSwitch,
    w: &Workload,
) {
    check_same(sw, base, w);
    let batches = w.count() / BATCH;
    let ports = |i: usize| &w.from[i * BATCH..(i + 1) * BATCH];
    let mut arena = vec![0u8; BATCH * STRIDE];
    let name = format!("switch/{}/{}", w.path, label(records));
    let flows_before = (
        sw.stats().flow_hits,
        sw.stats().flow_misses,
        sw.stats().flow_bypassed,
    );
    let routed_before = (
        sw.stats().routed_hits,
        sw.stats().routed_misses,
        sw.stats().routed_bypassed,
    );
    let mut g: BenchmarkGroup<'_, WallTime> = c.benchmark_group(&name);
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("hnv", |b| {
        timed_batches(b, batches, |i| {
            w.refill(&mut arena, i);
            let start = Instant::now();
            hnv_batch(sw, &mut arena, w.len, ports(i));
            start.elapsed()
        });
    });
    if w.path.starts_with("encap_egress") {
        bench_parts(&mut g, sw, w, &mut arena);
        bench_port_batches(&mut g, sw, w, &mut arena);
    }
    g.bench_function("std_hashmap+etherparse", |b| {
        timed_batches(b, batches, |i| {
            w.refill(&mut arena, i);
            let start = Instant::now();
            std_batch(base, &mut arena, w.len, ports(i));
            start.elapsed()
        });
    });
    g.finish();
    // How the switch's caches fared on this stream (all hnv rows together).
    let s = sw.stats();
    report_cache(
        &format!("{name}: flow cache"),
        (
            s.flow_hits - flows_before.0,
            s.flow_misses - flows_before.1,
            s.flow_bypassed - flows_before.2,
        ),
    );
    report_cache(
        &format!("{name}: routed-flow cache"),
        (
            s.routed_hits - routed_before.0,
            s.routed_misses - routed_before.1,
            s.routed_bypassed - routed_before.2,
        ),
    );
    let distinct = |field: std::ops::Range<usize>| {
        (0..w.count())
            .map(|i| (w.from[i], w.frame(i).get(field.clone())))
            .collect::<std::collections::HashSet<_>>()
            .len()
    };
    eprintln!(
        "{name}: the stream has {} distinct (port, destination MAC) and {} distinct \
         (port, IPv4 destination) pairs",
        distinct(0..6),
        distinct(30..34)
    );
}

/// Prints how one of the switch's caches fared on a group's stream (all hnv rows
/// together): hits among lookups, and frames decided while it was set aside.
fn report_cache(what: &str, (hits, misses, bypassed): (u64, u64, u64)) {
    let frames = hits + misses + bypassed;
    #[allow(clippy::cast_precision_loss)] // percentages for people to read
    if frames > 0 {
        eprintln!(
            "{what}: hit {:.1} % of {} lookups; {:.1} % of {frames} frames decided \
             without it (set aside)",
            100.0 * hits as f64 / (hits + misses).max(1) as f64,
            hits + misses,
            100.0 * bypassed as f64 / frames as f64,
        );
    }
}

/// The two halves of the `hnv` row, for the encap group: `Switch::decide_port` alone
/// (reads the frame and the tables, writes nothing), and `Switch::act` alone on decisions
/// made before the timer starts (the encapsulation).
fn bench_parts(
    g: &mut BenchmarkGroup<'_, WallTime>,
    sw: &mut Switch<Tables>,
    w: &Workload,
    arena: &mut [u8],
) {
    let batches = w.count() / BATCH;
    let ports = |i: usize| &w.from[i * BATCH..(i + 1) * BATCH];
    g.bench_function("hnv_decide_port", |b| {
        timed_batches(b, batches, |i| {
            w.refill(arena, i);
            let start = Instant::now();
            for (slot, p) in arena.chunks_exact(STRIDE).zip(ports(i)) {
                let port = p.expect("from a port");
                let frame = &slot[HEADROOM..HEADROOM + w.len];
                black_box(&sw.decide_port(port, frame, &mut ()));
            }
            start.elapsed()
        });
    });
    let mut actions = Vec::with_capacity(BATCH);
    g.bench_function("hnv_act", |b| {
        timed_batches(b, batches, |i| {
            w.refill(arena, i);
            actions.clear();
            for (slot, p) in arena.chunks_exact(STRIDE).zip(ports(i)) {
                let port = p.expect("from a port");
                let frame = &slot[HEADROOM..HEADROOM + w.len];
                actions.push(sw.decide_port(port, frame, &mut ()));
            }
            let start = Instant::now();
            for (slot, action) in arena.chunks_exact_mut(STRIDE).zip(&actions) {
                let mut fb = FrameBuf::new(slot, HEADROOM, w.len).expect("slot holds the frame");
                black_box(sw.act(&mut fb, action));
            }
            start.elapsed()
        });
    });
}

/// `hnv_port_batch`: the same frames as the `hnv` row, but each batch reordered by ingress
/// port (untimed) and handed to `Switch::from_port_batch` one port's run at a time, as an
/// AF_XDP or TAP port delivers them: the batch form overlaps the destination records'
/// cache misses. Part of the hnv side, not a baseline.
fn bench_port_batches(
    g: &mut BenchmarkGroup<'_, WallTime>,
    sw: &mut Switch<Tables>,
    w: &Workload,
    arena: &mut [u8],
) {
    let batches = w.count() / BATCH;
    let mut verdicts = vec![Verdict::Consumed; BATCH];
    g.bench_function("hnv_port_batch", |b| {
        timed_batches(b, batches, |i| {
            let from = &w.from[i * BATCH..(i + 1) * BATCH];
            w.refill(arena, i);
            // Untimed: frames ordered by port, one `FrameBuf` each.
            let mut order: Vec<usize> = (0..BATCH).collect();
            order.sort_by_key(|&k| from[k].map(|p| p.0));
            let mut slots: Vec<Option<&mut [u8]>> =
                arena.chunks_exact_mut(STRIDE).map(Some).collect();
            let mut bufs: Vec<FrameBuf<'_>> = order
                .iter()
                .map(|&k| {
                    let slot = slots[k].take().expect("each slot once");
                    FrameBuf::new(slot, HEADROOM, w.len).expect("slot holds the frame")
                })
                .collect();
            let ports: Vec<PortId> = order
                .iter()
                .map(|&k| from[k].expect("from a port"))
                .collect();
            let start = Instant::now();
            let mut j = 0;
            while j < BATCH {
                let port = ports[j];
                let end = ports[j..]
                    .iter()
                    .position(|&p| p != port)
                    .map_or(BATCH, |n| j + n);
                sw.from_port_batch(port, &mut bufs[j..end], &mut verdicts[j..end], &mut ());
                j = end;
            }
            let took = start.elapsed();
            assert!(
                verdicts.iter().all(|v| *v == Verdict::ToWire),
                "every frame encapsulated"
            );
            took
        });
    });
}

/// Builds the fabric for `records` lookup records, then runs every group on it.
fn switch_benches_for(c: &mut Criterion, records: usize) {
    let t0 = Instant::now();
    let p = policy(records);
    let t1 = Instant::now();
    // The record arrays in transparent huge pages, as a host with large tables would ask
    // (`Tables::compile_advised`).
    let tables =
        Tables::compile_advised(&p, HOST, hnv_benches::advise_huge_pages).expect("policy compiles");
    let t2 = Instant::now();
    let base = StdSwitch::new(&p, &tables);
    let scope = Scope::new(&tables);
    let kept = tables.records().len();
    drop(p);
    let mut sw = Switch::new(tables);
    eprintln!(
        "switch/{}: policy {:.2?}, Tables::compile {:.2?} ({kept} records kept by {HOST}), \
         baseline maps and frame scope {:.2?}; {} remote Encap, {} remote Nat records",
        label(records),
        t1 - t0,
        t2 - t1,
        t2.elapsed(),
        scope.remote_encap.len(),
        scope.remote_nat.len(),
    );
    let mut rng = Rng(0x5317_c400 ^ records as u64);
    let builders: [fn(&Scope, &mut Rng) -> Workload; 8] = [
        local_switch,
        routed_local,
        encap_egress,
        encap_routed,
        decap_ingress,
        rewrite_egress,
        rewrite_ingress,
        arp_proxy,
    ];
    for build in builders {
        let w = build(&scope, &mut rng);
        bench_group(c, records, &mut sw, &base, &w);
    }
    for reuse in reuse_counts() {
        if let Some(w) = encap_egress_reuse(&scope, &mut rng, reuse) {
            bench_group(c, records, &mut sw, &base, &w);
        }
    }
    let drops = sw.stats().total_drops();
    assert_eq!(drops, 0, "no frame was dropped");
}

fn switch_benches(c: &mut Criterion) {
    for records in record_counts() {
        switch_benches_for(c, records);
    }
}

/// The table sizes to measure: `HNV_BENCH_RECORDS` (comma-separated record counts, e.g.
/// `20000` to run every group on a 20k-record table alone), else 1k and 1M.
fn record_counts() -> Vec<usize> {
    let Ok(list) = std::env::var("HNV_BENCH_RECORDS") else {
        return vec![1_000, 1_000_000];
    };
    list.split(',')
        .map(|n| match n.trim().parse() {
            Ok(n) if n >= 1_000 => n,
            _ => panic!("HNV_BENCH_RECORDS: {n:?} is not a record count of 1000 or more"),
        })
        .collect()
}

criterion_group!(benches, switch_benches);
criterion_main!(benches);
