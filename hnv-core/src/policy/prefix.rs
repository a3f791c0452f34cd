//! IP prefixes (`10.0.0.0/24`, `fd00::/64`) and routing-domain GUIDs.

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use core::str::FromStr;

/// An IPv4 or IPv6 prefix with no host bits set.
///
/// ```
/// use hnv_core::policy::Prefix;
/// let p: Prefix = "10.0.0.0/24".parse().unwrap();
/// assert!(p.contains("10.0.0.77".parse().unwrap()));
/// assert_eq!(p.first_host().to_string(), "10.0.0.1");
/// assert!("10.0.0.1/24".parse::<Prefix>().is_err()); // host bits set
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Prefix {
    addr: IpAddr,
    len: u8,
}

/// Why a prefix is not well-formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrefixError {
    /// Not `ADDRESS/LENGTH`.
    Syntax,
    /// Length longer than the address (32 or 128 bits).
    LengthTooLong(u8),
    /// Bits set after the prefix length.
    HostBitsSet,
}

impl fmt::Display for PrefixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Syntax => f.write_str("expected ADDRESS/LENGTH, e.g. 10.0.0.0/24"),
            Self::LengthTooLong(l) => write!(f, "prefix length {l} is longer than the address"),
            Self::HostBitsSet => f.write_str("address has bits set after the prefix length"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for PrefixError {}

const fn max_len(a: IpAddr) -> u8 {
    match a {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// `a` as a 128-bit integer: IPv4 in the low 32 bits.
pub(crate) const fn addr_bits(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v4) => v4.to_bits() as u128,
        IpAddr::V6(v6) => v6.to_bits(),
    }
}

// `len` is the prefix length, not a collection size: an `is_empty` would mean nothing.
#[allow(clippy::len_without_is_empty)]
impl Prefix {
    /// A prefix; fails when `len` is too long or `addr` has host bits.
    pub fn new(addr: IpAddr, len: u8) -> Result<Self, PrefixError> {
        let max = max_len(addr);
        if len > max {
            return Err(PrefixError::LengthTooLong(len));
        }
        let host_bits = u32::from(max - len);
        let mask = if host_bits >= 128 {
            u128::MAX
        } else {
            (1u128 << host_bits) - 1
        };
        if addr_bits(addr) & mask != 0 {
            return Err(PrefixError::HostBitsSet);
        }
        Ok(Self { addr, len })
    }

    /// The prefix containing `addr` with its host bits cleared.
    pub fn truncating(addr: IpAddr, len: u8) -> Self {
        let len = len.min(max_len(addr));
        let host_bits = u32::from(max_len(addr) - len);
        let mask = if host_bits >= 128 {
            0
        } else {
            !((1u128 << host_bits) - 1)
        };
        let bits = addr_bits(addr) & mask;
        let addr = match addr {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from_bits(bits as u32)),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from_bits(bits)),
        };
        Self { addr, len }
    }

    /// Network address.
    pub const fn addr(&self) -> IpAddr {
        self.addr
    }

    /// Prefix length in bits.
    pub const fn len(&self) -> u8 {
        self.len
    }

    /// True for `/0`.
    pub const fn is_default(&self) -> bool {
        self.len == 0
    }

    /// True when `a` (of the same family) is inside the prefix.
    pub fn contains(&self, a: IpAddr) -> bool {
        if self.addr.is_ipv4() != a.is_ipv4() {
            return false;
        }
        Self::truncating(a, self.len).addr == self.addr
    }

    /// The first host address (network + 1): the virtual subnet's default gateway in HNV.
    /// For a /31, /32, /127 or /128 it is the network address itself.
    pub fn first_host(&self) -> IpAddr {
        let bits = addr_bits(self.addr);
        let host_room = u32::from(max_len(self.addr) - self.len);
        let first = if host_room >= 2 { bits + 1 } else { bits };
        match self.addr {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from_bits(first as u32)),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from_bits(first)),
        }
    }
}

impl FromStr for Prefix {
    type Err = PrefixError;

    fn from_str(s: &str) -> Result<Self, PrefixError> {
        let (a, l) = s.split_once('/').ok_or(PrefixError::Syntax)?;
        let addr: IpAddr = a.parse().map_err(|_| PrefixError::Syntax)?;
        if l.is_empty() || l.len() > 3 || !l.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PrefixError::Syntax);
        }
        let len: u8 = l.parse().map_err(|_| PrefixError::Syntax)?;
        Self::new(addr, len)
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// A routing domain ID: the GUID that names one VM network.
///
/// Parsed with or without braces, any case; displayed as `{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}`
/// in upper case like PowerShell prints it.
///
/// ```
/// use hnv_core::policy::Rdid;
/// let r: Rdid = "{11111111-2222-3333-4444-000000000000}".parse().unwrap();
/// assert_eq!(r, "11111111-2222-3333-4444-000000000000".parse().unwrap());
/// assert_eq!(r.to_string(), "{11111111-2222-3333-4444-000000000000}");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Rdid(pub u128);

