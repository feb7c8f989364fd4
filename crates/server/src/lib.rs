//! darter-server: the `darter` binary's pieces: flags and config file, listeners, connections.
//!
//! `start` builds the engine and the listeners and returns a handle; `main.rs` and the in-process
//! test server both use it. Nothing here touches shard data.

pub mod cli;
pub mod connection;
pub mod listener;

use darter_commands::config::{ConfigStore, InitialConfig};
use darter_commands::Server;
use darter_engine::{Engine, EngineOptions};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;

/// Extra knobs not in the Redis config (tests).
#[derive(Clone, Debug, Default)]
pub struct StartOptions {
    /// Manual clock for TTL tests.
    pub manual_clock: bool,
    pub config_file: Option<String>,
}

/// A running server.
pub struct Running {
    pub server: Arc<Server>,
    pub addrs: Vec<SocketAddr>,
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

fn resolve_bind(bind: &[String], port: u16) -> Result<Vec<SocketAddr>, String> {
    let mut out = Vec::new();
    let binds: Vec<String> = if bind.is_empty() {
        vec!["0.0.0.0".into()]
    } else {
        bind.to_vec()
    };
    for b in binds {
        let b = b.trim_start_matches('-').to_string(); // Redis's "-::*" optional-bind prefix
        let host = match b.as_str() {
            "*" => "0.0.0.0".to_string(),
            "::*" => "::".to_string(),
            "localhost" => "127.0.0.1".to_string(),
            _ => b.clone(),
        };
        if let Ok(ip) = host.parse::<IpAddr>() {
            out.push(SocketAddr::new(ip, port));
            continue;
        }
        let addrs = (host.as_str(), port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve bind address '{b}': {e}"))?;
        out.extend(addrs.filter(|a| a.is_ipv4()).take(1));
    }
    Ok(out)
}

/// Starts darter with `init` and returns once it accepts connections.
pub fn start(init: InitialConfig, opts: StartOptions) -> Result<Running, String> {
    let config = Arc::new(ConfigStore::new(init)?);
    let port = config.port();
    let addrs = resolve_bind(&config.bind(), port)?;
    let mut listeners = Vec::new();
    let mut bound = Vec::new();
    for a in addrs {
        let l = listener::bind(a).map_err(|e| format!("could not bind {a}: {e}"))?;
        bound.push(l.local_addr().map_err(|e| e.to_string())?);
        listeners.push(l);
    }
    let engine = Engine::start(
        EngineOptions {
            threads: config.proactor_threads(),
            shards: config.num_shards(),
            dbnum: config.databases() as usize,
            hz: 100,
            manual_clock: opts.manual_clock,
        },
        Arc::new(|_| {}),
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
    engine.spawn_on(0, move || {
        tokio::task::spawn_local(listener::accept_loop(srv, listeners));
    });
    Ok(Running {
        server,
        addrs: bound,
    })
}
