//! Layer 4: socket tests of the connection layer against an in-process darter (3 threads/shards)
//! on an ephemeral port: malformed and hostile input, partial and huge requests, client limits,
//! authentication, CLIENT KILL / REPLY, QUIT, and cross-shard atomicity under concurrency.
//!
//! Every test starts its own server. Nothing sleeps to wait for the server: replies and closes are
//! awaited with bounded reads; where real time must pass (the idle timeout), a poll loop with a
//! deadline of a few seconds waits for it. Reply bytes are Redis 7.0's, checked against
//! redis-server 7.0.15.

use darter_resp::Frame;
use darter_testkit::client::encode_request;
use darter_testkit::{RawClient, TestOptions, TestServer};
use std::net::Shutdown;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// How long a test waits for the server to close a connection it must close.
const CLOSE_WAIT: Duration = Duration::from_secs(10);

const PONG: &[u8] = b"+PONG\r\n";

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The reply bytes of a bulk string.
fn bulk(v: &[u8]) -> Vec<u8> {
    let mut out = format!("${}\r\n", v.len()).into_bytes();
    out.extend_from_slice(v);
    out.extend_from_slice(b"\r\n");
    out
}

fn ping(c: &mut RawClient) {
    assert_eq!(s(&c.cmd_raw(&["PING"])), s(PONG));
}

/// Asserts the server closed `c` without sending anything more.
fn assert_closed(c: &mut RawClient) {
    assert!(
        c.wait_closed(CLOSE_WAIT),
        "the server kept the connection open"
    );
    assert_eq!(
        s(&c.take_pending()),
        "",
        "unexpected bytes before the close"
    );
}

/// Asserts the next reply is `want`, then that the server closes the connection.
fn assert_reply_then_closed(c: &mut RawClient, want: &[u8]) {
    assert_eq!(s(&c.read_reply_raw()), s(want));
    assert_closed(c);
}

fn config_set(c: &mut RawClient, name: &str, value: &str) {
    assert_eq!(
        s(&c.cmd_raw(&["CONFIG", "SET", name, value])),
        "+OK\r\n",
        "CONFIG SET {name} {value}"
    );
}

fn connected(ts: &TestServer) -> u64 {
    ts.server().connected_clients.load(Ordering::SeqCst)
}

// ---------------------------------------------------------------------------------------------------
// Malformed input
// ---------------------------------------------------------------------------------------------------

#[test]
fn oversized_bulk_length_is_a_protocol_error_for_that_client_only() {
    let ts = TestServer::start();
    let mut bystander = ts.client();
    ping(&mut bystander);
    // proto-max-bulk-len is 512mb; one byte more is refused before any payload is read.
    let mut c = ts.client();
    c.send_raw(b"*2\r\n$4\r\nECHO\r\n$536870913\r\n");
    assert_reply_then_closed(&mut c, b"-ERR Protocol error: invalid bulk length\r\n");
    // Exactly the limit is accepted as a length (the payload would follow).
    let mut c = ts.client();
    c.send_raw(b"*2\r\n$4\r\nECHO\r\n$536870912\r\nabc");
    ping(&mut bystander);
    assert!(!c.wait_closed(Duration::from_millis(200)));
    assert_eq!(s(&c.take_pending()), "");
    drop(c);
    ping(&mut bystander);
    ping(&mut ts.client());
}

