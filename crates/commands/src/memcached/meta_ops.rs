//! Shard side of the meta commands (`mg ms md ma me`): synchronous functions of database 0's
//! `DbSlice` and the time, returning what the coordinator needs to build the reply.
//!
//! Meta item state (stale, win token sent, fetched, binary key) lives in the slice's memcached rows
//! beside flags and CAS (`MC_*` bits), so it vanishes with any write to the key. The stale/win
//! rules are memcached 1.6.18's `process_mget_command`: `R` wins when the item's remaining TTL is
//! below the token, `N` wins for the client that created the item, a stale item wins once; a win
//! sets the token-sent bit, which later fetches see as `Z`. Must not: do I/O or await.

use super::ops::{self, deadline, ArithResult, Deadline};
use darter_collections::{StrValue, Value};
use darter_engine::db::{MC_BINARY_KEY, MC_FETCHED, MC_STALE, MC_TOKEN_SENT};
use darter_engine::{DbSlice, Record};
use darter_memcache::SetMode;

/// What a meta read reports about an item.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetaItem {
    pub flags: u32,
    pub cas: u64,
    pub data: Vec<u8>,
    /// Remaining TTL in seconds, -1 for none.
    pub ttl: i64,
    /// Seconds since the previous access.
    pub last_access: u64,
    pub hit_before: bool,
    pub binary_key: bool,
    /// Z, X, W.
    pub token_sent: bool,
    pub stale: bool,
    pub won: bool,
}

/// Remaining TTL in whole seconds (rounded up), -1 without a deadline.
fn ttl_secs(expire_at: u64, now: u64) -> i64 {
    if expire_at == 0 {
        -1
    } else {
        ((expire_at + 1).saturating_sub(now)).div_ceil(1000) as i64
    }
}

