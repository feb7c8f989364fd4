//! Model tests for the list encodings: random operations on `ListPack`, `QuickList` and `List`
//! against a `VecDeque<Vec<u8>>`, with count and byte fills (small ones force many nodes), a
//! small packed threshold (plain nodes), integer-looking values (only `string2ll`-valid ones
//! become integers, and every value must come back byte for byte), CONFIG SET of the fill
//! mid-run, and Redis 7.2's conversion rule checked at every step in both directions.
//!
//! `LIST_CASES` sets the number of property-test cases (default 64).

use darter_collections::list::{End, List, ListConfig, Position};
use darter_collections::listpack::{ListPack, LpEntry};
use darter_collections::quicklist::{
    exceeds_limit, node_limit, NodeView, QuickList, DEFAULT_PACKED_THRESHOLD,
};
use proptest::prelude::*;
use std::collections::VecDeque;

fn cases() -> u32 {
    std::env::var("LIST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

/// Values that look like integers, some of which are not canonical (and must stay strings).
const POOL: &[&str] = &[
    "",
    "0",
    "-1",
    "1",
    "123",
    "127",
    "128",
    "-4096",
    "4095",
    "4096",
    "32768",
    "-8388609",
    "2147483648",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "01",
    "+1",
    " 1",
    "1 ",
    "1.0",
    "-0",
    "-",
    "a",
    "b",
    "hello",
];

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => prop::sample::select(POOL).prop_map(|s| s.as_bytes().to_vec()),
        4 => prop::collection::vec(prop::sample::select(b"ab01-".to_vec()), 0..4),
        2 => any::<i64>().prop_map(|i| i.to_string().into_bytes()),
        2 => prop::collection::vec(any::<u8>(), 0..20),
        1 => (60..300usize, any::<u8>()).prop_map(|(n, b)| vec![b; n]),
        1 => (1000..5000usize, any::<u8>()).prop_map(|(n, b)| vec![b; n]),
    ]
}

fn fill() -> impl Strategy<Value = i32> {
    prop::sample::select(vec![-5, -2, -1, 0, 1, 2, 3, 4, 8, 128])
}

fn end() -> impl Strategy<Value = End> {
    prop_oneof![Just(End::Front), Just(End::Back)]
}

fn entries<'a>(it: impl Iterator<Item = LpEntry<'a>>) -> Vec<Vec<u8>> {
    it.map(|e| e.to_vec()).collect()
}

/// Reference: Redis's LRANGE/LTRIM clamping on a model of length `len`.
fn clamp(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let s = if start < 0 {
        (start + len).max(0)
    } else {
        start
    };
    let e = if stop < 0 { stop + len } else { stop };
    if s > e || s >= len {
        None
    } else {
        Some((s as usize, e.min(len - 1) as usize))
    }
}

fn normalize(index: i64, len: usize) -> Option<usize> {
    let i = if index < 0 { index + len as i64 } else { index };
    (0..len as i64).contains(&i).then_some(i as usize)
}

// ---- ListPack ----

#[derive(Debug, Clone)]
enum LpOp {
    PushBack(Vec<u8>),
    PushFront(Vec<u8>),
    Insert(usize, Vec<u8>),
    Replace(usize, Vec<u8>),
    Remove(usize),
    RemoveRange(usize, usize),
    PopFront,
    PopBack,
    Find(Vec<u8>),
    IterFrom(usize),
    /// Walks positions backwards removing entries equal to the value (cursor editing).
    CursorRemove(Vec<u8>),
    SplitAppend(usize),
}

fn lp_op() -> impl Strategy<Value = LpOp> {
    let i = 0..40usize;
    prop_oneof![
        5 => value().prop_map(LpOp::PushBack),
        3 => value().prop_map(LpOp::PushFront),
        3 => (i.clone(), value()).prop_map(|(i, v)| LpOp::Insert(i, v)),
        3 => (i.clone(), value()).prop_map(|(i, v)| LpOp::Replace(i, v)),
        2 => i.clone().prop_map(LpOp::Remove),
        1 => (i.clone(), 0..10usize).prop_map(|(i, n)| LpOp::RemoveRange(i, n)),
        1 => Just(LpOp::PopFront),
        1 => Just(LpOp::PopBack),
        2 => value().prop_map(LpOp::Find),
        1 => i.clone().prop_map(LpOp::IterFrom),
        1 => value().prop_map(LpOp::CursorRemove),
        1 => i.prop_map(LpOp::SplitAppend),
    ]
}

