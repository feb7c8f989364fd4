//! Unit tests of the sorted-set family's `op_*` functions, parsers and algebra on a bare
//! `DbSlice` (no server, no shards). Replies against real Redis live in
//! crates/server/tests/diff/zset.redis; cross-shard atomicity and blocking pops over sockets in
//! crates/server/tests/zset.rs.

use super::store::{compute, op_store, parse_algebra_opts, parse_numkeys, Computed, Src};
use super::*;
use std::collections::{BTreeMap, HashMap};

const NOW: u64 = 1_700_000_000_000;

fn l() -> Limits {
    Limits::default()
}

fn args(v: &[&str]) -> Vec<Bytes> {
    v.iter()
        .map(|a| Bytes::copy_from_slice(a.as_bytes()))
        .collect()
}

fn rnd() -> impl FnMut(usize) -> usize {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    move |n| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n.max(1) as u64) as usize
    }
}

/// ZADD through the parser, as the command does.
fn zadd(d: &mut DbSlice, cmd: &[&str]) -> Result<ZAddDone, ZAddError> {
    let a = args(cmd);
    let p = parse_zadd(&a, false).expect("valid ZADD");
    op_zadd(d, &a[1], &p, &a, &l(), NOW)
}

fn zset<'a>(d: &'a mut DbSlice, key: &str) -> &'a mut ZSetValue {
    find_zset(d, key.as_bytes(), NOW)
        .expect("a zset")
        .expect("present")
}

fn entries(d: &mut DbSlice, key: &str) -> Vec<(Vec<u8>, f64)> {
    match find_zset(d, key.as_bytes(), NOW).expect("a zset") {
        Some(z) => z.iter().map(|(m, s)| (m.to_vec(), s)).collect(),
        None => Vec::new(),
    }
}

fn pairs(v: &[(&str, f64)]) -> Vec<(Vec<u8>, f64)> {
    v.iter().map(|(m, s)| (m.as_bytes().to_vec(), *s)).collect()
}

#[test]
fn zadd_counts_and_creates_by_the_first_member() {
    let mut d = DbSlice::new();
    let r = zadd(&mut d, &["ZADD", "z", "1", "a", "2", "b"]).unwrap();
    assert_eq!((r.added, r.updated), (2, 0));
    assert_eq!(zset(&mut d, "z").encoding_name(), "listpack");
    let r = zadd(&mut d, &["ZADD", "z", "CH", "5", "a", "3", "c", "2", "b"]).unwrap();
    assert_eq!((r.added, r.updated), (1, 1));
    assert_eq!(
        entries(&mut d, "z"),
        pairs(&[("b", 2.0), ("c", 3.0), ("a", 5.0)])
    );
    // XX on a missing key creates nothing.
    let r = zadd(&mut d, &["ZADD", "none", "XX", "1", "a"]).unwrap();
    assert_eq!(r.added, 0);
    assert!(find_zset(&mut d, b"none", NOW).unwrap().is_none());
    // A first member longer than zset-max-listpack-value makes a tree at once.
    let long = "x".repeat(65);
    zadd(&mut d, &["ZADD", "t", "1", &long]).unwrap();
    assert_eq!(zset(&mut d, "t").encoding_name(), "skiplist");
}

#[test]
fn zadd_converts_past_the_entry_limit_and_never_back() {
    let mut d = DbSlice::new();
    let mut cmd = vec!["ZADD".to_string(), "z".to_string()];
    for i in 0..128 {
        cmd.push(i.to_string());
        cmd.push(format!("m{i}"));
    }
    let refs: Vec<&str> = cmd.iter().map(String::as_str).collect();
    zadd(&mut d, &refs).unwrap();
    assert_eq!(zset(&mut d, "z").encoding_name(), "listpack");
    zadd(&mut d, &["ZADD", "z", "200", "one-more"]).unwrap();
    assert_eq!(zset(&mut d, "z").encoding_name(), "skiplist");
    let k = args(&["z", "one-more", "m0"]);
    op_zrem(&mut d, &k[0], &k[1..], NOW).unwrap();
    assert_eq!(zset(&mut d, "z").encoding_name(), "skiplist");
    zset(&mut d, "z").check();
}

