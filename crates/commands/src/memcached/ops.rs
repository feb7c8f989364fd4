//! Shard side of the memcached commands: plain synchronous functions of one `DbSlice` (database
//! 0 of the key's shard) and the time, unit-testable without a server.
//!
//! memcached items are string keys of the shared keyspace; their client flags and CAS unique live
//! in the slice's memcached rows (`DbSlice::mc_*`, docs/design/memcached.md). Keys of other
//! types are invisible to memcached reads and updates (a miss), are replaced by `set`, block
//! `add`, and are removed by `delete`. Must not: do I/O, await, or touch another shard.

use darter_collections::{StrValue, Value};
use darter_engine::{DbSlice, Record};
use darter_memcache::{StoreOp, REALTIME_MAXDELTA};

/// When an item expires, from a memcached exptime (memcached's `realtime()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deadline {
    Never,
    /// Already expired: stored items vanish at once.
    Expired,
    /// Absolute deadline in ms since the epoch.
    At(u64),
}

/// 0 = never; negative = already expired; up to 30 days relative; beyond, a unix time.
pub fn deadline(exptime: i64, now_ms: u64) -> Deadline {
    if exptime == 0 {
        return Deadline::Never;
    }
    if exptime < 0 {
        return Deadline::Expired;
    }
    let at = if exptime > REALTIME_MAXDELTA {
        exptime as u64 * 1000
    } else {
        now_ms + exptime as u64 * 1000
    };
    if at <= now_ms {
        Deadline::Expired
    } else {
        // Keys expire strictly after their deadline: the item is gone from `at` on.
        Deadline::At(at - 1)
    }
}

/// One item as a read returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub flags: u32,
    pub data: Vec<u8>,
    /// The CAS unique (0 when not asked for and none issued).
    pub cas: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreResult {
    Stored,
    NotStored,
    Exists,
    NotFound,
}

/// A live string key's bytes, or None (missing, expired, or another type).
fn string_of(db: &mut DbSlice, key: &[u8], now: u64) -> Option<Vec<u8>> {
    db.find(key, now)?.as_str().map(|s| s.to_vec())
}

/// Stores `data` under `key` with `flags`, until `dl`; returns the new CAS unique (0 when no
/// row was needed).
fn put(
    db: &mut DbSlice,
    key: &[u8],
    data: &[u8],
    flags: u32,
    dl: Deadline,
    want_cas: bool,
    now: u64,
) -> u64 {
    match dl {
        Deadline::Expired => {
            db.remove(key, now);
            0
        }
        Deadline::Never | Deadline::At(_) => {
            let at = if let Deadline::At(t) = dl { t } else { 0 };
            db.set(
                key,
                Record::with_expiry(Value::Str(StrValue::from_bytes(data)), at),
            );
            db.mc_store(key, data, flags, want_cas)
        }
    }
}

/// The request of one storage command, shard side.
#[derive(Clone, Debug)]
pub struct Store {
    pub op: StoreOp,
    pub flags: u32,
    pub exptime: i64,
    pub cas: u64,
    /// Issue a CAS unique for the stored item (meta `ms` with `c`).
    pub want_cas: bool,
}

/// set/add/replace/append/prepend/cas. Returns the result and the stored item's CAS unique.
pub fn op_store(
    db: &mut DbSlice,
    key: &[u8],
    req: &Store,
    data: &[u8],
    now: u64,
) -> (StoreResult, u64) {
    let dl = deadline(req.exptime, now);
    let current = string_of(db, key, now);
    match req.op {
        StoreOp::Set => {}
        StoreOp::Add => {
            if db.contains(key, now) {
                return (StoreResult::NotStored, 0);
            }
        }
        StoreOp::Replace => {
            if current.is_none() {
                return (StoreResult::NotStored, 0);
            }
        }
        StoreOp::Append | StoreOp::Prepend => {
            let Some(old) = current else {
                return (StoreResult::NotStored, 0);
            };
            // Flags and expiry stay the item's own (memcached ignores the given ones).
            let flags = db.mc_meta(key, &old).map_or(0, |m| m.flags);
            let at = db.peek(key, now).map_or(0, |e| e.expire_at());
            let mut v = Vec::with_capacity(old.len() + data.len());
            if req.op == StoreOp::Append {
                v.extend_from_slice(&old);
                v.extend_from_slice(data);
            } else {
                v.extend_from_slice(data);
                v.extend_from_slice(&old);
            }
            let dl = if at == 0 {
                Deadline::Never
            } else {
                Deadline::At(at)
            };
            let cas = put(db, key, &v, flags, dl, req.want_cas, now);
            return (StoreResult::Stored, cas);
        }
        StoreOp::Cas => {
            let Some(old) = current else {
                return (StoreResult::NotFound, 0);
            };
            match db.mc_meta(key, &old) {
                Some(m) if m.cas == req.cas => {}
                _ => return (StoreResult::Exists, 0),
            }
        }
    }
    let cas = put(db, key, data, req.flags, dl, req.want_cas, now);
    (StoreResult::Stored, cas)
}

