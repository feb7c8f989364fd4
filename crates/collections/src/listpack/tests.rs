//! Unit tests of the listpack encoding: every integer width and string length boundary,
//! back-lengths, golden bytes from Redis, edits by index and position, and corrupt input.

use super::*;

fn entries(lp: &ListPack) -> Vec<Vec<u8>> {
    lp.iter().map(|e| e.to_vec()).collect()
}

/// Encoded size of one entry, measured through a listpack.
fn entry_bytes(v: &[u8]) -> usize {
    let mut lp = ListPack::new();
    lp.push_back(v);
    lp.bytes() - EMPTY_BYTES
}

#[test]
fn empty_is_seven_bytes() {
    let lp = ListPack::new();
    assert_eq!(lp.as_bytes(), &[7, 0, 0, 0, 0, 0, 0xFF]);
    assert_eq!((lp.len(), lp.bytes()), (0, EMPTY_BYTES));
    assert!(lp.first_pos().is_none() && lp.last_pos().is_none());
    assert_eq!(lp.iter().count(), 0);
}

#[test]
fn golden_bytes_match_redis() {
    // lpAppend("hello"), lpAppend("1024"), lpAppend("-1") in Redis 7.
    let mut lp = ListPack::new();
    lp.push_back(b"hello");
    lp.push_back(b"1024");
    lp.push_back(b"-1");
    let expect: &[u8] = &[
        20, 0, 0, 0, 3, 0, // header
        0x85, b'h', b'e', b'l', b'l', b'o', 0x06, // 6-bit string
        0xC4, 0x00, 0x02, // 13-bit int 1024
        0xDF, 0xFF, 0x02, // 13-bit int -1
        0xFF,
    ];
    assert_eq!(lp.as_bytes(), expect);
    assert_eq!(ListPack::from_bytes(expect.to_vec()).unwrap(), lp);
}

#[test]
fn integer_width_boundaries() {
    let cases: &[(i64, usize)] = &[
        (0, 1),
        (127, 1),
        (128, 2),
        (-1, 2),
        (4095, 2),
        (-4096, 2),
        (4096, 3),
        (-4097, 3),
        (32767, 3),
        (-32768, 3),
        (32768, 4),
        (-32769, 4),
        (8_388_607, 4),
        (-8_388_608, 4),
        (8_388_608, 5),
        (-8_388_609, 5),
        (i32::MAX as i64, 5),
        (i32::MIN as i64, 5),
        (i32::MAX as i64 + 1, 9),
        (i32::MIN as i64 - 1, 9),
        (i64::MAX, 9),
        (i64::MIN, 9),
    ];
    let mut lp = ListPack::new();
    for &(v, enc_len) in cases {
        let s = v.to_string();
        assert_eq!(entry_bytes(s.as_bytes()), enc_len + 1, "{v}");
        lp.push_back(s.as_bytes());
        lp.push_front_int(v);
    }
    let n = cases.len();
    for (i, &(v, _)) in cases.iter().enumerate() {
        assert_eq!(lp.get(n + i), Some(LpEntry::Int(v)));
        assert_eq!(lp.get(n - 1 - i), Some(LpEntry::Int(v)));
    }
    let back: Vec<_> = lp.iter().rev().collect();
    let fwd: Vec<_> = lp.iter().collect();
    assert_eq!(back.into_iter().rev().collect::<Vec<_>>(), fwd);
    assert_eq!(ListPack::from_bytes(lp.as_bytes().to_vec()).unwrap(), lp);
}

#[test]
fn non_canonical_integers_stay_strings() {
    for s in [
        "01",
        "+1",
        " 1",
        "1 ",
        "1.0",
        "-0",
        "-",
        "9223372036854775808",
        "-9223372036854775809",
        "0x10",
        "",
    ] {
        let mut lp = ListPack::new();
        lp.push_back(s.as_bytes());
        assert_eq!(lp.get(0), Some(LpEntry::Str(s.as_bytes())), "{s:?}");
        assert_eq!(lp.find(s.as_bytes()), Some(0));
    }
    let mut lp = ListPack::new();
    lp.push_back(b"9223372036854775807");
    lp.push_back(b"-9223372036854775808");
    assert_eq!(lp.get(0), Some(LpEntry::Int(i64::MAX)));
    assert_eq!(lp.get(1), Some(LpEntry::Int(i64::MIN)));
    assert_eq!(lp.find(b"-9223372036854775808"), Some(1));
    assert!(lp.get(0).unwrap().eq_bytes(b"9223372036854775807"));
    assert!(!lp.get(0).unwrap().eq_bytes(b"+9223372036854775807"));
}

