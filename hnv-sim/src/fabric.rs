//! An in-memory HNV fabric: hosts (each a real [`Switch`] over its compiled tables) with
//! [`Vm`]s on their ports, and a provider network — one L2 segment joining the uplinks —
//! between them. The fabric only carries frames and executes verdicts (delivery, replies,
//! replication); every forwarding decision is the switch's.
//!
//! Every frame on every link is recorded in order ([`Fabric::links`]), and can be written
//! as a pcap ([`Fabric::write_pcap`]). Runs are deterministic: a FIFO of frames, no clock,
//! no randomness.
//!
//! ```
//! use hnv_sim::fabric::Fabric;
//! use hnv_sim::vm::{IfAddr, Vm};
//! use hnv_core::ids::MacAddr;
//! # let json = include_str!("../../docs/examples/seed-policy.json");
//! let policy = hnv_core::policy::file::from_json(json).unwrap();
//! let mut fabric = Fabric::from_policy(&policy, &["HostA", "HostB"]).unwrap();
//! let vm = |name: &str, mac: [u8; 6], ip: &str| {
//!     Vm::new(name, MacAddr(mac), &[ip.parse::<IfAddr>().unwrap()], &["10.0.0.1".parse().unwrap()]).unwrap()
//! };
//! fabric.attach("HostA", "Contoso1", vm("Contoso1", [0, 0x15, 0x5d, 0, 0, 1], "10.0.0.5/24")).unwrap();
//! fabric.attach("HostB", "Contoso2", vm("Contoso2", [0, 0x15, 0x5d, 0, 0, 2], "10.0.0.7/24")).unwrap();
//! fabric.send_udp("Contoso1", "10.0.0.7".parse().unwrap(), 5000, 7, b"hello").unwrap();
//! fabric.run();
//! let got: Vec<_> = fabric.vm("Contoso2").unwrap().udp_received().map(|(_, _, p)| p.to_vec()).collect();
//! assert_eq!(got, [b"hello".to_vec()]);
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Write};
use std::net::IpAddr;

use hnv_core::buf::{FrameBuf, PacketBuf};
use hnv_core::ids::MacAddr;
use hnv_core::nvgre::MAX_OVERHEAD;
use hnv_core::policy::{CompileError, Policy, Tables};
use hnv_core::switch::{Event, PortId, Step, Switch, Trace, Verdict};

use crate::pcap::PcapWriter;
use crate::vm::{Vm, VmError};

/// Headroom every frame buffer gets (room for the largest outer headers and more).
pub const HEADROOM: usize = 128;
/// Frames a [`Fabric::run`] carries at most before it stops (a loop guard).
pub const MAX_STEPS: usize = 100_000;

/// Where a frame was seen.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Link {
    /// Between a VM and its port.
    Port {
        /// The host.
        host: String,
        /// The port (= VM) name.
        port: String,
    },
    /// Between a host's uplink and the provider network.
    Uplink {
        /// The host.
        host: String,
    },
    /// The provider router's side of the segment (frames it forwarded).
    Router,
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Port { host, port } => write!(f, "{host}/{port}"),
            Self::Uplink { host } => write!(f, "{host}/uplink"),
            Self::Router => f.write_str("router"),
        }
    }
}

/// Which way a recorded frame went on its link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the VM into the switch, or from the provider network into the host.
    In,
    /// From the switch to the VM, or from the host onto the provider network.
    Out,
}

/// One recorded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Sequence number in the whole run (the pcap timestamp, in microseconds).
    pub seq: usize,
    /// Where.
    pub link: Link,
    /// Which way.
    pub dir: Direction,
    /// The frame's bytes.
    pub frame: Vec<u8>,
}

/// What a switch decided for one frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The host.
    pub host: String,
    /// Where the frame entered the switch.
    pub from: Link,
    /// [`Record::seq`] of the frame decided on (for a flood's encapsulated copy: of the
    /// flooded frame).
    pub input: usize,
    /// For a flood's encapsulated copy: the PA it was made for.
    pub replica_to: Option<IpAddr>,
    /// The decision's steps, as [`hnv_core::switch::Trace`] records them.
    pub steps: Vec<Step>,
    /// The events the decision raised (also kept in [`Host::events`]).
    pub events: Vec<Event>,
    /// The verdict.
    pub verdict: Verdict,
}

