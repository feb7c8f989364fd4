//! FUNCTION: LOAD DELETE FLUSH LIST DUMP RESTORE HELP (Redis 7.0 Functions' library
//! management), and the store FCALL reads (docs/design/functions.md).
//!
//! - The libraries are process-wide, config-like state (not shard data): one [`Store`] behind a
//!   `RwLock`, with a generation number bumped by every change.
//! - Each thread keeps its own [`FunctionVm`] (a Lua state is not `Send`); [`with_function_vm`]
//!   brings it up to the store's generation first (libraries removed or changed are dropped,
//!   missing ones compiled from their code), so a library loaded on any connection runs on all.
//! - FUNCTION LOAD compiles on the calling thread's VM (Redis's checks and errors, in its order),
//!   then commits under the write lock, re-checking name collisions there.
//! - FUNCTION DUMP / RESTORE use Redis's payload: `RDB_OPCODE_FUNCTION2` + the code as an RDB
//!   string per library, then the RDB version and CRC-64 (`function/rdb.rs`, `function/lzf.rs`).
//!
//! FCALL, FCALL_RO, FUNCTION STATS and FUNCTION KILL are the script runner's (they need its run
//! machinery): it uses [`resolve`], [`with_function_vm`], [`counts`] and [`generation`].

mod lzf;
mod rdb;

use crate::context::Conn;
use crate::errors;
use crate::registry::{Cmd, Handler, LocalBoxFuture};
use bytes::Bytes;
use darter_resp::ReplyWriter;
use darter_scripting::{
    flag_names, parse_library_metadata, CommandSink, CompiledLibrary, Frame, FunctionVm,
    LibraryInfo, LogLevel, RunOptions, ScriptFlags, ENGINE_NAME,
};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

pub static COMMANDS: &[Cmd] = &[
    Cmd::new("fcall", Handler::Conn(cmd_fcall)),
    Cmd::new("fcall_ro", Handler::Conn(cmd_fcall_ro)),
    Cmd::with_subs(
        "function",
        Handler::Conn(cmd_function),
        &[
            "load", "delete", "flush", "list", "dump", "restore", "help", "stats", "kill",
        ],
    ),
];

const FUNCTION_NOT_FOUND: &str = "ERR Function not found";
const FCALL_BAD_NUMKEYS: &str = "ERR Bad number of keys provided";
const LIBRARY_NOT_FOUND: &str = "ERR Library not found";
const CODE_MISSING: &str = "ERR Function code is missing";
const FLUSH_OPTION: &str = "ERR FUNCTION FLUSH only supports SYNC|ASYNC option";
const LIST_NAME_MISSING: &str = "ERR library name argument was not given";
const RESTORE_POLICY: &str =
    "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.";
const BAD_PAYLOAD: &str = "ERR DUMP payload version or checksum are wrong";

/// FCALL's reply for a name no library registered (`fcallCommandGeneric`).
pub const FCALL_NOT_FOUND: &str = FUNCTION_NOT_FOUND;

// ---------------------------------------------------------------------------------------------------
// The process-wide store.
// ---------------------------------------------------------------------------------------------------

/// A registered function as FCALL needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionRef {
    pub library: Arc<str>,
    /// The name as registered (FCALL matches it case-insensitively).
    pub function: Arc<str>,
    pub flags: ScriptFlags,
}

/// Every library, in load order, and the functions of all of them by lowercase name.
#[derive(Default)]
struct Store {
    libraries: Vec<Arc<LibraryInfo>>,
    functions: BTreeMap<String, FunctionRef>,
    generation: u64,
}

impl Store {
    fn position(&self, name: &str) -> Option<usize> {
        self.libraries.iter().position(|l| l.name == name)
    }

    /// The first function of `lib` whose name another library (not `except`) has registered.
    fn collision(&self, lib: &LibraryInfo, except: Option<&str>) -> Option<String> {
        lib.functions.iter().find_map(|f| {
            self.functions
                .get(&f.name.to_ascii_lowercase())
                .filter(|r| except != Some(&*r.library))
                .map(|_| f.name.clone())
        })
    }

