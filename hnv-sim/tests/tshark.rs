//! hnv's NVGRE frames as Wireshark's dissectors (tshark) read them: an independent
//! decoder, not our parser. `scripts/test` installs tshark; without it this test fails.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use etherparse::PacketBuilder;
use hnv_core::buf::{FrameBuf, PacketBuf};
use hnv_core::ids::{FlowId, MacAddr, Vsid};
use hnv_core::nvgre::{self, EncapParams, Underlay};
use hnv_sim::pcap::PcapWriter;

struct Case {
    inner: Vec<u8>,
    params: EncapParams,
}

fn eth_builder() -> etherparse::PacketBuilderStep<etherparse::Ethernet2Header> {
    PacketBuilder::ethernet2([0, 0x15, 0x5d, 0, 0, 1], [0, 0x15, 0x5d, 0, 0, 2])
}

fn cases() -> Vec<Case> {
    let v4 = Underlay::V4 {
        src: Ipv4Addr::new(192, 168, 4, 11),
        dst: Ipv4Addr::new(192, 168, 4, 22),
    };
    let v6 = Underlay::V6 {
        src: "2001:db8:0:4::11".parse::<Ipv6Addr>().unwrap(),
        dst: "2001:db8:0:4::22".parse::<Ipv6Addr>().unwrap(),
    };
    let mac_a = MacAddr([2, 0, 0, 0, 0x0a, 1]);
    let mac_b = MacAddr([2, 0, 0, 0, 0x0b, 1]);
    let p = |vsid: u32, u: Underlay| EncapParams::new(Vsid::new(vsid).unwrap(), mac_a, mac_b, u);

    let mut udp4 = Vec::new();
    eth_builder()
        .ipv4([10, 0, 0, 5], [10, 0, 0, 7], 128)
        .udp(40001, 40002)
        .write(&mut udp4, &[7; 33])
        .unwrap();
    let mut tcp4 = Vec::new();
    eth_builder()
        .ipv4([10, 0, 0, 5], [10, 0, 0, 7], 128)
        .tcp(49152, 80, 1, 8192)
        .syn()
        .write(&mut tcp4, &[])
        .unwrap();
    let mut tcp6 = Vec::new();
    eth_builder()
        .ipv6(
            "fd00::5".parse::<Ipv6Addr>().unwrap().octets(),
            "fd00::7".parse::<Ipv6Addr>().unwrap().octets(),
            64,
        )
        .tcp(40000, 443, 7, 65535)
        .write(&mut tcp6, b"hello over v4 PA")
        .unwrap();
    let mut tagged = udp4[..12].to_vec();
    tagged.extend_from_slice(&[0x81, 0x00, 0x00, 0x0a]);
    tagged.extend_from_slice(&udp4[12..]);
    let arp: Vec<u8> = [
        &[0xff; 6][..],
        &[0, 0x15, 0x5d, 0, 0, 1],
        &[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1],
        &[0, 0x15, 0x5d, 0, 0, 1, 10, 0, 0, 5],
        &[0; 6],
        &[10, 0, 0, 7],
    ]
    .concat();

    let mut fixed_flow = p(0x12_3456, v4);
    fixed_flow.flow_id = Some(FlowId(0xab));
    let mut outer_vlan = p(5001, v6);
    outer_vlan.outer_vlan = Some(100);
    vec![
        Case {
            inner: udp4.clone(),
            params: p(5001, v4),
        },
        Case {
            inner: tcp4,
            params: p(6001, v4),
        },
        Case {
            inner: tcp6.clone(),
            params: p(5001, v4),
        },
        Case {
            inner: udp4.clone(),
            params: p(16_777_214, v6),
        },
        Case {
            inner: tcp6,
            params: outer_vlan,
        },
        Case {
            inner: tagged,
            params: p(5001, v4),
        },
        Case {
            inner: arp,
            params: fixed_flow,
        },
    ]
}

/// tshark's fields for every frame of `pcap`, checksum checking on (`hnv_sim::tshark`).
fn tshark_fields(pcap: &Path, fields: &[&str]) -> Vec<Vec<String>> {
    hnv_sim::tshark::fields(pcap, fields).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn tshark_decodes_hnv_nvgre() {
    let cases = cases();
    let dir = std::env::temp_dir().join(format!("hnv-tshark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pcap = dir.join("nvgre.pcap");
    let mut w = PcapWriter::new(std::fs::File::create(&pcap).unwrap()).unwrap();
    let mut expected_keys = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let mut mem = vec![0u8; nvgre::MAX_OVERHEAD + c.inner.len()];
        mem[nvgre::MAX_OVERHEAD..].copy_from_slice(&c.inner);
        let mut f = FrameBuf::new(&mut mem, nvgre::MAX_OVERHEAD, c.inner.len()).unwrap();
        let e = nvgre::encap(&mut f, &c.params).unwrap();
        expected_keys.push(c.params.vsid.get() << 8 | u32::from(e.flow_id().0));
        w.write_frame(1, i as u32, f.data()).unwrap();
    }
    w.into_inner().unwrap();

    let fields = [
        "gre.flags_and_version",
        "gre.proto",
        "gre.key",
        "ip.checksum.status",
        "ip.proto",
        "ipv6.nxt",
        "vlan.id",
        "eth.type",
        "tcp.checksum.status",
        "udp.checksum.status",
        "_ws.malformed",
    ];
    let rows = tshark_fields(&pcap, &fields);
    assert_eq!(rows.len(), cases.len());
    for (i, (row, case)) in rows.iter().zip(&cases).enumerate() {
        let get = |name: &str| row[fields.iter().position(|f| *f == name).unwrap()].as_str();
        let ctx = format!("frame {i}: {row:?}");
        assert_eq!(get("gre.flags_and_version"), "0x2000", "{ctx}");
        assert_eq!(get("gre.proto"), "0x6558", "{ctx}");
        let key = u32::from_str_radix(get("gre.key").trim_start_matches("0x"), 16).unwrap();
        assert_eq!(key, expected_keys[i], "{ctx}");
        assert_eq!(key >> 8, case.params.vsid.get(), "VSID = key >> 8; {ctx}");
        assert_eq!(get("_ws.malformed"), "", "{ctx}");
        // Every IPv4 header tshark saw (outer, and inner when IPv4) has a good checksum
        // (status 1 = Good, with checking enabled).
        for status in get("ip.checksum.status")
            .split(';')
            .filter(|s| !s.is_empty())
        {
            assert_eq!(status, "1", "IPv4 checksum; {ctx}");
        }
        match case.params.underlay {
            Underlay::V4 { .. } => assert!(get("ip.proto").starts_with("47"), "{ctx}"),
            Underlay::V6 { .. } => assert!(get("ipv6.nxt").starts_with("47"), "{ctx}"),
        }
        // Inner transport checksums survive encapsulation untouched.
        for f in ["tcp.checksum.status", "udp.checksum.status"] {
            let s = get(f);
            assert!(s.is_empty() || s == "1", "{f} {s}; {ctx}");
        }
        // Only the outer VLAN of case 4 may appear; the tagged inner frame (case 5) must
        // have lost its tag (RFC 7637 §3.3).
        let vlans = get("vlan.id");
        match case.params.outer_vlan {
            Some(v) => assert_eq!(vlans, v.to_string(), "{ctx}"),
            None => assert_eq!(vlans, "", "{ctx}"),
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
