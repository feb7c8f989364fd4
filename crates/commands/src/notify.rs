//! Keyspace notifications, the commands side: `notify-keyspace-events` text <-> flags (Redis
//! 7.0's `keyspaceEventsStringToFlags` / `keyspaceEventsFlagsToString`), and the publisher the
//! engine's `notify::emit` calls on the thread where a key changed.
//!
//! The publisher runs inside shard code: it may read this thread's Pub/Sub directory and send
//! messages to threads' inboxes, and must never wait or reach for the shard. See docs/design/notifications.md.

use crate::families::pubsub::registry::{self, Kind, ObufLimit};
use bytes::Bytes;
use darter_engine::notify::*;
use std::cell::{Cell, RefCell};

/// Parses a `notify-keyspace-events` value: any sequence of the class characters; `None` on any
/// other character (Redis's -1).
pub fn parse_flags(s: &[u8]) -> Option<u32> {
    let mut flags = 0;
    for &c in s {
        flags |= match c {
            b'A' => ALL,
            b'g' => GENERIC,
            b'$' => STRING,
            b'l' => LIST,
            b's' => SET,
            b'h' => HASH,
            b'z' => ZSET,
            b'x' => EXPIRED,
            b'e' => EVICTED,
            b'K' => KEYSPACE,
            b'E' => KEYEVENT,
            b't' => STREAM,
            b'm' => KEY_MISS,
            b'd' => MODULE,
            b'n' => NEW,
            _ => return None,
        };
    }
    Some(flags)
}

/// The normalized text CONFIG GET shows (`A` for all of NOTIFY_ALL, then `K`, `E`, `m`).
pub fn format_flags(flags: u32) -> String {
    let mut s = String::new();
    if flags & ALL == ALL {
        s.push('A');
    } else {
        for (bit, c) in [
            (GENERIC, 'g'),
            (STRING, '$'),
            (LIST, 'l'),
            (SET, 's'),
            (HASH, 'h'),
            (ZSET, 'z'),
            (EXPIRED, 'x'),
            (EVICTED, 'e'),
            (STREAM, 't'),
            (MODULE, 'd'),
            (NEW, 'n'),
        ] {
            if flags & bit != 0 {
                s.push(c);
            }
        }
    }
    for (bit, c) in [(KEYSPACE, 'K'), (KEYEVENT, 'E'), (KEY_MISS, 'm')] {
        if flags & bit != 0 {
            s.push(c);
        }
    }
    s
}

thread_local! {
    /// The pubsub output-buffer limit deliveries on this thread apply, refreshed from the config
    /// by every PUBLISH and CONFIG SET run here (events have no connection to read it from).
    static LIMIT: Cell<ObufLimit> = Cell::new(ObufLimit::default());
}

/// Records the current pubsub output-buffer limit for events published from this thread.
pub fn set_thread_limit(limit: ObufLimit) {
    LIMIT.with(|l| l.set(limit));
}

/// Registers the publisher with the engine (idempotent).
pub fn install() {
    set_hook(publish_event);
}

/// An event held back by `capture` (published later by `publish_in_key_order`).
pub struct Captured {
    flags: u32,
    db: usize,
    event: String,
    key: Vec<u8>,
}

thread_local! {
    /// While set, events emitted on this thread are collected here instead of published.
    static CAPTURE: RefCell<Option<Vec<Captured>>> = const { RefCell::new(None) };
}

/// Runs `f` (one shard's part of a multi-shard command), holding back the events it emits, so
/// the coordinator can publish every shard's events in the command's argument order.
pub fn capture<R>(f: impl FnOnce() -> R) -> (R, Vec<Captured>) {
    let outer = CAPTURE.with(|c| c.borrow_mut().replace(Vec::new()));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    let got = CAPTURE.with(|c| std::mem::replace(&mut *c.borrow_mut(), outer));
    match r {
        Ok(r) => (r, got.unwrap_or_default()),
        Err(p) => std::panic::resume_unwind(p),
    }
}

/// Publishes events captured on several shards in the order of the keys they concern:
/// `keys[i]` are shard i's (argument index, key) pairs, `events` each shard's events in the order
/// it emitted them. An event goes with the first of its shard's keys, from the one its previous
/// event matched on, that has its name; ties keep shard order, then emission order.
pub fn publish_in_key_order(
    keys: &[Vec<(usize, bytes::Bytes)>],
    events: Vec<(usize, Vec<Captured>)>,
) {
    let mut all: Vec<(usize, usize, Captured)> = Vec::new();
    for (shard, evs) in events {
        let ks = &keys[shard];
        let mut at = 0;
        for e in evs {
            let pos = (at..ks.len())
                .chain(0..at)
                .find(|&j| ks[j].1[..] == e.key[..]);
            let arg = match pos {
                Some(j) => {
                    at = j;
                    ks[j].0
                }
                None => usize::MAX,
            };
            all.push((arg, shard, e));
        }
    }
    all.sort_by_key(|(arg, shard, _)| (*arg, *shard));
    for (_, _, e) in all {
        send_event(e.flags, e.db, &e.event, &e.key);
    }
}

