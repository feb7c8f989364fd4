//! Hash family: HSET HSETNX HMSET HGET HMGET HGETALL HKEYS HVALS HLEN HEXISTS HDEL HINCRBY
//! HINCRBYFLOAT HSTRLEN HRANDFIELD HSCAN, as Redis 7.0's t_hash.c.
//!
//! Every command has one key and runs on its shard: `cmd_*` parses the arguments, an `op_*`
//! function does the work on the shard's `DbSlice` and returns a result, and `cmd_*` writes the
//! reply. The value's operations and encoding rules (listpack while small, then a dense map;
//! never back) live in `darter_collections::hashval`; the thresholds are the shard's `limits`,
//! which CONFIG SET replaces. A hash whose last field is deleted is deleted, as in Redis. Reads
//! that Redis does with `lookupKeyRead` count keyspace hits and misses.
//!
//! HSCAN returns a listpack-encoded hash whole with cursor 0 (Redis ignores COUNT there) and
//! walks a dense one with `DenseMap::scan`, whose cursors survive resizes between calls (the
//! keyspace SCAN's promise). HRANDFIELD draws from a generator seeded by the shard's.

use crate::config::glob_match;
use crate::context::ShardCmd;
use crate::errors;
use crate::families::generic::parse_cursor;
use crate::registry::{Cmd, Handler};
use bytes::Bytes;
use darter_collections::hashval::HashIncrError;
use darter_collections::num::{string2ld, string2ll};
use darter_collections::{HashValue, Limits, LpEntry, Value};
use darter_engine::notify;
use darter_engine::shard::ShardStats;
use darter_engine::{DbSlice, Record};
use darter_resp::{Protocol, ReplyWriter};

#[cfg(test)]
mod tests;

pub static COMMANDS: &[Cmd] = &[
    Cmd::new("hset", Handler::Shard(cmd_hset)),
    Cmd::new("hmset", Handler::Shard(cmd_hset)),
    Cmd::new("hsetnx", Handler::Shard(cmd_hsetnx)),
    Cmd::new("hget", Handler::Shard(cmd_hget)),
    Cmd::new("hmget", Handler::Shard(cmd_hmget)),
    Cmd::new("hgetall", Handler::Shard(cmd_hgetall)),
    Cmd::new("hkeys", Handler::Shard(cmd_hkeys)),
    Cmd::new("hvals", Handler::Shard(cmd_hvals)),
    Cmd::new("hlen", Handler::Shard(cmd_hlen)),
    Cmd::new("hexists", Handler::Shard(cmd_hexists)),
    Cmd::new("hstrlen", Handler::Shard(cmd_hstrlen)),
    Cmd::new("hdel", Handler::Shard(cmd_hdel)),
    Cmd::new("hincrby", Handler::Shard(cmd_hincrby)),
    Cmd::new("hincrbyfloat", Handler::Shard(cmd_hincrbyfloat)),
    Cmd::new("hrandfield", Handler::Shard(cmd_hrandfield)),
    Cmd::new("hscan", Handler::Shard(cmd_hscan)),
];

// -------------------------------------------------------------------------------------------------
// Shared pieces.
// -------------------------------------------------------------------------------------------------

/// Owned (field, value) pairs copied out of a hash for a reply.
pub type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// Why a hash operation did not apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpError {
    /// The key holds another type.
    WrongType,
    /// HINCRBY / HINCRBYFLOAT on a stored value of the wrong kind, or an overflowing result.
    Incr(HashIncrError),
}

impl OpError {
    pub fn message(self) -> &'static str {
        match self {
            OpError::WrongType => errors::WRONGTYPE,
            OpError::Incr(HashIncrError::NotInteger) => errors::HASH_NOT_INTEGER,
            OpError::Incr(HashIncrError::NotFloat) => errors::HASH_NOT_FLOAT,
            OpError::Incr(HashIncrError::Overflow) => errors::OVERFLOW,
            OpError::Incr(HashIncrError::NanOrInf) => errors::INCR_NAN_INF,
        }
    }
}

/// The selected database, the shard's counters and its encoding thresholds, borrowed apart.
fn parts<'a>(sc: &'a mut ShardCmd<'_>) -> (&'a mut DbSlice, &'a mut ShardStats, &'a Limits) {
    let shard = &mut *sc.shard;
    let db = &mut shard.dbs[sc.db];
    db.observe(sc.now_ms);
    (db, &mut shard.stats, &shard.limits)
}

