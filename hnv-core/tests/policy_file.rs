//! The JSON policy file: the DESIGN.md §5 example and the seed file parse, every field and
//! MAC spelling is read, every kind of bad input is a `FileError` naming its path and
//! position (never a panic), load → save → load is the identity, and `load` reports every
//! policy problem.

use std::net::IpAddr;

use hnv_core::ids::MacAddr;
use hnv_core::policy::file::{from_json, load, to_json, FileError, LoadError};
use hnv_core::policy::{
    validate, CustomerRoute, Host, LookupRecord, Neighbor, Policy, Port, Prefix, ProviderAddress,
    ProviderRoute, Rdid, RecordType, Rule, Uplink,
};
use proptest::prelude::*;

/// DESIGN.md §5, verbatim.
const DESIGN_EXAMPLE: &str = r#"{
  "LookupRecords": [{"CustomerAddress": "10.0.0.5", "VirtualSubnetID": 5001,
    "MACAddress": "00155D000001", "ProviderAddress": "192.168.4.11",
    "Rule": "TranslationMethodEncap", "Type": "Static", "VMName": "Contoso1"}],
  "CustomerRoutes": [{"RoutingDomainID": "{11111111-2222-3333-4444-000000000000}",
    "VirtualSubnetID": 5001, "DestinationPrefix": "10.0.0.0/24", "NextHop": "0.0.0.0",
    "Metric": 0}],
  "ProviderAddresses": [{"ProviderAddress": "192.168.4.11", "InterfaceIndex": 2,
    "PrefixLength": 24, "VlanID": 0}],
  "ProviderRoutes": [{"DestinationPrefix": "0.0.0.0/0", "InterfaceIndex": 2,
    "NextHop": "192.168.4.1", "Metric": 0}],
  "Hosts": [{"Name": "HostA", "ProviderAddresses": ["192.168.4.11"],
    "Uplink": {"Interface": "eth1", "MACAddress": "02-00-00-00-0A-01", "MTU": 1500},
    "GatewayMACAddress": "02-00-5E-00-01-01",
    "Neighbors": [{"IPAddress": "192.168.4.22", "MACAddress": "02-00-00-00-0B-01"}],
    "Ports": [{"Name": "Contoso1", "MACAddress": "00155D000001", "VirtualSubnetID": 5001,
               "Interface": "vm-contoso1"}]}]
}"#;

const SEED: &str = include_str!("../../docs/examples/seed-policy.json");

const CONTOSO: &str = "{11111111-2222-3333-4444-000000000000}";
const FABRIKAM: &str = "{22222222-2222-3333-4444-000000000000}";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn mac(s: &str) -> MacAddr {
    s.parse().unwrap()
}

fn parse_err(text: &str) -> FileError {
    match from_json(text) {
        Ok(p) => panic!("accepted {text}: {p:?}"),
        Err(e) => e,
    }
}

/// Parses `text`, expects an error at `path` whose message starts with `message`.
fn expect_err(text: &str, path: &str, message: &str) -> FileError {
    let e = parse_err(text);
    assert_eq!(e.path, path, "{e}");
    assert!(e.message.starts_with(message), "{e}");
    assert!(e.line >= 1, "{e}");
    e
}

/// A lookup record with the mandatory fields, `extra` appended inside the object.
fn record_json(extra: &str) -> String {
    format!(
        r#"{{"LookupRecords": [{{"CustomerAddress": "10.0.0.5", "VirtualSubnetID": 5001,
        "MACAddress": "00155D000001", "ProviderAddress": "192.168.4.11",
        "Rule": "TranslationMethodEncap"{extra}}}]}}"#
    )
}

/// One host with a port list, `port_extra` appended inside its second port.
fn host_json(port_extra: &str) -> String {
    format!(
        r#"{{"Hosts": [{{"Name": "HostA",
  "Uplink": {{"Interface": "eth1", "MACAddress": "02-00-00-00-0A-01"}},
  "GatewayMACAddress": "02-00-5E-00-01-01",
  "Ports": [
    {{"Name": "Contoso1", "MACAddress": "00155D000001", "VirtualSubnetID": 5001}},
    {{"Name": "Contoso3", "MACAddress": "00155D000003", "VirtualSubnetID": 5001{port_extra}}}
  ]}}]}}"#
    )
}

// ---------------------------------------------------------------------------------------
// The format
// ---------------------------------------------------------------------------------------

