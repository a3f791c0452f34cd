//! Capture reading: pcapng blocks built by hand (each block kind, both byte orders,
//! timestamp resolutions) and every malformation, classic pcap through the same entry
//! point, arbitrary bytes (no panic), and Wireshark's editcap as an independent writer of
//! pcapng and nanosecond pcap. `scripts/test` installs editcap (Debian package tshark);
//! without it the cross-check fails.

use std::path::Path;
use std::process::Command;

use hnv_sim::pcap::{
    BlockKind, BlockProblem, CaptureFormat, CaptureReader, PcapError, PcapFrame, PcapWriter,
    PcapngReader, MAX_BLOCK_LEN, MAX_SNAPLEN,
};
use proptest::prelude::*;

const SHB: u32 = 0x0a0d_0d0a;
const IDB: u32 = 1;
const PB: u32 = 2;
const SPB: u32 = 3;
const NRB: u32 = 4;
const EPB: u32 = 6;

/// Writes pcapng words in one byte order.
#[derive(Clone, Copy)]
struct Order {
    big: bool,
}

const LE: Order = Order { big: false };
const BE: Order = Order { big: true };

impl Order {
    fn u16(self, v: u16) -> [u8; 2] {
        if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    fn u32(self, v: u32) -> [u8; 4] {
        if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    /// A block: type, total length, body padded to 4 bytes, total length.
    fn block(self, ty: u32, body: &[u8]) -> Vec<u8> {
        let mut padded = body.to_vec();
        padded.resize(body.len().next_multiple_of(4), 0);
        let total = 12 + padded.len() as u32;
        [
            &self.u32(ty)[..],
            &self.u32(total),
            &padded,
            &self.u32(total),
        ]
        .concat()
    }

    fn shb(self) -> Vec<u8> {
        let body = [
            &self.u32(0x1a2b_3c4d)[..],
            &self.u16(1),
            &self.u16(0),
            &[0xff; 8],
        ]
        .concat();
        self.block(SHB, &body)
    }

    /// An interface description with options `(code, value)`, ended by opt_endofopt.
    fn idb(self, link: u16, snaplen: u32, opts: &[(u16, &[u8])]) -> Vec<u8> {
        let mut body = [&self.u16(link)[..], &[0, 0], &self.u32(snaplen)].concat();
        for (code, value) in opts {
            body.extend_from_slice(&self.u16(*code));
            body.extend_from_slice(&self.u16(value.len() as u16));
            body.extend_from_slice(value);
            body.resize(body.len().next_multiple_of(4), 0);
        }
        if !opts.is_empty() {
            body.extend_from_slice(&[0; 4]);
        }
        self.block(IDB, &body)
    }

    fn epb(self, iface: u32, ts: u64, data: &[u8]) -> Vec<u8> {
        let body = [
            &self.u32(iface)[..],
            &self.u32((ts >> 32) as u32),
            &self.u32(ts as u32),
            &self.u32(data.len() as u32),
            &self.u32(data.len() as u32 + 100),
            data,
        ]
        .concat();
        self.block(EPB, &body)
    }

    fn spb(self, orig_len: u32, data: &[u8]) -> Vec<u8> {
        self.block(SPB, &[&self.u32(orig_len)[..], data].concat())
    }

    /// An obsolete Packet Block.
    fn pb(self, iface: u16, ts: u64, data: &[u8]) -> Vec<u8> {
        let body = [
            &self.u16(iface)[..],
            &self.u16(0),
            &self.u32((ts >> 32) as u32),
            &self.u32(ts as u32),
            &self.u32(data.len() as u32),
            &self.u32(data.len() as u32),
            data,
        ]
        .concat();
        self.block(PB, &body)
    }
}

fn frame(secs: u32, frac: u32, orig_len: u32, data: &[u8]) -> PcapFrame {
    PcapFrame {
        secs,
        frac,
        orig_len,
        data: data.to_vec(),
    }
}

fn read_all(bytes: &[u8]) -> Result<Vec<PcapFrame>, PcapError> {
    CaptureReader::open(bytes)?.collect()
}

/// The frames read before the first error, and the error.
fn read_until_error(bytes: &[u8]) -> (Vec<PcapFrame>, PcapError) {
    let mut frames = Vec::new();
    let mut r = match CaptureReader::open(bytes) {
        Ok(r) => r,
        Err(e) => return (frames, e),
    };
    for f in r.by_ref() {
        match f {
            Ok(f) => frames.push(f),
            Err(e) => {
                assert!(r.next().is_none(), "the reader stops after an error");
                return (frames, e);
            }
        }
    }
    panic!("no error in a capture that should have one");
}

/// One section with every block kind: two interfaces, a skipped block, packets.
fn every_block(o: Order) -> Vec<u8> {
    [
        o.shb(),
        o.idb(1, 0, &[]),
        o.idb(1, 4, &[(9, &[9]), (2, b"eth0 with a name")]),
        o.block(NRB, &[1, 2, 3, 4, 5, 6, 7, 8]),
        o.block(0x8000_0bad, &[]),
        o.epb(0, 1_500_000, &[0xaa; 5]),
        o.epb(1, 2_000_000_123, &[0xbb; 60]),
        o.spb(6, &[1, 2, 3, 4, 5, 6, 0, 0]),
        o.pb(1, 7_000_000_001, &[0xcc; 3]),
    ]
    .concat()
}

#[test]
fn every_block_kind_in_both_byte_orders() {
    let expect = vec![
        frame(1, 500_000_000, 105, &[0xaa; 5]),
        frame(2, 123, 160, &[0xbb; 60]),
        // Simple Packet Block: cut to interface 0's snaplen (0: none), no timestamp.
        frame(0, 0, 6, &[1, 2, 3, 4, 5, 6]),
        frame(7, 1, 3, &[0xcc; 3]),
    ];
    for o in [LE, BE] {
        let bytes = every_block(o);
        let r = CaptureReader::open(&bytes[..]).unwrap();
        assert_eq!(r.format(), CaptureFormat::Pcapng);
        assert_eq!(r.collect::<Result<Vec<_>, _>>().unwrap(), expect);
        let direct: Vec<_> = PcapngReader::new(&bytes[..])
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(direct, expect);
    }
}

#[test]
fn simple_packets_are_cut_to_the_snaplen() {
    let bytes = [LE.shb(), LE.idb(1, 4, &[]), LE.spb(6, &[1, 2, 3, 4, 5, 6])].concat();
    assert_eq!(read_all(&bytes).unwrap(), [frame(0, 0, 6, &[1, 2, 3, 4])]);
}

#[test]
fn timestamp_resolutions_and_offsets() {
    let offset = 100i64.to_le_bytes();
    let bytes = [
        LE.shb(),
        // 2^-10 s units, timestamps shifted by 100 s.
        LE.idb(1, 0, &[(9, &[0x8a]), (14, &offset)]),
        // Milliseconds.
        LE.idb(1, 0, &[(9, &[3])]),
        LE.epb(0, 5 * 1024 + 256, &[1]),
        LE.epb(1, 12_345, &[2]),
    ]
    .concat();
    assert_eq!(
        read_all(&bytes).unwrap(),
        [
            frame(105, 250_000_000, 101, &[1]),
            frame(12, 345_000_000, 101, &[2])
        ]
    );
}

#[test]
fn sections_change_byte_order_and_forget_interfaces() {
    let bytes = [
        LE.shb(),
        LE.idb(1, 0, &[]),
        LE.idb(1, 0, &[(9, &[9])]),
        LE.epb(1, 7, &[1]),
        BE.shb(),
        BE.idb(1, 0, &[]),
        BE.epb(0, 3_000_001, &[2]),
        BE.epb(1, 0, &[3]),
    ]
    .concat();
    let (frames, e) = read_until_error(&bytes);
    assert_eq!(frames, [frame(0, 7, 101, &[1]), frame(3, 1000, 101, &[2])]);
    let offset = (bytes.len() - BE.epb(1, 0, &[3]).len()) as u64;
    assert!(
        matches!(
            e,
            PcapError::Block {
                block: 7,
                offset: o,
                kind: BlockKind::EnhancedPacket,
                frame: 2,
                problem: BlockProblem::UnknownInterface(1),
            } if o == offset
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "frame 2: Enhanced Packet Block (block 7, byte {offset}): interface 1 is not described"
        )
    );
}

#[test]
fn classic_pcap_through_the_same_entry_point() {
    let mut w = PcapWriter::new(Vec::new()).unwrap();
    w.write_frame(3, 999_999, &[1, 2, 3]).unwrap();
    w.write_frame(4, 1_000_001, &[4]).unwrap(); // out of range: carried into the seconds
    let us = w.into_inner().unwrap();
    let r = CaptureReader::open(&us[..]).unwrap();
    assert_eq!(r.format(), CaptureFormat::Pcap);
    assert_eq!(
        r.collect::<Result<Vec<_>, _>>().unwrap(),
        [
            frame(3, 999_999_000, 3, &[1, 2, 3]),
            frame(5, 1000, 1, &[4])
        ]
    );

    let mut w = PcapWriter::new_nanos(Vec::new()).unwrap();
    w.write_frame(3, 999_999_999, &[1]).unwrap();
    let ns = w.into_inner().unwrap();
    let r = CaptureReader::open(&ns[..]).unwrap();
    assert_eq!(r.format(), CaptureFormat::PcapNanos);
    assert_eq!(
        r.collect::<Result<Vec<_>, _>>().unwrap(),
        [frame(3, 999_999_999, 1, &[1])]
    );

    // Big-endian, nanosecond magic.
    let mut be = vec![0xa1, 0xb2, 0x3c, 0x4d, 0, 2, 0, 4];
    be.extend_from_slice(&[0; 8]);
    be.extend_from_slice(&[0, 0, 0xff, 0xff, 0, 0, 0, 1]);
    be.extend_from_slice(&[0, 0, 0, 9, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 1, 0xee]);
    assert_eq!(read_all(&be).unwrap(), [frame(9, 7, 1, &[0xee])]);
}

/// The error a capture gives, with its message.
fn error_of(bytes: &[u8]) -> (PcapError, String) {
    let (_, e) = read_until_error(bytes);
    let s = e.to_string();
    (e, s)
}

fn block_problem(e: &PcapError) -> (usize, u64, BlockKind, usize, BlockProblem) {
    match *e {
        PcapError::Block {
            block,
            offset,
            kind,
            frame,
            problem,
        } => (block, offset, kind, frame, problem),
        ref other => panic!("not a block error: {other:?}"),
    }
}

#[test]
fn file_level_errors() {
    let (e, s) = error_of(b"");
    assert!(matches!(e, PcapError::Empty));
    assert_eq!(s, "the capture file is empty");

    let (e, _) = error_of(&[0x0a, 0x0d, 0x0d]);
    assert!(matches!(e, PcapError::HeaderTruncated { len: 3 }));

    let (e, s) = error_of(b"GIF89a and more bytes");
    assert!(matches!(e, PcapError::BadMagic(0x3846_4947)));
    assert_eq!(s, "not a pcap or pcapng file (magic 0x38464947)");

    let header = PcapWriter::new(Vec::new()).unwrap().into_inner().unwrap();
    let (e, s) = error_of(&header[..10]);
    assert!(matches!(e, PcapError::HeaderTruncated { len: 10 }));
    assert_eq!(s, "file ends inside the file header (10 bytes)");

    let mut raw_ip = header.clone();
    raw_ip[20] = 101;
    let (e, _) = error_of(&raw_ip);
    assert!(matches!(e, PcapError::LinkType(101)));

    let mut w = PcapWriter::new(Vec::new()).unwrap();
    w.write_frame(0, 0, &[1; 20]).unwrap();
    w.write_frame(0, 0, &[2; 20]).unwrap();
    let two = w.into_inner().unwrap();
    let (e, s) = error_of(&two[..two.len() - 5]);
    assert!(matches!(e, PcapError::Truncated { index: 1 }));
    assert_eq!(s, "frame 1: file ends inside the record");
    let (e, _) = error_of(&two[..24 + 16 + 20 + 7]);
    assert!(matches!(e, PcapError::Truncated { index: 1 }));
}

#[test]
fn section_header_errors() {
    // Cut inside the section header: the file has only its type and length.
    let shb = LE.shb();
    let (e, s) = error_of(&shb[..8]);
    assert_eq!(
        block_problem(&e),
        (0, 0, BlockKind::SectionHeader, 0, BlockProblem::Truncated)
    );
    assert_eq!(
        s,
        "Section Header Block (block 0, byte 0, before frame 0): file ends inside the block"
    );
    let (e, _) = error_of(&shb[..27]);
    assert_eq!(block_problem(&e).4, BlockProblem::Truncated);

    let mut bom = shb.clone();
    bom[8..12].copy_from_slice(&[1, 2, 3, 4]);
    let (e, s) = error_of(&bom);
    assert_eq!(
        block_problem(&e).4,
        BlockProblem::ByteOrderMagic(0x0403_0201)
    );
    assert!(
        s.ends_with("byte-order magic 0x04030201 is not 0x1a2b3c4d"),
        "{s}"
    );

    let mut v2 = shb.clone();
    v2[12..14].copy_from_slice(&2u16.to_le_bytes());
    let (e, _) = error_of(&v2);
    assert_eq!(
        block_problem(&e).4,
        BlockProblem::Version { major: 2, minor: 0 }
    );

    // A second section header that is broken: named at its offset.
    let mut two = [LE.shb(), LE.idb(1, 0, &[]), LE.epb(0, 0, &[1])].concat();
    let at = two.len() as u64;
    two.extend_from_slice(&bom);
    let (frames, e) = read_until_error(&two);
    assert_eq!(frames.len(), 1);
    assert_eq!(
        block_problem(&e),
        (
            3,
            at,
            BlockKind::SectionHeader,
            1,
            BlockProblem::ByteOrderMagic(0x0403_0201)
        )
    );
}

#[test]
fn framing_errors() {
    let start = [LE.shb(), LE.idb(1, 0, &[])].concat();
    let at = start.len() as u64;
    let with = |tail: &[u8]| [&start[..], tail].concat();
    let epb = LE.epb(0, 0, &[7; 8]);

    // Cut inside the block header, then inside the body.
    let (e, s) = error_of(&with(&epb[..2]));
    assert_eq!(
        block_problem(&e),
        (2, at, BlockKind::Incomplete, 0, BlockProblem::Truncated)
    );
    assert_eq!(
        s,
        format!("incomplete block header (block 2, byte {at}, before frame 0): file ends inside the block")
    );
    let (e, _) = error_of(&with(&epb[..6]));
    assert_eq!(
        block_problem(&e),
        (2, at, BlockKind::EnhancedPacket, 0, BlockProblem::Truncated)
    );
    let (e, s) = error_of(&with(&epb[..epb.len() - 1]));
    assert_eq!(
        block_problem(&e),
        (2, at, BlockKind::EnhancedPacket, 0, BlockProblem::Truncated)
    );
    assert_eq!(
        s,
        format!("frame 0: Enhanced Packet Block (block 2, byte {at}): file ends inside the block")
    );

    // Lengths: too small for the kind, not a multiple of 4, beyond the cap (rejected
    // before anything is read or allocated), different at both ends.
    let mut short = epb.clone();
    short[4..8].copy_from_slice(&28u32.to_le_bytes());
    let (e, _) = error_of(&with(&short));
    assert_eq!(block_problem(&e).4, BlockProblem::BadLength(28));
    let mut odd = epb.clone();
    odd[4..8].copy_from_slice(&41u32.to_le_bytes());
    let (e, _) = error_of(&with(&odd));
    assert_eq!(block_problem(&e).4, BlockProblem::BadLength(41));
    let mut huge = epb.clone();
    huge[4..8].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    let (e, s) = error_of(&with(&huge));
    assert_eq!(block_problem(&e).4, BlockProblem::TooLarge(0xffff_fff0));
    assert!(s.ends_with(&format!("block length 4294967280 exceeds {MAX_BLOCK_LEN}")));
    let mut mismatch = epb.clone();
    let n = mismatch.len();
    mismatch[n - 4..].copy_from_slice(&44u32.to_le_bytes());
    let (e, s) = error_of(&with(&mismatch));
    assert_eq!(
        block_problem(&e).4,
        BlockProblem::LengthMismatch {
            head: n as u32,
            tail: 44
        }
    );
    assert!(s.ends_with(&format!("block length {n} at its start but 44 at its end")));

    // Unknown block types are checked for framing too.
    let mut other = LE.block(0x0bad, &[0; 8]);
    other[4..8].copy_from_slice(&24u32.to_le_bytes());
    let (e, _) = error_of(&with(&other));
    assert_eq!(
        block_problem(&e),
        (2, at, BlockKind::Other(0x0bad), 0, BlockProblem::Truncated)
    );
}

#[test]
fn interface_errors() {
    let shb = LE.shb();
    let at = shb.len() as u64;
    let with = |tail: &[u8]| [&shb[..], tail].concat();

    let (e, s) = error_of(&with(&LE.idb(101, 0, &[])));
    assert_eq!(
        block_problem(&e),
        (
            1,
            at,
            BlockKind::InterfaceDescription,
            0,
            BlockProblem::LinkType(101)
        )
    );
    assert_eq!(
        s,
        format!("Interface Description Block (block 1, byte {at}, before frame 0): link type 101 is not Ethernet (1)")
    );

    let (e, _) = error_of(&with(&LE.idb(1, 0, &[(9, &[20])])));
    assert_eq!(block_problem(&e).4, BlockProblem::TsResolution(20));
    let (e, _) = error_of(&with(&LE.idb(1, 0, &[(9, &[0xc0])])));
    assert_eq!(block_problem(&e).4, BlockProblem::TsResolution(0xc0));

    // An option whose length runs past the block.
    let mut body = [&LE.u16(1)[..], &[0, 0], &LE.u32(0)].concat();
    body.extend_from_slice(&LE.u16(2));
    body.extend_from_slice(&LE.u16(40));
    body.extend_from_slice(b"eth0");
    let (e, s) = error_of(&with(&LE.block(IDB, &body)));
    assert_eq!(block_problem(&e).4, BlockProblem::BadOption { code: 2 });
    assert!(
        s.ends_with("option 2 runs past the end of the block"),
        "{s}"
    );

    // Packets before any interface, or naming one that does not exist.
    let (e, _) = error_of(&with(&LE.spb(4, &[1, 2, 3, 4])));
    assert_eq!(
        block_problem(&e),
        (
            1,
            at,
            BlockKind::SimplePacket,
            0,
            BlockProblem::UnknownInterface(0)
        )
    );
    let (e, _) = error_of(&with(&LE.epb(0, 0, &[1])));
    assert_eq!(block_problem(&e).4, BlockProblem::UnknownInterface(0));
    let (e, _) = error_of(&with(&[LE.idb(1, 0, &[]), LE.pb(3, 0, &[1])].concat()));
    assert_eq!(
        block_problem(&e),
        (
            2,
            at + 20,
            BlockKind::Packet,
            0,
            BlockProblem::UnknownInterface(3)
        )
    );
}

#[test]
fn captured_length_errors() {
    let start = [LE.shb(), LE.idb(1, 0, &[])].concat();
    let with = |tail: &[u8]| [&start[..], tail].concat();

    // Captured length beyond the block's data.
    let mut epb = LE.epb(0, 0, &[1; 8]);
    epb[20..24].copy_from_slice(&13u32.to_le_bytes());
    let (e, s) = error_of(&with(&[LE.epb(0, 0, &[9]), epb].concat()));
    assert_eq!(
        block_problem(&e),
        (
            3,
            start.len() as u64 + 36,
            BlockKind::EnhancedPacket,
            1,
            BlockProblem::CapturedLength { len: 13, room: 8 }
        )
    );
    assert!(
        s.starts_with("frame 1: Enhanced Packet Block (block 3, byte 84)"),
        "{s}"
    );

    // A Simple Packet Block whose original length exceeds its data (no snaplen).
    let (e, _) = error_of(&with(&LE.spb(9, &[1, 2, 3, 4])));
    assert_eq!(
        block_problem(&e).4,
        BlockProblem::CapturedLength { len: 9, room: 4 }
    );

    // Above MAX_SNAPLEN, inside a block that is within MAX_BLOCK_LEN.
    let big = vec![0u8; MAX_SNAPLEN as usize + 4];
    let (e, _) = error_of(&with(&LE.epb(0, 0, &big)));
    assert_eq!(
        block_problem(&e).4,
        BlockProblem::FrameTooLarge(MAX_SNAPLEN + 4)
    );
    // Exactly MAX_SNAPLEN is fine.
    let max = vec![5u8; MAX_SNAPLEN as usize];
    let frames = read_all(&with(&LE.epb(0, 0, &max))).unwrap();
    assert_eq!(frames[0].data.len(), MAX_SNAPLEN as usize);
}

fn valid_sample() -> Vec<u8> {
    every_block(LE)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Arbitrary bytes after a section header: frames or a typed error, never a panic,
    /// and the reader stops.
    #[test]
    fn any_bytes_after_a_section_header(tail in proptest::collection::vec(any::<u8>(), 0..300)) {
        let bytes = [&LE.shb()[..], &tail].concat();
        if let Ok(r) = CaptureReader::open(&bytes[..]) {
            prop_assert!(r.take(1000).count() < 1000);
        }
    }

    /// A valid capture with bytes overwritten or cut: never a panic.
    #[test]
    fn mutated_captures(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        pcap in any::<bool>(),
    ) {
        let mut bytes = if pcap {
            let mut w = PcapWriter::new(Vec::new()).unwrap();
            w.write_frame(1, 2, &[3; 40]).unwrap();
            w.write_frame(4, 5, &[6; 7]).unwrap();
            w.into_inner().unwrap()
        } else {
            valid_sample()
        };
        for (i, b) in &edits {
            let i = i.index(bytes.len());
            bytes[i] = *b;
        }
        bytes.truncate(cut.index(bytes.len() + 1));
        if let Ok(r) = CaptureReader::open(&bytes[..]) {
            for f in r.take(1000).flatten() {
                prop_assert!(f.data.len() <= MAX_SNAPLEN as usize);
                prop_assert!(f.frac < 1_000_000_000);
            }
        }
    }
}

/// Runs editcap; fails the test with a clear message when it is missing.
fn editcap(args: &[&str], input: &Path, output: &Path) {
    let out = Command::new("editcap")
        .args(args)
        .arg(input)
        .arg(output)
        .output()
        .expect("editcap not found: scripts/test installs it (Debian package tshark)");
    assert!(
        out.status.success(),
        "editcap {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn read_file(path: &Path) -> (CaptureFormat, Vec<PcapFrame>) {
    let r = CaptureReader::open(std::fs::File::open(path).unwrap()).unwrap();
    let format = r.format();
    (format, r.collect::<Result<_, _>>().unwrap())
}

#[test]
fn editcap_pcapng_and_nanosecond_pcap_read_back_the_same_frames() {
    let dir = std::env::temp_dir().join(format!("hnv-sim-pcap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let frames: Vec<(u32, u32, Vec<u8>)> = (0..20u32)
        .map(|i| {
            let len = 14 + (i as usize * 37) % 1500;
            let data = (0..len).map(|b| (b as u32 * 7 + i) as u8).collect();
            (1_700_000_000 + i, i * 49_999 % 1_000_000, data)
        })
        .collect();
    let pcap = dir.join("in.pcap");
    let mut w = PcapWriter::new(std::fs::File::create(&pcap).unwrap()).unwrap();
    for (s, us, d) in &frames {
        w.write_frame(*s, *us, d).unwrap();
    }
    w.into_inner().unwrap();
    let expect: Vec<_> = frames
        .iter()
        .map(|(s, us, d)| frame(*s, us * 1000, d.len() as u32, d))
        .collect();

    let (format, got) = read_file(&pcap);
    assert_eq!((format, &got), (CaptureFormat::Pcap, &expect));

    let ng = dir.join("in.pcapng");
    editcap(&["-F", "pcapng"], &pcap, &ng);
    let (format, got) = read_file(&ng);
    assert_eq!((format, &got), (CaptureFormat::Pcapng, &expect));

    let ns = dir.join("in-ns.pcap");
    editcap(&["-F", "nsecpcap"], &pcap, &ns);
    let (format, got) = read_file(&ns);
    assert_eq!((format, &got), (CaptureFormat::PcapNanos, &expect));

    // From nanosecond pcap to pcapng: an interface with if_tsresol 9.
    let ng_ns = dir.join("in-ns.pcapng");
    editcap(&["-F", "pcapng"], &ns, &ng_ns);
    let (format, got) = read_file(&ng_ns);
    assert_eq!((format, &got), (CaptureFormat::Pcapng, &expect));

    // editcap -s (snaplen) shortens the captured bytes and keeps the original length.
    let cut = dir.join("cut.pcapng");
    editcap(&["-F", "pcapng", "-s", "64"], &pcap, &cut);
    let (_, got) = read_file(&cut);
    for (g, e) in got.iter().zip(&expect) {
        assert_eq!(g.data[..], e.data[..e.data.len().min(64)]);
        assert_eq!(g.orig_len, e.orig_len);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
