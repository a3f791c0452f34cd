//! # hnv-afxdp
//!
//! hnv's data plane on Linux. Devices implement [`Port`]: [`XdpPort`] is an AF_XDP socket
//! on one queue of an interface (the uplink, or the host end of a VM's veth), in copy
//! mode with the XDP program attached natively or generically; [`TapPort`] is a TAP
//! device with a virtio-net header (`IFF_VNET_HDR`), completing partial checksums. A
//! [`Worker`] polls an uplink and the VM ports on one thread, runs the hnv-core switch
//! over each batch and executes its verdicts.
//!
//! Frames are received into preallocated [`Frame`]s with [`HEADROOM`] bytes in front,
//! so NVGRE encapsulation happens in place; nothing is allocated per packet.
//!
//! Not yet here: several workers with software RSS, a control thread (provider ARP/ND
//! resolution, live policy updates), GSO super-frames from TAP ports (counted and
//! dropped: `rx_gso_dropped`).

mod frame;
mod port;
mod sys;
mod tap;
pub mod vnet;
mod worker;
mod xdp;

pub use frame::{Frame, FRAME_CAPACITY, HEADROOM};
pub use port::{FrameAccount, Port, PortCounters, PortError};
pub use sys::if_index;
pub use tap::TapPort;
pub use worker::{EventCounts, Report, Worker, WorkerCounters, BATCH};
pub use xdp::{XdpConfig, XdpMode, XdpPort};

/// The crate name, for diagnostics.
pub const NAME: &str = "hnv-afxdp";
