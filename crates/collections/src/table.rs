//! The keyspace table: an extendible-hashing directory of small hash segments.
//!
//! This is the interim table behind `DbSlice` (the Dash table replaces the segment internals later
//! behind the same API). What it already guarantees, and what the replacement must keep:
//! - growth splits one segment at a time, so no operation ever rehashes the whole table;
//! - a stateless, split-stable scan cursor: every key present for a whole scan is returned at least once.
//!
//! It must not know about expiry clocks, commands or shards: values are opaque `V`.
//!
//! ```text
//!   hash (64 bits, foldhash with a fixed seed)
//!   +--------+------------------------------------------------------+
//!   | 8 bits |  56-bit scan position p  (top bits select a segment)  |
//!   +--------+------------------------------------------------------+
//!
//!   directory (2^global_depth entries)        segments
//!   [0] ---------------------------------->  seg A (local depth 1: p = 0xxxx..)
//!   [1] --\
//!          >------------------------------>  seg B (local depth 2: p = 10xxx..)
//!   [2] --/   (with depth 2: [2] -> B, [3] -> C)
//!   [3] ---------------------------------->  seg C (local depth 2: p = 11xxx..)
//! ```
//! A segment owns the contiguous range of positions sharing its `local_depth` top bits, so a scan
//! cursor that is a position stays meaningful when segments split: keys at positions >= cursor are
//! still ahead of it. Segment selection uses the top bits of `p` while hashbrown inside a segment
//! uses the low bits and the top 7 bits of the hash, so the two never correlate.

use foldhash::fast::FixedState;
use hashbrown::HashTable;
use std::hash::BuildHasher;

/// Entries per segment before it splits. Small enough that a scan step over one segment is cheap.
const SEGMENT_MAX: usize = 896;
/// Bits of the hash used as the scan position.
pub const POS_BITS: u32 = 56;
/// One past the last scan position: a scan that reaches it is complete.
pub const POS_END: u64 = 1 << POS_BITS;
const SEED: u64 = 0x5eed_da47_e400_0001;

/// Hashes keys for the in-shard table (foldhash, fixed seed so cursors are stable for the process).
#[inline]
pub fn hash_key(key: &[u8]) -> u64 {
    FixedState::with_seed(SEED).hash_one(key)
}

#[inline]
fn pos_of(hash: u64) -> u64 {
    hash & (POS_END - 1)
}

struct Slot<V> {
    key: Box<[u8]>,
    val: V,
}

struct Segment<V> {
    depth: u32,
    map: HashTable<Slot<V>>,
}

/// A map from binary keys to `V` that grows one segment at a time.
pub struct Table<V> {
    dir: Vec<u32>,
    segs: Vec<Segment<V>>,
    global_depth: u32,
    len: usize,
}

