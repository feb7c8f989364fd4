//! Sorted-set family: ZADD ZINCRBY ZREM ZCARD ZCOUNT ZLEXCOUNT ZSCORE ZMSCORE ZRANK ZREVRANK,
//! the ZRANGE family (ZRANGE with BYSCORE BYLEX REV LIMIT WITHSCORES, ZRANGEBYSCORE
//! ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX ZREVRANGE), ZREMRANGEBYRANK/SCORE/LEX, ZPOPMIN
//! ZPOPMAX, ZRANDMEMBER and ZSCAN, as Redis 7.0's t_zset.c replies, on the listpack / tree
//! encodings of `darter_collections::zsetval` (Redis 7.2's conversions). The commands over
//! several keys (ZUNION ZINTER ZDIFF and their STORE forms, ZINTERCARD, ZRANGESTORE, ZMPOP) are
//! in `zset/store.rs`; the blocking pops (BZPOPMIN BZPOPMAX BZMPOP) share the list family's
//! blocking machinery (`families/blocking.rs`).
//!
//! Replies: a score is `addReplyDouble` (`%.17g`; a RESP3 double). Member/score pairs are a flat
//! array in RESP2 and an array of `[member, score]` pairs in RESP3 where Redis 7.0 nests them
//! (WITHSCORES ranges, ZPOPMIN/ZPOPMAX with a count, ZRANDMEMBER WITHSCORES, ZMPOP). ZSCAN
//! replies scores as Redis 7.0 stores them as text (`d2string`: integers within 2^52, else
//! `%.17g`). Read lookups count keyspace hits and misses; writes do not.

use crate::args::parse_i64;
use crate::config::glob_match;
use crate::context::ShardCmd;
use crate::errors;
use crate::families::generic::{parse_cursor, parse_scan_opts};
use crate::families::set::{count_read, entry, parts, rng_of, WrongType};
use crate::registry::{Cmd, Handler};
use bytes::Bytes;
use darter_collections::bptree::{LexRange, ScoreRange};
use darter_collections::num::parse_f64;
use darter_collections::zsetval::{AddFlags, AddOutcome};
use darter_collections::{Limits, LpEntry, Value};
use darter_engine::notify;
use darter_engine::shard::ShardStats;
use darter_engine::{DbSlice, Record};
use darter_resp::{Protocol, ReplyWriter};

pub use darter_collections::zsetval::ZSetValue;

mod store;
#[cfg(test)]
mod tests;

pub use store::{op_zpop, parse_zmpop_args, zmpop_reply};

