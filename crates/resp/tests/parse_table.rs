//! Byte-exact request parser tables. Every expectation here was observed on redis-server 7.0.15 over
//! a socket (`scripts/diff_parser_vs_redis.py` repeats such checks on random input). Each input is
//! checked whole, byte by byte, and cut once at every offset, which must all agree.

mod common;

use bytes::BytesMut;
use common::{cmds, multibulk, run_bytewise, run_split, run_whole, End, Outcome};
use darter_resp::{Limits, ParseError, RequestParser};

fn err(msg: &str) -> End {
    End::Error(format!("ERR Protocol error: {msg}"))
}

/// Checks `input` gives `want` however it is delivered.
fn check(input: &[u8], want_cmds: &[&[&str]], want_end: End) {
    let want = Outcome {
        commands: cmds(want_cmds),
        end: want_end,
    };
    let label = String::from_utf8_lossy(input);
    assert_eq!(run_whole(input), want, "whole: {label:?}");
    assert_eq!(run_bytewise(input), want, "bytewise: {label:?}");
    if input.len() < 300 {
        for cut in 1..input.len() {
            let got = run_split(input, &[cut], &Limits::default(), false);
            assert_eq!(got, want, "cut at {cut}: {label:?}");
        }
    }
}

#[test]
fn valid_multibulk() {
    check(b"*1\r\n$4\r\nPING\r\n", &[&["PING"]], End::Incomplete(0));
    check(
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n",
        &[&["SET", "k", ""]],
        End::Incomplete(0),
    );
    check(
        b"*2\r\n$4\r\nECHO\r\n$0\r\n\r\n",
        &[&["ECHO", ""]],
        End::Incomplete(0),
    );
    check(b"*2\r\n$4\r\nECHO\r\n$0\r\n", &[], End::Incomplete(18));
    check(b"*1\r\n$4\r\n", &[], End::Incomplete(8));
    check(b"*1\r\n$4\r\nPI\0G\r\n", &[&["PI\0G"]], End::Incomplete(0));
    check(
        b"*1\r\n$5\r\na\r\nb\n\r\n",
        &[&["a\r\nb\n"]],
        End::Incomplete(0),
    );
}

#[test]
fn empty_commands_are_skipped() {
    check(
        b"*0\r\n*1\r\n$4\r\nPING\r\n",
        &[&["PING"]],
        End::Incomplete(0),
    );
    check(b"*-1\r\nPING\r\n", &[&["PING"]], End::Incomplete(0));
    check(b"*-5\r\nPING\r\n", &[&["PING"]], End::Incomplete(0));
    check(
        b"*-9223372036854775808\r\nPING\r\n",
        &[&["PING"]],
        End::Incomplete(0),
    );
    check(b"*0\r\n", &[], End::Incomplete(0));
    check(b"\r\nPING\n", &[&["PING"]], End::Incomplete(0));
    check(b"  \r\nPING\n", &[&["PING"]], End::Incomplete(0));
    check(b"\n\n\n", &[], End::Incomplete(0));
}

#[test]
fn redis_does_not_check_the_byte_after_cr_nor_the_bulk_trailer() {
    check(b"*1\rX$4\r\nPING\r\n", &[&["PING"]], End::Incomplete(0));
    check(b"*1\r\n$4\rXPING\r\n", &[&["PING"]], End::Incomplete(0));
    check(
        b"*1\r\n$4\r\nPINGxyPING\r\n",
        &[&["PING"], &["PING"]],
        End::Incomplete(0),
    );
    // A header whose CR is the last byte waits for one more byte, whatever it is.
    check(b"*1\r", &[], End::Incomplete(3));
}

