//! # hnv-sim
//!
//! An in-memory fabric for hnv: hosts with VM ports, a provider-address network between
//! them, each host running the real hnv-core data path. Tests, the `hnv demo` command and
//! benches drive the same engine through it and record every hop.
//!
//! [`fabric`] is the fabric: hosts running `hnv_core::switch::Switch` over their compiled
//! tables, VMs on their ports, one provider L2 segment between the uplinks; it carries
//! frames and executes verdicts, and records every frame on every link. [`pcap`] reads
//! pcap (microsecond or nanosecond, either byte order) and pcapng captures of Ethernet
//! frames and writes pcap files that Wireshark and tshark open, without dependencies.
//!
//! [`tshark`] reads captures back with tshark, an independent decoder, for tests.
//!
//! [`seed`] is the seed fabric of the packet-flow figures: the example policy with a VM
//! on every port.
//!
//! [`vm`] models the VMs on the ports: a deterministic stack that resolves neighbours with
//! ARP and IPv6 neighbour discovery (including DAD and NUD probes), answers pings and sends
//! UDP datagrams and TCP SYNs with correct checksums, keeping every frame it accepts.

pub mod fabric;
pub mod pcap;
pub mod seed;
pub mod tshark;
pub mod vm;
