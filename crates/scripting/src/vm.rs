//! The per-thread Lua VM: Redis 7.0's sandbox (`scriptingInit`, `luaRegisterRedisAPI`,
//! `luaSetGlobalProtections`), the script cache by SHA1, and running a script against a
//! [`CommandSink`]. It must not know how commands run, which keys live where, or how time is kept:
//! the sink and the busy-check closure are the caller's.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ptr::NonNull;
use std::rc::Rc;

use bytes::Bytes;
use darter_resp::Frame;
use mlua::{Function, HookTriggers, Lua, LuaOptions, MultiValue, StdLib, Table, Value, VmState};

use crate::convert::{error_table, frame_to_lua, lua_to_arg, lua_to_frame};
use crate::raise::raise_msg;
use crate::shebang::{parse_shebang, ScriptFlags};

/// Redis's error text for a killed script (the reply gets the usual ` script: ..., on ...` suffix).
pub const KILLED_ERR: &str = "ERR Script killed by user with SCRIPT KILL...";

/// The version the `redis` table reports (`redis.REDIS_VERSION`, `REDIS_VERSION_NUM`).
pub(crate) const REDIS_VERSION: &str = "7.0.15";
pub(crate) const REDIS_VERSION_NUM: i64 = 0x0007_000f;

/// Instructions between two busy checks (Redis's `luaMaskCountHook` period).
const HOOK_PERIOD: u32 = 100_000;

/// `redis.log` levels (`redis.LOG_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Debug = 0,
    Verbose = 1,
    Notice = 2,
    Warning = 3,
}

/// What the busy check tells a running script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interrupt {
    Continue,
    /// SCRIPT KILL: the script stops with [`KILLED_ERR`].
    Kill,
}

/// The command layer's side of a running script.
pub trait CommandSink {
    /// Runs one command for `redis.call` / `redis.pcall`, inside the script's transaction, and
    /// returns its reply rendered for protocol `resp` (2 or 3, `redis.setresp`). Errors the
    /// scripting layer raises before running the command (unknown command, wrong arity, write in a
    /// read-only script, OOM, ACL, cross-slot) are `Err(text)` with Redis's text (`"Unknown Redis
    /// command called from script"`, or `"-CODE msg"` to keep a code); a command's own error reply
    /// is `Ok(Frame::Error(..))`.
    fn call(&mut self, args: &[Bytes], resp: u8) -> Result<Frame, Bytes>;
    /// `redis.log(level, ...)`: the message, arguments joined by spaces.
    fn log(&mut self, _level: LogLevel, _msg: &[u8]) {}
    /// `redis.set_repl(flags)` with validated flags (REPL_* bits).
    fn set_repl(&mut self, _flags: i64) {}
    /// `redis.acl_check_cmd(...)`: whether the running user may run this command; `Err` is the
    /// error to raise (Redis: `"Invalid command passed to redis.acl_check_cmd()"`).
    fn acl_check_cmd(&mut self, _args: &[Bytes]) -> Result<bool, Bytes> {
        Ok(true)
    }
    /// Asked after every `call`: true ends the run at once, uncatchably (as SCRIPT KILL does),
    /// with [`ABORTED_ERR`]. The command layer uses it to abandon a run it will roll back and
    /// run again (docs/design/scripting.md, "Atomicity").
    fn abort(&self) -> bool {
        false
    }
}

/// The error an aborted run ends with (never shown to a client: the caller runs the script again).
pub const ABORTED_ERR: &str = "ERR script run abandoned by the server";

/// Per-run options.
pub struct RunOptions<'a> {
    /// The calling client's protocol (2 or 3), for the returned reply.
    pub client_resp: u8,
    /// The script's name in error messages (` script: <name>, on @user_script:1.`): the SHA1 for
    /// EVAL/EVALSHA.
    pub name: &'a str,
    /// Called every 100,000 Lua instructions (Redis's busy-reply-threshold check).
    pub busy_check: Option<&'a mut dyn FnMut() -> Interrupt>,
}

/// A loaded script.
#[derive(Clone, Debug)]
pub struct ScriptInfo {
    /// Lowercase hex SHA1 of the whole body, as `redis.sha1hex` / SCRIPT LOAD.
    pub sha: String,
    pub flags: ScriptFlags,
    pub body: Bytes,
}