/// Why a string is not a GUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GuidError;

impl fmt::Display for GuidError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("expected a GUID like {11111111-2222-3333-4444-000000000000}")
    }
}

#[cfg(feature = "std")]
impl std::error::Error for GuidError {}

impl FromStr for Rdid {
    type Err = GuidError;

    fn from_str(s: &str) -> Result<Self, GuidError> {
        let inner = match (s.strip_prefix('{'), s.ends_with('}')) {
            (Some(rest), true) => rest.strip_suffix('}').ok_or(GuidError)?,
            (None, false) => s,
            _ => return Err(GuidError),
        };
        let b = inner.as_bytes();
        if b.len() != 36 {
            return Err(GuidError);
        }
        let mut v: u128 = 0;
        for (i, &c) in b.iter().enumerate() {
            if matches!(i, 8 | 13 | 18 | 23) {
                if c != b'-' {
                    return Err(GuidError);
                }
                continue;
            }
            let d = (c as char).to_digit(16).ok_or(GuidError)?;
            v = v << 4 | u128::from(d);
        }
        Ok(Self(v))
    }
}

impl fmt::Display for Rdid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        write!(
            f,
            "{{{:08X}-{:04X}-{:04X}-{:04X}-{:012X}}}",
            (v >> 96) as u32,
            (v >> 80) as u16,
            (v >> 64) as u16,
            (v >> 48) as u16,
            v & 0xffff_ffff_ffff
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::string::ToString;

    #[test]
    fn prefixes() {
        let p: Prefix = "192.168.0.0/16".parse().unwrap();
        assert_eq!(p.len(), 16);
        assert!(p.contains("192.168.4.11".parse().unwrap()));
        assert!(!p.contains("192.169.0.1".parse().unwrap()));
        assert!(!p.contains("::1".parse().unwrap()));
        assert_eq!(
            "10.0.0.1/24".parse::<Prefix>(),
            Err(PrefixError::HostBitsSet)
        );
        assert_eq!(
            "10.0.0.0/33".parse::<Prefix>(),
            Err(PrefixError::LengthTooLong(33))
        );
        for bad in [
            "10.0.0.0",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "x/8",
            "10.0.0.0/1000",
            "/8",
        ] {
            assert_eq!(bad.parse::<Prefix>(), Err(PrefixError::Syntax), "{bad}");
        }
        let d: Prefix = "0.0.0.0/0".parse().unwrap();
        assert!(d.is_default() && d.contains("8.8.8.8".parse().unwrap()));
        let v6: Prefix = "fd00:1::/64".parse().unwrap();
        assert_eq!(v6.first_host().to_string(), "fd00:1::1");
        assert!(v6.contains("fd00:1::abcd".parse().unwrap()));
        assert_eq!("::/0".parse::<Prefix>().unwrap().len(), 0);
        assert_eq!(
            "fd00::1/128"
                .parse::<Prefix>()
                .unwrap()
                .first_host()
                .to_string(),
            "fd00::1"
        );
        assert_eq!(
            Prefix::truncating("10.1.2.3".parse().unwrap(), 8).to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(
            Prefix::truncating("10.1.2.3".parse().unwrap(), 0).to_string(),
            "0.0.0.0/0"
        );
    }

    #[test]
    fn guids() {
        let r: Rdid = "{ABCDEF01-2345-6789-abcd-ef0123456789}".parse().unwrap();
        assert_eq!(r.0, 0xabcdef01_2345_6789_abcd_ef0123456789);
        assert_eq!(r.to_string(), "{ABCDEF01-2345-6789-ABCD-EF0123456789}");
        for bad in [
            "",
            "{11111111-2222-3333-4444-000000000000",
            "11111111-2222-3333-4444-000000000000}",
            "11111111-2222-3333-4444-00000000000",
            "11111111x2222-3333-4444-000000000000",
            "1111111g-2222-3333-4444-000000000000",
        ] {
            assert_eq!(bad.parse::<Rdid>(), Err(GuidError), "{bad}");
        }
    }
}
