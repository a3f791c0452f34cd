//! [`XdpPort`] against the kernel (root only), on a veth pair inside a fresh network
//! namespace (the test thread joins it): frames sent on one end arrive on the other; a
//! burst larger than the rings is a counted drop, not a hang; every UMEM frame is
//! accounted for after each step; closing and at once re-opening a socket on the same
//! queue succeeds (the busy queue is retried). Skipped, with a message, when not root.

mod common;

use std::fs::File;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use common::{is_root, sh, Netns};
use hnv_afxdp::{Frame, Port, XdpConfig, XdpMode, XdpPort};

/// Moves the calling thread into the network namespace `name`.
#[allow(unsafe_code)]
fn enter(name: &str) {
    let f = File::open(format!("/var/run/netns/{name}")).expect("namespace file");
    // SAFETY: setns(2) on a valid, open namespace descriptor; it changes only the calling
    // thread's network namespace and touches no memory of this process.
    let ret = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(ret, 0, "setns: {}", std::io::Error::last_os_error());
}

fn test_frame(seq: u16) -> Vec<u8> {
    let mut f = vec![0u8; 64];
    f[0..6].copy_from_slice(&[0x02, 0, 0, 0, 0x55, 0x02]);
    f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0x55, 0x01]);
    f[12..14].copy_from_slice(&[0x88, 0xb5]); // local experimental EtherType
    f[14..16].copy_from_slice(&seq.to_be_bytes());
    f
}

fn recv_all(port: &mut XdpPort, want: usize) -> Vec<u16> {
    let mut batch: Vec<Frame> = (0..16).map(|_| Frame::new()).collect();
    let mut got = Vec::new();
    let end = Instant::now() + Duration::from_secs(3);
    while got.len() < want && Instant::now() < end {
        let n = port.recv(&mut batch).expect("recv");
        for f in &batch[..n] {
            let b = f.bytes();
            if b.len() >= 16 && b[12..14] == [0x88, 0xb5] {
                got.push(u16::from_be_bytes([b[14], b[15]]));
            }
        }
        if n == 0 {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    got
}

fn veth_pair_in_namespace(mode: XdpMode) {
    let ns = Netns::add(format!("hnvxsk{}{}", std::process::id(), mode.name()));
    sh(&[
        "ip", "-n", &ns.0, "link", "add", "xa", "type", "veth", "peer", "name", "xb",
    ]);
    sh(&["ip", "-n", &ns.0, "link", "set", "xa", "up"]);
    sh(&["ip", "-n", &ns.0, "link", "set", "xb", "up"]);

    let name = ns.0.clone();
    std::thread::spawn(move || {
        enter(&name);
        let config = XdpConfig {
            mode,
            frames: 64,
            ring: 16,
            ..XdpConfig::default()
        };
        let mut a = XdpPort::open("xa", 0, config).expect("AF_XDP on xa");
        let mut b = XdpPort::open("xb", 0, config).expect("AF_XDP on xb");
        assert!(a.account().balanced(), "{}", a.account());
        assert_eq!(a.account().fill, 16);

        // A few frames: all arrive, in order.
        for seq in 0..8 {
            assert!(a.send(&test_frame(seq)));
        }
        a.flush().unwrap();
        assert_eq!(recv_all(&mut b, 8), (0..8).collect::<Vec<_>>());
        a.drain(Duration::from_secs(1));
        assert_eq!(a.account().tx, 0, "{}", a.account());
        assert!(a.account().balanced() && b.account().balanced());

        // A burst larger than the TX ring without a flush: the excess is counted, the
        // call never blocks.
        let started = Instant::now();
        let sent = (100..160).filter(|&seq| a.send(&test_frame(seq))).count();
        assert!(started.elapsed() < Duration::from_secs(1));
        assert!(sent <= 16 + 1, "sent {sent} into a 16-slot ring");
        let c = a.counters();
        assert_eq!(c.tx_ring_full + c.tx_no_frame, (60 - sent) as u64, "{c:?}");
        assert!(a.account().balanced(), "{}", a.account());
        a.flush().unwrap();
        let got = recv_all(&mut b, sent);
        assert_eq!(got.len(), sent, "received {got:?}");
        a.drain(Duration::from_secs(1));
        assert_eq!(a.account().tx, 0);
        assert!(a.account().balanced() && b.account().balanced());

        // Oversized frames are refused and counted.
        assert!(!a.send(&vec![0u8; 4000]));
        assert_eq!(a.counters().tx_oversized, 1);

        // Close and re-open at once: the busy queue is retried until it is free.
        drop(a);
        let a = XdpPort::open("xa", 0, config).expect("re-open right after close");
        assert!(a.account().balanced());
        drop(a);
        drop(b);
    })
    .join()
    .expect("AF_XDP thread");
}

#[test]
fn xdp_port_on_veth_generic() {
    if !is_root() {
        println!("skipped: AF_XDP and network namespaces need root (CI runs as root)");
        return;
    }
    veth_pair_in_namespace(XdpMode::Generic);
}

#[test]
fn xdp_port_on_veth_native() {
    if !is_root() {
        println!("skipped: AF_XDP and network namespaces need root (CI runs as root)");
        return;
    }
    veth_pair_in_namespace(XdpMode::Native);
}