type SinkPtr = NonNull<dyn CommandSink + 'static>;
type BusyPtr = NonNull<dyn FnMut() -> Interrupt + 'static>;

/// A function `redis.register_function` accepted while a library loads.
pub(crate) struct Registered {
    pub(crate) name: String,
    /// The name as given (checked against `[a-zA-Z0-9_]+` before it is kept).
    pub(crate) name_bytes: Vec<u8>,
    pub(crate) description: Option<Bytes>,
    pub(crate) flags: ScriptFlags,
    pub(crate) callback: Function,
}

/// State the Lua callbacks reach during a run.
#[derive(Default)]
pub(crate) struct RunState {
    sink: Cell<Option<SinkPtr>>,
    busy: Cell<Option<BusyPtr>>,
    resp: Cell<u8>,
    killed: Cell<bool>,
    /// `Some` while a function library loads (FUNCTION LOAD): what it registered so far.
    pub(crate) loading: RefCell<Option<Vec<Registered>>>,
}

impl RunState {
    fn with_sink<R>(&self, f: impl FnOnce(&mut dyn CommandSink) -> R) -> Option<R> {
        let p = self.sink.get()?;
        // SAFETY: `run` stores a pointer to a sink it borrows mutably for the whole run and clears
        // it before returning; callbacks run only inside that call, on this thread, and never
        // re-enter the sink (a sink call cannot call back into Lua).
        Some(f(unsafe { &mut *p.as_ptr() }))
    }
}

/// One Lua state with Redis 7.0's sandbox and a cache of compiled scripts.
pub struct ScriptVm {
    pub(crate) lua: Lua,
    runner: Function,
    scripts: HashMap<String, (ScriptInfo, Function)>,
    pub(crate) state: Rc<RunState>,
    /// Function VMs only (`crate::function`): the FCALL runner and the library loader.
    pub(crate) fn_runner: Option<Function>,
    pub(crate) load_runner: Option<Function>,
}

/// Which of the sandbox's runners a run uses.
#[derive(Clone, Copy)]
pub(crate) enum Runner {
    /// EVAL: KEYS and ARGV are globals; errors point at `@user_script`.
    Script,
    /// FCALL: KEYS and ARGV are the callback's arguments.
    Function,
}

/// `redis.sha1hex`: lowercase hex SHA1.
pub fn sha1hex(data: &[u8]) -> String {
    sha1_smol::Sha1::from(data).digest().to_string()
}

/// A command line from `redis.call`-style arguments, or Redis's error for them
/// (`luaArgsToRedisArgv`).
fn command_args(args: &MultiValue) -> Result<Vec<Bytes>, &'static [u8]> {
    if args.is_empty() {
        return Err(b"Please specify at least one argument for this redis lib call");
    }
    args.iter()
        .map(|a| {
            lua_to_arg(a).ok_or(&b"Lua redis lib command arguments must be strings or integers"[..])
        })
        .collect()
}

fn lua_err(e: impl std::fmt::Display) -> mlua::Error {
    mlua::Error::RuntimeError(e.to_string())
}

/// `lua_tonumber`: numbers, and strings that convert.
fn to_number(lua: &Lua, v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => Some(*n),
        Value::Integer(i) => Some(*i as f64),
        Value::String(_) => lua.coerce_number(v.clone()).ok().flatten(),
        _ => None,
    }
}

/// Joins redis.log's arguments as Redis does (strings and numbers; others are skipped).
fn tostring_bytes(lua: &Lua, v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Number(_) | Value::Integer(_) => lua
            .coerce_string(v.clone())
            .ok()
            .flatten()
            .map(|s| s.as_bytes().to_vec()),
        _ => None,
    }
}

impl ScriptVm {
    pub fn new() -> mlua::Result<Self> {
        Self::build(false)
    }

