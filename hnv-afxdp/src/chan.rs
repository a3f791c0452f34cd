//! Several switch workers over single-queue devices: a [`Dispatcher`] owns the real
//! devices, receives their batches and spreads the frames over the workers by software
//! RSS ([`Spread`]); each worker is an ordinary [`crate::Worker`] whose devices are
//! [`ChannelPort`]s — receive from a channel, send into a channel — and the dispatcher
//! transmits what the workers send on the real device.
//!
//! Buffers circulate, nothing is allocated per frame:
//!
//! - **Receive.** The dispatcher receives into its own batch (the device copies the frame
//!   out of its UMEM, as with one worker), swaps each frame with a spare [`Frame`] from the
//!   receive pool and sends the full one to the chosen worker's channel for that device.
//!   The worker's [`ChannelPort::recv`] swaps it into the worker's batch and returns the
//!   buffer it displaced to the pool. No copy.
//! - **Transmit.** [`ChannelPort::send`] copies the verdict's frame into a buffer of the
//!   transmit pool (one copy, the only one added by this path) and sends it to the
//!   device's transmit channel; the dispatcher copies it into the device's UMEM and
//!   returns the buffer.
//!
//! Nothing blocks: the dispatcher only receives from a device when every worker channel
//! of that device and the receive pool have room for a whole batch, so a frame handed
//! over is never dropped (a busy worker leaves frames in the kernel's ring, where an
//! overflow is counted as `rx_kernel_dropped`, as with one worker). A worker that finds
//! the transmit pool empty or the transmit channel full counts a drop (`tx_no_frame`,
//! `tx_ring_full` of its channel port) and goes on.
//!
//! Sleeping: a thread with nothing to do waits in poll(2) on its devices and on a
//! [`Wake`] socket; a producer writes one byte to the socket only when the consumer said
//! it is about to sleep (the `armed` flag), so a busy path makes no extra system calls.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use crate::control::CtlFrame;
use crate::frame::Frame;
use crate::port::{Port, PortCounters, PortError};
use crate::rss::Spread;
use crate::sys;
use crate::worker::BATCH;

/// Frames each (device, worker) channel holds.
pub const CHANNEL_DEPTH: usize = 256;
/// Frames of the transmit pool (shared by the workers).
pub const TX_POOL: usize = 2048;
/// Most frames the dispatcher takes from one device's transmit channel per round.
const TX_PER_ROUND: usize = 4 * BATCH;
/// How long an idle dispatcher sleeps in poll(2) before it looks at the stop flag again.
const IDLE_WAIT: Duration = Duration::from_millis(20);

/// A wake-up for a thread sleeping in poll(2): a datagram socket pair plus an `armed`
/// flag set by the sleeper, so producers write only when someone may be asleep.
#[derive(Debug)]
pub struct Wake {
    rx: UnixDatagram,
    tx: UnixDatagram,
    armed: AtomicBool,
}

impl Wake {
    /// A new wake-up (two non-blocking sockets).
    pub fn new() -> io::Result<Arc<Self>> {
        let (rx, tx) = UnixDatagram::pair()?;
        rx.set_nonblocking(true)?;
        tx.set_nonblocking(true)?;
        Ok(Arc::new(Self {
            rx,
            tx,
            armed: AtomicBool::new(false),
        }))
    }

    /// Wakes the sleeper if it armed the wake-up.
    pub fn notify(&self) {
        if self.armed.swap(false, Ordering::SeqCst) {
            let _ = self.tx.send(&[1]);
        }
    }

    /// Consumes pending wake-ups and arms: the caller must check its queues once more
    /// before it sleeps. Already armed: nothing to do (a byte is only written when the
    /// flag goes from armed to not armed), so an idle port costs no system call.
    pub fn arm(&self) {
        if self.armed.load(Ordering::SeqCst) {
            return;
        }
        let mut buf = [0u8; 8];
        while self.rx.recv(&mut buf).is_ok() {}
        self.armed.store(true, Ordering::SeqCst);
    }

    /// The descriptor that polls readable after a wake-up.
    pub fn fd(&self) -> RawFd {
        self.rx.as_raw_fd()
    }
}

