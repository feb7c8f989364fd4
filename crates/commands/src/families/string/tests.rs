//! Unit tests of the string family's `op_*` functions and parsers, on a bare `DbSlice` (no
//! server, no shards). Replies over sockets and against real Redis live in
//! crates/server/tests/string.rs and tests/diff/string.redis.

use super::*;

const NOW: u64 = 1_700_000_000_000;

fn db() -> DbSlice {
    DbSlice::new()
}

fn args(words: &[&str]) -> Vec<Bytes> {
    words
        .iter()
        .map(|w| Bytes::copy_from_slice(w.as_bytes()))
        .collect()
}

fn get(db: &mut DbSlice, key: &str) -> Option<Vec<u8>> {
    op_get(db, key.as_bytes(), NOW)
        .expect("a string")
        .map(|s| s.to_vec())
}

fn encoding(db: &mut DbSlice, key: &str) -> &'static str {
    op_get(db, key.as_bytes(), NOW)
        .expect("a string")
        .expect("present")
        .encoding()
}

fn ttl_of(db: &mut DbSlice, key: &str) -> u64 {
    db.find(key.as_bytes(), NOW).expect("present").expire_at()
}

fn set(db: &mut DbSlice, key: &str, value: &str, p: SetParams) -> SetOutcome {
    op_set(
        db,
        key.as_bytes(),
        StrValue::from_bytes(value.as_bytes()),
        &p,
        NOW,
    )
    .expect("no error")
}

#[test]
fn set_encodes_like_redis() {
    let mut d = db();
    set(&mut d, "i", "123", SetParams::default());
    assert_eq!(encoding(&mut d, "i"), "int");
    set(&mut d, "e", &"x".repeat(44), SetParams::default());
    assert_eq!(encoding(&mut d, "e"), "embstr");
    set(&mut d, "r", &"x".repeat(45), SetParams::default());
    assert_eq!(encoding(&mut d, "r"), "raw");
    set(&mut d, "lead0", "0123", SetParams::default());
    assert_eq!(encoding(&mut d, "lead0"), "embstr");
    assert_eq!(get(&mut d, "i").as_deref(), Some(&b"123"[..]));
}

#[test]
fn set_conditions_get_and_ttl() {
    let mut d = db();
    let nx = SetParams {
        cond: SetCond::IfMissing,
        ..SetParams::default()
    };
    let xx = SetParams {
        cond: SetCond::IfExists,
        ..SetParams::default()
    };
    assert_eq!(set(&mut d, "k", "a", xx), SetOutcome::NotStored);
    assert_eq!(get(&mut d, "k"), None);
    assert_eq!(set(&mut d, "k", "a", nx), SetOutcome::Stored);
    assert_eq!(set(&mut d, "k", "b", nx), SetOutcome::NotStored);
    assert_eq!(set(&mut d, "k", "b", xx), SetOutcome::Stored);
    assert_eq!(get(&mut d, "k").as_deref(), Some(&b"b"[..]));

    // GET answers the old value whether or not NX/XX let the write happen.
    let nx_get = SetParams { get: true, ..nx };
    assert_eq!(
        set(&mut d, "k", "c", nx_get),
        SetOutcome::Old(Some(StrValue::from_bytes(b"b")))
    );
    assert_eq!(get(&mut d, "k").as_deref(), Some(&b"b"[..]));
    let get_only = SetParams {
        get: true,
        ..SetParams::default()
    };
    assert_eq!(set(&mut d, "new", "v", get_only), SetOutcome::Old(None));
    assert_eq!(
        set(&mut d, "new", "w", get_only),
        SetOutcome::Old(Some(StrValue::from_bytes(b"v")))
    );

    // A deadline; KEEPTTL keeps it; a plain SET clears it.
    let ex = SetParams {
        expire_at: Some(NOW + 5000),
        ..SetParams::default()
    };
    set(&mut d, "t", "1", ex);
    assert_eq!(ttl_of(&mut d, "t"), NOW + 5000);
    let keep = SetParams {
        keep_ttl: true,
        ..SetParams::default()
    };
    set(&mut d, "t", "2", keep);
    assert_eq!(ttl_of(&mut d, "t"), NOW + 5000);
    set(&mut d, "t", "3", SetParams::default());
    assert_eq!(ttl_of(&mut d, "t"), 0);
    assert_eq!(d.expires_count(), 0);

    // An expired key counts as missing for NX.
    set(&mut d, "gone", "1", ex);
    assert_eq!(
        op_set(&mut d, b"gone", StrValue::from_bytes(b"2"), &nx, NOW + 5001),
        Ok(SetOutcome::Stored)
    );
}

