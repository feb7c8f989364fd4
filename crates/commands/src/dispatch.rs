//! Command dispatch: the coordinator side of every command a connection sends.
//!
//! For each command of a batch (everything parsed from one read), in order:
//! 1. look it up, check arity, authentication and maxmemory (Redis's order and error strings);
//! 2. find its keys and the shards that own them;
//! 3. run it: keyless and cross-shard commands run their coordinator handler here; a command whose
//!    keys all live in one shard runs its shard handler inline when that shard is this thread's
//!    and its locks are free, and otherwise as a hop. Consecutive commands for the same remote
//!    shard travel in one hop (squashing). Replies are appended to `Conn::out` in command order and
//!    the caller writes them in one write.
//!
//! Between MULTI and EXEC, step 3 is replaced by queueing (families/transaction.rs); EXEC runs the
//! queue through `crate::exec`, which reuses `prepare` and `exec_shard_fn`.
//!
//! A panic inside a command is contained and becomes an error reply for that command alone.

use crate::context::{Conn, ReplyMode, ShardCmd};
use crate::errors;
use crate::families::{memory, pubsub, tracking, transaction};
use crate::registry::{for_each_key, registry, CoordFn, Handler, ShardFn, Spec};
use crate::stats;
use bytes::Bytes;
use darter_engine::keys::{key_fp, key_hash};
use darter_engine::tx::contain;
use darter_engine::{with_local_shard, LockReq, Shard, ShardId};
use darter_resp::{Protocol, ReplyWriter};
use std::time::Instant;
use tokio::sync::oneshot;

/// Intent locks of one command, inline for the common few-key case.
#[derive(Clone)]
pub struct Locks {
    n: usize,
    inline: [LockReq; 3],
    heap: Vec<LockReq>,
}

impl Locks {
    fn new() -> Locks {
        Locks {
            n: 0,
            inline: [LockReq {
                fp: 0,
                exclusive: false,
            }; 3],
            heap: Vec::new(),
        }
    }

    fn push(&mut self, l: LockReq) {
        if self.n < self.inline.len() {
            self.inline[self.n] = l;
        } else {
            if self.heap.is_empty() {
                self.heap.extend_from_slice(&self.inline);
            }
            self.heap.push(l);
        }
        self.n += 1;
    }

    #[inline]
    pub fn as_slice(&self) -> &[LockReq] {
        if self.n <= self.inline.len() {
            &self.inline[..self.n]
        } else {
            &self.heap
        }
    }
}

/// The spec a plan is for, when known (a rejected unknown command has none).
impl Plan {
    pub(crate) fn spec(&self) -> Option<&'static Spec> {
        match self {
            Plan::Reject { spec, .. } => spec.map(|(id, _)| &registry().specs[id]),
            Plan::Shard { spec, .. } | Plan::Coord { spec, .. } => Some(spec),
        }
    }
}

