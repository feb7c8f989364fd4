//! Client-side caching over sockets: invalidations that cross threads (keys on every shard,
//! trackers on every thread), expiry, FLUSHALL, MULTI/EXEC, memcached-port writes, BCAST
//! prefixes, NOLOOP, OPTIN/OPTOUT, and RESP2 redirection (including a broken redirect).
//!
//! Deliveries caused by one writer arrive in the order of its writes (each write's hops are
//! sent before its reply), so "nothing else was sent" is checked by writing a marker key last
//! and reading frames up to its invalidation.

use darter_testkit::helpers::{bulk, spread_keys, OK};
use darter_testkit::{RawClient, TestOptions, TestServer};
use std::io::Write;
use std::time::Duration;

fn push(keys: &[&str]) -> String {
    let mut s = format!(">2\r\n$10\r\ninvalidate\r\n*{}\r\n", keys.len());
    for k in keys {
        s.push_str(&bulk(k));
    }
    s
}

fn redirected(keys: &[&str]) -> String {
    let mut s = format!(
        "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*{}\r\n",
        keys.len()
    );
    for k in keys {
        s.push_str(&bulk(k));
    }
    s
}

fn read(c: &mut RawClient) -> String {
    String::from_utf8_lossy(&c.read_reply_raw()).into_owned()
}

fn resp3(s: &TestServer) -> RawClient {
    let mut c = s.client();
    c.set_read_timeout(Duration::from_secs(10));
    assert!(c.cmd(&["HELLO", "3"]).starts_with('%'));
    c
}

/// Reads frames until `marker`'s invalidation, returning the ones before it.
fn until_marker(c: &mut RawClient, marker: &str) -> Vec<String> {
    let want = push(&[marker]);
    let mut seen = Vec::new();
    loop {
        let f = read(c);
        if f == want {
            return seen;
        }
        seen.push(f);
    }
}

#[test]
fn every_tracker_hears_once_of_each_key_it_read_whatever_the_threads() {
    let s = TestServer::start();
    let keys = spread_keys("ck", 6, 3);
    let mut writer = s.client();
    for k in &keys {
        assert_eq!(writer.cmd(&["SET", k, "v"]), OK);
    }
    // Connections are spread round-robin over the threads: three trackers cover all of them.
    let mut trackers: Vec<RawClient> = (0..3).map(|_| resp3(&s)).collect();
    for t in &mut trackers {
        assert_eq!(t.cmd(&["CLIENT", "TRACKING", "on"]), OK);
        let mut mget = vec!["MGET"];
        mget.extend(keys[..3].iter().map(String::as_str));
        assert!(t.cmd(&mget).starts_with("*3"));
        for k in &keys[3..] {
            assert_eq!(t.cmd(&["GET", k]), bulk("v"));
        }
        assert_eq!(t.cmd(&["GET", "marker"]), "_\r\n");
    }
    for k in &keys {
        assert_eq!(writer.cmd(&["SET", k, "w"]), OK);
    }
    // Written again before being read again: no second invalidation.
    for k in &keys {
        assert_eq!(writer.cmd(&["SET", k, "x"]), OK);
    }
    assert_eq!(writer.cmd(&["SET", "marker", "1"]), OK);
    for t in &mut trackers {
        let seen = until_marker(t, "marker");
        let want: Vec<String> = keys.iter().map(|k| push(&[k])).collect();
        assert_eq!(seen, want);
    }
}

#[test]
fn expiry_invalidates_lazily_and_actively() {
    let s = TestServer::start_manual();
    let mut t = resp3(&s);
    let mut w = s.client();
    assert_eq!(w.cmd(&["SET", "lazy", "v", "PX", "100"]), OK);
    assert_eq!(w.cmd(&["SET", "active", "v", "PX", "100"]), OK);
    assert_eq!(t.cmd(&["CLIENT", "TRACKING", "on"]), OK);
    assert_eq!(t.cmd(&["GET", "lazy"]), bulk("v"));
    assert_eq!(t.cmd(&["GET", "active"]), bulk("v"));
    assert_eq!(t.cmd(&["GET", "marker"]), "_\r\n");
    s.advance_ms(200);
    // A lookup by someone else deletes the expired key: its reader hears of it.
    assert_eq!(w.cmd(&["EXISTS", "lazy"]), ":0\r\n");
    assert_eq!(read(&mut t), push(&["lazy"]));
    // Active expiry (the heartbeat) finds the other one, with nobody asking.
    assert_eq!(read(&mut t), push(&["active"]));
}

