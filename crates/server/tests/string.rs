//! Socket tests of the string family: TTL options on a manual clock, encodings, keyspace
//! statistics, cross-shard MGET/MSET/MSETNX/LCS, RESP3 replies and MSET atomicity under concurrent
//! readers. (The string differential script runs in differential.rs with every other script.)

use darter_engine::keys::shard_of;
use darter_testkit::helpers::{bulk, info_field, spread_keys, NIL, OK};
use darter_testkit::TestServer;
use std::collections::BTreeSet;

const SHARDS: usize = 3;

#[test]
fn expire_options_follow_the_clock() {
    let s = TestServer::start_manual();
    let mut c = s.client();
    let now = s.now_ms();

    assert_eq!(c.cmd(&["SET", "ex", "v", "EX", "10"]), OK);
    assert_eq!(c.cmd(&["SET", "px", "v", "PX", "1500"]), OK);
    let exat = ((now / 1000) + 20).to_string();
    assert_eq!(c.cmd(&["SET", "exat", "v", "EXAT", &exat]), OK);
    let pxat = (now + 2500).to_string();
    assert_eq!(c.cmd(&["SET", "pxat", "v", "PXAT", &pxat]), OK);
    assert_eq!(c.cmd(&["SETEX", "setex", "3", "v"]), OK);
    assert_eq!(c.cmd(&["PSETEX", "psetex", "3500", "v"]), OK);

    // Redis expires a key strictly after its deadline: at the deadline it is still there.
    s.advance_ms(1500);
    assert_eq!(c.cmd(&["GET", "px"]), bulk("v"));
    s.advance_ms(1);
    assert_eq!(c.cmd(&["GET", "px"]), NIL);
    s.advance_ms(1000);
    assert_eq!(c.cmd(&["GET", "pxat"]), NIL);
    assert_eq!(c.cmd(&["GET", "setex"]), bulk("v"));
    s.advance_ms(500);
    assert_eq!(c.cmd(&["GET", "setex"]), NIL);
    assert_eq!(c.cmd(&["GET", "psetex"]), bulk("v"));
    s.advance_ms(500);
    assert_eq!(c.cmd(&["GET", "psetex"]), NIL);
    assert_eq!(c.cmd(&["GET", "ex"]), bulk("v"));
    s.advance_ms(6499);
    assert_eq!(c.cmd(&["GET", "ex"]), bulk("v"));
    s.advance_ms(1);
    assert_eq!(c.cmd(&["GET", "ex"]), NIL);
    assert_eq!(c.cmd(&["GET", "exat"]), bulk("v"));
    s.advance_ms(10_000);
    assert_eq!(c.cmd(&["GET", "exat"]), NIL);

    // An absolute deadline already past stores a key that is gone at once.
    assert_eq!(c.cmd(&["SET", "past", "v", "PXAT", "1"]), OK);
    assert_eq!(c.cmd(&["GET", "past"]), NIL);
}

#[test]
fn commands_that_keep_or_clear_the_ttl() {
    let s = TestServer::start_manual();
    let mut c = s.client();
    for k in [
        "keep", "set", "getset", "incr", "append", "setrange", "float", "mset",
    ] {
        let v = if k == "incr" || k == "float" {
            "1"
        } else {
            "v"
        };
        assert_eq!(c.cmd(&["SET", k, v, "PX", "1000"]), OK);
    }
    assert_eq!(c.cmd(&["SET", "keep", "w", "KEEPTTL"]), OK);
    assert_eq!(c.cmd(&["SET", "set", "w"]), OK);
    assert_eq!(c.cmd(&["GETSET", "getset", "w"]), bulk("v"));
    assert_eq!(c.cmd(&["INCR", "incr"]), ":2\r\n");
    assert_eq!(c.cmd(&["APPEND", "append", "w"]), ":2\r\n");
    assert_eq!(c.cmd(&["SETRANGE", "setrange", "0", "w"]), ":1\r\n");
    assert_eq!(c.cmd(&["INCRBYFLOAT", "float", "0.5"]), bulk("1.5"));
    assert_eq!(c.cmd(&["MSET", "mset", "w"]), OK);
    s.advance_ms(1001);
    for k in ["keep", "incr", "append", "setrange", "float"] {
        assert_eq!(c.cmd(&["GET", k]), NIL, "{k} kept its TTL");
    }
    for k in ["set", "getset", "mset"] {
        assert_eq!(c.cmd(&["GET", k]), bulk("w"), "{k} cleared its TTL");
    }
}