#[test]
fn design_example_parses() {
    let p = from_json(DESIGN_EXAMPLE).unwrap();
    assert_eq!(
        p,
        Policy {
            lookup_records: vec![LookupRecord {
                customer_address: ip("10.0.0.5"),
                virtual_subnet_id: 5001,
                mac_address: mac("00-15-5D-00-00-01"),
                provider_address: ip("192.168.4.11"),
                rule: Rule::Encap,
                record_type: RecordType::Static,
                vm_name: "Contoso1".into(),
                customer_id: String::new(),
                context: String::new(),
                use_vm_mac_address: false,
            }],
            customer_routes: vec![CustomerRoute {
                routing_domain_id: CONTOSO.parse().unwrap(),
                virtual_subnet_id: 5001,
                destination_prefix: "10.0.0.0/24".parse().unwrap(),
                next_hop: ip("0.0.0.0"),
                metric: 0,
            }],
            provider_addresses: vec![ProviderAddress {
                provider_address: ip("192.168.4.11"),
                interface_index: 2,
                prefix_length: 24,
                vlan_id: 0,
            }],
            provider_routes: vec![ProviderRoute {
                destination_prefix: "0.0.0.0/0".parse().unwrap(),
                interface_index: 2,
                next_hop: ip("192.168.4.1"),
                metric: 0,
            }],
            hosts: vec![Host {
                name: "HostA".into(),
                provider_addresses: vec![ip("192.168.4.11")],
                uplink: Uplink {
                    interface: "eth1".into(),
                    mac_address: mac("02-00-00-00-0A-01"),
                    mtu: 1500,
                },
                gateway_mac_address: mac("02-00-5E-00-01-01"),
                neighbors: vec![Neighbor {
                    ip_address: ip("192.168.4.22"),
                    mac_address: mac("02-00-00-00-0B-01"),
                }],
                ports: vec![Port {
                    name: "Contoso1".into(),
                    mac_address: mac("00-15-5D-00-00-01"),
                    virtual_subnet_id: 5001,
                    interface: "vm-contoso1".into(),
                }],
            }],
        }
    );
    assert_eq!(load(DESIGN_EXAMPLE).unwrap(), p);
}

