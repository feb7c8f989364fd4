//! The meta commands (`mg ms md ma mn me`) of memcached 1.6.18's text protocol: flag validation
//! and the `ms` data block. Flags are one character, some followed by a token (`T30`, `Oabc`).
//!
//! Which flags each command takes, and which error each mistake earns, are memcached 1.6.18's
//! (`proto_text.c`): `mg`/`ms` name the problem (`invalid flag`, `duplicate flag`, `bad token in
//! command line format`), `md`/`ma` answer `invalid or duplicate flag` for all of them. An `ms`
//! whose flags are bad still has its data block swallowed. Must not decide anything that depends on
//! stored data.

use crate::num::{strtoflags, strtol, strtoull};
use crate::text::{item_fits, Parsed, Request, Settings, BAD_CHUNK, BAD_FORMAT, ERROR};
use crate::KEY_MAX_LENGTH;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetaCmd {
    Get,
    Set,
    Delete,
    Arith,
    Noop,
    Debug,
}

/// `ms` mode (`M` flag).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetMode {
    Set,
    Add,
    Replace,
    Append,
    Prepend,
}

/// One validated meta request. Numeric tokens are parsed; `ret` lists the flags that produce
/// output, in request order (`b'O'` with its token in `opaque`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Meta<'a> {
    /// The key as sent (base64 when `base64`).
    pub key: &'a [u8],
    /// The key to look up (decoded when `base64`).
    pub lookup: Vec<u8>,
    pub base64: bool,
    /// Output flags in request order: b'c' b'f' b'h' b'k' b'l' b'O' b's' b't' (and b'v' for
    /// `ma`/`mg` value).
    pub ret: Vec<u8>,
    pub opaque: Option<&'a [u8]>,
    pub quiet: bool,
    pub value: bool,
    /// `T`: new TTL.
    pub ttl: Option<i64>,
    /// `N`: vivify on miss with this TTL (mg, ma; memcached 1.6.18 accepts it on ms and
    /// ignores it).
    pub vivify: Option<i64>,
    /// `R`: recache threshold (mg).
    pub recache: Option<i64>,
    /// `C`: compare CAS.
    pub compare_cas: Option<u64>,
    /// `F`: client flags (ms).
    pub client_flags: Option<u32>,
    /// `I`: invalidate (ms: store as stale when the CAS is older; md: mark stale).
    pub invalidate: bool,
    /// `M`: mode (ms).
    pub set_mode: Option<SetMode>,
    /// `M` for ma: true = increment.
    pub incr: bool,
    /// `D`: delta (ma), default 1.
    pub delta: u64,
    /// `J`: initial value (ma), default 0.
    pub initial: u64,
    /// `ms` data block (without `\r\n`).
    pub data: &'a [u8],
}

/// Errors, as memcached words them.
pub const INVALID_FLAG: &str = "CLIENT_ERROR invalid flag";
pub const DUPLICATE_FLAG: &str = "CLIENT_ERROR duplicate flag";
pub const BAD_TOKEN: &str = "CLIENT_ERROR bad token in command line format";
pub const INVALID_OR_DUPLICATE: &str = "CLIENT_ERROR invalid or duplicate flag";
pub const BAD_KEY_ENCODING: &str = "CLIENT_ERROR error decoding key";
pub const FLAGS_TOO_LONG: &str = "CLIENT_ERROR options flags are too long";
pub const MS_BAD_MODE: &str = "CLIENT_ERROR invalid mode for ms M token";
pub const MA_BAD_MODE: &str = "CLIENT_ERROR invalid mode for ma M token";

/// A meta line with more tokens than this is refused (memcached's `MFLAG_MAX_OPT_LENGTH` of 20,
/// which counts its tokenizer's terminating empty token).
const MAX_TOKENS: usize = 19;

