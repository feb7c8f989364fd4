//! memcached requests (parsed by `darter-memcache`) executed against database 0 of the shared
//! keyspace: the coordinator side of the memcached port.
//!
//! ```text
//!   memcached connection (crates/server/src/memcached.rs)
//!        │ Request
//!        ▼
//!   Session::execute ──▶ one key: Engine::run_on(key's shard, [intent lock]) ──▶ ops::op_*
//!                    ──▶ many keys (get/gets/gat/gats): one VLL transaction over their shards
//!                    ──▶ flush_all: a global transaction (FLUSHDB 0), now or after a delay
//! ```
//!
//! Keys reach their shards exactly as RESP commands do (inline when local and unlocked, else a
//! hop), so memcached and Redis clients see one serializable keyspace. Statistics are per thread
//! (`stats` gathers them by a hop to every thread). Must not: touch shard data outside a hop,
//! or hold anything shared between threads but atomics.

mod binary;
pub mod meta_ops;
pub mod ops;

use crate::context::Server;
use bytes::Bytes;
use darter_engine::keys::{key_fp, key_hash};
use darter_engine::tx::HopFn;
use darter_engine::{DbSlice, Engine, LockReq, Panicked, Shard, Transaction};
use darter_memcache::meta::base64_encode;
use darter_memcache::{reply, Meta, MetaCmd, Request, SetMode, StoreOp};
use meta_ops::{ArithOpts, GetOpts, MetaItem, MetaResult, SetOpts};
use ops::{ArithResult, Item, Store, StoreResult};
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// memcached items live in this database of the keyspace.
pub const MC_DB: usize = 0;

/// Process-wide memcached state: settings and connection counters (no keyspace data).
#[derive(Debug, Default)]
pub struct McShared {
    /// `--memcached_max_item_size`.
    pub max_item_size: usize,
    /// The memcached port actually bound.
    pub tcp_port: AtomicU64,
    pub curr_connections: AtomicU64,
    pub total_connections: AtomicU64,
    pub verbosity: AtomicU64,
    /// Bumped by every flush_all: a delayed flush runs only if none came after it.
    flush_gen: AtomicU64,
}

impl McShared {
    pub fn new(max_item_size: usize) -> McShared {
        McShared {
            max_item_size,
            ..McShared::default()
        }
    }
}

/// Per-thread memcached counters (memcached's own names).
#[derive(Clone, Copy, Debug, Default)]
pub struct McStats {
    pub cmd_get: u64,
    pub cmd_set: u64,
    pub cmd_flush: u64,
    pub cmd_touch: u64,
    pub cmd_meta: u64,
    pub get_hits: u64,
    pub get_misses: u64,
    pub delete_misses: u64,
    pub delete_hits: u64,
    pub incr_misses: u64,
    pub incr_hits: u64,
    pub decr_misses: u64,
    pub decr_hits: u64,
    pub cas_misses: u64,
    pub cas_hits: u64,
    pub cas_badval: u64,
    pub touch_hits: u64,
    pub touch_misses: u64,
    pub store_too_large: u64,
    pub total_items: u64,
    pub bytes_read: u64,
    pub bytes_written: u64,
}

impl McStats {
    fn add(&mut self, o: &McStats) {
        macro_rules! sum {
            ($($f:ident),*) => { $(self.$f += o.$f;)* };
        }
        sum!(
            cmd_get,
            cmd_set,
            cmd_flush,
            cmd_touch,
            cmd_meta,
            get_hits,
            get_misses,
            delete_misses,
            delete_hits,
            incr_misses,
            incr_hits,
            decr_misses,
            decr_hits,
            cas_misses,
            cas_hits,
            cas_badval,
            touch_hits,
            touch_misses,
            store_too_large,
            total_items,
            bytes_read,
            bytes_written
        );
    }
}

thread_local! {
    static STATS: RefCell<McStats> = RefCell::new(McStats::default());
}

/// Updates this thread's memcached counters.
pub fn stats<R>(f: impl FnOnce(&mut McStats) -> R) -> R {
    STATS.with(|s| f(&mut s.borrow_mut()))
}

/// One memcached connection's coordinator state and output.
pub struct Session {
    pub server: Arc<Server>,
    pub shared: Arc<McShared>,
    /// Replies not yet written.
    pub out: Vec<u8>,
    /// Set by `quit`: close once the output is written.
    pub quit: bool,
}