/// Why the fabric refused a request.
#[derive(Debug)]
pub enum FabricError {
    /// The policy does not compile for a host.
    Compile(String, CompileError),
    /// No host of that name.
    UnknownHost(String),
    /// The host has no port of that name.
    UnknownPort(String, String),
    /// No VM of that name is attached.
    UnknownVm(String),
    /// The VM refused to send.
    Vm(VmError),
}

impl fmt::Display for FabricError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Compile(h, e) => write!(f, "policy does not compile for {h}: {e}"),
            Self::UnknownHost(h) => write!(f, "no host {h}"),
            Self::UnknownPort(h, p) => write!(f, "host {h} has no port {p}"),
            Self::UnknownVm(v) => write!(f, "no VM {v} attached"),
            Self::Vm(e) => write!(f, "VM: {e:?}"),
        }
    }
}

impl std::error::Error for FabricError {}

/// A host: its switch and the VMs on its ports.
pub struct Host {
    name: String,
    switch: Switch<Tables>,
    /// `vms[i]`: the VM on port `i`, if attached.
    vms: Vec<Option<Vm>>,
    events: Vec<Event>,
}

impl Host {
    /// The host's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its switch (counters, learned records, tables).
    pub fn switch(&self) -> &Switch<Tables> {
        &self.switch
    }

    /// Events the switch raised, in order.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    fn port_name(&self, port: PortId) -> String {
        self.switch
            .tables()
            .ports()
            .get(port.index())
            .map_or_else(|| format!("port{}", port.0), |p| p.name.clone())
    }
}

/// A frame waiting to be carried.
enum Pending {
    /// A VM sent it into its port.
    FromVm {
        host: usize,
        port: PortId,
        frame: Vec<u8>,
    },
    /// It arrives at a host's uplink from the provider network.
    FromWire { host: usize, frame: Vec<u8> },
}

/// The fabric.
pub struct Fabric {
    hosts: Vec<Host>,
    /// MAC of the provider router, when there is one ([`Fabric::add_router`]).
    router: Option<MacAddr>,
    queue: VecDeque<Pending>,
    records: Vec<Record>,
    decisions: Vec<Decision>,
    seq: usize,
}

/// A frame in a buffer with [`HEADROOM`].
struct Buf {
    mem: Vec<u8>,
    start: usize,
    len: usize,
}

impl Buf {
    fn new(frame: &[u8]) -> Self {
        let mut mem = vec![0u8; HEADROOM + frame.len()];
        mem[HEADROOM..].copy_from_slice(frame);
        Self {
            mem,
            start: HEADROOM,
            len: frame.len(),
        }
    }

    fn with<R>(&mut self, f: impl FnOnce(&mut FrameBuf<'_>) -> R) -> R {
        let Ok(mut fb) = FrameBuf::new(&mut self.mem, self.start, self.len) else {
            unreachable!("a Buf always describes its own memory");
        };
        let r = f(&mut fb);
        self.start = fb.offset();
        self.len = fb.len();
        r
    }

    fn bytes(&self) -> Vec<u8> {
        self.mem[self.start..self.start + self.len].to_vec()
    }
}

const _: () = assert!(HEADROOM >= MAX_OVERHEAD);

impl Fabric {
    /// A fabric with one host per name, each with the tables `policy` compiles to for it.
    pub fn from_policy(policy: &Policy, hosts: &[&str]) -> Result<Self, FabricError> {
        let mut out = Vec::new();
        for &name in hosts {
            let tables =
                Tables::compile(policy, name).map_err(|e| FabricError::Compile(name.into(), e))?;
            let ports = tables.ports().len();
            out.push(Host {
                name: name.to_string(),
                switch: Switch::new(tables),
                vms: (0..ports).map(|_| None).collect(),
                events: Vec::new(),
            });
        }
        Ok(Self {
            hosts: out,
            router: None,
            queue: VecDeque::new(),
            records: Vec::new(),
            decisions: Vec::new(),
            seq: 0,
        })
    }

    fn host_index(&self, host: &str) -> Result<usize, FabricError> {
        self.hosts
            .iter()
            .position(|h| h.name == host)
            .ok_or_else(|| FabricError::UnknownHost(host.into()))
    }