fn run_listpack(ops: Vec<LpOp>) {
    let mut lp = ListPack::new();
    let mut m: VecDeque<Vec<u8>> = VecDeque::new();
    for op in ops {
        match op {
            LpOp::PushBack(v) => {
                lp.push_back(&v);
                m.push_back(v);
            }
            LpOp::PushFront(v) => {
                lp.push_front(&v);
                m.push_front(v);
            }
            LpOp::Insert(i, v) => {
                let i = i.min(m.len());
                lp.insert(i, &v);
                m.insert(i, v);
            }
            LpOp::Replace(i, v) => {
                assert_eq!(lp.replace(i, &v), i < m.len());
                if let Some(x) = m.get_mut(i) {
                    *x = v;
                }
            }
            LpOp::Remove(i) => {
                assert_eq!(lp.remove(i), m.remove(i).is_some());
            }
            LpOp::RemoveRange(i, n) => {
                let want = n.min(m.len().saturating_sub(i));
                assert_eq!(lp.remove_range(i, n), want);
                m.drain(i.min(m.len())..i.min(m.len()) + want);
            }
            LpOp::PopFront => assert_eq!(lp.pop_front(), m.pop_front()),
            LpOp::PopBack => assert_eq!(lp.pop_back(), m.pop_back()),
            LpOp::Find(v) => assert_eq!(lp.find(&v), m.iter().position(|x| *x == v)),
            LpOp::IterFrom(i) => {
                let want: Vec<_> = m.iter().skip(i).cloned().collect();
                assert_eq!(entries(lp.iter_from(i)), want);
                let mut rev = entries(lp.iter_from(i).rev());
                rev.reverse();
                assert_eq!(rev, want);
                assert_eq!(lp.get(i).map(|e| e.to_vec()), m.get(i).cloned());
            }
            LpOp::CursorRemove(v) => {
                let mut pos = lp.last_pos();
                while let Some(p) = pos {
                    pos = lp.prev_pos(p);
                    if lp.entry(p).eq_bytes(&v) {
                        lp.remove_at(p);
                    }
                }
                m.retain(|x| *x != v);
            }
            LpOp::SplitAppend(i) => {
                let i = i.min(m.len());
                let tail = lp.split_off(i);
                assert_eq!(lp.len(), i);
                assert_eq!(
                    entries(tail.iter()),
                    m.iter().skip(i).cloned().collect::<Vec<_>>()
                );
                lp.append(tail);
            }
        }
        assert_eq!(lp.len(), m.len());
        assert_eq!(entries(lp.iter()), m.iter().cloned().collect::<Vec<_>>());
        lp.validate().unwrap();
    }
    // Whatever was stored as an integer must be exactly what `string2ll` accepts.
    for e in lp.iter() {
        if let LpEntry::Str(s) = e {
            assert_eq!(LpEntry::Str(s).as_i64(), None, "{s:?} should be an integer");
        }
    }
    // Walking positions forwards and backwards sees the same entries.
    let mut fwd = Vec::new();
    let mut pos = lp.first_pos();
    while let Some(p) = pos {
        fwd.push(lp.entry(p).to_vec());
        pos = lp.next_pos(p);
    }
    assert_eq!(fwd, m.iter().cloned().collect::<Vec<_>>());
    assert_eq!(ListPack::from_bytes(lp.as_bytes().to_vec()).unwrap(), lp);
}

// ---- QuickList ----

#[derive(Debug, Clone)]
enum QlOp {
    PushBack(Vec<u8>),
    PushFront(Vec<u8>),
    PopFront,
    PopBack,
    Insert(usize, Vec<u8>, bool),
    InsertPivot(Vec<u8>, Vec<u8>, bool),
    Replace(usize, Vec<u8>),
    RemoveRange(usize, usize),
    RemoveMatching(Vec<u8>, i64),
    Range(usize, usize),
}

