//! Incremental, zero-copy parsing of client requests (multibulk `*N\r\n$L\r\n...` and inline lines).
//!
//! This is a port of Redis 7.0 `networking.c` (`processInputBuffer`, `processMultibulkBuffer`,
//! `processInlineBuffer`) that must accept, reject and word its errors exactly as Redis does, quirks
//! included (see the list below). It does no I/O and never copies multibulk argument bytes: a complete
//! command is split off the caller's buffer and its arguments are slices of that one `Bytes`.
//!
//! ```text
//!            first byte '*'                      header line done, N > 0
//!  Idle ────────────────────▶ Multibulk{header} ─────────────────────────▶ Multibulk{args: pos, bulk}
//!   │  ▲                        │ N <= 0: skip, back to Idle                 │ each "$L\r\n" + L bytes + 2
//!   │  └────────────────────────┘◀──────────── all N arguments read: split_to(pos) ◀┘
//!   │ any other first byte
//!   └──▶ Inline{scan for '\n'} ── line found: sdssplitargs, split_to(line end) ──▶ Idle
//! ```
//!
//! Redis behaviours reproduced on purpose (each checked against redis-server 7.0.15):
//! - Lines are found with C `strchr`, so a NUL byte before the terminator hides it: the request stalls
//!   until more than `max_inline_len` bytes are buffered, then fails with the "too big" error.
//! - A header line ends at `\r` plus any one byte: the byte after `\r` is not checked to be `\n`, and the
//!   two bytes after a bulk's payload are skipped without checking they are `\r\n`.
//! - "Too big" is judged as if bytes arrived one at a time (Redis checks after every read): a line fails
//!   iff more than `max_inline_len` bytes precede its terminator, whatever the read sizes. This makes the
//!   result independent of how the input is split, which Redis's own result is not quite.
//! - `*0`, `*-1` (any count <= 0) and blank inline lines are consumed and produce no command.
//! - With `set_auth_required(true)` the unauthenticated limits apply (count > 10, bulk > 16384).

use bytes::{Buf, Bytes, BytesMut};
use memchr::memchr2;
use std::fmt;

use crate::inline::{split_args, Token};
use crate::num::string2ll;

/// Request size limits. `Default` is Redis 7.0's defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// `proto-max-bulk-len`: the largest accepted `$L` (Redis default 512 MiB).
    pub max_bulk_len: usize,
    /// The largest accepted `*N`. Redis 7.0 accepts up to `INT_MAX` (6.x had 1024*1024).
    pub max_multibulk_len: usize,
    /// `PROTO_INLINE_MAX_SIZE`: the longest inline line, and also the longest `*N` / `$L` header line.
    pub max_inline_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: 512 * 1024 * 1024,
            max_multibulk_len: i32::MAX as usize,
            max_inline_len: 64 * 1024,
        }
    }
}

/// Redis's unauthenticated-client limits (networking.c: `ll > 10`, `ll > 16384` when `authRequired`).
const UNAUTH_MAX_MULTIBULK: i64 = 10;
const UNAUTH_MAX_BULK: i64 = 16384;

/// A request that Redis would answer with an error and then close the connection.
///
/// The message is the reply without the leading `-` and trailing CRLF, error code included, exactly as
/// Redis sends it: `ERR Protocol error: invalid bulk length`. It is Latin-1: each `char` is one byte
/// of the reply (only "expected '$', got 'X'" can hold a non-ASCII byte). Use [`ParseError::reply`]
/// for the exact reply bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    Protocol(String),
}

impl ParseError {
    fn protocol(msg: &str) -> Self {
        ParseError::Protocol(format!("ERR Protocol error: {msg}"))
    }

    /// The message (see the type's documentation).
    pub fn message(&self) -> &str {
        match self {
            ParseError::Protocol(m) => m,
        }
    }

