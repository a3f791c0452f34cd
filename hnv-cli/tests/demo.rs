//! The README's first command: `hnv demo` runs every seed scenario without set-up, and the
//! wire it writes is NVGRE (or IP-rewritten IPv4) that tshark, an independent decoder,
//! reads with every checksum good.

use std::path::Path;
use std::process::{Command, Output};

use hnv_sim::pcap::PcapReader;

const SCENARIOS: [&str; 8] = [
    "fig-1-7",
    "fig-1-8",
    "fig-1-9",
    "fig-1-10",
    "fig-1-11",
    "ip-rewrite",
    "gateway",
    "isolation",
];

fn hnv(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hnv"))
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("hnv-demo-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// tshark's fields for every frame of `pcap`, checksum checking on (`hnv_sim::tshark`).
fn tshark_fields(pcap: &Path, fields: &[&str]) -> Vec<Vec<String>> {
    hnv_sim::tshark::fields(pcap, fields).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_scenario_passes_and_the_wire_passes_tshark() {
    let dir = temp_dir("all");
    let pcap = dir.join("demo.pcap");
    let out = hnv(&["demo", "--pcap", pcap.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    // The summary table has one PASS row per scenario, and nothing failed.
    for s in SCENARIOS {
        let row = stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(s))
            .unwrap_or_else(|| panic!("no summary row for {s}:\n{stdout}"));
        assert!(row.ends_with("PASS"), "{row}");
    }
    assert!(!stdout.contains("FAILED"), "{stdout}");
    // Each step is narrated: the decision, the record and the decoded wire.
    for needle in [
        "HostA decides:",
        "lookup record: CA 10.0.0.7, VSID 5001, MAC 00-15-5D-00-00-02, PA 192.168.4.22 (remote)",
        "GRE       flags+version 0x2000, protocol 0x6558",
        "key 0x001771",
        "learned a Dynamic lookup record: CA 10.0.0.7, VSID 5001",
        "=> dropped: no_lookup_record",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?}:\n{stdout}");
    }

    let frames: Vec<_> = PcapReader::new(std::fs::File::open(&pcap).unwrap())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        stdout.contains(&format!("wrote {} wire frames", frames.len())),
        "{stdout}"
    );
    let rows = tshark_fields(
        &pcap,
        &[
            "gre.flags_and_version",
            "gre.proto",
            "gre.key",
            "ip.checksum.status",
            "udp.checksum.status",
            "icmp.checksum.status",
            "ip.proto",
        ],
    );
    assert_eq!(rows.len(), frames.len());
    let (mut nvgre, mut rewritten) = (0, 0);
    for (row, frame) in rows.iter().zip(&frames) {
        for col in 3..6 {
            assert!(
                row[col].split(';').all(|s| s.is_empty() || s == "1"),
                "checksum not good: {row:?}"
            );
        }
        if row[6].starts_with("47") {
            nvgre += 1;
            assert_eq!((row[0].as_str(), row[1].as_str()), ("0x2000", "0x6558"));
            let key = u32::from_be_bytes(frame.data[38..42].try_into().unwrap());
            assert_eq!(row[2], format!("0x{key:08x}"));
            assert!(
                [5001, 6001].contains(&(key >> 8)),
                "Contoso's VSIDs only: {row:?}"
            );
        } else {
            rewritten += 1;
            assert!(row[0].is_empty(), "IP rewrite carries no GRE: {row:?}");
        }
    }
    assert!(nvgre >= 10, "{nvgre} NVGRE frames");
    assert_eq!(rewritten, 2, "the IP-rewrite ping and its reply");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn one_scenario_writes_only_its_wire() {
    let dir = temp_dir("one");
    let pcap = dir.join("fig-1-9.pcap");
    let out = hnv(&[
        "demo",
        "--scenario",
        "fig-1-9",
        "--pcap",
        pcap.to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("== fig-1-9:"), "{stdout}");
    assert!(!stdout.contains("== fig-1-7:"), "{stdout}");
    let frames: Vec<_> = PcapReader::new(std::fs::File::open(&pcap).unwrap())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    // The ping, the UDP datagram, the echo reply: NVGRE with VSID 5001, nothing else.
    assert_eq!(frames.len(), 3);
    for f in &frames {
        let n = hnv_core::nvgre::inspect(&f.data).unwrap();
        assert_eq!(n.vsid().get(), 5001);
    }
    // --quiet prints the table only.
    let quiet = text(&hnv(&["demo", "-q", "--scenario", "fig-1-9"]).stdout);
    assert_eq!(quiet.lines().count(), 2, "{quiet}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_usage_is_an_error_not_a_panic() {
    let out = hnv(&["no-such-command"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("Usage"));
    let out = hnv(&["demo", "--scenario", "fig-9-9"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("possible values: fig-1-7"),
        "{}",
        text(&out.stderr)
    );
    let out = hnv(&["demo", "--pcap", "/nonexistent-dir/x.pcap"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("hnv: error: creating /nonexistent-dir/x.pcap"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.stdout.is_empty(), "nothing printed before the error");
}
