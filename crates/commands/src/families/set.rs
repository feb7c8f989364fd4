//! Set family: SADD SREM SCARD SISMEMBER SMISMEMBER SMEMBERS SRANDMEMBER SPOP SMOVE SINTER
//! SINTERCARD SINTERSTORE SUNION SUNIONSTORE SDIFF SDIFFSTORE SSCAN, as Redis 7.0's t_set.c
//! replies, with Redis 7.2's encodings (intset / listpack / hashtable; the conversions live in
//! `darter_collections::setval`).
//!
//! How each reaches its shards:
//! - one key (SADD ... SSCAN): a shard handler, inline or one hop;
//! - SINTER SUNION SDIFF SINTERCARD: when every key is on one shard, a shard handler reads the
//!   sets in place; otherwise one transaction with shared locks reads a copy of every set in one
//!   concluding hop (a consistent snapshot) and the coordinator computes the reply;
//! - SINTERSTORE SUNIONSTORE SDIFFSTORE: one transaction with exclusive locks on every key: a
//!   hop reads the sources, the concluding hop stores (or deletes) the destination;
//! - SMOVE across shards: a hop checks both keys' types and the member, the concluding hop
//!   removes it from the source and adds it to the destination; nobody sees it in neither or both.
//!
//! Results are built as Redis builds them (SUNION/SDIFF into a set that starts as an intset,
//! SINTERSTORE from the smallest set's kind and back to an intset when only integers remain), so
//! reply order and the stored encoding match Redis where Redis's order is defined (intsets ascend,
//! listpacks keep insertion order). Read lookups count keyspace hits and misses; writes do not.

use crate::args::parse_i64;
use crate::config::glob_match;
use crate::context::{Conn, ShardCmd};
use crate::errors;
use crate::families::generic::parse_cursor;
use crate::multi::{conclude, hop_each, panic_reply, run_each, EachFn, KeyGroups};
use crate::registry::{Cmd, Handler, LocalBoxFuture};
use bytes::Bytes;
use darter_collections::{Limits, LpEntry, SetValue, Value};
use darter_engine::keys::shard_of;
use darter_engine::notify;
use darter_engine::shard::ShardStats;
use darter_engine::tx::HopFn;
use darter_engine::{DbSlice, Panicked, Record, Shard};
use darter_resp::ReplyWriter;
use std::sync::Arc;

#[cfg(test)]
mod tests;

pub static COMMANDS: &[Cmd] = &[
    Cmd::new("sadd", Handler::Shard(cmd_sadd)),
    Cmd::new("srem", Handler::Shard(cmd_srem)),
    Cmd::new("scard", Handler::Shard(cmd_scard)),
    Cmd::new("sismember", Handler::Shard(cmd_sismember)),
    Cmd::new("smismember", Handler::Shard(cmd_smismember)),
    Cmd::new("smembers", Handler::Shard(cmd_smembers)),
    Cmd::new("srandmember", Handler::Shard(cmd_srandmember)),
    Cmd::new("spop", Handler::Shard(cmd_spop)),
    Cmd::new("sscan", Handler::Shard(cmd_sscan)),
    Cmd::new(
        "smove",
        Handler::Multi {
            shard: Some(shard_smove),
            coord: cmd_smove,
        },
    ),
    Cmd::new(
        "sinter",
        Handler::Multi {
            shard: Some(shard_sinter),
            coord: cmd_sinter,
        },
    ),
    Cmd::new(
        "sintercard",
        Handler::Multi {
            shard: Some(shard_sintercard),
            coord: cmd_sintercard,
        },
    ),
    Cmd::new(
        "sunion",
        Handler::Multi {
            shard: Some(shard_sunion),
            coord: cmd_sunion,
        },
    ),
    Cmd::new(
        "sdiff",
        Handler::Multi {
            shard: Some(shard_sdiff),
            coord: cmd_sdiff,
        },
    ),
    Cmd::new(
        "sinterstore",
        Handler::Multi {
            shard: Some(shard_sinterstore),
            coord: cmd_sinterstore,
        },
    ),
    Cmd::new(
        "sunionstore",
        Handler::Multi {
            shard: Some(shard_sunionstore),
            coord: cmd_sunionstore,
        },
    ),
    Cmd::new(
        "sdiffstore",
        Handler::Multi {
            shard: Some(shard_sdiffstore),
            coord: cmd_sdiffstore,
        },
    ),
];

// -------------------------------------------------------------------------------------------------
// Shared pieces
// -------------------------------------------------------------------------------------------------

/// The key holds another type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WrongType;

/// The selected database, the shard's counters and thresholds, borrowed apart.
pub(crate) fn parts<'a>(sc: &'a mut ShardCmd<'_>) -> (&'a mut DbSlice, &'a mut ShardStats, Limits) {
    let shard = &mut *sc.shard;
    let limits = shard.limits;
    shard.dbs[sc.db].observe(sc.now_ms);
    (&mut shard.dbs[sc.db], &mut shard.stats, limits)
}

