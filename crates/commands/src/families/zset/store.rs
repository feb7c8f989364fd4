//! The sorted-set commands over several keys: ZUNION ZINTER ZDIFF, their STORE forms,
//! ZINTERCARD, ZRANGESTORE and ZMPOP, plus the pop every ZPOP form shares.
//!
//! How each reaches its shards:
//! - all keys on one shard: a shard handler computes in place (atomic by construction);
//! - ZUNION ZINTER ZDIFF ZINTERCARD across shards: one transaction whose single concluding hop
//!   reads a copy of every source (a consistent snapshot); the coordinator computes the reply;
//! - the STORE forms and ZRANGESTORE: one transaction with exclusive locks on every key: a hop
//!   reads the sources, the concluding hop stores (or deletes) the destination;
//! - ZMPOP: `multi::pop_first_ready` (probe every key, pop from the first non-empty one).
//!
//! The algebra is Redis 7.0's `zunionInterDiffGenericCommand`: sources may be sets (score 1);
//! a missing key is an empty set; sources are visited smallest first (a stable sort, as glibc's
//! qsort is for these sizes), so sums add up in Redis's order; `inf + -inf` and `inf * 0`
//! become 0 where Redis makes them 0. Errors come in Redis's order: numkeys, the key types,
//! then the options.

use super::{
    count_read, drop_if_empty, find_zset, parse_range, parse_score, reply_owned, select, Fixed,
    ZSetValue,
};
use crate::args::parse_i64;
use crate::context::{Conn, ShardCmd};
use crate::errors;
use crate::families::list::{parse_mpop_args_with, MpopArgs};
use crate::families::set::{parts, WrongType};
use crate::multi::{
    conclude, hop_at, hop_each, panic_reply, pop_first_ready, run_each, EachFn, KeyGroups, Probe,
};
use crate::registry::LocalBoxFuture;
use bytes::Bytes;
use darter_collections::bptree::cmp_entry;
use darter_collections::zsetval::AddFlags;
use darter_collections::{End, Limits, SetValue, Value};
use darter_engine::keys::shard_of;
use darter_engine::notify;
use darter_engine::shard::ShardStats;
use darter_engine::tx::HopFn;
use darter_engine::{DbSlice, Panicked, Record, Shard};
use darter_resp::{Protocol, ReplyWriter};
use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

/// Owned (member, score) pairs, lowest first unless said otherwise.
pub type Pairs = Vec<(Vec<u8>, f64)>;

// -------------------------------------------------------------------------------------------------
// Pops
// -------------------------------------------------------------------------------------------------

/// ZPOPMIN / ZPOPMAX (and ZMPOP, BZPOPMIN, BZPOPMAX, BZMPOP): up to `count` entries from the low
/// end, or the high end when `max`, in pop order; None for a missing key. The key goes when the
/// set empties.
pub fn op_zpop(
    db: &mut DbSlice,
    key: &[u8],
    count: usize,
    max: bool,
    now: u64,
) -> Result<Option<Pairs>, WrongType> {
    let Some(z) = find_zset(db, key, now)? else {
        return Ok(None);
    };
    let v = z.pop(count, max);
    if !v.is_empty() {
        db.notify(notify::ZSET, if max { "zpopmax" } else { "zpopmin" }, key);
    }
    drop_if_empty(db, key, now);
    Ok(Some(v))
}

/// ZMPOP's and BZMPOP's reply for entries popped from `key`: `[key, [[member, score], ...]]`.
pub fn zmpop_reply(w: &mut ReplyWriter, key: &[u8], popped: &[(Vec<u8>, f64)]) {
    w.array(2);
    w.bulk(key);
    reply_owned(w, popped, true, true);
}

/// MIN or MAX, as the end to pop from (MIN: the front).
fn parse_min_max(a: &[u8]) -> Result<End, &'static str> {
    if a.eq_ignore_ascii_case(b"min") {
        Ok(End::Front)
    } else if a.eq_ignore_ascii_case(b"max") {
        Ok(End::Back)
    } else {
        Err(errors::SYNTAX)
    }
}

