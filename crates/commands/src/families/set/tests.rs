//! Unit tests of the set family's `op_*` functions, its algebra and parsers, on a bare `DbSlice`
//! (no server, no shards). Replies against real Redis live in crates/server/tests/diff/set.redis;
//! cross-shard atomicity and encodings over sockets in crates/server/tests/set.rs.

use super::*;
use std::collections::HashSet;

const NOW: u64 = 1_700_000_000_000;

fn db() -> DbSlice {
    DbSlice::new()
}

fn l() -> Limits {
    Limits::default()
}

fn rnd() -> impl FnMut(usize) -> usize {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    move |n| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n.max(1) as u64) as usize
    }
}

fn sadd(d: &mut DbSlice, key: &str, ms: &[&str]) -> usize {
    let ms: Vec<&[u8]> = ms.iter().map(|m| m.as_bytes()).collect();
    op_sadd(d, key.as_bytes(), &ms, &l(), NOW).expect("a set")
}

fn enc(d: &mut DbSlice, key: &str) -> &'static str {
    find_set(d, key.as_bytes(), NOW)
        .expect("a set")
        .expect("present")
        .encoding()
}

fn members(d: &mut DbSlice, key: &str) -> HashSet<Vec<u8>> {
    match find_set(d, key.as_bytes(), NOW).expect("a set") {
        Some(s) => s.members().into_iter().collect(),
        None => HashSet::new(),
    }
}

fn set_of(ms: &[&str]) -> HashSet<Vec<u8>> {
    ms.iter().map(|m| m.as_bytes().to_vec()).collect()
}

