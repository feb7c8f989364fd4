//! Which arguments of a command call are keys, exactly as Redis 7.0 decides it.
//!
//! This mirrors `getKeysFromCommandWithSpecs` / `getKeysUsingKeySpecs` and the `getkeys_proc`
//! callbacks of Redis 7.0 (db.c), which is what `COMMAND GETKEYS`, `COMMAND GETKEYSANDFLAGS`,
//! ACL key checks and cluster routing see: key specs first, and the command's own key finder
//! when the specs are incomplete, unknown, carry variable flags, or do not fit the arguments.
//! Quirks are kept on purpose (Redis parses numkeys strictly in the specs and with `atoi` in the
//! fallback, and the fallback reports the destination key last). It also looks commands up in
//! the generated table. It must not know about darter's handlers, registry or data, and must not
//! "improve" on Redis's answers: routing and `COMMAND GETKEYS` need the same keys Redis finds.

use crate::meta::{BeginSearch, FindKeys, KeySpec, Meta};
use crate::redis_table::REDIS_COMMANDS;

/// Why no keys could be reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyError {
    /// The arguments do not yield the keys the command needs.
    InvalidArgs,
    /// The command never takes keys.
    NoKeys,
    /// The argument count violates the command's arity (checked before extraction).
    WrongArity,
    /// No such command or subcommand (only from [`resolve`]-based callers).
    UnknownCommand,
}

/// The error `COMMAND GETKEYS` / `COMMAND GETKEYSANDFLAGS` replies with (no '-' or CRLF).
pub fn key_error_message(e: &KeyError) -> &'static str {
    match e {
        KeyError::InvalidArgs => "ERR Invalid arguments specified for command",
        KeyError::NoKeys => "ERR The command has no key arguments",
        KeyError::WrongArity => "ERR Invalid number of arguments specified for command",
        KeyError::UnknownCommand => "ERR Invalid command specified",
    }
}

/// A top-level command of Redis 7.0 by lowercase name (binary search over the sorted table).
pub fn lookup(name_lowercase: &str) -> Option<&'static Meta> {
    REDIS_COMMANDS
        .binary_search_by(|m| m.name.cmp(name_lowercase))
        .ok()
        .map(|i| &REDIS_COMMANDS[i])
}

/// A subcommand of `container` by lowercase subcommand name (matches `container|sub`).
pub fn lookup_sub(container: &Meta, sub_lowercase: &str) -> Option<&'static Meta> {
    let subs: &'static [Meta] = container.subcommands;
    let skip = container.name.len() + 1;
    subs.binary_search_by(|m| m.name.get(skip..).unwrap_or("").cmp(sub_lowercase))
        .ok()
        .map(|i| &subs[i])
}

/// The command a call names, as Redis's non-strict `lookupCommand` resolves it for
/// `COMMAND GETKEYS`: case-insensitive; a container with a second argument resolves to that
/// subcommand (`None` if unknown); otherwise the top-level command.
pub fn resolve(args: &[&[u8]]) -> Option<&'static Meta> {
    let base = lookup(&lower(args.first()?)?)?;
    if args.len() == 1 || base.subcommands.is_empty() {
        return Some(base);
    }
    lookup_sub(base, &lower(args[1])?)
}

fn lower(b: &[u8]) -> Option<String> {
    std::str::from_utf8(b).ok().map(str::to_ascii_lowercase)
}

/// Key positions in `args` (`args[0]` is the command name; for a subcommand pass its Meta and
/// the full call, `args[0]` = container, `args[1]` = subcommand), in the order Redis reports
/// them. Errors as `COMMAND GETKEYS` checks them: keyless command, then arity, then extraction.
pub fn key_positions(meta: &Meta, args: &[&[u8]]) -> Result<Vec<usize>, KeyError> {
    key_positions_with_flags(meta, args).map(|v| v.into_iter().map(|(p, _)| p).collect())
}

/// Like [`key_positions`], each with the flags `COMMAND GETKEYSANDFLAGS` prints for it: the
/// flags of the key spec that found it, or those the command's key finder sets (often none).
pub fn key_positions_with_flags(
    meta: &Meta,
    args: &[&[u8]],
) -> Result<Vec<(usize, &'static [&'static str])>, KeyError> {
    if !has_keys(meta) {
        return Err(KeyError::NoKeys);
    }
    let argc = i64::try_from(args.len()).unwrap_or(i64::MAX);
    let arity = i64::from(meta.arity);
    if (arity > 0 && arity != argc) || argc < -arity {
        return Err(KeyError::WrongArity);
    }
    let keys = extract(meta, args);
    if keys.is_empty() && !meta.has_flag("no_mandatory_keys") {
        return Err(KeyError::InvalidArgs);
    }
    Ok(keys)
}

type Keys = Vec<(usize, &'static [&'static str])>;
type GetKeysProc = fn(&[&[u8]]) -> Keys;

