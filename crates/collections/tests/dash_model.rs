//! Model tests for the Dash table: random operations against `std::collections::HashMap`
//! (including GC-on-insert, sweeps and scans interleaved with growth), the scan promise under
//! heavy splitting, exactly-once drops (also when callbacks panic), and bytes per item measured
//! with a counting allocator.
//!
//! `DASH_CASES` sets the number of property-test cases (default 96), and under Miri the sizes
//! shrink so a run finishes in about 12 minutes:
//! `MIRIFLAGS=-Zmiri-disable-isolation DASH_CASES=2 cargo +nightly miri test -p darter-collections --test dash_model`

use darter_collections::dash::{DashTable, DASH_SCAN_END, SLOTS_PER_SEGMENT};
use darter_collections::hash_key;
use proptest::prelude::*;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

mod common;
use common::{live_bytes, size, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

fn cases(default: u32) -> u32 {
    std::env::var("DASH_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if cfg!(miri) { 1 } else { default })
}

fn key(k: u32) -> Vec<u8> {
    format!("key:{k}").into_bytes()
}

/// The table under test: items are plain `(owned key, value)` pairs.
type Table<V> = DashTable<(Box<[u8]>, V)>;

/// An item for `Table`: the key copied into its own box.
fn item<V>(k: &[u8], v: V) -> (Box<[u8]>, V) {
    (k.into(), v)
}

// ---- the model test ----

#[derive(Debug, Clone)]
enum Op {
    Insert(u32, u32),
    /// Inserts `n` consecutive keys from `k` (grows the table quickly: splits and stash use).
    Bulk(u32, u16, u32),
    Remove(u32),
    Get(u32),
    GetMut(u32),
    /// Lazy expiry: remove if the value is below the threshold, else bump it.
    GetOrRemove(u32, u32),
    /// Insert-or-replace with values below the threshold dead (GC before a split).
    InsertGc(u32, u32, u32),
    /// Bulk version of `InsertGc` (makes full segments GC often).
    BulkGc(u32, u16, u32),
    Sweep(u32, u16),
    /// One step of a scan that lives across operations.
    ScanStep(u8),
    Random(u64),
}

fn op(keys: u32) -> impl Strategy<Value = Op> {
    let k = 0..keys;
    prop_oneof![
        6 => (k.clone(), any::<u32>()).prop_map(|(k, v)| Op::Insert(k, v)),
        1 => (k.clone(), 1..600u16, any::<u32>()).prop_map(|(k, n, v)| Op::Bulk(k, n, v)),
        3 => k.clone().prop_map(Op::Remove),
        3 => k.clone().prop_map(Op::Get),
        1 => k.clone().prop_map(Op::GetMut),
        2 => (k.clone(), any::<u32>()).prop_map(|(k, t)| Op::GetOrRemove(k, t)),
        3 => (k.clone(), any::<u32>(), any::<u32>()).prop_map(|(k, v, t)| Op::InsertGc(k, v, t)),
        1 => (k.clone(), 1..600u16, any::<u32>()).prop_map(|(k, n, t)| Op::BulkGc(k, n, t)),
        1 => (any::<u32>(), 1..3000u16).prop_map(|(t, b)| Op::Sweep(t, b)),
        3 => any::<u8>().prop_map(Op::ScanStep),
        1 => any::<u64>().prop_map(Op::Random),
    ]
}

/// A scan in progress: the keys present since it started and never removed must all be seen.
struct ScanState {
    cursor: u64,
    stable: HashSet<Vec<u8>>,
    seen: HashSet<Vec<u8>>,
}

struct Model {
    t: Table<u32>,
    m: HashMap<Vec<u8>, u32>,
    scan: Option<ScanState>,
    scans_done: usize,
}

impl Model {
    fn removed(&mut self, k: &[u8]) {
        if let Some(s) = &mut self.scan {
            s.stable.remove(k);
        }
    }

    fn insert_gc(&mut self, k: &[u8], v: u32, th: u32) -> Result<(), TestCaseError> {
        let mut gone = Vec::new();
        let old = self
            .t
            .insert_with_gc(hash_key(k), item(k, v), |e| e.1 < th, |e| gone.push(e))
            .map(|(_, v)| v);
        for (gk, gv) in gone {
            prop_assert!(gv < th, "GC removed a live item");
            prop_assert_eq!(self.m.remove(&*gk), Some(gv));
            prop_assert!(&*gk != k);
            self.removed(&gk);
        }
        prop_assert_eq!(old, self.m.insert(k.to_vec(), v));
        Ok(())
    }

    fn apply(&mut self, o: Op) -> Result<(), TestCaseError> {
        match o {
            Op::Insert(k, v) => {
                prop_assert_eq!(
                    self.t.insert(item(&key(k), v)).map(|(_, v)| v),
                    self.m.insert(key(k), v)
                )
            }
            Op::Bulk(k, n, v) => {
                for i in 0..u32::from(n) {
                    let kk = key(k.wrapping_add(i));
                    prop_assert_eq!(
                        self.t.insert(item(&kk, v ^ i)).map(|(_, v)| v),
                        self.m.insert(kk, v ^ i)
                    );
                }
            }
            Op::Remove(k) => {
                prop_assert_eq!(
                    self.t.remove(&key(k)).map(|(_, v)| v),
                    self.m.remove(&key(k))
                );
                self.removed(&key(k));
            }
            Op::Get(k) => prop_assert_eq!(self.t.get(&key(k)).map(|e| &e.1), self.m.get(&key(k))),
            Op::GetMut(k) => {
                let got = self.t.get_mut(&key(k)).map(|e| {
                    e.1 = e.1.wrapping_add(1);
                    e.1
                });
                let want = self.m.get_mut(&key(k)).map(|v| {
                    *v = v.wrapping_add(1);
                    *v
                });
                prop_assert_eq!(got, want);
            }
            Op::GetOrRemove(k, th) => {
                let kk = key(k);
                let got = self
                    .t
                    .get_mut_or_remove_if(hash_key(&kk), &kk, |e| e.1 < th)
                    .map(|e| {
                        e.1 = e.1.wrapping_add(1);
                        e.1
                    });
                let want = match self.m.get(&kk).copied() {
                    Some(v) if v < th => {
                        self.m.remove(&kk);
                        self.removed(&kk);
                        None
                    }
                    Some(v) => {
                        self.m.insert(kk, v.wrapping_add(1));
                        Some(v.wrapping_add(1))
                    }
                    None => None,
                };
                prop_assert_eq!(got, want);
            }
            Op::InsertGc(k, v, th) => self.insert_gc(&key(k), v, th)?,
            Op::BulkGc(k, n, th) => {
                for i in 0..u32::from(n) {
                    // Values spread over the whole range, so a share of them is dead.
                    let v = (k.wrapping_add(i)).wrapping_mul(2_654_435_761);
                    self.insert_gc(&key(k.wrapping_add(i)), v, th)?;
                }
            }
            Op::Sweep(th, budget) => {
                let mut gone = Vec::new();
                let mut cursor = 0;
                // Enough steps to visit every segment at least once.
                for _ in 0..=self.t.segment_count() {
                    cursor =
                        self.t
                            .sweep(cursor, usize::from(budget), |e| e.1 < th, |e| gone.push(e));
                }
                for (k, v) in gone {
                    prop_assert!(v < th);
                    prop_assert_eq!(self.m.remove(&*k), Some(v));
                    self.removed(&k);
                }
                prop_assert!(
                    self.m.values().all(|v| *v >= th),
                    "sweep missed a dead item"
                );
            }
            Op::ScanStep(count) => {
                let m = &self.m;
                let s = self.scan.get_or_insert_with(|| ScanState {
                    cursor: 0,
                    stable: m.keys().cloned().collect(),
                    seen: HashSet::new(),
                });
                let mut n = 0;
                s.cursor = self.t.scan(s.cursor, usize::from(count), |(k, v)| {
                    n += 1;
                    assert_eq!(m.get(&k[..]), Some(v), "scan returned a stale item");
                    s.seen.insert(k.to_vec());
                });
                prop_assert!(s.cursor <= DASH_SCAN_END);
                prop_assert!(s.cursor == DASH_SCAN_END || n >= usize::from(count));
                if s.cursor == DASH_SCAN_END {
                    let missed = s.stable.difference(&s.seen).count();
                    prop_assert_eq!(missed, 0, "scan missed stable keys");
                    self.scan = None;
                    self.scans_done += 1;
                }
            }
            Op::Random(seed) => {
                let mut x = seed | 1;
                let got = self.t.random(|n| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x % n as u64) as usize
                });
                match got {
                    None => prop_assert!(self.m.is_empty()),
                    Some((k, v)) => prop_assert_eq!(self.m.get(&k[..]), Some(v)),
                }
            }
        }
        prop_assert_eq!(self.t.len(), self.m.len());
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(96)))]

    #[test]
    fn behaves_like_hashmap(
        keys in prop_oneof![Just(64u32), Just(3_000), Just(40_000)],
        ops in proptest::collection::vec(op(40_000), 1..size(2500, 150)),
    ) {
        let mut md = Model { t: DashTable::new(), m: HashMap::new(), scan: None, scans_done: 0 };
        for (i, o) in ops.into_iter().enumerate() {
            // Fold the key space so small tables (many replaces) are exercised too.
            let o = match o {
                Op::Insert(k, v) => Op::Insert(k % keys, v),
                Op::Remove(k) => Op::Remove(k % keys),
                Op::Get(k) => Op::Get(k % keys),
                Op::GetMut(k) => Op::GetMut(k % keys),
                Op::GetOrRemove(k, t) => Op::GetOrRemove(k % keys, t),
                Op::InsertGc(k, v, t) => Op::InsertGc(k % keys, v, t),
                o => o,
            };
            md.apply(o)?;
            if i % 256 == 0 {
                md.t.check_invariants();
            }
        }
        md.t.check_invariants();
        let mut seen: HashMap<Vec<u8>, u32> = HashMap::new();
        for (k, v) in md.t.iter() {
            prop_assert!(seen.insert(k.to_vec(), *v).is_none(), "iter repeated a key");
        }
        prop_assert_eq!(&seen, &md.m);
        // A full scan with nothing changing returns every key exactly once.
        let mut scanned = Vec::new();
        let mut cursor = 0;
        loop {
            cursor = md.t.scan(cursor, 7, |(k, _)| scanned.push(k.to_vec()));
            if cursor == DASH_SCAN_END { break; }
        }
        let unique: HashSet<_> = scanned.iter().cloned().collect();
        prop_assert_eq!(unique.len(), scanned.len(), "no duplicates without concurrent change");
        prop_assert_eq!(unique, md.m.keys().cloned().collect::<HashSet<_>>());
        md.t.clear();
        prop_assert!(md.t.is_empty());
        prop_assert!(md.t.get(b"key:1").is_none());
        md.t.check_invariants();
    }
}

