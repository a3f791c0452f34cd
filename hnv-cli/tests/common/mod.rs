//! Shared by the root-only tests of `hnv run` over network namespaces: the fabric of
//! `scripts/netns`, captures of the provider network and their tshark check, the TCP
//! ends run inside VM namespaces, and the counters hnv prints at shutdown.
//!
//! A test binary that uses `spawn_helper` must define the ignored test
//! `traffic_helper_in_vm_namespace` calling [`traffic_helper`]: the helper is that
//! binary, run again inside a VM namespace.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One fabric at a time: the tests would otherwise share the two cores.
pub static SERIAL: Mutex<()> = Mutex::new(());

/// The uplink MTU of both hosts in the seed policy.
pub const UPLINK_MTU: usize = 1500;
/// NVGRE over IPv4: outer Ethernet is not counted in the MTU; IPv4 20 + GRE 8 + inner
/// Ethernet 14.
pub const NVGRE_V4_OVERHEAD: usize = 42;

/// The PAs of the IP-rewrite (TranslationMethodNat) records.
pub const NAT_PAS: [&str; 2] = ["192.168.4.51", "192.168.4.52"];

/// The environment variable that turns `traffic_helper_in_vm_namespace` into a TCP end.
pub const HELPER_ENV: &str = "HNV_NETNS_TRAFFIC";

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

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

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub fn netns(args: &[&str]) -> Output {
    Command::new(repo().join("scripts/netns"))
        .args(args)
        .env("HNV_NETNS_QUIET", "1")
        .stdin(Stdio::null())
        .output()
        .expect("running scripts/netns")
}

