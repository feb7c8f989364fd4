//! Blocking pops: BLPOP BRPOP BLMPOP BLMOVE BRPOPLPUSH on lists, BZPOPMIN BZPOPMAX BZMPOP on
//! sorted sets.
//!
//! Each command first tries to serve itself atomically (one transaction over the shards of all its
//! keys: the first existing key in argument order decides, as in Redis). When every key is missing
//! it registers one `Waiter` on every shard owning one of its keys, in the same transaction, so no
//! push can slip between the check and the registration. Then the client waits for the first of:
//! a shard serving it (`crate::blocking` in the engine runs `Blocked::serve` right after the write
//! that made a key ready), its timeout, CLIENT UNBLOCK, or its connection closing. Whoever claims
//! the waiter first (an atomic swap) decides the outcome; the loser leaves it alone.
//!
//! BLMOVE whose destination lives on another shard than the ready source cannot finish on the
//! source's shard: that shard claims the waiter and tells the client to retry, and the client runs
//! the whole attempt again as a transaction (re-blocking, at the back of the queues, if another
//! client took the element meanwhile).
//!
//! Shard-side access here is the minimum these commands need (pop, push, type checks); the list
//! and sorted-set families own the rest of their semantics and their reply shapes.

use crate::context::Conn;
use crate::errors;
use crate::families::{list, zset};
use crate::multi::{panic_reply, KeyGroups};
use crate::registry::{Cmd, Handler, LocalBoxFuture};
use bytes::Bytes;
use darter_collections::num::parse_f64;
use darter_collections::{End, Value};
use darter_engine::keys::{key_fp, key_hash, shard_of};
use darter_engine::tx::HopFn;
use darter_engine::{DbSlice, LockReq, Shard, Waiter};
use darter_resp::{Protocol, ReplyWriter};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

pub static COMMANDS: &[Cmd] = &[
    Cmd::new("blpop", Handler::Conn(cmd_blpop)),
    Cmd::new("brpop", Handler::Conn(cmd_brpop)),
    Cmd::new("blmpop", Handler::Conn(cmd_blmpop)),
    Cmd::new("blmove", Handler::Conn(cmd_blmove)),
    Cmd::new("brpoplpush", Handler::Conn(cmd_brpoplpush)),
    Cmd::new("bzpopmin", Handler::Conn(cmd_bzpopmin)),
    Cmd::new("bzpopmax", Handler::Conn(cmd_bzpopmax)),
    Cmd::new("bzmpop", Handler::Conn(cmd_bzmpop)),
];

const TIMEOUT_NOT_FLOAT: &str = "ERR timeout is not a float or out of range";
const TIMEOUT_NEGATIVE: &str = "ERR timeout is negative";
const TIMEOUT_OUT_OF_RANGE: &str = "ERR timeout is out of range";
/// What a client unblocked with CLIENT UNBLOCK ... ERROR receives.
pub const UNBLOCKED: &str = "UNBLOCKED client unblocked via CLIENT UNBLOCK";

/// Redis's `getTimeoutFromObjectOrReply` for a timeout in seconds: a float, rounded up to whole
/// milliseconds; 0 blocks forever.
pub fn parse_timeout(arg: &[u8]) -> Result<u64, &'static str> {
    let v = parse_f64(arg)
        .filter(|v| !v.is_nan())
        .ok_or(TIMEOUT_NOT_FLOAT)?;
    let ms = (v * 1000.0).ceil();
    if ms > i64::MAX as f64 {
        return Err(TIMEOUT_OUT_OF_RANGE);
    }
    if ms < 0.0 {
        return Err(TIMEOUT_NEGATIVE);
    }
    Ok(ms as u64)
}

/// What a blocked command does once a key can serve it.
#[derive(Clone, Debug)]
enum Op {
    /// BLPOP / BRPOP: one element; reply `[key, element]`.
    Pop(End),
    /// BLMPOP: up to `count` elements; reply `[key, [elements]]`.
    MPop(End, usize),
    /// BLMOVE / BRPOPLPUSH: pop from `from`, push onto `dst` at `to`; reply the element.
    Move { from: End, dst: Bytes, to: End },
    /// BZPOPMIN / BZPOPMAX (`count` None): reply `[key, member, score]`; BZMPOP: up to `count`
    /// entries, reply `[key, [[member, score], ...]]`.
    ZPop { max: bool, count: Option<usize> },
}

