//! `hnv run` for real (root only): `scripts/netns` builds the seed fabric of network
//! namespaces — a bridge as the provider network, HostA and HostB each running `hnv run`
//! on AF_XDP sockets, VMs as namespaces behind veths — and the kernels' own ping is the
//! traffic. Checked: ping both ways between Contoso1 (HostA) and Contoso2 (HostB, same
//! VSID); the provider network carries only NVGRE with VSID 5001 and no customer ARP
//! (tshark decodes a capture of the bridge); the counters printed at shutdown show
//! frames forwarded and every UMEM frame accounted for; nothing is left behind.
//!
//! Skipped, with a message, when not run as root.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One fabric at a time: the two tests would otherwise share the two cores.
static SERIAL: Mutex<()> = Mutex::new(());

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn netns(args: &[&str]) -> Output {
    Command::new(repo().join("scripts/netns"))
        .args(args)
        .env("HNV_NETNS_QUIET", "1")
        .stdin(Stdio::null())
        .output()
        .expect("running scripts/netns")
}

/// A fabric that is torn down when dropped (also when the test panics).
struct Fabric {
    id: String,
    capture: Option<Child>,
    down: Option<String>,
}

impl Fabric {
    fn up(mode: &str) -> Self {
        let out = netns(&[
            "up",
            "--hnv",
            env!("CARGO_BIN_EXE_hnv"),
            "--mode",
            mode,
            "--stats-interval",
            "1",
        ]);
        assert!(
            out.status.success(),
            "scripts/netns up failed:\n{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        let id = text(&out.stdout).trim().to_string();
        assert!(!id.is_empty(), "scripts/netns up printed no id");
        Self {
            id,
            capture: None,
            down: None,
        }
    }

    fn ns(&self, name: &str) -> String {
        format!("hnv{}-{name}", self.id)
    }

    fn exec(&self, name: &str, cmd: &[&str]) -> Output {
        let mut args = vec!["exec", &self.id, name];
        args.extend_from_slice(cmd);
        netns(&args)
    }

    /// Starts tcpdump on the bridge, writing `pcap`; returns once it is capturing.
    fn capture(&mut self, pcap: &Path) {
        let ns = self.ns("fabric");
        let mut child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &ns,
                "tcpdump",
                "-Z",
                "root",
                "-i",
                "br0",
                "-n",
                "-U",
                "--immediate-mode",
                "-w",
            ])
            .arg(pcap)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting tcpdump");
        let stderr = child.stderr.take().expect("tcpdump stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("listening on") {
                    let _ = tx.send(());
                }
            }
        });
        self.capture = Some(child);
        rx.recv_timeout(Duration::from_secs(10))
            .expect("tcpdump did not start capturing");
    }

    fn stop_capture(&mut self) {
        if let Some(mut child) = self.capture.take() {
            let _ = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status();
            let end = Instant::now() + Duration::from_secs(5);
            while Instant::now() < end {
                if child.try_wait().ok().flatten().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The pids of the hnv processes, from the fabric's state directory.
    fn hnv_pids(&self) -> Vec<u32> {
        let dir = std::env::temp_dir().join(format!("hnv-netns.{}", self.id));
        ["HostA", "HostB"]
            .iter()
            .filter_map(|h| std::fs::read_to_string(dir.join(format!("{h}.pid"))).ok())
            .filter_map(|s| s.trim().parse().ok())
            .collect()
    }

    /// Stops hnv and deletes the namespaces; returns what `scripts/netns down` printed
    /// (each host's final counters).
    fn down(&mut self) -> String {
        self.stop_capture();
        let out = netns(&["down", &self.id]);
        let s = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(out.status.success(), "scripts/netns down failed:\n{s}");
        self.down = Some(s.clone());
        s
    }
}

impl Drop for Fabric {
    fn drop(&mut self) {
        if self.down.is_none() {
            self.stop_capture();
            let _ = netns(&["down", &self.id]);
        }
    }
}

/// `ping -c COUNT` from `vm` to `dst`; returns the average RTT in ms.
fn ping(f: &Fabric, vm: &str, dst: &str) -> f64 {
    let out = f.exec(vm, &["ping", "-c", "3", "-i", "0.2", "-W", "2", dst]);
    let s = text(&out.stdout);
    assert!(
        out.status.success(),
        "ping from {vm} to {dst} failed:\n{s}{}",
        text(&out.stderr)
    );
    assert!(s.contains(" 0% packet loss"), "{s}");
    // rtt min/avg/max/mdev = 0.315/0.672/1.347/0.477 ms
    s.lines()
        .find(|l| l.contains("min/avg/max"))
        .and_then(|l| l.split('=').nth(1))
        .and_then(|v| v.trim().split('/').nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

fn tshark(pcap: &Path, filter: &str, fields: &[&str]) -> Vec<String> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(pcap).args(["-Y", filter, "-T", "fields"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    if fields.is_empty() {
        cmd.args(["-e", "frame.number"]);
    }
    let out = cmd.output().expect("running tshark");
    assert!(
        out.status.success(),
        "tshark -Y {filter:?} failed: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

fn hex(s: &str) -> u32 {
    u32::from_str_radix(s.trim().trim_start_matches("0x"), 16)
        .unwrap_or_else(|_| panic!("not a hex number: {s:?}"))
}

/// The section of `report` `scripts/netns down` printed for `host`.
fn section<'a>(report: &'a str, host: &str) -> &'a str {
    let start = report
        .find(&format!("== {host}:"))
        .unwrap_or_else(|| panic!("no report for {host}:\n{report}"));
    let rest = &report[start + 3..];
    let end = rest.find("\n== ").map_or(rest.len(), |e| e + 1);
    &rest[..end]
}

fn forwarded(section: &str) -> u64 {
    section
        .lines()
        .find(|l| l.starts_with("worker:"))
        .and_then(|l| l.split(", ").find(|p| p.starts_with("forwarded ")))
        .and_then(|p| p["forwarded ".len()..].parse().ok())
        .unwrap_or_else(|| panic!("no worker line:\n{section}"))
}

fn vm_to_vm_across_hosts(mode: &str) {
    if !is_root() {
        println!(
            "skipped: hnv run over network namespaces needs root (CI runs it as root); \
             run `sudo cargo test -p hnv-cli --test run_netns`"
        );
        return;
    }
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let started = Instant::now();
    let work = std::env::temp_dir().join(format!("hnv-run-test-{}-{mode}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let pcap = work.join("fabric.pcap");

    let mut fabric = Fabric::up(mode);
    let prefix = format!("hnv{}-", fabric.id);
    fabric.capture(&pcap);
    let there = ping(&fabric, "Contoso1", "10.0.0.7");
    let back = ping(&fabric, "Contoso2", "10.0.0.5");
    println!("{mode}: ping Contoso1 -> Contoso2 avg {there:.3} ms, back avg {back:.3} ms");
    let pids = fabric.hnv_pids();
    assert_eq!(pids.len(), 2, "hnv pids");
    let report = fabric.down();
    println!("{report}");

    // The provider network: only NVGRE of VSID 5001 (key = VSID << 8 | FlowID), protocol
    // 0x6558 (transparent Ethernet bridging); no customer ARP inside; nothing else at all
    // (the hosts resolve PAs from static neighbours and hnv owns the PAs).
    let nvgre = tshark(&pcap, "gre", &["gre.key", "gre.proto"]);
    assert!(
        nvgre.len() >= 12,
        "expected >= 12 NVGRE frames (3 pings each way), got {}: {nvgre:?}",
        nvgre.len()
    );
    for line in &nvgre {
        let mut f = line.split('\t');
        let key = hex(f.next().unwrap_or(""));
        let proto = hex(f.next().unwrap_or(""));
        assert_eq!(key >> 8, 5001, "VSID of {line:?}");
        assert_eq!(proto, 0x6558, "GRE protocol of {line:?}");
    }
    let inner_arp = tshark(&pcap, "gre && arp", &[]);
    assert!(
        inner_arp.is_empty(),
        "customer ARP on the wire: {inner_arp:?}"
    );
    let other = tshark(&pcap, "!gre && !arp", &["frame.protocols"]);
    assert!(other.is_empty(), "unexpected frames on the wire: {other:?}");

    // The counters hnv printed at shutdown.
    for host in ["HostA", "HostB"] {
        let s = section(&report, host);
        assert!(s.contains("hnv exit status 0"), "{host}:\n{s}");
        assert!(s.contains("frame accounting: ok"), "{host}:\n{s}");
        assert!(!s.contains("LEAK"), "{host}:\n{s}");
        assert!(forwarded(s) >= 12, "{host} forwarded too little:\n{s}");
        assert!(s.contains("uplink eth1 (af_xdp): rx "), "{host}:\n{s}");
    }

    // Nothing left behind: no namespace of this fabric, no hnv process.
    let list = Command::new("ip").args(["netns", "list"]).output().unwrap();
    assert!(
        !text(&list.stdout).contains(&prefix),
        "namespaces left behind:\n{}",
        text(&list.stdout)
    );
    for pid in pids {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "hnv process {pid} left behind"
        );
    }
    let _ = std::fs::remove_dir_all(&work);
    println!("{mode}: done in {:.1} s", started.elapsed().as_secs_f64());
}

#[test]
fn ping_across_hosts_generic_xdp() {
    vm_to_vm_across_hosts("generic");
}

#[test]
fn ping_across_hosts_native_xdp() {
    vm_to_vm_across_hosts("native");
}
