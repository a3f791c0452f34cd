//! `Switch::from_wire` on the hosts of `docs/examples/seed-policy.json`: arbitrary frames
//! from the provider network (NVGRE or not), one or two per input on the same fresh
//! switch, in a buffer with full or short headroom.
//!
//! Invariants checked for every frame:
//! * no panic; the resulting frame lies inside the buffer and no byte outside it changed;
//! * exactly one counter moves: `Drop(r)` adds one to `stats().dropped(r)` (and to the
//!   total), any other verdict one to its own counter; `wire_rx` moves by one, no port's
//!   rx counter moves; the counters of the VSID of an NVGRE frame for an own PA move by
//!   one;
//! * the decision traced as `Step::Action` agrees with the verdict (`Forward(v)` gives `v`
//!   and leaves the frame alone, `Drop(r)` gives `Drop(r)`); a `Drop` leaves the buffer
//!   exactly as it was; nothing from the wire is sent back as `ToWire`;
//! * `ToPort(p)` after a decapsulation: the frame was valid NVGRE (`nvgre::inspect`) for
//!   an own PA and a VSID of the host (the one traced in `Step::Wire`), what is delivered
//!   is exactly its inner frame, in place, untagged, addressed to the MAC of `p`, an
//!   existing port on that VSID; after an IP rewrite: a non-GRE packet from one Nat PA to
//!   an own Nat PA of the same routing domain, now between the two records' CAs, from the
//!   gateway MAC to the MAC of `p` (the destination record's port), untagged, only
//!   addresses and checksums changed and valid checksums kept valid;
//! * `Flood`: the inner frame of valid NVGRE for an own PA, multicast, for the NVGRE VSID,
//!   no port excepted, no copy to other hosts; the local replication as in
//!   `common::check_flood`;
//! * `Reply`: parseable Ethernet back to the sender's MAC from the uplink MAC, tag and type
//!   kept: an ARP reply saying the requested own PA is at the uplink MAC, or an ICMP echo
//!   reply from the pinged own PA with the rest of the message unchanged and valid
//!   checksums kept valid, or a neighbour advertisement with a valid checksum;
//! * `Consumed`: an ARP reply to an own PA, unchanged;
//! * an ARP request or reply for an own PA teaches the sender's MAC as a provider
//!   neighbour (unless static, multicast, from 0.0.0.0 or refused as `learn_full`).
//!
//! Input layout: byte 0 selects the host (bit 7: HostB) and the fix-ups (`common::fix_up`,
//! bits 0..=2, applied to the outer headers), byte 1 the headroom (`common::headroom`),
//! bytes 2..4 the length of the first frame (big endian, cut to what is there), then the
//! first frame; if bytes remain, one fix-up byte and the second frame.
#![no_main]

#[path = "common/switch.rs"]
mod common;

use std::net::IpAddr;

use common::{
    be16, check_action, check_counted, check_flood, check_rewrite, check_vsid_counted, fix_up,
    icmpv6_verifies, ipv4_checksums, ipv4_lengths, l3_of, mac_at, rd, tables, v4_at, v6_at, Frame,
    Sink, Sw,
};
use hnv_core::nvgre::{self, Nvgre};
use hnv_core::policy::{LookupTable, NeighborTable, Rule};
use hnv_core::switch::{Action, PortId, Verdict};
use hnv_core::wire::checksum;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let [mode, room, l0, l1, rest @ ..] = input else {
        return;
    };
    let headroom = common::headroom(*room);
    let first_len = usize::from(u16::from_be_bytes([*l0, *l1])).min(rest.len());
    let (first, second) = rest.split_at(first_len);
    let mut sw = common::switch(mode & 0x80 != 0);
    one(&mut sw, *mode, first, headroom);
    if let [mode, frame @ ..] = second {
        one(&mut sw, *mode, frame, headroom);
    }
});

fn is_tagged(frame: &[u8]) -> bool {
    frame.len() >= 14 && common::is_tag(be16(frame, 12))
}

