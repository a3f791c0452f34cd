//! # hnv-sim
//!
//! An in-memory fabric for hnv: hosts with VM ports, a provider-address network between
//! them, each host running the real hnv-core data path. Tests, the `hnv demo` command and
//! benches drive the same engine through it and record every hop.
//!
//! Today it holds the capture plumbing every later piece writes through: [`pcap`], a
//! dependency-free reader and writer of classic pcap files (Ethernet link type) that
//! Wireshark and tshark open. The fabric itself arrives with the switch.

pub mod pcap;
