//! CLIENT: ID SETNAME GETNAME LIST INFO KILL SETINFO NO-EVICT REPLY HELP; TRACKING CACHING GETREDIR
//! TRACKINGINFO live in families/tracking.
//!
//! Client records live on the thread serving each connection (`clients`), so LIST and KILL ask
//! every thread with a hop and merge the answers; nothing here reaches shard data.

use crate::args::parse_i64;
use crate::clients::{self, ClientInfo};
use crate::context::{Conn, ReplyMode};
use crate::errors;
use crate::registry::{Cmd, Handler, LocalBoxFuture};
use bytes::Bytes;
use std::time::Instant;

pub static COMMANDS: &[Cmd] = &[Cmd::with_subs(
    "client",
    Handler::Conn(cmd_client),
    &[
        "id",
        "setname",
        "getname",
        "list",
        "info",
        "kill",
        "setinfo",
        "no-evict",
        "reply",
        "unblock",
        "tracking",
        "caching",
        "getredir",
        "trackinginfo",
        "help",
    ],
)];

/// Redis's rule for client names (and lib-name/lib-ver): printable ASCII without spaces.
pub fn validate_name(name: &[u8]) -> Result<(), &'static str> {
    if name.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        Err("ERR Client names cannot contain spaces, newlines or special characters.")
    } else {
        Ok(())
    }
}

fn cmd_client(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        let sub = args[1].to_ascii_lowercase();
        match sub.as_slice() {
            b"id" => c.out.int(c.state.info.id as i64),
            b"getname" => match &*c.state.info.name.borrow() {
                Some(n) => c.out.bulk(n),
                None => c.out.null(),
            },
            b"setname" => match validate_name(&args[2]) {
                Ok(()) => {
                    *c.state.info.name.borrow_mut() = if args[2].is_empty() {
                        None
                    } else {
                        Some(args[2].to_vec())
                    };
                    c.out.ok();
                }
                Err(e) => c.out.error(e),
            },
            b"setinfo" => client_setinfo(c, &args),
            b"info" => {
                let line = format_client(&c.state.info, Instant::now());
                c.out.verbatim("txt", line.as_bytes());
            }
            b"list" => client_list(c, &args).await,
            b"kill" => client_kill(c, &args).await,
            b"unblock" => client_unblock(c, &args).await,
            b"tracking" => super::tracking::client_tracking(c, &args).await,
            b"caching" => super::tracking::client_caching(c, &args),
            b"getredir" => super::tracking::client_getredir(c),
            b"trackinginfo" => super::tracking::client_trackinginfo(c),
            b"no-evict" => {
                if args.len() != 3 {
                    return c.out.error(errors::SYNTAX);
                }
                if args[2].eq_ignore_ascii_case(b"on") {
                    c.state.info.no_evict.set(true);
                    c.out.ok();
                } else if args[2].eq_ignore_ascii_case(b"off") {
                    c.state.info.no_evict.set(false);
                    c.out.ok();
                } else {
                    c.out.error(errors::SYNTAX);
                }
            }
            b"reply" => {
                let mode = args[2].to_ascii_lowercase();
                match mode.as_slice() {
                    b"on" => {
                        c.state.reply_mode = ReplyMode::On;
                        c.out.ok();
                    }
                    b"off" => c.state.reply_mode = ReplyMode::Off,
                    b"skip" => {
                        if c.state.reply_mode != ReplyMode::Off {
                            c.state.reply_mode = ReplyMode::SkipNext;
                        }
                    }
                    _ => c.out.error(errors::SYNTAX),
                }
            }
            b"help" => c.out.help(HELP),
            _ => c
                .out
                .error_bytes(&errors::unknown_subcommand(&args[1], "client")),
        }
    })
}

const HELP: &[&str] = &[
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "    * ID <client-id>",
    "      Kill connections by client id.",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "    * ID <client-id> [<client-id> ...]",
    "      Return clients with the specified IDs.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "SETINFO <option> <value>",
    "    Set client meta attr. Options are:",
    "    * LIB-NAME: the client lib name.",
    "    * LIB-VER: the client lib version.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "HELP",
    "    Print this help.",
];

/// CLIENT UNBLOCK client-id [TIMEOUT|ERROR]: wakes a client blocked in a blocking command, as
/// if it timed out or with an UNBLOCKED error; 1 if such a client was blocked, else 0. The reason
/// is checked before the id, as Redis does.
async fn client_unblock(c: &mut Conn, args: &[Bytes]) {
    if args.len() > 4 {
        return c
            .out
            .error(&errors::unknown_subcommand_or_args(&args[1], "client"));
    }
    let error = match args.get(3) {
        None => false,
        Some(r) if r.eq_ignore_ascii_case(b"timeout") => false,
        Some(r) if r.eq_ignore_ascii_case(b"error") => true,
        Some(_) => {
            return c
                .out
                .error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
        }
    };
    let Some(id) = darter_collections::num::string2ll(&args[2]) else {
        return c.out.error(errors::NOT_INTEGER);
    };
    let woken = c
        .engine()
        .on_all_threads(move |_| {
            let mut n = 0;
            clients::for_each(|ci| {
                if ci.id as i64 == id && ci.request_unblock(error) {
                    n += 1;
                }
            });
            n
        })
        .await;
    c.out.int(woken.iter().sum::<i64>().min(1));
}