/// One class of receive buffers: frames of one capacity, circulating between the
/// dispatcher and the workers.
#[derive(Clone)]
struct Pool {
    put: Sender<Frame>,
    take: Receiver<Frame>,
    capacity: usize,
}

impl Pool {
    /// A pool of `frames` buffers of `capacity` bytes, whose channel also has room for
    /// `more` buffers of that class coming in from elsewhere (the workers' own batches).
    fn new(frames: usize, more: usize, capacity: usize) -> Self {
        let (put, take) = crossbeam_channel::bounded(frames + more);
        for _ in 0..frames {
            let _ = put.try_send(Frame::with_capacity(capacity));
        }
        Self {
            put,
            take,
            capacity,
        }
    }
}

/// The receive buffers: ordinary frames, and — when a device receives GSO super-frames
/// ([`Port::rx_frame_capacity`], a TAP port) — large ones. A buffer always goes back to
/// the pool of its own size, so large buffers never drift to devices that do not need
/// them and a TAP port is always given large ones.
#[derive(Clone)]
struct Pools {
    small: Pool,
    large: Option<Pool>,
}

impl Pools {
    /// The pool device buffers of `capacity` bytes come from.
    fn for_capacity(&self, capacity: usize) -> &Pool {
        match &self.large {
            Some(large) if capacity > self.small.capacity => large,
            _ => &self.small,
        }
    }

    /// Returns a buffer to the pool of its size.
    fn give_back(&self, frame: Frame) {
        let _ = self.for_capacity(frame.capacity()).put.try_send(frame);
    }
}

/// One worker's view of one real device: frames from the dispatcher in, frames for the
/// device out (see the [module documentation](self)).
pub struct ChannelPort {
    name: String,
    input: Receiver<Frame>,
    wake: Arc<Wake>,
    rx_return: Pools,
    output: Sender<Frame>,
    tx_pool: Receiver<Frame>,
    tx_return: Sender<Frame>,
    dispatcher: Arc<Wake>,
    pending: bool,
    counters: PortCounters,
}

impl Port for ChannelPort {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "channel"
    }

    fn recv(&mut self, frames: &mut [Frame]) -> Result<usize, PortError> {
        let mut n = self.take(frames, 0);
        if n == 0 {
            self.wake.arm();
            n = self.take(frames, 0);
        }
        Ok(n)
    }

    fn send(&mut self, frame: &[u8]) -> bool {
        let Ok(mut buf) = self.tx_pool.try_recv() else {
            self.counters.tx_no_frame += 1;
            return false;
        };
        if !buf.copy_from(frame) {
            let _ = self.tx_return.try_send(buf);
            self.counters.tx_oversized += 1;
            return false;
        }
        match self.output.try_send(buf) {
            Ok(()) => {
                self.counters.tx_frames += 1;
                self.counters.tx_bytes += frame.len() as u64;
                self.pending = true;
                true
            }
            Err(e) => {
                let _ = self.tx_return.try_send(e.into_inner());
                self.counters.tx_ring_full += 1;
                false
            }
        }
    }

    fn flush(&mut self) -> Result<(), PortError> {
        if self.pending {
            self.pending = false;
            self.dispatcher.notify();
        }
        Ok(())
    }

    fn counters(&self) -> PortCounters {
        self.counters
    }

    fn poll_fd(&self) -> RawFd {
        self.wake.fd()
    }
}

impl ChannelPort {
    /// Swaps queued frames into `frames[from..]`; returns how many.
    fn take(&mut self, frames: &mut [Frame], from: usize) -> usize {
        let mut n = from;
        while let Some(slot) = frames.get_mut(n) {
            let Ok(mut full) = self.input.try_recv() else {
                break;
            };
            std::mem::swap(slot, &mut full);
            // `full` is now the worker's displaced buffer: back to the receive pool.
            self.rx_return.give_back(full);
            self.counters.rx_frames += 1;
            self.counters.rx_bytes += slot.bytes().len() as u64;
            n += 1;
        }
        n - from
    }
}