/// ZMPOP's (and BZMPOP's) `numkeys key ... MIN|MAX [COUNT count]` from `args[numkeys_index]`.
pub fn parse_zmpop_args(args: &[Bytes], numkeys_index: usize) -> Result<MpopArgs, &'static str> {
    parse_mpop_args_with(args, numkeys_index, parse_min_max)
}

/// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count], all keys on this shard.
pub(super) fn shard_zmpop(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let a = match parse_zmpop_args(args, 1) {
        Ok(a) => a,
        Err(e) => return w.error(e),
    };
    let (db, _, _) = parts(sc);
    for k in &args[a.keys.clone()] {
        match op_zpop(db, k, a.count, a.end == End::Back, now) {
            Err(WrongType) => return w.error(errors::WRONGTYPE),
            Ok(None) => continue,
            Ok(Some(v)) => return zmpop_reply(w, k, &v),
        }
    }
    w.null_array()
}

/// What ZMPOP's probe sees on a key.
pub fn zset_probe(db: &mut DbSlice, k: &[u8], now: u64) -> Probe<WrongType> {
    match find_zset(db, k, now) {
        Ok(None) => Probe::Empty,
        Ok(Some(z)) if z.is_empty() => Probe::Empty,
        Ok(Some(_)) => Probe::Ready,
        Err(e) => Probe::Failed(e),
    }
}

/// ZMPOP across shards.
pub(super) fn cmd_zmpop(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        let a = match parse_zmpop_args(&args, 1) {
            Ok(a) => a,
            Err(e) => return c.out.error(e),
        };
        let (count, max) = (a.count, a.end == End::Back);
        let pop = move |s: &mut Shard, db: usize, key: &[u8], now: u64| {
            op_zpop(&mut s.dbs[db], key, count, max, now)
        };
        let keys = &args[a.keys.clone()];
        match pop_first_ready(c, keys, zset_probe, pop).await {
            Err(p) => panic_reply(c, &p),
            Ok(Err(WrongType)) | Ok(Ok(Some((_, Err(WrongType))))) => {
                c.out.error(errors::WRONGTYPE)
            }
            Ok(Ok(Some((i, Ok(Some(v)))))) => zmpop_reply(&mut c.out, &keys[i], &v),
            // None: every key empty, or active expiry took the key between the hops.
            Ok(Ok(_)) => c.out.null_array(),
        }
    })
}

// -------------------------------------------------------------------------------------------------
// Storing a result
// -------------------------------------------------------------------------------------------------

/// Stores `entries` (sorted, distinct members) under `dst` as a new sorted set, replacing any
/// value and deadline, or deletes `dst` when there are none. Encoded as Redis builds these
/// results (listpack when within both listpack limits). Returns the stored size.
/// Reports `event` (the command's name) on `dst`, or `del` when an existing `dst` is deleted.
pub fn op_store(
    db: &mut DbSlice,
    dst: &[u8],
    entries: Pairs,
    l: &Limits,
    event: &str,
    now: u64,
) -> usize {
    if entries.is_empty() {
        if db.remove(dst, now).is_some() {
            db.notify(notify::GENERIC, "del", dst);
        }
        return 0;
    }
    let maxlen = entries.iter().map(|(m, _)| m.len()).max().unwrap_or(0);
    let mut z = ZSetValue::create(entries.len(), maxlen, l);
    for (m, s) in &entries {
        z.add(m, *s, AddFlags::default(), l);
    }
    let n = z.len();
    db.set(dst, Record::new(Value::ZSet(z)));
    db.notify(notify::ZSET, event, dst);
    n
}

// -------------------------------------------------------------------------------------------------
// ZRANGESTORE
// -------------------------------------------------------------------------------------------------

