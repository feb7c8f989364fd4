//! Socket tests of the generic (keyspace) family on a 3-shard server: expiry on a manual clock
//! (lazy and active), multi-key counting across shards, cross-shard RENAME/COPY and their
//! atomicity under concurrent clients, MOVE/COPY between databases, KEYS/SCAN/RANDOMKEY across
//! shards (SCAN while the table grows), OBJECT and keyspace statistics.

use darter_engine::keys::shard_of;
use darter_testkit::helpers::{bulk, info_field, int, pipeline, spread_keys, NIL, OK};
use darter_testkit::{RawClient, TestServer};
use std::collections::{BTreeSet, HashSet};

const SHARDS: usize = 3;

fn shard(k: &str) -> usize {
    shard_of(k.as_bytes(), SHARDS)
}

/// Bulk strings of an array reply (flat), in order.
fn bulks(reply: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = reply.split("\r\n");
    while let Some(l) = lines.next() {
        if l.starts_with('$') && l != "$-1" {
            out.push(lines.next().expect("bulk body").to_string());
        }
    }
    out
}

#[test]
fn ttl_commands_follow_the_clock() {
    let s = TestServer::start_manual();
    let mut c = s.client();
    let now = s.now_ms();
    assert_eq!(c.cmd(&["SET", "k", "v"]), OK);
    assert_eq!(c.cmd(&["TTL", "k"]), int(-1));
    assert_eq!(c.cmd(&["PTTL", "k"]), int(-1));
    assert_eq!(c.cmd(&["EXPIRETIME", "k"]), int(-1));
    assert_eq!(c.cmd(&["TTL", "nokey"]), int(-2));
    assert_eq!(c.cmd(&["PEXPIRETIME", "nokey"]), int(-2));

    assert_eq!(c.cmd(&["EXPIRE", "k", "100"]), int(1));
    assert_eq!(c.cmd(&["PTTL", "k"]), int(100_000));
    s.advance_ms(1_499);
    assert_eq!(c.cmd(&["PTTL", "k"]), int(98_501));
    assert_eq!(c.cmd(&["TTL", "k"]), int(99), "98.501 s rounds to 99");
    s.advance_ms(2);
    assert_eq!(c.cmd(&["TTL", "k"]), int(98), "98.499 s rounds to 98");
    let at = now + 100_000;
    assert_eq!(c.cmd(&["PEXPIRETIME", "k"]), int(at as i64));
    assert_eq!(c.cmd(&["EXPIRETIME", "k"]), int(((at + 500) / 1000) as i64));

    // Conditions against the current deadline.
    assert_eq!(c.cmd(&["EXPIRE", "k", "50", "GT"]), int(0));
    assert_eq!(c.cmd(&["EXPIRE", "k", "50", "LT"]), int(1));
    assert_eq!(c.cmd(&["EXPIRE", "k", "500", "NX"]), int(0));
    assert_eq!(c.cmd(&["EXPIRE", "k", "500", "XX", "GT"]), int(1));
    assert_eq!(c.cmd(&["TTL", "k"]), int(500));
    assert_eq!(c.cmd(&["PERSIST", "k"]), int(1));
    assert_eq!(c.cmd(&["PERSIST", "k"]), int(0));
    assert_eq!(
        c.cmd(&["EXPIRE", "k", "500", "GT"]),
        int(0),
        "no deadline is infinite"
    );
    let t = s.now_ms() + 5_000;
    assert_eq!(c.cmd(&["PEXPIREAT", "k", &t.to_string()]), int(1));
    assert_eq!(c.cmd(&["PTTL", "k"]), int(5_000));
    assert_eq!(
        c.cmd(&["EXPIREAT", "k", &(t / 1000 + 10).to_string()]),
        int(1)
    );
    assert_eq!(c.cmd(&["PEXPIRE", "k", "2000"]), int(1));

    // Lazy expiry: the deadline passes, the next access finds nothing.
    s.advance_ms(2_000);
    // At the deadline itself the key still exists (Redis expires strictly after it).
    assert_eq!(c.cmd(&["GET", "k"]), bulk("v"));
    s.advance_ms(1);
    assert_eq!(c.cmd(&["GET", "k"]), NIL);
    assert_eq!(c.cmd(&["TTL", "k"]), int(-2));
    assert_eq!(c.cmd(&["EXISTS", "k"]), int(0));

    // A deadline in the past deletes at once and answers 1.
    assert_eq!(c.cmd(&["SET", "k", "v"]), OK);
    assert_eq!(c.cmd(&["EXPIRE", "k", "-1"]), int(1));
    assert_eq!(c.cmd(&["EXISTS", "k"]), int(0));
    assert_eq!(c.cmd(&["SET", "k", "v"]), OK);
    assert_eq!(c.cmd(&["PEXPIREAT", "k", &s.now_ms().to_string()]), int(1));
    assert_eq!(c.cmd(&["TYPE", "k"]), "+none\r\n");
    assert_eq!(c.cmd(&["EXPIRE", "nokey", "10"]), int(0));
}

