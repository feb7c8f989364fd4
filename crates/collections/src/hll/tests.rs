//! HLL representation tests: bytes and counts recorded from redis-server 7.0.15, and a proptest
//! that the sparse and dense encodings hold the same registers and give the same counts.

use super::*;
use proptest::prelude::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// PFADD h e0 .. e{n-1} in batches of 500 (after a PFADD h with no elements).
fn build(n: usize, max_bytes: usize) -> Vec<u8> {
    let mut v = new_sparse();
    invalidate_cache(&mut v);
    for i in 0..n {
        add(&mut v, format!("e{i}").as_bytes(), max_bytes).unwrap();
    }
    if n > 0 {
        invalidate_cache(&mut v);
    }
    v
}

// (n, PFCOUNT, length, encoding, bytes when short) from redis-server 7.0.15.
const REDIS: &[(usize, u64, usize, u8, &str)] = &[
    (0, 0, 18, 1, "48594c4c0100000000000000000000807fff"),
    (1, 1, 21, 1, "48594c4c0100000000000000000000804525807ad8"),
    (2, 2, 24, 1, "48594c4c01000000000000000000008045258079258441b1"),
    (10, 10, 48, 1, "48594c4c010000000000000000000080452580472e844fc9804412844a5184430d844103844eb984408880406a8441b1"),
    (100, 100, 285, 1, "48594c4c01000000000000000000008036843c8040a9a40e88409084406c9c048840e28041358840d380411d8840898041168c419080098040e08040948041578440a280408384405d8440e1844199844081803c844047840780404e80408f840984405184268441258440d38042638040a280404b8c406f80420b8c41798041478041638040668440f98c0184218811804182844062803088407984228040de8440d3884045800a88420090118440c184018041138440848c1684228040a88440e180422a84410384168041178441658c414e802680058040598040ec882e88413c880380405b841b803f80409b802184412e88408f90407e80408480415f8033844079844193844058902e80406a840d8039801380409a882880408c"),
    (300, 302, 713, 1, ""),
    (1000, 1008, 1906, 1, ""),
    (3000, 2979, 12304, 0, ""),
    (20000, 19901, 12304, 0, ""),
    (100000, 100853, 12304, 0, ""),
];

#[test]
fn matches_redis_bytes_and_counts() {
    for &(n, card, len, enc, bytes) in REDIS {
        let v = build(n, DEFAULT_SPARSE_MAX_BYTES);
        assert_eq!(v.len(), len, "length for n={n}");
        assert_eq!(v[4], enc, "encoding for n={n}");
        if !bytes.is_empty() {
            assert_eq!(v, hex(bytes), "bytes for n={n}");
        }
        assert!(is_valid(&v));
        assert_eq!(count(&v), Ok(card), "count for n={n}");
    }
}

#[test]
fn decode_lists_opcodes() {
    assert_eq!(decode_sparse(&new_sparse()), "Z:16384");
    // PFADD of "a" in redis-server 7.0.15: PFDEBUG DECODE gives this.
    let mut v = new_sparse();
    add(&mut v, b"a", 3000).unwrap();
    assert_eq!(decode_sparse(&v), "Z:12711 v:2,1 Z:3672");
    let mut w = new_sparse();
    sparse_set(&mut w, 1, 3, 3000).unwrap();
    sparse_set(&mut w, 2, 3, 3000).unwrap();
    assert_eq!(decode_sparse(&w), "z:1 v:3,2 Z:16381");
}

#[test]
fn selftest_passes() {
    assert_eq!(
        selftest(0x1234_5678_9abc_def1, DEFAULT_SPARSE_MAX_BYTES),
        Ok(())
    );
}

#[test]
fn empty_and_header() {
    let v = new_sparse();
    assert_eq!(v, hex("48594c4c0100000000000000000000007fff"));
    assert_eq!(cached(&v), Some(0));
    let mut w = v.clone();
    invalidate_cache(&mut w);
    assert_eq!(cached(&w), None);
    set_cached(&mut w, 12345);
    assert_eq!(cached(&w), Some(12345));
    assert_eq!(count(&v), Ok(0));
}