/// What ZRANGESTORE's range selects from `src` (None: the key is missing).
fn range_of(
    db: &mut DbSlice,
    stats: &mut ShardStats,
    args: &[Bytes],
    now: u64,
) -> Result<Option<Pairs>, WrongType> {
    let spec = parse_range(args, 2, true, Fixed::None).expect("checked by the caller");
    let r = find_zset(db, &args[2], now);
    count_read(stats, !matches!(r, Ok(None)));
    Ok(r?.map(|z| select(z, &spec).map(|(m, s)| (m.to_vec(), s)).collect()))
}

/// ZRANGESTORE dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count], both keys here.
pub(super) fn shard_zrangestore(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    if let Err(e) = parse_range(args, 2, true, Fixed::None) {
        return w.error(e);
    }
    let (db, stats, l) = parts(sc);
    match range_of(db, stats, args, now) {
        Err(WrongType) => w.error(errors::WRONGTYPE),
        Ok(r) => {
            w.int(op_store(db, &args[1], r.unwrap_or_default(), &l, "zrangestore", now) as i64)
        }
    }
}

/// ZRANGESTORE across shards: a hop computes the range on the source's shard, the concluding
/// hop stores it on the destination's.
pub(super) fn cmd_zrangestore(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        if let Err(e) = parse_range(&args, 2, true, Fixed::None) {
            return c.out.error(e);
        }
        match zrangestore_across(c, args).await {
            Ok(Ok(n)) => c.out.int(n as i64),
            Ok(Err(WrongType)) => c.out.error(errors::WRONGTYPE),
            Err(p) => panic_reply(c, &p),
        }
    })
}

async fn zrangestore_across(
    c: &Conn,
    args: Vec<Bytes>,
) -> Result<Result<usize, WrongType>, Panicked> {
    let n = c.engine().num_shards();
    let db = c.state.db;
    let (dst, src) = (args[1].clone(), args[2].clone());
    let groups = KeyGroups::new(n, db, [(1, dst.clone()), (2, src.clone())], true);
    let at = |k: &[u8]| groups.index_of(shard_of(k, n)).expect("key's shard");
    let mut tx = groups.schedule(c).await;
    let args = Arc::new(args);
    let a2 = args.clone();
    let read = Box::new(move |s: &mut Shard| {
        let now = s.now_ms();
        let shard = &mut *s;
        range_of(&mut shard.dbs[db], &mut shard.stats, &a2, now)
    }) as HopFn<Result<Option<Pairs>, WrongType>>;
    let mut out = hop_at(&mut tx, vec![(at(&src), read)], false).await?;
    let range = match out[at(&src)].take().expect("read job") {
        Err(WrongType) => {
            conclude(&mut tx).await;
            return Ok(Err(WrongType));
        }
        Ok(r) => r.unwrap_or_default(),
    };
    let write = Box::new(move |s: &mut Shard| {
        let (now, l) = (s.now_ms(), s.limits);
        op_store(&mut s.dbs[db], &dst, range, &l, "zrangestore", now)
    }) as HopFn<_>;
    let mut out = hop_at(&mut tx, vec![(at(&args[1]), write)], true).await?;
    Ok(Ok(out[at(&args[1])].take().expect("write job")))
}

// -------------------------------------------------------------------------------------------------
// ZUNION ZINTER ZDIFF (and STORE) ZINTERCARD
// -------------------------------------------------------------------------------------------------

/// The algebra a command applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZOp {
    Union,
    Inter,
    Diff,
}

/// AGGREGATE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Agg {
    Sum,
    Min,
    Max,
}

/// Which command: its algebra, whether it stores (the destination is `args[1]`) or only counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Which {
    pub op: ZOp,
    pub store: bool,
    pub card: bool,
    pub name: &'static str,
}

impl Which {
    fn numkeys_index(self) -> usize {
        if self.store {
            2
        } else {
            1
        }
    }
}

pub(super) const ZUNION: Which = which(ZOp::Union, false, "zunion");
pub(super) const ZINTER: Which = which(ZOp::Inter, false, "zinter");
pub(super) const ZDIFF: Which = which(ZOp::Diff, false, "zdiff");
const ZUNIONSTORE: Which = which(ZOp::Union, true, "zunionstore");
const ZINTERSTORE: Which = which(ZOp::Inter, true, "zinterstore");
const ZDIFFSTORE: Which = which(ZOp::Diff, true, "zdiffstore");
const ZINTERCARD: Which = Which {
    op: ZOp::Inter,
    store: false,
    card: true,
    name: "zintercard",
};

