//! The table behind [`super::DenseSet`] and [`super::DenseMap`]: open addressing with linear
//! probing over a power-of-two array of slots, each an owning thin pointer ([`Block`]) to one
//! heap block holding an entry's lengths and bytes. This is the only place in `dense` with
//! `unsafe`, all of it inside `Block`, which owns the block format and the allocation's lifetime;
//! it must never hand out a key or value borrow that outlives the borrow of its `Block`.
//!
//! ```text
//!  slots: Box<[Option<Block>]>     (one pointer each: `None` is the null niche)
//!  set block:  [key len: LEB128][key bytes]
//!  map block:  [key len: LEB128][value len: LEB128][key bytes][value bytes]
//! ```
//!
//! A block is a `Box<[u8]>` of exactly the header plus the bytes, turned into a thin pointer; its
//! length is recomputed from its header to rebuild the `Box` when it is freed. Slots store no hash
//! bits, so a probe reads the block it passes over and a resize or a scan rehashes keys (foldhash
//! is a few nanoseconds on a short key); the payoff is a slot that is exactly one pointer on every
//! platform, with nothing packed into address bits.
//!
//! Invariants (every method keeps them between calls):
//! - `slots.len()` is 0 or a power of two (at least `MIN_SLOTS`), and at most 3/4 of the slots
//!   are full, so a probe always ends at an empty slot.
//! - An entry with home `h = hash & (slots.len() - 1)` sits at `h` or after it (cyclically), and
//!   every slot from `h` up to the entry is full. Removal shifts later entries back (no
//!   tombstones) to keep this, which is what lets a scan find a home's entries by walking from it.
//! - `block_bytes` is the sum of [`alloc_size`] over the live blocks.

use crate::hash::hash_key;
use std::ptr::NonNull;

/// Smallest non-empty table.
const MIN_SLOTS: usize = 8;

/// What a block costs the allocator: its size rounded up to mimalloc's size class (multiples of
/// 8 up to 64 bytes, then four classes per doubling). This crate does not depend on the
/// allocator, so this is a model, close for the small blocks that dominate.
pub(crate) fn alloc_size(n: usize) -> usize {
    if n <= 64 {
        n.div_ceil(8) * 8
    } else {
        let step = n.next_power_of_two() / 8;
        n.div_ceil(step) * step
    }
}

fn varint_len(n: usize) -> usize {
    let bits = usize::BITS - (n | 1).leading_zeros();
    bits.div_ceil(7) as usize
}

fn put_varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Bytes of a block holding `key` and (for maps) `val`.
fn block_len<const MAP: bool>(key: usize, val: usize) -> usize {
    if MAP {
        varint_len(key) + varint_len(val) + key + val
    } else {
        varint_len(key) + key
    }
}

/// One entry: an owning thin pointer to a `[u8]` block in the set or map format. All the
/// `unsafe` of `dense` is in this type's methods; everything else handles blocks by value or by
/// reference, so a borrowed key or value cannot outlive the block.
pub(crate) struct Block<const MAP: bool>(NonNull<u8>);

// SAFETY: a `Block` uniquely owns its allocation (no other pointer to it exists) and the bytes
// are plain data, so it can move to another thread with its owner.
unsafe impl<const MAP: bool> Send for Block<MAP> {}
// SAFETY: `&Block` only reads the bytes; writing needs `&mut Block`.
unsafe impl<const MAP: bool> Sync for Block<MAP> {}

/// A block's layout, read from its header.
struct Header {
    key_len: usize,
    val_len: usize,
    /// Bytes of the header (where the key starts).
    at: usize,
}

impl<const MAP: bool> Block<MAP> {
    fn new(key: &[u8], val: &[u8]) -> Self {
        debug_assert!(MAP || val.is_empty());
        let n = block_len::<MAP>(key.len(), val.len());
        let mut b = Vec::with_capacity(n);
        put_varint(&mut b, key.len());
        if MAP {
            put_varint(&mut b, val.len());
        }
        b.extend_from_slice(key);
        if MAP {
            b.extend_from_slice(val);
        }
        debug_assert_eq!(b.len(), n);
        let raw: *mut [u8] = Box::into_raw(b.into_boxed_slice());
        Block(NonNull::new(raw.cast::<u8>()).expect("Box::into_raw is never null"))
    }

    fn header(&self) -> Header {
        let p = self.0.as_ptr();
        let mut at = 0;
        let mut read = || {
            let mut n = 0usize;
            let mut shift = 0;
            loop {
                // SAFETY: the block is live (we own it) and starts with the varints `new` wrote,
                // so every byte up to and including a varint's last one (high bit clear) is
                // inside the allocation.
                let b = unsafe { *p.add(at) };
                at += 1;
                n |= ((b & 0x7f) as usize) << shift;
                if b & 0x80 == 0 {
                    return n;
                }
                shift += 7;
            }
        };
        let key_len = read();
        let val_len = if MAP { read() } else { 0 };
        Header {
            key_len,
            val_len,
            at,
        }
    }

