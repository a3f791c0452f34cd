//! `hnv run` with several workers and its control thread, for real (root only), over the
//! namespace fabric of `scripts/netns` (see `run_netns.rs` for what every fabric test
//! checks at the end: exit status 0, UMEM frames accounted for, one verdict per frame,
//! device counters equal to the workers', nothing left behind).
//!
//! - `two_workers_ping_and_tcp`: `--workers 2`; ping and 8 MiB over TCP across hosts
//!   (sha256 equal on both ends); both workers of both hosts handled frames.
//! - `provider_neighbour_resolved_by_arp`: HostA has no static neighbour for HostB's PA;
//!   the first frames towards it raise an unresolved-neighbour event, the control thread
//!   sends ARP requests on the uplink, HostB answers, and the pings go through.
//! - `policy_reload_on_sighup`: a lookup record missing (ping fails), the file rewritten
//!   with it and SIGHUP sent (ping succeeds, one "policy reloaded" line per host), then an
//!   invalid file and SIGHUP (refused with its problems; forwarding goes on).
//! - `interface_down_up`: the uplink and a VM port go down and come back up (`ip link
//!   set`); the pings work again afterwards and hnv reported both changes on stderr.
//!
//! Skipped, with a message, when not run as root.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

/// The TCP ends of the transfers (see `common::traffic_helper`); does nothing when run as an
/// ordinary test.
#[test]
#[ignore = "a TCP end run by the namespace tests inside a VM namespace"]
fn traffic_helper_in_vm_namespace() {
    traffic_helper();
}

// ---- Policy files, stderr, signals, report lines ---------------------------------------------