const fn which(op: ZOp, store: bool, name: &'static str) -> Which {
    Which {
        op,
        store,
        card: false,
        name,
    }
}

/// The options after the keys.
#[derive(Clone, Debug, PartialEq)]
pub struct AlgebraOpts {
    pub weights: Vec<f64>,
    pub agg: Agg,
    pub withscores: bool,
    /// ZINTERCARD's LIMIT (0: none).
    pub limit: usize,
}

/// The source keys' argument range, with Redis's numkeys errors.
pub fn parse_numkeys(args: &[Bytes], w: Which) -> Result<Range<usize>, String> {
    let at = w.numkeys_index();
    let n = parse_i64(&args[at]).ok_or_else(|| errors::NOT_INTEGER.to_string())?;
    if n < 1 {
        return Err(format!(
            "ERR at least 1 input key is needed for '{}' command",
            w.name
        ));
    }
    if n > (args.len() - (at + 1)) as i64 {
        return Err(errors::SYNTAX.to_string());
    }
    Ok(at + 1..at + 1 + n as usize)
}

/// The options after the keys, with Redis's errors in its order.
pub fn parse_algebra_opts(
    args: &[Bytes],
    keys: Range<usize>,
    w: Which,
) -> Result<AlgebraOpts, &'static str> {
    let setnum = keys.len();
    let mut o = AlgebraOpts {
        weights: vec![1.0; setnum],
        agg: Agg::Sum,
        withscores: false,
        limit: 0,
    };
    let mut j = keys.end;
    let algebra = w.op != ZOp::Diff && !w.card;
    while j < args.len() {
        let remaining = args.len() - j;
        let a = &args[j];
        if algebra && remaining > setnum && a.eq_ignore_ascii_case(b"weights") {
            for (i, wt) in o.weights.iter_mut().enumerate() {
                *wt = parse_score(&args[j + 1 + i]).ok_or(errors::WEIGHT_NOT_FLOAT)?;
            }
            j += 1 + setnum;
        } else if algebra && remaining >= 2 && a.eq_ignore_ascii_case(b"aggregate") {
            let v = &args[j + 1];
            o.agg = if v.eq_ignore_ascii_case(b"sum") {
                Agg::Sum
            } else if v.eq_ignore_ascii_case(b"min") {
                Agg::Min
            } else if v.eq_ignore_ascii_case(b"max") {
                Agg::Max
            } else {
                return Err(errors::SYNTAX);
            };
            j += 2;
        } else if !w.store && !w.card && a.eq_ignore_ascii_case(b"withscores") {
            o.withscores = true;
            j += 1;
        } else if w.card && remaining >= 2 && a.eq_ignore_ascii_case(b"limit") {
            o.limit = match parse_i64(&args[j + 1]) {
                Some(v) if v >= 0 => usize::try_from(v).unwrap_or(usize::MAX),
                _ => return Err(errors::LIMIT_NEGATIVE),
            };
            j += 2;
        } else {
            return Err(errors::SYNTAX);
        }
    }
    Ok(o)
}

/// One source of the algebra: a sorted set, or a set whose members score 1.
#[derive(Clone, Copy, Debug)]
pub enum Src<'a> {
    Z(&'a ZSetValue),
    S(&'a SetValue),
}

impl Src<'_> {
    fn len(&self) -> usize {
        match self {
            Src::Z(z) => z.len(),
            Src::S(s) => s.len(),
        }
    }

    fn each(&self, mut f: impl FnMut(&[u8], f64)) {
        match self {
            Src::Z(z) => z.iter().for_each(|(m, s)| m.with_bytes(|b| f(b, s))),
            Src::S(s) => s.iter().for_each(|m| m.with_bytes(|b| f(b, 1.0))),
        }
    }

    fn find(&self, m: &[u8]) -> Option<f64> {
        match self {
            Src::Z(z) => z.score(m),
            Src::S(s) => s.contains(m).then_some(1.0),
        }
    }
}

