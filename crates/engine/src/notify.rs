//! Keyspace notifications: the event classes (Redis 7.0's `NOTIFY_*` bits) and the one path by
//! which shard-side code reports a key event.
//!
//! Shard code (a `DbSlice` on lazy or active expiry, `op_*` functions after a change) calls
//! `emit` with the event's class. When the configured flags do not select that class, `emit`
//! costs one relaxed load. Otherwise it calls the hook the commands crate registered at startup,
//! which publishes `__keyspace@<db>__:<key>` / `__keyevent@<db>__:<event>` through Pub/Sub from
//! the current thread (docs/design/notifications.md). This module must not know about Pub/Sub,
//! RESP or configuration text; the hook must not reach for the shard (it runs inside shard code).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

/// `K`: publish `__keyspace@<db>__:<key>` messages.
pub const KEYSPACE: u32 = 1 << 0;
/// `E`: publish `__keyevent@<db>__:<event>` messages.
pub const KEYEVENT: u32 = 1 << 1;
/// `g`: generic commands (DEL, EXPIRE, RENAME, ...).
pub const GENERIC: u32 = 1 << 2;
/// `$`: string commands.
pub const STRING: u32 = 1 << 3;
/// `l`: list commands.
pub const LIST: u32 = 1 << 4;
/// `s`: set commands.
pub const SET: u32 = 1 << 5;
/// `h`: hash commands.
pub const HASH: u32 = 1 << 6;
/// `z`: sorted set commands.
pub const ZSET: u32 = 1 << 7;
/// `x`: a key was found expired (lazily or by active expiry) and deleted.
pub const EXPIRED: u32 = 1 << 8;
/// `e`: a key was evicted for maxmemory (darter never evicts).
pub const EVICTED: u32 = 1 << 9;
/// `t`: stream commands (darter has no streams).
pub const STREAM: u32 = 1 << 10;
/// `m`: a read found no key (not part of `A`).
pub const KEY_MISS: u32 = 1 << 11;
/// `d`: module events (darter has no modules).
pub const MODULE: u32 = 1 << 13;
/// `n`: a key was created (not part of `A`).
pub const NEW: u32 = 1 << 14;
/// `A`: Redis's NOTIFY_ALL.
pub const ALL: u32 =
    GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// The configured flags, shared by the engine, every shard and every `DbSlice` of one engine.
pub type Flags = Arc<AtomicU32>;

/// Publishes one event: `(flags, db, event, key)`, flags as loaded by `emit`.
pub type Hook = fn(u32, usize, &str, &[u8]);

static HOOK: OnceLock<Hook> = OnceLock::new();

/// Registers the publisher (once per process; later calls are ignored, every engine shares it).
pub fn set_hook(h: Hook) {
    let _ = HOOK.set(h);
}

/// Reports `event` of `class` on `key` in database `db`. One relaxed load when `class` is not
/// selected (or no channel kind, `K` or `E`, is).
#[inline]
pub fn emit(flags: &AtomicU32, class: u32, event: &str, db: usize, key: &[u8]) {
    let f = flags.load(Ordering::Relaxed);
    if f & class == 0 {
        return;
    }
    if f & (KEYSPACE | KEYEVENT) != 0 {
        if let Some(h) = HOOK.get() {
            h(f, db, event, key);
        }
    }
}
