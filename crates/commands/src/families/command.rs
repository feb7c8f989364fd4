//! COMMAND: the bare form, COUNT, INFO, LIST, GETKEYS, GETKEYSANDFLAGS, HELP.
//!
//! Everything is read from the registry (`registry().specs`), whose metadata is Redis 7.0's own
//! table, so the replies have Redis's shape and content for every command darter implements.
//! darter reports only what it implements: unimplemented commands are absent (COMMAND INFO gives
//! nil for them, COMMAND GETKEYS says "Invalid command specified", as for an unknown command),
//! and a container lists only its implemented subcommands, since the others answer as unknown
//! subcommands. Redis lists commands and subcommands in its hash tables' (per-process random)
//! order; darter lists them in registry order and subcommands by name.
//!
//! COMMAND DOCS is not offered: it needs per-command documentation (summary, since, group,
//! complexity, arguments) that the metadata table does not carry, and a partial DOCS would
//! mislead clients that build help from it. It answers as an unknown subcommand.

use crate::config::glob_match;
use crate::context::Conn;
use crate::errors;
use crate::keyspec::{key_error_message, key_positions_with_flags, KeyError};
use crate::meta::{BeginSearch, FindKeys, KeySpec, Meta};
use crate::registry::{registry, Cmd, Handler, LocalBoxFuture, Spec};
use bytes::Bytes;
use darter_resp::ReplyWriter;

pub static COMMANDS: &[Cmd] = &[Cmd::with_subs(
    "command",
    Handler::Conn(cmd_command),
    &[
        "count",
        "getkeys",
        "getkeysandflags",
        "help",
        "info",
        "list",
    ],
)];

/// COMMAND HELP: Redis 7.0's text without DOCS.
const HELP: &[&str] = &[
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
    "HELP",
    "    Prints this help.",
];

fn cmd_command(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        if args.len() == 1 {
            return all_info(&mut c.out);
        }
        let sub = args[1].to_ascii_lowercase();
        match sub.as_slice() {
            b"count" => c.out.int(registry().specs.len() as i64),
            b"info" if args.len() == 2 => all_info(&mut c.out),
            b"info" => {
                c.out.array(args.len() - 2);
                for name in &args[2..] {
                    match lookup_by_name(name) {
                        Some((meta, subs)) => write_info(&mut c.out, meta, subs),
                        None => c.out.null(),
                    }
                }
            }
            b"list" => command_list(c, &args),
            b"getkeys" => getkeys(c, &args[2..], false),
            b"getkeysandflags" => getkeys(c, &args[2..], true),
            b"help" => c.out.help(HELP),
            _ => c
                .out
                .error_bytes(&errors::unknown_subcommand(&args[1], "command")),
        }
    })
}

/// The implemented subcommands of a spec, by name.
fn subs_of(spec: &Spec) -> Vec<&'static Meta> {
    let mut subs = spec.subs.clone();
    subs.sort_by_key(|m| m.name);
    subs
}

/// COMMAND and COMMAND INFO without names: every registered command.
fn all_info(out: &mut ReplyWriter) {
    let specs = &registry().specs;
    out.array(specs.len());
    for spec in specs {
        write_info(out, spec.meta, subs_of(spec));
    }
}

/// Redis's `lookupCommandBySds` over what darter implements: `name` or `container|sub`
/// (case-insensitive); a sub-name on a plain command, or more than one `|`, finds nothing.
fn lookup_by_name(name: &[u8]) -> Option<(&'static Meta, Vec<&'static Meta>)> {
    let mut parts = name.split(|&b| b == b'|');
    let base = parts.next()?;
    let sub = parts.next();
    if parts.next().is_some() {
        return None;
    }
    let spec = registry().find(base)?;
    match sub {
        None => Some((spec.meta, subs_of(spec))),
        Some(s) if spec.is_container() => spec.sub(s).map(|m| (m, Vec::new())),
        Some(_) => None,
    }
}