/// A random source seeded from the shard's generator (so it can run while the shard's database
/// is borrowed): `rnd(n)` is in `0..n`.
pub(crate) fn rng_of(shard: &mut Shard) -> impl FnMut(usize) -> usize {
    let mut x = (shard.rand(usize::MAX) as u64) | 1;
    move |n| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if n == 0 {
            0
        } else {
            (x % n as u64) as usize
        }
    }
}

pub(crate) fn count_read(stats: &mut ShardStats, found: bool) {
    if found {
        stats.keyspace_hits += 1;
    } else {
        stats.keyspace_misses += 1;
    }
}

/// A set key's value (deleting the key first if expired); WrongType for another type.
pub fn find_set<'a>(
    db: &'a mut DbSlice,
    key: &[u8],
    now: u64,
) -> Result<Option<&'a mut SetValue>, WrongType> {
    match db.find(key, now) {
        None => Ok(None),
        Some(e) => match e.obj_mut() {
            Some(Value::Set(s)) => Ok(Some(s)),
            _ => Err(WrongType),
        },
    }
}

/// `find_set` for a read command: counts a keyspace hit or miss.
fn read_set<'a>(
    db: &'a mut DbSlice,
    stats: &mut ShardStats,
    key: &[u8],
    now: u64,
) -> Result<Option<&'a mut SetValue>, WrongType> {
    let r = find_set(db, key, now);
    count_read(stats, !matches!(r, Ok(None)));
    r
}

pub(crate) fn entry(w: &mut ReplyWriter, e: LpEntry<'_>) {
    match e {
        LpEntry::Int(v) => w.bulk_int(v),
        LpEntry::Str(s) => w.bulk(s),
    }
}

/// A whole set as a RESP3 set (RESP2 array).
fn reply_set(w: &mut ReplyWriter, s: &SetValue) {
    w.set(s.len());
    s.iter().for_each(|e| entry(w, e));
}

fn reply_members(w: &mut ReplyWriter, ms: &[Vec<u8>], as_set: bool) {
    if as_set {
        w.set(ms.len());
    } else {
        w.array(ms.len());
    }
    for m in ms {
        w.bulk(m);
    }
}

/// Removes `key` when its set became empty (Redis deletes empty collections).
/// Reports `del` when it deletes.
fn drop_if_empty(db: &mut DbSlice, key: &[u8], now: u64) {
    if matches!(find_set(db, key, now), Ok(Some(s)) if s.is_empty()) {
        db.remove(key, now);
        db.notify(notify::GENERIC, "del", key);
    }
}

// -------------------------------------------------------------------------------------------------
// SADD SREM SCARD SISMEMBER SMISMEMBER SMEMBERS
// -------------------------------------------------------------------------------------------------

/// Adds `members`; returns how many were new. A new key is created for the first member with
/// SADD's member count as the size hint; an existing small set converts first when that count
/// alone exceeds its limit (Redis 7.2's `setTypeMaybeConvert`).
pub fn op_sadd(
    db: &mut DbSlice,
    key: &[u8],
    members: &[&[u8]],
    l: &Limits,
    now: u64,
) -> Result<usize, WrongType> {
    let n = members.len();
    let add_all = |s: &mut SetValue| members.iter().filter(|m| s.add(m, l)).count();
    match find_set(db, key, now)? {
        Some(s) => {
            s.maybe_convert(n, l);
            let added = add_all(s);
            if added > 0 {
                db.notify(notify::SET, "sadd", key);
            }
            Ok(added)
        }
        None => {
            let Some(first) = members.first() else {
                return Ok(0);
            };
            let mut s = SetValue::create(first, n, l);
            let added = add_all(&mut s);
            db.set(key, Record::new(Value::Set(s)));
            db.notify(notify::SET, "sadd", key);
            Ok(added)
        }
    }
}

fn members_of(args: &[Bytes], from: usize) -> Vec<&[u8]> {
    args[from..].iter().map(|a| &a[..]).collect()
}

/// SADD key member [member ...]
fn cmd_sadd(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let (db, _, l) = parts(sc);
    match op_sadd(db, &args[1], &members_of(args, 2), &l, now) {
        Ok(n) => w.int(n as i64),
        Err(WrongType) => w.error(errors::WRONGTYPE),
    }
}

/// Removes `members`; returns how many were there. The key goes when the set empties.
pub fn op_srem(
    db: &mut DbSlice,
    key: &[u8],
    members: &[&[u8]],
    now: u64,
) -> Result<usize, WrongType> {
    let Some(s) = find_set(db, key, now)? else {
        return Ok(0);
    };
    let mut removed = 0;
    for m in members {
        if s.remove(m) {
            removed += 1;
            if s.is_empty() {
                break;
            }
        }
    }
    if removed > 0 {
        db.notify(notify::SET, "srem", key);
    }
    drop_if_empty(db, key, now);
    Ok(removed)
}

