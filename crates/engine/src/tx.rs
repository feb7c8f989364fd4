//! VLL transactions: per-shard intent locks, a per-shard queue ordered by a global id, and the
//! coordinator-side `Transaction` that schedules on several shards and runs hops there.
//!
//! See docs/design/transactions.md for the model and its invariants. In short:
//! - A single-shard command whose keys carry no intent locks runs at once (no id, no queue).
//! - Otherwise a transaction takes a global id, records intent locks on every shard it touches and
//!   waits in each shard's queue. It runs on a shard when it is the queue head, or earlier when all
//!   its locks there were granted without conflict (out of order).
//! - A shard accepts a schedule only for an id larger than every id it has accepted before, so all
//!   shards order conflicting transactions the same way; a refused schedule is cancelled everywhere
//!   and retried with a new id.
//!
//! Nothing here blocks a thread: waiting is a parked closure in the queue.

use crate::engine::Engine;
use crate::shard::{with_local_shard, Shard, ShardId};
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use tokio::sync::oneshot;

/// One intent lock request: a key fingerprint (db mixed in) in shared or exclusive mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockReq {
    pub fp: u64,
    pub exclusive: bool,
}

#[derive(Default, Clone, Copy, Debug)]
struct IntentLock {
    shared: u32,
    excl: u32,
}

impl IntentLock {
    #[inline]
    fn free_for(&self, exclusive: bool) -> bool {
        if exclusive {
            self.shared == 0 && self.excl == 0
        } else {
            self.excl == 0
        }
    }
}

type ShardJob = Box<dyn FnOnce(&mut Shard) + Send>;

struct QEntry {
    locks: Vec<LockReq>,
    ooo: bool,
    global: bool,
    armed: Option<(ShardJob, bool)>,
}

/// The shard's VLL state.
#[derive(Default)]
pub(crate) struct TxState {
    locks: hashbrown::HashMap<u64, IntentLock, foldhash::fast::FixedState>,
    queue: BTreeMap<u64, QEntry>,
    pub(crate) global_pending: u32,
    max_seen: u64,
}

/// A panic inside a shard closure, reported to the coordinator instead of unwinding the thread.
#[derive(Debug, Clone)]
pub struct Panicked(pub String);

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_string()
    }
}

/// Runs `f`, turning a panic into `Err`.
pub fn contain<R>(f: impl FnOnce() -> R) -> Result<R, Panicked> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|p| Panicked(panic_message(p)))
}

impl Shard {
    /// True when a command with these locks may run right now without a transaction id.
    #[inline]
    pub fn locks_free(&self, locks: &[LockReq]) -> bool {
        if self.tx.global_pending > 0 {
            return false;
        }
        if self.tx.locks.is_empty() {
            return true;
        }
        locks.iter().all(|l| {
            self.tx
                .locks
                .get(&l.fp)
                .is_none_or(|il| il.free_for(l.exclusive))
        })
    }

    fn acquire(&mut self, locks: &[LockReq]) -> bool {
        let mut all = true;
        for l in locks {
            let il = self.tx.locks.entry(l.fp).or_default();
            if !il.free_for(l.exclusive) {
                all = false;
            }
            if l.exclusive {
                il.excl += 1;
            } else {
                il.shared += 1;
            }
        }
        all
    }

    fn release(&mut self, locks: &[LockReq]) {
        for l in locks {
            if let Some(il) = self.tx.locks.get_mut(&l.fp) {
                if l.exclusive {
                    il.excl -= 1;
                } else {
                    il.shared -= 1;
                }
                if il.excl == 0 && il.shared == 0 {
                    self.tx.locks.remove(&l.fp);
                }
            }
        }
    }

    /// Places transaction `txid` in this shard's queue with its intent locks. Refused (false)
    /// when a transaction with a larger id was already accepted here.
    pub(crate) fn schedule(&mut self, txid: u64, locks: Vec<LockReq>, global: bool) -> bool {
        if txid <= self.tx.max_seen {
            self.stats.tx_schedule_retries += 1;
            return false;
        }
        self.tx.max_seen = txid;
        let granted = self.acquire(&locks);
        let ooo = granted && !global && self.tx.global_pending == 0;
        if global {
            self.tx.global_pending += 1;
        }
        if !ooo {
            self.stats.tx_queued += 1;
        }
        self.tx.queue.insert(
            txid,
            QEntry {
                locks,
                ooo,
                global,
                armed: None,
            },
        );
        true
    }

    /// Removes a scheduled transaction without running anything more (rollback of a refused
    /// schedule, or a coordinator that went away).
    pub(crate) fn cancel(&mut self, txid: u64) {
        if let Some(e) = self.tx.queue.remove(&txid) {
            self.finish_entry(e);
            self.poll_queue();
        }
    }

    fn finish_entry(&mut self, e: QEntry) {
        self.release(&e.locks);
        if e.global {
            self.tx.global_pending -= 1;
        }
    }