/// Redis's `zunionInterAggregate`.
fn aggregate(target: &mut f64, v: f64, agg: Agg) {
    match agg {
        Agg::Sum => {
            *target += v;
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Agg::Min => {
            if v < *target {
                *target = v;
            }
        }
        Agg::Max => {
            if v > *target {
                *target = v;
            }
        }
    }
}

/// What the algebra produced.
#[derive(Clone, Debug, PartialEq)]
pub enum Computed {
    /// ZINTERCARD.
    Card(usize),
    /// The result, sorted by (score, member).
    Entries(Pairs),
}

/// Runs the algebra over `srcs` (None: a missing key), in argument order.
pub fn compute(w: Which, srcs: &[Option<Src<'_>>], o: &AlgebraOpts) -> Computed {
    let mut out: Pairs = Vec::new();
    match w.op {
        ZOp::Diff => {
            if let Some(Some(first)) = srcs.first() {
                first.each(|m, s| {
                    if !srcs[1..].iter().flatten().any(|x| x.find(m).is_some()) {
                        out.push((m.to_vec(), s));
                    }
                });
            }
        }
        ZOp::Union | ZOp::Inter => {
            let mut order: Vec<usize> = (0..srcs.len()).collect();
            order.sort_by_key(|&i| srcs[i].map_or(0, |s| s.len()));
            let weighted = |i: usize, s: f64| {
                let v = o.weights[i] * s;
                if v.is_nan() {
                    0.0
                } else {
                    v
                }
            };
            if w.op == ZOp::Union {
                let mut acc: HashMap<Vec<u8>, f64> = HashMap::new();
                for &i in &order {
                    let Some(src) = srcs[i] else { continue };
                    src.each(|m, s| {
                        let v = weighted(i, s);
                        match acc.get_mut(m) {
                            Some(t) => aggregate(t, v, o.agg),
                            None => {
                                acc.insert(m.to_vec(), v);
                            }
                        }
                    });
                }
                out = acc.into_iter().collect();
            } else if let Some(first) = srcs[order[0]].filter(|s| s.len() > 0) {
                let mut card = 0usize;
                let mut done = false;
                first.each(|m, s| {
                    if done {
                        return;
                    }
                    let mut score = weighted(order[0], s);
                    for &j in &order[1..] {
                        match srcs[j].and_then(|x| x.find(m)) {
                            Some(v) => aggregate(&mut score, v * o.weights[j], o.agg),
                            None => return,
                        }
                    }
                    if w.card {
                        card += 1;
                        done = o.limit > 0 && card >= o.limit;
                    } else {
                        out.push((m.to_vec(), score));
                    }
                });
                if w.card {
                    return Computed::Card(card);
                }
            }
        }
    }
    if w.card {
        return Computed::Card(0);
    }
    out.sort_by(|a, b| cmp_entry(a.1, &a.0, b.1, &b.0));
    Computed::Entries(out)
}

fn reply_computed(w: &mut ReplyWriter, c: &Computed, withscores: bool) {
    match c {
        Computed::Card(n) => w.int(*n as i64),
        Computed::Entries(e) => {
            let nested = withscores && w.proto == Protocol::Resp3;
            reply_owned(w, e, withscores, nested)
        }
    }
}

/// Looks every source up as Redis's loop does (stopping at the first key of another type);
/// reads count hits and misses, the STORE forms' lookups do not.
fn check_sources(
    db: &mut DbSlice,
    stats: &mut ShardStats,
    keys: &[Bytes],
    count: bool,
    now: u64,
) -> Result<(), WrongType> {
    for k in keys {
        let found = match db.find(k, now) {
            None => false,
            Some(e) => match e.obj() {
                Some(Value::ZSet(_)) | Some(Value::Set(_)) => true,
                _ => return Err(WrongType),
            },
        };
        if count {
            count_read(stats, found);
        }
    }
    Ok(())
}

/// The live source under `key`, borrowed (after `check_sources`).
fn peek_src<'a>(db: &'a DbSlice, key: &[u8], now: u64) -> Option<Src<'a>> {
    match db.peek(key, now)?.obj() {
        Some(Value::ZSet(z)) => Some(Src::Z(z)),
        Some(Value::Set(s)) => Some(Src::S(s)),
        _ => None,
    }
}

