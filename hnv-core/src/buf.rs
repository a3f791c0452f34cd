//! Packet buffers with headroom: encapsulation writes outer headers in front of the frame
//! instead of moving it.
//!
//! [`PacketBuf`] is what the data path needs from a buffer; [`FrameBuf`] implements it over
//! any `&mut [u8]` (a UMEM frame, a ring slot, a stack array). Implement the trait for your
//! own buffer type (an mbuf, an `sk_buff`-like struct) to encapsulate in place there.
//!
//! ```
//! use hnv_core::buf::{FrameBuf, PacketBuf};
//! let mut mem = [0u8; 128];
//! mem[64..68].copy_from_slice(b"data");
//! let mut f = FrameBuf::new(&mut mem, 64, 4).unwrap();
//! f.push_front(2).unwrap().copy_from_slice(b"hd");
//! assert_eq!(f.data(), b"hddata");
//! f.pull_front(2).unwrap();
//! f.truncate(3);
//! assert_eq!(f.data(), b"dat");
//! ```

use core::fmt;

/// Why a buffer operation could not be done. The buffer is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BufError {
    /// Not enough headroom in front of the data.
    NoHeadroom,
    /// Fewer bytes of data than asked for.
    TooShort,
    /// Data offset and length do not fit the backing memory.
    OutOfBounds,
}

impl fmt::Display for BufError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoHeadroom => "not enough headroom",
            Self::TooShort => "buffer holds fewer bytes than asked for",
            Self::OutOfBounds => "data range outside the buffer",
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for BufError {}

/// A frame in a buffer that may grow and shrink at the front and shrink at the back.
pub trait PacketBuf {
    /// The frame's bytes.
    fn data(&self) -> &[u8];
    /// The frame's bytes, writable.
    fn data_mut(&mut self) -> &mut [u8];
    /// Bytes available in front of the frame.
    fn headroom(&self) -> usize;
    /// Grows the frame by `n` bytes at the front and returns them (contents unspecified).
    fn push_front(&mut self, n: usize) -> Result<&mut [u8], BufError>;
    /// Removes `n` bytes from the front.
    fn pull_front(&mut self, n: usize) -> Result<(), BufError>;
    /// Shortens the frame to `len` bytes; a longer `len` leaves it unchanged.
    fn truncate(&mut self, len: usize);

    /// Length of the frame.
    fn len(&self) -> usize {
        self.data().len()
    }

    /// True when the frame holds no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A [`PacketBuf`] over borrowed memory: the frame is `mem[start..end]`.
#[derive(Debug)]
pub struct FrameBuf<'a> {
    mem: &'a mut [u8],
    start: usize,
    end: usize,
}

impl<'a> FrameBuf<'a> {
    /// A frame of `len` bytes starting `headroom` bytes into `mem`.
    pub fn new(mem: &'a mut [u8], headroom: usize, len: usize) -> Result<Self, BufError> {
        let end = headroom.checked_add(len).ok_or(BufError::OutOfBounds)?;
        if end > mem.len() {
            return Err(BufError::OutOfBounds);
        }
        Ok(Self {
            mem,
            start: headroom,
            end,
        })
    }

    /// Offset of the frame's first byte in the backing memory.
    pub fn offset(&self) -> usize {
        self.start
    }

    /// Bytes available after the frame.
    pub fn tailroom(&self) -> usize {
        self.mem.len() - self.end
    }
}

impl PacketBuf for FrameBuf<'_> {
    #[inline]
    fn data(&self) -> &[u8] {
        debug_assert!(self.start <= self.end && self.end <= self.mem.len());
        // SAFETY: every constructor and method keeps `start <= end <= mem.len()` (`new`
        // checks it; `push_front` only lowers `start`, never below 0; `pull_front` raises
        // it to at most `end`; `truncate` only lowers `end`, to at least `start`). The
        // checked form cost a compare and two conditional moves on every access: the
        // encapsulate-and-decapsulate round trip took 11 % longer with it
        // (docs/performance.md).
        #[allow(unsafe_code)]
        unsafe {
            self.mem.get_unchecked(self.start..self.end)
        }
    }

    #[inline]
    fn data_mut(&mut self) -> &mut [u8] {
        debug_assert!(self.start <= self.end && self.end <= self.mem.len());
        // SAFETY: as in `data`.
        #[allow(unsafe_code)]
        unsafe {
            self.mem.get_unchecked_mut(self.start..self.end)
        }
    }

    fn headroom(&self) -> usize {
        self.start
    }

    fn push_front(&mut self, n: usize) -> Result<&mut [u8], BufError> {
        let start = self.start.checked_sub(n).ok_or(BufError::NoHeadroom)?;
        let old = self.start;
        let front = self.mem.get_mut(start..old).ok_or(BufError::OutOfBounds)?;
        self.start = start;
        Ok(front)
    }

    fn pull_front(&mut self, n: usize) -> Result<(), BufError> {
        if n > self.end - self.start {
            return Err(BufError::TooShort);
        }
        self.start += n;
        Ok(())
    }

    fn truncate(&mut self, len: usize) {
        if len < self.end - self.start {
            self.end = self.start + len;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_pull_truncate() {
        let mut mem = [0u8; 16];
        mem[8..12].copy_from_slice(&[1, 2, 3, 4]);
        let mut f = FrameBuf::new(&mut mem, 8, 4).unwrap();
        assert_eq!((f.headroom(), f.len(), f.tailroom()), (8, 4, 4));
        assert_eq!(f.push_front(9), Err(BufError::NoHeadroom));
        assert_eq!(f.data(), &[1, 2, 3, 4]);
        f.push_front(8).unwrap().fill(9);
        assert_eq!(f.len(), 12);
        assert_eq!(f.headroom(), 0);
        assert_eq!(f.pull_front(13), Err(BufError::TooShort));
        f.pull_front(10).unwrap();
        assert_eq!(f.data(), &[3, 4]);
        f.truncate(5);
        assert_eq!(f.data(), &[3, 4]);
        f.truncate(0);
        assert!(f.is_empty());
    }

    #[test]
    fn bounds() {
        let mut mem = [0u8; 4];
        assert_eq!(
            FrameBuf::new(&mut mem, 2, 3).err(),
            Some(BufError::OutOfBounds)
        );
        assert_eq!(
            FrameBuf::new(&mut mem, usize::MAX, 3).err(),
            Some(BufError::OutOfBounds)
        );
        assert!(FrameBuf::new(&mut mem, 4, 0).is_ok());
    }
}
