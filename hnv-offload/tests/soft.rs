//! The software NIC: checksum fill and seed checks, LSO policies, RSS branches, VMQ and
//! receive checksum flags.
#![allow(clippy::many_single_char_names)]

mod common;

use common::{ipv4_ok, l4_ok, nvgre_frame, Spec};
use hnv_core::ids::{MacAddr, Vsid};
use hnv_offload::soft::csum::{fill_checksums, write_seeds, ChecksumMode, SeedCheck};
use hnv_offload::soft::lso::{output_len, segment};
use hnv_offload::soft::rss::{toeplitz_reference, HashType, Rss, MS_VERIFICATION_KEY};
use hnv_offload::soft::rx::{rx_checksums, CsumStatus};
use hnv_offload::soft::vmq::{VmqError, VmqFilter};
use hnv_offload::{
    Checksums, CwrPolicy, ExecError, IdWrap, IpIdPolicy, LsoRequest, NicCaps, OffloadCaps, SoftNic,
    TxOffload, TxRequest,
};

fn zero_all_checksums(f: &mut [u8], d: &TxOffload) {
    f[d.outer_l3_offset() + 10..d.outer_l3_offset() + 12].fill(0);
    f[d.inner_l3_offset() + 10..d.inner_l3_offset() + 12].fill(0);
    let c = d.inner_l4_csum_offset().unwrap();
    f[c..c + 2].fill(0xaa);
}

#[test]
fn checksum_fill_hardware_mode_with_correct_seeds() {
    for (udp, inner_v6) in [(false, false), (true, false), (false, true), (true, true)] {
        let orig = nvgre_frame(&Spec {
            udp,
            inner_v6,
            payload: vec![0x5a; 333],
            ..Spec::default()
        });
        let d = TxOffload::build(
            &orig,
            &TxRequest::checksums(Checksums::ALL.difference(if inner_v6 {
                Checksums::INNER_IPV4
            } else {
                Checksums::empty()
            })),
            &NicCaps::SOFTWARE,
        )
        .unwrap();
        let mut f = orig.clone();
        zero_all_checksums(&mut f, &d);
        write_seeds(&mut f, &d).unwrap();
        assert_ne!(f, orig);
        let r = fill_checksums(&mut f, &d, ChecksumMode::Hardware).unwrap();
        assert_eq!(r.seed, SeedCheck::Ok);
        assert!(r.ip_fields_were_zero);
        // Back to the frame hnv-core and the builder made with valid checksums.
        assert_eq!(f, orig, "udp {udp} v6 {inner_v6}");
    }
}

#[test]
fn wrong_seed_is_reported_and_breaks_only_hardware_mode() {
    let orig = nvgre_frame(&Spec::default());
    let d = TxOffload::new(&orig, &TxRequest::checksums(Checksums::ALL)).unwrap();
    let mut f = orig.clone();
    zero_all_checksums(&mut f, &d); // 0xaaaa in the TCP field: a wrong seed
    let mut g = f.clone();
    let r = fill_checksums(&mut f, &d, ChecksumMode::Hardware).unwrap();
    assert!(matches!(r.seed, SeedCheck::Wrong { found: 0xaaaa, .. }));
    let (l3, l4) = (d.inner_l3_offset(), d.inner_l4_offset());
    assert!(!l4_ok(&f, l3, l4, f.len(), 6));
    assert!(ipv4_ok(&f, 14) && ipv4_ok(&f, l3));
    let r = fill_checksums(&mut g, &d, ChecksumMode::Complete).unwrap();
    assert!(matches!(r.seed, SeedCheck::Wrong { found: 0xaaaa, .. }));
    assert_eq!(g, orig);
    // A non-zero IP checksum field is reported.
    let mut h = orig.clone();
    let r = fill_checksums(&mut h, &d, ChecksumMode::Complete).unwrap();
    assert!(!r.ip_fields_were_zero);
    assert_eq!(h, orig);
}

