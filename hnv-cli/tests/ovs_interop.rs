//! Open vSwitch as the remote Hyper-V host of hnv (root only): `scripts/netns` builds the
//! seed fabric with hnv on HostA alone, and `scripts/ovs-peer` plays HostB with Open
//! vSwitch's userspace datapath (a private `ovsdb-server` and `ovs-vswitchd` in HostB's
//! namespace, `datapath_type=netdev`, a `type=gre` port with
//! `options:packet_type=legacy_l2`, `remote_ip=flow`, `key=flow`, static tunnel ARP
//! entries, OpenFlow rules from the lookup records) with the VM Contoso2 behind it. The
//! kernels of the VMs are the traffic: ping both ways between Contoso1 (behind hnv) and
//! Contoso2 (behind OVS), TCP transfers both ways whose content (sha256) is equal on
//! both ends. Then it checks:
//!
//! - ARP: each VM learned the other's MAC from its own host (hnv answers Contoso1 from
//!   its policy, an OpenFlow ARP responder answers Contoso2), and no customer ARP is on
//!   the wire;
//! - the provider network (tshark decodes the capture, see `common::check_wire`): only
//!   NVGRE of VSID 5001 with GRE flags 0x2000 and protocol 0x6558 and good checksums,
//!   in both directions; OVS's key is exactly VSID<<8 | its fixed FlowID, hnv's carries
//!   VSID 5001 with its own FlowID; the outer MACs are the hosts' uplink MACs;
//! - OVS: the datapath is the userspace one, its rules matched the traffic;
//! - hnv's counters at shutdown: exit status 0, every frame accounted for, no drop, every
//!   frame from OVS delivered to Contoso1;
//! - that nothing is left behind: no namespace, no `ovsdb-server`, `ovs-vswitchd` or hnv
//!   process, no state directory.
//!
//! Skipped, with a message, when not run as root or when Open vSwitch is not installed.

mod common;

use common::*;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// The TCP ends of the transfers (see `common::traffic_helper`); does nothing when run as an
/// ordinary test.
#[test]
#[ignore = "a TCP end run by the namespace tests inside a VM namespace"]
fn traffic_helper_in_vm_namespace() {
    traffic_helper();
}

/// The low byte of the GRE key OVS sends (the FlowID): not 0, so that hnv's acceptance of
/// any FlowID is tested.
const OVS_FLOWID: u32 = 0xa5;
const VSID: u32 = 5001;
const HOST_A_MAC: &str = "02:00:00:00:0a:01";
const HOST_B_MAC: &str = "02:00:00:00:0b:01";
const HOST_A_PA: &str = "192.168.4.11";
const HOST_B_PA: &str = "192.168.4.22";

fn ovs_peer(args: &[&str]) -> Output {
    Command::new(repo().join("scripts/ovs-peer"))
        .args(args)
        .env("HNV_NETNS_QUIET", "1")
        .stdin(Stdio::null())
        .output()
        .expect("running scripts/ovs-peer")
}

/// HostB played by Open vSwitch on a fabric of `scripts/netns`; taken down when dropped
/// (also when the test panics).
struct OvsPeer {
    id: String,
    dir: PathBuf,
    down: bool,
}

