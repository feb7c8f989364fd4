//! Set operations over the three set encodings (`SetValue::{Ints, Packed, Dense}`), with Redis
//! 7.2's conversion rules (t_set.c `setTypeCreate`, `setTypeMaybeConvert`, `setTypeAddAux`,
//! `maybeConvertIntset`, `maybeConvertToIntset`):
//!
//! ```text
//!  new set: first member an integer and hint <= set-max-intset-entries  -> intset
//!           else hint <= set-max-listpack-entries                       -> listpack
//!           else                                                        -> hashtable
//!  intset   + non-integer: fits listpack limits (entries, value, widest integer) -> listpack
//!                          otherwise                                             -> hashtable
//!  intset   past set-max-intset-entries (capped at 2^30)                         -> hashtable
//!  listpack past set-max-listpack-entries, or a member longer than -value        -> hashtable
//! ```
//! Nothing converts back except the explicit `maybe_to_intset` (SINTERSTORE with only integers)
//! and the new set SPOP keeps when it removes most members. Members are byte strings; an intset
//! holds those that `string2ll` accepts. Iteration yields `LpEntry` (integer or bytes) so intset
//! members are never formatted unless a caller asks for bytes.
//!
//! This module knows nothing of commands or keys: callers pass the thresholds (`Limits`) and a
//! random source `rnd(n)` returning a value in `0..n`.

use crate::dense::DenseSet;
use crate::intset::{self, IntSet};
use crate::limits::Limits;
use crate::listpack::{self, ListPack, LpEntry};
use crate::num::{format_i64, string2ll};
use crate::value::SetValue;

/// Redis's `intsetMaxEntries`: `set-max-intset-entries`, capped at 2^30.
fn intset_max(l: &Limits) -> usize {
    l.set_max_intset_entries.min(1 << 30)
}

/// Digits (and sign) of an integer: Redis's `sdigits10`.
fn digits(v: i64) -> usize {
    format_i64(v, &mut [0; 20]).len()
}

/// Members of a set, in its encoding's order: ascending for an intset, insertion order for a
/// listpack, table order for a hashtable.
pub enum SetIter<'a> {
    Ints(intset::Iter<'a>),
    Packed(listpack::Iter<'a>),
    Dense(Box<dyn Iterator<Item = &'a [u8]> + 'a>),
}

impl<'a> Iterator for SetIter<'a> {
    type Item = LpEntry<'a>;

    fn next(&mut self) -> Option<LpEntry<'a>> {
        match self {
            SetIter::Ints(i) => i.next().map(LpEntry::Int),
            SetIter::Packed(i) => i.next(),
            SetIter::Dense(i) => i.next().map(LpEntry::Str),
        }
    }
}

impl SetValue {
    /// An empty set ready for `first` and about `size_hint` members (Redis's `setTypeCreate`).
    pub fn create(first: &[u8], size_hint: usize, l: &Limits) -> SetValue {
        if string2ll(first).is_some() && size_hint <= l.set_max_intset_entries {
            SetValue::Ints(IntSet::new())
        } else if size_hint <= l.set_max_listpack_entries {
            SetValue::Packed(ListPack::new())
        } else {
            SetValue::Dense(DenseSet::with_capacity(size_hint))
        }
    }

    /// Converts a small set to a hashtable ahead of adding `size_hint` members that would not fit
    /// (Redis's `setTypeMaybeConvert`, which SADD calls with its member count).
    pub fn maybe_convert(&mut self, size_hint: usize, l: &Limits) {
        let big = match self {
            SetValue::Packed(_) => size_hint > l.set_max_listpack_entries,
            SetValue::Ints(_) => size_hint > l.set_max_intset_entries,
            SetValue::Dense(_) => false,
        };
        if big {
            self.convert_to_dense(size_hint);
        }
    }

    /// Converts to a hashtable sized for at least `cap` members.
    fn convert_to_dense(&mut self, cap: usize) {
        let mut d = DenseSet::with_capacity(cap.max(self.len()));
        for m in self.iter() {
            m.with_bytes(|b| d.insert(b));
        }
        *self = SetValue::Dense(d);
    }

    /// Adds `m`; true when it was not a member. Converts as Redis 7.2's `setTypeAddAux` does.
    pub fn add(&mut self, m: &[u8], l: &Limits) -> bool {
        match self {
            SetValue::Dense(d) => d.insert(m),
            SetValue::Packed(lp) => {
                if lp.find(m).is_some() {
                    return false;
                }
                if lp.len() < l.set_max_listpack_entries && m.len() <= l.set_max_listpack_value {
                    lp.push_back(m);
                } else {
                    let n = lp.len() + 1;
                    self.convert_to_dense(n);
                    if let SetValue::Dense(d) = self {
                        d.insert(m);
                    }
                }
                true
            }
            SetValue::Ints(is) => {
                if let Some(v) = string2ll(m) {
                    if !is.insert(v) {
                        return false;
                    }
                    if is.len() > intset_max(l) {
                        let n = is.len();
                        self.convert_to_dense(n);
                    }
                    return true;
                }
                let widest = match (is.min(), is.max()) {
                    (Some(a), Some(b)) => digits(a).max(digits(b)),
                    _ => 0,
                };
                let n = is.len() + 1;
                if is.len() < l.set_max_listpack_entries
                    && m.len() <= l.set_max_listpack_value
                    && widest <= l.set_max_listpack_value
                {
                    let mut lp = ListPack::new();
                    for v in is.iter() {
                        lp.push_back_int(v);
                    }
                    lp.push_back(m);
                    *self = SetValue::Packed(lp);
                } else {
                    self.convert_to_dense(n);
                    if let SetValue::Dense(d) = self {
                        d.insert(m);
                    }
                }
                true
            }
        }
    }

