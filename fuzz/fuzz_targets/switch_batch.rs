//! `Switch::from_port_batch` against one `Switch::from_port` call per frame, on HostA of
//! `docs/examples/seed-policy.json` with 20,000 more Encap records of VSID 5001 (on
//! HostB's PA): a table large enough for the batch to look records up ahead. Each input
//! gets two switches that have both decided the same stream of frames to distinct
//! destinations (one trial of the flow cache, which sets it aside; made once per port and
//! cloned): the batch then decides its usual frames (IPv4 from the port to a remote Encap
//! record) in one step, and every other frame in full.
//!
//! Invariants checked for every frame of the input: no panic; the batch gives the same
//! verdict as the single call and leaves the same bytes in the whole buffer (headroom,
//! frame and tail). After all frames: the same events, and the same counters.
//!
//! Input layout: byte 0 selects the port (modulo the port count), byte 1 the headroom
//! (`common::headroom`); then frames, each a mode byte, a length byte (cut to what is
//! there) and the frame. Mode bits 0..=2 are `common::fix_up`'s; bit 3 makes the frame a
//! usual one before the fix-ups: its first two bytes pick one of the 20,000 records, whose
//! MAC becomes the destination, the port's MAC the source, IPv4 the type, and, when the
//! frame holds an IPv4 header, the port's CA and the record's CA its addresses; bit 4
//! keeps the frame's own source MAC, bit 5 its own IPv4 source.
#![no_main]

#[path = "common/switch.rs"]
mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::OnceLock;

use hnv_core::buf::{FrameBuf, PacketBuf};
use hnv_core::ids::MacAddr;
use hnv_core::policy::{file, LookupTable, RecordType, Rule, Tables};
use hnv_core::switch::{Event, EventSink, PortId, Switch, Verdict, FLOW_TRIAL};
use libfuzzer_sys::fuzz_target;

const SEED: &str = include_str!("../../docs/examples/seed-policy.json");
const EXTRA: u32 = 20_000;
const MAX_FRAMES: usize = 64;

/// Record `i` of the extra ones: its MAC and CA.
fn extra(i: u32) -> (MacAddr, Ipv4Addr) {
    let [_, hi, mid, lo] = i.to_be_bytes();
    let mac = MacAddr([0x02, 0x99, 0, hi, mid, lo]);
    let ca = Ipv4Addr::new(10, 9, (i / 250) as u8, (1 + i % 250) as u8);
    (mac, ca)
}

fn host_a() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut policy = file::from_json(SEED).expect("the seed policy loads");
        // Contoso1's record (Static, Encap, VSID 5001) moved to HostB's PA, once per MAC.
        let mut bulk = policy.lookup_records[0].clone();
        assert_eq!((bulk.rule, bulk.record_type), (Rule::Encap, RecordType::Static));
        bulk.provider_address = IpAddr::V4(Ipv4Addr::new(192, 168, 4, 22));
        bulk.vm_name = String::new();
        for i in 0..EXTRA {
            let (mac, ca) = extra(i);
            bulk.customer_address = IpAddr::V4(ca);
            bulk.mac_address = mac;
            policy.lookup_records.push(bulk.clone());
        }
        let t = Tables::compile(&policy, "HostA").expect("the policy compiles");
        assert!(t.looks_ahead(), "a table the batch looks records up ahead in");
        t
    })
}

/// Every event, in order.
#[derive(Default)]
struct Events(Vec<Event>);

impl EventSink for Events {
    fn event(&mut self, event: Event) {
        self.0.push(event);
    }
}

type Sw = Switch<common::Host>;

/// The port's MAC and, when its own record has one, its IPv4 CA.
fn port_addrs(t: &Tables, port: PortId) -> (MacAddr, Option<Ipv4Addr>) {
    let entry = &t.ports()[port.index()];
    let ca = entry
        .vsid
        .and_then(|v| t.by_mac(v, entry.mac))
        .and_then(|r| match r.ca {
            IpAddr::V4(a) => Some(a),
            IpAddr::V6(_) => None,
        });
    (entry.mac, ca)
}

/// A UDP frame from the port to extra record `i` (for the flow cache's trial).
fn to_extra(mac: MacAddr, ca: Option<Ipv4Addr>, i: u32) -> Vec<u8> {
    let mut f = vec![0u8; 14 + 20 + 8 + 4];
    usual(&mut f, 0, (mac, ca), i);
    f[14 + 9] = 17;
    common::fix_up(&mut f, 7);
    f
}

/// Makes `frame` a usual one (mode bit 3), with the frame's own source MAC (`mode` bit 4)
/// or IPv4 source (bit 5) left as they are: see the module documentation.
fn usual(frame: &mut [u8], mode: u8, (mac, ca): (MacAddr, Option<Ipv4Addr>), i: u32) {
    let (dst, dst_ca) = extra(i % EXTRA);
    if frame.len() < 14 {
        return;
    }
    frame[..6].copy_from_slice(&dst.0);
    if mode & 0x10 == 0 {
        frame[6..12].copy_from_slice(&mac.0);
    }
    frame[12..14].copy_from_slice(&[0x08, 0x00]);
    if frame.len() >= 34 {
        frame[14] = 0x45;
        if let (Some(ca), 0) = (ca, mode & 0x20) {
            frame[26..30].copy_from_slice(&ca.octets());
        }
        frame[30..34].copy_from_slice(&dst_ca.octets());
    }
}