impl OvsPeer {
    fn up(fabric: &str) -> Self {
        let flowid = format!("{OVS_FLOWID:#x}");
        let out = ovs_peer(&[
            "up", "--fabric", fabric, "--hosts", "HostB", "--ports", "Contoso2", "--flowid",
            &flowid,
        ]);
        assert!(
            out.status.success(),
            "scripts/ovs-peer up failed:\n{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        let id = text(&out.stdout).trim().to_string();
        assert!(!id.is_empty(), "scripts/ovs-peer up printed no id");
        let dir = std::env::temp_dir().join(format!("hnv-ovs.{id}"));
        assert!(dir.is_dir(), "no state directory {}", dir.display());
        Self {
            id,
            dir,
            down: false,
        }
    }

    /// `CMD` in HostB's namespace, talking to its private OVS.
    fn exec(&self, cmd: &[&str]) -> String {
        let mut args = vec!["exec", &self.id, "HostB"];
        args.extend_from_slice(cmd);
        let out = ovs_peer(&args);
        assert!(
            out.status.success(),
            "{cmd:?} in HostB failed:\n{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// `ovs-appctl CMD` to HostB's `ovs-vswitchd`.
    fn appctl(&self, cmd: &[&str]) -> String {
        let mut args = vec!["ovs-appctl", "-t", "ovs-vswitchd"];
        args.extend_from_slice(cmd);
        self.exec(&args)
    }

    /// The OVS it plays HostB with: the userspace datapath, the GRE port as configured, the
    /// static tunnel ARP entry of HostA.
    fn check_config(&self) {
        let dp = self.appctl(&["dpif/show"]);
        assert!(dp.contains("netdev@ovs-netdev"), "datapath:\n{dp}");
        assert!(dp.contains("gre0") && dp.contains("vm-contoso2"), "{dp}");
        let gre = self.exec(&[
            "ovs-vsctl",
            "--columns=type,options",
            "list",
            "interface",
            "gre0",
        ]);
        for want in ["gre", "key=flow", "packet_type=legacy_l2", "remote_ip=flow"] {
            assert!(gre.contains(want), "gre0 without {want}:\n{gre}");
        }
        let arp = self.appctl(&["tnl/arp/show"]);
        assert!(
            arp.lines()
                .any(|l| l.contains(HOST_A_PA) && l.contains(HOST_A_MAC)),
            "no tunnel ARP entry for HostA:\n{arp}"
        );
    }

    /// The pids of the daemons, from their pid files.
    fn pids(&self) -> Vec<u32> {
        ["ovsdb-server", "ovs-vswitchd"]
            .iter()
            .map(|d| {
                let f = self.dir.join(format!("HostB/{d}.pid"));
                std::fs::read_to_string(&f)
                    .unwrap_or_else(|e| panic!("{}: {e}", f.display()))
                    .trim()
                    .parse()
                    .unwrap_or_else(|e| panic!("{}: {e}", f.display()))
            })
            .collect()
    }

    /// Stops the daemons, deletes what the peer made; checks that nothing is left.
    fn down(&mut self) -> String {
        let pids = self.pids();
        let out = ovs_peer(&["down", &self.id]);
        self.down = true;
        let s = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(out.status.success(), "scripts/ovs-peer down failed:\n{s}");
        for pid in pids {
            // Gone, or a zombie its new parent has not reaped yet (the daemons detach).
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let state = stat.rsplit(") ").next().and_then(|s| s.split(' ').next());
            assert!(
                stat.is_empty() || state == Some("Z"),
                "OVS daemon {pid} left behind: {stat}"
            );
        }
        assert!(!self.dir.exists(), "{} left behind", self.dir.display());
        s
    }
}

impl Drop for OvsPeer {
    fn drop(&mut self) {
        if !self.down {
            let _ = ovs_peer(&["down", &self.id]);
        }
    }
}

fn ovs_installed() -> bool {
    ["ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ovs-ofctl"]
        .iter()
        .all(|t| {
            Command::new("sh")
                .args(["-c", &format!("command -v {t}")])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
}

/// The `n_packets` of the first rule of `flows` (`ovs-ofctl dump-flows` output) whose text
/// contains every one of `parts`.
fn n_packets(flows: &str, parts: &[&str]) -> u64 {
    let line = flows
        .lines()
        .find(|l| parts.iter().all(|p| l.contains(p)))
        .unwrap_or_else(|| panic!("no rule with {parts:?}:\n{flows}"));
    number_after(&line.replace('=', " "), "n_packets")
        .unwrap_or_else(|| panic!("no n_packets in {line}"))
}

/// The MAC `vm` resolved for `ip` (its kernel's neighbour table).
fn neighbour(run: &Run, vm: &str, ip: &str) -> String {
    let out = run.fabric.exec(vm, &["ip", "neigh", "show", ip]);
    let s = text(&out.stdout);
    s.split_whitespace()
        .skip_while(|w| *w != "lladdr")
        .nth(1)
        .unwrap_or_else(|| panic!("{vm} has no neighbour entry for {ip}: {s:?}"))
        .to_string()
}

/// Per NVGRE frame of the capture: outer source and destination MAC, outer source and
/// destination IPv4, GRE key.
fn nvgre_frames(pcap: &std::path::Path) -> Vec<[String; 5]> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .args([
            "-Y",
            "gre",
            "-T",
            "fields",
            "-E",
            "separator=\t",
            "-E",
            "occurrence=f",
            "-e",
            "eth.src",
            "-e",
            "eth.dst",
            "-e",
            "ip.src",
            "-e",
            "ip.dst",
            "-e",
            "gre.key",
        ])
        .output()
        .expect("running tshark");
    assert!(out.status.success(), "tshark failed: {}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .map(|l| {
            let f: Vec<String> = l.split('\t').map(str::to_string).collect();
            assert_eq!(f.len(), 5, "tshark line {l:?}");
            [
                f[0].clone(),
                f[1].clone(),
                f[2].clone(),
                f[3].clone(),
                f[4].clone(),
            ]
        })
        .collect()
}

/// The outer headers of every NVGRE frame of `pcap` (`nvgre` of them): from hnv to OVS
/// between the uplink MACs and PAs with a key of VSID 5001 (hnv's FlowID in the low
/// byte), from OVS to hnv likewise with the key exactly VSID<<8 | `OVS_FLOWID`; nothing
/// between other PAs. At least 500 frames each way.
fn check_keys(pcap: &std::path::Path, nvgre: usize) {
    let frames = nvgre_frames(pcap);
    assert_eq!(frames.len(), nvgre, "the two tshark passes disagree");
    let (mut from_hnv, mut from_ovs) = (0usize, 0usize);
    let mut hnv_flowids = std::collections::BTreeSet::new();
    for [src_mac, dst_mac, src, dst, key] in &frames {
        let key = hex(key);
        match (src.as_str(), dst.as_str()) {
            (HOST_A_PA, HOST_B_PA) => {
                from_hnv += 1;
                assert_eq!(
                    (src_mac.as_str(), dst_mac.as_str()),
                    (HOST_A_MAC, HOST_B_MAC)
                );
                assert_eq!(key >> 8, VSID, "hnv's key {key:#x}");
                hnv_flowids.insert(key & 0xff);
            }
            (HOST_B_PA, HOST_A_PA) => {
                from_ovs += 1;
                assert_eq!(
                    (src_mac.as_str(), dst_mac.as_str()),
                    (HOST_B_MAC, HOST_A_MAC)
                );
                assert_eq!(key, (VSID << 8) | OVS_FLOWID, "OVS's key {key:#x}");
            }
            other => panic!("NVGRE between unexpected PAs {other:?}"),
        }
    }
    println!(
        "NVGRE captured: {from_hnv} from hnv (FlowIDs {hnv_flowids:x?}), {from_ovs} from OVS \
         (FlowID {OVS_FLOWID:#x})"
    );
    assert!(
        from_hnv >= 500 && from_ovs >= 500,
        "{from_hnv} / {from_ovs}"
    );
}

/// Contoso1 (HostA, hnv with its XDP programs attached in `mode`) and Contoso2 (HostB,
/// Open vSwitch), VSID 5001: ping and 8 MiB over TCP both ways.
fn ping_and_tcp_both_ways(mode: &'static str) {
    if !is_root() {
        println!(
            "skipped: hnv run with an Open vSwitch peer needs root (network namespaces); run \
             `sudo cargo test -p hnv-cli --test ovs_interop`"
        );
        return;
    }
    if !ovs_installed() {
        println!(
            "skipped: Open vSwitch is not installed (Debian: openvswitch-switch; scripts/test \
             installs it)"
        );
        return;
    }
    let Some(mut run) = Run::start_with(
        "ovs_peer_ping_and_tcp_both_ways",
        mode,
        Capture::Full,
        &["--hosts", "HostA"],
    ) else {
        return;
    };
    assert_eq!(run.fabric.hosts(), ["HostA"], "hnv runs on HostA only");
    let mut peer = OvsPeer::up(&run.fabric.id);

    peer.check_config();

    let there = ping(&run.fabric, "Contoso1", "10.0.0.7");
    let back = ping(&run.fabric, "Contoso2", "10.0.0.5");
    println!("ping Contoso1 (hnv) -> Contoso2 (OVS) avg {there:.3} ms, back avg {back:.3} ms");
    // Each VM's ARP was answered by its own host, from the policy.
    assert_eq!(neighbour(&run, "Contoso1", "10.0.0.7"), "00:15:5d:00:00:02");
    assert_eq!(neighbour(&run, "Contoso2", "10.0.0.5"), "00:15:5d:00:00:01");

    let bytes = 8 << 20;
    tcp_transfer(&run, "Contoso1", "Contoso2", "10.0.0.7", bytes);
    tcp_transfer(&run, "Contoso2", "Contoso1", "10.0.0.5", bytes);

    // OVS's rules saw the traffic: the ARP responder, the tunnel out, the tunnel in. The
    // datapath's flows credit their packets to the rules when the revalidators run: wait
    // for two full rounds.
    peer.appctl(&["revalidator/wait"]);
    peer.appctl(&["revalidator/wait"]);
    let flows = peer.exec(&["ovs-ofctl", "-O", "OpenFlow13", "dump-flows", "br-int"]);
    println!("OVS br-int rules:\n{flows}");
    let arp_answered = n_packets(&flows, &["arp_tpa=10.0.0.5", "arp_op=1"]);
    assert!(arp_answered >= 1, "ARP responder unused:\n{flows}");
    // 8 MiB in segments of at most 1418 bytes (Contoso2's MTU is 1458): at least 5 916
    // data segments each way, plus the ACKs of the other transfer.
    let segments = (bytes as u64).div_ceil(1418);
    let key = format!("set_field:{:#x}->tun_id", (VSID << 8) | OVS_FLOWID);
    let out = n_packets(&flows, &["dl_dst=00:15:5d:00:00:01", &key]);
    let into = n_packets(
        &flows,
        &["tun_id=0x138900/0xffffff00", "dl_dst=00:15:5d:00:00:02"],
    );
    assert!(out >= segments, "OVS encapsulated {out} frames:\n{flows}");
    assert!(into >= segments, "OVS decapsulated {into} frames:\n{flows}");

    let stopped = peer.down();
    println!("{stopped}");
    let hosts = run.finish_hosts();
    assert_eq!(hosts.len(), 1, "reports: {hosts:?}");
    let a = &hosts[0].1;
    println!("{}", a.text);
    let (from1, to1) = a.port("Contoso1");
    assert!(from1 >= segments && to1 >= segments, "{}", a.text);
    assert!(a.wire_tx >= segments && a.wire_rx >= segments, "{}", a.text);
    // Every frame OVS sent was accepted, whatever its FlowID: nothing dropped.
    assert_eq!(a.drops, 0, "hnv dropped frames:\n{}", a.text);
    // Only OVS sends on the provider network, only hnv receives there: every frame hnv
    // took from the wire went to Contoso1 and was one OVS encapsulated; every frame OVS
    // decapsulated was one hnv sent.
    assert_eq!(to1, a.wire_rx, "{}", a.text);
    assert!(
        a.wire_rx <= out,
        "hnv got {} frames, OVS sent {out}",
        a.wire_rx
    );
    assert!(
        into <= a.wire_tx,
        "OVS got {into} frames, hnv sent {}",
        a.wire_tx
    );

    let wire = check_wire(&run.pcap, &[VSID]);
    assert_eq!(wire.nvgre, wire.frames, "only NVGRE: {wire:?}");
    assert_eq!(
        wire.provider_arp, 0,
        "static neighbours on both sides: {wire:?}"
    );
    assert_eq!(
        wire.tcp_good, wire.tcp,
        "TCP checksums not verified good: {wire:?}"
    );
    // tcpdump may miss frames of a burst: counts come from the counters above.
    assert!(wire.tcp >= 1_000, "too few TCP frames captured: {wire:?}");
    for pair in [("10.0.0.5", "10.0.0.7"), ("10.0.0.7", "10.0.0.5")] {
        assert!(
            wire.inner
                .contains(&(pair.0.to_string(), pair.1.to_string(), VSID)),
            "no NVGRE {pair:?} in VSID {VSID}: {wire:?}"
        );
    }
    check_keys(&run.pcap, wire.nvgre);
    run.done();
}

#[test]
fn ovs_peer_ping_and_tcp_both_ways_generic_xdp() {
    ping_and_tcp_both_ways("generic");
}

#[test]
fn ovs_peer_ping_and_tcp_both_ways_native_xdp() {
    ping_and_tcp_both_ways("native");
}
