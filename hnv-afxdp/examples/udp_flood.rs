//! A UDP flood for end-to-end throughput runs (`scripts/bench-e2e`), one end per VM
//! namespace:
//!
//! ```text
//! udp_flood send DST_IP:PORT SECONDS [FRAME_BYTES]   as fast as the kernel takes them
//! udp_flood recv PORT SECONDS                         drains and counts what arrives
//! ```
//!
//! `FRAME_BYTES` (default 64) is the Ethernet frame size without FCS the datagrams make
//! on an untagged IPv4 link: the UDP payload is `FRAME_BYTES - 42` bytes (at least 18).
//! Each end prints one line: `sent N datagrams in S s: R pps` or `received N datagrams
//! (B bytes) in S s`.

use std::net::{SocketAddr, UdpSocket};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Ethernet 14 + IPv4 20 + UDP 8.
const HEADERS: usize = 42;

fn usage() -> ExitCode {
    eprintln!(
        "usage: udp_flood send DST_IP:PORT SECONDS [FRAME_BYTES]\n       \
         udp_flood recv PORT SECONDS"
    );
    ExitCode::from(2)
}

fn seconds(s: &str) -> Option<Duration> {
    s.parse::<f64>()
        .ok()
        .filter(|v| *v > 0.0)
        .and_then(|v| Duration::try_from_secs_f64(v).ok())
}

fn send(dst: SocketAddr, for_how_long: Duration, frame: usize) -> std::io::Result<()> {
    let socket = UdpSocket::bind("0.0.0.0:0")?;
    socket.connect(dst)?;
    let mut payload = vec![0u8; frame.saturating_sub(HEADERS).max(18)];
    let start = Instant::now();
    let mut sent: u64 = 0;
    let mut refused: u64 = 0;
    loop {
        // The payload carries a sequence number (little endian) for anyone looking.
        payload[..8].copy_from_slice(&sent.to_le_bytes());
        match socket.send(&payload) {
            Ok(_) => sent += 1,
            // A full queue or an ICMP error reported back: keep going, counted.
            Err(_) => refused += 1,
        }
        if (sent + refused) % 1024 == 0 && start.elapsed() >= for_how_long {
            break;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    #[allow(clippy::cast_precision_loss)]
    let pps = sent as f64 / secs;
    println!(
        "sent {sent} datagrams in {secs:.3} s: {pps:.0} pps ({} payload bytes, {refused} refused)",
        payload.len()
    );
    Ok(())
}

fn recv(port: u16, for_how_long: Duration) -> std::io::Result<()> {
    let socket = UdpSocket::bind(("0.0.0.0", port))?;
    socket.set_read_timeout(Some(Duration::from_millis(100)))?;
    let mut buf = [0u8; 2048];
    let start = Instant::now();
    let (mut n, mut bytes) = (0u64, 0u64);
    while start.elapsed() < for_how_long {
        if let Ok(len) = socket.recv(&mut buf) {
            n += 1;
            bytes += len as u64;
        }
    }
    println!(
        "received {n} datagrams ({bytes} bytes) in {:.3} s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["send", dst, secs, rest @ ..] if rest.len() <= 1 => {
            let (Ok(dst), Some(secs)) = (dst.parse(), seconds(secs)) else {
                return usage();
            };
            let frame = match rest.first().map(|f| f.parse::<usize>()) {
                None => 64,
                Some(Ok(f)) if (60..=1514).contains(&f) => f,
                Some(_) => return usage(),
            };
            send(dst, secs, frame)
        }
        ["recv", port, secs] => {
            let (Ok(port), Some(secs)) = (port.parse(), seconds(secs)) else {
                return usage();
            };
            recv(port, secs)
        }
        _ => return usage(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("udp_flood: {e}");
            ExitCode::FAILURE
        }
    }
}
