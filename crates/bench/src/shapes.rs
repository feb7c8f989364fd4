//! The data shapes the `memory` subcommand loads (`string:16`,
//! `hash:1000x1000`, `set:1x1000000`, ...): parsing the `--shapes` option,
//! naming, and encoding each shape as a numbered sequence of pipelined write
//! commands together with the exact reply each must get. Pure: no I/O, no
//! servers. The members are a function of (shape, command number) only, so
//! both servers receive byte-for-byte the same commands.
//!
//! A shape is KEYS keys of one type, each holding MEMBERS members. Command
//! `c` writes key `c / cmds_per_key`, members `[(c % cmds_per_key) * m, ..)`
//! with `m` members per command:
//!
//! ```text
//!   hash:2x250, m = 100    cmd 0: HSET key:0 field:0 v .. field:99 v   -> :100
//!                          cmd 1: HSET key:0 field:100 v .. field:199 v -> :100
//!                          cmd 2: HSET key:0 field:200 v .. field:249 v -> :50
//!                          cmd 3: HSET key:1 field:0 v .. (same members, next key)
//! ```

use std::io::Write as _;
use std::ops::Range;

use crate::resp_client::{push_bulk, push_header, push_key, value_of_size, KEY_LEN};

/// Size of every hash field value (`x` repeated, never an integer).
pub const HASH_VALUE_SIZE: usize = 16;
/// Key names have 12 digits.
pub const MAX_KEYS: u64 = 999_999_999_999;

/// The type of every key of a shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `SET key value`; the shape's size is the value size.
    String,
    /// `HSET key field:<i> <16 bytes> ...`
    Hash,
    /// `SADD key member:<i> ...` (never integers: hashtable/listpack encodings).
    Set,
    /// `SADD key <i> ...` (integers: intset encoding while small enough).
    IntSet,
    /// `RPUSH key member:<i> ...`
    List,
    /// `ZADD key <i> member:<i> ...` (score = i).
    Zset,
}

impl Kind {
    const ALL: [Kind; 6] = [
        Kind::String,
        Kind::Hash,
        Kind::Set,
        Kind::IntSet,
        Kind::List,
        Kind::Zset,
    ];

    /// The name used in `--shapes`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::Hash => "hash",
            Kind::Set => "set",
            Kind::IntSet => "intset",
            Kind::List => "list",
            Kind::Zset => "zset",
        }
    }

    /// What `TYPE key` answers.
    pub fn type_reply(self) -> &'static str {
        match self {
            Kind::IntSet => "set",
            k => k.name(),
        }
    }

    fn write_command(self) -> &'static [u8] {
        match self {
            Kind::String => b"SET",
            Kind::Hash => b"HSET",
            Kind::Set | Kind::IntSet => b"SADD",
            Kind::List => b"RPUSH",
            Kind::Zset => b"ZADD",
        }
    }

    /// The command that counts a key's members (None for strings).
    pub fn len_command(self) -> Option<&'static [u8]> {
        match self {
            Kind::String => None,
            Kind::Hash => Some(b"HLEN"),
            Kind::Set | Kind::IntSet => Some(b"SCARD"),
            Kind::List => Some(b"LLEN"),
            Kind::Zset => Some(b"ZCARD"),
        }
    }
}

/// KEYS keys of one kind with MEMBERS members each (strings: one "member",
/// the value, of `value_size` bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub kind: Kind,
    pub keys: u64,
    pub members: u64,
    /// Bytes per string value or hash field value; 0 for other kinds.
    pub value_size: usize,
}

impl Shape {
    pub fn string(keys: u64, value_size: usize) -> Shape {
        Shape {
            kind: Kind::String,
            keys,
            members: 1,
            value_size,
        }
    }