/// SREM key member [member ...]
fn cmd_srem(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let (db, _, _) = parts(sc);
    match op_srem(db, &args[1], &members_of(args, 2), now) {
        Ok(n) => w.int(n as i64),
        Err(WrongType) => w.error(errors::WRONGTYPE),
    }
}

/// SCARD key
fn cmd_scard(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let (db, stats, _) = parts(sc);
    match read_set(db, stats, &args[1], now) {
        Ok(s) => w.int(s.map_or(0, |s| s.len() as i64)),
        Err(WrongType) => w.error(errors::WRONGTYPE),
    }
}

/// SISMEMBER key member
fn cmd_sismember(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let (db, stats, _) = parts(sc);
    match read_set(db, stats, &args[1], now) {
        Ok(s) => w.int(i64::from(s.is_some_and(|s| s.contains(&args[2])))),
        Err(WrongType) => w.error(errors::WRONGTYPE),
    }
}

/// SMISMEMBER key member [member ...]
fn cmd_smismember(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let (db, stats, _) = parts(sc);
    match read_set(db, stats, &args[1], now) {
        Ok(s) => {
            w.array(args.len() - 2);
            for m in &args[2..] {
                w.int(i64::from(s.as_ref().is_some_and(|s| s.contains(m))));
            }
        }
        Err(WrongType) => w.error(errors::WRONGTYPE),
    }
}

/// SMEMBERS key
fn cmd_smembers(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let (db, stats, _) = parts(sc);
    match read_set(db, stats, &args[1], now) {
        Ok(Some(s)) => reply_set(w, s),
        Ok(None) => w.set(0),
        Err(WrongType) => w.error(errors::WRONGTYPE),
    }
}

// -------------------------------------------------------------------------------------------------
// SRANDMEMBER SPOP
// -------------------------------------------------------------------------------------------------

/// The most members a negative SRANDMEMBER count may ask for (a positive count is bounded by
/// the set's size). Redis would try to build any size (and be stopped only by output buffer
/// limits); darter refuses counts past this with SRANDMEMBER's out-of-range error instead of
/// exhausting memory.
pub const MAX_REPLY_COUNT: u64 = 1 << 32;

/// SRANDMEMBER with a count: `Some((members, as_set))`, None when the key is missing. A
/// negative count may repeat members; a positive one never does. `as_set` is true when the
/// whole set is returned (Redis 7.0 replies with a RESP3 set then).
pub fn op_srandmember_count(
    s: &SetValue,
    count: i64,
    mut rnd: impl FnMut(usize) -> usize,
) -> (Vec<Vec<u8>>, bool) {
    let n = count.unsigned_abs() as usize;
    if n == 0 {
        return (Vec::new(), false);
    }
    if count < 0 || n == 1 {
        let ms = (0..n)
            .filter_map(|_| s.random(&mut rnd).map(|e| e.to_vec()))
            .collect();
        return (ms, false);
    }
    if n >= s.len() {
        return (s.members(), true);
    }
    (s.sample(n, rnd), false)
}

/// SRANDMEMBER key [count]
fn cmd_srandmember(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    if args.len() > 3 {
        return w.error(errors::SYNTAX);
    }
    let count = match args.get(2).map(|a| parse_i64(a)) {
        None => None,
        Some(None) => return w.error(errors::NOT_INTEGER),
        Some(Some(i64::MIN)) => return w.error(errors::COUNT_OUT_OF_LONG_RANGE),
        Some(Some(c)) if c < 0 && c.unsigned_abs() > MAX_REPLY_COUNT => {
            return w.error(errors::COUNT_OUT_OF_LONG_RANGE)
        }
        Some(Some(c)) => Some(c),
    };
    let mut rnd = rng_of(sc.shard);
    let (db, stats, _) = parts(sc);
    let s = match read_set(db, stats, &args[1], now) {
        Err(WrongType) => return w.error(errors::WRONGTYPE),
        Ok(s) => s,
    };
    match (s, count) {
        (None, None) => w.null(),
        (None, Some(_)) => w.array(0),
        (Some(s), None) => match s.random(&mut rnd) {
            Some(e) => entry(w, e),
            None => w.null(),
        },
        (Some(s), Some(c)) => {
            let (ms, as_set) = op_srandmember_count(s, c, rnd);
            reply_members(w, &ms, as_set);
        }
    }
}

/// SPOP: removes and returns `count` random members (all when `count` reaches the size, and
/// the key goes when the set empties). None when the key is missing.
pub fn op_spop(
    db: &mut DbSlice,
    key: &[u8],
    count: usize,
    l: &Limits,
    rnd: impl FnMut(usize) -> usize,
    now: u64,
) -> Result<Option<Vec<Vec<u8>>>, WrongType> {
    let Some(s) = find_set(db, key, now)? else {
        return Ok(None);
    };
    let popped = s.pop_many(count, rnd, l);
    if !popped.is_empty() {
        db.notify(notify::SET, "spop", key);
    }
    drop_if_empty(db, key, now);
    Ok(Some(popped))
}

