//! Generic (keyspace) family: DEL UNLINK EXISTS TOUCH, EXPIRE PEXPIRE EXPIREAT PEXPIREAT,
//! TTL PTTL EXPIRETIME PEXPIRETIME PERSIST, TYPE, KEYS SCAN RANDOMKEY, RENAME RENAMENX COPY MOVE,
//! OBJECT (ENCODING FREQ IDLETIME REFCOUNT HELP).
//!
//! How each reaches its shards:
//! - one key (EXPIRE, TTL, TYPE, OBJECT...): a shard handler, inline or one hop;
//! - DEL/UNLINK/EXISTS/TOUCH: a shard handler when every key is on one shard, otherwise one atomic
//!   transaction whose per-shard counts are summed;
//! - RENAME/RENAMENX across shards: one transaction on both shards; the value travels from the
//!   source shard to the destination shard as an owned `Entry` (deadline and all) between hops;
//! - COPY and MOVE may name a key in another database: the coordinator builds intent locks for
//!   both (db, key) fingerprints, then runs on the one shard (`run_on`) or as a transaction;
//! - KEYS, SCAN and RANDOMKEY read every shard without locks, as Redis's iteration is not atomic
//!   either. A SCAN cursor is `shard << 56 | table position`, stateless and split-stable.
//!
//! Every `op_*` is a synchronous function of `DbSlice`s, unit-tested below without a server. Lookups
//! follow Redis 7.0's flags: EXISTS, TYPE, TTL and OBJECT look up without touching the access time
//! but count keyspace hits/misses; TOUCH and COPY's source count and touch; writes neither count.

use crate::args::parse_i64;
use crate::config::glob_match;
use crate::context::{Conn, ShardCmd};
use crate::errors;
use crate::multi::{conclude, panic_reply, run_each, KeyGroups};
use crate::registry::{Cmd, Handler, LocalBoxFuture};
use bytes::Bytes;
use darter_collections::dash::{DASH_SCAN_BITS as POS_BITS, DASH_SCAN_END as POS_END};
use darter_collections::StrRef;
use darter_engine::keys::shard_of;
use darter_engine::notify;
use darter_engine::tx::HopFn;
use darter_engine::{DbSlice, Entry, Panicked, Record, Shard, Transaction};
use darter_resp::ReplyWriter;
use std::cell::Cell;
use std::sync::Arc;

pub static COMMANDS: &[Cmd] = &[
    Cmd::new(
        "del",
        Handler::Multi {
            shard: Some(shard_del),
            coord: cmd_del,
        },
    ),
    Cmd::new(
        "unlink",
        Handler::Multi {
            shard: Some(shard_del),
            coord: cmd_del,
        },
    ),
    Cmd::new(
        "exists",
        Handler::Multi {
            shard: Some(shard_exists),
            coord: cmd_exists,
        },
    ),
    Cmd::new(
        "touch",
        Handler::Multi {
            shard: Some(shard_touch),
            coord: cmd_touch,
        },
    ),
    Cmd::new("expire", Handler::Shard(shard_expire)),
    Cmd::new("pexpire", Handler::Shard(shard_pexpire)),
    Cmd::new("expireat", Handler::Shard(shard_expireat)),
    Cmd::new("pexpireat", Handler::Shard(shard_pexpireat)),
    Cmd::new("ttl", Handler::Shard(shard_ttl)),
    Cmd::new("pttl", Handler::Shard(shard_pttl)),
    Cmd::new("expiretime", Handler::Shard(shard_expiretime)),
    Cmd::new("pexpiretime", Handler::Shard(shard_pexpiretime)),
    Cmd::new("persist", Handler::Shard(shard_persist)),
    Cmd::new("type", Handler::Shard(shard_type)),
    Cmd::new("keys", Handler::Conn(cmd_keys)),
    Cmd::new("scan", Handler::Conn(cmd_scan)),
    Cmd::new("randomkey", Handler::Conn(cmd_randomkey)),
    Cmd::new(
        "rename",
        Handler::Multi {
            shard: Some(shard_rename),
            coord: cmd_rename,
        },
    ),
    Cmd::new(
        "renamenx",
        Handler::Multi {
            shard: Some(shard_renamenx),
            coord: cmd_renamenx,
        },
    ),
    // COPY ... DB n and MOVE lock a key of another database, which dispatch's per-command locks
    // do not cover: they always run their coordinator.
    Cmd::new(
        "copy",
        Handler::Multi {
            shard: None,
            coord: cmd_copy,
        },
    ),
    Cmd::new(
        "move",
        Handler::Multi {
            shard: None,
            coord: cmd_move,
        },
    ),
    Cmd::with_subs(
        "object",
        Handler::Shard(shard_object),
        &["encoding", "freq", "idletime", "refcount", "help"],
    ),
];

/// Records Redis's keyspace hit/miss counters for `hits` found keys out of `looked_up`.
fn count_lookups(s: &mut Shard, hits: usize, looked_up: usize) {
    s.stats.keyspace_hits += hits as u64;
    s.stats.keyspace_misses += (looked_up - hits) as u64;
}

fn key_args(args: &[Bytes]) -> impl Iterator<Item = &[u8]> {
    args[1..].iter().map(|k| &k[..])
}

// ---------------------------------------------------------------------------------------------
// DEL UNLINK EXISTS TOUCH

