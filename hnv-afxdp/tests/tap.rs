//! [`TapPort`] against the kernel (root only): the TAP device is created here, moved into
//! a fresh network namespace that plays the VM, and that namespace's own stack sends and
//! answers. Checked: a UDP datagram sent with a partial checksum (checksum offload is
//! announced) arrives with the checksum completed; a ping from the VM is answered by a
//! frame written to the port; counters. And TSO: two VMs on two TAP ports bridged by this
//! test, a TCP transfer each way; the sender's kernel hands its port super-frames, which
//! reach the other VM cut into segments (one way) or whole with a GSO header (the
//! other). Skipped, with a message, when not root.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{is_root, sh, Netns};
use hnv_afxdp::{Frame, Port, PortCounters, PortError, Segmenter, TapPort};
use hnv_core::wire::checksum;

/// Receives frames until `want` accepts one (or 5 s pass).
fn recv_until(port: &mut TapPort, want: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let mut batch: Vec<Frame> = (0..8).map(|_| Frame::new()).collect();
    let end = Instant::now() + Duration::from_secs(5);
    while Instant::now() < end {
        let n = port.recv(&mut batch).expect("recv");
        if let Some(f) = batch[..n].iter().find(|f| want(f.bytes())) {
            return f.bytes().to_vec();
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!(
        "no matching frame within 5 s; counters {:?}",
        port.counters()
    );
}

fn is_ipv4(f: &[u8], proto: u8) -> bool {
    f.len() >= 34 && f[12..14] == [0x08, 0x00] && f[23] == proto
}

#[test]
fn tap_port_completes_checksums_and_answers_ping() {
    if !is_root() {
        println!("skipped: TAP devices and network namespaces need root (CI runs as root)");
        return;
    }
    let pid = std::process::id();
    let name = format!("taphnv{:x}", pid & 0xf_ffff);
    let ns = Netns::add(format!("hnvtap{pid}"));
    let nsx = |cmd: &[&str]| ns.exec(cmd);

    let mut port = TapPort::open(&name).expect("open TAP");
    assert_eq!(port.kind(), "tap");
    sh(&["ip", "link", "set", &name, "netns", &ns.0]);
    nsx(&[
        "ip",
        "link",
        "set",
        &name,
        "address",
        "02:00:00:00:77:01",
        "up",
    ]);
    nsx(&["ip", "addr", "add", "10.77.0.1/24", "dev", &name]);
    nsx(&[
        "ip",
        "neigh",
        "add",
        "10.77.0.2",
        "lladdr",
        "02:00:00:00:77:02",
        "dev",
        &name,
    ]);

    // UDP from the VM: sent with checksum offload, so the header says NEEDS_CSUM.
    nsx(&["bash", "-c", "echo hello-tap > /dev/udp/10.77.0.2/9"]);
    let udp = recv_until(&mut port, |f| is_ipv4(f, 17));
    let ihl = usize::from(udp[14] & 0x0f) * 4;
    let l4 = &udp[14 + ihl..];
    let src: [u8; 4] = udp[26..30].try_into().unwrap();
    let dst: [u8; 4] = udp[30..34].try_into().unwrap();
    let sum = checksum::pseudo_v4(src.into(), dst.into(), 17, l4.len() as u16)
        .add_bytes(l4)
        .sum();
    assert_eq!(sum, 0xffff, "UDP checksum does not verify: {udp:02x?}");
    assert!(l4.ends_with(b"hello-tap\n"));
    assert!(
        port.counters().rx_csum_completed >= 1,
        "{:?}",
        port.counters()
    );

    // Ping from the VM, answered through the port.
    let mut ping = Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns.0,
            "ping",
            "-c",
            "1",
            "-W",
            "5",
            "10.77.0.2",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut echo = recv_until(&mut port, |f| is_ipv4(f, 1) && f.get(34) == Some(&8));
    let (dst_mac, src_mac) = (echo[0..6].to_vec(), echo[6..12].to_vec());
    echo[0..6].copy_from_slice(&src_mac);
    echo[6..12].copy_from_slice(&dst_mac);
    let (s, d) = (echo[26..30].to_vec(), echo[30..34].to_vec());
    echo[26..30].copy_from_slice(&d);
    echo[30..34].copy_from_slice(&s);
    echo[34] = 0;
    let check = u16::from_be_bytes([echo[36], echo[37]]);
    let check = checksum::update_u16(check, 0x0800, 0x0000);
    echo[36..38].copy_from_slice(&check.to_be_bytes());
    assert!(port.send(&echo));
    port.flush().unwrap();
    let status = ping.wait().unwrap();
    assert!(status.success(), "ping through the TAP port failed");

    let c = port.counters();
    assert!(c.rx_frames >= 2 && c.tx_frames == 1, "{c:?}");
    assert_eq!(c.tx_dropped(), 0, "{c:?}");
    assert_eq!(c.rx_gso_dropped, 0, "{c:?}");
    assert!(port.frames().is_none());
    drop(port);
}

// ---- TSO between two TAP VMs --------------------------------------------------------------

/// The environment variable that makes `tcp_end_in_namespace` a TCP end.
const TCP_END: &str = "HNV_TAP_TCP";

/// FNV-1a over `data`, continuing from `h`.
fn fnv(mut h: u64, data: &[u8]) -> u64 {
    for b in data {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// `len` bytes of a fixed pseudo-random sequence.
fn data(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A TCP end run by `tcp_transfer` inside a VM namespace: `recv PORT` prints the bytes
/// and hash it received, `send ADDR LEN` sends [`data`] and prints what it sent.
#[test]
#[ignore = "a TCP end run by the TSO test inside a namespace"]
fn tcp_end_in_namespace() {
    let Ok(job) = std::env::var(TCP_END) else {
        return;
    };
    let words: Vec<&str> = job.split_whitespace().collect();
    let timeout = Some(Duration::from_secs(20));
    match words.as_slice() {
        ["recv", port] => {
            let listener = TcpListener::bind(("0.0.0.0", port.parse::<u16>().unwrap())).unwrap();
            let (mut conn, _) = listener.accept().unwrap();
            conn.set_read_timeout(timeout).unwrap();
            let (mut n, mut h) = (0usize, 0xcbf2_9ce4_8422_2325);
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let got = conn.read(&mut buf).expect("receiving");
                if got == 0 {
                    break;
                }
                h = fnv(h, &buf[..got]);
                n += got;
            }
            println!("tcp: {n} bytes {h:016x}");
        }
        ["send", addr, len] => {
            let bytes = data(len.parse().unwrap());
            let end = Instant::now() + Duration::from_secs(10);
            let mut conn = loop {
                match TcpStream::connect(addr) {
                    Ok(c) => break c,
                    Err(e) if Instant::now() < end => {
                        let _ = e;
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    Err(e) => panic!("connect {addr}: {e}"),
                }
            };
            conn.set_write_timeout(timeout).unwrap();
            conn.write_all(&bytes).expect("sending");
            conn.shutdown(Shutdown::Write).unwrap();
            let mut rest = Vec::new();
            conn.set_read_timeout(timeout).unwrap();
            let _ = conn.read_to_end(&mut rest);
            println!(
                "tcp: {} bytes {:016x}",
                bytes.len(),
                fnv(0xcbf2_9ce4_8422_2325, &bytes)
            );
        }
        _ => panic!("{TCP_END}: unknown job {job:?}"),
    }
}

/// Runs `tcp_end_in_namespace` in `ns` with `job`.
fn tcp_end(ns: &str, job: &str) -> std::process::Child {
    Command::new("ip")
        .args(["netns", "exec", ns])
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "tcp_end_in_namespace",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(TCP_END, job)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The `tcp: ...` line of a finished TCP end.
fn tcp_result(child: std::process::Child, what: &str) -> String {
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{what} failed:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .find_map(|l| l.find("tcp: ").map(|at| l[at..].to_string()))
        .unwrap_or_else(|| panic!("{what} printed no result:\n{stdout}"))
}

/// A TAP port that does not take super-frames whole, so the segmenter cuts them.
struct Cut<'a>(&'a mut TapPort);

impl Port for Cut<'_> {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn kind(&self) -> &'static str {
        "cut"
    }
    fn recv(&mut self, frames: &mut [Frame]) -> Result<usize, PortError> {
        self.0.recv(frames)
    }
    fn send(&mut self, frame: &[u8]) -> bool {
        self.0.send(frame)
    }
    fn flush(&mut self) -> Result<(), PortError> {
        self.0.flush()
    }
    fn counters(&self) -> PortCounters {
        self.0.counters()
    }
    fn poll_fd(&self) -> std::os::fd::RawFd {
        self.0.poll_fd()
    }
}

/// Forwards between `a` and `b` until `stop`: from `a` super-frames are cut into
/// segments, from `b` they pass whole. Returns the ports and the two segmenters.
fn bridge(
    mut a: TapPort,
    mut b: TapPort,
    stop: &AtomicBool,
) -> (TapPort, TapPort, Segmenter, Segmenter) {
    let mut batch: Vec<Frame> = (0..8).map(|_| Frame::new()).collect();
    let (mut cut, mut whole) = (Segmenter::new(), Segmenter::new());
    while !stop.load(Ordering::Relaxed) {
        let mut moved = 0;
        let n = a.recv(&mut batch).unwrap();
        for f in &batch[..n] {
            match f.gso() {
                Some(gso) => {
                    cut.send(&mut Cut(&mut b), f.bytes(), gso);
                }
                None => {
                    b.send(f.bytes());
                }
            }
        }
        moved += n;
        let n = b.recv(&mut batch).unwrap();
        for f in &batch[..n] {
            match f.gso() {
                Some(gso) => {
                    whole.send(&mut a, f.bytes(), gso);
                }
                None => {
                    a.send(f.bytes());
                }
            }
        }
        moved += n;
        if moved == 0 {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    (a, b, cut, whole)
}

fn vm(ns: &Netns, tap: &str, mac: &str, addr: &str) {
    let nsx = |cmd: &[&str]| ns.exec(cmd);
    sh(&["ip", "link", "set", tap, "netns", &ns.0]);
    nsx(&["ip", "link", "set", tap, "address", mac, "up"]);
    nsx(&["ip", "addr", "add", addr, "dev", tap]);
    let k = Command::new("ip")
        .args(["netns", "exec", &ns.0, "ethtool", "-k", tap])
        .output()
        .unwrap();
    let k = String::from_utf8_lossy(&k.stdout);
    assert!(
        k.contains("tcp-segmentation-offload: on"),
        "TSO is not on for {tap}:\n{k}"
    );
}

/// Sends `len` bytes over TCP from `from` to `to_addr` (listening in `to`).
fn tcp_transfer(from: &Netns, to: &Netns, to_addr: &str, len: usize) {
    let receiver = tcp_end(&to.0, "recv 5001");
    let sender = tcp_end(&from.0, &format!("send {to_addr}:5001 {len}"));
    let sent = tcp_result(sender, "TCP sender");
    let got = tcp_result(receiver, "TCP receiver");
    assert!(sent.starts_with(&format!("tcp: {len} bytes ")), "{sent}");
    assert_eq!(sent, got, "content sent and received differ");
}

#[test]
fn tap_ports_carry_tso_super_frames_between_two_vms() {
    if !is_root() {
        println!("skipped: TAP devices and network namespaces need root (CI runs as root)");
        return;
    }
    let pid = std::process::id();
    let (name_a, name_b) = (
        format!("tapgsa{:x}", pid & 0xf_ffff),
        format!("tapgsb{:x}", pid & 0xf_ffff),
    );
    let (ns_a, ns_b) = (
        Netns::add(format!("hnvgsa{pid}")),
        Netns::add(format!("hnvgsb{pid}")),
    );
    let a = TapPort::open(&name_a).expect("open TAP a");
    let b = TapPort::open(&name_b).expect("open TAP b");
    vm(&ns_a, &name_a, "02:00:00:00:78:01", "10.78.0.1/24");
    vm(&ns_b, &name_b, "02:00:00:00:78:02", "10.78.0.2/24");

    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let forwarder = std::thread::spawn(move || bridge(a, b, &flag));
    let len = 8 << 20;
    let there = std::panic::catch_unwind(|| tcp_transfer(&ns_a, &ns_b, "10.78.0.2", len));
    let back = std::panic::catch_unwind(|| tcp_transfer(&ns_b, &ns_a, "10.78.0.1", len));
    stop.store(true, Ordering::Relaxed);
    let (a, b, cut, whole) = forwarder.join().unwrap();
    let (ca, cb) = (a.counters(), b.counters());
    let (cut, whole) = (cut.counters(), whole.counters());
    println!("a {ca:?}\nb {cb:?}\ncut {cut}\nwhole {whole}");
    if let Err(e) = there.and(back) {
        std::panic::resume_unwind(e);
    }
    // From a: super-frames received, cut into segments written to b as plain frames.
    assert!(ca.rx_gso_frames > 0, "{ca:?}");
    assert_eq!(
        (ca.rx_gso_dropped, ca.rx_oversized, ca.rx_malformed),
        (0, 0, 0)
    );
    assert_eq!(cut.failures(), 0, "{cut}");
    assert!(
        cut.segmented == ca.rx_gso_frames && cut.segments > cut.segmented,
        "{cut}"
    );
    assert_eq!(cb.tx_gso_frames, 0, "{cb:?}");
    assert_eq!(cb.tx_dropped(), 0, "{cb:?}");
    // From b: super-frames passed whole to a with a GSO header, accepted by a's kernel.
    assert!(cb.rx_gso_frames > 0, "{cb:?}");
    assert_eq!(whole.whole, cb.rx_gso_frames, "{whole}");
    assert_eq!(ca.tx_gso_frames, cb.rx_gso_frames, "{ca:?}");
    assert_eq!(ca.tx_dropped(), 0, "{ca:?}");
    let a_rx = Command::new("ip")
        .args(["netns", "exec", &ns_a.0, "cat"])
        .arg(format!("/sys/class/net/{name_a}/statistics/rx_bytes"))
        .output()
        .unwrap();
    let a_rx: u64 = String::from_utf8_lossy(&a_rx.stdout)
        .trim()
        .parse()
        .unwrap();
    assert!(a_rx >= len as u64, "a's kernel received {a_rx} bytes");
}
