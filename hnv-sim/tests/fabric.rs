//! The seed's packet flows end to end on the in-memory fabric: VM stacks that ARP, ping and
//! send UDP, two hosts running the real switch, one provider segment. Every hop's frames
//! are asserted, and the wire is written to a pcap that tshark checks field by field.

use std::net::IpAddr;
use std::path::Path;

use hnv_core::ids::MacAddr;
use hnv_core::switch::{Event, Verdict};
use hnv_core::DropReason;
use hnv_sim::fabric::{Direction, Fabric, Link};
use hnv_sim::vm::Message;

mod common;

use common::{seed_fabric, SEED};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn port(host: &str, name: &str) -> Link {
    Link::Port {
        host: host.into(),
        port: name.into(),
    }
}

fn uplink(host: &str) -> Link {
    Link::Uplink { host: host.into() }
}

/// Pings a VM received, as (source IP, sequence number).
type Pings = Vec<(IpAddr, u16)>;

/// (echo replies, echo requests) the VM received.
fn pings(f: &Fabric, name: &str) -> (Pings, Pings) {
    let mut replies = Vec::new();
    let mut requests = Vec::new();
    for e in f.vm(name).unwrap().inbox() {
        match &e.message {
            Message::EchoReply { src, seq, .. } => replies.push((*src, *seq)),
            Message::EchoRequest { src, seq, .. } => requests.push((*src, *seq)),
            _ => {}
        }
    }
    (replies, requests)
}

/// Nothing any VM other than `allowed` received.
fn nobody_else_got_anything(f: &Fabric, allowed: &[&str]) {
    for h in ["HostA", "HostB"] {
        for p in f.host(h).unwrap().switch().tables().ports() {
            if !allowed.contains(&p.name.as_str()) {
                assert!(
                    f.vm(&p.name).unwrap().inbox().is_empty(),
                    "{} received {:?}",
                    p.name,
                    f.vm(&p.name).unwrap().inbox()
                );
            }
        }
    }
}

fn ethertype(frame: &[u8]) -> u16 {
    u16::from_be_bytes([frame[12], frame[13]])
}

fn gre_vsid(frame: &[u8]) -> u32 {
    assert_eq!(ethertype(frame), 0x0800);
    assert_eq!(frame[23], 47, "outer protocol GRE");
    assert_eq!(frame[34..38], [0x20, 0x00, 0x65, 0x58]);
    u32::from_be_bytes([0, frame[38], frame[39], frame[40]])
}

#[test]
fn fig_1_7_ping_on_the_same_host_never_touches_the_wire() {
    let mut f = seed_fabric(SEED);
    f.send_ping("Contoso1", ip("10.0.0.6"), 1).unwrap();
    f.run();
    assert_eq!(pings(&f, "Contoso1").0, [(ip("10.0.0.6"), 1)]);
    assert_eq!(pings(&f, "Contoso3").1, [(ip("10.0.0.5"), 1)]);
    // Contoso1 sent an ARP request and the ping; Contoso3 answered both.
    let sent = f.frames_on(&port("HostA", "Contoso1"), Direction::In);
    assert_eq!(
        sent.iter().map(|fr| ethertype(fr)).collect::<Vec<_>>(),
        [0x0806, 0x0800]
    );
    assert!(f.frames_on(&uplink("HostA"), Direction::Out).is_empty());
    assert!(f.frames_on(&uplink("HostB"), Direction::Out).is_empty());
    nobody_else_got_anything(&f, &["Contoso1", "Contoso3"]);
}

