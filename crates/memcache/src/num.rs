//! memcached's number parsers (`util.c`): what a token must look like to be a number.
//!
//! They wrap C's `strtoull`/`strtol`: leading whitespace and a sign are allowed, at least one digit
//! is required, and the token must end right after the digits (tokens never contain spaces).
//! A negative value is refused where memcached refuses it. Must not allocate.

/// Parses `[ws][+|-]digits` as C's `strtoull` would, returning (negative, magnitude).
fn c_digits(s: &[u8]) -> Option<(bool, u64)> {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r') {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    let start = i;
    let mut v: u64 = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        v = v.checked_mul(10)?.checked_add(u64::from(s[i] - b'0'))?;
        i += 1;
    }
    if i == start || i != s.len() {
        return None;
    }
    Some((neg, v))
}

/// `safe_strtoull`: an unsigned 64-bit number; a negative one is refused (except `-0`).
pub fn strtoull(s: &[u8]) -> Option<u64> {
    match c_digits(s)? {
        (true, 0) => Some(0),
        (true, _) => None,
        (false, v) => Some(v),
    }
}

/// `safe_strtoflags` (memcached 1.6.18): parsed as an unsigned long and stored in 32 bits, so
/// larger values wrap (memcached's own behaviour).
pub fn strtoflags(s: &[u8]) -> Option<u32> {
    strtoull(s).map(|v| v as u32)
}

/// `safe_strtol`: a signed number parsed as C's `long` (64 bits) and stored in an `int32_t`, so
/// values past 32 bits wrap (memcached 1.6.18's behaviour: `4102444800` is a negative exptime).
pub fn strtol(s: &[u8]) -> Option<i64> {
    let (neg, v) = c_digits(s)?;
    let l = if neg {
        0i64.checked_sub_unsigned(v)?
    } else {
        i64::try_from(v).ok()?
    };
    Some(i64::from(l as i32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(strtoull(b"10"), Some(10));
        assert_eq!(strtoull(b"+7"), Some(7));
        assert_eq!(strtoull(b"-0"), Some(0));
        assert_eq!(strtoull(b"-1"), None);
        assert_eq!(strtoull(b""), None);
        assert_eq!(strtoull(b"1x"), None);
        assert_eq!(strtoull(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(strtoull(b"18446744073709551616"), None);
        assert_eq!(strtoflags(b"4294967296"), Some(0));
        assert_eq!(strtol(b"-1"), Some(-1));
        assert_eq!(strtol(b"4102444800"), Some(-192522496));
        assert_eq!(strtol(b"4294967297"), Some(1));
        assert_eq!(strtol(b"9223372036854775808"), None);
        assert_eq!(strtol(b"01"), Some(1));
    }
}
