//! Unit tests of the generic family's `op_*` functions and parsers, on bare `DbSlice`s (no
//! server, no shards).

use super::*;
use darter_collections::{StrValue, Value};
use std::collections::HashSet;

const T0: u64 = 1_700_000_000_000;

fn val(v: &[u8]) -> Value {
    Value::Str(StrValue::from_bytes(v))
}

fn put(db: &mut DbSlice, k: &[u8], v: &[u8]) {
    db.set(k, Record::new(val(v)));
}

fn put_ttl(db: &mut DbSlice, k: &[u8], v: &[u8], at: u64) {
    db.set(k, Record::with_expiry(val(v), at));
}

fn slice() -> DbSlice {
    let mut db = DbSlice::new();
    db.observe(T0);
    db
}

fn keys<'a>(ks: &'a [&'a str]) -> impl Iterator<Item = &'a [u8]> {
    ks.iter().map(|k| k.as_bytes())
}

#[test]
fn del_exists_touch_count_like_redis() {
    let mut db = slice();
    put(&mut db, b"a", b"1");
    put(&mut db, b"b", b"2");
    put_ttl(&mut db, b"gone", b"3", T0 - 1);
    // A key named twice counts twice for EXISTS and TOUCH, once for DEL.
    assert_eq!(
        op_exists(&mut db, keys(&["a", "a", "b", "x", "gone"]), T0),
        3
    );
    assert_eq!(op_touch(&mut db, keys(&["a", "a", "x"]), T0), 2);
    assert_eq!(op_del(&mut db, keys(&["a", "a", "x", "gone"]), T0), 1);
    assert_eq!(op_exists(&mut db, keys(&["a", "b"]), T0), 1);
    assert_eq!(db.len(), 1);
}

#[test]
fn expire_flags_parse_with_redis_errors() {
    let b = |v: &[&str]| {
        v.iter()
            .map(|s| Bytes::from(s.to_string()))
            .collect::<Vec<_>>()
    };
    assert_eq!(parse_expire_flags(&b(&[])), Ok(0));
    assert_eq!(parse_expire_flags(&b(&["nx"])), Ok(EXPIRE_NX));
    assert_eq!(
        parse_expire_flags(&b(&["XX", "gt"])),
        Ok(EXPIRE_XX | EXPIRE_GT)
    );
    assert_eq!(
        parse_expire_flags(&b(&["nx", "xx"])).unwrap_err(),
        errors::NX_XX_GT_LT
    );
    assert_eq!(
        parse_expire_flags(&b(&["lt", "nx"])).unwrap_err(),
        errors::NX_XX_GT_LT
    );
    assert_eq!(
        parse_expire_flags(&b(&["gt", "lt"])).unwrap_err(),
        errors::GT_AND_LT
    );
    assert_eq!(
        parse_expire_flags(&b(&["nx", "foo"])).unwrap_err(),
        "ERR Unsupported option foo"
    );
}

#[test]
fn expire_deadline_overflows_like_redis() {
    assert_eq!(expire_deadline(10, true, 5), Some(10_005));
    assert_eq!(expire_deadline(-10, false, 5), Some(-5));
    assert_eq!(expire_deadline(i64::MAX / 1000 + 1, true, 0), None);
    assert_eq!(expire_deadline(i64::MIN / 1000 - 1, true, 0), None);
    assert_eq!(
        expire_deadline(i64::MAX / 1000, true, 0),
        Some(i64::MAX / 1000 * 1000)
    );
    assert_eq!(expire_deadline(i64::MAX, false, 1), None);
    assert_eq!(expire_deadline(i64::MAX - 1, false, 1), Some(i64::MAX));
}

#[test]
fn expire_conditions_follow_redis() {
    let mut db = slice();
    let later = (T0 + 10_000) as i64;
    assert_eq!(op_expire(&mut db, b"none", later, 0, T0), 0);
    put(&mut db, b"k", b"v");
    // No deadline yet: XX and GT refuse, NX and LT set.
    assert_eq!(op_expire(&mut db, b"k", later, EXPIRE_XX, T0), 0);
    assert_eq!(op_expire(&mut db, b"k", later, EXPIRE_GT, T0), 0);
    assert_eq!(op_expire(&mut db, b"k", later, EXPIRE_NX, T0), 1);
    assert_eq!(op_deadline(&mut db, b"k", T0), Deadline::At(later as u64));
    assert_eq!(op_expire(&mut db, b"k", later + 1, EXPIRE_NX, T0), 0);
    assert_eq!(op_expire(&mut db, b"k", later, EXPIRE_GT, T0), 0);
    assert_eq!(
        op_expire(&mut db, b"k", later + 5, EXPIRE_GT | EXPIRE_XX, T0),
        1
    );
    assert_eq!(op_expire(&mut db, b"k", later + 5, EXPIRE_LT, T0), 0);
    assert_eq!(op_expire(&mut db, b"k", later, EXPIRE_LT, T0), 1);
    assert_eq!(op_deadline(&mut db, b"k", T0), Deadline::At(later as u64));
    assert_eq!(db.expires_count(), 1);
    // PERSIST, then LT on a key without deadline sets one.
    assert_eq!(op_persist(&mut db, b"k", T0), 1);
    assert_eq!(op_persist(&mut db, b"k", T0), 0);
    assert_eq!(op_persist(&mut db, b"nokey", T0), 0);
    assert_eq!(db.expires_count(), 0);
    assert_eq!(op_deadline(&mut db, b"k", T0), Deadline::Persistent);
    assert_eq!(op_expire(&mut db, b"k", later, EXPIRE_LT, T0), 1);
    // A deadline not in the future deletes the key and still answers 1.
    assert_eq!(op_expire(&mut db, b"k", T0 as i64, 0, T0), 1);
    assert_eq!(op_deadline(&mut db, b"k", T0), Deadline::NoKey);
    assert_eq!(db.expires_count(), 0);
    put(&mut db, b"n", b"v");
    assert_eq!(op_expire(&mut db, b"n", -5, 0, T0), 1);
    assert!(db.is_empty());
}

#[test]
fn expired_keys_look_absent_everywhere() {
    let mut db = slice();
    put_ttl(&mut db, b"k", b"v", T0 + 100);
    assert_eq!(op_type(&mut db, b"k", T0 + 99), Some("string"));
    // Redis expires a key strictly after its deadline.
    assert_eq!(op_type(&mut db, b"k", T0 + 100), Some("string"));
    assert_eq!(op_type(&mut db, b"k", T0 + 101), None);
    assert_eq!(db.len(), 0, "a lookup deletes an expired key");
    assert_eq!(db.stats.expired_keys, 1);
}

#[test]
fn rename_in_one_slice() {
    let mut db = slice();
    assert_eq!(
        op_rename(&mut db, b"a", b"b", false, T0),
        Renamed::NoSuchKey
    );
    assert_eq!(op_rename(&mut db, b"a", b"a", true, T0), Renamed::NoSuchKey);
    put_ttl(&mut db, b"a", b"1", T0 + 5000);
    assert_eq!(op_rename(&mut db, b"a", b"a", false, T0), Renamed::SameKey);
    assert_eq!(op_rename(&mut db, b"a", b"b", false, T0), Renamed::Done);
    assert_eq!(op_deadline(&mut db, b"b", T0), Deadline::At(T0 + 5000));
    assert_eq!(op_type(&mut db, b"a", T0), None);
    assert_eq!(db.expires_count(), 1);
    // Overwriting a destination that had a deadline keeps the count right.
    put(&mut db, b"c", b"x");
    assert_eq!(op_rename(&mut db, b"c", b"b", false, T0), Renamed::Done);
    assert_eq!(db.expires_count(), 0);
    assert_eq!(op_deadline(&mut db, b"b", T0), Deadline::Persistent);
    put(&mut db, b"d", b"y");
    assert_eq!(
        op_rename(&mut db, b"d", b"b", true, T0),
        Renamed::DestExists
    );
    assert_eq!(db.len(), 2);
}

#[test]
fn copy_and_move() {
    let mut dbs: Vec<DbSlice> = (0..3).map(|_| slice()).collect();
    assert_eq!(
        op_copy(&mut dbs, 0, b"a", 0, b"b", false, T0),
        Copied::NoSource
    );
    put_ttl(&mut dbs[0], b"a", b"hello", T0 + 7000);
    assert_eq!(op_copy(&mut dbs, 0, b"a", 0, b"b", false, T0), Copied::Done);
    assert_eq!(
        op_copy(&mut dbs, 0, b"a", 0, b"b", false, T0),
        Copied::DestExists
    );
    assert_eq!(op_copy(&mut dbs, 0, b"a", 0, b"b", true, T0), Copied::Done);
    assert_eq!(op_deadline(&mut dbs[0], b"b", T0), Deadline::At(T0 + 7000));
    assert_eq!(op_copy(&mut dbs, 0, b"a", 1, b"a", false, T0), Copied::Done);
    assert_eq!(
        dbs[1].peek(b"a", T0).map(|e| e.to_value()),
        Some(val(b"hello"))
    );
    assert_eq!(dbs[0].expires_count(), 2);
    assert_eq!(dbs[1].expires_count(), 1);

    let (src, dst) = two_dbs(&mut dbs, 0, 2);
    assert_eq!(op_move(src, dst, b"nokey", T0), Copied::NoSource);
    assert_eq!(op_move(src, dst, b"a", T0), Copied::Done);
    assert_eq!(op_move(src, dst, b"a", T0), Copied::NoSource);
    put(src, b"a", b"again");
    assert_eq!(op_move(src, dst, b"a", T0), Copied::DestExists);
    assert_eq!(op_deadline(dst, b"a", T0), Deadline::At(T0 + 7000));
    assert_eq!(dst.expires_count(), 1);
    let (d2, d0) = two_dbs(&mut dbs, 2, 0);
    assert_eq!(d2.len(), 1);
    assert_eq!(d0.len(), 2);
}

#[test]
fn db_index_and_copy_options() {
    assert_eq!(parse_db_index(b"3", 16), Ok(3));
    assert_eq!(parse_db_index(b"16", 16), Err(errors::INVALID_DB));
    assert_eq!(parse_db_index(b"-1", 16), Err(errors::INVALID_DB));
    assert_eq!(parse_db_index(b"x", 16), Err(errors::NOT_INTEGER));
    assert_eq!(
        parse_db_index(b"4294967296", 16),
        Err(errors::INT_OUT_OF_RANGE)
    );
    assert_eq!(parse_db_index(b"2147483647", 16), Err(errors::INVALID_DB));
    assert_eq!(
        parse_db_index(b"-2147483649", 16),
        Err(errors::INT_OUT_OF_RANGE)
    );
    let b = |v: &[&str]| {
        v.iter()
            .map(|s| Bytes::from(s.to_string()))
            .collect::<Vec<_>>()
    };
    assert_eq!(parse_copy_opts(&b(&[]), 2, 16), Ok((2, false)));
    assert_eq!(
        parse_copy_opts(&b(&["REPLACE", "db", "5"]), 2, 16),
        Ok((5, true))
    );
    assert_eq!(parse_copy_opts(&b(&["db"]), 2, 16), Err(errors::SYNTAX));
    assert_eq!(
        parse_copy_opts(&b(&["db", "99"]), 2, 16),
        Err(errors::INVALID_DB)
    );
    assert_eq!(parse_copy_opts(&b(&["foo"]), 2, 16), Err(errors::SYNTAX));
}

#[test]
fn cursor_parses_like_strtoul() {
    assert_eq!(parse_cursor(b"0"), Some(0));
    assert_eq!(parse_cursor(b""), Some(0));
    assert_eq!(parse_cursor(b"00"), Some(0));
    assert_eq!(parse_cursor(b"+7"), Some(7));
    assert_eq!(parse_cursor(b"-1"), Some(u64::MAX));
    assert_eq!(parse_cursor(b"-18446744073709551615"), Some(1));
    assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
    assert_eq!(parse_cursor(b"18446744073709551616"), None);
    assert_eq!(parse_cursor(b" 0"), None);
    assert_eq!(parse_cursor(b"0 "), None);
    assert_eq!(parse_cursor(b"+"), None);
    assert_eq!(parse_cursor(b"x"), None);
}

#[test]
fn scan_options_parse_with_redis_errors() {
    let b = |v: &[&str]| {
        v.iter()
            .map(|s| Bytes::from(s.to_string()))
            .collect::<Vec<_>>()
    };
    let (count, f) =
        parse_scan_opts(&b(&["MATCH", "a*", "count", "5", "type", "string"]), true).unwrap();
    assert_eq!(count, 5);
    assert_eq!(f.pattern.as_deref(), Some(&b"a*"[..]));
    assert_eq!(f.type_name.as_deref(), Some(&b"string"[..]));
    let (count, f) = parse_scan_opts(&b(&["match", "*"]), true).unwrap();
    assert_eq!(count, 10);
    assert!(f.pattern.is_none(), "MATCH * filters nothing");
    for (opts, err) in [
        (&["count", "0"][..], errors::SYNTAX),
        (&["count", "x"][..], errors::NOT_INTEGER),
        (&["count"][..], errors::SYNTAX),
        (&["match"][..], errors::SYNTAX),
        (&["foo", "bar"][..], errors::SYNTAX),
    ] {
        assert_eq!(
            parse_scan_opts(&b(opts), true).unwrap_err(),
            err,
            "{opts:?}"
        );
    }
}

#[test]
fn scan_filters_by_pattern_and_type() {
    let mut db = slice();
    for i in 0..100 {
        put(&mut db, format!("key:{i}").as_bytes(), b"v");
        put(&mut db, format!("other:{i}").as_bytes(), b"v");
    }
    put_ttl(&mut db, b"key:expired", b"v", T0 - 1);
    let f = ScanFilter {
        pattern: Some(Bytes::from_static(b"key:*")),
        type_name: Some(Bytes::from_static(b"STRING")),
    };
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        let step = op_scan(&db, pos, 7, &f, T0, &mut out);
        if step.next == POS_END {
            break;
        }
        pos = step.next;
    }
    let got: HashSet<Vec<u8>> = out.into_iter().collect();
    assert_eq!(got.len(), 100);
    assert!(got.iter().all(|k| k.starts_with(b"key:")));
    assert!(!got.contains(&b"key:expired"[..]));
    let f = ScanFilter {
        pattern: None,
        type_name: Some(Bytes::from_static(b"list")),
    };
    let mut out = Vec::new();
    let step = op_scan(&db, 0, 1000, &f, T0, &mut out);
    assert!(out.is_empty());
    assert_eq!(
        (step.next, step.visited, step.type_lookups),
        (POS_END, 200, 200)
    );
}

