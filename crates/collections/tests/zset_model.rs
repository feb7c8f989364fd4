//! Model test of `ZSetValue` (`zsetval.rs`) against a sorted `Vec<(member, score)>`, with small
//! thresholds so random ZADD (every flag), ZINCRBY, ZREM, ZRANGE/ZREVRANGE by rank, score and
//! lex with LIMIT, ZCOUNT/ZLEXCOUNT, ZREMRANGEBY*, ZPOP*, ZRANDMEMBER and ZSCAN sequences cross
//! every conversion: create with size hints, listpack -> skiplist on length, on member length and
//! on ZADD's batch hint, and skiplist -> listpack through `maybe_convert_to_packed`. The expected
//! encoding is a transcription of Redis 7.2's rules kept next to the model.

use darter_collections::bptree::{cmp_entry, cmp_score, LexBound, LexRange, ScoreRange};
use darter_collections::zsetval::{push_score, rank_window, AddFlags, AddOutcome, ZSetValue};
use darter_collections::Limits;
use proptest::prelude::*;
use std::cmp::Ordering;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Enc {
    Packed,
    Tree,
}

fn enc_of(z: &ZSetValue) -> Enc {
    match z {
        ZSetValue::Packed(_) => Enc::Packed,
        ZSetValue::Tree(_) => Enc::Tree,
    }
}

type Pairs = Vec<(Vec<u8>, f64)>;

/// The model: entries sorted by (score, member), and the encoding Redis 7.2 would have.
struct Model {
    v: Pairs,
    enc: Enc,
    l: Limits,
}

impl Model {
    fn pos(&self, m: &[u8]) -> Option<usize> {
        self.v.iter().position(|(k, _)| k == m)
    }

    fn insert(&mut self, m: &[u8], s: f64) {
        let i = self
            .v
            .iter()
            .position(|(k, ks)| cmp_entry(*ks, k, s, m) == Ordering::Greater)
            .unwrap_or(self.v.len());
        self.v.insert(i, (m.to_vec(), s));
    }

    /// Redis's `zsetAdd`.
    fn add(&mut self, m: &[u8], score: f64, f: AddFlags) -> AddOutcome {
        if score.is_nan() {
            return AddOutcome::Nan;
        }
        match self.pos(m) {
            None => {
                if f.xx {
                    return AddOutcome::Nop;
                }
                if self.enc == Enc::Packed
                    && (self.v.len() + 1 > self.l.zset_max_listpack_entries
                        || m.len() > self.l.zset_max_listpack_value)
                {
                    self.enc = Enc::Tree;
                }
                self.insert(m, score);
                AddOutcome::Added(score)
            }
            Some(i) => {
                if f.nx {
                    return AddOutcome::Nop;
                }
                let cur = self.v[i].1;
                let mut score = score;
                if f.incr {
                    score += cur;
                    if score.is_nan() {
                        return AddOutcome::Nan;
                    }
                }
                if (f.lt && score >= cur) || (f.gt && score <= cur) {
                    return AddOutcome::Nop;
                }
                if score == cur {
                    return AddOutcome::Unchanged(score);
                }
                self.v.remove(i);
                self.insert(m, score);
                AddOutcome::Updated(score)
            }
        }
    }

    fn one_score(&self) -> bool {
        self.v
            .windows(2)
            .all(|w| cmp_score(w[0].1, w[1].1) == Ordering::Equal)
    }

    /// Prefix counts, as a sorted set answers range questions.
    fn partition(&self, mut below: impl FnMut(f64, &[u8]) -> bool) -> usize {
        self.v.iter().take_while(|(m, s)| below(*s, m)).count()
    }

    fn score_ranks(&self, r: &ScoreRange) -> (usize, usize) {
        if r.is_empty() {
            return (0, 0);
        }
        let a = self.partition(|s, _| r.below_min(s));
        let b = self.partition(|s, _| r.within_max(s));
        (a, b.max(a))
    }

