//! Model test of `HashValue`'s operations (`hashval.rs`) against a `HashMap` (plus the insertion
//! order a listpack must keep): random HSET / HMSET / HSETNX / HDEL / HINCRBY / HINCRBYFLOAT
//! under small random thresholds, checking after every step the contents, the encoding (dense
//! exactly when some write crossed `hash-max-listpack-entries` or `-value`, and never back), the
//! listpack's field order, lookups, and that a full HSCAN reports every field.
//!
//! `HASH_CASES` sets the number of property-test cases (default 256).

use darter_collections::hashval::HashIncrError;
use darter_collections::num::string2ld;
use darter_collections::{HashValue, Limits};
use proptest::prelude::*;
use std::collections::{HashMap, HashSet};

fn cases() -> u32 {
    std::env::var("HASH_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

#[derive(Clone, Debug)]
enum Op {
    Set(Vec<u8>, Vec<u8>),
    SetPairs(Vec<(Vec<u8>, Vec<u8>)>),
    SetNx(Vec<u8>, Vec<u8>),
    Del(Vec<u8>),
    Incr(Vec<u8>, i64),
    IncrFloat(Vec<u8>, i32),
}

fn field() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => (0u8..12).prop_map(|i| format!("f{i}").into_bytes()),
        1 => (0i64..20).prop_map(|i| i.to_string().into_bytes()),
        1 => (0usize..10).prop_map(|n| vec![b'L'; n]),
    ]
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (-1000i64..1000).prop_map(|i| i.to_string().into_bytes()),
        Just(i64::MAX.to_string().into_bytes()),
        (0usize..10).prop_map(|n| vec![b'v'; n]),
        Just(b"1.5".to_vec()),
        Just(b"007".to_vec()),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (field(), value()).prop_map(|(f, v)| Op::Set(f, v)),
        1 => prop::collection::vec((field(), value()), 1..4).prop_map(Op::SetPairs),
        2 => (field(), value()).prop_map(|(f, v)| Op::SetNx(f, v)),
        3 => field().prop_map(Op::Del),
        1 => (field(), prop_oneof![-5i64..5, Just(i64::MAX), Just(i64::MIN)])
            .prop_map(|(f, i)| Op::Incr(f, i)),
        1 => (field(), -30i32..30).prop_map(|(f, i)| Op::IncrFloat(f, i)),
    ]
}

/// The reference: insertion-ordered pairs (what a listpack keeps) and whether a dense
/// encoding is due.
#[derive(Default)]
struct Model {
    pairs: Vec<(Vec<u8>, Vec<u8>)>,
    dense: bool,
}

impl Model {
    fn get(&self, f: &[u8]) -> Option<&Vec<u8>> {
        self.pairs.iter().find(|(k, _)| k == f).map(|(_, v)| v)
    }

    fn set(&mut self, f: &[u8], v: &[u8], l: &Limits) -> bool {
        if f.len() > l.hash_max_listpack_value || v.len() > l.hash_max_listpack_value {
            self.dense = true;
        }
        let new = match self.pairs.iter_mut().find(|(k, _)| k == f) {
            Some((_, old)) => {
                *old = v.to_vec();
                false
            }
            None => {
                self.pairs.push((f.to_vec(), v.to_vec()));
                true
            }
        };
        if self.pairs.len() > l.hash_max_listpack_entries {
            self.dense = true;
        }
        new
    }

    fn map(&self) -> HashMap<Vec<u8>, Vec<u8>> {
        self.pairs.iter().cloned().collect()
    }
}

