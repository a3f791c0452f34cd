//! The policy-file loader on arbitrary bytes: never a panic, only errors. Whatever parses
//! must survive save → load unchanged, and compile for each of its hosts when it validates.
#![no_main]

use hnv_core::policy::file::{from_json, load, to_json};
use hnv_core::policy::Tables;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(policy) = from_json(text) {
        let saved = to_json(&policy);
        let again = from_json(&saved).expect("a saved policy loads");
        assert_eq!(again, policy, "load -> save -> load changed the policy");
    }
    if let Ok(policy) = load(text) {
        for host in &policy.hosts {
            let tables = Tables::compile(&policy, &host.name).expect("a valid policy compiles");
            assert_eq!(tables.host(), host.name);
        }
    }
});