impl Session {
    pub fn new(server: Arc<Server>, shared: Arc<McShared>) -> Session {
        Session {
            server,
            shared,
            out: Vec::with_capacity(16 * 1024),
            quit: false,
        }
    }

    fn engine(&self) -> &Arc<Engine> {
        &self.server.engine
    }

    /// Runs `f` on `key`'s shard with an intent lock on the key (database 0).
    async fn on_key<R, F>(&self, key: &[u8], exclusive: bool, f: F) -> Result<R, Panicked>
    where
        R: Send + 'static,
        F: FnOnce(&mut DbSlice, u64) -> R + Send + 'static,
    {
        let kh = key_hash(key, self.engine().num_shards());
        let lock = LockReq {
            fp: key_fp(kh.full, MC_DB),
            exclusive,
        };
        self.engine()
            .run_on(kh.shard, &[lock], move |s: &mut Shard| {
                let now = s.now_ms();
                f(&mut s.dbs[MC_DB], now)
            })
            .await
    }

    fn server_error(&mut self, p: &Panicked) {
        reply::line(&mut self.out, &format!("SERVER_ERROR {}", p.0));
    }

    /// Executes one text request, appending its reply (if any) to `out`.
    pub async fn execute(&mut self, req: Request<'_>) {
        match req {
            Request::Store {
                op,
                key,
                flags,
                exptime,
                data,
                cas,
                noreply,
            } => {
                let store = Store {
                    op,
                    flags,
                    exptime,
                    cas,
                    want_cas: false,
                };
                let r = self.store(key, store, data).await;
                if let Ok((r, _)) = &r {
                    if !noreply {
                        self.out.extend_from_slice(store_reply(*r));
                    }
                } else if let Err(p) = &r {
                    self.server_error(p);
                }
            }
            Request::TooLarge { op, key, noreply } => {
                stats(|s| s.store_too_large += 1);
                if op == StoreOp::Set {
                    // memcached drops the stale item rather than keep serving it.
                    let k = key_vec(key);
                    let _ = self
                        .on_key(key, true, move |db, now| ops::op_delete(db, &k, now))
                        .await;
                }
                if !noreply {
                    reply::line(&mut self.out, darter_memcache::text::TOO_LARGE);
                }
            }
            Request::Get { keys, cas } => self.get_many(&keys, None, cas).await,
            Request::Gat { exptime, keys, cas } => self.get_many(&keys, Some(exptime), cas).await,
            Request::Delete { key, noreply } => {
                let k = key_vec(key);
                match self
                    .on_key(key, true, move |db, now| ops::op_delete(db, &k, now))
                    .await
                {
                    Ok(hit) => {
                        stats(|s| {
                            if hit {
                                s.delete_hits += 1
                            } else {
                                s.delete_misses += 1
                            }
                        });
                        if !noreply {
                            self.out.extend_from_slice(if hit {
                                reply::DELETED
                            } else {
                                reply::NOT_FOUND
                            });
                        }
                    }
                    Err(p) => self.server_error(&p),
                }
            }
            Request::Arith {
                key,
                delta,
                incr,
                noreply,
            } => {
                let k = key_vec(key);
                let r = self
                    .on_key(key, true, move |db, now| {
                        ops::op_arith(db, &k, delta, incr, false, now)
                    })
                    .await;
                match r {
                    Ok((r, _)) => {
                        stats(|s| match (incr, r) {
                            (true, ArithResult::NotFound) => s.incr_misses += 1,
                            (true, _) => s.incr_hits += 1,
                            (false, ArithResult::NotFound) => s.decr_misses += 1,
                            (false, _) => s.decr_hits += 1,
                        });
                        if !noreply {
                            match r {
                                ArithResult::NotFound => {
                                    self.out.extend_from_slice(reply::NOT_FOUND)
                                }
                                ArithResult::NonNumeric => {
                                    self.out.extend_from_slice(reply::NON_NUMERIC)
                                }
                                ArithResult::Value(v) => reply::number(&mut self.out, v),
                            }
                        }
                    }
                    Err(p) => self.server_error(&p),
                }
            }
            Request::Touch {
                key,
                exptime,
                noreply,
            } => {
                let k = key_vec(key);
                match self
                    .on_key(key, true, move |db, now| {
                        ops::op_touch(db, &k, exptime, now)
                    })
                    .await
                {
                    Ok(hit) => {
                        stats(|s| {
                            s.cmd_touch += 1;
                            if hit {
                                s.touch_hits += 1
                            } else {
                                s.touch_misses += 1
                            }
                        });
                        if !noreply {
                            self.out.extend_from_slice(if hit {
                                reply::TOUCHED
                            } else {
                                reply::NOT_FOUND
                            });
                        }
                    }
                    Err(p) => self.server_error(&p),
                }
            }
            Request::FlushAll { delay, noreply } => {
                stats(|s| s.cmd_flush += 1);
                self.flush_all(delay).await;
                if !noreply {
                    self.out.extend_from_slice(reply::OK);
                }
            }
            Request::Version => {
                reply::line(&mut self.out, &format!("VERSION {}", reply::VERSION));
            }
            Request::Verbosity { noreply } => {
                if !noreply {
                    self.out.extend_from_slice(reply::OK);
                }
            }
            Request::Quit => self.quit = true,
            Request::Stats { args } => self.stats(&args).await,
            Request::Error { line, noreply } => {
                if !noreply {
                    reply::line(&mut self.out, line);
                }
            }
            Request::Meta(cmd, m) => {
                stats(|s| s.cmd_meta += 1);
                if let Err(p) = self.meta(cmd, m).await {
                    self.server_error(&p);
                }
            }
        }
    }

