//! The seed fabric shared by the fabric tests: docs/examples/seed-policy.json with a VM
//! model on every port.
#![allow(dead_code)]

use hnv_core::ids::MacAddr;
use hnv_core::policy::file;
use hnv_sim::fabric::Fabric;
use hnv_sim::vm::{IfAddr, Vm};

pub const SEED: &str = include_str!("../../../docs/examples/seed-policy.json");

pub fn vm(name: &str, mac: [u8; 6], addr: &str, gateway: &str) -> Vm {
    Vm::new(
        name,
        MacAddr(mac),
        &[addr.parse::<IfAddr>().unwrap()],
        &[gateway.parse().unwrap()],
    )
    .unwrap()
}

/// The seed's hosts with every VM of the policy attached to its port.
pub fn seed_fabric(json: &str) -> Fabric {
    let policy = file::from_json(json).unwrap();
    let mut f = Fabric::from_policy(&policy, &["HostA", "HostB"]).unwrap();
    for (host, name, mac, addr, gw) in [
        (
            "HostA",
            "Contoso1",
            [0, 0x15, 0x5d, 0, 0, 1],
            "10.0.0.5/24",
            "10.0.0.1",
        ),
        (
            "HostA",
            "Contoso3",
            [0, 0x15, 0x5d, 0, 0, 3],
            "10.0.0.6/24",
            "10.0.0.1",
        ),
        (
            "HostA",
            "Contoso4",
            [0, 0x15, 0x5d, 0, 0, 4],
            "10.0.1.6/24",
            "10.0.1.1",
        ),
        (
            "HostA",
            "Fabrikam1",
            [0, 0x15, 0x5d, 0, 1, 1],
            "10.0.0.5/24",
            "10.0.0.1",
        ),
        (
            "HostB",
            "Contoso2",
            [0, 0x15, 0x5d, 0, 0, 2],
            "10.0.0.7/24",
            "10.0.0.1",
        ),
        (
            "HostB",
            "Contoso5",
            [0, 0x15, 0x5d, 0, 0, 5],
            "10.0.1.7/24",
            "10.0.1.1",
        ),
        (
            "HostB",
            "Fabrikam2",
            [0, 0x15, 0x5d, 0, 1, 2],
            "10.0.0.7/24",
            "10.0.0.1",
        ),
    ] {
        f.attach(host, name, vm(name, mac, addr, gw)).unwrap();
    }
    f
}
