//! The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
//!
//! [`Checksum`] accumulates a one's-complement sum over any number of byte runs (header,
//! pseudo-header, payload) and [`Checksum::finish`] folds it to the 16-bit field value.
//! The sum is byte-order independent (RFC 1071 §2(B)), so words are added in native order,
//! eight bytes at a time with four independent accumulators, and the result is swapped
//! once at the end.
//!
//! ```
//! use hnv_core::wire::checksum::{self, Checksum};
//! // RFC 1071 §3 example bytes: the folded sum is 0xddf2, the checksum its complement.
//! let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
//! assert_eq!(Checksum::new().add_bytes(&data).sum(), 0xddf2);
//! assert_eq!(checksum::of(&data), !0xddf2);
//! ```

use core::net::{Ipv4Addr, Ipv6Addr};

/// A running one's-complement sum.
///
/// Byte runs added with [`add_bytes`](Self::add_bytes) are summed as if concatenated,
/// provided every run but the last has even length (as all header runs do).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checksum {
    /// Sum of 16-bit big-endian words, carries not yet folded.
    acc: u64,
}

impl Checksum {
    /// An empty sum.
    pub const fn new() -> Self {
        Self { acc: 0 }
    }

    /// Adds one 16-bit word (host value, e.g. a length or protocol number).
    #[must_use]
    pub const fn add_u16(self, word: u16) -> Self {
        Self {
            acc: self.acc + word as u64,
        }
    }

    /// Adds a 32-bit value as two 16-bit words.
    #[must_use]
    pub const fn add_u32(self, v: u32) -> Self {
        self.add_u16((v >> 16) as u16).add_u16(v as u16)
    }

    /// Adds a run of bytes as big-endian 16-bit words; an odd last byte is padded with zero.
    #[must_use]
    pub fn add_bytes(self, bytes: &[u8]) -> Self {
        Self {
            acc: self.acc + u64::from(sum_be(bytes)),
        }
    }

    /// The folded 16-bit one's-complement sum (not yet complemented).
    pub const fn sum(self) -> u16 {
        // A fixed sequence of folds (no data-dependent loop): after the 32-bit fold the
        // value is below 2^33, and three 16-bit folds bring any such value below 2^16.
        // Each fold keeps the value modulo 0xffff and never turns a non-zero sum into 0,
        // so the result is the one the iterated fold gives.
        let s = (self.acc & 0xffff_ffff) + (self.acc >> 32);
        let s = (s & 0xffff) + (s >> 16);
        let s = (s & 0xffff) + (s >> 16);
        let s = (s & 0xffff) + (s >> 16);
        s as u16
    }

    /// The value to store in a checksum field: the complement of the folded sum.
    pub const fn finish(self) -> u16 {
        !self.sum()
    }
}

/// RFC 1071 checksum of `bytes` (the value to store in the field).
pub fn of(bytes: &[u8]) -> u16 {
    Checksum::new().add_bytes(bytes).finish()
}

/// True when `bytes` (which include their checksum field) sum to `0xffff`, i.e. verify.
pub fn verifies(bytes: &[u8]) -> bool {
    Checksum::new().add_bytes(bytes).sum() == 0xffff
}

/// The IPv4 pseudo-header (RFC 793 / RFC 768) for `protocol` and upper-layer `len`.
pub fn pseudo_v4(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, len: u16) -> Checksum {
    Checksum::new()
        .add_u32(src.to_bits())
        .add_u32(dst.to_bits())
        .add_u16(u16::from(protocol))
        .add_u16(len)
}

/// The IPv6 pseudo-header (RFC 8200 §8.1) for `next_header` and upper-layer `len`.
pub fn pseudo_v6(src: Ipv6Addr, dst: Ipv6Addr, next_header: u8, len: u32) -> Checksum {
    Checksum::new()
        .add_bytes(&src.octets())
        .add_bytes(&dst.octets())
        .add_u32(len)
        .add_u16(u16::from(next_header))
}

