//! # hnv-offload
//!
//! NVGRE task offload for hnv (`#![no_std]`): how hnv describes checksum, large-send
//! (LSO) and receive-side-scaling work on the **inner** headers of NVGRE packets to a NIC
//! (NDIS-style encapsulated-packet offsets, DPDK mbuf fields, AF_XDP TX metadata and
//! virtio-net headers), the capabilities a device reports, and a byte-exact software NIC
//! that performs the same work where hardware cannot.
//!
//! This crate is at its start: it builds, is `no_std`, and depends on `hnv-core` for the
//! wire views. The descriptors and the software NIC come next.
#![no_std]

/// The crate name, for diagnostics.
pub const NAME: &str = "hnv-offload";