    /// One meta command.
    async fn meta(&mut self, cmd: MetaCmd, m: Meta<'_>) -> Result<(), Panicked> {
        let k: Box<[u8]> = m.lookup.clone().into();
        match cmd {
            MetaCmd::Noop => self.out.extend_from_slice(b"MN\r\n"),
            MetaCmd::Debug => {
                let info = self
                    .on_key(&m.lookup, false, move |db, now| {
                        meta_ops::op_me(db, &k, now)
                    })
                    .await?;
                match info {
                    Some(i) => {
                        self.out.extend_from_slice(b"ME ");
                        self.out.extend_from_slice(m.key);
                        reply::line(&mut self.out, &format!(" {i}"));
                    }
                    None => self.out.extend_from_slice(b"EN\r\n"),
                }
            }
            MetaCmd::Get => {
                let opts = GetOpts {
                    ttl: m.ttl,
                    vivify: m.vivify,
                    recache: m.recache,
                };
                let item = self
                    .on_key(&m.lookup, true, move |db, now| {
                        meta_ops::op_mg(db, &k, opts, now)
                    })
                    .await?;
                stats(|s| {
                    s.cmd_get += 1;
                    if item.is_some() {
                        s.get_hits += 1
                    } else {
                        s.get_misses += 1
                    }
                });
                match item {
                    None => {
                        if !m.quiet {
                            self.out.extend_from_slice(b"EN");
                            self.echo(&m, false);
                            self.out.extend_from_slice(b"\r\n");
                        }
                    }
                    Some(it) => self.meta_hit(&m, &it),
                }
            }
            MetaCmd::Set => {
                let opts = SetOpts {
                    mode: m.set_mode.unwrap_or(SetMode::Set),
                    flags: m.client_flags.unwrap_or(0),
                    ttl: m.ttl.unwrap_or(0),
                    compare_cas: m.compare_cas,
                    invalidate: m.invalidate,
                    binary_key: m.base64,
                };
                let data = m.data.to_vec();
                let (r, cas) = self
                    .on_key(&m.lookup, true, move |db, now| {
                        meta_ops::op_ms(db, &k, &opts, &data, now)
                    })
                    .await?;
                stats(|s| {
                    s.cmd_set += 1;
                    if r == MetaResult::Done {
                        s.total_items += 1;
                    }
                });
                self.meta_status(&m, r, |f| (f == b'c').then_some(cas));
            }
            MetaCmd::Delete => {
                let (c, inv, ttl) = (m.compare_cas, m.invalidate, m.ttl);
                let r = self
                    .on_key(&m.lookup, true, move |db, now| {
                        meta_ops::op_md(db, &k, c, inv, ttl, now)
                    })
                    .await?;
                stats(|s| match r {
                    MetaResult::Done => s.delete_hits += 1,
                    _ => s.delete_misses += 1,
                });
                self.meta_status(&m, r, |_| None);
            }
            MetaCmd::Arith => {
                let opts = ArithOpts {
                    incr: m.incr,
                    delta: m.delta,
                    initial: m.initial,
                    vivify: m.vivify,
                    compare_cas: m.compare_cas,
                    ttl: m.ttl,
                };
                let (r, v, cas, ttl) = self
                    .on_key(&m.lookup, true, move |db, now| {
                        meta_ops::op_ma(db, &k, opts, now)
                    })
                    .await?;
                stats(|s| match (m.incr, r) {
                    (true, MetaResult::NotFound) => s.incr_misses += 1,
                    (true, _) => s.incr_hits += 1,
                    (false, MetaResult::NotFound) => s.decr_misses += 1,
                    (false, _) => s.decr_hits += 1,
                });
                if r == MetaResult::Done && m.value {
                    let text = v.to_string();
                    self.out
                        .extend_from_slice(format!("VA {}", text.len()).as_bytes());
                    self.meta_flags(&m, |f| match f {
                        b't' => Some(ttl.to_string()),
                        b'c' => Some(cas.to_string()),
                        _ => None,
                    });
                    self.out.extend_from_slice(b"\r\n");
                    reply::line(&mut self.out, &text);
                } else {
                    self.meta_status_with(&m, r, |f| match f {
                        b't' => Some(ttl.to_string()),
                        b'c' => Some(cas.to_string()),
                        _ => None,
                    });
                }
            }
        }
        Ok(())
    }

