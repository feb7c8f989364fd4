//! Socket tests of the blocking list commands on a 3-shard server: wake-ups across shards, FIFO
//! order among clients waiting on one key, timeouts, CLIENT UNBLOCK, cleanup of clients that
//! disconnect while blocked, cross-shard BLMOVE, INFO blocked_clients.
//!
//! A test that needs a client to be blocked first waits for the server to report it (INFO
//! blocked_clients, or the `b` flag in CLIENT LIST), never for a fixed time.

use darter_testkit::helpers::{await_blocked, bulk, int, read, send, spread_keys};
use darter_testkit::{RawClient, TestServer};
use std::time::Duration;

const SHARDS: usize = 3;

fn kv(k: &str, v: &str) -> String {
    format!("*2\r\n{}{}", bulk(k), bulk(v))
}

#[test]
fn a_push_wakes_a_client_blocked_on_keys_of_three_shards() {
    let s = TestServer::start();
    let keys = spread_keys("bk", 3, SHARDS);
    let mut waiter = s.client();
    let mut admin = s.client();
    send(&mut waiter, &["BLPOP", &keys[0], &keys[1], &keys[2], "0"]);
    await_blocked(&mut admin, 1);
    assert!(admin.cmd(&["CLIENT", "LIST"]).contains("flags=b"));
    assert_eq!(admin.cmd(&["RPUSH", &keys[2], "x", "y"]), int(2));
    assert_eq!(read(&mut waiter), kv(&keys[2], "x"));
    assert_eq!(
        admin.cmd(&["LRANGE", &keys[2], "0", "-1"]),
        format!("*1\r\n{}", bulk("y"))
    );
    await_blocked(&mut admin, 0);
    // Served once: a later push to another of its keys stays in the list.
    assert_eq!(admin.cmd(&["RPUSH", &keys[0], "z"]), int(1));
    assert_eq!(admin.cmd(&["LLEN", &keys[0]]), int(1));
}

#[test]
fn clients_blocked_on_one_key_are_served_first_come_first_served() {
    let s = TestServer::start();
    let mut admin = s.client();
    let mut clients: Vec<RawClient> = (0..3).map(|_| s.client()).collect();
    for (i, c) in clients.iter_mut().enumerate() {
        send(c, &["BRPOP", "q", "0"]);
        await_blocked(&mut admin, i as u64 + 1);
    }
    // One push of three elements: each waiter gets one, in the order they blocked.
    assert_eq!(admin.cmd(&["LPUSH", "q", "a", "b", "c"]), int(3));
    assert_eq!(read(&mut clients[0]), kv("q", "a"));
    assert_eq!(read(&mut clients[1]), kv("q", "b"));
    assert_eq!(read(&mut clients[2]), kv("q", "c"));
    assert_eq!(admin.cmd(&["EXISTS", "q"]), int(0));
}

