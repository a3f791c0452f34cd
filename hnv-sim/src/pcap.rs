//! Capture files of Ethernet frames: classic pcap (the libpcap format: a 24-byte global
//! header, then a 16-byte record header before each frame) is written and read; pcapng
//! (blocks: section headers, interface descriptions, enhanced, simple and obsolete packet
//! blocks) is read.
//!
//! [`CaptureReader::open`] reads either format, told apart by the first four bytes, and
//! yields [`PcapFrame`]s with nanosecond timestamps. Every length field is checked against
//! the bytes present and capped ([`MAX_SNAPLEN`], [`MAX_BLOCK_LEN`]) before anything is
//! allocated for it; a malformed file is a [`PcapError`] naming the frame (and, for pcapng,
//! the block and its byte offset), never a panic.
//!
//! ```
//! use hnv_sim::pcap::{CaptureReader, PcapReader, PcapWriter};
//! let mut file = Vec::new();
//! let mut w = PcapWriter::new(&mut file).unwrap();
//! w.write_frame(1, 500, &[0xff; 60]).unwrap();
//! drop(w);
//! let frames: Vec<_> = PcapReader::new(&file[..]).unwrap().collect::<Result<_, _>>().unwrap();
//! assert_eq!(frames.len(), 1);
//! assert_eq!(frames[0].data, vec![0xff; 60]);
//! // The same file through the format-detecting reader: the fraction is in nanoseconds.
//! let frames: Vec<_> = CaptureReader::open(&file[..]).unwrap().collect::<Result<_, _>>().unwrap();
//! assert_eq!((frames[0].secs, frames[0].frac), (1, 500_000));
//! ```

use std::fmt;
use std::io::{self, Read, Write};

const MAGIC_US: u32 = 0xa1b2_c3d4;
const MAGIC_NS: u32 = 0xa1b2_3c4d;
const LINKTYPE_ETHERNET: u32 = 1;
/// Largest frame length accepted when reading (jumbo frames and TSO super-frames fit).
pub const MAX_SNAPLEN: u32 = 262_144;
/// Largest pcapng block accepted when reading: a frame of [`MAX_SNAPLEN`] bytes plus room
/// for its block's fields and options.
pub const MAX_BLOCK_LEN: u32 = MAX_SNAPLEN + 65_536;
/// Most interfaces one pcapng section may describe.
pub const MAX_INTERFACES: usize = 65_536;

/// pcapng block types.
const SHB: u32 = 0x0a0d_0d0a;
const IDB: u32 = 0x0000_0001;
const PB: u32 = 0x0000_0002;
const SPB: u32 = 0x0000_0003;
const EPB: u32 = 0x0000_0006;
/// The byte-order magic of a section header, as written by the section's byte order.
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;
/// Interface options: timestamp resolution and offset.
const OPT_ENDOFOPT: u16 = 0;
const OPT_IF_TSRESOL: u16 = 9;
const OPT_IF_TSOFFSET: u16 = 14;

/// Writes frames to a classic pcap stream.
pub struct PcapWriter<W: Write> {
    out: W,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the global header of a microsecond-resolution file.
    pub fn new(out: W) -> io::Result<Self> {
        Self::with_magic(out, MAGIC_US)
    }

    /// Writes the global header of a nanosecond-resolution file: the `frac` of
    /// [`PcapWriter::write_frame`] is then in nanoseconds.
    pub fn new_nanos(out: W) -> io::Result<Self> {
        Self::with_magic(out, MAGIC_NS)
    }

    fn with_magic(mut out: W, magic: u32) -> io::Result<Self> {
        let mut h = Vec::with_capacity(24);
        h.extend_from_slice(&magic.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&0i32.to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes());
        h.extend_from_slice(&MAX_SNAPLEN.to_le_bytes());
        h.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        out.write_all(&h)?;
        Ok(Self { out })
    }

