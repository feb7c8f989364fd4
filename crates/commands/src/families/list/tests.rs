//! Unit tests of the list family's `op_*` functions and parsers, on a bare `DbSlice` (no server,
//! no shards). Replies over sockets, encodings under CONFIG SET and cross-shard atomicity live in
//! crates/server/tests/list.rs; replies against real Redis in tests/diff/list.redis.

use super::*;
use darter_collections::StrValue;

const NOW: u64 = 1_700_000_000_000;

fn cfg() -> ListConfig {
    ListConfig::default()
}

fn args(words: &[&str]) -> Vec<Bytes> {
    words
        .iter()
        .map(|w| Bytes::copy_from_slice(w.as_bytes()))
        .collect()
}

fn put_str(db: &mut DbSlice, key: &str) {
    db.set(
        key.as_bytes(),
        Record::new(Value::Str(StrValue::from_bytes(b"v"))),
    );
}

fn push(db: &mut DbSlice, key: &str, values: &[&str]) -> usize {
    op_push(db, key.as_bytes(), End::Back, values, &cfg(), NOW).expect("a list")
}

fn items(db: &mut DbSlice, key: &str) -> Vec<String> {
    match find_list(db, key.as_bytes(), NOW).expect("a list") {
        None => Vec::new(),
        Some(l) => l
            .iter()
            .map(|e| String::from_utf8(e.to_vec()).expect("utf8"))
            .collect(),
    }
}

fn encoding(db: &mut DbSlice, key: &str) -> &'static str {
    db.find(key.as_bytes(), NOW).expect("present").encoding()
}

fn strings(v: Vec<Vec<u8>>) -> Vec<String> {
    v.into_iter()
        .map(|b| String::from_utf8(b).expect("utf8"))
        .collect()
}

#[test]
fn push_creates_pushx_does_not() {
    let mut db = DbSlice::new();
    assert_eq!(
        op_pushx(&mut db, b"l", End::Back, &["a"], &cfg(), NOW),
        Ok(0)
    );
    assert!(!db.contains(b"l", NOW));
    assert_eq!(push(&mut db, "l", &["a", "b"]), 2);
    assert_eq!(
        op_push(&mut db, b"l", End::Front, &["x", "y"], &cfg(), NOW),
        Ok(4)
    );
    assert_eq!(
        op_pushx(&mut db, b"l", End::Back, &["z"], &cfg(), NOW),
        Ok(5)
    );
    assert_eq!(items(&mut db, "l"), ["y", "x", "a", "b", "z"]);
    assert_eq!(db.find(b"l", NOW).expect("present").type_name(), "list");
    assert_eq!(encoding(&mut db, "l"), "listpack");
}

#[test]
fn every_op_refuses_another_type() {
    let mut db = DbSlice::new();
    put_str(&mut db, "s");
    let (k, c) = (&b"s"[..], cfg());
    let wt = OpError::WrongType;
    assert_eq!(
        op_push(&mut db, k, End::Back, &["a"], &c, NOW).err(),
        Some(wt)
    );
    assert_eq!(
        op_pushx(&mut db, k, End::Back, &["a"], &c, NOW).err(),
        Some(wt)
    );
    assert_eq!(op_pop(&mut db, k, End::Back, 1, &c, NOW).err(), Some(wt));
    assert_eq!(op_pop_one(&mut db, k, End::Back, &c, NOW).err(), Some(wt));
    assert_eq!(op_llen(&mut db, k, NOW).err(), Some(wt));
    assert_eq!(
        op_linsert(&mut db, k, Position::Before, b"a", b"b", &c, NOW),
        Err(wt)
    );
    assert_eq!(op_lrem(&mut db, k, 0, b"a", &c, NOW).err(), Some(wt));
    assert_eq!(op_lset(&mut db, k, 0, b"a", &c, NOW).err(), Some(wt));
    assert_eq!(op_ltrim(&mut db, k, 0, 1, &c, NOW).err(), Some(wt));
    let a = parse_lpos_args(&args(&["LPOS", "s", "a"])).expect("valid");
    assert_eq!(op_lpos(&mut db, k, b"a", &a, NOW).err(), Some(wt));
    assert_eq!(op_check_list(&mut db, k, NOW).err(), Some(wt));
    assert_eq!(op_lmove_peek(&mut db, k, End::Front, NOW).err(), Some(wt));
    assert_eq!(
        op_lmove_same_shard(&mut db, k, b"d", End::Front, End::Back, &c, NOW),
        Err(wt)
    );
    assert_eq!(
        op_mpop(&mut db, &["s"], End::Front, 1, &c, NOW).err(),
        Some(wt)
    );
    // Nothing changed the string.
    assert_eq!(db.find(k, NOW).expect("present").type_name(), "string");
}

