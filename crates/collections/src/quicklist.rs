//! A quicklist: a Redis list too big for one listpack, kept as a sequence of listpack nodes.
//!
//! It follows Redis 7.2's `quicklist.c` rule for rule, because the node layout is observable
//! (OBJECT ENCODING turns back to `listpack` only when one packed node is left, DEBUG OBJECT
//! reports `ql_nodes`) and because RDB saves node by node:
//! - the fill: `fill > 0` caps entries per node, `fill < 0` caps a node's bytes at 4/8/16/32/64 KiB
//!   (-1..-5), and with a count cap a node still never grows past 8 KiB (`SIZE_SAFETY_LIMIT`);
//!   an insert is allowed if `node bytes + value length + 8` stays within the cap
//!   (`_quicklistNodeAllowInsert`), two nodes merge if `bytes(a) + bytes(b) - 7` does
//!   (`_quicklistNodeAllowMerge`);
//! - an element of at least `packed_threshold` bytes (1 GiB unless changed, as Redis's DEBUG
//!   QUICKLIST-PACKED-THRESHOLD does) lives alone in a "plain" node that takes no neighbours;
//! - nodes merge only around a node split by a middle insert (`_quicklistMergeNodes`); deletions
//!   (pops, LREM, LTRIM) drop emptied nodes but never merge, exactly as Redis.
//!
//! Deviations, none visible to commands: nodes live in a `VecDeque` rather than a linked list;
//! there is no LZF compression of inner nodes (`list-compress-depth` is ignored); a plain node
//! holds its element as the single string entry of a listpack rather than as raw bytes. The fill
//! is fixed when the quicklist is made, as in Redis, where CONFIG SET of
//! `list-max-listpack-size` only affects lists converted later.
//!
//! What it must not do: know about commands or the listpack/quicklist encoding switch (that is
//! [`crate::list`]), or keep an empty node.
//!
//! ```text
//!  nodes: [ lp(3) | lp(3) | plain(1) | lp(2) ]      count = 9
//!           0 1 2   3 4 5   6          7 8          (list indexes)
//! ```

use crate::listpack::{ListPack, LpEntry, Needle, HDR};
use std::collections::VecDeque;
use std::iter::FusedIterator;

/// With a count fill, a multi-entry node never grows past this many bytes.
pub const SIZE_SAFETY_LIMIT: usize = 8192;
/// Upper bound of the bytes one entry adds beyond its value (encoding header and back-length).
const SIZE_ESTIMATE_OVERHEAD: usize = 8;
/// Byte caps for fills -1 to -5.
const OPTIMIZATION_LEVEL: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// Elements at least this long get a plain node of their own (Redis's `packed_threshold`).
pub const DEFAULT_PACKED_THRESHOLD: usize = 1 << 30;
/// Redis stores the fill in 16 signed bits and clamps it to `FILL_MIN..=FILL_MAX`.
pub const FILL_MAX: i32 = (1 << 15) - 1;
pub const FILL_MIN: i32 = -5;

/// `quicklistNodeLimit`: the node's byte cap and entry-count cap for `fill` (one of them
/// unlimited: `usize::MAX` bytes, or `u32::MAX` entries as Redis's `UINT_MAX`).
pub fn node_limit(fill: i32) -> (usize, usize) {
    if fill >= 0 {
        (usize::MAX, fill.max(1) as usize)
    } else {
        let level = ((-(fill as i64)) - 1).min(OPTIMIZATION_LEVEL.len() as i64 - 1);
        (OPTIMIZATION_LEVEL[level as usize], u32::MAX as usize)
    }
}

/// `quicklistNodeExceedsLimit`: whether a node (or a listpack-encoded list) of `new_sz` bytes and
/// `new_count` entries is over the limit for `fill`.
pub fn exceeds_limit(fill: i32, new_sz: usize, new_count: usize) -> bool {
    let (sz_limit, count_limit) = node_limit(fill);
    if sz_limit != usize::MAX {
        new_sz > sz_limit
    } else {
        new_sz > SIZE_SAFETY_LIMIT || new_count > count_limit
    }
}