    /// Appends one frame with the given timestamp: seconds and the fraction (microseconds,
    /// or nanoseconds for a writer made by [`PcapWriter::new_nanos`]).
    pub fn write_frame(&mut self, secs: u32, frac: u32, frame: &[u8]) -> io::Result<()> {
        let len = u32::try_from(frame.len())
            .ok()
            .filter(|l| *l <= MAX_SNAPLEN)
            .ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "frame too large for pcap")
            })?;
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&secs.to_le_bytes());
        h[4..8].copy_from_slice(&frac.to_le_bytes());
        h[8..12].copy_from_slice(&len.to_le_bytes());
        h[12..16].copy_from_slice(&len.to_le_bytes());
        self.out.write_all(&h)?;
        self.out.write_all(frame)
    }

    /// Flushes and returns the underlying writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// One captured frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcapFrame {
    /// Timestamp seconds.
    pub secs: u32,
    /// Timestamp fraction. From [`PcapReader`]: microseconds, or nanoseconds for
    /// nanosecond-resolution files, as stored. From [`CaptureReader`]: always nanoseconds,
    /// below 10⁹.
    pub frac: u32,
    /// Original length on the wire.
    pub orig_len: u32,
    /// Captured bytes.
    pub data: Vec<u8>,
}

/// The format of a capture file, as [`CaptureReader::open`] recognised it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaptureFormat {
    /// Classic pcap, microsecond timestamps (either byte order).
    Pcap,
    /// Classic pcap, nanosecond timestamps (either byte order).
    PcapNanos,
    /// pcapng.
    Pcapng,
}

impl CaptureFormat {
    /// A short name: `pcap`, `pcap-ns` or `pcapng`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Pcap => "pcap",
            Self::PcapNanos => "pcap-ns",
            Self::Pcapng => "pcapng",
        }
    }
}

impl fmt::Display for CaptureFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The kind of a pcapng block, by its type field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockKind {
    /// Section Header Block (0x0A0D0D0A).
    SectionHeader,
    /// Interface Description Block (1).
    InterfaceDescription,
    /// Packet Block (2, obsolete).
    Packet,
    /// Simple Packet Block (3).
    SimplePacket,
    /// Enhanced Packet Block (6).
    EnhancedPacket,
    /// Any other block type (skipped when well formed).
    Other(u32),
    /// The file ends before the block's type field is complete.
    Incomplete,
}

impl BlockKind {
    const fn from_type(t: u32) -> Self {
        match t {
            SHB => Self::SectionHeader,
            IDB => Self::InterfaceDescription,
            PB => Self::Packet,
            SPB => Self::SimplePacket,
            EPB => Self::EnhancedPacket,
            other => Self::Other(other),
        }
    }

    /// True for the blocks that carry a frame.
    pub const fn is_packet(self) -> bool {
        matches!(
            self,
            Self::Packet | Self::SimplePacket | Self::EnhancedPacket
        )
    }

    /// Smallest total length of a well-formed block of this kind.
    const fn min_len(self) -> u32 {
        match self {
            Self::SectionHeader => 28,
            Self::InterfaceDescription => 20,
            Self::Packet | Self::EnhancedPacket => 32,
            Self::SimplePacket => 16,
            Self::Other(_) | Self::Incomplete => 12,
        }
    }
}

impl fmt::Display for BlockKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SectionHeader => f.write_str("Section Header Block"),
            Self::InterfaceDescription => f.write_str("Interface Description Block"),
            Self::Packet => f.write_str("Packet Block"),
            Self::SimplePacket => f.write_str("Simple Packet Block"),
            Self::EnhancedPacket => f.write_str("Enhanced Packet Block"),
            Self::Other(t) => write!(f, "block of type 0x{t:08x}"),
            Self::Incomplete => f.write_str("incomplete block header"),
        }
    }
}

/// What is wrong with a pcapng block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockProblem {
    /// The file ends inside the block.
    Truncated,
    /// The total length is below the block kind's minimum or not a multiple of 4.
    BadLength(u32),
    /// The total length exceeds [`MAX_BLOCK_LEN`].
    TooLarge(u32),
    /// The total length at the end of the block differs from the one at its start.
    LengthMismatch {
        /// At the start.
        head: u32,
        /// At the end.
        tail: u32,
    },
    /// A section header's byte-order magic is 0x1A2B3C4D in neither byte order.
    ByteOrderMagic(u32),
    /// A section of a major version other than 1.
    Version {
        /// Major version.
        major: u16,
        /// Minor version.
        minor: u16,
    },
    /// An interface's link type is not Ethernet (1).
    LinkType(u16),
    /// A packet names an interface the section has not described.
    UnknownInterface(u32),
    /// A packet's captured length exceeds the bytes its block holds.
    CapturedLength {
        /// The captured length.
        len: u32,
        /// The bytes the block has room for.
        room: u32,
    },
    /// A packet's captured length exceeds [`MAX_SNAPLEN`].
    FrameTooLarge(u32),
    /// An option's value runs past the end of the block.
    BadOption {
        /// The option's code.
        code: u16,
    },
    /// An `if_tsresol` no 64-bit timestamp can express (above 10⁻¹⁹ or 2⁻⁶³).
    TsResolution(u8),
    /// The section describes more than [`MAX_INTERFACES`] interfaces.
    TooManyInterfaces,
}