#[test]
fn validation() {
    let v = new_sparse();
    assert!(is_valid(&v));
    assert!(!is_valid(&v[..15]));
    let mut bad = v.clone();
    bad[0] = b'h';
    assert!(!is_valid(&bad));
    bad = v.clone();
    bad[4] = 2;
    assert!(!is_valid(&bad));
    bad = v.clone();
    bad[4] = DENSE;
    assert!(!is_valid(&bad), "dense must have the exact length");
    // A sparse value whose opcodes do not cover every register.
    bad = v.clone();
    bad[HDR_SIZE + 1] = 0xfe;
    assert_eq!(count(&bad), Err(Corrupt));
    assert_eq!(registers(&bad), Err(Corrupt));
    let mut b2 = bad.clone();
    assert_eq!(to_dense(&mut b2), Err(Corrupt));
    assert_eq!(b2, bad, "unchanged on error");
    assert_eq!(add(&mut bad, b"x", 3000).is_err(), pat_len(b"x").0 >= 16383);
    // Opcodes past the last register are an error even after exactly 16384 registers.
    for tail in [&[0x80u8, 0x80][..], &[0x00]] {
        let mut over = build(1, 3000);
        over.extend_from_slice(tail);
        assert_eq!(registers(&over), Err(Corrupt));
        assert_eq!(count(&over), Err(Corrupt));
        assert_eq!(to_dense(&mut over), Err(Corrupt));
    }
}

#[test]
fn murmur_known_values() {
    // Register/count pairs Redis derives for "a" (PFADD a-key a gives sparse XZERO/VAL/XZERO).
    let (idx, c) = pat_len(b"e0");
    let v = build(1, 3000);
    let regs = registers(&v).unwrap();
    assert_eq!(regs[idx], c);
    assert_eq!(regs.iter().filter(|&&r| r != 0).count(), 1);
    // Every tail length goes through the tail switch.
    let mut seen = std::collections::HashSet::new();
    for n in 0..20 {
        seen.insert(murmur64a(&vec![7u8; n], SEED));
    }
    assert_eq!(seen.len(), 20);
}

#[test]
fn promotion_at_the_sparse_limit() {
    // A small limit promotes early; the registers survive the promotion.
    let small = build(100, 100);
    assert_eq!(small[4], DENSE);
    assert_eq!(small.len(), DENSE_SIZE);
    let sparse = build(100, 1 << 20);
    assert_eq!(sparse[4], SPARSE);
    assert_eq!(registers(&small), registers(&sparse));
    assert_eq!(count(&small), count(&sparse));
}

#[test]
fn merge_and_raw_count() {
    let a = build(1000, 3000);
    let b = build(5000, 3000);
    let mut max = vec![0u8; REGISTERS];
    merge_into(&mut max, &a).unwrap();
    merge_into(&mut max, &b).unwrap();
    // e0..e999 is a subset of e0..e4999.
    assert_eq!(count_raw(&max), count(&b).unwrap());
    let mut dst = new_sparse();
    store_merged(&mut dst, &max, true, 3000).unwrap();
    assert_eq!(dst[4], DENSE);
    assert_eq!(registers(&dst).unwrap(), max);
    assert_eq!(cached(&dst), None);
    let mut dst2 = new_sparse();
    let mut m2 = vec![0u8; REGISTERS];
    merge_into(&mut m2, &a).unwrap();
    store_merged(&mut dst2, &m2, false, 3000).unwrap();
    assert_eq!(registers(&dst2).unwrap(), m2);
}

/// The registers a set of elements must produce.
fn model(elems: &[Vec<u8>]) -> Vec<u8> {
    let mut r = vec![0u8; REGISTERS];
    for e in elems {
        let (i, c) = pat_len(e);
        r[i] = r[i].max(c);
    }
    r
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn sparse_and_dense_agree(
        elems in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..12), 0..400),
        limit in prop_oneof![Just(3000usize), Just(1usize << 20), 20usize..400],
    ) {
        let mut sparse = new_sparse();
        let mut dense = new_sparse();
        to_dense(&mut dense).unwrap();
        for e in &elems {
            add(&mut sparse, e, limit).unwrap();
            add(&mut dense, e, limit).unwrap();
            prop_assert!(is_valid(&sparse));
            prop_assert!(sparse[4] == DENSE || sparse.len() <= limit.max(18));
        }
        let want = model(&elems);
        prop_assert_eq!(registers(&sparse).unwrap(), want.clone());
        prop_assert_eq!(registers(&dense).unwrap(), want.clone());
        prop_assert_eq!(count(&sparse), count(&dense));
        prop_assert_eq!(count(&dense).unwrap(), count_raw(&want));
        // Converting the sparse one gives the dense one's registers byte for byte.
        let mut conv = sparse.clone();
        to_dense(&mut conv).unwrap();
        prop_assert_eq!(&conv[HDR_SIZE..], &dense[HDR_SIZE..]);
    }
}