#[test]
fn timeouts_answer_nil_and_non_empty_keys_answer_at_once() {
    let s = TestServer::start();
    let mut c = s.client();
    assert_eq!(c.cmd(&["BLPOP", "none", "0.05"]), "*-1\r\n");
    // Moves too: Redis answers a timed-out BLMOVE / BRPOPLPUSH with a null array.
    assert_eq!(
        c.cmd(&["BLMOVE", "none", "d", "LEFT", "RIGHT", "0.01"]),
        "*-1\r\n"
    );
    assert_eq!(c.cmd(&["BRPOPLPUSH", "none", "d", "0.01"]), "*-1\r\n");
    assert_eq!(c.cmd(&["BLMPOP", "0.01", "1", "none", "LEFT"]), "*-1\r\n");
    assert!(!c.cmd(&["HELLO", "3"]).is_empty());
    assert_eq!(c.cmd(&["BLPOP", "none", "0.01"]), "_\r\n");
    assert!(!c.cmd(&["HELLO", "2"]).is_empty());
    // Existing lists serve without blocking; the first existing key in argument order decides.
    assert_eq!(c.cmd(&["RPUSH", "l", "1", "2", "3"]), int(3));
    assert_eq!(c.cmd(&["BLPOP", "none", "l", "0"]), kv("l", "1"));
    assert_eq!(c.cmd(&["BRPOP", "l", "0"]), kv("l", "3"));
    assert_eq!(
        c.cmd(&["BLMPOP", "0", "2", "none", "l", "RIGHT", "COUNT", "5"]),
        format!("*2\r\n{}*1\r\n{}", bulk("l"), bulk("2"))
    );
    assert_eq!(c.cmd(&["SET", "s", "v"]), "+OK\r\n");
    assert_eq!(
        c.cmd(&["BLPOP", "none", "s", "l", "0"]),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    assert_eq!(c.cmd(&["BLPOP", "l", "-1"]), "-ERR timeout is negative\r\n");
    assert_eq!(
        c.cmd(&["BLPOP", "l", "x"]),
        "-ERR timeout is not a float or out of range\r\n"
    );
}

#[test]
fn client_unblock_wakes_with_timeout_or_error() {
    let s = TestServer::start();
    let mut admin = s.client();
    let mut c = s.client();
    let id: String = c.cmd(&["CLIENT", "ID"]);
    let id = id.trim_start_matches(':').trim().to_string();
    assert_eq!(
        admin.cmd(&["CLIENT", "UNBLOCK", &id]),
        int(0),
        "not blocked"
    );
    send(&mut c, &["BLPOP", "k", "0"]);
    await_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["CLIENT", "UNBLOCK", &id]), int(1));
    assert_eq!(read(&mut c), "*-1\r\n");
    // A move unblocked as timed out answers a null array too (replyToBlockedClientTimedOut).
    send(&mut c, &["BRPOPLPUSH", "k", "d", "0"]);
    await_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["CLIENT", "UNBLOCK", &id, "TIMEOUT"]), int(1));
    assert_eq!(read(&mut c), "*-1\r\n");
    send(&mut c, &["BRPOPLPUSH", "k", "d", "0"]);
    await_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["CLIENT", "UNBLOCK", &id, "ERROR"]), int(1));
    assert_eq!(
        read(&mut c),
        "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    );
    assert_eq!(
        admin.cmd(&["CLIENT", "UNBLOCK", &id, "LATER"]),
        "-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n"
    );
    // Unblocked clients left no waiter behind.
    assert_eq!(admin.cmd(&["RPUSH", "k", "v"]), int(1));
    assert_eq!(admin.cmd(&["LLEN", "k"]), int(1));
}

#[test]
fn a_client_that_disconnects_while_blocked_is_cleaned_up() {
    let s = TestServer::start();
    let mut admin = s.client();
    let keys = spread_keys("gone", 2, SHARDS);
    {
        let mut c = s.client();
        send(&mut c, &["BLPOP", &keys[0], &keys[1], "0"]);
        await_blocked(&mut admin, 1);
    }
    assert!(s.wait_connected_clients(1, Duration::from_secs(10)));
    await_blocked(&mut admin, 0);
    assert_eq!(admin.cmd(&["RPUSH", &keys[1], "kept"]), int(1));
    assert_eq!(admin.cmd(&["LLEN", &keys[1]]), int(1), "nobody took it");
}

#[test]
fn blmove_across_shards_wakes_and_moves() {
    let s = TestServer::start();
    let keys = spread_keys("mv", 2, SHARDS);
    let (src, dst) = (&keys[0], &keys[1]);
    let mut admin = s.client();
    let mut c = s.client();
    send(&mut c, &["BLMOVE", src, dst, "RIGHT", "LEFT", "0"]);
    await_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["RPUSH", src, "a", "b"]), int(2));
    assert_eq!(read(&mut c), bulk("b"));
    assert_eq!(
        admin.cmd(&["LRANGE", dst, "0", "-1"]),
        format!("*1\r\n{}", bulk("b"))
    );
    assert_eq!(
        admin.cmd(&["LRANGE", src, "0", "-1"]),
        format!("*1\r\n{}", bulk("a"))
    );
    // A client blocked on the destination is woken by the move's push, after it completes.
    let mut w = s.client();
    let other = spread_keys("other", 1, SHARDS)[0].clone();
    send(&mut w, &["BLPOP", &other, "0"]);
    await_blocked(&mut admin, 1);
    assert_eq!(
        admin.cmd(&["BLMOVE", src, &other, "LEFT", "LEFT", "0"]),
        bulk("a")
    );
    assert_eq!(read(&mut w), kv(&other, "a"));
    assert_eq!(admin.cmd(&["EXISTS", src, &other]), int(0));
    // A wrong-typed destination is an error, and nothing moves.
    assert_eq!(admin.cmd(&["RPUSH", src, "x"]), int(1));
    assert_eq!(admin.cmd(&["SET", dst, "str"]), "+OK\r\n");
    assert_eq!(
        admin.cmd(&["BRPOPLPUSH", src, dst, "0"]),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    assert_eq!(admin.cmd(&["LLEN", src]), int(1));
}

