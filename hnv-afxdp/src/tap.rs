//! [`TapPort`]: a TAP device opened with `IFF_VNET_HDR`, the way a hypervisor attaches a
//! VM's virtio-net adapter. hnv holds the file descriptor; the VM is whatever is on the
//! interface side (a guest's backend, or a network namespace the interface was moved to).
//!
//! Frames read from the descriptor (sent by the VM) carry a virtio-net header. The port
//! announces checksum offload and TCP segmentation offload (`TUN_F_CSUM | TUN_F_TSO4 |
//! TUN_F_TSO6 | TUN_F_TSO_ECN`), so the VM may send:
//!
//! - TCP/UDP with a partial checksum (`NEEDS_CSUM`): the port completes it in software
//!   before handing the frame on ([`PortCounters::rx_csum_completed`]);
//! - TCP GSO super-frames of up to 64 KiB (`GSO_TCPV4`, `GSO_TCPV6`, with or without
//!   `GSO_ECN`): handed on whole, marked with their segmentation ([`Frame::gso`],
//!   [`PortCounters::rx_gso_frames`]), the checksum left partial; the worker has the
//!   switch decide once per super-frame and cuts it into segments on the way out (see
//!   `gso.rs`). UDP segmentation is not announced: a UDP GSO frame (or an unknown GSO
//!   type) that arrives anyway is counted ([`PortCounters::rx_gso_dropped`]) and dropped.
//!
//! Super-frames do not fit a 2048-byte [`Frame`]: the port owns [`LARGE_FRAMES`] large
//! frames ([`Frame::large`], allocated when the port is opened) and, when the caller's
//! slot is small, exchanges it for one of them before reading (a pointer swap, no copy;
//! see [`crate::frame`]). A slot that is already large is read into directly, so once the
//! worker's batch slots are large no exchange happens any more. With no large frame left
//! (a caller that keeps handing in new small frames), frames are read into the small one
//! and a longer frame is counted in [`PortCounters::rx_oversized`].
//!
//! Frames written to the VM get an all-zero header (a complete frame, no GSO), except
//! super-frames passed on whole by [`Port::send_gso`] (from another TAP VM): their header
//! says `NEEDS_CSUM` from the TCP header and the GSO type and size, as a virtio-net
//! device hands a guest a large receive.

