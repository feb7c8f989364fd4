//! Client-side caching: CLIENT TRACKING / CACHING / GETREDIR / TRACKINGINFO, each connection's
//! tracking state, and the delivery of invalidations (docs/design/tracking.md).
//!
//! Shards remember readers and notice writes (`darter_engine::tracking`); this module decides
//! what a command's client context is (`ctx_for`), and turns what a shard settles into messages:
//! a RESP3 push on the tracking connection, or a `__redis__:invalidate` Pub/Sub message (or push)
//! on the connection it redirects to, wherever those connections live. Delivery appends to the
//! target's pending messages on its own thread (a hop when the target lives elsewhere), exactly
//! as Pub/Sub does, so a client's own invalidations follow the reply of the command that caused
//! them.
//!
//! Must not: touch shard data outside hops, or block.

use crate::clients::{self, ClientInfo};
use crate::context::Conn;
use crate::errors;
use crate::families::pubsub::registry::ObufLimit;
use crate::registry::{registry, Spec};
use bytes::Bytes;
use darter_engine::tracking::{self as et, Ctx, Reader};
use darter_engine::{Engine, Shard};
use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::time::Instant;

/// A connection's tracking state (Redis's `CLIENT_TRACKING*` flags and fields).
#[derive(Default)]
pub struct ClientTracking {
    pub on: Cell<bool>,
    pub bcast: Cell<bool>,
    pub optin: Cell<bool>,
    pub optout: Cell<bool>,
    pub noloop: Cell<bool>,
    /// CLIENT CACHING YES/NO given for the next command.
    pub caching: Cell<bool>,
    /// The redirect client was gone when an invalidation was due.
    pub broken: Cell<bool>,
    /// Redirect client id (0: none) and the thread serving it when tracking was enabled.
    pub redirect: Cell<u64>,
    pub redirect_thread: Cell<u32>,
    /// BCAST prefixes, sorted (Redis lists them from a radix tree).
    pub prefixes: RefCell<Vec<Bytes>>,
    /// The keys of the coordinator-run read command running now (to remember on their shards).
    pub keys: RefCell<Option<Arc<Vec<Bytes>>>>,
    /// Tracking was enabled at some point: shards may hold registrations of this client.
    pub ever: Cell<bool>,
}

fn me() -> u32 {
    darter_engine::engine::thread_index().unwrap_or(0) as u32
}

/// The shard-side context of `info`'s next command: None unless the client tracks.
pub fn ctx_for(info: &ClientInfo, db: usize) -> Option<Ctx> {
    let t = &info.tracking;
    if !t.on.get() {
        return None;
    }
    let mode = if t.bcast.get() {
        et::READ_NONE
    } else if t.optin.get() {
        if t.caching.get() {
            et::READ_NEXT
        } else {
            et::READ_NONE
        }
    } else if t.optout.get() && t.caching.get() {
        et::READ_SKIP_NEXT
    } else {
        et::READ_ALL
    };
    Some(Ctx {
        client: info.id,
        thread: me(),
        mode,
        keys: t.keys.borrow().clone(),
        db,
    })
}

/// Whether the running command remembers its keys when coordinator-run (single-shard commands
/// decide on their shard with `take_read`).
fn remembers_now(info: &ClientInfo) -> bool {
    let t = &info.tracking;
    t.on.get()
        && !t.bcast.get()
        && if t.optin.get() {
            t.caching.get()
        } else {
            !(t.optout.get() && t.caching.get())
        }
}

/// Redis's condition for remembering a command's keys (`call` and `trackingRememberKeys`):
/// read-only, not Pub/Sub, and not a read-only script (whose own commands are remembered).
pub fn tracks_reads(spec: &Spec, sub: Option<&'static str>) -> bool {
    let meta = sub
        .and_then(|s| spec.sub(s.as_bytes()))
        .unwrap_or(spec.meta);
    meta.has_flag("readonly")
        && !meta.has_flag("pubsub")
        && !matches!(meta.name, "eval_ro" | "evalsha_ro" | "fcall_ro")
}

