//! HyperLogLog family: PFADD PFCOUNT PFMERGE PFDEBUG PFSELFTEST, as Redis 7.0's hyperloglog.c.
//!
//! HLLs are plain strings in Redis's exact sparse/dense format (`darter_collections::hll`), so
//! GET/SET, DUMP/RESTORE and dump files carry them unchanged between Redis and darter. Commands
//! that change a value edit it as a `raw` string in place (Redis's `dbUnshareStringValue`).
//!
//! PFCOUNT of one key caches the estimate in the value's header, as Redis does (a write). PFCOUNT
//! of several keys and PFMERGE read every source in one transaction: each shard merges its own
//! keys' registers (stopping at its first bad key), the coordinator takes the element-wise
//! maximum and reports the error of the earliest bad key in argument order; PFCOUNT then counts
//! there without writing anything, PFMERGE writes the destination in the concluding hop (the
//! destination is itself a source when it exists). When all keys share a shard everything runs
//! there. Sparse values grow up to `hll-sparse-max-bytes` (the shard's `Limits`), then turn dense.

use crate::context::{Conn, ShardCmd};
use crate::errors;
use crate::multi::{panic_reply, KeyGroups};
use crate::registry::{Cmd, Handler, LocalBoxFuture};
use bytes::Bytes;
use darter_collections::hll::{self, REGISTERS};
use darter_collections::{StrValue, Value};
use darter_engine::keys::key_hash;
use darter_engine::notify;
use darter_engine::shard::ShardStats;
use darter_engine::tx::HopFn;
use darter_engine::{DbSlice, Record, Shard};
use darter_resp::ReplyWriter;

#[cfg(test)]
mod tests;

pub static COMMANDS: &[Cmd] = &[
    Cmd::new("pfadd", Handler::Shard(cmd_pfadd)),
    Cmd::new(
        "pfcount",
        Handler::Multi {
            shard: Some(cmd_pfcount_shard),
            coord: cmd_pfcount,
        },
    ),
    Cmd::new("pfdebug", Handler::Shard(cmd_pfdebug)),
    Cmd::new("pfselftest", Handler::Conn(cmd_pfselftest)),
    Cmd::new(
        "pfmerge",
        Handler::Multi {
            shard: Some(cmd_pfmerge_shard),
            coord: cmd_pfmerge,
        },
    ),
];

/// Why an HLL operation did not apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HllError {
    /// The key holds another type.
    WrongType,
    /// A string that is not an HLL.
    NotHll,
    /// An HLL whose registers cannot be decoded.
    Corrupt,
}

impl HllError {
    pub fn message(self) -> &'static str {
        match self {
            HllError::WrongType => errors::WRONGTYPE,
            HllError::NotHll => errors::HLL_WRONGTYPE,
            HllError::Corrupt => errors::HLL_CORRUPT,
        }
    }
}

impl From<hll::Corrupt> for HllError {
    fn from(_: hll::Corrupt) -> Self {
        HllError::Corrupt
    }
}

/// The type and format checks of `isHLLObjectOrReply` on an existing entry.
fn check(e: &darter_engine::Entry) -> Result<(), HllError> {
    let s = e.as_str().ok_or(HllError::WrongType)?;
    if s.with_bytes(hll::is_valid) {
        Ok(())
    } else {
        Err(HllError::NotHll)
    }
}

/// Counts one `lookupKeyRead`: a hit when the key exists, else a miss.
fn count_read(stats: &mut ShardStats, found: bool) {
    if found {
        stats.keyspace_hits += 1;
    } else {
        stats.keyspace_misses += 1;
    }
}

// -------------------------------------------------------------------------------------------------
// PFADD
// -------------------------------------------------------------------------------------------------

/// Adds `elems` to the HLL at `key`, creating it (sparse) when missing. Ok(true) when the key was
/// created or a register changed. On a corrupt value the registers changed before the bad spot
/// stay changed, with the cache untouched, as in Redis.
pub fn op_pfadd<'a>(
    db: &mut DbSlice,
    key: &[u8],
    elems: impl IntoIterator<Item = &'a [u8]>,
    max_bytes: usize,
    now: u64,
) -> Result<bool, HllError> {
    let r = pfadd_quiet(db, key, elems, max_bytes, now);
    if let Ok(true) = r {
        db.notify(notify::STRING, "pfadd", key);
    }
    r
}

