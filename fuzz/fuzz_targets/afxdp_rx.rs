//! What hnv-afxdp does with bytes it receives, on arbitrary input: a TAP port's
//! virtio-net header (`vnet::parse`, `vnet::finish_rx`), the segmentation of a
//! super-frame it accepted (`Segmenter::send` into a port that records what it is given),
//! the uplink's neighbour snooping (`snoop`, HostA of `docs/examples/seed-policy.json`)
//! and the workers' software RSS (`Spread::pick`).
//!
//! Invariants checked:
//! * no panic;
//! * `finish_rx` keeps the frame's length; it returns a segmentation exactly when the
//!   header's `gso_of` does, and then the same one;
//! * `Segmenter::send` of a super-frame: either it is cut (`segmented` + 1, `segments`
//!   grows by the segments the port got, at most `MAX_SEGMENTS`, each at least an
//!   Ethernet header and no longer than the super-frame or 60 bytes), or it is
//!   refused (one failure counted, nothing sent); never both, never neither;
//! * `snoop` answers only for ARP or IPv6 frames, never with a multicast MAC;
//! * `Spread::pick` names one of the workers, the same one for the same frame.
//!
//! Input layout: byte 0 the number of workers (1 + its value modulo 8), then a 10-byte
//! virtio-net header, then the frame.
#![no_main]

use std::os::fd::RawFd;
use std::sync::OnceLock;

use hnv_afxdp::vnet::{self, VNET_HDR_LEN};
use hnv_afxdp::{
    snoop, Frame, Port, PortCounters, PortError, Segmenter, SharedTables, Spread, MAX_SEGMENTS,
};
use hnv_core::policy::{file, Tables};
use libfuzzer_sys::fuzz_target;

/// A port that keeps the lengths of the frames it is given.
struct Recorder {
    sent: Vec<usize>,
    counters: PortCounters,
}

impl Port for Recorder {
    fn name(&self) -> &str {
        "recorder"
    }
    fn kind(&self) -> &'static str {
        "fuzz"
    }
    fn recv(&mut self, _frames: &mut [Frame]) -> Result<usize, PortError> {
        Ok(0)
    }
    fn send(&mut self, frame: &[u8]) -> bool {
        self.sent.push(frame.len());
        true
    }
    fn flush(&mut self) -> Result<(), PortError> {
        Ok(())
    }
    fn counters(&self) -> PortCounters {
        self.counters
    }
    fn poll_fd(&self) -> RawFd {
        -1
    }
}

fn tables() -> &'static SharedTables {
    static T: OnceLock<SharedTables> = OnceLock::new();
    T.get_or_init(|| {
        let policy = file::from_json(hnv_sim::seed::POLICY).expect("the seed policy");
        SharedTables::new(Tables::compile(&policy, "HostA").expect("HostA"))
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&workers, rest)) = data.split_first() else {
        return;
    };
    let Ok(hdr) = vnet::parse(rest) else {
        return;
    };
    let mut frame = rest[VNET_HDR_LEN..].to_vec();

    // RSS: one of the workers, deterministically.
    let spread = Spread::new(1 + usize::from(workers % 8));
    let w = spread.pick(&frame);
    assert!(w < spread.workers());
    assert_eq!(w, spread.pick(&frame));

    // Snooping on the uplink.
    if let Some((_, mac)) = snoop(&frame, tables()) {
        assert!(frame.len() >= 14 && matches!(&frame[12..14], [0x08, 0x06] | [0x86, 0xdd]));
        assert!(!mac.is_multicast());
    }

    // The TAP receive path, then the segmenter.
    let len = frame.len();
    let rx = vnet::finish_rx(hdr, &mut frame);
    assert_eq!(frame.len(), len);
    match (&rx, vnet::gso_of(hdr)) {
        (Ok(rx), Ok(g)) => assert_eq!(rx.gso, g),
        (Ok(_), Err(e)) => panic!("finish_rx accepted a header gso() refuses: {e:?}"),
        (Err(_), _) => return,
    }
    let Some(gso) = rx.ok().and_then(|r| r.gso) else {
        return;
    };
    let mut seg = Segmenter::new();
    let mut port = Recorder {
        sent: Vec::new(),
        counters: PortCounters::default(),
    };
    let before = seg.counters();
    let sent = seg.send(&mut port, &frame, gso);
    let after = seg.counters();
    assert_eq!(sent, port.sent.len() as u64);
    let cut = after.segmented - before.segmented;
    let refused = after.failures() - before.failures();
    assert_eq!(cut + refused, 1, "{before:?} -> {after:?}");
    if cut == 1 {
        assert_eq!(after.segments - before.segments, port.sent.len() as u64);
        assert!(!port.sent.is_empty() && port.sent.len() <= MAX_SEGMENTS);
        for &l in &port.sent {
            assert!(
                l >= 14 && l <= frame.len().max(60),
                "segment of {l} bytes from {}",
                frame.len()
            );
        }
    } else {
        assert!(port.sent.is_empty());
    }
});
