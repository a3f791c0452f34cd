//! The switch allocates nothing per packet.
//!
//! The seed fabric carries a mix of traffic (local, routed, encapsulated, IP rewrite, ARP
//! proxy, ICMP too big, provider ARP and ping to a PA, a miss, junk from the wire); every
//! frame that entered a switch is then replayed through fresh switches — single and batch
//! entry points, flood replication included — with a counting global allocator switched
//! on around the calls. Buffers and sinks are made before counting starts.
#![allow(unsafe_code)] // the counting allocator: a GlobalAlloc impl forwarding to System

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::BTreeSet;
use std::net::IpAddr;

use common::{seed_fabric, SEED};
use hnv_core::buf::{FrameBuf, PacketBuf};
use hnv_core::ids::MacAddr;
use hnv_core::policy::{file, LookupTable, Policy, Tables};
use hnv_core::switch::{Event, EventSink, PortId, Switch, Verdict};
use hnv_core::table::fixed::FixedTables;
use hnv_sim::fabric::{Direction, Fabric, Link, HEADROOM};

/// Counts allocations made by the current thread while [`COUNTING`] is on.
struct Counting;

thread_local! {
    // Per thread: the tests run in parallel, each counting only its own calls.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn note() {
    // `try_with`: thread-local storage may already be gone while a thread exits.
    if COUNTING.try_with(Cell::get).unwrap_or(false) {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// allocator contract is `System`'s; counting touches only const-initialised thread-local
// `Cell`s, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded unchanged (see the impl).
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded unchanged (see the impl).
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: forwarded unchanged (see the impl).
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged (see the impl).
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by `f` on this thread.
fn allocations_in<R>(f: impl FnOnce() -> R) -> (usize, R) {
    let before = ALLOCATIONS.with(Cell::get);
    COUNTING.with(|c| c.set(true));
    let r = f();
    COUNTING.with(|c| c.set(false));
    (ALLOCATIONS.with(Cell::get) - before, r)
}

/// Counts events in place (the `Vec` sink would allocate).
#[derive(Default)]
struct CountingSink {
    events: usize,
}

impl EventSink for CountingSink {
    fn event(&mut self, _: Event) {
        self.events += 1;
    }
}

/// Every frame that entered a switch: (host, `Some(port)` or `None` for the uplink, bytes).
type Entry = (String, Option<String>, Vec<u8>);

fn traffic() -> Vec<Entry> {
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    let mut f: Fabric = seed_fabric(SEED);
    f.send_ping("Contoso1", ip("10.0.0.6"), 1).unwrap(); // fig. 1-7
    f.send_ping("Contoso1", ip("10.0.1.6"), 2).unwrap(); // fig. 1-8
    f.send_udp("Contoso1", ip("10.0.0.7"), 4000, 7, b"fig 1-9")
        .unwrap();
    f.send_ping("Contoso1", ip("10.0.1.7"), 3).unwrap(); // fig. 1-11
    f.send_ping("Fabrikam1", ip("10.0.0.7"), 4).unwrap(); // IP rewrite
    f.send_ping("Contoso1", ip("10.0.0.99"), 5).unwrap(); // no record
    f.run();
    // Too big once encapsulated: ICMP Fragmentation Needed back to the VM.
    f.with_vm("Contoso1", |vm| {
        vm.set_mtu(9000);
        vm.send_udp(ip("10.0.0.7"), 4000, 7, &[0x5a; 2000])
    })
    .unwrap();
    // The provider side: ARP for a PA, ping to a PA, and junk.
    let arp_for_pa = {
        let mut a = vec![0xff; 6];
        a.extend_from_slice(&[0x02, 0, 0, 0, 0x0b, 0x01, 0x08, 0x06]);
        a.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
        a.extend_from_slice(&[0x02, 0, 0, 0, 0x0b, 0x01, 192, 168, 4, 22]);
        a.extend_from_slice(&[0; 6]);
        a.extend_from_slice(&[192, 168, 4, 11]);
        a.resize(60, 0);
        a
    };
    f.inject_wire("HostA", arp_for_pa).unwrap();
    f.inject_wire("HostA", vec![0x42; 90]).unwrap();
    f.run();
    f.links()
        .iter()
        .filter(|r| r.dir == Direction::In)
        .filter_map(|r| match &r.link {
            Link::Port { host, port } => Some((host.clone(), Some(port.clone()), r.frame.clone())),
            Link::Uplink { host } => Some((host.clone(), None, r.frame.clone())),
            Link::Router => None,
        })
        .collect()
}

fn switches() -> Vec<(String, Switch<Tables>)> {
    switches_of(&file::from_json(SEED).unwrap())
}

/// The seed fabric's switches with 20,000 more records (Contoso1's VSID, other MACs): tables
/// large enough for `from_port_batch` to look each frame's record up ahead.
fn large_switches() -> Vec<(String, Switch<Tables>)> {
    let mut policy = file::from_json(SEED).unwrap();
    let mut bulk = policy.lookup_records[0].clone();
    for i in 0..20_000u32 {
        let [_, b, c, d] = i.to_be_bytes();
        bulk.customer_address = IpAddr::from([10, 9, b ^ c, d]);
        bulk.mac_address = MacAddr([2, 0x99, 0, b, c, d]);
        policy.lookup_records.push(bulk.clone());
    }
    let sws = switches_of(&policy);
    assert!(sws.iter().all(|(_, sw)| sw.tables().looks_ahead()));
    sws
}

fn switches_of(policy: &Policy) -> Vec<(String, Switch<Tables>)> {
    ["HostA", "HostB"]
        .iter()
        .map(|h| {
            (
                h.to_string(),
                Switch::new(Tables::compile(policy, h).unwrap()),
            )
        })
        .collect()
}

fn port_id(sw: &Switch<Tables>, name: &str) -> PortId {
    let i = sw
        .tables()
        .ports()
        .iter()
        .position(|p| p.name == name)
        .unwrap();
    PortId(u16::try_from(i).unwrap())
}

/// A buffer holding `frame` after [`HEADROOM`] bytes, with room to spare.
fn buffer(frame: &[u8]) -> Vec<u8> {
    let mut mem = vec![0; HEADROOM + frame.len() + 64];
    mem[HEADROOM..HEADROOM + frame.len()].copy_from_slice(frame);
    mem
}

/// A `FrameBuf` over each of `mems` (made by [`buffer`]) holding the frame of `frames`
/// at the same place.
fn frame_bufs<'m>(mems: &'m mut [Vec<u8>], frames: &[impl AsRef<[u8]>]) -> Vec<FrameBuf<'m>> {
    mems.iter_mut()
        .zip(frames)
        .map(|(m, f)| FrameBuf::new(m, HEADROOM, f.as_ref().len()).unwrap())
        .collect()
}