/// DEL / UNLINK: removes the keys that exist; returns how many did. (UNLINK frees synchronously,
/// which no client can tell apart.)
pub fn op_del<'a>(
    db: &mut DbSlice,
    keys: impl IntoIterator<Item = &'a [u8]>,
    now_ms: u64,
) -> usize {
    keys.into_iter()
        .filter(|k| {
            let removed = db.remove(k, now_ms).is_some();
            if removed {
                db.notify(notify::GENERIC, "del", k);
            }
            removed
        })
        .count()
}

/// EXISTS: how many of `keys` exist, a key named twice counting twice. Does not touch.
pub fn op_exists<'a>(
    db: &mut DbSlice,
    keys: impl IntoIterator<Item = &'a [u8]>,
    now_ms: u64,
) -> usize {
    keys.into_iter()
        .filter(|k| db.find_notouch(k, now_ms).is_some())
        .count()
}

/// TOUCH: like EXISTS, but records an access on every key found.
pub fn op_touch<'a>(
    db: &mut DbSlice,
    keys: impl IntoIterator<Item = &'a [u8]>,
    now_ms: u64,
) -> usize {
    keys.into_iter()
        .filter(|k| db.find(k, now_ms).is_some())
        .count()
}

/// DEL key [key ...] (all keys on one shard)
fn shard_del(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let n = op_del(sc.slice(), key_args(args), now);
    w.int(n as i64);
}

/// EXISTS key [key ...] (all keys on one shard)
fn shard_exists(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let n = op_exists(sc.slice(), key_args(args), now);
    count_lookups(sc.shard, n, args.len() - 1);
    w.int(n as i64);
}

/// TOUCH key [key ...] (all keys on one shard)
fn shard_touch(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let n = op_touch(sc.slice(), key_args(args), now);
    count_lookups(sc.shard, n, args.len() - 1);
    w.int(n as i64);
}

type CountFn = fn(&mut Shard, usize, &[(usize, Bytes)]) -> usize;

/// A counting multi-key command across shards: one transaction, one concluding hop, counts summed.
async fn multi_count(c: &mut Conn, args: Vec<Bytes>, exclusive: bool, f: CountFn) {
    let groups = KeyGroups::new(
        c.engine().num_shards(),
        c.state.db,
        args.into_iter().enumerate().skip(1),
        exclusive,
    );
    match run_each(c, &groups, Arc::new(f)).await {
        Ok(counts) => c.out.int(counts.iter().sum::<usize>() as i64),
        Err(p) => panic_reply(c, &p),
    }
}

fn each_del(s: &mut Shard, db: usize, keys: &[(usize, Bytes)]) -> usize {
    let now = s.now_ms();
    op_del(&mut s.dbs[db], keys.iter().map(|(_, k)| &k[..]), now)
}

fn each_exists(s: &mut Shard, db: usize, keys: &[(usize, Bytes)]) -> usize {
    let now = s.now_ms();
    let n = op_exists(&mut s.dbs[db], keys.iter().map(|(_, k)| &k[..]), now);
    count_lookups(s, n, keys.len());
    n
}

fn each_touch(s: &mut Shard, db: usize, keys: &[(usize, Bytes)]) -> usize {
    let now = s.now_ms();
    let n = op_touch(&mut s.dbs[db], keys.iter().map(|(_, k)| &k[..]), now);
    count_lookups(s, n, keys.len());
    n
}

/// DEL / UNLINK across shards.
fn cmd_del(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(multi_count(c, args, true, each_del))
}

/// EXISTS across shards.
fn cmd_exists(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(multi_count(c, args, false, each_exists))
}

/// TOUCH across shards.
fn cmd_touch(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(multi_count(c, args, false, each_touch))
}

// ---------------------------------------------------------------------------------------------
// EXPIRE PEXPIRE EXPIREAT PEXPIREAT PERSIST

/// EXPIRE-family condition flags (Redis's `EXPIRE_NX` ...).
pub const EXPIRE_NX: u8 = 1;
pub const EXPIRE_XX: u8 = 2;
pub const EXPIRE_GT: u8 = 4;
pub const EXPIRE_LT: u8 = 8;

/// One member of the EXPIRE family: its table name (for the error) and how its argument reads.
#[derive(Clone, Copy)]
struct ExpireKind {
    name: &'static str,
    seconds: bool,
    relative: bool,
}

/// Parses `[NX | XX] [GT | LT]`, as Redis does before it reads the time itself.
fn parse_expire_flags(opts: &[Bytes]) -> Result<u8, String> {
    let mut flags = 0;
    for o in opts {
        flags |= if o.eq_ignore_ascii_case(b"nx") {
            EXPIRE_NX
        } else if o.eq_ignore_ascii_case(b"xx") {
            EXPIRE_XX
        } else if o.eq_ignore_ascii_case(b"gt") {
            EXPIRE_GT
        } else if o.eq_ignore_ascii_case(b"lt") {
            EXPIRE_LT
        } else {
            // Redis prints the option with %s: it ends at a NUL byte.
            let shown = o.split(|&b| b == 0).next().unwrap_or_default();
            return Err(format!(
                "{}{}",
                errors::UNSUPPORTED_OPTION_PREFIX,
                errors::sanitize(shown, usize::MAX)
            ));
        };
    }
    if flags & EXPIRE_NX != 0 && flags & (EXPIRE_XX | EXPIRE_GT | EXPIRE_LT) != 0 {
        return Err(errors::NX_XX_GT_LT.to_string());
    }
    if flags & EXPIRE_GT != 0 && flags & EXPIRE_LT != 0 {
        return Err(errors::GT_AND_LT.to_string());
    }
    Ok(flags)
}