fn set_ttl(db: &mut DbSlice, key: &[u8], exptime: i64, now: u64) {
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

/// Options of `mg` that act on the item.
#[derive(Clone, Copy, Debug, Default)]
pub struct GetOpts {
    pub ttl: Option<i64>,
    pub vivify: Option<i64>,
    pub recache: Option<i64>,
}

/// mg: None on a miss (without `N`).
pub fn op_mg(db: &mut DbSlice, key: &[u8], o: GetOpts, now: u64) -> Option<MetaItem> {
    let mut created = false;
    let (data, last_access) = match db.peek(key, now) {
        Some(e) => match e.as_str() {
            Some(s) => (s.to_vec(), e.idle_secs(now)),
            // Another type is not an item, and is not replaced by a vivified one.
            None => return None,
        },
        None => {
            let exptime = o.vivify?;
            let at = match deadline(exptime, now) {
                Deadline::At(t) => t,
                _ => 0,
            };
            db.set(
                key,
                Record::with_expiry(Value::Str(StrValue::from_bytes(b"")), at),
            );
            created = true;
            (Vec::new(), 0)
        }
    };
    // Record the access (and reclaim an expired key).
    db.find(key, now)?;
    let mut won = created;
    if !created {
        if let Some(t) = o.ttl {
            set_ttl(db, key, t, now);
        }
    }
    let expire_at = db.peek(key, now).map_or(0, |e| e.expire_at());
    let row = db.mc_row(key, &data);
    if let Some(r) = o.recache {
        if row.bits & MC_TOKEN_SENT == 0
            && !created
            && expire_at != 0
            && ttl_secs(expire_at, now) < r
        {
            won = true;
        }
    }
    let token_sent = row.bits & MC_TOKEN_SENT != 0;
    let stale = row.bits & MC_STALE != 0;
    if stale && !token_sent {
        won = true;
    }
    let item = MetaItem {
        flags: row.flags,
        cas: row.cas,
        ttl: ttl_secs(expire_at, now),
        last_access,
        hit_before: row.bits & MC_FETCHED != 0,
        binary_key: row.bits & MC_BINARY_KEY != 0,
        token_sent,
        stale,
        won,
        data,
    };
    row.bits |= MC_FETCHED;
    if won {
        row.bits |= MC_TOKEN_SENT;
    }
    Some(item)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetaResult {
    /// HD
    Done,
    /// NS
    NotStored,
    /// EX
    Exists,
    /// NF
    NotFound,
    NonNumeric,
}

/// `ms` request, shard side.
#[derive(Clone, Debug)]
pub struct SetOpts {
    pub mode: SetMode,
    pub flags: u32,
    pub ttl: i64,
    pub compare_cas: Option<u64>,
    pub invalidate: bool,
    pub binary_key: bool,
}

/// ms: the result and the stored item's CAS unique.
pub fn op_ms(
    db: &mut DbSlice,
    key: &[u8],
    o: &SetOpts,
    data: &[u8],
    now: u64,
) -> (MetaResult, u64) {
    let current = db
        .find(key, now)
        .and_then(|e| e.as_str().map(|s| s.to_vec()));
    let mut keep_bits = 0u8;
    let mut keep_ttl = None;
    if let Some(c) = o.compare_cas {
        let Some(old) = &current else {
            return (MetaResult::NotFound, 0);
        };
        let row = *db.mc_row(key, old);
        if row.cas != c {
            if o.invalidate && c < row.cas {
                // Stored as stale: keeps the TTL, the stale bit and a sent win token.
                keep_bits = MC_STALE | (row.bits & MC_TOKEN_SENT);
                keep_ttl = Some(db.peek(key, now).map_or(0, |e| e.expire_at()));
            } else {
                return (MetaResult::Exists, 0);
            }
        }
    }
    let (value, flags, at): (Vec<u8>, u32, Option<u64>) = match o.mode {
        SetMode::Set => (data.to_vec(), o.flags, keep_ttl),
        SetMode::Add if current.is_some() || db.contains(key, now) => {
            return (MetaResult::NotStored, 0)
        }
        SetMode::Add => (data.to_vec(), o.flags, None),
        SetMode::Replace if current.is_none() => return (MetaResult::NotStored, 0),
        SetMode::Replace => (data.to_vec(), o.flags, keep_ttl),
        SetMode::Append | SetMode::Prepend => match &current {
            None => return (MetaResult::NotStored, 0),
            Some(old) => {
                let flags = db.mc_meta(key, old).map_or(0, |m| m.flags);
                let mut v = Vec::with_capacity(old.len() + data.len());
                if o.mode == SetMode::Append {
                    v.extend_from_slice(old);
                    v.extend_from_slice(data);
                } else {
                    v.extend_from_slice(data);
                    v.extend_from_slice(old);
                }
                (
                    v,
                    flags,
                    Some(db.peek(key, now).map_or(0, |e| e.expire_at())),
                )
            }
        },
    };
    let at = match at {
        Some(t) => t,
        None => match deadline(o.ttl, now) {
            Deadline::Never => 0,
            Deadline::At(t) => t,
            Deadline::Expired => {
                db.remove(key, now);
                return (MetaResult::Done, 0);
            }
        },
    };
    db.set(
        key,
        Record::with_expiry(Value::Str(StrValue::from_bytes(&value)), at),
    );
    let cas = db.mc_store(key, &value, flags, true);
    let row = db.mc_row(key, &value);
    row.bits |= keep_bits | if o.binary_key { MC_BINARY_KEY } else { 0 };
    (MetaResult::Done, cas)
}

/// md: delete, or with `invalidate` mark stale (new CAS, optional TTL).
pub fn op_md(
    db: &mut DbSlice,
    key: &[u8],
    compare_cas: Option<u64>,
    invalidate: bool,
    ttl: Option<i64>,
    now: u64,
) -> MetaResult {
    let Some(value) = db
        .find(key, now)
        .and_then(|e| e.as_str().map(|s| s.to_vec()))
    else {
        return MetaResult::NotFound;
    };
    if let Some(c) = compare_cas {
        if db.mc_row(key, &value).cas != c {
            return MetaResult::Exists;
        }
    }
    if invalidate {
        if let Some(t) = ttl {
            set_ttl(db, key, t, now);
        }
        let cas = db.mc_next_cas();
        let row = db.mc_row(key, &value);
        row.bits = (row.bits | MC_STALE) & !MC_TOKEN_SENT;
        row.cas = cas;
    } else {
        db.remove(key, now);
    }
    MetaResult::Done
}

/// `ma` request, shard side.
#[derive(Clone, Copy, Debug)]
pub struct ArithOpts {
    pub incr: bool,
    pub delta: u64,
    pub initial: u64,
    pub vivify: Option<i64>,
    pub compare_cas: Option<u64>,
    pub ttl: Option<i64>,
}

/// ma: the result, and on success the new value, CAS and TTL.
pub fn op_ma(db: &mut DbSlice, key: &[u8], o: ArithOpts, now: u64) -> (MetaResult, u64, u64, i64) {
    let Some(old) = db
        .find(key, now)
        .and_then(|e| e.as_str().map(|s| s.to_vec()))
    else {
        let Some(v) = o.vivify else {
            return (MetaResult::NotFound, 0, 0, 0);
        };
        let at = match deadline(v, now) {
            Deadline::At(t) => t,
            _ => 0,
        };
        let text = o.initial.to_string().into_bytes();
        db.set(
            key,
            Record::with_expiry(Value::Str(StrValue::from_bytes(&text)), at),
        );
        let cas = db.mc_store(key, &text, 0, true);
        return (MetaResult::Done, o.initial, cas, ttl_secs(at, now));
    };
    if let Some(c) = o.compare_cas {
        if db.mc_row(key, &old).cas != c {
            return (MetaResult::Exists, 0, 0, 0);
        }
    }
    match ops::op_arith(db, key, o.delta, o.incr, true, now) {
        (ArithResult::Value(v), cas) => {
            if let Some(t) = o.ttl {
                set_ttl(db, key, t, now);
            }
            let at = db.peek(key, now).map_or(0, |e| e.expire_at());
            (MetaResult::Done, v, cas, ttl_secs(at, now))
        }
        (ArithResult::NonNumeric, _) => (MetaResult::NonNumeric, 0, 0, 0),
        (ArithResult::NotFound, _) => (MetaResult::NotFound, 0, 0, 0),
    }
}

/// me: `exp= la= cas= fetch= cls= size=` of an item, or None.
pub fn op_me(db: &mut DbSlice, key: &[u8], now: u64) -> Option<String> {
    let e = db.peek(key, now)?;
    let data = e.as_str()?.to_vec();
    let (at, la) = (e.expire_at(), e.idle_secs(now));
    let row = *db.mc_row(key, &data);
    let size = 48 + key.len() + 1 + data.len() + 2 + 8 + if row.flags != 0 { 4 } else { 0 };
    Some(format!(
        "exp={} la={} cas={} fetch={} cls=1 size={}",
        ttl_secs(at, now),
        la,
        row.cas,
        if row.bits & MC_FETCHED != 0 {
            "yes"
        } else {
            "no"
        },
        size
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_700_000_000_000;

    fn set(o: SetMode) -> SetOpts {
        SetOpts {
            mode: o,
            flags: 0,
            ttl: 0,
            compare_cas: None,
            invalidate: false,
            binary_key: false,
        }
    }

    #[test]
    fn invalidation_hands_out_one_win() {
        let mut db = DbSlice::new();
        let (_, cas) = op_ms(&mut db, b"k", &set(SetMode::Set), b"abc", T0);
        assert_eq!(
            op_md(&mut db, b"k", None, true, Some(30), T0),
            MetaResult::Done
        );
        let first = op_mg(&mut db, b"k", GetOpts::default(), T0).unwrap();
        assert!(first.stale && first.won && !first.token_sent && first.cas > cas);
        let second = op_mg(&mut db, b"k", GetOpts::default(), T0).unwrap();
        assert!(second.stale && !second.won && second.token_sent);
        // A set with an older CAS and I stores the value, still stale, token still sent.
        let o = SetOpts {
            compare_cas: Some(1),
            invalidate: true,
            ..set(SetMode::Set)
        };
        assert_eq!(op_ms(&mut db, b"k", &o, b"new", T0).0, MetaResult::Done);
        let third = op_mg(&mut db, b"k", GetOpts::default(), T0).unwrap();
        assert_eq!(third.data, b"new");
        assert!(third.stale && third.token_sent && third.ttl == 30);
        // A plain set makes a fresh item.
        op_ms(&mut db, b"k", &set(SetMode::Set), b"v", T0);
        let fresh = op_mg(&mut db, b"k", GetOpts::default(), T0).unwrap();
        assert!(!fresh.stale && !fresh.token_sent && !fresh.won && !fresh.hit_before);
        assert!(
            op_mg(&mut db, b"k", GetOpts::default(), T0)
                .unwrap()
                .hit_before
        );
    }

    #[test]
    fn vivify_and_recache() {
        let mut db = DbSlice::new();
        let o = GetOpts {
            vivify: Some(30),
            ..GetOpts::default()
        };
        let first = op_mg(&mut db, b"v", o, T0).unwrap();
        assert!(first.won && first.data.is_empty() && first.ttl == 30);
        let second = op_mg(&mut db, b"v", o, T0).unwrap();
        assert!(!second.won && second.token_sent);
        assert!(op_mg(&mut db, b"nope", GetOpts::default(), T0).is_none());
        let o = SetOpts {
            ttl: 10,
            ..set(SetMode::Set)
        };
        op_ms(&mut db, b"r", &o, b"x", T0);
        let r = GetOpts {
            recache: Some(30),
            ..GetOpts::default()
        };
        assert!(op_mg(&mut db, b"r", r, T0).unwrap().won);
        assert!(!op_mg(&mut db, b"r", r, T0).unwrap().won);
    }

    #[test]
    fn arith_and_cas() {
        let mut db = DbSlice::new();
        let o = ArithOpts {
            incr: true,
            delta: 1,
            initial: 10,
            vivify: None,
            compare_cas: None,
            ttl: None,
        };
        assert_eq!(op_ma(&mut db, b"n", o, T0).0, MetaResult::NotFound);
        let v = ArithOpts {
            vivify: Some(0),
            ..o
        };
        assert_eq!(op_ma(&mut db, b"n", v, T0).1, 10);
        assert_eq!(op_ma(&mut db, b"n", o, T0).1, 11);
        let bad = ArithOpts {
            compare_cas: Some(999_999),
            ..o
        };
        assert_eq!(op_ma(&mut db, b"n", bad, T0).0, MetaResult::Exists);
        assert_eq!(
            op_md(&mut db, b"n", Some(999_999), false, None, T0),
            MetaResult::Exists
        );
        assert_eq!(
            op_md(&mut db, b"n", None, false, None, T0),
            MetaResult::Done
        );
        assert_eq!(
            op_md(&mut db, b"n", None, false, None, T0),
            MetaResult::NotFound
        );
    }
}
