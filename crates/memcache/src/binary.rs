//! memcached's binary protocol: request packets in, response packets out.
//!
//! ```text
//!   byte 0      magic (0x80 request, 0x81 response)
//!   byte 1      opcode
//!   bytes 2-3   key length (big endian)
//!   byte 4      extras length
//!   byte 5      data type (0)
//!   bytes 6-7   vbucket (request) / status (response)
//!   bytes 8-11  total body length = extras + key + value
//!   bytes 12-15 opaque (echoed)
//!   bytes 16-23 CAS
//!   body        extras, key, value
//! ```
//! A connection speaks it when its first byte is 0x80. Must not: do I/O or know about storage.

/// Header length.
pub const HEADER: usize = 24;
pub const REQUEST_MAGIC: u8 = 0x80;
pub const RESPONSE_MAGIC: u8 = 0x81;

/// Opcodes darter serves.
pub mod op {
    pub const GET: u8 = 0x00;
    pub const SET: u8 = 0x01;
    pub const ADD: u8 = 0x02;
    pub const REPLACE: u8 = 0x03;
    pub const DELETE: u8 = 0x04;
    pub const INCREMENT: u8 = 0x05;
    pub const DECREMENT: u8 = 0x06;
    pub const QUIT: u8 = 0x07;
    pub const FLUSH: u8 = 0x08;
    pub const GETQ: u8 = 0x09;
    pub const NOOP: u8 = 0x0a;
    pub const VERSION: u8 = 0x0b;
    pub const GETK: u8 = 0x0c;
    pub const GETKQ: u8 = 0x0d;
    pub const APPEND: u8 = 0x0e;
    pub const PREPEND: u8 = 0x0f;
    pub const STAT: u8 = 0x10;
    pub const SETQ: u8 = 0x11;
    pub const ADDQ: u8 = 0x12;
    pub const REPLACEQ: u8 = 0x13;
    pub const DELETEQ: u8 = 0x14;
    pub const INCREMENTQ: u8 = 0x15;
    pub const DECREMENTQ: u8 = 0x16;
    pub const QUITQ: u8 = 0x17;
    pub const FLUSHQ: u8 = 0x18;
    pub const APPENDQ: u8 = 0x19;
    pub const PREPENDQ: u8 = 0x1a;
    pub const TOUCH: u8 = 0x1c;
    pub const GAT: u8 = 0x1d;
    pub const GATQ: u8 = 0x1e;
    pub const GATK: u8 = 0x23;
    pub const GATKQ: u8 = 0x24;
}

/// Response statuses, with memcached's error bodies.
pub mod status {
    pub const OK: u16 = 0x00;
    pub const KEY_ENOENT: u16 = 0x01;
    pub const KEY_EEXISTS: u16 = 0x02;
    pub const E2BIG: u16 = 0x03;
    pub const EINVAL: u16 = 0x04;
    pub const NOT_STORED: u16 = 0x05;
    pub const DELTA_BADVAL: u16 = 0x06;
    pub const UNKNOWN_COMMAND: u16 = 0x81;

    /// memcached's message for an error status.
    pub fn message(status: u16) -> &'static [u8] {
        match status {
            KEY_ENOENT => b"Not found",
            KEY_EEXISTS => b"Data exists for key.",
            E2BIG => b"Too large.",
            EINVAL => b"Invalid arguments",
            NOT_STORED => b"Not stored.",
            DELTA_BADVAL => b"Non-numeric server-side value for incr or decr",
            UNKNOWN_COMMAND => b"Unknown command",
            _ => b"",
        }
    }
}

/// One request packet; slices borrow the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BinRequest<'a> {
    pub opcode: u8,
    pub opaque: u32,
    pub cas: u64,
    pub extras: &'a [u8],
    pub key: &'a [u8],
    pub value: &'a [u8],
}

/// What the front of the buffer holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BinParsed<'a> {
    /// A whole packet of `used` bytes.
    Request(BinRequest<'a>, usize),
    /// A packet whose body is larger than `max_body`: answer E2BIG for `opcode`/`opaque` (a set
    /// also drops `key`) after consuming the `used` bytes of header, extras and key, and swallow
    /// the `swallow` bytes of value that follow.
    TooLarge {
        opcode: u8,
        opaque: u32,
        key: &'a [u8],
        used: usize,
        swallow: usize,
    },
    /// Not a request packet (wrong magic, or lengths that do not add up): close the connection.
    Invalid,
}

