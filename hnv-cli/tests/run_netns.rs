//! `hnv run` for real (root only): `scripts/netns` builds the seed fabric of network
//! namespaces — a bridge as the provider network, HostA and HostB each running `hnv run`
//! on AF_XDP sockets, VMs as namespaces behind veths — and the kernels' own ARP, ping and
//! TCP are the traffic. Each test builds its own fabric, captures the bridge for the whole
//! test and then checks:
//!
//! - the traffic it sent: ping both ways, TCP transfers whose content (sha256 of the file
//!   sent and of the file received) is equal on both ends, pings that must fail;
//! - the provider network (tshark decodes the capture): only NVGRE with the expected VSIDs
//!   and valid headers, IPv4 between the IP-rewrite PAs, and provider ARP — never a
//!   customer ARP, never a frame longer than the uplink MTU, never a bad checksum (a
//!   checksum sent as 0xffff where 0x0000 was computed is the same value: good);
//! - the counters each hnv printed at shutdown: exit status 0, every UMEM frame accounted
//!   for, every frame received handed to the switch, given one verdict and sent or
//!   dropped as counted;
//! - that nothing is left behind: no namespace of the fabric, no hnv or helper process.
//!
//! The TCP ends are this test binary run inside the VMs' namespaces
//! (`traffic_helper_in_vm_namespace`, ignored as a test of its own).
//!
//! Skipped, with a message, when not run as root.

mod common;

use common::*;

/// The TCP ends of the transfers (see `common::traffic_helper`); does nothing when run as an
/// ordinary test.
#[test]
#[ignore = "a TCP end run by the namespace tests inside a VM namespace"]
fn traffic_helper_in_vm_namespace() {
    traffic_helper();
}

// ---- The tests ---------------------------------------------------------------------------------

fn ping_across_hosts(mode: &'static str) {
    let Some(mut run) = Run::start("ping_across_hosts", mode, Capture::Full) else {
        return;
    };
    let there = ping(&run.fabric, "Contoso1", "10.0.0.7");
    let back = ping(&run.fabric, "Contoso2", "10.0.0.5");
    println!("{mode}: ping Contoso1 -> Contoso2 avg {there:.3} ms, back avg {back:.3} ms");
    let r = run.finish();
    println!("{}", r.text);

    let wire = check_wire(&run.pcap, &[5001]);
    assert!(
        wire.nvgre >= 12,
        "expected >= 12 NVGRE frames (3 pings each way): {wire:?}"
    );
    assert_eq!(wire.nvgre, wire.frames, "only NVGRE: {wire:?}");
    for h in [&r.a, &r.b] {
        assert!(h.forwarded >= 12, "forwarded too little:\n{}", h.text);
        // Three echo requests (or replies) to one VM: the later ones from the flow cache.
        assert!(h.flow_hits >= 1, "no flow cache hit:\n{}", h.text);
    }
    run.done();
}

#[test]
fn ping_across_hosts_generic_xdp() {
    ping_across_hosts("generic");
}

#[test]
fn ping_across_hosts_native_xdp() {
    ping_across_hosts("native");
}

/// 50 MiB over TCP from Contoso1 (HostA) to Contoso2 (HostB), same VSID. The VMs keep
/// MTU 1500: the first full-size segments would exceed the uplink MTU once encapsulated,
/// so HostA answers them with ICMP Fragmentation Needed (MTU 1458) and the sender's
/// kernel lowers its path MTU; from then on every frame fits.
fn tcp_bulk_across_hosts(mode: &'static str) {
    let Some(mut run) = Run::start("tcp_bulk_across_hosts", mode, Capture::Headers) else {
        return;
    };
    ping(&run.fabric, "Contoso1", "10.0.0.7");
    tcp_transfer(&run, "Contoso1", "Contoso2", "10.0.0.7", 50 << 20);
    pmtu_learned(&run);
    let r = run.finish();
    println!("{}", r.text);

    let wire = check_wire(&run.pcap, &[5001]);
    assert_eq!(wire.nvgre, wire.frames, "only NVGRE: {wire:?}");
    // tcpdump may miss frames of a burst (it does not slow the sender down): the
    // counts come from hnv's counters, the capture checks the frames it has.
    assert!(
        wire.nvgre >= 1_000,
        "too few NVGRE frames captured: {wire:?}"
    );
    assert!(
        wire.inner
            .contains(&("10.0.0.5".into(), "10.0.0.7".into(), 5001)),
        "{wire:?}"
    );
    // 50 MiB in segments of at most 1418 bytes: at least 36 973 data frames.
    assert!(r.a.port("Contoso1").0 >= 36_973, "{}", r.a.text);
    assert!(r.a.wire_tx >= 36_973, "{}", r.a.text);
    assert!(r.b.wire_rx >= 36_973, "{}", r.b.text);
    assert!(r.b.port("Contoso2").1 >= 36_973, "{}", r.b.text);
    run.done();
}

