//! Memory family: MEMORY USAGE | STATS | PURGE | HELP, and the process-wide memory figures that
//! INFO memory and the maxmemory check read (docs/design/memory.md).
//!
//! - `used_memory` is the counting allocator's exact process-wide sum of usable bytes
//!   (`darter_alloc::allocated_bytes`); in a process whose global allocator is not
//!   `CountingMiMalloc` (some test binaries) it falls back to the resident set size.
//! - It is *sampled* (stored in `SAMPLED`, peak in `PEAK`) by the INFO metrics sampler every
//!   100 ms, and on INFO, MEMORY STATS and CONFIG SET maxmemory. The per-command OOM check reads
//!   the sample: two relaxed loads (`maxmemory`, the sample), no summing on the hot path.
//! - Per-shard figures come from hops (`Engine::on_all_shards`): each shard thread's allocator
//!   counter and its tables' sizes.
//!
//! MEMORY DOCTOR and MEMORY MALLOC-STATS are not implemented (they answer as unknown
//! subcommands): DOCTOR's report needs metrics darter does not keep, and mimalloc's release build
//! keeps no statistics to print. Shard data is read only inside hops on the owning thread.

use crate::args::parse_i64;
use crate::clients;
use crate::config::ConfigStore;
use crate::context::{Conn, ShardCmd};
use crate::errors;
use crate::registry::{Cmd, Handler, LocalBoxFuture};
use bytes::Bytes;
use darter_engine::DbSlice;
use darter_resp::ReplyWriter;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

pub static COMMANDS: &[Cmd] = &[Cmd::with_subs(
    "memory",
    // USAGE names a key and runs on its shard; the others are keyless and run here.
    Handler::Multi {
        shard: Some(memory_usage),
        coord: cmd_memory,
    },
    &["usage", "stats", "purge", "help"],
)];

// ---------------------------------------------------------------------------------------------------
// Process-wide figures.
// ---------------------------------------------------------------------------------------------------

/// `used_memory` at the last sample (what the OOM check compares with `maxmemory`).
static SAMPLED: AtomicU64 = AtomicU64::new(0);
/// The largest sample (INFO `used_memory_peak`).
static PEAK: AtomicU64 = AtomicU64::new(0);
/// `used_memory` when the first server of the process finished starting.
static STARTUP: AtomicU64 = AtomicU64::new(0);

/// Bytes the process uses now: the allocator's exact sum, or the resident set size when the
/// counting allocator is not the global one.
pub fn used_memory() -> u64 {
    if darter_alloc::is_active() {
        darter_alloc::allocated_bytes() as u64
    } else {
        rss_bytes()
    }
}

/// Takes a sample: refreshes what the OOM check reads and the peak. Returns the sample.
pub fn sample() -> u64 {
    let used = used_memory();
    SAMPLED.store(used, Relaxed);
    PEAK.fetch_max(used, Relaxed);
    used
}

/// INFO `used_memory_peak`.
pub fn peak() -> u64 {
    PEAK.load(Relaxed)
}

/// CONFIG RESETSTAT: Redis zeroes its peak, which its next sample sets to the current usage.
pub fn reset_peak() {
    PEAK.store(sample(), Relaxed);
}

/// Records the start-up usage once per process (the first server to start wins).
pub fn record_startup() {
    let _ = STARTUP.compare_exchange(0, sample().max(1), Relaxed, Relaxed);
}

/// INFO `used_memory_startup`.
pub fn startup() -> u64 {
    STARTUP.load(Relaxed)
}

/// The OOM check: true when a limit is set and the last sample is above it. Two relaxed loads;
/// the answer is as old as the last sample (at most one sampler period, 100 ms, in steady state).
#[inline]
pub fn over_maxmemory(config: &ConfigStore) -> bool {
    let max = config.maxmemory();
    max != 0 && SAMPLED.load(Relaxed) > max
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as u64
    } else {
        4096
    }
}

/// Resident set size in bytes (`/proc/self/statm`), 0 where unavailable.
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|t| t.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * page_size())
}

/// Physical memory (Redis computes `total_system_memory` the same way).
pub fn total_system_memory() -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let pages = unsafe { libc::sysconf(libc::_SC_PHYS_PAGES) };
    if pages > 0 {
        pages as u64 * page_size()
    } else {
        0
    }
}

/// INFO `mem_allocator`.
pub fn allocator_name() -> String {
    if darter_alloc::is_active() {
        format!("mimalloc-{}", darter_alloc::mimalloc_version())
    } else {
        "libc".to_string()
    }
}

// ---------------------------------------------------------------------------------------------------
// The report behind INFO memory and MEMORY STATS.
// ---------------------------------------------------------------------------------------------------

