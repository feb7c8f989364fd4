//! Unit tests of the bit operations on a bare `DbSlice`, and a model test of BITFIELD against
//! a bit-vector reference with i128 arithmetic. Replies against real Redis live in
//! crates/server/tests/diff/bitops.redis.

use super::*;
use proptest::prelude::*;

const NOW: u64 = 1_700_000_000_000;

fn args(words: &[&str]) -> Vec<Bytes> {
    words
        .iter()
        .map(|w| Bytes::copy_from_slice(w.as_bytes()))
        .collect()
}

fn get(db: &mut DbSlice, key: &str) -> Option<Vec<u8>> {
    db.find(key.as_bytes(), NOW)
        .and_then(|e| e.as_str().map(|s| s.to_vec()))
}

fn put(db: &mut DbSlice, key: &str, v: &[u8]) {
    db.set(
        key.as_bytes(),
        Record::new(Value::Str(StrValue::from_bytes(v))),
    );
}

#[test]
fn setbit_grows_creates_and_returns_old_bit() {
    let mut db = DbSlice::new();
    assert_eq!(op_setbit(&mut db, b"k", 7, true, NOW), Ok(0));
    assert_eq!(get(&mut db, "k").unwrap(), vec![1]);
    assert_eq!(op_setbit(&mut db, b"k", 7, false, NOW), Ok(1));
    // Clearing a bit past the end still grows the string.
    assert_eq!(op_setbit(&mut db, b"k", 23, false, NOW), Ok(0));
    assert_eq!(get(&mut db, "k").unwrap(), vec![0, 0, 0]);
    put(&mut db, "i", b"12");
    assert_eq!(op_setbit(&mut db, b"i", 0, true, NOW), Ok(0));
    assert_eq!(get(&mut db, "i").unwrap(), b"\xb12".to_vec());
    let e = db.find(b"i", NOW).unwrap();
    assert_eq!(e.encoding(), "raw");
}

#[test]
fn offsets_parse_like_redis() {
    assert_eq!(parse_offset(b"10", None), Ok(10));
    assert_eq!(parse_offset(b"#3", Some(8)), Ok(24));
    assert_eq!(parse_offset(b"#3", None), Err(errors::BIT_OFFSET));
    assert_eq!(parse_offset(b"#", Some(8)), Err(errors::BIT_OFFSET));
    assert_eq!(parse_offset(b"-1", None), Err(errors::BIT_OFFSET));
    assert_eq!(parse_offset(b"4294967295", None), Ok(4294967295));
    assert_eq!(parse_offset(b"4294967296", None), Err(errors::BIT_OFFSET));
    assert_eq!(parse_type(b"i64"), Ok((true, 64)));
    assert_eq!(parse_type(b"u63"), Ok((false, 63)));
    for bad in [&b"u64"[..], b"i65", b"i0", b"I8", b"x8", b"", b"i"] {
        assert_eq!(parse_type(bad), Err(errors::BITFIELD_TYPE));
    }
}

#[test]
fn bitcount_ranges() {
    let mut db = DbSlice::new();
    let mut st = ShardStats::default();
    put(&mut db, "s", b"foobar");
    let count = |db: &mut DbSlice, st: &mut ShardStats, a: &[&str]| {
        let a = args(a);
        op_bitcount(db, st, &a[1], parse_bitcount_range(&a), NOW)
    };
    assert_eq!(
        count(&mut db, &mut st, &["bitcount", "s"]),
        Ok(RangeReply::Int(26))
    );
    assert_eq!(
        count(&mut db, &mut st, &["bitcount", "s", "1", "1"]),
        Ok(RangeReply::Int(6))
    );
    assert_eq!(
        count(&mut db, &mut st, &["bitcount", "s", "5", "30", "bit"]),
        Ok(RangeReply::Int(17))
    );
    assert_eq!(
        count(&mut db, &mut st, &["bitcount", "s", "-2", "-1"]),
        Ok(RangeReply::Int(7))
    );
    assert_eq!(
        count(&mut db, &mut st, &["bitcount", "s", "3", "1"]),
        Ok(RangeReply::Int(0))
    );
    assert_eq!(
        count(&mut db, &mut st, &["bitcount", "s", "1"]),
        Ok(RangeReply::Error(errors::SYNTAX))
    );
    // A missing key answers 0 before its arguments are looked at.
    assert_eq!(
        count(&mut db, &mut st, &["bitcount", "x", "1"]),
        Ok(RangeReply::Int(0))
    );
}

