//! String family: GET SET SETNX SETEX PSETEX GETSET GETDEL GETEX MGET MSET MSETNX APPEND STRLEN
//! GETRANGE SUBSTR SETRANGE INCR DECR INCRBY DECRBY INCRBYFLOAT LCS, as Redis 7.0's t_string.c.
//!
//! Single-key commands run on the key's shard: `cmd_*` parses the arguments, an `op_*` function
//! does the work on the shard's `DbSlice` and returns a result, and `cmd_*` writes the reply.
//! MGET, MSET, MSETNX and LCS run the same way when all their keys live on one shard; otherwise
//! their coordinator runs them inside one VLL transaction (MSETNX: a checking hop, then a
//! concluding hop that sets all keys or none), so no client ever observes half of one.
//!
//! Encodings follow Redis: values stored whole go through `StrValue::from_bytes` (`int`, `embstr`,
//! `raw`), APPEND to an existing key and SETRANGE make `raw`, INCR* store `int`, INCRBYFLOAT stores
//! `embstr`/`raw`. Reads that Redis does with `lookupKeyRead` count keyspace hits and misses.
//!
//! Shard-side code cannot see the server's config, so APPEND and SETRANGE (and LCS when its keys
//! share a shard) apply Redis's default `proto-max-bulk-len` (512MB); the LCS coordinator uses the
//! configured value. Nothing here keeps references into shard data beyond one handler call.

use crate::context::{Conn, ShardCmd};
use crate::errors;
use crate::multi::{panic_reply, run_each, EachFn, KeyGroups};
use crate::registry::{Cmd, Handler, LocalBoxFuture};
use bytes::Bytes;
use darter_collections::num::{string2ld, string2ll, LongDouble};
use darter_collections::{StrRef, StrValue, Value};
use darter_engine::notify;
use darter_engine::shard::ShardStats;
use darter_engine::tx::HopFn;
use darter_engine::{DbSlice, Entry, Record, Shard};
use darter_resp::ReplyWriter;
use std::borrow::Cow;
use std::ops::Range;
use std::sync::Arc;

mod lcs;
#[cfg(test)]
mod tests;

pub use lcs::{lcs, Lcs, LcsError, LcsMatch};

pub static COMMANDS: &[Cmd] = &[
    Cmd::new("get", Handler::Shard(cmd_get)),
    Cmd::new("set", Handler::Shard(cmd_set)),
    Cmd::new("setnx", Handler::Shard(cmd_setnx)),
    Cmd::new("setex", Handler::Shard(cmd_setex)),
    Cmd::new("psetex", Handler::Shard(cmd_psetex)),
    Cmd::new("getset", Handler::Shard(cmd_getset)),
    Cmd::new("getdel", Handler::Shard(cmd_getdel)),
    Cmd::new("getex", Handler::Shard(cmd_getex)),
    Cmd::new(
        "mget",
        Handler::Multi {
            shard: Some(cmd_mget_shard),
            coord: cmd_mget,
        },
    ),
    Cmd::new(
        "mset",
        Handler::Multi {
            shard: Some(cmd_mset_shard),
            coord: cmd_mset,
        },
    ),
    Cmd::new(
        "msetnx",
        Handler::Multi {
            shard: Some(cmd_msetnx_shard),
            coord: cmd_msetnx,
        },
    ),
    Cmd::new("append", Handler::Shard(cmd_append)),
    Cmd::new("strlen", Handler::Shard(cmd_strlen)),
    Cmd::new("getrange", Handler::Shard(cmd_getrange)),
    Cmd::new("substr", Handler::Shard(cmd_getrange)),
    Cmd::new("setrange", Handler::Shard(cmd_setrange)),
    Cmd::new("incr", Handler::Shard(cmd_incr)),
    Cmd::new("decr", Handler::Shard(cmd_decr)),
    Cmd::new("incrby", Handler::Shard(cmd_incrby)),
    Cmd::new("decrby", Handler::Shard(cmd_decrby)),
    Cmd::new("incrbyfloat", Handler::Shard(cmd_incrbyfloat)),
    Cmd::new(
        "lcs",
        Handler::Multi {
            shard: Some(cmd_lcs_shard),
            coord: cmd_lcs,
        },
    ),
];

/// Redis's default `proto-max-bulk-len`: the largest string APPEND and SETRANGE may build on the
/// shard side (see the module documentation).
pub const DEFAULT_MAX_BULK_LEN: usize = 512 * 1024 * 1024;

// -------------------------------------------------------------------------------------------------
// Shared pieces: errors, lookups, replies, option words.
// -------------------------------------------------------------------------------------------------

/// Why a string operation did not apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpError {
    /// The key holds another type.
    WrongType,
    /// The stored value or an argument is not an integer in `string2ll`'s sense.
    NotInteger,
    /// The stored value or the increment is not a `string2ld` float.
    NotFloat,
    /// INCR family: the result does not fit in an i64.
    Overflow,
    /// INCRBYFLOAT: the result is NaN or infinite.
    NanOrInf,
    /// The string would exceed `proto-max-bulk-len`.
    TooLong,
    /// An expire time that is not positive or overflows.
    InvalidExpire,
}

