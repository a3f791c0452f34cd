#!/usr/bin/env python3
"""Writes the malformed-capture corpus of `hnv pcap` (hnv-cli/tests/pcap.rs) into this
directory. Each file breaks one rule of pcap or pcapng; the test names the message `hnv pcap`
must give for it (exit 1, never a panic).

    python3 hnv-cli/tests/data/pcap/gen.py
"""

import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# A 60-byte Ethernet frame: broadcast, from 00-15-5D-00-00-01, ethertype 0x88b5 (local
# experimental), zero payload.
FRAME = bytes([0xFF] * 6 + [0x00, 0x15, 0x5D, 0x00, 0x00, 0x01, 0x88, 0xB5]) + bytes(46)


def pcap_header(link=1):
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, link)


def pcap_record(data, caplen=None, secs=1, usecs=0):
    caplen = len(data) if caplen is None else caplen
    return struct.pack("<IIII", secs, usecs, caplen, len(data)) + data


def block(btype, body, total=None, tail=None):
    body = body + bytes(-len(body) % 4)
    total = 12 + len(body) if total is None else total
    tail = total if tail is None else tail
    return struct.pack("<II", btype, total) + body + struct.pack("<I", tail)


def shb(bom=0x1A2B3C4D):
    return block(0x0A0D0D0A, struct.pack("<IHHq", bom, 1, 0, -1))


def idb(link=1):
    return block(1, struct.pack("<HHI", link, 0, 0))


def epb(data, caplen=None, iface=0, ts=1_000_000):
    caplen = len(data) if caplen is None else caplen
    body = struct.pack("<IIIII", iface, ts >> 32, ts & 0xFFFFFFFF, caplen, len(data)) + data
    return block(6, body)


FILES = {
    "empty.pcap": b"",
    "short-header.pcap": pcap_header()[:12],
    "not-a-capture.pcap": b"this is a text file, not a capture\n",
    "linktype-raw.pcap": pcap_header(link=101) + pcap_record(FRAME),
    # Frame 0 is whole; frame 1's record claims 60 bytes and the file ends after 20.
    "truncated-record.pcap": pcap_header() + pcap_record(FRAME) + pcap_record(FRAME)[:36],
    "huge-frame.pcap": pcap_header() + struct.pack("<IIII", 1, 0, 0x7FFFFFFF, 0x7FFFFFFF),
    # Section header (28 bytes) and interface (20): the packet block at byte 48 is cut.
    "truncated-block.pcapng": shb() + idb() + epb(FRAME)[:50],
    "bad-byte-order.pcapng": shb(bom=0x01020304) + idb() + epb(FRAME),
    "length-mismatch.pcapng": shb() + idb() + block(6, epb(FRAME)[8:-4], tail=0x200),
    "no-interface.pcapng": shb() + epb(FRAME),
    "huge-block.pcapng": shb() + idb() + struct.pack("<II", 6, 0xFFFFFFF0) + FRAME,
    "linktype-raw.pcapng": shb() + idb(link=101) + epb(FRAME),
    # Frame 0 is whole; frame 1 claims 200 captured bytes in a block holding 60.
    "caplen-beyond-block.pcapng": shb() + idb() + epb(FRAME) + epb(FRAME, caplen=200),
}

if __name__ == "__main__":
    for name, data in FILES.items():
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(data)