#[test]
fn flushall_sends_a_null_to_every_tracking_client_and_forgets_the_table() {
    let s = TestServer::start();
    let mut t3 = resp3(&s);
    let mut sub = s.client();
    let sub_id = sub.cmd(&["CLIENT", "ID"]);
    let sub_id = sub_id.trim_start_matches(':').trim_end();
    assert!(sub
        .cmd(&["SUBSCRIBE", "__redis__:invalidate"])
        .starts_with("*3"));
    let mut t2 = s.client();
    assert_eq!(
        t2.cmd(&["CLIENT", "TRACKING", "on", "REDIRECT", sub_id]),
        OK
    );
    assert_eq!(t3.cmd(&["CLIENT", "TRACKING", "on", "BCAST"]), OK);
    assert_eq!(t2.cmd(&["GET", "a"]), "$-1\r\n");
    let mut w = s.client();
    assert_eq!(w.cmd(&["FLUSHALL"]), OK);
    assert_eq!(read(&mut t3), ">2\r\n$10\r\ninvalidate\r\n_\r\n");
    assert_eq!(
        read(&mut sub),
        "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n$-1\r\n"
    );
    // The table was emptied: writing `a` now tells t2 nothing; `b`, read after, is heard.
    assert_eq!(t2.cmd(&["GET", "b"]), "$-1\r\n");
    assert_eq!(w.cmd(&["SET", "a", "1"]), OK);
    assert_eq!(w.cmd(&["SET", "b", "1"]), OK);
    assert_eq!(read(&mut sub), redirected(&["b"]));
}

#[test]
fn multi_exec_writes_invalidate_after_exec() {
    let s = TestServer::start();
    let keys = spread_keys("mx", 3, 3);
    let mut t = resp3(&s);
    assert_eq!(t.cmd(&["CLIENT", "TRACKING", "on"]), OK);
    for k in &keys {
        assert_eq!(t.cmd(&["GET", k]), "_\r\n");
    }
    assert_eq!(t.cmd(&["GET", "marker"]), "_\r\n");
    let mut w = s.client();
    assert_eq!(w.cmd(&["MULTI"]), OK);
    for k in &keys {
        assert_eq!(w.cmd(&["SET", k, "v"]), "+QUEUED\r\n");
    }
    assert_eq!(w.cmd(&["SET", "marker", "v"]), "+QUEUED\r\n");
    assert!(w.cmd(&["EXEC"]).starts_with("*4"));
    let mut seen = until_marker(&mut t, "marker");
    seen.sort();
    let mut want: Vec<String> = keys.iter().map(|k| push(&[k])).collect();
    want.sort();
    assert_eq!(seen, want);
    // Its own transaction: the pushes follow EXEC's reply.
    assert_eq!(t.cmd(&["GET", "own"]), "_\r\n");
    t.send_raw(b"MULTI\r\nSET own 1\r\nEXEC\r\n");
    assert_eq!(read(&mut t), OK);
    assert_eq!(read(&mut t), "+QUEUED\r\n");
    assert_eq!(read(&mut t), "*1\r\n+OK\r\n");
    assert_eq!(read(&mut t), push(&["own"]));
}

#[test]
fn memcached_port_writes_invalidate() {
    let s = TestServer::start_with(TestOptions {
        memcached: true,
        ..TestOptions::default()
    });
    let mut t = resp3(&s);
    assert_eq!(t.cmd(&["CLIENT", "TRACKING", "on"]), OK);
    assert_eq!(t.cmd(&["GET", "mc"]), "_\r\n");
    let mut mc = std::net::TcpStream::connect(s.memcached_addr()).expect("memcached port");
    mc.write_all(b"set mc 0 0 1\r\nx\r\n").expect("write");
    assert_eq!(read(&mut t), push(&["mc"]));
    // flush_all is a FLUSHDB of database 0: a null.
    mc.write_all(b"flush_all\r\n").expect("write");
    assert_eq!(read(&mut t), ">2\r\n$10\r\ninvalidate\r\n_\r\n");
}

