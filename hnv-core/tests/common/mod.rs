//! Policies shared by the policy tests: the seed fabric (Contoso and Fabrikam with
//! overlapping CAs on HostA and HostB) built from records.
#![allow(dead_code)]

use std::net::IpAddr;

use hnv_core::ids::MacAddr;
use hnv_core::policy::{
    CustomerRoute, Host, LookupRecord, Neighbor, Policy, Port, ProviderAddress, ProviderRoute,
    RecordType, Rule, Uplink,
};

pub const CONTOSO: &str = "{11111111-2222-3333-4444-000000000000}";
pub const FABRIKAM: &str = "{22222222-2222-3333-4444-000000000000}";

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

pub fn mac(s: &str) -> MacAddr {
    s.parse().unwrap()
}

pub fn record(ca: &str, vsid: u32, m: &str, pa: &str) -> LookupRecord {
    LookupRecord {
        customer_address: ip(ca),
        virtual_subnet_id: vsid,
        mac_address: mac(m),
        provider_address: ip(pa),
        rule: Rule::Encap,
        record_type: RecordType::Static,
        vm_name: String::new(),
        customer_id: String::new(),
        context: String::new(),
        use_vm_mac_address: false,
    }
}

pub fn route(rdid: &str, vsid: u32, prefix: &str, next_hop: &str) -> CustomerRoute {
    CustomerRoute {
        routing_domain_id: rdid.parse().unwrap(),
        virtual_subnet_id: vsid,
        destination_prefix: prefix.parse().unwrap(),
        next_hop: ip(next_hop),
        metric: 0,
    }
}

pub fn port(name: &str, m: &str, vsid: u32) -> Port {
    Port {
        name: name.into(),
        mac_address: mac(m),
        virtual_subnet_id: vsid,
        interface: name.into(),
    }
}

pub fn host(name: &str, pa: &str, uplink_mac: &str, ports: Vec<Port>) -> Host {
    Host {
        name: name.into(),
        provider_addresses: vec![ip(pa)],
        uplink: Uplink {
            interface: "eth1".into(),
            mac_address: mac(uplink_mac),
            mtu: 1500,
        },
        gateway_mac_address: mac("02-00-5E-00-01-01"),
        neighbors: vec![Neighbor {
            ip_address: ip("192.168.4.1"),
            mac_address: mac("02-00-00-00-00-fe"),
        }],
        ports,
    }
}

/// The seed fabric: Contoso (5001, 5002) and Fabrikam (6001) with overlapping CAs.
pub fn base() -> Policy {
    Policy {
        lookup_records: vec![
            record("10.0.0.5", 5001, "00-15-5D-00-00-01", "192.168.4.11"),
            record("10.0.0.7", 5001, "00-15-5D-00-00-02", "192.168.4.22"),
            record("10.0.1.5", 5002, "00-15-5D-00-00-03", "192.168.4.11"),
            record("10.0.0.5", 6001, "00-15-5D-00-00-01", "192.168.4.11"),
            record("10.0.0.7", 6001, "00-15-5D-00-00-02", "192.168.4.22"),
        ],
        customer_routes: vec![
            route(CONTOSO, 5001, "10.0.0.0/24", "0.0.0.0"),
            route(CONTOSO, 5002, "10.0.1.0/24", "0.0.0.0"),
            route(FABRIKAM, 6001, "10.0.0.0/24", "0.0.0.0"),
        ],
        provider_addresses: vec![
            ProviderAddress {
                provider_address: ip("192.168.4.11"),
                interface_index: 2,
                prefix_length: 24,
                vlan_id: 0,
            },
            ProviderAddress {
                provider_address: ip("192.168.4.22"),
                interface_index: 2,
                prefix_length: 24,
                vlan_id: 0,
            },
        ],
        provider_routes: vec![ProviderRoute {
            destination_prefix: "0.0.0.0/0".parse().unwrap(),
            interface_index: 2,
            next_hop: ip("192.168.4.1"),
            metric: 0,
        }],
        hosts: vec![
            host(
                "HostA",
                "192.168.4.11",
                "02-00-00-00-0A-01",
                vec![
                    port("Contoso1", "00-15-5D-00-00-01", 5001),
                    port("Contoso3", "00-15-5D-00-00-03", 5002),
                ],
            ),
            host(
                "HostB",
                "192.168.4.22",
                "02-00-00-00-0B-01",
                vec![port("Contoso2", "00-15-5D-00-00-02", 5001)],
            ),
        ],
    }
}
