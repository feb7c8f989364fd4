//! Redis 7.0 Functions in the engine (`functions.c`, `function_lua.c`): library metadata
//! (`#!lua name=<lib>`), loading a library body once with the load-time globals, where
//! `redis.register_function` collects the library's functions, and running a registered function
//! (FCALL) with KEYS and ARGV as the callback's arguments.
//!
//! ```text
//!   FunctionVm (one per thread, !Send; its own Lua state, as Redis keeps functions apart from EVAL)
//!    ├─ compile(code, sink) -> CompiledLibrary    metadata, compile "@user_function", run the body
//!    │                                            with globals = { redis = load API } (500 ms limit)
//!    ├─ install / remove / clear                  the libraries this VM can run
//!    └─ run_function(lib, fn, KEYS, ARGV, sink, opts) -> Frame     errors end in
//!                                            " script: <fn>, on @user_function:<line>."
//! ```
//! Which libraries exist, function-name collisions between libraries and `Library 'x' already
//! exists` are the command layer's (it keeps the process-wide store); this module checks one
//! library on its own.

use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use darter_resp::Frame;
use mlua::{Function, HookTriggers, Lua, MultiValue, Table, Value, VmState};

use crate::raise::raise_msg;
use crate::shebang::{split_args, ScriptFlags};
use crate::vm::{CommandSink, Registered, RunOptions, RunState, Runner, ScriptVm};

/// The only engine (`FUNCTION LIST` shows this name; `#!lua` matches it case-insensitively).
pub const ENGINE_NAME: &str = "LUA";

/// A library body that runs longer than this while loading fails (`FUNCTION LOAD timeout`).
const LOAD_TIMEOUT: Duration = Duration::from_millis(500);

/// Redis 7.0.15's text for a bad library name, which it also uses for a bad function name.
pub const BAD_NAME_ERR: &str = "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

/// The flag names `redis.register_function` accepts (any case), in Redis's order, which is also
/// the order FUNCTION LIST shows them in.
pub const FLAG_NAMES: [&str; 5] = [
    "no-writes",
    "allow-oom",
    "allow-stale",
    "no-cluster",
    "allow-cross-slot-keys",
];

/// The names of the flags set in `flags`, in [`FLAG_NAMES`] order.
pub fn flag_names(flags: &ScriptFlags) -> Vec<&'static str> {
    let set = [
        flags.no_writes,
        flags.allow_oom,
        flags.allow_stale,
        flags.no_cluster,
        flags.allow_cross_slot_keys,
    ];
    FLAG_NAMES
        .iter()
        .zip(set)
        .filter(|(_, on)| *on)
        .map(|(n, _)| *n)
        .collect()
}

fn set_flag(flags: &mut ScriptFlags, name: &[u8]) -> bool {
    let i = FLAG_NAMES
        .iter()
        .position(|n| n.as_bytes().eq_ignore_ascii_case(name));
    match i {
        Some(0) => flags.no_writes = true,
        Some(1) => flags.allow_oom = true,
        Some(2) => flags.allow_stale = true,
        Some(3) => flags.no_cluster = true,
        Some(4) => flags.allow_cross_slot_keys = true,
        _ => return false,
    }
    true
}

/// `functionsVerifyName`: `[a-zA-Z0-9_]+`.
pub fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_')
}

/// A library's shebang line, checked as FUNCTION LOAD checks it before running anything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LibraryMeta {
    /// The engine as written (`lua`, `LUA`, ...).
    pub engine: String,
    pub name: String,
    /// Where the compiled body starts: at the shebang's newline, so line numbers match Redis.
    pub body_start: usize,
}

