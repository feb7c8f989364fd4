//! The differential harness: a command script runs against a real redis-server and darter, and
//! every reply must be byte-identical.
//!
//! Script format (one command per line, redis-cli-style quoting):
//! ```text
//! # a comment
//! SET k "hello world"
//! !sort SMEMBERS s        # compare arrays as multisets (order unspecified in Redis)
//! !type INCRBYFLOAT f 1   # compare only the reply's type byte (for values that legitimately differ)
//! !raw *1\r\n$4\r\nPING\r\n   # send raw bytes (C-style escapes), compare what comes back
//! !reconnect              # open fresh connections to both servers
//! !conn sub               # switch to the connection pair named `sub` (opened on first use;
//!                         # the first pair is `main`), e.g. a subscriber beside a publisher
//! !read 2                 # read 2 replies (pub/sub messages) without sending anything
//! ```
//! A server closing the connection shows as `<closed>` in the compared output; after a plain
//! command that saw a close, both connections are reopened for the next line.
//! Set `DARTER_DIFF_VERBOSE=1` to print every line with both replies.
//! Each script starts with FLUSHALL on both servers. Keys are spread over darter's shards by their
//! names, so scripts should use several keys to exercise cross-shard paths.

use crate::client::{encode_request, frame_bytes, RawClient};
use darter_resp::{decode, Frame};

/// A mismatch between redis and darter.
#[derive(Debug)]
pub struct DiffReport {
    pub line: usize,
    pub command: String,
    pub redis: String,
    pub darter: String,
}

impl std::fmt::Display for DiffReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}: {}\n  redis:  {}\n  darter: {}",
            self.line, self.command, self.redis, self.darter
        )
    }
}

/// Splits a line into arguments with Redis's inline rules (`sdssplitargs`: double quotes with
/// escapes, single quotes). Returns None for unbalanced quotes.
pub fn split_args(line: &str) -> Option<Vec<Vec<u8>>> {
    darter_resp::split_line(line.as_bytes())
}

fn unescape_raw(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            match b[i + 1] {
                b'r' => out.push(b'\r'),
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'\\' => out.push(b'\\'),
                b'x' if i + 3 < b.len() => {
                    out.push(u8::from_str_radix(&s[i + 2..i + 4], 16).unwrap_or(b'?'));
                    i += 2;
                }
                c => out.push(c),
            }
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// A reply for humans: printable ASCII as is, `\r` `\n` `\\` escaped, other bytes as `\xHH`
/// (so replies differing only in non-ASCII bytes look different), cut after 400 characters.
fn show(raw: &[u8]) -> String {
    let mut s = String::new();
    for &b in raw {
        match b {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    if s.len() > 400 {
        // Only ASCII was pushed, so any index is a char boundary.
        format!("{}...", &s[..400])
    } else {
        s
    }
}

fn sorted(raw: &[u8]) -> Vec<u8> {
    match decode(raw) {
        Ok(Some((Frame::Array(mut items), _))) => {
            items.sort_by_key(frame_bytes);
            frame_bytes(&Frame::Array(items))
        }
        Ok(Some((Frame::Set(mut items), _))) => {
            items.sort_by_key(frame_bytes);
            frame_bytes(&Frame::Set(items))
        }
        _ => raw.to_vec(),
    }
}

/// Reads the `expect` replies a raw send produces, or up to the server closing the connection
/// (then `<closed>` marks where).
fn read_all_replies(c: &mut RawClient, expect: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..expect {
        match c.try_read_reply_raw() {
            Some(r) => out.extend_from_slice(&r),
            None => {
                out.extend_from_slice(CLOSED);
                return out;
            }
        }
    }
    out
}

/// Sends one request and reads its reply; `<closed>` when the server closed the connection
/// instead (so a server that drops a connection is a reported mismatch, not a harness panic).
fn send_and_read(c: &mut RawClient, req: &[u8]) -> Vec<u8> {
    if !c.try_send_raw(req) {
        return CLOSED.to_vec();
    }
    c.try_read_reply_raw().unwrap_or_else(|| CLOSED.to_vec())
}

const CLOSED: &[u8] = b"<closed>";

/// Runs `script` against both servers. Returns every mismatch (empty = identical).
pub fn run_script(
    script: &str,
    mut redis: impl FnMut() -> RawClient,
    mut darter: impl FnMut() -> RawClient,
) -> Vec<DiffReport> {
    let mut r = redis();
    let mut d = darter();
    r.cmd_raw(&["FLUSHALL"]);
    d.cmd_raw(&["FLUSHALL"]);
    // Connection pairs not in use, by name; (r, d) is the current one.
    let mut current = "main".to_string();
    let mut others: std::collections::HashMap<String, (RawClient, RawClient)> =
        std::collections::HashMap::new();
    let mut reports = Vec::new();
    let verbose = std::env::var_os("DARTER_DIFF_VERBOSE").is_some();
    for (idx, line) in script.lines().enumerate() {
        let line_no = idx + 1;
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if t == "!reconnect" {
            r = redis();
            d = darter();
            continue;
        }
        let (mode, rest) = if let Some(rest) = t.strip_prefix('!') {
            let (m, rest) = rest.split_once(' ').unwrap_or((rest, ""));
            (m, rest.trim())
        } else {
            ("", t)
        };
        if mode == "conn" {
            if rest != current {
                let (nr, nd) = others.remove(rest).unwrap_or_else(|| (redis(), darter()));
                let old_r = std::mem::replace(&mut r, nr);
                let old_d = std::mem::replace(&mut d, nd);
                others.insert(
                    std::mem::replace(&mut current, rest.to_string()),
                    (old_r, old_d),
                );
            }
            continue;
        }
        let (rr, dr) = match mode {
            "read" => {
                let n: usize = rest.parse().unwrap_or(1);
                (read_all_replies(&mut r, n), read_all_replies(&mut d, n))
            }
            "raw" => {
                // "!raw N <bytes>": send bytes, read N replies (or until close).
                let (n, bytes) = rest.split_once(' ').unwrap_or(("1", rest));
                let n: usize = n.parse().unwrap_or(1);
                let bytes = unescape_raw(bytes);
                // A failed send shows up as `<closed>` when the replies are read.
                r.try_send_raw(&bytes);
                d.try_send_raw(&bytes);
                (read_all_replies(&mut r, n), read_all_replies(&mut d, n))
            }
            _ => {
                let Some(args) = split_args(rest) else {
                    panic!("line {line_no}: unbalanced quotes in script");
                };
                let req = encode_request(&args);
                let rr = send_and_read(&mut r, &req);
                let dr = send_and_read(&mut d, &req);
                if rr.ends_with(CLOSED) || dr.ends_with(CLOSED) {
                    // Start the next line on fresh connections instead of cascading failures.
                    r = redis();
                    d = darter();
                }
                match mode {
                    "sort" => (sorted(&rr), sorted(&dr)),
                    "type" => (rr[..1].to_vec(), dr[..1].to_vec()),
                    "" => (rr, dr),
                    other => panic!("line {line_no}: unknown directive !{other}"),
                }
            }
        };
        if verbose {
            eprintln!(
                "line {line_no}: {rest}\n  redis:  {}\n  darter: {}",
                show(&rr),
                show(&dr)
            );
        }
        if rr != dr {
            reports.push(DiffReport {
                line: line_no,
                command: rest.to_string(),
                redis: show(&rr),
                darter: show(&dr),
            });
        }
    }
    reports
}
