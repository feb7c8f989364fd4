//! The per-thread pub/sub registry: who on this thread listens to what, a replica of which
//! threads listen to what, and delivery into subscribers' mailboxes (docs/design/pubsub.md).
//!
//! ```text
//!   thread t                                   every thread u (replica, kept by messages)
//!   +-------------------------------------+    +----------------------------------+
//!   | topics[kind]: name -> Topic         |    | dir[kind]: name -> ThreadSet     |
//!   |   subs: [Rc<ClientInfo>, ...]       |--->|   bit t set while t has a Topic  |
//!   |   ready: announced to every thread? |    |   for that name                  |
//!   +-------------------------------------+    +----------------------------------+
//! ```
//! A publisher reads its own thread's `dir` (no lock, no hop) to find the threads with
//! subscribers of the channel or of a matching pattern, delivers locally inline and sends one
//! hop to each other such thread. A thread announces a name to every thread when it gets its first
//! local subscriber of it (and the subscriber's reply waits for every acknowledgement) and retracts
//! it when the last one leaves (no wait: a stale bit costs one hop that finds nobody).
//!
//! Must not: touch shard data, be reached from another thread except through a hop, or block.

use crate::clients::ClientInfo;
use crate::config::glob_match;
use bytes::{BufMut, Bytes, BytesMut};
use darter_engine::Engine;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, Notify};

/// The three namespaces: channels (SUBSCRIBE), patterns (PSUBSCRIBE), shard channels (SSUBSCRIBE).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Channel = 0,
    Pattern = 1,
    Shard = 2,
}

pub const KINDS: [Kind; 3] = [Kind::Channel, Kind::Pattern, Kind::Shard];

/// A set of engine thread indexes (a bitset; any number of threads).
#[derive(Clone, Default, Debug, PartialEq, Eq)]
pub struct ThreadSet(Vec<u64>);

impl ThreadSet {
    pub fn insert(&mut self, t: usize) {
        let w = t / 64;
        if self.0.len() <= w {
            self.0.resize(w + 1, 0);
        }
        self.0[w] |= 1 << (t % 64);
    }

    pub fn remove(&mut self, t: usize) {
        if let Some(w) = self.0.get_mut(t / 64) {
            *w &= !(1 << (t % 64));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|&w| w == 0)
    }

    pub fn union(&mut self, other: &ThreadSet) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a |= b;
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().enumerate().flat_map(|(w, &bits)| {
            (0..64)
                .filter(move |b| bits & (1u64 << b) != 0)
                .map(move |b| w * 64 + b)
        })
    }
}

/// A client's subscriptions of one kind, in subscription order, with O(1) membership and
/// removal (removal moves the last name into the hole: order is not kept, and Redis's own order
/// for "unsubscribe from all" is its dict's, i.e. unspecified).
#[derive(Default)]
pub struct NameSet {
    names: Vec<Bytes>,
    index: HashMap<Bytes, usize>,
}

impl NameSet {
    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn contains(&self, n: &[u8]) -> bool {
        self.index.contains_key(n)
    }

    /// True if added (it was not there).
    pub fn insert(&mut self, n: Bytes) -> bool {
        if self.index.contains_key(&n) {
            return false;
        }
        self.index.insert(n.clone(), self.names.len());
        self.names.push(n);
        true
    }

    /// True if it was there.
    pub fn remove(&mut self, n: &[u8]) -> bool {
        let Some(i) = self.index.remove(n) else {
            return false;
        };
        self.names.swap_remove(i);
        if let Some(moved) = self.names.get(i) {
            self.index.insert(moved.clone(), i);
        }
        true
    }

    pub fn names(&self) -> &[Bytes] {
        &self.names
    }
}

/// The output-buffer limit of one client class (`client-output-buffer-limit`): 0 = none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ObufLimit {
    pub hard: u64,
    pub soft: u64,
    pub soft_secs: u64,
}

