//! Transactions family: MULTI EXEC DISCARD WATCH UNWATCH (Redis 7.0 semantics).
//!
//! - MULTI starts queueing: dispatch hands every later command to `queue_or_abort`, which queues
//!   it (`+QUEUED`) or, when Redis would refuse it before queueing (unknown command, arity, auth,
//!   maxmemory, `no-multi`), replies the refusal and marks the transaction failed.
//! - EXEC runs the queue atomically through `crate::exec` (one transaction over every key, see
//!   docs/design/transactions.md), after checking the WATCHed keys inside that transaction.
//! - WATCH registers keys on their shards (`darter_engine::watch`); a shard flags the client's
//!   shared dirty flag when one of them changes. The client's `WatchSet` unregisters them on
//!   EXEC, DISCARD, UNWATCH, RESET and when the connection goes away (Drop).
//!
//! Must not: run queued commands itself (that is `crate::exec`), or touch shard data except
//! through WATCH's registry calls.

use crate::clients::ClientInfo;
use crate::context::Conn;
use crate::dispatch::Plan;
use crate::errors;
use crate::exec::{self, LockPlan};
use crate::families::memory;
use crate::multi::{conclude, hop_at};
use crate::registry::{Cmd, Handler, LocalBoxFuture};
use crate::stats;
use bytes::Bytes;
use darter_engine::keys::shard_of;
use darter_engine::tx::HopFn;
use darter_engine::{with_local_shard, Engine, Shard};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

pub static COMMANDS: &[Cmd] = &[
    Cmd::new("multi", Handler::Conn(cmd_multi)),
    Cmd::new("exec", Handler::Conn(cmd_exec)),
    Cmd::new("discard", Handler::Conn(cmd_discard)),
    Cmd::new("watch", Handler::Conn(cmd_watch)),
    Cmd::new("unwatch", Handler::Conn(cmd_unwatch)),
];

/// A connection between MULTI and EXEC/DISCARD.
#[derive(Debug, Default)]
pub struct MultiState {
    pub queued: Vec<Vec<Bytes>>,
    /// A command was refused at queue time: EXEC aborts (Redis's `CLIENT_DIRTY_EXEC`).
    pub failed: bool,
}

static NEXT_WATCH_SET: AtomicU64 = AtomicU64::new(1);

/// The keys a client WATCHes, each registered on its shard with the shared dirty flag.
pub struct WatchSet {
    engine: Arc<Engine>,
    info: Rc<ClientInfo>,
    owner: u64,
    flag: Arc<AtomicBool>,
    keys: Vec<(usize, Bytes)>,
}

impl WatchSet {
    fn new(engine: Arc<Engine>, info: Rc<ClientInfo>) -> WatchSet {
        let flag = Arc::new(AtomicBool::new(false));
        *info.watch_dirty.borrow_mut() = Some(flag.clone());
        WatchSet {
            engine,
            // Unique per set, not per client: a set's late unregistrations (sent when it is
            // dropped) must not remove the registrations of the client's next WATCH.
            owner: NEXT_WATCH_SET.fetch_add(1, Ordering::Relaxed),
            info,
            flag,
            keys: Vec::new(),
        }
    }

    /// True once a watched key was modified (Redis's `CLIENT_DIRTY_CAS`).
    pub fn dirty(&self) -> bool {
        self.flag.load(Ordering::Acquire)
    }
}

impl Drop for WatchSet {
    fn drop(&mut self) {
        *self.info.watch_dirty.borrow_mut() = None;
        // Unregister on every shard, without waiting (the registrations are only the flag's
        // route; a late unregister is harmless). Always through the inbox, never inline: a drop
        // may happen while this thread's shard is borrowed.
        let n = self.engine.num_shards();
        let mut by_shard: Vec<Vec<(usize, Bytes)>> = vec![Vec::new(); n];
        for (db, k) in self.keys.drain(..) {
            by_shard[shard_of(&k, n)].push((db, k));
        }
        let owner = self.owner;
        for (sid, keys) in by_shard.into_iter().enumerate() {
            if keys.is_empty() {
                continue;
            }
            self.engine.send(
                sid,
                Box::new(move || {
                    with_local_shard(|s| {
                        for (db, k) in &keys {
                            s.cas_unwatch(*db, k, owner);
                        }
                    })
                }),
            );
        }
    }
}