#[test]
fn splits_and_stash_are_exercised() {
    let n = size(200_000, 3_000) as u32;
    let mut t: Table<u32> = DashTable::new();
    for i in 0..n {
        assert_eq!(t.insert(item(&key(i), i)), None);
    }
    t.check_invariants();
    assert!(t.segment_count() > 1);
    let load = t.len() as f64 / t.capacity() as f64;
    assert!(load > 0.5, "load factor {load}");
    let p = t.placement();
    println!(
        "{n} items, {} segments, load {load:.3}: {p:?}",
        t.segment_count()
    );
    assert!(p.in_neighbour > 0 && p.in_stash > 0, "{p:?}");
    if !cfg!(miri) {
        assert!(p.stash_unrecorded > 0, "{p:?}");
    }
    for i in 0..n {
        assert_eq!(t.get(&key(i)).map(|e| &e.1), Some(&i));
        assert_eq!(t.get(&key(i + n)), None);
    }
    for i in (0..n).step_by(2) {
        assert_eq!(t.remove(&key(i)).map(|(_, v)| v), Some(i));
    }
    t.check_invariants();
    for i in 0..n {
        assert_eq!(t.get(&key(i)).map(|e| e.1), (i % 2 == 1).then_some(i));
    }
}

// ---- the scan promise under heavy growth ----

