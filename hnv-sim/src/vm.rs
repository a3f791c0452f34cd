//! Simulated VMs: a deterministic network stack that speaks just enough ARP, IPv6
//! neighbour discovery, ICMP, UDP and TCP to drive the HNV packet flows.
//!
//! A [`Vm`] owns a MAC address, one or more IPv4/IPv6 interface addresses with prefix
//! lengths and at most one default gateway per family (the `.1` of its virtual subnet in
//! the seed flows). It never touches a clock or a random source: IPv4 identifications come
//! from a counter, ports and sequence numbers from the caller, so a run is repeatable
//! byte for byte.
//!
//! * **Sending** — [`Vm::send_udp`], [`Vm::send_ping`] and [`Vm::send_tcp_syn`] pick the
//!   next hop ([`Vm::route`]: on-link per the VM's prefixes, else the gateway). When the
//!   next hop's MAC is in the neighbour cache they return the frame; otherwise they queue
//!   the packet and return an ARP request (IPv4) or a neighbour solicitation (IPv6) for the
//!   next hop, once per unresolved next hop.
//! * **Receiving** — [`Vm::receive`] takes a frame and returns what the VM sends in
//!   response: ARP replies, neighbour advertisements, echo replies, a SYN-ACK or RST for a
//!   SYN, and the queued packets an ARP reply or advertisement just resolved. Every frame
//!   the VM accepts is kept in its [`inbox`](Vm::inbox); every frame it refuses in
//!   [`rejected`](Vm::rejected) with an [`RxError`]. Arbitrary bytes never make it panic.
//! * **Originating** — [`Vm::arp_request`], [`Vm::neighbor_solicit`],
//!   [`Vm::dad_probe`] and [`Vm::nud_probe`] build one resolution frame on demand.
//!
//! Frames are Ethernet II without FCS and without 802.1Q tag. Frames shorter than
//! [`MIN_FRAME_LEN`] (60 bytes, the Ethernet minimum without FCS) are zero-padded, as a
//! NIC would; [`Vm::set_padding`] turns that off. Every frame carries correct IPv4 header,
//! ICMP, ICMPv6, UDP and TCP checksums, built through `hnv_core::wire`.
//!
//! ```
//! use std::net::Ipv4Addr;
//! use hnv_core::ids::MacAddr;
//! use hnv_sim::vm::Vm;
//!
//! let mut a = Vm::new("Contoso1", MacAddr([0, 0x15, 0x5d, 0, 0, 1]),
//!     &["10.0.0.5/24".parse().unwrap()], &[]).unwrap();
//! let mut b = Vm::new("Contoso2", MacAddr([0, 0x15, 0x5d, 0, 0, 2]),
//!     &["10.0.0.7/24".parse().unwrap()], &[]).unwrap();
//! // The MAC of 10.0.0.7 is unknown: the datagram waits behind an ARP request.
//! let arp = a.send_udp(Ipv4Addr::new(10, 0, 0, 7), 5000, 7000, b"hi").unwrap();
//! let reply = b.receive(&arp[0]);
//! let released = a.receive(&reply[0]);
//! b.receive(&released[0]);
//! let (from, _, payload) = b.udp_received().next().unwrap();
//! assert_eq!((from.to_string().as_str(), payload), ("10.0.0.5:5000", &b"hi"[..]));
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use hnv_core::ids::MacAddr;
use hnv_core::wire::arp::{ArpHeader, ArpOp, ArpPacket};
use hnv_core::wire::checksum::{self, Checksum};
use hnv_core::wire::ethernet::{EtherType, EthernetFrame, EthernetHeader};
use hnv_core::wire::icmpv4::{Icmpv4Header, Icmpv4Kind, Icmpv4Packet};
use hnv_core::wire::icmpv6::{
    msg_type as icmpv6_type, ndp_option, Icmpv6Header, Icmpv6Packet, NeighborHeader,
};
use hnv_core::wire::ipv4::{Ipv4Header, Ipv4Packet};
use hnv_core::wire::ipv6::{Ipv6Header, Ipv6Packet};
use hnv_core::wire::tcp::{TcpFlags, TcpHeader, TcpPacket};
use hnv_core::wire::udp::{UdpHeader, UdpPacket, ZeroChecksum};
use hnv_core::wire::{ip_proto, Layer, ParseError};

/// Shortest frame a VM puts on the wire when padding is on: the Ethernet minimum of 64
/// bytes less the 4-byte FCS.
pub const MIN_FRAME_LEN: usize = 60;

/// Default MTU of a VM network adapter (largest IP packet it sends).
pub const DEFAULT_MTU: u16 = 1500;

/// How many packets may wait for address resolution at once, over all next hops.
pub const MAX_PENDING: usize = 64;

/// Hop limit of neighbour-discovery messages (RFC 4861 §7.1 requires 255 on receipt).
const ND_HOP_LIMIT: u8 = 255;
/// TTL / hop limit of the IP packets a VM originates.
const DEFAULT_TTL: u8 = 64;
/// Receive window advertised in a SYN or SYN-ACK.
const TCP_WINDOW: u16 = 64240;
/// First initial sequence number used for SYN-ACKs; each later one adds [`ISN_STEP`].
const FIRST_ISN: u32 = 0x1000_0000;
const ISN_STEP: u32 = 0x0001_0000;

/// `ff02::1`, all nodes on the link.
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// An interface address with its prefix length, like `10.0.0.5/24` or `fd00::5/64`.
///
/// Unlike a route prefix, host bits are set: the address is the VM's own, the prefix
/// length says which destinations are on-link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IfAddr {
    addr: IpAddr,
    prefix_len: u8,
}

impl IfAddr {
    /// An interface address; the prefix length must fit the family (≤ 32 or ≤ 128) and
    /// the address must be unicast (not unspecified, multicast or `255.255.255.255`).
    pub fn new(addr: impl Into<IpAddr>, prefix_len: u8) -> Result<Self, VmError> {
        let addr = addr.into();
        if prefix_len > family_bits(addr) {
            return Err(VmError::PrefixTooLong { addr, prefix_len });
        }
        let unicast = match addr {
            IpAddr::V4(a) => !a.is_unspecified() && !a.is_multicast() && !a.is_broadcast(),
            IpAddr::V6(a) => !a.is_unspecified() && !a.is_multicast(),
        };
        if !unicast {
            return Err(VmError::NotUnicastAddress(addr));
        }
        Ok(Self { addr, prefix_len })
    }

    /// The address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    /// True when `ip` is of the same family and inside this address's prefix.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix_len));
                let mask = mask.unwrap_or(0);
                a.to_bits() & mask == b.to_bits() & mask
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix_len));
                let mask = mask.unwrap_or(0);
                a.to_bits() & mask == b.to_bits() & mask
            }
            _ => false,
        }
    }

    /// The subnet's directed-broadcast address (IPv4 with a prefix shorter than /31).
    fn directed_broadcast(&self) -> Option<Ipv4Addr> {
        match self.addr {
            IpAddr::V4(a) if self.prefix_len < 31 => {
                let host = u32::MAX >> self.prefix_len;
                Some(Ipv4Addr::from_bits(a.to_bits() | host))
            }
            _ => None,
        }
    }
}

impl FromStr for IfAddr {
    type Err = VmError;

    /// Parses `ADDRESS/LENGTH`.
    fn from_str(s: &str) -> Result<Self, VmError> {
        let (addr, len) = s.split_once('/').ok_or(VmError::AddressSyntax)?;
        let addr: IpAddr = addr.parse().map_err(|_| VmError::AddressSyntax)?;
        let len: u8 = len.parse().map_err(|_| VmError::AddressSyntax)?;
        Self::new(addr, len)
    }
}

