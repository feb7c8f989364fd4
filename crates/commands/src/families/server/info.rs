//! INFO: gathering every section's numbers from threads and shards, and formatting them as
//! Redis 7.0 does (`# Title` headers, `key:value` lines, CRLF endings, one blank line between
//! sections; a bulk string in RESP2, a verbatim `txt` string in RESP3), plus the sampler behind
//! the `instantaneous_*` fields.
//!
//! Only fields darter can fill truthfully are printed. Counters of subsystems darter does not
//! have yet (replication, eviction, pub/sub, forks) are printed as the zeros
//! they truly are; fields that need accounting darter does not do yet (allocator resident
//! pages, Lua memory, `rdb_changes_since_last_save`, per-command latency percentiles) are left
//! out rather than guessed. The memory figures come from `families::memory` (the counting
//! allocator; docs/design/memory.md), and the sampler below also samples used memory for its
//! peak and for the maxmemory check. It reads shard data only inside hops.

use super::{DARTER_VERSION, LRU_CLOCK_MAX};
use crate::clients;
use crate::context::Conn;
use crate::families::connection::REDIS_VERSION;
use crate::families::memory::{self, MemoryReport};
use crate::registry::{registry, LocalBoxFuture};
use crate::stats::{self, CmdStat, ThreadStats};
use bytes::Bytes;
use darter_engine::shard::ShardStats;
use darter_engine::{Engine, Shard};
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// Redis 7.0's default INFO sections (INFO with no argument, or `default`).
const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "module_list",
    "errorstats",
    "cluster",
    "keyspace",
];

/// Which sections an INFO call asked for (Redis's `genInfoSectionDict`): names are
/// case-insensitive, `default` adds the defaults, `all` and `everything` select every section,
/// unknown names select nothing.
#[derive(Debug, Default)]
struct Sections {
    all: bool,
    names: Vec<String>,
}

impl Sections {
    fn parse(args: &[Bytes]) -> Sections {
        let defaults = || DEFAULT_SECTIONS.iter().map(|s| s.to_string());
        let mut s = Sections::default();
        if args.is_empty() {
            s.names.extend(defaults());
        }
        for a in args {
            let name = String::from_utf8_lossy(a).to_ascii_lowercase();
            match name.as_str() {
                "default" => s.names.extend(defaults()),
                "all" | "everything" => s.all = true,
                _ => s.names.push(name),
            }
        }
        s
    }

    fn has(&self, name: &str) -> bool {
        self.all || self.names.iter().any(|n| n == name)
    }
}

/// One database's keyspace line, summed over shards.
#[derive(Clone, Copy, Debug, Default)]
struct DbInfo {
    keys: usize,
    expires: usize,
    /// Sampled TTLs (ms) on this shard and how many were sampled.
    ttl_sum: u64,
    ttl_samples: u64,
}

/// Entries visited per database and shard to estimate `avg_ttl` (Redis estimates it by sampling
/// too, in its expiry cycle).
const AVG_TTL_SAMPLE: usize = 1024;

/// What INFO reads from one shard.
struct ShardInfo {
    stats: ShardStats,
    expired_keys: u64,
    dbs: Vec<DbInfo>,
}

fn shard_info(s: &mut Shard) -> ShardInfo {
    let now = s.now_ms();
    let dbs = s
        .dbs
        .iter()
        .map(|db| {
            let mut d = DbInfo {
                keys: db.len(),
                expires: db.expires_count(),
                ..DbInfo::default()
            };
            if d.expires > 0 {
                for (_, e) in db.iter(now).take(AVG_TTL_SAMPLE) {
                    if e.expire_at() != 0 {
                        d.ttl_sum += e.expire_at().saturating_sub(now);
                        d.ttl_samples += 1;
                    }
                }
            }
            d
        })
        .collect();
    ShardInfo {
        stats: s.stats,
        expired_keys: s.expired_keys(),
        dbs,
    }
}

