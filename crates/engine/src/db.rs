//! `DbSlice`: one database's keys on one shard, with expiry.
//!
//! This is the interface every command's shard-side code uses; the table behind it may change
//! (the Dash table replaces the interim segmented table) without callers noticing. Expiry is lazy
//! here (an expired key is deleted when looked up) and active in `Shard::heartbeat`.
//! It must only ever be touched by the shard's owning thread.

use crate::clock::Clock;
use crate::engine::Engine;
use darter_collections::dash::DashTable;
use darter_collections::{hash_key, Value};
use std::collections::HashSet;
use std::mem::size_of;
use std::sync::Arc;

use darter_collections::compact::lru_clock;
pub use darter_collections::compact::Entry;

/// An entry's contents apart from its key, owned: what `DbSlice::set` stores and
/// `DbSlice::remove` hands back. Moving a record from one key to another (RENAME, MOVE) keeps
/// its deadline and its access stamp.
///
/// The stamp is None until the record has been stored: `set` then stamps it with the slice's
/// clock. It is bookkeeping, not content: equality ignores it.
#[derive(Debug, Clone)]
pub struct Record {
    pub value: Value,
    /// Absolute expiry deadline in ms since the epoch, 0 for none.
    pub expire_at: u64,
    stamp: Option<u32>,
}

impl PartialEq for Record {
    fn eq(&self, o: &Record) -> bool {
        self.value == o.value && self.expire_at == o.expire_at
    }
}

impl Record {
    pub fn new(value: Value) -> Record {
        Record {
            value,
            expire_at: 0,
            stamp: None,
        }
    }

    /// A record with a deadline (0 for none).
    pub fn with_expiry(value: Value, expire_at: u64) -> Record {
        Record {
            value,
            expire_at,
            stamp: None,
        }
    }

    /// Takes a stored entry apart (its key is dropped).
    pub fn from_entry(mut e: Entry) -> Record {
        Record {
            value: e.take_value(),
            expire_at: e.expire_at(),
            stamp: Some(e.stamp()),
        }
    }

    /// Records an access at `now_ms` (a record taken out by a write lookup).
    pub fn touch(&mut self, now_ms: u64) {
        self.stamp = Some(lru_clock(now_ms));
    }

    /// An owned copy of a stored entry's contents (COPY): a copy counts as new, so unstamped.
    pub fn copy_of(e: &Entry) -> Record {
        Record::with_expiry(e.to_value(), e.expire_at())
    }
}

/// Counters a slice keeps for INFO.
#[derive(Debug, Default, Clone, Copy)]
pub struct SliceStats {
    pub expired_keys: u64,
}

#[derive(Default)]
pub struct DbSlice {
    table: DashTable<Entry>,
    /// Keys that carry a deadline (INFO keyspace `expires=`).
    with_ttl: usize,
    pub stats: SliceStats,
    expire_cursor: usize,
    /// The latest time (ms) any call told this slice, as an access stamp: stamps records stored
    /// by `set`, which is not given the time.
    clock_s: u32,
    /// The latest time (ms) any call told this slice: what `set` uses to recognise expired items
    /// when a full segment garbage-collects before splitting.
    now_ms: u64,
    /// The engine's clock, when the slice was made on an engine thread. `set` reads it instead of
    /// `clock_s` when that may be far behind: a manual clock jumps, and nothing observed yet.
    clock: Option<Arc<Clock>>,
    /// Keys some blocked client waits on (see `crate::blocking`), and those of them touched by a
    /// write lookup or a store since the shard last drained.
    watched: HashSet<Box<[u8]>>,
    touched: Vec<Box<[u8]>>,
    /// WATCHed keys and what happened to them since the shard last settled (`crate::watch`).
    pub(crate) cas: crate::watch::CasSlice,
    /// memcached item metadata (client flags, CAS unique) of the keys that need any: see
    /// docs/design/memcached.md. Every store, removal and expiry of a key through this slice
    /// drops its row, so only memcached writes (which re-add it) keep one.
    mc: McTable,
    /// This slice's database number (the `<db>` of its keyspace events).
    pub index: usize,
    /// `notify-keyspace-events` flags (`crate::notify`), shared with the engine.
    pub events: crate::notify::Flags,
    /// Set while a command whose lookups are reads runs (Redis's `lookupKeyRead`): a lookup
    /// finding no key then reports `keymiss`.
    pub report_misses: bool,
}

