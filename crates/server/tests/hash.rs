//! Socket tests of the hash family: encodings and their conversions on every shard (CONFIG SET
//! of the thresholds taking effect), HRANDFIELD's random replies (counts, distinctness,
//! membership, RESP2 and RESP3 shapes), HSCAN of a large hash finishing and reporting every field
//! that stayed while others came and went, and keyspace statistics. (The hash differential
//! script runs in differential.rs with every other script.)

use darter_resp::Frame;
use darter_testkit::helpers::{bulk, info_field, int, spread_keys, NIL, OK};
use darter_testkit::{RawClient, TestServer};
use std::collections::{HashMap, HashSet};

const SHARDS: usize = 3;

fn text(f: &Frame) -> String {
    match f {
        Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
        other => panic!("not a bulk string: {other:?}"),
    }
}

fn array(f: Frame) -> Vec<Frame> {
    match f {
        Frame::Array(v) => v,
        other => panic!("not an array: {other:?}"),
    }
}

fn fill(c: &mut RawClient, key: &str, n: usize) -> HashMap<String, String> {
    let mut args = vec!["HSET".to_string(), key.to_string()];
    let mut want = HashMap::new();
    for i in 0..n {
        args.push(format!("f{i}"));
        args.push(format!("v{i}"));
        want.insert(format!("f{i}"), format!("v{i}"));
    }
    assert_eq!(c.cmd(&args), int(n as i64));
    want
}

#[test]
fn encodings_follow_the_configured_thresholds_on_every_shard() {
    let s = TestServer::start();
    let mut c = s.client();
    let keys = spread_keys("enc", SHARDS, SHARDS);
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "hash-max-listpack-entries"]),
        "*2\r\n$25\r\nhash-max-listpack-entries\r\n$3\r\n512\r\n"
    );
    // Redis's defaults: 512 fields, 64-byte fields and values.
    for k in &keys {
        fill(&mut c, k, 512);
        assert_eq!(c.cmd(&["OBJECT", "ENCODING", k]), bulk("listpack"));
        assert_eq!(c.cmd(&["HSET", k, "f0", &"x".repeat(64)]), int(0));
        assert_eq!(c.cmd(&["OBJECT", "ENCODING", k]), bulk("listpack"));
        assert_eq!(c.cmd(&["HSET", k, "one-more", "v"]), int(1));
        assert_eq!(c.cmd(&["OBJECT", "ENCODING", k]), bulk("hashtable"));
        // Never back, even when small again.
        c.cmd(&["DEL", k]);
    }

    assert_eq!(
        c.cmd(&["CONFIG", "SET", "hash-max-listpack-entries", "2"]),
        OK
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "hash-max-listpack-value", "4"]),
        OK
    );
    for k in &keys {
        assert_eq!(c.cmd(&["HSET", k, "a", "1", "b", "2"]), int(2));
        assert_eq!(c.cmd(&["OBJECT", "ENCODING", k]), bulk("listpack"));
        assert_eq!(c.cmd(&["HINCRBY", k, "c", "1"]), int(1));
        assert_eq!(c.cmd(&["OBJECT", "ENCODING", k]), bulk("hashtable"));
        assert_eq!(c.cmd(&["HDEL", k, "a", "b"]), int(2));
        assert_eq!(c.cmd(&["OBJECT", "ENCODING", k]), bulk("hashtable"));
        assert_eq!(c.cmd(&["HGETALL", k]), "*2\r\n$1\r\nc\r\n$1\r\n1\r\n");

        let long = format!("{k}-long");
        assert_eq!(c.cmd(&["HSETNX", &long, "f", "1234"]), int(1));
        assert_eq!(c.cmd(&["OBJECT", "ENCODING", &long]), bulk("listpack"));
        assert_eq!(c.cmd(&["HSETNX", &long, "g", "12345"]), int(1));
        assert_eq!(c.cmd(&["OBJECT", "ENCODING", &long]), bulk("hashtable"));
        assert_eq!(c.cmd(&["TYPE", &long]), "+hash\r\n");
    }
    // The aliases set the same parameters.
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "hash-max-ziplist-entries", "512"]),
        OK
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "hash-max-ziplist-value", "64"]),
        OK
    );
    for k in &keys {
        let k = format!("{k}-again");
        assert_eq!(
            c.cmd(&["HSET", &k, "a", "12345", "b", "2", "c", "3"]),
            int(3)
        );
        assert_eq!(c.cmd(&["OBJECT", "ENCODING", &k]), bulk("listpack"));
    }
}

