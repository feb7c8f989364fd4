//! Unit tests of the HLL family's `op_*` functions on a bare `DbSlice`. Replies against real
//! Redis (bytes of the stored values included) live in crates/server/tests/diff/hll.redis.

use super::*;

const NOW: u64 = 1_700_000_000_000;
const MAX: usize = hll::DEFAULT_SPARSE_MAX_BYTES;

fn raw(db: &mut DbSlice, key: &str) -> Vec<u8> {
    db.find(key.as_bytes(), NOW)
        .expect("present")
        .as_str()
        .expect("a string")
        .to_vec()
}

fn put(db: &mut DbSlice, key: &str, v: Vec<u8>) {
    db.set(key.as_bytes(), Record::new(Value::Str(StrValue::raw(v))));
}

fn add(db: &mut DbSlice, key: &str, elems: &[&str]) -> Result<bool, HllError> {
    op_pfadd(
        db,
        key.as_bytes(),
        elems.iter().map(|e| e.as_bytes()),
        MAX,
        NOW,
    )
}

fn count(db: &mut DbSlice, key: &str) -> Result<u64, HllError> {
    op_pfcount_one(db, &mut ShardStats::default(), key.as_bytes(), NOW)
}

#[test]
fn pfadd_creates_and_reports_changes() {
    let mut db = DbSlice::new();
    assert_eq!(
        add(&mut db, "h", &[]),
        Ok(true),
        "creating counts as a change"
    );
    assert_eq!(add(&mut db, "h", &[]), Ok(false));
    assert_eq!(add(&mut db, "h", &["a", "b", "c"]), Ok(true));
    assert_eq!(add(&mut db, "h", &["a", "b"]), Ok(false));
    let v = raw(&mut db, "h");
    assert!(hll::is_valid(&v));
    assert_eq!(hll::cached(&v), None);
    assert_eq!(count(&mut db, "h"), Ok(3));
    assert_eq!(hll::cached(&raw(&mut db, "h")), Some(3), "PFCOUNT caches");
    assert_eq!(add(&mut db, "h", &["a"]), Ok(false));
    assert_eq!(
        hll::cached(&raw(&mut db, "h")),
        Some(3),
        "unchanged keeps the cache"
    );
    assert_eq!(add(&mut db, "h", &["d"]), Ok(true));
    assert_eq!(hll::cached(&raw(&mut db, "h")), None);
    assert_eq!(count(&mut db, "missing"), Ok(0));
    assert!(
        db.find(b"missing", NOW).is_none(),
        "PFCOUNT creates nothing"
    );
}

#[test]
fn errors() {
    let mut db = DbSlice::new();
    db.set(b"list", Record::new(Value::List(Default::default())));
    assert_eq!(add(&mut db, "list", &["a"]), Err(HllError::WrongType));
    assert_eq!(count(&mut db, "list"), Err(HllError::WrongType));
    put(&mut db, "s", b"hello world, not an HLL".to_vec());
    assert_eq!(add(&mut db, "s", &["a"]), Err(HllError::NotHll));
    assert_eq!(count(&mut db, "s"), Err(HllError::NotHll));
    // A sparse value whose opcodes cover too few registers.
    let mut bad = hll::new_sparse();
    bad[hll::HDR_SIZE + 1] = 0x10;
    hll::invalidate_cache(&mut bad);
    put(&mut db, "bad", bad.clone());
    assert_eq!(count(&mut db, "bad"), Err(HllError::Corrupt));
    // With a valid cache Redis answers from the cache without decoding.
    hll::set_cached(&mut bad, 7);
    put(&mut db, "bad", bad);
    assert_eq!(count(&mut db, "bad"), Ok(7));
    let mut stats = ShardStats::default();
    let keys = [(1, &b"nokey"[..]), (2, b"bad"), (3, b"list")];
    let p = op_merge_sources(&mut db, &mut stats, keys, NOW);
    assert_eq!(p.err, Some((2, HllError::Corrupt)));
    assert_eq!((stats.keyspace_hits, stats.keyspace_misses), (1, 1));
}