#[test]
fn bcast_prefixes_hear_every_matching_key_on_every_shard() {
    let s = TestServer::start();
    let mut t = resp3(&s);
    assert_eq!(
        t.cmd(&["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "user:", "PREFIX", "obj:"]),
        OK
    );
    let mut w = s.client();
    let users = spread_keys("user:", 3, 3);
    for k in &users {
        assert_eq!(w.cmd(&["SET", k, "1"]), OK);
        assert_eq!(w.cmd(&["SET", "other", "1"]), OK);
    }
    assert_eq!(w.cmd(&["SET", "obj:last", "1"]), OK);
    let mut seen = Vec::new();
    loop {
        let f = read(&mut t);
        if f == push(&["obj:last"]) {
            break;
        }
        seen.push(f);
    }
    let want: Vec<String> = users.iter().map(|k| push(&[k])).collect();
    assert_eq!(seen, want);
    // Turning tracking off leaves every shard's prefix table.
    assert_eq!(t.cmd(&["CLIENT", "TRACKING", "off"]), OK);
    let gone = s.server().engine.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let counts = rt.block_on(gone.on_all_shards(|sh| sh.track.prefixes_len()));
    assert_eq!(counts, vec![0, 0, 0]);
}

#[test]
fn noloop_leaves_out_the_clients_own_writes() {
    let s = TestServer::start();
    let mut t = resp3(&s);
    assert_eq!(t.cmd(&["CLIENT", "TRACKING", "on", "NOLOOP"]), OK);
    let keys = spread_keys("nl", 3, 3);
    for k in &keys {
        assert_eq!(t.cmd(&["GET", k]), "_\r\n");
        assert_eq!(t.cmd(&["SET", k, "mine"]), OK);
        // Its own write was not sent but forgot the key, as in Redis: read it again.
        assert_eq!(t.cmd(&["GET", k]), bulk("mine"));
    }
    let mut w = s.client();
    for k in &keys {
        assert_eq!(w.cmd(&["SET", k, "theirs"]), OK);
    }
    for k in &keys {
        assert_eq!(read(&mut t), push(&[k]));
    }
    // BCAST with NOLOOP: the same, per key.
    let mut b = resp3(&s);
    assert_eq!(b.cmd(&["CLIENT", "TRACKING", "on", "BCAST", "NOLOOP"]), OK);
    assert_eq!(b.cmd(&["SET", "self", "1"]), OK);
    assert_eq!(w.cmd(&["SET", "peer", "1"]), OK);
    assert_eq!(read(&mut b), push(&["peer"]));
}

#[test]
fn optin_and_optout_follow_client_caching() {
    let s = TestServer::start();
    let mut w = s.client();
    let mut i = resp3(&s);
    assert_eq!(i.cmd(&["CLIENT", "TRACKING", "on", "OPTIN"]), OK);
    assert_eq!(i.cmd(&["GET", "in1"]), "_\r\n");
    // Pipelined, as clients send it: only the command right after CACHING YES is remembered.
    i.send_raw(b"CLIENT CACHING yes\r\nGET in2\r\nGET in3\r\n");
    assert_eq!(read(&mut i), OK);
    assert_eq!(read(&mut i), "_\r\n");
    assert_eq!(read(&mut i), "_\r\n");
    for k in ["in1", "in3", "in2"] {
        assert_eq!(w.cmd(&["SET", k, "v"]), OK);
    }
    assert_eq!(read(&mut i), push(&["in2"]));

    let mut o = resp3(&s);
    assert_eq!(o.cmd(&["CLIENT", "TRACKING", "on", "OPTOUT"]), OK);
    o.send_raw(b"CLIENT CACHING no\r\nGET out1\r\nGET out2\r\n");
    assert_eq!(read(&mut o), OK);
    assert_eq!(read(&mut o), "_\r\n");
    assert_eq!(read(&mut o), "_\r\n");
    for k in ["out1", "out2"] {
        assert_eq!(w.cmd(&["SET", k, "v"]), OK);
    }
    assert_eq!(read(&mut o), push(&["out2"]));
}

#[test]
fn resp2_redirect_and_a_broken_redirect() {
    let s = TestServer::start();
    let mut sub = s.client();
    sub.set_read_timeout(Duration::from_secs(10));
    let id = sub.cmd(&["CLIENT", "ID"]);
    let id = id.trim_start_matches(':').trim_end().to_string();
    assert!(sub
        .cmd(&["SUBSCRIBE", "__redis__:invalidate"])
        .starts_with("*3"));
    // Trackers on every thread redirect to the one subscriber.
    let mut trackers: Vec<RawClient> = (0..3).map(|_| s.client()).collect();
    let mut t3 = resp3(&s);
    assert_eq!(t3.cmd(&["CLIENT", "TRACKING", "on", "REDIRECT", &id]), OK);
    assert_eq!(t3.cmd(&["CLIENT", "GETREDIR"]), format!(":{id}\r\n"));
    for (n, t) in trackers.iter_mut().enumerate() {
        assert_eq!(t.cmd(&["CLIENT", "TRACKING", "on", "REDIRECT", &id]), OK);
        assert_eq!(t.cmd(&["GET", &format!("r{n}")]), "$-1\r\n");
    }
    assert_eq!(t3.cmd(&["GET", "r3"]), "_\r\n");
    let mut w = s.client();
    for n in 0..4 {
        assert_eq!(w.cmd(&["SET", &format!("r{n}"), "v"]), OK);
        assert_eq!(read(&mut sub), redirected(&[&format!("r{n}")]));
    }
    // The redirect client goes away: RESP3 trackers are told (RESP2 ones only get the flag).
    drop(sub);
    assert!(s.wait_connected_clients(5, Duration::from_secs(10)));
    assert_eq!(t3.cmd(&["GET", "r3"]), bulk("v"));
    assert_eq!(trackers[0].cmd(&["GET", "r0"]), bulk("v"));
    assert_eq!(w.cmd(&["SET", "r3", "w"]), OK);
    assert_eq!(w.cmd(&["SET", "r0", "w"]), OK);
    assert_eq!(
        read(&mut t3),
        format!(">2\r\n$21\r\ntracking-redir-broken\r\n:{id}\r\n")
    );
    // The flag is set on the tracker's thread before its push is queued.
    let info = t3.cmd(&["CLIENT", "TRACKINGINFO"]);
    assert!(info.contains("broken_redirect"), "{info}");
    let list = t3.cmd(&["CLIENT", "INFO"]);
    assert!(list.contains(" flags=tR "), "{list}");
    assert!(list.contains(&format!(" redir={id} ")), "{list}");
}