#[test]
fn pipelines() {
    let mut input = Vec::new();
    input.extend(multibulk(&[b"SET", b"a", b"1"]));
    input.extend_from_slice(b"GET a\r\n");
    input.extend(multibulk(&[b"ECHO", b"x\r\ny"]));
    input.extend_from_slice(b"*0\r\n");
    input.extend_from_slice(b"PING\n");
    input.extend(multibulk(&[b"DEL", b"a"]));
    input.extend_from_slice(b"*2\r\n$3\r\nGET\r\n$1");
    check(
        &input,
        &[
            &["SET", "a", "1"],
            &["GET", "a"],
            &["ECHO", "x\r\ny"],
            &["PING"],
            &["DEL", "a"],
        ],
        End::Incomplete(15),
    );
}

#[test]
fn multibulk_count_errors() {
    check(b"*x\r\n", &[], err("invalid multibulk length"));
    check(b"*\r\nPING\r\n", &[], err("invalid multibulk length"));
    check(b"*01\r\n", &[], err("invalid multibulk length"));
    check(b"*-0\r\n", &[], err("invalid multibulk length"));
    check(b"*+1\r\n", &[], err("invalid multibulk length"));
    check(b"*1 \r\n", &[], err("invalid multibulk length"));
    check(b"*2147483648\r\n", &[], err("invalid multibulk length"));
    check(
        b"*9223372036854775808\r\n",
        &[],
        err("invalid multibulk length"),
    );
    check(
        b"*-9223372036854775809\r\nPING\r\n",
        &[],
        err("invalid multibulk length"),
    );
    // Commands before the bad one still come out.
    check(
        b"PING\r\n*x\r\n",
        &[&["PING"]],
        err("invalid multibulk length"),
    );
}

#[test]
fn multibulk_count_limit_is_int_max_in_redis_7() {
    check(b"*1048576\r\n", &[], End::Incomplete(10));
    check(b"*1048577\r\n", &[], End::Incomplete(10));
    check(b"*2147483647\r\n", &[], End::Incomplete(13));
    assert_eq!(Limits::default().max_multibulk_len, i32::MAX as usize);
}

#[test]
fn bulk_length_errors() {
    check(b"*1\r\n$x\r\n", &[], err("invalid bulk length"));
    check(b"*1\r\n$-1\r\n", &[], err("invalid bulk length"));
    check(b"*1\r\n$03\r\nfoo\r\n", &[], err("invalid bulk length"));
    check(b"*1\r\n$\r\n", &[], err("invalid bulk length"));
    check(b"*1\r\n$ 4\r\nPING\r\n", &[], err("invalid bulk length"));
    check(b"*1\r\n$4 \r\nPING\r\n", &[], err("invalid bulk length"));
    check(b"*1\r\n$536870912\r\n", &[], End::Incomplete(16));
    check(b"*1\r\n$536870913\r\n", &[], err("invalid bulk length"));
    check(
        b"*1\r\n$18446744073709551615\r\n",
        &[],
        err("invalid bulk length"),
    );
    check(
        b"*1\r\n$9223372036854775807\r\n",
        &[],
        err("invalid bulk length"),
    );
    check(
        b"*1\r\n$-9223372036854775808\r\n",
        &[],
        err("invalid bulk length"),
    );
}

#[test]
fn expected_dollar_errors() {
    check(b"*1\r\nX4\r\nPING\r\n", &[], err("expected '$', got 'X'"));
    check(b"*1\r\n*\r\n", &[], err("expected '$', got '*'"));
    check(b"*1\r\n \r\n", &[], err("expected '$', got ' '"));
    // CR and LF are shown as spaces, as Redis's addReplyErrorFormat maps them.
    check(b"*1\r\n\r\n", &[], err("expected '$', got ' '"));
    check(b"*1\r\n\nfoo\r\n", &[], err("expected '$', got ' '"));
    check(
        b"*2\r\n$4\r\nECHO\r\n:1\r\n",
        &[],
        err("expected '$', got ':'"),
    );
}

