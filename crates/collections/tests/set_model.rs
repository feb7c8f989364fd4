//! Model tests for the set and hash building blocks: `IntSet` against `BTreeSet<i64>` (widths
//! upgraded at the i16/i32 boundaries and never narrowed, Redis's blob round trip), `DenseSet`
//! against `HashSet` and `DenseMap` against `HashMap` under random inserts, replacements,
//! removals, pops, bulk growth and shrinking, with scans running across all of it; the scan
//! promise while the table doubles and halves between steps; a seeded uniformity check of
//! `random()`; and bytes per member, counted by a counting allocator.
//!
//! `SET_CASES` sets the number of property-test cases (default 128); under Miri the sizes shrink:
//! `MIRIFLAGS=-Zmiri-disable-isolation SET_CASES=2 cargo +nightly miri test -p darter-collections --test set_model`

use darter_collections::{DenseMap, DenseSet, IntSet};
use proptest::prelude::*;
use std::collections::{BTreeSet, HashMap, HashSet};

mod common;
use common::{live_bytes, size, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

fn cases(default: u32) -> u32 {
    std::env::var("SET_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if cfg!(miri) { 1 } else { default })
}

/// splitmix64: a seeded generator for `rnd(n)` callbacks (deterministic, no timing).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        ((self.next() as u128 * n as u128) >> 64) as usize
    }
}

// ---- IntSet vs BTreeSet<i64> ----

fn width_of(v: i64) -> usize {
    if i16::try_from(v).is_ok() {
        2
    } else if i32::try_from(v).is_ok() {
        4
    } else {
        8
    }
}

fn int_value() -> impl Strategy<Value = i64> {
    let edges = [
        i16::MIN as i64 - 1,
        i16::MIN as i64,
        i16::MAX as i64,
        i16::MAX as i64 + 1,
        i32::MIN as i64 - 1,
        i32::MIN as i64,
        i32::MAX as i64,
        i32::MAX as i64 + 1,
        i64::MIN,
        i64::MAX,
        0,
        -1,
    ];
    prop_oneof![
        8 => -50..50i64,
        3 => proptest::sample::select(edges.to_vec()),
        2 => any::<i16>().prop_map(i64::from),
        1 => any::<i32>().prop_map(i64::from),
        1 => any::<i64>(),
    ]
}

#[derive(Debug, Clone)]
enum IntOp {
    Insert(i64),
    Remove(i64),
    Contains(i64),
    Get(usize),
    Random(u64),
    Pop(u64),
}

fn int_op() -> impl Strategy<Value = IntOp> {
    prop_oneof![
        6 => int_value().prop_map(IntOp::Insert),
        3 => int_value().prop_map(IntOp::Remove),
        2 => int_value().prop_map(IntOp::Contains),
        1 => (0..80usize).prop_map(IntOp::Get),
        1 => any::<u64>().prop_map(IntOp::Random),
        1 => any::<u64>().prop_map(IntOp::Pop),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(128)))]

    #[test]
    fn intset_behaves_like_btreeset(ops in proptest::collection::vec(int_op(), 1..300)) {
        let mut s = IntSet::new();
        let mut m = BTreeSet::new();
        let mut width = 2;
        for op in ops {
            match op {
                IntOp::Insert(v) => {
                    prop_assert_eq!(s.insert(v), m.insert(v));
                    width = width.max(width_of(v));
                }
                IntOp::Remove(v) => prop_assert_eq!(s.remove(v), m.remove(&v)),
                IntOp::Contains(v) => prop_assert_eq!(s.contains(v), m.contains(&v)),
                IntOp::Get(i) => prop_assert_eq!(s.get(i), m.iter().nth(i).copied()),
                IntOp::Random(seed) => {
                    let mut r = Rng(seed);
                    match s.random(|n| r.below(n)) {
                        Some(v) => prop_assert!(m.contains(&v)),
                        None => prop_assert!(m.is_empty()),
                    }
                }
                IntOp::Pop(seed) => {
                    let mut r = Rng(seed);
                    match s.pop_random(|n| r.below(n)) {
                        Some(v) => prop_assert!(m.remove(&v)),
                        None => prop_assert!(m.is_empty()),
                    }
                }
            }
            // Widened by the widest member ever inserted, never narrowed by removals.
            prop_assert_eq!(s.max_encoded_width(), width);
            prop_assert_eq!(s.len(), m.len());
            prop_assert!(s.mem_bytes() >= s.len() * width);
        }
        prop_assert!(s.iter().eq(m.iter().copied()));
        prop_assert!(s.iter().rev().eq(m.iter().rev().copied()));
        prop_assert_eq!(s.min(), m.first().copied());
        prop_assert_eq!(s.max(), m.last().copied());
        let mut blob = Vec::new();
        s.encode_blob(&mut blob);
        prop_assert_eq!(blob.len(), 8 + s.len() * width);
        prop_assert_eq!(IntSet::from_blob(&blob), Some(s));
    }
}