#[test]
fn active_expiry_reclaims_keys_nobody_reads() {
    let s = TestServer::start_manual();
    let mut c = s.client();
    let keys = spread_keys("act", 30, SHARDS);
    for k in &keys {
        assert_eq!(c.cmd(&["SET", k, "v", "PX", "100"]), OK);
    }
    assert_eq!(c.cmd(&["SET", "keep", "v"]), OK);
    assert_eq!(c.cmd(&["DBSIZE"]), int(31));
    s.advance_ms(101);
    // The heartbeat (every 10 ms of real time) deletes them without any access; poll a bounded
    // number of round trips for it.
    let mut polls = 0;
    while c.cmd(&["DBSIZE"]) != int(1) {
        polls += 1;
        assert!(polls < 100_000, "active expiry never reclaimed the keys");
        std::thread::yield_now();
    }
    assert_eq!(c.cmd(&["KEYS", "*"]), format!("*1\r\n{}", bulk("keep")));
}

#[test]
fn multi_key_counts_across_shards() {
    let s = TestServer::start();
    let mut c = s.client();
    let k = spread_keys("mk", 6, SHARDS);
    let on: BTreeSet<usize> = k.iter().map(|k| shard(k)).collect();
    assert_eq!(on.len(), SHARDS);
    for key in &k {
        assert_eq!(c.cmd(&["SET", key, "v"]), OK);
    }
    let all: Vec<&str> = k.iter().map(String::as_str).collect();
    let cmd = |name: &str, extra: &[&str]| {
        let mut v = vec![name.to_string()];
        v.extend(all.iter().map(|s| s.to_string()));
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    assert_eq!(c.cmd(&cmd("EXISTS", &["nokey", &k[0], &k[1]])), int(8));
    assert_eq!(c.cmd(&cmd("TOUCH", &["nokey", &k[2]])), int(7));
    assert_eq!(c.cmd(&["DEL", &k[0], &k[1], &k[0], "nokey"]), int(2));
    assert_eq!(c.cmd(&cmd("EXISTS", &[])), int(4));
    assert_eq!(c.cmd(&cmd("UNLINK", &[&k[5]])), int(4));
    assert_eq!(c.cmd(&cmd("EXISTS", &[])), int(0));
    assert_eq!(c.cmd(&["DBSIZE"]), int(0));
}

#[test]
fn rename_and_copy_across_shards_keep_the_deadline() {
    let s = TestServer::start_manual();
    let mut c = s.client();
    let k = spread_keys("rn", 6, SHARDS);
    assert_ne!(shard(&k[0]), shard(&k[1]));
    assert_eq!(c.cmd(&["SET", &k[0], "hello", "EX", "100"]), OK);
    assert_eq!(c.cmd(&["RENAME", &k[0], &k[1]]), OK);
    assert_eq!(c.cmd(&["EXISTS", &k[0]]), int(0));
    assert_eq!(c.cmd(&["GET", &k[1]]), bulk("hello"));
    assert_eq!(c.cmd(&["PTTL", &k[1]]), int(100_000));
    assert_eq!(c.cmd(&["RENAME", &k[0], &k[1]]), "-ERR no such key\r\n");
    assert_eq!(c.cmd(&["RENAMENX", &k[0], &k[1]]), "-ERR no such key\r\n");
    assert_eq!(c.cmd(&["RENAME", &k[1], &k[1]]), OK);
    assert_eq!(c.cmd(&["RENAMENX", &k[1], &k[1]]), int(0));

    // RENAME over an existing key replaces it (and its lack of deadline).
    assert_eq!(c.cmd(&["SET", &k[2], "other"]), OK);
    assert_eq!(c.cmd(&["RENAMENX", &k[1], &k[2]]), int(0));
    assert_eq!(c.cmd(&["GET", &k[1]]), bulk("hello"));
    assert_eq!(c.cmd(&["RENAME", &k[1], &k[2]]), OK);
    assert_eq!(c.cmd(&["GET", &k[2]]), bulk("hello"));
    assert_eq!(c.cmd(&["TTL", &k[2]]), int(100));
    assert_eq!(c.cmd(&["RENAMENX", &k[2], &k[0]]), int(1));
    assert_eq!(c.cmd(&["DBSIZE"]), int(1));

    // COPY: the copy has the deadline; the source stays.
    assert_eq!(c.cmd(&["COPY", &k[0], &k[1]]), int(1));
    assert_eq!(c.cmd(&["GET", &k[1]]), bulk("hello"));
    assert_eq!(c.cmd(&["PTTL", &k[1]]), int(100_000));
    assert_eq!(c.cmd(&["COPY", &k[0], &k[1]]), int(0));
    assert_eq!(c.cmd(&["SET", &k[0], "new"]), OK);
    assert_eq!(c.cmd(&["COPY", &k[0], &k[1], "REPLACE"]), int(1));
    assert_eq!(c.cmd(&["GET", &k[1]]), bulk("new"));
    assert_eq!(c.cmd(&["TTL", &k[1]]), int(-1));
    assert_eq!(c.cmd(&["COPY", "nokey", &k[1], "REPLACE"]), int(0));
    assert_eq!(
        c.cmd(&["COPY", &k[0], &k[0]]),
        "-ERR source and destination objects are the same\r\n"
    );

    // The deadline still applies to the renamed key.
    assert_eq!(c.cmd(&["SET", &k[3], "x", "PX", "10"]), OK);
    assert_eq!(c.cmd(&["RENAME", &k[3], &k[4]]), OK);
    s.advance_ms(11);
    assert_eq!(c.cmd(&["GET", &k[4]]), NIL);
    assert_eq!(c.cmd(&["RENAME", &k[4], &k[5]]), "-ERR no such key\r\n");
}

#[test]
fn copy_and_move_between_databases() {
    let s = TestServer::start();
    let mut c = s.client();
    let k = spread_keys("db", 3, SHARDS);
    assert_eq!(c.cmd(&["SET", &k[0], "zero", "EX", "100"]), OK);
    // Same key name in another database (same shard), and another key on another shard.
    assert_eq!(c.cmd(&["COPY", &k[0], &k[0], "DB", "1"]), int(1));
    assert_eq!(c.cmd(&["COPY", &k[0], &k[1], "DB", "1"]), int(1));
    assert_eq!(c.cmd(&["COPY", &k[0], &k[1], "DB", "1"]), int(0));
    assert_eq!(c.cmd(&["MOVE", &k[0], "1"]), int(0), "exists in db 1");
    assert_eq!(c.cmd(&["MOVE", &k[0], "2"]), int(1));
    assert_eq!(c.cmd(&["MOVE", &k[0], "2"]), int(0), "gone from db 0");
    assert_eq!(
        c.cmd(&["MOVE", &k[0], "0"]),
        "-ERR source and destination objects are the same\r\n"
    );
    assert_eq!(
        c.cmd(&["MOVE", &k[0], "16"]),
        "-ERR DB index is out of range\r\n"
    );
    assert_eq!(c.cmd(&["DBSIZE"]), int(0));
    assert_eq!(c.cmd(&["SELECT", "1"]), OK);
    assert_eq!(
        c.cmd(&["MGET", &k[0], &k[1]]),
        format!("*2\r\n{}{}", bulk("zero"), bulk("zero"))
    );
    assert_eq!(c.cmd(&["TTL", &k[1]]), int(100));
    assert_eq!(c.cmd(&["SELECT", "2"]), OK);
    assert_eq!(c.cmd(&["GET", &k[0]]), bulk("zero"));
    assert_eq!(c.cmd(&["TTL", &k[0]]), int(100));
    // Copy back into db 0 from db 2, onto another shard.
    assert_eq!(c.cmd(&["COPY", &k[0], &k[2], "DB", "0", "REPLACE"]), int(1));
    assert_eq!(c.cmd(&["SELECT", "0"]), OK);
    assert_eq!(c.cmd(&["GET", &k[2]]), bulk("zero"));
}

/// Two clients rename one key back and forth between two names on different shards while two
/// others watch: at every observation exactly one of the names exists (EXISTS a b is one atomic
/// read of both shards). COPY ... REPLACE runs alongside on a third key.
#[test]
fn rename_across_shards_is_atomic_for_concurrent_readers() {
    const ROUNDS: usize = 300;
    let s = TestServer::start();
    let k = spread_keys("atom", 3, SHARDS);
    let (a, b) = (k[0].clone(), k[1].clone());
    assert_ne!(shard(&a), shard(&b));
    assert_eq!(s.client().cmd(&["SET", &a, "payload"]), OK);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            let (a, b, mut c) = (&a, &b, s.client());
            scope.spawn(move || {
                for _ in 0..ROUNDS {
                    for (from, to) in [(a, b), (b, a)] {
                        let r = c.cmd(&["RENAME", from, to]);
                        assert!(r == OK || r == "-ERR no such key\r\n", "{r:?}");
                    }
                }
            });
        }
        {
            let (a, b, k2, mut c) = (&a, &b, &k[2], s.client());
            scope.spawn(move || {
                for _ in 0..ROUNDS {
                    for from in [a, b] {
                        let r = c.cmd(&["COPY", from, k2, "REPLACE"]);
                        assert!(r == int(1) || r == int(0), "{r:?}");
                    }
                }
            });
        }
        for _ in 0..2 {
            let (a, b, mut c) = (&a, &b, s.client());
            scope.spawn(move || {
                for _ in 0..ROUNDS * 2 {
                    assert_eq!(c.cmd(&["EXISTS", a, b]), int(1), "exactly one name exists");
                }
            });
        }
    });
    let mut c = s.client();
    assert_eq!(c.cmd(&["EXISTS", &a, &b]), int(1));
    assert_eq!(c.cmd(&["GET", &k[2]]), bulk("payload"));
    // Every transaction concluded: no intent lock or queued transaction is left on any shard.
    let idle = s.server().engine.clone();
    let left = futures_lite_block_on_all(&idle);
    assert_eq!(left, vec![(0, 0); SHARDS]);
}