/// What to do with one command.
pub(crate) enum Plan {
    /// An error reply (already decided before execution).
    Reject {
        msg: Vec<u8>,
        spec: Option<(usize, Option<&'static str>)>,
    },
    Shard {
        spec: &'static Spec,
        sub: Option<&'static str>,
        f: ShardFn,
        sid: ShardId,
        locks: Locks,
    },
    Coord {
        spec: &'static Spec,
        sub: Option<&'static str>,
        f: CoordFn,
    },
}

/// SHUTDOWN NOSAVE, which runs even while a script is busy (Redis checks only the first letter
/// of the argument).
fn is_shutdown_nosave(name: &str, args: &[Bytes]) -> bool {
    name == "shutdown"
        && args.len() == 2
        && args[1]
            .first()
            .is_some_and(|b| b.eq_ignore_ascii_case(&b'n'))
}

pub(crate) fn prepare(conn: &Conn, args: &[Bytes]) -> Plan {
    plan(conn, args, false)
}

/// `prepare` for a command EXEC runs from its queue: the checks Redis makes only when a command
/// arrives (maxmemory, subscribed context) were made when it was queued.
pub(crate) fn prepare_queued(conn: &Conn, args: &[Bytes]) -> Plan {
    plan(conn, args, true)
}

fn plan(conn: &Conn, args: &[Bytes], queued: bool) -> Plan {
    let reg = registry();
    let Some(spec) = reg.find(&args[0]) else {
        return Plan::Reject {
            msg: errors::unknown_command(&args[0], &args[1..]),
            spec: None,
        };
    };
    let mut meta = spec.meta;
    let mut sub = None;
    if spec.is_container() {
        // Redis checks the container's own arity first (-2 for most; COMMAND alone is -1 and runs
        // its handler with no subcommand), then the subcommand.
        if args.len() < 2 {
            if meta.arity == -1 {
                if let Handler::Conn(f) = spec.handler {
                    if !conn.state.authenticated && !meta.has_flag("no_auth") {
                        return Plan::Reject {
                            msg: errors::NOAUTH.as_bytes().to_vec(),
                            spec: Some((spec.id, None)),
                        };
                    }
                    return Plan::Coord { spec, sub: None, f };
                }
            }
            return Plan::Reject {
                msg: errors::wrong_args(meta.name).into_bytes(),
                spec: Some((spec.id, None)),
            };
        }
        match spec.sub(&args[1]) {
            Some(m) => {
                meta = m;
                sub = Some(m.name);
            }
            None => {
                return Plan::Reject {
                    msg: errors::unknown_subcommand(&args[1], meta.name),
                    spec: None,
                }
            }
        }
    }
    let n = args.len() as i32;
    if (meta.arity > 0 && n != meta.arity) || (meta.arity < 0 && n < -meta.arity) {
        return Plan::Reject {
            msg: errors::wrong_args(meta.name).into_bytes(),
            spec: Some((spec.id, sub)),
        };
    }
    if !conn.state.authenticated && !meta.has_flag("no_auth") {
        return Plan::Reject {
            msg: errors::NOAUTH.as_bytes().to_vec(),
            spec: Some((spec.id, sub)),
        };
    }
    // Past maxmemory, commands that may grow memory are refused (Redis checks after auth and
    // before running). Cheap when under the limit: two relaxed loads (docs/design/memory.md).
    if !queued && memory::over_maxmemory(&conn.server.config) && meta.has_flag("denyoom") {
        return Plan::Reject {
            msg: errors::OOM.as_bytes().to_vec(),
            spec: Some((spec.id, sub)),
        };
    }
    // A RESP2 client in subscribed mode may only (un)subscribe, PING, QUIT or RESET (Redis checks
    // this after the OOM check).
    if !queued
        && conn.state.info.pubsub.active()
        && conn.out.proto == Protocol::Resp2
        && !pubsub::allowed_in_subscribed_context(spec.meta.name)
    {
        return Plan::Reject {
            msg: errors::subscribed_context(meta.name).into_bytes(),
            spec: Some((spec.id, sub)),
        };
    }
    // While a script runs past `busy-reply-threshold`, only `allow-busy` commands run (Redis
    // checks this after the subscribed-context check). Commands of a script or of an EXEC in
    // progress are not refused: they were checked when EXEC / the script started.
    if !queued
        && crate::families::scripting::state::any_busy()
        && !meta.has_flag("allow_busy")
        && !spec.meta.has_flag("allow_busy")
        && !is_shutdown_nosave(meta.name, args)
    {
        if let Some(e) = crate::families::scripting::busy_error() {
            return Plan::Reject {
                msg: e.as_bytes().to_vec(),
                spec: Some((spec.id, sub)),
            };
        }
    }
    let (shard_fn, coord_fn) = match spec.handler {
        Handler::Conn(f) => return Plan::Coord { spec, sub, f },
        Handler::Shard(f) => (Some(f), None),
        Handler::Multi { shard, coord } => (shard, Some(coord)),
    };
    let engine = conn.engine();
    let shards = engine.num_shards();
    let db = conn.state.db;
    let mut sid = None;
    let mut single = true;
    let mut locks = Locks::new();
    for_each_key(meta, args, |p| {
        let kh = key_hash(&args[p], shards);
        match sid {
            None => sid = Some(kh.shard),
            Some(s) if s != kh.shard => single = false,
            _ => {}
        }
        locks.push(LockReq {
            fp: key_fp(kh.full, db),
            exclusive: spec.write,
        });
    });
    match (single, sid, shard_fn, coord_fn) {
        (true, Some(sid), Some(f), _) => Plan::Shard {
            spec,
            sub,
            f,
            sid,
            locks,
        },
        (_, _, _, Some(f)) => Plan::Coord { spec, sub, f },
        // A shard-only command with no keys found (cannot happen for valid arity) runs on shard 0.
        (_, _, Some(f), None) => Plan::Shard {
            spec,
            sub,
            f,
            sid: sid.unwrap_or(0),
            locks,
        },
        (_, _, None, None) => unreachable!("a handler has a shard or a coordinator function"),
    }
}

/// Runs a shard handler on the shard we are on, recording statistics here. `started` is when the
/// command began (the previous command's end, so each command costs one clock read); returns when
/// it ended. `now_ms` is the wall-clock time expiry decisions use, read once per batch.
#[allow(clippy::too_many_arguments)]
pub(crate) fn exec_shard_fn(
    shard: &mut Shard,
    f: ShardFn,
    id: usize,
    sub: Option<&'static str>,
    db: usize,
    args: &[Bytes],
    w: &mut ReplyWriter,
    started: Instant,
    now_ms: u64,
) -> Instant {
    let start = w.len();
    // A tracking client's read-only command remembers its keys for invalidation (families/
    // tracking); the decision also consumes CLIENT CACHING's one-command mode.
    let reader = if darter_engine::tracking::active() {
        darter_engine::tracking::take_read(tracking::tracks_reads(&registry().specs[id], sub))
    } else {
        None
    };
    let watching = !shard.cas.is_empty() || shard.track.active();
    if watching {
        // A read-only command's lookups of watched keys need no snapshot.
        shard.dbs[db].cas_read_only(!registry().specs[id].write);
    }
    let misses = crate::notify::reports_misses(&shard.events, id, args);
    shard.dbs[db].report_misses = misses;
    let r = contain(|| {
        let mut sc = ShardCmd {
            shard,
            db,
            args,
            now_ms,
        };
        f(&mut sc, w)
    });
    shard.dbs[db].report_misses = false;
    if let Some(reader) = reader {
        tracking::remember(shard, reader, id, sub, db, args);
    }
    if watching {
        shard.dbs[db].cas_read_only(false);
        if r.is_ok() {
            transaction::signal_unconditional(shard, id, db, args, &w.buf[start..]);
        }
    }
    // The command is complete: serve clients blocked on keys it wrote (and tell watchers).
    shard.drain_ready();
    if let Err(p) = r {
        w.buf.truncate(start);
        w.error(&format!("ERR internal error in command: {}", p.0));
    }
    let failed = w.buf.get(start) == Some(&b'-');
    if failed {
        stats::record_error(&w.buf[start..]);
    }
    let ended = Instant::now();
    stats::record_call(
        id,
        sub,
        ended.duration_since(started).as_micros() as u64,
        failed,
    );
    ended
}

/// Executes every command of `batch` in order, appending replies to `conn.out`.
///
/// While a tracking client's batch is polled, shard code (inline, or in the hops it sends) knows
/// the client (`darter_engine::tracking::Ctx`; families/tracking).
pub async fn execute_batch(conn: &mut Conn, batch: Vec<Vec<Bytes>>) {
    let info = conn.state.info.clone();
    let mut fut = std::pin::pin!(run_batch(conn, batch));
    std::future::poll_fn(|cx| {
        let _g = darter_engine::tracking::enter(tracking::ctx_for(&info, info.db.get()));
        std::future::Future::poll(fut.as_mut(), cx)
    })
    .await
}

async fn run_batch(conn: &mut Conn, batch: Vec<Vec<Bytes>>) {
    // The connection stamped `last_interaction` right after the read that produced this batch.
    let mut clock = conn.state.info.last_interaction.get();
    let mut now_ms = conn.engine().clock.now_ms();
    let mut iter = batch.into_iter().peekable();
    let mut carried: Option<(Vec<Bytes>, Plan)> = None;
    loop {
        if conn.state.close_after_reply || conn.state.info.killed.get() {
            return;
        }
        let (args, plan) = match carried.take() {
            Some(x) => x,
            None => match iter.next() {
                Some(args) => {
                    let plan = prepare(conn, &args);
                    (args, plan)
                }
                None => return,
            },
        };
        let start = conn.out.len();
        // (Un)subscribe confirmations are pushes: CLIENT REPLY OFF/SKIP does not hide them.
        let mut pushes = false;
        if conn.state.reply_mode == ReplyMode::SkipNext {
            conn.state.reply_mode = ReplyMode::Skipping;
        }
        if transaction::queue_or_abort(conn, &args, &plan) {
            apply_reply_mode(conn, start, false);
            continue;
        }
        let name = plan.spec().map_or("", |s| s.meta.name);
        match plan {
            Plan::Reject { msg, spec } => {
                conn.out.error_bytes(&msg);
                stats::record_error(&msg);
                if let Some((id, sub)) = spec {
                    stats::record_rejected(id, sub);
                }
            }
            Plan::Coord { spec, .. }
                if conn.state.reply_mode == ReplyMode::On
                    && pubsub::is_publish(spec.meta.name).is_some() =>
            {
                // A pipelined run of PUBLISH/SPUBLISH is delivered together: one hop per
                // subscriber thread for the whole run, messages still in order.
                let t0 = clock;
                let mut group = vec![(spec, args)];
                while let Some(next) = iter.peek() {
                    let plan = prepare(conn, next);
                    let args = iter.next().expect("peeked");
                    match plan {
                        Plan::Coord { spec: s2, .. }
                            if pubsub::is_publish(s2.meta.name).is_some() && group.len() < 1024 =>
                        {
                            group.push((s2, args))
                        }
                        other => {
                            carried = Some((args, other));
                            break;
                        }
                    }
                }
                let items = group
                    .iter()
                    .map(|(s, a)| pubsub::Publish {
                        kind: pubsub::is_publish(s.meta.name).expect("a publish"),
                        channel: a[1].clone(),
                        message: a[2].clone(),
                    })
                    .collect();
                let counts = pubsub::publish_many(conn, items).await;
                clock = Instant::now();
                now_ms = conn.engine().clock.now_ms();
                let each = clock.duration_since(t0).as_micros() as u64 / group.len() as u64;
                for ((s, _), n) in group.iter().zip(counts) {
                    conn.state.info.last_cmd.set(s.meta.name);
                    conn.out.int(n as i64);
                    stats::record_call(s.id, None, each, false);
                }
            }
            Plan::Coord { spec, sub, f } => {
                pushes = pubsub::replies_are_pushes(spec.meta.name);
                conn.state.info.last_cmd.set(sub.unwrap_or(spec.meta.name));
                let t0 = clock;
                let keyed = tracking::before_coord(conn, spec, sub, &args);
                let r = (CatchPanic {
                    inner: f(conn, args),
                })
                .await;
                if keyed {
                    tracking::after_coord(conn);
                }
                if let Err(p) = r {
                    conn.out.buf.truncate(start);
                    conn.out
                        .error(&format!("ERR internal error in command: {p}"));
                }
                let failed = conn.out.buf.get(start) == Some(&b'-');
                if failed {
                    stats::record_error(&conn.out.buf[start..]);
                }
                clock = Instant::now();
                now_ms = conn.engine().clock.now_ms();
                stats::record_call(
                    spec.id,
                    sub,
                    clock.duration_since(t0).as_micros() as u64,
                    failed,
                );
            }
            Plan::Shard {
                spec,
                sub,
                f,
                sid,
                locks,
            } => {
                conn.state.info.last_cmd.set(sub.unwrap_or(spec.meta.name));
                let db = conn.state.db;
                if conn.engine().is_local(sid) {
                    let out = &mut conn.out;
                    let ran = with_local_shard(|s| {
                        if s.locks_free(locks.as_slice()) {
                            Some(exec_shard_fn(
                                s, f, spec.id, sub, db, &args, out, clock, now_ms,
                            ))
                        } else {
                            None
                        }
                    });
                    match ran {
                        Some(ended) => clock = ended,
                        None => {
                            run_remote_one(conn, spec, sub, f, sid, locks, args).await;
                            clock = Instant::now();
                            now_ms = conn.engine().clock.now_ms();
                        }
                    }
                } else if conn.state.reply_mode == ReplyMode::On {
                    // Squash the following commands bound for the same shard into one hop.
                    let mut group = vec![SquashItem {
                        f,
                        id: spec.id,
                        sub,
                        args,
                        locks,
                    }];
                    while let Some(next) = iter.peek() {
                        let plan = prepare(conn, next);
                        let args = iter.next().expect("peeked");
                        match plan {
                            Plan::Shard {
                                spec: s2,
                                sub: sub2,
                                f: f2,
                                sid: sid2,
                                locks: l2,
                            } if sid2 == sid && group.len() < 128 => group.push(SquashItem {
                                f: f2,
                                id: s2.id,
                                sub: sub2,
                                args,
                                locks: l2,
                            }),
                            other => {
                                carried = Some((args, other));
                                break;
                            }
                        }
                    }
                    if group.len() == 1 {
                        let it = group.pop().expect("one");
                        run_remote_one(conn, spec, it.sub, it.f, sid, it.locks, it.args).await;
                    } else {
                        run_squashed(conn, sid, group).await;
                    }
                    clock = Instant::now();
                    now_ms = conn.engine().clock.now_ms();
                } else {
                    run_remote_one(conn, spec, sub, f, sid, locks, args).await;
                    clock = Instant::now();
                    now_ms = conn.engine().clock.now_ms();
                }
            }
        }
        tracking::after_command(conn, name);
        apply_reply_mode(conn, start, pushes);
    }
}

/// CLIENT REPLY OFF/SKIP: drops the reply a command wrote from `start` (pushes excepted).
fn apply_reply_mode(conn: &mut Conn, start: usize, pushes: bool) {
    match conn.state.reply_mode {
        ReplyMode::On => {}
        ReplyMode::Off | ReplyMode::SkipNext if pushes => {}
        ReplyMode::Off | ReplyMode::SkipNext => conn.out.buf.truncate(start),
        ReplyMode::Skipping => {
            if !pushes {
                conn.out.buf.truncate(start);
            }
            conn.state.reply_mode = ReplyMode::On;
        }
    }
}

/// Polls a coordinator future, turning a panic into `Err(message)` so that one command's bug
/// becomes that command's error reply instead of ending the connection.
pub(crate) struct CatchPanic<F> {
    pub(crate) inner: F,
}

impl<F: std::future::Future<Output = ()> + Unpin> std::future::Future for CatchPanic<F> {
    type Output = Result<(), String>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let inner = &mut self.inner;
        match contain(|| std::pin::Pin::new(inner).poll(cx)) {
            Ok(std::task::Poll::Ready(())) => std::task::Poll::Ready(Ok(())),
            Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
            Err(p) => std::task::Poll::Ready(Err(p.0)),
        }
    }
}

