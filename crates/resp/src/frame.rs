//! A complete RESP2/RESP3 value model with a decoder and an encoder, for tests, clients, the
//! differential harness and scripting.
//!
//! This is not the request hot path (that is `parse`, which never builds frames) and not the reply
//! hot path (that is `write`): decoding copies bytes and re-decodes from the start when input is
//! incomplete. Decoding is strict about framing (every line must end in CRLF) so that a test reading a
//! reply catches malformed output. It must not do I/O.

use bytes::Bytes;

use crate::num::{fmt_i64, fmt_u64, IntBuf};

/// One RESP value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    Simple(Bytes),
    Error(Bytes),
    Integer(i64),
    Bulk(Bytes),
    /// RESP2 `$-1` or RESP3 `_`.
    Null,
    Array(Vec<Frame>),
    /// RESP2 `*-1`.
    NullArray,
    Map(Vec<(Frame, Frame)>),
    Set(Vec<Frame>),
    Push(Vec<Frame>),
    /// The double's text as sent (`1.5`, `inf`, `-nan`...), so comparisons are byte-exact.
    Double(Bytes),
    Boolean(bool),
    /// Format (3 bytes, e.g. `txt`) and text.
    Verbatim(Bytes, Bytes),
    BigNumber(Bytes),
}

/// Nesting deeper than this is rejected, so hostile input cannot overflow the stack.
const MAX_DEPTH: usize = 128;

/// Decodes one frame from the front of `buf`: `Ok(Some((frame, bytes_used)))`, `Ok(None)` if `buf`
/// holds only part of a frame, `Err` if it is not valid RESP.
///
/// RESP3 attributes (`|`) are read and dropped; the frame they annotate is returned. A blob error
/// (`!`) decodes as [`Frame::Error`].
pub fn decode(buf: &[u8]) -> Result<Option<(Frame, usize)>, String> {
    let mut pos = 0;
    match decode_at(buf, &mut pos, 0) {
        Ok(frame) => Ok(Some((frame, pos))),
        Err(Error::Incomplete) => Ok(None),
        Err(Error::Invalid(e)) => Err(e),
    }
}

enum Error {
    Incomplete,
    Invalid(String),
}

fn invalid<T>(msg: impl Into<String>) -> Result<T, Error> {
    Err(Error::Invalid(msg.into()))
}

/// The line at `*pos` up to CRLF (exclusive); advances past the CRLF.
fn line<'a>(buf: &'a [u8], pos: &mut usize) -> Result<&'a [u8], Error> {
    let rest = &buf[*pos..];
    let Some(cr) = memchr::memchr(b'\r', rest) else {
        return Err(Error::Incomplete);
    };
    match rest.get(cr + 1) {
        None => Err(Error::Incomplete),
        Some(b'\n') => {
            *pos += cr + 2;
            Ok(&rest[..cr])
        }
        Some(_) => invalid("CR not followed by LF"),
    }
}

fn int_line(buf: &[u8], pos: &mut usize) -> Result<i64, Error> {
    let l = line(buf, pos)?;
    let text = std::str::from_utf8(l).map_err(|_| Error::Invalid("bad integer".into()))?;
    text.parse::<i64>()
        .map_err(|_| Error::Invalid(format!("bad integer {text:?}")))
}

/// A length header: `Ok(None)` for -1 where `allow_null`.
fn len_line(buf: &[u8], pos: &mut usize, allow_null: bool) -> Result<Option<usize>, Error> {
    match int_line(buf, pos)? {
        -1 if allow_null => Ok(None),
        n if n >= 0 => usize::try_from(n)
            .map(Some)
            .map_err(|_| Error::Invalid("length too large".into())),
        n => invalid(format!("bad length {n}")),
    }
}

