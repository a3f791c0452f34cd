//! hnv-offload on arbitrary frames and parameters: descriptor building, validation, the
//! four target conversions, checksum fill, LSO, RSS, VMQ and receive checksum flags.
//!
//! Input: 8 parameter bytes, then the frame.
//! * byte 0: bit 0-2 checksums (outer IPv4, inner IPv4, inner L4), bit 3 LSO, bit 4 fixed
//!   IP ID, bit 5 15-bit ID wrap, bit 6 CWR on every segment, bit 7 complete checksum mode
//! * bytes 1-2: MSS (big-endian)
//! * bytes 3-6: NIC feature bits (big-endian `OffloadCaps` bits; all ones = software NIC)
//! * byte 7: RSS queue count
//!
//! Nothing may panic. Beyond that, what the software NIC produces must verify: after a
//! complete-mode checksum fill of a TCP frame every checksum asked for verifies, and every
//! LSO segment is again an NVGRE frame whose checksums all verify and whose payloads
//! reassemble to the original.
#![no_main]

use hnv_offload::soft::csum::{fill_checksums, ChecksumMode};
use hnv_offload::soft::lso::{output_len, segment};
use hnv_offload::soft::rx::{rx_checksums, CsumStatus};
use hnv_offload::soft::vmq::VmqFilter;
use hnv_offload::{
    Checksums, CwrPolicy, IdWrap, IpIdPolicy, IpVersion, L4Proto, Layout, LsoRequest, NicCaps,
    OffloadCaps, SoftNic, TxOffload, TxRequest,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((params, frame)) = data.split_first_chunk::<8>() else {
        return;
    };
    let bits = params[0];
    let mss = u16::from_be_bytes([params[1], params[2]]);
    let caps_bits = u32::from_be_bytes([params[3], params[4], params[5], params[6]]);
    let mut caps = NicCaps::SOFTWARE;
    caps.offloads = OffloadCaps::from_bits_truncate(caps_bits);
    let checksums = [
        Checksums::OUTER_IPV4,
        Checksums::INNER_IPV4,
        Checksums::INNER_L4,
    ]
    .into_iter()
    .enumerate()
    .filter(|(i, _)| bits & (1 << i) != 0)
    .fold(Checksums::empty(), |a, (_, c)| a | c);
    let lso = (bits & 8 != 0).then_some(LsoRequest {
        mss,
        ip_id: if bits & 16 != 0 {
            IpIdPolicy::Fixed
        } else {
            IpIdPolicy::Increment
        },
        outer_ip_id: if bits & 16 != 0 && mss & 1 == 0 {
            IpIdPolicy::Fixed
        } else {
            IpIdPolicy::Increment
        },
        id_wrap: if bits & 32 != 0 {
            IdWrap::Bits15
        } else {
            IdWrap::Bits16
        },
        cwr: if bits & 64 != 0 {
            CwrPolicy::Every
        } else {
            CwrPolicy::FirstOnly
        },
    });
    let mode = if bits & 128 != 0 {
        ChecksumMode::Complete
    } else {
        ChecksumMode::Hardware
    };
    let req = TxRequest { checksums, lso };

    let mut nic: SoftNic<4> = SoftNic::new(caps, u16::from(params[7]));
    nic.mode = mode;
    if frame.len() >= 6 {
        let mut mac = [0u8; 6];
        mac.copy_from_slice(&frame[..6]);
        let _ = nic.vmq.add(VmqFilter {
            mac: hnv_core::ids::MacAddr(mac),
            vlan: None,
            vsid: None,
            queue: 1,
        });
    }
    let _ = nic.rss(frame);
    let _ = nic.vmq(frame);
    let _ = nic.rx_checksums(frame);
    let _ = hnv_offload::layout::Tunnel::parse(frame);
    let layout = Layout::parse(frame);

    let Ok(d) = TxOffload::new(frame, &req) else {
        return;
    };
    assert!(layout.is_ok());
    assert!(d.header_len() <= d.frame_len as usize && d.frame_len as usize <= frame.len());
    let _ = d.validate(&caps);
    let _ = d.to_ndis();
    let _ = d.to_dpdk_mbuf();
    let _ = d.to_xsk_tx_metadata();
    let _ = d.to_virtio_net_hdr();

    // Checksum fill.
    let mut copy = frame.to_vec();
    let filled = nic.checksum(&mut copy, &d);
    let mut complete = frame.to_vec();
    if fill_checksums(&mut complete, &d, ChecksumMode::Complete).is_ok() {
        let r = rx_checksums(&complete);
        assert!(r.tunnel);
        if d.checksums.contains(Checksums::OUTER_IPV4) {
            assert_eq!(r.ip, CsumStatus::Ok);
        }
        if d.checksums.contains(Checksums::INNER_IPV4) {
            assert_eq!(r.inner_ip, CsumStatus::Ok);
        }
        if d.checksums.contains(Checksums::INNER_L4) && d.inner_l4 == Some(L4Proto::Tcp) {
            assert_eq!(r.inner_l4, CsumStatus::Ok);
        }
    }
    let _ = filled;

    // LSO.
    if d.lso.is_none() || output_len(&d) > 1 << 20 {
        return;
    }
    let mut out = vec![0u8; output_len(&d)];
    let Ok((segs, _)) = segment(frame, &d, &mut out) else {
        return;
    };
    assert_eq!(segs.len() as u32, d.segments());
    let mut payload = Vec::new();
    for s in segs.iter() {
        let l = Layout::parse(s).expect("a segment is an NVGRE frame");
        assert_eq!(l.inner_l4.map(|(p, _)| p), Some(L4Proto::Tcp));
        let r = rx_checksums(s);
        if d.outer_ip == IpVersion::V4 {
            assert_eq!(r.ip, CsumStatus::Ok);
        }
        if d.inner_ip == IpVersion::V4 {
            assert_eq!(r.inner_ip, CsumStatus::Ok);
        }
        assert_eq!(r.inner_l4, CsumStatus::Ok);
        payload.extend_from_slice(&s[d.header_len()..]);
    }
    assert_eq!(payload, &frame[d.header_len()..d.frame_len as usize]);
});
