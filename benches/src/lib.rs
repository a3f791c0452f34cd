//! Frame builders shared by the hnv criterion benches.
//!
//! Everything here runs once, outside the timed regions: the inner test frame (a real
//! Ethernet + IPv4 + UDP frame with valid IPv4 and UDP checksums, built by etherparse so it
//! does not depend on the code under test), the outer addresses, the GRE header the
//! etherparse baseline is given, and buffers with headroom for hnv's in-place paths.

use std::net::{Ipv4Addr, Ipv6Addr};

use etherparse::PacketBuilder;
use hnv_core::buf::{FrameBuf, PacketBuf};
use hnv_core::ids::{MacAddr, Vsid};
use hnv_core::nvgre::{self, EncapParams, Underlay};

/// Inner frame sizes measured, in bytes of Ethernet frame (no FCS): 14 Ethernet + 20 IPv4
/// + 8 UDP + payload.
pub const INNER_SIZES: [usize; 2] = [64, 1500];

/// Headroom in front of the inner frame in every hnv buffer (room for any outer header).
pub const HEADROOM: usize = 128;

/// VSID written into the GRE key.
pub const VSID: u32 = 5001;

/// Inner (customer) MACs and addresses.
const CA_SRC_MAC: [u8; 6] = [0x00, 0x15, 0x5d, 0x00, 0x00, 0x01];
const CA_DST_MAC: [u8; 6] = [0x00, 0x15, 0x5d, 0x00, 0x00, 0x02];
const CA_SRC: [u8; 4] = [10, 0, 0, 5];
const CA_DST: [u8; 4] = [10, 0, 0, 7];

/// Outer (provider) MACs and addresses.
const PA_SRC_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x0a, 0x01];
const PA_DST_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x0b, 0x01];
const PA_SRC_V4: Ipv4Addr = Ipv4Addr::new(192, 168, 4, 11);
const PA_DST_V4: Ipv4Addr = Ipv4Addr::new(192, 168, 4, 22);
const PA_SRC_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 4, 0, 0, 0, 0, 0x11);
const PA_DST_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 4, 0, 0, 0, 0, 0x22);

/// Outer TTL / hop limit (hnv's default, passed explicitly to etherparse).
pub const TTL: u8 = 64;

/// Outer IP family of a bench case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Outer IPv4 (42 bytes of outer headers).
    V4,
    /// Outer IPv6 (62 bytes of outer headers).
    V6,
}

impl Family {
    /// Both families, in bench order.
    pub const ALL: [Self; 2] = [Self::V4, Self::V6];

    /// Short name used in bench group names.
    pub const fn label(self) -> &'static str {
        match self {
            Self::V4 => "v4",
            Self::V6 => "v6",
        }
    }

    /// Outer header bytes hnv adds for this family.
    pub const fn overhead(self) -> usize {
        match self {
            Self::V4 => nvgre::OVERHEAD_V4,
            Self::V6 => nvgre::OVERHEAD_V6,
        }
    }

    /// The outer addresses.
    pub const fn underlay(self) -> Underlay {
        match self {
            Self::V4 => Underlay::V4 {
                src: PA_SRC_V4,
                dst: PA_DST_V4,
            },
            Self::V6 => Underlay::V6 {
                src: PA_SRC_V6,
                dst: PA_DST_V6,
            },
        }
    }

    /// hnv's encapsulation parameters (defaults: DF set, TTL 64, ident 0, TOS inherited,
    /// FlowID hashed from the inner flow).
    ///
    /// # Panics
    /// Never: [`VSID`] is a tenant VSID.
    pub fn params(self) -> EncapParams {
        EncapParams::new(
            Vsid::new(VSID).expect("tenant VSID"),
            MacAddr(PA_SRC_MAC),
            MacAddr(PA_DST_MAC),
            self.underlay(),
        )
    }

    /// The etherparse builder for the same outer Ethernet + IP headers hnv writes, ready for
    /// `write(.., IpNumber::GRE, gre_payload)`. (etherparse has no GRE/NVGRE step.)
    pub fn etherparse_builder(self) -> etherparse::PacketBuilderStep<etherparse::IpHeaders> {
        let eth = PacketBuilder::ethernet2(PA_SRC_MAC, PA_DST_MAC);
        match self {
            Self::V4 => eth.ipv4(PA_SRC_V4.octets(), PA_DST_V4.octets(), TTL),
            Self::V6 => eth.ipv6(PA_SRC_V6.octets(), PA_DST_V6.octets(), TTL),
        }
    }
}

/// A real inner frame of exactly `len` bytes: Ethernet II, IPv4 (TTL 64, DF) and UDP
/// 40000 → 53 with a patterned payload; IPv4 and UDP checksums are valid.
///
/// # Panics
/// If `len` is shorter than the 42 header bytes.
pub fn inner_frame(len: usize) -> Vec<u8> {
    let payload: Vec<u8> = (0..len - 42).map(|i| (i * 7 + 3) as u8).collect();
    let builder = PacketBuilder::ethernet2(CA_SRC_MAC, CA_DST_MAC)
        .ipv4(CA_SRC, CA_DST, 64)
        .udp(40000, 53);
    let mut frame = Vec::with_capacity(builder.size(payload.len()));
    builder.write(&mut frame, &payload).expect("inner frame");
    assert_eq!(frame.len(), len);
    frame
}

/// The 8-byte NVGRE header for `inner`: K=1, protocol 0x6558, key = VSID ‖ FlowID with the
/// FlowID hnv computes (`nvgre::flow_id_of`), so the etherparse baseline emits the same bytes.
pub fn gre_header(inner: &[u8]) -> [u8; 8] {
    let key = (VSID << 8) | u32::from(nvgre::flow_id_of(inner).0);
    let mut h = [0x20, 0x00, 0x65, 0x58, 0, 0, 0, 0];
    h[4..].copy_from_slice(&key.to_be_bytes());
    h
}