/// One command's COMMAND INFO entry, as Redis 7.0's `addReplyCommandInfo` writes it: name,
/// arity, flags, first/last/step, ACL categories, tips, key specs, subcommands. Sets become
/// arrays in RESP2; a command without subcommands gets an empty set there.
fn write_info(out: &mut ReplyWriter, meta: &Meta, subs: Vec<&'static Meta>) {
    out.array(10);
    out.bulk(meta.name.as_bytes());
    out.int(i64::from(meta.arity));
    status_set(out, meta.flags);
    out.int(i64::from(meta.first_key));
    out.int(i64::from(meta.last_key));
    out.int(i64::from(meta.step));
    status_set(out, meta.acl);
    out.set(meta.tips.len());
    for t in meta.tips {
        out.bulk(t.as_bytes());
    }
    out.set(meta.key_specs.len());
    for ks in meta.key_specs {
        write_key_spec(out, ks);
    }
    if meta.subcommands.is_empty() {
        out.set(0);
    } else {
        out.array(subs.len());
        for s in subs {
            write_info(out, s, Vec::new());
        }
    }
}

fn status_set(out: &mut ReplyWriter, items: &[&str]) {
    out.set(items.len());
    for i in items {
        out.simple(i.as_bytes());
    }
}

/// One key spec as Redis's `addReplyCommandKeySpecs` writes it: a map of (notes), flags,
/// begin_search {type, spec}, find_keys {type, spec}.
fn write_key_spec(out: &mut ReplyWriter, ks: &KeySpec) {
    out.map(3 + usize::from(ks.notes.is_some()));
    if let Some(notes) = ks.notes {
        out.bulk(b"notes");
        out.bulk(notes.as_bytes());
    }
    out.bulk(b"flags");
    status_set(out, ks.flags);

    out.bulk(b"begin_search");
    out.map(2);
    out.bulk(b"type");
    match ks.begin_search {
        BeginSearch::Index(pos) => {
            out.bulk(b"index");
            out.bulk(b"spec");
            out.map(1);
            out.bulk(b"index");
            out.int(i64::from(pos));
        }
        BeginSearch::Keyword { keyword, startfrom } => {
            out.bulk(b"keyword");
            out.bulk(b"spec");
            out.map(2);
            out.bulk(b"keyword");
            out.bulk(keyword.as_bytes());
            out.bulk(b"startfrom");
            out.int(i64::from(startfrom));
        }
        BeginSearch::Unknown => {
            out.bulk(b"unknown");
            out.bulk(b"spec");
            out.map(0);
        }
    }

    out.bulk(b"find_keys");
    out.map(2);
    out.bulk(b"type");
    match ks.find_keys {
        FindKeys::Range {
            lastkey,
            step,
            limit,
        } => {
            out.bulk(b"range");
            out.bulk(b"spec");
            out.map(3);
            out.bulk(b"lastkey");
            out.int(i64::from(lastkey));
            out.bulk(b"keystep");
            out.int(i64::from(step));
            out.bulk(b"limit");
            out.int(i64::from(limit));
        }
        FindKeys::Keynum {
            keynumidx,
            firstkey,
            step,
        } => {
            out.bulk(b"keynum");
            out.bulk(b"spec");
            out.map(3);
            out.bulk(b"keynumidx");
            out.int(i64::from(keynumidx));
            out.bulk(b"firstkey");
            out.int(i64::from(firstkey));
            out.bulk(b"keystep");
            out.int(i64::from(step));
        }
        FindKeys::Unknown => {
            out.bulk(b"unknown");
            out.bulk(b"spec");
            out.map(0);
        }
    }
}

/// COMMAND LIST's filter.
enum Filter<'a> {
    None,
    /// darter loads no modules, so nothing matches.
    Module,
    /// An ACL category name without `@`, case-insensitive.
    AclCat(&'a [u8]),
    /// A glob matched case-insensitively against the full name (`config|get`).
    Pattern(&'a [u8]),
}

impl Filter<'_> {
    fn keeps(&self, meta: &Meta) -> bool {
        match self {
            Filter::None => true,
            Filter::Module => false,
            Filter::AclCat(cat) => meta.acl.iter().any(|a| {
                a.strip_prefix('@')
                    .is_some_and(|a| a.as_bytes().eq_ignore_ascii_case(cat))
            }),
            Filter::Pattern(p) => glob_match(p, meta.name.as_bytes(), true),
        }
    }
}

/// COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]: the names of every
/// command and implemented subcommand the filter keeps (a subcommand is judged on its own).
fn command_list(c: &mut Conn, args: &[Bytes]) {
    let mut filter = Filter::None;
    let mut i = 2;
    while i < args.len() {
        let more = args.len() - 1 - i;
        if !(args[i].eq_ignore_ascii_case(b"filterby") && more == 2) {
            return c.out.error(errors::SYNTAX);
        }
        let arg = &args[i + 2][..];
        let kind = args[i + 1].to_ascii_lowercase();
        filter = match kind.as_slice() {
            b"module" => Filter::Module,
            b"aclcat" => Filter::AclCat(arg),
            b"pattern" => Filter::Pattern(arg),
            _ => return c.out.error(errors::SYNTAX),
        };
        i += 3;
    }
    let mut names: Vec<&'static str> = Vec::new();
    for spec in &registry().specs {
        if filter.keeps(spec.meta) {
            names.push(spec.meta.name);
        }
        for m in subs_of(spec) {
            if filter.keeps(m) {
                names.push(m.name);
            }
        }
    }
    c.out.array(names.len());
    for n in names {
        c.out.bulk(n.as_bytes());
    }
}

/// The command a GETKEYS call names, as Redis's non-strict `lookupCommand` resolves it, over
/// what darter implements: a container with a second argument resolves to that subcommand.
fn resolve(call: &[Bytes]) -> Option<&'static Meta> {
    let spec = registry().find(call.first()?)?;
    if call.len() == 1 || !spec.is_container() {
        return Some(spec.meta);
    }
    spec.sub(&call[1])
}