/// (locked fingerprints, queued transactions) on every shard, read through a hop to each.
fn futures_lite_block_on_all(
    engine: &std::sync::Arc<darter_engine::Engine>,
) -> Vec<(usize, usize)> {
    let (tx, rx) = std::sync::mpsc::channel();
    for sid in 0..engine.num_shards() {
        let tx = tx.clone();
        engine.send(
            sid,
            Box::new(move || {
                let r = darter_engine::with_local_shard(|s| (s.locked_count(), s.queue_len()));
                tx.send((sid, r)).expect("send");
            }),
        );
    }
    let mut out = vec![(0, 0); engine.num_shards()];
    for _ in 0..engine.num_shards() {
        let (sid, r) = rx.recv().expect("shard answered");
        out[sid] = r;
    }
    out
}

#[test]
fn keys_and_randomkey_cover_every_shard() {
    let s = TestServer::start();
    let mut c = s.client();
    assert_eq!(c.cmd(&["RANDOMKEY"]), NIL);
    assert_eq!(c.cmd(&["KEYS", "*"]), "*0\r\n");
    let k = spread_keys("rk", 3, SHARDS);
    for key in &k {
        assert_eq!(c.cmd(&["SET", key, "v"]), OK);
    }
    assert_eq!(c.cmd(&["SET", "other", "v"]), OK);
    let mut got = bulks(&c.cmd(&["KEYS", "rk*"]));
    got.sort();
    let mut want = k.clone();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(bulks(&c.cmd(&["KEYS", "*"])).len(), 4);
    assert_eq!(bulks(&c.cmd(&["KEYS", "oth?r"])), vec!["other".to_string()]);
    let mut seen = HashSet::new();
    for _ in 0..300 {
        let r = bulks(&c.cmd(&["RANDOMKEY"]));
        seen.insert(r[0].clone());
    }
    assert_eq!(seen.len(), 4, "every key on every shard comes up: {seen:?}");
}