#[test]
fn fig_1_8_routed_between_subnets_on_one_host() {
    let mut f = seed_fabric(SEED);
    f.send_ping("Contoso1", ip("10.0.1.6"), 7).unwrap();
    f.run();
    assert_eq!(pings(&f, "Contoso1").0, [(ip("10.0.1.6"), 7)]);
    assert_eq!(pings(&f, "Contoso4").1, [(ip("10.0.0.5"), 7)]);
    // Each VM learned the gateway MAC for its own `.1`.
    let dfgw = MacAddr([0x02, 0x00, 0x5e, 0x00, 0x01, 0x01]);
    assert_eq!(
        f.vm("Contoso1").unwrap().neighbor(ip("10.0.0.1")),
        Some(dfgw)
    );
    assert_eq!(
        f.vm("Contoso4").unwrap().neighbor(ip("10.0.1.1")),
        Some(dfgw)
    );
    assert!(f.frames_on(&uplink("HostA"), Direction::Out).is_empty());
    nobody_else_got_anything(&f, &["Contoso1", "Contoso4"]);
}

#[test]
fn fig_1_9_udp_and_ping_across_hosts_with_static_records() {
    let mut f = seed_fabric(SEED);
    f.send_udp("Contoso1", ip("10.0.0.7"), 5000, 7, b"fig 1-9")
        .unwrap();
    f.send_ping("Contoso1", ip("10.0.0.7"), 2).unwrap();
    f.run();
    let got: Vec<_> = f
        .vm("Contoso2")
        .unwrap()
        .udp_received()
        .map(|(s, _, p)| (s.ip(), p.to_vec()))
        .collect();
    assert_eq!(got, [(ip("10.0.0.5"), b"fig 1-9".to_vec())]);
    assert_eq!(pings(&f, "Contoso1").0, [(ip("10.0.0.7"), 2)]);
    // The ARPs were answered by the filters: only NVGRE on the wire, UDP + ping out, the
    // echo reply back, each with VSID 5001.
    let a_out = f.frames_on(&uplink("HostA"), Direction::Out);
    let b_out = f.frames_on(&uplink("HostB"), Direction::Out);
    assert_eq!(a_out.len(), 2);
    assert_eq!(b_out.len(), 1);
    for fr in a_out.iter().chain(&b_out) {
        assert_eq!(gre_vsid(fr), 5001);
    }
    // The inner frame Contoso2 got is byte for byte what Contoso1 sent.
    let sent = f.frames_on(&port("HostA", "Contoso1"), Direction::In);
    let udp_sent = sent
        .iter()
        .find(|fr| fr.len() > 34 && fr[23] == 17)
        .unwrap();
    let delivered = f.frames_on(&port("HostB", "Contoso2"), Direction::Out);
    assert!(delivered.contains(udp_sent));
    assert_eq!(&a_out[0][42..], *udp_sent);
    nobody_else_got_anything(&f, &["Contoso1", "Contoso2"]);
}

/// The seed policy with Contoso2's record turned into an L2Only record.
fn learning_policy() -> String {
    let mut v: serde_json::Value = serde_json::from_str(SEED).unwrap();
    for r in v["LookupRecords"].as_array_mut().unwrap() {
        if r["VMName"] == "Contoso2" {
            r["CustomerAddress"] = "0.0.0.0".into();
            r["Type"] = "L2Only".into();
        }
    }
    v.to_string()
}

#[test]
fn fig_1_10_learning_then_ping() {
    let mut f = seed_fabric(&learning_policy());
    f.send_ping("Contoso1", ip("10.0.0.7"), 3).unwrap();
    f.run();
    assert_eq!(pings(&f, "Contoso1").0, [(ip("10.0.0.7"), 3)]);
    // Both hosts learned 10.0.0.7 at 192.168.4.22 and told the control plane once.
    for h in ["HostA", "HostB"] {
        let learned: Vec<_> = f
            .host(h)
            .unwrap()
            .events()
            .iter()
            .filter_map(|e| match e {
                Event::Learned(r) => Some((r.ca, r.pa)),
                _ => None,
            })
            .collect();
        assert_eq!(learned, [(ip("10.0.0.7"), ip("192.168.4.22"))], "{h}");
    }
    // The first ARP crossed the wire (unicast to the L2Only PA) and so did the reply.
    let a_out = f.frames_on(&uplink("HostA"), Direction::Out);
    assert_eq!(
        ethertype(&a_out[0][42..]),
        0x0806,
        "the ARP request, encapsulated"
    );
    nobody_else_got_anything(&f, &["Contoso1", "Contoso2", "Contoso3"]);
}

