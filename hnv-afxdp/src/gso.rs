//! GSO super-frames on the way out: the worker's [`Segmenter`] sends a super-frame the
//! switch has decided on (a TCP send of up to 64 KiB a TAP VM handed over whole, see
//! [`crate::TapPort`]) out of its device, cut into segments where the device needs them.
//!
//! | verdict of the super-frame | sent as |
//! |---|---|
//! | `ToWire`, NVGRE-encapsulated | segments cut by hnv-offload's [`SoftNic`] LSO: per segment the inner TCP sequence number and flags, inner IPv4 ID, length and header checksum (or IPv6 payload length), a complete inner TCP checksum, and the outer IPv4 length, ID and header checksum (or IPv6 payload length); the GRE key (VSID, FlowID) is the same on every segment |
//! | `ToWire`, IP rewrite (no encapsulation) | plain TCP segments ([`segment_plain`]) |
//! | `ToPort`, an AF_XDP port | plain TCP segments: the VM's veth takes frames of at most its MTU |
//! | `ToPort`, a TAP port | whole, with a GSO virtio-net header ([`Port::send_gso`]): the receiving VM's stack takes super-frames, as from a virtio-net device |
//! | `Reply` | an ordinary frame: the switch turned the super-frame into ICMP Fragmentation Needed / Packet Too Big |
//! | `Flood` | dropped, counted (`flood`): a TCP super-frame has a unicast destination |
//!
//! Each segment has at most `mss` bytes of TCP payload, so its length is the one the
//! switch judged against the uplink MTU ([`hnv_core::switch::Switch::from_port_gso`]).
//! FIN and PSH go on the last segment only, CWR on the first only (Linux GSO, and the
//! meaning of virtio-net's `GSO_ECN`); IPv4 identifications count up from the
//! super-frame's. Segments are written into buffers the segmenter allocated once; the
//! only bytes written per super-frame are the segments themselves. A super-frame that
//! cannot be cut is dropped and counted by a [`GsoError`] kind; nothing panics.
//!
//! UDP GSO is never announced to a TAP VM and is refused when it arrives (the port
//! counts it in `rx_gso_dropped`), so only TCP super-frames reach the segmenter.

use std::fmt;

use hnv_core::switch::{EventSink, HostTables, PortId, Switch, Verdict};
use hnv_core::wire::checksum::{self, Checksum};
use hnv_core::wire::ethernet::{EtherType, EthernetFrame};
use hnv_core::wire::ip_proto;
use hnv_core::wire::ipv4::Ipv4Packet;
use hnv_core::wire::ipv6::Ipv6Packet;
use hnv_core::wire::tcp::{TcpFlags, TcpPacket};
use hnv_offload::soft::lso::output_len;
use hnv_offload::{DescError, ExecError, LsoRequest, NicCaps, SoftNic, TxOffload, TxRequest};

use crate::frame::{Frame, FrameGso, GSO_FRAME_CAPACITY};
use crate::port::Port;

/// The most segments one super-frame is cut into (an MSS of 64 bytes for 64 KiB); a
/// super-frame asking for more is refused ([`GsoError::TooManySegments`]).
pub const MAX_SEGMENTS: usize = 1024;

/// Headers of one NVGRE segment at most: outer Ethernet with a VLAN tag, IPv6 with
/// extension headers, GRE, inner Ethernet, IP with options, TCP with options.
const MAX_SEGMENT_HEADERS: usize = 256;

/// Segments queued on a device between two flushes (an AF_XDP socket in copy mode sends
/// a bounded number of frames per kick; its TX ring must not fill up with one
/// super-frame).
const FLUSH_EVERY: usize = 32;

/// Why a super-frame was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GsoError {
    /// Not TCP over IPv4 / IPv6 (or a fragment), or a header is cut short.
    NotTcp,
    /// SYN, RST or URG set: such segments are never cut.
    ControlFlags,
    /// More than [`MAX_SEGMENTS`] segments (a tiny MSS).
    TooManySegments,
    /// A segment longer than the segment buffer (an MSS near 64 KiB).
    SegmentTooLarge,
    /// hnv-offload refused to describe the encapsulated super-frame for LSO.
    Offload(DescError),
    /// hnv-offload's software NIC refused to cut it.
    Exec(ExecError),
    /// The switch flooded it (a super-frame is never replicated).
    Flood,
}

