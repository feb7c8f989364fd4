//! Fuzz target for `RequestParser`: arbitrary bytes in arbitrary splits, with arbitrary small limits.
//!
//! Asserts, beyond "no panic": the result (commands, then an error or the leftover byte count) is the
//! same whether the input arrives whole or in the fuzzer-chosen pieces; and every command re-encoded
//! as multibulk parses back to the same arguments. It must not grow into a general test harness: table
//! cases belong in `tests/`, and crashes found here are kept there as regression tests.
#![no_main]

use bytes::BytesMut;
use darter_resp::{Limits, RequestParser};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, PartialEq)]
enum End {
    Incomplete(usize),
    Error(String),
}

fn run(input: &[u8], chunks: &[usize], limits: &Limits, auth: bool) -> (Vec<Vec<Vec<u8>>>, End) {
    let mut parser = RequestParser::new();
    parser.set_auth_required(auth);
    let mut buf = BytesMut::new();
    let mut commands = Vec::new();
    let mut start = 0usize;
    let mut sizes = chunks.iter();
    loop {
        let n = sizes.next().map_or(usize::MAX, |&s| s.max(1));
        let end = start.saturating_add(n).min(input.len());
        buf.extend_from_slice(&input[start..end]);
        start = end;
        loop {
            match parser.parse(&mut buf, limits) {
                Ok(Some(args)) => {
                    assert!(!args.is_empty(), "empty commands must be skipped");
                    commands.push(args.iter().map(|a| a.to_vec()).collect());
                }
                Ok(None) => break,
                Err(e) => return (commands, End::Error(e.to_string())),
            }
        }
        if start == input.len() {
            break;
        }
    }
    (commands, End::Incomplete(buf.len()))
}

fn multibulk(args: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fuzz_target!(|data: &[u8]| {
    // Layout: [flags][n][n chunk sizes][input...]
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let Some((&n, rest)) = rest.split_first() else {
        return;
    };
    let n = usize::from(n % 16).min(rest.len());
    let (sizes, input) = rest.split_at(n);
    let chunks: Vec<usize> = sizes.iter().map(|&s| usize::from(s)).collect();
    let auth = flags & 1 != 0;
    let limits = if flags & 2 != 0 {
        Limits {
            max_inline_len: usize::from(flags >> 2) + 1,
            max_bulk_len: usize::from(flags),
            max_multibulk_len: usize::from(flags >> 4),
        }
    } else {
        Limits::default()
    };

    let whole = run(input, &[], &limits, auth);
    let split = run(input, &chunks, &limits, auth);
    assert_eq!(whole, split, "result depends on how the input was split");

    for args in &whole.0 {
        let encoded = multibulk(args);
        let again = run(&encoded, &[], &Limits::default(), false);
        assert_eq!(
            again,
            (vec![args.clone()], End::Incomplete(0)),
            "round trip"
        );
    }
});