#[test]
fn pops_delete_the_emptied_key() {
    let mut db = DbSlice::new();
    let c = cfg();
    assert_eq!(op_pop(&mut db, b"l", End::Front, 1, &c, NOW), Ok(None));
    push(&mut db, "l", &["a", "b", "c", "d", "e"]);
    assert_eq!(
        op_pop(&mut db, b"l", End::Front, 0, &c, NOW),
        Ok(Some(vec![]))
    );
    assert_eq!(
        op_pop_one(&mut db, b"l", End::Back, &c, NOW),
        Ok(Some(b"e".to_vec()))
    );
    let two = op_pop(&mut db, b"l", End::Back, 2, &c, NOW).expect("a list");
    assert_eq!(strings(two.expect("present")), ["d", "c"]);
    let rest = op_pop(&mut db, b"l", End::Front, usize::MAX, &c, NOW).expect("a list");
    assert_eq!(strings(rest.expect("present")), ["a", "b"]);
    assert!(!db.contains(b"l", NOW));
}

#[test]
fn index_edits_and_their_errors() {
    let mut db = DbSlice::new();
    let c = cfg();
    assert_eq!(
        op_lset(&mut db, b"l", 0, b"x", &c, NOW),
        Err(OpError::NoSuchKey)
    );
    push(&mut db, "l", &["a", "b", "c"]);
    assert_eq!(op_lset(&mut db, b"l", -1, b"C", &c, NOW), Ok(()));
    assert_eq!(
        op_lset(&mut db, b"l", 3, b"x", &c, NOW),
        Err(OpError::OutOfRange)
    );
    assert_eq!(
        op_lset(&mut db, b"l", -4, b"x", &c, NOW),
        Err(OpError::OutOfRange)
    );
    assert_eq!(
        op_linsert(&mut db, b"l", Position::After, b"a", b"a2", &c, NOW),
        Ok(Some(4))
    );
    assert_eq!(
        op_linsert(&mut db, b"l", Position::Before, b"zz", b"q", &c, NOW),
        Ok(Some(-1))
    );
    assert_eq!(
        op_linsert(&mut db, b"nokey", Position::Before, b"a", b"q", &c, NOW),
        Ok(None)
    );
    assert!(!db.contains(b"nokey", NOW));
    assert_eq!(items(&mut db, "l"), ["a", "a2", "b", "C"]);
    assert_eq!(op_lrem(&mut db, b"l", -1, b"a2", &c, NOW), Ok(1));
    assert_eq!(op_lrem(&mut db, b"nokey", 0, b"a", &c, NOW), Ok(0));
    assert_eq!(op_ltrim(&mut db, b"l", 1, -1, &c, NOW), Ok(()));
    assert_eq!(items(&mut db, "l"), ["b", "C"]);
    assert_eq!(op_ltrim(&mut db, b"nokey", 0, 1, &c, NOW), Ok(()));
    assert!(!db.contains(b"nokey", NOW));
    // Trimming or removing everything deletes the key.
    assert_eq!(op_ltrim(&mut db, b"l", 5, 1, &c, NOW), Ok(()));
    assert!(!db.contains(b"l", NOW));
    push(&mut db, "l", &["x", "x"]);
    assert_eq!(op_lrem(&mut db, b"l", 0, b"x", &c, NOW), Ok(2));
    assert!(!db.contains(b"l", NOW));
}

