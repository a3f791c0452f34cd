//! Descriptor building, validation against capabilities, and the conversions to NDIS,
//! DPDK, AF_XDP and virtio-net, field by field, with every "not expressible" case.
#![allow(clippy::many_single_char_names)]

mod common;

use common::{nvgre_frame, Spec};
use hnv_offload::target::{dpdk, virtio, xdp, Field, NotExpressible, Reason, Target};
use hnv_offload::{
    Checksums, DescError, FrameError, IpIdPolicy, IpVersion, L4Proto, LsoRequest, NicCaps,
    OffloadCaps, TxOffload, TxRequest,
};

fn tcp_opts() -> Vec<u8> {
    // MSS 1460, NOP, NOP, SACK permitted... padded to 8 bytes.
    vec![2, 4, 5, 0xb4, 1, 1, 4, 2]
}

#[test]
fn offsets_of_ipv4_over_ipv4() {
    let f = nvgre_frame(&Spec {
        tcp_options: tcp_opts(),
        ..Spec::default()
    });
    let d = TxOffload::new(&f, &TxRequest::lso(1000)).unwrap();
    assert_eq!(d.outer_l2_len, 14);
    assert_eq!(d.outer_ip, IpVersion::V4);
    assert_eq!(d.outer_l3_len, 20);
    assert_eq!(d.tunnel_len, 8);
    assert_eq!(d.inner_l2_len, 14);
    assert_eq!(d.inner_ip, IpVersion::V4);
    assert_eq!(d.inner_l3_len, 20);
    assert_eq!(d.inner_l4, Some(L4Proto::Tcp));
    assert_eq!(d.inner_l4_len, 28);
    assert!(d.tcp_options);
    assert_eq!(d.inner_frame_offset(), 42);
    assert_eq!(d.inner_l3_offset(), 56);
    assert_eq!(d.inner_l4_offset(), 76);
    assert_eq!(d.header_len(), 104);
    assert_eq!(d.payload_len, 3000);
    assert_eq!(d.frame_len as usize, f.len());
    assert_eq!(d.segments(), 3);
    assert_eq!(d.vsid.get(), 5001);
    // The FlowID in the key is hnv-core's hash of the inner frame.
    assert_eq!(d.flow_id, hnv_offload::flow::flow_id_of(&f[42..]));
    assert_eq!(d.checksums, Checksums::ALL);
}

#[test]
fn offsets_of_ipv6_over_ipv6_with_vlan_and_ext_header() {
    let f = nvgre_frame(&Spec {
        outer_v6: true,
        inner_v6: true,
        outer_vlan: Some(100),
        ext_header: true,
        ..Spec::default()
    });
    let d = TxOffload::new(&f, &TxRequest::lso(1400)).unwrap();
    assert_eq!(d.outer_l2_len, 18);
    assert_eq!(d.outer_ip, IpVersion::V6);
    assert_eq!(d.outer_l3_len, 40);
    assert_eq!(d.inner_l3_len, 48);
    assert!(d.inner_ip_options);
    assert_eq!(d.inner_frame_offset(), 66);
    // LSO over IPv6 implies only the transport checksum.
    assert_eq!(d.checksums, Checksums::INNER_L4);
    let need = d.required_caps();
    assert!(need.contains(
        OffloadCaps::LSO_INNER_TCP6 | OffloadCaps::OUTER_IPV6 | OffloadCaps::IPV6_EXT_HEADERS
    ));
    assert!(!need.contains(OffloadCaps::LSO_INNER_TCP4));
}