/// Parses one request packet; None until the whole packet has arrived.
pub fn parse(buf: &[u8], max_body: usize) -> Option<BinParsed<'_>> {
    if buf.len() < HEADER {
        return None;
    }
    if buf[0] != REQUEST_MAGIC {
        return Some(BinParsed::Invalid);
    }
    let keylen = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
    let extlen = usize::from(buf[4]);
    let body = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]) as usize;
    let opaque = u32::from_be_bytes([buf[12], buf[13], buf[14], buf[15]]);
    let cas = u64::from_be_bytes(buf[16..24].try_into().expect("8 bytes"));
    if keylen + extlen > body {
        return Some(BinParsed::Invalid);
    }
    if body > max_body {
        let used = HEADER + extlen + keylen;
        if buf.len() < used {
            return None;
        }
        return Some(BinParsed::TooLarge {
            opcode: buf[1],
            opaque,
            key: &buf[HEADER + extlen..used],
            used,
            swallow: body - extlen - keylen,
        });
    }
    if buf.len() < HEADER + body {
        return None;
    }
    let b = &buf[HEADER..HEADER + body];
    Some(BinParsed::Request(
        BinRequest {
            opcode: buf[1],
            opaque,
            cas,
            extras: &b[..extlen],
            key: &b[extlen..extlen + keylen],
            value: &b[extlen + keylen..],
        },
        HEADER + body,
    ))
}

/// Appends a response packet.
#[allow(clippy::too_many_arguments)]
pub fn response(
    out: &mut Vec<u8>,
    opcode: u8,
    status: u16,
    opaque: u32,
    cas: u64,
    extras: &[u8],
    key: &[u8],
    value: &[u8],
) {
    out.push(RESPONSE_MAGIC);
    out.push(opcode);
    out.extend_from_slice(&(key.len() as u16).to_be_bytes());
    out.push(extras.len() as u8);
    out.push(0);
    out.extend_from_slice(&status.to_be_bytes());
    out.extend_from_slice(&((extras.len() + key.len() + value.len()) as u32).to_be_bytes());
    out.extend_from_slice(&opaque.to_be_bytes());
    out.extend_from_slice(&cas.to_be_bytes());
    out.extend_from_slice(extras);
    out.extend_from_slice(key);
    out.extend_from_slice(value);
}

/// Appends an error response with memcached's message as the body.
pub fn error(out: &mut Vec<u8>, opcode: u8, status: u16, opaque: u32) {
    response(
        out,
        opcode,
        status,
        opaque,
        0,
        &[],
        &[],
        status::message(status),
    );
}

/// Encodes a request packet (tests and clients).
pub fn request(
    opcode: u8,
    opaque: u32,
    cas: u64,
    extras: &[u8],
    key: &[u8],
    value: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + extras.len() + key.len() + value.len());
    response(&mut out, opcode, 0, opaque, cas, extras, key, value);
    out[0] = REQUEST_MAGIC;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_prefixes() {
        let pkt = request(op::SET, 7, 9, &[0, 0, 0, 5, 0, 0, 0, 0], b"key", b"value");
        for i in 0..pkt.len() {
            assert_eq!(parse(&pkt[..i], 1 << 20), None, "prefix {i}");
        }
        let Some(BinParsed::Request(r, used)) = parse(&pkt, 1 << 20) else {
            panic!()
        };
        assert_eq!(used, pkt.len());
        assert_eq!(
            (r.opcode, r.opaque, r.cas, r.key, r.value),
            (op::SET, 7, 9, &b"key"[..], &b"value"[..])
        );
        assert_eq!(r.extras, &[0, 0, 0, 5, 0, 0, 0, 0]);
        assert!(matches!(
            parse(&pkt, 10),
            Some(BinParsed::TooLarge {
                key: b"key",
                used: 35,
                swallow: 5,
                ..
            })
        ));
        let mut bad = pkt.clone();
        bad[0] = 0x81;
        assert_eq!(parse(&bad, 1 << 20), Some(BinParsed::Invalid));
    }
}