impl fmt::Display for BlockProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Truncated => f.write_str("file ends inside the block"),
            Self::BadLength(l) => write!(f, "block length {l} is too small or not a multiple of 4"),
            Self::TooLarge(l) => write!(f, "block length {l} exceeds {MAX_BLOCK_LEN}"),
            Self::LengthMismatch { head, tail } => {
                write!(f, "block length {head} at its start but {tail} at its end")
            }
            Self::ByteOrderMagic(m) => write!(f, "byte-order magic 0x{m:08x} is not 0x1a2b3c4d"),
            Self::Version { major, minor } => {
                write!(f, "pcapng version {major}.{minor} is not supported (1.x)")
            }
            Self::LinkType(l) => write!(f, "link type {l} is not Ethernet (1)"),
            Self::UnknownInterface(i) => write!(f, "interface {i} is not described"),
            Self::CapturedLength { len, room } => {
                write!(
                    f,
                    "captured length {len} exceeds the {room} bytes the block holds"
                )
            }
            Self::FrameTooLarge(l) => write!(f, "captured length {l} exceeds {MAX_SNAPLEN}"),
            Self::BadOption { code } => write!(f, "option {code} runs past the end of the block"),
            Self::TsResolution(r) => write!(f, "timestamp resolution 0x{r:02x} is out of range"),
            Self::TooManyInterfaces => write!(f, "more than {MAX_INTERFACES} interfaces"),
        }
    }
}

/// Why a capture could not be read.
#[derive(Debug)]
pub enum PcapError {
    /// Reading failed.
    Io(io::Error),
    /// Neither a classic pcap nor a pcapng file (unknown magic number, read little-endian).
    BadMagic(u32),
    /// Link type other than Ethernet (1).
    LinkType(u32),
    /// A record claims more bytes than [`MAX_SNAPLEN`]; `index` counts from 0.
    FrameTooLarge {
        /// Index of the record.
        index: usize,
        /// Its captured length.
        len: u32,
    },
    /// The file ends inside a record.
    Truncated {
        /// Index of the record.
        index: usize,
    },
    /// The file is empty.
    Empty,
    /// The file ends inside the file header (classic pcap's 24 bytes, or pcapng's magic).
    HeaderTruncated {
        /// Bytes present.
        len: usize,
    },
    /// A malformed pcapng block.
    Block {
        /// Index of the block in the file, counting from 0.
        block: usize,
        /// Byte offset of the block's start.
        offset: u64,
        /// Its kind.
        kind: BlockKind,
        /// Frames read before it: the index of the frame it holds, for a packet block.
        frame: usize,
        /// What is wrong.
        problem: BlockProblem,
    },
}

impl fmt::Display for PcapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "reading capture: {e}"),
            Self::BadMagic(m) => write!(f, "not a pcap or pcapng file (magic 0x{m:08x})"),
            Self::LinkType(l) => write!(f, "link type {l} is not Ethernet (1)"),
            Self::FrameTooLarge { index, len } => {
                write!(
                    f,
                    "frame {index}: captured length {len} exceeds {MAX_SNAPLEN}"
                )
            }
            Self::Truncated { index } => write!(f, "frame {index}: file ends inside the record"),
            Self::Empty => f.write_str("the capture file is empty"),
            Self::HeaderTruncated { len } => {
                write!(f, "file ends inside the file header ({len} bytes)")
            }
            Self::Block {
                block,
                offset,
                kind,
                frame,
                problem,
            } => {
                if kind.is_packet() {
                    write!(
                        f,
                        "frame {frame}: {kind} (block {block}, byte {offset}): {problem}"
                    )
                } else {
                    write!(
                        f,
                        "{kind} (block {block}, byte {offset}, before frame {frame}): {problem}"
                    )
                }
            }
        }
    }
}