/// Before a coordinator-run command: a read-only one of a caching client carries its keys to
/// every shard it reaches. Returns whether anything was set (undo with `after_coord`).
pub fn before_coord(
    c: &Conn,
    spec: &'static Spec,
    sub: Option<&'static str>,
    args: &[Bytes],
) -> bool {
    let info = &c.state.info;
    if !info.tracking.on.get() || !remembers_now(info) || !tracks_reads(spec, sub) {
        return false;
    }
    let meta = sub
        .and_then(|s| spec.sub(s.as_bytes()))
        .unwrap_or(spec.meta);
    let mut keys = Vec::new();
    crate::registry::for_each_key(meta, args, |p| keys.push(args[p].clone()));
    if keys.is_empty() {
        return false;
    }
    *info.tracking.keys.borrow_mut() = Some(Arc::new(keys));
    et::replace(ctx_for(info, c.state.db));
    true
}

pub fn after_coord(c: &Conn) {
    *c.state.info.tracking.keys.borrow_mut() = None;
    et::replace(ctx_for(&c.state.info, c.state.db));
}

/// After each command: CLIENT CACHING lasts one command (not counting CLIENT commands, and
/// not inside MULTI), as Redis's `resetClient`.
pub fn after_command(c: &Conn, name: &str) {
    let t = &c.state.info.tracking;
    if !t.on.get() {
        return;
    }
    if t.caching.get() && name != "client" && c.state.multi.is_none() {
        t.caching.set(false);
    }
    // The command may have run on another thread, which consumed the mode there: the next one
    // starts from the connection's state.
    et::replace(ctx_for(&c.state.info, c.state.db));
}

/// Remembers the keys of a single-shard command that just ran on `shard` for `reader`.
pub fn remember(
    shard: &mut Shard,
    reader: Reader,
    id: usize,
    sub: Option<&'static str>,
    db: usize,
    args: &[Bytes],
) {
    let spec = &registry().specs[id];
    let meta = sub
        .and_then(|s| spec.sub(s.as_bytes()))
        .unwrap_or(spec.meta);
    crate::registry::for_each_key(meta, args, |p| shard.track_remember(db, &args[p], reader));
}

/// Installs the delivery hook (once per process).
pub fn install() {
    et::set_hook(deliver);
}

/// What a tracking client is told.
enum Msg {
    Keys(Vec<Box<[u8]>>),
    /// Everything (FLUSHDB / FLUSHALL).
    Flush,
}

/// Shard side: hands one invalidation to the target's thread.
fn deliver(target: Reader, keys: Vec<Box<[u8]>>, writer: u64, bcast: bool) {
    if target.thread == me() {
        on_target(target.id, Msg::Keys(keys), writer, bcast);
    } else if let Some(e) = Engine::current() {
        e.send(
            target.thread as usize,
            Box::new(move || on_target(target.id, Msg::Keys(keys), writer, bcast)),
        );
    }
}

fn encode_keys(keys: &[Box<[u8]>]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", keys.len()).into_bytes();
    for k in keys {
        v.extend_from_slice(format!("${}\r\n", k.len()).as_bytes());
        v.extend_from_slice(k);
        v.extend_from_slice(b"\r\n");
    }
    v
}

fn push(info: &ClientInfo, bytes: &[u8]) {
    info.pubsub
        .append(info, false, bytes, ObufLimit::default(), Instant::now());
}

/// On the tracking client's thread: Redis's `trackingInvalidateKey` target checks, then
/// `sendTrackingMessage`.
fn on_target(id: u64, msg: Msg, writer: u64, bcast: bool) {
    let Some(c) = clients::find(id) else { return };
    let t = &c.tracking;
    if !t.on.get() {
        return;
    }
    if let Msg::Keys(_) = msg {
        // Keys remembered before a switch to BCAST are not sent; a NOLOOP client does not hear
        // of its own writes.
        if !bcast && (t.bcast.get() || (t.noloop.get() && writer == id)) {
            return;
        }
    }
    let value = match &msg {
        Msg::Keys(k) => encode_keys(k),
        Msg::Flush if c.resp.get() == 3 => b"_\r\n".to_vec(),
        Msg::Flush => b"$-1\r\n".to_vec(),
    };
    let redir = t.redirect.get();
    if redir == 0 {
        if c.resp.get() == 3 {
            let mut m = b">2\r\n$10\r\ninvalidate\r\n".to_vec();
            m.extend_from_slice(&value);
            push(&c, &m);
        }
        return;
    }
    let rt = t.redirect_thread.get();
    let src = Reader { id, thread: me() };
    if rt == me() {
        on_redirect(redir, src, value);
    } else if let Some(e) = Engine::current() {
        e.send(
            rt as usize,
            Box::new(move || on_redirect(redir, src, value)),
        );
    }
}

