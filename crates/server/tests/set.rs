//! Socket tests of the set family: OBJECT ENCODING transitions under configured thresholds,
//! cross-shard SINTER/SUNION/SDIFF (and STORE, SINTERCARD) against a local model on sets too big
//! for the differential script's ordering, RESP3 reply types, SSCAN's promise while the set grows,
//! and SMOVE atomicity under concurrent SUNION/SUNIONSTORE/SINTERCARD observers.

use darter_engine::keys::shard_of;
use darter_resp::Frame;
use darter_testkit::helpers::{bulk, int, spread_keys, Rng, OK};
use darter_testkit::{RawClient, TestServer};
use std::collections::BTreeSet;

const SHARDS: usize = 3;

fn cmd(c: &mut RawClient, args: &[&str]) -> Frame {
    c.cmd_frame(args)
}

fn text(f: &Frame) -> String {
    match f {
        Frame::Bulk(b) | Frame::Simple(b) => String::from_utf8_lossy(b).into_owned(),
        Frame::Integer(i) => i.to_string(),
        other => panic!("not a scalar: {other:?}"),
    }
}

/// The members of an array or set reply, checking none repeats.
fn members(f: &Frame) -> BTreeSet<String> {
    let items = match f {
        Frame::Array(v) | Frame::Set(v) => v,
        other => panic!("not a collection: {other:?}"),
    };
    let set: BTreeSet<String> = items.iter().map(text).collect();
    assert_eq!(set.len(), items.len(), "a member repeats in {f:?}");
    set
}

fn integer(f: &Frame) -> i64 {
    match f {
        Frame::Integer(i) => *i,
        other => panic!("not an integer: {other:?}"),
    }
}

fn sadd(c: &mut RawClient, key: &str, ms: &[String]) {
    let mut args: Vec<&str> = vec!["SADD", key];
    args.extend(ms.iter().map(String::as_str));
    c.cmd(&args);
}

fn encoding(c: &mut RawClient, key: &str) -> String {
    c.cmd(&["OBJECT", "ENCODING", key])
}

#[test]
fn encodings_follow_the_configured_thresholds() {
    let s = TestServer::start();
    let mut c = s.client();
    assert_eq!(c.cmd(&["CONFIG", "SET", "set-max-intset-entries", "4"]), OK);
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "set-max-listpack-entries", "6"]),
        OK
    );
    assert_eq!(c.cmd(&["CONFIG", "SET", "set-max-listpack-value", "8"]), OK);

    // intset up to 4 integers, then a hashtable (never a listpack for too many integers).
    c.cmd(&["SADD", "e", "1", "2", "3", "4"]);
    assert_eq!(encoding(&mut c, "e"), bulk("intset"));
    c.cmd(&["SADD", "e", "5"]);
    assert_eq!(encoding(&mut c, "e"), bulk("hashtable"));
    // intset meeting a short string: listpack, until 6 members.
    c.cmd(&["SADD", "f", "1", "2"]);
    c.cmd(&["SADD", "f", "abc"]);
    assert_eq!(encoding(&mut c, "f"), bulk("listpack"));
    c.cmd(&["SADD", "f", "d", "e", "f"]);
    assert_eq!(encoding(&mut c, "f"), bulk("listpack"));
    c.cmd(&["SADD", "f", "g"]);
    assert_eq!(encoding(&mut c, "f"), bulk("hashtable"));
    // Never back: removing members keeps the hashtable.
    c.cmd(&["SREM", "f", "1", "2", "abc", "d", "e", "f"]);
    assert_eq!(encoding(&mut c, "f"), bulk("hashtable"));
    // An intset whose widest integer exceeds the listpack value limit: a string makes a hashtable.
    c.cmd(&["SADD", "g", "123456789"]);
    c.cmd(&["SADD", "g", "x"]);
    assert_eq!(encoding(&mut c, "g"), bulk("hashtable"));
    // A long first member.
    c.cmd(&["SADD", "h", "longer-than-8"]);
    assert_eq!(encoding(&mut c, "h"), bulk("hashtable"));
    // SADD's member count as a hint: 7 members at once skip the listpack.
    c.cmd(&["SADD", "i", "a", "b", "c", "d", "e", "f", "a"]);
    assert_eq!(encoding(&mut c, "i"), bulk("hashtable"));
    // SPOP keeping few members of a hashtable rebuilds a listpack.
    let ms: Vec<String> = (0..20).map(|i| format!("m{i}")).collect();
    sadd(&mut c, "p", &ms);
    assert_eq!(encoding(&mut c, "p"), bulk("hashtable"));
    assert_eq!(members(&cmd(&mut c, &["SPOP", "p", "18"])).len(), 18);
    assert_eq!(encoding(&mut c, "p"), bulk("listpack"));
    assert_eq!(c.cmd(&["SCARD", "p"]), int(2));

    // Cross-shard stores: sources on different shards than the destination.
    let keys = spread_keys("enc", 3, SHARDS);
    let (a, b, d) = (&keys[0], &keys[1], &keys[2]);
    c.cmd(&["SADD", a, "x", "1", "2", "3"]);
    c.cmd(&["SADD", b, "y", "2", "3"]);
    assert_eq!(encoding(&mut c, a), bulk("listpack"));
    assert_eq!(c.cmd(&["SINTERSTORE", d, a, b]), int(2));
    assert_eq!(encoding(&mut c, d), bulk("intset"));
    assert_eq!(c.cmd(&["SUNIONSTORE", d, a, b]), int(5));
    assert_eq!(encoding(&mut c, d), bulk("listpack"));
    assert_eq!(c.cmd(&["SDIFFSTORE", d, a, b]), int(2));
    assert_eq!(encoding(&mut c, d), bulk("listpack"));
    c.cmd(&["SADD", b, "a1", "a2", "a3", "a4"]);
    assert_eq!(c.cmd(&["SUNIONSTORE", d, a, b]), int(9));
    assert_eq!(encoding(&mut c, d), bulk("hashtable"));
    // SMOVE into a new key on another shard: intset for an integer.
    assert_eq!(c.cmd(&["SMOVE", a, "newkey-0", "1"]), int(1));
    assert_eq!(encoding(&mut c, "newkey-0"), bulk("intset"));
}

