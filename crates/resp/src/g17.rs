//! `printf("%.17g")` in pure Rust, byte for byte as glibc prints it.
//!
//! Redis 7.0 formats every double reply with `%.17g` (`addReplyDouble`), so this is part of the wire
//! format. Rust's `{:.16e}` is exactly rounded with ties to even, like glibc, which gives the 17
//! significant digits; this module only rearranges them with C's `%g` rules (fixed notation when the
//! exponent is in [-4, 17), trailing zeros and a bare point removed, exponent with at least 2 digits).
//! It must not allocate: it runs for every double in a reply.

use std::fmt::Write as _;

/// The longest `%.17g` output is `-1.2345678901234567e-308` (24 bytes).
pub(crate) const G17_MAX: usize = 32;

/// A fixed-size `fmt::Write` sink, so `{:.16e}` can be produced without allocating.
struct StackBuf {
    buf: [u8; 40],
    len: usize,
}

impl std::fmt::Write for StackBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Writes `%.17g` of `v` into `out` and returns the length written.
pub(crate) fn g17(v: f64, out: &mut [u8; G17_MAX]) -> usize {
    let mut n = 0;
    let mut put = |bytes: &[u8]| {
        out[n..n + bytes.len()].copy_from_slice(bytes);
        n += bytes.len();
    };
    if v.is_sign_negative() {
        // glibc prints the sign of NaN too ("-nan"), and "-0" for negative zero.
        put(b"-");
    }
    if v.is_nan() {
        put(b"nan");
        return n;
    }
    if v.is_infinite() {
        put(b"inf");
        return n;
    }
    let mut s = StackBuf {
        buf: [0; 40],
        len: 0,
    };
    // Cannot fail: the longest `{:.16e}` of an f64 is 23 bytes.
    let _ = write!(s, "{:.16e}", v.abs());
    let text = &s.buf[..s.len];
    let epos = text.iter().position(|&b| b == b'e').unwrap_or(text.len());
    let exp: i32 = std::str::from_utf8(&text[epos + 1..])
        .ok()
        .and_then(|e| e.parse().ok())
        .unwrap_or(0);
    // The 17 significant digits, without the point.
    let mut digits = [0u8; 17];
    let mut nd = 0;
    for &b in &text[..epos] {
        if b.is_ascii_digit() && nd < 17 {
            digits[nd] = b;
            nd += 1;
        }
    }
    // %g drops trailing zeros of the fraction; the significant digits that remain:
    let mut sig = nd;
    while sig > 1 && digits[sig - 1] == b'0' {
        sig -= 1;
    }
    if (-4..17).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            put(&digits[..int_len]);
            if sig > int_len {
                put(b".");
                put(&digits[int_len..sig]);
            }
        } else {
            put(b"0.");
            for _ in 0..(-exp - 1) {
                put(b"0");
            }
            put(&digits[..sig]);
        }
    } else {
        put(&digits[..1]);
        if sig > 1 {
            put(b".");
            put(&digits[1..sig]);
        }
        put(if exp < 0 { b"e-" } else { b"e+" });
        let e = exp.unsigned_abs();
        if e < 10 {
            put(b"0");
        }
        let mut ib = crate::num::IntBuf::default();
        put(crate::num::fmt_u64(u64::from(e), &mut ib));
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(v: f64) -> String {
        let mut b = [0u8; G17_MAX];
        let n = g17(v, &mut b);
        String::from_utf8(b[..n].to_vec()).unwrap()
    }

    // Tie cases need their exact binary values spelled out.
    #[allow(clippy::excessive_precision)]
    #[test]
    fn known_outputs() {
        assert_eq!(f(0.0), "0");
        assert_eq!(f(-0.0), "-0");
        assert_eq!(f(1.0), "1");
        assert_eq!(f(1.5), "1.5");
        assert_eq!(f(0.1), "0.10000000000000001");
        assert_eq!(f(2.675), "2.6749999999999998");
        assert_eq!(f(100.0), "100");
        assert_eq!(f(1e16), "10000000000000000");
        assert_eq!(f(1e17), "1e+17");
        assert_eq!(f(1.5e17), "1.5e+17");
        assert_eq!(f(0.0001), "0.0001");
        assert_eq!(f(0.00001), "1.0000000000000001e-05");
        assert_eq!(f(f64::MAX), "1.7976931348623157e+308");
        assert_eq!(f(f64::MIN_POSITIVE), "2.2250738585072014e-308");
        assert_eq!(f(5e-324), "4.9406564584124654e-324");
        assert_eq!(f(f64::INFINITY), "inf");
        assert_eq!(f(f64::NEG_INFINITY), "-inf");
        assert_eq!(f(f64::NAN), "nan");
        assert_eq!(f(-f64::NAN), "-nan");
        assert_eq!(f(1234567890123456.25), "1234567890123456.2");
        assert_eq!(f(1234567890123456.75), "1234567890123456.8");
    }
}