    /// Bytes of the allocation.
    fn len(&self) -> usize {
        let h = self.header();
        h.at + h.key_len + h.val_len
    }

    /// The key and the value (empty for sets).
    pub(crate) fn parts(&self) -> (&[u8], &[u8]) {
        let h = self.header();
        let p = self.0.as_ptr();
        // SAFETY: the header says the key and then the value follow it inside the live
        // allocation we own; nothing writes it while `self` is borrowed shared, which the
        // returned lifetime enforces.
        unsafe {
            let key = std::slice::from_raw_parts(p.add(h.at), h.key_len);
            let val = std::slice::from_raw_parts(p.add(h.at + h.key_len), h.val_len);
            (key, val)
        }
    }

    pub(crate) fn key(&self) -> &[u8] {
        self.parts().0
    }

    /// The value, writable in place (its length is fixed).
    fn value_mut(&mut self) -> &mut [u8] {
        let h = self.header();
        // SAFETY: the header locates the value inside the live allocation we own, and `&mut
        // self` guarantees no other borrow of it for the returned lifetime. The pointer came
        // from `Box::into_raw`, so it may be written through.
        unsafe { std::slice::from_raw_parts_mut(self.0.as_ptr().add(h.at + h.key_len), h.val_len) }
    }
}

/// The key and value of the map block at `p`, read without owning it (`super::KeyRef`).
///
/// # Safety
/// `p` must come from [`RawTable::block_ptr`] of a map table, that block must stay alive (see
/// `block_ptr`) for all of `'a`, and its value must not be written during `'a`.
pub(crate) unsafe fn map_block_parts<'a>(p: NonNull<u8>) -> (&'a [u8], &'a [u8]) {
    // A non-owning view: never dropped, so the real owner alone frees the block.
    let view = std::mem::ManuallyDrop::new(Block::<true>(p));
    let (k, v) = view.parts();
    // SAFETY: both slices point into the block at `p`, which the caller keeps alive for `'a`;
    // key bytes never change after `Block::new`, and the caller promises no value write during
    // `'a`, so both stay valid and unchanged for `'a`, beyond the borrow of the local view.
    unsafe {
        (
            std::slice::from_raw_parts(k.as_ptr(), k.len()),
            std::slice::from_raw_parts(v.as_ptr(), v.len()),
        )
    }
}

impl<const MAP: bool> Drop for Block<MAP> {
    fn drop(&mut self) {
        let raw = std::ptr::slice_from_raw_parts_mut(self.0.as_ptr(), self.len());
        // SAFETY: the pointer came from `Box::<[u8]>::into_raw` of exactly `len()` bytes (the
        // header records the lengths the block was built from), and this is its only owner,
        // dropped once.
        drop(unsafe { Box::from_raw(raw) });
    }
}

impl<const MAP: bool> Clone for Block<MAP> {
    fn clone(&self) -> Self {
        let (k, v) = self.parts();
        Block::new(k, v)
    }
}

/// The shared table. `MAP` selects whether blocks carry a value.
#[derive(Clone)]
pub(crate) struct RawTable<const MAP: bool> {
    slots: Box<[Option<Block<MAP>>]>,
    len: usize,
    block_bytes: usize,
}

impl<const MAP: bool> RawTable<MAP> {
    pub(crate) fn new() -> Self {
        RawTable {
            slots: Box::new([]),
            len: 0,
            block_bytes: 0,
        }
    }

    /// A table that holds `n` entries without growing.
    pub(crate) fn with_capacity(n: usize) -> Self {
        let mut t = Self::new();
        if n > 0 {
            t.slots = empty_slots(Self::slots_for(n));
        }
        t
    }

    /// The smallest power-of-two slot count (at least `MIN_SLOTS`) at most 3/4 full with `n`.
    fn slots_for(n: usize) -> usize {
        (n.saturating_mul(4).div_ceil(3))
            .max(MIN_SLOTS)
            .next_power_of_two()
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Slots in the table (a power of two, or 0 before the first insert).
    pub(crate) fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// Approximate heap bytes: the slot array plus every block at its size class.
    pub(crate) fn mem_bytes(&self) -> usize {
        alloc_size(std::mem::size_of_val(&*self.slots)) + self.block_bytes
    }

    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    fn home(&self, b: &Block<MAP>) -> usize {
        hash_key(b.key()) as usize & self.mask()
    }

    /// The slot holding `key`.
    pub(crate) fn find(&self, key: &[u8]) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        let mask = self.mask();
        let mut i = hash_key(key) as usize & mask;
        while let Some(b) = &self.slots[i] {
            if b.key() == key {
                return Some(i);
            }
            i = (i + 1) & mask;
        }
        None
    }

