//! Byte-exact parse tables for the meta commands, observed against memcached 1.6.18.

use darter_memcache::meta::{
    BAD_KEY_ENCODING, BAD_TOKEN, DUPLICATE_FLAG, FLAGS_TOO_LONG, INVALID_FLAG,
    INVALID_OR_DUPLICATE, MA_BAD_MODE, MS_BAD_MODE,
};
use darter_memcache::text::{BAD_CHUNK, BAD_FORMAT, ERROR, TOO_LARGE};
use darter_memcache::{parse, Meta, MetaCmd, Parsed, Request, SetMode, Settings};

fn p(input: &[u8]) -> Parsed<'_> {
    let s = Settings::default();
    let got = parse(input, &s).expect("not fatal").expect("complete");
    if got.swallow == 0 {
        for i in 0..got.used {
            assert_eq!(parse(&input[..i], &s), Ok(None), "prefix {i} of {input:?}");
        }
    }
    got
}

fn meta(input: &[u8]) -> (MetaCmd, Meta<'_>) {
    match p(input).request {
        Request::Meta(c, m) => (c, m),
        other => panic!("{input:?}: {other:?}"),
    }
}

fn error(input: &[u8]) -> (&'static str, usize) {
    let r = p(input);
    match r.request {
        Request::Error { line, .. } => (line, r.swallow),
        other => panic!("{input:?}: {other:?}"),
    }
}

#[test]
fn meta_get_flags() {
    let (c, m) = meta(b"mg key s v f t c k Oabc q h l T30 N5 R10\r\n");
    assert_eq!(c, MetaCmd::Get);
    assert_eq!(m.lookup, b"key");
    assert_eq!(m.ret, b"sftckOhl");
    assert_eq!(m.opaque, Some(&b"abc"[..]));
    assert!(m.value && m.quiet);
    assert_eq!((m.ttl, m.vivify, m.recache), (Some(30), Some(5), Some(10)));
    let (_, m) = meta(b"mg YmluYXJ5 b k\r\n");
    assert_eq!(
        (m.lookup.as_slice(), m.base64, m.key),
        (&b"binary"[..], true, &b"YmluYXJ5"[..])
    );
    assert_eq!(meta(b"mn\r\n").0, MetaCmd::Noop);
    assert_eq!(meta(b"me k\r\n").0, MetaCmd::Debug);
}

#[test]
fn meta_set_and_data() {
    let r = p(b"ms k 2 F5 T100 c MA C9 I\r\nhi\r\n");
    assert_eq!(r.used, 30);
    let Request::Meta(MetaCmd::Set, m) = r.request else {
        panic!()
    };
    assert_eq!(m.data, b"hi");
    assert_eq!(
        (
            m.client_flags,
            m.ttl,
            m.set_mode,
            m.compare_cas,
            m.invalidate
        ),
        (Some(5), Some(100), Some(SetMode::Append), Some(9), true)
    );
    assert_eq!(error(b"ms k 1\r\nxyz\r\n"), (BAD_CHUNK, 0));
    let s = Settings { max_item_size: 100 };
    let r = parse(b"ms k 41\r\n", &s).unwrap().unwrap();
    assert_eq!(
        (r.request, r.swallow),
        (
            Request::Error {
                line: TOO_LARGE,
                noreply: false
            },
            43
        )
    );
}

#[test]
fn meta_arith_defaults() {
    let (c, m) = meta(b"ma n\r\n");
    assert_eq!(
        (c, m.incr, m.delta, m.initial),
        (MetaCmd::Arith, true, 1, 0)
    );
    let (_, m) = meta(b"ma n MD D3 J7 N0\r\n");
    assert_eq!(
        (m.incr, m.delta, m.initial, m.vivify),
        (false, 3, 7, Some(0))
    );
}

#[test]
fn meta_errors() {
    assert_eq!(error(b"mg\r\n"), (ERROR, 0));
    assert_eq!(error(b"mg a zz\r\n"), (INVALID_FLAG, 0));
    assert_eq!(error(b"mg a E1\r\n"), (INVALID_FLAG, 0));
    assert_eq!(error(b"mg a v v\r\n"), (DUPLICATE_FLAG, 0));
    assert_eq!(error(b"mg a Tx\r\n"), (BAD_TOKEN, 0));
    assert_eq!(error(b"md a C\r\n"), (INVALID_OR_DUPLICATE, 0));
    assert_eq!(error(b"md a q q\r\n"), (INVALID_OR_DUPLICATE, 0));
    assert_eq!(error(b"ma a D-1\r\n"), (INVALID_OR_DUPLICATE, 0));
    assert_eq!(error(b"ma a Mx\r\n"), (MA_BAD_MODE, 0));
    // ms: once the length is known, a bad flag swallows the data block.
    assert_eq!(error(b"ms a 1 MX\r\n"), (MS_BAD_MODE, 3));
    assert_eq!(error(b"ms a 1 Fx\r\n"), (BAD_FORMAT, 3));
    assert_eq!(error(b"ms a 1 Tx\r\n"), (BAD_TOKEN, 3));
    assert_eq!(error(b"ms a x\r\n"), (BAD_FORMAT, 0));
    assert_eq!(error(b"ms a\r\n"), (BAD_FORMAT, 0));
    assert_eq!(error(b"me\r\n"), (BAD_FORMAT, 0));
    assert_eq!(error(b"mg 9$$$ b v\r\n"), (BAD_KEY_ENCODING, 0));
    let many = format!("mg a{}\r\n", " v".repeat(30));
    assert_eq!(error(many.as_bytes()), (FLAGS_TOO_LONG, 0));
}

#[test]
fn meta_token_limit() {
    let ok = format!("mg a{}\r\n", " v".repeat(17));
    assert_eq!(error(ok.as_bytes()), (DUPLICATE_FLAG, 0));
    let long = format!("mg a{}\r\n", " v".repeat(18));
    assert_eq!(error(long.as_bytes()), (FLAGS_TOO_LONG, 0));
}