fn allowed(cmd: MetaCmd) -> &'static [u8] {
    match cmd {
        MetaCmd::Get => b"bcfhklOqstuvNRT",
        MetaCmd::Set => b"bcCFIkOqsTMN",
        MetaCmd::Delete => b"bCIkOqT",
        MetaCmd::Arith => b"bCNJDTMqOtcvk",
        MetaCmd::Noop | MetaCmd::Debug => b"b",
    }
}

/// Parses a meta command line (`tokens[0]` is the command). `used` is the line's length.
pub(crate) fn parse_meta<'a>(
    buf: &'a [u8],
    used: usize,
    tokens: &[&'a [u8]],
    settings: &Settings,
) -> Option<Parsed<'a>> {
    let one = |request| {
        Some(Parsed {
            request,
            used,
            swallow: 0,
        })
    };
    let err = |line: &'static str| Request::Error {
        line,
        noreply: false,
    };
    let cmd = match tokens[0] {
        b"mg" => MetaCmd::Get,
        b"ms" => MetaCmd::Set,
        b"md" => MetaCmd::Delete,
        b"ma" => MetaCmd::Arith,
        b"mn" => return one(Request::Meta(MetaCmd::Noop, Meta::default())),
        _ => MetaCmd::Debug,
    };
    if tokens.len() < 2 {
        return one(err(if cmd == MetaCmd::Debug {
            BAD_FORMAT
        } else {
            ERROR
        }));
    }
    let key = tokens[1];
    if key.len() > KEY_MAX_LENGTH {
        return one(err(BAD_FORMAT));
    }
    if cmd == MetaCmd::Debug && (tokens.len() > 3 || (tokens.len() == 3 && tokens[2] != b"b")) {
        return one(err(BAD_FORMAT));
    }
    let mut m = Meta {
        key,
        delta: 1,
        ..Meta::default()
    };
    // ms: the data length comes first; without it nothing can be swallowed.
    let mut flag_tokens = &tokens[2..];
    let mut vlen = 0usize;
    if cmd == MetaCmd::Set {
        let Some(l) = flag_tokens.first().and_then(|t| strtol(t)) else {
            return one(err(BAD_FORMAT));
        };
        if l < 0 || l > i64::from(i32::MAX) - 2 {
            return one(err(BAD_FORMAT));
        }
        vlen = l as usize;
        flag_tokens = &flag_tokens[1..];
    }
    // An error after the data length is known swallows the data block.
    let fail = |line: &'static str| {
        let swallow = if cmd == MetaCmd::Set { vlen + 2 } else { 0 };
        Some(Parsed {
            request: err(line),
            used,
            swallow,
        })
    };
    if tokens.len() > MAX_TOKENS {
        return fail(FLAGS_TOO_LONG);
    }
    let generic = matches!(cmd, MetaCmd::Delete | MetaCmd::Arith);
    let mut seen = [false; 128];
    for t in flag_tokens {
        let f = t[0];
        let tok = &t[1..];
        if !f.is_ascii() || !allowed(cmd).contains(&f) {
            return fail(if generic {
                INVALID_OR_DUPLICATE
            } else {
                INVALID_FLAG
            });
        }
        if seen[f as usize] {
            return fail(if generic {
                INVALID_OR_DUPLICATE
            } else {
                DUPLICATE_FLAG
            });
        }
        seen[f as usize] = true;
        let bad_token = if generic {
            INVALID_OR_DUPLICATE
        } else {
            BAD_TOKEN
        };
        match f {
            b'b' => m.base64 = true,
            b'q' => m.quiet = true,
            b'v' => m.value = true,
            b'I' => m.invalidate = true,
            b'u' => {}
            b'O' => {
                m.opaque = Some(tok);
                m.ret.push(f);
            }
            b'c' | b'f' | b'h' | b'k' | b'l' | b's' | b't' => m.ret.push(f),
            b'T' | b'N' | b'R' => {
                let Some(v) = strtol(tok) else {
                    return fail(bad_token);
                };
                match f {
                    b'T' => m.ttl = Some(v),
                    b'N' => m.vivify = Some(v),
                    _ => m.recache = Some(v),
                }
            }
            b'C' => match strtoull(tok) {
                Some(v) => m.compare_cas = Some(v),
                None => return fail(bad_token),
            },
            b'F' => match strtoflags(tok) {
                Some(v) => m.client_flags = Some(v),
                None => return fail(BAD_FORMAT),
            },
            b'D' | b'J' => match strtoull(tok) {
                Some(v) if f == b'D' => m.delta = v,
                Some(v) => m.initial = v,
                None => return fail(bad_token),
            },
            b'M' => {
                let mode = tok.first().copied().unwrap_or(0);
                if cmd == MetaCmd::Set {
                    m.set_mode = Some(match mode {
                        b'E' => SetMode::Add,
                        b'A' => SetMode::Append,
                        b'P' => SetMode::Prepend,
                        b'R' => SetMode::Replace,
                        b'S' => SetMode::Set,
                        _ => return fail(MS_BAD_MODE),
                    });
                } else {
                    m.incr = match mode {
                        b'I' | b'+' => true,
                        b'D' | b'-' => false,
                        _ => return fail(MA_BAD_MODE),
                    };
                }
            }
            _ => {
                return fail(if generic {
                    INVALID_OR_DUPLICATE
                } else {
                    INVALID_FLAG
                })
            }
        }
    }
    if cmd == MetaCmd::Arith && !seen[b'M' as usize] {
        m.incr = true;
    }
    if cmd == MetaCmd::Debug && tokens.len() == 3 {
        m.base64 = true;
    }
    m.lookup = if m.base64 {
        match base64_decode(key) {
            Some(k) if !k.is_empty() && k.len() <= KEY_MAX_LENGTH => k,
            _ => return fail(BAD_KEY_ENCODING),
        }
    } else {
        key.to_vec()
    };
    if cmd == MetaCmd::Set {
        if !item_fits(
            m.lookup.len(),
            m.client_flags.unwrap_or(0),
            vlen,
            settings.max_item_size,
        ) {
            return Some(Parsed {
                request: err(crate::text::TOO_LARGE),
                used,
                swallow: vlen + 2,
            });
        }
        let end = used + vlen + 2;
        if buf.len() < end {
            return None;
        }
        if &buf[end - 2..end] != b"\r\n" {
            return Some(Parsed {
                request: err(BAD_CHUNK),
                used: end,
                swallow: 0,
            });
        }
        m.data = &buf[used..end - 2];
        return Some(Parsed {
            request: Request::Meta(cmd, m),
            used: end,
            swallow: 0,
        });
    }
    one(Request::Meta(cmd, m))
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (memcached's key encoding).
pub fn base64_encode(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize]);
            } else {
                out.push(b'=');
            }
        }
    }
    out
}

/// Decodes padded standard base64; None when malformed.
pub fn base64_decode(s: &[u8]) -> Option<Vec<u8>> {
    if s.is_empty() || !s.len().is_multiple_of(4) {
        return None;
    }
    let val = |c: u8| B64.iter().position(|&b| b == c).map(|p| p as u32);
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let chunks = s.len() / 4;
    for (i, q) in s.chunks(4).enumerate() {
        let pad = q.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && i + 1 != chunks) {
            return None;
        }
        let mut n = 0u32;
        for (j, &c) in q.iter().enumerate() {
            let v = if j >= 4 - pad { 0 } else { val(c)? };
            n = (n << 6) | v;
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip() {
        for s in [&b"a"[..], b"ab", b"abc", b"binary", b"\x00\xff\x10"] {
            assert_eq!(base64_decode(&base64_encode(s)).as_deref(), Some(s));
        }
        assert_eq!(base64_encode(b"binary"), b"YmluYXJ5");
        assert_eq!(base64_decode(b"YQ==").as_deref(), Some(&b"a"[..]));
        assert_eq!(base64_decode(b"a"), None);
        assert_eq!(base64_decode(b"9$$$"), None);
        assert_eq!(base64_decode(b"YQ==YQ=="), None);
    }
}
