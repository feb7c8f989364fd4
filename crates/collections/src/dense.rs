//! The large encodings of sets and hashes: [`DenseSet`] (byte-string members) and [`DenseMap`]
//! (byte-string field -> byte-string value), after Dragonfly's DenseSet/StringMap idea that an
//! entry needs no node of its own. They share one open-addressing table (`raw`) whose slot is a
//! single thin pointer to a single heap block holding the entry's lengths and bytes; that module
//! is the only `unsafe` here. These types know nothing of encodings' thresholds, commands or
//! expiry: the caller decides when a small encoding converts into them.
//!
//! ```text
//!  slots (power of two, <= 3/4 full, linear probing, backward-shift removal)
//!  +------+------+------+------+------+------+------+------+
//!  |  *   |      |  *   |  *   |      |      |  *   |      |   8 bytes each
//!  +--|---+------+--|---+--|---+------+------+--|---+------+
//!     v             v      v                    v
//!   [3|abc]    [5|apple] [2|hi]             [4|5|fieldvalue]   one allocation per entry:
//!    set blocks: [len][member]              map block: [field len][value len][field][value]
//! ```
//!
//! Memory: `8 / load` bytes of slots per entry (the load is between 3/8 and 3/4 while a table
//! grows; removals halve it below 1/8) plus one block of `1 + len` bytes (for members under 128
//! bytes), and nothing else. For a million 10-byte members that is 27.8 bytes per member as
//! allocated (32.8 at mimalloc's size classes, what `mem_bytes` reports), at load 0.48; about 22
//! just before the next doubling (`tests/set_model.rs`, `bytes_per_member_of_a_million`). Redis's
//! hashtable encoding spends 50-60 (a `dictEntry`, an sds header, bucket pointers).
//!
//! # Scan
//! `scan(cursor, count, f)` is stateless: 0 starts, 0 is returned when done, and every entry
//! present for the whole scan is reported at least once, even if the table doubles or halves
//! between calls (an entry may be reported more than once, as in Redis). Why it holds:
//!
//! 1. *A home's entries are found from the home.* An entry's home bucket is `hash & (slots - 1)`.
//!    Linear probing places it at the first free slot from its home, and removal shifts entries
//!    back (never past their home) rather than leaving tombstones, so the slots from its home to
//!    its position are always full. Walking from slot `h` to the first empty slot therefore meets
//!    every entry whose home is `h`; the scan reports those (and skips the others in the run,
//!    whose homes are visited on their own). Each call runs with the table fixed (it holds `&self`),
//!    so visiting a home reports exactly the entries homed there at that moment.
//! 2. *Homes are visited in reverse-binary order*, as Redis's `dictScan`: the cursor is a home
//!    index whose bits are incremented from the top down. In a table of `2^n` slots the homes
//!    already visited are exactly those whose bit-reversed index is below the cursor's, a set
//!    described by low-order bit patterns only. When the table grows to `2^m` slots (`m > n`),
//!    home `b` splits into the homes whose low `n` bits are `b`, and an entry moves only into
//!    one of those, so the same cursor continues over exactly the split images of the homes not
//!    yet visited. When the table shrinks to `2^m` (`m < n`), homes merge by their low `m` bits;
//!    the cursor's low `m` bits name the merged home that was partly visited, and it is visited
//!    again whole (duplicates, no misses). Resizes happen all at once (no incremental rehash), so
//!    every call sees one table and the argument needs no second one.
//!
//! The cursor is bounded by the table size (`< slots` at the time it was returned), and `count`
//! bounds work the way SSCAN/HSCAN do: at least `count` entries or `10 * count` homes per call.

mod raw;

use raw::RawTable;
use std::fmt;
use std::ptr::NonNull;

/// A set of byte strings; one 8-byte slot and one `[len][bytes]` block per member.
#[derive(Clone)]
pub struct DenseSet {
    t: RawTable<false>,
}

/// A map from byte-string fields to byte-string values; one 8-byte slot and one
/// `[field len][value len][field][value]` block per field.
#[derive(Clone)]
pub struct DenseMap {
    t: RawTable<true>,
}

impl Default for DenseSet {
    fn default() -> Self {
        DenseSet::new()
    }
}

impl DenseSet {
    /// An empty set; allocates nothing until the first insert.
    pub fn new() -> DenseSet {
        DenseSet { t: RawTable::new() }
    }

    /// An empty set that holds `n` members without growing (conversions from a small encoding
    /// know their size).
    pub fn with_capacity(n: usize) -> DenseSet {
        DenseSet {
            t: RawTable::with_capacity(n),
        }
    }

    pub fn len(&self) -> usize {
        self.t.len()
    }

    pub fn is_empty(&self) -> bool {
        self.t.len() == 0
    }

    /// Slots in the table (0 or a power of two; at most 3/4 of them hold members).
    pub fn slot_count(&self) -> usize {
        self.t.slot_count()
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        self.t.find(member).is_some()
    }

    /// Adds `member`; false if it was already present.
    pub fn insert(&mut self, member: &[u8]) -> bool {
        self.t.insert(member, &[]).1
    }