#[test]
fn request_errors() {
    let v6 = nvgre_frame(&Spec {
        outer_v6: true,
        inner_v6: true,
        ..Spec::default()
    });
    assert_eq!(
        TxOffload::new(&v6, &TxRequest::checksums(Checksums::OUTER_IPV4)),
        Err(DescError::NoIpv4Header)
    );
    assert_eq!(
        TxOffload::new(&v6, &TxRequest::checksums(Checksums::INNER_IPV4)),
        Err(DescError::NoIpv4Header)
    );
    let udp = nvgre_frame(&Spec {
        udp: true,
        ..Spec::default()
    });
    assert_eq!(
        TxOffload::new(&udp, &TxRequest::lso(1000)),
        Err(DescError::LsoNotTcp)
    );
    let f = nvgre_frame(&Spec::default());
    assert_eq!(
        TxOffload::new(&f, &TxRequest::lso(0)),
        Err(DescError::LsoZeroMss)
    );
    for flag in [0x02u8, 0x04, 0x20] {
        let f = nvgre_frame(&Spec {
            flags: 0x10 | flag,
            ..Spec::default()
        });
        assert_eq!(
            TxOffload::new(&f, &TxRequest::lso(1000)),
            Err(DescError::LsoControlFlags)
        );
    }
    // A non-NVGRE frame: the inner frame alone.
    let inner = common::inner_frame(&Spec::default());
    assert_eq!(
        TxOffload::new(&inner, &TxRequest::lso(1000)),
        Err(DescError::Frame(FrameError::NotGre))
    );
    // Truncation anywhere is a typed error.
    for cut in 0..f.len() - 3000 {
        assert!(
            TxOffload::new(&f[..cut], &TxRequest::lso(1000)).is_err(),
            "cut {cut}"
        );
    }
}

#[test]
fn validation_against_caps() {
    let f = nvgre_frame(&Spec {
        tcp_options: tcp_opts(),
        ..Spec::default()
    });
    let d = TxOffload::new(&f, &TxRequest::lso(1000)).unwrap();
    assert_eq!(d.validate(&NicCaps::SOFTWARE), Ok(()));
    let mut caps = NicCaps::SOFTWARE;
    caps.offloads = caps.offloads.difference(OffloadCaps::LSO_TCP_OPTIONS);
    assert_eq!(
        d.validate(&caps),
        Err(DescError::Unsupported(OffloadCaps::LSO_TCP_OPTIONS))
    );
    let mut caps = NicCaps::SOFTWARE;
    caps.lso_max_size = 2000;
    assert_eq!(
        d.validate(&caps),
        Err(DescError::LsoTooLarge {
            len: f.len(),
            max: 2000
        })
    );
    let mut caps = NicCaps::SOFTWARE;
    caps.lso_min_segments = 4;
    assert_eq!(
        d.validate(&caps),
        Err(DescError::LsoTooFewSegments {
            segments: 3,
            min: 4
        })
    );
    caps.lso_min_segments = 1;
    caps.lso_max_segments = 2;
    assert_eq!(
        d.validate(&caps),
        Err(DescError::LsoTooManySegments {
            segments: 3,
            max: 2
        })
    );
    assert!(matches!(
        d.validate(&NicCaps::NONE),
        Err(DescError::Unsupported(c)) if c.contains(OffloadCaps::LSO_INNER_TCP4 | OffloadCaps::OUTER_IPV4_CSUM)
    ));
    // Checksum-only UDP over IPv6 inner needs exactly the UDPv6 checksum feature.
    let u = nvgre_frame(&Spec {
        udp: true,
        inner_v6: true,
        ..Spec::default()
    });
    let d = TxOffload::new(&u, &TxRequest::checksums(Checksums::INNER_L4)).unwrap();
    assert_eq!(d.required_caps(), OffloadCaps::INNER_UDP6_CSUM);
}