    fn lex_ranks(&self, r: &LexRange<'_>) -> (usize, usize) {
        let a = self.partition(|_, m| r.below_min(m));
        let b = self.partition(|_, m| r.within_max(m));
        (a, b.max(a))
    }

    fn window(
        &self,
        (a, b): (usize, usize),
        offset: usize,
        count: Option<usize>,
        rev: bool,
    ) -> Pairs {
        let mut w = self.v[a..b].to_vec();
        if rev {
            w.reverse();
        }
        w.into_iter()
            .skip(offset)
            .take(count.unwrap_or(usize::MAX))
            .collect()
    }

    fn remove_ranks(&mut self, a: usize, b: usize) -> Pairs {
        if a >= b {
            return Vec::new();
        }
        self.v.drain(a..b).collect()
    }
}

fn same(a: &[(Vec<u8>, f64)], b: &[(Vec<u8>, f64)]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.0 == y.0 && cmp_score(x.1, y.1) == Ordering::Equal)
}

fn same_outcome(a: AddOutcome, b: AddOutcome) -> bool {
    use AddOutcome::*;
    match (a, b) {
        (Nan, Nan) | (Nop, Nop) => true,
        (Added(x), Added(y)) | (Updated(x), Updated(y)) | (Unchanged(x), Unchanged(y)) => x == y,
        _ => false,
    }
}

fn collect<'a>(it: impl Iterator<Item = (darter_collections::LpEntry<'a>, f64)>) -> Pairs {
    it.map(|(m, s)| (m.to_vec(), s)).collect()
}

fn member() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => prop::collection::vec(prop::sample::select(vec![b'a', b'b', b'c']), 0..3),
        2 => prop::sample::select(vec![b"1".to_vec(), b"12".to_vec(), b"-7".to_vec(), b"01".to_vec()]),
        1 => prop::collection::vec(prop::sample::select(vec![b'x', b'y']), 3..7),
    ]
}

fn score() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => (-4i32..8).prop_map(f64::from),
        2 => prop::sample::select(vec![
            f64::NEG_INFINITY, f64::INFINITY, -0.0, 0.5, -1.25, 0.1, 1e300, 1e-7,
            4611686018427387904.0, 9223372036854775808.0, f64::NAN
        ]),
    ]
}

fn score_range() -> impl Strategy<Value = ScoreRange> {
    (score(), score(), any::<bool>(), any::<bool>()).prop_map(|(min, max, min_ex, max_ex)| {
        let fix = |v: f64| if v.is_nan() { 0.0 } else { v };
        ScoreRange {
            min: fix(min),
            max: fix(max),
            min_ex,
            max_ex,
        }
    })
}

fn lex_bound() -> impl Strategy<Value = (u8, Vec<u8>)> {
    (0u8..4, member())
}

fn mk_bound((k, m): &(u8, Vec<u8>)) -> LexBound<'_> {
    match k {
        0 => LexBound::Min,
        1 => LexBound::Max,
        2 => LexBound::Incl(m),
        _ => LexBound::Excl(m),
    }
}

fn flags() -> impl Strategy<Value = AddFlags> {
    (0u8..4, 0u8..3, any::<bool>()).prop_map(|(nxx, gtlt, incr)| AddFlags {
        nx: nxx == 1,
        xx: nxx == 2,
        gt: gtlt == 1,
        lt: gtlt == 2,
        incr,
    })
}