/// SPOP key [count]
fn cmd_spop(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    if args.len() > 3 {
        return w.error(errors::SYNTAX);
    }
    let count = match args.get(2).map(|a| parse_i64(a)) {
        None => None,
        // `getPositiveLongFromObjectOrReply`: one message for non-integers and negatives.
        Some(None) => return w.error(errors::MUST_BE_POSITIVE),
        Some(Some(c)) if c < 0 => return w.error(errors::MUST_BE_POSITIVE),
        Some(Some(c)) => Some(c as u64),
    };
    let rnd = rng_of(sc.shard);
    let (db, _, l) = parts(sc);
    match count {
        None => match op_spop(db, &args[1], 1, &l, rnd, now) {
            Err(WrongType) => w.error(errors::WRONGTYPE),
            Ok(None) => w.null(),
            Ok(Some(ms)) => match ms.first() {
                Some(m) => w.bulk(m),
                None => w.null(),
            },
        },
        Some(c) => {
            // Redis checks the type of an existing key before answering a zero count.
            let size = match find_set(db, &args[1], now) {
                Err(WrongType) => return w.error(errors::WRONGTYPE),
                Ok(None) => return w.set(0),
                Ok(Some(s)) => s.len() as u64,
            };
            if c == 0 {
                return w.set(0);
            }
            let c = c.min(size) as usize;
            match op_spop(db, &args[1], c, &l, rnd, now) {
                Ok(Some(ms)) => reply_members(w, &ms, true),
                Ok(None) => w.set(0),
                Err(WrongType) => w.error(errors::WRONGTYPE),
            }
        }
    }
}

// -------------------------------------------------------------------------------------------------
// SSCAN
// -------------------------------------------------------------------------------------------------

/// SSCAN's options (after the cursor), with Redis's errors in Redis's order.
fn parse_sscan_opts(opts: &[Bytes]) -> Result<(usize, Option<Bytes>), &'static str> {
    crate::families::generic::parse_scan_opts(opts, false).map(|(count, f)| (count, f.pattern))
}

/// One SSCAN step: the next cursor and the members found (filtered by `pattern`). Small
/// encodings return everything with cursor 0; a hashtable's cursor survives resizes.
pub fn op_sscan(
    s: &SetValue,
    cursor: u64,
    count: usize,
    pattern: Option<&[u8]>,
) -> (u64, Vec<Vec<u8>>) {
    let mut out = Vec::new();
    let next = s.scan(cursor, count, |e| {
        e.with_bytes(|b| {
            if pattern.is_none_or(|p| glob_match(p, b, false)) {
                out.push(b.to_vec());
            }
        })
    });
    (next, out)
}

/// SSCAN key cursor [MATCH pattern] [COUNT count]
fn cmd_sscan(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let Some(cursor) = parse_cursor(&args[2]) else {
        return w.error(errors::INVALID_CURSOR);
    };
    let (db, stats, _) = parts(sc);
    let s = match read_set(db, stats, &args[1], now) {
        Err(WrongType) => return w.error(errors::WRONGTYPE),
        Ok(None) => {
            w.array(2);
            w.bulk(b"0");
            return w.array(0);
        }
        Ok(Some(s)) => s,
    };
    let (count, pattern) = match parse_sscan_opts(&args[3..]) {
        Ok(x) => x,
        Err(e) => return w.error(e),
    };
    let (next, found) = op_sscan(s, cursor, count, pattern.as_deref());
    w.array(2);
    w.bulk(next.to_string().as_bytes());
    reply_members(w, &found, false);
}

// -------------------------------------------------------------------------------------------------
// SINTER SUNION SDIFF (and STORE) SINTERCARD: the algebra, on borrowed sets
// -------------------------------------------------------------------------------------------------

/// Which algebra a multi-key command applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetOp {
    Inter,
    Union,
    Diff,
}

/// The intersection's members in the order Redis replies with them: the smallest set's order.
/// Stops after `limit` members (0: no limit). A missing key (None) makes it empty.
pub fn inter<'a>(sets: &[Option<&'a SetValue>], limit: usize) -> Vec<LpEntry<'a>> {
    let Some(mut sets) = sets.iter().copied().collect::<Option<Vec<&SetValue>>>() else {
        return Vec::new();
    };
    sets.sort_by_key(|s| s.len());
    let mut out = Vec::new();
    for e in sets[0].iter() {
        if sets[1..].iter().all(|s| s.contains_entry(&e)) {
            out.push(e);
            if limit != 0 && out.len() >= limit {
                break;
            }
        }
    }
    out
}

