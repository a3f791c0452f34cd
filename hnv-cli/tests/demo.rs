//! The README's first command: `hnv demo` runs without set-up and its pcap holds the wire.

use std::process::Command;

use hnv_core::nvgre;
use hnv_sim::pcap::PcapReader;

#[test]
fn demo_runs_and_writes_a_valid_capture() {
    let dir = std::env::temp_dir().join(format!("hnv-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pcap = dir.join("demo.pcap");
    let out = Command::new(env!("CARGO_BIN_EXE_hnv"))
        .arg("demo")
        .arg("--pcap")
        .arg(&pcap)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("VSID 5001"), "{stdout}");
    assert!(stdout.contains("PASS"), "{stdout}");

    let frames: Vec<_> = PcapReader::new(std::fs::File::open(&pcap).unwrap())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(frames.len(), 3);
    let n = nvgre::inspect(&frames[1].data).unwrap();
    assert_eq!(n.vsid().get(), 5001);
    assert_eq!(&frames[1].data[n.inner_offset()..], &frames[0].data[..]);
    assert_eq!(frames[2].data, frames[0].data);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_usage_is_an_error_not_a_panic() {
    let out = Command::new(env!("CARGO_BIN_EXE_hnv"))
        .arg("no-such-command")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Usage"));
    let out = Command::new(env!("CARGO_BIN_EXE_hnv"))
        .args(["demo", "--pcap", "/nonexistent-dir/x.pcap"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("hnv: error: creating /nonexistent-dir/x.pcap"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}
