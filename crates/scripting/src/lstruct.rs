//! `struct` as Redis 7.0 bundles it (Roberto Ierusalimschy's lua_struct): pack, unpack and size
//! with its format language (`> < ! x b B h H l L T i In I c cn s f d`, spaces ignored), its
//! x86-64 sizes (int 4, long and size_t 8), alignment rules and error texts.

use mlua::{Lua, MultiValue, Value};

use crate::raise::{arg_error, lib_error};

const MAXINTSIZE: usize = 32;
/// `MAXALIGN` on x86-64 (the padding of `struct { char c; double d; }`).
const MAXALIGN: usize = 8;

#[derive(Clone, Copy)]
struct Header {
    big: bool,
    align: usize,
}

const NATIVE: Header = Header {
    big: false,
    align: 1,
};

fn getnum(lua: &Lua, fmt: &[u8], i: &mut usize, df: usize) -> mlua::Result<usize> {
    if !fmt.get(*i).is_some_and(|c| c.is_ascii_digit()) {
        return Ok(df);
    }
    let mut a: i64 = 0;
    while let Some(&c) = fmt.get(*i).filter(|c| c.is_ascii_digit()) {
        let d = (c - b'0') as i64;
        if a > i32::MAX as i64 / 10 || a * 10 > i32::MAX as i64 - d {
            return Err(lib_error(lua, "integral size overflow"));
        }
        a = a * 10 + d;
        *i += 1;
    }
    Ok(a as usize)
}

fn optsize(lua: &Lua, opt: u8, fmt: &[u8], i: &mut usize) -> mlua::Result<usize> {
    Ok(match opt {
        b'B' | b'b' => 1,
        b'H' | b'h' => 2,
        b'L' | b'l' | b'T' | b'd' => 8,
        b'f' => 4,
        b'x' => 1,
        b'c' => getnum(lua, fmt, i, 1)?,
        b'i' | b'I' => {
            let sz = getnum(lua, fmt, i, 4)?;
            if sz > MAXINTSIZE {
                return Err(lib_error(
                    lua,
                    &format!("integral size {sz} is larger than limit of {MAXINTSIZE}"),
                ));
            }
            sz
        }
        _ => 0,
    })
}

fn gettoalign(len: usize, h: &Header, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(h.align);
    (size - (len & (size - 1))) & (size - 1)
}

fn controloptions(
    lua: &Lua,
    opt: u8,
    fmt: &[u8],
    i: &mut usize,
    h: &mut Header,
) -> mlua::Result<()> {
    match opt {
        b' ' => Ok(()),
        b'>' => {
            h.big = true;
            Ok(())
        }
        b'<' => {
            h.big = false;
            Ok(())
        }
        b'!' => {
            let a = getnum(lua, fmt, i, MAXALIGN)?;
            if a == 0 || a & (a - 1) != 0 {
                return Err(lib_error(
                    lua,
                    &format!("alignment {a} is not a power of 2"),
                ));
            }
            h.align = a;
            Ok(())
        }
        _ => Err(arg_error(
            lua,
            1,
            &format!("invalid format option '{}'", opt as char),
        )),
    }
}

fn check_number(lua: &Lua, args: &MultiValue, idx: usize) -> mlua::Result<f64> {
    let v = args.get(idx);
    let n = match v {
        Some(Value::Number(n)) => Some(*n),
        Some(Value::Integer(i)) => Some(*i as f64),
        Some(s @ Value::String(_)) => lua.coerce_number(s.clone())?,
        _ => None,
    };
    n.ok_or_else(|| {
        let got = v.map(|v| v.type_name()).unwrap_or("no value");
        arg_error(lua, idx + 1, &format!("number expected, got {got}"))
    })
}

fn check_string(lua: &Lua, args: &MultiValue, idx: usize) -> mlua::Result<Vec<u8>> {
    match args.get(idx) {
        Some(Value::String(s)) => Ok(s.as_bytes().to_vec()),
        Some(v @ (Value::Number(_) | Value::Integer(_))) => Ok(lua
            .coerce_string(v.clone())?
            .map(|s| s.as_bytes().to_vec())
            .unwrap_or_default()),
        v => {
            let got = v.map(|v| v.type_name()).unwrap_or("no value");
            Err(arg_error(
                lua,
                idx + 1,
                &format!("string expected, got {got}"),
            ))
        }
    }
}

fn to_uint(n: f64) -> u64 {
    if n < 0.0 {
        crate::convert::lua_number_to_i64(n) as u64
    } else if n >= 18_446_744_073_709_551_616.0 || n.is_nan() {
        // x86-64's conversion of an out-of-range double.
        0
    } else {
        n as u64
    }
}

fn pack(lua: &Lua, args: MultiValue) -> mlua::Result<mlua::String> {
    let fmt = check_string(lua, &args, 0)?;
    let mut h = NATIVE;
    let mut arg = 1;
    let mut total = 0usize;
    let mut out = Vec::new();
    let mut i = 0;
    while i < fmt.len() && fmt[i] != 0 {
        let opt = fmt[i];
        i += 1;
        let mut size = optsize(lua, opt, &fmt, &mut i)?;
        let toalign = gettoalign(total, &h, opt, size);
        total += toalign;
        out.resize(out.len() + toalign, 0);
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let n = check_number(lua, &args, arg)?;
                arg += 1;
                let mut value = to_uint(n);
                let mut buf = vec![0u8; size];
                for k in 0..size {
                    let at = if h.big { size - 1 - k } else { k };
                    buf[at] = (value & 0xff) as u8;
                    value = value.checked_shr(8).unwrap_or(0);
                }
                out.extend_from_slice(&buf);
            }
            b'x' => out.push(0),
            b'f' => {
                let f = check_number(lua, &args, arg)? as f32;
                arg += 1;
                out.extend_from_slice(&if h.big {
                    f.to_be_bytes()
                } else {
                    f.to_le_bytes()
                });
            }
            b'd' => {
                let d = check_number(lua, &args, arg)?;
                arg += 1;
                out.extend_from_slice(&if h.big {
                    d.to_be_bytes()
                } else {
                    d.to_le_bytes()
                });
            }
            b'c' | b's' => {
                let s = check_string(lua, &args, arg)?;
                arg += 1;
                if size == 0 {
                    size = s.len();
                }
                if s.len() < size {
                    // lua_struct checks against the already advanced argument index.
                    return Err(arg_error(lua, arg + 1, "string too short"));
                }
                out.extend_from_slice(&s[..size]);
                if opt == b's' {
                    out.push(0);
                    size += 1;
                }
            }
            _ => controloptions(lua, opt, &fmt, &mut i, &mut h)?,
        }
        total += size;
    }
    lua.create_string(&out)
}

