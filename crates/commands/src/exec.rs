//! Running a list of whole commands atomically (EXEC; later scripts): one VLL transaction covering
//! every key the commands name, or every shard when some command reaches beyond the keys its key
//! specs name, and then every command inside it, in order.
//!
//! ```text
//!  plan_locks(cmds)  -> per shard: the intent locks of every key of every command (write -> X)
//!                       or global (all shards, no OOO) when a command's keys can't be known
//!  Transaction::schedule
//!  first hop (holder's checks, e.g. WATCH)   — the transaction now runs on every shard
//!  run_held(tx, run_commands)                — each command as usual, but:
//!      shard commands: consecutive ones for one shard in one hop of the held transaction
//!      coordinator commands: their own Transaction::schedule / Engine::run_on reuse the held one
//!  conclude                                   — locks released, blocked clients served, watchers told
//! ```
//!
//! Commands inside never take locks of their own and never wait for locks their holder has; no
//! other client observes a state between two of them. Must not: know anything of MULTI's queueing
//! or WATCH (families/transaction.rs); run a command whose keys the plan did not lock.

use crate::context::Conn;
use crate::dispatch::{exec_shard_fn, prepare_queued, CatchPanic, Plan};
use crate::registry::{for_each_key, registry};
use crate::stats;
use bytes::Bytes;
use darter_engine::keys::{key_fp, key_hash};
use darter_engine::{LockReq, ShardId, Transaction};
use darter_resp::ReplyWriter;
use std::time::Instant;

/// Commands whose effects reach beyond the keys their key specs name (other databases, the
/// whole keyspace, keys computed from values): a transaction containing one holds every shard.
/// Keyless commands of the keyspace, read or write ACL categories (FLUSHALL, KEYS, DBSIZE, ...)
/// count too; other keyless commands (PING, ECHO, CLIENT, PUBLISH, INFO...) lock nothing.
/// Scripts count: they may touch keys they did not declare (docs/design/scripting.md).
pub(crate) fn reaches_beyond_keys(meta: &crate::meta::Meta, keyless: bool) -> bool {
    matches!(
        meta.name,
        "select"
            | "swapdb"
            | "move"
            | "copy"
            | "sort"
            | "sort_ro"
            | "debug"
            | "eval"
            | "evalsha"
            | "eval_ro"
            | "evalsha_ro"
            | "fcall"
            | "fcall_ro"
    ) || (keyless
        && meta
            .acl
            .iter()
            .any(|a| matches!(*a, "@keyspace" | "@read" | "@write")))
}

/// The locks a transaction running `cmds` (in database `db`) must hold, plus `extra` keys
/// (database, key) read-locked (WATCH's). `global` when every shard must be held.
#[derive(Debug, Default)]
pub struct LockPlan {
    pub per_shard: Vec<(ShardId, Vec<LockReq>)>,
    pub global: bool,
}

impl LockPlan {
    pub fn new<'a>(
        shards: usize,
        db: usize,
        cmds: &[Vec<Bytes>],
        extra: impl IntoIterator<Item = (usize, &'a [u8])>,
    ) -> LockPlan {
        let mut plan = LockPlan::default();
        let reg = registry();
        for args in cmds {
            let Some(spec) = reg.find(&args[0]) else {
                continue;
            };
            let meta = if spec.is_container() {
                match args.get(1).and_then(|a| spec.sub(a)) {
                    Some(m) => m,
                    None => continue,
                }
            } else {
                spec.meta
            };
            let mut any = false;
            for_each_key(meta, args, |p| {
                any = true;
                plan.add(shards, db, &args[p], spec.write);
            });
            if reaches_beyond_keys(spec.meta, !any) || reaches_beyond_keys(meta, !any) {
                plan.global = true;
            }
        }
        for (db, key) in extra {
            plan.add(shards, db, key, false);
        }
        if plan.global {
            plan.per_shard = (0..shards).map(|s| (s, Vec::new())).collect();
        }
        plan
    }

    /// Every shard, exclusively (a script that may touch any key).
    pub fn global(shards: usize) -> LockPlan {
        LockPlan {
            per_shard: (0..shards).map(|s| (s, Vec::new())).collect(),
            global: true,
        }
    }

    /// Locks on `keys` of database `db` (a script's declared keys).
    pub fn for_keys(shards: usize, db: usize, keys: &[Bytes], exclusive: bool) -> LockPlan {
        let mut plan = LockPlan::default();
        for k in keys {
            plan.add(shards, db, k, exclusive);
        }
        plan
    }

    fn add(&mut self, shards: usize, db: usize, key: &[u8], exclusive: bool) {
        let kh = key_hash(key, shards);
        let lock = LockReq {
            fp: key_fp(kh.full, db),
            exclusive,
        };
        match self.per_shard.binary_search_by_key(&kh.shard, |(s, _)| *s) {
            Ok(i) => self.per_shard[i].1.push(lock),
            Err(i) => self.per_shard.insert(i, (kh.shard, vec![lock])),
        }
    }

    /// Schedules the transaction (None when there is nothing to lock).
    pub async fn schedule(self, c: &Conn) -> Option<Transaction> {
        if self.per_shard.is_empty() {
            return None;
        }
        Some(Transaction::schedule(c.engine(), self.per_shard, self.global).await)
    }
}

