//! [`XdpPort`]: an AF_XDP socket on one queue of an interface (xsk-rs over libxdp), in
//! copy mode, with the XDP program attached in native or generic mode.
//!
//! Frames are copied between the UMEM and the caller's [`Frame`]s (copy mode copies in
//! the kernel anyway, and a frame forwarded between two ports crosses two UMEMs). The
//! port keeps its own free list of UMEM frames and tops the fill ring up from it on every
//! receive, keeping about half the frames for transmission; each frame is always in
//! exactly one of: the free list, the fill ring, the TX ring ([`FrameAccount`]).

use std::io::Write as _;
use std::num::NonZeroU32;
use std::os::fd::{AsRawFd, RawFd};
use std::str::FromStr;
use std::time::{Duration, Instant};

use xsk_rs::config::{
    BindFlags, FrameSize, Interface, QueueSize, SocketConfig, UmemConfig, XdpFlags,
};
use xsk_rs::{CompQueue, FillQueue, FrameDesc, RxQueue, Socket, TxQueue, Umem};

use crate::frame::Frame;
use crate::port::{FrameAccount, Port, PortCounters, PortError};
use crate::sys;

/// How the XDP program that redirects to the socket is attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum XdpMode {
    /// In the driver (`XDP_FLAGS_DRV_MODE`); veth supports it.
    Native,
    /// On the generic receive path (`XDP_FLAGS_SKB_MODE`); works on any device.
    #[default]
    Generic,
}

impl XdpMode {
    fn flags(self) -> XdpFlags {
        match self {
            Self::Native => XdpFlags::XDP_FLAGS_DRV_MODE,
            Self::Generic => XdpFlags::XDP_FLAGS_SKB_MODE,
        }
    }

    /// `native` or `generic`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Native => "native",
            Self::Generic => "generic",
        }
    }
}

impl FromStr for XdpMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "native" => Ok(Self::Native),
            "generic" => Ok(Self::Generic),
            _ => Err(format!("expected native or generic, got {s:?}")),
        }
    }
}

/// Sizes of an [`XdpPort`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XdpConfig {
    /// XDP attach mode.
    pub mode: XdpMode,
    /// UMEM frames (a power of two; each is 2048 bytes).
    pub frames: u32,
    /// Size of each of the four rings (a power of two, at most `frames / 2`).
    pub ring: u32,
    /// Bind attempts while the queue is busy (a socket on it was closed moments ago).
    pub bind_attempts: u32,
}

impl Default for XdpConfig {
    fn default() -> Self {
        Self {
            mode: XdpMode::Generic,
            frames: 1024,
            ring: 512,
            bind_attempts: 8,
        }
    }
}

/// UMEM chunk size.
const CHUNK: u32 = 2048;
/// Most frames taken from the RX or completion ring in one call.
const BATCH: usize = 64;

/// An AF_XDP port. Dropping it closes the socket, which detaches the XDP program (with
/// the mode it was attached with) when this socket was the one that loaded it.
pub struct XdpPort {
    name: String,
    // Field order = drop order: the queues (which hold the socket) before the UMEM.
    tx: TxQueue,
    rx: RxQueue,
    fill: FillQueue,
    comp: CompQueue,
    umem: Umem,
    /// Frames on the free list.
    free: Vec<FrameDesc>,
    /// Scratch for the RX and completion rings (`BATCH` long).
    scratch: Vec<FrameDesc>,
    total: u32,
    in_fill: u32,
    in_tx: u32,
    fill_target: u32,
    /// Frames produced on the TX ring since the last wakeup.
    unkicked: u32,
    /// Largest frame a UMEM frame holds.
    mtu: usize,
    counters: PortCounters,
}

impl std::fmt::Debug for XdpPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XdpPort")
            .field("name", &self.name)
            .field("frames", &self.account())
            .finish_non_exhaustive()
    }
}

fn bind_error(interface: &str, queue: u32, attempts: u32, reason: String) -> PortError {
    PortError::Bind {
        interface: interface.into(),
        queue,
        attempts,
        reason,
        source: None,
    }
}