#[test]
fn scan_returns_every_stable_key_while_segments_split() {
    let stable_n = size(20_000, 300);
    let grow_total = size(100_000, 3_000);
    let per_step = size(200, 100);
    let mut t: Table<u64> = DashTable::new();
    let stable: Vec<Vec<u8>> = (0..stable_n)
        .map(|i| format!("stable:{i}").into_bytes())
        .collect();
    for k in &stable {
        t.insert(item(k, 1));
    }
    let segs_before = t.segment_count();
    let mut seen = HashSet::new();
    let mut cursor = 0;
    let mut added = 0usize;
    let mut steps = 0;
    loop {
        cursor = t.scan(cursor, 10, |(k, _)| {
            seen.insert(k.to_vec());
        });
        steps += 1;
        // Grow between steps (forcing many splits mid-scan), and churn: delete older new keys.
        for _ in 0..per_step.min(grow_total - added) {
            t.insert(item(format!("new:{added}").as_bytes(), 2));
            if added.is_multiple_of(3) && added > 0 {
                t.remove(format!("new:{}", added / 2).as_bytes());
            }
            added += 1;
        }
        if cursor == DASH_SCAN_END {
            break;
        }
    }
    t.check_invariants();
    assert_eq!(
        added, grow_total,
        "the scan ran while all keys were added ({steps} steps)"
    );
    assert!(
        t.segment_count() >= segs_before * 4,
        "the scan ran across many splits ({segs_before} -> {})",
        t.segment_count()
    );
    for k in &stable {
        assert!(
            seen.contains(k),
            "key {:?} missed by scan",
            String::from_utf8_lossy(k)
        );
    }
}