#[test]
fn extended_options_parse_as_redis() {
    let ok = |w: &[&str]| parse_ext(&args(w), true).expect("valid");
    assert_eq!(ok(&["SET", "k", "v"]).flags, 0);
    assert_eq!(ok(&["SET", "k", "v", "nx", "GET"]).flags, OBJ_NX | OBJ_GET);
    let e = ok(&["SET", "k", "v", "EX", "10", "ex", "20"]);
    assert_eq!((e.flags, e.expire), (OBJ_EX, Some(6)));
    assert_eq!(ok(&["SET", "k", "v", "nx\0junk"]).flags, OBJ_NX);
    for bad in [
        &["SET", "k", "v", "NX", "XX"][..],
        &["SET", "k", "v", "EX"],
        &["SET", "k", "v", "EX", "1", "PX", "1"],
        &["SET", "k", "v", "KEEPTTL", "EX", "1"],
        &["SET", "k", "v", "PXAT", "1", "KEEPTTL"],
        &["SET", "k", "v", "PERSIST"],
        &["SET", "k", "v", "foo"],
        &["SET", "k", "v", ""],
    ] {
        assert_eq!(parse_ext(&args(bad), true), Err(errors::SYNTAX), "{bad:?}");
    }
    let getex = |w: &[&str]| parse_ext(&args(w), false);
    assert_eq!(
        getex(&["GETEX", "k", "PERSIST"]).map(|e| e.flags),
        Ok(OBJ_PERSIST)
    );
    assert_eq!(
        getex(&["GETEX", "k", "EX", "1", "PERSIST"]),
        Err(errors::SYNTAX)
    );
    assert_eq!(getex(&["GETEX", "k", "NX"]), Err(errors::SYNTAX));
    assert_eq!(getex(&["GETEX", "k", "KEEPTTL"]), Err(errors::SYNTAX));
}

#[test]
fn expire_arguments_validate_as_redis() {
    assert_eq!(parse_expire(b"10", OBJ_EX, NOW), Ok(NOW + 10_000));
    assert_eq!(parse_expire(b"10", OBJ_PX, NOW), Ok(NOW + 10));
    assert_eq!(parse_expire(b"10", OBJ_EXAT, NOW), Ok(10_000));
    assert_eq!(parse_expire(b"10", OBJ_PXAT, NOW), Ok(10));
    assert_eq!(parse_expire(b"abc", OBJ_EX, NOW), Err(OpError::NotInteger));
    assert_eq!(parse_expire(b"0", OBJ_EX, NOW), Err(OpError::InvalidExpire));
    assert_eq!(
        parse_expire(b"-1", OBJ_PX, NOW),
        Err(OpError::InvalidExpire)
    );
    // Seconds that overflow when multiplied, or milliseconds that overflow when added to now.
    assert_eq!(
        parse_expire(b"9223372036854776", OBJ_EXAT, NOW),
        Err(OpError::InvalidExpire)
    );
    assert_eq!(
        parse_expire(b"9223372036854775", OBJ_EXAT, NOW),
        Ok(9_223_372_036_854_775_000)
    );
    assert_eq!(
        parse_expire(b"9223372036854775", OBJ_EX, NOW),
        Err(OpError::InvalidExpire)
    );
    assert_eq!(
        parse_expire(b"9223372036854775807", OBJ_PX, NOW),
        Err(OpError::InvalidExpire)
    );
    assert_eq!(
        OpError::InvalidExpire.message("setex"),
        "ERR invalid expire time in 'setex' command"
    );
}