#[derive(Clone, Debug)]
struct Node {
    /// Never empty; exactly one string entry when `plain`.
    lp: ListPack,
    plain: bool,
}

impl Node {
    fn packed(v: &[u8]) -> Node {
        let mut lp = ListPack::new();
        lp.push_back(v);
        Node { lp, plain: false }
    }

    fn plain(v: &[u8]) -> Node {
        let mut lp = ListPack::new();
        lp.push_back_str(v);
        Node { lp, plain: true }
    }
}

/// One node as RDB saves it: a listpack, or a plain element's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeView<'a> {
    Packed(&'a ListPack),
    Plain(&'a [u8]),
}

/// A list as a sequence of listpack nodes (see the module docs).
#[derive(Clone, Debug)]
pub struct QuickList {
    nodes: VecDeque<Node>,
    /// Total entries.
    count: usize,
    fill: i32,
    packed_threshold: usize,
}

impl QuickList {
    /// An empty quicklist; `fill` is clamped to `FILL_MIN..=FILL_MAX` as Redis does.
    pub fn new(fill: i32) -> Self {
        Self::with_packed_threshold(fill, DEFAULT_PACKED_THRESHOLD)
    }

    pub fn with_packed_threshold(fill: i32, packed_threshold: usize) -> Self {
        QuickList {
            nodes: VecDeque::new(),
            count: 0,
            fill: fill.clamp(FILL_MIN, FILL_MAX),
            packed_threshold,
        }
    }

    pub fn fill(&self) -> i32 {
        self.fill
    }

    pub fn packed_threshold(&self) -> usize {
        self.packed_threshold
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Number of nodes (DEBUG OBJECT's `ql_nodes`).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The nodes front to back, as RDB saves them.
    pub fn nodes(&self) -> impl ExactSizeIterator<Item = NodeView<'_>> + '_ {
        self.nodes.iter().map(|n| match (n.plain, n.lp.first()) {
            (true, Some(LpEntry::Str(s))) => NodeView::Plain(s),
            _ => NodeView::Packed(&n.lp),
        })
    }

    /// Heap bytes held: the node array and every node's buffer.
    pub fn mem_bytes(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.nodes.iter().map(|n| n.lp.mem_bytes()).sum::<usize>()
    }

    /// Adds a whole listpack as the last node, whatever its size (RDB load, and the conversion
    /// from a listpack-encoded list). An empty listpack is dropped.
    pub fn append_listpack(&mut self, lp: ListPack) {
        if !lp.is_empty() {
            self.count += lp.len();
            self.nodes.push_back(Node { lp, plain: false });
        }
    }

    /// Adds a plain node holding `v` at the end (RDB load).
    pub fn append_plain(&mut self, v: &[u8]) {
        self.count += 1;
        self.nodes.push_back(Node::plain(v));
    }

    pub fn push_back(&mut self, v: &[u8]) {
        self.count += 1;
        if self.is_large(v.len()) {
            self.nodes.push_back(Node::plain(v));
        } else if self.allow_insert(self.nodes.len().checked_sub(1), v.len()) {
            self.nodes.back_mut().expect("allowed").lp.push_back(v);
        } else {
            // The tail node is full: give back its growth slack before starting the next.
            if let Some(n) = self.nodes.back_mut() {
                n.lp.shrink_to_fit();
            }
            self.nodes.push_back(Node::packed(v));
        }
    }

    pub fn push_front(&mut self, v: &[u8]) {
        self.count += 1;
        if self.is_large(v.len()) {
            self.nodes.push_front(Node::plain(v));
        } else if self.allow_insert((!self.nodes.is_empty()).then_some(0), v.len()) {
            self.nodes.front_mut().expect("allowed").lp.push_front(v);
        } else {
            // The head node is full: give back its growth slack before starting the next.
            if let Some(n) = self.nodes.front_mut() {
                n.lp.shrink_to_fit();
            }
            self.nodes.push_front(Node::packed(v));
        }
    }

    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        let node = self.nodes.front_mut()?;
        let v = node.lp.pop_front().expect("nodes are never empty");
        if node.lp.is_empty() {
            self.nodes.pop_front();
        }
        self.count -= 1;
        Some(v)
    }

    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        let node = self.nodes.back_mut()?;
        let v = node.lp.pop_back().expect("nodes are never empty");
        if node.lp.is_empty() {
            self.nodes.pop_back();
        }
        self.count -= 1;
        Some(v)
    }

    /// Entry `index` (from the head), found by walking nodes from the nearer end.
    pub fn get(&self, index: usize) -> Option<LpEntry<'_>> {
        let (ni, off) = self.locate(index)?;
        self.nodes[ni].lp.get(off)
    }

    /// Replaces entry `index` with `v` (`quicklistReplaceEntry`); false if out of range.
    pub fn replace(&mut self, index: usize, v: &[u8]) -> bool {
        let Some((ni, off)) = self.locate(index) else {
            return false;
        };
        let large = self.is_large(v.len());
        let node = &mut self.nodes[ni];
        match (node.plain, large) {
            (false, false) => {
                let p = node.lp.seek(off).expect("offset inside node");
                node.lp.replace_at(p, v);
            }
            (true, true) => *node = Node::plain(v),
            (true, false) => {
                // The new value goes after the plain node (into the next node if it has room),
                // then the plain node goes.
                self.insert_at(ni, off, v, true);
                self.nodes.remove(ni);
                self.count -= 1;
            }
            (false, true) => {
                // A plain node goes right after the entry (splitting the node if the entry is
                // not its last), which leaves the old entry last in node `ni`.
                self.insert_at(ni, off, v, true);
                let node = &mut self.nodes[ni];
                if node.lp.len() == 1 {
                    self.nodes.remove(ni);
                } else {
                    node.lp.pop_back();
                }
                self.count -= 1;
            }
        }
        true
    }

    /// Inserts `v` before or after entry `index`; false if out of range.
    pub fn insert(&mut self, index: usize, v: &[u8], after: bool) -> bool {
        match self.locate(index) {
            Some((ni, off)) => {
                self.insert_at(ni, off, v, after);
                true
            }
            None => false,
        }
    }

    /// LINSERT: inserts `v` before or after the first entry equal to `pivot`; false if none is.
    pub fn insert_at_pivot(&mut self, pivot: &[u8], v: &[u8], after: bool) -> bool {
        let needle = Needle::new(pivot);
        for ni in 0..self.nodes.len() {
            if let Some(off) = self.nodes[ni].lp.iter().position(|e| needle.matches(&e)) {
                self.insert_at(ni, off, v, after);
                return true;
            }
        }
        false
    }

    /// Removes up to `count` entries from `start` on (`quicklistDelRange`); returns how many.
    pub fn remove_range(&mut self, start: usize, count: usize) -> usize {
        if count == 0 || start >= self.count {
            return 0;
        }
        let extent = count.min(self.count - start);
        let (mut ni, mut off) = self.locate(start).expect("start < len");
        let mut left = extent;
        while left > 0 {
            let n = self.nodes[ni].lp.len();
            let del = (n - off).min(left);
            if del == n {
                self.nodes.remove(ni);
            } else {
                self.nodes[ni].lp.remove_range(off, del);
                ni += 1;
            }
            left -= del;
            off = 0;
        }
        self.count -= extent;
        extent
    }

    /// LREM: removes entries equal to `v`, up to `count` of them from the head (`count > 0`),
    /// up to `-count` from the tail (`count < 0`), or all (`0`). Returns how many went.
    pub fn remove_matching(&mut self, v: &[u8], count: i64) -> usize {
        let needle = Needle::new(v);
        let limit = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
        let done = |removed: usize| limit != 0 && removed == limit;
        let mut removed = 0;
        if count >= 0 {
            let mut ni = 0;
            while ni < self.nodes.len() && !done(removed) {
                let lp = &mut self.nodes[ni].lp;
                let mut pos = lp.first_pos();
                while let Some(p) = pos.filter(|_| !done(removed)) {
                    if needle.matches(&lp.entry(p)) {
                        pos = lp.remove_at(p);
                        removed += 1;
                    } else {
                        pos = lp.next_pos(p);
                    }
                }
                if lp.is_empty() {
                    self.nodes.remove(ni);
                } else {
                    ni += 1;
                }
            }
        } else {
            let mut ni = self.nodes.len();
            while ni > 0 && !done(removed) {
                ni -= 1;
                let lp = &mut self.nodes[ni].lp;
                let mut pos = lp.last_pos();
                while let Some(p) = pos.filter(|_| !done(removed)) {
                    // Removing at `p` leaves the entries before it where they are.
                    pos = lp.prev_pos(p);
                    if needle.matches(&lp.entry(p)) {
                        lp.remove_at(p);
                        removed += 1;
                    }
                }
                if lp.is_empty() {
                    self.nodes.remove(ni);
                }
            }
        }
        self.count -= removed;
        removed
    }

    /// All entries, head to tail (reversible).
    pub fn iter(&self) -> Iter<'_> {
        self.iter_range(0, self.count)
    }

    /// Entries `start..end`, clamped to the length (reversible).
    pub fn iter_range(&self, start: usize, end: usize) -> Iter<'_> {
        let end = end.min(self.count);
        if start >= end {
            return Iter {
                nodes: &self.nodes,
                front_node: 0,
                front: HDR,
                back_node: 0,
                back: HDR,
                remaining: 0,
            };
        }
        let (fni, foff) = self.locate(start).expect("start < len");
        let (bni, boff) = self.locate(end - 1).expect("end <= len");
        let front = self.nodes[fni].lp.seek(foff).expect("offset inside node").0;
        let back_lp = &self.nodes[bni].lp;
        let last = back_lp.seek(boff).expect("offset inside node").0;
        Iter {
            nodes: &self.nodes,
            front_node: fni,
            front,
            back_node: bni,
            back: last + back_lp.decode_at(last).1,
            remaining: end - start,
        }
    }

    /// Checks the structure: no empty nodes, plain nodes of one string, valid listpacks, and
    /// the kept count.
    pub fn validate(&self) -> Result<(), &'static str> {
        let mut total = 0;
        for n in &self.nodes {
            if n.lp.is_empty() {
                return Err("empty node");
            }
            if n.plain && (n.lp.len() != 1 || !matches!(n.lp.first(), Some(LpEntry::Str(_)))) {
                return Err("plain node is not one string");
            }
            n.lp.validate().map_err(|e| e.0)?;
            total += n.lp.len();
        }
        if total != self.count {
            return Err("count mismatch");
        }
        Ok(())
    }

    /// The only node, if it is the only one and packed (the condition for a listpack encoding).
    pub(crate) fn single_packed(&self) -> Option<&ListPack> {
        match self.nodes.len() {
            1 if !self.nodes[0].plain => Some(&self.nodes[0].lp),
            _ => None,
        }
    }

    /// Takes the listpack out of a single packed node.
    pub(crate) fn into_single_listpack(mut self) -> ListPack {
        debug_assert!(self.single_packed().is_some());
        self.nodes.pop_front().expect("one node").lp
    }

    // ---- internals ----

    fn is_large(&self, sz: usize) -> bool {
        sz >= self.packed_threshold
    }

    /// `(node, offset in node)` of entry `index`, walking from the nearer end.
    fn locate(&self, index: usize) -> Option<(usize, usize)> {
        if index >= self.count {
            return None;
        }
        if index <= (self.count - 1) / 2 {
            let mut first = 0;
            for (ni, n) in self.nodes.iter().enumerate() {
                if first + n.lp.len() > index {
                    return Some((ni, index - first));
                }
                first += n.lp.len();
            }
        } else {
            let mut first = self.count;
            for (ni, n) in self.nodes.iter().enumerate().rev() {
                first -= n.lp.len();
                if first <= index {
                    return Some((ni, index - first));
                }
            }
        }
        unreachable!("node counts add up to the list count")
    }

    /// `_quicklistNodeAllowInsert`: whether node `ni` takes one more value of `sz` bytes.
    fn allow_insert(&self, ni: Option<usize>, sz: usize) -> bool {
        let Some(n) = ni.and_then(|i| self.nodes.get(i)) else {
            return false;
        };
        if n.plain || self.is_large(sz) {
            return false;
        }
        let new_sz = n.lp.bytes() + sz + SIZE_ESTIMATE_OVERHEAD;
        !exceeds_limit(self.fill, new_sz, n.lp.len() + 1)
    }

    /// `_quicklistNodeAllowMerge` (7 = one listpack's header and terminator).
    fn allow_merge(&self, a: usize, b: usize) -> bool {
        let (a, b) = (&self.nodes[a], &self.nodes[b]);
        if a.plain || b.plain {
            return false;
        }
        let merge_sz = a.lp.bytes() + b.lp.bytes() - crate::listpack::EMPTY_BYTES;
        !exceeds_limit(self.fill, merge_sz, a.lp.len() + b.lp.len())
    }

    /// `_quicklistInsert`: `v` before or after entry `off` of node `ni`.
    fn insert_at(&mut self, ni: usize, off: usize, v: &[u8], after: bool) {
        let sz = v.len();
        let full = !self.allow_insert(Some(ni), sz);
        let at_tail = after && off + 1 == self.nodes[ni].lp.len();
        let at_head = !after && off == 0;
        let beside = if after { ni + 1 } else { ni };
        self.count += 1;
        if self.is_large(sz) {
            if self.nodes[ni].plain || at_tail || at_head {
                self.nodes.insert(beside, Node::plain(v));
            } else {
                let rest = self.split_node(ni, off, after);
                if after {
                    self.nodes.insert(ni + 1, Node::plain(v));
                    self.nodes.insert(ni + 2, rest);
                } else {
                    self.nodes.insert(ni, Node::plain(v));
                    self.nodes.insert(ni, rest);
                }
            }
            return;
        }
        if !full {
            let lp = &mut self.nodes[ni].lp;
            let p = lp.seek(off).expect("offset inside node");
            if after {
                lp.insert_after(p, v);
            } else {
                lp.insert_before(p, v);
            }
        } else if at_tail && self.allow_insert(Some(ni + 1), sz) {
            self.nodes[ni + 1].lp.push_front(v);
        } else if at_head && ni > 0 && self.allow_insert(Some(ni - 1), sz) {
            self.nodes[ni - 1].lp.push_back(v);
        } else if at_tail || at_head {
            self.nodes.insert(beside, Node::packed(v));
        } else {
            // A full node split in the middle: the value joins the split-off part, then
            // neighbours that fit together merge.
            let mut rest = self.split_node(ni, off, after);
            let center = if after {
                rest.lp.push_front(v);
                self.nodes.insert(ni + 1, rest);
                ni
            } else {
                rest.lp.push_back(v);
                self.nodes.insert(ni, rest);
                ni + 1
            };
            self.merge_around(center);
        }
    }

    /// `_quicklistSplitNode`: with `after`, node `ni` keeps entries `..=off` and the returned
    /// node has the rest; without, the returned node has entries `..off` and `ni` keeps the rest.
    fn split_node(&mut self, ni: usize, off: usize, after: bool) -> Node {
        let lp = &mut self.nodes[ni].lp;
        let taken = if after {
            lp.split_off(off + 1)
        } else {
            let tail = lp.split_off(off);
            std::mem::replace(lp, tail)
        };
        Node {
            lp: taken,
            plain: false,
        }
    }

    /// `_quicklistMergeNodes`: tries (prev-prev, prev), (next, next-next), (prev, center), and
    /// then (center or the merged node, next), in Redis's order.
    fn merge_around(&mut self, mut c: usize) {
        if c >= 2 && self.allow_merge(c - 2, c - 1) {
            self.merge_pair(c - 2);
            c -= 1;
        }
        if c + 2 < self.nodes.len() && self.allow_merge(c + 1, c + 2) {
            self.merge_pair(c + 1);
        }
        let target = if c >= 1 && self.allow_merge(c - 1, c) {
            self.merge_pair(c - 1);
            c - 1
        } else {
            c
        };
        if target + 1 < self.nodes.len() && self.allow_merge(target, target + 1) {
            self.merge_pair(target);
        }
    }

    /// Appends node `i + 1` to node `i`.
    fn merge_pair(&mut self, i: usize) {
        let b = self.nodes.remove(i + 1).expect("merge partner");
        self.nodes[i].lp.append(b.lp);
    }
}