/// Counters of the dispatcher.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DispatchCounters {
    /// Rounds over all devices.
    pub rounds: u64,
    /// Frames handed to each worker.
    pub to_worker: Vec<u64>,
    /// Device batches not received in a round because a worker channel or the receive
    /// pool lacked room (the frames waited in the kernel).
    pub stalled: u64,
    /// Frames received but not handed over (cannot happen while the room check holds;
    /// counted should it ever).
    pub dropped: u64,
    /// Frames the workers sent, taken off the transmit channels.
    pub from_workers: u64,
    /// Frames the devices accepted (workers' and control requests).
    pub forwarded: u64,
    /// Control-thread requests sent out of the uplink (counted in `forwarded` too).
    pub control_sent: u64,
    /// Errors handing queued frames to a device (e.g. ENETDOWN).
    pub flush_errors: u64,
    /// Receive errors from a device.
    pub rx_errors: u64,
}

/// Owns the real devices of a host with several workers (see the
/// [module documentation](self)). Device 0 is the uplink.
pub struct Dispatcher {
    devices: Vec<Box<dyn Port>>,
    to_workers: Vec<Vec<Sender<Frame>>>,
    wakes: Vec<Vec<Arc<Wake>>>,
    from_workers: Vec<Receiver<Frame>>,
    pools: Pools,
    /// Per device: true when it is given large receive buffers.
    large: Vec<bool>,
    tx_return: Sender<Frame>,
    wake: Arc<Wake>,
    requests: Receiver<CtlFrame>,
    spread: Spread,
    batch: Vec<Frame>,
    /// The receive batch of the devices given large buffers (empty when there are none).
    large_batch: Vec<Frame>,
    fds: Vec<RawFd>,
    notify: Vec<Vec<bool>>,
    counters: DispatchCounters,
}

/// The channel ports of one worker: `uplink` and, for each device after the uplink, the
/// port it stands for.
pub struct WorkerPorts {
    /// The worker's view of the uplink.
    pub uplink: ChannelPort,
    /// The worker's view of each other device, in the order given to [`Dispatcher::new`].
    pub others: Vec<ChannelPort>,
}

