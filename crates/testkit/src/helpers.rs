//! Small helpers shared by the socket tests: expected reply encodings, key names spread over
//! shards, pipelining, and reading one INFO field.

use crate::client::{encode_request, RawClient};
use darter_engine::keys::shard_of;

pub const OK: &str = "+OK\r\n";
pub const NIL: &str = "$-1\r\n";

/// `:v\r\n`
pub fn int(v: i64) -> String {
    format!(":{v}\r\n")
}

/// `$len\r\nv\r\n`
pub fn bulk(v: &str) -> String {
    format!("${}\r\n{v}\r\n", v.len())
}

/// `n` key names `prefix<i>` taken round-robin over `shards` shards, so the first `shards` of them
/// live on distinct shards and any `shards` consecutive ones cover every shard.
pub fn spread_keys(prefix: &str, n: usize, shards: usize) -> Vec<String> {
    let mut by_shard: Vec<Vec<String>> = vec![Vec::new(); shards];
    let mut i = 0;
    while by_shard.iter().any(|s| s.len() < n.div_ceil(shards)) {
        let k = format!("{prefix}{i}");
        by_shard[shard_of(k.as_bytes(), shards)].push(k);
        i += 1;
    }
    (0..n)
        .map(|j| by_shard[j % shards][j / shards].clone())
        .collect()
}

/// Sends every command in one write and reads every reply (pipelining).
pub fn pipeline(c: &mut RawClient, cmds: &[Vec<String>]) -> Vec<String> {
    let mut buf = Vec::new();
    for cmd in cmds {
        buf.extend(encode_request(cmd));
    }
    c.send_raw(&buf);
    (0..cmds.len())
        .map(|_| String::from_utf8_lossy(&c.read_reply_raw()).into_owned())
        .collect()
}

/// A numeric field of `INFO <section>`.
pub fn info_field(c: &mut RawClient, section: &str, field: &str) -> u64 {
    let info = c.cmd(&["INFO", section]);
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("{field} in INFO {section}"))
        .trim()
        .parse()
        .expect("a number")
}

/// Sends a command without reading its reply (the client is about to block).
pub fn send(c: &mut RawClient, args: &[&str]) {
    c.send_raw(&encode_request(args));
}

/// Reads one reply as text.
pub fn read(c: &mut RawClient) -> String {
    String::from_utf8_lossy(&c.read_reply_raw()).into_owned()
}

/// Waits until the server reports `n` blocked clients (INFO clients `blocked_clients`; bounded:
/// fails after 10 s, never sleeps a fixed time).
pub fn await_blocked(admin: &mut RawClient, n: u64) {
    let give_up = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while info_field(admin, "clients", "blocked_clients") != n {
        assert!(
            std::time::Instant::now() < give_up,
            "never saw {n} blocked clients"
        );
        std::thread::yield_now();
    }
}

/// A tiny deterministic xorshift generator for tests: `next(n)` is in `0..n`.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}