    fn port_index(&self, h: usize, host: &str, port: &str) -> Result<PortId, FabricError> {
        self.hosts[h]
            .switch
            .tables()
            .ports()
            .iter()
            .position(|p| p.name == port)
            .and_then(|i| u16::try_from(i).ok())
            .map(PortId)
            .ok_or_else(|| FabricError::UnknownPort(host.into(), port.into()))
    }

    /// Puts `vm` on the port named `port` of `host`.
    pub fn attach(&mut self, host: &str, port: &str, vm: Vm) -> Result<(), FabricError> {
        let h = self.host_index(host)?;
        let i = self.port_index(h, host, port)?;
        self.hosts[h].vms[usize::from(i.0)] = Some(vm);
        Ok(())
    }

    /// Puts an IPv4 router with `mac` on the provider segment: an outer IPv4 frame sent to
    /// `mac` is forwarded to the host that owns its destination PA, with the TTL
    /// decremented (checksum updated incrementally) and the MACs rewritten (router → that
    /// host's uplink). Hosts reach it through their provider routes and neighbour entries.
    /// Frames it forwards are recorded on [`Link::Router`].
    pub fn add_router(&mut self, mac: MacAddr) {
        self.router = Some(mac);
    }

    /// The hosts.
    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    /// The host named `name`.
    pub fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.iter().find(|h| h.name == name)
    }

    /// The VM named `name`, wherever it is attached.
    pub fn vm(&self, name: &str) -> Option<&Vm> {
        self.hosts
            .iter()
            .flat_map(|h| h.vms.iter().flatten())
            .find(|v| v.name() == name)
    }

    fn locate(&self, vm: &str) -> Result<(usize, PortId), FabricError> {
        for (h, host) in self.hosts.iter().enumerate() {
            for (p, slot) in host.vms.iter().enumerate() {
                if slot.as_ref().is_some_and(|v| v.name() == vm) {
                    let port = u16::try_from(p).map_err(|_| FabricError::UnknownVm(vm.into()))?;
                    return Ok((h, PortId(port)));
                }
            }
        }
        Err(FabricError::UnknownVm(vm.into()))
    }

    /// Lets the VM named `vm` act: `f` gets it and returns the frames it sends, which are
    /// queued into its port. Carry them with [`Fabric::run`].
    pub fn with_vm(
        &mut self,
        vm: &str,
        f: impl FnOnce(&mut Vm) -> Result<Vec<Vec<u8>>, VmError>,
    ) -> Result<(), FabricError> {
        let (h, port) = self.locate(vm)?;
        let Some(v) = self.hosts[h].vms[port.index()].as_mut() else {
            return Err(FabricError::UnknownVm(vm.into()));
        };
        for frame in f(v).map_err(FabricError::Vm)? {
            self.queue.push_back(Pending::FromVm {
                host: h,
                port,
                frame,
            });
        }
        Ok(())
    }

    /// `vm` sends a UDP datagram (resolving its next hop first if needed).
    pub fn send_udp(
        &mut self,
        vm: &str,
        dst: IpAddr,
        src_port: u16,
        dst_port: u16,
        payload: &[u8],
    ) -> Result<(), FabricError> {
        self.with_vm(vm, |v| v.send_udp(dst, src_port, dst_port, payload))
    }

    /// `vm` pings `dst`.
    pub fn send_ping(&mut self, vm: &str, dst: IpAddr, seq: u16) -> Result<(), FabricError> {
        self.with_vm(vm, |v| v.send_ping(dst, 1, seq, b"hnv-sim"))
    }

    /// Queues a frame arriving at `host`'s uplink from the provider network (e.g. a frame
    /// from a peer that is not simulated).
    pub fn inject_wire(&mut self, host: &str, frame: Vec<u8>) -> Result<(), FabricError> {
        let host = self.host_index(host)?;
        self.queue.push_back(Pending::FromWire { host, frame });
        Ok(())
    }

    /// Queues a frame sent into the port named `port` of `host`, whatever its bytes (a
    /// spoofed, malformed or captured frame; no VM needs to be attached).
    pub fn inject_port(
        &mut self,
        host: &str,
        port: &str,
        frame: Vec<u8>,
    ) -> Result<(), FabricError> {
        let h = self.host_index(host)?;
        let port = self.port_index(h, host, port)?;
        self.queue.push_back(Pending::FromVm {
            host: h,
            port,
            frame,
        });
        Ok(())
    }