/// Everything INFO gathers before formatting (only what the selected sections need).
#[derive(Default)]
struct Gathered {
    threads: ThreadStats,
    max_input_buffer: usize,
    max_output_buffer: usize,
    blocked_clients: usize,
    blocked_with_timeout: usize,
    shards: Vec<ShardInfo>,
    memory: MemoryReport,
    /// Unique channels, patterns and shard channels with subscribers.
    pubsub: [usize; 3],
    /// Clients with tracking on.
    tracking_clients: usize,
    /// Tracking table keys, items (reader registrations) and BCAST prefixes.
    tracking: [usize; 3],
}

/// INFO [section ...]: a bulk string in RESP2, a verbatim string (`txt`) in RESP3.
pub(super) fn cmd_info(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        ensure_metrics_sampler(c.engine());
        let sections = Sections::parse(&args[1..]);
        let mut g = Gathered::default();
        if ["stats", "commandstats", "errorstats"]
            .iter()
            .any(|s| sections.has(s))
        {
            let per_thread = c
                .engine()
                .on_all_threads(|_| stats::with(|s| s.clone()))
                .await;
            for t in &per_thread {
                g.threads.merge(t);
            }
            g.pubsub = crate::families::pubsub::info_counts(c).await;
            g.tracking = crate::families::tracking::info_counts(c).await;
        }
        if sections.has("clients") {
            let per_thread = c
                .engine()
                .on_all_threads(|_| {
                    let (mut i, mut o, mut b, mut t, mut tr) = (0, 0, 0, 0, 0);
                    clients::for_each(|ci| {
                        i = i.max(ci.query_buf.get());
                        o = o.max(ci.out_buf.get());
                        b += usize::from(ci.blocked.get());
                        t += usize::from(ci.blocked_with_timeout.get());
                        tr += usize::from(ci.tracking.on.get());
                    });
                    (i, o, b, t, tr)
                })
                .await;
            for (i, o, b, t, tr) in per_thread {
                g.tracking_clients += tr;
                g.blocked_with_timeout += t;
                g.max_input_buffer = g.max_input_buffer.max(i);
                g.max_output_buffer = g.max_output_buffer.max(o);
                g.blocked_clients += b;
            }
        }
        if sections.has("stats") || sections.has("keyspace") {
            g.shards = c.engine().on_all_shards(shard_info).await;
        }
        if sections.has("memory") {
            g.memory = memory::gather(c).await;
        }
        let text = format_info(c, &sections, &g);
        c.out.verbatim("txt", text.as_bytes());
    })
}

/// Appends `key:value\r\n`.
macro_rules! field {
    ($s:expr, $k:expr, $v:expr) => {{
        let _ = write!($s, "{}:{}\r\n", $k, $v);
    }};
}

fn format_info(c: &Conn, sections: &Sections, g: &Gathered) -> String {
    let mut s = String::with_capacity(4096);
    let mut count = 0;
    let mut begin = |s: &mut String, title: &str| {
        if count > 0 {
            s.push_str("\r\n");
        }
        count += 1;
        let _ = write!(s, "# {title}\r\n");
    };
    if sections.has("server") {
        begin(&mut s, "Server");
        server_section(&mut s, c);
    }
    if sections.has("clients") {
        begin(&mut s, "Clients");
        clients_section(&mut s, c, g);
    }
    if sections.has("memory") {
        begin(&mut s, "Memory");
        memory_section(&mut s, c, &g.memory);
    }
    if sections.has("persistence") {
        begin(&mut s, "Persistence");
        persistence_section(&mut s, c);
    }
    if sections.has("stats") {
        begin(&mut s, "Stats");
        stats_section(&mut s, c, g);
    }
    if sections.has("replication") {
        begin(&mut s, "Replication");
        replication_section(&mut s, c);
    }
    if sections.has("cpu") {
        begin(&mut s, "CPU");
        cpu_section(&mut s);
    }
    if sections.has("module_list") || sections.has("modules") {
        // darter loads no modules: the header alone, as Redis prints it with none loaded.
        begin(&mut s, "Modules");
    }
    if sections.has("commandstats") {
        begin(&mut s, "Commandstats");
        commandstats_section(&mut s, &g.threads);
    }
    if sections.has("errorstats") {
        begin(&mut s, "Errorstats");
        for (code, n) in &g.threads.errors {
            let _ = write!(s, "errorstat_{code}:count={n}\r\n");
        }
    }
    // Latencystats (per-command percentiles) needs latency histograms darter does not keep yet.
    if sections.has("cluster") {
        begin(&mut s, "Cluster");
        field!(s, "cluster_enabled", 0);
    }
    if sections.has("keyspace") {
        begin(&mut s, "Keyspace");
        keyspace_section(&mut s, c, g);
    }
    s
}