/// Deterministic pseudo-random numbers for the tests.
#[test]
fn algebra_across_shards_matches_a_model() {
    let s = TestServer::start();
    let mut c = s.client();
    let keys = spread_keys("alg", 6, SHARDS);
    let shards: BTreeSet<usize> = keys
        .iter()
        .map(|k| shard_of(k.as_bytes(), SHARDS))
        .collect();
    assert_eq!(shards.len(), SHARDS);
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut model: Vec<BTreeSet<String>> = Vec::new();
    for (i, k) in keys[..4].iter().enumerate() {
        // Sizes on both sides of the listpack limit; members overlap between sets.
        let n = [40, 300, 150, 700][i];
        let ms: Vec<String> = (0..n).map(|_| format!("v{}", rng.next(800))).collect();
        sadd(&mut c, k, &ms);
        model.push(ms.into_iter().collect());
    }
    let (a, b, cc, d) = (&keys[0], &keys[1], &keys[2], &keys[3]);
    let (dst, dst2) = (&keys[4], &keys[5]);

    let inter: BTreeSet<String> = model[1]
        .iter()
        .filter(|m| model[2].contains(*m) && model[3].contains(*m))
        .cloned()
        .collect();
    assert!(!inter.is_empty());
    assert_eq!(members(&cmd(&mut c, &["SINTER", b, cc, d])), inter);
    assert_eq!(
        integer(&cmd(&mut c, &["SINTERCARD", "3", b, cc, d])),
        inter.len() as i64
    );
    assert_eq!(
        integer(&cmd(&mut c, &["SINTERCARD", "3", b, cc, d, "LIMIT", "1"])),
        1
    );
    assert_eq!(
        integer(&cmd(&mut c, &["SINTERSTORE", dst, b, cc, d])),
        inter.len() as i64
    );
    assert_eq!(members(&cmd(&mut c, &["SMEMBERS", dst])), inter);

    let union: BTreeSet<String> = model.iter().flatten().cloned().collect();
    assert_eq!(
        members(&cmd(&mut c, &["SUNION", a, b, cc, d, "nokey"])),
        union
    );
    assert_eq!(
        integer(&cmd(&mut c, &["SUNIONSTORE", dst2, a, b, cc, d])),
        union.len() as i64
    );
    assert_eq!(members(&cmd(&mut c, &["SMEMBERS", dst2])), union);

    let diff: BTreeSet<String> = model[3]
        .iter()
        .filter(|m| !model[0].contains(*m) && !model[1].contains(*m))
        .cloned()
        .collect();
    assert_eq!(members(&cmd(&mut c, &["SDIFF", d, a, b])), diff);
    assert_eq!(
        integer(&cmd(&mut c, &["SDIFFSTORE", dst, d, a, b])),
        diff.len() as i64
    );
    assert_eq!(members(&cmd(&mut c, &["SMEMBERS", dst])), diff);
    // A store over its own source.
    assert_eq!(
        integer(&cmd(&mut c, &["SUNIONSTORE", dst, dst, a])),
        (&diff | &model[0]).len() as i64
    );
    // An empty result deletes the destination wherever it lives.
    assert_eq!(c.cmd(&["SINTERSTORE", dst2, a, "nokey"]), int(0));
    assert_eq!(c.cmd(&["EXISTS", dst2]), int(0));
    // WRONGTYPE on any shard, and the destination left alone.
    c.cmd(&["SET", dst2, "str"]);
    assert!(c
        .cmd(&["SUNIONSTORE", dst, a, dst2])
        .starts_with("-WRONGTYPE"));
    assert_eq!(c.cmd(&["EXISTS", dst]), int(1));
    assert!(c
        .cmd(&["SINTERCARD", "2", a, dst2])
        .starts_with("-WRONGTYPE"));
}