    fn rebuild(&mut self) {
        self.functions.clear();
        for lib in &self.libraries {
            let library: Arc<str> = Arc::from(lib.name.as_str());
            for f in &lib.functions {
                // Redis's function dict keeps the first of two names equal but for case.
                self.functions
                    .entry(f.name.to_ascii_lowercase())
                    .or_insert_with(|| FunctionRef {
                        library: library.clone(),
                        function: Arc::from(f.name.as_str()),
                        flags: f.flags,
                    });
            }
        }
        self.generation += 1;
        GENERATION.store(self.generation, Ordering::Release);
    }
}

static STORE: RwLock<Store> = RwLock::new(Store {
    libraries: Vec::new(),
    functions: BTreeMap::new(),
    generation: 0,
});
/// The store's generation, readable without the lock (the per-thread sync check).
static GENERATION: AtomicU64 = AtomicU64::new(0);

fn read_store() -> std::sync::RwLockReadGuard<'static, Store> {
    STORE.read().unwrap_or_else(|e| e.into_inner())
}

fn write_store() -> std::sync::RwLockWriteGuard<'static, Store> {
    STORE.write().unwrap_or_else(|e| e.into_inner())
}

/// The function FCALL names (case-insensitively, as Redis's function dict), or `None`: then
/// FCALL replies [`FCALL_NOT_FOUND`] (`ERR Function not found`).
pub fn resolve(name: &[u8]) -> Option<FunctionRef> {
    let name = std::str::from_utf8(name).ok()?.to_ascii_lowercase();
    read_store().functions.get(&name).cloned()
}

/// `(libraries, functions)`, for FUNCTION STATS (`libraries_count`, `functions_count`).
pub fn counts() -> (usize, usize) {
    let s = read_store();
    let functions = s.libraries.iter().map(|l| l.functions.len()).sum();
    (s.libraries.len(), functions)
}

/// Bumped by every change of the libraries (LOAD, DELETE, FLUSH, RESTORE).
pub fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}

// ---------------------------------------------------------------------------------------------------
// Per-thread function VMs.
// ---------------------------------------------------------------------------------------------------

struct Local {
    generation: u64,
    vm: FunctionVm,
}

thread_local! {
    static LOCAL: RefCell<Option<Local>> = const { RefCell::new(None) };
}

/// Where `redis.log` goes while a library loads: the server log on FUNCTION LOAD / RESTORE,
/// nowhere when a thread recompiles a library it already saw loaded elsewhere.
struct LoadSink {
    log: bool,
}

impl CommandSink for LoadSink {
    fn call(&mut self, _args: &[Bytes], _resp: u8) -> Result<Frame, Bytes> {
        Err(Bytes::from_static(
            b"redis.call is not available while loading",
        ))
    }

    fn log(&mut self, level: LogLevel, msg: &[u8]) {
        if !self.log {
            return;
        }
        let msg = String::from_utf8_lossy(msg);
        match level {
            LogLevel::Warning => tracing::warn!(target: "darter::function", "{msg}"),
            LogLevel::Notice => tracing::info!(target: "darter::function", "{msg}"),
            _ => tracing::debug!(target: "darter::function", "{msg}"),
        }
    }
}

fn new_vm() -> FunctionVm {
    FunctionVm::new().expect("creating the function Lua state")
}

/// Brings this thread's VM to the store: drops libraries gone or changed, compiles missing ones.
fn sync(local: &mut Local) {
    let now = generation();
    if local.generation == now {
        return;
    }
    let (libs, generation) = {
        let s = read_store();
        (s.libraries.clone(), s.generation)
    };
    let stale: Vec<String> = local
        .vm
        .libraries()
        .filter(|have| {
            !libs
                .iter()
                .any(|l| l.name == have.name && l.code == have.code)
        })
        .map(|l| l.name.clone())
        .collect();
    for name in stale {
        local.vm.remove(&name);
    }
    for lib in &libs {
        if local.vm.library(&lib.name).is_some() {
            continue;
        }
        match local.vm.compile(&lib.code, &mut LoadSink { log: false }) {
            Ok(c) => {
                local.vm.install(c);
            }
            // Loading is deterministic but for the 500 ms limit: a library that loaded in time
            // on one thread may not on another; its functions then answer "not found" here.
            Err(e) => tracing::warn!(
                target: "darter::function",
                "library '{}' failed to load on this thread: {e}",
                lib.name
            ),
        }
    }
    local.generation = generation;
}