#[test]
fn fig_1_11_routed_then_encapsulated_both_ways() {
    let mut f = seed_fabric(SEED);
    f.send_ping("Contoso1", ip("10.0.1.7"), 4).unwrap();
    f.run();
    assert_eq!(pings(&f, "Contoso1").0, [(ip("10.0.1.7"), 4)]);
    let a_out = f.frames_on(&uplink("HostA"), Direction::Out);
    let b_out = f.frames_on(&uplink("HostB"), Direction::Out);
    // Out with the destination VSID 6001, back with 5001.
    assert_eq!(
        a_out.iter().map(|fr| gre_vsid(fr)).collect::<Vec<_>>(),
        [6001]
    );
    assert_eq!(
        b_out.iter().map(|fr| gre_vsid(fr)).collect::<Vec<_>>(),
        [5001]
    );
    nobody_else_got_anything(&f, &["Contoso1", "Contoso5"]);
}

#[test]
fn ip_rewrite_tenant_with_overlapping_cas_stays_isolated() {
    let mut f = seed_fabric(SEED);
    // Fabrikam1 has Contoso1's CA and pings Contoso2's CA: it must reach Fabrikam2.
    f.send_ping("Fabrikam1", ip("10.0.0.7"), 5).unwrap();
    f.run();
    assert_eq!(pings(&f, "Fabrikam1").0, [(ip("10.0.0.7"), 5)]);
    assert_eq!(pings(&f, "Fabrikam2").1, [(ip("10.0.0.5"), 5)]);
    // On the wire: PAs 192.168.4.51 <-> .52, plain ICMP, no GRE.
    for fr in f.frames_on(&uplink("HostA"), Direction::Out) {
        assert_eq!(fr[23], 1, "ICMP, not GRE");
        assert_eq!(
            (&fr[26..30], &fr[30..34]),
            (&[192, 168, 4, 51][..], &[192, 168, 4, 52][..])
        );
    }
    nobody_else_got_anything(&f, &["Fabrikam1", "Fabrikam2"]);
}