impl std::error::Error for PcapError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// Reads into `buf` until it is full or the input ends; returns the bytes read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// The first four bytes of a capture, or why there are not four.
fn read_magic(input: &mut impl Read) -> Result<[u8; 4], PcapError> {
    let mut magic = [0u8; 4];
    match read_full(input, &mut magic).map_err(PcapError::Io)? {
        0 => Err(PcapError::Empty),
        4 => Ok(magic),
        len => Err(PcapError::HeaderTruncated { len }),
    }
}

/// Reads frames from a classic pcap stream (either byte order, µs or ns timestamps).
pub struct PcapReader<R: Read> {
    input: R,
    swapped: bool,
    nanos: bool,
    index: usize,
    done: bool,
}

impl<R: Read> PcapReader<R> {
    /// Reads and checks the global header.
    pub fn new(mut input: R) -> Result<Self, PcapError> {
        let magic = read_magic(&mut input)?;
        Self::after_magic(magic, input)
    }

    /// The rest of the global header after its first four bytes.
    fn after_magic(magic: [u8; 4], mut input: R) -> Result<Self, PcapError> {
        let (swapped, nanos) = match u32::from_le_bytes(magic) {
            MAGIC_US => (false, false),
            MAGIC_NS => (false, true),
            0xd4c3_b2a1 => (true, false),
            0x4d3c_b2a1 => (true, true),
            m => return Err(PcapError::BadMagic(m)),
        };
        let mut h = [0u8; 20];
        let got = read_full(&mut input, &mut h).map_err(PcapError::Io)?;
        if got < h.len() {
            return Err(PcapError::HeaderTruncated { len: 4 + got });
        }
        let link = [h[16], h[17], h[18], h[19]];
        let link = if swapped {
            u32::from_be_bytes(link)
        } else {
            u32::from_le_bytes(link)
        };
        if link != LINKTYPE_ETHERNET {
            return Err(PcapError::LinkType(link));
        }
        Ok(Self {
            input,
            swapped,
            nanos,
            index: 0,
            done: false,
        })
    }

    /// True for a nanosecond-resolution file ([`PcapFrame::frac`] is then nanoseconds).
    pub fn nanosecond(&self) -> bool {
        self.nanos
    }

    fn u32_at(&self, b: &[u8; 16], at: usize) -> u32 {
        let w = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        if self.swapped {
            u32::from_be_bytes(w)
        } else {
            u32::from_le_bytes(w)
        }
    }

    fn next_frame(&mut self) -> Result<Option<PcapFrame>, PcapError> {
        let mut h = [0u8; 16];
        match read_full(&mut self.input, &mut h).map_err(PcapError::Io)? {
            0 => return Ok(None),
            16 => {}
            _ => return Err(PcapError::Truncated { index: self.index }),
        }
        let caplen = self.u32_at(&h, 8);
        if caplen > MAX_SNAPLEN {
            return Err(PcapError::FrameTooLarge {
                index: self.index,
                len: caplen,
            });
        }
        let mut data = vec![0u8; caplen as usize];
        if read_full(&mut self.input, &mut data).map_err(PcapError::Io)? < data.len() {
            return Err(PcapError::Truncated { index: self.index });
        }
        let frame = PcapFrame {
            secs: self.u32_at(&h, 0),
            frac: self.u32_at(&h, 4),
            orig_len: self.u32_at(&h, 12),
            data,
        };
        self.index += 1;
        Ok(Some(frame))
    }
}

impl<R: Read> Iterator for PcapReader<R> {
    type Item = Result<PcapFrame, PcapError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let r = self.next_frame().transpose();
        if !matches!(r, Some(Ok(_))) {
            self.done = true;
        }
        r
    }
}

/// What a pcapng section says about one of its interfaces.
#[derive(Debug, Clone, Copy)]
struct Interface {
    /// Largest captured length (0: no limit); Simple Packet Blocks are cut to it.
    snaplen: u32,
    /// Timestamp units per second (`if_tsresol`; 10⁶ by default).
    units_per_sec: u64,
    /// Seconds added to every timestamp (`if_tsoffset`).
    offset_secs: i64,
}

/// What one block turned out to be.
enum Step {
    /// The input ended where a block would start.
    End,
    /// A packet block's frame.
    Frame(PcapFrame),
    /// Any other block (read, checked, applied or skipped).
    Other,
}

