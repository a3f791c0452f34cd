//! The rules that make a policy valid. [`validate`] checks all of them and returns every
//! problem, in file order, not just the first.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::net::IpAddr;

use super::error::{Array, Field, HostArray, Location, PolicyError, Problem};
use super::prefix::{Prefix, Rdid};
use super::records::{LookupRecord, Policy, RecordType, Rule};
use crate::ids::{MacAddr, Vsid, VsidError};

/// Smallest uplink MTU accepted: an IPv4 minimum datagram (576) plus IPv6 NVGRE overhead.
pub const MIN_UPLINK_MTU: u16 = 576 + 62;

struct Problems(Vec<PolicyError>);

impl Problems {
    fn add(&mut self, at: Location, problem: Problem) {
        self.0.push(PolicyError { at, problem });
    }
}

fn vsid_problem(v: u32) -> Option<Problem> {
    match Vsid::new(v) {
        Ok(_) => None,
        Err(VsidError::TooLarge(_)) => Some(Problem::VsidAboveRange(v)),
        Err(_) if v == 0xff_ffff => Some(Problem::VsidAboveRange(v)),
        Err(_) => Some(Problem::VsidBelowRange(v)),
    }
}

fn bad_pa(a: IpAddr) -> bool {
    a.is_unspecified() || a.is_multicast() || a.is_loopback()
}

fn max_len(a: IpAddr) -> u8 {
    if a.is_ipv4() {
        32
    } else {
        128
    }
}

/// Checks every rule of the policy; `Ok` or all the problems found.
///
/// ```
/// use hnv_core::policy::{validate, Policy};
/// assert!(validate(&Policy::default()).is_ok());
/// ```
pub fn validate(p: &Policy) -> Result<(), Vec<PolicyError>> {
    let mut out = Problems(Vec::new());
    let rdid_of = customer_routes(p, &mut out);
    lookup_records(p, &rdid_of, &mut out);
    provider(p, &mut out);
    hosts(p, &mut out);
    if out.0.is_empty() {
        Ok(())
    } else {
        Err(out.0)
    }
}

/// Customer routes: VSID range, one routing domain per VSID, next hops. Returns VSID → RDID.
fn customer_routes(p: &Policy, out: &mut Problems) -> BTreeMap<u32, Rdid> {
    let mut rdid_of: BTreeMap<u32, Rdid> = BTreeMap::new();
    for (i, r) in p.customer_routes.iter().enumerate() {
        let at = |f| Location::at(Array::CustomerRoutes, i, f);
        if let Some(pr) = vsid_problem(r.virtual_subnet_id) {
            out.add(at(Field::VirtualSubnetID), pr);
            continue;
        }
        match rdid_of.get(&r.virtual_subnet_id) {
            Some(&first) if first != r.routing_domain_id => out.add(
                at(Field::RoutingDomainID),
                Problem::VsidInTwoRoutingDomains {
                    vsid: r.virtual_subnet_id,
                    first,
                    second: r.routing_domain_id,
                },
            ),
            Some(_) => {}
            None => {
                rdid_of.insert(r.virtual_subnet_id, r.routing_domain_id);
            }
        }
    }
    for (i, r) in p.customer_routes.iter().enumerate() {
        let at = |f| Location::at(Array::CustomerRoutes, i, f);
        if r.next_hop.is_ipv4() != r.destination_prefix.addr().is_ipv4() {
            out.add(at(Field::NextHop), Problem::NextHopFamily(r.next_hop));
        } else if !r.is_on_link() {
            let reachable = p.customer_routes.iter().any(|o| {
                o.routing_domain_id == r.routing_domain_id
                    && o.is_on_link()
                    && o.destination_prefix.contains(r.next_hop)
            });
            if !reachable {
                out.add(at(Field::NextHop), Problem::NextHopUnreachable(r.next_hop));
            }
        }
    }
    rdid_of
}

/// On-link prefixes per routing domain, for the gateway-address rule.
fn on_link(p: &Policy) -> BTreeMap<Rdid, Vec<Prefix>> {
    let mut m: BTreeMap<Rdid, Vec<Prefix>> = BTreeMap::new();
    for r in p.customer_routes.iter().filter(|r| r.is_on_link()) {
        m.entry(r.routing_domain_id)
            .or_default()
            .push(r.destination_prefix);
    }
    m
}