#[test]
fn scan_cursor_edges() {
    let mut t: Table<u8> = DashTable::new();
    assert_eq!(t.scan(0, 10, |_| panic!("empty")), DASH_SCAN_END);
    t.insert(item(b"a", 1));
    // Garbage cursors end or restart somewhere valid; they never panic.
    for c in [
        DASH_SCAN_END,
        u64::MAX,
        (63u64) << 50,
        (55u64 << 50) | ((1 << 50) - 1),
        1,
    ] {
        let next = t.scan(c, 1, |_| {});
        assert!(next <= DASH_SCAN_END);
    }
    let mut n = 0;
    let mut c = 0;
    loop {
        c = t.scan(c, 0, |_| n += 1);
        if c == DASH_SCAN_END {
            break;
        }
    }
    assert_eq!(n, 1, "count 0 still makes progress");
}

#[test]
fn random_finds_entries() {
    let mut t: Table<u8> = DashTable::new();
    assert!(t.random(|n| n / 2).is_none());
    for i in 0..size(3000, 200) {
        t.insert(item(format!("k{i}").as_bytes(), 0));
    }
    let mut x = 1usize;
    for _ in 0..100 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let seed = x;
        assert!(t.random(move |n| (seed >> 33) % n).is_some());
    }
}

#[test]
fn bucket_versions() {
    let mut t: Table<u32> = DashTable::new();
    for i in 0..size(5_000, 500) as u32 {
        t.insert(item(&key(i), i));
    }
    let k = key(7);
    let id = t.bucket_of(hash_key(&k), &k).expect("present");
    assert_eq!(t.bucket_version(id), 0);
    t.set_bucket_version(id, 5);
    assert_eq!(t.bump_bucket_version(id, 3), 5);
    assert_eq!(t.bucket_version(id), 5);
    assert_eq!(t.bump_bucket_version(id, 9), 5);
    assert_eq!(t.bucket_version(id), 9);
    assert!(t
        .bucket_entries(id)
        .any(|(kk, v)| kk[..] == k[..] && *v == 7));
    // Versions only grow when items move or segments split.
    let all: Vec<_> = (0..t.bucket_count())
        .map(|i| darter_collections::dash::BucketId {
            segment: (i / 60) as u32,
            bucket: (i % 60) as u8,
        })
        .collect();
    for &b in &all {
        t.bump_bucket_version(b, 1);
    }
    for i in 5_000..size(60_000, 3_000) as u32 {
        t.insert(item(&key(i), i));
    }
    for seg in 0..t.segment_count() {
        for b in 0..60 {
            let id = darter_collections::dash::BucketId {
                segment: seg as u32,
                bucket: b,
            };
            assert!(
                t.bucket_version(id) >= 1,
                "a split segment inherits versions"
            );
        }
    }
}

// ---- drops: every value dropped exactly once ----

/// A value that records its drop in a shared ledger (id -> times dropped).
struct Tracked {
    id: u64,
    ledger: Rc<RefCell<HashMap<u64, u32>>>,
    panic_on_drop: bool,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        *self.ledger.borrow_mut().entry(self.id).or_default() += 1;
        if self.panic_on_drop {
            panic!("value {} panics in drop", self.id);
        }
    }
}

