//! The capture reader (`hnv_sim::pcap::CaptureReader`: pcap in either byte order and
//! resolution, pcapng) on arbitrary bytes: never a panic, only typed errors. Every frame it
//! yields is bounded by `MAX_SNAPLEN`, has a fraction below one second, and is made of
//! bytes of the input; the frames read before an error, written as pcap and read back,
//! are the same frames.
#![no_main]

use hnv_sim::pcap::{CaptureReader, PcapWriter, MAX_SNAPLEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(reader) = CaptureReader::open(data) else {
        return;
    };
    let mut frames = Vec::new();
    let mut total = 0usize;
    for item in reader {
        let Ok(frame) = item else { break };
        assert!(
            frame.data.len() <= MAX_SNAPLEN as usize,
            "frame over the snap length cap"
        );
        assert!(
            frame.frac < 1_000_000_000,
            "fraction of a second out of range"
        );
        total += frame.data.len();
        assert!(total <= data.len(), "more frame bytes than input bytes");
        frames.push(frame);
    }
    let mut out = Vec::new();
    let mut w = PcapWriter::new_nanos(&mut out).expect("writing to memory");
    for f in &frames {
        w.write_frame(f.secs, f.frac, &f.data)
            .expect("writing to memory");
    }
    drop(w);
    let again: Vec<_> = CaptureReader::open(&out[..])
        .expect("our own pcap opens")
        .collect::<Result<_, _>>()
        .expect("our own pcap reads");
    assert_eq!(again.len(), frames.len());
    for (a, b) in again.iter().zip(&frames) {
        assert_eq!((a.secs, a.frac, &a.data), (b.secs, b.frac, &b.data));
    }
});
