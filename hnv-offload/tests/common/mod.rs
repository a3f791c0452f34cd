//! NVGRE frames for the offload tests, built byte by byte (inner frame) and encapsulated by
//! hnv-core; every checksum valid unless a test changes it.
#![allow(dead_code)]

use std::net::{Ipv4Addr, Ipv6Addr};

use hnv_core::buf::{FrameBuf, PacketBuf};
use hnv_core::ids::{MacAddr, Vsid};
use hnv_core::nvgre::{self, EncapParams, Underlay};
use hnv_core::wire::checksum::{self, Checksum};

/// What to build.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone)]
pub struct Spec {
    pub outer_v6: bool,
    pub inner_v6: bool,
    pub outer_vlan: Option<u16>,
    /// IPv4 inner options (length a multiple of 4, ≤ 40).
    pub ip_options: Vec<u8>,
    /// IPv6 inner: add an 8-byte destination-options header.
    pub ext_header: bool,
    /// TCP options (length a multiple of 4, ≤ 40).
    pub tcp_options: Vec<u8>,
    pub udp: bool,
    pub flags: u8,
    pub seq: u32,
    pub inner_id: u16,
    pub outer_id: u16,
    pub payload: Vec<u8>,
    pub vsid: u32,
}

impl Default for Spec {
    fn default() -> Self {
        Self {
            outer_v6: false,
            inner_v6: false,
            outer_vlan: None,
            ip_options: Vec::new(),
            ext_header: false,
            tcp_options: Vec::new(),
            udp: false,
            flags: 0x18, // PSH | ACK
            seq: 1000,
            inner_id: 0x1234,
            outer_id: 0x0100,
            payload: (0..3000u32).map(|i| (i * 7 + 3) as u8).collect(),
            vsid: 5001,
        }
    }
}

pub const IN_SRC4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 5);
pub const IN_DST4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 7);
pub fn in_src6() -> Ipv6Addr {
    "fd00::5".parse().unwrap()
}
pub fn in_dst6() -> Ipv6Addr {
    "fd00::7".parse().unwrap()
}

/// The inner Ethernet frame with valid checksums.
pub fn inner_frame(s: &Spec) -> Vec<u8> {
    let proto = if s.udp { 17u8 } else { 6 };
    let mut l4 = Vec::new();
    if s.udp {
        let len = (8 + s.payload.len()) as u16;
        l4.extend_from_slice(&40001u16.to_be_bytes());
        l4.extend_from_slice(&40002u16.to_be_bytes());
        l4.extend_from_slice(&len.to_be_bytes());
        l4.extend_from_slice(&[0, 0]);
    } else {
        let doff = ((20 + s.tcp_options.len()) / 4) as u8;
        l4.extend_from_slice(&49152u16.to_be_bytes());
        l4.extend_from_slice(&80u16.to_be_bytes());
        l4.extend_from_slice(&s.seq.to_be_bytes());
        l4.extend_from_slice(&77u32.to_be_bytes());
        l4.push(doff << 4);
        l4.push(s.flags);
        l4.extend_from_slice(&8192u16.to_be_bytes());
        l4.extend_from_slice(&[0, 0, 0, 0]);
        l4.extend_from_slice(&s.tcp_options);
    }
    l4.extend_from_slice(&s.payload);
    let field = if s.udp { 6 } else { 16 };
    let mut f = vec![0, 0x15, 0x5d, 0, 0, 2, 0, 0x15, 0x5d, 0, 0, 1];
    if s.inner_v6 {
        f.extend_from_slice(&[0x86, 0xdd]);
        let (src, dst) = (in_src6(), in_dst6());
        let c = checksum::pseudo_v6(src, dst, proto, l4.len() as u32)
            .add_bytes(&l4)
            .finish();
        l4[field..field + 2].copy_from_slice(&c.to_be_bytes());
        let ext = if s.ext_header { 8 } else { 0 };
        f.extend_from_slice(&[0x60, 0, 0, 0]);
        f.extend_from_slice(&((l4.len() + ext) as u16).to_be_bytes());
        f.push(if s.ext_header { 60 } else { proto });
        f.push(64);
        f.extend_from_slice(&src.octets());
        f.extend_from_slice(&dst.octets());
        if s.ext_header {
            f.extend_from_slice(&[proto, 0, 1, 4, 0, 0, 0, 0]);
        }
    } else {
        f.extend_from_slice(&[0x08, 0x00]);
        let c = checksum::pseudo_v4(IN_SRC4, IN_DST4, proto, l4.len() as u16)
            .add_bytes(&l4)
            .finish();
        l4[field..field + 2].copy_from_slice(&c.to_be_bytes());
        let hl = 20 + s.ip_options.len();
        let mut h = vec![0x40 | (hl / 4) as u8, 0];
        h.extend_from_slice(&((hl + l4.len()) as u16).to_be_bytes());
        h.extend_from_slice(&s.inner_id.to_be_bytes());
        h.extend_from_slice(&[0x40, 0, 64, proto, 0, 0]);
        h.extend_from_slice(&IN_SRC4.octets());
        h.extend_from_slice(&IN_DST4.octets());
        h.extend_from_slice(&s.ip_options);
        let c = checksum::of(&h);
        h[10..12].copy_from_slice(&c.to_be_bytes());
        f.extend_from_slice(&h);
    }
    f.extend_from_slice(&l4);
    f
}