/// Dispatch's hook for every command: inside MULTI, queues it (or refuses it, failing the
/// transaction) and returns true; a refused EXEC aborts the transaction (also outside MULTI,
/// as Redis does). False: run the command as usual.
pub(crate) fn queue_or_abort(c: &mut Conn, args: &[Bytes], plan: &Plan) -> bool {
    let name = plan.spec().map(|s| s.meta.name);
    if let Plan::Reject { msg, spec } = plan {
        if name == Some("exec") {
            let msg = errors::execabort_because(msg);
            discard(c);
            c.out.error_bytes(&msg);
            stats::record_error(&msg);
            if let Some((id, sub)) = spec {
                stats::record_rejected(*id, *sub);
            }
            return true;
        }
        if let Some(m) = c.state.multi.as_mut() {
            m.failed = true;
        }
        return false;
    }
    let Some(spec) = plan.spec() else {
        return false;
    };
    let Some(m) = c.state.multi.as_mut() else {
        return false;
    };
    let name = spec.meta.name;
    if matches!(name, "exec" | "discard" | "quit" | "reset") {
        return false;
    }
    let refusal = if spec.meta.has_flag("no_multi") {
        Some(errors::NOT_IN_TRANSACTION)
    } else if memory::over_maxmemory(&c.server.config) {
        // Queueing may grow memory without bound: past maxmemory Redis refuses every command
        // but EXEC, DISCARD, QUIT and RESET (MULTI and WATCH included).
        Some(errors::OOM)
    } else {
        None
    };
    if refusal.is_none() && matches!(name, "multi" | "watch") {
        // Not queued: they answer their own error.
        return false;
    }
    if let Some(e) = refusal {
        m.failed = true;
        c.out.error(e);
        stats::record_error(e.as_bytes());
        stats::record_rejected(spec.id, None);
        return true;
    }
    m.queued.push(args.to_vec());
    let n = m.queued.len() as i64;
    c.state.info.multi.set(n);
    c.out.simple(b"QUEUED");
    true
}

/// Leaves MULTI (if in it) and drops every WATCH: Redis's `discardTransaction`. Also RESET's.
pub fn discard(c: &mut Conn) {
    c.state.multi = None;
    c.state.info.multi.set(-1);
    c.state.watch = None;
}

/// MULTI
fn cmd_multi(c: &mut Conn, _args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        if c.state.multi.is_some() {
            return c.out.error(errors::MULTI_NESTED);
        }
        c.state.multi = Some(MultiState::default());
        c.state.info.multi.set(0);
        c.out.ok();
    })
}

/// DISCARD
fn cmd_discard(c: &mut Conn, _args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        if c.state.multi.is_none() {
            return c.out.error(errors::DISCARD_WITHOUT_MULTI);
        }
        discard(c);
        c.out.ok();
    })
}

/// WATCH key [key ...]
fn cmd_watch(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        if c.state.multi.is_some() {
            return c.out.error(errors::WATCH_INSIDE_MULTI);
        }
        let engine = c.engine().clone();
        let db = c.state.db;
        let info = c.state.info.clone();
        let set = c
            .state
            .watch
            .get_or_insert_with(|| WatchSet::new(engine.clone(), info));
        let owner = set.owner;
        let n = engine.num_shards();
        let mut by_shard: Vec<Vec<Bytes>> = vec![Vec::new(); n];
        for k in &args[1..] {
            if set.keys.iter().any(|(d, w)| *d == db && w == k) {
                continue;
            }
            set.keys.push((db, k.clone()));
            by_shard[shard_of(k, n)].push(k.clone());
        }
        let flag = set.flag.clone();
        for (sid, keys) in by_shard.into_iter().enumerate() {
            if keys.is_empty() {
                continue;
            }
            let flag = flag.clone();
            let r = engine
                .run_on(sid, &[], move |s| {
                    for k in &keys {
                        s.cas_watch(db, k, owner, &flag);
                    }
                })
                .await;
            if let Err(p) = r {
                return crate::multi::panic_reply(c, &p);
            }
        }
        c.out.ok();
    })
}

/// UNWATCH
fn cmd_unwatch(c: &mut Conn, _args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        c.state.watch = None;
        c.out.ok();
    })
}

