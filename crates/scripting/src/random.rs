//! `math.random` / `math.randomseed` as Redis replaces them (`redis_math_random` over
//! `redisLrand48`, a copy of lrand48), so scripts draw the same sequence Redis's do. The
//! generator's state belongs to the VM (Redis keeps one per process; neither reseeds per script).

use std::cell::Cell;
use std::rc::Rc;

use mlua::{Lua, MultiValue, Table, Value};

use crate::raise::{arg_error, lib_error};

const INITIAL: u64 = 0x1234_ABCD_330E;
const MASK48: u64 = (1 << 48) - 1;
const LRAND48_MAX: i64 = i32::MAX as i64;

fn next(state: &Cell<u64>) -> i64 {
    let x = (state.get().wrapping_mul(0x5_DEEC_E66D).wrapping_add(0xB)) & MASK48;
    state.set(x);
    (x >> 17) as i64
}

fn check_int(lua: &Lua, args: &MultiValue, i: usize) -> mlua::Result<i32> {
    let v = args.get(i);
    let n = match v {
        Some(Value::Number(n)) => Some(*n),
        Some(Value::Integer(n)) => Some(*n as f64),
        Some(s @ Value::String(_)) => lua.coerce_number(s.clone())?,
        _ => None,
    };
    match n {
        Some(n) => Ok(crate::convert::lua_number_to_i64(n) as i32),
        None => {
            let got = v.map(|v| v.type_name()).unwrap_or("no value");
            Err(arg_error(
                lua,
                i + 1,
                &format!("number expected, got {got}"),
            ))
        }
    }
}

pub(crate) fn register(lua: &Lua, math: &Table) -> mlua::Result<()> {
    let state = Rc::new(Cell::new(INITIAL));
    let st = state.clone();
    math.raw_set(
        "random",
        lua.create_function(move |lua, args: MultiValue| {
            let r = (next(&st) % LRAND48_MAX) as f64 / LRAND48_MAX as f64;
            match args.len() {
                0 => Ok(r),
                1 => {
                    let u = check_int(lua, &args, 0)?;
                    if u < 1 {
                        return Err(arg_error(lua, 1, "interval is empty"));
                    }
                    Ok((r * u as f64).floor() + 1.0)
                }
                2 => {
                    let l = check_int(lua, &args, 0)?;
                    let u = check_int(lua, &args, 1)?;
                    if l > u {
                        return Err(arg_error(lua, 2, "interval is empty"));
                    }
                    Ok((r * (u as f64 - l as f64 + 1.0)).floor() + l as f64)
                }
                _ => Err(lib_error(lua, "wrong number of arguments")),
            }
        })?,
    )?;
    math.raw_set(
        "randomseed",
        lua.create_function(move |lua, args: MultiValue| {
            let seed = check_int(lua, &args, 0)? as u32 as u64;
            state.set((seed << 16) | 0x330E);
            Ok(())
        })?,
    )
}
