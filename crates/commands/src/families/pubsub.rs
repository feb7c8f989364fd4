//! Pub/Sub family: SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE PUBLISH SSUBSCRIBE SUNSUBSCRIBE
//! SPUBLISH PUBSUB (CHANNELS NUMSUB NUMPAT SHARDCHANNELS SHARDNUMSUB HELP), as Redis 7.0
//! standalone.
//!
//! Subscriptions live in per-thread registries (`registry`); a publish reaches only the threads
//! whose replica says they have subscribers, and counts receivers across all of them
//! (docs/design/pubsub.md). Shard channels behave as in a non-cluster Redis 7.0: a namespace of
//! their own, no patterns. Nothing here touches shard data: every handler runs on the
//! connection's thread.

pub mod registry;
#[cfg(test)]
mod tests;

use crate::context::Conn;
use crate::errors;
use crate::registry::{Cmd, Handler, LocalBoxFuture};
use bytes::Bytes;
use registry::Kind;
use std::collections::HashSet;
use tokio::sync::oneshot;

pub static COMMANDS: &[Cmd] = &[
    Cmd::new("subscribe", Handler::Conn(cmd_subscribe)),
    Cmd::new("unsubscribe", Handler::Conn(cmd_unsubscribe)),
    Cmd::new("psubscribe", Handler::Conn(cmd_psubscribe)),
    Cmd::new("punsubscribe", Handler::Conn(cmd_punsubscribe)),
    Cmd::new("ssubscribe", Handler::Conn(cmd_ssubscribe)),
    Cmd::new("sunsubscribe", Handler::Conn(cmd_sunsubscribe)),
    Cmd::new("publish", Handler::Conn(cmd_publish)),
    Cmd::new("spublish", Handler::Conn(cmd_spublish)),
    Cmd::with_subs(
        "pubsub",
        Handler::Conn(cmd_pubsub),
        &[
            "channels",
            "numsub",
            "numpat",
            "shardchannels",
            "shardnumsub",
            "help",
        ],
    ),
];

/// The commands a RESP2 client may send while subscribed (Redis's processCommand list).
pub fn allowed_in_subscribed_context(name: &str) -> bool {
    matches!(
        name,
        "ping"
            | "subscribe"
            | "ssubscribe"
            | "unsubscribe"
            | "sunsubscribe"
            | "psubscribe"
            | "punsubscribe"
            | "quit"
            | "reset"
    )
}

/// Commands whose replies are pub/sub pushes, which Redis 7.0 sends even under CLIENT REPLY
/// OFF or SKIP.
pub fn replies_are_pushes(name: &str) -> bool {
    matches!(
        name,
        "subscribe" | "ssubscribe" | "unsubscribe" | "sunsubscribe" | "psubscribe" | "punsubscribe"
    )
}

/// The reply words of a kind: (subscribe, unsubscribe).
fn words(kind: Kind) -> (&'static [u8], &'static [u8]) {
    match kind {
        Kind::Channel => (b"subscribe", b"unsubscribe"),
        Kind::Pattern => (b"psubscribe", b"punsubscribe"),
        Kind::Shard => (b"ssubscribe", b"sunsubscribe"),
    }
}

/// The count Redis puts in (un)subscribe replies: channels + patterns, or shard channels alone.
fn reply_count(c: &Conn, kind: Kind) -> i64 {
    let ps = &c.state.info.pubsub;
    match kind {
        Kind::Shard => ps.count(Kind::Shard) as i64,
        _ => (ps.count(Kind::Channel) + ps.count(Kind::Pattern)) as i64,
    }
}

