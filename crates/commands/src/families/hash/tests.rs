//! Unit tests of the hash family's `op_*` functions and parsers, on a bare `DbSlice` (no
//! server, no shards). Replies over sockets live in crates/server/tests/hash.rs and, against
//! real Redis, in tests/diff/hash.redis.

use super::*;
use darter_collections::StrValue;
use std::collections::{HashMap, HashSet};

const NOW: u64 = 1_700_000_000_000;

fn db() -> DbSlice {
    let mut d = DbSlice::new();
    d.observe(NOW);
    d
}

fn b(words: &[&str]) -> Vec<Bytes> {
    words
        .iter()
        .map(|w| Bytes::copy_from_slice(w.as_bytes()))
        .collect()
}

fn get(d: &mut DbSlice, key: &str, field: &str) -> Option<Vec<u8>> {
    op_hash(d, key.as_bytes(), NOW)
        .expect("a hash")
        .and_then(|h| h.get(field.as_bytes()).map(|e| e.to_vec()))
}

fn encoding(d: &mut DbSlice, key: &str) -> &'static str {
    op_hash(d, key.as_bytes(), NOW)
        .expect("a hash")
        .expect("present")
        .encoding()
}

fn put_string(d: &mut DbSlice, key: &str) {
    d.set(
        key.as_bytes(),
        Record::new(Value::Str(StrValue::from_bytes(b"x"))),
    );
}

#[test]
fn hset_counts_new_fields_and_converts_at_the_limits() {
    let mut d = db();
    let l = Limits {
        hash_max_listpack_entries: 3,
        hash_max_listpack_value: 8,
        ..Limits::default()
    };
    assert_eq!(
        op_hset(&mut d, &l, b"h", &b(&["a", "1", "b", "2", "a", "3"]), NOW),
        Ok(2)
    );
    assert_eq!(get(&mut d, "h", "a").as_deref(), Some(&b"3"[..]));
    assert_eq!(encoding(&mut d, "h"), "listpack");
    assert_eq!(op_hset(&mut d, &l, b"h", &b(&["c", "3"]), NOW), Ok(1));
    assert_eq!(encoding(&mut d, "h"), "listpack");
    assert_eq!(op_hset(&mut d, &l, b"h", &b(&["d", "4"]), NOW), Ok(1));
    assert_eq!(encoding(&mut d, "h"), "hashtable");
    // A long value converts a small hash at once, whether or not its field is new.
    op_hset(&mut d, &l, b"g", &b(&["a", "1"]), NOW).unwrap();
    op_hset(&mut d, &l, b"g", &b(&["a", "123456789"]), NOW).unwrap();
    assert_eq!(encoding(&mut d, "g"), "hashtable");
    // HSETNX converts only when it writes.
    assert_eq!(op_hsetnx(&mut d, &l, b"n", b"f", b"1", NOW), Ok(true));
    assert_eq!(
        op_hsetnx(&mut d, &l, b"n", b"f", b"123456789", NOW),
        Ok(false)
    );
    assert_eq!(encoding(&mut d, "n"), "listpack");
    assert_eq!(
        op_hsetnx(&mut d, &l, b"n", b"g", b"123456789", NOW),
        Ok(true)
    );
    assert_eq!(encoding(&mut d, "n"), "hashtable");
}

#[test]
fn wrong_type_is_refused_and_nothing_is_created() {
    let mut d = db();
    let l = Limits::default();
    put_string(&mut d, "s");
    assert_eq!(
        op_hset(&mut d, &l, b"s", &b(&["a", "1"]), NOW),
        Err(OpError::WrongType)
    );
    assert_eq!(
        op_hsetnx(&mut d, &l, b"s", b"a", b"1", NOW),
        Err(OpError::WrongType)
    );
    assert_eq!(
        op_hdel(&mut d, b"s", &b(&["a"]), NOW),
        Err(OpError::WrongType)
    );
    assert_eq!(
        op_hincrby(&mut d, &l, b"s", b"a", 1, NOW),
        Err(OpError::WrongType)
    );
    assert_eq!(
        op_hrandfield(&mut d, b"s", 1, |_| 0, NOW),
        Err(OpError::WrongType)
    );
    assert!(op_hash(&mut d, b"s", NOW).is_err());
    assert_eq!(op_hdel(&mut d, b"missing", &b(&["a"]), NOW), Ok(0));
    assert_eq!(d.len(), 1);
}