#[test]
fn resp3_reply_types() {
    let s = TestServer::start();
    let mut c = s.client();
    c.cmd(&["HELLO", "3"]);
    let keys = spread_keys("r3", 2, SHARDS);
    c.cmd(&["SADD", &keys[0], "1", "2", "3"]);
    c.cmd(&["SADD", &keys[1], "2", "3", "4"]);
    assert!(matches!(
        cmd(&mut c, &["SMEMBERS", &keys[0]]),
        Frame::Set(_)
    ));
    assert!(matches!(
        cmd(&mut c, &["SINTER", &keys[0], &keys[1]]),
        Frame::Set(_)
    ));
    assert!(matches!(
        cmd(&mut c, &["SUNION", &keys[0], &keys[1]]),
        Frame::Set(_)
    ));
    assert!(matches!(
        cmd(&mut c, &["SDIFF", &keys[0], &keys[1]]),
        Frame::Set(_)
    ));
    assert!(matches!(cmd(&mut c, &["SMEMBERS", "nokey"]), Frame::Set(_)));
    assert!(matches!(
        cmd(&mut c, &["SRANDMEMBER", &keys[0], "2"]),
        Frame::Array(_)
    ));
    assert!(matches!(
        cmd(&mut c, &["SRANDMEMBER", &keys[0], "-5"]),
        Frame::Array(_)
    ));
    assert!(matches!(
        cmd(&mut c, &["SRANDMEMBER", "nokey", "2"]),
        Frame::Array(_)
    ));
    assert!(matches!(
        cmd(&mut c, &["SPOP", &keys[0], "2"]),
        Frame::Set(_)
    ));
    assert!(matches!(
        cmd(&mut c, &["SPOP", "nokey", "2"]),
        Frame::Set(_)
    ));
    assert_eq!(cmd(&mut c, &["SPOP", "nokey"]), Frame::Null);
    assert_eq!(cmd(&mut c, &["SRANDMEMBER", "nokey"]), Frame::Null);
}

#[test]
fn random_commands_return_members() {
    let s = TestServer::start();
    let mut c = s.client();
    let ms: Vec<String> = (0..200).map(|i| format!("m{i}")).collect();
    let all: BTreeSet<String> = ms.iter().cloned().collect();
    sadd(&mut c, "r", &ms);
    for count in ["1", "5", "67", "150", "199", "200", "500"] {
        let got = members(&cmd(&mut c, &["SRANDMEMBER", "r", count]));
        assert_eq!(got.len(), count.parse::<usize>().unwrap().min(200));
        assert!(got.is_subset(&all));
    }
    let Frame::Array(rep) = cmd(&mut c, &["SRANDMEMBER", "r", "-1000"]) else {
        panic!("an array");
    };
    assert_eq!(rep.len(), 1000);
    assert!(rep.iter().all(|f| all.contains(&text(f))));
    let one = text(&cmd(&mut c, &["SRANDMEMBER", "r"]));
    assert!(all.contains(&one));
    // SPOP takes distinct members out until none is left.
    let mut popped = BTreeSet::new();
    for count in ["1", "30", "100"] {
        let got = members(&cmd(&mut c, &["SPOP", "r", count]));
        assert!(got.is_disjoint(&popped));
        popped.extend(got);
    }
    popped.insert(text(&cmd(&mut c, &["SPOP", "r"])));
    assert_eq!(popped.len(), 132);
    let rest = members(&cmd(&mut c, &["SPOP", "r", "1000"]));
    assert_eq!(&rest | &popped, all);
    assert_eq!(c.cmd(&["EXISTS", "r"]), int(0));
}