/// `(P|S)SUBSCRIBE name [name ...]`: one push-shaped reply per name, in order, counting the
/// client's subscriptions after each. Replies go out only once every new name is known to every
/// thread, so a PUBLISH sent anywhere after the reply reaches this client.
async fn subscribe(c: &mut Conn, kind: Kind, args: Vec<Bytes>) {
    let engine = c.engine().clone();
    let info = c.state.info.clone();
    let mut waits = Vec::new();
    for name in &args[1..] {
        let (_, wait) = registry::subscribe(Some(&engine), &info, kind, name);
        waits.extend(wait);
        let n = reply_count(c, kind);
        c.out.push(3);
        c.out.bulk(words(kind).0);
        c.out.bulk(name);
        c.out.int(n);
    }
    for w in waits {
        w.wait().await;
    }
}

/// `(P|S)UNSUBSCRIBE [name ...]`: with no names, every subscription of the kind (or one reply
/// with a null name when there is none).
fn unsubscribe(c: &mut Conn, kind: Kind, args: &[Bytes]) {
    let engine = c.engine().clone();
    let info = c.state.info.clone();
    let names: Vec<Bytes> = if args.len() > 1 {
        args[1..].to_vec()
    } else {
        info.pubsub.subs.borrow()[kind as usize].names().to_vec()
    };
    let word = words(kind).1;
    if names.is_empty() {
        c.out.push(3);
        c.out.bulk(word);
        c.out.null();
        c.out.int(reply_count(c, kind));
        return;
    }
    for name in &names {
        registry::unsubscribe(Some(&engine), &info, kind, name);
        c.out.push(3);
        c.out.bulk(word);
        c.out.bulk(name);
        c.out.int(reply_count(c, kind));
    }
}

fn cmd_subscribe(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(subscribe(c, Kind::Channel, args))
}

fn cmd_psubscribe(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(subscribe(c, Kind::Pattern, args))
}

fn cmd_ssubscribe(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(subscribe(c, Kind::Shard, args))
}

fn cmd_unsubscribe(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move { unsubscribe(c, Kind::Channel, &args) })
}

fn cmd_punsubscribe(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move { unsubscribe(c, Kind::Pattern, &args) })
}

fn cmd_sunsubscribe(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move { unsubscribe(c, Kind::Shard, &args) })
}

/// One PUBLISH or SPUBLISH of a pipelined run.
pub struct Publish {
    pub kind: Kind,
    pub channel: Bytes,
    pub message: Bytes,
}

/// Delivers each message to every subscriber on every thread, in order, and returns how many
/// subscriptions received each. Local subscribers get them inline; each other thread with
/// subscribers of any of them gets one hop carrying its share, in order. The counts wait for every
/// such thread, so one publisher's messages reach each subscriber in publish order, pipelined or
/// not, and a pipelined run of PUBLISHes costs one hop per thread instead of one per message.
pub async fn publish_many(c: &Conn, items: Vec<Publish>) -> Vec<usize> {
    let engine = c.engine();
    let limit = c.server.config.obuf_limit_pubsub();
    let me = darter_engine::engine::thread_index().unwrap_or(0);
    let mut counts = vec![0; items.len()];
    // Per remote thread: the indexes of the items it must deliver.
    let mut remote: Vec<(usize, Vec<usize>)> = Vec::new();
    for (i, it) in items.iter().enumerate() {
        for t in registry::targets(it.kind, &it.channel).iter() {
            if t == me {
                counts[i] += registry::deliver_local(it.kind, &it.channel, &it.message, limit);
            } else {
                match remote.iter_mut().find(|(rt, _)| *rt == t) {
                    Some((_, v)) => v.push(i),
                    None => remote.push((t, vec![i])),
                }
            }
        }
    }
    if remote.is_empty() {
        return counts;
    }
    let items = std::sync::Arc::new(items);
    let mut acks: Vec<(Vec<usize>, oneshot::Receiver<Vec<usize>>)> = Vec::new();
    for (t, idx) in remote {
        let (tx, rx) = oneshot::channel();
        let (items, which) = (items.clone(), idx.clone());
        engine.send(
            t,
            Box::new(move || {
                let n = which
                    .iter()
                    .map(|&i| {
                        let it = &items[i];
                        registry::deliver_local(it.kind, &it.channel, &it.message, limit)
                    })
                    .collect();
                let _ = tx.send(n);
            }),
        );
        acks.push((idx, rx));
    }
    for (idx, rx) in acks {
        if let Ok(n) = rx.await {
            for (i, k) in idx.into_iter().zip(n) {
                counts[i] += k;
            }
        }
    }
    counts
}

