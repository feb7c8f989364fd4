//! Number parsing and formatting with Redis's exact rules (util.c `string2ll`, `ll2string`,
//! `string2ld`-style float parsing), and a software x87 `long double` (`LongDouble`) so
//! INCRBYFLOAT parses, adds and prints exactly as Redis does. Pure functions; no allocation on
//! the integer paths.

/// Redis's `string2ll`: optional '-', no '+', no leading zeros (except "0"), no spaces, fits in i64.
pub fn string2ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s.len() == 1 && s[0] == b'0' {
        return Some(0);
    }
    let (neg, digits) = if s[0] == b'-' {
        (true, &s[1..])
    } else {
        (false, s)
    };
    if digits.is_empty() || digits[0] == b'0' {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > (i64::MAX as u64) + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else if v > i64::MAX as u64 {
        None
    } else {
        Some(v as i64)
    }
}

/// Formats `v` into `buf`, returning the used tail slice.
pub fn format_i64(v: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut n = v.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// Parses a float the way Redis's `string2ld`/`strtold` accept it for INCRBYFLOAT:
/// no leading/trailing space, not empty, "inf"/"nan" forms rejected by the caller as needed.
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    if s.is_empty() || s.len() > 5000 {
        return None;
    }
    if s[0].is_ascii_whitespace() || s[s.len() - 1].is_ascii_whitespace() {
        return None;
    }
    let t = std::str::from_utf8(s).ok()?;
    // strtold accepts hex floats and "infinity"; Rust accepts "inf"/"infinity"/"nan" too.
    let lower = t.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    if body.starts_with("0x") {
        return parse_hex_float(&lower);
    }
    if !body
        .bytes()
        .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'+' | b'-'))
        && !matches!(body, "inf" | "infinity" | "nan")
    {
        return None;
    }
    t.parse::<f64>().ok()
}