/// SSCAN returns every member present for the whole scan, even while the set keeps growing or
/// shrinking (its table doubles or halves between steps).
#[test]
fn sscan_survives_growth() {
    let s = TestServer::start();
    let mut c = s.client();
    let base: Vec<String> = (0..1000).map(|i| format!("b{i}")).collect();
    sadd(&mut c, "g", &base);
    let mut seen = BTreeSet::new();
    let mut cursor = "0".to_string();
    let mut step = 0;
    loop {
        let Frame::Array(rep) = cmd(&mut c, &["SSCAN", "g", &cursor, "COUNT", "50"]) else {
            panic!("an array");
        };
        cursor = text(&rep[0]);
        seen.extend(members(&rep[1]));
        let extra: Vec<String> = (0..100).map(|i| format!("x{step}-{i}")).collect();
        sadd(&mut c, "g", &extra);
        step += 1;
        if cursor == "0" {
            break;
        }
    }
    assert!(step > 1);
    assert!(base.iter().all(|m| seen.contains(m)), "a member was missed");

    // And while it shrinks: removing the other members between steps halves the table.
    let extra: Vec<String> = (0..4000).map(|i| format!("y{i}")).collect();
    sadd(&mut c, "k", &base);
    sadd(&mut c, "k", &extra);
    let mut seen = BTreeSet::new();
    let mut cursor = "0".to_string();
    let mut chunks = extra.chunks(400);
    loop {
        let Frame::Array(rep) = cmd(&mut c, &["SSCAN", "k", &cursor, "COUNT", "100"]) else {
            panic!("an array");
        };
        cursor = text(&rep[0]);
        seen.extend(members(&rep[1]));
        if let Some(chunk) = chunks.next() {
            let mut args: Vec<&str> = vec!["SREM", "k"];
            args.extend(chunk.iter().map(String::as_str));
            c.cmd(&args);
        }
        if cursor == "0" {
            break;
        }
    }
    assert!(
        base.iter().all(|m| seen.contains(m)),
        "a member was missed while shrinking"
    );
}

/// Movers SMOVE members between sets on different shards while observers take whole-view
/// snapshots: every SUNION and SUNIONSTORE sees exactly the invariant total, every SINTERCARD
/// of two sets sees no member in both, and at the end nothing was lost or duplicated.
#[test]
fn smove_is_atomic_for_concurrent_unions() {
    const TOTAL: usize = 60;
    const MOVERS: usize = 3;
    const OBSERVERS: usize = 2;
    const ROUNDS: usize = 400;
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
        sadd(&mut c, k, &all[i * 15..(i + 1) * 15]);
    }
    let dests = spread_keys("snap", OBSERVERS, SHARDS);

    std::thread::scope(|scope| {
        for t in 0..MOVERS {
            let (keys, all, mut c) = (&keys, &all, s.client());
            scope.spawn(move || {
                let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (t as u64 + 1));
                let mut moved = 0;
                for _ in 0..ROUNDS {
                    let src = rng.next(keys.len());
                    let dst = (src + 1 + rng.next(keys.len() - 1)) % keys.len();
                    let m = &all[rng.next(all.len())];
                    let r = c.cmd(&["SMOVE", &keys[src], &keys[dst], m]);
                    assert!(r == int(0) || r == int(1), "SMOVE replied {r:?}");
                    moved += usize::from(r == int(1));
                }
                assert!(moved > 0);
            });
        }
        for dest in &dests {
            let (keys, mut c) = (&keys, s.client());
            scope.spawn(move || {
                let mut union: Vec<&str> = vec!["SUNION"];
                union.extend(keys.iter().map(String::as_str));
                let mut store: Vec<&str> = vec!["SUNIONSTORE", dest];
                store.extend(keys.iter().map(String::as_str));
                for r in 0..ROUNDS {
                    assert_eq!(members(&cmd(&mut c, &union)).len(), TOTAL);
                    assert_eq!(c.cmd(&store), int(TOTAL as i64));
                    let (i, j) = (r % keys.len(), (r + 1) % keys.len());
                    assert_eq!(
                        c.cmd(&["SINTERCARD", "2", &keys[i], &keys[j]]),
                        int(0),
                        "a member in two sets at once"
                    );
                }
            });
        }
    });

    let mut union: Vec<&str> = vec!["SUNION"];
    union.extend(keys.iter().map(String::as_str));
    let got = members(&cmd(&mut c, &union));
    assert_eq!(got, all.iter().cloned().collect::<BTreeSet<_>>());
    let total: i64 = keys
        .iter()
        .map(|k| integer(&cmd(&mut c, &["SCARD", k])))
        .sum();
    assert_eq!(total, TOTAL as i64);
}
