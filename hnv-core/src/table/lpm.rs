//! Longest-prefix match: the customer-route and provider-route tables.
//!
//! A table holds routes `(prefix, metric, value)` of both address families. A lookup
//! returns the route with the longest prefix that contains the address — IPv4 addresses only
//! match IPv4 prefixes and IPv6 addresses only IPv6 prefixes (`::ffff:10.0.0.1` does not
//! match `10.0.0.0/8`). Among routes for the same prefix the lowest metric wins, and among
//! equal metrics the route inserted first.
//!
//! * [`FixedLpm`] — no allocation, `N` prefixes at most ([`TableError::Full`] beyond that):
//!   a path-compressed binary trie in fixed arenas.
//! * `Lpm` (feature `alloc`) — built once by `LpmBuilder` and then only read (a policy
//!   update builds a new table and swaps it in): a leaf-pushed multibit trie per family
//!   with a direct-indexed first level (18 bits for IPv4, 16 for IPv6 at scale), then 6-bit
//!   nodes — plain 64-entry arrays for IPv4, bitmap-compressed (poptrie) nodes for IPv6.
//!
//! Both implement [`PrefixTable`].
//!
//! ```
//! use hnv_core::policy::Prefix;
//! use hnv_core::table::lpm::{FixedLpm, PrefixTable};
//! let mut t: FixedLpm<&str, 8> = FixedLpm::new();
//! t.insert("0.0.0.0/0".parse().unwrap(), 0, "default").unwrap();
//! t.insert("10.1.0.0/16".parse().unwrap(), 0, "vnet").unwrap();
//! t.insert("10.1.0.0/16".parse().unwrap(), 5, "worse metric, ignored").unwrap();
//! assert_eq!(t.lookup("10.1.2.3".parse().unwrap()), Some(&"vnet"));
//! assert_eq!(t.lookup("8.8.8.8".parse().unwrap()), Some(&"default"));
//! assert_eq!(t.lookup("::1".parse().unwrap()), None); // no IPv6 route
//! ```

use core::net::IpAddr;

use super::TableError;
use crate::policy::Prefix;

/// A longest-prefix-match table (read side).
pub trait PrefixTable<V> {
    /// The value of the longest prefix containing `addr` (same address family only); among
    /// routes for that prefix, the lowest metric, then the first inserted.
    fn lookup(&self, addr: IpAddr) -> Option<&V>;

    /// Like [`lookup`](Self::lookup), with the matched prefix and its metric.
    fn lookup_route(&self, addr: IpAddr) -> Option<(Prefix, u32, &V)>;

    /// Number of distinct prefixes held (one route per prefix is kept).
    fn len(&self) -> usize;

    /// True when the table holds no route.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `addr` as (family index: 0 IPv4, 1 IPv6; bits left-aligned in 128 bits; width).
const fn left_key(addr: IpAddr) -> (usize, u128, u8) {
    match addr {
        IpAddr::V4(a) => (0, (a.to_bits() as u128) << 96, 32),
        IpAddr::V6(a) => (1, a.to_bits(), 128),
    }
}

/// Bit `i` (0 = most significant) of a left-aligned key; `i` < 128.
const fn bit(key: u128, i: u8) -> usize {
    ((key >> (127 - (i & 127))) & 1) as usize
}

/// The first `len` bits of a left-aligned key, the rest cleared.
const fn first_bits(key: u128, len: u8) -> u128 {
    if len == 0 {
        0
    } else if len >= 128 {
        key
    } else {
        key & (u128::MAX << (128 - len as u32))
    }
}

// ---------------------------------------------------------------------------------------
// FixedLpm
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct FixedRoute<V> {
    prefix: Prefix,
    metric: u32,
    value: V,
}

/// "No node" / "no route" in [`FixedLpm`]'s arena links.
const NIL: u32 = u32::MAX;

/// A node of [`FixedLpm`]'s path-compressed binary trie: a prefix (a route's, or a branch
/// point where two routes' prefixes diverge) and the subtrees for the next bit 0 and 1.
#[derive(Debug, Clone, Copy)]
struct TrieNode {
    /// Prefix bits, left-aligned (IPv4 in the top 32 bits), host bits clear.
    key: u128,
    len: u8,
    /// Index into `routes`, or [`NIL`] for a pure branch point.
    route: u32,
    child: [u32; 2],
}

/// Where a node index is stored: a family's root or a node's child slot.
#[derive(Clone, Copy)]
enum Link {
    Root(usize),
    Child(u32, usize),
}

/// A longest-prefix-match table of at most `N` prefixes that never allocates.
///
/// A path-compressed binary trie per family (a node per route prefix, plus at most one
/// branch node per route where prefixes diverge) in fixed arenas: `N` routes and `2N`
/// nodes. A lookup walks from the root while the address stays inside the node's prefix,
/// remembering the last route passed, so it costs one step per nesting or branching level
/// (at most the address width), not per route. Meant for small tables (firmware, tests);
/// `Lpm` is the fast one at scale.
///
/// One route is held per prefix: inserting a route for a prefix already held replaces it
/// when the new metric is strictly lower and is otherwise dropped (the first inserted wins a
/// tie). Either way it takes no slot, so it succeeds even when the table is full; `Full`
/// is returned only for a new prefix when `N` prefixes are held.
#[derive(Debug, Clone)]
pub struct FixedLpm<V, const N: usize> {
    routes: heapless::Vec<FixedRoute<V>, N>,
    /// Nodes `0..N`.
    lo: heapless::Vec<TrieNode, N>,
    /// Nodes `N..2N`.
    hi: heapless::Vec<TrieNode, N>,
    /// Root node of the IPv4 and the IPv6 trie, or [`NIL`].
    roots: [u32; 2],
}

impl<V, const N: usize> Default for FixedLpm<V, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V, const N: usize> FixedLpm<V, N> {
    /// An empty table.
    pub const fn new() -> Self {
        Self {
            routes: heapless::Vec::new(),
            lo: heapless::Vec::new(),
            hi: heapless::Vec::new(),
            roots: [NIL; 2],
        }
    }