/// memcached metadata of one key: 32-bit client flags and the CAS unique issued for the value,
/// valid only while the value still has the signature it had when the row was written (a RESP
/// command changing the string in place, such as APPEND or INCR, invalidates the row).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct McMeta {
    pub flags: u32,
    pub cas: u64,
    /// `MC_*` bits: meta-protocol item state.
    pub bits: u8,
    sig: u64,
}

/// Marked stale by a meta invalidation (`md I`, `ms I`).
pub const MC_STALE: u8 = 1;
/// A meta "win" token (W) was handed out for the item.
pub const MC_TOKEN_SENT: u8 = 2;
/// Fetched since stored (meta `h`).
pub const MC_FETCHED: u8 = 4;
/// Stored under a base64 (binary) key (meta `b`).
pub const MC_BINARY_KEY: u8 = 8;

#[derive(Default)]
struct McTable {
    rows: hashbrown::HashMap<Box<[u8]>, McMeta, foldhash::fast::FixedState>,
    /// The last CAS unique issued on this slice.
    last_cas: u64,
}

/// A string value's signature for `McMeta` validation.
fn mc_sig(value: &[u8]) -> u64 {
    hash_key(value) ^ (value.len() as u64).rotate_left(32)
}

impl DbSlice {
    pub fn new() -> DbSlice {
        DbSlice {
            clock: Engine::current().map(|e| e.clock.clone()),
            ..DbSlice::default()
        }
    }

    /// A slice reading `clock` (its shard's) when it has been told no time yet.
    pub fn with_clock(clock: Arc<Clock>) -> DbSlice {
        DbSlice {
            clock: Some(clock),
            ..DbSlice::default()
        }
    }

    /// Number of keys, including expired ones not yet reclaimed (as Redis's DBSIZE).
    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    pub fn expires_count(&self) -> usize {
        self.with_ttl
    }

    /// Looks a key up, deleting it first if it has expired, and records the access (Redis's
    /// `lookupKey` without `LOOKUP_NOTOUCH`).
    #[inline]
    pub fn find(&mut self, key: &[u8], now_ms: u64) -> Option<&mut Entry> {
        if !self.watched.is_empty() {
            self.touch_key(key);
        }
        let e = self.find_notouch(key, now_ms)?;
        e.touch(now_ms);
        Some(e)
    }

    /// Looks a key up, deleting it first if it has expired, without recording an access (Redis's
    /// `LOOKUP_NOTOUCH`: EXISTS, TYPE, TTL, OBJECT).
    #[inline]
    pub fn find_notouch(&mut self, key: &[u8], now_ms: u64) -> Option<&mut Entry> {
        self.observe(now_ms);
        if self.cas.is_watched(key) {
            self.cas_snapshot(key, now_ms);
        }
        let h = hash_key(key);
        let mut expired = false;
        let with_ttl = &mut self.with_ttl;
        let stats = &mut self.stats;
        let r = self.table.get_mut_or_remove_if(h, key, |e| {
            if e.is_expired(now_ms) {
                expired = true;
                true
            } else {
                false
            }
        });
        if expired {
            *with_ttl -= 1;
            stats.expired_keys += 1;
            expired_gone(&mut self.mc, &mut self.cas, &self.events, self.index, key);
            if self.report_misses {
                crate::notify::emit(
                    &self.events,
                    crate::notify::KEY_MISS,
                    "keymiss",
                    self.index,
                    key,
                );
            }
            return None;
        }
        if r.is_none() && self.report_misses {
            crate::notify::emit(
                &self.events,
                crate::notify::KEY_MISS,
                "keymiss",
                self.index,
                key,
            );
        }
        r
    }

