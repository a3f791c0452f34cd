//! Exact-match maps: (VSID, CA) → record, (VSID, MAC) → port, PA → host.
//!
//! Two maps share one algorithm and the [`ExactMap`] trait:
//!
//! * [`FixedMap`] — `N` inline slots, no allocation, `const`-constructible; an insert that
//!   would take it past 7/8 of `N` entries is refused with [`TableError::Full`].
//! * [`GrowMap`] (feature `alloc`) — the same slots in one `Vec`, sized at two slots per
//!   entry (load 1/2) and rehashed into `2 × entries` slots before it passes 3/4 load.
//!
//! # Algorithm
//!
//! Open addressing with linear probing and Robin Hood ordering. Each occupied slot holds
//! the key, the value and its *probe distance* (how many slots past its home slot it sits),
//! inline, so a lookup reads consecutive slots (usually one or two cache lines) and nothing
//! else — no separate control-byte array, no pointer. The home slot is the multiply-shift
//! range reduction `(hash × slots) >> 64`, so the slot count need not be a power of two: a
//! table is sized for the load it should run at, not rounded up to the next power of two.
//!
//! Robin Hood keeps entries ordered by probe distance along every run, which bounds every
//! lookup — present or absent — by the longest displacement in the table: a lookup stops
//! at the first empty slot or at the first resident that is closer to its home than the
//! searched key would be. Deletion shifts the following displaced entries back by one
//! (backward-shift deletion), so there are no tombstones and a table that sees churn never
//! degrades. A table always keeps at least one slot in eight empty, so every probe loop
//! ends.
//!
//! # Load and speed
//!
//! A lookup that misses the cache costs one DRAM access plus, for each further probe, a
//! branch the CPU cannot predict; a mispredicted branch that waits for DRAM also stops the
//! CPU from overlapping the next lookups' misses. The probe count therefore decides speed
//! in large tables: with linear probing the mean displacement is about `α / (2(1 − α))` at
//! load `α` — 3.5 slots at 7/8, 1.5 at 3/4, 0.5 at 1/2. [`FixedMap`] spends probes to save
//! space (7/8: fixed tables are small and cache-resident); [`GrowMap`] spends space to save
//! probes (1/2 to 3/4 load, 37 to 56 bytes per `(CaKey, u32)` entry).
//!
//! # Bursts
//!
//! [`ExactMap::get_many`] looks up a burst of keys (the packets of one receive batch). It
//! computes the home slot of the key 16 places ahead and prefetches its cache lines while
//! the current key is probed, so in a table far larger than the caches the misses of many
//! lookups are in flight at once. At 1M records it takes about half the time of one `get`
//! per key (`docs/performance.md`). On targets other than x86-64 the prefetch is a no-op
//! and `get_many` is a plain loop.
//!
//! # Hash
//!
//! [`hash_words`] folds 64-bit words with multiply-rotate and finishes with the murmur3
//! 64-bit avalanche. It is deterministic, with no per-process random state: keys are
//! installed by the control plane (policy), which is trusted, so only policy could place
//! colliding keys; the data path only looks up, and packets choose which key is looked
//! up, never where keys sit. Collisions cost probe length, never correctness.

use core::mem;
use core::net::{IpAddr, Ipv6Addr};
use core::num::{NonZeroU32, NonZeroU8};

#[cfg(feature = "alloc")]
use alloc::vec::Vec;

use super::TableError;
use crate::ids::{MacAddr, Vsid};

/// A key of an exact-match table: small, `Copy`, compared with `==`, hashed by
/// [`TableKey::table_hash`].
pub trait TableKey: Copy + Eq {
    /// A well-mixed 64-bit hash; the tables use its high bits to pick the home slot.
    fn table_hash(&self) -> u64;
}

/// Odd multiplier of the key hash (2^64 / φ).
const HASH_MUL: u64 = 0x9e37_79b9_7f4a_7c15;

/// Hashes a fixed number of 64-bit words: each word is xored into the state, which is
/// multiplied by an odd constant and rotated; [`avalanche`] finishes. A single word maps
/// to a hash bijectively (no two one-word keys collide).
#[inline]
pub fn hash_words<const W: usize>(words: [u64; W]) -> u64 {
    let mut state = HASH_MUL ^ W as u64;
    for w in words {
        state = (state ^ w).wrapping_mul(HASH_MUL).rotate_left(29);
    }
    avalanche(state)
}

/// The murmur3 64-bit finaliser: every input bit flips each output bit with probability
/// close to 1/2. A bijection.
#[inline]
pub const fn avalanche(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// Address family tags: IPv4 is stored v4-mapped, so only the tag tells
/// `10.0.0.1` from `::ffff:10.0.0.1`.
const FAMILY_V4: u8 = 4;
const FAMILY_V6: u8 = 6;

/// The 16 address bytes (IPv4 as v4-mapped) and the family tag.
const fn addr_parts(ip: IpAddr) -> ([u8; 16], u8) {
    match ip {
        IpAddr::V4(a) => (a.to_ipv6_mapped().octets(), FAMILY_V4),
        IpAddr::V6(a) => (a.octets(), FAMILY_V6),
    }
}

/// Inverse of [`addr_parts`].
fn addr_of(bytes: [u8; 16], family: u8) -> IpAddr {
    let v6 = Ipv6Addr::from(bytes);
    match (family, v6.to_ipv4_mapped()) {
        (FAMILY_V4, Some(v4)) => IpAddr::V4(v4),
        _ => IpAddr::V6(v6),
    }
}

/// The 16 address bytes as two words.
#[inline]
const fn addr_words(bytes: [u8; 16]) -> (u64, u64) {
    let x = u128::from_le_bytes(bytes);
    (x as u64, (x >> 64) as u64)
}

/// Never 0 for the values it is given (a VSID is at least 4096; a family tag is 4 or 6);
/// the fallback keeps the constructors free of panics.
const fn non_zero(v: u32) -> NonZeroU32 {
    match NonZeroU32::new(v) {
        Some(n) => n,
        None => NonZeroU32::MAX,
    }
}

/// (VSID, customer address): the key of the CA → lookup-record table.
///
/// 20 bytes: the address as 16 bytes (IPv4 v4-mapped) and the 24-bit VSID with the address
/// family in the top byte, so IPv4 `a.b.c.d` and IPv6 `::ffff:a.b.c.d` are different keys.
/// The non-zero VSID word lets `Option<(CaKey, V)>` use no extra space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CaKey {
    ca: [u8; 16],
    vsid_family: NonZeroU32,
}

impl CaKey {
    /// The key of customer address `ca` in virtual subnet `vsid`.
    pub const fn new(vsid: Vsid, ca: IpAddr) -> Self {
        let (bytes, family) = addr_parts(ca);
        Self {
            ca: bytes,
            vsid_family: non_zero(vsid.get() | (family as u32) << 24),
        }
    }

    /// The VSID's numeric value ([`Vsid::get`] of the VSID it was built from).
    pub const fn vsid(&self) -> u32 {
        self.vsid_family.get() & 0x00ff_ffff
    }

