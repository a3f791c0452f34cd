//! `FixedTables` (fixed capacity, no allocation) against `Tables` (heap, compiled from a
//! policy): the same answer to every trait query, and a typed error for every full part.

mod common;

use std::collections::BTreeSet;
use std::net::IpAddr;

use common::*;
use hnv_core::ids::{MacAddr, Vsid};
use hnv_core::policy::{
    validate, CompileError, FixedCompileError, LookupEntry, LookupRecord, LookupTable,
    NeighborTable, Policy, RecordType, RouteTable, Rule, SubnetInfo, Tables,
};
use hnv_core::switch::{HostTables, PortId};
use hnv_core::table::fixed::{FillError, FixedTables, Part};
use proptest::prelude::*;

/// Room for the seed fabric and the random policies below.
type Roomy = FixedTables<256, 64, 8, 64, 16>;

fn vsid(v: u32) -> Vsid {
    Vsid::new(v).unwrap()
}

/// What a table says about a subnet, with gateway indices resolved to their records (the
/// two implementations may number records differently).
type SubnetView = (
    hnv_core::policy::Rdid,
    u32,
    Vec<IpAddr>,
    Vec<IpAddr>,
    Vec<Option<LookupEntry>>,
);

fn subnet_view<T: LookupTable>(t: &T, v: Vsid) -> Option<SubnetView> {
    let s = t.vsid(v)?;
    Some((
        s.rdid(),
        s.rdid_index(),
        s.remote_pas().to_vec(),
        s.l2only_pas().to_vec(),
        s.gateways().iter().map(|&i| t.record(i).copied()).collect(),
    ))
}

/// Asks both tables every query the policy gives keys for (and some it does not) and
/// compares the answers; returns how many queries found something, so a caller can tell
/// the comparison was not between two empty tables.
fn same_answers<F>(tables: &Tables, fixed: &F, policy: &Policy) -> usize
where
    F: LookupTable + RouteTable + NeighborTable,
{
    let mut found = 0;
    let mut count = |hit: bool| found += usize::from(hit);

    let mut vsids: BTreeSet<u32> = policy
        .customer_routes
        .iter()
        .map(|r| r.virtual_subnet_id)
        .collect();
    vsids.extend(policy.lookup_records.iter().map(|r| r.virtual_subnet_id));
    vsids.insert(4096);
    let mut cas: BTreeSet<IpAddr> = policy
        .lookup_records
        .iter()
        .map(|r| r.customer_address)
        .collect();
    cas.insert(ip("10.0.0.99"));
    cas.insert(ip("fd00::5"));
    let mut macs: BTreeSet<MacAddr> = policy
        .lookup_records
        .iter()
        .map(|r| r.mac_address)
        .collect();
    macs.insert(mac("02-99-99-99-99-99"));

    for &number in &vsids {
        let v = vsid(number);
        let sv = subnet_view(tables, v);
        assert_eq!(sv, subnet_view(fixed, v), "vsid({v})");
        count(sv.is_some());
        for &ca in &cas {
            let a = tables.by_ca(v, ca).copied();
            assert_eq!(a, fixed.by_ca(v, ca).copied(), "by_ca({v}, {ca})");
            count(a.is_some());
        }
        for &m in &macs {
            let a = tables.by_mac(v, m).copied();
            assert_eq!(a, fixed.by_mac(v, m).copied(), "by_mac({v}, {m})");
            count(a.is_some());
        }
    }

    let mut pas: BTreeSet<IpAddr> = policy
        .lookup_records
        .iter()
        .map(|r| r.provider_address)
        .collect();
    pas.extend(policy.provider_addresses.iter().map(|a| a.provider_address));
    pas.extend(
        policy
            .hosts
            .iter()
            .flat_map(|h| h.neighbors.iter().map(|n| n.ip_address)),
    );
    pas.extend([ip("8.8.8.8"), ip("2001:db8::1")]);
    for &pa in &pas {
        let a = tables.by_pa(pa).copied();
        assert_eq!(a, fixed.by_pa(pa).copied(), "by_pa({pa})");
        count(a.is_some());
        let a = tables.provider_route(pa).copied();
        assert_eq!(a, fixed.provider_route(pa).copied(), "provider_route({pa})");
        count(a.is_some());
        let a = tables.neighbor(pa);
        assert_eq!(a, fixed.neighbor(pa), "neighbor({pa})");
        count(a.is_some());
    }

    let mut dsts = cas;
    for r in &policy.customer_routes {
        dsts.insert(r.destination_prefix.addr());
        dsts.insert(r.next_hop);
    }
    dsts.extend([ip("8.8.8.8"), ip("10.255.0.1")]);
    let domains = tables.routing_domains().len() as u32;
    for rd in 0..=domains {
        for &d in &dsts {
            let a = tables.customer_route(rd, d).copied();
            assert_eq!(
                a,
                fixed.customer_route(rd, d).copied(),
                "customer_route({rd}, {d})"
            );
            count(a.is_some());
        }
    }
    found
}

