//! Socket tests of MULTI/EXEC/WATCH on a 3-shard server: transactions across shards are atomic
//! (transfers between keys on three shards never show a wrong total to readers, inside or outside
//! EXEC), WATCH-based optimistic increments from several clients end with the exact count, WATCH
//! and expiry (manual clock), CLIENT LIST's `x` flag and `multi=` field, and the shards' WATCH
//! registries emptied by EXEC and by a client disconnecting.

use darter_testkit::client::encode_request;
use darter_testkit::helpers::{bulk, int, spread_keys};
use darter_testkit::{RawClient, TestServer};
use std::time::Duration;

const SHARDS: usize = 3;

/// Parses a RESP2 reply of integers or integer bulk strings (MGET, EXEC of GETs) and sums it.
fn sum_of(reply: &str) -> i64 {
    let mut lines = reply.split("\r\n");
    let head = lines.next().expect("header");
    assert!(head.starts_with('*'), "not an array: {reply:?}");
    let mut total = 0;
    while let Some(l) = lines.next() {
        if l.starts_with('$') {
            let v = lines.next().expect("bulk body");
            total += v.parse::<i64>().expect("integer value");
        } else if let Some(v) = l.strip_prefix(':') {
            total += v.parse::<i64>().expect("integer");
        } else if l.starts_with('*') || l.is_empty() {
            continue;
        } else {
            panic!("unexpected element {l:?} in {reply:?}");
        }
    }
    total
}

/// Watched (database, key) pairs registered over every shard, asked on each shard's own thread.
fn watch_registrations(s: &TestServer) -> usize {
    let engine = s.server().engine.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    for sid in 0..engine.num_shards() {
        let tx = tx.clone();
        engine.send(
            sid,
            Box::new(move || {
                let _ = tx.send(darter_engine::with_local_shard(|s| s.cas.len()));
            }),
        );
    }
    drop(tx);
    rx.iter().sum()
}

#[test]
fn transfers_across_three_shards_never_show_a_wrong_total() {
    let s = TestServer::start();
    let keys = spread_keys("acct", 3, SHARDS);
    let mut admin = s.client();
    for k in &keys {
        assert_eq!(admin.cmd(&["SET", k, "1000"]), "+OK\r\n");
    }
    let mut threads = Vec::new();
    for w in 0..4usize {
        let mut c = s.client();
        let keys = keys.clone();
        threads.push(std::thread::spawn(move || {
            for i in 0..150usize {
                let from = &keys[(w + i) % 3];
                let to = &keys[(w + i + 1) % 3];
                let n = ((i % 7) + 1).to_string();
                assert_eq!(c.cmd(&["MULTI"]), "+OK\r\n");
                assert_eq!(c.cmd(&["DECRBY", from, &n]), "+QUEUED\r\n");
                assert_eq!(c.cmd(&["INCRBY", to, &n]), "+QUEUED\r\n");
                let r = c.cmd(&["EXEC"]);
                assert!(r.starts_with("*2\r\n:"), "{r:?}");
            }
        }));
    }
    for r in 0..2usize {
        let mut c = s.client();
        let keys = keys.clone();
        threads.push(std::thread::spawn(move || {
            for _ in 0..150 {
                let total = if r == 0 {
                    sum_of(&c.cmd(&["MGET", &keys[0], &keys[1], &keys[2]]))
                } else {
                    assert_eq!(c.cmd(&["MULTI"]), "+OK\r\n");
                    for k in &keys {
                        assert_eq!(c.cmd(&["GET", k]), "+QUEUED\r\n");
                    }
                    sum_of(&c.cmd(&["EXEC"]))
                };
                assert_eq!(total, 3000);
            }
        }));
    }
    for t in threads {
        t.join().expect("client thread");
    }
    assert_eq!(
        sum_of(&admin.cmd(&["MGET", &keys[0], &keys[1], &keys[2]])),
        3000
    );
}