#[test]
fn expected_dollar_with_a_non_ascii_byte_replies_the_raw_byte() {
    let mut p = RequestParser::new();
    let mut buf = BytesMut::from(&b"*1\r\n\xff\xfe\r\n"[..]);
    let e = p.parse(&mut buf, &Limits::default()).unwrap_err();
    assert_eq!(
        e.reply(),
        b"-ERR Protocol error: expected '$', got '\xff'\r\n".to_vec()
    );
}

#[test]
fn error_reply_bytes() {
    let e = ParseError::Protocol("ERR Protocol error: invalid bulk length".into());
    assert_eq!(
        e.reply(),
        b"-ERR Protocol error: invalid bulk length\r\n".to_vec()
    );
    assert_eq!(e.to_string(), "ERR Protocol error: invalid bulk length");
}

/// Inputs of `n` copies of `fill` after `prefix`, with no terminator.
fn long(prefix: &[u8], fill: u8, n: usize) -> Vec<u8> {
    let mut v = prefix.to_vec();
    v.resize(prefix.len() + n, fill);
    v
}

#[test]
fn too_big_header_lines() {
    // Redis fails once more than 64 KiB are buffered without the terminator, counting from the start of
    // the line ('*', '$' or the inline request).
    let cases: &[(&[u8], u8, &str)] = &[
        (b"*", b'1', "too big mbulk count string"),
        (b"*1\r\n$", b'1', "too big bulk count string"),
        (b"*1\r\nX", b'1', "too big bulk count string"),
        (b"", b'P', "too big inline request"),
    ];
    for &(prefix, fill, msg) in cases {
        let line_prefix = prefix.len()
            - prefix
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
        let at_limit = long(prefix, fill, 65536 - line_prefix);
        let over = long(prefix, fill, 65537 - line_prefix);
        for (input, end) in [
            (&at_limit, End::Incomplete(at_limit.len())),
            (&over, err(msg)),
        ] {
            assert_eq!(run_whole(input).end, end, "{msg} whole {}", input.len());
            let cuts: Vec<usize> = (1..input.len()).step_by(997).collect();
            assert_eq!(
                run_split(input, &cuts, &Limits::default(), false).end,
                end,
                "{msg} split {}",
                input.len()
            );
        }
        // The same lines completed: accepted at the limit, still too big past it.
        // (An inline line ends at "\n", so a "\r" before it counts towards the limit.)
        let end: &[u8] = if prefix.is_empty() { b"\n" } else { b"\r\n" };
        let mut done = at_limit.clone();
        done.extend_from_slice(end);
        assert_ne!(run_whole(&done).end, err(msg));
        let mut done = over.clone();
        done.extend_from_slice(end);
        assert_eq!(run_whole(&done).end, err(msg));
    }
}

#[test]
fn inline_line_limit_counts_everything_before_the_newline() {
    // 65536 bytes before "\n" are fine, the "\r" included: a byte-at-a-time Redis holds 65537 bytes
    // without a newline once the "\r" of a 65536-byte line has arrived.
    let mut input = long(b"ECHO ", b'a', 65535 - 5);
    input.extend_from_slice(b"\r\n");
    let out = run_whole(&input);
    assert_eq!(out.commands.len(), 1);
    assert_eq!(out.commands[0][1].len(), 65530);
    let mut input = long(b"ECHO ", b'a', 65536 - 5);
    input.extend_from_slice(b"\r\n");
    assert_eq!(run_whole(&input).end, err("too big inline request"));
}

#[test]
fn nul_before_the_terminator_stalls_like_strchr() {
    check(b"ECHO\0 a\r\nPING\r\n", &[], End::Incomplete(15));
    check(b"*1\0\r\n$4\r\nPING\r\n", &[], End::Incomplete(15));
    check(b"*1\r\n\0\r\n", &[], End::Incomplete(7));
    check(b"*1\r\n$4\0\r\nPING\r\n", &[], End::Incomplete(15));
    // ...until the buffered bytes pass the line limit.
    let mut input = b"ECHO\0\n".to_vec();
    input.resize(65537, b'x');
    assert_eq!(run_whole(&input).end, err("too big inline request"));
    let mut input = b"*1\0\r\n".to_vec();
    input.resize(65537, b'x');
    assert_eq!(run_whole(&input).end, err("too big mbulk count string"));
    let mut input = b"*1\r\n$1\0\r\n".to_vec();
    input.resize(65537 + 4, b'x');
    assert_eq!(run_whole(&input).end, err("too big bulk count string"));
}