    /// An EVAL VM (`functions == false`) or a function VM: Redis 7.0 keeps functions in a Lua
    /// state of their own whose `redis` table lacks the EVAL-only `replicate_commands`,
    /// `breakpoint` and `debug`, with no `__redis__err__handler` global, and whose libraries load
    /// with the load-time globals (`crate::function`).
    pub(crate) fn build(functions: bool) -> mlua::Result<Self> {
        // SAFETY: `debug` is what makes this "unsafe" for mlua: the sandbox keeps it only inside
        // the error handler (as Redis does) and removes it from the globals before any script runs.
        let lua = unsafe {
            Lua::unsafe_new_with(
                StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG,
                LuaOptions::default(),
            )
        };
        let state = Rc::new(RunState::default());
        crate::random::register(&lua, &lua.globals().raw_get::<Table>("math")?)?;
        crate::bit::register(&lua)?;
        crate::cjson::register(&lua)?;
        crate::cmsgpack::register(&lua)?;
        crate::lstruct::register(&lua)?;
        let redis = Self::redis_table(&lua, &state)?;
        redis.raw_set("call", Self::call_impl(&lua, &state, true)?)?;
        redis.raw_set("pcall", Self::call_impl(&lua, &state, false)?)?;
        let load_redis = if functions {
            for k in ["replicate_commands", "breakpoint", "debug"] {
                redis.raw_set(k, Value::Nil)?;
            }
            Value::Table(crate::function::load_redis_table(
                &lua,
                &state,
                redis.raw_get::<Function>("log")?,
            )?)
        } else {
            Value::Nil
        };
        lua.globals().raw_set("redis", redis)?;
        let unwrap = lua.create_function(|lua, v: Value| crate::raise::unwrap(lua, v))?;
        let st = state.clone();
        let killed = lua.create_function(move |_, ()| Ok(st.killed.get()))?;
        let (runner, fn_runner, load_runner): (Function, Option<Function>, Option<Function>) = lua
            .load(include_str!("lua/sandbox.lua"))
            .set_name("=darter")
            .call((unwrap, killed, functions, load_redis))?;
        Ok(ScriptVm {
            lua,
            runner,
            scripts: HashMap::new(),
            state,
            fn_runner,
            load_runner,
        })
    }

    /// `redis.call` (`raise`: errors are raised) and `redis.pcall` (errors are returned), as
    /// Redis's `luaRedisGenericCommand`.
    fn call_impl(lua: &Lua, state: &Rc<RunState>, raise: bool) -> mlua::Result<Function> {
        let st = state.clone();
        lua.create_function(move |lua, args: MultiValue| {
            let fail = |lua: &Lua, msg: &[u8]| -> mlua::Result<Value> {
                if raise {
                    Err(raise_msg(msg))
                } else {
                    Ok(Value::Table(error_table(lua, msg)?))
                }
            };
            let argv = match command_args(&args) {
                Ok(a) => a,
                Err(msg) => return fail(lua, msg),
            };
            let resp = st.resp.get();
            let reply = st.with_sink(|s| s.call(&argv, resp));
            if st.with_sink(|s| s.abort()) == Some(true) {
                st.killed.set(true);
                return Err(raise_msg(ABORTED_ERR.as_bytes()));
            }
            match reply {
                None => Err(lua_err("redis.call outside a script run")),
                Some(Err(text)) => fail(lua, &text),
                Some(Ok(frame)) => {
                    let v = frame_to_lua(lua, &frame, resp)?;
                    match (&frame, raise) {
                        (Frame::Error(_), true) => {
                            Err(crate::raise::Raise::Value(v).into_lua_err())
                        }
                        _ => Ok(v),
                    }
                }
            }
        })
    }