#[test]
fn protocol_errors_reply_then_close_and_earlier_commands_still_run() {
    let ts = TestServer::start();
    let cases: &[(&[u8], &[u8])] = &[
        (
            b"*abc\r\n",
            b"-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*3000000000\r\n",
            b"-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*1\r\nPING\r\n",
            b"-ERR Protocol error: expected '$', got 'P'\r\n",
        ),
        (
            b"*1\r\n$-1\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1\r\n$x\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"ECHO \"abc\r\n",
            b"-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
        (
            b"PING\r\n*1\r\n$4\r\nPING\r\n*x\r\n",
            b"+PONG\r\n+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n",
        ),
    ];
    let mut bystander = ts.client();
    for (req, want) in cases {
        let mut c = ts.client();
        c.send_raw(req);
        assert!(c.wait_closed(CLOSE_WAIT), "{:?}: not closed", s(req));
        assert_eq!(s(&c.take_pending()), s(want), "request {:?}", s(req));
        ping(&mut bystander);
    }
}

#[test]
fn garbage_bytes_never_hurt_the_server() {
    let ts = TestServer::start();
    let mut bystander = ts.client();
    ping(&mut bystander);

    // Raw bytes as an inline command: an unknown command, and the connection stays usable.
    let mut c = ts.client();
    c.send_raw(b"\x01\x02garbage\x7f \x1b[0m\r\n");
    let r = c.read_reply_raw();
    assert!(
        r.starts_with(b"-ERR unknown command '\x01\x02garbage\x7f'"),
        "{:?}",
        s(&r)
    );
    ping(&mut c);

    // A NUL hides the newline from Redis's line search: nothing happens until the line is longer
    // than the inline limit (64 KiB), then it is "too big".
    let mut c = ts.client();
    c.send_raw(b"\x00PING\r\n");
    ping(&mut bystander);
    c.send_raw(&vec![b'a'; 70 * 1024]);
    assert_reply_then_closed(&mut c, b"-ERR Protocol error: too big inline request\r\n");

    const PROTOCOL_BYTES: &[u8] = b"*$\r\n:+-\"'0123456789";
    // Pseudo-random bytes (fixed seeds): whatever the server answers, it must answer only that
    // client, and either keep it open or close it; the server stays healthy.
    for seed in 1..=8u64 {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut junk = Vec::with_capacity(200 * 1024);
        for _ in 0..200 * 1024 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Bias towards protocol characters so the parser gets past the first byte.
            let b = match x % 8 {
                0 => PROTOCOL_BYTES[(x >> 8) as usize % PROTOCOL_BYTES.len()],
                1 => b'0' + (x >> 8) as u8 % 10,
                _ => (x >> 16) as u8,
            };
            junk.push(b);
        }
        let mut c = ts.client();
        let writer = c.send_raw_in_background(junk);
        // Either outcome is fine; a hang is bounded by the wait.
        c.wait_closed(Duration::from_secs(1));
        // Unblocks the writer if the server stopped reading without closing.
        let _ = c.tcp().shutdown(Shutdown::Both);
        let _ = writer.join();
        ping(&mut bystander);
    }
    ping(&mut ts.client());
}

#[test]
fn a_command_sent_in_pieces_gets_exactly_one_reply() {
    let ts = TestServer::start();
    let mut other = ts.client();
    let mut req = encode_request(&["ECHO", "hello\r\nworld"]);
    req.extend_from_slice(b"ECHO \"in line\"\r\n");
    let want = [bulk(b"hello\r\nworld"), bulk(b"in line")].concat();
    let mut c = ts.client();
    for split in 1..req.len() {
        c.send_raw(&req[..split]);
        // A round trip on another connection lets the server take in the first piece.
        ping(&mut other);
        c.send_raw(&req[split..]);
        let got = [c.read_reply_raw(), c.read_reply_raw()].concat();
        assert_eq!(s(&got), s(&want), "split at byte {split}");
    }
    // One byte per write.
    for b in &req {
        c.send_raw(std::slice::from_ref(b));
    }
    let got = [c.read_reply_raw(), c.read_reply_raw()].concat();
    assert_eq!(s(&got), s(&want));
    // Nothing extra was queued.
    ping(&mut c);
}

// ---------------------------------------------------------------------------------------------------
// Large traffic
// ---------------------------------------------------------------------------------------------------

#[test]
fn ten_thousand_pipelined_commands_reply_in_order() {
    let ts = TestServer::start();
    let mut c = ts.client();
    let n = 10_000;
    let mut req = Vec::new();
    for i in 0..n {
        if i % 2 == 0 {
            req.extend_from_slice(&encode_request(&["ECHO", &i.to_string()]));
        } else {
            req.extend_from_slice(format!("ECHO {i}\r\n").as_bytes());
        }
    }
    // One write; replies are read while it is still being sent.
    let writer = c.send_raw_in_background(req);
    for i in 0..n {
        let r = c.read_reply_raw();
        assert_eq!(s(&r), s(&bulk(i.to_string().as_bytes())), "reply {i}");
    }
    assert!(writer.join().expect("writer"));
    ping(&mut c);
}