fn check(h: &HashValue, m: &Model) -> Result<(), TestCaseError> {
    prop_assert_eq!(h.len(), m.pairs.len());
    prop_assert_eq!(h.encoding(), if m.dense { "hashtable" } else { "listpack" });
    let got: Vec<(Vec<u8>, Vec<u8>)> = h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
    if m.dense {
        let got: HashMap<_, _> = got.into_iter().collect();
        prop_assert_eq!(got, m.map());
    } else {
        prop_assert_eq!(&got, &m.pairs);
    }
    for (f, v) in &m.pairs {
        prop_assert_eq!(h.get(f).map(|e| e.to_vec()), Some(v.clone()));
        prop_assert!(h.contains(f));
    }
    prop_assert!(h.get(b"absent").is_none());
    // A full scan (small COUNT) reports every field, with its value.
    let mut seen = HashMap::new();
    let mut cursor = 0;
    loop {
        cursor = h.scan(cursor, 2, |f, v| {
            seen.insert(f.to_vec(), v.to_vec());
        });
        if cursor == 0 {
            break;
        }
    }
    prop_assert_eq!(seen, m.map());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn hash_value_matches_model(
        entries in 0usize..8,
        value_len in 0usize..8,
        ops in prop::collection::vec(op(), 1..80),
    ) {
        let l = Limits {
            hash_max_listpack_entries: entries,
            hash_max_listpack_value: value_len,
            ..Limits::default()
        };
        let mut h = HashValue::new();
        let mut m = Model::default();
        for op in ops {
            match op {
                Op::Set(f, v) => {
                    prop_assert_eq!(h.set(&f, &v, &l), m.set(&f, &v, &l));
                }
                Op::SetPairs(pairs) => {
                    if pairs.iter().any(|(f, v)| {
                        f.len() > l.hash_max_listpack_value || v.len() > l.hash_max_listpack_value
                    }) {
                        m.dense = true;
                    }
                    let want = pairs.iter().filter(|(f, v)| m.set(f, v, &l)).count();
                    let got = h.set_pairs(pairs.iter().map(|(f, v)| (&f[..], &v[..])), &l);
                    prop_assert_eq!(got, want);
                }
                Op::SetNx(f, v) => {
                    let want = m.get(&f).is_none();
                    if want {
                        m.set(&f, &v, &l);
                    }
                    prop_assert_eq!(h.set_if_absent(&f, &v, &l), want);
                }
                Op::Del(f) => {
                    let had = m.get(&f).is_some();
                    m.pairs.retain(|(k, _)| *k != f);
                    prop_assert_eq!(h.remove(&f), had);
                }
                Op::Incr(f, by) => {
                    let want = match m.get(&f) {
                        None => Ok(0i64),
                        Some(v) => std::str::from_utf8(v)
                            .ok()
                            .and_then(|s| s.parse::<i64>().ok())
                            .filter(|i| i.to_string().as_bytes() == &v[..])
                            .ok_or(HashIncrError::NotInteger),
                    }
                    .and_then(|cur| cur.checked_add(by).ok_or(HashIncrError::Overflow));
                    if let Ok(n) = want {
                        m.set(&f, n.to_string().as_bytes(), &l);
                    }
                    prop_assert_eq!(h.incr_by(&f, by, &l), want);
                }
                Op::IncrFloat(f, tenths) => {
                    let incr = string2ld(format!("{}{}.{}", if tenths < 0 { "-" } else { "" }, tenths.abs() / 10, tenths.abs() % 10).as_bytes())
                        .expect("a float");
                    let cur = m.get(&f).cloned();
                    let r = h.incr_by_float(&f, incr, &l);
                    match cur.as_deref().map(string2ld) {
                        Some(None) => prop_assert_eq!(r, Err(HashIncrError::NotFloat)),
                        _ => {
                            let text = r.expect("a finite sum");
                            prop_assert!(string2ld(&text).is_some());
                            m.set(&f, &text, &l);
                        }
                    }
                }
            }
            check(&h, &m)?;
        }
        // Random picks stay inside the hash.
        let mut x = 7u64;
        let mut rnd = |n: usize| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((x >> 33) % n as u64) as usize
        };
        let map = m.map();
        for count in 0..=m.pairs.len() + 1 {
            let got = h.random_distinct(count, &mut rnd);
            prop_assert_eq!(got.len(), count.min(map.len()));
            let fields: HashSet<Vec<u8>> = got.iter().map(|(f, _)| f.to_vec()).collect();
            prop_assert_eq!(fields.len(), got.len());
            for (f, v) in got {
                prop_assert_eq!(map.get(&f.to_vec()), Some(&v.to_vec()));
            }
        }
        for (f, v) in h.random_with_repeats(20, &mut rnd) {
            prop_assert_eq!(map.get(&f.to_vec()), Some(&v.to_vec()));
        }
    }
}