#[test]
fn contoso_cannot_reach_fabrikam_and_drops_are_counted() {
    let mut f = seed_fabric(SEED);
    // Contoso4 (10.0.1.6) pings an address only Fabrikam's routing domain could have.
    f.send_ping("Contoso4", ip("10.0.2.9"), 6).unwrap();
    f.run();
    assert!(pings(&f, "Contoso4").0.is_empty());
    let drops: Vec<_> = f
        .decisions()
        .iter()
        .filter_map(|d| match d.verdict {
            Verdict::Drop(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(drops, [DropReason::NoRoute]);
    assert_eq!(
        f.host("HostA")
            .unwrap()
            .switch()
            .stats()
            .dropped(DropReason::NoRoute),
        1
    );
    nobody_else_got_anything(&f, &["Contoso4"]);
}

/// tshark's fields for every frame of `pcap`, checksum checking on (`hnv_sim::tshark`).
fn tshark_fields(pcap: &Path, fields: &[&str]) -> Vec<Vec<String>> {
    hnv_sim::tshark::fields(pcap, fields).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn wire_pcap_of_the_figures_passes_tshark() {
    let mut f = seed_fabric(SEED);
    f.send_udp("Contoso1", ip("10.0.0.7"), 5000, 7, b"udp")
        .unwrap();
    f.send_ping("Contoso1", ip("10.0.1.7"), 1).unwrap();
    f.send_ping("Fabrikam1", ip("10.0.0.7"), 1).unwrap();
    f.run();
    let wire: Vec<_> = f
        .links()
        .iter()
        .filter(|r| matches!(r.link, Link::Uplink { .. }) && r.dir == Direction::Out)
        .collect();
    let path = std::env::temp_dir().join(format!("hnv-fabric-{}.pcap", std::process::id()));
    let file = std::fs::File::create(&path).unwrap();
    f.write_pcap(file, |r| {
        matches!(r.link, Link::Uplink { .. }) && r.dir == Direction::Out
    })
    .unwrap();
    let rows = tshark_fields(
        &path,
        &[
            "gre.flags_and_version",
            "gre.proto",
            "gre.key",
            "ip.checksum.status",
            "udp.checksum.status",
            "icmp.checksum.status",
        ],
    );
    std::fs::remove_file(&path).unwrap();
    assert_eq!(rows.len(), wire.len());
    let mut nvgre = 0;
    for (row, rec) in rows.iter().zip(&wire) {
        // Every IPv4 header (outer and inner) and every UDP/ICMP checksum verifies.
        for col in 3..6 {
            assert!(
                row[col].split(';').all(|s| s.is_empty() || s == "1"),
                "{row:?}"
            );
        }
        if rec.frame[23] == 47 {
            nvgre += 1;
            assert_eq!(row[0], "0x2000");
            assert_eq!(row[1], "0x6558");
            let key = u32::from_be_bytes(rec.frame[38..42].try_into().unwrap());
            assert_eq!(row[2], format!("0x{key:08x}"));
        } else {
            assert!(row[0].is_empty(), "rewritten traffic has no GRE");
        }
    }
    assert_eq!(nvgre, 3, "the UDP datagram, the routed ping and its reply");
}

/// The seed with HostB's PAs moved to another provider subnet (192.168.5.0/24), reached
/// through the router 192.168.4.1 of the provider routes; HostA keeps no neighbour entry
/// for them.
fn routed_policy() -> String {
    let moved = SEED
        .replace("192.168.4.22", "192.168.5.22")
        .replace("192.168.4.52", "192.168.5.52");
    let mut v: serde_json::Value = serde_json::from_str(&moved).unwrap();
    let host_a = &mut v["Hosts"][0]["Neighbors"];
    let kept: Vec<_> = host_a
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| !n["IPAddress"].as_str().unwrap().starts_with("192.168.5."))
        .cloned()
        .collect();
    *host_a = kept.into();
    v.to_string()
}

#[test]
fn nvgre_crosses_a_routed_hop_of_the_provider_network() {
    let mut f = seed_fabric(&routed_policy());
    let router = MacAddr([0x02, 0, 0, 0, 0, 0xfe]);
    f.add_router(router);
    f.send_udp("Contoso1", ip("10.0.0.7"), 5000, 7, b"routed")
        .unwrap();
    f.run();
    let got: Vec<_> = f
        .vm("Contoso2")
        .unwrap()
        .udp_received()
        .map(|(_, _, p)| p.to_vec())
        .collect();
    assert_eq!(got, [b"routed".to_vec()]);
    // HostA sends to the router's MAC; the router forwards with TTL 63 to HostB's uplink.
    let sent = f.frames_on(&uplink("HostA"), Direction::Out);
    let fwd = f.frames_on(&Link::Router, Direction::Out);
    assert_eq!((sent.len(), fwd.len()), (1, 1));
    assert_eq!(sent[0][..6], router.0);
    assert_eq!((sent[0][22], fwd[0][22]), (64, 63));
    assert_eq!(fwd[0][..6], [0x02, 0, 0, 0, 0x0b, 0x01]);
    assert!(
        hnv_core::wire::checksum::verifies(&fwd[0][14..34]),
        "router kept the checksum valid"
    );
    assert_eq!(fwd[0][30..34], [192, 168, 5, 22]);
    assert_eq!(gre_vsid(fwd[0]), 5001);
}
