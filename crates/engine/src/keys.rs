//! Key placement: which shard owns a key, and the fingerprint its intent lock uses.
//!
//! Shard = xxh3(hashtag or key) % shards, where the hashtag is the part between the first `{` and
//! the next `}` when that part is non-empty (Redis Cluster's rule), so related keys can be put on
//! one shard. The lock fingerprint hashes the whole key with the database index mixed in.

use crate::shard::ShardId;
use xxhash_rust::xxh3::xxh3_64;

/// The hashtag of a key, if it has a non-empty one.
#[inline]
pub fn hashtag(key: &[u8]) -> Option<&[u8]> {
    let open = memchr_byte(b'{', key)?;
    let rest = &key[open + 1..];
    let close = memchr_byte(b'}', rest)?;
    if close == 0 {
        None
    } else {
        Some(&rest[..close])
    }
}

#[inline]
fn memchr_byte(b: u8, s: &[u8]) -> Option<usize> {
    s.iter().position(|&c| c == b)
}

/// A key's placement, computed once per command argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyHash {
    pub shard: ShardId,
    /// Whole-key hash (before mixing in the database).
    pub full: u64,
}

#[inline]
pub fn key_hash(key: &[u8], shards: usize) -> KeyHash {
    let full = xxh3_64(key);
    let tag_hash = match hashtag(key) {
        Some(t) => xxh3_64(t),
        None => full,
    };
    KeyHash {
        shard: (tag_hash % shards as u64) as ShardId,
        full,
    }
}

#[inline]
pub fn shard_of(key: &[u8], shards: usize) -> ShardId {
    key_hash(key, shards).shard
}

/// The intent-lock fingerprint of a key in database `db`.
#[inline]
pub fn key_fp(full_hash: u64, db: usize) -> u64 {
    full_hash ^ (db as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashtags_follow_redis_cluster_rules() {
        assert_eq!(hashtag(b"{user1000}.following"), Some(&b"user1000"[..]));
        assert_eq!(hashtag(b"foo{}{bar}"), None);
        assert_eq!(hashtag(b"foo{{bar}}zap"), Some(&b"{bar"[..]));
        assert_eq!(hashtag(b"foo{bar}{zap}"), Some(&b"bar"[..]));
        assert_eq!(hashtag(b"nobraces"), None);
        assert_eq!(
            shard_of(b"{a}x", 7),
            shard_of(b"{a}y", 7),
            "same tag, same shard"
        );
    }
}