pub static COMMANDS: &[Cmd] = &[
    Cmd::new("zadd", Handler::Shard(cmd_zadd)),
    Cmd::new("zincrby", Handler::Shard(cmd_zincrby)),
    Cmd::new("zrem", Handler::Shard(cmd_zrem)),
    Cmd::new("zcard", Handler::Shard(cmd_zcard)),
    Cmd::new("zcount", Handler::Shard(cmd_zcount)),
    Cmd::new("zlexcount", Handler::Shard(cmd_zlexcount)),
    Cmd::new("zscore", Handler::Shard(cmd_zscore)),
    Cmd::new("zmscore", Handler::Shard(cmd_zmscore)),
    Cmd::new("zrank", Handler::Shard(cmd_zrank)),
    Cmd::new("zrevrank", Handler::Shard(cmd_zrevrank)),
    Cmd::new("zrange", Handler::Shard(cmd_zrange)),
    Cmd::new("zrangebyscore", Handler::Shard(cmd_zrangebyscore)),
    Cmd::new("zrevrangebyscore", Handler::Shard(cmd_zrevrangebyscore)),
    Cmd::new("zrangebylex", Handler::Shard(cmd_zrangebylex)),
    Cmd::new("zrevrangebylex", Handler::Shard(cmd_zrevrangebylex)),
    Cmd::new("zrevrange", Handler::Shard(cmd_zrevrange)),
    Cmd::new("zremrangebyrank", Handler::Shard(cmd_zremrangebyrank)),
    Cmd::new("zremrangebyscore", Handler::Shard(cmd_zremrangebyscore)),
    Cmd::new("zremrangebylex", Handler::Shard(cmd_zremrangebylex)),
    Cmd::new("zpopmin", Handler::Shard(cmd_zpopmin)),
    Cmd::new("zpopmax", Handler::Shard(cmd_zpopmax)),
    Cmd::new("zrandmember", Handler::Shard(cmd_zrandmember)),
    Cmd::new("zscan", Handler::Shard(cmd_zscan)),
    Cmd::new(
        "zrangestore",
        Handler::Multi {
            shard: Some(store::shard_zrangestore),
            coord: store::cmd_zrangestore,
        },
    ),
    Cmd::new(
        "zunion",
        Handler::Multi {
            shard: Some(store::shard_zunion),
            coord: store::cmd_zunion,
        },
    ),
    Cmd::new(
        "zinter",
        Handler::Multi {
            shard: Some(store::shard_zinter),
            coord: store::cmd_zinter,
        },
    ),
    Cmd::new(
        "zdiff",
        Handler::Multi {
            shard: Some(store::shard_zdiff),
            coord: store::cmd_zdiff,
        },
    ),
    Cmd::new(
        "zunionstore",
        Handler::Multi {
            shard: Some(store::shard_zunionstore),
            coord: store::cmd_zunionstore,
        },
    ),
    Cmd::new(
        "zinterstore",
        Handler::Multi {
            shard: Some(store::shard_zinterstore),
            coord: store::cmd_zinterstore,
        },
    ),
    Cmd::new(
        "zdiffstore",
        Handler::Multi {
            shard: Some(store::shard_zdiffstore),
            coord: store::cmd_zdiffstore,
        },
    ),
    Cmd::new(
        "zintercard",
        Handler::Multi {
            shard: Some(store::shard_zintercard),
            coord: store::cmd_zintercard,
        },
    ),
    Cmd::new(
        "zmpop",
        Handler::Multi {
            shard: Some(store::shard_zmpop),
            coord: store::cmd_zmpop,
        },
    ),
];

// -------------------------------------------------------------------------------------------------
// Shared pieces
// -------------------------------------------------------------------------------------------------

/// A sorted-set key's value (deleting the key first if expired); WrongType for another type.
pub fn find_zset<'a>(
    db: &'a mut DbSlice,
    key: &[u8],
    now: u64,
) -> Result<Option<&'a mut ZSetValue>, WrongType> {
    match db.find(key, now) {
        None => Ok(None),
        Some(e) => match e.obj_mut() {
            Some(Value::ZSet(z)) => Ok(Some(z)),
            _ => Err(WrongType),
        },
    }
}

/// `find_zset` for a read command: counts a keyspace hit or miss.
pub(crate) fn read_zset<'a>(
    db: &'a mut DbSlice,
    stats: &mut ShardStats,
    key: &[u8],
    now: u64,
) -> Result<Option<&'a mut ZSetValue>, WrongType> {
    let r = find_zset(db, key, now);
    count_read(stats, !matches!(r, Ok(None)));
    r
}

/// Removes `key` when its sorted set became empty (Redis deletes empty collections).
pub fn drop_if_empty(db: &mut DbSlice, key: &[u8], now: u64) {
    if matches!(find_zset(db, key, now), Ok(Some(z)) if z.is_empty()) {
        db.remove(key, now);
        db.notify(notify::GENERIC, "del", key);
    }
}

/// Parses a score or increment as Redis's `getDoubleFromObject`: a whole-string float, NaN
/// rejected.
pub fn parse_score(a: &[u8]) -> Option<f64> {
    parse_f64(a).filter(|v| !v.is_nan())
}

/// Writes member/score pairs: RESP2 flat (`m, s, m, s`), or `[m, s]` pairs when `nested`
/// (RESP3 where Redis 7.0 nests). Without `withscores`, members only.
pub fn reply_pairs<'a>(
    w: &mut ReplyWriter,
    items: impl ExactSizeIterator<Item = (LpEntry<'a>, f64)>,
    withscores: bool,
    nested: bool,
) {
    let n = items.len();
    w.array(if withscores && !nested { 2 * n } else { n });
    for (m, s) in items {
        if withscores && nested {
            w.array(2);
        }
        entry(w, m);
        if withscores {
            w.double(s);
        }
    }
}

