//! `hnv offload lso|csum|rss` on small captures; tshark checks the segments' checksums.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hnv_core::buf::{FrameBuf, PacketBuf};
use hnv_core::ids::{MacAddr, Vsid};
use hnv_core::nvgre::{self, EncapParams, Underlay};
use hnv_core::wire::checksum;
use hnv_core::wire::ethernet::{EtherType, EthernetHeader};
use hnv_core::wire::ip_proto;
use hnv_core::wire::ipv4::Ipv4Header;
use hnv_core::wire::tcp::{TcpFlags, TcpHeader};
use hnv_offload::soft::rss::{toeplitz_reference, MS_VERIFICATION_KEY};
use hnv_sim::pcap::{PcapReader, PcapWriter};
use zerocopy::IntoBytes;

/// An NVGRE frame (outer and inner IPv4) with an inner TCP segment of `payload` bytes,
/// every checksum valid.
fn nvgre_tcp(payload: usize) -> Vec<u8> {
    let data: Vec<u8> = (0..payload).map(|i| (i * 13 + 1) as u8).collect();
    let mut tcp = TcpHeader::new(49152, 80, 5000, 1, TcpFlags::ACK | TcpFlags::PSH, 8192);
    let (src, dst) = (Ipv4Addr::new(10, 0, 0, 5), Ipv4Addr::new(10, 0, 0, 7));
    let seg_len = 20 + payload;
    let mut seg = tcp.as_bytes().to_vec();
    seg.extend_from_slice(&data);
    let c = checksum::pseudo_v4(src, dst, ip_proto::TCP, seg_len as u16)
        .add_bytes(&seg)
        .finish();
    tcp.checksum.set(c);
    let mut ip = Ipv4Header::new(src, dst, ip_proto::TCP, seg_len as u16);
    ip.ident.set(0x4000);
    ip.fill_checksum();
    let mut inner = EthernetHeader::new(
        MacAddr([0, 0x15, 0x5d, 0, 0, 2]),
        MacAddr([0, 0x15, 0x5d, 0, 0, 1]),
        EtherType::IPV4,
    )
    .as_bytes()
    .to_vec();
    inner.extend_from_slice(ip.as_bytes());
    inner.extend_from_slice(tcp.as_bytes());
    inner.extend_from_slice(&data);
    let mut mem = vec![0u8; nvgre::MAX_OVERHEAD + inner.len()];
    mem[nvgre::MAX_OVERHEAD..].copy_from_slice(&inner);
    let mut f = FrameBuf::new(&mut mem, nvgre::MAX_OVERHEAD, inner.len()).unwrap();
    let p = EncapParams::new(
        Vsid::new(5001).unwrap(),
        MacAddr([2, 0, 0, 0, 0x0a, 1]),
        MacAddr([2, 0, 0, 0, 0x0b, 1]),
        Underlay::V4 {
            src: Ipv4Addr::new(192, 168, 4, 11),
            dst: Ipv4Addr::new(192, 168, 4, 22),
        },
    );
    nvgre::encap(&mut f, &p).unwrap();
    f.data().to_vec()
}