#[test]
fn bitpos_clear_bits_past_the_end() {
    let mut db = DbSlice::new();
    let mut st = ShardStats::default();
    put(&mut db, "s", b"\xff\xff\xff");
    let pos = |db: &mut DbSlice, st: &mut ShardStats, a: &[&str]| {
        let a = args(a);
        let bit = a[2][..] == b"1"[..];
        op_bitpos(db, st, &a[1], bit, parse_bitpos_range(&a), NOW)
    };
    assert_eq!(
        pos(&mut db, &mut st, &["bitpos", "s", "0"]),
        Ok(RangeReply::Int(24))
    );
    assert_eq!(
        pos(&mut db, &mut st, &["bitpos", "s", "0", "1"]),
        Ok(RangeReply::Int(24))
    );
    assert_eq!(
        pos(&mut db, &mut st, &["bitpos", "s", "0", "0", "-1"]),
        Ok(RangeReply::Int(-1))
    );
    assert_eq!(
        pos(&mut db, &mut st, &["bitpos", "s", "1", "3", "10", "bit"]),
        Ok(RangeReply::Int(3))
    );
    assert_eq!(
        pos(&mut db, &mut st, &["bitpos", "x", "0"]),
        Ok(RangeReply::Int(0))
    );
    assert_eq!(
        pos(&mut db, &mut st, &["bitpos", "x", "1"]),
        Ok(RangeReply::Int(-1))
    );
}

/// A naive reference for find_bit / count_range.
fn naive_bits(b: &[u8]) -> Vec<bool> {
    (0..b.len() * 8)
        .map(|i| b[i / 8] & (0x80 >> (i % 8)) != 0)
        .collect()
}

proptest! {
    #[test]
    fn scans_match_naive(b in prop::collection::vec(any::<u8>(), 1..40), x in any::<u64>(), y in any::<u64>(), bit in any::<bool>()) {
        let n = b.len() as u64 * 8;
        let (first, last) = { let (a, c) = (x % n, y % n); (a.min(c), a.max(c)) };
        let bits = naive_bits(&b);
        let slice = &bits[first as usize..=last as usize];
        prop_assert_eq!(count_range(&b, first, last), slice.iter().filter(|&&v| v).count() as u64);
        prop_assert_eq!(find_bit(&b, first, last, bit), slice.iter().position(|&v| v == bit).map(|p| first + p as u64));
        prop_assert_eq!(popcount(&b), bits.iter().filter(|&&v| v).count() as u64);
    }
}

#[test]
fn bitop_ops_and_empty_result() {
    let mut db = DbSlice::new();
    let mut st = ShardStats::default();
    put(&mut db, "a", b"\x0f\xf0");
    put(&mut db, "b", b"\xff");
    let srcs = op_bitop_read(&mut db, &mut st, [&b"a"[..], b"b", b"none"], NOW).unwrap();
    assert_eq!(bitop_compute(BitOp::And, &srcs[..2]), vec![0x0f, 0]);
    assert_eq!(bitop_compute(BitOp::And, &srcs), vec![0, 0]);
    assert_eq!(bitop_compute(BitOp::Or, &srcs), vec![0xff, 0xf0]);
    assert_eq!(bitop_compute(BitOp::Xor, &srcs), vec![0xf0, 0xf0]);
    assert_eq!(bitop_compute(BitOp::Not, &srcs[..1]), vec![0xf0, 0x0f]);
    op_bitop_store(&mut db, b"d", bitop_compute(BitOp::Not, &srcs[..1]), NOW);
    assert_eq!(get(&mut db, "d").unwrap(), vec![0xf0, 0x0f]);
    op_bitop_store(&mut db, b"d", bitop_compute(BitOp::And, &[None, None]), NOW);
    assert_eq!(get(&mut db, "d"), None);
    db.set(b"h", Record::new(Value::Hash(Default::default())));
    assert_eq!(
        op_bitop_read(&mut db, &mut st, [&b"a"[..], b"h"], NOW),
        Err(OpError::WrongType)
    );
    assert_eq!(
        parse_bitop(&args(&["bitop", "not", "d", "a", "b"])),
        Err(errors::BITOP_NOT_ONE_KEY)
    );
    assert_eq!(
        parse_bitop(&args(&["bitop", "nand", "d", "a"])),
        Err(errors::SYNTAX)
    );
}

#[test]
fn bitfield_fail_still_grows_and_sat_quirk() {
    let mut db = DbSlice::new();
    let mut st = ShardStats::default();
    let ops = parse_bitfield(&args(&[
        "bitfield", "k", "overflow", "fail", "incrby", "u2", "#4", "5",
    ]))
    .unwrap();
    assert_eq!(
        op_bitfield(&mut db, &mut st, b"k", &ops, NOW),
        Ok(vec![None])
    );
    assert_eq!(get(&mut db, "k").unwrap(), vec![0, 0]);
    // Redis's C arithmetic saturates a far-negative SET to the maximum.
    assert_eq!(signed_overflow(i64::MIN, 0, 8, Overflow::Sat), Some(127));
    assert_eq!(signed_overflow(-200, 0, 8, Overflow::Sat), Some(-128));
    let bad = parse_bitfield(&args(&["bitfield", "k", "overflow", "x"]));
    assert_eq!(bad, Err(errors::BITFIELD_OVERFLOW_TYPE));
    assert_eq!(
        parse_bitfield(&args(&["bitfield", "k", "get", "i8"])),
        Err(errors::SYNTAX)
    );
    assert_eq!(
        parse_bitfield(&args(&["bitfield", "k", "set", "i8", "0", "x"])),
        Err(errors::NOT_INTEGER)
    );
}

