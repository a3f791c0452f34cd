//! The [`Port`] trait: what the worker needs from a device — receive a batch of frames,
//! transmit a batch, counters, typed errors.

use std::fmt;
use std::io;
use std::os::fd::RawFd;

use crate::frame::{Frame, FrameGso};

/// Counters of one port. Every field counts frames unless its name says bytes; fields a
/// kind of port never uses stay 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortCounters {
    /// Frames received and handed to the caller.
    pub rx_frames: u64,
    /// Bytes of those frames.
    pub rx_bytes: u64,
    /// Frames queued for transmission.
    pub tx_frames: u64,
    /// TAP: GSO super-frames written whole with a GSO header ([`Port::send_gso`]; also in
    /// `tx_frames`).
    pub tx_gso_frames: u64,
    /// Bytes of those frames.
    pub tx_bytes: u64,
    /// Received frames longer than the frame they were received into (dropped):
    /// [`crate::FRAME_CAPACITY`], or [`crate::GSO_FRAME_CAPACITY`] on a TAP port.
    pub rx_oversized: u64,
    /// Received frames too short or with a malformed header (dropped).
    pub rx_malformed: u64,
    /// TAP: GSO super-frames received and handed over (also in `rx_frames`), each
    /// marked with its segmentation ([`Frame::gso`]).
    pub rx_gso_frames: u64,
    /// TAP: GSO super-frames refused (dropped): UDP GSO (not announced, not segmented),
    /// an unknown GSO type or a `gso_size` of 0.
    pub rx_gso_dropped: u64,
    /// TAP: partial checksums completed in software (`NEEDS_CSUM`).
    pub rx_csum_completed: u64,
    /// Frames not sent because the transmit ring (or the device) was full.
    pub tx_ring_full: u64,
    /// AF_XDP: frames not sent because no UMEM frame was free.
    pub tx_no_frame: u64,
    /// Frames not sent because they are longer than the port can carry.
    pub tx_oversized: u64,
    /// Frames the device refused with another error.
    pub tx_errors: u64,
    /// AF_XDP: frames the kernel dropped before the socket (its `rx_dropped`,
    /// `rx_ring_full` and fill-ring-empty statistics).
    pub rx_kernel_dropped: u64,
}

impl PortCounters {
    /// Frames this port failed to send, whatever the reason.
    pub fn tx_dropped(&self) -> u64 {
        self.tx_ring_full + self.tx_no_frame + self.tx_oversized + self.tx_errors
    }

    /// Frames this port received but did not hand over, whatever the reason.
    pub fn rx_dropped(&self) -> u64 {
        self.rx_oversized + self.rx_malformed + self.rx_gso_dropped + self.rx_kernel_dropped
    }
}

/// Where the UMEM frames of an AF_XDP port are. Every frame is in exactly one place, so
/// `free + fill + tx == total` always; anything else is a leak (or a double use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameAccount {
    /// Frames of the UMEM.
    pub total: u32,
    /// On the port's own free list.
    pub free: u32,
    /// Given to the kernel on the fill ring, not yet received.
    pub fill: u32,
    /// Given to the kernel on the TX ring, not yet completed.
    pub tx: u32,
}

impl FrameAccount {
    /// True when every frame is accounted for.
    pub fn balanced(&self) -> bool {
        u64::from(self.free) + u64::from(self.fill) + u64::from(self.tx) == u64::from(self.total)
    }
}

impl fmt::Display for FrameAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "total {} = free {} + fill {} + tx {} ({})",
            self.total,
            self.free,
            self.fill,
            self.tx,
            if self.balanced() { "ok" } else { "LEAK" }
        )
    }
}