/// A plain ARP frame: not NVGRE, passes through every command.
fn arp() -> Vec<u8> {
    let mut f = vec![0xff; 6];
    f.extend_from_slice(&[0, 0x15, 0x5d, 0, 0, 1, 0x08, 0x06]);
    f.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    f.extend_from_slice(&[
        0, 0x15, 0x5d, 0, 0, 1, 10, 0, 0, 5, 0, 0, 0, 0, 0, 0, 10, 0, 0, 7,
    ]);
    f
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hnv-offload-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write_pcap(path: &Path, frames: &[Vec<u8>]) {
    let mut w = PcapWriter::new(std::fs::File::create(path).unwrap()).unwrap();
    for (i, f) in frames.iter().enumerate() {
        w.write_frame(1_700_000_000, i as u32, f).unwrap();
    }
    w.into_inner().unwrap();
}

fn read_pcap(path: &Path) -> Vec<Vec<u8>> {
    PcapReader::new(std::fs::File::open(path).unwrap())
        .unwrap()
        .map(|f| f.unwrap().data)
        .collect()
}

fn hnv(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hnv"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    let s = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{s}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    s
}

#[test]
fn lso_segments_nvgre_tcp_and_passes_the_rest() {
    let d = dir("lso");
    let (input, output) = (d.join("in.pcap"), d.join("out.pcap"));
    write_pcap(&input, &[nvgre_tcp(3000), arp()]);
    let out = hnv(&[
        "offload",
        "lso",
        "--mss",
        "1000",
        "--in",
        input.to_str().unwrap(),
        "--out",
        output.to_str().unwrap(),
    ]);
    let s = ok(&out);
    assert!(
        s.contains("1 NVGRE TCP frames segmented into 3 segments"),
        "{s}"
    );
    let frames = read_pcap(&output);
    assert_eq!(frames.len(), 4);
    assert_eq!(frames[3], arp());
    // Independent decoder: tshark reads the inner TCP of each segment.
    let mut cmd = Command::new("tshark");
    cmd.args(["-n", "-r"]).arg(&output).args([
        "-o",
        "ip.check_checksum:TRUE",
        "-o",
        "tcp.check_checksum:TRUE",
        "-o",
        "tcp.relative_sequence_numbers:FALSE",
        "-Y",
        "tcp",
        "-T",
        "fields",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
        "-e",
        "ip.checksum.status",
        "-e",
        "tcp.checksum.status",
        "-e",
        "tcp.seq",
        "-e",
        "tcp.len",
        "-e",
        "ip.id",
        "-e",
        "tcp.flags.push",
    ]);
    let t = cmd.output().expect("tshark (scripts/test installs it)");
    assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stderr));
    let rows: Vec<Vec<String>> = String::from_utf8(t.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect();
    assert_eq!(rows.len(), 3, "{rows:?}");
    for (k, r) in rows.iter().enumerate() {
        assert_eq!(r[0], "1,1", "outer and inner IPv4 checksums good: {r:?}");
        assert_eq!(r[1], "1", "TCP checksum good: {r:?}");
        assert_eq!(r[2], (5000 + 1000 * k).to_string());
        assert_eq!(r[3], "1000");
        // Outer ID 0 + k, inner ID 0x4000 + k.
        assert_eq!(r[4], format!("{:#06x},{:#06x}", k, 0x4000 + k));
        let push_want = if k == 2 {
            ["1", "True"]
        } else {
            ["0", "False"]
        };
        assert!(
            push_want.contains(&r[5].as_str()),
            "PSH on segment {k}: {r:?}"
        );
    }
    // --ipid fixed keeps the IDs.
    let out = hnv(&[
        "offload",
        "lso",
        "--mss",
        "1000",
        "--ipid",
        "fixed",
        "--in",
        input.to_str().unwrap(),
        "--out",
        output.to_str().unwrap(),
    ]);
    ok(&out);
    let frames = read_pcap(&output);
    for f in &frames[..3] {
        assert_eq!(&f[56 + 4..56 + 6], &[0x40, 0x00]);
    }
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn csum_fills_zeroed_checksums() {
    let d = dir("csum");
    let (input, output) = (d.join("in.pcap"), d.join("out.pcap"));
    let good = nvgre_tcp(200);
    let mut zeroed = good.clone();
    zeroed[24..26].fill(0); // outer IPv4
    zeroed[56 + 10..56 + 12].fill(0); // inner IPv4
    zeroed[76 + 16..76 + 18].fill(0); // inner TCP
    assert_ne!(zeroed, good);
    write_pcap(&input, &[zeroed, arp()]);
    let s = ok(&hnv(&[
        "offload",
        "csum",
        "--in",
        input.to_str().unwrap(),
        "--out",
        output.to_str().unwrap(),
    ]));
    assert!(
        s.contains("checksums filled in 1 NVGRE frames, 1 passed"),
        "{s}"
    );
    let frames = read_pcap(&output);
    assert_eq!(frames, vec![good, arp()]);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn rss_prints_hash_and_queue() {
    let d = dir("rss");
    let input = d.join("in.pcap");
    write_pcap(&input, &[nvgre_tcp(10), arp()]);
    let s = ok(&hnv(&[
        "offload",
        "rss",
        "--in",
        input.to_str().unwrap(),
        "--queues",
        "4",
    ]));
    let lines: Vec<&str> = s.lines().collect();
    let want = toeplitz_reference(
        &MS_VERIFICATION_KEY,
        &[10, 0, 0, 5, 10, 0, 0, 7, 0xc0, 0x00, 0x00, 80],
    );
    assert_eq!(
        lines[0],
        format!("0 tcp_ipv4 inner 0x{want:08x} queue {}", want % 4)
    );
    assert_eq!(lines[1], "1 none outer 0x00000000 queue 0");
    let s = ok(&hnv(&[
        "offload",
        "rss",
        "--in",
        input.to_str().unwrap(),
        "--json",
        "--key",
        &"00".repeat(40),
    ]));
    assert_eq!(
        s.lines().next().unwrap(),
        "{\"index\":0,\"hash_type\":\"tcp_ipv4\",\"headers\":\"inner\",\"hash\":\"0x00000000\",\"queue\":0}"
    );
    let bad = hnv(&[
        "offload",
        "rss",
        "--in",
        input.to_str().unwrap(),
        "--key",
        "abcd",
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("40 bytes"));
    std::fs::remove_dir_all(&d).unwrap();
}
