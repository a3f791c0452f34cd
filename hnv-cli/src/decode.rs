//! A protocol-analyzer style, one-line-per-header description of a frame.

use hnv_core::wire::ethernet::{EtherType, EthernetFrame};
use hnv_core::wire::gre::GrePacket;
use hnv_core::wire::ip_proto;
use hnv_core::wire::ipv4::Ipv4Packet;
use hnv_core::wire::ipv6::Ipv6Packet;

/// The header lines of `frame`, outermost first; stops at the first undecodable header.
pub fn describe(frame: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    ethernet(frame, &mut out);
    out
}

fn ethernet(bytes: &[u8], out: &mut Vec<String>) {
    let eth = match EthernetFrame::parse(bytes) {
        Ok(e) => e,
        Err(e) => return out.push(format!("Ethernet: {e}")),
    };
    let vlan = eth
        .vlan()
        .map(|t| format!(", VLAN {}", t.vid()))
        .unwrap_or_default();
    out.push(format!(
        "Ethernet  {} -> {}{vlan}, type 0x{:04x}",
        eth.src(),
        eth.dst(),
        eth.ethertype().0
    ));
    match eth.ethertype() {
        EtherType::IPV4 => ipv4(eth.payload(), out),
        EtherType::IPV6 => ipv6(eth.payload(), out),
        EtherType::ARP => out.push(format!(
            "ARP       {}",
            summary(bytes).trim_start_matches("ARP ")
        )),
        _ => {}
    }
}

fn ipv4(bytes: &[u8], out: &mut Vec<String>) {
    let ip = match Ipv4Packet::parse(bytes) {
        Ok(p) => p,
        Err(e) => return out.push(format!("IPv4: {e}")),
    };
    let h = ip.header();
    out.push(format!(
        "IPv4      {} -> {}, proto {}, len {}, id 0x{:04x}, ttl {}, tos 0x{:02x}{}, checksum 0x{:04x} [{}]",
        h.src(),
        h.dst(),
        h.protocol,
        h.total_len.get(),
        h.ident.get(),
        h.ttl,
        h.tos,
        if h.dont_fragment() { ", DF" } else { "" },
        h.checksum.get(),
        if ip.verify_checksum() { "correct" } else { "WRONG" }
    ));
    upper(h.protocol, ip.payload(), out);
}

fn ipv6(bytes: &[u8], out: &mut Vec<String>) {
    let ip = match Ipv6Packet::parse(bytes) {
        Ok(p) => p,
        Err(e) => return out.push(format!("IPv6: {e}")),
    };
    let h = ip.header();
    out.push(format!(
        "IPv6      {} -> {}, next header {}, payload {}, hop limit {}, flow label 0x{:05x}",
        h.src(),
        h.dst(),
        h.next_header,
        h.payload_len.get(),
        h.hop_limit,
        h.flow_label()
    ));
    if let Ok(ul) = ip.upper_layer() {
        if let Some(rest) = ip.payload().get(ul.offset..) {
            upper(ul.protocol, rest, out);
        }
    }
}

fn upper(protocol: u8, bytes: &[u8], out: &mut Vec<String>) {
    match protocol {
        ip_proto::GRE => gre(bytes, out),
        ip_proto::ICMP | ip_proto::ICMPV6 => {
            if let [t, c, ..] = bytes {
                let name = match (protocol, t) {
                    (ip_proto::ICMP, 8) | (ip_proto::ICMPV6, 128) => " (echo request)",
                    (ip_proto::ICMP, 0) | (ip_proto::ICMPV6, 129) => " (echo reply)",
                    _ => "",
                };
                out.push(format!(
                    "ICMP      type {t}, code {c}{name}, {} bytes",
                    bytes.len()
                ));
            }
        }
        ip_proto::TCP | ip_proto::UDP => {
            if let [a, b, c, d, ..] = bytes {
                let name = if protocol == ip_proto::TCP {
                    "TCP "
                } else {
                    "UDP "
                };
                out.push(format!(
                    "{name}      port {} -> {}",
                    u16::from_be_bytes([*a, *b]),
                    u16::from_be_bytes([*c, *d])
                ));
            }
        }
        _ => {}
    }
}

fn gre(bytes: &[u8], out: &mut Vec<String>) {
    let g = match GrePacket::parse(bytes) {
        Ok(g) => g,
        Err(e) => return out.push(format!("GRE: {e}")),
    };
    let key = g
        .key()
        .map(|k| {
            format!(
                ", key 0x{k:08x} = VSID {} FlowID 0x{:02x}",
                k >> 8,
                k & 0xff
            )
        })
        .unwrap_or_default();
    out.push(format!(
        "GRE       flags+version 0x{:04x}, protocol 0x{:04x}{key}",
        g.header().flags(),
        g.header().protocol().0
    ));
    if g.header().protocol() == EtherType::TRANSPARENT_ETHERNET {
        out.push("  inner frame:".into());
        let mut inner = Vec::new();
        ethernet(g.payload(), &mut inner);
        out.extend(inner.into_iter().map(|l| format!("  {l}")));
    }
}