/// `reply_pairs` over owned pairs (pops, computed results).
pub fn reply_owned(w: &mut ReplyWriter, items: &[(Vec<u8>, f64)], withscores: bool, nested: bool) {
    let it = items.iter().map(|(m, s)| (LpEntry::Str(m), *s));
    reply_pairs(w, it, withscores, nested);
}

fn resp3(w: &ReplyWriter) -> bool {
    w.proto == Protocol::Resp3
}

/// Redis 7.0's `d2string`: integral values within (-2^52, 2^52) as integers, else `%.17g`
/// (how 7.0 stores a score as text, which ZSCAN replies).
pub fn d2string_70(v: f64, out: &mut Vec<u8>) {
    const LIM: f64 = 4503599627370496.0; // 2^52
    if v.is_finite() && v != 0.0 && v > -LIM && v < LIM && v == (v as i64) as f64 {
        out.extend_from_slice((v as i64).to_string().as_bytes());
    } else if v == 0.0 {
        out.extend_from_slice(if v.is_sign_negative() { b"-0" } else { b"0" });
    } else {
        darter_resp::format_g17(v, out);
    }
}

// -------------------------------------------------------------------------------------------------
// ZADD ZINCRBY
// -------------------------------------------------------------------------------------------------

/// ZADD's parsed options and pairs.
#[derive(Clone, Debug, PartialEq)]
pub struct ZAddArgs {
    pub flags: AddFlags,
    pub ch: bool,
    /// (score, member argument index).
    pub pairs: Vec<(f64, usize)>,
}

/// Parses `[NX|XX] [GT|LT] [CH] [INCR] score member ...` from `args[2..]` with Redis 7.0's
/// errors in its order (options, pair count, option conflicts, INCR with several pairs, then
/// every score).
pub fn parse_zadd(args: &[Bytes], incr_cmd: bool) -> Result<ZAddArgs, &'static str> {
    let mut f = AddFlags {
        incr: incr_cmd,
        ..AddFlags::default()
    };
    let mut ch = false;
    let mut i = 2;
    if !incr_cmd {
        while i < args.len() {
            let o = &args[i];
            if o.eq_ignore_ascii_case(b"nx") {
                f.nx = true;
            } else if o.eq_ignore_ascii_case(b"xx") {
                f.xx = true;
            } else if o.eq_ignore_ascii_case(b"ch") {
                ch = true;
            } else if o.eq_ignore_ascii_case(b"incr") {
                f.incr = true;
            } else if o.eq_ignore_ascii_case(b"gt") {
                f.gt = true;
            } else if o.eq_ignore_ascii_case(b"lt") {
                f.lt = true;
            } else {
                break;
            }
            i += 1;
        }
    }
    let elements = args.len() - i;
    if elements == 0 || elements % 2 == 1 {
        return Err(errors::SYNTAX);
    }
    if f.nx && f.xx {
        return Err(errors::ZADD_XX_NX);
    }
    if (f.nx && (f.gt || f.lt)) || (f.gt && f.lt) {
        return Err(errors::GT_LT_NX);
    }
    if f.incr && elements > 2 {
        return Err(errors::ZADD_INCR_PAIR);
    }
    let mut pairs = Vec::with_capacity(elements / 2);
    for j in (i..args.len()).step_by(2) {
        let s = parse_score(&args[j]).ok_or(errors::NOT_FLOAT)?;
        pairs.push((s, j + 1));
    }
    Ok(ZAddArgs {
        flags: f,
        ch,
        pairs,
    })
}

/// What ZADD did: counts, and for INCR the new score (None: nothing done).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ZAddDone {
    pub added: usize,
    pub updated: usize,
    pub score: Option<f64>,
}

/// Why ZADD failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZAddError {
    WrongType,
    /// INCR produced NaN (earlier pairs stay applied, as in Redis).
    Nan,
}

