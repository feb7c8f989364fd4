//! Helpers for coordinator-side multi-key commands (MGET, MSET, DEL, RENAME, FLUSHALL...): group
//! keys by owning shard, schedule one VLL transaction over those shards, run hops there.
//!
//! Shard closures get a `ShardCmd`-like view and their shard's keys with the argument index each
//! came from, so the coordinator can stitch replies back in argument order.

use crate::context::Conn;
use bytes::Bytes;
use darter_engine::keys::{key_fp, key_hash, shard_of};
use darter_engine::tx::HopFn;
use darter_engine::{DbSlice, LockReq, Panicked, Shard, ShardId, Transaction};
use std::sync::Arc;

/// Keys of one command grouped by shard.
#[derive(Clone, Debug, Default)]
pub struct KeyGroups {
    /// Shards involved, in increasing order.
    pub shards: Vec<ShardId>,
    /// For each shard (same order): (argument index, key).
    pub keys: Vec<Vec<(usize, Bytes)>>,
    /// For each shard: its intent locks.
    pub locks: Vec<Vec<LockReq>>,
}

impl KeyGroups {
    /// Groups `keys` (argument index, key) of database `db`; `exclusive` for writes.
    pub fn new(
        shards: usize,
        db: usize,
        keys: impl IntoIterator<Item = (usize, Bytes)>,
        exclusive: bool,
    ) -> KeyGroups {
        let mut g = KeyGroups::default();
        for (i, k) in keys {
            let kh = key_hash(&k, shards);
            let pos = match g.shards.binary_search(&kh.shard) {
                Ok(p) => p,
                Err(p) => {
                    g.shards.insert(p, kh.shard);
                    g.keys.insert(p, Vec::new());
                    g.locks.insert(p, Vec::new());
                    p
                }
            };
            g.keys[pos].push((i, k));
            g.locks[pos].push(LockReq {
                fp: key_fp(kh.full, db),
                exclusive,
            });
        }
        g
    }

    /// Adds a lock on `key` in another database `db` (MOVE, COPY ... DB), on the key's shard.
    pub fn add_lock(&mut self, shards: usize, key: &[u8], db: usize, exclusive: bool) {
        let kh = key_hash(key, shards);
        let pos = match self.shards.binary_search(&kh.shard) {
            Ok(p) => p,
            Err(p) => {
                self.shards.insert(p, kh.shard);
                self.keys.insert(p, Vec::new());
                self.locks.insert(p, Vec::new());
                p
            }
        };
        self.locks[pos].push(LockReq {
            fp: key_fp(kh.full, db),
            exclusive,
        });
    }

    /// Index of `shard` in `shards`.
    pub fn index_of(&self, shard: ShardId) -> Option<usize> {
        self.shards.binary_search(&shard).ok()
    }

    /// Schedules a transaction holding these locks.
    pub async fn schedule(&self, c: &Conn) -> Transaction {
        let per_shard = self
            .shards
            .iter()
            .copied()
            .zip(self.locks.iter().cloned())
            .collect();
        Transaction::schedule(c.engine(), per_shard, false).await
    }
}

/// Per-shard work of a one-phase command: gets the shard, the database and that shard's keys.
pub type EachFn<R> = Arc<dyn Fn(&mut Shard, usize, &[(usize, Bytes)]) -> R + Send + Sync>;

/// Runs `f` once on every shard of `groups` inside one atomic transaction (schedule + one
/// concluding hop). Results come back in `groups.shards` order.
pub async fn run_each<R: Send + 'static>(
    c: &Conn,
    groups: &KeyGroups,
    f: EachFn<R>,
) -> Result<Vec<R>, Panicked> {
    let db = c.state.db;
    // Shared locks only: a read command, whose misses are `keymiss` events (see
    // `crate::notify::reports_misses`; the commands passing here are plain reads or writes).
    let reads = groups.locks.iter().flatten().all(|l| !l.exclusive);
    let mut tx = groups.schedule(c).await;
    type Job<R> = (R, Vec<crate::notify::Captured>);
    let jobs: Vec<Option<HopFn<Job<R>>>> = groups
        .keys
        .iter()
        .map(|keys| {
            let f = f.clone();
            let keys = keys.clone();
            Some(Box::new(move |s: &mut Shard| {
                let misses = reads
                    && s.events.load(std::sync::atomic::Ordering::Relaxed)
                        & darter_engine::notify::KEY_MISS
                        != 0;
                s.dbs[db].report_misses = misses;
                // Reset even if the job panics (the hop turns the panic into an error reply).
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    crate::notify::capture(|| f(s, db, &keys))
                }));
                s.dbs[db].report_misses = false;
                r.unwrap_or_else(|p| std::panic::resume_unwind(p))
            }) as HopFn<Job<R>>)
        })
        .collect();
    let mut out = Vec::with_capacity(jobs.len());
    let mut events = Vec::new();
    for (i, r) in tx.hop(jobs, true).await.into_iter().enumerate() {
        let (r, ev) = r.expect("every shard had a job")?;
        events.push((i, ev));
        out.push(r);
    }
    // Each shard reported its keys' events; publish them in the command's argument order, as
    // Redis does, before the command replies.
    crate::notify::publish_in_key_order(&groups.keys, events);
    Ok(out)
}