/// Entries of a quicklist in order; reversible.
#[derive(Clone, Debug)]
pub struct Iter<'a> {
    nodes: &'a VecDeque<Node>,
    front_node: usize,
    /// Byte offset of the next entry from the front inside `front_node`.
    front: usize,
    back_node: usize,
    /// Byte offset just past the next entry from the back inside `back_node`.
    back: usize,
    remaining: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = LpEntry<'a>;

    fn next(&mut self) -> Option<LpEntry<'a>> {
        if self.remaining == 0 {
            return None;
        }
        let nodes = self.nodes;
        let mut lp = &nodes[self.front_node].lp;
        if self.front == lp.eof() {
            // Nodes are never empty, so one step reaches an entry.
            self.front_node += 1;
            self.front = HDR;
            lp = &nodes[self.front_node].lp;
        }
        let (e, size) = lp.decode_at(self.front);
        self.front += size;
        self.remaining -= 1;
        Some(e)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let nodes = self.nodes;
        let mut lp = &nodes[self.back_node].lp;
        if self.back == HDR {
            self.back_node -= 1;
            lp = &nodes[self.back_node].lp;
            self.back = lp.eof();
        }
        self.back = lp.prev_start(self.back);
        self.remaining -= 1;
        Some(lp.decode_at(self.back).0)
    }
}