#[test]
fn getex_changes_ttl_after_reading() {
    let mut d = db();
    let at = |at_ms, absolute| Ok(TtlChange::At { at_ms, absolute });
    // Missing key: nil even with an invalid expire (validated only for existing strings).
    assert_eq!(
        op_getex(&mut d, b"k", Err(OpError::InvalidExpire), NOW),
        Ok(None)
    );
    set(&mut d, "k", "v", SetParams::default());
    assert_eq!(
        op_getex(&mut d, b"k", Err(OpError::InvalidExpire), NOW),
        Err(OpError::InvalidExpire)
    );
    let v = Some(StrValue::from_bytes(b"v"));
    assert_eq!(
        op_getex(&mut d, b"k", at(NOW + 100, false), NOW),
        Ok(v.clone())
    );
    assert_eq!(ttl_of(&mut d, "k"), NOW + 100);
    assert_eq!(
        op_getex(&mut d, b"k", Ok(TtlChange::Persist), NOW),
        Ok(v.clone())
    );
    assert_eq!(ttl_of(&mut d, "k"), 0);
    assert_eq!(
        op_getex(&mut d, b"k", Ok(TtlChange::Keep), NOW),
        Ok(v.clone())
    );
    // An absolute deadline already past deletes the key after answering.
    assert_eq!(op_getex(&mut d, b"k", at(NOW, true), NOW), Ok(v));
    assert_eq!(get(&mut d, "k"), None);
    assert_eq!(d.len(), 0);
}

#[test]
fn getdel_removes() {
    let mut d = db();
    assert_eq!(op_getdel(&mut d, b"k", NOW), Ok(None));
    set(&mut d, "k", "42", SetParams::default());
    assert_eq!(op_getdel(&mut d, b"k", NOW), Ok(Some(StrValue::Int(42))));
    assert_eq!(d.len(), 0);
}

#[test]
fn getrange_clamps_as_redis() {
    let r = |s: i64, e: i64| getrange_bounds(5, s, e);
    assert_eq!(r(0, -1), Some(0..5));
    assert_eq!(r(-5, -1), Some(0..5));
    assert_eq!(r(0, -100), Some(0..1));
    assert_eq!(r(-1, -5), None);
    assert_eq!(r(10, 20), None);
    assert_eq!(r(1, 100), Some(1..5));
    assert_eq!(r(-100, 2), Some(0..3));
    assert_eq!(r(3, 1), None);
    assert_eq!(r(i64::MIN, i64::MAX), Some(0..5));
    assert_eq!(getrange_bounds(0, 0, -1), None);
    assert_eq!(getrange_bounds(0, 0, 0), None);
}

#[test]
fn append_and_setrange_encodings_and_limits() {
    let mut d = db();
    assert_eq!(op_append(&mut d, b"a", b"12", 100, NOW), Ok(2));
    assert_eq!(encoding(&mut d, "a"), "int");
    assert_eq!(op_append(&mut d, b"a", b"3", 100, NOW), Ok(3));
    assert_eq!(encoding(&mut d, "a"), "raw");
    assert_eq!(get(&mut d, "a").as_deref(), Some(&b"123"[..]));
    assert_eq!(
        op_append(&mut d, b"a", &[b'x'; 98], 100, NOW),
        Err(OpError::TooLong)
    );
    assert_eq!(op_append(&mut d, b"a", &[b'x'; 97], 100, NOW), Ok(100));

    // SETRANGE: nothing to set creates nothing; padding with zeros; raw.
    assert_eq!(op_setrange(&mut d, b"s", 5, b"", 100, NOW), Ok(0));
    assert!(!d.contains(b"s", NOW));
    assert_eq!(op_setrange(&mut d, b"s", 2, b"ab", 100, NOW), Ok(4));
    assert_eq!(get(&mut d, "s").as_deref(), Some(&b"\0\0ab"[..]));
    assert_eq!(encoding(&mut d, "s"), "raw");
    assert_eq!(op_setrange(&mut d, b"s", 0, b"x", 100, NOW), Ok(4));
    assert_eq!(get(&mut d, "s").as_deref(), Some(&b"x\0ab"[..]));
    assert_eq!(
        op_setrange(&mut d, b"s", 99, b"yz", 100, NOW),
        Err(OpError::TooLong)
    );
    assert_eq!(
        op_setrange(&mut d, b"s", usize::MAX, b"yz", usize::MAX, NOW),
        Err(OpError::TooLong)
    );
    // An existing key with nothing to set keeps its encoding and answers its length.
    set(&mut d, "n", "12345", SetParams::default());
    assert_eq!(op_setrange(&mut d, b"n", 1_000_000, b"", 100, NOW), Ok(5));
    assert_eq!(encoding(&mut d, "n"), "int");
    assert_eq!(op_setrange(&mut d, b"n", 1, b"0", 100, NOW), Ok(5));
    assert_eq!(encoding(&mut d, "n"), "raw");
}