#[test]
fn string_length_and_backlen_boundaries() {
    // (string length, encoding + payload, back-length bytes)
    let cases: &[(usize, usize, usize)] = &[
        (0, 1, 1),
        (63, 64, 1),
        (64, 66, 1),
        (125, 127, 1),
        (126, 128, 2),
        (4095, 4097, 2),
        (4096, 4101, 2),
        (16377, 16382, 2),
        (16378, 16383, 3),
        (65536, 65541, 3),
    ];
    let mut lp = ListPack::new();
    let mut expect = Vec::new();
    for (i, &(n, enc, bl)) in cases.iter().enumerate() {
        let s = vec![b'a' + i as u8; n];
        assert_eq!(entry_bytes(&s), enc + bl, "len {n}");
        lp.push_back(&s);
        lp.push_back(b"x");
        expect.push(s);
        expect.push(b"x".to_vec());
    }
    assert_eq!(entries(&lp), expect);
    let mut rev: Vec<_> = lp.iter().rev().map(|e| e.to_vec()).collect();
    rev.reverse();
    assert_eq!(rev, expect);
    // Walk the positions both ways.
    let mut p = lp.first_pos();
    let mut n = 0;
    while let Some(q) = p {
        assert_eq!(lp.entry(q).to_vec(), expect[n]);
        p = lp.next_pos(q);
        n += 1;
    }
    assert_eq!(n, expect.len());
    let mut p = lp.last_pos();
    while let Some(q) = p {
        n -= 1;
        assert_eq!(lp.entry(q).to_vec(), expect[n]);
        p = lp.prev_pos(q);
    }
    assert_eq!(n, 0);
    assert_eq!(ListPack::from_bytes(lp.as_bytes().to_vec()).unwrap(), lp);
}

#[test]
fn backlen_encoding_reads_back() {
    for l in [
        0,
        1,
        127,
        128,
        16382,
        16383,
        2_097_150,
        2_097_151,
        268_435_454,
        268_435_455,
        u32::MAX as usize,
    ] {
        let mut b = vec![0; backlen_size(l)];
        write_backlen(&mut b, l);
        assert_eq!(read_backlen(&b, b.len() - 1), Some(l), "{l}");
    }
}

#[test]
fn edits_by_index_and_position() {
    let mut lp = ListPack::new();
    for v in ["a", "1", "b", "300", "c"] {
        lp.push_back(v.as_bytes());
    }
    lp.insert(0, b"head");
    lp.insert(6, b"tail");
    lp.insert(3, b"-5");
    assert_eq!(
        entries(&lp),
        [&b"head"[..], b"a", b"1", b"-5", b"b", b"300", b"c", b"tail"]
    );
    assert!(lp.replace(2, b"a much longer string than before"));
    assert!(lp.replace(5, b"7"));
    assert!(!lp.replace(8, b"x"));
    assert!(lp.remove(0));
    assert!(!lp.remove(7));
    assert_eq!(lp.remove_range(5, 10), 2);
    assert_eq!(
        entries(&lp),
        [
            &b"a"[..],
            b"a much longer string than before",
            b"-5",
            b"b",
            b"7"
        ]
    );
    assert_eq!(lp.pop_front().unwrap(), b"a");
    assert_eq!(lp.pop_back().unwrap(), b"7");
    let p = lp.seek(1).unwrap();
    let q = lp.insert_after(p, b"after");
    assert_eq!(lp.entry(q), LpEntry::Str(b"after"));
    let q = lp.insert_before(q, b"before");
    assert_eq!(lp.entry(q), LpEntry::Str(b"before"));
    lp.replace_at(q, b"12");
    assert_eq!(lp.entry(q), LpEntry::Int(12));
    let next = lp.remove_at(q).unwrap();
    assert_eq!(lp.entry(next), LpEntry::Str(b"after"));
    assert_eq!(lp.remove_at(lp.last_pos().unwrap()), None);
    assert_eq!(
        entries(&lp),
        [&b"a much longer string than before"[..], b"-5", b"after"]
    );
    assert_eq!(lp.len(), 3);
    assert_eq!(ListPack::from_bytes(lp.as_bytes().to_vec()).unwrap(), lp);
}

#[test]
fn find_from_skips_like_lpfind() {
    let mut lp = ListPack::new();
    // field/value pairs where a value equals a later field
    for v in ["f1", "f2", "f2", "10", "10", "v"] {
        lp.push_back(v.as_bytes());
    }
    let first = lp.first_pos().unwrap();
    assert_eq!(lp.find_from(first, b"f2", 1), lp.seek(2));
    assert_eq!(lp.find_from(first, b"10", 1), lp.seek(4));
    assert_eq!(lp.find_from(first, b"v", 1), None);
    assert_eq!(lp.find_from(first, b"10", 0), lp.seek(3));
    assert_eq!(lp.find(b"v"), Some(5));
    assert_eq!(lp.find(b"nope"), None);
}