impl GsoError {
    /// Every kind, in [`GsoError::index`] order, with its report name.
    pub const KINDS: [&'static str; 7] = [
        "not_tcp",
        "control_flags",
        "too_many_segments",
        "segment_too_large",
        "offload_desc",
        "offload_exec",
        "flood",
    ];

    /// The kind's index in [`GsoError::KINDS`].
    pub fn index(self) -> usize {
        match self {
            Self::NotTcp => 0,
            Self::ControlFlags => 1,
            Self::TooManySegments => 2,
            Self::SegmentTooLarge => 3,
            Self::Offload(_) => 4,
            Self::Exec(_) => 5,
            Self::Flood => 6,
        }
    }

    /// The kind's report name.
    pub fn name(self) -> &'static str {
        Self::KINDS[self.index()]
    }
}

impl fmt::Display for GsoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotTcp => f.write_str("not a TCP super-frame"),
            Self::ControlFlags => f.write_str("SYN, RST or URG on a super-frame"),
            Self::TooManySegments => write!(f, "more than {MAX_SEGMENTS} segments"),
            Self::SegmentTooLarge => f.write_str("a segment larger than the segment buffer"),
            Self::Offload(e) => write!(f, "LSO descriptor: {e}"),
            Self::Exec(e) => write!(f, "software LSO: {e}"),
            Self::Flood => f.write_str("a super-frame flooded"),
        }
    }
}

impl std::error::Error for GsoError {}

/// What the segmenter did, for the worker's report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GsoCounters {
    /// Super-frames the switch sent somewhere (to the wire, a port, or flooded).
    pub super_frames: u64,
    /// Super-frames cut into segments.
    pub segmented: u64,
    /// Segments produced (each then sent, or dropped and counted by its device).
    pub segments: u64,
    /// Super-frames passed whole to a TAP port.
    pub whole: u64,
    /// Super-frames dropped, by [`GsoError::index`].
    pub failed: [u64; GsoError::KINDS.len()],
}

impl GsoCounters {
    /// Super-frames dropped, whatever the reason.
    pub fn failures(&self) -> u64 {
        self.failed.iter().sum()
    }
}

impl fmt::Display for GsoCounters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "gso: super-frames {}, segmented {} into {} segments, whole {}, failed {}",
            self.super_frames,
            self.segmented,
            self.segments,
            self.whole,
            self.failures()
        )?;
        for (name, n) in GsoError::KINDS.iter().zip(self.failed) {
            if n > 0 {
                write!(f, ", {name} {n}")?;
            }
        }
        Ok(())
    }
}

/// Where the headers of a plain (not encapsulated) TCP frame are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Headers {
    /// Offset of the IP header (after Ethernet and a VLAN tag).
    pub l3: usize,
    /// IPv4 (else IPv6).
    pub v4: bool,
    /// Offset of the TCP header.
    pub l4: usize,
    /// Offset of the TCP payload.
    pub payload: usize,
    /// End of the IP packet (link-layer padding excluded).
    pub end: usize,
}

impl Headers {
    /// Parses a TCP frame over IPv4 / IPv6.
    pub(crate) fn parse(frame: &[u8]) -> Result<Self, GsoError> {
        let eth = EthernetFrame::parse(frame).map_err(|_| GsoError::NotTcp)?;
        let l3 = eth.header_len();
        let (v4, protocol, l4, end) = match eth.ethertype() {
            EtherType::IPV4 => {
                let ip = Ipv4Packet::parse(eth.payload()).map_err(|_| GsoError::NotTcp)?;
                let h = ip.header();
                if h.is_fragment() {
                    return Err(GsoError::NotTcp);
                }
                let end = l3 + usize::from(h.total_len.get());
                (true, h.protocol, l3 + ip.header_len(), end)
            }
            EtherType::IPV6 => {
                let ip = Ipv6Packet::parse(eth.payload()).map_err(|_| GsoError::NotTcp)?;
                let ul = ip.upper_layer().map_err(|_| GsoError::NotTcp)?;
                if ul.fragment.is_some() {
                    return Err(GsoError::NotTcp);
                }
                let end = l3 + 40 + usize::from(ip.header().payload_len.get());
                (false, ul.protocol, l3 + 40 + ul.offset, end)
            }
            _ => return Err(GsoError::NotTcp),
        };
        if protocol != ip_proto::TCP || end > frame.len() || l4 > end {
            return Err(GsoError::NotTcp);
        }
        let tcp = TcpPacket::parse(frame.get(l4..end).ok_or(GsoError::NotTcp)?)
            .map_err(|_| GsoError::NotTcp)?;
        Ok(Self {
            l3,
            v4,
            l4,
            payload: l4 + tcp.header_len(),
            end,
        })
    }
}