/// The absolute deadline (ms) for `v` in the command's unit, relative to `base_ms`, or None when
/// the conversion or the addition overflows (Redis's "invalid expire time").
fn expire_deadline(v: i64, seconds: bool, base_ms: i64) -> Option<i64> {
    let ms = if seconds { v.checked_mul(1000)? } else { v };
    ms.checked_add(base_ms)
}

/// Sets `key`'s deadline to `when_ms` under the NX/XX/GT/LT `flags`; a deadline not in the future
/// deletes the key. Returns 1 when the deadline was set (or the key deleted), else 0.
pub fn op_expire(db: &mut DbSlice, key: &[u8], when_ms: i64, flags: u8, now_ms: u64) -> i64 {
    let Some(e) = db.find(key, now_ms) else {
        return 0;
    };
    // -1 = no deadline, which GT treats as infinite and LT as "anything is less".
    let current = if e.expire_at() == 0 {
        -1
    } else {
        e.expire_at() as i64
    };
    if (flags & EXPIRE_NX != 0 && current != -1)
        || (flags & EXPIRE_XX != 0 && current == -1)
        || (flags & EXPIRE_GT != 0 && (current == -1 || when_ms <= current))
        || (flags & EXPIRE_LT != 0 && current != -1 && when_ms >= current)
    {
        return 0;
    }
    if when_ms <= now_ms as i64 {
        db.remove(key, now_ms);
        db.notify(notify::GENERIC, "del", key);
    } else {
        db.set_expire(key, when_ms as u64, now_ms);
        db.notify(notify::GENERIC, "expire", key);
    }
    1
}

/// PERSIST: drops the deadline. 1 when there was one, 0 when none or no key.
pub fn op_persist(db: &mut DbSlice, key: &[u8], now_ms: u64) -> i64 {
    match db.find(key, now_ms).map(|e| e.expire_at() != 0) {
        Some(true) => {
            db.set_expire(key, 0, now_ms);
            db.notify(notify::GENERIC, "persist", key);
            1
        }
        _ => 0,
    }
}

/// EXPIRE / PEXPIRE / EXPIREAT / PEXPIREAT key time [NX | XX] [GT | LT]
fn expire_generic(sc: &mut ShardCmd, w: &mut ReplyWriter, kind: ExpireKind) {
    let (args, now) = (sc.args, sc.now_ms);
    let flags = match parse_expire_flags(&args[3..]) {
        Ok(f) => f,
        Err(e) => return w.error(&e),
    };
    let Some(v) = parse_i64(&args[2]) else {
        return w.error(errors::NOT_INTEGER);
    };
    let base = if kind.relative { now as i64 } else { 0 };
    let Some(when) = expire_deadline(v, kind.seconds, base) else {
        return w.error(&errors::invalid_expire(kind.name));
    };
    w.int(op_expire(sc.slice(), &args[1], when, flags, now));
}

fn shard_expire(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let kind = ExpireKind {
        name: "expire",
        seconds: true,
        relative: true,
    };
    expire_generic(sc, w, kind)
}

fn shard_pexpire(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let kind = ExpireKind {
        name: "pexpire",
        seconds: false,
        relative: true,
    };
    expire_generic(sc, w, kind)
}

fn shard_expireat(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let kind = ExpireKind {
        name: "expireat",
        seconds: true,
        relative: false,
    };
    expire_generic(sc, w, kind)
}

fn shard_pexpireat(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let kind = ExpireKind {
        name: "pexpireat",
        seconds: false,
        relative: false,
    };
    expire_generic(sc, w, kind)
}

/// PERSIST key
fn shard_persist(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    w.int(op_persist(sc.slice(), &args[1], now));
}

// ---------------------------------------------------------------------------------------------
// TTL PTTL EXPIRETIME PEXPIRETIME TYPE

/// A key's deadline as TTL and friends see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deadline {
    NoKey,
    Persistent,
    /// Absolute, ms since the epoch.
    At(u64),
}

/// Looks up `key`'s deadline without touching it.
pub fn op_deadline(db: &mut DbSlice, key: &[u8], now_ms: u64) -> Deadline {
    match db.find_notouch(key, now_ms) {
        None => Deadline::NoKey,
        Some(e) if e.expire_at() == 0 => Deadline::Persistent,
        Some(e) => Deadline::At(e.expire_at()),
    }
}

/// TTL / PTTL (remaining) and EXPIRETIME / PEXPIRETIME (absolute): -2 no key, -1 no deadline;
/// seconds are rounded to the nearest as Redis does.
fn ttl_generic(sc: &mut ShardCmd, w: &mut ReplyWriter, ms: bool, absolute: bool) {
    let (args, now) = (sc.args, sc.now_ms);
    let d = op_deadline(sc.slice(), &args[1], now);
    count_lookups(sc.shard, usize::from(d != Deadline::NoKey), 1);
    let v = match d {
        Deadline::NoKey => -2,
        Deadline::Persistent => -1,
        Deadline::At(at) => {
            let t = if absolute { at } else { at.saturating_sub(now) };
            // Unsigned, so a deadline near i64::MAX rounds up as Redis's build computes it.
            (if ms { t } else { (t + 500) / 1000 }) as i64
        }
    };
    w.int(v);
}

