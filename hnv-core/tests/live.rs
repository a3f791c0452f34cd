//! Live snapshot updates under concurrency: readers see the old or the new snapshot and
//! never anything else, never go back in time, are never blocked by writers; refused
//! updates never become visible; concurrent writers never lose an update; a snapshot is
//! freed only when no reader holds it.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use hnv_core::live::Live;

/// Number of entries in a [`Table`]; large enough that building one is not atomic.
const ENTRIES: usize = 1000;

/// Generation written into the tables that refused updates build; must never be seen.
const REFUSED: u64 = u64::MAX;

/// A snapshot made of many fields that must all agree with each other: every entry and
/// the label equal the generation, and the checksum is the sum of the entries.
struct Table {
    generation: u64,
    entries: Vec<u64>,
    label: String,
    checksum: u64,
    /// Counts drops, to prove every snapshot is freed exactly once.
    drops: Arc<AtomicUsize>,
}

impl Table {
    fn new(generation: u64, drops: &Arc<AtomicUsize>) -> Self {
        let entries = vec![generation; ENTRIES];
        let checksum = entries.iter().fold(0_u64, |sum, e| sum.wrapping_add(*e));
        Self {
            generation,
            entries,
            label: format!("generation {generation}"),
            checksum,
            drops: Arc::clone(drops),
        }
    }

