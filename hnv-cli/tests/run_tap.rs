//! `hnv run` with a TAP VM port whose VM sends with TSO (root only): `scripts/netns` builds
//! the seed fabric from `docs/examples/seed-policy-tap.json`, where Contoso1 (HostA) is a
//! persistent TAP device with a virtio-net header — attached by hnv, then moved into
//! Contoso1's namespace as its eth0 with TSO, GSO and checksum offload left on. Contoso1's
//! kernel then hands hnv TCP super-frames of up to 64 KiB; HostA's switch decides once per
//! super-frame (the MTU judged by its segments), encapsulates it once and cuts it into
//! NVGRE segments with hnv-offload's software LSO on the way to the uplink. Checked:
//!
//! - bulk TCP both ways between Contoso1 (TAP, TSO on) and Contoso2 (HostB, a veth VM):
//!   the content (sha256) is equal on both ends; Contoso1 learned the path MTU 1458 from
//!   the switch's Fragmentation Needed (its super-frames' segments were too big at first);
//! - the provider network (tshark): only NVGRE of VSID 5001, no frame longer than the
//!   uplink MTU, GRE fields and every IPv4 header checksum good; with whole frames
//!   captured (a second, smaller transfer) every TCP checksum verified good as well;
//! - hnv's report: the TAP port received GSO super-frames and the segmenter cut them into
//!   the segments that carried the data (no failure), frame accounting of both hosts;
//! - nothing left behind (namespaces, hnv, the TAP device).
//!
//! The second test runs both hosts with `--workers 2` (the dispatcher path).
//!
//! Skipped, with a message, when not run as root.

mod common;

use common::*;

/// The TCP ends of the transfers (see `common::traffic_helper`); does nothing when run as an
/// ordinary test.
#[test]
#[ignore = "a TCP end run by the namespace tests inside a VM namespace"]
fn traffic_helper_in_vm_namespace() {
    traffic_helper();
}

/// The policy with Contoso1 on the TAP device `tap-contoso1`.
fn tap_policy() -> String {
    repo()
        .join("docs/examples/seed-policy-tap.json")
        .display()
        .to_string()
}

/// The TCP payload of a segment once Contoso1 learned the path MTU: 1458 bytes of inner
/// IPv4 minus the IPv4 header (20) and the TCP header with timestamps (32).
const MSS: usize = UPLINK_MTU - NVGRE_V4_OVERHEAD - 20 - 32;

/// The `gso:` line of a host's report.
#[derive(Debug)]
struct GsoLine {
    super_frames: u64,
    segmented: u64,
    segments: u64,
    failed: u64,
}

fn gso_line(r: &HostReport) -> GsoLine {
    let line = r
        .text
        .lines()
        .find(|l| l.starts_with("gso: "))
        .unwrap_or_else(|| panic!("no gso line:\n{}", r.text));
    let need =
        |key: &str| number_after(line, key).unwrap_or_else(|| panic!("no {key:?} in {line:?}"));
    GsoLine {
        super_frames: need("super-frames"),
        segmented: need("segmented"),
        segments: need("into"),
        failed: need("failed"),
    }
}

/// A counter of the device line of `device` (`port NAME: IFACE (kind): ..., NAME N`); 0
/// when the line leaves it out (it prints only counters above 0).
fn device_counter(r: &HostReport, device: &str, name: &str) -> u64 {
    let line = r
        .text
        .lines()
        .find(|l| l.starts_with(device))
        .unwrap_or_else(|| panic!("no device line {device:?}:\n{}", r.text));
    number_after(line, &format!(", {name}")).unwrap_or(0)
}

/// The TAP device of Contoso1 is in Contoso1's namespace with TSO on, and in no other.
fn check_tap_vm(run: &Run) {
    let k = run.fabric.exec("Contoso1", &["ethtool", "-k", "eth0"]);
    let k = text(&k.stdout);
    for feature in [
        "tcp-segmentation-offload: on",
        "generic-segmentation-offload: on",
        "tx-checksumming: on",
    ] {
        assert!(k.contains(feature), "Contoso1 eth0: no {feature:?}:\n{k}");
    }
    let link = run
        .fabric
        .exec("Contoso1", &["ip", "-d", "link", "show", "eth0"]);
    let link = text(&link.stdout);
    assert!(
        link.contains("tun type tap") && link.contains("vnet_hdr on"),
        "Contoso1 eth0 is not the TAP device:\n{link}"
    );
}