/// COMMAND GETKEYS / GETKEYSANDFLAGS <full command>.
fn getkeys(c: &mut Conn, call: &[Bytes], with_flags: bool) {
    let Some(meta) = resolve(call) else {
        return c.out.error(key_error_message(&KeyError::UnknownCommand));
    };
    let refs: Vec<&[u8]> = call.iter().map(|a| &a[..]).collect();
    match key_positions_with_flags(meta, &refs) {
        Err(e) => c.out.error(key_error_message(&e)),
        Ok(keys) => {
            c.out.array(keys.len());
            for (pos, flags) in keys {
                if with_flags {
                    c.out.array(2);
                    c.out.bulk(&call[pos]);
                    status_set(&mut c.out, flags);
                } else {
                    c.out.bulk(&call[pos]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspec::lookup;
    use darter_resp::Protocol;

    fn info(meta: &Meta, subs: Vec<&'static Meta>, proto: Protocol) -> String {
        let mut w = ReplyWriter::new(proto);
        write_info(&mut w, meta, subs);
        String::from_utf8(w.buf.to_vec()).unwrap()
    }

    /// Captured from redis-server 7.0.15 (`COMMAND INFO get`, without the outer array).
    #[test]
    fn info_matches_redis_resp2_and_resp3() {
        let get = lookup("get").unwrap();
        let resp2 = "*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n";
        assert_eq!(info(get, Vec::new(), Protocol::Resp2), resp2);
        let resp3 = "*10 $3 get :2 ~2 +readonly +fast :1 :1 :1 ~3 +@read +@string +@fast ~0 ~1 %3 $5 flags ~2 +RO +access $12 begin_search %2 $4 type $5 index $4 spec %1 $5 index :1 $9 find_keys %2 $4 type $5 range $4 spec %3 $7 lastkey :0 $7 keystep :1 $5 limit :0 ~0 ";
        assert_eq!(
            info(get, Vec::new(), Protocol::Resp3).replace("\r\n", " "),
            resp3
        );
        let sort = lookup("sort").unwrap();
        let resp3 = "*10 $4 sort :-2 ~3 +write +denyoom +movablekeys :1 :1 :1 ~6 +@write +@set +@sortedset +@list +@slow +@dangerous ~0 ~3 %3 $5 flags ~2 +RO +access $12 begin_search %2 $4 type $5 index $4 spec %1 $5 index :1 $9 find_keys %2 $4 type $5 range $4 spec %3 $7 lastkey :0 $7 keystep :1 $5 limit :0 %4 $5 notes $120 For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort $5 flags ~2 +RO +access $12 begin_search %2 $4 type $7 unknown $4 spec %0 $9 find_keys %2 $4 type $7 unknown $4 spec %0 %4 $5 notes $116 For the optional STORE keyword. It is marked 'unknown' because the keyword can appear anywhere in the argument array $5 flags ~2 +OW +update $12 begin_search %2 $4 type $7 unknown $4 spec %0 $9 find_keys %2 $4 type $7 unknown $4 spec %0 ~0 ";
        assert_eq!(
            info(sort, Vec::new(), Protocol::Resp3).replace("\r\n", " "),
            resp3
        );
        let zus = lookup("zunionstore").unwrap();
        let resp3 = "*10 $11 zunionstore :-4 ~3 +write +denyoom +movablekeys :1 :1 :1 ~3 +@write +@sortedset +@slow ~0 ~2 %3 $5 flags ~2 +OW +update $12 begin_search %2 $4 type $5 index $4 spec %1 $5 index :1 $9 find_keys %2 $4 type $5 range $4 spec %3 $7 lastkey :0 $7 keystep :1 $5 limit :0 %3 $5 flags ~2 +RO +access $12 begin_search %2 $4 type $5 index $4 spec %1 $5 index :2 $9 find_keys %2 $4 type $6 keynum $4 spec %3 $9 keynumidx :0 $8 firstkey :1 $7 keystep :1 ~0 ";
        assert_eq!(
            info(zus, Vec::new(), Protocol::Resp3).replace("\r\n", " "),
            resp3
        );
        let migrate = lookup("migrate").unwrap();
        let resp3 = "*10 $7 migrate :-6 ~2 +write +movablekeys :3 :3 :1 ~4 +@keyspace +@write +@slow +@dangerous ~1 $23 nondeterministic_output ~2 %3 $5 flags ~3 +RW +access +delete $12 begin_search %2 $4 type $5 index $4 spec %1 $5 index :3 $9 find_keys %2 $4 type $5 range $4 spec %3 $7 lastkey :0 $7 keystep :1 $5 limit :0 %3 $5 flags ~4 +RW +access +delete +incomplete $12 begin_search %2 $4 type $7 keyword $4 spec %2 $7 keyword $4 KEYS $9 startfrom :-2 $9 find_keys %2 $4 type $5 range $4 spec %3 $7 lastkey :-1 $7 keystep :1 $5 limit :0 ~0 ";
        assert_eq!(
            info(migrate, Vec::new(), Protocol::Resp3).replace("\r\n", " "),
            resp3
        );
    }

    #[test]
    fn containers_list_subcommands() {
        let config = lookup("config").unwrap();
        let get = crate::keyspec::lookup_sub(config, "get").unwrap();
        let s = info(config, vec![get], Protocol::Resp3).replace("\r\n", " ");
        assert_eq!(
            s,
            "*10 $6 config :-2 ~0 :0 :0 :0 ~1 +@slow ~0 ~0 *1 *10 $10 config|get :-3 ~4 +admin +noscript +loading +stale :0 :0 :0 ~3 +@admin +@slow +@dangerous ~0 ~0 ~0 "
        );
    }

    #[test]
    fn lookups_by_name() {
        assert_eq!(lookup_by_name(b"CONFIG|Get").unwrap().0.name, "config|get");
        let (config, subs) = lookup_by_name(b"config").unwrap();
        assert_eq!(config.name, "config");
        let names: Vec<&str> = subs.iter().map(|m| m.name).collect();
        assert_eq!(
            names,
            [
                "config|get",
                "config|help",
                "config|resetstat",
                "config|set"
            ]
        );
        for bad in [
            &b""[..],
            b"config|",
            b"|get",
            b"config|get|x",
            b"config|rewrite",
            b"ping|x",
            b"nosuchcommand",
        ] {
            assert!(
                lookup_by_name(bad).is_none(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
