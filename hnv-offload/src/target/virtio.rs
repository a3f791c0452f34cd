//! The virtio-net header (`struct virtio_net_hdr`, Linux `virtio_net.h`).
//!
//! `VIRTIO_NET_HDR_F_NEEDS_CSUM` with `csum_start`/`csum_offset` carries one transport
//! checksum. The GSO types (`TCPV4`, `TCPV6`, `UDP`) segment plain TCP/UDP over IP; none
//! segments TCP inside GRE, and there is no IP header checksum request.

use super::{NotExpressible, Reason, Target};
use crate::desc::{Checksums, TxOffload};
use crate::layout::L4Proto;

/// `VIRTIO_NET_HDR_F_NEEDS_CSUM`: the checksum at `csum_start + csum_offset` holds only
/// the pseudo-header sum; the sum over `csum_start..` must still be folded in.
pub const F_NEEDS_CSUM: u8 = 1;
/// `VIRTIO_NET_HDR_F_DATA_VALID`: the receiver may trust the checksums.
pub const F_DATA_VALID: u8 = 2;
/// `VIRTIO_NET_HDR_GSO_NONE`.
pub const GSO_NONE: u8 = 0;
/// `VIRTIO_NET_HDR_GSO_TCPV4`: TCP segmentation over IPv4.
pub const GSO_TCPV4: u8 = 1;
/// `VIRTIO_NET_HDR_GSO_UDP`: UDP fragmentation (UFO).
pub const GSO_UDP: u8 = 3;
/// `VIRTIO_NET_HDR_GSO_TCPV6`: TCP segmentation over IPv6.
pub const GSO_TCPV6: u8 = 4;
/// `VIRTIO_NET_HDR_GSO_UDP_L4`: UDP segmentation (USO).
pub const GSO_UDP_L4: u8 = 5;
/// `VIRTIO_NET_HDR_GSO_ECN`, a flag on top of the GSO type: CWR on the first segment only.
pub const GSO_ECN: u8 = 0x80;

/// `struct virtio_net_hdr` (10 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct VirtioNetHdr {
    /// `flags`.
    pub flags: u8,
    /// `gso_type`.
    pub gso_type: u8,
    /// `hdr_len`: length of the headers before the transport payload.
    pub hdr_len: u16,
    /// `gso_size`: payload bytes per segment of a GSO frame; 0 otherwise.
    pub gso_size: u16,
    /// `csum_start`: offset of the inner TCP/UDP header.
    pub csum_start: u16,
    /// `csum_offset`: checksum field offset within it.
    pub csum_offset: u16,
}

impl VirtioNetHdr {
    /// Length of the header (without the `num_buffers` field of mergeable buffers).
    pub const LEN: usize = 10;

    /// The header in the first [`Self::LEN`] bytes of `b` (little-endian fields, as a
    /// virtio 1.0 device or a TAP device with `IFF_VNET_HDR` writes it); `None` when `b`
    /// is shorter.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        let &[flags, gso_type, h0, h1, g0, g1, s0, s1, o0, o1, ..] = b else {
            return None;
        };
        Some(Self {
            flags,
            gso_type,
            hdr_len: u16::from_le_bytes([h0, h1]),
            gso_size: u16::from_le_bytes([g0, g1]),
            csum_start: u16::from_le_bytes([s0, s1]),
            csum_offset: u16::from_le_bytes([o0, o1]),
        })
    }

    /// The header as a virtio 1.0 device reads it (little-endian fields).
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[0] = self.flags;
        b[1] = self.gso_type;
        b[2..4].copy_from_slice(&self.hdr_len.to_le_bytes());
        b[4..6].copy_from_slice(&self.gso_size.to_le_bytes());
        b[6..8].copy_from_slice(&self.csum_start.to_le_bytes());
        b[8..10].copy_from_slice(&self.csum_offset.to_le_bytes());
        b
    }
}

impl TxOffload {
    /// The virtio-net header for this send.
    pub fn to_virtio_net_hdr(&self) -> Result<VirtioNetHdr, NotExpressible> {
        let err = |reason| NotExpressible {
            target: Target::VirtioNet,
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
        let l4 = self.checksums.contains(Checksums::INNER_L4);
        Ok(VirtioNetHdr {
            flags: if l4 { F_NEEDS_CSUM } else { 0 },
            gso_type: GSO_NONE,
            hdr_len: self.header_len() as u16,
            gso_size: 0,
            csum_start: if l4 { self.inner_l4_offset() as u16 } else { 0 },
            csum_offset: match (l4, self.inner_l4) {
                (false, _) => 0,
                (true, Some(L4Proto::Udp)) => 6,
                (true, _) => 16,
            },
        })
    }
}
