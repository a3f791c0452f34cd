//! Receive-side scaling: the Toeplitz hash, hash-type selection for NVGRE and the
//! indirection table.
//!
//! Input selection ("Supporting NVGRE in RSS", NDIS): for an NVGRE frame whose inner IP
//! header is followed directly by TCP or UDP (not a fragment) and whose hash type is
//! enabled, the hash covers the inner source address ‖ destination address ‖ source port ‖
//! destination port. Any other NVGRE frame — inner ARP, ICMP, fragments, extension headers,
//! a disabled 4-tuple type, or inner bytes that do not parse — hashes the outer source ‖
//! destination addresses. A plain (non-NVGRE) frame hashes its own 4-tuple or 2-tuple the
//! same way; fragments hash IP-only. Without an enabled type the frame is not hashed and
//! goes to queue 0.

use hnv_core::wire::ethernet::{EtherType, EthernetFrame};
use hnv_core::wire::ip_proto;
use hnv_core::wire::ipv4::Ipv4Packet;
use hnv_core::wire::ipv6::Ipv6Packet;

use crate::caps::OffloadCaps;
use crate::layout::Tunnel;

/// The Microsoft RSS verification key ("Verifying the RSS hash calculation", NDIS docs;
/// also the default key of DPDK's `app/test/test_thash.c`).
pub const MS_VERIFICATION_KEY: [u8; 40] = [
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
    0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
    0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
];

/// Longest hash input: IPv6 source ‖ destination ‖ ports.
pub const MAX_INPUT: usize = 36;

/// The Toeplitz hash with a 40-byte key, table driven: for each input byte position a
/// 256-entry table holds the XOR of the key windows its bits select, so a hash is one
/// lookup and one XOR per input byte. The tables take 36 KiB.
#[derive(Clone)]
pub struct Toeplitz {
    tables: [[u32; 256]; MAX_INPUT],
}

impl core::fmt::Debug for Toeplitz {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Toeplitz { .. }")
    }
}

/// The 32 key bits starting at bit `bit` (bit 0 = most significant bit of `key[0]`).
fn window(key: &[u8; 40], bit: usize) -> u32 {
    let byte = bit / 8;
    let mut w: u64 = 0;
    for i in 0..5 {
        w = w << 8 | u64::from(key.get(byte + i).copied().unwrap_or(0));
    }
    (w >> (8 - bit % 8)) as u32
}

impl Toeplitz {
    /// Tables for `key`. The 36 KiB value is built in place and returned: a no_std crate
    /// has no heap to put it on; callers keep it wherever they keep their NIC state.
    #[allow(clippy::large_stack_arrays)]
    pub fn new(key: &[u8; 40]) -> Self {
        let mut tables = [[0u32; 256]; MAX_INPUT];
        for (pos, table) in tables.iter_mut().enumerate() {
            let w: [u32; 8] = core::array::from_fn(|b| window(key, pos * 8 + b));
            for v in 1..256usize {
                let low = v.trailing_zeros() as usize; // bit 0 = LSB = input bit 7 - 0
                let prev = table.get(v & (v - 1)).copied().unwrap_or(0);
                let wb = w.get(7 - low).copied().unwrap_or(0);
                if let Some(t) = table.get_mut(v) {
                    *t = prev ^ wb;
                }
            }
        }
        Self { tables }
    }

    /// The hash of `input`; bytes beyond [`MAX_INPUT`] are ignored.
    #[inline]
    pub fn hash(&self, input: &[u8]) -> u32 {
        input
            .iter()
            .zip(self.tables.iter())
            // A u8 always indexes a 256-entry table.
            .fold(0, |h, (b, t)| {
                #[allow(clippy::indexing_slicing)]
                let v = t[usize::from(*b)];
                h ^ v
            })
    }