/// `len` payload bytes followed by CRLF.
fn payload<'a>(buf: &'a [u8], pos: &mut usize, len: usize) -> Result<&'a [u8], Error> {
    let start = *pos;
    let end = start.checked_add(len).ok_or(Error::Incomplete)?;
    if buf.len() < end.saturating_add(2) {
        return Err(Error::Incomplete);
    }
    if &buf[end..end + 2] != b"\r\n" {
        return invalid("bulk payload not followed by CRLF");
    }
    *pos = end + 2;
    Ok(&buf[start..end])
}

fn elements(buf: &[u8], pos: &mut usize, n: usize, depth: usize) -> Result<Vec<Frame>, Error> {
    // Never trust the count for preallocation: each element needs at least 3 bytes.
    let mut v = Vec::with_capacity(n.min((buf.len() - *pos) / 3));
    for _ in 0..n {
        v.push(decode_at(buf, pos, depth + 1)?);
    }
    Ok(v)
}

fn decode_at(buf: &[u8], pos: &mut usize, depth: usize) -> Result<Frame, Error> {
    if depth > MAX_DEPTH {
        return invalid("nesting too deep");
    }
    let Some(&tag) = buf.get(*pos) else {
        return Err(Error::Incomplete);
    };
    *pos += 1;
    let copy = Bytes::copy_from_slice;
    Ok(match tag {
        b'+' => Frame::Simple(copy(line(buf, pos)?)),
        b'-' => Frame::Error(copy(line(buf, pos)?)),
        b':' => Frame::Integer(int_line(buf, pos)?),
        b'$' => match len_line(buf, pos, true)? {
            None => Frame::Null,
            Some(n) => Frame::Bulk(copy(payload(buf, pos, n)?)),
        },
        b'!' => {
            let n = len_line(buf, pos, false)?.unwrap_or(0);
            Frame::Error(copy(payload(buf, pos, n)?))
        }
        b'=' => {
            let n = len_line(buf, pos, false)?.unwrap_or(0);
            let p = payload(buf, pos, n)?;
            if p.len() < 4 || p[3] != b':' {
                return invalid("verbatim string without a 3-byte format");
            }
            Frame::Verbatim(copy(&p[..3]), copy(&p[4..]))
        }
        b'*' => match len_line(buf, pos, true)? {
            None => Frame::NullArray,
            Some(n) => Frame::Array(elements(buf, pos, n, depth)?),
        },
        b'~' => {
            let n = len_line(buf, pos, false)?.unwrap_or(0);
            Frame::Set(elements(buf, pos, n, depth)?)
        }
        b'>' => {
            let n = len_line(buf, pos, false)?.unwrap_or(0);
            Frame::Push(elements(buf, pos, n, depth)?)
        }
        b'%' | b'|' => {
            let n = len_line(buf, pos, false)?.unwrap_or(0);
            let items = n
                .checked_mul(2)
                .ok_or_else(|| Error::Invalid("map too large".into()))?;
            let kv = elements(buf, pos, items, depth)?;
            if tag == b'|' {
                return decode_at(buf, pos, depth + 1);
            }
            let mut it = kv.into_iter();
            let mut pairs = Vec::with_capacity(n);
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                pairs.push((k, v));
            }
            Frame::Map(pairs)
        }
        b'_' => {
            if !line(buf, pos)?.is_empty() {
                return invalid("bytes after '_'");
            }
            Frame::Null
        }
        b'#' => match line(buf, pos)? {
            b"t" => Frame::Boolean(true),
            b"f" => Frame::Boolean(false),
            _ => return invalid("bad boolean"),
        },
        b',' => Frame::Double(copy(line(buf, pos)?)),
        b'(' => Frame::BigNumber(copy(line(buf, pos)?)),
        other => return invalid(format!("unknown type byte 0x{other:02x}")),
    })
}

fn header(out: &mut Vec<u8>, prefix: u8, n: usize) {
    let mut ib = IntBuf::default();
    out.push(prefix);
    out.extend_from_slice(fmt_u64(n as u64, &mut ib));
    out.extend_from_slice(b"\r\n");
}