/// The etherparse baseline's IP payload: GRE header ‖ inner frame (built once, untimed).
pub fn gre_payload(inner: &[u8]) -> Vec<u8> {
    let mut p = gre_header(inner).to_vec();
    p.extend_from_slice(inner);
    p
}

/// Backing memory with `inner` placed after [`HEADROOM`] bytes; wrap it with
/// [`frame_buf`].
pub fn headroom_buffer(inner: &[u8]) -> Vec<u8> {
    let mut mem = vec![0u8; HEADROOM + inner.len()];
    mem[HEADROOM..].copy_from_slice(inner);
    mem
}

/// A [`FrameBuf`] over memory from [`headroom_buffer`], holding the inner frame.
///
/// # Panics
/// If `mem` is shorter than [`HEADROOM`].
pub fn frame_buf(mem: &mut [u8]) -> FrameBuf<'_> {
    let len = mem.len() - HEADROOM;
    FrameBuf::new(mem, HEADROOM, len).expect("frame fits")
}

/// The encapsulated frame hnv produces for `inner` (checked against etherparse by the
/// benches before timing anything).
///
/// # Panics
/// If hnv refuses to encapsulate the frame.
pub fn hnv_encapsulated(family: Family, inner: &[u8]) -> Vec<u8> {
    let mut mem = headroom_buffer(inner);
    let mut fb = frame_buf(&mut mem);
    nvgre::encap(&mut fb, &family.params()).expect("encap");
    fb.data().to_vec()
}

/// The etherparse baseline, timed by the benches: builds the outer packet the way a copying
/// builder does — builder construction, a fresh `Vec` sized by the builder, outer Ethernet +
/// IP (length, IPv4 checksum) written by etherparse, then `gre_payload` (GRE header ‖ inner
/// frame, from [`gre_payload`]) copied in as the IP payload with protocol 47.
///
/// # Panics
/// If etherparse refuses to write the packet.
pub fn etherparse_build(family: Family, gre_payload: &[u8]) -> Vec<u8> {
    let builder = family.etherparse_builder();
    let mut out = Vec::with_capacity(builder.size(gre_payload.len()));
    builder
        .write(&mut out, etherparse::IpNumber::GRE, gre_payload)
        .expect("etherparse write");
    out
}

/// Asserts that hnv and etherparse produce the same bytes for `inner`, except the outer
/// IPv6 flow label, which hnv sets from the inner flow hash and etherparse's builder leaves 0.
///
/// # Panics
/// On any other difference.
pub fn assert_same_packet(family: Family, inner: &[u8]) {
    let mut hnv = hnv_encapsulated(family, inner);
    let ep = etherparse_build(family, &gre_payload(inner));
    assert_eq!(hnv.len(), ep.len());
    if family == Family::V6 {
        // Byte 14 is version|TC high; bytes 15..18 hold TC low and the 20-bit flow label.
        hnv[15] &= 0xf0;
        hnv[16] = 0;
        hnv[17] = 0;
    }
    assert_eq!(
        hnv,
        ep,
        "hnv and etherparse differ for {family:?}, {} bytes",
        inner.len()
    );
}

/// splitmix64: a deterministic stream without a dependency, so every run of a bench
/// measures the same keys, routes and addresses.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (multiply-shift range reduction).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// 128 random bits.
    pub fn u128(&mut self) -> u128 {
        (u128::from(self.next_u64()) << 64) | u128::from(self.next_u64())
    }
}

/// An NVGRE frame carrying an inner Ethernet + IPv4 + TCP segment (49152 → 80, ACK|PSH,
/// patterned payload of `payload_len` bytes, valid inner checksums) encapsulated by hnv
/// over `family`: the large send the offload benches segment and checksum.
///
/// # Panics
/// If the frame would not fit an outer IP length field.
pub fn nvgre_tcp_send(family: Family, payload_len: usize) -> Vec<u8> {
    let payload: Vec<u8> = (0..payload_len).map(|i| (i * 7 + 3) as u8).collect();
    let builder = PacketBuilder::ethernet2(CA_SRC_MAC, CA_DST_MAC)
        .ipv4(CA_SRC, CA_DST, 64)
        .tcp(49152, 80, 1000, 8192)
        .ack(77)
        .psh();
    let mut inner = Vec::with_capacity(builder.size(payload.len()));
    builder
        .write(&mut inner, &payload)
        .expect("inner TCP frame");
    hnv_encapsulated(family, &inner)
}

/// Asks the kernel to back `[addr, addr + len)` (rounded inwards to whole pages) with
/// transparent huge pages: `madvise(MADV_HUGEPAGE)`, for memory that was just allocated
/// and is not written yet (the hook of `GrowMap::try_with_capacity_advised` and
/// `Tables::compile_advised`). A no-op off Linux.
///
/// # Panics
///
/// If the kernel refuses the advice.
pub fn advise_huge_pages(addr: usize, len: usize) {
    #[cfg(target_os = "linux")]
    {
        let page = 4096;
        let start = addr.next_multiple_of(page);
        let end = (addr + len) / page * page;
        if end > start {
            // SAFETY: the range lies inside an allocation just made (rounded inwards to
            // whole pages) and nothing references its contents yet; MADV_HUGEPAGE only
            // changes how the kernel backs those pages, never their contents.
            #[allow(unsafe_code)]
            let rc = unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE)
            };
            assert_eq!(rc, 0, "madvise(MADV_HUGEPAGE)");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (addr, len);
}