#[test]
fn getex_changes_the_ttl() {
    let s = TestServer::start_manual();
    let mut c = s.client();
    assert_eq!(c.cmd(&["SET", "k", "v", "PX", "100"]), OK);
    assert_eq!(c.cmd(&["GETEX", "k", "PERSIST"]), bulk("v"));
    s.advance_ms(200);
    assert_eq!(c.cmd(&["GETEX", "k", "PX", "300"]), bulk("v"));
    s.advance_ms(299);
    assert_eq!(c.cmd(&["GETEX", "k", "EX", "1"]), bulk("v"));
    s.advance_ms(1000);
    assert_eq!(c.cmd(&["GETEX", "k"]), bulk("v"));
    s.advance_ms(1);
    assert_eq!(c.cmd(&["GETEX", "k"]), NIL);

    assert_eq!(c.cmd(&["SET", "k", "v"]), OK);
    let pxat = (s.now_ms() + 50).to_string();
    assert_eq!(c.cmd(&["GETEX", "k", "PXAT", &pxat]), bulk("v"));
    s.advance_ms(51);
    assert_eq!(c.cmd(&["GET", "k"]), NIL);
    // A past absolute deadline answers the value and deletes the key.
    assert_eq!(c.cmd(&["SET", "k", "v"]), OK);
    assert_eq!(c.cmd(&["GETEX", "k", "EXAT", "1"]), bulk("v"));
    assert_eq!(c.cmd(&["GET", "k"]), NIL);
}

/// OBJECT ENCODING is another family's; this checks encodings only once it is registered.
#[test]
fn encodings_match_redis() {
    let s = TestServer::start();
    let mut c = s.client();
    c.cmd(&["SET", "probe", "1"]);
    if c.cmd(&["OBJECT", "ENCODING", "probe"])
        .starts_with("-ERR unknown command")
    {
        eprintln!("OBJECT is not registered yet: encodings not checked over the socket");
        return;
    }
    let x44 = "x".repeat(44);
    let x45 = "x".repeat(45);
    let steps: &[(&[&str], &str)] = &[
        (&["SET", "k", "123"], "int"),
        (&["SET", "k", &x44], "embstr"),
        (&["SET", "k", &x45], "raw"),
        (&["SET", "k", "0123"], "embstr"),
        (&["APPEND", "k2", "12"], "int"),
        (&["APPEND", "k2", "3"], "raw"),
        (&["INCR", "k2"], "int"),
        (&["SETRANGE", "k3", "0", "ab"], "raw"),
        (&["INCRBYFLOAT", "k4", "3.0e3"], "embstr"),
        (&["INCRBYFLOAT", "k5", "5.0e50"], "raw"),
        (&["MSET", "k6", "7", "k7", "x"], "int"),
        (&["GETSET", "k7", "9"], "int"),
    ];
    for (cmd, want) in steps {
        c.cmd(cmd);
        let key = if cmd[0] == "GETSET" { "k7" } else { cmd[1] };
        assert_eq!(
            c.cmd(&["OBJECT", "ENCODING", key]),
            bulk(want),
            "after {cmd:?}"
        );
    }
}

#[test]
fn read_lookups_count_keyspace_hits_and_misses() {
    let s = TestServer::start();
    let mut c = s.client();
    let keys = spread_keys("hm", 3, SHARDS);
    for k in &keys {
        assert_eq!(c.cmd(&["SET", k, "5"]), OK);
    }
    let (h0, m0) = (
        info_field(&mut c, "stats", "keyspace_hits"),
        info_field(&mut c, "stats", "keyspace_misses"),
    );
    c.cmd(&["GET", &keys[0]]); // hit
    c.cmd(&["GET", "hm-missing"]); // miss
    c.cmd(&["MGET", &keys[0], &keys[1], &keys[2], "hm-missing"]); // 3 hits, 1 miss
    c.cmd(&["STRLEN", &keys[1]]); // hit
    c.cmd(&["GETRANGE", "hm-missing", "0", "1"]); // miss
    c.cmd(&["LCS", &keys[0], "hm-missing"]); // hit + miss
    c.cmd(&["SET", &keys[2], "6", "GET"]); // hit
                                           // Writes do not count.
    c.cmd(&["INCR", &keys[0]]);
    c.cmd(&["APPEND", "hm-new", "x"]);
    c.cmd(&["SET", "hm-new2", "x"]);
    c.cmd(&["MSETNX", &keys[0], "1", "hm-new3", "2"]);
    let (h1, m1) = (
        info_field(&mut c, "stats", "keyspace_hits"),
        info_field(&mut c, "stats", "keyspace_misses"),
    );
    assert_eq!((h1 - h0, m1 - m0), (7, 4));
}

