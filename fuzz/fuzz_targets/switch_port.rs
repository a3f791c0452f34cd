//! `Switch::from_port` on the hosts of `docs/examples/seed-policy.json`: arbitrary frames
//! from a VM port (or from a port the host does not have), one or two per input on the
//! same fresh switch, in a buffer with full or short headroom.
//!
//! Invariants checked for every frame:
//! * no panic; the resulting frame lies inside the buffer and no byte outside it changed;
//! * exactly one counter moves: `Drop(r)` adds one to `stats().dropped(r)` (and to the
//!   total), any other verdict one to its own counter; the ingress port's rx counter and
//!   its VSID's counters (frames, dropped / forwarded) move by one;
//! * the decision traced as `Step::Action` agrees with the verdict (`Forward(v)` gives `v`
//!   and leaves the frame alone, `Drop(r)` gives `Drop(r)`); a `Drop` leaves the buffer
//!   exactly as it was; an unknown port gives `Drop(UnknownPort)`;
//! * `ToPort(p)`: `p` exists, its VSID is in the ingress VSID's routing domain, the frame
//!   is untagged Ethernet addressed to `p`'s MAC, from the ingress MAC or (routed) the
//!   gateway MAC, with everything after the MACs unchanged;
//! * `ToWire` after an encapsulation: valid NVGRE (`nvgre::inspect`) from the uplink MAC
//!   and an own PA to the next hop of another host's PA, within the uplink MTU, with a
//!   VSID in the ingress routing domain (the ingress VSID unless routed) and the PA of the
//!   record of the inner destination MAC, the inner frame in place and unchanged but for
//!   the MACs of a routed frame; after an IP rewrite: the sender's Nat PA to the Nat PA of
//!   a VM in the same routing domain, only addresses and checksums changed, valid
//!   checksums kept valid; either way, a fresh switch of the seed host that owns the
//!   destination PA delivers it (if at all) only to ports of the sender's routing domain;
//! * `Reply`: untagged Ethernet back to the ingress MAC (or all-nodes for DAD) from the
//!   gateway MAC or a VM of the VSID: an ARP reply answering the request, an ICMP
//!   fragmentation needed / ICMPv6 packet too big with valid checksums quoting the packet
//!   and the uplink MTU minus the NVGRE overhead, or a neighbour advertisement for the
//!   solicited target with a valid checksum;
//! * `Flood`: the ingress VSID, the ingress port excepted, the frame unchanged; the
//!   replication (`flood_ports`, `flood_pas`, `encap_copy` into fresh buffers) as in
//!   `common::check_flood`, each copy delivered by its destination host only within the
//!   flood's routing domain.
//!
//! Input layout: byte 0 selects the host (bit 7: HostB) and the port (bit 6 clear: bits
//! 0..=5 modulo the port count; set: an id past the last port, `u16::MAX` for 0x7f),
//! byte 1 the headroom (`common::headroom`), byte 2 the fix-ups (`common::fix_up`), bytes
//! 3..5 the length of the first frame (big endian, cut to what is there), then the first
//! frame; if bytes remain, one port selector byte, one fix-up byte and the second frame.
#![no_main]

#[path = "common/switch.rs"]
mod common;

use std::net::IpAddr;

use common::{
    be16, check_action, check_counted, check_flood, check_rewrite, check_sent_nvgre,
    check_vsid_counted, fix_up, icmpv6_verifies, ipv4_lengths, l3_of, mac_at, rd, tables, v4_at,
    v6_at, Frame, Sink, Sw,
};
use hnv_core::ids::{MacAddr, Vsid};
use hnv_core::policy::{LookupTable, PortEntry, Rule, Tables};
use hnv_core::switch::{Action, PortId, Verdict};
use hnv_core::wire::checksum;
use hnv_core::DropReason;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let [sel, room, mode, l0, l1, rest @ ..] = input else {
        return;
    };
    let headroom = common::headroom(*room);
    let first_len = usize::from(u16::from_be_bytes([*l0, *l1])).min(rest.len());
    let (first, second) = rest.split_at(first_len);
    let mut sw = common::switch(sel & 0x80 != 0);
    one(&mut sw, *sel, *mode, first, headroom);
    if let [sel, mode, frame @ ..] = second {
        one(&mut sw, *sel, *mode, frame, headroom);
    }
});