#[test]
fn softnic_refuses_what_its_caps_lack() {
    let f = nvgre_frame(&Spec::default());
    let d = TxOffload::new(&f, &TxRequest::lso(1000)).unwrap();
    let mut caps = NicCaps::SOFTWARE;
    caps.offloads = caps.offloads.difference(OffloadCaps::LSO_INNER_TCP4);
    let nic: SoftNic = SoftNic::new(caps, 1);
    let mut out = vec![0u8; output_len(&d)];
    assert!(matches!(
        nic.segment(&f, &d, &mut out),
        Err(ExecError::Desc(_))
    ));
    let mut small = vec![0u8; output_len(&d) - 1];
    assert_eq!(
        segment(&f, &d, &mut small).err(),
        Some(ExecError::OutputTooSmall {
            needed: output_len(&d)
        })
    );
    let c = TxOffload::new(&f, &TxRequest::checksums(Checksums::ALL)).unwrap();
    assert_eq!(segment(&f, &c, &mut out).err(), Some(ExecError::NotLso));
    // A descriptor edited to lie about the frame is refused, not obeyed.
    let mut bad = d;
    bad.frame_len += 1;
    assert_eq!(
        segment(&f, &bad, &mut out).err(),
        Some(ExecError::FrameMismatch)
    );
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn lso_with(spec: &Spec, req: LsoRequest) -> (TxOffload, Vec<Vec<u8>>) {
    let f = nvgre_frame(spec);
    let d = TxOffload::build(
        &f,
        &TxRequest {
            checksums: Checksums::ALL,
            lso: Some(req),
        },
        &NicCaps::SOFTWARE,
    )
    .unwrap();
    let mut out = vec![0u8; output_len(&d)];
    let (segs, _) = segment(&f, &d, &mut out).unwrap();
    (d, segs.iter().map(<[u8]>::to_vec).collect())
}

#[test]
fn ip_id_policies() {
    let spec = Spec {
        inner_id: 0x7ffe,
        outer_id: 0xfffe,
        payload: vec![1; 4000],
        ..Spec::default()
    };
    let ids = |segs: &[Vec<u8>], at: usize| segs.iter().map(|s| be16(s, at)).collect::<Vec<_>>();
    let (d, s) = lso_with(&spec, LsoRequest::new(1000));
    assert_eq!(
        ids(&s, d.inner_l3_offset() + 4),
        [0x7ffe, 0x7fff, 0x8000, 0x8001]
    );
    assert_eq!(ids(&s, 18), [0xfffe, 0xffff, 0x0000, 0x0001]);
    let (d, s) = lso_with(
        &spec,
        LsoRequest {
            id_wrap: IdWrap::Bits15,
            ..LsoRequest::new(1000)
        },
    );
    assert_eq!(
        ids(&s, d.inner_l3_offset() + 4),
        [0x7ffe, 0x7fff, 0x0000, 0x0001]
    );
    assert_eq!(ids(&s, 18), [0xfffe, 0xffff, 0x8000, 0x8001]);
    let (d, s) = lso_with(
        &spec,
        LsoRequest {
            ip_id: IpIdPolicy::Fixed,
            ..LsoRequest::new(1000)
        },
    );
    assert_eq!(ids(&s, d.inner_l3_offset() + 4), [0x7ffe; 4]);
    assert_eq!(ids(&s, 18), [0xfffe, 0xffff, 0x0000, 0x0001]);
    let (d, s) = lso_with(
        &spec,
        LsoRequest {
            ip_id: IpIdPolicy::Fixed,
            outer_ip_id: IpIdPolicy::Fixed,
            ..LsoRequest::new(1000)
        },
    );
    assert_eq!(ids(&s, d.inner_l3_offset() + 4), [0x7ffe; 4]);
    assert_eq!(ids(&s, 18), [0xfffe; 4]);
    for seg in &s {
        assert!(ipv4_ok(seg, 14) && ipv4_ok(seg, d.inner_l3_offset()));
    }
}

#[test]
fn tcp_flag_policies() {
    // CWR | ECE | ACK | PSH | FIN.
    let spec = Spec {
        flags: 0x80 | 0x40 | 0x10 | 0x08 | 0x01,
        payload: vec![2; 2500],
        ..Spec::default()
    };
    let flags = |d: &TxOffload, s: &[Vec<u8>]| {
        s.iter()
            .map(|x| x[d.inner_l4_offset() + 13])
            .collect::<Vec<_>>()
    };
    let (d, s) = lso_with(&spec, LsoRequest::new(1000));
    assert_eq!(flags(&d, &s), [0xd0, 0x50, 0xd9 & !0x80]);
    let (d, s) = lso_with(
        &spec,
        LsoRequest {
            cwr: CwrPolicy::Every,
            ..LsoRequest::new(1000)
        },
    );
    assert_eq!(flags(&d, &s), [0xd0, 0xd0, 0xd9]);
    // Sequence numbers wrap modulo 2^32.
    let (d, s) = lso_with(
        &Spec {
            seq: u32::MAX - 999,
            ..spec.clone()
        },
        LsoRequest::new(1000),
    );
    let seqs: Vec<u32> = s
        .iter()
        .map(|x| {
            u32::from_be_bytes(
                x[d.inner_l4_offset() + 4..d.inner_l4_offset() + 8]
                    .try_into()
                    .unwrap(),
            )
        })
        .collect();
    assert_eq!(seqs, [u32::MAX - 999, 0, 1000]);
}

#[test]
fn lso_of_exact_multiple_and_of_one_segment() {
    let (d, s) = lso_with(
        &Spec {
            payload: vec![3; 3000],
            ..Spec::default()
        },
        LsoRequest::new(1000),
    );
    assert_eq!(s.len(), 3);
    assert!(s.iter().all(|x| x.len() == d.header_len() + 1000));
    let (d, s) = lso_with(
        &Spec {
            payload: vec![3; 10],
            ..Spec::default()
        },
        LsoRequest::new(1000),
    );
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].len(), d.header_len() + 10);
    let (_, s) = lso_with(
        &Spec {
            payload: vec![],
            flags: 0x11,
            ..Spec::default()
        },
        LsoRequest::new(1000),
    );
    assert_eq!(s.len(), 1);
}

