//! `cjson` as Redis 7.0 bundles it (lua-cjson 2.1.0): encode/decode with its number formatting
//! (`%.14g`), escaping, sparse-array rules, depth limits, configuration functions and error texts.
//! The configuration lives with the module table (as lua-cjson's upvalue), so it persists across
//! scripts in one VM exactly as in Redis.

use std::cell::RefCell;
use std::rc::Rc;

use mlua::{LightUserData, Lua, MultiValue, Table, Value};

use crate::convert::exact_value;
use crate::raise::{arg_error, lib_error};

#[derive(Clone)]
struct Config {
    sparse_convert: bool,
    sparse_ratio: i64,
    sparse_safe: i64,
    encode_max_depth: i64,
    decode_max_depth: i64,
    precision: i64,
    keep_buffer: bool,
    /// 0 off, 1 on, 2 null.
    encode_invalid: usize,
    decode_invalid: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            sparse_convert: false,
            sparse_ratio: 2,
            sparse_safe: 10,
            encode_max_depth: 1000,
            decode_max_depth: 1000,
            precision: 14,
            keep_buffer: true,
            encode_invalid: 0,
            decode_invalid: true,
        }
    }
}

type Cfg = Rc<RefCell<Config>>;

pub(crate) fn register(lua: &Lua) -> mlua::Result<()> {
    let t = module(lua)?;
    lua.globals().raw_set("cjson", t)
}

fn module(lua: &Lua) -> mlua::Result<Table> {
    let cfg: Cfg = Rc::new(RefCell::new(Config::default()));
    let t = lua.create_table()?;
    let c = cfg.clone();
    t.raw_set(
        "encode",
        lua.create_function(move |lua, args: MultiValue| {
            if args.len() != 1 {
                return Err(arg_error(lua, 1, "expected 1 argument"));
            }
            let cfg = c.borrow().clone();
            let mut out = Vec::new();
            encode_value(lua, &cfg, &args[0], 0, &mut out)?;
            lua.create_string(&out)
        })?,
    )?;
    let c = cfg.clone();
    t.raw_set(
        "decode",
        lua.create_function(move |lua, args: MultiValue| {
            if args.len() != 1 {
                return Err(arg_error(lua, 1, "expected 1 argument"));
            }
            let data = match &args[0] {
                Value::String(s) => s.as_bytes().to_vec(),
                Value::Number(_) | Value::Integer(_) => lua
                    .coerce_string(args[0].clone())?
                    .map(|s| s.as_bytes().to_vec())
                    .unwrap_or_default(),
                other => {
                    return Err(arg_error(
                        lua,
                        1,
                        &format!("string expected, got {}", other.type_name()),
                    ))
                }
            };
            let cfg = c.borrow().clone();
            decode(lua, &cfg, &data)
        })?,
    )?;
    let c = cfg.clone();
    t.raw_set(
        "encode_sparse_array",
        lua.create_function(move |lua, args: MultiValue| {
            check_args(lua, &args, 3)?;
            let mut g = c.borrow_mut();
            let mut conv = g.sparse_convert as usize;
            enum_option(lua, &args, 0, &mut conv, &["off", "on"])?;
            g.sparse_convert = conv == 1;
            int_option(lua, &args, 1, &mut g.sparse_ratio, 0, i32::MAX as i64)?;
            int_option(lua, &args, 2, &mut g.sparse_safe, 0, i32::MAX as i64)?;
            Ok((g.sparse_convert, g.sparse_ratio, g.sparse_safe))
        })?,
    )?;
    for (name, which) in [
        ("encode_max_depth", 0),
        ("decode_max_depth", 1),
        ("encode_number_precision", 2),
    ] {
        let c = cfg.clone();
        t.raw_set(
            name,
            lua.create_function(move |lua, args: MultiValue| {
                check_args(lua, &args, 1)?;
                let mut g = c.borrow_mut();
                let (slot, max) = match which {
                    0 => (&mut g.encode_max_depth, i32::MAX as i64),
                    1 => (&mut g.decode_max_depth, i32::MAX as i64),
                    _ => (&mut g.precision, 14),
                };
                int_option(lua, &args, 0, slot, 1, max)?;
                Ok(*slot)
            })?,
        )?;
    }
    let c = cfg.clone();
    t.raw_set(
        "encode_keep_buffer",
        lua.create_function(move |lua, args: MultiValue| {
            check_args(lua, &args, 1)?;
            let mut g = c.borrow_mut();
            let mut v = g.keep_buffer as usize;
            enum_option(lua, &args, 0, &mut v, &["off", "on"])?;
            g.keep_buffer = v == 1;
            Ok(Value::Boolean(g.keep_buffer))
        })?,
    )?;
    let c = cfg.clone();
    t.raw_set(
        "encode_invalid_numbers",
        lua.create_function(move |lua, args: MultiValue| {
            check_args(lua, &args, 1)?;
            let mut g = c.borrow_mut();
            enum_option(lua, &args, 0, &mut g.encode_invalid, &["off", "on", "null"])?;
            Ok(match g.encode_invalid {
                0 => Value::Boolean(false),
                1 => Value::Boolean(true),
                _ => Value::String(lua.create_string("null")?),
            })
        })?,
    )?;
    let c = cfg.clone();
    t.raw_set(
        "decode_invalid_numbers",
        lua.create_function(move |lua, args: MultiValue| {
            check_args(lua, &args, 1)?;
            let mut g = c.borrow_mut();
            let mut v = g.decode_invalid as usize;
            enum_option(lua, &args, 0, &mut v, &["off", "on"])?;
            g.decode_invalid = v == 1;
            Ok(Value::Boolean(g.decode_invalid))
        })?,
    )?;
    t.raw_set(
        "new",
        lua.create_function(|lua, _: MultiValue| module(lua))?,
    )?;
    t.raw_set(
        "null",
        Value::LightUserData(LightUserData(std::ptr::null_mut())),
    )?;
    t.raw_set("_NAME", "cjson")?;
    t.raw_set("_VERSION", "2.1.0")?;
    Ok(t)
}