#[derive(Clone, Debug)]
enum Op {
    Add(Vec<u8>, f64, AddFlags),
    /// ZADD of several members: the batch hint first, then each add.
    AddMany(Vec<(Vec<u8>, f64)>),
    Remove(Vec<u8>),
    Query(Vec<u8>),
    RangeRank(i64, i64, bool),
    RangeScore(ScoreRange, usize, Option<usize>, bool),
    RangeLex((u8, Vec<u8>), (u8, Vec<u8>), usize, Option<usize>, bool),
    RemRank(i64, i64),
    RemScore(ScoreRange),
    RemLex((u8, Vec<u8>), (u8, Vec<u8>)),
    Pop(usize, bool),
    Random(usize),
    Scan(usize),
    Shrink,
    /// Replace the set by a clone and drop the original (a clone must own its own blocks).
    Clone,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        10 => (member(), score(), flags()).prop_map(|(m, s, f)| Op::Add(m, s, f)),
        2 => prop::collection::vec((member(), score().prop_filter("not NaN", |s| !s.is_nan())), 1..12)
            .prop_map(Op::AddMany),
        3 => member().prop_map(Op::Remove),
        3 => member().prop_map(Op::Query),
        2 => (-12i64..12, -12i64..12, any::<bool>()).prop_map(|(a, b, r)| Op::RangeRank(a, b, r)),
        2 => (score_range(), 0usize..4, prop::option::of(0usize..5), any::<bool>())
            .prop_map(|(r, o, c, rev)| Op::RangeScore(r, o, c, rev)),
        2 => (lex_bound(), lex_bound(), 0usize..4, prop::option::of(0usize..5), any::<bool>())
            .prop_map(|(a, b, o, c, rev)| Op::RangeLex(a, b, o, c, rev)),
        1 => (-12i64..12, -12i64..12).prop_map(|(a, b)| Op::RemRank(a, b)),
        1 => score_range().prop_map(Op::RemScore),
        1 => (lex_bound(), lex_bound()).prop_map(|(a, b)| Op::RemLex(a, b)),
        1 => (0usize..4, any::<bool>()).prop_map(|(c, m)| Op::Pop(c, m)),
        1 => any::<usize>().prop_map(Op::Random),
        1 => (1usize..5).prop_map(Op::Scan),
        1 => Just(Op::Shrink),
        1 => Just(Op::Clone),
    ]
}

