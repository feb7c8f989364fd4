//! Model test of `BpTree` (`bptree.rs`) against `BTreeMap<(OrdScore, Vec<u8>), ()>`: random
//! inserts, removes (by key and by rank), rank and entry-at-rank queries, score/lex counts, rank
//! range iteration both ways and range removals, with tiny fan-outs so a few hundred operations
//! split, borrow, merge and collapse nodes at every level. `BpTree::check` re-verifies the
//! structure (counts, separators, fill, leaf links) after every step.

use darter_collections::bptree::{cmp_score, BpTree, LexBound, LexRange, ScoreRange};
use proptest::prelude::*;
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// A score with Redis's order (`-0.0 == 0.0`); never NaN.
#[derive(Clone, Copy, Debug)]
struct OrdScore(f64);

impl PartialEq for OrdScore {
    fn eq(&self, o: &Self) -> bool {
        cmp_score(self.0, o.0) == Ordering::Equal
    }
}
impl Eq for OrdScore {}
impl PartialOrd for OrdScore {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for OrdScore {
    fn cmp(&self, o: &Self) -> Ordering {
        cmp_score(self.0, o.0)
    }
}

type Model = BTreeMap<(OrdScore, Vec<u8>), ()>;

fn score() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => (-5i32..20).prop_map(f64::from),
        1 => prop::sample::select(vec![
            f64::NEG_INFINITY, f64::INFINITY, -0.0, 0.0, 1.5, -2.25, 1e300, 5e-324
        ]),
    ]
}

fn member() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop::sample::select(vec![b'a', b'b', b'c', 0u8, 0xff]),
        0..4,
    )
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

fn score_range() -> impl Strategy<Value = ScoreRange> {
    (score(), score(), any::<bool>(), any::<bool>()).prop_map(|(min, max, min_ex, max_ex)| {
        ScoreRange {
            min,
            max,
            min_ex,
            max_ex,
        }
    })
}

#[derive(Clone, Debug)]
enum Op {
    Insert(f64, Vec<u8>),
    /// Removes the model's entry at this index (mod len), or a random key.
    RemoveExisting(usize),
    Remove(f64, Vec<u8>),
    RemoveAt(usize),
    RemoveRanks(usize, usize),
    RemoveScore(ScoreRange),
    RemoveLex((u8, Vec<u8>), (u8, Vec<u8>)),
    Query(usize, f64, Vec<u8>),
    CountScore(ScoreRange),
    CountLex((u8, Vec<u8>), (u8, Vec<u8>)),
    IterRange(usize, usize, bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => (score(), member()).prop_map(|(s, m)| Op::Insert(s, m)),
        4 => any::<usize>().prop_map(Op::RemoveExisting),
        1 => (score(), member()).prop_map(|(s, m)| Op::Remove(s, m)),
        2 => (0usize..200).prop_map(Op::RemoveAt),
        1 => (0usize..120, 0usize..40).prop_map(|(a, n)| Op::RemoveRanks(a, a + n)),
        1 => score_range().prop_map(Op::RemoveScore),
        1 => (lex_bound(), lex_bound()).prop_map(|(a, b)| Op::RemoveLex(a, b)),
        3 => (0usize..200, score(), member()).prop_map(|(r, s, m)| Op::Query(r, s, m)),
        2 => score_range().prop_map(Op::CountScore),
        2 => (lex_bound(), lex_bound()).prop_map(|(a, b)| Op::CountLex(a, b)),
        2 => (0usize..200, 0usize..200, any::<bool>()).prop_map(|(a, b, r)| Op::IterRange(a, b, r)),
    ]
}

fn entries(m: &Model) -> Vec<(f64, Vec<u8>)> {
    m.keys().map(|(s, k)| (s.0, k.clone())).collect()
}

fn tree_entries(t: &BpTree) -> Vec<(f64, Vec<u8>)> {
    t.iter().map(|(s, m)| (s, m.to_vec())).collect()
}

/// Compares scores bit for bit except that the zeros are one score (the tree keeps whichever
/// zero was inserted, the model the first one too).
fn same(a: &[(f64, Vec<u8>)], b: &[(f64, Vec<u8>)]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| cmp_score(x.0, y.0) == Ordering::Equal && x.1 == y.1)
}

fn remove_model_ranks(
    m: &mut Model,
    keep: impl Fn(usize, f64, &[u8]) -> bool,
) -> Vec<(f64, Vec<u8>)> {
    let all = entries(m);
    let mut removed = Vec::new();
    for (i, (s, k)) in all.into_iter().enumerate() {
        if !keep(i, s, &k) {
            m.remove(&(OrdScore(s), k.clone()));
            removed.push((s, k));
        }
    }
    removed
}

