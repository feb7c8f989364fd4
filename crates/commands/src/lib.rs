//! darter's commands: one module per command family, the registry that joins them with Redis's
//! command table, and the dispatcher that runs them on the right shards.
//!
//! A family module holds, per command, a registry row, the coordinator function (`cmd_*`) and the
//! shard-side operation (`op_*`). Shard-side code reaches data only through `ShardCmd`, which the
//! engine hands it on the owning thread.

pub mod args;
pub mod clients;
pub mod config;
pub mod context;
pub mod dispatch;
pub mod errors;
pub mod exec;
pub mod families;
pub mod keyspec;
pub mod memcached;
pub mod meta;
pub mod multi;
pub mod notify;
pub mod redis_table;
pub mod registry;
pub mod stats;

pub use context::{Conn, ConnState, Server, ShardCmd};
pub use dispatch::execute_batch;