/// Waits for `child` until `deadline`; kills it when the deadline passes.
pub fn wait_until(child: &mut Child, deadline: Instant, what: &str) -> std::process::ExitStatus {
    loop {
        if let Some(status) = child.try_wait().expect("waiting for a child") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish in time (killed)");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A fabric that is torn down when dropped (also when the test panics).
pub struct Fabric {
    pub id: String,
    pub capture: Option<Child>,
    pub down: Option<String>,
}

impl Fabric {
    pub fn up(mode: &str) -> Self {
        Self::up_with(mode, &[])
    }

    /// Like [`Fabric::up`], with more options for `scripts/netns up` (`--policy F`,
    /// `--hosts "A B"`, ...).
    pub fn up_with(mode: &str, extra: &[&str]) -> Self {
        let mut args = vec![
            "up",
            "--hnv",
            env!("CARGO_BIN_EXE_hnv"),
            "--mode",
            mode,
            "--stats-interval",
            "1",
        ];
        args.extend_from_slice(extra);
        let out = netns(&args);
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

    pub fn ns(&self, name: &str) -> String {
        format!("hnv{}-{name}", self.id)
    }

    pub fn exec(&self, name: &str, cmd: &[&str]) -> Output {
        let mut args = vec!["exec", &self.id, name];
        args.extend_from_slice(cmd);
        netns(&args)
    }

    /// Starts tcpdump on the bridge, writing `pcap` (frames cut at `snaplen` bytes);
    /// returns once it is capturing.
    pub fn capture(&mut self, pcap: &Path, snaplen: u32) {
        let ns = self.ns("fabric");
        let snaplen = snaplen.to_string();
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
                "-s",
                &snaplen,
                "-B",
                "8192",
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

    pub fn stop_capture(&mut self) {
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
    pub fn hnv_pids(&self) -> Vec<u32> {
        let dir = std::env::temp_dir().join(format!("hnv-netns.{}", self.id));
        self.hosts()
            .iter()
            .filter_map(|h| std::fs::read_to_string(dir.join(format!("{h}.pid"))).ok())
            .filter_map(|s| s.trim().parse().ok())
            .collect()
    }

    /// The hosts running hnv, from the fabric's state directory.
    pub fn hosts(&self) -> Vec<String> {
        let dir = std::env::temp_dir().join(format!("hnv-netns.{}", self.id));
        std::fs::read_to_string(dir.join("hosts"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Frames received by `eth0` of `vm` so far (its kernel's counter).
    pub fn rx_packets(&self, vm: &str) -> u64 {
        let out = self.exec(vm, &["cat", "/sys/class/net/eth0/statistics/rx_packets"]);
        assert!(out.status.success(), "{vm}: {}", text(&out.stderr));
        text(&out.stdout)
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{vm}: rx_packets {:?}", text(&out.stdout)))
    }

    /// Stops hnv and deletes the namespaces; returns what `scripts/netns down` printed
    /// (each host's final counters).
    pub fn down(&mut self) -> String {
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

/// One namespace test: the lock, a work directory, a fabric and its capture.
pub struct Run {
    pub name: &'static str,
    pub mode: &'static str,
    pub started: Instant,
    pub work: PathBuf,
    pub pcap: PathBuf,
    pub fabric: Fabric,
    pub _serial: std::sync::MutexGuard<'static, ()>,
}

/// How much of each frame on the provider network is kept.
#[derive(Clone, Copy)]
pub enum Capture {
    /// Whole frames: every checksum can be verified.
    Full,
    /// The headers only (bulk transfers): NVGRE and IPv4 headers are verified, TCP
    /// checksums are left to the receiving kernel and the content hash.
    Headers,
}

impl Run {
    /// `None` (and a message) when not root.
    pub fn start(name: &'static str, mode: &'static str, capture: Capture) -> Option<Self> {
        Self::start_with(name, mode, capture, &[])
    }

    /// Like [`Run::start`], with more options for `scripts/netns up`.
    pub fn start_with(
        name: &'static str,
        mode: &'static str,
        capture: Capture,
        extra: &[&str],
    ) -> Option<Self> {
        if !is_root() {
            println!(
                "skipped: hnv run over network namespaces needs root (CI runs it as root); \
                 run `sudo cargo test -p hnv-cli --test run_netns`"
            );
            return None;
        }
        let serial = SERIAL
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let started = Instant::now();
        let work = std::env::temp_dir().join(format!("hnv-run-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir_all(&work).unwrap();
        let pcap = work.join("fabric.pcap");
        let mut fabric = Fabric::up_with(mode, extra);
        fabric.capture(
            &pcap,
            match capture {
                Capture::Full => 262_144,
                Capture::Headers => 160,
            },
        );
        Some(Self {
            name,
            mode,
            started,
            work,
            pcap,
            fabric,
            _serial: serial,
        })
    }

    /// Stops everything, checks the counters of both hosts and that nothing is left
    /// behind; returns the hosts' reports.
    pub fn finish(&mut self) -> Reports {
        let mut hosts = self.finish_hosts();
        let pick = |hosts: &mut Vec<(String, HostReport)>, name: &str| {
            let i = hosts
                .iter()
                .position(|h| h.0 == name)
                .unwrap_or_else(|| panic!("no report of {name}"));
            hosts.swap_remove(i).1
        };
        let text = hosts.iter().map(|h| h.1.text.as_str()).collect();
        Reports {
            a: pick(&mut hosts, "HostA"),
            b: pick(&mut hosts, "HostB"),
            text,
        }
    }

    /// Stops everything, checks the counters of every host that ran hnv and that nothing
    /// is left behind; returns each host's report.
    pub fn finish_hosts(&mut self) -> Vec<(String, HostReport)> {
        let prefix = format!("hnv{}-", self.fabric.id);
        let hosts = self.fabric.hosts();
        let pids = self.fabric.hnv_pids();
        assert_eq!(pids.len(), hosts.len(), "hnv pids of {hosts:?}");
        let report = self.fabric.down();
        let reports: Vec<(String, HostReport)> = hosts
            .iter()
            .map(|h| (h.clone(), HostReport::parse(section(&report, h))))
            .collect();
        for (_, r) in &reports {
            r.check_accounting();
        }

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
        let state = std::env::temp_dir().join(format!("hnv-netns.{}", self.fabric.id));
        assert!(!state.exists(), "{} left behind", state.display());
        let links = Command::new("ip")
            .args(["-o", "link", "show"])
            .output()
            .unwrap();
        for l in text(&links.stdout).lines() {
            assert!(
                !["vm-contoso", "vm-fabrikam", "tap-contoso", "tap-fabrikam"]
                    .iter()
                    .any(|name| l.contains(name)),
                "a VM veth or TAP device left in the root namespace: {l}"
            );
        }
        reports
    }

    pub fn done(&self) {
        let _ = std::fs::remove_dir_all(&self.work);
        println!(
            "{} ({}): done in {:.1} s",
            self.name,
            self.mode,
            self.started.elapsed().as_secs_f64()
        );
    }
}

impl Drop for Run {
    /// After a failure the work directory stays for inspection (the capture of the
    /// provider network, `fabric.pcap`), without the bulk data files.
    fn drop(&mut self) {
        if std::thread::panicking() && self.work.exists() {
            if let Ok(dir) = std::fs::read_dir(&self.work) {
                for entry in dir.flatten() {
                    let path = entry.path();
                    if path
                        .extension()
                        .is_some_and(|e| e == "sent" || e == "received")
                    {
                        let _ = std::fs::remove_file(path);
                    }
                }
            }
            eprintln!("{}: kept {} for inspection", self.name, self.work.display());
        }
    }
}

/// Contoso1 learned the path MTU towards Contoso2 (10.0.0.7) from the switch's ICMP
/// Fragmentation Needed: the uplink MTU less the NVGRE overhead.
pub fn pmtu_learned(run: &Run) {
    let route = run
        .fabric
        .exec("Contoso1", &["ip", "route", "get", "10.0.0.7"]);
    let route = text(&route.stdout);
    let pmtu = (UPLINK_MTU - NVGRE_V4_OVERHEAD).to_string();
    assert!(
        route.contains(&format!("mtu {pmtu}")),
        "Contoso1 did not learn the path MTU {pmtu} towards 10.0.0.7:\n{route}"
    );
}

/// `ping -c 3` from `vm` to `dst`, which must all be answered; returns the average RTT in
/// ms.
pub fn ping(f: &Fabric, vm: &str, dst: &str) -> f64 {
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

/// `ping` from `vm` to `dst` for two seconds, which must get no echo reply at all.
pub fn ping_unanswered(f: &Fabric, vm: &str, dst: &str) -> String {
    let out = f.exec(vm, &["ping", "-c", "4", "-i", "0.2", "-w", "2", dst]);
    let s = text(&out.stdout);
    assert!(
        !out.status.success(),
        "ping from {vm} to {dst} was answered:\n{s}"
    );
    assert!(s.contains(" 0 received"), "{s}");
    assert!(!s.contains("bytes from"), "{s}");
    s
}

// ---- TCP transfers --------------------------------------------------------------------------

/// `len` bytes of a fixed pseudo-random sequence (xorshift64*), written to `path`.
pub fn write_data(path: &Path, len: usize) {
    let mut data = Vec::with_capacity(len + 8);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ len as u64;
    while data.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        data.extend_from_slice(&x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    data.truncate(len);
    std::fs::write(path, data).unwrap();
}

pub fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    assert!(out.status.success(), "sha256sum: {}", text(&out.stderr));
    text(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// A helper process, killed if still running when dropped (a failed test leaves none).
pub struct Helper(Option<Child>);

impl Drop for Helper {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            if child.try_wait().ok().flatten().is_none() {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
    }
}

/// Runs this test binary as a TCP end inside `ns` (see `traffic_helper_in_vm_namespace`).
pub fn spawn_helper(ns: &str, job: &str) -> Helper {
    let exe = std::env::current_exe().expect("the test binary");
    Command::new("ip")
        .args(["netns", "exec", ns])
        .arg(exe)
        .args([
            "--exact",
            "traffic_helper_in_vm_namespace",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(HELPER_ENV, job)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map(|c| Helper(Some(c)))
        .expect("starting the traffic helper")
}

/// Waits for `helper` (killing it at `deadline`); returns its `traffic: ` line.
pub fn helper_output(mut helper: Helper, deadline: Instant, what: &str) -> String {
    let mut child = helper.0.take().expect("a running helper");
    let mut stdout = child.stdout.take().expect("helper stdout");
    let mut stderr = child.stderr.take().expect("helper stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let status = wait_until(&mut child, deadline, what);
    let out = out.join().unwrap_or_default();
    let err = err.join().unwrap_or_default();
    assert!(status.success(), "{what} failed ({status}):\n{out}{err}");
    // The test harness prints `test NAME ... ` on the same line before the result.
    out.lines()
        .find_map(|l| l.find("traffic: ").map(|at| l[at..].to_string()))
        .unwrap_or_else(|| panic!("{what} printed no result:\n{out}{err}"))
}

/// Sends `bytes` bytes over TCP from `from` to `to` (listening on `to_ip`:5001) and
/// checks that the receiver got exactly the content sent; returns the seconds it took.
pub fn tcp_transfer(run: &Run, from: &str, to: &str, to_ip: &str, bytes: usize) -> f64 {
    let sent_file = run.work.join(format!("{from}-to-{to}.sent"));
    let received_file = run.work.join(format!("{from}-to-{to}.received"));
    write_data(&sent_file, bytes);
    let deadline = Instant::now() + Duration::from_secs(60);
    let receiver = spawn_helper(
        &run.fabric.ns(to),
        &format!("recv 5001 {}", received_file.display()),
    );
    let started = Instant::now();
    let sender = spawn_helper(
        &run.fabric.ns(from),
        &format!("send {to_ip}:5001 {}", sent_file.display()),
    );
    let s = helper_output(sender, deadline, &format!("TCP sender in {from}"));
    let secs = started.elapsed().as_secs_f64();
    let r = helper_output(receiver, deadline, &format!("TCP receiver in {to}"));
    assert_eq!(s, format!("traffic: sent {bytes}"), "sender");
    assert_eq!(r, format!("traffic: received {bytes}"), "receiver");
    let (a, b) = (sha256(&sent_file), sha256(&received_file));
    assert_eq!(a.len(), 64, "sha256 of {}", sent_file.display());
    assert_eq!(a, b, "content sent and received differ");
    #[allow(clippy::cast_precision_loss)]
    let mbit = bytes as f64 * 8.0 / secs / 1e6;
    println!("TCP {from} -> {to} ({to_ip}): {bytes} bytes in {secs:.2} s ({mbit:.0} Mbit/s), sha256 {a} on both ends");
    let _ = std::fs::remove_file(&sent_file);
    let _ = std::fs::remove_file(&received_file);
    secs
}

/// The TCP ends of `tcp_transfer`, run inside a VM namespace by `spawn_helper`:
/// `recv PORT FILE` accepts one connection and writes what it receives to FILE;
/// `send ADDR FILE` connects (retrying while nothing listens yet), sends FILE, closes its
/// side and waits for the receiver to close. Each prints one `traffic: ...` line. Does
/// nothing when run as an ordinary test.
pub fn traffic_helper() {
    let Ok(job) = std::env::var(HELPER_ENV) else {
        return;
    };
    let words: Vec<&str> = job.split_whitespace().collect();
    let deadline = Instant::now() + Duration::from_secs(50);
    let io_timeout = Some(Duration::from_secs(20));
    match words.as_slice() {
        ["recv", port, file] => {
            let listener = TcpListener::bind(("0.0.0.0", port.parse::<u16>().unwrap())).unwrap();
            listener.set_nonblocking(true).unwrap();
            let mut conn = loop {
                match listener.accept() {
                    Ok((conn, _)) => break conn,
                    Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(e) => panic!("accept: {e}"),
                }
            };
            conn.set_nonblocking(false).unwrap();
            conn.set_read_timeout(io_timeout).unwrap();
            let mut out = BufWriter::new(File::create(file).unwrap());
            let n = std::io::copy(&mut conn, &mut out).expect("receiving");
            out.flush().unwrap();
            drop(conn);
            println!("traffic: received {n}");
        }
        ["send", addr, file] => {
            let addr: SocketAddr = addr.parse().unwrap();
            let mut conn = loop {
                match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
                    Ok(conn) => break conn,
                    Err(e) if Instant::now() < deadline => {
                        if e.kind() != ErrorKind::ConnectionRefused {
                            eprintln!("connect {addr}: {e}; retrying");
                        }
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    Err(e) => panic!("connect {addr}: {e}"),
                }
            };
            conn.set_write_timeout(io_timeout).unwrap();
            conn.set_read_timeout(io_timeout).unwrap();
            let mut data = File::open(file).unwrap();
            let n = std::io::copy(&mut data, &mut conn).expect("sending");
            conn.shutdown(Shutdown::Write).unwrap();
            let mut rest = Vec::new();
            conn.read_to_end(&mut rest)
                .expect("waiting for the receiver to close");
            assert!(rest.is_empty(), "the receiver sent data back");
            println!("traffic: sent {n}");
        }
        _ => panic!("{HELPER_ENV}: unknown job {job:?}"),
    }
}

// ---- The counters hnv prints at shutdown ----------------------------------------------------

/// The section of `report` `scripts/netns down` printed for `host`.
pub fn section<'a>(report: &'a str, host: &str) -> &'a str {
    let start = report
        .find(&format!("== {host}:"))
        .unwrap_or_else(|| panic!("no report for {host}:\n{report}"));
    let rest = &report[start + 3..];
    let end = rest.find("\n== ").map_or(rest.len(), |e| e + 1);
    &rest[..end]
}

/// The number after `key ` in `line` (`key` followed by a space and digits).
pub fn number_after(line: &str, key: &str) -> Option<u64> {
    let at = line.find(&format!("{key} "))? + key.len() + 1;
    let digits: String = line[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// One device line of the report.
#[derive(Debug)]
pub struct DeviceCounters {
    pub name: String,
    pub rx: u64,
    pub tx: u64,
}

/// What one host printed at shutdown, parsed.
#[derive(Debug)]
pub struct HostReport {
    pub text: String,
    pub devices: Vec<DeviceCounters>,
    /// Switch port name → (from vm, to vm).
    pub ports: Vec<(String, u64, u64)>,
    pub wire_rx: u64,
    pub wire_tx: u64,
    pub replies: u64,
    pub floods: u64,
    pub consumed: u64,
    pub drops: u64,
    pub frames: u64,
    pub forwarded: u64,
    pub no_device: u64,
    pub misses: u64,
    /// From the `switch caches:` line: flow-cache hits, routed-flow-cache hits, and every
    /// frame either cache counted (hits, misses, set aside).
    pub flow_hits: u64,
    pub routed_hits: u64,
    pub cached: u64,
}

impl HostReport {
    pub fn parse(s: &str) -> Self {
        let need = |line: &str, key: &str| {
            number_after(line, key).unwrap_or_else(|| panic!("no {key:?} in {line:?}:\n{s}"))
        };
        let mut devices = Vec::new();
        let mut ports = Vec::new();
        let (mut switch, mut worker) = (None, None);
        for line in s.lines() {
            if line.starts_with("uplink ") || line.starts_with("port ") {
                if line.ends_with("no device") {
                    continue;
                }
                devices.push(DeviceCounters {
                    name: line.split(" (").next().unwrap_or(line).to_string(),
                    rx: need(line, ": rx"),
                    tx: need(line, ", tx"),
                });
            } else if let Some(rest) = line.strip_prefix("switch port ") {
                let name = rest.split(':').next().unwrap_or_default().to_string();
                ports.push((name, need(line, "from vm"), need(line, "to vm")));
            } else if line.starts_with("switch: ") {
                switch = Some(line);
            } else if line.starts_with("worker: ") {
                worker = Some(line);
            }
        }
        let events = s
            .lines()
            .find(|l| l.starts_with("events: "))
            .unwrap_or_else(|| panic!("no events line:\n{s}"));
        let caches = s
            .lines()
            .find(|l| l.starts_with("switch caches: "))
            .unwrap_or_else(|| panic!("no switch caches line:\n{s}"));
        let switch = switch.unwrap_or_else(|| panic!("no switch line:\n{s}"));
        let worker = worker.unwrap_or_else(|| panic!("no worker line:\n{s}"));
        Self {
            text: s.to_string(),
            devices,
            ports,
            wire_rx: need(switch, "wire rx"),
            wire_tx: need(switch, "wire tx"),
            replies: need(switch, "replies"),
            floods: need(switch, "floods"),
            consumed: need(switch, "consumed"),
            drops: need(switch, "drops"),
            frames: need(worker, "frames"),
            forwarded: need(worker, "forwarded"),
            no_device: need(worker, "no device"),
            misses: need(events, "misses"),
            flow_hits: need(caches, "flow hits"),
            routed_hits: need(caches, "routed hits"),
            cached: [
                "flow hits",
                "flow misses",
                "flow set aside",
                "routed hits",
                "routed misses",
                "routed set aside",
            ]
            .iter()
            .map(|k| need(caches, k))
            .sum(),
        }
    }

    pub fn port(&self, name: &str) -> (u64, u64) {
        self.ports.iter().find(|p| p.0 == name).map_or_else(
            || panic!("no switch port {name}:\n{}", self.text),
            |p| (p.1, p.2),
        )
    }

    pub fn drop_count(&self, reason: &str) -> u64 {
        self.text
            .lines()
            .find_map(|l| l.strip_prefix(&format!("drop {reason}: ")))
            .map_or(0, |n| n.trim().parse().unwrap_or(0))
    }

    /// Frame accounting of one host: UMEM frames all accounted for; every frame a device
    /// received went to the switch; every frame the switch got from a port or the wire
    /// got exactly one verdict (flood copies get verdicts of their own); every frame the
    /// worker forwarded was queued by a device.
    pub fn check_accounting(&self) {
        let s = &self.text;
        assert!(s.contains("hnv exit status 0"), "{s}");
        assert!(s.contains("frame accounting: ok"), "{s}");
        assert!(!s.contains("LEAK"), "{s}");
        assert!(self.devices.len() >= 2, "device lines:\n{s}");
        let rx: u64 = self.devices.iter().map(|d| d.rx).sum();
        let tx: u64 = self.devices.iter().map(|d| d.tx).sum();
        assert_eq!(rx, self.frames, "device rx vs frames to the switch:\n{s}");
        assert_eq!(tx, self.forwarded, "device tx vs frames forwarded:\n{s}");
        let from_vms: u64 = self.ports.iter().map(|p| p.1).sum();
        let to_vms: u64 = self.ports.iter().map(|p| p.2).sum();
        assert_eq!(
            from_vms + self.wire_rx,
            self.frames,
            "switch input vs worker frames:\n{s}"
        );
        assert!(
            self.cached <= from_vms,
            "the flow caches counted more frames than came from the VMs:\n{s}"
        );
        let verdicts =
            to_vms + self.wire_tx + self.replies + self.floods + self.consumed + self.drops;
        if self.floods == 0 {
            assert_eq!(verdicts, self.frames, "one verdict per frame:\n{s}");
        } else {
            assert!(verdicts >= self.frames, "one verdict per frame:\n{s}");
        }
        assert_eq!(
            self.no_device, 0,
            "verdicts for ports without a device:\n{s}"
        );
        for d in &self.devices {
            assert!(
                !d.name.is_empty(),
                "device line without a name:\n{s}\n{d:?}"
            );
        }
    }
}

pub struct Reports {
    pub a: HostReport,
    pub b: HostReport,
    pub text: String,
}

// ---- The provider network, decoded by tshark --------------------------------------------------

/// What the capture of the provider network held, once every frame passed its check.
#[derive(Debug, Default)]
pub struct Wire {
    pub frames: usize,
    pub nvgre: usize,
    pub nat: usize,
    pub provider_arp: usize,
    /// VSIDs seen in NVGRE keys.
    pub vsids: BTreeSet<u32>,
    /// Inner (customer) IPv4 source → destination of NVGRE frames, with the VSID.
    pub inner: BTreeSet<(String, String, u32)>,
    /// Outer IPv4 source → destination of the IP-rewrite frames.
    pub nat_pairs: BTreeSet<(String, String)>,
    /// Frames whose TCP checksum tshark verified good.
    pub tcp_good: usize,
    /// Frames carrying TCP.
    pub tcp: usize,
    /// Largest frame (without FCS).
    pub max_len: usize,
    /// Checksums sent as 0xffff where 0x0000 was computed (equivalent; see
    /// `Wire::checksums`).
    pub negative_zero: usize,
}

impl Wire {
    /// The checksum statuses of one protocol in a frame (one per occurrence: 1 good,
    /// 0 bad, 2 not verified), where a checksum field of 0xffff whose computed value is
    /// 0x0000 counts as good: the two are the same one's-complement number (−0 and +0,
    /// RFC 1624 §3) and receivers accept both; tshark flags it (`tcp.checksum.ffff`),
    /// Linux's TCP sends it now and then. `field` and `calculated` list the checksum and
    /// tshark's computed value of every verified occurrence, in order.
    pub fn checksums<'a>(
        &mut self,
        status: &[&'a str],
        field: &[&str],
        calculated: &[&str],
        line: &str,
    ) -> Vec<&'a str> {
        let mut verified = 0;
        status
            .iter()
            .map(|&st| {
                if st == "2" {
                    return st;
                }
                let (f, c) = (field.get(verified), calculated.get(verified));
                verified += 1;
                match (st, f, c) {
                    ("0", Some(&"0xffff"), Some(&"0x0000")) => {
                        self.negative_zero += 1;
                        "1"
                    }
                    ("0" | "1", Some(_), Some(_)) => st,
                    _ => panic!("checksum fields out of step: {line}"),
                }
            })
            .collect()
    }

    /// Checks one frame (a line of tshark's `FIELDS`) and counts it.
    pub fn check_frame(&mut self, line: &str, vsids: &[u32]) {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), FIELDS.len(), "tshark line {line:?}");
        let list = |i: usize| -> Vec<&str> {
            f[i].split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect()
        };
        let protocols = f[2];
        let len: usize = f[1].parse().unwrap_or(0);
        self.frames += 1;
        self.max_len = self.max_len.max(len);
        assert!(
            len <= UPLINK_MTU + 14,
            "frame longer than the uplink MTU: {line}"
        );
        let ip_status = self.checksums(&list(8), &list(13), &list(14), line);
        let tcp_status = self.checksums(&list(9), &list(15), &list(16), line);
        for status in ip_status.iter().chain(&tcp_status).chain(&list(10)) {
            assert_ne!(*status, "0", "bad checksum (tshark): {line}");
        }
        if !tcp_status.is_empty() {
            self.tcp += 1;
            if tcp_status.iter().all(|s| *s == "1") {
                self.tcp_good += 1;
            }
        }
        if protocols.contains(":gre") {
            self.nvgre += 1;
            assert_eq!(hex(f[3]), 0x2000, "GRE flags and version: {line}");
            assert_eq!(hex(f[4]), 0x6558, "GRE protocol: {line}");
            let vsid = hex(f[5]) >> 8;
            assert!(
                vsids.contains(&vsid),
                "VSID {vsid} not in {vsids:?}: {line}"
            );
            self.vsids.insert(vsid);
            assert!(
                !ip_status.is_empty() && ip_status.iter().all(|s| *s == "1"),
                "IPv4 header checksums (outer, inner) not all good: {line}"
            );
            assert!(
                !protocols.contains("arp"),
                "customer ARP inside NVGRE: {line}"
            );
            let (src, dst) = (list(6), list(7));
            if src.len() >= 2 && dst.len() >= 2 {
                self.inner
                    .insert((src[1].to_string(), dst[1].to_string(), vsid));
            }
        } else if protocols.starts_with("eth:ethertype:arp") {
            self.provider_arp += 1;
            for a in [f[11], f[12]] {
                assert!(
                    a.starts_with("192.168.4."),
                    "ARP that is not between provider addresses: {line}"
                );
            }
        } else if protocols.starts_with("eth:ethertype:ip") {
            self.nat += 1;
            let (src, dst) = (f[6], f[7]);
            assert!(
                NAT_PAS.contains(&src) && NAT_PAS.contains(&dst),
                "IPv4 outside NVGRE that is not IP rewrite between the Nat PAs: {line}"
            );
            assert_eq!(ip_status, ["1"], "IPv4 header checksum: {line}");
            self.nat_pairs.insert((src.to_string(), dst.to_string()));
        } else {
            panic!("unexpected frame on the provider network: {line}");
        }
    }
}

pub fn hex(s: &str) -> u32 {
    u32::from_str_radix(s.trim().trim_start_matches("0x"), 16)
        .unwrap_or_else(|_| panic!("not a hex number: {s:?}"))
}

pub const FIELDS: [&str; 17] = [
    "frame.number",
    "frame.len",
    "frame.protocols",
    "gre.flags_and_version",
    "gre.proto",
    "gre.key",
    "ip.src",
    "ip.dst",
    "ip.checksum.status",
    "tcp.checksum.status",
    "udp.checksum.status",
    "arp.src.proto_ipv4",
    "arp.dst.proto_ipv4",
    "ip.checksum",
    "ip.checksum_calculated",
    "tcp.checksum",
    "tcp.checksum_calculated",
];

/// Decodes `pcap` with tshark (checksums verified) and checks every frame: an NVGRE frame
/// has GRE flags 0x2000 (K only, version 0), protocol 0x6558, a VSID of `vsids`, good
/// IPv4 header checksums (outer and inner) and no ARP inside; an IPv4 frame outside GRE
/// is IP rewrite between the Nat PAs with good checksums; an ARP frame is between
/// provider addresses; nothing else, nothing longer than the uplink MTU, no checksum
/// tshark finds bad.
pub fn check_wire(pcap: &Path, vsids: &[u32]) -> Wire {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(pcap).args([
        "-o",
        "ip.check_checksum:TRUE",
        "-o",
        "tcp.check_checksum:TRUE",
        "-o",
        "udp.check_checksum:TRUE",
        "-T",
        "fields",
        "-E",
        "separator=\t",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
    ]);
    for f in FIELDS {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("running tshark");
    assert!(out.status.success(), "tshark failed: {}", text(&out.stderr));
    let mut wire = Wire::default();
    for line in text(&out.stdout).lines() {
        wire.check_frame(line, vsids);
    }
    println!(
        "wire: {} frames: {} NVGRE (VSIDs {:?}), {} IP rewrite, {} provider ARP; \
         TCP {} ({} with a verified good checksum); longest {} bytes; \
         {} checksums 0xffff for a computed 0x0000",
        wire.frames,
        wire.nvgre,
        wire.vsids,
        wire.nat,
        wire.provider_arp,
        wire.tcp,
        wire.tcp_good,
        wire.max_len,
        wire.negative_zero
    );
    wire
}