/// Counts one `lookupKeyRead`: a hit when the key exists (whatever its type), else a miss.
fn count_read<T>(stats: &mut ShardStats, r: &Result<Option<T>, OpError>) {
    if matches!(r, Ok(None)) {
        stats.keyspace_misses += 1;
    } else {
        stats.keyspace_hits += 1;
    }
}

fn bulk_entry(w: &mut ReplyWriter, e: LpEntry<'_>) {
    e.with_bytes(|b| w.bulk(b));
}

/// A hash key for reading (deleting it first if expired); WrongType for another type.
pub fn op_hash<'a>(
    db: &'a mut DbSlice,
    key: &[u8],
    now: u64,
) -> Result<Option<&'a mut HashValue>, OpError> {
    match db.find(key, now) {
        None => Ok(None),
        Some(e) => match e.obj_mut() {
            Some(Value::Hash(h)) => Ok(Some(h)),
            _ => Err(OpError::WrongType),
        },
    }
}

/// Runs `f` on the hash at `key`, creating it when missing (Redis's
/// `hashTypeLookupWriteOrCreate`); a created hash is stored only if `f` succeeded and left it
/// non-empty, and a hash `f` emptied is deleted.
fn with_hash_write<R>(
    db: &mut DbSlice,
    key: &[u8],
    now: u64,
    f: impl FnOnce(&mut HashValue) -> Result<R, OpError>,
) -> Result<R, OpError> {
    let (r, empty) = match op_hash(db, key, now)? {
        Some(h) => {
            let r = f(h);
            (r, h.is_empty())
        }
        None => {
            let mut h = HashValue::new();
            let r = f(&mut h)?;
            if !h.is_empty() {
                db.set(key, Record::new(Value::Hash(h)));
            }
            return Ok(r);
        }
    };
    if empty {
        db.remove(key, now);
    }
    r
}

// -------------------------------------------------------------------------------------------------
// HSET HMSET HSETNX HDEL HINCRBY HINCRBYFLOAT
// -------------------------------------------------------------------------------------------------

/// HSET / HMSET: sets `fv` (field, value, field, value, ...; even length); returns how many
/// fields were new.
pub fn op_hset(
    db: &mut DbSlice,
    limits: &Limits,
    key: &[u8],
    fv: &[Bytes],
    now: u64,
) -> Result<usize, OpError> {
    let n = with_hash_write(db, key, now, |h| {
        Ok(h.set_pairs(fv.chunks_exact(2).map(|p| (&p[0][..], &p[1][..])), limits))
    })?;
    db.notify(notify::HASH, "hset", key);
    Ok(n)
}

/// HSET key field value [field value ...], HMSET key field value [field value ...]
fn cmd_hset(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let hmset = args[0].eq_ignore_ascii_case(b"hmset");
    if args.len() % 2 == 1 {
        return w.error(&errors::wrong_args(if hmset { "hmset" } else { "hset" }));
    }
    let (db, _, limits) = parts(sc);
    match op_hset(db, limits, &args[1], &args[2..], now) {
        Ok(_) if hmset => w.ok(),
        Ok(n) => w.int(n as i64),
        Err(e) => w.error(e.message()),
    }
}

/// HSETNX: sets `field` only when absent; true when it was set.
pub fn op_hsetnx(
    db: &mut DbSlice,
    limits: &Limits,
    key: &[u8],
    field: &[u8],
    value: &[u8],
    now: u64,
) -> Result<bool, OpError> {
    let set = with_hash_write(db, key, now, |h| Ok(h.set_if_absent(field, value, limits)))?;
    if set {
        db.notify(notify::HASH, "hset", key);
    }
    Ok(set)
}

/// HSETNX key field value
fn cmd_hsetnx(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let (db, _, limits) = parts(sc);
    match op_hsetnx(db, limits, &args[1], &args[2], &args[3], now) {
        Ok(set) => w.int(i64::from(set)),
        Err(e) => w.error(e.message()),
    }
}

