//! The `memory` subcommand's loader: sends a shape's numbered write commands
//! (see `shapes::Plan`: `SET`, `HSET`, `SADD`, `RPUSH`, `ZADD`) over several
//! parallel TCP connections, each owning a contiguous command range, in
//! pipelined batches (one write per batch), and checks every reply against
//! the exact bytes expected before sending the next batch. The union of the
//! ranges is every command exactly once. It must fail loudly (never retry or
//! skip) on any unexpected reply, short read or timeout, and every blocking
//! read is bounded by a socket timeout.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::ops::Range;
use std::time::{Duration, Instant};

use crate::resp_client::read_expected;
use crate::shapes::{Plan, Shape};

#[derive(Debug, Clone)]
pub struct LoadParams {
    pub port: u16,
    pub shape: Shape,
    /// Members per collection command (HSET key f1 v1 ... fN vN).
    pub members_per_command: u64,
    pub connections: usize,
    /// Members (string keys count one each) per pipelined write.
    pub batch: u64,
    /// Give up if the whole load takes longer than this.
    pub timeout: Duration,
}

#[derive(Debug, Clone, Copy)]
pub struct LoadStats {
    /// Write commands sent and answered as expected.
    pub commands: u64,
    pub bytes_sent: u64,
    pub wall: Duration,
}

/// Loads the whole shape; Ok only if every command got its expected reply.
pub fn load(p: &LoadParams) -> Result<LoadStats, String> {
    let start = Instant::now();
    let deadline = start + p.timeout;
    let plan = p.shape.plan(p.members_per_command);
    let per_write = plan.commands_per_write(p.batch);
    let results: Vec<Result<(u64, u64), String>> = std::thread::scope(|s| {
        let handles: Vec<_> = plan
            .split(p.connections)
            .into_iter()
            .map(|r| {
                let plan = &plan;
                s.spawn(move || send_range(p.port, plan, r, per_write, deadline))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("loader thread panicked".into()))
            })
            .collect()
    });
    let mut commands = 0;
    let mut bytes_sent = 0;
    for r in results {
        let (c, b) = r?;
        commands += c;
        bytes_sent += b;
    }
    if commands != plan.commands() {
        return Err(format!(
            "loader confirmed {commands} commands, expected {}",
            plan.commands()
        ));
    }
    Ok(LoadStats {
        commands,
        bytes_sent,
        wall: start.elapsed(),
    })
}

/// One connection: commands `range`, `per_write` at a time, each batch's
/// replies checked before the next is sent. Returns (commands answered, bytes sent).
fn send_range(
    port: u16,
    plan: &Plan,
    range: Range<u64>,
    per_write: u64,
    deadline: Instant,
) -> Result<(u64, u64), String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let who = format!("loader ({} commands {range:?})", plan.shape.label());
    let ctx = |what: &str, e: std::io::Error| format!("{who} {what}: {e}");
    let mut s =
        TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(|e| ctx("connect", e))?;
    // A server that stops answering makes the read fail after this long.
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| ctx("set timeout", e))?;
    s.set_write_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| ctx("set timeout", e))?;
    s.set_nodelay(true).map_err(|e| ctx("nodelay", e))?;
    let mut out = Vec::new();
    let mut expect = Vec::new();
    let mut inbuf = vec![0u8; 64 * 1024];
    let mut sent = 0u64;
    let mut next = range.start;
    while next < range.end {
        if Instant::now() >= deadline {
            return Err(format!(
                "{who}: timed out after {} of its commands",
                next - range.start
            ));
        }
        let end = (next + per_write).min(range.end);
        out.clear();
        expect.clear();
        plan.encode(&mut out, &mut expect, next..end);
        s.write_all(&out).map_err(|e| ctx("write", e))?;
        sent += out.len() as u64;
        read_expected(&mut s, &mut inbuf, &expect)
            .map_err(|e| format!("{who}, batch {next}..{end}: {e}"))?;
        next = end;
    }
    Ok((range.end - range.start, sent))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;
    use std::net::TcpListener;

    /// A fake server that reads RESP arrays of bulk strings and answers each
    /// with `reply(n, args)`; checks the loader end to end without a real
    /// server. Returns the number of commands and of arguments seen.
    fn fake_server(
        conns: usize,
        reply: fn(u64, usize) -> Vec<u8>,
    ) -> (u16, std::thread::JoinHandle<(u64, u64)>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let h = std::thread::spawn(move || {
            let mut totals = (0u64, 0u64);
            for _ in 0..conns {
                let (s, _) = l.accept().unwrap();
                let mut w = s.try_clone().unwrap();
                let mut r = std::io::BufReader::new(s);
                let mut line = Vec::new();
                loop {
                    line.clear();
                    if r.read_until(b'\n', &mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    let argc: usize = std::str::from_utf8(&line[1..line.len() - 2])
                        .unwrap()
                        .parse()
                        .unwrap();
                    for _ in 0..2 * argc {
                        line.clear();
                        r.read_until(b'\n', &mut line).unwrap();
                    }
                    if w.write_all(&reply(totals.0, argc)).is_err() {
                        break;
                    }
                    totals.0 += 1;
                    totals.1 += argc as u64;
                }
            }
            totals
        });
        (port, h)
    }

    fn params(port: u16, shape: &str, connections: usize) -> LoadParams {
        LoadParams {
            port,
            shape: Shape::parse(shape, 2500).unwrap(),
            members_per_command: 100,
            connections,
            batch: 1000,
            timeout: Duration::from_secs(20),
        }
    }

    #[test]
    fn loads_strings_against_fake_server() {
        let (port, h) = fake_server(1, |_, _| b"+OK\r\n".to_vec());
        let st = load(&params(port, "string:16", 1)).unwrap();
        assert_eq!(st.commands, 2500);
        assert_eq!(h.join().unwrap(), (2500, 3 * 2500));
    }

    #[test]
    fn loads_a_hash_over_two_connections() {
        // HSET key f v ... answers the number of (new) fields: (argc - 2) / 2.
        let (port, h) = fake_server(2, |_, argc| format!(":{}\r\n", (argc - 2) / 2).into_bytes());
        let st = load(&params(port, "hash:3x250", 2)).unwrap();
        assert_eq!(st.commands, 9);
        assert_eq!(h.join().unwrap(), (9, 9 * 2 + 3 * 250 * 2));
    }

    #[test]
    fn fails_on_error_reply() {
        let (port, _h) = fake_server(1, |n, _| {
            if n == 1234 {
                b"-OOM command not allowed\r\n".to_vec()
            } else {
                b"+OK\r\n".to_vec()
            }
        });
        let e = load(&params(port, "string:16", 1)).unwrap_err();
        assert!(e.contains("OOM"), "{e}");
    }

    #[test]
    fn fails_on_wrong_count() {
        // A server that drops a member: SADD of 100 answers :99.
        let (port, _h) = fake_server(1, |_, argc| format!(":{}\r\n", argc - 3).into_bytes());
        let e = load(&params(port, "set:1x300", 1)).unwrap_err();
        assert!(
            e.contains("expected \":100\\r\\n\", server replied \":99\\r\\n\""),
            "{e}"
        );
    }
}
