//! Socket tests of keyspace notifications on a 3-thread, 3-shard server: `expired` events from
//! lazy expiry and from the active-expiry heartbeat (the manual clock moves time; the heartbeat
//! then finds the keys, so the test waits on the subscriber's socket, never on a sleep), events
//! reaching subscribers on every thread (connections are handed out round-robin), and one
//! client's commands producing events in command order even though the keys live on different
//! shards, writes and reads over expired keys, and blocked pops served by a later push (awaited
//! through INFO's blocked_clients). Byte-exact event names per command are compared with Redis by
//! `diff/notify.redis`.

use darter_testkit::client::encode_request;
use darter_testkit::helpers::{bulk, info_field, int, spread_keys};
use darter_testkit::{RawClient, TestServer};
use std::time::{Duration, Instant};

fn read(c: &mut RawClient) -> String {
    String::from_utf8_lossy(&c.read_reply_raw()).into_owned()
}

fn message(channel: &str, msg: &str) -> String {
    format!("*3\r\n{}{}{}", bulk("message"), bulk(channel), bulk(msg))
}

fn pmessage(pattern: &str, channel: &str, msg: &str) -> String {
    format!(
        "*4\r\n{}{}{}{}",
        bulk("pmessage"),
        bulk(pattern),
        bulk(channel),
        bulk(msg)
    )
}

/// Three clients (one per thread) subscribed to `channel`.
fn subscribers(s: &TestServer, verb: &str, channel: &str) -> Vec<RawClient> {
    (0..3)
        .map(|_| {
            let mut c = s.client();
            let word = verb.to_ascii_lowercase();
            assert_eq!(
                c.cmd(&[verb, channel]),
                format!("*3\r\n{}{}{}", bulk(&word), bulk(channel), int(1))
            );
            c
        })
        .collect()
}

#[test]
fn lazy_and_active_expiry_report_expired_to_subscribers_on_every_thread() {
    let s = TestServer::start_manual();
    let mut c = s.client();
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "Ex"]),
        "+OK\r\n"
    );
    let chan = "__keyevent@0__:expired";
    let mut subs = subscribers(&s, "SUBSCRIBE", chan);

    // Lazy: active expiry off, so only the read finds the key past its deadline.
    assert_eq!(c.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), "+OK\r\n");
    assert_eq!(c.cmd(&["SET", "lazy", "v", "PX", "100"]), "+OK\r\n");
    s.advance_ms(200);
    assert_eq!(c.cmd(&["GET", "lazy"]), "$-1\r\n");
    for sub in &mut subs {
        assert_eq!(read(sub), message(chan, "lazy"));
    }

    // Active: keys on every shard, found by each shard's heartbeat after the clock moved.
    assert_eq!(c.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"]), "+OK\r\n");
    let keys = spread_keys("active:", 6, 3);
    for k in &keys {
        assert_eq!(c.cmd(&["SET", k, "v", "PX", "100"]), "+OK\r\n");
    }
    s.advance_ms(200);
    let mut want: Vec<String> = keys.iter().map(|k| message(chan, k)).collect();
    want.sort();
    for sub in &mut subs {
        // Each shard's events arrive in its order; shards interleave freely.
        let mut got: Vec<String> = (0..keys.len()).map(|_| read(sub)).collect();
        got.sort();
        assert_eq!(got, want);
    }
    assert_eq!(c.cmd(&["DBSIZE"]), int(0));
}

#[test]
fn a_write_over_an_expired_key_reports_expired_then_new() {
    let s = TestServer::start_manual();
    let mut c = s.client();
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "Kxn$lm"]),
        "+OK\r\n"
    );
    assert_eq!(c.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), "+OK\r\n");
    let pat = "__keyspace@0__:*";
    let mut subs = subscribers(&s, "PSUBSCRIBE", pat);
    let expect = |subs: &mut Vec<RawClient>, key: &str, events: &[&str]| {
        let ch = format!("__keyspace@0__:{key}");
        for sub in subs.iter_mut() {
            for e in events {
                assert_eq!(read(sub), pmessage(pat, &ch, e), "{key} {e}");
            }
        }
    };
    for (k, write, event) in [
        ("w1", ["SET", "w1", "v2"], "set"),
        ("w2", ["RPUSH", "w2", "x"], "rpush"),
        ("w3", ["APPEND", "w3", "x"], "append"),
    ] {
        assert_eq!(c.cmd(&["SET", k, "v", "PX", "100"]), "+OK\r\n");
        expect(&mut subs, k, &["new", "set"]);
        s.advance_ms(200);
        c.cmd(&write);
        expect(&mut subs, k, &["expired", "new", event]);
    }
    // A read of an expired key: expired, then the miss.
    assert_eq!(c.cmd(&["SET", "r", "v", "PX", "100"]), "+OK\r\n");
    expect(&mut subs, "r", &["new", "set"]);
    s.advance_ms(200);
    assert_eq!(c.cmd(&["GET", "r"]), "$-1\r\n");
    expect(&mut subs, "r", &["expired", "keymiss"]);
}