#[test]
fn tcp_bulk_across_hosts_generic_xdp() {
    tcp_bulk_across_hosts("generic");
}

#[test]
fn tcp_bulk_across_hosts_native_xdp() {
    tcp_bulk_across_hosts("native");
}

/// Routed through the `.1` between VSIDs 5001 and 6001 of one routing domain: Contoso1 ↔
/// Contoso4 on HostA (never on the wire) and Contoso1 ↔ Contoso5 across hosts (encapsulated
/// with the destination's VSID).
#[test]
fn routed_across_vsids() {
    let Some(mut run) = Run::start("routed_across_vsids", "generic", Capture::Full) else {
        return;
    };
    for (vm, dst) in [
        ("Contoso1", "10.0.1.6"),
        ("Contoso4", "10.0.0.5"),
        ("Contoso1", "10.0.1.7"),
        ("Contoso5", "10.0.0.5"),
    ] {
        let rtt = ping(&run.fabric, vm, dst);
        println!("ping {vm} -> {dst}: avg {rtt:.3} ms");
    }
    let r = run.finish();
    println!("{}", r.text);

    let wire = check_wire(&run.pcap, &[5001, 6001]);
    assert_eq!(wire.nvgre, wire.frames, "only NVGRE: {wire:?}");
    // Across hosts each direction carries the destination's VSID.
    let inner: Vec<(String, String, u32)> = wire.inner.iter().cloned().collect();
    assert_eq!(
        inner,
        [
            ("10.0.0.5".into(), "10.0.1.7".into(), 6001),
            ("10.0.1.7".into(), "10.0.0.5".into(), 5001),
        ],
        "inner addresses and VSIDs on the wire"
    );
    // On HostA the routed pings stay local: Contoso4 got 6 requests/replies from the
    // switch and sent as many (plus its ARP for the .1, answered by the switch).
    let (from4, to4) = r.a.port("Contoso4");
    assert!(to4 >= 6 && from4 >= 6, "{}", r.a.text);
    let (from5, to5) = r.b.port("Contoso5");
    assert!(to5 >= 6 && from5 >= 6, "{}", r.b.text);
    // Three pings each way through the router: the later ones from the routed cache.
    for h in [&r.a, &r.b] {
        assert!(h.routed_hits >= 1, "no routed cache hit:\n{}", h.text);
    }
    run.done();
}

