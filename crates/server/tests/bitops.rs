//! Socket tests of the bit operations: BITOP across three shards is atomic under concurrent
//! SETBITs, and its destination is written (or deleted) on a shard none of its sources is on.
//! (Replies against real Redis: tests/diff/bitops.redis, run by differential.rs.)

use darter_engine::keys::shard_of;
use darter_testkit::helpers::{int, spread_keys, NIL};
use darter_testkit::TestServer;
use std::sync::atomic::{AtomicBool, Ordering};

const SHARDS: usize = 3;

fn parse_int(reply: &str) -> i64 {
    reply
        .strip_prefix(':')
        .and_then(|r| r.strip_suffix("\r\n"))
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("not an integer reply: {reply:?}"))
}

#[test]
fn bitop_writes_and_deletes_a_destination_on_another_shard() {
    let s = TestServer::start();
    let mut c = s.client();
    let keys = spread_keys("bo", 3, SHARDS);
    let (a, b, dst) = (&keys[0], &keys[1], &keys[2]);
    let shards: Vec<usize> = keys
        .iter()
        .map(|k| shard_of(k.as_bytes(), SHARDS))
        .collect();
    assert_eq!(shards, vec![0, 1, 2]);
    c.cmd(&["SET", a, "\x0f"]);
    c.cmd(&["SETBIT", b, "12", "1"]);
    assert_eq!(c.cmd(&["BITOP", "OR", dst, a, b]), int(2));
    assert_eq!(c.cmd(&["BITCOUNT", dst]), int(5));
    assert_eq!(c.cmd(&["BITPOS", dst, "1", "1"]), int(12));
    assert_eq!(c.cmd(&["BITOP", "AND", dst, a, "nokey"]), int(1));
    assert_eq!(c.cmd(&["BITCOUNT", dst]), int(0));
    assert_eq!(c.cmd(&["BITOP", "XOR", dst, "nokey1", "nokey2"]), int(0));
    assert_eq!(c.cmd(&["GET", dst]), NIL);
    c.cmd(&["LPUSH", "lst", "x"]);
    c.cmd(&["SET", dst, "kept"]);
    assert!(c
        .cmd(&["BITOP", "OR", dst, a, "lst", b])
        .starts_with("-WRONGTYPE"));
    assert_eq!(c.cmd(&["GET", dst]), "$4\r\nkept\r\n");
}

/// One writer sets bits 0..N of `a` and then of `b` in step (each bit first in `a`, then in
/// `b`), then clears them the same way. Any single moment has `a` and `b` differing in at most
/// one bit, so a BITOP XOR that reads both at one moment yields at most one set bit, and a BITOP
/// AND yields a prefix of ones. Readers run BITOP on the two source shards into a destination on
/// the third.
#[test]
fn bitop_across_three_shards_is_atomic_under_concurrent_setbit() {
    const BITS: usize = 48;
    const ROUNDS: usize = 40;
    const READERS: usize = 3;
    let s = TestServer::start();
    let src = spread_keys("src", 2, SHARDS);
    let dests: Vec<String> = spread_keys("dst", 3 * READERS, SHARDS)
        .into_iter()
        .skip(2)
        .step_by(3)
        .collect();
    assert_eq!(shard_of(src[0].as_bytes(), SHARDS), 0);
    assert_eq!(shard_of(src[1].as_bytes(), SHARDS), 1);
    assert!(dests.iter().all(|d| shard_of(d.as_bytes(), SHARDS) == 2));
    let done = AtomicBool::new(false);
    let checks = std::thread::scope(|scope| {
        let (src, done) = (&src, &done);
        let mut c = s.client();
        let writer = scope.spawn(move || {
            for r in 0..ROUNDS {
                let on = if r % 2 == 0 { "1" } else { "0" };
                for i in 0..BITS {
                    let i = i.to_string();
                    for k in src {
                        let old = parse_int(&c.cmd(&["SETBIT", k, &i, on]));
                        assert_eq!(old.to_string(), if on == "1" { "0" } else { "1" });
                    }
                }
            }
            done.store(true, Ordering::Release);
        });
        let readers: Vec<_> = dests
            .iter()
            .map(|dst| {
                let mut c = s.client();
                scope.spawn(move || {
                    let mut n = 0;
                    while !done.load(Ordering::Acquire) || n == 0 {
                        c.cmd(&["BITOP", "XOR", dst, &src[0], &src[1]]);
                        let diff = parse_int(&c.cmd(&["BITCOUNT", dst]));
                        assert!(diff <= 1, "XOR saw {diff} differing bits");
                        c.cmd(&["BITOP", "AND", dst, &src[0], &src[1]]);
                        let ones = parse_int(&c.cmd(&["BITCOUNT", dst]));
                        let first_zero = parse_int(&c.cmd(&["BITPOS", dst, "0"]));
                        // Ones form a prefix while setting; while clearing, a suffix of the
                        // first BITS bits: either way they are contiguous.
                        let first_one = parse_int(&c.cmd(&["BITPOS", dst, "1"]));
                        if ones > 0 {
                            let end = if first_one == 0 {
                                first_zero
                            } else {
                                BITS as i64
                            };
                            assert_eq!(end - first_one, ones, "AND ones not contiguous");
                        }
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        writer.join().expect("writer");
        readers
            .into_iter()
            .map(|r| r.join().expect("reader"))
            .sum::<usize>()
    });
    assert!(checks > 0);
}