fn server_section(s: &mut String, c: &Conn) {
    let srv = &c.server;
    let now_us = c.engine().clock.now_us();
    let uptime = srv.started.elapsed().as_secs();
    let hz = srv.config.hz();
    field!(s, "redis_version", REDIS_VERSION);
    field!(s, "darter_version", DARTER_VERSION);
    // Redis prints zeros when not built from a git checkout; darter records no git state.
    field!(s, "redis_git_sha1", "00000000");
    field!(s, "redis_git_dirty", 0);
    field!(s, "redis_build_id", build_id());
    field!(s, "redis_mode", "standalone");
    field!(s, "os", os_name());
    field!(s, "arch_bits", usize::BITS);
    // std's Instant reads CLOCK_MONOTONIC through clock_gettime.
    field!(s, "monotonic_clock", "POSIX clock_gettime");
    field!(s, "multiplexing_api", multiplexing_api());
    field!(s, "atomicvar_api", "c11-builtin");
    // Redis prints 0.0.0 when not compiled by GCC; darter is compiled by rustc.
    field!(s, "gcc_version", "0.0.0");
    field!(s, "process_id", std::process::id());
    field!(s, "process_supervised", "no");
    field!(s, "run_id", srv.run_id);
    field!(s, "tcp_port", srv.bound_port.load(Ordering::Relaxed));
    field!(s, "server_time_usec", now_us);
    field!(s, "uptime_in_seconds", uptime);
    field!(s, "uptime_in_days", uptime / 86400);
    field!(s, "hz", hz);
    field!(s, "configured_hz", hz);
    field!(s, "lru_clock", (now_us / 1_000_000) & LRU_CLOCK_MAX);
    field!(s, "executable", srv.executable);
    field!(s, "config_file", srv.config_file.as_deref().unwrap_or(""));
    field!(s, "io_threads_active", 0);
}

/// A stable id for this build (Redis hashes its build environment; darter hashes its version and
/// target), 64-bit FNV-1a printed as hex.
fn build_id() -> String {
    let ident = format!(
        "darter-{DARTER_VERSION}-{}-{}",
        std::env::consts::ARCH,
        std::env::consts::OS
    );
    format!("{:x}", fnv1a(ident.as_bytes()))
}

