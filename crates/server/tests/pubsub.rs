//! Socket tests of Pub/Sub on a 3-thread server: subscribers spread over every thread (the
//! listener hands connections out round-robin, so consecutive connections land on different
//! threads), receiver counts across threads, publish order, channel + pattern double delivery,
//! RESP3 pushes beside normal replies, cleanup on disconnect, and a subscriber that never reads
//! being closed at the output-buffer hard limit (counted in messages and bytes, never timed).

use darter_testkit::client::encode_request;
use darter_testkit::helpers::{bulk, info_field, int};
use darter_testkit::{RawClient, TestServer};
use std::time::Duration;

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

fn subscribed(word: &str, name: &str, n: i64) -> String {
    format!("*3\r\n{}{}{}", bulk(word), bulk(name), int(n))
}

/// `n` clients subscribed to `channel`; with 3 threads and round-robin hand-out, every thread
/// gets some of them.
fn subscribers(s: &TestServer, channel: &str, n: usize) -> Vec<RawClient> {
    (0..n)
        .map(|_| {
            let mut c = s.client();
            assert_eq!(
                c.cmd(&["SUBSCRIBE", channel]),
                subscribed("subscribe", channel, 1)
            );
            c
        })
        .collect()
}

#[test]
fn publish_reaches_subscribers_on_every_thread_and_counts_them() {
    let s = TestServer::start();
    let mut subs = subscribers(&s, "news", 7);
    let mut publisher = s.client();
    assert_eq!(publisher.cmd(&["PUBLISH", "news", "hello"]), int(7));
    for c in &mut subs {
        assert_eq!(read(c), message("news", "hello"));
    }
    assert_eq!(publisher.cmd(&["PUBLISH", "other", "x"]), int(0));
    assert_eq!(
        publisher.cmd(&["PUBSUB", "NUMSUB", "news", "other"]),
        format!(
            "*4\r\n{}{}{}{}",
            bulk("news"),
            int(7),
            bulk("other"),
            int(0)
        )
    );
    // Channels are counted once however many threads have subscribers.
    assert_eq!(info_field(&mut publisher, "stats", "pubsub_channels"), 1);
    assert_eq!(
        publisher.cmd(&["PUBSUB", "CHANNELS"]),
        format!("*1\r\n{}", bulk("news"))
    );
    // Unsubscribing one leaves the others.
    assert_eq!(
        subs[0].cmd(&["UNSUBSCRIBE", "news"]),
        subscribed("unsubscribe", "news", 0)
    );
    assert_eq!(publisher.cmd(&["PUBLISH", "news", "again"]), int(6));
    for c in &mut subs[1..] {
        assert_eq!(read(c), message("news", "again"));
    }
}

#[test]
fn one_publishers_messages_arrive_in_order_on_every_thread() {
    let s = TestServer::start();
    let mut subs = subscribers(&s, "seq", 3);
    let mut publisher = s.client();
    const N: usize = 2000;
    // Pipelined: every PUBLISH in one write.
    let mut buf = Vec::new();
    for i in 0..N {
        buf.extend(encode_request(&["PUBLISH", "seq", &i.to_string()]));
    }
    let sender = publisher.send_raw_in_background(buf);
    for _ in 0..N {
        assert_eq!(read(&mut publisher), int(3));
    }
    assert!(sender.join().expect("sender"));
    for c in &mut subs {
        for i in 0..N {
            assert_eq!(read(c), message("seq", &i.to_string()));
        }
    }
}

#[test]
fn a_channel_and_a_matching_pattern_each_count_a_reception() {
    let s = TestServer::start();
    // Three clients, one per thread: channel only, pattern only, both.
    let mut a = s.client();
    let mut b = s.client();
    let mut c = s.client();
    assert_eq!(
        a.cmd(&["SUBSCRIBE", "a.b"]),
        subscribed("subscribe", "a.b", 1)
    );
    assert_eq!(
        b.cmd(&["PSUBSCRIBE", "a.*"]),
        subscribed("psubscribe", "a.*", 1)
    );
    assert_eq!(
        c.cmd(&["SUBSCRIBE", "a.b"]),
        subscribed("subscribe", "a.b", 1)
    );
    assert_eq!(
        c.cmd(&["PSUBSCRIBE", "a.*"]),
        subscribed("psubscribe", "a.*", 2)
    );
    let mut p = s.client();
    assert_eq!(p.cmd(&["PUBLISH", "a.b", "m"]), int(4));
    assert_eq!(read(&mut a), message("a.b", "m"));
    assert_eq!(read(&mut b), pmessage("a.*", "a.b", "m"));
    // The channel delivery comes before the pattern one, as in Redis.
    assert_eq!(read(&mut c), message("a.b", "m"));
    assert_eq!(read(&mut c), pmessage("a.*", "a.b", "m"));
    // Only the patterns match another channel.
    assert_eq!(p.cmd(&["PUBLISH", "a.c", "n"]), int(2));
    assert_eq!(read(&mut b), pmessage("a.*", "a.c", "n"));
    assert_eq!(read(&mut c), pmessage("a.*", "a.c", "n"));
    assert_eq!(p.cmd(&["PUBSUB", "NUMPAT"]), int(1));
    // Shard channels are their own namespace.
    assert_eq!(p.cmd(&["SPUBLISH", "a.b", "m"]), int(0));
}