    /// The hash of a fixed-length input (12 bytes: IPv4 4-tuple, 36: IPv6 4-tuple); the
    /// length is a constant, so the loop unrolls into `N` independent loads.
    #[inline]
    pub fn hash_array<const N: usize>(&self, input: &[u8; N]) -> u32 {
        let mut h = 0;
        for (b, t) in input.iter().zip(self.tables.iter()) {
            // A u8 always indexes a 256-entry table.
            #[allow(clippy::indexing_slicing)]
            let v = t[usize::from(*b)];
            h ^= v;
        }
        h
    }

    /// The hash of an IPv4 4-tuple (addresses and ports in network byte order).
    #[inline]
    pub fn hash_v4(&self, src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> u32 {
        let s = sport.to_be_bytes();
        let d = dport.to_be_bytes();
        let b = [
            src[0], src[1], src[2], src[3], dst[0], dst[1], dst[2], dst[3], s[0], s[1], d[0], d[1],
        ];
        self.hash_array(&b)
    }
}

/// The Toeplitz hash computed bit by bit, as the definition reads: for every set input bit
/// (most significant first) XOR in the 32 key bits starting at that bit. The reference the
/// table-driven [`Toeplitz`] is tested and benchmarked against.
pub fn toeplitz_reference(key: &[u8; 40], input: &[u8]) -> u32 {
    let mut h = 0;
    for (i, byte) in input.iter().take(MAX_INPUT).enumerate() {
        for b in 0..8 {
            if byte & (0x80 >> b) != 0 {
                h ^= window(key, i * 8 + b);
            }
        }
    }
    h
}

/// Which fields a hash covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashType {
    /// Not hashed (no enabled type applies).
    None,
    /// IPv4 source and destination.
    Ipv4,
    /// IPv4 addresses and TCP ports.
    TcpIpv4,
    /// IPv4 addresses and UDP ports.
    UdpIpv4,
    /// IPv6 source and destination.
    Ipv6,
    /// IPv6 addresses and TCP ports.
    TcpIpv6,
    /// IPv6 addresses and UDP ports.
    UdpIpv6,
}

impl HashType {
    /// The name printed by `hnv offload rss` (NDIS hash type names).
    pub const fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Ipv4 => "ipv4",
            Self::TcpIpv4 => "tcp_ipv4",
            Self::UdpIpv4 => "udp_ipv4",
            Self::Ipv6 => "ipv6",
            Self::TcpIpv6 => "tcp_ipv6",
            Self::UdpIpv6 => "udp_ipv6",
        }
    }
}

/// The RSS result of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RssResult {
    /// What was hashed.
    pub hash_type: HashType,
    /// True when the inner headers of an NVGRE frame were hashed.
    pub inner: bool,
    /// The Toeplitz hash (0 when not hashed).
    pub hash: u32,
    /// The receive queue: `indirection[hash % table length]`, or 0 when not hashed.
    pub queue: u16,
}

/// Largest indirection table (NDIS allows 128 entries).
pub const MAX_INDIRECTION: usize = 128;

/// Why an indirection table was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IndirectionError {
    /// The length is not a power of two between 1 and [`MAX_INDIRECTION`].
    BadLength(usize),
}

/// RSS configuration: key (as Toeplitz tables), enabled hash types and indirection table.
#[derive(Debug, Clone)]
pub struct Rss {
    toeplitz: Toeplitz,
    types: OffloadCaps,
    table: [u16; MAX_INDIRECTION],
    table_len: usize,
}

/// The hash input collected from a frame.
struct Input {
    bytes: [u8; MAX_INPUT],
    len: usize,
    kind: HashType,
    inner: bool,
}

impl Rss {
    /// RSS with `key`, the hash types and `RSS_INNER` bit of `types`, and a 128-entry
    /// indirection table spreading over `queues` queues round robin (`queues` 0 counts as 1).
    pub fn new(key: &[u8; 40], types: OffloadCaps, queues: u16) -> Self {
        let q = queues.max(1);
        Self {
            toeplitz: Toeplitz::new(key),
            types: types & (OffloadCaps::ALL_RSS_TYPES | OffloadCaps::RSS_INNER),
            table: core::array::from_fn(|i| (i % usize::from(q)) as u16),
            table_len: MAX_INDIRECTION,
        }
    }