// ---- RSS ---------------------------------------------------------------------------------

fn rss_all() -> Rss {
    Rss::new(
        &MS_VERIFICATION_KEY,
        OffloadCaps::ALL_RSS_TYPES | OffloadCaps::RSS_INNER,
        8,
    )
}

fn input(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

#[test]
fn rss_inner_four_tuple_for_nvgre_tcp_and_udp() {
    let r = rss_all();
    let tcp = nvgre_frame(&Spec::default());
    let got = r.classify(&tcp);
    let want = toeplitz_reference(
        &MS_VERIFICATION_KEY,
        &input(&[
            &[10, 0, 0, 5],
            &[10, 0, 0, 7],
            &49152u16.to_be_bytes(),
            &80u16.to_be_bytes(),
        ]),
    );
    assert_eq!(
        (got.hash_type, got.inner, got.hash),
        (HashType::TcpIpv4, true, want)
    );
    assert_eq!(got.queue, (want % 128 % 8) as u16);
    let udp6 = nvgre_frame(&Spec {
        udp: true,
        inner_v6: true,
        outer_v6: true,
        ..Spec::default()
    });
    let got = r.classify(&udp6);
    let want = toeplitz_reference(
        &MS_VERIFICATION_KEY,
        &input(&[
            &common::in_src6().octets(),
            &common::in_dst6().octets(),
            &40001u16.to_be_bytes(),
            &40002u16.to_be_bytes(),
        ]),
    );
    assert_eq!(
        (got.hash_type, got.inner, got.hash),
        (HashType::UdpIpv6, true, want)
    );
}

fn outer_v4_2tuple() -> u32 {
    toeplitz_reference(&MS_VERIFICATION_KEY, &[192, 168, 4, 11, 192, 168, 4, 22])
}

#[test]
fn rss_outer_two_tuple_otherwise() {
    let r = rss_all();
    // Inner TCP behind IPv6 extension headers: not "right after the inner IP".
    let ext = nvgre_frame(&Spec {
        inner_v6: true,
        ext_header: true,
        ..Spec::default()
    });
    let got = r.classify(&ext);
    assert_eq!(
        (got.hash_type, got.inner, got.hash),
        (HashType::Ipv4, false, outer_v4_2tuple())
    );
    // Inner ICMP (protocol 1): outer 2-tuple.
    let mut icmp = nvgre_frame(&Spec::default());
    let d = 42 + 14;
    icmp[d + 9] = 1;
    let got = r.classify(&icmp);
    assert_eq!(
        (got.hash_type, got.hash),
        (HashType::Ipv4, outer_v4_2tuple())
    );
    // Inner fragment: outer 2-tuple.
    let mut frag = nvgre_frame(&Spec::default());
    frag[d + 6] = 0x20; // MF
    assert_eq!(r.classify(&frag).hash, outer_v4_2tuple());
    // Unparsable inner (inner IPv4 total length beyond the frame): outer 2-tuple.
    let mut bad = nvgre_frame(&Spec::default());
    bad[d + 2] = 0xff;
    assert_eq!(r.classify(&bad).hash, outer_v4_2tuple());
    // Disabled inner TCP type: outer 2-tuple.
    let no_tcp = Rss::new(
        &MS_VERIFICATION_KEY,
        OffloadCaps::RSS_IPV4 | OffloadCaps::RSS_INNER,
        8,
    );
    let got = no_tcp.classify(&nvgre_frame(&Spec::default()));
    assert_eq!(
        (got.hash_type, got.inner, got.hash),
        (HashType::Ipv4, false, outer_v4_2tuple())
    );
    // No inner hashing capability: outer 2-tuple.
    let no_inner = Rss::new(&MS_VERIFICATION_KEY, OffloadCaps::ALL_RSS_TYPES, 8);
    assert_eq!(
        no_inner.classify(&nvgre_frame(&Spec::default())).hash,
        outer_v4_2tuple()
    );
    // Outer IPv6.
    let v6 = nvgre_frame(&Spec {
        outer_v6: true,
        ext_header: true,
        inner_v6: true,
        ..Spec::default()
    });
    let got = r.classify(&v6);
    let c = common::underlay(true);
    let hnv_core::nvgre::Underlay::V6 { src, dst } = c else {
        panic!()
    };
    let want = toeplitz_reference(
        &MS_VERIFICATION_KEY,
        &input(&[&src.octets(), &dst.octets()]),
    );
    assert_eq!((got.hash_type, got.hash), (HashType::Ipv6, want));
    // Nothing enabled: not hashed, queue 0.
    let none = Rss::new(&MS_VERIFICATION_KEY, OffloadCaps::empty(), 8);
    let got = none.classify(&nvgre_frame(&Spec::default()));
    assert_eq!((got.hash_type, got.hash, got.queue), (HashType::None, 0, 0));
}

#[test]
fn rss_plain_frames() {
    let r = rss_all();
    let plain = common::inner_frame(&Spec::default());
    let got = r.classify(&plain);
    let want = toeplitz_reference(
        &MS_VERIFICATION_KEY,
        &input(&[
            &[10, 0, 0, 5],
            &[10, 0, 0, 7],
            &49152u16.to_be_bytes(),
            &80u16.to_be_bytes(),
        ]),
    );
    assert_eq!(
        (got.hash_type, got.inner, got.hash),
        (HashType::TcpIpv4, false, want)
    );
    let mut frag = plain.clone();
    frag[14 + 6] = 0x20;
    let got = r.classify(&frag);
    let want = toeplitz_reference(&MS_VERIFICATION_KEY, &[10, 0, 0, 5, 10, 0, 0, 7]);
    assert_eq!((got.hash_type, got.hash), (HashType::Ipv4, want));
    let mut arp = plain.clone();
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    assert_eq!(r.classify(&arp).hash_type, HashType::None);
    // Indirection: queue = table[hash & (len - 1)].
    let mut r = rss_all();
    r.set_indirection(&[5, 6, 7, 9]).unwrap();
    let got = r.classify(&plain);
    assert_eq!(got.queue, [5, 6, 7, 9][(got.hash & 3) as usize]);
}

// ---- VMQ and RX ----------------------------------------------------------------------------

#[test]
fn vmq_steers_on_inner_mac_vlan_and_vsid() {
    let mut nic: SoftNic<4> = SoftNic::new(NicCaps::SOFTWARE, 1);
    let vm2 = MacAddr([0, 0x15, 0x5d, 0, 0, 2]);
    let f = nvgre_frame(&Spec::default());
    assert_eq!(nic.vmq(&f), None);
    nic.vmq
        .add(VmqFilter {
            mac: vm2,
            vlan: None,
            vsid: Some(Vsid::new(6000).unwrap()),
            queue: 1,
        })
        .unwrap();
    assert_eq!(nic.vmq(&f), None, "VSID differs");
    nic.vmq
        .add(VmqFilter {
            mac: vm2,
            vlan: Some(9),
            vsid: None,
            queue: 2,
        })
        .unwrap();
    assert_eq!(nic.vmq(&f), None, "VLAN differs");
    let tagged = nvgre_frame(&Spec {
        outer_vlan: Some(9),
        ..Spec::default()
    });
    assert_eq!(nic.vmq(&tagged), Some(2));
    nic.vmq
        .add(VmqFilter {
            mac: vm2,
            vlan: None,
            vsid: Some(Vsid::new(5001).unwrap()),
            queue: 3,
        })
        .unwrap();
    assert_eq!(nic.vmq(&f), Some(3));
    assert_eq!(
        nic.vmq.add(VmqFilter {
            mac: vm2,
            vlan: None,
            vsid: Some(Vsid::new(5001).unwrap()),
            queue: 4
        }),
        Err(VmqError::Duplicate)
    );
    nic.vmq
        .add(VmqFilter {
            mac: MacAddr([2, 0, 0, 0, 0x0b, 1]),
            vlan: None,
            vsid: None,
            queue: 7,
        })
        .unwrap();
    assert_eq!(
        nic.vmq.add(VmqFilter {
            mac: MacAddr([9; 6]),
            vlan: None,
            vsid: None,
            queue: 0
        }),
        Err(VmqError::Full)
    );
    // The outer MAC (host B's) does not steer an NVGRE frame...
    let mut other = f.clone();
    other[42..48].copy_from_slice(&[9; 6]);
    assert_eq!(nic.vmq(&other), None);
    // ... but does steer a plain frame sent to it.
    let mut plain = common::inner_frame(&Spec::default());
    plain[..6].copy_from_slice(&[2, 0, 0, 0, 0x0b, 1]);
    assert_eq!(nic.vmq(&plain), Some(7));
    assert_eq!(nic.vmq.remove(vm2), 3);
    assert_eq!(nic.vmq(&f), None);
    // Without the VMQ capability nothing is steered.
    let mut caps = NicCaps::SOFTWARE;
    caps.offloads = caps.offloads.difference(OffloadCaps::VMQ);
    let mut off: SoftNic<4> = SoftNic::new(caps, 1);
    off.vmq
        .add(VmqFilter {
            mac: vm2,
            vlan: None,
            vsid: None,
            queue: 1,
        })
        .unwrap();
    assert_eq!(off.vmq(&f), None);
}

#[test]
fn rx_checksum_flags() {
    let f = nvgre_frame(&Spec::default());
    let r = rx_checksums(&f);
    assert!(r.tunnel);
    assert_eq!(
        (r.ip, r.l4, r.inner_ip, r.inner_l4),
        (
            CsumStatus::Ok,
            CsumStatus::NotPresent,
            CsumStatus::Ok,
            CsumStatus::Ok
        )
    );
    for (at, field) in [
        (24usize, "outer ip"),
        (56 + 10, "inner ip"),
        (76 + 16, "inner tcp"),
        (200, "payload"),
    ] {
        let mut g = f.clone();
        g[at] ^= 0x01;
        let r = rx_checksums(&g);
        let flags = [r.ip, r.inner_ip, r.inner_l4];
        let want = match field {
            "outer ip" => [CsumStatus::Failed, CsumStatus::Ok, CsumStatus::Ok],
            "inner ip" => [CsumStatus::Ok, CsumStatus::Failed, CsumStatus::Ok],
            _ => [CsumStatus::Ok, CsumStatus::Ok, CsumStatus::Failed],
        };
        assert_eq!(flags, want, "{field}");
    }
    let v6 = nvgre_frame(&Spec {
        outer_v6: true,
        inner_v6: true,
        udp: true,
        ..Spec::default()
    });
    let r = rx_checksums(&v6);
    assert_eq!(
        (r.ip, r.inner_ip, r.inner_l4),
        (
            CsumStatus::NotPresent,
            CsumStatus::NotPresent,
            CsumStatus::Ok
        )
    );
    // UDP over IPv4 with checksum 0: none present.
    let mut u = nvgre_frame(&Spec {
        udp: true,
        ..Spec::default()
    });
    u[76 + 6..76 + 8].fill(0);
    assert_eq!(rx_checksums(&u).inner_l4, CsumStatus::NotPresent);
    // A plain frame reports its own IP and TCP checksums.
    let plain = common::inner_frame(&Spec::default());
    let r = rx_checksums(&plain);
    assert_eq!(
        (r.tunnel, r.ip, r.l4),
        (false, CsumStatus::Ok, CsumStatus::Ok)
    );
}