#[test]
fn hrandfield_counts_distinct_fields_and_values() {
    let s = TestServer::start();
    let mut c = s.client();
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "hash-max-listpack-entries", "32"]),
        OK
    );
    for (key, n) in [("small", 10), ("large", 200)] {
        let want = fill(&mut c, key, n);
        let enc = if n > 32 { "hashtable" } else { "listpack" };
        assert_eq!(c.cmd(&["OBJECT", "ENCODING", key]), bulk(enc));

        let one = text(&c.cmd_frame(&["HRANDFIELD", key]));
        assert!(want.contains_key(&one));

        for count in [1, 3, n / 3, n / 2, n - 1, n, n + 7] {
            let fields = array(c.cmd_frame(&["HRANDFIELD", key, &count.to_string()]));
            assert_eq!(fields.len(), count.min(n), "{key} {count}");
            let set: HashSet<String> = fields.iter().map(text).collect();
            assert_eq!(set.len(), fields.len(), "distinct: {key} {count}");
            assert!(set.iter().all(|f| want.contains_key(f)));

            let flat = array(c.cmd_frame(&["HRANDFIELD", key, &count.to_string(), "WITHVALUES"]));
            assert_eq!(flat.len(), 2 * count.min(n));
            let pairs: HashMap<String, String> =
                flat.chunks(2).map(|p| (text(&p[0]), text(&p[1]))).collect();
            assert_eq!(pairs.len(), count.min(n), "distinct with values");
            assert!(pairs.iter().all(|(f, v)| want.get(f) == Some(v)));
        }

        // Negative counts: exactly |count| picks, repeats allowed.
        let picks = array(c.cmd_frame(&["HRANDFIELD", key, "-500"]));
        assert_eq!(picks.len(), 500);
        let set: HashSet<String> = picks.iter().map(text).collect();
        assert!(set.len() < 500 && set.iter().all(|f| want.contains_key(f)));
        assert!(set.len() > n / 2, "picks spread over the hash");
        let flat = array(c.cmd_frame(&["HRANDFIELD", key, "-50", "WITHVALUES"]));
        assert_eq!(flat.len(), 100);
        assert!(flat
            .chunks(2)
            .all(|p| want.get(&text(&p[0])) == Some(&text(&p[1]))));

        // RESP3: WITHVALUES gives [field, value] pairs; without, a flat array.
        c.cmd(&["HELLO", "3"]);
        for count in ["5", "-5", "1000"] {
            let pairs = array(c.cmd_frame(&["HRANDFIELD", key, count, "WITHVALUES"]));
            let expect = if count == "1000" { n } else { 5 };
            assert_eq!(pairs.len(), expect);
            for p in pairs {
                let p = array(p);
                assert_eq!(p.len(), 2);
                assert_eq!(want.get(&text(&p[0])), Some(&text(&p[1])));
            }
        }
        assert_eq!(array(c.cmd_frame(&["HRANDFIELD", key, "5"])).len(), 5);
        assert_eq!(c.cmd(&["HRANDFIELD", "nokey"]), "_\r\n");
        assert_eq!(
            c.cmd(&["HRANDFIELD", "nokey", "-3", "WITHVALUES"]),
            "*0\r\n"
        );
        c.cmd(&["HELLO", "2"]);
    }
    assert_eq!(c.cmd(&["HRANDFIELD", "nokey"]), NIL);
}

#[test]
fn hscan_reports_every_field_that_stays_while_the_hash_changes() {
    let s = TestServer::start();
    let mut c = s.client();
    let want = fill(&mut c, "big", 2000);
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "big"]), bulk("hashtable"));
    let mut seen = HashMap::new();
    let mut cursor = "0".to_string();
    let mut steps = 0;
    let mut extra = 0;
    loop {
        let reply = array(c.cmd_frame(&["HSCAN", "big", &cursor, "COUNT", "50"]));
        cursor = text(&reply[0]);
        let items = array(reply[1].clone());
        assert_eq!(items.len() % 2, 0);
        for p in items.chunks(2) {
            seen.insert(text(&p[0]), text(&p[1]));
        }
        steps += 1;
        // Grow the table (it doubles) and shrink it back between steps: fields present for the
        // whole scan must still all be reported.
        if steps % 5 == 0 {
            let mut args = vec!["HSET".to_string(), "big".into()];
            for i in 0..600 {
                args.push(format!("tmp{extra}-{i}"));
                args.push("t".into());
            }
            c.cmd(&args);
            let mut del = vec!["HDEL".to_string(), "big".into()];
            del.extend((0..600).map(|i| format!("tmp{extra}-{i}")));
            c.cmd(&del);
            extra += 1;
        }
        if cursor == "0" {
            break;
        }
        assert!(steps < 10_000, "the scan ends");
    }
    assert!(steps > 10, "COUNT bounds each step");
    for (f, v) in &want {
        assert_eq!(seen.get(f), Some(v), "{f} reported");
    }

    // MATCH filters fields (values are never matched).
    let reply = array(c.cmd_frame(&["HSCAN", "big", "0", "MATCH", "f1?", "COUNT", "100000"]));
    assert_eq!(text(&reply[0]), "0");
    let mut fields: Vec<String> = array(reply[1].clone())
        .chunks(2)
        .map(|p| text(&p[0]))
        .collect();
    fields.sort();
    let mut expect: Vec<String> = (10..20).map(|i| format!("f{i}")).collect();
    expect.sort();
    assert_eq!(fields, expect);
}

#[test]
fn reads_count_keyspace_hits_and_misses() {
    let s = TestServer::start();
    let mut c = s.client();
    c.cmd(&["HSET", "h", "a", "1"]);
    let hits = info_field(&mut c, "stats", "keyspace_hits");
    let misses = info_field(&mut c, "stats", "keyspace_misses");
    for cmd in [
        vec!["HGET", "h", "a"],
        vec!["HGET", "h", "nofield"],
        vec!["HMGET", "h", "a"],
        vec!["HGETALL", "h"],
        vec!["HLEN", "h"],
        vec!["HEXISTS", "h", "a"],
        vec!["HSTRLEN", "h", "a"],
        vec!["HRANDFIELD", "h"],
        vec!["HSCAN", "h", "0"],
    ] {
        c.cmd(&cmd);
    }
    c.cmd(&["HGET", "nokey", "a"]);
    c.cmd(&["HKEYS", "nokey"]);
    assert_eq!(info_field(&mut c, "stats", "keyspace_hits"), hits + 9);
    assert_eq!(info_field(&mut c, "stats", "keyspace_misses"), misses + 2);
}
