//! A minimal blocking RESP2 client for the `memory` subcommand: it encodes
//! commands, checks streams of replies against the exact bytes expected, reads single replies (simple string, error, integer, bulk) and
//! parses `INFO` text. It deliberately does not link the darter-resp crate:
//! the harness must measure the darter binary, not share code with it. Every
//! socket read is bounded by the stream's read timeout, set by the caller.

use std::io::{self, BufRead, BufReader, Read, Write};
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

pub fn push_header(out: &mut Vec<u8>, kind: u8, n: usize) {
    out.push(kind);
    out.extend_from_slice(n.to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
}

pub fn push_bulk(out: &mut Vec<u8>, a: &[u8]) {
    push_header(out, b'$', a.len());
    out.extend_from_slice(a);
    out.extend_from_slice(b"\r\n");
}

/// Reads exactly the replies in `expected` (their concatenated bytes, as the
/// server must send them) from `r`, checking every byte as it arrives; `buf`
/// is scratch space. Err names the first reply that differs (an error reply,
/// a wrong count), a closed connection, a read error or timeout, or bytes
/// beyond the expected replies.
pub fn read_expected<R: Read>(r: &mut R, buf: &mut [u8], expected: &[u8]) -> Result<(), String> {
    let mut got = 0;
    while got < expected.len() {
        let n = r.read(buf).map_err(|e| {
            format!(
                "read failed after {} of {} replies: {e}",
                replies_in(&expected[..got]),
                replies_in(expected)
            )
        })?;
        if n == 0 {
            return Err(format!(
                "server closed the connection after {} of {} replies",
                replies_in(&expected[..got]),
                replies_in(expected)
            ));
        }
        let data = &buf[..n];
        let want = &expected[got..];
        let differs = data.iter().zip(want).position(|(a, b)| a != b);
        if let Some(i) = differs.or((n > want.len()).then_some(want.len())) {
            // Complete the offending line (bounded) so the message shows it whole.
            let mut rest = data[i..].to_vec();
            while !rest.contains(&b'\n') && rest.len() < 200 {
                match r.read(buf) {
                    Ok(n) if n > 0 => rest.extend_from_slice(&buf[..n]),
                    _ => break,
                }
            }
            return Err(mismatch(expected, got + i, &rest));
        }
        got += n;
    }
    Ok(())
}

/// Replies in a stream of single-line replies.
fn replies_in(stream: &[u8]) -> usize {
    stream.iter().filter(|&&b| b == b'\n').count()
}

/// Describes the reply that differs at byte `pos` of `expected`; `rest` is
/// what the server sent from that byte on.
fn mismatch(expected: &[u8], pos: usize, rest: &[u8]) -> String {
    let start = expected[..pos]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line_end = |s: &[u8]| {
        s.iter()
            .position(|&b| b == b'\n')
            .map_or(s.len(), |i| i + 1)
    };
    let want = &expected[start..];
    let want = &want[..line_end(want)];
    let mut got = expected[start..pos].to_vec();
    got.extend_from_slice(&rest[..line_end(rest).min(200)]);
    format!(
        "reply {} of {}: expected {:?}, server replied {:?}",
        replies_in(&expected[..start]) + 1,
        replies_in(expected),
        String::from_utf8_lossy(want),
        String::from_utf8_lossy(&got)
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

    /// A reader that returns at most `step` bytes per read.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn check(sent: &[u8], expected: &[u8], step: usize) -> Result<(), String> {
        let mut buf = [0u8; 64];
        read_expected(&mut Trickle { data: sent, step }, &mut buf, expected)
    }

    #[test]
    fn expected_replies_across_splits() {
        let stream = b"+OK\r\n:100\r\n:7\r\n+OK\r\n";
        for step in 1..=stream.len() {
            check(stream, stream, step).unwrap();
        }
    }

    #[test]
    fn reports_the_reply_that_differs() {
        let expected = b"+OK\r\n:100\r\n:100\r\n";
        let e = check(b"+OK\r\n:100\r\n:99\r\n", expected, 3).unwrap_err();
        assert!(e.contains("reply 3 of 3"), "{e}");
        assert!(
            e.contains(r#"expected ":100\r\n", server replied ":99\r\n""#),
            "{e}"
        );
        let e = check(b"+OK\r\n-OOM command not allowed\r\n", expected, 64).unwrap_err();
        assert!(e.contains("-OOM command not allowed"), "{e}");
        assert!(e.contains("reply 2 of 3"), "{e}");
        let e = check(b"+OK\r\n", expected, 64).unwrap_err();
        assert!(e.contains("closed the connection after 1 of 3"), "{e}");
        let e = check(b"+OK\r\n+OK\r\n", b"+OK\r\n", 64).unwrap_err();
        assert!(
            e.contains("server replied \"+OK\\r\\n\""),
            "extra bytes: {e}"
        );
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
