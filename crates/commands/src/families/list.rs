//! List family: LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN LINDEX LINSERT LRANGE LREM LSET LTRIM
//! LPOS LMOVE RPOPLPUSH LMPOP, as Redis 7.0's t_list.c (argument checks, their order and every
//! reply), on the `darter_collections::List` value (listpack while small, quicklist past
//! `list-max-listpack-size`, converting by Redis 7.2's rules: see collections/src/list.rs).
//!
//! How each reaches its shards:
//! - single-key commands: a shard handler (inline or one hop); `cmd_*` parses, an `op_*` function
//!   works on the shard's `DbSlice`, `cmd_*` replies;
//! - LMOVE / RPOPLPUSH: the shard handler when both keys share a shard; otherwise one transaction
//!   on both shards: hop 1 reads the source's end element and checks the destination's type
//!   (Redis checks the destination before popping), hop 2 (concluding) pops on the source shard
//!   and pushes on the destination shard. The intent locks are held throughout, so no client sees
//!   the element in both lists or in neither;
//! - LMPOP: the shard handler when all keys share a shard; otherwise one transaction on every
//!   key's shard: hop 1 finds each key's type and length, the coordinator picks the first
//!   non-empty key in argument order (or the first wrong-typed one, which is an error), hop 2
//!   (concluding) pops from it.
//!
//! Blocking commands (BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP) are built elsewhere on the public
//! `op_*` functions here and on [`parse_mpop_args`]. Every `op_*` deletes a key its operation
//! empties (Redis never keeps an empty list) and takes the shard's `ListConfig`
//! (`shard.limits.list`), which CONFIG SET may change between any two commands.
//!
//! Lookups follow Redis: LLEN, LINDEX, LRANGE and LPOS read (`lookupKeyRead`: keyspace hits and
//! misses counted), the rest write (`lookupKeyWrite`: not counted). Keyspace notifications are
//! not sent.

use crate::context::{Conn, ShardCmd};
use crate::errors;
use crate::multi::{conclude, hop_at, panic_reply, pop_first_ready, KeyGroups, Probe};
use crate::registry::{Cmd, Handler, LocalBoxFuture};
use bytes::Bytes;
use darter_collections::num::string2ll;
use darter_collections::{End, List, ListConfig, LpEntry, Position, Value};
use darter_engine::keys::shard_of;
use darter_engine::notify;
use darter_engine::shard::ShardStats;
use darter_engine::tx::HopFn;
use darter_engine::{DbSlice, Panicked, Record, Shard};
use darter_resp::ReplyWriter;
use std::ops::Range;
use std::sync::Arc;

#[cfg(test)]
mod tests;

pub static COMMANDS: &[Cmd] = &[
    Cmd::new("lpush", Handler::Shard(cmd_lpush)),
    Cmd::new("rpush", Handler::Shard(cmd_rpush)),
    Cmd::new("lpushx", Handler::Shard(cmd_lpushx)),
    Cmd::new("rpushx", Handler::Shard(cmd_rpushx)),
    Cmd::new("lpop", Handler::Shard(cmd_lpop)),
    Cmd::new("rpop", Handler::Shard(cmd_rpop)),
    Cmd::new("llen", Handler::Shard(cmd_llen)),
    Cmd::new("lindex", Handler::Shard(cmd_lindex)),
    Cmd::new("linsert", Handler::Shard(cmd_linsert)),
    Cmd::new("lrange", Handler::Shard(cmd_lrange)),
    Cmd::new("lrem", Handler::Shard(cmd_lrem)),
    Cmd::new("lset", Handler::Shard(cmd_lset)),
    Cmd::new("ltrim", Handler::Shard(cmd_ltrim)),
    Cmd::new("lpos", Handler::Shard(cmd_lpos)),
    Cmd::new(
        "lmove",
        Handler::Multi {
            shard: Some(shard_lmove),
            coord: cmd_lmove,
        },
    ),
    Cmd::new(
        "rpoplpush",
        Handler::Multi {
            shard: Some(shard_rpoplpush),
            coord: cmd_rpoplpush,
        },
    ),
    Cmd::new(
        "lmpop",
        Handler::Multi {
            shard: Some(shard_lmpop),
            coord: cmd_lmpop,
        },
    ),
];

// -------------------------------------------------------------------------------------------------
// Shared pieces: errors, lookups, replies, option words.
// -------------------------------------------------------------------------------------------------

/// Why a list operation did not apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpError {
    /// The key holds another type.
    WrongType,
    /// LSET on a missing key.
    NoSuchKey,
    /// LSET's index is outside the list.
    OutOfRange,
}

impl OpError {
    /// The error reply.
    pub fn message(self) -> &'static str {
        match self {
            OpError::WrongType => errors::WRONGTYPE,
            OpError::NoSuchKey => errors::NO_SUCH_KEY,
            OpError::OutOfRange => errors::INDEX_OUT_OF_RANGE,
        }
    }
}