/// HDEL: removes `fields` (a field named twice counts once); deletes the key when it empties.
pub fn op_hdel(db: &mut DbSlice, key: &[u8], fields: &[Bytes], now: u64) -> Result<usize, OpError> {
    let Some(h) = op_hash(db, key, now)? else {
        return Ok(0);
    };
    let removed = fields.iter().filter(|f| h.remove(f)).count();
    let emptied = h.is_empty();
    if emptied {
        db.remove(key, now);
    }
    if removed > 0 {
        db.notify(notify::HASH, "hdel", key);
        if emptied {
            db.notify(notify::GENERIC, "del", key);
        }
    }
    Ok(removed)
}

/// HDEL key field [field ...]
fn cmd_hdel(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let (db, _, _) = parts(sc);
    match op_hdel(db, &args[1], &args[2..], now) {
        Ok(n) => w.int(n as i64),
        Err(e) => w.error(e.message()),
    }
}

/// HINCRBY: the field's new integer value.
pub fn op_hincrby(
    db: &mut DbSlice,
    limits: &Limits,
    key: &[u8],
    field: &[u8],
    incr: i64,
    now: u64,
) -> Result<i64, OpError> {
    let v = with_hash_write(db, key, now, |h| {
        h.incr_by(field, incr, limits).map_err(OpError::Incr)
    })?;
    db.notify(notify::HASH, "hincrby", key);
    Ok(v)
}

/// HINCRBY key field increment
fn cmd_hincrby(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let Some(incr) = string2ll(&args[3]) else {
        return w.error(errors::NOT_INTEGER);
    };
    let (db, _, limits) = parts(sc);
    match op_hincrby(db, limits, &args[1], &args[2], incr, now) {
        Ok(v) => w.int(v),
        Err(e) => w.error(e.message()),
    }
}

/// What HINCRBYFLOAT's increment argument is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FloatArg {
    Ok(darter_collections::num::LongDouble),
    NotFloat,
    NanOrInf,
}

/// Parses HINCRBYFLOAT's increment as Redis's `getLongDoubleFromObjectOrReply` then its
/// NaN/infinity check.
pub fn parse_float_incr(a: &[u8]) -> FloatArg {
    match string2ld(a) {
        None => FloatArg::NotFloat,
        Some(v) if !v.is_finite() => FloatArg::NanOrInf,
        Some(v) => FloatArg::Ok(v),
    }
}

/// HINCRBYFLOAT: the field's new value as Redis prints it.
pub fn op_hincrbyfloat(
    db: &mut DbSlice,
    limits: &Limits,
    key: &[u8],
    field: &[u8],
    incr: darter_collections::num::LongDouble,
    now: u64,
) -> Result<Vec<u8>, OpError> {
    let v = with_hash_write(db, key, now, |h| {
        h.incr_by_float(field, incr, limits).map_err(OpError::Incr)
    })?;
    db.notify(notify::HASH, "hincrbyfloat", key);
    Ok(v)
}

/// HINCRBYFLOAT key field increment
fn cmd_hincrbyfloat(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let incr = match parse_float_incr(&args[3]) {
        FloatArg::Ok(v) => v,
        FloatArg::NotFloat => return w.error(errors::NOT_FLOAT),
        FloatArg::NanOrInf => return w.error(errors::NAN_OR_INFINITY),
    };
    let (db, _, limits) = parts(sc);
    match op_hincrbyfloat(db, limits, &args[1], &args[2], incr, now) {
        Ok(text) => w.bulk(&text),
        Err(e) => w.error(e.message()),
    }
}

// -------------------------------------------------------------------------------------------------
// HGET HMGET HGETALL HKEYS HVALS HLEN HEXISTS HSTRLEN
// -------------------------------------------------------------------------------------------------

/// HGET key field
fn cmd_hget(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let (db, stats, _) = parts(sc);
    let r = op_hash(db, &args[1], now);
    count_read(stats, &r);
    match r {
        Ok(h) => match h.and_then(|h| h.get(&args[2])) {
            Some(v) => bulk_entry(w, v),
            None => w.null(),
        },
        Err(e) => w.error(e.message()),
    }
}

