//! Socket tests of the HyperLogLog family: PFCOUNT and PFMERGE over keys on every shard, and
//! their single-transaction reads under concurrent writers. (The HLL differential script, with
//! its byte-for-byte comparisons of stored values, runs in differential.rs.)

use darter_engine::keys::shard_of;
use darter_testkit::helpers::{spread_keys, OK};
use darter_testkit::TestServer;
use std::collections::BTreeSet;

const SHARDS: usize = 3;

fn on_all_shards(keys: &[String]) {
    let shards: BTreeSet<usize> = keys
        .iter()
        .map(|k| shard_of(k.as_bytes(), SHARDS))
        .collect();
    assert_eq!(shards.len(), SHARDS);
}

#[test]
fn union_and_merge_across_shards() {
    let s = TestServer::start();
    let mut c = s.client();
    let k = spread_keys("hl", 4, SHARDS);
    on_all_shards(&k[..3]);
    let mut all: Vec<String> = vec!["PFADD".into(), "all".into()];
    for (i, key) in k[..3].iter().enumerate() {
        let elems: Vec<String> = (0..(300 + 1000 * i)).map(|j| format!("{i}-{j}")).collect();
        let mut cmd = vec!["PFADD".to_string(), key.clone()];
        cmd.extend(elems.iter().cloned());
        assert_eq!(c.cmd(&cmd), ":1\r\n");
        all.extend(elems);
    }
    c.cmd(&all);
    let want = c.cmd(&["PFCOUNT", "all"]);
    assert_eq!(c.cmd(&["PFCOUNT", &k[0], &k[1], &k[2], "nokey"]), want);
    // The destination is a source too; merging twice changes nothing.
    assert_eq!(c.cmd(&["PFMERGE", &k[3], &k[0], &k[1], &k[2]]), OK);
    assert_eq!(c.cmd(&["PFMERGE", &k[3], &k[0], &k[1]]), OK);
    assert_eq!(c.cmd(&["PFCOUNT", &k[3]]), want);
    let regs =
        |c: &mut darter_testkit::RawClient, key: &str| c.cmd_raw(&["GETRANGE", key, "16", "-1"]);
    assert_eq!(regs(&mut c, &k[3]), regs(&mut c, "all"));
    // A bad source on another shard fails the whole merge and writes nothing.
    assert_eq!(c.cmd(&["SET", &k[1], "not an hll at all"]), OK);
    assert_eq!(
        c.cmd(&["PFMERGE", "fresh", &k[0], &k[1], &k[2]]),
        "-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n"
    );
    assert_eq!(c.cmd(&["EXISTS", "fresh"]), ":0\r\n");
    assert_eq!(
        c.cmd(&["PFCOUNT", &k[0], &k[1], &k[2]]),
        "-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n"
    );
}

/// Writers swap two keys on different shards between HLLs of {p} and of {q} with MSET (atomic);
/// PFCOUNT of both keys, and PFMERGE of both into a fresh key, must always see one MSET whole:
/// a count of 1, never the 2 of a torn read.
#[test]
fn multi_key_reads_see_one_snapshot() {
    const ROUNDS: usize = 300;
    let s = TestServer::start();
    let mut c = s.client();
    let k = spread_keys("snap", 3, SHARDS);
    on_all_shards(&k);
    assert_eq!(c.cmd(&["PFADD", "tp", "p"]), ":1\r\n");
    assert_eq!(c.cmd(&["PFADD", "tq", "q"]), ":1\r\n");
    let hp = c.cmd_raw(&["GET", "tp"]);
    let hq = c.cmd_raw(&["GET", "tq"]);
    // cmd_raw returns the whole bulk reply: cut "$len\r\n" and the trailing CRLF.
    let body = |r: &[u8]| {
        let start = r.iter().position(|&b| b == b'\n').unwrap() + 1;
        r[start..r.len() - 2].to_vec()
    };
    let (hp, hq) = (body(&hp), body(&hq));
    let mset = |v: &[u8]| -> Vec<Vec<u8>> {
        vec![
            b"MSET".to_vec(),
            k[0].as_bytes().to_vec(),
            v.to_vec(),
            k[1].as_bytes().to_vec(),
            v.to_vec(),
        ]
    };
    assert_eq!(c.cmd(&mset(&hp)), OK);
    std::thread::scope(|scope| {
        let mut w = s.client();
        let (a, b) = (mset(&hp), mset(&hq));
        scope.spawn(move || {
            for r in 0..ROUNDS {
                assert_eq!(w.cmd(if r % 2 == 0 { &b } else { &a }), OK);
            }
        });
        let mut r1 = s.client();
        let k1 = &k;
        scope.spawn(move || {
            for _ in 0..ROUNDS {
                assert_eq!(
                    r1.cmd(&["PFCOUNT", &k1[0], &k1[1]]),
                    ":1\r\n",
                    "torn PFCOUNT"
                );
            }
        });
        let mut r2 = s.client();
        scope.spawn(move || {
            for i in 0..ROUNDS {
                let dst = format!("{}-{i}", k1[2]);
                assert_eq!(r2.cmd(&["PFMERGE", &dst, &k1[0], &k1[1]]), OK);
                assert_eq!(r2.cmd(&["PFCOUNT", &dst]), ":1\r\n", "torn PFMERGE");
            }
        });
    });
}