/// The selected database, the shard's counters and its list settings, borrowed apart.
fn parts<'a>(sc: &'a mut ShardCmd<'_>) -> (&'a mut DbSlice, &'a mut ShardStats, ListConfig) {
    let shard = &mut *sc.shard;
    let db = &mut shard.dbs[sc.db];
    db.observe(sc.now_ms);
    (db, &mut shard.stats, shard.limits.list)
}

/// Counts one `lookupKeyRead`: a hit when the key exists (whatever its type), else a miss.
fn count_read<T>(stats: &mut ShardStats, r: &Result<Option<T>, OpError>) {
    if matches!(r, Ok(None)) {
        stats.keyspace_misses += 1;
    } else {
        stats.keyspace_hits += 1;
    }
}

/// A list key's value (deleting the key first if expired, recording the access); WrongType for
/// another type.
fn find_list<'a>(
    db: &'a mut DbSlice,
    key: &[u8],
    now: u64,
) -> Result<Option<&'a mut List>, OpError> {
    match db.find(key, now) {
        None => Ok(None),
        Some(e) => match e.obj_mut() {
            Some(Value::List(l)) => Ok(Some(l)),
            _ => Err(OpError::WrongType),
        },
    }
}

/// A list's length without recording an access (None when missing).
fn list_len_notouch(db: &mut DbSlice, key: &[u8], now: u64) -> Result<Option<usize>, OpError> {
    match db.find_notouch(key, now) {
        None => Ok(None),
        Some(e) => match e.obj() {
            Some(Value::List(l)) => Ok(Some(l.len())),
            _ => Err(OpError::WrongType),
        },
    }
}

fn bulk_entry(w: &mut ReplyWriter, e: LpEntry<'_>) {
    match e {
        LpEntry::Int(v) => w.bulk_int(v),
        LpEntry::Str(s) => w.bulk(s),
    }
}

fn bulk_array(w: &mut ReplyWriter, values: &[Vec<u8>]) {
    w.array(values.len());
    for v in values {
        w.bulk(v);
    }
}

/// Redis compares option words with `strcasecmp`: an argument matches up to its first NUL byte.
fn word_is(arg: &[u8], word: &str) -> bool {
    let end = memchr::memchr(0, arg).unwrap_or(arg.len());
    arg[..end].eq_ignore_ascii_case(word.as_bytes())
}

/// LEFT / RIGHT (`getListPositionFromObjectOrReply`).
pub fn parse_end(arg: &[u8]) -> Result<End, &'static str> {
    if word_is(arg, "right") {
        Ok(End::Back)
    } else if word_is(arg, "left") {
        Ok(End::Front)
    } else {
        Err(errors::SYNTAX)
    }
}

/// An integer argument (`getLongFromObjectOrReply`).
fn parse_long(arg: &[u8]) -> Result<i64, &'static str> {
    string2ll(arg).ok_or(errors::NOT_INTEGER)
}

/// `getRangeLongFromObjectOrReply(arg, min, LONG_MAX, msg)`: `msg` for a non-integer too.
fn parse_at_least(arg: &[u8], min: i64, msg: &'static str) -> Result<i64, &'static str> {
    string2ll(arg).filter(|&v| v >= min).ok_or(msg)
}

// -------------------------------------------------------------------------------------------------
// LPUSH RPUSH LPUSHX RPUSHX
// -------------------------------------------------------------------------------------------------

/// LPUSH / RPUSH: pushes `values` in order at `end`, creating the list when the key is missing.
/// Returns the new length.
pub fn op_push<V: AsRef<[u8]>>(
    db: &mut DbSlice,
    key: &[u8],
    end: End,
    values: &[V],
    cfg: &ListConfig,
    now: u64,
) -> Result<usize, OpError> {
    if let Some(l) = find_list(db, key, now)? {
        l.push(end, values, cfg);
        let len = l.len();
        db.notify(notify::LIST, push_event(end), key);
        return Ok(len);
    }
    let mut l = List::new();
    l.push(end, values, cfg);
    let len = l.len();
    if len > 0 {
        db.set(key, Record::new(Value::List(l)));
        db.notify(notify::LIST, push_event(end), key);
    }
    Ok(len)
}

/// The event a push at `end` reports.
fn push_event(end: End) -> &'static str {
    match end {
        End::Front => "lpush",
        End::Back => "rpush",
    }
}

/// The event a pop from `end` reports.
fn pop_event(end: End) -> &'static str {
    match end {
        End::Front => "lpop",
        End::Back => "rpop",
    }
}