impl fmt::Display for IfAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

/// Why a VM could not be built or could not send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VmError {
    /// An interface address string is not `ADDRESS/LENGTH`.
    AddressSyntax,
    /// A prefix length longer than the address.
    PrefixTooLong {
        /// The address.
        addr: IpAddr,
        /// The length given.
        prefix_len: u8,
    },
    /// An interface address or probe target that is not a unicast address.
    NotUnicastAddress(IpAddr),
    /// The VM's MAC is a group address or all zeros.
    NotUnicastMac(MacAddr),
    /// A VM needs at least one interface address.
    NoAddresses,
    /// The same address given twice.
    DuplicateAddress(IpAddr),
    /// A default gateway outside every prefix of its family.
    GatewayNotOnLink(IpAddr),
    /// A default gateway equal to one of the VM's own addresses.
    GatewayIsOwnAddress(IpAddr),
    /// A second default gateway of the same family.
    SecondGateway(IpAddr),
    /// The VM has no address of the destination's family.
    NoSourceAddress(IpAddr),
    /// The destination is off-link and the VM has no gateway of its family (or it is
    /// the unspecified address).
    NoRoute(IpAddr),
    /// The destination is one of the VM's own addresses (no loopback here).
    OwnAddress(IpAddr),
    /// The IP packet would be longer than the MTU (or than 65535 bytes).
    TooLarge {
        /// Length of the IP packet in bytes.
        len: usize,
        /// The limit it exceeds.
        limit: usize,
    },
    /// [`Vm::nud_probe`] for an address with no neighbour-cache entry.
    UnknownNeighbor(IpAddr),
    /// [`MAX_PENDING`] packets already wait for address resolution.
    QueueFull,
    /// A frame under construction did not pass its own view's checks (a bug in this
    /// module, reported rather than panicking).
    Encode(ParseError),
}

impl fmt::Display for VmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AddressSyntax => f.write_str("expected ADDRESS/LENGTH, e.g. 10.0.0.5/24"),
            Self::PrefixTooLong { addr, prefix_len } => {
                write!(f, "prefix length {prefix_len} is too long for {addr}")
            }
            Self::NotUnicastAddress(a) => write!(f, "{a} is not a unicast address"),
            Self::NotUnicastMac(m) => write!(f, "{m} is not a unicast MAC address"),
            Self::NoAddresses => f.write_str("a VM needs at least one IP address"),
            Self::DuplicateAddress(a) => write!(f, "address {a} given twice"),
            Self::GatewayNotOnLink(a) => {
                write!(f, "gateway {a} is not in any of the VM's prefixes")
            }
            Self::GatewayIsOwnAddress(a) => write!(f, "gateway {a} is the VM's own address"),
            Self::SecondGateway(a) => write!(f, "gateway {a}: one default gateway per family"),
            Self::NoSourceAddress(a) => write!(f, "no source address of the family of {a}"),
            Self::NoRoute(a) => write!(f, "no route to {a}"),
            Self::OwnAddress(a) => write!(f, "{a} is the VM's own address"),
            Self::TooLarge { len, limit } => {
                write!(f, "IP packet of {len} bytes exceeds the limit of {limit}")
            }
            Self::UnknownNeighbor(a) => write!(f, "no neighbour-cache entry for {a}"),
            Self::QueueFull => f.write_str("too many packets wait for address resolution"),
            Self::Encode(e) => write!(f, "frame construction failed: {e}"),
        }
    }
}

impl std::error::Error for VmError {}

impl From<ParseError> for VmError {
    fn from(e: ParseError) -> Self {
        Self::Encode(e)
    }
}

/// Why a VM refused a received frame. Refused frames produce no response and are listed
/// in [`Vm::rejected`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RxError {
    /// A header is malformed or truncated.
    Parse(ParseError),
    /// The frame carries an 802.1Q / 802.1ad tag; VM ports see untagged frames only.
    VlanTagged,
    /// The destination MAC is neither the VM's, broadcast, all-nodes nor one of its
    /// solicited-node groups.
    NotForUs(MacAddr),
    /// The source MAC is the VM's own: its frame came back to it.
    FromSelf,
    /// An Ethernet type other than ARP, IPv4 and IPv6.
    UnsupportedEtherType(u16),
    /// An IP packet at the VM's MAC but for an address it does not own (it is no router).
    NotOurAddress(IpAddr),
    /// A checksum at this layer does not verify.
    BadChecksum(Layer),
    /// An IP fragment: the VM does not reassemble.
    Fragment,
    /// A neighbour-discovery message with a hop limit other than 255 (RFC 4861 §7.1).
    BadHopLimit(u8),
}

impl fmt::Display for RxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Parse(e) => write!(f, "malformed: {e}"),
            Self::VlanTagged => f.write_str("VLAN-tagged frame"),
            Self::NotForUs(m) => write!(f, "destination MAC {m} is not for this VM"),
            Self::FromSelf => f.write_str("frame sent by this VM"),
            Self::UnsupportedEtherType(t) => write!(f, "Ethernet type {t:#06x} not handled"),
            Self::NotOurAddress(a) => write!(f, "IP destination {a} is not this VM's"),
            Self::BadChecksum(l) => write!(f, "bad {l:?} checksum"),
            Self::Fragment => f.write_str("IP fragment"),
            Self::BadHopLimit(h) => write!(f, "neighbour discovery with hop limit {h}"),
        }
    }
}

impl std::error::Error for RxError {}

impl From<ParseError> for RxError {
    fn from(e: ParseError) -> Self {
        Self::Parse(e)
    }
}

/// How a destination is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Via {
    /// On-link: the destination itself is resolved.
    OnLink(IpAddr),
    /// Off-link: through this default gateway, which is resolved.
    Gateway(IpAddr),
    /// A broadcast or multicast destination, sent to this group MAC without resolution.
    Group(MacAddr),
}

impl Via {
    /// The address whose MAC must be resolved, if any.
    pub fn next_hop(&self) -> Option<IpAddr> {
        match *self {
            Self::OnLink(a) | Self::Gateway(a) => Some(a),
            Self::Group(_) => None,
        }
    }
}

/// The VM's routing decision for one destination: source address and next hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Route {
    /// The source address the VM uses.
    pub src: IpAddr,
    /// How the packet leaves.
    pub via: Via,
}

