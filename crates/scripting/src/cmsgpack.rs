//! `cmsgpack` as Redis 7.0 bundles it (lua-cmsgpack 0.4.0): pack/unpack/unpack_one/unpack_limit
//! with its exact encodings (floats when a double survives the round trip through `float`, the
//! array-vs-map test, 16 levels of nesting) and error texts.

use mlua::{Lua, MultiValue, Table, Value};

use crate::convert::exact_value;
use crate::raise::{arg_error, lib_error, raise_str};

/// Tables nested deeper than this are packed as nil (protects against cycles).
const MAX_NESTING: usize = 16;

pub(crate) fn register(lua: &Lua) -> mlua::Result<()> {
    let t = lua.create_table()?;
    t.raw_set(
        "pack",
        lua.create_function(|lua, args: MultiValue| {
            if args.is_empty() {
                return Err(arg_error(lua, 0, "MessagePack pack needs input."));
            }
            let mut out = Vec::new();
            for a in args.iter() {
                encode(a, 0, &mut out)?;
            }
            lua.create_string(&out)
        })?,
    )?;
    t.raw_set(
        "unpack",
        lua.create_function(|lua, args: MultiValue| unpack_full(lua, &args, 0, 0))?,
    )?;
    t.raw_set(
        "unpack_one",
        lua.create_function(|lua, args: MultiValue| {
            let offset = opt_integer(lua, &args, 1, "unpack_one")?;
            unpack_full(lua, &args, 1, offset)
        })?,
    )?;
    t.raw_set(
        "unpack_limit",
        lua.create_function(|lua, args: MultiValue| {
            let limit = check_integer(lua, &args, 1)?;
            let offset = opt_integer(lua, &args, 2, "unpack_limit")?;
            unpack_full(lua, &args, limit, offset)
        })?,
    )?;
    t.raw_set("_NAME", "cmsgpack")?;
    t.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    t.raw_set("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo")?;
    t.raw_set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    lua.globals().raw_set("cmsgpack", t)
}

fn to_number(lua: &Lua, v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => Some(*n),
        Value::Integer(i) => Some(*i as f64),
        Value::String(_) => lua.coerce_number(v.clone()).ok().flatten(),
        _ => None,
    }
}

/// `luaL_checkinteger` (truncating, as `lua_tointeger` on x86-64).
fn check_integer(lua: &Lua, args: &MultiValue, i: usize) -> mlua::Result<i64> {
    match args.get(i).and_then(|v| to_number(lua, v)) {
        Some(n) => Ok(crate::convert::lua_number_to_i64(n)),
        None => {
            let got = args.get(i).map(|v| v.type_name()).unwrap_or("no value");
            Err(arg_error(
                lua,
                i + 1,
                &format!("number expected, got {got}"),
            ))
        }
    }
}

fn opt_integer(lua: &Lua, args: &MultiValue, i: usize, _name: &str) -> mlua::Result<i64> {
    match args.get(i) {
        None | Some(Value::Nil) => Ok(0),
        Some(_) => check_integer(lua, args, i),
    }
}