impl XdpPort {
    /// Opens an AF_XDP socket on `queue` of `interface` in copy mode, attaching the XDP
    /// program in `config.mode`. A busy queue (EBUSY) is retried with a doubling backoff
    /// from 10 ms, `config.bind_attempts` times in all.
    pub fn open(interface: &str, queue: u32, config: XdpConfig) -> Result<Self, PortError> {
        if interface.is_empty() || interface.len() > 15 || interface.contains('\0') {
            return Err(PortError::BadName(interface.into()));
        }
        if sys::if_index(interface).is_none() {
            return Err(PortError::NoSuchInterface(interface.into()));
        }
        let size = |n: u32| QueueSize::new(n).map_err(|e| PortError::Umem(e.to_string()));
        let frames = NonZeroU32::new(config.frames)
            .filter(|n| n.is_power_of_two() && n.get() >= 2 * config.ring)
            .ok_or_else(|| {
                PortError::Umem(format!(
                    "{} frames: need a power of two of at least twice the ring size {}",
                    config.frames, config.ring
                ))
            })?;
        let umem_config = UmemConfig::builder()
            .frame_size(FrameSize::new(CHUNK).map_err(|e| PortError::Umem(e.to_string()))?)
            .fill_queue_size(size(config.ring)?)
            .comp_queue_size(size(config.ring)?)
            .frame_headroom(0)
            .build()
            .map_err(|e| PortError::Umem(e.to_string()))?;
        let mtu = umem_config.mtu() as usize;
        let (umem, descs) =
            Umem::new(umem_config, frames, false).map_err(|e| PortError::Umem(e.to_string()))?;
        let socket_config = SocketConfig::builder()
            .rx_queue_size(size(config.ring)?)
            .tx_queue_size(size(config.ring)?)
            .xdp_flags(config.mode.flags())
            .bind_flags(BindFlags::XDP_COPY | BindFlags::XDP_USE_NEED_WAKEUP)
            .build();
        let iface = Interface::from_str(interface)
            .map_err(|_| PortError::BadName(interface.to_string()))?;

        let attempts = config.bind_attempts.max(1);
        let mut backoff = Duration::from_millis(10);
        let mut tried = 0;
        let (tx, rx, rings) = loop {
            tried += 1;
            match create_socket(socket_config, &umem, &iface, queue) {
                Ok(q) => break q,
                Err(e) if is_busy(&e) && tried < attempts => {
                    log::debug!("{interface} queue {queue} busy, retrying in {backoff:?}");
                    std::thread::sleep(backoff);
                    backoff *= 2;
                }
                Err(e) => {
                    let source = std::error::Error::source(&e)
                        .and_then(|s| s.downcast_ref::<std::io::Error>())
                        .and_then(std::io::Error::raw_os_error)
                        .map(std::io::Error::from_raw_os_error);
                    return Err(PortError::Bind {
                        interface: interface.into(),
                        queue,
                        attempts: tried,
                        reason: e.to_string(),
                        source,
                    });
                }
            }
        };
        let Some((fill, comp)) = rings else {
            return Err(bind_error(
                interface,
                queue,
                tried,
                "the UMEM came back without its fill and completion rings".into(),
            ));
        };
        let total = config.frames;
        let mut port = Self {
            name: interface.to_string(),
            tx,
            rx,
            fill,
            comp,
            umem,
            free: descs,
            scratch: vec![FrameDesc::default(); BATCH],
            total,
            in_fill: 0,
            in_tx: 0,
            fill_target: config.ring.min(total / 2),
            unkicked: 0,
            mtu,
            counters: PortCounters::default(),
        };
        port.refill();
        Ok(port)
    }

    /// Where the UMEM frames are.
    pub fn account(&self) -> FrameAccount {
        FrameAccount {
            total: self.total,
            free: self.free.len() as u32,
            fill: self.in_fill,
            tx: self.in_tx,
        }
    }

    /// Moves free frames onto the fill ring until `fill_target` frames are there.
    fn refill(&mut self) {
        let want = self.fill_target.saturating_sub(self.in_fill);
        if want == 0 || self.free.is_empty() {
            return;
        }
        let room = self.fill.nb_free(want).min(want) as usize;
        let n = room.min(self.free.len());
        if n == 0 {
            return;
        }
        let from = self.free.len() - n;
        let done = produce_fill(&mut self.fill, &self.free[from..]);
        self.free.truncate(from + (n - done));
        self.in_fill += done as u32;
        if done > 0 && self.fill.needs_wakeup() {
            let _ = self.fill.wakeup(self.rx.fd_mut(), 0);
        }
    }

    /// Takes finished transmissions off the completion ring onto the free list.
    fn reclaim(&mut self) {
        loop {
            let n = consume_comp(&mut self.comp, &mut self.scratch);
            if n == 0 {
                break;
            }
            self.free.extend_from_slice(&self.scratch[..n]);
            self.in_tx = self.in_tx.saturating_sub(n as u32);
            if n < self.scratch.len() {
                break;
            }
        }
    }

    fn kick(&mut self) -> Result<(), PortError> {
        if self.unkicked == 0 {
            return Ok(());
        }
        self.unkicked = 0;
        // Copy mode transmits from the sendto() call, so always kick.
        self.tx.wakeup().map_err(PortError::Io)
    }

    fn kernel_drops(&self) -> u64 {
        self.rx.fd().xdp_statistics().map_or(0, |s| {
            s.rx_dropped() + s.rx_ring_full() + s.rx_fill_ring_empty_descs()
        })
    }
}