    /// Carries frames until none is left (or [`MAX_STEPS`] were carried); returns how many.
    pub fn run(&mut self) -> usize {
        let mut steps = 0;
        while let Some(p) = self.queue.pop_front() {
            steps += 1;
            if steps > MAX_STEPS {
                break;
            }
            match p {
                Pending::FromVm { host, port, frame } => self.carry_from_vm(host, port, &frame),
                Pending::FromWire { host, frame } => self.carry_from_wire(host, &frame),
            }
        }
        steps
    }

    /// Records a frame; returns its sequence number.
    fn record(&mut self, link: Link, dir: Direction, frame: Vec<u8>) -> usize {
        let seq = self.seq;
        self.records.push(Record {
            seq,
            link,
            dir,
            frame,
        });
        self.seq += 1;
        seq
    }

    fn port_link(&self, host: usize, port: PortId) -> Link {
        Link::Port {
            host: self.hosts[host].name.clone(),
            port: self.hosts[host].port_name(port),
        }
    }

    fn uplink(&self, host: usize) -> Link {
        Link::Uplink {
            host: self.hosts[host].name.clone(),
        }
    }

    fn carry_from_vm(&mut self, host: usize, port: PortId, frame: &[u8]) {
        let link = self.port_link(host, port);
        let input = self.record(link.clone(), Direction::In, frame.to_vec());
        let mut buf = Buf::new(frame);
        let mut trace = Trace::default();
        let h = &mut self.hosts[host];
        let verdict = buf.with(|f| h.switch.from_port(port, f, &mut trace));
        self.decide(host, link, input, None, trace, verdict);
        self.execute(host, Some(port), input, &buf, verdict);
    }

    fn carry_from_wire(&mut self, host: usize, frame: &[u8]) {
        let link = self.uplink(host);
        let input = self.record(link.clone(), Direction::In, frame.to_vec());
        let mut buf = Buf::new(frame);
        let mut trace = Trace::default();
        let h = &mut self.hosts[host];
        let verdict = buf.with(|f| h.switch.from_wire(f, &mut trace));
        self.decide(host, link, input, None, trace, verdict);
        self.execute(host, None, input, &buf, verdict);
    }

    /// Keeps a decision and the events it raised.
    fn decide(
        &mut self,
        host: usize,
        from: Link,
        input: usize,
        replica_to: Option<IpAddr>,
        trace: Trace,
        verdict: Verdict,
    ) {
        let h = &mut self.hosts[host];
        h.events.extend_from_slice(&trace.events);
        self.decisions.push(Decision {
            host: h.name.clone(),
            from,
            input,
            replica_to,
            steps: trace.steps,
            events: trace.events,
            verdict,
        });
    }

    /// Does what `verdict` says with the processed frame `buf`. `ingress`: the port, or
    /// `None` for the uplink; `input`: the sequence number of the frame decided on.
    fn execute(
        &mut self,
        host: usize,
        ingress: Option<PortId>,
        input: usize,
        buf: &Buf,
        verdict: Verdict,
    ) {
        match verdict {
            Verdict::ToPort(p) => self.deliver(host, p, &buf.bytes()),
            Verdict::ToWire => self.onto_wire(host, &buf.bytes()),
            Verdict::Reply => match ingress {
                Some(p) => self.deliver(host, p, &buf.bytes()),
                None => self.onto_wire(host, &buf.bytes()),
            },
            Verdict::Flood(flood) => {
                // The frame as the switch left it: decapsulated when it came from the wire.
                let frame = buf.bytes();
                let ports: Vec<_> = self.hosts[host].switch.flood_ports(&flood).collect();
                let pas: Vec<_> = self.hosts[host].switch.flood_pas(&flood).collect();
                for p in ports {
                    self.deliver(host, p, &frame);
                }
                let src_mac = ingress
                    .and_then(|p| self.hosts[host].switch.tables().ports().get(p.index()))
                    .map_or(MacAddr([0; 6]), |p| p.mac);
                for pa in pas {
                    let mut copy = Buf::new(&frame);
                    let mut trace = Trace::default();
                    let h = &mut self.hosts[host];
                    let v =
                        copy.with(|f| h.switch.encap_copy(f, flood.vsid, src_mac, pa, &mut trace));
                    let link = self.uplink(host);
                    self.decide(host, link, input, Some(pa), trace, v);
                    if v == Verdict::ToWire {
                        self.onto_wire(host, &copy.bytes());
                    }
                }
            }
            Verdict::Consumed | Verdict::Drop(_) => {}
        }
    }

