//! Byte-exact parse tables for the text protocol, observed against memcached 1.6.18.
//!
//! Every complete case is also checked at every shorter prefix: a prefix is `Incomplete` (or, for
//! a storage command whose line is complete but whose data is not, still `Incomplete`), never a
//! different request.

use darter_memcache::text::{
    BAD_CHUNK, BAD_DELTA, BAD_EXPTIME, BAD_FORMAT, DELETE_USAGE, ERROR, MAX_LINE,
};
use darter_memcache::{parse, Fatal, Parsed, Request, Settings, StoreOp};

fn p(input: &[u8]) -> Parsed<'_> {
    let s = Settings::default();
    let got = parse(input, &s).expect("not fatal").expect("complete");
    // Every shorter prefix is incomplete, unless the request answers before its data (TooLarge).
    if got.swallow == 0 {
        for i in 0..input.len().min(got.used) {
            assert_eq!(parse(&input[..i], &s), Ok(None), "prefix {i} of {input:?}");
        }
    }
    got
}

fn err(line: &'static str, noreply: bool) -> Request<'static> {
    Request::Error { line, noreply }
}

#[test]
fn storage_commands() {
    let r = p(b"set k 5 100 3\r\nabc\r\nrest");
    assert_eq!(r.used, 20);
    assert_eq!(
        r.request,
        Request::Store {
            op: StoreOp::Set,
            key: b"k",
            flags: 5,
            exptime: 100,
            data: b"abc",
            cas: 0,
            noreply: false
        }
    );
    let r = p(b"cas k 0 -1 0 77 noreply\r\n\r\n");
    assert_eq!(
        r.request,
        Request::Store {
            op: StoreOp::Cas,
            key: b"k",
            flags: 0,
            exptime: -1,
            data: b"",
            cas: 77,
            noreply: true
        }
    );
    for (cmd, op) in [
        ("add", StoreOp::Add),
        ("replace", StoreOp::Replace),
        ("append", StoreOp::Append),
        ("prepend", StoreOp::Prepend),
    ] {
        let line = format!("{cmd}  k  1  0  1 \r\nx\r\n");
        let r = p(line.as_bytes());
        assert!(matches!(r.request, Request::Store { op: o, data: b"x", .. } if o == op));
    }
    // Line endings: a bare \n ends a line; the data block always needs \r\n.
    assert_eq!(p(b"set k 0 0 1\nx\r\n").used, 15);
    assert_eq!(parse(b"set k 0 0 1\nx\n", &Settings::default()), Ok(None));
    // Flags wrap at 32 bits like memcached 1.6.18's strtoul into uint32.
    assert!(matches!(
        p(b"set k 4294967297 0 1\r\nx\r\n").request,
        Request::Store { flags: 1, .. }
    ));
}

#[test]
fn storage_errors() {
    assert_eq!(p(b"set k 0 0\r\n").request, err(ERROR, false));
    assert_eq!(p(b"set k 0 0 1 2 3\r\n").request, err(ERROR, false));
    assert_eq!(p(b"cas k 0 0 1\r\n").request, err(ERROR, false));
    let r = p(b"set k x 0 1\r\nx\r\n");
    assert_eq!((r.request, r.used), (err(BAD_FORMAT, false), 13));
    assert_eq!(p(b"set k -1 0 1\r\n").request, err(BAD_FORMAT, false));
    assert_eq!(p(b"set k 0 0 -1\r\n").request, err(BAD_FORMAT, false));
    assert_eq!(p(b"set k 0 x 1 noreply\r\n").request, err(BAD_FORMAT, true));
    assert_eq!(p(b"cas k 0 0 1 x\r\n").request, err(BAD_FORMAT, false));
    let long = format!("set {} 0 0 1\r\nx\r\n", "k".repeat(251));
    assert_eq!(p(long.as_bytes()).request, err(BAD_FORMAT, false));
    let ok = format!("set {} 0 0 1\r\nx\r\n", "k".repeat(250));
    assert!(matches!(p(ok.as_bytes()).request, Request::Store { .. }));
    // A data block not ending in \r\n: the block's length is consumed, the rest is a new line.
    let r = p(b"set k 0 0 1\r\nxyz\r\n");
    assert_eq!((r.request, r.used), (err(BAD_CHUNK, false), 16));
}

#[test]
fn too_large_swallows_the_block() {
    let s = Settings { max_item_size: 100 };
    // 59 bytes of overhead + 1-byte key + 40 = 100: fits; 41 does not.
    let fits = format!("set k 0 0 40\r\n{}\r\n", "x".repeat(40));
    assert!(matches!(
        parse(fits.as_bytes(), &s).unwrap().unwrap().request,
        Request::Store { .. }
    ));
    let r = parse(b"set k 0 0 41 noreply\r\n", &s).unwrap().unwrap();
    assert_eq!(
        r.request,
        Request::TooLarge {
            op: StoreOp::Set,
            key: b"k",
            noreply: true
        }
    );
    assert_eq!((r.used, r.swallow), (22, 43));
}

#[test]
fn retrieval() {
    assert_eq!(
        p(b"get a b  c\r\n").request,
        Request::Get {
            keys: vec![b"a", b"b", b"c"],
            cas: false
        }
    );
    assert_eq!(
        p(b"gets a\r\n").request,
        Request::Get {
            keys: vec![b"a"],
            cas: true
        }
    );
    assert_eq!(p(b"get\r\n").request, err(ERROR, false));
    assert_eq!(p(b"GET a\r\n").request, err(ERROR, false));
    let long = format!("get a {} b\r\n", "k".repeat(251));
    assert_eq!(p(long.as_bytes()).request, err(BAD_FORMAT, false));
    assert_eq!(
        p(b"gat 10 a b\r\n").request,
        Request::Gat {
            exptime: 10,
            keys: vec![b"a", b"b"],
            cas: false
        }
    );
    assert_eq!(
        p(b"gats -1 a\r\n").request,
        Request::Gat {
            exptime: -1,
            keys: vec![b"a"],
            cas: true
        }
    );
    assert_eq!(p(b"gat a\r\n").request, err(BAD_EXPTIME, false));
    assert_eq!(p(b"gat 10\r\n").request, err(ERROR, false));
    assert_eq!(p(b"gat x a\r\n").request, err(BAD_EXPTIME, false));
}

#[test]
fn other_commands() {
    assert_eq!(
        p(b"delete a\r\n").request,
        Request::Delete {
            key: b"a",
            noreply: false
        }
    );
    assert_eq!(
        p(b"delete a 0\r\n").request,
        Request::Delete {
            key: b"a",
            noreply: false
        }
    );
    assert_eq!(
        p(b"delete a 0 noreply\r\n").request,
        Request::Delete {
            key: b"a",
            noreply: true
        }
    );
    assert_eq!(p(b"delete a 5\r\n").request, err(DELETE_USAGE, false));
    assert_eq!(p(b"delete a b c\r\n").request, err(DELETE_USAGE, false));
    assert_eq!(p(b"delete\r\n").request, err(ERROR, false));
    assert_eq!(
        p(b"incr a 5\r\n").request,
        Request::Arith {
            key: b"a",
            delta: 5,
            incr: true,
            noreply: false
        }
    );
    assert_eq!(
        p(b"decr a 5 noreply\r\n").request,
        Request::Arith {
            key: b"a",
            delta: 5,
            incr: false,
            noreply: true
        }
    );
    assert_eq!(p(b"incr a x\r\n").request, err(BAD_DELTA, false));
    assert_eq!(p(b"incr a -1 noreply\r\n").request, err(BAD_DELTA, true));
    assert_eq!(p(b"incr a\r\n").request, err(ERROR, false));
    assert_eq!(
        p(b"touch a 10\r\n").request,
        Request::Touch {
            key: b"a",
            exptime: 10,
            noreply: false
        }
    );
    assert_eq!(p(b"touch a x\r\n").request, err(BAD_EXPTIME, false));
    assert_eq!(p(b"touch a\r\n").request, err(ERROR, false));
    assert_eq!(
        p(b"flush_all\r\n").request,
        Request::FlushAll {
            delay: 0,
            noreply: false
        }
    );
    assert_eq!(
        p(b"flush_all noreply\r\n").request,
        Request::FlushAll {
            delay: 0,
            noreply: true
        }
    );
    assert_eq!(
        p(b"flush_all -1\r\n").request,
        Request::FlushAll {
            delay: -1,
            noreply: false
        }
    );
    assert_eq!(
        p(b"flush_all 10 noreply\r\n").request,
        Request::FlushAll {
            delay: 10,
            noreply: true
        }
    );
    assert_eq!(p(b"flush_all x\r\n").request, err(BAD_EXPTIME, false));
    assert_eq!(p(b"version\r\n").request, Request::Version);
    assert_eq!(p(b"quit\r\n").request, Request::Quit);
    assert_eq!(
        p(b"verbosity 1\r\n").request,
        Request::Verbosity { noreply: false }
    );
    assert_eq!(
        p(b"verbosity 1 noreply\r\n").request,
        Request::Verbosity { noreply: true }
    );
    assert_eq!(p(b"verbosity\r\n").request, err(ERROR, false));
    assert_eq!(p(b"verbosity x\r\n").request, err(BAD_FORMAT, false));
    assert_eq!(p(b"stats\r\n").request, Request::Stats { args: vec![] });
    assert_eq!(
        p(b"stats items\r\n").request,
        Request::Stats {
            args: vec![b"items"]
        }
    );
    assert_eq!(p(b"\r\n").request, err(ERROR, false));
    assert_eq!(p(b"   \n").request, err(ERROR, false));
}

#[test]
fn long_lines() {
    let s = Settings::default();
    let junk = vec![b'x'; MAX_LINE + 1];
    assert_eq!(parse(&junk, &s), Err(Fatal::LineTooLong));
    assert_eq!(parse(&junk[..MAX_LINE], &s), Ok(None));
    // Fuzz regression: a long line whose end arrived with it is refused as well.
    let mut ended = junk.clone();
    ended.extend_from_slice(b"\r\n");
    assert_eq!(parse(&ended, &s), Err(Fatal::LineTooLong));
    let mut fits = vec![b'x'; MAX_LINE];
    fits.push(b'\n');
    assert!(parse(&fits, &s).unwrap().is_some());
    let mut get = b"get ".to_vec();
    get.extend(std::iter::repeat_n(b'a', MAX_LINE * 4));
    assert_eq!(parse(&get, &s), Ok(None));
}

#[test]
fn nonzero_flags_count_against_the_limit() {
    let s = Settings { max_item_size: 100 };
    let r = parse(b"set k 1 0 36\r\n", &s).unwrap();
    assert_eq!(r, None, "fits: waits for the data");
    let r = parse(b"set k 1 0 37\r\n", &s).unwrap().unwrap();
    assert!(matches!(r.request, Request::TooLarge { .. }));
}
