//! Blocking commands' shard side: per-key FIFO queues of waiting clients, and serving them once a
//! write completes.
//!
//! A blocked client (BLPOP, BLMOVE, BZPOPMIN, ...) is a `Waiter` registered on every shard that
//! owns one of its keys. A slice marks a watched key "touched" whenever it is looked up for
//! writing or stored (`DbSlice::find`, `set`); after every command or concluding transaction hop
//! the shard calls `drain_ready`, which walks the touched keys and serves their queues in FIFO
//! order while each key can serve its first waiter. Serving happens on the shard thread, inside
//! the same turn as the write that made the key ready, so no other client can take the element
//! first (as in Redis's `handleClientsBlockedOnKeys`).
//!
//! ```text
//!  coordinator (client's thread)              shard owning k1            shard owning k2
//!  BLPOP k1 k2 0
//!   tx: check k1,k2 -> empty  ---- register W ---->  queue[k1] += W  ------ queue[k2] += W
//!   await W's channel
//!                                   LPUSH k2 x  ------------------------->  touched k2
//!                                                                           drain: W.ready(k2)
//!                                                                           W.claim() (CAS)
//!   <------------------------------------- reply [k2, x] ------------------ W.serve(k2): pop
//!   unregister W elsewhere ----------------------> queue[k1] -= W
//! ```
//!
//! A waiter is claimed at most once (`claim` is an atomic swap owned by the client), so a client
//! blocked on keys of several shards is served by exactly one of them; the others drop it when they
//! next look at it (`is_live`), or when the coordinator's unregister hop arrives. A key locked by a
//! transaction still in progress is not served until that transaction concludes (a push inside a
//! multi-hop transaction wakes waiters only after it completes). This module owns the queues and
//! nothing of any command's semantics: readiness and serving are the waiter's.

use crate::keys::{key_fp, key_hash};
use crate::shard::Shard;
use crate::tx::LockReq;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// A blocked client as the shards see it. Implemented by the command families.
pub trait Waiter: Send + Sync {
    /// Unique among live waiters (the coordinator's unregister names it).
    fn id(&self) -> u64;
    /// False once claimed (served, timed out, unblocked or disconnected): queues drop it.
    fn is_live(&self) -> bool;
    /// Whether `key` (on this shard, database `db`) can serve this waiter now. No side effects.
    fn ready(&self, shard: &mut Shard, db: usize, key: &[u8]) -> bool;
    /// Takes the waiter for this shard; true exactly once over its life, whoever calls it.
    fn claim(&self) -> bool;
    /// Serves the claimed waiter from `key`: performs the command's effect and delivers its reply.
    fn serve(&self, shard: &mut Shard, db: usize, key: &[u8]);
    /// Other keys (on this shard) serving would write, which must not be locked by a
    /// transaction in progress (BLMOVE's destination).
    fn also_writes(&self) -> Vec<Vec<u8>> {
        Vec::new()
    }
}

/// A database index and a key.
type DbKey = (usize, Box<[u8]>);

/// The queues of one shard.
#[derive(Default)]
pub struct Blocking {
    queues: HashMap<DbKey, VecDeque<Arc<dyn Waiter>>>,
}

impl Blocking {
    /// Clients waiting on this shard (each counted once per key it waits on here).
    pub fn waiting(&self) -> usize {
        self.queues.values().map(VecDeque::len).sum()
    }

    /// Keys with at least one waiter.
    pub fn keys(&self) -> usize {
        self.queues.len()
    }
}

impl Shard {
    /// Queues `w` on `key` of database `db` (after the live waiters already there).
    pub fn block_on(&mut self, db: usize, key: &[u8], w: Arc<dyn Waiter>) {
        self.dbs[db].watch(key);
        self.blocking
            .queues
            .entry((db, key.into()))
            .or_default()
            .push_back(w);
    }

    /// Removes waiter `id` from the queues of `keys` in `db`.
    pub fn unblock(&mut self, db: usize, keys: &[Vec<u8>], id: u64) {
        for k in keys {
            let slot = (db, k.clone().into_boxed_slice());
            if let Some(q) = self.blocking.queues.get_mut(&slot) {
                q.retain(|w| w.id() != id);
                if q.is_empty() {
                    self.blocking.queues.remove(&slot);
                    self.dbs[db].unwatch(k);
                }
            }
        }
    }

    /// Waiters queued on `key` of database `db` (live or not yet dropped).
    pub fn waiting_on(&self, db: usize, key: &[u8]) -> usize {
        self.blocking
            .queues
            .get(&(db, key.into()))
            .map_or(0, VecDeque::len)
    }

    /// Serves waiters of every touched key that can serve them, FIFO per key. Call after a
    /// command or a concluding hop; cheap when nothing is touched.
    pub fn drain_ready(&mut self) {
        self.serve_blocked();
        // Watchers learn of what the command (and any serving) changed.
        if !self.cas.is_empty() || self.track.active() {
            self.settle_watches();
        }
    }

    fn serve_blocked(&mut self) {
        if self.blocking.queues.is_empty() {
            return;
        }
        for db in 0..self.dbs.len() {
            if !self.dbs[db].has_touched() {
                continue;
            }
            // Serving may touch keys again (a pop is a write lookup); loop until quiet.
            let mut rounds = 0;
            loop {
                let touched = self.dbs[db].take_touched();
                if touched.is_empty() {
                    break;
                }
                for key in touched {
                    self.serve_key(db, &key);
                }
                rounds += 1;
                if rounds > 64 {
                    // Waiters that keep re-touching their key without consuming it: leave the
                    // rest for the next drain rather than spin.
                    break;
                }
            }
        }
    }

    fn locked(&self, db: usize, key: &[u8]) -> bool {
        let kh = key_hash(key, 1);
        !self.locks_free(&[LockReq {
            fp: key_fp(kh.full, db),
            exclusive: true,
        }])
    }

    fn serve_key(&mut self, db: usize, key: &[u8]) {
        let slot = (db, Box::<[u8]>::from(key));
        loop {
            let Some(w) = self
                .blocking
                .queues
                .get(&slot)
                .and_then(|q| q.front().cloned())
            else {
                return;
            };
            if !w.is_live() {
                self.pop_front(&slot);
                continue;
            }
            if self.locked(db, key) || w.also_writes().iter().any(|k| self.locked(db, k)) {
                // A transaction in progress holds the key: its conclusion drains again.
                self.dbs[db].touch_key(key);
                return;
            }
            if !w.ready(self, db, key) {
                return;
            }
            self.pop_front(&slot);
            if w.claim() {
                w.serve(self, db, key);
            }
        }
    }

    fn pop_front(&mut self, slot: &DbKey) {
        if let Some(q) = self.blocking.queues.get_mut(slot) {
            q.pop_front();
            if q.is_empty() {
                self.blocking.queues.remove(slot);
                self.dbs[slot.0].unwatch(&slot.1);
            }
        }
    }
}
