//! The operations of a hash value ([`HashValue`]), whatever its encoding, with Redis 7's
//! encoding rules (t_hash.c): a hash starts as a listpack of alternating field and value
//! entries, converts to a [`DenseMap`] when it would hold more than `hash-max-listpack-entries`
//! fields or when a field or value longer than `hash-max-listpack-value` bytes is written (or the
//! listpack would pass Redis's 1 GiB safety size), and never converts back.
//!
//! Values are read as [`LpEntry`]: a listpack keeps integer-looking strings as integers (as Redis
//! does), a dense map keeps bytes. Both read back as the bytes that were written.
//!
//! This module knows nothing of commands, replies or shards: the thresholds come in as
//! [`Limits`] and randomness as a `rnd(n) -> 0..n` closure.

use crate::dense::DenseMap;
use crate::limits::Limits;
use crate::listpack::{ListPack, LpEntry, LpPos};
use crate::num::{format_i64, string2ld, LongDouble};
use crate::value::HashValue;
use std::collections::HashSet;

/// Redis's `LISTPACK_MAX_SAFETY_SIZE`: a listpack never grows past this many bytes.
pub const LISTPACK_MAX_SAFETY_SIZE: usize = 1 << 30;

/// Why HINCRBY / HINCRBYFLOAT did not apply (the hash is unchanged).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashIncrError {
    /// HINCRBY: the stored value is not an integer (`string2ll`).
    NotInteger,
    /// HINCRBYFLOAT: the stored value is not a float (`string2ld`).
    NotFloat,
    /// HINCRBY: the result does not fit in an i64.
    Overflow,
    /// HINCRBYFLOAT: the result is NaN or infinite.
    NanOrInf,
}

/// A field and its value as stored.
pub type HashPair<'a> = (LpEntry<'a>, LpEntry<'a>);

/// One iterator type over either encoding.
enum Either<A, B> {
    A(A),
    B(B),
}

impl<T, A: Iterator<Item = T>, B: Iterator<Item = T>> Iterator for Either<A, B> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        match self {
            Either::A(a) => a.next(),
            Either::B(b) => b.next(),
        }
    }
}

/// Consecutive listpack entries taken two at a time.
struct Pairs<I>(I);

impl<'a, I: Iterator<Item = LpEntry<'a>>> Iterator for Pairs<I> {
    type Item = HashPair<'a>;
    fn next(&mut self) -> Option<HashPair<'a>> {
        let f = self.0.next()?;
        let v = self
            .0
            .next()
            .expect("a hash listpack holds field/value pairs");
        Some((f, v))
    }
}

impl Default for HashValue {
    fn default() -> Self {
        HashValue::new()
    }
}

/// Position of `field`'s entry in a field/value listpack.
fn lp_find(lp: &ListPack, field: &[u8]) -> Option<LpPos> {
    lp.find_from(lp.first_pos()?, field, 1)
}