fn pfadd_quiet<'a>(
    db: &mut DbSlice,
    key: &[u8],
    elems: impl IntoIterator<Item = &'a [u8]>,
    max_bytes: usize,
    now: u64,
) -> Result<bool, HllError> {
    let Some(e) = db.find(key, now) else {
        let mut v = hll::new_sparse();
        for el in elems {
            hll::add(&mut v, el, max_bytes)?;
        }
        hll::invalidate_cache(&mut v);
        db.set(key, Record::new(Value::Str(StrValue::raw(v))));
        return Ok(true);
    };
    check(e)?;
    e.with_raw_mut(|buf| {
        let mut updated = false;
        for el in elems {
            updated |= hll::add(buf, el, max_bytes)?;
        }
        if updated {
            hll::invalidate_cache(buf);
        }
        Ok(updated)
    })
    .expect("checked: a string")
}

/// PFADD key [element ...]
fn cmd_pfadd(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let elems = args[2..].iter().map(|a| &a[..]);
    let max_bytes = sc.shard.limits.hll_sparse_max_bytes;
    match op_pfadd(sc.slice(), &args[1], elems, max_bytes, now) {
        Ok(u) => w.int(i64::from(u)),
        Err(e) => w.error(e.message()),
    }
}

// -------------------------------------------------------------------------------------------------
// PFCOUNT
// -------------------------------------------------------------------------------------------------

/// PFCOUNT of one key: the cached estimate, or a fresh one stored in the header.
pub fn op_pfcount_one(
    db: &mut DbSlice,
    stats: &mut ShardStats,
    key: &[u8],
    now: u64,
) -> Result<u64, HllError> {
    let e = db.find(key, now);
    count_read(stats, e.is_some());
    let Some(e) = e else { return Ok(0) };
    check(e)?;
    e.with_raw_mut(|buf| {
        if let Some(c) = hll::cached(buf) {
            return Ok(c);
        }
        let c = hll::count(buf)?;
        hll::set_cached(buf, c);
        Ok(c)
    })
    .expect("checked: a string")
}

/// The registers of one shard's source keys, merged.
#[derive(Clone, Debug)]
pub struct Partial {
    /// One byte per register.
    pub max: Vec<u8>,
    /// Some source was dense (PFMERGE then writes a dense destination).
    pub dense: bool,
    /// The first bad key (its argument index) and what was wrong; merging stopped there.
    pub err: Option<(usize, HllError)>,
}

impl Partial {
    fn new() -> Partial {
        Partial {
            max: vec![0; REGISTERS],
            dense: false,
            err: None,
        }
    }

    /// Folds another shard's part in; the earliest error in argument order wins.
    fn absorb(&mut self, o: Partial) {
        if let Some((i, e)) = o.err {
            if self.err.is_none_or(|(j, _)| i < j) {
                self.err = Some((i, e));
            }
        }
        self.dense |= o.dense;
        for (m, v) in self.max.iter_mut().zip(o.max) {
            *m = (*m).max(v);
        }
    }
}

/// Merges the HLLs at `keys` (argument index, key) in order, each a `lookupKeyRead`; missing
/// keys are empty HLLs.
pub fn op_merge_sources<'a>(
    db: &mut DbSlice,
    stats: &mut ShardStats,
    keys: impl IntoIterator<Item = (usize, &'a [u8])>,
    now: u64,
) -> Partial {
    let mut p = Partial::new();
    for (i, key) in keys {
        let e = db.find(key, now);
        count_read(stats, e.is_some());
        let Some(e) = e else { continue };
        let r = check(e).and_then(|()| {
            let s = e.as_str().expect("checked: a string");
            s.with_bytes(|b| {
                p.dense |= b[4] == hll::DENSE;
                hll::merge_into(&mut p.max, b)
            })
            .map_err(HllError::from)
        });
        if let Err(err) = r {
            p.err = Some((i, err));
            break;
        }
    }
    p
}

/// PFCOUNT key [key ...], every key on this shard.
fn cmd_pfcount_shard(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now, db) = (sc.args, sc.now_ms, sc.db);
    sc.slice();
    let shard = &mut *sc.shard;
    let (db, stats) = (&mut shard.dbs[db], &mut shard.stats);
    if args.len() == 2 {
        match op_pfcount_one(db, stats, &args[1], now) {
            Ok(c) => w.int(c as i64),
            Err(e) => w.error(e.message()),
        }
        return;
    }
    let keys = args.iter().enumerate().skip(1).map(|(i, k)| (i, &k[..]));
    let p = op_merge_sources(db, stats, keys, now);
    match p.err {
        Some((_, e)) => w.error(e.message()),
        None => w.int(hll::count_raw(&p.max) as i64),
    }
}