impl ExactSizeIterator for Iter<'_> {}
impl FusedIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(ql: &QuickList) -> Vec<usize> {
        ql.nodes
            .iter()
            .map(|n| if n.plain { 0 } else { n.lp.len() })
            .collect()
    }

    fn items(ql: &QuickList) -> Vec<Vec<u8>> {
        ql.iter().map(|e| e.to_vec()).collect()
    }

    fn filled(fill: i32, n: usize) -> QuickList {
        let mut ql = QuickList::new(fill);
        for i in 0..n {
            ql.push_back(format!("v{i}").as_bytes());
        }
        ql
    }

    #[test]
    fn limits_follow_redis() {
        assert_eq!(node_limit(0), (usize::MAX, 1));
        assert_eq!(node_limit(128), (usize::MAX, 128));
        assert_eq!(node_limit(-1), (4096, u32::MAX as usize));
        assert_eq!(node_limit(-2), (8192, u32::MAX as usize));
        assert_eq!(node_limit(-5), (65536, u32::MAX as usize));
        assert_eq!(node_limit(-100), (65536, u32::MAX as usize));
        assert_eq!(node_limit(i32::MIN), (65536, u32::MAX as usize));
        assert!(!exceeds_limit(128, 8192, 128));
        assert!(exceeds_limit(128, 8193, 1));
        assert!(exceeds_limit(128, 100, 129));
        assert!(!exceeds_limit(-2, 8192, 1_000_000));
        assert!(exceeds_limit(-2, 8193, 1));
        assert_eq!(QuickList::new(100_000).fill(), FILL_MAX);
        assert_eq!(QuickList::new(-9).fill(), FILL_MIN);
    }

    #[test]
    fn count_fill_packs_nodes() {
        let ql = filled(3, 7);
        assert_eq!(counts(&ql), [3, 3, 1]);
        let mut ql = QuickList::new(3);
        for i in 0..7 {
            ql.push_front(format!("v{i}").as_bytes());
        }
        assert_eq!(counts(&ql), [1, 3, 3]);
        assert_eq!(items(&ql)[0], b"v6");
        // fill 0 means one entry per node
        assert_eq!(counts(&filled(0, 3)), [1, 1, 1]);
    }

    #[test]
    fn byte_fill_counts_estimated_bytes() {
        // 100-byte strings take 103 bytes (2 encoding, 1 back-length); a node of k of them is
        // 7 + 103k bytes and takes one more while 7 + 103k + 100 + 8 <= 4096, so k stops at 39.
        let mut ql = QuickList::new(-1);
        for _ in 0..100 {
            ql.push_back(&[b'x'; 100]);
        }
        assert_eq!(counts(&ql), [39, 39, 22]);
        // With a count fill the 8 KiB safety limit still applies: 1000-byte strings take 1004
        // bytes, 7 + 1004k + 1008 <= 8192 allows an eighth but not a ninth.
        let mut ql = QuickList::new(1000);
        for _ in 0..20 {
            ql.push_back(&[b'y'; 1000]);
        }
        assert_eq!(counts(&ql), [8, 8, 4]);
        // A value over a node's limit gets a (packed) node of its own.
        let mut ql = QuickList::new(-1);
        ql.push_back(b"a");
        ql.push_back(&[b'z'; 5000]);
        ql.push_back(b"b");
        assert_eq!(counts(&ql), [1, 1, 1]);
    }

    #[test]
    fn middle_insert_splits_then_merges() {
        // [1, 4, 1]: pushes of 12 with fill 4, then trims at both ends.
        let mut ql = filled(4, 12);
        ql.remove_range(0, 3);
        ql.remove_range(5, 3);
        assert_eq!(counts(&ql), [1, 4, 1]);
        // Into the full middle node after its second entry: split into [2] and [2 + new], then
        // (next, next-next) merge to 4, (prev, center) to 3: [3, 4].
        assert!(ql.insert(2, b"new", true));
        assert_eq!(counts(&ql), [3, 4]);
        let want: Vec<Vec<u8>> = ["v3", "v4", "v5", "new", "v6", "v7", "v11"]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
        assert_eq!(items(&ql), want);
        // At the head of a full node with a full previous node: a new node between them.
        let mut ql = filled(2, 4);
        assert!(ql.insert(2, b"x", false));
        assert_eq!(counts(&ql), [2, 1, 2]);
        // At the tail of a full node whose next node has room: prepended there.
        let mut ql = filled(2, 3);
        assert!(ql.insert(1, b"y", true));
        assert_eq!(counts(&ql), [2, 2]);
        assert_eq!(items(&ql)[2], b"y");
        assert!(!ql.insert(4, b"z", true));
    }

    #[test]
    fn plain_nodes_hold_large_elements() {
        let big = [b'L'; 20];
        let mut ql = QuickList::with_packed_threshold(4, 16);
        ql.push_back(b"a");
        ql.push_back(&big);
        ql.push_back(b"b");
        ql.push_front(&big);
        assert_eq!(counts(&ql), [0, 1, 0, 1]);
        assert!(matches!(ql.nodes().next(), Some(NodeView::Plain(b)) if b == big));
        // Plain replaced by a small value: it goes into the next node, the plain node goes.
        assert!(ql.replace(2, b"c"));
        assert_eq!(counts(&ql), [0, 1, 2]);
        // A large value replacing a middle entry of a packed node splits it around a plain node.
        let mut ql = QuickList::with_packed_threshold(4, 16);
        for v in ["1", "2", "3", "4"] {
            ql.push_back(v.as_bytes());
        }
        assert!(ql.replace(1, &big));
        assert_eq!(counts(&ql), [1, 0, 2]);
        assert_eq!(ql.get(1), Some(LpEntry::Str(&big)));
        assert_eq!(ql.len(), 4);
        // ... and of the last entry: no split.
        assert!(ql.replace(3, &big));
        assert_eq!(counts(&ql), [1, 0, 1, 0]);
        // Plain by plain.
        assert!(ql.replace(1, &[b'M'; 30]));
        assert_eq!(ql.get(1).unwrap().byte_len(), 30);
        // Inserting a large value in the middle of a packed node splits it too.
        let mut ql = filled(4, 4);
        assert!(ql.insert(1, &big, false));
        assert_eq!(counts(&ql), [2, 3]);
        let mut ql = QuickList::with_packed_threshold(4, 16);
        for v in ["1", "2", "3", "4"] {
            ql.push_back(v.as_bytes());
        }
        assert!(ql.insert(2, &big, false));
        assert_eq!(counts(&ql), [2, 0, 2]);
        assert_eq!(ql.pop_front().unwrap(), b"1");
        assert!(ql.validate().is_ok());
        // Integer-looking plain elements keep their bytes.
        let mut ql = QuickList::with_packed_threshold(4, 1);
        ql.push_back(b"12");
        assert_eq!(ql.nodes().next(), Some(NodeView::Plain(b"12")));
        assert!(ql.insert_at_pivot(b"12", b"13", true));
        assert_eq!(items(&ql), [b"12".to_vec(), b"13".to_vec()]);
    }

    #[test]
    fn deletions_drop_empty_nodes_without_merging() {
        let mut ql = filled(3, 9);
        assert_eq!(ql.remove_range(2, 5), 5);
        assert_eq!(counts(&ql), [2, 2]);
        let mut ql = filled(3, 9);
        for i in [1, 4, 7] {
            ql.remove_range(i - (i / 3), 1);
        }
        assert_eq!(counts(&ql), [2, 2, 2]);
        let mut ql = QuickList::new(3);
        for v in ["a", "b", "a", "a", "c", "a", "a"] {
            ql.push_back(v.as_bytes());
        }
        assert_eq!(ql.remove_matching(b"a", -3), 3);
        assert_eq!(
            items(&ql),
            [b"a".to_vec(), b"b".to_vec(), b"a".to_vec(), b"c".to_vec()]
        );
        assert_eq!(counts(&ql), [3, 1]);
        assert_eq!(ql.remove_matching(b"a", 1), 1);
        assert_eq!(ql.remove_matching(b"a", 0), 1);
        assert_eq!(counts(&ql), [1, 1]);
        assert_eq!(ql.remove_matching(b"zzz", 0), 0);
        assert!(ql.validate().is_ok());
    }

    #[test]
    fn iterates_ranges_across_nodes() {
        let ql = filled(3, 10);
        let want = |a: usize, b: usize| {
            (a..b)
                .map(|i| format!("v{i}").into_bytes())
                .collect::<Vec<_>>()
        };
        for (a, b) in [(0, 10), (2, 8), (3, 6), (9, 10), (4, 4), (8, 20)] {
            let fwd: Vec<_> = ql.iter_range(a, b).map(|e| e.to_vec()).collect();
            assert_eq!(fwd, want(a, b.min(10).max(a)));
            let mut rev: Vec<_> = ql.iter_range(a, b).rev().map(|e| e.to_vec()).collect();
            rev.reverse();
            assert_eq!(rev, fwd);
        }
        let mut it = ql.iter();
        assert_eq!(it.next().unwrap().to_vec(), b"v0");
        assert_eq!(it.next_back().unwrap().to_vec(), b"v9");
        assert_eq!(it.len(), 8);
        assert_eq!(it.rev().count(), 8);
        assert_eq!(ql.get(7).unwrap().to_vec(), b"v7");
        assert_eq!(ql.get(10), None);
    }

    #[test]
    fn nodes_view_and_reload() {
        let mut ql = QuickList::with_packed_threshold(2, 10);
        for v in ["1", "two", "a long element", "3"] {
            ql.push_back(v.as_bytes());
        }
        let mut copy = QuickList::with_packed_threshold(2, 10);
        for n in ql.nodes() {
            match n {
                NodeView::Packed(lp) => copy.append_listpack(lp.clone()),
                NodeView::Plain(b) => copy.append_plain(b),
            }
        }
        assert_eq!(items(&copy), items(&ql));
        assert_eq!(counts(&copy), counts(&ql));
        assert!(copy.mem_bytes() > 0);
    }
}
