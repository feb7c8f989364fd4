//! The ordered half of a big sorted set: a B+ tree of `(score, member)` entries whose internal
//! nodes keep each child's subtree count, so rank, entry-at-rank and range counts are O(log n)
//! (Redis gets the same from its skiplist's span fields). The member-to-score map lives beside it
//! in [`ZSetValue`]; this tree knows nothing of members' scores beyond the entries it holds, nor
//! of encodings, limits or commands. It has no `unsafe`.
//!
//! ```text
//!                     Inner { seps: [k1, k2], children: [a, b, c], counts: [40, 33, 51] }
//!                    /                         |                          \
//!  Leaf a [e0 .. e39] <-> Leaf b [k1=e40 .. e72] <-> Leaf c [k2=e73 .. e123]   (prev/next links)
//! ```
//! Order: score ascending with `-0.0 == 0.0` (Redis compares scores with `<`/`>`, so the two
//! zeros are one score), then member bytes ascending (`memcmp`, shorter first on a common
//! prefix). NaN scores are never stored (inserting one panics): the command layer rejects them.
//!
//! Nodes live in one arena `Vec` addressed by `u32` indexes (freed slots are reused), so the
//! tree is a plain owned value with no pointers. Separators are copies of the lowest key of the
//! child to their right at the time they were made; after removals they only promise
//! `keys(child i) < seps[i] <= keys(child i+1)`, which is all descent needs.
//!
//! Fan-out: a leaf holds up to 63 entries (the score and the member: 24 bytes with a boxed
//! slice, 16 with the sorted set's handle into its map, so a full leaf's entry array is at most
//! 1.5 KiB, scanned by binary search) and an inner node up to 64 children. A million members is
//! then a tree of height 3-4, and the per-entry overhead of the structure (inner nodes,
//! separators, slack) stays around 1/32 of the entries'. A leaf overflowing at one of its ends
//! splits off just the new entry (sequential inserts keep leaves full); otherwise it splits in
//! half. A node that falls below half full on a removal borrows from or merges with a sibling.
//!
//! Every range query is reduced to ranks with [`BpTree::partition_point`] (how many entries
//! satisfy a predicate that holds for a prefix of the order), so counting a score or lex range is
//! two descents, and iterating one is a descent plus a walk along the leaf links.
//!
//! [`ZSetValue`]: crate::zsetval::ZSetValue

use std::cmp::Ordering;

const NIL: u32 = u32::MAX;
/// Default maximum entries per leaf and children per inner node (see the module docs). A leaf's
/// buffer peaks at `LEAF_CAP + 1` entries (just before a split): 64 entries of 16 or 24 bytes
/// are exactly an allocator size class (1024 / 1536 bytes), where 65 would round up by 23%.
pub const LEAF_CAP: usize = 63;
pub const INNER_CAP: usize = 64;

/// Compares scores as Redis does: `-0.0 == 0.0`. Scores are never NaN here.
#[inline]
pub fn cmp_score(a: f64, b: f64) -> Ordering {
    if a < b {
        Ordering::Less
    } else if a > b {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

/// The sorted-set order: score, then member bytes.
#[inline]
pub fn cmp_entry(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> Ordering {
    cmp_score(s1, s2).then_with(|| m1.cmp(m2))
}

/// A score interval, Redis's `zrangespec`: `(1` is `min = 1, min_ex = true`; `-inf`/`+inf` are
/// the infinities.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreRange {
    pub min: f64,
    pub max: f64,
    pub min_ex: bool,
    pub max_ex: bool,
}

impl ScoreRange {
    pub fn inclusive(min: f64, max: f64) -> Self {
        ScoreRange {
            min,
            max,
            min_ex: false,
            max_ex: false,
        }
    }

    /// Everything: `[-inf, +inf]`.
    pub fn all() -> Self {
        Self::inclusive(f64::NEG_INFINITY, f64::INFINITY)
    }

    /// Parses ZRANGEBYSCORE-style bounds (`1.5`, `(1.5`, `-inf`, `+inf`, `(inf`), rejecting NaN
    /// and garbage as `zslParseRange` does.
    pub fn parse(min: &[u8], max: &[u8]) -> Option<Self> {
        let (min, min_ex) = parse_score_bound(min)?;
        let (max, max_ex) = parse_score_bound(max)?;
        Some(ScoreRange {
            min,
            max,
            min_ex,
            max_ex,
        })
    }

    /// True when `s` is below the range's start.
    #[inline]
    pub fn below_min(&self, s: f64) -> bool {
        if self.min_ex {
            s <= self.min
        } else {
            s < self.min
        }
    }

    /// True when `s` is at most the range's end (not past it).
    #[inline]
    pub fn within_max(&self, s: f64) -> bool {
        if self.max_ex {
            s < self.max
        } else {
            s <= self.max
        }
    }

    pub fn contains(&self, s: f64) -> bool {
        !self.below_min(s) && self.within_max(s)
    }

    /// True when no score can fall inside (Redis's early-out in `zslIsInRange`).
    pub fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.min_ex || self.max_ex))
    }
}