/// Two switches that have decided the same stream of frames from `port` to distinct
/// destinations, one call per frame and in one batch (one trial of the flow cache, which
/// sets it aside), checked to agree; made once per port, cloned for every input.
fn warmed(port: PortId) -> &'static (Sw, Sw) {
    static WARMED: OnceLock<Vec<(Sw, Sw)>> = OnceLock::new();
    let all = WARMED.get_or_init(|| {
        let t = host_a();
        (0..t.ports().len())
            .map(|p| {
                let port = PortId(u16::try_from(p).expect("port id"));
                let (mac, ca) = port_addrs(t, port);
                let mut single = Switch::new(common::Host(t));
                let mut batch = single.clone();
                let (mut ev_single, mut ev_batch) = (Events::default(), Events::default());
                let mut mems: Vec<Vec<u8>> = (0..FLOW_TRIAL)
                    .map(|i| [vec![0u8; 64], to_extra(mac, ca, i * 7)].concat())
                    .collect();
                let mut singles = Vec::new();
                for m in &mems {
                    let mut m = m.clone();
                    let len = m.len() - 64;
                    let mut fb = FrameBuf::new(&mut m, 64, len).expect("frame in bounds");
                    singles.push(single.from_port(port, &mut fb, &mut ev_single));
                }
                let mut bufs: Vec<FrameBuf<'_>> = mems
                    .iter_mut()
                    .map(|m| {
                        let len = m.len() - 64;
                        FrameBuf::new(m, 64, len).expect("frame in bounds")
                    })
                    .collect();
                let mut verdicts = vec![Verdict::Consumed; bufs.len()];
                batch.from_port_batch(port, &mut bufs, &mut verdicts, &mut ev_batch);
                assert_eq!(verdicts, singles, "the trial's verdicts");
                assert_eq!(ev_batch.0, ev_single.0, "the trial's events");
                assert_eq!(
                    format!("{:?}", single.stats()),
                    format!("{:?}", batch.stats()),
                    "the trial's counters"
                );
                (single, batch)
            })
            .collect()
    });
    &all[port.index()]
}

fuzz_target!(|input: &[u8]| {
    let [sel, room, frames_in @ ..] = input else {
        return;
    };
    let mut rest = frames_in;
    let t = host_a();
    let port = PortId(u16::from(*sel) % t.ports().len() as u16);
    let headroom = common::headroom(*room);
    let (mac, ca) = port_addrs(t, port);
    let mut frames = Vec::new();
    while let [mode, len, more @ ..] = rest {
        if frames.len() == MAX_FRAMES {
            break;
        }
        let (frame, next) = more.split_at(usize::from(*len).min(more.len()));
        let mut bytes = frame.to_vec();
        if mode & 8 != 0 {
            let pick = u32::from(u16::from_be_bytes([
                bytes.first().copied().unwrap_or(0),
                bytes.get(1).copied().unwrap_or(0),
            ]));
            usual(&mut bytes, *mode, (mac, ca), pick);
        }
        common::fix_up(&mut bytes, *mode);
        frames.push(bytes);
        rest = next;
    }
    if frames.is_empty() {
        return;
    }
    let (mut single, mut batch) = warmed(port).clone();
    let (mut ev_single, mut ev_batch) = (Events::default(), Events::default());

    let mut expected = Vec::new();
    for f in &frames {
        let mut frame = common::Frame::new(f, headroom);
        let verdict = frame.run(|b| single.from_port(port, b, &mut ev_single));
        expected.push((verdict, frame.mem, frame.off, frame.len));
    }
    let mut mems: Vec<common::Frame> = frames
        .iter()
        .map(|f| common::Frame::new(f, headroom))
        .collect();
    let mut bufs: Vec<FrameBuf<'_>> = mems
        .iter_mut()
        .map(|m| FrameBuf::new(&mut m.mem, m.off, m.len).expect("frame in bounds"))
        .collect();
    let mut verdicts = vec![Verdict::Consumed; bufs.len()];
    batch.from_port_batch(port, &mut bufs, &mut verdicts, &mut ev_batch);
    let places: Vec<(usize, usize)> = bufs.iter().map(|b| (b.offset(), b.len())).collect();
    drop(bufs);
    for (k, (want, got)) in expected.iter().zip(verdicts.iter().zip(&mems)).enumerate() {
        let (verdict, mem, off, len) = want;
        assert_eq!(got.0, verdict, "frame {k}: verdict");
        assert_eq!(places[k], (*off, *len), "frame {k}: where the frame lies");
        assert!(got.1.mem == *mem, "frame {k}: buffer bytes");
    }
    assert_eq!(ev_batch.0, ev_single.0, "events");
    assert_eq!(
        format!("{:?}", batch.stats()),
        format!("{:?}", single.stats()),
        "counters"
    );
});