/// Runs a whole SCAN with `opts`, returning every key and the number of calls.
fn scan_all(c: &mut RawClient, opts: &[&str]) -> (Vec<String>, usize) {
    let mut cursor = "0".to_string();
    let mut keys = Vec::new();
    let mut calls = 0;
    loop {
        let mut cmd = vec!["SCAN", &cursor];
        cmd.extend_from_slice(opts);
        let items = bulks(&c.cmd(&cmd));
        calls += 1;
        cursor = items[0].clone();
        keys.extend(items.into_iter().skip(1));
        if cursor == "0" {
            return (keys, calls);
        }
    }
}

#[test]
fn scan_walks_every_shard_with_filters() {
    let s = TestServer::start();
    let mut c = s.client();
    assert_eq!(c.cmd(&["SCAN", "0"]), "*2\r\n$1\r\n0\r\n*0\r\n");
    let cmds: Vec<Vec<String>> = (0..500)
        .map(|i| vec!["SET".into(), format!("sc:{i}"), "v".into()])
        .chain((0..50).map(|i| vec!["SET".into(), format!("other:{i}"), "v".into()]))
        .collect();
    assert!(pipeline(&mut c, &cmds).iter().all(|r| r == OK));
    let (keys, calls) = scan_all(&mut c, &[]);
    let set: HashSet<&String> = keys.iter().collect();
    assert_eq!(set.len(), 550);
    assert_eq!(keys.len(), 550, "no duplicates without concurrent growth");
    // COUNT (default 10) is a hint: the table returns whole buckets, so a call may return a few
    // more keys than asked, never the whole keyspace at once.
    assert!(calls >= 40, "COUNT 10 by default ({calls} calls)");
    let (keys, calls) = scan_all(&mut c, &["MATCH", "other:*", "COUNT", "100"]);
    assert_eq!(keys.len(), 50);
    assert!(keys.iter().all(|k| k.starts_with("other:")));
    assert!(calls <= 7, "{calls} calls");
    let (keys, _) = scan_all(&mut c, &["COUNT", "1000", "TYPE", "string"]);
    assert_eq!(keys.len(), 550);
    let (keys, _) = scan_all(&mut c, &["TYPE", "hash"]);
    assert!(keys.is_empty());
    // A cursor past the last shard ends the scan.
    assert_eq!(
        c.cmd(&["SCAN", "18446744073709551615"]),
        "*2\r\n$1\r\n0\r\n*0\r\n"
    );
    assert_eq!(c.cmd(&["SCAN", "x"]), "-ERR invalid cursor\r\n");
}