#[test]
fn hdel_deletes_the_key_when_it_empties() {
    let mut d = db();
    let l = Limits::default();
    op_hset(&mut d, &l, b"h", &b(&["a", "1", "b", "2"]), NOW).unwrap();
    assert_eq!(op_hdel(&mut d, b"h", &b(&["a", "a", "zz"]), NOW), Ok(1));
    assert_eq!(d.len(), 1);
    assert_eq!(op_hdel(&mut d, b"h", &b(&["b"]), NOW), Ok(1));
    assert_eq!(d.len(), 0);
    // Same in the dense encoding.
    let dense = Limits {
        hash_max_listpack_entries: 0,
        ..Limits::default()
    };
    op_hset(&mut d, &dense, b"h", &b(&["a", "1"]), NOW).unwrap();
    assert_eq!(encoding(&mut d, "h"), "hashtable");
    assert_eq!(op_hdel(&mut d, b"h", &b(&["a"]), NOW), Ok(1));
    assert_eq!(d.len(), 0);
}

#[test]
fn hincrby_and_hincrbyfloat_like_redis() {
    let mut d = db();
    let l = Limits::default();
    assert_eq!(op_hincrby(&mut d, &l, b"h", b"n", 5, NOW), Ok(5));
    assert_eq!(op_hincrby(&mut d, &l, b"h", b"n", -7, NOW), Ok(-2));
    assert_eq!(
        op_hincrby(&mut d, &l, b"h", b"n", i64::MIN, NOW),
        Err(OpError::Incr(HashIncrError::Overflow))
    );
    op_hset(
        &mut d,
        &l,
        b"h",
        &b(&["s", "x1", "f", "1.5", "big", "1.1e4932"]),
        NOW,
    )
    .unwrap();
    assert_eq!(
        op_hincrby(&mut d, &l, b"h", b"s", 1, NOW).map_err(OpError::message),
        Err(errors::HASH_NOT_INTEGER)
    );
    assert_eq!(
        op_hincrby(&mut d, &l, b"h", b"f", 1, NOW).map_err(OpError::message),
        Err(errors::HASH_NOT_INTEGER)
    );
    let ld = |s: &str| match parse_float_incr(s.as_bytes()) {
        FloatArg::Ok(v) => v,
        other => panic!("{s}: {other:?}"),
    };
    assert_eq!(
        op_hincrbyfloat(&mut d, &l, b"h", b"f", ld("0.1"), NOW),
        Ok(b"1.6".to_vec())
    );
    assert_eq!(
        op_hincrbyfloat(&mut d, &l, b"h", b"n", ld("2.5"), NOW),
        Ok(b"0.5".to_vec())
    );
    assert_eq!(
        op_hincrbyfloat(&mut d, &l, b"h", b"new", ld("5.0e3"), NOW),
        Ok(b"5000".to_vec())
    );
    assert_eq!(
        op_hincrbyfloat(&mut d, &l, b"h", b"s", ld("1"), NOW).map_err(OpError::message),
        Err(errors::HASH_NOT_FLOAT)
    );
    assert_eq!(
        op_hincrbyfloat(&mut d, &l, b"h", b"big", ld("1.1e4932"), NOW).map_err(OpError::message),
        Err(errors::INCR_NAN_INF)
    );
    assert_eq!(parse_float_incr(b"abc"), FloatArg::NotFloat);
    assert_eq!(parse_float_incr(b"nan"), FloatArg::NotFloat);
    assert_eq!(parse_float_incr(b"-inf"), FloatArg::NanOrInf);
    // A new key is created by a successful increment only.
    assert_eq!(
        op_hincrbyfloat(&mut d, &l, b"k", b"f", ld("1"), NOW),
        Ok(b"1".to_vec())
    );
    assert_eq!(get(&mut d, "k", "f").as_deref(), Some(&b"1"[..]));
}

#[test]
fn hrandfield_arguments_in_redis_order() {
    let p = |w: &[&str]| parse_hrandfield(&b(w));
    assert_eq!(p(&["hrandfield", "h"]), Ok(RandArgs::One));
    assert_eq!(
        p(&["hrandfield", "h", "-5"]),
        Ok(RandArgs::Count {
            count: -5,
            with_values: false
        })
    );
    assert_eq!(
        p(&["hrandfield", "h", "3", "WithValues"]),
        Ok(RandArgs::Count {
            count: 3,
            with_values: true
        })
    );
    assert_eq!(p(&["hrandfield", "h", "x"]), Err(errors::NOT_INTEGER));
    assert_eq!(
        p(&["hrandfield", "h", "x", "foo"]),
        Err(errors::NOT_INTEGER)
    );
    assert_eq!(
        p(&["hrandfield", "h", "-9223372036854775808"]),
        Err(errors::COUNT_OUT_OF_LONG_RANGE)
    );
    assert_eq!(p(&["hrandfield", "h", "1", "foo"]), Err(errors::SYNTAX));
    assert_eq!(
        p(&["hrandfield", "h", "1", "withvalues", "x"]),
        Err(errors::SYNTAX)
    );
    assert_eq!(
        p(&["hrandfield", "h", "4611686018427387904", "withvalues"]),
        Err(errors::VALUE_OUT_OF_RANGE)
    );
    assert_eq!(
        p(&["hrandfield", "h", "-4611686018427387903", "withvalues"]),
        Ok(RandArgs::Count {
            count: -4611686018427387903,
            with_values: true
        })
    );
}