/// Reads frames from a pcapng stream: every section (either byte order), interfaces of
/// link type Ethernet, Enhanced, Simple and (obsolete) Packet Blocks; other blocks are
/// checked for framing and skipped. Timestamps are converted to seconds and nanoseconds
/// with each interface's `if_tsresol` and `if_tsoffset`.
pub struct PcapngReader<R: Read> {
    input: R,
    big_endian: bool,
    interfaces: Vec<Interface>,
    /// The first four bytes of the next block, when already read (the file's magic).
    pending: Option<[u8; 4]>,
    block: usize,
    offset: u64,
    frames: usize,
    /// The body of the current block (reused).
    body: Vec<u8>,
    done: bool,
}

impl<R: Read> PcapngReader<R> {
    /// Reads and checks the first Section Header Block.
    pub fn new(mut input: R) -> Result<Self, PcapError> {
        let magic = read_magic(&mut input)?;
        Self::after_magic(magic, input)
    }

    fn after_magic(magic: [u8; 4], input: R) -> Result<Self, PcapError> {
        if u32::from_le_bytes(magic) != SHB {
            return Err(PcapError::BadMagic(u32::from_le_bytes(magic)));
        }
        let mut r = Self {
            input,
            big_endian: false,
            interfaces: Vec::new(),
            pending: Some(magic),
            block: 0,
            offset: 0,
            frames: 0,
            body: Vec::new(),
            done: false,
        };
        r.read_block()?;
        Ok(r)
    }

    fn u16_at(&self, b: &[u8], at: usize) -> u16 {
        let w = b
            .get(at..at + 2)
            .and_then(|s| <[u8; 2]>::try_from(s).ok())
            .unwrap_or_default();
        if self.big_endian {
            u16::from_be_bytes(w)
        } else {
            u16::from_le_bytes(w)
        }
    }

    fn u32_at(&self, b: &[u8], at: usize) -> u32 {
        let w = b
            .get(at..at + 4)
            .and_then(|s| <[u8; 4]>::try_from(s).ok())
            .unwrap_or_default();
        if self.big_endian {
            u32::from_be_bytes(w)
        } else {
            u32::from_le_bytes(w)
        }
    }

    fn error(&self, kind: BlockKind, problem: BlockProblem) -> PcapError {
        PcapError::Block {
            block: self.block,
            offset: self.offset,
            kind,
            frame: self.frames,
            problem,
        }
    }

    /// Reads, checks and applies one block.
    fn read_block(&mut self) -> Result<Step, PcapError> {
        let mut head = [0u8; 8];
        let got = match self.pending.take() {
            Some(first) => {
                head[..4].copy_from_slice(&first);
                4 + read_full(&mut self.input, &mut head[4..]).map_err(PcapError::Io)?
            }
            None => read_full(&mut self.input, &mut head).map_err(PcapError::Io)?,
        };
        if got == 0 {
            return Ok(Step::End);
        }
        let kind = if got >= 4 {
            BlockKind::from_type(self.u32_at(&head, 0))
        } else {
            BlockKind::Incomplete
        };
        if got < head.len() {
            return Err(self.error(kind, BlockProblem::Truncated));
        }
        // A section header says its byte order after its length: read that first.
        let mut consumed = 8;
        if kind == BlockKind::SectionHeader {
            let mut bom = [0u8; 4];
            if read_full(&mut self.input, &mut bom).map_err(PcapError::Io)? < bom.len() {
                return Err(self.error(kind, BlockProblem::Truncated));
            }
            self.big_endian = match u32::from_be_bytes(bom) {
                BYTE_ORDER_MAGIC => true,
                m if m.swap_bytes() == BYTE_ORDER_MAGIC => false,
                _ => {
                    let m = u32::from_le_bytes(bom);
                    return Err(self.error(kind, BlockProblem::ByteOrderMagic(m)));
                }
            };
            consumed = 12;
        }
        let total = self.u32_at(&head, 4);
        if total < kind.min_len() || total % 4 != 0 {
            return Err(self.error(kind, BlockProblem::BadLength(total)));
        }
        if total > MAX_BLOCK_LEN {
            return Err(self.error(kind, BlockProblem::TooLarge(total)));
        }
        // The rest of the block: body, then the trailing copy of the length.
        let rest = total as usize - consumed;
        let mut body = std::mem::take(&mut self.body);
        body.clear();
        body.resize(rest, 0);
        let read = read_full(&mut self.input, &mut body).map_err(PcapError::Io);
        let step = match read {
            Ok(n) if n < rest => Err(self.error(kind, BlockProblem::Truncated)),
            Ok(_) => {
                let tail = self.u32_at(&body, rest - 4);
                if tail == total {
                    self.apply(kind, &body[..rest - 4])
                        .map_err(|p| self.error(kind, p))
                } else {
                    let p = BlockProblem::LengthMismatch { head: total, tail };
                    Err(self.error(kind, p))
                }
            }
            Err(e) => Err(e),
        };
        self.body = body;
        let step = step?;
        self.block += 1;
        self.offset += u64::from(total);
        if matches!(step, Step::Frame(_)) {
            self.frames += 1;
        }
        Ok(step)
    }