fn parse_score_bound(b: &[u8]) -> Option<(f64, bool)> {
    let (body, ex) = match b.first() {
        Some(b'(') => (&b[1..], true),
        _ => (b, false),
    };
    let v = crate::num::parse_f64(body)?;
    if v.is_nan() {
        return None;
    }
    Some((v, ex))
}

/// One end of a lex range, Redis's `zslParseLexRangeItem`: `-`, `+`, `[m` or `(m`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LexBound<'a> {
    /// `-`: below every member.
    Min,
    /// `+`: above every member.
    Max,
    Incl(&'a [u8]),
    Excl(&'a [u8]),
}

impl<'a> LexBound<'a> {
    pub fn parse(b: &'a [u8]) -> Option<Self> {
        match b.first()? {
            b'-' if b.len() == 1 => Some(LexBound::Min),
            b'+' if b.len() == 1 => Some(LexBound::Max),
            b'[' => Some(LexBound::Incl(&b[1..])),
            b'(' => Some(LexBound::Excl(&b[1..])),
            _ => None,
        }
    }
}

/// A member interval for entries that share one score (ZRANGEBYLEX and friends). As in Redis,
/// the result is unspecified (but deterministic) when scores differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LexRange<'a> {
    pub min: LexBound<'a>,
    pub max: LexBound<'a>,
}

impl<'a> LexRange<'a> {
    pub fn parse(min: &'a [u8], max: &'a [u8]) -> Option<Self> {
        Some(LexRange {
            min: LexBound::parse(min)?,
            max: LexBound::parse(max)?,
        })
    }

    pub fn all() -> Self {
        LexRange {
            min: LexBound::Min,
            max: LexBound::Max,
        }
    }

    /// True when `m` is below the range's start.
    #[inline]
    pub fn below_min(&self, m: &[u8]) -> bool {
        match self.min {
            LexBound::Min => false,
            LexBound::Max => true,
            LexBound::Incl(a) => m < a,
            LexBound::Excl(a) => m <= a,
        }
    }

    /// True when `m` is not past the range's end.
    #[inline]
    pub fn within_max(&self, m: &[u8]) -> bool {
        match self.max {
            LexBound::Min => false,
            LexBound::Max => true,
            LexBound::Incl(a) => m <= a,
            LexBound::Excl(a) => m < a,
        }
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        !self.below_min(m) && self.within_max(m)
    }
}

/// A leaf entry: its score and member bytes. [`Owned`] (the default) holds both; the sorted
/// set's tree holds a handle to the map block that stores them (`zsetval::ScoreRef`), so each
/// member is stored once. Separators in inner nodes are always `Owned` copies, so removing a
/// leaf entry never leaves a separator dangling. A key's score and bytes must not change while
/// it is in the tree.
pub trait LeafKey: std::fmt::Debug {
    fn score(&self) -> f64;
    fn bytes(&self) -> &[u8];
    /// Heap bytes this key owns (0 for a handle).
    fn owned_bytes(&self) -> usize;

    #[inline]
    fn cmp_to(&self, score: f64, member: &[u8]) -> Ordering {
        cmp_entry(self.score(), self.bytes(), score, member)
    }

    fn to_owned_key(&self) -> Owned {
        Owned {
            score: self.score(),
            member: self.bytes().into(),
        }
    }
}

/// A score and an owned copy of a member: the default leaf key, and every separator.
#[derive(Clone, Debug, PartialEq)]
pub struct Owned {
    pub score: f64,
    pub member: Box<[u8]>,
}

impl LeafKey for Owned {
    #[inline]
    fn score(&self) -> f64 {
        self.score
    }

    #[inline]
    fn bytes(&self) -> &[u8] {
        &self.member
    }

    fn owned_bytes(&self) -> usize {
        self.member.len()
    }
}

/// A separator in an inner node.
type Sep = Owned;

#[derive(Clone, Debug)]
struct Leaf<K> {
    entries: Vec<K>,
    prev: u32,
    next: u32,
    /// Where the last insert into this leaf went (NIL: unknown), to tell sequential inserts.
    last_ins: u32,
}