/// On the redirect client's thread.
fn on_redirect(redir: u64, src: Reader, value: Vec<u8>) {
    let Some(r) = clients::find(redir) else {
        if src.thread == me() {
            broken(src.id, redir);
        } else if let Some(e) = Engine::current() {
            e.send(src.thread as usize, Box::new(move || broken(src.id, redir)));
        }
        return;
    };
    let mut m = if r.resp.get() == 3 {
        b">2\r\n$10\r\ninvalidate\r\n".to_vec()
    } else if r.pubsub.active() {
        b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n".to_vec()
    } else {
        return;
    };
    m.extend_from_slice(&value);
    push(&r, &m);
}

/// The redirect client is gone: the tracking client learns it (RESP3 only), each time.
fn broken(id: u64, redir: u64) {
    let Some(c) = clients::find(id) else { return };
    let t = &c.tracking;
    if !t.on.get() || t.redirect.get() != redir {
        return;
    }
    t.broken.set(true);
    if c.resp.get() == 3 {
        let m = format!(">2\r\n$21\r\ntracking-redir-broken\r\n:{redir}\r\n");
        push(&c, m.as_bytes());
    }
}

/// FLUSHDB / FLUSHALL: every tracking client on every thread is told "everything" (a null), as
/// Redis's `trackingInvalidateKeysOnFlush`; the shards emptied their tables in the flush hop.
pub async fn flushed(engine: &Arc<Engine>) {
    engine
        .on_all_threads(|_| {
            let mut ids = Vec::new();
            clients::for_each(|ci| {
                if ci.tracking.on.get() {
                    ids.push(ci.id);
                }
            });
            for id in ids {
                on_target(id, Msg::Flush, 0, true);
            }
        })
        .await;
}

/// A disconnecting client's BCAST prefixes leave every shard at once; its registrations of keys
/// go when the keys are written or at the shard's next sweep (lazily, as in Redis, but bounded).
pub fn forget_client(engine: &Arc<Engine>, info: &ClientInfo) {
    let t = &info.tracking;
    if !t.ever.get() {
        return;
    }
    let bcast = t.on.get() && t.bcast.get();
    t.on.set(false);
    let reader = Reader {
        id: info.id,
        thread: me(),
    };
    for sid in 0..engine.num_shards() {
        engine.send(
            sid,
            Box::new(move || {
                darter_engine::with_local_shard(|s| {
                    if bcast {
                        s.track_set_prefixes(reader, &[], false);
                    }
                    s.track_forget(reader.id);
                })
            }),
        );
    }
}

/// RESET turns tracking off (Redis's `clearClientConnectionState`).
pub async fn reset(c: &mut Conn) {
    if c.state.info.tracking.on.get() {
        disable(c).await;
    }
}

/// Redis's `disableTracking`.
async fn disable(c: &mut Conn) {
    let info = c.state.info.clone();
    let t = &info.tracking;
    if t.on.get() && t.bcast.get() {
        let reader = Reader {
            id: info.id,
            thread: me(),
        };
        c.engine()
            .on_all_shards(move |s| s.track_set_prefixes(reader, &[], false))
            .await;
    }
    t.prefixes.borrow_mut().clear();
    for f in [
        &t.on, &t.broken, &t.bcast, &t.optin, &t.optout, &t.caching, &t.noloop,
    ] {
        f.set(false);
    }
    et::replace(ctx_for(&info, c.state.db));
}