const NO_FLAGS: &[&str] = &[];
const RO_ACCESS: &[&str] = &["RO", "access"];
const OW_UPDATE: &[&str] = &["OW", "update"];
const RW_ACCESS_UPDATE: &[&str] = &["RW", "access", "update"];
const RW_ACCESS_DELETE: &[&str] = &["RW", "access", "delete"];

fn spec_has(spec: &KeySpec, flag: &str) -> bool {
    spec.flags.contains(&flag)
}

/// Redis's `doesCommandHaveKeys`.
fn has_keys(meta: &Meta) -> bool {
    getkeys_proc(meta.name).is_some() || meta.key_specs.iter().any(|s| !spec_has(s, "not_key"))
}

/// Redis's `getKeysFromCommandWithSpecs` (an empty result means "no keys").
fn extract(meta: &Meta, args: &[&[u8]]) -> Keys {
    let has_keyspec = meta.key_specs.iter().any(|s| !spec_has(s, "not_key"));
    let has_varflags = meta.key_specs.iter().any(|s| spec_has(s, "variable_flags"));
    if has_keyspec && !has_varflags {
        if let Some(keys) = keys_from_specs(meta, args) {
            return keys;
        }
    }
    getkeys_proc(meta.name).map_or_else(Vec::new, |f| f(args))
}

/// Redis's `getKeysUsingKeySpecs` with default search flags: `None` when a spec is invalid
/// for these arguments, unknown, or incomplete (the caller then tries the key finder).
fn keys_from_specs(meta: &Meta, args: &[&[u8]]) -> Option<Keys> {
    // Redis works in C `int`; argument counts beyond i32 cannot reach here in practice.
    let argc = i32::try_from(args.len()).ok()?;
    let mut keys = Keys::new();
    for spec in meta.key_specs {
        if spec_has(spec, "not_key") {
            continue;
        }
        let mut first = match spec.begin_search {
            // Redis 7.0 has no negative index; counting from the end is an extension that no
            // Redis spec uses, so it cannot change an answer.
            BeginSearch::Index(pos) if pos < 0 => argc.wrapping_add(pos),
            BeginSearch::Index(pos) => pos,
            BeginSearch::Keyword { keyword, startfrom } => {
                match find_keyword(args, argc, keyword, startfrom) {
                    Some(f) => f,
                    None => continue,
                }
            }
            BeginSearch::Unknown => return None,
        };
        let (last, step) = match spec.find_keys {
            FindKeys::Range {
                lastkey,
                step,
                limit,
            } => {
                let last = if lastkey >= 0 {
                    first.wrapping_add(lastkey)
                } else if limit == 0 {
                    argc.wrapping_add(lastkey)
                } else {
                    first.wrapping_add((argc - first) / limit + lastkey)
                };
                (last, step)
            }
            FindKeys::Keynum {
                keynumidx,
                firstkey,
                step,
            } => {
                if keynumidx >= argc {
                    return None;
                }
                // Redis reads argv[first + keynumidx] unchecked; arity makes it present.
                let arg = usize::try_from(first.wrapping_add(keynumidx))
                    .ok()
                    .and_then(|i| args.get(i))?;
                let numkeys = string2ll(arg).filter(|&n| n >= 0)?;
                first = first.wrapping_add(firstkey);
                // `(int)numkeys`: C truncates the long long to int.
                (first.wrapping_add(numkeys as i32).wrapping_sub(1), step)
            }
            FindKeys::Unknown => return None,
        };
        if last >= argc || last < first || first >= argc || first < 0 || step <= 0 {
            return None;
        }
        let mut i = first;
        while i <= last {
            keys.push((i as usize, spec.flags));
            i = i.checked_add(step)?;
        }
        if spec_has(spec, "incomplete") {
            return None;
        }
    }
    Some(keys)
}

/// The keyword begin-search: forward from `startfrom` up to (not including) the last argument,
/// or backward from `argc + startfrom` down to (not including) argument 1. Returns the index
/// after the keyword.
fn find_keyword(args: &[&[u8]], argc: i32, keyword: &str, startfrom: i32) -> Option<i32> {
    let (start, end) = if startfrom > 0 {
        (startfrom, argc - 1)
    } else {
        (argc.wrapping_add(startfrom), 1)
    };
    let mut i = start;
    while i != end {
        if i >= argc || i < 1 {
            break;
        }
        if c_eq_ignore_case(args[i as usize], keyword) {
            return Some(i + 1);
        }
        i = if start <= end { i + 1 } else { i - 1 };
    }
    None
}

/// The argument as a C string (Redis compares options with `strcasecmp`, which stops at NUL).
pub fn c_str(arg: &[u8]) -> &[u8] {
    match arg.iter().position(|&b| b == 0) {
        Some(n) => &arg[..n],
        None => arg,
    }
}