struct Ledger {
    ledger: Rc<RefCell<HashMap<u64, u32>>>,
    next: u64,
}

impl Ledger {
    fn new() -> Ledger {
        Ledger {
            ledger: Rc::new(RefCell::new(HashMap::new())),
            next: 0,
        }
    }
    fn val(&mut self) -> Tracked {
        self.next += 1;
        Tracked {
            id: self.next,
            ledger: self.ledger.clone(),
            panic_on_drop: false,
        }
    }
    /// Every value made so far was dropped exactly once.
    fn assert_all_dropped_once(&self) {
        let l = self.ledger.borrow();
        for id in 1..=self.next {
            assert_eq!(l.get(&id).copied().unwrap_or(0), 1, "value {id} drop count");
        }
    }
    fn dropped(&self, id: u64) -> u32 {
        self.ledger.borrow().get(&id).copied().unwrap_or(0)
    }
}

#[test]
fn every_value_is_dropped_exactly_once() {
    let n = size(30_000, 1_500) as u32;
    let mut l = Ledger::new();
    let mut t: Table<Tracked> = DashTable::new();
    for i in 0..n {
        let v = l.val();
        assert!(t.insert(item(&key(i), v)).is_none());
    }
    // Replace: the old value comes back to the caller (dropped here).
    for i in (0..n).step_by(3) {
        let v = l.val();
        drop(t.insert(item(&key(i), v)).expect("replaced"));
    }
    // Remove.
    for i in (0..n).step_by(5) {
        drop(t.remove(&key(i)));
    }
    // Lazy removal.
    for i in (1..n).step_by(7) {
        let k = key(i);
        let _ = t.get_mut_or_remove_if(hash_key(&k), &k, |e| e.1.id % 2 == 0);
    }
    // Sweep (removed pairs handed to the callback, dropped there).
    let mut c = 0;
    for _ in 0..=t.segment_count() {
        c = t.sweep(c, 100, |e| e.1.id % 11 == 0, |_| {});
    }
    // Insert with GC: everything with an odd id is dead.
    let mut gcd = 0;
    for i in n..n * 2 {
        let v = l.val();
        t.insert_with_gc(
            hash_key(&key(i)),
            item(&key(i), v),
            |e| e.1.id % 2 == 1,
            |_| gcd += 1,
        );
    }
    assert!(gcd > 0, "GC ran");
    t.check_invariants();
    // Clear, refill, and drop the table.
    t.clear();
    l.assert_all_dropped_once();
    for i in 0..n {
        let v = l.val();
        t.insert(item(&key(i), v));
    }
    drop(t);
    l.assert_all_dropped_once();
}

#[test]
fn panicking_callbacks_never_double_drop() {
    let n = size(5_000, 1_000) as u32;
    let mut l = Ledger::new();
    let mut t: Table<Tracked> = DashTable::new();
    for i in 0..n {
        let v = l.val();
        t.insert(item(&key(i), v));
    }
    // Predicate panics midway through a sweep.
    let mut calls = 0;
    let r = catch_unwind(AssertUnwindSafe(|| {
        t.sweep(
            0,
            usize::MAX,
            |e| {
                calls += 1;
                assert!(calls < 500, "predicate panics");
                e.1.id % 2 == 0
            },
            |_| {},
        );
    }));
    assert!(r.is_err());
    t.check_invariants();
    // The removal callback panics while holding a removed item (the unwind drops it, once).
    let r = catch_unwind(AssertUnwindSafe(|| {
        t.sweep(
            0,
            usize::MAX,
            |e| e.1.id % 3 == 0,
            |_e| panic!("on_dead panics"),
        );
    }));
    assert!(r.is_err());
    t.check_invariants();
    // Lazy-expiry predicate panics.
    let k = key(1);
    let r = catch_unwind(AssertUnwindSafe(|| {
        t.get_mut_or_remove_if(hash_key(&k), &k, |_| panic!("pred panics"));
    }));
    assert!(r.is_err());
    // GC predicate panics during an insert into a full segment: the new value is dropped once.
    let r = catch_unwind(AssertUnwindSafe(|| {
        for i in n..n * 4 {
            let v = l.val();
            t.insert_with_gc(
                hash_key(&key(i)),
                item(&key(i), v),
                |_| panic!("dead panics"),
                |_| {},
            );
        }
    }));
    assert!(r.is_err());
    t.check_invariants();
    let live: Vec<u64> = t.iter().map(|e| e.1.id).collect();
    for &id in &live {
        assert_eq!(l.dropped(id), 0, "a live value was dropped");
    }
    drop(t);
    l.assert_all_dropped_once();
}

