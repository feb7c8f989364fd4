//! The list value: one listpack while small (OBJECT ENCODING `listpack`), a quicklist past
//! `list-max-listpack-size` (`quicklist`), with the operations Redis's list commands need.
//!
//! The switch follows Redis 7.2's `t_list.c` (`listTypeTryConversion*`), the first version with
//! listpack-encoded lists (Redis 7.0 reports `quicklist` for every list):
//! - growing (before LPUSH/RPUSH/LINSERT/LSET/LMOVE add anything): a listpack becomes a
//!   quicklist if `lpBytes + sum of the new values' lengths` and `entries + new values` exceed
//!   the limit of `fill` (`quicklistNodeExceedsLimit`: a byte cap for negative fills; an entry cap
//!   plus the 8 KiB safety limit for positive ones). The old listpack becomes the first node as
//!   it is; the new values are then pushed by the quicklist's own rules.
//! - shrinking (after LPOP/RPOP/LREM/LTRIM/LSET/LMOVE leave the list non-empty): a quicklist
//!   becomes a listpack again only when it has a single packed node within *half* the limit
//!   (half the bytes and half the entries), so a list at the threshold does not flip back and
//!   forth.
//! - Redis's quirks are kept: LSET and LINSERT convert before knowing whether the index or pivot
//!   exists, LSET counts its value as one more entry, and a single huge element under a count fill
//!   can go back to a listpack (the size half-limit is then `usize::MAX / 2`).
//!
//! The fill comes in a [`ListConfig`] on every call that may convert, because CONFIG SET can
//! change it at any time; a quicklist keeps the fill it was made with for its own nodes, as in
//! Redis. An emptied list is left empty: deleting the key is the caller's job, as is everything
//! about commands, replies and keyspace events.

use crate::listpack::{self, ListPack, LpEntry, Needle};
use crate::quicklist::{self, exceeds_limit, node_limit, QuickList, DEFAULT_PACKED_THRESHOLD};
use std::iter::FusedIterator;

/// The settings the encodings depend on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListConfig {
    /// `list-max-listpack-size` (alias `list-max-ziplist-size`); Redis's default is -2 (8 KiB).
    pub fill: i32,
    /// Elements at least this long get their own plain quicklist node (Redis's
    /// `packed_threshold`, 1 GiB, changed only by DEBUG QUICKLIST-PACKED-THRESHOLD).
    pub packed_threshold: usize,
}

impl Default for ListConfig {
    fn default() -> Self {
        ListConfig {
            fill: -2,
            packed_threshold: DEFAULT_PACKED_THRESHOLD,
        }
    }
}

impl ListConfig {
    pub fn with_fill(fill: i32) -> Self {
        ListConfig {
            fill,
            ..Self::default()
        }
    }
}

/// An end of the list (LEFT/head = `Front`, RIGHT/tail = `Back`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Front,
    Back,
}

/// Where LINSERT puts the new element relative to the pivot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    Before,
    After,
}

/// A Redis list in one of its two encodings.
#[derive(Clone, Debug)]
pub enum List {
    Packed(ListPack),
    Quick(QuickList),
}

impl Default for List {
    fn default() -> Self {
        List::new()
    }
}

impl List {
    /// An empty list, listpack-encoded (as Redis creates every list).
    pub fn new() -> Self {
        List::Packed(ListPack::new())
    }