impl OpError {
    /// The error reply (`cmd` names the command for InvalidExpire).
    pub fn message(self, cmd: &str) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            OpError::WrongType => errors::WRONGTYPE,
            OpError::NotInteger => errors::NOT_INTEGER,
            OpError::NotFloat => errors::NOT_FLOAT,
            OpError::Overflow => errors::OVERFLOW,
            OpError::NanOrInf => errors::INCR_NAN_INF,
            OpError::TooLong => errors::STRING_TOO_LONG,
            OpError::InvalidExpire => return Cow::Owned(errors::invalid_expire(cmd)),
        })
    }
}

fn error_reply(w: &mut ReplyWriter, e: OpError, cmd: &str) {
    w.error(&e.message(cmd));
}

/// The selected database and the shard's counters, borrowed apart.
fn parts<'a>(sc: &'a mut ShardCmd<'_>) -> (&'a mut DbSlice, &'a mut ShardStats) {
    let shard = &mut *sc.shard;
    (&mut shard.dbs[sc.db], &mut shard.stats)
}

/// Counts one `lookupKeyRead`: a hit when the key exists (whatever its type), else a miss.
fn count_read(stats: &mut ShardStats, found: bool) {
    if found {
        stats.keyspace_hits += 1;
    } else {
        stats.keyspace_misses += 1;
    }
}

fn bulk_str(w: &mut ReplyWriter, s: StrRef<'_>) {
    s.with_bytes(|b| w.bulk(b));
}

/// Stores `value` under `key` with `expire_at`, replacing whatever was there (Redis's `setKey`
/// without KEEPTTL). Returns the old entry, if it was live.
fn store(
    db: &mut DbSlice,
    key: &[u8],
    value: StrValue,
    expire_at: u64,
    now: u64,
) -> Option<Record> {
    match db.set(key, Record::with_expiry(Value::Str(value), expire_at)) {
        // Redis's lookupKeyWrite would have deleted it as expired first.
        Some(o) if o.expire_at != 0 && now > o.expire_at => {
            db.stats.expired_keys += 1;
            None
        }
        old => old,
    }
}

/// A string key's entry (deleting the key first if expired); WrongType for another type.
fn find_str<'a>(
    db: &'a mut DbSlice,
    key: &[u8],
    now: u64,
) -> Result<Option<&'a mut Entry>, OpError> {
    match db.find(key, now) {
        None => Ok(None),
        Some(e) if e.is_str() => Ok(Some(e)),
        Some(_) => Err(OpError::WrongType),
    }
}

/// The string in an entry `find_str` returned.
fn str_of(e: &Entry) -> StrRef<'_> {
    e.as_str().expect("find_str returns strings only")
}

/// Redis compares option words as C strings: an argument matches up to its first NUL byte.
fn opt_is(arg: &[u8], word: &str) -> bool {
    let end = memchr::memchr(0, arg).unwrap_or(arg.len());
    arg[..end].eq_ignore_ascii_case(word.as_bytes())
}

// -------------------------------------------------------------------------------------------------
// Expire options (SET, SETEX, PSETEX, GETEX).
// -------------------------------------------------------------------------------------------------

const OBJ_NX: u16 = 1 << 0;
const OBJ_XX: u16 = 1 << 1;
const OBJ_EX: u16 = 1 << 2;
const OBJ_PX: u16 = 1 << 3;
const OBJ_KEEPTTL: u16 = 1 << 4;
const OBJ_GET: u16 = 1 << 5;
const OBJ_EXAT: u16 = 1 << 6;
const OBJ_PXAT: u16 = 1 << 7;
const OBJ_PERSIST: u16 = 1 << 8;
const ANY_EXPIRE: u16 = OBJ_EX | OBJ_PX | OBJ_EXAT | OBJ_PXAT;

/// SET's and GETEX's options: flags and the index of the expire argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ExtArgs {
    flags: u16,
    expire: Option<usize>,
}