// ---- DenseSet vs HashSet, DenseMap vs HashMap ----

/// Member `k`: the empty string, members over 127 bytes (two-byte length headers), and short ones.
fn member(k: u32) -> Vec<u8> {
    match k {
        0 => Vec::new(),
        k if k % 13 == 0 => format!("long:{k}:").repeat(20).into_bytes(),
        k => format!("m:{k}").into_bytes(),
    }
}

fn value(len: u16, fill: u8) -> Vec<u8> {
    vec![fill; len as usize]
}

#[derive(Debug, Clone)]
enum Op {
    /// Set: insert the member. Map: set the field to a value of this length and byte.
    Insert(u32, u16, u8),
    /// Inserts `n` consecutive members from `k` (grows the table through several doublings).
    Bulk(u32, u16),
    Remove(u32),
    /// Removes `n` consecutive members from `k` (shrinks the table).
    BulkRemove(u32, u16),
    Contains(u32),
    /// Map only: overwrite the value's bytes in place through `get_mut`.
    GetMut(u32, u8),
    /// Map only: HSETNX.
    InsertIfAbsent(u32, u8),
    Random(u64),
    Pop(u64),
    /// One step of a scan that lives across operations.
    ScanStep(u8),
    Clear,
    /// Compares a clone with the original.
    Clone,
}

fn op(keys: u32) -> impl Strategy<Value = Op> {
    let k = 0..keys;
    prop_oneof![
        8 => (k.clone(), 0..40u16, any::<u8>()).prop_map(|(k, l, f)| Op::Insert(k, l, f)),
        1 => (k.clone(), 1..700u16).prop_map(|(k, n)| Op::Bulk(k, n)),
        4 => k.clone().prop_map(Op::Remove),
        1 => (k.clone(), 1..700u16).prop_map(|(k, n)| Op::BulkRemove(k, n)),
        3 => k.clone().prop_map(Op::Contains),
        1 => (k.clone(), any::<u8>()).prop_map(|(k, f)| Op::GetMut(k, f)),
        1 => (k.clone(), any::<u8>()).prop_map(|(k, f)| Op::InsertIfAbsent(k, f)),
        1 => any::<u64>().prop_map(Op::Random),
        1 => any::<u64>().prop_map(Op::Pop),
        4 => (1..20u8).prop_map(Op::ScanStep),
        1 => Just(Op::Clone),
        1 => prop_oneof![20 => Just(Op::ScanStep(1)), 1 => Just(Op::Clear)],
    ]
}

/// A scan in progress: every member present since it started and never removed must be seen.
#[derive(Default)]
struct ScanState {
    cursor: u64,
    stable: HashSet<Vec<u8>>,
    seen: HashSet<Vec<u8>>,
}

impl ScanState {
    fn start(present: impl Iterator<Item = Vec<u8>>) -> ScanState {
        ScanState {
            cursor: 0,
            stable: present.collect(),
            seen: HashSet::new(),
        }
    }

    /// Records one step's reports; returns true when the scan finished (and checks the promise).
    fn step(&mut self, next: u64, reported: Vec<Vec<u8>>) -> Result<bool, TestCaseError> {
        self.seen.extend(reported);
        self.cursor = next;
        if next == 0 {
            let missed = self.stable.difference(&self.seen).count();
            prop_assert_eq!(missed, 0, "scan missed stable members");
            return Ok(true);
        }
        Ok(false)
    }
}

