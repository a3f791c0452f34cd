//! Policy → per-host tables, and next-hop selection over the seed fabric (packet-flow
//! figures 1-7 to 1-11 of the HNV internals chapter).

mod common;

use std::collections::BTreeSet;

use common::*;
use hnv_core::ids::Vsid;
use hnv_core::policy::{
    CompileError, LookupRecord, LookupTable, NeighborTable, NoNextHop, RecordType, RouteTable,
    Rule, Tables,
};
use proptest::prelude::*;

fn vsid(v: u32) -> Vsid {
    Vsid::new(v).unwrap()
}

#[test]
fn host_keeps_records_of_its_routing_domains() {
    let t = Tables::compile(&base(), "HostA").unwrap();
    assert_eq!(t.host(), "HostA");
    assert_eq!(t.own_pas(), &[ip("192.168.4.11")]);
    // Contoso (ports Contoso1, Contoso3) only: Fabrikam has no port on HostA.
    assert_eq!(t.routing_domains().len(), 1);
    assert_eq!(t.records().len(), 3);
    let r = t.by_ca(vsid(5001), ip("10.0.0.7")).unwrap();
    assert_eq!(
        (r.pa, r.mac),
        (ip("192.168.4.22"), mac("00-15-5D-00-00-02"))
    );
    assert_eq!(
        t.by_mac(vsid(5001), mac("00-15-5D-00-00-02")).unwrap().ca,
        ip("10.0.0.7")
    );
    assert!(t.by_ca(vsid(6001), ip("10.0.0.7")).is_none());
    assert!(t.vsid(vsid(6001)).is_none());
    let v = t.vsid(vsid(5001)).unwrap();
    assert_eq!(v.remote_pas, vec![ip("192.168.4.22")]);
    assert_eq!(
        t.neighbor(ip("192.168.4.1")),
        Some(mac("02-00-00-00-00-FE"))
    );
    assert_eq!(t.neighbor(ip("192.168.4.2")), None);
}

#[test]
fn overlapping_cas_stay_apart() {
    // Give HostA a Fabrikam port: both routing domains are kept, 10.0.0.7 resolves per VSID.
    let mut p = base();
    p.hosts[0]
        .ports
        .push(port("Fabrikam1", "00-15-5D-00-00-01", 6001));
    let t = Tables::compile(&p, "HostA").unwrap();
    assert_eq!(t.routing_domains().len(), 2);
    let c = t.by_ca(vsid(5001), ip("10.0.0.7")).unwrap();
    let f = t.by_ca(vsid(6001), ip("10.0.0.7")).unwrap();
    assert_eq!((c.vsid, f.vsid), (vsid(5001), vsid(6001)));
    let c_rd = t.vsid(vsid(5001)).unwrap().rdid_index;
    let f_rd = t.vsid(vsid(6001)).unwrap().rdid_index;
    assert_ne!(c_rd, f_rd);
    assert_eq!(
        t.customer_route(c_rd, ip("10.0.0.7")).unwrap().vsid,
        vsid(5001)
    );
    assert_eq!(
        t.customer_route(f_rd, ip("10.0.0.7")).unwrap().vsid,
        vsid(6001)
    );
}

#[test]
fn compile_errors() {
    assert_eq!(
        Tables::compile(&base(), "HostC").err(),
        Some(CompileError::UnknownHost("HostC".into()))
    );
    let mut p = base();
    p.lookup_records[4].virtual_subnet_id = 1;
    match Tables::compile(&p, "HostA") {
        Err(CompileError::Invalid(errs)) => {
            assert_eq!(
                errs[0].to_string(),
                "LookupRecords[4].VirtualSubnetID: 1 is below 4096"
            );
        }
        other => panic!("expected Invalid, got {:?}", other.err()),
    }
}

#[test]
fn figure_1_7_same_vsid_same_host_is_local() {
    let mut p = base();
    p.lookup_records.push(record(
        "10.0.0.8",
        5001,
        "00-15-5D-00-00-08",
        "192.168.4.11",
    ));
    p.hosts[0]
        .ports
        .push(port("Contoso4", "00-15-5D-00-00-08", 5001));
    let t = Tables::compile(&p, "HostA").unwrap();
    let nh = t.select_next_hop(vsid(5001), ip("10.0.0.8")).unwrap();
    assert_eq!(nh.local_port, Some(2));
    assert_eq!((nh.vsid, nh.mac), (vsid(5001), mac("00-15-5D-00-00-08")));
}

#[test]
fn figure_1_8_different_vsid_same_host_is_routed_locally() {
    let t = Tables::compile(&base(), "HostA").unwrap();
    let nh = t.select_next_hop(vsid(5001), ip("10.0.1.5")).unwrap();
    assert_eq!(nh.vsid, vsid(5002));
    assert_eq!(nh.local_port, Some(1));
    assert_eq!(nh.route.unwrap().prefix.to_string(), "10.0.1.0/24");
}

