//! # hnv-offload
//!
//! NVGRE task offload for hnv (`#![no_std]`, no allocation, no panics on any input): how
//! hnv describes checksum, large-send (LSO) and receive-side-scaling work on the **inner**
//! headers of NVGRE packets to a NIC, the capabilities a NIC reports, and a software NIC
//! that performs the same work byte-exactly where hardware cannot — and proves a
//! descriptor right where it can.
//!
//! * [`caps`] — [`OffloadCaps`] feature bits and [`NicCaps`] limits.
//! * [`layout`] — where the headers of an NVGRE frame are.
//! * [`desc`] — the [`TxOffload`] descriptor, built from a frame and a [`TxRequest`], with
//!   the LSO policies ([`IpIdPolicy`], [`IdWrap`], [`CwrPolicy`]).
//! * [`target`] — the descriptor as NDIS out-of-band info, DPDK mbuf fields, AF_XDP TX
//!   metadata or a virtio-net header, or a typed [`target::NotExpressible`].
//! * [`soft`] — [`SoftNic`]: checksums with seed checking, LSO into a caller's buffer,
//!   RSS (Toeplitz + indirection), VMQ steering, receive checksum flags.
//! * [`flow`] — the FlowID entropy of the GRE key: hnv-core's one implementation.
//!
//! ```
//! use core::net::Ipv4Addr;
//! use hnv_core::buf::{FrameBuf, PacketBuf};
//! use hnv_core::ids::{MacAddr, Vsid};
//! use hnv_core::nvgre::{self, EncapParams, Underlay};
//! use hnv_core::wire::{ethernet::{EtherType, EthernetHeader}, ip_proto};
//! use hnv_core::wire::{ipv4::Ipv4Header, tcp::{TcpFlags, TcpHeader}};
//! use hnv_offload::soft::lso::output_len;
//! use hnv_offload::{NicCaps, SoftNic, TxOffload, TxRequest};
//! use zerocopy::IntoBytes;
//!
//! // An inner TCP segment with 3000 payload bytes, NVGRE-encapsulated by hnv-core.
//! let (payload, hdrs) = ([7u8; 3000], 14 + 20 + 20);
//! let mut mem = vec![0u8; nvgre::MAX_OVERHEAD + hdrs + payload.len()];
//! let inner = &mut mem[nvgre::MAX_OVERHEAD..];
//! let eth = EthernetHeader::new(MacAddr([0, 0x15, 0x5d, 0, 0, 2]), MacAddr([0, 0x15, 0x5d, 0, 0, 1]), EtherType::IPV4);
//! let ip = Ipv4Header::new(Ipv4Addr::new(10, 0, 0, 5), Ipv4Addr::new(10, 0, 0, 7), ip_proto::TCP, 3020);
//! let tcp = TcpHeader::new(49152, 80, 1, 1, TcpFlags::ACK | TcpFlags::PSH, 8192);
//! inner[..14].copy_from_slice(eth.as_bytes());
//! inner[14..34].copy_from_slice(ip.as_bytes());
//! inner[34..54].copy_from_slice(tcp.as_bytes());
//! inner[54..].copy_from_slice(&payload);
//! let mut frame = FrameBuf::new(&mut mem, nvgre::MAX_OVERHEAD, hdrs + payload.len()).unwrap();
//! let underlay = Underlay::V4 { src: Ipv4Addr::new(192, 168, 4, 11), dst: Ipv4Addr::new(192, 168, 4, 22) };
//! let p = EncapParams::new(Vsid::new(5001).unwrap(), MacAddr([2, 0, 0, 0, 0xa, 1]), MacAddr([2, 0, 0, 0, 0xb, 1]), underlay);
//! nvgre::encap(&mut frame, &p).unwrap();
//! let wire = frame.data();
//!
//! // Describe a 1400-byte-MSS large send, check it against a NIC, and run it in software.
//! let d = TxOffload::build(wire, &TxRequest::lso(1400), &NicCaps::SOFTWARE).unwrap();
//! assert_eq!((d.inner_frame_offset(), d.inner_l4_offset(), d.segments()), (42, 76, 3));
//! let mbuf = d.to_dpdk_mbuf().unwrap();
//! assert_eq!((mbuf.outer_l2_len, mbuf.outer_l3_len, mbuf.l2_len, mbuf.tso_segsz), (14, 20, 22, 1400));
//! assert!(d.to_virtio_net_hdr().is_err()); // virtio-net cannot segment TCP inside GRE
//!
//! let nic: SoftNic = SoftNic::new(NicCaps::SOFTWARE, 4);
//! let mut out = vec![0u8; output_len(&d)];
//! let (segments, _seed) = nic.segment(wire, &d, &mut out).unwrap();
//! let lens: Vec<usize> = segments.iter().map(<[u8]>::len).collect();
//! assert_eq!(lens, [96 + 1400, 96 + 1400, 96 + 200]);
//! //! ```
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

#[cfg(test)]
extern crate std;

pub mod caps;
pub mod desc;
pub mod layout;
pub mod soft;
pub mod target;

pub use caps::{NicCaps, OffloadCaps};
pub use desc::{
    Checksums, CwrPolicy, DescError, IdWrap, IpIdPolicy, LsoRequest, TxOffload, TxRequest,
};
pub use layout::{FrameError, IpVersion, L4Proto, Layout};
pub use soft::{ExecError, SoftNic};

/// The FlowID entropy carried in the low 8 bits of the NVGRE key.
///
/// One implementation serves encapsulation and offload: these are hnv-core's
/// [`flow_id_of`](hnv_core::nvgre::flow_id_of) and
/// [`flow_hash_of`](hnv_core::nvgre::flow_hash_of), re-exported. A NIC that builds
/// NVGRE headers itself (or a test checking a segment's key) uses the same function, so
/// every segment of an LSO send and every packet of a flow carry one FlowID.
pub mod flow {
    pub use hnv_core::nvgre::{flow_hash_of, flow_id_of};
}

/// The crate name, for diagnostics.
pub const NAME: &str = "hnv-offload";