/// The operations both tables share, so one driver checks both against their models.
trait Table: Clone {
    const MAP: bool;
    fn t_len(&self) -> usize;
    fn t_slots(&self) -> usize;
    fn t_mem(&self) -> usize;
    /// Returns whether the key was new.
    fn t_insert(&mut self, k: &[u8], v: &[u8]) -> bool;
    fn t_remove(&mut self, k: &[u8]) -> bool;
    fn t_get(&self, k: &[u8]) -> Option<Vec<u8>>;
    fn t_all(&self) -> HashMap<Vec<u8>, Vec<u8>>;
    fn t_random(&self, rnd: impl FnMut(usize) -> usize) -> Option<(Vec<u8>, Vec<u8>)>;
    fn t_pop(&mut self, rnd: impl FnMut(usize) -> usize) -> Option<(Vec<u8>, Vec<u8>)>;
    fn t_scan(&self, cursor: u64, count: usize, f: impl FnMut(&[u8], &[u8])) -> u64;
    fn t_clear(&mut self);
}

impl Table for DenseSet {
    const MAP: bool = false;
    fn t_len(&self) -> usize {
        self.len()
    }
    fn t_slots(&self) -> usize {
        self.slot_count()
    }
    fn t_mem(&self) -> usize {
        self.mem_bytes()
    }
    fn t_insert(&mut self, k: &[u8], _: &[u8]) -> bool {
        self.insert(k)
    }
    fn t_remove(&mut self, k: &[u8]) -> bool {
        self.remove(k)
    }
    fn t_get(&self, k: &[u8]) -> Option<Vec<u8>> {
        self.contains(k).then(Vec::new)
    }
    fn t_all(&self) -> HashMap<Vec<u8>, Vec<u8>> {
        self.iter().map(|m| (m.to_vec(), Vec::new())).collect()
    }
    fn t_random(&self, rnd: impl FnMut(usize) -> usize) -> Option<(Vec<u8>, Vec<u8>)> {
        self.random(rnd).map(|m| (m.to_vec(), Vec::new()))
    }
    fn t_pop(&mut self, rnd: impl FnMut(usize) -> usize) -> Option<(Vec<u8>, Vec<u8>)> {
        self.pop_random(rnd).map(|m| (m, Vec::new()))
    }
    fn t_scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], &[u8])) -> u64 {
        self.scan(cursor, count, |m| f(m, &[]))
    }
    fn t_clear(&mut self) {
        self.clear()
    }
}

impl Table for DenseMap {
    const MAP: bool = true;
    fn t_len(&self) -> usize {
        self.len()
    }
    fn t_slots(&self) -> usize {
        self.slot_count()
    }
    fn t_mem(&self) -> usize {
        self.mem_bytes()
    }
    fn t_insert(&mut self, k: &[u8], v: &[u8]) -> bool {
        self.insert(k, v)
    }
    fn t_remove(&mut self, k: &[u8]) -> bool {
        self.remove(k)
    }
    fn t_get(&self, k: &[u8]) -> Option<Vec<u8>> {
        self.get(k).map(<[u8]>::to_vec)
    }
    fn t_all(&self) -> HashMap<Vec<u8>, Vec<u8>> {
        self.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect()
    }
    fn t_random(&self, rnd: impl FnMut(usize) -> usize) -> Option<(Vec<u8>, Vec<u8>)> {
        self.random(rnd).map(|(k, v)| (k.to_vec(), v.to_vec()))
    }
    fn t_pop(&mut self, rnd: impl FnMut(usize) -> usize) -> Option<(Vec<u8>, Vec<u8>)> {
        self.pop_random(rnd)
    }
    fn t_scan(&self, cursor: u64, count: usize, f: impl FnMut(&[u8], &[u8])) -> u64 {
        self.scan(cursor, count, f)
    }
    fn t_clear(&mut self) {
        self.clear()
    }
}

