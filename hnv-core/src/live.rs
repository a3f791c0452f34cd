//! Live policy updates: swap a new table snapshot in while reader threads keep forwarding.
//!
//! [`Live<T>`] holds the current snapshot of some compiled, read-only state `T` (for hnv,
//! the compiled policy tables). Data-path threads call [`Live::load`] once per packet or
//! per batch and read through the returned [`Snapshot`]; a control thread replaces the
//! snapshot with [`Live::store`] (whole-policy replace), [`Live::update`] (read-copy-update:
//! record add / remove / set) or [`Live::try_update`] (an update that may be refused).
//!
//! Guarantees:
//!
//! * **Readers never block.** [`Live::load`] takes no lock; it is lock-free (in the
//!   common case a handful of atomic operations on thread-local slots, no contended
//!   reference count) and never waits for a writer, however long an update takes.
//! * **No half updates.** A new snapshot is built completely, off to the side, and then
//!   published with one atomic pointer swap; a reader sees either the old snapshot or the
//!   new one, never a mixture.
//! * **Safe reclamation.** A snapshot is dropped only when the last [`Snapshot`] holding
//!   it is gone (immediately by the writer when no reader holds it, otherwise by the
//!   last reader to let go). Nothing is ever freed under a reader.
//! * **No lost updates.** Writers are serialised among themselves by a mutex, so two
//!   concurrent [`Live::update`]s each see the other's result, never overwrite it.
//! * **All or nothing.** When a [`Live::try_update`] closure returns `Err` (for example,
//!   the new policy fails validation or compilation), nothing of it is applied and
//!   the generation does not move.
//!
//! Implemented on [`arc_swap::ArcSwap`]; available with the `std` feature.
//!
//! # Example
//!
//! ```
//! use hnv_core::live::Live;
//! use std::collections::BTreeMap;
//!
//! // A stand-in for a compiled policy: VSID -> customer prefix count.
//! let live = Live::new(BTreeMap::from([(5001_u32, 2_u32)]));
//!
//! // Data path: load once per batch, read through the snapshot.
//! let snap = live.load();
//! assert_eq!(snap.get(&5001), Some(&2));
//!
//! // Control path: record add, set and remove are read-copy-updates.
//! live.update(|old| {
//!     let mut new = old.clone();
//!     new.insert(6001, 1); // add
//!     new.insert(5001, 3); // set
//!     new
//! });
//! live.update(|old| {
//!     let mut new = old.clone();
//!     new.remove(&6001); // remove
//!     new
//! });
//!
//! // The batch that started before the updates still reads its own, unchanged snapshot.
//! assert_eq!(snap.get(&5001), Some(&2));
//! assert_eq!(snap.generation(), 0);
//! // New loads see the result of both updates.
//! assert_eq!(live.load().get(&5001), Some(&3));
//! assert_eq!(live.generation(), 2);
//! ```

use alloc::sync::Arc;
use core::fmt;
use core::ops::Deref;
use std::sync::{Mutex, PoisonError};

use arc_swap::{ArcSwap, Guard};

/// A snapshot together with the generation that published it.
struct Versioned<T> {
    generation: u64,
    value: T,
}

/// A live, atomically replaceable snapshot of `T`, shared between reader threads and
/// writers.
///
/// `Live<T>` is `Send + Sync` when `T: Send + Sync`; share it with `Arc<Live<T>>` or
/// scoped threads. Readers call [`load`](Live::load); writers call
/// [`store`](Live::store), [`update`](Live::update) or [`try_update`](Live::try_update).
/// See the [module documentation](self) for the guarantees.
///
/// Record add / remove / set are expressed as [`update`](Live::update) closures that
/// return a modified copy of the snapshot; a whole-policy replace is a
/// [`store`](Live::store); an update that must be validated first is a
/// [`try_update`](Live::try_update).
///
/// # Example
///
/// ```
/// use hnv_core::live::Live;
/// use std::sync::Arc;
///
/// let live = Arc::new(Live::new(vec![1_u32, 2, 3]));
///
/// let reader = {
///     let live = Arc::clone(&live);
///     std::thread::spawn(move || {
///         // Every snapshot is either the old or the new table, never a mixture.
///         let snap = live.load();
///         assert!(*snap == [1, 2, 3] || *snap == [1, 2, 3, 4]);
///     })
/// };
/// live.update(|old| {
///     let mut new = old.clone();
///     new.push(4); // record add
///     new
/// });
/// reader.join().unwrap();
/// assert_eq!(*live.load(), [1, 2, 3, 4]);
/// ```
pub struct Live<T> {
    current: ArcSwap<Versioned<T>>,
    /// Serialises writers (never taken by readers). Protects no data of its own: the
    /// snapshot is only ever replaced while holding it.
    writer: Mutex<()>,
}

