//! Socket tests of the list family: OBJECT ENCODING transitions (listpack <-> quicklist at
//! `list-max-listpack-size`, changed with CONFIG SET on every shard), and cross-shard LMOVE /
//! RPOPLPUSH / LMPOP atomicity under concurrent clients. (The list differential script runs in
//! differential.rs with every other script; Redis 7.0 reports older encoding names for lists,
//! so encodings are checked here.)

use darter_engine::keys::shard_of;
use darter_testkit::helpers::{bulk, int, spread_keys, NIL, OK};
use darter_testkit::{RawClient, TestServer};
use std::collections::BTreeSet;

const SHARDS: usize = 3;

fn encoding(c: &mut RawClient, key: &str) -> String {
    c.cmd(&["OBJECT", "ENCODING", key])
}

fn listpack() -> String {
    bulk("listpack")
}

fn quicklist() -> String {
    bulk("quicklist")
}

/// Every key of `keys` is on a different shard, covering them all.
fn on_every_shard(keys: &[String]) {
    let shards: BTreeSet<usize> = keys
        .iter()
        .map(|k| shard_of(k.as_bytes(), SHARDS))
        .collect();
    assert_eq!(shards.len(), SHARDS);
}

#[test]
fn default_limit_is_eight_kilobytes() {
    let s = TestServer::start();
    let mut c = s.client();
    let v = "x".repeat(100);
    // A 100-byte element takes 103 bytes in a listpack: 79 of them fit in 8 KiB, 80 do not.
    for i in 0..79 {
        assert_eq!(c.cmd(&["RPUSH", "big", &v]), int(i + 1));
    }
    assert_eq!(encoding(&mut c, "big"), listpack());
    assert_eq!(c.cmd(&["RPUSH", "big", &v]), int(80));
    assert_eq!(encoding(&mut c, "big"), quicklist());
    // Back to a listpack once a single node holds at most half the limit.
    assert_eq!(c.cmd(&["RPOP", "big"]), bulk(&v));
    assert_eq!(encoding(&mut c, "big"), quicklist());
    // 40 elements take 4127 bytes, 39 take 4024: half of 8 KiB lies between.
    assert_eq!(c.cmd(&["LTRIM", "big", "0", "39"]), OK);
    assert_eq!(encoding(&mut c, "big"), quicklist());
    assert_eq!(c.cmd(&["LTRIM", "big", "0", "38"]), OK);
    assert_eq!(encoding(&mut c, "big"), listpack());
    assert_eq!(c.cmd(&["LLEN", "big"]), int(39));
}

#[test]
fn config_set_changes_the_limit_on_every_shard() {
    let s = TestServer::start();
    let mut c = s.client();
    let keys = spread_keys("enc", SHARDS, SHARDS);
    on_every_shard(&keys);
    assert_eq!(c.cmd(&["CONFIG", "SET", "list-max-listpack-size", "4"]), OK);
    for k in &keys {
        assert_eq!(c.cmd(&["RPUSH", k, "1", "2", "3", "4"]), int(4));
        assert_eq!(encoding(&mut c, k), listpack(), "{k}");
        assert_eq!(c.cmd(&["RPUSH", k, "5"]), int(5));
        assert_eq!(encoding(&mut c, k), quicklist(), "{k}");
        // Shrinking converts back only at half the limit (2 entries).
        assert_eq!(c.cmd(&["RPOP", k, "2"]), "*2\r\n$1\r\n5\r\n$1\r\n4\r\n");
        assert_eq!(encoding(&mut c, k), quicklist(), "{k}");
        assert_eq!(c.cmd(&["LPOP", k]), bulk("1"));
        assert_eq!(encoding(&mut c, k), listpack(), "{k}");
    }
    // The old name sets the same parameter; a fresh list of 2 follows the new limit of 1.
    assert_eq!(c.cmd(&["CONFIG", "SET", "list-max-ziplist-size", "1"]), OK);
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "list-max-listpack-size"]),
        "*2\r\n$22\r\nlist-max-listpack-size\r\n$1\r\n1\r\n"
    );
    for k in &keys {
        assert_eq!(c.cmd(&["RPUSH", k, "x"]), int(3));
        assert_eq!(encoding(&mut c, k), quicklist(), "{k}");
    }
    // A byte limit again: small lists are listpacks.
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "list-max-listpack-size", "-2"]),
        OK
    );
    for k in &keys {
        assert_eq!(c.cmd(&["DEL", k]), int(1));
        assert_eq!(c.cmd(&["RPUSH", k, "1", "2", "3", "4", "5", "6"]), int(6));
        assert_eq!(encoding(&mut c, k), listpack(), "{k}");
    }
}