/// One database, summed over shards.
#[derive(Clone, Copy, Debug, Default)]
pub struct DbMem {
    pub keys: u64,
    /// The tables' own bytes for their entries (`DbSlice::table_overhead_bytes`).
    pub table: u64,
}

/// Everything INFO memory and MEMORY STATS print, gathered at one moment.
#[derive(Clone, Debug, Default)]
pub struct MemoryReport {
    /// The allocator counts (false: `used` is the RSS and allocator figures are unknown).
    pub counting: bool,
    pub used: u64,
    pub peak: u64,
    pub rss: u64,
    pub startup: u64,
    /// Bytes held by normal clients' query and output buffers.
    pub clients_normal: u64,
    /// Indexed by database.
    pub dbs: Vec<DbMem>,
    /// Each shard thread's allocator counter (drifts with cross-thread frees; see `Shard::used_memory`).
    pub shard_used: Vec<i64>,
    /// Bytes mimalloc committed from the OS (INFO `allocator_active`).
    pub allocator_active: Option<u64>,
}

impl MemoryReport {
    pub fn keys(&self) -> u64 {
        self.dbs.iter().map(|d| d.keys).sum()
    }

    /// Redis's `overhead_total`: start-up memory, client buffers and the keyspace tables.
    pub fn overhead(&self) -> u64 {
        self.startup + self.clients_normal + self.dbs.iter().map(|d| d.table).sum::<u64>()
    }

    /// `used - overhead` (0 rather than Redis's wrap-around when overhead is larger).
    pub fn dataset(&self) -> u64 {
        self.used.saturating_sub(self.overhead())
    }

    /// Usage net of start-up memory (Redis uses 1 when there is none, to divide by it).
    fn net(&self) -> u64 {
        if self.used > self.startup {
            self.used - self.startup
        } else {
            1
        }
    }

    /// Redis computes its percentages and ratios in single precision.
    pub fn dataset_perc(&self) -> f32 {
        self.dataset() as f32 * 100.0 / self.net() as f32
    }

    pub fn peak_perc(&self) -> f32 {
        self.used as f32 * 100.0 / self.peak.max(1) as f32
    }

    pub fn bytes_per_key(&self) -> u64 {
        match self.keys() {
            0 => 0,
            k => self.net() / k,
        }
    }

    /// `mem_fragmentation_ratio`: resident set over used memory.
    pub fn frag_ratio(&self) -> f32 {
        self.rss as f32 / self.used.max(1) as f32
    }

    pub fn frag_bytes(&self) -> i64 {
        self.rss as i64 - self.used as i64
    }
}

/// Gathers the report: one hop per shard (allocator counter, table sizes) and per thread
/// (client buffers), then a fresh sample.
pub async fn gather(c: &Conn) -> MemoryReport {
    let shards = c
        .engine()
        .on_all_shards(|s| {
            let dbs: Vec<DbMem> = s
                .dbs
                .iter()
                .map(|d| DbMem {
                    keys: d.len() as u64,
                    table: d.table_overhead_bytes() as u64,
                })
                .collect();
            (s.used_memory(), dbs)
        })
        .await;
    let clients_normal = c
        .engine()
        .on_all_threads(|_| {
            let mut n = 0usize;
            clients::for_each(|ci| {
                n += ci.query_buf.get() + ci.query_buf_free.get() + ci.out_buf.get()
            });
            n as u64
        })
        .await
        .into_iter()
        .sum();
    let mut dbs = vec![DbMem::default(); c.engine().dbnum()];
    let mut shard_used = Vec::with_capacity(shards.len());
    for (used, per_db) in shards {
        shard_used.push(used);
        for (sum, d) in dbs.iter_mut().zip(per_db) {
            sum.keys += d.keys;
            sum.table += d.table;
        }
    }
    let used = sample();
    MemoryReport {
        counting: darter_alloc::is_active(),
        used,
        peak: peak().max(used),
        rss: rss_bytes(),
        startup: startup(),
        clients_normal,
        dbs,
        shard_used,
        allocator_active: darter_alloc::committed_bytes().map(|b| b as u64),
    }
}

// ---------------------------------------------------------------------------------------------------
// MEMORY
// ---------------------------------------------------------------------------------------------------

/// MEMORY HELP: Redis 7.0's text for the subcommands darter implements.
const MEMORY_HELP: &[&str] = &[
    "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
    "HELP",
    "    Prints this help.",
];

/// MEMORY STATS | PURGE | HELP (the dispatcher checked the subcommand and its arity; USAGE goes
/// to its key's shard, `memory_usage`).
fn cmd_memory(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        let sub = args[1].to_ascii_lowercase();
        match sub.as_slice() {
            b"stats" => {
                let r = gather(c).await;
                write_stats(&mut c.out, &r);
            }
            b"purge" => {
                c.engine()
                    .on_all_threads(|_| darter_alloc::purge_thread())
                    .await;
                c.out.ok();
            }
            b"help" => {
                c.out.array(MEMORY_HELP.len());
                for l in MEMORY_HELP {
                    c.out.simple(l.as_bytes());
                }
            }
            _ => c
                .out
                .error_bytes(&errors::unknown_subcommand(&args[1], "memory")),
        }
    })
}