impl HashValue {
    /// An empty hash in the small encoding (what HSET on a missing key creates).
    pub fn new() -> HashValue {
        HashValue::Packed(ListPack::new())
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<LpEntry<'_>> {
        match self {
            HashValue::Packed(lp) => {
                let p = lp_find(lp, field)?;
                Some(lp.entry(lp.next_pos(p).expect("a value follows its field")))
            }
            HashValue::Dense(m) => m.get(field).map(LpEntry::Str),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        match self {
            HashValue::Packed(lp) => lp_find(lp, field).is_some(),
            HashValue::Dense(m) => m.contains_key(field),
        }
    }

    /// Converts to the dense encoding (no-op when already dense); the contents are unchanged.
    pub fn convert_to_dense(&mut self) {
        if let HashValue::Packed(lp) = self {
            let mut m = DenseMap::with_capacity(lp.len() / 2);
            for (f, v) in Pairs(lp.iter()) {
                f.with_bytes(|f| v.with_bytes(|v| m.insert(f, v)));
            }
            *self = HashValue::Dense(m);
        }
    }

    /// Redis's `hashTypeTryConversion` before writing arguments of the given lengths (fields
    /// and values alike): converts when any is longer than `hash-max-listpack-value`, or when
    /// the listpack could pass its safety size.
    pub fn prepare_for(&mut self, lens: impl IntoIterator<Item = usize>, limits: &Limits) {
        let HashValue::Packed(lp) = self else {
            return;
        };
        let mut sum = 0usize;
        for len in lens {
            if len > limits.hash_max_listpack_value {
                return self.convert_to_dense();
            }
            sum = sum.saturating_add(len);
        }
        if lp.bytes().saturating_add(sum) > LISTPACK_MAX_SAFETY_SIZE {
            self.convert_to_dense();
        }
    }

    /// Sets `field` to `value` (Redis's `hashTypeSet`); true when the field is new. A listpack
    /// converts first if either is longer than `hash-max-listpack-value`, and after the write if
    /// it holds more than `hash-max-listpack-entries` fields. An existing field keeps its place.
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: &Limits) -> bool {
        if matches!(self, HashValue::Packed(_))
            && (field.len() > limits.hash_max_listpack_value
                || value.len() > limits.hash_max_listpack_value)
        {
            self.convert_to_dense();
        }
        let new = match self {
            HashValue::Packed(lp) => match lp_find(lp, field) {
                Some(p) => {
                    let vp = lp.next_pos(p).expect("a value follows its field");
                    lp.replace_at(vp, value);
                    false
                }
                None => {
                    lp.push_back(field);
                    lp.push_back(value);
                    true
                }
            },
            HashValue::Dense(m) => return m.insert(field, value),
        };
        if self.len() > limits.hash_max_listpack_entries {
            self.convert_to_dense();
        }
        new
    }