/// SINTERSTORE's result as Redis 7.2 builds it: an intset when the smallest set is one, else a
/// listpack, grown by the usual rules, and an intset at the end when only integers made it.
pub fn inter_store(sets: &[Option<&SetValue>], l: &Limits) -> SetValue {
    let members = inter(sets, 0);
    let smallest_ints = sets
        .iter()
        .flatten()
        .min_by_key(|s| s.len())
        .is_some_and(|s| matches!(s, SetValue::Ints(_)));
    let mut dst = if smallest_ints {
        SetValue::Ints(Default::default())
    } else {
        SetValue::Packed(Default::default())
    };
    let mut only_ints = true;
    for e in &members {
        only_ints &= e.as_i64().is_some();
        e.with_bytes(|b| dst.add(b, l));
    }
    if only_ints && !dst.is_empty() {
        dst.maybe_to_intset(l);
    }
    dst
}

/// SUNION / SDIFF as Redis builds them: into a set that starts as an intset. SDIFF picks Redis's
/// algorithm by the same cost estimate, since the two can leave different encodings.
pub fn union_diff(op: SetOp, sets: &[Option<&SetValue>], l: &Limits) -> SetValue {
    let mut dst = SetValue::Ints(Default::default());
    match op {
        SetOp::Union | SetOp::Inter => {
            for s in sets.iter().flatten() {
                for e in s.iter() {
                    e.with_bytes(|b| dst.add(b, l));
                }
            }
        }
        SetOp::Diff => {
            let Some(first) = sets[0] else {
                return dst;
            };
            let present = sets.iter().flatten().count();
            let algo_one = first.len() * present / 2;
            let algo_two: usize = sets.iter().flatten().map(|s| s.len()).sum();
            if algo_one <= algo_two {
                for e in first.iter() {
                    if !sets[1..].iter().flatten().any(|s| s.contains_entry(&e)) {
                        e.with_bytes(|b| dst.add(b, l));
                    }
                }
            } else {
                for (j, s) in sets.iter().enumerate() {
                    let Some(s) = s else { continue };
                    for e in s.iter() {
                        e.with_bytes(|b| {
                            if j == 0 {
                                dst.add(b, l);
                            } else {
                                dst.remove(b);
                            }
                        });
                    }
                    if dst.is_empty() {
                        break;
                    }
                }
            }
        }
    }
    dst
}

/// What a multi-key command answers, computed from its sets.
enum Answer {
    /// SINTER/SUNION/SDIFF: the members, as a RESP3 set.
    Members(Vec<Vec<u8>>),
    /// SINTERCARD, and the STORE variants' resulting size.
    Count(usize),
}

/// What to compute: the op, whether to store, SINTERCARD's limit.
#[derive(Clone, Copy, Debug)]
struct Plan {
    op: SetOp,
    store: bool,
    card: Option<usize>,
}

/// The event a STORE variant reports (its command's name).
fn store_event(op: SetOp) -> &'static str {
    match op {
        SetOp::Inter => "sinterstore",
        SetOp::Union => "sunionstore",
        SetOp::Diff => "sdiffstore",
    }
}

/// Computes a multi-key command's result: the reply, and for STORE the value to store.
fn compute(p: Plan, sets: &[Option<&SetValue>], l: &Limits) -> (Answer, Option<SetValue>) {
    if let Some(limit) = p.card {
        return (Answer::Count(inter(sets, limit).len()), None);
    }
    let result = match p.op {
        SetOp::Inter if !p.store => {
            let ms = inter(sets, 0).iter().map(LpEntry::to_vec).collect();
            return (Answer::Members(ms), None);
        }
        SetOp::Inter => inter_store(sets, l),
        op => union_diff(op, sets, l),
    };
    if p.store {
        (Answer::Count(result.len()), Some(result))
    } else {
        (Answer::Members(result.members()), None)
    }
}

fn reply_answer(w: &mut ReplyWriter, a: &Answer) {
    match a {
        Answer::Members(ms) => reply_members(w, ms, true),
        Answer::Count(n) => w.int(*n as i64),
    }
}

/// Stores a STORE command's result under `dst` (replacing any value and deadline), or deletes
/// `dst` when the result is empty. Returns the stored size.
/// Reports `event` (the command's name) for a store, `del` when an existing `dst` is deleted.
pub fn op_store(
    db: &mut DbSlice,
    dst: &[u8],
    result: Option<SetValue>,
    event: &str,
    now: u64,
) -> usize {
    match result {
        Some(s) if !s.is_empty() => {
            let n = s.len();
            db.set(dst, Record::new(Value::Set(s)));
            db.notify(notify::SET, event, dst);
            n
        }
        _ => {
            if db.remove(dst, now).is_some() {
                db.notify(notify::GENERIC, "del", dst);
            }
            0
        }
    }
}

/// SINTERCARD's arguments: (numkeys, limit), with Redis's errors in Redis's order.
fn parse_sintercard(args: &[Bytes]) -> Result<(usize, usize), &'static str> {
    let numkeys = match parse_i64(&args[1]) {
        Some(n) if n >= 1 => n as u64,
        _ => return Err(errors::NUMKEYS_NOT_POSITIVE),
    };
    if numkeys > (args.len() - 2) as u64 {
        return Err(errors::NUMKEYS_GT_ARGS);
    }
    let numkeys = numkeys as usize;
    let mut limit = 0usize;
    let mut j = 2 + numkeys;
    while j < args.len() {
        let more = args.len() - 1 - j;
        if args[j].eq_ignore_ascii_case(b"limit") && more > 0 {
            j += 1;
            limit = match parse_i64(&args[j]) {
                Some(v) if v >= 0 => usize::try_from(v).unwrap_or(usize::MAX),
                _ => return Err(errors::LIMIT_NEGATIVE),
            };
        } else {
            return Err(errors::SYNTAX);
        }
        j += 1;
    }
    Ok((numkeys, limit))
}

