//! # hnv-afxdp
//!
//! hnv's data plane on Linux. Devices implement [`Port`]: [`XdpPort`] is an AF_XDP socket
//! on one queue of an interface (the uplink, or the host end of a VM's veth), in copy
//! mode with the XDP program attached natively or generically; [`TapPort`] is a TAP
//! device with a virtio-net header (`IFF_VNET_HDR`), completing partial checksums and
//! taking TCP GSO super-frames (TSO announced to the VM). A [`Worker`] polls an uplink
//! and the VM ports on one thread, runs the hnv-core switch over each batch and executes
//! its verdicts; its [`Segmenter`] cuts super-frames into segments on the way out
//! (hnv-offload's software LSO for NVGRE; see [`Frame`] for the large frames). A
//! [`Host`] runs a host on its threads: a [`Control`] thread (provider ARP/ND resolution,
//! learned records shared between workers, policy reloads, link state) and either one
//! worker owning every device or a [`Dispatcher`] spreading single-queue devices over
//! several workers by software RSS on the inner headers ([`Spread`]), each worker over
//! [`ChannelPort`]s.
//!
//! Frames are received into preallocated [`Frame`]s with [`HEADROOM`] bytes in front,
//! so NVGRE encapsulation happens in place; nothing is allocated per packet.

pub mod chan;
pub mod control;
mod frame;
mod gso;
pub mod host;
mod port;
pub mod rss;
pub mod shared;
mod sys;
mod tap;
pub mod vnet;
mod worker;
mod xdp;

pub use chan::{ChannelPort, DispatchCounters, Dispatcher, Wake, WorkerPorts, CHANNEL_DEPTH};
pub use control::{
    arp_request, neighbor_solicitation, snoop, Control, ControlCounters, ControlMsg, CtlFrame,
    Events, ReloadFn, UplinkSnoop,
};
pub use frame::{Frame, FrameGso, GsoKind, FRAME_CAPACITY, GSO_FRAME_CAPACITY, HEADROOM};
pub use gso::{GsoCounters, GsoError, Segmenter, MAX_SEGMENTS};
pub use host::{signal_flags, Finished, Host, MAX_WORKERS};
pub use port::{FrameAccount, Port, PortCounters, PortError};
pub use rss::Spread;
pub use shared::{LearnedRecords, LiveTables, SharedTables};
pub use sys::{advise_huge_pages, if_index};
pub use tap::{TapPort, LARGE_FRAMES, TAP_OFFLOADS};
pub use worker::{EventCounts, Report, Worker, WorkerCounters, BATCH};
pub use xdp::{XdpConfig, XdpMode, XdpPort};

/// The crate name, for diagnostics.
pub const NAME: &str = "hnv-afxdp";
