//! darter's engine: shards and their threads, `DbSlice`, hops and VLL transactions, expiry.
//!
//! This is the only crate that owns shard data. Shard data is reached only on its owning thread:
//! inline when the caller is on that thread, otherwise by a hop (a closure sent to the thread).
//! See ARCHITECTURE.md and docs/design/transactions.md.

pub mod blocking;
pub mod clock;
pub mod db;
pub mod engine;
pub mod keys;
pub mod nested;
pub mod notify;
pub mod shard;
pub mod tracking;
pub mod tx;
pub mod watch;

pub use blocking::Waiter;
pub use db::{DbSlice, Entry, Record};
pub use engine::{Engine, EngineOptions};
pub use keys::{key_fp, shard_of, KeyHash};
pub use shard::{local_shard_id, with_local_shard, Shard, ShardId};
pub use tx::{held, in_held, Held, LockReq, Panicked, Transaction};