fn shard_ttl(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    ttl_generic(sc, w, false, false)
}

fn shard_pttl(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    ttl_generic(sc, w, true, false)
}

fn shard_expiretime(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    ttl_generic(sc, w, false, true)
}

fn shard_pexpiretime(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    ttl_generic(sc, w, true, true)
}

/// TYPE: the value's type name, or None for no key. Does not touch.
pub fn op_type(db: &mut DbSlice, key: &[u8], now_ms: u64) -> Option<&'static str> {
    db.find_notouch(key, now_ms).map(|e| e.type_name())
}

/// TYPE key
fn shard_type(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let t = op_type(sc.slice(), &args[1], now);
    count_lookups(sc.shard, usize::from(t.is_some()), 1);
    w.simple(t.unwrap_or("none").as_bytes());
}

// ---------------------------------------------------------------------------------------------
// KEYS SCAN RANDOMKEY

/// KEYS: every live key matching the glob `pattern`. Expired keys are skipped, not deleted (as
/// Redis 7.0's KEYS).
pub fn op_keys(db: &DbSlice, pattern: &[u8], now_ms: u64) -> Vec<Vec<u8>> {
    let all = pattern == b"*";
    db.iter(now_ms)
        .filter(|(k, _)| all || glob_match(pattern, k, false))
        .map(|(k, _)| k.to_vec())
        .collect()
}

/// KEYS pattern
fn cmd_keys(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        let db = c.state.db;
        let pattern = args[1].clone();
        let per_shard = c
            .engine()
            .on_all_shards(move |s| {
                let now = s.now_ms();
                op_keys(&s.dbs[db], &pattern, now)
            })
            .await;
        c.out.array(per_shard.iter().map(Vec::len).sum());
        for k in per_shard.iter().flatten() {
            c.out.bulk(k);
        }
    })
}

/// Parses a SCAN cursor as Redis does (`strtoul`, base 10): an optional sign (a negative number
/// wraps, as in C), no leading space, nothing after the digits, no overflow. The empty string
/// is cursor 0.
pub fn parse_cursor(a: &[u8]) -> Option<u64> {
    let (neg, digits) = match a.first() {
        Some(b'-') => (true, &a[1..]),
        Some(b'+') => (false, &a[1..]),
        _ => (false, a),
    };
    if a.is_empty() {
        return Some(0);
    }
    if digits.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// SCAN's filters.
#[derive(Clone, Debug, Default)]
pub struct ScanFilter {
    /// None = every key (no MATCH, or MATCH *).
    pub pattern: Option<Bytes>,
    /// TYPE, compared case-insensitively with `TYPE`'s names.
    pub type_name: Option<Bytes>,
}

/// SCAN's options after the cursor, with Redis's errors in Redis's order (`scanGenericCommand`,
/// shared by SCAN, HSCAN and SSCAN); TYPE is accepted only when `with_type` (SCAN's alone).
pub fn parse_scan_opts(
    opts: &[Bytes],
    with_type: bool,
) -> Result<(usize, ScanFilter), &'static str> {
    let mut count = 10usize;
    let mut f = ScanFilter::default();
    let mut i = 0;
    while i < opts.len() {
        let has_value = opts.len() - i >= 2;
        let o = &opts[i];
        if o.eq_ignore_ascii_case(b"count") && has_value {
            let v = parse_i64(&opts[i + 1]).ok_or(errors::NOT_INTEGER)?;
            if v < 1 {
                return Err(errors::SYNTAX);
            }
            count = usize::try_from(v).unwrap_or(usize::MAX);
        } else if o.eq_ignore_ascii_case(b"match") && has_value {
            let p = opts[i + 1].clone();
            f.pattern = (&p[..] != b"*").then_some(p);
        } else if with_type && o.eq_ignore_ascii_case(b"type") && has_value {
            f.type_name = Some(opts[i + 1].clone());
        } else {
            return Err(errors::SYNTAX);
        }
        i += 2;
    }
    Ok((count, f))
}

/// What one SCAN step on one slice did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanStep {
    /// Where the next step starts (`POS_END` when the slice is done).
    pub next: u64,
    /// Live keys visited.
    pub visited: usize,
    /// Keys whose type was checked (Redis counts a keyspace lookup for each).
    pub type_lookups: usize,
}

/// One SCAN step on one slice: visits about `count` keys from table position `pos` and keeps
/// those passing `filter` in `out`. Keys present for a whole scan are returned at least once,
/// even across table growth (the table's cursor guarantee).
pub fn op_scan(
    db: &DbSlice,
    pos: u64,
    count: usize,
    filter: &ScanFilter,
    now_ms: u64,
    out: &mut Vec<Vec<u8>>,
) -> ScanStep {
    let (mut visited, mut type_lookups) = (0, 0);
    let next = db.scan(pos, count, now_ms, |k, e| {
        visited += 1;
        if let Some(p) = &filter.pattern {
            if !glob_match(p, k, false) {
                return;
            }
        }
        if let Some(t) = &filter.type_name {
            type_lookups += 1;
            if !t.eq_ignore_ascii_case(e.type_name().as_bytes()) {
                return;
            }
        }
        out.push(k.to_vec());
    });
    ScanStep {
        next,
        visited,
        type_lookups,
    }
}