fn lookup_records(p: &Policy, rdid_of: &BTreeMap<u32, Rdid>, out: &mut Problems) {
    let on_link = on_link(p);
    let mut cas: BTreeMap<(Rdid, IpAddr), usize> = BTreeMap::new();
    let mut macs: BTreeMap<(Rdid, MacAddr), usize> = BTreeMap::new();
    let mut family: BTreeMap<Rdid, bool> = BTreeMap::new();
    let mut by_pa: BTreeMap<IpAddr, Vec<usize>> = BTreeMap::new();
    for (i, r) in p.lookup_records.iter().enumerate() {
        by_pa.entry(r.provider_address).or_default().push(i);
    }
    for (i, r) in p.lookup_records.iter().enumerate() {
        let at = |f| Location::at(Array::LookupRecords, i, f);
        let ca = r.customer_address;
        record_fields(i, r, &by_pa, out);
        if let Some(pr) = vsid_problem(r.virtual_subnet_id) {
            out.add(at(Field::VirtualSubnetID), pr);
            continue;
        }
        let Some(&rdid) = rdid_of.get(&r.virtual_subnet_id) else {
            out.add(
                at(Field::VirtualSubnetID),
                Problem::VsidWithoutRoutingDomain(r.virtual_subnet_id),
            );
            continue;
        };
        if r.record_type.is_wildcard() {
            continue;
        }
        match family.get(&rdid) {
            Some(&v4) if v4 != ca.is_ipv4() => {
                out.add(
                    at(Field::CustomerAddress),
                    Problem::MixedAddressFamilies { rdid },
                );
            }
            Some(_) => {}
            None => {
                family.insert(rdid, ca.is_ipv4());
            }
        }
        if let Some(prefix) = on_link.get(&rdid).and_then(|ps| {
            ps.iter()
                .find(|pf| pf.contains(ca) && pf.first_host() == ca)
        }) {
            out.add(
                at(Field::CustomerAddress),
                Problem::GatewayAddressUsed {
                    ca,
                    prefix: *prefix,
                },
            );
        }
        if let Some(&first) = cas.get(&(rdid, ca)) {
            out.add(
                at(Field::CustomerAddress),
                Problem::DuplicateCustomerAddress { ca, first },
            );
        } else {
            cas.insert((rdid, ca), i);
        }
        if let Some(&first) = macs.get(&(rdid, r.mac_address)) {
            // Several CAs of one adapter (e.g. IPv4 + a secondary address) share its MAC;
            // only a MAC on a different VSID or PA is a second adapter.
            let same_adapter = p.lookup_records.get(first).is_some_and(|f| {
                f.virtual_subnet_id == r.virtual_subnet_id
                    && f.provider_address == r.provider_address
            });
            if !same_adapter {
                out.add(
                    at(Field::MACAddress),
                    Problem::DuplicateMac {
                        mac: r.mac_address,
                        first,
                    },
                );
            }
        } else {
            macs.insert((rdid, r.mac_address), i);
        }
    }
}

/// The rules of one lookup record that need no routing domain: PA, rule and type against
/// CA and MAC.
fn record_fields(
    i: usize,
    r: &LookupRecord,
    by_pa: &BTreeMap<IpAddr, Vec<usize>>,
    out: &mut Problems,
) {
    let at = |f| Location::at(Array::LookupRecords, i, f);
    let ca = r.customer_address;
    if bad_pa(r.provider_address) {
        out.add(
            at(Field::ProviderAddress),
            Problem::BadProviderAddress(r.provider_address),
        );
    }
    if r.use_vm_mac_address && r.rule != Rule::Nat {
        out.add(at(Field::UseVmMACAddress), Problem::UseVmMacWithoutNat);
    }
    if r.rule == Rule::Nat {
        let sharing = by_pa
            .get(&r.provider_address)
            .map_or(&[][..], Vec::as_slice);
        if let Some(&other) = sharing.iter().find(|&&j| j != i) {
            out.add(
                at(Field::ProviderAddress),
                Problem::NatPaShared {
                    pa: r.provider_address,
                    other,
                },
            );
        }
    }
    if r.record_type.is_wildcard() {
        if !ca.is_unspecified() {
            out.add(
                at(Field::CustomerAddress),
                Problem::WildcardNeedsUnspecifiedCa(ca),
            );
        }
    } else if ca.is_unspecified() {
        out.add(at(Field::CustomerAddress), Problem::UnspecifiedCa);
    }
    if !r.record_type.is_wildcard() && !r.mac_address.is_unicast() {
        out.add(at(Field::MACAddress), Problem::NotUnicastMac(r.mac_address));
    }
}