/// What a verdict is, for coverage.
fn kind(v: Verdict) -> &'static str {
    match v {
        Verdict::ToPort(_) => "to-port",
        Verdict::ToWire => "to-wire",
        Verdict::Reply => "reply",
        Verdict::Flood(_) => "flood",
        Verdict::Consumed => "consumed",
        Verdict::Drop(_) => "drop",
    }
}

/// Executes a flood's replication into `scratch` (local copies are only counted).
fn replicate(
    sw: &mut Switch<Tables>,
    verdict: Verdict,
    frame: &[u8],
    src_port: Option<PortId>,
    scratch: &mut [u8],
    sink: &mut CountingSink,
) -> usize {
    let Verdict::Flood(flood) = verdict else {
        return 0;
    };
    let mut copies = sw.flood_ports(&flood).count();
    let src_mac = src_port
        .and_then(|p| sw.tables().ports().get(p.index()).map(|e| e.mac))
        .unwrap_or(hnv_core::ids::MacAddr([0; 6]));
    let pas: [Option<IpAddr>; 8] = {
        let mut out = [None; 8];
        for (slot, pa) in out.iter_mut().zip(sw.flood_pas(&flood)) {
            *slot = Some(pa);
        }
        out
    };
    for pa in pas.into_iter().flatten() {
        scratch[HEADROOM..HEADROOM + frame.len()].copy_from_slice(frame);
        let mut copy = FrameBuf::new(scratch, HEADROOM, frame.len()).unwrap();
        if sw.encap_copy(&mut copy, flood.vsid, src_mac, pa, sink) == Verdict::ToWire {
            copies += 1;
        }
    }
    copies
}

#[test]
fn the_counter_counts() {
    let (n, v) = allocations_in(|| vec![1u8; 100]);
    assert_eq!((n, v.len()), (1, 100));
    let (n, ()) = allocations_in(|| ());
    assert_eq!(n, 0);
}