    /// Records a watched key's contents before a lookup that may change it in place (compared
    /// when the shard settles; see `crate::watch`).
    fn cas_snapshot(&mut self, key: &[u8], now_ms: u64) {
        if self.cas.read_only || self.cas.snaps.iter().any(|(k, _)| **k == *key) {
            return;
        }
        let before = self
            .table
            .get(key)
            .filter(|e| !e.is_expired(now_ms))
            .map(Record::copy_of);
        self.cas.snaps.push((key.into(), before));
    }

    /// Declares whether the command about to run (until the next call) only reads, so that
    /// lookups of watched keys need not snapshot them (see `crate::watch`).
    #[inline]
    pub fn cas_read_only(&mut self, on: bool) {
        self.cas.read_only = on;
    }

    /// Records a change of `key` for its watchers, if any: Redis's `signalModifiedKey`, for
    /// commands that signal even when the contents end up identical (INCRBY k 0, HSET of the same
    /// value). Changes of contents are noticed without it.
    #[inline]
    pub fn signal_modified(&mut self, key: &[u8]) {
        self.cas_changed(key);
    }

    /// Records a change of `key` for its watchers, if any.
    #[inline]
    fn cas_changed(&mut self, key: &[u8]) {
        if self.cas.is_watched(key) {
            self.cas.changed.push(key.into());
        }
    }

    /// Looks a key up without lazy deletion (for introspection that must not mutate).
    pub fn peek(&self, key: &[u8], now_ms: u64) -> Option<&Entry> {
        self.table.get(key).filter(|e| !e.is_expired(now_ms))
    }

    /// True when the key exists and is not expired (deletes it if expired).
    pub fn contains(&mut self, key: &[u8], now_ms: u64) -> bool {
        self.find(key, now_ms).is_some()
    }

    /// Tells the slice the current time (stamps entries that `set` stores unstamped). Every
    /// method given `now_ms` calls it; shard-side command code may call it once per command.
    #[inline]
    pub fn observe(&mut self, now_ms: u64) {
        self.clock_s = lru_clock(now_ms);
        self.now_ms = now_ms;
    }

    /// Inserts or replaces `key` with `rec` (its deadline included), returning the previous
    /// contents (expired or not). A record never stored (fresh from `Record::new`) counts as
    /// accessed now.
    pub fn set(&mut self, key: &[u8], rec: Record) -> Option<Record> {
        if !self.watched.is_empty() {
            self.touch_key(key);
        }
        self.cas_changed(key);
        self.mc_forget(key);
        let stamp = rec.stamp.unwrap_or_else(|| match &self.clock {
            Some(c) if self.now_ms == 0 || c.is_manual() => lru_clock(c.now_ms()),
            _ => self.clock_s,
        });
        let ttl = rec.expire_at != 0;
        // A full segment first reclaims expired items in the buckets it probes, then splits
        // (Dash's insertion-time GC): expired keys nobody reads cost no growth.
        let now = match &self.clock {
            Some(c) if self.now_ms == 0 || c.is_manual() => c.now_ms(),
            _ => self.now_ms,
        };
        let mut reclaimed = 0usize;
        let mc = &mut self.mc;
        let cas = &mut self.cas;
        let (events, index) = (&self.events, self.index);
        let old = self.table.insert_with_gc(
            hash_key(key),
            Entry::new(key, rec.value, rec.expire_at, stamp),
            |e| now != 0 && e.is_expired(now),
            |e| {
                reclaimed += 1;
                expired_gone(mc, cas, events, index, e.key());
            },
        );
        if reclaimed > 0 {
            self.with_ttl -= reclaimed;
            self.stats.expired_keys += reclaimed as u64;
        }
        if ttl {
            self.with_ttl += 1;
        }
        let old = old.map(Record::from_entry);
        if let Some(o) = &old {
            if o.expire_at != 0 {
                self.with_ttl -= 1;
            }
        }
        // Redis's dbAdd announces every key it creates; a key replaced after its deadline was
        // first deleted as expired (lookupKeyWrite), then created.
        // The slice's latest time may be stale (a command need not tell it), so a replaced key
        // with a deadline is judged by the clock.
        let fresh = |s: &DbSlice| {
            s.clock
                .as_ref()
                .map_or(s.now_ms, |c| c.now_ms().max(s.now_ms))
        };
        match &old {
            None => self.notify(crate::notify::NEW, "new", key),
            Some(o) if o.expire_at != 0 && fresh(self) > o.expire_at => {
                self.notify(crate::notify::EXPIRED, "expired", key);
                self.notify(crate::notify::NEW, "new", key);
            }
            Some(_) => {}
        }
        old
    }

