//! The software NIC: executes [`TxOffload`] descriptors and the receive-side offloads
//! byte-exactly, without allocation.
//!
//! * [`csum`] — checksum offload (outer IPv4, inner IPv4, inner TCP/UDP) with the sender's
//!   seed checked.
//! * [`lso`] — large send offload into a caller's buffer.
//! * [`rss`] — Toeplitz hash, NVGRE hash-type selection, indirection table.
//! * [`vmq`] — inner destination MAC (+ VLAN, + VSID) steering.
//! * [`rx`] — receive checksum validation flags.

pub mod csum;
pub mod lso;
pub mod rss;
pub mod rx;
pub mod vmq;

use core::fmt;

use crate::caps::{NicCaps, OffloadCaps};
use crate::desc::{DescError, TxOffload};
use csum::{ChecksumMode, ChecksumReport, SeedCheck};
use lso::Segments;
use rss::{Rss, RssResult, MS_VERIFICATION_KEY};
use rx::RxChecksum;
use vmq::Vmq;

/// Why the software NIC did not execute a descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExecError {
    /// The descriptor does not fit the NIC's capabilities.
    Desc(DescError),
    /// The descriptor does not describe this frame (lengths or offsets outside it).
    FrameMismatch,
    /// LSO was called with a descriptor without LSO.
    NotLso,
    /// The output buffer is too small.
    OutputTooSmall {
        /// Bytes needed.
        needed: usize,
    },
}

impl fmt::Display for ExecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Desc(e) => write!(f, "descriptor: {e}"),
            Self::FrameMismatch => f.write_str("descriptor does not describe this frame"),
            Self::NotLso => f.write_str("descriptor does not ask for LSO"),
            Self::OutputTooSmall { needed } => write!(f, "output buffer needs {needed} bytes"),
        }
    }
}

impl From<DescError> for ExecError {
    fn from(e: DescError) -> Self {
        Self::Desc(e)
    }
}

/// A NIC in software: capabilities, RSS configuration, VMQ filters (`VMQ` slots) and the
/// checksum mode.
#[derive(Debug, Clone)]
pub struct SoftNic<const VMQ: usize = 16> {
    /// What this NIC offers; descriptors are validated against it.
    pub caps: NicCaps,
    /// RSS configuration.
    pub rss: Rss,
    /// VMQ filters.
    pub vmq: Vmq<VMQ>,
    /// How transport checksums are computed.
    pub mode: ChecksumMode,
}

impl<const VMQ: usize> SoftNic<VMQ> {
    /// A NIC with `caps`, RSS with the Microsoft verification key over every hash type
    /// `caps` enables and `queues` queues, no VMQ filter, hardware checksum mode.
    pub fn new(caps: NicCaps, queues: u16) -> Self {
        let types = caps.offloads & (OffloadCaps::ALL_RSS_TYPES | OffloadCaps::RSS_INNER);
        Self {
            caps,
            rss: Rss::new(&MS_VERIFICATION_KEY, types, queues),
            vmq: Vmq::new(),
            mode: ChecksumMode::Hardware,
        }
    }

    /// Fills the checksums `d` asks for in `frame`, after validating `d` against the caps.
    pub fn checksum(&self, frame: &mut [u8], d: &TxOffload) -> Result<ChecksumReport, ExecError> {
        d.validate(&self.caps)?;
        csum::fill_checksums(frame, d, self.mode)
    }

    /// Segments `frame` into `out` as `d` asks, after validating `d` against the caps.
    pub fn segment<'o>(
        &self,
        frame: &[u8],
        d: &TxOffload,
        out: &'o mut [u8],
    ) -> Result<(Segments<'o>, SeedCheck), ExecError> {
        d.validate(&self.caps)?;
        lso::segment(frame, d, out)
    }

    /// RSS hash and queue of a received frame (inner headers only if the caps allow).
    pub fn rss(&self, frame: &[u8]) -> RssResult {
        self.rss.classify(frame)
    }

    /// VMQ queue of a received frame, `None` for the default queue (or without VMQ).
    pub fn vmq(&self, frame: &[u8]) -> Option<u16> {
        if !self.caps.offloads.contains(OffloadCaps::VMQ) {
            return None;
        }
        self.vmq.steer(frame)
    }

    /// Receive checksum flags of a frame.
    pub fn rx_checksums(&self, frame: &[u8]) -> RxChecksum {
        rx::rx_checksums(frame)
    }
}
