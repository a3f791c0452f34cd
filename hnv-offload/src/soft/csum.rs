//! Checksum offload in software: the outer IPv4, inner IPv4 and inner TCP/UDP checksums of
//! one NVGRE frame, filled in place, with the sender's pseudo-header seed checked.

use hnv_core::wire::checksum::{self, Checksum};
use hnv_core::wire::ip_proto;

use super::ExecError;
use crate::desc::{Checksums, TxOffload};
use crate::layout::{IpVersion, L4Proto};

/// What the sender left in the inner TCP/UDP checksum field, compared with the convention
/// (the folded pseudo-header sum; with the length for checksum offload, without for LSO).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeedCheck {
    /// No transport checksum was asked.
    NotApplicable,
    /// The field holds the expected seed (0x0000 and 0xffff count as equal).
    Ok,
    /// The field holds something else.
    Wrong {
        /// The value found.
        found: u16,
        /// The value the convention gives.
        expected: u16,
    },
}

/// How [`fill_checksums`] computes the transport checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ChecksumMode {
    /// As a NIC does: sum the transport header and payload with the sender's seed in the
    /// field and store the complement. A wrong seed gives a wrong checksum (and is
    /// reported). The default.
    #[default]
    Hardware,
    /// Compute the pseudo-header sum here and ignore what is in the field: the result is
    /// valid whatever the sender left (the seed is still reported).
    Complete,
}

/// What [`fill_checksums`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChecksumReport {
    /// The transport checksum seed.
    pub seed: SeedCheck,
    /// True when every IPv4 checksum field the NIC filled was zero before, as the
    /// convention asks.
    pub ip_fields_were_zero: bool,
}

fn read16(frame: &[u8], at: usize) -> Option<u16> {
    let b = frame.get(at..at + 2)?;
    Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
}

fn write16(frame: &mut [u8], at: usize, v: u16) -> Option<()> {
    frame.get_mut(at..at + 2)?.copy_from_slice(&v.to_be_bytes());
    Some(())
}

/// Fills the IPv4 header checksum of the header at `at` (`len` bytes); returns whether the
/// field was zero.
pub(crate) fn fill_ipv4(frame: &mut [u8], at: usize, len: usize) -> Option<bool> {
    let was = read16(frame, at + 10)?;
    write16(frame, at + 10, 0)?;
    let c = checksum::of(frame.get(at..at + len)?);
    write16(frame, at + 10, c)?;
    Some(was == 0)
}

/// The inner pseudo-header sum for the transport header at `d.inner_l4_offset()` with
/// upper-layer length `len`.
pub(crate) fn inner_pseudo(frame: &[u8], d: &TxOffload, proto: u8, len: u32) -> Option<Checksum> {
    let l3 = d.inner_l3_offset();
    Some(match d.inner_ip {
        IpVersion::V4 => Checksum::new()
            .add_bytes(frame.get(l3 + 12..l3 + 20)?)
            .add_u16(u16::from(proto))
            .add_u16(len as u16),
        IpVersion::V6 => Checksum::new()
            .add_bytes(frame.get(l3 + 8..l3 + 40)?)
            .add_u32(len)
            .add_u16(u16::from(proto)),
    })
}

/// End of the inner IP packet, from its length field.
pub(crate) fn inner_end(frame: &[u8], d: &TxOffload) -> Option<usize> {
    let l3 = d.inner_l3_offset();
    let end = match d.inner_ip {
        IpVersion::V4 => l3 + usize::from(read16(frame, l3 + 2)?),
        IpVersion::V6 => l3 + 40 + usize::from(read16(frame, l3 + 4)?),
    };
    (end >= d.inner_l4_offset() && end <= d.frame_len as usize).then_some(end)
}

/// Compares a seed with the expected one, treating the two zeros of one's complement as
/// equal.
pub(crate) fn seed_check(found: u16, expected: u16) -> SeedCheck {
    let norm = |v: u16| if v == 0xffff { 0 } else { v };
    if norm(found) == norm(expected) {
        SeedCheck::Ok
    } else {
        SeedCheck::Wrong { found, expected }
    }
}

