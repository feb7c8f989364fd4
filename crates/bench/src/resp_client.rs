//! A minimal blocking RESP2 client for the `memory` subcommand: it encodes
//! commands (and whole batches of `SET key value`), checks streams of `+OK`
//! replies, reads single replies (simple string, error, integer, bulk) and
//! parses `INFO` text. It deliberately does not link the darter-resp crate:
//! the harness must measure the darter binary, not share code with it. Every
//! socket read is bounded by the stream's read timeout, set by the caller.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Digits in the numeric part of a key: `key:000000000001`.
pub const KEY_DIGITS: usize = 12;
/// Length of every key: `key:` plus `KEY_DIGITS` digits.
pub const KEY_LEN: usize = 4 + KEY_DIGITS;

/// Writes the key for index `i` (`key:` + 12 zero-padded digits) into `out`.
pub fn push_key(out: &mut Vec<u8>, i: u64) {
    out.extend_from_slice(b"key:");
    let mut digits = [b'0'; KEY_DIGITS];
    let mut n = i;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
    debug_assert_eq!(n, 0, "key index {i} has more than {KEY_DIGITS} digits");
    out.extend_from_slice(&digits);
}

/// The key for index `i`, as a String (for messages and tests).
pub fn key_name(i: u64) -> String {
    let mut v = Vec::with_capacity(KEY_LEN);
    push_key(&mut v, i);
    String::from_utf8(v).expect("ASCII")
}

/// A value of exactly `size` bytes that neither server will store as an
/// integer (it starts with a letter): `x` repeated, like redis-benchmark's.
pub fn value_of_size(size: usize) -> Vec<u8> {
    vec![b'x'; size]
}

/// Appends one command as a RESP array of bulk strings.
pub fn push_command(out: &mut Vec<u8>, args: &[&[u8]]) {
    push_header(out, b'*', args.len());
    for a in args {
        push_bulk(out, a);
    }
}