/// The seed policy as JSON, to be changed by a test.
fn seed() -> serde_json::Value {
    let text = std::fs::read_to_string(repo().join("docs/examples/seed-policy.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A policy file outside the run's work directory (which `Run::start_with` empties).
struct PolicyFile(PathBuf);

impl PolicyFile {
    fn new(name: &str, policy: &serde_json::Value) -> Self {
        let path = std::env::temp_dir().join(format!(
            "hnv-control-test-{}-{name}.json",
            std::process::id()
        ));
        let f = Self(path);
        f.write(policy);
        f
    }

    fn write(&self, policy: &serde_json::Value) {
        self.write_text(&serde_json::to_string_pretty(policy).unwrap());
    }

    /// Replaces the file atomically (a reload never reads half a file).
    fn write_text(&self, text: &str) {
        let tmp = self.0.with_extension("tmp");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, &self.0).unwrap();
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for PolicyFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// What hnv on `host` printed on stderr so far.
fn stderr_of(f: &Fabric, host: &str) -> String {
    let dir = std::env::temp_dir().join(format!("hnv-netns.{}", f.id));
    std::fs::read_to_string(dir.join(format!("{host}.err"))).unwrap_or_default()
}

/// Waits (at most 10 s) until hnv on `host` printed `needle` `count` times on stderr.
fn wait_stderr(f: &Fabric, host: &str, needle: &str, count: usize) -> String {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let s = stderr_of(f, host);
        if s.matches(needle).count() >= count {
            return s;
        }
        assert!(
            Instant::now() < end,
            "{host} did not print {needle:?} {count} times:\n{s}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn sighup_all(f: &Fabric) {
    let pids = f.hnv_pids();
    assert_eq!(pids.len(), 2, "hnv pids: {pids:?}");
    for pid in pids {
        let st = Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .unwrap();
        assert!(st.success(), "kill -HUP {pid}");
    }
}

/// The lines `worker N: ...` of a report: (N, frames).
fn worker_frames(r: &HostReport) -> Vec<(u32, u64)> {
    r.text
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("worker ")?;
            let (n, body) = rest.split_once(':')?;
            let n: u32 = n.parse().ok()?;
            Some((n, number_after(body, "frames")?))
        })
        .collect()
}

/// The number after `key` on the report's `control:` line.
fn control(r: &HostReport, key: &str) -> u64 {
    let line = r
        .text
        .lines()
        .find(|l| l.starts_with("control: arp requests"))
        .unwrap_or_else(|| panic!("no control line:\n{}", r.text));
    number_after(line, key).unwrap_or_else(|| panic!("no {key:?} in {line:?}"))
}

/// Pings until one is answered (at most `secs` seconds); the first frames may be lost
/// while something is being resolved.
fn ping_until_answered(f: &Fabric, vm: &str, dst: &str, secs: u64) {
    let end = Instant::now() + Duration::from_secs(secs);
    loop {
        let out = f.exec(vm, &["ping", "-c", "1", "-W", "1", dst]);
        if out.status.success() {
            return;
        }
        assert!(
            Instant::now() < end,
            "no answer from {dst} to {vm} in {secs} s:\n{}",
            text(&out.stdout)
        );
    }
}

// ---- The tests ---------------------------------------------------------------------------------

#[test]
fn two_workers_ping_and_tcp() {
    let Some(mut run) = Run::start_with(
        "two_workers_ping_and_tcp",
        "generic",
        Capture::Headers,
        &["--workers", "2"],
    ) else {
        return;
    };
    let there = ping(&run.fabric, "Contoso1", "10.0.0.7");
    let back = ping(&run.fabric, "Contoso2", "10.0.0.5");
    println!("2 workers: ping Contoso1 -> Contoso2 avg {there:.3} ms, back avg {back:.3} ms");
    ping(&run.fabric, "Contoso1", "10.0.0.6"); // same host, no encapsulation
                                               // Several flows, so that both workers see some: one TCP connection, then more pings
                                               // (ICMP hashes the address pair) across VSIDs and to the IP-rewrite peer.
    tcp_transfer(&run, "Contoso1", "Contoso2", "10.0.0.7", 8 << 20);
    ping(&run.fabric, "Contoso1", "10.0.1.7");
    ping(&run.fabric, "Fabrikam1", "10.0.0.7");
    let r = run.finish();
    println!("{}", r.text);
    for h in [&r.a, &r.b] {
        let workers = worker_frames(h);
        assert_eq!(
            workers.iter().map(|w| w.0).collect::<Vec<_>>(),
            [0, 1],
            "one line per worker:\n{}",
            h.text
        );
        assert!(
            workers.iter().all(|w| w.1 > 0),
            "both workers handled frames: {workers:?}\n{}",
            h.text
        );
        let sum: u64 = workers.iter().map(|w| w.1).sum();
        assert_eq!(sum, h.frames, "workers' frames add up:\n{}", h.text);
        // 8 MiB in segments of at most 1418 bytes of payload.
        assert!(h.frames > 5900, "{}", h.text);
        assert!(
            h.text.contains("dropped 0,"),
            "no dispatch drop:\n{}",
            h.text
        );
    }
    let wire = check_wire(&run.pcap, &[5001, 6001]);
    assert!(wire.nvgre > 5900, "{wire:?}");
    run.done();
}

#[test]
fn provider_neighbour_resolved_by_arp() {
    let mut policy = seed();
    let host_a = policy["Hosts"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|h| h["Name"] == "HostA")
        .unwrap();
    let neighbors = host_a["Neighbors"].as_array_mut().unwrap();
    let before = neighbors.len();
    neighbors.retain(|n| n["IPAddress"] != "192.168.4.22");
    assert_eq!(neighbors.len(), before - 1);
    let file = PolicyFile::new("no-neighbour", &policy);
    let Some(mut run) = Run::start_with(
        "provider_neighbour_resolved_by_arp",
        "generic",
        Capture::Full,
        &["--policy", file.path(), "--workers", "2"],
    ) else {
        return;
    };
    ping_until_answered(&run.fabric, "Contoso1", "10.0.0.7", 10);
    ping(&run.fabric, "Contoso1", "10.0.0.7");
    ping(&run.fabric, "Contoso2", "10.0.0.5");
    let r = run.finish();
    println!("{}", r.text);
    assert!(control(&r.a, "arp requests") >= 1, "{}", r.a.text);
    assert_eq!(control(&r.a, "neighbours resolved"), 1, "{}", r.a.text);
    assert_eq!(control(&r.a, "resolution failures"), 0, "{}", r.a.text);
    assert!(r.a.drop_count("unresolved_neighbor") >= 1, "{}", r.a.text);
    // HostB keeps its static neighbours: it never asks.
    assert_eq!(control(&r.b, "arp requests"), 0, "{}", r.b.text);
    let wire = check_wire(&run.pcap, &[5001]);
    assert!(
        wire.provider_arp >= 2,
        "request and reply on the wire: {wire:?}"
    );
    assert!(wire.nvgre >= 12, "{wire:?}");
    run.done();
}

#[test]
fn policy_reload_on_sighup() {
    // Contoso2 gets a second address, 10.0.0.77, that the first policy does not know.
    let mut with_record = seed();
    let records = with_record["LookupRecords"].as_array_mut().unwrap();
    let mut extra = records
        .iter()
        .find(|r| r["VMName"] == "Contoso2" && r["CustomerAddress"] == "10.0.0.7")
        .unwrap()
        .clone();
    extra["CustomerAddress"] = "10.0.0.77".into();
    records.push(extra);
    let file = PolicyFile::new("reload", &seed());
    let Some(mut run) = Run::start_with(
        "policy_reload_on_sighup",
        "generic",
        Capture::Full,
        &["--policy", file.path(), "--workers", "2"],
    ) else {
        return;
    };
    let f = &run.fabric;
    let out = f.exec(
        "Contoso2",
        &["ip", "addr", "add", "10.0.0.77/24", "dev", "eth0"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    ping(f, "Contoso1", "10.0.0.7");
    ping_unanswered(f, "Contoso1", "10.0.0.77");

    file.write(&with_record);
    sighup_all(f);
    for host in ["HostA", "HostB"] {
        let s = wait_stderr(
            f,
            host,
            "hnv run: policy reloaded (reload 1): generation ",
            1,
        );
        println!(
            "{host}: {}",
            s.lines()
                .filter(|l| l.contains("reload"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    ping_until_answered(f, "Contoso1", "10.0.0.77", 5);
    ping(f, "Contoso1", "10.0.0.77");

    // An invalid file: refused with its problems; the tables of the last reload stay.
    let mut invalid = with_record.clone();
    invalid["LookupRecords"][0]["VirtualSubnetID"] = 7.into();
    file.write(&invalid);
    sighup_all(f);
    for host in ["HostA", "HostB"] {
        let s = wait_stderr(f, host, "policy reload refused", 1);
        assert!(s.contains("LookupRecords[0]"), "the problem is named:\n{s}");
    }
    ping(f, "Contoso1", "10.0.0.77");
    ping(f, "Contoso1", "10.0.0.7");
    // Not JSON at all: refused as well.
    file.write_text("{ \"LookupRecords\": [");
    sighup_all(f);
    for host in ["HostA", "HostB"] {
        wait_stderr(f, host, "policy reload refused", 2);
    }
    ping(f, "Contoso1", "10.0.0.77");

    let r = run.finish();
    println!("{}", r.text);
    for h in [&r.a, &r.b] {
        assert_eq!(control(h, "reloads"), 1, "{}", h.text);
        assert_eq!(control(h, "reload errors"), 2, "{}", h.text);
    }
    assert!(
        r.a.misses >= 1,
        "the unknown CA was a lookup miss:\n{}",
        r.a.text
    );
    let wire = check_wire(&run.pcap, &[5001]);
    assert!(
        wire.inner
            .contains(&("10.0.0.5".into(), "10.0.0.77".into(), 5001)),
        "{wire:?}"
    );
    run.done();
}

fn interface_down_up(workers: &'static str) {
    let Some(mut run) = Run::start_with(
        "interface_down_up",
        "generic",
        Capture::Full,
        &["--workers", workers],
    ) else {
        return;
    };
    let f = &run.fabric;
    ping(f, "Contoso1", "10.0.0.7");
    for (host, dev) in [
        ("HostA", "eth1"),
        ("HostA", "vm-contoso1"),
        ("HostB", "eth1"),
    ] {
        let down = f.exec(host, &["ip", "link", "set", dev, "down"]);
        assert!(down.status.success(), "{}", text(&down.stderr));
        wait_stderr(f, host, &format!("{dev}: link down"), 1);
        // While it is down, the VM's ping goes nowhere (and nothing hangs).
        let _ = f.exec(
            "Contoso1",
            &["ping", "-c", "2", "-i", "0.2", "-W", "1", "10.0.0.7"],
        );
        let up = f.exec(host, &["ip", "link", "set", dev, "up"]);
        assert!(up.status.success(), "{}", text(&up.stderr));
        wait_stderr(f, host, &format!("{dev}: link up again"), 1);
        ping_until_answered(f, "Contoso1", "10.0.0.7", 10);
        ping(f, "Contoso1", "10.0.0.7");
        ping(f, "Contoso2", "10.0.0.5");
    }
    let r = run.finish();
    println!("{}", r.text);
    assert_eq!(control(&r.a, "link changes"), 4, "{}", r.a.text);
    assert_eq!(control(&r.b, "link changes"), 2, "{}", r.b.text);
    check_wire(&run.pcap, &[5001]);
    run.done();
}

#[test]
fn interface_down_up_one_worker() {
    interface_down_up("1");
}

#[test]
fn interface_down_up_two_workers() {
    interface_down_up("2");
}