/// The seed fabric plus one record or route of every other kind: an L2Only record, a
/// gateway VM with a default route through it, a GatewayWildcard record, a Nat record, an
/// IPv6 routing domain with a VM on HostB.
fn rich_seed() -> Policy {
    let mut p = base();
    p.lookup_records.push(LookupRecord {
        record_type: RecordType::L2Only,
        ..record("0.0.0.0", 5001, "00-15-5D-00-00-10", "192.168.4.22")
    });
    p.lookup_records.push(record(
        "10.0.0.254",
        5001,
        "00-15-5D-00-00-FE",
        "192.168.4.22",
    ));
    p.customer_routes
        .push(route(CONTOSO, 5001, "0.0.0.0/0", "10.0.0.254"));
    p.lookup_records.push(LookupRecord {
        record_type: RecordType::GatewayWildcard,
        ..record("0.0.0.0", 5002, "00-15-5D-00-00-FD", "192.168.4.22")
    });
    p.lookup_records.push(LookupRecord {
        rule: Rule::Nat,
        ..record("10.0.0.20", 5001, "00-15-5D-00-00-20", "192.168.4.120")
    });
    let ipv6_domain = "{33333333-2222-3333-4444-000000000000}";
    p.customer_routes
        .push(route(ipv6_domain, 7001, "fd00:7001::/64", "::"));
    p.lookup_records.push(record(
        "fd00:7001::5",
        7001,
        "00-15-5D-00-00-30",
        "192.168.4.22",
    ));
    p.hosts[1].ports.push(port("V6", "00-15-5D-00-00-30", 7001));
    p
}

#[test]
fn seed_answers_match_tables() {
    let p = base();
    for h in ["HostA", "HostB"] {
        let t = Tables::compile(&p, h).unwrap();
        let f = Roomy::compile(&p, h).unwrap();
        assert!(same_answers(&t, &f, &p) > 10, "{h}");
        // Nothing extra kept: the same records, in the same order.
        assert_eq!(f.records(), t.records());
    }
}

#[test]
fn rich_seed_answers_match_tables() {
    let p = rich_seed();
    assert_eq!(validate(&p), Ok(()));
    for h in ["HostA", "HostB"] {
        let t = Tables::compile(&p, h).unwrap();
        let mut f = Box::new(Roomy::new());
        f.compile_into(&p, h).unwrap();
        assert!(same_answers(&t, &*f, &p) > 10, "{h}");
        assert_eq!(f.records(), t.records());
    }
    // The parts the plain seed does not exercise are there.
    let f = Roomy::compile(&p, "HostA").unwrap();
    assert_eq!(
        f.vsid(vsid(5001)).unwrap().l2only_pas(),
        [ip("192.168.4.22")]
    );
    assert_eq!(f.vsid(vsid(5002)).unwrap().gateways().len(), 1);
    assert_eq!(f.by_pa(ip("192.168.4.120")).unwrap().rule, Rule::Nat);
}