pub fn underlay(v6: bool) -> Underlay {
    if v6 {
        Underlay::V6 {
            src: "2001:db8:0:4::11".parse().unwrap(),
            dst: "2001:db8:0:4::22".parse().unwrap(),
        }
    } else {
        Underlay::V4 {
            src: Ipv4Addr::new(192, 168, 4, 11),
            dst: Ipv4Addr::new(192, 168, 4, 22),
        }
    }
}

/// The NVGRE frame of `s` (hnv-core encapsulation), all checksums valid.
pub fn nvgre_frame(s: &Spec) -> Vec<u8> {
    let inner = inner_frame(s);
    let mut mem = vec![0u8; nvgre::MAX_OVERHEAD + inner.len()];
    mem[nvgre::MAX_OVERHEAD..].copy_from_slice(&inner);
    let mut f = FrameBuf::new(&mut mem, nvgre::MAX_OVERHEAD, inner.len()).unwrap();
    let mut p = EncapParams::new(
        Vsid::new(s.vsid).unwrap(),
        MacAddr([2, 0, 0, 0, 0x0a, 1]),
        MacAddr([2, 0, 0, 0, 0x0b, 1]),
        underlay(s.outer_v6),
    );
    p.outer_vlan = s.outer_vlan;
    p.ip_id = s.outer_id;
    nvgre::encap(&mut f, &p).unwrap();
    f.data().to_vec()
}

/// True when the IPv4 header at `at` verifies.
pub fn ipv4_ok(frame: &[u8], at: usize) -> bool {
    let hl = usize::from(frame[at] & 0xf) * 4;
    checksum::verifies(&frame[at..at + hl])
}

/// True when the TCP/UDP segment at `l4` (to `end`) verifies against the IP header at `l3`.
pub fn l4_ok(frame: &[u8], l3: usize, l4: usize, end: usize, proto: u8) -> bool {
    let seg = &frame[l4..end];
    let pseudo = if frame[l3] >> 4 == 4 {
        let s = Ipv4Addr::from(<[u8; 4]>::try_from(&frame[l3 + 12..l3 + 16]).unwrap());
        let d = Ipv4Addr::from(<[u8; 4]>::try_from(&frame[l3 + 16..l3 + 20]).unwrap());
        checksum::pseudo_v4(s, d, proto, seg.len() as u16)
    } else {
        let s = Ipv6Addr::from(<[u8; 16]>::try_from(&frame[l3 + 8..l3 + 24]).unwrap());
        let d = Ipv6Addr::from(<[u8; 16]>::try_from(&frame[l3 + 24..l3 + 40]).unwrap());
        checksum::pseudo_v6(s, d, proto, seg.len() as u32)
    };
    pseudo.add_bytes(seg).sum() == 0xffff
}

/// Unused-import guard for `Checksum` in some test crates.
pub fn empty_sum() -> Checksum {
    Checksum::new()
}

/// tshark's fields for `frames` (`hnv_sim::tshark`: IP and TCP/UDP checksum checking on;
/// repeated fields joined with `;`). Fails the test when tshark is missing.
pub fn tshark(frames: &[&[u8]], fields: &[&str]) -> Vec<Vec<String>> {
    hnv_sim::tshark::frame_fields(frames, fields).unwrap_or_else(|e| panic!("{e}"))
}