/// What a received frame carried, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// An ARP request or reply (also one for another VM's address, seen by broadcast).
    Arp {
        /// Request or reply.
        op: ArpOp,
        /// Sender hardware address.
        sender_mac: MacAddr,
        /// Sender protocol address.
        sender_ip: Ipv4Addr,
        /// Target hardware address.
        target_mac: MacAddr,
        /// Target protocol address.
        target_ip: Ipv4Addr,
    },
    /// An IPv6 neighbour solicitation (`src` is `::` for a DAD probe).
    NeighborSolicit {
        /// IPv6 source.
        src: Ipv6Addr,
        /// IPv6 destination.
        dst: Ipv6Addr,
        /// The address asked about.
        target: Ipv6Addr,
        /// The source link-layer address option.
        source_link_addr: Option<MacAddr>,
    },
    /// An IPv6 neighbour advertisement.
    NeighborAdvert {
        /// IPv6 source.
        src: Ipv6Addr,
        /// IPv6 destination.
        dst: Ipv6Addr,
        /// The address advertised.
        target: Ipv6Addr,
        /// The target link-layer address option.
        target_link_addr: Option<MacAddr>,
        /// The S flag.
        solicited: bool,
        /// The O flag.
        override_: bool,
    },
    /// An ICMP or ICMPv6 echo request.
    EchoRequest {
        /// IP source.
        src: IpAddr,
        /// IP destination.
        dst: IpAddr,
        /// Identifier.
        id: u16,
        /// Sequence number.
        seq: u16,
        /// Echo data.
        data: Vec<u8>,
    },
    /// An ICMP or ICMPv6 echo reply.
    EchoReply {
        /// IP source.
        src: IpAddr,
        /// IP destination.
        dst: IpAddr,
        /// Identifier.
        id: u16,
        /// Sequence number.
        seq: u16,
        /// Echo data.
        data: Vec<u8>,
    },
    /// Any other ICMP or ICMPv6 message (Fragmentation Needed, Packet Too Big, …).
    Icmp {
        /// IP source.
        src: IpAddr,
        /// IP destination.
        dst: IpAddr,
        /// Message type.
        msg_type: u8,
        /// Message code.
        code: u8,
        /// The bytes after the 4-byte type/code/checksum header.
        body: Vec<u8>,
    },
    /// A UDP datagram.
    Udp {
        /// Source address and port.
        src: SocketAddr,
        /// Destination address and port.
        dst: SocketAddr,
        /// The payload.
        payload: Vec<u8>,
    },
    /// A TCP segment.
    Tcp {
        /// Source address and port.
        src: SocketAddr,
        /// Destination address and port.
        dst: SocketAddr,
        /// Sequence number.
        seq: u32,
        /// Acknowledgment number.
        ack: u32,
        /// Control bits.
        flags: TcpFlags,
        /// The payload.
        payload: Vec<u8>,
    },
    /// An IP packet of another protocol.
    OtherIp {
        /// IP source.
        src: IpAddr,
        /// IP destination.
        dst: IpAddr,
        /// Protocol / next header.
        protocol: u8,
    },
}

/// One frame the VM accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxEntry {
    /// Ethernet source.
    pub src_mac: MacAddr,
    /// Ethernet destination.
    pub dst_mac: MacAddr,
    /// What it carried.
    pub message: Message,
    /// The frame as received.
    pub frame: Vec<u8>,
}

/// A packet waiting for its next hop's MAC.
#[derive(Debug, Clone)]
struct Pending {
    next_hop: IpAddr,
    ethertype: EtherType,
    packet: Vec<u8>,
}

/// Source and destination of one IP packet, fixing its family.
#[derive(Debug, Clone, Copy)]
enum Endpoints {
    V4(Ipv4Addr, Ipv4Addr),
    V6(Ipv6Addr, Ipv6Addr),
}

impl Endpoints {
    fn new(src: IpAddr, dst: IpAddr) -> Result<Self, VmError> {
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => Ok(Self::V4(s, d)),
            (IpAddr::V6(s), IpAddr::V6(d)) => Ok(Self::V6(s, d)),
            _ => Err(VmError::NoSourceAddress(dst)),
        }
    }

    fn pseudo(self, protocol: u8, len: usize) -> Checksum {
        match self {
            Self::V4(s, d) => checksum::pseudo_v4(s, d, protocol, len as u16),
            Self::V6(s, d) => checksum::pseudo_v6(s, d, protocol, len as u32),
        }
    }

    fn src(self) -> IpAddr {
        match self {
            Self::V4(s, _) => s.into(),
            Self::V6(s, _) => s.into(),
        }
    }

    fn dst(self) -> IpAddr {
        match self {
            Self::V4(_, d) => d.into(),
            Self::V6(_, d) => d.into(),
        }
    }
}

/// A simulated VM network adapter and the stack behind it. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Vm {
    name: String,
    mac: MacAddr,
    addrs: Vec<IfAddr>,
    gateway_v4: Option<Ipv4Addr>,
    gateway_v6: Option<Ipv6Addr>,
    neighbors: BTreeMap<IpAddr, MacAddr>,
    pending: Vec<Pending>,
    inbox: Vec<InboxEntry>,
    rejected: Vec<RxError>,
    response_errors: Vec<VmError>,
    tcp_listen: BTreeSet<u16>,
    next_ip_id: u16,
    next_isn: u32,
    padding: bool,
    mtu: u16,
    dont_fragment: bool,
}

impl Vm {
    /// A VM with a unicast `mac`, at least one interface address and at most one default
    /// gateway per family, each inside one of the VM's prefixes of its family (or IPv6
    /// link-local).
    pub fn new(
        name: impl Into<String>,
        mac: MacAddr,
        addrs: &[IfAddr],
        gateways: &[IpAddr],
    ) -> Result<Self, VmError> {
        if !mac.is_unicast() {
            return Err(VmError::NotUnicastMac(mac));
        }
        if addrs.is_empty() {
            return Err(VmError::NoAddresses);
        }
        for (i, a) in addrs.iter().enumerate() {
            if addrs.iter().take(i).any(|b| b.addr == a.addr) {
                return Err(VmError::DuplicateAddress(a.addr));
            }
        }
        let mut vm = Self {
            name: name.into(),
            mac,
            addrs: addrs.to_vec(),
            gateway_v4: None,
            gateway_v6: None,
            neighbors: BTreeMap::new(),
            pending: Vec::new(),
            inbox: Vec::new(),
            rejected: Vec::new(),
            response_errors: Vec::new(),
            tcp_listen: BTreeSet::new(),
            next_ip_id: 1,
            next_isn: FIRST_ISN,
            padding: true,
            mtu: DEFAULT_MTU,
            dont_fragment: true,
        };
        for &gw in gateways {
            if vm.owns(gw) {
                return Err(VmError::GatewayIsOwnAddress(gw));
            }
            if !vm.is_on_link(gw) {
                return Err(VmError::GatewayNotOnLink(gw));
            }
            match gw {
                IpAddr::V4(g) if vm.gateway_v4.is_none() => vm.gateway_v4 = Some(g),
                IpAddr::V6(g) if vm.gateway_v6.is_none() => vm.gateway_v6 = Some(g),
                _ => return Err(VmError::SecondGateway(gw)),
            }
        }
        Ok(vm)
    }

    /// The VM's name (VMName in the lookup records).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The VM's MAC address.
    pub fn mac(&self) -> MacAddr {
        self.mac
    }

    /// The interface addresses, in the order given.
    pub fn addrs(&self) -> &[IfAddr] {
        &self.addrs
    }

    /// The IPv4 default gateway.
    pub fn gateway_v4(&self) -> Option<Ipv4Addr> {
        self.gateway_v4
    }

    /// The IPv6 default gateway.
    pub fn gateway_v6(&self) -> Option<Ipv6Addr> {
        self.gateway_v6
    }

    /// Pads frames shorter than [`MIN_FRAME_LEN`] with zeros (on by default).
    pub fn set_padding(&mut self, on: bool) {
        self.padding = on;
    }

    /// The largest IP packet the VM sends (default [`DEFAULT_MTU`]).
    pub fn set_mtu(&mut self, mtu: u16) {
        self.mtu = mtu;
    }

    /// Whether originated IPv4 packets carry Don't Fragment (on by default).
    pub fn set_dont_fragment(&mut self, df: bool) {
        self.dont_fragment = df;
    }

    /// Accepts TCP connections on `port`: a SYN to it is answered with a SYN-ACK instead of
    /// a RST.
    pub fn listen_tcp(&mut self, port: u16) {
        self.tcp_listen.insert(port);
    }

    /// The MAC cached for `ip`.
    pub fn neighbor(&self, ip: impl Into<IpAddr>) -> Option<MacAddr> {
        self.neighbors.get(&ip.into()).copied()
    }