/// CLIENT SETINFO <LIB-NAME|LIB-VER> value (Redis 7.2 semantics).
fn client_setinfo(c: &mut Conn, args: &[Bytes]) {
    let attr = args[2].to_ascii_lowercase();
    let slot = match attr.as_slice() {
        b"lib-name" => &c.state.info.lib_name,
        b"lib-ver" => &c.state.info.lib_ver,
        _ => {
            return c.out.error(&format!(
                "ERR Unrecognized option '{}'",
                errors::sanitize(&args[2], 128)
            ))
        }
    };
    let v = &args[3];
    if v.iter().any(|&ch| !(b'!'..=b'~').contains(&ch)) {
        return c.out.error(&format!(
            "ERR {} cannot contain spaces, newlines or special characters.",
            String::from_utf8_lossy(&attr)
        ));
    }
    *slot.borrow_mut() = if v.is_empty() { None } else { Some(v.to_vec()) };
    c.out.ok();
}

fn opt_str(v: &Option<Vec<u8>>) -> String {
    v.as_ref()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default()
}

/// One CLIENT LIST line (without the trailing newline), in Redis 7.0's field order plus
/// Redis 7.2's lib-name/lib-ver.
pub fn format_client(ci: &ClientInfo, now: Instant) -> String {
    let age = now.duration_since(ci.created).as_secs();
    let idle = now.duration_since(ci.last_interaction.get()).as_secs();
    let mut flags = String::new();
    if ci.pubsub.active() {
        flags.push('P');
    }
    if ci.multi.get() >= 0 {
        flags.push('x');
    }
    if ci.blocked.get() {
        flags.push('b');
    }
    super::tracking::list_flags(ci, &mut flags);
    if ci
        .watch_dirty
        .borrow()
        .as_ref()
        .is_some_and(|f| f.load(std::sync::atomic::Ordering::Acquire))
    {
        flags.push('d');
    }
    if ci.no_evict.get() {
        flags.push('e');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let qbuf = ci.query_buf.get();
    let qfree = ci.query_buf_free.get();
    let obl = ci.out_buf.get();
    let omem = ci.pubsub.pending_len();
    let subs = ci.pubsub.subs.borrow();
    let (sub, psub, ssub) = (subs[0].len(), subs[1].len(), subs[2].len());
    drop(subs);
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem=0 multi-mem=0 rbs={} rbp={} obl={} oll={} omem={} tot-mem={} events=r cmd={} user=default redir={} resp={} lib-name={} lib-ver={}\n",
        ci.id,
        ci.addr,
        ci.laddr,
        ci.fd,
        opt_str(&ci.name.borrow()),
        age,
        idle,
        flags,
        ci.db.get(),
        sub,
        psub,
        ssub,
        ci.multi.get(),
        qbuf,
        qfree,
        qbuf + qfree,
        qbuf,
        obl,
        usize::from(omem > 0),
        omem,
        qbuf + qfree + obl + omem + std::mem::size_of::<ClientInfo>(),
        ci.last_cmd.get(),
        super::tracking::list_redir(ci),
        ci.resp.get(),
        opt_str(&ci.lib_name.borrow()),
        opt_str(&ci.lib_ver.borrow()),
    )
}

