//! The virtio-net header a TAP device with `IFF_VNET_HDR` puts in front of every frame
//! (`struct virtio_net_hdr`, 10 bytes, little-endian on the hosts this runs on): parsing
//! and writing it, the software completion of a partial checksum it announces, and the
//! GSO metadata of a super-frame ([`FrameGso`]) read from it or written into it.

use hnv_core::wire::checksum::Checksum;

use crate::frame::{FrameGso, GsoKind};

/// The header type and constants, shared with hnv-offload's virtio-net target.
pub use hnv_offload::target::virtio::{
    VirtioNetHdr as VnetHdr, F_DATA_VALID, F_NEEDS_CSUM, GSO_ECN, GSO_NONE, GSO_TCPV4, GSO_TCPV6,
    GSO_UDP, GSO_UDP_L4,
};

/// Length of the header (without the `num_buffers` field of mergeable buffers).
pub const VNET_HDR_LEN: usize = VnetHdr::LEN;

/// Offset of the checksum field in a TCP header (`csum_offset` of a TCP super-frame).
pub const TCP_CSUM_OFFSET: u16 = 16;

/// Why a frame's header cannot be honoured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VnetError {
    /// Fewer than [`VNET_HDR_LEN`] bytes.
    Short,
    /// A UDP GSO super-frame (`GSO_UDP`, `GSO_UDP_L4`): hnv segments TCP only and does
    /// not announce UDP segmentation, so none should arrive.
    UdpGso,
    /// A GSO type virtio-net does not define.
    UnknownGso(u8),
    /// A GSO super-frame with `gso_size` 0.
    ZeroGsoSize,
    /// `csum_start` / `csum_offset` point outside the frame.
    BadChecksumRange,
}

/// What [`finish_rx`] made of a received frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rx {
    /// A partial checksum was completed (ordinary frames only).
    pub csum_completed: bool,
    /// The frame is a GSO super-frame with this segmentation (its checksums are left to
    /// the segmentation).
    pub gso: Option<FrameGso>,
}

/// Parses the first [`VNET_HDR_LEN`] bytes of `b`.
pub fn parse(b: &[u8]) -> Result<VnetHdr, VnetError> {
    VnetHdr::from_bytes(b).ok_or(VnetError::Short)
}

/// True for a GSO super-frame.
pub fn is_gso(h: VnetHdr) -> bool {
    h.gso_type & !GSO_ECN != GSO_NONE
}

/// The segmentation `h` asks for: `None` for an ordinary frame, the TCP segmentation of a
/// super-frame, or why it cannot be honoured (UDP GSO, an unknown type, `gso_size` 0).
pub fn gso_of(h: VnetHdr) -> Result<Option<FrameGso>, VnetError> {
    let kind = match h.gso_type & !GSO_ECN {
        GSO_NONE => return Ok(None),
        GSO_TCPV4 => GsoKind::TcpV4,
        GSO_TCPV6 => GsoKind::TcpV6,
        GSO_UDP | GSO_UDP_L4 => return Err(VnetError::UdpGso),
        other => return Err(VnetError::UnknownGso(other)),
    };
    if h.gso_size == 0 {
        return Err(VnetError::ZeroGsoSize);
    }
    Ok(Some(FrameGso {
        kind,
        mss: h.gso_size,
        ecn: h.gso_type & GSO_ECN != 0,
    }))
}

/// The header of a TCP super-frame written to a virtio-net peer: `gso` as the type,
/// segment size and ECN flag; the TCP checksum partial (`NEEDS_CSUM`) from `csum_start`,
/// the TCP header's offset; `hdr_len` the length of every header up to the TCP payload.
pub fn for_gso(gso: FrameGso, csum_start: u16, hdr_len: u16) -> VnetHdr {
    let kind = match gso.kind {
        GsoKind::TcpV4 => GSO_TCPV4,
        GsoKind::TcpV6 => GSO_TCPV6,
    };
    VnetHdr {
        flags: F_NEEDS_CSUM,
        gso_type: kind | if gso.ecn { GSO_ECN } else { 0 },
        hdr_len,
        gso_size: gso.mss,
        csum_start,
        csum_offset: TCP_CSUM_OFFSET,
    }
}