impl Op {
    /// The reply when the timeout expires (or CLIENT UNBLOCK ... TIMEOUT): a null array for every
    /// form, moves included, as Redis's `replyToBlockedClientTimedOut` (RESP2 `*-1`; clients such
    /// as ioredis read either null, but the bytes are Redis's).
    fn timeout_reply(&self, w: &mut ReplyWriter) {
        w.null_array()
    }

    /// The reply when the command may not block (inside MULTI/EXEC or a script) and no key can
    /// serve it: Redis's blmoveGenericCommand answers a null bulk there, the pops a null array.
    fn no_block_reply(&self, w: &mut ReplyWriter) {
        match self {
            Op::Move { .. } => w.null(),
            _ => w.null_array(),
        }
    }
}

/// What one key holds, for deciding who serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyState {
    Missing,
    /// The type `op` pops from.
    Ready,
    Other,
}

fn key_state(db: &mut DbSlice, key: &[u8], op: &Op, now: u64) -> KeyState {
    if let Op::ZPop { .. } = op {
        return match zset::find_zset(db, key, now) {
            Ok(None) => KeyState::Missing,
            Ok(Some(_)) => KeyState::Ready,
            Err(_) => KeyState::Other,
        };
    }
    match list::op_llen(db, key, now) {
        Ok(None) => KeyState::Missing,
        Ok(Some(_)) => KeyState::Ready,
        Err(_) => KeyState::Other,
    }
}

/// Pops up to `count` elements from the list at `key`, deleting the key when it empties.
fn pop_list(shard: &mut Shard, db: usize, key: &[u8], end: End, count: usize) -> Vec<Vec<u8>> {
    let (now, cfg) = (shard.now_ms(), shard.limits.list);
    match list::op_pop(&mut shard.dbs[db], key, end, count, &cfg, now) {
        Ok(Some(v)) => v,
        _ => Vec::new(),
    }
}

/// Pushes `v` onto the list at `key` (creating it). The caller checked the type.
fn push_list(shard: &mut Shard, db: usize, key: &[u8], end: End, v: &[u8]) {
    let (now, cfg) = (shard.now_ms(), shard.limits.list);
    let _ = list::op_push(&mut shard.dbs[db], key, end, &[v], &cfg, now);
}

/// The outcome of serving: a whole reply, or "run the attempt again" (cross-shard BLMOVE).
enum Outcome {
    Reply(Vec<u8>),
    Retry,
}

static NEXT_WAITER: AtomicU64 = AtomicU64::new(1);

/// A blocked client as the shards see it.
struct Blocked {
    id: u64,
    claimed: AtomicBool,
    op: Op,
    proto: Protocol,
    shards: usize,
    out: Mutex<Option<oneshot::Sender<Outcome>>>,
}

impl Blocked {
    fn send(&self, o: Outcome) {
        if let Some(tx) = self.out.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = tx.send(o);
        }
    }
}

impl Waiter for Blocked {
    fn id(&self) -> u64 {
        self.id
    }

    fn is_live(&self) -> bool {
        !self.claimed.load(Ordering::Acquire)
    }

    fn ready(&self, shard: &mut Shard, db: usize, key: &[u8]) -> bool {
        let now = shard.now_ms();
        match (shard.dbs[db].peek(key, now).and_then(|e| e.obj()), &self.op) {
            (Some(Value::ZSet(z)), Op::ZPop { .. }) => !z.is_empty(),
            (Some(Value::List(l)), Op::Pop(_) | Op::MPop(..) | Op::Move { .. }) => !l.is_empty(),
            _ => false,
        }
    }

    fn claim(&self) -> bool {
        !self.claimed.swap(true, Ordering::AcqRel)
    }

    fn serve(&self, shard: &mut Shard, db: usize, key: &[u8]) {
        if let Op::Move { dst, .. } = &self.op {
            if shard_of(dst, self.shards) != shard.id {
                return self.send(Outcome::Retry);
            }
        }
        let reply = serve_now(shard, db, key, &self.op, self.proto);
        self.send(Outcome::Reply(reply));
    }