    fn redis_table(lua: &Lua, state: &Rc<RunState>) -> mlua::Result<Table> {
        let r = lua.create_table()?;
        let raise = |_: &Lua, msg: &[u8]| -> mlua::Result<Value> { Err(raise_msg(msg)) };
        let reg = |name: &str, f: Function| -> mlua::Result<()> { r.raw_set(name, f) };

        reg(
            "sha1hex",
            lua.create_function(move |lua, args: MultiValue| {
                if args.len() != 1 {
                    return raise(lua, b"wrong number of arguments");
                }
                let data = tostring_bytes(lua, &args[0]).unwrap_or_default();
                Ok(Value::String(lua.create_string(sha1hex(&data))?))
            })?,
        )?;
        // error_reply / status_reply build the reply tables directly.
        // error_reply / status_reply return (not raise) Redis's error table on bad arguments.
        reg(
            "error_reply",
            lua.create_function(move |lua, args: MultiValue| {
                let msg = match args.front() {
                    Some(Value::String(s)) if args.len() == 1 => s.as_bytes().to_vec(),
                    _ => {
                        return Ok(Value::Table(error_table(
                            lua,
                            b"wrong number or type of arguments",
                        )?))
                    }
                };
                let mut text = msg.clone();
                if !text.starts_with(b"-") {
                    text.insert(0, b'-');
                }
                Ok(Value::Table(error_table(lua, &text)?))
            })?,
        )?;
        reg(
            "status_reply",
            lua.create_function(move |lua, args: MultiValue| match args.front() {
                Some(Value::String(s)) if args.len() == 1 => {
                    let t = lua.create_table()?;
                    t.raw_set("ok", s.clone())?;
                    Ok(Value::Table(t))
                }
                _ => Ok(Value::Table(error_table(
                    lua,
                    b"wrong number or type of arguments",
                )?)),
            })?,
        )?;
        let st = state.clone();
        reg(
            "log",
            lua.create_function(move |lua, args: MultiValue| {
                if args.len() < 2 {
                    return raise(lua, b"redis.log() requires two arguments or more.");
                }
                let level = match to_number(lua, &args[0]) {
                    Some(n) => n as i64,
                    None => return raise(lua, b"First argument must be a number (log level)."),
                };
                let level = match level {
                    0 => LogLevel::Debug,
                    1 => LogLevel::Verbose,
                    2 => LogLevel::Notice,
                    3 => LogLevel::Warning,
                    _ => return raise(lua, b"Invalid debug level."),
                };
                let mut msg = Vec::new();
                for (j, a) in args.iter().skip(1).enumerate() {
                    if let Some(s) = tostring_bytes(lua, a) {
                        if j > 0 {
                            msg.push(b' ');
                        }
                        msg.extend_from_slice(&s);
                    }
                }
                st.with_sink(|s| s.log(level, &msg));
                Ok(Value::Nil)
            })?,
        )?;
        let st = state.clone();
        reg(
            "setresp",
            lua.create_function(move |lua, args: MultiValue| {
                if args.len() != 1 {
                    return raise(lua, b"redis.setresp() requires one argument.");
                }
                let v = to_number(lua, &args[0]).unwrap_or(0.0) as i64;
                if v != 2 && v != 3 {
                    return raise(lua, b"RESP version must be 2 or 3.");
                }
                st.resp.set(v as u8);
                Ok(Value::Nil)
            })?,
        )?;
        let st = state.clone();
        reg(
            "set_repl",
            lua.create_function(move |lua, args: MultiValue| {
                if args.len() != 1 {
                // Redis 7.0's text says "two".
                    return raise(lua, b"redis.set_repl() requires two arguments.");
                }
                let v = to_number(lua, &args[0]).unwrap_or(0.0) as i64;
                if v & !3 != 0 {
                    return raise(
                        lua,
                        b"Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
                    );
                }
                st.with_sink(|s| s.set_repl(v));
                Ok(Value::Nil)
            })?,
        )?;
        reg(
            "replicate_commands",
            lua.create_function(|_, _: MultiValue| Ok(true))?,
        )?;
        reg(
            "breakpoint",
            lua.create_function(|_, _: MultiValue| Ok(false))?,
        )?;
        reg(
            "debug",
            lua.create_function(|_, _: MultiValue| Ok(Value::Nil))?,
        )?;
        let st = state.clone();
        reg(
            "acl_check_cmd",
            lua.create_function(move |lua, args: MultiValue| {
                let argv = match command_args(&args) {
                    Ok(a) => a,
                    Err(msg) => return raise(lua, msg),
                };
                match st.with_sink(|s| s.acl_check_cmd(&argv)) {
                    Some(Ok(ok)) => Ok(Value::Boolean(ok)),
                    Some(Err(e)) => raise(lua, &e),
                    None => Err(lua_err("redis.acl_check_cmd outside a script run")),
                }
            })?,
        )?;
        for (k, v) in [
            ("LOG_DEBUG", 0),
            ("LOG_VERBOSE", 1),
            ("LOG_NOTICE", 2),
            ("LOG_WARNING", 3),
        ] {
            r.raw_set(k, v)?;
        }
        for (k, v) in [
            ("REPL_NONE", 0),
            ("REPL_AOF", 1),
            ("REPL_SLAVE", 2),
            ("REPL_REPLICA", 2),
            ("REPL_ALL", 3),
        ] {
            r.raw_set(k, v)?;
        }
        r.raw_set("REDIS_VERSION", REDIS_VERSION)?;
        r.raw_set("REDIS_VERSION_NUM", REDIS_VERSION_NUM)?;
        Ok(r)
    }