#[test]
fn every_mac_spelling() {
    for spelling in [
        "00-15-5D-0A-0B-FC",
        "00155D0A0BFC",
        "00155d0a0bfc",
        "00:15:5d:0a:0b:fc",
        "00:15:5D:0A:0B:FC",
        "00-15-5d-0a-0b-fc",
    ] {
        let p = from_json(&record_json("").replace("00155D000001", spelling)).unwrap();
        assert_eq!(
            p.lookup_records[0].mac_address.0,
            [0x00, 0x15, 0x5d, 0x0a, 0x0b, 0xfc]
        );
        assert!(to_json(&p).contains(r#""MACAddress": "00-15-5D-0A-0B-FC""#));
    }
    for bad in [
        "00-15-5D:0A-0B-FC",
        "00-15-5D-0A-0B",
        "00155D0A0BF",
        "00155D0A0BFG",
        "0015.5D0A.0BFC",
        "",
    ] {
        expect_err(
            &record_json("").replace("00155D000001", bad),
            "LookupRecords[0].MACAddress",
            "MAC address must look like 00-15-5D-00-00-01, 00155D000001 or 00:15:5d:00:00:01",
        );
    }
}

/// Every field of every record, each set to a value other than its default.
const ALL_FIELDS: &str = r#"{
      "LookupRecords": [{"CustomerAddress": "fd00::5", "VirtualSubnetID": 16777214,
        "MACAddress": "00155D000009", "ProviderAddress": "2001:db8::11",
        "Rule": "TranslationMethodNat", "Type": "Dynamic", "VMName": "vm",
        "CustomerID": "{C0000000-0000-0000-0000-000000000001}", "Context": "ctx",
        "UseVmMACAddress": true}],
      "CustomerRoutes": [{"RoutingDomainID": "22222222-2222-3333-4444-00000000000a",
        "VirtualSubnetID": 7001, "DestinationPrefix": "fd00::/64", "NextHop": "fd00::2",
        "Metric": 7}],
      "ProviderAddresses": [{"ProviderAddress": "2001:db8::11", "InterfaceIndex": 9,
        "PrefixLength": 64, "VlanID": 42}],
      "ProviderRoutes": [{"DestinationPrefix": "::/0", "InterfaceIndex": 9,
        "NextHop": "2001:db8::1", "Metric": 3}],
      "Hosts": [{"Name": "HostC", "ProviderAddresses": ["2001:db8::11", "192.0.2.1"],
        "Uplink": {"Interface": "ens5", "MACAddress": "02:00:00:00:0c:01", "MTU": 9000},
        "GatewayMACAddress": "02-00-5E-00-01-02",
        "Neighbors": [{"IPAddress": "2001:db8::1", "MACAddress": "02-00-00-00-00-01"}],
        "Ports": [{"Name": "p", "MACAddress": "00155D000009", "VirtualSubnetID": 0,
                   "Interface": "tap0"}]}]
    }"#;

#[test]
fn every_field_is_read() {
    let p = from_json(ALL_FIELDS).unwrap();
    let r = &p.lookup_records[0];
    assert_eq!(r.customer_address, ip("fd00::5"));
    assert_eq!(r.virtual_subnet_id, 16_777_214);
    assert_eq!(r.mac_address, mac("00-15-5D-00-00-09"));
    assert_eq!(r.provider_address, ip("2001:db8::11"));
    assert_eq!(r.rule, Rule::Nat);
    assert_eq!(r.record_type, RecordType::Dynamic);
    assert_eq!(r.vm_name, "vm");
    assert_eq!(r.customer_id, "{C0000000-0000-0000-0000-000000000001}");
    assert_eq!(r.context, "ctx");
    assert!(r.use_vm_mac_address);
    let route = &p.customer_routes[0];
    assert_eq!(
        route.routing_domain_id,
        Rdid(0x2222_2222_2222_3333_4444_0000_0000_000a)
    );
    assert_eq!(route.virtual_subnet_id, 7001);
    assert_eq!(
        route.destination_prefix,
        "fd00::/64".parse::<Prefix>().unwrap()
    );
    assert_eq!(route.next_hop, ip("fd00::2"));
    assert_eq!(route.metric, 7);
    let addr = &p.provider_addresses[0];
    assert_eq!(
        (
            addr.provider_address,
            addr.interface_index,
            addr.prefix_length,
            addr.vlan_id
        ),
        (ip("2001:db8::11"), 9, 64, 42)
    );
    let pr = &p.provider_routes[0];
    assert_eq!(pr.destination_prefix.to_string(), "::/0");
    assert_eq!(
        (pr.interface_index, pr.next_hop, pr.metric),
        (9, ip("2001:db8::1"), 3)
    );
    let h = &p.hosts[0];
    assert_eq!(h.name, "HostC");
    assert_eq!(h.provider_addresses, [ip("2001:db8::11"), ip("192.0.2.1")]);
    assert_eq!(
        h.uplink,
        Uplink {
            interface: "ens5".into(),
            mac_address: mac("020000000C01"),
            mtu: 9000
        }
    );
    assert_eq!(h.gateway_mac_address, mac("02-00-5E-00-01-02"));
    assert_eq!(
        h.neighbors,
        [Neighbor {
            ip_address: ip("2001:db8::1"),
            mac_address: mac("020000000001")
        }]
    );
    assert_eq!(
        h.ports,
        [Port {
            name: "p".into(),
            mac_address: mac("00155D000009"),
            virtual_subnet_id: 0,
            interface: "tap0".into(),
        }]
    );
}

#[test]
fn every_field_is_written_with_its_name() {
    let p = from_json(ALL_FIELDS).unwrap();
    let out = to_json(&p);
    for name in [
        "LookupRecords",
        "CustomerAddress",
        "VirtualSubnetID",
        "MACAddress",
        "ProviderAddress",
        "\"Rule\": \"TranslationMethodNat\"",
        "\"Type\": \"Dynamic\"",
        "VMName",
        "CustomerID",
        "Context",
        "\"UseVmMACAddress\": true",
        "CustomerRoutes",
        "\"RoutingDomainID\": \"{22222222-2222-3333-4444-00000000000A}\"",
        "DestinationPrefix",
        "NextHop",
        "Metric",
        "ProviderAddresses",
        "InterfaceIndex",
        "PrefixLength",
        "VlanID",
        "ProviderRoutes",
        "Hosts",
        "Name",
        "Uplink",
        "Interface",
        "\"MTU\": 9000",
        "\"GatewayMACAddress\": \"02-00-5E-00-01-02\"",
        "Neighbors",
        "IPAddress",
        "Ports",
    ] {
        assert!(out.contains(name), "{name} missing from\n{out}");
    }
    assert_eq!(from_json(&out).unwrap(), p);
}

#[test]
fn defaults_of_optional_fields() {
    let p = from_json(&record_json("")).unwrap();
    let r = &p.lookup_records[0];
    assert_eq!(r.record_type, RecordType::Static);
    assert_eq!(
        (
            r.vm_name.as_str(),
            r.customer_id.as_str(),
            r.context.as_str()
        ),
        ("", "", "")
    );
    assert!(!r.use_vm_mac_address);
    // ConvertTo-Json writes null for unset strings.
    let p = from_json(&record_json(
        r#", "VMName": null, "CustomerID": null, "Context": null"#,
    ))
    .unwrap();
    assert_eq!(p.lookup_records[0].vm_name, "");

    let p = from_json(
        r#"{"CustomerRoutes": [{"RoutingDomainID": "{11111111-2222-3333-4444-000000000000}",
            "VirtualSubnetID": 5001, "DestinationPrefix": "10.0.0.0/24", "NextHop": "0.0.0.0"}],
          "ProviderAddresses": [{"ProviderAddress": "192.168.4.11", "InterfaceIndex": 2,
            "PrefixLength": 24}],
          "ProviderRoutes": [{"DestinationPrefix": "0.0.0.0/0", "InterfaceIndex": 2,
            "NextHop": "192.168.4.1"}]}"#,
    )
    .unwrap();
    assert_eq!(p.customer_routes[0].metric, 0);
    assert_eq!(p.provider_addresses[0].vlan_id, 0);
    assert_eq!(p.provider_routes[0].metric, 0);
    assert!(p.lookup_records.is_empty() && p.hosts.is_empty());

    let p = from_json(&host_json("")).unwrap();
    let h = &p.hosts[0];
    assert_eq!(h.uplink.mtu, 1500);
    assert!(h.provider_addresses.is_empty() && h.neighbors.is_empty());
    assert_eq!(h.ports[1].interface, "");

    assert_eq!(from_json("{}").unwrap(), Policy::default());
    assert!(
        from_json(" \u{feff}{}").is_err(),
        "a BOM is only skipped at the start"
    );
    assert_eq!(
        from_json("\u{feff}{}").unwrap(),
        Policy::default(),
        "BOM is skipped"
    );
}