    fn also_writes(&self) -> Vec<Vec<u8>> {
        match &self.op {
            Op::Move { dst, .. } => vec![dst.to_vec()],
            _ => Vec::new(),
        }
    }
}

/// Result of one atomic attempt.
enum Attempt {
    /// Served (or failed with an error reply) without blocking.
    Done(Vec<u8>),
    /// Every key missing: the waiter is registered.
    Blocked,
}

/// Runs `op` against the first existing key of `keys` on a shard that owns them all (and `dst`),
/// or registers `waiter` on all of them. Everything happens in one turn of the shard.
fn attempt_local(
    shard: &mut Shard,
    db: usize,
    keys: &[Bytes],
    op: &Op,
    proto: Protocol,
    waiter: &Arc<Blocked>,
) -> Attempt {
    let now = shard.now_ms();
    for key in keys {
        match key_state(&mut shard.dbs[db], key, op, now) {
            KeyState::Missing => continue,
            KeyState::Other => return Attempt::Done(error_bytes(proto, errors::WRONGTYPE)),
            KeyState::Ready => return Attempt::Done(serve_now(shard, db, key, op, proto)),
        }
    }
    for key in keys {
        shard.block_on(db, key, waiter.clone());
    }
    Attempt::Blocked
}

fn error_bytes(proto: Protocol, msg: &str) -> Vec<u8> {
    let mut w = ReplyWriter::new(proto);
    w.error(msg);
    w.buf.to_vec()
}

/// Serves `op` from `key` (a non-empty list) on a shard that also owns `dst` for moves.
fn serve_now(shard: &mut Shard, db: usize, key: &[u8], op: &Op, proto: Protocol) -> Vec<u8> {
    let mut w = ReplyWriter::new(proto);
    match op {
        Op::Pop(end) => {
            let v = pop_list(shard, db, key, *end, 1);
            w.array(2);
            w.bulk(key);
            w.bulk(&v[0]);
        }
        Op::MPop(end, count) => {
            let v = pop_list(shard, db, key, *end, *count);
            list::popped_reply(&mut w, key, &v);
        }
        Op::Move { from, dst, to } => {
            let (now, cfg) = (shard.now_ms(), shard.limits.list);
            match list::op_lmove_same_shard(&mut shard.dbs[db], key, dst, *from, *to, &cfg, now) {
                Ok(Some(v)) => w.bulk(&v),
                Ok(None) => w.null(),
                Err(e) => w.error(e.message()),
            }
        }
        Op::ZPop { max, count } => {
            let now = shard.now_ms();
            let n = count.unwrap_or(1);
            let v = zset::op_zpop(&mut shard.dbs[db], key, n, *max, now)
                .ok()
                .flatten()
                .unwrap_or_default();
            match count {
                Some(_) => zset::zmpop_reply(&mut w, key, &v),
                None => {
                    w.array(3);
                    w.bulk(key);
                    w.bulk(&v[0].0);
                    w.double(v[0].1);
                }
            }
        }
    }
    w.buf.to_vec()
}