#[test]
fn incr_family_rules() {
    let mut d = db();
    assert_eq!(op_incrby(&mut d, b"n", 5, NOW), Ok(5));
    assert_eq!(encoding(&mut d, "n"), "int");
    assert_eq!(op_incrby(&mut d, b"n", -10, NOW), Ok(-5));
    set(&mut d, "max", &i64::MAX.to_string(), SetParams::default());
    assert_eq!(op_incrby(&mut d, b"max", 1, NOW), Err(OpError::Overflow));
    assert_eq!(op_incrby(&mut d, b"max", -1, NOW), Ok(i64::MAX - 1));
    set(&mut d, "min", &i64::MIN.to_string(), SetParams::default());
    assert_eq!(op_incrby(&mut d, b"min", -1, NOW), Err(OpError::Overflow));
    for bad in ["abc", " 1", "1.5", "01", "", "9223372036854775808"] {
        set(&mut d, "bad", bad, SetParams::default());
        assert_eq!(
            op_incrby(&mut d, b"bad", 1, NOW),
            Err(OpError::NotInteger),
            "{bad:?}"
        );
    }
    // A raw string holding digits is an integer too, and INCR makes it `int`; the TTL stays.
    op_append(&mut d, b"r", b"41", 100, NOW).expect("append");
    op_append(&mut d, b"r", b"", 100, NOW).expect("append");
    assert_eq!(encoding(&mut d, "r"), "raw");
    d.set_expire(b"r", NOW + 1000, NOW);
    assert_eq!(op_incrby(&mut d, b"r", 1, NOW), Ok(42));
    assert_eq!(encoding(&mut d, "r"), "int");
    assert_eq!(ttl_of(&mut d, "r"), NOW + 1000);
}

#[test]
fn incrbyfloat_uses_long_double() {
    let mut d = db();
    set(&mut d, "f", "10.5", SetParams::default());
    d.set_expire(b"f", NOW + 1000, NOW);
    assert_eq!(
        op_incrbyfloat(&mut d, b"f", b"0.1", NOW),
        Ok(b"10.6".to_vec())
    );
    assert_eq!(encoding(&mut d, "f"), "embstr");
    assert_eq!(ttl_of(&mut d, "f"), NOW + 1000);
    assert_eq!(
        op_incrbyfloat(&mut d, b"g", b"3.0e3", NOW),
        Ok(b"3000".to_vec())
    );
    assert_eq!(encoding(&mut d, "g"), "embstr");
    assert_eq!(
        op_incrbyfloat(&mut d, b"h", b"5.0e50", NOW),
        Ok(b"500000000000000000017919150594294619453992437022720".to_vec())
    );
    assert_eq!(encoding(&mut d, "h"), "raw");
    assert_eq!(
        op_incrbyfloat(&mut d, b"g", b"abc", NOW),
        Err(OpError::NotFloat)
    );
    assert_eq!(
        op_incrbyfloat(&mut d, b"g", b"nan", NOW),
        Err(OpError::NotFloat)
    );
    assert_eq!(
        op_incrbyfloat(&mut d, b"g", b"inf", NOW),
        Err(OpError::NanOrInf)
    );
    set(&mut d, "s", "hello", SetParams::default());
    assert_eq!(
        op_incrbyfloat(&mut d, b"s", b"1", NOW),
        Err(OpError::NotFloat)
    );
    assert_eq!(get(&mut d, "g").as_deref(), Some(&b"3000"[..]));
}