/// MEMORY STATS in Redis 7.0's order and shapes (a map; doubles as RESP3 doubles or RESP2 bulk
/// strings). `db.<n>` entries appear for databases with keys, as in Redis. The allocator's
/// resident-page figures (`allocator.resident`, `allocator-rss.*`, `rss-overhead.*`) are left
/// out: mimalloc does not know which of its pages are resident.
fn write_stats(w: &mut ReplyWriter, r: &MemoryReport) {
    let live_dbs: Vec<(usize, &DbMem)> = r
        .dbs
        .iter()
        .enumerate()
        .filter(|(_, d)| d.keys > 0)
        .collect();
    let allocator = r.counting && r.allocator_active.is_some();
    w.map(18 + live_dbs.len() + if allocator { 4 } else { 0 });
    let int = |w: &mut ReplyWriter, k: &str, v: u64| {
        w.bulk(k.as_bytes());
        w.int(v as i64);
    };
    let dbl = |w: &mut ReplyWriter, k: &str, v: f32| {
        w.bulk(k.as_bytes());
        w.double(f64::from(v));
    };
    int(w, "peak.allocated", r.peak);
    int(w, "total.allocated", r.used);
    int(w, "startup.allocated", r.startup);
    // No replication, cluster bus, AOF, Lua or functions exist: their memory is truly zero.
    int(w, "replication.backlog", 0);
    int(w, "clients.slaves", 0);
    int(w, "clients.normal", r.clients_normal);
    int(w, "cluster.links", 0);
    int(w, "aof.buffer", 0);
    int(w, "lua.caches", 0);
    int(w, "functions.caches", 0);
    for (i, d) in &live_dbs {
        w.bulk(format!("db.{i}").as_bytes());
        w.map(3);
        int(w, "overhead.hashtable.main", d.table);
        // Deadlines live in the entries: no second table.
        int(w, "overhead.hashtable.expires", 0);
        int(w, "overhead.hashtable.slot-to-keys", 0);
    }
    int(w, "overhead.total", r.overhead());
    int(w, "keys.count", r.keys());
    int(w, "keys.bytes-per-key", r.bytes_per_key());
    int(w, "dataset.bytes", r.dataset());
    dbl(w, "dataset.percentage", r.dataset_perc());
    dbl(w, "peak.percentage", r.peak_perc());
    if let (true, Some(active)) = (r.counting, r.allocator_active) {
        int(w, "allocator.allocated", r.used);
        int(w, "allocator.active", active);
        dbl(
            w,
            "allocator-fragmentation.ratio",
            active as f32 / r.used.max(1) as f32,
        );
        int(
            w,
            "allocator-fragmentation.bytes",
            active.saturating_sub(r.used),
        );
    }
    dbl(w, "fragmentation", r.frag_ratio());
    w.bulk(b"fragmentation.bytes");
    w.int(r.frag_bytes());
}

/// MEMORY USAGE key [SAMPLES count], on the key's shard. Options are checked before the lookup,
/// as in Redis; like Redis's `dictFind` the lookup neither expires nor touches the key. SAMPLES
/// bounds how many elements of a nested value are measured; darter's values are strings, which
/// are measured whole.
fn memory_usage(c: &mut ShardCmd, w: &mut ReplyWriter) {
    if let Err(e) = parse_usage_options(&c.args[3..]) {
        return w.error(e);
    }
    match c.shard.dbs[c.db].get_including_expired(&c.args[2]) {
        Some(e) => w.int(DbSlice::entry_bytes(e) as i64),
        None => w.null(),
    }
}