use std::fs::{File, OpenOptions};
use std::io::{self, IoSlice, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;

use crate::frame::{Frame, FrameGso, GSO_FRAME_CAPACITY, HEADROOM};
use crate::port::{Port, PortCounters, PortError};
use crate::vnet::{self, VnetError, VnetHdr, VNET_HDR_LEN};

/// Large frames a TAP port owns for exchanging with small receive slots (the worker's
/// batch size, so a whole batch of slots can become large).
pub const LARGE_FRAMES: usize = crate::worker::BATCH;

/// `TUNSETIFF`: `_IOW('T', 202, int)`.
const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
/// `TUNSETOFFLOAD`: `_IOW('T', 208, unsigned int)`.
const TUNSETOFFLOAD: libc::c_ulong = 0x4004_54d0;
/// `IFF_TAP`.
const IFF_TAP: libc::c_short = 0x0002;
/// `IFF_NO_PI`: no packet-information prefix.
const IFF_NO_PI: libc::c_short = 0x1000;
/// `IFF_VNET_HDR`: a virtio-net header in front of every frame.
const IFF_VNET_HDR: libc::c_short = 0x4000;
/// `TUN_F_CSUM`: we accept partial checksums.
const TUN_F_CSUM: libc::c_uint = 0x01;
/// `TUN_F_TSO4`: we accept TCPv4 super-frames.
const TUN_F_TSO4: libc::c_uint = 0x02;
/// `TUN_F_TSO6`: we accept TCPv6 super-frames.
const TUN_F_TSO6: libc::c_uint = 0x04;
/// `TUN_F_TSO_ECN`: we accept super-frames with the ECN flag (CWR on the first segment).
const TUN_F_TSO_ECN: libc::c_uint = 0x08;

/// The offloads the port announces to the kernel (what the VM may send).
pub const TAP_OFFLOADS: libc::c_uint = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;

/// A TAP port.
#[derive(Debug)]
pub struct TapPort {
    name: String,
    file: File,
    counters: PortCounters,
    /// `large[..spare]` are large frames to exchange for small slots; the rest hold the
    /// small frames received in exchange.
    large: Vec<Frame>,
    spare: usize,
}

impl TapPort {
    /// Creates the TAP device `name` (or attaches to an existing persistent one of that
    /// name) in this network namespace, with a virtio-net header, checksum offload and
    /// TCP segmentation offload ([`TAP_OFFLOADS`]); allocates its [`LARGE_FRAMES`].
    pub fn open(name: &str) -> Result<Self, PortError> {
        if name.is_empty() || name.len() > 15 || name.contains('\0') {
            return Err(PortError::BadName(name.into()));
        }
        let step = |step: &'static str| {
            move |source: io::Error| PortError::Tap {
                interface: name.into(),
                step,
                source,
            }
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open("/dev/net/tun")
            .map_err(step("open /dev/net/tun"))?;
        let mut req = ifreq_named(name);
        req.ifr_ifru.ifru_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
        set_iff(&file, &req).map_err(step("TUNSETIFF"))?;
        set_offload(&file, TAP_OFFLOADS).map_err(step("TUNSETOFFLOAD"))?;
        Ok(Self {
            name: name.into(),
            file,
            counters: PortCounters::default(),
            large: (0..LARGE_FRAMES).map(|_| Frame::large()).collect(),
            spare: LARGE_FRAMES,
        })
    }

    /// Large frames left to exchange for small receive slots.
    pub fn spare_large_frames(&self) -> usize {
        self.spare
    }

    /// Makes `f` a large frame, exchanging it with a spare one, unless it is large
    /// already or none is left.
    fn make_large(&mut self, f: &mut Frame) {
        if f.capacity() >= GSO_FRAME_CAPACITY || self.spare == 0 {
            return;
        }
        self.spare -= 1;
        if let Some(big) = self.large.get_mut(self.spare) {
            std::mem::swap(f, big);
        }
    }

    /// Reads one frame into `f`; `Ok(false)` when none is waiting.
    fn read_one(&mut self, f: &mut Frame) -> Result<bool, PortError> {
        self.make_large(f);
        f.reset();
        let at = HEADROOM - VNET_HDR_LEN;
        let buf = f.raw_mut();
        let room = buf.len() - at;
        let n = match self.file.read(&mut buf[at..]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(false),
            Err(e) => return Err(PortError::Io(e)),
        };
        let Ok(hdr) = vnet::parse(&buf[at..at + n]) else {
            self.counters.rx_malformed += 1;
            f.reset();
            return Ok(true);
        };
        let len = n - VNET_HDR_LEN;
        // The kernel returns at most the buffer's length: a frame that fills the buffer
        // may have been cut.
        if n >= room {
            self.counters.rx_oversized += 1;
            f.reset();
            return Ok(true);
        }
        if len < 14 {
            self.counters.rx_malformed += 1;
            f.reset();
            return Ok(true);
        }
        let gso = match vnet::finish_rx(hdr, &mut buf[HEADROOM..HEADROOM + len]) {
            Ok(rx) => {
                if rx.csum_completed {
                    self.counters.rx_csum_completed += 1;
                }
                rx.gso
            }
            Err(VnetError::UdpGso | VnetError::UnknownGso(_) | VnetError::ZeroGsoSize) => {
                self.counters.rx_gso_dropped += 1;
                f.reset();
                return Ok(true);
            }
            Err(VnetError::Short | VnetError::BadChecksumRange) => {
                self.counters.rx_malformed += 1;
                f.reset();
                return Ok(true);
            }
        };
        f.set_range(HEADROOM, len);
        f.set_gso(gso);
        if gso.is_some() {
            self.counters.rx_gso_frames += 1;
        }
        self.counters.rx_frames += 1;
        self.counters.rx_bytes += len as u64;
        Ok(true)
    }
}

impl Port for TapPort {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "tap"
    }

    fn recv(&mut self, frames: &mut [Frame]) -> Result<usize, PortError> {
        let mut n = 0;
        // Bounded: at most twice the batch in reads, so refused frames cannot starve the
        // other ports.
        for _ in 0..frames.len() * 2 {
            let Some(slot) = frames.get_mut(n) else {
                break;
            };
            if !self.read_one(slot)? {
                break;
            }
            if !slot.bytes().is_empty() {
                n += 1;
            }
        }
        Ok(n)
    }

    fn send(&mut self, frame: &[u8]) -> bool {
        self.write(VnetHdr::default(), frame)
    }

    fn send_gso(&mut self, frame: &[u8], gso: FrameGso) -> Option<bool> {
        let Some((csum_start, hdr_len)) = tcp_offsets(frame) else {
            self.counters.tx_errors += 1;
            return Some(false);
        };
        let sent = self.write(vnet::for_gso(gso, csum_start, hdr_len), frame);
        if sent {
            self.counters.tx_gso_frames += 1;
        }
        Some(sent)
    }

    fn flush(&mut self) -> Result<(), PortError> {
        Ok(())
    }

    fn counters(&self) -> PortCounters {
        self.counters
    }

    fn poll_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }

    fn rx_frame_capacity(&self) -> usize {
        GSO_FRAME_CAPACITY
    }
}

