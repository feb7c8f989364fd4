//! The `memory` subcommand's key loader: writes `SET key:NNNNNNNNNNNN <value>`
//! for keys `0..keys` over several parallel TCP connections, in pipelined
//! batches (one write per batch), and checks that every reply is `+OK`
//! before sending the next batch. Each connection owns a contiguous key
//! range, so the union is exactly `0..keys` with no key sent twice. It must
//! fail loudly (never retry or skip) on any error reply, short read or
//! timeout, and every blocking read is bounded by a socket timeout.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::ops::Range;
use std::time::{Duration, Instant};

use crate::resp_client::{value_of_size, OkCounter, SetBatcher};

#[derive(Debug, Clone)]
pub struct LoadParams {
    pub port: u16,
    pub keys: u64,
    pub value_size: usize,
    pub connections: usize,
    /// SET commands per write.
    pub batch: usize,
    /// Give up if the whole load takes longer than this.
    pub timeout: Duration,
}

#[derive(Debug, Clone, Copy)]
pub struct LoadStats {
    pub keys: u64,
    pub bytes_sent: u64,
    pub wall: Duration,
}

/// Splits `0..keys` into `parts` contiguous ranges whose sizes differ by at most 1.
pub fn split_range(keys: u64, parts: usize) -> Vec<Range<u64>> {
    let parts = (parts.max(1) as u64).min(keys.max(1));
    let base = keys / parts;
    let extra = keys % parts;
    let mut start = 0;
    (0..parts)
        .map(|i| {
            let len = base + u64::from(i < extra);
            let r = start..start + len;
            start += len;
            r
        })
        .collect()
}

/// Loads all keys; Ok only if every SET was answered `+OK`.
pub fn load(p: &LoadParams) -> Result<LoadStats, String> {
    let start = Instant::now();
    let deadline = start + p.timeout;
    let value = value_of_size(p.value_size);
    let ranges = split_range(p.keys, p.connections);
    let results: Vec<Result<(u64, u64), String>> = std::thread::scope(|s| {
        let handles: Vec<_> = ranges
            .into_iter()
            .map(|r| {
                let value = &value;
                s.spawn(move || load_range(p.port, value, r, p.batch, deadline))
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
    let mut keys = 0;
    let mut bytes_sent = 0;
    for r in results {
        let (k, b) = r?;
        keys += k;
        bytes_sent += b;
    }
    if keys != p.keys {
        return Err(format!("loader confirmed {keys} SETs, expected {}", p.keys));
    }
    Ok(LoadStats {
        keys,
        bytes_sent,
        wall: start.elapsed(),
    })
}

/// One connection: SETs for `range`, `batch` at a time. Returns (OKs, bytes sent).
fn load_range(
    port: u16,
    value: &[u8],
    range: Range<u64>,
    batch: usize,
    deadline: Instant,
) -> Result<(u64, u64), String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let ctx = |what: &str, e: std::io::Error| format!("loader ({range:?}) {what}: {e}");
    let mut s =
        TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(|e| ctx("connect", e))?;
    // A server that stops answering makes the read fail after this long.
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| ctx("set timeout", e))?;
    s.set_write_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| ctx("set timeout", e))?;
    s.set_nodelay(true).map_err(|e| ctx("nodelay", e))?;
    let batcher = SetBatcher::new(value);
    let mut out = Vec::new();
    let mut inbuf = vec![0u8; 64 * 1024];
    let mut counter = OkCounter::default();
    let mut sent = 0u64;
    let mut next = range.start;
    while next < range.end {
        if Instant::now() >= deadline {
            return Err(format!(
                "loader ({range:?}): timed out after {} of its keys",
                next - range.start
            ));
        }
        let end = (next + batch as u64).min(range.end);
        batcher.build(&mut out, next..end);
        s.write_all(&out).map_err(|e| ctx("write", e))?;
        sent += out.len() as u64;
        let want = counter.ok + (end - next);
        while counter.ok < want {
            let n = s.read(&mut inbuf).map_err(|e| ctx("read", e))?;
            if n == 0 {
                return Err(format!(
                    "loader ({range:?}): server closed the connection after {} OKs",
                    counter.ok
                ));
            }
            counter
                .feed(&inbuf[..n])
                .map_err(|e| format!("loader ({range:?}): {e}"))?;
        }
        if counter.ok != want {
            return Err(format!(
                "loader ({range:?}): got {} replies, expected {want}",
                counter.ok
            ));
        }
        next = end;
    }
    Ok((counter.ok, sent))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;
    use std::net::TcpListener;

    #[test]
    fn ranges_cover_exactly() {
        for (keys, parts) in [(10u64, 3usize), (1_000_000, 4), (3, 8), (1, 1), (7, 7)] {
            let r = split_range(keys, parts);
            assert!(r.len() <= parts);
            assert_eq!(r.first().unwrap().start, 0);
            assert_eq!(r.last().unwrap().end, keys);
            for w in r.windows(2) {
                assert_eq!(w[0].end, w[1].start);
            }
            let lens: Vec<u64> = r.iter().map(|x| x.end - x.start).collect();
            assert!(lens.iter().max().unwrap() - lens.iter().min().unwrap() <= 1);
            assert!(lens.iter().all(|&l| l > 0));
        }
    }

    /// A fake server that answers every RESP command with `reply(n)` and
    /// counts commands; checks the loader end to end without a real server.
    fn fake_server(reply: fn(u64) -> &'static [u8]) -> (u16, std::thread::JoinHandle<u64>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let h = std::thread::spawn(move || {
            let (s, _) = l.accept().unwrap();
            let mut w = s.try_clone().unwrap();
            let mut r = std::io::BufReader::new(s);
            let mut n = 0u64;
            let mut line = Vec::new();
            loop {
                line.clear();
                if r.read_until(b'\n', &mut line).unwrap_or(0) == 0 {
                    return n;
                }
                if line.starts_with(b"*3") {
                    // Skip the 6 lines of the three bulk strings.
                    for _ in 0..6 {
                        line.clear();
                        r.read_until(b'\n', &mut line).unwrap();
                    }
                    if w.write_all(reply(n)).is_err() {
                        return n;
                    }
                    n += 1;
                }
            }
        });
        (port, h)
    }

    fn params(port: u16) -> LoadParams {
        LoadParams {
            port,
            keys: 2500,
            value_size: 16,
            connections: 1,
            batch: 1000,
            timeout: Duration::from_secs(20),
        }
    }

    #[test]
    fn loads_against_fake_server() {
        let (port, h) = fake_server(|_| b"+OK\r\n");
        let st = load(&params(port)).unwrap();
        assert_eq!(st.keys, 2500);
        assert_eq!(h.join().unwrap(), 2500);
    }

    #[test]
    fn fails_on_error_reply() {
        let (port, _h) = fake_server(|n| {
            if n == 1234 {
                b"-OOM command not allowed\r\n"
            } else {
                b"+OK\r\n"
            }
        });
        let e = load(&params(port)).unwrap_err();
        assert!(e.contains("OOM"), "{e}");
    }
}
