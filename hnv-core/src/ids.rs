//! Identifiers of HNV: virtual subnet IDs, NVGRE flow IDs and MAC addresses.
//!
//! IP addresses are `core::net` types throughout the crate.

use core::fmt;
use core::str::FromStr;

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// A virtual subnet ID that may carry tenant traffic: `4096..=16_777_214`.
///
/// The 24-bit VSID travels in the upper three bytes of the NVGRE key. Values below 4096
/// are reserved by RFC 7637 §3.4 (and overlap the VLAN range in HNV), `0xFFFFFF` is
/// reserved for vendor-specific use; a `Vsid` can hold neither, so a reserved VSID can
/// never be emitted. A port that is not virtualized has no `Vsid` at all — see
/// [`Vsid::for_port`].
///
/// ```
/// use hnv_core::ids::{Vsid, VsidError};
/// assert_eq!(Vsid::new(5001).unwrap().get(), 5001);
/// assert_eq!(Vsid::new(4095), Err(VsidError::Reserved(4095)));
/// assert_eq!(Vsid::for_port(0), Ok(None)); // 0 = not virtualized
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Vsid(u32);

/// Why a number is not a usable [`Vsid`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VsidError {
    /// 0 means "not virtualized": valid for a port setting, never on the wire.
    NotVirtualized,
    /// `1..=4095` (RFC 7637 §3.4 reserved range) or `0xFFFFFF` (vendor-specific).
    Reserved(u32),
    /// Does not fit in 24 bits.
    TooLarge(u32),
}

impl fmt::Display for VsidError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotVirtualized => f.write_str("VSID 0 means not virtualized"),
            Self::Reserved(v) => write!(f, "VSID {v} is reserved (valid: 4096..=16777214)"),
            Self::TooLarge(v) => write!(f, "VSID {v} does not fit in 24 bits"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for VsidError {}

impl Vsid {
    /// Lowest VSID usable by a VM.
    pub const MIN: u32 = 4096;
    /// Highest VSID usable by a VM.
    pub const MAX: u32 = 16_777_214;

    /// Validates a tenant VSID.
    pub const fn new(v: u32) -> Result<Self, VsidError> {
        match v {
            0 => Err(VsidError::NotVirtualized),
            Self::MIN..=Self::MAX => Ok(Self(v)),
            0x100_0000.. => Err(VsidError::TooLarge(v)),
            _ => Err(VsidError::Reserved(v)),
        }
    }

    /// Validates a port's `VirtualSubnetId` setting: 0 is `None` (not virtualized).
    pub const fn for_port(v: u32) -> Result<Option<Self>, VsidError> {
        match Self::new(v) {
            Ok(vsid) => Ok(Some(vsid)),
            Err(VsidError::NotVirtualized) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The numeric value.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// A VSID the caller has already validated with [`Vsid::new`] (the crate keeps the
    /// value of a validated key, e.g. in [`crate::nvgre::Nvgre`]).
    pub(crate) const fn from_key_unchecked(v: u32) -> Self {
        debug_assert!(v >= Self::MIN && v <= Self::MAX);
        Self(v)
    }
}

impl fmt::Display for Vsid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl TryFrom<u32> for Vsid {
    type Error = VsidError;
    fn try_from(v: u32) -> Result<Self, VsidError> {
        Self::new(v)
    }
}

/// The 8-bit NVGRE FlowID: the low byte of the GRE key (RFC 7637 §3.2).
///
/// Entropy for ECMP in the underlay. Transit devices must not change it; receivers ignore
/// it when matching. `FlowId(0)` is what an encapsulator without flow hashing sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FlowId(pub u8);

impl fmt::Display for FlowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:02x}", self.0)
    }
}

/// A 48-bit IEEE MAC address, laid out as on the wire.
///
/// Parses the three spellings HNV tools print: `00-15-5D-00-00-01` (PowerShell),
/// `00155D000001` (`Get-VMNetworkAdapter`) and `00:15:5d:00:00:01`; displays in the
/// PowerShell form.
///
/// ```
/// use hnv_core::ids::MacAddr;
/// let a: MacAddr = "00-15-5D-00-00-01".parse().unwrap();
/// assert_eq!(a, "00155d000001".parse().unwrap());
/// assert_eq!(a, "00:15:5d:00:00:01".parse().unwrap());
/// assert_eq!(a.to_string(), "00-15-5D-00-00-01");
/// ```
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    FromBytes,
    IntoBytes,
    KnownLayout,
    Immutable,
    Unaligned,
)]
#[repr(transparent)]
pub struct MacAddr(pub [u8; 6]);

/// Why a string is not a MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MacParseError {
    /// Not 12 hex digits, optionally in six pairs separated by one `-` or `:` throughout.
    BadFormat,
}

impl fmt::Display for MacParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "MAC address must look like 00-15-5D-00-00-01, 00155D000001 or 00:15:5d:00:00:01",
        )
    }
}