#[test]
fn ndis_fields() {
    let f = nvgre_frame(&Spec {
        tcp_options: tcp_opts(),
        ..Spec::default()
    });
    let d = TxOffload::new(&f, &TxRequest::lso(1000)).unwrap();
    let n = d.to_ndis().unwrap();
    assert!(n.offsets.is_encapsulated_packet);
    assert!(n.offsets.encapsulated_packet_offsets_valid);
    assert_eq!(n.offsets.inner_frame_offset, 42);
    assert_eq!(n.offsets.transport_ip_header_relative_offset, 14);
    assert_eq!(n.offsets.tcp_header_relative_offset, 20);
    assert!(!n.offsets.is_inner_ipv6);
    assert!(n.offsets.tcp_options_present);
    // Bits: 1 | 1<<1 | 42<<2 | 14<<10 | 20<<16 | 0<<26 | 1<<27.
    assert_eq!(
        n.offsets.to_bits(),
        1 | 1 << 1 | 42 << 2 | 14 << 10 | 20 << 16 | 1 << 27
    );
    let c = n.checksum.unwrap();
    assert!(c.is_ipv4 && !c.is_ipv6 && c.tcp_checksum && !c.udp_checksum && c.ip_header_checksum);
    let l = n.lso.unwrap();
    assert_eq!(l.mss, 1000);
    assert_eq!(l.ip_version, IpVersion::V4);
    assert_eq!(n.vsid, 5001);

    let u6 = nvgre_frame(&Spec {
        udp: true,
        inner_v6: true,
        outer_v6: true,
        ..Spec::default()
    });
    let d = TxOffload::new(&u6, &TxRequest::checksums(Checksums::INNER_L4)).unwrap();
    let n = d.to_ndis().unwrap();
    assert_eq!(n.offsets.inner_frame_offset, 62);
    assert_eq!(n.offsets.tcp_header_relative_offset, 40);
    assert!(n.offsets.is_inner_ipv6);
    let c = n.checksum.unwrap();
    assert!(!c.is_ipv4 && c.is_ipv6 && !c.tcp_checksum && c.udp_checksum && !c.ip_header_checksum);
    assert_eq!(n.lso, None);
    // No checksum asked: no checksum info.
    let d = TxOffload::new(&u6, &TxRequest::default()).unwrap();
    assert_eq!(d.to_ndis().unwrap().checksum, None);
}

#[test]
fn ndis_not_expressible() {
    let f = nvgre_frame(&Spec::default());
    let e = |reason| NotExpressible {
        target: Target::Ndis,
        reason,
    };
    let d = TxOffload::new(&f, &TxRequest::checksums(Checksums::OUTER_IPV4)).unwrap();
    assert_eq!(d.to_ndis(), Err(e(Reason::SeparateIpChecksums)));
    let d = TxOffload::new(&f, &TxRequest::checksums(Checksums::INNER_IPV4)).unwrap();
    assert_eq!(d.to_ndis(), Err(e(Reason::SeparateIpChecksums)));
    let mut r = TxRequest::lso(1000);
    r.lso = Some(LsoRequest {
        ip_id: IpIdPolicy::Fixed,
        ..LsoRequest::new(1000)
    });
    let d = TxOffload::new(&f, &r).unwrap();
    assert_eq!(d.to_ndis(), Err(e(Reason::FixedIpId)));
    r.lso = Some(LsoRequest {
        outer_ip_id: IpIdPolicy::Fixed,
        ..LsoRequest::new(1000)
    });
    let d = TxOffload::new(&f, &r).unwrap();
    assert_eq!(d.to_ndis(), Err(e(Reason::FixedIpId)));
    assert_eq!(
        d.to_dpdk_mbuf().map(|_| ()),
        Err(NotExpressible {
            target: Target::DpdkMbuf,
            reason: Reason::FixedIpId
        })
    );
    // An inner frame offset beyond 8 bits (the fields are public; a descriptor for an
    // outer header with long IPv6 extension headers looks like this).
    let mut d = TxOffload::new(&f, &TxRequest::checksums(Checksums::INNER_L4)).unwrap();
    d.outer_l3_len = 300;
    assert_eq!(
        d.to_ndis(),
        Err(e(Reason::FieldTooWide {
            field: Field::InnerFrameOffset,
            value: 322,
            max: 255
        }))
    );
    let mut d = TxOffload::new(&f, &TxRequest::checksums(Checksums::INNER_L4)).unwrap();
    d.inner_l3_len = 1100;
    assert_eq!(
        d.to_ndis(),
        Err(e(Reason::FieldTooWide {
            field: Field::TcpHeaderRelativeOffset,
            value: 1100,
            max: 1023
        }))
    );
    let mut d = TxOffload::new(&f, &TxRequest::checksums(Checksums::INNER_L4)).unwrap();
    d.inner_l2_len = 64;
    assert!(matches!(
        d.to_ndis(),
        Err(NotExpressible {
            reason: Reason::FieldTooWide {
                field: Field::TransportIpHeaderRelativeOffset,
                ..
            },
            ..
        })
    ));
}

