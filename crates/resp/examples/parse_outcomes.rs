//! Prints what `RequestParser` makes of each input, for `scripts/diff_parser_vs_redis.py`, which sends
//! the same inputs to a real redis-server and compares. Input: one hex-encoded request stream per
//! stdin line. Output per line: `<commands parsed>\t<OPEN | hex of the error reply>`.
//! It is a test tool only: it must not grow server logic.

use std::io::{BufRead, Write};

use bytes::BytesMut;
use darter_resp::{Limits, RequestParser};

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex input"))
        .collect()
}

fn main() {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for line in std::io::stdin().lock().lines() {
        let mut buf = BytesMut::from(&unhex(line.expect("stdin").trim())[..]);
        let mut parser = RequestParser::new();
        let mut n = 0;
        let end = loop {
            match parser.parse(&mut buf, &Limits::default()) {
                Ok(Some(_)) => n += 1,
                Ok(None) => break "OPEN".to_string(),
                Err(e) => break e.reply().iter().map(|b| format!("{b:02x}")).collect(),
            }
        };
        writeln!(out, "{n}\t{end}").expect("stdout");
    }
}