    /// Sets every (field, value) pair as HSET / HMSET do (one conversion check over all the
    /// arguments first); returns how many fields were new.
    pub fn set_pairs<'a>(
        &mut self,
        pairs: impl IntoIterator<Item = (&'a [u8], &'a [u8])> + Clone,
        limits: &Limits,
    ) -> usize {
        self.prepare_for(
            pairs
                .clone()
                .into_iter()
                .flat_map(|(f, v)| [f.len(), v.len()]),
            limits,
        );
        pairs
            .into_iter()
            .filter(|(f, v)| self.set(f, v, limits))
            .count()
    }

    /// HSETNX: sets `field` only when absent; true when it was set.
    pub fn set_if_absent(&mut self, field: &[u8], value: &[u8], limits: &Limits) -> bool {
        if self.contains(field) {
            return false;
        }
        self.prepare_for([field.len(), value.len()], limits);
        self.set(field, value, limits)
    }

    /// Removes `field`; false when it was absent. The encoding never changes back.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            HashValue::Packed(lp) => match lp_find(lp, field) {
                Some(p) => {
                    let vp = lp.remove_at(p).expect("a value follows its field");
                    lp.remove_at(vp);
                    true
                }
                None => false,
            },
            HashValue::Dense(m) => m.remove(field),
        }
    }

    /// Every (field, value): insertion order for a listpack, table order for a dense map.
    pub fn iter(&self) -> impl Iterator<Item = HashPair<'_>> + '_ {
        match self {
            HashValue::Packed(lp) => Either::A(Pairs(lp.iter())),
            HashValue::Dense(m) => {
                Either::B(m.iter().map(|(f, v)| (LpEntry::Str(f), LpEntry::Str(v))))
            }
        }
    }

    /// A uniformly chosen (field, value); `rnd(n)` returns a value in `0..n`.
    pub fn random(&self, mut rnd: impl FnMut(usize) -> usize) -> Option<HashPair<'_>> {
        match self {
            HashValue::Packed(lp) => {
                let n = lp.len() / 2;
                if n == 0 {
                    return None;
                }
                let p = lp.seek(2 * rnd(n))?;
                let vp = lp.next_pos(p).expect("a value follows its field");
                Some((lp.entry(p), lp.entry(vp)))
            }
            HashValue::Dense(m) => m
                .random(rnd)
                .map(|(f, v)| (LpEntry::Str(f), LpEntry::Str(v))),
        }
    }

    /// `count` uniformly chosen pairs, repeats allowed (HRANDFIELD with a negative count).
    pub fn random_with_repeats(
        &self,
        count: usize,
        mut rnd: impl FnMut(usize) -> usize,
    ) -> Vec<HashPair<'_>> {
        if self.is_empty() {
            return Vec::new();
        }
        // Grown as it fills rather than reserved up front: a client may ask for any count.
        let mut out = Vec::new();
        match self {
            HashValue::Packed(_) => {
                // One walk, then O(1) per pick.
                let all: Vec<HashPair<'_>> = self.iter().collect();
                for _ in 0..count {
                    out.push(all[rnd(all.len())]);
                }
            }
            HashValue::Dense(_) => {
                for _ in 0..count {
                    out.push(self.random(&mut rnd).expect("not empty"));
                }
            }
        }
        out
    }

    /// `min(count, len)` distinct pairs chosen uniformly (HRANDFIELD with a positive count);
    /// everything, in iteration order, when `count >= len`.
    pub fn random_distinct(
        &self,
        count: usize,
        mut rnd: impl FnMut(usize) -> usize,
    ) -> Vec<HashPair<'_>> {
        let len = self.len();
        if count >= len {
            return self.iter().collect();
        }
        if matches!(self, HashValue::Packed(_)) || count.saturating_mul(3) > len {
            // A partial Fisher-Yates shuffle of every pair.
            let mut all: Vec<HashPair<'_>> = self.iter().collect();
            for i in 0..count {
                let j = i + rnd(len - i);
                all.swap(i, j);
            }
            all.truncate(count);
            return all;
        }
        // Few of many: draw until `count` distinct fields came up.
        let mut seen: HashSet<&[u8]> = HashSet::with_capacity(count);
        let mut out = Vec::with_capacity(count);
        while out.len() < count {
            let (f, v) = self.random(&mut rnd).expect("not empty");
            let LpEntry::Str(fb) = f else {
                unreachable!("dense maps hold bytes")
            };
            if seen.insert(fb) {
                out.push((f, v));
            }
        }
        out
    }

    /// One HSCAN step from `cursor`: reports pairs to `f` and returns the next cursor (0: done).
    /// A listpack is reported whole whatever the cursor (Redis ignores COUNT there); a dense
    /// map follows [`DenseMap::scan`]'s guarantee across resizes.
    pub fn scan(
        &self,
        cursor: u64,
        count: usize,
        mut f: impl FnMut(LpEntry<'_>, LpEntry<'_>),
    ) -> u64 {
        match self {
            HashValue::Packed(lp) => {
                for (k, v) in Pairs(lp.iter()) {
                    f(k, v);
                }
                0
            }
            HashValue::Dense(m) => {
                m.scan(cursor, count, |k, v| f(LpEntry::Str(k), LpEntry::Str(v)))
            }
        }
    }

    /// HINCRBY: adds `incr` to the field's integer value (0 when absent) and stores the result.
    pub fn incr_by(
        &mut self,
        field: &[u8],
        incr: i64,
        limits: &Limits,
    ) -> Result<i64, HashIncrError> {
        let current = match self.get(field) {
            Some(e) => e.as_i64().ok_or(HashIncrError::NotInteger)?,
            None => 0,
        };
        let v = current.checked_add(incr).ok_or(HashIncrError::Overflow)?;
        let mut buf = [0u8; 20];
        self.set(field, format_i64(v, &mut buf), limits);
        Ok(v)
    }

    /// HINCRBYFLOAT: adds `incr` (finite: the caller refuses NaN and infinities) to the field's
    /// value (0 when absent) in long double precision, stores and returns the result as Redis
    /// prints it (`ld2string` human form).
    pub fn incr_by_float(
        &mut self,
        field: &[u8],
        incr: LongDouble,
        limits: &Limits,
    ) -> Result<Vec<u8>, HashIncrError> {
        let current = match self.get(field) {
            Some(LpEntry::Int(v)) => LongDouble::from_i64(v),
            Some(LpEntry::Str(s)) => string2ld(s).ok_or(HashIncrError::NotFloat)?,
            None => LongDouble::Zero { neg: false },
        };
        let sum = current + incr;
        if !sum.is_finite() {
            return Err(HashIncrError::NanOrInf);
        }
        let text = sum.to_human();
        self.set(field, &text, limits);
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(entries: usize, value: usize) -> Limits {
        Limits {
            hash_max_listpack_entries: entries,
            hash_max_listpack_value: value,
            ..Limits::default()
        }
    }

    fn bytes(e: LpEntry<'_>) -> Vec<u8> {
        e.to_vec()
    }

    #[test]
    fn converts_at_both_thresholds_and_never_back() {
        let l = limits(2, 4);
        let mut h = HashValue::new();
        assert!(h.set(b"a", b"1", &l));
        assert!(h.set(b"b", b"2222", &l));
        assert_eq!(h.encoding(), "listpack");
        assert!(!h.set(b"a", b"x", &l));
        assert_eq!(h.encoding(), "listpack");
        assert!(h.set(b"c", b"3", &l));
        assert_eq!(h.encoding(), "hashtable");
        assert!(h.remove(b"c") && h.remove(b"b"));
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.get(b"a").map(bytes), Some(b"x".to_vec()));

        let mut h = HashValue::new();
        h.set(b"f", b"12345", &l);
        assert_eq!(h.encoding(), "hashtable");
        let mut h = HashValue::new();
        h.set(b"fffff", b"1", &l);
        assert_eq!(h.encoding(), "hashtable");
        // HSETNX on an existing field converts nothing.
        let mut h = HashValue::new();
        h.set(b"f", b"1", &l);
        assert!(!h.set_if_absent(b"f", b"123456", &l));
        assert_eq!(h.encoding(), "listpack");
    }

    #[test]
    fn set_pairs_checks_every_argument_first() {
        let l = limits(128, 4);
        let mut h = HashValue::new();
        let pairs: Vec<(&[u8], &[u8])> = vec![(b"a", b"1"), (b"b", b"long value"), (b"a", b"2")];
        assert_eq!(h.set_pairs(pairs.iter().copied(), &l), 2);
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.get(b"a").map(bytes), Some(b"2".to_vec()));
    }

    #[test]
    fn incr_rules() {
        let l = Limits::default();
        let mut h = HashValue::new();
        assert_eq!(h.incr_by(b"n", 5, &l), Ok(5));
        assert_eq!(h.incr_by(b"n", i64::MAX, &l), Err(HashIncrError::Overflow));
        h.set(b"s", b"abc", &l);
        assert_eq!(h.incr_by(b"s", 1, &l), Err(HashIncrError::NotInteger));
        assert_eq!(
            h.incr_by_float(b"s", LongDouble::from_i64(1), &l),
            Err(HashIncrError::NotFloat)
        );
        let tenth = string2ld(b"0.1").unwrap();
        assert_eq!(h.incr_by_float(b"n", tenth, &l), Ok(b"5.1".to_vec()));
        assert_eq!(h.incr_by(b"n", 1, &l), Err(HashIncrError::NotInteger));
        h.set(b"big", b"1.1e4932", &l);
        let big = string2ld(b"1.1e4932").unwrap();
        assert_eq!(
            h.incr_by_float(b"big", big, &l),
            Err(HashIncrError::NanOrInf)
        );
    }

    #[test]
    fn random_choices() {
        let l = limits(4, 64);
        for dense in [false, true] {
            let mut h = HashValue::new();
            for i in 0..(if dense { 40 } else { 4 }) {
                h.set(format!("f{i}").as_bytes(), format!("{i}").as_bytes(), &l);
            }
            assert_eq!(h.encoding(), if dense { "hashtable" } else { "listpack" });
            let mut x = 12345u64;
            let mut rnd = |n: usize| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % n as u64) as usize
            };
            let len = h.len();
            for count in [1, 2, 3, len / 2, len - 1, len, len + 5] {
                let got = h.random_distinct(count, &mut rnd);
                assert_eq!(got.len(), count.min(len));
                let fields: HashSet<Vec<u8>> = got.iter().map(|(f, _)| f.to_vec()).collect();
                assert_eq!(fields.len(), got.len(), "distinct");
                for (f, v) in got {
                    assert_eq!(h.get(&f.to_vec()), Some(v));
                }
            }
            let got = h.random_with_repeats(100, &mut rnd);
            assert_eq!(got.len(), 100);
            assert!(got.iter().all(|(f, v)| h.get(&f.to_vec()) == Some(*v)));
            let (f, v) = h.random(&mut rnd).unwrap();
            assert_eq!(h.get(&f.to_vec()), Some(v));
        }
        assert!(HashValue::new().random(|_| 0).is_none());
        assert!(HashValue::new().random_with_repeats(3, |_| 0).is_empty());
    }
}