/// ZADD / ZINCRBY on one key: creates the key for the first member (XX on a missing key does
/// nothing), converting as Redis 7.2 does.
pub fn op_zadd(
    db: &mut DbSlice,
    key: &[u8],
    a: &ZAddArgs,
    members: &[Bytes],
    l: &Limits,
    now: u64,
) -> Result<ZAddDone, ZAddError> {
    let mut done = ZAddDone {
        added: 0,
        updated: 0,
        score: None,
    };
    let n = a.pairs.len();
    let z = match find_zset(db, key, now).map_err(|_| ZAddError::WrongType)? {
        Some(z) => {
            z.maybe_convert(n, l);
            z
        }
        None => {
            if a.flags.xx {
                return Ok(done);
            }
            let first = &members[a.pairs[0].1];
            let z = ZSetValue::create(n, first.len(), l);
            db.set(key, Record::new(Value::ZSet(z)));
            find_zset(db, key, now).ok().flatten().expect("just stored")
        }
    };
    let mut result = Ok(());
    for &(score, mi) in &a.pairs {
        match z.add(&members[mi], score, a.flags, l) {
            AddOutcome::Nan => {
                result = Err(ZAddError::Nan);
                break;
            }
            AddOutcome::Nop => {}
            AddOutcome::Added(s) => {
                done.added += 1;
                done.score = Some(s);
            }
            AddOutcome::Updated(s) => {
                done.updated += 1;
                done.score = Some(s);
            }
            AddOutcome::Unchanged(s) => done.score = Some(s),
        }
    }
    if done.added + done.updated > 0 {
        let event = if a.flags.incr { "zincr" } else { "zadd" };
        db.notify(notify::ZSET, event, key);
    }
    // A NaN can only come from INCR on an existing member, so the key is never left empty;
    // check anyway so an empty key can never stay behind.
    drop_if_empty(db, key, now);
    result.map(|()| done)
}

fn zadd_common(sc: &mut ShardCmd, w: &mut ReplyWriter, incr_cmd: bool) {
    let (args, now) = (sc.args, sc.now_ms);
    let a = match parse_zadd(args, incr_cmd) {
        Ok(a) => a,
        Err(e) => return w.error(e),
    };
    let (db, _, l) = parts(sc);
    match op_zadd(db, &args[1], &a, args, &l, now) {
        Ok(d) if a.flags.incr => match d.score {
            Some(s) => w.double(s),
            None => w.null(),
        },
        Ok(d) => w.int((d.added + if a.ch { d.updated } else { 0 }) as i64),
        Err(ZAddError::WrongType) => w.error(errors::WRONGTYPE),
        Err(ZAddError::Nan) => w.error(errors::SCORE_NAN),
    }
}

/// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]
fn cmd_zadd(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    zadd_common(sc, w, false)
}

/// ZINCRBY key increment member
fn cmd_zincrby(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    zadd_common(sc, w, true)
}

// -------------------------------------------------------------------------------------------------
// ZREM ZCARD ZCOUNT ZLEXCOUNT ZSCORE ZMSCORE ZRANK ZREVRANK
// -------------------------------------------------------------------------------------------------

/// Removes `members`; returns how many were there. The key goes when the set empties.
pub fn op_zrem(
    db: &mut DbSlice,
    key: &[u8],
    members: &[Bytes],
    now: u64,
) -> Result<usize, WrongType> {
    let Some(z) = find_zset(db, key, now)? else {
        return Ok(0);
    };
    let mut removed = 0;
    for m in members {
        if z.remove(m) {
            removed += 1;
            if z.is_empty() {
                break;
            }
        }
    }
    if removed > 0 {
        db.notify(notify::ZSET, "zrem", key);
    }
    drop_if_empty(db, key, now);
    Ok(removed)
}

/// ZREM key member [member ...]
fn cmd_zrem(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let (db, _, _) = parts(sc);
    match op_zrem(db, &args[1], &args[2..], now) {
        Ok(n) => w.int(n as i64),
        Err(WrongType) => w.error(errors::WRONGTYPE),
    }
}

/// Runs `f` on the sorted set under `args[1]` for a read command (None: missing), replying
/// WRONGTYPE for another type.
fn with_read(
    sc: &mut ShardCmd,
    w: &mut ReplyWriter,
    f: impl FnOnce(&mut ReplyWriter, Option<&ZSetValue>),
) {
    let (args, now) = (sc.args, sc.now_ms);
    let (db, stats, _) = parts(sc);
    match read_zset(db, stats, &args[1], now) {
        Ok(z) => f(w, z.map(|z| &*z)),
        Err(WrongType) => w.error(errors::WRONGTYPE),
    }
}

