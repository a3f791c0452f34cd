#!/usr/bin/env python3
"""Regenerates the seed inputs in fuzz/seeds/<target>/ (checked in; scripts/fuzz passes
them to libFuzzer next to the working corpus so a short CI run starts from well-formed
frames instead of having to discover checksums and NVGRE framing from scratch).

    python3 fuzz/seeds/gen.py

Every seed starts with the target's mode / selector bytes (see the doc comment of each
target). The switch targets' seeds use the hosts, MACs, addresses and VSIDs of
docs/examples/seed-policy.json.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

MAC_A = bytes.fromhex("00155d000001")
MAC_B = bytes.fromhex("00155d000002")
PA_A4, PA_B4 = bytes([192, 168, 4, 11]), bytes([192, 168, 4, 22])
CA_A4, CA_B4 = bytes([10, 0, 0, 5]), bytes([10, 0, 0, 7])
PA_A6 = bytes.fromhex("20010db8000000000000000000000011")
PA_B6 = bytes.fromhex("20010db8000000000000000000000022")
LL_A6 = bytes.fromhex("fe800000000000000215 5dfffe000001".replace(" ", ""))
LL_B6 = bytes.fromhex("fe800000000000000215 5dfffe000002".replace(" ", ""))
SNM_B6 = bytes.fromhex("ff0200000000000000000001ff000002")


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def eth(dst, src, ethertype, payload, vlan=None):
    if vlan is None:
        return dst + src + struct.pack("!H", ethertype) + payload
    return dst + src + struct.pack("!HHH", 0x8100, vlan, ethertype) + payload


def ipv4(src, dst, proto, payload, options=b"", flags_frag=0x4000, tos=0):
    ihl = 5 + len(options) // 4
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, tos, 4 * ihl + len(payload), 1, flags_frag,
                    64, proto, 0, src, dst) + options
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def ipv6(src, dst, nh, payload, tc=0, flow=0x12345, hop=64):
    vtf = 6 << 28 | tc << 20 | flow
    return struct.pack("!IHBB", vtf, len(payload), nh, hop) + src + dst + payload


def pseudo4(src, dst, proto, length):
    return src + dst + struct.pack("!BBH", 0, proto, length)


def pseudo6(src, dst, nh, length):
    return src + dst + struct.pack("!IxxxB", length, nh)


def udp(sport, dport, payload, pseudo):
    h = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0)
    c = csum(pseudo(8 + len(payload)) + h + payload) or 0xFFFF
    return h[:6] + struct.pack("!H", c) + payload


def tcp(sport, dport, flags, options, payload, pseudo):
    off = (20 + len(options)) // 4
    h = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, off << 4, flags, 64240, 0, 0) + options
    c = csum(pseudo(len(h) + len(payload)) + h + payload)
    return h[:16] + struct.pack("!H", c) + h[18:] + payload


def icmp4(t, code, rest, body):
    m = struct.pack("!BBH", t, code, 0) + rest + body
    return m[:2] + struct.pack("!H", csum(m)) + m[4:]


def icmp6(t, code, body, src, dst):
    m = struct.pack("!BBH", t, code, 0) + body
    c = csum(pseudo6(src, dst, 58, len(m)) + m)
    return m[:2] + struct.pack("!H", c) + m[4:]


def arp(op, sha, spa, tha, tpa):
    return struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + sha + spa + tha + tpa


def gre(payload, key=None, seq=None, csum_=None, proto=0x6558):
    flags = (0x8000 if csum_ is not None else 0) | (0x2000 if key is not None else 0) | (
        0x1000 if seq is not None else 0)
    h = struct.pack("!HH", flags, proto)
    if csum_ is not None:
        h += struct.pack("!HH", csum_, 0)
    if key is not None:
        h += struct.pack("!I", key)
    if seq is not None:
        h += struct.pack("!I", seq)
    return h + payload


def nvgre_key(vsid, flow):
    return vsid << 8 | flow


# --- inner frames --------------------------------------------------------------------------
P4 = lambda proto: (lambda n: pseudo4(CA_A4, CA_B4, proto, n))
P6 = lambda proto: (lambda n: pseudo6(LL_A6, LL_B6, proto, n))

TCP_SYN = tcp(51514, 80, 0x02, bytes.fromhex("020405b4 01030307 0101 0402".replace(" ", "")), b"",
              P4(6))
UDP_DNS = udp(53000, 53, b"\xde\xad\xbe\xef", P4(17))
ICMP_ECHO = icmp4(8, 0, struct.pack("!HH", 1, 0x21), b"abcdabcd")
ICMP_FRAG = icmp4(3, 4, struct.pack("!HH", 0, 1458), ipv4(CA_B4, CA_A4, 17, UDP_DNS)[:28])
ARP_REQ = arp(1, MAC_A, CA_A4, b"\0" * 6, CA_B4)
NS = icmp6(135, 0, b"\0\0\0\0" + LL_B6 + b"\x01\x01" + MAC_A, LL_A6, SNM_B6)
NA = icmp6(136, 0, b"\x60\0\0\0" + LL_B6 + b"\x02\x01" + MAC_B, LL_B6, LL_A6)
ECHO6 = icmp6(128, 0, struct.pack("!HH", 7, 1) + b"ping", LL_A6, LL_B6)
UDP6 = udp(546, 547, b"hello", P6(17))
FRAG_HDR = struct.pack("!BBHI", 17, 0, 0x0001, 0xCAFE)
HBH = struct.pack("!BB", 60, 0) + b"\x01\x04\0\0\0\0"
DSTOPT = struct.pack("!BB", 58, 0) + b"\x01\x04\0\0\0\0"

INNER_V4_UDP = eth(MAC_B, MAC_A, 0x0800, ipv4(CA_A4, CA_B4, 17, UDP_DNS))
INNER_V4_TCP = eth(MAC_B, MAC_A, 0x0800, ipv4(CA_A4, CA_B4, 6, TCP_SYN))
INNER_ARP = eth(b"\xff" * 6, MAC_A, 0x0806, ARP_REQ + b"\0" * 18)
INNER_V6_NS = eth(MAC_B, MAC_A, 0x86DD, ipv6(LL_A6, SNM_B6, 58, NS))
INNER_TAGGED = eth(MAC_B, MAC_A, 0x0800, ipv4(CA_A4, CA_B4, 17, UDP_DNS), vlan=10)


def outer4(inner, vsid=5001, flow=0xAB, vlan=None, options=b""):
    return eth(MAC_B, MAC_A, 0x0800,
               ipv4(PA_A4, PA_B4, 47, gre(inner, key=nvgre_key(vsid, flow)), options=options),
               vlan=vlan)


def outer6(inner, vsid=6001, flow=0x42, ext=b"", first=47):
    return eth(MAC_B, MAC_A, 0x86DD,
               ipv6(PA_A6, PA_B6, first, ext + gre(inner, key=nvgre_key(vsid, flow))))


SEEDS = {
    "nvgre_decap": {
        "v4_udp": b"\x00" + outer4(INNER_V4_UDP),
        "v4_vlan_tcp": b"\x04" + outer4(INNER_V4_TCP, vlan=0x2064),
        "v4_options_arp": b"\x08" + outer4(INNER_ARP, options=b"\x01\x01\x01\x00"),
        "v4_padding": b"\x00" + outer4(INNER_ARP, vsid=4096) + b"\0" * 6,
        "v4_inner_tagged": b"\x00" + outer4(INNER_TAGGED),
        "v4_vsid_max": b"\x00" + outer4(INNER_V4_UDP, vsid=16_777_214, flow=0),
        "v6_ns": b"\x00" + outer6(INNER_V6_NS),
        "v6_ext": b"\x10" + outer6(INNER_V4_UDP, ext=struct.pack("!BB", 60, 0) + b"\x01\x04\0\0\0\0"
                                   + struct.pack("!BB", 47, 0) + b"\x01\x04\0\0\0\0", first=0),
        "v6_frag": b"\x00" + outer6(INNER_ARP, ext=struct.pack("!BBHI", 47, 0, 0, 1), first=44),
        "v4_key_seq": b"\x03" + eth(MAC_B, MAC_A, 0x0800, ipv4(
            PA_A4, PA_B4, 47, gre(INNER_V4_UDP, key=nvgre_key(5001, 1), seq=7))),
    },
    "wire_views": {
        # mode 0: dissect from Ethernet.
        "eth_v4_tcp": b"\x00" + INNER_V4_TCP,
        "eth_v4_udp": b"\x10" + INNER_V4_UDP,
        "eth_v4_icmp": b"\x20" + eth(MAC_B, MAC_A, 0x0800, ipv4(CA_A4, CA_B4, 1, ICMP_ECHO)),
        "eth_v4_icmp_frag": b"\x30" + eth(MAC_B, MAC_A, 0x0800, ipv4(CA_B4, CA_A4, 1, ICMP_FRAG)),
        "eth_arp": b"\x00" + INNER_ARP,
        "eth_v6_ns": b"\x00" + INNER_V6_NS,
        "eth_v6_na": b"\x40" + eth(MAC_A, MAC_B, 0x86DD, ipv6(LL_B6, LL_A6, 58, NA)),
        "eth_v6_frag_udp": b"\x00" + eth(MAC_B, MAC_A, 0x86DD, ipv6(LL_A6, LL_B6, 44,
                                                                       FRAG_HDR + UDP6)),
        "eth_v6_ext_echo": b"\x00" + eth(MAC_B, MAC_A, 0x86DD, ipv6(LL_A6, LL_B6, 0,
                                                                       HBH + DSTOPT + ECHO6)),
        "nvgre_v4": b"\x00" + outer4(INNER_V4_TCP, vlan=5),
        "nvgre_v6": b"\x00" + outer6(INNER_V6_NS),
        # mode 1: dissect from IP; mode 2: from GRE; mode 3: L4 chosen by bits 2..=3.
        "ip_v4": b"\x01" + ipv4(CA_A4, CA_B4, 6, TCP_SYN),
        "gre_nvgre": b"\x02" + gre(INNER_V4_UDP, key=nvgre_key(5001, 9)),
        "gre_all": b"\x02" + gre(INNER_ARP, key=1, seq=2, csum_=3),
        "raw_arp": b"\x00" + ARP_REQ,
        "raw_tcp": b"\x03" + TCP_SYN,
        "raw_udp": b"\x07" + UDP_DNS,
        "raw_icmp": b"\x0b" + ICMP_FRAG,
        "raw_ns": b"\x0f" + NS,
        "raw_na": b"\x0f" + NA,
    },
}

# --- switch targets: docs/examples/seed-policy.json ------------------------------------------
# HostA ports: 0 Contoso1, 1 Contoso3, 2 Contoso4, 3 Fabrikam1; HostB: 0 Contoso2,
# 1 Contoso5, 2 Fabrikam2.
CONTOSO1, CONTOSO2 = MAC_A, MAC_B
CONTOSO3 = bytes.fromhex("00155d000003")
CONTOSO4 = bytes.fromhex("00155d000004")
FABRIKAM1, FABRIKAM2 = bytes.fromhex("00155d000101"), bytes.fromhex("00155d000102")
MAC_DFGW = bytes.fromhex("02005e000101")
UPLINK_A, UPLINK_B = bytes.fromhex("020000000a01"), bytes.fromhex("020000000b01")
BCAST = b"\xff" * 6
CA_C3, CA_C4, CA_C5, CA_GW = bytes([10, 0, 0, 6]), bytes([10, 0, 1, 6]), bytes([10, 0, 1, 7]), \
    bytes([10, 0, 0, 1])
NAT_A4, NAT_B4 = bytes([192, 168, 4, 51]), bytes([192, 168, 4, 52])
# A provider host that is no static neighbour of HostA (its MAC is learned from ARP).
PEER_MAC, PEER_PA4 = bytes.fromhex("020000000c01"), bytes([192, 168, 4, 99])
LL_C1 = LL_A6
LL_C2 = LL_B6
SNM_C2 = SNM_B6
V6_UNSPEC = b"\0" * 16


def pad60(frame):
    return frame + b"\0" * max(0, 60 - len(frame))


def udp4(src_mac, dst_mac, src, dst, payload=b"hnv"):
    return eth(dst_mac, src_mac, 0x0800, ipv4(src, dst, 17, udp(40000, 7, payload, lambda n: pseudo4(
        src, dst, 17, n))))


def tcp4(src_mac, dst_mac, src, dst):
    seg = tcp(51514, 443, 0x02, bytes.fromhex("020405b4"), b"", lambda n: pseudo4(src, dst, 6, n))
    return eth(dst_mac, src_mac, 0x0800, ipv4(src, dst, 6, seg))


def arp_frame(op, src_mac, dst_mac, spa, tpa, tha=b"\0" * 6):
    return pad60(eth(dst_mac, src_mac, 0x0806, arp(op, src_mac, spa, tha, tpa)))


def ns_frame(src_mac, src_ip, target, dst_ip, dst_mac):
    opt = b"" if src_ip == V6_UNSPEC else b"\x01\x01" + src_mac
    msg = icmp6(135, 0, b"\0\0\0\0" + target + opt, src_ip, dst_ip)
    return eth(dst_mac, src_mac, 0x86DD, ipv6(src_ip, dst_ip, 58, msg, flow=0, hop=255))


def nvgre4(inner, vsid, src_pa=PA_B4, dst_pa=PA_A4, src_mac=UPLINK_B, dst_mac=UPLINK_A, vlan=None):
    return eth(dst_mac, src_mac, 0x0800, ipv4(src_pa, dst_pa, 47, gre(inner, key=nvgre_key(vsid, 0x5a))),
               vlan=vlan)


def port_seed(frame, port=0, host_b=False, headroom=0, mode=0, then=None):
    """switch_port: selector (bit 7 HostB, bit 6 a port id past the last, bits 0..=5 the
    port), headroom, fix-ups, length, frame, then optionally (selector, fix-ups, second
    frame)."""
    out = bytes([port | (0x80 if host_b else 0), headroom, mode]) + struct.pack("!H", len(frame)) + frame
    if then is not None:
        sel2, frame2 = then
        out += bytes([sel2, 0]) + frame2
    return out


def wire_seed(frame, host_b=False, headroom=0, mode=0, then=None):
    """switch_wire: mode (bit 7 HostB, bits 0..=2 fix-ups), headroom, length, frame, then
    optionally (fix-ups, second frame)."""
    out = bytes([mode | (0x80 if host_b else 0), headroom]) + struct.pack("!H", len(frame)) + frame
    if then is not None:
        out += bytes([0]) + then
    return out


ARP_REMOTE = arp_frame(1, CONTOSO1, BCAST, CA_A4, CA_B4)
UDP_REMOTE = udp4(CONTOSO1, CONTOSO2, CA_A4, CA_B4)
INNER_C2_C1 = udp4(CONTOSO2, CONTOSO1, CA_B4, CA_A4)
ARP_FOR_PA = arp_frame(1, PEER_MAC, BCAST, PEER_PA4, PA_A4)
PING_PA = eth(UPLINK_A, UPLINK_B, 0x0800, ipv4(PA_B4, PA_A4, 1, ICMP_ECHO))

SEEDS["switch_port"] = {
    # Figure 1-9: answered on behalf of the remote VM; then the packet goes out as NVGRE.
    "arp_remote_ca": port_seed(ARP_REMOTE),
    "arp_then_udp": port_seed(ARP_REMOTE, then=(0, UDP_REMOTE)),
    "udp_remote_same_vsid": port_seed(UDP_REMOTE),
    "udp_remote_short_headroom": port_seed(UDP_REMOTE, headroom=0x80 | 40),
    "arp_reply_remote": port_seed(arp_frame(2, CONTOSO1, CONTOSO2, CA_A4, CA_B4, tha=CONTOSO2)),
    # Figure 1-7: local VM, flooded locally / delivered.
    "arp_local_ca": port_seed(arp_frame(1, CONTOSO1, BCAST, CA_A4, CA_C3)),
    "udp_local_same_vsid": port_seed(udp4(CONTOSO1, CONTOSO3, CA_A4, CA_C3)),
    # Figure 1-8 / 1-11: the gateway, routed locally and to HostB.
    "arp_gateway": port_seed(arp_frame(1, CONTOSO1, BCAST, CA_A4, CA_GW)),
    "tcp_routed_local": port_seed(tcp4(CONTOSO1, MAC_DFGW, CA_A4, CA_C4)),
    "udp_routed_remote": port_seed(udp4(CONTOSO1, MAC_DFGW, CA_A4, CA_C5)),
    # IPv6 neighbour discovery: a solicitation (local flood) and DAD (also to HostB).
    "ipv6_ns": port_seed(ns_frame(CONTOSO1, LL_C1, LL_C2, SNM_C2, bytes.fromhex("3333ff000002"))),
    "ipv6_dad": port_seed(ns_frame(CONTOSO1, V6_UNSPEC, LL_C1, bytes.fromhex(
        "ff0200000000000000000001ff000001"), bytes.fromhex("3333ff000001"))),
    "udp_multicast": port_seed(udp4(CONTOSO1, bytes.fromhex("01005e0000fb"), CA_A4,
                                    bytes([224, 0, 0, 251]))),
    # IP rewrite (TranslationMethodNat): Fabrikam1 to Fabrikam2, switched and routed.
    "nat_udp": port_seed(udp4(FABRIKAM1, FABRIKAM2, CA_A4, CA_B4), port=3),
    "nat_tcp_routed": port_seed(tcp4(FABRIKAM1, MAC_DFGW, CA_A4, CA_B4), port=3),
    # A Nat VM's own GRE tunnel (an NVGRE-shaped payload with its own VSID) to Fabrikam2.
    "nat_gre": port_seed(eth(FABRIKAM2, FABRIKAM1, 0x0800, ipv4(CA_A4, CA_B4, 47, gre(
        udp4(FABRIKAM1, FABRIKAM2, CA_A4, CA_B4), key=nvgre_key(7001, 0)))), port=3),
    # Too big once encapsulated: ICMP fragmentation needed from the gateway.
    "udp_too_big": port_seed(udp4(CONTOSO1, CONTOSO2, CA_A4, CA_B4, b"x" * 1452)),
    # HostB's Contoso2 to Contoso1; an unknown port; a spoofed CA.
    "hostb_udp": port_seed(INNER_C2_C1, host_b=True),
    "unknown_port": port_seed(UDP_REMOTE, port=0x45),
    "spoofed_ca": port_seed(udp4(CONTOSO1, CONTOSO2, bytes([10, 0, 0, 9]), CA_B4)),
}

SEEDS["switch_wire"] = {
    # Figure 1-9 / 1-11: NVGRE from HostB's PA to HostA's VMs.
    "nvgre_to_vm": wire_seed(nvgre4(INNER_C2_C1, 5001)),
    "nvgre_vlan_to_vm": wire_seed(nvgre4(INNER_C2_C1, 5001, vlan=7)),
    "nvgre_arp_broadcast": wire_seed(nvgre4(arp_frame(1, CONTOSO2, BCAST, CA_B4, CA_A4), 5001)),
    "nvgre_routed_6001": wire_seed(nvgre4(udp4(MAC_DFGW, CONTOSO4, CA_C5, CA_C4), 6001)),
    "nvgre_not_our_pa": wire_seed(nvgre4(INNER_C2_C1, 5001, dst_pa=bytes([192, 168, 4, 33]))),
    "nvgre_hostb": wire_seed(nvgre4(udp4(CONTOSO1, CONTOSO2, CA_A4, CA_B4), 5001, src_pa=PA_A4,
                                    dst_pa=PA_B4, src_mac=UPLINK_A, dst_mac=UPLINK_B),
                             host_b=True),
    # The provider network: ARP for HostA's PA (request, reply), a ping to the PA.
    "arp_for_pa": wire_seed(ARP_FOR_PA),
    "arp_reply_to_pa": wire_seed(arp_frame(2, PEER_MAC, UPLINK_A, PEER_PA4, PA_A4, tha=UPLINK_A)),
    "icmp_echo_to_pa": wire_seed(PING_PA),
    "arp_then_ping": wire_seed(ARP_FOR_PA, then=PING_PA),
    # IP rewrite ingress: Fabrikam2's PA to Fabrikam1's.
    "nat_udp_in": wire_seed(udp4(UPLINK_B, UPLINK_A, NAT_B4, NAT_A4)),
    "nat_tcp_in": wire_seed(tcp4(UPLINK_B, UPLINK_A, NAT_B4, NAT_A4)),
}



def batch_seed(frames, port=0, headroom=0):
    """switch_batch: port, headroom, then (mode, length, frame) for each frame."""
    out = bytes([port, headroom])
    for mode, frame in frames:
        out += bytes([mode, len(frame)]) + frame
    return out


def picked(n, frame):
    """`frame` with its first two bytes picking extra record `n` (mode bit 3)."""
    return struct.pack("!H", n) + frame[2:]


USUAL = 0x08 | 0x07  # bit 3: made a usual frame; bits 0..=2: lengths and checksums fixed

SEEDS["switch_batch"] = {
    # Usual frames to the extra records, with every other kind of frame in between: the
    # port's own MAC but another CA, another MAC, Contoso2 (a plain seed record), ARP for a
    # remote CA, the gateway, a local VM.
    "usual_and_others": batch_seed([
        (USUAL, picked(7, UDP_REMOTE)),
        (USUAL | 0x20, picked(8, udp4(CONTOSO1, CONTOSO2, bytes([10, 0, 0, 9]), CA_B4))),
        (USUAL | 0x10, picked(9, UDP_REMOTE[:6] + CONTOSO2 + UDP_REMOTE[12:])),
        (0x07, UDP_REMOTE),
        (0, ARP_REMOTE),
        (0x07, udp4(CONTOSO1, MAC_DFGW, CA_A4, CA_C5)),
        (0x07, udp4(CONTOSO1, CONTOSO3, CA_A4, CA_C3)),
        (USUAL, picked(19999, tcp4(CONTOSO1, CONTOSO2, CA_A4, CA_B4))),
    ]),
    # A whole pipeline's worth of usual frames, then some, from Contoso3.
    "usual_many": batch_seed([(USUAL, picked(101 * k, UDP_REMOTE)) for k in range(20)], port=1),
    "usual_short_headroom": batch_seed([(USUAL, picked(5, UDP_REMOTE))] * 3, headroom=0x80 | 40),
}

# --- afxdp_rx: worker count, virtio-net header, frame ---------------------------------------


def vnet(flags=0, gso_type=0, hdr_len=0, gso_size=0, csum_start=0, csum_offset=0):
    return struct.pack("<BBHHHH", flags, gso_type, hdr_len, gso_size, csum_start, csum_offset)


def tcp_super4(src_mac, dst_mac, src, dst, payload):
    """A TCPv4 super-frame as a VM hands it over with TSO: the TCP checksum field holds
    only the pseudo-header sum (NEEDS_CSUM)."""
    h = struct.pack("!HHIIBBHHH", 40000, 5201, 1000, 0, 5 << 4, 0x18, 65535, 0, 0)
    s = sum(struct.unpack("!6H", pseudo4(src, dst, 6, len(h) + len(payload))))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    seg = h[:16] + struct.pack("!H", s) + h[18:] + payload
    return eth(dst_mac, src_mac, 0x0800, ipv4(src, dst, 6, seg))


SUPER = tcp_super4(CONTOSO1, CONTOSO2, CA_A4, CA_B4, bytes(range(256)) * 8)
NEEDS_CSUM, GSO_TCPV4 = 1, 1

SEEDS["afxdp_rx"] = {
    # TSO from a TAP VM: cut into plain TCP segments of 500 payload bytes.
    "tcp4_super_frame": b"\x01" + vnet(NEEDS_CSUM, GSO_TCPV4, 54, 500, 34, 16) + SUPER,
    # The same once the switch encapsulated it: NVGRE segmentation.
    "nvgre_super_frame": b"\x01" + vnet(NEEDS_CSUM, GSO_TCPV4, 54 + 42, 500, 34 + 42, 16)
    + nvgre4(SUPER, 5001, src_pa=PA_A4, dst_pa=PA_B4, src_mac=UPLINK_A, dst_mac=UPLINK_B),
    # An ordinary frame with a partial UDP checksum to complete.
    "udp_needs_csum": b"\x03" + vnet(NEEDS_CSUM, 0, 0, 0, 34, 6) + UDP_REMOTE,
    # The uplink: a provider ARP reply to HostA's PA (snooped).
    "arp_reply_to_pa": b"\x02" + vnet()
    + arp_frame(2, PEER_MAC, UPLINK_A, PEER_PA4, PA_A4, tha=UPLINK_A),
}

for target, seeds in SEEDS.items():
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