/// One atomic attempt over keys on several shards: a checking hop, then a concluding hop that
/// serves or registers.
async fn attempt_multi(
    c: &mut Conn,
    keys: &[Bytes],
    op: &Op,
    waiter: &Arc<Blocked>,
) -> Result<Attempt, darter_engine::Panicked> {
    let db = c.state.db;
    let n = c.engine().num_shards();
    let proto = c.out.proto;
    let mut all: Vec<(usize, Bytes)> = keys.iter().cloned().enumerate().collect();
    if let Op::Move { dst, .. } = op {
        all.push((keys.len(), dst.clone()));
    }
    let groups = KeyGroups::new(n, db, all, true);
    let mut tx = groups.schedule(c).await;
    // Hop 1: every key's state.
    type States = Vec<(usize, KeyState)>;
    let jobs: Vec<Option<HopFn<States>>> = groups
        .keys
        .iter()
        .map(|ks| {
            let (ks, op2) = (ks.clone(), op.clone());
            Some(Box::new(move |s: &mut Shard| {
                let now = s.now_ms();
                ks.iter()
                    .map(|(i, k)| (*i, key_state(&mut s.dbs[db], k, &op2, now)))
                    .collect()
            }) as HopFn<_>)
        })
        .collect();
    let mut states = vec![KeyState::Missing; keys.len() + 1];
    for r in tx.hop(jobs, false).await.into_iter().flatten() {
        for (i, st) in r? {
            states[i] = st;
        }
    }
    let first = (0..keys.len()).find(|&i| states[i] != KeyState::Missing);
    let pos = |k: &[u8]| {
        groups
            .index_of(shard_of(k, n))
            .expect("every key's shard is in the transaction")
    };
    let none = |groups: &KeyGroups| -> Vec<Option<HopFn<Vec<u8>>>> {
        groups.shards.iter().map(|_| None).collect()
    };
    match first {
        Some(i) if states[i] == KeyState::Other => {
            tx.hop(none(&groups), true).await;
            Ok(Attempt::Done(error_bytes(proto, errors::WRONGTYPE)))
        }
        Some(i) => {
            let key = keys[i].clone();
            match op {
                Op::Move { dst, from, to } if pos(dst) != pos(&key) => {
                    if states[keys.len()] == KeyState::Other {
                        tx.hop(none(&groups), true).await;
                        return Ok(Attempt::Done(error_bytes(proto, errors::WRONGTYPE)));
                    }
                    let (from, to, dst) = (*from, *to, dst.clone());
                    let mut jobs = none(&groups);
                    let src_pos = pos(&key);
                    jobs[src_pos] = Some(Box::new(move |s: &mut Shard| {
                        pop_list(s, db, &key, from, 1).pop().unwrap_or_default()
                    }));
                    let mut out = tx.hop(jobs, false).await;
                    let v = out[pos(&keys[i])].take().expect("had a job")?;
                    let mut jobs = none(&groups);
                    let v2 = v.clone();
                    let dst_pos = pos(&dst);
                    jobs[dst_pos] = Some(Box::new(move |s: &mut Shard| {
                        push_list(s, db, &dst, to, &v2);
                        Vec::new()
                    }));
                    for r in tx.hop(jobs, true).await.into_iter().flatten() {
                        r?;
                    }
                    let mut w = ReplyWriter::new(proto);
                    w.bulk(&v);
                    Ok(Attempt::Done(w.buf.to_vec()))
                }
                _ => {
                    let op = op.clone();
                    let mut jobs = none(&groups);
                    let at = pos(&key);
                    jobs[at] = Some(Box::new(move |s: &mut Shard| {
                        serve_now(s, db, &key, &op, proto)
                    }));
                    let mut out = tx.hop(jobs, true).await;
                    let reply = out[pos(&keys[i])].take().expect("had a job")?;
                    Ok(Attempt::Done(reply))
                }
            }
        }
        None => {
            let jobs: Vec<Option<HopFn<Vec<u8>>>> = groups
                .keys
                .iter()
                .map(|ks| {
                    let ks: Vec<Bytes> = ks
                        .iter()
                        .filter(|(i, _)| *i < keys.len())
                        .map(|(_, k)| k.clone())
                        .collect();
                    let w = waiter.clone();
                    Some(Box::new(move |s: &mut Shard| {
                        for k in &ks {
                            s.block_on(db, k, w.clone());
                        }
                        Vec::new()
                    }) as HopFn<_>)
                })
                .collect();
            for r in tx.hop(jobs, true).await.into_iter().flatten() {
                r?;
            }
            Ok(Attempt::Blocked)
        }
    }
}

/// Removes waiter `id` from every shard holding one of `keys` (fire and forget).
fn unregister(c: &Conn, keys: &[Bytes], id: u64) {
    let n = c.engine().num_shards();
    let db = c.state.db;
    let mut by_shard: Vec<Vec<Vec<u8>>> = vec![Vec::new(); n];
    for k in keys {
        by_shard[shard_of(k, n)].push(k.to_vec());
    }
    for (sid, ks) in by_shard.into_iter().enumerate() {
        if ks.is_empty() {
            continue;
        }
        if c.engine().is_local(sid) {
            darter_engine::with_local_shard(|s| s.unblock(db, &ks, id));
        } else {
            c.engine().send(
                sid,
                Box::new(move || darter_engine::with_local_shard(|s| s.unblock(db, &ks, id))),
            );
        }
    }
}