#[test]
fn dpdk_fields() {
    let f = nvgre_frame(&Spec {
        outer_vlan: Some(7),
        tcp_options: tcp_opts(),
        ..Spec::default()
    });
    let d = TxOffload::new(&f, &TxRequest::lso(1000)).unwrap();
    let m = d.to_dpdk_mbuf().unwrap();
    assert_eq!(m.outer_l2_len, 18);
    assert_eq!(m.outer_l3_len, 20);
    assert_eq!(m.l2_len, 22);
    assert_eq!(m.l3_len, 20);
    assert_eq!(m.l4_len, 28);
    assert_eq!(m.tso_segsz, 1000);
    assert_eq!(
        m.ol_flags,
        dpdk::TX_TUNNEL_GRE
            | dpdk::TX_OUTER_IPV4
            | dpdk::TX_OUTER_IP_CKSUM
            | dpdk::TX_IPV4
            | dpdk::TX_IP_CKSUM
            | dpdk::TX_TCP_CKSUM
            | dpdk::TX_TCP_SEG
    );
    // Values of rte_mbuf_core.h (DPDK 22.11).
    assert_eq!(dpdk::TX_TUNNEL_GRE, 0x0000_4000_0000_0000);
    assert_eq!(dpdk::TX_TCP_SEG, 0x0004_0000_0000_0000);
    assert_eq!(dpdk::TX_UDP_CKSUM, 0x0030_0000_0000_0000);
    assert_eq!(dpdk::TX_OUTER_IPV6, 0x1000_0000_0000_0000);

    let u = nvgre_frame(&Spec {
        udp: true,
        inner_v6: true,
        outer_v6: true,
        ..Spec::default()
    });
    let d = TxOffload::new(&u, &TxRequest::checksums(Checksums::INNER_L4)).unwrap();
    let m = d.to_dpdk_mbuf().unwrap();
    assert_eq!(
        m.ol_flags,
        dpdk::TX_TUNNEL_GRE | dpdk::TX_OUTER_IPV6 | dpdk::TX_IPV6 | dpdk::TX_UDP_CKSUM
    );
    assert_eq!(
        (m.outer_l2_len, m.outer_l3_len, m.l2_len, m.l3_len, m.l4_len),
        (14, 40, 22, 40, 8)
    );
    assert_eq!(m.tso_segsz, 0);
}

#[test]
fn dpdk_not_expressible() {
    let f = nvgre_frame(&Spec::default());
    let e = |reason| NotExpressible {
        target: Target::DpdkMbuf,
        reason,
    };
    let mut d = TxOffload::new(&f, &TxRequest::lso(1000)).unwrap();
    d.outer_l3_len = 600;
    assert_eq!(
        d.to_dpdk_mbuf(),
        Err(e(Reason::FieldTooWide {
            field: Field::OuterL3Len,
            value: 600,
            max: 511
        }))
    );
    let mut d = TxOffload::new(&f, &TxRequest::lso(1000)).unwrap();
    d.inner_l3_len = 512;
    assert!(matches!(
        d.to_dpdk_mbuf(),
        Err(NotExpressible {
            reason: Reason::FieldTooWide {
                field: Field::L3Len,
                ..
            },
            ..
        })
    ));
    let mut d = TxOffload::new(&f, &TxRequest::lso(1000)).unwrap();
    d.outer_l2_len = 128;
    assert!(matches!(
        d.to_dpdk_mbuf(),
        Err(NotExpressible {
            reason: Reason::FieldTooWide {
                field: Field::OuterL2Len,
                ..
            },
            ..
        })
    ));
    let mut d = TxOffload::new(&f, &TxRequest::lso(1000)).unwrap();
    d.inner_l2_len = 120;
    assert!(matches!(
        d.to_dpdk_mbuf(),
        Err(NotExpressible {
            reason: Reason::FieldTooWide {
                field: Field::L2Len,
                ..
            },
            ..
        })
    ));
    let mut d = TxOffload::new(&f, &TxRequest::lso(1000)).unwrap();
    d.inner_l4_len = 256;
    assert!(matches!(
        d.to_dpdk_mbuf(),
        Err(NotExpressible {
            reason: Reason::FieldTooWide {
                field: Field::L4Len,
                ..
            },
            ..
        })
    ));
    let mut r = TxRequest::lso(1000);
    r.lso = Some(LsoRequest {
        ip_id: IpIdPolicy::Fixed,
        ..LsoRequest::new(1000)
    });
    assert_eq!(
        TxOffload::new(&f, &r).unwrap().to_dpdk_mbuf(),
        Err(e(Reason::FixedIpId))
    );
}

