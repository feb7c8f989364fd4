//! Client-side caching's shard side (Redis's `tracking.c` table): which clients may hold which
//! keys of this shard, which BCAST prefixes clients listen to, and turning the writes the shard
//! settles into invalidations (docs/design/tracking.md).
//!
//! ```text
//!   Shard i                                         commands crate (hook, on thread i)
//!   +------------------------------------------+    +-----------------------------------+
//!   | track.keys: key -> [Reader{id, thread}]  |--->| one message per reader and key:   |
//!   | track.prefixes: prefix -> [Reader, ...]  |--->| one per reader and prefix (BCAST)  |
//!   | dbs[d].cas.tracked: keys read in db d    |    | delivered on the reader's thread  |
//!   +------------------------------------------+    +-----------------------------------+
//! ```
//! A tracked key is noticed by the same machinery as a WATCHed one (`crate::watch`): stores,
//! removals, deadline changes and expiry record it, an in-place write is found by comparing a
//! snapshot, and the shard settles after every command and concluding hop. Settling a tracked key
//! sends one invalidation to each reader and forgets them (Redis's rule: one invalidation per key
//! until read again). With a BCAST prefix registered, every key of the shard is noticed.
//!
//! Which client is running a command reaches shard code through `Ctx`, a thread-local the
//! coordinator sets while it polls a tracking client's command and that every hop it sends
//! carries (`Engine::send`, `Engine::run_on`): reads use it to remember the reader, and writes to
//! tell NOLOOP clients their own changes apart.
//!
//! Must not: know of connections, RESP or Pub/Sub (the hook does), or remember anything about a
//! client beyond its id and thread (disconnected clients are forgotten lazily, as in Redis).

use crate::shard::Shard;
use bytes::Bytes;
use std::cell::{Cell, RefCell};
use std::sync::{Arc, OnceLock};

/// A client that may cache keys: its id and the engine thread serving its connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reader {
    pub id: u64,
    pub thread: u32,
}

/// Read modes of `Ctx::mode`.
pub const READ_NONE: u8 = 0;
/// Every read-only command remembers its keys.
pub const READ_ALL: u8 = 1;
/// Only the next command (OPTIN after CLIENT CACHING YES).
pub const READ_NEXT: u8 = 2;
/// Every command but the next (OPTOUT after CLIENT CACHING NO).
pub const READ_SKIP_NEXT: u8 = 3;

/// What shard code knows of the client whose command is running.
#[derive(Clone, Default)]
pub struct Ctx {
    /// 0: none (active expiry, internal work, or a client without tracking).
    pub client: u64,
    pub thread: u32,
    /// One of the `READ_*` modes.
    pub mode: u8,
    /// The keys of a coordinator-run read command: remembered on each shard its hops reach.
    pub keys: Option<Arc<Vec<Bytes>>>,
    /// The database those keys are read in.
    pub db: usize,
}

thread_local! {
    static CTX: RefCell<Ctx> = RefCell::new(Ctx::default());
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
    static KEYS: Cell<bool> = const { Cell::new(false) };
}

/// The running command's context (a default one when no tracking client runs a command here).
pub fn current() -> Option<Ctx> {
    if !ACTIVE.with(Cell::get) {
        return None;
    }
    Some(CTX.with(|c| c.borrow().clone()))
}

/// The id of the tracking client whose command is running here, or 0.
pub fn current_client() -> u64 {
    if !ACTIVE.with(Cell::get) {
        return 0;
    }
    CTX.with(|c| c.borrow().client)
}

/// Restores the previous context when dropped.
pub struct Entered {
    prev: Option<Ctx>,
}

impl Drop for Entered {
    fn drop(&mut self) {
        match self.prev.take() {
            // Nothing to restore and nothing set: no thread-local writes (every batch of every
            // client passes here).
            None if !ACTIVE.with(Cell::get) => {}
            prev => set(prev),
        }
    }
}

/// Whether a tracking client's command is running here (one thread-local load).
#[inline]
pub fn active() -> bool {
    ACTIVE.with(Cell::get)
}

fn set(ctx: Option<Ctx>) {
    match ctx {
        Some(c) => {
            KEYS.with(|k| k.set(c.keys.is_some()));
            CTX.with(|x| *x.borrow_mut() = c);
            ACTIVE.with(|a| a.set(true));
        }
        None => {
            ACTIVE.with(|a| a.set(false));
            KEYS.with(|k| k.set(false));
            CTX.with(|x| *x.borrow_mut() = Ctx::default());
        }
    }
}

/// Makes `ctx` the running command's context until the guard drops.
pub fn enter(ctx: Option<Ctx>) -> Entered {
    let prev = current();
    if ctx.is_some() || prev.is_some() {
        set(ctx);
    }
    Entered { prev }
}

