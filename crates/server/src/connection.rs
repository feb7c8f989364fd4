//! One client connection: read, parse, execute, write, on the connection's own thread.
//!
//! The loop reads whatever is available, parses every complete command in it, executes them as one
//! batch (`darter_commands::execute_batch`: inline on local shards, hops otherwise) and writes all
//! their replies with one write. Readiness is cleared after a read that did not fill the buffer
//! (edge-triggered epoll reports any later data as a new event), which saves the extra read that
//! would only return EAGAIN: one read and one write per request batch, like Redis.
//!
//! Pub/sub messages delivered to a subscriber wait in its `ClientInfo::pubsub` mailbox; the loop
//! writes them while it waits for the next request (without blocking: a subscriber that does not
//! read keeps them pending, bounded by `client-output-buffer-limit pubsub`), and after a batch's
//! replies (messages pending before the batch go out ahead of its replies).
//!
//! Must not: touch shard data (commands do that through the engine), block the thread, or let one
//! client's error affect another.

use bytes::BytesMut;
use darter_commands::clients::{self, ClientInfo};
use darter_commands::{execute_batch, Conn, Server};
use darter_resp::{Limits, RequestParser};
use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::unix::AsyncFd;

const READ_CHUNK: usize = 16 * 1024;
/// Replies accumulated past this are written before parsing more of a large pipeline.
const OUT_FLUSH: usize = 64 * 1024;
/// Commands executed per batch before replies are flushed.
const MAX_BATCH: usize = 1024;

/// Serves one accepted connection until it closes. Runs as a local task on its thread.
pub async fn serve(server: Arc<Server>, stream: TcpStream) {
    let peer = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let local = stream
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&stream);
    let id = server.next_client_id.fetch_add(1, Ordering::Relaxed);
    let info = Rc::new(ClientInfo::new(id, peer, local, fd));
    clients::register(info.clone());
    let mut conn = Conn::new(server.clone(), info.clone());
    if let Err(e) = run(&mut conn, stream).await {
        tracing::debug!(client = id, error = %e, "connection closed with error");
    }
    // Its MULTI queue and WATCH registrations go (unregister hops sent) before the client is
    // reported closed.
    drop(conn);
    darter_commands::families::pubsub::registry::unsubscribe_everything(
        Some(&server.engine),
        &info,
    );
    darter_commands::families::tracking::forget_client(&server.engine, &info);
    // Drop the kill hook and with it the last reference to the socket.
    info.closer.borrow_mut().take();
    clients::unregister(id);
    server.connected_clients.fetch_sub(1, Ordering::SeqCst);
    server.client_closed.notify_waiters();
}