    /// Replaces the indirection table.
    pub fn set_indirection(&mut self, table: &[u16]) -> Result<(), IndirectionError> {
        let n = table.len();
        if n == 0 || n > MAX_INDIRECTION || !n.is_power_of_two() {
            return Err(IndirectionError::BadLength(n));
        }
        for (d, s) in self.table.iter_mut().zip(table) {
            *d = *s;
        }
        self.table_len = n;
        Ok(())
    }

    /// The enabled hash types (and `RSS_INNER`).
    pub fn types(&self) -> OffloadCaps {
        self.types
    }

    /// The Toeplitz hasher of this key.
    pub fn toeplitz(&self) -> &Toeplitz {
        &self.toeplitz
    }

    /// Hashes `frame` and picks its queue.
    pub fn classify(&self, frame: &[u8]) -> RssResult {
        let Some(input) = self.input(frame) else {
            return RssResult {
                hash_type: HashType::None,
                inner: false,
                hash: 0,
                queue: 0,
            };
        };
        let hash = self
            .toeplitz
            .hash(input.bytes.get(..input.len).unwrap_or(&[]));
        let idx = hash as usize & (self.table_len - 1);
        RssResult {
            hash_type: input.kind,
            inner: input.inner,
            hash,
            queue: self.table.get(idx).copied().unwrap_or(0),
        }
    }

    fn enabled(&self, t: OffloadCaps) -> bool {
        self.types.contains(t)
    }

    fn input(&self, frame: &[u8]) -> Option<Input> {
        let eth = EthernetFrame::parse(frame).ok()?;
        let l3 = eth.payload();
        if self.enabled(OffloadCaps::RSS_INNER) {
            if let Some(inner) = nvgre_inner(frame) {
                if let Some(i) = self.four_tuple(inner, true) {
                    return Some(i);
                }
            }
        }
        self.four_tuple(eth_l3(eth.ethertype(), l3)?, false)
            .or_else(|| self.two_tuple(eth_l3(eth.ethertype(), l3)?))
    }

    /// The 4-tuple input of an IP packet with TCP/UDP directly after the header, if its
    /// type is enabled.
    fn four_tuple(&self, ip: L3<'_>, inner: bool) -> Option<Input> {
        let mut bytes = [0u8; MAX_INPUT];
        match ip {
            L3::V4(b) => {
                let p = Ipv4Packet::parse(b).ok()?;
                let h = p.header();
                if h.is_fragment() {
                    return None;
                }
                let kind = match h.protocol {
                    ip_proto::TCP if self.enabled(OffloadCaps::RSS_TCP_IPV4) => HashType::TcpIpv4,
                    ip_proto::UDP if self.enabled(OffloadCaps::RSS_UDP_IPV4) => HashType::UdpIpv4,
                    _ => return None,
                };
                let ports = p.payload().get(..4)?;
                bytes.get_mut(..4)?.copy_from_slice(&h.src);
                bytes.get_mut(4..8)?.copy_from_slice(&h.dst);
                bytes.get_mut(8..12)?.copy_from_slice(ports);
                Some(Input {
                    bytes,
                    len: 12,
                    kind,
                    inner,
                })
            }
            L3::V6(b) => {
                let p = Ipv6Packet::parse(b).ok()?;
                let h = p.header();
                let kind = match h.next_header {
                    ip_proto::TCP if self.enabled(OffloadCaps::RSS_TCP_IPV6) => HashType::TcpIpv6,
                    ip_proto::UDP if self.enabled(OffloadCaps::RSS_UDP_IPV6) => HashType::UdpIpv6,
                    _ => return None,
                };
                let ports = p.payload().get(..4)?;
                bytes.get_mut(..16)?.copy_from_slice(&h.src);
                bytes.get_mut(16..32)?.copy_from_slice(&h.dst);
                bytes.get_mut(32..36)?.copy_from_slice(ports);
                Some(Input {
                    bytes,
                    len: 36,
                    kind,
                    inner,
                })
            }
        }
    }