struct SquashItem {
    f: ShardFn,
    id: usize,
    sub: Option<&'static str>,
    args: Vec<Bytes>,
    locks: Locks,
}

/// One command on a (remote or contended) shard, waiting in its queue if needed.
async fn run_remote_one(
    conn: &mut Conn,
    spec: &'static Spec,
    sub: Option<&'static str>,
    f: ShardFn,
    sid: ShardId,
    locks: Locks,
    args: Vec<Bytes>,
) {
    let proto = conn.out.proto;
    let db = conn.state.db;
    let id = spec.id;
    let r = conn
        .engine()
        .clone()
        .run_on(sid, locks.as_slice(), move |s| {
            let mut w = ReplyWriter::new(proto);
            let now_ms = s.now_ms();
            exec_shard_fn(s, f, id, sub, db, &args, &mut w, Instant::now(), now_ms);
            w.buf
        })
        .await;
    match r {
        Ok(buf) => conn.out.raw(&buf),
        Err(p) => conn
            .out
            .error(&format!("ERR internal error in command: {}", p.0)),
    }
}

/// Several consecutive commands for one remote shard in a single hop. Commands run in order
/// while their locks are free; the rest (from the first contended one) run one by one after.
async fn run_squashed(conn: &mut Conn, sid: ShardId, group: Vec<SquashItem>) {
    let proto: Protocol = conn.out.proto;
    let db = conn.state.db;
    let (tx, rx) = oneshot::channel();
    conn.engine().send(
        sid,
        Box::new(move || {
            let mut w = ReplyWriter::new(proto);
            let mut rest = Vec::new();
            with_local_shard(|s| {
                s.stats.remote_hops += 1;
                let now_ms = s.now_ms();
                let mut clock = Instant::now();
                let mut it = group.into_iter();
                for item in it.by_ref() {
                    if !s.locks_free(item.locks.as_slice()) {
                        rest.push(item);
                        break;
                    }
                    clock = exec_shard_fn(
                        s, item.f, item.id, item.sub, db, &item.args, &mut w, clock, now_ms,
                    );
                }
                rest.extend(it);
            });
            let _ = tx.send((w.buf, rest));
        }),
    );
    let Ok((buf, rest)) = rx.await else {
        conn.out
            .error("ERR internal error in command: shard thread stopped");
        return;
    };
    conn.out.raw(&buf);
    for item in rest {
        let spec = &registry().specs[item.id];
        run_remote_one(conn, spec, item.sub, item.f, sid, item.locks, item.args).await;
    }
}

#[cfg(test)]
mod tests {
    use super::CatchPanic;

    #[test]
    fn a_panicking_coordinator_future_becomes_an_error() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let r = rt.block_on(CatchPanic {
            inner: Box::pin(async { panic!("bug in a command") }),
        });
        assert_eq!(r, Err("bug in a command".to_string()));
        let ok = rt.block_on(CatchPanic {
            inner: Box::pin(async {}),
        });
        assert_eq!(ok, Ok(()));
    }
}