/// LPUSHX / RPUSHX: pushes only onto an existing list; 0 (nothing created) when the key is missing.
pub fn op_pushx<V: AsRef<[u8]>>(
    db: &mut DbSlice,
    key: &[u8],
    end: End,
    values: &[V],
    cfg: &ListConfig,
    now: u64,
) -> Result<usize, OpError> {
    match find_list(db, key, now)? {
        None => Ok(0),
        Some(l) => {
            l.push(end, values, cfg);
            let len = l.len();
            db.notify(notify::LIST, push_event(end), key);
            Ok(len)
        }
    }
}

fn push_generic(sc: &mut ShardCmd, w: &mut ReplyWriter, end: End, only_existing: bool) {
    let (args, now) = (sc.args, sc.now_ms);
    let (db, _, cfg) = parts(sc);
    let values = &args[2..];
    let r = if only_existing {
        op_pushx(db, &args[1], end, values, &cfg, now)
    } else {
        op_push(db, &args[1], end, values, &cfg, now)
    };
    match r {
        Ok(n) => w.int(n as i64),
        Err(e) => w.error(e.message()),
    }
}

/// LPUSH key element [element ...]
fn cmd_lpush(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    push_generic(sc, w, End::Front, false)
}

/// RPUSH key element [element ...]
fn cmd_rpush(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    push_generic(sc, w, End::Back, false)
}

/// LPUSHX key element [element ...]
fn cmd_lpushx(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    push_generic(sc, w, End::Front, true)
}

/// RPUSHX key element [element ...]
fn cmd_rpushx(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    push_generic(sc, w, End::Back, true)
}

// -------------------------------------------------------------------------------------------------
// LPOP RPOP
// -------------------------------------------------------------------------------------------------

/// LPOP / RPOP / LMPOP / BLPOP's pop: up to `count` elements from `end`, in the order popped.
/// None when the key is missing; an empty vector for `count == 0` on an existing list. Deletes
/// the key when it empties it.
pub fn op_pop(
    db: &mut DbSlice,
    key: &[u8],
    end: End,
    count: usize,
    cfg: &ListConfig,
    now: u64,
) -> Result<Option<Vec<Vec<u8>>>, OpError> {
    let r = pop_quiet(db, key, end, count, cfg, now)?;
    if let Some((out, emptied)) = &r {
        notify_popped(db, key, end, !out.is_empty(), *emptied);
    }
    Ok(r.map(|(out, _)| out))
}

/// What `pop_quiet` popped, and whether the key was emptied (and deleted).
type PoppedQuiet = (Vec<Vec<u8>>, bool);

/// `op_pop` without its events; also says whether the key was emptied (and deleted).
fn pop_quiet(
    db: &mut DbSlice,
    key: &[u8],
    end: End,
    count: usize,
    cfg: &ListConfig,
    now: u64,
) -> Result<Option<PoppedQuiet>, OpError> {
    let Some(l) = find_list(db, key, now)? else {
        return Ok(None);
    };
    let out = if count == 1 {
        l.pop(end, cfg).into_iter().collect()
    } else {
        l.pop_many(end, count, cfg)
    };
    let emptied = l.is_empty();
    if emptied {
        db.remove(key, now);
    }
    Ok(Some((out, emptied)))
}

/// A pop's events: `lpop`/`rpop` when something was popped, then `del` when the list emptied.
pub fn notify_popped(db: &DbSlice, key: &[u8], end: End, popped: bool, emptied: bool) {
    if popped {
        db.notify(notify::LIST, pop_event(end), key);
    }
    if emptied {
        db.notify(notify::GENERIC, "del", key);
    }
}

/// One element from `end` (LMOVE's source half; BLPOP, BRPOP): None when the key is missing.
/// Deletes the key when it empties it.
pub fn op_pop_one(
    db: &mut DbSlice,
    key: &[u8],
    end: End,
    cfg: &ListConfig,
    now: u64,
) -> Result<Option<Vec<u8>>, OpError> {
    Ok(op_pop(db, key, end, 1, cfg, now)?.and_then(|mut v| v.pop()))
}

fn pop_generic(sc: &mut ShardCmd, w: &mut ReplyWriter, end: End, name: &str) {
    let (args, now) = (sc.args, sc.now_ms);
    // Redis parses the count before looking the key up.
    let count = match args.len() {
        2 => None,
        3 => match parse_at_least(&args[2], 0, errors::MUST_BE_POSITIVE) {
            Ok(c) => Some(usize::try_from(c).unwrap_or(usize::MAX)),
            Err(e) => return w.error(e),
        },
        _ => return w.error(&errors::wrong_args(name)),
    };
    let (db, _, cfg) = parts(sc);
    match (
        op_pop(db, &args[1], end, count.unwrap_or(1), &cfg, now),
        count,
    ) {
        (Err(e), _) => w.error(e.message()),
        (Ok(None), None) => w.null(),
        (Ok(None), Some(_)) => w.null_array(),
        (Ok(Some(v)), None) => w.bulk(&v[0]),
        (Ok(Some(v)), Some(_)) => bulk_array(w, &v),
    }
}

