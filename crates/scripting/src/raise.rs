//! Raising Lua errors with Redis's values from Rust functions. mlua raises a Rust callback's error
//! as an opaque userdata; the sandbox's error handler and its `pcall`/`xpcall` turn a [`Raise`] back
//! into the value Redis's C code would have raised (an `{err=...}` table or a plain message), so
//! scripts and replies see exactly Redis's errors.

use mlua::{Lua, Value};

use crate::convert::error_table;

#[derive(Debug)]
pub(crate) enum Raise {
    /// `luaPushError` + `luaError`: the table `{err = "CODE msg"}` built from this text.
    Msg(Vec<u8>),
    /// `luaL_error` in a C library function: a plain string (the handler prefixes `ERR `).
    Str(String),
    /// An already-built Lua value (a command's error table).
    Value(Value),
}

impl std::fmt::Display for Raise {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Raise::Msg(m) => f.write_str(&String::from_utf8_lossy(m)),
            Raise::Str(s) => f.write_str(s),
            Raise::Value(_) => f.write_str("error value"),
        }
    }
}

impl std::error::Error for Raise {}

// `Raise::Value` holds a Lua value, which is not `Send`: mlua accepts such external errors because
// this crate does not enable mlua's `send` feature (a VM never leaves its thread).
impl Raise {
    pub(crate) fn into_lua_err(self) -> mlua::Error {
        mlua::Error::external(self)
    }
}

pub(crate) fn raise_msg(msg: &[u8]) -> mlua::Error {
    Raise::Msg(msg.to_vec()).into_lua_err()
}

pub(crate) fn raise_str(msg: String) -> mlua::Error {
    Raise::Str(msg).into_lua_err()
}

fn find(e: &mlua::Error) -> Option<&Raise> {
    match e {
        mlua::Error::CallbackError { cause, .. } => find(cause),
        mlua::Error::ExternalError(x) => x.downcast_ref::<Raise>(),
        _ => None,
    }
}

/// The sandbox's view of a caught error: a [`Raise`] becomes Redis's value, anything else passes.
pub(crate) fn unwrap(lua: &Lua, v: Value) -> mlua::Result<Value> {
    let Value::Error(e) = &v else { return Ok(v) };
    Ok(match find(e) {
        Some(Raise::Msg(m)) => Value::Table(error_table(lua, m)?),
        Some(Raise::Str(s)) => Value::String(lua.create_string(s)?),
        Some(Raise::Value(v)) => v.clone(),
        None => Value::String(lua.create_string(e.to_string())?),
    })
}

/// `luaL_where(L, 1)`: `"short_src:line: "` of the Lua function calling the running C function,
/// or nothing when that caller is not a Lua function (e.g. called through `pcall`).
pub(crate) fn where_(lua: &Lua) -> String {
    match lua.inspect_stack(1) {
        Some(d) => {
            let line = d.curr_line();
            if line > 0 {
                let src = d
                    .source()
                    .short_src
                    .map(|s| s.into_owned())
                    .unwrap_or_default();
                format!("{src}:{line}: ")
            } else {
                String::new()
            }
        }
        None => String::new(),
    }
}

/// `luaL_error` from a C library function: the message with the caller's position.
pub(crate) fn lib_error(lua: &Lua, msg: &str) -> mlua::Error {
    raise_str(format!("{}{msg}", where_(lua)))
}

/// `luaL_argerror`: `bad argument #N to 'name' (extramsg)`, with the name the caller used.
pub(crate) fn arg_error(lua: &Lua, narg: usize, extramsg: &str) -> mlua::Error {
    let (name, method) = match lua.inspect_stack(0) {
        Some(d) => {
            let n = d.names();
            (
                n.name.map(|s| s.into_owned()),
                n.name_what == Some("method"),
            )
        }
        None => (None, false),
    };
    let mut narg = narg;
    if method {
        narg -= 1;
        if narg == 0 {
            let name = name.unwrap_or_else(|| "?".into());
            return lib_error(lua, &format!("calling '{name}' on bad self ({extramsg})"));
        }
    }
    let name = name.unwrap_or_else(|| "?".into());
    lib_error(
        lua,
        &format!("bad argument #{narg} to '{name}' ({extramsg})"),
    )
}