fn port_of(t: &Tables, sel: u8) -> PortId {
    let count = t.ports().len();
    let n = usize::from(sel & 0x3f);
    let id = if sel & 0x40 == 0 {
        n % count
    } else if n == 0x3f {
        usize::from(u16::MAX)
    } else {
        count + n
    };
    PortId(u16::try_from(id).expect("port id"))
}

/// The frame's IPv4 or IPv6 source address, if it has a whole IP header.
fn ip_src(frame: &[u8]) -> Option<IpAddr> {
    let (l3, ethertype) = l3_of(frame)?;
    let ip = &frame[l3..];
    match ethertype {
        0x0800 if ip.len() >= 20 => Some(IpAddr::V4(v4_at(ip, 12))),
        0x86dd if ip.len() >= 40 => Some(IpAddr::V6(v6_at(ip, 8))),
        _ => None,
    }
}

fn one(sw: &mut Sw, sel: u8, mode: u8, raw: &[u8], headroom: usize) {
    let t = tables(sw);
    let port = port_of(t, sel);
    let mut bytes = raw.to_vec();
    fix_up(&mut bytes, mode);
    let mut f = Frame::new(&bytes, headroom);
    let mem = f.mem.clone();
    let before = sw.stats().clone();
    let mut sink = Sink::default();
    let verdict = f.run(|b| sw.from_port(port, b, &mut sink));
    let after = sw.stats().clone();

    check_counted(&before, &after, verdict);
    let mut rx = before.port_rx;
    if let Some(c) = rx.get_mut(port.index()) {
        *c += 1;
    }
    assert_eq!(after.port_rx, rx, "port rx counters");
    assert_eq!(after.wire_rx, before.wire_rx);

    let action = sink.action.expect("no decision traced");
    check_action(action, verdict, &f, &mem, headroom, bytes.len());

    let Some(entry) = t.ports().get(port.index()) else {
        assert_eq!(verdict, Verdict::Drop(DropReason::UnknownPort));
        return;
    };
    let Some(vsid) = entry.vsid else {
        // Not virtualized (no such port in the seed policy): a plain L2 switch.
        match verdict {
            Verdict::ToPort(p) => assert_eq!(t.ports()[p.index()].vsid, None),
            Verdict::ToWire => assert_eq!(f.bytes(), &bytes[..]),
            _ => {}
        }
        return;
    };
    check_vsid_counted(&before, &after, vsid, verdict);
    let home = rd(t, vsid);

    match verdict {
        Verdict::Drop(_) | Verdict::Consumed => {}
        Verdict::ToPort(p) => to_port(sw, entry, vsid, p, &bytes, &f),
        Verdict::ToWire => match action {
            Action::Encap { route_to, .. } => {
                let n = check_sent_nvgre(sw, &f, headroom, bytes.len());
                assert!(home.is_some(), "VSID {} without routing domain", vsid.get());
                assert_eq!(rd(t, n.vsid()), home, "NVGRE into another routing domain");
                let out = f.bytes();
                let inner = &out[n.inner_offset()..n.inner_offset() + n.inner_len()];
                assert_eq!(inner[12..], bytes[12..], "inner frame changed");
                match route_to {
                    None => {
                        assert_eq!(inner[..12], bytes[..12], "inner MACs changed");
                        assert_eq!(n.vsid(), vsid, "switched frame changed VSID");
                    }
                    Some(mac) => {
                        assert_eq!(mac_at(inner, 0), mac);
                        assert_eq!(mac_at(inner, 6), t.gateway_mac());
                    }
                }
                let dst_pa = n.underlay(out).dst();
                let rec = sw.record_by_mac(n.vsid(), mac_at(inner, 0));
                assert_eq!(
                    rec.map(|r| r.pa),
                    Some(dst_pa),
                    "NVGRE to {dst_pa}, not the PA of the destination's record"
                );
            }
            Action::Rewrite { .. } => nat_egress(sw, entry, vsid, &bytes, f.bytes()),
            other => panic!("ToWire after {other:?}"),
        },
        Verdict::Reply => reply(sw, entry, vsid, &bytes, f.bytes()),
        Verdict::Flood(fl) => {
            assert_eq!(fl.vsid, vsid, "flood into another VSID");
            assert_eq!(fl.except, Some(port), "flood back to the ingress port");
            assert!(f.off == headroom && f.mem == mem, "flooded frame changed");
            check_flood(sw, fl, &bytes, entry.mac, headroom);
        }
    }
    if verdict == Verdict::ToWire {
        let domain = common::rdid(t, vsid).expect("a port's VSID has a routing domain");
        common::check_peer_delivery(f.bytes(), domain);
    }
}