    fn block(&self, i: usize) -> &Block<MAP> {
        self.slots[i].as_ref().expect("slot is full")
    }

    /// The address of full slot `i`'s block. It stays valid until the entry is removed, the
    /// table cleared or its value replaced by one of another length: resizes and removals of
    /// other entries move slots, never blocks.
    pub(crate) fn block_ptr(&self, i: usize) -> NonNull<u8> {
        self.block(i).0
    }

    /// The entry in slot `i`, which must be full.
    pub(crate) fn entry(&self, i: usize) -> (&[u8], &[u8]) {
        self.block(i).parts()
    }

    /// The value in full slot `i`, writable in place (its length is fixed).
    pub(crate) fn value_mut(&mut self, i: usize) -> &mut [u8] {
        self.slots[i].as_mut().expect("slot is full").value_mut()
    }

    /// Inserts `key` (with `val` for maps) if absent, returning its slot and whether it is new.
    /// An existing entry is left untouched.
    pub(crate) fn insert(&mut self, key: &[u8], val: &[u8]) -> (usize, bool) {
        if let Some(i) = self.find(key) {
            return (i, false);
        }
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.resize(Self::slots_for(self.len + 1).max(self.slots.len() * 2));
        }
        let mask = self.mask();
        let mut i = hash_key(key) as usize & mask;
        while self.slots[i].is_some() {
            i = (i + 1) & mask;
        }
        self.slots[i] = Some(Block::new(key, val));
        self.len += 1;
        self.block_bytes += alloc_size(block_len::<MAP>(key.len(), val.len()));
        (i, true)
    }

    /// Replaces the value in full slot `i`: in place if the length is the same, else with a new
    /// block at the same slot (the key, and so its home, is unchanged).
    pub(crate) fn set_value(&mut self, i: usize, val: &[u8]) {
        let (key, cur) = self.entry(i);
        if cur.len() == val.len() {
            self.value_mut(i).copy_from_slice(val);
            return;
        }
        let new = Block::new(key, val);
        let added = alloc_size(new.len());
        let old = self.slots[i].replace(new).expect("slot is full");
        self.block_bytes = self.block_bytes + added - alloc_size(old.len());
    }

    /// Removes the entry in full slot `i` and returns it, then halves the table if it fell below
    /// 1/8 full.
    pub(crate) fn remove_at(&mut self, i: usize) -> Block<MAP> {
        let b = self.slots[i].take().expect("slot is full");
        self.len -= 1;
        self.block_bytes -= alloc_size(b.len());
        self.close_gap(i);
        if self.slots.len() > MIN_SLOTS && self.len * 8 < self.slots.len() {
            self.resize(self.slots.len() / 2);
        }
        b
    }

    /// Backward-shift deletion: slot `gap` was just emptied; move later entries of the cluster
    /// back into it when their home allows, so no entry is separated from its home by an empty
    /// slot.
    fn close_gap(&mut self, mut gap: usize) {
        let mask = self.mask();
        let mut j = (gap + 1) & mask;
        while let Some(b) = &self.slots[j] {
            let h = self.home(b);
            // The entry may move back to `gap` only if `gap` lies on its probe path, i.e.
            // cyclically in [h, j): walking forward from its home reaches `gap` before `j`.
            if (gap.wrapping_sub(h) & mask) < (j.wrapping_sub(h) & mask) {
                self.slots[gap] = self.slots[j].take();
                gap = j;
            }
            j = (j + 1) & mask;
        }
    }

    /// Rehashes every entry into `n` slots (a power of two, at least 4/3 of `len`). Blocks do
    /// not move; only the pointers do.
    fn resize(&mut self, n: usize) {
        debug_assert!(n.is_power_of_two() && self.len * 4 <= n * 3);
        let old = std::mem::replace(&mut self.slots, empty_slots(n));
        let mask = n - 1;
        for b in old.into_vec().into_iter().flatten() {
            let mut i = self.home(&b);
            while self.slots[i].is_some() {
                i = (i + 1) & mask;
            }
            self.slots[i] = Some(b);
        }
    }

    /// Frees every block and the slot array.
    pub(crate) fn clear(&mut self) {
        self.slots = Box::new([]);
        self.len = 0;
        self.block_bytes = 0;
    }

    /// Every entry, in slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> + Clone + '_ {
        self.slots.iter().flatten().map(|b| b.parts())
    }

    /// A uniformly random full slot. `rnd(n)` should return a value in `0..n`.
    ///
    /// Rejection sampling over slots: each entry fills exactly one slot, so an accepted draw is
    /// uniform over entries. Tables are at least 1/8 full (they shrink below that), so 64 draws
    /// all miss with probability under 2e-4; then, or for a table pre-sized far beyond its
    /// contents, the `rnd(len)`-th entry in slot order is taken, uniform too, in O(slots).
    pub(crate) fn random_slot(&self, mut rnd: impl FnMut(usize) -> usize) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        let mask = self.mask();
        for _ in 0..64 {
            let i = rnd(self.slots.len()) & mask;
            if self.slots[i].is_some() {
                return Some(i);
            }
        }
        let k = rnd(self.len) % self.len;
        (0..self.slots.len())
            .filter(|&i| self.slots[i].is_some())
            .nth(k)
    }

    /// One step of a stateless scan (see the `dense` module docs for the promise and why it
    /// holds): visits home buckets in reverse-binary cursor order, each home's entries wherever
    /// probing put them, until `count` entries were reported or `10 * count` homes visited (as
    /// Redis's SSCAN/HSCAN bound their work). Returns the next cursor, 0 when done.
    pub(crate) fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], &[u8])) -> u64 {
        if self.len == 0 {
            return 0;
        }
        let mask = self.mask();
        let mut v = cursor;
        let max_visits = count.max(1).saturating_mul(10);
        let (mut reported, mut visits) = (0, 0);
        loop {
            let h = v as usize & mask;
            let mut i = h;
            while let Some(b) = &self.slots[i] {
                if self.home(b) == h {
                    let (k, val) = b.parts();
                    f(k, val);
                    reported += 1;
                }
                i = (i + 1) & mask;
            }
            visits += 1;
            // Redis's dictScan increment: set the bits above the mask so the carry of the
            // reversed increment runs through them into the bucket bits.
            v |= !(mask as u64);
            v = v.reverse_bits().wrapping_add(1).reverse_bits();
            if v == 0 || reported >= count || visits >= max_visits {
                return v;
            }
        }
    }

    /// Checks every invariant in the module docs (tests only; O(n)).
    #[cfg(test)]
    pub(crate) fn check(&self) {
        let n = self.slots.len();
        assert!(n == 0 || (n.is_power_of_two() && n >= MIN_SLOTS));
        assert!(self.len * 4 <= n * 3);
        let mut full = 0;
        let mut bytes = 0;
        for (i, s) in self.slots.iter().enumerate() {
            if let Some(b) = s {
                full += 1;
                bytes += alloc_size(b.len());
                let h = self.home(b);
                let mut j = h;
                while j != i {
                    assert!(self.slots[j].is_some(), "gap between home {h} and slot {i}");
                    j = (j + 1) & self.mask();
                }
            }
        }
        assert_eq!(full, self.len);
        assert_eq!(bytes, self.block_bytes);
    }
}