#[test]
fn a_fifty_megabyte_value_round_trips() {
    let ts = TestServer::start();
    let mut c = ts.client();
    let len = 50 * 1024 * 1024;
    let value: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    let mut req = format!("*2\r\n$4\r\nECHO\r\n${len}\r\n").into_bytes();
    req.extend_from_slice(&value);
    req.extend_from_slice(b"\r\n");
    let writer = c.send_raw_in_background(req);
    let r = c.read_reply_raw();
    assert!(writer.join().expect("writer"));
    let header = format!("${len}\r\n");
    assert_eq!(r.len(), header.len() + len + 2);
    assert_eq!(s(&r[..header.len()]), header);
    assert!(
        r[header.len()..header.len() + len] == value[..],
        "payload differs"
    );
    assert_eq!(&r[header.len() + len..], b"\r\n");
    ping(&mut c);
}

#[test]
fn a_client_that_disconnects_mid_reply_does_not_hurt_the_server() {
    let ts = TestServer::start();
    let mut bystander = ts.client();
    ping(&mut bystander);
    let baseline = connected(&ts);
    let payload = "x".repeat(4096);
    let one = encode_request(&["ECHO", payload.as_str()]);
    for round in 0..2 {
        // 32 MiB of replies the client never reads.
        let mut req = Vec::with_capacity(one.len() * 8192 + 6 * 1000);
        for i in 0..8192 {
            req.extend_from_slice(&one);
            if i % 8 == 0 {
                req.extend_from_slice(b"PING\r\n");
            }
        }
        let mut c = ts.client();
        let writer = c.send_raw_in_background(req);
        if round == 0 {
            // Wait until replies flow, so the server is mid-reply when the client goes away.
            assert_eq!(s(&c.read_reply_raw()), s(&bulk(payload.as_bytes())));
        }
        c.tcp().shutdown(Shutdown::Both).expect("shutdown");
        let _ = writer.join();
        drop(c);
        ping(&mut bystander);
        assert!(
            ts.wait_connected_clients(baseline, CLOSE_WAIT),
            "the server never dropped the connection"
        );
    }
    ping(&mut ts.client());
}

// ---------------------------------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------------------------------

#[test]
fn maxclients_refuses_the_extra_client_until_one_leaves() {
    let ts = TestServer::start_with(TestOptions {
        maxclients: 2,
        ..TestOptions::default()
    });
    let mut a = ts.client();
    let mut b = ts.client();
    ping(&mut a);
    ping(&mut b);
    let mut c = ts.client();
    assert_reply_then_closed(&mut c, b"-ERR max number of clients reached\r\n");
    ping(&mut a);
    drop(a);
    // The server notices the close asynchronously: await it, then a new client gets in.
    assert!(
        ts.wait_connected_clients(1, CLOSE_WAIT),
        "no slot freed after a client left"
    );
    let mut c = ts.client();
    ping(&mut c);
    ping(&mut b);
}

#[test]
fn query_buffer_limit_closes_only_the_offending_client() {
    let ts = TestServer::start();
    let mut admin = ts.client();
    config_set(&mut admin, "client-query-buffer-limit", "1mb");

    // An incomplete 2 MB inline request: Redis reads it in 16 KiB chunks, so the 64 KiB inline
    // limit fails it first; the client may or may not see the error before the close.
    let mut c = ts.client();
    let writer = c.send_raw_in_background(vec![b'a'; 2 * 1024 * 1024]);
    assert!(c.wait_closed(CLOSE_WAIT), "inline: not closed");
    let got = c.take_pending();
    assert!(
        got.is_empty() || got == b"-ERR Protocol error: too big inline request\r\n",
        "{:?}",
        s(&got)
    );
    let _ = writer.join();

    // An incomplete 2 MB bulk: more than 1 MB buffered closes the client, with no reply.
    let mut c = ts.client();
    let mut req = b"*2\r\n$4\r\nECHO\r\n$2097152\r\n".to_vec();
    req.extend_from_slice(&vec![b'b'; 1536 * 1024]);
    let writer = c.send_raw_in_background(req);
    assert!(c.wait_closed(CLOSE_WAIT), "bulk: not closed");
    assert_eq!(s(&c.take_pending()), "");
    let _ = writer.join();

    ping(&mut admin);
    // Under the limit is fine.
    let mut c = ts.client();
    let v = vec![b'c'; 512 * 1024];
    let writer = c.send_raw_in_background(encode_request(&[&b"ECHO"[..], &v]));
    assert_eq!(c.read_reply_raw(), bulk(&v));
    assert!(writer.join().expect("writer"));
}