/// What both tests check in HostA's report: the TAP port handed the switch super-frames,
/// every one of them was sent as segments (none failed), and the segments carried at
/// least `min_segments`; HostB delivered at least that many frames to Contoso2.
fn check_tso_path(r: &Reports, min_segments: u64) -> GsoLine {
    let tap_gso = device_counter(&r.a, "port Contoso1:", "rx_gso_frames");
    let g = gso_line(&r.a);
    println!(
        "HostA: TAP port received {tap_gso} GSO super-frames; segmenter: {} super-frames, \
         {} cut into {} segments, {} failed",
        g.super_frames, g.segmented, g.segments, g.failed
    );
    assert!(
        tap_gso > 0,
        "no GSO super-frame from the TAP VM:\n{}",
        r.a.text
    );
    assert_eq!(g.failed, 0, "super-frames not sent:\n{}", r.a.text);
    // Every super-frame the switch did not answer with Fragmentation Needed went out cut.
    assert!(
        g.segmented > 0 && g.segmented == g.super_frames && g.super_frames <= tap_gso,
        "{g:?} vs {tap_gso} received:\n{}",
        r.a.text
    );
    assert!(
        g.segments >= min_segments && g.segments > g.segmented,
        "too few segments: {g:?}, expected at least {min_segments}:\n{}",
        r.a.text
    );
    assert_eq!(
        device_counter(&r.a, "port Contoso1:", "rx_gso_dropped"),
        0,
        "{}",
        r.a.text
    );
    // The uplink sent every segment (and the frames that were not super-frames).
    let uplink_tx =
        r.a.devices
            .iter()
            .find(|d| d.name.starts_with("uplink"))
            .map_or(0, |d| d.tx);
    assert!(
        uplink_tx >= g.segments,
        "uplink sent {uplink_tx} frames, fewer than the {} segments:\n{}",
        g.segments,
        r.a.text
    );
    assert!(r.b.port("Contoso2").1 >= min_segments, "{}", r.b.text);
    g
}

/// 50 MiB over TCP from Contoso1 (TAP, TSO on) to Contoso2 on HostB, then 50 MiB back.
/// The capture keeps the headers of each frame.
#[test]
fn tap_tso_bulk_tcp_both_ways() {
    let policy = tap_policy();
    let Some(mut run) = Run::start_with(
        "tap_tso_bulk_tcp_both_ways",
        "generic",
        Capture::Headers,
        &["--policy", &policy],
    ) else {
        return;
    };
    check_tap_vm(&run);
    ping(&run.fabric, "Contoso1", "10.0.0.7");
    let bytes = 50 << 20;
    let there = tcp_transfer(&run, "Contoso1", "Contoso2", "10.0.0.7", bytes);
    let back = tcp_transfer(&run, "Contoso2", "Contoso1", "10.0.0.5", bytes);
    #[allow(clippy::cast_precision_loss)]
    let mbit = |s: f64| bytes as f64 * 8.0 / s / 1e6;
    println!(
        "TSO from the TAP VM: {:.0} Mbit/s; towards it: {:.0} Mbit/s",
        mbit(there),
        mbit(back)
    );
    pmtu_learned(&run);
    let r = run.finish();
    println!("{}", r.text);

    let wire = check_wire(&run.pcap, &[5001]);
    assert_eq!(wire.nvgre, wire.frames, "only NVGRE: {wire:?}");
    assert!(
        wire.nvgre >= 1_000,
        "too few NVGRE frames captured: {wire:?}"
    );
    for pair in [("10.0.0.5", "10.0.0.7"), ("10.0.0.7", "10.0.0.5")] {
        assert!(
            wire.inner.contains(&(pair.0.into(), pair.1.into(), 5001)),
            "{wire:?}"
        );
    }
    // At least half of the 50 MiB went out as segments of super-frames.
    let g = check_tso_path(&r, (bytes / 2 / MSS) as u64);
    // 50 MiB back to Contoso1 in segments of at most 1418 bytes, written to the TAP.
    assert!(r.a.port("Contoso1").1 >= 36_973, "{}", r.a.text);
    assert!(g.segments >= g.segmented, "{g:?}");
    run.done();
}

/// A smaller transfer each way with whole frames captured, so that tshark verifies the
/// TCP checksum of every segment hnv cut (and of everything else on the wire). HostA and
/// HostB run two workers each: the TAP port's super-frames reach the workers through the
/// dispatcher's large receive buffers.
#[test]
fn tap_tso_segments_verified_on_the_wire() {
    let policy = tap_policy();
    let Some(mut run) = Run::start_with(
        "tap_tso_segments_verified_on_the_wire",
        "generic",
        Capture::Full,
        &["--policy", &policy, "--workers", "2"],
    ) else {
        return;
    };
    check_tap_vm(&run);
    ping(&run.fabric, "Contoso1", "10.0.0.7");
    let bytes = 8 << 20;
    tcp_transfer(&run, "Contoso1", "Contoso2", "10.0.0.7", bytes);
    tcp_transfer(&run, "Contoso2", "Contoso1", "10.0.0.5", bytes);
    pmtu_learned(&run);
    let r = run.finish();
    println!("{}", r.text);

    let wire = check_wire(&run.pcap, &[5001]);
    assert_eq!(wire.nvgre, wire.frames, "only NVGRE: {wire:?}");
    // tcpdump may miss frames of a burst: the counts come from hnv, the capture checks
    // the frames it has — every TCP checksum among them good.
    assert!(wire.tcp >= 1_000, "too few TCP frames captured: {wire:?}");
    assert_eq!(
        wire.tcp_good, wire.tcp,
        "TCP checksums not verified good: {wire:?}"
    );
    assert!(
        wire.max_len > 1_400 && wire.max_len <= UPLINK_MTU + 14,
        "{wire:?}"
    );
    check_tso_path(&r, (bytes / 2 / MSS) as u64);
    run.done();
}
