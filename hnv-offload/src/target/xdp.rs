//! AF_XDP TX metadata (`struct xsk_tx_metadata`, Linux `xsk-tx-metadata.rst`).
//!
//! The metadata requests one checksum: the sum from `csum_start` to the end of the frame,
//! stored at `csum_start + csum_offset`, with the field pre-filled with the pseudo-header
//! sum. That is exactly the inner TCP/UDP checksum of an NVGRE frame; IP header checksums
//! and segmentation have no field.

use super::{NotExpressible, Reason, Target};
use crate::desc::{Checksums, TxOffload};
use crate::layout::L4Proto;

/// `XDP_TXMD_FLAGS_CHECKSUM`.
pub const XDP_TXMD_FLAGS_CHECKSUM: u64 = 1 << 1;

/// The TX metadata of one AF_XDP descriptor (checksum request only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct XskTxMetadata {
    /// `flags`.
    pub flags: u64,
    /// `request.csum_start`: offset of the inner TCP/UDP header.
    pub csum_start: u16,
    /// `request.csum_offset`: checksum field offset within it (TCP 16, UDP 6).
    pub csum_offset: u16,
}

impl TxOffload {
    /// The AF_XDP TX metadata for this send.
    pub fn to_xsk_tx_metadata(&self) -> Result<XskTxMetadata, NotExpressible> {
        let err = |reason| NotExpressible {
            target: Target::AfXdp,
            reason,
        };
        if self.lso.is_some() {
            return Err(err(Reason::Lso));
        }
        if self.checksums.contains(Checksums::OUTER_IPV4) {
            return Err(err(Reason::OuterIpv4Checksum));
        }
        if self.checksums.contains(Checksums::INNER_IPV4) {
            return Err(err(Reason::InnerIpv4Checksum));
        }
        if !self.checksums.contains(Checksums::INNER_L4) {
            return Ok(XskTxMetadata {
                flags: 0,
                csum_start: 0,
                csum_offset: 0,
            });
        }
        Ok(XskTxMetadata {
            flags: XDP_TXMD_FLAGS_CHECKSUM,
            csum_start: self.inner_l4_offset() as u16,
            csum_offset: match self.inner_l4 {
                Some(L4Proto::Udp) => 6,
                _ => 16,
            },
        })
    }
}
