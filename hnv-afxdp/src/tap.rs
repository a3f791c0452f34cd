//! [`TapPort`]: a TAP device opened with `IFF_VNET_HDR`, the way a hypervisor attaches a
//! VM's virtio-net adapter. hnv holds the file descriptor; the VM is whatever is on the
//! interface side (a guest's backend, or a network namespace the interface was moved to).
//!
//! Frames read from the descriptor (sent by the VM) carry a virtio-net header. The port
//! announces checksum offload (`TUN_F_CSUM`), so the VM may send TCP/UDP with a partial
//! checksum (`NEEDS_CSUM`): the port completes it in software before handing the frame
//! on. Segmentation offload is not announced, so the VM sends no GSO super-frames; one
//! that arrives anyway is counted ([`PortCounters::rx_gso_dropped`]) and dropped.
//! Frames written to the VM get an all-zero header (complete frame, no GSO).

use std::fs::{File, OpenOptions};
use std::io::{self, IoSlice, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;

use crate::frame::{Frame, FRAME_CAPACITY, HEADROOM};
use crate::port::{Port, PortCounters, PortError};
use crate::vnet::{self, VnetError, VnetHdr, VNET_HDR_LEN};

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

/// A TAP port.
#[derive(Debug)]
pub struct TapPort {
    name: String,
    file: File,
    counters: PortCounters,
}

impl TapPort {
    /// Creates the TAP device `name` (or attaches to an existing persistent one of that
    /// name) in this network namespace, with a virtio-net header and checksum offload.
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
        set_offload(&file, TUN_F_CSUM).map_err(step("TUNSETOFFLOAD"))?;
        Ok(Self {
            name: name.into(),
            file,
            counters: PortCounters::default(),
        })
    }

    /// Reads one frame into `f`; `Ok(false)` when none is waiting.
    fn read_one(&mut self, f: &mut Frame) -> Result<bool, PortError> {
        let at = HEADROOM - VNET_HDR_LEN;
        let buf = f.raw_mut();
        let room = buf.len() - at;
        let n = match self.file.read(&mut buf[at..]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(false),
            Err(e) => return Err(PortError::Io(e)),
        };
        let Ok(hdr) = VnetHdr::parse(&buf[at..at + n]) else {
            self.counters.rx_malformed += 1;
            f.reset();
            return Ok(true);
        };
        let len = n - VNET_HDR_LEN;
        if hdr.is_gso() {
            self.counters.rx_gso_dropped += 1;
            f.reset();
            return Ok(true);
        }
        if n >= room || len > FRAME_CAPACITY {
            self.counters.rx_oversized += 1;
            f.reset();
            return Ok(true);
        }
        if len < 14 {
            self.counters.rx_malformed += 1;
            f.reset();
            return Ok(true);
        }
        match vnet::finish_rx(hdr, &mut buf[HEADROOM..HEADROOM + len]) {
            Ok(done) => {
                if done {
                    self.counters.rx_csum_completed += 1;
                }
            }
            Err(VnetError::Gso) => {
                self.counters.rx_gso_dropped += 1;
                f.reset();
                return Ok(true);
            }
            Err(VnetError::Short | VnetError::BadChecksumRange) => {
                self.counters.rx_malformed += 1;
                f.reset();
                return Ok(true);
            }
        }
        f.set_range(HEADROOM, len);
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
        let hdr = VnetHdr::default().to_bytes();
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

    fn flush(&mut self) -> Result<(), PortError> {
        Ok(())
    }

    fn counters(&self) -> PortCounters {
        self.counters
    }

    fn poll_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }
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