/// Runs `f` with this thread's function VM, synced to the current generation first. Not
/// re-entrant (FCALL and FUNCTION are `noscript`, so a running function cannot get here).
pub fn with_function_vm<R>(f: impl FnOnce(&mut FunctionVm) -> R) -> R {
    LOCAL.with(|cell| {
        let mut slot = cell.borrow_mut();
        let local = slot.get_or_insert_with(|| Local {
            generation: u64::MAX,
            vm: new_vm(),
        });
        sync(local);
        f(&mut local.vm)
    })
}

/// The VM without syncing (FUNCTION LOAD compiles in it, then installs what it committed).
fn with_local<R>(f: impl FnOnce(&mut Local) -> R) -> R {
    LOCAL.with(|cell| {
        let mut slot = cell.borrow_mut();
        let local = slot.get_or_insert_with(|| Local {
            generation: u64::MAX,
            vm: new_vm(),
        });
        f(local)
    })
}

// ---------------------------------------------------------------------------------------------------
// Operations on the store (synchronous, unit-tested).
// ---------------------------------------------------------------------------------------------------

/// FUNCTION LOAD: Redis's checks in its order (metadata, name, engine, `Library 'x' already
/// exists`, compile and run, `No functions registered`, `Function f already exists`). Returns
/// the library name.
pub fn op_load(code: &[u8], replace: bool) -> Result<String, String> {
    let meta = parse_library_metadata(code)?;
    if !replace && read_store().position(&meta.name).is_some() {
        return Err(format!("ERR Library '{}' already exists", meta.name));
    }
    with_local(|local| {
        let compiled = local.vm.compile(code, &mut LoadSink { log: true })?;
        let name = compiled.info().name.clone();
        let committed = commit_load(&compiled, replace)?;
        local.vm.install(compiled);
        // Nothing else changed since this thread last synced: it is current now.
        if local.generation.wrapping_add(1) == committed {
            local.generation = committed;
        }
        Ok(name)
    })
}

/// Adds (or replaces) a compiled library under the write lock; returns the new generation.
fn commit_load(compiled: &CompiledLibrary, replace: bool) -> Result<u64, String> {
    let info = compiled.info();
    let mut s = write_store();
    let old = s.position(&info.name);
    if old.is_some() && !replace {
        return Err(format!("ERR Library '{}' already exists", info.name));
    }
    if let Some(f) = s.collision(info, old.map(|_| info.name.as_str())) {
        return Err(format!("ERR Function {f} already exists"));
    }
    let lib = Arc::new(info.clone());
    match old {
        Some(i) => s.libraries[i] = lib,
        None => s.libraries.push(lib),
    }
    s.rebuild();
    Ok(s.generation)
}

/// FUNCTION DELETE.
pub fn op_delete(name: &[u8]) -> Result<(), &'static str> {
    let mut s = write_store();
    let i = std::str::from_utf8(name)
        .ok()
        .and_then(|n| s.position(n))
        .ok_or(LIBRARY_NOT_FOUND)?;
    s.libraries.remove(i);
    s.rebuild();
    Ok(())
}

/// FUNCTION FLUSH (SYNC and ASYNC alike: dropping the code is cheap; each thread's Lua state
/// lets go of the libraries at its next sync).
pub fn op_flush() {
    let mut s = write_store();
    s.libraries.clear();
    s.rebuild();
}

/// FUNCTION DUMP's payload.
pub fn op_dump() -> Vec<u8> {
    let s = read_store();
    let mut out = Vec::new();
    for lib in &s.libraries {
        out.push(rdb::OPCODE_FUNCTION2);
        rdb::write_string(&mut out, &lib.code);
    }
    rdb::add_footer(&mut out);
    out
}

/// FUNCTION RESTORE's policies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestorePolicy {
    Flush,
    Append,
    Replace,
}

