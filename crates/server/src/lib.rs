//! darter-server: the `darter` binary's pieces: flags and config file, listeners, connections.
//!
//! `start` builds the engine and the listeners and returns a handle; `main.rs` and the in-process
//! test server both use it. Nothing here touches shard data.

pub mod cli;
pub mod connection;
pub mod listener;
pub mod memcached;

use darter_commands::config::{ConfigStore, InitialConfig};
use darter_commands::Server;
use darter_engine::{Engine, EngineOptions};
use std::net::SocketAddr;
use std::sync::Arc;

/// Extra knobs not in the Redis config (tests).
#[derive(Clone, Debug, Default)]
pub struct StartOptions {
    /// Manual clock for TTL tests.
    pub manual_clock: bool,
    pub config_file: Option<String>,
    /// Serve memcached on an ephemeral port even when `memcached_port` is 0 (tests).
    pub memcached: bool,
}

/// A running server.
pub struct Running {
    pub server: Arc<Server>,
    pub addrs: Vec<SocketAddr>,
    /// The memcached listener's addresses (empty when memcached is off).
    pub memcached_addrs: Vec<SocketAddr>,
}

impl Running {
    /// The first bound address (tests connect here).
    pub fn addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    /// Blocks until SHUTDOWN (or `stop`), then stops every thread.
    pub fn wait(&self) {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let server = self.server.clone();
        self.server.engine.spawn_on(0, move || {
            tokio::task::spawn_local(async move {
                while !server
                    .shutting_down
                    .load(std::sync::atomic::Ordering::SeqCst)
                {
                    server.shutdown_notify.notified().await;
                }
                let _ = tx.send(());
            });
        });
        let _ = rx.recv();
        self.server.engine.shutdown();
    }

    pub fn stop(&self) {
        self.server.request_shutdown();
        self.server.engine.shutdown();
    }
}

/// Starts darter with `init` and returns once it accepts connections.
pub fn start(init: InitialConfig, opts: StartOptions) -> Result<Running, String> {
    let config = Arc::new(ConfigStore::new(init)?);
    let mut port = config.port();
    let mut listeners = Vec::new();
    let mut bound = Vec::new();
    let binds = config.bind();
    let binds = if binds.is_empty() {
        vec!["*".to_string(), "-::*".to_string()]
    } else {
        binds
    };
    for entry in binds {
        let b = cli::parse_bind(&entry)?;
        let addr = SocketAddr::new(b.ip, port);
        match listener::bind(addr) {
            Ok(l) => {
                let a = l.local_addr().map_err(|e| e.to_string())?;
                // With port 0 every address shares the port the first one got.
                port = a.port();
                bound.push(a);
                listeners.push(l);
            }
            // Redis's "-addr": skip an address that cannot be bound (e.g. no IPv6).
            Err(e) if b.optional => {
                tracing::warn!(%addr, error = %e, "skipping optional bind address")
            }
            Err(e) => return Err(format!("could not bind {addr}: {e}")),
        }
    }
    if listeners.is_empty() {
        return Err("no address to listen on".to_string());
    }
    let mut mc_listeners = Vec::new();
    let mut mc_bound = Vec::new();
    if config.memcached_port() != 0 || opts.memcached {
        let mut mc_port = config.memcached_port();
        for a in &bound {
            let addr = SocketAddr::new(a.ip(), mc_port);
            let l = listener::bind(addr)
                .map_err(|e| format!("could not bind memcached port {addr}: {e}"))?;
            let a = l.local_addr().map_err(|e| e.to_string())?;
            mc_port = a.port();
            mc_bound.push(a);
            mc_listeners.push(l);
        }
    }
    let engine = Engine::start(
        EngineOptions {
            threads: config.proactor_threads(),
            shards: config.num_shards(),
            dbnum: config.databases() as usize,
            hz: config.hz(),
            manual_clock: opts.manual_clock,
            limits: config.limits(),
            keyspace_events: config.keyspace_events(),
        },
        {
            let obuf = config.obuf_limit_pubsub();
            Arc::new(move |_| darter_commands::notify::set_thread_limit(obuf))
        },
    );
    let mut server = Server::new(engine.clone(), config);
    server.config_file = opts.config_file.clone();
    let server = Arc::new(server);
    if let Some(a) = bound.first() {
        server
            .bound_port
            .store(a.port() as u64, std::sync::atomic::Ordering::Relaxed);
    }
    let srv = server.clone();
    let mc = Arc::new(darter_commands::memcached::McShared::new(
        server.config.memcached_max_item_size(),
    ));
    if let Some(a) = mc_bound.first() {
        mc.tcp_port
            .store(a.port() as u64, std::sync::atomic::Ordering::Relaxed);
    }
    let sampler = srv.clone();
    engine.spawn_on(0, move || {
        // INFO's instantaneous_* figures sample from start-up.
        darter_commands::families::server::ensure_metrics_sampler(&sampler.engine);
    });
    // Accepting has a thread of its own, so a connection is accepted and placed even while an
    // engine thread is inside a long script (SCRIPT KILL must get through).
    std::thread::Builder::new()
        .name("darter-accept".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("build the accept runtime");
            let local = tokio::task::LocalSet::new();
            local.block_on(&rt, async move {
                let mut loops = Vec::new();
                for l in mc_listeners {
                    loops.push(tokio::task::spawn_local(memcached::accept_loop(
                        srv.clone(),
                        mc.clone(),
                        l,
                    )));
                }
                loops.push(tokio::task::spawn_local(listener::accept_loop(
                    srv, listeners,
                )));
                for l in loops {
                    let _ = l.await;
                }
            });
        })
        .map_err(|e| format!("cannot start the accept thread: {e}"))?;
    Ok(Running {
        server,
        addrs: bound,
        memcached_addrs: mc_bound,
    })
}