/// LPOP key [count]
fn cmd_lpop(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    pop_generic(sc, w, End::Front, "lpop")
}

/// RPOP key [count]
fn cmd_rpop(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    pop_generic(sc, w, End::Back, "rpop")
}

// -------------------------------------------------------------------------------------------------
// LLEN LINDEX LRANGE LPOS
// -------------------------------------------------------------------------------------------------

/// LLEN (and the type check of LMPOP's first hop, BLMOVE's destination...): the length, None
/// when the key is missing.
pub fn op_llen(db: &mut DbSlice, key: &[u8], now: u64) -> Result<Option<usize>, OpError> {
    Ok(find_list(db, key, now)?.map(|l| l.len()))
}

/// LLEN key
fn cmd_llen(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let (db, stats, _) = parts(sc);
    let r = op_llen(db, &args[1], now);
    count_read(stats, &r);
    match r {
        Ok(n) => w.int(n.unwrap_or(0) as i64),
        Err(e) => w.error(e.message()),
    }
}

/// LINDEX key index
fn cmd_lindex(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let (db, stats, _) = parts(sc);
    let r = find_list(db, &args[1], now);
    count_read(stats, &r);
    // Redis looks the key up before parsing the index.
    let l = match r {
        Ok(Some(l)) => l,
        Ok(None) => return w.null(),
        Err(e) => return w.error(e.message()),
    };
    match parse_long(&args[2]) {
        Err(e) => w.error(e),
        Ok(i) => match l.get(i) {
            Some(e) => bulk_entry(w, e),
            None => w.null(),
        },
    }
}

/// LRANGE key start stop
fn cmd_lrange(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let (start, stop) = match (parse_long(&args[2]), parse_long(&args[3])) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return w.error(e),
    };
    let (db, stats, _) = parts(sc);
    let r = find_list(db, &args[1], now);
    count_read(stats, &r);
    match r {
        Ok(Some(l)) => {
            let it = l.range(start, stop);
            w.array(it.len());
            for e in it {
                bulk_entry(w, e);
            }
        }
        Ok(None) => w.array(0),
        Err(e) => w.error(e.message()),
    }
}

/// LPOS's options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LposArgs {
    /// Never 0; negative scans from the tail.
    pub rank: i64,
    /// None: no COUNT given (the reply is one index or nil); Some(0): every match.
    pub count: Option<usize>,
    /// 0: scan the whole list.
    pub maxlen: usize,
}

/// LPOS's options from argument 3 on, in Redis's order (the first bad option is the error).
pub fn parse_lpos_args(args: &[Bytes]) -> Result<LposArgs, &'static str> {
    let (mut rank, mut count, mut maxlen) = (1i64, None, 0usize);
    let mut j = 3;
    while j < args.len() {
        let opt = &args[j][..];
        let more = j + 1 < args.len();
        if word_is(opt, "rank") && more {
            j += 1;
            rank = parse_long(&args[j])?;
            if rank == 0 {
                return Err(errors::LPOS_RANK_ZERO);
            }
        } else if word_is(opt, "count") && more {
            j += 1;
            let c = parse_at_least(&args[j], 0, errors::LPOS_COUNT_NEGATIVE)?;
            count = Some(usize::try_from(c).unwrap_or(usize::MAX));
        } else if word_is(opt, "maxlen") && more {
            j += 1;
            let m = parse_at_least(&args[j], 0, errors::LPOS_MAXLEN_NEGATIVE)?;
            maxlen = usize::try_from(m).unwrap_or(usize::MAX);
        } else {
            return Err(errors::SYNTAX);
        }
        j += 1;
    }
    if rank == i64::MIN {
        // Redis negates the rank in a C `long`: LONG_MIN stays negative, so every match passes
        // its `matches >= rank` test (RANK -1) and `matches - rank + 1` wraps below any COUNT
        // (every match is returned).
        rank = -1;
        count = count.map(|_| 0);
    }
    Ok(LposArgs {
        rank,
        count,
        maxlen,
    })
}