#[test]
fn mget_counts_hits_and_misses() {
    let mut d = db();
    op_mset(
        &mut d,
        [(&b"a"[..], &b"1"[..]), (b"b", b"2"), (b"a", b"3")],
        NOW,
    );
    let mut seen = Vec::new();
    let (hits, misses) = op_mget(&mut d, [&b"a"[..], b"x", b"b"], NOW, |v| {
        seen.push(v.map(|s| s.to_vec()))
    });
    assert_eq!((hits, misses), (2, 1));
    assert_eq!(seen, vec![Some(b"3".to_vec()), None, Some(b"2".to_vec())]);
    assert!(op_any_exists(&mut d, [&b"x"[..], b"b"], NOW));
    assert!(!op_any_exists(&mut d, [&b"x"[..], b"y"], NOW));
}

#[test]
fn lcs_matches_redis_examples() {
    let a = b"ohmytext";
    let b = b"mynewtext";
    let r = lcs(a, b, true, 0, DEFAULT_MAX_BULK_LEN).expect("computed");
    assert_eq!((r.len, &r.seq[..]), (6, &b"mytext"[..]));
    let m = |a, b, len| LcsMatch { a, b, len };
    assert_eq!(r.matches, vec![m((4, 7), (5, 8), 4), m((2, 3), (0, 1), 2)]);
    let r = lcs(a, b, true, 4, DEFAULT_MAX_BULK_LEN).expect("computed");
    assert_eq!(r.matches, vec![m((4, 7), (5, 8), 4)]);
    let r = lcs(a, b, false, 0, DEFAULT_MAX_BULK_LEN).expect("computed");
    assert_eq!((r.len, r.seq.len(), r.matches.len()), (6, 0, 0));
    assert_eq!(lcs(b"", b"abc", true, 0, 100).map(|r| r.len), Ok(0));
    // (8+1) * (9+1) cells of 4 bytes.
    assert_eq!(lcs(a, b, true, 0, 359), Err(LcsError::ExceedsMaxBulk));
    assert!(lcs(a, b, true, 0, 360).is_ok());
}

#[test]
fn lcs_reply_checks_options_in_redis_order() {
    let reply = |a: LcsInput, b: LcsInput, w: &[&str]| {
        let mut out = ReplyWriter::new(darter_resp::Protocol::Resp2);
        lcs::reply(&mut out, a, b, &args(w), DEFAULT_MAX_BULK_LEN);
        String::from_utf8(out.buf.to_vec()).expect("utf8")
    };
    let s = |v: &str| LcsInput::Str(v.as_bytes().to_vec());
    assert_eq!(
        reply(LcsInput::WrongType, s("x"), &["LCS", "a", "b", "bogus"]),
        "-ERR The specified keys must contain string values\r\n"
    );
    assert_eq!(
        reply(s("a"), s("a"), &["LCS", "a", "b", "bogus"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        reply(s("a"), s("a"), &["LCS", "a", "b", "MINMATCHLEN"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        reply(s("a"), s("a"), &["LCS", "a", "b", "MINMATCHLEN", "x"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        reply(s("a"), s("a"), &["LCS", "a", "b", "LEN", "IDX"]),
        "-ERR If you want both the length and indexes, please just use IDX.\r\n"
    );
    assert_eq!(
        reply(s("ohmytext"), s("mynewtext"), &["LCS", "a", "b"]),
        "$6\r\nmytext\r\n"
    );
    assert_eq!(
        reply(s("ohmytext"), s("mynewtext"), &["LCS", "a", "b", "len"]),
        ":6\r\n"
    );
    assert_eq!(
        reply(
            s("ohmytext"),
            s("mynewtext"),
            &["LCS", "a", "b", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"]
        ),
        "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n"
    );
}