    /// The most prefixes the table can hold.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// Adds a route. For a prefix already held, the lower metric wins (the route held stays
    /// on a tie) and no slot is used. Fails with [`TableError::Full`], leaving the table
    /// unchanged, when the prefix is new and `N` prefixes are held.
    pub fn insert(&mut self, prefix: Prefix, metric: u32, value: V) -> Result<(), TableError> {
        let (family, key, _) = left_key(prefix.addr());
        let len = prefix.len();
        let route = FixedRoute {
            prefix,
            metric,
            value,
        };
        let mut link = Link::Root(family);
        loop {
            let at = self.link(link);
            let Some(&n) = self.node(at) else {
                // An empty subtree: the route becomes a leaf here.
                return self.add(link, key, len, [NIL; 2], None, route);
            };
            let common = ((key ^ n.key).leading_zeros() as u8).min(len).min(n.len);
            if common == n.len && n.len == len {
                // The prefix has a node already: a branch point, or a route held.
                if n.route == NIL {
                    let r = self.push_route(route)?;
                    if let Some(node) = self.node_mut(at) {
                        node.route = r;
                    }
                } else if let Some(held) = self.routes.get_mut(n.route as usize) {
                    if metric < held.metric {
                        *held = route;
                    }
                }
                return Ok(());
            }
            if common == n.len {
                // Inside this node's prefix: descend by the next bit.
                link = Link::Child(at, bit(key, n.len));
                continue;
            }
            if common == len {
                // The new prefix contains this node: it goes above it.
                let mut child = [NIL; 2];
                if let Some(c) = child.get_mut(bit(n.key, len)) {
                    *c = at;
                }
                return self.add(link, key, len, child, None, route);
            }
            // The prefixes diverge after `common` bits: a branch node there, with this
            // node and the new leaf below it.
            let mut child = [NIL; 2];
            if let Some(c) = child.get_mut(bit(n.key, common)) {
                *c = at;
            }
            return self.add(link, key, len, [NIL; 2], Some((common, child)), route);
        }
    }

    /// The routes held, in insertion order (the first inserted for each prefix, or the
    /// later one with a lower metric that replaced it).
    pub fn iter(&self) -> impl Iterator<Item = (Prefix, u32, &V)> + '_ {
        self.routes.iter().map(|r| (r.prefix, r.metric, &r.value))
    }

    fn node(&self, i: u32) -> Option<&TrieNode> {
        let i = i as usize;
        match i.checked_sub(N) {
            None => self.lo.get(i),
            Some(j) => self.hi.get(j),
        }
    }

    fn node_mut(&mut self, i: u32) -> Option<&mut TrieNode> {
        let i = i as usize;
        match i.checked_sub(N) {
            None => self.lo.get_mut(i),
            Some(j) => self.hi.get_mut(j),
        }
    }

    fn link(&self, link: Link) -> u32 {
        match link {
            Link::Root(f) => self.roots.get(f).copied().unwrap_or(NIL),
            Link::Child(n, b) => self
                .node(n)
                .and_then(|n| n.child.get(b))
                .copied()
                .unwrap_or(NIL),
        }
    }

    fn set_link(&mut self, link: Link, to: u32) {
        let slot = match link {
            Link::Root(f) => self.roots.get_mut(f),
            Link::Child(n, b) => self.node_mut(n).and_then(|n| n.child.get_mut(b)),
        };
        if let Some(slot) = slot {
            *slot = to;
        }
    }

    fn push_route(&mut self, route: FixedRoute<V>) -> Result<u32, TableError> {
        let r = u32::try_from(self.routes.len()).map_err(|_| TableError::Full)?;
        self.routes.push(route).map_err(|_| TableError::Full)?;
        Ok(r)
    }

    fn push_node(&mut self, node: TrieNode) -> u32 {
        let (at, pushed) = if self.lo.is_full() {
            (N + self.hi.len(), self.hi.push(node).is_ok())
        } else {
            (self.lo.len(), self.lo.push(node).is_ok())
        };
        match u32::try_from(at) {
            Ok(at) if pushed && at != NIL => at,
            _ => NIL,
        }
    }

    /// Adds `route` as a node `(key, len)` with children `child` at `link`; with `branch`
    /// `(bits, child)`, under a new branch node of the first `bits` bits instead. Checks
    /// every capacity first, so a refusal changes nothing.
    fn add(
        &mut self,
        link: Link,
        key: u128,
        len: u8,
        child: [u32; 2],
        branch: Option<(u8, [u32; 2])>,
        route: FixedRoute<V>,
    ) -> Result<(), TableError> {
        let nodes_needed = if branch.is_some() { 2 } else { 1 };
        let nodes_free = (N - self.lo.len()) + (N - self.hi.len());
        // A node per route plus at most one branch node per route: 2N nodes never run out
        // while routes fit, and index NIL is never reached by a table that fits in memory.
        if self.routes.is_full() || nodes_free < nodes_needed || N.saturating_mul(2) >= NIL as usize
        {
            return Err(TableError::Full);
        }
        let r = self.push_route(route)?;
        let leaf = self.push_node(TrieNode {
            key,
            len,
            route: r,
            child,
        });
        let top = match branch {
            None => leaf,
            Some((bits, mut child)) => {
                if let Some(c) = child.get_mut(bit(key, bits)) {
                    *c = leaf;
                }
                self.push_node(TrieNode {
                    key: first_bits(key, bits),
                    len: bits,
                    route: NIL,
                    child,
                })
            }
        };
        self.set_link(link, top);
        Ok(())
    }

    fn find(&self, addr: IpAddr) -> Option<&FixedRoute<V>> {
        let (family, a, width) = left_key(addr);
        let mut at = self.roots.get(family).copied().unwrap_or(NIL);
        let mut best = NIL;
        while let Some(n) = self.node(at) {
            if (a ^ n.key).leading_zeros() < u32::from(n.len) {
                break; // the address left this subtree's prefix
            }
            if n.route != NIL {
                best = n.route;
            }
            if n.len >= width {
                break;
            }
            at = n.child.get(bit(a, n.len)).copied().unwrap_or(NIL);
        }
        self.routes.get(best as usize)
    }
}

impl<V, const N: usize> PrefixTable<V> for FixedLpm<V, N> {
    fn lookup(&self, addr: IpAddr) -> Option<&V> {
        self.find(addr).map(|r| &r.value)
    }

    fn lookup_route(&self, addr: IpAddr) -> Option<(Prefix, u32, &V)> {
        self.find(addr).map(|r| (r.prefix, r.metric, &r.value))
    }

    fn len(&self) -> usize {
        self.routes.len()
    }
}