/// Checks that a descriptor's lengths fit `frame` (a descriptor's fields are public, so
/// one may not describe the frame it is executed on).
pub(crate) fn check_fits(frame: &[u8], d: &TxOffload) -> Result<(), ExecError> {
    let len = d.frame_len as usize;
    if d.header_len() > len || len > frame.len() || d.header_len() < d.inner_l3_offset() + 20 {
        return Err(ExecError::FrameMismatch);
    }
    Ok(())
}

/// Fills the checksums `d` asks for, in place.
pub fn fill_checksums(
    frame: &mut [u8],
    d: &TxOffload,
    mode: ChecksumMode,
) -> Result<ChecksumReport, ExecError> {
    check_fits(frame, d)?;
    let mismatch = ExecError::FrameMismatch;
    let mut zero = true;
    // The transport checksum first: it does not cover the IP header checksums, but keeping
    // the order of a NIC (inner to outer) costs nothing.
    let mut seed = SeedCheck::NotApplicable;
    if d.checksums.contains(Checksums::INNER_L4) {
        let proto = match d.inner_l4.ok_or(mismatch)? {
            L4Proto::Tcp => ip_proto::TCP,
            L4Proto::Udp => ip_proto::UDP,
        };
        let at = d.inner_l4_offset();
        let field = d.inner_l4_csum_offset().ok_or(mismatch)?;
        let end = inner_end(frame, d).ok_or(mismatch)?;
        let len = (end - at) as u32;
        let pseudo = inner_pseudo(frame, d, proto, len).ok_or(mismatch)?;
        let found = read16(frame, field).ok_or(mismatch)?;
        seed = seed_check(found, pseudo.sum());
        let start = match mode {
            ChecksumMode::Hardware => Checksum::new(),
            ChecksumMode::Complete => {
                write16(frame, field, 0).ok_or(mismatch)?;
                pseudo
            }
        };
        let mut c = start
            .add_bytes(frame.get(at..end).ok_or(mismatch)?)
            .finish();
        if proto == ip_proto::UDP && c == 0 {
            c = 0xffff;
        }
        write16(frame, field, c).ok_or(mismatch)?;
    }
    if d.checksums.contains(Checksums::INNER_IPV4) && d.inner_ip == IpVersion::V4 {
        let l3 = d.inner_l3_offset();
        zero &= fill_ipv4(frame, l3, usize::from(d.inner_l3_len)).ok_or(mismatch)?;
    }
    if d.checksums.contains(Checksums::OUTER_IPV4) && d.outer_ip == IpVersion::V4 {
        let l3 = d.outer_l3_offset();
        zero &= fill_ipv4(frame, l3, usize::from(d.outer_l3_len)).ok_or(mismatch)?;
    }
    Ok(ChecksumReport {
        seed,
        ip_fields_were_zero: zero,
    })
}

/// Writes the seeds the conventions ask of a sender into `frame`: zero IPv4 checksum fields
/// for the IP checksums `d` asks for, and the pseudo-header sum in the transport field
/// (with the length for checksum offload, without it for LSO). Used to prepare frames for
/// a NIC (and by tests and benches).
pub fn write_seeds(frame: &mut [u8], d: &TxOffload) -> Result<(), ExecError> {
    check_fits(frame, d)?;
    let mismatch = ExecError::FrameMismatch;
    if d.checksums.contains(Checksums::OUTER_IPV4) && d.outer_ip == IpVersion::V4 {
        write16(frame, d.outer_l3_offset() + 10, 0).ok_or(mismatch)?;
    }
    if d.checksums.contains(Checksums::INNER_IPV4) && d.inner_ip == IpVersion::V4 {
        write16(frame, d.inner_l3_offset() + 10, 0).ok_or(mismatch)?;
    }
    if d.checksums.contains(Checksums::INNER_L4) {
        let proto = match d.inner_l4.ok_or(mismatch)? {
            L4Proto::Tcp => ip_proto::TCP,
            L4Proto::Udp => ip_proto::UDP,
        };
        let len = if d.lso.is_some() {
            0
        } else {
            let end = inner_end(frame, d).ok_or(mismatch)?;
            (end - d.inner_l4_offset()) as u32
        };
        let seed = inner_pseudo(frame, d, proto, len).ok_or(mismatch)?.sum();
        let field = d.inner_l4_csum_offset().ok_or(mismatch)?;
        write16(frame, field, seed).ok_or(mismatch)?;
    }
    Ok(())
}