fn to_port(sw: &Sw, entry: &PortEntry, vsid: Vsid, p: PortId, bytes: &[u8], f: &Frame) {
    let t = tables(sw);
    let dest = t
        .ports()
        .get(p.index())
        .unwrap_or_else(|| panic!("ToPort({p:?}): no such port"));
    let dv = dest
        .vsid
        .expect("virtualized frame delivered to a VSID-0 port");
    assert_eq!(
        rd(t, dv),
        rd(t, vsid),
        "VSID {} delivered into VSID {} of another routing domain",
        vsid.get(),
        dv.get()
    );
    let out = f.bytes();
    assert_eq!(out.len(), bytes.len(), "delivered frame changed length");
    assert!(!is_tagged(out), "tagged frame delivered");
    assert_eq!(out[12..], bytes[12..], "delivered frame changed");
    assert_eq!(
        mac_at(out, 0),
        dest.mac,
        "delivered to a port of another MAC"
    );
    let src = mac_at(out, 6);
    if src == entry.mac {
        assert_eq!(dv, vsid, "switched (not routed) into another VSID");
    } else {
        assert_eq!(src, t.gateway_mac(), "delivered from a foreign MAC");
    }
}

/// The path MTU an ICMP error reports: the uplink MTU minus the NVGRE overhead (42 bytes
/// over IPv4, 62 over IPv6).
fn check_reported_mtu(t: &Tables, mtu: u32) {
    let uplink = u32::from(t.uplink_mtu());
    assert!(
        mtu + 42 == uplink || mtu + 62 == uplink,
        "reported MTU {mtu} for an uplink MTU of {uplink}"
    );
}

fn is_tagged(frame: &[u8]) -> bool {
    frame.len() >= 14 && common::is_tag(be16(frame, 12))
}

/// IP rewrite towards another host: from the sender's Nat PA (one of ours) to the Nat PA
/// of a VM in the same routing domain.
fn nat_egress(sw: &Sw, entry: &PortEntry, vsid: Vsid, bytes: &[u8], out: &[u8]) {
    let t = tables(sw);
    let ca = ip_src(bytes).expect("rewritten frame had an IP header");
    let src_rec = sw
        .record_by_ca(vsid, ca)
        .unwrap_or_else(|| panic!("rewritten frame from {ca}, no record"));
    assert_eq!(
        src_rec.mac, entry.mac,
        "rewrote a frame from a CA not the port's"
    );
    assert_eq!(src_rec.rule, Rule::Nat);
    assert!(t.owns_pa(src_rec.pa));
    let dst = common::ip_dst(out).expect("rewritten frame without IP header");
    let dst_rec = t
        .by_pa(dst)
        .unwrap_or_else(|| panic!("rewritten to {dst}, not a Nat PA"));
    assert_eq!(dst_rec.rule, Rule::Nat);
    assert!(!t.owns_pa(dst), "rewritten to an own PA");
    assert_eq!(
        rd(t, dst_rec.vsid),
        rd(t, vsid),
        "rewrite across routing domains"
    );
    check_rewrite(bytes, out, src_rec.pa, dst);
    assert_eq!(Some(mac_at(out, 0)), common::next_hop_mac(sw, dst));
    let src_mac = mac_at(out, 6);
    assert!(
        src_mac == t.uplink_mac() || (src_rec.use_vm_mac && src_mac == entry.mac),
        "rewritten frame from {src_mac:?}"
    );
}