/// HMGET key field [field ...]
fn cmd_hmget(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let (db, stats, _) = parts(sc);
    let r = op_hash(db, &args[1], now);
    count_read(stats, &r);
    let h = match r {
        Ok(h) => h,
        Err(e) => return w.error(e.message()),
    };
    w.array(args.len() - 2);
    for f in &args[2..] {
        match h.as_deref().and_then(|h| h.get(f)) {
            Some(v) => bulk_entry(w, v),
            None => w.null(),
        }
    }
}

/// Which parts of every pair HGETALL / HKEYS / HVALS reply with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reply {
    Both,
    Fields,
    Values,
}

fn getall(sc: &mut ShardCmd, w: &mut ReplyWriter, what: Reply) {
    let (args, now) = (sc.args, sc.now_ms);
    let (db, stats, _) = parts(sc);
    let r = op_hash(db, &args[1], now);
    count_read(stats, &r);
    let h = match r {
        Ok(Some(h)) => h,
        Ok(None) if what == Reply::Both => return w.map(0),
        Ok(None) => return w.array(0),
        Err(e) => return w.error(e.message()),
    };
    match what {
        Reply::Both => w.map(h.len()),
        _ => w.array(h.len()),
    }
    for (f, v) in h.iter() {
        if what != Reply::Values {
            bulk_entry(w, f);
        }
        if what != Reply::Fields {
            bulk_entry(w, v);
        }
    }
}

/// HGETALL key (a map in RESP3)
fn cmd_hgetall(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    getall(sc, w, Reply::Both);
}

/// HKEYS key
fn cmd_hkeys(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    getall(sc, w, Reply::Fields);
}

/// HVALS key
fn cmd_hvals(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    getall(sc, w, Reply::Values);
}

/// HLEN / HEXISTS / HSTRLEN: an integer computed from the hash (0 when missing).
fn int_query(sc: &mut ShardCmd, w: &mut ReplyWriter, f: impl FnOnce(&HashValue) -> usize) {
    let (args, now) = (sc.args, sc.now_ms);
    let (db, stats, _) = parts(sc);
    let r = op_hash(db, &args[1], now);
    count_read(stats, &r);
    match r {
        Ok(h) => w.int(h.map_or(0, |h| f(h)) as i64),
        Err(e) => w.error(e.message()),
    }
}

/// HLEN key
fn cmd_hlen(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    int_query(sc, w, HashValue::len);
}

/// HEXISTS key field
fn cmd_hexists(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let field = sc.args[2].clone();
    int_query(sc, w, |h| usize::from(h.contains(&field)));
}

/// HSTRLEN key field
fn cmd_hstrlen(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let field = sc.args[2].clone();
    int_query(sc, w, |h| h.get(&field).map_or(0, |v| v.byte_len()));
}

// -------------------------------------------------------------------------------------------------
// HRANDFIELD
// -------------------------------------------------------------------------------------------------

/// HRANDFIELD's arguments after the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RandArgs {
    /// No count: one field, as a bulk string.
    One,
    /// A count (negative: repeats allowed) and WITHVALUES.
    Count { count: i64, with_values: bool },
}

/// Parses HRANDFIELD's arguments in Redis 7.0's order of checks.
pub fn parse_hrandfield(args: &[Bytes]) -> Result<RandArgs, &'static str> {
    if args.len() < 3 {
        return Ok(RandArgs::One);
    }
    let count = string2ll(&args[2]).ok_or(errors::NOT_INTEGER)?;
    if count == i64::MIN {
        return Err(errors::COUNT_OUT_OF_LONG_RANGE);
    }
    if args.len() > 4 || (args.len() == 4 && !args[3].eq_ignore_ascii_case(b"withvalues")) {
        return Err(errors::SYNTAX);
    }
    let with_values = args.len() == 4;
    if with_values && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(errors::VALUE_OUT_OF_RANGE);
    }
    Ok(RandArgs::Count { count, with_values })
}

/// HRANDFIELD with a count: `count >= 0` distinct pairs (all of them, in order, when the hash
/// has no more), `count < 0` `|count|` pairs that may repeat. None for a missing key.
pub fn op_hrandfield(
    db: &mut DbSlice,
    key: &[u8],
    count: i64,
    rnd: impl FnMut(usize) -> usize,
    now: u64,
) -> Result<Option<Pairs>, OpError> {
    let Some(h) = op_hash(db, key, now)? else {
        return Ok(None);
    };
    let picked = if count >= 0 {
        h.random_distinct(count as usize, rnd)
    } else {
        h.random_with_repeats(count.unsigned_abs() as usize, rnd)
    };
    Ok(Some(
        picked
            .into_iter()
            .map(|(f, v)| (f.to_vec(), v.to_vec()))
            .collect(),
    ))
}