    /// Removes a key, returning its contents unless it had already expired.
    pub fn remove(&mut self, key: &[u8], now_ms: u64) -> Option<Record> {
        self.observe(now_ms);
        self.mc_forget(key);
        let e = self.table.remove(key)?;
        if e.expire_at() != 0 {
            self.with_ttl -= 1;
        }
        if e.is_expired(now_ms) {
            self.stats.expired_keys += 1;
            if self.cas.is_watched(key) {
                self.cas.expired.push(key.into());
            }
            self.notify(crate::notify::EXPIRED, "expired", key);
            None
        } else {
            self.cas_changed(key);
            Some(Record::from_entry(e))
        }
    }

    /// Sets or clears a live key's deadline. Returns false when the key does not exist.
    pub fn set_expire(&mut self, key: &[u8], expire_at: u64, now_ms: u64) -> bool {
        let Some(e) = self.find(key, now_ms) else {
            return false;
        };
        let had = e.expire_at() != 0;
        let same = e.expire_at() == expire_at;
        e.set_expire_at(expire_at);
        if !same {
            self.cas_changed(key);
        }
        match (had, expire_at != 0) {
            (false, true) => self.with_ttl += 1,
            (true, false) => self.with_ttl -= 1,
            _ => {}
        }
        true
    }

    /// Reports a keyspace event on `key` in this database (see `crate::notify::emit`): one
    /// relaxed load when `class` is not enabled.
    #[inline]
    pub fn notify(&self, class: u32, event: &str, key: &[u8]) {
        crate::notify::emit(&self.events, class, event, self.index, key);
    }

    /// Marks `key` as one a blocked client waits on (`Shard::block_on`).
    pub fn watch(&mut self, key: &[u8]) {
        if !self.watched.contains(key) {
            self.watched.insert(key.into());
        }
    }

    pub fn unwatch(&mut self, key: &[u8]) {
        self.watched.remove(key);
    }

    /// Records that a watched `key` may have changed (no-op for keys nobody waits on).
    pub fn touch_key(&mut self, key: &[u8]) {
        if self.watched.contains(key) && !self.touched.iter().any(|k| **k == *key) {
            self.touched.push(key.into());
        }
    }

    pub fn has_touched(&self) -> bool {
        !self.touched.is_empty()
    }

    /// The touched watched keys, in the order first touched; clears the list.
    pub fn take_touched(&mut self) -> Vec<Box<[u8]>> {
        std::mem::take(&mut self.touched)
    }

    /// Empties the slice. Watchers of keys that existed are told (Redis's FLUSHDB touches only
    /// watched keys that exist).
    pub fn clear(&mut self) {
        if !self.cas.keys.is_empty() {
            let present: Vec<Box<[u8]>> = (self.cas.keys.iter())
                .filter(|k| self.table.get(k).is_some())
                .cloned()
                .collect();
            self.cas.changed.extend(present);
        }
        self.mc.rows.clear();
        self.table.clear();
        self.with_ttl = 0;
        self.expire_cursor = 0;
    }