fn push_header(out: &mut Vec<u8>, kind: u8, n: usize) {
    out.push(kind);
    out.extend_from_slice(n.to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn push_bulk(out: &mut Vec<u8>, a: &[u8]) {
    push_header(out, b'$', a.len());
    out.extend_from_slice(a);
    out.extend_from_slice(b"\r\n");
}

/// Precomputed pieces of `SET key:NNNNNNNNNNNN <value>` so a batch is built
/// with plain copies (no formatting per command).
pub struct SetBatcher {
    /// `*3\r\n$3\r\nSET\r\n$16\r\n`
    prefix: Vec<u8>,
    /// `\r\n$<size>\r\n<value>\r\n`
    suffix: Vec<u8>,
}

impl SetBatcher {
    pub fn new(value: &[u8]) -> SetBatcher {
        let mut prefix = Vec::new();
        push_header(&mut prefix, b'*', 3);
        push_bulk(&mut prefix, b"SET");
        push_header(&mut prefix, b'$', KEY_LEN);
        let mut suffix = b"\r\n".to_vec();
        push_bulk(&mut suffix, value);
        SetBatcher { prefix, suffix }
    }

    /// Bytes of one encoded SET command.
    pub fn command_len(&self) -> usize {
        self.prefix.len() + KEY_LEN + self.suffix.len()
    }

    /// Clears `out` and fills it with `SET` commands for keys `range`.
    pub fn build(&self, out: &mut Vec<u8>, range: std::ops::Range<u64>) {
        out.clear();
        out.reserve(self.command_len() * (range.end - range.start) as usize);
        for i in range {
            out.extend_from_slice(&self.prefix);
            push_key(out, i);
            out.extend_from_slice(&self.suffix);
        }
    }
}

/// Incremental checker for a stream of replies that must all be `+OK\r\n`.
/// Feed it whatever the socket returned; it keeps a partial reply between
/// calls and reports the first reply that is not `+OK`.
#[derive(Default)]
pub struct OkCounter {
    /// Bytes of an incomplete reply carried over from the last `feed`.
    partial: Vec<u8>,
    pub ok: u64,
}

const OK: &[u8] = b"+OK\r\n";

impl OkCounter {
    /// Consumes `data`; Err with the offending reply line if a reply is not `+OK`.
    pub fn feed(&mut self, data: &[u8]) -> Result<(), String> {
        let mut data = data;
        if !self.partial.is_empty() {
            let need = OK.len() - self.partial.len();
            let take = need.min(data.len());
            self.partial.extend_from_slice(&data[..take]);
            data = &data[take..];
            if !OK.starts_with(&self.partial) {
                return Err(bad_reply(&self.partial, data));
            }
            if self.partial.len() < OK.len() {
                return Ok(());
            }
            self.partial.clear();
            self.ok += 1;
        }
        let whole = data.len() / OK.len() * OK.len();
        for (n, chunk) in data[..whole].chunks_exact(OK.len()).enumerate() {
            if chunk != OK {
                return Err(bad_reply(chunk, &data[n * OK.len() + OK.len()..]));
            }
        }
        self.ok += (whole / OK.len()) as u64;
        let rest = &data[whole..];
        if !OK.starts_with(rest) {
            return Err(bad_reply(rest, &[]));
        }
        self.partial.extend_from_slice(rest);
        Ok(())
    }
}

/// Describes a non-OK reply: its first line (what the server said).
fn bad_reply(start: &[u8], more: &[u8]) -> String {
    let mut line: Vec<u8> = start.iter().chain(more.iter()).copied().take(200).collect();
    if let Some(p) = line.iter().position(|&b| b == b'\n') {
        line.truncate(p + 1);
    }
    format!(
        "expected +OK, server replied {:?}",
        String::from_utf8_lossy(&line)
    )
}

/// One RESP2 reply (only the kinds the harness needs).
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
}

/// Reads one reply. Arrays are not supported (the harness never asks for one).
pub fn read_reply<R: BufRead>(r: &mut R) -> io::Result<Reply> {
    let mut line = Vec::new();
    r.read_until(b'\n', &mut line)?;
    if !line.ends_with(b"\r\n") {
        return Err(invalid(format!(
            "truncated reply line {:?}",
            String::from_utf8_lossy(&line)
        )));
    }
    let body = String::from_utf8_lossy(&line[1..line.len() - 2]).into_owned();
    match line[0] {
        b'+' => Ok(Reply::Simple(body)),
        b'-' => Ok(Reply::Error(body)),
        b':' => body
            .parse()
            .map(Reply::Int)
            .map_err(|_| invalid(format!("bad integer reply {body:?}"))),
        b'$' => {
            let n: i64 = body
                .parse()
                .map_err(|_| invalid(format!("bad bulk length {body:?}")))?;
            if n < 0 {
                return Ok(Reply::Bulk(None));
            }
            let mut buf = vec![0u8; n as usize + 2];
            r.read_exact(&mut buf)?;
            if !buf.ends_with(b"\r\n") {
                return Err(invalid("bulk string not terminated by CRLF".into()));
            }
            buf.truncate(n as usize);
            Ok(Reply::Bulk(Some(buf)))
        }
        other => Err(invalid(format!(
            "unsupported reply type {:?} in {:?}",
            other as char,
            String::from_utf8_lossy(&line)
        ))),
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// A blocking request/response connection for control commands
/// (DBSIZE, INFO). Reads are bounded by `timeout`.
pub struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    pub fn connect(port: u16, timeout: Duration) -> io::Result<Conn> {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let s = TcpStream::connect_timeout(&addr, timeout)?;
        s.set_read_timeout(Some(timeout))?;
        s.set_write_timeout(Some(timeout))?;
        s.set_nodelay(true)?;
        Ok(Conn {
            reader: BufReader::new(s.try_clone()?),
            writer: s,
        })
    }

    pub fn command(&mut self, args: &[&[u8]]) -> io::Result<Reply> {
        let mut buf = Vec::new();
        push_command(&mut buf, args);
        self.writer.write_all(&buf)?;
        read_reply(&mut self.reader)
    }

    /// `DBSIZE` as a number; any other reply is an error.
    pub fn dbsize(&mut self) -> Result<u64, String> {
        match self.command(&[b"DBSIZE"]) {
            Ok(Reply::Int(n)) if n >= 0 => Ok(n as u64),
            Ok(r) => Err(format!("DBSIZE: unexpected reply {r:?}")),
            Err(e) => Err(format!("DBSIZE: {e}")),
        }
    }

    /// The text of `INFO <section>`.
    pub fn info(&mut self, section: &str) -> Result<String, String> {
        match self.command(&[b"INFO", section.as_bytes()]) {
            Ok(Reply::Bulk(Some(b))) => Ok(String::from_utf8_lossy(&b).into_owned()),
            Ok(r) => Err(format!("INFO {section}: unexpected reply {r:?}")),
            Err(e) => Err(format!("INFO {section}: {e}")),
        }
    }
}

/// Looks up `field` in INFO text (`# Section` headers, `name:value` lines,
/// CRLF or LF line ends). Returns the raw value.
pub fn info_field<'a>(info: &'a str, field: &str) -> Option<&'a str> {
    info.lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| *k == field)
        .map(|(_, v)| v.trim())
}

