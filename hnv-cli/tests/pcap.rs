//! `hnv pcap` on crafted captures of HostA of the seed policy: every verdict of
//! verdicts.jsonl, the frames of every output file (NVGRE checked by decapsulating), the
//! same capture as pcapng (converted by Wireshark's editcap) giving identical outputs, the
//! seed fabric's own wire traffic replayed, and malformed captures from
//! tests/data/pcap (exit 1, the problem and the frame named, never a panic).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hnv_core::buf::{FrameBuf, PacketBuf};
use hnv_core::ids::{MacAddr, Vsid};
use hnv_core::nvgre::{self, EncapParams, Underlay};
use hnv_sim::fabric::{Direction, Link};
use hnv_sim::pcap::{PcapFrame, PcapReader, PcapWriter};
use hnv_sim::vm::{IfAddr, Vm};

const CONTOSO1: MacAddr = MacAddr([0, 0x15, 0x5d, 0, 0, 1]);
const CONTOSO2: MacAddr = MacAddr([0, 0x15, 0x5d, 0, 0, 2]);
const CONTOSO3: MacAddr = MacAddr([0, 0x15, 0x5d, 0, 0, 3]);
const CONTOSO4: MacAddr = MacAddr([0, 0x15, 0x5d, 0, 0, 4]);
const CONTOSO5: MacAddr = MacAddr([0, 0x15, 0x5d, 0, 0, 5]);
const FABRIKAM1: MacAddr = MacAddr([0, 0x15, 0x5d, 0, 1, 1]);
const GATEWAY: MacAddr = MacAddr([2, 0, 0x5e, 0, 1, 1]);
const HOST_A: MacAddr = MacAddr([2, 0, 0, 0, 0x0a, 1]);
const HOST_B: MacAddr = MacAddr([2, 0, 0, 0, 0x0b, 1]);
const ROUTER: MacAddr = MacAddr([2, 0, 0, 0, 0, 0xfe]);
const PA_A: Ipv4Addr = Ipv4Addr::new(192, 168, 4, 11);
const PA_B: Ipv4Addr = Ipv4Addr::new(192, 168, 4, 22);