/// LPOS: the indexes of elements equal to `elem` (see [`LposArgs`]); None when the key is
/// missing.
pub fn op_lpos(
    db: &mut DbSlice,
    key: &[u8],
    elem: &[u8],
    a: &LposArgs,
    now: u64,
) -> Result<Option<Vec<usize>>, OpError> {
    let Some(l) = find_list(db, key, now)? else {
        return Ok(None);
    };
    Ok(Some(l.positions(
        elem,
        a.rank,
        a.count.unwrap_or(1),
        a.maxlen,
    )))
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
fn cmd_lpos(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let a = match parse_lpos_args(args) {
        Ok(a) => a,
        Err(e) => return w.error(e),
    };
    let (db, stats, _) = parts(sc);
    let r = op_lpos(db, &args[1], &args[2], &a, now);
    count_read(stats, &r);
    match (r, a.count) {
        (Err(e), _) => w.error(e.message()),
        (Ok(None), None) => w.null(),
        (Ok(None), Some(_)) => w.array(0),
        (Ok(Some(found)), None) => match found.first() {
            Some(&i) => w.int(i as i64),
            None => w.null(),
        },
        (Ok(Some(found)), Some(_)) => {
            w.array(found.len());
            for i in found {
                w.int(i as i64);
            }
        }
    }
}

// -------------------------------------------------------------------------------------------------
// LINSERT LREM LSET LTRIM
// -------------------------------------------------------------------------------------------------

/// LINSERT: None when the key is missing, Some(-1) when the pivot is not found, else the new
/// length.
pub fn op_linsert(
    db: &mut DbSlice,
    key: &[u8],
    at: Position,
    pivot: &[u8],
    elem: &[u8],
    cfg: &ListConfig,
    now: u64,
) -> Result<Option<i64>, OpError> {
    let Some(l) = find_list(db, key, now)? else {
        return Ok(None);
    };
    if !l.insert(pivot, elem, at, cfg) {
        return Ok(Some(-1));
    }
    let len = l.len() as i64;
    db.notify(notify::LIST, "linsert", key);
    Ok(Some(len))
}

/// LINSERT key <BEFORE | AFTER> pivot element
fn cmd_linsert(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let at = if word_is(&args[2], "after") {
        Position::After
    } else if word_is(&args[2], "before") {
        Position::Before
    } else {
        return w.error(errors::SYNTAX);
    };
    let (db, _, cfg) = parts(sc);
    match op_linsert(db, &args[1], at, &args[3], &args[4], &cfg, now) {
        Ok(n) => w.int(n.unwrap_or(0)),
        Err(e) => w.error(e.message()),
    }
}

/// LREM: removes up to `|count|` elements equal to `elem` (from the head for `count > 0`, the
/// tail for `count < 0`, all for 0); deletes an emptied key. Returns how many were removed.
pub fn op_lrem(
    db: &mut DbSlice,
    key: &[u8],
    count: i64,
    elem: &[u8],
    cfg: &ListConfig,
    now: u64,
) -> Result<usize, OpError> {
    let Some(l) = find_list(db, key, now)? else {
        return Ok(0);
    };
    let removed = l.remove(elem, count, cfg);
    let emptied = l.is_empty();
    if emptied {
        db.remove(key, now);
    }
    if removed > 0 {
        db.notify(notify::LIST, "lrem", key);
        if emptied {
            db.notify(notify::GENERIC, "del", key);
        }
    }
    Ok(removed)
}

/// LREM key count element
fn cmd_lrem(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let count = match parse_long(&args[2]) {
        Ok(c) => c,
        Err(e) => return w.error(e),
    };
    let (db, _, cfg) = parts(sc);
    match op_lrem(db, &args[1], count, &args[3], &cfg, now) {
        Ok(n) => w.int(n as i64),
        Err(e) => w.error(e.message()),
    }
}

/// LSET: replaces the element at `index` (negative from the tail).
pub fn op_lset(
    db: &mut DbSlice,
    key: &[u8],
    index: i64,
    elem: &[u8],
    cfg: &ListConfig,
    now: u64,
) -> Result<(), OpError> {
    let l = find_list(db, key, now)?.ok_or(OpError::NoSuchKey)?;
    if l.set(index, elem, cfg) {
        db.notify(notify::LIST, "lset", key);
        Ok(())
    } else {
        Err(OpError::OutOfRange)
    }
}

/// LSET key index element
fn cmd_lset(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let (db, _, cfg) = parts(sc);
    // Redis looks the key up (no such key, wrong type) before parsing the index.
    if let Err(e) = find_list(db, &args[1], now).and_then(|l| l.ok_or(OpError::NoSuchKey)) {
        return w.error(e.message());
    }
    let index = match parse_long(&args[2]) {
        Ok(i) => i,
        Err(e) => return w.error(e),
    };
    match op_lset(db, &args[1], index, &args[3], &cfg, now) {
        Ok(()) => w.ok(),
        Err(e) => w.error(e.message()),
    }
}

/// LTRIM: keeps `start..=stop` (Redis's index rules); deletes the key when nothing is left.
/// A missing key is fine.
pub fn op_ltrim(
    db: &mut DbSlice,
    key: &[u8],
    start: i64,
    stop: i64,
    cfg: &ListConfig,
    now: u64,
) -> Result<(), OpError> {
    if let Some(l) = find_list(db, key, now)? {
        l.trim(start, stop, cfg);
        let emptied = l.is_empty();
        if emptied {
            db.remove(key, now);
        }
        db.notify(notify::LIST, "ltrim", key);
        if emptied {
            db.notify(notify::GENERIC, "del", key);
        }
    }
    Ok(())
}

/// LTRIM key start stop
fn cmd_ltrim(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let (start, stop) = match (parse_long(&args[2]), parse_long(&args[3])) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return w.error(e),
    };
    let (db, _, cfg) = parts(sc);
    match op_ltrim(db, &args[1], start, stop, &cfg, now) {
        Ok(()) => w.ok(),
        Err(e) => w.error(e.message()),
    }
}