/// FUNCTION RESTORE: verifies the footer, loads every library of the payload (as FUNCTION LOAD
/// without REPLACE, into an empty set of its own), then swaps them in (FLUSH) or joins them
/// (`Library x already exists` / `Function f already exists`; REPLACE replaces same-named
/// libraries). Nothing changes on error.
pub fn op_restore(payload: &[u8], policy: RestorePolicy) -> Result<(), String> {
    rdb::verify_footer(payload).ok_or(BAD_PAYLOAD)?;
    // Records are read from the whole payload until 10 bytes (the footer) are left, as Redis does.
    let mut r = rdb::Reader::new(payload);
    let mut libs: Vec<LibraryInfo> = Vec::new();
    with_local(|local| -> Result<(), String> {
        while r.remaining() > 10 {
            let t = r.byte().ok_or("ERR can not read data type")?;
            if t != rdb::OPCODE_FUNCTION2 && t != rdb::OPCODE_FUNCTION_PRE_GA {
                return Err("ERR given type is not a function".into());
            }
            let mut code = Vec::new();
            if t == rdb::OPCODE_FUNCTION_PRE_GA {
                // The release candidates' name, engine and description (ignored) come first;
                // 7.0.15 turns them into a shebang: `#!<engine> name=<name>\n<code>`.
                let name = r.string().ok_or("ERR Failed loading library name")?;
                let engine = r.string().ok_or("ERR Failed loading engine name")?;
                let has_desc = r
                    .any_len()
                    .ok_or("ERR Failed loading library description indicator")?;
                if has_desc != 0 {
                    r.string().ok_or("ERR Failed loading library description")?;
                }
                code.extend_from_slice(b"#!");
                code.extend_from_slice(&engine);
                code.extend_from_slice(b" name=");
                code.extend_from_slice(&name);
                code.push(b'\n');
            }
            code.extend(r.string().ok_or("ERR Failed loading library payload")?);
            let meta = parse_library_metadata(&code)?;
            if libs.iter().any(|l| l.name == meta.name) {
                return Err(format!("ERR Library '{}' already exists", meta.name));
            }
            let compiled = local.vm.compile(&code, &mut LoadSink { log: true })?;
            let info = compiled.info().clone();
            if let Some(f) = info.functions.iter().find(|f| {
                libs.iter().any(|l| {
                    l.functions
                        .iter()
                        .any(|g| g.name.eq_ignore_ascii_case(&f.name))
                })
            }) {
                return Err(format!("ERR Function {} already exists", f.name));
            }
            libs.push(info);
        }
        Ok(())
    })?;
    let mut s = write_store();
    match policy {
        RestorePolicy::Flush => {
            s.libraries = libs.into_iter().map(Arc::new).collect();
        }
        RestorePolicy::Append | RestorePolicy::Replace => {
            let replace = policy == RestorePolicy::Replace;
            if let Some(l) = libs.iter().find(|l| s.position(&l.name).is_some()) {
                if !replace {
                    return Err(format!("ERR Library {} already exists", l.name));
                }
            }
            // Functions of libraries that stay must not collide with the new ones.
            let replaced: Vec<&str> = libs.iter().map(|l| l.name.as_str()).collect();
            for lib in &libs {
                for f in &lib.functions {
                    if let Some(r) = s.functions.get(&f.name.to_ascii_lowercase()) {
                        if !replaced.contains(&&*r.library) {
                            return Err(format!("ERR Function {} already exists", f.name));
                        }
                    }
                }
            }
            for lib in libs {
                let lib = Arc::new(lib);
                match s.position(&lib.name) {
                    Some(i) => s.libraries[i] = lib,
                    None => s.libraries.push(lib),
                }
            }
        }
    }
    s.rebuild();
    Ok(())
}

/// FUNCTION LIST's selection: the libraries matching `pattern` (Redis's glob, case-insensitive).
pub fn op_list(pattern: Option<&[u8]>) -> Vec<Arc<LibraryInfo>> {
    read_store()
        .libraries
        .iter()
        .filter(|l| pattern.is_none_or(|p| crate::config::glob_match(p, l.name.as_bytes(), true)))
        .cloned()
        .collect()
}