/// ZCARD key
fn cmd_zcard(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    with_read(sc, w, |w, z| w.int(z.map_or(0, |z| z.len() as i64)))
}

/// ZCOUNT key min max
fn cmd_zcount(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let Some(r) = ScoreRange::parse(&sc.args[2], &sc.args[3]) else {
        return w.error(errors::MINMAX_NOT_FLOAT);
    };
    with_read(sc, w, |w, z| {
        w.int(z.map_or(0, |z| z.count_score(&r) as i64))
    })
}

/// ZLEXCOUNT key min max
fn cmd_zlexcount(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let args = sc.args;
    let Some(r) = LexRange::parse(&args[2], &args[3]) else {
        return w.error(errors::MINMAX_NOT_LEX);
    };
    with_read(sc, w, |w, z| w.int(z.map_or(0, |z| z.count_lex(&r) as i64)))
}

/// ZSCORE key member
fn cmd_zscore(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let args = sc.args;
    with_read(sc, w, |w, z| match z.and_then(|z| z.score(&args[2])) {
        Some(s) => w.double(s),
        None => w.null(),
    })
}

/// ZMSCORE key member [member ...]
fn cmd_zmscore(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let args = sc.args;
    with_read(sc, w, |w, z| {
        w.array(args.len() - 2);
        for m in &args[2..] {
            match z.and_then(|z| z.score(m)) {
                Some(s) => w.double(s),
                None => w.null(),
            }
        }
    })
}

fn rank_common(sc: &mut ShardCmd, w: &mut ReplyWriter, rev: bool) {
    let args = sc.args;
    with_read(sc, w, |w, z| match z.and_then(|z| z.rank(&args[2], rev)) {
        Some((r, _)) => w.int(r as i64),
        None => w.null(),
    })
}

/// ZRANK key member
fn cmd_zrank(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    rank_common(sc, w, false)
}

/// ZREVRANK key member
fn cmd_zrevrank(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    rank_common(sc, w, true)
}

// -------------------------------------------------------------------------------------------------
// The ZRANGE family
// -------------------------------------------------------------------------------------------------

/// What a range selects.
#[derive(Clone, Debug, PartialEq)]
pub enum RangeBy<'a> {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange<'a>),
}

/// A parsed range request (Redis 7.0's `zrangeGenericCommand`).
#[derive(Clone, Debug, PartialEq)]
pub struct RangeSpec<'a> {
    pub by: RangeBy<'a>,
    pub rev: bool,
    pub withscores: bool,
    /// LIMIT offset (0 without LIMIT; negative selects nothing, as in Redis).
    pub offset: i64,
    /// LIMIT count (negative: no limit).
    pub limit: i64,
}

/// Which range a legacy command fixes (ZRANGE and ZRANGESTORE fix none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fixed {
    None,
    Rank { rev: bool },
    Score { rev: bool },
    Lex { rev: bool },
}