/// A frame the switch answers on the VM's behalf, back to the VM.
fn reply(sw: &Sw, entry: &PortEntry, vsid: Vsid, bytes: &[u8], out: &[u8]) {
    let t = tables(sw);
    assert!(
        out.len() >= 14 && !is_tagged(out),
        "reply is not untagged Ethernet"
    );
    let dst = mac_at(out, 0);
    let src = mac_at(out, 6);
    assert!(
        src == t.gateway_mac()
            || sw
                .record_by_mac(vsid, src)
                .is_some_and(|r| r.mac != entry.mac),
        "reply from {src:?}"
    );
    let (l3, ethertype) = l3_of(out).expect("reply");
    let ip = &out[l3..];
    match ethertype {
        0x0806 => {
            assert_eq!(dst, entry.mac, "ARP reply to another MAC");
            // Ethernet / IPv4 ARP: op, sender MAC + IP, target MAC + IP.
            assert!(ip.len() >= 28);
            assert_eq!(be16(ip, 6), 2, "not an ARP reply");
            assert_eq!(
                mac_at(ip, 8),
                src,
                "ARP sender MAC is not the Ethernet source"
            );
            assert_eq!(mac_at(ip, 18), entry.mac, "ARP reply for another target");
            let req = &bytes[14..];
            assert_eq!(be16(req, 6), 1, "ARP reply to a non-request");
            assert_eq!(v4_at(ip, 14), v4_at(req, 24), "answer for another address");
            assert_eq!(v4_at(ip, 24), v4_at(req, 14), "answer to another address");
        }
        0x0800 => {
            assert_eq!(dst, entry.mac, "ICMP error to another MAC");
            let (hlen, total) = ipv4_lengths(ip).expect("ICMP error: IPv4 header");
            assert!(total <= 576, "ICMPv4 error of {total} bytes");
            assert_eq!(out.len(), 14 + total);
            assert!(checksum::verifies(&ip[..hlen]), "ICMP error: IPv4 checksum");
            assert_eq!(ip[9], 1);
            let msg = &ip[hlen..total];
            assert_eq!((msg[0], msg[1]), (3, 4), "not fragmentation needed");
            assert!(checksum::verifies(msg), "ICMP error: ICMP checksum");
            check_reported_mtu(t, u32::from(be16(msg, 6)));
            assert_eq!(Some(IpAddr::V4(v4_at(ip, 16))), ip_src(bytes));
            assert_eq!(msg[8..], bytes[14..14 + msg.len() - 8], "quote");
        }
        0x86dd => {
            assert!(ip.len() >= 40);
            assert!(icmpv6_verifies(ip), "ICMPv6 checksum of the reply");
            assert_eq!(ip[6], 58);
            let plen = usize::from(be16(ip, 4));
            assert_eq!(out.len(), 14 + 40 + plen);
            let msg = &ip[40..];
            match msg[0] {
                2 => {
                    assert_eq!(dst, entry.mac, "packet too big to another MAC");
                    assert!(40 + plen <= 1280, "ICMPv6 error of {} bytes", 40 + plen);
                    check_reported_mtu(t, u32::from_be_bytes([msg[4], msg[5], msg[6], msg[7]]));
                    assert_eq!(Some(IpAddr::V6(v6_at(ip, 24))), ip_src(bytes));
                    assert_eq!(msg[8..], bytes[14..14 + msg.len() - 8], "quote");
                }
                136 => {
                    assert_eq!(ip[7], 255, "NA hop limit");
                    let dad = v6_at(&bytes[14..], 8).is_unspecified();
                    if dad {
                        assert_eq!(dst, MacAddr([0x33, 0x33, 0, 0, 0, 1]));
                    } else {
                        assert_eq!(dst, entry.mac, "NA to another MAC");
                        assert_eq!(v6_at(ip, 24), v6_at(&bytes[14..], 8), "NA to another IP");
                    }
                    // Target: the solicited one, and the NA's source address.
                    assert_eq!(msg[8..24], bytes[14 + 48..14 + 64], "NA for another target");
                    assert_eq!(v6_at(ip, 8), v6_at(msg, 8));
                }
                other => panic!("IPv6 reply of ICMPv6 type {other}"),
            }
        }
        other => panic!("reply of Ethernet type {other:#06x}"),
    }
}