/// Redis's `parseExtendedStringArgumentsOrReply`, condition for condition (repeating EX or NX is
/// allowed; EX with PX, NX with XX, KEEPTTL with an expire are syntax errors). `set` selects
/// SET's options (from argument 3) over GETEX's (from argument 2).
fn parse_ext(args: &[Bytes], set: bool) -> Result<ExtArgs, &'static str> {
    let mut flags = 0u16;
    let mut expire = None;
    let mut j = if set { 3 } else { 2 };
    while j < args.len() {
        let opt = &args[j][..];
        let next = j + 1 < args.len();
        let has = |f: u16| flags & f != 0;
        if set && opt_is(opt, "nx") && !has(OBJ_XX) {
            flags |= OBJ_NX;
        } else if set && opt_is(opt, "xx") && !has(OBJ_NX) {
            flags |= OBJ_XX;
        } else if set && opt_is(opt, "get") {
            flags |= OBJ_GET;
        } else if set && opt_is(opt, "keepttl") && !has(OBJ_PERSIST | ANY_EXPIRE) {
            flags |= OBJ_KEEPTTL;
        } else if !set && opt_is(opt, "persist") && !has(ANY_EXPIRE | OBJ_KEEPTTL) {
            flags |= OBJ_PERSIST;
        } else {
            let (flag, excluded) = if opt_is(opt, "ex") {
                (OBJ_EX, OBJ_EXAT | OBJ_PX | OBJ_PXAT)
            } else if opt_is(opt, "px") {
                (OBJ_PX, OBJ_EX | OBJ_EXAT | OBJ_PXAT)
            } else if opt_is(opt, "exat") {
                (OBJ_EXAT, OBJ_EX | OBJ_PX | OBJ_PXAT)
            } else if opt_is(opt, "pxat") {
                (OBJ_PXAT, OBJ_EX | OBJ_EXAT | OBJ_PX)
            } else {
                return Err(errors::SYNTAX);
            };
            if has(OBJ_KEEPTTL | OBJ_PERSIST | excluded) || !next {
                return Err(errors::SYNTAX);
            }
            flags |= flag;
            expire = Some(j + 1);
            j += 1;
        }
        j += 1;
    }
    Ok(ExtArgs { flags, expire })
}

/// Redis's `getExpireMillisecondsOrReply`: the absolute deadline in ms for an EX/PX (relative to
/// `now`) or EXAT/PXAT argument, given the flag that introduced it.
pub fn parse_expire(arg: &[u8], flag: u16, now: u64) -> Result<u64, OpError> {
    let mut ms = string2ll(arg).ok_or(OpError::NotInteger)?;
    let seconds = flag & (OBJ_EX | OBJ_EXAT) != 0;
    if ms <= 0 || (seconds && ms > i64::MAX / 1000) {
        return Err(OpError::InvalidExpire);
    }
    if seconds {
        ms *= 1000;
    }
    if flag & (OBJ_EX | OBJ_PX) != 0 {
        // Redis adds in C `long long` and then checks the sign: overflow wraps negative.
        ms = ms.wrapping_add(now as i64);
    }
    if ms <= 0 {
        return Err(OpError::InvalidExpire);
    }
    Ok(ms as u64)
}

// -------------------------------------------------------------------------------------------------
// GET, GETDEL, GETEX, STRLEN, GETRANGE / SUBSTR
// -------------------------------------------------------------------------------------------------

/// GET's lookup: the string, None when missing, WrongType for another type.
pub fn op_get<'a>(
    db: &'a mut DbSlice,
    key: &[u8],
    now: u64,
) -> Result<Option<StrRef<'a>>, OpError> {
    Ok(find_str(db, key, now)?.map(|e| str_of(e)))
}

/// GET key
fn cmd_get(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let (db, stats) = parts(sc);
    let r = op_get(db, &args[1], now);
    count_read(stats, !matches!(r, Ok(None)));
    match r {
        Ok(Some(s)) => bulk_str(w, s),
        Ok(None) => w.null(),
        Err(e) => error_reply(w, e, "get"),
    }
}

/// Removes a string key and returns its value.
pub fn op_getdel(db: &mut DbSlice, key: &[u8], now: u64) -> Result<Option<StrValue>, OpError> {
    if find_str(db, key, now)?.is_none() {
        return Ok(None);
    }
    let r = db.remove(key, now);
    db.notify(notify::GENERIC, "del", key);
    Ok(r.and_then(|r| r.value.into_str()))
}

/// GETDEL key
fn cmd_getdel(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let (db, stats) = parts(sc);
    let r = op_getdel(db, &args[1], now);
    count_read(stats, !matches!(r, Ok(None)));
    match r {
        Ok(Some(s)) => bulk_str(w, s.as_ref()),
        Ok(None) => w.null(),
        Err(e) => error_reply(w, e, "getdel"),
    }
}

/// What GETEX does to the key's time to live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TtlChange {
    Keep,
    Persist,
    /// A new deadline; `absolute` (EXAT/PXAT) deadlines already past delete the key.
    At {
        at_ms: u64,
        absolute: bool,
    },
}

/// GETEX: returns the value, then changes the TTL. `change` is validated only once the key is
/// known to hold a string (Redis's order), so an invalid expire on a missing key is just nil.
pub fn op_getex(
    db: &mut DbSlice,
    key: &[u8],
    change: Result<TtlChange, OpError>,
    now: u64,
) -> Result<Option<StrValue>, OpError> {
    let Some(e) = find_str(db, key, now)? else {
        return Ok(None);
    };
    let change = change?;
    let value = str_of(e).to_owned_value();
    let had_ttl = e.expire_at() != 0;
    match change {
        TtlChange::Keep => {}
        TtlChange::Persist => {
            if had_ttl {
                db.set_expire(key, 0, now);
                db.notify(notify::GENERIC, "persist", key);
            }
        }
        TtlChange::At { at_ms, absolute } if absolute && at_ms <= now => {
            db.remove(key, now);
            db.notify(notify::GENERIC, "del", key);
        }
        TtlChange::At { at_ms, .. } => {
            db.set_expire(key, at_ms, now);
            db.notify(notify::GENERIC, "expire", key);
        }
    }
    Ok(Some(value))
}