fn fnv1a(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &c| {
        (h ^ u64::from(c)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn multiplexing_api() -> &'static str {
    if cfg!(any(target_os = "linux", target_os = "android")) {
        "epoll"
    } else if cfg!(any(target_os = "macos", target_os = "freebsd")) {
        "kqueue"
    } else {
        "poll"
    }
}

/// `uname -s -r -m`, as Redis prints it.
fn os_name() -> String {
    // SAFETY: `utsname` is plain old data (byte arrays), so all-zero is a valid value; `uname`
    // fills it and NUL-terminates every field.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a valid, writable utsname.
    if unsafe { libc::uname(&mut u) } != 0 {
        return String::new();
    }
    let field = |f: &[libc::c_char]| {
        let bytes: Vec<u8> = f
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    format!(
        "{} {} {}",
        field(&u.sysname),
        field(&u.release),
        field(&u.machine)
    )
}

fn clients_section(s: &mut String, c: &Conn, g: &Gathered) {
    let srv = &c.server;
    field!(
        s,
        "connected_clients",
        srv.connected_clients.load(Ordering::Relaxed)
    );
    field!(s, "cluster_connections", 0);
    field!(s, "maxclients", srv.config.maxclients());
    // Redis reports the recent peak; darter the largest buffer right now.
    field!(s, "client_recent_max_input_buffer", g.max_input_buffer);
    field!(s, "client_recent_max_output_buffer", g.max_output_buffer);
    field!(s, "blocked_clients", g.blocked_clients);
    field!(s, "tracking_clients", g.tracking_clients);
    field!(s, "clients_in_timeout_table", g.blocked_with_timeout);
}

/// Redis's `bytesToHuman`.
fn bytes_to_human(n: u64) -> String {
    const UNITS: [(u64, &str); 5] = [
        (1 << 10, "K"),
        (1 << 20, "M"),
        (1 << 30, "G"),
        (1 << 40, "T"),
        (1 << 50, "P"),
    ];
    if n < 1024 {
        return format!("{n}B");
    }
    for (unit, suffix) in UNITS {
        if n < unit * 1024 {
            return format!("{:.2}{suffix}", n as f64 / unit as f64);
        }
    }
    format!("{n}B")
}

/// Memory, in Redis 7.0's order. `used_memory` is the counting allocator's exact sum of usable
/// bytes (the resident set size when the counting allocator is not the process's), and
/// `used_memory_peak` its largest sample. Left out, because darter cannot fill them truthfully:
/// `allocator_resident` and what derives from it (`allocator_rss_*`, `rss_overhead_*`: mimalloc
/// does not know which of its pages are resident), and the Lua/functions/scripts fields (no
/// scripting yet). Subsystems darter lacks (replication, cluster bus, AOF, defrag, lazy free)
/// show their true zeros. `darter_shard_used_memory` (darter's own) lists each shard thread's
/// allocator counter.
fn memory_section(s: &mut String, c: &Conn, r: &MemoryReport) {
    let cfg = &c.server.config;
    let total = memory::total_system_memory();
    field!(s, "used_memory", r.used);
    field!(s, "used_memory_human", bytes_to_human(r.used));
    field!(s, "used_memory_rss", r.rss);
    field!(s, "used_memory_rss_human", bytes_to_human(r.rss));
    field!(s, "used_memory_peak", r.peak);
    field!(s, "used_memory_peak_human", bytes_to_human(r.peak));
    field!(s, "used_memory_peak_perc", format!("{:.2}%", r.peak_perc()));
    field!(s, "used_memory_overhead", r.overhead());
    field!(s, "used_memory_startup", r.startup);
    field!(s, "used_memory_dataset", r.dataset());
    field!(
        s,
        "used_memory_dataset_perc",
        format!("{:.2}%", r.dataset_perc())
    );
    let active = r.allocator_active.filter(|_| r.counting);
    if let Some(active) = active {
        field!(s, "allocator_allocated", r.used);
        field!(s, "allocator_active", active);
    }
    field!(s, "total_system_memory", total);
    field!(s, "total_system_memory_human", bytes_to_human(total));
    field!(s, "maxmemory", cfg.maxmemory());
    field!(s, "maxmemory_human", bytes_to_human(cfg.maxmemory()));
    field!(s, "maxmemory_policy", cfg.maxmemory_policy());
    if let Some(active) = active {
        field!(
            s,
            "allocator_frag_ratio",
            format!("{:.2}", active as f32 / r.used.max(1) as f32)
        );
        field!(s, "allocator_frag_bytes", active.saturating_sub(r.used));
    }
    field!(
        s,
        "mem_fragmentation_ratio",
        format!("{:.2}", r.frag_ratio())
    );
    field!(s, "mem_fragmentation_bytes", r.frag_bytes());
    // Nothing is excluded from the maxmemory comparison (Redis excludes replica and AOF buffers).
    field!(s, "mem_not_counted_for_evict", 0);
    field!(s, "mem_replication_backlog", 0);
    field!(s, "mem_total_replication_buffers", 0);
    field!(s, "mem_clients_slaves", 0);
    field!(s, "mem_clients_normal", r.clients_normal);
    field!(s, "mem_cluster_links", 0);
    field!(s, "mem_aof_buffer", 0);
    field!(s, "mem_allocator", memory::allocator_name());
    field!(s, "active_defrag_running", 0);
    field!(s, "lazyfree_pending_objects", 0);
    field!(s, "lazyfreed_objects", 0);
    let shards: Vec<String> = r.shard_used.iter().map(i64::to_string).collect();
    field!(s, "darter_shard_used_memory", shards.join(","));
}

/// Persistence: darter neither saves nor loads yet. `rdb_last_save_time` is the start-up time, as
/// in a Redis that never saved; `rdb_changes_since_last_save` is left out (no dirty counter).
fn persistence_section(s: &mut String, c: &Conn) {
    let started = c.server.started_unix_ms / 1000;
    #[rustfmt::skip]
    let zeros_before: &[&str] = &[
        "loading", "async_loading", "current_cow_peak", "current_cow_size", "current_cow_size_age",
    ];
    for k in zeros_before {
        field!(s, k, 0);
    }
    field!(s, "current_fork_perc", "0.00");
    field!(s, "current_save_keys_processed", 0);
    field!(s, "current_save_keys_total", 0);
    field!(s, "rdb_bgsave_in_progress", 0);
    field!(s, "rdb_last_save_time", started);
    field!(s, "rdb_last_bgsave_status", "ok");
    field!(s, "rdb_last_bgsave_time_sec", -1);
    field!(s, "rdb_current_bgsave_time_sec", -1);
    field!(s, "rdb_saves", 0);
    field!(s, "rdb_last_cow_size", 0);
    field!(s, "rdb_last_load_keys_expired", 0);
    field!(s, "rdb_last_load_keys_loaded", 0);
    field!(s, "aof_enabled", 0);
    field!(s, "aof_rewrite_in_progress", 0);
    field!(s, "aof_rewrite_scheduled", 0);
    field!(s, "aof_last_rewrite_time_sec", -1);
    field!(s, "aof_current_rewrite_time_sec", -1);
    field!(s, "aof_last_bgrewrite_status", "ok");
    field!(s, "aof_rewrites", 0);
    field!(s, "aof_rewrites_consecutive_failures", 0);
    field!(s, "aof_last_write_status", "ok");
    field!(s, "aof_last_cow_size", 0);
    field!(s, "module_fork_in_progress", 0);
    field!(s, "module_fork_last_cow_size", 0);
}

fn stats_section(s: &mut String, c: &Conn, g: &Gathered) {
    let srv = &c.server;
    let t = &g.threads;
    let (hits, misses, expired) = g.shards.iter().fold((0, 0, 0), |(h, m, e), sh| {
        (
            h + sh.stats.keyspace_hits,
            m + sh.stats.keyspace_misses,
            e + sh.expired_keys,
        )
    });
    let inst = with_metrics(c.engine(), |m| {
        [
            m.get(METRIC_OPS),
            m.get(METRIC_NET_IN),
            m.get(METRIC_NET_OUT),
        ]
    })
    .unwrap_or_default();
    field!(
        s,
        "total_connections_received",
        srv.total_connections.load(Ordering::Relaxed)
    );
    field!(s, "total_commands_processed", t.total_commands);
    field!(s, "instantaneous_ops_per_sec", inst[0]);
    field!(s, "total_net_input_bytes", t.net_input_bytes);
    field!(s, "total_net_output_bytes", t.net_output_bytes);
    field!(s, "total_net_repl_input_bytes", 0);
    field!(s, "total_net_repl_output_bytes", 0);
    field!(
        s,
        "instantaneous_input_kbps",
        format!("{:.2}", inst[1] as f64 / 1024.0)
    );
    field!(
        s,
        "instantaneous_output_kbps",
        format!("{:.2}", inst[2] as f64 / 1024.0)
    );
    field!(s, "instantaneous_input_repl_kbps", "0.00");
    field!(s, "instantaneous_output_repl_kbps", "0.00");
    field!(
        s,
        "rejected_connections",
        srv.rejected_connections.load(Ordering::Relaxed)
    );
    // No replication, eviction, forks, defragmentation or client tracking exist yet:
    // their counters are truly zero. The families that add them must fill these in.
    #[rustfmt::skip]
    let zeros: &[&str] = &["sync_full", "sync_partial_ok", "sync_partial_err"];
    for k in zeros {
        field!(s, k, 0);
    }
    field!(s, "expired_keys", expired);
    #[rustfmt::skip]
    let zeros: &[&str] = &[
        "evicted_keys", "evicted_clients", "total_eviction_exceeded_time",
        "current_eviction_exceeded_time",
    ];
    for k in zeros {
        field!(s, k, 0);
    }
    field!(s, "keyspace_hits", hits);
    field!(s, "keyspace_misses", misses);
    field!(s, "pubsub_channels", g.pubsub[0]);
    field!(s, "pubsub_patterns", g.pubsub[1]);
    field!(s, "pubsubshard_channels", g.pubsub[2]);
    #[rustfmt::skip]
    let zeros: &[&str] = &[
        "latest_fork_usec",
        "total_forks", "migrate_cached_sockets", "slave_expires_tracked_keys", "active_defrag_hits",
        "active_defrag_misses", "active_defrag_key_hits", "active_defrag_key_misses",
        "total_active_defrag_time", "current_active_defrag_time",
    ];
    for k in zeros {
        field!(s, k, 0);
    }
    field!(s, "tracking_total_keys", g.tracking[0]);
    field!(s, "tracking_total_items", g.tracking[1]);
    field!(s, "tracking_total_prefixes", g.tracking[2]);
    field!(s, "unexpected_error_replies", 0);
    field!(s, "total_error_replies", t.total_error_replies);
    field!(s, "dump_payload_sanitizations", 0);
    field!(s, "io_threaded_reads_processed", 0);
    field!(s, "io_threaded_writes_processed", 0);
}

/// A replication id for this process: 40 hex characters derived from the run id (Redis draws a
/// separate random id; it only has to be stable for the process and differ from the run id).
fn master_replid(run_id: &str) -> String {
    let mut x = fnv1a(run_id.as_bytes()) | 1;
    let mut s = String::with_capacity(40);
    for _ in 0..40 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.push(char::from_digit((x % 16) as u32, 16).expect("hex digit"));
    }
    s
}

fn replication_section(s: &mut String, c: &Conn) {
    field!(s, "role", "master");
    field!(s, "connected_slaves", 0);
    field!(s, "master_failover_state", "no-failover");
    field!(s, "master_replid", master_replid(&c.server.run_id));
    field!(s, "master_replid2", "0".repeat(40));
    field!(s, "master_repl_offset", 0);
    field!(s, "second_repl_offset", -1);
    field!(s, "repl_backlog_active", 0);
    field!(s, "repl_backlog_first_byte_offset", 0);
    field!(s, "repl_backlog_histlen", 0);
}

/// `getrusage(who)` as (system, user) in Redis's `%ld.%06ld` format.
pub(crate) fn rusage(who: libc::c_int) -> (String, String) {
    // SAFETY: `rusage` is plain old data, so all-zero is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable rusage and `who` a valid selector.
    if unsafe { libc::getrusage(who, &mut ru) } != 0 {
        return ("0.000000".into(), "0.000000".into());
    }
    let fmt = |t: libc::timeval| format!("{}.{:06}", t.tv_sec, t.tv_usec);
    (fmt(ru.ru_stime), fmt(ru.ru_utime))
}

/// CPU of the whole process and of its children. Redis's `*_main_thread` fields are left out:
/// darter has no single main thread.
fn cpu_section(s: &mut String) {
    let (sys, user) = rusage(libc::RUSAGE_SELF);
    let (csys, cuser) = rusage(libc::RUSAGE_CHILDREN);
    field!(s, "used_cpu_sys", sys);
    field!(s, "used_cpu_user", user);
    field!(s, "used_cpu_sys_children", csys);
    field!(s, "used_cpu_user_children", cuser);
}

/// `cmdstat_<name>:...` for every command (subcommands of containers by `container|sub`, as
/// Redis lists them) that was called, failed or rejected, in name order.
fn commandstats_section(s: &mut String, t: &ThreadStats) {
    let reg = registry();
    let mut rows: Vec<(&str, CmdStat)> = Vec::new();
    for spec in &reg.specs {
        if spec.is_container() {
            for m in &spec.subs {
                if let Some(st) = t.subcmds.get(m.name) {
                    rows.push((m.name, *st));
                }
            }
        } else if let Some(st) = t.cmds.get(spec.id) {
            rows.push((spec.meta.name, *st));
        }
    }
    rows.sort_by_key(|(name, _)| *name);
    for (name, st) in rows {
        if st.calls == 0 && st.failed == 0 && st.rejected == 0 {
            continue;
        }
        // Redis divides in single precision.
        let per_call = if st.calls == 0 {
            0.0
        } else {
            f64::from(st.usec as f32 / st.calls as f32)
        };
        let _ = write!(
            s,
            "cmdstat_{name}:calls={},usec={},usec_per_call={per_call:.2},rejected_calls={},failed_calls={}\r\n",
            st.calls, st.usec, st.rejected, st.failed
        );
    }
}

/// `db<N>:keys=..,expires=..,avg_ttl=..` for each non-empty database. `avg_ttl` (ms) is
/// estimated from a bounded sample of each shard's keys, weighted by the shard's TTL count.
fn keyspace_section(s: &mut String, c: &Conn, g: &Gathered) {
    for db in 0..c.engine().dbnum() {
        let (mut keys, mut expires, mut weighted, mut weight) = (0usize, 0usize, 0f64, 0f64);
        for sh in &g.shards {
            let d = sh.dbs[db];
            keys += d.keys;
            expires += d.expires;
            if d.ttl_samples > 0 {
                weighted += d.ttl_sum as f64 / d.ttl_samples as f64 * d.expires as f64;
                weight += d.expires as f64;
            }
        }
        if keys == 0 {
            continue;
        }
        let avg_ttl = if weight > 0.0 {
            (weighted / weight) as u64
        } else {
            0
        };
        let _ = write!(
            s,
            "db{db}:keys={keys},expires={expires},avg_ttl={avg_ttl}\r\n"
        );
    }
}

// ---------------------------------------------------------------------------------------------------
// Instantaneous metrics (instantaneous_ops_per_sec, instantaneous_*_kbps).
// ---------------------------------------------------------------------------------------------------

const METRIC_OPS: usize = 0;
const METRIC_NET_IN: usize = 1;
const METRIC_NET_OUT: usize = 2;
/// Redis's `STATS_METRIC_SAMPLES`.
const INST_SAMPLES: usize = 16;
/// Redis samples from its 100 ms cron.
const INST_PERIOD: Duration = Duration::from_millis(100);

/// Redis's instantaneous metrics: every 100 ms the per-second rate since the previous sample is
/// recorded; the metric is the mean of the last 16 rates (zeros until 16 were taken).
#[derive(Default)]
struct InstMetrics {
    last: Option<(Instant, [u64; 3])>,
    rates: [[u64; INST_SAMPLES]; 3],
    idx: usize,
}

impl InstMetrics {
    fn record(&mut self, now: Instant, totals: [u64; 3]) {
        if let Some((then, prev)) = self.last {
            let ms = now.duration_since(then).as_millis().max(1) as u64;
            for (m, (&cur, &old)) in totals.iter().zip(&prev).enumerate() {
                self.rates[m][self.idx] = cur.saturating_sub(old) * 1000 / ms;
            }
            self.idx = (self.idx + 1) % INST_SAMPLES;
        }
        self.last = Some((now, totals));
    }

    fn get(&self, metric: usize) -> u64 {
        self.rates[metric].iter().sum::<u64>() / INST_SAMPLES as u64
    }
}

/// One sampler per engine (a process may run several servers, e.g. in tests).
struct Sampler {
    engine: Weak<Engine>,
    metrics: InstMetrics,
}

static SAMPLERS: Mutex<Vec<Sampler>> = Mutex::new(Vec::new());

fn samplers() -> std::sync::MutexGuard<'static, Vec<Sampler>> {
    // The data is plain counters, consistent after any panic.
    SAMPLERS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Forgets `engine`'s samples (CONFIG RESETSTAT).
pub(super) fn reset_metrics(engine: &Arc<Engine>) {
    with_metrics(engine, |m| *m = InstMetrics::default());
}

/// Runs `f` on `engine`'s metrics, if its sampler runs.
fn with_metrics<R>(engine: &Arc<Engine>, f: impl FnOnce(&mut InstMetrics) -> R) -> Option<R> {
    let mut all = samplers();
    all.iter_mut()
        .find(|s| std::ptr::eq(s.engine.as_ptr(), Arc::as_ptr(engine)))
        .map(|s| f(&mut s.metrics))
}

/// Starts `engine`'s metrics sampler unless it runs already: a task on the calling engine thread
/// that every 100 ms sums the per-thread command and network counters (one hop per thread),
/// samples used memory (`memory::sample`: the peak and the maxmemory check), and stops with the
/// engine. The first call of the process also records the start-up memory. INFO starts it on first use; a server may start it at start-up so the
/// first INFO already has a full window.
pub fn ensure_metrics_sampler(engine: &Arc<Engine>) {
    {
        let mut all = samplers();
        all.retain(|s| s.engine.strong_count() > 0);
        if all
            .iter()
            .any(|s| std::ptr::eq(s.engine.as_ptr(), Arc::as_ptr(engine)))
        {
            return;
        }
        all.push(Sampler {
            engine: Arc::downgrade(engine),
            metrics: InstMetrics::default(),
        });
    }
    memory::record_startup();
    let weak = Arc::downgrade(engine);
    tokio::task::spawn_local(async move {
        let mut tick = tokio::time::interval(INST_PERIOD);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(engine) = weak.upgrade() else { return };
            if engine.is_stopping() {
                return;
            }
            memory::sample();
            let per_thread = engine
                .on_all_threads(|_| {
                    stats::with(|s| [s.total_commands, s.net_input_bytes, s.net_output_bytes])
                })
                .await;
            let mut totals = [0u64; 3];
            for t in per_thread {
                for (a, b) in totals.iter_mut().zip(t) {
                    *a += b;
                }
            }
            let now = Instant::now();
            if with_metrics(&engine, |m| m.record(now, totals)).is_none() {
                return;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_sections_select_like_redis() {
        let sel = |args: &[&str]| {
            let args: Vec<Bytes> = args.iter().map(|a| Bytes::from(a.to_string())).collect();
            Sections::parse(&args)
        };
        let d = sel(&[]);
        assert!(d.has("server") && d.has("keyspace") && d.has("module_list"));
        assert!(!d.has("commandstats"));
        let s = sel(&["SERVER", "nosuch"]);
        assert!(s.has("server") && !s.has("clients"));
        assert!(sel(&["all"]).has("commandstats"));
        assert!(sel(&["everything"]).has("commandstats"));
        let dc = sel(&["default", "commandstats"]);
        assert!(dc.has("commandstats") && dc.has("cpu"));
    }

    #[test]
    fn human_bytes() {
        assert_eq!(bytes_to_human(0), "0B");
        assert_eq!(bytes_to_human(1023), "1023B");
        assert_eq!(bytes_to_human(916848), "895.36K");
        assert_eq!(bytes_to_human(12181504), "11.62M");
        assert_eq!(bytes_to_human(25276514304), "23.54G");
    }

    #[test]
    fn instantaneous_metrics_average_sixteen_samples() {
        let mut m = InstMetrics::default();
        let t0 = Instant::now();
        m.record(t0, [0, 0, 0]);
        for i in 1..=16u64 {
            m.record(t0 + INST_PERIOD * i as u32, [i * 100, i * 1024, 0]);
        }
        assert_eq!(m.get(METRIC_OPS), 1000);
        assert_eq!(m.get(METRIC_NET_IN), 10240);
        // A counter reset (CONFIG RESETSTAT) never yields a negative rate.
        m.record(t0 + INST_PERIOD * 17, [0, 0, 0]);
        assert!(m.get(METRIC_OPS) <= 1000);
    }

    #[test]
    fn replid_is_stable_and_distinct() {
        let a = master_replid("abc");
        assert_eq!(a.len(), 40);
        assert_eq!(a, master_replid("abc"));
        assert_ne!(a, master_replid("abd"));
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
