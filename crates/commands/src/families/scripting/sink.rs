//! The command layer's `CommandSink`: what `redis.call` / `redis.pcall` do inside a run.
//!
//! Each call is checked as Redis 7.0's `scriptCall` checks it (lookup, arity, `noscript`, writes
//! in read-only runs, OOM), its keys are compared with the declared ones (a run in `Keys` mode
//! abandons itself at the first undeclared key; a `Global` run records that it saw one), and then
//! it runs as an ordinary command of the connection, inside the run's held transaction, with
//! the connection's reply buffer swapped for one in the script's protocol. The command is an async
//! future; the synchronous Lua callback drives it with `darter_engine::nested::block_on`.

use super::state::Busy;
use crate::context::Conn;
use crate::dispatch::{exec_shard_fn, prepare_queued, Plan};
use crate::exec::{reaches_beyond_keys, run_commands};
use crate::families::memory;
use crate::registry::{for_each_key, registry};
use bytes::Bytes;
use darter_engine::keys::shard_of;
use darter_engine::nested::block_on;
use darter_engine::{with_local_shard, Record};
use darter_resp::{decode, Frame, Protocol, ReplyWriter};
use darter_scripting::{CommandSink, LogLevel};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

pub struct Sink<'a> {
    pub c: &'a mut Conn,
    /// The script's selected database (SELECT inside a script changes only this).
    pub db: usize,
    /// The caller's database: declared keys live there.
    pub caller_db: usize,
    pub declared: &'a [Bytes],
    /// The run holds only the declared keys' locks: an undeclared key abandons it.
    pub keys_mode: bool,
    /// EVAL_RO / FCALL_RO, or the `no-writes` flag: write commands are refused.
    pub read_only: bool,
    /// `allow-oom` (or eval compatibility mode past its first write): no OOM check per call.
    pub allow_oom: bool,
    /// A `Global` run saw a key it did not declare (or a command reaching beyond its keys).
    pub undeclared: bool,
    /// A `Keys` run met an undeclared key: it stops, is rolled back and runs again.
    pub diverged: bool,
    /// A `Keys` run without a transaction (every declared key on this thread's shard, their locks
    /// free when it started): atomic because nothing else runs on this thread while every call
    /// runs inline. A call that cannot run inline abandons the run (`left_local`).
    pub local_only: bool,
    /// A `local_only` run met a call that needs the general path: rerun with a transaction.
    pub left_local: bool,
    /// Records of keys as they were before this run's first write to each (`Keys` runs only).
    pub saved: Vec<(usize, Bytes, Option<Record>)>,
    pub logs: Vec<(LogLevel, Vec<u8>)>,
    /// Shared with SCRIPT KILL: whether the run has written.
    pub busy: Arc<Busy>,
}

impl Sink<'_> {
    fn touches_undeclared(&self, meta: &crate::meta::Meta, args: &[Bytes]) -> bool {
        let mut keys = Vec::new();
        for_each_key(meta, args, |p| keys.push(p));
        if reaches_beyond_keys(meta, keys.is_empty()) {
            return true;
        }
        keys.iter()
            .any(|&p| self.db != self.caller_db || !self.declared.iter().any(|k| *k == args[p]))
    }

    /// Keeps each key's record before the run's first write to it, so an abandoned run can be
    /// undone.
    fn save_before_write(&mut self, meta: &crate::meta::Meta, args: &[Bytes]) {
        let engine = self.c.engine().clone();
        let shards = engine.num_shards();
        let mut keys = Vec::new();
        for_each_key(meta, args, |p| keys.push(args[p].clone()));
        for key in keys {
            if self
                .saved
                .iter()
                .any(|(d, k, _)| *d == self.db && *k == key)
            {
                continue;
            }
            let db = self.db;
            let k = key.clone();
            let sid = shard_of(&key, shards);
            let rec = block_on(engine.run_on(sid, &[], move |s| {
                let now = s.now_ms();
                s.dbs[db].find_notouch(&k, now).map(|e| Record::copy_of(e))
            }))
            .unwrap_or(None);
            self.saved.push((db, key, rec));
        }
    }
}