/// One line saying what `frame` is, as a person would: `ARP who-has 10.0.0.7? tell
/// 10.0.0.5`, `ICMP echo request 10.0.0.5 -> 10.0.0.7`, `NVGRE VSID 5001 …: <inner>`.
pub fn summary(frame: &[u8]) -> String {
    let Ok(eth) = EthernetFrame::parse(frame) else {
        return format!("{} bytes, not an Ethernet frame", frame.len());
    };
    match eth.ethertype() {
        EtherType::ARP => match hnv_core::wire::arp::ArpPacket::parse(eth.payload()) {
            Ok(a) if a.operation() == hnv_core::wire::arp::ArpOp::Request => {
                format!("ARP who-has {}? tell {}", a.target_ip(), a.sender_ip())
            }
            Ok(a) => format!("ARP {} is-at {}", a.sender_ip(), a.sender_mac()),
            Err(e) => format!("ARP: {e}"),
        },
        EtherType::IPV4 => match Ipv4Packet::parse(eth.payload()) {
            Ok(ip) => {
                let h = ip.header();
                ip_summary(
                    h.protocol,
                    &h.src().to_string(),
                    &h.dst().to_string(),
                    ip.payload(),
                )
            }
            Err(e) => format!("IPv4: {e}"),
        },
        EtherType::IPV6 => match Ipv6Packet::parse(eth.payload()) {
            Ok(ip) => {
                let h = ip.header();
                let (proto, rest) = match ip.upper_layer() {
                    Ok(ul) => (
                        ul.protocol,
                        ip.payload().get(ul.offset..).unwrap_or_default(),
                    ),
                    Err(_) => (h.next_header, &[][..]),
                };
                ip_summary(proto, &h.src().to_string(), &h.dst().to_string(), rest)
            }
            Err(e) => format!("IPv6: {e}"),
        },
        t => format!("ethertype 0x{:04x}, {} bytes", t.0, frame.len()),
    }
}

fn ip_summary(protocol: u8, src: &str, dst: &str, l4: &[u8]) -> String {
    let port = |i: usize| {
        l4.get(i..i + 2)
            .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]))
    };
    match protocol {
        ip_proto::GRE => match GrePacket::parse(l4) {
            Ok(g) => {
                let key = g.key().unwrap_or(0);
                format!(
                    "NVGRE {src} -> {dst}, VSID {} FlowID 0x{:02x}: {}",
                    key >> 8,
                    key & 0xff,
                    summary(g.payload())
                )
            }
            Err(e) => format!("GRE {src} -> {dst}: {e}"),
        },
        ip_proto::ICMP | ip_proto::ICMPV6 => {
            let (t, c) = (l4.first().copied(), l4.get(1).copied());
            let what = match (protocol, t, c) {
                (ip_proto::ICMP, Some(8), _) | (ip_proto::ICMPV6, Some(128), _) => {
                    "echo request".to_string()
                }
                (ip_proto::ICMP, Some(0), _) | (ip_proto::ICMPV6, Some(129), _) => {
                    "echo reply".to_string()
                }
                (ip_proto::ICMP, Some(3), Some(4)) => {
                    format!("fragmentation needed, MTU {}", port(6))
                }
                (ip_proto::ICMPV6, Some(2), _) => {
                    let mtu = l4
                        .get(4..8)
                        .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
                    format!("packet too big, MTU {mtu}")
                }
                (ip_proto::ICMPV6, Some(135), _) => "neighbour solicitation".to_string(),
                (ip_proto::ICMPV6, Some(136), _) => "neighbour advertisement".to_string(),
                (_, t, c) => format!("type {} code {}", t.unwrap_or(0), c.unwrap_or(0)),
            };
            let name = if protocol == ip_proto::ICMP {
                "ICMP"
            } else {
                "ICMPv6"
            };
            format!("{name} {what} {src} -> {dst}")
        }
        ip_proto::UDP => format!(
            "UDP {src}:{} -> {dst}:{}, {} bytes of data",
            port(0),
            port(2),
            l4.len().saturating_sub(8)
        ),
        ip_proto::TCP => format!("TCP {src}:{} -> {dst}:{}", port(0), port(2)),
        p => format!("IP protocol {p} {src} -> {dst}"),
    }
}