    /// Gives transaction `txid` its next hop; it runs as soon as it may (maybe right now).
    pub(crate) fn arm(&mut self, txid: u64, job: ShardJob, conclude: bool) {
        match self.tx.queue.get_mut(&txid) {
            Some(e) => e.armed = Some((job, conclude)),
            None => {
                // Not scheduled here: a coordinator bug. Run nothing, but never hang: drop the job
                // so the coordinator's receiver sees the sender dropped.
                debug_assert!(false, "arm for unscheduled txid {txid}");
                return;
            }
        }
        self.poll_queue();
    }

    /// Runs every queued hop that may run now: the head's, and out-of-order ones'.
    fn poll_queue(&mut self) {
        loop {
            let mut runnable = None;
            for (i, (&id, e)) in self.tx.queue.iter().enumerate() {
                if e.armed.is_some() && (i == 0 || e.ooo) {
                    runnable = Some(id);
                    break;
                }
            }
            let Some(id) = runnable else { return };
            let e = self.tx.queue.get_mut(&id).expect("present");
            let (job, conclude) = e.armed.take().expect("armed");
            job(self);
            if conclude {
                if let Some(e) = self.tx.queue.remove(&id) {
                    self.finish_entry(e);
                }
                // Its writes are complete: blocked clients may be served now.
                self.drain_ready();
            }
        }
    }

    /// Runs a single-shard command now if its locks are free, otherwise queues it as a one-hop
    /// transaction that runs when it reaches the head. `job` receives the shard either way.
    pub(crate) fn run_or_queue(&mut self, engine: &Engine, locks: &[LockReq], job: ShardJob) {
        if self.locks_free(locks) {
            job(self);
            self.drain_ready();
            return;
        }
        let txid = engine.next_txid();
        let ok = self.schedule(txid, locks.to_vec(), false);
        debug_assert!(
            ok,
            "a fresh id is always the largest seen on the allocating thread"
        );
        self.arm(txid, job, true);
    }

    /// Number of transactions waiting in the queue (INFO, tests).
    pub fn queue_len(&self) -> usize {
        self.tx.queue.len()
    }

    /// Number of fingerprints holding intent locks (tests: must return to 0 when idle).
    pub fn locked_count(&self) -> usize {
        self.tx.locks.len()
    }
}

/// The coordinator's handle on a scheduled multi-shard (or global) transaction.
pub struct Transaction {
    engine: Arc<Engine>,
    txid: u64,
    shards: Vec<ShardId>,
    concluded: bool,
    /// A view of a transaction held by the running task (`Held`): its hops never conclude and
    /// dropping it cancels nothing; the holder concludes.
    borrowed: bool,
}

/// A transaction a coordinator task holds while it runs whole commands inside it (EXEC; later
/// scripts). While a task runs inside `Transaction::run_held`, the entry points commands use to
/// reach shards honour it instead of taking locks of their own: `Transaction::schedule` returns a
/// borrowed view of the held transaction, and `Engine::run_on` arms its closure as a hop of the
/// held transaction. So commands keep their usual code and never wait for locks their own
/// holder has. Per task (tokio task-local), so other connections on the thread are unaffected.
#[derive(Clone, Debug)]
pub struct Held {
    pub txid: u64,
    /// Shards the held transaction is scheduled on, in increasing order (all of them when
    /// global).
    pub shards: Arc<[ShardId]>,
}

tokio::task_local! {
    static HELD: Held;
}

/// The transaction the current task holds, if it runs inside `Transaction::run_held`.
pub fn held() -> Option<Held> {
    HELD.try_with(|h| h.clone()).ok()
}

/// True inside `Transaction::run_held` (blocking commands then answer at once).
pub fn in_held() -> bool {
    HELD.try_with(|_| ()).is_ok()
}

/// Arms `job` as a hop of transaction `txid` on shard `sid` (inline when local).
pub(crate) fn arm_on(engine: &Engine, sid: ShardId, txid: u64, job: ShardJob, conclude: bool) {
    if engine.is_local(sid) {
        with_local_shard(|s| s.arm(txid, job, conclude));
    } else {
        engine.send(
            sid,
            Box::new(move || with_local_shard(|s| s.arm(txid, job, conclude))),
        );
    }
}

/// What a hop closure gets: the shard, and the transaction's index of that shard.
pub type HopFn<R> = Box<dyn FnOnce(&mut Shard) -> R + Send>;