/// `[SAMPLES count]...`: Redis's loop (a later SAMPLES wins). Returns the sample count (0 = all).
fn parse_usage_options(opts: &[Bytes]) -> Result<u64, &'static str> {
    let mut samples = 5;
    let mut j = 0;
    while j < opts.len() {
        if !(opts[j].eq_ignore_ascii_case(b"samples") && j + 1 < opts.len()) {
            return Err(errors::SYNTAX);
        }
        let n = parse_i64(&opts[j + 1]).ok_or(errors::NOT_INTEGER)?;
        if n < 0 {
            return Err(errors::SYNTAX);
        }
        samples = n as u64;
        j += 2;
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;
    use darter_collections::{StrValue, Value};
    use darter_engine::Entry;

    fn opts(a: &[&str]) -> Vec<Bytes> {
        a.iter().map(|s| Bytes::from(s.to_string())).collect()
    }

    #[test]
    fn usage_options_follow_redis() {
        // Replies of redis-server 7.0.15 to MEMORY USAGE k <options>.
        assert_eq!(parse_usage_options(&opts(&[])), Ok(5));
        assert_eq!(parse_usage_options(&opts(&["SAMPLES", "0"])), Ok(0));
        assert_eq!(
            parse_usage_options(&opts(&["samples", "1", "SAMPLES", "9"])),
            Ok(9)
        );
        assert_eq!(
            parse_usage_options(&opts(&["SAMPLES"])),
            Err(errors::SYNTAX)
        );
        assert_eq!(
            parse_usage_options(&opts(&["SAMPLES", "-1"])),
            Err(errors::SYNTAX)
        );
        assert_eq!(
            parse_usage_options(&opts(&["SAMPLES", "x"])),
            Err(errors::NOT_INTEGER)
        );
        assert_eq!(
            parse_usage_options(&opts(&["SAMPLES", "9223372036854775808"])),
            Err(errors::NOT_INTEGER)
        );
        assert_eq!(
            parse_usage_options(&opts(&["foo", "1"])),
            Err(errors::SYNTAX)
        );
        assert_eq!(
            parse_usage_options(&opts(&["SAMPLES", "1", "x"])),
            Err(errors::SYNTAX)
        );
    }

    #[test]
    fn entry_bytes_follow_key_and_value_sizes() {
        let e = |k: &[u8], v: &[u8]| Entry::new(k, Value::Str(StrValue::from_bytes(v)), 0, 0);
        let int = DbSlice::entry_bytes(&e(b"k", b"12345"));
        assert_eq!(
            int,
            DbSlice::SLOT_BYTES,
            "an integer and a short key own no heap block"
        );
        let short = DbSlice::entry_bytes(&e(b"k", b"hello"));
        assert_eq!(short, DbSlice::SLOT_BYTES, "a 16-byte string is inline");
        let medium = DbSlice::entry_bytes(&e(b"k", b"hello, a string of 30 bytes!!!"));
        let long = DbSlice::entry_bytes(&e(b"k", &[b'x'; 1000]));
        assert!(short < medium && medium < long);
        assert!(long >= 1000 + DbSlice::SLOT_BYTES);
        let longer_key = DbSlice::entry_bytes(&e(&[b'k'; 100], b"hello"));
        assert!(longer_key >= short + 100);
        let mut with_ttl = e(b"k", b"hello");
        with_ttl.set_expire_at(1);
        assert_eq!(
            DbSlice::entry_bytes(&with_ttl),
            darter_alloc::good_size(9) + DbSlice::SLOT_BYTES,
            "a deadline moves the key into a block after the 8-byte deadline"
        );
    }

    #[test]
    fn report_arithmetic() {
        let r = MemoryReport {
            counting: true,
            used: 2_000,
            peak: 4_000,
            rss: 3_000,
            startup: 1_000,
            clients_normal: 100,
            dbs: vec![
                DbMem {
                    keys: 10,
                    table: 300,
                },
                DbMem::default(),
            ],
            shard_used: vec![],
            allocator_active: Some(2_500),
        };
        assert_eq!(r.overhead(), 1_400);
        assert_eq!(r.dataset(), 600);
        assert_eq!(r.dataset_perc(), 60.0);
        assert_eq!(r.peak_perc(), 50.0);
        assert_eq!(r.bytes_per_key(), 100);
        assert_eq!(r.frag_ratio(), 1.5);
        assert_eq!(r.frag_bytes(), 1_000);
        let empty = MemoryReport {
            used: 500,
            startup: 1_000,
            ..MemoryReport::default()
        };
        assert_eq!((empty.dataset(), empty.bytes_per_key()), (0, 0));
    }

    #[test]
    fn stats_shape() {
        let r = MemoryReport {
            counting: true,
            used: 2_000,
            peak: 4_000,
            dbs: vec![DbMem::default(), DbMem { keys: 3, table: 30 }],
            allocator_active: Some(2_500),
            ..MemoryReport::default()
        };
        let mut w = ReplyWriter::new(darter_resp::Protocol::Resp3);
        write_stats(&mut w, &r);
        let text = String::from_utf8_lossy(&w.buf).into_owned();
        assert!(
            text.starts_with("%23\r\n$14\r\npeak.allocated\r\n:4000\r\n"),
            "{text}"
        );
        assert!(text.contains("$4\r\ndb.1\r\n%3\r\n$23\r\noverhead.hashtable.main\r\n:30\r\n"));
        assert!(text.contains("$18\r\ndataset.percentage\r\n,"));
        assert!(!text.contains("db.0"));
        assert!(
            text.ends_with("$19\r\nfragmentation.bytes\r\n:-2000\r\n"),
            "{text}"
        );
    }
}