/// Runs `cmds` in order inside `tx` (which the caller has scheduled, covering their locks, and
/// concludes afterwards), appending each reply to `c.out`. Without a transaction (the plan locked
/// nothing: PING, ECHO, PUBLISH...) they simply run in order.
pub async fn run_held(c: &mut Conn, tx: Option<&Transaction>, cmds: Vec<Vec<Bytes>>) {
    match tx {
        Some(tx) => tx.run_held(run_commands(c, cmds)).await,
        None => run_commands(c, cmds).await,
    }
}

pub(crate) async fn run_commands(c: &mut Conn, cmds: Vec<Vec<Bytes>>) {
    let mut it = cmds.into_iter().peekable();
    while let Some(args) = it.next() {
        match prepare_queued(c, &args) {
            Plan::Reject { msg, spec } => {
                c.out.error_bytes(&msg);
                stats::record_error(&msg);
                if let Some((id, sub)) = spec {
                    stats::record_rejected(id, sub);
                }
            }
            Plan::Shard {
                spec, sub, f, sid, ..
            } => {
                // Consecutive commands for one shard share a hop (SELECT, which changes what
                // `prepare` decides, is a coordinator command and ends a run).
                let mut group = vec![(f, spec.id, sub, args)];
                while let Some(next) = it.peek() {
                    match prepare_queued(c, next) {
                        Plan::Shard {
                            spec: s2,
                            sub: sub2,
                            f: f2,
                            sid: sid2,
                            ..
                        } if sid2 == sid => {
                            let a = it.next().expect("peeked");
                            group.push((f2, s2.id, sub2, a));
                        }
                        _ => break,
                    }
                }
                let proto = c.out.proto;
                let db = c.state.db;
                let n = group.len();
                let r = c
                    .engine()
                    .clone()
                    .run_on(sid, &[], move |s| {
                        let mut w = ReplyWriter::new(proto);
                        let now_ms = s.now_ms();
                        let mut clock = Instant::now();
                        for (f, id, sub, args) in group {
                            clock = exec_shard_fn(s, f, id, sub, db, &args, &mut w, clock, now_ms);
                        }
                        w.buf
                    })
                    .await;
                match r {
                    Ok(buf) => c.out.raw(&buf),
                    Err(p) => {
                        for _ in 0..n {
                            c.out
                                .error(&format!("ERR internal error in command: {}", p.0));
                        }
                    }
                }
            }
            Plan::Coord { spec, sub, f } => {
                let start = c.out.len();
                let t0 = Instant::now();
                if let Err(p) = (CatchPanic { inner: f(c, args) }).await {
                    c.out.buf.truncate(start);
                    c.out.error(&format!("ERR internal error in command: {p}"));
                }
                let failed = c.out.buf.get(start) == Some(&b'-');
                if failed {
                    stats::record_error(&c.out.buf[start..]);
                }
                stats::record_call(spec.id, sub, t0.elapsed().as_micros() as u64, failed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LockPlan;
    use bytes::Bytes;
    use darter_engine::keys::shard_of;

    fn cmd(s: &str) -> Vec<Bytes> {
        s.split(' ').map(|a| Bytes::from(a.to_string())).collect()
    }

    fn plan(cmds: &[&str]) -> LockPlan {
        let cmds: Vec<Vec<Bytes>> = cmds.iter().map(|c| cmd(c)).collect();
        LockPlan::new(3, 0, &cmds, std::iter::empty())
    }

    #[test]
    fn keyed_commands_lock_their_keys_on_their_shards() {
        let p = plan(&["SET a 1", "MGET a b c", "DECRBY b 1"]);
        assert!(!p.global);
        let mut want: Vec<usize> = ["a", "b", "c"]
            .iter()
            .map(|k| shard_of(k.as_bytes(), 3))
            .collect();
        want.sort_unstable();
        want.dedup();
        let got: Vec<usize> = p.per_shard.iter().map(|(s, _)| *s).collect();
        assert_eq!(got, want);
        let locks: usize = p.per_shard.iter().map(|(_, l)| l.len()).sum();
        assert_eq!(locks, 5);
        // SET and DECRBY lock exclusively, MGET shared.
        let excl = p
            .per_shard
            .iter()
            .flat_map(|(_, l)| l)
            .filter(|l| l.exclusive)
            .count();
        assert_eq!(excl, 2);
    }

    #[test]
    fn keyless_commands_of_the_keyspace_and_cross_database_commands_hold_every_shard() {
        for c in [
            "FLUSHALL",
            "DBSIZE",
            "KEYS *",
            "SELECT 1",
            "SWAPDB 0 1",
            "MOVE k 1",
            "SORT k BY x",
        ] {
            let p = plan(&["SET a 1", c]);
            assert!(p.global, "{c}");
            assert_eq!(p.per_shard.len(), 3, "{c}");
        }
    }

    #[test]
    fn keyless_commands_that_touch_no_data_lock_nothing() {
        let p = plan(&["PING", "ECHO x", "PUBLISH ch m"]);
        assert!(!p.global);
        assert!(p.per_shard.is_empty());
    }

    #[test]
    fn watched_keys_are_read_locked_in_their_database() {
        let cmds = vec![cmd("PING")];
        let p = LockPlan::new(3, 0, &cmds, [(2usize, &b"w"[..])]);
        assert_eq!(p.per_shard.len(), 1);
        assert_eq!(p.per_shard[0].0, shard_of(b"w", 3));
        assert!(!p.per_shard[0].1[0].exclusive);
    }
}