fn c_eq_ignore_case(arg: &[u8], word: &str) -> bool {
    c_str(arg).eq_ignore_ascii_case(word.as_bytes())
}

/// Redis's `string2ll`: optional '-', no '+', no leading zeros or spaces, fits i64.
fn string2ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// glibc `atoi`: `(int) strtol(s, NULL, 10)` (leading C whitespace, a sign, digits up to the
/// first other byte; strtol saturates at the long range, the cast to int truncates). Shared by
/// every place Redis parses a number with `atoi` (key specs, DEBUG SET-ACTIVE-EXPIRE).
pub fn atoi(s: &[u8]) -> i32 {
    let s = c_str(s);
    let mut i = s
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
        .unwrap_or(s.len());
    let mut neg = false;
    if let Some(&c @ (b'+' | b'-')) = s.get(i) {
        neg = c == b'-';
        i += 1;
    }
    let mut v: i64 = 0;
    for &d in s[i..].iter().take_while(|d| d.is_ascii_digit()) {
        let dv = i64::from(d - b'0');
        let next = v.checked_mul(10).and_then(|x| {
            if neg {
                x.checked_sub(dv)
            } else {
                x.checked_add(dv)
            }
        });
        match next {
            Some(x) => v = x,
            None => {
                v = if neg { i64::MIN } else { i64::MAX };
                break;
            }
        }
    }
    v as i32
}

/// The `getkeys_proc` Redis 7.0 registers for a command, if any.
fn getkeys_proc(name: &str) -> Option<GetKeysProc> {
    let f: GetKeysProc = match name {
        "zunionstore" | "zinterstore" | "zdiffstore" => |a| generic(1, 2, 3, 1, a),
        "zunion" | "zinter" | "zdiff" | "zintercard" | "sintercard" | "lmpop" | "zmpop" => {
            |a| generic(0, 1, 2, 1, a)
        }
        "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "fcall" | "fcall_ro" | "blmpop"
        | "bzmpop" => |a| generic(0, 2, 3, 1, a),
        "sort" => sort_keys,
        "sort_ro" => |_| vec![(1, RO_ACCESS)],
        "migrate" => migrate_keys,
        "georadius" | "georadiusbymember" => georadius_keys,
        "xread" | "xreadgroup" => xread_keys,
        "set" => set_keys,
        "bitfield" => bitfield_keys,
        _ => return None,
    };
    Some(f)
}

/// `genericGetKeys`: `[destkey] numkeys key...`; numkeys read with `atoi`; the destination key
/// is reported after the source keys; no flags.
fn generic(store: usize, count_at: usize, first: usize, step: usize, args: &[&[u8]]) -> Keys {
    let Some(count) = args.get(count_at) else {
        return Keys::new();
    };
    let num = atoi(count);
    let avail = (args.len() as i64 - first as i64) / step as i64;
    if num < 1 || i64::from(num) > avail {
        return Keys::new();
    }
    let num = num as usize;
    let mut keys: Keys = (0..num).map(|i| (first + i * step, NO_FLAGS)).collect();
    if store != 0 {
        keys.push((store, NO_FLAGS));
    }
    keys
}

/// `sortGetKeys`: the sort key, plus the last `STORE <key>` found while skipping the arguments
/// of LIMIT (2), GET (1) and BY (1). STORE does not skip its own argument.
fn sort_keys(args: &[&[u8]]) -> Keys {
    let mut keys = vec![(1, RO_ACCESS)];
    let mut store = None;
    let mut i = 2;
    while i < args.len() {
        let a = args[i];
        if c_eq_ignore_case(a, "limit") {
            i += 2;
        } else if c_eq_ignore_case(a, "store") && i + 1 < args.len() {
            store = Some(i + 1);
        } else if c_eq_ignore_case(a, "get") || c_eq_ignore_case(a, "by") {
            i += 1;
        }
        i += 1;
    }
    if let Some(p) = store {
        keys.push((p, OW_UPDATE));
    }
    keys
}

/// `migrateGetKeys`: argument 3, or everything after `KEYS` (searched from argument 6, skipping
/// AUTH's and AUTH2's arguments) when argument 3 is empty; nothing if it is not.
fn migrate_keys(args: &[&[u8]]) -> Keys {
    let argc = args.len();
    let (mut first, mut num) = (3, 1);
    if argc > 6 {
        let mut i = 6;
        while i < argc {
            let a = args[i];
            if c_eq_ignore_case(a, "keys") {
                if !args[3].is_empty() {
                    num = 0;
                } else {
                    first = i + 1;
                    num = argc - first;
                }
                break;
            }
            if c_eq_ignore_case(a, "auth") {
                i += 1;
            } else if c_eq_ignore_case(a, "auth2") {
                i += 2;
            }
            i += 1;
        }
    }
    (first..first + num)
        .map(|p| (p, RW_ACCESS_DELETE))
        .collect()
}