/// Checks the header of a received frame (`frame`: the bytes after the header) and makes
/// the frame usable by the switch: an ordinary frame gets its partial checksum completed;
/// a TCP super-frame is returned with its segmentation and its checksum left partial
/// (every segment's checksum is computed when it is cut, so summing 64 KiB here would be
/// wasted), after checking that the checksum range is inside the frame.
pub fn finish_rx(hdr: VnetHdr, frame: &mut [u8]) -> Result<Rx, VnetError> {
    let gso = gso_of(hdr)?;
    let partial = hdr.flags & F_NEEDS_CSUM != 0;
    let (start, offset) = (usize::from(hdr.csum_start), usize::from(hdr.csum_offset));
    if gso.is_some() {
        if partial && start + offset + 2 > frame.len() {
            return Err(VnetError::BadChecksumRange);
        }
        return Ok(Rx {
            csum_completed: false,
            gso,
        });
    }
    if !partial {
        return Ok(Rx::default());
    }
    complete_checksum(frame, start, offset)?;
    Ok(Rx {
        csum_completed: true,
        gso: None,
    })
}

/// Folds the one's-complement sum of `frame[start..]` into the field at `start + offset`
/// (which holds the pseudo-header sum) and stores the complement there.
pub fn complete_checksum(frame: &mut [u8], start: usize, offset: usize) -> Result<(), VnetError> {
    let field = start
        .checked_add(offset)
        .filter(|f| f.checked_add(2).is_some_and(|end| end <= frame.len()))
        .ok_or(VnetError::BadChecksumRange)?;
    let region = frame.get(start..).ok_or(VnetError::BadChecksumRange)?;
    let mut sum = Checksum::new().add_bytes(region).finish();
    // A UDP checksum of 0 means "none"; its one's-complement equal is all ones. For TCP
    // and ICMP both encodings verify alike.
    if sum == 0 {
        sum = 0xffff;
    }
    if let Some(f) = frame.get_mut(field..field + 2) {
        f.copy_from_slice(&sum.to_be_bytes());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hnv_core::wire::checksum;

    /// An Ethernet + IPv4 + UDP frame, checksum field holding the pseudo-header sum only
    /// (as a stack with checksum offload hands it over), and the fully summed field.
    fn udp_partial() -> (Vec<u8>, u16) {
        let payload = b"hello, tap";
        let udp_len = 8 + payload.len() as u16;
        let src = [10, 77, 0, 1];
        let dst = [10, 77, 0, 2];
        let mut f = vec![0u8; 14 + 20];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x45;
        f[16..18].copy_from_slice(&(20 + udp_len).to_be_bytes());
        f[22] = 64;
        f[23] = 17;
        f[26..30].copy_from_slice(&src);
        f[30..34].copy_from_slice(&dst);
        let ip_sum = checksum::of(&f[14..34]);
        f[24..26].copy_from_slice(&ip_sum.to_be_bytes());
        f.extend_from_slice(&4000u16.to_be_bytes());
        f.extend_from_slice(&9u16.to_be_bytes());
        f.extend_from_slice(&udp_len.to_be_bytes());
        f.extend_from_slice(&[0, 0]);
        f.extend_from_slice(payload);
        let pseudo = checksum::pseudo_v4(src.into(), dst.into(), 17, udp_len);
        let full = pseudo.add_bytes(&f[34..]).finish();
        f[40..42].copy_from_slice(&pseudo.sum().to_be_bytes());
        (f, full)
    }

    #[test]
    fn header_round_trip() {
        let h = VnetHdr {
            flags: F_NEEDS_CSUM,
            gso_type: 1,
            hdr_len: 54,
            gso_size: 1448,
            csum_start: 34,
            csum_offset: 16,
        };
        assert_eq!(parse(&h.to_bytes()), Ok(h));
        assert!(is_gso(h));
        assert!(!is_gso(VnetHdr::default()));
        assert!(!is_gso(VnetHdr {
            gso_type: GSO_ECN,
            ..VnetHdr::default()
        }));
        assert_eq!(parse(&[0; 9]), Err(VnetError::Short));
    }

    #[test]
    fn partial_checksum_is_completed() {
        let (mut f, want) = udp_partial();
        let hdr = VnetHdr {
            flags: F_NEEDS_CSUM,
            csum_start: 34,
            csum_offset: 6,
            ..VnetHdr::default()
        };
        assert_eq!(
            finish_rx(hdr, &mut f),
            Ok(Rx {
                csum_completed: true,
                gso: None
            })
        );
        assert_eq!(u16::from_be_bytes([f[40], f[41]]), want);
        let parsed = etherparse::SlicedPacket::from_ethernet(&f).unwrap();
        let Some(etherparse::TransportSlice::Udp(udp)) = parsed.transport else {
            panic!("not UDP");
        };
        let Some(etherparse::NetSlice::Ipv4(ip)) = parsed.net else {
            panic!("not IPv4");
        };
        let expect = udp
            .to_header()
            .calc_checksum_ipv4(&ip.header().to_header(), udp.payload())
            .unwrap();
        assert_eq!(udp.checksum(), expect);
    }

    #[test]
    fn plain_frames_pass_and_bad_ones_are_refused() {
        let (mut f, _) = udp_partial();
        let before = f.clone();
        assert_eq!(finish_rx(VnetHdr::default(), &mut f), Ok(Rx::default()));
        assert_eq!(f, before);
        for (gso_type, err) in [
            (GSO_UDP, VnetError::UdpGso),
            (GSO_UDP_L4, VnetError::UdpGso),
            (GSO_UDP_L4 | GSO_ECN, VnetError::UdpGso),
            (2, VnetError::UnknownGso(2)),
            (0x7f, VnetError::UnknownGso(0x7f)),
        ] {
            let h = VnetHdr {
                gso_type,
                gso_size: 1000,
                ..VnetHdr::default()
            };
            assert_eq!(finish_rx(h, &mut f), Err(err), "type {gso_type:#x}");
        }
        let zero = VnetHdr {
            gso_type: GSO_TCPV6,
            ..VnetHdr::default()
        };
        assert_eq!(finish_rx(zero, &mut f), Err(VnetError::ZeroGsoSize));
        assert_eq!(f, before, "refused frames are left alone");
        let out = VnetHdr {
            flags: F_NEEDS_CSUM,
            csum_start: 60,
            csum_offset: 6,
            ..VnetHdr::default()
        };
        assert_eq!(finish_rx(out, &mut f), Err(VnetError::BadChecksumRange));
        let edge = VnetHdr {
            flags: F_NEEDS_CSUM,
            csum_start: u16::MAX,
            csum_offset: u16::MAX,
            ..VnetHdr::default()
        };
        assert_eq!(finish_rx(edge, &mut f), Err(VnetError::BadChecksumRange));
    }

    #[test]
    fn tcp_super_frames_keep_their_segmentation() {
        // As Linux's tun hands a TSO skb over: NEEDS_CSUM from the TCP header, hdr_len the
        // skb's linear part (not necessarily the headers).
        let (mut f, _) = udp_partial();
        f.resize(3000, 0x5a);
        let before = f.clone();
        for (gso_type, kind, ecn) in [
            (GSO_TCPV4, GsoKind::TcpV4, false),
            (GSO_TCPV4 | GSO_ECN, GsoKind::TcpV4, true),
            (GSO_TCPV6, GsoKind::TcpV6, false),
        ] {
            let h = VnetHdr {
                flags: F_NEEDS_CSUM,
                gso_type,
                hdr_len: 128,
                gso_size: 1448,
                csum_start: 34,
                csum_offset: 16,
            };
            let want = FrameGso {
                kind,
                mss: 1448,
                ecn,
            };
            assert_eq!(gso_of(h), Ok(Some(want)));
            assert_eq!(
                finish_rx(h, &mut f),
                Ok(Rx {
                    csum_completed: false,
                    gso: Some(want)
                })
            );
            assert_eq!(f, before, "the partial checksum is left for segmentation");
            // The header written for a virtio-net peer carries the same segmentation.
            let out = for_gso(want, 34, 66);
            assert_eq!(parse(&out.to_bytes()), Ok(out));
            assert_eq!(gso_of(out), Ok(Some(want)));
            assert_eq!(
                (out.flags, out.gso_type, out.hdr_len, out.gso_size),
                (F_NEEDS_CSUM, gso_type, 66, 1448)
            );
            assert_eq!((out.csum_start, out.csum_offset), (34, 16));
        }
        let outside = VnetHdr {
            flags: F_NEEDS_CSUM,
            gso_type: GSO_TCPV4,
            gso_size: 1448,
            csum_start: 2990,
            csum_offset: 16,
            ..VnetHdr::default()
        };
        assert_eq!(finish_rx(outside, &mut f), Err(VnetError::BadChecksumRange));
        // Little-endian fields, as the kernel writes them on x86 and arm64.
        let bytes = [1u8, 1, 0x42, 0, 0xa8, 0x05, 0x22, 0, 0x10, 0];
        assert_eq!(
            parse(&bytes).map(gso_of).unwrap(),
            Ok(Some(FrameGso {
                kind: GsoKind::TcpV4,
                mss: 1448,
                ecn: false
            }))
        );
    }
}
