//! The sorted-set value and its two encodings, with the operations the Z* commands need: a
//! listpack of `member, score` pairs while small, a [`BpTree`] of `(score, member)` plus a
//! member-to-score [`DenseMap`] once big. OBJECT ENCODING calls them `listpack` and `skiplist`,
//! as Redis does. This module knows nothing of commands, keys, replies or clocks: callers pass
//! the thresholds ([`Limits`]) and a random source `rnd(n)` returning a value in `0..n`, and turn
//! Redis's argument conventions (negative ranks, LIMIT with negative offset) into the plain
//! ranges taken here except where a function says it does that itself.
//!
//! Conversions follow Redis 7.2 (t_zset.c `zsetTypeCreate`, `zsetTypeMaybeConvert`, `zsetAdd`,
//! `zsetConvertToListpackIfNeeded`):
//! ```text
//!  new zset (ZADD, ZRANGESTORE, ZUNIONSTORE ... with a size hint):
//!      hint <= zset-max-listpack-entries and longest member <= zset-max-listpack-value -> listpack
//!      else                                                                            -> skiplist
//!  listpack + ZADD of n members (zsetTypeMaybeConvert): n > zset-max-listpack-entries -> skiplist
//!  listpack + a new member making len > entries, or longer than value, or the listpack
//!      past 1 GiB (lpSafeToAdd)                                                        -> skiplist
//!  skiplist -> listpack only through `maybe_convert_to_packed` (ZUNIONSTORE, ZINTERSTORE,
//!      ZDIFFSTORE, GEO*STORE results once built: zsetConvertToListpackIfNeeded); removals,
//!      pops and range removals never convert back.
//! ```
//! The listpack keeps pairs sorted by score then member, each score stored as Redis 7.2's
//! `zzlInsertAt` stores it: an integer entry when the double is integral and within
//! +/-2^62 (`double2ll`, which folds -0.0 into 0), else the `d2string` text of the double.
//! So an RDB/DUMP carries the listpack as the same bytes Redis would write (the text of a
//! non-integral double can differ in a last digit where Redis's grisu2 is not shortest; either
//! text reads back as the same double).
//!
//! The tree encoding stores each member once: the map owns one block per member (`[lengths]
//! [member][score]`) and each tree leaf entry is a non-owning handle to that block (one
//! pointer), as Redis shares one sds between its dict and skiplist. [`ZTree`] keeps the two in step; it is the only code that creates
//! handles, and it removes a tree entry before the map entry it points into.

use crate::bptree::{self, cmp_entry, BpTree, LeafKey, LexRange, ScoreRange};
use crate::dense::{DenseMap, KeyRef};
use crate::limits::Limits;
use crate::listpack::{self, ListPack, LpEntry};
use crate::num::{format_i64, parse_f64};
use std::cmp::Ordering;

/// Redis's `LISTPACK_MAX_SAFETY_SIZE`: listpacks are kept below 1 GiB.
const LISTPACK_SAFE: usize = 1 << 30;

/// A sorted set (see the module docs).
#[derive(Clone, Debug)]
pub enum ZSetValue {
    /// `member, score` pairs sorted by (score, member).
    Packed(ListPack),
    /// The ordered tree and the member -> score map.
    Tree(ZTree),
}

/// The tree encoding: the member -> score map owns each member's one block (value: the score's
/// 8 little-endian bytes, so a score update never reallocates it), and the tree orders
/// `(score, handle to that block's member)`.
///
/// Invariant (what makes every `KeyRef` in `tree` valid): `tree` and `scores` hold the same
/// `(member, score)` pairs; a tree entry is inserted only after its map entry and removed
/// before it; a map value is only ever rewritten in place with 8 bytes. The fields are private
/// so nothing else can break this; a clone rebuilds both (handles into the original's blocks
/// must never be copied).
pub struct ZTree {
    tree: BpTree<ScoreRef>,
    scores: DenseMap,
}

/// A tree leaf entry: a handle to a member's map block, which holds the member and its score
/// (8 bytes, so a leaf entry is one pointer).
#[derive(Debug)]
pub struct ScoreRef(KeyRef);