fn policy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples/seed-policy.json")
}

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/pcap")
        .join(name)
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hnv-pcap-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn vm(name: &str, mac: MacAddr, addrs: &[&str], gateways: &[&str]) -> Vm {
    let addrs: Vec<IfAddr> = addrs.iter().map(|a| a.parse().unwrap()).collect();
    let gws: Vec<IpAddr> = gateways.iter().map(|g| g.parse().unwrap()).collect();
    Vm::new(name, mac, &addrs, &gws).unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The one frame a VM sends (its neighbour is known, so no resolution comes first).
fn one(frames: Vec<Vec<u8>>) -> Vec<u8> {
    assert_eq!(frames.len(), 1);
    frames.into_iter().next().unwrap()
}

/// `inner` in NVGRE from HostB's uplink to HostA's.
fn nvgre(inner: &[u8], vsid: u32, underlay: Underlay) -> Vec<u8> {
    let mut mem = vec![0u8; nvgre::MAX_OVERHEAD + inner.len()];
    mem[nvgre::MAX_OVERHEAD..].copy_from_slice(inner);
    let mut f = FrameBuf::new(&mut mem, nvgre::MAX_OVERHEAD, inner.len()).unwrap();
    let p = EncapParams::new(Vsid::new(vsid).unwrap(), HOST_B, HOST_A, underlay);
    nvgre::encap(&mut f, &p).unwrap();
    f.data().to_vec()
}

fn v4(src: Ipv4Addr, dst: Ipv4Addr) -> Underlay {
    Underlay::V4 { src, dst }
}

/// Writes `frames` with timestamps 1000+i s, i ms.
fn write_capture(path: &Path, frames: &[Vec<u8>]) {
    let mut w = PcapWriter::new(std::fs::File::create(path).unwrap()).unwrap();
    for (i, f) in frames.iter().enumerate() {
        w.write_frame(1000 + i as u32, i as u32 * 1000, f).unwrap();
    }
    w.into_inner().unwrap();
}

fn read(path: &Path) -> Vec<PcapFrame> {
    PcapReader::new(std::fs::File::open(path).unwrap())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn hnv_pcap(host: &str, from: &str, input: &Path, out: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hnv"))
        .arg("pcap")
        .arg("--policy")
        .arg(policy())
        .args(["--host", host, "--from", from, "--in"])
        .arg(input)
        .arg("--out-dir")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

fn success(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // No progress bar (stderr is not a terminal), no warnings.
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    stdout
}

fn verdicts(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("verdicts.jsonl"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The frame with its Ethernet addresses replaced.
fn with_macs(frame: &[u8], dst: MacAddr, src: MacAddr) -> Vec<u8> {
    let mut f = frame.to_vec();
    f[0..6].copy_from_slice(&dst.0);
    f[6..12].copy_from_slice(&src.0);
    f
}

/// Output frame `i` of `frames`: the bytes, and the timestamp of input frame `input`.
fn assert_frame(frames: &[PcapFrame], i: usize, input: usize, bytes: &[u8]) {
    let f = &frames[i];
    assert_eq!(f.data, bytes, "output frame {i} (input frame {input})");
    assert_eq!(
        (f.secs, f.frac),
        (1000 + input as u32, input as u32 * 1_000_000),
        "timestamp of output frame {i}"
    );
}

/// NVGRE output frame `i`: VSID, outer PAs and MACs, and the inner frame.
fn assert_nvgre(
    frames: &[PcapFrame],
    i: usize,
    input: usize,
    vsid: u32,
    dst: Ipv4Addr,
    inner: &[u8],
) {
    let f = &frames[i].data;
    let n = nvgre::inspect(f).unwrap_or_else(|r| panic!("output frame {i}: {r}"));
    assert_eq!(n.vsid().get(), vsid, "output frame {i}");
    assert_eq!(n.underlay(f), v4(PA_A, dst), "output frame {i}");
    assert_eq!(f[0..12], [HOST_B.0, HOST_A.0].concat(), "output frame {i}");
    assert_eq!(&f[n.inner_offset()..], inner, "output frame {i}");
    assert_eq!(frames[i].secs, 1000 + input as u32);
}

/// Frames Contoso1 sends into its port on HostA, one per case.
fn port_capture() -> Vec<Vec<u8>> {
    let mut c1 = vm(
        "Contoso1",
        CONTOSO1,
        &["10.0.0.5/24", "fd00::5/64"],
        &["10.0.0.1"],
    );
    c1.set_neighbor(ip("10.0.0.7"), CONTOSO2);
    c1.set_neighbor(ip("10.0.0.6"), CONTOSO3);
    c1.set_neighbor(ip("10.0.0.9"), MacAddr([0, 0x15, 0x5d, 0, 0, 0x99]));
    c1.set_neighbor(ip("10.0.0.1"), GATEWAY);
    c1.set_neighbor(ip("fd00::7"), CONTOSO2);
    let mut link_local = vm("Contoso1", CONTOSO1, &["fe80::215:5dff:fe00:1/64"], &[]);
    let udp = one(c1
        .send_udp(ip("10.0.0.7"), 5000, 7, b"to Contoso2")
        .unwrap());
    let mut tagged = udp[..12].to_vec();
    tagged.extend_from_slice(&[0x81, 0x00, 0x00, 0x0a]);
    tagged.extend_from_slice(&udp[12..]);
    vec![
        // 0: ARP for a remote VM: answered on its behalf.
        c1.arp_request("10.0.0.7".parse().unwrap()).unwrap(),
        // 1: ARP for the gateway.
        c1.arp_request("10.0.0.1".parse().unwrap()).unwrap(),
        // 2: ARP for a VM on the same host: flooded to the VSID's other local ports.
        c1.arp_request("10.0.0.6".parse().unwrap()).unwrap(),
        // 3: UDP to the other host: NVGRE.
        udp.clone(),
        // 4: TCP to the same host and VSID.
        one(c1.send_tcp_syn(ip("10.0.0.6"), 49152, 80, 1).unwrap()),
        // 5: ICMP routed to VSID 6001 on this host.
        one(c1.send_ping(ip("10.0.1.6"), 1, 1, b"ping").unwrap()),
        // 6: ICMP routed to VSID 6001 on the other host.
        one(c1.send_ping(ip("10.0.1.7"), 1, 2, b"ping").unwrap()),
        // 7: IPv4 broadcast: local ports and every other host of the VSID.
        one(c1
            .send_udp(ip("255.255.255.255"), 68, 67, b"discover")
            .unwrap()),
        // 8: IPv6 from a CA the policy does not give Contoso1.
        one(c1.send_udp(ip("fd00::7"), 5000, 7, b"v6").unwrap()),
        // 9: IPv6 link-local multicast.
        one(link_local
            .send_udp(ip("ff02::1"), 5000, 7, b"all nodes")
            .unwrap()),
        // 10: another VM's source MAC.
        with_macs(&udp, CONTOSO2, CONTOSO3),
        // 11: a truncated frame.
        udp[..10].to_vec(),
        // 12: a MAC no record of the VSID has.
        one(c1.send_udp(ip("10.0.0.9"), 5000, 7, b"nobody").unwrap()),
        // 13: a VM of another VSID (Fabrikam1, 7001) by its MAC.
        with_macs(&udp, FABRIKAM1, CONTOSO1),
        // 14: no customer route.
        one(c1.send_ping(ip("8.8.8.8"), 1, 3, b"ping").unwrap()),
        // 15: a VLAN tag.
        tagged,
    ]
}

#[test]
fn from_a_port() {
    let dir = scratch("port");
    let input = dir.join("in.pcap");
    let frames = port_capture();
    write_capture(&input, &frames);
    let out = dir.join("out");
    let stdout = success(&hnv_pcap("HostA", "port:Contoso1", &input, &out, &[]));

    let expect = [
        r#"{"index":0,"verdict":"reply","vsid":5001,"to":"port:Contoso1"}"#,
        r#"{"index":1,"verdict":"reply","vsid":5001,"to":"port:Contoso1"}"#,
        r#"{"index":2,"verdict":"flood","vsid":5001,"to":["port:Contoso3"]}"#,
        r#"{"index":3,"verdict":"to-wire","vsid":5001,"to":"wire"}"#,
        r#"{"index":4,"verdict":"to-port","vsid":5001,"to":"port:Contoso3"}"#,
        r#"{"index":5,"verdict":"to-port","vsid":5001,"to":"port:Contoso4"}"#,
        r#"{"index":6,"verdict":"to-wire","vsid":5001,"to":"wire"}"#,
        r#"{"index":7,"verdict":"flood","vsid":5001,"to":["port:Contoso3","wire:192.168.4.22"]}"#,
        r#"{"index":8,"verdict":"drop","reason":"spoofed_source_ca","vsid":5001}"#,
        r#"{"index":9,"verdict":"flood","vsid":5001,"to":["port:Contoso3","wire:192.168.4.22"]}"#,
        r#"{"index":10,"verdict":"drop","reason":"spoofed_source_mac","vsid":5001}"#,
        r#"{"index":11,"verdict":"drop","reason":"port_frame_malformed","vsid":5001}"#,
        r#"{"index":12,"verdict":"drop","reason":"no_lookup_record","vsid":5001}"#,
        r#"{"index":13,"verdict":"drop","reason":"no_lookup_record","vsid":5001}"#,
        r#"{"index":14,"verdict":"drop","reason":"no_route","vsid":5001}"#,
        r#"{"index":15,"verdict":"drop","reason":"port_vlan_tag","vsid":5001}"#,
    ];
    assert_eq!(verdicts(&out), expect);
    assert_eq!(
        files(&out),
        [
            "port-Contoso1.pcap",
            "port-Contoso3.pcap",
            "port-Contoso4.pcap",
            "verdicts.jsonl",
            "wire.pcap"
        ]
    );

    // Replies come back to Contoso1: "10.0.0.7 is at Contoso2", "10.0.0.1 is at the
    // gateway", ARP replies to Contoso1 (target MAC and IP).
    let c1 = read(&out.join("port-Contoso1.pcap"));
    assert_eq!(c1.len(), 2);
    for (i, (mac, ip)) in [(CONTOSO2, [10, 0, 0, 7]), (GATEWAY, [10, 0, 0, 1])]
        .into_iter()
        .enumerate()
    {
        let f = &c1[i].data;
        assert_eq!(f[0..12], [CONTOSO1.0, mac.0].concat());
        assert_eq!(f[20..22], [0, 2], "ARP reply");
        assert_eq!(f[22..32], [&mac.0[..], &ip].concat(), "sender");
        assert_eq!(
            f[32..42],
            [&CONTOSO1.0[..], &[10, 0, 0, 5]].concat(),
            "target"
        );
        assert_eq!(
            (c1[i].secs, c1[i].frac),
            (1000 + i as u32, i as u32 * 1_000_000)
        );
    }

    let c3 = read(&out.join("port-Contoso3.pcap"));
    assert_eq!(c3.len(), 4);
    for (i, input) in [2, 4, 7, 9].into_iter().enumerate() {
        assert_frame(&c3, i, input, &frames[input]);
    }
    // Routed: MACs rewritten (to Contoso4, from the gateway), the rest as sent.
    let c4 = read(&out.join("port-Contoso4.pcap"));
    assert_eq!(c4.len(), 1);
    assert_frame(&c4, 0, 5, &with_macs(&frames[5], CONTOSO4, GATEWAY));

    let wire = read(&out.join("wire.pcap"));
    assert_eq!(wire.len(), 4);
    assert_nvgre(&wire, 0, 3, 5001, PA_B, &frames[3]);
    assert_nvgre(
        &wire,
        1,
        6,
        6001,
        PA_B,
        &with_macs(&frames[6], CONTOSO5, GATEWAY),
    );
    assert_nvgre(&wire, 2, 7, 5001, PA_B, &frames[7]);
    assert_nvgre(&wire, 3, 9, 5001, PA_B, &frames[9]);
    let wire_bytes: usize = wire.iter().map(|f| f.data.len()).sum();
    let c3_bytes: usize = c3.iter().map(|f| f.data.len()).sum();

    assert_port_summary(&stdout, wire_bytes, c3_bytes);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The summary of `from_a_port`: frames, verdicts, drop reasons, files with their counts.
fn assert_port_summary(stdout: &str, wire_bytes: usize, c3_bytes: usize) {
    assert!(stdout.contains("16 frames (pcap) through HostA's switch from port:Contoso1"));
    for line in ["reply", "flood", "to-wire", "to-port", "drop"] {
        assert!(stdout.contains(&format!("  {line}")), "{stdout}");
    }
    assert!(stdout.contains("no_lookup_record"), "{stdout}");
    let line = |needle: &str| {
        stdout
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle} in {stdout}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    assert_eq!(line(" drop ")[1], "7");
    assert_eq!(line("no_lookup_record")[1], "2");
    assert_eq!(
        line("wire.pcap")[1..],
        ["4", "frames", &wire_bytes.to_string(), "bytes"]
    );
    assert_eq!(
        line("port-Contoso3.pcap")[1..],
        ["4", "frames", &c3_bytes.to_string(), "bytes"]
    );
    assert_eq!(line("verdicts.jsonl")[1..], ["16", "lines"]);
}

/// Frames arriving at HostA's uplink.
fn wire_capture() -> Vec<Vec<u8>> {
    let mut c2 = vm(
        "Contoso2",
        CONTOSO2,
        &["10.0.0.7/24", "fd00::7/64"],
        &["10.0.0.1"],
    );
    c2.set_neighbor(ip("10.0.0.5"), CONTOSO1);
    c2.set_neighbor(ip("10.0.0.6"), CONTOSO3);
    c2.set_neighbor(ip("fd00::5"), CONTOSO1);
    c2.set_neighbor(ip("10.0.1.6"), CONTOSO4);
    let mut c5 = vm("Contoso5", CONTOSO5, &["10.0.1.7/24"], &["10.0.1.1"]);
    c5.set_neighbor(ip("10.0.1.6"), CONTOSO4);
    let mut router = vm("router", ROUTER, &["192.168.4.1/24"], &[]);
    router.set_neighbor(ip("192.168.4.11"), HOST_A);

    let udp = one(c2
        .send_udp(ip("10.0.0.5"), 5000, 7, b"to Contoso1")
        .unwrap());
    let to_a = v4(PA_B, PA_A);
    let nvgre_udp = nvgre(&udp, 5001, to_a);
    let mut no_key = nvgre_udp.clone();
    no_key[34] &= !0x20;
    let mut lldp = vec![0x01, 0x80, 0xc2, 0, 0, 0x0e];
    lldp.extend_from_slice(&ROUTER.0);
    lldp.extend_from_slice(&[0x88, 0xcc]);
    lldp.resize(60, 0);
    let v6_pas = Underlay::V6 {
        src: "2001:db8::22".parse::<Ipv6Addr>().unwrap(),
        dst: "2001:db8::11".parse::<Ipv6Addr>().unwrap(),
    };
    vec![
        // 0: UDP for Contoso1.
        nvgre_udp.clone(),
        // 1: TCP for Contoso3.
        nvgre(
            &one(c2.send_tcp_syn(ip("10.0.0.6"), 49152, 80, 1).unwrap()),
            5001,
            to_a,
        ),
        // 2: broadcast ARP: every local port of the VSID.
        nvgre(
            &c2.arp_request("10.0.0.5".parse().unwrap()).unwrap(),
            5001,
            to_a,
        ),
        // 3: ICMP in VSID 6001 for Contoso4.
        nvgre(
            &one(c5.send_ping(ip("10.0.1.6"), 1, 1, b"ping").unwrap()),
            6001,
            to_a,
        ),
        // 4: a VSID this host has no port on.
        nvgre(&udp, 8001, to_a),
        // 5: a PA that is not HostA's.
        nvgre(&udp, 5001, v4(PA_B, Ipv4Addr::new(192, 168, 4, 99))),
        // 6: a MAC not in the frame's VSID (Contoso4 is in 6001).
        nvgre(&with_macs(&udp, CONTOSO4, CONTOSO2), 5001, to_a),
        // 7: IPv6 outer headers to a PA HostA does not have.
        nvgre(&udp, 5001, v6_pas),
        // 8: IPv6 inner packet for Contoso1.
        nvgre(
            &one(c2.send_udp(ip("fd00::5"), 5000, 7, b"v6").unwrap()),
            5001,
            to_a,
        ),
        // 9: the provider router ARPs for HostA's PA.
        router.arp_request(PA_A).unwrap(),
        // 10: and pings it.
        one(router
            .send_ping(ip("192.168.4.11"), 7, 1, b"pa ping")
            .unwrap()),
        // 11: NVGRE cut short.
        nvgre_udp[..40].to_vec(),
        // 12: neither IP nor ARP.
        lldp,
        // 13: IP but not GRE, to HostA's PA.
        one(router
            .send_udp(ip("192.168.4.11"), 5000, 7, b"udp")
            .unwrap()),
        // 14: GRE without a key.
        no_key,
    ]
}

#[test]
fn from_the_wire() {
    let dir = scratch("wire");
    let input = dir.join("in.pcap");
    let frames = wire_capture();
    write_capture(&input, &frames);
    let out = dir.join("out");
    success(&hnv_pcap("HostA", "wire", &input, &out, &[]));

    let expect = [
        r#"{"index":0,"verdict":"to-port","vsid":5001,"to":"port:Contoso1"}"#,
        r#"{"index":1,"verdict":"to-port","vsid":5001,"to":"port:Contoso3"}"#,
        r#"{"index":2,"verdict":"flood","vsid":5001,"to":["port:Contoso1","port:Contoso3"]}"#,
        r#"{"index":3,"verdict":"to-port","vsid":6001,"to":"port:Contoso4"}"#,
        r#"{"index":4,"verdict":"drop","reason":"unknown_vsid","vsid":8001}"#,
        r#"{"index":5,"verdict":"drop","reason":"not_our_pa","vsid":5001}"#,
        r#"{"index":6,"verdict":"drop","reason":"no_local_port","vsid":5001}"#,
        r#"{"index":7,"verdict":"drop","reason":"not_our_pa","vsid":5001}"#,
        r#"{"index":8,"verdict":"to-port","vsid":5001,"to":"port:Contoso1"}"#,
        r#"{"index":9,"verdict":"reply","to":"wire"}"#,
        r#"{"index":10,"verdict":"reply","to":"wire"}"#,
        r#"{"index":11,"verdict":"drop","reason":"truncated"}"#,
        r#"{"index":12,"verdict":"drop","reason":"not_ip"}"#,
        r#"{"index":13,"verdict":"drop","reason":"not_gre"}"#,
        r#"{"index":14,"verdict":"drop","reason":"gre_key_absent"}"#,
    ];
    assert_eq!(verdicts(&out), expect);
    assert_eq!(
        files(&out),
        [
            "port-Contoso1.pcap",
            "port-Contoso3.pcap",
            "port-Contoso4.pcap",
            "verdicts.jsonl",
            "wire.pcap"
        ]
    );
    // Decapsulated: exactly the inner frames.
    let inner = |i: usize| {
        let n = nvgre::inspect(&frames[i]).unwrap();
        frames[i][n.inner_offset()..].to_vec()
    };
    let c1 = read(&out.join("port-Contoso1.pcap"));
    assert_eq!(c1.len(), 3);
    for (i, input) in [0, 2, 8].into_iter().enumerate() {
        assert_frame(&c1, i, input, &inner(input));
    }
    let c3 = read(&out.join("port-Contoso3.pcap"));
    assert_eq!(c3.len(), 2);
    assert_frame(&c3, 0, 1, &inner(1));
    assert_frame(&c3, 1, 2, &inner(2));
    let c4 = read(&out.join("port-Contoso4.pcap"));
    assert_eq!(c4.len(), 1);
    assert_frame(&c4, 0, 3, &inner(3));

    // The replies to the provider router: ARP "192.168.4.11 is at HostA's uplink", and
    // the echo reply from the PA.
    let wire = read(&out.join("wire.pcap"));
    assert_eq!(wire.len(), 2);
    let arp = &wire[0].data;
    assert_eq!(arp[0..12], [ROUTER.0, HOST_A.0].concat());
    assert_eq!(arp[20..22], [0, 2]);
    assert_eq!(arp[22..32], [&HOST_A.0[..], &PA_A.octets()].concat());
    let echo = &wire[1].data;
    assert_eq!(echo[0..12], [ROUTER.0, HOST_A.0].concat());
    assert_eq!(echo[26..34], [192, 168, 4, 11, 192, 168, 4, 1]);
    assert_eq!(echo[34], 0, "ICMP echo reply");
    assert_eq!((wire[1].secs, wire[1].frac), (1010, 10_000_000));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs the same capture as pcap and as pcapng; every output file is identical.
fn same_outputs_as_pcapng(name: &str, from: &str, frames: &[Vec<u8>]) {
    let dir = scratch(name);
    let pcap = dir.join("in.pcap");
    write_capture(&pcap, frames);
    let pcapng = dir.join("in.pcapng");
    let conv = Command::new("editcap")
        .args(["-F", "pcapng"])
        .arg(&pcap)
        .arg(&pcapng)
        .output()
        .expect("editcap not found: scripts/test installs it (Debian package tshark)");
    assert!(
        conv.status.success(),
        "{}",
        String::from_utf8_lossy(&conv.stderr)
    );
    assert_eq!(
        &std::fs::read(&pcapng).unwrap()[..4],
        [0x0a, 0x0d, 0x0d, 0x0a]
    );

    let (a, b) = (dir.join("a"), dir.join("b"));
    let sa = success(&hnv_pcap("HostA", from, &pcap, &a, &[]));
    let sb = success(&hnv_pcap("HostA", from, &pcapng, &b, &[]));
    assert!(sb.contains("(pcapng)"), "{sb}");
    assert_eq!(files(&a), files(&b));
    for f in files(&a) {
        assert_eq!(
            std::fs::read(a.join(&f)).unwrap(),
            std::fs::read(b.join(&f)).unwrap(),
            "{f} differs"
        );
    }
    // The summaries differ only in the input's name and format.
    let norm = |s: &str| s.replace(&b.display().to_string(), &a.display().to_string());
    assert_eq!(
        sa.lines().skip(1).collect::<Vec<_>>(),
        norm(&sb).lines().skip(1).collect::<Vec<_>>()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn pcapng_gives_identical_outputs() {
    same_outputs_as_pcapng("ng-port", "port:Contoso1", &port_capture());
    same_outputs_as_pcapng("ng-wire", "wire", &wire_capture());
}

#[test]
fn json_summary() {
    let dir = scratch("json");
    let input = dir.join("in.pcap");
    write_capture(&input, &wire_capture());
    let out = dir.join("out");
    let stdout = success(&hnv_pcap("HostA", "wire", &input, &out, &["--json"]));
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["frames"], 15);
    assert_eq!(v["format"], "pcap");
    assert_eq!(v["host"], "HostA");
    assert_eq!(v["from"], "wire");
    assert_eq!(
        v["verdicts"],
        serde_json::json!({"to-port": 4, "reply": 2, "flood": 1, "drop": 8})
    );
    assert_eq!(v["drop_reasons"]["not_our_pa"], 2);
    assert_eq!(v["drop_reasons"]["unknown_vsid"], 1);
    let files = v["files"].as_array().unwrap();
    assert_eq!(
        files[0]["path"],
        out.join("wire.pcap").display().to_string()
    );
    assert_eq!(files[0]["frames"], 2);
    assert_eq!(files.last().unwrap()["lines"], 15);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A second run into the same directory leaves only its own outputs.
#[test]
fn a_rerun_replaces_the_outputs() {
    let dir = scratch("rerun");
    let (all, first) = (dir.join("all.pcap"), dir.join("first.pcap"));
    write_capture(&all, &wire_capture());
    write_capture(&first, &wire_capture()[..1]);
    let out = dir.join("out");
    success(&hnv_pcap("HostA", "wire", &all, &out, &[]));
    assert_eq!(files(&out).len(), 5);
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    success(&hnv_pcap("HostA", "wire", &first, &out, &[]));
    assert_eq!(
        files(&out),
        [
            "notes.txt",
            "port-Contoso1.pcap",
            "verdicts.jsonl",
            "wire.pcap"
        ]
    );
    assert_eq!(read(&out.join("port-Contoso1.pcap")).len(), 1);
    assert_eq!(verdicts(&out).len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The seed fabric's traffic from HostB, replayed at HostA, reaches HostA's ports exactly
/// as the fabric delivered it.
#[test]
fn replaying_the_fabric_wire_matches_the_fabric() {
    let policy = hnv_core::policy::file::from_json(hnv_sim::seed::POLICY).unwrap();
    let mut fabric = hnv_sim::seed::fabric(&policy).unwrap();
    fabric.send_ping("Contoso2", ip("10.0.0.5"), 1).unwrap();
    fabric
        .send_udp("Contoso2", ip("10.0.0.6"), 4000, 53, b"query")
        .unwrap();
    fabric.send_ping("Contoso2", ip("10.0.1.6"), 2).unwrap();
    fabric.send_ping("Contoso5", ip("10.0.0.6"), 3).unwrap();
    fabric
        .send_udp("Contoso2", ip("10.0.0.255"), 4000, 9, b"bcast")
        .unwrap();
    fabric.run();
    let host_b = Link::Uplink {
        host: "HostB".into(),
    };
    let sent: Vec<Vec<u8>> = fabric
        .frames_on(&host_b, Direction::Out)
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect();
    assert_eq!(
        sent.len(),
        5,
        "one frame per message, the broadcast included"
    );

    let dir = scratch("fabric");
    let input = dir.join("in.pcap");
    write_capture(&input, &sent);
    let out = dir.join("out");
    success(&hnv_pcap("HostA", "wire", &input, &out, &[]));
    // What HostA's switch delivered to each port for frames from its uplink: the fabric
    // records a decision's deliveries right after the frame that entered the switch.
    let host_a = Link::Uplink {
        host: "HostA".into(),
    };
    let mut from_wire = false;
    let mut delivered: Vec<(String, Vec<u8>)> = Vec::new();
    for r in fabric.links() {
        match (&r.link, r.dir) {
            (l, Direction::In) if *l == host_a => from_wire = true,
            (Link::Port { host, .. }, Direction::In) if host == "HostA" => from_wire = false,
            (Link::Port { host, port }, Direction::Out) if host == "HostA" && from_wire => {
                delivered.push((port.clone(), r.frame.clone()));
            }
            _ => {}
        }
    }
    assert_eq!(delivered.len(), 6, "{delivered:?}");
    for port in ["Contoso1", "Contoso3", "Contoso4", "Fabrikam1"] {
        let delivered: Vec<_> = delivered
            .iter()
            .filter(|(p, _)| p == port)
            .map(|(_, f)| f.clone())
            .collect();
        let path = out.join(format!("port-{port}.pcap"));
        let written: Vec<Vec<u8>> = if path.exists() {
            read(&path).into_iter().map(|f| f.data).collect()
        } else {
            Vec::new()
        };
        assert_eq!(written, delivered, "port {port}");
    }
    assert_eq!(read(&out.join("wire.pcap")).len(), 0);
    for line in verdicts(&out) {
        assert!(!line.contains("drop"), "{line}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// exit 1, `hnv: error: IN: <message>`, no panic.
fn assert_fails(out: &Output, message: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.starts_with("hnv: error: "), "{stderr}");
    assert!(stderr.contains(message), "expected {message:?} in {stderr}");
}

#[test]
fn malformed_captures_are_errors_naming_the_frame() {
    let cases = [
        ("empty.pcap", "the capture file is empty"),
        ("short-header.pcap", "file ends inside the file header (12 bytes)"),
        ("not-a-capture.pcap", "not a pcap or pcapng file (magic 0x73696874)"),
        ("linktype-raw.pcap", "link type 101 is not Ethernet (1)"),
        (
            "truncated-record.pcap",
            "frame 1: file ends inside the record (the outputs hold the frame before it)",
        ),
        ("huge-frame.pcap", "frame 0: captured length 2147483647 exceeds 262144"),
        (
            "truncated-block.pcapng",
            "frame 0: Enhanced Packet Block (block 2, byte 48): file ends inside the block",
        ),
        (
            "bad-byte-order.pcapng",
            "Section Header Block (block 0, byte 0, before frame 0): byte-order magic 0x01020304",
        ),
        (
            "length-mismatch.pcapng",
            "frame 0: Enhanced Packet Block (block 2, byte 48): block length 92 at its start but 512 at its end",
        ),
        (
            "no-interface.pcapng",
            "frame 0: Enhanced Packet Block (block 1, byte 28): interface 0 is not described",
        ),
        (
            "huge-block.pcapng",
            "frame 0: Enhanced Packet Block (block 2, byte 48): block length 4294967280 exceeds 327680",
        ),
        (
            "linktype-raw.pcapng",
            "Interface Description Block (block 1, byte 28, before frame 0): link type 101 is not Ethernet (1)",
        ),
        (
            "caplen-beyond-block.pcapng",
            "frame 1: Enhanced Packet Block (block 3, byte 140): captured length 200 exceeds the 60 bytes the block holds",
        ),
    ];
    let dir = scratch("corpus");
    for (name, message) in cases {
        let input = corpus(name);
        let out = dir.join(name);
        let run = hnv_pcap("HostA", "wire", &input, &out, &[]);
        assert_fails(&run, &format!("{}: {message}", input.display()));
        // Frames before the bad one were replayed and written.
        if name == "truncated-record.pcap" || name == "caplen-beyond-block.pcapng" {
            assert_eq!(verdicts(&out).len(), 1, "{name}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn usage_errors() {
    let dir = scratch("usage");
    let input = dir.join("in.pcap");
    write_capture(&input, &wire_capture()[..1]);
    let out = dir.join("out");

    assert_fails(
        &hnv_pcap("HostC", "wire", &input, &out, &[]),
        "no host named \"HostC\" in",
    );
    assert_fails(
        &hnv_pcap("HostC", "wire", &input, &out, &[]),
        "its hosts: \"HostA\", \"HostB\"",
    );
    assert_fails(
        &hnv_pcap("HostA", "port:Contoso2", &input, &out, &[]),
        "host HostA has no port \"Contoso2\"; its ports: Contoso1, Contoso3, Contoso4, Fabrikam1",
    );
    assert_fails(
        &hnv_pcap("HostA", "wire", &dir.join("missing.pcap"), &out, &[]),
        "missing.pcap",
    );
    assert!(!out.exists(), "nothing is written before the input is read");

    // --from must be wire or port:NAME (a usage error from the argument parser).
    let bad = hnv_pcap("HostA", "uplink", &input, &out, &[]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("expected `wire` or `port:NAME`"));

    // The input inside the output directory under an output's name is not overwritten.
    std::fs::create_dir_all(&out).unwrap();
    std::fs::copy(&input, out.join("wire.pcap")).unwrap();
    assert_fails(
        &hnv_pcap("HostA", "wire", &out.join("wire.pcap"), &out, &[]),
        "would be overwritten by the output",
    );
    assert_eq!(read(&out.join("wire.pcap")).len(), 1);

    // An invalid policy: exit 2, one line per problem, naming the file.
    let bad_policy = dir.join("bad.json");
    let text = std::fs::read_to_string(policy()).unwrap().replacen(
        "\"VirtualSubnetID\": 5001",
        "\"VirtualSubnetID\": 4095",
        1,
    );
    std::fs::write(&bad_policy, text).unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_hnv"))
        .arg("pcap")
        .arg("--policy")
        .arg(&bad_policy)
        .args(["--host", "HostA", "--from", "wire", "--in"])
        .arg(&input)
        .arg("--out-dir")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("LookupRecords[0].VirtualSubnetID: 4095 is below 4096"),
        "{stderr}"
    );
    assert!(
        stderr.ends_with(&format!("{}: invalid (2 problems)\n", bad_policy.display())),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
