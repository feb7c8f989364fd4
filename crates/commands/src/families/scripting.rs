//! Scripting family: EVAL EVALSHA EVAL_RO EVALSHA_RO and SCRIPT (LOAD EXISTS FLUSH KILL HELP),
//! over the per-thread Lua VM of `darter-scripting`.
//!
//! ```text
//!  EVAL body n k.. a..     parse numkeys, compile (SHA1 → process-wide body store + this thread's VM)
//!        │                 shebang flags: *_RO with a write-flagged script, allow-oom
//!        ▼
//!  run_script(job) ── mode = state::mode(sha)          Global (first runs, undeclared keys) | Keys
//!        │            schedule: every shard | the declared keys' locks; one hop everywhere
//!        │            run_held { Lua ── redis.call ── Sink::call ── command, inside the held tx }
//!        │            Keys run met an undeclared key → undo its writes, conclude, Global, run again
//!        ▼            conclude; learn the mode; write the reply and the run's log lines
//! ```
//!
//! docs/design/scripting.md has the design (atomicity for scripts that touch undeclared keys,
//! BUSY and SCRIPT KILL). Must not: touch shard data except through commands run by the sink and
//! the rollback hops; let a `Keys` run execute a command naming an undeclared key.

mod sink;
pub mod state;

use crate::context::Conn;
use crate::errors;
use crate::exec::LockPlan;
use crate::families::memory;
use crate::multi::conclude;
use crate::registry::{Cmd, Handler, LocalBoxFuture};
use bytes::Bytes;
use darter_engine::held;
use darter_engine::keys::shard_of;
use darter_resp::{encode_for, Frame, Protocol};
use darter_scripting::{CommandSink, Interrupt, LogLevel, RunOptions, ScriptFlags};
use sink::Sink;
use state::{Busy, Mode};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub static COMMANDS: &[Cmd] = &[
    Cmd::new("eval", Handler::Conn(cmd_eval)),
    Cmd::new("evalsha", Handler::Conn(cmd_evalsha)),
    Cmd::new("eval_ro", Handler::Conn(cmd_eval_ro)),
    Cmd::new("evalsha_ro", Handler::Conn(cmd_evalsha_ro)),
    Cmd::with_subs(
        "script",
        Handler::Conn(cmd_script),
        &["load", "exists", "flush", "kill", "help"],
    ),
];

fn cmd_eval(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(eval_generic(c, args, false, false))
}

fn cmd_evalsha(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(eval_generic(c, args, true, false))
}

fn cmd_eval_ro(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(eval_generic(c, args, false, true))
}

fn cmd_evalsha_ro(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(eval_generic(c, args, true, true))
}

/// EVAL's `numkeys` and the KEYS/ARGV split, with Redis's errors.
pub fn split_keys(args: &[Bytes]) -> Result<(Vec<Bytes>, Vec<Bytes>), &'static str> {
    let n = crate::args::parse_i64(&args[2]).ok_or(errors::NOT_INTEGER)?;
    if n > (args.len() - 3) as i64 {
        return Err(errors::NUMKEYS_TOO_MANY);
    }
    if n < 0 {
        return Err(errors::NUMKEYS_NEGATIVE);
    }
    let n = n as usize;
    Ok((args[3..3 + n].to_vec(), args[3 + n..].to_vec()))
}

/// Makes sure this thread's VM has the script (compiling it from the body or the store) and
/// returns its SHA and flags; the error is the reply.
fn load(by_sha: bool, text: &Bytes) -> Result<(String, ScriptFlags), String> {
    state::with_vm(|vm| {
        if by_sha {
            let sha = String::from_utf8_lossy(text).to_ascii_lowercase();
            if let Some(i) = vm.get(&sha) {
                return Ok((i.sha.clone(), i.flags));
            }
            if sha.len() != 40 {
                return Err(errors::NOSCRIPT.to_string());
            }
            let body = state::body(&sha).ok_or_else(|| errors::NOSCRIPT.to_string())?;
            let i = vm.load(&body)?;
            Ok((i.sha, i.flags))
        } else {
            let i = vm.load(text)?;
            state::remember_body(&i.sha, text.clone());
            Ok((i.sha, i.flags))
        }
    })
}