/// EXEC
fn cmd_exec(c: &mut Conn, _args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        let Some(m) = c.state.multi.take() else {
            return c.out.error(errors::EXEC_WITHOUT_MULTI);
        };
        c.state.info.multi.set(-1);
        let watch = c.state.watch.take();
        if m.failed {
            return c.out.error(errors::EXECABORT);
        }
        if memory::over_maxmemory(&c.server.config) && m.queued.iter().any(|a| denyoom(a)) {
            return c
                .out
                .error_bytes(&errors::execabort_because(errors::OOM.as_bytes()));
        }
        let db = c.state.db;
        let engine = c.engine().clone();
        let n = engine.num_shards();
        let watched: Vec<(usize, Bytes)> =
            watch.as_ref().map(|w| w.keys.clone()).unwrap_or_default();
        let plan = LockPlan::new(n, db, &m.queued, watched.iter().map(|(d, k)| (*d, &k[..])));
        let Some(mut tx) = plan.schedule(c).await else {
            // Nothing to lock (nothing watched; keyless commands that touch no data).
            c.out.array(m.queued.len());
            return exec::run_held(c, None, m.queued).await;
        };
        // First hop: the transaction now runs on every shard it holds, so every write that
        // preceded it has run and flagged its watchers; check the watched keys' deadlines there.
        let owner = watch.as_ref().map_or(0, |w| w.owner);
        let shards = tx.shards().to_vec();
        let jobs = shards
            .iter()
            .enumerate()
            .map(|(i, &sid)| {
                let keys: Vec<(usize, Bytes)> = watched
                    .iter()
                    .filter(|(_, k)| shard_of(k, n) == sid)
                    .cloned()
                    .collect();
                let job = Box::new(move |s: &mut Shard| {
                    // Whatever ran here before is complete; make sure its changes have flagged.
                    s.settle_watches();
                    keys.iter()
                        .any(|(d, k)| s.cas_expired_since_watch(*d, k, owner))
                }) as HopFn<bool>;
                (i, job)
            })
            .collect();
        let expired = match hop_at(&mut tx, jobs, false).await {
            Ok(r) => r.into_iter().flatten().any(|x| x),
            Err(p) => {
                conclude(&mut tx).await;
                return crate::multi::panic_reply(c, &p);
            }
        };
        let dirty = expired || watch.as_ref().is_some_and(WatchSet::dirty);
        drop(watch);
        if dirty {
            conclude(&mut tx).await;
            return c.out.null_array();
        }
        c.out.array(m.queued.len());
        exec::run_held(c, Some(&tx), m.queued).await;
        conclude(&mut tx).await;
    })
}

/// After a shard command on a shard with watched keys: the commands Redis's code signals
/// (`signalModifiedKey`) on success whatever the result, so that a rewrite with identical contents
/// still fails a WATCH as in Redis. Other writes are noticed by their effect (`darter_engine::watch`).
pub(crate) fn signal_unconditional(
    shard: &mut Shard,
    id: usize,
    db: usize,
    args: &[Bytes],
    reply: &[u8],
) {
    let name = crate::registry::registry().specs[id].meta.name;
    let ok = !reply.starts_with(b"-");
    let keys = match name {
        "incr" | "incrby" | "decr" | "decrby" | "incrbyfloat" | "append" | "hset" | "hmset"
        | "hincrby" | "hincrbyfloat" | "lset" | "ltrim"
            if ok =>
        {
            1
        }
        "setrange" if ok && args.get(3).is_some_and(|v| !v.is_empty()) => 1,
        "expire" | "pexpire" | "expireat" | "pexpireat" if reply == b":1\r\n" => 1,
        // A rotation of a list onto itself leaves it as it was when it has one element.
        "lmove" | "rpoplpush" if ok && reply != b"$-1\r\n" && reply != b"_\r\n" => 2,
        _ => 0,
    };
    for key in args.iter().skip(1).take(keys) {
        shard.dbs[db].signal_modified(key);
    }
}

/// Whether a queued command may grow memory (EXEC is refused past maxmemory if any may).
fn denyoom(args: &[Bytes]) -> bool {
    crate::registry::registry()
        .find(&args[0])
        .is_some_and(|s| s.meta.has_flag("denyoom"))
}