/// Why the wait ended without a shard serving it.
enum Woken {
    Timeout,
    UnblockedTimeout,
    UnblockedError,
    Gone,
}

/// The whole blocking command: attempt, block, wait, retry when told to.
async fn block(c: &mut Conn, keys: Vec<Bytes>, op: Op, timeout_ms: u64) {
    let n = c.engine().num_shards();
    let db = c.state.db;
    let proto = c.out.proto;
    let deadline =
        (timeout_ms > 0).then(|| tokio::time::Instant::now() + Duration::from_millis(timeout_ms));
    let mut locks_by_shard: Vec<(usize, Vec<LockReq>)> = Vec::new();
    let mut all: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
    if let Op::Move { dst, .. } = &op {
        all.push(dst);
    }
    for k in &all {
        let kh = key_hash(k, n);
        let lock = LockReq {
            fp: key_fp(kh.full, db),
            exclusive: true,
        };
        match locks_by_shard.iter_mut().find(|(s, _)| *s == kh.shard) {
            Some((_, l)) => l.push(lock),
            None => locks_by_shard.push((kh.shard, vec![lock])),
        }
    }
    loop {
        let (tx, rx) = oneshot::channel();
        let waiter = Arc::new(Blocked {
            id: NEXT_WAITER.fetch_add(1, Ordering::Relaxed),
            claimed: AtomicBool::new(false),
            op: op.clone(),
            proto,
            shards: n,
            out: Mutex::new(Some(tx)),
        });
        let attempt = if locks_by_shard.len() == 1 {
            let (sid, locks) = locks_by_shard[0].clone();
            let (keys2, op2, w2) = (keys.clone(), op.clone(), waiter.clone());
            c.engine()
                .clone()
                .run_on(sid, &locks, move |s| {
                    attempt_local(s, db, &keys2, &op2, proto, &w2)
                })
                .await
        } else {
            attempt_multi(c, &keys, &op, &waiter).await
        };
        match attempt {
            Err(p) => return panic_reply(c, &p),
            Ok(Attempt::Done(reply)) => return c.out.raw(&reply),
            Ok(Attempt::Blocked) => {}
        }
        // Inside EXEC a blocking command never blocks: it answers as if timed out at once.
        if darter_engine::in_held() && waiter.claim() {
            unregister(c, &keys, waiter.id);
            return op.no_block_reply(&mut c.out);
        }
        let info = c.state.info.clone();
        let mut rx = rx;
        info.begin_block(deadline.is_some());
        let woken = wait(&info, &mut rx, deadline).await;
        info.end_block();
        let outcome = match woken {
            Ok(o) => o,
            Err(why) => {
                if waiter.claim() {
                    unregister(c, &keys, waiter.id);
                    match why {
                        Woken::Timeout | Woken::UnblockedTimeout => op.timeout_reply(&mut c.out),
                        Woken::UnblockedError => c.out.error(UNBLOCKED),
                        // The client went away: like Redis freeing it, run nothing it
                        // pipelined after this command.
                        Woken::Gone => c.state.close_after_reply = true,
                    }
                    return;
                }
                // A shard claimed it first; it serves in the same turn as its claim, so the
                // outcome is on its way (the receiver was kept for exactly this).
                match rx.await {
                    Ok(o) => o,
                    Err(_) => return,
                }
            }
        };
        unregister(c, &keys, waiter.id);
        match outcome {
            Outcome::Reply(bytes) => return c.out.raw(&bytes),
            Outcome::Retry => continue,
        }
    }
}

/// Waits for a shard's outcome, the deadline, CLIENT UNBLOCK or the connection closing.
async fn wait(
    info: &crate::clients::ClientInfo,
    rx: &mut oneshot::Receiver<Outcome>,
    deadline: Option<tokio::time::Instant>,
) -> Result<Outcome, Woken> {
    let sleep = async {
        match deadline {
            Some(d) => tokio::time::sleep_until(d).await,
            None => std::future::pending().await,
        }
    };
    let closed = info.peer_closed();
    tokio::select! {
        r = rx => r.map_err(|_| Woken::Gone),
        _ = sleep => Err(Woken::Timeout),
        _ = closed => Err(Woken::Gone),
        error = info.unblocked() => Err(if error { Woken::UnblockedError } else { Woken::UnblockedTimeout }),
    }
}

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

