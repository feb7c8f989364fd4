//! Redis's intset: the encoding of a small set whose members are all integers
//! (`set-max-intset-entries`), a sorted array of distinct integers stored at the smallest of the
//! 16/32/64-bit widths that fits every member, searched by bisection.
//!
//! The width is upgraded when a member that does not fit arrives and is never downgraded (as in
//! Redis: `OBJECT ENCODING` and the RDB blob keep the width even after the wide member is removed).
//! This module must not decide when a set stops being an intset (the caller owns the thresholds),
//! and knows nothing of string members: callers parse with [`crate::num::string2ll`] first.
//!
//! ```text
//!  width 2:  [ -3 ][  7 ][ 900 ]                  Vec<i16>   (every member in i16)
//!  insert(70_000) -> does not fit: widen every member, then append (it is above them all,
//!                    or below them all, since it fits no narrower width)
//!  width 4:  [ -3 ][  7 ][ 900 ][ 70000 ]         Vec<i32>
//! ```

/// A sorted set of distinct `i64`s at the narrowest width that fits them (never narrowed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntSet {
    data: Data,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Data {
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
}

/// The width in bytes Redis's `_intsetValueEncoding` picks for `v`.
fn width_of(v: i64) -> usize {
    if i16::try_from(v).is_ok() {
        2
    } else if i32::try_from(v).is_ok() {
        4
    } else {
        8
    }
}

/// Any width's member as an `i64` (generic, so the 64-bit arm is not a same-type conversion).
fn widen<T: Into<i64>>(x: T) -> i64 {
    x.into()
}

/// Bisection over any of the three widths; `Err(pos)` is where `v` would go.
fn search<T: Copy + Into<i64>>(xs: &[T], v: i64) -> Result<usize, usize> {
    xs.binary_search_by(|x| (*x).into().cmp(&v))
}

/// Applies one expression to the vector of whichever width is in use.
macro_rules! with_vec {
    ($data:expr, $xs:ident => $body:expr) => {
        match $data {
            Data::I16($xs) => $body,
            Data::I32($xs) => $body,
            Data::I64($xs) => $body,
        }
    };
}

impl Default for IntSet {
    fn default() -> Self {
        IntSet::new()
    }
}

impl IntSet {
    /// An empty set at the 16-bit width (Redis's `intsetNew`).
    pub fn new() -> IntSet {
        IntSet {
            data: Data::I16(Vec::new()),
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        with_vec!(&self.data, xs => xs.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `v` is a member. A value wider than the encoding cannot be, so it is rejected
    /// without a search.
    pub fn contains(&self, v: i64) -> bool {
        width_of(v) <= self.max_encoded_width() && self.position(v).is_ok()
    }

    fn position(&self, v: i64) -> Result<usize, usize> {
        with_vec!(&self.data, xs => search(xs, v))
    }

    /// Adds `v`; false if it was already a member. Widens the encoding first if `v` needs it.
    pub fn insert(&mut self, v: i64) -> bool {
        if width_of(v) > self.max_encoded_width() {
            self.upgrade_and_add(v);
            return true;
        }
        match self.position(v) {
            Ok(_) => false,
            Err(pos) => {
                // `v` fits the current width (checked above), so the narrowing casts are exact.
                match &mut self.data {
                    Data::I16(xs) => xs.insert(pos, v as i16),
                    Data::I32(xs) => xs.insert(pos, v as i32),
                    Data::I64(xs) => xs.insert(pos, v),
                }
                true
            }
        }
    }

    /// Redis's `intsetUpgradeAndAdd`: `v` fits no width in use, so it is below every member (if
    /// negative) or above every member (if positive) and goes at one end.
    fn upgrade_and_add(&mut self, v: i64) {
        let front = v < 0;
        let mut wide: Vec<i64> = self.iter().collect();
        let data = if width_of(v) == 4 {
            // Every member fit 16 bits and `v` fits 32, so all of them fit 32.
            let mut xs: Vec<i32> = Vec::with_capacity(wide.len() + 1);
            xs.extend(wide.iter().map(|&x| x as i32));
            if front {
                xs.insert(0, v as i32);
            } else {
                xs.push(v as i32);
            }
            Data::I32(xs)
        } else {
            if front {
                wide.insert(0, v);
            } else {
                wide.push(v);
            }
            Data::I64(wide)
        };
        self.data = data;
    }

    /// Removes `v`; false if it was not a member. The width stays.
    pub fn remove(&mut self, v: i64) -> bool {
        if width_of(v) > self.max_encoded_width() {
            return false;
        }
        match self.position(v) {
            Ok(pos) => {
                with_vec!(&mut self.data, xs => { xs.remove(pos); });
                true
            }
            Err(_) => false,
        }
    }

    /// The member at `index` in ascending order.
    pub fn get(&self, index: usize) -> Option<i64> {
        with_vec!(&self.data, xs => xs.get(index).copied().map(widen))
    }

    /// Members in ascending order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            set: self,
            front: 0,
            back: self.len(),
        }
    }

    /// The smallest and largest members.
    pub fn min(&self) -> Option<i64> {
        self.get(0)
    }

    pub fn max(&self) -> Option<i64> {
        self.len().checked_sub(1).and_then(|i| self.get(i))
    }

    /// A uniformly chosen member (SRANDMEMBER). `rnd(n)` must return a value in `0..n`.
    pub fn random(&self, mut rnd: impl FnMut(usize) -> usize) -> Option<i64> {
        match self.len() {
            0 => None,
            n => self.get(rnd(n) % n),
        }
    }

    /// Removes and returns a uniformly chosen member (SPOP).
    pub fn pop_random(&mut self, rnd: impl FnMut(usize) -> usize) -> Option<i64> {
        let v = self.random(rnd)?;
        self.remove(v);
        Some(v)
    }

    /// The width in bytes of each stored member: 2, 4 or 8. This is the widest any member has
    /// needed since the set was created (or loaded), because the encoding is never narrowed.
    pub fn max_encoded_width(&self) -> usize {
        match self.data {
            Data::I16(_) => 2,
            Data::I32(_) => 4,
            Data::I64(_) => 8,
        }
    }

    /// Heap bytes held: the member array at its capacity (Redis's blob also has an 8-byte
    /// header, which here lives in the enclosing value instead).
    pub fn mem_bytes(&self) -> usize {
        with_vec!(&self.data, xs => xs.capacity()) * self.max_encoded_width()
    }

    /// Appends Redis's serialized intset (the RDB `SET_INTSET` payload): little-endian u32
    /// width, u32 member count, then the members at that width, little-endian.
    pub fn encode_blob(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.max_encoded_width() as u32).to_le_bytes());
        out.extend_from_slice(&(self.len() as u32).to_le_bytes());
        match &self.data {
            Data::I16(xs) => xs
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            Data::I32(xs) => xs
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            Data::I64(xs) => xs
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        }
    }

    /// Parses a serialized intset, checking what Redis's `intsetValidateIntegrity` checks: a
    /// known width, a length that matches the count, and strictly ascending members. The width
    /// is kept as given (Redis does not require the narrowest).
    pub fn from_blob(blob: &[u8]) -> Option<IntSet> {
        let width = u32::from_le_bytes(blob.get(0..4)?.try_into().ok()?) as usize;
        let count = u32::from_le_bytes(blob.get(4..8)?.try_into().ok()?) as usize;
        let body = &blob[8..];
        if !matches!(width, 2 | 4 | 8) || count.checked_mul(width)? != body.len() {
            return None;
        }
        let data = match width {
            2 => Data::I16(
                body.chunks_exact(2)
                    .map(|c| i16::from_le_bytes([c[0], c[1]]))
                    .collect(),
            ),
            4 => Data::I32(
                body.chunks_exact(4)
                    .map(|c| i32::from_le_bytes(c.try_into().expect("chunk of 4")))
                    .collect(),
            ),
            _ => Data::I64(
                body.chunks_exact(8)
                    .map(|c| i64::from_le_bytes(c.try_into().expect("chunk of 8")))
                    .collect(),
            ),
        };
        let set = IntSet { data };
        let ascending = with_vec!(&set.data, xs => xs.windows(2).all(|w| w[0] < w[1]));
        ascending.then_some(set)
    }
}