impl Sink<'_> {
    /// The common case, without a hop: a shard command whose keys live on this thread's shard,
    /// inside the run's held transaction (which has already run on that shard, so an armed hop
    /// would run at once anyway). The undo record is taken in the same borrow of the shard.
    fn run_local(
        &mut self,
        args: &[Bytes],
        write: bool,
        proto: Protocol,
    ) -> Option<Result<Frame, Bytes>> {
        if !self.local_only {
            darter_engine::held()?;
        }
        let outer_db = std::mem::replace(&mut self.c.state.db, self.db);
        let plan = prepare_queued(self.c, args);
        self.c.state.db = outer_db;
        let Plan::Shard {
            spec, sub, f, sid, ..
        } = plan
        else {
            return None;
        };
        if !self.c.engine().is_local(sid) {
            return None;
        }
        let db = self.db;
        let save = write && self.keys_mode;
        let mut keys = Vec::new();
        if save {
            for_each_key(spec_meta(spec, sub), args, |p| {
                if !self.saved.iter().any(|(d, k, _)| *d == db && *k == args[p]) {
                    keys.push(args[p].clone());
                }
            });
        }
        let mut w = ReplyWriter::new(proto);
        let saved = &mut self.saved;
        with_local_shard(|s| {
            let now_ms = s.now_ms();
            for k in keys {
                let rec = s.dbs[db]
                    .find_notouch(&k, now_ms)
                    .map(|e| Record::copy_of(e));
                saved.push((db, k, rec));
            }
            exec_shard_fn(s, f, spec.id, sub, db, args, &mut w, Instant::now(), now_ms);
        });
        if write {
            self.busy.wrote.store(true, Ordering::Relaxed);
        }
        Some(match decode(&w.buf) {
            Ok(Some((f, _))) => Ok(f),
            _ => Ok(Frame::error("ERR the command produced no reply")),
        })
    }
}

fn spec_meta(
    spec: &crate::registry::Spec,
    sub: Option<&'static str>,
) -> &'static crate::meta::Meta {
    match sub {
        Some(_) => spec
            .subs
            .iter()
            .copied()
            .find(|m| Some(m.name) == sub)
            .unwrap_or(spec.meta),
        None => spec.meta,
    }
}

impl CommandSink for Sink<'_> {
    fn call(&mut self, args: &[Bytes], resp: u8) -> Result<Frame, Bytes> {
        const UNKNOWN: &[u8] = b"Unknown Redis command called from script";
        const ARITY: &[u8] = b"Wrong number of args calling Redis command from script";
        let reg = registry();
        let Some(spec) = reg.find(&args[0]) else {
            return Err(Bytes::from_static(UNKNOWN));
        };
        let mut meta = spec.meta;
        if spec.is_container() && args.len() >= 2 {
            match spec.sub(&args[1]) {
                Some(m) => meta = m,
                None => return Err(Bytes::from_static(UNKNOWN)),
            }
        }
        let n = args.len() as i32;
        if (meta.arity > 0 && n != meta.arity) || (meta.arity < 0 && n < -meta.arity) {
            return Err(Bytes::from_static(ARITY));
        }
        if spec.meta.has_flag("noscript") || meta.has_flag("noscript") {
            return Err(Bytes::from_static(
                b"This Redis command is not allowed from script",
            ));
        }
        let write = meta.has_flag("write");
        if write && self.read_only {
            return Err(Bytes::from_static(
                b"Write commands are not allowed from read-only scripts.",
            ));
        }
        if !self.allow_oom
            && !self.busy.wrote.load(Ordering::Relaxed)
            && meta.has_flag("denyoom")
            && memory::over_maxmemory(&self.c.server.config)
        {
            let mut e = b"-".to_vec();
            e.extend_from_slice(crate::errors::OOM.as_bytes());
            return Err(e.into());
        }
        if self.touches_undeclared(meta, args) {
            if self.keys_mode {
                self.diverged = true;
                return Err(Bytes::from_static(darter_scripting::ABORTED_ERR.as_bytes()));
            }
            self.undeclared = true;
        }
        let proto = if resp == 3 {
            Protocol::Resp3
        } else {
            Protocol::Resp2
        };
        if let Some(f) = self.run_local(args, write, proto) {
            return f;
        }
        if self.local_only {
            // Anything but an inline shard command could let other work run on this thread.
            self.left_local = true;
            return Err(Bytes::from_static(darter_scripting::ABORTED_ERR.as_bytes()));
        }
        if write && self.keys_mode {
            self.save_before_write(meta, args);
        }
        let outer_out = std::mem::replace(&mut self.c.out, ReplyWriter::new(proto));
        let outer_db = std::mem::replace(&mut self.c.state.db, self.db);
        block_on(run_commands(self.c, vec![args.to_vec()]));
        self.db = std::mem::replace(&mut self.c.state.db, outer_db);
        let out = std::mem::replace(&mut self.c.out, outer_out);
        if write {
            self.busy.wrote.store(true, Ordering::Relaxed);
        }
        match decode(&out.buf) {
            Ok(Some((f, _))) => Ok(f),
            _ => Ok(Frame::error("ERR the command produced no reply")),
        }
    }

    fn log(&mut self, level: LogLevel, msg: &[u8]) {
        self.logs.push((level, msg.to_vec()));
    }

    fn acl_check_cmd(&mut self, args: &[Bytes]) -> Result<bool, Bytes> {
        let known = args
            .first()
            .and_then(|a| registry().find(a))
            .is_some_and(|spec| {
                !spec.is_container() || args.len() < 2 || spec.sub(&args[1]).is_some()
            });
        if known {
            // darter has one user, allowed everything (no ACL rules yet).
            Ok(true)
        } else {
            Err(Bytes::from_static(
                b"Invalid command passed to redis.acl_check_cmd()",
            ))
        }
    }

    fn abort(&self) -> bool {
        self.diverged || self.left_local
    }
}