/// get/gets (`touch` = None) and gat/gats (`touch` = Some(exptime)).
pub fn op_get(
    db: &mut DbSlice,
    key: &[u8],
    touch: Option<i64>,
    want_cas: bool,
    now: u64,
) -> Option<Item> {
    let data = string_of(db, key, now)?;
    let meta = if want_cas {
        Some(db.mc_issue(key, &data))
    } else {
        db.mc_meta(key, &data)
    };
    db.mc_mark(key, &data, darter_engine::db::MC_FETCHED);
    if let Some(exptime) = touch {
        apply_touch(db, key, exptime, now);
    }
    Some(Item {
        flags: meta.map_or(0, |m| m.flags),
        cas: meta.map_or(0, |m| m.cas),
        data,
    })
}

fn apply_touch(db: &mut DbSlice, key: &[u8], exptime: i64, now: u64) {
    match deadline(exptime, now) {
        Deadline::Never => {
            db.set_expire(key, 0, now);
        }
        Deadline::At(t) => {
            db.set_expire(key, t, now);
        }
        Deadline::Expired => {
            db.remove(key, now);
        }
    }
}

/// touch: true when the item exists.
pub fn op_touch(db: &mut DbSlice, key: &[u8], exptime: i64, now: u64) -> bool {
    if string_of(db, key, now).is_none() {
        return false;
    }
    apply_touch(db, key, exptime, now);
    true
}