// -------------------------------------------------------------------------------------------------
// BITFIELD model: a Vec<bool> of bits and i128 arithmetic.
// -------------------------------------------------------------------------------------------------

fn model_get(bits: &[bool], off: u64, w: u32, signed: bool) -> i128 {
    let mut v: i128 = 0;
    for j in 0..u64::from(w) {
        v = (v << 1) | i128::from(*bits.get((off + j) as usize).unwrap_or(&false));
    }
    if signed && v >= 1i128 << (w - 1) {
        v -= 1i128 << w;
    }
    v
}

fn model_set(bits: &mut Vec<bool>, off: u64, w: u32, v: i128) {
    let need = ((off + u64::from(w) - 1) / 8 + 1) as usize * 8;
    if bits.len() < need {
        bits.resize(need, false);
    }
    let u = v.rem_euclid(1i128 << w);
    for j in 0..u64::from(w) {
        bits[(off + j) as usize] = (u >> (u64::from(w) - 1 - j)) & 1 == 1;
    }
}

/// One operation on the model; the reply.
fn model_op(bits: &mut Vec<bool>, op: &BfOp) -> Option<i64> {
    let (w, signed) = (op.bits, op.signed);
    let (min, max) = if signed {
        (-(1i128 << (w - 1)), (1i128 << (w - 1)) - 1)
    } else {
        (0, (1i128 << w) - 1)
    };
    let old = model_get(bits, op.offset, w, signed);
    let (target, reply_old) = match op.kind {
        BfKind::Get => return Some(old as i64),
        // Unsigned SET takes the value's 64-bit pattern.
        BfKind::Set(v) if !signed => (i128::from(v as u64), true),
        BfKind::Set(v) => (i128::from(v), true),
        BfKind::IncrBy(d) => (old + i128::from(d), false),
    };
    let new = if (min..=max).contains(&target) {
        target
    } else {
        match op.overflow {
            Overflow::Wrap => {
                let u = target.rem_euclid(1i128 << w);
                if signed && u > max {
                    u - (1i128 << w)
                } else {
                    u
                }
            }
            // Redis's C check computes `max - value` in 64 bits: for a SET far below the
            // range that wraps negative and the value saturates to the maximum.
            Overflow::Sat
                if reply_old && signed && w < 64 && max - target > i128::from(i64::MAX) =>
            {
                max
            }
            Overflow::Sat => {
                if target > max {
                    max
                } else {
                    min
                }
            }
            Overflow::Fail => {
                // The string still grows.
                let need = ((op.offset + u64::from(w) - 1) / 8 + 1) as usize * 8;
                if bits.len() < need {
                    bits.resize(need, false);
                }
                return None;
            }
        }
    };
    model_set(bits, op.offset, w, new);
    Some(if reply_old { old } else { new } as i64)
}

fn arb_op() -> impl Strategy<Value = BfOp> {
    let ow = prop_oneof![
        Just(Overflow::Wrap),
        Just(Overflow::Sat),
        Just(Overflow::Fail)
    ];
    let value = prop_oneof![
        any::<i64>(),
        -300i64..300,
        Just(i64::MAX),
        // Around the SAT quirk at the bottom of i64 (see model_op).
        i64::MIN..i64::MIN + 2000,
    ];
    (any::<bool>(), 1u32..=64, 0u64..80, 0u8..3, value, ow).prop_map(
        |(signed, w, off, k, v, overflow)| {
            let bits = if signed { w } else { w.min(63) };
            let kind = match k {
                0 => BfKind::Get,
                1 => BfKind::Set(v),
                _ => BfKind::IncrBy(v),
            };
            BfOp {
                kind,
                signed,
                bits,
                offset: off,
                overflow,
            }
        },
    )
}

proptest! {
    #[test]
    fn bitfield_matches_i128_model(batches in prop::collection::vec(prop::collection::vec(arb_op(), 1..5), 1..12)) {
        let mut db = DbSlice::new();
        let mut st = ShardStats::default();
        let mut model: Vec<bool> = Vec::new();
        for ops in batches {
            let mut want = Vec::new();
            // Writes grow the string to hold every written field before any op runs.
            if let Some(max_bit) = ops.iter().filter(|o| o.kind != BfKind::Get).map(|o| o.offset + u64::from(o.bits) - 1).max() {
                let need = (max_bit / 8 + 1) as usize * 8;
                if model.len() < need { model.resize(need, false); }
            }
            for op in &ops {
                want.push(model_op(&mut model, op));
            }
            let got = op_bitfield(&mut db, &mut st, b"k", &ops, NOW).unwrap();
            prop_assert_eq!(got, want);
            let bytes = get(&mut db, "k").unwrap_or_default();
            prop_assert_eq!(naive_bits(&bytes), model.clone());
        }
    }
}
