//! The text protocol's request parser: one request (a command line, and a data block for storage
//! commands) from the front of a byte buffer.
//!
//! Ports memcached 1.6's `proto_text.c`: a line ends at `\n` (a `\r` before it is dropped), tokens
//! are separated by runs of spaces, the first token and the token count pick the command, and a
//! wrong count answers `ERROR`. `noreply` is the last token of commands that take it and silences
//! every reply of that command, errors included (as memcached's `set_noreply_maybe` does). Must not
//! decide anything that depends on stored data.

use crate::meta::{parse_meta, Meta, MetaCmd};
use crate::num::{strtoflags, strtol, strtoull};
use crate::KEY_MAX_LENGTH;

/// Parser settings (the server's flags).
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// memcached's `-I` (`--memcached_max_item_size`): the largest item, header included.
    pub max_item_size: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_item_size: 1024 * 1024,
        }
    }
}

/// A line without `\n` longer than this (and not a get) closes the connection, as in memcached.
pub const MAX_LINE: usize = 2048;
/// A get line may be longer (many keys), up to this.
pub const MAX_GET_LINE: usize = 16 * 1024 * 1024;

/// memcached's per-item overhead counted against the item size limit: the item header (48
/// bytes), the key's terminating NUL, the data block's `\r\n` and the CAS value; nonzero client
/// flags add 4 more (`item_make_header`).
pub const ITEM_OVERHEAD: usize = 48 + 1 + 2 + 8;

/// Whether an item fits under `max_item_size`, as memcached's `item_size_ok`.
pub fn item_fits(key_len: usize, flags: u32, vlen: usize, max_item_size: usize) -> bool {
    let flags_len = if flags != 0 { 4 } else { 0 };
    ITEM_OVERHEAD + key_len + flags_len + vlen <= max_item_size
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreOp {
    Set,
    Add,
    Replace,
    Append,
    Prepend,
    Cas,
}

/// One parsed request. Keys and data borrow the input buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request<'a> {
    /// set/add/replace/append/prepend/cas with its data block (without the trailing `\r\n`).
    Store {
        op: StoreOp,
        key: &'a [u8],
        flags: u32,
        exptime: i64,
        data: &'a [u8],
        cas: u64,
        noreply: bool,
    },
    /// A storage command whose value exceeds the item size limit: answered
    /// `SERVER_ERROR object too large for cache`; a `set` also deletes the key (memcached drops
    /// the stale item). The data block is swallowed (`Parsed::swallow`).
    TooLarge {
        op: StoreOp,
        key: &'a [u8],
        noreply: bool,
    },
    /// get/gets.
    Get {
        keys: Vec<&'a [u8]>,
        cas: bool,
    },
    /// gat/gats: get and touch.
    Gat {
        exptime: i64,
        keys: Vec<&'a [u8]>,
        cas: bool,
    },
    Delete {
        key: &'a [u8],
        noreply: bool,
    },
    /// incr/decr.
    Arith {
        key: &'a [u8],
        delta: u64,
        incr: bool,
        noreply: bool,
    },
    Touch {
        key: &'a [u8],
        exptime: i64,
        noreply: bool,
    },
    FlushAll {
        delay: i64,
        noreply: bool,
    },
    Version,
    Verbosity {
        noreply: bool,
    },
    Quit,
    /// stats [group ...].
    Stats {
        args: Vec<&'a [u8]>,
    },
    /// A meta command (`mg ms md ma mn me`), validated.
    Meta(MetaCmd, Meta<'a>),
    /// A malformed request answered with one line (e.g. `ERROR`,
    /// `CLIENT_ERROR bad command line format`), unless `noreply`.
    Error {
        line: &'static str,
        noreply: bool,
    },
}

/// One request from the front of the buffer: `used` bytes of the buffer belong to it, and the
/// next `swallow` bytes after them (which may not have arrived yet) are to be discarded unread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed<'a> {
    pub request: Request<'a>,
    pub used: usize,
    pub swallow: usize,
}