    /// What OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        match self {
            List::Packed(_) => "listpack",
            List::Quick(_) => "quicklist",
        }
    }

    pub fn len(&self) -> usize {
        match self {
            List::Packed(lp) => lp.len(),
            List::Quick(ql) => ql.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes held, for MEMORY USAGE.
    pub fn mem_bytes(&self) -> usize {
        match self {
            List::Packed(lp) => lp.mem_bytes(),
            List::Quick(ql) => ql.mem_bytes(),
        }
    }

    // ---- encoding conversions ----

    /// LIST_CONV_GROWING: before adding `add_count` values totalling `add_bytes` bytes.
    pub fn try_grow(&mut self, add_bytes: usize, add_count: usize, cfg: &ListConfig) {
        if let List::Packed(lp) = self {
            if exceeds_limit(cfg.fill, lp.bytes() + add_bytes, lp.len() + add_count) {
                let mut ql = QuickList::with_packed_threshold(cfg.fill, cfg.packed_threshold);
                ql.append_listpack(std::mem::take(lp));
                *self = List::Quick(ql);
            }
        }
    }

    /// LIST_CONV_SHRINKING: after removing elements (half limits).
    pub fn try_shrink(&mut self, cfg: &ListConfig) {
        self.quick_to_packed(true, cfg);
    }

    /// LIST_CONV_AUTO: after building a list wholesale (RDB load, RESTORE), full limits both ways.
    pub fn try_convert(&mut self, cfg: &ListConfig) {
        match self {
            List::Packed(_) => self.try_grow(0, 0, cfg),
            List::Quick(_) => self.quick_to_packed(false, cfg),
        }
    }

    fn quick_to_packed(&mut self, shrinking: bool, cfg: &ListConfig) {
        let List::Quick(ql) = self else {
            return;
        };
        let Some(lp) = ql.single_packed() else {
            return;
        };
        let (mut sz_limit, mut count_limit) = node_limit(cfg.fill);
        if shrinking {
            sz_limit /= 2;
            count_limit /= 2;
        }
        if lp.bytes() > sz_limit || ql.len() > count_limit {
            return;
        }
        if let List::Quick(ql) = std::mem::take(self) {
            *self = List::Packed(ql.into_single_listpack());
        }
    }

    // ---- commands' operations (conversions where Redis 7.2 does them) ----

    /// LPUSH/RPUSH/LPUSHX/RPUSHX: one growth check for all values, then each pushed in turn.
    pub fn push<T: AsRef<[u8]>>(&mut self, end: End, values: &[T], cfg: &ListConfig) {
        let add = values.iter().map(|v| v.as_ref().len()).sum();
        self.try_grow(add, values.len(), cfg);
        for v in values {
            self.push_raw(end, v.as_ref());
        }
    }

    pub fn push_back(&mut self, v: &[u8], cfg: &ListConfig) {
        self.push(End::Back, &[v], cfg);
    }

    pub fn push_front(&mut self, v: &[u8], cfg: &ListConfig) {
        self.push(End::Front, &[v], cfg);
    }

    /// LPOP/RPOP/BLPOP without a count.
    pub fn pop(&mut self, end: End, cfg: &ListConfig) -> Option<Vec<u8>> {
        let v = self.pop_raw(end)?;
        if !self.is_empty() {
            self.try_shrink(cfg);
        }
        Some(v)
    }

    /// LPOP/RPOP/LMPOP with a count: up to `count` values in the order popped.
    pub fn pop_many(&mut self, end: End, count: usize, cfg: &ListConfig) -> Vec<Vec<u8>> {
        let len = self.len();
        let n = count.min(len);
        if n == 0 {
            return Vec::new();
        }
        let start = match end {
            End::Front => 0,
            End::Back => len - n,
        };
        let range = self.iter_range(start, start + n);
        let out = match end {
            End::Front => range.map(|e| e.to_vec()).collect(),
            End::Back => range.rev().map(|e| e.to_vec()).collect(),
        };
        self.remove_range_raw(start, n);
        if !self.is_empty() {
            self.try_shrink(cfg);
        }
        out
    }

    /// LMOVE/RPOPLPUSH with the same source and destination key: Redis pops, checks growth,
    /// pushes, and only then checks shrinking, which can leave a different encoding than a
    /// separate [`pop`](Self::pop) and push would.
    pub fn move_within(&mut self, from: End, to: End, cfg: &ListConfig) -> Option<Vec<u8>> {
        let v = self.pop_raw(from)?;
        self.try_grow(v.len(), 1, cfg);
        self.push_raw(to, &v);
        self.try_shrink(cfg);
        Some(v)
    }

    /// LINDEX: negative indexes count from the tail.
    pub fn get(&self, index: i64) -> Option<LpEntry<'_>> {
        let i = self.normalize(index)?;
        match self {
            List::Packed(lp) => lp.get(i),
            List::Quick(ql) => ql.get(i),
        }
    }

    /// LSET: false if `index` is out of range (the list may have been converted regardless).
    pub fn set(&mut self, index: i64, v: &[u8], cfg: &ListConfig) -> bool {
        self.try_grow(v.len(), 1, cfg);
        let Some(i) = self.normalize(index) else {
            return false;
        };
        match self {
            List::Packed(lp) => lp.replace(i, v),
            List::Quick(ql) => ql.replace(i, v),
        };
        self.try_shrink(cfg);
        true
    }

    /// LINSERT: inserts `v` next to the first element equal to `pivot`; false if none is (the
    /// list may have been converted regardless).
    pub fn insert(&mut self, pivot: &[u8], v: &[u8], at: Position, cfg: &ListConfig) -> bool {
        self.try_grow(v.len(), 1, cfg);
        let after = at == Position::After;
        match self {
            List::Packed(lp) => {
                let Some(p) = lp.first_pos().and_then(|p| lp.find_from(p, pivot, 0)) else {
                    return false;
                };
                if after {
                    lp.insert_after(p, v);
                } else {
                    lp.insert_before(p, v);
                }
                true
            }
            List::Quick(ql) => ql.insert_at_pivot(pivot, v, after),
        }
    }

    /// LREM: removes elements equal to `v`, up to `count` from the head (`count > 0`), `-count`
    /// from the tail (`count < 0`), or all (`0`). Returns how many were removed.
    pub fn remove(&mut self, v: &[u8], count: i64, cfg: &ListConfig) -> usize {
        let removed = match self {
            List::Packed(lp) => remove_matching(lp, v, count),
            List::Quick(ql) => ql.remove_matching(v, count),
        };
        if removed > 0 && !self.is_empty() {
            self.try_shrink(cfg);
        }
        removed
    }

    /// LTRIM with Redis's index rules (negative from the tail, out of range clamps or empties).
    pub fn trim(&mut self, start: i64, stop: i64, cfg: &ListConfig) {
        let len = self.len() as i64;
        let (ltrim, rtrim) = match clamp_range(start, stop, len) {
            Some((s, e)) => (s, len - e - 1),
            None => (len, 0),
        };
        self.remove_range_raw(0, ltrim as usize);
        self.remove_range_raw((len - ltrim - rtrim) as usize, rtrim as usize);
        if !self.is_empty() {
            self.try_shrink(cfg);
        }
    }

    /// LRANGE with Redis's index rules; reversible.
    pub fn range(&self, start: i64, stop: i64) -> ListIter<'_> {
        match clamp_range(start, stop, self.len() as i64) {
            Some((s, e)) => self.iter_range(s as usize, e as usize + 1),
            None => self.iter_range(0, 0),
        }
    }

    /// All elements head to tail; reversible.
    pub fn iter(&self) -> ListIter<'_> {
        self.iter_range(0, self.len())
    }

    /// Elements `start..end` (clamped); reversible.
    pub fn iter_range(&self, start: usize, end: usize) -> ListIter<'_> {
        match self {
            List::Packed(lp) => ListIter::Packed(lp.iter_range(start, end)),
            List::Quick(ql) => ListIter::Quick(ql.iter_range(start, end)),
        }
    }

    /// LPOS: indexes of elements equal to `v`, skipping the first `|rank| - 1` matches, scanning
    /// from the tail when `rank < 0`, returning at most `count` (0 = all) and looking at no more
    /// than `maxlen` elements (0 = all). Plain LPOS is `count = 1`. Panics if `rank == 0`
    /// (the command rejects it first).
    pub fn positions(&self, v: &[u8], rank: i64, count: usize, maxlen: usize) -> Vec<usize> {
        assert!(rank != 0, "LPOS rank cannot be zero");
        let needle = Needle::new(v);
        let len = self.len();
        let scan = if maxlen == 0 { len } else { maxlen.min(len) };
        let skip = rank.unsigned_abs() - 1;
        let mut seen = 0u64;
        let mut out = Vec::new();
        let mut visit = |i: usize, e: LpEntry<'_>| {
            if needle.matches(&e) {
                if seen >= skip {
                    out.push(i);
                }
                seen += 1;
            }
            count != 0 && out.len() == count
        };
        if rank > 0 {
            for (i, e) in self.iter().take(scan).enumerate() {
                if visit(i, e) {
                    break;
                }
            }
        } else {
            for (i, e) in self.iter().rev().take(scan).enumerate() {
                if visit(len - 1 - i, e) {
                    break;
                }
            }
        }
        out
    }

    // ---- internals ----

    fn push_raw(&mut self, end: End, v: &[u8]) {
        match (self, end) {
            (List::Packed(lp), End::Front) => lp.push_front(v),
            (List::Packed(lp), End::Back) => lp.push_back(v),
            (List::Quick(ql), End::Front) => ql.push_front(v),
            (List::Quick(ql), End::Back) => ql.push_back(v),
        }
    }

    fn pop_raw(&mut self, end: End) -> Option<Vec<u8>> {
        match (self, end) {
            (List::Packed(lp), End::Front) => lp.pop_front(),
            (List::Packed(lp), End::Back) => lp.pop_back(),
            (List::Quick(ql), End::Front) => ql.pop_front(),
            (List::Quick(ql), End::Back) => ql.pop_back(),
        }
    }

    fn remove_range_raw(&mut self, start: usize, count: usize) {
        match self {
            List::Packed(lp) => lp.remove_range(start, count),
            List::Quick(ql) => ql.remove_range(start, count),
        };
    }

    fn normalize(&self, index: i64) -> Option<usize> {
        let len = self.len() as i64;
        let i = if index < 0 { index + len } else { index };
        (0..len).contains(&i).then_some(i as usize)
    }
}