    /// Applies a well-framed block. `body` is what follows the type and length fields (and,
    /// for a section header, the byte-order magic), up to the trailing length.
    fn apply(&mut self, kind: BlockKind, body: &[u8]) -> Result<Step, BlockProblem> {
        match kind {
            BlockKind::SectionHeader => {
                let major = self.u16_at(body, 0);
                let minor = self.u16_at(body, 2);
                if major != 1 {
                    return Err(BlockProblem::Version { major, minor });
                }
                self.interfaces.clear();
                Ok(Step::Other)
            }
            BlockKind::InterfaceDescription => {
                let link = self.u16_at(body, 0);
                if u32::from(link) != LINKTYPE_ETHERNET {
                    return Err(BlockProblem::LinkType(link));
                }
                if self.interfaces.len() >= MAX_INTERFACES {
                    return Err(BlockProblem::TooManyInterfaces);
                }
                let snaplen = self.u32_at(body, 4);
                let (units_per_sec, offset_secs) =
                    self.interface_options(body.get(8..).unwrap_or_default())?;
                self.interfaces.push(Interface {
                    snaplen,
                    units_per_sec,
                    offset_secs,
                });
                Ok(Step::Other)
            }
            BlockKind::EnhancedPacket | BlockKind::Packet => {
                let iface = if kind == BlockKind::Packet {
                    u32::from(self.u16_at(body, 0))
                } else {
                    self.u32_at(body, 0)
                };
                let ts = (u64::from(self.u32_at(body, 4)) << 32) | u64::from(self.u32_at(body, 8));
                let caplen = self.u32_at(body, 12);
                let orig_len = self.u32_at(body, 16);
                let data = packet_data(body, 20, caplen)?;
                let i = self.interface(iface)?;
                let (secs, frac) = timestamp(&i, ts);
                Ok(Step::Frame(PcapFrame {
                    secs,
                    frac,
                    orig_len,
                    data,
                }))
            }
            BlockKind::SimplePacket => {
                let i = self.interface(0)?;
                let orig_len = self.u32_at(body, 0);
                let caplen = match i.snaplen {
                    0 => orig_len,
                    snap => orig_len.min(snap),
                };
                let data = packet_data(body, 4, caplen)?;
                Ok(Step::Frame(PcapFrame {
                    secs: 0,
                    frac: 0,
                    orig_len,
                    data,
                }))
            }
            BlockKind::Other(_) | BlockKind::Incomplete => Ok(Step::Other),
        }
    }

    fn interface(&self, id: u32) -> Result<Interface, BlockProblem> {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.interfaces.get(i))
            .copied()
            .ok_or(BlockProblem::UnknownInterface(id))
    }

    /// Timestamp units per second and offset in seconds from an interface's options.
    fn interface_options(&self, opts: &[u8]) -> Result<(u64, i64), BlockProblem> {
        let mut units = 1_000_000;
        let mut offset = 0;
        let mut at = 0;
        while at + 4 <= opts.len() {
            let code = self.u16_at(opts, at);
            if code == OPT_ENDOFOPT {
                break;
            }
            let len = usize::from(self.u16_at(opts, at + 2));
            let value = opts
                .get(at + 4..at + 4 + len)
                .ok_or(BlockProblem::BadOption { code })?;
            match (code, value) {
                (OPT_IF_TSRESOL, [r, ..]) => units = units_per_sec(*r)?,
                (OPT_IF_TSOFFSET, v) if v.len() == 8 => {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(v);
                    offset = if self.big_endian {
                        i64::from_be_bytes(b)
                    } else {
                        i64::from_le_bytes(b)
                    };
                }
                _ => {}
            }
            at += 4 + len.next_multiple_of(4);
        }
        Ok((units, offset))
    }

    fn next_frame(&mut self) -> Result<Option<PcapFrame>, PcapError> {
        loop {
            match self.read_block()? {
                Step::End => return Ok(None),
                Step::Frame(f) => return Ok(Some(f)),
                Step::Other => {}
            }
        }
    }
}