    /// Parses `string:VALUE_SIZE` (with `string_keys` keys) or
    /// `KIND:KEYSxMEMBERS` for the other kinds.
    pub fn parse(s: &str, string_keys: u64) -> Result<Shape, String> {
        let bad = |why: &str| format!("bad shape {s:?}: {why}");
        let (kind, size) = s
            .trim()
            .split_once(':')
            .ok_or_else(|| bad("expected TYPE:KEYSxMEMBERS or string:VALUE_SIZE"))?;
        let kind = Kind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(kind))
            .ok_or_else(|| {
                let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
                bad(&format!("type must be one of {}", names.join(", ")))
            })?;
        let count = |x: &str, what: &str| match x.trim().replace('_', "").parse::<u64>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(bad(&format!("{what} must be a positive integer"))),
        };
        let shape = if kind == Kind::String {
            let size = count(size, "VALUE_SIZE")?;
            Shape::string(
                string_keys,
                usize::try_from(size).map_err(|_| bad("too big"))?,
            )
        } else {
            let (keys, members) = size
                .split_once(['x', 'X'])
                .ok_or_else(|| bad("expected KEYSxMEMBERS, e.g. 1000x1000"))?;
            Shape {
                kind,
                keys: count(keys, "KEYS")?,
                members: count(members, "MEMBERS")?,
                value_size: if kind == Kind::Hash {
                    HASH_VALUE_SIZE
                } else {
                    0
                },
            }
        };
        if shape.keys > MAX_KEYS {
            return Err(bad(&format!(
                "at most {MAX_KEYS} keys (keys have 12 digits)"
            )));
        }
        shape
            .keys
            .checked_mul(shape.members)
            .ok_or_else(|| bad("KEYS x MEMBERS overflows"))?;
        Ok(shape)
    }

    /// `string:16`, `hash:1000x1000`: the name used in `--shapes` and reports.
    pub fn label(&self) -> String {
        match self.kind {
            Kind::String => format!("string:{}", self.value_size),
            k => format!("{}:{}x{}", k.name(), self.keys, self.members),
        }
    }

    /// Members over all keys (strings: one per key).
    pub fn total_members(&self) -> u64 {
        self.keys * self.members
    }

    /// Encodes this shape with at most `per_command` members per command.
    pub fn plan(&self, per_command: u64) -> Plan {
        let per_command = per_command.clamp(1, self.members);
        Plan {
            shape: *self,
            per_command,
            cmds_per_key: self.members.div_ceil(per_command),
            value: value_of_size(self.value_size),
        }
    }
}

/// A shape cut into numbered write commands `0..commands()`.
#[derive(Debug, Clone)]
pub struct Plan {
    pub shape: Shape,
    /// Members per command (the last command of a key may have fewer).
    pub per_command: u64,
    pub cmds_per_key: u64,
    /// String values and hash field values.
    value: Vec<u8>,
}

impl Plan {
    pub fn commands(&self) -> u64 {
        self.shape.keys * self.cmds_per_key
    }

    /// (key index, member indexes) written by command `c`.
    pub fn locate(&self, c: u64) -> (u64, Range<u64>) {
        let start = (c % self.cmds_per_key) * self.per_command;
        let end = (start + self.per_command).min(self.shape.members);
        (c / self.cmds_per_key, start..end)
    }

    /// Commands per pipelined write so one write carries about `members`
    /// members (at least one command).
    pub fn commands_per_write(&self, members: u64) -> u64 {
        (members / self.per_command).max(1)
    }

    /// Contiguous command ranges for `parts` connections, covering every
    /// command once. A list key is never shared between connections, so its
    /// RPUSHes arrive in order and every server builds the same list.
    pub fn split(&self, parts: usize) -> Vec<Range<u64>> {
        if self.shape.kind == Kind::List {
            split_range(self.shape.keys, parts)
                .into_iter()
                .map(|r| r.start * self.cmds_per_key..r.end * self.cmds_per_key)
                .collect()
        } else {
            split_range(self.commands(), parts)
        }
    }

