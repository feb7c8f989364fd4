//! The memcached port: its listener and connection loop.
//!
//! Connections are accepted on thread 0 and handed round-robin to every engine thread, like RESP
//! connections; each runs on its thread for its whole life as the coordinator of its requests. The
//! loop reads, parses every complete request with `darter_memcache` (no I/O there), executes each
//! through `darter_commands::memcached::Session` (hops to the keys' shards) and writes the replies
//! of everything it read with one write. The bytes of an oversized value are swallowed as they
//! arrive, as memcached does. A connection whose first byte is 0x80 speaks the binary protocol
//! (`darter_memcache::binary`) for its whole life.
//!
//! Must not: touch shard data (the session reaches shards through the engine), block the thread,
//! or let one client's error affect another.

use bytes::{Buf, BytesMut};
use darter_commands::memcached::{stats, McShared, Session};
use darter_commands::Server;
use darter_memcache::binary::{self, BinParsed};
use darter_memcache::Settings;
use std::io;
use std::net::{TcpListener as StdListener, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const READ_CHUNK: usize = 16 * 1024;
/// A binary packet's body may exceed the item limit by its extras and key.
const BINARY_SLACK: usize = 1024;
/// Replies accumulated past this are written before parsing more of a large pipeline.
const OUT_FLUSH: usize = 64 * 1024;

/// Accepts memcached connections until shutdown; runs as a local task on thread 0.
pub async fn accept_loop(server: Arc<Server>, shared: Arc<McShared>, listener: StdListener) {
    let l = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "cannot register the memcached listener");
            return;
        }
    };
    let mut next = 0usize;
    loop {
        let Some(std_stream) = crate::listener::accept_std(&l, &server, "memcached accept").await
        else {
            return;
        };
        shared.total_connections.fetch_add(1, Ordering::Relaxed);
        shared.curr_connections.fetch_add(1, Ordering::Relaxed);
        let thread = crate::listener::pick_thread(&server, &mut next);
        let (srv, sh) = (server.clone(), shared.clone());
        server.engine.spawn_on(thread, move || {
            tokio::task::spawn_local(serve(srv, sh, std_stream));
        });
    }
}

/// Serves one memcached connection until it closes.
pub async fn serve(server: Arc<Server>, shared: Arc<McShared>, stream: TcpStream) {
    if let Err(e) = run(server, shared.clone(), stream).await {
        tracing::debug!(error = %e, "memcached connection closed with error");
    }
    shared.curr_connections.fetch_sub(1, Ordering::Relaxed);
}

async fn run(server: Arc<Server>, shared: Arc<McShared>, stream: TcpStream) -> io::Result<()> {
    stream.set_nonblocking(true)?;
    stream.set_nodelay(true)?;
    let mut sock = tokio::net::TcpStream::from_std(stream)?;
    let settings = Settings {
        max_item_size: shared.max_item_size,
    };
    let mut session = Session::new(server, shared);
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    // Bytes of an oversized value still to discard.
    let mut swallow = 0usize;
    let mut first = true;
    let mut binary = false;
    loop {
        if buf.capacity() - buf.len() < READ_CHUNK / 4 {
            buf.reserve(READ_CHUNK);
        }
        let n = sock.read_buf(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stats(|s| s.bytes_read += n as u64);
        if first {
            // The first byte picks the protocol for the connection's whole life.
            first = false;
            binary = buf[0] == binary::REQUEST_MAGIC;
        }
        loop {
            if swallow > 0 {
                let k = swallow.min(buf.len());
                buf.advance(k);
                swallow -= k;
                if swallow > 0 {
                    break;
                }
            }
            if binary {
                match binary::parse(&buf, settings.max_item_size + BINARY_SLACK) {
                    None => break,
                    Some(BinParsed::Invalid) => {
                        write_out(&mut sock, &mut session.out).await?;
                        return Ok(());
                    }
                    Some(BinParsed::TooLarge {
                        opcode,
                        opaque,
                        key,
                        used,
                        swallow: rest,
                    }) => {
                        session.binary_too_large(opcode, opaque, key).await;
                        buf.advance(used);
                        swallow = rest;
                    }
                    Some(BinParsed::Request(req, used)) => {
                        session.execute_binary(req).await;
                        buf.advance(used);
                    }
                }
                if session.quit {
                    write_out(&mut sock, &mut session.out).await?;
                    return Ok(());
                }
                if session.out.len() >= OUT_FLUSH {
                    write_out(&mut sock, &mut session.out).await?;
                }
                continue;
            }
            let parsed = match darter_memcache::parse(&buf, &settings) {
                Err(_) => {
                    write_out(&mut sock, &mut session.out).await?;
                    return Ok(());
                }
                Ok(None) => break,
                Ok(Some(p)) => p,
            };
            let used = parsed.used;
            swallow = parsed.swallow;
            session.execute(parsed.request).await;
            buf.advance(used);
            if session.quit {
                write_out(&mut sock, &mut session.out).await?;
                return Ok(());
            }
            if session.out.len() >= OUT_FLUSH {
                write_out(&mut sock, &mut session.out).await?;
            }
        }
        write_out(&mut sock, &mut session.out).await?;
        if buf.is_empty() && buf.capacity() > 4 * READ_CHUNK {
            buf = BytesMut::with_capacity(READ_CHUNK);
        }
    }
}

async fn write_out(sock: &mut tokio::net::TcpStream, out: &mut Vec<u8>) -> io::Result<()> {
    if out.is_empty() {
        return Ok(());
    }
    sock.write_all(out).await?;
    stats(|s| s.bytes_written += out.len() as u64);
    out.clear();
    if out.capacity() > 1024 * 1024 {
        *out = Vec::with_capacity(16 * 1024);
    }
    Ok(())
}