/// `caplen` bytes of packet data at `at` in a packet block's body.
fn packet_data(body: &[u8], at: usize, caplen: u32) -> Result<Vec<u8>, BlockProblem> {
    if caplen > MAX_SNAPLEN {
        return Err(BlockProblem::FrameTooLarge(caplen));
    }
    let room = body.len().saturating_sub(at);
    body.get(at..at + caplen as usize)
        .map(<[u8]>::to_vec)
        .ok_or(BlockProblem::CapturedLength {
            len: caplen,
            room: u32::try_from(room).unwrap_or(u32::MAX),
        })
}

/// Units per second of an `if_tsresol` value: 10^n, or 2^n when the top bit is set.
fn units_per_sec(resol: u8) -> Result<u64, BlockProblem> {
    let n = u32::from(resol & 0x7f);
    let units = if resol & 0x80 == 0 {
        10u64.checked_pow(n)
    } else {
        1u64.checked_shl(n)
    };
    units.ok_or(BlockProblem::TsResolution(resol))
}

/// Seconds (saturated to `u32`) and nanoseconds of a timestamp in the interface's units.
fn timestamp(i: &Interface, ts: u64) -> (u32, u32) {
    let units = i.units_per_sec.max(1);
    let secs = i128::from(ts / units) + i128::from(i.offset_secs);
    let nanos = u128::from(ts % units) * 1_000_000_000 / u128::from(units);
    let secs = u32::try_from(secs.max(0)).unwrap_or(u32::MAX);
    (secs, u32::try_from(nanos).unwrap_or(999_999_999))
}

impl<R: Read> Iterator for PcapngReader<R> {
    type Item = Result<PcapFrame, PcapError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let r = self.next_frame().transpose();
        if !matches!(r, Some(Ok(_))) {
            self.done = true;
        }
        r
    }
}

/// Reads a classic pcap or a pcapng capture, whichever the first four bytes say.
///
/// Every frame's [`PcapFrame::frac`] is in nanoseconds whatever the file's resolution.
///
/// ```
/// use hnv_sim::pcap::{CaptureFormat, CaptureReader, PcapError};
/// // A pcapng file: a section header, one Ethernet interface, one Simple Packet Block.
/// let mut f = Vec::new();
/// for w in [0x0a0d_0d0au32, 28, 0x1a2b_3c4d, 1, 0xffff_ffff, 0xffff_ffff, 28] {
///     f.extend_from_slice(&w.to_le_bytes());
/// }
/// for w in [1u32, 20, 1, 0, 20, 3, 20, 4, 0xdead_beef, 20] {
///     f.extend_from_slice(&w.to_le_bytes());
/// }
/// let r = CaptureReader::open(&f[..]).unwrap();
/// assert_eq!(r.format(), CaptureFormat::Pcapng);
/// let frames: Vec<_> = r.collect::<Result<_, _>>().unwrap();
/// assert_eq!(frames[0].data, [0xef, 0xbe, 0xad, 0xde]);
///
/// let err = CaptureReader::open(&f[..40]).unwrap().next().unwrap().unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "Interface Description Block (block 1, byte 28, before frame 0): \
///      file ends inside the block"
/// );
/// assert!(matches!(CaptureReader::open(&b""[..]), Err(PcapError::Empty)));
/// ```
pub struct CaptureReader<R: Read> {
    inner: Inner<R>,
}

enum Inner<R: Read> {
    Pcap(PcapReader<R>),
    Pcapng(PcapngReader<R>),
}