/// `functionExtractLibMetaData`, the library-name check and the engine lookup, in Redis's order.
/// Errors are Redis's reply texts without the leading `-` (`ERR Missing library metadata`, ...).
pub fn parse_library_metadata(code: &[u8]) -> Result<LibraryMeta, String> {
    if !code.starts_with(b"#!") {
        return Err("ERR Missing library metadata".into());
    }
    // Redis looks for the newline with `strchr`: a NUL before it means no newline.
    let Some(end) = code.iter().position(|&b| b == b'\n' || b == 0) else {
        return Err("ERR Invalid library metadata".into());
    };
    if code[end] == 0 {
        return Err("ERR Invalid library metadata".into());
    }
    let line = String::from_utf8_lossy(&code[..end]);
    let parts = match split_args(&line) {
        Some(p) if !p.is_empty() => p,
        _ => return Err("ERR Invalid library metadata".into()),
    };
    let engine: String = parts[0].chars().skip(2).collect();
    let mut name: Option<String> = None;
    for part in &parts[1..] {
        if part.len() >= 5 && part.as_bytes()[..5].eq_ignore_ascii_case(b"name=") {
            if name.is_some() {
                return Err(
                    "ERR Invalid metadata value, name argument was given multiple times".into(),
                );
            }
            name = Some(part[5..].to_string());
            continue;
        }
        return Err(format!("ERR Invalid metadata value given: {part}"));
    }
    let Some(name) = name else {
        return Err("ERR Library name was not given".into());
    };
    if !valid_name(name.as_bytes()) {
        return Err(format!("ERR {BAD_NAME_ERR}"));
    }
    if !engine.eq_ignore_ascii_case(ENGINE_NAME) {
        return Err(format!("ERR Engine '{engine}' not found"));
    }
    Ok(LibraryMeta {
        engine,
        name,
        body_start: end,
    })
}

/// One registered function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionInfo {
    pub name: String,
    pub description: Option<Bytes>,
    /// Never `eval_compat`: a function always honours its flags.
    pub flags: ScriptFlags,
}

/// A loaded library: its name, whole code (shebang included, as FUNCTION LIST WITHCODE and
/// FUNCTION DUMP give it back) and functions in registration order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LibraryInfo {
    pub name: String,
    pub code: Bytes,
    pub functions: Vec<FunctionInfo>,
}

/// A library compiled and registered in one [`FunctionVm`] (its callbacks live in that VM's
/// Lua state), not yet installed.
pub struct CompiledLibrary {
    info: LibraryInfo,
    callbacks: Vec<Function>,
}

impl CompiledLibrary {
    pub fn info(&self) -> &LibraryInfo {
        &self.info
    }
}

/// A Lua state for functions: Redis's function engine with the libraries installed in it.
pub struct FunctionVm {
    vm: ScriptVm,
    libs: HashMap<String, CompiledLibrary>,
}

/// `luaGetStringSds`: strings and numbers (converted as Lua does), nothing else.
fn lua_string(lua: &Lua, v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Integer(_) | Value::Number(_) => lua
            .coerce_string(v.clone())
            .ok()
            .flatten()
            .map(|s| s.as_bytes().to_vec()),
        _ => None,
    }
}

/// `luaRegisterFunctionReadFlags`: the array part, read until the first nil.
fn read_flags(lua: &Lua, t: &Table) -> mlua::Result<Option<ScriptFlags>> {
    let mut flags = ScriptFlags::default();
    let mut j = 1;
    loop {
        let v: Value = t.get(j)?;
        j += 1;
        if v.is_nil() {
            return Ok(Some(flags));
        }
        match lua_string(lua, &v) {
            Some(s) if set_flag(&mut flags, &s) => {}
            _ => return Ok(None),
        }
    }
}