/// Members of an [`IntSet`] in ascending order (reversible).
pub struct Iter<'a> {
    set: &'a IntSet,
    front: usize,
    back: usize,
}

impl Iterator for Iter<'_> {
    type Item = i64;

    fn next(&mut self) -> Option<i64> {
        if self.front == self.back {
            return None;
        }
        self.front += 1;
        self.set.get(self.front - 1)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.back - self.front;
        (n, Some(n))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<i64> {
        if self.front == self.back {
            return None;
        }
        self.back -= 1;
        self.set.get(self.back)
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a IntSet {
    type Item = i64;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl FromIterator<i64> for IntSet {
    fn from_iter<I: IntoIterator<Item = i64>>(iter: I) -> IntSet {
        let mut s = IntSet::new();
        for v in iter {
            s.insert(v);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_upgrade_at_the_boundaries_and_stay() {
        let mut s = IntSet::new();
        assert!(s.insert(5));
        assert_eq!(s.max_encoded_width(), 2);
        assert!(s.insert(i16::MAX as i64));
        assert!(s.insert(i16::MIN as i64));
        assert_eq!(s.max_encoded_width(), 2);
        assert!(s.insert(i16::MIN as i64 - 1));
        assert_eq!(s.max_encoded_width(), 4);
        assert_eq!(s.min(), Some(i16::MIN as i64 - 1));
        assert!(s.insert(i32::MAX as i64 + 1));
        assert_eq!(s.max_encoded_width(), 8);
        assert_eq!(s.max(), Some(i32::MAX as i64 + 1));
        assert!(s.remove(i32::MAX as i64 + 1));
        assert!(!s.remove(i32::MAX as i64 + 1));
        assert_eq!(s.max_encoded_width(), 8, "never downgraded");
        let v: Vec<i64> = s.iter().collect();
        assert_eq!(
            v,
            [i16::MIN as i64 - 1, i16::MIN as i64, 5, i16::MAX as i64]
        );
        assert_eq!(s.iter().next_back(), Some(i16::MAX as i64));
    }

    #[test]
    fn narrow_set_rejects_wide_values_without_search() {
        let s: IntSet = [1, 2, 3].into_iter().collect();
        assert!(!s.contains(1 << 40));
        assert!(s.contains(2));
        assert_eq!(s.mem_bytes() % 2, 0);
    }

    #[test]
    fn blob_matches_redis_layout() {
        let s: IntSet = [3, -1].into_iter().collect();
        let mut b = Vec::new();
        s.encode_blob(&mut b);
        assert_eq!(b, [2, 0, 0, 0, 2, 0, 0, 0, 0xff, 0xff, 3, 0]);
        assert_eq!(IntSet::from_blob(&b), Some(s));
        assert_eq!(
            IntSet::from_blob(&[2, 0, 0, 0, 2, 0, 0, 0, 3, 0, 3, 0]),
            None
        );
        assert_eq!(IntSet::from_blob(&[3, 0, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(IntSet::from_blob(&[2, 0, 0, 0, 1, 0, 0, 0]), None);
    }
}
