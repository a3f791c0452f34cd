//! Classic pcap files (the libpcap format: a 24-byte global header, then a 16-byte record
//! header before each frame), link type Ethernet, microsecond timestamps.
//!
//! ```
//! use hnv_sim::pcap::{PcapReader, PcapWriter};
//! let mut file = Vec::new();
//! let mut w = PcapWriter::new(&mut file).unwrap();
//! w.write_frame(1, 500, &[0xff; 60]).unwrap();
//! drop(w);
//! let frames: Vec<_> = PcapReader::new(&file[..]).unwrap().collect::<Result<_, _>>().unwrap();
//! assert_eq!(frames.len(), 1);
//! assert_eq!(frames[0].data, vec![0xff; 60]);
//! ```

use std::fmt;
use std::io::{self, Read, Write};

const MAGIC_US: u32 = 0xa1b2_c3d4;
const LINKTYPE_ETHERNET: u32 = 1;
/// Largest frame length accepted when reading (jumbo frames and TSO super-frames fit).
pub const MAX_SNAPLEN: u32 = 262_144;

/// Writes frames to a pcap stream.
pub struct PcapWriter<W: Write> {
    out: W,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the global header.
    pub fn new(mut out: W) -> io::Result<Self> {
        let mut h = Vec::with_capacity(24);
        h.extend_from_slice(&MAGIC_US.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&0i32.to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes());
        h.extend_from_slice(&MAX_SNAPLEN.to_le_bytes());
        h.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        out.write_all(&h)?;
        Ok(Self { out })
    }

    /// Appends one frame with the given timestamp.
    pub fn write_frame(&mut self, secs: u32, micros: u32, frame: &[u8]) -> io::Result<()> {
        let len = u32::try_from(frame.len())
            .ok()
            .filter(|l| *l <= MAX_SNAPLEN)
            .ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "frame too large for pcap")
            })?;
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&secs.to_le_bytes());
        h[4..8].copy_from_slice(&micros.to_le_bytes());
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
    /// Timestamp microseconds (nanoseconds for nanosecond-resolution files).
    pub frac: u32,
    /// Original length on the wire.
    pub orig_len: u32,
    /// Captured bytes.
    pub data: Vec<u8>,
}

/// Why a capture could not be read.
#[derive(Debug)]
pub enum PcapError {
    /// Reading failed.
    Io(io::Error),
    /// Not a classic pcap file (unknown magic number).
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
}

impl fmt::Display for PcapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "reading capture: {e}"),
            Self::BadMagic(m) => write!(f, "not a pcap file (magic 0x{m:08x})"),
            Self::LinkType(l) => write!(f, "link type {l} is not Ethernet (1)"),
            Self::FrameTooLarge { index, len } => {
                write!(
                    f,
                    "frame {index}: captured length {len} exceeds {MAX_SNAPLEN}"
                )
            }
            Self::Truncated { index } => write!(f, "frame {index}: file ends inside the record"),
        }
    }
}

impl std::error::Error for PcapError {}

/// Reads frames from a classic pcap stream (either byte order, µs or ns timestamps).
pub struct PcapReader<R: Read> {
    input: R,
    swapped: bool,
    index: usize,
    done: bool,
}

impl<R: Read> PcapReader<R> {
    /// Reads and checks the global header.
    pub fn new(mut input: R) -> Result<Self, PcapError> {
        let mut h = [0u8; 24];
        input.read_exact(&mut h).map_err(PcapError::Io)?;
        let magic = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
        let swapped = match magic {
            0xa1b2_c3d4 | 0xa1b2_3c4d => false,
            0xd4c3_b2a1 | 0x4d3c_b2a1 => true,
            m => return Err(PcapError::BadMagic(m)),
        };
        let rd = |b: [u8; 4]| {
            if swapped {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        };
        let link = rd([h[20], h[21], h[22], h[23]]);
        if link != LINKTYPE_ETHERNET {
            return Err(PcapError::LinkType(link));
        }
        Ok(Self {
            input,
            swapped,
            index: 0,
            done: false,
        })
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
        let mut got = 0;
        while got < 16 {
            match self.input.read(&mut h[got..]) {
                Ok(0) if got == 0 => return Ok(None),
                Ok(0) => return Err(PcapError::Truncated { index: self.index }),
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(PcapError::Io(e)),
            }
        }
        let caplen = self.u32_at(&h, 8);
        if caplen > MAX_SNAPLEN {
            return Err(PcapError::FrameTooLarge {
                index: self.index,
                len: caplen,
            });
        }
        let mut data = vec![0u8; caplen as usize];
        self.input
            .read_exact(&mut data)
            .map_err(|e| match e.kind() {
                io::ErrorKind::UnexpectedEof => PcapError::Truncated { index: self.index },
                _ => PcapError::Io(e),
            })?;
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
}