/// GETEX key [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-ms | PERSIST]
fn cmd_getex(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let ext = match parse_ext(args, false) {
        Ok(e) => e,
        Err(e) => return w.error(e),
    };
    let change = match ext.expire {
        Some(i) => {
            let flag = ext.flags & ANY_EXPIRE;
            parse_expire(&args[i], flag, now).map(|at_ms| TtlChange::At {
                at_ms,
                absolute: flag & (OBJ_EXAT | OBJ_PXAT) != 0,
            })
        }
        None if ext.flags & OBJ_PERSIST != 0 => Ok(TtlChange::Persist),
        None => Ok(TtlChange::Keep),
    };
    let (db, stats) = parts(sc);
    let r = op_getex(db, &args[1], change, now);
    count_read(stats, !matches!(r, Ok(None)));
    match r {
        Ok(Some(s)) => bulk_str(w, s.as_ref()),
        Ok(None) => w.null(),
        Err(e) => error_reply(w, e, "getex"),
    }
}

/// STRLEN key
fn cmd_strlen(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let (db, stats) = parts(sc);
    let r = op_get(db, &args[1], now);
    count_read(stats, !matches!(r, Ok(None)));
    match r {
        Ok(Some(s)) => w.int(s.len() as i64),
        Ok(None) => w.int(0),
        Err(e) => error_reply(w, e, "strlen"),
    }
}

/// GETRANGE's byte range of a string of `len` bytes for `start..=end` (negative counts from the
/// end), exactly as Redis 7.0 clamps it; None means the empty string.
pub fn getrange_bounds(len: usize, start: i64, end: i64) -> Option<Range<usize>> {
    if start < 0 && end < 0 && start > end {
        return None;
    }
    let len_i = len as i64;
    let mut start = if start < 0 { start + len_i } else { start };
    let mut end = if end < 0 { end + len_i } else { end };
    start = start.max(0);
    end = end.max(0);
    if end >= len_i {
        end = len_i - 1;
    }
    if start > end || len == 0 {
        return None;
    }
    Some(start as usize..end as usize + 1)
}

/// GETRANGE key start end (and SUBSTR, its old name)
fn cmd_getrange(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let (Some(start), Some(end)) = (string2ll(&args[2]), string2ll(&args[3])) else {
        return w.error(errors::NOT_INTEGER);
    };
    let (db, stats) = parts(sc);
    let r = op_get(db, &args[1], now);
    count_read(stats, !matches!(r, Ok(None)));
    match r {
        Ok(Some(s)) => s.with_bytes(|b| match getrange_bounds(b.len(), start, end) {
            Some(range) => w.bulk(&b[range]),
            None => w.bulk(b""),
        }),
        Ok(None) => w.bulk(b""),
        Err(e) => error_reply(w, e, "getrange"),
    }
}

// -------------------------------------------------------------------------------------------------
// SET, SETNX, SETEX, PSETEX, GETSET
// -------------------------------------------------------------------------------------------------

/// When SET may write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SetCond {
    #[default]
    Always,
    /// NX
    IfMissing,
    /// XX
    IfExists,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SetParams {
    pub cond: SetCond,
    /// GET: answer with the old value (WrongType if it is not a string).
    pub get: bool,
    /// KEEPTTL: keep the old deadline (otherwise SET clears it).
    pub keep_ttl: bool,
    /// EX/PX/EXAT/PXAT, resolved to an absolute deadline.
    pub expire_at: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetOutcome {
    Stored,
    /// NX or XX prevented the write.
    NotStored,
    /// With GET: the old value (whether or not the write happened).
    Old(Option<StrValue>),
}

/// Redis's `setGenericCommand` after argument parsing.
pub fn op_set(
    db: &mut DbSlice,
    key: &[u8],
    value: StrValue,
    p: &SetParams,
    now: u64,
) -> Result<SetOutcome, OpError> {
    if p.cond == SetCond::Always && !p.get && !p.keep_ttl {
        store(db, key, value, p.expire_at.unwrap_or(0), now);
        notify_set(db, key, p.expire_at);
        return Ok(SetOutcome::Stored);
    }
    let existing = db.find(key, now);
    let blocked = match p.cond {
        SetCond::Always => false,
        SetCond::IfMissing => existing.is_some(),
        SetCond::IfExists => existing.is_none(),
    };
    let mut old_ttl = 0;
    if let Some(e) = existing {
        let old = e.as_str();
        if p.get && old.is_none() {
            return Err(OpError::WrongType);
        }
        if blocked {
            return Ok(if p.get {
                SetOutcome::Old(old.map(|s| s.to_owned_value()))
            } else {
                SetOutcome::NotStored
            });
        }
        old_ttl = e.expire_at();
    } else if blocked {
        return Ok(if p.get {
            SetOutcome::Old(None)
        } else {
            SetOutcome::NotStored
        });
    }
    let expire_at = match p.expire_at {
        Some(t) => t,
        None if p.keep_ttl => old_ttl,
        None => 0,
    };
    let old = store(db, key, value, expire_at, now);
    notify_set(db, key, p.expire_at);
    Ok(if p.get {
        SetOutcome::Old(old.and_then(|r| r.value.into_str()))
    } else {
        SetOutcome::Stored
    })
}

/// SET's events: `set`, then `expire` when it set a deadline (a deadline already past leaves
/// the key to lazy or active expiry, which reports `expired`, as in Redis 7.0).
fn notify_set(db: &mut DbSlice, key: &[u8], expire_at: Option<u64>) {
    db.notify(notify::STRING, "set", key);
    if expire_at.is_some() {
        db.notify(notify::GENERIC, "expire", key);
    }
}

/// How SET-like commands answer: SET's `+OK`/nil, or SETNX's `:1`/`:0`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SetReply {
    Ok,
    Int,
}