// -------------------------------------------------------------------------------------------------
// LMOVE RPOPLPUSH
// -------------------------------------------------------------------------------------------------

/// LMOVE / RPOPLPUSH / BLMOVE with both keys in one slice: pops from `src`'s `from` end and
/// pushes onto `dst`'s `to` end, creating `dst` and deleting an emptied `src`. None (nothing
/// done) when `src` is missing. Redis's order: `src`'s type is checked, then `dst`'s, before
/// anything changes. With `src == dst` the list rotates (Redis's conversion order for that case:
/// [`List::move_within`]).
pub fn op_lmove_same_shard(
    db: &mut DbSlice,
    src: &[u8],
    dst: &[u8],
    from: End,
    to: End,
    cfg: &ListConfig,
    now: u64,
) -> Result<Option<Vec<u8>>, OpError> {
    let Some(l) = find_list(db, src, now)? else {
        return Ok(None);
    };
    if src == dst {
        let v = l.move_within(from, to, cfg);
        if v.is_some() {
            db.notify(notify::LIST, push_event(to), dst);
            db.notify(notify::LIST, pop_event(from), src);
        }
        return Ok(v);
    }
    op_check_list(db, dst, now)?;
    // Redis reports the push before the pop (and the source's deletion).
    let Some((mut v, emptied)) = pop_quiet(db, src, from, 1, cfg, now)? else {
        return Ok(None);
    };
    let Some(v) = v.pop() else {
        return Ok(None);
    };
    op_push(db, dst, to, &[&v], cfg, now)?;
    notify_popped(db, src, from, true, emptied);
    Ok(Some(v))
}

/// The type check of a destination (LMOVE's, before anything is popped): Ok when `key` is a
/// list or missing.
pub fn op_check_list(db: &mut DbSlice, key: &[u8], now: u64) -> Result<(), OpError> {
    find_list(db, key, now).map(|_| ())
}

/// LMOVE's source half across shards, first hop: the element `from` would pop, without popping
/// (None when the key is missing). The transaction holds the key's lock until the pop
/// ([`op_pop_one`]), so it is still the element popped then.
pub fn op_lmove_peek(
    db: &mut DbSlice,
    src: &[u8],
    from: End,
    now: u64,
) -> Result<Option<Vec<u8>>, OpError> {
    let Some(l) = find_list(db, src, now)? else {
        return Ok(None);
    };
    let i = match from {
        End::Front => 0,
        End::Back => -1,
    };
    Ok(l.get(i).map(|e| e.to_vec()))
}

fn lmove_reply(w: &mut ReplyWriter, r: Result<Option<Vec<u8>>, OpError>) {
    match r {
        Ok(Some(v)) => w.bulk(&v),
        Ok(None) => w.null(),
        Err(e) => w.error(e.message()),
    }
}

/// LMOVE's two ends (syntax errors before any lookup).
fn lmove_ends(args: &[Bytes]) -> Result<(End, End), &'static str> {
    Ok((parse_end(&args[3])?, parse_end(&args[4])?))
}

fn lmove_shard(sc: &mut ShardCmd, w: &mut ReplyWriter, from: End, to: End) {
    let (args, now) = (sc.args, sc.now_ms);
    let (db, _, cfg) = parts(sc);
    let r = op_lmove_same_shard(db, &args[1], &args[2], from, to, &cfg, now);
    lmove_reply(w, r);
}

/// LMOVE source destination <LEFT | RIGHT> <LEFT | RIGHT>, both keys on this shard.
fn shard_lmove(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    match lmove_ends(sc.args) {
        Ok((from, to)) => lmove_shard(sc, w, from, to),
        Err(e) => w.error(e),
    }
}

/// RPOPLPUSH source destination, both keys on this shard.
fn shard_rpoplpush(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    lmove_shard(sc, w, End::Back, End::Front)
}

/// LMOVE across shards.
fn cmd_lmove(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        let (from, to) = match lmove_ends(&args) {
            Ok(e) => e,
            Err(e) => return c.out.error(e),
        };
        lmove_coord(c, &args, from, to).await;
    })
}

/// RPOPLPUSH across shards.
fn cmd_rpoplpush(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move { lmove_coord(c, &args, End::Back, End::Front).await })
}

async fn lmove_coord(c: &mut Conn, args: &[Bytes], from: End, to: End) {
    match lmove_across(c, args[1].clone(), args[2].clone(), from, to).await {
        Ok(r) => lmove_reply(&mut c.out, r),
        Err(p) => panic_reply(c, &p),
    }
}