    /// The customer address.
    pub fn ca(&self) -> IpAddr {
        addr_of(self.ca, (self.vsid_family.get() >> 24) as u8)
    }
}

impl TableKey for CaKey {
    #[inline]
    fn table_hash(&self) -> u64 {
        let (lo, hi) = addr_words(self.ca);
        hash_words([lo, hi, u64::from(self.vsid_family.get())])
    }
}

/// (VSID, MAC): the key of the per-subnet MAC table. 12 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MacKey {
    mac: [u8; 6],
    vsid: NonZeroU32,
}

impl MacKey {
    /// The key of `mac` in virtual subnet `vsid`.
    pub const fn new(vsid: Vsid, mac: MacAddr) -> Self {
        Self {
            mac: mac.0,
            vsid: non_zero(vsid.get()),
        }
    }

    /// The VSID's numeric value ([`Vsid::get`] of the VSID it was built from).
    pub const fn vsid(&self) -> u32 {
        self.vsid.get()
    }

    /// The MAC address.
    pub const fn mac(&self) -> MacAddr {
        MacAddr(self.mac)
    }
}

impl TableKey for MacKey {
    /// One 64×64→128-bit multiply of the MAC and the VSID (each XORed with a constant
    /// that has bits above the field's width, so neither factor is ever zero), its halves
    /// XORed. The destination MAC of every frame from a VM port is looked up here, and
    /// the hash is on that lookup's critical path: this is one multiply deep where
    /// [`hash_words`] is four.
    #[inline]
    fn table_hash(&self) -> u64 {
        let mac = MacAddr(self.mac).to_word();
        let product =
            u128::from(mac ^ HASH_MUL) * u128::from(u64::from(self.vsid.get()) ^ MAC_VSID_MUL);
        product as u64 ^ (product >> 64) as u64
    }
}

/// The VSID factor's constant in [`MacKey`]'s hash (odd, bits set far above 24).
const MAC_VSID_MUL: u64 = 0xc2b2_ae3d_27d4_eb4f;

/// A provider (underlay) address: the key of the PA → host table. 17 bytes: the address
/// (IPv4 v4-mapped) and a family tag, so IPv4 and v4-mapped IPv6 differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PaKey {
    pa: [u8; 16],
    family: NonZeroU8,
}

impl PaKey {
    /// The key of provider address `pa`.
    pub const fn new(pa: IpAddr) -> Self {
        let (bytes, family) = addr_parts(pa);
        Self {
            pa: bytes,
            family: match NonZeroU8::new(family) {
                Some(f) => f,
                None => NonZeroU8::MAX,
            },
        }
    }

    /// The provider address.
    pub fn pa(&self) -> IpAddr {
        addr_of(self.pa, self.family.get())
    }
}

impl TableKey for PaKey {
    #[inline]
    fn table_hash(&self) -> u64 {
        let (lo, hi) = addr_words(self.pa);
        if self.family.get() == FAMILY_V4 {
            // IPv4 (the usual underlay): the 4 address bytes and the tag in one word, one
            // mixing round instead of three.
            return hash_words([hi >> 32 | u64::from(FAMILY_V4) << 32]);
        }
        hash_words([lo, hi, u64::from(self.family.get())])
    }
}

/// A virtual subnet: the key of the per-VSID table. 4 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VsidKey(NonZeroU32);

impl VsidKey {
    /// The key of `vsid`.
    pub const fn new(vsid: Vsid) -> Self {
        Self(non_zero(vsid.get()))
    }

    /// The VSID's numeric value.
    pub const fn vsid(&self) -> u32 {
        self.0.get()
    }
}

impl TableKey for VsidKey {
    #[inline]
    fn table_hash(&self) -> u64 {
        hash_words([u64::from(self.0.get())])
    }
}

/// An exact-match map. Lookups never allocate; [`FixedMap`] never allocates at all.
pub trait ExactMap<K: TableKey, V> {
    /// The value stored under `key`.
    fn get(&self, key: &K) -> Option<&V>;

    /// Stores `value` under `key` and returns the value it replaces, if any. Replacing
    /// always succeeds; adding a key can fail with [`TableError::Full`], and then the map is
    /// unchanged.
    fn insert(&mut self, key: K, value: V) -> Result<Option<V>, TableError>;

    /// Removes `key` and returns its value.
    fn remove(&mut self, key: &K) -> Option<V>;

    /// Looks up a burst of keys at once: `out[j]` is set to [`ExactMap::get`]`(&keys[j])`
    /// for every `j` below `min(keys.len(), out.len())`; the rest of `out` is left as it
    /// is. Meant for the data path, which handles packets in bursts: [`FixedMap`] and
    /// `GrowMap` prefetch the slots of later keys while probing earlier ones, which in a
    /// table much larger than the CPU caches is several times faster than one `get` per
    /// key (see `docs/performance.md`). The default calls `get` in a loop.
    fn get_many<'a>(&'a self, keys: &[K], out: &mut [Option<&'a V>]) {
        for (k, o) in keys.iter().zip(out.iter_mut()) {
            *o = self.get(k);
        }
    }

    /// Starts loading the slots where `key` would be (a hint: the caller looks it up
    /// soon). A no-op by default and on targets other than x86-64.
    #[inline]
    fn prefetch(&self, key: &K) {
        let _ = key;
    }

    /// Number of entries.
    fn len(&self) -> usize;

    /// True when there are no entries.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An occupied slot. `dist` is how many slots past its home slot the entry sits; Robin
/// Hood probing compares it instead of rehashing the resident key.
#[derive(Debug, Clone)]
struct Entry<K, V> {
    key: K,
    value: V,
    dist: u32,
}

/// `None` is an empty slot. With a key that has a niche (all key types here do) the
/// `Option` costs no space: a `(CaKey, u32)` slot is 28 bytes.
type Slot<K, V> = Option<Entry<K, V>>;

/// Most entries a [`FixedMap`] of `slots` slots holds: ⌊7·slots/8⌋, so at least one slot
/// in eight stays empty (computed without overflow).
const fn max_load(slots: usize) -> usize {
    slots / 8 * 7 + slots % 8 * 7 / 8
}

/// The home slot of `hash` in a table of `slots` slots (`0` when `slots == 0`): the
/// multiply-shift reduction, uniform for any slot count.
#[inline]
fn home(hash: u64, slots: usize) -> usize {
    ((u128::from(hash) * slots as u128) >> 64) as usize
}

/// The slot after `i`, wrapping.
#[inline]
fn next(i: usize, slots: usize) -> usize {
    let j = i + 1;
    if j == slots {
        0
    } else {
        j
    }
}

/// The index of `key`'s slot.
///
/// Ends at an empty slot or at a resident with a smaller probe distance than the one the
/// key would have there; since the distance probed grows by one per step and residents'
/// distances are bounded, this takes at most (longest displacement + 1) steps. The key is
/// compared first (keys are unique, so a match is the entry whatever its distance): on a
/// hit that is one branch per probe.
#[inline]
fn find<K: TableKey, V>(slots: &[Slot<K, V>], key: &K) -> Option<usize> {
    find_from(slots, key, home(key.table_hash(), slots.len()))
}

/// [`find`] with the key's home slot already computed.
#[inline]
fn find_from<K: TableKey, V>(slots: &[Slot<K, V>], key: &K, home: usize) -> Option<usize> {
    let n = slots.len();
    let mut i = home;
    let mut dist = 0u32;
    loop {
        let e = slots.get(i)?.as_ref()?;
        if e.key == *key {
            return Some(i);
        }
        if e.dist < dist {
            return None;
        }
        dist += 1;
        i = next(i, n);
    }
}

/// The value of `key`.
#[inline]
fn get<'a, K: TableKey, V>(slots: &'a [Slot<K, V>], key: &K) -> Option<&'a V> {
    let i = find(slots, key)?;
    slots.get(i)?.as_ref().map(|e| &e.value)
}