    /// A status line (HD NS EX NF) with the flags the command echoes; `q` hides HD.
    fn meta_status(&mut self, m: &Meta<'_>, r: MetaResult, value: impl Fn(u8) -> Option<u64>) {
        self.meta_status_with(m, r, |f| value(f).map(|v| v.to_string()));
    }

    fn meta_status_with(
        &mut self,
        m: &Meta<'_>,
        r: MetaResult,
        value: impl Fn(u8) -> Option<String>,
    ) {
        let code: &[u8] = match r {
            MetaResult::Done if m.quiet => return,
            MetaResult::Done => b"HD",
            MetaResult::NotStored => b"NS",
            MetaResult::Exists => b"EX",
            MetaResult::NotFound => b"NF",
            MetaResult::NonNumeric => {
                self.out.extend_from_slice(reply::NON_NUMERIC);
                return;
            }
        };
        self.out.extend_from_slice(code);
        if r == MetaResult::Done {
            self.meta_flags(m, value);
        } else {
            self.echo(m, false);
        }
        self.out.extend_from_slice(b"\r\n");
    }

    /// Appends ` <flag><value>` for each output flag of the request that `value` knows, plus k/O.
    fn meta_flags(&mut self, m: &Meta<'_>, value: impl Fn(u8) -> Option<String>) {
        for &f in &m.ret {
            match f {
                b'k' | b'O' => self.echo_one(m, f, false),
                _ => {
                    if let Some(v) = value(f) {
                        self.out.push(b' ');
                        self.out.push(f);
                        self.out.extend_from_slice(v.as_bytes());
                    }
                }
            }
        }
    }

    /// The k and O flags of a request (what misses and failures echo).
    fn echo(&mut self, m: &Meta<'_>, binary: bool) {
        for &f in &m.ret {
            if f == b'k' || f == b'O' {
                self.echo_one(m, f, binary);
            }
        }
    }

    fn echo_one(&mut self, m: &Meta<'_>, f: u8, binary: bool) {
        self.out.push(b' ');
        self.out.push(f);
        if f == b'O' {
            self.out.extend_from_slice(m.opaque.unwrap_or_default());
        } else if m.base64 || binary {
            self.out.extend_from_slice(&base64_encode(&m.lookup));
            self.out.extend_from_slice(b" b");
        } else {
            self.out.extend_from_slice(m.key);
        }
    }

