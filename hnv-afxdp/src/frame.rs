//! [`Frame`]: a preallocated packet buffer with headroom, the unit every [`crate::Port`]
//! receives into and the switch works on in place.

use hnv_core::buf::{BufError, PacketBuf};
use hnv_core::nvgre::MAX_OVERHEAD;

/// Bytes kept free in front of every received frame: room for the NVGRE outer headers
/// (and, on a TAP port, for the virtio-net header read in front of the frame).
pub const HEADROOM: usize = 128;

/// The largest frame a [`Frame`] holds (Ethernet header included). Larger frames are
/// counted and dropped by the port that received them.
pub const FRAME_CAPACITY: usize = 2048;

const _: () = assert!(HEADROOM >= MAX_OVERHEAD + crate::vnet::VNET_HDR_LEN);

/// A frame in a fixed, preallocated buffer: `HEADROOM` bytes in front, up to
/// [`FRAME_CAPACITY`] bytes of frame. Allocated once, reused for every packet.
#[derive(Clone)]
pub struct Frame {
    mem: Box<[u8]>,
    start: usize,
    len: usize,
}

impl Default for Frame {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frame")
            .field("start", &self.start)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl Frame {
    /// An empty frame (allocates its buffer).
    pub fn new() -> Self {
        Self {
            mem: vec![0u8; HEADROOM + FRAME_CAPACITY].into_boxed_slice(),
            start: HEADROOM,
            len: 0,
        }
    }

    /// Empties the frame and restores the full headroom.
    pub fn reset(&mut self) {
        self.start = HEADROOM;
        self.len = 0;
    }

    /// Replaces the contents with a copy of `bytes`, after the full headroom. `false`
    /// (and the frame emptied) when `bytes` is longer than [`FRAME_CAPACITY`].
    pub fn copy_from(&mut self, bytes: &[u8]) -> bool {
        self.reset();
        match self.mem.get_mut(HEADROOM..HEADROOM + bytes.len()) {
            Some(dst) => {
                dst.copy_from_slice(bytes);
                self.len = bytes.len();
                true
            }
            None => false,
        }
    }

    /// The frame's bytes.
    pub fn bytes(&self) -> &[u8] {
        self.mem
            .get(self.start..self.start + self.len)
            .unwrap_or_default()
    }

    /// The whole backing buffer (headroom included), for a reader that writes a frame
    /// and a header in front of it; describe the result with [`Frame::set_range`].
    pub(crate) fn raw_mut(&mut self) -> &mut [u8] {
        &mut self.mem
    }

    /// Sets the frame to `len` bytes at `start` of the backing buffer; `false` (frame
    /// unchanged) when that range does not fit.
    pub(crate) fn set_range(&mut self, start: usize, len: usize) -> bool {
        if start
            .checked_add(len)
            .is_some_and(|end| end <= self.mem.len())
        {
            self.start = start;
            self.len = len;
            true
        } else {
            false
        }
    }
}

impl PacketBuf for Frame {
    fn data(&self) -> &[u8] {
        self.bytes()
    }

    fn data_mut(&mut self) -> &mut [u8] {
        self.mem
            .get_mut(self.start..self.start + self.len)
            .unwrap_or_default()
    }

    fn headroom(&self) -> usize {
        self.start
    }

    fn push_front(&mut self, n: usize) -> Result<&mut [u8], BufError> {
        let start = self.start.checked_sub(n).ok_or(BufError::NoHeadroom)?;
        let old = self.start;
        self.start = start;
        self.len += n;
        self.mem.get_mut(start..old).ok_or(BufError::OutOfBounds)
    }

    fn pull_front(&mut self, n: usize) -> Result<(), BufError> {
        if n > self.len {
            return Err(BufError::TooShort);
        }
        self.start += n;
        self.len -= n;
        Ok(())
    }

    fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_push_pull_truncate() {
        let mut f = Frame::new();
        assert!(f.copy_from(b"payload"));
        assert_eq!(f.headroom(), HEADROOM);
        f.push_front(2).unwrap().copy_from_slice(b"hd");
        assert_eq!(f.bytes(), b"hdpayload");
        f.pull_front(2).unwrap();
        f.truncate(3);
        assert_eq!(f.bytes(), b"pay");
        assert_eq!(f.pull_front(4), Err(BufError::TooShort));
        assert_eq!(f.push_front(HEADROOM + 1).err(), Some(BufError::NoHeadroom));
        f.reset();
        assert!(f.bytes().is_empty());
    }

    #[test]
    fn oversized_copy_is_refused() {
        let mut f = Frame::new();
        assert!(!f.copy_from(&vec![0u8; FRAME_CAPACITY + 1]));
        assert!(f.is_empty());
        assert!(f.copy_from(&vec![7u8; FRAME_CAPACITY]));
        assert_eq!(f.len(), FRAME_CAPACITY);
    }
}