    /// The neighbour cache (ARP and IPv6 neighbours), ordered by address.
    pub fn neighbors(&self) -> impl Iterator<Item = (IpAddr, MacAddr)> + '_ {
        self.neighbors.iter().map(|(ip, mac)| (*ip, *mac))
    }

    /// Adds or replaces a cache entry (like `arp -s`) and returns the queued packets it
    /// releases.
    pub fn set_neighbor(&mut self, ip: impl Into<IpAddr>, mac: MacAddr) -> Vec<Vec<u8>> {
        self.learn(ip.into(), mac)
    }

    /// Empties the neighbour cache.
    pub fn flush_neighbors(&mut self) {
        self.neighbors.clear();
    }

    /// How many packets wait for address resolution.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Every frame accepted since creation or the last [`take_inbox`](Self::take_inbox).
    pub fn inbox(&self) -> &[InboxEntry] {
        &self.inbox
    }

    /// Returns and clears the inbox.
    pub fn take_inbox(&mut self) -> Vec<InboxEntry> {
        std::mem::take(&mut self.inbox)
    }

    /// Why each refused frame was refused, in arrival order.
    pub fn rejected(&self) -> &[RxError] {
        &self.rejected
    }

    /// Responses the VM could not send to frames it accepted (e.g. an echo reply to an
    /// off-link source when it has no gateway), in order.
    pub fn response_errors(&self) -> &[VmError] {
        &self.response_errors
    }

    /// The UDP datagrams in the inbox: source, destination, payload.
    pub fn udp_received(&self) -> impl Iterator<Item = (SocketAddr, SocketAddr, &[u8])> + '_ {
        self.inbox.iter().filter_map(|e| match &e.message {
            Message::Udp { src, dst, payload } => Some((*src, *dst, payload.as_slice())),
            _ => None,
        })
    }

    /// True for one of the VM's own addresses.
    pub fn owns(&self, ip: impl Into<IpAddr>) -> bool {
        let ip = ip.into();
        self.addrs.iter().any(|a| a.addr == ip)
    }

    /// How the VM reaches `dst`: a broadcast or multicast group MAC; on-link when `dst` is
    /// inside one of its prefixes (or IPv6 link-local); otherwise its default gateway.
    /// [`VmError::NoSourceAddress`] when the VM has no address of `dst`'s family.
    pub fn route(&self, dst: impl Into<IpAddr>) -> Result<Route, VmError> {
        let dst = dst.into();
        if self.owns(dst) {
            return Err(VmError::OwnAddress(dst));
        }
        if dst.is_unspecified() {
            return Err(VmError::NoRoute(dst));
        }
        if !self.addrs.iter().any(|a| a.addr.is_ipv4() == dst.is_ipv4()) {
            return Err(VmError::NoSourceAddress(dst));
        }
        if let Some(mac) = self.group_mac(dst) {
            let src = self.source_for(dst)?;
            return Ok(Route {
                src,
                via: Via::Group(mac),
            });
        }
        if self.is_on_link(dst) {
            let src = self.source_for(dst)?;
            return Ok(Route {
                src,
                via: Via::OnLink(dst),
            });
        }
        let gateway = match dst {
            IpAddr::V4(_) => self.gateway_v4.map(IpAddr::V4),
            IpAddr::V6(_) => self.gateway_v6.map(IpAddr::V6),
        };
        let gateway = gateway.ok_or(VmError::NoRoute(dst))?;
        let src = self.source_for(gateway)?;
        Ok(Route {
            src,
            via: Via::Gateway(gateway),
        })
    }

    /// A broadcast ARP request for `target` from the VM's address on `target`'s subnet
    /// (else its first IPv4 address).
    pub fn arp_request(&self, target: Ipv4Addr) -> Result<Vec<u8>, VmError> {
        let IpAddr::V4(src) = self.source_for(target.into())? else {
            return Err(VmError::NoSourceAddress(target.into()));
        };
        self.arp_frame(
            MacAddr::BROADCAST,
            ArpHeader::new_request(self.mac, src, target),
        )
    }

    /// A neighbour solicitation for `target` to its solicited-node multicast address and
    /// MAC, from the VM's matching IPv6 address, with a source link-layer address option.
    pub fn neighbor_solicit(&self, target: Ipv6Addr) -> Result<Vec<u8>, VmError> {
        let IpAddr::V6(src) = self.source_for(target.into())? else {
            return Err(VmError::NoSourceAddress(target.into()));
        };
        let group = solicited_node(target);
        self.ns_frame(group_mac_v6(group), src, group, target, true)
    }

    /// A duplicate-address-detection probe for `tentative` (RFC 4862 §5.4.2): a
    /// neighbour solicitation from `::` to the solicited-node group, without a source
    /// link-layer address option.
    pub fn dad_probe(&self, tentative: Ipv6Addr) -> Result<Vec<u8>, VmError> {
        if tentative.is_unspecified() || tentative.is_multicast() {
            return Err(VmError::NotUnicastAddress(tentative.into()));
        }
        let group = solicited_node(tentative);
        self.ns_frame(
            group_mac_v6(group),
            Ipv6Addr::UNSPECIFIED,
            group,
            tentative,
            false,
        )
    }

    /// A neighbour-unreachability probe (RFC 4861 §7.3.3): a neighbour solicitation
    /// unicast to the cached MAC and address of `target`.
    pub fn nud_probe(&self, target: Ipv6Addr) -> Result<Vec<u8>, VmError> {
        let mac = self
            .neighbor(target)
            .ok_or(VmError::UnknownNeighbor(target.into()))?;
        let IpAddr::V6(src) = self.source_for(target.into())? else {
            return Err(VmError::NoSourceAddress(target.into()));
        };
        self.ns_frame(mac, src, target, target, true)
    }

    /// Sends a UDP datagram from `src_port` to `dst:dst_port`. Returns the frames to put
    /// on the wire: the datagram, or the ARP request / neighbour solicitation for its next
    /// hop (the datagram then waits; nothing is returned when a resolution for that next
    /// hop is already outstanding).
    pub fn send_udp(
        &mut self,
        dst: impl Into<IpAddr>,
        src_port: u16,
        dst_port: u16,
        payload: &[u8],
    ) -> Result<Vec<Vec<u8>>, VmError> {
        self.send_ip(None, dst.into(), ip_proto::UDP, |ep| {
            udp_datagram(ep, src_port, dst_port, payload)
        })
    }

    /// Sends an ICMP echo request (IPv4) or ICMPv6 echo request (IPv6); returns frames as
    /// [`send_udp`](Self::send_udp) does.
    pub fn send_ping(
        &mut self,
        dst: impl Into<IpAddr>,
        id: u16,
        seq: u16,
        data: &[u8],
    ) -> Result<Vec<Vec<u8>>, VmError> {
        let dst = dst.into();
        let protocol = icmp_protocol(dst);
        self.send_ip(None, dst, protocol, |ep| {
            echo_message(ep, true, id, seq, data)
        })
    }

    /// Sends a TCP SYN with sequence number `seq`, window 64240 and an MSS option for the
    /// VM's MTU; returns frames as [`send_udp`](Self::send_udp) does.
    pub fn send_tcp_syn(
        &mut self,
        dst: impl Into<IpAddr>,
        src_port: u16,
        dst_port: u16,
        seq: u32,
    ) -> Result<Vec<Vec<u8>>, VmError> {
        let mtu = self.mtu;
        self.send_ip(None, dst.into(), ip_proto::TCP, |ep| {
            let mss = mtu.saturating_sub(mss_overhead(ep));
            let seg = TcpSegment {
                src_port,
                dst_port,
                seq,
                ack: 0,
                flags: TcpFlags::SYN,
                mss: Some(mss),
            };
            tcp_segment(ep, &seg)
        })
    }

    /// Takes one received frame and returns the frames the VM sends in response (possibly
    /// none). Accepted frames go to the [`inbox`](Self::inbox), refused ones to
    /// [`rejected`](Self::rejected). Never panics, whatever the bytes.
    pub fn receive(&mut self, frame: &[u8]) -> Vec<Vec<u8>> {
        match self.try_receive(frame) {
            Ok(out) => out,
            Err(e) => {
                self.rejected.push(e);
                Vec::new()
            }
        }
    }

    /// As [`receive`](Self::receive), but a refused frame is returned as the error (and not
    /// added to [`rejected`](Self::rejected)).
    pub fn try_receive(&mut self, frame: &[u8]) -> Result<Vec<Vec<u8>>, RxError> {
        let eth = EthernetFrame::parse(frame)?;
        if eth.vlan().is_some() {
            return Err(RxError::VlanTagged);
        }
        let (src_mac, dst_mac) = (eth.src(), eth.dst());
        if !self.accepts_mac(dst_mac) {
            return Err(RxError::NotForUs(dst_mac));
        }
        if src_mac == self.mac {
            return Err(RxError::FromSelf);
        }
        let (message, out) = match eth.ethertype() {
            EtherType::ARP => self.rx_arp(eth.payload())?,
            EtherType::IPV4 => self.rx_ipv4(eth.payload())?,
            EtherType::IPV6 => self.rx_ipv6(src_mac, eth.payload())?,
            other => return Err(RxError::UnsupportedEtherType(other.0)),
        };
        self.inbox.push(InboxEntry {
            src_mac,
            dst_mac,
            message,
            frame: frame.to_vec(),
        });
        Ok(out)
    }

    // ---- receive paths -------------------------------------------------------------

    fn rx_arp(&mut self, payload: &[u8]) -> Result<(Message, Vec<Vec<u8>>), RxError> {
        let arp = ArpPacket::parse(payload)?;
        let (op, sha, spa, tha, tpa) = (
            arp.operation(),
            arp.sender_mac(),
            arp.sender_ip(),
            arp.target_mac(),
            arp.target_ip(),
        );
        let message = Message::Arp {
            op,
            sender_mac: sha,
            sender_ip: spa,
            target_mac: tha,
            target_ip: tpa,
        };
        let for_us = self.owns(tpa);
        let mut out = Vec::new();
        if op == ArpOp::Request && for_us {
            let reply = ArpHeader::new_reply(self.mac, tpa, sha, spa);
            let reply = self.arp_frame(sha, reply).map(|f| vec![f]);
            out = self.respond(reply);
        }
        // RFC 826: update an existing entry from any ARP, create one when we are the target.
        let sender = IpAddr::V4(spa);
        let known = self.neighbors.contains_key(&sender) || self.is_pending(sender);
        if !spa.is_unspecified() && sha.is_unicast() && !self.owns(spa) && (for_us || known) {
            out.extend(self.learn(sender, sha));
        }
        Ok((message, out))
    }

    fn rx_ipv4(&mut self, payload: &[u8]) -> Result<(Message, Vec<Vec<u8>>), RxError> {
        let ip = Ipv4Packet::parse(payload)?;
        if !ip.verify_checksum() {
            return Err(RxError::BadChecksum(Layer::Ipv4));
        }
        if ip.header().is_fragment() {
            return Err(RxError::Fragment);
        }
        let (src, dst) = (ip.header().src(), ip.header().dst());
        let unicast = self.owns(dst);
        let broadcast = dst.is_broadcast()
            || self
                .addrs
                .iter()
                .any(|a| a.directed_broadcast() == Some(dst));
        if !unicast && !broadcast {
            return Err(RxError::NotOurAddress(dst.into()));
        }
        let ep = Endpoints::V4(src, dst);
        let body = ip.payload();
        match ip.header().protocol {
            ip_proto::ICMP => {
                let icmp = Icmpv4Packet::parse(body)?;
                if !icmp.verify_checksum() {
                    return Err(RxError::BadChecksum(Layer::Icmpv4));
                }
                match icmp.kind() {
                    Icmpv4Kind::EchoRequest { id, seq } => {
                        Ok(self.rx_echo_request(ep, unicast, id, seq, icmp.body()))
                    }
                    Icmpv4Kind::EchoReply { id, seq } => {
                        Ok((echo_message_rx(ep, false, id, seq, icmp.body()), Vec::new()))
                    }
                    _ => {
                        let mut rest = icmp.header().rest.to_vec();
                        rest.extend_from_slice(icmp.body());
                        let message = Message::Icmp {
                            src: src.into(),
                            dst: dst.into(),
                            msg_type: icmp.msg_type(),
                            code: icmp.code(),
                            body: rest,
                        };
                        Ok((message, Vec::new()))
                    }
                }
            }
            ip_proto::UDP => Ok((rx_udp(ep, body, ZeroChecksum::Allowed)?, Vec::new())),
            ip_proto::TCP => self.rx_tcp(ep, unicast, body),
            protocol => Ok((
                Message::OtherIp {
                    src: src.into(),
                    dst: dst.into(),
                    protocol,
                },
                Vec::new(),
            )),
        }
    }

    fn rx_ipv6(
        &mut self,
        src_mac: MacAddr,
        payload: &[u8],
    ) -> Result<(Message, Vec<Vec<u8>>), RxError> {
        let ip = Ipv6Packet::parse(payload)?;
        let ul = ip.upper_layer()?;
        if ul.fragment.is_some() {
            return Err(RxError::Fragment);
        }
        let (src, dst) = (ip.header().src(), ip.header().dst());
        let unicast = self.owns(dst);
        let group = dst == ALL_NODES || self.v6_addrs().any(|a| solicited_node(a) == dst);
        if !unicast && !group {
            return Err(RxError::NotOurAddress(dst.into()));
        }
        let body = ip
            .payload()
            .get(ul.offset..)
            .ok_or(RxError::Parse(ParseError::Truncated(Layer::Ipv6Extension)))?;
        let ep = Endpoints::V6(src, dst);
        match ul.protocol {
            ip_proto::ICMPV6 => {
                let icmp = Icmpv6Packet::parse(body)?;
                if !icmp.verify_checksum(src, dst) {
                    return Err(RxError::BadChecksum(Layer::Icmpv6));
                }
                let hop_limit = ip.header().hop_limit;
                match (icmp.msg_type(), icmp.code()) {
                    (icmpv6_type::NEIGHBOR_SOLICIT, 0) => {
                        check_nd_hop_limit(hop_limit)?;
                        let ns = icmp.neighbor_solicit()?;
                        let (target, slla) = (ns.target(), ns.source_link_addr());
                        let message = Message::NeighborSolicit {
                            src,
                            dst,
                            target,
                            source_link_addr: slla,
                        };
                        let out = self.rx_neighbor_solicit(src_mac, src, target, slla);
                        Ok((message, out))
                    }
                    (icmpv6_type::NEIGHBOR_ADVERT, 0) => {
                        check_nd_hop_limit(hop_limit)?;
                        let na = icmp.neighbor_advert()?;
                        let (target, tlla) = (na.target(), na.target_link_addr());
                        let message = Message::NeighborAdvert {
                            src,
                            dst,
                            target,
                            target_link_addr: tlla,
                            solicited: na.is_solicited(),
                            override_: na.is_override(),
                        };
                        let mut out = Vec::new();
                        if let (Some(mac), false) = (tlla, self.owns(target)) {
                            if mac.is_unicast() {
                                out = self.learn(target.into(), mac);
                            }
                        }
                        Ok((message, out))
                    }
                    (icmpv6_type::ECHO_REQUEST, 0) => {
                        let [a, b, c, d] = icmp.rest_of_header();
                        let (id, seq) = (u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d]));
                        let data = icmp.body().get(4..).unwrap_or_default();
                        Ok(self.rx_echo_request(ep, unicast, id, seq, data))
                    }
                    (icmpv6_type::ECHO_REPLY, 0) => {
                        let [a, b, c, d] = icmp.rest_of_header();
                        let (id, seq) = (u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d]));
                        let data = icmp.body().get(4..).unwrap_or_default();
                        Ok((echo_message_rx(ep, false, id, seq, data), Vec::new()))
                    }
                    (msg_type, code) => Ok((
                        Message::Icmp {
                            src: src.into(),
                            dst: dst.into(),
                            msg_type,
                            code,
                            body: icmp.body().to_vec(),
                        },
                        Vec::new(),
                    )),
                }
            }
            ip_proto::UDP => Ok((rx_udp(ep, body, ZeroChecksum::Rejected)?, Vec::new())),
            ip_proto::TCP => self.rx_tcp(ep, unicast, body),
            protocol => Ok((
                Message::OtherIp {
                    src: src.into(),
                    dst: dst.into(),
                    protocol,
                },
                Vec::new(),
            )),
        }
    }

    fn rx_neighbor_solicit(
        &mut self,
        src_mac: MacAddr,
        src: Ipv6Addr,
        target: Ipv6Addr,
        slla: Option<MacAddr>,
    ) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        if src.is_unspecified() {
            // A DAD probe: defend an address we own with an advertisement to all nodes.
            if self.owns(target) {
                let na = self
                    .na_frame(group_mac_v6(ALL_NODES), target, ALL_NODES, target, false)
                    .map(|f| vec![f]);
                out = self.respond(na);
            }
            return out;
        }
        if self.owns(target) {
            let reply_mac = slla.unwrap_or(src_mac);
            let na = self
                .na_frame(reply_mac, target, src, target, true)
                .map(|f| vec![f]);
            out = self.respond(na);
            if let Some(mac) = slla.filter(|m| m.is_unicast()) {
                out.extend(self.learn(src.into(), mac));
            }
        } else if let Some(mac) = slla.filter(|m| m.is_unicast()) {
            if self.neighbors.contains_key(&IpAddr::V6(src)) {
                out.extend(self.learn(src.into(), mac));
            }
        }
        out
    }

    fn rx_echo_request(
        &mut self,
        ep: Endpoints,
        unicast: bool,
        id: u16,
        seq: u16,
        data: &[u8],
    ) -> (Message, Vec<Vec<u8>>) {
        let message = echo_message_rx(ep, true, id, seq, data);
        let mut out = Vec::new();
        // Like most hosts, answer pings to our own addresses, not to broadcasts.
        if unicast {
            let (me, peer) = (ep.dst(), ep.src());
            let protocol = icmp_protocol(peer);
            let reply = self.send_ip(Some(me), peer, protocol, |rep| {
                echo_message(rep, false, id, seq, data)
            });
            out = self.respond(reply);
        }
        (message, out)
    }

    fn rx_tcp(
        &mut self,
        ep: Endpoints,
        unicast: bool,
        body: &[u8],
    ) -> Result<(Message, Vec<Vec<u8>>), RxError> {
        let tcp = TcpPacket::parse(body)?;
        if !tcp.verify_checksum(ep.pseudo(ip_proto::TCP, tcp.segment_len())) {
            return Err(RxError::BadChecksum(Layer::Tcp));
        }
        let (sport, dport, seq, flags) = (tcp.src_port(), tcp.dst_port(), tcp.seq(), tcp.flags());
        let message = Message::Tcp {
            src: SocketAddr::new(ep.src(), sport),
            dst: SocketAddr::new(ep.dst(), dport),
            seq,
            ack: tcp.ack(),
            flags,
            payload: tcp.payload().to_vec(),
        };
        let mut out = Vec::new();
        if unicast && flags.syn() && !flags.ack() && !flags.rst() {
            let seg = if self.tcp_listen.contains(&dport) {
                let isn = self.next_isn;
                self.next_isn = self.next_isn.wrapping_add(ISN_STEP);
                TcpSegment {
                    src_port: dport,
                    dst_port: sport,
                    seq: isn,
                    ack: seq.wrapping_add(1),
                    flags: TcpFlags::SYN | TcpFlags::ACK,
                    mss: Some(self.mtu.saturating_sub(mss_overhead(ep))),
                }
            } else {
                // RFC 9293 §3.10.7.1: a SYN to a closed port gets <SEQ=0><ACK=SEG.SEQ+1><RST,ACK>.
                TcpSegment {
                    src_port: dport,
                    dst_port: sport,
                    seq: 0,
                    ack: seq.wrapping_add(1),
                    flags: TcpFlags::RST | TcpFlags::ACK,
                    mss: None,
                }
            };
            let (me, peer) = (ep.dst(), ep.src());
            let reply = self.send_ip(Some(me), peer, ip_proto::TCP, |rep| tcp_segment(rep, &seg));
            out = self.respond(reply);
        }
        Ok((message, out))
    }

    /// The frames of a response, or none when it could not be built (the error is kept
    /// in [`response_errors`](Self::response_errors)).
    fn respond(&mut self, response: Result<Vec<Vec<u8>>, VmError>) -> Vec<Vec<u8>> {
        response.unwrap_or_else(|e| {
            self.response_errors.push(e);
            Vec::new()
        })
    }

    // ---- sending -------------------------------------------------------------------

    /// Routes, builds and either frames or queues one IP packet. `src` forces the source
    /// address (replies leave from the address that was asked).
    fn send_ip(
        &mut self,
        src: Option<IpAddr>,
        dst: IpAddr,
        protocol: u8,
        l4: impl FnOnce(Endpoints) -> Result<Vec<u8>, VmError>,
    ) -> Result<Vec<Vec<u8>>, VmError> {
        let route = self.route(dst)?;
        let ep = Endpoints::new(src.unwrap_or(route.src), dst)?;
        let segment = l4(ep)?;
        let len = segment.len() + ip_header_len(ep);
        let limit = usize::from(self.mtu);
        if len > limit {
            return Err(VmError::TooLarge { len, limit });
        }
        let Some(next_hop) = route.via.next_hop() else {
            let Via::Group(mac) = route.via else {
                return Err(VmError::NoRoute(dst));
            };
            let (ethertype, packet) = self.ip_packet(ep, protocol, &segment)?;
            return Ok(vec![self.frame(mac, ethertype, &packet)?]);
        };
        if let Some(mac) = self.neighbor(next_hop) {
            let (ethertype, packet) = self.ip_packet(ep, protocol, &segment)?;
            return Ok(vec![self.frame(mac, ethertype, &packet)?]);
        }
        if self.pending.len() >= MAX_PENDING {
            return Err(VmError::QueueFull);
        }
        let outstanding = self.is_pending(next_hop);
        let (ethertype, packet) = self.ip_packet(ep, protocol, &segment)?;
        self.pending.push(Pending {
            next_hop,
            ethertype,
            packet,
        });
        if outstanding {
            return Ok(Vec::new());
        }
        let solicit = match (ep, next_hop) {
            (Endpoints::V4(s, _), IpAddr::V4(t)) => {
                self.arp_frame(MacAddr::BROADCAST, ArpHeader::new_request(self.mac, s, t))?
            }
            (Endpoints::V6(s, _), IpAddr::V6(t)) => {
                let group = solicited_node(t);
                self.ns_frame(group_mac_v6(group), s, group, t, true)?
            }
            _ => return Err(VmError::NoSourceAddress(next_hop)),
        };
        Ok(vec![solicit])
    }

    /// Caches `ip` → `mac` and frames the packets that waited for it.
    fn learn(&mut self, ip: IpAddr, mac: MacAddr) -> Vec<Vec<u8>> {
        self.neighbors.insert(ip, mac);
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|p| p.next_hop == ip);
        self.pending = waiting;
        ready
            .into_iter()
            .filter_map(|p| self.frame(mac, p.ethertype, &p.packet).ok())
            .collect()
    }

    fn is_pending(&self, next_hop: IpAddr) -> bool {
        self.pending.iter().any(|p| p.next_hop == next_hop)
    }

    /// An IPv4 or IPv6 packet around `segment`; takes the next IPv4 identification.
    fn ip_packet(
        &mut self,
        ep: Endpoints,
        protocol: u8,
        segment: &[u8],
    ) -> Result<(EtherType, Vec<u8>), VmError> {
        let limit = usize::from(u16::MAX);
        match ep {
            Endpoints::V4(src, dst) => {
                let total = Ipv4Header::LEN + segment.len();
                let total16 =
                    u16::try_from(total).map_err(|_| VmError::TooLarge { len: total, limit })?;
                let mut buf = vec![0u8; total];
                buf[0] = 0x45;
                buf[2..4].copy_from_slice(&total16.to_be_bytes());
                buf[Ipv4Header::LEN..].copy_from_slice(segment);
                let mut p = Ipv4Packet::parse(&mut buf[..])?;
                let mut h = Ipv4Header::new(src, dst, protocol, segment.len() as u16);
                h.ident.set(self.next_ip_id);
                h.set_dont_fragment(self.dont_fragment);
                h.ttl = DEFAULT_TTL;
                *p.header_mut() = h;
                p.fill_checksum();
                self.next_ip_id = self.next_ip_id.wrapping_add(1);
                Ok((EtherType::IPV4, buf))
            }
            Endpoints::V6(src, dst) => {
                let hop_limit = if protocol == ip_proto::ICMPV6 && is_nd(segment) {
                    ND_HOP_LIMIT
                } else {
                    DEFAULT_TTL
                };
                Ok((
                    EtherType::IPV6,
                    ipv6_packet(src, dst, protocol, hop_limit, segment)?,
                ))
            }
        }
    }

    /// An Ethernet frame from this VM, padded when padding is on.
    fn frame(
        &self,
        dst: MacAddr,
        ethertype: EtherType,
        payload: &[u8],
    ) -> Result<Vec<u8>, VmError> {
        let mut buf = vec![0u8; EthernetHeader::LEN];
        buf.extend_from_slice(payload);
        if self.padding && buf.len() < MIN_FRAME_LEN {
            buf.resize(MIN_FRAME_LEN, 0);
        }
        let mut f = EthernetFrame::parse(&mut buf[..])?;
        *f.header_mut() = EthernetHeader::new(dst, self.mac, ethertype);
        Ok(buf)
    }

    fn arp_frame(&self, dst: MacAddr, arp: ArpHeader) -> Result<Vec<u8>, VmError> {
        let mut buf = vec![0u8; ArpHeader::LEN];
        // Enough of a header for the view's Ethernet/IPv4 check; then the real one.
        buf[..6].copy_from_slice(&[0, 1, 8, 0, 6, 4]);
        let mut p = ArpPacket::parse(&mut buf[..])?;
        *p.header_mut() = arp;
        self.frame(dst, EtherType::ARP, &buf)
    }

    /// A neighbour solicitation frame; `with_slla` adds the source link-layer option.
    fn ns_frame(
        &self,
        dst_mac: MacAddr,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        target: Ipv6Addr,
        with_slla: bool,
    ) -> Result<Vec<u8>, VmError> {
        let option = with_slla.then_some((ndp_option::SOURCE_LINK_ADDR, self.mac));
        let msg = neighbor_message(
            src,
            dst,
            icmpv6_type::NEIGHBOR_SOLICIT,
            NeighborHeader::solicit(target),
            option,
        )?;
        let packet = ipv6_packet(src, dst, ip_proto::ICMPV6, ND_HOP_LIMIT, &msg)?;
        self.frame(dst_mac, EtherType::IPV6, &packet)
    }

    /// A neighbour advertisement (O set; S when `solicited`) with the target link-layer
    /// option.
    fn na_frame(
        &self,
        dst_mac: MacAddr,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        target: Ipv6Addr,
        solicited: bool,
    ) -> Result<Vec<u8>, VmError> {
        let header = NeighborHeader::advert(target, false, solicited, true);
        let msg = neighbor_message(
            src,
            dst,
            icmpv6_type::NEIGHBOR_ADVERT,
            header,
            Some((ndp_option::TARGET_LINK_ADDR, self.mac)),
        )?;
        let packet = ipv6_packet(src, dst, ip_proto::ICMPV6, ND_HOP_LIMIT, &msg)?;
        self.frame(dst_mac, EtherType::IPV6, &packet)
    }

    // ---- addressing ----------------------------------------------------------------

    fn v6_addrs(&self) -> impl Iterator<Item = Ipv6Addr> + '_ {
        self.addrs.iter().filter_map(|a| match a.addr {
            IpAddr::V6(v6) => Some(v6),
            IpAddr::V4(_) => None,
        })
    }

    fn is_on_link(&self, ip: IpAddr) -> bool {
        is_link_local_v6(ip) || self.addrs.iter().any(|a| a.contains(ip))
    }

    /// The source address for talking to `peer`: a link-local one for a link-local peer,
    /// else one whose prefix holds `peer`, else the first of the family.
    fn source_for(&self, peer: IpAddr) -> Result<IpAddr, VmError> {
        let same_family = |a: &&IfAddr| a.addr.is_ipv4() == peer.is_ipv4();
        let link_local = is_link_local_v6(peer)
            .then(|| {
                self.addrs
                    .iter()
                    .find(|a| is_link_local_v6(a.addr))
                    .map(|a| a.addr)
            })
            .flatten();
        link_local
            .or_else(|| self.addrs.iter().find(|a| a.contains(peer)).map(|a| a.addr))
            .or_else(|| self.addrs.iter().find(same_family).map(|a| a.addr))
            .ok_or(VmError::NoSourceAddress(peer))
    }

    /// The group MAC for a broadcast or multicast destination.
    fn group_mac(&self, dst: IpAddr) -> Option<MacAddr> {
        match dst {
            IpAddr::V4(a) if a.is_broadcast() => Some(MacAddr::BROADCAST),
            IpAddr::V4(a) if self.addrs.iter().any(|i| i.directed_broadcast() == Some(a)) => {
                Some(MacAddr::BROADCAST)
            }
            IpAddr::V4(a) if a.is_multicast() => {
                let [_, b, c, d] = a.octets();
                Some(MacAddr([0x01, 0x00, 0x5e, b & 0x7f, c, d]))
            }
            IpAddr::V6(a) if a.is_multicast() => Some(group_mac_v6(a)),
            _ => None,
        }
    }

    /// Own MAC, broadcast, all-nodes, or the solicited-node group of an own IPv6 address.
    fn accepts_mac(&self, dst: MacAddr) -> bool {
        dst == self.mac
            || dst.is_broadcast()
            || dst == group_mac_v6(ALL_NODES)
            || self
                .v6_addrs()
                .any(|a| group_mac_v6(solicited_node(a)) == dst)
    }
}