/// CLIENT LIST [TYPE type | ID id [id ...]], parsed as Redis 7.0 does: exactly one TYPE filter or
/// one ID list. IDs must be integers; ones that match no client (0, negative) are simply absent,
/// and lines come in the order the IDs were given.
async fn client_list(c: &mut Conn, args: &[Bytes]) {
    let mut ids: Option<Vec<i64>> = None;
    // Some(true): only subscribed clients; Some(false): only the others.
    let mut pubsub: Option<bool> = None;
    if args.len() == 4 && args[2].eq_ignore_ascii_case(b"type") {
        match args[3].to_ascii_lowercase().as_slice() {
            b"normal" => pubsub = Some(false),
            b"pubsub" => pubsub = Some(true),
            // No replication yet: no master or replica clients.
            b"master" | b"replica" | b"slave" => ids = Some(Vec::new()),
            _ => {
                return c.out.error(&format!(
                    "ERR Unknown client type '{}'",
                    errors::sanitize(&args[3], 128)
                ))
            }
        }
    } else if args.len() > 3 && args[2].eq_ignore_ascii_case(b"id") {
        let mut v = Vec::with_capacity(args.len() - 3);
        for a in &args[3..] {
            match parse_i64(a) {
                Some(id) => v.push(id),
                None => return c.out.error("ERR Invalid client ID"),
            }
        }
        ids = Some(v);
    } else if args.len() != 2 {
        return c.out.error(errors::SYNTAX);
    }
    let lines = c
        .engine()
        .on_all_threads(move |_| {
            let now = Instant::now();
            let mut v = Vec::new();
            clients::for_each(|ci| {
                if pubsub.is_none_or(|p| p == ci.pubsub.active()) {
                    v.push((ci.id, format_client(ci, now)))
                }
            });
            v
        })
        .await;
    let mut all: Vec<(u64, String)> = lines.into_iter().flatten().collect();
    all.sort_by_key(|(id, _)| *id);
    let text: String = match &ids {
        None => all.into_iter().map(|(_, l)| l).collect(),
        Some(ids) => ids
            .iter()
            .filter_map(|&id| all.iter().find(|(cid, _)| *cid as i64 == id))
            .map(|(_, l)| l.as_str())
            .collect(),
    };
    c.out.verbatim("txt", text.as_bytes());
}

#[derive(Clone, Default)]
struct KillFilter {
    id: Option<u64>,
    addr: Option<String>,
    laddr: Option<String>,
    type_none: bool,
    /// TYPE normal (false) or pubsub (true).
    pubsub: Option<bool>,
    skip_id: Option<u64>,
}

async fn client_kill(c: &mut Conn, args: &[Bytes]) {
    let me = c.state.info.id;
    let legacy = args.len() == 3;
    let mut f = KillFilter::default();
    if legacy {
        f.addr = Some(String::from_utf8_lossy(&args[2]).into_owned());
    } else {
        // Options are read left to right and the first bad one is the error, as in Redis.
        let mut skipme = true;
        for pair in args[2..].chunks(2) {
            let [k, v] = pair else {
                return c.out.error(errors::SYNTAX);
            };
            match k.to_ascii_lowercase().as_slice() {
                b"id" => match parse_i64(v) {
                    Some(id) if id > 0 => f.id = Some(id as u64),
                    _ => return c.out.error("ERR client-id should be greater than 0"),
                },
                b"type" => match v.to_ascii_lowercase().as_slice() {
                    b"normal" => f.pubsub = Some(false),
                    b"pubsub" => f.pubsub = Some(true),
                    b"master" | b"replica" | b"slave" => f.type_none = true,
                    _ => {
                        return c.out.error(&format!(
                            "ERR Unknown client type '{}'",
                            errors::sanitize(v, 128)
                        ))
                    }
                },
                b"addr" => f.addr = Some(String::from_utf8_lossy(v).into_owned()),
                b"laddr" => f.laddr = Some(String::from_utf8_lossy(v).into_owned()),
                // Only the default user exists, and every client is authenticated as it.
                b"user" if &v[..] != b"default" => {
                    return c.out.error(&format!(
                        "ERR No such user '{}'",
                        errors::sanitize(v, usize::MAX)
                    ))
                }
                b"user" => {}
                b"skipme" => match v.to_ascii_lowercase().as_slice() {
                    b"yes" => skipme = true,
                    b"no" => skipme = false,
                    _ => return c.out.error(errors::SYNTAX),
                },
                _ => return c.out.error(errors::SYNTAX),
            }
        }
        if skipme {
            f.skip_id = Some(me);
        }
    }
    let filter = f.clone();
    let counts = c
        .engine()
        .on_all_threads(move |_| {
            let mut n = 0i64;
            clients::for_each(|ci| {
                let f = &filter;
                let matches = !f.type_none
                    && f.pubsub.is_none_or(|p| p == ci.pubsub.active())
                    && f.id.is_none_or(|id| id == ci.id)
                    && f.addr.as_ref().is_none_or(|a| *a == ci.addr)
                    && f.laddr.as_ref().is_none_or(|a| *a == ci.laddr)
                    && f.skip_id != Some(ci.id);
                if matches {
                    n += 1;
                    if ci.id == me {
                        // Killing ourselves: reply first, then close (below).
                        ci.killed.set(true);
                    } else {
                        ci.kill();
                    }
                }
            });
            n
        })
        .await;
    let killed: i64 = counts.iter().sum();
    // A client killing itself still gets its reply, then the connection closes.
    if legacy {
        if killed == 0 {
            c.out.error("ERR No such client");
        } else {
            c.out.ok();
        }
    } else {
        c.out.int(killed);
    }
    if c.state.info.killed.get() {
        c.state.info.killed.set(false);
        c.state.close_after_reply = true;
    }
}