impl<R: Read> CaptureReader<R> {
    /// Reads the file header (and, for pcapng, the first section header) and picks the
    /// reader.
    pub fn open(mut input: R) -> Result<Self, PcapError> {
        let magic = read_magic(&mut input)?;
        let inner = if u32::from_le_bytes(magic) == SHB {
            Inner::Pcapng(PcapngReader::after_magic(magic, input)?)
        } else {
            Inner::Pcap(PcapReader::after_magic(magic, input)?)
        };
        Ok(Self { inner })
    }

    /// The file's format.
    pub fn format(&self) -> CaptureFormat {
        match &self.inner {
            Inner::Pcap(r) if r.nanos => CaptureFormat::PcapNanos,
            Inner::Pcap(_) => CaptureFormat::Pcap,
            Inner::Pcapng(_) => CaptureFormat::Pcapng,
        }
    }
}

impl<R: Read> Iterator for CaptureReader<R> {
    type Item = Result<PcapFrame, PcapError>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            Inner::Pcapng(r) => r.next(),
            Inner::Pcap(r) => {
                let per_sec = if r.nanos { 1_000_000_000 } else { 1_000_000 };
                let scale = 1_000_000_000 / per_sec;
                r.next().map(|f| {
                    f.map(|mut f| {
                        f.secs = f.secs.saturating_add(f.frac / per_sec);
                        f.frac = f.frac % per_sec * scale;
                        f
                    })
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_header_bytes() {
        let w = PcapWriter::new(Vec::new()).unwrap().into_inner().unwrap();
        assert_eq!(
            w,
            [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0]
        );
        let w = PcapWriter::new_nanos(Vec::new())
            .unwrap()
            .into_inner()
            .unwrap();
        assert_eq!(w[..4], [0x4d, 0x3c, 0xb2, 0xa1]);
    }

    #[test]
    fn errors_name_the_frame() {
        let mut f = PcapWriter::new(Vec::new()).unwrap();
        f.write_frame(0, 0, &[1, 2, 3]).unwrap();
        f.write_frame(0, 0, &[4, 5, 6]).unwrap();
        let bytes = f.into_inner().unwrap();
        let cut = &bytes[..bytes.len() - 1];
        let r: Vec<_> = PcapReader::new(cut).unwrap().collect();
        assert_eq!(r.len(), 2);
        assert!(matches!(r[1], Err(PcapError::Truncated { index: 1 })));
        assert!(matches!(
            PcapReader::new(&[0u8; 24][..]),
            Err(PcapError::BadMagic(0))
        ));
        let mut big = bytes[..24].to_vec();
        big.extend_from_slice(&[0; 8]);
        big.extend_from_slice(&(MAX_SNAPLEN + 1).to_le_bytes());
        big.extend_from_slice(&[0; 4]);
        let r: Vec<_> = PcapReader::new(&big[..]).unwrap().collect();
        assert!(matches!(
            r[0],
            Err(PcapError::FrameTooLarge { index: 0, .. })
        ));
    }

    #[test]
    fn big_endian_file() {
        let mut b = vec![
            0xa1, 0xb2, 0xc3, 0xd4, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0,
            1,
        ];
        b.extend_from_slice(&[0, 0, 0, 7, 0, 0, 0, 9, 0, 0, 0, 2, 0, 0, 0, 2, 0xaa, 0xbb]);
        let f: Vec<_> = PcapReader::new(&b[..])
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            f[0],
            PcapFrame {
                secs: 7,
                frac: 9,
                orig_len: 2,
                data: vec![0xaa, 0xbb]
            }
        );
    }

    #[test]
    fn resolutions() {
        assert_eq!(units_per_sec(6), Ok(1_000_000));
        assert_eq!(units_per_sec(9), Ok(1_000_000_000));
        assert_eq!(units_per_sec(0x8a), Ok(1024));
        assert_eq!(units_per_sec(19), Ok(10_000_000_000_000_000_000));
        assert_eq!(units_per_sec(20), Err(BlockProblem::TsResolution(20)));
        assert_eq!(units_per_sec(0xff), Err(BlockProblem::TsResolution(0xff)));
        let i = Interface {
            snaplen: 0,
            units_per_sec: 1024,
            offset_secs: -5,
        };
        assert_eq!(timestamp(&i, 10 * 1024 + 512), (5, 500_000_000));
        assert_eq!(timestamp(&i, 0), (0, 0));
        let far = Interface {
            units_per_sec: 1,
            ..i
        };
        assert_eq!(timestamp(&far, u64::MAX), (u32::MAX, 0));
    }
}