/// Changes the running command's context in place (a command that changed its client's tracking
/// state); the guard of the enclosing `enter` still restores what was there before.
pub fn replace(ctx: Option<Ctx>) {
    set(ctx);
}

/// Wraps a hop so that it runs in the sender's context (no wrapping when there is none).
pub(crate) fn carry(task: crate::engine::Task) -> crate::engine::Task {
    match current() {
        None => task,
        Some(ctx) => Box::new(move || {
            let _g = enter(Some(ctx));
            task()
        }),
    }
}

/// Whether the single-shard command about to run remembers the keys it reads (for a read-only
/// command), consuming a one-command mode. Called once per command by the dispatcher.
pub fn take_read(read_only: bool) -> Option<Reader> {
    if !ACTIVE.with(Cell::get) {
        return None;
    }
    CTX.with(|c| {
        let mut c = c.borrow_mut();
        let remember = matches!(c.mode, READ_ALL | READ_NEXT) && read_only;
        c.mode = match c.mode {
            READ_NEXT => READ_NONE,
            READ_SKIP_NEXT => READ_ALL,
            m => m,
        };
        (remember && c.client != 0).then_some(Reader {
            id: c.client,
            thread: c.thread,
        })
    })
}

/// What settling sends: one message per reader, either keys or (FLUSH) everything.
pub type Hook = fn(target: Reader, keys: Vec<Box<[u8]>>, writer: u64, bcast: bool);

static HOOK: OnceLock<Hook> = OnceLock::new();

/// Registers the delivery (once per process).
pub fn set_hook(h: Hook) {
    let _ = HOOK.set(h);
}

struct Prefix {
    prefix: Box<[u8]>,
    /// Readers and whether each is NOLOOP.
    clients: Vec<(Reader, bool)>,
    /// Keys changed since the last settlement and the client that changed each last.
    keys: Vec<(Box<[u8]>, u64)>,
}

/// Reader registrations below which the table is never swept of disconnected clients.
const SWEEP_MIN: usize = 1024;

/// A shard's tracking table.
#[derive(Default)]
pub struct TrackTable {
    keys: hashbrown::HashMap<Box<[u8]>, Vec<Reader>, foldhash::fast::FixedState>,
    prefixes: Vec<Prefix>,
    /// Reader registrations over every key.
    items: usize,
    /// Disconnected clients whose registrations may remain (removed by the next sweep).
    dead: hashbrown::HashSet<u64, foldhash::fast::FixedState>,
    /// Registrations past which the next remember sweeps out the dead (twice what a sweep left).
    sweep_at: usize,
}

impl TrackTable {
    /// Anything to notice at all (settlement is skipped otherwise).
    #[inline]
    pub fn active(&self) -> bool {
        !self.keys.is_empty() || !self.prefixes.is_empty()
    }

    /// Keys remembered for some reader (Redis's `tracking_total_keys`, this shard's part).
    pub fn keys_len(&self) -> usize {
        self.keys.len()
    }

    /// Reader registrations over every key (`tracking_total_items`, this shard's part).
    pub fn items_len(&self) -> usize {
        self.items
    }

    pub fn prefixes_len(&self) -> usize {
        self.prefixes.len()
    }
}

impl Shard {
    /// Remembers that `reader` may cache `key` (read in database `db`).
    pub fn track_remember(&mut self, db: usize, key: &[u8], reader: Reader) {
        let v = self.track.keys.entry_ref(key).or_default();
        if !v.contains(&reader) {
            v.push(reader);
            self.track.items += 1;
        }
        let tracked = &mut self.dbs[db].cas.tracked;
        if !tracked.contains(key) {
            tracked.insert(key.into());
        }
        if self.track.items > self.track.sweep_at.max(SWEEP_MIN) && !self.track.dead.is_empty() {
            self.track_sweep();
        }
    }

    /// Client `id` disconnected: its registrations go at the next sweep (or when their keys are
    /// written, whichever comes first), so the table stays within twice its live size.
    pub fn track_forget(&mut self, id: u64) {
        if self.track.keys.is_empty() {
            return;
        }
        self.track.dead.insert(id);
        if self.track.items > self.track.sweep_at.max(SWEEP_MIN)
            || self.track.dead.len() > self.track.items
        {
            self.track_sweep();
        }
    }

    /// Removes every registration of a disconnected client, and keys left with none.
    fn track_sweep(&mut self) {
        let dead = std::mem::take(&mut self.track.dead);
        let mut emptied = Vec::new();
        let mut items = 0;
        for (k, readers) in self.track.keys.iter_mut() {
            readers.retain(|r| !dead.contains(&r.id));
            items += readers.len();
            if readers.is_empty() {
                emptied.push(k.clone());
            }
        }
        for k in emptied {
            self.track.keys.remove(&k);
            for d in &mut self.dbs {
                d.cas.tracked.remove(&k);
            }
        }
        self.track.items = items;
        self.track.sweep_at = 2 * items;
    }

