//! Server family: DBSIZE FLUSHDB FLUSHALL SWAPDB TIME INFO CONFIG DEBUG SHUTDOWN.
//!
//! Whole-keyspace writes (FLUSHDB, FLUSHALL, SWAPDB) are *global* transactions: scheduled on every
//! shard with no key locks and `global = true`, then one concluding hop. A global transaction runs
//! on each shard only when it heads that shard's queue, and while it is pending no command takes
//! the lock-free fast path, so no client ever sees a keyspace that is flushed (or swapped) on some
//! shards and not yet on others. Read-only introspection (DBSIZE, INFO) visits shards with
//! `Engine::on_all_shards` and threads with `Engine::on_all_threads`, without locks.
//!
//! Where darter differs from Redis 7.0 on purpose (each also noted at its code):
//! - DEBUG is always enabled (Redis 7.0 refuses it unless `enable-debug-command` is set), and
//!   only OBJECT, POPULATE, SLEEP, SET-ACTIVE-EXPIRE and HELP exist; DEBUG SLEEP pauses the
//!   calling connection only (Redis stops the whole server), because an engine thread must never
//!   block. DEBUG POPULATE refuses sizes above `proto-max-bulk-len` and counts no table could hold
//!   (where Redis would try, and abort if the allocation failed).
//! - darter has no persistence yet and no save points: SHUTDOWN exits without saving, and
//!   SHUTDOWN SAVE fails the way Redis fails when it cannot save, unless FORCE is given.
//! - INFO prints only fields darter can fill truthfully (docs/design/memory.md lists the memory
//!   fields left out), and there is no Latencystats section yet.
//! - FLUSHDB/FLUSHALL ASYNC free memory synchronously (the reply is the same).
//!
//! INFO and the sampler behind its `instantaneous_*` fields live in `server/info.rs`. Nothing here
//! touches shard data outside a hop on the owning thread.

use crate::args::parse_i64;
use crate::context::Conn;
use crate::errors;
use crate::multi::panic_reply;
use crate::registry::{Cmd, Handler, LocalBoxFuture};
use crate::stats;
use bytes::Bytes;
use darter_collections::num::{format_i64, string2ll};
use darter_collections::{StrRef, StrValue, Value};
use darter_engine::keys::{key_fp, key_hash};
use darter_engine::{Engine, Entry, LockReq, Panicked, Record, Shard, Transaction};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

pub(crate) mod info;

use info::cmd_info;
pub use info::ensure_metrics_sampler;

pub static COMMANDS: &[Cmd] = &[
    Cmd::new("dbsize", Handler::Conn(cmd_dbsize)),
    Cmd::new("flushdb", Handler::Conn(cmd_flushdb)),
    Cmd::new("flushall", Handler::Conn(cmd_flushall)),
    Cmd::new("swapdb", Handler::Conn(cmd_swapdb)),
    Cmd::new("time", Handler::Conn(cmd_time)),
    Cmd::new("info", Handler::Conn(cmd_info)),
    Cmd::with_subs(
        "config",
        Handler::Conn(cmd_config),
        &["get", "set", "resetstat", "help"],
    ),
    Cmd::new("debug", Handler::Conn(cmd_debug)),
    Cmd::new("shutdown", Handler::Conn(cmd_shutdown)),
];

/// darter's own version (INFO `darter_version`).
pub const DARTER_VERSION: &str = env!("CARGO_PKG_VERSION");

// ---------------------------------------------------------------------------------------------------
// Whole-keyspace commands.
// ---------------------------------------------------------------------------------------------------

/// Runs `f` on every shard inside one global transaction (schedule on all shards, one concluding
/// hop). Results come back in shard order.
async fn global_hop<R, F>(engine: &Arc<Engine>, f: F) -> Result<Vec<R>, Panicked>
where
    R: Send + 'static,
    F: Fn(&mut Shard) -> R + Send + Sync + 'static,
{
    let per_shard = (0..engine.num_shards()).map(|s| (s, Vec::new())).collect();
    let mut tx = Transaction::schedule(engine, per_shard, true).await;
    tx.hop_all(f, true).await.into_iter().collect()
}

/// DBSIZE: keys in the selected database, summed over shards (keys that expired but were not
/// reclaimed yet count, as in Redis).
fn cmd_dbsize(c: &mut Conn, _args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        let db = c.state.db;
        let sizes = c.engine().on_all_shards(move |s| s.dbs[db].len()).await;
        c.out.int(sizes.iter().sum::<usize>() as i64);
    })
}