/// Shard index in a SCAN cursor's top bits (so at most 256 shards).
const CURSOR_SHARD_SHIFT: u32 = POS_BITS;

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
///
/// Walks shards in order, each from its table position, until COUNT keys were visited or the
/// last shard is done (cursor 0).
fn cmd_scan(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        let Some(cursor) = parse_cursor(&args[1]) else {
            return c.out.error(errors::INVALID_CURSOR);
        };
        let (count, filter) = match parse_scan_opts(&args[2..], true) {
            Ok(x) => x,
            Err(e) => return c.out.error(e),
        };
        let filter = Arc::new(filter);
        let engine = c.engine().clone();
        let db = c.state.db;
        let shards = engine.num_shards();
        let mut shard = (cursor >> CURSOR_SHARD_SHIFT) as usize;
        let mut pos = cursor & (POS_END - 1);
        let mut budget = count;
        let mut keys = Vec::new();
        while shard < shards {
            let f = filter.clone();
            let r = engine
                .run_on(shard, &[], move |s| {
                    let now = s.now_ms();
                    let mut out = Vec::new();
                    let step = op_scan(&s.dbs[db], pos, budget, &f, now, &mut out);
                    // Redis reads each candidate (a counted lookup) to learn its type.
                    s.stats.keyspace_hits += step.type_lookups as u64;
                    (step, out)
                })
                .await;
            let (ScanStep { next, visited, .. }, found) = match r {
                Ok(x) => x,
                Err(p) => return panic_reply(c, &p),
            };
            keys.extend(found);
            if next < POS_END {
                pos = next;
                break;
            }
            shard += 1;
            pos = 0;
            budget = budget.saturating_sub(visited);
            if budget == 0 {
                break;
            }
        }
        let next_cursor = if shard >= shards {
            0
        } else {
            ((shard as u64) << CURSOR_SHARD_SHIFT) | pos
        };
        c.out.array(2);
        c.out.bulk(next_cursor.to_string().as_bytes());
        c.out.array(keys.len());
        for k in &keys {
            c.out.bulk(k);
        }
    })
}

/// RANDOMKEY on one slice (expired keys met on the way are deleted, as Redis does).
pub fn op_randomkey(db: &mut DbSlice, now_ms: u64, seed: u64) -> Option<Vec<u8>> {
    let mut x = seed | 1;
    db.random_key(now_ms, move |n| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n.max(1) as u64) as usize
    })
}

thread_local! {
    static COORD_RNG: Cell<u64> = Cell::new(
        darter_engine::clock::real_ms() ^ 0x9E37_79B9_7F4A_7C15
    );
}

/// A pseudo-random number in `0..n` for coordinator-side choices (not security sensitive).
fn coord_rand(n: usize) -> usize {
    COORD_RNG.with(|c| {
        let mut x = c.get() | 1;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        c.set(x);
        (x % n.max(1) as u64) as usize
    })
}

/// RANDOMKEY: every shard draws a candidate; one is chosen with probability proportional to its
/// shard's size, so each key is about equally likely.
fn cmd_randomkey(c: &mut Conn, _args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        let db = c.state.db;
        let per_shard = c
            .engine()
            .on_all_shards(move |s| {
                let now = s.now_ms();
                let seed = s.rand(usize::MAX) as u64;
                let k = op_randomkey(&mut s.dbs[db], now, seed);
                (s.dbs[db].len(), k)
            })
            .await;
        let total: usize = per_shard
            .iter()
            .filter(|(_, k)| k.is_some())
            .map(|(n, _)| n)
            .sum();
        if total == 0 {
            return c.out.null();
        }
        let mut r = coord_rand(total);
        for (n, k) in per_shard {
            let Some(k) = k else { continue };
            if r < n {
                return c.out.bulk(&k);
            }
            r -= n;
        }
        unreachable!("r < total");
    })
}

// ---------------------------------------------------------------------------------------------
// RENAME RENAMENX

/// What a RENAME did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renamed {
    NoSuchKey,
    /// Source and destination are one key (RENAME: OK, RENAMENX: 0).
    SameKey,
    /// RENAMENX only: the destination exists.
    DestExists,
    Done,
}

/// RENAME / RENAMENX within one slice. The value keeps its deadline; the destination's old value,
/// if any, is dropped.
pub fn op_rename(db: &mut DbSlice, src: &[u8], dst: &[u8], nx: bool, now_ms: u64) -> Renamed {
    if db.find(src, now_ms).is_none() {
        return Renamed::NoSuchKey;
    }
    if src == dst {
        return Renamed::SameKey;
    }
    if nx && db.find(dst, now_ms).is_some() {
        return Renamed::DestExists;
    }
    let e = db.remove(src, now_ms).expect("found just above");
    store_renamed(db, src, dst, e, now_ms);
    Renamed::Done
}

/// RENAME's destination half: Redis deletes an existing destination and adds the key anew (so
/// `new` is always reported), then reports `rename_from` and `rename_to`.
fn store_renamed(db: &mut DbSlice, src: &[u8], dst: &[u8], e: Record, now_ms: u64) {
    db.remove(dst, now_ms);
    db.set(dst, e);
    db.notify(notify::GENERIC, "rename_from", src);
    db.notify(notify::GENERIC, "rename_to", dst);
}