/// Parses `key min max [options]` starting at `args[at]` (the key) as Redis 7.0 does, with its
/// errors in its order; `store` for ZRANGESTORE (no WITHSCORES).
pub fn parse_range(
    args: &[Bytes],
    at: usize,
    store: bool,
    fixed: Fixed,
) -> Result<RangeSpec<'_>, &'static str> {
    #[derive(PartialEq)]
    enum Kind {
        Auto,
        Rank,
        Score,
        Lex,
    }
    let (mut kind, mut rev, dir_fixed) = match fixed {
        Fixed::None => (Kind::Auto, false, false),
        Fixed::Rank { rev } => (Kind::Rank, rev, true),
        Fixed::Score { rev } => (Kind::Score, rev, true),
        Fixed::Lex { rev } => (Kind::Lex, rev, true),
    };
    let (mut withscores, mut offset, mut limit) = (false, 0i64, -1i64);
    let mut j = at + 3;
    while j < args.len() {
        let left = args.len() - j - 1;
        let o = &args[j];
        if !store && o.eq_ignore_ascii_case(b"withscores") {
            withscores = true;
        } else if o.eq_ignore_ascii_case(b"limit") && left >= 2 {
            offset = parse_i64(&args[j + 1]).ok_or(errors::NOT_INTEGER)?;
            limit = parse_i64(&args[j + 2]).ok_or(errors::NOT_INTEGER)?;
            j += 2;
        } else if !dir_fixed && !rev && o.eq_ignore_ascii_case(b"rev") {
            rev = true;
        } else if kind == Kind::Auto && o.eq_ignore_ascii_case(b"bylex") {
            kind = Kind::Lex;
        } else if kind == Kind::Auto && o.eq_ignore_ascii_case(b"byscore") {
            kind = Kind::Score;
        } else {
            return Err(errors::SYNTAX);
        }
        j += 1;
    }
    if kind == Kind::Auto {
        kind = Kind::Rank;
    }
    // Redis tells LIMIT apart by `opt_limit != -1`.
    if limit != -1 && kind == Kind::Rank {
        return Err(errors::LIMIT_NEEDS_BY);
    }
    if withscores && kind == Kind::Lex {
        return Err(errors::WITHSCORES_BYLEX);
    }
    let (mut lo, mut hi) = (&args[at + 1], &args[at + 2]);
    if rev && kind != Kind::Rank {
        std::mem::swap(&mut lo, &mut hi);
    }
    let by = match kind {
        Kind::Score => RangeBy::Score(ScoreRange::parse(lo, hi).ok_or(errors::MINMAX_NOT_FLOAT)?),
        Kind::Lex => RangeBy::Lex(LexRange::parse(lo, hi).ok_or(errors::MINMAX_NOT_LEX)?),
        _ => {
            let a = parse_i64(lo).ok_or(errors::NOT_INTEGER)?;
            let b = parse_i64(hi).ok_or(errors::NOT_INTEGER)?;
            RangeBy::Rank(a, b)
        }
    };
    Ok(RangeSpec {
        by,
        rev,
        withscores: withscores || store,
        offset,
        limit,
    })
}

/// The entries a range selects, in reply order.
pub fn select<'z>(z: &'z ZSetValue, s: &RangeSpec<'_>) -> darter_collections::zsetval::ZIter<'z> {
    let (offset, count) = if s.offset < 0 {
        (usize::MAX, Some(0))
    } else {
        let c = usize::try_from(s.limit).ok();
        (usize::try_from(s.offset).unwrap_or(usize::MAX), c)
    };
    match &s.by {
        RangeBy::Rank(a, b) => z.range_by_rank(*a, *b, s.rev),
        RangeBy::Score(r) => z.range_by_score(r, offset, count, s.rev),
        RangeBy::Lex(r) => z.range_by_lex(r, offset, count, s.rev),
    }
}

fn range_common(sc: &mut ShardCmd, w: &mut ReplyWriter, fixed: Fixed) {
    let args = sc.args;
    let spec = match parse_range(args, 1, false, fixed) {
        Ok(s) => s,
        Err(e) => return w.error(e),
    };
    let nested = resp3(w);
    with_read(sc, w, |w, z| match z {
        None => w.array(0),
        Some(z) => reply_pairs(w, select(z, &spec), spec.withscores, nested),
    })
}

/// ZRANGE key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES]
fn cmd_zrange(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    range_common(sc, w, Fixed::None)
}

/// ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]
fn cmd_zrangebyscore(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    range_common(sc, w, Fixed::Score { rev: false })
}

/// ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]
fn cmd_zrevrangebyscore(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    range_common(sc, w, Fixed::Score { rev: true })
}

/// ZRANGEBYLEX key min max [LIMIT offset count]
fn cmd_zrangebylex(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    range_common(sc, w, Fixed::Lex { rev: false })
}

/// ZREVRANGEBYLEX key max min [LIMIT offset count]
fn cmd_zrevrangebylex(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    range_common(sc, w, Fixed::Lex { rev: true })
}

/// ZREVRANGE key start stop [WITHSCORES]
fn cmd_zrevrange(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    range_common(sc, w, Fixed::Rank { rev: true })
}

// -------------------------------------------------------------------------------------------------
// ZREMRANGEBYRANK ZREMRANGEBYSCORE ZREMRANGEBYLEX
// -------------------------------------------------------------------------------------------------