// ---- free helpers ----------------------------------------------------------------------

fn family_bits(a: IpAddr) -> u8 {
    if a.is_ipv4() {
        32
    } else {
        128
    }
}

fn is_link_local_v6(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xfe80)
}

/// `ff02::1:ffXX:XXXX` for the low 24 bits of `a` (RFC 4291 §2.7.1).
fn solicited_node(a: Ipv6Addr) -> Ipv6Addr {
    let [.., x, y, z] = a.octets();
    Ipv6Addr::from([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, x, y, z])
}

/// `33:33` and the low 32 bits of an IPv6 multicast address (RFC 2464 §7).
fn group_mac_v6(a: Ipv6Addr) -> MacAddr {
    let o = a.octets();
    MacAddr([0x33, 0x33, o[12], o[13], o[14], o[15]])
}

fn icmp_protocol(dst: IpAddr) -> u8 {
    if dst.is_ipv4() {
        ip_proto::ICMP
    } else {
        ip_proto::ICMPV6
    }
}

fn ip_header_len(ep: Endpoints) -> usize {
    match ep {
        Endpoints::V4(..) => Ipv4Header::LEN,
        Endpoints::V6(..) => Ipv6Header::LEN,
    }
}

/// IP and TCP header bytes to subtract from the MTU for the MSS option.
fn mss_overhead(ep: Endpoints) -> u16 {
    (ip_header_len(ep) + TcpHeader::LEN) as u16
}