    /// Removes `member`; false if it was absent. May halve the table.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self.t.find(member) {
            Some(i) => {
                self.t.remove_at(i);
                true
            }
            None => false,
        }
    }

    /// Every member, in table order (which changes when the table resizes).
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + Clone + '_ {
        self.t.iter().map(|(k, _)| k)
    }

    /// A uniformly chosen member (SRANDMEMBER); `rnd(n)` must return a value in `0..n`.
    pub fn random(&self, rnd: impl FnMut(usize) -> usize) -> Option<&[u8]> {
        self.t.random_slot(rnd).map(|i| self.t.entry(i).0)
    }

    /// Removes and returns a uniformly chosen member (SPOP).
    pub fn pop_random(&mut self, rnd: impl FnMut(usize) -> usize) -> Option<Vec<u8>> {
        let i = self.t.random_slot(rnd)?;
        Some(self.t.remove_at(i).key().to_vec())
    }

    /// One SSCAN step: reports members to `f` and returns the next cursor (0: done). See the
    /// module docs for the guarantee across resizes.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8])) -> u64 {
        self.t.scan(cursor, count, |k, _| f(k))
    }

    /// Approximate heap bytes: the slot array and every member block at its allocator size class.
    pub fn mem_bytes(&self) -> usize {
        self.t.mem_bytes()
    }

    /// Removes every member and frees the table.
    pub fn clear(&mut self) {
        self.t.clear();
    }
}

impl PartialEq for DenseSet {
    fn eq(&self, other: &DenseSet) -> bool {
        self.len() == other.len() && self.iter().all(|m| other.contains(m))
    }
}

impl Eq for DenseSet {}

impl fmt::Debug for DenseSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(String::from_utf8_lossy))
            .finish()
    }
}

impl<'a> Extend<&'a [u8]> for DenseSet {
    fn extend<I: IntoIterator<Item = &'a [u8]>>(&mut self, iter: I) {
        for m in iter {
            self.insert(m);
        }
    }
}

impl<'a> FromIterator<&'a [u8]> for DenseSet {
    fn from_iter<I: IntoIterator<Item = &'a [u8]>>(iter: I) -> DenseSet {
        let mut s = DenseSet::new();
        s.extend(iter);
        s
    }
}

impl Default for DenseMap {
    fn default() -> Self {
        DenseMap::new()
    }
}

impl DenseMap {
    /// An empty map; allocates nothing until the first insert.
    pub fn new() -> DenseMap {
        DenseMap { t: RawTable::new() }
    }

    /// An empty map that holds `n` fields without growing.
    pub fn with_capacity(n: usize) -> DenseMap {
        DenseMap {
            t: RawTable::with_capacity(n),
        }
    }

    pub fn len(&self) -> usize {
        self.t.len()
    }

    pub fn is_empty(&self) -> bool {
        self.t.len() == 0
    }

    /// Slots in the table (0 or a power of two; at most 3/4 of them hold fields).
    pub fn slot_count(&self) -> usize {
        self.t.slot_count()
    }

    pub fn contains_key(&self, field: &[u8]) -> bool {
        self.t.find(field).is_some()
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        self.t.find(field).map(|i| self.t.entry(i).1)
    }

    /// The value of `field`, writable in place. Its length is fixed: to change the length, use
    /// [`DenseMap::insert`].
    pub fn get_mut(&mut self, field: &[u8]) -> Option<&mut [u8]> {
        let i = self.t.find(field)?;
        Some(self.t.value_mut(i))
    }

    /// Sets `field` to `value` (HSET); true if the field is new, false if its value was replaced.
    /// A replaced value of the same length is overwritten in place, otherwise the entry's block
    /// is reallocated (at the same slot).
    pub fn insert(&mut self, field: &[u8], value: &[u8]) -> bool {
        let (i, new) = self.t.insert(field, value);
        if !new {
            self.t.set_value(i, value);
        }
        new
    }

    /// Sets `field` only if absent (HSETNX); true if it was inserted.
    pub fn insert_if_absent(&mut self, field: &[u8], value: &[u8]) -> bool {
        self.t.insert(field, value).1
    }

    /// Removes `field`; false if it was absent. May halve the table.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self.t.find(field) {
            Some(i) => {
                self.t.remove_at(i);
                true
            }
            None => false,
        }
    }

    /// Every (field, value), in table order (which changes when the table resizes).
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> + Clone + '_ {
        self.t.iter()
    }

    /// A uniformly chosen (field, value) (HRANDFIELD); `rnd(n)` must return a value in `0..n`.
    pub fn random(&self, rnd: impl FnMut(usize) -> usize) -> Option<(&[u8], &[u8])> {
        self.t.random_slot(rnd).map(|i| self.t.entry(i))
    }

    /// Removes and returns a uniformly chosen (field, value).
    pub fn pop_random(&mut self, rnd: impl FnMut(usize) -> usize) -> Option<(Vec<u8>, Vec<u8>)> {
        let i = self.t.random_slot(rnd)?;
        let b = self.t.remove_at(i);
        let (k, v) = b.parts();
        Some((k.to_vec(), v.to_vec()))
    }

    /// One HSCAN step: reports (field, value) pairs to `f` and returns the next cursor (0:
    /// done). See the module docs for the guarantee across resizes.
    pub fn scan(&self, cursor: u64, count: usize, f: impl FnMut(&[u8], &[u8])) -> u64 {
        self.t.scan(cursor, count, f)
    }

    /// Approximate heap bytes: the slot array and every entry block at its allocator size class.
    pub fn mem_bytes(&self) -> usize {
        self.t.mem_bytes()
    }

    /// Removes every field and frees the table.
    pub fn clear(&mut self) {
        self.t.clear();
    }
}