#[test]
fn compile_errors_are_those_of_tables() {
    let p = base();
    assert_eq!(
        Roomy::compile(&p, "HostZ").unwrap_err(),
        FixedCompileError::Compile(CompileError::UnknownHost("HostZ".into()))
    );
    let mut bad = base();
    bad.lookup_records[0].virtual_subnet_id = 4095;
    assert!(matches!(
        Roomy::compile(&bad, "HostA"),
        Err(FixedCompileError::Compile(CompileError::Invalid(_)))
    ));
    // HostA keeps Contoso's 3 records; a table for 2 is too small and is left empty.
    let mut small: FixedTables<3, 8, 4, 8, 4> = FixedTables::new();
    assert_eq!(
        small.compile_into(&p, "HostA"),
        Err(FixedCompileError::Fill(FillError::Full(Part::Records)))
    );
    assert!(small.records().is_empty());
    assert!(small.vsid(vsid(5001)).is_none());
    assert!(small.own_pas().is_empty());
}

/// A Static record in 5001 on `pa` with CA 10.0.0.`i`.
fn vm(i: u8, pa: &str) -> LookupEntry {
    LookupEntry {
        ca: IpAddr::from([10, 0, 0, i]),
        vsid: vsid(5001),
        mac: MacAddr([0, 0x15, 0x5d, 0, 0, i]),
        pa: ip(pa),
        rule: Rule::Encap,
        record_type: RecordType::Static,
        use_vm_mac: false,
    }
}

#[test]
fn fill_records_until_full() {
    let mut t: FixedTables<16, 4, 1, 4, 4> = FixedTables::new();
    assert_eq!(FixedTables::<16, 4, 1, 4, 4>::RECORD_CAPACITY, 14);
    let contoso = CONTOSO.parse().unwrap();
    t.add_own_pa(ip("192.168.4.11")).unwrap();
    t.add_customer_route(contoso, vsid(5001), "10.0.0.0/24".parse().unwrap(), None, 0)
        .unwrap();
    // A record of a subnet the host does not have is not kept (and takes no room).
    let mut other = vm(2, "192.168.4.11");
    other.vsid = vsid(7001);
    assert_eq!(t.add_record(other), Ok(false));
    let mut added = 0;
    let err = loop {
        match t.add_record(vm(2 + added, "192.168.4.11")) {
            Ok(kept) => {
                assert!(kept);
                added += 1;
                assert!(added <= 14, "more records than the capacity");
            }
            Err(e) => break e,
        }
    };
    assert_eq!(err, FillError::Full(Part::Records));
    assert_eq!(added, 14);
    assert_eq!(t.records().len(), 14);
    // The refused record left nothing behind; every kept one is still found.
    assert_eq!(t.by_ca(vsid(5001), IpAddr::from([10, 0, 0, 16])), None);
    for i in 2..16 {
        let r = t.by_ca(vsid(5001), IpAddr::from([10, 0, 0, i])).unwrap();
        assert_eq!(r.mac, MacAddr([0, 0x15, 0x5d, 0, 0, i]));
        assert_eq!(t.by_mac(vsid(5001), r.mac), Some(r));
    }
    assert!(
        t.vsid(vsid(5001)).unwrap().remote_pas().is_empty(),
        "all local"
    );
}

#[test]
fn full_own_pas_and_routing_domains() {
    let contoso = CONTOSO.parse().unwrap();
    let fabrikam = FABRIKAM.parse().unwrap();
    let prefix = |s: &str| s.parse().unwrap();
    let mut t: FixedTables<16, 4, 1, 4, 4> = FixedTables::new();

    // Own PAs: 4; a repeated one takes no room.
    for i in 1..=4 {
        t.add_own_pa(IpAddr::from([192, 168, 4, i])).unwrap();
    }
    t.add_own_pa(ip("192.168.4.1")).unwrap();
    assert_eq!(
        t.add_own_pa(ip("192.168.4.5")),
        Err(FillError::Full(Part::OwnPas))
    );

    // Routing domains: 1.
    t.add_customer_route(contoso, vsid(5001), prefix("10.0.0.0/24"), None, 0)
        .unwrap();
    assert_eq!(
        t.add_customer_route(fabrikam, vsid(6001), prefix("10.0.0.0/24"), None, 0),
        Err(FillError::Full(Part::RoutingDomains))
    );
    assert!(t.vsid(vsid(6001)).is_none(), "refused route left no subnet");
    assert_eq!(t.routing_domains().count(), 1);

    // A VSID stays in its routing domain.
    let mut t2: FixedTables<16, 4, 2, 4, 4> = FixedTables::new();
    t2.add_customer_route(contoso, vsid(5001), prefix("10.0.0.0/24"), None, 0)
        .unwrap();
    assert_eq!(
        t2.add_customer_route(fabrikam, vsid(5001), prefix("10.0.1.0/24"), None, 0),
        Err(FillError::VsidInOtherDomain(vsid(5001)))
    );
    assert_eq!(
        t2.routing_domains().count(),
        1,
        "refused route left no domain"
    );
}