#[test]
fn zadd_incr_and_nan() {
    let mut d = DbSlice::new();
    let a = args(&["ZADD", "z", "INCR", "+inf", "a"]);
    let p = parse_zadd(&a, false).unwrap();
    let r = op_zadd(&mut d, &a[1], &p, &a, &l(), NOW).unwrap();
    assert_eq!(r.score, Some(f64::INFINITY));
    let a = args(&["ZINCRBY", "z", "-inf", "a"]);
    let p = parse_zadd(&a, true).unwrap();
    assert_eq!(
        op_zadd(&mut d, &a[1], &p, &a, &l(), NOW),
        Err(ZAddError::Nan)
    );
    assert_eq!(entries(&mut d, "z"), pairs(&[("a", f64::INFINITY)]));
    let a = args(&["ZADD", "z", "INCR", "GT", "-1", "a"]);
    let p = parse_zadd(&a, false).unwrap();
    assert_eq!(
        op_zadd(&mut d, &a[1], &p, &a, &l(), NOW).unwrap().score,
        None
    );
}

#[test]
fn zadd_parse_errors_in_redis_order() {
    let e = |v: &[&str]| parse_zadd(&args(v), false).unwrap_err();
    assert_eq!(e(&["ZADD", "z", "NX", "XX", "1"]), errors::SYNTAX);
    assert_eq!(e(&["ZADD", "z", "NX", "XX", "1", "a"]), errors::ZADD_XX_NX);
    assert_eq!(e(&["ZADD", "z", "GT", "LT", "1", "a"]), errors::GT_LT_NX);
    assert_eq!(
        e(&["ZADD", "z", "INCR", "1", "a", "2", "b"]),
        errors::ZADD_INCR_PAIR
    );
    assert_eq!(e(&["ZADD", "z", "1", "a", "nan", "b"]), errors::NOT_FLOAT);
    assert!(parse_zadd(&args(&["ZADD", "z", "XX", "GT", "1", "a"]), false).is_ok());
}

#[test]
fn wrong_type_is_reported_and_left_alone() {
    let mut d = DbSlice::new();
    d.set(
        b"s",
        Record::new(Value::Str(darter_collections::StrValue::from_bytes(b"v"))),
    );
    assert_eq!(
        zadd(&mut d, &["ZADD", "s", "1", "a"]),
        Err(ZAddError::WrongType)
    );
    assert_eq!(op_zrem(&mut d, b"s", &args(&["a"]), NOW), Err(WrongType));
    assert_eq!(op_zpop(&mut d, b"s", 1, false, NOW), Err(WrongType));
    assert_eq!(
        op_zremrange(&mut d, b"s", &RangeBy::Rank(0, -1), NOW),
        Err(WrongType)
    );
}