/// FLUSHDB/FLUSHALL's optional mode. Both empty the keyspace before replying; ASYNC is accepted
/// for compatibility and frees synchronously too (Redis frees in a background thread).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FlushMode {
    Sync,
    Async,
}

/// Redis's `getFlushCommandFlags`: nothing, or exactly one of SYNC / ASYNC.
fn parse_flush_mode(args: &[Bytes]) -> Option<FlushMode> {
    match args.len() {
        1 => Some(FlushMode::Sync),
        2 if args[1].eq_ignore_ascii_case(b"sync") => Some(FlushMode::Sync),
        2 if args[1].eq_ignore_ascii_case(b"async") => Some(FlushMode::Async),
        _ => None,
    }
}

/// Shard side of FLUSHDB: empties this shard's part of database `db`.
pub fn op_flushdb(shard: &mut Shard, db: usize) {
    shard.dbs[db].clear();
    shard.track_flush();
}

/// Shard side of FLUSHALL: empties this shard's part of every database.
pub fn op_flushall(shard: &mut Shard) {
    for db in &mut shard.dbs {
        db.clear();
    }
    shard.track_flush();
}

/// Shard side of SWAPDB: exchanges this shard's parts of databases `a` and `b` (WATCHers told).
pub fn op_swapdb(shard: &mut Shard, a: usize, b: usize) {
    shard.swap_dbs(a, b);
}

/// FLUSHDB [ASYNC|SYNC]
fn cmd_flushdb(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        if parse_flush_mode(&args).is_none() {
            return c.out.error(errors::SYNTAX);
        }
        let db = c.state.db;
        match global_hop(c.engine(), move |s| op_flushdb(s, db)).await {
            Ok(_) => {
                super::tracking::flushed(c.engine()).await;
                c.out.ok()
            }
            Err(p) => panic_reply(c, &p),
        }
    })
}

/// FLUSHALL [ASYNC|SYNC]
fn cmd_flushall(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        if parse_flush_mode(&args).is_none() {
            return c.out.error(errors::SYNTAX);
        }
        match global_hop(c.engine(), op_flushall).await {
            Ok(_) => {
                super::tracking::flushed(c.engine()).await;
                c.out.ok()
            }
            Err(p) => panic_reply(c, &p),
        }
    })
}

/// Redis's `getIntFromObjectOrReply`: a strict integer that fits a C `int`.
fn parse_c_int(a: &[u8]) -> Option<i64> {
    parse_i64(a).filter(|v| i32::try_from(*v).is_ok())
}

/// SWAPDB index1 index2
fn cmd_swapdb(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        let Some(a) = parse_c_int(&args[1]) else {
            return c.out.error(errors::INVALID_FIRST_DB);
        };
        let Some(b) = parse_c_int(&args[2]) else {
            return c.out.error(errors::INVALID_SECOND_DB);
        };
        let n = c.engine().dbnum() as i64;
        if !(0..n).contains(&a) || !(0..n).contains(&b) {
            return c.out.error(errors::INVALID_DB);
        }
        if a == b {
            return c.out.ok();
        }
        let (a, b) = (a as usize, b as usize);
        match global_hop(c.engine(), move |s| op_swapdb(s, a, b)).await {
            Ok(_) => c.out.ok(),
            Err(p) => panic_reply(c, &p),
        }
    })
}

/// TIME: [unix seconds, microseconds] as two bulk strings, from the engine's clock (the one
/// expiry uses, so a test's manual clock shows here too).
fn cmd_time(c: &mut Conn, _args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        let us = c.engine().clock.now_us();
        c.out.array(2);
        c.out.bulk_int((us / 1_000_000) as i64);
        c.out.bulk_int((us % 1_000_000) as i64);
    })
}

// ---------------------------------------------------------------------------------------------------
// CONFIG
// ---------------------------------------------------------------------------------------------------

/// CONFIG HELP, Redis 7.0's text without REWRITE (which darter does not implement).
const CONFIG_HELP: &[&str] = &[
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "HELP",
    "    Prints this help.",
];

