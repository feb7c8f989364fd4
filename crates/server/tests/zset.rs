//! Socket tests of the sorted-set family on a 3-shard server: OBJECT ENCODING under configured
//! thresholds, blocking pops (BZPOPMIN BZPOPMAX BZMPOP) woken across shards and by the STORE
//! forms only once complete, many BZMPOP clients taking every entry exactly once, and the
//! algebra (ZUNION ZUNIONSTORE ZINTERCARD) reading one consistent snapshot of sets on every shard
//! while SMOVE moves members between them.
//!
//! A test that needs a client to be blocked first waits for the server to report it (INFO
//! blocked_clients), never for a fixed time.

use darter_engine::keys::shard_of;
use darter_resp::Frame;
use darter_testkit::helpers::{await_blocked, bulk, int, read, send, spread_keys, Rng, OK};
use darter_testkit::{RawClient, TestServer};
use std::collections::BTreeSet;

const SHARDS: usize = 3;

fn encoding(c: &mut RawClient, key: &str) -> String {
    c.cmd(&["OBJECT", "ENCODING", key])
}

fn zadd(c: &mut RawClient, key: &str, pairs: &[(f64, String)]) {
    let scores: Vec<String> = pairs.iter().map(|(s, _)| s.to_string()).collect();
    let mut args: Vec<&str> = vec!["ZADD", key];
    for ((_, m), s) in pairs.iter().zip(&scores) {
        args.push(s);
        args.push(m);
    }
    assert!(c.cmd(&args).starts_with(':'));
}

#[test]
fn encodings_follow_the_configured_thresholds() {
    let s = TestServer::start();
    let mut c = s.client();
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "zset-max-listpack-entries", "4"]),
        OK
    );
    let ms: Vec<(f64, String)> = (0..4).map(|i| (i as f64, format!("m{i}"))).collect();
    zadd(&mut c, "z", &ms);
    assert_eq!(encoding(&mut c, "z"), bulk("listpack"));
    zadd(&mut c, "z", &[(9.0, "m9".into())]);
    assert_eq!(encoding(&mut c, "z"), bulk("skiplist"));
    // Never back by removals...
    assert_eq!(c.cmd(&["ZREM", "z", "m0", "m1", "m2"]), int(3));
    assert_eq!(encoding(&mut c, "z"), bulk("skiplist"));
    // ...but a STORE result is built in the encoding that fits.
    assert_eq!(c.cmd(&["ZUNIONSTORE", "u", "1", "z"]), int(2));
    assert_eq!(encoding(&mut c, "u"), bulk("listpack"));
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "zset-max-listpack-value", "3"]),
        OK
    );
    zadd(&mut c, "u", &[(1.0, "long-member".into())]);
    assert_eq!(encoding(&mut c, "u"), bulk("skiplist"));
    assert_eq!(c.cmd(&["TYPE", "u"]), "+zset\r\n");
}

#[test]
fn bzpopmin_wakes_on_a_zadd_to_any_of_three_shards() {
    let s = TestServer::start();
    let keys = spread_keys("bz", 3, SHARDS);
    let mut w = s.client();
    let mut admin = s.client();
    send(&mut w, &["BZPOPMIN", &keys[0], &keys[1], &keys[2], "0"]);
    await_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["ZADD", &keys[1], "2", "b", "1", "a"]), int(2));
    assert_eq!(
        read(&mut w),
        format!("*3\r\n{}{}{}", bulk(&keys[1]), bulk("a"), bulk("1"))
    );
    await_blocked(&mut admin, 0);
    assert_eq!(admin.cmd(&["ZCARD", &keys[1]]), int(1));
    // BZPOPMAX takes the highest; BZMPOP nests its pairs.
    send(&mut w, &["BZPOPMAX", &keys[2], "0"]);
    await_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["ZADD", &keys[2], "5", "x", "7", "y"]), int(2));
    assert_eq!(
        read(&mut w),
        format!("*3\r\n{}{}{}", bulk(&keys[2]), bulk("y"), bulk("7"))
    );
    send(
        &mut w,
        &["BZMPOP", "0", "2", &keys[0], "other", "MIN", "COUNT", "5"],
    );
    await_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["ZADD", &keys[0], "3", "p", "4", "q"]), int(2));
    assert_eq!(
        read(&mut w),
        format!(
            "*2\r\n{}*2\r\n*2\r\n{}{}*2\r\n{}{}",
            bulk(&keys[0]),
            bulk("p"),
            bulk("3"),
            bulk("q"),
            bulk("4")
        )
    );
    assert_eq!(admin.cmd(&["EXISTS", &keys[0]]), int(0));
    // A list push does not wake a sorted-set waiter; a timeout answers a null array.
    send(&mut w, &["BZPOPMIN", &keys[0], "0.2"]);
    await_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["RPUSH", "other", "v"]), int(1));
    assert_eq!(read(&mut w), "*-1\r\n");
}

#[test]
fn store_forms_wake_waiters_only_once_complete() {
    let s = TestServer::start();
    let keys = spread_keys("st", 3, SHARDS);
    let (a, b, dst) = (&keys[0], &keys[1], &keys[2]);
    let mut admin = s.client();
    let mut w = s.client();
    assert_eq!(admin.cmd(&["ZADD", a, "1", "x", "2", "y"]), int(2));
    assert_eq!(admin.cmd(&["ZADD", b, "10", "x", "20", "z"]), int(2));
    send(&mut w, &["BZPOPMIN", dst, "0"]);
    await_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["ZUNIONSTORE", dst, "2", a, b]), int(3));
    assert_eq!(
        read(&mut w),
        format!("*3\r\n{}{}{}", bulk(dst), bulk("y"), bulk("2"))
    );
    assert_eq!(
        admin.cmd(&["ZRANGE", dst, "0", "-1", "WITHSCORES"]),
        format!(
            "*4\r\n{}{}{}{}",
            bulk("x"),
            bulk("11"),
            bulk("z"),
            bulk("20")
        )
    );
    send(&mut w, &["BZPOPMAX", "fresh", "0"]);
    await_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["ZRANGESTORE", "fresh", b, "0", "-1"]), int(2));
    assert_eq!(
        read(&mut w),
        format!("*3\r\n{}{}{}", bulk("fresh"), bulk("z"), bulk("20"))
    );
}