/// Removes the entries `by` selects; returns how many. The key goes when the set empties.
pub fn op_zremrange(
    db: &mut DbSlice,
    key: &[u8],
    by: &RangeBy<'_>,
    now: u64,
) -> Result<usize, WrongType> {
    let Some(z) = find_zset(db, key, now)? else {
        return Ok(0);
    };
    let (n, event) = match by {
        RangeBy::Rank(a, b) => (z.remove_range_by_rank(*a, *b).len(), "zremrangebyrank"),
        RangeBy::Score(r) => (z.remove_range_by_score(r).len(), "zremrangebyscore"),
        RangeBy::Lex(r) => (z.remove_range_by_lex(r).len(), "zremrangebylex"),
    };
    if n > 0 {
        db.notify(notify::ZSET, event, key);
    }
    drop_if_empty(db, key, now);
    Ok(n)
}

fn remrange_common(sc: &mut ShardCmd, w: &mut ReplyWriter, by: Result<RangeBy<'_>, &str>) {
    let (args, now) = (sc.args, sc.now_ms);
    let by = match by {
        Ok(b) => b,
        Err(e) => return w.error(e),
    };
    let (db, _, _) = parts(sc);
    match op_zremrange(db, &args[1], &by, now) {
        Ok(n) => w.int(n as i64),
        Err(WrongType) => w.error(errors::WRONGTYPE),
    }
}

/// ZREMRANGEBYRANK key start stop
fn cmd_zremrangebyrank(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let args = sc.args;
    let by = match (parse_i64(&args[2]), parse_i64(&args[3])) {
        (Some(a), Some(b)) => Ok(RangeBy::Rank(a, b)),
        _ => Err(errors::NOT_INTEGER),
    };
    remrange_common(sc, w, by)
}

/// ZREMRANGEBYSCORE key min max
fn cmd_zremrangebyscore(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let args = sc.args;
    let by = ScoreRange::parse(&args[2], &args[3])
        .map(RangeBy::Score)
        .ok_or(errors::MINMAX_NOT_FLOAT);
    remrange_common(sc, w, by)
}

/// ZREMRANGEBYLEX key min max
fn cmd_zremrangebylex(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let args = sc.args;
    let by = LexRange::parse(&args[2], &args[3])
        .map(RangeBy::Lex)
        .ok_or(errors::MINMAX_NOT_LEX);
    remrange_common(sc, w, by)
}

// -------------------------------------------------------------------------------------------------
// ZPOPMIN ZPOPMAX
// -------------------------------------------------------------------------------------------------

fn pop_common(sc: &mut ShardCmd, w: &mut ReplyWriter, max: bool) {
    let (args, now) = (sc.args, sc.now_ms);
    if args.len() > 3 {
        return w.error(errors::SYNTAX);
    }
    // Redis's `getPositiveLongFromObjectOrReply`: one message for garbage and negatives.
    let count = match args.get(2).map(|a| parse_i64(a)) {
        None => None,
        Some(Some(c)) if c >= 0 => Some(usize::try_from(c).unwrap_or(usize::MAX)),
        Some(_) => return w.error(errors::MUST_BE_POSITIVE),
    };
    let nested = resp3(w) && count.is_some();
    let (db, _, _) = parts(sc);
    match op_zpop(db, &args[1], count.unwrap_or(1), max, now) {
        Ok(v) => reply_owned(w, &v.unwrap_or_default(), true, nested),
        Err(WrongType) => w.error(errors::WRONGTYPE),
    }
}

/// ZPOPMIN key [count]
fn cmd_zpopmin(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    pop_common(sc, w, false)
}

/// ZPOPMAX key [count]
fn cmd_zpopmax(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    pop_common(sc, w, true)
}

// -------------------------------------------------------------------------------------------------
// ZRANDMEMBER
// -------------------------------------------------------------------------------------------------