#[test]
fn ranges_select_as_redis() {
    let mut d = DbSlice::new();
    zadd(
        &mut d,
        &[
            "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e",
        ],
    )
    .unwrap();
    let z = zset(&mut d, "z").clone();
    let sel = |v: &[&str], fixed| -> Vec<Vec<u8>> {
        let a = args(v);
        let spec = parse_range(&a, 1, false, fixed).expect("valid range");
        select(&z, &spec).map(|(m, _)| m.to_vec()).collect()
    };
    let names = |v: &[&str]| -> Vec<Vec<u8>> { v.iter().map(|m| m.as_bytes().to_vec()).collect() };
    assert_eq!(
        sel(&["ZRANGE", "z", "1", "-2"], Fixed::None),
        names(&["b", "c", "d"])
    );
    assert_eq!(
        sel(&["ZRANGE", "z", "0", "1", "REV"], Fixed::None),
        names(&["e", "d"])
    );
    assert_eq!(
        sel(
            &["ZRANGE", "z", "(1", "4", "BYSCORE", "LIMIT", "1", "2"],
            Fixed::None
        ),
        names(&["c", "d"])
    );
    assert_eq!(
        sel(
            &["ZRANGE", "z", "4", "(1", "BYSCORE", "REV", "LIMIT", "1", "-1"],
            Fixed::None
        ),
        names(&["c", "b"])
    );
    assert!(sel(
        &["ZRANGE", "z", "-inf", "inf", "BYSCORE", "LIMIT", "-1", "2"],
        Fixed::None
    )
    .is_empty());
    assert_eq!(
        sel(
            &["ZREVRANGEBYSCORE", "z", "+inf", "4"],
            Fixed::Score { rev: true }
        ),
        names(&["e", "d"])
    );
    let a = args(&["ZRANGE", "z", "0", "1", "LIMIT", "0", "1"]);
    assert_eq!(
        parse_range(&a, 1, false, Fixed::None).unwrap_err(),
        errors::LIMIT_NEEDS_BY
    );
    let a = args(&["ZRANGEBYLEX", "z", "-", "+", "WITHSCORES"]);
    assert_eq!(
        parse_range(&a, 1, false, Fixed::Lex { rev: false }).unwrap_err(),
        errors::WITHSCORES_BYLEX
    );
    let a = args(&["ZRANGESTORE", "d", "z", "0", "1", "WITHSCORES"]);
    assert_eq!(
        parse_range(&a, 2, true, Fixed::None).unwrap_err(),
        errors::SYNTAX
    );
}

#[test]
fn remove_ranges_and_pops_delete_emptied_keys() {
    let mut d = DbSlice::new();
    zadd(
        &mut d,
        &["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"],
    )
    .unwrap();
    let r = ScoreRange::parse(b"(1", b"3").unwrap();
    assert_eq!(op_zremrange(&mut d, b"z", &RangeBy::Score(r), NOW), Ok(2));
    assert_eq!(entries(&mut d, "z"), pairs(&[("a", 1.0), ("d", 4.0)]));
    assert_eq!(
        op_zpop(&mut d, b"z", 1, true, NOW),
        Ok(Some(pairs(&[("d", 4.0)])))
    );
    assert_eq!(
        op_zpop(&mut d, b"z", 5, false, NOW),
        Ok(Some(pairs(&[("a", 1.0)])))
    );
    assert!(d.peek(b"z", NOW).is_none());
    assert_eq!(op_zpop(&mut d, b"z", 1, false, NOW), Ok(None));
}

#[test]
fn zrandmember_counts_follow_redis_cases() {
    let mut d = DbSlice::new();
    let mut cmd = vec!["ZADD".to_string(), "z".to_string()];
    for i in 0..300 {
        cmd.push(i.to_string());
        cmd.push(format!("m{i}"));
    }
    let refs: Vec<&str> = cmd.iter().map(String::as_str).collect();
    zadd(&mut d, &refs).unwrap();
    let z = zset(&mut d, "z").clone();
    let mut r = rnd();
    // Negative: exactly |count| entries, repetition allowed, each a real member with its score.
    let picked = op_zrandmember(&z, -1000, &mut r);
    assert_eq!(picked.len(), 1000);
    for (m, s) in &picked {
        assert_eq!(z.score(&m.to_vec()), Some(*s));
    }
    let distinct: HashMap<Vec<u8>, ()> = picked.iter().map(|(m, _)| (m.to_vec(), ())).collect();
    assert!(distinct.len() > 200, "1000 draws over 300 members");
    // Positive below the size: distinct members.
    for count in [2, 100, 250, 299] {
        let picked = op_zrandmember(&z, count, &mut r);
        let distinct: HashMap<Vec<u8>, ()> = picked.iter().map(|(m, _)| (m.to_vec(), ())).collect();
        assert_eq!(picked.len(), count as usize);
        assert_eq!(distinct.len(), count as usize);
    }
    // At least the size: everything.
    assert_eq!(op_zrandmember(&z, 300, &mut r).len(), 300);
    assert_eq!(op_zrandmember(&z, 10_000, &mut r).len(), 300);
}

