//! The HNV policy records, field for field as the `New-NetVirtualization*` cmdlets define
//! them, and the host/port configuration that says which records a host needs.
//!
//! Numbers that have a valid range (VSID, prefix) are kept as given here; [`super::validate`]
//! checks them and names the record and field of every problem.

use alloc::string::String;
use alloc::vec::Vec;
use core::net::IpAddr;

use super::prefix::{Prefix, Rdid};
use crate::ids::MacAddr;

pub use super::dataplane::{RecordType, Rule};

/// `New-NetVirtualizationLookupRecord`: CA → PA for one VM network adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupRecord {
    /// `CustomerAddress`: the IP the VM uses.
    pub customer_address: IpAddr,
    /// `VirtualSubnetID` (valid 4096..=16_777_214).
    pub virtual_subnet_id: u32,
    /// `MACAddress` of the VM network adapter.
    pub mac_address: MacAddr,
    /// `ProviderAddress`: the PA of the host running the VM.
    pub provider_address: IpAddr,
    /// `Rule`.
    pub rule: Rule,
    /// `Type`.
    pub record_type: RecordType,
    /// `VMName` (informational).
    pub vm_name: String,
    /// `CustomerID` (informational; a GUID in VMM-managed deployments).
    pub customer_id: String,
    /// `Context` (informational).
    pub context: String,
    /// `UseVmMACAddress`: with IP rewrite, keep the VM's MAC as the outer source.
    pub use_vm_mac_address: bool,
}

/// `New-NetVirtualizationCustomerRoute`: a route inside a VM network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerRoute {
    /// `RoutingDomainID`: the VM network.
    pub routing_domain_id: Rdid,
    /// `VirtualSubnetID` this route belongs to.
    pub virtual_subnet_id: u32,
    /// `DestinationPrefix`.
    pub destination_prefix: Prefix,
    /// `NextHop`: `0.0.0.0` / `::` for on-link, else a gateway CA.
    pub next_hop: IpAddr,
    /// `Metric`: lowest wins among equal prefixes.
    pub metric: u32,
}

impl CustomerRoute {
    /// True when the next hop is the unspecified address (the prefix is on-link).
    pub fn is_on_link(&self) -> bool {
        self.next_hop.is_unspecified()
    }
}

/// `New-NetVirtualizationProviderAddress`: a PA owned by a host's HNV filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderAddress {
    /// `ProviderAddress`.
    pub provider_address: IpAddr,
    /// `InterfaceIndex`.
    pub interface_index: u32,
    /// `PrefixLength` of the provider subnet.
    pub prefix_length: u8,
    /// `VlanID` (0 = untagged).
    pub vlan_id: u16,
}

/// `New-NetVirtualizationProviderRoute`: a route on the provider network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderRoute {
    /// `DestinationPrefix`.
    pub destination_prefix: Prefix,
    /// `InterfaceIndex`.
    pub interface_index: u32,
    /// `NextHop`.
    pub next_hop: IpAddr,
    /// `Metric`.
    pub metric: u32,
}

/// The uplink a host sends NVGRE on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uplink {
    /// `Interface` name (e.g. `eth1`).
    pub interface: String,
    /// `MACAddress` of the uplink.
    pub mac_address: MacAddr,
    /// `MTU` of the provider network.
    pub mtu: u16,
}

/// A static provider-network neighbour (like `New-NetNeighbor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Neighbor {
    /// `IPAddress`.
    pub ip_address: IpAddr,
    /// `MACAddress`.
    pub mac_address: MacAddr,
}

/// A VM network adapter on the host's vswitch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    /// `Name` (the VM or adapter name).
    pub name: String,
    /// `MACAddress` of the adapter.
    pub mac_address: MacAddr,
    /// `VirtualSubnetID` (`Set-VMNetworkAdapter -VirtualSubnetId`; 0 = not virtualized).
    pub virtual_subnet_id: u32,
    /// `Interface`: the host-side device (veth, TAP) in the Linux backends.
    pub interface: String,
}

/// One Hyper-V host: its PAs, uplink, gateway MAC and VM ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// `Name`.
    pub name: String,
    /// `ProviderAddresses` this host's HNV filter owns.
    pub provider_addresses: Vec<IpAddr>,
    /// `Uplink`.
    pub uplink: Uplink,
    /// `GatewayMACAddress`: MAC_DFGW, answered for every virtual subnet's `.1`.
    pub gateway_mac_address: MacAddr,
    /// `Neighbors`: static provider-network neighbours.
    pub neighbors: Vec<Neighbor>,
    /// `Ports`.
    pub ports: Vec<Port>,
}

/// A whole policy: the fabric's records and its hosts, as in the policy file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Policy {
    /// `LookupRecords`.
    pub lookup_records: Vec<LookupRecord>,
    /// `CustomerRoutes`.
    pub customer_routes: Vec<CustomerRoute>,
    /// `ProviderAddresses`.
    pub provider_addresses: Vec<ProviderAddress>,
    /// `ProviderRoutes`.
    pub provider_routes: Vec<ProviderRoute>,
    /// `Hosts`.
    pub hosts: Vec<Host>,
}

impl Policy {
    /// The host named `name`.
    pub fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.iter().find(|h| h.name == name)
    }
}