#[derive(Clone, Debug)]
struct Inner {
    /// `seps[i]` divides `children[i]` from `children[i + 1]`.
    seps: Vec<Sep>,
    children: Vec<u32>,
    /// Entries under each child.
    counts: Vec<usize>,
}

#[derive(Clone, Debug)]
enum Node<K> {
    Leaf(Leaf<K>),
    Inner(Inner),
    Free,
}

/// How `remove_rec` finds its entry.
#[derive(Clone, Copy)]
enum Target<'a> {
    Key(f64, &'a [u8]),
    Rank(usize),
}

enum Ins {
    Exists,
    Done,
    /// The node split: the separator, the new right node and its entry count.
    Split(Sep, u32, usize),
}

/// A B+ tree of `(score, member)` with subtree counts (see the module docs), its leaves holding
/// members as `K`.
#[derive(Clone, Debug)]
pub struct BpTree<K = Owned> {
    nodes: Vec<Node<K>>,
    free: Vec<u32>,
    /// Always a node; an empty tree is one empty leaf.
    root: u32,
    /// Inner levels above the leaves (0: the root is a leaf).
    height: u32,
    len: usize,
    /// Heap bytes of separators and of the members leaf keys own.
    member_bytes: usize,
    leaf_cap: usize,
    inner_cap: usize,
}

impl Default for BpTree {
    fn default() -> Self {
        Self::new()
    }
}

impl BpTree<Owned> {
    /// Inserts `(score, member)`; false if that exact entry is already present. Panics on NaN.
    /// The tree does not know members' other scores: keeping one entry per member is the caller's.
    pub fn insert(&mut self, score: f64, member: &[u8]) -> bool {
        self.insert_key(Owned {
            score,
            member: member.into(),
        })
    }
}

impl<K: LeafKey> BpTree<K> {
    pub fn new() -> Self {
        Self::with_fanout(LEAF_CAP, INNER_CAP)
    }