#[test]
fn multi_key_commands_across_shards() {
    let s = TestServer::start();
    let mut c = s.client();
    let k = spread_keys("mk", 6, SHARDS);
    let shards: BTreeSet<usize> = k.iter().map(|k| shard_of(k.as_bytes(), SHARDS)).collect();
    assert_eq!(shards.len(), SHARDS);

    let mset: Vec<&str> = vec![
        "MSET", &k[0], "a", &k[1], "b", &k[2], "c", &k[3], "d", &k[0], "e",
    ];
    assert_eq!(c.cmd(&mset), OK);
    assert_eq!(
        c.cmd(&["MGET", &k[0], &k[1], "mk-none", &k[2], &k[3], &k[4]]),
        format!(
            "*6\r\n{}{}{NIL}{}{}{NIL}",
            bulk("e"),
            bulk("b"),
            bulk("c"),
            bulk("d")
        )
    );
    assert_eq!(
        c.cmd(&["MSET", &k[0], "a", &k[1]]),
        "-ERR wrong number of arguments for 'mset' command\r\n"
    );
    // MSETNX: one existing key anywhere blocks every write.
    assert_eq!(
        c.cmd(&["MSETNX", &k[4], "x", &k[5], "y", &k[3], "z"]),
        ":0\r\n"
    );
    assert_eq!(
        c.cmd(&["MGET", &k[4], &k[5], &k[3]]),
        format!("*3\r\n{NIL}{NIL}{}", bulk("d"))
    );
    assert_eq!(c.cmd(&["MSETNX", &k[4], "x", &k[5], "y"]), ":1\r\n");
    assert_eq!(
        c.cmd(&["MGET", &k[4], &k[5]]),
        format!("*2\r\n{}{}", bulk("x"), bulk("y"))
    );
    // LCS with its keys on two shards is compared on the coordinator.
    let (a, b) = (&k[0], &k[1]);
    assert_ne!(
        shard_of(a.as_bytes(), SHARDS),
        shard_of(b.as_bytes(), SHARDS)
    );
    assert_eq!(c.cmd(&["MSET", a, "ohmytext", b, "mynewtext"]), OK);
    assert_eq!(c.cmd(&["LCS", a, b]), bulk("mytext"));
    assert_eq!(
        c.cmd(&["LCS", a, b, "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"]),
        "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n"
    );
    // RESP3: nils and maps.
    c.cmd(&["HELLO", "3"]);
    assert_eq!(
        c.cmd(&["MGET", a, "mk-none"]),
        "*2\r\n$8\r\nohmytext\r\n_\r\n"
    );
    assert_eq!(c.cmd(&["GET", "mk-none"]), "_\r\n");
    assert!(c
        .cmd(&["LCS", a, b, "IDX"])
        .starts_with("%2\r\n$7\r\nmatches\r\n"));
}

#[test]
fn pipelined_commands_keep_their_order() {
    let s = TestServer::start();
    let mut c = s.client();
    let k = spread_keys("pl", 4, SHARDS);
    let mut req = Vec::new();
    for (i, key) in k.iter().enumerate() {
        req.extend(darter_testkit::client::encode_request(&[
            "SET",
            key,
            &i.to_string(),
        ]));
        req.extend(darter_testkit::client::encode_request(&["INCR", key]));
        req.extend(darter_testkit::client::encode_request(&[
            "APPEND", key, "x",
        ]));
        req.extend(darter_testkit::client::encode_request(&["GET", key]));
    }
    c.send_raw(&req);
    for (i, _) in k.iter().enumerate() {
        assert_eq!(String::from_utf8(c.read_reply_raw()).expect("utf8"), OK);
        assert_eq!(
            String::from_utf8(c.read_reply_raw()).expect("utf8"),
            format!(":{}\r\n", i + 1)
        );
        assert_eq!(
            String::from_utf8(c.read_reply_raw()).expect("utf8"),
            ":2\r\n"
        );
        assert_eq!(
            String::from_utf8(c.read_reply_raw()).expect("utf8"),
            bulk(&format!("{}x", i + 1))
        );
    }
}

/// Writers MSET the same six keys (on all three shards) with their own values while readers MGET
/// them: every MGET must see one writer's values for all six keys.
#[test]
fn mset_is_atomic_for_concurrent_mget() {
    const WRITERS: usize = 3;
    const READERS: usize = 3;
    const ROUNDS: usize = 300;
    let s = TestServer::start();
    let keys = spread_keys("atom", 6, SHARDS);
    let shards: BTreeSet<usize> = keys
        .iter()
        .map(|k| shard_of(k.as_bytes(), SHARDS))
        .collect();
    assert_eq!(shards.len(), SHARDS);
    let mut init: Vec<String> = vec!["MSET".into()];
    for k in &keys {
        init.push(k.clone());
        init.push("init".into());
    }
    assert_eq!(s.client().cmd(&init), OK);

    std::thread::scope(|scope| {
        for w in 0..WRITERS {
            let (keys, mut c) = (&keys, s.client());
            scope.spawn(move || {
                for r in 0..ROUNDS {
                    let v = format!("w{w}-{r}");
                    let mut cmd: Vec<&str> = vec!["MSET"];
                    for k in keys {
                        cmd.push(k);
                        cmd.push(&v);
                    }
                    assert_eq!(c.cmd(&cmd), OK);
                }
            });
        }
        for _ in 0..READERS {
            let (keys, mut c) = (&keys, s.client());
            scope.spawn(move || {
                let mut cmd: Vec<&str> = vec!["MGET"];
                cmd.extend(keys.iter().map(String::as_str));
                for _ in 0..ROUNDS {
                    let reply = c.cmd(&cmd);
                    let values: BTreeSet<&str> = reply
                        .split("\r\n")
                        .skip(1)
                        .filter(|l| !l.starts_with('$') && !l.is_empty())
                        .collect();
                    assert_eq!(values.len(), 1, "MGET saw a partial MSET: {reply:?}");
                }
            });
        }
    });
}