/// Every key present for the whole scan is returned at least once, even though another client
/// adds tens of thousands of keys (many segment splits on every shard) between SCAN calls.
#[test]
fn scan_misses_nothing_while_the_table_grows() {
    const INITIAL: usize = 3_000;
    const ADDED: usize = 30_000;
    let s = TestServer::start();
    let mut c = s.client();
    let mut writer = s.client();
    let init: Vec<Vec<String>> = (0..INITIAL)
        .map(|i| vec!["SET".into(), format!("init:{i}"), "v".into()])
        .collect();
    assert!(pipeline(&mut c, &init).iter().all(|r| r == OK));
    let mut cursor = "0".to_string();
    let mut seen = HashSet::new();
    let mut added = 0;
    loop {
        let items = bulks(&c.cmd(&["SCAN", &cursor, "COUNT", "20"]));
        cursor = items[0].clone();
        seen.extend(items.into_iter().skip(1));
        if cursor == "0" {
            break;
        }
        let batch: Vec<Vec<String>> = (added..(added + 200).min(ADDED))
            .map(|i| vec!["SET".into(), format!("new:{i}"), "v".into()])
            .collect();
        added += batch.len();
        assert!(pipeline(&mut writer, &batch).iter().all(|r| r == OK));
    }
    assert_eq!(added, ADDED, "the table grew during the scan");
    let missed: Vec<usize> = (0..INITIAL)
        .filter(|i| !seen.contains(&format!("init:{i}")))
        .collect();
    assert!(missed.is_empty(), "never returned: {missed:?}");
}