/// Redis's LRANGE/LTRIM index rules: negative counts from the tail, the start clamps to 0, the
/// end to the last element; `None` when the range is empty.
fn clamp_range(start: i64, stop: i64, len: i64) -> Option<(i64, i64)> {
    let s = if start < 0 {
        (start + len).max(0)
    } else {
        start
    };
    let e = if stop < 0 { stop + len } else { stop };
    if s > e || s >= len {
        return None;
    }
    Some((s, e.min(len - 1)))
}

/// LREM on a listpack-encoded list.
fn remove_matching(lp: &mut ListPack, v: &[u8], count: i64) -> usize {
    let needle = Needle::new(v);
    let limit = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
    let mut removed = 0;
    if count >= 0 {
        let mut pos = lp.first_pos();
        while let Some(p) = pos.filter(|_| limit == 0 || removed < limit) {
            if needle.matches(&lp.entry(p)) {
                pos = lp.remove_at(p);
                removed += 1;
            } else {
                pos = lp.next_pos(p);
            }
        }
    } else {
        let mut pos = lp.last_pos();
        while let Some(p) = pos.filter(|_| removed < limit) {
            pos = lp.prev_pos(p);
            if needle.matches(&lp.entry(p)) {
                lp.remove_at(p);
                removed += 1;
            }
        }
    }
    removed
}