    /// An mg hit: `VA <len> <flags>` and the value, or `HD <flags>`; then Z, X, W.
    fn meta_hit(&mut self, m: &Meta<'_>, it: &MetaItem) {
        if m.value {
            self.out.extend_from_slice(b"VA ");
            reply::push_u64(&mut self.out, it.data.len() as u64);
        } else {
            self.out.extend_from_slice(b"HD");
        }
        for &f in &m.ret {
            let v = match f {
                b'k' | b'O' => {
                    self.echo_one(m, f, it.binary_key);
                    continue;
                }
                b'c' => it.cas.to_string(),
                b'f' => it.flags.to_string(),
                b'h' => u8::from(it.hit_before).to_string(),
                b'l' => it.last_access.to_string(),
                b's' => it.data.len().to_string(),
                b't' => it.ttl.to_string(),
                _ => continue,
            };
            self.out.push(b' ');
            self.out.push(f);
            self.out.extend_from_slice(v.as_bytes());
        }
        if it.token_sent {
            self.out.extend_from_slice(b" Z");
        }
        if it.stale {
            self.out.extend_from_slice(b" X");
        }
        if it.won {
            self.out.extend_from_slice(b" W");
        }
        self.out.extend_from_slice(b"\r\n");
        if m.value {
            self.out.extend_from_slice(&it.data);
            self.out.extend_from_slice(b"\r\n");
        }
    }

    /// A storage command on its key's shard; counts it.
    async fn store(
        &mut self,
        key: &[u8],
        store: Store,
        data: &[u8],
    ) -> Result<(StoreResult, u64), Panicked> {
        let k = key_vec(key);
        let data = data.to_vec();
        let op = store.op;
        let r = self
            .on_key(key, true, move |db, now| {
                ops::op_store(db, &k, &store, &data, now)
            })
            .await?;
        stats(|s| {
            s.cmd_set += 1;
            if r.0 == StoreResult::Stored {
                s.total_items += 1;
            }
            if op == StoreOp::Cas {
                match r.0 {
                    StoreResult::Stored => s.cas_hits += 1,
                    StoreResult::Exists => s.cas_badval += 1,
                    _ => s.cas_misses += 1,
                }
            }
        });
        Ok(r)
    }

    /// get/gets/gat/gats over any number of keys: one shard is one hop; several are one VLL
    /// transaction (shared locks for get, exclusive for gat, which writes the deadline).
    async fn get_many(&mut self, keys: &[&[u8]], touch: Option<i64>, cas: bool) {
        let items = match self.fetch(keys, touch, cas).await {
            Ok(items) => items,
            Err(p) => return self.server_error(&p),
        };
        let hits = items.iter().filter(|i| i.is_some()).count() as u64;
        stats(|s| {
            let n = keys.len() as u64;
            if touch.is_some() {
                s.cmd_touch += n;
                s.touch_hits += hits;
                s.touch_misses += n - hits;
            }
            s.cmd_get += n;
            s.get_hits += hits;
            s.get_misses += n - hits;
        });
        for (key, item) in keys.iter().zip(items) {
            if let Some(it) = item {
                reply::value(
                    &mut self.out,
                    key,
                    it.flags,
                    &it.data,
                    cas.then_some(it.cas),
                );
            }
        }
        self.out.extend_from_slice(reply::END);
    }

    /// The items of `keys`, in order.
    async fn fetch(
        &self,
        keys: &[&[u8]],
        touch: Option<i64>,
        cas: bool,
    ) -> Result<Vec<Option<Item>>, Panicked> {
        let exclusive = touch.is_some() || cas;
        if let [key] = keys {
            let k = key_vec(key);
            let item = self
                .on_key(key, exclusive, move |db, now| {
                    ops::op_get(db, &k, touch, cas, now)
                })
                .await?;
            return Ok(vec![item]);
        }
        let groups = crate::multi::KeyGroups::new(
            self.engine().num_shards(),
            MC_DB,
            keys.iter()
                .enumerate()
                .map(|(i, k)| (i, Bytes::copy_from_slice(k))),
            exclusive,
        );
        let per_shard = groups
            .shards
            .iter()
            .copied()
            .zip(groups.locks.iter().cloned())
            .collect();
        let mut tx = Transaction::schedule(self.engine(), per_shard, false).await;
        type Found = Vec<(usize, Option<Item>)>;
        let jobs: Vec<Option<HopFn<Found>>> = groups
            .keys
            .into_iter()
            .map(|keys| {
                Some(Box::new(move |s: &mut Shard| {
                    let now = s.now_ms();
                    let db = &mut s.dbs[MC_DB];
                    keys.iter()
                        .map(|(i, k)| (*i, ops::op_get(db, k, touch, cas, now)))
                        .collect()
                }) as HopFn<_>)
            })
            .collect();
        let mut out: Vec<Option<Item>> = vec![None; keys.len()];
        for r in tx.hop(jobs, true).await {
            for (i, item) in r.expect("every shard had a job")? {
                out[i] = item;
            }
        }
        Ok(out)
    }