    /// One stateless scan step (see `DashTable::scan`); skips expired keys.
    pub fn scan(
        &self,
        cursor: u64,
        count: usize,
        now_ms: u64,
        mut f: impl FnMut(&[u8], &Entry),
    ) -> u64 {
        self.table.scan(cursor, count, |e| {
            if !e.is_expired(now_ms) {
                f(e.key(), e)
            }
        })
    }

    /// Every live key (KEYS).
    pub fn iter(&self, now_ms: u64) -> impl Iterator<Item = (&[u8], &Entry)> {
        self.table
            .iter()
            .filter(move |e| !e.is_expired(now_ms))
            .map(|e| (e.key(), e))
    }

    /// A random live key, if any (tries a bounded number of times to skip expired ones).
    pub fn random_key(
        &mut self,
        now_ms: u64,
        mut rnd: impl FnMut(usize) -> usize,
    ) -> Option<Vec<u8>> {
        self.observe(now_ms);
        for _ in 0..100 {
            let e = self.table.random(&mut rnd)?;
            let k = e.key().to_vec();
            if !e.is_expired(now_ms) {
                return Some(k);
            }
            self.remove(&k, now_ms);
        }
        None
    }

    /// Active expiry: visits about `budget` entries, deleting expired ones. Returns how many were
    /// deleted.
    pub fn expire_step(&mut self, now_ms: u64, budget: usize) -> usize {
        self.observe(now_ms);
        if self.with_ttl == 0 {
            return 0;
        }
        let mut n = 0;
        let mc = &mut self.mc;
        let cas = &mut self.cas;
        let (events, index) = (&self.events, self.index);
        self.expire_cursor = self.table.sweep(
            self.expire_cursor,
            budget,
            |e| e.is_expired(now_ms),
            |e| {
                n += 1;
                expired_gone(mc, cas, events, index, e.key());
            },
        );
        self.with_ttl -= n;
        self.stats.expired_keys += n as u64;
        n
    }

    /// Approximate heap bytes used by this slice's values (not the table's own overhead).
    pub fn table_segments(&self) -> usize {
        self.table.segment_count()
    }
}

/// What removing an expired key tells the rest of its slice (lazily, by active expiry or by a
/// full segment's reclaim): its memcached row goes, its watchers are flagged, `expired` is
/// reported.
fn expired_gone(
    mc: &mut McTable,
    cas: &mut crate::watch::CasSlice,
    events: &crate::notify::Flags,
    index: usize,
    key: &[u8],
) {
    if !mc.rows.is_empty() {
        mc.rows.remove(key);
    }
    if cas.is_watched(key) {
        cas.expired.push(key.into());
    }
    crate::notify::emit(events, crate::notify::EXPIRED, "expired", index, key);
}

/// memcached item metadata (docs/design/memcached.md). Keys without a row read as flags 0 and
/// get a CAS unique issued on demand (`mc_issue`).
impl DbSlice {
    /// The metadata of `key` whose current string value is `value`, if a row exists and still
    /// describes this value.
    pub fn mc_meta(&self, key: &[u8], value: &[u8]) -> Option<McMeta> {
        if self.mc.rows.is_empty() {
            return None;
        }
        self.mc
            .rows
            .get(key)
            .filter(|m| m.sig == mc_sig(value))
            .copied()
    }

    /// The next CAS unique of this slice (strictly increasing).
    pub fn mc_next_cas(&mut self) -> u64 {
        self.mc.last_cas += 1;
        self.mc.last_cas
    }

    /// Records `flags` and a fresh CAS unique for `key`, whose value is now `value` (call after
    /// storing it). Flags 0 with no CAS wanted needs no row: pass `want_cas = false`.
    /// Returns the CAS unique (0 when no row was kept).
    pub fn mc_store(&mut self, key: &[u8], value: &[u8], flags: u32, want_cas: bool) -> u64 {
        if flags == 0 && !want_cas {
            self.mc_forget(key);
            return 0;
        }
        let cas = self.mc_next_cas();
        self.mc.rows.insert(
            key.into(),
            McMeta {
                flags,
                cas,
                bits: 0,
                sig: mc_sig(value),
            },
        );
        cas
    }