impl Transaction {
    /// Schedules on every listed shard with its locks (all shards when `global`), retrying with a
    /// new id until every shard accepts.
    pub async fn schedule(
        engine: &Arc<Engine>,
        per_shard: Vec<(ShardId, Vec<LockReq>)>,
        global: bool,
    ) -> Transaction {
        let shards: Vec<ShardId> = per_shard.iter().map(|(s, _)| *s).collect();
        if let Some(h) = held() {
            // Inside a held transaction: its locks already cover this command (the holder
            // planned them from every command's keys, or holds every shard).
            if let Some(s) = shards.iter().find(|s| h.shards.binary_search(s).is_err()) {
                panic!("shard {s} is not part of the held transaction");
            }
            return Transaction {
                engine: engine.clone(),
                txid: h.txid,
                shards,
                concluded: false,
                borrowed: true,
            };
        }
        loop {
            let txid = engine.next_txid();
            let mut waits = Vec::with_capacity(per_shard.len());
            let mut local_ok = None;
            for (sid, locks) in &per_shard {
                let locks = locks.clone();
                if engine.is_local(*sid) {
                    local_ok = Some((*sid, with_local_shard(|s| s.schedule(txid, locks, global))));
                } else {
                    let (tx, rx) = oneshot::channel();
                    engine.send(
                        *sid,
                        Box::new(move || {
                            let ok = with_local_shard(|s| s.schedule(txid, locks, global));
                            let _ = tx.send(ok);
                        }),
                    );
                    waits.push((*sid, rx));
                }
            }
            let mut accepted = Vec::new();
            let mut all = true;
            if let Some((sid, ok)) = local_ok {
                if ok {
                    accepted.push(sid);
                } else {
                    all = false;
                }
            }
            for (sid, rx) in waits {
                if rx.await.unwrap_or(false) {
                    accepted.push(sid);
                } else {
                    all = false;
                }
            }
            if all {
                return Transaction {
                    engine: engine.clone(),
                    txid,
                    shards,
                    concluded: false,
                    borrowed: false,
                };
            }
            for sid in accepted {
                cancel_on(engine, sid, txid);
            }
            tokio::task::yield_now().await;
        }
    }

    pub fn txid(&self) -> u64 {
        self.txid
    }

    pub fn shards(&self) -> &[ShardId] {
        &self.shards
    }

    /// Runs `fut` with this transaction held by the current task (see `Held`). The transaction
    /// stays scheduled; the caller concludes it afterwards.
    pub async fn run_held<F: std::future::Future>(&self, fut: F) -> F::Output {
        let mut shards = self.shards.clone();
        shards.sort_unstable();
        HELD.scope(
            Held {
                txid: self.txid,
                shards: shards.into(),
            },
            fut,
        )
        .await
    }

    /// Runs one hop: `jobs[i]` on `shards()[i]` (None = nothing to do there this hop). With
    /// `conclude`, every shard releases the transaction's locks after its job. Results come back in
    /// shard order; a panic in a job is returned as `Err` (the transaction still concludes).
    pub async fn hop<R: Send + 'static>(
        &mut self,
        jobs: Vec<Option<HopFn<R>>>,
        conclude: bool,
    ) -> Vec<Option<Result<R, Panicked>>> {
        assert_eq!(jobs.len(), self.shards.len());
        assert!(!self.concluded, "hop after conclusion");
        let mut rxs = Vec::with_capacity(jobs.len());
        for (sid, job) in self.shards.iter().copied().zip(jobs) {
            if job.is_none() && !conclude {
                rxs.push(None);
                continue;
            }
            let (tx, rx) = oneshot::channel::<Option<Result<R, Panicked>>>();
            let wrapped: ShardJob = Box::new(move |shard: &mut Shard| {
                let r = job.map(|j| contain(|| j(shard)));
                let _ = tx.send(r);
            });
            arm_on(
                &self.engine,
                sid,
                self.txid,
                wrapped,
                conclude && !self.borrowed,
            );
            rxs.push(Some(rx));
        }
        if conclude {
            self.concluded = true;
        }
        let mut out = Vec::with_capacity(rxs.len());
        for rx in rxs {
            out.push(match rx {
                None => None,
                Some(rx) => rx
                    .await
                    .unwrap_or_else(|_| Some(Err(Panicked("shard dropped the hop".into())))),
            });
        }
        out
    }

    /// Runs the same job on every shard of the transaction.
    pub async fn hop_all<R: Send + 'static, F>(
        &mut self,
        f: F,
        conclude: bool,
    ) -> Vec<Result<R, Panicked>>
    where
        F: Fn(&mut Shard) -> R + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        let jobs = self
            .shards
            .iter()
            .map(|_| {
                let f = f.clone();
                Some(Box::new(move |s: &mut Shard| f(s)) as HopFn<R>)
            })
            .collect();
        self.hop(jobs, conclude)
            .await
            .into_iter()
            .map(|r| r.expect("every shard had a job"))
            .collect()
    }
}

fn cancel_on(engine: &Arc<Engine>, sid: ShardId, txid: u64) {
    if engine.is_local(sid) {
        with_local_shard(|s| s.cancel(txid));
    } else {
        engine.send(sid, Box::new(move || with_local_shard(|s| s.cancel(txid))));
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        // A coordinator that goes away mid-transaction must not leave locks behind.
        if !self.concluded && !self.borrowed {
            for &sid in &self.shards {
                cancel_on(&self.engine, sid, self.txid);
            }
        }
    }
}
