//! NDIS: the out-of-band information of an encapsulated send.
//!
//! Field names and widths follow the NDIS documentation of
//! `NDIS_TCP_SEND_OFFLOADS_SUPPLEMENTAL_NET_BUFFER_LIST_INFO` (IsEncapsulatedPacket 1 bit,
//! EncapsulatedPacketOffsetsValid 1, InnerFrameOffset 8, TransportIpHeaderRelativeOffset 6,
//! TcpHeaderRelativeOffset 10, IsInnerIPv6 1, TcpOptionsPresent 1, Reserved 4),
//! `NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO` and
//! `NDIS_TCP_LARGE_SEND_OFFLOAD_NET_BUFFER_LIST_INFO` (LSOv2). For an encapsulated packet
//! `IpHeaderChecksum` asks for the outer **and** inner IPv4 header checksums together, so
//! asking for only one of them (when both headers are IPv4) is not expressible.

use super::{fit, Field, NotExpressible, Reason, Target};
use crate::desc::{Checksums, TxOffload};
use crate::layout::{IpVersion, L4Proto};

/// `NDIS_TCP_SEND_OFFLOADS_SUPPLEMENTAL_NET_BUFFER_LIST_INFO.EncapsulatedPacketOffsets`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(clippy::struct_excessive_bools)] // mirrors NDIS one-bit fields
pub struct EncapsulatedPacketOffsets {
    /// The packet carries an inner Ethernet frame with a transport IP header.
    pub is_encapsulated_packet: bool,
    /// The three offsets below are valid.
    pub encapsulated_packet_offsets_valid: bool,
    /// From the packet start to the inner Ethernet frame (8 bits).
    pub inner_frame_offset: u8,
    /// From the inner frame to the inner IP header (6 bits).
    pub transport_ip_header_relative_offset: u8,
    /// From the inner IP header to the TCP/UDP header (10 bits).
    pub tcp_header_relative_offset: u16,
    /// The inner IP header is IPv6.
    pub is_inner_ipv6: bool,
    /// The inner TCP header has options.
    pub tcp_options_present: bool,
}

impl EncapsulatedPacketOffsets {
    /// The 32-bit value with the bit fields packed as declared, lowest bit first.
    pub fn to_bits(&self) -> u32 {
        u32::from(self.is_encapsulated_packet)
            | u32::from(self.encapsulated_packet_offsets_valid) << 1
            | u32::from(self.inner_frame_offset) << 2
            | u32::from(self.transport_ip_header_relative_offset & 0x3f) << 10
            | u32::from(self.tcp_header_relative_offset & 0x3ff) << 16
            | u32::from(self.is_inner_ipv6) << 26
            | u32::from(self.tcp_options_present) << 27
    }
}

/// `NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO.Transmit` for an encapsulated send (its
/// `TcpHeaderOffset` is not used: the supplemental offsets replace it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(clippy::struct_excessive_bools)] // mirrors NDIS one-bit fields
pub struct ChecksumTransmit {
    /// The inner IP header is IPv4.
    pub is_ipv4: bool,
    /// The inner IP header is IPv6.
    pub is_ipv6: bool,
    /// Compute the TCP checksum.
    pub tcp_checksum: bool,
    /// Compute the UDP checksum.
    pub udp_checksum: bool,
    /// Compute the IPv4 header checksums (outer and inner).
    pub ip_header_checksum: bool,
}

/// `NDIS_TCP_LARGE_SEND_OFFLOAD_NET_BUFFER_LIST_INFO.LsoV2Transmit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LsoV2Transmit {
    /// Maximum segment size (20 bits in NDIS).
    pub mss: u32,
    /// The inner IP version (`NDIS_TCP_LARGE_SEND_OFFLOAD_IPv4` / `..._IPv6`).
    pub ip_version: IpVersion,
}

/// Everything NDIS carries beside an encapsulated send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NdisSendInfo {
    /// The encapsulated-packet offsets.
    pub offsets: EncapsulatedPacketOffsets,
    /// Checksum request, if any checksum is asked.
    pub checksum: Option<ChecksumTransmit>,
    /// Large send, if asked.
    pub lso: Option<LsoV2Transmit>,
    /// The VSID (24 bits, `NDIS_NET_BUFFER_LIST_VIRTUAL_SUBNET_INFO`).
    pub vsid: u32,
}

impl TxOffload {
    /// The NDIS out-of-band information for this send.
    pub fn to_ndis(&self) -> Result<NdisSendInfo, NotExpressible> {
        const T: Target = Target::Ndis;
        let err = |reason| NotExpressible { target: T, reason };
        let inner_frame = fit(T, Field::InnerFrameOffset, self.inner_frame_offset(), 8)?;
        let ip_rel = fit(
            T,
            Field::TransportIpHeaderRelativeOffset,
            usize::from(self.inner_l2_len),
            6,
        )?;
        let tcp_rel = fit(
            T,
            Field::TcpHeaderRelativeOffset,
            usize::from(self.inner_l3_len),
            10,
        )?;
        let both_v4 = self.outer_ip == IpVersion::V4 && self.inner_ip == IpVersion::V4;
        let outer = self.checksums.contains(Checksums::OUTER_IPV4);
        let inner = self.checksums.contains(Checksums::INNER_IPV4);
        if both_v4 && outer != inner {
            return Err(err(Reason::SeparateIpChecksums));
        }
        if let Some(l) = &self.lso {
            if l.any_fixed_id() {
                return Err(err(Reason::FixedIpId));
            }
        }
        let l4 = self.checksums.contains(Checksums::INNER_L4);
        let checksum = (!self.checksums.is_empty()).then(|| ChecksumTransmit {
            is_ipv4: self.inner_ip == IpVersion::V4,
            is_ipv6: self.inner_ip == IpVersion::V6,
            tcp_checksum: l4 && self.inner_l4 == Some(L4Proto::Tcp),
            udp_checksum: l4 && self.inner_l4 == Some(L4Proto::Udp),
            ip_header_checksum: outer || inner,
        });
        Ok(NdisSendInfo {
            offsets: EncapsulatedPacketOffsets {
                is_encapsulated_packet: true,
                encapsulated_packet_offsets_valid: true,
                inner_frame_offset: inner_frame as u8,
                transport_ip_header_relative_offset: ip_rel as u8,
                tcp_header_relative_offset: tcp_rel as u16,
                is_inner_ipv6: self.inner_ip == IpVersion::V6,
                tcp_options_present: self.tcp_options,
            },
            checksum,
            lso: self.lso.map(|l| LsoV2Transmit {
                mss: u32::from(l.mss),
                ip_version: self.inner_ip,
            }),
            vsid: self.vsid.get(),
        })
    }
}
