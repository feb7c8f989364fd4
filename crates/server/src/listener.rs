//! The TCP listener: accepts connections on thread 0 and hands each to a thread, round-robin.
//!
//! An accepted socket is deregistered from the accepting thread's reactor and moved as a plain std
//! socket; the target thread registers it with its own reactor and runs the connection there for
//! its whole life. Over `maxclients`, a client gets Redis's error and is closed.

use crate::connection;
use darter_commands::{errors, Server};
use socket2::{Domain, Protocol, Socket, TcpKeepalive, Type};
use std::io::Write;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// Binds `addr` with SO_REUSEADDR and Redis's default backlog (511).
pub fn bind(addr: SocketAddr) -> std::io::Result<StdListener> {
    let domain = if addr.is_ipv6() {
        Domain::IPV6
    } else {
        Domain::IPV4
    };
    let s = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
    s.set_reuse_address(true)?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    s.bind(&addr.into())?;
    s.listen(511)?;
    s.set_nonblocking(true)?;
    Ok(s.into())
}

/// Accept loop; runs as a local task on thread 0 until shutdown.
pub async fn accept_loop(server: Arc<Server>, listeners: Vec<StdListener>) {
    let mut tasks = Vec::new();
    for l in listeners {
        let server = server.clone();
        tasks.push(tokio::task::spawn_local(async move {
            let l = match tokio::net::TcpListener::from_std(l) {
                Ok(l) => l,
                Err(e) => {
                    tracing::error!(error = %e, "cannot register listener");
                    return;
                }
            };
            let mut next = 0usize;
            loop {
                let Some(std_stream) = accept_std(&l, &server, "accept").await else {
                    return;
                };
                server.total_connections.fetch_add(1, Ordering::Relaxed);
                let n = server.connected_clients.fetch_add(1, Ordering::Relaxed);
                if n >= server.config.maxclients() {
                    server.connected_clients.fetch_sub(1, Ordering::Relaxed);
                    server.rejected_connections.fetch_add(1, Ordering::Relaxed);
                    let mut s = std_stream;
                    let _ = s.set_nonblocking(false);
                    let _ = s.set_write_timeout(Some(Duration::from_millis(100)));
                    let _ = s.write_all(format!("-{}\r\n", errors::MAX_CLIENTS).as_bytes());
                    continue;
                }
                let keepalive = server.config.tcp_keepalive();
                if keepalive > 0 {
                    let sock = socket2::SockRef::from(&std_stream);
                    let _ = sock.set_tcp_keepalive(
                        &TcpKeepalive::new()
                            .with_time(Duration::from_secs(keepalive))
                            .with_interval(Duration::from_secs((keepalive / 3).max(1))),
                    );
                }
                let thread = pick_thread(&server, &mut next);
                let srv = server.clone();
                server.engine.spawn_on(thread, move || {
                    tokio::task::spawn_local(connection::serve(srv, std_stream));
                });
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

/// The next thread round-robin, skipping threads inside a script that passed
/// `busy-reply-threshold` (their connections wait for the script; a new one, e.g. for SCRIPT
/// KILL, should not).
pub(crate) fn pick_thread(server: &Server, next: &mut usize) -> usize {
    let n = server.engine.num_threads();
    for _ in 0..n {
        let t = *next % n;
        *next = next.wrapping_add(1);
        if !darter_commands::families::scripting::state::thread_busy(t) {
            return t;
        }
    }
    *next % n
}

/// Accepts the next connection as a std stream (to hand to another thread), backing off briefly
/// on accept errors (EMFILE and friends) instead of spinning; None once the server shuts down.
/// `what` names the listener in the warning.
pub(crate) async fn accept_std(
    l: &tokio::net::TcpListener,
    server: &Server,
    what: &str,
) -> Option<std::net::TcpStream> {
    loop {
        let accepted = tokio::select! {
            a = l.accept() => a,
            _ = server.shutdown_notify.notified() => return None,
        };
        let stream = match accepted {
            Ok((s, _)) => s,
            Err(e) => {
                tracing::warn!(error = %e, "{what} failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        if server.shutting_down.load(Ordering::Relaxed) {
            return None;
        }
        if let Ok(s) = stream.into_std() {
            return Some(s);
        }
    }
}