fn many(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn sadd_creates_by_the_first_member_and_the_size_hint() {
    let mut d = db();
    assert_eq!(sadd(&mut d, "i", &["1", "2", "2"]), 2);
    assert_eq!(enc(&mut d, "i"), "intset");
    assert_eq!(sadd(&mut d, "s", &["a", "1"]), 2);
    assert_eq!(enc(&mut d, "s"), "listpack");
    // An integer first but a string later: listpack.
    sadd(&mut d, "m", &["1", "x"]);
    assert_eq!(enc(&mut d, "m"), "listpack");
    // More members in one SADD than a listpack holds: a hashtable from the start.
    let big = many("m", 129);
    sadd(&mut d, "h", &refs(&big));
    assert_eq!(enc(&mut d, "h"), "hashtable");
    // An existing listpack converts on the hint alone, even if every member is already there.
    sadd(&mut d, "lp", &["a"]);
    let mut again = vec!["a"; 129];
    again[0] = "a";
    assert_eq!(sadd(&mut d, "lp", &again), 0);
    assert_eq!(enc(&mut d, "lp"), "hashtable");
    // 513 integers at once: past set-max-intset-entries, and too many for a listpack.
    let ints: Vec<String> = (0..513).map(|i| i.to_string()).collect();
    sadd(&mut d, "ih", &refs(&ints));
    assert_eq!(enc(&mut d, "ih"), "hashtable");
    assert_eq!(members(&mut d, "ih").len(), 513);
}

#[test]
fn wrong_type_is_refused_everywhere() {
    let mut d = db();
    d.set(
        b"str",
        Record::new(Value::Str(darter_collections::StrValue::from_bytes(b"v"))),
    );
    assert_eq!(op_sadd(&mut d, b"str", &[b"a"], &l(), NOW), Err(WrongType));
    assert_eq!(op_srem(&mut d, b"str", &[b"a"], NOW), Err(WrongType));
    assert_eq!(
        op_spop(&mut d, b"str", 1, &l(), rnd(), NOW).map(|_| ()),
        Err(WrongType)
    );
    sadd(&mut d, "s", &["a"]);
    assert_eq!(
        op_smove(&mut d, b"s", b"str", b"a", &l(), NOW),
        Err(WrongType)
    );
    assert_eq!(
        op_smove(&mut d, b"str", b"s", b"a", &l(), NOW),
        Err(WrongType)
    );
    // A missing source answers 0 before the destination's type is looked at.
    assert_eq!(op_smove(&mut d, b"none", b"str", b"a", &l(), NOW), Ok(0));
}

#[test]
fn srem_deletes_the_emptied_key() {
    let mut d = db();
    sadd(&mut d, "s", &["a", "b"]);
    assert_eq!(op_srem(&mut d, b"s", &[b"a", b"zz", b"a"], NOW), Ok(1));
    assert_eq!(op_srem(&mut d, b"s", &[b"b", b"c"], NOW), Ok(1));
    assert!(d.find(b"s", NOW).is_none());
    assert_eq!(op_srem(&mut d, b"s", &[b"b"], NOW), Ok(0));
}

#[test]
fn spop_pops_distinct_members_and_deletes_at_the_end() {
    let mut d = db();
    let ms = many("m", 50);
    sadd(&mut d, "s", &refs(&ms));
    let before = members(&mut d, "s");
    let popped = op_spop(&mut d, b"s", 10, &l(), rnd(), NOW)
        .unwrap()
        .unwrap();
    assert_eq!(popped.len(), 10);
    let popped: HashSet<Vec<u8>> = popped.into_iter().collect();
    assert_eq!(popped.len(), 10);
    let after = members(&mut d, "s");
    assert_eq!(after.len(), 40);
    assert!(popped.is_disjoint(&after));
    assert_eq!(&popped | &after, before);
    let rest = op_spop(&mut d, b"s", 40, &l(), rnd(), NOW)
        .unwrap()
        .unwrap();
    assert_eq!(rest.len(), 40);
    assert!(d.find(b"s", NOW).is_none());
    assert_eq!(op_spop(&mut d, b"s", 1, &l(), rnd(), NOW), Ok(None));
}

#[test]
fn spop_keeping_few_of_a_hashtable_leaves_a_listpack() {
    // Redis 7.2's CASE 3: the few remaining members go into a new set that starts as a listpack.
    let mut d = db();
    let ms = many("m", 200);
    sadd(&mut d, "s", &refs(&ms));
    assert_eq!(enc(&mut d, "s"), "hashtable");
    let popped = op_spop(&mut d, b"s", 190, &l(), rnd(), NOW)
        .unwrap()
        .unwrap();
    assert_eq!(popped.len(), 190);
    assert_eq!(enc(&mut d, "s"), "listpack");
    assert_eq!(members(&mut d, "s").len(), 10);
    // Popping a few of a hashtable keeps it a hashtable.
    sadd(&mut d, "t", &refs(&ms));
    op_spop(&mut d, b"t", 100, &l(), rnd(), NOW).unwrap();
    assert_eq!(enc(&mut d, "t"), "hashtable");
}

#[test]
fn srandmember_counts() {
    let mut d = db();
    sadd(&mut d, "s", &["a", "b", "c", "d", "e", "f", "g"]);
    let s = find_set(&mut d, b"s", NOW).unwrap().unwrap().clone();
    let all = set_of(&["a", "b", "c", "d", "e", "f", "g"]);
    // Negative: exactly |count| picks, repeats allowed.
    let (ms, as_set) = op_srandmember_count(&s, -20, rnd());
    assert_eq!(ms.len(), 20);
    assert!(!as_set);
    assert!(ms.iter().all(|m| all.contains(m)));
    // Positive below the size: distinct.
    for c in 1..7 {
        let (ms, _) = op_srandmember_count(&s, c, rnd());
        let u: HashSet<Vec<u8>> = ms.iter().cloned().collect();
        assert_eq!((ms.len(), u.len()), (c as usize, c as usize));
        assert!(u.is_subset(&all));
    }
    // Positive at or above the size: the whole set.
    let (ms, as_set) = op_srandmember_count(&s, 100, rnd());
    assert!(as_set);
    assert_eq!(ms.into_iter().collect::<HashSet<_>>(), all);
    assert_eq!(op_srandmember_count(&s, 0, rnd()).0.len(), 0);
    // A hashtable samples distinct members too.
    let big = many("m", 300);
    sadd(&mut d, "h", &refs(&big));
    let h = find_set(&mut d, b"h", NOW).unwrap().unwrap().clone();
    for c in [2, 50, 150, 299] {
        let (ms, _) = op_srandmember_count(&h, c, rnd());
        assert_eq!(ms.iter().collect::<HashSet<_>>().len(), c as usize);
    }
}

#[test]
fn smove_semantics() {
    let mut d = db();
    sadd(&mut d, "a", &["1", "2"]);
    // Same key: whether it is a member, nothing moves.
    assert_eq!(op_smove(&mut d, b"a", b"a", b"1", &l(), NOW), Ok(1));
    assert_eq!(op_smove(&mut d, b"a", b"a", b"9", &l(), NOW), Ok(0));
    assert_eq!(members(&mut d, "a"), set_of(&["1", "2"]));
    assert_eq!(op_smove(&mut d, b"a", b"b", b"9", &l(), NOW), Ok(0));
    assert!(d.find(b"b", NOW).is_none());
    assert_eq!(op_smove(&mut d, b"a", b"b", b"1", &l(), NOW), Ok(1));
    assert_eq!(enc(&mut d, "b"), "intset");
    assert_eq!(op_smove(&mut d, b"a", b"b", b"2", &l(), NOW), Ok(1));
    assert!(d.find(b"a", NOW).is_none());
    assert_eq!(members(&mut d, "b"), set_of(&["1", "2"]));
    // Moving a member the destination has already: removed from the source, still 1.
    sadd(&mut d, "c", &["1", "x"]);
    assert_eq!(op_smove(&mut d, b"c", b"b", b"1", &l(), NOW), Ok(1));
    assert_eq!(members(&mut d, "c"), set_of(&["x"]));
    // A string into an intset converts it.
    assert_eq!(op_smove(&mut d, b"c", b"b", b"x", &l(), NOW), Ok(1));
    assert_eq!(enc(&mut d, "b"), "listpack");
    // A string into a new key: a listpack.
    sadd(&mut d, "e", &["y"]);
    op_smove(&mut d, b"e", b"f", b"y", &l(), NOW).unwrap();
    assert_eq!(enc(&mut d, "f"), "listpack");
}

fn value(ms: &[&str]) -> SetValue {
    let mut s = SetValue::create(ms[0].as_bytes(), ms.len(), &l());
    for m in ms {
        s.add(m.as_bytes(), &l());
    }
    s
}

fn bytes_of(v: Vec<LpEntry<'_>>) -> Vec<Vec<u8>> {
    v.iter().map(LpEntry::to_vec).collect()
}

#[test]
fn intersection_order_limit_and_missing_keys() {
    let a = value(&["5", "1", "3", "9"]);
    let b = value(&["x", "9", "1", "3"]);
    let c = value(&["3", "9"]);
    // Iterates the smallest set (c: ascending intset).
    assert_eq!(
        bytes_of(inter(&[Some(&a), Some(&b), Some(&c)], 0)),
        vec![b"3".to_vec(), b"9".to_vec()]
    );
    assert_eq!(inter(&[Some(&a), Some(&b)], 2).len(), 2);
    assert_eq!(inter(&[Some(&a), Some(&b)], 0).len(), 3);
    assert!(inter(&[Some(&a), None], 0).is_empty());
    assert_eq!(inter(&[Some(&a), Some(&a)], 0).len(), 4);
}

#[test]
fn sinterstore_encodings_follow_redis() {
    // Two listpacks meeting on integers only: the result becomes an intset.
    let a = value(&["x", "1", "2", "3"]);
    let b = value(&["y", "2", "3"]);
    let r = inter_store(&[Some(&a), Some(&b)], &l());
    assert_eq!(r.encoding(), "intset");
    assert_eq!(r.members(), vec![b"2".to_vec(), b"3".to_vec()]);
    // A string in the result keeps a listpack.
    let b2 = value(&["x", "2"]);
    assert_eq!(
        inter_store(&[Some(&a), Some(&b2)], &l()).encoding(),
        "listpack"
    );
    // Intsets give an intset.
    let i = value(&["1", "2"]);
    assert_eq!(
        inter_store(&[Some(&i), Some(&a)], &l()).encoding(),
        "intset"
    );
}

#[test]
fn union_and_diff_build_from_an_intset() {
    let a = value(&["3", "1"]);
    let b = value(&["2", "1"]);
    let u = union_diff(SetOp::Union, &[Some(&a), Some(&b), None], &l());
    assert_eq!(u.encoding(), "intset");
    assert_eq!(
        u.members(),
        vec![b"1".to_vec(), b"2".to_vec(), b"3".to_vec()]
    );
    let x = value(&["q"]);
    assert_eq!(
        union_diff(SetOp::Union, &[Some(&a), Some(&x)], &l()).encoding(),
        "listpack"
    );
    let dfr = union_diff(SetOp::Diff, &[Some(&a), Some(&b)], &l());
    assert_eq!(dfr.members(), vec![b"3".to_vec()]);
    assert!(union_diff(SetOp::Diff, &[None, Some(&a)], &l()).is_empty());
    assert!(union_diff(SetOp::Diff, &[Some(&a), Some(&a)], &l()).is_empty());
    assert_eq!(union_diff(SetOp::Diff, &[Some(&a), None], &l()).len(), 2);
}

#[test]
fn sdiff_algorithm_two_keeps_the_big_encoding() {
    // First set large against many small ones: Redis picks algorithm 2 (add all, then remove),
    // which leaves the hashtable it grew even when few members remain.
    let big: Vec<String> = (0..600).map(|i| i.to_string()).collect();
    let a = value(&refs(&big));
    let mut others = Vec::new();
    for chunk in big[..599].chunks(100) {
        others.push(value(&refs(chunk)));
    }
    let mut sets: Vec<Option<&SetValue>> = vec![Some(&a)];
    sets.extend(others.iter().map(Some));
    let r = union_diff(SetOp::Diff, &sets, &l());
    assert_eq!(r.members(), vec![b"599".to_vec()]);
    assert_eq!(r.encoding(), "hashtable");
    // Algorithm 1 (one small subtrahend) adds only the survivors.
    let small = value(&["0"]);
    let r = union_diff(SetOp::Diff, &[Some(&a), Some(&small)], &l());
    assert_eq!(r.len(), 599);
    assert_eq!(r.encoding(), "hashtable");
}

#[test]
fn store_replaces_or_deletes_the_destination() {
    let mut d = db();
    sadd(&mut d, "dst", &["old"]);
    d.set_expire(b"dst", NOW + 10_000, NOW);
    assert_eq!(
        op_store(&mut d, b"dst", Some(value(&["1", "2"])), "sunionstore", NOW),
        2
    );
    assert_eq!(d.find(b"dst", NOW).unwrap().expire_at(), 0);
    assert_eq!(members(&mut d, "dst"), set_of(&["1", "2"]));
    assert_eq!(
        op_store(
            &mut d,
            b"dst",
            Some(SetValue::Ints(Default::default())),
            "sunionstore",
            NOW
        ),
        0
    );
    assert!(d.find(b"dst", NOW).is_none());
    assert_eq!(op_store(&mut d, b"dst", None, "sunionstore", NOW), 0);
}

#[test]
fn sscan_small_returns_everything_dense_walks_the_cursor() {
    let small = value(&["1", "2", "10"]);
    let (next, got) = op_sscan(&small, 12345, 1, None);
    assert_eq!(next, 0);
    assert_eq!(got.len(), 3);
    let (_, got) = op_sscan(&small, 0, 10, Some(b"1*"));
    assert_eq!(got, vec![b"1".to_vec(), b"10".to_vec()]);
    let big = many("k", 1000);
    let h = value(&refs(&big));
    assert_eq!(h.encoding(), "hashtable");
    let mut seen = HashSet::new();
    let mut cursor = 0;
    let mut calls = 0;
    loop {
        let (next, got) = op_sscan(&h, cursor, 20, Some(b"k1*"));
        seen.extend(got);
        calls += 1;
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    assert!(calls > 1);
    let want: HashSet<Vec<u8>> = big
        .iter()
        .filter(|k| k.starts_with("k1"))
        .map(|k| k.as_bytes().to_vec())
        .collect();
    assert_eq!(seen, want);
}

fn a(words: &[&str]) -> Vec<Bytes> {
    words
        .iter()
        .map(|w| Bytes::copy_from_slice(w.as_bytes()))
        .collect()
}

#[test]
fn sintercard_arguments() {
    assert_eq!(
        parse_sintercard(&a(&["sintercard", "2", "x", "y"])),
        Ok((2, 0))
    );
    assert_eq!(
        parse_sintercard(&a(&["sintercard", "1", "x", "LIMIT", "5"])),
        Ok((1, 5))
    );
    assert_eq!(
        parse_sintercard(&a(&["sintercard", "0", "x"])),
        Err(errors::NUMKEYS_NOT_POSITIVE)
    );
    assert_eq!(
        parse_sintercard(&a(&["sintercard", "abc", "x"])),
        Err(errors::NUMKEYS_NOT_POSITIVE)
    );
    assert_eq!(
        parse_sintercard(&a(&["sintercard", "3", "x", "y"])),
        Err(errors::NUMKEYS_GT_ARGS)
    );
    assert_eq!(
        parse_sintercard(&a(&["sintercard", "1", "x", "LIMIT", "-1"])),
        Err(errors::LIMIT_NEGATIVE)
    );
    assert_eq!(
        parse_sintercard(&a(&["sintercard", "1", "x", "LIMIT"])),
        Err(errors::SYNTAX)
    );
    assert_eq!(
        parse_sintercard(&a(&["sintercard", "1", "x", "y"])),
        Err(errors::SYNTAX)
    );
}

#[test]
fn sscan_options() {
    assert_eq!(parse_sscan_opts(&a(&[])), Ok((10, None)));
    assert_eq!(
        parse_sscan_opts(&a(&["MATCH", "*", "COUNT", "3"])),
        Ok((3, None))
    );
    assert_eq!(
        parse_sscan_opts(&a(&["match", "a*"])),
        Ok((10, Some(Bytes::from_static(b"a*"))))
    );
    assert_eq!(parse_sscan_opts(&a(&["COUNT", "0"])), Err(errors::SYNTAX));
    assert_eq!(
        parse_sscan_opts(&a(&["COUNT", "x"])),
        Err(errors::NOT_INTEGER)
    );
    assert_eq!(parse_sscan_opts(&a(&["TYPE", "set"])), Err(errors::SYNTAX));
    assert_eq!(parse_sscan_opts(&a(&["COUNT"])), Err(errors::SYNTAX));
}