/// Redis 7.0's `scriptPrepareForRun` checks for a script with a shebang (compatibility-mode
/// scripts skip them): OOM unless `allow-oom`, and *_RO with a write-flagged script.
pub fn refuse_to_start(c: &Conn, flags: &ScriptFlags, ro_cmd: bool) -> Option<String> {
    if flags.eval_compat {
        return None;
    }
    if !flags.allow_oom && !flags.no_writes && memory::over_maxmemory(&c.server.config) {
        return Some(format!("-{}", errors::OOM));
    }
    if !flags.no_writes && ro_cmd {
        return Some(errors::RO_SCRIPT_WITH_WRITE_FLAG.to_string());
    }
    None
}

async fn eval_generic(c: &mut Conn, args: Vec<Bytes>, by_sha: bool, ro_cmd: bool) {
    let (keys, argv) = match split_keys(&args) {
        Ok(x) => x,
        Err(e) => return c.out.error(e),
    };
    let (sha, flags) = match load(by_sha, &args[1]) {
        Ok(x) => x,
        Err(e) => return c.out.error_bytes(e.trim_start_matches('-').as_bytes()),
    };
    if let Some(e) = refuse_to_start(c, &flags, ro_cmd) {
        return c.out.error_bytes(e.trim_start_matches('-').as_bytes());
    }
    let client_resp = resp_of(c);
    let job = Job {
        id: sha.clone(),
        name: sha.clone(),
        is_eval: true,
        keys: &keys,
        flags,
        ro_cmd,
        command: &args,
    };
    let frame = run_script(c, job, &mut |sink, busy_check| {
        state::with_vm(|vm| {
            if vm.get(&sha).is_none() {
                // SCRIPT FLUSH on another thread recreated this VM since `load`.
                if let Some(body) = state::body(&sha) {
                    let _ = vm.load(&body);
                }
            }
            vm.run(
                &sha,
                &keys,
                &argv,
                sink,
                RunOptions {
                    client_resp,
                    name: &sha,
                    busy_check: Some(busy_check),
                },
            )
            .unwrap_or_else(|| Frame::error(errors::NOSCRIPT))
        })
    })
    .await;
    write_frame(c, &frame);
}

pub fn resp_of(c: &Conn) -> u8 {
    match c.out.proto {
        Protocol::Resp3 => 3,
        Protocol::Resp2 => 2,
    }
}

pub fn write_frame(c: &mut Conn, f: &Frame) {
    let mut buf = Vec::new();
    encode_for(f, c.out.proto == Protocol::Resp3, &mut buf);
    if matches!(f, Frame::Error(_)) {
        crate::stats::record_error(&buf);
    }
    c.out.raw(&buf);
}

/// One script run to perform.
pub struct Job<'a> {
    /// The identity its learnt mode is kept under.
    pub id: String,
    /// Its name for FUNCTION STATS (the SHA for EVAL).
    pub name: String,
    pub is_eval: bool,
    pub keys: &'a [Bytes],
    pub flags: ScriptFlags,
    /// EVAL_RO / EVALSHA_RO / FCALL_RO.
    pub ro_cmd: bool,
    /// The command line (FUNCTION STATS).
    pub command: &'a [Bytes],
}

/// Runs the VM once: given the sink and the busy check, returns the reply.
pub type RunVm<'v> = dyn FnMut(&mut dyn CommandSink, &mut dyn FnMut() -> Interrupt) -> Frame + 'v;