#[test]
fn figure_1_9_same_vsid_other_host_goes_to_its_pa() {
    let t = Tables::compile(&base(), "HostA").unwrap();
    let nh = t.select_next_hop(vsid(5001), ip("10.0.0.7")).unwrap();
    assert_eq!(
        (nh.pa, nh.vsid, nh.rule, nh.local_port),
        (ip("192.168.4.22"), vsid(5001), Rule::Encap, None)
    );
    // The provider route to that PA is on-link (192.168.4.0/24), not via the router.
    let pr = t.provider_route(ip("192.168.4.22")).unwrap();
    assert_eq!(pr.next_hop, None);
    assert_eq!(
        t.provider_route(ip("10.20.30.40")).unwrap().next_hop,
        Some(ip("192.168.4.1"))
    );
}

#[test]
fn figure_1_11_different_vsid_other_host_uses_destination_vsid() {
    let mut p = base();
    p.lookup_records.push(record(
        "10.0.1.9",
        5002,
        "00-15-5D-00-00-09",
        "192.168.4.22",
    ));
    let t = Tables::compile(&p, "HostA").unwrap();
    let nh = t.select_next_hop(vsid(5001), ip("10.0.1.9")).unwrap();
    assert_eq!(
        (nh.vsid, nh.pa, nh.local_port),
        (vsid(5002), ip("192.168.4.22"), None)
    );
}

#[test]
fn isolation_and_misses() {
    let t = Tables::compile(&base(), "HostA").unwrap();
    // Contoso has no route to 10.9.9.9, and no GatewayWildcard record.
    assert_eq!(
        t.select_next_hop(vsid(5001), ip("10.9.9.9")),
        Err(NoNextHop::NoRoute(ip("10.9.9.9")))
    );
    // Unknown CA in an on-link prefix.
    assert_eq!(
        t.select_next_hop(vsid(5001), ip("10.0.0.99")),
        Err(NoNextHop::NoRecord {
            vsid: vsid(5001),
            ca: ip("10.0.0.99")
        })
    );
    // Fabrikam's VSID is not on HostA at all.
    assert_eq!(
        t.select_next_hop(vsid(6001), ip("10.0.0.7")),
        Err(NoNextHop::UnknownSourceVsid(vsid(6001)))
    );
}

#[test]
fn l2only_records_turn_a_miss_into_learning() {
    let mut p = base();
    p.lookup_records.push(LookupRecord {
        record_type: RecordType::L2Only,
        ..record("0.0.0.0", 5001, "00-00-00-00-00-00", "192.168.4.22")
    });
    let t = Tables::compile(&p, "HostA").unwrap();
    assert_eq!(
        t.vsid(vsid(5001)).unwrap().l2only_pas,
        vec![ip("192.168.4.22")]
    );
    assert_eq!(
        t.select_next_hop(vsid(5001), ip("10.0.0.99")),
        Err(NoNextHop::Learn {
            vsid: vsid(5001),
            ca: ip("10.0.0.99")
        })
    );
}

/// `look_ahead_by_mac`, the second stage of a batch's lookups: with a large table it
/// names the very record `by_mac` returns; with a small one, and for a MAC without a
/// record, it says nothing (and `looks_ahead` tells a batch which it is).
#[test]
fn records_are_looked_up_ahead_only_in_large_tables() {
    let small = Tables::compile(&base(), "HostA").unwrap();
    let known = mac("00-15-5D-00-00-02");
    assert!(small.by_mac(vsid(5001), known).is_some());
    assert!(!small.looks_ahead());
    assert_eq!(small.look_ahead_by_mac(vsid(5001), known), None);

    let mut p = base();
    for i in 0..20_000u32 {
        let [_, b, c, d] = i.to_be_bytes();
        p.lookup_records.push(record(
            &format!("10.9.{}.{}", i / 250, 1 + i % 250),
            5001,
            &format!("02-99-00-{b:02X}-{c:02X}-{d:02X}"),
            "192.168.4.22",
        ));
    }
    let large = Tables::compile(&p, "HostA").unwrap();
    assert!(large.looks_ahead());
    for m in [known, mac("02-99-00-00-00-00"), mac("02-99-00-00-4E-1F")] {
        let i = large.look_ahead_by_mac(vsid(5001), m).expect("looked up");
        let r = large.record(i).unwrap();
        assert!(std::ptr::eq(r, large.by_mac(vsid(5001), m).unwrap()));
        assert_eq!(r.mac, m);
    }
    // No record: for another MAC, or the same MAC in another VSID.
    assert_eq!(
        large.look_ahead_by_mac(vsid(5001), mac("02-99-00-00-4E-20")),
        None
    );
    assert_eq!(
        large.look_ahead_by_mac(vsid(5002), mac("02-99-00-00-00-00")),
        None
    );
}