#[test]
fn resp3_subscribers_get_pushes_and_may_run_any_command() {
    let s = TestServer::start();
    let mut c = s.client();
    c.cmd(&["HELLO", "3"]);
    assert_eq!(
        c.cmd(&["SUBSCRIBE", "r3"]),
        format!(">3\r\n{}{}{}", bulk("subscribe"), bulk("r3"), int(1))
    );
    assert_eq!(c.cmd(&["SET", "k", "v"]), "+OK\r\n");
    let mut p = s.client();
    assert_eq!(p.cmd(&["PUBLISH", "r3", "pushed"]), int(1));
    assert_eq!(
        read(&mut c),
        format!(">3\r\n{}{}{}", bulk("message"), bulk("r3"), bulk("pushed"))
    );
    // A message pending before a command goes out ahead of its reply.
    assert_eq!(p.cmd(&["PUBLISH", "r3", "first"]), int(1));
    c.send_raw(&encode_request(&["GET", "k"]));
    assert_eq!(
        read(&mut c),
        format!(">3\r\n{}{}{}", bulk("message"), bulk("r3"), bulk("first"))
    );
    assert_eq!(read(&mut c), bulk("v"));
    assert_eq!(c.cmd(&["PING"]), "+PONG\r\n");
}

#[test]
fn a_disconnected_subscriber_is_forgotten_everywhere() {
    let s = TestServer::start();
    let mut admin = s.client();
    let subs = subscribers(&s, "gone", 3);
    let mut p = s.client();
    p.cmd(&["PSUBSCRIBE", "g*"]);
    let base = 5; // admin, 3 subscribers, p
    assert!(s.wait_connected_clients(base, Duration::from_secs(10)));
    drop(subs);
    assert!(s.wait_connected_clients(base - 3, Duration::from_secs(10)));
    assert_eq!(
        admin.cmd(&["PUBSUB", "NUMSUB", "gone"]),
        format!("*2\r\n{}{}", bulk("gone"), int(0))
    );
    assert_eq!(info_field(&mut admin, "stats", "pubsub_channels"), 0);
    assert_eq!(info_field(&mut admin, "stats", "pubsub_patterns"), 1);
    assert_eq!(admin.cmd(&["PUBLISH", "gone", "x"]), int(1));
    drop(p);
    assert!(s.wait_connected_clients(1, Duration::from_secs(10)));
    assert_eq!(admin.cmd(&["PUBLISH", "gone", "x"]), int(0));
    assert_eq!(info_field(&mut admin, "stats", "pubsub_patterns"), 0);
}

#[test]
fn client_list_and_kill_know_pubsub_clients() {
    let s = TestServer::start();
    let mut sub = s.client();
    sub.cmd(&["SUBSCRIBE", "a", "b"]);
    sub.cmd(&["PSUBSCRIBE", "p*"]);
    sub.cmd(&["SSUBSCRIBE", "s"]);
    let mut admin = s.client();
    let list = admin.cmd(&["CLIENT", "LIST", "TYPE", "pubsub"]);
    assert_eq!(list.matches("id=").count(), 1, "{list}");
    assert!(
        list.contains(" flags=P ") && list.contains(" sub=2 psub=1 ssub=1 "),
        "{list}"
    );
    let normal = admin.cmd(&["CLIENT", "LIST", "TYPE", "normal"]);
    assert_eq!(normal.matches("id=").count(), 1, "{normal}");
    assert!(normal.contains(" flags=N ") && normal.contains(" sub=0 psub=0 ssub=0 "));
    assert_eq!(admin.cmd(&["CLIENT", "KILL", "TYPE", "pubsub"]), int(1));
    assert!(sub.wait_closed(Duration::from_secs(10)));
    assert!(s.wait_connected_clients(1, Duration::from_secs(10)));
}