impl LeafKey for ScoreRef {
    #[inline]
    fn score(&self) -> f64 {
        f64_of(self.0.value())
    }

    #[inline]
    fn bytes(&self) -> &[u8] {
        self.0.key()
    }

    fn owned_bytes(&self) -> usize {
        0
    }
}

impl ZTree {
    fn with_capacity(n: usize) -> ZTree {
        ZTree {
            tree: BpTree::new(),
            scores: DenseMap::with_capacity(n),
        }
    }

    pub fn len(&self) -> usize {
        self.tree.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }

    fn score(&self, m: &[u8]) -> Option<f64> {
        self.scores.get(m).map(f64_of)
    }

    /// Inserts a member that is not present.
    fn insert_new(&mut self, m: &[u8], s: f64) {
        let fresh = self.scores.insert(m, &s.to_le_bytes());
        debug_assert!(fresh, "member already present");
        // SAFETY: the handle goes into `tree` only, and the entry stays in `scores` (value
        // rewritten in place with 8 bytes only) until `remove` / `remove_ranks` take the tree
        // entry out first (the type's invariant).
        let k = unsafe { self.scores.key_ref(m) }.expect("just inserted");
        self.tree.insert_key(ScoreRef(k));
    }

    /// Moves a present member from score `old` to `new`: out of the tree, the block's score
    /// rewritten (no handle is in the tree then), back in at its new place.
    fn rescore(&mut self, m: &[u8], old: f64, new: f64) {
        let k = self.tree.remove_key(old, m).expect("tree and map agree");
        self.scores
            .get_mut(m)
            .expect("member present")
            .copy_from_slice(&new.to_le_bytes());
        self.tree.insert_key(k);
    }

    /// Removes `m`; false if absent.
    fn remove(&mut self, m: &[u8]) -> bool {
        let Some(s) = self.score(m) else {
            return false;
        };
        // The tree entry first: its handle points into the map block removed next.
        self.tree.remove_key(s, m).expect("tree and map agree");
        self.scores.remove(m);
        true
    }

    /// Removes ranks `[start, end)` (clamped), returning `(member, score)` lowest first.
    fn remove_ranks(&mut self, start: usize, end: usize) -> Vec<(Vec<u8>, f64)> {
        let removed = self.tree.remove_rank_range(start, end);
        // Copy the members out while their blocks are still in the map, then drop them.
        let out: Vec<(Vec<u8>, f64)> = removed
            .into_iter()
            .map(|k| (k.bytes().to_vec(), k.score()))
            .collect();
        if self.tree.is_empty() {
            self.scores.clear();
        } else {
            for (m, _) in &out {
                self.scores.remove(m);
            }
        }
        out
    }

    fn mem_bytes(&self) -> usize {
        self.tree.mem_bytes() + self.scores.mem_bytes()
    }

    /// The tree's (leaves, entries, leaf entry capacity), for tests of fill.
    pub fn leaf_stats(&self) -> (usize, usize, usize) {
        self.tree.leaf_stats()
    }
}

impl Clone for ZTree {
    fn clone(&self) -> ZTree {
        let mut t = ZTree::with_capacity(self.len());
        for (s, m) in self.tree.iter() {
            t.insert_new(m, s);
        }
        t
    }
}

impl std::fmt::Debug for ZTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(
                self.tree
                    .iter()
                    .map(|(s, m)| (String::from_utf8_lossy(m), s)),
            )
            .finish()
    }
}

/// ZADD's options (Redis's `ZADD_IN_*`). NX with XX, or GT/LT with NX, are the command's to
/// reject; here NX wins over GT/LT as it does in Redis.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AddFlags {
    pub nx: bool,
    pub xx: bool,
    pub gt: bool,
    pub lt: bool,
    /// ZINCRBY / ZADD INCR: the score is an increment.
    pub incr: bool,
}