#[test]
fn single_frames_allocate_nothing() {
    let entries = traffic();
    let mut sws = switches();
    let mut buffers: Vec<Vec<u8>> = entries.iter().map(|(_, _, f)| buffer(f)).collect();
    let mut scratch = vec![0u8; 16 * 1024];
    let mut sink = CountingSink::default();
    let mut kinds = BTreeSet::new();
    let mut copies = 0;
    for ((host, port, frame), mem) in entries.iter().zip(&mut buffers) {
        let sw = &mut sws.iter_mut().find(|(h, _)| h == host).unwrap().1;
        let port = port.as_deref().map(|p| port_id(sw, p));
        let (n, verdict) = allocations_in(|| {
            let mut buf = FrameBuf::new(mem, HEADROOM, frame.len()).unwrap();
            let verdict = match port {
                Some(p) => sw.from_port(p, &mut buf, &mut sink),
                None => sw.from_wire(&mut buf, &mut sink),
            };
            let (off, len) = (buf.offset(), buf.len());
            let processed = &mem[off..off + len];
            copies += replicate(sw, verdict, processed, port, &mut scratch, &mut sink);
            verdict
        });
        assert_eq!(n, 0, "{host} {port:?}: {verdict:?} allocated");
        kinds.insert(kind(verdict));
    }
    assert!(
        ["to-port", "to-wire", "reply", "flood", "drop"]
            .iter()
            .all(|k| kinds.contains(k)),
        "the traffic did not reach every verdict: {kinds:?}"
    );
    assert!(copies > 0, "no flood was replicated");
    assert!(sink.events > 0, "no event was raised");
}

#[test]
fn batches_allocate_nothing() {
    batches_allocate_nothing_over(switches);
}

/// The same over tables large enough for batches to look records up ahead.
#[test]
fn batches_over_large_tables_allocate_nothing() {
    batches_allocate_nothing_over(large_switches);
}

fn batches_allocate_nothing_over(switches: fn() -> Vec<(String, Switch<Tables>)>) {
    let entries = traffic();
    let mut sws = switches();
    let mut singles = switches();
    let mut sink = CountingSink::default();
    let mut handled = 0;
    // One batch per ingress (host, port or uplink), in the order the frames came.
    let mut ingresses: Vec<(&str, Option<&str>)> = Vec::new();
    for (h, p, _) in &entries {
        if !ingresses.contains(&(h.as_str(), p.as_deref())) {
            ingresses.push((h.as_str(), p.as_deref()));
        }
    }
    for (host, port) in ingresses {
        let frames: Vec<&[u8]> = entries
            .iter()
            .filter(|(h, p, _)| h == host && p.as_deref() == port)
            .map(|(_, _, f)| f.as_slice())
            .collect();
        let mut mems: Vec<Vec<u8>> = frames.iter().map(|f| buffer(f)).collect();
        let mut bufs = frame_bufs(&mut mems, &frames);
        let mut verdicts = vec![Verdict::Consumed; bufs.len()];
        let sw = &mut sws.iter_mut().find(|(h, _)| h == host).unwrap().1;
        let port = port.map(|p| port_id(sw, p));
        let (n, ()) = allocations_in(|| match port {
            Some(p) => sw.from_port_batch(p, &mut bufs, &mut verdicts, &mut sink),
            None => sw.from_wire_batch(&mut bufs, &mut verdicts, &mut sink),
        });
        assert_eq!(n, 0, "{host} {port:?}: a batch of {} allocated", bufs.len());
        handled += verdicts.len();
        // The batch decided what one call per frame decides (on a switch of its own with
        // the same history: batches run per ingress, in arrival order).
        let single = &mut singles.iter_mut().find(|(h, _)| h == host).unwrap().1;
        for (f, v) in frames.iter().zip(&verdicts) {
            let mut mem = buffer(f);
            let mut buf = FrameBuf::new(&mut mem, HEADROOM, f.len()).unwrap();
            let one = match port {
                Some(p) => single.from_port(p, &mut buf, &mut sink),
                None => single.from_wire(&mut buf, &mut sink),
            };
            assert_eq!(one, *v, "{host} {port:?}");
        }
    }
    assert_eq!(handled, entries.len());
}

/// UDP over IPv4 from HostB's Contoso2 (its MAC and CA) to bulk record `i` of
/// [`large_switches`] (a remote Encap record for HostB), header checksum filled in.
fn contoso2_to_bulk(record: u32) -> Vec<u8> {
    let [_, hi, mid, lo] = record.to_be_bytes();
    let mut frame = Vec::new();
    frame.extend_from_slice(&[2, 0x99, 0, hi, mid, lo]);
    frame.extend_from_slice(&[0x00, 0x15, 0x5d, 0, 0, 0x02, 0x08, 0x00]);
    frame.extend_from_slice(&[0x45, 0, 0, 30, 0, 0, 0x40, 0, 64, 17, 0, 0]);
    frame.extend_from_slice(&[10, 0, 0, 7, 10, 9, hi ^ mid, lo]);
    frame.extend_from_slice(&[0x9c, 0x40, 0, 7, 0, 10, 0, 0, b'h', b'i']);
    let sum = hnv_core::wire::checksum::of(&frame[14..34]);
    frame[24..26].copy_from_slice(&sum.to_be_bytes());
    frame
}