#[test]
fn xdp_and_virtio_fields() {
    let f = nvgre_frame(&Spec::default());
    let d = TxOffload::new(&f, &TxRequest::checksums(Checksums::INNER_L4)).unwrap();
    let m = d.to_xsk_tx_metadata().unwrap();
    assert_eq!(m.flags, xdp::XDP_TXMD_FLAGS_CHECKSUM);
    assert_eq!(m.flags, 2);
    assert_eq!(m.csum_start, 76);
    assert_eq!(m.csum_offset, 16);
    let v = d.to_virtio_net_hdr().unwrap();
    assert_eq!(v.flags, virtio::F_NEEDS_CSUM);
    assert_eq!(v.gso_type, virtio::GSO_NONE);
    assert_eq!(
        (v.csum_start, v.csum_offset, v.hdr_len, v.gso_size),
        (76, 16, 96, 0)
    );
    assert_eq!(v.to_bytes(), [1, 0, 96, 0, 0, 0, 76, 0, 16, 0]);

    let u = nvgre_frame(&Spec {
        udp: true,
        outer_v6: true,
        ..Spec::default()
    });
    let d = TxOffload::new(&u, &TxRequest::checksums(Checksums::INNER_L4)).unwrap();
    let m = d.to_xsk_tx_metadata().unwrap();
    assert_eq!((m.csum_start, m.csum_offset), (96, 6));
    let v = d.to_virtio_net_hdr().unwrap();
    assert_eq!((v.csum_start, v.csum_offset, v.hdr_len), (96, 6, 104));
    // Nothing asked: no request.
    let d = TxOffload::new(&u, &TxRequest::default()).unwrap();
    assert_eq!(d.to_xsk_tx_metadata().unwrap().flags, 0);
    assert_eq!(d.to_virtio_net_hdr().unwrap().flags, 0);
}

#[test]
fn xdp_and_virtio_not_expressible() {
    let f = nvgre_frame(&Spec::default());
    for (target, conv) in [
        (
            Target::AfXdp,
            (|d: &TxOffload| d.to_xsk_tx_metadata().map(|_| ()))
                as fn(&TxOffload) -> Result<(), NotExpressible>,
        ),
        (Target::VirtioNet, |d: &TxOffload| {
            d.to_virtio_net_hdr().map(|_| ())
        }),
    ] {
        let e = |reason| Err(NotExpressible { target, reason });
        let d = TxOffload::new(&f, &TxRequest::lso(1000)).unwrap();
        assert_eq!(conv(&d), e(Reason::Lso));
        let d = TxOffload::new(&f, &TxRequest::checksums(Checksums::OUTER_IPV4)).unwrap();
        assert_eq!(conv(&d), e(Reason::OuterIpv4Checksum));
        let d = TxOffload::new(
            &f,
            &TxRequest::checksums(Checksums::INNER_IPV4 | Checksums::INNER_L4),
        )
        .unwrap();
        assert_eq!(conv(&d), e(Reason::InnerIpv4Checksum));
    }
}