/// Runs `op_merge_sources` on every shard of `groups` in one hop and folds the parts.
async fn merge_hop(
    c: &mut Conn,
    groups: &KeyGroups,
    tx: &mut darter_engine::Transaction,
    conclude: bool,
) -> Result<Partial, darter_engine::Panicked> {
    let db = c.state.db;
    let jobs = groups
        .keys
        .iter()
        .map(|keys| {
            let keys = keys.clone();
            Some(Box::new(move |s: &mut Shard| {
                let now = s.now_ms();
                let shard = &mut *s;
                op_merge_sources(
                    &mut shard.dbs[db],
                    &mut shard.stats,
                    keys.iter().map(|(i, k)| (*i, &k[..])),
                    now,
                )
            }) as HopFn<Partial>)
        })
        .collect();
    let mut all = Partial::new();
    for r in tx.hop(jobs, conclude).await {
        all.absorb(r.expect("every shard had a job")?);
    }
    Ok(all)
}

/// PFCOUNT over keys of several shards: one reading hop, the union counted here, nothing written.
fn cmd_pfcount(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        let keys = (1..args.len()).map(|i| (i, args[i].clone()));
        let groups = KeyGroups::new(c.engine().num_shards(), c.state.db, keys, false);
        let mut tx = groups.schedule(c).await;
        match merge_hop(c, &groups, &mut tx, true).await {
            Err(p) => panic_reply(c, &p),
            Ok(Partial {
                err: Some((_, e)), ..
            }) => c.out.error(e.message()),
            Ok(p) => c.out.int(hll::count_raw(&p.max) as i64),
        }
    })
}

// -------------------------------------------------------------------------------------------------
// PFMERGE
// -------------------------------------------------------------------------------------------------

/// Writes merged registers into the HLL at `dest` (`lookupKeyWrite`), creating it when missing.
/// Reports `pfadd` on `dest` (Redis's PFMERGE does, whatever changed).
pub fn op_pfmerge_store(
    db: &mut DbSlice,
    dest: &[u8],
    max: &[u8],
    use_dense: bool,
    max_bytes: usize,
    now: u64,
) -> Result<(), HllError> {
    // The destination was already looked up (and a miss reported) as a source.
    let misses = std::mem::replace(&mut db.report_misses, false);
    let r = pfmerge_store_quiet(db, dest, max, use_dense, max_bytes, now);
    db.report_misses = misses;
    if r.is_ok() {
        db.notify(notify::STRING, "pfadd", dest);
    }
    r
}

fn pfmerge_store_quiet(
    db: &mut DbSlice,
    dest: &[u8],
    max: &[u8],
    use_dense: bool,
    max_bytes: usize,
    now: u64,
) -> Result<(), HllError> {
    match db.find(dest, now) {
        None => {
            let mut v = hll::new_sparse();
            hll::store_merged(&mut v, max, use_dense, max_bytes)?;
            db.set(dest, Record::new(Value::Str(StrValue::raw(v))));
            Ok(())
        }
        // The destination was checked as a source.
        Some(e) => e
            .with_raw_mut(|buf| hll::store_merged(buf, max, use_dense, max_bytes))
            .ok_or(HllError::WrongType)?
            .map_err(HllError::from),
    }
}

/// PFMERGE destkey [sourcekey ...], every key on this shard.
fn cmd_pfmerge_shard(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now, db) = (sc.args, sc.now_ms, sc.db);
    sc.slice();
    let shard = &mut *sc.shard;
    let max_bytes = shard.limits.hll_sparse_max_bytes;
    let (db, stats) = (&mut shard.dbs[db], &mut shard.stats);
    let keys = args.iter().enumerate().skip(1).map(|(i, k)| (i, &k[..]));
    let p = op_merge_sources(db, stats, keys, now);
    if let Some((_, e)) = p.err {
        return w.error(e.message());
    }
    match op_pfmerge_store(db, &args[1], &p.max, p.dense, max_bytes, now) {
        Ok(()) => w.ok(),
        Err(e) => w.error(e.message()),
    }
}

/// PFMERGE over keys of several shards: a reading hop, then a concluding hop that writes the
/// destination on its shard (or nothing, after an error).
fn cmd_pfmerge(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        let shards = c.engine().num_shards();
        let db = c.state.db;
        let keys = (1..args.len()).map(|i| (i, args[i].clone()));
        let groups = KeyGroups::new(shards, db, keys, true);
        let mut tx = groups.schedule(c).await;
        let p = match merge_hop(c, &groups, &mut tx, false).await {
            Ok(p) => p,
            // Dropping `tx` unscheduled cancels it on every shard.
            Err(p) => return panic_reply(c, &p),
        };
        let dest_shard = groups
            .index_of(key_hash(&args[1], shards).shard)
            .expect("the destination is one of the keys");
        let failed = p.err.map(|(_, e)| e);
        let (max, dense) = (p.max, p.dense);
        let mut job = failed.is_none().then(|| {
            let dest = args[1].clone();
            Box::new(move |s: &mut Shard| {
                let (now, max_bytes) = (s.now_ms(), s.limits.hll_sparse_max_bytes);
                op_pfmerge_store(&mut s.dbs[db], &dest, &max, dense, max_bytes, now)
            }) as HopFn<Result<(), HllError>>
        });
        let jobs = (0..groups.shards.len())
            .map(|i| if i == dest_shard { job.take() } else { None })
            .collect();
        let mut result = failed.map_or(Ok(()), Err);
        for r in tx.hop(jobs, true).await.into_iter().flatten() {
            match r {
                Ok(r) => result = r,
                Err(p) => return panic_reply(c, &p),
            }
        }
        match result {
            Ok(()) => c.out.ok(),
            Err(e) => c.out.error(e.message()),
        }
    })
}