fn ql_op() -> impl Strategy<Value = QlOp> {
    let i = 0..80usize;
    prop_oneof![
        6 => value().prop_map(QlOp::PushBack),
        4 => value().prop_map(QlOp::PushFront),
        1 => Just(QlOp::PopFront),
        1 => Just(QlOp::PopBack),
        3 => (i.clone(), value(), any::<bool>()).prop_map(|(i, v, a)| QlOp::Insert(i, v, a)),
        1 => (value(), value(), any::<bool>()).prop_map(|(p, v, a)| QlOp::InsertPivot(p, v, a)),
        2 => (i.clone(), value()).prop_map(|(i, v)| QlOp::Replace(i, v)),
        1 => (i.clone(), 0..20usize).prop_map(|(i, n)| QlOp::RemoveRange(i, n)),
        1 => (value(), -3..4i64).prop_map(|(v, n)| QlOp::RemoveMatching(v, n)),
        1 => (i.clone(), i).prop_map(|(a, b)| QlOp::Range(a, b)),
    ]
}

/// Reference LREM.
fn model_remove(m: &mut VecDeque<Vec<u8>>, v: &[u8], count: i64) -> usize {
    let limit = count.unsigned_abs() as usize;
    let mut hits: Vec<usize> = (0..m.len()).filter(|&i| m[i] == v).collect();
    if count < 0 {
        hits.reverse();
    }
    if limit != 0 {
        hits.truncate(limit);
    }
    hits.sort_unstable();
    for &i in hits.iter().rev() {
        m.remove(i);
    }
    hits.len()
}

fn run_quicklist(fill: i32, threshold: usize, ops: Vec<QlOp>) {
    let mut ql = QuickList::with_packed_threshold(fill, threshold);
    let mut m: VecDeque<Vec<u8>> = VecDeque::new();
    // Only pushes and deletions keep every multi-entry node within its limit: Redis lets a
    // replaced entry or a split-off part overflow its node.
    let mut within_limits = true;
    for op in ops {
        match op {
            QlOp::PushBack(v) => {
                ql.push_back(&v);
                m.push_back(v);
            }
            QlOp::PushFront(v) => {
                ql.push_front(&v);
                m.push_front(v);
            }
            QlOp::PopFront => assert_eq!(ql.pop_front(), m.pop_front()),
            QlOp::PopBack => assert_eq!(ql.pop_back(), m.pop_back()),
            QlOp::Insert(i, v, after) => {
                assert_eq!(ql.insert(i, &v, after), i < m.len());
                if i < m.len() {
                    m.insert(if after { i + 1 } else { i }, v);
                    within_limits = false;
                }
            }
            QlOp::InsertPivot(p, v, after) => {
                let at = m.iter().position(|x| *x == p);
                assert_eq!(ql.insert_at_pivot(&p, &v, after), at.is_some());
                if let Some(i) = at {
                    m.insert(if after { i + 1 } else { i }, v);
                    within_limits = false;
                }
            }
            QlOp::Replace(i, v) => {
                assert_eq!(ql.replace(i, &v), i < m.len());
                if let Some(x) = m.get_mut(i) {
                    *x = v;
                    within_limits = false;
                }
            }
            QlOp::RemoveRange(i, n) => {
                let want = n.min(m.len().saturating_sub(i));
                assert_eq!(ql.remove_range(i, n), want);
                m.drain(i.min(m.len())..i.min(m.len()) + want);
            }
            QlOp::RemoveMatching(v, n) => {
                assert_eq!(ql.remove_matching(&v, n), model_remove(&mut m, &v, n));
            }
            QlOp::Range(a, b) => {
                let want: Vec<_> = m
                    .iter()
                    .skip(a)
                    .take(b.saturating_sub(a))
                    .cloned()
                    .collect();
                assert_eq!(entries(ql.iter_range(a, b)), want);
                let mut rev = entries(ql.iter_range(a, b).rev());
                rev.reverse();
                assert_eq!(rev, want);
            }
        }
        assert_eq!(ql.len(), m.len());
        ql.validate().unwrap();
        for (i, n) in ql.nodes().enumerate() {
            match n {
                NodeView::Plain(b) => assert!(b.len() >= threshold),
                NodeView::Packed(lp) => {
                    if within_limits && lp.len() > 1 {
                        assert!(
                            !exceeds_limit(ql.fill(), lp.bytes(), lp.len()),
                            "node {i}: {} entries, {} bytes, fill {}",
                            lp.len(),
                            lp.bytes(),
                            ql.fill()
                        );
                    }
                }
            }
        }
    }
    assert_eq!(entries(ql.iter()), m.iter().cloned().collect::<Vec<_>>());
    let mut rev = entries(ql.iter().rev());
    rev.reverse();
    assert_eq!(rev, m.iter().cloned().collect::<Vec<_>>());
    for (i, v) in m.iter().enumerate() {
        assert_eq!(ql.get(i).unwrap().to_vec(), *v);
    }
}