/// How many keys ahead of the one being probed [`get_many`] prefetches.
const PREFETCH_AHEAD: usize = 16;

/// Asks the CPU to start loading the cache lines of slots `i` and `i + 1` (one or two
/// lines: a slot may straddle two, and a key not in its home slot is most often in the
/// next one; fetching only the home slot's lines measured slower). A hint only: it reads
/// nothing the program can observe and cannot fault. A no-op on targets other than
/// x86-64.
#[inline(always)]
fn prefetch_slot<K, V>(slots: &[Slot<K, V>], i: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let start = slots.as_ptr().wrapping_add(i).cast::<i8>();
        let end = start.wrapping_add(2 * mem::size_of::<Slot<K, V>>() - 1);
        // SAFETY: PREFETCHT0 is a hint that never dereferences its operand in a way the
        // program can observe and never faults, even for an address outside any mapping;
        // the pointers are only computed (`wrapping_add`) from a live slice, never read.
        // Measured need: 1M-record lookups in batches (docs/performance.md).
        #[allow(unsafe_code)]
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(start);
            _mm_prefetch::<_MM_HINT_T0>(end);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (slots, i);
    }
}

/// Below this many entries the tables' prefetch hints do nothing: an index and its
/// records (about 100 bytes an entry together) fit in a core's L2 cache, and a hint would
/// only repeat the lookup's work.
pub(crate) const PREFETCH_MIN_ENTRIES: usize = 16 * 1024;

/// Asks the CPU to start loading the cache lines of `value` (a hint, as
/// [`prefetch_slot`]). A no-op on targets other than x86-64.
#[inline(always)]
pub(crate) fn prefetch_value<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let start = core::ptr::from_ref(value).cast::<i8>();
        let end = start.wrapping_add(mem::size_of::<T>().saturating_sub(1));
        // SAFETY: as in `prefetch_slot`: PREFETCHT0 never faults and reads nothing the
        // program can observe; the pointers come from a live reference. Measured need: the
        // switch's record reads at 1M records (docs/performance.md, "Switch").
        #[allow(unsafe_code)]
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(start);
            _mm_prefetch::<_MM_HINT_T0>(end);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = value;
    }
}

/// Stage 1 of a batch's lookup of a key whose value indexes `records` (the lookup tables):
/// requests the index slot of `key`. Nothing below [`PREFETCH_MIN_ENTRIES`] records.
#[inline]
pub(crate) fn prefetch_indexed<K: TableKey, M: ExactMap<K, u32>, R>(
    index: &M,
    records: &[R],
    key: &K,
) {
    if records.len() >= PREFETCH_MIN_ENTRIES {
        index.prefetch(key);
    }
}

/// Stage 2, once the slot of [`prefetch_indexed`] has arrived: the index of `key`'s record
/// in `records`, whose lines are requested. `None` below [`PREFETCH_MIN_ENTRIES`] records
/// (nothing is looked up ahead) or when there is no such record.
#[inline]
pub(crate) fn look_ahead_indexed<K: TableKey, M: ExactMap<K, u32>, R>(
    index: &M,
    records: &[R],
    key: &K,
) -> Option<u32> {
    if records.len() < PREFETCH_MIN_ENTRIES {
        return None;
    }
    let i = *index.get(key)?;
    prefetch_value(records.get(i as usize)?);
    Some(i)
}

/// The batch look-ahead methods of `LookupTable` (`looks_ahead`, `prefetch_by_mac`,
/// `look_ahead_by_mac`) for tables whose MAC index is the field `by_mac` and whose records
/// are the field `records`: `Tables` and `FixedTables` alike.
macro_rules! mac_look_ahead {
    () => {
        #[inline]
        fn looks_ahead(&self) -> bool {
            self.records.len() >= $crate::table::exact::PREFETCH_MIN_ENTRIES
        }

        #[inline]
        fn prefetch_by_mac(&self, vsid: $crate::ids::Vsid, mac: $crate::ids::MacAddr) {
            let key = $crate::table::exact::MacKey::new(vsid, mac);
            $crate::table::exact::prefetch_indexed(&self.by_mac, &self.records, &key);
        }

        #[inline]
        fn look_ahead_by_mac(
            &self,
            vsid: $crate::ids::Vsid,
            mac: $crate::ids::MacAddr,
        ) -> Option<u32> {
            let key = $crate::table::exact::MacKey::new(vsid, mac);
            $crate::table::exact::look_ahead_indexed(&self.by_mac, &self.records, &key)
        }
    };
}
pub(crate) use mac_look_ahead;

/// Looks up a burst of keys: `out[j]` receives the value of `keys[j]` (for `j` below the
/// shorter length). While key `j` is probed, the home slot of key `j + PREFETCH_AHEAD` is
/// already being fetched, so the memory latency of a large table overlaps across the
/// burst instead of being paid key by key.
#[inline]
fn get_many<'a, K: TableKey, V>(slots: &'a [Slot<K, V>], keys: &[K], out: &mut [Option<&'a V>]) {
    let n = slots.len();
    let mut homes = [0usize; PREFETCH_AHEAD];
    for (h, k) in homes.iter_mut().zip(keys) {
        *h = home(k.table_hash(), n);
        prefetch_slot(slots, *h);
    }
    for (j, (k, o)) in keys.iter().zip(out.iter_mut()).enumerate() {
        let Some(h) = homes.get_mut(j % PREFETCH_AHEAD) else {
            return;
        };
        let here = *h;
        if let Some(ahead) = keys.get(j + PREFETCH_AHEAD) {
            *h = home(ahead.table_hash(), n);
            prefetch_slot(slots, *h);
        }
        *o = find_from(slots, k, here)
            .and_then(|i| slots.get(i)?.as_ref())
            .map(|e| &e.value);
    }
}

