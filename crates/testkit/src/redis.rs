//! A real `redis-server` child process on a private Unix socket, for differential tests.
//! Readiness is its "Ready to accept connections" log line; the process is killed on drop.

use crate::client::RawClient;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

pub struct RedisServer {
    child: Child,
    pub socket: PathBuf,
    dir: PathBuf,
}

static SEQ: AtomicU64 = AtomicU64::new(0);

impl RedisServer {
    /// True when a redis-server binary is on PATH.
    pub fn available() -> bool {
        Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }

    pub fn start() -> RedisServer {
        Self::start_with_args(&[])
    }

    /// Starts redis-server with extra arguments (e.g. `["--enable-debug-command", "yes"]`).
    pub fn start_with_args(extra: &[&str]) -> RedisServer {
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("darter-redis-{}-{}", std::process::id(), n));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let socket = dir.join("redis.sock");
        let mut child = Command::new("redis-server")
            .args(["--port", "0", "--save", "", "--appendonly", "no"])
            .arg("--unixsocket")
            .arg(&socket)
            .arg("--dir")
            .arg(&dir)
            .args(["--daemonize", "no", "--loglevel", "notice"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server (is it installed? scripts/test.sh installs it)");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        loop {
            match lines.next() {
                // 7.0 prints "Ready to accept connections" for TCP and "The server is now ready to
                // accept connections at <socket>" for a Unix socket.
                Some(Ok(l))
                    if l.to_ascii_lowercase()
                        .contains("ready to accept connections") =>
                {
                    break
                }
                Some(Ok(_)) => continue,
                _ => {
                    let _ = child.kill();
                    panic!("redis-server exited before it was ready");
                }
            }
        }
        // Keep draining its log so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        RedisServer { child, socket, dir }
    }

    pub fn client(&self) -> RawClient {
        RawClient::connect_unix(&self.socket)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