#[cfg(feature = "std")]
impl std::error::Error for MacParseError {}

impl MacAddr {
    /// `FF-FF-FF-FF-FF-FF`.
    pub const BROADCAST: Self = Self([0xff; 6]);
    /// `00-00-00-00-00-00`.
    pub const ZERO: Self = Self([0; 6]);

    /// True for the group (multicast or broadcast) bit.
    pub const fn is_multicast(self) -> bool {
        self.0[0] & 1 == 1
    }

    /// True for `FF-FF-FF-FF-FF-FF`.
    pub const fn is_broadcast(self) -> bool {
        matches!(self.0, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
    }

    /// True for a unicast address other than all zeros.
    pub const fn is_unicast(self) -> bool {
        !self.is_multicast() && !matches!(self.0, [0, 0, 0, 0, 0, 0])
    }

    /// The six bytes as the low 48 bits of a little-endian word (for hashing).
    pub(crate) const fn to_word(self) -> u64 {
        let [b0, b1, b2, b3, b4, b5] = self.0;
        u64::from_le_bytes([b0, b1, b2, b3, b4, b5, 0, 0])
    }
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl FromStr for MacAddr {
    type Err = MacParseError;

    fn from_str(s: &str) -> Result<Self, MacParseError> {
        let b = s.as_bytes();
        let (stride, sep) = match b.len() {
            12 => (2, None),
            17 => match b.get(2) {
                Some(&c @ (b'-' | b':')) => (3, Some(c)),
                _ => return Err(MacParseError::BadFormat),
            },
            _ => return Err(MacParseError::BadFormat),
        };
        let mut out = [0u8; 6];
        for (i, o) in out.iter_mut().enumerate() {
            let at = i * stride;
            let hi = b.get(at).copied().and_then(hex_digit);
            let lo = b.get(at + 1).copied().and_then(hex_digit);
            let (Some(hi), Some(lo)) = (hi, lo) else {
                return Err(MacParseError::BadFormat);
            };
            *o = hi << 4 | lo;
            if let (Some(sep), true) = (sep, i < 5) {
                if b.get(at + 2) != Some(&sep) {
                    return Err(MacParseError::BadFormat);
                }
            }
        }
        Ok(Self(out))
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [b0, b1, b2, b3, b4, b5] = self.0;
        write!(f, "{b0:02X}-{b1:02X}-{b2:02X}-{b3:02X}-{b4:02X}-{b5:02X}")
    }
}

impl From<[u8; 6]> for MacAddr {
    fn from(b: [u8; 6]) -> Self {
        Self(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::string::ToString;

    #[test]
    fn vsid_ranges() {
        assert_eq!(Vsid::new(0), Err(VsidError::NotVirtualized));
        assert_eq!(Vsid::new(1), Err(VsidError::Reserved(1)));
        assert_eq!(Vsid::new(4095), Err(VsidError::Reserved(4095)));
        assert_eq!(Vsid::new(4096).map(Vsid::get), Ok(4096));
        assert_eq!(Vsid::new(16_777_214).map(Vsid::get), Ok(16_777_214));
        assert_eq!(Vsid::new(0xff_ffff), Err(VsidError::Reserved(0xff_ffff)));
        assert_eq!(Vsid::new(0x100_0000), Err(VsidError::TooLarge(0x100_0000)));
        assert_eq!(Vsid::for_port(0), Ok(None));
        assert_eq!(Vsid::for_port(6001), Ok(Some(Vsid(6001))));
        assert_eq!(Vsid::for_port(7), Err(VsidError::Reserved(7)));
    }

    #[test]
    fn mac_spellings() {
        let want = MacAddr([0x00, 0x15, 0x5d, 0x00, 0x00, 0x01]);
        for s in [
            "00-15-5D-00-00-01",
            "00155D000001",
            "00:15:5d:00:00:01",
            "00155d000001",
        ] {
            assert_eq!(s.parse::<MacAddr>(), Ok(want), "{s}");
        }
        assert_eq!(want.to_string(), "00-15-5D-00-00-01");
    }

    #[test]
    fn mac_rejects() {
        for s in [
            "",
            "00-15-5D-00-00",
            "00-15-5D:00-00-01",
            "00155D00000G",
            "00.15.5D.00.00.01",
            "0-15-5D-00-00-01x",
            "00155D0000011",
            "+0155D000001",
        ] {
            assert_eq!(s.parse::<MacAddr>(), Err(MacParseError::BadFormat), "{s}");
        }
    }

    #[test]
    fn mac_kinds() {
        assert!(MacAddr::BROADCAST.is_broadcast() && MacAddr::BROADCAST.is_multicast());
        assert!(MacAddr([0x33, 0x33, 0, 0, 0, 1]).is_multicast());
        assert!(MacAddr([0x00, 0x15, 0x5d, 0, 0, 1]).is_unicast());
        assert!(!MacAddr::ZERO.is_unicast());
    }
}