fn empty_slots<T>(n: usize) -> Box<[Option<T>]> {
    std::iter::repeat_with(|| None).take(n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_through_blocks() {
        for len in [0usize, 1, 127, 128, 300, 16_383, 16_384] {
            let key = vec![7u8; len];
            let val = vec![9u8; len / 2];
            let want = if len < 128 {
                1
            } else if len < 16_384 {
                2
            } else {
                3
            };
            assert_eq!(varint_len(len), want);
            let mut b = Block::<true>::new(&key, &val);
            assert_eq!(b.parts(), (&key[..], &val[..]));
            assert_eq!(b.len(), block_len::<true>(len, len / 2));
            b.value_mut().fill(1);
            assert!(b.clone().parts().1.iter().all(|&x| x == 1));
            let s = Block::<false>::new(&key, &[]);
            assert_eq!(s.parts(), (&key[..], &[][..]));
        }
    }

    #[test]
    fn size_classes() {
        assert_eq!(alloc_size(1), 8);
        assert_eq!(alloc_size(11), 16);
        assert_eq!(alloc_size(64), 64);
        assert_eq!(alloc_size(65), 80);
        assert_eq!(alloc_size(129), 160);
    }

    #[test]
    fn a_slot_is_one_pointer() {
        assert_eq!(
            std::mem::size_of::<Option<Block<true>>>(),
            std::mem::size_of::<usize>()
        );
    }

    #[test]
    fn invariants_survive_growth_removal_and_shrink() {
        let mut t = RawTable::<true>::new();
        for i in 0..200u32 {
            t.insert(&i.to_le_bytes(), &[i as u8; 3]);
            t.check();
        }
        let i = t.find(&5u32.to_le_bytes()).unwrap();
        t.set_value(i, b"longer value");
        t.check();
        assert_eq!(
            t.entry(t.find(&5u32.to_le_bytes()).unwrap()).1,
            b"longer value"
        );
        let c = t.clone();
        for i in 0..200u32 {
            let s = t.find(&i.to_le_bytes()).unwrap();
            assert_eq!(t.remove_at(s).key(), i.to_le_bytes());
            t.check();
        }
        assert_eq!(t.slot_count(), MIN_SLOTS);
        assert_eq!(c.len(), 200);
        c.check();
    }
}