#[test]
fn full_subnets_and_customer_routes() {
    let contoso = CONTOSO.parse().unwrap();
    let prefix = |s: &str| s.parse().unwrap();
    let mut t: FixedTables<16, 4, 1, 4, 4> = FixedTables::new();
    t.add_customer_route(contoso, vsid(5001), prefix("10.0.0.0/24"), None, 0)
        .unwrap();

    // Subnets: 4 slots hold 3.
    t.add_customer_route(contoso, vsid(5002), prefix("10.0.2.0/24"), None, 0)
        .unwrap();
    t.add_customer_route(contoso, vsid(5003), prefix("10.0.3.0/24"), None, 0)
        .unwrap();
    assert_eq!(
        t.add_customer_route(contoso, vsid(5004), prefix("10.0.4.0/24"), None, 0),
        Err(FillError::Full(Part::Subnets))
    );
    assert!(t.customer_route(0, ip("10.0.4.1")).is_none());

    // Customer routes of a domain: 4 prefixes; a held prefix is still accepted.
    t.add_customer_route(
        contoso,
        vsid(5001),
        prefix("0.0.0.0/0"),
        Some(ip("10.0.0.254")),
        0,
    )
    .unwrap();
    t.add_customer_route(contoso, vsid(5001), prefix("10.0.0.0/24"), None, 7)
        .unwrap();
    assert_eq!(
        t.add_customer_route(contoso, vsid(5001), prefix("10.9.0.0/16"), None, 0),
        Err(FillError::Full(Part::CustomerRoutes))
    );
    assert_eq!(
        t.customer_route(0, ip("10.9.0.1")).unwrap().prefix,
        prefix("0.0.0.0/0")
    );
    assert_eq!(t.customer_route(0, ip("10.0.0.1")).unwrap().metric, 0);
}

#[test]
fn full_subnet_lists() {
    let contoso = CONTOSO.parse().unwrap();
    let mut t: FixedTables<16, 4, 1, 4, 4> = FixedTables::new();
    t.add_own_pa(ip("192.168.4.11")).unwrap();
    t.add_customer_route(contoso, vsid(5001), "10.0.0.0/24".parse().unwrap(), None, 0)
        .unwrap();

    // A subnet's remote-PA list: 4.
    for i in 0..4u8 {
        assert_eq!(
            t.add_record(vm(10 + i, &format!("192.168.5.{i}"))),
            Ok(true)
        );
    }
    assert_eq!(
        t.add_record(vm(20, "192.168.5.200")),
        Err(FillError::Full(Part::SubnetList))
    );
    assert_eq!(t.by_ca(vsid(5001), ip("10.0.0.20")), None);
    assert_eq!(t.records().len(), 4);
    assert_eq!(t.vsid(vsid(5001)).unwrap().remote_pas().len(), 4);
    // A record on a PA the list holds already still fits.
    assert_eq!(t.add_record(vm(21, "192.168.5.0")), Ok(true));

    // Gateway list of a subnet: 4.
    let mut gw = vm(0, "192.168.5.0");
    gw.ca = ip("0.0.0.0");
    gw.record_type = RecordType::GatewayWildcard;
    let mut t3: FixedTables<16, 4, 1, 4, 4> = FixedTables::new();
    t3.add_customer_route(contoso, vsid(5001), "10.0.0.0/24".parse().unwrap(), None, 0)
        .unwrap();
    for _ in 0..4 {
        assert_eq!(t3.add_record(gw), Ok(true));
    }
    assert_eq!(t3.add_record(gw), Err(FillError::Full(Part::SubnetList)));
    assert_eq!(t3.records().len(), 4);
}

