//! The command registry: handler rows from the family modules joined with Redis's own metadata.
//!
//! A family module exports `COMMANDS: &[Cmd]`; `families::ALL` lists the families top to bottom.
//! Arity, flags, key positions, ACL categories and key specs come from Redis 7.0's table
//! (`redis_table.rs`) by name, so `COMMAND INFO` and arity errors are Redis's. A registered name
//! missing from that table is a programming error caught by a test.

use crate::context::{Conn, ShardCmd};
use crate::families;
use crate::keyspec;
use crate::meta::Meta;
use bytes::Bytes;
use darter_resp::ReplyWriter;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;

/// Shard-side handler: runs on the shard owning every key of the command.
pub type ShardFn = fn(&mut ShardCmd, &mut ReplyWriter);
/// A future that borrows the connection.
pub type LocalBoxFuture<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;
/// Coordinator-side handler: runs on the connection's thread and may schedule hops.
pub type CoordFn = for<'a> fn(&'a mut Conn, Vec<Bytes>) -> LocalBoxFuture<'a>;

#[derive(Clone, Copy)]
pub enum Handler {
    /// Every key lives in one shard: the whole command (argument checks, op, reply) runs there.
    Shard(ShardFn),
    /// Keys may span shards: `coord` runs on the connection's thread using transactions. When all
    /// keys fall in one shard and `shard` is given, that runs instead (atomic, one hop or inline).
    Multi {
        shard: Option<ShardFn>,
        coord: CoordFn,
    },
    /// Keyless, or needs connection or server state: runs on the connection's thread.
    Conn(CoordFn),
}

/// A family module's row: a Redis command name (lowercase) and its handler. For container
/// commands (CONFIG, CLIENT, OBJECT, ...) `subs` lists the implemented subcommands; the handler
/// dispatches on the subcommand itself.
pub struct Cmd {
    pub name: &'static str,
    pub handler: Handler,
    pub subs: &'static [&'static str],
}

impl Cmd {
    pub const fn new(name: &'static str, handler: Handler) -> Cmd {
        Cmd {
            name,
            handler,
            subs: &[],
        }
    }

    pub const fn with_subs(
        name: &'static str,
        handler: Handler,
        subs: &'static [&'static str],
    ) -> Cmd {
        Cmd {
            name,
            handler,
            subs,
        }
    }
}

/// A registered command.
pub struct Spec {
    /// Dense index, for per-command statistics.
    pub id: usize,
    pub meta: &'static Meta,
    pub handler: Handler,
    pub write: bool,
    /// Implemented subcommands' metadata (empty for plain commands).
    pub subs: Vec<&'static Meta>,
}

impl Spec {
    pub fn is_container(&self) -> bool {
        !self.meta.subcommands.is_empty()
    }

    /// The metadata of an implemented subcommand.
    pub fn sub(&self, name: &[u8]) -> Option<&'static Meta> {
        let c = self.meta.name.len();
        self.subs.iter().copied().find(|m| {
            let n = m.name.as_bytes();
            n.len() == c + 1 + name.len() && n[c + 1..].eq_ignore_ascii_case(name)
        })
    }
}

pub struct Registry {
    pub specs: Vec<Spec>,
    by_name: HashMap<&'static str, usize, foldhash::fast::FixedState>,
}

impl Registry {
    fn build() -> Registry {
        let mut specs = Vec::new();
        let mut by_name = HashMap::with_hasher(foldhash::fast::FixedState::default());
        for family in families::ALL {
            for row in family.iter() {
                let meta = keyspec::lookup(row.name)
                    .unwrap_or_else(|| panic!("'{}' is not a Redis 7.0 command", row.name));
                let subs = row
                    .subs
                    .iter()
                    .map(|s| {
                        keyspec::lookup_sub(meta, s)
                            .or_else(|| supplement(row.name, s))
                            .unwrap_or_else(|| {
                                panic!("'{}|{}' is not a Redis 7.0 subcommand", row.name, s)
                            })
                    })
                    .collect();
                let id = specs.len();
                assert!(
                    by_name.insert(meta.name, id).is_none(),
                    "'{}' registered twice",
                    row.name
                );
                specs.push(Spec {
                    id,
                    meta,
                    handler: row.handler,
                    write: meta.has_flag("write"),
                    subs,
                });
            }
        }
        Registry { specs, by_name }
    }

    /// Finds a command by name, case-insensitively.
    #[inline]
    pub fn find(&self, name: &[u8]) -> Option<&Spec> {
        let mut buf = [0u8; 32];
        if name.len() > buf.len() {
            return None;
        }
        let lower = &mut buf[..name.len()];
        lower.copy_from_slice(name);
        lower.make_ascii_lowercase();
        let s = std::str::from_utf8(lower).ok()?;
        self.by_name.get(s).map(|&i| &self.specs[i])
    }
}

/// Commands newer than Redis 7.0 that darter implements because clients send them (metadata as in
/// the Redis version that introduced them).
static SUPPLEMENT: &[Meta] = &[
    // Redis 7.2: client libraries send CLIENT SETINFO on connect.
    Meta {
        name: "client|setinfo",
        arity: 4,
        flags: &["noscript", "loading", "stale"],
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: &["@slow", "@connection"],
        tips: &["request_policy:all_nodes", "response_policy:all_succeeded"],
        key_specs: &[],
        subcommands: &[],
    },
];

fn supplement(container: &str, sub: &str) -> Option<&'static Meta> {
    SUPPLEMENT.iter().find(|m| {
        m.name
            .split_once('|')
            .is_some_and(|(c, s)| c == container && s.eq_ignore_ascii_case(sub))
    })
}

static REGISTRY: OnceLock<Registry> = OnceLock::new();

pub fn registry() -> &'static Registry {
    REGISTRY.get_or_init(Registry::build)
}

/// Calls `f` with the position of each key argument of a command call, for routing
/// (first/last/step from Redis's table; movable-key commands through their key specs). Allocates
/// nothing for fixed-position commands.
#[inline]
pub fn for_each_key(meta: &Meta, args: &[Bytes], mut f: impl FnMut(usize)) {
    if meta.has_flag("movablekeys") {
        let refs: Vec<&[u8]> = args.iter().map(|a| &a[..]).collect();
        for p in keyspec::key_positions(meta, &refs).unwrap_or_default() {
            f(p);
        }
        return;
    }
    if meta.first_key <= 0 {
        return;
    }
    let n = args.len() as i32;
    let last = if meta.last_key < 0 {
        n + meta.last_key
    } else {
        meta.last_key
    };
    let step = meta.step.max(1);
    let mut i = meta.first_key;
    while i <= last && i < n {
        f(i as usize);
        i += step;
    }
}

/// Positions of the key arguments of a command call (see `for_each_key`).
pub fn key_positions(meta: &Meta, args: &[Bytes]) -> Vec<usize> {
    let mut v = Vec::new();
    for_each_key(meta, args, |p| v.push(p));
    v
}