async fn run(conn: &mut Conn, stream: TcpStream) -> io::Result<()> {
    stream.set_nonblocking(true)?;
    stream.set_nodelay(true)?;
    // SAFETY: the AsyncFd takes ownership of `stream`, so its fd stays open and refers to this
    // socket until the AsyncFd is dropped; nothing else holds or closes the fd meanwhile.
    // (tokio's safe TcpStream cannot clear readiness after a short read, which would cost an extra
    // EAGAIN read per request; this is the one unsafe block outside the data structures.)
    let sock = Rc::new(unsafe { AsyncFd::register(stream) }?);
    // CLIENT KILL from any connection shuts this socket down: our read then sees EOF.
    let closer = sock.clone();
    *conn.state.info.closer.borrow_mut() = Some(Box::new(move || {
        let _ = closer.get_ref().shutdown(std::net::Shutdown::Both);
    }));
    // Blocked commands do not read the socket; this lets them notice the peer closing.
    // Bytes it reads meanwhile (pipelined commands after the blocking one) wait in `stash` for
    // the connection loop, which takes them before reading the socket again.
    let probe_sock = sock.clone();
    let stash: Rc<RefCell<Vec<u8>>> = Rc::default();
    let probe_stash = stash.clone();
    *conn.state.info.closed_probe.borrow_mut() = Some(Rc::new(move || {
        let s = probe_sock.clone();
        let st = probe_stash.clone();
        Box::pin(async move { peer_closed(&s, &st).await })
    }));
    let mut parser = RequestParser::new();
    let mut inbuf = BytesMut::with_capacity(READ_CHUNK);
    let mut chunk = vec![0u8; READ_CHUNK];
    let info = conn.state.info.clone();
    // One watcher for the connection's life (not one timer per request).
    let idle = idle_expired(conn.server.clone(), info.clone());
    tokio::pin!(idle);
    // Pending pub/sub messages met a full socket: wait for it to drain.
    let mut push_blocked = false;
    loop {
        let stashed = std::mem::take(&mut *stash.borrow_mut());
        let n = if !stashed.is_empty() {
            inbuf.extend_from_slice(&stashed);
            stashed.len()
        } else {
            // Read what is available; meanwhile write pub/sub messages as they arrive.
            let mut guard = tokio::select! {
                biased;
                g = sock.readable() => g?,
                _ = info.pubsub.ready(), if !push_blocked => {
                    if info.killed.get() {
                        return Ok(());
                    }
                    push_blocked = flush_pushes(&sock, conn)?;
                    continue;
                }
                g = sock.writable(), if push_blocked => {
                    let mut g = g?;
                    push_blocked = flush_pushes(&sock, conn)?;
                    if push_blocked {
                        g.clear_ready();
                    }
                    continue;
                }
                _ = &mut idle => {
                    tracing::debug!(client = info.id, "closing idle client");
                    return Ok(());
                }
            };
            if info.killed.get() {
                return Ok(());
            }
            let want = parser.needed_hint();
            let n = if want > READ_CHUNK {
                // A large bulk is arriving: read straight into the input buffer.
                let old = inbuf.len();
                let take = want.min(64 * 1024 * 1024);
                inbuf.resize(old + take, 0);
                let r = sock.get_ref().read(&mut inbuf[old..]);
                let got = *r.as_ref().unwrap_or(&0);
                inbuf.truncate(old + got);
                match r {
                    Ok(n) if n < take => {
                        guard.clear_ready();
                        n
                    }
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        guard.clear_ready();
                        continue;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            } else {
                match sock.get_ref().read(&mut chunk) {
                    Ok(n) => {
                        if n < chunk.len() {
                            guard.clear_ready();
                        }
                        inbuf.extend_from_slice(&chunk[..n]);
                        n
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        guard.clear_ready();
                        continue;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            };
            drop(guard);
            n
        };
        if n == 0 {
            return Ok(()); // EOF
        }
        // Like Redis, any read (even part of a command) counts as activity for `timeout`.
        info.last_interaction.set(Instant::now());
        darter_commands::stats::with(|s| s.net_input_bytes += n as u64);

        // Parse and execute every complete command.
        let limits = Limits {
            max_bulk_len: conn.server.config.proto_max_bulk_len(),
            ..Limits::default()
        };
        loop {
            parser.set_auth_required(!conn.state.authenticated);
            let mut batch = Vec::new();
            let mut proto_err = None;
            while batch.len() < MAX_BATCH {
                match parser.parse(&mut inbuf, &limits) {
                    Ok(Some(args)) => batch.push(args),
                    Ok(None) => break,
                    Err(e) => {
                        proto_err = Some(e);
                        break;
                    }
                }
                // AUTH changes the limits for what follows: stop the batch there.
                if !conn.state.authenticated {
                    break;
                }
            }
            let more = batch.len() == MAX_BATCH || (!conn.state.authenticated && !batch.is_empty());
            if info.pubsub.pending_len() > 0 {
                // Messages that arrived before these commands are answered go out first.
                let pending = info.pubsub.take_pending();
                conn.out.raw(&pending);
                push_blocked = false;
            }
            if !batch.is_empty() {
                execute_batch(conn, batch).await;
            }
            if let Some(e) = proto_err {
                if !conn.state.close_after_reply {
                    conn.out.raw(&e.reply());
                }
                write_out(&sock, conn).await?;
                return Ok(());
            }
            if conn.out.len() >= OUT_FLUSH || !more || conn.state.close_after_reply {
                write_out(&sock, conn).await?;
                if !more && !conn.state.close_after_reply {
                    push_blocked = flush_pushes(&sock, conn)?;
                }
            }
            if conn.state.close_after_reply || info.killed.get() {
                return Ok(());
            }
            if !more {
                break;
            }
        }
        info.query_buf.set(inbuf.len());
        info.query_buf_free.set(inbuf.capacity() - inbuf.len());
        if inbuf.len() > conn.server.config.client_query_buffer_limit() {
            tracing::warn!(
                client = info.id,
                "closing client that reached max query buffer length"
            );
            return Ok(());
        }
        if inbuf.capacity() > 4 * READ_CHUNK && inbuf.is_empty() {
            inbuf = BytesMut::with_capacity(READ_CHUNK);
        }
    }
}

/// Resolves once the client has been idle (no read, no write) for longer than the `timeout`
/// setting. The setting is re-read at least once a second, as Redis's client cron does, so
/// `CONFIG SET timeout` also reaches connections that were already waiting. Only runs while the
/// connection waits for input: a command in progress (e.g. a blocking one) is never cut off.
/// Subscribed clients are exempt, as in Redis.
async fn idle_expired(server: Arc<Server>, info: Rc<ClientInfo>) {
    const RECHECK: Duration = Duration::from_secs(1);
    loop {
        let secs = server.config.timeout_secs();
        let now = Instant::now();
        if secs == 0 || info.pubsub.active() {
            tokio::time::sleep(RECHECK).await;
            continue;
        }
        let deadline = info.last_interaction.get() + Duration::from_secs(secs);
        if now >= deadline {
            return;
        }
        tokio::time::sleep_until((deadline.min(now + RECHECK)).into()).await;
    }
}

/// Resolves once the peer has closed (EOF or a socket error). Data arriving meanwhile (pipelined
/// commands after a blocking one) is read into `stash` for the connection loop, as Redis keeps
/// reading a blocked client's query buffer, so a close behind them is still noticed (a client
/// that sends QUIT and closes while blocked). Past `STASH_MAX` it stops reading and never
/// resolves: the loop notices the close when it reads again.
async fn peer_closed(sock: &AsyncFd<TcpStream>, stash: &RefCell<Vec<u8>>) {
    const STASH_MAX: usize = 64 * 1024 * 1024;
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if stash.borrow().len() >= STASH_MAX {
            return std::future::pending().await;
        }
        let Ok(mut g) = sock.readable().await else {
            return;
        };
        match sock.get_ref().read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => stash.borrow_mut().extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => g.clear_ready(),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

/// Writes pending pub/sub messages without waiting; what the socket does not take stays pending.
/// Returns whether the socket was full.
fn flush_pushes(sock: &AsyncFd<TcpStream>, conn: &mut Conn) -> io::Result<bool> {
    let ps = &conn.state.info.pubsub;
    let mut buf = ps.take_pending();
    let total = buf.len();
    let mut blocked = false;
    while !buf.is_empty() {
        match sock.get_ref().write(&buf) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                let _ = buf.split_to(n);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                blocked = true;
                break;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let written = total - buf.len();
    if !buf.is_empty() {
        ps.restore_pending(buf);
    }
    ps.drained(conn.server.config.obuf_limit_pubsub());
    darter_commands::stats::with(|s| s.net_output_bytes += written as u64);
    Ok(blocked)
}

/// Writes all pending replies, waiting for the socket when its buffer is full.
async fn write_out(sock: &AsyncFd<TcpStream>, conn: &mut Conn) -> io::Result<()> {
    let buf = &mut conn.out.buf;
    let total = buf.len();
    let mut off = 0;
    let mut waited = false;
    while off < buf.len() {
        match sock.get_ref().write(&buf[off..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => off += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let mut g = sock.writable().await?;
                g.clear_ready();
                waited = true;
                // Re-check readiness by trying again: a spurious wakeup just loops.
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    darter_commands::stats::with(|s| s.net_output_bytes += total as u64);
    if waited {
        // A slow reader draining a large reply is active, as in Redis (a write that completes at
        // once follows a read that already stamped the connection).
        conn.state.info.last_interaction.set(Instant::now());
    }
    buf.clear();
    if buf.capacity() > 1024 * 1024 {
        *buf = BytesMut::with_capacity(16 * 1024);
    }
    Ok(())
}