/// A multi-key command's plan and the argument range of its source keys.
fn plan_of(name: &str, args: &[Bytes]) -> Result<(Plan, std::ops::Range<usize>), &'static str> {
    let n = args.len();
    Ok(match name {
        "sinter" => (plan(SetOp::Inter, false), 1..n),
        "sunion" => (plan(SetOp::Union, false), 1..n),
        "sdiff" => (plan(SetOp::Diff, false), 1..n),
        "sinterstore" => (plan(SetOp::Inter, true), 2..n),
        "sunionstore" => (plan(SetOp::Union, true), 2..n),
        "sdiffstore" => (plan(SetOp::Diff, true), 2..n),
        _ => {
            let (numkeys, limit) = parse_sintercard(args)?;
            let p = Plan {
                op: SetOp::Inter,
                store: false,
                card: Some(limit),
            };
            (p, 2..2 + numkeys)
        }
    })
}

fn plan(op: SetOp, store: bool) -> Plan {
    Plan {
        op,
        store,
        card: None,
    }
}

/// Looks every source key up for reading, as Redis's loop does: stops at the first key of
/// another type. Counts hits and misses.
fn check_sources(
    db: &mut DbSlice,
    stats: &mut ShardStats,
    keys: &[Bytes],
    now: u64,
) -> Result<(), WrongType> {
    for k in keys {
        read_set(db, stats, k, now)?;
    }
    Ok(())
}

/// The live set under `key`, borrowed (after `check_sources` deleted expired keys).
fn peek_set<'a>(db: &'a DbSlice, key: &[u8], now: u64) -> Option<&'a SetValue> {
    match db.peek(key, now)?.obj() {
        Some(Value::Set(s)) => Some(s),
        _ => None,
    }
}

/// Every multi-key command with all its keys on this shard: computes in place.
fn shard_multi(sc: &mut ShardCmd, w: &mut ReplyWriter, name: &str) {
    let (args, now) = (sc.args, sc.now_ms);
    let (p, range) = match plan_of(name, args) {
        Ok(x) => x,
        Err(e) => return w.error(e),
    };
    let (db, stats, l) = parts(sc);
    if check_sources(db, stats, &args[range.clone()], now).is_err() {
        return w.error(errors::WRONGTYPE);
    }
    let sets: Vec<Option<&SetValue>> = args[range].iter().map(|k| peek_set(db, k, now)).collect();
    let (answer, result) = compute(p, &sets, &l);
    if p.store {
        op_store(db, &args[1], result, name, now);
    }
    reply_answer(w, &answer);
}

fn shard_sinter(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    shard_multi(sc, w, "sinter")
}
fn shard_sintercard(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    shard_multi(sc, w, "sintercard")
}
fn shard_sunion(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    shard_multi(sc, w, "sunion")
}
fn shard_sdiff(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    shard_multi(sc, w, "sdiff")
}
fn shard_sinterstore(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    shard_multi(sc, w, "sinterstore")
}
fn shard_sunionstore(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    shard_multi(sc, w, "sunionstore")
}
fn shard_sdiffstore(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    shard_multi(sc, w, "sdiffstore")
}

/// One source key as read on its shard for a cross-shard command.
#[derive(Clone, Debug)]
pub enum Fetched {
    Missing,
    WrongType,
    Set(SetValue),
}

/// Reads copies of this shard's source keys (those at argument index `>= first`), counting
/// lookups; also returns the shard's thresholds.
fn fetch_job(first: usize) -> EachFn<(Limits, Vec<(usize, Fetched)>)> {
    Arc::new(move |s: &mut Shard, db, keys| {
        let now = s.now_ms();
        let limits = s.limits;
        let shard = &mut *s;
        let got = keys
            .iter()
            .filter(|(i, _)| *i >= first)
            .map(|(i, k)| {
                let f = match read_set(&mut shard.dbs[db], &mut shard.stats, k, now) {
                    Ok(None) => Fetched::Missing,
                    Ok(Some(v)) => Fetched::Set(v.clone()),
                    Err(WrongType) => Fetched::WrongType,
                };
                (*i, f)
            })
            .collect();
        (limits, got)
    })
}