/// Two prefixes overlap when one starts the other.
fn overlaps(a: &[u8], b: &[u8]) -> bool {
    let n = a.len().min(b.len());
    a[..n] == b[..n]
}

/// CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p ...] [BCAST] [OPTIN] [OPTOUT] [NOLOOP]
pub async fn client_tracking(c: &mut Conn, args: &[Bytes]) {
    let mut redir: i64 = 0;
    let mut redir_thread = 0u32;
    let (mut bcast, mut optin, mut optout, mut noloop) = (false, false, false, false);
    let mut prefixes: Vec<Bytes> = Vec::new();
    let mut j = 3;
    while j < args.len() {
        let more = args.len() - 1 - j > 0;
        let a = &args[j];
        if a.eq_ignore_ascii_case(b"redirect") && more {
            j += 1;
            if redir != 0 {
                return c
                    .out
                    .error("ERR A client can only redirect to a single other client");
            }
            let Some(id) = crate::args::parse_i64(&args[j]) else {
                return c.out.error(errors::NOT_INTEGER);
            };
            redir = id;
            let found = c
                .engine()
                .on_all_threads(move |_| (id > 0 && clients::find(id as u64).is_some()).then(me))
                .await;
            match found.into_iter().flatten().next() {
                Some(t) => redir_thread = t,
                None => {
                    return c
                        .out
                        .error("ERR The client ID you want redirect to does not exist")
                }
            }
        } else if a.eq_ignore_ascii_case(b"bcast") {
            bcast = true;
        } else if a.eq_ignore_ascii_case(b"optin") {
            optin = true;
        } else if a.eq_ignore_ascii_case(b"optout") {
            optout = true;
        } else if a.eq_ignore_ascii_case(b"noloop") {
            noloop = true;
        } else if a.eq_ignore_ascii_case(b"prefix") && more {
            j += 1;
            prefixes.push(args[j].clone());
        } else {
            return c.out.error(errors::SYNTAX);
        }
        j += 1;
    }
    let info = c.state.info.clone();
    let t = &info.tracking;
    if args[2].eq_ignore_ascii_case(b"off") {
        disable(c).await;
        return c.out.ok();
    }
    if !args[2].eq_ignore_ascii_case(b"on") {
        return c.out.error(errors::SYNTAX);
    }
    if !bcast && !prefixes.is_empty() {
        return c
            .out
            .error("ERR PREFIX option requires BCAST mode to be enabled");
    }
    if t.on.get() && t.bcast.get() != bcast {
        return c.out.error("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.");
    }
    if bcast && (optin || optout) {
        return c
            .out
            .error("ERR OPTIN and OPTOUT are not compatible with BCAST");
    }
    if optin && optout {
        return c
            .out
            .error("ERR You can't specify both OPTIN mode and OPTOUT mode");
    }
    if (optin && t.optout.get()) || (optout && t.optin.get()) {
        return c.out.error("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.");
    }
    if bcast {
        // Redis's checkPrefixCollisionsOrReply, including its quirk: a collision found among
        // the given prefixes after the first one is reported and tracking is enabled anyway
        // (the OK follows the error).
        let existing = t.prefixes.borrow().clone();
        for (i, p) in prefixes.iter().enumerate() {
            if let Some(e) = existing.iter().find(|e| overlaps(e, p)) {
                return c.out.error(&format!(
                    "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                    cstr(p),
                    cstr(e)
                ));
            }
            if let Some(q) = prefixes[i + 1..].iter().find(|q| overlaps(p, q)) {
                c.out.error(&format!(
                    "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                    cstr(p),
                    cstr(q)
                ));
                if i == 0 {
                    return;
                }
                break;
            }
        }
    }
    // enableTracking.
    t.on.set(true);
    t.ever.set(true);
    for f in [&t.broken, &t.bcast, &t.optin, &t.optout, &t.noloop] {
        f.set(false);
    }
    t.redirect.set(redir as u64);
    t.redirect_thread.set(redir_thread);
    if bcast {
        t.bcast.set(true);
        let mut all = t.prefixes.borrow().clone();
        if prefixes.is_empty() {
            prefixes.push(Bytes::new());
        }
        for p in prefixes {
            if !all.contains(&p) {
                all.push(p);
            }
        }
        all.sort();
        *t.prefixes.borrow_mut() = all.clone();
        let reader = Reader {
            id: info.id,
            thread: me(),
        };
        c.engine()
            .on_all_shards(move |s| s.track_set_prefixes(reader, &all, noloop))
            .await;
    }
    t.optin.set(optin);
    t.optout.set(optout);
    t.noloop.set(noloop);
    et::replace(ctx_for(&info, c.state.db));
    c.out.ok();
}