/// Runs `ops` on `t` and a `HashMap` model (values empty for sets), checking after every step.
fn run<T: Table + MapOps>(mut t: T, ops: Vec<Op>, keys: u32) -> Result<(), TestCaseError> {
    let mut m: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
    let mut scan: Option<ScanState> = None;
    let val = |l: u16, f: u8| if T::MAP { value(l, f) } else { Vec::new() };
    for op in ops {
        // Members that leave the table no longer have to be seen by the running scan.
        let mut gone: Vec<Vec<u8>> = Vec::new();
        match op {
            Op::Insert(k, l, f) => {
                let (k, v) = (member(k), val(l, f));
                prop_assert_eq!(t.t_insert(&k, &v), m.insert(k, v).is_none());
            }
            Op::Bulk(k, n) => {
                for k in k..(k + n as u32).min(keys) {
                    let v = val(k as u16 % 50, k as u8);
                    prop_assert_eq!(t.t_insert(&member(k), &v), m.insert(member(k), v).is_none());
                }
            }
            Op::Remove(k) => {
                let k = member(k);
                prop_assert_eq!(t.t_remove(&k), m.remove(&k).is_some());
                gone.push(k);
            }
            Op::BulkRemove(k, n) => {
                for k in k..(k + n as u32).min(keys) {
                    let k = member(k);
                    prop_assert_eq!(t.t_remove(&k), m.remove(&k).is_some());
                    gone.push(k);
                }
            }
            Op::Contains(k) => {
                let k = member(k);
                prop_assert_eq!(t.t_get(&k), m.get(&k).cloned());
            }
            Op::GetMut(k, f) => t.get_mut_fill(&member(k), f, &mut m),
            Op::InsertIfAbsent(k, f) => t.insert_if_absent(&member(k), f, &mut m)?,
            Op::Random(seed) => {
                let mut r = Rng(seed);
                match t.t_random(|n| r.below(n)) {
                    Some((k, v)) => prop_assert_eq!(m.get(&k), Some(&v)),
                    None => prop_assert!(m.is_empty()),
                }
            }
            Op::Pop(seed) => {
                let mut r = Rng(seed);
                match t.t_pop(|n| r.below(n)) {
                    Some((k, v)) => {
                        prop_assert_eq!(m.remove(&k), Some(v));
                        gone.push(k);
                    }
                    None => prop_assert!(m.is_empty()),
                }
            }
            Op::ScanStep(count) => {
                let s = scan.get_or_insert_with(|| ScanState::start(m.keys().cloned()));
                let mut reported = Vec::new();
                let next = t.t_scan(s.cursor, count as usize, |k, v| {
                    reported.push((k.to_vec(), v.to_vec()))
                });
                for (k, v) in &reported {
                    prop_assert_eq!(m.get(k), Some(v), "scan reported a stale entry");
                }
                if s.step(next, reported.into_iter().map(|(k, _)| k).collect())? {
                    scan = None;
                }
            }
            Op::Clear => {
                t.t_clear();
                gone.extend(m.drain().map(|(k, _)| k));
            }
            Op::Clone => {
                let c = t.clone();
                prop_assert_eq!(c.t_all(), t.t_all());
                prop_assert_eq!(c.t_mem(), t.t_mem());
            }
        }
        if let Some(s) = &mut scan {
            for k in gone {
                s.stable.remove(&k);
            }
        }
        prop_assert_eq!(t.t_len(), m.len());
        let slots = t.t_slots();
        prop_assert!(slots == 0 || slots.is_power_of_two());
        prop_assert!(t.t_len() * 4 <= slots * 3, "over 3/4 full");
        prop_assert!(t.t_mem() >= slots * 8 + m.keys().map(|k| k.len()).sum::<usize>());
    }
    prop_assert_eq!(t.t_all(), m.clone());
    // Finish any scan still running with the table fixed: it must see every member.
    if let Some(mut s) = scan.take() {
        while s.cursor != 0 {
            let mut reported = Vec::new();
            let next = t.t_scan(s.cursor, 7, |k, _| reported.push(k.to_vec()));
            if s.step(next, reported)? {
                break;
            }
        }
    }
    Ok(())
}

/// The map-only operations, as no-ops (or plain model checks) for sets.
trait MapOps {
    fn get_mut_fill(&mut self, k: &[u8], f: u8, m: &mut HashMap<Vec<u8>, Vec<u8>>);
    fn insert_if_absent(
        &mut self,
        k: &[u8],
        f: u8,
        m: &mut HashMap<Vec<u8>, Vec<u8>>,
    ) -> Result<(), TestCaseError>;
}