/// Takes `key`'s live entry out of the slice (the source half of a cross-shard move), recording
/// the access as Redis's write lookup does.
pub fn op_take(db: &mut DbSlice, key: &[u8], now_ms: u64) -> Option<Record> {
    let mut e = db.remove(key, now_ms)?;
    e.touch(now_ms);
    Some(e)
}

fn rename_reply(w: &mut ReplyWriter, r: Renamed, nx: bool) {
    match (r, nx) {
        (Renamed::NoSuchKey, _) => w.error(errors::NO_SUCH_KEY),
        (Renamed::Done, true) => w.int(1),
        (Renamed::SameKey | Renamed::DestExists, true) => w.int(0),
        (_, false) => w.ok(),
    }
}

fn rename_shard(sc: &mut ShardCmd, w: &mut ReplyWriter, nx: bool) {
    let (args, now) = (sc.args, sc.now_ms);
    let r = op_rename(sc.slice(), &args[1], &args[2], nx, now);
    rename_reply(w, r, nx);
}

/// RENAME key newkey (both on one shard)
fn shard_rename(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    rename_shard(sc, w, false)
}

/// RENAMENX key newkey (both on one shard)
fn shard_renamenx(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    rename_shard(sc, w, true)
}

/// RENAME key newkey (on two shards)
fn cmd_rename(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        match rename_across(c, args[1].clone(), args[2].clone(), false).await {
            Ok(r) => rename_reply(&mut c.out, r, false),
            Err(p) => panic_reply(c, &p),
        }
    })
}

/// RENAMENX key newkey (on two shards)
fn cmd_renamenx(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        match rename_across(c, args[1].clone(), args[2].clone(), true).await {
            Ok(r) => rename_reply(&mut c.out, r, true),
            Err(p) => panic_reply(c, &p),
        }
    })
}

fn hop_fn<R, F>(f: F) -> Option<HopFn<R>>
where
    F: FnOnce(&mut Shard) -> R + Send + 'static,
{
    Some(Box::new(f))
}

/// One hop of a two-shard transaction: `a` on the shard at index `ai` of `tx.shards()`, `b` on
/// the other. Results come back as (a's, b's).
async fn pair_hop<R: Send + 'static>(
    tx: &mut Transaction,
    ai: usize,
    a: Option<HopFn<R>>,
    b: Option<HopFn<R>>,
    conclude: bool,
) -> Result<(Option<R>, Option<R>), Panicked> {
    let jobs = if ai == 0 { vec![a, b] } else { vec![b, a] };
    let mut out = tx.hop(jobs, conclude).await.into_iter();
    let first = out.next().flatten().transpose()?;
    let second = out.next().flatten().transpose()?;
    Ok(if ai == 0 {
        (first, second)
    } else {
        (second, first)
    })
}

/// RENAME / RENAMENX with source and destination on different shards, atomically:
/// - RENAMENX first looks both names up (hop 1) and stops there when the source is missing or the
///   destination exists;
/// - the source's entry is taken out (a hop on the source shard only);
/// - the concluding hop stores it under the new name on the destination shard.
///
/// Every hop uses one `now`, so a key alive when checked is alive when taken.
async fn rename_across(
    c: &mut Conn,
    src: Bytes,
    dst: Bytes,
    nx: bool,
) -> Result<Renamed, Panicked> {
    let engine = c.engine().clone();
    let n = engine.num_shards();
    let db = c.state.db;
    let groups = KeyGroups::new(n, db, [(1, src.clone()), (2, dst.clone())], true);
    let now = engine.clock.now_ms();
    if groups.shards.len() == 1 {
        // Dispatch runs the shard handler for this case; kept so the coordinator is complete.
        let sid = groups.shards[0];
        return engine
            .run_on(sid, &groups.locks[0], move |s| {
                op_rename(&mut s.dbs[db], &src, &dst, nx, now)
            })
            .await;
    }
    let si = groups
        .index_of(shard_of(&src, n))
        .expect("source shard is in the groups");
    let mut tx = groups.schedule(c).await;
    if nx {
        let (s2, d2) = (src.clone(), dst.clone());
        let (has_src, has_dst) = pair_hop(
            &mut tx,
            si,
            hop_fn(move |s: &mut Shard| s.dbs[db].find(&s2, now).is_some()),
            hop_fn(move |s: &mut Shard| s.dbs[db].find(&d2, now).is_some()),
            false,
        )
        .await?;
        if has_src != Some(true) {
            conclude(&mut tx).await;
            return Ok(Renamed::NoSuchKey);
        }
        if has_dst == Some(true) {
            conclude(&mut tx).await;
            return Ok(Renamed::DestExists);
        }
    }
    let src2 = src.clone();
    let (taken, _) = pair_hop(
        &mut tx,
        si,
        hop_fn(move |s: &mut Shard| op_take(&mut s.dbs[db], &src, now)),
        None,
        false,
    )
    .await?;
    let Some(entry) = taken.flatten() else {
        conclude(&mut tx).await;
        return Ok(Renamed::NoSuchKey);
    };
    pair_hop(
        &mut tx,
        si,
        None,
        hop_fn(move |s: &mut Shard| {
            let now = s.now_ms();
            store_renamed(&mut s.dbs[db], &src2, &dst, entry, now);
        }),
        true,
    )
    .await?;
    Ok(Renamed::Done)
}

// ---------------------------------------------------------------------------------------------
// COPY MOVE