/// `georadiusGetKeys`: the key, plus the last STORE/STOREDIST argument from argument 5 on.
fn georadius_keys(args: &[&[u8]]) -> Keys {
    let mut stored = None;
    let mut i = 5;
    while i < args.len() {
        let a = args[i];
        if (c_eq_ignore_case(a, "store") || c_eq_ignore_case(a, "storedist")) && i + 1 < args.len()
        {
            stored = Some(i + 1);
            i += 1;
        }
        i += 1;
    }
    let mut keys = vec![(1, NO_FLAGS)];
    if let Some(p) = stored {
        keys.push((p, NO_FLAGS));
    }
    keys
}

/// `xreadGetKeys`: the first half of the arguments after the STREAMS option.
fn xread_keys(args: &[&[u8]]) -> Keys {
    let argc = args.len();
    let mut streams = None;
    let mut i = 1;
    while i < argc {
        let a = args[i];
        if c_eq_ignore_case(a, "block") || c_eq_ignore_case(a, "count") {
            i += 1;
        } else if c_eq_ignore_case(a, "group") {
            i += 2;
        } else if c_eq_ignore_case(a, "streams") {
            streams = Some(i);
            break;
        } else if !c_eq_ignore_case(a, "noack") {
            break; // syntax error
        }
        i += 1;
    }
    let Some(pos) = streams else {
        return Keys::new();
    };
    let num = argc - pos - 1;
    if num == 0 || num % 2 == 1 {
        return Keys::new();
    }
    (pos + 1..argc - num / 2).map(|p| (p, NO_FLAGS)).collect()
}

/// `setGetKeys`: the key, read-write when a GET option appears from argument 3 on.
fn set_keys(args: &[&[u8]]) -> Keys {
    let get = args.iter().skip(3).any(|a| c_eq_ignore_case(a, "get"));
    vec![(1, if get { RW_ACCESS_UPDATE } else { OW_UPDATE })]
}