// -------------------------------------------------------------------------------------------------
// PFDEBUG
// -------------------------------------------------------------------------------------------------

/// What PFDEBUG replies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PfDebug {
    /// GETREG: every register (the value is made dense first).
    Registers(Vec<u8>),
    /// DECODE: the sparse opcodes.
    Decoded(String),
    /// ENCODING: `dense` or `sparse`.
    Encoding(&'static str),
    /// TODENSE: whether the value was converted.
    Converted(bool),
}

/// Why PFDEBUG did not apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PfDebugError {
    NoKey,
    Hll(HllError),
    NotSparse,
    /// An unknown subcommand (as Redis prints it: up to its first NUL byte).
    Unknown(String),
}

/// PFDEBUG GETREG|DECODE|ENCODING|TODENSE key. Like Redis, the key is looked up, checked and
/// made `raw` before the subcommand is recognised.
pub fn op_pfdebug(
    db: &mut DbSlice,
    sub: &[u8],
    key: &[u8],
    now: u64,
) -> Result<PfDebug, PfDebugError> {
    let e = db.find(key, now).ok_or(PfDebugError::NoKey)?;
    check(e).map_err(PfDebugError::Hll)?;
    let end = memchr::memchr(0, sub).unwrap_or(sub.len());
    let sub = &sub[..end];
    e.with_raw_mut(|buf| {
        let corrupt = |_| PfDebugError::Hll(HllError::Corrupt);
        if sub.eq_ignore_ascii_case(b"getreg") {
            hll::to_dense(buf).map_err(corrupt)?;
            let regs = &buf[hll::HDR_SIZE..];
            Ok(PfDebug::Registers(
                (0..REGISTERS).map(|i| hll::dense_get(regs, i)).collect(),
            ))
        } else if sub.eq_ignore_ascii_case(b"decode") {
            if buf[4] != hll::SPARSE {
                return Err(PfDebugError::NotSparse);
            }
            Ok(PfDebug::Decoded(hll::decode_sparse(buf)))
        } else if sub.eq_ignore_ascii_case(b"encoding") {
            Ok(PfDebug::Encoding(if buf[4] == hll::DENSE {
                "dense"
            } else {
                "sparse"
            }))
        } else if sub.eq_ignore_ascii_case(b"todense") {
            let sparse = buf[4] == hll::SPARSE;
            hll::to_dense(buf).map_err(corrupt)?;
            Ok(PfDebug::Converted(sparse))
        } else {
            Err(PfDebugError::Unknown(
                String::from_utf8_lossy(sub).into_owned(),
            ))
        }
    })
    .expect("checked: a string")
}

/// PFDEBUG subcommand key
fn cmd_pfdebug(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    match op_pfdebug(sc.slice(), &args[1], &args[2], now) {
        Ok(PfDebug::Registers(regs)) => {
            w.array(regs.len());
            for r in regs {
                w.int(i64::from(r));
            }
        }
        Ok(PfDebug::Decoded(s)) => w.bulk(s.as_bytes()),
        Ok(PfDebug::Encoding(e)) => w.simple(e.as_bytes()),
        Ok(PfDebug::Converted(c)) => w.int(i64::from(c)),
        Err(PfDebugError::NoKey) => w.error(errors::PFDEBUG_NO_KEY),
        Err(PfDebugError::Hll(e)) => w.error(e.message()),
        Err(PfDebugError::NotSparse) => w.error(errors::PFDEBUG_NOT_SPARSE),
        Err(PfDebugError::Unknown(s)) => w.error(&format!("ERR Unknown PFDEBUG subcommand '{s}'")),
    }
}

// -------------------------------------------------------------------------------------------------
// PFSELFTEST
// -------------------------------------------------------------------------------------------------

/// PFSELFTEST: `hll::selftest` on the connection's thread (like Redis, it takes a while), seeded
/// from the clock.
fn cmd_pfselftest(c: &mut Conn, _args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        let seed = c.engine().clock.now_us();
        let max_bytes = c.server.config.limits().hll_sparse_max_bytes;
        match hll::selftest(seed, max_bytes) {
            Ok(()) => c.out.ok(),
            Err(e) => c.out.error(&e),
        }
    })
}