impl<T: Send + Sync> Live<T> {
    /// Creates a live handle whose first snapshot is `initial`, at generation 0.
    ///
    /// # Example
    ///
    /// ```
    /// use hnv_core::live::Live;
    ///
    /// let live = Live::new("policy v1");
    /// assert_eq!(*live.load(), "policy v1");
    /// assert_eq!(live.generation(), 0);
    /// ```
    pub fn new(initial: T) -> Self {
        Self {
            current: ArcSwap::from_pointee(Versioned {
                generation: 0,
                value: initial,
            }),
            writer: Mutex::new(()),
        }
    }

    /// Returns the current snapshot. Lock-free; never blocks, never waits for a writer.
    ///
    /// The snapshot stays valid and unchanged for as long as it is held, even if writers
    /// publish newer snapshots meanwhile; it is freed only after the last holder drops it.
    /// It is meant to be held for a packet or a batch, then dropped and re-loaded: each
    /// thread has a few cheap slots for snapshots, and holding more than that at once
    /// falls back to (still lock-free) reference counting.
    ///
    /// # Example
    ///
    /// ```
    /// use hnv_core::live::Live;
    ///
    /// let live = Live::new(1_u32);
    /// let before = live.load();
    /// live.store(2);
    /// assert_eq!(*before, 1); // an old snapshot is never changed under its reader
    /// assert_eq!(*live.load(), 2);
    /// ```
    pub fn load(&self) -> Snapshot<T> {
        Snapshot {
            inner: self.current.load(),
        }
    }

    /// Replaces the whole snapshot with `new` (whole-policy replace) and increments the
    /// generation.
    ///
    /// Waits only for other writers, never for readers. The old snapshot is dropped here
    /// if no reader holds it, otherwise when its last reader lets go.
    ///
    /// # Example
    ///
    /// ```
    /// use hnv_core::live::Live;
    ///
    /// let live = Live::new(vec![1_u32, 2]);
    /// live.store(vec![7, 8, 9]);
    /// assert_eq!(*live.load(), [7, 8, 9]);
    /// assert_eq!(live.generation(), 1);
    /// ```
    pub fn store(&self, new: T) {
        let _writer = self.lock_writers();
        self.publish(new);
    }

    /// Read-copy-update: builds a new snapshot from the current one with `f` and
    /// publishes it, incrementing the generation. This is how records are added, removed
    /// or set.
    ///
    /// Writers are serialised: `f` always receives the latest published snapshot and no
    /// other writer publishes between `f` reading it and its result being published, so
    /// concurrent updates never lose each other's changes. Readers are not blocked while
    /// `f` runs; they keep seeing the old snapshot until the new one is published.
    ///
    /// `f` must not call `store`, `update` or `try_update` on the same `Live` (that
    /// would deadlock). If `f` panics, nothing is published and the old snapshot stays.
    ///
    /// # Example
    ///
    /// ```
    /// use hnv_core::live::Live;
    /// use std::collections::BTreeMap;
    ///
    /// // Lookup records: customer address -> provider address.
    /// let live = Live::new(BTreeMap::from([("10.0.0.5", "192.168.4.11")]));
    ///
    /// // Record add.
    /// live.update(|old| {
    ///     let mut new = old.clone();
    ///     new.insert("10.0.0.7", "192.168.4.22");
    ///     new
    /// });
    /// // Record set (the VM moved to another host).
    /// live.update(|old| {
    ///     let mut new = old.clone();
    ///     new.insert("10.0.0.5", "192.168.4.33");
    ///     new
    /// });
    /// // Record remove.
    /// live.update(|old| {
    ///     let mut new = old.clone();
    ///     new.remove("10.0.0.7");
    ///     new
    /// });
    ///
    /// assert_eq!(*live.load(), BTreeMap::from([("10.0.0.5", "192.168.4.33")]));
    /// assert_eq!(live.generation(), 3);
    /// ```
    pub fn update(&self, f: impl FnOnce(&T) -> T) {
        let _writer = self.lock_writers();
        let current = self.current.load_full();
        let new = f(&current.value);
        self.publish(new);
    }

