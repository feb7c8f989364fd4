//! Conversions between Lua values and replies, ported from Redis 7.0's `script_lua.c`:
//! `redisProtocolToLuaType` (a command's reply seen by the script), `luaReplyToRedisReply` (what
//! the script returns), `luaPushErrorBuff` (error tables) and `luaArgsToRedisArgv` (command
//! arguments). Nothing here runs commands.

use bytes::Bytes;
use darter_resp::{format_g17, Frame};
use mlua::{Lua, Table, Value};

/// Nesting deeper than this in a returned table becomes Redis's "reached lua stack limit" error
/// element (Redis hits the Lua C stack limit at about 8000 levels; a smaller bound keeps the Rust
/// recursion well inside a thread's stack).
const MAX_REPLY_DEPTH: usize = 1000;

/// `luaPushErrorBuff`: `-CODE msg` keeps its code, anything else gets `ERR`; trailing CR/LF are
/// trimmed. Returns the Lua error table `{err = "CODE msg"}`.
pub(crate) fn error_table(lua: &Lua, text: &[u8]) -> mlua::Result<Table> {
    let (code, msg): (&[u8], &[u8]) = if let Some(rest) = text.strip_prefix(b"-") {
        match rest.iter().position(|&c| c == b' ') {
            Some(sp) => (&rest[..sp], &rest[sp + 1..]),
            None => (b"ERR", rest),
        }
    } else {
        (b"ERR", text)
    };
    let mut msg = msg;
    while let Some((&last, head)) = msg.split_last() {
        if last == b'\r' || last == b'\n' {
            msg = head;
        } else {
            break;
        }
    }
    while let Some((&first, tail)) = msg.split_first() {
        if first == b'\r' || first == b'\n' {
            msg = tail;
        } else {
            break;
        }
    }
    let mut full = Vec::with_capacity(code.len() + 1 + msg.len());
    full.extend_from_slice(code);
    full.push(b' ');
    full.extend_from_slice(msg);
    let t = lua.create_table()?;
    t.raw_set("err", lua.create_string(&full)?)?;
    Ok(t)
}

/// A command's reply as the script sees it, for a script whose protocol is `resp` (2 or 3).
pub(crate) fn frame_to_lua(lua: &Lua, f: &Frame, resp: u8) -> mlua::Result<Value> {
    Ok(match f {
        Frame::Integer(i) => Value::Number(*i as f64),
        Frame::Bulk(b) => Value::String(lua.create_string(b)?),
        Frame::Simple(s) => {
            let t = lua.create_table()?;
            t.raw_set("ok", lua.create_string(s)?)?;
            Value::Table(t)
        }
        Frame::Error(e) => {
            let mut text = Vec::with_capacity(e.len() + 1);
            text.push(b'-');
            text.extend_from_slice(e);
            let t = error_table(lua, &text)?;
            t.raw_set("ignore_error_stats_update", true)?;
            Value::Table(t)
        }
        Frame::Null if resp == 3 => Value::Nil,
        Frame::Null | Frame::NullArray => Value::Boolean(false),
        Frame::Array(items) | Frame::Push(items) => {
            let t = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, it) in items.iter().enumerate() {
                t.raw_set(i + 1, frame_to_lua(lua, it, resp)?)?;
            }
            Value::Table(t)
        }
        Frame::Map(pairs) => {
            let m = lua.create_table()?;
            for (k, v) in pairs {
                m.raw_set(frame_to_lua(lua, k, resp)?, frame_to_lua(lua, v, resp)?)?;
            }
            let t = lua.create_table()?;
            t.raw_set("map", m)?;
            Value::Table(t)
        }
        Frame::Set(items) => {
            let s = lua.create_table()?;
            for it in items {
                s.raw_set(frame_to_lua(lua, it, resp)?, true)?;
            }
            let t = lua.create_table()?;
            t.raw_set("set", s)?;
            Value::Table(t)
        }
        Frame::Double(text) => {
            let d = parse_double(text);
            let t = lua.create_table()?;
            t.raw_set("double", d)?;
            Value::Table(t)
        }
        Frame::Boolean(b) => Value::Boolean(*b),
        Frame::BigNumber(n) => {
            let t = lua.create_table()?;
            t.raw_set("big_number", lua.create_string(n)?)?;
            Value::Table(t)
        }
        Frame::Verbatim(format, text) => {
            let v = lua.create_table()?;
            v.raw_set("format", lua.create_string(format)?)?;
            v.raw_set("string", lua.create_string(text)?)?;
            let t = lua.create_table()?;
            t.raw_set("verbatim_string", v)?;
            Value::Table(t)
        }
    })
}

fn parse_double(text: &[u8]) -> f64 {
    let s = std::str::from_utf8(text).unwrap_or("0");
    match s {
        "inf" | "+inf" => f64::INFINITY,
        "-inf" => f64::NEG_INFINITY,
        "nan" | "-nan" => f64::NAN,
        _ => s.parse().unwrap_or(0.0),
    }
}

/// `(long long)lua_Number` as x86-64 computes it: truncation, and the "integer indefinite"
/// value for NaN and out-of-range numbers.
pub(crate) fn lua_number_to_i64(n: f64) -> i64 {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
    if n.is_nan() || !(-LIMIT..LIMIT).contains(&n) {
        i64::MIN
    } else {
        n as i64
    }
}

fn sanitize(b: &[u8]) -> Bytes {
    Bytes::from(
        b.iter()
            .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c })
            .collect::<Vec<u8>>(),
    )
}