    /// The outer 2-tuple input, if its type is enabled.
    fn two_tuple(&self, ip: L3<'_>) -> Option<Input> {
        let mut bytes = [0u8; MAX_INPUT];
        match ip {
            L3::V4(b) if self.enabled(OffloadCaps::RSS_IPV4) => {
                let p = Ipv4Packet::parse(b).ok()?;
                bytes.get_mut(..4)?.copy_from_slice(&p.header().src);
                bytes.get_mut(4..8)?.copy_from_slice(&p.header().dst);
                Some(Input {
                    bytes,
                    len: 8,
                    kind: HashType::Ipv4,
                    inner: false,
                })
            }
            L3::V6(b) if self.enabled(OffloadCaps::RSS_IPV6) => {
                let p = Ipv6Packet::parse(b).ok()?;
                bytes.get_mut(..16)?.copy_from_slice(&p.header().src);
                bytes.get_mut(16..32)?.copy_from_slice(&p.header().dst);
                Some(Input {
                    bytes,
                    len: 32,
                    kind: HashType::Ipv6,
                    inner: false,
                })
            }
            _ => None,
        }
    }
}

/// An IP packet by version.
#[derive(Clone, Copy)]
enum L3<'a> {
    V4(&'a [u8]),
    V6(&'a [u8]),
}

fn eth_l3(t: EtherType, payload: &[u8]) -> Option<L3<'_>> {
    match t {
        EtherType::IPV4 => Some(L3::V4(payload)),
        EtherType::IPV6 => Some(L3::V6(payload)),
        _ => None,
    }
}

/// The inner IP packet of an NVGRE frame (see [`Tunnel::parse`]), if it is IPv4 or IPv6.
fn nvgre_inner(frame: &[u8]) -> Option<L3<'_>> {
    let t = Tunnel::parse(frame)?;
    let inner = frame.get(t.inner_offset..t.outer_end)?;
    let eth = EthernetFrame::parse(inner).ok()?;
    eth_l3(eth.ethertype(), inner.get(eth.header_len()..)?)
}

#[cfg(test)]
#[allow(clippy::many_single_char_names)]
mod tests {
    use super::*;
    use core::net::{Ipv4Addr, Ipv6Addr};

    // The verification inputs and results published by Microsoft ("Verifying the RSS
    // hash calculation", NDIS documentation; the same values are in DPDK's
    // app/test/test_thash.c): (source, source port, destination, destination port,
    // IP-only hash, IP+TCP hash).
    const V4: [(&str, u16, &str, u16, u32, u32); 5] = [
        (
            "66.9.149.187",
            2794,
            "161.142.100.80",
            1766,
            0x323e_8fc2,
            0x51cc_c178,
        ),
        (
            "199.92.111.2",
            14230,
            "65.69.140.83",
            4739,
            0xd718_262a,
            0xc626_b0ea,
        ),
        (
            "24.19.198.95",
            12898,
            "12.22.207.184",
            38024,
            0xd2d0_a5de,
            0x5c2b_394a,
        ),
        (
            "38.27.205.30",
            48228,
            "209.142.163.6",
            2217,
            0x8298_9176,
            0xafc7_327f,
        ),
        (
            "153.39.163.191",
            44251,
            "202.188.127.2",
            1303,
            0x5d18_09c5,
            0x10e8_28a2,
        ),
    ];
    const V6: [(&str, u16, &str, u16, u32, u32); 3] = [
        (
            "3ffe:2501:200:1fff::7",
            2794,
            "3ffe:2501:200:3::1",
            1766,
            0x2cc1_8cd5,
            0x4020_7d3d,
        ),
        (
            "3ffe:501:8::260:97ff:fe40:efab",
            14230,
            "ff02::1",
            4739,
            0x0f0c_461c,
            0xdde5_1bbf,
        ),
        (
            "3ffe:1900:4545:3:200:f8ff:fe21:67cf",
            44251,
            "fe80::200:f8ff:fe21:67cf",
            38024,
            0x4b61_e985,
            0x02d1_feef,
        ),
    ];