// ---------------------------------------------------------------------------------------
// Errors name their path
// ---------------------------------------------------------------------------------------

#[test]
fn unknown_fields_are_rejected_with_their_path() {
    let e = expect_err(
        r#"{"LookupRecord": []}"#,
        "LookupRecord",
        "unknown field `LookupRecord`",
    );
    assert!(e.message.contains("expected one of `LookupRecords`"), "{e}");
    assert_eq!((e.line, e.column), (1, 15));

    let e = expect_err(
        &host_json(r#", "Vlan": 12"#),
        "Hosts[0].Ports[1].Vlan",
        "unknown field `Vlan`",
    );
    assert_eq!(e.line, 6, "{e}");
    assert_eq!(
        e.to_string(),
        format!(
            "Hosts[0].Ports[1].Vlan: unknown field `Vlan`, expected one of `Name`, `MACAddress`, \
             `VirtualSubnetID`, `Interface` (line 6, column {})",
            e.column
        )
    );

    expect_err(
        &record_json(r#", "PSComputerName": null"#),
        "LookupRecords[0].PSComputerName",
        "unknown field",
    );
    expect_err(
        &host_json("").replace(r#""MACAddress": "02-00-00-00-0A-01""#, r#""Speed": 10"#),
        "Hosts[0].Uplink.Speed",
        "unknown field `Speed`",
    );
    // Field names are case-sensitive, like their PowerShell spelling.
    expect_err(
        &record_json("").replace("VirtualSubnetID", "VirtualSubnetId"),
        "LookupRecords[0].VirtualSubnetId",
        "unknown field",
    );
}

#[test]
fn missing_and_duplicate_fields() {
    let e = expect_err(
        &record_json("").replace(r#""Rule": "TranslationMethodEncap""#, r#""Type": "Static""#),
        "LookupRecords[0]",
        "missing field `Rule`",
    );
    assert_eq!(e.line, 3);
    expect_err(
        &host_json("").replace(r#""Name": "HostA","#, ""),
        "Hosts[0]",
        "missing field `Name`",
    );
    expect_err(
        &record_json(r#", "VMName": "a", "VMName": "b""#),
        "LookupRecords[0]",
        "duplicate field `VMName`",
    );
}

#[test]
fn wrong_enum_names() {
    for (bad, field) in [
        (r#""Rule": "Encap""#, "Rule"),
        (r#""Rule": "translationmethodencap""#, "Rule"),
        (r#""Rule": 0"#, "Rule"),
        (r#""Rule": {"TranslationMethodEncap": null}"#, "Rule"),
    ] {
        expect_err(
            &record_json("").replace(r#""Rule": "TranslationMethodEncap""#, bad),
            &format!("LookupRecords[0].{field}"),
            "",
        );
    }
    let e = expect_err(
        &record_json(r#", "Type": "L2only""#),
        "LookupRecords[0].Type",
        r#"expected one of Static, Dynamic, L2Only, GatewayWildcard, got "L2only""#,
    );
    assert_eq!((e.line, e.column), (3, 59));
    let e = parse_err(&record_json("").replace("TranslationMethodEncap", "Nvgre"));
    assert_eq!(
        e.message,
        r#"expected one of TranslationMethodEncap, TranslationMethodNat, TranslationMethodNone, got "Nvgre""#
    );
}

#[test]
fn bad_addresses_prefixes_and_guids_name_their_field() {
    let route = |rdid: &str, prefix: &str, next_hop: &str| {
        format!(
            r#"{{"CustomerRoutes": [{{"RoutingDomainID": "{rdid}", "VirtualSubnetID": 5001,
            "DestinationPrefix": "{prefix}", "NextHop": "{next_hop}"}}]}}"#
        )
    };
    assert!(from_json(&route(CONTOSO, "10.0.0.0/24", "0.0.0.0")).is_ok());
    expect_err(
        &route(
            "{11111111-2222-3333-4444-00000000000}",
            "10.0.0.0/24",
            "0.0.0.0",
        ),
        "CustomerRoutes[0].RoutingDomainID",
        "expected a GUID like {11111111-2222-3333-4444-000000000000}, got \"{1111",
    );
    expect_err(
        &route(CONTOSO, "10.0.0.1/24", "0.0.0.0"),
        "CustomerRoutes[0].DestinationPrefix",
        "address has bits set after the prefix length, got \"10.0.0.1/24\"",
    );
    expect_err(
        &route(CONTOSO, "10.0.0.0/33", "0.0.0.0"),
        "CustomerRoutes[0].DestinationPrefix",
        "prefix length 33 is longer than the address",
    );
    expect_err(
        &route(CONTOSO, "10.0.0.0", "0.0.0.0"),
        "CustomerRoutes[0].DestinationPrefix",
        "expected ADDRESS/LENGTH",
    );
    expect_err(
        &route(CONTOSO, "10.0.0.0/24", "10.0.0.256"),
        "CustomerRoutes[0].NextHop",
        "invalid IP address syntax, got \"10.0.0.256\"",
    );
    expect_err(
        &record_json("").replace("\"10.0.0.5\"", "\"10.0.0.5 \""),
        "LookupRecords[0].CustomerAddress",
        "invalid IP address syntax",
    );
    expect_err(
        &record_json("").replace("\"192.168.4.11\"", "192"),
        "LookupRecords[0].ProviderAddress",
        "invalid type: integer `192`, expected a string",
    );
    expect_err(
        &host_json("").replace(
            r#""Name": "HostA","#,
            r#""Name": "HostA", "ProviderAddresses": ["192.168.4.11", "x"],"#,
        ),
        "Hosts[0].ProviderAddresses[1]",
        "invalid IP address syntax, got \"x\"",
    );
    expect_err(
        &host_json("").replace(r#""Name": "HostA","#, r#""Name": "HostA", "Neighbors": [{"IPAddress": "::g", "MACAddress": "020000000001"}],"#),
        "Hosts[0].Neighbors[0].IPAddress",
        "invalid IP address syntax",
    );
    expect_err(
        &host_json("").replace("02-00-5E-00-01-01", "02-00-5E-00-01"),
        "Hosts[0].GatewayMACAddress",
        "MAC address must look like",
    );
    expect_err(
        &host_json("").replace("02-00-00-00-0A-01", "bad"),
        "Hosts[0].Uplink.MACAddress",
        "MAC address must look like",
    );
    // A long bad value is quoted shortened.
    let e = parse_err(&record_json("").replace("00155D000001", &"A".repeat(500)));
    assert!(e.message.len() < 200, "{e}");
}

#[test]
fn numbers_out_of_range_or_of_the_wrong_type() {
    let vsid = |v: &str| record_json("").replace("5001", v);
    for (v, msg) in [
        (
            "4294967296",
            "invalid value: integer `4294967296`, expected u32",
        ),
        ("-1", "invalid value: integer `-1`, expected u32"),
        (
            "5001.0",
            "invalid type: floating point `5001.0`, expected u32",
        ),
        ("\"5001\"", "invalid type: string \"5001\", expected u32"),
        ("null", "invalid type: null, expected u32"),
        ("true", "invalid type: boolean `true`, expected u32"),
    ] {
        let e = expect_err(&vsid(v), "LookupRecords[0].VirtualSubnetID", msg);
        assert_eq!(e.line, 1, "{e}");
    }
    let pa = |field: &str, v: &str| {
        format!(
            r#"{{"ProviderAddresses": [{{"ProviderAddress": "192.168.4.11", "InterfaceIndex": 2,
            "PrefixLength": 24}}, {{"ProviderAddress": "192.168.4.11", "InterfaceIndex": 2,
            "PrefixLength": 24, "{field}": {v}}}]}}"#
        )
    };
    expect_err(
        &pa("PrefixLength", "256")
            .replace(r#""PrefixLength": 24, "PrefixLength""#, r#""PrefixLength""#),
        "ProviderAddresses[1].PrefixLength",
        "invalid value: integer `256`, expected u8",
    );
    expect_err(
        &pa("VlanID", "65536"),
        "ProviderAddresses[1].VlanID",
        "invalid value: integer `65536`, expected u16",
    );
    expect_err(
        &pa("VlanID", "1e3"),
        "ProviderAddresses[1].VlanID",
        "invalid type: floating point",
    );
    expect_err(
        &host_json("").replace(
            r#""MACAddress": "02-00-00-00-0A-01""#,
            r#""MACAddress": "02-00-00-00-0A-01", "MTU": 65536"#,
        ),
        "Hosts[0].Uplink.MTU",
        "invalid value: integer `65536`, expected u16",
    );
    expect_err(
        &record_json(r#", "UseVmMACAddress": "false""#),
        "LookupRecords[0].UseVmMACAddress",
        "invalid type: string",
    );
}

#[test]
fn syntax_errors_carry_line_and_column() {
    let text = "{\n  \"LookupRecords\": [\n    {\"CustomerAddress\": \"10.0.0.5\"\n     \"VirtualSubnetID\": 5001}\n  ]\n}\n";
    let e = parse_err(text);
    assert_eq!((e.line, e.column), (4, 6), "{e}");
    assert_eq!(e.path, "LookupRecords[0]");
    assert_eq!(
        e.to_string(),
        "LookupRecords[0]: expected `,` or `}` (line 4, column 6)"
    );

    let e = parse_err("{\"Hosts\": []}\n}");
    assert_eq!(e.to_string(), "trailing characters (line 2, column 1)");
    let e = parse_err("{\"Hosts\": [");
    assert_eq!(
        (e.path.as_str(), e.message.as_str()),
        ("Hosts", "EOF while parsing a list")
    );
    let e = parse_err("");
    assert_eq!(e.message, "EOF while parsing a value");
    let e = parse_err("{\"Hosts\": [], }");
    assert_eq!(e.message, "trailing comma");
    let e = parse_err("[]");
    assert_eq!(
        (e.path.as_str(), e.message.as_str()),
        ("", "invalid type: sequence, expected a JSON object")
    );
    // A record written as an array of its values is not a record.
    let e = parse_err(r#"{"ProviderRoutes": [["0.0.0.0/0", 2, "192.168.4.1", 0]]}"#);
    assert_eq!(e.path, "ProviderRoutes[0]");
    assert_eq!(e.message, "invalid type: sequence, expected a JSON object");
    let e = parse_err(r#"{"Hosts": {"Name": "HostA"}}"#);
    assert_eq!(e.path, "Hosts");
    assert!(
        e.message
            .starts_with("invalid type: map, expected a sequence"),
        "{e}"
    );
    // Errors are std errors.
    let boxed: Box<dyn std::error::Error> = Box::new(parse_err("{"));
    assert!(boxed.to_string().starts_with("EOF while parsing an object"));
}

// ---------------------------------------------------------------------------------------
// The seed file and validation
// ---------------------------------------------------------------------------------------

#[test]
fn seed_file_is_valid_and_in_canonical_form() {
    let p = load(SEED).unwrap_or_else(|e| panic!("seed-policy.json:\n{e}"));
    assert_eq!(validate(&p), Ok(()));
    // The file is exactly what `to_json` writes, so load → save is the identity on it.
    assert_eq!(to_json(&p), SEED);
    assert_eq!(from_json(&to_json(&p)).unwrap(), p);
}

#[test]
fn seed_file_describes_the_chapter_scenario() {
    let p = from_json(SEED).unwrap();
    let contoso: Rdid = CONTOSO.parse().unwrap();
    let fabrikam: Rdid = FABRIKAM.parse().unwrap();
    let rdid_of = |vsid: u32| {
        p.customer_routes
            .iter()
            .find(|r| r.virtual_subnet_id == vsid)
            .map(|r| r.routing_domain_id)
    };
    // Contoso: 5001 (10.0.0.0/24) and 6001 (10.0.1.0/24) route to each other (figures 1-8, 1-11).
    assert_eq!(rdid_of(5001), Some(contoso));
    assert_eq!(rdid_of(6001), Some(contoso));
    assert_eq!(rdid_of(7001), Some(fabrikam));
    let record = |name: &str| p.lookup_records.iter().find(|r| r.vm_name == name).unwrap();
    let host = |name: &str| p.host(name).unwrap();
    let on = |h: &str, vm: &str| host(h).ports.iter().any(|port| port.name == vm);
    // Figure 1-7: same VSID, same host; 1-8: other VSID, same host; 1-9: same VSID, other
    // host; 1-11: other VSID, other host.
    assert!(on("HostA", "Contoso1") && on("HostA", "Contoso3") && on("HostA", "Contoso4"));
    assert!(on("HostB", "Contoso2") && on("HostB", "Contoso5"));
    assert_eq!(record("Contoso1").customer_address, ip("10.0.0.5"));
    assert_eq!(record("Contoso2").customer_address, ip("10.0.0.7"));
    assert_eq!(record("Contoso5").customer_address, ip("10.0.1.7"));
    assert_eq!(record("Contoso5").virtual_subnet_id, 6001);
    assert_eq!(host("HostA").provider_addresses[0], ip("192.168.4.11"));
    assert_eq!(host("HostB").provider_addresses[0], ip("192.168.4.22"));
    // Fabrikam reuses Contoso's CAs, in IP-rewrite mode with one PA per CA.
    for (fab, con) in [("Fabrikam1", "Contoso1"), ("Fabrikam2", "Contoso2")] {
        assert_eq!(record(fab).customer_address, record(con).customer_address);
        assert_eq!(record(fab).rule, Rule::Nat);
        let pa = record(fab).provider_address;
        assert_eq!(
            p.lookup_records
                .iter()
                .filter(|r| r.provider_address == pa)
                .count(),
            1
        );
    }
    assert_eq!(p.provider_routes[0].next_hop, ip("192.168.4.1"));
    assert!(p.provider_routes[0].destination_prefix.is_default());
}

#[test]
fn every_problem_is_reported_one_per_line() {
    let mut p = from_json(SEED).unwrap();
    p.lookup_records[2].virtual_subnet_id = 4095;
    p.hosts[1].uplink.mtu = 500;
    let err = load(&to_json(&p)).unwrap_err();
    let LoadError::Invalid { problems, policy } = &err else {
        panic!("{err}")
    };
    assert_eq!(**policy, p);
    let lines: Vec<String> = err.to_string().lines().map(String::from).collect();
    assert_eq!(lines.len(), problems.len(), "{err}");
    assert!(
        lines.contains(
            &"LookupRecords[2].VirtualSubnetID: 4095 is below 4096 (CA 10.0.0.6, VSID 4095, \
              VMName \"Contoso3\")"
                .to_string()
        ),
        "{err}"
    );
    assert!(
        lines.contains(&"Hosts[1].Uplink.MTU: 500 is too small (host \"HostB\")".to_string()),
        "{err}"
    );
    // The port of the broken record now has no record either; every line names a record.
    for (line, e) in lines.iter().zip(problems) {
        assert!(line.starts_with(&e.to_string()), "{line}");
        assert!(line.ends_with(')'), "{line}");
    }
    let port_line = lines
        .iter()
        .find(|l| l.starts_with("Hosts[0].Ports[1]"))
        .unwrap();
    assert!(
        port_line.ends_with("(host \"HostA\", port \"Contoso3\")"),
        "{port_line}"
    );

    let file_err = load("{\"Hosts\": 1}").unwrap_err();
    assert!(matches!(&file_err, LoadError::File(e) if e.path == "Hosts"));
    assert_eq!(
        file_err.to_string(),
        "Hosts: invalid type: integer `1`, expected a sequence (line 1, column 11)"
    );
    let boxed: Box<dyn std::error::Error> = Box::new(file_err);
    assert!(boxed.to_string().starts_with("Hosts:"));
}

// ---------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,12}",
        prop::collection::vec(any::<char>(), 0..8).prop_map(|c| c.into_iter().collect()),
        Just(String::new()),
        Just("\"\\\u{0}\n{".to_string()),
    ]
}

fn ip_any() -> impl Strategy<Value = IpAddr> {
    any::<IpAddr>()
}

fn mac_any() -> impl Strategy<Value = MacAddr> {
    any::<[u8; 6]>().prop_map(MacAddr)
}

fn prefix_any() -> impl Strategy<Value = Prefix> {
    (ip_any(), any::<u8>()).prop_map(|(a, l)| Prefix::truncating(a, l))
}

fn lookup_record() -> impl Strategy<Value = LookupRecord> {
    (
        (ip_any(), any::<u32>(), mac_any(), ip_any()),
        prop_oneof![Just(Rule::Encap), Just(Rule::Nat), Just(Rule::None)],
        prop_oneof![
            Just(RecordType::Static),
            Just(RecordType::Dynamic),
            Just(RecordType::L2Only),
            Just(RecordType::GatewayWildcard)
        ],
        (text(), text(), text(), any::<bool>()),
    )
        .prop_map(
            |((ca, vsid, mac, pa), rule, record_type, (vm, cid, ctx, use_mac))| LookupRecord {
                customer_address: ca,
                virtual_subnet_id: vsid,
                mac_address: mac,
                provider_address: pa,
                rule,
                record_type,
                vm_name: vm,
                customer_id: cid,
                context: ctx,
                use_vm_mac_address: use_mac,
            },
        )
}

fn customer_route() -> impl Strategy<Value = CustomerRoute> {
    (
        any::<u128>(),
        any::<u32>(),
        prefix_any(),
        ip_any(),
        any::<u32>(),
    )
        .prop_map(|(rdid, vsid, prefix, next_hop, metric)| CustomerRoute {
            routing_domain_id: Rdid(rdid),
            virtual_subnet_id: vsid,
            destination_prefix: prefix,
            next_hop,
            metric,
        })
}

fn provider_address() -> impl Strategy<Value = ProviderAddress> {
    (ip_any(), any::<u32>(), any::<u8>(), any::<u16>()).prop_map(|(a, i, l, v)| ProviderAddress {
        provider_address: a,
        interface_index: i,
        prefix_length: l,
        vlan_id: v,
    })
}

fn provider_route() -> impl Strategy<Value = ProviderRoute> {
    (prefix_any(), any::<u32>(), ip_any(), any::<u32>()).prop_map(|(d, i, n, m)| ProviderRoute {
        destination_prefix: d,
        interface_index: i,
        next_hop: n,
        metric: m,
    })
}

fn host() -> impl Strategy<Value = Host> {
    let port =
        (text(), mac_any(), any::<u32>(), text()).prop_map(|(name, mac, vsid, ifname)| Port {
            name,
            mac_address: mac,
            virtual_subnet_id: vsid,
            interface: ifname,
        });
    let neighbor = (ip_any(), mac_any()).prop_map(|(a, m)| Neighbor {
        ip_address: a,
        mac_address: m,
    });
    (
        text(),
        prop::collection::vec(ip_any(), 0..3),
        (text(), mac_any(), any::<u16>()),
        mac_any(),
        prop::collection::vec(neighbor, 0..3),
        prop::collection::vec(port, 0..3),
    )
        .prop_map(
            |(name, pas, (ifname, uplink_mac, mtu), gw, neighbors, ports)| Host {
                name,
                provider_addresses: pas,
                uplink: Uplink {
                    interface: ifname,
                    mac_address: uplink_mac,
                    mtu,
                },
                gateway_mac_address: gw,
                neighbors,
                ports,
            },
        )
}

fn policy() -> impl Strategy<Value = Policy> {
    (
        prop::collection::vec(lookup_record(), 0..4),
        prop::collection::vec(customer_route(), 0..3),
        prop::collection::vec(provider_address(), 0..3),
        prop::collection::vec(provider_route(), 0..3),
        prop::collection::vec(host(), 0..3),
    )
        .prop_map(|(l, c, pa, pr, h)| Policy {
            lookup_records: l,
            customer_routes: c,
            provider_addresses: pa,
            provider_routes: pr,
            hosts: h,
        })
}

/// JSON-ish fragments to splice into the seed file.
const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "\\",
    "null",
    "true",
    "-1",
    "1e999",
    "0.5",
    "4294967296",
    "18446744073709551616",
    "\"x\"",
    "\\u0000",
    "\\ud800",
    "\"Hosts\"",
    "\"LookupRecords\": [{}]",
    "\"Ports\": [[]]",
    "{\"A\":",
    "\u{feff}",
    "\u{0}",
    "é",
    "💥",
];

/// Edits `seed` by one of a few JSON-ish mutations at character `at`.
fn mutate(seed: &str, op: u8, at: usize, len: usize, token: usize, noise: &str) -> String {
    let chars: Vec<char> = seed.chars().collect();
    let at = at % (chars.len() + 1);
    let end = (at + len).min(chars.len());
    let head: String = chars[..at].iter().collect();
    let mid: String = chars[at..end].iter().collect();
    let tail: String = chars[end..].iter().collect();
    let token = TOKENS[token % TOKENS.len()];
    match op % 6 {
        0 => format!("{head}{tail}"),             // delete
        1 => format!("{head}{token}{mid}{tail}"), // insert a token
        2 => format!("{head}{token}{tail}"),      // replace with a token
        3 => format!("{head}{noise}{tail}"),      // replace with noise
        4 => format!("{head}{mid}{mid}{tail}"),   // duplicate
        _ => head,                                // truncate
    }
}

proptest! {
    #[test]
    fn any_policy_round_trips(p in policy()) {
        let text = to_json(&p);
        let back = from_json(&text);
        prop_assert_eq!(back.as_ref(), Ok(&p), "{}", text);
        prop_assert_eq!(to_json(&back.unwrap()), text);
    }

    #[test]
    fn arbitrary_text_never_panics(s in any::<String>()) {
        if let Err(e) = from_json(&s) {
            let _ = e.to_string();
        }
        if let Err(e) = load(&s) {
            let _ = e.to_string();
        }
    }

    #[test]
    fn mutated_seed_never_panics(
        edits in prop::collection::vec(
            (any::<u8>(), any::<usize>(), 0usize..40, any::<usize>(), "\\PC{0,6}"),
            1..4,
        )
    ) {
        let mut text = SEED.to_string();
        for (op, at, len, token, noise) in &edits {
            text = mutate(&text, *op, *at, *len, *token, noise);
        }
        match load(&text) {
            Ok(p) => {
                // Whatever parsed must still round-trip.
                prop_assert_eq!(from_json(&to_json(&p)), Ok(p));
            }
            Err(LoadError::File(e)) => {
                prop_assert!(e.line <= text.lines().count() + 1, "{}", e);
                let _ = e.to_string();
            }
            Err(e @ LoadError::Invalid { .. }) => {
                prop_assert!(!e.to_string().is_empty());
            }
        }
    }
}