    /// A tree with other node sizes (at least 4). Tests use tiny ones to exercise splits and
    /// merges with few entries.
    pub fn with_fanout(leaf_cap: usize, inner_cap: usize) -> Self {
        assert!(leaf_cap >= 4 && inner_cap >= 4, "fan-out too small");
        BpTree {
            nodes: vec![Node::Leaf(Leaf {
                entries: Vec::new(),
                prev: NIL,
                next: NIL,
                last_ins: NIL,
            })],
            free: Vec::new(),
            root: 0,
            height: 0,
            len: 0,
            member_bytes: 0,
            leaf_cap,
            inner_cap,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Heap bytes held: node arena, entry and separator arrays and member bytes (for MEMORY
    /// USAGE; allocator overhead per member is not counted). Walks the nodes, so O(n / 32).
    pub fn mem_bytes(&self) -> usize {
        let mut n = self.nodes.capacity() * std::mem::size_of::<Node<K>>()
            + self.free.capacity() * 4
            + self.member_bytes;
        for node in &self.nodes {
            n += match node {
                Node::Leaf(l) => l.entries.capacity() * std::mem::size_of::<K>(),
                Node::Inner(i) => {
                    i.seps.capacity() * std::mem::size_of::<Sep>()
                        + i.children.capacity() * 4
                        + i.counts.capacity() * std::mem::size_of::<usize>()
                }
                Node::Free => 0,
            };
        }
        n
    }

    /// (leaves, entries in leaves, leaf entry capacity), for tests of fill.
    pub fn leaf_stats(&self) -> (usize, usize, usize) {
        let mut out = (0, 0, 0);
        for node in &self.nodes {
            if let Node::Leaf(l) = node {
                out.0 += 1;
                out.1 += l.entries.len();
                out.2 += l.entries.capacity();
            }
        }
        out
    }

    pub fn clear(&mut self) {
        *self = Self::with_fanout(self.leaf_cap, self.inner_cap);
    }

    // ---- arena ---------------------------------------------------------------------------------

    fn alloc(&mut self, n: Node<K>) -> u32 {
        if let Some(i) = self.free.pop() {
            self.nodes[i as usize] = n;
            i
        } else {
            assert!(self.nodes.len() < NIL as usize, "B+ tree arena full");
            self.nodes.push(n);
            (self.nodes.len() - 1) as u32
        }
    }

    fn release(&mut self, i: u32) {
        self.nodes[i as usize] = Node::Free;
        self.free.push(i);
    }

    fn take(&mut self, i: u32) -> Node<K> {
        std::mem::replace(&mut self.nodes[i as usize], Node::Free)
    }

    fn put(&mut self, i: u32, n: Node<K>) {
        self.nodes[i as usize] = n;
    }

    fn leaf(&self, i: u32) -> &Leaf<K> {
        match &self.nodes[i as usize] {
            Node::Leaf(l) => l,
            _ => unreachable!("not a leaf"),
        }
    }

    fn leaf_mut(&mut self, i: u32) -> &mut Leaf<K> {
        match &mut self.nodes[i as usize] {
            Node::Leaf(l) => l,
            _ => unreachable!("not a leaf"),
        }
    }

    fn inner(&self, i: u32) -> &Inner {
        match &self.nodes[i as usize] {
            Node::Inner(n) => n,
            _ => unreachable!("not an inner node"),
        }
    }

    fn inner_mut(&mut self, i: u32) -> &mut Inner {
        match &mut self.nodes[i as usize] {
            Node::Inner(n) => n,
            _ => unreachable!("not an inner node"),
        }
    }

    // ---- lookups -------------------------------------------------------------------------------

    /// The number of entries for which `below(score, member)` holds, where `below` holds for a
    /// prefix of the order (true up to some point, false after). The rank at which such a
    /// range starts or ends. O(log n) calls of `below`.
    pub fn partition_point(&self, mut below: impl FnMut(f64, &[u8]) -> bool) -> usize {
        let mut n = self.root;
        let mut acc = 0;
        for _ in 0..self.height {
            let inn = self.inner(n);
            // Every key under children[..j] is below a separator that satisfies `below`.
            let j = inn.seps.partition_point(|k| below(k.score, &k.member));
            acc += inn.counts[..j].iter().sum::<usize>();
            n = inn.children[j];
        }
        acc + self
            .leaf(n)
            .entries
            .partition_point(|e| below(e.score(), e.bytes()))
    }

    /// The leaf and slot holding rank `r` (`r < len`).
    fn locate(&self, mut r: usize) -> (u32, usize) {
        debug_assert!(r < self.len);
        let mut n = self.root;
        for _ in 0..self.height {
            let inn = self.inner(n);
            let mut j = 0;
            while r >= inn.counts[j] {
                r -= inn.counts[j];
                j += 1;
            }
            n = inn.children[j];
        }
        (n, r)
    }

    /// 0-based rank of `(score, member)` from the lowest, if present.
    pub fn rank(&self, score: f64, member: &[u8]) -> Option<usize> {
        let r = self.partition_point(|s, m| cmp_entry(s, m, score, member) == Ordering::Less);
        match self.get(r) {
            Some((s, m)) if cmp_entry(s, m, score, member) == Ordering::Equal => Some(r),
            _ => None,
        }
    }

    pub fn contains(&self, score: f64, member: &[u8]) -> bool {
        self.rank(score, member).is_some()
    }

    /// The entry at rank `r` (0 is the lowest).
    pub fn get(&self, r: usize) -> Option<(f64, &[u8])> {
        if r >= self.len {
            return None;
        }
        let (leaf, i) = self.locate(r);
        let e = &self.leaf(leaf).entries[i];
        Some((e.score(), e.bytes()))
    }

    pub fn first(&self) -> Option<(f64, &[u8])> {
        self.get(0)
    }

    pub fn last(&self) -> Option<(f64, &[u8])> {
        self.len.checked_sub(1).and_then(|r| self.get(r))
    }

    /// Ranks `[start, end)` of the entries whose score lies in `range`.
    pub fn score_ranks(&self, range: &ScoreRange) -> (usize, usize) {
        if range.is_empty() {
            return (0, 0);
        }
        let start = self.partition_point(|s, _| range.below_min(s));
        let end = self.partition_point(|s, _| range.within_max(s));
        (start, end.max(start))
    }

    /// Ranks `[start, end)` of the entries whose member lies in `range` (one shared score).
    pub fn lex_ranks(&self, range: &LexRange<'_>) -> (usize, usize) {
        let start = self.partition_point(|_, m| range.below_min(m));
        let end = self.partition_point(|_, m| range.within_max(m));
        (start, end.max(start))
    }

    pub fn count_score(&self, range: &ScoreRange) -> usize {
        let (a, b) = self.score_ranks(range);
        b - a
    }

    pub fn count_lex(&self, range: &LexRange<'_>) -> usize {
        let (a, b) = self.lex_ranks(range);
        b - a
    }

    // ---- iteration -----------------------------------------------------------------------------

    /// All entries, lowest first.
    pub fn iter(&self) -> Iter<'_, K> {
        self.iter_range(0, self.len, false)
    }

    /// Entries at ranks `[start, end)` (clamped to `len`), lowest first, or highest first when
    /// `rev` (then the first yielded is rank `end - 1`).
    pub fn iter_range(&self, start: usize, end: usize, rev: bool) -> Iter<'_, K> {
        let end = end.min(self.len);
        if start >= end {
            return Iter {
                tree: self,
                leaf: NIL,
                pos: 0,
                remaining: 0,
                rev,
            };
        }
        let (leaf, pos) = self.locate(if rev { end - 1 } else { start });
        Iter {
            tree: self,
            leaf,
            pos,
            remaining: end - start,
            rev,
        }
    }

    /// Entries from rank `r` towards the highest.
    pub fn iter_from(&self, r: usize) -> Iter<'_, K> {
        self.iter_range(r, self.len, false)
    }