/// Places an entry for a key that is not in the table. The caller guarantees an empty
/// slot (fewer than `max_load` entries), so the walk ends within `slots.len()` steps; the
/// `false` return (entry dropped) is unreachable under that guarantee.
fn place<K, V>(slots: &mut [Slot<K, V>], hash: u64, key: K, value: V) -> bool {
    let n = slots.len();
    let mut i = home(hash, n);
    let mut carried = Entry {
        key,
        value,
        dist: 0,
    };
    for _ in 0..n {
        let Some(slot) = slots.get_mut(i) else {
            return false;
        };
        match slot {
            None => {
                *slot = Some(carried);
                return true;
            }
            // Robin Hood: the entry nearer its home gives way to the one farther away.
            Some(resident) if resident.dist < carried.dist => mem::swap(resident, &mut carried),
            Some(_) => {}
        }
        carried.dist += 1;
        i = next(i, n);
    }
    false
}

/// Replaces the value of an existing key or places a new one when `room` allows.
fn insert<K: TableKey, V>(
    slots: &mut [Slot<K, V>],
    len: &mut usize,
    room: bool,
    key: K,
    value: V,
) -> Result<Option<V>, TableError> {
    if let Some(e) = find(slots, &key).and_then(|i| slots.get_mut(i)?.as_mut()) {
        return Ok(Some(mem::replace(&mut e.value, value)));
    }
    if !room {
        return Err(TableError::Full);
    }
    if place(slots, key.table_hash(), key, value) {
        *len += 1;
        Ok(None)
    } else {
        Err(TableError::Full)
    }
}

/// Removes `key`, shifting the displaced entries after it back by one slot so no
/// tombstone is left.
fn remove<K: TableKey, V>(slots: &mut [Slot<K, V>], len: &mut usize, key: &K) -> Option<V> {
    let n = slots.len();
    let mut hole = find(slots, key)?;
    let removed = slots.get_mut(hole)?.take()?;
    *len -= 1;
    for _ in 1..n {
        let j = next(hole, n);
        let Some(slot) = slots.get_mut(j) else {
            break;
        };
        let Some(mut moved) = slot.take_if(|e| e.dist > 0) else {
            break;
        };
        moved.dist -= 1;
        if let Some(h) = slots.get_mut(hole) {
            *h = Some(moved);
        }
        hole = j;
    }
    Some(removed.value)
}

/// The entries of a slot array.
fn entries<K, V>(slots: &[Slot<K, V>]) -> impl Iterator<Item = (&K, &V)> {
    slots.iter().flatten().map(|e| (&e.key, &e.value))
}

/// A fixed-capacity exact-match map of `N` inline slots: no allocation, ever.
///
/// Holds at most ⌊7N/8⌋ entries ([`FixedMap::capacity`]); one more new key is refused with
/// [`TableError::Full`] and leaves the map unchanged. `N` may be any value in
/// `2..=u32::MAX` (checked at compile time); it need not be a power of two. The map is
/// `N` slots of `size_of::<Option<(K, V, u32)>>()` bytes each — 28 bytes for
/// `(CaKey, u32)` — plus a length.
///
/// ```
/// use core::net::{IpAddr, Ipv4Addr};
/// use hnv_core::ids::Vsid;
/// use hnv_core::table::exact::{CaKey, ExactMap, FixedMap};
/// use hnv_core::table::TableError;
///
/// let mut m: FixedMap<CaKey, u32, 8> = FixedMap::new();
/// let vsid = Vsid::new(5001).unwrap();
/// let key = |i| CaKey::new(vsid, IpAddr::V4(Ipv4Addr::new(10, 0, 0, i)));
/// for i in 0..7 {
///     assert_eq!(m.insert(key(i), u32::from(i)), Ok(None));
/// }
/// assert_eq!(m.insert(key(7), 7), Err(TableError::Full));
/// assert_eq!(m.insert(key(3), 30), Ok(Some(3))); // replacing still works
/// assert_eq!(m.get(&key(3)), Some(&30));
/// ```
///
/// A slot count that leaves no room (`N < 2`) does not compile:
///
/// ```compile_fail
/// use hnv_core::table::exact::{CaKey, FixedMap};
/// let m: FixedMap<CaKey, u32, 1> = FixedMap::new();
/// ```
#[derive(Debug, Clone)]
pub struct FixedMap<K, V, const N: usize> {
    slots: [Slot<K, V>; N],
    len: usize,
}

impl<K, V, const N: usize> FixedMap<K, V, N> {
    /// Compile-time check of `N`.
    const VALID_N: () = assert!(
        N >= 2 && N as u64 <= u32::MAX as u64,
        "FixedMap needs 2 <= N <= u32::MAX slots"
    );

    /// Most entries: ⌊7N/8⌋.
    pub const CAPACITY: usize = max_load(N);

    /// An empty map.
    pub const fn new() -> Self {
        let () = Self::VALID_N;
        Self {
            slots: [const { None }; N],
            len: 0,
        }
    }

    /// Most entries the map holds: ⌊7N/8⌋.
    pub const fn capacity(&self) -> usize {
        Self::CAPACITY
    }

    /// The value stored under `key`, to change in place.
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V>
    where
        K: TableKey,
    {
        let i = find(&self.slots, key)?;
        self.slots.get_mut(i)?.as_mut().map(|e| &mut e.value)
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.slots.iter_mut().for_each(|s| *s = None);
        self.len = 0;
    }

    /// The entries, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        entries(&self.slots)
    }
}

impl<K, V, const N: usize> Default for FixedMap<K, V, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: TableKey, V, const N: usize> ExactMap<K, V> for FixedMap<K, V, N> {
    #[inline]
    fn get(&self, key: &K) -> Option<&V> {
        get(&self.slots, key)
    }

    #[inline]
    fn prefetch(&self, key: &K) {
        prefetch_slot(&self.slots, home(key.table_hash(), self.slots.len()));
    }

    #[inline]
    fn get_many<'a>(&'a self, keys: &[K], out: &mut [Option<&'a V>]) {
        get_many(&self.slots, keys, out);
    }

    fn insert(&mut self, key: K, value: V) -> Result<Option<V>, TableError> {
        let room = self.len < Self::CAPACITY;
        insert(&mut self.slots, &mut self.len, room, key, value)
    }

    fn remove(&mut self, key: &K) -> Option<V> {
        remove(&mut self.slots, &mut self.len, key)
    }

    fn len(&self) -> usize {
        self.len
    }
}

/// A growable exact-match map: the slots of [`FixedMap`] in one `Vec`.
///
/// The load never passes 3/4: [`GrowMap::with_capacity`]`(n)` allocates `2n` slots (load
/// 1/2 at `n` entries; no power-of-two rounding), and an insert that would pass 3/4 load
/// first rehashes into `2 × entries` slots (×1.5; control-plane work). With 28-byte
/// `(CaKey, u32)` slots a map filled by inserts holds 37 to 56 bytes per entry (it does not
/// shrink on removal). Lookups and removals never allocate. An allocation that fails, or a table that would need more than `u32::MAX`
/// slots, makes `insert` return [`TableError::Full`] with the map unchanged.
#[cfg(feature = "alloc")]
#[derive(Debug, Clone)]
pub struct GrowMap<K, V> {
    slots: Vec<Slot<K, V>>,
    len: usize,
}

