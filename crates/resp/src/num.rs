//! Integer text conversions shared by the parser, the reply writer and the frame codec.
//!
//! `string2ll` is a byte-exact port of Redis's `util.c:string2ll`, because which length headers Redis
//! accepts (no `+`, no leading zeros, no `-0`, at most 20 bytes) is part of the protocol. The formatters
//! write into caller-owned stack buffers and must never allocate: they sit on the reply hot path.

/// Redis's `LONG_STR_SIZE`: inputs this long or longer are rejected before looking at them.
const LONG_STR_SIZE: usize = 21;

/// Parses `s` exactly as Redis's `string2ll` does; `None` where Redis returns 0 (not a number).
pub fn string2ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= LONG_STR_SIZE {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) if !rest.is_empty() => (true, rest),
        Some((b'-', _)) => return None,
        _ => (false, s),
    };
    // The first digit must be 1-9: "0" alone was handled above, so "-0" and "01" are invalid.
    if !(b'1'..=b'9').contains(&digits[0]) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        if v > i64::MAX as u64 + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// Scratch space big enough for any `u64` or `i64` in decimal (`-9223372036854775808` is 20 bytes).
pub type IntBuf = [u8; 20];

/// Writes `v` in decimal at the end of `buf` and returns the written tail.
#[inline]
pub fn fmt_u64(mut v: u64, buf: &mut IntBuf) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    &buf[i..]
}

/// Writes `v` in decimal (with a leading `-` when negative) at the end of `buf`.
#[inline]
pub fn fmt_i64(v: i64, buf: &mut IntBuf) -> &[u8] {
    let n = fmt_u64(v.unsigned_abs(), buf).len();
    if v < 0 {
        let start = buf.len() - n - 1;
        buf[start] = b'-';
        &buf[start..]
    } else {
        &buf[buf.len() - n..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string2ll_matches_redis_rules() {
        let ok: &[(&[u8], i64)] = &[
            (b"0", 0),
            (b"1", 1),
            (b"-1", -1),
            (b"10", 10),
            (b"9223372036854775807", i64::MAX),
            (b"-9223372036854775808", i64::MIN),
        ];
        for &(s, v) in ok {
            assert_eq!(string2ll(s), Some(v), "{:?}", String::from_utf8_lossy(s));
        }
        let bad: &[&[u8]] = &[
            b"",
            b"-",
            b"+1",
            b"01",
            b"-0",
            b"00",
            b" 1",
            b"1 ",
            b"1a",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"18446744073709551616",
            b"000000000000000000001",
        ];
        for &s in bad {
            assert_eq!(string2ll(s), None, "{:?}", String::from_utf8_lossy(s));
        }
    }

    #[test]
    fn formatting_matches_std() {
        let mut b = IntBuf::default();
        for v in [0i64, 1, -1, 9, 10, -10, 12345, i64::MAX, i64::MIN] {
            assert_eq!(fmt_i64(v, &mut b), v.to_string().as_bytes());
        }
        for v in [0u64, 7, 100, u64::MAX] {
            assert_eq!(fmt_u64(v, &mut b), v.to_string().as_bytes());
        }
    }
}