#[test]
fn watch_based_increments_from_several_clients_count_exactly() {
    let s = TestServer::start();
    let counter = "counter";
    let others = spread_keys("w", 3, SHARDS);
    let mut admin = s.client();
    admin.cmd(&["SET", counter, "0"]);
    let per_client = 40;
    let mut threads = Vec::new();
    for _ in 0..4 {
        let mut c = s.client();
        let others = others.clone();
        threads.push(std::thread::spawn(move || {
            let mut done = 0;
            while done < per_client {
                // Watch keys on every shard; only the counter changes.
                let mut args = vec!["WATCH", counter];
                args.extend(others.iter().map(String::as_str));
                assert_eq!(c.cmd(&args), "+OK\r\n");
                let frame = c.cmd(&["GET", counter]);
                let v: i64 = frame
                    .split("\r\n")
                    .nth(1)
                    .expect("value")
                    .parse()
                    .expect("int");
                assert_eq!(c.cmd(&["MULTI"]), "+OK\r\n");
                let next = (v + 1).to_string();
                assert_eq!(c.cmd(&["SET", counter, &next]), "+QUEUED\r\n");
                match c.cmd(&["EXEC"]).as_str() {
                    "*1\r\n+OK\r\n" => done += 1,
                    "*-1\r\n" => {}
                    other => panic!("unexpected EXEC reply {other:?}"),
                }
            }
        }));
    }
    for t in threads {
        t.join().expect("client thread");
    }
    assert_eq!(
        admin.cmd(&["GET", counter]),
        bulk(&(4 * per_client).to_string())
    );
    assert_eq!(watch_registrations(&s), 0);
}

#[test]
fn a_watched_key_expiring_fails_exec_unless_it_had_expired_already() {
    let s = TestServer::start_manual();
    let mut c = s.client();
    assert_eq!(c.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), "+OK\r\n");
    // Alive when watched, expired by EXEC (not yet deleted): EXEC fails.
    c.cmd(&["SET", "k", "v", "PX", "100"]);
    assert_eq!(c.cmd(&["WATCH", "k"]), "+OK\r\n");
    s.advance_ms(200);
    c.cmd(&["MULTI"]);
    c.cmd(&["PING"]);
    assert_eq!(c.cmd(&["EXEC"]), "*-1\r\n");
    // Alive when watched, deleted by a lookup after expiring: EXEC fails.
    c.cmd(&["SET", "k", "v", "PX", "100"]);
    c.cmd(&["WATCH", "k"]);
    s.advance_ms(200);
    let mut other = s.client();
    assert_eq!(other.cmd(&["GET", "k"]), "$-1\r\n");
    c.cmd(&["MULTI"]);
    c.cmd(&["PING"]);
    assert_eq!(c.cmd(&["EXEC"]), "*-1\r\n");
    // Already expired when watched: its deletion changes nothing logically (Redis 7.0).
    c.cmd(&["SET", "k", "v", "PX", "100"]);
    s.advance_ms(200);
    c.cmd(&["WATCH", "k"]);
    assert_eq!(other.cmd(&["GET", "k"]), "$-1\r\n");
    c.cmd(&["MULTI"]);
    c.cmd(&["PING"]);
    assert_eq!(c.cmd(&["EXEC"]), "*1\r\n+PONG\r\n");
    // ... but a new value is a change.
    c.cmd(&["SET", "k", "v", "PX", "100"]);
    s.advance_ms(200);
    c.cmd(&["WATCH", "k"]);
    other.cmd(&["SET", "k", "w"]);
    c.cmd(&["MULTI"]);
    c.cmd(&["PING"]);
    assert_eq!(c.cmd(&["EXEC"]), "*-1\r\n");
}

#[test]
fn client_list_shows_the_transaction() {
    let s = TestServer::start();
    let mut c = s.client();
    let mut admin = s.client();
    let line = |admin: &mut RawClient, name: &str| -> String {
        let all = admin.cmd(&["CLIENT", "LIST"]);
        all.lines()
            .find(|l| l.contains(&format!("name={name} ")))
            .expect("client listed")
            .to_string()
    };
    c.cmd(&["CLIENT", "SETNAME", "tx"]);
    assert!(line(&mut admin, "tx").contains(" flags=N "));
    assert!(line(&mut admin, "tx").contains(" multi=-1 "));
    c.cmd(&["MULTI"]);
    c.cmd(&["SET", "a", "1"]);
    c.cmd(&["GET", "a"]);
    let l = line(&mut admin, "tx");
    assert!(l.contains(" flags=x "), "{l}");
    assert!(l.contains(" multi=2 "), "{l}");
    assert_eq!(c.cmd(&["EXEC"]), format!("*2\r\n+OK\r\n{}", bulk("1")));
    assert!(line(&mut admin, "tx").contains(" multi=-1 "));
    // DISCARD leaves it.
    c.cmd(&["MULTI"]);
    c.cmd(&["DISCARD"]);
    assert!(line(&mut admin, "tx").contains(" flags=N "));
    // A watched key modified: `d` (Redis's CLIENT_DIRTY_CAS) until EXEC/DISCARD/UNWATCH.
    c.cmd(&["WATCH", "a"]);
    assert!(line(&mut admin, "tx").contains(" flags=N "));
    admin.cmd(&["SET", "a", "2"]);
    assert!(line(&mut admin, "tx").contains(" flags=d "));
    c.cmd(&["MULTI"]);
    assert!(line(&mut admin, "tx").contains(" flags=xd "));
    assert_eq!(c.cmd(&["EXEC"]), "*-1\r\n");
    assert!(line(&mut admin, "tx").contains(" flags=N "));
}