/// CONFIG GET|SET|RESETSTAT|HELP (the dispatcher checked the subcommand and its arity).
///
/// Settings take effect where they are read: `requirepass`, `maxclients`, `timeout`,
/// `tcp-keepalive`, `proto-max-bulk-len` and `client-query-buffer-limit` are read live by the
/// connections and the listener, and `loglevel` reaches the log filter through the applier the
/// binary installs (`config::set_loglevel_applier`). `hz` is stored and reported but not applied:
/// the engine's heartbeat rate is fixed when it starts.
fn cmd_config(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        let sub = args[1].to_ascii_lowercase();
        match sub.as_slice() {
            b"get" => {
                let patterns: Vec<&[u8]> = args[2..].iter().map(|a| &a[..]).collect();
                let pairs = c.server.config.get(&patterns);
                c.out.map(pairs.len());
                for (name, value) in &pairs {
                    c.out.bulk(name.as_bytes());
                    c.out.bulk(value.as_bytes());
                }
            }
            b"set" => {
                // Redis: an odd argument count is a syntax error (`c->argc & 1`).
                if args.len() & 1 != 0 {
                    return c.out.error(errors::SYNTAX);
                }
                let pairs: Vec<(&[u8], &[u8])> = args[2..]
                    .chunks(2)
                    .map(|p| (&p[0][..], &p[1][..]))
                    .collect();
                match c.server.config.set(&pairs) {
                    Ok(()) => {
                        // Settings the engine applies itself.
                        c.engine().set_hz(c.server.config.hz());
                        let limits = c.server.config.limits();
                        let obuf = c.server.config.obuf_limit_pubsub();
                        c.engine()
                            .set_keyspace_events(c.server.config.keyspace_events());
                        c.engine()
                            .on_all_shards(move |s| {
                                s.limits = limits;
                                crate::notify::set_thread_limit(obuf);
                            })
                            .await;
                        // A new maxmemory is judged against a fresh sample at once.
                        crate::families::memory::sample();
                        c.out.ok()
                    }
                    Err(e) => c.out.error(&e),
                }
            }
            b"resetstat" => {
                reset_stats(c).await;
                c.out.ok();
            }
            b"help" => {
                c.out.array(CONFIG_HELP.len());
                for l in CONFIG_HELP {
                    c.out.simple(l.as_bytes());
                }
            }
            _ => c
                .out
                .error_bytes(&errors::unknown_subcommand(&args[1], "config")),
        }
    })
}

/// CONFIG RESETSTAT: what Redis's `resetServerStats` + command and error tables clear.
async fn reset_stats(c: &Conn) {
    c.engine().on_all_threads(|_| stats::reset()).await;
    c.engine().on_all_shards(|s| s.reset_stats()).await;
    c.server.total_connections.store(0, Ordering::Relaxed);
    c.server.rejected_connections.store(0, Ordering::Relaxed);
    info::reset_metrics(c.engine());
    crate::families::memory::reset_peak();
}

// ---------------------------------------------------------------------------------------------------
// DEBUG
// ---------------------------------------------------------------------------------------------------

/// DEBUG HELP: Redis 7.0's lines for the subcommands darter implements, in Redis's order.
const DEBUG_HELP: &[&str] = &[
    "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas. Cluster slots are not respected so keys not belonging to the",
    "    current node can be created in cluster mode.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "HELP",
    "    Prints this help.",
];

/// DEBUG OBJECT|POPULATE|SLEEP|SET-ACTIVE-EXPIRE|HELP. DEBUG is a plain command in Redis's table
/// (arity -2) that checks each subcommand's argument count itself.
fn cmd_debug(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        let sub = args[1].to_ascii_lowercase();
        match (sub.as_slice(), args.len()) {
            (b"help", 2) => {
                c.out.array(DEBUG_HELP.len());
                for l in DEBUG_HELP {
                    c.out.simple(l.as_bytes());
                }
            }
            (b"object", 3) => debug_object(c, args[2].clone()).await,
            (b"populate", 3..=5) => debug_populate(c, &args).await,
            (b"sleep", 3) => {
                if let Some(d) = sleep_duration(strtod_prefix(&args[2])) {
                    // Only this connection waits; the thread keeps serving everyone else.
                    tokio::time::sleep(d).await;
                }
                c.out.ok();
            }
            (b"set-active-expire", 3) => {
                let on = crate::keyspec::atoi(&args[2]) != 0;
                c.engine()
                    .on_all_shards(move |s| s.active_expire = on)
                    .await;
                c.out.ok();
            }
            _ => c
                .out
                .error(&errors::unknown_subcommand_or_args(&args[1], "debug")),
        }
    })
}