/// LMOVE / RPOPLPUSH with source and destination on different shards, atomically (see the module
/// documentation). Every hop uses one `now`, so a key alive in the first hop is alive in the
/// second.
async fn lmove_across(
    c: &mut Conn,
    src: Bytes,
    dst: Bytes,
    from: End,
    to: End,
) -> Result<Result<Option<Vec<u8>>, OpError>, Panicked> {
    let engine = c.engine().clone();
    let n = engine.num_shards();
    let db = c.state.db;
    let groups = KeyGroups::new(n, db, [(1, src.clone()), (2, dst.clone())], true);
    let now = engine.clock.now_ms();
    if groups.shards.len() == 1 {
        // Dispatch runs the shard handler for this case; kept so the coordinator is complete.
        return engine
            .run_on(groups.shards[0], &groups.locks[0], move |s| {
                let cfg = s.limits.list;
                op_lmove_same_shard(&mut s.dbs[db], &src, &dst, from, to, &cfg, now)
            })
            .await;
    }
    let si = groups.index_of(shard_of(&src, n)).expect("source shard");
    let di = groups
        .index_of(shard_of(&dst, n))
        .expect("destination shard");
    let mut tx = groups.schedule(c).await;
    let (s1, d1, src2) = (src.clone(), dst.clone(), src.clone());
    type Checked = Result<Option<Vec<u8>>, OpError>;
    // The source's length at the check (its lock is held until the pop): 1 means the move
    // deletes it.
    let src_len_cell = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let len_out = src_len_cell.clone();
    let mut checked = hop_at::<Checked>(
        &mut tx,
        vec![
            (
                si,
                Box::new(move |s: &mut Shard| {
                    if let Ok(Some(n)) = op_llen(&mut s.dbs[db], &s1, now) {
                        len_out.store(n, std::sync::atomic::Ordering::Relaxed);
                    }
                    op_lmove_peek(&mut s.dbs[db], &s1, from, now)
                }) as HopFn<_>,
            ),
            (
                di,
                Box::new(move |s: &mut Shard| {
                    op_check_list(&mut s.dbs[db], &d1, now).map(|_| None)
                }),
            ),
        ],
        false,
    )
    .await?;
    let (peeked, dst_ok) = (checked[si].take(), checked[di].take());
    // Redis's order: the source's existence and type, then the destination's type.
    let value = match (
        peeked.expect("source job"),
        dst_ok.expect("destination job"),
    ) {
        (Ok(Some(v)), Ok(_)) => v,
        (Ok(None), _) => {
            conclude(&mut tx).await;
            return Ok(Ok(None));
        }
        (Err(e), _) | (_, Err(e)) => {
            conclude(&mut tx).await;
            return Ok(Err(e));
        }
    };
    let pushed = value.clone();
    let src_len = src_len_cell.load(std::sync::atomic::Ordering::Relaxed);
    hop_at(
        &mut tx,
        vec![
            (
                si,
                Box::new(move |s: &mut Shard| {
                    let cfg = s.limits.list;
                    // Active expiry may have removed the key since the first hop: the element
                    // then went with it, after this move in the serial order. The source's
                    // events are reported by the destination's hop, after the push's.
                    pop_quiet(&mut s.dbs[db], &src, from, 1, &cfg, now).map(|_| ())
                }) as HopFn<_>,
            ),
            (
                di,
                Box::new(move |s: &mut Shard| {
                    let cfg = s.limits.list;
                    let r = op_push(&mut s.dbs[db], &dst, to, &[&pushed], &cfg, now).map(|_| ());
                    let emptied = src_len == 1;
                    notify_popped(&s.dbs[db], &src2, from, true, emptied);
                    r
                }),
            ),
        ],
        true,
    )
    .await?;
    Ok(Ok(Some(value)))
}

// -------------------------------------------------------------------------------------------------
// LMPOP
// -------------------------------------------------------------------------------------------------

/// LMPOP's (and BLMPOP's) arguments after the timeout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MpopArgs {
    /// The argument indexes of the keys, in order.
    pub keys: Range<usize>,
    pub end: End,
    /// At least 1 (1 when COUNT is not given).
    pub count: usize,
}

/// Parses `numkeys key [key ...] <LEFT | RIGHT> [COUNT count]` with numkeys at `numkeys_index`
/// (1 for LMPOP, 2 for BLMPOP, whose timeout Redis parses only after all of this). Errors are
/// Redis 7.0's, in its order: numkeys, then the syntax, then COUNT.
pub fn parse_mpop_args(args: &[Bytes], numkeys_index: usize) -> Result<MpopArgs, &'static str> {
    parse_mpop_args_with(args, numkeys_index, parse_end)
}

