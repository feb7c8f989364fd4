//! Test helpers: an in-process darter on port 0, a raw RESP client, a real `redis-server` child,
//! and the differential harness that runs the same command scripts against both.
//!
//! Nothing here sleeps to wait for a server: darter is ready when `start` returns (its listener is
//! bound before), and redis-server is ready when it logs that it accepts connections.

pub mod client;
pub mod diff;
pub mod helpers;
pub mod memcached;
pub mod redis;

pub use client::RawClient;
pub use diff::{run_script, DiffReport};
pub use redis::RedisServer;

use darter_commands::config::InitialConfig;
use darter_server::{Running, StartOptions};
use std::net::SocketAddr;

/// An in-process darter server bound to 127.0.0.1 on an ephemeral port.
pub struct TestServer {
    running: Running,
}

/// What to start.
#[derive(Clone, Debug)]
pub struct TestOptions {
    pub threads: usize,
    pub shards: usize,
    pub manual_clock: bool,
    pub requirepass: Option<String>,
    pub maxclients: u64,
    pub extra: Vec<(String, String)>,
    /// Also serve memcached on an ephemeral port (`memcached_addr`).
    pub memcached: bool,
}

impl Default for TestOptions {
    fn default() -> Self {
        TestOptions {
            threads: 3,
            shards: 0,
            manual_clock: false,
            requirepass: None,
            maxclients: 10000,
            extra: Vec::new(),
            memcached: false,
        }
    }
}

impl TestServer {
    /// Three threads, three shards, real clock.
    pub fn start() -> TestServer {
        Self::start_with(TestOptions::default())
    }

    pub fn start_with(o: TestOptions) -> TestServer {
        let init = InitialConfig {
            port: 0,
            bind: vec!["127.0.0.1".into()],
            requirepass: o.requirepass,
            databases: 16,
            maxclients: o.maxclients,
            timeout: 0,
            tcp_keepalive: 300,
            loglevel: "notice".into(),
            proactor_threads: o.threads,
            num_shards: o.shards,
            extra: o.extra,
        };
        let running = darter_server::start(
            init,
            StartOptions {
                manual_clock: o.manual_clock,
                config_file: None,
                memcached: o.memcached,
            },
        )
        .expect("start darter");
        TestServer { running }
    }

    /// A default server with a manual clock (TTL tests move it with `advance_ms`).
    pub fn start_manual() -> TestServer {
        Self::start_with(TestOptions {
            manual_clock: true,
            ..Default::default()
        })
    }

    /// The server's clock, in ms since the epoch.
    pub fn now_ms(&self) -> u64 {
        self.running.server.engine.clock.now_ms()
    }

    pub fn addr(&self) -> SocketAddr {
        self.running.addr()
    }

    /// The memcached port's address (servers started with `memcached`).
    pub fn memcached_addr(&self) -> SocketAddr {
        self.running.memcached_addrs[0]
    }

    pub fn client(&self) -> RawClient {
        RawClient::connect_tcp(self.addr())
    }

    /// Moves the manual clock (servers started with `manual_clock`).
    pub fn advance_ms(&self, ms: u64) {
        self.running.server.engine.clock.advance_ms(ms);
    }

    /// Waits (bounded by `limit`) until exactly `n` clients are connected, woken by the server's
    /// disconnect notification rather than by polling. False if `limit` passed first.
    pub fn wait_connected_clients(&self, n: u64, limit: std::time::Duration) -> bool {
        let server = self.running.server.clone();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let wait = async {
                loop {
                    // Register before checking, so a close between the check and the await
                    // still wakes us.
                    let closed = server.client_closed.notified();
                    tokio::pin!(closed);
                    closed.as_mut().enable();
                    if server
                        .connected_clients
                        .load(std::sync::atomic::Ordering::SeqCst)
                        == n
                    {
                        return;
                    }
                    closed.await;
                }
            };
            tokio::time::timeout(limit, wait).await.is_ok()
        })
    }

    pub fn server(&self) -> &std::sync::Arc<darter_commands::Server> {
        &self.running.server
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.running.stop();
    }
}
