//! darter's in-shard data structures: the keyspace table and value encodings.
//!
//! This crate knows nothing of commands, shards, RESP or clocks; everything here is a plain
//! single-threaded data structure that the engine owns per shard.

pub mod bptree;
pub mod compact;
pub mod dash;
pub mod dense;
pub mod geohash;
pub mod hash;
pub mod hashval;
pub mod hll;
pub mod intset;
pub mod limits;
pub mod list;
pub mod listpack;
pub mod num;
pub mod quicklist;
pub mod setval;
pub mod value;
pub mod zsetval;

pub use dash::DashTable;
pub use dense::{DenseMap, DenseSet};
pub use hash::hash_key;
pub use intset::IntSet;
pub use limits::Limits;
pub use list::{End, List, ListConfig, ListIter, Position};
pub use listpack::{ListPack, LpEntry};
pub use quicklist::QuickList;
pub use value::{HashValue, SetValue, StrRef, StrValue, Value};