fn one(sw: &mut Sw, mode: u8, raw: &[u8], headroom: usize) {
    let t = tables(sw);
    let mut bytes = raw.to_vec();
    fix_up(&mut bytes, mode);
    let mut f = Frame::new(&bytes, headroom);
    let mem = f.mem.clone();
    let before = sw.stats().clone();
    let mut sink = Sink::default();
    let verdict = f.run(|b| sw.from_wire(b, &mut sink));
    let after = sw.stats().clone();

    check_counted(&before, &after, verdict);
    assert_eq!(after.wire_rx, before.wire_rx + 1, "wire rx counter");
    assert_eq!(after.port_rx, before.port_rx, "port rx counters");
    if let Some((_, _, vsid)) = sink.wire {
        check_vsid_counted(&before, &after, vsid, verdict);
    }

    let action = sink.action.expect("no decision traced");
    check_action(action, verdict, &f, &mem, headroom, bytes.len());

    match verdict {
        Verdict::Drop(_) => {}
        Verdict::ToWire => panic!("a frame from the wire sent back to the wire ({action:?})"),
        Verdict::Consumed => {
            let (l3, ethertype) = l3_of(&bytes).expect("consumed frame");
            assert_eq!(ethertype, 0x0806, "consumed a non-ARP frame");
            let arp = &bytes[l3..];
            assert_eq!(
                be16(arp, 6),
                2,
                "consumed an ARP message that is not a reply"
            );
            assert!(
                t.owns_pa(IpAddr::V4(v4_at(arp, 24))),
                "consumed an ARP reply to another IP"
            );
        }
        Verdict::ToPort(p) => {
            let dest = t
                .ports()
                .get(p.index())
                .unwrap_or_else(|| panic!("ToPort({p:?}): no such port"));
            let out = f.bytes();
            assert!(out.len() >= 14, "delivered frame shorter than Ethernet");
            assert!(
                !is_tagged(out),
                "tagged frame delivered to {p:?} after {action:?}"
            );
            assert_eq!(
                mac_at(out, 0),
                dest.mac,
                "delivered to a port of another MAC"
            );
            match action {
                Action::Decap { .. } => {
                    let n = decapped(sw, &sink, &bytes, &f, headroom);
                    assert_eq!(dest.vsid, Some(n.vsid()), "delivered into another VSID");
                }
                Action::Rewrite { .. } => nat_ingress(sw, p, &bytes, out),
                other => panic!("ToPort after {other:?}"),
            }
        }
        Verdict::Flood(fl) => {
            assert!(
                matches!(action, Action::Decap { .. }),
                "flood after {action:?}"
            );
            let n = decapped(sw, &sink, &bytes, &f, headroom);
            assert_eq!(fl.vsid, n.vsid(), "flood into another VSID");
            assert_eq!(fl.except, None);
            let out = f.bytes().to_vec();
            assert!(
                mac_at(&out, 0).is_multicast(),
                "unicast inner frame flooded"
            );
            assert_eq!(
                sw.flood_pas(&fl).count(),
                0,
                "frame from the wire flooded to other hosts"
            );
            check_flood(sw, fl, &out, mac_at(&out, 6), headroom);
        }
        Verdict::Reply => reply(sw, &bytes, f.bytes()),
    }

    // ARP for an own PA teaches the provider network neighbour.
    if matches!(
        action,
        Action::ArpReply { .. } | Action::Forward(Verdict::Consumed)
    ) {
        let (l3, _) = l3_of(&bytes).expect("ARP frame");
        let arp = &bytes[l3..];
        let (mac, ip) = (mac_at(arp, 8), IpAddr::V4(v4_at(arp, 14)));
        if !ip.is_unspecified()
            && !mac.is_multicast()
            && t.neighbor(ip).is_none()
            && after.learn_full == before.learn_full
        {
            assert!(
                sw.learned_neighbors().any(|n| n == (ip, mac)),
                "ARP from {ip} at {mac:?} for an own PA not learned"
            );
        }
    }
}

/// The frame was valid NVGRE for an own PA and a VSID of this host, and what the switch
/// hands on is exactly its inner frame, where it was in memory.
fn decapped(sw: &Sw, sink: &Sink, bytes: &[u8], f: &Frame, headroom: usize) -> Nvgre {
    let t = tables(sw);
    let n = nvgre::inspect(bytes).unwrap_or_else(|r| panic!("decapped a non-NVGRE frame: {r:?}"));
    let u = n.underlay(bytes);
    assert!(t.owns_pa(u.dst()), "NVGRE for {} accepted", u.dst());
    assert_eq!(
        sink.wire,
        Some((u.src(), u.dst(), n.vsid())),
        "traced NVGRE header"
    );
    assert!(
        t.vsid(n.vsid()).is_some(),
        "NVGRE of unknown VSID {} accepted",
        n.vsid().get()
    );
    let inner = &bytes[n.inner_offset()..n.inner_offset() + n.inner_len()];
    assert_eq!(f.bytes(), inner, "delivered frame is not the inner frame");
    assert_eq!(f.off, headroom + n.inner_offset(), "inner frame moved");
    assert!(!is_tagged(inner));
    n
}

