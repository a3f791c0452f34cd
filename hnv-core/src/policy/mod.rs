//! HNV policy: the records of the `New-NetVirtualization*` cmdlets, the rules that make a
//! policy valid, and (with the compiled tables) what the data path reads.
//!
//! [`Prefix`], [`Rdid`], the record kinds ([`Rule`], [`RecordType`]), the entries the data
//! path reads and the table traits are plain and usable without allocation; the record
//! types, [`validate`], the policy model and `Tables` need the `alloc` feature.

mod dataplane;
mod prefix;
pub use dataplane::{
    LookupEntry, LookupTable, NeighborTable, ProviderRouteEntry, RecordType, RouteEntry,
    RouteTable, Rule, SubnetInfo,
};
pub use prefix::{GuidError, Prefix, PrefixError, Rdid};

#[cfg(feature = "alloc")]
mod compile;
#[cfg(feature = "alloc")]
mod error;
#[cfg(feature = "alloc")]
mod next_hop;
#[cfg(feature = "alloc")]
mod records;
#[cfg(feature = "alloc")]
mod validate;

#[cfg(feature = "alloc")]
pub use compile::{CompileError, FixedCompileError, PortEntry, Tables, VsidEntry};
#[cfg(feature = "alloc")]
pub use error::{Array, Field, HostArray, Location, PolicyError, Problem};
#[cfg(feature = "alloc")]
pub use next_hop::{NextHop, NoNextHop};
#[cfg(feature = "alloc")]
pub use records::{
    CustomerRoute, Host, LookupRecord, Neighbor, Policy, Port, ProviderAddress, ProviderRoute,
    Uplink,
};
#[cfg(feature = "alloc")]
pub use validate::{validate, MIN_UPLINK_MTU};

#[cfg(feature = "std")]
pub mod file;