/// DEBUG OBJECT key: runs on the key's shard under a shared lock on the key.
async fn debug_object(c: &mut Conn, key: Bytes) {
    let engine = c.engine().clone();
    let db = c.state.db;
    let kh = key_hash(&key, engine.num_shards());
    let lock = [LockReq {
        fp: key_fp(kh.full, db),
        exclusive: false,
    }];
    let r = engine
        .run_on(kh.shard, &lock, move |s| op_debug_object(s, db, &key))
        .await;
    match r {
        Ok(Some(line)) => c.out.simple(line.as_bytes()),
        Ok(None) => c.out.error(errors::NO_SUCH_KEY),
        Err(p) => panic_reply(c, &p),
    }
}

/// Shard side of DEBUG OBJECT: the status line, or None when the key does not exist. Like
/// Redis's OBJECT lookups it reclaims an expired key, counts a hit or miss, and does not count as
/// an access.
pub fn op_debug_object(shard: &mut Shard, db: usize, key: &[u8]) -> Option<String> {
    let now = shard.now_ms();
    let line = shard.dbs[db]
        .find_notouch(key, now)
        .map(|e| describe_entry(e, now));
    if line.is_some() {
        shard.stats.keyspace_hits += 1;
    } else {
        shard.stats.keyspace_misses += 1;
    }
    line
}

/// What DEBUG POPULATE creates: `<prefix>:<n>` for n in 0..count, valued `value:<n>` (or that
/// text cut or NUL-padded to `size` bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Populate {
    pub count: u64,
    pub prefix: Vec<u8>,
    /// 0 = the natural `value:<n>`.
    pub size: usize,
}

/// Parses DEBUG POPULATE count [prefix] [size] as Redis 7.0 does: count and size are strict
/// non-negative integers (any failure is "must be positive"); count is checked, then whether a
/// table of that many keys could be allocated, then size. The prefix is read as a C string (up
/// to a NUL byte).
fn parse_populate(args: &[Bytes], max_size: usize) -> Result<Populate, &'static str> {
    let positive = |a: &[u8]| {
        parse_i64(a)
            .filter(|&v| v >= 0)
            .ok_or(errors::MUST_BE_POSITIVE)
    };
    let count = positive(&args[2])? as u64;
    // Redis first sizes its hash table for `count` entries (8 bytes a bucket) and gives up when
    // that allocation cannot be made; darter refuses where the buckets alone would exceed RAM.
    let buckets = count.checked_next_power_of_two().unwrap_or(u64::MAX);
    if buckets.saturating_mul(8) > crate::families::memory::total_system_memory().max(1 << 30) {
        return Err(errors::POPULATE_OOM);
    }
    let size = match args.get(4) {
        Some(a) => positive(a)? as u64,
        None => 0,
    };
    if size > max_size as u64 {
        return Err(errors::STRING_TOO_LONG);
    }
    let prefix = match args.get(3) {
        // Only the first 127 bytes of a name survive, so a longer prefix is all a name holds.
        Some(p) => {
            let p = crate::keyspec::c_str(p);
            p[..p.len().min(POPULATE_NAME_MAX)].to_vec()
        }
        None => b"key".to_vec(),
    };
    Ok(Populate {
        count,
        prefix,
        size: size as usize,
    })
}

/// Redis formats names into a 128-byte buffer with `snprintf`: at most 127 bytes survive.
const POPULATE_NAME_MAX: usize = 127;