/// True when `frame`'s outermost IP packet carries GRE (an NVGRE frame the switch built).
fn is_gre(frame: &[u8]) -> bool {
    let Ok(eth) = EthernetFrame::parse(frame) else {
        return false;
    };
    let payload = eth.payload();
    match eth.ethertype() {
        EtherType::IPV4 => payload.get(9) == Some(&ip_proto::GRE),
        EtherType::IPV6 => Ipv6Packet::parse(payload)
            .ok()
            .and_then(|ip| ip.upper_layer().ok())
            .is_some_and(|ul| ul.protocol == ip_proto::GRE),
        _ => false,
    }
}

fn put16(b: &mut [u8], at: usize, v: u16) {
    if let Some(d) = b.get_mut(at..at + 2) {
        d.copy_from_slice(&v.to_be_bytes());
    }
}

fn get16(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2)
        .map_or(0, |d| u16::from_be_bytes([d[0], d[1]]))
}

/// Cuts the plain TCP super-frame `frame` into segments of at most `mss` payload bytes,
/// each written into `seg` and handed to `emit` (which says whether to go on). Returns
/// the number of segments.
pub(crate) fn segment_plain(
    frame: &[u8],
    mss: u16,
    seg: &mut [u8],
    mut emit: impl FnMut(&[u8]),
) -> Result<usize, GsoError> {
    let h = Headers::parse(frame)?;
    let flags0 = TcpFlags(frame.get(h.l4 + 13).copied().unwrap_or(0));
    if flags0.bits() & (TcpFlags::SYN.bits() | TcpFlags::RST.bits() | TcpFlags::URG.bits()) != 0 {
        return Err(GsoError::ControlFlags);
    }
    let mss_len = usize::from(mss);
    let payload = frame.get(h.payload..h.end).ok_or(GsoError::NotTcp)?;
    let count = payload.len().div_ceil(mss_len.max(1)).max(1);
    if mss == 0 || count > MAX_SEGMENTS {
        return Err(GsoError::TooManySegments);
    }
    if h.payload + mss_len.min(payload.len()) > seg.len() {
        return Err(GsoError::SegmentTooLarge);
    }
    let headers = frame.get(..h.payload).ok_or(GsoError::NotTcp)?;
    let lso = LsoRequest::new(mss);
    let id0 = get16(frame, h.l3 + 4);
    let seq0 = u32::from_be_bytes(
        frame
            .get(h.l4 + 4..h.l4 + 8)
            .and_then(|s| s.try_into().ok())
            .ok_or(GsoError::NotTcp)?,
    );
    // The pseudo-header without its length: each segment adds its own.
    let pseudo = if h.v4 {
        Checksum::new()
            .add_bytes(frame.get(h.l3 + 12..h.l3 + 20).unwrap_or_default())
            .add_u16(u16::from(ip_proto::TCP))
    } else {
        Checksum::new()
            .add_bytes(frame.get(h.l3 + 8..h.l3 + 40).unwrap_or_default())
            .add_u16(u16::from(ip_proto::TCP))
    };
    let mut chunks = payload.chunks(mss_len);
    for k in 0..count {
        let data = chunks.next().unwrap_or(&[]);
        let len = h.payload + data.len();
        let Some(out) = seg.get_mut(..len) else {
            return Err(GsoError::SegmentTooLarge);
        };
        let (hd, body) = out.split_at_mut(h.payload);
        hd.copy_from_slice(headers);
        body.copy_from_slice(data);
        let k32 = k as u32;
        if h.v4 {
            put16(out, h.l3 + 2, (len - h.l3) as u16);
            put16(out, h.l3 + 4, lso.segment_id(id0, k32));
            put16(out, h.l3 + 10, 0);
            let c = checksum::of(out.get(h.l3..h.l4).unwrap_or_default());
            put16(out, h.l3 + 10, c);
        } else {
            put16(out, h.l3 + 4, (len - h.l3 - 40) as u16);
        }
        let seq = seq0.wrapping_add(k32.wrapping_mul(u32::from(mss)));
        if let Some(s) = out.get_mut(h.l4 + 4..h.l4 + 8) {
            s.copy_from_slice(&seq.to_be_bytes());
        }
        if let Some(f) = out.get_mut(h.l4 + 13) {
            *f = lso.segment_flags(flags0, k32, count as u32).bits();
        }
        put16(out, h.l4 + 16, 0);
        let tcp_len = len - h.l4;
        let c = pseudo
            .add_u16((tcp_len >> 16) as u16)
            .add_u16(tcp_len as u16)
            .add_bytes(out.get(h.l4..).unwrap_or_default())
            .finish();
        put16(out, h.l4 + 16, c);
        emit(out);
    }
    Ok(count)
}

