//! [`Spread`]: software RSS over the switch workers of a single-queue device — hnv-offload's
//! Toeplitz hash on the inner headers, the NDIS rules for NVGRE.
//!
//! An NVGRE frame from the wire hashes its inner TCP/UDP 4-tuple (other inner traffic:
//! the outer PA pair); a frame from a VM port hashes its own 4-tuple, or its 2-tuple
//! for other IP traffic. Frames that are not IP (ARP, for instance) all go to worker 0.
//! The same flow always lands on the same worker, so per-flow order is kept.

use hnv_offload::soft::rss::{Rss, MS_VERIFICATION_KEY};
use hnv_offload::OffloadCaps;

/// Picks a worker for each frame.
#[derive(Debug, Clone)]
pub struct Spread {
    rss: Rss,
    workers: u16,
}

impl Spread {
    /// Spreading over `workers` workers (at least 1, at most 128: the indirection table).
    pub fn new(workers: usize) -> Self {
        let workers = u16::try_from(workers.clamp(1, 128)).unwrap_or(1);
        Self {
            rss: Rss::new(
                &MS_VERIFICATION_KEY,
                OffloadCaps::RSS_INNER | OffloadCaps::ALL_RSS_TYPES,
                workers,
            ),
            workers,
        }
    }

    /// Workers spread over.
    pub fn workers(&self) -> usize {
        usize::from(self.workers)
    }

    /// The worker for `frame` (`0..workers`).
    #[inline]
    pub fn pick(&self, frame: &[u8]) -> usize {
        if self.workers == 1 {
            return 0;
        }
        usize::from(self.rss.classify(frame).queue) % usize::from(self.workers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;
    use hnv_core::buf::FrameBuf;
    use hnv_core::ids::{MacAddr, Vsid};
    use hnv_core::nvgre::{self, EncapParams, Underlay};

    fn udp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
        let b = PacketBuilder::ethernet2([0, 0x15, 0x5d, 0, 0, 1], [0, 0x15, 0x5d, 0, 0, 2])
            .ipv4(src, dst, 64)
            .udp(sport, dport);
        let mut out = Vec::new();
        b.write(&mut out, &[1, 2, 3, 4]).unwrap();
        out
    }

    fn nvgre_of(inner: &[u8], outer_src: [u8; 4]) -> Vec<u8> {
        let mut mem = vec![0u8; nvgre::MAX_OVERHEAD + inner.len()];
        mem[nvgre::MAX_OVERHEAD..].copy_from_slice(inner);
        let mut f = FrameBuf::new(&mut mem, nvgre::MAX_OVERHEAD, inner.len()).unwrap();
        let p = EncapParams::new(
            Vsid::new(5001).unwrap(),
            MacAddr([2, 0, 0, 0, 0x0a, 1]),
            MacAddr([2, 0, 0, 0, 0x0b, 1]),
            Underlay::V4 {
                src: outer_src.into(),
                dst: [192, 168, 4, 22].into(),
            },
        );
        nvgre::encap(&mut f, &p).unwrap();
        hnv_core::buf::PacketBuf::data(&f).to_vec()
    }

    #[test]
    fn same_flow_same_worker_and_flows_spread() {
        let s = Spread::new(2);
        let mut seen = [0usize; 2];
        for port in 0..64u16 {
            let f = udp([10, 0, 0, 5], [10, 0, 0, 7], 40000 + port, 7);
            let w = s.pick(&f);
            assert!(w < 2);
            // The same flow, another payload: same worker, every time.
            let mut g = f.clone();
            let last = g.len() - 1;
            g[last] ^= 0xff;
            assert_eq!(s.pick(&g), w);
            assert_eq!(s.pick(&f), w);
            seen[w] += 1;
        }
        assert!(
            seen[0] >= 8 && seen[1] >= 8,
            "64 flows over 2 workers: {seen:?}"
        );

        let s4 = Spread::new(4);
        let mut seen4 = [0usize; 4];
        for port in 0..256u16 {
            seen4[s4.pick(&udp([10, 0, 0, 5], [10, 0, 0, 7], 1000 + port, 80))] += 1;
        }
        assert!(seen4.iter().all(|&n| n >= 16), "{seen4:?}");
    }

    #[test]
    fn nvgre_hashes_the_inner_flow() {
        let s = Spread::new(2);
        let mut spread = [0usize; 2];
        for port in 0..64u16 {
            let inner = udp([10, 0, 0, 7], [10, 0, 0, 5], 7, 40000 + port);
            // Same inner flow from two different outer sources: the inner 4-tuple
            // decides, and a plain frame of that flow hashes the same.
            let a = s.pick(&nvgre_of(&inner, [192, 168, 4, 22]));
            let b = s.pick(&nvgre_of(&inner, [192, 168, 4, 23]));
            assert_eq!(a, b, "inner flow decides");
            assert_eq!(a, s.pick(&inner));
            spread[a] += 1;
        }
        assert!(spread[0] > 0 && spread[1] > 0, "{spread:?}");
    }

    #[test]
    fn non_ip_goes_to_worker_0() {
        let s = Spread::new(4);
        let mut arp = Vec::new();
        PacketBuilder::ethernet2([0, 0x15, 0x5d, 0, 0, 1], [0xff; 6])
            .arp(
                etherparse::ArpPacket::new(
                    etherparse::ArpHardwareId::ETHERNET,
                    etherparse::EtherType::IPV4,
                    etherparse::ArpOperation::REQUEST,
                    &[0, 0x15, 0x5d, 0, 0, 1],
                    &[10, 0, 0, 5],
                    &[0; 6],
                    &[10, 0, 0, 7],
                )
                .unwrap(),
            )
            .write(&mut arp)
            .unwrap();
        assert_eq!(s.pick(&arp), 0);
        assert_eq!(s.pick(&[]), 0);
        assert_eq!(s.pick(&[0xff; 7]), 0);
        assert_eq!(
            Spread::new(1).pick(&udp([1, 1, 1, 1], [2, 2, 2, 2], 1, 2)),
            0
        );
    }
}
