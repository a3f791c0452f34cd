//! A [`TxOffload`](crate::TxOffload) in the terms of a NIC interface.
//!
//! | target | module | can express |
//! |---|---|---|
//! | NDIS (Windows) | [`ndis`] | encapsulated offsets, all three checksums (both IPv4 header checksums together), LSOv2 |
//! | DPDK `rte_mbuf` | [`dpdk`] | everything, within the bit widths of the length fields |
//! | AF_XDP TX metadata | [`xdp`] | one transport checksum (`csum_start`/`csum_offset`) |
//! | virtio-net header | [`virtio`] | one transport checksum; no GRE segmentation |
//!
//! What a target cannot carry is a [`NotExpressible`] error naming the target and the
//! reason; nothing is dropped silently. The IPv4-ID wrap and CWR policies of an LSO request
//! have no field in any of these interfaces: the hardware applies its own rule (see
//! `docs/offload.md`); a fixed-ID request, which changes the wire bytes and has no field
//! either, is refused.

pub mod dpdk;
pub mod ndis;
pub mod virtio;
pub mod xdp;

use core::fmt;

/// The interface a descriptor is converted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// NDIS out-of-band send information.
    Ndis,
    /// DPDK `rte_mbuf` offload fields and flags.
    DpdkMbuf,
    /// AF_XDP TX metadata (`struct xsk_tx_metadata`).
    AfXdp,
    /// The virtio-net header (`struct virtio_net_hdr`).
    VirtioNet,
}

/// A length or offset field of a target interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// NDIS `InnerFrameOffset` (8 bits).
    InnerFrameOffset,
    /// NDIS `TransportIpHeaderRelativeOffset` (6 bits).
    TransportIpHeaderRelativeOffset,
    /// NDIS `TcpHeaderRelativeOffset` (10 bits).
    TcpHeaderRelativeOffset,
    /// DPDK `outer_l2_len` (7 bits).
    OuterL2Len,
    /// DPDK `outer_l3_len` (9 bits).
    OuterL3Len,
    /// DPDK `l2_len` (7 bits).
    L2Len,
    /// DPDK `l3_len` (9 bits).
    L3Len,
    /// DPDK `l4_len` (8 bits).
    L4Len,
}

/// What a target cannot carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Segmentation of a GRE-encapsulated TCP send.
    Lso,
    /// The outer IPv4 header checksum.
    OuterIpv4Checksum,
    /// The inner IPv4 header checksum.
    InnerIpv4Checksum,
    /// Only one of the outer and inner IPv4 header checksums (NDIS computes both or none).
    SeparateIpChecksums,
    /// A fixed IPv4 identification across segments.
    FixedIpId,
    /// A value does not fit a field.
    FieldTooWide {
        /// The field.
        field: Field,
        /// The value.
        value: usize,
        /// The largest value the field holds.
        max: usize,
    },
}

/// A descriptor asks for something a target interface cannot carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NotExpressible {
    /// The interface.
    pub target: Target,
    /// What it cannot carry.
    pub reason: Reason,
}

impl fmt::Display for NotExpressible {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not expressible for {:?}: ", self.target)?;
        match self.reason {
            Reason::Lso => f.write_str("segmentation of GRE-encapsulated TCP"),
            Reason::OuterIpv4Checksum => f.write_str("outer IPv4 header checksum"),
            Reason::InnerIpv4Checksum => f.write_str("inner IPv4 header checksum"),
            Reason::SeparateIpChecksums => {
                f.write_str("only one of the outer and inner IPv4 header checksums")
            }
            Reason::FixedIpId => f.write_str("fixed IPv4 identification across segments"),
            Reason::FieldTooWide { field, value, max } => {
                write!(f, "{field:?} = {value} exceeds {max}")
            }
        }
    }
}

/// `value` if it fits `bits` bits, else the error for `field`.
pub(crate) fn fit(
    target: Target,
    field: Field,
    value: usize,
    bits: u32,
) -> Result<usize, NotExpressible> {
    let max = (1usize << bits) - 1;
    if value > max {
        return Err(NotExpressible {
            target,
            reason: Reason::FieldTooWide { field, value, max },
        });
    }
    Ok(value)
}