/// What `add` did (Redis's `ZADD_OUT_*` and `newscore`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AddOutcome {
    /// The score (or the incremented score) is NaN: nothing changed; the command errors.
    Nan,
    /// NX on a member, XX on a non-member, or a GT/LT condition failed: nothing changed
    /// (ZADD INCR replies nil).
    Nop,
    /// A new member with this score.
    Added(f64),
    /// An existing member moved to this score (counted by CH).
    Updated(f64),
    /// An existing member whose score is already this one.
    Unchanged(f64),
}

/// Writes `v` as Redis 7.2's `d2string` does: `nan`, `inf`/`-inf`, `0`/`-0`, integral doubles
/// within +/-2^62 as integers, anything else as `fpconv_dtoa` lays out its shortest digits. This
/// is also the reply form of a score.
pub fn push_score(out: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        out.extend_from_slice(b"nan");
    } else if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"inf" } else { b"-inf" });
    } else if v == 0.0 {
        out.extend_from_slice(if v.is_sign_negative() { b"-0" } else { b"0" });
    } else if let Some(i) = double2ll(v) {
        out.extend_from_slice(format_i64(i, &mut [0; 20]));
    } else {
        push_fpconv(out, v);
    }
}

/// `fpconv_dtoa`'s layout (Redis 7.2 `fpconv_dtoa.c` `emit_digits`) of the shortest digits that
/// read back as `v` (Rust's shortest; fpconv's grisu2 agrees except in rare last-digit cases,
/// which still read back exactly). With `digits * 10^k` the value and `x` its decimal exponent:
/// plain integer digits when `k >= 0` and `x < ndigits + 7`; a decimal point when `k < 0` and
/// (`k > -7` or `x < 4`); else `d.ddde+x` / `d.ddde-x` with no exponent padding.
fn push_fpconv(out: &mut Vec<u8>, v: f64) {
    if v.is_sign_negative() {
        out.push(b'-');
    }
    let sci = format!("{:e}", v.abs());
    let (mant, x) = sci.split_once('e').expect("LowerExp has an exponent");
    let x: i32 = x.parse().expect("LowerExp exponent is an integer");
    let digits: Vec<u8> = mant.bytes().filter(|&c| c != b'.').collect();
    let nd = digits.len() as i32;
    let k = x - (nd - 1);
    let ax = x.abs();
    if k >= 0 && ax < nd + 7 {
        out.extend_from_slice(&digits);
        out.extend(std::iter::repeat_n(b'0', k as usize));
    } else if k < 0 && (k > -7 || ax < 4) {
        let offset = nd + k; // digits before the point
        if offset <= 0 {
            out.extend_from_slice(b"0.");
            out.extend(std::iter::repeat_n(b'0', (-offset) as usize));
            out.extend_from_slice(&digits);
        } else {
            out.extend_from_slice(&digits[..offset as usize]);
            out.push(b'.');
            out.extend_from_slice(&digits[offset as usize..]);
        }
    } else {
        out.push(digits[0]);
        if nd > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        out.push(if x < 0 { b'-' } else { b'+' });
        out.extend_from_slice(ax.to_string().as_bytes());
    }
}

/// Redis's `double2ll`: the integer equal to `d` if `d` is integral and within +/-2^62.
fn double2ll(d: f64) -> Option<i64> {
    const LIM: f64 = (i64::MAX / 2) as f64;
    if !(-LIM..=LIM).contains(&d) {
        return None;
    }
    let i = d as i64;
    (i as f64 == d).then_some(i)
}

/// The listpack entry bytes for a score (see the module docs).
fn score_entry(v: f64) -> Vec<u8> {
    match double2ll(v) {
        Some(i) => format_i64(i, &mut [0; 20]).to_vec(),
        None => {
            let mut b = Vec::with_capacity(24);
            push_score(&mut b, v);
            b
        }
    }
}

/// Reads a listpack score entry (Redis's `zzlGetScore`).
fn lp_score(e: LpEntry<'_>) -> f64 {
    match e {
        LpEntry::Int(i) => i as f64,
        LpEntry::Str(s) => parse_f64(s).unwrap_or(0.0),
    }
}