    /// SCRIPT LOAD / the first EVAL of a body: parses the shebang and compiles the body (once per
    /// SHA). The error is Redis's reply text without the leading `-`.
    pub fn load(&mut self, body: &[u8]) -> Result<ScriptInfo, String> {
        let sha = sha1hex(body);
        if let Some((info, _)) = self.scripts.get(&sha) {
            return Ok(info.clone());
        }
        let (flags, shebang_len) = parse_shebang(body)?;
        let f = self
            .lua
            .load(&body[shebang_len..])
            .set_name("@user_script")
            .into_function()
            .map_err(|e| {
                let msg = match e {
                    mlua::Error::SyntaxError { message, .. } => message,
                    other => other.to_string(),
                };
                format!("ERR Error compiling script (new function): {msg}")
            })?;
        let info = ScriptInfo {
            sha: sha.clone(),
            flags,
            body: Bytes::copy_from_slice(body),
        };
        self.scripts.insert(sha, (info.clone(), f));
        Ok(info)
    }

    /// The loaded script with this SHA1 (lowercase or not, as SCRIPT EXISTS / EVALSHA accept).
    pub fn get(&self, sha: &str) -> Option<&ScriptInfo> {
        self.scripts.get(&sha.to_ascii_lowercase()).map(|(i, _)| i)
    }

    /// SCRIPT FLUSH: forgets every script.
    pub fn flush(&mut self) {
        self.scripts.clear();
        self.lua.gc_collect().ok();
    }

    /// Runs a loaded script; `None` if no script has this SHA (NOSCRIPT is the caller's reply).
    /// The reply (errors included) is for a client speaking `opts.client_resp`.
    pub fn run(
        &mut self,
        sha: &str,
        keys: &[Bytes],
        argv: &[Bytes],
        sink: &mut dyn CommandSink,
        opts: RunOptions<'_>,
    ) -> Option<Frame> {
        let f = self.scripts.get(&sha.to_ascii_lowercase())?.1.clone();
        let name = opts.name;
        Some(self.run_with(&f, Runner::Script, name, keys, argv, sink, opts))
    }