    fn deliver(&mut self, host: usize, port: PortId, frame: &[u8]) {
        let link = self.port_link(host, port);
        self.record(link, Direction::Out, frame.to_vec());
        let Some(vm) = self.hosts[host]
            .vms
            .get_mut(port.index())
            .and_then(Option::as_mut)
        else {
            return;
        };
        for out in vm.receive(frame) {
            self.queue.push_back(Pending::FromVm {
                host,
                port,
                frame: out,
            });
        }
    }

    /// The provider network: one L2 segment. A frame reaches the host whose uplink MAC is
    /// its destination, or every other host when it is broadcast or multicast.
    fn onto_wire(&mut self, host: usize, frame: &[u8]) {
        let link = self.uplink(host);
        self.record(link, Direction::Out, frame.to_vec());
        let Some(dst) = frame.get(..6).and_then(|d| <[u8; 6]>::try_from(d).ok()) else {
            return;
        };
        let dst = MacAddr(dst);
        if Some(dst) == self.router {
            self.route(frame);
            return;
        }
        for (i, h) in self.hosts.iter().enumerate() {
            let hit = if dst.is_multicast() {
                i != host
            } else {
                h.switch.tables().uplink_mac() == dst
            };
            if hit {
                self.queue.push_back(Pending::FromWire {
                    host: i,
                    frame: frame.to_vec(),
                });
            }
        }
    }

    /// The router's forwarding of an outer IPv4 frame (see [`Fabric::add_router`]).
    fn route(&mut self, frame: &[u8]) {
        let Some(router) = self.router else { return };
        let mut out = frame.to_vec();
        let ok = out.len() >= 34 && out[12..14] == [0x08, 0x00] && out[22] > 1;
        if !ok {
            return;
        }
        let dst = IpAddr::from(<[u8; 4]>::try_from(&out[30..34]).unwrap_or([0; 4]));
        let Some(to) = self
            .hosts
            .iter()
            .position(|h| h.switch.tables().own_pas().contains(&dst))
        else {
            return;
        };
        let old = u16::from_be_bytes([out[22], out[23]]);
        out[22] -= 1;
        let new = u16::from_be_bytes([out[22], out[23]]);
        let check = u16::from_be_bytes([out[24], out[25]]);
        let check = hnv_core::wire::checksum::update_u16(check, old, new);
        out[24..26].copy_from_slice(&check.to_be_bytes());
        out[0..6].copy_from_slice(&self.hosts[to].switch.tables().uplink_mac().0);
        out[6..12].copy_from_slice(&router.0);
        self.record(Link::Router, Direction::Out, out.clone());
        self.queue.push_back(Pending::FromWire {
            host: to,
            frame: out,
        });
    }

    /// Every frame on every link, in the order it was seen.
    pub fn links(&self) -> &[Record] {
        &self.records
    }

    /// The frames seen on `link` in direction `dir`.
    pub fn frames_on(&self, link: &Link, dir: Direction) -> Vec<&[u8]> {
        self.records
            .iter()
            .filter(|r| &r.link == link && r.dir == dir)
            .map(|r| r.frame.as_slice())
            .collect()
    }

    /// Every switch decision, in order.
    pub fn decisions(&self) -> &[Decision] {
        &self.decisions
    }

    /// Writes the frames of the links `keep` accepts as a pcap (timestamp = sequence
    /// number in microseconds), each frame once: a frame leaving one host's uplink and
    /// entering another's is written once, as it left.
    pub fn write_pcap<W: Write>(&self, out: W, keep: impl Fn(&Record) -> bool) -> io::Result<W> {
        let mut w = PcapWriter::new(out)?;
        for r in self.records.iter().filter(|r| keep(r)) {
            let secs = u32::try_from(r.seq / 1_000_000).unwrap_or(u32::MAX);
            let micros = u32::try_from(r.seq % 1_000_000).unwrap_or(0);
            w.write_frame(secs, micros, &r.frame)?;
        }
        w.into_inner()
    }
}
