//! Encoding replies into a connection's output buffer, RESP2 or RESP3, as Redis 7.0 encodes them.
//!
//! Each method mirrors one of Redis's `addReply*` functions, including how a RESP3-only type degrades
//! under RESP2 (maps become flat arrays, doubles become bulk strings, booleans become 1/0). Nothing here
//! allocates except the output buffer's own growth: integers and doubles are formatted on the stack.
//! It must not know about commands or connections; callers decide what to write and when to flush.

use bytes::{BufMut, BytesMut};

use crate::g17::{g17, G17_MAX};
use crate::num::{fmt_i64, fmt_u64, IntBuf};

/// The protocol a connection negotiated with `HELLO` (RESP2 until then).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Protocol {
    Resp2,
    Resp3,
}

/// Appends replies to `buf` in the connection's protocol.
#[derive(Debug)]
pub struct ReplyWriter {
    pub buf: BytesMut,
    pub proto: Protocol,
}

/// C `printf("%.17g", v)` exactly (glibc's output, including `inf`, `-inf`, `nan`, `-nan`, `-0`).
pub fn format_g17(v: f64, out: &mut Vec<u8>) {
    let mut b = [0u8; G17_MAX];
    let n = g17(v, &mut b);
    out.extend_from_slice(&b[..n]);
}

impl ReplyWriter {
    pub fn new(proto: Protocol) -> Self {
        Self::with_buf(BytesMut::with_capacity(16 * 1024), proto)
    }

    pub fn with_buf(buf: BytesMut, proto: Protocol) -> Self {
        ReplyWriter { buf, proto }
    }

    /// Bytes currently buffered.
    #[inline]
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    #[inline]
    fn resp3(&self) -> bool {
        self.proto == Protocol::Resp3
    }

    /// `<prefix><n>\r\n`: the header shared by bulks, aggregates and integers.
    #[inline]
    fn header(&mut self, prefix: u8, n: usize) {
        let mut ib = IntBuf::default();
        let digits = fmt_u64(n as u64, &mut ib);
        self.buf.reserve(digits.len() + 3);
        self.buf.put_u8(prefix);
        self.buf.put_slice(digits);
        self.buf.put_slice(b"\r\n");
    }

    /// `+OK`
    #[inline]
    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// A HELP subcommand's reply: its lines as an array of simple strings.
    pub fn help(&mut self, lines: &[&str]) {
        self.array(lines.len());
        for l in lines {
            self.simple(l.as_bytes());
        }
    }

    /// `+s`. The caller guarantees `s` has no CR or LF (status strings are constants in Redis).
    #[inline]
    pub fn simple(&mut self, s: &[u8]) {
        self.buf.reserve(s.len() + 3);
        self.buf.put_u8(b'+');
        self.buf.put_slice(s);
        self.buf.put_slice(b"\r\n");
    }

    /// `-msg`, where `msg` starts with the error code (`"ERR syntax error"`, `"WRONGTYPE ..."`).
    ///
    /// As Redis's `addReplyErrorFormat` does, CR and LF are trimmed from both ends and any left inside
    /// become spaces, so a message can never break the protocol.
    pub fn error(&mut self, msg: &str) {
        self.error_bytes(msg.as_bytes());
    }

    /// `-msg` for a message that echoes raw client bytes (Redis sends them unchanged, whatever
    /// their encoding). CR/LF are trimmed at the ends and replaced by spaces inside.
    pub fn error_bytes(&mut self, msg: &[u8]) {
        let start = msg
            .iter()
            .position(|&b| b != b'\r' && b != b'\n')
            .unwrap_or(msg.len());
        let end = msg
            .iter()
            .rposition(|&b| b != b'\r' && b != b'\n')
            .map_or(start, |e| e + 1);
        let msg = &msg[start..end];
        self.buf.reserve(msg.len() + 3);
        self.buf.put_u8(b'-');
        let start = self.buf.len();
        self.buf.put_slice(msg);
        for b in &mut self.buf[start..] {
            if *b == b'\r' || *b == b'\n' {
                *b = b' ';
            }
        }
        self.buf.put_slice(b"\r\n");
    }

    /// `:v`
    #[inline]
    pub fn int(&mut self, v: i64) {
        let mut ib = IntBuf::default();
        let digits = fmt_i64(v, &mut ib);
        self.buf.reserve(digits.len() + 3);
        self.buf.put_u8(b':');
        self.buf.put_slice(digits);
        self.buf.put_slice(b"\r\n");
    }