#[test]
fn zscan_of_a_tree_visits_every_member_once() {
    let mut d = DbSlice::new();
    let mut cmd = vec!["ZADD".to_string(), "z".to_string()];
    for i in 0..1000 {
        cmd.push(i.to_string());
        cmd.push(format!("m{i}"));
    }
    let refs: Vec<&str> = cmd.iter().map(String::as_str).collect();
    zadd(&mut d, &refs).unwrap();
    let z = zset(&mut d, "z").clone();
    let mut seen: BTreeMap<Vec<u8>, f64> = BTreeMap::new();
    let mut cursor = 0;
    loop {
        let (next, found) = op_zscan(&z, cursor, 10, None);
        for (m, s) in found {
            assert!(seen.insert(m, s).is_none(), "no duplicates without resizes");
        }
        if next == 0 {
            break;
        }
        cursor = next;
    }
    assert_eq!(seen.len(), 1000);
    assert_eq!(seen[&b"m7".to_vec()], 7.0);
    let (_, matched) = op_zscan(&z, 0, 100_000, Some(b"m99*"));
    assert_eq!(matched.len(), 11);
}

#[test]
fn d2string_matches_redis_70() {
    let s = |v: f64| {
        let mut o = Vec::new();
        d2string_70(v, &mut o);
        String::from_utf8(o).unwrap()
    };
    assert_eq!(s(1.0), "1");
    assert_eq!(s(-0.0), "-0");
    assert_eq!(s(1.5), "1.5");
    assert_eq!(s(1.1), "1.1000000000000001");
    assert_eq!(s(1e20), "1e+20");
    assert_eq!(s(4503599627370495.0), "4503599627370495");
    assert_eq!(s(4503599627370496.0), "4503599627370496");
    assert_eq!(s(f64::INFINITY), "inf");
    assert_eq!(s(f64::NEG_INFINITY), "-inf");
}

/// Reference algebra over plain maps, written from the command docs.
fn reference(
    op: &str,
    srcs: &[Option<BTreeMap<Vec<u8>, f64>>],
    weights: &[f64],
    agg: &str,
) -> Vec<(Vec<u8>, f64)> {
    let fold = |a: f64, b: f64| match agg {
        "min" => a.min(b),
        "max" => a.max(b),
        _ => a + b,
    };
    let empty = BTreeMap::new();
    let get = |i: usize| srcs[i].as_ref().unwrap_or(&empty);
    let mut out: BTreeMap<Vec<u8>, f64> = BTreeMap::new();
    match op {
        "union" => {
            for (i, w) in weights.iter().enumerate().take(srcs.len()) {
                for (m, s) in get(i) {
                    let v = s * w;
                    out.entry(m.clone())
                        .and_modify(|t| *t = fold(*t, v))
                        .or_insert(v);
                }
            }
        }
        "inter" => {
            for (m, s) in get(0) {
                let mut acc = s * weights[0];
                let mut all = true;
                for (j, w) in weights.iter().enumerate().skip(1) {
                    match get(j).get(m) {
                        Some(v) => acc = fold(acc, v * w),
                        None => all = false,
                    }
                }
                if all {
                    out.insert(m.clone(), acc);
                }
            }
        }
        _ => {
            for (m, s) in get(0) {
                if (1..srcs.len()).all(|j| !get(j).contains_key(m)) {
                    out.insert(m.clone(), *s);
                }
            }
        }
    }
    let mut v: Vec<_> = out.into_iter().collect();
    // Redis orders -0 and 0 as equal scores (then by member).
    v.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap().then_with(|| a.0.cmp(&b.0)));
    v
}