#[test]
fn hrandfield_counts_distinctness_and_membership() {
    for entries in [128, 0] {
        let mut d = db();
        let l = Limits {
            hash_max_listpack_entries: entries,
            ..Limits::default()
        };
        let mut fv = Vec::new();
        for i in 0..50 {
            fv.push(format!("f{i}"));
            fv.push(format!("v{i}"));
        }
        let fv: Vec<&str> = fv.iter().map(String::as_str).collect();
        op_hset(&mut d, &l, b"h", &b(&fv), NOW).unwrap();
        let want: HashMap<Vec<u8>, Vec<u8>> = fv
            .chunks(2)
            .map(|p| (p[0].as_bytes().to_vec(), p[1].as_bytes().to_vec()))
            .collect();
        let mut rnd = local_rng(42);
        for count in [0i64, 1, 5, 16, 17, 40, 49, 50, 51, 1000] {
            let got = op_hrandfield(&mut d, b"h", count, &mut rnd, NOW)
                .unwrap()
                .unwrap();
            assert_eq!(got.len(), (count as usize).min(50), "count {count}");
            let fields: HashSet<&Vec<u8>> = got.iter().map(|(f, _)| f).collect();
            assert_eq!(fields.len(), got.len(), "distinct for count {count}");
            assert!(got.iter().all(|(f, v)| want.get(f) == Some(v)));
        }
        let got = op_hrandfield(&mut d, b"h", -200, &mut rnd, NOW)
            .unwrap()
            .unwrap();
        assert_eq!(got.len(), 200);
        assert!(got.iter().all(|(f, v)| want.get(f) == Some(v)));
        // With 200 draws of 50 fields, repeats are all but certain, and many fields come up.
        let fields: HashSet<&Vec<u8>> = got.iter().map(|(f, _)| f).collect();
        assert!(fields.len() < 200 && fields.len() > 25);
        assert_eq!(op_hrandfield(&mut d, b"none", 3, &mut rnd, NOW), Ok(None));
    }
}

#[test]
fn hscan_options_and_steps() {
    let o = |w: &[&str]| parse_hscan_opts(&b(w));
    assert_eq!(
        o(&[]),
        Ok(HscanOpts {
            count: 10,
            pattern: None
        })
    );
    assert_eq!(
        o(&["MATCH", "*", "count", "3"]),
        Ok(HscanOpts {
            count: 3,
            pattern: None
        })
    );
    assert_eq!(o(&["count", "0"]), Err(errors::SYNTAX));
    assert_eq!(o(&["count", "-1"]), Err(errors::SYNTAX));
    assert_eq!(o(&["count", "x"]), Err(errors::NOT_INTEGER));
    assert_eq!(o(&["count"]), Err(errors::SYNTAX));
    assert_eq!(o(&["type", "string"]), Err(errors::SYNTAX));
    assert_eq!(o(&["novalues"]), Err(errors::SYNTAX));

    let mut d = db();
    for (key, entries) in [("small", 128), ("big", 0)] {
        let l = Limits {
            hash_max_listpack_entries: entries,
            ..Limits::default()
        };
        for i in 0..100 {
            op_hset(
                &mut d,
                &l,
                key.as_bytes(),
                &b(&[&format!("f{i}"), &format!("{i}")]),
                NOW,
            )
            .unwrap();
        }
        let h = op_hash(&mut d, key.as_bytes(), NOW)
            .unwrap()
            .unwrap()
            .clone();
        assert_eq!(
            h.encoding(),
            if entries == 0 {
                "hashtable"
            } else {
                "listpack"
            }
        );
        let opts = HscanOpts {
            count: 10,
            pattern: Some(Bytes::from_static(b"f1*")),
        };
        let mut seen = HashMap::new();
        let mut cursor = 0;
        let mut steps = 0;
        loop {
            let (next, pairs) = op_hscan(&h, cursor, &opts);
            seen.extend(pairs);
            steps += 1;
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        let want: HashMap<Vec<u8>, Vec<u8>> = (0..100)
            .filter(|i| i.to_string().starts_with('1'))
            .map(|i| (format!("f{i}").into_bytes(), i.to_string().into_bytes()))
            .collect();
        assert_eq!(seen, want, "{key}");
        if h.encoding() == "listpack" {
            assert_eq!(steps, 1, "a listpack is returned whole");
        } else {
            assert!(steps > 1, "a dense map is walked in steps");
        }
    }
}
