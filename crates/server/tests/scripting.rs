//! Socket tests of EVAL/EVALSHA on a 3-shard server (docs/design/scripting.md):
//! - transfers by scripts over keys on three shards, declared (per-key locks) and undeclared
//!   (global), never show a wrong total to MGET readers or to scripts reading everything;
//! - a script whose key names come from data (declared first, then an undeclared key) is rolled
//!   back and rerun under the global lock, with no lost or doubled effect, under concurrent load;
//! - scripts on different threads calling into each other's shards never deadlock;
//! - EVAL inside MULTI/EXEC; BUSY, SCRIPT KILL and UNKILLABLE past `busy-reply-threshold`.

use darter_testkit::helpers::spread_keys;
use darter_testkit::{RawClient, TestServer};

const SHARDS: usize = 3;

fn sum_bulks(reply: &str) -> i64 {
    reply
        .split("\r\n")
        .skip(1)
        .filter(|l| !l.starts_with('$') && !l.is_empty())
        .map(|l| l.parse::<i64>().unwrap_or_else(|_| panic!("{reply:?}")))
        .sum()
}

const TRANSFER: &str = "local n = tonumber(ARGV[1]); \
    redis.call('decrby', KEYS[1], n); redis.call('incrby', KEYS[2], n); return n";
/// The same transfer, naming its keys only in ARGV (as job-queue libraries build key names).
const TRANSFER_UNDECLARED: &str = "local n = tonumber(ARGV[3]); \
    redis.call('decrby', ARGV[1], n); redis.call('incrby', ARGV[2], n); return n";

#[test]
fn script_transfers_declared_and_undeclared_keep_the_total() {
    let s = TestServer::start();
    let keys = spread_keys("acct", 6, SHARDS);
    let mut admin = s.client();
    for k in &keys {
        assert_eq!(admin.cmd(&["SET", k, "1000"]), "+OK\r\n");
    }
    let mut threads = Vec::new();
    for w in 0..4usize {
        let mut c = s.client();
        let keys = keys.clone();
        threads.push(std::thread::spawn(move || {
            for i in 0..200usize {
                let from = &keys[(w + i) % keys.len()];
                let to = &keys[(w * 7 + i + 1) % keys.len()];
                if from == to {
                    continue;
                }
                let n = ((i % 9) + 1).to_string();
                let r = if w % 2 == 0 {
                    c.cmd(&["EVAL", TRANSFER, "2", from, to, &n])
                } else {
                    c.cmd(&["EVAL", TRANSFER_UNDECLARED, "0", from, to, &n])
                };
                assert_eq!(r, format!(":{n}\r\n"));
            }
        }));
    }
    let total = 1000 * keys.len() as i64;
    for r in 0..2usize {
        let mut c = s.client();
        let keys = keys.clone();
        threads.push(std::thread::spawn(move || {
            for _ in 0..300 {
                let reply = if r == 0 {
                    let mut args = vec!["MGET"];
                    args.extend(keys.iter().map(|k| k.as_str()));
                    c.cmd(&args)
                } else {
                    // A script reading every key without declaring them.
                    let body = "local t = {}; for i, k in ipairs(ARGV) do \
                                t[i] = redis.call('get', k) end; return t";
                    let mut args = vec!["EVAL", body, "0"];
                    args.extend(keys.iter().map(|k| k.as_str()));
                    c.cmd(&args)
                };
                assert_eq!(sum_bulks(&reply), total, "{reply:?}");
            }
        }));
    }
    for t in threads {
        t.join().expect("worker");
    }
    let mut args = vec!["MGET"];
    args.extend(keys.iter().map(|k| k.as_str()));
    assert_eq!(sum_bulks(&admin.cmd(&args)), total);
}

/// Declares a pointer key; follows it to an undeclared key only when the pointer is set. The
/// first runs (pointer unset) teach darter the script touches only its key; later runs diverge,
/// are rolled back (the counter increment is undone) and run again under the global lock.
const FOLLOW: &str = "redis.call('incr', KEYS[1] .. ':runs'); \
    local p = redis.call('get', KEYS[1]); \
    if p then return redis.call('incr', p) end; return 0";

#[test]
fn a_script_meeting_an_undeclared_key_is_rolled_back_and_rerun_once() {
    let s = TestServer::start();
    let mut c = s.client();
    // `{k}:runs` would be undeclared: keep the counter declared by naming it as a key too.
    let follow = FOLLOW.replace("KEYS[1] .. ':runs'", "KEYS[2]");
    for _ in 0..3 {
        assert_eq!(c.cmd(&["EVAL", &follow, "2", "ptr", "runs"]), ":0\r\n");
    }
    let targets = spread_keys("target", 3, SHARDS);
    assert_eq!(c.cmd(&["SET", "ptr", &targets[1]]), "+OK\r\n");
    let mut threads = Vec::new();
    for _ in 0..4 {
        let mut c = s.client();
        let follow = follow.clone();
        threads.push(std::thread::spawn(move || {
            for _ in 0..50 {
                let r = c.cmd(&["EVAL", &follow, "2", "ptr", "runs"]);
                assert!(r.starts_with(':'), "{r:?}");
            }
        }));
    }
    for t in threads {
        t.join().expect("worker");
    }
    // Each of the 203 runs counted once: the abandoned attempt's INCR was undone.
    assert_eq!(c.cmd(&["GET", "runs"]), "$3\r\n203\r\n");
    assert_eq!(c.cmd(&["GET", &targets[1]]), "$3\r\n200\r\n");
}