/// `json_arg_init`: at most `n` arguments.
fn check_args(lua: &Lua, args: &MultiValue, n: usize) -> mlua::Result<()> {
    if args.len() > n {
        return Err(arg_error(lua, n + 1, "found too many arguments"));
    }
    Ok(())
}

fn is_nil(args: &MultiValue, i: usize) -> bool {
    matches!(args.get(i), None | Some(Value::Nil))
}

/// `json_integer_option` (its range error names argument 1 whatever the position, as lua-cjson).
fn int_option(
    lua: &Lua,
    args: &MultiValue,
    i: usize,
    slot: &mut i64,
    min: i64,
    max: i64,
) -> mlua::Result<()> {
    if is_nil(args, i) {
        return Ok(());
    }
    let v = match &args[i] {
        Value::Integer(n) => *n as f64,
        Value::Number(n) => *n,
        v @ Value::String(_) => match lua.coerce_number(v.clone())? {
            Some(n) => n,
            None => return Err(arg_error(lua, i + 1, "number expected, got string")),
        },
        v => {
            return Err(arg_error(
                lua,
                i + 1,
                &format!("number expected, got {}", v.type_name()),
            ))
        }
    };
    let v = v as i64;
    if v < min || v > max {
        return Err(arg_error(
            lua,
            1,
            &format!("expected integer between {min} and {max}"),
        ));
    }
    *slot = v;
    Ok(())
}