/// A request after which the connection is closed without a reply (memcached does the same).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fatal {
    /// A line longer than `MAX_LINE` with no end in sight.
    LineTooLong,
}

pub const ERROR: &str = "ERROR";
pub const BAD_FORMAT: &str = "CLIENT_ERROR bad command line format";
pub const BAD_CHUNK: &str = "CLIENT_ERROR bad data chunk";
pub const BAD_EXPTIME: &str = "CLIENT_ERROR invalid exptime argument";
pub const BAD_DELTA: &str = "CLIENT_ERROR invalid numeric delta argument";
pub const DELETE_USAGE: &str =
    "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]";
pub const TOO_LARGE: &str = "SERVER_ERROR object too large for cache";

/// Parses one request from the front of `buf`: `Ok(None)` until a whole request has arrived.
pub fn parse<'a>(buf: &'a [u8], settings: &Settings) -> Result<Option<Parsed<'a>>, Fatal> {
    let long = if buf.starts_with(b"get ") || buf.starts_with(b"gets ") {
        MAX_GET_LINE
    } else {
        MAX_LINE
    };
    // The limit holds whether or not the line's end has arrived, so the outcome never depends
    // on how the input was split into reads.
    let Some(nl) = memchr::memchr(b'\n', &buf[..buf.len().min(long + 1)]) else {
        if buf.len() > long {
            return Err(Fatal::LineTooLong);
        }
        return Ok(None);
    };
    let mut line = &buf[..nl];
    if let [rest @ .., b'\r'] = line {
        line = rest;
    }
    let used = nl + 1;
    let tokens: Vec<&'a [u8]> = line
        .split(|&b| b == b' ')
        .filter(|t| !t.is_empty())
        .collect();
    let one = |request| {
        Ok(Some(Parsed {
            request,
            used,
            swallow: 0,
        }))
    };
    let Some(&cmd) = tokens.first() else {
        return one(Request::Error {
            line: ERROR,
            noreply: false,
        });
    };
    let n = tokens.len();
    let noreply = tokens[n - 1] == b"noreply";
    let err = |line: &'static str, noreply: bool| Request::Error { line, noreply };
    let long_key = |k: &[u8]| k.len() > KEY_MAX_LENGTH;
    match cmd {
        b"get" | b"gets" if n >= 2 => {
            if tokens[1..].iter().any(|k| long_key(k)) {
                return one(err(BAD_FORMAT, false));
            }
            one(Request::Get {
                keys: tokens[1..].to_vec(),
                cas: cmd == b"gets",
            })
        }
        b"gat" | b"gats" if n >= 2 => {
            let Some(exptime) = strtol(tokens[1]) else {
                return one(err(BAD_EXPTIME, false));
            };
            if n == 2 {
                return one(err(ERROR, false));
            }
            if tokens[2..].iter().any(|k| long_key(k)) {
                return one(err(BAD_FORMAT, false));
            }
            one(Request::Gat {
                exptime,
                keys: tokens[2..].to_vec(),
                cas: cmd == b"gats",
            })
        }
        b"set" | b"add" | b"replace" | b"append" | b"prepend" if n == 5 || n == 6 => {
            let op = match cmd {
                b"set" => StoreOp::Set,
                b"add" => StoreOp::Add,
                b"replace" => StoreOp::Replace,
                b"append" => StoreOp::Append,
                _ => StoreOp::Prepend,
            };
            storage(buf, used, &tokens, op, noreply, settings)
        }
        b"cas" if n == 6 || n == 7 => storage(buf, used, &tokens, StoreOp::Cas, noreply, settings),
        b"incr" | b"decr" if n == 3 || n == 4 => {
            if long_key(tokens[1]) {
                return one(err(BAD_FORMAT, noreply));
            }
            let Some(delta) = strtoull(tokens[2]) else {
                return one(err(BAD_DELTA, noreply));
            };
            one(Request::Arith {
                key: tokens[1],
                delta,
                incr: cmd == b"incr",
                noreply,
            })
        }
        b"delete" if n >= 2 => {
            if n > 2 {
                let hold_is_zero = tokens[2] == b"0";
                let valid =
                    (n == 3 && (hold_is_zero || noreply)) || (n == 4 && hold_is_zero && noreply);
                if !valid {
                    return one(err(DELETE_USAGE, false));
                }
            }
            if long_key(tokens[1]) {
                return one(err(BAD_FORMAT, noreply));
            }
            one(Request::Delete {
                key: tokens[1],
                noreply,
            })
        }
        b"touch" if n == 3 || n == 4 => {
            if long_key(tokens[1]) {
                return one(err(BAD_FORMAT, noreply));
            }
            let Some(exptime) = strtol(tokens[2]) else {
                return one(err(BAD_EXPTIME, noreply));
            };
            one(Request::Touch {
                key: tokens[1],
                exptime,
                noreply,
            })
        }
        b"flush_all" if n <= 3 => {
            let delay = if n == if noreply { 2 } else { 1 } {
                0
            } else {
                match strtol(tokens[1]) {
                    Some(d) => d,
                    None => return one(err(BAD_EXPTIME, noreply)),
                }
            };
            one(Request::FlushAll { delay, noreply })
        }
        b"version" => one(Request::Version),
        b"quit" if n == 1 => one(Request::Quit),
        b"verbosity" if n >= 2 => {
            if strtoull(tokens[1]).is_none() {
                return one(err(BAD_FORMAT, noreply));
            }
            one(Request::Verbosity { noreply })
        }
        b"mg" | b"ms" | b"md" | b"ma" | b"mn" | b"me" => {
            Ok(parse_meta(buf, used, &tokens, settings))
        }
        b"stats" => one(Request::Stats {
            args: tokens[1..].to_vec(),
        }),
        _ => one(err(ERROR, false)),
    }
}