#[test]
fn a_panicking_destructor_still_drops_everything_once() {
    for how in ["clear", "drop"] {
        let mut l = Ledger::new();
        let mut t: Table<Tracked> = DashTable::new();
        for i in 0..size(2_000, 1_000) as u32 {
            let mut v = l.val();
            v.panic_on_drop = i == 100;
            t.insert(item(&key(i), v));
        }
        assert!(t.segment_count() > 1);
        let r = catch_unwind(AssertUnwindSafe(|| {
            if how == "clear" {
                t.clear();
            } else {
                drop(std::mem::take(&mut t));
            }
        }));
        assert!(r.is_err(), "{how}: the destructor's panic propagates");
        assert!(t.is_empty(), "{how}: the table is empty");
        t.check_invariants();
        // Like `Vec`: the other values are still dropped, each once (Miri checks nothing leaks).
        l.assert_all_dropped_once();
    }
}

// ---- memory: bytes per item, measured ----

/// Live heap bytes of a table of `n` `u64` values under `u32`-counter keys, minus the keys' own
/// bytes: the table's overhead per item (the inline key pointer and value included).
fn measure(n: usize, mut fill: impl FnMut(&[u8], u64), keep: impl FnOnce()) -> f64 {
    let keys: Vec<Vec<u8>> = (0..n).map(|i| format!("key:{i:08}").into_bytes()).collect();
    let key_bytes: usize = keys.iter().map(|k| k.len()).sum();
    let before = live_bytes();
    for (i, k) in keys.iter().enumerate() {
        fill(k, i as u64);
    }
    let after = live_bytes();
    keep();
    (after - before - key_bytes as isize) as f64 / n as f64
}

/// Table overhead per item at `n` items for the Dash table and hashbrown (same keys, hasher and
/// value type), with the Dash load factor.
fn compare(n: usize) -> (f64, f64, f64) {
    let mut dash: Table<u64> = DashTable::new();
    let dash_bpi = measure(
        n,
        |k, v| {
            dash.insert(item(k, v));
        },
        || {},
    );
    let load = dash.len() as f64 / dash.capacity() as f64;
    drop(dash);
    let mut hb: hashbrown::HashMap<Box<[u8]>, u64, foldhash::fast::FixedState> =
        hashbrown::HashMap::with_hasher(foldhash::fast::FixedState::with_seed(1));
    let hb_bpi = measure(
        n,
        |k, v| {
            hb.insert(k.into(), v);
        },
        || {},
    );
    println!(
        "{n} items: dash {dash_bpi:.1} B/item (load {load:.3}), hashbrown {hb_bpi:.1} B/item; \
         payload (key ptr + u64) {} B, segment {SLOTS_PER_SEGMENT} slots",
        std::mem::size_of::<(Box<[u8]>, u64)>()
    );
    (dash_bpi, hb_bpi, load)
}

#[test]
fn bytes_per_item_vs_hashbrown() {
    // 1M: just after a split wave (most segments split between 0.74M and 1.5M items).
    let (dash, hb, _) = compare(size(1_000_000, 2_000));
    // 1.45M: just before the next wave, the densest point.
    let (dash_peak, hb_peak, load_peak) = compare(size(1_450_000, 3_000));
    if !cfg!(miri) {
        assert!(dash < hb, "dash {dash} vs hashbrown {hb} at 1M");
        assert!(
            dash_peak < hb_peak,
            "dash {dash_peak} vs hashbrown {hb_peak} at 1.45M"
        );
        // 22,264-byte segments of 840 slots (26.5 B per slot) at >= 80% load.
        assert!(load_peak > 0.8, "load {load_peak} before the wave");
        assert!(dash_peak < 33.5, "dash {dash_peak} B/item at 1.45M");
    }
}