/// Two distinct slices of one shard, mutably.
fn two_dbs(dbs: &mut [DbSlice], a: usize, b: usize) -> (&mut DbSlice, &mut DbSlice) {
    assert_ne!(a, b, "two distinct databases");
    if a < b {
        let (lo, hi) = dbs.split_at_mut(b);
        (&mut lo[a], &mut hi[0])
    } else {
        let (lo, hi) = dbs.split_at_mut(a);
        (&mut hi[0], &mut lo[b])
    }
}

/// What a COPY or MOVE did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Copied {
    NoSource,
    /// The destination exists (and COPY had no REPLACE).
    DestExists,
    Done,
}

impl Copied {
    fn reply(self) -> i64 {
        i64::from(self == Copied::Done)
    }
}

/// COPY's source half: a copy of `key`'s entry (deadline included), counted as a read.
/// Reports `keymiss` for a missing source (COPY reads it with `lookupKeyRead`).
pub fn op_copy_read(db: &mut DbSlice, key: &[u8], now_ms: u64) -> Option<Record> {
    let r = db.find(key, now_ms).map(|e| Record::copy_of(e));
    if r.is_none() {
        db.notify(notify::KEY_MISS, "keymiss", key);
    }
    r
}

/// COPY's destination half: stores `entry` under `key` unless it exists and `replace` is off.
pub fn op_copy_write(
    db: &mut DbSlice,
    key: &[u8],
    entry: Record,
    replace: bool,
    now_ms: u64,
) -> Copied {
    if !replace && db.find(key, now_ms).is_some() {
        return Copied::DestExists;
    }
    // Redis deletes a destination it replaces, then adds the copy (`new`).
    db.remove(key, now_ms);
    db.set(key, entry);
    db.notify(notify::GENERIC, "copy_to", key);
    Copied::Done
}

/// COPY with both keys on one shard: `src` in database `src_db`, `dst` in `dst_db` (maybe the
/// same database). The caller has rejected copying a key onto itself.
pub fn op_copy(
    dbs: &mut [DbSlice],
    src_db: usize,
    src: &[u8],
    dst_db: usize,
    dst: &[u8],
    replace: bool,
    now_ms: u64,
) -> Copied {
    if dbs[src_db].find(src, now_ms).is_none() {
        dbs[src_db].notify(notify::KEY_MISS, "keymiss", src);
        return Copied::NoSource;
    }
    if !replace && dbs[dst_db].find(dst, now_ms).is_some() {
        return Copied::DestExists;
    }
    let e = op_copy_read(&mut dbs[src_db], src, now_ms).expect("found just above");
    op_copy_write(&mut dbs[dst_db], dst, e, true, now_ms)
}

/// MOVE: `key` from `src` to `dst` (another database of the same shard), unless absent there or
/// present in `dst`.
pub fn op_move(src: &mut DbSlice, dst: &mut DbSlice, key: &[u8], now_ms: u64) -> Copied {
    if src.find(key, now_ms).is_none() {
        return Copied::NoSource;
    }
    if dst.find(key, now_ms).is_some() {
        return Copied::DestExists;
    }
    let e = src.remove(key, now_ms).expect("found just above");
    dst.set(key, e);
    src.notify(notify::GENERIC, "move_from", key);
    dst.notify(notify::GENERIC, "move_to", key);
    Copied::Done
}

/// A database index argument as Redis's COPY/MOVE read it (`getIntFromObjectOrReply`, then
/// `selectDb`).
fn parse_db_index(a: &[u8], dbnum: usize) -> Result<usize, &'static str> {
    let v = parse_i64(a).ok_or(errors::NOT_INTEGER)?;
    if i32::try_from(v).is_err() {
        return Err(errors::INT_OUT_OF_RANGE);
    }
    usize::try_from(v)
        .ok()
        .filter(|&d| d < dbnum)
        .ok_or(errors::INVALID_DB)
}

/// COPY's options: (destination database, REPLACE).
fn parse_copy_opts(opts: &[Bytes], db: usize, dbnum: usize) -> Result<(usize, bool), &'static str> {
    let (mut dst_db, mut replace) = (db, false);
    let mut i = 0;
    while i < opts.len() {
        if opts[i].eq_ignore_ascii_case(b"replace") {
            replace = true;
        } else if opts[i].eq_ignore_ascii_case(b"db") && i + 1 < opts.len() {
            dst_db = parse_db_index(&opts[i + 1], dbnum)?;
            i += 1;
        } else {
            return Err(errors::SYNTAX);
        }
        i += 1;
    }
    Ok((dst_db, replace))
}

/// COPY source destination [DB destination-db] [REPLACE]
fn cmd_copy(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        let engine = c.engine().clone();
        let db = c.state.db;
        let (dst_db, replace) = match parse_copy_opts(&args[3..], db, engine.dbnum()) {
            Ok(x) => x,
            Err(e) => return c.out.error(e),
        };
        let (src, dst) = (args[1].clone(), args[2].clone());
        if dst_db == db && src == dst {
            return c.out.error(errors::SAME_OBJECT);
        }
        let n = engine.num_shards();
        let mut groups = KeyGroups::new(n, db, [(1, src.clone())], false);
        groups.add_lock(n, &dst, dst_db, true);
        let now = engine.clock.now_ms();
        let r = if groups.shards.len() == 1 {
            engine
                .run_on(groups.shards[0], &groups.locks[0], move |s| {
                    let r = op_copy(&mut s.dbs, db, &src, dst_db, &dst, replace, now);
                    count_lookups(s, usize::from(r != Copied::NoSource), 1);
                    r
                })
                .await
        } else {
            copy_across(c, &groups, src, dst, dst_db, replace, now).await
        };
        match r {
            Ok(r) => c.out.int(r.reply()),
            Err(p) => panic_reply(c, &p),
        }
    })
}