/// True when an ICMPv6 message is a neighbour-discovery type (hop limit 255).
fn is_nd(message: &[u8]) -> bool {
    matches!(
        message.first(),
        Some(&(icmpv6_type::ROUTER_SOLICIT..=icmpv6_type::REDIRECT))
    )
}

fn check_nd_hop_limit(hop_limit: u8) -> Result<(), RxError> {
    if hop_limit == ND_HOP_LIMIT {
        Ok(())
    } else {
        Err(RxError::BadHopLimit(hop_limit))
    }
}

fn ipv6_packet(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    next_header: u8,
    hop_limit: u8,
    segment: &[u8],
) -> Result<Vec<u8>, VmError> {
    let len = u16::try_from(segment.len()).map_err(|_| VmError::TooLarge {
        len: segment.len() + Ipv6Header::LEN,
        limit: usize::from(u16::MAX) + Ipv6Header::LEN,
    })?;
    let mut buf = vec![0u8; Ipv6Header::LEN];
    buf[0] = 0x60;
    buf[4..6].copy_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(segment);
    let mut p = Ipv6Packet::parse(&mut buf[..])?;
    let mut h = Ipv6Header::new(src, dst, next_header, len);
    h.hop_limit = hop_limit;
    *p.header_mut() = h;
    Ok(buf)
}