    /// Remembers the keys of the running coordinator-run read command that live on this shard
    /// (called when a tracking client's command leaves the shard: see `with_local_shard`).
    pub(crate) fn track_remember_ctx(&mut self) {
        let Some(ctx) = current() else { return };
        let (Some(keys), true) = (ctx.keys, ctx.client != 0) else {
            return;
        };
        let Some(n) = crate::engine::Engine::current().map(|e| e.num_shards()) else {
            return;
        };
        let reader = Reader {
            id: ctx.client,
            thread: ctx.thread,
        };
        let db = ctx.db;
        for k in keys.iter() {
            if crate::keys::shard_of(k, n) == self.id {
                self.track_remember(db, k, reader);
            }
        }
    }

    /// Replaces client `reader`'s BCAST prefixes with `prefixes` (none: it leaves BCAST).
    pub fn track_set_prefixes(&mut self, reader: Reader, prefixes: &[Bytes], noloop: bool) {
        for p in &mut self.track.prefixes {
            p.clients.retain(|(r, _)| r.id != reader.id);
        }
        for pre in prefixes {
            match self.track.prefixes.iter_mut().find(|p| *p.prefix == **pre) {
                Some(p) => p.clients.push((reader, noloop)),
                None => self.track.prefixes.push(Prefix {
                    prefix: pre.to_vec().into(),
                    clients: vec![(reader, noloop)],
                    keys: Vec::new(),
                }),
            }
        }
        self.track.prefixes.retain(|p| !p.clients.is_empty());
        let all = !self.track.prefixes.is_empty();
        for d in &mut self.dbs {
            d.cas.all = all;
        }
    }

    /// FLUSHDB / FLUSHALL: every reader is told separately (a null), so the table is emptied.
    pub fn track_flush(&mut self) {
        self.track.keys.clear();
        self.track.items = 0;
        self.track.dead.clear();
        for d in &mut self.dbs {
            d.cas.tracked.clear();
        }
    }

    /// A tracked key changed (or, with `all`, any key): its readers are told and forgotten, and
    /// it joins every matching BCAST prefix's pending keys.
    pub(crate) fn track_fire(&mut self, db: usize, key: &[u8]) {
        let writer = current_client();
        if self.dbs[db].cas.tracked.contains(key) {
            if let Some(readers) = self.track.keys.remove(key) {
                self.track.items -= readers.len();
                if let Some(h) = HOOK.get() {
                    for r in readers {
                        h(r, vec![key.into()], writer, false);
                    }
                }
            }
            for d in &mut self.dbs {
                d.cas.tracked.remove(key);
            }
        }
        for p in &mut self.track.prefixes {
            if key.starts_with(&p.prefix) {
                match p.keys.iter_mut().find(|(k, _)| **k == *key) {
                    Some(e) => e.1 = writer,
                    None => p.keys.push((key.into(), writer)),
                }
            }
        }
    }

    /// Sends each BCAST prefix's changed keys to its clients (NOLOOP clients without the keys
    /// they changed last themselves).
    pub(crate) fn track_broadcast(&mut self) {
        let Some(h) = HOOK.get() else { return };
        for p in &mut self.track.prefixes {
            if p.keys.is_empty() {
                continue;
            }
            let keys = std::mem::take(&mut p.keys);
            for (r, noloop) in &p.clients {
                let send: Vec<Box<[u8]>> = keys
                    .iter()
                    .filter(|(_, w)| !*noloop || *w != r.id)
                    .map(|(k, _)| k.clone())
                    .collect();
                if !send.is_empty() {
                    h(*r, send, 0, true);
                }
            }
        }
    }
}

