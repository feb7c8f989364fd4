//! WATCH's shard side: which clients watch which keys on this shard, and invalidating them when a
//! watched key changes (Redis's `touchWatchedKey` / `signalModifiedKey`).
//!
//! A client's WATCH set shares one `Arc<AtomicBool>` "dirty" flag across every shard it watches
//! keys on; a shard sets it, on the shard's own thread, when one of those keys is modified,
//! deleted, expires or is flushed. EXEC reads the flag inside its transaction (after its first hop,
//! so every write that preceded the transaction has already run and flagged).
//!
//! How a change is noticed, per `DbSlice` (only for keys someone watches, so nobody pays for it
//! otherwise):
//! - stores (`set`), removals of live keys (`remove`), deadline changes (`set_expire`) and
//!   flushes (`clear`) record the key as *changed*;
//! - an expired key's deletion records it as *expired* (a key that had already expired when it was
//!   watched is "logically unchanged" by that deletion, as in Redis);
//! - a lookup (`find_notouch`, which every in-place write goes through) snapshots the key's
//!   contents first; when the command is complete the shard compares the snapshot with the key
//!   (so a write that changes nothing, such as `SET NX` on an existing key, does not invalidate).
//!
//! The shard settles these records after every command and every concluding hop (the same points
//! at which it serves blocked clients), and also after its active-expiry beat.
//!
//! Must not: know anything of commands, clients or connections beyond the owner id and the flag.

use crate::db::{DbSlice, Record};
use crate::shard::Shard;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// What a slice records about its watched keys between settlements.
#[derive(Default)]
pub(crate) struct CasSlice {
    /// Keys some client watches in this slice's database on this shard.
    pub(crate) keys: HashSet<Box<[u8]>>,
    /// Watched keys stored, removed, re-deadlined or flushed since the last settlement.
    pub(crate) changed: Vec<Box<[u8]>>,
    /// Watched keys deleted because they expired.
    pub(crate) expired: Vec<Box<[u8]>>,
    /// Watched keys' contents before the first lookup since the last settlement.
    pub(crate) snaps: Vec<(Box<[u8]>, Option<Record>)>,
    /// The running command only reads: lookups need no snapshot (a snapshot copies the value).
    pub(crate) read_only: bool,
    /// Keys some client may cache, read in this database (`crate::tracking`).
    pub(crate) tracked: HashSet<Box<[u8]>>,
    /// Some client listens to a BCAST prefix: every key is noticed (`crate::tracking`).
    pub(crate) all: bool,
}

impl CasSlice {
    #[inline]
    pub(crate) fn is_watched(&self, key: &[u8]) -> bool {
        self.all
            || (!self.keys.is_empty() && self.keys.contains(key))
            || (!self.tracked.is_empty() && self.tracked.contains(key))
    }

    pub(crate) fn pending(&self) -> bool {
        !self.changed.is_empty() || !self.expired.is_empty() || !self.snaps.is_empty()
    }
}

/// One client's registration on one key.
struct Reg {
    owner: u64,
    flag: Arc<AtomicBool>,
    /// The key existed but had already expired when watched (Redis's `watchedKey.expired`).
    expired: bool,
}

/// The shard's WATCH registry: (database, key) -> registrations, in WATCH order.
#[derive(Default)]
pub struct CasWatches {
    regs: hashbrown::HashMap<(usize, Box<[u8]>), Vec<Reg>, foldhash::fast::FixedState>,
}

impl CasWatches {
    /// Number of watched (database, key) pairs (tests: back to 0 once every client unwatched).
    pub fn len(&self) -> usize {
        self.regs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.regs.is_empty()
    }
}

impl Shard {
    /// WATCH `key` in database `db` for `owner`, whose dirty flag is `flag`.
    pub fn cas_watch(&mut self, db: usize, key: &[u8], owner: u64, flag: &Arc<AtomicBool>) {
        let now = self.now_ms();
        let slice = &mut self.dbs[db];
        let expired = slice
            .get_including_expired(key)
            .is_some_and(|e| e.is_expired(now));
        let regs = self.cas.regs.entry((db, key.into())).or_default();
        if regs.iter().any(|r| r.owner == owner) {
            return;
        }
        regs.push(Reg {
            owner,
            flag: flag.clone(),
            expired,
        });
        slice.cas.keys.insert(key.into());
    }

    /// Drops `owner`'s registration on `key` (UNWATCH, EXEC, DISCARD, disconnect). A registration
    /// that already fired is gone; that is fine.
    pub fn cas_unwatch(&mut self, db: usize, key: &[u8], owner: u64) {
        let k = (db, Box::<[u8]>::from(key));
        if let Some(regs) = self.cas.regs.get_mut(&k) {
            regs.retain(|r| r.owner != owner);
            if regs.is_empty() {
                self.cas.regs.remove(&k);
                self.dbs[db].cas.keys.remove(key);
            }
        }
        if self.cas.regs.is_empty() && !self.track.active() {
            // Nothing recorded now can concern a later WATCH (settlement skips an empty registry).
            for d in &mut self.dbs {
                let tracked = std::mem::take(&mut d.cas.tracked);
                let all = d.cas.all;
                d.cas = Default::default();
                d.cas.tracked = tracked;
                d.cas.all = all;
            }
        }
    }

