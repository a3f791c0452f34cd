//! Differential test against DPDK's librte_gso on IPv4-outer / IPv4-inner GRE TCP: a small
//! C harness (tests/dpdk_gso_harness.c, built here with gcc and `pkg-config libdpdk`)
//! segments the same frames with the mbuf fields `TxOffload::to_dpdk_mbuf` gives. Segment
//! count, lengths, inner IPv4 IDs, sequence numbers, flags — and every other byte except
//! the checksum fields, which DPDK leaves stale — must be equal; our checksums are checked
//! by tshark instead. `scripts/test` installs `dpdk-dev`; without it (or gcc) this test
//! prints why it was skipped.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{nvgre_frame, Spec};
use hnv_offload::soft::lso::{output_len, segment};
use hnv_offload::{CwrPolicy, IdWrap, IpIdPolicy, LsoRequest, NicCaps, TxOffload, TxRequest};

fn build_harness() -> Result<PathBuf, String> {
    let pc = Command::new("pkg-config")
        .args(["--cflags", "--libs", "libdpdk"])
        .output()
        .map_err(|e| format!("pkg-config not runnable ({e})"))?;
    if !pc.status.success() {
        return Err(format!(
            "pkg-config cannot find libdpdk ({}); install Debian package dpdk-dev \
             (scripts/test does)",
            String::from_utf8_lossy(&pc.stderr).trim()
        ));
    }
    let flags = String::from_utf8_lossy(&pc.stdout).into_owned();
    let dir = std::env::temp_dir().join(format!("hnv-dpdk-gso-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let exe = dir.join("harness");
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/dpdk_gso_harness.c");
    let out = Command::new("gcc")
        .arg("-O1")
        .arg("-o")
        .arg(&exe)
        .arg(&src)
        .args(flags.split_whitespace())
        .output()
        .map_err(|e| format!("gcc not runnable ({e})"))?;
    // libdpdk is there but the harness does not build: a real failure.
    assert!(
        out.status.success(),
        "building the DPDK harness failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(exe)
}

fn dpdk_segments(exe: &PathBuf, frame: &[u8], d: &TxOffload, fixed: bool) -> Vec<Vec<u8>> {
    let m = d.to_dpdk_mbuf().expect("expressible in DPDK");
    let path = exe.with_file_name(format!("frame-{}", frame.len()));
    std::fs::write(&path, frame).unwrap();
    let gso_size = d.header_len() + usize::from(m.tso_segsz);
    let out = Command::new(exe)
        .arg(&path)
        .arg(gso_size.to_string())
        .arg(if fixed { "1" } else { "0" })
        .arg(format!("{:#x}", m.ol_flags))
        .args(
            [
                m.outer_l2_len.into(),
                m.outer_l3_len,
                m.l2_len.into(),
                m.l3_len,
                m.l4_len.into(),
            ]
            .map(|v: u16| v.to_string()),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "harness failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let count: usize = lines
        .next()
        .and_then(|l| l.strip_prefix("count "))
        .expect("count line")
        .parse()
        .unwrap();
    let segs: Vec<Vec<u8>> = lines
        .filter_map(|l| l.strip_prefix("seg "))
        .map(|h| {
            (0..h.len() / 2)
                .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap())
                .collect()
        })
        .collect();
    assert_eq!(segs.len(), count);
    segs
}

/// Segments `spec` with hnv and with librte_gso and compares them; returns hnv's segments.
fn compare(exe: &PathBuf, spec: &Spec, mss: u16, fixed: bool) -> Vec<Vec<u8>> {
    let mut ours_all = Vec::new();
    let frame = nvgre_frame(spec);
    let req = LsoRequest {
        mss,
        ip_id: if fixed {
            IpIdPolicy::Fixed
        } else {
            IpIdPolicy::Increment
        },
        // RTE_GSO_FLAG_IPID_FIXED fixes the inner ID; the outer one still increments.
        outer_ip_id: IpIdPolicy::Increment,
        id_wrap: IdWrap::Bits16,
        // librte_gso keeps CWR on every segment.
        cwr: CwrPolicy::Every,
    };
    let d = TxOffload::build(
        &frame,
        &TxRequest {
            checksums: hnv_offload::Checksums::ALL,
            lso: Some(req),
        },
        &NicCaps::SOFTWARE,
    )
    .unwrap();
    // A fixed ID has no mbuf field (it is a GSO context flag), so map without it.
    let mut for_mbuf = d;
    for_mbuf.lso = Some(LsoRequest {
        ip_id: IpIdPolicy::Increment,
        ..req
    });
    let theirs = dpdk_segments(exe, &frame, &for_mbuf, fixed);
    let mut out = vec![0u8; output_len(&d)];
    let (ours, _) = segment(&frame, &d, &mut out).unwrap();
    let what = format!("payload {} mss {mss} fixed {fixed}", spec.payload.len());
    assert_eq!(ours.len(), theirs.len(), "segment count, {what}");
    let (o3, i3, l4) = (
        d.outer_l3_offset(),
        d.inner_l3_offset(),
        d.inner_l4_offset(),
    );
    for (k, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(a.len(), b.len(), "length of segment {k}, {what}");
        assert_eq!(
            a[i3 + 4..i3 + 6],
            b[i3 + 4..i3 + 6],
            "inner IP ID of segment {k}, {what}"
        );
        assert_eq!(
            a[l4 + 4..l4 + 8],
            b[l4 + 4..l4 + 8],
            "seq of segment {k}, {what}"
        );
        assert_eq!(a[l4 + 13], b[l4 + 13], "flags of segment {k}, {what}");
        // Everything else but the three checksum fields.
        let mut x = a.to_vec();
        let mut y = b.clone();
        for at in [o3 + 10, i3 + 10, l4 + 16] {
            x[at..at + 2].fill(0);
            y[at..at + 2].fill(0);
        }
        assert_eq!(x, y, "bytes of segment {k} apart from checksums, {what}");
        ours_all.push(a.to_vec());
    }
    ours_all
}

#[test]
fn librte_gso_agrees_on_ipv4_gre_tcp() {
    let exe = match build_harness() {
        Ok(e) => e,
        Err(why) => {
            println!("SKIPPED dpdk_gso: {why}");
            eprintln!("SKIPPED dpdk_gso: {why}");
            return;
        }
    };
    let mut all_ours = Vec::new();
    let cases: Vec<(Spec, u16, bool)> = vec![
        (Spec::default(), 1000, false),
        (
            Spec {
                payload: vec![9; 7001],
                ..Spec::default()
            },
            1448,
            false,
        ),
        (
            Spec {
                payload: vec![1; 4000],
                inner_id: 0xfffe,
                outer_id: 0xfffd,
                ..Spec::default()
            },
            500,
            false,
        ),
        (
            Spec {
                payload: vec![2; 2500],
                flags: 0x80 | 0x40 | 0x10 | 0x08 | 0x01,
                ..Spec::default()
            },
            600,
            false,
        ),
        (
            Spec {
                payload: vec![3; 3333],
                tcp_options: vec![1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2],
                ..Spec::default()
            },
            700,
            false,
        ),
        (
            Spec {
                payload: vec![4; 3000],
                ip_options: vec![1, 1, 1, 0],
                outer_vlan: Some(3),
                ..Spec::default()
            },
            999,
            false,
        ),
        (
            Spec {
                payload: vec![5; 5000],
                seq: u32::MAX - 10,
                ..Spec::default()
            },
            1200,
            true,
        ),
    ];
    for (spec, mss, fixed) in cases {
        all_ours.extend(compare(&exe, &spec, mss, fixed));
    }
    // DPDK leaves checksums stale; ours must be right, per tshark.
    let frames: Vec<&[u8]> = all_ours.iter().map(Vec::as_slice).collect();
    let rows = common::tshark(&frames, &["ip.checksum.status", "tcp.checksum.status"]);
    assert_eq!(rows.len(), frames.len());
    for r in rows {
        assert_eq!(r[0], "1;1", "outer and inner IPv4 header checksums");
        assert_eq!(r[1], "1");
    }
}