/// `luaRegisterFunctionReadArgs`: Redis's texts for every bad call.
fn read_register_args(
    lua: &Lua,
    args: &MultiValue,
) -> mlua::Result<Result<Registered, &'static str>> {
    if args.is_empty() || args.len() > 2 {
        return Ok(Err("wrong number of arguments to redis.register_function"));
    }
    if args.len() == 2 {
        let Some(name) = lua_string(lua, &args[0]) else {
            return Ok(Err(
                "first argument to redis.register_function must be a string",
            ));
        };
        let Value::Function(cb) = &args[1] else {
            return Ok(Err(
                "second argument to redis.register_function must be a function",
            ));
        };
        return Ok(Ok(Registered {
            name: String::from_utf8_lossy(&name).into_owned(),
            name_bytes: name,
            description: None,
            flags: ScriptFlags::default(),
            callback: cb.clone(),
        }));
    }
    let Value::Table(t) = &args[0] else {
        return Ok(Err("calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments)."));
    };
    let mut name = None;
    let mut description = None;
    let mut callback = None;
    let mut flags = ScriptFlags::default();
    for pair in t.pairs::<Value, Value>() {
        let (k, v) = pair?;
        let Some(key) = lua_string(lua, &k) else {
            return Ok(Err(
                "named argument key given to redis.register_function is not a string",
            ));
        };
        let key = key.to_ascii_lowercase();
        match key.as_slice() {
            b"function_name" => {
                match lua_string(lua, &v) {
                    Some(s) => name = Some(s),
                    None => return Ok(Err(
                        "function_name argument given to redis.register_function must be a string",
                    )),
                }
            }
            b"description" => {
                match lua_string(lua, &v) {
                    Some(s) => description = Some(Bytes::from(s)),
                    None => return Ok(Err(
                        "description argument given to redis.register_function must be a string",
                    )),
                }
            }
            b"callback" => match v {
                Value::Function(f) => callback = Some(f),
                _ => {
                    return Ok(Err(
                        "callback argument given to redis.register_function must be a function",
                    ))
                }
            },
            b"flags" => {
                let Value::Table(ft) = &v else {
                    return Ok(Err("flags argument to redis.register_function must be a table representing function flags"));
                };
                match read_flags(lua, ft)? {
                    Some(f) => flags = f,
                    None => return Ok(Err("unknown flag given")),
                }
            }
            _ => return Ok(Err("unknown argument given to redis.register_function")),
        }
    }
    let Some(name) = name else {
        return Ok(Err(
            "redis.register_function must get a function name argument",
        ));
    };
    let Some(callback) = callback else {
        return Ok(Err("redis.register_function must get a callback argument"));
    };
    Ok(Ok(Registered {
        name: String::from_utf8_lossy(&name).into_owned(),
        name_bytes: name,
        description,
        flags,
        callback,
    }))
}

/// The `redis` table a library sees while it loads (`LIBRARY_API` in function_lua.c):
/// `register_function`, `log`, the `LOG_*` levels and the version.
pub(crate) fn load_redis_table(
    lua: &Lua,
    state: &Rc<RunState>,
    log: Function,
) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    let st = state.clone();
    let register = lua.create_function(move |lua, args: MultiValue| {
        if st.loading.borrow().is_none() {
            return Err(raise_msg(
                b"redis.register_function can only be called on FUNCTION LOAD command",
            ));
        }
        let reg = match read_register_args(lua, &args)? {
            Ok(r) => r,
            Err(msg) => return Err(raise_msg(msg.as_bytes())),
        };
        if !valid_name(&reg.name_bytes) {
            return Err(raise_msg(BAD_NAME_ERR.as_bytes()));
        }
        let mut loading = st.loading.borrow_mut();
        let list = loading.get_or_insert_with(Vec::new);
        if list.iter().any(|r| r.name == reg.name) {
            return Err(raise_msg(b"Function already exists in the library"));
        }
        list.push(reg);
        Ok(())
    })?;
    t.raw_set("register_function", register)?;
    t.raw_set("log", log)?;
    for (k, v) in [
        ("LOG_DEBUG", 0),
        ("LOG_VERBOSE", 1),
        ("LOG_NOTICE", 2),
        ("LOG_WARNING", 3),
    ] {
        t.raw_set(k, v)?;
    }
    t.raw_set("REDIS_VERSION", crate::vm::REDIS_VERSION)?;
    t.raw_set("REDIS_VERSION_NUM", crate::vm::REDIS_VERSION_NUM)?;
    Ok(t)
}

/// `luaExtractErrorInformation`'s message for an error value raised while loading.
fn load_error_text(lua: &Lua, v: &Value) -> String {
    match v {
        Value::Table(t) => match t.raw_get::<Value>("err") {
            Ok(Value::String(s)) => s.to_string_lossy(),
            _ => "(null)".into(),
        },
        other => match lua_string(lua, other) {
            Some(s) => format!("ERR {}", String::from_utf8_lossy(&s)),
            None => "(null)".into(),
        },
    }
}

impl FunctionVm {
    pub fn new() -> mlua::Result<Self> {
        Ok(FunctionVm {
            vm: ScriptVm::build(true)?,
            libs: HashMap::new(),
        })
    }