/// Runs a script atomically (see the module docs) and returns its reply for the client.
pub async fn run_script(c: &mut Conn, job: Job<'_>, run_vm: &mut RunVm<'_>) -> Frame {
    // Inside EXEC the held transaction already holds every shard (EXEC's plan holds every shard
    // for a script) and runs on each: the script runs in it, observing nothing.
    let in_exec = held().is_some();
    let mut mode = if in_exec {
        Mode::Global
    } else {
        state::mode(&job.id)
    };
    let read_only = job.ro_cmd || (!job.flags.eval_compat && job.flags.no_writes);
    let caller_db = c.state.db;
    let threshold = Duration::from_millis(c.server.config.busy_reply_threshold_ms());
    // Whether a `Keys` run may go without a transaction (see `Sink::local_only`).
    let mut try_local = !in_exec && state::may_run_local(&job.id);
    loop {
        let local_only =
            try_local && mode == Mode::Keys && declared_keys_free_here(c, job.keys, !read_only);
        let mut tx = if in_exec || local_only {
            None
        } else {
            let n = c.engine().num_shards();
            let plan = match mode {
                Mode::Global => LockPlan::global(n),
                Mode::Keys => LockPlan::for_keys(n, caller_db, job.keys, !read_only),
            };
            plan.schedule(c).await
        };
        if let Some(tx) = tx.as_mut() {
            // Once a transaction has run a hop on a shard it stays runnable there, so the hops
            // the script waits on never depend on this thread's other tasks (`nested`).
            let _ = tx.hop_all(|_| (), false).await;
        }
        let busy = Arc::new(Busy {
            thread: darter_engine::engine::thread_index(),
            is_eval: job.is_eval,
            wrote: AtomicBool::new(false),
            kill: AtomicBool::new(false),
            name: job.name.clone(),
            command: std::sync::Mutex::new(Vec::new()),
            started: Instant::now(),
        });
        let mut sink = Sink {
            c: &mut *c,
            db: caller_db,
            caller_db,
            declared: job.keys,
            keys_mode: mode == Mode::Keys && !in_exec,
            local_only,
            left_local: false,
            read_only,
            allow_oom: !job.flags.eval_compat && job.flags.allow_oom,
            undeclared: false,
            diverged: false,
            saved: Vec::new(),
            logs: Vec::new(),
            busy: busy.clone(),
        };
        let mut guard = None;
        let mut busy_check = || {
            if guard.is_none() {
                if busy.started.elapsed() >= threshold {
                    *busy.command.lock().expect("busy command") = job.command.to_vec();
                    guard = Some(state::enter_busy(busy.clone()));
                }
                return Interrupt::Continue;
            }
            if busy.kill.load(Ordering::Relaxed) && !busy.wrote.load(Ordering::Relaxed) {
                Interrupt::Kill
            } else {
                Interrupt::Continue
            }
        };
        let frame = match tx.as_ref() {
            Some(t) => {
                t.run_held(async { run_vm(&mut sink, &mut busy_check) })
                    .await
            }
            None => run_vm(&mut sink, &mut busy_check),
        };
        drop(guard);
        let Sink {
            diverged,
            left_local,
            undeclared,
            saved,
            logs,
            ..
        } = sink;
        if left_local && !diverged {
            // Undo (no transaction: the records are on this thread's shard, restored inline)
            // and run again with a transaction; this script never tries the inline way again.
            rollback(c, saved).await;
            state::no_local(&job.id);
            try_local = false;
            continue;
        }
        if diverged {
            match tx.as_ref() {
                Some(t) => t.run_held(rollback(c, saved)).await,
                None => rollback(c, saved).await,
            }
            if let Some(mut t) = tx {
                conclude(&mut t).await;
            }
            state::learn(&job.id, Mode::Global);
            mode = Mode::Global;
            continue;
        }
        if let Some(mut t) = tx {
            conclude(&mut t).await;
        }
        if !in_exec {
            let learnt = match mode {
                Mode::Global if undeclared => Mode::Global,
                _ => Mode::Keys,
            };
            state::learn(&job.id, learnt);
        }
        emit_logs(&logs);
        return frame;
    }
}