/// Every key present for a whole scan is returned at least once, even while inserts split the
/// table's segments many times over between steps.
#[test]
fn scan_is_stable_while_the_table_grows() {
    let mut db = slice();
    let initial = 5_000;
    for i in 0..initial {
        put(&mut db, format!("init:{i}").as_bytes(), b"v");
    }
    let segments_before = db.table_segments();
    let f = ScanFilter::default();
    let mut seen = HashSet::new();
    let mut pos = 0;
    let mut added = 0;
    loop {
        let mut out = Vec::new();
        let step = op_scan(&db, pos, 10, &f, T0, &mut out);
        seen.extend(out);
        if step.next == POS_END {
            break;
        }
        pos = step.next;
        // Grow by 100 keys per step until 50,000 were added (growing forever faster than the
        // scan advances would never let it finish).
        for _ in 0..100.min(50_000 - added) {
            put(&mut db, format!("new:{added}").as_bytes(), b"v");
            added += 1;
        }
    }
    assert_eq!(added, 50_000, "the table grew during the scan");
    assert!(
        db.table_segments() > segments_before * 8,
        "segments split many times ({segments_before} -> {})",
        db.table_segments()
    );
    for i in 0..initial {
        assert!(
            seen.contains(format!("init:{i}").as_bytes()),
            "init:{i} was never returned"
        );
    }
}