    /// The exact reply Redis sends for this error: `-<message>\r\n`, message bytes taken as Latin-1.
    pub fn reply(&self) -> Vec<u8> {
        let msg = self.message();
        let mut out = Vec::with_capacity(msg.len() + 3);
        out.push(b'-');
        out.extend(
            msg.chars()
                .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')),
        );
        out.extend_from_slice(b"\r\n");
        out
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for ParseError {}

const TOO_BIG_INLINE: &str = "too big inline request";
const TOO_BIG_MBULK: &str = "too big mbulk count string";
const TOO_BIG_BULK: &str = "too big bulk count string";
const INVALID_MBULK: &str = "invalid multibulk length";
const INVALID_BULK: &str = "invalid bulk length";
const UNAUTH_MBULK: &str = "unauthenticated multibulk length";
const UNAUTH_BULK: &str = "unauthenticated bulk length";
const UNBALANCED: &str = "unbalanced quotes in request";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Idle,
    Inline,
    Multibulk,
}

/// Outcome of looking for the end of a line.
enum Line {
    /// Index of the terminator in the buffer.
    Found(usize),
    Wait,
    TooBig,
}

/// Resumable request parser; one per connection. See the module docs for the state machine.
#[derive(Debug)]
pub struct RequestParser {
    kind: Kind,
    /// Start of the line being searched, and where to resume the search (bytes in between hold no
    /// terminator and no NUL). Both are offsets into the caller's buffer, whose front is the request.
    line_start: usize,
    scan: usize,
    /// A NUL was found before the terminator: the line can never complete (Redis's `strchr`).
    stalled: bool,
    /// Multibulk: the `*N` header was read; arguments still to read; where the next byte to parse is.
    header_done: bool,
    remaining: usize,
    pos: usize,
    /// Length of the bulk whose `$L` header has been read and whose payload has not.
    bulk: Option<usize>,
    args: Vec<(usize, usize)>,
    tokens: Vec<Token>,
    hint: usize,
    auth_required: bool,
}

impl Default for RequestParser {
    fn default() -> Self {
        Self::new()
    }
}

impl RequestParser {
    pub fn new() -> Self {
        RequestParser {
            kind: Kind::Idle,
            line_start: 0,
            scan: 0,
            stalled: false,
            header_done: false,
            remaining: 0,
            pos: 0,
            bulk: None,
            args: Vec::new(),
            tokens: Vec::new(),
            hint: 0,
            auth_required: false,
        }
    }

    /// Apply Redis's limits for clients that still have to authenticate (`*N` with N > 10 and `$L` with
    /// L > 16384 are rejected). The server updates this between commands, as AUTH may change it.
    pub fn set_auth_required(&mut self, required: bool) {
        self.auth_required = required;
    }

    /// Bytes still needed to finish the current bulk (so the caller can reserve capacity); 0 if unknown.
    pub fn needed_hint(&self) -> usize {
        self.hint
    }

    /// Try to take one complete command from the front of `buf`.
    ///
    /// - `Ok(Some(args))`: the command's bytes were split off `buf`; `args` are slices of them.
    /// - `Ok(None)`: incomplete. Append more bytes to `buf` (never remove any) and call again; the
    ///   progress already made is kept, so large requests are not rescanned.
    /// - `Err(e)`: reply `e.reply()` and close the connection; the parser must not be used again.
    ///
    /// Empty commands (`*0\r\n`, `*-1\r\n`, blank inline lines) are consumed and skipped.
    pub fn parse(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
    ) -> Result<Option<Vec<Bytes>>, ParseError> {
        self.hint = 0;
        let res = self.parse_inner(buf, limits);
        if res.is_err() {
            self.reset();
        }
        res
    }

    fn parse_inner(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
    ) -> Result<Option<Vec<Bytes>>, ParseError> {
        loop {
            if self.kind == Kind::Idle {
                let Some(&first) = buf.first() else {
                    return Ok(None);
                };
                self.kind = if first == b'*' {
                    Kind::Multibulk
                } else {
                    Kind::Inline
                };
            }
            let parsed = match self.kind {
                Kind::Inline => self.parse_inline(buf, limits)?,
                _ => self.parse_multibulk(buf, limits)?,
            };
            match parsed {
                Step::Command(args) => return Ok(Some(args)),
                Step::Empty => continue,
                Step::Wait => return Ok(None),
            }
        }
    }

    fn reset(&mut self) {
        self.kind = Kind::Idle;
        self.line_start = 0;
        self.scan = 0;
        self.stalled = false;
        self.header_done = false;
        self.remaining = 0;
        self.pos = 0;
        self.bulk = None;
        self.args.clear();
        self.tokens.clear();
    }

    /// Starts searching for a new line at `start`.
    fn begin_line(&mut self, start: usize) {
        self.line_start = start;
        self.scan = start;
        self.stalled = false;
    }

    /// Looks for `term` from the current line start as Redis's `strchr` would, resuming where the last
    /// call stopped. "Too big" means more than `max` bytes precede the terminator (or are buffered
    /// without one), which is when a byte-at-a-time Redis would have failed.
    fn find_line(&mut self, buf: &[u8], term: u8, max: usize) -> Line {
        if !self.stalled {
            match memchr2(term, 0, &buf[self.scan..]) {
                Some(i) => {
                    let at = self.scan + i;
                    self.scan = at;
                    if buf[at] == term {
                        return if at - self.line_start > max {
                            Line::TooBig
                        } else {
                            Line::Found(at)
                        };
                    }
                    self.stalled = true;
                }
                None => self.scan = buf.len(),
            }
        }
        if buf.len() - self.line_start > max {
            Line::TooBig
        } else {
            Line::Wait
        }
    }