/// `parse_mpop_args` with another word for the end to pop from (ZMPOP's MIN / MAX).
pub fn parse_mpop_args_with(
    args: &[Bytes],
    numkeys_index: usize,
    parse_end: fn(&[u8]) -> Result<End, &'static str>,
) -> Result<MpopArgs, &'static str> {
    let numkeys = args
        .get(numkeys_index)
        .ok_or(errors::SYNTAX)
        .and_then(|a| parse_at_least(a, 1, errors::NUMKEYS_NOT_POSITIVE))?;
    let where_index = usize::try_from(numkeys)
        .ok()
        .and_then(|k| k.checked_add(numkeys_index + 1))
        .filter(|&i| i < args.len())
        .ok_or(errors::SYNTAX)?;
    let end = parse_end(&args[where_index])?;
    let mut count = None;
    let mut j = where_index + 1;
    while j < args.len() {
        if count.is_none() && word_is(&args[j], "count") && j + 1 < args.len() {
            j += 1;
            let c = parse_at_least(&args[j], 1, errors::COUNT_NOT_POSITIVE)?;
            count = Some(usize::try_from(c).unwrap_or(usize::MAX));
        } else {
            return Err(errors::SYNTAX);
        }
        j += 1;
    }
    Ok(MpopArgs {
        keys: numkeys_index + 1..where_index,
        end,
        count: count.unwrap_or(1),
    })
}

/// What an LMPOP popped: the position of the key among the command's keys, and the elements
/// in the order popped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Popped {
    pub key: usize,
    pub values: Vec<Vec<u8>>,
}

/// LMPOP / BLMPOP on keys of one slice: pops up to `count` elements from the first non-empty
/// list among `keys` (in order) and returns its position in `keys` with the elements; None when
/// every key is missing. A wrong-typed key met before that is an error.
pub fn op_mpop<K: AsRef<[u8]>>(
    db: &mut DbSlice,
    keys: &[K],
    end: End,
    count: usize,
    cfg: &ListConfig,
    now: u64,
) -> Result<Option<Popped>, OpError> {
    for (key, k) in keys.iter().enumerate() {
        if let Some(values) = op_pop(db, k.as_ref(), end, count, cfg, now)? {
            return Ok(Some(Popped { key, values }));
        }
    }
    Ok(None)
}

/// What LMPOP and BLMPOP answer for elements popped from `key`: `[key, [elements]]`.
pub fn popped_reply(w: &mut ReplyWriter, key: &[u8], values: &[Vec<u8>]) {
    w.array(2);
    w.bulk(key);
    bulk_array(w, values);
}

/// LMPOP's reply; `keys` are the command's keys.
fn mpop_reply(w: &mut ReplyWriter, keys: &[Bytes], r: Result<Option<Popped>, OpError>) {
    match r {
        Ok(Some(p)) => popped_reply(w, &keys[p.key], &p.values),
        Ok(None) => w.null_array(),
        Err(e) => w.error(e.message()),
    }
}

/// LMPOP numkeys key [key ...] <LEFT | RIGHT> [COUNT count], all keys on this shard.
fn shard_lmpop(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let a = match parse_mpop_args(args, 1) {
        Ok(a) => a,
        Err(e) => return w.error(e),
    };
    let (db, _, cfg) = parts(sc);
    let keys = &args[a.keys.clone()];
    let r = op_mpop(db, keys, a.end, a.count, &cfg, now);
    mpop_reply(w, keys, r);
}

/// LMPOP across shards (see the module documentation).
fn cmd_lmpop(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        let a = match parse_mpop_args(&args, 1) {
            Ok(a) => a,
            Err(e) => return c.out.error(e),
        };
        match lmpop_across(c, &args, &a).await {
            Ok(r) => mpop_reply(&mut c.out, &args[a.keys.clone()], r),
            Err(p) => panic_reply(c, &p),
        }
    })
}

/// LMPOP's two hops (see the module documentation).
async fn lmpop_across(
    c: &mut Conn,
    args: &[Bytes],
    a: &MpopArgs,
) -> Result<Result<Option<Popped>, OpError>, Panicked> {
    let (end, count) = (a.end, a.count);
    let probe = |db: &mut DbSlice, k: &[u8], now: u64| match list_len_notouch(db, k, now) {
        Ok(None) | Ok(Some(0)) => Probe::Empty,
        Ok(Some(_)) => Probe::Ready,
        Err(e) => Probe::Failed(e),
    };
    let pop = move |s: &mut Shard, db: usize, key: &[u8], now: u64| {
        let cfg = s.limits.list;
        op_pop(&mut s.dbs[db], key, end, count, &cfg, now)
    };
    Ok(
        match pop_first_ready(c, &args[a.keys.clone()], probe, pop).await? {
            Ok(Some((key, Ok(Some(values))))) => Ok(Some(Popped { key, values })),
            // Active expiry removed the key since the first hop: as if it expired just before.
            Ok(Some((_, Ok(None)))) | Ok(None) => Ok(None),
            Ok(Some((_, Err(e)))) | Err(e) => Err(e),
        },
    )
}