#[test]
fn merge_and_store() {
    let mut db = DbSlice::new();
    let a: Vec<String> = (0..2000).map(|i| format!("a{i}")).collect();
    let b: Vec<String> = (0..50).map(|i| format!("b{i}")).collect();
    let ar: Vec<&str> = a.iter().map(|s| s.as_str()).collect();
    let br: Vec<&str> = b.iter().map(|s| s.as_str()).collect();
    add(&mut db, "a", &ar).unwrap();
    add(&mut db, "b", &br).unwrap();
    assert_eq!(raw(&mut db, "a")[4], hll::DENSE);
    assert_eq!(raw(&mut db, "b")[4], hll::SPARSE);
    let mut stats = ShardStats::default();
    let p = op_merge_sources(&mut db, &mut stats, [(1, &b"a"[..]), (2, b"b")], NOW);
    assert!(p.err.is_none() && p.dense);
    let mut both: Vec<&str> = ar.clone();
    both.extend(&br);
    add(&mut db, "ab", &both).unwrap();
    assert_eq!(hll::count_raw(&p.max), count(&mut db, "ab").unwrap());
    op_pfmerge_store(&mut db, b"dst", &p.max, p.dense, MAX, NOW).unwrap();
    let (dst, ab) = (raw(&mut db, "dst"), raw(&mut db, "ab"));
    assert!(
        dst[hll::HDR_SIZE..] == ab[hll::HDR_SIZE..],
        "same dense registers"
    );
    assert_eq!(hll::cached(&dst), None);
    // A sparse-only merge into an existing sparse destination stays sparse.
    let p = op_merge_sources(&mut db, &mut stats, [(1, &b"b"[..])], NOW);
    assert!(!p.dense);
    add(&mut db, "d2", &["x"]).unwrap();
    op_pfmerge_store(&mut db, b"d2", &p.max, false, MAX, NOW).unwrap();
    assert_eq!(raw(&mut db, "d2")[4], hll::SPARSE);
    let mut parts = Partial::new();
    parts.absorb(p.clone());
    assert_eq!(parts.max, p.max);
}

#[test]
fn pfdebug() {
    let mut db = DbSlice::new();
    let dbg = |db: &mut DbSlice, sub: &str, key: &str| {
        op_pfdebug(db, sub.as_bytes(), key.as_bytes(), NOW)
    };
    assert_eq!(dbg(&mut db, "encoding", "h"), Err(PfDebugError::NoKey));
    add(&mut db, "h", &["a"]).unwrap();
    assert_eq!(
        dbg(&mut db, "ENCODING", "h"),
        Ok(PfDebug::Encoding("sparse"))
    );
    assert_eq!(
        dbg(&mut db, "decode", "h"),
        Ok(PfDebug::Decoded("Z:12711 v:2,1 Z:3672".into()))
    );
    assert_eq!(
        dbg(&mut db, "nope", "h"),
        Err(PfDebugError::Unknown("nope".into()))
    );
    assert_eq!(dbg(&mut db, "todense", "h"), Ok(PfDebug::Converted(true)));
    assert_eq!(dbg(&mut db, "todense", "h"), Ok(PfDebug::Converted(false)));
    assert_eq!(dbg(&mut db, "decode", "h"), Err(PfDebugError::NotSparse));
    let Ok(PfDebug::Registers(r)) = dbg(&mut db, "getreg", "h") else {
        panic!("registers")
    };
    assert_eq!(
        (r.len(), r[12711], r.iter().map(|&x| x as u32).sum::<u32>()),
        (16384, 2, 2)
    );
    put(&mut db, "s", b"plain".to_vec());
    assert_eq!(
        dbg(&mut db, "getreg", "s"),
        Err(PfDebugError::Hll(HllError::NotHll))
    );
}