/// Once the flow cache is set aside (a trial of frames to distinct destinations), a batch
/// decides its usual frames in one step: that path allocates nothing either, and gives
/// each frame what one call per frame gives it.
#[test]
fn usual_frames_with_the_flow_cache_aside_allocate_nothing() {
    use hnv_core::switch::FLOW_TRIAL;
    let (mut sws, mut singles) = (large_switches(), large_switches());
    let sw = &mut sws.iter_mut().find(|(h, _)| h == "HostB").unwrap().1;
    let single = &mut singles.iter_mut().find(|(h, _)| h == "HostB").unwrap().1;
    let port = port_id(sw, "Contoso2");
    let mut sink = CountingSink::default();
    let frames: Vec<Vec<u8>> = (0..2 * FLOW_TRIAL)
        .map(|i| contoso2_to_bulk(i * 3 % 20_000))
        .collect();
    let mut mems: Vec<Vec<u8>> = frames.iter().map(|f| buffer(f)).collect();
    let mut bufs = frame_bufs(&mut mems, &frames);
    let mut verdicts = vec![Verdict::Consumed; bufs.len()];
    let (trial, usual) = bufs.split_at_mut(FLOW_TRIAL as usize);
    let (trial_v, usual_v) = verdicts.split_at_mut(FLOW_TRIAL as usize);
    sw.from_port_batch(port, trial, trial_v, &mut sink);
    let bypassed = sw.stats().flow_bypassed;
    let (n, ()) = allocations_in(|| sw.from_port_batch(port, usual, usual_v, &mut sink));
    assert_eq!(n, 0, "a batch of {} usual frames allocated", usual.len());
    assert_eq!(
        sw.stats().flow_bypassed - bypassed,
        u64::from(FLOW_TRIAL),
        "every frame of the second batch passed the set-aside cache"
    );
    assert!(verdicts.iter().all(|v| *v == Verdict::ToWire));
    for (k, (f, b)) in frames.iter().zip(&bufs).enumerate() {
        let mut mem = buffer(f);
        let mut buf = FrameBuf::new(&mut mem, HEADROOM, f.len()).unwrap();
        assert_eq!(single.from_port(port, &mut buf, &mut sink), verdicts[k]);
        assert_eq!(buf.data(), b.data(), "frame {k}");
    }
}

/// Fixed-capacity tables big enough for the seed (records, subnets, domains, routes, PAs).
type SeedFixed = FixedTables<64, 16, 4, 16, 8>;

/// A switch over [`FixedTables`] — what firmware without an allocator runs — decides
/// every frame as the switch over `Tables` does, with the same bytes out, and allocates
/// nothing either.
#[test]
fn fixed_tables_switch_agrees_and_allocates_nothing() {
    let entries = traffic();
    let policy = file::from_json(SEED).unwrap();
    let mut grow = switches();
    let mut fixed: Vec<(String, Switch<SeedFixed>)> = ["HostA", "HostB"]
        .iter()
        .map(|h| {
            (
                h.to_string(),
                Switch::new(SeedFixed::compile(&policy, h).unwrap()),
            )
        })
        .collect();
    let mut sink = CountingSink::default();
    let mut kinds = BTreeSet::new();
    for (host, port, frame) in &entries {
        let g = &mut grow.iter_mut().find(|(h, _)| h == host).unwrap().1;
        let f = &mut fixed.iter_mut().find(|(h, _)| h == host).unwrap().1;
        let port = port.as_deref().map(|p| port_id(g, p));
        let mut mem_g = buffer(frame);
        let mut mem_f = buffer(frame);
        let mut buf_g = FrameBuf::new(&mut mem_g, HEADROOM, frame.len()).unwrap();
        let mut buf_f = FrameBuf::new(&mut mem_f, HEADROOM, frame.len()).unwrap();
        let expected = match port {
            Some(p) => g.from_port(p, &mut buf_g, &mut sink),
            None => g.from_wire(&mut buf_g, &mut sink),
        };
        let (n, verdict) = allocations_in(|| match port {
            Some(p) => f.from_port(p, &mut buf_f, &mut sink),
            None => f.from_wire(&mut buf_f, &mut sink),
        });
        assert_eq!(n, 0, "{host} {port:?}: {verdict:?} allocated");
        assert_eq!(verdict, expected, "{host} {port:?}");
        assert_eq!(buf_f.data(), buf_g.data(), "{host} {port:?}: {verdict:?}");
        kinds.insert(kind(verdict));
    }
    assert!(kinds.len() >= 5, "{kinds:?}");
}
