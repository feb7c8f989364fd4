//! Connection family: PING ECHO QUIT SELECT AUTH HELLO RESET.
//!
//! These touch only the connection's own state (and the config for passwords), so they all run
//! on the connection's thread with no hop.

use crate::args::parse_i64;
use crate::context::{Conn, ReplyMode};
use crate::errors;
use crate::registry::{Cmd, Handler, LocalBoxFuture};
use bytes::Bytes;
use darter_resp::Protocol;

/// The Redis version whose semantics darter implements (INFO, HELLO).
pub const REDIS_VERSION: &str = "7.0.15";

pub static COMMANDS: &[Cmd] = &[
    Cmd::new("ping", Handler::Conn(cmd_ping)),
    Cmd::new("echo", Handler::Conn(cmd_echo)),
    Cmd::new("quit", Handler::Conn(cmd_quit)),
    Cmd::new("select", Handler::Conn(cmd_select)),
    Cmd::new("auth", Handler::Conn(cmd_auth)),
    Cmd::new("hello", Handler::Conn(cmd_hello)),
    Cmd::new("reset", Handler::Conn(cmd_reset)),
];

/// PING [message]. A RESP2 client in subscribed mode gets `["pong", message or ""]`, the shape
/// of a pub/sub message, as in Redis.
fn cmd_ping(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        if args.len() <= 2 && c.state.info.pubsub.active() && c.out.proto == Protocol::Resp2 {
            c.out.array(2);
            c.out.bulk(b"pong");
            c.out.bulk(args.get(1).map_or(&b""[..], |a| &a[..]));
            return;
        }
        match args.len() {
            1 => c.out.simple(b"PONG"),
            2 => c.out.bulk(&args[1]),
            _ => c.out.error(&errors::wrong_args("ping")),
        }
    })
}

/// ECHO message
fn cmd_echo(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move { c.out.bulk(&args[1]) })
}

/// QUIT: replies OK, then the connection closes after writing it.
fn cmd_quit(c: &mut Conn, _args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        // Subscriptions go before the reply, as Redis frees the client right after writing it:
        // a client that has read the +OK sees no trace of them (PUBSUB NUMSUB, PUBLISH counts).
        let engine = c.engine().clone();
        super::pubsub::registry::unsubscribe_everything(Some(&engine), &c.state.info);
        c.out.ok();
        c.state.close_after_reply = true;
    })
}

/// SELECT index
fn cmd_select(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        let Some(idx) = parse_i64(&args[1]) else {
            return c.out.error(errors::NOT_INTEGER);
        };
        if idx < 0 || idx as usize >= c.engine().dbnum() {
            return c.out.error(errors::INVALID_DB);
        }
        c.state.db = idx as usize;
        c.state.info.db.set(idx as usize);
        c.out.ok();
    })
}

/// Checks credentials for the default user. Ok(()) on success, Err(reply) otherwise.
fn check_password(c: &Conn, user: Option<&[u8]>, pass: &[u8]) -> Result<(), &'static str> {
    if let Some(u) = user {
        if u != b"default" {
            return Err(errors::WRONGPASS);
        }
    }
    match c.server.config.requirepass() {
        // The default user is "nopass": any password is accepted with a username, while the
        // one-argument form is refused as misconfiguration (Redis 7.0 behaviour).
        None if user.is_some() => Ok(()),
        None => Err(errors::AUTH_NOT_CONFIGURED),
        Some(p) if p == pass => Ok(()),
        Some(_) => Err(errors::WRONGPASS),
    }
}

/// AUTH [username] password
fn cmd_auth(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        if args.len() > 3 {
            return c.out.error(errors::SYNTAX);
        }
        let (user, pass) = if args.len() == 3 {
            (Some(&args[1][..]), &args[2][..])
        } else {
            (None, &args[1][..])
        };
        match check_password(c, user, pass) {
            Ok(()) => {
                c.state.authenticated = true;
                c.out.ok();
            }
            Err(e) => c.out.error(e),
        }
    })
}

/// HELLO [protover [AUTH username password] [SETNAME clientname]]
fn cmd_hello(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        let mut proto = None;
        let mut i = 1;
        if args.len() > 1 {
            match parse_i64(&args[1]) {
                Some(v) => proto = Some(v),
                None => {
                    return c
                        .out
                        .error("ERR Protocol version is not an integer or out of range")
                }
            }
            i = 2;
            if let Some(v) = proto {
                if !(2..=3).contains(&v) {
                    return c.out.error("NOPROTO unsupported protocol version");
                }
            }
        }
        let mut auth: Option<(Bytes, Bytes)> = None;
        while i < args.len() {
            let more = args.len() - i - 1;
            if args[i].eq_ignore_ascii_case(b"AUTH") && more >= 2 {
                auth = Some((args[i + 1].clone(), args[i + 2].clone()));
                i += 3;
            } else if args[i].eq_ignore_ascii_case(b"SETNAME") && more >= 1 {
                // Redis 7.0 names the client as it parses the option: a bad name is reported
                // before later options are looked at, and the name sticks even if AUTH then fails.
                let name = &args[i + 1];
                if let Err(e) = super::client::validate_name(name) {
                    return c.out.error(e);
                }
                *c.state.info.name.borrow_mut() = if name.is_empty() {
                    None
                } else {
                    Some(name.to_vec())
                };
                i += 2;
            } else {
                return c.out.error(&format!(
                    "ERR Syntax error in HELLO option '{}'",
                    errors::sanitize(&args[i], 128)
                ));
            }
        }
        if let Some((u, p)) = &auth {
            if let Err(e) = check_password(c, Some(u), p) {
                return c.out.error(e);
            }
            c.state.authenticated = true;
        }
        if !c.state.authenticated {
            return c.out.error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
        }
        if let Some(v) = proto {
            c.set_protocol(if v == 3 {
                Protocol::Resp3
            } else {
                Protocol::Resp2
            });
        }
        let id = c.state.info.id as i64;
        let proto_now = if c.out.proto == Protocol::Resp3 { 3 } else { 2 };
        let out = &mut c.out;
        out.map(7);
        out.bulk(b"server");
        out.bulk(b"redis");
        out.bulk(b"version");
        out.bulk(REDIS_VERSION.as_bytes());
        out.bulk(b"proto");
        out.int(proto_now);
        out.bulk(b"id");
        out.int(id);
        out.bulk(b"mode");
        out.bulk(b"standalone");
        out.bulk(b"role");
        out.bulk(b"master");
        out.bulk(b"modules");
        out.array(0);
    })
}

/// RESET: back to a fresh connection's state (subscriptions dropped without replies).
fn cmd_reset(c: &mut Conn, _args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        let engine = c.engine().clone();
        super::pubsub::registry::unsubscribe_everything(Some(&engine), &c.state.info);
        super::transaction::discard(c);
        super::tracking::reset(c).await;
        c.state.db = 0;
        c.state.info.db.set(0);
        c.state.reply_mode = ReplyMode::On;
        c.state.authenticated = !c.server.config.has_password();
        *c.state.info.name.borrow_mut() = None;
        // CLIENT NO-EVICT survives RESET in Redis 7.0 (7.2 clears it).
        c.set_protocol(Protocol::Resp2);
        c.out.simple(b"RESET");
    })
}
