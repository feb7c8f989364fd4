//! SORT and SORT_RO over lists, sets and sorted sets.
//!
//! SORT reads one key, may look up other keys for every element (BY and GET patterns, which can
//! name keys on any shard), and may write a destination. Without patterns it locks only the
//! source's (and destination's) shards; with patterns the keys it will read are unknown until the
//! elements are, so it runs as a global transaction (every shard, like FLUSHALL) and stays atomic.
//! Hops: read the elements; look every pattern key up on its shard; sort on the coordinator; store
//! (STORE) in the concluding hop.
//!
//! Redis 7.0's `sortCommandGeneric` is the specification: option parsing and errors, LIMIT
//! clamping, numeric scores parsed like `strtod` (missing BY keys weigh 0), ties broken by the
//! elements' bytes, ALPHA comparing bytes, `#` and `key->field` patterns, and a set sorted
//! alphabetically when BY names no `*` but the result is stored.

use crate::context::Conn;
use crate::errors;
use crate::multi::panic_reply;
use crate::registry::{Cmd, Handler, LocalBoxFuture};
use bytes::Bytes;
use darter_collections::num::string2ll;
use darter_collections::{List, Value};
use darter_engine::keys::{key_fp, key_hash, shard_of};
use darter_engine::notify;
use darter_engine::tx::HopFn;
use darter_engine::{DbSlice, LockReq, Panicked, Record, Shard, Transaction};
use std::cmp::Ordering;

pub static COMMANDS: &[Cmd] = &[
    Cmd::new("sort", Handler::Conn(cmd_sort)),
    Cmd::new("sort_ro", Handler::Conn(cmd_sort_ro)),
];

const NOT_DOUBLE: &str = "ERR One or more scores can't be converted into double";

/// SORT's options after parsing.
#[derive(Clone, Debug, Default, PartialEq)]
struct SortSpec {
    desc: bool,
    alpha: bool,
    /// LIMIT offset count.
    limit: Option<(i64, i64)>,
    by: Option<Bytes>,
    /// BY named no `*`: keep the elements' order.
    dontsort: bool,
    gets: Vec<Bytes>,
    store: Option<Bytes>,
}

/// Redis's option loop (`sortCommandGeneric`), in its order and with its errors.
fn parse(args: &[Bytes], read_only: bool) -> Result<SortSpec, &'static str> {
    let mut s = SortSpec::default();
    let mut j = 2;
    while j < args.len() {
        let a = &args[j];
        let left = args.len() - j - 1;
        if a.eq_ignore_ascii_case(b"asc") {
            s.desc = false;
        } else if a.eq_ignore_ascii_case(b"desc") {
            s.desc = true;
        } else if a.eq_ignore_ascii_case(b"alpha") {
            s.alpha = true;
        } else if a.eq_ignore_ascii_case(b"limit") && left >= 2 {
            let start = string2ll(&args[j + 1]).ok_or(errors::NOT_INTEGER)?;
            let count = string2ll(&args[j + 2]).ok_or(errors::NOT_INTEGER)?;
            s.limit = Some((start, count));
            j += 2;
        } else if a.eq_ignore_ascii_case(b"store") && left >= 1 && !read_only {
            s.store = Some(args[j + 1].clone());
            j += 1;
        } else if a.eq_ignore_ascii_case(b"by") && left >= 1 {
            let p = args[j + 1].clone();
            // A pattern without `*` means "don't sort" (BY nosort).
            s.dontsort = !p.contains(&b'*');
            s.by = Some(p);
            j += 1;
        } else if a.eq_ignore_ascii_case(b"get") && left >= 1 {
            s.gets.push(args[j + 1].clone());
            j += 1;
        } else {
            return Err(errors::SYNTAX);
        }
        j += 1;
    }
    Ok(s)
}