    /// Appends commands `cmds` to `out` and the exact reply each must get to `expect`.
    pub fn encode(&self, out: &mut Vec<u8>, expect: &mut Vec<u8>, cmds: Range<u64>) {
        let mut scratch = Vec::with_capacity(32);
        for c in cmds {
            let (key, members) = self.locate(c);
            let n = members.end - members.start;
            let args_per_member = match self.shape.kind {
                Kind::Hash | Kind::Zset => 2,
                _ => 1,
            };
            push_header(out, b'*', (2 + n * args_per_member) as usize);
            push_bulk(out, self.shape.kind.write_command());
            push_header(out, b'$', KEY_LEN);
            push_key(out, key);
            out.extend_from_slice(b"\r\n");
            let mut arg = |out: &mut Vec<u8>, args: std::fmt::Arguments| {
                scratch.clear();
                let _ = scratch.write_fmt(args);
                push_bulk(out, &scratch);
            };
            for i in members.clone() {
                match self.shape.kind {
                    Kind::String => push_bulk(out, &self.value),
                    Kind::Hash => {
                        arg(out, format_args!("field:{i}"));
                        push_bulk(out, &self.value);
                    }
                    Kind::Set | Kind::List => arg(out, format_args!("member:{i}")),
                    Kind::IntSet => arg(out, format_args!("{i}")),
                    Kind::Zset => {
                        arg(out, format_args!("{i}"));
                        arg(out, format_args!("member:{i}"));
                    }
                }
            }
            // SET answers +OK; HSET/SADD/ZADD the number of new members (all
            // are new); RPUSH the list's length after the push.
            match self.shape.kind {
                Kind::String => expect.extend_from_slice(b"+OK\r\n"),
                Kind::List => {
                    let _ = write!(expect, ":{}\r\n", members.end);
                }
                _ => {
                    let _ = write!(expect, ":{n}\r\n");
                }
            }
        }
    }
}

/// Splits `0..n` into at most `parts` contiguous non-empty ranges whose
/// sizes differ by at most 1.
pub fn split_range(n: u64, parts: usize) -> Vec<Range<u64>> {
    let parts = (parts.max(1) as u64).min(n.max(1));
    let base = n / parts;
    let extra = n % parts;
    let mut start = 0;
    (0..parts)
        .map(|i| {
            let len = base + u64::from(i < extra);
            let r = start..start + len;
            start += len;
            r
        })
        .collect()
}

