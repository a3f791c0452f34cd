//! [`Frame`]: a preallocated packet buffer with headroom, the unit every [`crate::Port`]
//! receives into and the switch works on in place.
//!
//! ## Large frames
//!
//! A frame's capacity is fixed when it is allocated: [`FRAME_CAPACITY`] (2048 bytes, one
//! AF_XDP UMEM chunk) for [`Frame::new`], [`GSO_FRAME_CAPACITY`] (64 KiB and a little)
//! for [`Frame::large`]. The worker's receive batch is made of ordinary frames; a
//! [`crate::TapPort`] owns a pool of large frames, allocated when it is opened, and
//! receives a GSO super-frame by exchanging buffers with the caller's slot (a pointer
//! swap, nothing copied): the caller gets a large frame, the port keeps the small one.
//! Large frames are never freed or allocated afterwards, they only change hands, so a
//! batch slot that once received a super-frame stays large and is used directly the next
//! time. A received super-frame carries its segmentation ([`Frame::gso`]).

use hnv_core::buf::{BufError, PacketBuf};
use hnv_core::nvgre::MAX_OVERHEAD;

/// Bytes kept free in front of every received frame: room for the NVGRE outer headers
/// (and, on a TAP port, for the virtio-net header read in front of the frame).
pub const HEADROOM: usize = 128;

/// The largest frame a [`Frame::new`] holds (Ethernet header included). Larger frames are
/// counted and dropped by the port that received them (a TAP port receives them into a
/// large frame instead: see the module documentation).
pub const FRAME_CAPACITY: usize = 2048;

/// The largest frame a [`Frame::large`] holds: a GSO super-frame of up to 64 KiB of IP
/// packet, its Ethernet header and a VLAN tag, rounded up.
pub const GSO_FRAME_CAPACITY: usize = 65_536 + 64;

/// The transport of a GSO super-frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GsoKind {
    /// TCP over IPv4 (virtio-net `GSO_TCPV4`).
    TcpV4,
    /// TCP over IPv6 (virtio-net `GSO_TCPV6`).
    TcpV6,
}

/// The segmentation a GSO super-frame asks for, from the virtio-net header it arrived
/// with: cut the TCP payload into segments of `mss` bytes, every segment with complete
/// checksums. The TCP checksum field of a super-frame holds only the pseudo-header sum
/// (it is computed per segment when the frame is cut).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameGso {
    /// TCP over IPv4 or IPv6.
    pub kind: GsoKind,
    /// TCP payload bytes per segment (`gso_size`); never 0.
    pub mss: u16,
    /// The sender set CWR on the super-frame for the first segment only (`GSO_ECN`).
    pub ecn: bool,
}

impl FrameGso {
    /// What the switch needs to know ([`hnv_core::switch::Gso`]).
    pub fn switch_gso(self) -> hnv_core::switch::Gso {
        hnv_core::switch::Gso::new(self.mss)
    }
}

const _: () = assert!(HEADROOM >= MAX_OVERHEAD + crate::vnet::VNET_HDR_LEN);

/// A frame in a fixed, preallocated buffer: `HEADROOM` bytes in front, up to
/// [`Frame::capacity`] bytes of frame. Allocated once, reused for every packet.
#[derive(Clone)]
pub struct Frame {
    mem: Box<[u8]>,
    start: usize,
    len: usize,
    gso: Option<FrameGso>,
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
            .field("capacity", &self.capacity())
            .field("gso", &self.gso)
            .finish_non_exhaustive()
    }
}

impl Frame {
    /// An empty frame of [`FRAME_CAPACITY`] bytes (allocates its buffer).
    pub fn new() -> Self {
        Self::with_capacity(FRAME_CAPACITY)
    }

    /// An empty frame of [`GSO_FRAME_CAPACITY`] bytes, for GSO super-frames (allocates
    /// its buffer).
    pub fn large() -> Self {
        Self::with_capacity(GSO_FRAME_CAPACITY)
    }

    /// An empty frame holding up to `capacity` bytes after [`HEADROOM`] (allocates).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            mem: vec![0u8; HEADROOM + capacity].into_boxed_slice(),
            start: HEADROOM,
            len: 0,
            gso: None,
        }
    }

    /// The longest frame this buffer holds after the full headroom.
    pub fn capacity(&self) -> usize {
        self.mem.len() - HEADROOM
    }

    /// The segmentation of a GSO super-frame; `None` for an ordinary frame.
    pub fn gso(&self) -> Option<FrameGso> {
        self.gso
    }

    /// Marks the frame a GSO super-frame (or, with `None`, an ordinary frame).
    pub fn set_gso(&mut self, gso: Option<FrameGso>) {
        self.gso = gso;
    }

    /// Empties the frame, restores the full headroom and clears [`Frame::gso`].
    pub fn reset(&mut self) {
        self.start = HEADROOM;
        self.len = 0;
        self.gso = None;
    }

    /// Replaces the contents with a copy of `bytes`, after the full headroom (an ordinary
    /// frame: no GSO). `false` (and the frame emptied) when `bytes` is longer than
    /// [`Frame::capacity`].
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
    fn large_frames_and_gso_marks() {
        let mut f = Frame::large();
        assert_eq!(f.capacity(), GSO_FRAME_CAPACITY);
        assert!(f.copy_from(&vec![1u8; 65_000]));
        let gso = FrameGso {
            kind: GsoKind::TcpV4,
            mss: 1448,
            ecn: false,
        };
        f.set_gso(Some(gso));
        assert_eq!(f.gso(), Some(gso));
        assert_eq!(gso.switch_gso().mss, 1448);
        assert!(f.copy_from(b"plain"));
        assert_eq!(f.gso(), None, "a copy is an ordinary frame");
        f.set_gso(Some(gso));
        f.reset();
        assert_eq!(f.gso(), None);
        let mut small = Frame::new();
        std::mem::swap(&mut small, &mut f);
        assert_eq!(
            (small.capacity(), f.capacity()),
            (GSO_FRAME_CAPACITY, FRAME_CAPACITY)
        );
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