    /// Like [`update`](Live::update), but `f` may refuse: if it returns `Err`, nothing is
    /// published, the old snapshot stays current, the generation does not move and the
    /// error is returned. This is how nothing of an invalid policy is ever applied:
    /// validate and compile inside `f`, and return the error if either fails.
    ///
    /// # Example
    ///
    /// ```
    /// use hnv_core::live::Live;
    ///
    /// let live = Live::new(vec![1500_u16]); // uplink MTUs
    ///
    /// let add_mtu = |mtu: u16| {
    ///     move |old: &Vec<u16>| {
    ///         if mtu < 1280 {
    ///             return Err(format!("MTU {mtu} is below 1280"));
    ///         }
    ///         let mut new = old.clone();
    ///         new.push(mtu);
    ///         Ok(new)
    ///     }
    /// };
    ///
    /// assert_eq!(live.try_update(add_mtu(576)), Err("MTU 576 is below 1280".to_string()));
    /// assert_eq!(*live.load(), [1500]); // nothing of the refused update is visible
    /// assert_eq!(live.generation(), 0);
    ///
    /// live.try_update(add_mtu(9000)).unwrap();
    /// assert_eq!(*live.load(), [1500, 9000]);
    /// assert_eq!(live.generation(), 1);
    /// ```
    pub fn try_update<E>(&self, f: impl FnOnce(&T) -> Result<T, E>) -> Result<(), E> {
        let _writer = self.lock_writers();
        let current = self.current.load_full();
        let new = f(&current.value)?;
        self.publish(new);
        Ok(())
    }

    /// The generation of the current snapshot: 0 for the initial one, incremented by
    /// every successful [`store`](Live::store), [`update`](Live::update) and
    /// [`try_update`](Live::try_update). Lock-free.
    ///
    /// To know which generation a particular snapshot belongs to, use
    /// [`Snapshot::generation`] (the current generation may move on right after this
    /// returns).
    ///
    /// # Example
    ///
    /// ```
    /// use hnv_core::live::Live;
    ///
    /// let live = Live::new(0_u32);
    /// live.store(1);
    /// live.update(|n| n + 1);
    /// assert_eq!(live.try_update(|_| Err("refused")), Err("refused"));
    /// assert_eq!(live.generation(), 2);
    /// ```
    pub fn generation(&self) -> u64 {
        self.current.load().generation
    }

    /// Takes the writer lock. Poisoning is ignored: the lock guards no data, and a writer
    /// that panicked did so before publishing, leaving the old snapshot intact.
    fn lock_writers(&self) -> std::sync::MutexGuard<'_, ()> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Publishes `value` as the next generation. Must be called with the writer lock held.
    fn publish(&self, value: T) {
        let generation = self.current.load().generation + 1;
        self.current
            .store(Arc::new(Versioned { generation, value }));
    }
}

impl<T: Default + Send + Sync> Default for Live<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T: fmt::Debug + Send + Sync> fmt::Debug for Live<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let snap = self.load();
        f.debug_struct("Live")
            .field("generation", &snap.generation())
            .field("current", &*snap)
            .finish()
    }
}

/// A reader's view of one snapshot, returned by [`Live::load`]; dereferences to `&T`.
///
/// The snapshot it refers to is immutable and stays alive while any `Snapshot` of it
/// exists, whatever writers publish meanwhile. Cloning is cheap (a reference count).
/// Hold it for a packet or a batch, not indefinitely: a held snapshot keeps an old
/// table in memory.
///
/// # Example
///
/// ```
/// use hnv_core::live::{Live, Snapshot};
///
/// fn forward(tables: &Snapshot<Vec<u32>>, packet: usize) -> Option<u32> {
///     tables.get(packet).copied()
/// }
///
/// let live = Live::new(vec![10_u32, 20, 30]);
/// let snap = live.load(); // once per batch
/// let out: Vec<_> = (0..4).map(|p| forward(&snap, p)).collect();
/// assert_eq!(out, [Some(10), Some(20), Some(30), None]);
/// ```
pub struct Snapshot<T> {
    inner: Guard<Arc<Versioned<T>>>,
}

impl<T> Snapshot<T> {
    /// The generation that published this snapshot (see [`Live::generation`]).
    ///
    /// # Example
    ///
    /// ```
    /// use hnv_core::live::Live;
    ///
    /// let live = Live::new('a');
    /// let old = live.load();
    /// live.store('b');
    /// let new = live.load();
    /// assert_eq!((old.generation(), *old), (0, 'a'));
    /// assert_eq!((new.generation(), *new), (1, 'b'));
    /// ```
    pub fn generation(&self) -> u64 {
        self.inner.generation
    }
}

impl<T> Deref for Snapshot<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.inner.value
    }
}

impl<T> Clone for Snapshot<T> {
    fn clone(&self) -> Self {
        Self {
            inner: Guard::from_inner(Arc::clone(&self.inner)),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Snapshot<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("generation", &self.generation())
            .field("value", &**self)
            .finish()
    }
}