impl Port for XdpPort {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "af_xdp"
    }

    fn recv(&mut self, frames: &mut [Frame]) -> Result<usize, PortError> {
        self.reclaim();
        self.refill();
        let want = frames.len().min(self.scratch.len());
        let got = consume_rx(&mut self.rx, &mut self.scratch[..want]);
        self.in_fill = self.in_fill.saturating_sub(got as u32);
        let mut n = 0;
        for i in 0..got {
            let desc = self.scratch[i];
            let ok = frames
                .get_mut(n)
                .is_some_and(|f| with_data(&self.umem, &desc, |d| f.copy_from(d)));
            self.free.push(desc);
            if ok {
                self.counters.rx_frames += 1;
                self.counters.rx_bytes += frames[n].bytes().len() as u64;
                n += 1;
            } else {
                self.counters.rx_oversized += 1;
            }
        }
        self.refill();
        Ok(n)
    }

    fn send(&mut self, frame: &[u8]) -> bool {
        if frame.len() > self.mtu {
            self.counters.tx_oversized += 1;
            return false;
        }
        if self.free.is_empty() {
            self.reclaim();
        }
        let Some(mut desc) = self.free.pop() else {
            self.counters.tx_no_frame += 1;
            return false;
        };
        if !write_data(&self.umem, &mut desc, frame) {
            self.free.push(desc);
            self.counters.tx_oversized += 1;
            return false;
        }
        if produce_tx(&mut self.tx, &desc) == 0 {
            self.free.push(desc);
            self.counters.tx_ring_full += 1;
            return false;
        }
        self.in_tx += 1;
        self.unkicked += 1;
        self.counters.tx_frames += 1;
        self.counters.tx_bytes += frame.len() as u64;
        true
    }

    fn flush(&mut self) -> Result<(), PortError> {
        let r = self.kick();
        self.reclaim();
        r
    }

    fn counters(&self) -> PortCounters {
        let mut c = self.counters;
        c.rx_kernel_dropped = self.kernel_drops();
        c
    }

    fn poll_fd(&self) -> RawFd {
        self.rx.fd().as_raw_fd()
    }

    fn frames(&self) -> Option<FrameAccount> {
        Some(self.account())
    }

    fn drain(&mut self, timeout: Duration) {
        let end = Instant::now() + timeout;
        loop {
            let _ = self.kick();
            self.reclaim();
            if self.in_tx == 0 || Instant::now() >= end {
                break;
            }
            self.unkicked = 1;
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

fn is_busy(e: &xsk_rs::socket::SocketCreateError) -> bool {
    std::error::Error::source(e)
        .and_then(|s| s.downcast_ref::<std::io::Error>())
        .and_then(std::io::Error::raw_os_error)
        == Some(libc::EBUSY)
}

type Queues = (TxQueue, RxQueue, Option<(FillQueue, CompQueue)>);

#[allow(unsafe_code)]
fn create_socket(
    config: SocketConfig,
    umem: &Umem,
    iface: &Interface,
    queue: u32,
) -> Result<Queues, xsk_rs::socket::SocketCreateError> {
    // SAFETY: the UMEM is not shared: each port creates its own and binds exactly one
    // socket to it, so the shared-UMEM double-free hazard of `Socket::new` cannot arise.
    unsafe { Socket::new(config, umem, iface, queue) }
}

#[allow(unsafe_code)]
fn produce_fill(fill: &mut FillQueue, descs: &[FrameDesc]) -> usize {
    // SAFETY: `descs` come from this port's free list: frames of this port's UMEM that
    // neither the kernel (fill/TX ring) nor the port is using; the caller removes the
    // produced ones from the free list.
    unsafe { fill.produce(descs) }
}

#[allow(unsafe_code)]
fn produce_tx(tx: &mut TxQueue, desc: &FrameDesc) -> usize {
    // SAFETY: `desc` was just taken off this port's free list (a frame of this UMEM no
    // one else uses) and is only touched again after the completion ring returns it.
    unsafe { tx.produce_one(desc) }
}

#[allow(unsafe_code)]
fn consume_rx(rx: &mut RxQueue, descs: &mut [FrameDesc]) -> usize {
    // SAFETY: the descriptors written are frames of this socket's UMEM that the kernel
    // hands back; the port copies each out and puts it on its free list.
    unsafe { rx.consume(descs) }
}

#[allow(unsafe_code)]
fn consume_comp(comp: &mut CompQueue, descs: &mut [FrameDesc]) -> usize {
    // SAFETY: as for `consume_rx`: completed frames return to this port's free list.
    unsafe { comp.consume(descs) }
}

/// Runs `f` over the received bytes of `desc`.
#[allow(unsafe_code)]
fn with_data<R>(umem: &Umem, desc: &FrameDesc, f: impl FnOnce(&[u8]) -> R) -> R {
    // SAFETY: `desc` was just consumed from the RX ring of a socket on this UMEM, so it
    // is a frame of this UMEM that the kernel no longer writes; nothing else of the port
    // touches it before it goes back on the free list.
    let data = unsafe { umem.data(desc) };
    f(data.contents())
}

/// Writes `bytes` as the frame of `desc`; `false` when they do not fit.
#[allow(unsafe_code)]
fn write_data(umem: &Umem, desc: &mut FrameDesc, bytes: &[u8]) -> bool {
    // SAFETY: `desc` is off the free list: a frame of this UMEM that neither the kernel
    // nor another part of the port is using.
    let mut data = unsafe { umem.data_mut(desc) };
    let mut cursor = data.cursor();
    if bytes.len() > cursor.buf_len() {
        return false;
    }
    cursor.set_pos(0);
    cursor.write_all(bytes).is_ok()
}