#[test]
fn inline_requests() {
    check(b"PING\r\n", &[&["PING"]], End::Incomplete(0));
    check(b"PING\n", &[&["PING"]], End::Incomplete(0));
    check(b"PING", &[], End::Incomplete(4));
    check(b"PING\r", &[], End::Incomplete(5));
    check(
        b"set a b\r\nget a\n",
        &[&["set", "a", "b"], &["get", "a"]],
        End::Incomplete(0),
    );
    check(
        b"ECHO \"a\\x41\\n\"\r\n",
        &[&["ECHO", "aA\n"]],
        End::Incomplete(0),
    );
    check(b"ECHO 'a\\'b'\r\n", &[&["ECHO", "a'b"]], End::Incomplete(0));
    check(
        b"ECHO a\"b c\"\r\n",
        &[&["ECHO", "ab c"]],
        End::Incomplete(0),
    );
    check(b"ECHO \x0bfoo\r\n", &[&["ECHO", "foo"]], End::Incomplete(0));
    check(
        b"ECHO a\x0bb\r\n",
        &[&["ECHO", "a\x0bb"]],
        End::Incomplete(0),
    );
    check(b"ECHO \"a\"\x0b\r\n", &[&["ECHO", "a"]], End::Incomplete(0));
    check(b"ECHO \"\\q\"\r\n", &[&["ECHO", "q"]], End::Incomplete(0));
    check(b"ECHO a\rb\r\n", &[&["ECHO", "a", "b"]], End::Incomplete(0));
    check(b"ECHO \r\r\n", &[&["ECHO"]], End::Incomplete(0));
    check(b"ECHO a\r\r\n", &[&["ECHO", "a"]], End::Incomplete(0));
    check(
        b"ECHO \"\" ''\r\n",
        &[&["ECHO", "", ""]],
        End::Incomplete(0),
    );
    check(b"$4\r\n", &[&["$4"]], End::Incomplete(0));
}

#[test]
fn unbalanced_quotes() {
    check(b"ECHO \"a\"b\r\n", &[], err("unbalanced quotes in request"));
    check(b"ECHO 'a'b\r\n", &[], err("unbalanced quotes in request"));
    check(b"ECHO \"abc\r\n", &[], err("unbalanced quotes in request"));
    check(b"ECHO 'abc\n", &[], err("unbalanced quotes in request"));
    check(
        b"PING\r\nECHO \"abc\r\nPING\r\n",
        &[&["PING"]],
        err("unbalanced quotes in request"),
    );
}

#[test]
fn unauthenticated_limits() {
    let run = |input: &[u8]| run_split(input, &[], &Limits::default(), true);
    assert_eq!(run(b"*10\r\n").end, End::Incomplete(5));
    assert_eq!(run(b"*11\r\n").end, err("unauthenticated multibulk length"));
    assert_eq!(run(b"*-100\r\nPING\r\n").commands, cmds(&[&["PING"]]));
    assert_eq!(run(b"*1\r\n$16384\r\n").end, End::Incomplete(12));
    assert_eq!(
        run(b"*1\r\n$16385\r\n").end,
        err("unauthenticated bulk length")
    );
    // The general limits are checked first.
    assert_eq!(run(b"*2147483648\r\n").end, err("invalid multibulk length"));
    assert_eq!(run(b"*1\r\n$536870913\r\n").end, err("invalid bulk length"));
    // Inline requests have no unauthenticated limit.
    assert_eq!(run(b"a b c d e f g h i j k l\r\n").commands.len(), 1);
}

