//! What a command handler works with.
//!
//! - `Server`: process-wide, shared by every thread (`Arc`): the engine, config, counters.
//!   It holds no keyspace data.
//! - `Conn`: a connection's coordinator state and output buffer; lives on the connection's thread.
//! - `ShardCmd`: what shard-side code gets: the shard, the selected database, the arguments.

use crate::clients::ClientInfo;
use crate::config::ConfigStore;
use bytes::Bytes;
use darter_engine::{Engine, Shard};
use darter_resp::{Protocol, ReplyWriter};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Notify;

/// Process-wide state (no keyspace data: that lives in shards).
pub struct Server {
    pub engine: Arc<Engine>,
    pub config: Arc<ConfigStore>,
    pub started: Instant,
    pub started_unix_ms: u64,
    pub run_id: String,
    pub next_client_id: AtomicU64,
    pub connected_clients: AtomicU64,
    /// Notified (to every waiter) whenever a connection has closed and `connected_clients`
    /// dropped; lets tests and tooling await a disconnect instead of polling.
    pub client_closed: Notify,
    pub total_connections: AtomicU64,
    pub rejected_connections: AtomicU64,
    /// Set by SHUTDOWN; the listener watches `shutdown_notify`.
    pub shutting_down: AtomicBool,
    pub shutdown_notify: Notify,
    /// The TCP port actually bound (differs from config when started on port 0).
    pub bound_port: AtomicU64,
    pub executable: String,
    pub config_file: Option<String>,
}

impl Server {
    pub fn new(engine: Arc<Engine>, config: Arc<ConfigStore>) -> Server {
        crate::notify::install();
        crate::families::tracking::install();
        Server {
            engine,
            config,
            started: Instant::now(),
            started_unix_ms: darter_engine::clock::real_ms(),
            run_id: make_run_id(),
            next_client_id: AtomicU64::new(1),
            connected_clients: AtomicU64::new(0),
            client_closed: Notify::new(),
            total_connections: AtomicU64::new(0),
            rejected_connections: AtomicU64::new(0),
            shutting_down: AtomicBool::new(false),
            shutdown_notify: Notify::new(),
            bound_port: AtomicU64::new(0),
            executable: std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            config_file: None,
        }
    }

    pub fn request_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        self.shutdown_notify.notify_waiters();
        self.shutdown_notify.notify_one();
    }
}

fn make_run_id() -> String {
    // 40 hex chars like Redis; seeded from time and pid (not security sensitive).
    let mut x = darter_engine::clock::real_ms() ^ ((std::process::id() as u64) << 32);
    let mut s = String::with_capacity(40);
    for _ in 0..40 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.push(char::from_digit((x % 16) as u32, 16).expect("hex digit"));
    }
    s
}

/// CLIENT REPLY mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
    /// Skip the reply of the next command only.
    SkipNext,
    /// Currently skipping this command's reply.
    Skipping,
}

/// Per-connection coordinator state.
pub struct ConnState {
    pub db: usize,
    pub authenticated: bool,
    pub reply_mode: ReplyMode,
    /// Close the connection once pending replies are written (QUIT, protocol errors, KILL).
    pub close_after_reply: bool,
    pub info: Rc<ClientInfo>,
    /// Between MULTI and EXEC/DISCARD: the queued commands (families/transaction.rs).
    pub multi: Option<crate::families::transaction::MultiState>,
    /// Keys this client WATCHes, registered on their shards.
    pub watch: Option<crate::families::transaction::WatchSet>,
}

pub struct Conn {
    pub server: Arc<Server>,
    pub state: ConnState,
    pub out: ReplyWriter,
}

impl Conn {
    pub fn new(server: Arc<Server>, info: Rc<ClientInfo>) -> Conn {
        let authenticated = !server.config.has_password();
        Conn {
            server,
            state: ConnState {
                db: 0,
                authenticated,
                reply_mode: ReplyMode::On,
                close_after_reply: false,
                info,
                multi: None,
                watch: None,
            },
            out: ReplyWriter::new(Protocol::Resp2),
        }
    }

    #[inline]
    pub fn engine(&self) -> &Arc<Engine> {
        &self.server.engine
    }

    pub fn set_protocol(&mut self, p: Protocol) {
        self.out.proto = p;
        self.state
            .info
            .resp
            .set(if p == Protocol::Resp3 { 3 } else { 2 });
    }
}

/// Shard-side view for one command.
pub struct ShardCmd<'a> {
    pub shard: &'a mut Shard,
    pub db: usize,
    pub args: &'a [Bytes],
    pub now_ms: u64,
}

impl ShardCmd<'_> {
    /// Reports a keyspace event on `key` in the selected database (`darter_engine::notify`).
    #[inline]
    pub fn notify(&self, class: u32, event: &str, key: &[u8]) {
        self.shard.notify(self.db, class, event, key);
    }

    /// The selected database on this shard, told the command's time (for access stamps).
    #[inline]
    pub fn slice(&mut self) -> &mut darter_engine::DbSlice {
        let s = &mut self.shard.dbs[self.db];
        s.observe(self.now_ms);
        s
    }
}