#[test]
fn one_clients_events_arrive_in_command_order_across_shards_and_threads() {
    let s = TestServer::start();
    let mut c = s.client();
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "K$g"]),
        "+OK\r\n"
    );
    let pat = "__keyspace@0__:*";
    let mut subs = subscribers(&s, "PSUBSCRIBE", pat);
    let keys = spread_keys("order:", 30, 3);
    for k in &keys {
        assert_eq!(c.cmd(&["SET", k, "v"]), "+OK\r\n");
        assert_eq!(c.cmd(&["EXPIRE", k, "100"]), int(1));
    }
    // Pipelined too: replies come back in order, and so do the events.
    let mut pipe = Vec::new();
    for k in &keys {
        pipe.extend(darter_testkit::client::encode_request(&["DEL", k]));
    }
    c.send_raw(&pipe);
    for _ in &keys {
        assert_eq!(read(&mut c), int(1));
    }
    for sub in &mut subs {
        for k in &keys {
            let ch = format!("__keyspace@0__:{k}");
            assert_eq!(read(sub), pmessage(pat, &ch, "set"));
            assert_eq!(read(sub), pmessage(pat, &ch, "expire"));
        }
        for k in &keys {
            let ch = format!("__keyspace@0__:{k}");
            assert_eq!(read(sub), pmessage(pat, &ch, "del"));
        }
    }
}

#[test]
fn events_follow_the_config_and_the_selected_database() {
    let s = TestServer::start();
    let mut c = s.client();
    let mut sub = s.client();
    assert_eq!(
        sub.cmd(&["PSUBSCRIBE", "__key*"]),
        format!("*3\r\n{}{}{}", bulk("psubscribe"), bulk("__key*"), int(1))
    );
    // Nothing is published while the parameter is empty, or without K or E.
    assert_eq!(c.cmd(&["SET", "a", "1"]), "+OK\r\n");
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "A"]),
        "+OK\r\n"
    );
    assert_eq!(c.cmd(&["SET", "a", "2"]), "+OK\r\n");
    // Only E, only the list class, in database 3.
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "El"]),
        "+OK\r\n"
    );
    assert_eq!(c.cmd(&["SELECT", "3"]), "+OK\r\n");
    assert_eq!(c.cmd(&["SET", "a", "3"]), "+OK\r\n");
    assert_eq!(c.cmd(&["RPUSH", "l", "x"]), int(1));
    assert_eq!(
        read(&mut sub),
        pmessage("__key*", "__keyevent@3__:rpush", "l")
    );
    // SWAPDB: a database's events carry its new number.
    assert_eq!(c.cmd(&["SWAPDB", "3", "5"]), "+OK\r\n");
    assert_eq!(c.cmd(&["SELECT", "5"]), "+OK\r\n");
    assert_eq!(c.cmd(&["LPUSH", "l", "y"]), int(2));
    assert_eq!(
        read(&mut sub),
        pmessage("__key*", "__keyevent@5__:lpush", "l")
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "notify-keyspace-events", ""]),
        "+OK\r\n"
    );
    assert_eq!(c.cmd(&["LPUSH", "l", "z"]), int(3));
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "notify-keyspace-events"]),
        format!("*2\r\n{}{}", bulk("notify-keyspace-events"), bulk(""))
    );
    // Nothing more arrived: a PING on the subscriber answers next.
    assert_eq!(
        sub.cmd(&["PING"]),
        format!("*2\r\n{}{}", bulk("pong"), bulk(""))
    );
}

/// Waits until the server reports `n` blocked clients (bounded: fails after 10 s).
fn await_blocked(admin: &mut RawClient, n: u64) {
    let give_up = Instant::now() + Duration::from_secs(10);
    while info_field(admin, "clients", "blocked_clients") != n {
        assert!(Instant::now() < give_up, "never saw {n} blocked clients");
        std::thread::yield_now();
    }
}

/// (blocking command, the push that serves it, the (key, event) stream expected).
type BlockCase = (
    &'static [&'static str],
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
);

#[test]
fn a_blocked_pop_served_by_a_push_reports_the_push_then_the_pop() {
    // Redis 7.0.15's order (checked against redis-server): the pusher's `new` and push, then the
    // served client's pop and the emptied key's `del`; a served BLMOVE adds its own push first.
    let s = TestServer::start();
    let mut c = s.client();
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "KA"]),
        "+OK\r\n"
    );
    let pat = "__keyspace@0__:*";
    let mut subs = subscribers(&s, "PSUBSCRIBE", pat);
    let cases: [BlockCase; 3] = [
        (
            &["BLPOP", "bl", "0"],
            &["LPUSH", "bl", "x"],
            &[("bl", "lpush"), ("bl", "lpop"), ("bl", "del")],
        ),
        (
            &["BLMOVE", "{q}a", "{q}b", "LEFT", "RIGHT", "0"],
            &["RPUSH", "{q}a", "x", "y"],
            &[("{q}a", "rpush"), ("{q}b", "rpush"), ("{q}a", "lpop")],
        ),
        (
            &["BZPOPMIN", "bz", "0"],
            &["ZADD", "bz", "1", "a"],
            &[("bz", "zadd"), ("bz", "zpopmin"), ("bz", "del")],
        ),
    ];
    let mut blocked = s.client();
    for (block, push, events) in cases {
        blocked.send_raw(&encode_request(block));
        await_blocked(&mut c, 1);
        c.cmd(push);
        read(&mut blocked);
        for sub in &mut subs {
            for (k, e) in events {
                assert_eq!(
                    read(sub),
                    pmessage(pat, &format!("__keyspace@0__:{k}"), e),
                    "{block:?}"
                );
            }
        }
    }
}