#[test]
fn idle_clients_are_closed_after_timeout() {
    let ts = TestServer::start();
    // Connected and idle before the setting changes: it must still be closed.
    let mut idle = ts.client();
    ping(&mut idle);
    let mut admin = ts.client();
    config_set(&mut admin, "timeout", "1");
    assert!(
        idle.wait_closed(Duration::from_secs(5)),
        "idle client still open after 5 s with timeout 1"
    );
    assert_eq!(s(&idle.take_pending()), "");
    assert!(
        admin.wait_closed(Duration::from_secs(5)),
        "admin not closed"
    );
    // Turning it off again keeps new clients.
    let mut c = ts.client();
    config_set(&mut c, "timeout", "0");
    assert!(!c.wait_closed(Duration::from_millis(1500)));
    ping(&mut c);
}

// ---------------------------------------------------------------------------------------------------
// Authentication
// ---------------------------------------------------------------------------------------------------

const NOAUTH: &[u8] = b"-NOAUTH Authentication required.\r\n";
const WRONGPASS: &[u8] = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n";

fn with_password() -> TestServer {
    TestServer::start_with(TestOptions {
        requirepass: Some("pw".into()),
        ..TestOptions::default()
    })
}

#[test]
fn requirepass_gates_commands_until_auth() {
    let ts = with_password();
    let mut c = ts.client();
    assert_eq!(s(&c.cmd_raw(&["PING"])), s(NOAUTH));
    assert_eq!(s(&c.cmd_raw(&["CLIENT", "ID"])), s(NOAUTH));
    // Unknown commands and wrong arity are reported before authentication is checked.
    assert_eq!(
        s(&c.cmd_raw(&["NOSUCH"])),
        "-ERR unknown command 'NOSUCH', with args beginning with: \r\n"
    );
    assert_eq!(
        s(&c.cmd_raw(&["ECHO"])),
        "-ERR wrong number of arguments for 'echo' command\r\n"
    );
    assert_eq!(
        s(&c.cmd_raw(&["HELLO", "3"])),
        "-NOAUTH HELLO must be called with the client already authenticated, otherwise the \
         HELLO AUTH <user> <pass> option can be used to authenticate the client and select the \
         RESP protocol version at the same time\r\n"
    );
    assert_eq!(s(&c.cmd_raw(&["AUTH", "wrong"])), s(WRONGPASS));
    assert_eq!(s(&c.cmd_raw(&["AUTH", "default", "wrong"])), s(WRONGPASS));
    assert_eq!(s(&c.cmd_raw(&["AUTH", "nobody", "pw"])), s(WRONGPASS));
    assert_eq!(s(&c.cmd_raw(&["PING"])), s(NOAUTH));
    assert_eq!(s(&c.cmd_raw(&["AUTH", "pw"])), "+OK\r\n");
    ping(&mut c);
    // RESET forgets the authentication.
    assert_eq!(s(&c.cmd_raw(&["RESET"])), "+RESET\r\n");
    assert_eq!(s(&c.cmd_raw(&["PING"])), s(NOAUTH));
    assert_eq!(s(&c.cmd_raw(&["AUTH", "default", "pw"])), "+OK\r\n");
    ping(&mut c);

    // HELLO with AUTH authenticates and switches protocol in one go.
    let mut c = ts.client();
    match c.cmd_frame(&["HELLO", "3", "AUTH", "default", "pw"]) {
        Frame::Map(fields) => assert_eq!(fields.len(), 7),
        other => panic!("HELLO 3: {other:?}"),
    }
    ping(&mut c);

    // QUIT works unauthenticated.
    let mut c = ts.client();
    c.send_raw(b"QUIT\r\n");
    assert_reply_then_closed(&mut c, b"+OK\r\n");
}