/// Parses a comma-separated `--shapes` list.
pub fn parse_list(s: &str, string_keys: u64) -> Result<Vec<Shape>, String> {
    let shapes: Vec<Shape> = s
        .split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(|x| Shape::parse(x, string_keys))
        .collect::<Result<_, _>>()?;
    if shapes.is_empty() {
        return Err("--shapes: empty list".into());
    }
    Ok(shapes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resp_client::{key_name, push_command};

    #[test]
    fn parses_shapes() {
        assert_eq!(Shape::parse("string:16", 7).unwrap(), Shape::string(7, 16));
        let h = Shape::parse("hash:1000x1000", 7).unwrap();
        assert_eq!(
            (h.kind, h.keys, h.members, h.value_size),
            (Kind::Hash, 1000, 1000, 16)
        );
        let s = Shape::parse(" SET:1X1_000_000", 7).unwrap();
        assert_eq!((s.kind, s.keys, s.members), (Kind::Set, 1, 1_000_000));
        for k in Kind::ALL {
            let text = match k {
                Kind::String => "string:100".to_string(),
                k => format!("{}:3x5", k.name()),
            };
            let shape = Shape::parse(&text, 9).unwrap();
            assert_eq!(shape.kind, k);
            assert_eq!(shape.label(), text, "labels round-trip");
        }
        assert_eq!(Shape::parse("string:16", 9).unwrap().total_members(), 9);
        assert_eq!(
            Shape::parse("zset:1000x1000", 9).unwrap().total_members(),
            1_000_000
        );
    }

    #[test]
    fn rejects_bad_shapes() {
        for bad in [
            "hash",
            "hash:1000",
            "hash:0x5",
            "hash:5x0",
            "hash:x5",
            "tree:1x1",
            "string:0",
            "string:abc",
            "set:1000000000000x1",
            "set:4294967296x4294967296",
            "",
        ] {
            assert!(Shape::parse(bad, 1).is_err(), "{bad:?} accepted");
        }
        assert!(parse_list(" , ", 1).is_err());
        let l = parse_list("string:16,string:100,set:1x1000000", 1000).unwrap();
        assert_eq!(l.len(), 3);
    }

    #[test]
    fn ranges_cover_exactly() {
        for (n, parts) in [(10u64, 3usize), (1_000_000, 4), (3, 8), (1, 1), (7, 7)] {
            let r = split_range(n, parts);
            assert!(r.len() <= parts);
            assert_eq!(r.first().unwrap().start, 0);
            assert_eq!(r.last().unwrap().end, n);
            for w in r.windows(2) {
                assert_eq!(w[0].end, w[1].start);
            }
            let lens: Vec<u64> = r.iter().map(|x| x.end - x.start).collect();
            assert!(lens.iter().max().unwrap() - lens.iter().min().unwrap() <= 1);
            assert!(lens.iter().all(|&l| l > 0));
        }
    }

    #[test]
    fn plan_covers_every_member_once() {
        let p = Shape::parse("hash:2x250", 1).unwrap().plan(100);
        assert_eq!((p.cmds_per_key, p.commands()), (3, 6));
        assert_eq!(p.locate(2), (0, 200..250));
        assert_eq!(p.locate(3), (1, 0..100));
        assert_eq!(p.commands_per_write(1000), 10);
        assert_eq!(p.commands_per_write(10), 1);
        // One key split over connections (order does not matter for sets)...
        let s = Shape::parse("set:1x1000", 1).unwrap().plan(100);
        assert_eq!(s.split(4).len(), 4);
        // ...but a list key stays on one connection.
        let l = Shape::parse("list:1x1000", 1).unwrap().plan(100);
        assert_eq!(l.split(4), vec![0..10]);
        let l = Shape::parse("list:3x150", 1).unwrap().plan(100);
        assert_eq!(l.split(2), vec![0..4, 4..6]);
        // Strings: one command per key.
        let st = Shape::string(5, 16).plan(100);
        assert_eq!((st.per_command, st.commands()), (1, 5));
    }

    fn encoded(shape: &str, cmds: Range<u64>) -> (Vec<u8>, Vec<u8>) {
        let p = Shape::parse(shape, 10).unwrap().plan(2);
        let (mut out, mut expect) = (Vec::new(), Vec::new());
        p.encode(&mut out, &mut expect, cmds);
        (out, expect)
    }

    fn cmd(args: &[&str]) -> Vec<u8> {
        let mut v = Vec::new();
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        push_command(&mut v, &a);
        v
    }

    #[test]
    fn encodes_like_the_generic_encoder() {
        let k0 = key_name(0);
        let k1 = key_name(1);
        let v = "x".repeat(16);
        let (out, exp) = encoded("hash:2x3", 1..3);
        let want = [
            cmd(&["HSET", &k0, "field:2", &v]),
            cmd(&["HSET", &k1, "field:0", &v, "field:1", &v]),
        ]
        .concat();
        assert_eq!(out, want);
        assert_eq!(exp, b":1\r\n:2\r\n");
        let (out, exp) = encoded("set:1x3", 0..2);
        assert_eq!(
            out,
            [
                cmd(&["SADD", &k0, "member:0", "member:1"]),
                cmd(&["SADD", &k0, "member:2"])
            ]
            .concat()
        );
        assert_eq!(exp, b":2\r\n:1\r\n");
        let (out, _) = encoded("intset:1x2", 0..1);
        assert_eq!(out, cmd(&["SADD", &k0, "0", "1"]));
        let (out, exp) = encoded("list:1x3", 0..2);
        assert_eq!(
            out,
            [
                cmd(&["RPUSH", &k0, "member:0", "member:1"]),
                cmd(&["RPUSH", &k0, "member:2"])
            ]
            .concat()
        );
        assert_eq!(exp, b":2\r\n:3\r\n", "RPUSH answers the new length");
        let (out, exp) = encoded("zset:1x2", 0..1);
        assert_eq!(out, cmd(&["ZADD", &k0, "0", "member:0", "1", "member:1"]));
        assert_eq!(exp, b":2\r\n");
        let (out, exp) = encoded("string:4", 9..10);
        assert_eq!(
            out,
            b"*3\r\n$3\r\nSET\r\n$16\r\nkey:000000000009\r\n$4\r\nxxxx\r\n"
        );
        assert_eq!(exp, b"+OK\r\n");
    }
}