#[test]
fn algebra_matches_a_reference_on_integer_scores() {
    let mut r = rnd();
    let l = l();
    for round in 0..200 {
        let nsrc = 1 + r(4);
        let mut maps = Vec::new();
        let mut zs = Vec::new();
        for _ in 0..nsrc {
            if r(6) == 0 {
                maps.push(None);
                zs.push(None);
                continue;
            }
            let n = r(if round % 3 == 0 { 300 } else { 20 });
            let mut m = BTreeMap::new();
            let mut z = ZSetValue::create(n, 4, &l);
            for _ in 0..n {
                let k = format!("k{}", r(40)).into_bytes();
                let s = r(10) as f64 - 5.0;
                m.insert(k.clone(), s);
                z.remove(&k);
                z.add(&k, s, AddFlags::default(), &l);
            }
            maps.push(Some(m));
            zs.push(Some(z));
        }
        let weights: Vec<f64> = (0..nsrc).map(|_| r(5) as f64 - 2.0).collect();
        for (op, name) in [("union", "zunion"), ("inter", "zinter"), ("diff", "zdiff")] {
            for agg in ["sum", "min", "max"] {
                if op == "diff" && agg != "sum" {
                    continue;
                }
                let mut cmd = vec![name.to_string(), nsrc.to_string()];
                cmd.extend((0..nsrc).map(|i| format!("key{i}")));
                if op != "diff" {
                    cmd.push("WEIGHTS".into());
                    cmd.extend(weights.iter().map(|w| w.to_string()));
                    cmd.push("AGGREGATE".into());
                    cmd.push(agg.into());
                }
                let refs: Vec<&str> = cmd.iter().map(String::as_str).collect();
                let a = args(&refs);
                let which = match op {
                    "union" => super::store::ZUNION,
                    "inter" => super::store::ZINTER,
                    _ => super::store::ZDIFF,
                };
                let keys = parse_numkeys(&a, which).unwrap();
                let o = parse_algebra_opts(&a, keys, which).unwrap();
                let srcs: Vec<Option<Src>> = zs.iter().map(|z| z.as_ref().map(Src::Z)).collect();
                let Computed::Entries(got) = compute(which, &srcs, &o) else {
                    panic!("entries")
                };
                let w = if op == "diff" {
                    vec![1.0; nsrc]
                } else {
                    weights.clone()
                };
                assert_eq!(got, reference(op, &maps, &w, agg), "{cmd:?}");
            }
        }
    }
}

#[test]
fn store_encodes_results_as_redis_builds_them() {
    let mut d = DbSlice::new();
    let small: Vec<_> = (0..128)
        .map(|i| (format!("m{i:03}").into_bytes(), i as f64))
        .collect();
    assert_eq!(op_store(&mut d, b"d", small, &l(), "zunionstore", NOW), 128);
    assert_eq!(zset(&mut d, "d").encoding_name(), "listpack");
    let big: Vec<_> = (0..129)
        .map(|i| (format!("m{i:03}").into_bytes(), i as f64))
        .collect();
    assert_eq!(op_store(&mut d, b"d", big, &l(), "zunionstore", NOW), 129);
    assert_eq!(zset(&mut d, "d").encoding_name(), "skiplist");
    zset(&mut d, "d").check();
    assert_eq!(
        op_store(&mut d, b"d", Vec::new(), &l(), "zunionstore", NOW),
        0
    );
    assert!(d.peek(b"d", NOW).is_none());
}

#[test]
fn sets_join_the_algebra_with_score_one() {
    let l = l();
    let mut s = darter_collections::SetValue::create(b"a", 2, &l);
    s.add(b"a", &l);
    s.add(b"7", &l);
    let mut z = ZSetValue::create(2, 1, &l);
    z.add(b"a", 5.0, AddFlags::default(), &l);
    z.add(b"7", 2.0, AddFlags::default(), &l);
    let a = args(&["zinter", "2", "s", "z"]);
    let which = super::store::ZINTER;
    let keys = parse_numkeys(&a, which).unwrap();
    let o = parse_algebra_opts(&a, keys, which).unwrap();
    let got = compute(which, &[Some(Src::S(&s)), Some(Src::Z(&z))], &o);
    assert_eq!(got, Computed::Entries(pairs(&[("7", 3.0), ("a", 6.0)])));
}