    /// flush_all [delay]: empties database 0 now, or after `delay` seconds (a later flush_all
    /// replaces a pending one, as memcached keeps one flush deadline).
    async fn flush_all(&mut self, delay: i64) {
        let gen = self.shared.flush_gen.fetch_add(1, Ordering::SeqCst) + 1;
        let now_s = (self.engine().clock.now_ms() / 1000) as i64;
        let wait = if delay > darter_memcache::REALTIME_MAXDELTA {
            delay - now_s
        } else {
            delay
        };
        if wait <= 0 {
            flush_db0(self.engine()).await;
            return;
        }
        let engine = self.engine().clone();
        let shared = self.shared.clone();
        let deadline_ms = self.engine().clock.now_ms() + wait as u64 * 1000;
        tokio::task::spawn_local(async move {
            engine.clock.sleep_until_ms(deadline_ms).await;
            if shared.flush_gen.load(Ordering::SeqCst) == gen {
                flush_db0(&engine).await;
            }
        });
    }

    async fn stats(&mut self, args: &[&[u8]]) {
        match args {
            [] => self.general_stats().await,
            [b"settings"] => self.settings_stats(),
            [b"items"] => {
                let items = self.curr_items().await;
                if items > 0 {
                    let t = self.totals().await;
                    let out = &mut self.out;
                    reply::stat(out, "items:1:number", items);
                    reply::stat(out, "items:1:evicted", 0);
                    reply::stat(out, "items:1:evicted_nonzero", 0);
                    reply::stat(out, "items:1:outofmemory", 0);
                    reply::stat(out, "items:1:hits_to_hot", t.get_hits);
                }
                self.out.extend_from_slice(reply::END);
            }
            [b"slabs"] => {
                // darter has no slab classes: items are allocated individually.
                let out = &mut self.out;
                reply::stat(out, "active_slabs", 0);
                reply::stat(out, "total_malloced", darter_alloc::allocated_bytes());
                self.out.extend_from_slice(reply::END);
            }
            [b"sizes"] => {
                reply::stat(&mut self.out, "sizes_status", "disabled");
                self.out.extend_from_slice(reply::END);
            }
            [b"reset"] => {
                self.engine()
                    .on_all_threads(|_| stats(|s| *s = McStats::default()))
                    .await;
                self.out.extend_from_slice(reply::RESET);
            }
            [b"detail", b"on" | b"off"] => self.out.extend_from_slice(reply::OK),
            [b"detail", b"dump"] => self.out.extend_from_slice(reply::END),
            [b"detail", ..] => reply::line(
                &mut self.out,
                "CLIENT_ERROR usage: stats detail on|off|dump",
            ),
            _ => reply::line(&mut self.out, darter_memcache::text::ERROR),
        }
    }

    async fn totals(&self) -> McStats {
        let mut t = McStats::default();
        for s in self.engine().on_all_threads(|_| stats(|s| *s)).await {
            t.add(&s);
        }
        t
    }

    async fn curr_items(&self) -> usize {
        self.engine()
            .on_all_shards(|s| s.dbs[MC_DB].len())
            .await
            .iter()
            .sum()
    }