#[test]
fn lpos_options_and_redis_quirks() {
    let p = |w: &[&str]| parse_lpos_args(&args(w));
    let ok = |rank, count, maxlen| {
        Ok(LposArgs {
            rank,
            count,
            maxlen,
        })
    };
    assert_eq!(p(&["LPOS", "k", "e"]), ok(1, None, 0));
    assert_eq!(
        p(&["LPOS", "k", "e", "rank", "-2", "COUNT", "0", "maxlen", "9"]),
        ok(-2, Some(0), 9)
    );
    assert_eq!(
        p(&["LPOS", "k", "e", "RANK", "0"]),
        Err(errors::LPOS_RANK_ZERO)
    );
    assert_eq!(
        p(&["LPOS", "k", "e", "RANK", "x"]),
        Err(errors::NOT_INTEGER)
    );
    assert_eq!(
        p(&["LPOS", "k", "e", "COUNT", "x"]),
        Err(errors::LPOS_COUNT_NEGATIVE)
    );
    assert_eq!(
        p(&["LPOS", "k", "e", "MAXLEN", "-1"]),
        Err(errors::LPOS_MAXLEN_NEGATIVE)
    );
    assert_eq!(p(&["LPOS", "k", "e", "RANK"]), Err(errors::SYNTAX));
    assert_eq!(p(&["LPOS", "k", "e", "foo", "1"]), Err(errors::SYNTAX));
    // The first bad option is the error.
    assert_eq!(
        p(&["LPOS", "k", "e", "COUNT", "-1", "RANK", "0"]),
        Err(errors::LPOS_COUNT_NEGATIVE)
    );
    // RANK LONG_MIN: Redis's negation leaves it negative, so it counts every match from the tail.
    assert_eq!(
        p(&["LPOS", "k", "e", "RANK", "-9223372036854775808"]),
        ok(-1, None, 0)
    );
    assert_eq!(
        p(&[
            "LPOS",
            "k",
            "e",
            "RANK",
            "-9223372036854775808",
            "COUNT",
            "1"
        ]),
        ok(-1, Some(0), 0)
    );

    let mut db = DbSlice::new();
    push(&mut db, "l", &["a", "b", "c", "1", "2", "3", "c", "c"]);
    let find = |db: &mut DbSlice, w: &[&str]| {
        let a = p(w).expect("valid");
        op_lpos(db, b"l", w[2].as_bytes(), &a, NOW).expect("a list")
    };
    assert_eq!(find(&mut db, &["LPOS", "l", "c"]), Some(vec![2]));
    assert_eq!(
        find(&mut db, &["LPOS", "l", "c", "RANK", "-1", "COUNT", "2"]),
        Some(vec![7, 6])
    );
    assert_eq!(find(&mut db, &["LPOS", "l", "02"]), Some(vec![]));
    assert_eq!(
        find(&mut db, &["LPOS", "l", "c", "COUNT", "0", "MAXLEN", "7"]),
        Some(vec![2, 6])
    );
    let a = p(&["LPOS", "k", "e"]).expect("valid");
    assert_eq!(op_lpos(&mut db, b"nokey", b"e", &a, NOW), Ok(None));
}

#[test]
fn lmove_in_one_slice() {
    let mut db = DbSlice::new();
    let c = cfg();
    let mv = |db: &mut DbSlice, s: &str, d: &str, from, to| {
        op_lmove_same_shard(db, s.as_bytes(), d.as_bytes(), from, to, &c, NOW)
    };
    // A missing source does nothing, not even create the destination.
    assert_eq!(mv(&mut db, "s", "d", End::Front, End::Back), Ok(None));
    assert!(!db.contains(b"d", NOW));
    push(&mut db, "s", &["a", "b", "c"]);
    assert_eq!(
        mv(&mut db, "s", "d", End::Back, End::Front),
        Ok(Some(b"c".to_vec()))
    );
    assert_eq!(
        mv(&mut db, "s", "d", End::Front, End::Front),
        Ok(Some(b"a".to_vec()))
    );
    assert_eq!(items(&mut db, "d"), ["a", "c"]);
    // Rotation of one list.
    assert_eq!(
        mv(&mut db, "d", "d", End::Front, End::Back),
        Ok(Some(b"a".to_vec()))
    );
    assert_eq!(items(&mut db, "d"), ["c", "a"]);
    // A wrong-typed destination is found before anything is popped.
    put_str(&mut db, "str");
    assert_eq!(
        mv(&mut db, "s", "str", End::Front, End::Back),
        Err(OpError::WrongType)
    );
    assert_eq!(items(&mut db, "s"), ["b"]);
    // The last element moves and the source goes away.
    assert_eq!(
        mv(&mut db, "s", "d", End::Front, End::Back),
        Ok(Some(b"b".to_vec()))
    );
    assert!(!db.contains(b"s", NOW));
    assert_eq!(items(&mut db, "d"), ["c", "a", "b"]);
    // A one-element list rotating onto itself stays.
    push(&mut db, "one", &["x"]);
    assert_eq!(
        mv(&mut db, "one", "one", End::Front, End::Front),
        Ok(Some(b"x".to_vec()))
    );
    assert_eq!(items(&mut db, "one"), ["x"]);
}

