//! Helpers shared by the root-only tests of hnv-afxdp: who we are, running commands,
//! network namespaces that delete themselves.
#![allow(dead_code)]

use std::process::{Command, Stdio};

/// True when the effective user is root (the namespace tests need it).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// Runs a command; the test fails with its stderr when it does not succeed.
pub fn sh(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Deletes the namespace when dropped.
pub struct Netns(pub String);

impl Netns {
    /// Creates the namespace `name` with IPv6 off (so its interfaces send no router or
    /// neighbour solicitations of their own).
    pub fn add(name: String) -> Self {
        let ns = Self(name);
        sh(&["ip", "netns", "add", &ns.0]);
        ns.exec(&["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
        ns.exec(&["sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"]);
        ns
    }

    /// Runs `cmd` inside the namespace; the test fails when it does not succeed.
    pub fn exec(&self, cmd: &[&str]) {
        let mut v = vec!["ip", "netns", "exec", &self.0];
        v.extend_from_slice(cmd);
        sh(&v);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}