#[test]
fn commands_convert_where_redis_does() {
    let s = TestServer::start();
    let mut c = s.client();
    assert_eq!(c.cmd(&["CONFIG", "SET", "list-max-listpack-size", "2"]), OK);
    // LSET and LINSERT convert before knowing whether the index or pivot exists.
    assert_eq!(c.cmd(&["RPUSH", "a", "x", "y"]), int(2));
    assert_eq!(encoding(&mut c, "a"), listpack());
    assert_eq!(
        c.cmd(&["LSET", "a", "5", "z"]),
        "-ERR index out of range\r\n"
    );
    assert_eq!(encoding(&mut c, "a"), quicklist());
    assert_eq!(c.cmd(&["RPUSH", "b", "x", "y"]), int(2));
    assert_eq!(c.cmd(&["LINSERT", "b", "BEFORE", "nope", "z"]), int(-1));
    assert_eq!(encoding(&mut c, "b"), quicklist());
    // LREM and LTRIM shrink back.
    assert_eq!(c.cmd(&["LREM", "b", "0", "y"]), int(1));
    assert_eq!(encoding(&mut c, "b"), listpack());
    assert_eq!(c.cmd(&["LTRIM", "a", "0", "0"]), OK);
    assert_eq!(encoding(&mut c, "a"), listpack());
    // LMOVE across shards: the destination grows on its shard, the source shrinks on its own.
    let k = spread_keys("mv", 2, SHARDS);
    assert_eq!(c.cmd(&["RPUSH", &k[0], "1", "2", "3"]), int(3));
    assert_eq!(c.cmd(&["RPUSH", &k[1], "a", "b"]), int(2));
    assert_eq!(encoding(&mut c, &k[0]), quicklist());
    assert_eq!(encoding(&mut c, &k[1]), listpack());
    assert_eq!(c.cmd(&["LMOVE", &k[0], &k[1], "LEFT", "RIGHT"]), bulk("1"));
    assert_eq!(encoding(&mut c, &k[0]), quicklist());
    assert_eq!(encoding(&mut c, &k[1]), quicklist());
    assert_eq!(c.cmd(&["RPOPLPUSH", &k[0], &k[1]]), bulk("3"));
    assert_eq!(encoding(&mut c, &k[0]), listpack());
    assert_eq!(
        c.cmd(&["LRANGE", &k[1], "0", "-1"]),
        "*4\r\n$1\r\n3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\n1\r\n"
    );
}