/// Redis formats prefixes with `%s`: up to the first NUL byte.
fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|&x| x == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// CLIENT CACHING YES|NO
pub fn client_caching(c: &mut Conn, args: &[Bytes]) {
    let info = c.state.info.clone();
    let t = &info.tracking;
    if !t.on.get() {
        return c.out.error("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled");
    }
    if args[2].eq_ignore_ascii_case(b"yes") {
        if !t.optin.get() {
            return c.out.error(
                "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
            );
        }
    } else if args[2].eq_ignore_ascii_case(b"no") {
        if !t.optout.get() {
            return c.out.error(
                "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
            );
        }
    } else {
        return c.out.error(errors::SYNTAX);
    }
    t.caching.set(true);
    et::replace(ctx_for(&info, c.state.db));
    c.out.ok();
}

/// CLIENT GETREDIR
pub fn client_getredir(c: &mut Conn) {
    let t = &c.state.info.tracking;
    let v = if t.on.get() {
        t.redirect.get() as i64
    } else {
        -1
    };
    c.out.int(v);
}

/// CLIENT TRACKINGINFO
pub fn client_trackinginfo(c: &mut Conn) {
    let info = c.state.info.clone();
    let t = &info.tracking;
    let mut flags: Vec<&str> = Vec::new();
    if !t.on.get() {
        flags.push("off");
    } else {
        flags.push("on");
        if t.bcast.get() {
            flags.push("bcast");
        }
        if t.optin.get() {
            flags.push("optin");
            if t.caching.get() {
                flags.push("caching-yes");
            }
        } else if t.optout.get() {
            flags.push("optout");
            if t.caching.get() {
                flags.push("caching-no");
            }
        }
        if t.noloop.get() {
            flags.push("noloop");
        }
        if t.broken.get() {
            flags.push("broken_redirect");
        }
    }
    c.out.map(3);
    c.out.bulk(b"flags");
    c.out.set(flags.len());
    for f in flags {
        c.out.bulk(f.as_bytes());
    }
    c.out.bulk(b"redirect");
    c.out.int(if t.on.get() {
        t.redirect.get() as i64
    } else {
        -1
    });
    c.out.bulk(b"prefixes");
    let p = t.prefixes.borrow();
    c.out.array(p.len());
    for x in p.iter() {
        c.out.bulk(x);
    }
}

/// INFO stats: tracking table keys and items summed over shards (each key lives on one shard),
/// and BCAST prefixes (every shard holds them all: shard 0's count).
pub async fn info_counts(c: &Conn) -> [usize; 3] {
    let per = c
        .engine()
        .on_all_shards(|s| {
            (
                s.track.keys_len(),
                s.track.items_len(),
                s.track.prefixes_len(),
            )
        })
        .await;
    let keys = per.iter().map(|p| p.0).sum();
    let items = per.iter().map(|p| p.1).sum();
    let prefixes = per.first().map_or(0, |p| p.2);
    [keys, items, prefixes]
}

/// CLIENT LIST's tracking flags (`t`, `R`, `B`, in Redis's order) and `redir` field.
pub fn list_flags(info: &ClientInfo, flags: &mut String) {
    let t = &info.tracking;
    if t.on.get() {
        flags.push('t');
    }
    if t.broken.get() {
        flags.push('R');
    }
    if t.bcast.get() {
        flags.push('B');
    }
}

pub fn list_redir(info: &ClientInfo) -> i64 {
    let t = &info.tracking;
    if t.on.get() {
        t.redirect.get() as i64
    } else {
        -1
    }
}