/// A non-owning handle to one [`DenseMap`] entry's field and value, for a structure that
/// orders a map's entries without copying them (the sorted set's tree holds these while the map
/// owns the blocks). Only this crate creates them, through [`DenseMap::key_ref`], whose contract
/// keeps every handle's block alive while the handle is in use.
pub struct KeyRef(NonNull<u8>);

// SAFETY: a `KeyRef` only reads a block owned by a map that is moved and shared together with
// the structure holding the handle (they are fields of one value).
unsafe impl Send for KeyRef {}
// SAFETY: as above; reads only.
unsafe impl Sync for KeyRef {}

impl KeyRef {
    /// The entry's field.
    #[inline]
    pub fn key(&self) -> &[u8] {
        // SAFETY: `DenseMap::key_ref`'s caller keeps the block alive and its value unwritten
        // while the handle is used.
        unsafe { raw::map_block_parts(self.0) }.0
    }

    /// The entry's value.
    #[inline]
    pub fn value(&self) -> &[u8] {
        // SAFETY: as in `key`.
        unsafe { raw::map_block_parts(self.0) }.1
    }
}

impl fmt::Debug for KeyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyRef({:?})", String::from_utf8_lossy(self.key()))
    }
}

impl DenseMap {
    /// A handle to `field`'s entry inside this map (None if absent).
    ///
    /// # Safety
    /// The handle may be used (`key`, `value`) only while `field` stays in this map with a value
    /// of the same length (not removed, not replaced by a value of another length, the map
    /// neither cleared nor dropped), and not while the value is being written through
    /// `get_mut`. Moving the map is fine (blocks do not move with it).
    pub(crate) unsafe fn key_ref(&self, field: &[u8]) -> Option<KeyRef> {
        self.t.find(field).map(|i| KeyRef(self.t.block_ptr(i)))
    }
}

impl PartialEq for DenseMap {
    fn eq(&self, other: &DenseMap) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl Eq for DenseMap {}

impl fmt::Debug for DenseMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.iter()
                    .map(|(k, v)| (String::from_utf8_lossy(k), String::from_utf8_lossy(v))),
            )
            .finish()
    }
}

impl<'a> Extend<(&'a [u8], &'a [u8])> for DenseMap {
    fn extend<I: IntoIterator<Item = (&'a [u8], &'a [u8])>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl<'a> FromIterator<(&'a [u8], &'a [u8])> for DenseMap {
    fn from_iter<I: IntoIterator<Item = (&'a [u8], &'a [u8])>>(iter: I) -> DenseMap {
        let mut m = DenseMap::new();
        m.extend(iter);
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_values_replace_in_place_or_reallocate() {
        let mut m = DenseMap::new();
        assert!(m.insert(b"f", b"one"));
        assert!(!m.insert(b"f", b"two"));
        assert_eq!(m.get(b"f"), Some(&b"two"[..]));
        assert!(!m.insert(b"f", b"three"));
        assert_eq!(m.get(b"f"), Some(&b"three"[..]));
        m.get_mut(b"f").unwrap()[0] = b'T';
        assert_eq!(m.get(b"f"), Some(&b"Three"[..]));
        assert!(!m.insert_if_absent(b"f", b"x"));
        assert!(m.insert(b"", b""));
        assert_eq!(m.get(b""), Some(&b""[..]));
        assert_eq!(m.len(), 2);
        let c = m.clone();
        assert!(m.remove(b"f"));
        assert!(!m.remove(b"f"));
        assert_ne!(m, c);
        m.clear();
        assert_eq!((m.len(), m.slot_count(), m.mem_bytes()), (0, 0, 0));
        assert_eq!(m.scan(0, 10, |_, _| panic!("empty")), 0);
    }

    #[test]
    fn set_basics() {
        let mut s: DenseSet = [&b"a"[..], b"b", b"c"].into_iter().collect();
        assert!(!s.insert(b"a"));
        assert!(s.contains(b"b"));
        assert_eq!(format!("{s:?}").len(), "{\"a\", \"b\", \"c\"}".len());
        let mut seen = Vec::new();
        let mut cur = 0;
        loop {
            cur = s.scan(cur, 1, |m| seen.push(m.to_vec()));
            if cur == 0 {
                break;
            }
        }
        seen.sort();
        assert_eq!(seen, [b"a", b"b", b"c"]);
        let mut n = 0;
        while s.pop_random(|k| 7 % k).is_some() {
            n += 1;
        }
        assert_eq!((n, s.len()), (3, 0));
        assert_eq!(s.random(|_| 0), None);
    }
}