/// Shard side of DEBUG POPULATE: walks the whole index range and creates the keys this shard
/// owns that do not exist yet (an existing key, even of another type, is left alone; an expired
/// one is replaced). Every shard walks the range in parallel; formatting and hashing a name is
/// all a shard spends on the names it does not own, and no key crosses threads. Returns how many
/// keys it created.
pub fn op_populate(shard: &mut Shard, shards: usize, db: usize, p: &Populate) -> u64 {
    let now = shard.now_ms();
    let me = shard.id;
    let mut key = Vec::with_capacity(POPULATE_NAME_MAX + 1);
    let mut val = Vec::with_capacity(32);
    let mut created = 0;
    for n in 0..p.count {
        key.clear();
        key.extend_from_slice(&p.prefix);
        key.push(b':');
        let mut buf = [0u8; 20];
        key.extend_from_slice(format_i64(n as i64, &mut buf));
        key.truncate(POPULATE_NAME_MAX);
        if darter_engine::shard_of(&key, shards) != me {
            continue;
        }
        let slice = &mut shard.dbs[db];
        if slice.contains(&key, now) {
            continue;
        }
        val.clear();
        val.extend_from_slice(b"value:");
        val.extend_from_slice(format_i64(n as i64, &mut buf));
        if p.size != 0 {
            // Redis copies min(size, len) bytes into a zeroed buffer of `size` bytes.
            val.resize(p.size, 0);
        }
        slice.set(&key, Record::new(Value::Str(StrValue::embstr_or_raw(&val))));
        created += 1;
    }
    created
}

/// DEBUG POPULATE count [prefix] [size]: one global transaction (like FLUSHALL) so the keys
/// appear at once for every other client, with every shard populating its part in parallel.
async fn debug_populate(c: &mut Conn, args: &[Bytes]) {
    let p = match parse_populate(args, c.server.config.proto_max_bulk_len()) {
        Ok(p) => p,
        Err(e) => return c.out.error(e),
    };
    let db = c.state.db;
    let shards = c.engine().num_shards();
    let p = Arc::new(p);
    match global_hop(c.engine(), move |s| op_populate(s, shards, db, &p)).await {
        Ok(_) => c.out.ok(),
        Err(e) => panic_reply(c, &e),
    }
}

/// Redis's `LRU_CLOCK_MAX`: the LRU clock is seconds modulo 2^24.
const LRU_CLOCK_MAX: u64 = (1 << 24) - 1;

/// The DEBUG OBJECT line for one entry, in Redis 7.0's format. `Value at` is the entry's
/// address on its shard; `refcount` is what Redis would show for the same value (darter does
/// not share values); `serializedlength` is the RDB length without LZF compression (Redis
/// compresses strings longer than 20 bytes when that saves space, so repetitive strings show a
/// smaller number there).
fn describe_entry(e: &Entry, now_ms: u64) -> String {
    let refcount = crate::families::generic::refcount(e);
    let idle = e.idle_secs(now_ms);
    let lru = (now_ms / 1000).saturating_sub(idle) & LRU_CLOCK_MAX;
    format!(
        "Value at:{:p} refcount:{} encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}",
        e as *const Entry,
        refcount,
        e.encoding(),
        serialized_len(e),
        lru,
        idle
    )
}

/// The RDB payload length of a value (Redis's `rdbSavedObjectLen`), uncompressed. Types whose
/// RDB encoding darter does not compute yet report 0.
fn serialized_len(e: &Entry) -> usize {
    match e.as_str() {
        Some(s) => string_serialized_len(s),
        None => 0,
    }
}

/// Redis's `rdbSaveLen` size: 1, 2, 5 or 9 bytes.
fn rdb_len_size(n: usize) -> usize {
    if n < 1 << 6 {
        1
    } else if n < 1 << 14 {
        2
    } else if n as u64 <= u64::from(u32::MAX) {
        5
    } else {
        9
    }
}

/// Redis's `rdbEncodeInteger` size: an encoding byte plus 1, 2 or 4 bytes; None past 32 bits.
fn rdb_int_size(v: i64) -> Option<usize> {
    if i8::try_from(v).is_ok() {
        Some(2)
    } else if i16::try_from(v).is_ok() {
        Some(3)
    } else if i32::try_from(v).is_ok() {
        Some(5)
    } else {
        None
    }
}

/// `rdbSaveStringObject`: integers as RDB integers when they fit 32 bits, short strings that
/// are canonical integers likewise, everything else as length + bytes.
fn string_serialized_len(s: StrRef<'_>) -> usize {
    let as_string = |len: usize| rdb_len_size(len) + len;
    match s {
        StrRef::Int(v) => rdb_int_size(v).unwrap_or_else(|| {
            let mut buf = [0u8; 20];
            as_string(format_i64(v, &mut buf).len())
        }),
        _ => s.with_bytes(|b| {
            if b.len() <= 11 {
                // Redis's strict string2ll round-trips exactly, as rdbTryIntegerEncoding needs.
                if let Some(n) = string2ll(b).and_then(rdb_int_size) {
                    return n;
                }
            }
            as_string(b.len())
        }),
    }
}

