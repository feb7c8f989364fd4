//! A real `memcached` child process on an ephemeral port (the differential oracle), and a raw
//! byte-script client for both it and darter's memcached port.
//!
//! memcached prints nothing when it is ready, so readiness is a successful connect (retried while
//! the child starts; the child exiting fails the start at once).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct MemcachedServer {
    child: Child,
    pub addr: SocketAddr,
}

impl MemcachedServer {
    /// True when a `memcached` binary is on PATH.
    pub fn available() -> bool {
        Command::new("memcached")
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Starts `memcached -t 1` on 127.0.0.1 with the given extra arguments.
    pub fn start(extra: &[&str]) -> MemcachedServer {
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").expect("probe port");
            l.local_addr().expect("addr").port()
        };
        let mut cmd = Command::new("memcached");
        cmd.args([
            "-l",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            "0",
            "-t",
            "1",
        ]);
        // memcached refuses to run as root without -u.
        if std::env::var("USER").as_deref() == Ok("root") || is_root() {
            cmd.args(["-u", "root"]);
        }
        cmd.args(extra).stdout(Stdio::null()).stderr(Stdio::null());
        let mut child = cmd.spawn().expect("spawn memcached");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let start = Instant::now();
        loop {
            if TcpStream::connect(addr).is_ok() {
                break;
            }
            if let Ok(Some(st)) = child.try_wait() {
                panic!("memcached exited at start: {st}");
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "memcached did not start"
            );
            std::thread::yield_now();
        }
        MemcachedServer { child, addr }
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
    })
}

impl Drop for MemcachedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `script` on a fresh connection, then `version\r\n` as an end marker, and returns every
/// byte received before the marker's reply (or until the server closed the connection).
pub fn run_script(addr: SocketAddr, script: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(script).expect("write script");
    let _ = s.write_all(b"version\r\n");
    let mut out = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        if let Some(p) = find_version_tail(&out) {
            out.truncate(p);
            return out;
        }
        match s.read(&mut buf) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return out,
            Err(e) => panic!(
                "reading script replies: {e}; got so far {:?}",
                String::from_utf8_lossy(&out)
            ),
        }
    }
}

/// The start of a trailing `VERSION ...\r\n` line, if `out` ends with one.
fn find_version_tail(out: &[u8]) -> Option<usize> {
    if !out.ends_with(b"\r\n") {
        return None;
    }
    let body = &out[..out.len() - 2];
    let start = body.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    body[start..].starts_with(b"VERSION ").then_some(start)
}

/// Replaces CAS uniques (the one field that legitimately differs between servers) with `<cas>`:
/// the fifth field of `VALUE <key> <flags> <bytes> <cas>` lines, meta `c<n>` flags and `me`'s
/// `cas=<n>`; data blocks (after VALUE and VA lines) are skipped, not masked.
pub fn mask_cas(reply: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(reply.len());
    let mut rest = reply;
    while !rest.is_empty() {
        let end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .map_or(rest.len(), |p| p + 2);
        let line = &rest[..end];
        rest = &rest[end..];
        if line.starts_with(b"VALUE ") {
            let text = String::from_utf8_lossy(&line[..line.len().saturating_sub(2)]).to_string();
            let parts: Vec<&str> = text.split(' ').collect();
            let len: usize = parts.get(3).and_then(|n| n.parse().ok()).unwrap_or(0);
            if parts.len() == 5 {
                out.extend_from_slice(
                    format!(
                        "{} {} {} {} <cas>\r\n",
                        parts[0], parts[1], parts[2], parts[3]
                    )
                    .as_bytes(),
                );
            } else {
                out.extend_from_slice(line);
            }
            let data = (len + 2).min(rest.len());
            out.extend_from_slice(&rest[..data]);
            rest = &rest[data..];
        } else if line.starts_with(b"VA ") || is_meta_status(line) || line.starts_with(b"ME ") {
            let text = String::from_utf8_lossy(&line[..line.len().saturating_sub(2)]).to_string();
            let masked: Vec<String> = text
                .split(' ')
                .enumerate()
                .map(|(i, t)| {
                    if i > 0
                        && t.len() > 1
                        && t.starts_with('c')
                        && t[1..].bytes().all(|b| b.is_ascii_digit())
                    {
                        "c<cas>".to_string()
                    } else if t.starts_with("cas=") {
                        "cas=<cas>".to_string()
                    } else {
                        t.to_string()
                    }
                })
                .collect();
            out.extend_from_slice(masked.join(" ").as_bytes());
            out.extend_from_slice(b"\r\n");
            if line.starts_with(b"VA ") {
                let len: usize = text
                    .split(' ')
                    .nth(1)
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                let data = (len + 2).min(rest.len());
                out.extend_from_slice(&rest[..data]);
                rest = &rest[data..];
            }
        } else {
            out.extend_from_slice(line);
        }
    }
    out
}

fn is_meta_status(line: &[u8]) -> bool {
    [&b"HD"[..], b"EN", b"NF", b"NS", b"EX"]
        .iter()
        .any(|c| line.starts_with(c) && matches!(line.get(2), Some(b' ' | b'\r')))
}

/// Sends binary-protocol `script` on a fresh connection, then a NOOP with opaque 0xfeedface as
/// an end marker, and returns every response packet before the marker's (or until the server
/// closed), each with its CAS field zeroed (the one field that legitimately differs).
pub fn run_binary(addr: SocketAddr, script: &[u8]) -> Vec<Vec<u8>> {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(script).expect("write script");
    let marker = [
        0x80u8, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xfe, 0xed, 0xfa, 0xce, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    let _ = s.write_all(&marker);
    let mut buf = Vec::new();
    let mut packets = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    loop {
        while buf.len() >= 24 {
            let body = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]) as usize;
            if buf.len() < 24 + body {
                break;
            }
            let mut p: Vec<u8> = buf.drain(..24 + body).collect();
            if p[1] == 0x0a && p[12..16] == [0xfe, 0xed, 0xfa, 0xce] {
                return packets;
            }
            p[16..24].fill(0);
            packets.push(p);
        }
        match s.read(&mut chunk) {
            Ok(0) => return packets,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return packets,
            Err(e) => panic!("reading binary replies: {e}"),
        }
    }
}