fn run(fanout: (usize, usize), ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut t = BpTree::with_fanout(fanout.0, fanout.1);
    let mut m = Model::new();
    for op in ops {
        match op {
            Op::Insert(s, k) => {
                let want = !m.contains_key(&(OrdScore(s), k.clone()));
                if want {
                    m.insert((OrdScore(s), k.clone()), ());
                }
                prop_assert_eq!(t.insert(s, &k), want);
            }
            Op::RemoveExisting(i) => {
                if let Some((s, k)) = entries(&m).get(i % m.len().max(1)).cloned() {
                    m.remove(&(OrdScore(s), k.clone()));
                    prop_assert!(t.remove(s, &k));
                    prop_assert!(!t.contains(s, &k));
                }
            }
            Op::Remove(s, k) => {
                let want = m.remove(&(OrdScore(s), k.clone())).is_some();
                prop_assert_eq!(t.remove(s, &k), want);
            }
            Op::RemoveAt(r) => {
                let want = entries(&m).get(r).cloned();
                if let Some((s, k)) = &want {
                    m.remove(&(OrdScore(*s), k.clone()));
                }
                let got = t.remove_at(r).map(|k| (k.score, k.member.into_vec()));
                prop_assert!(same(
                    &got.into_iter().collect::<Vec<_>>(),
                    &want.into_iter().collect::<Vec<_>>()
                ));
            }
            Op::RemoveRanks(a, b) => {
                let want = remove_model_ranks(&mut m, |i, _, _| i < a || i >= b);
                let got: Vec<_> = t
                    .remove_rank_range(a, b)
                    .into_iter()
                    .map(|k| (k.score, k.member.into_vec()))
                    .collect();
                prop_assert!(same(&got, &want));
            }
            Op::RemoveScore(r) => {
                let want = remove_model_ranks(&mut m, |_, s, _| r.is_empty() || !r.contains(s));
                let got: Vec<_> = t
                    .remove_score_range(&r)
                    .into_iter()
                    .map(|k| (k.score, k.member.into_vec()))
                    .collect();
                prop_assert!(same(&got, &want));
            }
            Op::RemoveLex(a, b) => {
                let r = LexRange {
                    min: mk_bound(&a),
                    max: mk_bound(&b),
                };
                // Member-only predicates are monotone only for one shared score, so the model
                // removes the tree's rank interval and checks that the interval is the right
                // one where the scores agree.
                let (ra, rb) = t.lex_ranks(&r);
                if m.keys().all(|(s, _)| *s == m.keys().next().unwrap().0) {
                    let want: Vec<usize> = entries(&m)
                        .iter()
                        .enumerate()
                        .filter(|(_, (_, k))| r.contains(k))
                        .map(|(i, _)| i)
                        .collect();
                    prop_assert_eq!(want.len(), rb - ra);
                    prop_assert!(want.iter().all(|&i| i >= ra && i < rb));
                }
                let want = remove_model_ranks(&mut m, |i, _, _| i < ra || i >= rb);
                let got: Vec<_> = t
                    .remove_lex_range(&r)
                    .into_iter()
                    .map(|k| (k.score, k.member.into_vec()))
                    .collect();
                prop_assert!(same(&got, &want));
            }
            Op::Query(r, s, k) => {
                let all = entries(&m);
                let got = t.get(r).map(|(s, k)| (s, k.to_vec()));
                prop_assert!(same(
                    &got.into_iter().collect::<Vec<_>>(),
                    &all.get(r).cloned().into_iter().collect::<Vec<_>>()
                ));
                let want_rank = all
                    .iter()
                    .position(|(ms, mk)| cmp_score(*ms, s) == Ordering::Equal && *mk == k);
                prop_assert_eq!(t.rank(s, &k), want_rank);
                prop_assert_eq!(t.contains(s, &k), want_rank.is_some());
                // Every stored entry's rank round-trips.
                if let Some((s, k)) = all.get(r % all.len().max(1)) {
                    prop_assert_eq!(t.rank(*s, k), Some(r % all.len()));
                }
            }
            Op::CountScore(r) => {
                let want = m
                    .keys()
                    .filter(|(s, _)| !r.is_empty() && r.contains(s.0))
                    .count();
                prop_assert_eq!(t.count_score(&r), want);
                let (a, b) = t.score_ranks(&r);
                let via_iter: Vec<_> = t
                    .iter_range(a, b, false)
                    .map(|(s, k)| (s, k.to_vec()))
                    .collect();
                let want_e: Vec<_> = entries(&m)
                    .into_iter()
                    .filter(|(s, _)| !r.is_empty() && r.contains(*s))
                    .collect();
                prop_assert!(same(&via_iter, &want_e));
            }
            Op::CountLex(a, b) => {
                let r = LexRange {
                    min: mk_bound(&a),
                    max: mk_bound(&b),
                };
                // With one shared score, the count is the model's; otherwise just consistent.
                let (ra, rb) = t.lex_ranks(&r);
                prop_assert_eq!(t.count_lex(&r), rb - ra);
                let first = m.keys().next().map(|k| k.0);
                if m.keys().all(|(s, _)| Some(*s) == first) {
                    prop_assert_eq!(rb - ra, m.keys().filter(|(_, k)| r.contains(k)).count());
                }
            }
            Op::IterRange(a, b, rev) => {
                let all = entries(&m);
                let end = b.min(all.len());
                let mut want: Vec<_> = if a < end {
                    all[a..end].to_vec()
                } else {
                    Vec::new()
                };
                if rev {
                    want.reverse();
                }
                let it = t.iter_range(a, b, rev);
                prop_assert_eq!(it.len(), want.len());
                let got: Vec<_> = it.map(|(s, k)| (s, k.to_vec())).collect();
                prop_assert!(same(&got, &want));
                let from: Vec<_> = t.iter_from(a).map(|(s, k)| (s, k.to_vec())).collect();
                prop_assert!(same(&from, all.get(a..).unwrap_or(&[])));
                let mut back: Vec<_> = t.iter_rev_from(a).map(|(s, k)| (s, k.to_vec())).collect();
                back.reverse();
                prop_assert!(same(&back, &all[..(a + 1).min(all.len())]));
            }
        }
        t.check();
        prop_assert_eq!(t.len(), m.len());
    }
    prop_assert!(same(&tree_entries(&t), &entries(&m)));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn tiny_fanout(ops in prop::collection::vec(op(), 1..400)) {
        run((4, 4), ops)?;
    }

    #[test]
    fn odd_fanout(ops in prop::collection::vec(op(), 1..400)) {
        run((5, 7), ops)?;
    }

    #[test]
    fn default_fanout(ops in prop::collection::vec(op(), 1..600)) {
        run((64, 64), ops)?;
    }
}