#[test]
fn split_and_append_move_raw_entries() {
    let mut lp = ListPack::new();
    for i in 0..10 {
        lp.push_back(format!("{}", i * 1000).as_bytes());
    }
    let tail = lp.split_off(4);
    assert_eq!((lp.len(), tail.len()), (4, 6));
    assert_eq!(tail.get(0), Some(LpEntry::Int(4000)));
    assert_eq!(lp.last(), Some(LpEntry::Int(3000)));
    lp.append(tail);
    assert_eq!(lp.len(), 10);
    assert_eq!(lp.get(9), Some(LpEntry::Int(9000)));
    assert_eq!(lp.split_off(10).len(), 0);
    assert_eq!(lp.split_off(0).len(), 10);
    assert!(lp.is_empty());
    assert_eq!(lp, ListPack::new());
}

#[test]
fn iter_ranges_both_ways() {
    let mut lp = ListPack::new();
    for i in 0..20 {
        lp.push_back(format!("e{i}").as_bytes());
    }
    let want = |a: usize, b: usize| {
        (a..b)
            .map(|i| format!("e{i}").into_bytes())
            .collect::<Vec<_>>()
    };
    for (a, b) in [
        (0, 20),
        (3, 7),
        (15, 20),
        (0, 1),
        (19, 25),
        (5, 5),
        (21, 30),
    ] {
        let fwd: Vec<_> = lp.iter_range(a, b).map(|e| e.to_vec()).collect();
        assert_eq!(fwd, want(a.min(20), b.min(20).max(a.min(20))));
        let mut rev: Vec<_> = lp.iter_range(a, b).rev().map(|e| e.to_vec()).collect();
        rev.reverse();
        assert_eq!(rev, fwd);
        assert_eq!(lp.iter_range(a, b).len(), fwd.len());
    }
    assert_eq!(lp.iter_from(18).count(), 2);
    // Mixed ends meet in the middle without crossing.
    let mut it = lp.iter_range(2, 6);
    assert_eq!(it.next().unwrap().to_vec(), b"e2");
    assert_eq!(it.next_back().unwrap().to_vec(), b"e5");
    assert_eq!(it.next().unwrap().to_vec(), b"e3");
    assert_eq!(it.next_back().unwrap().to_vec(), b"e4");
    assert_eq!((it.next(), it.next_back()), (None, None));
}

#[test]
fn count_field_saturates() {
    let mut lp = ListPack::new();
    for _ in 0..70_000 {
        lp.push_back(b"1");
    }
    assert_eq!(lp.len(), 70_000);
    assert_eq!(&lp.as_bytes()[4..6], &[0xFF, 0xFF]);
    let copy = ListPack::from_bytes(lp.as_bytes().to_vec()).unwrap();
    assert_eq!(copy.len(), 70_000);
    lp.remove_range(0, 69_000);
    assert_eq!(&lp.as_bytes()[4..6], &1000u16.to_le_bytes());
}

#[test]
fn from_bytes_rejects_corruption() {
    let mut lp = ListPack::new();
    lp.push_back(b"hello");
    lp.push_back(b"12345678901");
    let good = lp.as_bytes().to_vec();
    assert!(ListPack::from_bytes(good.clone()).is_ok());
    let mut bad = good.clone();
    bad[0] += 1;
    assert!(ListPack::from_bytes(bad).is_err());
    let mut bad = good.clone();
    bad[4] = 3;
    assert!(ListPack::from_bytes(bad).is_err());
    let mut bad = good.clone();
    bad[12] = 0x07; // back-length of "hello"
    assert!(ListPack::from_bytes(bad).is_err());
    let mut bad = good.clone();
    bad[6] = 0xF7; // unknown encoding
    assert!(ListPack::from_bytes(bad).is_err());
    let mut bad = good.clone();
    bad[6] = 0x8F; // string longer than the buffer
    assert!(ListPack::from_bytes(bad).is_err());
    let mut bad = good;
    let n = bad.len();
    bad[n - 1] = 0;
    assert!(ListPack::from_bytes(bad).is_err());
    assert!(ListPack::from_bytes(vec![0; 3]).is_err());
}

#[test]
fn entry_helpers() {
    let i = LpEntry::Int(-42);
    assert_eq!(i.to_vec(), b"-42");
    assert_eq!(i.byte_len(), 3);
    assert!(i.eq_bytes(b"-42") && !i.eq_bytes(b"-042"));
    assert_eq!(i.as_i64(), Some(-42));
    let s = LpEntry::Str(b"17");
    assert_eq!(s.as_i64(), Some(17));
    assert!(s.eq_bytes(b"17"));
    assert!(Needle::new(b"17").matches(&s) && Needle::new(b"17").matches(&LpEntry::Int(17)));
    assert!(!Needle::new(b"017").matches(&LpEntry::Int(17)));
}

#[test]
fn buffer_slack_stays_bounded() {
    let mut lp = ListPack::new();
    for _ in 0..1000 {
        lp.push_back(b"some value");
    }
    assert!(lp.mem_bytes() <= lp.bytes() + lp.bytes() / 4 + 64);
    while lp.len() > 10 {
        lp.pop_front();
    }
    assert!(lp.mem_bytes() <= 2 * lp.bytes() + 64);
}