// ---------------------------------------------------------------------------------------------------
// The command.
// ---------------------------------------------------------------------------------------------------

fn cmd_function(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        let sub = args[1].to_ascii_lowercase();
        match sub.as_slice() {
            b"load" => function_load(&mut c.out, &args),
            b"delete" => match op_delete(&args[2]) {
                Ok(()) => c.out.ok(),
                Err(e) => c.out.error(e),
            },
            b"flush" => function_flush(&mut c.out, &args),
            b"list" => function_list(&mut c.out, &args),
            b"dump" => c.out.bulk(&op_dump()),
            b"restore" => function_restore(&mut c.out, &args),
            b"help" => c.out.help(HELP),
            b"stats" => function_stats(c),
            b"kill" => crate::families::scripting::kill(c, false),
            _ => c
                .out
                .error_bytes(&errors::unknown_subcommand(&args[1], "function")),
        }
        if matches!(sub.as_slice(), b"load" | b"delete" | b"flush" | b"restore") {
            // Learnt lock modes belong to the libraries as they were.
            crate::families::scripting::state::forget_modes("f:");
        }
    })
}

/// FUNCTION STATS (Redis 7.0's `functionStatsCommand`): the running function, if any, and the
/// engine's counts. While an EVAL script is busy it answers that script's BUSY error.
fn function_stats(c: &mut Conn) {
    let running = crate::families::scripting::state::busy();
    if running.as_ref().is_some_and(|b| b.is_eval) {
        return c.out.error(errors::BUSY_EVAL);
    }
    c.out.map(2);
    c.out.bulk(b"running_script");
    match running {
        None => c.out.null(),
        Some(b) => {
            c.out.map(3);
            c.out.bulk(b"name");
            c.out.bulk(b.name.as_bytes());
            c.out.bulk(b"command");
            let command = b.command.lock().expect("busy command").clone();
            c.out.array(command.len());
            for a in &command {
                c.out.bulk(a);
            }
            c.out.bulk(b"duration_ms");
            c.out.int(b.started.elapsed().as_millis() as i64);
        }
    }
    let (libraries, functions) = counts();
    c.out.bulk(b"engines");
    c.out.map(1);
    c.out.bulk(b"LUA");
    c.out.map(2);
    c.out.bulk(b"libraries_count");
    c.out.int(libraries as i64);
    c.out.bulk(b"functions_count");
    c.out.int(functions as i64);
}

fn cmd_fcall(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(fcall(c, args, false))
}

fn cmd_fcall_ro(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(fcall(c, args, true))
}

/// FCALL / FCALL_RO (Redis 7.0's `fcallCommandGeneric`), run by the scripting family's
/// `run_script` like EVAL, under the lock mode learnt for this library's function.
async fn fcall(c: &mut Conn, args: Vec<Bytes>, ro_cmd: bool) {
    use crate::families::scripting::{refuse_to_start, resp_of, run_script, write_frame, Job};
    let Some(f) = resolve(&args[1]) else {
        return c.out.error(FCALL_NOT_FOUND);
    };
    let n = match crate::args::parse_i64(&args[2]) {
        Some(n) => n,
        None => return c.out.error(FCALL_BAD_NUMKEYS),
    };
    if n > (args.len() - 3) as i64 {
        return c.out.error(errors::NUMKEYS_TOO_MANY);
    }
    if n < 0 {
        return c.out.error(errors::NUMKEYS_NEGATIVE);
    }
    let n = n as usize;
    let keys = args[3..3 + n].to_vec();
    let argv = args[3 + n..].to_vec();
    if let Some(e) = refuse_to_start(c, &f.flags, ro_cmd) {
        return c.out.error_bytes(e.trim_start_matches('-').as_bytes());
    }
    let client_resp = resp_of(c);
    let job = Job {
        id: format!("f:{}.{}", f.library, f.function),
        name: f.function.to_string(),
        is_eval: false,
        keys: &keys,
        flags: f.flags,
        ro_cmd,
        command: &args,
    };
    let frame = run_script(c, job, &mut |sink, busy_check| {
        with_function_vm(|vm| {
            vm.run_function(
                &f.library,
                &f.function,
                &keys,
                &argv,
                sink,
                RunOptions {
                    client_resp,
                    name: &f.function,
                    busy_check: Some(busy_check),
                },
            )
            .unwrap_or_else(|| Frame::error(FCALL_NOT_FOUND))
        })
    })
    .await;
    write_frame(c, &frame);
}