    /// EXEC's check of a watched key that still looks unchanged: true when it has expired since
    /// WATCH (Redis's `isWatchedKeyExpired`: the deadline passed, deleted yet or not).
    pub fn cas_expired_since_watch(&mut self, db: usize, key: &[u8], owner: u64) -> bool {
        let now = self.now_ms();
        let Some(regs) = self.cas.regs.get(&(db, Box::<[u8]>::from(key))) else {
            return false;
        };
        let Some(r) = regs.iter().find(|r| r.owner == owner) else {
            return false;
        };
        !r.expired
            && self.dbs[db]
                .get_including_expired(key)
                .is_some_and(|e| e.is_expired(now))
    }

    /// Watched keys existing in `db` (FLUSHDB/FLUSHALL/SWAPDB's invalidation): Redis's
    /// `touchAllWatchedKeysInDb` touches only keys that exist in the database emptied or in the one
    /// swapped in.
    pub(crate) fn cas_touch_existing(&mut self, db: usize, other: Option<usize>) {
        let now = self.now_ms();
        let keys: Vec<Box<[u8]>> = self.dbs[db].cas.keys.iter().cloned().collect();
        for k in keys {
            let exists = |s: &DbSlice| s.peek(&k, now).is_some();
            if exists(&self.dbs[db]) || other.is_some_and(|o| exists(&self.dbs[o])) {
                self.cas_fire(db, &k);
            }
        }
    }

    /// SWAPDB's shard side: exchanges this shard's parts of databases `a` and `b`. Clients watching
    /// a key in either database are invalidated when the key exists in either (Redis); the
    /// watch registry stays with the database index, not with the data, and each slice reports
    /// keyspace events under its new index.
    pub fn swap_dbs(&mut self, a: usize, b: usize) {
        self.settle_watches();
        self.cas_touch_existing(a, Some(b));
        self.cas_touch_existing(b, Some(a));
        self.dbs.swap(a, b);
        self.dbs[a].index = a;
        self.dbs[b].index = b;
        let ka = std::mem::take(&mut self.dbs[a].cas.keys);
        let kb = std::mem::take(&mut self.dbs[b].cas.keys);
        self.dbs[a].cas.keys = kb;
        self.dbs[b].cas.keys = ka;
        let ta = std::mem::take(&mut self.dbs[a].cas.tracked);
        let tb = std::mem::take(&mut self.dbs[b].cas.tracked);
        self.dbs[a].cas.tracked = tb;
        self.dbs[b].cas.tracked = ta;
    }

    /// Flags every client watching `key` in `db` and forgets their registrations (a dirty client
    /// needs no further signals).
    fn cas_fire(&mut self, db: usize, key: &[u8]) {
        if self.cas.regs.is_empty() {
            return;
        }
        if let Some(regs) = self.cas.regs.remove(&(db, Box::<[u8]>::from(key))) {
            for r in regs {
                r.flag.store(true, Ordering::Release);
            }
        }
        self.dbs[db].cas.keys.remove(key);
    }

    /// Turns what the slices recorded since the last settlement into flagged clients (also run by
    /// EXEC before it reads the flags).
    pub fn settle_watches(&mut self) {
        if self.cas.regs.is_empty() && !self.track.active() {
            return;
        }
        let now = self.now_ms();
        for db in 0..self.dbs.len() {
            if !self.dbs[db].cas.pending() {
                continue;
            }
            let changed = std::mem::take(&mut self.dbs[db].cas.changed);
            let expired = std::mem::take(&mut self.dbs[db].cas.expired);
            let snaps = std::mem::take(&mut self.dbs[db].cas.snaps);
            for k in changed {
                self.cas_fire(db, &k);
                self.track_fire(db, &k);
            }
            for k in expired {
                // Expiry invalidates cached copies whatever WATCH makes of it.
                self.track_fire(db, &k);
                let Some(regs) = self.cas.regs.remove(&(db, k.clone())) else {
                    continue;
                };
                // Deleting a key that was already expired when watched changes nothing
                // logically (its watchers stay, now as watchers of a missing key); everyone else
                // watching it sees it go.
                let keep: Vec<Reg> = regs
                    .into_iter()
                    .filter_map(|mut r| {
                        if r.expired {
                            r.expired = false;
                            Some(r)
                        } else {
                            r.flag.store(true, Ordering::Release);
                            None
                        }
                    })
                    .collect();
                if keep.is_empty() {
                    self.dbs[db].cas.keys.remove(&k);
                } else {
                    self.cas.regs.insert((db, k), keep);
                }
            }
            for (k, before) in snaps {
                let after = self.dbs[db]
                    .get_including_expired(&k)
                    .filter(|e| !e.is_expired(now))
                    .map(Record::copy_of);
                if before != after {
                    self.cas_fire(db, &k);
                    self.track_fire(db, &k);
                }
            }
        }
        self.track_broadcast();
    }
}

