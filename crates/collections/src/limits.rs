//! The encoding thresholds (Redis's `*-max-listpack-*` / `*-max-intset-*` parameters) in one
//! plain struct: each shard keeps a copy that CONFIG SET replaces, and every family's shard-side
//! code reads its thresholds from it. It holds numbers only; parsing and naming are config's.

use crate::list::ListConfig;

/// When a value outgrows its small encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// `list-max-listpack-size` (and the packed threshold).
    pub list: ListConfig,
    /// `hash-max-listpack-entries`, `hash-max-listpack-value`.
    pub hash_max_listpack_entries: usize,
    pub hash_max_listpack_value: usize,
    /// `set-max-intset-entries`.
    pub set_max_intset_entries: usize,
    /// `set-max-listpack-entries`, `set-max-listpack-value` (Redis 7.2).
    pub set_max_listpack_entries: usize,
    pub set_max_listpack_value: usize,
    /// `zset-max-listpack-entries`, `zset-max-listpack-value`.
    pub zset_max_listpack_entries: usize,
    pub zset_max_listpack_value: usize,
    /// `hll-sparse-max-bytes`: a sparse HyperLogLog longer than this becomes dense.
    pub hll_sparse_max_bytes: usize,
}

impl Default for Limits {
    /// Redis's defaults.
    fn default() -> Self {
        Limits {
            list: ListConfig::default(),
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            set_max_listpack_entries: 128,
            set_max_listpack_value: 64,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            hll_sparse_max_bytes: crate::hll::DEFAULT_SPARSE_MAX_BYTES,
        }
    }
}