/// Runs `f` on every shard of `groups` (the shards `tx` was scheduled on) as one hop of `tx`,
/// concluding it or not. Results come back in `groups.shards` order. Events the jobs emit go out
/// as they happen (the STORE forms' reads emit none; their writes come in a later hop).
pub async fn hop_each<R: Send + 'static>(
    tx: &mut Transaction,
    groups: &KeyGroups,
    db: usize,
    f: EachFn<R>,
    conclude: bool,
) -> Result<Vec<R>, Panicked> {
    let jobs: Vec<Option<HopFn<R>>> = groups
        .keys
        .iter()
        .map(|keys| {
            let f = f.clone();
            let keys = keys.clone();
            Some(Box::new(move |s: &mut Shard| f(s, db, &keys)) as HopFn<R>)
        })
        .collect();
    let mut out = Vec::with_capacity(jobs.len());
    for r in tx.hop(jobs, conclude).await {
        out.push(r.expect("every shard had a job")?);
    }
    Ok(out)
}

/// Concludes a transaction with nothing more to do.
pub async fn conclude(tx: &mut Transaction) {
    let jobs: Vec<Option<HopFn<()>>> = tx.shards().iter().map(|_| None).collect();
    tx.hop(jobs, true).await;
}

/// Runs one hop with jobs only on some of the transaction's shards, given as (index into
/// `tx.shards()`, job); the results come back by that index.
pub async fn hop_at<R: Send + 'static>(
    tx: &mut Transaction,
    jobs: Vec<(usize, HopFn<R>)>,
    conclude: bool,
) -> Result<Vec<Option<R>>, Panicked> {
    let mut slots: Vec<Option<HopFn<R>>> = tx.shards().iter().map(|_| None).collect();
    for (i, j) in jobs {
        slots[i] = Some(j);
    }
    let mut out = Vec::with_capacity(slots.len());
    for r in tx.hop(slots, conclude).await {
        out.push(r.transpose()?);
    }
    Ok(out)
}

/// What an MPOP-style command's probe found on one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe<E> {
    /// Missing or empty: look further.
    Empty,
    /// The key to pop from.
    Ready,
    /// A key of another type: the command fails here.
    Failed(E),
}

/// LMPOP / ZMPOP (and their blocking forms' first try) across shards, atomically: hop 1 runs
/// `probe` on every key on its shard; the concluding hop runs `pop` on the first key in argument
/// order that is ready, unless a key before it failed. Returns that key's position in `keys` with
/// what `pop` returned; None when every key is empty. Every hop uses one `now`, so a key alive in
/// the first hop is alive in the second. Only the popped key counts as accessed, as in Redis,
/// which stops at it.
pub async fn pop_first_ready<E, R>(
    c: &Conn,
    keys: &[Bytes],
    probe: fn(&mut DbSlice, &[u8], u64) -> Probe<E>,
    pop: impl FnOnce(&mut Shard, usize, &[u8], u64) -> R + Send + 'static,
) -> Result<Result<Option<(usize, R)>, E>, Panicked>
where
    E: Send + 'static,
    R: Send + 'static,
{
    let engine = c.engine().clone();
    let db = c.state.db;
    let groups = KeyGroups::new(
        engine.num_shards(),
        db,
        keys.iter().cloned().enumerate(),
        true,
    );
    let now = engine.clock.now_ms();
    let mut tx = groups.schedule(c).await;
    let probes = groups
        .keys
        .iter()
        .enumerate()
        .map(|(si, keys)| {
            let keys = keys.clone();
            let job = Box::new(move |s: &mut Shard| {
                keys.iter()
                    .map(|(i, k)| (*i, probe(&mut s.dbs[db], k, now)))
                    .collect::<Vec<_>>()
            }) as HopFn<_>;
            (si, job)
        })
        .collect();
    let mut found: Vec<(usize, Probe<E>)> = hop_at(&mut tx, probes, false)
        .await?
        .into_iter()
        .flatten()
        .flatten()
        .collect();
    found.sort_unstable_by_key(|(i, _)| *i);
    let first = found.into_iter().find_map(|(i, p)| match p {
        Probe::Empty => None,
        Probe::Ready => Some(Ok(i)),
        Probe::Failed(e) => Some(Err(e)),
    });
    let i = match first {
        None => {
            conclude(&mut tx).await;
            return Ok(Ok(None));
        }
        Some(Err(e)) => {
            conclude(&mut tx).await;
            return Ok(Err(e));
        }
        Some(Ok(i)) => i,
    };
    let key = keys[i].clone();
    let si = groups
        .index_of(shard_of(&key, engine.num_shards()))
        .expect("key's shard");
    let job = Box::new(move |s: &mut Shard| pop(s, db, &key, now)) as HopFn<_>;
    let mut popped = hop_at(&mut tx, vec![(si, job)], true).await?;
    Ok(Ok(Some((i, popped[si].take().expect("pop job")))))
}

/// Writes the error reply for a contained panic.
pub fn panic_reply(c: &mut Conn, p: &Panicked) {
    c.out
        .error(&format!("ERR internal error in command: {}", p.0));
}