/// A connection's pub/sub side: its subscriptions and the messages waiting to be written.
///
/// Messages are appended here by deliveries on the connection's thread (never elsewhere) and
/// written by the connection loop when it is not busy with a request. The pending bytes are the
/// client's output buffer for `client-output-buffer-limit pubsub`: past the hard limit, or past the
/// soft limit for longer than its seconds, the client is closed and the bytes dropped.
#[derive(Default)]
pub struct ClientPubSub {
    pub subs: RefCell<[NameSet; 3]>,
    /// Total subscriptions of every kind (Redis's CLIENT_PUBSUB flag is `total > 0`).
    total: Cell<usize>,
    pending: RefCell<BytesMut>,
    notify: Notify,
    soft_since: Cell<Option<Instant>>,
}

impl ClientPubSub {
    /// Subscribed to anything (Redis's CLIENT_PUBSUB flag).
    #[inline]
    pub fn active(&self) -> bool {
        self.total.get() > 0
    }

    pub fn count(&self, k: Kind) -> usize {
        self.subs.borrow()[k as usize].len()
    }

    fn recount(&self) {
        self.total
            .set(self.subs.borrow().iter().map(NameSet::len).sum());
    }

    /// Bytes of messages not yet written to the socket.
    pub fn pending_len(&self) -> usize {
        self.pending.borrow().len()
    }

    /// Takes every pending message (the connection writes them).
    pub fn take_pending(&self) -> BytesMut {
        let mut p = self.pending.borrow_mut();
        let out = p.split();
        if p.capacity() > 1024 * 1024 {
            *p = BytesMut::new();
        }
        out
    }

    /// Puts back what could not be written yet, in front of anything that arrived meanwhile.
    pub fn restore_pending(&self, mut rest: BytesMut) {
        let mut p = self.pending.borrow_mut();
        if !p.is_empty() {
            rest.extend_from_slice(&p);
        }
        *p = rest;
    }

    /// Resolves once there is something pending.
    pub async fn ready(&self) {
        loop {
            let n = self.notify.notified();
            if !self.pending.borrow().is_empty() {
                return;
            }
            n.await;
        }
    }

    /// Appends one encoded message, enforcing the pubsub output-buffer limit (Redis's
    /// `checkClientOutputBufferLimits`: `>=` the hard limit closes at once; `>=` the soft limit
    /// starts a clock and closes once it has run longer than the soft seconds). Returns false if
    /// the client was closed.
    pub(crate) fn append(
        &self,
        info: &ClientInfo,
        resp3: bool,
        msg: &[u8],
        limit: ObufLimit,
        now: Instant,
    ) -> bool {
        if info.killed.get() {
            return false;
        }
        let used = {
            let mut p = self.pending.borrow_mut();
            if resp3 {
                p.put_u8(b'>');
                p.put_slice(&msg[1..]);
            } else {
                p.put_slice(msg);
            }
            p.len() as u64
        };
        let hard = limit.hard > 0 && used >= limit.hard;
        let mut soft = false;
        if limit.soft > 0 && used >= limit.soft {
            match self.soft_since.get() {
                None => self.soft_since.set(Some(now)),
                Some(t) => soft = now.duration_since(t) > Duration::from_secs(limit.soft_secs),
            }
        } else {
            self.soft_since.set(None);
        }
        if hard || soft {
            tracing::warn!(
                client = info.id,
                bytes = used,
                "closing client for overcoming of output buffer limits (pubsub)"
            );
            *self.pending.borrow_mut() = BytesMut::new();
            self.soft_since.set(None);
            info.kill();
            return false;
        }
        self.notify.notify_one();
        true
    }

    /// The soft-limit clock restarts once the buffer drains below it (Redis resets it at the next
    /// check under the limit; the connection calls this after each write).
    pub fn drained(&self, limit: ObufLimit) {
        if limit.soft == 0 || (self.pending.borrow().len() as u64) < limit.soft {
            self.soft_since.set(None);
        }
    }
}

/// Whether a name's first subscriber on this thread has been announced to every thread.
#[derive(Default)]
pub struct Ready {
    done: Cell<bool>,
    notify: Notify,
}

impl Ready {
    pub async fn wait(&self) {
        let n = self.notify.notified();
        if self.done.get() {
            return;
        }
        n.await;
    }
}

struct Topic {
    subs: Vec<Rc<ClientInfo>>,
    ready: Rc<Ready>,
}

#[derive(Default)]
struct Registry {
    topics: [HashMap<Bytes, Topic>; 3],
    dir: [HashMap<Bytes, ThreadSet>; 3],
}