fn set_generic(
    sc: &mut ShardCmd,
    w: &mut ReplyWriter,
    p: &SetParams,
    key: &[u8],
    value: &[u8],
    style: SetReply,
    cmd: &str,
) {
    let now = sc.now_ms;
    let (db, stats) = parts(sc);
    let r = op_set(db, key, StrValue::from_bytes(value), p, now);
    if p.get {
        count_read(stats, !matches!(r, Ok(SetOutcome::Old(None))));
    }
    match (r, style) {
        (Ok(SetOutcome::Stored), SetReply::Ok) => w.ok(),
        (Ok(SetOutcome::Stored), SetReply::Int) => w.int(1),
        (Ok(SetOutcome::NotStored), SetReply::Ok) => w.null(),
        (Ok(SetOutcome::NotStored), SetReply::Int) => w.int(0),
        (Ok(SetOutcome::Old(Some(s))), _) => bulk_str(w, s.as_ref()),
        (Ok(SetOutcome::Old(None)), _) => w.null(),
        (Err(e), _) => error_reply(w, e, cmd),
    }
}

/// SET key value [NX | XX] [GET] [EX seconds | PX ms | EXAT unix-seconds | PXAT unix-ms | KEEPTTL]
fn cmd_set(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let args = sc.args;
    let ext = match parse_ext(args, true) {
        Ok(e) => e,
        Err(e) => return w.error(e),
    };
    let expire_at = match ext.expire {
        Some(i) => match parse_expire(&args[i], ext.flags & ANY_EXPIRE, sc.now_ms) {
            Ok(t) => Some(t),
            Err(e) => return error_reply(w, e, "set"),
        },
        None => None,
    };
    let cond = if ext.flags & OBJ_NX != 0 {
        SetCond::IfMissing
    } else if ext.flags & OBJ_XX != 0 {
        SetCond::IfExists
    } else {
        SetCond::Always
    };
    let p = SetParams {
        cond,
        get: ext.flags & OBJ_GET != 0,
        keep_ttl: ext.flags & OBJ_KEEPTTL != 0,
        expire_at,
    };
    set_generic(sc, w, &p, &args[1], &args[2], SetReply::Ok, "set");
}

/// SETNX key value
fn cmd_setnx(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let args = sc.args;
    let p = SetParams {
        cond: SetCond::IfMissing,
        ..SetParams::default()
    };
    set_generic(sc, w, &p, &args[1], &args[2], SetReply::Int, "setnx");
}

/// GETSET key value: SET key value GET.
fn cmd_getset(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let args = sc.args;
    let p = SetParams {
        get: true,
        ..SetParams::default()
    };
    set_generic(sc, w, &p, &args[1], &args[2], SetReply::Ok, "getset");
}

fn setex_generic(sc: &mut ShardCmd, w: &mut ReplyWriter, flag: u16, cmd: &str) {
    let args = sc.args;
    let p = match parse_expire(&args[2], flag, sc.now_ms) {
        Ok(t) => SetParams {
            expire_at: Some(t),
            ..SetParams::default()
        },
        Err(e) => return error_reply(w, e, cmd),
    };
    set_generic(sc, w, &p, &args[1], &args[3], SetReply::Ok, cmd);
}

/// SETEX key seconds value
fn cmd_setex(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    setex_generic(sc, w, OBJ_EX, "setex");
}

/// PSETEX key milliseconds value
fn cmd_psetex(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    setex_generic(sc, w, OBJ_PX, "psetex");
}

// -------------------------------------------------------------------------------------------------
// APPEND, SETRANGE
// -------------------------------------------------------------------------------------------------

/// Appends `tail`; returns the new length. A new key is stored whole (`int`/`embstr`/`raw`), an
/// existing one becomes `raw`. The TTL is kept.
pub fn op_append(
    db: &mut DbSlice,
    key: &[u8],
    tail: &[u8],
    max_len: usize,
    now: u64,
) -> Result<usize, OpError> {
    match find_str(db, key, now)? {
        None => {
            store(db, key, StrValue::from_bytes(tail), 0, now);
            db.notify(notify::STRING, "append", key);
            Ok(tail.len())
        }
        Some(e) => {
            if str_of(e)
                .len()
                .checked_add(tail.len())
                .is_none_or(|t| t > max_len)
            {
                return Err(OpError::TooLong);
            }
            let n = e
                .with_raw_mut(|buf| {
                    buf.extend_from_slice(tail);
                    buf.len()
                })
                .expect("a string");
            db.notify(notify::STRING, "append", key);
            Ok(n)
        }
    }
}

