//! A protocol-analyzer style, one-line-per-header description of a frame.

use hnv_core::wire::ethernet::{EtherType, EthernetFrame};
use hnv_core::wire::gre::GrePacket;
use hnv_core::wire::ip_proto;
use hnv_core::wire::ipv4::Ipv4Packet;
use hnv_core::wire::ipv6::Ipv6Packet;

/// Prints every header of `frame` that hnv decodes, one per line, each with `indent`.
pub fn print(frame: &[u8], indent: &str) {
    for line in describe(frame) {
        println!("{indent}{line}");
    }
}

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
        EtherType::ARP => out.push("ARP".into()),
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
