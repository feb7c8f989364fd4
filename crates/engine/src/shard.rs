//! A shard: one thread's slice of every database, its VLL lock table and transaction queue.
//!
//! ```text
//!   thread i  (one current_thread tokio runtime, tasks never move)
//!   +--------------------------------------------------------------+
//!   | Shard i                                                      |
//!   |   dbs[0..dbnum]  : DbSlice (keys whose xxh3 % N == i)        |
//!   |   locks          : fingerprint -> IntentLock {shared, excl}  |
//!   |   queue          : TxId -> entry (ordered; VLL)              |
//!   | task inbox (mpsc) <- hops from other threads' coordinators   |
//!   | connection tasks (coordinators), inline on local keys        |
//!   +--------------------------------------------------------------+
//! ```
//! The shard lives in a thread-local and is reached only through `with_local_shard` on its own
//! thread, by inline execution or by a hop that arrived in the inbox. Nothing else may hold a
//! reference to it, and no lock guards it.

use crate::clock::Clock;
use crate::db::DbSlice;
use crate::tx::TxState;
use std::cell::{Cell, RefCell};
use std::sync::Arc;

pub type ShardId = usize;

/// Counters a shard keeps for INFO stats (summed across shards by the coordinator).
#[derive(Debug, Default, Clone, Copy)]
pub struct ShardStats {
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub expired_keys: u64,
    /// Hops executed on this shard that came from another thread.
    pub remote_hops: u64,
    /// Transactions that waited in the queue because of contention.
    pub tx_queued: u64,
    /// Multi-shard schedules rejected because a later transaction was already here.
    pub tx_schedule_retries: u64,
}

pub struct Shard {
    pub id: ShardId,
    pub dbs: Vec<DbSlice>,
    pub clock: Arc<Clock>,
    pub stats: ShardStats,
    pub(crate) tx: TxState,
    /// Active expiry on/off (DEBUG SET-ACTIVE-EXPIRE).
    pub active_expire: bool,
    /// Encoding thresholds, a copy of the config's (CONFIG SET replaces it on every shard).
    pub limits: darter_collections::Limits,
    /// Blocked clients' queues (see `crate::blocking`).
    pub blocking: crate::blocking::Blocking,
    /// WATCH registrations of keys on this shard (`crate::watch`).
    pub cas: crate::watch::CasWatches,
    /// Client-side caching: who may cache which keys, BCAST prefixes (`crate::tracking`).
    pub track: crate::tracking::TrackTable,
    /// `notify-keyspace-events` flags (shared with the engine and every slice).
    pub events: crate::notify::Flags,
    rng: u64,
}

impl Shard {
    pub fn new(id: ShardId, dbnum: usize, clock: Arc<Clock>) -> Shard {
        Shard {
            id,
            dbs: (0..dbnum)
                .map(|i| {
                    let mut d = DbSlice::with_clock(clock.clone());
                    d.index = i;
                    d
                })
                .collect(),
            clock,
            stats: ShardStats::default(),
            tx: TxState::default(),
            active_expire: true,
            limits: darter_collections::Limits::default(),
            blocking: Default::default(),
            cas: Default::default(),
            track: Default::default(),
            events: Default::default(),
            rng: 0x9E37_79B9_7F4A_7C15 ^ (id as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9),
        }
    }

    /// Shares the engine's `notify-keyspace-events` flags with this shard and its slices.
    pub fn set_events(&mut self, events: crate::notify::Flags) {
        for d in &mut self.dbs {
            d.events = events.clone();
        }
        self.events = events;
    }

    /// Reports a keyspace event on `key` of database `db` (see `crate::notify::emit`).
    #[inline]
    pub fn notify(&self, db: usize, class: u32, event: &str, key: &[u8]) {
        crate::notify::emit(&self.events, class, event, db, key);
    }

    #[inline]
    pub fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// A cheap pseudo-random number in `0..n` (xorshift; for RANDOMKEY and sampling).
    pub fn rand(&mut self, n: usize) -> usize {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        if n == 0 {
            0
        } else {
            (x % n as u64) as usize
        }
    }

    /// Periodic work: active expiry within a budget of entries per database.
    /// Periodic work: active expiry for at most `budget` of CPU time. Each database with
    /// deadlines is swept in steps of a few hundred entries; a database keeps getting steps while
    /// more than a quarter of what a step visits turns out expired (Redis's adaptive cycle), and
    /// the whole beat stops when the budget is spent.
    pub fn heartbeat(&mut self, budget: std::time::Duration) {
        if !self.active_expire || self.tx.global_pending > 0 {
            return;
        }
        const STEP: usize = 256;
        let start = std::time::Instant::now();
        let now = self.now_ms();
        for db in &mut self.dbs {
            if db.expires_count() == 0 {
                continue;
            }
            loop {
                let removed = db.expire_step(now, STEP);
                if removed * 4 < STEP || start.elapsed() >= budget {
                    break;
                }
            }
            if start.elapsed() >= budget {
                break;
            }
        }
        self.settle_watches();
    }

    /// Sum of expired keys over this shard's databases.
    pub fn expired_keys(&self) -> u64 {
        self.dbs.iter().map(|d| d.stats.expired_keys).sum()
    }

    /// Clears this shard's INFO counters and its databases' (CONFIG RESETSTAT). Keys, deadlines
    /// and the transaction state are untouched.
    pub fn reset_stats(&mut self) {
        self.stats = ShardStats::default();
        for db in &mut self.dbs {
            db.stats = Default::default();
        }
    }
}

impl Shard {
    /// Bytes this shard's thread has allocated minus what it freed (the counting allocator's
    /// per-thread counter; 0 when it is not the global allocator). A `&mut Shard` exists only on
    /// the owning thread, so this is always that thread's count: the shard's data plus whatever
    /// else the thread holds (its connections' buffers), give or take blocks that crossed threads
    /// (a hop's closure is allocated by its sender and freed here), which make per-thread counts
    /// drift while their sum over threads stays exact.
    pub fn used_memory(&self) -> i64 {
        darter_alloc::thread_allocated()
    }
}

thread_local! {
    static LOCAL_SHARD: RefCell<Option<Box<Shard>>> = const { RefCell::new(None) };
    static LOCAL_SHARD_ID: Cell<Option<ShardId>> = const { Cell::new(None) };
}

/// Installs this thread's shard (called once by the engine when the thread starts).
pub(crate) fn install_local_shard(shard: Shard) {
    LOCAL_SHARD_ID.with(|c| c.set(Some(shard.id)));
    LOCAL_SHARD.with(|s| *s.borrow_mut() = Some(Box::new(shard)));
}

/// The id of the shard owned by the current thread, if it owns one.
#[inline]
pub fn local_shard_id() -> Option<ShardId> {
    LOCAL_SHARD_ID.with(|c| c.get())
}

/// Runs `f` on the current thread's shard. Panics if the thread owns no shard or if called
/// re-entrantly (shard closures must never reach for the shard again).
#[inline]
pub fn with_local_shard<R>(f: impl FnOnce(&mut Shard) -> R) -> R {
    LOCAL_SHARD.with(|s| {
        let mut guard = s.borrow_mut();
        let shard = guard.as_mut().expect("this thread owns no shard");
        let r = f(shard);
        if crate::tracking::keys_pending() {
            shard.track_remember_ctx();
        }
        r
    })
}