/// APPEND key value
fn cmd_append(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    match op_append(sc.slice(), &args[1], &args[2], DEFAULT_MAX_BULK_LEN, now) {
        Ok(n) => w.int(n as i64),
        Err(e) => error_reply(w, e, "append"),
    }
}

/// Overwrites bytes from `offset`, zero-padding; returns the new length. Setting nothing
/// creates nothing and changes nothing.
pub fn op_setrange(
    db: &mut DbSlice,
    key: &[u8],
    offset: usize,
    value: &[u8],
    max_len: usize,
    now: u64,
) -> Result<usize, OpError> {
    let end = offset.checked_add(value.len()).filter(|&e| e <= max_len);
    match find_str(db, key, now)? {
        None => {
            if value.is_empty() {
                return Ok(0);
            }
            let end = end.ok_or(OpError::TooLong)?;
            let mut buf = vec![0u8; end];
            buf[offset..].copy_from_slice(value);
            store(db, key, StrValue::raw(buf), 0, now);
            db.notify(notify::STRING, "setrange", key);
            Ok(end)
        }
        Some(e) => {
            if value.is_empty() {
                return Ok(str_of(e).len());
            }
            let end = end.ok_or(OpError::TooLong)?;
            let n = e
                .with_raw_mut(|buf| {
                    if buf.len() < end {
                        buf.resize(end, 0);
                    }
                    buf[offset..end].copy_from_slice(value);
                    buf.len()
                })
                .expect("a string");
            db.notify(notify::STRING, "setrange", key);
            Ok(n)
        }
    }
}

/// SETRANGE key offset value
fn cmd_setrange(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let Some(offset) = string2ll(&args[2]) else {
        return w.error(errors::NOT_INTEGER);
    };
    if offset < 0 {
        return w.error(errors::OFFSET_OUT_OF_RANGE);
    }
    let offset = usize::try_from(offset).unwrap_or(usize::MAX);
    match op_setrange(
        sc.slice(),
        &args[1],
        offset,
        &args[3],
        DEFAULT_MAX_BULK_LEN,
        now,
    ) {
        Ok(n) => w.int(n as i64),
        Err(e) => error_reply(w, e, "setrange"),
    }
}

// -------------------------------------------------------------------------------------------------
// INCR, DECR, INCRBY, DECRBY, INCRBYFLOAT
// -------------------------------------------------------------------------------------------------

/// Adds `delta` to the integer at `key` (0 when missing); stores and returns the result as an
/// `int`. The TTL is kept.
pub fn op_incrby(db: &mut DbSlice, key: &[u8], delta: i64, now: u64) -> Result<i64, OpError> {
    match find_str(db, key, now)? {
        None => {
            store(db, key, StrValue::Int(delta), 0, now);
            db.notify(notify::STRING, "incrby", key);
            Ok(delta)
        }
        Some(e) => {
            let old = str_of(e).as_i64().ok_or(OpError::NotInteger)?;
            let new = old.checked_add(delta).ok_or(OpError::Overflow)?;
            e.set_value(Value::Str(StrValue::Int(new)));
            db.notify(notify::STRING, "incrby", key);
            Ok(new)
        }
    }
}

fn incr_generic(sc: &mut ShardCmd, w: &mut ReplyWriter, delta: i64, cmd: &str) {
    let (args, now) = (sc.args, sc.now_ms);
    match op_incrby(sc.slice(), &args[1], delta, now) {
        Ok(v) => w.int(v),
        Err(e) => error_reply(w, e, cmd),
    }
}

/// INCR key
fn cmd_incr(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    incr_generic(sc, w, 1, "incr");
}

/// DECR key
fn cmd_decr(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    incr_generic(sc, w, -1, "decr");
}

/// INCRBY key increment
fn cmd_incrby(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    match string2ll(&sc.args[2]) {
        Some(d) => incr_generic(sc, w, d, "incrby"),
        None => w.error(errors::NOT_INTEGER),
    }
}

/// DECRBY key decrement
fn cmd_decrby(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    match string2ll(&sc.args[2]) {
        None => w.error(errors::NOT_INTEGER),
        // Negating LLONG_MIN would overflow.
        Some(i64::MIN) => w.error(errors::DECR_OVERFLOW),
        Some(d) => incr_generic(sc, w, -d, "decrby"),
    }
}

