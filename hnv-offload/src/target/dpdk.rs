//! DPDK: `rte_mbuf` offload lengths and `ol_flags`.
//!
//! Flag values and field widths are those of DPDK's `rte_mbuf_core.h` (checked against the
//! installed header by the librte_gso differential test): for a GRE tunnel `outer_l2_len`
//! and `outer_l3_len` are the outer headers, `l2_len` covers GRE + inner Ethernet, `l3_len`
//! and `l4_len` the inner headers and `tso_segsz` the MSS.

use super::{fit, Field, NotExpressible, Reason, Target};
use crate::desc::{Checksums, TxOffload};
use crate::layout::{IpVersion, L4Proto};

/// `RTE_MBUF_F_TX_TUNNEL_GRE`.
pub const TX_TUNNEL_GRE: u64 = 0x2 << 45;
/// `RTE_MBUF_F_TX_TCP_SEG`.
pub const TX_TCP_SEG: u64 = 1 << 50;
/// `RTE_MBUF_F_TX_TCP_CKSUM`.
pub const TX_TCP_CKSUM: u64 = 1 << 52;
/// `RTE_MBUF_F_TX_UDP_CKSUM`.
pub const TX_UDP_CKSUM: u64 = 3 << 52;
/// `RTE_MBUF_F_TX_IP_CKSUM`.
pub const TX_IP_CKSUM: u64 = 1 << 54;
/// `RTE_MBUF_F_TX_IPV4`.
pub const TX_IPV4: u64 = 1 << 55;
/// `RTE_MBUF_F_TX_IPV6`.
pub const TX_IPV6: u64 = 1 << 56;
/// `RTE_MBUF_F_TX_OUTER_IP_CKSUM`.
pub const TX_OUTER_IP_CKSUM: u64 = 1 << 58;
/// `RTE_MBUF_F_TX_OUTER_IPV4`.
pub const TX_OUTER_IPV4: u64 = 1 << 59;
/// `RTE_MBUF_F_TX_OUTER_IPV6`.
pub const TX_OUTER_IPV6: u64 = 1 << 60;

/// The offload part of an `rte_mbuf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MbufOffload {
    /// `ol_flags` (TX bits only).
    pub ol_flags: u64,
    /// `outer_l2_len` (7 bits).
    pub outer_l2_len: u8,
    /// `outer_l3_len` (9 bits).
    pub outer_l3_len: u16,
    /// `l2_len` (7 bits): GRE header + inner Ethernet header.
    pub l2_len: u8,
    /// `l3_len` (9 bits): inner IP header.
    pub l3_len: u16,
    /// `l4_len` (8 bits): inner TCP header (with options) or UDP header.
    pub l4_len: u8,
    /// `tso_segsz`: MSS, 0 without LSO.
    pub tso_segsz: u16,
}

impl TxOffload {
    /// The `rte_mbuf` offload fields and flags for this send.
    pub fn to_dpdk_mbuf(&self) -> Result<MbufOffload, NotExpressible> {
        const T: Target = Target::DpdkMbuf;
        let outer_l2 = fit(T, Field::OuterL2Len, usize::from(self.outer_l2_len), 7)?;
        let outer_l3 = fit(T, Field::OuterL3Len, usize::from(self.outer_l3_len), 9)?;
        let l2 = fit(
            T,
            Field::L2Len,
            usize::from(self.tunnel_len + self.inner_l2_len),
            7,
        )?;
        let l3 = fit(T, Field::L3Len, usize::from(self.inner_l3_len), 9)?;
        let l4 = fit(T, Field::L4Len, usize::from(self.inner_l4_len), 8)?;
        if matches!(self.lso, Some(l) if l.any_fixed_id()) {
            return Err(NotExpressible {
                target: T,
                reason: Reason::FixedIpId,
            });
        }
        let mut f = TX_TUNNEL_GRE;
        f |= match self.outer_ip {
            IpVersion::V4 => TX_OUTER_IPV4,
            IpVersion::V6 => TX_OUTER_IPV6,
        };
        f |= match self.inner_ip {
            IpVersion::V4 => TX_IPV4,
            IpVersion::V6 => TX_IPV6,
        };
        if self.checksums.contains(Checksums::OUTER_IPV4) {
            f |= TX_OUTER_IP_CKSUM;
        }
        if self.checksums.contains(Checksums::INNER_IPV4) {
            f |= TX_IP_CKSUM;
        }
        if self.checksums.contains(Checksums::INNER_L4) {
            f |= match self.inner_l4 {
                Some(L4Proto::Udp) => TX_UDP_CKSUM,
                _ => TX_TCP_CKSUM,
            };
        }
        if self.lso.is_some() {
            f |= TX_TCP_SEG;
        }
        Ok(MbufOffload {
            ol_flags: f,
            outer_l2_len: outer_l2 as u8,
            outer_l3_len: outer_l3 as u16,
            l2_len: l2 as u8,
            l3_len: l3 as u16,
            l4_len: l4 as u8,
            tso_segsz: self.lso.map_or(0, |l| l.mss),
        })
    }
}
