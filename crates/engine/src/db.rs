//! `DbSlice`: one database's keys on one shard, with expiry.
//!
//! This is the interface every command's shard-side code uses; the table behind it may change
//! (the Dash table replaces the interim segmented table) without callers noticing. Expiry is lazy
//! here (an expired key is deleted when looked up) and active in `Shard::heartbeat`.
//! It must only ever be touched by the shard's owning thread.

use darter_collections::{hash_key, Table, Value};

/// A stored value with its absolute expiry deadline (ms since the epoch, 0 = none).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub value: Value,
    pub expire_at: u64,
}

impl Entry {
    pub fn new(value: Value) -> Entry {
        Entry {
            value,
            expire_at: 0,
        }
    }

    #[inline]
    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expire_at != 0 && self.expire_at <= now_ms
    }
}

/// Counters a slice keeps for INFO.
#[derive(Debug, Default, Clone, Copy)]
pub struct SliceStats {
    pub expired_keys: u64,
}

#[derive(Default)]
pub struct DbSlice {
    table: Table<Entry>,
    /// Keys that carry a deadline (INFO keyspace `expires=`).
    with_ttl: usize,
    pub stats: SliceStats,
    expire_cursor: usize,
}

impl DbSlice {
    pub fn new() -> DbSlice {
        DbSlice::default()
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

    /// Looks a key up, deleting it first if it has expired.
    #[inline]
    pub fn find(&mut self, key: &[u8], now_ms: u64) -> Option<&mut Entry> {
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
        }
        r
    }

    /// Looks a key up without lazy deletion (for introspection that must not mutate).
    pub fn peek(&self, key: &[u8], now_ms: u64) -> Option<&Entry> {
        self.table.get(key).filter(|e| !e.is_expired(now_ms))
    }

    /// True when the key exists and is not expired (deletes it if expired).
    pub fn contains(&mut self, key: &[u8], now_ms: u64) -> bool {
        self.find(key, now_ms).is_some()
    }

    /// Inserts or replaces `key` with `entry` (its deadline included).
    pub fn set(&mut self, key: &[u8], entry: Entry) -> Option<Entry> {
        let ttl = entry.expire_at != 0;
        let old = self.table.insert(key, entry);
        if ttl {
            self.with_ttl += 1;
        }
        if let Some(o) = &old {
            if o.expire_at != 0 {
                self.with_ttl -= 1;
            }
        }
        old
    }

    /// Removes a key, returning its entry unless it had already expired.
    pub fn remove(&mut self, key: &[u8], now_ms: u64) -> Option<Entry> {
        let e = self.table.remove(key)?;
        if e.expire_at != 0 {
            self.with_ttl -= 1;
        }
        if e.is_expired(now_ms) {
            self.stats.expired_keys += 1;
            None
        } else {
            Some(e)
        }
    }

    /// Sets or clears a live key's deadline. Returns false when the key does not exist.
    pub fn set_expire(&mut self, key: &[u8], expire_at: u64, now_ms: u64) -> bool {
        let Some(e) = self.find(key, now_ms) else {
            return false;
        };
        let had = e.expire_at != 0;
        e.expire_at = expire_at;
        match (had, expire_at != 0) {
            (false, true) => self.with_ttl += 1,
            (true, false) => self.with_ttl -= 1,
            _ => {}
        }
        true
    }

    pub fn clear(&mut self) {
        self.table.clear();
        self.with_ttl = 0;
        self.expire_cursor = 0;
    }

    /// One stateless scan step (see `Table::scan`); skips expired keys.
    pub fn scan(
        &self,
        cursor: u64,
        count: usize,
        now_ms: u64,
        mut f: impl FnMut(&[u8], &Entry),
    ) -> u64 {
        self.table.scan(cursor, count, |k, e| {
            if !e.is_expired(now_ms) {
                f(k, e)
            }
        })
    }

    /// Every live key (KEYS).
    pub fn iter(&self, now_ms: u64) -> impl Iterator<Item = (&[u8], &Entry)> {
        self.table
            .iter()
            .filter(move |(_, e)| !e.is_expired(now_ms))
    }

    /// A random live key, if any (tries a bounded number of times to skip expired ones).
    pub fn random_key(
        &mut self,
        now_ms: u64,
        mut rnd: impl FnMut(usize) -> usize,
    ) -> Option<Vec<u8>> {
        for _ in 0..100 {
            let (k, e) = self.table.random(&mut rnd)?;
            if !e.is_expired(now_ms) {
                return Some(k.to_vec());
            }
            let k = k.to_vec();
            self.remove(&k, now_ms);
        }
        None
    }

    /// Active expiry: visits about `budget` entries, deleting expired ones. Returns how many were
    /// deleted.
    pub fn expire_step(&mut self, now_ms: u64, budget: usize) -> usize {
        if self.with_ttl == 0 {
            return 0;
        }
        let mut n = 0;
        self.expire_cursor = self.table.sweep(
            self.expire_cursor,
            budget,
            |_, e| e.is_expired(now_ms),
            |_, _| n += 1,
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