fn run(l: Limits, hint: (usize, usize), ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut z = ZSetValue::create(hint.0, hint.1, &l);
    let enc = if hint.0 <= l.zset_max_listpack_entries && hint.1 <= l.zset_max_listpack_value {
        Enc::Packed
    } else {
        Enc::Tree
    };
    let mut md = Model {
        v: Vec::new(),
        enc,
        l,
    };
    for op in ops {
        match op {
            Op::Add(m, s, f) => {
                let want = md.add(&m, s, f);
                let got = z.add(&m, s, f, &l);
                prop_assert!(same_outcome(got, want), "{:?} vs {:?}", got, want);
            }
            Op::AddMany(items) => {
                z.maybe_convert(items.len(), &l);
                if md.enc == Enc::Packed && items.len() > l.zset_max_listpack_entries {
                    md.enc = Enc::Tree;
                }
                for (m, s) in items {
                    let want = md.add(&m, s, AddFlags::default());
                    prop_assert!(same_outcome(z.add(&m, s, AddFlags::default(), &l), want));
                }
            }
            Op::Remove(m) => {
                let want = md.pos(&m).map(|i| md.v.remove(i)).is_some();
                prop_assert_eq!(z.remove(&m), want);
            }
            Op::Query(m) => {
                let i = md.pos(&m);
                let s = i.map(|i| md.v[i].1);
                match (z.score(&m), s) {
                    (None, None) => {}
                    (Some(x), Some(y)) => prop_assert_eq!(cmp_score(x, y), Ordering::Equal),
                    (x, y) => prop_assert!(false, "score {:?} vs {:?}", x, y),
                }
                prop_assert_eq!(z.rank(&m, false).map(|r| r.0), i);
                prop_assert_eq!(z.rank(&m, true).map(|r| r.0), i.map(|i| md.v.len() - 1 - i));
            }
            Op::RangeRank(a, b, rev) => {
                let (x, y) = rank_window(a, b, md.v.len());
                let mut want = md.v[x..y].to_vec();
                if rev {
                    // ZRANGE ... REV counts ranks from the highest.
                    let n = md.v.len();
                    want = md.v[n - y..n - x].to_vec();
                    want.reverse();
                }
                prop_assert!(same(&collect(z.range_by_rank(a, b, rev)), &want));
            }
            Op::RangeScore(r, off, cnt, rev) => {
                let want = md.window(md.score_ranks(&r), off, cnt, rev);
                prop_assert!(same(&collect(z.range_by_score(&r, off, cnt, rev)), &want));
                prop_assert_eq!(
                    z.count_score(&r),
                    md.score_ranks(&r).1 - md.score_ranks(&r).0
                );
            }
            Op::RangeLex(a, b, off, cnt, rev) => {
                let r = LexRange {
                    min: mk_bound(&a),
                    max: mk_bound(&b),
                };
                let got = collect(z.range_by_lex(&r, off, cnt, rev));
                if md.one_score() {
                    let want = md.window(md.lex_ranks(&r), off, cnt, rev);
                    prop_assert!(same(&got, &want));
                    prop_assert_eq!(z.count_lex(&r), md.lex_ranks(&r).1 - md.lex_ranks(&r).0);
                } else {
                    // Lex ranges over mixed scores are unspecified (as in Redis), but still
                    // a window of the order whose length the count gives.
                    let all = collect(z.range_by_lex(&r, 0, None, false));
                    prop_assert_eq!(all.len(), z.count_lex(&r));
                    prop_assert!(md
                        .v
                        .windows(all.len().max(1))
                        .any(|w| all.is_empty() || same(w, &all)));
                }
            }
            Op::RemRank(a, b) => {
                let (x, y) = rank_window(a, b, md.v.len());
                let want = md.remove_ranks(x, y);
                prop_assert!(same(&z.remove_range_by_rank(a, b), &want));
            }
            Op::RemScore(r) => {
                let (x, y) = md.score_ranks(&r);
                let want = md.remove_ranks(x, y);
                prop_assert!(same(&z.remove_range_by_score(&r), &want));
            }
            Op::RemLex(a, b) => {
                let r = LexRange {
                    min: mk_bound(&a),
                    max: mk_bound(&b),
                };
                let (x, y) = if md.one_score() {
                    md.lex_ranks(&r)
                } else {
                    // Unspecified over mixed scores: remove the window the range reports.
                    let w = collect(z.range_by_lex(&r, 0, None, false));
                    let x = w.first().map_or(0, |(m, _)| md.pos(m).unwrap());
                    (x, x + w.len())
                };
                let want = md.remove_ranks(x, y);
                prop_assert!(same(&z.remove_range_by_lex(&r), &want));
            }
            Op::Pop(c, max) => {
                let n = md.v.len();
                let k = c.min(n);
                let want = if max {
                    let mut w = md.remove_ranks(n - k, n);
                    w.reverse();
                    w
                } else {
                    md.remove_ranks(0, k)
                };
                prop_assert!(same(&z.pop(c, max), &want));
            }
            Op::Random(seed) => {
                let got = z.random(|n| seed % n).map(|(m, s)| (m.to_vec(), s));
                match got {
                    None => prop_assert!(md.v.is_empty()),
                    Some((m, s)) => {
                        let i = md.pos(&m);
                        prop_assert!(i.is_some());
                        prop_assert_eq!(cmp_score(md.v[i.unwrap()].1, s), Ordering::Equal);
                    }
                }
            }
            Op::Scan(count) => {
                let mut seen = Vec::new();
                let mut cursor = 0;
                loop {
                    cursor = z.scan(cursor, count, |m, s| seen.push((m.to_vec(), s)));
                    if cursor == 0 {
                        break;
                    }
                }
                seen.sort_by(|a, b| cmp_entry(a.1, &a.0, b.1, &b.0));
                seen.dedup_by(|a, b| a.0 == b.0);
                prop_assert!(same(&seen, &md.v));
            }
            Op::Clone => {
                let c = z.clone();
                drop(std::mem::replace(&mut z, c));
                z.check();
            }
            Op::Shrink => {
                let fits = md.v.len() <= l.zset_max_listpack_entries
                    && md
                        .v
                        .iter()
                        .all(|(m, _)| m.len() <= l.zset_max_listpack_value);
                if fits {
                    md.enc = Enc::Packed;
                }
                prop_assert_eq!(z.maybe_convert_to_packed(&l), md.enc == Enc::Packed);
            }
        }
        z.check();
        prop_assert_eq!(enc_of(&z), md.enc);
        prop_assert_eq!(
            z.encoding_name(),
            if md.enc == Enc::Packed {
                "listpack"
            } else {
                "skiplist"
            }
        );
        prop_assert_eq!(z.len(), md.v.len());
        prop_assert!(same(&collect(z.iter()), &md.v));
    }
    Ok(())
}