    fn parse_inline(&mut self, buf: &mut BytesMut, limits: &Limits) -> Result<Step, ParseError> {
        let nl = match self.find_line(buf, b'\n', limits.max_inline_len) {
            Line::Found(nl) => nl,
            Line::Wait => return Ok(Step::Wait),
            Line::TooBig => return Err(ParseError::protocol(TOO_BIG_INLINE)),
        };
        let end = if nl > 0 && buf[nl - 1] == b'\r' {
            nl - 1
        } else {
            nl
        };
        if split_args(&buf[..end], &mut self.tokens).is_err() {
            return Err(ParseError::protocol(UNBALANCED));
        }
        let line = buf.split_to(nl + 1).freeze();
        self.reset_keep_tokens();
        if self.tokens.is_empty() {
            return Ok(Step::Empty);
        }
        let args = self
            .tokens
            .drain(..)
            .map(|t| match t {
                Token::Range(s, e) => line.slice(s..e),
                Token::Owned(v) => Bytes::from(v),
            })
            .collect();
        Ok(Step::Command(args))
    }

    fn reset_keep_tokens(&mut self) {
        let tokens = std::mem::take(&mut self.tokens);
        self.reset();
        self.tokens = tokens;
    }

    fn parse_multibulk(&mut self, buf: &mut BytesMut, limits: &Limits) -> Result<Step, ParseError> {
        if !self.header_done {
            let cr = match self.find_line(buf, b'\r', limits.max_inline_len) {
                Line::Found(cr) => cr,
                Line::Wait => return Ok(Step::Wait),
                Line::TooBig => return Err(ParseError::protocol(TOO_BIG_MBULK)),
            };
            // Redis wants one byte after '\r' (it does not check that it is '\n').
            if cr + 1 >= buf.len() {
                return Ok(Step::Wait);
            }
            let max = i64::try_from(limits.max_multibulk_len).unwrap_or(i64::MAX);
            let n = match string2ll(&buf[1..cr]) {
                Some(n) if n <= max => n,
                _ => return Err(ParseError::protocol(INVALID_MBULK)),
            };
            if n > UNAUTH_MAX_MULTIBULK && self.auth_required {
                return Err(ParseError::protocol(UNAUTH_MBULK));
            }
            if n <= 0 {
                buf.advance(cr + 2);
                self.reset();
                return Ok(Step::Empty);
            }
            self.header_done = true;
            self.remaining = n as usize;
            self.pos = cr + 2;
            self.args.clear();
            // Like Redis, do not trust a huge count for preallocation: grow as arguments arrive.
            self.args.reserve(self.remaining.min(1024));
            self.begin_line(self.pos);
        }
        while self.remaining > 0 {
            let len = match self.bulk {
                Some(len) => len,
                None => {
                    let len = self.read_bulk_header(buf, limits)?;
                    match len {
                        Some(len) => len,
                        None => return Ok(Step::Wait),
                    }
                }
            };
            let have = buf.len() - self.pos;
            if have < len + 2 {
                self.hint = len + 2 - have;
                return Ok(Step::Wait);
            }
            self.args.push((self.pos, self.pos + len));
            // Redis skips the two bytes after the payload without checking they are "\r\n".
            self.pos += len + 2;
            self.bulk = None;
            self.remaining -= 1;
            self.begin_line(self.pos);
        }
        let frame = buf.split_to(self.pos).freeze();
        let args = self
            .args
            .drain(..)
            .map(|(s, e)| frame.slice(s..e))
            .collect();
        self.reset();
        Ok(Step::Command(args))
    }

    /// Reads a `$L\r\n` header at `self.pos`; `Ok(None)` if it is not complete yet.
    fn read_bulk_header(
        &mut self,
        buf: &BytesMut,
        limits: &Limits,
    ) -> Result<Option<usize>, ParseError> {
        let cr = match self.find_line(buf, b'\r', limits.max_inline_len) {
            Line::Found(cr) => cr,
            Line::Wait => return Ok(None),
            Line::TooBig => return Err(ParseError::protocol(TOO_BIG_BULK)),
        };
        if cr + 1 >= buf.len() {
            return Ok(None);
        }
        let first = buf[self.pos];
        if first != b'$' {
            // Redis maps CR and LF in error messages to spaces; other bytes are sent raw (Latin-1 here).
            let shown = if first == b'\r' || first == b'\n' {
                ' '
            } else {
                char::from(first)
            };
            return Err(ParseError::Protocol(format!(
                "ERR Protocol error: expected '$', got '{shown}'"
            )));
        }
        let max = i64::try_from(limits.max_bulk_len).unwrap_or(i64::MAX);
        let len = match string2ll(&buf[self.pos + 1..cr]) {
            Some(l) if (0..=max).contains(&l) => l,
            _ => return Err(ParseError::protocol(INVALID_BULK)),
        };
        if len > UNAUTH_MAX_BULK && self.auth_required {
            return Err(ParseError::protocol(UNAUTH_BULK));
        }
        let len = usize::try_from(len).map_err(|_| ParseError::protocol(INVALID_BULK))?;
        self.pos = cr + 2;
        self.bulk = Some(len);
        Ok(Some(len))
    }
}

/// What one attempt at the front request produced.
enum Step {
    Command(Vec<Bytes>),
    /// An empty command was consumed; try the next one.
    Empty,
    Wait,
}