/// True when every declared key lives on this thread's shard and no transaction holds or waits
/// for their locks (nor for the whole shard): a `Keys` run may then go without a transaction.
fn declared_keys_free_here(c: &Conn, keys: &[Bytes], exclusive: bool) -> bool {
    let engine = c.engine();
    let n = engine.num_shards();
    let Some(first) = keys.first() else {
        return false;
    };
    let sid = shard_of(first, n);
    if !engine.is_local(sid) || keys.iter().any(|k| shard_of(k, n) != sid) {
        return false;
    }
    let plan = LockPlan::for_keys(n, c.state.db, keys, exclusive);
    let locks = &plan.per_shard[0].1;
    darter_engine::with_local_shard(|s| s.locks_free(locks))
}

/// Puts back the records an abandoned `Keys` run changed (every one is a declared key this run
/// holds exclusively, so no other client has seen the changed values).
async fn rollback(c: &Conn, saved: Vec<(usize, Bytes, Option<Record>)>) {
    let engine = c.engine().clone();
    let shards = engine.num_shards();
    for (db, key, rec) in saved.into_iter().rev() {
        let sid = shard_of(&key, shards);
        let _ = engine
            .run_on(sid, &[], move |s| {
                let now = s.now_ms();
                match rec {
                    Some(r) => {
                        s.dbs[db].set(&key, r);
                    }
                    None => {
                        s.dbs[db].remove(&key, now);
                    }
                }
            })
            .await;
    }
}

use darter_engine::Record;

fn emit_logs(logs: &[(LogLevel, Vec<u8>)]) {
    for (level, msg) in logs {
        let msg = String::from_utf8_lossy(msg);
        match level {
            LogLevel::Debug => tracing::debug!(target: "script", "{msg}"),
            LogLevel::Verbose => tracing::debug!(target: "script", "{msg}"),
            LogLevel::Notice => tracing::info!(target: "script", "{msg}"),
            LogLevel::Warning => tracing::warn!(target: "script", "{msg}"),
        }
    }
}

fn cmd_script(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        let sub = args[1].to_ascii_lowercase();
        match &sub[..] {
            b"load" => match load(false, &args[2]) {
                Ok((sha, _)) => c.out.bulk(sha.as_bytes()),
                Err(e) => c.out.error_bytes(e.trim_start_matches('-').as_bytes()),
            },
            b"exists" => {
                c.out.array(args.len() - 2);
                for a in &args[2..] {
                    c.out.int(state::exists(a) as i64);
                }
            }
            b"flush" => {
                if args.len() > 3
                    || args.get(2).is_some_and(|m| {
                        !m.eq_ignore_ascii_case(b"sync") && !m.eq_ignore_ascii_case(b"async")
                    })
                {
                    return c.out.error(errors::SCRIPT_FLUSH_MODE);
                }
                state::flush();
                c.out.ok();
            }
            b"kill" => kill(c, true),
            b"help" => c.out.help(HELP),
            _ => c
                .out
                .error_bytes(&errors::unknown_subcommand(&args[1], "script")),
        }
    })
}

/// SCRIPT KILL (`is_eval`) and FUNCTION KILL: Redis 7.0's `scriptKill`.
pub fn kill(c: &mut Conn, is_eval: bool) {
    let Some(b) = state::busy() else {
        return c.out.error(errors::NOTBUSY);
    };
    if b.wrote.load(Ordering::Relaxed) {
        return c.out.error(errors::UNKILLABLE);
    }
    if is_eval && !b.is_eval {
        return c.out.error(errors::BUSY_FUNCTION);
    }
    if !is_eval && b.is_eval {
        return c.out.error(errors::BUSY_EVAL);
    }
    b.kill.store(true, Ordering::Relaxed);
    c.out.ok();
}

/// The BUSY error a command gets while a script runs past `busy-reply-threshold`.
pub fn busy_error() -> Option<&'static str> {
    if !state::any_busy() {
        return None;
    }
    Some(match state::busy() {
        Some(b) if !b.is_eval => errors::BUSY_FUNCTION,
        Some(_) => errors::BUSY_EVAL,
        None => return None,
    })
}

const HELP: &[&str] = &[
    "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
    "HELP",
    "    Print this help.",
];