    /// FUNCTION LOAD's engine part (`functionsCreateWithLibraryCtx` minus the store checks):
    /// checks the metadata, compiles the body as `@user_function`, runs it once with the
    /// load-time globals (`redis.log` goes to `sink.log`; `sink.call` is never called) and
    /// returns the library with its functions. Errors are Redis's reply texts without `-`:
    /// the metadata errors, `ERR Error compiling function: ...`, `ERR Error registering
    /// functions: ...` (including `ERR FUNCTION LOAD timeout` after 500 ms), `ERR No functions
    /// registered`. Nothing is installed.
    pub fn compile(
        &mut self,
        code: &[u8],
        sink: &mut dyn CommandSink,
    ) -> Result<CompiledLibrary, String> {
        let meta = parse_library_metadata(code)?;
        let chunk = self
            .vm
            .lua
            .load(&code[meta.body_start..])
            .set_name("@user_function")
            .into_function()
            .map_err(|e| {
                let msg = match e {
                    mlua::Error::SyntaxError { message, .. } => message,
                    other => other.to_string(),
                };
                format!("ERR Error compiling function: {msg}")
            })?;
        *self.vm.state.loading.borrow_mut() = Some(Vec::new());
        let start = Instant::now();
        self.vm.lua.set_hook(
            HookTriggers::new().every_nth_instruction(100_000),
            move |_, _| {
                if start.elapsed() > LOAD_TIMEOUT {
                    return Err(raise_msg(b"FUNCTION LOAD timeout"));
                }
                Ok(VmState::Continue)
            },
        );
        let outcome = match &self.vm.load_runner {
            Some(loader) => {
                let loader = loader.clone();
                self.vm
                    .with_sink_set(sink, |_| loader.call::<(bool, Value)>(chunk))
            }
            None => Err(mlua::Error::RuntimeError("not a function VM".into())),
        };
        self.vm.lua.remove_hook();
        let registered = self
            .vm
            .state
            .loading
            .borrow_mut()
            .take()
            .unwrap_or_default();
        match outcome {
            Ok((true, _)) => {}
            Ok((false, v)) => {
                return Err(format!(
                    "ERR Error registering functions: {}",
                    load_error_text(&self.vm.lua, &v)
                ))
            }
            Err(e) => return Err(format!("ERR Error registering functions: ERR {e}")),
        }
        if registered.is_empty() {
            return Err("ERR No functions registered".into());
        }
        let mut functions = Vec::with_capacity(registered.len());
        let mut callbacks = Vec::with_capacity(registered.len());
        for r in registered {
            functions.push(FunctionInfo {
                name: r.name,
                description: r.description,
                flags: r.flags,
            });
            callbacks.push(r.callback);
        }
        Ok(CompiledLibrary {
            info: LibraryInfo {
                name: meta.name,
                code: Bytes::copy_from_slice(code),
                functions,
            },
            callbacks,
        })
    }

    /// Makes a compiled library runnable here, replacing one of the same name (returned).
    pub fn install(&mut self, lib: CompiledLibrary) -> Option<LibraryInfo> {
        self.libs
            .insert(lib.info.name.clone(), lib)
            .map(|old| old.info)
    }

    /// Forgets a library; false if it was not installed.
    pub fn remove(&mut self, name: &str) -> bool {
        let found = self.libs.remove(name).is_some();
        if found {
            self.vm.lua.gc_collect().ok();
        }
        found
    }

    /// Forgets every library.
    pub fn clear(&mut self) {
        self.libs.clear();
        self.vm.lua.gc_collect().ok();
    }

    /// An installed library.
    pub fn library(&self, name: &str) -> Option<&LibraryInfo> {
        self.libs.get(name).map(|l| &l.info)
    }

    /// The installed libraries (in no particular order).
    pub fn libraries(&self) -> impl Iterator<Item = &LibraryInfo> {
        self.libs.values().map(|l| &l.info)
    }

    /// FCALL's engine part (`luaEngineCall`): runs `function` of `library` with KEYS and ARGV as
    /// its two arguments. `None` if this VM has no such library or function (the caller replies
    /// `ERR Function not found`). The reply (errors included) is for `opts.client_resp`; errors
    /// end in ` script: <function>, on @user_function:<line>.` (`opts.name` is ignored: the
    /// function's name is used). `redis.setresp` starts at 2; `opts.busy_check` works as for EVAL.
    pub fn run_function(
        &mut self,
        library: &str,
        function: &str,
        keys: &[Bytes],
        args: &[Bytes],
        sink: &mut dyn CommandSink,
        opts: RunOptions<'_>,
    ) -> Option<Frame> {
        let lib = self.libs.get(library)?;
        let i = lib.info.functions.iter().position(|f| f.name == function)?;
        let cb = lib.callbacks[i].clone();
        let name = lib.info.functions[i].name.clone();
        Some(
            self.vm
                .run_with(&cb, Runner::Function, &name, keys, args, sink, opts),
        )
    }
}