    fn check(t: &Toeplitz, input: &[u8], want: u32) {
        assert_eq!(t.hash(input), want, "table, input {input:02x?}");
        assert_eq!(
            toeplitz_reference(&MS_VERIFICATION_KEY, input),
            want,
            "reference"
        );
    }

    #[test]
    fn all_sixteen_published_vectors() {
        let t = Toeplitz::new(&MS_VERIFICATION_KEY);
        let mut n = 0;
        for (s, sp, d, dp, ip, tcp) in V4 {
            let (s, d): (Ipv4Addr, Ipv4Addr) = (s.parse().unwrap(), d.parse().unwrap());
            let mut b = std::vec::Vec::new();
            b.extend_from_slice(&s.octets());
            b.extend_from_slice(&d.octets());
            check(&t, &b, ip);
            b.extend_from_slice(&sp.to_be_bytes());
            b.extend_from_slice(&dp.to_be_bytes());
            check(&t, &b, tcp);
            assert_eq!(t.hash_v4(s.octets(), d.octets(), sp, dp), tcp);
            let arr: [u8; 12] = b.as_slice().try_into().unwrap();
            assert_eq!(t.hash_array(&arr), tcp);
            n += 2;
        }
        for (s, sp, d, dp, ip, tcp) in V6 {
            let (s, d): (Ipv6Addr, Ipv6Addr) = (s.parse().unwrap(), d.parse().unwrap());
            let mut b = std::vec::Vec::new();
            b.extend_from_slice(&s.octets());
            b.extend_from_slice(&d.octets());
            check(&t, &b, ip);
            b.extend_from_slice(&sp.to_be_bytes());
            b.extend_from_slice(&dp.to_be_bytes());
            check(&t, &b, tcp);
            let arr: [u8; 36] = b.as_slice().try_into().unwrap();
            assert_eq!(t.hash_array(&arr), tcp);
            n += 2;
        }
        assert_eq!(n, 16);
    }

    #[test]
    fn table_equals_reference_on_other_keys_and_lengths() {
        let mut x = 0x1234_5678_9abc_def0_u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..50 {
            let key: [u8; 40] = core::array::from_fn(|_| next() as u8);
            let t = Toeplitz::new(&key);
            for len in 0..=MAX_INPUT {
                let input: std::vec::Vec<u8> = (0..len).map(|_| next() as u8).collect();
                assert_eq!(t.hash(&input), toeplitz_reference(&key, &input));
            }
        }
    }

    #[test]
    fn indirection_table_rules() {
        let mut r = Rss::new(&MS_VERIFICATION_KEY, OffloadCaps::ALL_RSS_TYPES, 4);
        assert_eq!(r.set_indirection(&[]), Err(IndirectionError::BadLength(0)));
        assert_eq!(
            r.set_indirection(&[0; 3]),
            Err(IndirectionError::BadLength(3))
        );
        assert_eq!(
            r.set_indirection(&[0; 256]),
            Err(IndirectionError::BadLength(256))
        );
        assert_eq!(r.set_indirection(&[7, 9]), Ok(()));
        assert_eq!(r.table_len, 2);
        // 4 queues round robin by default.
        let r = Rss::new(&MS_VERIFICATION_KEY, OffloadCaps::ALL_RSS_TYPES, 4);
        assert_eq!(&r.table[..6], &[0, 1, 2, 3, 0, 1]);
    }
}