#[cfg(feature = "alloc")]
impl<K, V> GrowMap<K, V> {
    /// An empty map; allocates on the first insert.
    pub const fn new() -> Self {
        Self {
            slots: Vec::new(),
            len: 0,
        }
    }

    /// A map that holds `n` entries without growing. If that allocation fails the map
    /// starts empty (see [`GrowMap::try_with_capacity`] to observe the failure).
    pub fn with_capacity(n: usize) -> Self {
        Self::try_with_capacity(n).unwrap_or_default()
    }

    /// A map that holds `n` entries without growing, or [`TableError::Full`] when the
    /// slots cannot be allocated.
    pub fn try_with_capacity(n: usize) -> Result<Self, TableError> {
        Self::try_with_capacity_advised(n, |_, _| {})
    }

    /// [`GrowMap::try_with_capacity`], calling `advise(address, bytes)` with the slot
    /// array's memory after it is allocated and before it is first written (not called
    /// when `n == 0`). The hook for a `std` user to give the kernel advice about the
    /// memory while no page of it is mapped yet — e.g. `madvise(MADV_HUGEPAGE)`, so a
    /// large table is backed by huge pages and lookups miss the TLB less. hnv-core itself
    /// makes no system calls; the advice applies to this allocation only, not to the
    /// arrays of later growth.
    pub fn try_with_capacity_advised(
        n: usize,
        advise: impl FnOnce(usize, usize),
    ) -> Result<Self, TableError> {
        Ok(Self {
            slots: empty_slots_advised(slots_for(n)?, advise)?,
            len: 0,
        })
    }

    /// Entries the map holds before it next grows: ⌊3·slots/4⌋.
    pub fn capacity(&self) -> usize {
        grow_load(self.slots.len())
    }

    /// Heap bytes held by the map (its slot array).
    pub fn memory_bytes(&self) -> usize {
        self.slots.capacity() * mem::size_of::<Slot<K, V>>()
    }

    /// Removes every entry, keeping the allocation.
    pub fn clear(&mut self) {
        self.slots.iter_mut().for_each(|s| *s = None);
        self.len = 0;
    }

    /// The entries, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        entries(&self.slots)
    }
}

#[cfg(feature = "alloc")]
impl<K: TableKey, V> GrowMap<K, V> {
    /// Makes room for `additional` more entries without growing again, or
    /// [`TableError::Full`] (map unchanged) when that cannot be allocated.
    pub fn reserve(&mut self, additional: usize) -> Result<(), TableError> {
        let want = self.len.checked_add(additional).ok_or(TableError::Full)?;
        if want <= self.capacity() {
            return Ok(());
        }
        self.rehash(slots_for(want)?)
    }

    /// Moves every entry into a new array of `n` slots (`n` holds at least `len`).
    fn rehash(&mut self, n: usize) -> Result<(), TableError> {
        let mut fresh = empty_slots(n)?;
        for e in self.slots.drain(..).flatten() {
            place(&mut fresh, e.key.table_hash(), e.key, e.value);
        }
        self.slots = fresh;
        Ok(())
    }
}

#[cfg(feature = "alloc")]
impl<K, V> Default for GrowMap<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "alloc")]
impl<K: TableKey, V> ExactMap<K, V> for GrowMap<K, V> {
    #[inline]
    fn get(&self, key: &K) -> Option<&V> {
        get(&self.slots, key)
    }

    #[inline]
    fn prefetch(&self, key: &K) {
        prefetch_slot(&self.slots, home(key.table_hash(), self.slots.len()));
    }

    #[inline]
    fn get_many<'a>(&'a self, keys: &[K], out: &mut [Option<&'a V>]) {
        get_many(&self.slots, keys, out);
    }

    fn insert(&mut self, key: K, value: V) -> Result<Option<V>, TableError> {
        if self.len >= self.capacity() && find(&self.slots, &key).is_none() {
            self.rehash(slots_for(self.len + 1)?)?;
        }
        let room = self.len < self.capacity();
        insert(&mut self.slots, &mut self.len, room, key, value)
    }

    fn remove(&mut self, key: &K) -> Option<V> {
        remove(&mut self.slots, &mut self.len, key)
    }

    fn len(&self) -> usize {
        self.len
    }
}

/// Most entries a [`GrowMap`] of `slots` slots holds before it grows: ⌊3·slots/4⌋.
#[cfg(feature = "alloc")]
const fn grow_load(slots: usize) -> usize {
    slots / 4 * 3 + slots % 4 * 3 / 4
}

/// Slots a [`GrowMap`] allocates for `n` entries: `2n` (load 1/2), at least 8 (0 for 0);
/// [`TableError::Full`] past `u32::MAX` slots (probe distances are `u32`).
#[cfg(feature = "alloc")]
fn slots_for(n: usize) -> Result<usize, TableError> {
    if n == 0 {
        return Ok(0);
    }
    match n.checked_mul(2) {
        Some(slots) if u32::try_from(slots).is_ok() => Ok(slots.max(8)),
        _ => Err(TableError::Full),
    }
}

/// `n` empty slots in an allocation of exactly `n`, or [`TableError::Full`].
#[cfg(feature = "alloc")]
fn empty_slots<K, V>(n: usize) -> Result<Vec<Slot<K, V>>, TableError> {
    empty_slots_advised(n, |_, _| {})
}