/// Puts fetched sources back in argument order: None for a missing key, Err at the first
/// key of another type (Redis's check order).
fn assemble(
    parts: Vec<(Limits, Vec<(usize, Fetched)>)>,
    range: std::ops::Range<usize>,
) -> Result<(Limits, Vec<Option<SetValue>>), WrongType> {
    let mut limits = Limits::default();
    let mut slots: Vec<Option<Fetched>> = vec![None; range.end];
    for (l, got) in parts {
        limits = l;
        for (i, f) in got {
            slots[i] = Some(f);
        }
    }
    let mut out = Vec::with_capacity(range.len());
    for i in range {
        match slots[i].take() {
            Some(Fetched::WrongType) => return Err(WrongType),
            Some(Fetched::Set(s)) => out.push(Some(s)),
            _ => out.push(None),
        }
    }
    Ok((limits, out))
}

/// Any multi-key command across shards (see the module docs for the hops).
async fn coord_multi(c: &mut Conn, args: Vec<Bytes>, name: &str) {
    let (p, range) = match plan_of(name, &args) {
        Ok(x) => x,
        Err(e) => return c.out.error(e),
    };
    let n = c.engine().num_shards();
    let db = c.state.db;
    let mut keys: Vec<(usize, Bytes)> = range.clone().map(|i| (i, args[i].clone())).collect();
    if p.store {
        keys.push((1, args[1].clone()));
    }
    let groups = KeyGroups::new(n, db, keys, p.store);
    if !p.store {
        let parts = match run_each(c, &groups, fetch_job(range.start)).await {
            Ok(x) => x,
            Err(e) => return panic_reply(c, &e),
        };
        let (limits, sets) = match assemble(parts, range) {
            Ok(x) => x,
            Err(WrongType) => return c.out.error(errors::WRONGTYPE),
        };
        let refs: Vec<Option<&SetValue>> = sets.iter().map(Option::as_ref).collect();
        let (answer, _) = compute(p, &refs, &limits);
        return reply_answer(&mut c.out, &answer);
    }
    match store_across(c, &groups, p, range, args[1].clone()).await {
        Ok(Ok(answer)) => reply_answer(&mut c.out, &answer),
        Ok(Err(WrongType)) => c.out.error(errors::WRONGTYPE),
        Err(e) => panic_reply(c, &e),
    }
}

/// A STORE command across shards: hop 1 reads the sources, the concluding hop writes `dst`.
async fn store_across(
    c: &Conn,
    groups: &KeyGroups,
    p: Plan,
    range: std::ops::Range<usize>,
    dst: Bytes,
) -> Result<Result<Answer, WrongType>, Panicked> {
    let db = c.state.db;
    let mut tx = groups.schedule(c).await;
    let parts = hop_each(&mut tx, groups, db, fetch_job(range.start), false).await?;
    let (limits, sets) = match assemble(parts, range) {
        Ok(x) => x,
        Err(WrongType) => {
            conclude(&mut tx).await;
            return Ok(Err(WrongType));
        }
    };
    let refs: Vec<Option<&SetValue>> = sets.iter().map(Option::as_ref).collect();
    let (answer, result) = compute(p, &refs, &limits);
    let dst_shard = shard_of(&dst, c.engine().num_shards());
    let mut result = Some(result);
    let jobs = tx
        .shards()
        .iter()
        .map(|&sid| {
            if sid != dst_shard {
                return None;
            }
            let (dst, result) = (dst.clone(), result.take().flatten());
            Some(Box::new(move |s: &mut Shard| {
                let now = s.now_ms();
                op_store(&mut s.dbs[db], &dst, result, store_event(p.op), now);
            }) as HopFn<()>)
        })
        .collect();
    for r in tx.hop(jobs, true).await {
        if let Some(Err(e)) = r {
            return Err(e);
        }
    }
    Ok(Ok(answer))
}

fn cmd_sinter(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(coord_multi(c, args, "sinter"))
}
fn cmd_sintercard(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(coord_multi(c, args, "sintercard"))
}
fn cmd_sunion(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(coord_multi(c, args, "sunion"))
}
fn cmd_sdiff(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(coord_multi(c, args, "sdiff"))
}
fn cmd_sinterstore(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(coord_multi(c, args, "sinterstore"))
}
fn cmd_sunionstore(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(coord_multi(c, args, "sunionstore"))
}
fn cmd_sdiffstore(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(coord_multi(c, args, "sdiffstore"))
}

// -------------------------------------------------------------------------------------------------
// SMOVE
// -------------------------------------------------------------------------------------------------

/// SMOVE within one slice, in Redis's order: a missing source answers 0 (whatever the
/// destination holds), then both types are checked, then the member. Returns 1 when moved (or,
/// with source == destination, when it is a member).
pub fn op_smove(
    db: &mut DbSlice,
    src: &[u8],
    dst: &[u8],
    member: &[u8],
    l: &Limits,
    now: u64,
) -> Result<i64, WrongType> {
    if find_set(db, src, now)?.is_none() {
        return Ok(0);
    }
    find_set(db, dst, now)?;
    if src == dst {
        let s = find_set(db, src, now)?.expect("found above");
        return Ok(i64::from(s.contains(member)));
    }
    let s = find_set(db, src, now)?.expect("found above");
    if !s.remove(member) {
        return Ok(0);
    }
    db.notify(notify::SET, "srem", src);
    drop_if_empty(db, src, now);
    smove_add(db, dst, member, l, now);
    Ok(1)
}