/// A pattern applied to an element: the key to read and the hash field, if any (`key->field`);
/// None when the pattern has no `*` (or is `#`, handled by the caller).
fn pattern_key(pattern: &[u8], elem: &[u8]) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
    let star = pattern.iter().position(|&b| b == b'*')?;
    let after = &pattern[star + 1..];
    let (post, field) = match find(after, b"->") {
        Some(f) if f + 2 < after.len() => (&after[..f], Some(after[f + 2..].to_vec())),
        _ => (after, None),
    };
    let mut key = Vec::with_capacity(pattern.len() + elem.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(elem);
    key.extend_from_slice(post);
    Some((key, field))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Redis's `lookupKeyByPattern` on the key's own shard: a string key's value, or a hash field.
/// A missing key is a `keymiss` (Redis looks these keys up with `lookupKeyRead`).
fn lookup(db: &mut DbSlice, key: &[u8], field: Option<&[u8]>, now: u64) -> Option<Vec<u8>> {
    let Some(e) = db.find(key, now) else {
        db.notify(notify::KEY_MISS, "keymiss", key);
        return None;
    };
    match field {
        None => e.as_str().map(|s| s.to_vec()),
        Some(f) => match e.obj()? {
            Value::Hash(h) => h.get(f).map(|v| v.to_vec()),
            _ => None,
        },
    }
}

/// The elements of the key to sort, or Err(()) for a key of another type. A missing key is an
/// empty list.
fn elements(db: &mut DbSlice, key: &[u8], now: u64) -> Result<(Vec<Vec<u8>>, bool), ()> {
    let Some(e) = db.find(key, now) else {
        db.notify(notify::KEY_MISS, "keymiss", key);
        return Ok((Vec::new(), false));
    };
    match e.obj() {
        Some(Value::List(l)) => Ok((l.iter().map(|e| e.to_vec()).collect(), false)),
        Some(Value::Set(s)) => Ok((s.members(), true)),
        Some(Value::ZSet(z)) => Ok((z.iter().map(|(m, _)| m.to_vec()).collect(), false)),
        _ => Err(()),
    }
}

/// `strtod` over the whole string, as Redis checks it: leading spaces allowed, nothing after the
/// number, not NaN, not out of range.
fn strtod(b: &[u8]) -> Option<f64> {
    let t = std::str::from_utf8(b).ok()?;
    let t = t.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let lower = t.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    let v = if body == "inf" || body == "infinity" {
        if lower.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        }
    } else if body.starts_with("nan") || body.is_empty() {
        return None;
    } else {
        let v: f64 = t.parse().ok()?;
        if v.is_infinite() {
            return None; // ERANGE
        }
        v
    };
    Some(v)
}

/// Sorts (or not) and cuts: the indexes of the kept elements, in output order. `weights[i]` is
/// the BY pattern's value for element `i` (None: the key or field is missing).
fn order(
    spec: &SortSpec,
    elems: &[Vec<u8>],
    weights: Option<&[Option<Vec<u8>>]>,
) -> Result<Vec<usize>, &'static str> {
    let n = elems.len() as i64;
    let (start, count) = spec.limit.unwrap_or((0, -1));
    let mut start = start.max(0);
    let mut end = if count < 0 { n - 1 } else { start + count - 1 };
    if start >= n {
        start = n - 1;
        end = n - 2;
    }
    if end >= n {
        end = n - 1;
    }
    let mut idx: Vec<usize> = (0..elems.len()).collect();
    if !spec.dontsort {
        let weight = |i: usize| weights.and_then(|w| w[i].as_deref());
        let mut scores = vec![0f64; elems.len()];
        if !spec.alpha {
            let mut bad = false;
            for (i, score) in scores.iter_mut().enumerate() {
                // Missing BY keys weigh 0; without BY the element is its own weight.
                let src = if weights.is_some() {
                    weight(i)
                } else {
                    Some(&elems[i][..])
                };
                if let Some(b) = src {
                    match strtod(b) {
                        Some(v) => *score = v,
                        None => bad = true,
                    }
                }
            }
            if bad {
                return Err(NOT_DOUBLE);
            }
        }
        idx.sort_by(|&a, &b| {
            let c = if !spec.alpha {
                scores[a]
                    .partial_cmp(&scores[b])
                    .unwrap_or(Ordering::Equal)
                    .then_with(|| elems[a].cmp(&elems[b]))
            } else if weights.is_some() {
                match (weight(a), weight(b)) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Less,
                    (Some(_), None) => Ordering::Greater,
                    (Some(x), Some(y)) => x.cmp(y),
                }
            } else {
                elems[a].cmp(&elems[b])
            };
            if spec.desc {
                c.reverse()
            } else {
                c
            }
        });
    }
    if end < start {
        return Ok(Vec::new());
    }
    Ok(idx
        .into_iter()
        .skip(start as usize)
        .take((end - start + 1) as usize)
        .collect())
}

/// SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA] [STORE dst]
fn cmd_sort(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(sort(c, args, false))
}

/// SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]
fn cmd_sort_ro(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(sort(c, args, true))
}

async fn sort(c: &mut Conn, args: Vec<Bytes>, read_only: bool) {
    let mut spec = match parse(&args, read_only) {
        Ok(s) => s,
        Err(e) => return c.out.error(e),
    };
    match run(c, &args[1], &mut spec).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => c.out.error(e),
        Err(p) => panic_reply(c, &p),
    }
}

/// Which patterns need key lookups (anything but `#` and star-less patterns).
fn needs_lookups(spec: &SortSpec) -> bool {
    let by = spec.by.is_some() && !spec.dontsort;
    by || spec
        .gets
        .iter()
        .any(|g| &g[..] != b"#" && g.contains(&b'*'))
}

async fn run(
    c: &mut Conn,
    key: &Bytes,
    spec: &mut SortSpec,
) -> Result<Result<(), &'static str>, Panicked> {
    let n = c.engine().num_shards();
    let db = c.state.db;
    let global = needs_lookups(spec);
    let src_shard = shard_of(key, n);
    let lock = |k: &[u8]| LockReq {
        fp: key_fp(key_hash(k, n).full, db),
        exclusive: spec.store.is_some(),
    };
    let per_shard: Vec<(usize, Vec<LockReq>)> = if global {
        (0..n).map(|s| (s, Vec::new())).collect()
    } else {
        let mut v = vec![(src_shard, vec![lock(key)])];
        if let Some(dst) = &spec.store {
            let ds = shard_of(dst, n);
            match v.iter_mut().find(|(s, _)| *s == ds) {
                Some((_, l)) => l.push(lock(dst)),
                None => v.push((ds, vec![lock(dst)])),
            }
            v.sort_by_key(|(s, _)| *s);
        }
        v
    };
    let shards: Vec<usize> = per_shard.iter().map(|(s, _)| *s).collect();
    let pos = |s: usize| shards.iter().position(|&x| x == s).expect("shard in tx");
    let mut tx = Transaction::schedule(c.engine(), per_shard.clone(), global).await;
    let none = || -> Vec<Option<HopFn<()>>> { shards.iter().map(|_| None).collect() };

    // Hop 1: the elements.
    type Elements = Result<(Vec<Vec<u8>>, bool), ()>;
    let mut jobs: Vec<Option<HopFn<Elements>>> = shards.iter().map(|_| None).collect();
    let k = key.clone();
    jobs[pos(src_shard)] = Some(Box::new(move |s: &mut Shard| {
        let now = s.now_ms();
        elements(&mut s.dbs[db], &k, now)
    }));
    let mut out = tx.hop(jobs, false).await;
    let Ok((mut elems, is_set)) = out[pos(src_shard)].take().expect("had a job")? else {
        tx.hop(none(), true).await;
        return Ok(Err(errors::WRONGTYPE));
    };
    if spec.dontsort && !is_set && spec.desc {
        // An unsorted list or sorted set is returned in its own order, from the tail for DESC
        // (LIMIT counts from there too).
        elems.reverse();
    }
    if spec.dontsort && is_set && spec.store.is_some() {
        // Redis forces an alphabetical sort so a stored set is deterministic.
        spec.dontsort = false;
        spec.alpha = true;
        spec.by = None;
    }

    // Hop 2: every pattern key, on its shard.
    let sort_by = spec.by.clone().filter(|_| !spec.dontsort);
    let mut patterns: Vec<Bytes> = Vec::new();
    patterns.extend(sort_by.iter().cloned());
    patterns.extend(spec.gets.iter().cloned());
    // lookups[p][i]: pattern p applied to element i.
    let mut lookups: Vec<Vec<Option<Vec<u8>>>> = vec![vec![None; elems.len()]; patterns.len()];
    if global {
        /// (pattern, element, key, hash field): one lookup.
        type Want = (usize, usize, Vec<u8>, Option<Vec<u8>>);
        let mut wanted: Vec<Vec<Want>> = vec![Vec::new(); n];
        for (p, pat) in patterns.iter().enumerate() {
            if &pat[..] == b"#" {
                continue;
            }
            for (i, e) in elems.iter().enumerate() {
                if let Some((k, f)) = pattern_key(pat, e) {
                    wanted[shard_of(&k, n)].push((p, i, k, f));
                }
            }
        }
        type Found = Vec<(usize, usize, Option<Vec<u8>>)>;
        let jobs: Vec<Option<HopFn<Found>>> = shards
            .iter()
            .map(|&sid| {
                let w = std::mem::take(&mut wanted[sid]);
                (!w.is_empty()).then(|| {
                    Box::new(move |s: &mut Shard| {
                        let now = s.now_ms();
                        w.into_iter()
                            .map(|(p, i, k, f)| {
                                (p, i, lookup(&mut s.dbs[db], &k, f.as_deref(), now))
                            })
                            .collect()
                    }) as HopFn<Found>
                })
            })
            .collect();
        for r in tx.hop(jobs, false).await.into_iter().flatten() {
            for (p, i, v) in r? {
                lookups[p][i] = v;
            }
        }
    }
    for (p, pat) in patterns.iter().enumerate() {
        if &pat[..] == b"#" {
            for (i, e) in elems.iter().enumerate() {
                lookups[p][i] = Some(e.clone());
            }
        }
    }
    let gets_from = usize::from(sort_by.is_some());
    let weights = sort_by.as_ref().map(|_| &lookups[0][..]);
    let kept = match order(spec, &elems, weights) {
        Ok(k) => k,
        Err(e) => {
            tx.hop(none(), true).await;
            return Ok(Err(e));
        }
    };
    let rows: Vec<Vec<Option<Vec<u8>>>> = kept
        .iter()
        .map(|&i| {
            if spec.gets.is_empty() {
                vec![Some(elems[i].clone())]
            } else {
                (gets_from..patterns.len())
                    .map(|p| lookups[p][i].clone())
                    .collect()
            }
        })
        .collect();

    match spec.store.clone() {
        None => {
            tx.hop(none(), true).await;
            c.out.array(rows.iter().map(Vec::len).sum());
            for v in rows.iter().flatten() {
                match v {
                    Some(b) => c.out.bulk(b),
                    None => c.out.null(),
                }
            }
            Ok(Ok(()))
        }
        Some(dst) => {
            let values: Vec<Vec<u8>> = rows
                .into_iter()
                .flatten()
                .map(Option::unwrap_or_default)
                .collect();
            let len = values.len();
            let mut jobs = none();
            let ds = shard_of(&dst, n);
            jobs[pos(ds)] = Some(Box::new(move |s: &mut Shard| {
                let now = s.now_ms();
                let cfg = s.limits.list;
                let slice = &mut s.dbs[db];
                if values.is_empty() {
                    if slice.remove(&dst, now).is_some() {
                        slice.notify(notify::GENERIC, "del", &dst);
                    }
                } else {
                    let mut l = List::new();
                    l.push(darter_collections::End::Back, &values, &cfg);
                    slice.set(&dst, Record::new(Value::List(l)));
                    slice.notify(notify::LIST, "sortstore", &dst);
                }
            }));
            for r in tx.hop(jobs, true).await.into_iter().flatten() {
                r?;
            }
            c.out.int(len as i64);
            Ok(Ok(()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(v: &[&str]) -> Vec<Bytes> {
        v.iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

    fn b(v: &[&str]) -> Vec<Vec<u8>> {
        v.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn options_parse_as_redis() {
        let s = parse(
            &a(&[
                "sort", "k", "by", "w_*", "limit", "1", "2", "get", "#", "desc", "alpha", "store",
                "d",
            ]),
            false,
        )
        .unwrap();
        assert_eq!(s.limit, Some((1, 2)));
        assert!(s.desc && s.alpha && !s.dontsort);
        assert_eq!(s.gets, a(&["#"]));
        assert_eq!(s.store, Some(Bytes::from_static(b"d")));
        assert!(
            parse(&a(&["sort", "k", "by", "nosort"]), false)
                .unwrap()
                .dontsort
        );
        assert_eq!(
            parse(&a(&["sort", "k", "store", "d"]), true),
            Err(errors::SYNTAX)
        );
        assert_eq!(
            parse(&a(&["sort", "k", "limit", "1"]), false),
            Err(errors::SYNTAX)
        );
        assert_eq!(
            parse(&a(&["sort", "k", "limit", "x", "1"]), false),
            Err(errors::NOT_INTEGER)
        );
        assert_eq!(parse(&a(&["sort", "k", "get"]), false), Err(errors::SYNTAX));
        assert_eq!(parse(&a(&["sort", "k", "up"]), false), Err(errors::SYNTAX));
    }

    #[test]
    fn patterns_substitute_the_first_star() {
        assert_eq!(pattern_key(b"w_*", b"3"), Some((b"w_3".to_vec(), None)));
        assert_eq!(
            pattern_key(b"h_*->f", b"3"),
            Some((b"h_3".to_vec(), Some(b"f".to_vec())))
        );
        // "->" at the very end names no field: the whole tail is part of the key.
        assert_eq!(pattern_key(b"h_*->", b"3"), Some((b"h_3->".to_vec(), None)));
        assert_eq!(pattern_key(b"x*y*", b"1"), Some((b"x1y*".to_vec(), None)));
        assert_eq!(pattern_key(b"nostar", b"1"), None);
    }

    #[test]
    fn scores_parse_like_strtod() {
        assert_eq!(strtod(b" 1.5"), Some(1.5));
        assert_eq!(strtod(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(strtod(b"1e400"), None);
        assert_eq!(strtod(b"nan"), None);
        assert_eq!(strtod(b"1 "), None);
        assert_eq!(strtod(b""), None);
        assert_eq!(strtod(b"abc"), None);
    }

    #[test]
    fn ordering_limits_and_ties() {
        let spec = SortSpec::default();
        let e = b(&["10", "9", "1.5", "-2"]);
        assert_eq!(order(&spec, &e, None), Ok(vec![3, 2, 1, 0]));
        let desc = SortSpec {
            desc: true,
            limit: Some((1, 2)),
            ..SortSpec::default()
        };
        assert_eq!(order(&desc, &e, None), Ok(vec![1, 2]));
        let alpha = SortSpec {
            alpha: true,
            ..SortSpec::default()
        };
        // Bytes: "-2" < "1.5" < "10" < "9".
        assert_eq!(order(&alpha, &e, None), Ok(vec![3, 2, 0, 1]));
        assert_eq!(order(&spec, &b(&["a"]), None), Err(NOT_DOUBLE));
        // Equal weights fall back to the elements' bytes; missing weights are 0.
        let w = vec![Some(b"1".to_vec()), None, Some(b"1".to_vec())];
        let by = SortSpec {
            by: Some(Bytes::from_static(b"w_*")),
            ..SortSpec::default()
        };
        assert_eq!(
            order(&by, &b(&["c", "b", "a"]), Some(&w)),
            Ok(vec![1, 2, 0])
        );
        // LIMIT past the end, negative offsets, zero counts.
        let far = SortSpec {
            limit: Some((10, 5)),
            ..SortSpec::default()
        };
        assert_eq!(order(&far, &e, None), Ok(vec![]));
        let neg = SortSpec {
            limit: Some((-5, 2)),
            ..SortSpec::default()
        };
        assert_eq!(order(&neg, &e, None), Ok(vec![3, 2]));
        let zero = SortSpec {
            limit: Some((0, 0)),
            ..SortSpec::default()
        };
        assert_eq!(order(&zero, &e, None), Ok(vec![]));
        let nosort = SortSpec {
            dontsort: true,
            limit: Some((1, -1)),
            ..SortSpec::default()
        };
        assert_eq!(order(&nosort, &e, None), Ok(vec![1, 2, 3]));
    }
}