/// DEBUG SLEEP's argument as C's `strtod(s, NULL)` reads it: the longest decimal-float prefix
/// after leading whitespace (`inf`, `infinity` and `nan` too), 0 when there is none. Hexadecimal
/// floats are not recognized (they read as 0).
fn strtod_prefix(s: &[u8]) -> f64 {
    let s = s.iter().position(|&b| b == 0).map_or(s, |n| &s[..n]);
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let mut i = 0;
    while matches!(at(i), b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let start = i;
    let neg = at(i) == b'-';
    if matches!(at(i), b'+' | b'-') {
        i += 1;
    }
    let rest = s[i..].to_ascii_lowercase();
    if rest.starts_with(b"inf") {
        return if neg {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
    }
    if rest.starts_with(b"nan") {
        return f64::NAN;
    }
    let mut digits = false;
    while at(i).is_ascii_digit() {
        i += 1;
        digits = true;
    }
    if at(i) == b'.' {
        i += 1;
        while at(i).is_ascii_digit() {
            i += 1;
            digits = true;
        }
    }
    if !digits {
        return 0.0;
    }
    if matches!(at(i), b'e' | b'E') {
        let mut j = i + 1;
        if matches!(at(j), b'+' | b'-') {
            j += 1;
        }
        if at(j).is_ascii_digit() {
            while at(j).is_ascii_digit() {
                j += 1;
            }
            i = j;
        }
    }
    std::str::from_utf8(&s[start..i])
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(0.0)
}

/// How long DEBUG SLEEP waits: Redis converts seconds to `long long` microseconds and calls
/// `nanosleep`, which refuses negative times, so negative, NaN and out-of-range values (the x86
/// conversion yields LLONG_MIN) do not sleep at all.
fn sleep_duration(secs: f64) -> Option<Duration> {
    let us = secs * 1e6;
    if !(1.0..9.223_372_036_854_776e18).contains(&us) {
        return None;
    }
    Some(Duration::from_micros(us as u64))
}

// ---------------------------------------------------------------------------------------------------
// SHUTDOWN
// ---------------------------------------------------------------------------------------------------

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT], parsed as Redis 7.0 parses it.
///
/// darter has no persistence and no save points, so a plain SHUTDOWN (and NOSAVE) exits at once,
/// as Redis does with `save ""`. SHUTDOWN SAVE asks for a save darter cannot make, so it fails
/// with Redis's "could not save" error and keeps running, unless FORCE says to exit anyway. There
/// is never a shutdown in progress to ABORT (darter does not wait for replicas). On success no
/// reply is written: the connection closes and the server stops accepting, and the process exits
/// once `Running::wait` sees the request.
fn cmd_shutdown(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        let (mut nosave, mut save, mut force, mut abort, mut flags) =
            (false, false, false, false, false);
        for a in &args[1..] {
            let a = a.to_ascii_lowercase();
            match a.as_slice() {
                b"nosave" => nosave = true,
                b"save" => save = true,
                b"now" => {}
                b"force" => force = true,
                b"abort" => {
                    abort = true;
                    continue;
                }
                _ => return c.out.error(errors::SYNTAX),
            }
            flags = true;
        }
        if (abort && flags) || (nosave && save) {
            return c.out.error(errors::SYNTAX);
        }
        if abort {
            return c.out.error(errors::NO_SHUTDOWN_IN_PROGRESS);
        }
        if save && !force {
            tracing::warn!("SHUTDOWN SAVE refused: darter has no persistence to save with");
            return c.out.error(errors::SHUTDOWN_FAILED);
        }
        tracing::warn!("User requested shutdown...");
        c.server.request_shutdown();
        c.state.close_after_reply = true;
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use darter_engine::clock::Clock;

    fn shard() -> Shard {
        Shard::new(0, 4, Arc::new(Clock::manual()))
    }

    fn put(s: &mut Shard, db: usize, key: &[u8], val: &[u8]) {
        s.dbs[db].set(key, Record::new(Value::Str(StrValue::from_bytes(val))));
    }

    #[test]
    fn flush_and_swap_ops() {
        let mut s = shard();
        put(&mut s, 0, b"a", b"1");
        put(&mut s, 1, b"b", b"2");
        put(&mut s, 1, b"c", b"3");
        op_swapdb(&mut s, 0, 1);
        assert_eq!((s.dbs[0].len(), s.dbs[1].len()), (2, 1));
        op_flushdb(&mut s, 0);
        assert_eq!((s.dbs[0].len(), s.dbs[1].len()), (0, 1));
        put(&mut s, 3, b"d", b"4");
        op_flushall(&mut s);
        assert!(s.dbs.iter().all(|d| d.is_empty()));
    }

    fn bargs(a: &[&[u8]]) -> Vec<Bytes> {
        a.iter().map(|s| Bytes::copy_from_slice(s)).collect()
    }

    #[test]
    fn populate_arguments_follow_redis() {
        let parse = |a: &[&[u8]]| parse_populate(&bargs(a), 512 << 20);
        let d: &[u8] = b"DEBUG";
        let pp: &[u8] = b"POPULATE";
        assert_eq!(
            parse(&[d, pp, b"3"]),
            Ok(Populate {
                count: 3,
                prefix: b"key".to_vec(),
                size: 0
            })
        );
        assert_eq!(
            parse(&[d, pp, b"3", b"p\0x", b"10"]),
            Ok(Populate {
                count: 3,
                prefix: b"p".to_vec(),
                size: 10
            })
        );
        for bad in [&b"-1"[..], b"x", b"+5", b"05", b"1.5", b""] {
            assert_eq!(parse(&[d, pp, bad]), Err(errors::MUST_BE_POSITIVE));
            assert_eq!(
                parse(&[d, pp, b"1", b"p", bad]),
                Err(errors::MUST_BE_POSITIVE)
            );
        }
        assert_eq!(
            parse(&[d, pp, b"9223372036854775807"]),
            Err(errors::POPULATE_OOM)
        );
        assert_eq!(
            parse(&[d, pp, b"9223372036854775807", b"p", b"x"]),
            Err(errors::POPULATE_OOM)
        );
        assert_eq!(
            parse(&[d, pp, b"1", b"p", b"600000000"]),
            Err(errors::STRING_TOO_LONG)
        );
    }

    #[test]
    fn populate_creates_owned_missing_keys_only() {
        let shards = 3;
        let mut all: Vec<Shard> = (0..shards)
            .map(|i| Shard::new(i, 4, Arc::new(Clock::manual())))
            .collect();
        let target = darter_engine::shard_of(b"p:1", shards);
        put(&mut all[target], 0, b"p:1", b"mine");
        let p = Populate {
            count: 10,
            prefix: b"p".to_vec(),
            size: 0,
        };
        let made: u64 = all.iter_mut().map(|s| op_populate(s, shards, 0, &p)).sum();
        assert_eq!(made, 9);
        assert_eq!(all.iter().map(|s| s.dbs[0].len()).sum::<usize>(), 10);
        let get = |all: &mut [Shard], k: &[u8]| {
            let s = darter_engine::shard_of(k, shards);
            all[s].dbs[0]
                .peek(k, 0)
                .map(|e| e.as_str().unwrap().to_vec())
        };
        assert_eq!(get(&mut all, b"p:1"), Some(b"mine".to_vec()));
        assert_eq!(get(&mut all, b"p:7"), Some(b"value:7".to_vec()));
        // Size: cut, or padded with NULs; embstr up to 44 bytes, raw beyond (as Redis).
        let p = Populate {
            count: 2,
            prefix: b"s".to_vec(),
            size: 3,
        };
        all.iter_mut().for_each(|s| {
            op_populate(s, shards, 1, &p);
        });
        let s1 = darter_engine::shard_of(b"s:1", shards);
        assert_eq!(
            all[s1].dbs[1]
                .peek(b"s:1", 0)
                .unwrap()
                .as_str()
                .unwrap()
                .to_vec(),
            b"val"
        );
        let p = Populate {
            count: 2,
            prefix: b"b".to_vec(),
            size: 45,
        };
        all.iter_mut().for_each(|s| {
            op_populate(s, shards, 2, &p);
        });
        let b1 = darter_engine::shard_of(b"b:1", shards);
        let e = all[b1].dbs[2].peek(b"b:1", 0).unwrap();
        let mut want = b"value:1".to_vec();
        want.resize(45, 0);
        assert_eq!(e.as_str().unwrap().to_vec(), want);
        assert_eq!(e.encoding(), "raw");
        // Names are cut to 127 bytes like Redis's snprintf: a long prefix collapses every key.
        let p = Populate {
            count: 5,
            prefix: vec![b'x'; 130],
            size: 0,
        };
        let made: u64 = all.iter_mut().map(|s| op_populate(s, shards, 3, &p)).sum();
        assert_eq!(made, 1);
    }

    #[test]
    fn debug_object_lines() {
        let mut s = shard();
        put(&mut s, 0, b"n", b"123");
        put(&mut s, 0, b"big", b"12345678901");
        put(&mut s, 0, b"k", b"hello");
        put(&mut s, 0, b"long", &[b'a'; 69]);
        let line = |s: &mut Shard, k: &[u8]| {
            let l = op_debug_object(s, 0, k).unwrap();
            // Drop the address, which varies.
            l[l.find("refcount").unwrap()..].to_string()
        };
        // The tails of redis-server 7.0.15's answers for the same values (the LRU fields vary).
        assert!(line(&mut s, b"n")
            .starts_with("refcount:2147483647 encoding:int serializedlength:2 lru:"));
        assert!(line(&mut s, b"big").starts_with("refcount:1 encoding:int serializedlength:12 "));
        assert!(line(&mut s, b"k").starts_with("refcount:1 encoding:embstr serializedlength:6 "));
        // Redis LZF-compresses this one to 13; darter reports the uncompressed length.
        assert!(line(&mut s, b"long").starts_with("refcount:1 encoding:raw serializedlength:71 "));
        assert!(line(&mut s, b"k").ends_with("lru_seconds_idle:0"));
        assert!(op_debug_object(&mut s, 0, b"nosuch").is_none());
        assert_eq!((s.stats.keyspace_hits, s.stats.keyspace_misses), (5, 1));
        assert!(op_debug_object(&mut s, 0, b"k")
            .unwrap()
            .starts_with("Value at:0x"));
    }

    #[test]
    fn serialized_lengths() {
        let len = |b: &[u8]| string_serialized_len(StrValue::from_bytes(b).as_ref());
        assert_eq!(len(b"-128"), 2);
        assert_eq!(len(b"-129"), 3);
        assert_eq!(len(b"32767"), 3);
        assert_eq!(len(b"32768"), 5);
        assert_eq!(len(b"2147483648"), 11);
        assert_eq!(len(b""), 1);
        assert_eq!(len(&[b'x'; 63]), 64);
        assert_eq!(len(&[b'x'; 64]), 66);
        assert_eq!(string_serialized_len(StrRef::Raw(b"77")), 2);
        assert_eq!(string_serialized_len(StrRef::Raw(b"077")), 4);
        assert_eq!(rdb_len_size(16383), 2);
        assert_eq!(rdb_len_size(16384), 5);
    }

    #[test]
    fn strtod_and_atoi_follow_c() {
        let cases: &[(&str, f64)] = &[
            ("0.5", 0.5),
            ("  1.5xyz", 1.5),
            ("+2", 2.0),
            ("-1", -1.0),
            (".25", 0.25),
            ("3.", 3.0),
            ("1e-3", 0.001),
            ("1e", 1.0),
            ("1e+", 1.0),
            ("x", 0.0),
            ("", 0.0),
            (".", 0.0),
            ("-", 0.0),
        ];
        for &(s, want) in cases {
            assert_eq!(strtod_prefix(s.as_bytes()), want, "{s:?}");
        }
        assert_eq!(strtod_prefix(b"INF"), f64::INFINITY);
        assert_eq!(strtod_prefix(b"-infinity"), f64::NEG_INFINITY);
        assert!(strtod_prefix(b"nan").is_nan());
        assert_eq!(sleep_duration(0.0), None);
        assert_eq!(sleep_duration(-1.0), None);
        assert_eq!(sleep_duration(f64::INFINITY), None);
        assert_eq!(sleep_duration(f64::NAN), None);
        assert_eq!(sleep_duration(1e300), None);
        assert_eq!(sleep_duration(0.01), Some(Duration::from_millis(10)));
        assert_eq!(crate::keyspec::atoi(b"1"), 1);
        assert_eq!(crate::keyspec::atoi(b"x"), 0);
        assert_eq!(crate::keyspec::atoi(b" -2abc"), -2);
        assert_eq!(crate::keyspec::atoi(b"4294967296"), 0);
        assert_eq!(crate::keyspec::atoi(b"99999999999999999999"), -1);
    }
}