    /// Calls `f` with `sink` reachable from the Lua callbacks (`redis.log` while a library
    /// loads), cleared before returning.
    pub(crate) fn with_sink_set<R>(
        &self,
        sink: &mut dyn CommandSink,
        f: impl FnOnce(&Self) -> R,
    ) -> R {
        let sink_ptr: NonNull<dyn CommandSink + '_> = NonNull::from(sink);
        // SAFETY: only the lifetime is erased; the pointer is cleared by `_guard` before this
        // returns, so no callback can use it after the borrow ends.
        let sink_ptr: SinkPtr = unsafe { std::mem::transmute(sink_ptr) };
        self.state.sink.set(Some(sink_ptr));
        struct Guard<'a>(&'a RunState);
        impl Drop for Guard<'_> {
            fn drop(&mut self) {
                self.0.sink.set(None);
            }
        }
        let _guard = Guard(&self.state);
        f(self)
    }

    /// Runs `f` with one of the sandbox's runners (the body of `run`, shared with FCALL);
    /// `name` is the script's name in error replies.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn run_with(
        &mut self,
        f: &Function,
        runner: Runner,
        name: &str,
        keys: &[Bytes],
        argv: &[Bytes],
        sink: &mut dyn CommandSink,
        opts: RunOptions<'_>,
    ) -> Frame {
        let state = self.state.clone();
        let sink_ptr: NonNull<dyn CommandSink + '_> = NonNull::from(sink);
        // SAFETY: only the lifetime is erased; the pointer is cleared by `_guard` before `run`
        // returns, so no callback can use it after the borrow ends.
        let sink_ptr: SinkPtr = unsafe { std::mem::transmute(sink_ptr) };
        state.sink.set(Some(sink_ptr));
        if let Some(b) = opts.busy_check {
            let p: NonNull<dyn FnMut() -> Interrupt + '_> = NonNull::from(b);
            // SAFETY: as for the sink: cleared before `run` returns.
            let p: BusyPtr = unsafe { std::mem::transmute(p) };
            state.busy.set(Some(p));
        }
        state.resp.set(2);
        state.killed.set(false);
        struct Guard(Rc<RunState>);
        impl Drop for Guard {
            fn drop(&mut self) {
                self.0.sink.set(None);
                self.0.busy.set(None);
            }
        }
        let _guard = Guard(state.clone());

        if state.busy.get().is_some() {
            let st = state.clone();
            self.lua.set_hook(
                HookTriggers::new().every_nth_instruction(HOOK_PERIOD),
                move |_, _| {
                    if st.killed.get() {
                        return Err(raise_msg(KILLED_ERR.as_bytes()));
                    }
                    let Some(p) = st.busy.get() else {
                        return Ok(VmState::Continue);
                    };
                    // SAFETY: see `run`: the closure outlives the run, and the hook only fires inside it.
                    let action = unsafe { (*p.as_ptr())() };
                    if action == Interrupt::Kill {
                        st.killed.set(true);
                        return Err(raise_msg(KILLED_ERR.as_bytes()));
                    }
                    Ok(VmState::Continue)
                },
            );
        }
        let result = self.call_script(f, runner, keys, argv, name, opts.client_resp);
        if state.busy.get().is_some() {
            self.lua.remove_hook();
        }
        result
    }

    fn call_script(
        &self,
        f: &Function,
        runner: Runner,
        keys: &[Bytes],
        argv: &[Bytes],
        name: &str,
        resp: u8,
    ) -> Frame {
        let build = |items: &[Bytes]| -> mlua::Result<Table> {
            let t = self.lua.create_table_with_capacity(items.len(), 0)?;
            for (i, it) in items.iter().enumerate() {
                t.raw_set(i + 1, self.lua.create_string(it)?)?;
            }
            Ok(t)
        };
        let outcome = (|| -> mlua::Result<(bool, Value)> {
            let k = build(keys)?;
            let a = build(argv)?;
            let runner = match runner {
                Runner::Script => &self.runner,
                Runner::Function => self.fn_runner.as_ref().unwrap_or(&self.runner),
            };
            runner.call::<(bool, Value)>((f.clone(), k, a))
        })();
        match outcome {
            Ok((true, v)) => lua_to_frame(&v, resp, self.state.resp.get()),
            Ok((false, Value::Table(t))) => self.error_reply(&t, name),
            Ok((false, other)) => {
                let msg = self.lua.coerce_string(other).ok().flatten();
                let msg = msg
                    .map(|s| s.to_string_lossy())
                    .unwrap_or_else(|| "execution failure".into());
                Frame::Error(Bytes::from(format!(
                    "ERR Error running script {name}, {msg:.100}"
                )))
            }
            Err(e) => Frame::Error(Bytes::from(format!(
                "ERR Error running script {name}, {e:.100}"
            ))),
        }
    }

    /// `luaCallFunction`'s error path: `msg script: NAME, on SOURCE:LINE.`
    fn error_reply(&self, t: &Table, name: &str) -> Frame {
        let mut out: Vec<u8> = if self.state.killed.get() {
            KILLED_ERR.as_bytes().to_vec()
        } else {
            match t.raw_get::<Value>("err") {
                Ok(Value::String(s)) => s.as_bytes().to_vec(),
                _ => b"(null)".to_vec(),
            }
        };
        let source = t.raw_get::<Option<mlua::String>>("source").ok().flatten();
        let line = t.raw_get::<Option<i64>>("line").ok().flatten();
        if let (Some(src), Some(line)) = (source, line) {
            out.extend_from_slice(format!(" script: {name}, on ").as_bytes());
            out.extend_from_slice(&src.as_bytes());
            out.extend_from_slice(format!(":{line}.").as_bytes());
        }
        for c in out.iter_mut() {
            if *c == b'\r' || *c == b'\n' {
                *c = b' ';
            }
        }
        Frame::Error(Bytes::from(out))
    }
}
