//! The seed fabric: `docs/examples/seed-policy.json` (Contoso in VSIDs 5001 and 6001,
//! Fabrikam in 7001 with the same CAs, hosts HostA and HostB) with a VM model on every
//! port, as the seed's packet-flow figures place them.
//!
//! ```
//! use hnv_sim::seed;
//! let policy = hnv_core::policy::file::from_json(seed::POLICY).unwrap();
//! let mut fabric = seed::fabric(&policy).unwrap();
//! fabric.send_ping("Contoso1", "10.0.0.7".parse().unwrap(), 1).unwrap();
//! fabric.run();
//! assert_eq!(fabric.vm("Contoso1").unwrap().inbox().len(), 2); // ARP reply, echo reply
//! ```

use std::net::{IpAddr, Ipv4Addr};

use hnv_core::ids::MacAddr;
use hnv_core::policy::Policy;

use crate::fabric::{Fabric, FabricError};
use crate::vm::{IfAddr, Vm, VmError};

/// The seed policy file's text.
pub const POLICY: &str = include_str!("../../docs/examples/seed-policy.json");

/// The hosts of the seed policy.
pub const HOSTS: [&str; 2] = ["HostA", "HostB"];

/// One VM of the seed: host, port (= VM name), MAC, CA, prefix length, default gateway.
#[derive(Debug, Clone, Copy)]
pub struct SeedVm {
    /// The host it runs on.
    pub host: &'static str,
    /// Its port and name.
    pub name: &'static str,
    /// Its MAC.
    pub mac: MacAddr,
    /// Its CA.
    pub ca: Ipv4Addr,
    /// The on-link prefix length.
    pub prefix_len: u8,
    /// Its default gateway (the subnet's `.1`).
    pub gateway: Ipv4Addr,
}

const fn vm(host: &'static str, name: &'static str, mac: [u8; 6], ca: [u8; 4]) -> SeedVm {
    SeedVm {
        host,
        name,
        mac: MacAddr(mac),
        ca: Ipv4Addr::new(ca[0], ca[1], ca[2], ca[3]),
        prefix_len: 24,
        gateway: Ipv4Addr::new(ca[0], ca[1], ca[2], 1),
    }
}

/// Every VM of the seed.
pub const VMS: [SeedVm; 7] = [
    vm("HostA", "Contoso1", [0, 0x15, 0x5d, 0, 0, 1], [10, 0, 0, 5]),
    vm("HostA", "Contoso3", [0, 0x15, 0x5d, 0, 0, 3], [10, 0, 0, 6]),
    vm("HostA", "Contoso4", [0, 0x15, 0x5d, 0, 0, 4], [10, 0, 1, 6]),
    vm(
        "HostA",
        "Fabrikam1",
        [0, 0x15, 0x5d, 0, 1, 1],
        [10, 0, 0, 5],
    ),
    vm("HostB", "Contoso2", [0, 0x15, 0x5d, 0, 0, 2], [10, 0, 0, 7]),
    vm("HostB", "Contoso5", [0, 0x15, 0x5d, 0, 0, 5], [10, 0, 1, 7]),
    vm(
        "HostB",
        "Fabrikam2",
        [0, 0x15, 0x5d, 0, 1, 2],
        [10, 0, 0, 7],
    ),
];

impl SeedVm {
    /// A VM model with this VM's addresses.
    pub fn model(&self) -> Result<Vm, VmError> {
        let addr = IfAddr::new(self.ca, self.prefix_len)?;
        Vm::new(self.name, self.mac, &[addr], &[IpAddr::V4(self.gateway)])
    }
}

/// The seed's hosts compiled from `policy` (the seed policy or a variant of it), with the
/// VM of [`VMS`] attached to every port the policy gives its host.
pub fn fabric(policy: &Policy) -> Result<Fabric, FabricError> {
    let mut f = Fabric::from_policy(policy, &HOSTS)?;
    for v in &VMS {
        let has_port = policy
            .host(v.host)
            .is_some_and(|h| h.ports.iter().any(|p| p.name == v.name));
        if has_port {
            f.attach(v.host, v.name, v.model().map_err(FabricError::Vm)?)?;
        }
    }
    Ok(f)
}