    /// The metadata of `key` (value `value`), issuing a CAS unique (and so a row) when it has
    /// none: what `gets` reports.
    pub fn mc_issue(&mut self, key: &[u8], value: &[u8]) -> McMeta {
        if let Some(m) = self.mc_meta(key, value) {
            return m;
        }
        self.mc_store(key, value, 0, true);
        self.mc.rows[key]
    }

    /// `key`'s row (value `value`), made (flags 0, a fresh CAS unique) when it has none: for
    /// changing meta-protocol state.
    pub fn mc_row(&mut self, key: &[u8], value: &[u8]) -> &mut McMeta {
        self.mc_issue(key, value);
        self.mc.rows.get_mut(key).expect("row just issued")
    }

    /// Adds `bits` to `key`'s row if it has a valid one (a fetch marks an item that has a row as
    /// fetched without making rows for items that have none).
    pub fn mc_mark(&mut self, key: &[u8], value: &[u8], bits: u8) {
        if self.mc.rows.is_empty() {
            return;
        }
        if let Some(m) = self.mc.rows.get_mut(key) {
            if m.sig == mc_sig(value) {
                m.bits |= bits;
            }
        }
    }

    /// Drops `key`'s row.
    pub fn mc_forget(&mut self, key: &[u8]) {
        if !self.mc.rows.is_empty() {
            self.mc.rows.remove(key);
        }
    }

    /// Rows held (tests, memory accounting).
    pub fn mc_rows(&self) -> usize {
        self.mc.rows.len()
    }
}

/// Memory accounting (MEMORY USAGE, MEMORY STATS, INFO memory). What a table slot costs depends
/// on the table behind the slice: these change with it, in this one place.
impl DbSlice {
    /// Bytes one entry occupies inside the table itself, apart from its key's and value's heap
    /// blocks: the 36-byte compact entry (inline key and value, tags, access stamp) plus its
    /// one-byte fingerprint (bucket bitmaps and versions add about one more byte per slot,
    /// counted in `table_overhead_bytes` through whole segments).
    pub const SLOT_BYTES: usize = size_of::<Entry>() + 1;

    /// Bytes attributable to one entry (MEMORY USAGE): its slot, plus the key's and the value's
    /// heap blocks (none for inline keys, inline strings and integers), each at the size
    /// mimalloc really gives such a request (`darter_alloc::good_size`, its size class).
    pub fn entry_bytes(e: &Entry) -> usize {
        darter_alloc::good_size(e.key_heap_len())
            + darter_alloc::good_size(e.value_heap_len())
            + Self::SLOT_BYTES
    }

    /// Looks a key up the way Redis's `dictFind` does: no expiry check, no access stamp (MEMORY
    /// USAGE reports a logically expired key until it is reclaimed, as Redis does).
    pub fn get_including_expired(&self, key: &[u8]) -> Option<&Entry> {
        self.table.get(key)
    }