#[test]
fn full_provider_routes_and_neighbors() {
    let prefix = |s: &str| s.parse().unwrap();
    let mut t: FixedTables<16, 4, 1, 4, 4> = FixedTables::new();

    // Provider routes: 4.
    for i in 0..4u8 {
        t.add_provider_route(prefix(&format!("172.16.{i}.0/24")), None, 0)
            .unwrap();
    }
    assert_eq!(
        t.add_provider_route(prefix("0.0.0.0/0"), Some(ip("192.168.4.1")), 0),
        Err(FillError::Full(Part::ProviderRoutes))
    );
    assert_eq!(t.provider_route(ip("8.8.8.8")), None);

    // Neighbours: 4 slots hold 3; replacing one still works.
    for i in 1..=3u8 {
        t.add_neighbor(IpAddr::from([192, 168, 4, i]), MacAddr([2, 0, 0, 0, 0, i]))
            .unwrap();
    }
    assert_eq!(
        t.add_neighbor(ip("192.168.4.4"), MacAddr([2; 6])),
        Err(FillError::Full(Part::Neighbors))
    );
    t.add_neighbor(ip("192.168.4.1"), MacAddr([2; 6])).unwrap();
    assert_eq!(t.neighbor(ip("192.168.4.1")), Some(MacAddr([2; 6])));
    assert_eq!(t.neighbor(ip("192.168.4.4")), None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_valid_policy_answers_match_tables(
        domains in 1u8..4,
        subnets in 1u8..5,
        hosts in 1u8..4,
        vms in proptest::collection::vec(any::<(u8, u8, u8, u8)>(), 1..80),
    ) {
        let p = random_policy(domains, subnets, &vms, hosts);
        prop_assert_eq!(validate(&p), Ok(()));
        let mut found = 0;
        for h in &p.hosts {
            let t = Tables::compile(&p, &h.name).unwrap();
            let mut f = Box::new(Roomy::new());
            f.compile_into(&p, &h.name).unwrap();
            found += same_answers(&t, &*f, &p);
            prop_assert_eq!(f.records(), t.records());
            // The host half the switch reads (HostTables) answers the same too.
            prop_assert_eq!(HostTables::own_pas(&*f), HostTables::own_pas(&t));
            prop_assert_eq!(HostTables::uplink_mac(&*f), HostTables::uplink_mac(&t));
            prop_assert_eq!(HostTables::uplink_mtu(&*f), HostTables::uplink_mtu(&t));
            prop_assert_eq!(HostTables::gateway_mac(&*f), HostTables::gateway_mac(&t));
            prop_assert_eq!(HostTables::port_count(&*f), h.ports.len());
            for i in 0..h.ports.len() {
                let id = PortId(u16::try_from(i).unwrap());
                prop_assert_eq!(HostTables::port(&*f, id), HostTables::port(&t, id));
            }
        }
        // At least one host has a VM, so its records were found.
        prop_assert!(found > 0);
    }
}

/// Both table kinds put an own PA on its `VlanID` (the switch tags what it sends from it)
/// and leave the others untagged.
#[test]
fn pa_vlans_match_tables() {
    let mut p = base();
    p.provider_addresses[0].vlan_id = 7;
    let t = Tables::compile(&p, "HostA").unwrap();
    let mut f = Box::new(Roomy::new());
    f.compile_into(&p, "HostA").unwrap();
    let pa = p.provider_addresses[0].provider_address;
    assert_eq!(HostTables::pa_vlan(&t, pa), Some(7));
    assert_eq!(HostTables::pa_vlan(&*f, pa), Some(7));
    // HostB's PA has VLAN 0 (none), and it is not HostA's anyway.
    let other = p.provider_addresses[1].provider_address;
    assert_eq!(HostTables::pa_vlan(&t, other), None);
    assert_eq!(HostTables::pa_vlan(&*f, other), None);
    // Setting 0 takes a PA off its VLAN.
    f.set_pa_vlan(pa, 0).unwrap();
    assert_eq!(f.pa_vlan(pa), None);
}