#[test]
fn gateway_routes_and_wildcards() {
    // A gateway VM 10.0.0.254 on HostB; the default route of Contoso points at it.
    let mut p = base();
    p.lookup_records.push(record(
        "10.0.0.254",
        5001,
        "00-15-5D-00-00-FE",
        "192.168.4.22",
    ));
    p.customer_routes
        .push(route(CONTOSO, 5001, "0.0.0.0/0", "10.0.0.254"));
    let t = Tables::compile(&p, "HostA").unwrap();
    let nh = t.select_next_hop(vsid(5001), ip("8.8.8.8")).unwrap();
    assert_eq!(
        (nh.target_ca, nh.pa, nh.mac),
        (
            ip("10.0.0.254"),
            ip("192.168.4.22"),
            mac("00-15-5D-00-00-FE")
        )
    );
    assert_eq!(nh.route.unwrap().prefix.to_string(), "0.0.0.0/0");
    // Without a route, a GatewayWildcard record of the source VSID catches it.
    let mut p = base();
    p.lookup_records.push(LookupRecord {
        record_type: RecordType::GatewayWildcard,
        ..record("0.0.0.0", 5001, "00-15-5D-00-00-FD", "192.168.4.22")
    });
    let t = Tables::compile(&p, "HostA").unwrap();
    let nh = t.select_next_hop(vsid(5001), ip("8.8.8.8")).unwrap();
    assert_eq!(
        (nh.pa, nh.mac, nh.route),
        (ip("192.168.4.22"), mac("00-15-5D-00-00-FD"), None)
    );
}

#[test]
fn nat_records_found_by_pa() {
    let mut p = base();
    p.lookup_records.push(LookupRecord {
        rule: Rule::Nat,
        ..record("10.0.0.20", 5001, "00-15-5D-00-00-20", "192.168.4.120")
    });
    let t = Tables::compile(&p, "HostA").unwrap();
    let r = t.by_pa(ip("192.168.4.120")).unwrap();
    assert_eq!((r.ca, r.rule), (ip("10.0.0.20"), Rule::Nat));
    assert!(
        t.by_pa(ip("192.168.4.22")).is_none(),
        "Encap records are not found by PA"
    );
}

#[test]
fn metric_breaks_ties_between_equal_prefixes() {
    let mut p = base();
    p.lookup_records.push(record(
        "10.0.0.250",
        5001,
        "00-15-5D-00-00-FA",
        "192.168.4.22",
    ));
    p.lookup_records.push(record(
        "10.0.0.251",
        5001,
        "00-15-5D-00-00-FB",
        "192.168.4.22",
    ));
    let mut worse = route(CONTOSO, 5001, "172.16.0.0/12", "10.0.0.250");
    worse.metric = 20;
    let mut better = route(CONTOSO, 5001, "172.16.0.0/12", "10.0.0.251");
    better.metric = 10;
    p.customer_routes.extend([worse, better]);
    let t = Tables::compile(&p, "HostA").unwrap();
    assert_eq!(
        t.select_next_hop(vsid(5001), ip("172.16.1.1"))
            .unwrap()
            .target_ca,
        ip("10.0.0.251")
    );
}

// ---- property: a random valid policy compiles and every record is found by its keys ------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_valid_policy_compiles_and_finds_every_record(
        domains in 1u8..4,
        subnets in 1u8..5,
        hosts in 1u8..4,
        vms in proptest::collection::vec(any::<(u8, u8, u8, u8)>(), 1..80),
    ) {
        let p = random_policy(domains, subnets, &vms, hosts);
        prop_assert_eq!(hnv_core::policy::validate(&p), Ok(()));
        for h in &p.hosts {
            let t = Tables::compile(&p, &h.name).unwrap();
            let kept: BTreeSet<u32> = h.ports.iter().map(|port| port.virtual_subnet_id).collect();
            for r in &p.lookup_records {
                let v = vsid(r.virtual_subnet_id);
                // Records of routing domains this host has ports in are all found.
                let rd = p.customer_routes.iter().find(|c| c.virtual_subnet_id == r.virtual_subnet_id).unwrap().routing_domain_id;
                let host_has_domain = p.customer_routes.iter().any(|c| c.routing_domain_id == rd && kept.contains(&c.virtual_subnet_id));
                if host_has_domain {
                    let by_ca = t.by_ca(v, r.customer_address).unwrap();
                    prop_assert_eq!((by_ca.pa, by_ca.mac), (r.provider_address, r.mac_address));
                    prop_assert_eq!(t.by_mac(v, r.mac_address).unwrap().ca, r.customer_address);
                    // Next hop from any VSID of the same domain reaches it.
                    let nh = t.select_next_hop(v, r.customer_address).unwrap();
                    prop_assert_eq!(nh.pa, r.provider_address);
                    prop_assert_eq!(nh.local_port.is_some(), h.provider_addresses.contains(&r.provider_address));
                } else {
                    prop_assert!(t.by_ca(v, r.customer_address).is_none());
                }
            }
        }
    }
}
