//! The in-shard key hash: foldhash with a fixed seed, so hashes (and so scan cursors, which are
//! built from hash bits) are stable for the life of the process. Shard selection uses a different
//! hash (xxh3, in the engine), so the two never correlate.

use foldhash::fast::FixedState;
use std::hash::BuildHasher;

const SEED: u64 = 0x5eed_da47_e400_0001;

/// Hashes a key for the keyspace table.
#[inline]
pub fn hash_key(key: &[u8]) -> u64 {
    FixedState::with_seed(SEED).hash_one(key)
}
