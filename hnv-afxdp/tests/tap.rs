//! [`TapPort`] against the kernel (root only): the TAP device is created here, moved into
//! a fresh network namespace that plays the VM, and that namespace's own stack sends and
//! answers. Checked: a UDP datagram sent with a partial checksum (checksum offload is
//! announced) arrives with the checksum completed; a ping from the VM is answered by a
//! frame written to the port; counters. Skipped, with a message, when not root.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{is_root, sh, Netns};
use hnv_afxdp::{Frame, Port, TapPort};
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
    let ns = Netns(format!("hnvtap{pid}"));
    sh(&["ip", "netns", "add", &ns.0]);
    let nsx = |cmd: &[&str]| {
        let mut v = vec!["ip", "netns", "exec", &ns.0];
        v.extend_from_slice(cmd);
        sh(&v);
    };
    nsx(&["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
    nsx(&["sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"]);

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