/// Folded one's-complement sum of `bytes` as big-endian words (RFC 1071), not complemented.
fn sum_be(bytes: &[u8]) -> u16 {
    // Four 64-bit accumulators of 32-bit native-endian halves: each absorbs 2^32 additions
    // of a 32-bit value before it could overflow, far beyond any packet length.
    let mut acc = [0u64; 4];
    let mut blocks = bytes.chunks_exact(32);
    for block in &mut blocks {
        for (lane, quad) in acc.iter_mut().zip(block.chunks_exact(8)) {
            let mut w = [0u8; 8];
            w.copy_from_slice(quad);
            let v = u64::from_ne_bytes(w);
            *lane += (v & 0xffff_ffff) + (v >> 32);
        }
    }
    let mut total: u64 = acc.iter().sum();
    let mut words = blocks.remainder().chunks_exact(4);
    for word in &mut words {
        let mut w = [0u8; 4];
        w.copy_from_slice(word);
        total += u64::from(u32::from_ne_bytes(w));
    }
    let mut tail = [0u8; 4];
    let rest = words.remainder();
    for (t, b) in tail.iter_mut().zip(rest) {
        *t = *b;
    }
    total += u64::from(u32::from_ne_bytes(tail));
    // Fold to 16 bits in native order, then convert to a big-endian word value.
    while total >> 16 != 0 {
        total = (total & 0xffff) + (total >> 16);
    }
    // The native-order fold holds the big-endian sum's bytes in memory order.
    u16::from_be_bytes((total as u16).to_ne_bytes())
}

/// RFC 1624 eqn. 3: the new checksum field after a 16-bit word changes from `old` to `new`.
///
/// `HC' = ~(~HC + ~m + m')`, which never produces `0x0000` from a non-zero sum the way
/// RFC 1141's form could.
pub const fn update_u16(check: u16, old: u16, new: u16) -> u16 {
    Checksum::new()
        .add_u16(!check)
        .add_u16(!old)
        .add_u16(new)
        .finish()
}

/// RFC 1624 update for a 32-bit field (e.g. an IPv4 address) changing from `old` to `new`.
pub const fn update_u32(check: u16, old: u32, new: u32) -> u16 {
    Checksum::new()
        .add_u16(!check)
        .add_u16(!(old >> 16) as u16)
        .add_u16(!old as u16)
        .add_u32(new)
        .finish()
}