fn limits(entries: usize, value: usize) -> Limits {
    Limits {
        zset_max_listpack_entries: entries,
        zset_max_listpack_value: value,
        ..Limits::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn small_limits(
        entries in prop::sample::select(vec![0usize, 1, 3, 8]),
        value in prop::sample::select(vec![0usize, 2, 4]),
        hint in (0usize..10, 0usize..6),
        ops in prop::collection::vec(op(), 1..150),
    ) {
        run(limits(entries, value), hint, ops)?;
    }

    #[test]
    fn default_limits(ops in prop::collection::vec(op(), 1..300)) {
        run(Limits::default(), (1, 1), ops)?;
    }
}

/// The listpack stores scores as Redis 7.2's `zzlInsertAt` does: integers as integer entries
/// (so `-0` as `0`), other doubles as their text.
#[test]
fn listpack_score_layout() {
    let l = Limits::default();
    let mut z = ZSetValue::create(1, 1, &l);
    for (m, s) in [
        (&b"a"[..], 1.0),
        (b"b", -0.0),
        (b"c", 2.5),
        (b"d", f64::INFINITY),
        (b"e", 1e300),
    ] {
        z.add(m, s, AddFlags::default(), &l);
    }
    let ZSetValue::Packed(lp) = &z else {
        panic!("listpack expected")
    };
    let v: Vec<Vec<u8>> = lp.iter().map(|e| e.to_vec()).collect();
    let want: Vec<&[u8]> = vec![
        b"b", b"0", b"a", b"1", b"c", b"2.5", b"e", b"1e+300", b"d", b"inf",
    ];
    assert_eq!(v, want.iter().map(|b| b.to_vec()).collect::<Vec<_>>());
    assert!(matches!(
        lp.get(1),
        Some(darter_collections::LpEntry::Int(0))
    ));
}

#[test]
fn score_text() {
    let f = |v: f64| {
        let mut b = Vec::new();
        push_score(&mut b, v);
        String::from_utf8(b).unwrap()
    };
    // Expected strings are Redis 7.2's replies (d2string with fpconv_dtoa).
    assert_eq!(f(0.0), "0");
    assert_eq!(f(-0.0), "-0");
    assert_eq!(f(-3.0), "-3");
    assert_eq!(f(1.5), "1.5");
    assert_eq!(f(0.1), "0.1");
    assert_eq!(f(-0.25), "-0.25");
    assert_eq!(f(1e-5), "0.00001");
    assert_eq!(f(1.5e-6), "1.5e-6");
    assert_eq!(f(1e-7), "1e-7");
    assert_eq!(f(1e300), "1e+300");
    assert_eq!(f(-1.7976931348623157e308), "-1.7976931348623157e+308");
    assert_eq!(f(123456789012345680000.0), "123456789012345680000");
    assert_eq!(f(9223372036854775808.0), "9223372036854776000");
    assert_eq!(f(1e25), "1e+25");
    assert_eq!(f(4611686018427387904.0), "4611686018427387904");
    assert_eq!(f(2.71), "2.71");
    assert_eq!(f(12345.678), "12345.678");
    assert_eq!(f(f64::NEG_INFINITY), "-inf");
    for v in [
        0.1,
        1e-300,
        5e-324,
        1.7976931348623157e308,
        -2.5e-7,
        9.2e18,
        1234.5e-10,
    ] {
        assert_eq!(f(v).parse::<f64>().unwrap(), v);
    }
}

/// Exactly `zset-max-listpack-entries` members stay packed; one more converts; a member of
/// exactly `zset-max-listpack-value` bytes stays packed, one byte more converts.
#[test]
fn thresholds() {
    let l = limits(128, 64);
    let mut z = ZSetValue::create(1, 1, &l);
    for i in 0..128 {
        z.add(
            format!("m{i}").as_bytes(),
            f64::from(i),
            AddFlags::default(),
            &l,
        );
    }
    assert_eq!(z.encoding_name(), "listpack");
    z.add(b"one more", 0.0, AddFlags::default(), &l);
    assert_eq!(z.encoding_name(), "skiplist");
    z.remove(b"one more");
    z.remove(b"m0");
    assert_eq!(z.encoding_name(), "skiplist", "removals never convert back");
    assert!(z.maybe_convert_to_packed(&l));
    assert_eq!(z.encoding_name(), "listpack");
    z.add(&[b'v'; 64], 1.0, AddFlags::default(), &l);
    assert_eq!(z.encoding_name(), "listpack");
    z.add(&[b'w'; 65], 1.0, AddFlags::default(), &l);
    assert_eq!(z.encoding_name(), "skiplist");
    z.check();
    assert_eq!(z.len(), 129);
}

/// Shards move values between threads (snapshots, migrations), like every other value type.
#[test]
fn send_and_sync() {
    fn f<T: Send + Sync>() {}
    f::<ZSetValue>();
    f::<darter_collections::bptree::BpTree>();
}

/// RDB listpacks are adopted when well formed and converted when too long.
#[test]
fn from_listpack() {
    use darter_collections::ListPack;
    let l = limits(2, 64);
    let lp = |items: &[&[u8]]| {
        let mut lp = ListPack::new();
        for i in items {
            lp.push_back(i);
        }
        lp
    };
    let z = ZSetValue::from_listpack(lp(&[b"a", b"1", b"b", b"1.5"]), &l).unwrap();
    assert_eq!(z.encoding_name(), "listpack");
    assert_eq!(z.score(b"b"), Some(1.5));
    let z = ZSetValue::from_listpack(lp(&[b"a", b"1", b"b", b"2", b"c", b"2"]), &l).unwrap();
    assert_eq!(z.encoding_name(), "skiplist");
    z.check();
    assert_eq!(
        collect(z.iter()),
        vec![
            (b"a".to_vec(), 1.0),
            (b"b".to_vec(), 2.0),
            (b"c".to_vec(), 2.0)
        ]
    );
    assert!(ZSetValue::from_listpack(lp(&[]), &l).is_err());
    assert!(ZSetValue::from_listpack(lp(&[b"a"]), &l).is_err());
    assert!(ZSetValue::from_listpack(lp(&[b"a", b"x"]), &l).is_err());
    assert!(ZSetValue::from_listpack(lp(&[b"a", b"nan"]), &l).is_err());
    assert!(ZSetValue::from_listpack(lp(&[b"a", b"1", b"a", b"2"]), &l).is_err());
    assert!(ZSetValue::from_listpack(lp(&[b"b", b"1", b"a", b"1"]), &l).is_err());
    assert!(ZSetValue::from_listpack(lp(&[b"a", b"2", b"b", b"1"]), &l).is_err());
}