#[test]
fn keys_match_globs() {
    let mut db = slice();
    for k in ["hello", "hallo", "hxllo", "hllo", "heeeello", "other"] {
        put(&mut db, k.as_bytes(), b"v");
    }
    put_ttl(&mut db, b"hzllo", b"v", T0 - 1);
    let mut got = op_keys(&db, b"h?llo", T0);
    got.sort();
    assert_eq!(
        got,
        vec![b"hallo".to_vec(), b"hello".to_vec(), b"hxllo".to_vec()]
    );
    assert_eq!(op_keys(&db, b"h[ae]llo", T0).len(), 2);
    assert_eq!(op_keys(&db, b"h*llo", T0).len(), 5);
    assert_eq!(op_keys(&db, b"*", T0).len(), 6);
    assert_eq!(op_keys(&db, b"other", T0), vec![b"other".to_vec()]);
    assert_eq!(db.len(), 7, "KEYS skips expired keys without deleting them");
}

#[test]
fn randomkey_returns_live_keys() {
    let mut db = slice();
    assert_eq!(op_randomkey(&mut db, T0, 1), None);
    put(&mut db, b"a", b"1");
    put_ttl(&mut db, b"dead", b"1", T0 - 1);
    for seed in 0..50 {
        assert_eq!(op_randomkey(&mut db, T0, seed), Some(b"a".to_vec()));
    }
    assert_eq!(db.len(), 1, "the expired key met on the way was deleted");
}