#[test]
fn a_subscriber_that_never_reads_is_closed_at_the_hard_limit() {
    let s = TestServer::start();
    let mut admin = s.client();
    assert_eq!(
        admin.cmd(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 256kb 0 0"
        ]),
        "+OK\r\n"
    );
    let mut slow = s.client();
    slow.cmd(&["SUBSCRIBE", "flood"]);
    let used_before = info_field(&mut admin, "memory", "used_memory");
    let msg = "x".repeat(64 * 1024);
    let mut published = 0u64;
    // The kernel's socket buffers take some first (a few MB on loopback); then the pending
    // messages reach 256kb and the client is closed. Counted, never timed.
    loop {
        let r = admin.cmd(&["PUBLISH", "flood", &msg]);
        if r == int(0) {
            break;
        }
        assert_eq!(r, int(1));
        published += 1;
        assert!(
            published < 1024,
            "64 MiB published and the subscriber is still connected"
        );
    }
    assert!(s.wait_connected_clients(1, Duration::from_secs(10)));
    let used_after = info_field(&mut admin, "memory", "used_memory");
    assert!(
        used_after < used_before + 8 * 1024 * 1024,
        "memory grew from {used_before} to {used_after}"
    );
    // A reader that keeps up is never closed.
    let mut fast = s.client();
    fast.cmd(&["SUBSCRIBE", "flood"]);
    for _ in 0..64 {
        assert_eq!(admin.cmd(&["PUBLISH", "flood", &msg]), int(1));
        assert_eq!(read(&mut fast), message("flood", &msg));
    }
}

#[test]
fn subscribed_clients_are_exempt_from_the_idle_timeout() {
    let s = TestServer::start();
    let mut admin = s.client();
    let mut sub = s.client();
    sub.cmd(&["SUBSCRIBE", "idle"]);
    assert_eq!(admin.cmd(&["CONFIG", "SET", "timeout", "1"]), "+OK\r\n");
    // A plain client idle past the timeout is closed; the subscriber stays.
    let mut idle = s.client();
    assert_eq!(idle.cmd(&["PING"]), "+PONG\r\n");
    assert!(idle.wait_closed(Duration::from_secs(10)));
    // (admin was idle as long: a fresh client publishes.)
    let mut p = s.client();
    assert_eq!(p.cmd(&["PUBLISH", "idle", "still-here"]), int(1));
    assert_eq!(read(&mut sub), message("idle", "still-here"));
}

#[test]
fn pipelined_publishes_mixed_with_other_commands_keep_their_order_and_counts() {
    let s = TestServer::start();
    // One subscriber per thread: channel a, channel b, shard channel a.
    let mut a = s.client();
    let mut b = s.client();
    let mut sa = s.client();
    a.cmd(&["SUBSCRIBE", "a"]);
    b.cmd(&["SUBSCRIBE", "b"]);
    sa.cmd(&["SSUBSCRIBE", "a"]);
    let mut p = s.client();
    let cmds: Vec<Vec<String>> = [
        vec!["PUBLISH", "a", "1"],
        vec!["SPUBLISH", "a", "2"],
        vec!["GET", "k"],
        vec!["PUBLISH", "b", "3"],
        vec!["PUBLISH", "a", "4"],
        vec!["PUBLISH", "nobody", "5"],
        vec!["PING"],
        vec!["PUBLISH", "b", "6"],
    ]
    .iter()
    .map(|c| c.iter().map(|x| x.to_string()).collect())
    .collect();
    let replies = darter_testkit::helpers::pipeline(&mut p, &cmds);
    let one = int(1);
    assert_eq!(
        replies,
        vec![
            one.clone(),
            one.clone(),
            "$-1\r\n".to_string(),
            one.clone(),
            one.clone(),
            int(0),
            "+PONG\r\n".to_string(),
            one
        ]
    );
    assert_eq!(read(&mut a), message("a", "1"));
    assert_eq!(read(&mut a), message("a", "4"));
    assert_eq!(read(&mut b), message("b", "3"));
    assert_eq!(read(&mut b), message("b", "6"));
    assert_eq!(
        read(&mut sa),
        format!("*3\r\n{}{}{}", bulk("smessage"), bulk("a"), bulk("2"))
    );
    let stats = p.cmd(&["INFO", "commandstats"]);
    assert!(stats.contains("cmdstat_publish:calls=5,"), "{stats}");
    assert!(stats.contains("cmdstat_spublish:calls=1,"), "{stats}");
}

#[test]
fn a_subscription_is_visible_to_every_thread_once_confirmed() {
    let s = TestServer::start();
    // Consecutive connections: three different threads.
    let mut sub = s.client();
    let mut p1 = s.client();
    let mut p2 = s.client();
    for i in 0..300 {
        let ch = format!("churn{}", i % 7);
        assert_eq!(
            sub.cmd(&["SUBSCRIBE", &ch]),
            subscribed("subscribe", &ch, 1)
        );
        // Right after the confirmation, a publish from any thread finds the subscriber.
        let p = if i % 2 == 0 { &mut p1 } else { &mut p2 };
        assert_eq!(p.cmd(&["PUBLISH", &ch, "m"]), int(1), "round {i}");
        assert_eq!(read(&mut sub), message(&ch, "m"));
        assert_eq!(
            sub.cmd(&["UNSUBSCRIBE", &ch]),
            subscribed("unsubscribe", &ch, 0)
        );
        // Gone as soon as the unsubscribe is confirmed (a stale directory bit counts 0).
        assert_eq!(p.cmd(&["PUBLISH", &ch, "m"]), int(0), "round {i}");
    }
}