/// The rest of a storage command: validates the line, then waits for the data block.
fn storage<'a>(
    buf: &'a [u8],
    used: usize,
    tokens: &[&'a [u8]],
    op: StoreOp,
    noreply: bool,
    settings: &Settings,
) -> Result<Option<Parsed<'a>>, Fatal> {
    let bad = Ok(Some(Parsed {
        request: Request::Error {
            line: BAD_FORMAT,
            noreply,
        },
        used,
        swallow: 0,
    }));
    let key = tokens[1];
    if key.len() > KEY_MAX_LENGTH {
        return bad;
    }
    let (Some(flags), Some(exptime), Some(vlen)) =
        (strtoflags(tokens[2]), strtol(tokens[3]), strtol(tokens[4]))
    else {
        return bad;
    };
    let cas = if op == StoreOp::Cas {
        match strtoull(tokens[5]) {
            Some(c) => c,
            None => return bad,
        }
    } else {
        0
    };
    if vlen < 0 || vlen > i64::from(i32::MAX) - 2 {
        return bad;
    }
    let vlen = vlen as usize;
    if !item_fits(key.len(), flags, vlen, settings.max_item_size) {
        return Ok(Some(Parsed {
            request: Request::TooLarge { op, key, noreply },
            used,
            swallow: vlen + 2,
        }));
    }
    let end = used + vlen + 2;
    if buf.len() < end {
        return Ok(None);
    }
    if &buf[end - 2..end] != b"\r\n" {
        return Ok(Some(Parsed {
            request: Request::Error {
                line: BAD_CHUNK,
                noreply,
            },
            used: end,
            swallow: 0,
        }));
    }
    Ok(Some(Parsed {
        request: Request::Store {
            op,
            key,
            flags,
            exptime,
            data: &buf[used..end - 2],
            cas,
            noreply,
        },
        used: end,
        swallow: 0,
    }))
}