/// Any of these commands with all its keys on this shard.
fn shard_algebra(sc: &mut ShardCmd, w: &mut ReplyWriter, which: Which) {
    let (args, now) = (sc.args, sc.now_ms);
    let keys = match parse_numkeys(args, which) {
        Ok(k) => k,
        Err(e) => return w.error(&e),
    };
    let (db, stats, l) = parts(sc);
    if check_sources(db, stats, &args[keys.clone()], !which.store, now).is_err() {
        return w.error(errors::WRONGTYPE);
    }
    let o = match parse_algebra_opts(args, keys.clone(), which) {
        Ok(o) => o,
        Err(e) => return w.error(e),
    };
    let srcs: Vec<Option<Src>> = args[keys].iter().map(|k| peek_src(db, k, now)).collect();
    let c = compute(which, &srcs, &o);
    if which.store {
        let Computed::Entries(e) = c else {
            unreachable!("STORE forms compute entries")
        };
        return w.int(op_store(db, &args[1], e, &l, which.name, now) as i64);
    }
    reply_computed(w, &c, o.withscores);
}

/// A source read on its shard for a cross-shard command.
#[derive(Clone, Debug)]
enum Fetched {
    Missing,
    WrongType,
    Z(ZSetValue),
    S(SetValue),
}

/// Reads this shard's sources (argument index `>= first`; the destination is index 1): copies
/// when `copy`, else only their types (the options are bad; the error still waits on the
/// types). Also returns the shard's thresholds.
fn fetch_job(first: usize, copy: bool, count: bool) -> EachFn<(Limits, Vec<(usize, Fetched)>)> {
    Arc::new(move |s: &mut Shard, db, keys| {
        let now = s.now_ms();
        let limits = s.limits;
        let shard = &mut *s;
        let got = keys
            .iter()
            .filter(|(i, _)| *i >= first)
            .map(|(i, k)| {
                let one = std::slice::from_ref(k);
                let dbs = &mut shard.dbs[db];
                let f = match check_sources(dbs, &mut shard.stats, one, count, now) {
                    Err(WrongType) => Fetched::WrongType,
                    Ok(()) => match peek_src(dbs, k, now) {
                        None => Fetched::Missing,
                        Some(_) if !copy => Fetched::Missing,
                        Some(Src::Z(z)) => Fetched::Z(z.clone()),
                        Some(Src::S(v)) => Fetched::S(v.clone()),
                    },
                };
                (*i, f)
            })
            .collect();
        (limits, got)
    })
}

/// Fetched sources back in argument order; Err when any has another type.
fn assemble(
    parts: Vec<(Limits, Vec<(usize, Fetched)>)>,
    keys: Range<usize>,
) -> Result<(Limits, Vec<Fetched>), WrongType> {
    let mut limits = Limits::default();
    let mut slots: Vec<Fetched> = vec![Fetched::Missing; keys.end];
    for (l, got) in parts {
        limits = l;
        for (i, f) in got {
            slots[i] = f;
        }
    }
    let out: Vec<Fetched> = slots.drain(keys).collect();
    if out.iter().any(|f| matches!(f, Fetched::WrongType)) {
        return Err(WrongType);
    }
    Ok((limits, out))
}

fn as_srcs(f: &[Fetched]) -> Vec<Option<Src<'_>>> {
    f.iter()
        .map(|f| match f {
            Fetched::Z(z) => Some(Src::Z(z)),
            Fetched::S(s) => Some(Src::S(s)),
            _ => None,
        })
        .collect()
}