// ---- List (the encoding switch) ----

#[derive(Debug, Clone)]
enum Op {
    Push(End, Vec<Vec<u8>>),
    Pop(End),
    PopMany(End, usize),
    Get(i64),
    Set(i64, Vec<u8>),
    Insert(Vec<u8>, Vec<u8>, Position),
    Rem(i64, Vec<u8>),
    Trim(i64, i64),
    Range(i64, i64),
    Pos(Vec<u8>, i64, usize, usize),
    Move(End, End),
    /// CONFIG SET list-max-listpack-size.
    SetFill(i32),
}

fn op() -> impl Strategy<Value = Op> {
    let idx = -60..60i64;
    prop_oneof![
        10 => (end(), prop::collection::vec(value(), 1..5)).prop_map(|(e, v)| Op::Push(e, v)),
        3 => end().prop_map(Op::Pop),
        1 => (end(), 0..8usize).prop_map(|(e, n)| Op::PopMany(e, n)),
        2 => idx.clone().prop_map(Op::Get),
        2 => (idx.clone(), value()).prop_map(|(i, v)| Op::Set(i, v)),
        2 => (
            value(),
            value(),
            prop_oneof![Just(Position::Before), Just(Position::After)]
        )
            .prop_map(|(p, v, w)| Op::Insert(p, v, w)),
        2 => (-3..4i64, value()).prop_map(|(n, v)| Op::Rem(n, v)),
        1 => (idx.clone(), idx.clone()).prop_map(|(a, b)| Op::Trim(a, b)),
        1 => (idx.clone(), idx).prop_map(|(a, b)| Op::Range(a, b)),
        1 => (value(), prop_oneof![-3..0i64, 1..4i64], 0..4usize, 0..30usize)
            .prop_map(|(v, r, c, l)| Op::Pos(v, r, c, l)),
        1 => (end(), end()).prop_map(|(a, b)| Op::Move(a, b)),
        1 => fill().prop_map(Op::SetFill),
    ]
}

/// Reference LPOS.
fn model_positions(
    m: &VecDeque<Vec<u8>>,
    v: &[u8],
    rank: i64,
    count: usize,
    maxlen: usize,
) -> Vec<usize> {
    let order: Vec<usize> = if rank > 0 {
        (0..m.len()).collect()
    } else {
        (0..m.len()).rev().collect()
    };
    let scan = if maxlen == 0 { m.len() } else { maxlen };
    let hits = order
        .into_iter()
        .take(scan)
        .filter(|&i| m[i] == v)
        .skip(rank.unsigned_abs() as usize - 1);
    if count == 0 {
        hits.collect()
    } else {
        hits.take(count).collect()
    }
}