#[test]
fn object_reports_encoding_refcount_and_idle_time() {
    let s = TestServer::start_manual();
    let mut c = s.client();
    assert_eq!(c.cmd(&["SET", "int", "42"]), OK);
    assert_eq!(c.cmd(&["SET", "big", "123456"]), OK);
    assert_eq!(c.cmd(&["SET", "emb", "hello"]), OK);
    assert_eq!(c.cmd(&["SET", "raw", &"x".repeat(45)]), OK);
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "int"]), bulk("int"));
    assert_eq!(c.cmd(&["OBJECT", "encoding", "emb"]), bulk("embstr"));
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "raw"]), bulk("raw"));
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "nokey"]), NIL);
    assert_eq!(c.cmd(&["OBJECT", "REFCOUNT", "int"]), int(2147483647));
    assert_eq!(c.cmd(&["OBJECT", "REFCOUNT", "big"]), int(1));
    assert_eq!(c.cmd(&["OBJECT", "REFCOUNT", "nokey"]), NIL);
    assert!(c
        .cmd(&["OBJECT", "FREQ", "emb"])
        .starts_with("-ERR An LFU maxmemory policy is not selected"));
    assert_eq!(c.cmd(&["OBJECT", "FREQ", "nokey"]), NIL);
    assert!(c
        .cmd(&["OBJECT", "HELP"])
        .starts_with("*15\r\n+OBJECT <subcommand>"));
    assert_eq!(
        c.cmd(&["OBJECT", "FOO", "emb"]),
        "-ERR unknown subcommand 'FOO'. Try OBJECT HELP.\r\n"
    );

    // Idle time: reads and writes touch; TYPE, TTL, EXISTS and OBJECT do not.
    assert_eq!(c.cmd(&["OBJECT", "IDLETIME", "emb"]), int(0));
    s.advance_ms(10_000);
    assert_eq!(c.cmd(&["OBJECT", "IDLETIME", "emb"]), int(10));
    for cmd in [
        &["TYPE", "emb"][..],
        &["TTL", "emb"],
        &["EXISTS", "emb"],
        &["OBJECT", "ENCODING", "emb"],
    ] {
        c.cmd(cmd);
    }
    assert_eq!(c.cmd(&["OBJECT", "IDLETIME", "emb"]), int(10));
    assert_eq!(c.cmd(&["GET", "emb"]), bulk("hello"));
    assert_eq!(c.cmd(&["OBJECT", "IDLETIME", "emb"]), int(0));
    s.advance_ms(3_000);
    assert_eq!(c.cmd(&["TOUCH", "emb", "int"]), int(2));
    assert_eq!(c.cmd(&["OBJECT", "IDLETIME", "emb"]), int(0));
    assert_eq!(c.cmd(&["OBJECT", "IDLETIME", "big"]), int(13));
    assert_eq!(c.cmd(&["EXPIRE", "big", "100"]), int(1));
    assert_eq!(c.cmd(&["OBJECT", "IDLETIME", "big"]), int(0));

    // RESP3 nulls.
    c.cmd(&["HELLO", "3"]);
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "nokey"]), "_\r\n");
    assert_eq!(c.cmd(&["RANDOMKEY"]).chars().next(), Some('$'));
}

#[test]
fn lookups_count_keyspace_hits_and_misses() {
    let s = TestServer::start();
    let mut c = s.client();
    let k = spread_keys("st", 3, SHARDS);
    for key in &k {
        assert_eq!(c.cmd(&["SET", key, "v"]), OK);
    }
    let (h0, m0) = (
        info_field(&mut c, "stats", "keyspace_hits"),
        info_field(&mut c, "stats", "keyspace_misses"),
    );
    c.cmd(&["EXISTS", &k[0], &k[1], &k[2], "nokey"]); // 3 hits, 1 miss
    c.cmd(&["TOUCH", &k[0], "nokey"]); // 1 hit, 1 miss
    c.cmd(&["TYPE", &k[1]]); // hit
    c.cmd(&["TTL", "nokey"]); // miss
    c.cmd(&["PEXPIRETIME", &k[2]]); // hit
    c.cmd(&["OBJECT", "ENCODING", &k[0]]); // hit
    c.cmd(&["COPY", &k[0], &k[1]]); // hit (source)
    c.cmd(&["COPY", "nokey", "nokey2"]); // miss
    c.cmd(&[
        "SCAN", "0", "MATCH", &k[1], "TYPE", "string", "COUNT", "100",
    ]); // 1 hit
        // Writes and iteration do not count.
    c.cmd(&["EXPIRE", &k[0], "100"]);
    c.cmd(&["PERSIST", &k[0]]);
    c.cmd(&["RENAME", &k[2], "renamed"]);
    c.cmd(&["DEL", &k[1], "nokey"]);
    c.cmd(&["KEYS", "*"]);
    c.cmd(&["SCAN", "0"]);
    c.cmd(&["RANDOMKEY"]);
    let (h1, m1) = (
        info_field(&mut c, "stats", "keyspace_hits"),
        info_field(&mut c, "stats", "keyspace_misses"),
    );
    assert_eq!((h1 - h0, m1 - m0), (9, 4));
}
