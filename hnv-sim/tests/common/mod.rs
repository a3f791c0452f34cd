//! The seed fabric shared by the fabric tests: docs/examples/seed-policy.json with a VM
//! model on every port.
#![allow(dead_code)]

use hnv_core::policy::file;
use hnv_sim::fabric::Fabric;

pub use hnv_sim::seed::POLICY as SEED;

/// The seed's hosts from the policy `json` (the seed or a variant) with every VM attached.
pub fn seed_fabric(json: &str) -> Fabric {
    hnv_sim::seed::fabric(&file::from_json(json).unwrap()).unwrap()
}