    /// `$len\r\nb\r\n`
    #[inline]
    pub fn bulk(&mut self, b: &[u8]) {
        self.buf.reserve(b.len() + 25);
        self.header(b'$', b.len());
        self.buf.put_slice(b);
        self.buf.put_slice(b"\r\n");
    }

    /// `v` as a bulk string (Redis's `addReplyBulkLongLong`).
    #[inline]
    pub fn bulk_int(&mut self, v: i64) {
        let mut ib = IntBuf::default();
        let digits = fmt_i64(v, &mut ib);
        self.bulk(digits);
    }

    /// The null bulk: RESP2 `$-1`, RESP3 `_`.
    #[inline]
    pub fn null(&mut self) {
        let null: &[u8] = if self.resp3() { b"_\r\n" } else { b"$-1\r\n" };
        self.buf.extend_from_slice(null);
    }

    /// The null array: RESP2 `*-1`, RESP3 `_`.
    #[inline]
    pub fn null_array(&mut self) {
        let null: &[u8] = if self.resp3() { b"_\r\n" } else { b"*-1\r\n" };
        self.buf.extend_from_slice(null);
    }

    /// `*len`; the caller then writes `len` elements.
    #[inline]
    pub fn array(&mut self, len: usize) {
        self.header(b'*', len);
    }

    /// RESP3 `%pairs`, RESP2 `*(2*pairs)`; the caller then writes key, value, key, value...
    #[inline]
    pub fn map(&mut self, pairs: usize) {
        if self.resp3() {
            self.header(b'%', pairs);
        } else {
            self.header(b'*', pairs * 2);
        }
    }

    /// RESP3 `~len`, RESP2 `*len`.
    #[inline]
    pub fn set(&mut self, len: usize) {
        let prefix = if self.resp3() { b'~' } else { b'*' };
        self.header(prefix, len);
    }

    /// RESP3 `>len`, RESP2 `*len` (pub/sub messages).
    #[inline]
    pub fn push(&mut self, len: usize) {
        let prefix = if self.resp3() { b'>' } else { b'*' };
        self.header(prefix, len);
    }

    /// Redis 7.0 `addReplyDouble`: `%.17g` text, RESP3 `,text`, RESP2 a bulk string.
    pub fn double(&mut self, v: f64) {
        let mut b = [0u8; G17_MAX];
        let n = g17(v, &mut b);
        if self.resp3() {
            self.buf.reserve(n + 3);
            self.buf.put_u8(b',');
            self.buf.put_slice(&b[..n]);
            self.buf.put_slice(b"\r\n");
        } else {
            self.bulk(&b[..n]);
        }
    }

    /// RESP3 `#t`/`#f`, RESP2 `:1`/`:0`.
    #[inline]
    pub fn bool(&mut self, v: bool) {
        let bytes: &[u8] = match (self.resp3(), v) {
            (true, true) => b"#t\r\n",
            (true, false) => b"#f\r\n",
            (false, true) => b":1\r\n",
            (false, false) => b":0\r\n",
        };
        self.buf.extend_from_slice(bytes);
    }

    /// RESP3 `=len\r\nfmt:text`, RESP2 a bulk of `text` alone. As in Redis's `addReplyVerbatim`, the
    /// format is cut or space-padded to 3 bytes.
    pub fn verbatim(&mut self, format: &str, text: &[u8]) {
        if !self.resp3() {
            self.bulk(text);
            return;
        }
        let mut ext = [b' '; 3];
        for (dst, src) in ext.iter_mut().zip(format.bytes()) {
            *dst = src;
        }
        self.buf.reserve(text.len() + 30);
        self.header(b'=', text.len() + 4);
        self.buf.put_slice(&ext);
        self.buf.put_u8(b':');
        self.buf.put_slice(text);
        self.buf.put_slice(b"\r\n");
    }

    /// RESP3 `(digits`, RESP2 a bulk of the digits.
    pub fn big_number(&mut self, digits: &str) {
        if !self.resp3() {
            self.bulk(digits.as_bytes());
            return;
        }
        self.buf.reserve(digits.len() + 3);
        self.buf.put_u8(b'(');
        self.buf.put_slice(digits.as_bytes());
        self.buf.put_slice(b"\r\n");
    }

    /// Pre-encoded protocol bytes, copied as they are.
    #[inline]
    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }
}
