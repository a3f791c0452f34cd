//! Policies shared by the policy tests: the seed fabric (Contoso and Fabrikam with
//! overlapping CAs on HostA and HostB) built from records.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};

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

/// A random fabric: `domains` routing domains, each with `subnets` /24 virtual subnets,
/// `vms` VMs spread over `hosts` hosts with one port each. CAs and MACs are unique per
/// domain by construction; CAs overlap across domains on purpose.
pub fn random_policy(domains: u8, subnets: u8, vms: &[(u8, u8, u8, u8)], hosts: u8) -> Policy {
    let mut p = Policy::default();
    for d in 0..domains {
        let rdid = format!("{{{:08x}-0000-0000-0000-000000000000}}", u32::from(d) + 1);
        for s in 0..subnets {
            p.customer_routes.push(CustomerRoute {
                routing_domain_id: rdid.parse().unwrap(),
                virtual_subnet_id: 5000 + u32::from(d) * 100 + u32::from(s),
                destination_prefix: format!("10.{s}.0.0/24").parse().unwrap(),
                next_hop: ip("0.0.0.0"),
                metric: 0,
            });
        }
    }
    let mut seen = BTreeSet::new();
    for &(d, s, host_id, last) in vms {
        let (dom, sub, hid) = (d % domains, s % subnets, host_id % hosts);
        let last = 2 + last % 250;
        if !seen.insert((dom, sub, last)) {
            continue;
        }
        let vsid = 5000 + u32::from(dom) * 100 + u32::from(sub);
        let ca = Ipv4Addr::new(10, sub, 0, last).to_string();
        let m = MacAddr([0x00, 0x15, 0x5d, dom, sub, last]).to_string();
        let pa = Ipv4Addr::new(192, 168, 4, 10 + hid).to_string();
        p.lookup_records.push(record(&ca, vsid, &m, &pa));
    }
    for h in 0..hosts {
        let pa = IpAddr::V4(Ipv4Addr::new(192, 168, 4, 10 + h));
        let ports = p
            .lookup_records
            .iter()
            .filter(|r| r.provider_address == pa)
            .enumerate()
            .map(|(i, r)| Port {
                name: format!("vm{i}"),
                mac_address: r.mac_address,
                virtual_subnet_id: r.virtual_subnet_id,
                interface: format!("vm{i}"),
            })
            .collect();
        let mut host: Host = self::host(
            &format!("Host{h}"),
            &pa.to_string(),
            "02-00-00-00-00-01",
            ports,
        );
        host.neighbors.clear();
        host.uplink.mac_address = MacAddr([2, 0, 0, 0, 1, h]);
        p.hosts.push(host);
    }
    p
}