/// An INFO field that must be a non-negative integer.
pub fn info_u64(info: &str, field: &str) -> Option<u64> {
    info_field(info, field)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_zero_padded() {
        assert_eq!(key_name(1), "key:000000000001");
        assert_eq!(key_name(0), "key:000000000000");
        assert_eq!(key_name(999_999_999_999), "key:999999999999");
        assert_eq!(key_name(1_000_000).len(), KEY_LEN);
    }

    #[test]
    fn encodes_commands() {
        let mut b = Vec::new();
        push_command(&mut b, &[b"INFO", b"memory"]);
        assert_eq!(b, b"*2\r\n$4\r\nINFO\r\n$6\r\nmemory\r\n");
        b.clear();
        push_command(&mut b, &[b"SET", b"", b"v"]);
        assert_eq!(b, b"*3\r\n$3\r\nSET\r\n$0\r\n\r\n$1\r\nv\r\n");
    }

    #[test]
    fn set_batch_matches_generic_encoder() {
        for size in [1usize, 16, 100] {
            let value = value_of_size(size);
            assert_eq!(value.len(), size);
            let batcher = SetBatcher::new(&value);
            let mut got = Vec::new();
            batcher.build(&mut got, 41..44);
            let mut want = Vec::new();
            for i in 41..44 {
                push_command(&mut want, &[b"SET", key_name(i).as_bytes(), &value]);
            }
            assert_eq!(got, want);
            assert_eq!(got.len(), 3 * batcher.command_len());
        }
        let mut b = Vec::new();
        SetBatcher::new(b"xxxx").build(&mut b, 1..2);
        assert_eq!(
            b,
            b"*3\r\n$3\r\nSET\r\n$16\r\nkey:000000000001\r\n$4\r\nxxxx\r\n"
        );
    }

    #[test]
    fn ok_counter_across_splits() {
        let stream = OK.repeat(7);
        // Every way of cutting the stream into two reads.
        for cut in 0..=stream.len() {
            let mut c = OkCounter::default();
            c.feed(&stream[..cut]).unwrap();
            c.feed(&stream[cut..]).unwrap();
            assert_eq!(c.ok, 7, "cut at {cut}");
        }
        // One byte at a time.
        let mut c = OkCounter::default();
        for b in &stream {
            c.feed(std::slice::from_ref(b)).unwrap();
        }
        assert_eq!(c.ok, 7);
    }

    #[test]
    fn ok_counter_reports_errors() {
        let mut c = OkCounter::default();
        let mut s = OK.repeat(2);
        s.extend_from_slice(b"-OOM command not allowed\r\n");
        let e = c.feed(&s).unwrap_err();
        assert!(e.contains("-OOM command not allowed"), "{e}");
        // An error starting in a carried-over partial reply.
        let mut c = OkCounter::default();
        c.feed(b"+O").unwrap();
        let e = c.feed(b"X\r\n").unwrap_err();
        assert!(e.contains("+OX"), "{e}");
        // A short error at the tail.
        let mut c = OkCounter::default();
        assert!(c.feed(b"+OK\r\n-E").is_err());
    }

    #[test]
    fn reads_replies() {
        let data = b"+PONG\r\n-ERR no\r\n:42\r\n$5\r\nab\r\nc\r\n$-1\r\n$0\r\n\r\n";
        let mut r = &data[..];
        assert_eq!(read_reply(&mut r).unwrap(), Reply::Simple("PONG".into()));
        assert_eq!(read_reply(&mut r).unwrap(), Reply::Error("ERR no".into()));
        assert_eq!(read_reply(&mut r).unwrap(), Reply::Int(42));
        assert_eq!(
            read_reply(&mut r).unwrap(),
            Reply::Bulk(Some(b"ab\r\nc".to_vec()))
        );
        assert_eq!(read_reply(&mut r).unwrap(), Reply::Bulk(None));
        assert_eq!(read_reply(&mut r).unwrap(), Reply::Bulk(Some(Vec::new())));
        assert!(read_reply(&mut r).is_err(), "EOF");
        assert!(read_reply(&mut &b":x\r\n"[..]).is_err());
        assert!(read_reply(&mut &b"*1\r\n"[..]).is_err());
        assert!(read_reply(&mut &b"$3\r\nab"[..]).is_err());
    }

    #[test]
    fn parses_info() {
        let info = "# Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\n\
                    maxmemory_policy:noeviction\r\n\r\n# Keyspace\r\ndb0:keys=3,expires=0\r\n";
        assert_eq!(info_u64(info, "used_memory"), Some(1_048_576));
        assert_eq!(info_field(info, "used_memory_human"), Some("1.00M"));
        assert_eq!(info_field(info, "db0"), Some("keys=3,expires=0"));
        assert_eq!(info_u64(info, "used_memory_human"), None);
        assert_eq!(info_u64(info, "used_memory_rss"), None);
        assert_eq!(info_u64("used_memory:7\nx:1\n", "used_memory"), Some(7));
    }
}