/// Whether a non-empty list is in the encoding Redis 7.2 would leave after a shrinking step:
/// a quicklist only if it is not one packed node within half the limits.
fn shrunk_right(l: &List, cfg: &ListConfig) -> bool {
    let List::Quick(ql) = l else {
        return true;
    };
    let mut nodes = ql.nodes();
    match (nodes.len(), nodes.next()) {
        (1, Some(NodeView::Packed(lp))) => {
            let (sz, count) = node_limit(cfg.fill);
            lp.bytes() > sz / 2 || ql.len() > count / 2
        }
        _ => true,
    }
}

fn bytes_of(l: &List) -> usize {
    match l {
        List::Packed(lp) => lp.bytes(),
        List::Quick(_) => 0,
    }
}

fn run_list(fill: i32, threshold: usize, ops: Vec<Op>) {
    let mut cfg = ListConfig {
        fill,
        packed_threshold: threshold,
    };
    let mut l = List::new();
    let mut m: VecDeque<Vec<u8>> = VecDeque::new();
    for op in ops {
        let was_packed = matches!(l, List::Packed(_));
        let (bytes, len) = (bytes_of(&l), l.len());
        // Whether a growth check of `add` bytes and `n` entries converts a listpack.
        let grows =
            |add: usize, n: usize| was_packed && exceeds_limit(cfg.fill, bytes + add, len + n);
        // The encoding the step must leave when Redis's rule decides it outright, and whether the
        // step checks shrinking (then a quicklist must not be convertible).
        let mut expect_packed = None;
        let mut shrinks = false;
        match &op {
            Op::Push(end, vs) => {
                l.push(*end, vs, &cfg);
                for v in vs {
                    match end {
                        End::Front => m.push_front(v.clone()),
                        End::Back => m.push_back(v.clone()),
                    }
                }
                let add = vs.iter().map(Vec::len).sum();
                expect_packed = Some(was_packed && !grows(add, vs.len()));
            }
            Op::Pop(end) => {
                let want = match end {
                    End::Front => m.pop_front(),
                    End::Back => m.pop_back(),
                };
                assert_eq!(l.pop(*end, &cfg), want);
                shrinks = true;
                expect_packed = was_packed.then_some(true);
            }
            Op::PopMany(end, n) => {
                let k = (*n).min(m.len());
                let want: Vec<_> = match end {
                    End::Front => m.drain(..k).collect(),
                    End::Back => m.drain(m.len() - k..).rev().collect(),
                };
                assert_eq!(l.pop_many(*end, *n, &cfg), want);
                shrinks = k > 0;
                expect_packed = was_packed.then_some(true);
            }
            Op::Get(i) => {
                let want = normalize(*i, m.len()).map(|i| m[i].clone());
                assert_eq!(l.get(*i).map(|e| e.to_vec()), want);
            }
            Op::Set(i, v) => {
                let at = normalize(*i, m.len());
                assert_eq!(l.set(*i, v, &cfg), at.is_some());
                let stays = was_packed && !grows(v.len(), 1);
                if let Some(i) = at {
                    m[i] = v.clone();
                    shrinks = true;
                    if stays {
                        expect_packed = Some(true);
                    }
                } else {
                    expect_packed = Some(stays);
                }
            }
            Op::Insert(p, v, at) => {
                let found = m.iter().position(|x| x == p);
                assert_eq!(l.insert(p, v, *at, &cfg), found.is_some());
                if let Some(i) = found {
                    m.insert(if *at == Position::After { i + 1 } else { i }, v.clone());
                }
                expect_packed = Some(was_packed && !grows(v.len(), 1));
            }
            Op::Rem(n, v) => {
                let removed = model_remove(&mut m, v, *n);
                assert_eq!(l.remove(v, *n, &cfg), removed);
                shrinks = removed > 0;
                expect_packed = (was_packed || removed == 0).then_some(was_packed);
            }
            Op::Trim(a, b) => {
                match clamp(*a, *b, m.len()) {
                    Some((s, e)) => {
                        m.truncate(e + 1);
                        m.drain(..s);
                    }
                    None => m.clear(),
                }
                l.trim(*a, *b, &cfg);
                shrinks = true;
                expect_packed = was_packed.then_some(true);
            }
            Op::Range(a, b) => {
                let want: Vec<_> = match clamp(*a, *b, m.len()) {
                    Some((s, e)) => m.range(s..=e).cloned().collect(),
                    None => Vec::new(),
                };
                assert_eq!(entries(l.range(*a, *b)), want);
                let mut rev = entries(l.range(*a, *b).rev());
                rev.reverse();
                assert_eq!(rev, want);
            }
            Op::Pos(v, rank, count, maxlen) => {
                assert_eq!(
                    l.positions(v, *rank, *count, *maxlen),
                    model_positions(&m, v, *rank, *count, *maxlen)
                );
            }
            Op::Move(from, to) => {
                let v = match from {
                    End::Front => m.pop_front(),
                    End::Back => m.pop_back(),
                };
                if let Some(v) = &v {
                    match to {
                        End::Front => m.push_front(v.clone()),
                        End::Back => m.push_back(v.clone()),
                    }
                    shrinks = true;
                }
                assert_eq!(l.move_within(*from, *to, &cfg), v);
            }
            Op::SetFill(f) => cfg.fill = *f,
        }

        // The conversion rule.
        let packed = matches!(l, List::Packed(_));
        if let Some(want) = expect_packed {
            assert_eq!(packed, want, "{op:?} from {bytes} bytes, {len} entries");
        }
        if !l.is_empty() && shrinks {
            assert!(
                shrunk_right(&l, &cfg),
                "{op:?} left a convertible quicklist"
            );
        }
        if let (false, List::Packed(lp)) = (was_packed, &l) {
            // Back to a listpack only by the shrinking rule (or as an emptied, deleted key).
            let (sz, count) = node_limit(cfg.fill);
            assert!(
                l.is_empty() || (shrinks && lp.bytes() <= sz / 2 && lp.len() <= count / 2),
                "{op:?} converted a quicklist of {len} entries to a listpack"
            );
        }

        // The contents, both ways, and the structure.
        assert_eq!(l.len(), m.len());
        assert_eq!(entries(l.iter()), m.iter().cloned().collect::<Vec<_>>());
        let mut rev = entries(l.iter().rev());
        rev.reverse();
        assert_eq!(rev, m.iter().cloned().collect::<Vec<_>>());
        match &l {
            List::Packed(lp) => lp.validate().unwrap(),
            List::Quick(ql) => ql.validate().unwrap(),
        }
        assert_eq!(l.encoding(), if packed { "listpack" } else { "quicklist" });
        // An emptied list is a deleted key: the next write makes a fresh listpack.
        if l.is_empty() {
            l = List::new();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn listpack_matches_vecdeque(ops in prop::collection::vec(lp_op(), 1..200)) {
        run_listpack(ops);
    }

    #[test]
    fn quicklist_matches_vecdeque(
        fill in fill(),
        threshold in prop::sample::select(vec![DEFAULT_PACKED_THRESHOLD, 64, 1000]),
        ops in prop::collection::vec(ql_op(), 1..300),
    ) {
        run_quicklist(fill, threshold, ops);
    }

    #[test]
    fn list_matches_vecdeque_and_converts_like_redis(
        fill in fill(),
        threshold in prop::sample::select(vec![DEFAULT_PACKED_THRESHOLD, DEFAULT_PACKED_THRESHOLD, 200]),
        ops in prop::collection::vec(op(), 1..300),
    ) {
        run_list(fill, threshold, ops);
    }
}

/// Conversions happen in both directions under random operations (the property test would
/// pass vacuously if they never did).
#[test]
fn random_runs_convert_both_ways() {
    let mut l = List::new();
    let mut cfg = ListConfig::with_fill(4);
    let mut seen = [false; 2];
    for round in 0..50u32 {
        cfg.fill = [4, -1, 3][round as usize % 3];
        for i in 0..(round % 7 + 3) {
            l.push_back(format!("{}", i * round).as_bytes(), &cfg);
        }
        seen[0] |= l.encoding() == "quicklist";
        while l.len() > 1 {
            l.pop(End::Front, &cfg);
            seen[1] |= seen[0] && l.encoding() == "listpack";
        }
    }
    assert_eq!(seen, [true, true]);
}