#[test]
fn list_commands_across_shards_reply_like_one_shard() {
    let s = TestServer::start();
    let mut c = s.client();
    let k = spread_keys("x", 3, SHARDS);
    on_every_shard(&k);
    assert_eq!(c.cmd(&["SET", &k[2], "str"]), OK);
    assert_eq!(c.cmd(&["LMOVE", &k[0], &k[1], "LEFT", "LEFT"]), NIL);
    assert_eq!(c.cmd(&["EXISTS", &k[1]]), int(0));
    assert_eq!(c.cmd(&["RPUSH", &k[0], "a"]), int(1));
    // The destination's type is checked before the source is popped.
    assert_eq!(
        c.cmd(&["LMOVE", &k[0], &k[2], "LEFT", "LEFT"]),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    assert_eq!(c.cmd(&["LLEN", &k[0]]), int(1));
    assert_eq!(c.cmd(&["RPOPLPUSH", &k[0], &k[1]]), bulk("a"));
    assert_eq!(c.cmd(&["EXISTS", &k[0]]), int(0));
    // LMPOP: a wrong type before the first non-empty list is an error, after it is not looked at.
    assert_eq!(
        c.cmd(&["LMPOP", "3", &k[0], &k[2], &k[1], "LEFT"]),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    let popped = format!("*2\r\n{}*1\r\n{}", bulk(&k[1]), bulk("a"));
    assert_eq!(c.cmd(&["LMPOP", "3", &k[0], &k[1], &k[2], "LEFT"]), popped);
    assert_eq!(
        c.cmd(&["LMPOP", "2", &k[0], &k[1], "RIGHT", "COUNT", "3"]),
        "*-1\r\n"
    );
    assert!(c.cmd(&["HELLO", "3"]).starts_with('%'));
    assert_eq!(c.cmd(&["LMPOP", "2", &k[0], &k[1], "RIGHT"]), "_\r\n");
}

/// Runs `movers` clients moving whatever they find around `ring` (consecutive keys on different
/// shards) for `rounds` rounds, in every direction and with RPOPLPUSH, next to `extra`.
fn with_movers(
    s: &TestServer,
    ring: &[String],
    movers: usize,
    rounds: usize,
    extra: impl FnOnce(),
) {
    std::thread::scope(|scope| {
        for m in 0..movers {
            let mut c = s.client();
            scope.spawn(move || {
                let ends = ["LEFT", "RIGHT"];
                for r in 0..rounds {
                    for i in 0..ring.len() {
                        let (src, dst) = (&ring[i], &ring[(i + 1) % ring.len()]);
                        let reply = if (r + m) % 3 == 0 {
                            c.cmd(&["RPOPLPUSH", src, dst])
                        } else {
                            let (a, b) = (ends[(r + i) % 2], ends[(r / 2 + m) % 2]);
                            c.cmd(&["LMOVE", src, dst, a, b])
                        };
                        assert!(reply.starts_with('$'), "{reply:?}");
                    }
                }
            });
        }
        extra();
    });
}

/// One element travels around a ring of lists on different shards while readers ask, with one
/// atomic multi-key EXISTS, how many of the lists exist: always exactly one, never zero (popped,
/// not yet pushed) or two (pushed, not yet popped).
#[test]
fn cross_shard_lmove_is_atomic_for_exists() {
    const READS: usize = 2000;
    let s = TestServer::start();
    let ring = spread_keys("ring", 6, SHARDS);
    for i in 0..ring.len() {
        assert_ne!(
            shard_of(ring[i].as_bytes(), SHARDS),
            shard_of(ring[(i + 1) % ring.len()].as_bytes(), SHARDS)
        );
    }
    assert_eq!(s.client().cmd(&["RPUSH", &ring[0], "token"]), int(1));
    let mut exists: Vec<&str> = vec!["EXISTS"];
    exists.extend(ring.iter().map(String::as_str));
    with_movers(&s, &ring, 3, 300, || {
        let mut c = s.client();
        for _ in 0..READS {
            assert_eq!(c.cmd(&exists), int(1), "a move was seen half done");
        }
    });
    assert_eq!(s.client().cmd(&exists), int(1));
}

/// The same ring, with one client taking the element with LMPOP over every list and pushing it
/// back: since only that client ever removes it, its LMPOP must always find it. A non-atomic
/// scan could miss it moving from a list not yet scanned to one already scanned.
#[test]
fn cross_shard_lmpop_never_misses_a_moving_element() {
    const POPS: usize = 1000;
    let s = TestServer::start();
    let ring = spread_keys("mring", 6, SHARDS);
    assert_eq!(s.client().cmd(&["RPUSH", &ring[3], "token"]), int(1));
    let mut lmpop: Vec<String> = vec!["LMPOP".into(), ring.len().to_string()];
    lmpop.extend(ring.iter().cloned());
    lmpop.push("LEFT".into());
    with_movers(&s, &ring, 3, 300, || {
        let mut c = s.client();
        for p in 0..POPS {
            let reply = c.cmd(&lmpop);
            let lines: Vec<&str> = reply.split("\r\n").collect();
            assert_eq!(lines[0], "*2", "LMPOP missed the element: {reply:?}");
            assert_eq!(&lines[4..6], ["$5", "token"], "{reply:?}");
            assert!(ring.iter().any(|k| k == lines[2]), "{reply:?}");
            let back = &ring[p % ring.len()];
            assert_eq!(c.cmd(&["LPUSH", back, "token"]), int(1));
        }
    });
}

/// Many elements moved concurrently by LMOVE, RPOPLPUSH and LMPOP (pushed back at once) around
/// lists on every shard: at the end every element is in exactly one place.
#[test]
fn concurrent_moves_conserve_every_element() {
    const ELEMENTS: usize = 60;
    let s = TestServer::start();
    let ring = spread_keys("cons", 6, SHARDS);
    on_every_shard(&ring);
    let mut c = s.client();
    let all: BTreeSet<String> = (0..ELEMENTS).map(|i| format!("e{i}")).collect();
    for (i, e) in all.iter().enumerate() {
        c.cmd(&["RPUSH", &ring[i % ring.len()], e]);
    }
    with_movers(&s, &ring, 3, 200, || {
        let mut c = s.client();
        let mut cmd: Vec<String> = vec!["LMPOP".into(), ring.len().to_string()];
        cmd.extend(ring.iter().rev().cloned());
        cmd.extend(["RIGHT".into(), "COUNT".into(), "3".into()]);
        for p in 0..300 {
            let reply = c.cmd(&cmd);
            let lines: Vec<&str> = reply.split("\r\n").collect();
            assert_eq!(lines[0], "*2", "{reply:?}");
            let elements: Vec<&str> = lines[4..]
                .iter()
                .copied()
                .filter(|l| l.starts_with('e'))
                .collect();
            assert!(!elements.is_empty(), "{reply:?}");
            let mut push = vec!["LPUSH", &ring[p % ring.len()]];
            push.extend(elements);
            assert!(c.cmd(&push).starts_with(':'));
        }
    });
    let mut seen = Vec::new();
    for k in &ring {
        let reply = c.cmd(&["LRANGE", k, "0", "-1"]);
        seen.extend(
            reply
                .split("\r\n")
                .filter(|l| l.starts_with('e'))
                .map(str::to_string),
        );
    }
    assert_eq!(seen.len(), ELEMENTS, "elements lost or duplicated");
    assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), all);
}