fn getinteger(buf: &[u8], big: bool, signed: bool) -> f64 {
    let size = buf.len();
    let mut l: u64 = 0;
    for k in 0..size {
        let b = if big { buf[k] } else { buf[size - 1 - k] };
        l = (l << 8) | b as u64;
    }
    if !signed {
        return l as f64;
    }
    // `~0 << (size*8 - 1)` with x86-64's shift count (mod 64).
    let mask = u64::MAX << ((size * 8 - 1) & 63);
    if l & mask != 0 {
        l |= mask;
    }
    l as i64 as f64
}

fn unpack(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    let fmt = check_string(lua, &args, 0)?;
    let data = check_string(lua, &args, 1)?;
    let ld = data.len();
    let start = match args.get(2) {
        None | Some(Value::Nil) => 1,
        Some(_) => crate::convert::lua_number_to_i64(check_number(lua, &args, 2)?),
    };
    if start < 1 {
        return Err(arg_error(lua, 3, "offset must be 1 or greater"));
    }
    let mut pos = (start - 1) as usize;
    let mut h = NATIVE;
    let mut out: Vec<Value> = Vec::new();
    let mut i = 0;
    let too_short = |lua: &Lua| arg_error(lua, 2, "data string too short");
    while i < fmt.len() && fmt[i] != 0 {
        let opt = fmt[i];
        i += 1;
        let mut size = optsize(lua, opt, &fmt, &mut i)?;
        pos += gettoalign(pos, &h, opt, size);
        if !(size <= ld && pos <= ld - size) {
            return Err(too_short(lua));
        }
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let v = getinteger(&data[pos..pos + size], h.big, opt.is_ascii_lowercase());
                out.push(Value::Number(v));
            }
            b'x' => {}
            b'f' => {
                let b: [u8; 4] = data[pos..pos + 4].try_into().unwrap_or_default();
                let f = if h.big {
                    f32::from_be_bytes(b)
                } else {
                    f32::from_le_bytes(b)
                };
                out.push(Value::Number(f as f64));
            }
            b'd' => {
                let b: [u8; 8] = data[pos..pos + 8].try_into().unwrap_or_default();
                let d = if h.big {
                    f64::from_be_bytes(b)
                } else {
                    f64::from_le_bytes(b)
                };
                out.push(Value::Number(d));
            }
            b'c' => {
                if size == 0 {
                    let prev = out.last().cloned();
                    let n = match prev {
                        Some(Value::Number(n)) => Some(n),
                        Some(Value::Integer(n)) => Some(n as f64),
                        Some(v @ Value::String(_)) => lua.coerce_number(v)?,
                        _ => None,
                    };
                    let Some(n) = n else {
                        return Err(lib_error(lua, "format 'c0' needs a previous size"));
                    };
                    out.pop();
                    size = n as usize;
                    if !(size <= ld && pos <= ld - size) {
                        return Err(too_short(lua));
                    }
                }
                out.push(Value::String(lua.create_string(&data[pos..pos + size])?));
            }
            b's' => {
                let Some(e) = data[pos..].iter().position(|&c| c == 0) else {
                    return Err(lib_error(lua, "unfinished string in data"));
                };
                size = e + 1;
                out.push(Value::String(lua.create_string(&data[pos..pos + e])?));
            }
            _ => controloptions(lua, opt, &fmt, &mut i, &mut h)?,
        }
        pos += size;
    }
    out.push(Value::Integer((pos + 1) as i64));
    Ok(MultiValue::from_iter(out))
}

fn size(lua: &Lua, args: MultiValue) -> mlua::Result<i64> {
    let fmt = check_string(lua, &args, 0)?;
    let mut h = NATIVE;
    let mut pos = 0usize;
    let mut i = 0;
    while i < fmt.len() && fmt[i] != 0 {
        let opt = fmt[i];
        i += 1;
        let size = optsize(lua, opt, &fmt, &mut i)?;
        pos += gettoalign(pos, &h, opt, size);
        if opt == b's' {
            return Err(arg_error(lua, 1, "option 's' has no fixed size"));
        } else if opt == b'c' && size == 0 {
            return Err(arg_error(lua, 1, "option 'c0' has no fixed size"));
        }
        if !opt.is_ascii_alphanumeric() {
            controloptions(lua, opt, &fmt, &mut i, &mut h)?;
        }
        pos += size;
    }
    Ok(pos as i64)
}

pub(crate) fn register(lua: &Lua) -> mlua::Result<()> {
    let t = lua.create_table()?;
    t.raw_set("pack", lua.create_function(pack)?)?;
    t.raw_set("unpack", lua.create_function(unpack)?)?;
    t.raw_set("size", lua.create_function(size)?)?;
    lua.globals().raw_set("struct", t)
}