fn line_out(out: &mut Vec<u8>, prefix: u8, body: &[u8]) {
    out.push(prefix);
    out.extend_from_slice(body);
    out.extend_from_slice(b"\r\n");
}

/// Appends `frame` in RESP. RESP3 types are written as RESP3; `Null` and `NullArray` are written in
/// their RESP2 forms (`$-1`, `*-1`), so a RESP3 `_` does not round-trip byte for byte.
pub fn encode(frame: &Frame, out: &mut Vec<u8>) {
    encode_as(frame, None, out)
}

/// `encode` for a client of a known protocol: a null is RESP3's `_` for a RESP3 client, and a
/// boolean is `:1` / `:0` for a RESP2 client (as Redis's `addReplyNull` / `addReplyBool` write).
pub fn encode_for(frame: &Frame, resp3: bool, out: &mut Vec<u8>) {
    encode_as(frame, Some(resp3), out)
}

fn encode_as(frame: &Frame, resp3: Option<bool>, out: &mut Vec<u8>) {
    let encode = |f: &Frame, out: &mut Vec<u8>| encode_as(f, resp3, out);
    match frame {
        Frame::Null if resp3 == Some(true) => out.extend_from_slice(b"_\r\n"),
        Frame::Boolean(b) if resp3 == Some(false) => {
            out.extend_from_slice(if *b { b":1\r\n" } else { b":0\r\n" })
        }
        Frame::Simple(s) => line_out(out, b'+', s),
        Frame::Error(s) => line_out(out, b'-', s),
        Frame::Integer(v) => {
            let mut ib = IntBuf::default();
            line_out(out, b':', fmt_i64(*v, &mut ib));
        }
        Frame::Bulk(b) => {
            header(out, b'$', b.len());
            out.extend_from_slice(b);
            out.extend_from_slice(b"\r\n");
        }
        Frame::Null => out.extend_from_slice(b"$-1\r\n"),
        Frame::NullArray => out.extend_from_slice(b"*-1\r\n"),
        Frame::Array(v) | Frame::Set(v) | Frame::Push(v) => {
            let prefix = match frame {
                Frame::Array(_) => b'*',
                Frame::Set(_) => b'~',
                _ => b'>',
            };
            header(out, prefix, v.len());
            for f in v {
                encode(f, out);
            }
        }
        Frame::Map(pairs) => {
            header(out, b'%', pairs.len());
            for (k, v) in pairs {
                encode(k, out);
                encode(v, out);
            }
        }
        Frame::Double(text) => line_out(out, b',', text),
        Frame::Boolean(b) => out.extend_from_slice(if *b { b"#t\r\n" } else { b"#f\r\n" }),
        Frame::Verbatim(format, text) => {
            header(out, b'=', text.len() + 4);
            let mut ext = [b' '; 3];
            for (dst, src) in ext.iter_mut().zip(format.iter()) {
                *dst = *src;
            }
            out.extend_from_slice(&ext);
            out.push(b':');
            out.extend_from_slice(text);
            out.extend_from_slice(b"\r\n");
        }
        Frame::BigNumber(d) => line_out(out, b'(', d),
    }
}

impl Frame {
    /// A bulk string frame from anything byte-like (handy in tests: `Frame::bulk("OK")`).
    pub fn bulk(b: impl AsRef<[u8]>) -> Frame {
        Frame::Bulk(Bytes::copy_from_slice(b.as_ref()))
    }

    /// A simple string frame.
    pub fn simple(s: impl AsRef<[u8]>) -> Frame {
        Frame::Simple(Bytes::copy_from_slice(s.as_ref()))
    }

    /// An error frame (`msg` without the leading `-`).
    pub fn error(msg: impl AsRef<[u8]>) -> Frame {
        Frame::Error(Bytes::copy_from_slice(msg.as_ref()))
    }

    /// The frame as RESP bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        encode(self, &mut out);
        out
    }
}