    /// Removes `m`; true when it was a member. Never converts.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self {
            SetValue::Ints(is) => string2ll(m).is_some_and(|v| is.remove(v)),
            SetValue::Packed(lp) => match lp.find(m) {
                Some(i) => lp.remove(i),
                None => false,
            },
            SetValue::Dense(d) => d.remove(m),
        }
    }

    /// Whether `m` is a member.
    pub fn contains(&self, m: &[u8]) -> bool {
        match self {
            SetValue::Ints(is) => string2ll(m).is_some_and(|v| is.contains(v)),
            SetValue::Packed(lp) => lp.find(m).is_some(),
            SetValue::Dense(d) => d.contains(m),
        }
    }

    /// Whether the member `e` (as another set yields it) is a member.
    pub fn contains_entry(&self, e: &LpEntry<'_>) -> bool {
        match (self, e) {
            (SetValue::Ints(is), LpEntry::Int(v)) => is.contains(*v),
            _ => e.with_bytes(|b| self.contains(b)),
        }
    }

    /// Every member, in the encoding's order (see `SetIter`).
    pub fn iter(&self) -> SetIter<'_> {
        match self {
            SetValue::Ints(is) => SetIter::Ints(is.iter()),
            SetValue::Packed(lp) => SetIter::Packed(lp.iter()),
            SetValue::Dense(d) => SetIter::Dense(Box::new(d.iter())),
        }
    }

    /// Every member's bytes.
    pub fn members(&self) -> Vec<Vec<u8>> {
        self.iter().map(|e| e.to_vec()).collect()
    }

    /// A uniformly chosen member (SRANDMEMBER), None when empty.
    pub fn random(&self, mut rnd: impl FnMut(usize) -> usize) -> Option<LpEntry<'_>> {
        match self {
            SetValue::Ints(is) => is.random(rnd).map(LpEntry::Int),
            SetValue::Packed(lp) => match lp.len() {
                0 => None,
                n => lp.get(rnd(n) % n),
            },
            SetValue::Dense(d) => d.random(rnd).map(LpEntry::Str),
        }
    }

    /// Removes and returns a uniformly chosen member (SPOP), None when empty.
    pub fn pop_random(&mut self, mut rnd: impl FnMut(usize) -> usize) -> Option<Vec<u8>> {
        match self {
            SetValue::Ints(is) => is
                .pop_random(rnd)
                .map(|v| format_i64(v, &mut [0; 20]).to_vec()),
            SetValue::Packed(lp) => {
                let n = lp.len();
                if n == 0 {
                    return None;
                }
                let i = rnd(n) % n;
                let m = lp.get(i).map(|e| e.to_vec());
                lp.remove(i);
                m
            }
            SetValue::Dense(d) => d.pop_random(rnd),
        }
    }

    /// SPOP with a count below the set's size: removes and returns `count` distinct random
    /// members. When few would remain (Redis's CASE 3: `remaining * 5 <= count`), the remaining
    /// members are chosen instead and kept in a new set, which for a hashtable starts as a
    /// listpack (and converts by the usual rules), as Redis 7.2 does.
    pub fn pop_many(
        &mut self,
        count: usize,
        mut rnd: impl FnMut(usize) -> usize,
        l: &Limits,
    ) -> Vec<Vec<u8>> {
        let size = self.len();
        if count >= size {
            let all = self.members();
            *self = SetValue::Ints(IntSet::new());
            return all;
        }
        let remaining = size - count;
        if remaining * 5 > count {
            return (0..count)
                .filter_map(|_| self.pop_random(&mut rnd))
                .collect();
        }
        let mut keep = match self {
            SetValue::Ints(_) => SetValue::Ints(IntSet::new()),
            _ => SetValue::Packed(ListPack::new()),
        };
        for _ in 0..remaining {
            if let Some(m) = self.pop_random(&mut rnd) {
                keep.add(&m, l);
            }
        }
        let popped = self.members();
        *self = keep;
        popped
    }

    /// SRANDMEMBER with a positive count below the set's size: `count` distinct members chosen
    /// at random (order unspecified).
    pub fn sample(&self, count: usize, mut rnd: impl FnMut(usize) -> usize) -> Vec<Vec<u8>> {
        let size = self.len();
        if count >= size {
            return self.members();
        }
        if count * 3 > size {
            // Few left out: drop random members from a full copy.
            let mut all = self.members();
            while all.len() > count {
                let i = rnd(all.len()) % all.len();
                all.swap_remove(i);
            }
            return all;
        }
        let mut picked = DenseSet::with_capacity(count);
        while picked.len() < count {
            if let Some(e) = self.random(&mut rnd) {
                e.with_bytes(|b| picked.insert(b));
            }
        }
        picked.iter().map(<[u8]>::to_vec).collect()
    }

    /// One SSCAN step. Small encodings report every member and return cursor 0 whatever the
    /// cursor (as Redis); a hashtable steps with its split-stable cursor.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(LpEntry<'_>)) -> u64 {
        match self {
            SetValue::Dense(d) => d.scan(cursor, count, |m| f(LpEntry::Str(m))),
            _ => {
                self.iter().for_each(f);
                0
            }
        }
    }

    /// Converts to an intset when the caller knows every member is an integer and there are at
    /// most `set-max-intset-entries` (Redis's `maybeConvertToIntset`).
    pub fn maybe_to_intset(&mut self, l: &Limits) {
        if matches!(self, SetValue::Ints(_)) || self.len() > intset_max(l) {
            return;
        }
        let mut is = IntSet::new();
        for e in self.iter() {
            match e.as_i64() {
                Some(v) => {
                    is.insert(v);
                }
                None => return,
            }
        }
        *self = SetValue::Ints(is);
    }
}