/// `bitfieldGetKeys`: the key, read-only when only GET (and OVERFLOW) operations appear.
fn bitfield_keys(args: &[&[u8]]) -> Keys {
    let argc = args.len();
    let mut readonly = true;
    let mut i = 2;
    while i < argc {
        let rem = argc - i - 1;
        let a = args[i];
        if c_eq_ignore_case(a, "get") && rem >= 2 {
            i += 2;
        } else if (c_eq_ignore_case(a, "set") || c_eq_ignore_case(a, "incrby")) && rem >= 3 {
            readonly = false;
            break;
        } else if c_eq_ignore_case(a, "overflow") && rem >= 1 {
            i += 1;
        } else {
            readonly = false;
            break;
        }
        i += 1;
    }
    vec![(
        1,
        if readonly {
            RO_ACCESS
        } else {
            RW_ACCESS_UPDATE
        },
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Replies of a real redis-server 7.0.15 to `COMMAND GETKEYSANDFLAGS <call>` (and the same
    /// keys/errors from `COMMAND GETKEYS <call>`), captured once and hardcoded so the test needs
    /// no server. `call` is space-separated arguments (`""` is an empty argument); the reply is
    /// the error, or each key as `name[flags]` (`""` for an empty name), space-separated.
    const CASES: &[(&str, &str)] = &[
        ("get k", "k[RO access]"),
        ("GET k", "k[RO access]"),
        ("set k v", "k[OW update]"),
        ("set k v get", "k[RW access update]"),
        ("set k v nx GET ex 10", "k[RW access update]"),
        ("set k v gEt", "k[RW access update]"),
        ("set k get", "k[OW update]"),
        (
            "set a",
            "ERR Invalid number of arguments specified for command",
        ),
        ("append k v", "k[RW insert]"),
        ("mset a 1 b 2", "a[OW update] b[OW update]"),
        ("mset a 1 b", "a[OW update] b[OW update]"),
        ("msetnx a 1 b 2", "a[OW insert] b[OW insert]"),
        ("mget a b c", "a[RO access] b[RO access] c[RO access]"),
        ("del a b c", "a[RM delete] b[RM delete] c[RM delete]"),
        ("exists a", "a[RO]"),
        ("unlink a b", "a[RM delete] b[RM delete]"),
        ("touch a", "a[RO]"),
        ("rename a b", "a[RW access delete] b[OW update]"),
        ("renamenx a b", "a[RW access delete] b[OW insert]"),
        ("copy a b db 1", "a[RO access] b[OW update]"),
        ("smove s d m", "s[RW access delete] d[RW insert]"),
        ("lmove a b left right", "a[RW access delete] b[RW insert]"),
        (
            "blmove a b left right 0",
            "a[RW access delete] b[RW insert]",
        ),
        ("brpoplpush a b 0", "a[RW access delete] b[RW insert]"),
        ("rpoplpush a b", "a[RW access delete] b[RW insert]"),
        ("blpop a b 0", "a[RW access delete] b[RW access delete]"),
        ("brpop a 0", "a[RW access delete]"),
        ("bzpopmin a b 1", "a[RW access delete] b[RW access delete]"),
        (
            "bitop and dst a b",
            "dst[OW update] a[RO access] b[RO access]",
        ),
        ("bitop not dst a", "dst[OW update] a[RO access]"),
        ("bitcount k", "k[RO access]"),
        ("bitpos k 1", "k[RO access]"),
        ("getex k ex 1", "k[RW access update]"),
        ("getdel k", "k[RW access delete]"),
        ("expire k 10", "k[RW update]"),
        ("lcs a b", "a[RO access] b[RO access]"),
        ("pfmerge dst", "ERR Invalid arguments specified for command"),
        (
            "pfmerge dst a b",
            "dst[RW access insert] a[RO access] b[RO access]",
        ),
        ("pfcount a b", "a[RW access] b[RW access]"),
        ("pfadd k a b", "k[RW insert]"),
        ("hset h f v", "h[RW update]"),
        ("sadd s m", "s[RW insert]"),
        ("zrangestore d s 0 1", "d[OW update] s[RO access]"),
        ("watch a b", "a[RO] b[RO]"),
        ("restore k 0 payload", "k[OW update]"),
        ("dump k", "k[RO access]"),
        (
            "geosearchstore d s frommember m byradius 1 km",
            "d[OW update] s[RO access]",
        ),
        ("xadd s * f v", "s[RW update]"),
        ("xautoclaim s g c 0 0", "s[RW delete]"),
        ("xgroup create s g $", "s[RW insert]"),
        ("xgroup createconsumer s g c", "s[RW insert]"),
        ("xinfo stream s", "s[RO access]"),
        ("xinfo consumers s g", "s[RO access]"),
        ("object encoding k", "k[RO]"),
        ("object freq k", "k[RO]"),
        ("memory usage k", "k[RO]"),
        ("memory usage k samples 5", "k[RO]"),
        ("bitfield k", "k[RO access]"),
        ("bitfield k get u8 0", "k[RO access]"),
        ("bitfield k set u8 0 1", "k[RW access update]"),
        ("bitfield k incrby u8 0 1", "k[RW access update]"),
        ("bitfield k overflow sat get u8 0", "k[RO access]"),
        ("bitfield k get u8 0 overflow wrap", "k[RO access]"),
        ("bitfield k get u8", "k[RW access update]"),
        ("bitfield k nosuch", "k[RW access update]"),
        ("bitfield_ro k get u8 0", "k[RO access]"),
        ("sort k", "k[RO access]"),
        ("sort k by w get x store d", "k[RO access] d[OW update]"),
        ("sort k store d store e", "k[RO access] e[OW update]"),
        ("sort k store", "k[RO access]"),
        ("sort k limit 0 1 store d", "k[RO access] d[OW update]"),
        ("sort k store limit 0 1", "k[RO access] limit[OW update]"),
        ("sort k get store store d", "k[RO access] d[OW update]"),
        ("sort k STORE get x", "k[RO access] get[OW update]"),
        ("sort k by store store d", "k[RO access] d[OW update]"),
        ("sort k limit store d x", "k[RO access]"),
        ("sort_ro k by x get y", "k[RO access]"),
        ("sort_ro k", "k[RO access]"),
        ("migrate h p k 0 10", "k[RW access delete]"),
        (
            r#"migrate h p "" 0 10 KEYS a b"#,
            "a[RW access delete] b[RW access delete]",
        ),
        (
            r#"migrate h p "" 0 10 copy replace KEYS a"#,
            "a[RW access delete]",
        ),
        (
            r#"migrate h p "" 0 10 AUTH pw KEYS a"#,
            "a[RW access delete]",
        ),
        (
            r#"migrate h p "" 0 10 AUTH2 u pw KEYS a b c"#,
            "a[RW access delete] b[RW access delete] c[RW access delete]",
        ),
        (
            r#"migrate h p "" 0 10 AUTH keys KEYS a"#,
            "a[RW access delete]",
        ),
        (
            "migrate h p k 0 10 KEYS a",
            "ERR Invalid arguments specified for command",
        ),
        (r#"migrate h p "" 0 10 KEYS"#, r#"""[RW access delete]"#),
        ("migrate keys p k 0 10 KEYS", "k[RW access delete]"),
        ("migrate h keys k 0 10", "k[RW access delete]"),
        (r#"migrate h p "" 0 keys COPY"#, r#"""[RW access delete]"#),
        ("migrate h p k 0 10 copy", "k[RW access delete]"),
        ("xread streams a b", "a[RO access]"),
        ("xread STREAMS a b", "a[RO access]"),
        (
            "xread count 1 block 0 streams a b c d",
            "a[RO access] b[RO access]",
        ),
        ("xread streams a b c", "a[RO access]"),
        (
            "xread streams a",
            "ERR Invalid number of arguments specified for command",
        ),
        (
            "xread count 1 a b",
            "ERR Invalid arguments specified for command",
        ),
        ("xread streams streams streams", "streams[RO access]"),
        ("xread count streams streams a b", "streams[RO access]"),
        ("xreadgroup group g c streams s >", "s[RO access]"),
        (
            "xreadgroup group g c count 1 noack streams a b > >",
            "a[RO access] b[RO access]",
        ),
        (
            "xreadgroup group g c streams s",
            "ERR Invalid number of arguments specified for command",
        ),
        ("xreadgroup group streams c streams s >", "s[RO access]"),
        ("xreadgroup group g c streams s > x", "s[RO access]"),
        ("georadius k 0 0 1 km", "k[RO access]"),
        ("georadius k 0 0 1 km store d", "k[RO access] d[OW update]"),
        (
            "georadius k 0 0 1 km storedist d",
            "k[RO access] d[OW update]",
        ),
        (
            "georadius k 0 0 1 km store d storedist e",
            "k[RO access] d[OW update] e[OW update]",
        ),
        ("georadius k 0 0 1 km STORE", "k[RO access]"),
        ("georadius k 0 0 1 store d", "k[RO access]"),
        (
            "georadius k 0 0 1 km withdist count 5 store d",
            "k[RO access] d[OW update]",
        ),
        (
            "georadiusbymember k m 1 km store d",
            "k[RO access] d[OW update]",
        ),
        ("georadiusbymember k m 1 km", "k[RO access]"),
        ("georadius_ro k 0 0 1 km", "k[RO access]"),
        ("eval s 0", ""),
        ("eval s 2 a b c", "a[RW access update] b[RW access update]"),
        ("eval s 1a a", "a[]"),
        ("eval s -1 a", ""),
        ("eval s 3 a b", ""),
        ("eval s x", ""),
        ("eval s 01 a", "a[]"),
        ("eval s 1 a", "a[RW access update]"),
        ("evalsha x 1 k", "k[RW access update]"),
        ("eval_ro s 2 a b", "a[RO access] b[RO access]"),
        ("evalsha_ro x 1 k", "k[RO access]"),
        ("fcall f 1 k a", "k[RW access update]"),
        ("fcall_ro f 0", ""),
        ("fcall f 2x a b", "a[] b[]"),
        (
            "zunionstore d 2 a b",
            "d[OW update] a[RO access] b[RO access]",
        ),
        ("zunionstore d 2abc a b", "a[] b[] d[]"),
        (
            "zunionstore d 0 a",
            "ERR Invalid arguments specified for command",
        ),
        (
            "zunionstore d 3 a b",
            "ERR Invalid arguments specified for command",
        ),
        (
            "zunionstore d x a",
            "ERR Invalid arguments specified for command",
        ),
        ("zunionstore d 1 a weights 1", "d[OW update] a[RO access]"),
        ("zunionstore d 4294967297 a", "d[OW update] a[RO access]"),
        (
            "zunionstore d -1 a",
            "ERR Invalid arguments specified for command",
        ),
        (
            "zinterstore d 2 a b aggregate sum",
            "d[OW update] a[RO access] b[RO access]",
        ),
        ("zdiffstore d 1 a", "d[OW update] a[RO access]"),
        ("zdiffstore d 1x a", "a[] d[]"),
        ("zunion 2 a b", "a[RO access] b[RO access]"),
        ("zunion 2abc a b", "a[] b[]"),
        ("zinter 1 a", "a[RO access]"),
        ("zdiff 2 a b withscores", "a[RO access] b[RO access]"),
        ("zdiff 3 a b", "ERR Invalid arguments specified for command"),
        ("zintercard 2 a b limit 1", "a[RO access] b[RO access]"),
        ("zintercard 2x a b", "a[] b[]"),
        ("sintercard 1 a", "a[RO access]"),
        ("sintercard 2abc a b", "a[] b[]"),
        (
            "sintercard 0 a",
            "ERR Invalid arguments specified for command",
        ),
        (
            "lmpop 2 a b left",
            "a[RW access delete] b[RW access delete]",
        ),
        ("lmpop 2abc a b left", "a[] b[]"),
        ("lmpop 3 a b", "ERR Invalid arguments specified for command"),
        (
            "blmpop 0 2 a b left",
            "a[RW access delete] b[RW access delete]",
        ),
        (
            "blmpop 0 x a left",
            "ERR Invalid arguments specified for command",
        ),
        ("blmpop 0 1x a left", "a[]"),
        ("zmpop 1 a min", "a[RW access delete]"),
        (
            "zmpop 1 a",
            "ERR Invalid number of arguments specified for command",
        ),
        ("bzmpop 0 1 a min", "a[RW access delete]"),
        ("bzmpop 0 1x a min", "a[]"),
        ("config get x", "ERR The command has no key arguments"),
        (
            "Config Get maxmemory",
            "ERR The command has no key arguments",
        ),
        ("client list", "ERR The command has no key arguments"),
        ("publish ch m", "ERR The command has no key arguments"),
        ("spublish ch m", "ERR The command has no key arguments"),
        ("ssubscribe ch", "ERR The command has no key arguments"),
        ("sunsubscribe ch", "ERR The command has no key arguments"),
        ("subscribe ch", "ERR The command has no key arguments"),
        ("object help", "ERR The command has no key arguments"),
        ("memory stats", "ERR The command has no key arguments"),
        ("command info", "ERR The command has no key arguments"),
        ("config nosuch", "ERR Invalid command specified"),
        ("object nosuch x", "ERR Invalid command specified"),
        ("nosuchcmd a", "ERR Invalid command specified"),
        (
            "get k extra",
            "ERR Invalid number of arguments specified for command",
        ),
        (
            "rename a",
            "ERR Invalid number of arguments specified for command",
        ),
        (
            "zunionstore d 1",
            "ERR Invalid number of arguments specified for command",
        ),
        ("xinfo help", "ERR The command has no key arguments"),
    ];

    fn split(call: &str) -> Vec<&[u8]> {
        call.split(' ')
            .map(|t| if t == "\"\"" { &b""[..] } else { t.as_bytes() })
            .collect()
    }

    /// What `COMMAND GETKEYSANDFLAGS` would reply, in the `CASES` notation.
    fn getkeys(args: &[&[u8]]) -> String {
        let Some(meta) = resolve(args) else {
            return key_error_message(&KeyError::UnknownCommand).to_string();
        };
        let with_flags = key_positions_with_flags(meta, args);
        let plain = key_positions(meta, args);
        assert_eq!(
            plain,
            with_flags
                .clone()
                .map(|v| v.iter().map(|&(p, _)| p).collect::<Vec<_>>()),
            "key_positions and key_positions_with_flags disagree"
        );
        match with_flags {
            Err(e) => key_error_message(&e).to_string(),
            Ok(keys) => keys
                .iter()
                .map(|&(p, flags)| {
                    let name = std::str::from_utf8(args[p]).unwrap();
                    let name = if name.is_empty() { "\"\"" } else { name };
                    format!("{name}[{}]", flags.join(" "))
                })
                .collect::<Vec<_>>()
                .join(" "),
        }
    }

    #[test]
    fn matches_redis_command_getkeys() {
        let mut failures = Vec::new();
        for &(call, want) in CASES {
            let got = getkeys(&split(call));
            if got != want {
                failures.push(format!("{call}\n   want: {want}\n    got: {got}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn table_is_sorted_and_consistent() {
        assert_eq!(REDIS_COMMANDS.len(), 240);
        for w in REDIS_COMMANDS.windows(2) {
            assert!(w[0].name < w[1].name, "{} !< {}", w[0].name, w[1].name);
        }
        for m in REDIS_COMMANDS {
            assert_eq!(m.name, m.name.to_ascii_lowercase());
            assert!(!m.name.contains('|'));
            assert!(std::ptr::eq(lookup(m.name).unwrap(), m));
            for w in m.subcommands.windows(2) {
                assert!(w[0].name < w[1].name);
            }
            for s in m.subcommands {
                let (container, sub) = s.name.split_once('|').unwrap();
                assert_eq!(container, m.name);
                assert!(std::ptr::eq(lookup_sub(m, sub).unwrap(), s));
                assert!(s.subcommands.is_empty());
            }
        }
        let subs: usize = REDIS_COMMANDS.iter().map(|m| m.subcommands.len()).sum();
        assert_eq!(subs, 126);
    }

    #[test]
    fn lookups() {
        assert!(lookup("nosuch").is_none());
        assert!(lookup("GET").is_none(), "lookup takes lowercase names");
        let config = lookup("config").unwrap();
        assert_eq!(lookup_sub(config, "get").unwrap().name, "config|get");
        assert!(lookup_sub(config, "nosuch").is_none());
        assert!(lookup_sub(lookup("get").unwrap(), "x").is_none());
        assert_eq!(
            resolve(&[b"CONFIG", b"Get", b"x"]).unwrap().name,
            "config|get"
        );
        assert_eq!(resolve(&[b"config"]).unwrap().name, "config");
        assert_eq!(resolve(&[b"get", b"k"]).unwrap().name, "get");
        assert!(resolve(&[b"config", b"nosuch"]).is_none());
        assert!(resolve(&[]).is_none());
        assert!(resolve(&[b"\xff"]).is_none());

        let set = lookup("set").unwrap();
        assert_eq!(set.arity, -3);
        assert_eq!(set.key_specs.len(), 1);
        let sort = lookup("sort").unwrap();
        assert!(matches!(
            sort.key_specs[1].begin_search,
            BeginSearch::Unknown
        ));
        assert!(sort.key_specs[2]
            .notes
            .unwrap()
            .starts_with("For the optional STORE keyword."));
        let migrate = lookup("migrate").unwrap();
        assert!(matches!(
            migrate.key_specs[1].begin_search,
            BeginSearch::Keyword {
                keyword: "KEYS",
                startfrom: -2
            }
        ));
        let zunionstore = lookup("zunionstore").unwrap();
        assert!(matches!(
            zunionstore.key_specs[1].find_keys,
            FindKeys::Keynum {
                keynumidx: 0,
                firstkey: 1,
                step: 1
            }
        ));
        let xread = lookup("xread").unwrap();
        assert!(matches!(
            xread.key_specs[0].find_keys,
            FindKeys::Range {
                lastkey: -1,
                step: 1,
                limit: 2
            }
        ));
    }

    #[test]
    fn subcommand_meta_with_full_call() {
        let object = lookup("object").unwrap();
        let enc = lookup_sub(object, "encoding").unwrap();
        assert_eq!(
            key_positions(enc, &[b"OBJECT", b"ENCODING", b"k"]),
            Ok(vec![2])
        );
        assert_eq!(
            key_positions(enc, &[b"OBJECT", b"ENCODING"]),
            Err(KeyError::WrongArity)
        );
        let help = lookup_sub(object, "help").unwrap();
        assert_eq!(
            key_positions(help, &[b"OBJECT", b"HELP"]),
            Err(KeyError::NoKeys)
        );
    }

    #[test]
    fn positions_of_movable_keys() {
        let pos = |name: &str, call: &str| key_positions(lookup(name).unwrap(), &split(call));
        assert_eq!(pos("zunionstore", "zunionstore d 2 a b"), Ok(vec![1, 3, 4]));
        assert_eq!(
            pos("zunionstore", "zunionstore d 2abc a b"),
            Ok(vec![3, 4, 1])
        );
        assert_eq!(pos("eval", "eval s 0"), Ok(vec![]));
        assert_eq!(pos("sort", "sort k by w store d"), Ok(vec![1, 5]));
        assert_eq!(
            pos("xread", "xread count 1 streams a b 0 0"),
            Ok(vec![4, 5])
        );
        assert_eq!(pos("blpop", "blpop a b c 0"), Ok(vec![1, 2, 3]));
        assert_eq!(pos("mset", "mset a 1 b 2"), Ok(vec![1, 3]));
    }

    /// Binary arguments the space-separated `CASES` notation cannot hold, also captured from
    /// redis-server 7.0.15 (`COMMAND GETKEYSANDFLAGS`): `strcasecmp` stops at NUL, `atoi`
    /// skips leading spaces and truncates to int.
    #[test]
    fn binary_arguments_match_redis() {
        type Case<'a> = (&'a [&'a [u8]], &'a [(usize, &'a [&'a str])]);
        let cases: &[Case] = &[
            (&[b"set", b"k", b"v", b"GET\0x"], &[(1, RW_ACCESS_UPDATE)]),
            (&[b"eval", b"s", b"4294967297x", b"a"], &[(3, NO_FLAGS)]),
            (&[b"xread", b"streams\0zz", b"a", b"b"], &[(2, RO_ACCESS)]),
            (
                &[b"sort", b"k", b"store\0", b"d"],
                &[(1, RO_ACCESS), (3, OW_UPDATE)],
            ),
            (
                &[b"zunionstore", b"d", b" 1", b"a"],
                &[(3, NO_FLAGS), (1, NO_FLAGS)],
            ),
        ];
        for &(args, want) in cases {
            let meta = resolve(args).unwrap();
            assert_eq!(
                key_positions_with_flags(meta, args).unwrap(),
                want,
                "{args:?}"
            );
        }
    }

    #[test]
    fn numeric_parsers_match_redis() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"12"), Some(12));
        assert_eq!(string2ll(b"-12"), Some(-12));
        assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"01",
            b"-0",
            b"+1",
            b" 1",
            b"1 ",
            b"1a",
            b"9223372036854775808",
        ] {
            assert_eq!(string2ll(bad), None, "{:?}", std::str::from_utf8(bad));
        }
        assert_eq!(atoi(b"12abc"), 12);
        assert_eq!(atoi(b"  \t+7"), 7);
        assert_eq!(atoi(b"-3"), -3);
        assert_eq!(atoi(b"x"), 0);
        assert_eq!(atoi(b""), 0);
        assert_eq!(atoi(b"4294967297"), 1);
        assert_eq!(atoi(b"99999999999999999999"), -1); // LONG_MAX truncated to int
        assert_eq!(atoi(b"-99999999999999999999"), 0); // LONG_MIN truncated to int
        assert_eq!(atoi(b"1\x002"), 1);
    }
}