thread_local! {
    static REG: RefCell<Registry> = RefCell::new(Registry::default());
}

fn me() -> usize {
    darter_engine::engine::thread_index().unwrap_or(0)
}

/// Records that `thread` has (or no longer has) subscribers of `name` in this thread's replica.
fn apply_dir(r: &mut Registry, kind: Kind, name: &Bytes, thread: usize, add: bool) {
    let dir = &mut r.dir[kind as usize];
    if add {
        dir.entry(name.clone()).or_default().insert(thread);
    } else if let Some(s) = dir.get_mut(name) {
        s.remove(thread);
        if s.is_empty() {
            dir.remove(name);
        }
    }
}

/// Tells every thread's replica about this thread's change; the local replica is updated at once.
/// Sends happen now, in call order, so each thread applies this thread's changes in that order.
fn announce(
    r: &mut Registry,
    engine: Option<&Engine>,
    kind: Kind,
    name: &Bytes,
    add: bool,
) -> Vec<oneshot::Receiver<()>> {
    let me = me();
    apply_dir(r, kind, name, me, add);
    let mut acks = Vec::new();
    let Some(engine) = engine else {
        return acks;
    };
    for t in 0..engine.num_threads() {
        if t == me {
            continue;
        }
        let name = name.clone();
        if add {
            let (tx, rx) = oneshot::channel();
            acks.push(rx);
            engine.send(
                t,
                Box::new(move || {
                    REG.with(|r| apply_dir(&mut r.borrow_mut(), kind, &name, me, true));
                    let _ = tx.send(());
                }),
            );
        } else {
            engine.send(
                t,
                Box::new(move || {
                    REG.with(|r| apply_dir(&mut r.borrow_mut(), kind, &name, me, false))
                }),
            );
        }
    }
    acks
}

/// Adds `info` as a local subscriber of `name`. Returns what the caller must wait for before
/// replying when this thread's interest in `name` is not yet known to every thread.
pub fn add(
    engine: Option<&Engine>,
    kind: Kind,
    name: &Bytes,
    info: &Rc<ClientInfo>,
) -> Option<Rc<Ready>> {
    REG.with(|r| {
        let r = &mut *r.borrow_mut();
        if !r.topics[kind as usize].contains_key(name) {
            let acks = announce(r, engine, kind, name, true);
            let ready = Rc::new(Ready::default());
            if acks.is_empty() {
                ready.done.set(true);
            } else {
                let rd = ready.clone();
                tokio::task::spawn_local(async move {
                    for a in acks {
                        let _ = a.await;
                    }
                    rd.done.set(true);
                    rd.notify.notify_waiters();
                });
            }
            r.topics[kind as usize].insert(
                name.clone(),
                Topic {
                    subs: Vec::new(),
                    ready,
                },
            );
        }
        let topic = r.topics[kind as usize].get_mut(name).expect("just ensured");
        topic.subs.push(info.clone());
        (!topic.ready.done.get()).then(|| topic.ready.clone())
    })
}

/// Removes client `id` as a local subscriber of `name`.
pub fn remove(engine: Option<&Engine>, kind: Kind, name: &[u8], id: u64) {
    REG.with(|r| {
        let r = &mut *r.borrow_mut();
        let map = &mut r.topics[kind as usize];
        let Some(topic) = map.get_mut(name) else {
            return;
        };
        if let Some(i) = topic.subs.iter().position(|c| c.id == id) {
            topic.subs.swap_remove(i);
        }
        if topic.subs.is_empty() {
            let (name, _) = map.remove_entry(name).expect("present");
            announce(r, engine, kind, &name, false);
        }
    })
}

/// Subscribes a client (its own set and this thread's registry). Returns (added, wait).
pub fn subscribe(
    engine: Option<&Engine>,
    info: &Rc<ClientInfo>,
    kind: Kind,
    name: &Bytes,
) -> (bool, Option<Rc<Ready>>) {
    let added = info.pubsub.subs.borrow_mut()[kind as usize].insert(name.clone());
    if !added {
        return (false, None);
    }
    info.pubsub.recount();
    (true, add(engine, kind, name, info))
}