/// `json_enum_option` with booleans accepted for off/on.
fn enum_option(
    lua: &Lua,
    args: &MultiValue,
    i: usize,
    slot: &mut usize,
    options: &[&str],
) -> mlua::Result<()> {
    if is_nil(args, i) {
        return Ok(());
    }
    match &args[i] {
        Value::Boolean(b) => *slot = *b as usize,
        Value::String(s) => {
            let s = s.to_string_lossy();
            match options.iter().position(|o| *o == s) {
                Some(p) => *slot = p,
                None => return Err(arg_error(lua, i + 1, &format!("invalid option '{s}'"))),
            }
        }
        v => {
            return Err(arg_error(
                lua,
                i + 1,
                &format!("string expected, got {}", v.type_name()),
            ))
        }
    }
    Ok(())
}

/// C's `%.{prec}g`.
pub(crate) fn fmt_g(v: f64, prec: usize) -> String {
    if v.is_nan() {
        return if v.is_sign_negative() {
            "-nan".into()
        } else {
            "nan".into()
        };
    }
    if v.is_infinite() {
        return if v < 0.0 { "-inf".into() } else { "inf".into() };
    }
    let p = prec.max(1);
    let e = format!("{:.*e}", p - 1, v);
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= p as i32 {
        let mant = strip_zeros(mant);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        strip_zeros(&format!("{:.*}", decimals, v)).to_string()
    }
}

fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

fn exception(lua: &Lua, v: &Value, reason: &str) -> mlua::Error {
    lib_error(
        lua,
        &format!("Cannot serialise {}: {reason}", v.type_name()),
    )
}

fn encode_number(
    lua: &Lua,
    cfg: &Config,
    v: &Value,
    n: f64,
    out: &mut Vec<u8>,
) -> mlua::Result<()> {
    if n.is_nan() || n.is_infinite() {
        match cfg.encode_invalid {
            0 => return Err(exception(lua, v, "must not be NaN or Inf")),
            1 => {
                // Redis's lua-cjson prints these with its %.14g formatter.
                out.extend_from_slice(if n.is_nan() {
                    b"nan"
                } else if n < 0.0 {
                    b"-inf"
                } else {
                    b"inf"
                });
                return Ok(());
            }
            _ => {
                out.extend_from_slice(b"null");
                return Ok(());
            }
        }
    }
    out.extend_from_slice(fmt_g(n, cfg.precision as usize).as_bytes());
    Ok(())
}

fn encode_string(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            8 => out.extend_from_slice(b"\\b"),
            9 => out.extend_from_slice(b"\\t"),
            10 => out.extend_from_slice(b"\\n"),
            12 => out.extend_from_slice(b"\\f"),
            13 => out.extend_from_slice(b"\\r"),
            c if c < 0x20 || c == 0x7f => out.extend_from_slice(format!("\\u{:04x}", c).as_bytes()),
            c => out.push(c),
        }
    }
    out.push(b'"');
}

fn num_of(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => Some(*n),
        Value::Integer(i) => Some(*i as f64),
        _ => None,
    }
}

/// `lua_array_length`: the array length, or `None` for an object.
fn array_length(lua: &Lua, cfg: &Config, t: &Table) -> mlua::Result<Option<i64>> {
    let (mut max, mut items) = (0i64, 0i64);
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair?;
        match num_of(&k) {
            Some(n) if n.floor() == n && n >= 1.0 => {
                if n as i64 > max {
                    max = n as i64;
                }
                items += 1;
            }
            _ => return Ok(None),
        }
    }
    if cfg.sparse_ratio > 0 && max > items * cfg.sparse_ratio && max > cfg.sparse_safe {
        if !cfg.sparse_convert {
            return Err(exception(
                lua,
                &Value::Table(t.clone()),
                "excessively sparse array",
            ));
        }
        return Ok(None);
    }
    Ok(Some(max))
}