impl MapOps for DenseSet {
    fn get_mut_fill(&mut self, _: &[u8], _: u8, _: &mut HashMap<Vec<u8>, Vec<u8>>) {}
    fn insert_if_absent(
        &mut self,
        k: &[u8],
        _: u8,
        m: &mut HashMap<Vec<u8>, Vec<u8>>,
    ) -> Result<(), TestCaseError> {
        prop_assert_eq!(self.contains(k), m.contains_key(k));
        Ok(())
    }
}

impl MapOps for DenseMap {
    fn get_mut_fill(&mut self, k: &[u8], f: u8, m: &mut HashMap<Vec<u8>, Vec<u8>>) {
        if let Some(v) = self.get_mut(k) {
            v.fill(f);
        }
        if let Some(v) = m.get_mut(k) {
            v.fill(f);
        }
    }
    fn insert_if_absent(
        &mut self,
        k: &[u8],
        f: u8,
        m: &mut HashMap<Vec<u8>, Vec<u8>>,
    ) -> Result<(), TestCaseError> {
        let v = value(3, f);
        let new = !m.contains_key(k);
        if new {
            m.insert(k.to_vec(), v.clone());
        }
        prop_assert_eq!(DenseMap::insert_if_absent(self, k, &v), new);
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(128)))]

    #[test]
    fn dense_set_behaves_like_hashset(ops in proptest::collection::vec(op(3000), 1..size(120, 30))) {
        run(DenseSet::new(), ops, 3000)?;
    }

    #[test]
    fn dense_map_behaves_like_hashmap(ops in proptest::collection::vec(op(3000), 1..size(120, 30))) {
        run(DenseMap::new(), ops, 3000)?;
    }

    #[test]
    fn presized_tables_behave_too(
        cap in 0..5000usize,
        ops in proptest::collection::vec(op(400), 1..60),
    ) {
        run(DenseSet::with_capacity(cap), ops.clone(), 400)?;
        run(DenseMap::with_capacity(cap), ops, 400)?;
    }
}

// ---- the scan promise under growth and shrinking ----

/// Scans `t` to the end with `count` per step, calling `between` after every step (which may
/// change `t`), and returns every key reported.
fn scan_all<T: Table>(t: &mut T, count: usize, mut between: impl FnMut(&mut T)) -> Vec<Vec<u8>> {
    let mut seen = Vec::new();
    let mut cursor = 0;
    loop {
        cursor = t.t_scan(cursor, count, |k, _| seen.push(k.to_vec()));
        if cursor == 0 {
            return seen;
        }
        between(t);
    }
}

fn scan_while_growing<T: Table>(mut t: T) {
    let stable: Vec<Vec<u8>> = (0..size(1000, 60))
        .map(|i| format!("stable:{i}").into_bytes())
        .collect();
    for k in &stable {
        t.t_insert(k, b"v");
    }
    let start_slots = t.t_slots();
    let mut next = 0u32;
    let mut others: Vec<Vec<u8>> = Vec::new();
    let mut rng = Rng(7);
    let mut max_slots = start_slots;
    let per_step = size(400, 40);
    let mut steps = 0;
    let seen = scan_all(&mut t, 10, |t| {
        // Many inserts (forcing doublings) and removals of other members between the first 30
        // steps, then removals only, so the scan can catch up with the table.
        steps += 1;
        if steps <= 30 {
            for _ in 0..per_step {
                let k = format!("grow:{next}").into_bytes();
                next += 1;
                t.t_insert(&k, b"w");
                others.push(k);
            }
        }
        for _ in 0..(per_step / 4).min(others.len()) {
            let k = others.swap_remove(rng.below(others.len()));
            assert!(t.t_remove(&k));
        }
        max_slots = max_slots.max(t.t_slots());
    });
    let seen: HashSet<Vec<u8>> = seen.into_iter().collect();
    for k in &stable {
        assert!(seen.contains(k), "missed {}", String::from_utf8_lossy(k));
    }
    assert!(
        max_slots >= start_slots * 8,
        "the table doubled at least three times during the scan ({start_slots} -> {max_slots})"
    );
}

