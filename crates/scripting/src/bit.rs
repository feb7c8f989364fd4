//! LuaBitOp 1.0 (`bit.*`) as Redis bundles it: 32-bit operations on Lua numbers, with the
//! library's exact number normalisation (`x + 2^52 + 2^51`, low 32 bits) and argument errors.

use mlua::{Lua, MultiValue, Value};

use crate::raise::arg_error;

/// `barg`: the number normalised to 32 bits, or Redis's `luaL_typerror`.
fn barg(lua: &Lua, args: &MultiValue, idx: usize, _fname: &str) -> mlua::Result<u32> {
    let v = args.get(idx).cloned().unwrap_or(Value::Nil);
    let n = match &v {
        Value::Number(n) => Some(*n),
        Value::Integer(i) => Some(*i as f64),
        Value::String(_) => lua.coerce_number(v.clone()).ok().flatten(),
        _ => None,
    };
    let b = (n.unwrap_or(0.0) + 6_755_399_441_055_744.0).to_bits() as u32;
    if b == 0 && n.is_none() {
        let got = if idx >= args.len() {
            "no value".to_string()
        } else {
            v.type_name().to_string()
        };
        return Err(arg_error(
            lua,
            idx + 1,
            &format!("number expected, got {got}"),
        ));
    }
    Ok(b)
}

fn ret(b: u32) -> f64 {
    b as i32 as f64
}

type Op = fn(&Lua, &MultiValue) -> mlua::Result<Value>;

fn num(b: u32) -> mlua::Result<Value> {
    Ok(Value::Number(ret(b)))
}

fn fold(lua: &Lua, a: &MultiValue, name: &str, f: fn(u32, u32) -> u32) -> mlua::Result<Value> {
    let mut b = barg(lua, a, 0, name)?;
    let mut i = a.len();
    while i > 1 {
        b = f(b, barg(lua, a, i - 1, name)?);
        i -= 1;
    }
    num(b)
}

fn shift(lua: &Lua, a: &MultiValue, name: &str, f: fn(u32, u32) -> u32) -> mlua::Result<Value> {
    let b = barg(lua, a, 0, name)?;
    let n = barg(lua, a, 1, name)? & 31;
    num(f(b, n))
}

const OPS: &[(&str, Op)] = &[
    ("tobit", |l, a| num(barg(l, a, 0, "tobit")?)),
    ("bnot", |l, a| num(!barg(l, a, 0, "bnot")?)),
    ("band", |l, a| fold(l, a, "band", |x, y| x & y)),
    ("bor", |l, a| fold(l, a, "bor", |x, y| x | y)),
    ("bxor", |l, a| fold(l, a, "bxor", |x, y| x ^ y)),
    ("lshift", |l, a| shift(l, a, "lshift", |b, n| b << n)),
    ("rshift", |l, a| shift(l, a, "rshift", |b, n| b >> n)),
    ("arshift", |l, a| {
        shift(l, a, "arshift", |b, n| ((b as i32) >> n) as u32)
    }),
    ("rol", |l, a| shift(l, a, "rol", |b, n| b.rotate_left(n))),
    ("ror", |l, a| shift(l, a, "ror", |b, n| b.rotate_right(n))),
    ("bswap", |l, a| num(barg(l, a, 0, "bswap")?.swap_bytes())),
    ("tohex", |l, a| {
        let b = barg(l, a, 0, "tohex")?;
        let mut n: i32 = if a.len() < 2 {
            8
        } else {
            barg(l, a, 1, "tohex")? as i32
        };
        let digits: &[u8; 16] = if n < 0 {
            n = n.wrapping_neg();
            b"0123456789ABCDEF"
        } else {
            b"0123456789abcdef"
        };
        let n = if n > 8 { 8 } else { n.max(0) as usize };
        let mut buf = vec![0u8; n];
        let mut x = b;
        for i in (0..n).rev() {
            buf[i] = digits[(x & 15) as usize];
            x >>= 4;
        }
        Ok(Value::String(l.create_string(&buf)?))
    }),
];

pub(crate) fn register(lua: &Lua) -> mlua::Result<()> {
    let t = lua.create_table()?;
    for &(name, op) in OPS {
        let f = lua.create_function(move |lua, args: MultiValue| op(lua, &args))?;
        t.raw_set(name, f)?;
    }
    lua.globals().raw_set("bit", t)
}
