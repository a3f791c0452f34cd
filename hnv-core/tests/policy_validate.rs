//! Every validation rule: the base policy is valid, and one edit per test breaks exactly
//! the rule under test, reported with the record's array, index and field.

use hnv_core::ids::MacAddr;
use hnv_core::policy::{validate, LookupRecord, Policy, PolicyError, Problem, RecordType, Rule};

mod common;
use common::*;

/// Validates `p` and expects exactly one problem, printed as `expected`.
fn only_problem(p: &Policy) -> PolicyError {
    let errs = validate(p).expect_err("policy should be invalid");
    assert_eq!(errs.len(), 1, "{errs:#?}");
    errs[0]
}

fn expect(p: &Policy, line: &str) -> Problem {
    let e = only_problem(p);
    assert_eq!(e.to_string(), line);
    e.problem
}

#[test]
fn base_policy_is_valid() {
    assert_eq!(validate(&base()), Ok(()));
}

#[test]
fn vsid_range() {
    let mut p = base();
    p.lookup_records[4].virtual_subnet_id = 4095;
    expect(&p, "LookupRecords[4].VirtualSubnetID: 4095 is below 4096");
    let mut p = base();
    p.customer_routes[2].virtual_subnet_id = 16_777_215;
    let errs = validate(&p).unwrap_err();
    assert_eq!(
        errs[0].to_string(),
        "CustomerRoutes[2].VirtualSubnetID: 16777215 is above 16777214"
    );
    // Valid edges.
    let mut p = base();
    for r in p.lookup_records.iter_mut().chain([]) {
        if r.virtual_subnet_id == 6001 {
            r.virtual_subnet_id = 16_777_214;
        }
    }
    p.customer_routes[2].virtual_subnet_id = 16_777_214;
    assert_eq!(validate(&p), Ok(()));
}

#[test]
fn vsid_in_one_routing_domain() {
    let mut p = base();
    p.customer_routes
        .push(route(FABRIKAM, 5001, "10.9.0.0/24", "0.0.0.0"));
    expect(
        &p,
        "CustomerRoutes[3].RoutingDomainID: VSID 5001 is in routing domain \
         {11111111-2222-3333-4444-000000000000} and in {22222222-2222-3333-4444-000000000000}",
    );
    // A second route of the same VSID in the same domain is fine.
    let mut p = base();
    p.customer_routes
        .push(route(CONTOSO, 5001, "10.0.8.0/24", "10.0.0.5"));
    assert_eq!(validate(&p), Ok(()));
}

#[test]
fn record_vsid_needs_a_routing_domain() {
    let mut p = base();
    p.lookup_records.push(record(
        "10.7.0.5",
        7001,
        "00-15-5D-00-00-77",
        "192.168.4.22",
    ));
    expect(
        &p,
        "LookupRecords[5].VirtualSubnetID: VSID 7001 has no customer route, so no routing domain",
    );
}

#[test]
fn ca_unique_within_routing_domain_overlap_across() {
    // base() already reuses 10.0.0.5 across Contoso and Fabrikam: valid.
    let mut p = base();
    p.lookup_records.push(record(
        "10.0.0.7",
        5002,
        "00-15-5D-00-00-09",
        "192.168.4.22",
    ));
    expect(&p, "LookupRecords[5].CustomerAddress: 10.0.0.7 is already used in this routing domain by LookupRecords[1]");
}

#[test]
fn mac_unique_within_routing_domain() {
    let mut p = base();
    p.lookup_records.push(record(
        "10.0.1.9",
        5002,
        "00-15-5D-00-00-01",
        "192.168.4.22",
    ));
    expect(
        &p,
        "LookupRecords[5].MACAddress: 00-15-5D-00-00-01 is already used in this routing domain by LookupRecords[0]",
    );
    // The same adapter with a second CA (same VSID and PA) is fine.
    let mut p = base();
    p.lookup_records.push(record(
        "10.0.0.9",
        5001,
        "00-15-5D-00-00-01",
        "192.168.4.11",
    ));
    assert_eq!(validate(&p), Ok(()));
}

#[test]
fn one_address_family_per_routing_domain() {
    let mut p = base();
    p.customer_routes
        .push(route(CONTOSO, 5003, "fd00:3::/64", "::"));
    p.lookup_records.push(record(
        "fd00:3::5",
        5003,
        "00-15-5D-00-00-31",
        "192.168.4.22",
    ));
    expect(
        &p,
        "LookupRecords[5].CustomerAddress: routing domain {11111111-2222-3333-4444-000000000000} mixes IPv4 and IPv6 customer addresses",
    );
    // IPv6 CAs in their own routing domain (over IPv4 PAs) are fine.
    let mut p = base();
    let v6 = "{33333333-2222-3333-4444-000000000000}";
    p.customer_routes.push(route(v6, 8001, "fd00:3::/64", "::"));
    p.lookup_records.push(record(
        "fd00:3::5",
        8001,
        "00-15-5D-00-00-31",
        "192.168.4.22",
    ));
    assert_eq!(validate(&p), Ok(()));
}

