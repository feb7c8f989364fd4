//! Model test of `SetValue`'s operations (`setval.rs`) against `HashSet<Vec<u8>>`, with small
//! thresholds so random SADD/SREM/SPOP/SRANDMEMBER/SSCAN sequences cross every conversion:
//! intset -> listpack, intset -> hashtable (too many, or a non-integer that does not fit),
//! listpack -> hashtable (too many, or too long), SADD's size hint, and SPOP's kept set. The
//! expected encoding is tracked by a transcription of Redis 7.2's rules next to the model.

use darter_collections::{Limits, SetValue};
use proptest::prelude::*;
use std::collections::HashSet;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Enc {
    Ints,
    Packed,
    Dense,
}

fn enc_of(s: &SetValue) -> Enc {
    match s {
        SetValue::Ints(_) => Enc::Ints,
        SetValue::Packed(_) => Enc::Packed,
        SetValue::Dense(_) => Enc::Dense,
    }
}

fn is_int(m: &[u8]) -> bool {
    darter_collections::num::string2ll(m).is_some()
}

/// The model: members, and the encoding Redis 7.2 would have.
struct Model {
    set: HashSet<Vec<u8>>,
    enc: Enc,
}

impl Model {
    fn widest_int(&self) -> usize {
        self.set.iter().map(Vec::len).max().unwrap_or(0)
    }

    fn add(&mut self, m: &[u8], l: &Limits) {
        if self.set.contains(m) {
            return;
        }
        let n = self.set.len();
        self.enc = match self.enc {
            Enc::Ints if is_int(m) => {
                if n + 1 > l.set_max_intset_entries {
                    Enc::Dense
                } else {
                    Enc::Ints
                }
            }
            Enc::Ints => {
                if n < l.set_max_listpack_entries
                    && m.len() <= l.set_max_listpack_value
                    && self.widest_int() <= l.set_max_listpack_value
                {
                    Enc::Packed
                } else {
                    Enc::Dense
                }
            }
            Enc::Packed => {
                if n < l.set_max_listpack_entries && m.len() <= l.set_max_listpack_value {
                    Enc::Packed
                } else {
                    Enc::Dense
                }
            }
            Enc::Dense => Enc::Dense,
        };
        self.set.insert(m.to_vec());
    }
}

#[derive(Clone, Debug)]
enum Op {
    Sadd(Vec<Vec<u8>>),
    Srem(Vec<u8>),
    Pop,
    PopMany(usize),
    Sample(usize),
    Scan(usize),
}

fn member() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (-20i64..40).prop_map(|v| v.to_string().into_bytes()),
        (1_000_000i64..1_000_010).prop_map(|v| v.to_string().into_bytes()),
        "[a-f]{1,2}".prop_map(String::into_bytes),
        "[x-z]{5,8}".prop_map(String::into_bytes),
        Just(b"007".to_vec()),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => prop::collection::vec(member(), 1..6).prop_map(Op::Sadd),
        2 => member().prop_map(Op::Srem),
        1 => Just(Op::Pop),
        1 => (1usize..12).prop_map(Op::PopMany),
        1 => (1usize..12).prop_map(Op::Sample),
        1 => (1usize..5).prop_map(Op::Scan),
    ]
}

fn limits(intset: usize, lp_entries: usize, lp_value: usize) -> Limits {
    Limits {
        set_max_intset_entries: intset,
        set_max_listpack_entries: lp_entries,
        set_max_listpack_value: lp_value,
        ..Limits::default()
    }
}