#[test]
fn lmove_halves_for_two_shards() {
    // The source and destination slices stand for two shards.
    let (mut src, mut dst) = (DbSlice::new(), DbSlice::new());
    let c = cfg();
    assert_eq!(op_lmove_peek(&mut src, b"s", End::Front, NOW), Ok(None));
    push(&mut src, "s", &["a", "b"]);
    assert_eq!(op_check_list(&mut dst, b"d", NOW), Ok(()));
    let peeked = op_lmove_peek(&mut src, b"s", End::Back, NOW).expect("a list");
    assert_eq!(peeked.as_deref(), Some(&b"b"[..]));
    // Peeking changes nothing; the pop then returns what was peeked.
    assert_eq!(items(&mut src, "s"), ["a", "b"]);
    let popped = op_pop_one(&mut src, b"s", End::Back, &c, NOW).expect("a list");
    assert_eq!(popped, peeked);
    let v = popped.expect("present");
    assert_eq!(op_push(&mut dst, b"d", End::Front, &[&v], &c, NOW), Ok(1));
    assert_eq!(items(&mut dst, "d"), ["b"]);
    put_str(&mut dst, "str");
    assert_eq!(
        op_check_list(&mut dst, b"str", NOW),
        Err(OpError::WrongType)
    );
}

#[test]
fn mpop_args_parse_like_redis() {
    let p = |w: &[&str], i| parse_mpop_args(&args(w), i);
    assert_eq!(
        p(&["LMPOP", "2", "a", "b", "left"], 1),
        Ok(MpopArgs {
            keys: 2..4,
            end: End::Front,
            count: 1
        })
    );
    assert_eq!(
        p(&["LMPOP", "1", "a", "RIGHT", "count", "5"], 1),
        Ok(MpopArgs {
            keys: 2..3,
            end: End::Back,
            count: 5
        })
    );
    // BLMPOP: the timeout comes first and is not parsed here.
    assert_eq!(
        p(&["BLMPOP", "0.5", "1", "a", "LEFT"], 2),
        Ok(MpopArgs {
            keys: 3..4,
            end: End::Front,
            count: 1
        })
    );
    for (w, e) in [
        (
            &["LMPOP", "0", "a", "LEFT"][..],
            errors::NUMKEYS_NOT_POSITIVE,
        ),
        (&["LMPOP", "x", "a", "LEFT"], errors::NUMKEYS_NOT_POSITIVE),
        (&["LMPOP", "-1", "a", "LEFT"], errors::NUMKEYS_NOT_POSITIVE),
        (&["LMPOP", "2", "a", "LEFT"], errors::SYNTAX),
        (
            &["LMPOP", "9223372036854775807", "a", "LEFT"],
            errors::SYNTAX,
        ),
        (&["LMPOP", "1", "a", "UP"], errors::SYNTAX),
        (&["LMPOP", "1", "a", "LEFT", "COUNT"], errors::SYNTAX),
        (
            &["LMPOP", "1", "a", "LEFT", "COUNT", "0"],
            errors::COUNT_NOT_POSITIVE,
        ),
        (
            &["LMPOP", "1", "a", "LEFT", "COUNT", "x"],
            errors::COUNT_NOT_POSITIVE,
        ),
        (
            &["LMPOP", "1", "a", "LEFT", "COUNT", "1", "COUNT", "1"],
            errors::SYNTAX,
        ),
        (&["LMPOP", "1", "a", "LEFT", "foo"], errors::SYNTAX),
        // numkeys first, then the position, then COUNT.
        (
            &["LMPOP", "0", "a", "UP", "COUNT", "0"],
            errors::NUMKEYS_NOT_POSITIVE,
        ),
        (&["LMPOP", "1", "a", "UP", "COUNT", "0"], errors::SYNTAX),
    ] {
        assert_eq!(p(w, 1), Err(e), "{w:?}");
    }
}