fn f64_of(b: &[u8]) -> f64 {
    f64::from_le_bytes(b.try_into().expect("scores are 8 bytes"))
}

/// `(member, score)` pairs of a zset listpack, in order.
fn lp_pairs(lp: &ListPack) -> impl Iterator<Item = (LpEntry<'_>, f64)> + '_ {
    let mut it = lp.iter();
    std::iter::from_fn(move || {
        let m = it.next()?;
        let s = it.next()?;
        Some((m, lp_score(s)))
    })
}

/// Entries of a rank window, either direction: member (an integer-looking member of a listpack
/// comes back as `LpEntry::Int`) and score.
pub enum ZIter<'a> {
    Packed { it: listpack::Iter<'a>, rev: bool },
    Tree(bptree::Iter<'a, ScoreRef>),
}

impl<'a> Iterator for ZIter<'a> {
    type Item = (LpEntry<'a>, f64);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            ZIter::Packed { it, rev: false } => {
                let m = it.next()?;
                Some((m, lp_score(it.next()?)))
            }
            ZIter::Packed { it, rev: true } => {
                let s = it.next_back()?;
                Some((it.next_back()?, lp_score(s)))
            }
            ZIter::Tree(it) => it.next().map(|(s, m)| (LpEntry::Str(m), s)),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match self {
            ZIter::Packed { it, .. } => it.len() / 2,
            ZIter::Tree(it) => it.len(),
        };
        (n, Some(n))
    }
}

impl ExactSizeIterator for ZIter<'_> {}

/// Redis's rank arithmetic for ZRANGE/ZREMRANGEBYRANK: negative ranks count from the end; the
/// result is the clamped half-open window `[start, end)`, empty when nothing is selected.
pub fn rank_window(start: i64, stop: i64, len: usize) -> (usize, usize) {
    let n = len as i64;
    let mut s = if start < 0 { start + n } else { start };
    let mut e = if stop < 0 { stop + n } else { stop };
    if s < 0 {
        s = 0;
    }
    if s > e || s >= n {
        return (0, 0);
    }
    if e >= n {
        e = n - 1;
    }
    (s as usize, e as usize + 1)
}

/// Applies LIMIT offset/count to the matching ranks `[a, b)`: the window of ranks to yield,
/// counted from the low end, or from the high end when `rev`.
fn limit_window(
    a: usize,
    b: usize,
    offset: usize,
    count: Option<usize>,
    rev: bool,
) -> (usize, usize) {
    let n = b - a;
    if offset >= n {
        return (a, a);
    }
    let take = count.unwrap_or(usize::MAX).min(n - offset);
    if rev {
        (b - offset - take, b - offset)
    } else {
        (a + offset, a + offset + take)
    }
}

impl ZSetValue {
    /// An empty zset for about `size_hint` members, the longest `value_len_hint` bytes long
    /// (Redis's `zsetTypeCreate`).
    pub fn create(size_hint: usize, value_len_hint: usize, l: &Limits) -> ZSetValue {
        if size_hint <= l.zset_max_listpack_entries && value_len_hint <= l.zset_max_listpack_value {
            ZSetValue::Packed(ListPack::new())
        } else {
            ZSetValue::Tree(ZTree::with_capacity(size_hint))
        }
    }

    /// Adopts a zset listpack from an RDB/RESTORE payload (already checked by
    /// `ListPack::from_bytes`), as Redis's `rdbLoadObject` does for `RDB_TYPE_ZSET_LISTPACK`:
    /// rejects an empty one, an odd entry count, a score that is not a number and duplicate
    /// members, and, unlike Redis, pairs out of (score, member) order (every range operation
    /// here relies on it). Converts to a skiplist when it holds more than
    /// `zset-max-listpack-entries` members (Redis checks only the count on load).
    pub fn from_listpack(lp: ListPack, l: &Limits) -> Result<ZSetValue, &'static str> {
        if lp.is_empty() {
            return Err("empty sorted set");
        }
        if !lp.len().is_multiple_of(2) {
            return Err("zset listpack with an odd entry count");
        }
        let mut it = lp.iter();
        let mut prev: Option<(Vec<u8>, f64)> = None;
        let mut seen = DenseMap::with_capacity(lp.len() / 2);
        while let (Some(m), Some(s)) = (it.next(), it.next()) {
            let score = match s {
                LpEntry::Int(i) => i as f64,
                LpEntry::Str(b) => match parse_f64(b) {
                    Some(v) if !v.is_nan() => v,
                    _ => return Err("zset listpack score is not a number"),
                },
            };
            let m = m.to_vec();
            if !seen.insert(&m, &[]) {
                return Err("duplicate member in zset listpack");
            }
            if let Some((pm, ps)) = &prev {
                if cmp_entry(*ps, pm, score, &m) != Ordering::Less {
                    return Err("zset listpack out of order");
                }
            }
            prev = Some((m, score));
        }
        let mut z = ZSetValue::Packed(lp);
        if z.len() > l.zset_max_listpack_entries {
            let n = z.len();
            z.convert_to_tree(n);
        }
        Ok(z)
    }

    /// Converts a listpack ahead of adding `size_hint` members that would not fit (Redis 7.2's
    /// `zsetTypeMaybeConvert`, which ZADD calls on an existing key with its member count; 7.2
    /// looks at the count only, member lengths convert one by one in `add`).
    pub fn maybe_convert(&mut self, size_hint: usize, l: &Limits) {
        if matches!(self, ZSetValue::Packed(_)) && size_hint > l.zset_max_listpack_entries {
            self.convert_to_tree(size_hint);
        }
    }

    /// Converts a skiplist back to a listpack if it fits the limits (Redis's
    /// `zsetConvertToListpackIfNeeded`, which ZUNIONSTORE/ZINTERSTORE/ZDIFFSTORE and
    /// GEORADIUS/GEOSEARCHSTORE apply to the result they built as a skiplist; ZRANGESTORE instead
    /// creates its result with `create(result length, 0)`). O(n). True when it is (now) a
    /// listpack.
    pub fn maybe_convert_to_packed(&mut self, l: &Limits) -> bool {
        let ZSetValue::Tree(ZTree { tree, .. }) = self else {
            return true;
        };
        let (mut maxlen, mut total) = (0, 0);
        for (_, m) in tree.iter() {
            maxlen = maxlen.max(m.len());
            total += m.len();
        }
        if tree.len() > l.zset_max_listpack_entries
            || maxlen > l.zset_max_listpack_value
            || total > LISTPACK_SAFE
        {
            return false;
        }
        let mut lp = ListPack::new();
        for (s, m) in tree.iter() {
            lp.push_back(m);
            lp.push_back(&score_entry(s));
        }
        *self = ZSetValue::Packed(lp);
        true
    }

    /// Converts to the tree encoding, the map sized for at least `cap` members.
    pub fn convert_to_tree(&mut self, cap: usize) {
        let ZSetValue::Packed(lp) = self else { return };
        let mut t = ZTree::with_capacity(cap.max(lp.len() / 2));
        for (m, s) in lp_pairs(lp) {
            m.with_bytes(|b| t.insert_new(b, s));
        }
        *self = ZSetValue::Tree(t);
    }

    /// OBJECT ENCODING's name.
    pub fn encoding_name(&self) -> &'static str {
        match self {
            ZSetValue::Packed(_) => "listpack",
            ZSetValue::Tree(_) => "skiplist",
        }
    }

    pub fn len(&self) -> usize {
        match self {
            ZSetValue::Packed(lp) => lp.len() / 2,
            ZSetValue::Tree(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes held, for MEMORY USAGE.
    pub fn mem_bytes(&self) -> usize {
        match self {
            ZSetValue::Packed(lp) => lp.mem_bytes(),
            ZSetValue::Tree(t) => t.mem_bytes(),
        }
    }

    // ---- single members ------------------------------------------------------------------------

    /// Pair index and score of `m` in a listpack.
    fn lp_find(lp: &ListPack, m: &[u8]) -> Option<(usize, f64)> {
        lp_pairs(lp)
            .enumerate()
            .find(|(_, (e, _))| e.eq_bytes(m))
            .map(|(i, (_, s))| (i, s))
    }

    /// Inserts a pair into a sorted listpack (Redis's `zzlInsert`).
    fn lp_insert(lp: &mut ListPack, m: &[u8], s: f64) {
        let i = lp_pairs(lp)
            .position(|(e, es)| e.with_bytes(|eb| cmp_entry(es, eb, s, m) == Ordering::Greater))
            .unwrap_or(lp.len() / 2);
        lp.insert(2 * i, m);
        lp.insert(2 * i + 1, &score_entry(s));
    }

    /// The score of `m` (ZSCORE).
    pub fn score(&self, m: &[u8]) -> Option<f64> {
        match self {
            ZSetValue::Packed(lp) => Self::lp_find(lp, m).map(|(_, s)| s),
            ZSetValue::Tree(t) => t.score(m),
        }
    }

    /// Rank of `m` from the lowest, or from the highest when `rev`, with its score (ZRANK /
    /// ZREVRANK, WITHSCORE).
    pub fn rank(&self, m: &[u8], rev: bool) -> Option<(usize, f64)> {
        let (r, s) = match self {
            ZSetValue::Packed(lp) => Self::lp_find(lp, m)?,
            ZSetValue::Tree(t) => {
                let s = t.score(m)?;
                (t.tree.rank(s, m).expect("map and tree agree"), s)
            }
        };
        Some((if rev { self.len() - 1 - r } else { r }, s))
    }

    /// ZADD / ZINCRBY for one member (Redis's `zsetAdd`), converting as the module docs say.
    pub fn add(&mut self, m: &[u8], score: f64, f: AddFlags, l: &Limits) -> AddOutcome {
        if score.is_nan() {
            return AddOutcome::Nan;
        }
        let cur = self.score(m);
        let Some(cur) = cur else {
            if f.xx {
                return AddOutcome::Nop;
            }
            if let ZSetValue::Packed(lp) = self {
                if lp.len() / 2 + 1 > l.zset_max_listpack_entries
                    || m.len() > l.zset_max_listpack_value
                    || lp.bytes() + m.len() > LISTPACK_SAFE
                {
                    let n = lp.len() / 2 + 1;
                    self.convert_to_tree(n);
                }
            }
            match self {
                ZSetValue::Packed(lp) => Self::lp_insert(lp, m, score),
                ZSetValue::Tree(t) => t.insert_new(m, score),
            }
            return AddOutcome::Added(score);
        };
        if f.nx {
            return AddOutcome::Nop;
        }
        let mut score = score;
        if f.incr {
            score += cur;
            if score.is_nan() {
                return AddOutcome::Nan;
            }
        }
        if (f.lt && score >= cur) || (f.gt && score <= cur) {
            return AddOutcome::Nop;
        }
        if score == cur {
            return AddOutcome::Unchanged(score);
        }
        match self {
            ZSetValue::Packed(lp) => {
                let (i, _) = Self::lp_find(lp, m).expect("member present");
                lp.remove_range(2 * i, 2);
                Self::lp_insert(lp, m, score);
            }
            ZSetValue::Tree(t) => t.rescore(m, cur, score),
        }
        AddOutcome::Updated(score)
    }

    /// Removes `m` (ZREM); false if absent. Never converts.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self {
            ZSetValue::Packed(lp) => match Self::lp_find(lp, m) {
                Some((i, _)) => {
                    lp.remove_range(2 * i, 2);
                    true
                }
                None => false,
            },
            ZSetValue::Tree(t) => t.remove(m),
        }
    }

    // ---- ranks and ranges ----------------------------------------------------------------------

    /// How many entries satisfy `below(score, member)`, a predicate holding for a prefix of
    /// the order (see [`BpTree::partition_point`]).
    fn partition_point(&self, mut below: impl FnMut(f64, &[u8]) -> bool) -> usize {
        match self {
            ZSetValue::Packed(lp) => lp_pairs(lp)
                .take_while(|(m, s)| m.with_bytes(|b| below(*s, b)))
                .count(),
            ZSetValue::Tree(t) => t.tree.partition_point(below),
        }
    }

    /// Ranks `[start, end)` of the entries whose score lies in `r`.
    pub fn score_ranks(&self, r: &ScoreRange) -> (usize, usize) {
        if r.is_empty() {
            return (0, 0);
        }
        let a = self.partition_point(|s, _| r.below_min(s));
        let b = self.partition_point(|s, _| r.within_max(s));
        (a, b.max(a))
    }

    /// Ranks `[start, end)` of the entries whose member lies in `r` (one shared score).
    pub fn lex_ranks(&self, r: &LexRange<'_>) -> (usize, usize) {
        let a = self.partition_point(|_, m| r.below_min(m));
        let b = self.partition_point(|_, m| r.within_max(m));
        (a, b.max(a))
    }

    /// ZCOUNT.
    pub fn count_score(&self, r: &ScoreRange) -> usize {
        let (a, b) = self.score_ranks(r);
        b - a
    }

    /// ZLEXCOUNT.
    pub fn count_lex(&self, r: &LexRange<'_>) -> usize {
        let (a, b) = self.lex_ranks(r);
        b - a
    }

    /// The entry at rank `r` from the lowest.
    pub fn get(&self, r: usize) -> Option<(LpEntry<'_>, f64)> {
        self.iter_ranks(r, r.saturating_add(1), false).next()
    }

    /// Entries at ranks `[start, end)` (clamped), lowest first, or highest first when `rev`.
    pub fn iter_ranks(&self, start: usize, end: usize, rev: bool) -> ZIter<'_> {
        match self {
            ZSetValue::Packed(lp) => {
                let end = end.min(lp.len() / 2);
                let start = start.min(end);
                ZIter::Packed {
                    it: lp.iter_range(2 * start, 2 * end),
                    rev,
                }
            }
            ZSetValue::Tree(t) => ZIter::Tree(t.tree.iter_range(start, end, rev)),
        }
    }

    /// All entries, lowest first.
    pub fn iter(&self) -> ZIter<'_> {
        self.iter_ranks(0, usize::MAX, false)
    }

    /// ZRANGE start stop [REV]: Redis's ranks (negative from the end; with `rev` counted from
    /// the highest), entries in reply order.
    pub fn range_by_rank(&self, start: i64, stop: i64, rev: bool) -> ZIter<'_> {
        let (a, b) = rank_window(start, stop, self.len());
        if rev {
            let n = self.len();
            self.iter_ranks(n - b, n - a, true)
        } else {
            self.iter_ranks(a, b, false)
        }
    }

    /// ZRANGEBYSCORE / ZREVRANGEBYSCORE (ZRANGE BYSCORE [REV] [LIMIT]): entries whose score is in
    /// `r`, in reply order, skipping `offset` and yielding at most `count` (None: all).
    pub fn range_by_score(
        &self,
        r: &ScoreRange,
        offset: usize,
        count: Option<usize>,
        rev: bool,
    ) -> ZIter<'_> {
        let (a, b) = self.score_ranks(r);
        let (a, b) = limit_window(a, b, offset, count, rev);
        self.iter_ranks(a, b, rev)
    }

    /// ZRANGEBYLEX / ZREVRANGEBYLEX, as `range_by_score`.
    pub fn range_by_lex(
        &self,
        r: &LexRange<'_>,
        offset: usize,
        count: Option<usize>,
        rev: bool,
    ) -> ZIter<'_> {
        let (a, b) = self.lex_ranks(r);
        let (a, b) = limit_window(a, b, offset, count, rev);
        self.iter_ranks(a, b, rev)
    }

    // ---- removal of ranges ---------------------------------------------------------------------

    /// Removes ranks `[start, end)` (clamped), returning `(member, score)` lowest first.
    pub fn remove_ranks(&mut self, start: usize, end: usize) -> Vec<(Vec<u8>, f64)> {
        match self {
            ZSetValue::Packed(lp) => {
                let end = end.min(lp.len() / 2);
                if start >= end {
                    return Vec::new();
                }
                let out: Vec<_> = lp_pairs(lp)
                    .skip(start)
                    .take(end - start)
                    .map(|(m, s)| (m.to_vec(), s))
                    .collect();
                lp.remove_range(2 * start, 2 * (end - start));
                out
            }
            ZSetValue::Tree(t) => t.remove_ranks(start, end),
        }
    }

    /// ZREMRANGEBYRANK with Redis's ranks.
    pub fn remove_range_by_rank(&mut self, start: i64, stop: i64) -> Vec<(Vec<u8>, f64)> {
        let (a, b) = rank_window(start, stop, self.len());
        self.remove_ranks(a, b)
    }

    /// ZREMRANGEBYSCORE.
    pub fn remove_range_by_score(&mut self, r: &ScoreRange) -> Vec<(Vec<u8>, f64)> {
        let (a, b) = self.score_ranks(r);
        self.remove_ranks(a, b)
    }

    /// ZREMRANGEBYLEX.
    pub fn remove_range_by_lex(&mut self, r: &LexRange<'_>) -> Vec<(Vec<u8>, f64)> {
        let (a, b) = self.lex_ranks(r);
        self.remove_ranks(a, b)
    }

    /// ZPOPMIN / ZPOPMAX (and their blocking forms): up to `count` entries from the low end, or
    /// the high end when `max`, in pop order.
    pub fn pop(&mut self, count: usize, max: bool) -> Vec<(Vec<u8>, f64)> {
        let n = self.len();
        let k = count.min(n);
        if max {
            let mut v = self.remove_ranks(n - k, n);
            v.reverse();
            v
        } else {
            self.remove_ranks(0, k)
        }
    }

    // ---- random and scan -----------------------------------------------------------------------

    /// A uniformly chosen entry (ZRANDMEMBER); `rnd(n)` must return a value in `0..n`.
    pub fn random(&self, mut rnd: impl FnMut(usize) -> usize) -> Option<(LpEntry<'_>, f64)> {
        match self {
            ZSetValue::Packed(_) => {
                let n = self.len();
                if n == 0 {
                    return None;
                }
                self.get(rnd(n))
            }
            ZSetValue::Tree(t) => t
                .scores
                .random(rnd)
                .map(|(m, s)| (LpEntry::Str(m), f64_of(s))),
        }
    }

    /// One ZSCAN step: reports `(member, score)` to `f` and returns the next cursor (0: done).
    /// A listpack reports everything at once and returns 0, as Redis does.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(LpEntry<'_>, f64)) -> u64 {
        match self {
            ZSetValue::Packed(lp) => {
                for (m, s) in lp_pairs(lp) {
                    f(m, s);
                }
                0
            }
            ZSetValue::Tree(t) => t
                .scores
                .scan(cursor, count, |m, s| f(LpEntry::Str(m), f64_of(s))),
        }
    }

    /// Checks that the encoding's parts agree (sorted listpack pairs; tree and map holding the
    /// same entries); for tests. Panics on the first violation.
    pub fn check(&self) {
        match self {
            ZSetValue::Packed(lp) => {
                lp.validate().expect("valid listpack");
                assert_eq!(lp.len() % 2, 0, "pairs");
                let v: Vec<_> = lp_pairs(lp).map(|(m, s)| (m.to_vec(), s)).collect();
                for w in v.windows(2) {
                    assert_eq!(cmp_entry(w[0].1, &w[0].0, w[1].1, &w[1].0), Ordering::Less);
                }
            }
            ZSetValue::Tree(ZTree { tree, scores }) => {
                tree.check();
                assert_eq!(tree.len(), scores.len(), "tree and map sizes");
                for (s, m) in tree.iter() {
                    let ms = f64_of(scores.get(m).expect("tree member in map"));
                    assert_eq!(ms.to_bits(), s.to_bits(), "map score");
                }
            }
        }
    }
}
