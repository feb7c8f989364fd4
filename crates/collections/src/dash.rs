//! The Dash table: the keyspace table (extendible hashing over fixed-size segments of small
//! fingerprinted buckets, after Lu et al., VLDB 2020, as Dragonfly uses it).
//!
//! `DashTable<T>` stores items that can show their key (`DashItem`): the keyspace stores the
//! 36-byte compact entries of `crate::compact` (key, value, deadline and access stamp inline in
//! the slot); tests and benches store `(Box<[u8]>, V)` pairs. Growth splits one segment at a
//! time, never a global rehash; a stateless scan cursor returns every key present for the whole
//! scan at least once, even across splits; items are stored inline in the buckets with 2.4 bytes
//! of metadata per slot. It must not know about expiry clocks, commands or shards: items are
//! opaque apart from their keys, and "dead" items are whatever the caller's predicate says.
//!
//! ```text
//!  hash (64 bits, crate::hash::hash_key)
//!  +-- global_depth bits --+---------------------+------- 32 bits --------+-- 8 bits --+
//!  | directory index       |        unused       | home bucket (x56 >> 32)| fingerprint|
//!  +-----------------------+---------------------+------------------------+------------+
//!   63                                            40                       8            0
//!
//!  directory (2^global_depth entries)            segments (each local_depth <= global_depth)
//!  [00] -------------------------------------->  seg 0  (local depth 1: prefix 0..)
//!  [01] ---------------------------------------/
//!  [10] -------------------------------------->  seg 1  (local depth 2: prefix 10..)
//!  [11] -------------------------------------->  seg 2  (local depth 2: prefix 11..)
//!
//!  one segment (840 slots, one allocation; all-zero bytes = empty)
//!  meta[60] x 24 B | versions[60] x 8 B | slots[60][14] x T | stash_home[4][14] | depth, len
//!
//!  regular buckets 0..56                                          stash buckets 56..60
//!  +--------+--------+--------+-- ... --+--------+               +--------+ ... +--------+
//!  | b0     | b1     | b2     |         | b55    |               | s0     |     | s3     |
//!  +--------+--------+--------+-- ... --+--------+               +--------+ ... +--------+
//!   home h -> neighbour h+1 (wraps 55 -> 0)     overflow from home + neighbour goes to stash
//!
//!  one bucket: 14 slots
//!  meta:  bits:u32 (busy 0..14 | probe 14..28 | record used 28..32) | fps[14] | stash_fps[4]
//!         | stash_pos (2 bits per record) | overflow:u8
//!         probe bit: the slot's item has its home in the previous bucket;
//!         stash records: fingerprint + which stash bucket holds an item whose home is this
//!         bucket; overflow: this bucket's stash items that found no free record
//!  slots: [ MaybeUninit<T> ; 14 ]   initialised iff the busy bit is set
//! ```
//!
//! Lookup: fingerprints of the home bucket's own slots, the neighbour's probing slots, then the
//! stash buckets named by matching records (all four if the home bucket has overflow). Insert:
//! the emptier of home and neighbour, else displace one item (a probing item of home back to its
//! own home, or an item of the neighbour onward to the neighbour's neighbour), else a stash
//! bucket. A segment full for a hash garbage-collects dead items (when the caller supplied a
//! predicate), moves stash items back to regular buckets, and then splits by the next hash bit,
//! doubling the directory if its local depth equals the global depth. See `docs/design/dash.md`.

mod segment;

use crate::hash::hash_key;
pub use segment::DashItem;
use segment::{Bits, Segment, BUCKETS, REGULAR, SEGMENT_SLOTS};

/// Bits of a scan cursor: the engine keeps the shard index above them.
pub const DASH_SCAN_BITS: u32 = 56;
/// The cursor `scan` returns when the scan is complete (above every cursor it returns otherwise).
pub const DASH_SCAN_END: u64 = 1 << DASH_SCAN_BITS;
/// A cursor's segment prefix is left-aligned to this many bits (bits 0..50; the logical bucket
/// is in bits 50..56).
const SCAN_SEG_BITS: u32 = 50;
const SCAN_SEG_MASK: u64 = (1 << SCAN_SEG_BITS) - 1;
/// Deepest directory allowed (2^32 entries would already be 16 GB of directory): a segment that
/// would split beyond it means 80+ keys share 32 hash bits and a bucket, i.e. a hash attack.
const MAX_DEPTH: u32 = 32;

