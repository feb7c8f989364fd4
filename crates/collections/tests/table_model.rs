//! Model tests: the segmented table against `std::collections::HashMap`, and the scan promise
//! (every key present for a whole scan is returned at least once, even while segments split).

use darter_collections::table::{Table, POS_END};
use proptest::prelude::*;
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone)]
enum Op {
    Insert(u16, u32),
    Remove(u16),
    Get(u16),
    Sweep(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<u16>(), any::<u32>()).prop_map(|(k, v)| Op::Insert(k % 4000, v)),
        2 => any::<u16>().prop_map(|k| Op::Remove(k % 4000)),
        2 => any::<u16>().prop_map(|k| Op::Get(k % 4000)),
        1 => any::<u8>().prop_map(Op::Sweep),
    ]
}

fn key(k: u16) -> Vec<u8> {
    format!("key:{k}").into_bytes()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn behaves_like_hashmap(ops in proptest::collection::vec(op(), 1..3000)) {
        let mut t: Table<u32> = Table::new();
        let mut m: HashMap<Vec<u8>, u32> = HashMap::new();
        for o in ops {
            match o {
                Op::Insert(k, v) => prop_assert_eq!(t.insert(&key(k), v), m.insert(key(k), v)),
                Op::Remove(k) => prop_assert_eq!(t.remove(&key(k)), m.remove(&key(k))),
                Op::Get(k) => prop_assert_eq!(t.get(&key(k)), m.get(&key(k))),
                Op::Sweep(threshold) => {
                    // Remove values below a threshold, like active expiry does.
                    let th = threshold as u32 * 16_777_216;
                    let mut removed = Vec::new();
                    let mut cursor = 0;
                    // Sweep every segment once.
                    for _ in 0..t.segment_count() {
                        cursor = t.sweep(cursor, 1, |_, v| *v < th, |k, v| removed.push((k, v)));
                    }
                    m.retain(|_, v| *v >= th);
                    for (k, _) in removed {
                        prop_assert!(!m.contains_key(&*k));
                    }
                }
            }
            prop_assert_eq!(t.len(), m.len());
        }
        let mut seen: HashMap<Vec<u8>, u32> = HashMap::new();
        for (k, v) in t.iter() {
            seen.insert(k.to_vec(), *v);
        }
        prop_assert_eq!(seen, m.clone());
        // A full scan returns every key exactly once when nothing changes.
        let mut scanned = Vec::new();
        let mut cursor = 0;
        loop {
            cursor = t.scan(cursor, 7, |k, _| scanned.push(k.to_vec()));
            if cursor >= POS_END { break; }
        }
        let unique: HashSet<_> = scanned.iter().cloned().collect();
        prop_assert_eq!(unique.len(), scanned.len(), "no duplicates without concurrent change");
        prop_assert_eq!(unique, m.keys().cloned().collect::<HashSet<_>>());
    }
}

#[test]
fn scan_returns_every_stable_key_while_segments_split() {
    let mut t: Table<u64> = Table::new();
    let stable: Vec<Vec<u8>> = (0..5_000)
        .map(|i| format!("stable:{i}").into_bytes())
        .collect();
    for k in &stable {
        t.insert(k, 1);
    }
    let segs_before = t.segment_count();
    let mut seen = HashSet::new();
    let mut cursor = 0;
    let mut added = 0u64;
    loop {
        cursor = t.scan(cursor, 10, |k, _| {
            seen.insert(k.to_vec());
        });
        // Grow the table between scan steps: forces many splits mid-scan.
        for _ in 0..60 {
            t.insert(format!("new:{added}").as_bytes(), 2);
            added += 1;
        }
        if cursor >= POS_END {
            break;
        }
    }
    assert!(
        t.segment_count() > segs_before * 4,
        "the scan ran across many splits"
    );
    for k in &stable {
        assert!(
            seen.contains(k),
            "key {:?} missed by scan",
            String::from_utf8_lossy(k)
        );
    }
}

#[test]
fn random_finds_entries() {
    let mut t: Table<u8> = Table::new();
    assert!(t.random(|n| n / 2).is_none());
    for i in 0..3000 {
        t.insert(format!("k{i}").as_bytes(), 0);
    }
    let mut x = 1usize;
    for _ in 0..100 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let seed = x;
        assert!(t.random(move |n| (seed >> 33) % n).is_some());
    }
}
