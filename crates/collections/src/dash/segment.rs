//! One Dash segment: 56 regular + 4 stash buckets of 14 slots, each with fingerprints, stash
//! records and a version next to its slots. This is the only place in the table that touches uninitialised
//! memory; everything above it (directory, scan, API) is safe code.
//!
//! It must not know about directories, cursors or callers' values: it places, finds and moves
//! `(key, value)` pairs inside one fixed block, and reports "full" instead of growing.
//!
//! The busy bitmap is the single source of truth for which slots hold a live item: a slot is read,
//! borrowed, moved out or dropped only while its busy bit is set, and its busy bit is cleared in
//! the same step that moves the item out, so an item can never be dropped twice.

use crate::hash::hash_key;
use std::alloc::{alloc_zeroed, handle_alloc_error, Layout};
use std::mem::MaybeUninit;

/// Slots per bucket.
pub(crate) const SLOTS: usize = 14;
/// Regular (addressable) buckets per segment.
pub(crate) const REGULAR: usize = 56;
/// Stash buckets per segment.
pub(crate) const STASH: usize = 4;
/// All buckets of a segment: regular `0..56`, stash `56..60`.
pub(crate) const BUCKETS: usize = REGULAR + STASH;
/// Slots per segment.
pub(crate) const SEGMENT_SLOTS: usize = BUCKETS * SLOTS;
const ALL: u16 = (1 << SLOTS) - 1;

/// What a table stores: an item that can show its key (the table hashes and compares it, and
/// never looks at anything else). The key must not change while the item is in a table.
pub trait DashItem {
    fn key(&self) -> &[u8];
}

/// The plain pairing of an owned key and a value (tests, benches, simple tables).
impl<V> DashItem for (Box<[u8]>, V) {
    #[inline]
    fn key(&self) -> &[u8] {
        &self.0
    }
}

/// The one-byte fingerprint: the low 8 bits of the hash (not used by bucket or directory).
#[inline]
pub(crate) fn fp_of(hash: u64) -> u8 {
    hash as u8
}

/// The home (logical) bucket, `0..56`, from hash bits 8..40 by multiply-shift. It does not depend
/// on the segment, so a split never changes an item's logical bucket.
#[inline]
pub(crate) fn home_of(hash: u64) -> usize {
    ((u64::from((hash >> 8) as u32) * REGULAR as u64) >> 32) as usize
}

/// The neighbour of a regular bucket (wraps from the last to the first).
#[inline]
pub(crate) fn next(b: usize) -> usize {
    if b + 1 == REGULAR {
        0
    } else {
        b + 1
    }
}

#[inline]
fn prev(b: usize) -> usize {
    if b == 0 {
        REGULAR - 1
    } else {
        b - 1
    }
}

/// First stash bucket tried for an item (bits 40..42: independent of fingerprint and home).
#[inline]
fn stash_start(hash: u64) -> usize {
    (hash >> 40) as usize & (STASH - 1)
}

/// Set bits of a slot mask, lowest first.
#[derive(Clone, Copy)]
pub(crate) struct Bits(pub(crate) u16);

impl Iterator for Bits {
    type Item = usize;
    #[inline]
    fn next(&mut self) -> Option<usize> {
        if self.0 == 0 {
            return None;
        }
        let i = self.0.trailing_zeros() as usize;
        self.0 &= self.0 - 1;
        Some(i)
    }
}

#[inline]
fn first(mask: u16) -> Option<usize> {
    (mask != 0).then(|| mask.trailing_zeros() as usize)
}

#[inline]
fn splat(b: u8) -> u64 {
    u64::from(b) * 0x0101_0101_0101_0101
}