/// Many distinct entries through a default tree: height above 2, then removal back to empty by
/// alternating ends and the middle, checking ranks on the way.
#[test]
fn large_grow_and_shrink() {
    let mut t = BpTree::new();
    let n = 20_000u32;
    for i in 0..n {
        let k = (u64::from(i) * 7919 % u64::from(n)) as f64; // 7919 is prime: a permutation
        assert!(t.insert(k, format!("m{i}").as_bytes()));
    }
    t.check();
    assert_eq!(t.len(), n as usize);
    for r in (0..n as usize).step_by(997) {
        let (s, m) = t.get(r).map(|(s, m)| (s, m.to_vec())).unwrap();
        assert_eq!(t.rank(s, &m), Some(r));
    }
    assert_eq!(t.count_score(&ScoreRange::inclusive(100.0, 199.0)), 100);
    let mut left = n as usize;
    while left > 0 {
        let r = match left % 3 {
            0 => 0,
            1 => left - 1,
            _ => left / 2,
        };
        assert!(t.remove_at(r).is_some());
        left -= 1;
        if left.is_multiple_of(1000) {
            t.check();
        }
    }
    assert!(t.is_empty());
    t.check();
}

/// Rising scores (timestamps, counters) fill leaves completely instead of leaving every leaf
/// half full, and such a tree still removes and rebalances correctly.
#[test]
fn appends_fill_leaves() {
    let n = 20_000u32;
    let mut rising = BpTree::new();
    let mut shuffled = BpTree::new();
    for i in 0..n {
        assert!(rising.insert(f64::from(i), format!("m{i:05}").as_bytes()));
        let k = u64::from(i) * 7919 % u64::from(n);
        assert!(shuffled.insert(k as f64, format!("m{k:05}").as_bytes()));
    }
    rising.check();
    shuffled.check();
    assert!(
        rising.mem_bytes() * 4 < shuffled.mem_bytes() * 3,
        "rising {} vs shuffled {}",
        rising.mem_bytes(),
        shuffled.mem_bytes()
    );
    for r in (0..n as usize).step_by(7) {
        assert_eq!(rising.get(r).map(|(s, _)| s), Some(r as f64));
    }
    let mut left = n as usize;
    let mut x = 12345usize;
    while left > 0 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        assert!(rising.remove_at((x >> 33) % left).is_some());
        left -= 1;
        if left.is_multiple_of(997) {
            rising.check();
        }
    }
    rising.check();
}

#[test]
fn negative_zero_is_zero() {
    let mut t = BpTree::new();
    assert!(t.insert(-0.0, b"a"));
    assert!(!t.insert(0.0, b"a"));
    assert!(t.contains(0.0, b"a"));
    assert_eq!(t.count_score(&ScoreRange::inclusive(0.0, 0.0)), 1);
    assert!(t.remove(0.0, b"a"));
}

#[test]
fn parse_bounds() {
    let r = ScoreRange::parse(b"(1.5", b"+inf").unwrap();
    assert_eq!(
        r,
        ScoreRange {
            min: 1.5,
            max: f64::INFINITY,
            min_ex: true,
            max_ex: false
        }
    );
    assert!(ScoreRange::parse(b"nan", b"1").is_none());
    assert!(ScoreRange::parse(b"x", b"1").is_none());
    assert_eq!(LexBound::parse(b"-"), Some(LexBound::Min));
    assert_eq!(LexBound::parse(b"+"), Some(LexBound::Max));
    assert_eq!(LexBound::parse(b"[a"), Some(LexBound::Incl(b"a")));
    assert_eq!(LexBound::parse(b"(a"), Some(LexBound::Excl(b"a")));
    assert_eq!(LexBound::parse(b"a"), None);
    assert_eq!(LexBound::parse(b"-a"), None);
}