/// COPY with the two keys on different shards: hop 1 copies the source's entry out (a read), the
/// concluding hop checks the destination and stores the copy there.
async fn copy_across(
    c: &Conn,
    groups: &KeyGroups,
    src: Bytes,
    dst: Bytes,
    dst_db: usize,
    replace: bool,
    now: u64,
) -> Result<Copied, Panicked> {
    let db = c.state.db;
    let si = groups
        .index_of(shard_of(&src, c.engine().num_shards()))
        .expect("source shard is in the groups");
    let mut tx = groups.schedule(c).await;
    let (read, _) = pair_hop(
        &mut tx,
        si,
        hop_fn(move |s: &mut Shard| {
            let e = op_copy_read(&mut s.dbs[db], &src, now);
            count_lookups(s, usize::from(e.is_some()), 1);
            e
        }),
        None,
        false,
    )
    .await?;
    let Some(entry) = read.flatten() else {
        conclude(&mut tx).await;
        return Ok(Copied::NoSource);
    };
    let (_, written) = pair_hop(
        &mut tx,
        si,
        None,
        hop_fn(move |s: &mut Shard| op_copy_write(&mut s.dbs[dst_db], &dst, entry, replace, now)),
        true,
    )
    .await?;
    Ok(written.expect("destination ran"))
}

/// MOVE key db
fn cmd_move(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        let engine = c.engine().clone();
        let db = c.state.db;
        let dst_db = match parse_db_index(&args[2], engine.dbnum()) {
            Ok(d) => d,
            Err(e) => return c.out.error(e),
        };
        if dst_db == db {
            return c.out.error(errors::SAME_OBJECT);
        }
        let key = args[1].clone();
        let n = engine.num_shards();
        let mut groups = KeyGroups::new(n, db, [(1, key.clone())], true);
        groups.add_lock(n, &key, dst_db, true);
        let now = engine.clock.now_ms();
        let r = engine
            .run_on(groups.shards[0], &groups.locks[0], move |s| {
                let (src, dst) = two_dbs(&mut s.dbs, db, dst_db);
                op_move(src, dst, &key, now)
            })
            .await;
        match r {
            Ok(r) => c.out.int(r.reply()),
            Err(p) => panic_reply(c, &p),
        }
    })
}

// ---------------------------------------------------------------------------------------------
// OBJECT

/// Redis's `OBJ_SHARED_REFCOUNT`: what REFCOUNT reports for the shared integers 0..9999.
const SHARED_REFCOUNT: i64 = i32::MAX as i64;
/// Redis's `OBJ_SHARED_INTEGERS`.
const SHARED_INTEGERS: i64 = 10_000;

/// OBJECT REFCOUNT of a value: Redis shares the integer strings 0..9999 (under the default
/// maxmemory policy), every other value has one reference.
pub fn refcount(e: &Entry) -> i64 {
    match e.as_str() {
        Some(StrRef::Int(i)) if (0..SHARED_INTEGERS).contains(&i) => SHARED_REFCOUNT,
        _ => 1,
    }
}

const OBJECT_HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

/// What OBJECT reports about one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectInfo {
    Encoding(&'static str),
    RefCount(i64),
    IdleSecs(u64),
    /// FREQ: darter has no LFU policy, so access frequency is never tracked.
    FreqUntracked,
}

/// OBJECT ENCODING / REFCOUNT / IDLETIME / FREQ on `key` (`sub` lowercase); None for no key.
/// Does not touch the key.
pub fn op_object(db: &mut DbSlice, sub: &[u8], key: &[u8], now_ms: u64) -> Option<ObjectInfo> {
    let e = db.find_notouch(key, now_ms)?;
    Some(match sub {
        b"encoding" => ObjectInfo::Encoding(e.encoding()),
        b"refcount" => ObjectInfo::RefCount(refcount(e)),
        b"idletime" => ObjectInfo::IdleSecs(e.idle_secs(now_ms)),
        _ => ObjectInfo::FreqUntracked,
    })
}

/// OBJECT <ENCODING | FREQ | IDLETIME | REFCOUNT> key, OBJECT HELP. HELP has no key: dispatch
/// runs it on shard 0, which it does not read.
fn shard_object(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let sub = args[1].to_ascii_lowercase();
    if sub == b"help" {
        w.array(OBJECT_HELP.len());
        for l in OBJECT_HELP {
            w.simple(l.as_bytes());
        }
        return;
    }
    let info = op_object(sc.slice(), &sub, &args[2], now);
    count_lookups(sc.shard, usize::from(info.is_some()), 1);
    match info {
        None => w.null(),
        Some(ObjectInfo::Encoding(e)) => w.bulk(e.as_bytes()),
        Some(ObjectInfo::RefCount(n)) => w.int(n),
        Some(ObjectInfo::IdleSecs(s)) => w.int(s as i64),
        Some(ObjectInfo::FreqUntracked) => w.error(errors::LFU_NOT_SELECTED),
    }
}

#[cfg(test)]
mod tests;