/// Any of these commands across shards (see the module docs for the hops).
async fn coord_algebra(c: &mut Conn, args: Vec<Bytes>, which: Which) {
    let keys = match parse_numkeys(&args, which) {
        Ok(k) => k,
        Err(e) => return c.out.error(&e),
    };
    let opts = parse_algebra_opts(&args, keys.clone(), which);
    let n = c.engine().num_shards();
    let db = c.state.db;
    let mut all: Vec<(usize, Bytes)> = keys.clone().map(|i| (i, args[i].clone())).collect();
    if which.store {
        all.push((1, args[1].clone()));
    }
    let groups = KeyGroups::new(n, db, all, which.store);
    let fetch = fetch_job(keys.start, opts.is_ok(), !which.store);
    if !which.store {
        let parts = match run_each(c, &groups, fetch).await {
            Ok(x) => x,
            Err(p) => return panic_reply(c, &p),
        };
        let fetched = match assemble(parts, keys) {
            Ok((_, f)) => f,
            Err(WrongType) => return c.out.error(errors::WRONGTYPE),
        };
        let o = match opts {
            Ok(o) => o,
            Err(e) => return c.out.error(e),
        };
        let computed = compute(which, &as_srcs(&fetched), &o);
        return reply_computed(&mut c.out, &computed, o.withscores);
    }
    match store_across(c, &groups, fetch, keys, opts, which, args[1].clone()).await {
        Ok(Ok(n)) => c.out.int(n as i64),
        Ok(Err(e)) => c.out.error(e),
        Err(p) => panic_reply(c, &p),
    }
}

/// A STORE form across shards: hop 1 reads the sources, the concluding hop writes `dst`.
async fn store_across(
    c: &Conn,
    groups: &KeyGroups,
    fetch: EachFn<(Limits, Vec<(usize, Fetched)>)>,
    keys: Range<usize>,
    opts: Result<AlgebraOpts, &'static str>,
    which: Which,
    dst: Bytes,
) -> Result<Result<usize, &'static str>, Panicked> {
    let db = c.state.db;
    let mut tx = groups.schedule(c).await;
    let parts = hop_each(&mut tx, groups, db, fetch, false).await?;
    let checked = assemble(parts, keys)
        .map_err(|WrongType| errors::WRONGTYPE)
        .and_then(|(l, f)| opts.map(|o| (l, f, o)));
    let (limits, fetched, o) = match checked {
        Ok(x) => x,
        Err(e) => {
            conclude(&mut tx).await;
            return Ok(Err(e));
        }
    };
    let Computed::Entries(entries) = compute(which, &as_srcs(&fetched), &o) else {
        unreachable!("STORE forms compute entries")
    };
    let at = groups
        .index_of(shard_of(&dst, c.engine().num_shards()))
        .expect("destination's shard");
    let write = Box::new(move |s: &mut Shard| {
        let now = s.now_ms();
        op_store(&mut s.dbs[db], &dst, entries, &limits, which.name, now)
    }) as HopFn<_>;
    let mut out = hop_at(&mut tx, vec![(at, write)], true).await?;
    Ok(Ok(out[at].take().expect("write job")))
}

macro_rules! algebra_handlers {
    ($($shard:ident, $coord:ident, $which:expr;)*) => {$(
        pub(super) fn $shard(sc: &mut ShardCmd, w: &mut ReplyWriter) {
            shard_algebra(sc, w, $which)
        }
        pub(super) fn $coord(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
            Box::pin(coord_algebra(c, args, $which))
        }
    )*};
}

algebra_handlers! {
    shard_zunion, cmd_zunion, ZUNION;
    shard_zinter, cmd_zinter, ZINTER;
    shard_zdiff, cmd_zdiff, ZDIFF;
    shard_zunionstore, cmd_zunionstore, ZUNIONSTORE;
    shard_zinterstore, cmd_zinterstore, ZINTERSTORE;
    shard_zdiffstore, cmd_zdiffstore, ZDIFFSTORE;
    shard_zintercard, cmd_zintercard, ZINTERCARD;
}