#[test]
fn gateway_address_is_reserved() {
    let mut p = base();
    p.lookup_records[1].customer_address = ip("10.0.0.1");
    expect(&p, "LookupRecords[1].CustomerAddress: 10.0.0.1 is the gateway (first address) of 10.0.0.0/24, reserved for HNV");
    let mut p = base();
    p.lookup_records[1].customer_address = ip("10.0.0.2");
    assert_eq!(validate(&p), Ok(()));
}

#[test]
fn wildcard_records_carry_the_unspecified_ca() {
    let mut p = base();
    let mut l2 = record("0.0.0.0", 5001, "00-00-00-00-00-00", "192.168.4.22");
    l2.record_type = RecordType::L2Only;
    p.lookup_records.push(l2.clone());
    let mut gw = record("0.0.0.0", 5001, "00-15-5D-00-00-66", "192.168.4.22");
    gw.record_type = RecordType::GatewayWildcard;
    p.lookup_records.push(gw);
    assert_eq!(validate(&p), Ok(()));
    l2.customer_address = ip("10.0.0.50");
    p.lookup_records.push(l2);
    expect(&p, "LookupRecords[7].CustomerAddress: 10.0.0.50: L2Only and GatewayWildcard records use 0.0.0.0 or ::");
    let mut p = base();
    p.lookup_records[0].customer_address = ip("0.0.0.0");
    expect(&p, "LookupRecords[0].CustomerAddress: the unspecified address is only for L2Only/GatewayWildcard records");
}

#[test]
fn use_vm_mac_only_with_nat() {
    let mut p = base();
    p.lookup_records[0].use_vm_mac_address = true;
    expect(
        &p,
        "LookupRecords[0].UseVmMACAddress: true is only allowed with Rule TranslationMethodNat",
    );
    let mut p = base();
    p.lookup_records.push(LookupRecord {
        rule: Rule::Nat,
        use_vm_mac_address: true,
        ..record("10.0.0.20", 5001, "00-15-5D-00-00-20", "192.168.4.120")
    });
    assert_eq!(validate(&p), Ok(()));
}

#[test]
fn nat_needs_its_own_pa() {
    let mut p = base();
    p.lookup_records.push(LookupRecord {
        rule: Rule::Nat,
        ..record("10.0.0.20", 5001, "00-15-5D-00-00-20", "192.168.4.11")
    });
    expect(&p, "LookupRecords[5].ProviderAddress: 192.168.4.11 is also used by LookupRecords[0]; IP rewrite needs one PA per CA");
}

#[test]
fn next_hops_must_be_reachable() {
    let mut p = base();
    p.customer_routes
        .push(route(CONTOSO, 5001, "10.8.0.0/16", "10.0.9.1"));
    expect(
        &p,
        "CustomerRoutes[3].NextHop: 10.0.9.1 is not inside any on-link prefix",
    );
    let mut p = base();
    p.customer_routes
        .push(route(CONTOSO, 5001, "10.8.0.0/16", "fd00::1"));
    expect(
        &p,
        "CustomerRoutes[3].NextHop: fd00::1 is not of the destination's address family",
    );
    let mut p = base();
    p.provider_routes[0].next_hop = ip("10.1.1.1");
    expect(
        &p,
        "ProviderRoutes[0].NextHop: 10.1.1.1 is not inside any on-link prefix",
    );
    // Fabrikam's on-link prefix does not make a Contoso next hop reachable.
    let mut p = base();
    p.customer_routes[2].destination_prefix = "10.0.9.0/24".parse().unwrap();
    p.customer_routes
        .push(route(CONTOSO, 5001, "10.8.0.0/16", "10.0.9.1"));
    assert_eq!(
        validate(&p).unwrap_err()[0].problem,
        Problem::NextHopUnreachable(ip("10.0.9.1"))
    );
}

