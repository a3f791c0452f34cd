//! Large send offload in software: one NVGRE TCP send cut into MSS-sized segments, written
//! back to back into a caller's buffer (no allocation).
//!
//! Segment k of n (payload bytes `k·MSS ..`): every header copied (same VSID and FlowID);
//! outer IPv4 total length, identification (per the request's outer
//! [`IpIdPolicy`](crate::IpIdPolicy) and [`IdWrap`](crate::IdWrap)) and header checksum, or the outer IPv6 payload length; the
//! same for the inner IP header; TCP sequence number `seq0 + k·MSS` (mod 2^32); FIN and
//! PSH only on the last segment, CWR per [`CwrPolicy`](crate::CwrPolicy), other flags
//! copied; a complete TCP checksum. IPv6 extension headers and IPv4 options are copied
//! unchanged.

use hnv_core::wire::ip_proto;
use hnv_core::wire::tcp::TcpFlags;

use super::csum::{check_fits, fill_ipv4, inner_pseudo, seed_check, SeedCheck};
use super::ExecError;
use crate::desc::TxOffload;
use crate::layout::{IpVersion, L4Proto};

/// The segments LSO wrote: `count` frames back to back in the caller's buffer, each
/// `header_len + mss` bytes except the last.
#[derive(Debug, Clone, Copy)]
pub struct Segments<'a> {
    buf: &'a [u8],
    header_len: usize,
    mss: usize,
    count: usize,
    payload_len: usize,
}

impl<'a> Segments<'a> {
    /// Number of segments.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when there is no segment (never, for a successful LSO).
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Total bytes written.
    pub fn bytes(&self) -> usize {
        self.buf.len()
    }

    /// Segment `k`.
    pub fn get(&self, k: usize) -> Option<&'a [u8]> {
        if k >= self.count {
            return None;
        }
        let start = k * (self.header_len + self.mss);
        let plen = self.mss.min(self.payload_len - k * self.mss);
        self.buf.get(start..start + self.header_len + plen)
    }

    /// The segments in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        (0..self.count).filter_map(|k| self.get(k))
    }
}

/// Bytes of output LSO of `d` needs: every segment's headers plus the payload once.
pub fn output_len(d: &TxOffload) -> usize {
    d.segments() as usize * d.header_len() + d.payload_len as usize
}

fn put16(seg: &mut [u8], at: usize, v: u16) -> Option<()> {
    seg.get_mut(at..at + 2)?.copy_from_slice(&v.to_be_bytes());
    Some(())
}

fn get16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// Segments `frame` as `d` describes into `out`.
///
/// Returns the segments and the check of the sender's TCP checksum seed (the pseudo-header
/// sum without length). Every segment's checksums are computed completely, whatever the
/// seed. `d` must ask for LSO ([`ExecError::NotLso`] otherwise) and `out` must hold
/// [`output_len`] bytes ([`ExecError::OutputTooSmall`]).
pub fn segment<'o>(
    frame: &[u8],
    d: &TxOffload,
    out: &'o mut [u8],
) -> Result<(Segments<'o>, SeedCheck), ExecError> {
    let lso = d.lso.ok_or(ExecError::NotLso)?;
    check_fits(frame, d)?;
    if d.inner_l4 != Some(L4Proto::Tcp) || lso.mss == 0 {
        return Err(ExecError::FrameMismatch);
    }
    let mismatch = ExecError::FrameMismatch;
    let hdr = d.header_len();
    let payload_len = d.payload_len as usize;
    if hdr + payload_len != d.frame_len as usize {
        return Err(mismatch);
    }
    let mss = usize::from(lso.mss);
    let count = d.segments() as usize;
    let needed = count * hdr + payload_len;
    let out = out
        .get_mut(..needed)
        .ok_or(ExecError::OutputTooSmall { needed })?;
    let headers = frame.get(..hdr).ok_or(mismatch)?;
    let payload = frame.get(hdr..hdr + payload_len).ok_or(mismatch)?;
    let (o3, i3, l4) = (
        d.outer_l3_offset(),
        d.inner_l3_offset(),
        d.inner_l4_offset(),
    );
    let tcp_len_hdr = usize::from(d.inner_l4_len);
    let outer_id0 = get16(headers, o3 + 4).ok_or(mismatch)?;
    let inner_id0 = get16(headers, i3 + 4).ok_or(mismatch)?;
    let seq0 = u32::from_be_bytes(
        headers
            .get(l4 + 4..l4 + 8)
            .and_then(|s| s.try_into().ok())
            .ok_or(mismatch)?,
    );
    let flags0 = TcpFlags(*headers.get(l4 + 13).ok_or(mismatch)?);
    let seed = seed_check(
        get16(headers, l4 + 16).ok_or(mismatch)?,
        inner_pseudo(frame, d, ip_proto::TCP, 0)
            .ok_or(mismatch)?
            .sum(),
    );
    // The pseudo-header without its length: each segment adds its own.
    let pseudo0 = inner_pseudo(frame, d, ip_proto::TCP, 0).ok_or(mismatch)?;
    let mut chunks = payload.chunks(mss);
    let mut segs = out.chunks_mut(hdr + mss);
    for k in 0..count {
        let seg = segs.next().ok_or(mismatch)?;
        let data = chunks.next().unwrap_or(&[]);
        let seg_len = hdr + data.len();
        let seg = seg.get_mut(..seg_len).ok_or(mismatch)?;
        let (h, body) = seg.split_at_mut(hdr);
        h.copy_from_slice(headers);
        body.copy_from_slice(data);
        let k32 = k as u32;
        // Outer IP.
        match d.outer_ip {
            IpVersion::V4 => {
                put16(h, o3 + 2, (seg_len - o3) as u16).ok_or(mismatch)?;
                put16(h, o3 + 4, lso.outer_segment_id(outer_id0, k32)).ok_or(mismatch)?;
                fill_ipv4(h, o3, usize::from(d.outer_l3_len)).ok_or(mismatch)?;
            }
            IpVersion::V6 => put16(h, o3 + 4, (seg_len - o3 - 40) as u16).ok_or(mismatch)?,
        }
        // Inner IP.
        match d.inner_ip {
            IpVersion::V4 => {
                put16(h, i3 + 2, (seg_len - i3) as u16).ok_or(mismatch)?;
                put16(h, i3 + 4, lso.segment_id(inner_id0, k32)).ok_or(mismatch)?;
                fill_ipv4(h, i3, usize::from(d.inner_l3_len)).ok_or(mismatch)?;
            }
            IpVersion::V6 => put16(h, i3 + 4, (seg_len - i3 - 40) as u16).ok_or(mismatch)?,
        }
        // TCP.
        let seq = seq0.wrapping_add(k32.wrapping_mul(u32::from(lso.mss)));
        h.get_mut(l4 + 4..l4 + 8)
            .ok_or(mismatch)?
            .copy_from_slice(&seq.to_be_bytes());
        let flags = lso.segment_flags(flags0, k32, count as u32);
        *h.get_mut(l4 + 13).ok_or(mismatch)? = flags.bits();
        put16(h, l4 + 16, 0).ok_or(mismatch)?;
        let tcp_len = tcp_len_hdr + data.len();
        let c = pseudo0
            .add_u16(tcp_len as u16)
            .add_u16((tcp_len >> 16) as u16)
            .add_bytes(h.get(l4..).ok_or(mismatch)?)
            .add_bytes(body)
            .finish();
        put16(h, l4 + 16, c).ok_or(mismatch)?;
    }
    let segments = Segments {
        buf: out,
        header_len: hdr,
        mss,
        count,
        payload_len,
    };
    Ok((segments, seed))
}