/// Why a port could not be opened or used.
#[derive(Debug)]
pub enum PortError {
    /// The interface name is empty, too long or contains NUL.
    BadName(String),
    /// The interface does not exist in this network namespace.
    NoSuchInterface(String),
    /// The UMEM could not be created.
    Umem(String),
    /// The AF_XDP socket could not be created or bound (after `attempts` tries when the
    /// queue stayed busy).
    Bind {
        /// Interface.
        interface: String,
        /// Queue.
        queue: u32,
        /// Tries made.
        attempts: u32,
        /// What failed.
        reason: String,
        /// The OS error, when there is one.
        source: Option<io::Error>,
    },
    /// A TAP set-up step failed.
    Tap {
        /// Interface.
        interface: String,
        /// The step (`open /dev/net/tun`, `TUNSETIFF`, …).
        step: &'static str,
        /// The OS error.
        source: io::Error,
    },
    /// Reading from or writing to the device failed.
    Io(io::Error),
}

impl fmt::Display for PortError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadName(n) => write!(f, "invalid interface name {n:?}"),
            Self::NoSuchInterface(n) => {
                write!(f, "no interface {n:?} in this network namespace")
            }
            Self::Umem(e) => write!(f, "creating the UMEM: {e}"),
            Self::Bind {
                interface,
                queue,
                attempts,
                reason,
                source,
            } => {
                write!(
                    f,
                    "AF_XDP socket on {interface} queue {queue} ({attempts} attempts): {reason}"
                )?;
                if let Some(e) = source {
                    write!(f, ": {e}")?;
                }
                Ok(())
            }
            Self::Tap {
                interface,
                step,
                source,
            } => write!(f, "TAP {interface}: {step}: {source}"),
            Self::Io(e) => write!(f, "device I/O: {e}"),
        }
    }
}

impl std::error::Error for PortError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Bind {
                source: Some(e), ..
            }
            | Self::Tap { source: e, .. }
            | Self::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// A device the worker polls: a batch in, frames out, counters.
///
/// Transmission is batched: [`Port::send`] queues one frame (a copy), [`Port::flush`]
/// hands everything queued since the last flush to the device. Neither blocks: a full
/// ring is a counted drop ([`PortCounters::tx_ring_full`]).
pub trait Port: Send {
    /// The interface name.
    fn name(&self) -> &str;

    /// What kind of port this is (`af_xdp`, `tap`), for reports.
    fn kind(&self) -> &'static str;

    /// Receives up to `frames.len()` frames without blocking into `frames[..n]`, each
    /// after [`crate::HEADROOM`] bytes of headroom; returns `n`.
    fn recv(&mut self, frames: &mut [Frame]) -> Result<usize, PortError>;

    /// Queues a copy of `frame` for transmission; `false` when it was dropped (counted).
    fn send(&mut self, frame: &[u8]) -> bool;

    /// Queues a copy of the GSO super-frame `frame` whole, with its segmentation, for a
    /// device whose other side takes super-frames (a TAP device: the VM's virtio-net
    /// driver). `None` (nothing counted, nothing sent) from a port that cannot: the
    /// caller segments the frame and [`Port::send`]s the segments. `Some(false)` when it
    /// was dropped (counted). The default is `None`; AF_XDP ports keep it.
    fn send_gso(&mut self, frame: &[u8], gso: FrameGso) -> Option<bool> {
        let _ = (frame, gso);
        None
    }

    /// Hands the queued frames to the device and reclaims finished ones.
    fn flush(&mut self) -> Result<(), PortError>;

    /// The counters so far.
    fn counters(&self) -> PortCounters;

    /// A descriptor that polls readable when frames are waiting.
    fn poll_fd(&self) -> RawFd;

    /// The capacity of the frames this port should be given to receive into: a caller
    /// that keeps its own receive buffers (a dispatcher's pools) allocates them this
    /// large. [`crate::FRAME_CAPACITY`] by default; a TAP port receives GSO super-frames
    /// ([`crate::GSO_FRAME_CAPACITY`]; it exchanges small frames for large ones of its own
    /// while it has spares).
    fn rx_frame_capacity(&self) -> usize {
        crate::FRAME_CAPACITY
    }

    /// AF_XDP: where the UMEM frames are; `None` for ports without a UMEM.
    fn frames(&self) -> Option<FrameAccount> {
        None
    }

    /// Waits (at most `timeout`) for frames still being transmitted to complete, so that
    /// the accounting is final. Ports that transmit synchronously return at once.
    fn drain(&mut self, timeout: std::time::Duration) {
        let _ = timeout;
    }
}