/// Adds the float `incr` to the value at `key` with `long double` arithmetic and stores the
/// result as Redis prints it (`%.17Lf`, trailing zeros removed), `embstr` or `raw`. Returns the
/// stored text. The TTL is kept.
pub fn op_incrbyfloat(
    db: &mut DbSlice,
    key: &[u8],
    incr: &[u8],
    now: u64,
) -> Result<Vec<u8>, OpError> {
    let existing = find_str(db, key, now)?;
    let current = match existing.as_deref().map(str_of) {
        None => LongDouble::Zero { neg: false },
        Some(StrRef::Int(v)) => LongDouble::from_i64(v),
        Some(s) => s.with_bytes(string2ld).ok_or(OpError::NotFloat)?,
    };
    let incr = string2ld(incr).ok_or(OpError::NotFloat)?;
    let sum = current + incr;
    if !sum.is_finite() {
        return Err(OpError::NanOrInf);
    }
    let text = sum.to_human();
    let value = StrValue::embstr_or_raw(&text);
    match existing {
        Some(e) => e.set_value(Value::Str(value)),
        None => {
            store(db, key, value, 0, now);
        }
    }
    db.notify(notify::STRING, "incrbyfloat", key);
    Ok(text)
}

/// INCRBYFLOAT key increment
fn cmd_incrbyfloat(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    match op_incrbyfloat(sc.slice(), &args[1], &args[2], now) {
        Ok(text) => w.bulk(&text),
        Err(e) => error_reply(w, e, "incrbyfloat"),
    }
}

// -------------------------------------------------------------------------------------------------
// MGET, MSET, MSETNX
// -------------------------------------------------------------------------------------------------

/// Looks `keys` up for reading, calling `each` with every key's string value, or None when the
/// key is missing or holds another type (MGET's nil). Returns (hits, misses).
pub fn op_mget<'k>(
    db: &mut DbSlice,
    keys: impl IntoIterator<Item = &'k [u8]>,
    now: u64,
    mut each: impl FnMut(Option<StrRef<'_>>),
) -> (u64, u64) {
    let (mut hits, mut misses) = (0, 0);
    for key in keys {
        match db.find(key, now) {
            Some(e) => {
                hits += 1;
                each(e.as_str());
            }
            None => {
                misses += 1;
                each(None);
            }
        }
    }
    (hits, misses)
}

/// MGET key [key ...], all keys on this shard.
fn cmd_mget_shard(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let (db, stats) = parts(sc);
    w.array(args.len() - 1);
    let keys = args[1..].iter().map(|k| &k[..]);
    let (hits, misses) = op_mget(db, keys, now, |v| match v {
        Some(s) => bulk_str(w, s),
        None => w.null(),
    });
    stats.keyspace_hits += hits;
    stats.keyspace_misses += misses;
}

/// MGET across shards: one transaction with shared locks, one concluding hop.
fn cmd_mget(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        let keys = args.iter().cloned().enumerate().skip(1);
        let groups = KeyGroups::new(c.engine().num_shards(), c.state.db, keys, false);
        type Found = Vec<(usize, Option<Vec<u8>>)>;
        let f: EachFn<Found> = Arc::new(|s: &mut Shard, db, keys| {
            let now = s.now_ms();
            let mut values = Vec::with_capacity(keys.len());
            let (hits, misses) =
                op_mget(&mut s.dbs[db], keys.iter().map(|(_, k)| &k[..]), now, |v| {
                    values.push(v.map(|s| s.to_vec()))
                });
            s.stats.keyspace_hits += hits;
            s.stats.keyspace_misses += misses;
            keys.iter().map(|(i, _)| *i).zip(values).collect()
        });
        match run_each(c, &groups, f).await {
            Err(p) => panic_reply(c, &p),
            Ok(parts) => {
                let mut values: Vec<Option<Vec<u8>>> = vec![None; args.len()];
                for (i, v) in parts.into_iter().flatten() {
                    values[i] = v;
                }
                c.out.array(args.len() - 1);
                for v in &values[1..] {
                    match v {
                        Some(b) => c.out.bulk(b),
                        None => c.out.null(),
                    }
                }
            }
        }
    })
}

/// Stores every (key, value) pair in order (a repeated key ends with its last value).
pub fn op_mset<'a>(
    db: &mut DbSlice,
    pairs: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
    now: u64,
) {
    for (k, v) in pairs {
        store(db, k, StrValue::from_bytes(v), 0, now);
        db.notify(notify::STRING, "set", k);
    }
}

/// True when any of `keys` exists (expired keys are deleted on the way, as lookupKeyWrite does).
pub fn op_any_exists<'a>(
    db: &mut DbSlice,
    keys: impl IntoIterator<Item = &'a [u8]>,
    now: u64,
) -> bool {
    keys.into_iter().any(|k| db.contains(k, now))
}

fn pairs(args: &[Bytes]) -> impl Iterator<Item = (&[u8], &[u8])> {
    args[1..].chunks_exact(2).map(|p| (&p[0][..], &p[1][..]))
}

/// MSET key value [key value ...], all keys on this shard.
fn cmd_mset_shard(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    if args.len().is_multiple_of(2) {
        return w.error(&errors::wrong_args("mset"));
    }
    op_mset(sc.slice(), pairs(args), now);
    w.ok();
}

/// MSETNX key value [key value ...], all keys on this shard.
fn cmd_msetnx_shard(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    if args.len().is_multiple_of(2) {
        return w.error(&errors::wrong_args("msetnx"));
    }
    let db = sc.slice();
    if op_any_exists(db, pairs(args).map(|(k, _)| k), now) {
        return w.int(0);
    }
    op_mset(db, pairs(args), now);
    w.int(1);
}