    /// Entries from rank `r` towards the lowest.
    pub fn iter_rev_from(&self, r: usize) -> Iter<'_, K> {
        self.iter_range(0, r.saturating_add(1), true)
    }

    // ---- insertion -----------------------------------------------------------------------------

    /// Inserts `key`; false (dropping `key`) if that exact entry is already present. Panics on
    /// a NaN score. The tree does not know members' other scores: keeping one entry per member
    /// is the caller's.
    pub fn insert_key(&mut self, key: K) -> bool {
        let score = key.score();
        assert!(!score.is_nan(), "NaN score");
        match self.insert_rec(self.root, score, key) {
            Ins::Exists => false,
            Ins::Done => {
                self.len += 1;
                true
            }
            Ins::Split(sep, right, right_count) => {
                self.len += 1;
                let left = self.root;
                let left_count = self.len - right_count;
                self.root = self.alloc(Node::Inner(Inner {
                    seps: vec![sep],
                    children: vec![left, right],
                    counts: vec![left_count, right_count],
                }));
                self.height += 1;
                true
            }
        }
    }

    fn insert_rec(&mut self, n: u32, score: f64, key: K) -> Ins {
        if let Node::Leaf(l) = &mut self.nodes[n as usize] {
            let pos = match l.entries.binary_search_by(|e| e.cmp_to(score, key.bytes())) {
                Ok(_) => return Ins::Exists,
                Err(p) => p,
            };
            self.member_bytes += key.owned_bytes();
            if l.entries.len() == l.entries.capacity() {
                // Grow by doubling, but never past one more than a full leaf (the moment before
                // a split): a doubled 128-entry buffer would stay half empty after the split.
                let want = (2 * l.entries.len()).clamp(4, self.leaf_cap + 1);
                l.entries.reserve_exact(want - l.entries.len());
            }
            l.entries.insert(pos, key);
            let sequential = pos > 0 && l.last_ins == (pos - 1) as u32;
            l.last_ins = pos as u32;
            if l.entries.len() <= self.leaf_cap {
                return Ins::Done;
            }
            // Split in half; the right half's first key becomes the separator. Sequential
            // inserts split where they go instead, so they keep filling one leaf to the end:
            // an entry landing at either end of the leaf splits off alone, and one landing
            // right after the previous insert ends the left leaf. Rising (or falling) scores,
            // one stream or several interleaved (timestamps, counters, bulk loads over a few
            // connections), then leave full leaves behind instead of half-full ones. Random
            // inserts rarely look sequential, so they split in half as before.
            let n_entries = l.entries.len();
            let half = if pos + 1 == n_entries {
                n_entries - 1
            } else if pos == 0 {
                1
            } else if sequential {
                pos + 1
            } else {
                n_entries / 2
            };
            l.last_ins = if pos < half { pos as u32 } else { NIL };
            let right_entries = l.entries.split_off(half);
            let old_next = l.next;
            let sep = right_entries[0].to_owned_key();
            self.member_bytes += sep.member.len();
            let rc = right_entries.len();
            let r = self.alloc(Node::Leaf(Leaf {
                entries: right_entries,
                prev: n,
                next: old_next,
                last_ins: if pos >= half {
                    (pos - half) as u32
                } else {
                    NIL
                },
            }));
            self.leaf_mut(n).next = r;
            if old_next != NIL {
                self.leaf_mut(old_next).prev = r;
            }
            return Ins::Split(sep, r, rc);
        }
        let inn = self.inner(n);
        let j = inn
            .seps
            .partition_point(|k| k.cmp_to(score, key.bytes()) != Ordering::Greater);
        let child = inn.children[j];
        match self.insert_rec(child, score, key) {
            Ins::Exists => Ins::Exists,
            Ins::Done => {
                self.inner_mut(n).counts[j] += 1;
                Ins::Done
            }
            Ins::Split(sep, right, rc) => {
                let cap = self.inner_cap;
                let inn = self.inner_mut(n);
                inn.counts[j] = inn.counts[j] + 1 - rc;
                inn.seps.insert(j, sep);
                inn.children.insert(j + 1, right);
                inn.counts.insert(j + 1, rc);
                if inn.children.len() <= cap {
                    return Ins::Done;
                }
                let k = inn.children.len() / 2;
                let children = inn.children.split_off(k);
                let counts = inn.counts.split_off(k);
                let seps = inn.seps.split_off(k);
                let up = inn.seps.pop().expect("separator to promote");
                let rc: usize = counts.iter().sum();
                let r = self.alloc(Node::Inner(Inner {
                    seps,
                    children,
                    counts,
                }));
                Ins::Split(up, r, rc)
            }
        }
    }

    // ---- removal -------------------------------------------------------------------------------

    /// Removes `(score, member)`; false if absent.
    pub fn remove(&mut self, score: f64, member: &[u8]) -> bool {
        self.remove_key(score, member).is_some()
    }

    /// Removes `(score, member)` and returns the entry (with its key), if present.
    pub fn remove_key(&mut self, score: f64, member: &[u8]) -> Option<K> {
        if score.is_nan() {
            return None;
        }
        self.remove_target(Target::Key(score, member))
    }

    /// Removes and returns the entry at rank `r`.
    pub fn remove_at(&mut self, r: usize) -> Option<K> {
        if r >= self.len {
            return None;
        }
        self.remove_target(Target::Rank(r))
    }

    pub fn pop_first(&mut self) -> Option<K> {
        self.remove_at(0)
    }

    pub fn pop_last(&mut self) -> Option<K> {
        self.len.checked_sub(1).and_then(|r| self.remove_at(r))
    }

    fn remove_target(&mut self, t: Target<'_>) -> Option<K> {
        let e = self.remove_rec(self.root, t)?;
        self.len -= 1;
        self.member_bytes -= e.owned_bytes();
        // An inner root left with one child gives way to it.
        while self.height > 0 && self.inner(self.root).children.len() == 1 {
            let old = self.root;
            self.root = self.inner(old).children[0];
            self.release(old);
            self.height -= 1;
        }
        Some(e)
    }

    fn remove_rec(&mut self, n: u32, t: Target<'_>) -> Option<K> {
        if let Node::Leaf(l) = &mut self.nodes[n as usize] {
            let pos = match t {
                Target::Key(s, m) => l.entries.binary_search_by(|e| e.cmp_to(s, m)).ok()?,
                Target::Rank(r) => r,
            };
            return Some(l.entries.remove(pos));
        }
        let inn = self.inner(n);
        let (j, sub) = match t {
            Target::Key(s, m) => (
                inn.seps
                    .partition_point(|k| k.cmp_to(s, m) != Ordering::Greater),
                t,
            ),
            Target::Rank(mut r) => {
                let mut j = 0;
                while r >= inn.counts[j] {
                    r -= inn.counts[j];
                    j += 1;
                }
                (j, Target::Rank(r))
            }
        };
        let child = inn.children[j];
        let e = self.remove_rec(child, sub)?;
        self.inner_mut(n).counts[j] -= 1;
        let under = match &self.nodes[child as usize] {
            Node::Leaf(l) => l.entries.len() < self.leaf_cap / 2,
            Node::Inner(c) => c.children.len() < self.inner_cap / 2,
            Node::Free => unreachable!(),
        };
        if under && self.inner(n).children.len() > 1 {
            self.rebalance(n, j);
        }
        Some(e)
    }

    /// Child `j` of `n` is under half full: merge it with a sibling if both fit in one node,
    /// else move one entry (or child) over from the sibling.
    fn rebalance(&mut self, n: u32, j: usize) {
        let Node::Inner(mut p) = self.take(n) else {
            unreachable!()
        };
        let a = if j > 0 { j - 1 } else { 0 }; // the left of the pair; its separator is seps[a]
        let (ai, bi) = (p.children[a], p.children[a + 1]);
        let right_is_under = a + 1 == j;
        let mut an = self.take(ai);
        let mut bn = self.take(bi);
        match (&mut an, &mut bn) {
            (Node::Leaf(al), Node::Leaf(bl)) => {
                if al.entries.len() + bl.entries.len() <= self.leaf_cap {
                    al.entries.append(&mut bl.entries);
                    al.next = bl.next;
                    if bl.next != NIL {
                        self.leaf_mut(bl.next).prev = ai;
                    }
                    let sep = p.seps.remove(a);
                    self.member_bytes -= sep.member.len();
                    p.children.remove(a + 1);
                    p.counts[a] += p.counts[a + 1];
                    p.counts.remove(a + 1);
                    self.put(ai, an);
                    self.release(bi);
                    self.put(n, Node::Inner(p));
                    return;
                }
                if right_is_under {
                    let e = al.entries.pop().expect("sibling has entries");
                    bl.entries.insert(0, e);
                    p.counts[a] -= 1;
                    p.counts[a + 1] += 1;
                } else {
                    let e = bl.entries.remove(0);
                    al.entries.push(e);
                    p.counts[a] += 1;
                    p.counts[a + 1] -= 1;
                }
                let new_sep = bl.entries[0].to_owned_key();
                self.member_bytes += new_sep.member.len();
                let old = std::mem::replace(&mut p.seps[a], new_sep);
                self.member_bytes -= old.member.len();
            }
            (Node::Inner(ain), Node::Inner(bin)) => {
                if ain.children.len() + bin.children.len() <= self.inner_cap {
                    let sep = p.seps.remove(a);
                    ain.seps.push(sep);
                    ain.seps.append(&mut bin.seps);
                    ain.children.append(&mut bin.children);
                    ain.counts.append(&mut bin.counts);
                    p.children.remove(a + 1);
                    p.counts[a] += p.counts[a + 1];
                    p.counts.remove(a + 1);
                    self.put(ai, an);
                    self.release(bi);
                    self.put(n, Node::Inner(p));
                    return;
                }
                // Rotate one child through the parent's separator.
                if right_is_under {
                    let c = ain.children.pop().expect("sibling has children");
                    let cc = ain.counts.pop().expect("counts match children");
                    let s = ain.seps.pop().expect("separators match children");
                    let down = std::mem::replace(&mut p.seps[a], s);
                    bin.seps.insert(0, down);
                    bin.children.insert(0, c);
                    bin.counts.insert(0, cc);
                    p.counts[a] -= cc;
                    p.counts[a + 1] += cc;
                } else {
                    let c = bin.children.remove(0);
                    let cc = bin.counts.remove(0);
                    let s = bin.seps.remove(0);
                    let down = std::mem::replace(&mut p.seps[a], s);
                    ain.seps.push(down);
                    ain.children.push(c);
                    ain.counts.push(cc);
                    p.counts[a] += cc;
                    p.counts[a + 1] -= cc;
                }
            }
            _ => unreachable!("siblings at different depths"),
        }
        self.put(ai, an);
        self.put(bi, bn);
        self.put(n, Node::Inner(p));
    }

    /// Removes the entries at ranks `[start, end)` (clamped), returning them lowest first.
    pub fn remove_rank_range(&mut self, start: usize, end: usize) -> Vec<K> {
        let end = end.min(self.len);
        if start >= end {
            return Vec::new();
        }
        if start == 0 && end == self.len {
            // Everything: take the leaves' entries in order and start afresh.
            let mut out = Vec::with_capacity(self.len);
            let (mut leaf, _) = self.locate(0);
            while leaf != NIL {
                let l = self.leaf_mut(leaf);
                let next = l.next;
                out.append(&mut l.entries);
                leaf = next;
            }
            self.clear();
            return out;
        }
        (start..end)
            .map(|_| self.remove_at(start).expect("rank in range"))
            .collect()
    }

    /// Removes the entries whose score lies in `range`, lowest first.
    pub fn remove_score_range(&mut self, range: &ScoreRange) -> Vec<K> {
        let (a, b) = self.score_ranks(range);
        self.remove_rank_range(a, b)
    }

    /// Removes the entries whose member lies in `range`, lowest first.
    pub fn remove_lex_range(&mut self, range: &LexRange<'_>) -> Vec<K> {
        let (a, b) = self.lex_ranks(range);
        self.remove_rank_range(a, b)
    }

    // ---- self-check ----------------------------------------------------------------------------

    /// Checks every structural invariant (order, counts, separators, fill, leaf links, byte
    /// accounting); for tests. Panics with a description on the first violation.
    pub fn check(&self) {
        let mut leaves = Vec::new();
        let mut bytes = 0;
        let n = self.check_rec(
            self.root,
            self.height,
            None,
            None,
            &mut leaves,
            &mut bytes,
            true,
        );
        assert_eq!(n, self.len, "len");
        assert_eq!(bytes, self.member_bytes, "member bytes");
        for (i, &l) in leaves.iter().enumerate() {
            let want_prev = if i == 0 { NIL } else { leaves[i - 1] };
            let want_next = leaves.get(i + 1).copied().unwrap_or(NIL);
            assert_eq!(self.leaf(l).prev, want_prev, "leaf prev link");
            assert_eq!(self.leaf(l).next, want_next, "leaf next link");
        }
        let mut prev: Option<(f64, &[u8])> = None;
        for (s, m) in self.iter() {
            if let Some((ps, pm)) = prev {
                assert_eq!(cmp_entry(ps, pm, s, m), Ordering::Less, "order");
            }
            prev = Some((s, m));
        }
        let live = self
            .nodes
            .iter()
            .filter(|n| !matches!(n, Node::Free))
            .count();
        assert_eq!(live + self.free.len(), self.nodes.len(), "free list");
    }

    #[allow(clippy::too_many_arguments)]
    fn check_rec(
        &self,
        n: u32,
        depth: u32,
        lo: Option<&Sep>,
        hi: Option<&Sep>,
        leaves: &mut Vec<u32>,
        bytes: &mut usize,
        is_root: bool,
    ) -> usize {
        let in_bounds = |score: f64, m: &[u8]| {
            lo.is_none_or(|l| l.cmp_to(score, m) != Ordering::Greater)
                && hi.is_none_or(|h| h.cmp_to(score, m) == Ordering::Greater)
        };
        match &self.nodes[n as usize] {
            Node::Leaf(l) => {
                assert_eq!(depth, 0, "leaves at one depth");
                assert!(l.entries.len() <= self.leaf_cap, "leaf overfull");
                // Leaves may be short (splits at an end are uneven, see `insert_rec`), never
                // empty; removals merge or refill a leaf that falls below half.
                assert!(is_root || !l.entries.is_empty(), "empty leaf");
                for e in &l.entries {
                    assert!(
                        in_bounds(e.score(), e.bytes()),
                        "leaf entry outside its separators"
                    );
                    *bytes += e.owned_bytes();
                }
                leaves.push(n);
                l.entries.len()
            }
            Node::Inner(i) => {
                assert!(depth > 0, "leaves at one depth");
                assert_eq!(i.seps.len() + 1, i.children.len(), "separator count");
                assert_eq!(i.counts.len(), i.children.len(), "count slots");
                assert!(i.children.len() <= self.inner_cap, "inner overfull");
                let min = if is_root { 2 } else { self.inner_cap / 2 };
                assert!(i.children.len() >= min, "inner underfull");
                let mut total = 0;
                for (k, &c) in i.children.iter().enumerate() {
                    let clo = if k == 0 { lo } else { Some(&i.seps[k - 1]) };
                    let chi = if k == i.seps.len() {
                        hi
                    } else {
                        Some(&i.seps[k])
                    };
                    let cnt = self.check_rec(c, depth - 1, clo, chi, leaves, bytes, false);
                    assert_eq!(cnt, i.counts[k], "subtree count");
                    total += cnt;
                }
                for s in &i.seps {
                    assert!(
                        in_bounds(s.score, &s.member),
                        "separator outside its parent's"
                    );
                    *bytes += s.member.len();
                }
                total
            }
            Node::Free => panic!("free node reachable"),
        }
    }
}

/// Entries over a rank range, in either direction (see [`BpTree::iter_range`]).
pub struct Iter<'a, K = Owned> {
    tree: &'a BpTree<K>,
    leaf: u32,
    pos: usize,
    remaining: usize,
    rev: bool,
}

impl<K> Clone for Iter<'_, K> {
    fn clone(&self) -> Self {
        Iter { ..*self }
    }
}

impl<'a, K: LeafKey> Iterator for Iter<'a, K> {
    type Item = (f64, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let l = self.tree.leaf(self.leaf);
        let e = &l.entries[self.pos];
        if self.rev {
            if self.pos == 0 {
                self.leaf = l.prev;
                if self.leaf != NIL {
                    self.pos = self.tree.leaf(self.leaf).entries.len() - 1;
                }
            } else {
                self.pos -= 1;
            }
        } else {
            self.pos += 1;
            if self.pos == l.entries.len() {
                self.leaf = l.next;
                self.pos = 0;
            }
        }
        Some((e.score(), e.bytes()))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<K: LeafKey> ExactSizeIterator for Iter<'_, K> {}
impl<K: LeafKey> std::iter::FusedIterator for Iter<'_, K> {}