/// Sends super-frames out of devices, segmented as the device needs (see the module
/// documentation). One per worker; its buffers are allocated once, in [`Segmenter::new`].
pub struct Segmenter {
    nic: SoftNic,
    /// LSO output: every segment of one encapsulated super-frame, back to back.
    out: Box<[u8]>,
    /// One plain segment.
    seg: Box<[u8]>,
    counters: GsoCounters,
}

impl Default for Segmenter {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Segmenter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Segmenter")
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl Segmenter {
    /// A segmenter with its buffers (about 320 KiB for LSO output, 64 KiB for a plain
    /// segment).
    pub fn new() -> Self {
        Self {
            nic: SoftNic::new(NicCaps::SOFTWARE, 1),
            out: vec![0u8; MAX_SEGMENTS * MAX_SEGMENT_HEADERS + GSO_FRAME_CAPACITY]
                .into_boxed_slice(),
            seg: vec![0u8; GSO_FRAME_CAPACITY].into_boxed_slice(),
            counters: GsoCounters::default(),
        }
    }

    /// The counters so far.
    pub fn counters(&self) -> GsoCounters {
        self.counters
    }

    /// Counts a super-frame that is not sent, by why.
    pub fn refuse(&mut self, e: GsoError) {
        self.counters.super_frames += 1;
        if let Some(n) = self.counters.failed.get_mut(e.index()) {
            *n += 1;
        }
    }

    /// Sends the super-frame `frame` out of `device`: whole when the device takes
    /// super-frames ([`Port::send_gso`]), else cut into segments (NVGRE LSO when
    /// `frame` is encapsulated, plain TCP otherwise), each [`Port::send`]. Returns the
    /// frames the device accepted; a super-frame that cannot be cut is counted by its
    /// [`GsoError`] and nothing is sent.
    pub fn send(&mut self, device: &mut dyn Port, frame: &[u8], gso: FrameGso) -> u64 {
        self.counters.super_frames += 1;
        if let Some(sent) = device.send_gso(frame, gso) {
            self.counters.whole += 1;
            return u64::from(sent);
        }
        let mut sent = 0u64;
        let mut queued = 0usize;
        let mut emit = |segment: &[u8]| {
            if device.send(segment) {
                sent += 1;
            }
            queued += 1;
            if queued % FLUSH_EVERY == 0 {
                let _ = device.flush();
            }
        };
        let result = if is_gre(frame) {
            segment_nvgre(&self.nic, frame, gso.mss, &mut self.out, &mut emit)
        } else {
            segment_plain(frame, gso.mss, &mut self.seg, &mut emit)
        };
        if queued % FLUSH_EVERY != 0 {
            let _ = device.flush();
        }
        match result {
            Ok(n) => {
                self.counters.segmented += 1;
                self.counters.segments += n as u64;
            }
            Err(e) => {
                self.counters.super_frames -= 1;
                self.refuse(e);
            }
        }
        sent
    }
}

/// Cuts the NVGRE super-frame `frame` with hnv-offload's software LSO into `out` and
/// hands every segment to `emit`. Returns the number of segments.
fn segment_nvgre(
    nic: &SoftNic,
    frame: &[u8],
    mss: u16,
    out: &mut [u8],
    mut emit: impl FnMut(&[u8]),
) -> Result<usize, GsoError> {
    let d = TxOffload::build(frame, &TxRequest::lso(mss), &nic.caps).map_err(|e| match e {
        DescError::LsoControlFlags => GsoError::ControlFlags,
        DescError::LsoZeroMss => GsoError::TooManySegments,
        DescError::Frame(_) | DescError::NoTransport | DescError::LsoNotTcp => GsoError::NotTcp,
        other => GsoError::Offload(other),
    })?;
    if d.segments() as usize > MAX_SEGMENTS {
        return Err(GsoError::TooManySegments);
    }
    if output_len(&d) > out.len() {
        return Err(GsoError::SegmentTooLarge);
    }
    let (segments, _seed) = nic.segment(frame, &d, out).map_err(GsoError::Exec)?;
    for s in segments.iter() {
        emit(s);
    }
    Ok(segments.len())
}

/// The switch over a batch of frames from `port`: [`Switch::from_port_batch`] when no
/// frame is a super-frame (the common case, with its prefetching); otherwise frame by
/// frame, each super-frame through [`Switch::from_port_gso`] so that the switch judges
/// it by its segments.
pub(crate) fn from_port_batch<T: HostTables>(
    switch: &mut Switch<T>,
    port: PortId,
    frames: &mut [Frame],
    verdicts: &mut [Verdict],
    events: &mut impl EventSink,
) {
    if frames.iter().all(|f| f.gso().is_none()) {
        switch.from_port_batch(port, frames, verdicts, events);
        return;
    }
    for (f, v) in frames.iter_mut().zip(verdicts.iter_mut()) {
        *v = match f.gso() {
            Some(gso) => switch.from_port_gso(port, f, gso.switch_gso(), events),
            None => switch.from_port(port, f, events),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::GsoKind;
    use crate::port::{PortCounters, PortError};
    use etherparse::{NetSlice, PacketBuilder, SlicedPacket, TransportSlice};
    use hnv_core::buf::{FrameBuf, PacketBuf};
    use hnv_core::ids::{MacAddr, Vsid};
    use hnv_core::nvgre::{self, EncapParams, Underlay};
    use std::os::fd::RawFd;

    /// A port that keeps what it is given; takes super-frames whole when `whole`.
    #[derive(Default)]
    struct Recorder {
        sent: Vec<Vec<u8>>,
        whole: Vec<(Vec<u8>, FrameGso)>,
        takes_whole: bool,
        flushes: usize,
    }

    impl Port for Recorder {
        fn name(&self) -> &'static str {
            "recorder"
        }
        fn kind(&self) -> &'static str {
            "test"
        }
        fn recv(&mut self, _: &mut [Frame]) -> Result<usize, PortError> {
            Ok(0)
        }
        fn send(&mut self, frame: &[u8]) -> bool {
            self.sent.push(frame.to_vec());
            true
        }
        fn send_gso(&mut self, frame: &[u8], gso: FrameGso) -> Option<bool> {
            self.takes_whole.then(|| {
                self.whole.push((frame.to_vec(), gso));
                true
            })
        }
        fn flush(&mut self) -> Result<(), PortError> {
            self.flushes += 1;
            Ok(())
        }
        fn counters(&self) -> PortCounters {
            PortCounters::default()
        }
        fn poll_fd(&self) -> RawFd {
            -1
        }
    }

    const SEQ0: u32 = 0xffff_f000;

    fn payload(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 251) as u8).collect()
    }

    /// A TCPv4 super-frame as a stack with TSO hands it over (checksum field arbitrary).
    fn tcp4(n: usize, syn: bool) -> Vec<u8> {
        let mut b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 1])
            .ipv4([10, 0, 0, 5], [10, 0, 0, 7], 64)
            .tcp(49152, 5001, SEQ0, 8192)
            .ack(77)
            .psh()
            .fin()
            .cwr();
        if syn {
            b = b.syn();
        }
        let mut f = Vec::new();
        b.write(&mut f, &payload(n)).unwrap();
        f[18..20].copy_from_slice(&0xfff0u16.to_be_bytes()); // IPv4 ID, to see it wrap
        f
    }

    fn tcp6(n: usize) -> Vec<u8> {
        let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 1])
            .ipv6([0xfd; 16], [0xfe; 16], 64)
            .tcp(49152, 5001, SEQ0, 8192)
            .ack(77)
            .psh();
        let mut f = Vec::new();
        b.write(&mut f, &payload(n)).unwrap();
        f
    }

    /// Checks `segments` against the super-frame's `n` payload bytes cut at `mss`: the
    /// payloads in order, sequence numbers, flags, lengths and checksums (etherparse).
    fn check_tcp_segments(segments: &[Vec<u8>], n: usize, mss: usize, fin: bool) {
        assert_eq!(segments.len(), n.div_ceil(mss));
        let mut data = Vec::new();
        for (k, s) in segments.iter().enumerate() {
            let p = SlicedPacket::from_ethernet(s).unwrap();
            let Some(TransportSlice::Tcp(tcp)) = &p.transport else {
                panic!("segment {k} is not TCP")
            };
            let last = k + 1 == segments.len();
            assert!(tcp.payload().len() <= mss);
            assert_eq!(tcp.sequence_number(), SEQ0.wrapping_add((k * mss) as u32));
            assert_eq!(tcp.acknowledgment_number(), 77);
            assert_eq!((tcp.fin(), tcp.psh()), (fin && last, last), "segment {k}");
            let want = match &p.net {
                Some(NetSlice::Ipv4(ip)) => {
                    let h = ip.header().to_header();
                    assert_eq!(h.header_checksum, h.calc_header_checksum(), "segment {k}");
                    assert_eq!(usize::from(h.total_len), s.len() - 14);
                    assert_eq!(h.identification, 0xfff0u16.wrapping_add(k as u16));
                    assert_eq!(tcp.cwr(), k == 0, "CWR on the first segment only");
                    tcp.to_header()
                        .calc_checksum_ipv4(&h, tcp.payload())
                        .unwrap()
                }
                Some(NetSlice::Ipv6(ip)) => {
                    let h = ip.header().to_header();
                    assert_eq!(usize::from(h.payload_length), s.len() - 54);
                    tcp.to_header()
                        .calc_checksum_ipv6(&h, tcp.payload())
                        .unwrap()
                }
                _ => panic!("segment {k} is not IP"),
            };
            assert_eq!(tcp.checksum(), want, "TCP checksum of segment {k}");
            data.extend_from_slice(tcp.payload());
        }
        assert_eq!(data, payload(n), "the payload, in order");
    }

    fn gso(mss: u16) -> FrameGso {
        FrameGso {
            kind: GsoKind::TcpV4,
            mss,
            ecn: false,
        }
    }

    #[test]
    fn plain_tcp_super_frames_are_cut() {
        for (frame, n, fin) in [
            (tcp4(5000, false), 5000usize, true),
            (tcp6(4000), 4000, false),
        ] {
            let mut port = Recorder::default();
            let mut s = Segmenter::new();
            assert_eq!(
                s.send(&mut port, &frame, gso(1448)),
                n.div_ceil(1448) as u64
            );
            check_tcp_segments(&port.sent, n, 1448, fin);
            let c = s.counters();
            assert_eq!(
                (c.super_frames, c.segmented, c.segments),
                (1, 1, port.sent.len() as u64)
            );
            assert_eq!(c.failures(), 0);
            assert!(port.flushes >= 1);
        }
        // Shorter than one segment: one segment, FIN kept.
        let mut port = Recorder::default();
        Segmenter::new().send(&mut port, &tcp4(100, false), gso(1448));
        check_tcp_segments(&port.sent, 100, 1448, true);
    }

    #[test]
    fn nvgre_super_frames_are_cut_by_the_soft_nic() {
        let inner = tcp4(20_000, false);
        let mut mem = vec![0u8; 128 + inner.len()];
        mem[128..].copy_from_slice(&inner);
        let mut buf = FrameBuf::new(&mut mem, 128, inner.len()).unwrap();
        let params = EncapParams::new(
            Vsid::new(5001).unwrap(),
            MacAddr([2, 0, 0, 0, 0xa, 1]),
            MacAddr([2, 0, 0, 0, 0xb, 1]),
            Underlay::V4 {
                src: [192, 168, 4, 11].into(),
                dst: [192, 168, 4, 22].into(),
            },
        );
        nvgre::encap(&mut buf, &params).unwrap();
        let wire = buf.data().to_vec();
        let mut port = Recorder::default();
        let mut segmenter = Segmenter::new();
        let mss = 1406;
        let sent = segmenter.send(&mut port, &wire, gso(mss));
        assert_eq!(sent, 20_000usize.div_ceil(usize::from(mss)) as u64);
        let mut inner_segments = Vec::new();
        let mut outer_ids = Vec::new();
        for seg in &port.sent {
            assert!(seg.len() <= 1514, "a segment of {} bytes", seg.len());
            let outer = SlicedPacket::from_ethernet(seg).unwrap();
            let Some(NetSlice::Ipv4(ip)) = &outer.net else {
                panic!("outer not IPv4")
            };
            let h = ip.header().to_header();
            assert_eq!(h.header_checksum, h.calc_header_checksum());
            assert_eq!(usize::from(h.total_len), seg.len() - 14);
            outer_ids.push(h.identification);
            let d = nvgre::inspect(seg).unwrap();
            assert_eq!(d.vsid().get(), 5001);
            inner_segments.push(seg[42..].to_vec());
        }
        check_tcp_segments(&inner_segments, 20_000, usize::from(mss), true);
        assert!(outer_ids.windows(2).all(|w| w[1] == w[0].wrapping_add(1)));
        let flows: Vec<_> = port
            .sent
            .iter()
            .map(|seg| nvgre::inspect(seg).unwrap().flow_id())
            .collect();
        assert!(flows.windows(2).all(|w| w[0] == w[1]), "one FlowID");
        assert_eq!(segmenter.counters().segments, port.sent.len() as u64);
    }

    #[test]
    fn a_port_that_takes_super_frames_gets_them_whole() {
        let frame = tcp4(5000, false);
        let mut port = Recorder {
            takes_whole: true,
            ..Recorder::default()
        };
        let mut s = Segmenter::new();
        assert_eq!(s.send(&mut port, &frame, gso(1448)), 1);
        assert!(port.sent.is_empty());
        assert_eq!(port.whole, [(frame, gso(1448))]);
        let c = s.counters();
        assert_eq!((c.super_frames, c.whole, c.segmented), (1, 1, 0));
    }

    #[test]
    fn super_frames_that_cannot_be_cut_are_counted() {
        let mut udp = Vec::new();
        PacketBuilder::ethernet2([2; 6], [3; 6])
            .ipv4([10, 0, 0, 5], [10, 0, 0, 7], 64)
            .udp(1, 2)
            .write(&mut udp, &payload(3000))
            .unwrap();
        let mut short = tcp4(3000, false);
        short.truncate(50);
        let cases = [
            (tcp4(3000, true), 1448, GsoError::ControlFlags),
            (udp, 1000, GsoError::NotTcp),
            (short, 1000, GsoError::NotTcp),
            (tcp4(3000, false), 1, GsoError::TooManySegments),
            (tcp4(3000, false), 0, GsoError::TooManySegments),
            (vec![0u8; 10], 1000, GsoError::NotTcp),
        ];
        let mut s = Segmenter::new();
        for (frame, mss, err) in &cases {
            let mut port = Recorder::default();
            assert_eq!(s.send(&mut port, frame, gso(*mss)), 0, "{err}");
            assert!(port.sent.is_empty(), "{err}");
        }
        s.refuse(GsoError::Flood);
        let c = s.counters();
        assert_eq!(c.failures(), cases.len() as u64 + 1);
        assert_eq!(c.super_frames, cases.len() as u64 + 1);
        assert_eq!((c.segmented, c.segments), (0, 0));
        assert_eq!(c.failed[GsoError::ControlFlags.index()], 1);
        assert_eq!(c.failed[GsoError::NotTcp.index()], 3);
        assert_eq!(c.failed[GsoError::TooManySegments.index()], 2);
        let line = c.to_string();
        assert!(
            line.contains("failed 7") && line.contains("not_tcp 3"),
            "{line}"
        );
    }

    /// The worker's path for a batch from a TAP VM: the switch decides once per
    /// super-frame, judged by its segments, and the segmenter cuts what goes to the wire.
    #[test]
    fn a_batch_with_super_frames_through_the_switch_and_out() {
        use hnv_core::policy::{file, Tables};
        let policy = file::from_json(include_str!("../../docs/examples/seed-policy.json")).unwrap();
        let mut switch = Switch::new(Tables::compile(&policy, "HostA").unwrap());
        // Contoso1 (port 0) to Contoso2 on HostB: a plain segment, a super-frame whose
        // segments fit once encapsulated (1418 + 40 bytes of IP), one whose do not.
        let frame = |n: usize| {
            let mut f = Vec::new();
            PacketBuilder::ethernet2([0, 0x15, 0x5d, 0, 0, 1], [0, 0x15, 0x5d, 0, 0, 2])
                .ipv4([10, 0, 0, 5], [10, 0, 0, 7], 64)
                .tcp(49152, 5001, SEQ0, 8192)
                .ack(1)
                .write(&mut f, &payload(n))
                .unwrap();
            f[20] = 0x40; // DF
            f[24..26].copy_from_slice(&[0, 0]);
            let c = checksum::of(&f[14..34]);
            f[24..26].copy_from_slice(&c.to_be_bytes());
            f
        };
        let mut batch: Vec<Frame> = (0..3).map(|_| Frame::large()).collect();
        assert!(batch[0].copy_from(&frame(100)));
        assert!(batch[1].copy_from(&frame(10_000)));
        batch[1].set_gso(Some(gso(1418)));
        assert!(batch[2].copy_from(&frame(10_000)));
        batch[2].set_gso(Some(gso(1448)));
        let mut verdicts = [Verdict::Consumed; 3];
        from_port_batch(&mut switch, PortId(0), &mut batch, &mut verdicts, &mut ());
        assert_eq!(verdicts, [Verdict::ToWire, Verdict::ToWire, Verdict::Reply]);
        // The reply is the switch's ICMP Fragmentation Needed (MTU 1458), a plain frame.
        let icmp = batch[2].bytes();
        assert_eq!((icmp[23], icmp[34], icmp[35]), (1, 3, 4));
        assert_eq!(u16::from_be_bytes([icmp[40], icmp[41]]), 1458);
        // The encapsulated super-frame goes out as segments that fit the uplink.
        let mut uplink = Recorder::default();
        let mut segmenter = Segmenter::new();
        let gso1 = batch[1].gso().unwrap();
        let sent = segmenter.send(&mut uplink, batch[1].bytes(), gso1);
        assert_eq!(sent, 10_000usize.div_ceil(1418) as u64);
        assert!(uplink.sent.iter().all(|s| s.len() <= 1514));
        assert!(
            uplink.sent.iter().any(|s| s.len() == 1514),
            "full-size segments"
        );
        let inner: Vec<Vec<u8>> = uplink.sent.iter().map(|s| s[42..].to_vec()).collect();
        let p = SlicedPacket::from_ethernet(&inner[0]).unwrap();
        let Some(TransportSlice::Tcp(tcp)) = &p.transport else {
            panic!("not TCP")
        };
        assert_eq!(tcp.sequence_number(), SEQ0);
        assert_eq!(switch.stats().wire_tx, 2, "one verdict per super-frame");
    }
}