/// A generator for one command's random choices, seeded from the shard's (which stays
/// unborrowed while the command holds its data).
fn local_rng(seed: u64) -> impl FnMut(usize) -> usize {
    let mut x = seed;
    move |n| {
        // splitmix64
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        if n == 0 {
            0
        } else {
            (z % n as u64) as usize
        }
    }
}

/// HRANDFIELD key [count [WITHVALUES]]
fn cmd_hrandfield(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let parsed = match parse_hrandfield(args) {
        Ok(p) => p,
        Err(e) => return w.error(e),
    };
    let rnd = local_rng(sc.shard.rand(usize::MAX) as u64);
    let (db, stats, _) = parts(sc);
    match parsed {
        RandArgs::One => {
            let r = op_hash(db, &args[1], now);
            count_read(stats, &r);
            match r {
                Ok(h) => match h.and_then(|h| h.random(rnd)) {
                    Some((f, _)) => bulk_entry(w, f),
                    None => w.null(),
                },
                Err(e) => w.error(e.message()),
            }
        }
        RandArgs::Count { count, with_values } => {
            let r = op_hrandfield(db, &args[1], count, rnd, now);
            count_read(stats, &r);
            let pairs = match r {
                Ok(Some(p)) => p,
                Ok(None) => return w.array(0),
                Err(e) => return w.error(e.message()),
            };
            let nested = with_values && w.proto == Protocol::Resp3;
            w.array(if with_values && !nested {
                pairs.len() * 2
            } else {
                pairs.len()
            });
            for (f, v) in &pairs {
                if nested {
                    w.array(2);
                }
                w.bulk(f);
                if with_values {
                    w.bulk(v);
                }
            }
        }
    }
}

// -------------------------------------------------------------------------------------------------
// HSCAN
// -------------------------------------------------------------------------------------------------

/// HSCAN's options after the cursor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HscanOpts {
    pub count: usize,
    /// None: every field (no MATCH, or MATCH *).
    pub pattern: Option<Bytes>,
}

/// Parses HSCAN's options as Redis 7.0's `scanGenericCommand` (TYPE is SCAN's only).
pub fn parse_hscan_opts(opts: &[Bytes]) -> Result<HscanOpts, &'static str> {
    let (count, f) = crate::families::generic::parse_scan_opts(opts, false)?;
    Ok(HscanOpts {
        count,
        pattern: f.pattern,
    })
}

/// One HSCAN step: the next cursor and the matching (field, value) pairs.
pub fn op_hscan(h: &HashValue, cursor: u64, opts: &HscanOpts) -> (u64, Pairs) {
    let mut out = Vec::new();
    let next = h.scan(cursor, opts.count, |f, v| {
        let keep = match &opts.pattern {
            None => true,
            Some(p) => f.with_bytes(|f| glob_match(p, f, false)),
        };
        if keep {
            out.push((f.to_vec(), v.to_vec()));
        }
    });
    (next, out)
}

/// HSCAN key cursor [MATCH pattern] [COUNT count]
fn cmd_hscan(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let Some(cursor) = parse_cursor(&args[2]) else {
        return w.error(errors::INVALID_CURSOR);
    };
    let (db, stats, _) = parts(sc);
    let r = op_hash(db, &args[1], now);
    count_read(stats, &r);
    let h = match r {
        Ok(Some(h)) => h,
        // Redis answers a missing key before looking at the options.
        Ok(None) => {
            w.array(2);
            w.bulk(b"0");
            return w.array(0);
        }
        Err(e) => return w.error(e.message()),
    };
    let opts = match parse_hscan_opts(&args[3..]) {
        Ok(o) => o,
        Err(e) => return w.error(e),
    };
    let (next, pairs) = op_hscan(h, cursor, &opts);
    w.array(2);
    w.bulk(next.to_string().as_bytes());
    w.array(pairs.len() * 2);
    for (f, v) in &pairs {
        w.bulk(f);
        w.bulk(v);
    }
}