fn g17(n: f64) -> Bytes {
    if n.is_infinite() {
        return Bytes::from_static(if n > 0.0 { b"inf" } else { b"-inf" });
    }
    let mut out = Vec::new();
    format_g17(n, &mut out);
    Bytes::from(out)
}

/// What the script returned, as the reply to a client speaking `resp` (2 or 3): RESP3-only types
/// are already lowered to their RESP2 forms for a RESP2 client, as Redis's `addReply*` do.
/// `luaReplyToRedisReply`: `resp` is the client's protocol; `script_resp` (`redis.setresp` when
/// the script returned) decides booleans, as in Redis 7.0 (RESP2 scripts: true is 1, false null).
pub(crate) fn lua_to_frame(v: &Value, resp: u8, script_resp: u8) -> Frame {
    SCRIPT_RESP.with(|r| r.set(script_resp));
    lua_to_frame_depth(v, resp, 0)
}

thread_local! {
    static SCRIPT_RESP: std::cell::Cell<u8> = const { std::cell::Cell::new(2) };
}

fn lua_to_frame_depth(v: &Value, resp: u8, depth: usize) -> Frame {
    if depth > MAX_REPLY_DEPTH {
        return Frame::Error(Bytes::from_static(b"ERR reached lua stack limit"));
    }
    match v {
        Value::String(s) => Frame::Bulk(Bytes::copy_from_slice(&s.as_bytes())),
        Value::Boolean(b) => {
            if SCRIPT_RESP.with(|r| r.get()) == 2 {
                if *b {
                    Frame::Integer(1)
                } else {
                    Frame::Null
                }
            } else {
                Frame::Boolean(*b)
            }
        }
        Value::Integer(i) => Frame::Integer(*i),
        Value::Number(n) => Frame::Integer(lua_number_to_i64(*n)),
        Value::Table(t) => table_to_frame(t, resp, depth),
        _ => Frame::Null,
    }
}

fn table_to_frame(t: &Table, resp: u8, depth: usize) -> Frame {
    if let Ok(Value::String(e)) = t.raw_get::<Value>("err") {
        return Frame::Error(sanitize(&e.as_bytes()));
    }
    if let Ok(Value::String(s)) = t.raw_get::<Value>("ok") {
        return Frame::Simple(sanitize(&s.as_bytes()));
    }
    match t.raw_get::<Value>("double") {
        Ok(Value::Number(n)) => return double_frame(n, resp),
        Ok(Value::Integer(n)) => return double_frame(n as f64, resp),
        _ => {}
    }
    if let Ok(Value::String(s)) = t.raw_get::<Value>("big_number") {
        let n = sanitize(&s.as_bytes());
        return if resp == 2 {
            Frame::Bulk(n)
        } else {
            Frame::BigNumber(n)
        };
    }
    if let Ok(Value::Table(v)) = t.raw_get::<Value>("verbatim_string") {
        if let (Ok(Value::String(fmt)), Ok(Value::String(s))) =
            (v.raw_get::<Value>("format"), v.raw_get::<Value>("string"))
        {
            let s = Bytes::copy_from_slice(&s.as_bytes());
            return if resp == 2 {
                Frame::Bulk(s)
            } else {
                Frame::Verbatim(Bytes::copy_from_slice(&fmt.as_bytes()), s)
            };
        }
    }
    if let Ok(Value::Table(m)) = t.raw_get::<Value>("map") {
        let mut pairs = Vec::new();
        for (k, v) in m.pairs::<Value, Value>().flatten() {
            pairs.push((
                lua_to_frame_depth(&k, resp, depth + 1),
                lua_to_frame_depth(&v, resp, depth + 1),
            ));
        }
        return if resp == 2 {
            Frame::Array(pairs.into_iter().flat_map(|(k, v)| [k, v]).collect())
        } else {
            Frame::Map(pairs)
        };
    }
    if let Ok(Value::Table(s)) = t.raw_get::<Value>("set") {
        let items: Vec<Frame> = s
            .pairs::<Value, Value>()
            .flatten()
            .map(|(k, _)| lua_to_frame_depth(&k, resp, depth + 1))
            .collect();
        return if resp == 2 {
            Frame::Array(items)
        } else {
            Frame::Set(items)
        };
    }
    let mut items = Vec::new();
    let mut i = 1;
    loop {
        match t.raw_get::<Value>(i) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(v) => items.push(lua_to_frame_depth(&v, resp, depth + 1)),
        }
        i += 1;
    }
    Frame::Array(items)
}

fn double_frame(n: f64, resp: u8) -> Frame {
    if resp == 2 {
        Frame::Bulk(g17(n))
    } else {
        Frame::Double(g17(n))
    }
}

/// `luaArgsToRedisArgv`: strings as they are, numbers as `%.17g`; anything else is an error.
pub(crate) fn lua_to_arg(v: &Value) -> Option<Bytes> {
    match v {
        Value::String(s) => Some(Bytes::copy_from_slice(&s.as_bytes())),
        Value::Number(n) => Some(g17(*n)),
        Value::Integer(i) => Some(Bytes::from(i.to_string())),
        _ => None,
    }
}

/// mlua reads a Lua 5.1 number lying within `f64::EPSILON` of an integer as that integer (so
/// `1e-20`, `-0` and `1 - 2^-53` arrive as 0 or ±1). A table value read that way is read again as
/// an `f64`, which mlua takes from the stack exactly, so the libraries encode what Redis encodes.
pub(crate) fn exact_value(t: &Table, k: &Value, v: Value) -> Value {
    if let Value::Integer(i) = v {
        if (-1..=1).contains(&i) {
            if let Ok(n) = t.raw_get::<f64>(k.clone()) {
                return Value::Number(n);
            }
        }
    }
    v
}