/// The keys of an MSET-style command with their argument indexes, grouped by shard.
fn mset_groups(c: &Conn, args: &[Bytes]) -> KeyGroups {
    let keys = (1..args.len()).step_by(2).map(|i| (i, args[i].clone()));
    KeyGroups::new(c.engine().num_shards(), c.state.db, keys, true)
}

/// Per-shard job of a cross-shard MSET: store that shard's pairs.
fn mset_job(args: Arc<Vec<Bytes>>) -> EachFn<()> {
    Arc::new(move |s: &mut Shard, db, keys| {
        let now = s.now_ms();
        op_mset(
            &mut s.dbs[db],
            keys.iter().map(|(i, k)| (&k[..], &args[i + 1][..])),
            now,
        );
    })
}

/// MSET across shards: one transaction with exclusive locks, one concluding hop.
fn cmd_mset(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        if args.len().is_multiple_of(2) {
            return c.out.error(&errors::wrong_args("mset"));
        }
        let groups = mset_groups(c, &args);
        match run_each(c, &groups, mset_job(Arc::new(args))).await {
            Ok(_) => c.out.ok(),
            Err(p) => panic_reply(c, &p),
        }
    })
}

/// MSETNX across shards: a first hop checks every key while the transaction holds all locks, a
/// concluding hop then sets every pair or nothing.
fn cmd_msetnx(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        if args.len().is_multiple_of(2) {
            return c.out.error(&errors::wrong_args("msetnx"));
        }
        let groups = mset_groups(c, &args);
        let db = c.state.db;
        let mut tx = groups.schedule(c).await;
        let checks = groups
            .keys
            .iter()
            .map(|keys| {
                let keys = keys.clone();
                Some(Box::new(move |s: &mut Shard| {
                    let now = s.now_ms();
                    op_any_exists(&mut s.dbs[db], keys.iter().map(|(_, k)| &k[..]), now)
                }) as HopFn<bool>)
            })
            .collect();
        let mut exists = false;
        for r in tx.hop(checks, false).await {
            match r.expect("every shard had a job") {
                Ok(e) => exists |= e,
                // Dropping `tx` unscheduled cancels it on every shard.
                Err(p) => return panic_reply(c, &p),
            }
        }
        let job = (!exists).then(|| mset_job(Arc::new(args)));
        let sets = groups
            .keys
            .iter()
            .map(|keys| {
                let (job, keys) = (job.clone()?, keys.clone());
                Some(Box::new(move |s: &mut Shard| job(s, db, &keys)) as HopFn<()>)
            })
            .collect();
        for r in tx.hop(sets, true).await {
            if let Some(Err(p)) = r {
                return panic_reply(c, &p);
            }
        }
        c.out.int(i64::from(!exists));
    })
}

// -------------------------------------------------------------------------------------------------
// LCS
// -------------------------------------------------------------------------------------------------

/// One LCS operand as looked up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LcsInput {
    /// A missing key reads as the empty string.
    Str(Vec<u8>),
    WrongType,
}

/// LCS's `lookupKeyRead` of one key (counts a hit or a miss).
fn lcs_fetch(db: &mut DbSlice, stats: &mut ShardStats, key: &[u8], now: u64) -> LcsInput {
    let r = op_get(db, key, now);
    count_read(stats, !matches!(r, Ok(None)));
    match r {
        Ok(Some(s)) => LcsInput::Str(s.to_vec()),
        Ok(None) => LcsInput::Str(Vec::new()),
        Err(_) => LcsInput::WrongType,
    }
}

/// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN], both keys on this shard.
fn cmd_lcs_shard(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let (db, stats) = parts(sc);
    let a = lcs_fetch(db, stats, &args[1], now);
    let b = lcs_fetch(db, stats, &args[2], now);
    lcs::reply(w, a, b, args, DEFAULT_MAX_BULK_LEN);
}

/// LCS across two shards: both values are read in one transaction, the comparison runs here.
fn cmd_lcs(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        let keys = [(1, args[1].clone()), (2, args[2].clone())];
        let groups = KeyGroups::new(c.engine().num_shards(), c.state.db, keys, false);
        let f: EachFn<Vec<(usize, LcsInput)>> = Arc::new(|s: &mut Shard, db, keys| {
            let now = s.now_ms();
            let shard = &mut *s;
            keys.iter()
                .map(|(i, k)| {
                    let v = lcs_fetch(&mut shard.dbs[db], &mut shard.stats, k, now);
                    (*i, v)
                })
                .collect()
        });
        match run_each(c, &groups, f).await {
            Err(p) => panic_reply(c, &p),
            Ok(parts) => {
                let mut a = LcsInput::Str(Vec::new());
                let mut b = LcsInput::Str(Vec::new());
                for (i, v) in parts.into_iter().flatten() {
                    if i == 1 {
                        a = v;
                    } else {
                        b = v;
                    }
                }
                let max = c.server.config.proto_max_bulk_len();
                lcs::reply(&mut c.out, a, b, &args, max);
            }
        }
    })
}