#[test]
fn unauthenticated_clients_get_small_protocol_limits() {
    let ts = with_password();
    let mut c = ts.client();
    c.send_raw(b"*100\r\n");
    assert_reply_then_closed(
        &mut c,
        b"-ERR Protocol error: unauthenticated multibulk length\r\n",
    );
    let mut c = ts.client();
    c.send_raw(b"*2\r\n$4\r\nECHO\r\n$16385\r\n");
    assert_reply_then_closed(
        &mut c,
        b"-ERR Protocol error: unauthenticated bulk length\r\n",
    );
    // At the limits, the requests are parsed (and refused for want of authentication).
    let mut c = ts.client();
    let ten: Vec<String> = (0..10).map(|i| i.to_string()).collect();
    assert_eq!(s(&c.cmd_raw(&ten)), "-ERR unknown command '0', with args beginning with: '1' '2' '3' '4' '5' '6' '7' '8' '9' \r\n");
    assert_eq!(s(&c.cmd_raw(&["ECHO", &"e".repeat(16384)])), s(NOAUTH));
    // AUTH lifts the limits, even for a request pipelined right behind it.
    let eleven: Vec<String> = (0..11).map(|i| format!("x{i}")).collect();
    let mut req = b"AUTH pw\r\n".to_vec();
    req.extend_from_slice(&encode_request(&eleven));
    req.extend_from_slice(&encode_request(&["ECHO", &"e".repeat(20000)]));
    c.send_raw(&req);
    assert_eq!(s(&c.read_reply_raw()), "+OK\r\n");
    let r = c.read_reply_raw();
    assert!(r.starts_with(b"-ERR unknown command 'x0'"), "{:?}", s(&r));
    assert_eq!(c.read_reply_raw(), bulk("e".repeat(20000).as_bytes()));
    let hundred: Vec<String> = (0..100).map(|i| format!("y{i}")).collect();
    let r = c.cmd_raw(&hundred);
    assert!(r.starts_with(b"-ERR unknown command 'y0'"), "{:?}", s(&r));
    ping(&mut c);
}

// ---------------------------------------------------------------------------------------------------
// CLIENT KILL, CLIENT REPLY, QUIT
// ---------------------------------------------------------------------------------------------------

fn client_id(c: &mut RawClient) -> i64 {
    match c.cmd_frame(&["CLIENT", "ID"]) {
        Frame::Integer(id) => id,
        other => panic!("CLIENT ID: {other:?}"),
    }
}

#[test]
fn client_kill_id_closes_that_connection() {
    let ts = TestServer::start();
    // Three victims so at least one lives on another thread than the killer.
    let mut victims: Vec<RawClient> = (0..3).map(|_| ts.client()).collect();
    let mut killer = ts.client();
    let me = client_id(&mut killer);
    for v in &mut victims {
        let id = client_id(v).to_string();
        assert_eq!(s(&killer.cmd_raw(&["CLIENT", "KILL", "ID", &id])), ":1\r\n");
        assert_closed(v);
    }
    let me_s = me.to_string();
    // No such client.
    assert_eq!(
        s(&killer.cmd_raw(&["CLIENT", "KILL", "ID", "1000000"])),
        ":0\r\n"
    );
    // SKIPME defaults to yes; with SKIPME no a client kills itself after the reply.
    assert_eq!(
        s(&killer.cmd_raw(&["CLIENT", "KILL", "ID", &me_s])),
        ":0\r\n"
    );
    ping(&mut killer);
    killer.send_raw(&encode_request(&[
        "CLIENT", "KILL", "ID", &me_s, "SKIPME", "no",
    ]));
    assert_reply_then_closed(&mut killer, b":1\r\n");
    ping(&mut ts.client());
}