/// `FUNCTION LOAD [REPLACE] <code>`: every argument before the last is an option.
fn function_load(w: &mut ReplyWriter, args: &[Bytes]) {
    let mut replace = false;
    let mut i = 2;
    while i < args.len() - 1 {
        let a = &args[i];
        i += 1;
        if a.eq_ignore_ascii_case(b"replace") {
            replace = true;
            continue;
        }
        let mut msg = b"ERR Unknown option given: ".to_vec();
        msg.extend_from_slice(crate::keyspec::c_str(a));
        return w.error_bytes(&msg);
    }
    if i >= args.len() {
        return w.error(CODE_MISSING);
    }
    match op_load(&args[i], replace) {
        Ok(name) => w.bulk(name.as_bytes()),
        Err(e) => w.error(&e),
    }
}

fn function_flush(w: &mut ReplyWriter, args: &[Bytes]) {
    if args.len() > 3 {
        return w.error(&errors::unknown_subcommand_or_args(&args[1], "function"));
    }
    if args.len() == 3
        && !args[2].eq_ignore_ascii_case(b"sync")
        && !args[2].eq_ignore_ascii_case(b"async")
    {
        return w.error(FLUSH_OPTION);
    }
    op_flush();
    w.ok();
}

fn function_restore(w: &mut ReplyWriter, args: &[Bytes]) {
    if args.len() > 4 {
        return w.error(&errors::unknown_subcommand_or_args(&args[1], "function"));
    }
    let policy = match args.get(3) {
        None => RestorePolicy::Append,
        Some(p) if p.eq_ignore_ascii_case(b"append") => RestorePolicy::Append,
        Some(p) if p.eq_ignore_ascii_case(b"replace") => RestorePolicy::Replace,
        Some(p) if p.eq_ignore_ascii_case(b"flush") => RestorePolicy::Flush,
        Some(_) => return w.error(RESTORE_POLICY),
    };
    match op_restore(&args[2], policy) {
        Ok(()) => w.ok(),
        Err(e) => w.error(&e),
    }
}

/// `FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE]`, each option at most once, in any order.
fn function_list(w: &mut ReplyWriter, args: &[Bytes]) {
    let mut with_code = false;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        if !with_code && a.eq_ignore_ascii_case(b"withcode") {
            with_code = true;
            i += 1;
            continue;
        }
        if pattern.is_none() && a.eq_ignore_ascii_case(b"libraryname") {
            if i >= args.len() - 1 {
                return w.error(LIST_NAME_MISSING);
            }
            pattern = Some(&args[i + 1]);
            i += 2;
            continue;
        }
        let mut msg = b"ERR Unknown argument ".to_vec();
        msg.extend_from_slice(crate::keyspec::c_str(a));
        return w.error_bytes(&msg);
    }
    let libs = op_list(pattern);
    w.array(libs.len());
    for lib in &libs {
        w.map(if with_code { 4 } else { 3 });
        w.bulk(b"library_name");
        w.bulk(lib.name.as_bytes());
        w.bulk(b"engine");
        w.bulk(ENGINE_NAME.as_bytes());
        w.bulk(b"functions");
        w.array(lib.functions.len());
        for f in &lib.functions {
            w.map(3);
            w.bulk(b"name");
            w.bulk(f.name.as_bytes());
            w.bulk(b"description");
            match &f.description {
                Some(d) => w.bulk(d),
                None => w.null(),
            }
            w.bulk(b"flags");
            let names = flag_names(&f.flags);
            w.set(names.len());
            for n in names {
                w.simple(n.as_bytes());
            }
        }
        if with_code {
            w.bulk(b"library_code");
            w.bulk(&lib.code);
        }
    }
}

const HELP: &[&str] = &[
    "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of failure",
    "      in case of functions name collision with another library).",
    "HELP",
    "    Prints this help.",
];

#[cfg(test)]
mod tests;