fn as_set(s: &SetValue) -> HashSet<Vec<u8>> {
    let v = s.members();
    let h: HashSet<Vec<u8>> = v.iter().cloned().collect();
    assert_eq!(h.len(), v.len(), "iteration repeats a member");
    h
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn set_value_matches_hashset_and_redis_encodings(
        ops in prop::collection::vec(op(), 1..80),
        intset in 2usize..10,
        lp_entries in 2usize..10,
        lp_value in 3usize..9,
        seed in any::<u64>(),
    ) {
        let l = limits(intset, lp_entries, lp_value);
        let mut x = seed | 1;
        let mut rnd = move |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        };
        let mut s: Option<SetValue> = None;
        let mut m = Model { set: HashSet::new(), enc: Enc::Ints };
        for op in ops {
            match op {
                Op::Sadd(ms) => {
                    let n = ms.len();
                    match &mut s {
                        None => {
                            let v = SetValue::create(&ms[0], n, &l);
                            m.enc = if is_int(&ms[0]) && n <= intset {
                                Enc::Ints
                            } else if n <= lp_entries {
                                Enc::Packed
                            } else {
                                Enc::Dense
                            };
                            prop_assert_eq!(enc_of(&v), m.enc);
                            s = Some(v);
                        }
                        Some(v) => {
                            v.maybe_convert(n, &l);
                            if (m.enc == Enc::Packed && n > lp_entries)
                                || (m.enc == Enc::Ints && n > intset)
                            {
                                m.enc = Enc::Dense;
                            }
                        }
                    }
                    let v = s.as_mut().unwrap();
                    for x in &ms {
                        let was = m.set.contains(x);
                        m.add(x, &l);
                        prop_assert_eq!(v.add(x, &l), !was);
                        prop_assert_eq!(enc_of(v), m.enc, "after adding {:?}", x);
                    }
                }
                Op::Srem(x) => {
                    if let Some(v) = &mut s {
                        prop_assert_eq!(v.remove(&x), m.set.remove(&x));
                    }
                }
                Op::Pop => {
                    if let Some(v) = &mut s {
                        let p = v.pop_random(&mut rnd).unwrap();
                        prop_assert!(m.set.remove(&p));
                    }
                }
                Op::PopMany(count) => {
                    if let Some(v) = &mut s {
                        let size = m.set.len();
                        let popped = v.pop_many(count, &mut rnd, &l);
                        prop_assert_eq!(popped.len(), count.min(size));
                        for p in &popped {
                            prop_assert!(m.set.remove(p), "popped a non-member or twice");
                        }
                        if count < size && (size - count) * 5 <= count {
                            // Redis keeps the remaining members in a new set.
                            let start = if m.enc == Enc::Ints { Enc::Ints } else { Enc::Packed };
                            let rest: Vec<Vec<u8>> = m.set.drain().collect();
                            m.enc = start;
                            for r in &rest {
                                m.add(r, &l);
                            }
                        }
                        if !m.set.is_empty() {
                            prop_assert_eq!(enc_of(v), m.enc);
                        }
                    }
                }
                Op::Sample(count) => {
                    if let Some(v) = &s {
                        let got = v.sample(count, &mut rnd);
                        prop_assert_eq!(got.len(), count.min(m.set.len()));
                        let distinct: HashSet<Vec<u8>> = got.iter().cloned().collect();
                        prop_assert_eq!(distinct.len(), got.len());
                        prop_assert!(distinct.is_subset(&m.set));
                        let one = v.random(&mut rnd).unwrap().to_vec();
                        prop_assert!(m.set.contains(&one));
                    }
                }
                Op::Scan(count) => {
                    if let Some(v) = &s {
                        let mut seen = HashSet::new();
                        let mut cursor = 0;
                        loop {
                            cursor = v.scan(cursor, count, |e| {
                                seen.insert(e.to_vec());
                            });
                            if enc_of(v) != Enc::Dense {
                                prop_assert_eq!(cursor, 0);
                            }
                            if cursor == 0 {
                                break;
                            }
                        }
                        prop_assert_eq!(&seen, &m.set);
                    }
                }
            }
            if let Some(v) = &s {
                prop_assert_eq!(v.len(), m.set.len());
                prop_assert_eq!(as_set(v), m.set.clone());
                for x in &m.set {
                    prop_assert!(v.contains(x));
                }
                prop_assert!(!v.contains(b"not-a-member"));
                if v.is_empty() {
                    // Redis deletes an emptied set's key.
                    s = None;
                    m.enc = Enc::Ints;
                }
            }
        }
    }
}

#[test]
fn intset_order_is_ascending_and_listpack_keeps_insertion_order() {
    let l = Limits::default();
    let mut s = SetValue::create(b"5", 3, &l);
    for m in ["5", "-3", "10"] {
        s.add(m.as_bytes(), &l);
    }
    assert_eq!(s.encoding(), "intset");
    assert_eq!(
        s.members(),
        vec![b"-3".to_vec(), b"5".to_vec(), b"10".to_vec()]
    );
    s.add(b"b", &l);
    s.add(b"a", &l);
    assert_eq!(s.encoding(), "listpack");
    let got: Vec<Vec<u8>> = s.members();
    let want: Vec<Vec<u8>> = ["-3", "5", "10", "b", "a"]
        .iter()
        .map(|m| m.as_bytes().to_vec())
        .collect();
    assert_eq!(got, want);
}

#[test]
fn thresholds_at_the_defaults() {
    let l = Limits::default();
    // 512 integers stay an intset; the 513th makes a hashtable (not a listpack).
    let mut s = SetValue::create(b"0", 1, &l);
    for i in 0..512 {
        s.add(i.to_string().as_bytes(), &l);
    }
    assert_eq!(s.encoding(), "intset");
    s.add(b"512", &l);
    assert_eq!(s.encoding(), "hashtable");
    // 128 strings stay a listpack; the 129th converts.
    let mut s = SetValue::create(b"a", 1, &l);
    for i in 0..128 {
        s.add(format!("m{i}").as_bytes(), &l);
    }
    assert_eq!(s.encoding(), "listpack");
    s.add(b"one-more", &l);
    assert_eq!(s.encoding(), "hashtable");
    // A 64-byte member fits a listpack, 65 does not.
    let mut s = SetValue::create(b"a", 1, &l);
    s.add(&[b'x'; 64], &l);
    assert_eq!(s.encoding(), "listpack");
    s.add(&[b'x'; 65], &l);
    assert_eq!(s.encoding(), "hashtable");
    // An intset of 128 integers meeting a string becomes a hashtable (too many for a listpack).
    let mut s = SetValue::create(b"0", 1, &l);
    for i in 0..128 {
        s.add(i.to_string().as_bytes(), &l);
    }
    s.add(b"x", &l);
    assert_eq!(s.encoding(), "hashtable");
    let mut s = SetValue::create(b"0", 1, &l);
    for i in 0..127 {
        s.add(i.to_string().as_bytes(), &l);
    }
    s.add(b"x", &l);
    assert_eq!(s.encoding(), "listpack");
    assert_eq!(s.len(), 128);
}

#[test]
fn maybe_to_intset_only_for_all_integers_within_the_limit() {
    let l = Limits::default();
    let mut s = SetValue::create(b"a", 1, &l);
    s.add(b"2", &l);
    s.add(b"1", &l);
    s.maybe_to_intset(&l);
    assert_eq!(s.encoding(), "intset");
    assert_eq!(s.members(), vec![b"1".to_vec(), b"2".to_vec()]);
    let mut s = SetValue::create(b"a", 1, &l);
    s.add(b"a", &l);
    s.maybe_to_intset(&l);
    assert_eq!(s.encoding(), "listpack");
}