    /// Panics unless the table is internally consistent.
    fn assert_consistent(&self) {
        assert_ne!(self.generation, REFUSED, "a refused update became visible");
        assert_eq!(self.entries.len(), ENTRIES);
        assert!(
            self.entries.iter().all(|e| *e == self.generation),
            "entries of a half-built table (generation {})",
            self.generation
        );
        let sum = self
            .entries
            .iter()
            .fold(0_u64, |sum, e| sum.wrapping_add(*e));
        assert_eq!(self.checksum, sum, "checksum of another table");
        let label = self.label.strip_prefix("generation ").map(str::parse);
        assert_eq!(label, Some(Ok(self.generation)), "label of another table");
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// What one reader thread observed.
struct ReaderReport {
    loads: u64,
    generations: BTreeSet<u64>,
}

/// What the writer did.
struct WriterReport {
    /// Tables built, published or refused (not counting the initial one).
    created: usize,
    published: u64,
    refused: u64,
}

const READERS: usize = 4;
/// The writer stops after this many operations ...
const MAX_WRITES: u64 = 20_000;
/// ... or once it has published this many snapshots and readers have seen this many of
/// them (whichever comes first) ...
const TARGET_PUBLISHED: u64 = 2_000;
const TARGET_SEEN: u64 = 200;
/// ... or after this long, whatever the counts.
const TIME_LIMIT: Duration = Duration::from_secs(2);
/// What the test demands at the end, well below the targets so that it holds on a
/// heavily loaded machine too (the writer then stops at the time limit instead).
const MIN_PUBLISHED: u64 = 500;
const MIN_SEEN: usize = 50;
/// How far the writer may run ahead of the newest generation any reader has seen before
/// it yields to the readers (there may be fewer cores than threads).
const MAX_LAG: u64 = 10;

/// Shared between the readers and the writer of the stress test.
struct Stress {
    live: Live<Table>,
    drops: Arc<AtomicUsize>,
    /// Set by the writer when it is finished.
    done: AtomicBool,
    /// Newest generation any reader has seen.
    max_seen: AtomicU64,
    /// Generations that were the newest seen when a reader saw them (a lower bound of
    /// the distinct generations the readers have seen).
    seen: AtomicU64,
    /// Readers that have seen at least two generations.
    readers_alongside: AtomicUsize,
}

impl Stress {
    /// Loads in a tight loop until the writer is done, checking every snapshot.
    fn read(&self) -> ReaderReport {
        let mut report = ReaderReport {
            loads: 0,
            generations: BTreeSet::new(),
        };
        let mut last = 0;
        while !self.done.load(Ordering::Acquire) {
            let snap = self.live.load();
            snap.assert_consistent();
            // The table's own generation is the one its Snapshot reports.
            assert_eq!(snap.generation, snap.generation());
            assert!(
                snap.generation >= last,
                "generation went backwards: {} after {last}",
                snap.generation
            );
            report.loads += 1;
            if report.generations.insert(snap.generation) {
                if report.generations.len() == 2 {
                    self.readers_alongside.fetch_add(1, Ordering::Relaxed);
                }
                if self.max_seen.fetch_max(snap.generation, Ordering::Relaxed) < snap.generation {
                    self.seen.fetch_add(1, Ordering::Relaxed);
                }
            }
            last = snap.generation;
        }
        report
    }

    /// Publishes new tables with every kind of write, and tries to publish refused ones,
    /// until the targets are met or the time is up; then sets `done`.
    fn write(&self) -> WriterReport {
        let (live, drops) = (&self.live, &self.drops);
        let mut report = WriterReport {
            created: 0,
            published: 0,
            refused: 0,
        };
        // Sets `done` however this returns, so a failing assertion here cannot leave the
        // readers spinning forever.
        let _done = SetOnDrop(&self.done);
        let start = Instant::now();
        for i in 0..MAX_WRITES {
            let enough = report.published >= TARGET_PUBLISHED
                && self.seen.load(Ordering::Relaxed) >= TARGET_SEEN
                && self.readers_alongside.load(Ordering::Relaxed) == READERS;
            if enough || start.elapsed() > TIME_LIMIT {
                break;
            }
            match i % 5 {
                // Record-style read-copy-update.
                0 | 1 => live.update(|old| Table::new(old.generation + 1, drops)),
                // Whole replace (this is the only writer, so generation() is stable).
                2 => live.store(Table::new(live.generation() + 1, drops)),
                // A successful try_update.
                3 => live
                    .try_update(|old| Ok::<_, ()>(Table::new(old.generation + 1, drops)))
                    .unwrap(),
                // A refused try_update: the table it built must never be seen.
                _ => {
                    let result = live.try_update(|_| {
                        let rejected = Table::new(REFUSED, drops);
                        Err(rejected.generation)
                    });
                    assert_eq!(result, Err(REFUSED));
                    report.refused += 1;
                }
            }
            report.created += 1;
            if i % 5 != 4 {
                report.published += 1;
            }
            assert_eq!(live.generation(), report.published);
            while self.max_seen.load(Ordering::Relaxed) + MAX_LAG < report.published
                && start.elapsed() < TIME_LIMIT
            {
                thread::yield_now();
            }
        }
        report
    }
}

/// Sets the flag when dropped.
struct SetOnDrop<'a>(&'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

#[test]
fn readers_see_old_or_new_snapshot_never_anything_else() {
    let drops = Arc::new(AtomicUsize::new(0));
    let stress = Stress {
        live: Live::new(Table::new(0, &drops)),
        drops: Arc::clone(&drops),
        done: AtomicBool::new(false),
        max_seen: AtomicU64::new(0),
        seen: AtomicU64::new(0),
        readers_alongside: AtomicUsize::new(0),
    };

    let (reports, writer) = thread::scope(|s| {
        let readers: Vec<_> = (0..READERS).map(|_| s.spawn(|| stress.read())).collect();
        let writer = stress.write();
        let reports: Vec<_> = readers.into_iter().map(|r| r.join().unwrap()).collect();
        (reports, writer)
    });
    let WriterReport {
        created,
        published,
        refused,
    } = writer;
    let live = stress.live;

    assert!(refused > 0);
    assert!(
        published >= MIN_PUBLISHED,
        "writer managed only {published} updates"
    );
    assert_eq!(live.generation(), published);
    live.load().assert_consistent();
    assert_eq!(live.load().generation, published);

    let mut all = BTreeSet::<u64>::new();
    for (n, report) in reports.iter().enumerate() {
        assert!(
            report.generations.len() >= 2,
            "reader {n} saw {} generation(s) in {} loads: it never ran alongside the writer",
            report.generations.len(),
            report.loads
        );
        all.extend(&report.generations);
    }
    assert!(
        all.len() >= MIN_SEEN,
        "readers observed only {} distinct generations of {published}",
        all.len()
    );

    // Every table built (including refused ones) is freed exactly once, and only the
    // current one is still alive.
    assert_eq!(drops.load(Ordering::SeqCst), created);
    drop(live);
    assert_eq!(drops.load(Ordering::SeqCst), created + 1);
}

#[test]
fn concurrent_writers_never_lose_an_update() {
    const WRITERS: u64 = 2;
    const UPDATES: u64 = 3_000;

    // (increments by writer 0, increments by writer 1): each update bumps one of them.
    let live = Live::new([0_u64; 2]);
    let reader_done = AtomicBool::new(false);
    thread::scope(|s| {
        // A reader alongside, checking the counters only ever grow.
        s.spawn(|| {
            let mut last = [0, 0];
            while !reader_done.load(Ordering::Acquire) {
                let snap = live.load();
                assert!(snap[0] >= last[0] && snap[1] >= last[1]);
                assert_eq!(snap[0] + snap[1], snap.generation());
                last = *snap;
            }
        });
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let live = &live;
                s.spawn(move || {
                    for i in 0..UPDATES {
                        live.update(|old| {
                            let mut new = *old;
                            // Widen the window between reading and publishing, so an
                            // unserialised implementation would lose updates.
                            if i % 16 == 0 {
                                thread::yield_now();
                            }
                            new[usize::try_from(w).unwrap()] += 1;
                            new
                        });
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        reader_done.store(true, Ordering::Release);
    });
    assert_eq!(*live.load(), [UPDATES; 2]);
    assert_eq!(live.generation(), WRITERS * UPDATES);
}

#[test]
fn readers_are_not_blocked_by_a_writer_in_progress() {
    let live = Live::new(1_u32);
    let (in_update, writer_waiting) = mpsc::channel();
    let (reader_loaded, wait_for_reader) = mpsc::channel();
    thread::scope(|s| {
        let live = &live;
        s.spawn(move || {
            live.update(|old| {
                in_update.send(()).unwrap();
                // Stay inside the update (holding the writer lock) until a reader has
                // loaded; if loads blocked on writers this would time out.
                wait_for_reader
                    .recv_timeout(Duration::from_secs(10))
                    .expect("reader blocked by a writer");
                old + 1
            });
        });
        writer_waiting.recv().unwrap();
        let snap = live.load();
        assert_eq!((*snap, snap.generation()), (1, 0));
        assert_eq!(live.generation(), 0);
        reader_loaded.send(()).unwrap();
    });
    assert_eq!(*live.load(), 2);
}

/// Counts its drops in a shared counter.
struct DropCounter {
    id: u32,
    drops: Arc<AtomicUsize>,
}

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

fn counter(id: u32, drops: &Arc<AtomicUsize>) -> DropCounter {
    DropCounter {
        id,
        drops: Arc::clone(drops),
    }
}

#[test]
fn old_snapshot_freed_only_after_last_reader() {
    let drops = Arc::new(AtomicUsize::new(0));
    let live = Live::new(counter(1, &drops));

    let held = live.load();
    let held_clone = held.clone();
    live.store(counter(2, &drops));
    // Swapped out, but readers still hold it: not dropped.
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    assert_eq!(held.id, 1);
    assert_eq!(live.load().id, 2);

    drop(held);
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    assert_eq!(held_clone.id, 1);
    drop(held_clone);
    // The last reader let go: dropped right away, exactly once.
    assert_eq!(drops.load(Ordering::SeqCst), 1);

    // With no reader holding it, a replaced snapshot is dropped by the writer.
    live.update(|old| counter(old.id + 1, &drops));
    assert_eq!(drops.load(Ordering::SeqCst), 2);
    assert_eq!(live.load().id, 3);

    drop(live);
    assert_eq!(drops.load(Ordering::SeqCst), 3);
}

#[test]
fn snapshot_held_by_another_thread_outlives_the_swap() {
    let drops = Arc::new(AtomicUsize::new(0));
    let live = Live::new(counter(1, &drops));
    let (loaded, wait_for_load) = mpsc::channel();
    let (swapped, wait_for_swap) = mpsc::channel();
    thread::scope(|s| {
        let (live, drops) = (&live, &drops);
        s.spawn(move || {
            let snap = live.load();
            loaded.send(()).unwrap();
            wait_for_swap.recv().unwrap();
            // The writer has published generation 1; this reader's snapshot is intact.
            assert_eq!((snap.id, snap.generation()), (1, 0));
            assert_eq!(drops.load(Ordering::SeqCst), 0);
        });
        wait_for_load.recv().unwrap();
        live.store(counter(2, drops));
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        swapped.send(()).unwrap();
    });
    // The reader thread dropped its snapshot on exit.
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert_eq!(live.load().id, 2);
}

#[test]
fn many_held_snapshots_across_many_swaps() {
    // More simultaneously held snapshots than arc-swap has fast per-thread slots.
    let drops = Arc::new(AtomicUsize::new(0));
    let live = Live::new(counter(0, &drops));
    let mut held = Vec::new();
    for id in 1..=32 {
        held.push(live.load());
        live.store(counter(id, &drops));
    }
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    for (expected, snap) in (0..).zip(&held) {
        assert_eq!(snap.id, expected);
        assert_eq!(snap.generation(), u64::from(expected));
    }
    held.clear();
    assert_eq!(drops.load(Ordering::SeqCst), 32);
    assert_eq!(live.load().id, 32);
}

#[test]
fn refused_try_update_applies_nothing() {
    let drops = Arc::new(AtomicUsize::new(0));
    let live = Live::new(counter(7, &drops));
    let result: Result<(), &str> = live.try_update(|old| {
        let _candidate = counter(old.id + 1, &drops);
        Err("invalid policy")
    });
    assert_eq!(result, Err("invalid policy"));
    assert_eq!(live.load().id, 7);
    assert_eq!(live.generation(), 0);
    // Only the rejected candidate was dropped, never the live snapshot.
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn panicking_update_keeps_old_snapshot_and_writers_keep_working() {
    let live = Live::new(1_u32);
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        live.update(|_| panic!("writer bug"));
    }));
    assert!(panicked.is_err());
    assert_eq!(*live.load(), 1);
    assert_eq!(live.generation(), 0);
    live.update(|n| n + 1);
    assert_eq!(*live.load(), 2);
    assert_eq!(live.generation(), 1);
}

#[test]
fn debug_shows_generation_and_value() {
    let live = Live::new(5_u8);
    live.store(6);
    assert_eq!(format!("{live:?}"), "Live { generation: 1, current: 6 }");
    assert_eq!(
        format!("{:?}", live.load()),
        "Snapshot { generation: 1, value: 6 }"
    );
}