#[test]
fn custom_limits() {
    let limits = Limits {
        max_bulk_len: 3,
        max_multibulk_len: 2,
        max_inline_len: 8,
    };
    let run = |input: &[u8]| run_split(input, &[], &limits, false);
    assert_eq!(
        run(b"*2\r\n$3\r\nfoo\r\n$3\r\nbar\r\n").commands,
        cmds(&[&["foo", "bar"]])
    );
    assert_eq!(run(b"*3\r\n").end, err("invalid multibulk length"));
    assert_eq!(run(b"*1\r\n$4\r\n").end, err("invalid bulk length"));
    assert_eq!(run(b"12345678\n").commands, cmds(&[&["12345678"]]));
    assert_eq!(run(b"123456789\n").end, err("too big inline request"));
    assert_eq!(run(b"*00000001\r\n").end, err("too big mbulk count string"));
}

#[test]
fn multibulk_args_are_slices_of_the_input_buffer() {
    let input = multibulk(&[b"SET", b"key", b"value"]);
    let mut buf = BytesMut::with_capacity(1024);
    buf.extend_from_slice(&input);
    buf.extend_from_slice(b"*1\r\n$4\r\nPI");
    let base = buf.as_ptr() as usize;
    let args = RequestParser::new()
        .parse(&mut buf, &Limits::default())
        .unwrap()
        .unwrap();
    for a in &args {
        let p = a.as_ptr() as usize;
        assert!(p >= base && p + a.len() <= base + input.len(), "arg copied");
    }
    assert_eq!(&buf[..], b"*1\r\n$4\r\nPI");
}

#[test]
fn plain_inline_args_are_slices_too() {
    let mut buf = BytesMut::from(&b"SET key \"value\"\r\n"[..]);
    let base = buf.as_ptr() as usize;
    let args = RequestParser::new()
        .parse(&mut buf, &Limits::default())
        .unwrap()
        .unwrap();
    assert_eq!(args, vec!["SET", "key", "value"]);
    for a in &args {
        let p = a.as_ptr() as usize;
        assert!(p >= base && p < base + 17, "arg copied");
    }
}

#[test]
fn needed_hint_reports_the_rest_of_the_current_bulk() {
    let mut p = RequestParser::new();
    let limits = Limits::default();
    let mut buf = BytesMut::from(&b"*2\r\n$3\r\nSET\r\n$100000\r\nabc"[..]);
    assert_eq!(p.parse(&mut buf, &limits).unwrap(), None);
    assert_eq!(p.needed_hint(), 100_000 + 2 - 3);
    buf.extend_from_slice(&vec![b'x'; 50_000]);
    assert_eq!(p.parse(&mut buf, &limits).unwrap(), None);
    assert_eq!(p.needed_hint(), 100_000 + 2 - 50_003);
    buf.extend_from_slice(&vec![b'x'; 49_997]);
    buf.extend_from_slice(b"\r\n");
    let args = p.parse(&mut buf, &limits).unwrap().unwrap();
    assert_eq!(args[1].len(), 100_000);
    assert_eq!(p.needed_hint(), 0);
    assert!(buf.is_empty());
    // Unknown while a header is incomplete.
    let mut buf = BytesMut::from(&b"*2\r\n$3"[..]);
    assert_eq!(p.parse(&mut buf, &limits).unwrap(), None);
    assert_eq!(p.needed_hint(), 0);
}

#[test]
fn large_request_in_many_small_reads() {
    let n = 200_000;
    let mut input = format!("*{n}\r\n").into_bytes();
    for i in 0..n {
        let a = i.to_string();
        input.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
    }
    let cuts: Vec<usize> = (1..input.len()).step_by(1500).collect();
    let out = run_split(&input, &cuts, &Limits::default(), false);
    assert_eq!(out.end, End::Incomplete(0));
    assert_eq!(out.commands.len(), 1);
    assert_eq!(out.commands[0].len(), n);
    assert_eq!(out.commands[0][n - 1], (n - 1).to_string().into_bytes());
}