/// SMOVE's destination half: adds `member`, creating the set when missing.
fn smove_add(db: &mut DbSlice, dst: &[u8], member: &[u8], l: &Limits, now: u64) {
    match find_set(db, dst, now) {
        Ok(Some(d)) => {
            // Redis reports `sadd` only when the member was new there.
            if d.add(member, l) {
                db.notify(notify::SET, "sadd", dst);
            }
        }
        _ => {
            let mut d = SetValue::create(member, 1, l);
            d.add(member, l);
            db.set(dst, Record::new(Value::Set(d)));
            db.notify(notify::SET, "sadd", dst);
        }
    }
}

fn smove_reply(w: &mut ReplyWriter, r: Result<i64, WrongType>) {
    match r {
        Ok(n) => w.int(n),
        Err(WrongType) => w.error(errors::WRONGTYPE),
    }
}

/// SMOVE source destination member (both on this shard)
fn shard_smove(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let (db, _, l) = parts(sc);
    let r = op_smove(db, &args[1], &args[2], &args[3], &l, now);
    smove_reply(w, r);
}

/// What SMOVE's first hop learns about a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Probe {
    Missing,
    WrongType,
    /// A set; whether it holds the member.
    Set(bool),
}

fn probe(s: &mut Shard, db: usize, key: &[u8], member: &[u8], now: u64) -> Probe {
    match find_set(&mut s.dbs[db], key, now) {
        Ok(None) => Probe::Missing,
        Ok(Some(v)) => Probe::Set(v.contains(member)),
        Err(WrongType) => Probe::WrongType,
    }
}

/// SMOVE source destination member (on two shards): a checking hop on both, then a concluding
/// hop that removes from the source and adds to the destination together.
fn cmd_smove(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        let r = smove_across(c, args).await;
        match r {
            Ok(r) => smove_reply(&mut c.out, r),
            Err(p) => panic_reply(c, &p),
        }
    })
}

async fn smove_across(c: &Conn, args: Vec<Bytes>) -> Result<Result<i64, WrongType>, Panicked> {
    let engine = c.engine().clone();
    let n = engine.num_shards();
    let db = c.state.db;
    let (src, dst, member) = (args[1].clone(), args[2].clone(), args[3].clone());
    let groups = KeyGroups::new(n, db, [(1, src.clone()), (2, dst.clone())], true);
    if groups.shards.len() == 1 {
        return engine
            .run_on(groups.shards[0], &groups.locks[0], move |s| {
                let (now, l) = (s.now_ms(), s.limits);
                op_smove(&mut s.dbs[db], &src, &dst, &member, &l, now)
            })
            .await;
    }
    let si = groups.index_of(shard_of(&src, n)).expect("source shard");
    // One `now` for every hop: a key alive when checked is alive when changed.
    let now = engine.clock.now_ms();
    let mut tx = groups.schedule(c).await;
    let jobs = (0..2)
        .map(|i| {
            let (key, m) = (
                if i == si { src.clone() } else { dst.clone() },
                member.clone(),
            );
            Some(Box::new(move |s: &mut Shard| probe(s, db, &key, &m, now)) as HopFn<Probe>)
        })
        .collect();
    let mut probes = [Probe::Missing; 2];
    for (i, r) in tx.hop(jobs, false).await.into_iter().enumerate() {
        probes[i] = r.expect("both shards had a job")?;
    }
    let (ps, pd) = (probes[si], probes[1 - si]);
    let verdict = match (ps, pd) {
        (Probe::Missing, _) => Some(Ok(0)),
        (Probe::WrongType, _) | (_, Probe::WrongType) => Some(Err(WrongType)),
        (Probe::Set(false), _) => Some(Ok(0)),
        (Probe::Set(true), _) => None,
    };
    if let Some(v) = verdict {
        conclude(&mut tx).await;
        return Ok(v);
    }
    let jobs = (0..2)
        .map(|i| {
            let m = member.clone();
            if i == si {
                let src = src.clone();
                Some(Box::new(move |s: &mut Shard| {
                    let d = &mut s.dbs[db];
                    if let Ok(Some(v)) = find_set(d, &src, now) {
                        if v.remove(&m) {
                            d.notify(notify::SET, "srem", &src);
                        }
                    }
                    drop_if_empty(d, &src, now);
                }) as HopFn<()>)
            } else {
                let dst = dst.clone();
                Some(Box::new(move |s: &mut Shard| {
                    let l = s.limits;
                    smove_add(&mut s.dbs[db], &dst, &m, &l, now);
                }) as HopFn<()>)
            }
        })
        .collect();
    for r in tx.hop(jobs, true).await {
        if let Some(Err(e)) = r {
            return Err(e);
        }
    }
    Ok(Ok(1))
}
