//! The lookup structures the data path reads: exact-match maps and longest-prefix-match
//! tables, each in a fixed-capacity form (no allocation; full is an error value) and a
//! scalable form under the `alloc` feature — and [`fixed::FixedTables`], one host's
//! data-plane tables built from the fixed-capacity forms.

pub mod exact;
pub mod fixed;
pub mod lpm;

use core::fmt;

/// Why a table refused an insertion. The table is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TableError {
    /// A fixed-capacity table has no room left.
    Full,
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("table is full")
    }
}

#[cfg(feature = "std")]
impl std::error::Error for TableError {}