#[test]
fn ports_must_match_a_local_record() {
    let mut p = base();
    p.hosts[1]
        .ports
        .push(port("Contoso3", "00-15-5D-00-00-03", 5002)); // record is on HostA
    expect(
        &p,
        "Hosts[1].Ports[1].VirtualSubnetID: no lookup record with VirtualSubnetID 5002 and MACAddress 00-15-5D-00-00-03 for a provider address of this host",
    );
    let mut p = base();
    p.hosts[0].ports[0].virtual_subnet_id = 6001; // Fabrikam1 uses the same MAC on HostA
    assert_eq!(validate(&p), Ok(()));
    let mut p = base();
    p.hosts[0].ports[0].virtual_subnet_id = 0; // not virtualized: no record needed
    assert_eq!(validate(&p), Ok(()));
    p.hosts[0].ports[0].virtual_subnet_id = 100;
    expect(
        &p,
        "Hosts[0].Ports[0].VirtualSubnetID: 100 is reserved (use 0 or 4096..=16777214)",
    );
}

#[test]
fn host_level_rules() {
    let mut p = base();
    p.hosts[1].name = "HostA".into();
    expect(&p, "Hosts[1].Name: name already used");
    let mut p = base();
    p.hosts[1].provider_addresses.push(ip("192.168.4.11"));
    expect(
        &p,
        "Hosts[1].ProviderAddresses[1]: 192.168.4.11 is owned by another host too",
    );
    let mut p = base();
    p.hosts[0].gateway_mac_address = MacAddr::BROADCAST;
    expect(
        &p,
        "Hosts[0].GatewayMACAddress: FF-FF-FF-FF-FF-FF is not a unicast MAC address",
    );
    let mut p = base();
    p.hosts[0].uplink.mtu = 500;
    expect(&p, "Hosts[0].Uplink.MTU: 500 is too small");
    let mut p = base();
    p.hosts[0]
        .ports
        .push(port("Contoso1b", "00-15-5D-00-00-01", 5001));
    expect(&p, "Hosts[0].Ports[2].MACAddress: 00-15-5D-00-00-01 is used by another port of this host in this VSID");
    let mut p = base();
    p.hosts[0].neighbors[0].mac_address = mac("01-00-5E-00-00-01");
    expect(
        &p,
        "Hosts[0].Neighbors[0].MACAddress: 01-00-5E-00-00-01 is not a unicast MAC address",
    );
}

#[test]
fn provider_address_rules() {
    let mut p = base();
    p.provider_addresses[0].prefix_length = 33;
    expect(
        &p,
        "ProviderAddresses[0].PrefixLength: 33 is longer than the address",
    );
    let mut p = base();
    p.provider_addresses[1].vlan_id = 4095;
    expect(&p, "ProviderAddresses[1].VlanID: 4095 is above 4094");
    let mut p = base();
    p.lookup_records[0].provider_address = ip("224.0.0.1");
    let errs = validate(&p).unwrap_err();
    assert_eq!(
        errs[0].to_string(),
        "LookupRecords[0].ProviderAddress: 224.0.0.1 cannot be a provider address"
    );
    let mut p = base();
    p.lookup_records[0].mac_address = MacAddr::ZERO;
    let errs = validate(&p).unwrap_err();
    assert_eq!(
        errs[0].to_string(),
        "LookupRecords[0].MACAddress: 00-00-00-00-00-00 is not a unicast MAC address"
    );
}

#[test]
fn all_problems_are_collected() {
    let mut p = base();
    p.lookup_records[0].virtual_subnet_id = 1;
    p.lookup_records[1].customer_address = ip("10.0.0.1");
    p.hosts[1].uplink.mtu = 100;
    let errs = validate(&p).unwrap_err();
    let lines: Vec<String> = errs.iter().map(ToString::to_string).collect();
    assert!(
        lines.contains(&"LookupRecords[0].VirtualSubnetID: 1 is below 4096".to_string()),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("LookupRecords[1].CustomerAddress: 10.0.0.1 is the gateway")),
        "{lines:#?}"
    );
    assert!(
        lines.contains(&"Hosts[1].Uplink.MTU: 100 is too small".to_string()),
        "{lines:#?}"
    );
}

#[test]
fn l2only_record_satisfies_a_learning_port() {
    // Figure 1-10: the VM's only record is L2Only (CA 0.0.0.0, its MAC, its host's PA).
    let mut p = base();
    p.lookup_records.push(LookupRecord {
        record_type: RecordType::L2Only,
        ..record("0.0.0.0", 5001, "00-15-5D-00-00-06", "192.168.4.22")
    });
    p.hosts[1]
        .ports
        .push(port("Contoso6", "00-15-5D-00-00-06", 5001));
    assert_eq!(validate(&p), Ok(()));
    // A GatewayWildcard record does not make a port legitimate.
    p.lookup_records.last_mut().unwrap().record_type = RecordType::GatewayWildcard;
    expect(
        &p,
        "Hosts[1].Ports[1].VirtualSubnetID: no lookup record with VirtualSubnetID 5001 and MACAddress 00-15-5D-00-00-06 for a provider address of this host",
    );
}