#[test]
fn watches_are_unregistered_by_exec_unwatch_and_disconnect() {
    let s = TestServer::start();
    let keys = spread_keys("reg", 6, SHARDS);
    let mut c = s.client();
    let mut args = vec!["WATCH"];
    args.extend(keys.iter().map(String::as_str));
    assert_eq!(c.cmd(&args), "+OK\r\n");
    // Watching again registers nothing new.
    assert_eq!(c.cmd(&args), "+OK\r\n");
    assert_eq!(watch_registrations(&s), 6);
    c.cmd(&["MULTI"]);
    assert_eq!(c.cmd(&["EXEC"]), "*0\r\n");
    assert_eq!(watch_registrations(&s), 0);
    c.cmd(&args);
    assert_eq!(c.cmd(&["UNWATCH"]), "+OK\r\n");
    assert_eq!(watch_registrations(&s), 0);
    c.cmd(&args);
    c.cmd(&["MULTI"]);
    c.cmd(&["SET", &keys[0], "x"]);
    drop(c);
    assert!(s.wait_connected_clients(0, Duration::from_secs(10)));
    assert_eq!(watch_registrations(&s), 0);
    // The transaction in progress was dropped with its client.
    let mut d = s.client();
    assert_eq!(d.cmd(&["EXISTS", &keys[0]]), int(0));
}

#[test]
fn watching_again_right_after_exec_or_unwatch_keeps_the_new_watch() {
    // The previous watch's unregistrations are still on their way when the next WATCH registers
    // (inline on the client's own shard): they must not remove it.
    let s = TestServer::start();
    let keys = spread_keys("again", 3, SHARDS);
    let mut c = s.client();
    let mut other = s.client();
    for round in 0..20 {
        let k = &keys[round % 3];
        let end: &[&str] = if round % 2 == 0 {
            &["UNWATCH"]
        } else {
            &["EXEC"]
        };
        let mut batch = encode_request(&["WATCH", k]);
        batch.extend(encode_request(&["MULTI"]));
        if round % 2 == 0 {
            batch.extend(encode_request(&["DISCARD"]));
        }
        batch.extend(encode_request(end));
        batch.extend(encode_request(&["WATCH", k]));
        c.send_raw(&batch);
        let replies = if round % 2 == 0 { 5 } else { 4 };
        for _ in 0..replies {
            c.read_reply_raw();
        }
        other.cmd(&["INCR", k]);
        c.cmd(&["MULTI"]);
        assert_eq!(c.cmd(&["EXEC"]), "*-1\r\n", "round {round}");
    }
}

#[test]
fn exec_on_keys_of_every_shard_is_one_transaction_for_other_transactions() {
    // Two clients repeatedly swap values between keys on three shards with MSET/MGET inside
    // EXEC; the set of values stays a permutation at every read.
    let s = TestServer::start();
    let keys = spread_keys("perm", 3, SHARDS);
    let mut admin = s.client();
    admin.cmd(&["MSET", &keys[0], "1", &keys[1], "2", &keys[2], "3"]);
    let mut threads = Vec::new();
    for t in 0..3usize {
        let mut c = s.client();
        let keys = keys.clone();
        threads.push(std::thread::spawn(move || {
            for i in 0..100usize {
                // Rotate the three values: RENAME chains through a temporary on one shard.
                let a = &keys[(t + i) % 3];
                let b = &keys[(t + i + 1) % 3];
                c.cmd(&["MULTI"]);
                c.cmd(&["RENAME", a, "{perm}tmp"]);
                c.cmd(&["RENAME", b, a]);
                c.cmd(&["RENAME", "{perm}tmp", b]);
                c.cmd(&["MGET", &keys[0], &keys[1], &keys[2]]);
                let r = c.cmd(&["EXEC"]);
                assert!(r.starts_with("*4\r\n+OK\r\n+OK\r\n+OK\r\n*3\r\n"), "{r:?}");
                assert_eq!(sum_of(r.split_at(r.find("*3").expect("mget")).1), 6);
            }
        }));
    }
    for t in threads {
        t.join().expect("client thread");
    }
    let mut vals: Vec<String> = admin
        .cmd(&["MGET", &keys[0], &keys[1], &keys[2]])
        .split("\r\n")
        .filter(|l| !l.starts_with('$') && !l.starts_with('*') && !l.is_empty())
        .map(str::to_string)
        .collect();
    vals.sort();
    assert_eq!(vals, ["1", "2", "3"]);
    assert_eq!(admin.cmd(&["EXISTS", "{perm}tmp"]), int(0));
}