/// One bit per zero byte of `x` (bit i for byte i, little-endian), exact (no false positives
/// from borrows: the high bit is tested separately from the low seven).
#[inline]
fn zero_bytes(x: u64) -> u16 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    // High bit of each byte set iff the byte is zero.
    let t = !(((x & LOW7) + LOW7) | x | LOW7);
    // Gather bit 8i+7 into bit 56+i; the cross products land on distinct bits outside 56..64.
    ((t >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u16
}

/// Bucket metadata: 24 bytes, right before the bucket's version and slots.
///
/// The stash fields describe items whose home is *this* bucket but which live in a stash bucket:
/// up to four records (fingerprint + which stash bucket), and `overflow` counting those that
/// found no free record (a lookup of this home then scans all four stash buckets).
#[derive(Clone, Copy)]
#[repr(C)]
struct Meta {
    /// Bits 0..14: busy; 14..28: probe (the slot's item has its home in the previous bucket);
    /// 28..32: stash record in use.
    bits: u32,
    fps: [u8; SLOTS],
    stash_fps: [u8; STASH],
    /// Two bits per stash record: the stash bucket (0..4) holding the item.
    stash_pos: u8,
    overflow: u8,
}

const _: () = assert!(std::mem::size_of::<Meta>() == 24);

const PROBE_SHIFT: u32 = 14;
const USED_SHIFT: u32 = 28;

impl Meta {
    #[inline]
    fn busy(&self) -> u16 {
        (self.bits as u16) & ALL
    }

    #[inline]
    fn probe(&self) -> u16 {
        ((self.bits >> PROBE_SHIFT) as u16) & ALL
    }

    #[inline]
    fn free(&self) -> u16 {
        !self.busy() & ALL
    }

    #[inline]
    fn stash_used(&self) -> u8 {
        (self.bits >> USED_SHIFT) as u8
    }

    /// Busy slots whose fingerprint is `fp`: SWAR over the 14 fingerprint bytes (two words).
    #[inline]
    fn matches(&self, fp: u8) -> u16 {
        let mut hi = [0u8; 8];
        hi[..SLOTS - 8].copy_from_slice(&self.fps[8..]);
        let lo = u64::from_le_bytes(self.fps[..8].try_into().expect("8 bytes"));
        let m = zero_bytes(lo ^ splat(fp)) | zero_bytes(u64::from_le_bytes(hi) ^ splat(fp)) << 8;
        m & self.busy()
    }

    #[inline]
    fn occupy(&mut self, s: usize, fp: u8, probe: bool) {
        self.bits |= 1 << s;
        if probe {
            self.bits |= 1 << (PROBE_SHIFT as usize + s);
        } else {
            self.bits &= !(1 << (PROBE_SHIFT as usize + s));
        }
        self.fps[s] = fp;
    }

    #[inline]
    fn vacate(&mut self, s: usize) {
        self.bits &= !((1 << s) | (1 << (PROBE_SHIFT as usize + s)));
    }

    /// Stash buckets (a 4-bit mask) recorded for fingerprint `fp`.
    #[inline]
    fn stash_targets(&self, fp: u8) -> u8 {
        let used = self.stash_used();
        let mut mask = 0u8;
        for i in Bits(u16::from(used)) {
            if self.stash_fps[i] == fp {
                mask |= 1 << ((self.stash_pos >> (2 * i)) & 3);
            }
        }
        mask
    }

    fn record(&mut self, fp: u8, pos: usize) -> bool {
        let free = !self.stash_used() & 0x0f;
        if free == 0 {
            return false;
        }
        let i = free.trailing_zeros() as usize;
        self.stash_fps[i] = fp;
        self.bits |= 1 << (USED_SHIFT as usize + i);
        self.stash_pos = (self.stash_pos & !(3 << (2 * i))) | ((pos as u8) << (2 * i));
        true
    }

    fn unrecord(&mut self, fp: u8, pos: usize) -> bool {
        for i in Bits(u16::from(self.stash_used())) {
            if self.stash_fps[i] == fp && usize::from((self.stash_pos >> (2 * i)) & 3) == pos {
                self.bits &= !(1 << (USED_SHIFT as usize + i));
                return true;
            }
        }
        false
    }
}

/// One segment. Allocated zeroed (all-zero is the valid empty state) and boxed, never moved.
///
/// Metadata is kept apart from the slots (1,440 contiguous bytes per segment): a miss touches
/// one or two metadata lines and no slot, and the metadata of a whole table stays compact in
/// cache. (Measured against metadata-next-to-slots: misses and inserts faster, hits slower.)
pub(crate) struct Segment<T: DashItem> {
    meta: [Meta; BUCKETS],
    versions: [u64; BUCKETS],
    slots: [[MaybeUninit<T>; SLOTS]; BUCKETS],
    /// For each stash slot, the home bucket of the item in it.
    stash_home: [[u8; SLOTS]; STASH],
    pub(crate) local_depth: u32,
    len: u32,
}

impl<T: DashItem> Segment<T> {
    pub(crate) fn new_boxed(local_depth: u32) -> Box<Segment<T>> {
        let layout = Layout::new::<Segment<T>>();
        // SAFETY: the layout is non-zero-sized (the metadata alone is > 1.4 KB). Every field of
        // `Segment` is valid when all bytes are zero: integers and integer arrays, and
        // `MaybeUninit` slots, which are never read while their busy bit (zero here) is clear.
        // The pointer comes from the global allocator with `Segment`'s layout, as `Box` requires.
        let mut seg = unsafe {
            let p = alloc_zeroed(layout) as *mut Segment<T>;
            if p.is_null() {
                handle_alloc_error(layout);
            }
            Box::from_raw(p)
        };
        seg.local_depth = local_depth;
        seg
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }

    /// Busy-slot mask of bucket `b`.
    #[inline]
    pub(crate) fn busy(&self, b: usize) -> u16 {
        self.meta[b].busy()
    }

    #[inline]
    fn meta(&self, b: usize) -> &Meta {
        &self.meta[b]
    }

    /// The item in a busy slot. Panics if the slot is free.
    #[inline]
    pub(crate) fn get(&self, b: usize, s: usize) -> &T {
        assert!(
            self.meta[b].bits & (1 << s) != 0,
            "dash: read of a free slot"
        );
        // SAFETY: the busy bit is set, so the slot was written by `put` and not moved out since.
        unsafe { self.slots[b][s].assume_init_ref() }
    }

    /// The item in a busy slot, mutably. Panics if the slot is free.
    #[inline]
    pub(crate) fn get_mut(&mut self, b: usize, s: usize) -> &mut T {
        assert!(
            self.meta[b].bits & (1 << s) != 0,
            "dash: write to a free slot"
        );
        // SAFETY: as in `get`; `&mut self` makes the borrow unique.
        unsafe { self.slots[b][s].assume_init_mut() }
    }

    /// Writes `item` into a free slot and marks it busy. Panics if the slot is busy (that would
    /// leak the old item, never double-drop it, but it is always a bug).
    #[inline]
    fn put(&mut self, b: usize, s: usize, fp: u8, probe: bool, item: T) {
        let m = &mut self.meta[b];
        assert!(m.bits & (1 << s) == 0, "dash: write over a busy slot");
        m.occupy(s, fp, probe);
        self.slots[b][s].write(item);
    }

    /// Moves the item out of a busy slot and marks it free. Panics if the slot is free.
    #[inline]
    fn take(&mut self, b: usize, s: usize) -> T {
        let m = &mut self.meta[b];
        assert!(m.bits & (1 << s) != 0, "dash: take from a free slot");
        m.vacate(s);
        // SAFETY: the busy bit was set, so the slot holds an initialised item; it is cleared
        // above, so nothing reads or drops this copy again.
        unsafe { self.slots[b][s].assume_init_read() }
    }

    /// Records a stash item (home `h`, stash bucket `pos`) in `h`, or counts it in `h`'s
    /// overflow when `h` has no free record.
    fn record_stash(&mut self, h: usize, fp: u8, pos: usize) {
        let m = &mut self.meta[h];
        if !m.record(fp, pos) {
            m.overflow += 1;
        }
    }

    fn unrecord_stash(&mut self, h: usize, fp: u8, pos: usize) {
        let m = &mut self.meta[h];
        if !m.unrecord(fp, pos) {
            debug_assert!(m.overflow > 0, "dash: stash record lost");
            m.overflow -= 1;
        }
    }

    /// Places an item and keeps the stash records and the count in step.
    fn insert_at(&mut self, b: usize, s: usize, fp: u8, probe: bool, home: usize, item: T) {
        self.put(b, s, fp, probe, item);
        if b >= REGULAR {
            self.stash_home[b - REGULAR][s] = home as u8;
            self.record_stash(home, fp, b - REGULAR);
        }
        self.len += 1;
    }

    /// Removes the item in a busy slot, keeping the stash records and the count in step.
    pub(crate) fn remove_at(&mut self, b: usize, s: usize) -> T {
        let item = self.take(b, s);
        if b >= REGULAR {
            let home = usize::from(self.stash_home[b - REGULAR][s]);
            self.unrecord_stash(home, self.meta[b].fps[s], b - REGULAR);
        }
        self.len -= 1;
        item
    }

    /// The home bucket of the item in a busy slot, from metadata alone (no rehash).
    #[inline]
    fn home_at(&self, b: usize, s: usize) -> usize {
        if b >= REGULAR {
            usize::from(self.stash_home[b - REGULAR][s])
        } else if self.meta(b).probe() & (1 << s) != 0 {
            prev(b)
        } else {
            b
        }
    }

    /// Moves an item inside the segment; the destination bucket's version becomes at least the
    /// source's, so a bucket never looks older than an item it received.
    fn relocate(&mut self, from: (usize, usize), to: (usize, usize), probe: bool) {
        let home = self.home_at(from.0, from.1);
        let fp = self.meta(from.0).fps[from.1];
        let item = self.remove_at(from.0, from.1);
        self.insert_at(to.0, to.1, fp, probe, home, item);
        self.versions[to.0] = self.versions[to.0].max(self.versions[from.0]);
    }

    /// Finds `key` (whose hash is `hash`): home bucket, neighbour's probing slots, then the stash
    /// buckets named by the home bucket's records (all four when it overflowed).
    #[inline]
    pub(crate) fn find(&self, hash: u64, key: &[u8]) -> Option<(usize, usize)> {
        let fp = fp_of(hash);
        let h = home_of(hash);
        let n = next(h);
        let mh = self.meta(h);
        for s in Bits(mh.matches(fp) & !mh.probe()) {
            if self.get(h, s).key() == key {
                return Some((h, s));
            }
        }
        let mn = self.meta(n);
        for s in Bits(mn.matches(fp) & mn.probe()) {
            if self.get(n, s).key() == key {
                return Some((n, s));
            }
        }
        let stash = if mh.overflow > 0 {
            (1u8 << STASH) - 1
        } else {
            mh.stash_targets(fp)
        };
        for sb in Bits(u16::from(stash)) {
            let b = REGULAR + sb;
            for s in Bits(self.meta(b).matches(fp)) {
                if self.get(b, s).key() == key {
                    return Some((b, s));
                }
            }
        }
        None
    }

    /// Places a new item (its key absent from the segment): the emptier of home and neighbour
    /// (home on a tie), else by displacing one item to make room in home or neighbour, else a
    /// stash bucket. Gives the item back when the segment is full for this hash.
    pub(crate) fn try_insert(&mut self, hash: u64, item: T) -> Result<(usize, usize), T> {
        let fp = fp_of(hash);
        let h = home_of(hash);
        let n = next(h);
        let fh = self.meta(h).free();
        let fnb = self.meta(n).free();
        if fh != 0 && fh.count_ones() >= fnb.count_ones() {
            let s = fh.trailing_zeros() as usize;
            self.insert_at(h, s, fp, false, h, item);
            return Ok((h, s));
        }
        if let Some(s) = first(fnb) {
            self.insert_at(n, s, fp, true, h, item);
            return Ok((n, s));
        }
        // Displacement: a probing item in the home bucket goes back to its own home...
        let p = prev(h);
        if let (Some(s), Some(t)) = (
            first(self.meta(h).busy() & self.meta(h).probe()),
            first(self.meta(p).free()),
        ) {
            self.relocate((h, s), (p, t), false);
            self.insert_at(h, s, fp, false, h, item);
            return Ok((h, s));
        }
        // ...or an item at home in the neighbour moves on to the neighbour's neighbour.
        let nn = next(n);
        if let (Some(s), Some(t)) = (
            first(self.meta(n).busy() & !self.meta(n).probe()),
            first(self.meta(nn).free()),
        ) {
            self.relocate((n, s), (nn, t), true);
            self.insert_at(n, s, fp, true, h, item);
            return Ok((n, s));
        }
        let start = stash_start(hash);
        for i in 0..STASH {
            let b = REGULAR + ((start + i) & (STASH - 1));
            if let Some(s) = first(self.meta(b).free()) {
                self.insert_at(b, s, fp, false, h, item);
                return Ok((b, s));
            }
        }
        Err(item)
    }

    /// Moves stash items back to free slots of their home or neighbour bucket. Returns true when
    /// at least one moved.
    pub(crate) fn unload_stash(&mut self) -> bool {
        let mut moved = false;
        for b in REGULAR..BUCKETS {
            for s in Bits(self.busy(b)) {
                let h = self.home_at(b, s);
                if let Some(t) = first(self.meta(h).free()) {
                    self.relocate((b, s), (h, t), false);
                    moved = true;
                } else if let Some(t) = first(self.meta(next(h)).free()) {
                    self.relocate((b, s), (next(h), t), true);
                    moved = true;
                }
            }
        }
        moved
    }

    /// Removes the items of bucket `b` for which `dead` returns true, handing each to `on_dead`.
    /// `len` (the table's count) is decremented before `on_dead` runs, so a panicking callback
    /// leaves every count consistent (the item is then dropped by the unwind, once).
    fn remove_where_in(
        &mut self,
        b: usize,
        len: &mut usize,
        dead: &mut impl FnMut(&T) -> bool,
        on_dead: &mut impl FnMut(T),
    ) -> usize {
        let mut n = 0;
        for s in Bits(self.busy(b)) {
            if dead(self.get(b, s)) {
                let it = self.remove_at(b, s);
                *len -= 1;
                n += 1;
                on_dead(it);
            }
        }
        n
    }

    /// Garbage-collects the buckets an insert of `hash` can use or displace into (previous,
    /// home, neighbour, neighbour's neighbour, and the stash). Returns how many were removed.
    pub(crate) fn gc_hot(
        &mut self,
        hash: u64,
        len: &mut usize,
        dead: &mut impl FnMut(&T) -> bool,
        on_dead: &mut impl FnMut(T),
    ) -> usize {
        let h = home_of(hash);
        let mut n = 0;
        for b in [prev(h), h, next(h), next(next(h))] {
            n += self.remove_where_in(b, len, dead, on_dead);
        }
        for b in REGULAR..BUCKETS {
            n += self.remove_where_in(b, len, dead, on_dead);
        }
        n
    }

    /// Removes every item for which `dead` returns true (active expiry over a whole segment).
    pub(crate) fn remove_where(
        &mut self,
        len: &mut usize,
        dead: &mut impl FnMut(&T) -> bool,
        on_dead: &mut impl FnMut(T),
    ) -> usize {
        let mut n = 0;
        for b in 0..BUCKETS {
            n += self.remove_where_in(b, len, dead, on_dead);
        }
        n
    }

    /// Splits by hash bit `bit` (counted from the least significant): items with that bit set
    /// move to `other` (a fresh segment), each into the same bucket and slot it had here, so the
    /// move can never fail. Versions are copied, so both halves look at least as new as before.
    pub(crate) fn split_into(&mut self, other: &mut Segment<T>, bit: u32) {
        debug_assert_eq!(other.len, 0);
        other.versions = self.versions;
        for b in 0..BUCKETS {
            for s in Bits(self.busy(b)) {
                if (hash_key(self.get(b, s).key()) >> bit) & 1 == 0 {
                    continue;
                }
                let home = self.home_at(b, s);
                let fp = self.meta(b).fps[s];
                let probe = self.meta(b).probe() & (1 << s) != 0;
                let item = self.remove_at(b, s);
                other.insert_at(b, s, fp, probe, home, item);
            }
        }
    }

    /// Calls `f` for every item whose home (logical bucket) is `b`, wherever it sits: `b`'s own
    /// slots, the neighbour's probing slots, and the stash. Returns how many.
    pub(crate) fn for_each_home(&self, b: usize, f: &mut impl FnMut(&T)) -> usize {
        let mut count = 0;
        let mut emit = |it: &T| {
            f(it);
            count += 1;
        };
        let mb = self.meta(b);
        for s in Bits(mb.busy() & !mb.probe()) {
            emit(self.get(b, s));
        }
        let n = next(b);
        let mn = self.meta(n);
        for s in Bits(mn.busy() & mn.probe()) {
            emit(self.get(n, s));
        }
        // Every stash item of home `b` is either recorded in `b` or counted in its overflow;
        // with neither, none exists.
        if mb.overflow > 0 || mb.stash_used() != 0 {
            for sb in 0..STASH {
                for s in Bits(self.busy(REGULAR + sb)) {
                    if usize::from(self.stash_home[sb][s]) == b {
                        emit(self.get(REGULAR + sb, s));
                    }
                }
            }
        }
        count
    }

    /// (items in neighbour buckets, items in stash buckets, stash items without a record).
    pub(crate) fn placement(&self) -> (usize, usize, usize) {
        let probing = (0..REGULAR)
            .map(|b| self.meta(b).probe().count_ones() as usize)
            .sum();
        let stashed = (REGULAR..BUCKETS)
            .map(|b| self.busy(b).count_ones() as usize)
            .sum();
        let overflow = (0..REGULAR)
            .map(|b| usize::from(self.meta(b).overflow))
            .sum();
        (probing, stashed, overflow)
    }

    #[inline]
    pub(crate) fn version(&self, b: usize) -> u64 {
        self.versions[b]
    }

    #[inline]
    pub(crate) fn set_version(&mut self, b: usize, v: u64) {
        self.versions[b] = v;
    }

    /// Checks every structural invariant (for tests; panics naming the broken one).
    pub(crate) fn check_invariants(&self) {
        let mut live = 0;
        let mut stash_items = [0usize; REGULAR];
        for b in 0..BUCKETS {
            let m = self.meta(b);
            assert_eq!(m.probe() & !m.busy(), 0, "probe bit on a free slot");
            if b >= REGULAR {
                assert_eq!(m.probe(), 0, "probe bit in a stash bucket");
                assert_eq!(m.stash_used(), 0, "stash record in a stash bucket");
                assert_eq!(m.overflow, 0, "overflow in a stash bucket");
            }
            for s in Bits(m.busy()) {
                live += 1;
                let h = hash_key(self.get(b, s).key());
                assert_eq!(fp_of(h), m.fps[s], "fingerprint mismatch");
                assert_eq!(
                    home_of(h),
                    self.home_at(b, s),
                    "item away from home/neighbour"
                );
                if b >= REGULAR {
                    stash_items[home_of(h)] += 1;
                }
            }
        }
        assert_eq!(live, self.len(), "segment count");
        for (h, &items) in stash_items.iter().enumerate() {
            let m = self.meta(h);
            assert_eq!(
                items,
                m.stash_used().count_ones() as usize + usize::from(m.overflow),
                "stash items of home {h} != records + overflow"
            );
        }
    }
}

impl<T: DashItem> Segment<T> {
    /// Drops every live item. `take` clears each busy bit before the item is dropped, so calling
    /// this again after a destructor panicked drops exactly the items not yet dropped.
    fn drop_items(&mut self) {
        for b in 0..BUCKETS {
            for s in Bits(self.busy(b)) {
                drop(self.take(b, s));
            }
        }
    }
}

impl<T: DashItem> Drop for Segment<T> {
    fn drop(&mut self) {
        /// Runs only while unwinding from a value's destructor: drops the remaining items (as
        /// `Vec` does). A second panicking destructor then aborts the process, as in `Vec`.
        struct Rest<'a, T: DashItem>(&'a mut Segment<T>);
        impl<T: DashItem> Drop for Rest<'_, T> {
            fn drop(&mut self) {
                self.0.drop_items();
            }
        }
        let rest = Rest(self);
        rest.0.drop_items();
        std::mem::forget(rest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_bytes_is_exact() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Force some zero bytes, including next to 0x01 and 0x80 bytes (borrow traps).
            let mut bytes = x.to_le_bytes();
            for (i, b) in bytes.iter_mut().enumerate() {
                match (x >> (i * 3)) & 7 {
                    0 => *b = 0,
                    1 => *b = 1,
                    2 => *b = 0x80,
                    _ => {}
                }
            }
            let want = bytes
                .iter()
                .enumerate()
                .fold(0u16, |m, (i, &b)| m | (u16::from(b == 0) << i));
            assert_eq!(zero_bytes(u64::from_le_bytes(bytes)), want, "{bytes:?}");
        }
    }
}