fn udp_datagram(
    ep: Endpoints,
    src_port: u16,
    dst_port: u16,
    payload: &[u8],
) -> Result<Vec<u8>, VmError> {
    let len = UdpHeader::LEN + payload.len();
    let len16 = u16::try_from(len).map_err(|_| VmError::TooLarge {
        len: len + ip_header_len(ep),
        limit: usize::from(u16::MAX),
    })?;
    let mut buf = vec![0u8; UdpHeader::LEN];
    buf[4..6].copy_from_slice(&len16.to_be_bytes());
    buf.extend_from_slice(payload);
    let mut u = UdpPacket::parse(&mut buf[..])?;
    *u.header_mut() = UdpHeader::new(src_port, dst_port, payload.len() as u16);
    u.fill_checksum(ep.pseudo(ip_proto::UDP, len));
    Ok(buf)
}

/// The fields of a TCP segment the VM sends (no payload).
struct TcpSegment {
    src_port: u16,
    dst_port: u16,
    seq: u32,
    ack: u32,
    flags: TcpFlags,
    mss: Option<u16>,
}

fn tcp_segment(ep: Endpoints, seg: &TcpSegment) -> Result<Vec<u8>, VmError> {
    let mut buf = vec![0u8; TcpHeader::LEN];
    if let Some(mss) = seg.mss {
        let [hi, lo] = mss.to_be_bytes();
        buf.extend_from_slice(&[2, 4, hi, lo]);
    }
    let words = (buf.len() / 4) as u8;
    buf[12] = words << 4;
    let len = buf.len();
    let mut t = TcpPacket::parse(&mut buf[..])?;
    let mut h = TcpHeader::new(
        seg.src_port,
        seg.dst_port,
        seg.seq,
        seg.ack,
        seg.flags,
        TCP_WINDOW,
    );
    h.set_data_offset(words);
    *t.header_mut() = h;
    t.fill_checksum(ep.pseudo(ip_proto::TCP, len));
    Ok(buf)
}