#[test]
fn client_reply_off_skip_on() {
    let ts = TestServer::start();
    let mut c = ts.client();
    // Each command in its own write, so the mode must persist across reads.
    for cmd in [
        "CLIENT REPLY OFF\r\n",
        "PING\r\n",
        "ECHO hidden\r\n",
        "CLIENT REPLY SKIP\r\n",
        "NOSUCH command\r\n",
        "CLIENT REPLY ON\r\n",
    ] {
        c.send_raw(cmd.as_bytes());
    }
    assert_eq!(s(&c.read_reply_raw()), "+OK\r\n");
    ping(&mut c);
    c.send_raw(b"CLIENT REPLY SKIP\r\n");
    c.send_raw(b"ECHO skipped\r\n");
    c.send_raw(b"ECHO shown\r\n");
    assert_eq!(s(&c.read_reply_raw()), s(&bulk(b"shown")));
    // Skip applies to the next command only, and errors are skipped too.
    c.send_raw(b"CLIENT REPLY SKIP\r\nSELECT 99\r\nSELECT 1\r\n");
    assert_eq!(s(&c.read_reply_raw()), "+OK\r\n");
    // A pipeline squashed into one write: only ON's reply and what follows.
    c.send_raw(b"CLIENT REPLY OFF\r\nECHO a\r\nECHO b\r\nCLIENT REPLY ON\r\nECHO c\r\n");
    assert_eq!(s(&c.read_reply_raw()), "+OK\r\n");
    assert_eq!(s(&c.read_reply_raw()), s(&bulk(b"c")));
    ping(&mut c);
}

#[test]
fn quit_replies_ok_and_ignores_what_follows() {
    let ts = TestServer::start();
    let mut c = ts.client();
    c.send_raw(b"PING\r\nQUIT\r\nPING\r\nECHO never\r\n");
    assert_eq!(s(&c.read_reply_raw()), s(PONG));
    assert_reply_then_closed(&mut c, b"+OK\r\n");
    let mut c = ts.client();
    c.send_raw(&encode_request(&["QUIT", "extra", "args"]));
    assert_reply_then_closed(&mut c, b"+OK\r\n");
}

// ---------------------------------------------------------------------------------------------------
// Cross-shard atomicity
// ---------------------------------------------------------------------------------------------------

/// Six keys, two on each of the server's shards.
fn keys_on_every_shard(ts: &TestServer) -> Vec<String> {
    let shards = ts.server().engine.num_shards();
    assert!(shards >= 3, "test server has {shards} shards");
    let mut per_shard = vec![0usize; shards];
    let mut keys = Vec::new();
    for i in 0.. {
        let k = format!("atomic:{i}");
        let sid = darter_engine::keys::shard_of(k.as_bytes(), shards);
        if per_shard[sid] < 2 {
            per_shard[sid] += 1;
            keys.push(k);
        }
        if per_shard.iter().all(|&n| n == 2) {
            break;
        }
    }
    keys
}

#[test]
fn mset_and_mget_are_atomic_across_shards() {
    const WRITERS: usize = 4;
    const READERS: usize = 4;
    const ITERATIONS: usize = 2000;
    let ts = TestServer::start();
    let keys = keys_on_every_shard(&ts);
    std::thread::scope(|scope| {
        for w in 0..WRITERS {
            let keys = &keys;
            let ts = &ts;
            scope.spawn(move || {
                let mut c = ts.client();
                for i in 0..ITERATIONS {
                    let v = format!("w{w}-{i}");
                    let mut args = vec!["MSET".to_string()];
                    for k in keys {
                        args.push(k.clone());
                        args.push(v.clone());
                    }
                    assert_eq!(s(&c.cmd_raw(&args)), "+OK\r\n");
                }
            });
        }
        for _ in 0..READERS {
            let keys = &keys;
            let ts = &ts;
            scope.spawn(move || {
                let mut c = ts.client();
                let mut args = vec!["MGET".to_string()];
                args.extend(keys.iter().cloned());
                for i in 0..ITERATIONS {
                    let Frame::Array(vals) = c.cmd_frame(&args) else {
                        panic!("MGET did not return an array");
                    };
                    assert_eq!(vals.len(), keys.len());
                    assert!(
                        vals.iter().all(|v| *v == vals[0]),
                        "MGET {i} saw a torn MSET: {vals:?}"
                    );
                }
            });
        }
    });
}