/// Whether a coordinator-run read's keys wait to be remembered (one thread-local load).
#[inline]
pub(crate) fn keys_pending() -> bool {
    KEYS.with(Cell::get)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::db::Record;
    use darter_collections::{StrValue, Value};
    use std::cell::RefCell;

    /// (target id, keys, writer, bcast) of one delivered invalidation.
    type Sent = (u64, Vec<Vec<u8>>, u64, bool);

    thread_local! {
        static SENT: RefCell<Vec<Sent>> = const { RefCell::new(Vec::new()) };
    }

    fn record(target: Reader, keys: Vec<Box<[u8]>>, writer: u64, bcast: bool) {
        let keys = keys.into_iter().map(|k| k.to_vec()).collect();
        SENT.with(|s| s.borrow_mut().push((target.id, keys, writer, bcast)));
    }

    fn sent() -> Vec<Sent> {
        SENT.with(|s| std::mem::take(&mut *s.borrow_mut()))
    }

    fn shard() -> Shard {
        set_hook(record);
        sent();
        Shard::new(0, 4, Arc::new(Clock::manual()))
    }

    fn rec(v: &str) -> Record {
        Record::new(Value::Str(StrValue::from_bytes(v.as_bytes())))
    }

    const A: Reader = Reader { id: 1, thread: 0 };
    const B: Reader = Reader { id: 2, thread: 1 };

    #[test]
    fn a_write_tells_each_reader_once_until_read_again() {
        let mut s = shard();
        s.dbs[0].set(b"k", rec("v"));
        s.track_remember(0, b"k", A);
        s.track_remember(0, b"k", B);
        s.track_remember(0, b"k", A);
        assert_eq!((s.track.keys_len(), s.track.items_len()), (1, 2));
        s.dbs[0].set(b"k", rec("w"));
        s.drain_ready();
        assert_eq!(
            sent(),
            vec![
                (1, vec![b"k".to_vec()], 0, false),
                (2, vec![b"k".to_vec()], 0, false)
            ]
        );
        s.dbs[0].set(b"k", rec("x"));
        s.drain_ready();
        assert!(sent().is_empty());
        assert!(!s.track.active());
    }

    #[test]
    fn deadline_changes_and_expiry_are_noticed_and_lookups_are_not() {
        let mut s = shard();
        s.dbs[0].set(b"k", rec("v"));
        s.track_remember(0, b"k", A);
        let now = s.now_ms();
        assert!(s.dbs[0].find(b"k", now).is_some());
        s.drain_ready();
        assert!(sent().is_empty());
        assert!(s.dbs[0].set_expire(b"k", now + 10, now));
        s.drain_ready();
        assert_eq!(sent().len(), 1);
        s.track_remember(0, b"k", A);
        s.clock.advance_ms(20);
        let now = s.now_ms();
        assert!(s.dbs[0].find(b"k", now).is_none());
        s.drain_ready();
        assert_eq!(sent(), vec![(1, vec![b"k".to_vec()], 0, false)]);
    }

    #[test]
    fn the_writer_is_the_running_context() {
        let mut s = shard();
        s.track_remember(0, b"k", A);
        {
            let _g = enter(Some(Ctx {
                client: 1,
                ..Ctx::default()
            }));
            s.dbs[0].set(b"k", rec("v"));
            s.drain_ready();
        }
        assert_eq!(sent(), vec![(1, vec![b"k".to_vec()], 1, false)]);
        assert_eq!(current_client(), 0);
    }

    #[test]
    fn bcast_prefixes_collect_matching_keys_and_leave_out_noloop_writers_own() {
        let mut s = shard();
        s.track_set_prefixes(A, &[Bytes::from_static(b"u:")], false);
        s.track_set_prefixes(B, &[Bytes::from_static(b"u:"), Bytes::new()], true);
        assert_eq!(s.track.prefixes_len(), 2);
        {
            let _g = enter(Some(Ctx {
                client: 2,
                ..Ctx::default()
            }));
            s.dbs[0].set(b"u:1", rec("v"));
            s.dbs[0].set(b"other", rec("v"));
            s.drain_ready();
        }
        let mut got = sent();
        got.sort();
        assert_eq!(got, vec![(1, vec![b"u:1".to_vec()], 0, true)]);
        s.dbs[1].set(b"u:2", rec("v"));
        s.drain_ready();
        let mut got = sent();
        got.sort();
        assert_eq!(
            got,
            vec![
                (1, vec![b"u:2".to_vec()], 0, true),
                (2, vec![b"u:2".to_vec()], 0, true),
                (2, vec![b"u:2".to_vec()], 0, true)
            ]
        );
        s.track_set_prefixes(A, &[], false);
        s.track_set_prefixes(B, &[], false);
        assert_eq!(s.track.prefixes_len(), 0);
        assert!(s.dbs.iter().all(|d| !d.cas.all));
    }

    #[test]
    fn disconnected_readers_are_swept_once_the_table_doubles() {
        let mut s = shard();
        for i in 0..SWEEP_MIN {
            s.track_remember(0, format!("a{i}").as_bytes(), A);
        }
        s.track_forget(A.id);
        assert_eq!(s.track.items_len(), SWEEP_MIN);
        // The next registration past the threshold sweeps A out.
        s.track_remember(0, b"b", B);
        s.track_remember(0, b"c", B);
        assert_eq!((s.track.keys_len(), s.track.items_len()), (2, 2));
        assert!(s.dbs[0].cas.tracked.len() == 2);
        s.dbs[0].set(b"a1", rec("v"));
        s.drain_ready();
        assert!(sent().is_empty());
    }

    #[test]
    fn flush_empties_the_table() {
        let mut s = shard();
        s.track_remember(0, b"k", A);
        s.track_remember(3, b"j", B);
        s.track_flush();
        assert!(!s.track.active());
        s.dbs[0].set(b"k", rec("v"));
        s.drain_ready();
        assert!(sent().is_empty());
    }
}
