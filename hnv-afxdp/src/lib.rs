//! # hnv-afxdp
//!
//! hnv's data plane on Linux: an AF_XDP uplink (one socket per queue, UMEM frames with
//! headroom so NVGRE encapsulation happens in place), VM ports as AF_XDP on veth or as TAP
//! devices with `IFF_VNET_HDR`, worker threads that run the hnv-core switch over batches,
//! and a control thread that resolves provider next hops and applies policy updates.
//!
//! This crate is at its start: it builds and links hnv-core and hnv-offload; the ports and
//! workers come with the Linux backend work.

/// The crate name, for diagnostics.
pub const NAME: &str = "hnv-afxdp";