fn scan_while_shrinking<T: Table>(mut t: T) {
    let stable: Vec<Vec<u8>> = (0..size(300, 20))
        .map(|i| format!("stable:{i}").into_bytes())
        .collect();
    let mut others: Vec<Vec<u8>> = (0..size(60_000, 1500))
        .map(|i| format!("other:{i}").into_bytes())
        .collect();
    for k in stable.iter().chain(&others) {
        t.t_insert(k, b"v");
    }
    let start_slots = t.t_slots();
    let mut rng = Rng(11);
    let per_step = size(1500, 150);
    let mut steps = 0;
    let seen = scan_all(&mut t, 20, |t| {
        steps += 1;
        for _ in 0..per_step.min(others.len()) {
            let k = others.swap_remove(rng.below(others.len()));
            assert!(t.t_remove(&k));
        }
        // Growth again late in the scan: the cursor must survive shrink then grow.
        if others.is_empty() && steps % 3 == 0 {
            for i in 0..per_step / 4 {
                let k = format!("late:{steps}:{i}").into_bytes();
                t.t_insert(&k, b"x");
            }
        }
    });
    let seen: HashSet<Vec<u8>> = seen.into_iter().collect();
    for k in &stable {
        assert!(seen.contains(k), "missed {}", String::from_utf8_lossy(k));
    }
    assert!(
        others.is_empty(),
        "the scan ended before every other member was removed"
    );
    assert!(
        start_slots >= 8 * size(256, 8),
        "started large: {start_slots}"
    );
}

#[test]
fn set_scan_sees_stable_members_while_the_table_doubles() {
    scan_while_growing(DenseSet::new());
}

#[test]
fn map_scan_sees_stable_fields_while_the_table_doubles() {
    scan_while_growing(DenseMap::new());
}

#[test]
fn set_scan_sees_stable_members_while_the_table_halves() {
    scan_while_shrinking(DenseSet::new());
}

#[test]
fn map_scan_sees_stable_fields_while_the_table_halves() {
    scan_while_shrinking(DenseMap::new());
}

#[test]
fn scan_of_an_unchanging_table_reports_each_member_once() {
    for n in [0, 1, 5, 6, 7, 100, size(5000, 300)] {
        let mut s = DenseSet::new();
        for i in 0..n {
            s.insert(format!("{i}").as_bytes());
        }
        for count in [1, 10, 1000] {
            let mut seen = scan_all(&mut s, count, |_| {});
            seen.sort();
            let mut want: Vec<Vec<u8>> = s.iter().map(<[u8]>::to_vec).collect();
            want.sort();
            assert_eq!(seen, want, "n {n} count {count}");
        }
        // The cursor stays below the slot count, and a count of 0 still makes progress.
        let c = s.scan(0, 0, |_| {});
        assert!(c == 0 || c < s.slot_count() as u64);
    }
}

// ---- random(): uniform enough for SRANDMEMBER / SPOP / HRANDFIELD ----

/// Chi-square of `counts` against a uniform expectation.
fn chi_square(counts: &HashMap<Vec<u8>, usize>, n: usize, draws: usize) -> f64 {
    let e = draws as f64 / n as f64;
    assert_eq!(counts.len(), n, "some member was never drawn");
    counts.values().map(|&c| (c as f64 - e).powi(2) / e).sum()
}