#[test]
fn object_reports_encoding_refcount_and_idle_time() {
    let mut db = slice();
    put(&mut db, b"int", b"123");
    put(&mut db, b"big", b"10000");
    put(&mut db, b"emb", b"hello");
    put(&mut db, b"raw", &[b'x'; 45]);
    let obj = |db: &mut DbSlice, sub: &str, k: &str, now| {
        op_object(db, sub.as_bytes(), k.as_bytes(), now)
    };
    assert_eq!(
        obj(&mut db, "encoding", "int", T0),
        Some(ObjectInfo::Encoding("int"))
    );
    assert_eq!(
        obj(&mut db, "encoding", "emb", T0),
        Some(ObjectInfo::Encoding("embstr"))
    );
    assert_eq!(
        obj(&mut db, "encoding", "raw", T0),
        Some(ObjectInfo::Encoding("raw"))
    );
    assert_eq!(
        obj(&mut db, "refcount", "int", T0),
        Some(ObjectInfo::RefCount(2147483647))
    );
    assert_eq!(
        obj(&mut db, "refcount", "big", T0),
        Some(ObjectInfo::RefCount(1))
    );
    assert_eq!(
        obj(&mut db, "refcount", "emb", T0),
        Some(ObjectInfo::RefCount(1))
    );
    assert_eq!(
        obj(&mut db, "freq", "emb", T0),
        Some(ObjectInfo::FreqUntracked)
    );
    assert_eq!(obj(&mut db, "encoding", "nokey", T0), None);
    // Idle time grows until a touching access; OBJECT and TTL-like lookups do not touch.
    assert_eq!(
        obj(&mut db, "idletime", "emb", T0 + 12_000),
        Some(ObjectInfo::IdleSecs(12))
    );
    assert_eq!(
        op_deadline(&mut db, b"emb", T0 + 13_000),
        Deadline::Persistent
    );
    assert_eq!(op_exists(&mut db, keys(&["emb"]), T0 + 13_000), 1);
    assert_eq!(
        obj(&mut db, "idletime", "emb", T0 + 14_000),
        Some(ObjectInfo::IdleSecs(14))
    );
    assert_eq!(op_touch(&mut db, keys(&["emb"]), T0 + 20_000), 1);
    assert_eq!(
        obj(&mut db, "idletime", "emb", T0 + 25_000),
        Some(ObjectInfo::IdleSecs(5))
    );
    // A renamed key keeps its value, stamped by the rename's lookup.
    assert_eq!(
        op_rename(&mut db, b"emb", b"emb2", false, T0 + 30_000),
        Renamed::Done
    );
    assert_eq!(
        obj(&mut db, "idletime", "emb2", T0 + 31_000),
        Some(ObjectInfo::IdleSecs(1))
    );
}