/// `key [key ...] timeout` (BLPOP BRPOP BZPOPMIN BZPOPMAX).
fn pop_command(c: &mut Conn, args: Vec<Bytes>, op: Op) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        let timeout = match parse_timeout(&args[args.len() - 1]) {
            Ok(t) => t,
            Err(e) => return c.out.error(e),
        };
        let keys = args[1..args.len() - 1].to_vec();
        block(c, keys, op, timeout).await
    })
}

/// `timeout numkeys key [key ...] <end> [COUNT count]` (BLMPOP BZMPOP): Redis parses the keys
/// and options first, the timeout last.
fn mpop_command(
    c: &mut Conn,
    args: Vec<Bytes>,
    parse: fn(&[Bytes], usize) -> Result<list::MpopArgs, &'static str>,
    op: fn(&list::MpopArgs) -> Op,
) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        let p = match parse(&args, 2) {
            Ok(p) => p,
            Err(e) => return c.out.error(e),
        };
        let timeout = match parse_timeout(&args[1]) {
            Ok(t) => t,
            Err(e) => return c.out.error(e),
        };
        let keys = args[p.keys.clone()].to_vec();
        block(c, keys, op(&p), timeout).await
    })
}

/// BLPOP key [key ...] timeout
fn cmd_blpop(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    pop_command(c, args, Op::Pop(End::Front))
}

/// BRPOP key [key ...] timeout
fn cmd_brpop(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    pop_command(c, args, Op::Pop(End::Back))
}

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]
fn cmd_blmpop(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    mpop_command(c, args, list::parse_mpop_args, |p| Op::MPop(p.end, p.count))
}

/// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout
fn cmd_blmove(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        let (from, to) = match (list::parse_end(&args[3]), list::parse_end(&args[4])) {
            (Ok(f), Ok(t)) => (f, t),
            (Err(e), _) | (_, Err(e)) => return c.out.error(e),
        };
        let timeout = match parse_timeout(&args[5]) {
            Ok(t) => t,
            Err(e) => return c.out.error(e),
        };
        let op = Op::Move {
            from,
            dst: args[2].clone(),
            to,
        };
        block(c, vec![args[1].clone()], op, timeout).await
    })
}

/// BRPOPLPUSH source destination timeout
fn cmd_brpoplpush(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        let timeout = match parse_timeout(&args[3]) {
            Ok(t) => t,
            Err(e) => return c.out.error(e),
        };
        let op = Op::Move {
            from: End::Back,
            dst: args[2].clone(),
            to: End::Front,
        };
        block(c, vec![args[1].clone()], op, timeout).await
    })
}

/// BZPOPMIN key [key ...] timeout
fn cmd_bzpopmin(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    let op = Op::ZPop {
        max: false,
        count: None,
    };
    pop_command(c, args, op)
}

/// BZPOPMAX key [key ...] timeout
fn cmd_bzpopmax(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    let op = Op::ZPop {
        max: true,
        count: None,
    };
    pop_command(c, args, op)
}

/// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]
fn cmd_bzmpop(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    mpop_command(c, args, zset::parse_zmpop_args, |p| Op::ZPop {
        max: p.end == End::Back,
        count: Some(p.count),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_parse_as_redis() {
        assert_eq!(parse_timeout(b"0"), Ok(0));
        assert_eq!(parse_timeout(b"1"), Ok(1000));
        assert_eq!(parse_timeout(b"0.0001"), Ok(1));
        assert_eq!(parse_timeout(b"1.5"), Ok(1500));
        assert_eq!(parse_timeout(b"-0.0001"), Ok(0));
        assert_eq!(parse_timeout(b"-1"), Err(TIMEOUT_NEGATIVE));
        assert_eq!(parse_timeout(b"abc"), Err(TIMEOUT_NOT_FLOAT));
        assert_eq!(parse_timeout(b"1e300"), Err(TIMEOUT_OUT_OF_RANGE));
    }
}