fn encode_value(
    lua: &Lua,
    cfg: &Config,
    v: &Value,
    depth: i64,
    out: &mut Vec<u8>,
) -> mlua::Result<()> {
    match v {
        Value::String(s) => encode_string(&s.as_bytes(), out),
        Value::Number(_) | Value::Integer(_) => {
            encode_number(lua, cfg, v, num_of(v).unwrap_or(0.0), out)?
        }
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Nil => out.extend_from_slice(b"null"),
        Value::LightUserData(p) if p.0.is_null() => out.extend_from_slice(b"null"),
        Value::Table(t) => {
            let depth = depth + 1;
            if depth > cfg.encode_max_depth {
                return Err(lib_error(
                    lua,
                    &format!("Cannot serialise, excessive nesting ({depth})"),
                ));
            }
            match array_length(lua, cfg, t)? {
                Some(len) if len > 0 => {
                    out.push(b'[');
                    for i in 1..=len {
                        if i > 1 {
                            out.push(b',');
                        }
                        let item = exact_value(t, &Value::Integer(i), t.raw_get(i)?);
                        encode_value(lua, cfg, &item, depth, out)?;
                    }
                    out.push(b']');
                }
                _ => {
                    out.push(b'{');
                    let mut comma = false;
                    for pair in t.pairs::<Value, Value>() {
                        let (k, val) = pair?;
                        let val = exact_value(t, &k, val);
                        if comma {
                            out.push(b',');
                        }
                        comma = true;
                        match &k {
                            Value::Number(_) | Value::Integer(_) => {
                                out.push(b'"');
                                encode_number(lua, cfg, &k, num_of(&k).unwrap_or(0.0), out)?;
                                out.extend_from_slice(b"\":");
                            }
                            Value::String(s) => {
                                encode_string(&s.as_bytes(), out);
                                out.push(b':');
                            }
                            _ => {
                                return Err(exception(
                                    lua,
                                    &k,
                                    "table key must be a number or string",
                                ))
                            }
                        }
                        encode_value(lua, cfg, &val, depth, out)?;
                    }
                    out.push(b'}');
                }
            }
        }
        other => return Err(exception(lua, other, "type not supported")),
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Tok {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Str,
    Num,
    Bool,
    Null,
    Colon,
    Comma,
    End,
    Error(&'static str),
}

impl Tok {
    fn name(self) -> &'static str {
        match self {
            Tok::ObjBegin => "T_OBJ_BEGIN",
            Tok::ObjEnd => "T_OBJ_END",
            Tok::ArrBegin => "T_ARR_BEGIN",
            Tok::ArrEnd => "T_ARR_END",
            Tok::Str => "T_STRING",
            Tok::Num => "T_NUMBER",
            Tok::Bool => "T_BOOLEAN",
            Tok::Null => "T_NULL",
            Tok::Colon => "T_COLON",
            Tok::Comma => "T_COMMA",
            Tok::End => "T_END",
            Tok::Error(e) => e,
        }
    }
}

struct Parser<'a> {
    data: &'a [u8],
    pos: usize,
    cfg: &'a Config,
    depth: i64,
    // The current token's value.
    tok: Tok,
    index: usize,
    s: Vec<u8>,
    n: f64,
    b: bool,
}

impl Parser<'_> {
    fn at(&self, i: usize) -> u8 {
        self.data.get(i).copied().unwrap_or(0)
    }

    fn error(&mut self, msg: &'static str) {
        self.tok = Tok::Error(msg);
        self.index = self.pos;
    }

    fn next(&mut self) {
        while matches!(self.at(self.pos), b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
        self.index = self.pos;
        let c = self.at(self.pos);
        let single = match c {
            0 => {
                self.tok = Tok::End;
                return;
            }
            b'{' => Some(Tok::ObjBegin),
            b'}' => Some(Tok::ObjEnd),
            b'[' => Some(Tok::ArrBegin),
            b']' => Some(Tok::ArrEnd),
            b':' => Some(Tok::Colon),
            b',' => Some(Tok::Comma),
            b'f' | b'i' | b'I' | b'n' | b'N' | b't' | b'"' | b'+' | b'-' | b'0'..=b'9' => None,
            _ => {
                self.error("invalid token");
                return;
            }
        };
        if let Some(t) = single {
            self.tok = t;
            self.pos += 1;
            return;
        }
        let rest = &self.data[self.pos..];
        if c == b'"' {
            self.string();
        } else if c == b'-' || c.is_ascii_digit() {
            if !self.cfg.decode_invalid && self.invalid_number() {
                self.error("invalid number");
                return;
            }
            self.number();
        } else if rest.starts_with(b"true") {
            self.tok = Tok::Bool;
            self.b = true;
            self.pos += 4;
        } else if rest.starts_with(b"false") {
            self.tok = Tok::Bool;
            self.b = false;
            self.pos += 5;
        } else if rest.starts_with(b"null") {
            self.tok = Tok::Null;
            self.pos += 4;
        } else if self.cfg.decode_invalid && self.invalid_number() {
            self.number();
        } else {
            self.error("invalid token");
        }
    }

    fn invalid_number(&self) -> bool {
        let mut p = self.pos;
        if self.at(p) == b'+' {
            return true;
        }
        if self.at(p) == b'-' {
            p += 1;
        }
        let c = self.at(p);
        if c == b'0' {
            let c2 = self.at(p + 1);
            return (c2 | 0x20) == b'x' || c2.is_ascii_digit();
        } else if c <= b'9' {
            return false;
        }
        let lower: Vec<u8> = self.data[p..]
            .iter()
            .take(3)
            .map(|c| c.to_ascii_lowercase())
            .collect();
        lower == b"inf" || lower == b"nan"
    }

    fn number(&mut self) {
        match strtod(&self.data[self.pos..]) {
            Some((n, used)) => {
                self.tok = Tok::Num;
                self.n = n;
                self.pos += used;
            }
            None => self.error("invalid number"),
        }
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let mut v = 0;
        for i in 0..4 {
            v = v * 16 + (self.at(at + i) as char).to_digit(16)?;
        }
        Some(v)
    }

    fn unicode_escape(&mut self) -> bool {
        let Some(mut cp) = self.hex4(self.pos + 2) else {
            return false;
        };
        let mut len = 6;
        if cp & 0xF800 == 0xD800 {
            if cp & 0x400 != 0 {
                return false;
            }
            if self.at(self.pos + 6) != b'\\' || self.at(self.pos + 7) != b'u' {
                return false;
            }
            let Some(low) = self.hex4(self.pos + 8) else {
                return false;
            };
            if low & 0xFC00 != 0xDC00 {
                return false;
            }
            cp = (((cp & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000;
            len = 12;
        }
        let mut buf = [0u8; 4];
        let enc: &[u8] = match cp {
            0..=0x7F => {
                buf[0] = cp as u8;
                &buf[..1]
            }
            0x80..=0x7FF => {
                buf[0] = (cp >> 6) as u8 | 0xC0;
                buf[1] = (cp & 0x3F) as u8 | 0x80;
                &buf[..2]
            }
            0x800..=0xFFFF => {
                buf[0] = (cp >> 12) as u8 | 0xE0;
                buf[1] = ((cp >> 6) & 0x3F) as u8 | 0x80;
                buf[2] = (cp & 0x3F) as u8 | 0x80;
                &buf[..3]
            }
            _ => {
                buf[0] = (cp >> 18) as u8 | 0xF0;
                buf[1] = ((cp >> 12) & 0x3F) as u8 | 0x80;
                buf[2] = ((cp >> 6) & 0x3F) as u8 | 0x80;
                buf[3] = (cp & 0x3F) as u8 | 0x80;
                &buf[..4]
            }
        };
        self.s.extend_from_slice(enc);
        self.pos += len;
        true
    }

    fn string(&mut self) {
        self.pos += 1;
        self.s.clear();
        loop {
            let c = self.at(self.pos);
            if c == b'"' {
                break;
            }
            if c == 0 {
                self.error("unexpected end of string");
                return;
            }
            let mut ch = c;
            if c == b'\\' {
                ch = match self.at(self.pos + 1) {
                    b'"' => b'"',
                    b'\\' => b'\\',
                    b'/' => b'/',
                    b'b' => 8,
                    b'f' => 12,
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'u' => {
                        if self.unicode_escape() {
                            continue;
                        }
                        self.error("invalid unicode escape code");
                        return;
                    }
                    _ => {
                        self.error("invalid escape code");
                        return;
                    }
                };
                self.pos += 1;
            }
            self.s.push(ch);
            self.pos += 1;
        }
        self.pos += 1;
        self.tok = Tok::Str;
    }

    fn fail(&self, lua: &Lua, expected: &str) -> mlua::Error {
        lib_error(
            lua,
            &format!(
                "Expected {expected} but found {} at character {}",
                self.tok.name(),
                self.index + 1
            ),
        )
    }

    fn descend(&mut self, lua: &Lua) -> mlua::Result<()> {
        self.depth += 1;
        if self.depth > self.cfg.decode_max_depth {
            return Err(lib_error(
                lua,
                &format!(
                    "Found too many nested data structures ({}) at character {}",
                    self.depth, self.pos
                ),
            ));
        }
        Ok(())
    }

    fn value(&mut self, lua: &Lua) -> mlua::Result<Value> {
        Ok(match self.tok {
            Tok::ObjBegin => {
                self.descend(lua)?;
                let t = lua.create_table()?;
                self.next();
                if self.tok != Tok::ObjEnd {
                    loop {
                        if self.tok != Tok::Str {
                            return Err(self.fail(lua, "object key string"));
                        }
                        let key = lua.create_string(&self.s)?;
                        self.next();
                        if self.tok != Tok::Colon {
                            return Err(self.fail(lua, "colon"));
                        }
                        self.next();
                        let v = self.value(lua)?;
                        t.raw_set(key, v)?;
                        self.next();
                        if self.tok == Tok::ObjEnd {
                            break;
                        }
                        if self.tok != Tok::Comma {
                            return Err(self.fail(lua, "comma or object end"));
                        }
                        self.next();
                    }
                }
                self.depth -= 1;
                Value::Table(t)
            }
            Tok::ArrBegin => {
                self.descend(lua)?;
                let t = lua.create_table()?;
                self.next();
                if self.tok != Tok::ArrEnd {
                    let mut i = 1;
                    loop {
                        let v = self.value(lua)?;
                        t.raw_set(i, v)?;
                        i += 1;
                        self.next();
                        if self.tok == Tok::ArrEnd {
                            break;
                        }
                        if self.tok != Tok::Comma {
                            return Err(self.fail(lua, "comma or array end"));
                        }
                        self.next();
                    }
                }
                self.depth -= 1;
                Value::Table(t)
            }
            Tok::Str => Value::String(lua.create_string(&self.s)?),
            Tok::Num => Value::Number(self.n),
            Tok::Bool => Value::Boolean(self.b),
            Tok::Null => Value::LightUserData(LightUserData(std::ptr::null_mut())),
            _ => return Err(self.fail(lua, "value")),
        })
    }
}

fn decode(lua: &Lua, cfg: &Config, data: &[u8]) -> mlua::Result<Value> {
    if data.len() >= 2 && (data[0] == 0 || data[1] == 0) {
        return Err(lib_error(
            lua,
            "JSON parser does not support UTF-16 or UTF-32",
        ));
    }
    let mut p = Parser {
        data,
        pos: 0,
        cfg,
        depth: 0,
        tok: Tok::End,
        index: 0,
        s: Vec::new(),
        n: 0.0,
        b: false,
    };
    p.next();
    let v = p.value(lua)?;
    p.next();
    if p.tok != Tok::End {
        return Err(p.fail(lua, "the end"));
    }
    Ok(v)
}

/// glibc `strtod` on a prefix: decimal, hex (`0x...`, with `p` exponents), `inf`/`infinity`,
/// `nan`; returns the value and the bytes used, or `None` when nothing parses.
pub(crate) fn strtod(s: &[u8]) -> Option<(f64, usize)> {
    let mut i = 0;
    let neg = match s.first() {
        Some(b'-') => {
            i = 1;
            true
        }
        Some(b'+') => {
            i = 1;
            false
        }
        _ => false,
    };
    let sign = |v: f64| if neg { -v } else { v };
    let lower: Vec<u8> = s[i..]
        .iter()
        .take(8)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if lower.starts_with(b"infinity") {
        return Some((sign(f64::INFINITY), i + 8));
    }
    if lower.starts_with(b"inf") {
        return Some((sign(f64::INFINITY), i + 3));
    }
    if lower.starts_with(b"nan") {
        let mut j = i + 3;
        if s.get(j) == Some(&b'(') {
            let mut k = j + 1;
            while k < s.len() && (s[k].is_ascii_alphanumeric() || s[k] == b'_') {
                k += 1;
            }
            if s.get(k) == Some(&b')') {
                j = k + 1;
            }
        }
        return Some((sign(f64::NAN), j));
    }
    if s.get(i) == Some(&b'0') && matches!(s.get(i + 1), Some(b'x') | Some(b'X')) {
        let mut j = i + 2;
        let mut v = 0f64;
        let mut digits = 0;
        while let Some(d) = s.get(j).and_then(|c| (*c as char).to_digit(16)) {
            v = v * 16.0 + d as f64;
            j += 1;
            digits += 1;
        }
        if s.get(j) == Some(&b'.') {
            let mut k = j + 1;
            let mut scale = 1.0 / 16.0;
            while let Some(d) = s.get(k).and_then(|c| (*c as char).to_digit(16)) {
                v += d as f64 * scale;
                scale /= 16.0;
                k += 1;
                digits += 1;
            }
            if digits > 0 {
                j = k;
            }
        }
        if digits == 0 {
            // "0x" without digits: strtod reads the "0".
            return Some((sign(0.0), i + 1));
        }
        if matches!(s.get(j), Some(b'p') | Some(b'P')) {
            let mut k = j + 1;
            let eneg = match s.get(k) {
                Some(b'-') => {
                    k += 1;
                    true
                }
                Some(b'+') => {
                    k += 1;
                    false
                }
                _ => false,
            };
            let start = k;
            let mut e: i32 = 0;
            while let Some(c) = s.get(k).filter(|c| c.is_ascii_digit()) {
                e = e.saturating_mul(10).saturating_add((c - b'0') as i32);
                k += 1;
            }
            if k > start {
                v *= 2f64.powi(if eneg { -e } else { e });
                j = k;
            }
        }
        return Some((sign(v), j));
    }
    let start = i;
    let mut j = i;
    let mut digits = 0;
    while s.get(j).is_some_and(|c| c.is_ascii_digit()) {
        j += 1;
        digits += 1;
    }
    if s.get(j) == Some(&b'.') {
        j += 1;
        while s.get(j).is_some_and(|c| c.is_ascii_digit()) {
            j += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return None;
    }
    if matches!(s.get(j), Some(b'e') | Some(b'E')) {
        let mut k = j + 1;
        if matches!(s.get(k), Some(b'+') | Some(b'-')) {
            k += 1;
        }
        let es = k;
        while s.get(k).is_some_and(|c| c.is_ascii_digit()) {
            k += 1;
        }
        if k > es {
            j = k;
        }
    }
    let text = std::str::from_utf8(&s[start..j]).ok()?;
    let text = text.strip_suffix('.').unwrap_or(text);
    let text = if text.starts_with('.') {
        format!("0{text}")
    } else {
        text.to_string()
    };
    let v: f64 = text.replace(".e", "e").replace(".E", "E").parse().ok()?;
    Some((sign(v), j))
}