fn provider(p: &Policy, out: &mut Problems) {
    for (i, a) in p.provider_addresses.iter().enumerate() {
        let at = |f| Location::at(Array::ProviderAddresses, i, f);
        if bad_pa(a.provider_address) {
            out.add(
                at(Field::ProviderAddress),
                Problem::BadProviderAddress(a.provider_address),
            );
        }
        if a.prefix_length > max_len(a.provider_address) {
            out.add(
                at(Field::PrefixLength),
                Problem::PrefixLengthTooLong(a.prefix_length),
            );
        }
        if a.vlan_id > 4094 {
            out.add(at(Field::VlanID), Problem::VlanOutOfRange(a.vlan_id));
        }
    }
    for (i, r) in p.provider_routes.iter().enumerate() {
        let at = |f| Location::at(Array::ProviderRoutes, i, f);
        if r.next_hop.is_ipv4() != r.destination_prefix.addr().is_ipv4() {
            out.add(at(Field::NextHop), Problem::NextHopFamily(r.next_hop));
        } else if !r.next_hop.is_unspecified() {
            let reachable = p.provider_addresses.iter().any(|a| {
                Prefix::truncating(a.provider_address, a.prefix_length).contains(r.next_hop)
            });
            if !reachable {
                out.add(at(Field::NextHop), Problem::NextHopUnreachable(r.next_hop));
            }
        }
    }
}

fn hosts(p: &Policy, out: &mut Problems) {
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    let mut pa_owner: BTreeMap<IpAddr, usize> = BTreeMap::new();
    for (h, host) in p.hosts.iter().enumerate() {
        let at = |f| Location::at(Array::Hosts, h, f);
        if names.insert(host.name.as_str(), h).is_some() {
            out.add(at(Field::Name), Problem::DuplicateName);
        }
        if !host.gateway_mac_address.is_unicast() {
            out.add(
                at(Field::GatewayMACAddress),
                Problem::NotUnicastMac(host.gateway_mac_address),
            );
        }
        if !host.uplink.mac_address.is_unicast() {
            out.add(
                at(Field::UplinkMACAddress),
                Problem::NotUnicastMac(host.uplink.mac_address),
            );
        }
        if host.uplink.mtu < MIN_UPLINK_MTU {
            out.add(at(Field::MTU), Problem::MtuTooSmall(host.uplink.mtu));
        }
        for (k, &pa) in host.provider_addresses.iter().enumerate() {
            let at = Location::in_host(h, HostArray::ProviderAddresses, k, Field::Value);
            if bad_pa(pa) {
                out.add(at, Problem::BadProviderAddress(pa));
            } else if pa_owner.get(&pa).is_some_and(|&o| o != h) {
                out.add(at, Problem::PaOwnedTwice(pa));
            } else {
                pa_owner.insert(pa, h);
            }
        }
        for (k, n) in host.neighbors.iter().enumerate() {
            if !n.mac_address.is_unicast() {
                out.add(
                    Location::in_host(h, HostArray::Neighbors, k, Field::MACAddress),
                    Problem::NotUnicastMac(n.mac_address),
                );
            }
        }
        let mut port_names: BTreeMap<&str, usize> = BTreeMap::new();
        // MACs may repeat across VM networks, even on one host (HNV isolates by VSID);
        // within one VSID two ports cannot share one.
        let mut port_macs: BTreeMap<(u32, MacAddr), usize> = BTreeMap::new();
        for (k, port) in host.ports.iter().enumerate() {
            let at = |f| Location::in_host(h, HostArray::Ports, k, f);
            if port_names.insert(port.name.as_str(), k).is_some() {
                out.add(at(Field::Name), Problem::DuplicateName);
            }
            if !port.mac_address.is_unicast() {
                out.add(
                    at(Field::MACAddress),
                    Problem::NotUnicastMac(port.mac_address),
                );
            } else if port_macs
                .insert((port.virtual_subnet_id, port.mac_address), k)
                .is_some()
            {
                out.add(
                    at(Field::MACAddress),
                    Problem::DuplicatePortMac(port.mac_address),
                );
            }
            match Vsid::for_port(port.virtual_subnet_id) {
                Ok(None) => {}
                Ok(Some(vsid)) => {
                    let found = p.lookup_records.iter().any(|r| {
                        r.virtual_subnet_id == vsid.get()
                            && r.mac_address == port.mac_address
                            && r.record_type != RecordType::GatewayWildcard
                            && host.provider_addresses.contains(&r.provider_address)
                    });
                    if !found {
                        out.add(
                            at(Field::VirtualSubnetID),
                            Problem::PortWithoutRecord {
                                vsid: vsid.get(),
                                mac: port.mac_address,
                            },
                        );
                    }
                }
                Err(_) => out.add(
                    at(Field::VirtualSubnetID),
                    Problem::PortVsidReserved(port.virtual_subnet_id),
                ),
            }
        }
    }
}