// ---------------------------------------------------------------------------------------
// Lpm
// ---------------------------------------------------------------------------------------

#[cfg(feature = "alloc")]
pub use trie::{Lpm, LpmBuilder};

#[cfg(feature = "alloc")]
mod trie {
    use alloc::boxed::Box;
    use alloc::vec;
    use alloc::vec::Vec;
    use core::fmt;
    use core::mem::size_of;
    use core::net::IpAddr;

    use super::PrefixTable;
    use crate::policy::Prefix;

    /// Bits consumed by each trie node below the first level.
    const STRIDE: u32 = 6;
    /// Slots in a node.
    const SLOTS: usize = 1 << STRIDE;
    /// "No route": a route index no table reaches (tables hold fewer than 2^31 − 1 routes).
    const NONE: u32 = 0x7FFF_FFFF;
    /// Entry flag (first level and IPv4 nodes): the rest is a node index, not a route index.
    const NODE: u32 = 0x8000_0000;
    /// First-level widths to choose from (the largest whose 2^bits entries stay at most
    /// [`ROOT_ENTRIES_PER_ROUTE`] per route of the family). They are ≡ 0 mod 6 for IPv4, so
    /// with 18 bits a /19–/24 is resolved one node below the first level, and ≡ 4 mod 6 for
    /// IPv6, so with 16 bits a /64 ends exactly on a node boundary.
    const V4_ROOT_BITS: [u32; 3] = [6, 12, 18];
    const V6_ROOT_BITS: [u32; 3] = [4, 10, 16];
    const ROOT_ENTRIES_PER_ROUTE: usize = 64;

    /// An IPv4 node: 64 entries, each a route index (possibly [`NONE`]) or `NODE | child`.
    type Dense = [u32; SLOTS];

    /// An IPv6 node (poptrie): 64 slots, each a child node or a leaf (a route index,
    /// possibly [`NONE`]). Children are stored contiguously from `child_base`; leaves are
    /// run-length compressed (a run of slots with the same route stores it once) from
    /// `leaf_base` in `Lpm::v6_leaves`.
    #[derive(Debug, Clone, Copy, Default)]
    struct Node {
        /// Bit `s`: slot `s` descends into child `child_base + (children below s)`.
        children: u64,
        /// Bit `s`: slot `s` is a leaf whose route differs from the previous leaf slot's.
        leaves: u64,
        child_base: u32,
        leaf_base: u32,
    }

    /// A longest-prefix-match table for many routes, built once by [`LpmBuilder`].
    ///
    /// Per family, a first level of 2^b entries indexed by the address's first b bits
    /// (b = 18 for IPv4 and 16 for IPv6 at scale, fewer for small tables), then 6-bit nodes.
    /// Routes are leaf-pushed at build time, so a lookup stops at the first leaf and an
    /// entry is a `u32` index into the route array.
    ///
    /// * IPv4 nodes are plain arrays of 64 entries (256 bytes): one read per level, so a
    ///   prefix up to /18 costs one array read and up to /24 one more.
    /// * IPv6 nodes, 5–8 levels deep for /48–/64, are poptrie nodes (Asai & Ohara,
    ///   SIGCOMM 2015): a child bitmap and a leaf bitmap (24 bytes) plus run-compressed
    ///   leaves, ranked by popcount.
    ///
    /// A lookup never allocates. Route and node counts must stay below 2^31 − 1.
    #[derive(Clone)]
    pub struct Lpm<V> {
        v4_root: Box<[u32]>,
        v4_bits: u32,
        v4_nodes: Box<[Dense]>,
        v6_root: Box<[u32]>,
        v6_bits: u32,
        v6_nodes: Box<[Node]>,
        v6_leaves: Box<[u32]>,
        routes: Box<[(Prefix, u32)]>,
        values: Box<[V]>,
    }