#[test]
fn mpop_takes_the_first_non_empty_list() {
    let mut db = DbSlice::new();
    let c = cfg();
    assert_eq!(
        op_mpop(&mut db, &["a", "b"], End::Front, 1, &c, NOW),
        Ok(None)
    );
    push(&mut db, "b", &["1", "2", "3"]);
    push(&mut db, "c", &["x"]);
    let r = op_mpop(&mut db, &["a", "b", "c"], End::Back, 2, &c, NOW).expect("lists");
    let p = r.expect("popped");
    assert_eq!(
        (p.key, strings(p.values)),
        (1, vec!["3".into(), "2".into()])
    );
    // A wrong type before the first non-empty list is an error; after it, never looked at.
    put_str(&mut db, "s");
    assert_eq!(
        op_mpop(&mut db, &["a", "s", "b"], End::Front, 1, &c, NOW),
        Err(OpError::WrongType)
    );
    let r = op_mpop(&mut db, &["b", "s"], End::Front, 5, &c, NOW).expect("lists");
    assert_eq!(
        r,
        Some(Popped {
            key: 0,
            values: vec![b"1".to_vec()]
        })
    );
    assert!(!db.contains(b"b", NOW));
}

#[test]
fn encodings_follow_the_config_given() {
    let mut db = DbSlice::new();
    let four = ListConfig::with_fill(4);
    let k = &b"l"[..];
    op_push(&mut db, k, End::Back, &["1", "2", "3", "4"], &four, NOW).expect("a list");
    assert_eq!(encoding(&mut db, "l"), "listpack");
    op_push(&mut db, k, End::Back, &["5"], &four, NOW).expect("a list");
    assert_eq!(encoding(&mut db, "l"), "quicklist");
    // Back to a listpack only at half the limit.
    op_pop(&mut db, k, End::Back, 2, &four, NOW).expect("a list");
    assert_eq!(encoding(&mut db, "l"), "quicklist");
    op_pop_one(&mut db, k, End::Back, &four, NOW).expect("a list");
    assert_eq!(encoding(&mut db, "l"), "listpack");
    // The default byte limit (8 KiB) keeps these in a listpack; a count limit of 1 does not.
    op_push(&mut db, k, End::Front, &["a", "b"], &cfg(), NOW).expect("a list");
    assert_eq!(encoding(&mut db, "l"), "listpack");
    op_lset(&mut db, k, 0, b"A", &ListConfig::with_fill(1), NOW).expect("in range");
    assert_eq!(encoding(&mut db, "l"), "quicklist");
    assert_eq!(items(&mut db, "l"), ["A", "a", "1", "2"]);
}

#[test]
fn expired_lists_are_missing() {
    let mut db = DbSlice::new();
    let c = cfg();
    db.set(b"l", Record::with_expiry(Value::List(List::new()), NOW - 1));
    // An empty stored list cannot come from a command; the point is the deadline.
    assert_eq!(op_llen(&mut db, b"l", NOW), Ok(None));
    push(&mut db, "e", &["a"]);
    db.set_expire(b"e", NOW + 10, NOW);
    assert_eq!(op_llen(&mut db, b"e", NOW + 10), Ok(Some(1)));
    assert_eq!(op_pop(&mut db, b"e", End::Back, 1, &c, NOW + 11), Ok(None));
    assert_eq!(
        op_push(&mut db, b"e", End::Back, &["b"], &c, NOW + 11),
        Ok(1)
    );
    assert_eq!(db.find(b"e", NOW + 11).expect("present").expire_at(), 0);
}