    /// The table's own bytes (MEMORY STATS's `overhead.hashtable.main`): every segment, used
    /// or free, and the directory, as Redis counts its whole bucket array.
    pub fn table_overhead_bytes(&self) -> usize {
        self.table.segment_count() * DashTable::<Entry>::SEGMENT_BYTES
            + self.table.directory_len() * size_of::<u32>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use darter_collections::StrValue;

    const T0: u64 = 1_700_000_000_000;

    fn entry(v: &[u8]) -> Record {
        Record::new(Value::Str(StrValue::from_bytes(v)))
    }

    #[test]
    fn access_stamps_follow_touching_lookups_only() {
        let mut db = DbSlice::new();
        db.observe(T0);
        db.set(b"k", entry(b"v"));
        assert_eq!(db.peek(b"k", T0).unwrap().idle_secs(T0 + 5_999), 5);
        // Not touching: EXISTS/TYPE/TTL/OBJECT-style lookups.
        assert!(db.find_notouch(b"k", T0 + 7_000).is_some());
        assert_eq!(db.peek(b"k", T0).unwrap().idle_secs(T0 + 9_000), 9);
        // Touching: reads and writes.
        assert!(db.find(b"k", T0 + 10_000).is_some());
        assert_eq!(db.peek(b"k", T0).unwrap().idle_secs(T0 + 12_000), 2);
        // `set` stamps with the latest observed time; a stamped entry keeps its stamp.
        db.observe(T0 + 20_000);
        db.set(b"n", entry(b"v"));
        assert_eq!(db.peek(b"n", T0).unwrap().idle_secs(T0 + 21_000), 1);
        let moved = db.remove(b"k", T0 + 30_000).unwrap();
        db.set(b"k2", moved);
        assert_eq!(db.peek(b"k2", T0).unwrap().idle_secs(T0 + 30_000), 20);
    }

    #[test]
    fn equality_ignores_the_access_stamp() {
        let mut db = DbSlice::new();
        db.observe(T0);
        db.set(b"k", entry(b"v"));
        let stored = Record::copy_of(db.find(b"k", T0 + 1_000).unwrap());
        assert_eq!(stored, entry(b"v"));
        let mut with_ttl = entry(b"v");
        with_ttl.expire_at = T0 + 5;
        assert_ne!(stored, with_ttl);
    }

    #[test]
    fn a_full_segment_reclaims_expired_keys_before_splitting() {
        let mut db = DbSlice::new();
        db.observe(T0);
        for i in 0..3_000 {
            let mut e = entry(b"v");
            e.expire_at = T0 + 10;
            db.set(format!("old:{i}").as_bytes(), e);
        }
        assert_eq!(db.expires_count(), 3_000);
        // Later, without anyone reading the old keys, new keys fill the segments.
        db.observe(T0 + 1_000);
        for i in 0..3_000 {
            db.set(format!("new:{i}").as_bytes(), entry(b"v"));
        }
        let reclaimed = db.stats.expired_keys as usize;
        assert!(reclaimed > 0, "full segments collected expired items");
        assert_eq!(db.expires_count(), 3_000 - reclaimed);
        assert_eq!(db.len(), 6_000 - reclaimed);
    }

    #[test]
    fn memcached_rows_follow_the_value() {
        let mut db = DbSlice::new();
        db.observe(T0);
        db.set(b"k", entry(b"v"));
        assert_eq!(db.mc_meta(b"k", b"v"), None);
        let cas = db.mc_store(b"k", b"v", 7, false);
        assert_eq!(
            db.mc_meta(b"k", b"v").map(|m| (m.flags, m.cas)),
            Some((7, cas))
        );
        // Changed in place (APPEND-like): the row no longer describes the value.
        assert_eq!(db.mc_meta(b"k", b"vx"), None);
        // Any store drops it.
        db.set(b"k", entry(b"v"));
        assert_eq!((db.mc_meta(b"k", b"v"), db.mc_rows()), (None, 0));
        // gets issues a CAS on demand, flags 0; a later issue returns the same one.
        let m = db.mc_issue(b"k", b"v");
        assert_eq!((m.flags, db.mc_issue(b"k", b"v").cas), (0, m.cas));
        assert!(db.mc_remove_then_none(b"k"));
        // Expiry drops it too.
        db.set(
            b"t",
            Record::with_expiry(Value::Str(StrValue::from_bytes(b"v")), T0 + 5),
        );
        db.mc_store(b"t", b"v", 1, true);
        assert!(db.find(b"t", T0 + 10).is_none());
        assert_eq!(db.mc_rows(), 0);
        // Flags 0 without a wanted CAS keeps no row.
        db.set(b"z", entry(b"v"));
        assert_eq!(db.mc_store(b"z", b"v", 0, false), 0);
        assert_eq!(db.mc_rows(), 0);
    }

    impl DbSlice {
        fn mc_remove_then_none(&mut self, key: &[u8]) -> bool {
            self.remove(key, T0);
            self.mc_rows() == 0
        }
    }
}