/// Fabrikam1 has Contoso1's CA (10.0.0.5) in another routing domain. It reaches its own
/// peer Fabrikam2 (10.0.0.7, IP rewrite), never Contoso3 (10.0.0.6), Contoso4 (10.0.1.6)
/// or Contoso2 (10.0.0.7 of the other routing domain): their kernels receive nothing,
/// and nothing but NVGRE of the Contoso VSIDs, IP rewrite between the Nat PAs and
/// provider ARP is ever on the wire.
#[test]
fn isolation_between_routing_domains() {
    let Some(mut run) = Run::start("isolation", "generic", Capture::Full) else {
        return;
    };
    let others = ["Contoso1", "Contoso2", "Contoso3", "Contoso4", "Contoso5"];
    let before: Vec<u64> = others.iter().map(|vm| run.fabric.rx_packets(vm)).collect();
    let unanswered = ping_unanswered(&run.fabric, "Fabrikam1", "10.0.0.6");
    println!("Fabrikam1 -> 10.0.0.6:\n{unanswered}");
    let unanswered = ping_unanswered(&run.fabric, "Fabrikam1", "10.0.1.6");
    println!("Fabrikam1 -> 10.0.1.6:\n{unanswered}");
    let rtt = ping(&run.fabric, "Fabrikam1", "10.0.0.7");
    println!("ping Fabrikam1 -> 10.0.0.7 (Fabrikam2): avg {rtt:.3} ms");
    let fabrikam2 = run.fabric.rx_packets("Fabrikam2");
    let after: Vec<u64> = others.iter().map(|vm| run.fabric.rx_packets(vm)).collect();
    for ((vm, b), a) in others.iter().zip(&before).zip(&after) {
        assert_eq!(
            a,
            b,
            "{vm} received {} frames from Fabrikam1",
            a.saturating_sub(*b)
        );
    }
    assert!(
        fabrikam2 >= 3,
        "Fabrikam2 got {fabrikam2} frames, expected the 3 echo requests"
    );
    let r = run.finish();
    println!("{}", r.text);

    for (port, host) in [
        ("Contoso1", &r.a),
        ("Contoso3", &r.a),
        ("Contoso4", &r.a),
        ("Contoso2", &r.b),
        ("Contoso5", &r.b),
    ] {
        assert_eq!(
            host.port(port).1,
            0,
            "{port} was sent frames:\n{}",
            host.text
        );
    }
    assert!(r.b.port("Fabrikam2").1 >= 3, "{}", r.b.text);
    // HostA found no record for 10.0.0.6 in VSID 7001 (the ARP requests are lookup
    // misses, replicated to no one) and no route to 10.0.1.6 in Fabrikam's routing
    // domain (every echo request dropped).
    assert!(r.a.misses >= 1, "{}", r.a.text);
    assert!(r.a.drop_count("no_route") >= 5, "{}", r.a.text);
    let wire = check_wire(&run.pcap, &[5001, 6001]);
    assert_eq!(wire.nvgre, 0, "NVGRE from Fabrikam traffic: {wire:?}");
    assert_eq!(wire.nat, 6, "3 echo requests and 3 replies: {wire:?}");
    assert_eq!(
        wire.nat_pairs,
        [
            (NAT_PAS[0].to_string(), NAT_PAS[1].to_string()),
            (NAT_PAS[1].to_string(), NAT_PAS[0].to_string()),
        ]
        .into_iter()
        .collect(),
        "{wire:?}"
    );
    run.done();
}

/// IP rewrite (TranslationMethodNat) end to end: Fabrikam1 (CA 10.0.0.5, PA .51 on
/// HostA) and Fabrikam2 (CA 10.0.0.7, PA .52 on HostB). Ping both ways and 8 MiB over
/// TCP; on the wire only the PAs, every IPv4 and TCP checksum verified good by tshark.
#[test]
fn ip_rewrite_ping_and_tcp() {
    let Some(mut run) = Run::start("ip_rewrite", "generic", Capture::Full) else {
        return;
    };
    ping(&run.fabric, "Fabrikam1", "10.0.0.7");
    ping(&run.fabric, "Fabrikam2", "10.0.0.5");
    tcp_transfer(&run, "Fabrikam1", "Fabrikam2", "10.0.0.7", 8 << 20);
    // IP rewrite adds no header: no ICMP Fragmentation Needed, full-size segments.
    let route = run
        .fabric
        .exec("Fabrikam1", &["ip", "route", "get", "10.0.0.7"]);
    let route = text(&route.stdout);
    assert!(!route.contains(" mtu "), "a path MTU was learned:\n{route}");
    let r = run.finish();
    println!("{}", r.text);

    let wire = check_wire(&run.pcap, &[]);
    assert_eq!(wire.nat, wire.frames, "only IP rewrite: {wire:?}");
    // tcpdump may miss frames of a burst (it does not slow the sender down): the
    // counts come from hnv's counters, the capture checks the frames it has.
    assert!(wire.tcp >= 1_000, "too few TCP frames captured: {wire:?}");
    assert_eq!(
        wire.tcp_good, wire.tcp,
        "TCP checksums not verified good: {wire:?}"
    );
    // 8 MiB in segments of at most 1448 bytes: at least 5 794 data frames.
    assert!(r.a.port("Fabrikam1").0 >= 5_794, "{}", r.a.text);
    assert!(r.a.wire_tx >= 5_794, "{}", r.a.text);
    assert!(r.b.port("Fabrikam2").1 >= 5_794, "{}", r.b.text);
    run.done();
}