/// IP rewrite from the wire: a packet between two Nat PAs of one routing domain, the
/// destination one ours, delivered to the destination record's VM with the records' CAs.
fn nat_ingress(sw: &Sw, p: PortId, bytes: &[u8], out: &[u8]) {
    let t = tables(sw);
    let (l3, ethertype) = l3_of(bytes).expect("rewritten frame");
    let ip = &bytes[l3..];
    let (src, dst, protocol) = match ethertype {
        0x0800 => (IpAddr::V4(v4_at(ip, 12)), IpAddr::V4(v4_at(ip, 16)), ip[9]),
        0x86dd => (IpAddr::V6(v6_at(ip, 8)), IpAddr::V6(v6_at(ip, 24)), ip[6]),
        other => panic!("rewrote Ethernet type {other:#06x}"),
    };
    // GRE to a Nat PA is that VM's own traffic: rewritten and delivered like any other
    // protocol, never decapsulated (the decapsulation checks elsewhere would catch it).
    let _ = protocol;
    assert!(t.owns_pa(dst), "rewrote a packet for {dst}");
    let rec = t
        .by_pa(dst)
        .unwrap_or_else(|| panic!("rewrote a packet for {dst}: no Nat record"));
    let src_rec = t
        .by_pa(src)
        .unwrap_or_else(|| panic!("rewrote a packet from {src}: no Nat record"));
    assert_eq!((rec.rule, src_rec.rule), (Rule::Nat, Rule::Nat));
    assert!(rd(t, rec.vsid).is_some());
    assert_eq!(
        rd(t, src_rec.vsid),
        rd(t, rec.vsid),
        "rewrite across routing domains"
    );
    let dest = &t.ports()[p.index()];
    assert_eq!(
        (dest.mac, dest.vsid),
        (rec.mac, Some(rec.vsid)),
        "rewritten to another VM"
    );
    check_rewrite(bytes, out, src_rec.ca, rec.ca);
    assert_eq!(
        mac_at(out, 6),
        t.gateway_mac(),
        "rewritten frame not from the gateway"
    );
}

/// An answer to the provider network, back to the sender.
fn reply(sw: &Sw, bytes: &[u8], out: &[u8]) {
    let t = tables(sw);
    let (l3, ethertype) = l3_of(out).expect("reply is not Ethernet");
    assert_eq!(l3_of(bytes).map(|(l, _)| l), Some(l3));
    assert_eq!(out[12..l3], bytes[12..l3], "reply changed the tag or type");
    assert_eq!(mac_at(out, 0), mac_at(bytes, 6), "reply to another MAC");
    assert_eq!(
        mac_at(out, 6),
        t.uplink_mac(),
        "reply not from the uplink MAC"
    );
    let (req, ans) = (&bytes[l3..], &out[l3..]);
    match ethertype {
        0x0806 => {
            assert_eq!(out.len(), bytes.len());
            assert_eq!(
                be16(req, 6),
                1,
                "answered an ARP message that is no request"
            );
            assert_eq!(be16(ans, 6), 2, "not an ARP reply");
            assert_eq!(mac_at(ans, 8), t.uplink_mac(), "ARP answer");
            let pa = v4_at(req, 24);
            assert!(t.owns_pa(IpAddr::V4(pa)), "answered ARP for {pa}");
            assert_eq!(v4_at(ans, 14), pa);
            assert_eq!(mac_at(ans, 18), mac_at(req, 8));
            assert_eq!(v4_at(ans, 24), v4_at(req, 14));
        }
        0x0800 => {
            assert_eq!(out.len(), bytes.len());
            let (hlen, total) = ipv4_lengths(ans).expect("echo reply: IPv4 header");
            assert_eq!(ipv4_lengths(req), Some((hlen, total)));
            assert_eq!(req[9], 1);
            let pa = v4_at(req, 16);
            assert!(t.owns_pa(IpAddr::V4(pa)), "answered a ping to {pa}");
            assert_eq!((v4_at(ans, 12), v4_at(ans, 16)), (pa, v4_at(req, 12)));
            let (q, a) = (&req[hlen..total], &ans[hlen..total]);
            assert_eq!(
                (q[0], q[1]),
                (8, 0),
                "answered ICMP that is no echo request"
            );
            assert_eq!((a[0], a[1]), (0, 0), "not an echo reply");
            assert_eq!(q.get(4..), a.get(4..), "echo reply changed the message");
            let (hq, _) = ipv4_checksums(req).expect("request");
            let (ha, _) = ipv4_checksums(ans).expect("reply");
            assert!(!hq || ha, "echo reply broke the IPv4 header checksum");
            if checksum::verifies(q) {
                assert!(checksum::verifies(a), "echo reply broke the ICMP checksum");
            }
        }
        0x86dd => {
            assert!(icmpv6_verifies(ans), "ICMPv6 checksum of the reply");
            assert_eq!(ans[40], 136, "IPv6 reply is no neighbour advertisement");
            assert!(
                t.owns_pa(IpAddr::V6(v6_at(ans, 8))),
                "advertised a foreign PA"
            );
        }
        other => panic!("reply of Ethernet type {other:#06x}"),
    }
}