#[test]
fn many_bzmpop_clients_take_every_entry_exactly_once() {
    let s = TestServer::start();
    let keys = spread_keys("work", 3, SHARDS);
    let n_clients = 6;
    let per_key = 50;
    let mut handles = Vec::new();
    for t in 0..n_clients {
        let addr = s.addr();
        let keys = keys.clone();
        handles.push(std::thread::spawn(move || {
            let mut c = RawClient::connect_tcp(addr);
            let mut got = Vec::new();
            loop {
                // Half the clients use BZMPOP, half BZPOPMIN.
                let f = if t % 2 == 0 {
                    c.cmd_frame(&["BZMPOP", "0.5", "3", &keys[0], &keys[1], &keys[2], "MIN"])
                } else {
                    c.cmd_frame(&["BZPOPMIN", &keys[0], &keys[1], &keys[2], "0.5"])
                };
                let member = match f {
                    Frame::Null | Frame::NullArray => return got,
                    Frame::Array(v) if v.len() == 3 => v[1].clone(),
                    Frame::Array(v) => match &v[1] {
                        Frame::Array(pairs) => match &pairs[0] {
                            Frame::Array(p) => p[0].clone(),
                            other => panic!("not a pair: {other:?}"),
                        },
                        other => panic!("not pairs: {other:?}"),
                    },
                    other => panic!("unexpected reply {other:?}"),
                };
                got.push(format!("{member:?}"));
            }
        }));
    }
    let mut admin = s.client();
    for i in 0..per_key {
        for k in &keys {
            assert!(admin
                .cmd(&["ZADD", k, &i.to_string(), &format!("{k}:{i}")])
                .starts_with(':'));
        }
    }
    let mut all: Vec<String> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    all.sort();
    let before = all.len();
    all.dedup();
    assert_eq!(before, all.len(), "an entry was served twice");
    let left: u64 = keys
        .iter()
        .map(|k| {
            admin
                .cmd(&["ZCARD", k])
                .trim_start_matches(':')
                .trim()
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    assert_eq!(
        all.len() as u64 + left,
        (per_key * keys.len()) as u64,
        "an entry was lost"
    );
}

fn frame_len(f: &Frame) -> usize {
    match f {
        Frame::Array(v) => v.len(),
        other => panic!("not an array: {other:?}"),
    }
}

/// Sets on every shard lose and gain members through cross-shard SMOVE; every ZUNION,
/// ZUNIONSTORE and ZINTERCARD over them must see each member in exactly one set.
#[test]
fn algebra_reads_one_consistent_snapshot_across_shards() {
    const TOTAL: usize = 60;
    const ROUNDS: usize = 300;
    let s = TestServer::start();
    let keys = spread_keys("bag", 4, SHARDS);
    let shards: BTreeSet<usize> = keys
        .iter()
        .map(|k| shard_of(k.as_bytes(), SHARDS))
        .collect();
    assert_eq!(shards.len(), SHARDS);
    let all: Vec<String> = (0..TOTAL).map(|i| format!("m{i}")).collect();
    let mut c = s.client();
    for (i, k) in keys.iter().enumerate() {
        let mut args: Vec<&str> = vec!["SADD", k];
        args.extend(all[i * 15..(i + 1) * 15].iter().map(String::as_str));
        c.cmd(&args);
    }
    let dests = spread_keys("snap", 2, SHARDS);
    std::thread::scope(|scope| {
        for t in 0..3u64 {
            let (keys, all, mut c) = (&keys, &all, s.client());
            scope.spawn(move || {
                let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (t + 1));
                for _ in 0..ROUNDS {
                    let src = rng.next(keys.len());
                    let dst = (src + 1 + rng.next(keys.len() - 1)) % keys.len();
                    let m = &all[rng.next(all.len())];
                    let r = c.cmd(&["SMOVE", &keys[src], &keys[dst], m]);
                    assert!(r == int(0) || r == int(1), "SMOVE replied {r:?}");
                }
            });
        }
        for dest in &dests {
            let (keys, mut c) = (&keys, s.client());
            scope.spawn(move || {
                let n = keys.len().to_string();
                let mut union: Vec<&str> = vec!["ZUNION", &n];
                union.extend(keys.iter().map(String::as_str));
                union.push("WITHSCORES");
                let mut store: Vec<&str> = vec!["ZUNIONSTORE", dest, &n];
                store.extend(keys.iter().map(String::as_str));
                for r in 0..ROUNDS {
                    let f = c.cmd_frame(&union);
                    assert_eq!(frame_len(&f), 2 * TOTAL, "every member once");
                    // A member seen in two sets would score 2.
                    let Frame::Array(v) = f else { unreachable!() };
                    assert!(v
                        .iter()
                        .skip(1)
                        .step_by(2)
                        .all(|s| *s == Frame::Bulk("1".into())));
                    assert_eq!(c.cmd(&store), int(TOTAL as i64));
                    let (i, j) = (r % keys.len(), (r + 1) % keys.len());
                    assert_eq!(
                        c.cmd(&["ZINTERCARD", "2", &keys[i], &keys[j]]),
                        int(0),
                        "a member in two sets at once"
                    );
                }
            });
        }
    });
}