/// [`empty_slots`], calling `advise(address, bytes)` between allocation and the first
/// write (skipped when nothing was allocated).
#[cfg(feature = "alloc")]
fn empty_slots_advised<K, V>(
    n: usize,
    advise: impl FnOnce(usize, usize),
) -> Result<Vec<Slot<K, V>>, TableError> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| TableError::Full)?;
    let bytes = v.capacity() * mem::size_of::<Slot<K, V>>();
    if bytes > 0 {
        advise(v.as_ptr() as usize, bytes);
    }
    v.resize_with(n, || None);
    Ok(v)
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use core::net::{Ipv4Addr, Ipv6Addr};
    use proptest::prelude::*;
    use std::collections::HashMap;
    use std::vec;
    use std::vec::Vec;

    fn vsid(v: u32) -> Vsid {
        Vsid::new(v).unwrap()
    }

    fn v4(i: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | i))
    }

    fn ca(i: u32) -> CaKey {
        CaKey::new(vsid(5001 + i % 3), v4(i))
    }

    /// Every entry sits at its recorded distance from its home, Robin Hood order holds
    /// (a successor is at most one farther than its predecessor, 0 after an empty slot),
    /// the length matches and every key is found where it sits.
    fn check_slots<K: TableKey + core::fmt::Debug, V>(slots: &[Slot<K, V>], len: usize) {
        let n = slots.len();
        let mut count = 0;
        for (i, s) in slots.iter().enumerate() {
            let Some(e) = s else { continue };
            count += 1;
            let h = home(e.key.table_hash(), n);
            assert_eq!(
                (h + e.dist as usize) % n,
                i,
                "{:?} displaced wrongly",
                e.key
            );
            let prev = &slots[(i + n - 1) % n];
            match prev {
                None => assert_eq!(e.dist, 0),
                Some(p) => assert!(e.dist <= p.dist + 1),
            }
            assert_eq!(find(slots, &e.key), Some(i));
        }
        assert_eq!(count, len);
        assert!(len <= max_load(n));
        if len > 0 {
            let empties = slots.iter().filter(|s| s.is_none()).count();
            assert!(empties >= 1);
        }
    }

    /// A key whose hash is constant: every entry lands in one run.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    struct Collide(u16);

    impl TableKey for Collide {
        fn table_hash(&self) -> u64 {
            0xdead_beef_0000_0000
        }
    }

    /// A key with only four distinct hashes, spread so runs wrap around the end.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    struct Weak(u16);

    impl TableKey for Weak {
        fn table_hash(&self) -> u64 {
            u64::from(self.0 % 4) * 0x4000_0000_0000_0000 + 0x3fff_ffff_ffff_ffff
        }
    }

    fn basic<M: ExactMap<CaKey, u32>>(mut m: M) {
        assert!(m.is_empty());
        assert_eq!(m.get(&ca(1)), None);
        assert_eq!(m.remove(&ca(1)), None);
        for i in 0..50 {
            assert_eq!(m.insert(ca(i), i), Ok(None));
        }
        assert_eq!(m.len(), 50);
        for i in 0..50 {
            assert_eq!(m.get(&ca(i)), Some(&i));
        }
        assert_eq!(m.get(&ca(50)), None);
        assert_eq!(m.insert(ca(7), 700), Ok(Some(7)));
        assert_eq!(m.get(&ca(7)), Some(&700));
        assert_eq!(m.len(), 50);
        assert_eq!(m.remove(&ca(7)), Some(700));
        assert_eq!(m.remove(&ca(7)), None);
        assert_eq!(m.get(&ca(7)), None);
        assert_eq!(m.len(), 49);
        assert_eq!(m.insert(ca(7), 7), Ok(None));
        for i in 0..50 {
            assert_eq!(m.get(&ca(i)), Some(&i));
        }
        for i in (0..50).step_by(2) {
            assert_eq!(m.remove(&ca(i)), Some(i));
        }
        for i in 0..50 {
            assert_eq!(m.get(&ca(i)), (i % 2 == 1).then_some(&i));
        }
        assert_eq!(m.len(), 25);
    }

    #[test]
    fn fixed_basic() {
        let m: FixedMap<CaKey, u32, 100> = FixedMap::new();
        basic(m);
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn grow_basic() {
        basic(GrowMap::<CaKey, u32>::new());
        basic(GrowMap::<CaKey, u32>::with_capacity(3));
        basic(GrowMap::<CaKey, u32>::with_capacity(1000));
    }

    #[test]
    fn fixed_full_is_typed_and_harmless() {
        // 61 slots (not a power of two): 53 entries.
        let mut m: FixedMap<CaKey, u32, 61> = FixedMap::new();
        assert_eq!(m.capacity(), 53);
        for i in 0..53 {
            assert_eq!(m.insert(ca(i), i), Ok(None), "{i}");
        }
        let before = m.slots.clone();
        for i in 53..200 {
            assert_eq!(m.insert(ca(i), i), Err(TableError::Full));
            assert_eq!(m.get(&ca(i)), None);
        }
        assert_eq!(m.len(), 53);
        for (a, b) in m.slots.iter().zip(&before) {
            assert_eq!(
                a.as_ref().map(|e| (e.key, e.value, e.dist)),
                b.as_ref().map(|e| (e.key, e.value, e.dist))
            );
        }
        for i in 0..53 {
            assert_eq!(m.get(&ca(i)), Some(&i));
        }
        // Replacing works when full; removing makes room for exactly one.
        assert_eq!(m.insert(ca(0), 1000), Ok(Some(0)));
        assert_eq!(m.remove(&ca(10)), Some(10));
        assert_eq!(m.insert(ca(100), 100), Ok(None));
        assert_eq!(m.insert(ca(101), 101), Err(TableError::Full));
        check_slots(&m.slots, m.len());
    }

    #[test]
    fn tiny_fixed() {
        let mut m: FixedMap<Collide, u8, 2> = FixedMap::new();
        assert_eq!(m.capacity(), 1);
        assert_eq!(m.insert(Collide(1), 1), Ok(None));
        assert_eq!(m.insert(Collide(2), 2), Err(TableError::Full));
        assert_eq!(m.remove(&Collide(1)), Some(1));
        assert_eq!(m.insert(Collide(2), 2), Ok(None));
        assert_eq!(m.get(&Collide(2)), Some(&2));
        assert_eq!(m.get(&Collide(1)), None);
    }

    /// Runs the same constant-hash workload on any map; 262 keys in one run.
    fn collision_heavy_on<M: ExactMap<Collide, u32>>(
        m: &mut M,
        slots: impl Fn(&M) -> &[Slot<Collide, u32>],
    ) {
        for i in 0..262u16 {
            assert_eq!(m.insert(Collide(i), u32::from(i)), Ok(None));
        }
        check_slots(slots(m), m.len());
        for i in 0..262u16 {
            assert_eq!(m.get(&Collide(i)), Some(&u32::from(i)));
        }
        assert_eq!(m.get(&Collide(999)), None);
        for i in (0..262u16).filter(|i| i % 3 == 0) {
            assert_eq!(m.remove(&Collide(i)), Some(u32::from(i)));
        }
        check_slots(slots(m), m.len());
        for i in 0..262u16 {
            let want = (i % 3 != 0).then_some(u32::from(i));
            assert_eq!(m.get(&Collide(i)).copied(), want);
        }
    }

    #[test]
    fn collision_heavy() {
        let mut f: FixedMap<Collide, u32, 300> = FixedMap::new();
        collision_heavy_on(&mut f, |m| &m.slots);
        for i in 0..262u16 {
            let _ = f.insert(Collide(1000 + i), 0);
        }
        assert_eq!(f.len(), 262);
        assert_eq!(f.insert(Collide(999), 0), Err(TableError::Full));
        check_slots(&f.slots, f.len());
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn collision_heavy_grow() {
        let mut g: GrowMap<Collide, u32> = GrowMap::new();
        collision_heavy_on(&mut g, |m| &m.slots);
    }

    #[test]
    fn wrapping_runs() {
        let mut m: FixedMap<Weak, u16, 16> = FixedMap::new();
        for i in 0..14u16 {
            assert_eq!(m.insert(Weak(i), i), Ok(None));
            check_slots(&m.slots, m.len());
        }
        for i in 0..14u16 {
            assert_eq!(m.remove(&Weak(i)), Some(i));
            check_slots(&m.slots, m.len());
            for j in i + 1..14 {
                assert_eq!(m.get(&Weak(j)), Some(&j));
            }
        }
        assert!(m.is_empty());
        assert!(m.slots.iter().all(Option::is_none), "no tombstones left");
    }

    #[test]
    fn remove_then_reinsert_churn() {
        let mut m: FixedMap<CaKey, u32, 64> = FixedMap::new();
        for i in 0..56 {
            m.insert(ca(i), i).unwrap();
        }
        // Churn far more than the slot count: a tombstone scheme would fill up.
        for round in 0..1000u32 {
            let old = round % 56 + round / 56 * 56;
            let new = old + 56;
            assert_eq!(m.remove(&ca(old)), Some(old));
            assert_eq!(m.insert(ca(new), new), Ok(None));
        }
        check_slots(&m.slots, m.len());
        assert_eq!(m.len(), 56);
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn grow_keeps_entries_and_memory() {
        let mut m: GrowMap<CaKey, u32> = GrowMap::new();
        assert_eq!(m.memory_bytes(), 0);
        for i in 0..10_000 {
            assert_eq!(m.insert(ca(i), i), Ok(None));
        }
        check_slots(&m.slots, m.len());
        for i in 0..10_000 {
            assert_eq!(m.get(&ca(i)), Some(&i));
        }
        assert_eq!(mem::size_of::<Slot<CaKey, u32>>(), 28);
        // Load stays in [1/2, 3/4] once past the 8-slot minimum.
        assert!(m.len() * 4 <= m.slots.len() * 3 && m.len() * 2 >= m.slots.len() / 2);
        let sized = GrowMap::<CaKey, u32>::with_capacity(1_000_000);
        assert_eq!(sized.capacity(), 1_500_000);
        assert_eq!(sized.memory_bytes(), 2_000_000 * 28);
        let mut r = GrowMap::<CaKey, u32>::new();
        r.reserve(100).unwrap();
        let bytes = r.memory_bytes();
        for i in 0..100 {
            r.insert(ca(i), i).unwrap();
        }
        assert_eq!(r.memory_bytes(), bytes, "reserve made room for 100");
        assert_eq!(r.reserve(usize::MAX), Err(TableError::Full));
        assert_eq!(r.len(), 100);
    }

    #[test]
    fn key_families_distinct() {
        let v = vsid(5001);
        let a = Ipv4Addr::new(10, 1, 2, 3);
        let k4 = CaKey::new(v, IpAddr::V4(a));
        let k6 = CaKey::new(v, IpAddr::V6(a.to_ipv6_mapped()));
        let k6c = CaKey::new(v, IpAddr::V6(Ipv6Addr::from(u128::from(u32::from(a)))));
        assert_ne!(k4, k6);
        assert_ne!(k4, k6c);
        assert_ne!(k4.table_hash(), k6.table_hash());
        assert_eq!(k4.ca(), IpAddr::V4(a));
        assert_eq!(k6.ca(), IpAddr::V6(a.to_ipv6_mapped()));
        assert_eq!(k4.vsid(), 5001);
        assert_ne!(k4, CaKey::new(vsid(5002), IpAddr::V4(a)));

        let p4 = PaKey::new(IpAddr::V4(a));
        let p6 = PaKey::new(IpAddr::V6(a.to_ipv6_mapped()));
        assert_ne!(p4, p6);
        assert_eq!(p4.pa(), IpAddr::V4(a));
        assert_eq!(p6.pa(), IpAddr::V6(a.to_ipv6_mapped()));

        let mac = MacAddr([0x00, 0x15, 0x5d, 0, 0, 1]);
        let m1 = MacKey::new(v, mac);
        assert_eq!((m1.vsid(), m1.mac()), (5001, mac));
        assert_ne!(m1, MacKey::new(vsid(5002), mac));

        let mut m: FixedMap<CaKey, &str, 8> = FixedMap::new();
        m.insert(k4, "v4").unwrap();
        m.insert(k6, "v6").unwrap();
        assert_eq!(m.get(&k4), Some(&"v4"));
        assert_eq!(m.get(&k6), Some(&"v6"));
        let mut p: FixedMap<PaKey, u8, 8> = FixedMap::new();
        p.insert(p4, 4).unwrap();
        assert_eq!(p.get(&p6), None);
    }

    #[test]
    fn compact_keys() {
        assert_eq!(mem::size_of::<CaKey>(), 20);
        assert_eq!(mem::size_of::<MacKey>(), 12);
        assert_eq!(mem::size_of::<PaKey>(), 17);
        assert_eq!(mem::size_of::<Option<CaKey>>(), 20);
    }

    #[test]
    fn ipv4_pa_hash_spreads_and_differs_from_v4_mapped() {
        // The one-word IPv4 PA hash: 65,536 sequential PAs fill 1024 buckets evenly, and
        // an IPv4 PA and its v4-mapped IPv6 form hash (and compare) differently.
        assert_spreads(
            (0..65_536u32).map(|i| PaKey::new(IpAddr::V4(Ipv4Addr::from(0xc0a8_0000 | i)))),
        );
        let v4 = Ipv4Addr::new(192, 168, 4, 22);
        let (k4, k6) = (
            PaKey::new(IpAddr::V4(v4)),
            PaKey::new(IpAddr::V6(v4.to_ipv6_mapped())),
        );
        assert_ne!(k4, k6);
        assert_ne!(k4.table_hash(), k6.table_hash());
        assert_eq!(k4.pa(), IpAddr::V4(v4));
    }

    #[test]
    fn mac_hash_spreads_sequential_macs_and_vsids() {
        // Sequential MACs (the last bytes counting, as MAC pools assign them) in one VSID,
        // and one MAC in sequential VSIDs, each fill 1024 buckets evenly.
        let mac = |i: u32| {
            let b = i.to_be_bytes();
            MacAddr([0x00, 0x15, b[0], b[1], b[2], b[3]])
        };
        assert_spreads((0..65_536).map(|i| MacKey::new(vsid(5001), mac(i))));
        assert_spreads((4096..4096 + 65_536).map(|v| MacKey::new(vsid(v), mac(7))));
    }

    /// 65,536 keys fill 1024 buckets (home slots) evenly: every bucket gets 32 to 100
    /// (64 on average).
    fn assert_spreads<K: TableKey>(keys: impl Iterator<Item = K>) {
        let mut buckets = [0u32; 1024];
        for k in keys {
            buckets[home(k.table_hash(), 1024)] += 1;
        }
        assert_eq!(buckets.iter().sum::<u32>(), 65_536);
        let max = buckets.iter().max().copied().unwrap();
        let min = buckets.iter().min().copied().unwrap();
        assert!(
            (32..=100).contains(&min) && (32..=100).contains(&max),
            "{min} {max}"
        );
    }

    #[test]
    fn hash_spreads_sequential_keys() {
        // Sequential addresses in one subnet fill 1024 buckets evenly.
        assert_spreads((0..65_536).map(ca));
    }

    #[test]
    fn non_alloc_values() {
        // V needs neither Copy nor Default.
        let mut m: FixedMap<MacKey, std::string::String, 16> = FixedMap::new();
        let k = MacKey::new(vsid(6001), MacAddr([2, 0, 0, 0, 0, 1]));
        m.insert(k, "a".into()).unwrap();
        assert_eq!(m.insert(k, "b".into()).unwrap().as_deref(), Some("a"));
        assert_eq!(m.iter().count(), 1);
        m.clear();
        assert!(m.is_empty() && m.get(&k).is_none());
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u16, u32),
        Remove(u16),
        Get(u16),
    }

    fn ops(keys: u16) -> impl Strategy<Value = Vec<Op>> {
        let op = prop_oneof![
            3 => (0..keys, any::<u32>()).prop_map(|(k, v)| Op::Insert(k, v)),
            2 => (0..keys).prop_map(Op::Remove),
            2 => (0..keys).prop_map(Op::Get),
        ];
        proptest::collection::vec(op, 0..400)
    }

    /// Runs `ops` on `map` and on a HashMap model; `cap` is the map's entry limit (the
    /// model refuses a new key at that size, like a full FixedMap).
    fn run_model<K, M>(
        mut map: M,
        cap: usize,
        ops: &[Op],
        key: impl Fn(u16) -> K,
        slots: impl Fn(&M) -> &[Slot<K, u32>],
    ) -> Result<(), TestCaseError>
    where
        K: TableKey + core::hash::Hash + core::fmt::Debug,
        M: ExactMap<K, u32>,
    {
        let mut model: HashMap<K, u32> = HashMap::new();
        for op in ops {
            match *op {
                Op::Insert(k, v) => {
                    let k = key(k);
                    let want = if model.contains_key(&k) || model.len() < cap {
                        Ok(model.insert(k, v))
                    } else {
                        Err(TableError::Full)
                    };
                    prop_assert_eq!(map.insert(k, v), want);
                }
                Op::Remove(k) => {
                    let k = key(k);
                    prop_assert_eq!(map.remove(&k), model.remove(&k));
                }
                Op::Get(k) => {
                    let k = key(k);
                    prop_assert_eq!(map.get(&k), model.get(&k));
                }
            }
            prop_assert_eq!(map.len(), model.len());
        }
        check_slots(slots(&map), map.len());
        for (k, v) in &model {
            prop_assert_eq!(map.get(k), Some(v));
        }
        // A burst over present and absent keys (more than the prefetch distance) answers
        // like the model, key by key.
        let probe: Vec<K> = (0..100u16).map(&key).collect();
        let mut out = vec![None; probe.len()];
        map.get_many(&probe, &mut out);
        for (k, got) in probe.iter().zip(&out) {
            prop_assert_eq!(*got, model.get(k));
        }
        Ok(())
    }

    /// An [`ExactMap`] with only `get`: its `get_many` is the trait's default.
    struct Plain<'a>(&'a FixedMap<CaKey, u32, 64>);
    impl ExactMap<CaKey, u32> for Plain<'_> {
        fn get(&self, key: &CaKey) -> Option<&u32> {
            self.0.get(key)
        }
        fn insert(&mut self, _: CaKey, _: u32) -> Result<Option<u32>, TableError> {
            Err(TableError::Full)
        }
        fn remove(&mut self, _: &CaKey) -> Option<u32> {
            None
        }
        fn len(&self) -> usize {
            self.0.len()
        }
    }

    #[test]
    fn get_many_shorter_side_and_advice() {
        let mut m: FixedMap<CaKey, u32, 64> = FixedMap::new();
        for i in 0..40 {
            m.insert(ca(i), i).unwrap();
        }
        let keys: Vec<CaKey> = (0..40).map(ca).collect();
        // Fewer outputs than keys: only those are written.
        let mut out = [None; 3];
        m.get_many(&keys[5..], &mut out);
        assert_eq!(out, [Some(&5), Some(&6), Some(&7)]);
        // Fewer keys than outputs: the rest is left as it was.
        let marker = 999;
        let mut out = [Some(&marker); 4];
        m.get_many(&keys[..2], &mut out);
        assert_eq!(out, [Some(&0), Some(&1), Some(&marker), Some(&marker)]);
        // The default method (one get per key) agrees on a burst of mixed keys.
        let mixed: Vec<CaKey> = (20..60).map(ca).collect();
        let (mut a, mut b) = (vec![None; 40], vec![None; 40]);
        m.get_many(&mixed, &mut a);
        let plain = Plain(&m);
        plain.get_many(&mixed, &mut b);
        assert_eq!(a, b);
        assert_eq!(a.iter().filter(|v| v.is_some()).count(), 20);
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn advice_sees_the_slot_array_before_use() {
        let mut seen = None;
        let mut m =
            GrowMap::<CaKey, u32>::try_with_capacity_advised(1000, |a, n| seen = Some((a, n)))
                .unwrap();
        let (addr, bytes) = seen.unwrap();
        assert_eq!(bytes, m.memory_bytes());
        assert_eq!(addr, m.slots.as_ptr() as usize);
        m.insert(ca(1), 1).unwrap();
        assert_eq!(m.get(&ca(1)), Some(&1));
        let mut called = false;
        let empty = GrowMap::<CaKey, u32>::try_with_capacity_advised(0, |_, _| called = true);
        assert!(empty.unwrap().is_empty() && !called);
    }

    proptest! {
        #[test]
        fn fixed_matches_hashmap(ops in ops(80)) {
            let m: FixedMap<CaKey, u32, 37> = FixedMap::new();
            run_model(m, 32, &ops, |k| ca(u32::from(k)), |m| &m.slots)?;
        }

        #[test]
        fn fixed_weak_hash_matches_hashmap(ops in ops(40)) {
            let m: FixedMap<Weak, u32, 24> = FixedMap::new();
            run_model(m, 21, &ops, Weak, |m| &m.slots)?;
        }

        #[cfg(feature = "alloc")]
        #[test]
        fn grow_matches_hashmap(ops in ops(300)) {
            run_model(GrowMap::<CaKey, u32>::new(), usize::MAX, &ops, |k| ca(u32::from(k)), |m| &m.slots)?;
        }

        #[cfg(feature = "alloc")]
        #[test]
        fn grow_collide_matches_hashmap(ops in ops(60)) {
            run_model(GrowMap::<Collide, u32>::with_capacity(5), usize::MAX, &ops, Collide, |m| &m.slots)?;
        }

        #[cfg(feature = "alloc")]
        #[test]
        fn ip_keys_match_hashmap(
            entries in proptest::collection::vec((any::<bool>(), any::<u128>(), 4096u32..4100), 0..200),
        ) {
            let mut g: GrowMap<CaKey, usize> = GrowMap::new();
            let mut model = HashMap::new();
            for (i, &(is_v4, bits, v)) in entries.iter().enumerate() {
                let ip = if is_v4 {
                    IpAddr::V4(Ipv4Addr::from(bits as u32))
                } else {
                    IpAddr::V6(Ipv6Addr::from(bits))
                };
                let k = CaKey::new(vsid(v), ip);
                prop_assert_eq!(k.ca(), ip);
                prop_assert_eq!(g.insert(k, i), Ok(model.insert(k, i)));
            }
            for (k, v) in &model {
                prop_assert_eq!(g.get(k), Some(v));
            }
        }
    }
}
