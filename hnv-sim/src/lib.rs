//! # hnv-sim
//!
//! An in-memory fabric for hnv: hosts with VM ports, a provider-address network between
//! them, each host running the real hnv-core data path. Tests, the `hnv demo` command and
//! benches drive the same engine through it and record every hop.
//!
//! Today it holds the capture plumbing every later piece writes through: [`pcap`], a
//! dependency-free reader and writer of classic pcap files (Ethernet link type) that
//! Wireshark and tshark open. The fabric itself arrives with the switch.
//!
//! [`vm`] models the VMs on the ports: a deterministic stack that resolves neighbours with
//! ARP and IPv6 neighbour discovery (including DAD and NUD probes), answers pings and sends
//! UDP datagrams and TCP SYNs with correct checksums, keeping every frame it accepts.

pub mod pcap;
pub mod vm;