/// The engine's hook: held back while `capture` runs, else published.
fn publish_event(flags: u32, db: usize, event: &str, key: &[u8]) {
    let held = CAPTURE.with(|c| match c.borrow_mut().as_mut() {
        Some(v) => {
            v.push(Captured {
                flags,
                db,
                event: event.to_string(),
                key: key.to_vec(),
            });
            true
        }
        None => false,
    });
    if !held {
        send_event(flags, db, event, key);
    }
}

/// One message per selected channel kind, keyspace first (Redis's order).
fn send_event(flags: u32, db: usize, event: &str, key: &[u8]) {
    if flags & KEYSPACE != 0 {
        let mut ch = format!("__keyspace@{db}__:").into_bytes();
        ch.extend_from_slice(key);
        publish(&ch, event.as_bytes());
    }
    if flags & KEYEVENT != 0 {
        let ch = format!("__keyevent@{db}__:{event}").into_bytes();
        publish(&ch, key);
    }
}

/// PUBLISH from this thread without waiting: one message to the inbox of each thread the
/// directory names, this thread's own included. Going through the inbox even for local
/// subscribers is what keeps one client's events in command order: an event a hop on another
/// shard produced for this thread is already queued here (it was sent before that hop replied),
/// and an inline delivery by the next command would overtake it. Inboxes are FIFO and a
/// command's events are sent before its reply leaves, so every subscriber sees the events of a
/// command after those of every command whose reply preceded it.
fn publish(channel: &[u8], message: &[u8]) {
    let targets = registry::targets(Kind::Channel, channel);
    if targets.is_empty() {
        return;
    }
    let Some(engine) = darter_engine::Engine::current() else {
        return;
    };
    let limit = LIMIT.with(|l| l.get());
    let msg: std::sync::Arc<(Vec<u8>, Vec<u8>)> =
        std::sync::Arc::new((channel.to_vec(), message.to_vec()));
    for t in targets.iter() {
        let msg = msg.clone();
        engine.send(
            t,
            Box::new(move || {
                registry::deliver_local(Kind::Channel, &msg.0, &msg.1, limit);
            }),
        );
    }
}

/// Whether the lookups of this command (registry `id`, arguments `args`) are reads, whose misses
/// Redis reports as `keymiss` (`lookupKeyRead`): every read-only command but OBJECT (which looks
/// up without notifying), and the writing commands that read some or all keys that way. COPY's
/// source miss is reported by COPY itself (its destination lookup is a write). Costs one relaxed
/// load while `m` is off.
pub fn reports_misses(events: &std::sync::atomic::AtomicU32, id: usize, args: &[Bytes]) -> bool {
    if events.load(std::sync::atomic::Ordering::Relaxed) & KEY_MISS == 0 {
        return false;
    }
    let spec = &crate::registry::registry().specs[id];
    let name = spec.meta.name;
    if !spec.write {
        return name != "object";
    }
    match name {
        "getset" | "getdel" | "getex" | "pfmerge" | "pfcount" | "bitop" | "sinterstore"
        | "sunionstore" | "sdiffstore" | "zunionstore" | "zinterstore" | "zdiffstore"
        | "zrangestore" | "sort" | "georadius" | "georadiusbymember" | "geosearchstore" => true,
        // SET ... GET reads the old value first.
        "set" => args[3..].iter().any(|a| a.eq_ignore_ascii_case(b"get")),
        // BITFIELD with only GETs (and OVERFLOW) is a read.
        "bitfield" => !args[2..]
            .iter()
            .any(|a| a.eq_ignore_ascii_case(b"set") || a.eq_ignore_ascii_case(b"incrby")),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_matches_redis() {
        assert_eq!(parse_flags(b""), Some(0));
        assert_eq!(parse_flags(b"KEA"), Some(KEYSPACE | KEYEVENT | ALL));
        assert_eq!(parse_flags(b"Ex"), Some(KEYEVENT | EXPIRED));
        assert_eq!(parse_flags(b"m"), Some(KEY_MISS));
        assert_eq!(parse_flags(b"n"), Some(NEW));
        assert_eq!(parse_flags(b"AA"), Some(ALL));
        assert_eq!(parse_flags(b"K$lshzxegtdn"), Some(KEYSPACE | ALL | NEW));
        // Case matters, and anything outside the set is refused.
        assert_eq!(parse_flags(b"k"), None);
        assert_eq!(parse_flags(b"KE "), None);
        assert_eq!(parse_flags(b"a"), None);
        assert_eq!(parse_flags(b"KEA\0"), None);
    }

    #[test]
    fn format_normalizes_like_redis() {
        let cases: &[(&str, &str)] = &[
            ("", ""),
            ("AKE", "AKE"),
            ("EKA", "AKE"),
            ("g$lshzxetd", "A"),
            ("g$lshzxetdK", "AK"),
            ("An", "A"),
            ("Exg", "gxE"),
            ("mEnA", "AEm"),
            ("nzhsl$gK", "g$lshznK"),
            ("m", "m"),
            ("xK", "xK"),
        ];
        for (input, want) in cases {
            let f = parse_flags(input.as_bytes()).unwrap();
            assert_eq!(format_flags(f), *want, "{input}");
        }
        // A without n or m: those are outside NOTIFY_ALL.
        assert_eq!(format_flags(ALL | NEW), "A");
        assert_eq!(format_flags(ALL & !EVICTED), "g$lshzxtd");
    }
}