/// delete: true when a key was removed.
pub fn op_delete(db: &mut DbSlice, key: &[u8], now: u64) -> bool {
    db.remove(key, now).is_some()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArithResult {
    NotFound,
    NonNumeric,
    Value(u64),
}

/// The number at the front of an item's data as memcached's `safe_strtoull` reads it there:
/// optional leading whitespace, digits, then the end or whitespace.
fn item_number(data: &[u8]) -> Option<u64> {
    let end = data
        .iter()
        .position(|b| b.is_ascii_whitespace())
        .filter(|&p| p > 0 && data[..p].iter().any(|b| !b.is_ascii_whitespace()))
        .unwrap_or(data.len());
    let (head, rest) = data.split_at(end);
    if !rest.is_empty() && !rest[0].is_ascii_whitespace() {
        return None;
    }
    darter_memcache::num::strtoull(head)
}

/// incr/decr: 64-bit unsigned, incr wraps, decr stops at 0. A shorter result is padded with
/// spaces to the old length, as memcached rewrites the value in place.
pub fn op_arith(
    db: &mut DbSlice,
    key: &[u8],
    delta: u64,
    incr: bool,
    want_cas: bool,
    now: u64,
) -> (ArithResult, u64) {
    let Some(old) = string_of(db, key, now) else {
        return (ArithResult::NotFound, 0);
    };
    let Some(v) = item_number(&old) else {
        return (ArithResult::NonNumeric, 0);
    };
    let n = if incr {
        v.wrapping_add(delta)
    } else {
        v.saturating_sub(delta)
    };
    let meta = db.mc_meta(key, &old);
    let mut text = n.to_string().into_bytes();
    if text.len() < old.len() {
        text.resize(old.len(), b' ');
    }
    let at = db.peek(key, now).map_or(0, |e| e.expire_at());
    let dl = if at == 0 {
        Deadline::Never
    } else {
        Deadline::At(at)
    };
    let flags = meta.map_or(0, |m| m.flags);
    let cas = put(db, key, &text, flags, dl, want_cas || meta.is_some(), now);
    (ArithResult::Value(n), cas)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_700_000_000_000;

    fn store(op: StoreOp, flags: u32, exptime: i64, cas: u64) -> Store {
        Store {
            op,
            flags,
            exptime,
            cas,
            want_cas: false,
        }
    }

    #[test]
    fn deadlines() {
        assert_eq!(deadline(0, T0), Deadline::Never);
        assert_eq!(deadline(-1, T0), Deadline::Expired);
        assert_eq!(deadline(10, T0), Deadline::At(T0 + 9_999));
        assert_eq!(
            deadline(REALTIME_MAXDELTA, T0),
            Deadline::At(T0 + 2_592_000_000 - 1)
        );
        assert_eq!(deadline(REALTIME_MAXDELTA + 1, T0), Deadline::Expired);
        let future = (T0 / 1000 + 100) as i64;
        assert_eq!(deadline(future, T0), Deadline::At(future as u64 * 1000 - 1));
    }

    #[test]
    fn storage_rules() {
        let mut db = DbSlice::new();
        let s = |db: &mut DbSlice, op, d: &[u8]| op_store(db, b"k", &store(op, 3, 0, 0), d, T0).0;
        assert_eq!(s(&mut db, StoreOp::Replace, b"x"), StoreResult::NotStored);
        assert_eq!(s(&mut db, StoreOp::Append, b"x"), StoreResult::NotStored);
        assert_eq!(s(&mut db, StoreOp::Add, b"b"), StoreResult::Stored);
        assert_eq!(s(&mut db, StoreOp::Add, b"x"), StoreResult::NotStored);
        assert_eq!(s(&mut db, StoreOp::Append, b"c"), StoreResult::Stored);
        assert_eq!(s(&mut db, StoreOp::Prepend, b"a"), StoreResult::Stored);
        let item = op_get(&mut db, b"k", None, true, T0).unwrap();
        assert_eq!((item.flags, &item.data[..]), (3, &b"abc"[..]));
        // cas: a wrong unique, the right one, then the old one again.
        let c = item.cas;
        assert_eq!(
            op_store(&mut db, b"k", &store(StoreOp::Cas, 0, 0, c + 100), b"z", T0).0,
            StoreResult::Exists
        );
        assert_eq!(
            op_store(&mut db, b"k", &store(StoreOp::Cas, 0, 0, c), b"z", T0).0,
            StoreResult::Stored
        );
        assert_eq!(
            op_store(&mut db, b"k", &store(StoreOp::Cas, 0, 0, c), b"y", T0).0,
            StoreResult::Exists
        );
        assert_eq!(
            op_store(&mut db, b"nope", &store(StoreOp::Cas, 0, 0, c), b"y", T0).0,
            StoreResult::NotFound
        );
        // A negative exptime stores nothing.
        assert_eq!(
            op_store(&mut db, b"k", &store(StoreOp::Set, 0, -1, 0), b"y", T0).0,
            StoreResult::Stored
        );
        assert!(op_get(&mut db, b"k", None, false, T0).is_none());
    }

    #[test]
    fn arithmetic() {
        let mut db = DbSlice::new();
        assert_eq!(
            op_arith(&mut db, b"n", 1, true, false, T0).0,
            ArithResult::NotFound
        );
        op_store(&mut db, b"n", &store(StoreOp::Set, 9, 0, 0), b"100", T0);
        assert_eq!(
            op_arith(&mut db, b"n", 95, false, false, T0).0,
            ArithResult::Value(5)
        );
        let item = op_get(&mut db, b"n", None, false, T0).unwrap();
        assert_eq!((item.flags, &item.data[..]), (9, &b"5  "[..]));
        assert_eq!(
            op_arith(&mut db, b"n", 10, false, false, T0).0,
            ArithResult::Value(0)
        );
        op_store(
            &mut db,
            b"n",
            &store(StoreOp::Set, 0, 0, 0),
            b"18446744073709551615",
            T0,
        );
        assert_eq!(
            op_arith(&mut db, b"n", 2, true, false, T0).0,
            ArithResult::Value(1)
        );
        op_store(&mut db, b"n", &store(StoreOp::Set, 0, 0, 0), b"12a", T0);
        assert_eq!(
            op_arith(&mut db, b"n", 2, true, false, T0).0,
            ArithResult::NonNumeric
        );
        assert_eq!(item_number(b"12 x"), Some(12));
        assert_eq!(item_number(b""), None);
    }

    #[test]
    fn touch_and_delete() {
        let mut db = DbSlice::new();
        assert!(!op_touch(&mut db, b"k", 10, T0));
        op_store(&mut db, b"k", &store(StoreOp::Set, 0, 0, 0), b"v", T0);
        assert!(op_touch(&mut db, b"k", 10, T0));
        assert!(op_get(&mut db, b"k", None, false, T0 + 9_999).is_some());
        assert!(op_get(&mut db, b"k", None, false, T0 + 10_000).is_none());
        op_store(&mut db, b"k", &store(StoreOp::Set, 0, 0, 0), b"v", T0);
        assert!(op_delete(&mut db, b"k", T0));
        assert!(!op_delete(&mut db, b"k", T0));
    }
}