/// Whether a registered command is PUBLISH or SPUBLISH (runs of them are published together).
pub fn is_publish(name: &str) -> Option<Kind> {
    match name {
        "publish" => Some(Kind::Channel),
        "spublish" => Some(Kind::Shard),
        _ => None,
    }
}

async fn publish_one(c: &mut Conn, kind: Kind, args: Vec<Bytes>) {
    let item = Publish {
        kind,
        channel: args[1].clone(),
        message: args[2].clone(),
    };
    let n = publish_many(c, vec![item]).await;
    c.out.int(n[0] as i64);
}

/// PUBLISH channel message (a pipelined run of PUBLISH/SPUBLISH goes through `publish_many`
/// together, see dispatch).
fn cmd_publish(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(publish_one(c, Kind::Channel, args))
}

/// SPUBLISH shardchannel message
fn cmd_spublish(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(publish_one(c, Kind::Shard, args))
}

const HELP: &[&str] = &[
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
];

/// Names with subscribers on any thread, each once, in first-seen order (Redis's order is its
/// dict's, i.e. unspecified).
pub async fn all_names(c: &Conn, kind: Kind, pattern: Option<Bytes>) -> Vec<Bytes> {
    let per_thread = c
        .engine()
        .on_all_threads(move |_| registry::local_names(kind, pattern.as_deref()))
        .await;
    let mut seen = HashSet::new();
    per_thread
        .into_iter()
        .flatten()
        .filter(|n| seen.insert(n.clone()))
        .collect()
}

/// Subscribers of each name summed over threads.
async fn counts(c: &Conn, kind: Kind, names: Vec<Bytes>) -> Vec<usize> {
    let n = names.len();
    let names = std::sync::Arc::new(names);
    let per_thread = c
        .engine()
        .on_all_threads(move |_| registry::local_counts(kind, &names))
        .await;
    let mut sum = vec![0; n];
    for t in per_thread {
        for (s, v) in sum.iter_mut().zip(t) {
            *s += v;
        }
    }
    sum
}

/// PUBSUB <subcommand> ...
fn cmd_pubsub(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        let sub = args[1].to_ascii_lowercase();
        match sub.as_slice() {
            b"help" => c.out.help(HELP),
            b"channels" | b"shardchannels" if args.len() <= 3 => {
                let kind = if sub == b"channels" {
                    Kind::Channel
                } else {
                    Kind::Shard
                };
                let names = all_names(c, kind, args.get(2).cloned()).await;
                c.out.array(names.len());
                for n in &names {
                    c.out.bulk(n);
                }
            }
            b"numsub" | b"shardnumsub" => {
                let kind = if sub == b"numsub" {
                    Kind::Channel
                } else {
                    Kind::Shard
                };
                let names = args[2..].to_vec();
                let n = counts(c, kind, names.clone()).await;
                c.out.array(names.len() * 2);
                for (name, k) in names.iter().zip(n) {
                    c.out.bulk(name);
                    c.out.int(k as i64);
                }
            }
            b"numpat" => {
                let n = all_names(c, Kind::Pattern, None).await.len();
                c.out.int(n as i64);
            }
            _ => c
                .out
                .error(&errors::unknown_subcommand_or_args(&args[1], "pubsub")),
        }
    })
}

/// Unique channels, patterns and shard channels with subscribers (INFO stats).
pub async fn info_counts(c: &Conn) -> [usize; 3] {
    [
        all_names(c, Kind::Channel, None).await.len(),
        all_names(c, Kind::Pattern, None).await.len(),
        all_names(c, Kind::Shard, None).await.len(),
    ]
}