#[cfg(test)]
mod tests {
    use crate::clock::Clock;
    use crate::db::Record;
    use crate::shard::Shard;
    use darter_collections::{StrValue, Value};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    fn shard() -> (Shard, Arc<Clock>) {
        let clock = Arc::new(Clock::manual());
        (Shard::new(0, 4, clock.clone()), clock)
    }

    fn str_rec(v: &str) -> Record {
        Record::new(Value::Str(StrValue::from_bytes(v.as_bytes())))
    }

    fn watched(s: &mut Shard, db: usize, key: &[u8], owner: u64) -> Arc<AtomicBool> {
        let f = Arc::new(AtomicBool::new(false));
        s.cas_watch(db, key, owner, &f);
        f
    }

    #[test]
    fn a_store_flags_every_watcher_of_the_key_only() {
        let (mut s, _) = shard();
        let a = watched(&mut s, 0, b"k", 1);
        let b = watched(&mut s, 0, b"k", 2);
        let other = watched(&mut s, 0, b"j", 3);
        let other_db = watched(&mut s, 1, b"k", 4);
        s.dbs[0].set(b"k", str_rec("v"));
        s.drain_ready();
        assert!(a.load(Ordering::Acquire) && b.load(Ordering::Acquire));
        assert!(!other.load(Ordering::Acquire) && !other_db.load(Ordering::Acquire));
        // Fired registrations are gone; the rest stay.
        assert_eq!(s.cas.len(), 2);
    }

    #[test]
    fn a_lookup_that_changes_nothing_does_not_flag_but_an_in_place_change_does() {
        let (mut s, clock) = shard();
        s.dbs[0].set(b"k", str_rec("v"));
        let f = watched(&mut s, 0, b"k", 1);
        let now = clock.now_ms();
        assert!(s.dbs[0].find(b"k", now).is_some());
        assert!(s.dbs[0].remove(b"missing", now).is_none());
        s.drain_ready();
        assert!(!f.load(Ordering::Acquire));
        // An in-place change through a lookup: a deadline set directly on the entry.
        let e = s.dbs[0].find(b"k", now).expect("present");
        e.set_expire_at(now + 10_000);
        s.drain_ready();
        assert!(f.load(Ordering::Acquire));
    }

    #[test]
    fn flush_flags_existing_keys_only_and_swap_flags_keys_in_either_database() {
        let (mut s, _) = shard();
        s.dbs[0].set(b"k", str_rec("v"));
        let present = watched(&mut s, 0, b"k", 1);
        let missing = watched(&mut s, 0, b"nokey", 1);
        s.dbs[0].clear();
        s.drain_ready();
        assert!(present.load(Ordering::Acquire));
        assert!(!missing.load(Ordering::Acquire));
        s.dbs[2].set(b"nokey", str_rec("v"));
        s.swap_dbs(0, 2);
        assert!(missing.load(Ordering::Acquire));
        // The registry stays with database 0.
        let again = watched(&mut s, 0, b"nokey", 5);
        s.dbs[0].set(b"nokey", str_rec("w"));
        s.drain_ready();
        assert!(again.load(Ordering::Acquire));
    }

    #[test]
    fn expiry_flags_keys_alive_when_watched_but_not_keys_already_expired() {
        let (mut s, clock) = shard();
        let now = clock.now_ms();
        s.dbs[0].set(
            b"alive",
            Record::with_expiry(Value::Str(StrValue::from_bytes(b"v")), now + 100),
        );
        s.dbs[0].set(
            b"dead",
            Record::with_expiry(Value::Str(StrValue::from_bytes(b"v")), now + 100),
        );
        let alive = watched(&mut s, 0, b"alive", 1);
        clock.advance_ms(200);
        let dead = watched(&mut s, 0, b"dead", 1);
        assert!(s.cas_expired_since_watch(0, b"alive", 1));
        assert!(!s.cas_expired_since_watch(0, b"dead", 1));
        let now = clock.now_ms();
        assert!(s.dbs[0].find(b"alive", now).is_none());
        assert!(s.dbs[0].find(b"dead", now).is_none());
        s.drain_ready();
        assert!(alive.load(Ordering::Acquire));
        assert!(!dead.load(Ordering::Acquire));
        // The already-expired key's watcher now watches a missing key: a new value flags it.
        s.dbs[0].set(b"dead", str_rec("new"));
        s.drain_ready();
        assert!(dead.load(Ordering::Acquire));
    }

    #[test]
    fn unwatch_empties_the_registry() {
        let (mut s, _) = shard();
        let _f = watched(&mut s, 0, b"a", 1);
        let _g = watched(&mut s, 3, b"b", 1);
        let _h = watched(&mut s, 0, b"a", 2);
        s.cas_unwatch(0, b"a", 1);
        assert_eq!(s.cas.len(), 2);
        s.cas_unwatch(0, b"a", 2);
        s.cas_unwatch(3, b"b", 1);
        s.cas_unwatch(3, b"b", 1);
        assert!(s.cas.is_empty());
        assert!(s.dbs.iter().all(|d| d.cas.keys.is_empty()));
    }
}