/// RFC 1624 update for a field of even length (e.g. an IPv6 address) changing from `old`
/// to `new`. Slices of different or odd length are a caller bug and leave `check` as is.
pub fn update_bytes(check: u16, old: &[u8], new: &[u8]) -> u16 {
    if old.len() != new.len() || old.len() % 2 != 0 {
        return check;
    }
    // ~m summed over the words equals (0xffff * words - sum(m)) in one's complement,
    // i.e. the complement of sum(m).
    Checksum::new()
        .add_u16(!check)
        .add_u16(!sum_be(old))
        .add_u16(sum_be(new))
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixed fold sequence of `sum` equals folding until the value fits 16 bits, for
    /// accumulators at every carry boundary up to `u64::MAX`.
    #[test]
    fn fixed_fold_equals_iterated_fold() {
        fn iterated(mut s: u64) -> u16 {
            while s >> 16 != 0 {
                s = (s & 0xffff) + (s >> 16);
            }
            s as u16
        }
        let mut values = std::vec![
            0,
            1,
            0xfffe,
            0xffff,
            0x1_0000,
            0x1_fffe,
            u64::MAX,
            u64::MAX - 1
        ];
        for shift in 0..64 {
            for delta in [0u64, 1, 0xffff] {
                values.push((1u64 << shift).wrapping_sub(delta));
                values.push((1u64 << shift).wrapping_add(delta));
            }
        }
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push(x);
            values.push(x >> 20);
        }
        for acc in values {
            assert_eq!(Checksum { acc }.sum(), iterated(acc), "acc {acc:#x}");
        }
    }

    /// Byte-at-a-time reference straight from RFC 1071 §4.1.
    fn reference(bytes: &[u8]) -> u16 {
        let mut sum: u32 = 0;
        let mut i = 0;
        while i + 1 < bytes.len() {
            sum += u32::from(u16::from_be_bytes([bytes[i], bytes[i + 1]]));
            i += 2;
        }
        if i < bytes.len() {
            sum += u32::from(bytes[i]) << 8;
        }
        while sum >> 16 != 0 {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        !(sum as u16)
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to 0xddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(Checksum::new().add_bytes(&data).sum(), 0xddf2);
        assert_eq!(of(&data), 0x220d);
    }

    #[test]
    fn ipv4_header_known_value() {
        // A classic IPv4 header whose checksum is 0xb861.
        let mut h = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(of(&h), 0xb861);
        h[10..12].copy_from_slice(&0xb861u16.to_be_bytes());
        assert!(verifies(&h));
    }

    #[test]
    fn matches_reference_for_every_length_and_alignment() {
        let data: [u8; 300] = core::array::from_fn(|i| (i * 7 + 13) as u8 ^ 0x5a);
        for start in 0..8 {
            for len in 0..(300 - start) {
                let s = &data[start..start + len];
                assert_eq!(of(s), reference(s), "start {start} len {len}");
            }
        }
    }

    #[test]
    fn all_ones_does_not_overflow() {
        let data = [0xffu8; 9000];
        assert_eq!(of(&data), reference(&data));
    }

    #[test]
    fn split_runs_equal_one_run() {
        let data: [u8; 64] = core::array::from_fn(|i| i as u8);
        let whole = of(&data);
        let parts = Checksum::new()
            .add_bytes(&data[..20])
            .add_bytes(&data[20..40])
            .add_bytes(&data[40..])
            .finish();
        assert_eq!(whole, parts);
    }

    #[test]
    fn incremental_equals_recompute() {
        let mut h = [
            0x45, 0x00, 0x00, 0x73, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0x0a, 0x00,
            0x00, 0x05, 0x0a, 0x00, 0x00, 0x07,
        ];
        let c = of(&h);
        // Change the source address 10.0.0.5 -> 192.168.4.11.
        let old = u32::from_be_bytes([h[12], h[13], h[14], h[15]]);
        let new = u32::from_be_bytes([192, 168, 4, 11]);
        h[12..16].copy_from_slice(&new.to_be_bytes());
        assert_eq!(update_u32(c, old, new), of(&h));
        // Change TTL/protocol word.
        let c2 = of(&h);
        h[8] = 0x3f;
        assert_eq!(update_u16(c2, 0x4011, 0x3f11), of(&h));
        // Same change expressed as bytes.
        let c3 = of(&h);
        h[4..6].copy_from_slice(&[0xab, 0xcd]);
        assert_eq!(update_bytes(c3, &[0x12, 0x34], &[0xab, 0xcd]), of(&h));
    }

    #[test]
    fn pseudo_headers() {
        // UDP over IPv4: pseudo sum then payload equals the sum of the concatenation.
        let src = Ipv4Addr::new(10, 0, 0, 5);
        let dst = Ipv4Addr::new(10, 0, 0, 7);
        let seg = [0x30, 0x39, 0x00, 0x35, 0x00, 0x0a, 0x00, 0x00, 0xde, 0xad];
        let mut concat = [0u8; 22];
        concat[..4].copy_from_slice(&src.octets());
        concat[4..8].copy_from_slice(&dst.octets());
        concat[9] = 17;
        concat[10..12].copy_from_slice(&10u16.to_be_bytes());
        concat[12..].copy_from_slice(&seg);
        assert_eq!(
            pseudo_v4(src, dst, 17, 10).add_bytes(&seg).finish(),
            reference(&concat)
        );

        let s6: Ipv6Addr = "fe80::1".parse().unwrap();
        let d6: Ipv6Addr = "ff02::1:ff00:7".parse().unwrap();
        let mut c6 = [0u8; 40 + 10];
        c6[..16].copy_from_slice(&s6.octets());
        c6[16..32].copy_from_slice(&d6.octets());
        c6[32..36].copy_from_slice(&10u32.to_be_bytes());
        c6[39] = 58;
        c6[40..].copy_from_slice(&seg);
        assert_eq!(
            pseudo_v6(s6, d6, 58, 10).add_bytes(&seg).finish(),
            reference(&c6)
        );
    }
}