#[test]
fn random_is_uniform_over_members() {
    // 200 members left in a table grown to 4096 slots and shrunk back by removals, so members sit
    // in uneven clusters; seeded, so the outcome is fixed.
    let n = 200;
    let draws = size(200_000, 4_000);
    let mut s = DenseSet::new();
    let mut m = DenseMap::new();
    for i in 0..3000 {
        s.insert(format!("r:{i}").as_bytes());
        m.insert(format!("r:{i}").as_bytes(), b"v");
    }
    for i in n..3000 {
        s.remove(format!("r:{i}").as_bytes());
        m.remove(format!("r:{i}").as_bytes());
    }
    assert_eq!(s.len(), n);
    let mut rng = Rng(42);
    let mut sc: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut mc: HashMap<Vec<u8>, usize> = HashMap::new();
    for _ in 0..draws {
        *sc.entry(s.random(|k| rng.below(k)).unwrap().to_vec())
            .or_default() += 1;
        *mc.entry(m.random(|k| rng.below(k)).unwrap().0.to_vec())
            .or_default() += 1;
    }
    if !cfg!(miri) {
        // 199 degrees of freedom: the 99.99th percentile is about 288.
        let (cs, cm) = (chi_square(&sc, n, draws), chi_square(&mc, n, draws));
        assert!(
            cs < 288.0 && cm < 288.0,
            "chi-square set {cs:.1} map {cm:.1}"
        );
    }
    let mut is = IntSet::new();
    for i in 0..n as i64 {
        is.insert(i * 1000);
    }
    let mut ic = vec![0usize; n];
    for _ in 0..draws {
        ic[(is.random(|k| rng.below(k)).unwrap() / 1000) as usize] += 1;
    }
    let e = draws as f64 / n as f64;
    let ci: f64 = ic.iter().map(|&c| (c as f64 - e).powi(2) / e).sum();
    assert!(cfg!(miri) || ci < 288.0, "intset chi-square {ci:.1}");
}

#[test]
fn pop_random_drains_every_member_once() {
    let mut s = DenseSet::new();
    let n = size(5000, 200);
    for i in 0..n {
        s.insert(format!("p:{i}").as_bytes());
    }
    let mut rng = Rng(3);
    let mut got = HashSet::new();
    while let Some(m) = s.pop_random(|k| rng.below(k)) {
        assert!(got.insert(m));
    }
    assert_eq!(got.len(), n);
    assert_eq!(s.slot_count(), 8, "shrunk to the smallest table");
}

// ---- memory: bytes per member, counted ----

/// Live heap bytes a table adds per member for `n` members of 10 bytes (`m:00000000`), the
/// members' own copies included, next to its `mem_bytes()` estimate and a std `HashSet` of
/// `Box<[u8]>` for scale.
#[test]
fn bytes_per_member_of_a_million() {
    let n = size(1_000_000, 2_000);
    let members: Vec<Vec<u8>> = (0..n).map(|i| format!("m:{i:08}").into_bytes()).collect();
    let before = live_bytes();
    let mut s = DenseSet::new();
    for k in &members {
        s.insert(k);
    }
    let set_bpm = (live_bytes() - before) as f64 / n as f64;
    let set_est = s.mem_bytes() as f64 / n as f64;
    let load = s.len() as f64 / s.slot_count() as f64;
    drop(s);

    let before = live_bytes();
    let mut m = DenseMap::new();
    for k in &members {
        m.insert(k, k);
    }
    let map_bpm = (live_bytes() - before) as f64 / n as f64;
    drop(m);

    let before = live_bytes();
    let mut std_set: HashSet<Box<[u8]>> = HashSet::new();
    for k in &members {
        std_set.insert(k[..].into());
    }
    let std_bpm = (live_bytes() - before) as f64 / n as f64;
    drop(std_set);

    println!(
        "{n} members of 10 bytes: DenseSet {set_bpm:.1} B/member counted, {set_est:.1} estimated \
         at mimalloc size classes (load {load:.3}); DenseMap with 10-byte values {map_bpm:.1} \
         B/field; std HashSet<Box<[u8]>> {std_bpm:.1} B/member"
    );
    if !cfg!(miri) {
        // 8 / 0.477 for the slots, 11 for the block.
        assert!(set_bpm < 30.0, "{set_bpm} B/member");
        assert!(set_est < 36.0, "{set_est} B/member estimated");
        assert!(set_bpm < std_bpm);
    }

    // The densest point: 1.5M members just before the table doubles to 4M slots.
    let n = size(1_500_000, 3_000);
    let members: Vec<Vec<u8>> = (0..n).map(|i| format!("m:{i:08}").into_bytes()).collect();
    let before = live_bytes();
    let mut s = DenseSet::new();
    for k in &members {
        s.insert(k);
    }
    let dense_bpm = (live_bytes() - before) as f64 / n as f64;
    let load = s.len() as f64 / s.slot_count() as f64;
    println!("{n} members of 10 bytes: DenseSet {dense_bpm:.1} B/member counted (load {load:.3})");
    assert!(
        cfg!(miri) || dense_bpm < 23.0,
        "{dense_bpm} B/member at the densest"
    );
}