impl TapPort {
    /// Writes `hdr` and `frame` to the device, counting.
    fn write(&mut self, hdr: VnetHdr, frame: &[u8]) -> bool {
        let hdr = hdr.to_bytes();
        match self
            .file
            .write_vectored(&[IoSlice::new(&hdr), IoSlice::new(frame)])
        {
            Ok(n) if n == hdr.len() + frame.len() => {
                self.counters.tx_frames += 1;
                self.counters.tx_bytes += frame.len() as u64;
                true
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.counters.tx_ring_full += 1;
                false
            }
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                self.counters.tx_oversized += 1;
                false
            }
            Ok(_) | Err(_) => {
                self.counters.tx_errors += 1;
                false
            }
        }
    }
}

/// The offsets of a TCP super-frame's virtio-net header: where the TCP header starts
/// (`csum_start`) and where its payload starts (`hdr_len`). `None` when `frame` is not
/// TCP over IPv4 / IPv6.
fn tcp_offsets(frame: &[u8]) -> Option<(u16, u16)> {
    let seg = crate::gso::Headers::parse(frame).ok()?;
    Some((
        u16::try_from(seg.l4).ok()?,
        u16::try_from(seg.payload).ok()?,
    ))
}

/// An `ifreq` with `ifr_name` = `name` (at most 15 bytes, checked by the caller).
fn ifreq_named(name: &str) -> libc::ifreq {
    let mut name_field = [0 as libc::c_char; libc::IFNAMSIZ];
    for (d, s) in name_field.iter_mut().zip(name.bytes()) {
        *d = libc::c_char::from_ne_bytes([s]);
    }
    libc::ifreq {
        ifr_name: name_field,
        ifr_ifru: libc::__c_anonymous_ifr_ifru { ifru_flags: 0 },
    }
}

#[allow(unsafe_code)]
fn set_iff(file: &File, req: &libc::ifreq) -> io::Result<()> {
    // SAFETY: TUNSETIFF reads (and writes back the chosen name into) one `struct ifreq`;
    // `req` is a properly initialised one that lives for the call. The kernel writes at
    // most `sizeof(struct ifreq)` bytes, so a copy is passed as the mutable argument.
    let mut copy = *req;
    let ret = unsafe { libc::ioctl(file.as_raw_fd(), TUNSETIFF, &raw mut copy) };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

#[allow(unsafe_code)]
fn set_offload(file: &File, flags: libc::c_uint) -> io::Result<()> {
    // SAFETY: TUNSETOFFLOAD takes its argument by value (an unsigned int of offload
    // flags); no memory is passed.
    let ret = unsafe { libc::ioctl(file.as_raw_fd(), TUNSETOFFLOAD, libc::c_ulong::from(flags)) };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}
