//! Captures read back by tshark (Wireshark's command-line decoder), an oracle independent
//! of hnv's own parsers: one row per frame, one column per requested field, with checksum
//! verification turned on for IPv4, TCP and UDP (ICMP is always verified), so the
//! `*.checksum.status` fields say 1 (good) or 0 (bad).
//!
//! Multiple occurrences of a field in one frame (outer and inner IPv4, say) are joined with
//! `;` in its column. tshark comes from the Debian package `tshark` (installed by
//! `scripts/test`).

use std::fmt;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::pcap::PcapWriter;

/// Why tshark gave no fields.
#[derive(Debug)]
pub enum TsharkError {
    /// tshark could not be started (not installed?).
    NotRunnable(io::Error),
    /// tshark ran and failed; its standard error.
    Failed(String),
    /// Writing the temporary capture failed.
    Capture(io::Error),
}

impl fmt::Display for TsharkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotRunnable(e) => write!(
                f,
                "tshark cannot be run ({e}); install the Debian package tshark (scripts/test does)"
            ),
            Self::Failed(stderr) => write!(f, "tshark failed: {stderr}"),
            Self::Capture(e) => write!(f, "writing the capture for tshark: {e}"),
        }
    }
}

impl std::error::Error for TsharkError {}

/// The `fields` of every frame of the capture at `pcap`, one row per frame.
pub fn fields(pcap: &Path, fields: &[&str]) -> Result<Vec<Vec<String>>, TsharkError> {
    let mut cmd = Command::new("tshark");
    cmd.args(["-n", "-r"]).arg(pcap);
    for pref in [
        "ip.check_checksum:TRUE",
        "tcp.check_checksum:TRUE",
        "udp.check_checksum:TRUE",
    ] {
        cmd.args(["-o", pref]);
    }
    cmd.args(["-T", "fields", "-E", "occurrence=a", "-E", "aggregator=;"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().map_err(TsharkError::NotRunnable)?;
    if !out.status.success() {
        return Err(TsharkError::Failed(
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect())
}

/// [`fields`] of `frames`, written to a temporary pcap first (removed afterwards).
pub fn frame_fields(frames: &[&[u8]], fields: &[&str]) -> Result<Vec<Vec<String>>, TsharkError> {
    let dir = TempDir::new().map_err(TsharkError::Capture)?;
    let path = dir.0.join("frames.pcap");
    let file = std::fs::File::create(&path).map_err(TsharkError::Capture)?;
    let mut w = PcapWriter::new(BufWriter::new(file)).map_err(TsharkError::Capture)?;
    for (i, f) in frames.iter().enumerate() {
        let secs = u32::try_from(i).unwrap_or(u32::MAX);
        w.write_frame(secs, 0, f).map_err(TsharkError::Capture)?;
    }
    w.into_inner().map_err(TsharkError::Capture)?;
    self::fields(&path, fields)
}

/// A fresh directory under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> io::Result<Self> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "hnv-tshark-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