/// An echo request (`request`) or reply message of the family of `ep`.
fn echo_message(
    ep: Endpoints,
    request: bool,
    id: u16,
    seq: u16,
    data: &[u8],
) -> Result<Vec<u8>, VmError> {
    match ep {
        Endpoints::V4(..) => {
            let mut buf = vec![0u8; Icmpv4Header::LEN];
            buf.extend_from_slice(data);
            let mut p = Icmpv4Packet::parse(&mut buf[..])?;
            *p.header_mut() = if request {
                Icmpv4Header::echo_request(id, seq)
            } else {
                Icmpv4Header::echo_reply(id, seq)
            };
            p.fill_checksum();
            Ok(buf)
        }
        Endpoints::V6(src, dst) => {
            let mut buf = vec![0u8; Icmpv6Header::MIN_MESSAGE_LEN];
            buf.extend_from_slice(data);
            let mut p = Icmpv6Packet::parse(&mut buf[..])?;
            let t = if request {
                icmpv6_type::ECHO_REQUEST
            } else {
                icmpv6_type::ECHO_REPLY
            };
            *p.header_mut() = Icmpv6Header::new(t, 0);
            p.set_echo(id, seq);
            p.fill_checksum(src, dst);
            Ok(buf)
        }
    }
}

fn echo_message_rx(ep: Endpoints, request: bool, id: u16, seq: u16, data: &[u8]) -> Message {
    let (src, dst, data) = (ep.src(), ep.dst(), data.to_vec());
    if request {
        Message::EchoRequest {
            src,
            dst,
            id,
            seq,
            data,
        }
    } else {
        Message::EchoReply {
            src,
            dst,
            id,
            seq,
            data,
        }
    }
}

/// A neighbour solicitation or advertisement message with at most one link-layer address
/// option (`(option type, MAC)`), checksum filled.
fn neighbor_message(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    msg_type: u8,
    header: NeighborHeader,
    option: Option<(u8, MacAddr)>,
) -> Result<Vec<u8>, VmError> {
    let mut buf = vec![0u8; Icmpv6Header::LEN + NeighborHeader::LEN];
    if let Some((t, mac)) = option {
        buf.extend_from_slice(&[t, 1]);
        buf.extend_from_slice(&mac.0);
    }
    let mut p = Icmpv6Packet::parse(&mut buf[..])?;
    *p.header_mut() = Icmpv6Header::new(msg_type, 0);
    if msg_type == icmpv6_type::NEIGHBOR_SOLICIT {
        *p.neighbor_solicit_mut()?.header_mut() = header;
    } else {
        *p.neighbor_advert_mut()?.header_mut() = header;
    }
    p.fill_checksum(src, dst);
    Ok(buf)
}

fn rx_udp(ep: Endpoints, body: &[u8], zero: ZeroChecksum) -> Result<Message, RxError> {
    let udp = UdpPacket::parse(body)?;
    if !udp.verify_checksum(ep.pseudo(ip_proto::UDP, usize::from(udp.length())), zero) {
        return Err(RxError::BadChecksum(Layer::Udp));
    }
    Ok(Message::Udp {
        src: SocketAddr::new(ep.src(), udp.src_port()),
        dst: SocketAddr::new(ep.dst(), udp.dst_port()),
        payload: udp.payload().to_vec(),
    })
}