/// Physical buckets per segment (56 regular + 4 stash).
pub const BUCKETS_PER_SEGMENT: usize = BUCKETS;
/// Item slots per segment.
pub const SLOTS_PER_SEGMENT: usize = SEGMENT_SLOTS;

/// One physical bucket: a segment (index as counted by `segment_count`, stable until `clear`) and
/// a bucket `0..BUCKETS_PER_SEGMENT` in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BucketId {
    pub segment: u32,
    pub bucket: u8,
}

/// Where a table's items sit (see `DashTable::placement`); the rest are in their home bucket.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Placement {
    /// Items in the bucket after their home (probing slots).
    pub in_neighbour: usize,
    /// Items in stash buckets.
    pub in_stash: usize,
    /// Stash items counted in their home's overflow (no fingerprint record).
    pub stash_unrecorded: usize,
}

/// A set of items keyed by their binary keys (`DashItem::key`), that grows one segment at a time.
/// See the module docs.
pub struct DashTable<T: DashItem> {
    /// Segment index per directory entry; empty until the first insert.
    dir: Vec<u32>,
    segs: Vec<Box<Segment<T>>>,
    global_depth: u32,
    len: usize,
}

impl<T: DashItem> Default for DashTable<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: DashItem> DashTable<T> {
    /// An empty table. It allocates nothing until the first insert.
    pub fn new() -> Self {
        DashTable {
            dir: Vec::new(),
            segs: Vec::new(),
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

    /// Item slots allocated (segments x 840): `len() / capacity()` is the load factor.
    pub fn capacity(&self) -> usize {
        self.segs.len() * SEGMENT_SLOTS
    }

    /// Bytes of one segment allocation (all its buckets, metadata and slots).
    pub const SEGMENT_BYTES: usize = std::mem::size_of::<Segment<T>>();

    /// Directory entries (`2^global_depth`, or 0 before the first insert).
    pub fn directory_len(&self) -> usize {
        self.dir.len()
    }

    /// Directory depth (for introspection and tests).
    pub fn global_depth(&self) -> u32 {
        self.global_depth
    }

    #[inline]
    fn dir_index(&self, hash: u64) -> usize {
        // The top `global_depth` bits; the split shift keeps depth 0 well-defined.
        ((hash >> 1) >> (63 - self.global_depth)) as usize
    }

    #[inline]
    fn seg_of(&self, hash: u64) -> Option<usize> {
        self.dir.get(self.dir_index(hash)).map(|&s| s as usize)
    }

    #[inline]
    pub fn get(&self, key: &[u8]) -> Option<&T> {
        self.get_hashed(hash_key(key), key)
    }

    /// Looks up `key`, whose hash must be `hash_key(key)` (as for every `*_hashed` method).
    #[inline]
    pub fn get_hashed(&self, hash: u64, key: &[u8]) -> Option<&T> {
        let seg = &self.segs[self.seg_of(hash)?];
        let (b, s) = seg.find(hash, key)?;
        Some(seg.get(b, s))
    }

    /// The item with `key`, mutably. The caller must not change the item's key.
    #[inline]
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut T> {
        self.get_mut_hashed(hash_key(key), key)
    }

    #[inline]
    pub fn get_mut_hashed(&mut self, hash: u64, key: &[u8]) -> Option<&mut T> {
        let si = self.seg_of(hash)?;
        let seg = &mut self.segs[si];
        let (b, s) = seg.find(hash, key)?;
        Some(seg.get_mut(b, s))
    }

    /// Finds `key`; if `pred` says so, removes it and returns None, else returns it mutably.
    /// One probe for both decisions (used for lazy expiry).
    #[inline]
    pub fn get_mut_or_remove_if(
        &mut self,
        hash: u64,
        key: &[u8],
        pred: impl FnOnce(&T) -> bool,
    ) -> Option<&mut T> {
        let si = self.seg_of(hash)?;
        let seg = &mut self.segs[si];
        let (b, s) = seg.find(hash, key)?;
        if pred(seg.get(b, s)) {
            let it = seg.remove_at(b, s);
            self.len -= 1;
            drop(it);
            None
        } else {
            Some(seg.get_mut(b, s))
        }
    }

    /// Inserts, or replaces the item with the same key; returns the previous item.
    pub fn insert(&mut self, item: T) -> Option<T> {
        self.insert_hashed(hash_key(item.key()), item)
    }

    /// `insert` with the key's hash (`hash_key(item.key())`) already computed.
    pub fn insert_hashed(&mut self, hash: u64, item: T) -> Option<T> {
        if let Some(v) = self.get_mut_hashed(hash, item.key()) {
            return Some(std::mem::replace(v, item));
        }
        self.insert_new_hashed(hash, item);
        None
    }

    /// Inserts an item whose key is known to be absent.
    pub fn insert_new_hashed(&mut self, hash: u64, item: T) {
        self.insert_new_inner(hash, item, None::<(&mut fn(&T) -> bool, &mut fn(T))>);
    }

    /// Inserts or replaces like `insert_hashed`; when the new key's segment is full, first
    /// removes the items of the buckets it could use for which `dead` returns true (expired
    /// keys), handing each to `on_dead`, and splits only if that freed no room.
    pub fn insert_with_gc(
        &mut self,
        hash: u64,
        item: T,
        dead: impl FnMut(&T) -> bool,
        on_dead: impl FnMut(T),
    ) -> Option<T> {
        if let Some(v) = self.get_mut_hashed(hash, item.key()) {
            return Some(std::mem::replace(v, item));
        }
        self.insert_new_with_gc(hash, item, dead, on_dead);
        None
    }

    /// `insert_new_hashed` with garbage collection before a split (see `insert_with_gc`).
    pub fn insert_new_with_gc(
        &mut self,
        hash: u64,
        item: T,
        mut dead: impl FnMut(&T) -> bool,
        mut on_dead: impl FnMut(T),
    ) {
        self.insert_new_inner(hash, item, Some((&mut dead, &mut on_dead)));
    }

    fn insert_new_inner<D, O>(&mut self, hash: u64, mut item: T, mut gc: Option<(&mut D, &mut O)>)
    where
        D: FnMut(&T) -> bool,
        O: FnMut(T),
    {
        if self.dir.is_empty() {
            self.dir.push(0);
            self.segs.push(Segment::new_boxed(0));
        }
        let mut unloaded = false;
        loop {
            let si = self.dir[self.dir_index(hash)] as usize;
            let seg = &mut self.segs[si];
            item = match seg.try_insert(hash, item) {
                Ok(_) => {
                    self.len += 1;
                    return;
                }
                Err(item) => item,
            };
            if let Some((dead, on_dead)) = gc.take() {
                if seg.gc_hot(hash, &mut self.len, dead, on_dead) > 0 {
                    continue;
                }
            }
            if !unloaded {
                unloaded = true;
                if seg.unload_stash() {
                    continue;
                }
            }
            self.split(si, hash);
        }
    }

    /// Splits segment `si` (which holds `hash`) by the next hash bit, doubling the directory
    /// when its local depth equals the global depth. Only this segment's items move.
    fn split(&mut self, si: usize, hash: u64) {
        let depth = self.segs[si].local_depth;
        assert!(
            depth < MAX_DEPTH,
            "dash: segment cannot split past depth {MAX_DEPTH} (hash collisions)"
        );
        if depth == self.global_depth {
            let mut dir = Vec::with_capacity(self.dir.len() * 2);
            for &s in &self.dir {
                dir.push(s);
                dir.push(s);
            }
            self.dir = dir;
            self.global_depth += 1;
        }
        let mut high = Segment::new_boxed(depth + 1);
        let low = &mut self.segs[si];
        low.local_depth = depth + 1;
        low.split_into(&mut high, 63 - depth);
        low.unload_stash();
        high.unload_stash();
        let ni = u32::try_from(self.segs.len()).expect("dash: too many segments");
        self.segs.push(high);
        // The old segment covered `span` aligned directory entries; the upper half moves.
        let span = 1usize << (self.global_depth - depth);
        let start = self.dir_index(hash) & !(span - 1);
        for e in &mut self.dir[start + span / 2..start + span] {
            *e = ni;
        }
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<T> {
        self.remove_hashed(hash_key(key), key)
    }

    pub fn remove_hashed(&mut self, hash: u64, key: &[u8]) -> Option<T> {
        let si = self.seg_of(hash)?;
        let seg = &mut self.segs[si];
        let (b, s) = seg.find(hash, key)?;
        let it = seg.remove_at(b, s);
        self.len -= 1;
        Some(it)
    }

    /// Drops every item and frees every segment.
    pub fn clear(&mut self) {
        // Reset the counts first: if a value's destructor panics, the table is already empty
        // and the other items are still dropped, each once (as `Vec` does).
        let segs = std::mem::take(&mut self.segs);
        *self = DashTable::new();
        drop(segs);
    }

    /// One scan step from `cursor` (0 to start). Calls `f` for the items of whole (logical
    /// bucket, segment) units until at least `count` keys were visited (at least one unit is
    /// visited even for `count == 0`) or the table ends, and returns the next cursor, or
    /// `DASH_SCAN_END` when the scan is complete.
    ///
    /// Cursor (below `DASH_SCAN_END`): bits 50..56 the logical bucket `0..56`, bits 0..50 the
    /// directory index left-aligned to 50 bits. Units are visited in increasing cursor order.
    /// A split keeps every item in its logical bucket and moves it only to the buddy segment,
    /// whose directory range is above the split segment's start, so a key present for the whole
    /// scan is returned at least once (and exactly once if nothing changed). Any cursor value is
    /// safe to pass; one at or above `DASH_SCAN_END`, or with a bucket field past 55, ends.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&T)) -> u64 {
        let mut bucket = (cursor >> SCAN_SEG_BITS) as usize;
        if cursor >= DASH_SCAN_END || bucket >= REGULAR || self.dir.is_empty() {
            return DASH_SCAN_END;
        }
        let gd = self.global_depth;
        let mut index = ((cursor & SCAN_SEG_MASK) >> (SCAN_SEG_BITS - gd)) as usize;
        let mut emitted = 0;
        loop {
            let seg = &self.segs[self.dir[index] as usize];
            let span = 1usize << (gd - seg.local_depth);
            emitted += seg.for_each_home(bucket, &mut f);
            index = (index & !(span - 1)) + span;
            if index == self.dir.len() {
                index = 0;
                bucket += 1;
                if bucket == REGULAR {
                    return DASH_SCAN_END;
                }
            }
            if emitted >= count {
                return ((bucket as u64) << SCAN_SEG_BITS)
                    | ((index as u64) << (SCAN_SEG_BITS - gd));
            }
        }
    }

    /// Iterates every entry (order unspecified).
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        Iter {
            segs: &self.segs,
            seg: 0,
            next_bucket: 0,
            bucket: 0,
            mask: 0,
        }
    }

    /// Visits whole segments starting at `seg_cursor` until `budget` entries were looked at,
    /// removing those for which `remove` returns true and handing each removed pair to `removed`.
    /// Returns the next segment cursor (wrapping to 0). Used for active expiry within a CPU budget.
    pub fn sweep(
        &mut self,
        seg_cursor: usize,
        budget: usize,
        mut remove: impl FnMut(&T) -> bool,
        mut removed: impl FnMut(T),
    ) -> usize {
        let n = self.segs.len();
        let mut si = if seg_cursor >= n { 0 } else { seg_cursor };
        let mut visited = 0;
        let mut segs_done = 0;
        while visited < budget && segs_done < n {
            let seg = &mut self.segs[si];
            visited += seg.len().max(1);
            seg.remove_where(&mut self.len, &mut remove, &mut removed);
            segs_done += 1;
            si = (si + 1) % n;
        }
        si
    }

    /// A pseudo-random entry: a random segment, then the first busy bucket from a random one, then
    /// a random slot in it. `rnd(n)` must return a value in `0..n`.
    pub fn random(&self, mut rnd: impl FnMut(usize) -> usize) -> Option<&T> {
        if self.len == 0 {
            return None;
        }
        for _ in 0..64 {
            let seg = &self.segs[rnd(self.segs.len())];
            if seg.len() == 0 {
                continue;
            }
            let start = rnd(BUCKETS);
            for i in 0..BUCKETS {
                let b = (start + i) % BUCKETS;
                let busy = seg.busy(b);
                if busy != 0 {
                    let k = rnd(busy.count_ones() as usize);
                    let s = Bits(busy).nth(k).expect("k < popcount");
                    return Some(seg.get(b, s));
                }
            }
        }
        self.iter().nth(rnd(self.len))
    }

    /// Where `key` is stored now (moves on inserts, removals and splits).
    pub fn bucket_of(&self, hash: u64, key: &[u8]) -> Option<BucketId> {
        let si = self.seg_of(hash)?;
        let (b, _) = self.segs[si].find(hash, key)?;
        Some(BucketId {
            segment: si as u32,
            bucket: b as u8,
        })
    }

    /// Physical buckets (`segment_count() * BUCKETS_PER_SEGMENT`); `BucketId`s are dense in it.
    pub fn bucket_count(&self) -> usize {
        self.segs.len() * BUCKETS
    }

    /// A bucket's version (0 until set). Versions only ever change through `set_bucket_version`
    /// and `bump_bucket_version`, except that an item moved inside a segment raises the
    /// destination's version to at least the source's, and a split copies versions to the new
    /// segment. Panics on an id out of range.
    pub fn bucket_version(&self, id: BucketId) -> u64 {
        self.segs[id.segment as usize].version(usize::from(id.bucket))
    }

    pub fn set_bucket_version(&mut self, id: BucketId, version: u64) {
        self.segs[id.segment as usize].set_version(usize::from(id.bucket), version);
    }

    /// Raises a bucket's version to at least `version`; returns the previous one.
    pub fn bump_bucket_version(&mut self, id: BucketId, version: u64) -> u64 {
        let seg = &mut self.segs[id.segment as usize];
        let b = usize::from(id.bucket);
        let old = seg.version(b);
        seg.set_version(b, old.max(version));
        old
    }

    /// The items physically in one bucket (for serializing a bucket).
    pub fn bucket_entries(&self, id: BucketId) -> impl Iterator<Item = &T> {
        let seg = &self.segs[id.segment as usize];
        let b = usize::from(id.bucket);
        Bits(seg.busy(b)).map(move |s| seg.get(b, s))
    }

    /// Where items sit, for introspection and tests: O(segments).
    pub fn placement(&self) -> Placement {
        let mut p = Placement::default();
        for seg in &self.segs {
            let (probing, stashed, overflow) = seg.placement();
            p.in_neighbour += probing;
            p.in_stash += stashed;
            p.stash_unrecorded += overflow;
        }
        p
    }

    /// Checks every structural invariant of every segment and the directory; panics naming the
    /// broken one. O(n) with a rehash per item: for tests.
    #[doc(hidden)]
    pub fn check_invariants(&self) {
        assert_eq!(
            self.dir.len(),
            if self.segs.is_empty() {
                0
            } else {
                1 << self.global_depth
            }
        );
        let mut total = 0;
        for (si, seg) in self.segs.iter().enumerate() {
            seg.check_invariants();
            total += seg.len();
            assert!(seg.local_depth <= self.global_depth);
            let span = 1usize << (self.global_depth - seg.local_depth);
            let entries: Vec<usize> = (0..self.dir.len())
                .filter(|&i| self.dir[i] as usize == si)
                .collect();
            assert_eq!(entries.len(), span, "segment {si} directory span");
            assert_eq!(entries[0] % span, 0, "segment {si} range aligned");
            assert_eq!(
                entries[span - 1],
                entries[0] + span - 1,
                "segment {si} range contiguous"
            );
            for b in 0..BUCKETS {
                for s in Bits(seg.busy(b)) {
                    let h = hash_key(seg.get(b, s).key());
                    assert_eq!(
                        self.dir[self.dir_index(h)] as usize,
                        si,
                        "item in the wrong segment"
                    );
                }
            }
        }
        assert_eq!(total, self.len, "table count");
    }
}

struct Iter<'a, T: DashItem> {
    segs: &'a [Box<Segment<T>>],
    seg: usize,
    next_bucket: usize,
    bucket: usize,
    mask: u16,
}

impl<'a, T: DashItem> Iterator for Iter<'a, T> {
    type Item = &'a T;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.mask != 0 {
                let s = self.mask.trailing_zeros() as usize;
                self.mask &= self.mask - 1;
                return Some(self.segs[self.seg].get(self.bucket, s));
            }
            if self.next_bucket == BUCKETS {
                self.next_bucket = 0;
                self.seg += 1;
            }
            let seg = self.segs.get(self.seg)?;
            self.bucket = self.next_bucket;
            self.mask = seg.busy(self.bucket);
            self.next_bucket += 1;
        }
    }
}