/// Elements of a list in either encoding.
#[derive(Clone, Debug)]
pub enum ListIter<'a> {
    Packed(listpack::Iter<'a>),
    Quick(quicklist::Iter<'a>),
}

impl<'a> Iterator for ListIter<'a> {
    type Item = LpEntry<'a>;

    fn next(&mut self) -> Option<LpEntry<'a>> {
        match self {
            ListIter::Packed(it) => it.next(),
            ListIter::Quick(it) => it.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            ListIter::Packed(it) => it.size_hint(),
            ListIter::Quick(it) => it.size_hint(),
        }
    }
}

impl DoubleEndedIterator for ListIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match self {
            ListIter::Packed(it) => it.next_back(),
            ListIter::Quick(it) => it.next_back(),
        }
    }
}

impl ExactSizeIterator for ListIter<'_> {}
impl FusedIterator for ListIter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(l: &List) -> Vec<Vec<u8>> {
        l.iter().map(|e| e.to_vec()).collect()
    }

    fn node_count(l: &List) -> usize {
        match l {
            List::Packed(_) => 0,
            List::Quick(ql) => ql.node_count(),
        }
    }

    #[test]
    fn count_fill_converts_at_the_limit_and_back_at_half() {
        let cfg = ListConfig::with_fill(4);
        let mut l = List::new();
        for v in ["a", "b", "c", "d"] {
            l.push_back(v.as_bytes(), &cfg);
        }
        assert_eq!(l.encoding(), "listpack");
        l.push_back(b"e", &cfg);
        assert_eq!((l.encoding(), node_count(&l)), ("quicklist", 2));
        assert_eq!(l.pop(End::Back, &cfg).unwrap(), b"e");
        assert_eq!((l.encoding(), l.len()), ("quicklist", 4));
        l.pop(End::Back, &cfg);
        assert_eq!((l.encoding(), l.len()), ("quicklist", 3));
        l.pop(End::Front, &cfg);
        assert_eq!((l.encoding(), l.len()), ("listpack", 2));
        assert_eq!(items(&l), [b"b".to_vec(), b"c".to_vec()]);
        // One push of several values is checked once, with all of them.
        let mut l = List::new();
        l.push(End::Back, &["1", "2", "3"], &cfg);
        l.push(End::Back, &["4", "5"], &cfg);
        assert_eq!((l.encoding(), node_count(&l)), ("quicklist", 2));
    }

    #[test]
    fn byte_fill_converts_on_lp_bytes() {
        // 100-byte values take 103 bytes: with k of them the listpack is 7 + 103k bytes and the
        // check is 7 + 103k + 100 > 4096, first true at k = 39.
        let cfg = ListConfig::with_fill(-1);
        let mut l = List::new();
        for _ in 0..39 {
            l.push_back(&[b'x'; 100], &cfg);
        }
        assert_eq!(l.encoding(), "listpack");
        l.push_back(&[b'x'; 100], &cfg);
        assert_eq!((l.encoding(), node_count(&l)), ("quicklist", 2));
        // Two nodes stay a quicklist whatever their size; with one left, back only under half
        // the bytes: 7 + 103k <= 2048 means k <= 19.
        l.pop(End::Back, &cfg);
        assert_eq!((l.encoding(), node_count(&l)), ("quicklist", 1));
        while l.len() > 20 {
            l.pop(End::Front, &cfg);
            assert_eq!(l.encoding(), "quicklist");
        }
        l.pop(End::Front, &cfg);
        assert_eq!((l.encoding(), l.len()), ("listpack", 19));
    }

    #[test]
    fn safety_limit_applies_to_count_fills() {
        let cfg = ListConfig::with_fill(128);
        let mut l = List::new();
        l.push_back(&[b'b'; 9000], &cfg);
        assert_eq!((l.encoding(), node_count(&l)), ("quicklist", 1));
        l.push_back(b"a", &cfg);
        assert_eq!(node_count(&l), 2);
        // Redis's quirk: with a count fill the size half-limit is SIZE_MAX / 2, so the lone
        // 9000-byte element goes back to a listpack, and the next push converts again.
        l.pop(End::Back, &cfg);
        assert_eq!(l.encoding(), "listpack");
        l.push_back(b"c", &cfg);
        assert_eq!(l.encoding(), "quicklist");
    }

    #[test]
    fn lset_and_linsert_convert_even_when_they_fail() {
        let cfg = ListConfig::with_fill(2);
        let mut l = List::new();
        l.push(End::Back, &["a", "b"], &cfg);
        assert!(!l.set(5, b"x", &cfg));
        assert_eq!(l.encoding(), "quicklist");
        let mut l = List::new();
        l.push(End::Back, &["a", "b"], &cfg);
        assert!(!l.insert(b"zz", b"x", Position::Before, &cfg));
        assert_eq!(l.encoding(), "quicklist");
        // A successful LSET checks shrinking afterwards: 2 entries > 2 / 2, so it stays.
        assert!(l.set(-1, b"B", &cfg));
        assert_eq!(l.encoding(), "quicklist");
        assert!(l.set(0, b"A", &ListConfig::with_fill(4)));
        assert_eq!(l.encoding(), "listpack");
        assert_eq!(items(&l), [b"A".to_vec(), b"B".to_vec()]);
    }

    #[test]
    fn move_within_checks_shrinking_last() {
        let cfg = ListConfig::with_fill(4);
        let mut l = List::new();
        l.push(End::Back, &["1", "2", "3", "4", "5"], &cfg);
        l.pop(End::Back, &cfg);
        l.pop(End::Back, &cfg);
        assert_eq!((l.encoding(), node_count(&l), l.len()), ("quicklist", 1, 3));
        // 3 entries again when shrinking is checked: still over half of 4.
        assert_eq!(l.move_within(End::Back, End::Front, &cfg).unwrap(), b"3");
        assert_eq!(l.encoding(), "quicklist");
        assert_eq!(items(&l), [b"3".to_vec(), b"1".to_vec(), b"2".to_vec()]);
        // A separate pop and push would have gone back to a listpack.
        l.pop(End::Back, &cfg);
        assert_eq!(l.encoding(), "listpack");
    }

    #[test]
    fn quicklist_keeps_its_fill_when_the_config_changes() {
        let mut l = List::new();
        l.push(End::Back, &["1", "2", "3"], &ListConfig::with_fill(2));
        let List::Quick(ql) = &l else {
            panic!("expected a quicklist")
        };
        assert_eq!((ql.fill(), ql.node_count()), (2, 2));
        l.push_back(b"4", &ListConfig::with_fill(100));
        let List::Quick(ql) = &l else {
            panic!("expected a quicklist")
        };
        assert_eq!(ql.node_count(), 2);
        // The new config decides the conversion back: 4 <= 100 / 2, but there are two nodes.
        l.pop(End::Back, &ListConfig::with_fill(100));
        assert_eq!(l.encoding(), "quicklist");
        l.remove(b"3", 0, &ListConfig::with_fill(100));
        assert_eq!(l.encoding(), "listpack");
    }

    #[test]
    fn auto_conversion_uses_full_limits() {
        let cfg = ListConfig::with_fill(4);
        let mut ql = QuickList::new(4);
        for v in ["a", "b", "c", "d"] {
            ql.push_back(v.as_bytes());
        }
        let mut l = List::Quick(ql);
        l.try_convert(&cfg);
        assert_eq!(l.encoding(), "listpack");
        let mut lp = ListPack::new();
        for v in ["a", "b", "c", "d", "e"] {
            lp.push_back(v.as_bytes());
        }
        let mut l = List::Packed(lp);
        l.try_convert(&cfg);
        assert_eq!((l.encoding(), l.len()), ("quicklist", 5));
    }

    #[test]
    fn lpos_matches_the_redis_docs() {
        let cfg = ListConfig::default();
        for fill in [-2, 2] {
            let mut l = List::new();
            l.push(
                End::Back,
                &["a", "b", "c", "1", "2", "3", "c", "c"],
                &ListConfig::with_fill(fill),
            );
            assert_eq!(l.positions(b"c", 1, 1, 0), [2]);
            assert_eq!(l.positions(b"c", 2, 1, 0), [6]);
            assert_eq!(l.positions(b"c", -1, 1, 0), [7]);
            assert_eq!(l.positions(b"c", 1, 2, 0), [2, 6]);
            assert_eq!(l.positions(b"c", -1, 2, 0), [7, 6]);
            assert_eq!(l.positions(b"c", 1, 0, 0), [2, 6, 7]);
            assert_eq!(l.positions(b"c", 1, 0, 3), [2]);
            assert_eq!(l.positions(b"c", 4, 0, 0), Vec::<usize>::new());
            assert_eq!(l.positions(b"2", -1, 0, 0), [4]);
            assert_eq!(l.get(-8).unwrap().to_vec(), b"a");
            assert_eq!(l.get(-9), None);
            assert_eq!(
                l.range(-3, -2).map(|e| e.to_vec()).collect::<Vec<_>>(),
                [b"3", b"c"]
            );
            assert_eq!(l.range(5, 2).count(), 0);
            assert_eq!(l.range(-100, 100).count(), 8);
            l.trim(1, -2, &cfg);
            assert_eq!(l.len(), 6);
            l.trim(4, 1, &cfg);
            assert!(l.is_empty());
        }
    }

    #[test]
    fn pop_many_returns_in_pop_order() {
        let cfg = ListConfig::with_fill(2);
        let mut l = List::new();
        l.push(End::Back, &["1", "2", "3", "4", "5"], &cfg);
        assert_eq!(
            l.pop_many(End::Back, 2, &cfg),
            [b"5".to_vec(), b"4".to_vec()]
        );
        assert_eq!(
            l.pop_many(End::Front, 2, &cfg),
            [b"1".to_vec(), b"2".to_vec()]
        );
        // One node of one entry left: 1 <= 2 / 2, back to a listpack.
        assert_eq!(l.encoding(), "listpack");
        assert_eq!(l.pop_many(End::Front, 10, &cfg), [b"3".to_vec()]);
        assert!(l.pop_many(End::Front, 1, &cfg).is_empty());
    }
}