    async fn general_stats(&mut self) {
        let t = self.totals().await;
        let items = self.curr_items().await;
        let bytes: i64 = self
            .engine()
            .on_all_shards(|s| s.used_memory())
            .await
            .iter()
            .sum();
        let (sys, user) = crate::families::server::info::rusage(libc::RUSAGE_SELF);
        let now_ms = darter_engine::clock::real_ms();
        let sh = &self.shared;
        let out = &mut self.out;
        reply::stat(out, "pid", std::process::id());
        reply::stat(out, "uptime", self.server.started.elapsed().as_secs());
        reply::stat(out, "time", now_ms / 1000);
        reply::stat(out, "version", reply::VERSION);
        reply::stat(out, "pointer_size", usize::BITS);
        reply::stat(out, "rusage_user", user);
        reply::stat(out, "rusage_system", sys);
        reply::stat(out, "max_connections", self.server.config.maxclients());
        reply::stat(
            out,
            "curr_connections",
            sh.curr_connections.load(Ordering::Relaxed),
        );
        reply::stat(
            out,
            "total_connections",
            sh.total_connections.load(Ordering::Relaxed),
        );
        reply::stat(out, "rejected_connections", 0);
        reply::stat(out, "cmd_get", t.cmd_get);
        reply::stat(out, "cmd_set", t.cmd_set);
        reply::stat(out, "cmd_flush", t.cmd_flush);
        reply::stat(out, "cmd_touch", t.cmd_touch);
        reply::stat(out, "cmd_meta", t.cmd_meta);
        reply::stat(out, "get_hits", t.get_hits);
        reply::stat(out, "get_misses", t.get_misses);
        reply::stat(out, "get_expired", 0);
        reply::stat(out, "get_flushed", 0);
        reply::stat(out, "delete_misses", t.delete_misses);
        reply::stat(out, "delete_hits", t.delete_hits);
        reply::stat(out, "incr_misses", t.incr_misses);
        reply::stat(out, "incr_hits", t.incr_hits);
        reply::stat(out, "decr_misses", t.decr_misses);
        reply::stat(out, "decr_hits", t.decr_hits);
        reply::stat(out, "cas_misses", t.cas_misses);
        reply::stat(out, "cas_hits", t.cas_hits);
        reply::stat(out, "cas_badval", t.cas_badval);
        reply::stat(out, "touch_hits", t.touch_hits);
        reply::stat(out, "touch_misses", t.touch_misses);
        reply::stat(out, "store_too_large", t.store_too_large);
        reply::stat(out, "store_no_memory", 0);
        reply::stat(out, "auth_cmds", 0);
        reply::stat(out, "auth_errors", 0);
        reply::stat(out, "bytes_read", t.bytes_read);
        reply::stat(out, "bytes_written", t.bytes_written);
        reply::stat(out, "limit_maxbytes", self.server.config.maxmemory());
        reply::stat(out, "accepting_conns", 1);
        reply::stat(out, "threads", self.server.engine.num_threads());
        reply::stat(out, "bytes", bytes.max(0));
        reply::stat(out, "curr_items", items);
        reply::stat(out, "total_items", t.total_items);
        reply::stat(out, "evictions", 0);
        out.extend_from_slice(reply::END);
    }

    fn settings_stats(&mut self) {
        let sh = &self.shared;
        let out = &mut self.out;
        reply::stat(out, "maxbytes", self.server.config.maxmemory());
        reply::stat(out, "maxconns", self.server.config.maxclients());
        reply::stat(out, "tcpport", sh.tcp_port.load(Ordering::Relaxed));
        reply::stat(out, "udpport", 0);
        reply::stat(out, "verbosity", sh.verbosity.load(Ordering::Relaxed));
        reply::stat(out, "evictions", "on");
        reply::stat(out, "num_threads", self.server.engine.num_threads());
        reply::stat(out, "cas_enabled", "yes");
        reply::stat(out, "binding_protocol", "ascii");
        reply::stat(out, "item_size_max", sh.max_item_size);
        reply::stat(out, "flush_enabled", "yes");
        out.extend_from_slice(reply::END);
    }
}

/// The reply line of a storage result.
pub fn store_reply(r: StoreResult) -> &'static [u8] {
    match r {
        StoreResult::Stored => reply::STORED,
        StoreResult::NotStored => reply::NOT_STORED,
        StoreResult::Exists => reply::EXISTS,
        StoreResult::NotFound => reply::NOT_FOUND,
    }
}

fn key_vec(key: &[u8]) -> Box<[u8]> {
    key.into()
}

/// Empties database 0 on every shard in one global transaction (as FLUSHDB, tracking clients
/// included: their tables are emptied and each is sent a null).
pub async fn flush_db0(engine: &Arc<Engine>) {
    let per_shard = (0..engine.num_shards()).map(|s| (s, Vec::new())).collect();
    let mut tx = Transaction::schedule(engine, per_shard, true).await;
    let _ = tx
        .hop_all(
            |s: &mut Shard| crate::families::server::op_flushdb(s, MC_DB),
            true,
        )
        .await;
    crate::families::tracking::flushed(engine).await;
}