fn parse_hex_float(s: &str) -> Option<f64> {
    let (neg, rest) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let rest = rest.strip_prefix("0x")?;
    let (mant, exp) = match rest.find('p') {
        Some(i) => (&rest[..i], rest[i + 1..].parse::<i32>().ok()?),
        None => (rest, 0),
    };
    let (int_part, frac_part) = match mant.find('.') {
        Some(i) => (&mant[..i], &mant[i + 1..]),
        None => (mant, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int_part.chars() {
        v = v * 16.0 + c.to_digit(16)? as f64;
    }
    let mut scale = 1.0 / 16.0;
    for c in frac_part.chars() {
        v += c.to_digit(16)? as f64 * scale;
        scale /= 16.0;
    }
    let v = v * 2f64.powi(exp);
    Some(if neg { -v } else { v })
}

// ---------------------------------------------------------------------------------------------------
// `long double` (x87 80-bit extended precision) in software, for INCRBYFLOAT.
//
// Redis computes INCRBYFLOAT with `long double`: `strtold` parsing, one x87 addition and
// `printf("%.17Lf")`. Rust has no such type, and f64 gives different digits (10.5 + 0.1 is
// "10.6" in Redis but 10.59999999999999964 at %.17f in f64), so the three steps are reproduced
// exactly here: correctly rounded parsing, round-to-nearest-even addition with a 64-bit
// significand, and exact decimal expansion. Values use the whole extended range (1e4000 is a
// number, as in Redis).
// ---------------------------------------------------------------------------------------------------

/// Exponent of the least significant significand bit of the smallest subnormal (2^-16445).
const LD_EXP_MIN: i64 = -16445;
/// Largest exponent of the least significant significand bit of a finite value
/// (LDBL_MAX = (2^64 - 1) * 2^16320).
const LD_EXP_MAX: i64 = 16320;
/// Redis's `MAX_LONG_DOUBLE_CHARS`: `string2ld` refuses inputs this long or longer.
pub const MAX_LONG_DOUBLE_CHARS: usize = 5 * 1024;

/// An x87 80-bit extended precision value (C `long double` on x86-64 Linux).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LongDouble {
    Zero {
        neg: bool,
    },
    /// `±mant * 2^exp`, `mant != 0`. Normal values have bit 63 of `mant` set; subnormals have
    /// `exp == -16445`.
    Finite {
        neg: bool,
        mant: u64,
        exp: i32,
    },
    Inf {
        neg: bool,
    },
    Nan,
}

impl LongDouble {
    /// The exact value of an integer (every i64 fits in 64 significand bits).
    pub fn from_i64(v: i64) -> LongDouble {
        if v == 0 {
            return LongDouble::Zero { neg: false };
        }
        let m = v.unsigned_abs();
        let lz = m.leading_zeros();
        LongDouble::Finite {
            neg: v < 0,
            mant: m << lz,
            exp: -(lz as i32),
        }
    }

    pub fn is_finite(&self) -> bool {
        matches!(self, LongDouble::Zero { .. } | LongDouble::Finite { .. })
    }

    /// Redis's `ld2string(.., LD_STR_HUMAN)`: `printf("%.17Lf")`, trailing zeros (and a trailing
    /// '.') removed, "-0" printed as "0"; infinities and NaN as "inf", "-inf", "nan".
    pub fn to_human(&self) -> Vec<u8> {
        let (neg, int_digits, frac) = match *self {
            LongDouble::Nan => return b"nan".to_vec(),
            LongDouble::Inf { neg } => {
                return if neg {
                    b"-inf".to_vec()
                } else {
                    b"inf".to_vec()
                }
            }
            LongDouble::Zero { neg } => (neg, b"0".to_vec(), 0u64),
            LongDouble::Finite { neg, mant, exp } => {
                if exp >= 0 {
                    (
                        neg,
                        Big::from_u128(mant as u128).shl(exp as u64).to_decimal(),
                        0,
                    )
                } else {
                    let n = (-exp) as u32;
                    let (int, f) = if n < 64 {
                        (mant >> n, mant & ((1u64 << n) - 1))
                    } else {
                        (0, mant)
                    };
                    // Seventeen fraction digits, rounded to nearest with ties to even (glibc).
                    const P17: u128 = 100_000_000_000_000_000;
                    let prod = f as u128 * P17; // < 2^121
                    let (mut q, up) = if n >= 128 {
                        (0, false)
                    } else {
                        let q = prod >> n;
                        let r = prod - (q << n);
                        let half = 1u128 << (n - 1);
                        (q, r > half || (r == half && q & 1 == 1))
                    };
                    let mut int = int as u128;
                    if up {
                        q += 1;
                        if q == P17 {
                            q = 0;
                            int += 1;
                        }
                    }
                    (neg, int.to_string().into_bytes(), q as u64)
                }
            }
        };
        let mut out = Vec::with_capacity(int_digits.len() + 19);
        if neg {
            out.push(b'-');
        }
        out.extend_from_slice(&int_digits);
        if frac != 0 {
            let digits = format!(".{frac:017}");
            out.extend_from_slice(digits.trim_end_matches('0').as_bytes());
        }
        if out == b"-0" {
            out.remove(0);
        }
        out
    }
}

impl std::ops::Add for LongDouble {
    type Output = LongDouble;

    /// `self + other`, rounded to nearest, ties to even, as the x87 unit does it.
    fn add(self, other: LongDouble) -> LongDouble {
        use LongDouble::*;
        match (self, other) {
            (Nan, _) | (_, Nan) => Nan,
            (Inf { neg: x }, Inf { neg: y }) => {
                if x == y {
                    self
                } else {
                    Nan
                }
            }
            (Inf { .. }, _) => self,
            (_, Inf { .. }) => other,
            (Zero { neg: x }, Zero { neg: y }) => Zero { neg: x && y },
            (Zero { .. }, _) => other,
            (_, Zero { .. }) => self,
            (
                Finite {
                    neg: an,
                    mant: am,
                    exp: ae,
                },
                Finite {
                    neg: bn,
                    mant: bm,
                    exp: be,
                },
            ) => {
                let (am, ae) = normalize(am, ae);
                let (bm, be) = normalize(bm, be);
                // x is the operand of larger magnitude.
                let ((xn, xm, xe), (yn, ym, ye)) = if (ae, am) >= (be, bm) {
                    ((an, am, ae), (bn, bm, be))
                } else {
                    ((bn, bm, be), (an, am, ae))
                };
                // 62 guard bits below x's significand; what y loses below them is a sticky bit.
                let d = xe - ye;
                let big_x = (xm as u128) << 62;
                let y = (ym as u128) << 62;
                let (big_y, sticky) = if d >= 128 {
                    (0, true)
                } else {
                    (y >> d, d > 0 && y & ((1u128 << d) - 1) != 0)
                };
                let base = xe - 62;
                if xn == yn {
                    round_ld(xn, big_x + big_y, base, sticky)
                } else if big_x == big_y && !sticky {
                    Zero { neg: false }
                } else if sticky {
                    // x - (y + e) = (x - y - 1) + (1 - e), with 0 < 1 - e < 1.
                    round_ld(xn, big_x - big_y - 1, base, true)
                } else {
                    round_ld(xn, big_x - big_y, base, false)
                }
            }
        }
    }
}

/// Shifts a finite significand so bit 63 is set (subnormals get an exponent below the minimum).
fn normalize(mant: u64, exp: i32) -> (u64, i64) {
    let lz = mant.leading_zeros();
    (mant << lz, exp as i64 - lz as i64)
}

/// Rounds `±(m + (sticky ? e : 0)) * 2^exp`, `0 < e < 1`, to the nearest long double, ties to
/// even; subnormal results lose precision, too-large ones become infinite. With `sticky`, `m`
/// must carry at least 66 significant bits.
fn round_ld(neg: bool, m: u128, exp: i64, sticky: bool) -> LongDouble {
    if m == 0 {
        return LongDouble::Zero { neg };
    }
    let bits = 128 - m.leading_zeros() as i64;
    let shift = (bits - 64).max(LD_EXP_MIN - exp);
    let (mant, e) = if shift <= 0 {
        (m << (-shift) as u32, exp + shift)
    } else if shift > 128 {
        (0, exp + shift)
    } else if shift == 128 {
        let half = 1u128 << 127;
        (u128::from(m > half || (m == half && sticky)), exp + shift)
    } else {
        let q = m >> shift;
        let r = m & ((1u128 << shift) - 1);
        let half = 1u128 << (shift - 1);
        let up = r > half || (r == half && (sticky || q & 1 == 1));
        let q = q + u128::from(up);
        if q >> 64 != 0 {
            (q >> 1, exp + shift + 1)
        } else {
            (q, exp + shift)
        }
    };
    if mant == 0 {
        LongDouble::Zero { neg }
    } else if e > LD_EXP_MAX {
        LongDouble::Inf { neg }
    } else {
        LongDouble::Finite {
            neg,
            mant: mant as u64,
            exp: e as i32,
        }
    }
}

/// Redis's `string2ld`: the whole of `s` must be what glibc's `strtold` reads (decimal or hex
/// floats, "inf", "infinity", any case). Refused: empty input, `MAX_LONG_DOUBLE_CHARS` or more
/// bytes, leading white space, NaN, overflow, and non-zero values that underflow to zero.
pub fn string2ld(s: &[u8]) -> Option<LongDouble> {
    if s.is_empty() || s.len() >= MAX_LONG_DOUBLE_CHARS || is_c_space(s[0]) {
        return None;
    }
    let (neg, body) = match s[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
        return Some(LongDouble::Inf { neg });
    }
    let v = if body.len() > 2 && body[0] == b'0' && (body[1] | 0x20) == b'x' {
        parse_hex_ld(neg, &body[2..])?
    } else {
        parse_dec_ld(neg, body)?
    };
    match v {
        LongDouble::Inf { .. } | LongDouble::Nan => None,
        v => Some(v),
    }
}

fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Parses `[eE|pP][+-]digits` to its end; None when malformed or when something follows.
/// Huge exponents saturate (their value is then zero or infinite anyway).
fn parse_exponent(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: i64 = 0;
    for &d in digits {
        v = (v * 10 + (d - b'0') as i64).min(1 << 40);
    }
    Some(if neg { -v } else { v })
}

/// `digits[.digits][e[+-]digits]` (at least one digit), exactly rounded.
fn parse_dec_ld(neg: bool, s: &[u8]) -> Option<LongDouble> {
    let mut i = 0;
    let mut digits: Vec<u8> = Vec::new();
    let mut frac_digits: i64 = 0;
    let mut any = false;
    while i < s.len() && s[i].is_ascii_digit() {
        digits.push(s[i]);
        any = true;
        i += 1;
    }
    if i < s.len() && s[i] == b'.' {
        i += 1;
        while i < s.len() && s[i].is_ascii_digit() {
            digits.push(s[i]);
            frac_digits += 1;
            any = true;
            i += 1;
        }
    }
    if !any {
        return None;
    }
    let mut exp10 = 0;
    if i < s.len() {
        if s[i] | 0x20 != b'e' {
            return None;
        }
        exp10 = parse_exponent(&s[i + 1..])?;
    }
    // Strip leading zeros into nothing and trailing zeros into the exponent.
    let start = digits.iter().position(|&d| d != b'0');
    let Some(start) = start else {
        return Some(LongDouble::Zero { neg });
    };
    let end = digits
        .iter()
        .rposition(|&d| d != b'0')
        .expect("a non-zero digit")
        + 1;
    let sig = &digits[start..end];
    let e10 = exp10 - frac_digits + (digits.len() - end) as i64;
    let nd = sig.len() as i64;
    if nd + e10 > 4934 {
        return Some(LongDouble::Inf { neg });
    }
    if nd + e10 < -4952 {
        // Below half the smallest subnormal: strtold returns 0 with ERANGE, which Redis refuses.
        return None;
    }
    let d = Big::from_decimal(sig);
    let v = if e10 >= 0 {
        let mut n = d;
        n.mul_pow10(e10 as u32);
        let (m, shift, sticky) = n.top128();
        round_ld(neg, m, shift, sticky)
    } else {
        let mut p = Big::from_u128(1);
        p.mul_pow10((-e10) as u32);
        let s = p.bit_len() as i64 - d.bit_len() as i64 + 127;
        let (num, den) = if s >= 0 {
            (d.shl(s as u64), p)
        } else {
            (d, p.shl((-s) as u64))
        };
        let (q, rem) = num.div_u128(&den);
        round_ld(neg, q, -s, rem)
    };
    if matches!(v, LongDouble::Zero { .. }) {
        return None;
    }
    Some(v)
}

/// After "0x": `hexdigits[.hexdigits][p[+-]digits]`, exactly rounded.
fn parse_hex_ld(neg: bool, s: &[u8]) -> Option<LongDouble> {
    let mut m: u128 = 0;
    let mut sticky = false;
    let mut exp2: i64 = 0;
    let mut any = false;
    let mut i = 0;
    let mut in_frac = false;
    while i < s.len() {
        let c = s[i];
        let d = match c {
            b'.' if !in_frac => {
                in_frac = true;
                i += 1;
                continue;
            }
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => break,
        };
        any = true;
        if m >> 124 == 0 {
            m = m << 4 | d as u128;
            if in_frac {
                exp2 -= 4;
            }
        } else {
            sticky |= d != 0;
            if !in_frac {
                exp2 += 4;
            }
        }
        i += 1;
    }
    if !any {
        return None;
    }
    if i < s.len() {
        if s[i] | 0x20 != b'p' {
            return None;
        }
        exp2 = exp2.saturating_add(parse_exponent(&s[i + 1..])?);
    }
    if m == 0 {
        return Some(LongDouble::Zero { neg });
    }
    let v = round_ld(neg, m, exp2.clamp(-(1 << 40), 1 << 40), sticky);
    if matches!(v, LongDouble::Zero { .. }) {
        return None;
    }
    Some(v)
}

/// A non-negative big integer (little-endian 32-bit limbs, no high zero limbs), just enough for
/// exact decimal <-> binary conversion of long doubles.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Big(Vec<u32>);

impl Big {
    fn from_u128(mut v: u128) -> Big {
        let mut limbs = Vec::new();
        while v != 0 {
            limbs.push(v as u32);
            v >>= 32;
        }
        Big(limbs)
    }

    fn from_decimal(digits: &[u8]) -> Big {
        let mut b = Big(Vec::new());
        for chunk in digits.chunks(9) {
            let mut v = 0u32;
            for &d in chunk {
                v = v * 10 + (d - b'0') as u32;
            }
            b.mul_add_small(10u32.pow(chunk.len() as u32), v);
        }
        b
    }

    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    fn mul_add_small(&mut self, mul: u32, add: u32) {
        let mut carry = add as u64;
        for l in &mut self.0 {
            let v = *l as u64 * mul as u64 + carry;
            *l = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
    }

    fn mul_pow10(&mut self, mut k: u32) {
        while k >= 9 {
            self.mul_add_small(1_000_000_000, 0);
            k -= 9;
        }
        if k > 0 {
            self.mul_add_small(10u32.pow(k), 0);
        }
    }

    fn bit_len(&self) -> u64 {
        match self.0.last() {
            None => 0,
            Some(&top) => self.0.len() as u64 * 32 - top.leading_zeros() as u64,
        }
    }

    fn shl(&self, bits: u64) -> Big {
        if self.is_zero() {
            return Big(Vec::new());
        }
        let limbs = (bits / 32) as usize;
        let r = (bits % 32) as u32;
        let mut out = vec![0u32; limbs];
        out.reserve(self.0.len() + 1);
        if r == 0 {
            out.extend_from_slice(&self.0);
        } else {
            let mut carry = 0u32;
            for &l in &self.0 {
                out.push(l << r | carry);
                carry = l >> (32 - r);
            }
            if carry != 0 {
                out.push(carry);
            }
        }
        Big(out)
    }

    fn bit(&self, i: u64) -> bool {
        self.0
            .get((i / 32) as usize)
            .is_some_and(|l| l >> (i % 32) & 1 == 1)
    }

    /// The top 128 bits as `(m, shift, sticky)`: `self = (m + (sticky ? e : 0)) * 2^shift`.
    fn top128(&self) -> (u128, i64, bool) {
        let bl = self.bit_len();
        if bl <= 128 {
            let mut m = 0u128;
            for (i, &l) in self.0.iter().enumerate() {
                m |= (l as u128) << (32 * i);
            }
            return (m, 0, false);
        }
        let shift = bl - 128;
        let mut m = 0u128;
        for i in (shift..bl).rev() {
            m = m << 1 | u128::from(self.bit(i));
        }
        let full = (shift / 32) as usize;
        let sticky = self.0[..full].iter().any(|&l| l != 0)
            || self.0[full] & ((1u32 << (shift % 32)) - 1) != 0;
        (m, shift as i64, sticky)
    }

    fn cmp_big(&self, other: &Big) -> std::cmp::Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }

    /// `self -= other`, where `self >= other`.
    fn sub_assign(&mut self, other: &Big) {
        let mut borrow = 0i64;
        for i in 0..self.0.len() {
            let o = other.0.get(i).copied().unwrap_or(0) as i64;
            let mut v = self.0[i] as i64 - o - borrow;
            borrow = 0;
            if v < 0 {
                v += 1 << 32;
                borrow = 1;
            }
            self.0[i] = v as u32;
        }
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    /// `(self / den, self % den != 0)` for a quotient below 2^128.
    fn div_u128(&self, den: &Big) -> (u128, bool) {
        let (nb, db) = (self.bit_len(), den.bit_len());
        if nb < db {
            return (0, !self.is_zero());
        }
        let mut rem = self.clone();
        let mut q = 0u128;
        for i in (0..=nb - db).rev() {
            let t = den.shl(i);
            if rem.cmp_big(&t) != std::cmp::Ordering::Less {
                rem.sub_assign(&t);
                q |= 1u128 << i;
            }
        }
        (q, !rem.is_zero())
    }

    /// Decimal digits (at least one).
    fn to_decimal(&self) -> Vec<u8> {
        let mut limbs = self.0.clone();
        let mut chunks = Vec::new();
        while !limbs.is_empty() {
            let mut rem = 0u64;
            for l in limbs.iter_mut().rev() {
                let v = (rem << 32) | *l as u64;
                *l = (v / 1_000_000_000) as u32;
                rem = v % 1_000_000_000;
            }
            while limbs.last() == Some(&0) {
                limbs.pop();
            }
            chunks.push(rem as u32);
        }
        let mut out = match chunks.pop() {
            None => return b"0".to_vec(),
            Some(top) => top.to_string().into_bytes(),
        };
        for c in chunks.iter().rev() {
            out.extend_from_slice(format!("{c:09}").as_bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string2ll_matches_redis() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"-1"), Some(-1));
        assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"9223372036854775808",
            b"1a",
        ] {
            assert_eq!(string2ll(bad), None, "{:?}", bad);
        }
    }

    fn incr_human(stored: &str, incr: &str) -> Option<String> {
        let a = string2ld(stored.as_bytes())?;
        let b = string2ld(incr.as_bytes())?;
        let r = a + b;
        r.is_finite()
            .then(|| String::from_utf8(r.to_human()).expect("ascii"))
    }

    #[test]
    fn long_double_matches_redis_incrbyfloat() {
        // Replies of Redis 7.0.15 on x86-64 to `SET k <a>` then `INCRBYFLOAT k <b>`.
        let cases = [
            ("10.5", "0.1", "10.6"),
            ("3.0e3", "0", "3000"),
            ("0", "1e-5", "0.00001"),
            (
                "0",
                "5.0e50",
                "500000000000000000017919150594294619453992437022720",
            ),
            ("-0", "-0", "0"),
            ("0", "1e-400", "0"),
            ("0", "0x1p3", "8"),
            ("0", "3.814697265625e-06", "0.00000381469726562"),
            ("0", "1.1444091796875e-05", "0.00001144409179688"),
            (
                "6967165434276444e-84",
                "-742460.4150915951",
                "-742460.41509159510002291",
            ),
            (
                "1e-4950",
                "9063486203756384.13252240439",
                "9063486203756384.1328125",
            ),
            (
                "7656363657439972e+3",
                "-8245778338488881101",
                "-589414681048909101",
            ),
            (
                "-15109.482428839547",
                "77115061634E-3190",
                "-15109.48242883954700044",
            ),
            ("-74E18", "18446744073709551616", "-55553255926290448384"),
            ("1.5", "-1.5", "0"),
            ("0.1", "0.2", "0.3"),
            ("9223372036854775807", "1", "9223372036854775808"),
        ];
        for (a, b, want) in cases {
            assert_eq!(incr_human(a, b).as_deref(), Some(want), "{a} + {b}");
        }
        let big = incr_human("0", "1e4000").expect("finite in long double");
        assert!(big.starts_with("99999999999999999999654638730996237849"));
        assert_eq!(big.len(), 4000);
    }

    #[test]
    fn string2ld_accepts_what_strtold_reads_whole() {
        for ok in [
            "1",
            "-1",
            "+1",
            "1.",
            ".5",
            "1e5",
            "1E+5",
            "1e-5",
            "0x1p3",
            "0X1.8P-2",
            "inf",
            "-Infinity",
            "0e999999",
            "3e-4951",
        ] {
            assert!(string2ld(ok.as_bytes()).is_some(), "{ok}");
        }
        for bad in [
            "", " 1", "1 ", "\t1", "nan", "-nan", "1e", "1e+", ".", "e5", "0x", "0xg", "abc",
            "1.2.3", "++1", "1e5000", "1e-5000", "infin", "1\x002",
        ] {
            assert!(string2ld(bad.as_bytes()).is_none(), "{bad:?}");
        }
        assert!(string2ld(&vec![b'1'; MAX_LONG_DOUBLE_CHARS]).is_none());
        assert!(
            string2ld(&vec![b'1'; MAX_LONG_DOUBLE_CHARS - 1]).is_none(),
            "overflows"
        );
        assert_eq!(
            string2ld(b"inf").map(|v| (v + LongDouble::from_i64(1)).is_finite()),
            Some(false)
        );
        assert_eq!(
            string2ld(b"inf").map(|v| v + LongDouble::Inf { neg: true }),
            Some(LongDouble::Nan)
        );
    }

    #[test]
    fn long_double_integers_are_exact() {
        for v in [0i64, 1, -1, 42, i64::MAX, i64::MIN] {
            assert_eq!(
                LongDouble::from_i64(v).to_human(),
                v.to_string().into_bytes()
            );
        }
    }

    #[test]
    fn format_round_trips() {
        for v in [0i64, 1, -1, 42, i64::MAX, i64::MIN, 1000, -999] {
            let mut b = [0u8; 20];
            assert_eq!(format_i64(v, &mut b), v.to_string().as_bytes());
        }
    }
}