impl<V> Default for Table<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V> Table<V> {
    pub fn new() -> Self {
        Table {
            dir: vec![0],
            segs: vec![Segment {
                depth: 0,
                map: HashTable::new(),
            }],
            global_depth: 0,
            len: 0,
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of segments (for INFO-style introspection and tests).
    pub fn segment_count(&self) -> usize {
        self.segs.len()
    }

    #[inline]
    fn dir_index(&self, pos: u64) -> usize {
        if self.global_depth == 0 {
            0
        } else {
            (pos >> (POS_BITS - self.global_depth)) as usize
        }
    }

    #[inline]
    fn seg_of(&self, hash: u64) -> usize {
        self.dir[self.dir_index(pos_of(hash))] as usize
    }

    #[inline]
    pub fn get(&self, key: &[u8]) -> Option<&V> {
        self.get_hashed(hash_key(key), key)
    }

    #[inline]
    pub fn get_hashed(&self, hash: u64, key: &[u8]) -> Option<&V> {
        let seg = &self.segs[self.seg_of(hash)];
        seg.map.find(hash, |s| &*s.key == key).map(|s| &s.val)
    }

    #[inline]
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        self.get_mut_hashed(hash_key(key), key)
    }

    #[inline]
    pub fn get_mut_hashed(&mut self, hash: u64, key: &[u8]) -> Option<&mut V> {
        let si = self.seg_of(hash);
        self.segs[si]
            .map
            .find_mut(hash, |s| &*s.key == key)
            .map(|s| &mut s.val)
    }

    /// Finds `key`; if `pred` says so, removes it and returns None, else returns it mutably.
    /// One probe for both decisions (used for lazy expiry).
    #[inline]
    pub fn get_mut_or_remove_if(
        &mut self,
        hash: u64,
        key: &[u8],
        pred: impl FnOnce(&V) -> bool,
    ) -> Option<&mut V> {
        let si = self.seg_of(hash);
        match self.segs[si].map.find_entry(hash, |s| &*s.key == key) {
            Ok(occ) => {
                if pred(&occ.get().val) {
                    occ.remove();
                    self.len -= 1;
                    None
                } else {
                    Some(&mut occ.into_mut().val)
                }
            }
            Err(_) => None,
        }
    }

    /// Inserts or replaces; returns the previous value.
    pub fn insert(&mut self, key: &[u8], val: V) -> Option<V> {
        self.insert_hashed(hash_key(key), key, val)
    }

    pub fn insert_hashed(&mut self, hash: u64, key: &[u8], val: V) -> Option<V> {
        let si = self.seg_of(hash);
        if let Some(slot) = self.segs[si].map.find_mut(hash, |s| &*s.key == key) {
            return Some(std::mem::replace(&mut slot.val, val));
        }
        self.insert_new_hashed(hash, key.into(), val);
        None
    }

    /// Inserts a key known to be absent.
    pub fn insert_new_hashed(&mut self, hash: u64, key: Box<[u8]>, val: V) {
        let mut si = self.seg_of(hash);
        if self.segs[si].map.len() >= SEGMENT_MAX {
            self.split(si);
            si = self.seg_of(hash);
        }
        self.segs[si]
            .map
            .insert_unique(hash, Slot { key, val }, |s| hash_key(&s.key));
        self.len += 1;
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<V> {
        self.remove_hashed(hash_key(key), key)
    }

    pub fn remove_hashed(&mut self, hash: u64, key: &[u8]) -> Option<V> {
        let si = self.seg_of(hash);
        match self.segs[si].map.find_entry(hash, |s| &*s.key == key) {
            Ok(e) => {
                self.len -= 1;
                Some(e.remove().0.val)
            }
            Err(_) => None,
        }
    }

    pub fn clear(&mut self) {
        *self = Table::new();
    }

    /// Splits segment `si` by the next position bit, doubling the directory when needed.
    fn split(&mut self, si: usize) {
        let depth = self.segs[si].depth;
        if depth == self.global_depth {
            // Double the directory: entry i becomes entries 2i and 2i+1.
            let mut dir = Vec::with_capacity(self.dir.len() * 2);
            for &s in &self.dir {
                dir.push(s);
                dir.push(s);
            }
            self.dir = dir;
            self.global_depth += 1;
        }
        let new_depth = depth + 1;
        let bit = 1u64 << (POS_BITS - new_depth);
        let old = std::mem::replace(&mut self.segs[si].map, HashTable::new());
        let mut low = HashTable::with_capacity(old.len());
        let mut high = HashTable::with_capacity(old.len());
        for slot in old {
            let h = hash_key(&slot.key);
            let target = if pos_of(h) & bit == 0 {
                &mut low
            } else {
                &mut high
            };
            target.insert_unique(h, slot, |s| hash_key(&s.key));
        }
        low.shrink_to_fit(|s| hash_key(&s.key));
        high.shrink_to_fit(|s| hash_key(&s.key));
        self.segs[si].map = low;
        self.segs[si].depth = new_depth;
        let ni = self.segs.len() as u32;
        self.segs.push(Segment {
            depth: new_depth,
            map: high,
        });
        // Directory entries that pointed at `si` and whose next bit is 1 now point at the new one.
        let span = 1usize << (self.global_depth - depth); // entries covering the old segment
        let start = self
            .dir
            .iter()
            .position(|&s| s as usize == si)
            .expect("segment is in the directory");
        for e in &mut self.dir[start + span / 2..start + span] {
            *e = ni;
        }
    }

    /// One scan step from `cursor` (a position, `0..POS_END`). Calls `f` for at least `count` keys
    /// (fewer only when the table ends) in position order, all keys sharing the last position
    /// included, and returns the next cursor (`POS_END` when done).
    pub fn scan(&self, mut cursor: u64, count: usize, mut f: impl FnMut(&[u8], &V)) -> u64 {
        let mut emitted = 0usize;
        let mut batch: Vec<(u64, &Slot<V>)> = Vec::new();
        while cursor < POS_END && emitted < count {
            let si = self.dir[self.dir_index(cursor)] as usize;
            let seg = &self.segs[si];
            let seg_end = if seg.depth == 0 {
                POS_END
            } else {
                let shift = POS_BITS - seg.depth;
                ((cursor >> shift) + 1) << shift
            };
            batch.clear();
            batch.extend(
                seg.map
                    .iter()
                    .map(|s| (pos_of(hash_key(&s.key)), s))
                    .filter(|(p, _)| *p >= cursor),
            );
            let want = count - emitted;
            if batch.len() > want {
                batch.select_nth_unstable_by_key(want - 1, |(p, _)| *p);
                let cut = batch[want - 1].0;
                batch.retain(|(p, _)| *p <= cut);
                batch.sort_unstable_by_key(|(p, _)| *p);
                for (_, s) in &batch {
                    f(&s.key, &s.val);
                }
                return cut + 1;
            }
            batch.sort_unstable_by_key(|(p, _)| *p);
            for (_, s) in &batch {
                f(&s.key, &s.val);
            }
            emitted += batch.len();
            cursor = seg_end;
        }
        cursor
    }

    /// Iterates every entry (order unspecified).
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &V)> {
        self.segs
            .iter()
            .flat_map(|s| s.map.iter().map(|s| (&*s.key, &s.val)))
    }

    /// Visits whole segments starting at `seg_cursor` until `budget` entries were looked at,
    /// removing those for which `remove` returns true and handing each removed pair to `removed`.
    /// Returns the next segment cursor (wrapping to 0). Used for active expiry within a CPU budget.
    pub fn sweep(
        &mut self,
        seg_cursor: usize,
        budget: usize,
        mut remove: impl FnMut(&[u8], &V) -> bool,
        mut removed: impl FnMut(Box<[u8]>, V),
    ) -> usize {
        let n = self.segs.len();
        let mut si = if seg_cursor >= n { 0 } else { seg_cursor };
        let mut visited = 0;
        let mut segs_done = 0;
        while visited < budget && segs_done < n {
            let seg = &mut self.segs[si];
            visited += seg.map.len().max(1);
            for slot in seg.map.extract_if(|s| remove(&s.key, &s.val)) {
                self.len -= 1;
                removed(slot.key, slot.val);
            }
            segs_done += 1;
            si = (si + 1) % n;
        }
        si
    }

    /// A pseudo-random entry: a random segment weighted by nothing, then a random slot in it.
    pub fn random(&self, mut rnd: impl FnMut(usize) -> usize) -> Option<(&[u8], &V)> {
        if self.len == 0 {
            return None;
        }
        for _ in 0..64 {
            let seg = &self.segs[rnd(self.segs.len())];
            if seg.map.is_empty() {
                continue;
            }
            let i = rnd(seg.map.len());
            return seg.map.iter().nth(i).map(|s| (&*s.key, &s.val));
        }
        self.iter().nth(rnd(self.len))
    }
}
