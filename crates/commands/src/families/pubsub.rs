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

/// Delivers `message` on `channel` to every subscriber on every thread and returns how many
/// subscriptions received it. Local subscribers get it inline, each other thread with
/// subscribers gets one hop; the count waits for all of them, so one publisher's messages reach
/// each subscriber in publish order.
pub async fn publish(c: &Conn, kind: Kind, channel: Bytes, message: Bytes) -> usize {
    let engine = c.engine();
    let limit = c.server.config.obuf_limit_pubsub();
    let me = darter_engine::engine::thread_index().unwrap_or(0);
    let mut total = 0;
    let mut acks: Vec<oneshot::Receiver<usize>> = Vec::new();
    for t in registry::targets(kind, &channel).iter() {
        if t == me {
            total += registry::deliver_local(kind, &channel, &message, limit);
            continue;
        }
        let (tx, rx) = oneshot::channel();
        let (ch, msg) = (channel.clone(), message.clone());
        engine.send(
            t,
            Box::new(move || {
                let _ = tx.send(registry::deliver_local(kind, &ch, &msg, limit));
            }),
        );
        acks.push(rx);
    }
    for a in acks {
        total += a.await.unwrap_or(0);
    }
    total
}

/// PUBLISH channel message
fn cmd_publish(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        let n = publish(c, Kind::Channel, args[1].clone(), args[2].clone()).await;
        c.out.int(n as i64);
    })
}

/// SPUBLISH shardchannel message
fn cmd_spublish(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        let n = publish(c, Kind::Shard, args[1].clone(), args[2].clone()).await;
        c.out.int(n as i64);
    })
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
            b"help" => {
                c.out.array(HELP.len());
                for l in HELP {
                    c.out.simple(l.as_bytes());
                }
            }
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