fn encode_int(n: i64, out: &mut Vec<u8>) {
    if n >= 0 {
        if n <= 127 {
            out.push(n as u8);
        } else if n <= 0xff {
            out.extend_from_slice(&[0xcc, n as u8]);
        } else if n <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        } else if n <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= -128 {
        out.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -2_147_483_648 {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_number(n: f64, out: &mut Vec<u8>) {
    // IS_INT64_EQUIVALENT: finite and unchanged by a round trip through int64_t.
    let as_int = crate::convert::lua_number_to_i64(n);
    if !n.is_infinite() && as_int as f64 == n {
        encode_int(as_int, out);
    } else if (n as f32) as f64 == n {
        out.push(0xca);
        out.extend_from_slice(&(n as f32).to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_len(len: usize, fix: u8, fix_max: usize, c16: u8, c32: u8, out: &mut Vec<u8>) {
    if len <= fix_max {
        out.push(fix | len as u8);
    } else if len <= 0xffff {
        out.push(c16);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(c32);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

fn encode_bytes(s: &[u8], out: &mut Vec<u8>) {
    let len = s.len();
    if len < 32 {
        out.push(0xa0 | len as u8);
    } else if len <= 0xff {
        out.extend_from_slice(&[0xd9, len as u8]);
    } else if len <= 0xffff {
        out.push(0xda);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
    out.extend_from_slice(s);
}

fn num_of(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => Some(*n),
        Value::Integer(i) => Some(*i as f64),
        _ => None,
    }
}

/// `table_is_an_array`: only positive integral number keys, and as many as the largest.
fn is_array(t: &Table) -> mlua::Result<Option<usize>> {
    let (mut count, mut max) = (0usize, 0f64);
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair?;
        match num_of(&k) {
            Some(n) if n > 0.0 && (n as i32) as f64 == n => {
                if n > max {
                    max = n;
                }
                count += 1;
            }
            _ => return Ok(None),
        }
    }
    Ok((max as usize == count).then_some(count))
}

fn encode(v: &Value, level: usize, out: &mut Vec<u8>) -> mlua::Result<()> {
    match v {
        Value::String(s) => encode_bytes(&s.as_bytes(), out),
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Number(_) | Value::Integer(_) => encode_number(num_of(v).unwrap_or(0.0), out),
        Value::Table(t) if level < MAX_NESTING => match is_array(t)? {
            Some(len) => {
                encode_len(len, 0x90, 15, 0xdc, 0xdd, out);
                for j in 1..=len {
                    let item = exact_value(t, &Value::Integer(j as i64), t.raw_get(j)?);
                    encode(&item, level + 1, out)?;
                }
            }
            None => {
                let len = t.pairs::<Value, Value>().count();
                encode_len(len, 0x80, 15, 0xde, 0xdf, out);
                for pair in t.pairs::<Value, Value>() {
                    let (k, val) = pair?;
                    let val = exact_value(t, &k, val);
                    encode(&k, level + 1, out)?;
                    encode(&val, level + 1, out)?;
                }
            }
        },
        _ => out.push(0xc0),
    }
    Ok(())
}

enum DecodeError {
    Eof,
    BadFormat,
    Lua(mlua::Error),
}

impl From<mlua::Error> for DecodeError {
    fn from(e: mlua::Error) -> Self {
        DecodeError::Lua(e)
    }
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn left(&self) -> usize {
        self.data.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.left() < n {
            return Err(DecodeError::Eof);
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn be(&mut self, n: usize) -> Result<u64, DecodeError> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | b as u64))
    }
}

fn decode(lua: &Lua, c: &mut Cursor<'_>) -> Result<Value, DecodeError> {
    let first = c.take(1)?[0];
    let num = |n: f64| Ok(Value::Number(n));
    match first {
        0xcc => num(c.be(1)? as f64),
        0xd0 => num(c.be(1)? as u8 as i8 as f64),
        0xcd => num(c.be(2)? as f64),
        0xd1 => num(c.be(2)? as u16 as i16 as f64),
        0xce => num(c.be(4)? as f64),
        0xd2 => num(c.be(4)? as u32 as i32 as f64),
        0xcf | 0xd3 => num(c.be(8)? as i64 as f64),
        0xc0 => Ok(Value::Nil),
        0xc3 => Ok(Value::Boolean(true)),
        0xc2 => Ok(Value::Boolean(false)),
        0xca => num(f32::from_bits(c.be(4)? as u32) as f64),
        0xcb => num(f64::from_bits(c.be(8)?)),
        0xd9 => {
            let n = c.be(1)? as usize;
            Ok(Value::String(lua.create_string(c.take(n)?)?))
        }
        0xda => {
            let n = c.be(2)? as usize;
            Ok(Value::String(lua.create_string(c.take(n)?)?))
        }
        0xdb => {
            let n = c.be(4)? as usize;
            Ok(Value::String(lua.create_string(c.take(n)?)?))
        }
        0xdc => {
            let n = c.be(2)? as usize;
            array(lua, c, n)
        }
        0xdd => {
            let n = c.be(4)? as usize;
            array(lua, c, n)
        }
        0xde => {
            let n = c.be(2)? as usize;
            map(lua, c, n)
        }
        0xdf => {
            let n = c.be(4)? as usize;
            map(lua, c, n)
        }
        b if b & 0x80 == 0 => num(b as f64),
        b if b & 0xe0 == 0xe0 => num(b as i8 as f64),
        b if b & 0xe0 == 0xa0 => {
            let n = (b & 0x1f) as usize;
            Ok(Value::String(lua.create_string(c.take(n)?)?))
        }
        b if b & 0xf0 == 0x90 => array(lua, c, (b & 0x0f) as usize),
        b if b & 0xf0 == 0x80 => map(lua, c, (b & 0x0f) as usize),
        _ => Err(DecodeError::BadFormat),
    }
}

fn array(lua: &Lua, c: &mut Cursor<'_>, n: usize) -> Result<Value, DecodeError> {
    let t = lua.create_table()?;
    for j in 1..=n {
        let v = decode(lua, c)?;
        t.raw_set(j, v)?;
    }
    Ok(Value::Table(t))
}

fn map(lua: &Lua, c: &mut Cursor<'_>, n: usize) -> Result<Value, DecodeError> {
    let t = lua.create_table()?;
    for _ in 0..n {
        let k = decode(lua, c)?;
        let v = decode(lua, c)?;
        match &k {
            Value::Nil => return Err(DecodeError::Lua(raise_str("table index is nil".into()))),
            Value::Number(x) if x.is_nan() => {
                return Err(DecodeError::Lua(raise_str("table index is NaN".into())))
            }
            _ => t.raw_set(k, v)?,
        }
    }
    Ok(Value::Table(t))
}

/// `mp_unpack_full`.
fn unpack_full(lua: &Lua, args: &MultiValue, limit: i64, offset: i64) -> mlua::Result<MultiValue> {
    let data = match args.front() {
        Some(Value::String(s)) => s.as_bytes().to_vec(),
        Some(v @ (Value::Number(_) | Value::Integer(_))) => lua
            .coerce_string(v.clone())?
            .map(|s| s.as_bytes().to_vec())
            .unwrap_or_default(),
        other => {
            let got = other.map(|v| v.type_name()).unwrap_or("no value");
            return Err(arg_error(lua, 1, &format!("string expected, got {got}")));
        }
    };
    let len = data.len() as i64;
    let decode_all = limit == 0 && offset == 0;
    // lua-cmsgpack works on C ints.
    let (offset, limit) = (offset as i32 as i64, limit as i32 as i64);
    if offset < 0 || limit < 0 {
        return Err(lib_error(
            lua,
            &format!("Invalid request to unpack with offset of {offset} and limit of {len}."),
        ));
    }
    if offset > len {
        return Err(lib_error(
            lua,
            &format!("Start offset {offset} greater than input length {len}."),
        ));
    }
    let limit = if decode_all { i32::MAX as i64 } else { limit };
    let mut c = Cursor {
        data: &data,
        pos: offset as usize,
    };
    let mut out = Vec::new();
    let mut cnt = 0;
    while c.left() > 0 && cnt < limit {
        match decode(lua, &mut c) {
            Ok(v) => out.push(v),
            Err(DecodeError::Eof) => return Err(lib_error(lua, "Missing bytes in input.")),
            Err(DecodeError::BadFormat) => return Err(lib_error(lua, "Bad data format in input.")),
            Err(DecodeError::Lua(e)) => return Err(e),
        }
        cnt += 1;
    }
    if !decode_all {
        let next = if c.left() == 0 { -1 } else { c.pos as i64 };
        out.insert(0, Value::Integer(next));
    }
    Ok(MultiValue::from_iter(out))
}
