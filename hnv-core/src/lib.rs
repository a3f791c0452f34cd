//! # hnv-core
//!
//! The data plane of Hyper-V Network Virtualization (HNV) as an embeddable library:
//! NVGRE (RFC 7637) framing over zero-copy wire views, HNV policy and the lookup tables
//! the data path reads — what a vswitch, gateway or SmartNIC firmware links.
//!
//! `#![no_std]`, no allocation per packet, no panics on any input bytes: every parser
//! returns a typed error, every data-path refusal a [`DropReason`].
//!
//! * [`wire`] — checked views of Ethernet, ARP, IPv4, IPv6, ICMPv4/v6, GRE, TCP, UDP and
//!   the Internet checksum.
//! * [`ids`] — [`ids::Vsid`], [`ids::FlowId`], [`ids::MacAddr`].
//! * [`buf`] — [`buf::PacketBuf`], a frame with headroom so encapsulation never moves the
//!   payload.
//! * [`nvgre`] — [`nvgre::encap`] and [`nvgre::decap`].
//! * [`policy`] — the `New-NetVirtualization*` records, validation, the JSON policy file
//!   (`std`), per-host compiled tables and next-hop selection (`alloc`).
//! * [`table`] — exact-match maps and longest-prefix match, fixed-capacity and growable.
//! * `live` (`std`) — snapshot swapping so policy updates never stop readers.
#![no_std]
#![cfg_attr(
    not(test),
    warn(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]

#[cfg(feature = "alloc")]
#[allow(unused_extern_crates)]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod buf;
mod drop_reason;
pub mod ids;
#[cfg(feature = "std")]
pub mod live;
pub mod nvgre;
pub mod policy;
pub mod switch;
pub mod table;
pub mod wire;

pub use drop_reason::DropReason;

/// The README's embedding example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