/// ZRANDMEMBER with a count on a non-empty set: the chosen entries in reply order, following
/// Redis 7.0's cases: a negative count samples with repetition (random order); a count of at
/// least the size is the whole set (highest first, as 7.0 replies for a listpack); otherwise
/// `count` distinct entries, chosen by partial Fisher-Yates over the ranks.
pub fn op_zrandmember<'z>(
    z: &'z ZSetValue,
    count: i64,
    mut rnd: impl FnMut(usize) -> usize,
) -> Vec<(LpEntry<'z>, f64)> {
    let size = z.len();
    if count < 0 || count == 1 {
        let n = count.unsigned_abs() as usize;
        return (0..n)
            .map(|_| z.random(&mut rnd).expect("non-empty"))
            .collect();
    }
    let count = count as usize;
    if count >= size {
        return z.iter_ranks(0, size, true).collect();
    }
    let mut ranks: Vec<usize> = (0..size).collect();
    for i in 0..count {
        let j = i + rnd(size - i);
        ranks.swap(i, j);
    }
    ranks[..count]
        .iter()
        .map(|&r| z.get(r).expect("rank in range"))
        .collect()
}

/// ZRANDMEMBER key [count [WITHSCORES]]
fn cmd_zrandmember(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let mut count = None;
    let mut withscores = false;
    if args.len() >= 3 {
        let c = match parse_i64(&args[2]) {
            None => return w.error(errors::NOT_INTEGER),
            Some(i64::MIN) => return w.error(errors::COUNT_OUT_OF_LONG_RANGE),
            Some(c) => c,
        };
        if args.len() > 4 || (args.len() == 4 && !args[3].eq_ignore_ascii_case(b"withscores")) {
            return w.error(errors::SYNTAX);
        }
        if args.len() == 4 {
            withscores = true;
            if !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&c) {
                return w.error(errors::VALUE_OUT_OF_RANGE);
            }
        }
        count = Some(c);
    }
    let nested = resp3(w);
    let mut rnd = rng_of(sc.shard);
    let (db, stats, _) = parts(sc);
    let z = match read_zset(db, stats, &args[1], now) {
        Err(WrongType) => return w.error(errors::WRONGTYPE),
        Ok(z) => z,
    };
    match (z, count) {
        (None, None) => w.null(),
        (Some(z), None) => {
            let (m, _) = z.random(&mut rnd).expect("stored sets are non-empty");
            entry(w, m);
        }
        (None, Some(_)) | (_, Some(0)) => w.array(0),
        (Some(z), Some(c)) => {
            let picked = op_zrandmember(z, c, &mut rnd);
            reply_pairs(w, picked.into_iter(), withscores, nested);
        }
    }
}

// -------------------------------------------------------------------------------------------------
// ZSCAN
// -------------------------------------------------------------------------------------------------

/// One ZSCAN step: the next cursor and the (member, score) pairs found, filtered by `pattern`
/// on the member. A listpack returns everything with cursor 0.
pub fn op_zscan(
    z: &ZSetValue,
    cursor: u64,
    count: usize,
    pattern: Option<&[u8]>,
) -> (u64, Vec<(Vec<u8>, f64)>) {
    let mut out = Vec::new();
    let next = z.scan(cursor, count, |m, s| {
        m.with_bytes(|b| {
            if pattern.is_none_or(|p| glob_match(p, b, false)) {
                out.push((b.to_vec(), s));
            }
        })
    });
    (next, out)
}

/// ZSCAN key cursor [MATCH pattern] [COUNT count]
fn cmd_zscan(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let Some(cursor) = parse_cursor(&args[2]) else {
        return w.error(errors::INVALID_CURSOR);
    };
    let (db, stats, _) = parts(sc);
    let z = match read_zset(db, stats, &args[1], now) {
        Err(WrongType) => return w.error(errors::WRONGTYPE),
        Ok(None) => {
            w.array(2);
            w.bulk(b"0");
            return w.array(0);
        }
        Ok(Some(z)) => z,
    };
    let (count, pattern) = match parse_scan_opts(&args[3..], false) {
        Ok((c, f)) => (c, f.pattern),
        Err(e) => return w.error(e),
    };
    let (next, found) = op_zscan(z, cursor, count, pattern.as_deref());
    w.array(2);
    w.bulk(next.to_string().as_bytes());
    w.array(2 * found.len());
    let mut buf = Vec::with_capacity(24);
    for (m, s) in &found {
        w.bulk(m);
        buf.clear();
        d2string_70(*s, &mut buf);
        w.bulk(&buf);
    }
}