    impl<V> fmt::Debug for Lpm<V> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("Lpm")
                .field("routes", &self.routes.len())
                .field("v4_root", &self.v4_root.len())
                .field("v4_nodes", &self.v4_nodes.len())
                .field("v6_root", &self.v6_root.len())
                .field("v6_nodes", &self.v6_nodes.len())
                .field("v6_leaves", &self.v6_leaves.len())
                .field("memory_bytes", &self.memory_bytes())
                .finish_non_exhaustive()
        }
    }

    impl<V> Default for Lpm<V> {
        fn default() -> Self {
            LpmBuilder::new().build()
        }
    }

    impl<V> Lpm<V> {
        /// Bytes the table occupies: the struct and its arrays (not heap memory owned by
        /// the values themselves).
        pub fn memory_bytes(&self) -> usize {
            size_of::<Self>()
                + size_of::<u32>()
                    * (self.v4_root.len() + self.v6_root.len() + self.v6_leaves.len())
                + size_of::<Dense>() * self.v4_nodes.len()
                + size_of::<Node>() * self.v6_nodes.len()
                + size_of::<(Prefix, u32)>() * self.routes.len()
                + size_of::<V>() * self.values.len()
        }

        /// The routes held (one per prefix: the lowest metric, then the first inserted),
        /// sorted by prefix.
        pub fn iter(&self) -> impl Iterator<Item = (Prefix, u32, &V)> + '_ {
            self.routes
                .iter()
                .zip(self.values.iter())
                .map(|(&(p, m), v)| (p, m, v))
        }

        /// Index of the route for `addr`, or [`NONE`].
        #[inline]
        fn index(&self, addr: IpAddr) -> u32 {
            match addr {
                IpAddr::V4(a) => self.walk_v4(a.to_bits()),
                IpAddr::V6(a) => self.walk_v6(a.to_bits()),
            }
        }

        #[inline]
        fn walk_v4(&self, a: u32) -> u32 {
            let top = a.checked_shr(32u32.wrapping_sub(self.v4_bits)).unwrap_or(0);
            let Some(&first) = self.v4_root.get(top as usize) else {
                return NONE;
            };
            let mut entry = first;
            let mut depth = self.v4_bits;
            while entry & NODE != 0 {
                if depth >= 32 {
                    return NONE;
                }
                let Some(node) = self.v4_nodes.get((entry & !NODE) as usize) else {
                    return NONE;
                };
                let slot = (a << depth) >> (32 - STRIDE);
                entry = node.get(slot as usize).copied().unwrap_or(NONE);
                depth += STRIDE;
            }
            entry
        }

        /// Not inlined, so that `lookup` stays small enough to inline into callers' loops
        /// (measured: ~2 ns per IPv4 lookup).
        #[inline(never)]
        fn walk_v6(&self, a: u128) -> u32 {
            let top = a
                .checked_shr(128u32.wrapping_sub(self.v6_bits))
                .unwrap_or(0);
            let Some(&entry) = self.v6_root.get(top as usize) else {
                return NONE;
            };
            if entry & NODE == 0 {
                return entry;
            }
            let mut node = entry & !NODE;
            let mut depth = self.v6_bits;
            while depth < 128 {
                let Some(n) = self.v6_nodes.get(node as usize) else {
                    break;
                };
                let bit = 1u64 << ((a << depth) >> (128 - STRIDE)) as u32;
                if n.children & bit == 0 {
                    let rank = (n.leaves & (bit | (bit - 1))).count_ones();
                    let at = n.leaf_base.wrapping_add(rank).wrapping_sub(1);
                    return self.v6_leaves.get(at as usize).copied().unwrap_or(NONE);
                }
                node = n
                    .child_base
                    .wrapping_add((n.children & (bit - 1)).count_ones());
                depth += STRIDE;
            }
            NONE
        }
    }

    impl<V> PrefixTable<V> for Lpm<V> {
        #[inline]
        fn lookup(&self, addr: IpAddr) -> Option<&V> {
            self.values.get(self.index(addr) as usize)
        }

        fn lookup_route(&self, addr: IpAddr) -> Option<(Prefix, u32, &V)> {
            let i = self.index(addr) as usize;
            let &(prefix, metric) = self.routes.get(i)?;
            Some((prefix, metric, self.values.get(i)?))
        }

        fn len(&self) -> usize {
            self.routes.len()
        }
    }

    /// Collects routes for an [`Lpm`]; [`build`](Self::build) does the precomputation.
    #[derive(Debug, Clone)]
    pub struct LpmBuilder<V> {
        routes: Vec<(Prefix, u32, V)>,
    }

    impl<V> Default for LpmBuilder<V> {
        fn default() -> Self {
            Self::new()
        }
    }

    /// A route as the trie build sees it: the prefix left-aligned in 128 bits.
    #[derive(Clone, Copy)]
    struct Seed {
        key: u128,
        len: u32,
        route: u32,
    }

    /// The `width` bits of `key` from bit `depth` on.
    fn bits_at(key: u128, depth: u32, width: u32) -> usize {
        key.checked_shl(depth)
            .unwrap_or(0)
            .checked_shr(128u32.wrapping_sub(width))
            .unwrap_or(0) as usize
    }

    /// Writes each seed's route into the slots of `slots` (a level of `width` bits at
    /// `depth`) it covers. `seeds` come sorted by key, then length, so a prefix comes after
    /// every prefix containing it (a container's key is ≤ any key inside it) and the
    /// longest match overwrites last.
    fn paint<'a>(slots: &mut [u32], depth: u32, width: u32, seeds: impl Iterator<Item = &'a Seed>) {
        for s in seeds {
            let first = bits_at(s.key, depth, width);
            let count = 1usize << (depth + width).saturating_sub(s.len);
            if let Some(run) = slots.get_mut(first..first.saturating_add(count)) {
                run.fill(s.route);
            }
        }
    }

    fn index_u32(i: usize) -> u32 {
        u32::try_from(i).unwrap_or(NONE).min(NONE)
    }

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Family {
        V4,
        V6,
    }

    #[derive(Default)]
    struct TrieBuild {
        v4_nodes: Vec<Dense>,
        v6_nodes: Vec<Node>,
        v6_leaves: Vec<u32>,
    }

    impl TrieBuild {
        /// The first level for one family's seeds (sorted by key, then length).
        fn root(&mut self, family: Family, seeds: &[Seed], bits: u32) -> Vec<u32> {
            if seeds.is_empty() {
                return Vec::new();
            }
            let mut root = vec![NONE; 1usize << bits];
            paint(&mut root, 0, bits, seeds.iter().filter(|s| s.len <= bits));
            let long: Vec<Seed> = seeds.iter().filter(|s| s.len > bits).copied().collect();
            for group in long.chunk_by(|a, b| bits_at(a.key, 0, bits) == bits_at(b.key, 0, bits)) {
                let Some(first) = group.first() else {
                    continue;
                };
                let Some(entry) = root.get_mut(bits_at(first.key, 0, bits)) else {
                    continue;
                };
                let at = match family {
                    Family::V4 => self.v4_nodes.len(),
                    Family::V6 => self.v6_nodes.len(),
                };
                self.reserve(family, 1);
                self.node(family, at, bits, group, *entry);
                *entry = NODE | index_u32(at);
            }
            root
        }

        fn reserve(&mut self, family: Family, n: usize) {
            match family {
                Family::V4 => self
                    .v4_nodes
                    .resize(self.v4_nodes.len().saturating_add(n), [NONE; SLOTS]),
                Family::V6 => self
                    .v6_nodes
                    .resize(self.v6_nodes.len().saturating_add(n), Node::default()),
            }
        }

        /// Fills node `at` of the family, the node at `depth` for `seeds` (all longer than
        /// `depth`, sorted by key, then length), where `inherited` is the longest route
        /// covering the whole node.
        fn node(&mut self, family: Family, at: usize, depth: u32, seeds: &[Seed], inherited: u32) {
            let mut slots = [inherited; SLOTS];
            let short = seeds.iter().filter(|s| s.len <= depth + STRIDE);
            paint(&mut slots, depth, STRIDE, short);
            let long: Vec<Seed> = seeds
                .iter()
                .filter(|s| s.len > depth + STRIDE)
                .copied()
                .collect();
            let groups: Vec<(usize, &[Seed])> = long
                .chunk_by(|a, b| bits_at(a.key, depth, STRIDE) == bits_at(b.key, depth, STRIDE))
                .map(|g| (g.first().map_or(0, |s| bits_at(s.key, depth, STRIDE)), g))
                .collect();
            // The route each child inherits: its slot's, before the slot becomes a pointer.
            let inherit: Vec<u32> = groups
                .iter()
                .map(|&(s, _)| slots.get(s).copied().unwrap_or(NONE))
                .collect();
            let child_base = match family {
                Family::V4 => self.v4_nodes.len(),
                Family::V6 => self.v6_nodes.len(),
            };
            self.reserve(family, groups.len());
            match family {
                Family::V4 => {
                    let mut dense = slots;
                    for (j, &(s, _)) in groups.iter().enumerate() {
                        if let Some(e) = dense.get_mut(s) {
                            *e = NODE | index_u32(child_base + j);
                        }
                    }
                    if let Some(n) = self.v4_nodes.get_mut(at) {
                        *n = dense;
                    }
                }
                Family::V6 => {
                    let children = groups.iter().fold(0u64, |m, &(s, _)| m | (1u64 << s));
                    let leaf_base = index_u32(self.v6_leaves.len());
                    let mut leaves = 0u64;
                    let mut previous = None;
                    for (s, &route) in slots.iter().enumerate() {
                        if children & (1u64 << s) == 0 && previous != Some(route) {
                            leaves |= 1u64 << s;
                            self.v6_leaves.push(route);
                            previous = Some(route);
                        }
                    }
                    if let Some(n) = self.v6_nodes.get_mut(at) {
                        *n = Node {
                            children,
                            leaves,
                            child_base: index_u32(child_base),
                            leaf_base,
                        };
                    }
                }
            }
            for (j, (&(_, g), &inherited)) in groups.iter().zip(&inherit).enumerate() {
                self.node(family, child_base + j, depth + STRIDE, g, inherited);
            }
        }
    }

    /// The largest of `choices` with at most [`ROOT_ENTRIES_PER_ROUTE`] entries per route.
    fn root_bits(routes: usize, choices: [u32; 3]) -> u32 {
        let budget = routes.saturating_mul(ROOT_ENTRIES_PER_ROUTE);
        // `choices` ascend: keep the smallest, then any that fits the budget.
        choices.into_iter().fold(0, |best, b| {
            if best == 0 || 1usize << b <= budget {
                b
            } else {
                best
            }
        })
    }

    impl<V> LpmBuilder<V> {
        /// An empty builder.
        pub const fn new() -> Self {
            Self { routes: Vec::new() }
        }

        /// Adds a route. Several routes for one prefix may be added: the table keeps the
        /// one with the lowest metric, then the first inserted.
        pub fn insert(&mut self, prefix: Prefix, metric: u32, value: V) {
            self.routes.push((prefix, metric, value));
        }

        /// Routes added so far (counting every route for a repeated prefix).
        pub fn len(&self) -> usize {
            self.routes.len()
        }

        /// True when no route was added.
        pub fn is_empty(&self) -> bool {
            self.routes.is_empty()
        }

        /// Builds the table: a sort, then O(routes × levels) work plus the first levels.
        pub fn build(self) -> Lpm<V> {
            let mut all = self.routes;
            // Stable: equal prefix and metric keep insertion order, so dedup keeps the first.
            all.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
            all.dedup_by(|later, earlier| later.0 == earlier.0);

            let mut routes = Vec::with_capacity(all.len());
            let mut values = Vec::with_capacity(all.len());
            let mut v4 = Vec::new();
            let mut v6 = Vec::new();
            for (i, (prefix, metric, value)) in all.into_iter().enumerate() {
                let route = index_u32(i);
                let len = u32::from(prefix.len());
                match prefix.addr() {
                    IpAddr::V4(a) => v4.push(Seed {
                        key: u128::from(a.to_bits()) << 96,
                        len,
                        route,
                    }),
                    IpAddr::V6(a) => v6.push(Seed {
                        key: a.to_bits(),
                        len,
                        route,
                    }),
                }
                routes.push((prefix, metric));
                values.push(value);
            }
            // `Prefix` orders by address (IPv4 before IPv6, numerically), then length, so
            // each family's seeds are sorted by key, then length, as `TrieBuild` needs.
            let mut t = TrieBuild::default();
            let v4_bits = root_bits(v4.len(), V4_ROOT_BITS);
            let v4_root = t.root(Family::V4, &v4, v4_bits);
            let v6_bits = root_bits(v6.len(), V6_ROOT_BITS);
            let v6_root = t.root(Family::V6, &v6, v6_bits);
            Lpm {
                v4_root: v4_root.into_boxed_slice(),
                v4_bits,
                v4_nodes: t.v4_nodes.into_boxed_slice(),
                v6_root: v6_root.into_boxed_slice(),
                v6_bits,
                v6_nodes: t.v6_nodes.into_boxed_slice(),
                v6_leaves: t.v6_leaves.into_boxed_slice(),
                routes: routes.into_boxed_slice(),
                values: values.into_boxed_slice(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{Ipv4Addr, Ipv6Addr};
    use proptest::prelude::*;
    extern crate std;
    use std::vec::Vec;

    /// Bits in an address of `addr`'s family.
    const fn width(addr: IpAddr) -> u8 {
        left_key(addr).2
    }

    /// `a` as a 128-bit integer, IPv4 in the low 32 bits.
    const fn addr_bits(a: IpAddr) -> u128 {
        match a {
            IpAddr::V4(v4) => v4.to_bits() as u128,
            IpAddr::V6(v6) => v6.to_bits(),
        }
    }

    fn p(s: &str) -> Prefix {
        s.parse().unwrap()
    }

    fn a(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// The reference: a linear scan over every route inserted, in insertion order.
    fn naive(routes: &[(Prefix, u32)], addr: IpAddr) -> Option<(Prefix, u32, usize)> {
        let mut best: Option<(Prefix, u32, usize)> = None;
        for (i, &(prefix, metric)) in routes.iter().enumerate() {
            if !prefix.contains(addr) {
                continue;
            }
            let better = match best {
                None => true,
                Some((bp, bm, _)) => prefix.len() > bp.len() || (prefix == bp && metric < bm),
            };
            if better {
                best = Some((prefix, metric, i));
            }
        }
        best
    }

    fn fixed<const N: usize>(routes: &[(Prefix, u32)]) -> FixedLpm<usize, N> {
        let mut t = FixedLpm::new();
        for (i, &(prefix, metric)) in routes.iter().enumerate() {
            t.insert(prefix, metric, i).unwrap();
        }
        t
    }

    #[cfg(feature = "alloc")]
    fn built(routes: &[(Prefix, u32)]) -> Lpm<usize> {
        let mut b = LpmBuilder::new();
        for (i, &(prefix, metric)) in routes.iter().enumerate() {
            b.insert(prefix, metric, i);
        }
        assert_eq!(b.len(), routes.len());
        b.build()
    }

    fn found<T: PrefixTable<usize>>(t: &T, addr: IpAddr) -> Option<(Prefix, u32, usize)> {
        let r = t.lookup_route(addr).map(|(p, m, &v)| (p, m, v));
        assert_eq!(t.lookup(addr).copied(), r.map(|(_, _, v)| v), "{addr}");
        r
    }

    /// Checks both tables against the scan for `routes`, and that each lookup in `expect`
    /// gives the route at that index (None: no route).
    fn check(routes: &[(&str, u32)], expect: &[(&str, Option<usize>)]) {
        let routes: Vec<(Prefix, u32)> = routes.iter().map(|&(s, m)| (p(s), m)).collect();
        let f = fixed::<64>(&routes);
        #[cfg(feature = "alloc")]
        let l = built(&routes);
        for &(addr, want) in expect {
            let addr = a(addr);
            let scan = naive(&routes, addr);
            assert_eq!(scan.map(|r| r.2), want, "scan for {addr}");
            assert_eq!(found(&f, addr), scan, "FixedLpm for {addr}");
            #[cfg(feature = "alloc")]
            assert_eq!(found(&l, addr), scan, "Lpm for {addr}");
        }
    }

    #[test]
    fn empty() {
        let f: FixedLpm<u8, 4> = FixedLpm::default();
        assert!(f.is_empty());
        assert_eq!(f.lookup(a("10.0.0.1")), None);
        assert_eq!(f.lookup(a("::1")), None);
        #[cfg(feature = "alloc")]
        {
            let l: Lpm<u8> = LpmBuilder::new().build();
            assert!(l.is_empty() && l.len() == 0);
            assert_eq!(l.lookup(a("10.0.0.1")), None);
            assert_eq!(l.lookup_route(a("::1")), None);
            assert!(l.memory_bytes() < 256, "{}", l.memory_bytes());
            assert!(Lpm::<u8>::default().is_empty());
        }
    }

    #[test]
    fn default_route() {
        check(
            &[("0.0.0.0/0", 1)],
            &[
                ("10.0.0.1", Some(0)),
                ("255.255.255.255", Some(0)),
                ("0.0.0.0", Some(0)),
                ("::1", None),
            ],
        );
        check(
            &[("::/0", 1)],
            &[("fd00::1", Some(0)), ("::", Some(0)), ("10.0.0.1", None)],
        );
    }

    #[test]
    fn v4_and_v6_default_routes_are_separate() {
        check(
            &[
                ("::/0", 5),
                ("0.0.0.0/0", 7),
                ("10.0.0.0/8", 1),
                ("fd00::/8", 1),
            ],
            &[
                ("8.8.8.8", Some(1)),
                ("10.9.9.9", Some(2)),
                ("2001:db8::1", Some(0)),
                ("fd12::1", Some(3)),
                ("::ffff:10.0.0.1", Some(0)),
                ("::a00:1", Some(0)),
            ],
        );
    }

    #[test]
    fn family_separation() {
        // An IPv4 address never matches an IPv6 prefix with the same bits, and vice versa.
        check(
            &[("10.0.0.0/8", 0), ("::a00:0/104", 0), ("::ffff:0:0/96", 0)],
            &[
                ("10.1.2.3", Some(0)),
                ("::a01:203", Some(1)),
                ("::ffff:10.1.2.3", Some(2)),
                ("11.0.0.1", None),
            ],
        );
        check(&[("::/0", 0)], &[("0.0.0.0", None), ("1.2.3.4", None)]);
        check(&[("0.0.0.0/0", 0)], &[("::", None), ("::1.2.3.4", None)]);
    }

    #[test]
    fn nested_prefixes() {
        let routes = [
            ("10.0.0.0/8", 0),
            ("10.1.0.0/16", 0),
            ("10.1.2.0/24", 0),
            ("10.1.2.128/25", 0),
            ("10.1.2.3/32", 0),
            ("10.1.0.0/17", 0),
            ("fd00::/16", 0),
            ("fd00:1::/32", 0),
            ("fd00:1:2::/48", 0),
            ("fd00:1:2:3::/64", 0),
        ];
        check(
            &routes,
            &[
                ("10.1.2.3", Some(4)),
                ("10.1.2.4", Some(2)),
                ("10.1.2.200", Some(3)),
                ("10.1.3.1", Some(5)),
                ("10.1.200.1", Some(1)),
                ("10.2.0.0", Some(0)),
                ("11.0.0.0", None),
                ("9.255.255.255", None),
                ("fd00:1:2:3::9", Some(9)),
                ("fd00:1:2:4::9", Some(8)),
                ("fd00:1:3::", Some(7)),
                ("fd00:2::", Some(6)),
                ("fd01::", None),
            ],
        );
    }

    #[test]
    fn host_routes() {
        check(
            &[
                ("10.0.0.7/32", 0),
                ("10.0.0.0/24", 0),
                ("fd00::7/128", 0),
                ("fd00::/64", 0),
                ("255.255.255.255/32", 0),
                ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", 0),
            ],
            &[
                ("10.0.0.7", Some(0)),
                ("10.0.0.6", Some(1)),
                ("10.0.0.8", Some(1)),
                ("fd00::7", Some(2)),
                ("fd00::6", Some(3)),
                ("fd00::8", Some(3)),
                ("255.255.255.255", Some(4)),
                ("255.255.255.254", None),
                ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Some(5)),
                ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", None),
            ],
        );
    }

    #[test]
    fn lowest_metric_wins() {
        check(
            &[
                ("10.0.0.0/24", 10),
                ("10.0.0.0/24", 5),
                ("10.0.0.0/24", 7),
                ("10.0.0.0/8", 0),
            ],
            &[("10.0.0.1", Some(1)), ("10.0.1.1", Some(3))],
        );
        let f = fixed::<4>(&[
            (p("fd00::/64"), 3),
            (p("fd00::/64"), 1),
            (p("fd00::/64"), 2),
        ]);
        assert_eq!(f.len(), 1);
        assert_eq!(f.lookup_route(a("fd00::1")), Some((p("fd00::/64"), 1, &1)));
    }

    #[test]
    fn equal_metric_first_inserted_wins() {
        check(
            &[
                ("10.0.0.0/24", 5),
                ("10.0.0.0/24", 5),
                ("10.0.0.0/24", 9),
                ("fd00::/64", 2),
                ("fd00::/64", 2),
            ],
            &[("10.0.0.1", Some(0)), ("fd00::1", Some(3))],
        );
    }

    #[test]
    fn longer_prefix_beats_lower_metric() {
        check(
            &[("10.0.0.0/8", 0), ("10.0.0.0/24", u32::MAX)],
            &[("10.0.0.1", Some(1))],
        );
    }

    #[test]
    fn fixed_full_is_an_error_and_changes_nothing() {
        let mut t: FixedLpm<u32, 4> = FixedLpm::new();
        assert_eq!(t.capacity(), 4);
        let held = [
            p("10.0.0.0/8"),
            p("10.1.0.0/16"),
            p("fd00::/64"),
            p("0.0.0.0/0"),
        ];
        for (i, &prefix) in held.iter().enumerate() {
            t.insert(prefix, 1, i as u32).unwrap();
        }
        assert_eq!(t.len(), 4);
        assert_eq!(t.insert(p("10.1.2.0/24"), 0, 99), Err(TableError::Full));
        assert_eq!(t.insert(p("::/0"), 0, 99), Err(TableError::Full));
        assert_eq!(t.len(), 4);
        assert_eq!(
            t.lookup_route(a("10.1.2.3")),
            Some((p("10.1.0.0/16"), 1, &1))
        );
        assert_eq!(t.lookup(a("fd01::1")), None);
        for (i, &prefix) in held.iter().enumerate() {
            assert_eq!(
                t.lookup_route(prefix.first_host()),
                Some((prefix, 1, &(i as u32)))
            );
        }
        // A route for a held prefix needs no slot: a better metric replaces, a worse one
        // is dropped.
        assert_eq!(t.insert(p("10.0.0.0/8"), 0, 50), Ok(()));
        assert_eq!(t.insert(p("10.1.0.0/16"), 2, 51), Ok(()));
        assert_eq!(t.len(), 4);
        assert_eq!(
            t.lookup_route(a("10.9.0.1")),
            Some((p("10.0.0.0/8"), 0, &50))
        );
        assert_eq!(
            t.lookup_route(a("10.1.0.1")),
            Some((p("10.1.0.0/16"), 1, &1))
        );
        assert_eq!(t.iter().count(), 4);
    }

    /// Every length from 0 to the address width along one address, or every `step`-th:
    /// an address first differing at bit k matches the longest length ≤ k present.
    fn chain(top: IpAddr, step: u8, offset: u8) {
        let w = width(top);
        let routes: Vec<(Prefix, u32)> = (0..=w)
            .filter(|l| l % step == offset % step)
            .map(|l| (Prefix::truncating(top, l), 0))
            .collect();
        let f = fixed::<130>(&routes);
        #[cfg(feature = "alloc")]
        let l = built(&routes);
        let bits = addr_bits(top);
        let mut addrs: Vec<IpAddr> = (0..w)
            .map(|k| {
                let flipped = bits ^ (1u128 << (w - 1 - k));
                match top {
                    IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from_bits(flipped as u32)),
                    IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from_bits(flipped)),
                }
            })
            .collect();
        addrs.push(top);
        for addr in addrs {
            let scan = naive(&routes, addr);
            assert_eq!(found(&f, addr), scan, "FixedLpm for {addr}");
            #[cfg(feature = "alloc")]
            assert_eq!(found(&l, addr), scan, "Lpm for {addr}");
        }
    }

    #[test]
    fn every_prefix_length() {
        for top in [
            a("10.123.45.67"),
            a("255.255.255.255"),
            a("0.0.0.1"),
            a("2001:db8:1234:5678:9abc:def0:1357:9bdf"),
            a("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
            a("::1"),
        ] {
            for step in 1..=7 {
                for offset in 0..step {
                    chain(top, step, offset);
                }
            }
        }
    }

    /// A splitmix64 stream, for the larger deterministic test.
    fn splitmix(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Thousands of routes: first-level nodes with many children and long leaf runs.
    #[cfg(feature = "alloc")]
    #[test]
    fn many_routes_match_the_scan() {
        let mut s = 7;
        let mut routes = Vec::new();
        for _ in 0..3000 {
            let r = splitmix(&mut s);
            let v6 = r % 3 == 0;
            // Addresses clustered under a few /8s, so prefixes nest and share nodes.
            let top = (r >> 8) % 4;
            let bits = (u128::from(splitmix(&mut s)) << 64 | u128::from(splitmix(&mut s)))
                & (u128::MAX >> 8);
            let (addr, len) = if v6 {
                let x = (u128::from(0xf0 + top as u8) << 120) | bits;
                (IpAddr::V6(Ipv6Addr::from_bits(x)), (r >> 16) % 129)
            } else {
                let x = ((10 + top as u32) << 24) | (bits as u32 >> 8);
                (IpAddr::V4(Ipv4Addr::from_bits(x)), 8 + (r >> 16) % 25)
            };
            routes.push((Prefix::truncating(addr, len as u8), (r >> 32) as u32 % 3));
        }
        let l = built(&routes);
        assert!(l.len() <= routes.len() && l.len() > 2500);
        assert_eq!(l.iter().count(), l.len());
        for i in 0..6000usize {
            let r = splitmix(&mut s);
            let base = routes[(r as usize) % routes.len()].0;
            // Inside an inserted prefix with random host bits, or next to it.
            let noise = u128::from(splitmix(&mut s)) << 64 | u128::from(splitmix(&mut s));
            let keep = u32::from(base.len()).saturating_sub((r >> 40) as u32 % 3);
            let host = u32::from(width(base.addr())) - keep;
            let low = if host >= 128 {
                u128::MAX
            } else {
                (1u128 << host) - 1
            };
            let bits = addr_bits(base.addr()) ^ (noise & low);
            let addr = match base.addr() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from_bits(bits as u32)),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from_bits(bits)),
            };
            assert_eq!(found(&l, addr), naive(&routes, addr), "lookup {i}: {addr}");
        }
    }

    /// A random address of the family with, when `anchor` is given, its first `keep` bits.
    fn derive(v6: bool, anchor: u128, noise: u128, keep: u8) -> IpAddr {
        let w = if v6 { 128 } else { 32 };
        let keep = keep % (w + 1);
        let host = u32::from(w - keep);
        let low = if host >= 128 {
            u128::MAX
        } else {
            (1u128 << host) - 1
        };
        let bits = (anchor & !low) | (noise & low);
        if v6 {
            IpAddr::V6(Ipv6Addr::from_bits(bits))
        } else {
            IpAddr::V4(Ipv4Addr::from_bits(bits as u32))
        }
    }

    /// (v6, anchor choice, noise, kept bits, length, metric): a prefix near one of a few
    /// anchors so prefixes nest and repeat.
    type RouteSeed = (bool, usize, u128, u8, u8, u32);
    /// (v6, anchor or route choice, noise, kept bits).
    type AddrSeed = (bool, usize, u128, u8);

    fn routes_from(anchors: &[u128], seeds: &[RouteSeed]) -> Vec<(Prefix, u32)> {
        seeds
            .iter()
            .map(|&(v6, k, noise, keep, len, metric)| {
                let anchor = anchors[k % anchors.len()];
                let addr = derive(v6, anchor, noise, keep);
                (Prefix::truncating(addr, len % (width(addr) + 1)), metric)
            })
            .collect()
    }

    fn addrs_from(anchors: &[u128], routes: &[(Prefix, u32)], seeds: &[AddrSeed]) -> Vec<IpAddr> {
        seeds
            .iter()
            .map(|&(v6, k, noise, keep)| match k % 3 {
                // Fully random of either family.
                0 => derive(v6, 0, noise, 0),
                // Near an anchor.
                1 => derive(v6, anchors[k % anchors.len()], noise, keep),
                // Inside or beside an inserted prefix: its first len − (0..3) bits.
                _ => match routes.get(k % routes.len().max(1)) {
                    Some(&(prefix, _)) => derive(
                        prefix.addr().is_ipv6(),
                        addr_bits(prefix.addr()),
                        noise,
                        prefix.len().saturating_sub(keep % 3),
                    ),
                    None => derive(v6, 0, noise, 0),
                },
            })
            .collect()
    }

    fn compare(
        anchors: &[u128],
        route_seeds: &[RouteSeed],
        addr_seeds: &[AddrSeed],
    ) -> Result<(), TestCaseError> {
        let routes = routes_from(anchors, route_seeds);
        let f = fixed::<64>(&routes);
        prop_assert!(f.len() <= routes.len());
        #[cfg(feature = "alloc")]
        let l = built(&routes);
        #[cfg(feature = "alloc")]
        prop_assert_eq!(l.len(), f.len());
        for addr in addrs_from(anchors, &routes, addr_seeds) {
            let scan = naive(&routes, addr);
            prop_assert_eq!(found(&f, addr), scan, "FixedLpm for {}", addr);
            #[cfg(feature = "alloc")]
            prop_assert_eq!(found(&l, addr), scan, "Lpm for {}", addr);
        }
        Ok(())
    }

    fn route_seed(v6: impl Strategy<Value = bool>) -> impl Strategy<Value = RouteSeed> {
        (
            v6,
            0usize..8,
            any::<u128>(),
            any::<u8>(),
            any::<u8>(),
            0u32..4,
        )
    }

    fn addr_seed(v6: impl Strategy<Value = bool>) -> impl Strategy<Value = AddrSeed> {
        (v6, any::<usize>(), any::<u128>(), any::<u8>())
    }

    proptest! {
        #[test]
        fn ipv4_matches_linear_scan(
            anchors in proptest::collection::vec(any::<u128>(), 1..4),
            routes in proptest::collection::vec(route_seed(Just(false)), 0..48),
            addrs in proptest::collection::vec(addr_seed(Just(false)), 1..64),
        ) {
            compare(&anchors, &routes, &addrs)?;
        }

        #[test]
        fn ipv6_matches_linear_scan(
            anchors in proptest::collection::vec(any::<u128>(), 1..4),
            routes in proptest::collection::vec(route_seed(Just(true)), 0..48),
            addrs in proptest::collection::vec(addr_seed(Just(true)), 1..64),
        ) {
            compare(&anchors, &routes, &addrs)?;
        }

        /// A small `FixedLpm` filled past capacity: a new prefix beyond 16 is refused with
        /// `Full`, a repeated prefix never is, and the table answers like the scan over
        /// the routes it accepted.
        #[test]
        fn fixed_full_refuses_and_keeps_answering(
            anchors in proptest::collection::vec(any::<u128>(), 1..4),
            routes in proptest::collection::vec(route_seed(any::<bool>()), 0..40),
            addrs in proptest::collection::vec(addr_seed(any::<bool>()), 1..32),
        ) {
            let routes = routes_from(&anchors, &routes);
            let mut t: FixedLpm<usize, 16> = FixedLpm::new();
            let mut accepted: Vec<(Prefix, u32)> = Vec::new();
            for (i, &(prefix, metric)) in routes.iter().enumerate() {
                let held = accepted.iter().any(|&(p, m)| p == prefix && m != u32::MAX);
                let distinct = {
                    let mut d: Vec<Prefix> =
                        accepted.iter().filter(|r| r.1 != u32::MAX).map(|r| r.0).collect();
                    d.sort();
                    d.dedup();
                    d.len()
                };
                let r = t.insert(prefix, metric, i);
                if held || distinct < 16 {
                    prop_assert_eq!(r, Ok(()));
                    accepted.push((prefix, metric));
                } else {
                    prop_assert_eq!(r, Err(TableError::Full));
                    // Keep indices aligned with `routes`: a refused route is never found.
                    accepted.push((prefix, u32::MAX));
                }
            }
            let kept: Vec<(Prefix, u32, usize)> = accepted
                .iter()
                .enumerate()
                .filter(|(_, r)| r.1 != u32::MAX)
                .map(|(i, r)| (r.0, r.1, i))
                .collect();
            for addr in addrs_from(&anchors, &routes, &addrs) {
                let scan_routes: Vec<(Prefix, u32)> = kept.iter().map(|r| (r.0, r.1)).collect();
                let want = naive(&scan_routes, addr).map(|(p, m, k)| (p, m, kept[k].2));
                prop_assert_eq!(found(&t, addr), want, "FixedLpm for {}", addr);
            }
        }

        #[test]
        fn mixed_families_match_linear_scan(
            anchors in proptest::collection::vec(any::<u128>(), 1..4),
            routes in proptest::collection::vec(route_seed(any::<bool>()), 0..48),
            addrs in proptest::collection::vec(addr_seed(any::<bool>()), 1..64),
        ) {
            compare(&anchors, &routes, &addrs)?;
        }
    }
}