impl Dispatcher {
    /// A dispatcher over `devices` (the uplink first) for `workers` workers; returns it
    /// with each worker's channel ports. Allocates every buffer of both pools here.
    pub fn new(
        devices: Vec<Box<dyn Port>>,
        workers: usize,
        requests: Receiver<CtlFrame>,
    ) -> io::Result<(Self, Vec<WorkerPorts>)> {
        if devices.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a dispatcher needs at least the uplink",
            ));
        }
        let workers = workers.max(1);
        let n_dev = devices.len();
        let rx_total = n_dev * workers * CHANNEL_DEPTH / 2 + (workers + 2) * BATCH;
        // Large buffers (64 KiB each) are few: enough for every worker's batch to hold
        // large ones and a whole batch more; beyond that, a busy TAP port's frames wait
        // in the kernel (back-pressure, no drop).
        let large_capacity = devices
            .iter()
            .map(|d| d.rx_frame_capacity())
            .max()
            .unwrap_or(crate::FRAME_CAPACITY);
        let small = Pool::new(rx_total, workers * BATCH, crate::FRAME_CAPACITY);
        let large = (large_capacity > crate::FRAME_CAPACITY)
            .then(|| Pool::new((workers + 2) * BATCH, 0, large_capacity));
        let large_flags: Vec<bool> = devices
            .iter()
            .map(|d| d.rx_frame_capacity() > crate::FRAME_CAPACITY)
            .collect();
        let large_batch = if large.is_some() {
            (0..BATCH)
                .map(|_| Frame::with_capacity(large_capacity))
                .collect()
        } else {
            Vec::new()
        };
        let pools = Pools { small, large };
        let (tx_put, tx_pool) = crossbeam_channel::bounded(TX_POOL);
        for _ in 0..TX_POOL {
            let _ = tx_put.try_send(Frame::new());
        }
        let wake = Wake::new()?;
        let mut to_workers = Vec::with_capacity(n_dev);
        let mut wakes = Vec::with_capacity(n_dev);
        let mut from_workers = Vec::with_capacity(n_dev);
        let mut ports: Vec<Vec<ChannelPort>> = (0..workers).map(|_| Vec::new()).collect();
        for d in &devices {
            let (out_tx, out_rx) = crossbeam_channel::bounded(CHANNEL_DEPTH * workers);
            from_workers.push(out_rx);
            let mut senders = Vec::with_capacity(workers);
            let mut dev_wakes = Vec::with_capacity(workers);
            for w in &mut ports {
                let (in_tx, in_rx) = crossbeam_channel::bounded(CHANNEL_DEPTH);
                let port_wake = Wake::new()?;
                senders.push(in_tx);
                dev_wakes.push(Arc::clone(&port_wake));
                w.push(ChannelPort {
                    name: d.name().to_string(),
                    input: in_rx,
                    wake: port_wake,
                    rx_return: pools.clone(),
                    output: out_tx.clone(),
                    tx_pool: tx_pool.clone(),
                    tx_return: tx_put.clone(),
                    dispatcher: Arc::clone(&wake),
                    pending: false,
                    counters: PortCounters::default(),
                });
            }
            to_workers.push(senders);
            wakes.push(dev_wakes);
        }
        let mut fds: Vec<RawFd> = devices.iter().map(|d| d.poll_fd()).collect();
        fds.push(wake.fd());
        let worker_ports = ports
            .into_iter()
            .filter_map(|mut v| {
                let others = v.split_off(1);
                let uplink = v.pop()?;
                Some(WorkerPorts { uplink, others })
            })
            .collect();
        let dispatcher = Self {
            devices,
            to_workers,
            wakes,
            from_workers,
            pools,
            large: large_flags,
            tx_return: tx_put,
            wake,
            requests,
            spread: Spread::new(workers),
            batch: (0..BATCH).map(|_| Frame::new()).collect(),
            large_batch,
            fds,
            notify: vec![vec![false; workers]; n_dev],
            counters: DispatchCounters {
                to_worker: vec![0; workers],
                ..DispatchCounters::default()
            },
        };
        Ok((dispatcher, worker_ports))
    }

    /// The real devices, the uplink first.
    pub fn devices(&self) -> impl Iterator<Item = &dyn Port> {
        self.devices.iter().map(|d| &**d)
    }

    /// The counters so far.
    pub fn counters(&self) -> &DispatchCounters {
        &self.counters
    }

    /// True when device `d` may be received from: every worker channel of it and the
    /// receive pool have room for a whole batch.
    fn room(&self, d: usize) -> bool {
        self.pool(d).take.len() >= BATCH
            && self.to_workers[d]
                .iter()
                .all(|s| s.capacity().unwrap_or(0).saturating_sub(s.len()) >= BATCH)
    }

    /// The receive pool of device `d`.
    fn pool(&self, d: usize) -> &Pool {
        match &self.pools.large {
            Some(large) if self.large[d] => large,
            _ => &self.pools.small,
        }
    }

    /// Receives a batch from device `d` and hands each frame to its worker.
    fn receive(&mut self, d: usize) -> usize {
        if !self.room(d) {
            self.counters.stalled += 1;
            return 0;
        }
        let large = self.large[d] && !self.large_batch.is_empty();
        let batch = if large {
            &mut self.large_batch
        } else {
            &mut self.batch
        };
        let n = match self.devices[d].recv(batch) {
            Ok(n) => n.min(BATCH),
            Err(e) => {
                self.counters.rx_errors += 1;
                log::warn!("receive: {e}");
                0
            }
        };
        let pool = match &self.pools.large {
            Some(l) if large => l,
            _ => &self.pools.small,
        };
        for slot in batch.iter_mut().take(n) {
            let w = self.spread.pick(slot.bytes());
            let Ok(mut spare) = pool.take.try_recv() else {
                self.counters.dropped += 1;
                continue;
            };
            std::mem::swap(slot, &mut spare);
            match self.to_workers[d][w].try_send(spare) {
                Ok(()) => {
                    self.counters.to_worker[w] += 1;
                    self.notify[d][w] = true;
                }
                Err(e) => {
                    // Nothing handed over: the frame's buffer goes back to the pool.
                    self.counters.dropped += 1;
                    self.pools.give_back(e.into_inner());
                }
            }
        }
        for (w, flag) in self.notify[d].iter_mut().enumerate() {
            if std::mem::take(flag) {
                self.wakes[d][w].notify();
            }
        }
        n
    }

    /// Transmits what the workers queued for device `d`.
    fn transmit(&mut self, d: usize) -> usize {
        let mut n = 0;
        while n < TX_PER_ROUND {
            let Ok(frame) = self.from_workers[d].try_recv() else {
                break;
            };
            n += 1;
            self.counters.from_workers += 1;
            if self.devices[d].send(frame.bytes()) {
                self.counters.forwarded += 1;
            }
            let _ = self.tx_return.try_send(frame);
        }
        n
    }

    fn send_requests(&mut self) -> usize {
        let mut n = 0;
        while let Ok(frame) = self.requests.try_recv() {
            n += 1;
            if let Some(uplink) = self.devices.first_mut() {
                if uplink.send(frame.bytes()) {
                    self.counters.forwarded += 1;
                    self.counters.control_sent += 1;
                }
            }
        }
        n
    }

    fn flush(&mut self) {
        for d in &mut self.devices {
            if d.flush().is_err() {
                self.counters.flush_errors += 1;
            }
        }
    }

    /// One round: receive from every device, transmit what the workers sent, flush.
    /// Returns the frames moved.
    pub fn poll_once(&mut self, receive: bool) -> usize {
        self.counters.rounds += 1;
        let mut moved = 0;
        if receive {
            for d in 0..self.devices.len() {
                moved += self.receive(d);
            }
        }
        moved += self.send_requests();
        for d in 0..self.devices.len() {
            moved += self.transmit(d);
        }
        self.flush();
        moved
    }

    fn idle(&mut self, receive: bool) {
        self.wake.arm();
        let queued = self.from_workers.iter().any(|r| !r.is_empty()) || !self.requests.is_empty();
        if queued {
            return;
        }
        if receive && (0..self.devices.len()).any(|d| !self.room(d)) {
            // Workers are behind: let them catch up instead of spinning on readable
            // devices we will not receive from.
            std::thread::sleep(Duration::from_micros(200));
            return;
        }
        let fds = if receive {
            &self.fds[..]
        } else {
            &self.fds[self.fds.len() - 1..]
        };
        let _ = sys::wait_readable(fds, IDLE_WAIT);
    }

    /// Runs until `stop` is set; then stops receiving (sets `rx_closed`), keeps
    /// transmitting until `done` reaches `workers` (or `linger` passes), transmits what is
    /// left and drains the devices.
    pub fn run(
        &mut self,
        stop: &AtomicBool,
        rx_closed: &AtomicBool,
        done: &AtomicUsize,
        linger: Duration,
    ) {
        while !stop.load(Ordering::Relaxed) {
            if self.poll_once(true) == 0 {
                self.idle(true);
            }
        }
        rx_closed.store(true, Ordering::SeqCst);
        let workers = self.to_workers.first().map_or(0, Vec::len);
        let end = Instant::now() + linger;
        while done.load(Ordering::SeqCst) < workers && Instant::now() < end {
            if self.poll_once(false) == 0 {
                self.idle(false);
            }
        }
        while self.poll_once(false) > 0 {}
        for d in &mut self.devices {
            d.drain(Duration::from_millis(200));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;
    use std::collections::VecDeque;
    use std::sync::Mutex;

    /// A device fed from a queue, recording what is sent.
    struct Mock {
        name: String,
        input: VecDeque<Vec<u8>>,
        sent: Arc<Mutex<Vec<Vec<u8>>>>,
        wake: Arc<Wake>,
        counters: PortCounters,
        capacity: usize,
    }

    impl Mock {
        fn new(name: &str, input: Vec<Vec<u8>>) -> (Self, Arc<Mutex<Vec<Vec<u8>>>>) {
            let sent = Arc::new(Mutex::new(Vec::new()));
            let m = Self {
                name: name.into(),
                input: input.into(),
                sent: Arc::clone(&sent),
                wake: Wake::new().unwrap(),
                counters: PortCounters::default(),
                capacity: crate::FRAME_CAPACITY,
            };
            (m, sent)
        }
    }

    impl Port for Mock {
        fn name(&self) -> &str {
            &self.name
        }
        fn kind(&self) -> &'static str {
            "mock"
        }
        fn recv(&mut self, frames: &mut [Frame]) -> Result<usize, PortError> {
            let mut n = 0;
            while n < frames.len() {
                let Some(f) = self.input.pop_front() else {
                    break;
                };
                assert!(frames[n].copy_from(&f));
                self.counters.rx_frames += 1;
                n += 1;
            }
            Ok(n)
        }
        fn send(&mut self, frame: &[u8]) -> bool {
            self.sent.lock().unwrap().push(frame.to_vec());
            self.counters.tx_frames += 1;
            true
        }
        fn flush(&mut self) -> Result<(), PortError> {
            Ok(())
        }
        fn counters(&self) -> PortCounters {
            self.counters
        }
        fn poll_fd(&self) -> RawFd {
            self.wake.fd()
        }
        fn rx_frame_capacity(&self) -> usize {
            self.capacity
        }
    }

    /// A UDP frame of flow `sport` with sequence number `seq` in its payload.
    fn udp(sport: u16, seq: u16) -> Vec<u8> {
        let mut out = Vec::new();
        PacketBuilder::ethernet2([0, 0x15, 0x5d, 0, 0, 1], [0, 0x15, 0x5d, 0, 0, 2])
            .ipv4([10, 0, 0, 5], [10, 0, 0, 7], 64)
            .udp(sport, 7)
            .write(&mut out, &seq.to_be_bytes())
            .unwrap();
        out
    }

    fn flow_and_seq(f: &[u8]) -> (u16, u16) {
        let sport = u16::from_be_bytes([f[34], f[35]]);
        let seq = u16::from_be_bytes([f[42], f[43]]);
        (sport, seq)
    }

    #[test]
    fn flows_stay_on_one_worker_in_order_and_spread() {
        // 16 flows, 8 frames each, interleaved.
        let frames: Vec<Vec<u8>> = (0..8u16)
            .flat_map(|seq| (0..16u16).map(move |flow| udp(40000 + flow, seq)))
            .collect();
        let total = frames.len();
        let (uplink, _) = Mock::new("up", Vec::new());
        let (port, port_sent) = Mock::new("vm", frames);
        let (_req_tx, req_rx) = crossbeam_channel::bounded(4);
        let (mut d, mut workers) =
            Dispatcher::new(vec![Box::new(uplink), Box::new(port)], 2, req_rx).unwrap();
        while d.poll_once(true) > 0 {}
        assert_eq!(d.counters().to_worker.iter().sum::<u64>(), total as u64);
        assert_eq!(d.counters().dropped, 0);

        let mut seen: Vec<Vec<(u16, u16)>> = vec![Vec::new(); 2];
        let mut batch: Vec<Frame> = (0..BATCH).map(|_| Frame::new()).collect();
        for (w, ports) in workers.iter_mut().enumerate() {
            let vm = &mut ports.others[0];
            loop {
                let n = vm.recv(&mut batch).unwrap();
                if n == 0 {
                    break;
                }
                for f in &batch[..n] {
                    seen[w].push(flow_and_seq(f.bytes()));
                    // Send it back out of the same device (as a verdict would).
                    assert!(vm.send(f.bytes()));
                }
            }
            vm.flush().unwrap();
        }
        assert!(
            !seen[0].is_empty() && !seen[1].is_empty(),
            "both workers: {seen:?}"
        );
        for flow in 40000..40016u16 {
            let on: Vec<usize> = (0..2)
                .filter(|&w| seen[w].iter().any(|(f, _)| *f == flow))
                .collect();
            assert_eq!(on.len(), 1, "flow {flow} on one worker");
            let seqs: Vec<u16> = seen[on[0]]
                .iter()
                .filter(|(f, _)| *f == flow)
                .map(|(_, s)| *s)
                .collect();
            assert_eq!(seqs, (0..8).collect::<Vec<u16>>(), "flow {flow} in order");
        }
        // The dispatcher transmits what the workers sent, and every buffer comes back.
        while d.poll_once(false) > 0 {}
        assert_eq!(port_sent.lock().unwrap().len(), total);
        assert_eq!(d.counters().forwarded, total as u64);
        assert_eq!(d.tx_return.len(), TX_POOL);
    }

    #[test]
    fn a_full_worker_channel_stalls_the_device_and_drops_nothing() {
        let frames: Vec<Vec<u8>> = (0..(4 * CHANNEL_DEPTH) as u16).map(|s| udp(1, s)).collect();
        let (uplink, _) = Mock::new("up", frames);
        let (_req_tx, req_rx) = crossbeam_channel::bounded(4);
        let (mut d, mut workers) = Dispatcher::new(vec![Box::new(uplink)], 2, req_rx).unwrap();
        for _ in 0..(2 * CHANNEL_DEPTH / BATCH) {
            d.poll_once(true);
        }
        let handed: u64 = d.counters().to_worker.iter().sum();
        assert!(d.counters().stalled > 0, "{:?}", d.counters());
        assert_eq!(d.counters().dropped, 0);
        assert!(
            handed <= CHANNEL_DEPTH as u64,
            "one flow, one worker: {handed}"
        );
        // Draining the worker lets the dispatcher go on.
        let mut batch: Vec<Frame> = (0..BATCH).map(|_| Frame::new()).collect();
        let mut got = 0;
        for w in &mut workers {
            while let Ok(n @ 1..) = w.uplink.recv(&mut batch) {
                got += n;
            }
        }
        assert_eq!(got as u64, handed);
        d.poll_once(true);
        assert!(d.counters().to_worker.iter().sum::<u64>() > handed);
    }

    /// A device that receives super-frames (as a TAP port does) is always given large
    /// buffers, however many frames pass: the large buffers a worker displaces go back
    /// to the large pool, the small ones to the small pool.
    #[test]
    fn large_buffers_stay_with_the_device_that_needs_them() {
        let big = |sport: u16, seq: u16| {
            let mut f = udp(sport, seq);
            f.resize(9000, 0xab);
            f
        };
        let total = 40 * BATCH;
        let frames: Vec<Vec<u8>> = (0..total as u16).map(|s| big(40000 + s % 16, s)).collect();
        let small: Vec<Vec<u8>> = (0..total as u16).map(|s| udp(50000 + s % 16, s)).collect();
        let (uplink, _) = Mock::new("up", small);
        let (mut tap, _) = Mock::new("tap", frames);
        tap.capacity = crate::GSO_FRAME_CAPACITY;
        let (_req_tx, req_rx) = crossbeam_channel::bounded(4);
        let (mut d, mut workers) =
            Dispatcher::new(vec![Box::new(uplink), Box::new(tap)], 2, req_rx).unwrap();
        let large_pool = d.pools.large.as_ref().map(|p| p.take.len()).unwrap();
        let small_pool = d.pools.small.take.len();
        let mut batch: Vec<Frame> = (0..BATCH).map(|_| Frame::new()).collect();
        let (mut big_seen, mut small_seen) = (0, 0);
        for _ in 0..200 {
            d.poll_once(true);
            for w in &mut workers {
                for port in std::iter::once(&mut w.uplink).chain(w.others.iter_mut()) {
                    let n = port.recv(&mut batch).unwrap();
                    for f in &batch[..n] {
                        if f.bytes().len() == 9000 {
                            big_seen += 1;
                        } else {
                            small_seen += 1;
                        }
                    }
                }
            }
        }
        assert_eq!((big_seen, small_seen), (total, total), "{:?}", d.counters());
        assert_eq!(d.counters().dropped, 0);
        // Every buffer is back in its own pool or in the test's batch (which now holds
        // whatever it was handed last).
        let parked_large = batch
            .iter()
            .filter(|f| f.capacity() > crate::FRAME_CAPACITY)
            .count();
        let large_now = d.pools.large.as_ref().map(|p| p.take.len()).unwrap();
        assert_eq!(large_now + parked_large, large_pool);
        assert_eq!(
            d.pools.small.take.len() + (BATCH - parked_large),
            small_pool + BATCH
        );
        assert!(d
            .pools
            .small
            .take
            .try_iter()
            .all(|f| f.capacity() == crate::FRAME_CAPACITY));
    }
}