#[test]
fn scripts_on_different_threads_calling_each_others_shards_do_not_deadlock() {
    let s = TestServer::start();
    let keys = spread_keys("x", SHARDS, SHARDS);
    let mut threads = Vec::new();
    for w in 0..SHARDS {
        let mut c = s.client();
        let keys = keys.clone();
        threads.push(std::thread::spawn(move || {
            // Each declares a different pair, so runs in per-key mode overlap on shards.
            let a = &keys[w];
            let b = &keys[(w + 1) % SHARDS];
            let body = "for i = 1, 5 do redis.call('incr', KEYS[1]); \
                        redis.call('incr', KEYS[2]) end; return 1";
            for _ in 0..200 {
                assert_eq!(c.cmd(&["EVAL", body, "2", a, b]), ":1\r\n");
            }
        }));
    }
    for t in threads {
        t.join().expect("worker");
    }
    let mut c = s.client();
    for k in &keys {
        assert_eq!(c.cmd(&["GET", k]), "$4\r\n2000\r\n");
    }
}

#[test]
fn eval_inside_exec_runs_in_the_transaction() {
    let s = TestServer::start();
    let mut c = s.client();
    let keys = spread_keys("m", 3, SHARDS);
    assert_eq!(c.cmd(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.cmd(&["SET", &keys[0], "5"]), "+QUEUED\r\n");
    assert_eq!(
        c.cmd(&[
            "EVAL",
            "return redis.call('incrby', ARGV[1], redis.call('get', ARGV[2]))",
            "0",
            &keys[1],
            &keys[0]
        ]),
        "+QUEUED\r\n"
    );
    assert_eq!(c.cmd(&["GET", &keys[1]]), "+QUEUED\r\n");
    assert_eq!(c.cmd(&["EXEC"]), "*3\r\n+OK\r\n:5\r\n$1\r\n5\r\n");
}

/// Waits until a PING from `c` is refused with BUSY (the script passed the threshold).
fn await_busy(c: &mut RawClient) {
    for _ in 0..1_000_000 {
        let r = c.cmd(&["PING"]);
        if r.starts_with("-BUSY") {
            assert_eq!(
                r,
                "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n"
            );
            return;
        }
        assert_eq!(r, "+PONG\r\n");
        std::thread::yield_now();
    }
    panic!("the script never became busy");
}

#[test]
fn script_kill_stops_a_busy_script_and_refuses_one_that_wrote() {
    let s = TestServer::start();
    let mut admin = s.client();
    assert_eq!(
        admin.cmd(&["CONFIG", "SET", "busy-reply-threshold", "20"]),
        "+OK\r\n"
    );
    assert_eq!(
        admin.cmd(&["SCRIPT", "KILL"]),
        "-NOTBUSY No scripts in execution right now.\r\n"
    );

    let mut runner = s.client();
    runner.send_raw(&darter_testkit::client::encode_request(&[
        "EVAL",
        "local i = 0; while true do i = i + 1 end",
        "0",
    ]));
    // `admin` and `runner` were placed on different threads (round-robin): admin is served.
    await_busy(&mut admin);
    assert_eq!(admin.cmd(&["SCRIPT", "KILL"]), "+OK\r\n");
    let r = String::from_utf8(runner.read_reply_raw()).expect("utf8");
    assert!(
        r.starts_with("-ERR Script killed by user with SCRIPT KILL..."),
        "{r:?}"
    );
    // New connections avoid a thread inside a long script, so they get BUSY rather than wait.
    assert_eq!(runner.cmd(&["PING"]), "+PONG\r\n");

    // A script that wrote cannot be killed; it ends by itself here.
    runner.send_raw(&darter_testkit::client::encode_request(&[
        "EVAL",
        "redis.call('set', KEYS[1], 'w'); local t = redis.call('time')[1]; \
         while tonumber(redis.call('time')[1]) < t + 2 do end; return 'done'",
        "1",
        "wk",
    ]));
    await_busy(&mut admin);
    let mut other = s.client();
    assert!(other.cmd(&["GET", "wk"]).starts_with("-BUSY"));
    let r = other.cmd(&["SCRIPT", "KILL"]);
    assert!(
        r.starts_with("-UNKILLABLE Sorry the script already executed write commands"),
        "{r:?}"
    );
    assert_eq!(runner.read_reply_raw(), b"$4\r\ndone\r\n");
    assert_eq!(other.cmd(&["GET", "wk"]), "$1\r\nw\r\n");
}

const LIB: &str = "#!lua name=bank\n\
redis.register_function('move', function(keys, args) \
local n = tonumber(args[1]); redis.call('decrby', keys[1], n); redis.call('incrby', keys[2], n); \
return n end)\n\
redis.register_function('move_named', function(keys, args) \
local n = tonumber(args[3]); redis.call('decrby', args[1], n); redis.call('incrby', args[2], n); \
return n end)\n\
redis.register_function('spin', function(keys, args) local i = 0; while true do i = i + 1 end end)";

#[test]
fn fcall_transfers_keep_the_total_and_function_kill_stops_a_busy_function() {
    let s = TestServer::start();
    let keys = spread_keys("f", 4, SHARDS);
    let mut admin = s.client();
    assert_eq!(admin.cmd(&["FUNCTION", "LOAD", LIB]), "$4\r\nbank\r\n");
    for k in &keys {
        assert_eq!(admin.cmd(&["SET", k, "100"]), "+OK\r\n");
    }
    let mut threads = Vec::new();
    for w in 0..4usize {
        let mut c = s.client();
        let keys = keys.clone();
        threads.push(std::thread::spawn(move || {
            for i in 0..150usize {
                let from = &keys[(w + i) % 4];
                let to = &keys[(w + 2 * i + 1) % 4];
                if from == to {
                    continue;
                }
                let r = if w % 2 == 0 {
                    c.cmd(&["FCALL", "move", "2", from, to, "3"])
                } else {
                    c.cmd(&["FCALL", "move_named", "0", from, to, "3"])
                };
                assert_eq!(r, ":3\r\n");
            }
        }));
    }
    let mut reader = s.client();
    for _ in 0..200 {
        let mut args = vec!["MGET"];
        args.extend(keys.iter().map(|k| k.as_str()));
        assert_eq!(sum_bulks(&reader.cmd(&args)), 400);
    }
    for t in threads {
        t.join().expect("worker");
    }

    assert_eq!(
        admin.cmd(&["CONFIG", "SET", "busy-reply-threshold", "20"]),
        "+OK\r\n"
    );
    let mut runner = s.client();
    // Placed round-robin right after `runner`, so on another thread: it is served.
    let mut admin = s.client();
    runner.send_raw(&darter_testkit::client::encode_request(&[
        "FCALL", "spin", "0",
    ]));
    for _ in 0..1_000_000 {
        let r = admin.cmd(&["PING"]);
        if r.starts_with("-BUSY") {
            assert_eq!(r, "-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n");
            break;
        }
        std::thread::yield_now();
    }
    let stats = admin.cmd(&["FUNCTION", "STATS"]);
    assert!(stats.contains("$4\r\nspin\r\n"), "{stats:?}");
    assert!(admin.cmd(&["SCRIPT", "KILL"]).starts_with("-BUSY"));
    assert_eq!(admin.cmd(&["FUNCTION", "KILL"]), "+OK\r\n");
    let r = String::from_utf8(runner.read_reply_raw()).expect("utf8");
    assert!(
        r.starts_with("-ERR Script killed by user with SCRIPT KILL..."),
        "{r:?}"
    );
}

/// On one thread every declared key is local, so per-key runs go without a transaction: a script
/// calling a command that cannot run inline (TIME) falls back to one with its effects counted
/// once, a data-dependent script is still undone and rerun, and transfers keep their total.
#[test]
fn runs_without_a_transaction_on_the_local_shard_stay_exact() {
    let s = TestServer::start_with(darter_testkit::TestOptions {
        threads: 1,
        ..Default::default()
    });
    let mut c = s.client();
    let with_time =
        "redis.call('incr', KEYS[1]); redis.call('time'); return redis.call('get', KEYS[1])";
    for i in 1..=20 {
        assert_eq!(
            c.cmd(&["EVAL", with_time, "1", "t"]),
            format!("${}\r\n{i}\r\n", i.to_string().len())
        );
    }
    let follow = FOLLOW.replace("KEYS[1] .. ':runs'", "KEYS[2]");
    for _ in 0..3 {
        assert_eq!(c.cmd(&["EVAL", &follow, "2", "ptr", "runs"]), ":0\r\n");
    }
    assert_eq!(c.cmd(&["SET", "ptr", "target"]), "+OK\r\n");
    for i in 1..=5 {
        assert_eq!(
            c.cmd(&["EVAL", &follow, "2", "ptr", "runs"]),
            format!(":{i}\r\n")
        );
    }
    assert_eq!(c.cmd(&["GET", "runs"]), "$1\r\n8\r\n");

    let keys = ["a", "b", "c"];
    for k in keys {
        assert_eq!(c.cmd(&["SET", k, "100"]), "+OK\r\n");
    }
    let mut threads = Vec::new();
    for w in 0..3usize {
        let mut c = s.client();
        threads.push(std::thread::spawn(move || {
            for i in 0..200usize {
                let (from, to) = (keys[(w + i) % 3], keys[(w + i + 1) % 3]);
                assert_eq!(c.cmd(&["EVAL", TRANSFER, "2", from, to, "2"]), ":2\r\n");
            }
        }));
    }
    for _ in 0..200 {
        assert_eq!(sum_bulks(&c.cmd(&["MGET", "a", "b", "c"])), 300);
    }
    for t in threads {
        t.join().expect("worker");
    }
    assert_eq!(sum_bulks(&c.cmd(&["MGET", "a", "b", "c"])), 300);
}