/// Unsubscribes a client from one name; true if it was subscribed.
pub fn unsubscribe(engine: Option<&Engine>, info: &ClientInfo, kind: Kind, name: &[u8]) -> bool {
    let removed = info.pubsub.subs.borrow_mut()[kind as usize].remove(name);
    if removed {
        info.pubsub.recount();
        remove(engine, kind, name, info.id);
    }
    removed
}

/// Drops every subscription of a client (disconnect, RESET), without replies.
pub fn unsubscribe_everything(engine: Option<&Engine>, info: &ClientInfo) {
    for kind in KINDS {
        let names = info.pubsub.subs.borrow()[kind as usize].names().to_vec();
        for n in names {
            unsubscribe(engine, info, kind, &n);
        }
    }
    info.pubsub.take_pending();
}

/// The threads a PUBLISH (or SPUBLISH) of `channel` must reach, from this thread's replica.
pub fn targets(kind: Kind, channel: &[u8]) -> ThreadSet {
    REG.with(|r| {
        let r = r.borrow();
        let mut set = r.dir[kind as usize]
            .get(channel)
            .cloned()
            .unwrap_or_default();
        if kind == Kind::Channel {
            for (pat, ts) in &r.dir[Kind::Pattern as usize] {
                if glob_match(pat, channel, false) {
                    set.union(ts);
                }
            }
        }
        set
    })
}

/// `*<n>\r\n` then each part as a bulk string: one message, encoded once per publish.
pub fn encode(parts: &[&[u8]]) -> Vec<u8> {
    let mut v = Vec::with_capacity(16 + parts.iter().map(|p| p.len() + 16).sum::<usize>());
    v.extend_from_slice(format!("*{}\r\n", parts.len()).as_bytes());
    for p in parts {
        v.extend_from_slice(format!("${}\r\n", p.len()).as_bytes());
        v.extend_from_slice(p);
        v.extend_from_slice(b"\r\n");
    }
    v
}

/// Delivers a published message to this thread's subscribers (channel subscribers first, then
/// pattern subscribers, as Redis does). Returns how many subscriptions received it.
pub fn deliver_local(kind: Kind, channel: &[u8], message: &[u8], limit: ObufLimit) -> usize {
    let now = Instant::now();
    // Subscribers are collected first: closing one at its limit must not run inside the borrow.
    let mut out: Vec<(Rc<ClientInfo>, Rc<Vec<u8>>)> = Vec::new();
    REG.with(|r| {
        let r = r.borrow();
        if let Some(t) = r.topics[kind as usize].get(channel) {
            let label: &[u8] = match kind {
                Kind::Shard => b"smessage",
                _ => b"message",
            };
            let msg = Rc::new(encode(&[label, channel, message]));
            out.extend(t.subs.iter().map(|c| (c.clone(), msg.clone())));
        }
        if kind == Kind::Channel {
            for (pat, t) in &r.topics[Kind::Pattern as usize] {
                if glob_match(pat, channel, false) {
                    let msg = Rc::new(encode(&[b"pmessage", pat, channel, message]));
                    out.extend(t.subs.iter().map(|c| (c.clone(), msg.clone())));
                }
            }
        }
    });
    for (c, msg) in &out {
        c.pubsub.append(c, c.resp.get() == 3, msg, limit, now);
    }
    out.len()
}

/// What PUBSUB and INFO ask each thread: the names with local subscribers of a kind (matching
/// `pattern` if given).
pub fn local_names(kind: Kind, pattern: Option<&[u8]>) -> Vec<Bytes> {
    REG.with(|r| {
        r.borrow().topics[kind as usize]
            .keys()
            .filter(|n| pattern.is_none_or(|p| glob_match(p, n, false)))
            .cloned()
            .collect()
    })
}

/// Local subscriber counts of each name (PUBSUB NUMSUB / SHARDNUMSUB).
pub fn local_counts(kind: Kind, names: &[Bytes]) -> Vec<usize> {
    REG.with(|r| {
        let r = r.borrow();
        names
            .iter()
            .map(|n| r.topics[kind as usize].get(n).map_or(0, |t| t.subs.len()))
            .collect()
    })
}

#[cfg(test)]
pub(super) fn dir_threads(kind: Kind, name: &[u8]) -> Vec<usize> {
    REG.with(|r| {
        r.borrow().dir[kind as usize]
            .get(name)
            .map(|s| s.iter().collect())
            .unwrap_or_default()
    })
}