#[test]
fn many_poppers_across_shards_take_every_element_exactly_once() {
    let s = TestServer::start();
    let keys = spread_keys("work", 3, SHARDS);
    let n_clients = 6;
    let per_key = 50;
    let mut handles = Vec::new();
    for _ in 0..n_clients {
        let addr = s.addr();
        let keys = keys.clone();
        handles.push(std::thread::spawn(move || {
            let mut c = RawClient::connect_tcp(addr);
            let mut got = Vec::new();
            loop {
                let r = c.cmd(&["BRPOP", &keys[0], &keys[1], &keys[2], "0.5"]);
                if r == "*-1\r\n" {
                    return got;
                }
                got.push(r);
            }
        }));
    }
    let mut admin = s.client();
    for i in 0..per_key {
        for k in &keys {
            // The new length depends on how fast the poppers are.
            assert!(admin
                .cmd(&["LPUSH", k, &format!("{k}:{i}")])
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
    assert_eq!(before, all.len(), "an element was served twice");
    let left: u64 = keys
        .iter()
        .map(|k| {
            admin
                .cmd(&["LLEN", k])
                .trim_start_matches(':')
                .trim()
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    assert_eq!(
        all.len() as u64 + left,
        (per_key * keys.len()) as u64,
        "an element was lost"
    );
}

#[test]
fn pushes_by_multi_key_commands_wake_waiters_once_complete() {
    let s = TestServer::start();
    let keys = spread_keys("mk", 3, SHARDS);
    let (src, dst, other) = (&keys[0], &keys[1], &keys[2]);
    let mut admin = s.client();
    let mut w = s.client();
    // SORT ... STORE writes the whole sorted list before the waiter on its destination runs.
    assert_eq!(admin.cmd(&["RPUSH", src, "3", "1", "2"]), int(3));
    send(&mut w, &["BLPOP", dst, "0"]);
    await_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["SORT", src, "STORE", dst]), int(3));
    assert_eq!(read(&mut w), kv(dst, "1"));
    assert_eq!(
        admin.cmd(&["LRANGE", dst, "0", "-1"]),
        format!("*2\r\n{}{}", bulk("2"), bulk("3"))
    );
    // A cross-shard RPOPLPUSH: the waiter on the destination gets the moved element, and the
    // source has already lost it.
    send(&mut w, &["BRPOP", other, "0"]);
    await_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["RPOPLPUSH", src, other]), bulk("2"));
    assert_eq!(read(&mut w), kv(other, "2"));
    assert_eq!(
        admin.cmd(&["LRANGE", src, "0", "-1"]),
        format!("*2\r\n{}{}", bulk("3"), bulk("1"))
    );
    assert_eq!(admin.cmd(&["EXISTS", other]), int(0));
}

/// A client that pipelines more commands behind a blocking one, then sends QUIT and closes while
/// blocked (Bull's local pause), is noticed at once, as Redis notices it: what it pipelined never
/// runs, so later pushes stay in the list.
#[test]
fn a_blocked_client_closing_behind_pipelined_commands_is_dropped_with_them() {
    let s = TestServer::start();
    let mut admin = s.client();
    let mut c = s.client();
    let mut pipe = Vec::new();
    for _ in 0..4 {
        pipe.extend(darter_testkit::client::encode_request(&[
            "BRPOPLPUSH",
            "bq",
            "ba",
            "5",
        ]));
    }
    c.send_raw(&pipe);
    await_blocked(&mut admin, 1);
    c.send_raw(&darter_testkit::client::encode_request(&["QUIT"]));
    c.tcp()
        .shutdown(std::net::Shutdown::Write)
        .expect("half-close");
    assert!(s.wait_connected_clients(1, Duration::from_secs(10)));
    assert_eq!(admin.cmd(&["LPUSH", "bq", "j1", "j2", "j3", "j4"]), int(4));
    assert_eq!(admin.cmd(&["LLEN", "bq"]), int(4));
    assert_eq!(admin.cmd(&["LLEN", "ba"]), int(0));
}
