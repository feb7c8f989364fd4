//! Frame codec tests: decoding every RESP2/RESP3 type, incomplete and invalid inputs, and the
//! encode/decode round trip.

use bytes::Bytes;
use darter_resp::{decode, encode, Frame, Protocol, ReplyWriter};
use proptest::prelude::*;

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn one(input: &[u8]) -> Frame {
    let (f, used) = decode(input).expect("valid").expect("complete");
    assert_eq!(used, input.len(), "used");
    f
}

#[test]
fn decodes_each_type() {
    assert_eq!(one(b"+OK\r\n"), Frame::Simple(b("OK")));
    assert_eq!(one(b"-ERR x\r\n"), Frame::Error(b("ERR x")));
    assert_eq!(one(b"!5\r\nERR y\r\n"), Frame::Error(b("ERR y")));
    assert_eq!(one(b":-12\r\n"), Frame::Integer(-12));
    assert_eq!(one(b"$3\r\na\r\n\r\n"), Frame::Bulk(b("a\r\n")));
    assert_eq!(one(b"$0\r\n\r\n"), Frame::Bulk(b("")));
    assert_eq!(one(b"$-1\r\n"), Frame::Null);
    assert_eq!(one(b"_\r\n"), Frame::Null);
    assert_eq!(one(b"*-1\r\n"), Frame::NullArray);
    assert_eq!(one(b"*0\r\n"), Frame::Array(vec![]));
    assert_eq!(
        one(b"*2\r\n:1\r\n*1\r\n+a\r\n"),
        Frame::Array(vec![
            Frame::Integer(1),
            Frame::Array(vec![Frame::Simple(b("a"))])
        ])
    );
    assert_eq!(
        one(b"%1\r\n+k\r\n:2\r\n"),
        Frame::Map(vec![(Frame::Simple(b("k")), Frame::Integer(2))])
    );
    assert_eq!(one(b"~1\r\n#t\r\n"), Frame::Set(vec![Frame::Boolean(true)]));
    assert_eq!(
        one(b">1\r\n#f\r\n"),
        Frame::Push(vec![Frame::Boolean(false)])
    );
    assert_eq!(one(b",-inf\r\n"), Frame::Double(b("-inf")));
    assert_eq!(
        one(b"=8\r\ntxt:hi\r\n\r\n"),
        Frame::Verbatim(b("txt"), b("hi\r\n"))
    );
    assert_eq!(
        one(b"(12345678901234567890\r\n"),
        Frame::BigNumber(b("12345678901234567890"))
    );
    // Attributes are dropped.
    assert_eq!(
        one(b"|1\r\n+key-popularity\r\n:1\r\n:42\r\n"),
        Frame::Integer(42)
    );
}

#[test]
fn incomplete_inputs() {
    let full: &[u8] = b"*3\r\n$3\r\nfoo\r\n%1\r\n+a\r\n,1.5\r\n=5\r\ntxt:x\r\n";
    assert!(decode(full).unwrap().is_some());
    for n in 0..full.len() {
        assert_eq!(decode(&full[..n]), Ok(None), "prefix {n}");
    }
}

#[test]
fn invalid_inputs() {
    for bad in [
        &b"?\r\n"[..],
        b":x\r\n",
        b"$-2\r\n",
        b"$3\r\nfooXY",
        b"+a\rb\r\n",
        b"#x\r\n",
        b"_x\r\n",
        b"=2\r\nab\r\n",
        b"~-1\r\n",
    ] {
        assert!(decode(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
    }
    let deep = "*1\r\n".repeat(10_000);
    assert!(decode(deep.as_bytes()).is_err());
}

#[test]
fn trailing_bytes_are_left() {
    assert_eq!(
        decode(b"+a\r\n+b\r\n"),
        Ok(Some((Frame::Simple(b("a")), 4)))
    );
}

#[test]
fn decodes_what_the_writer_writes() {
    let mut w = ReplyWriter::new(Protocol::Resp3);
    w.map(2);
    w.bulk(b"d");
    w.double(0.5);
    w.bulk(b"v");
    w.verbatim("txt", b"text");
    let f = one(&w.buf);
    assert_eq!(
        f,
        Frame::Map(vec![
            (Frame::bulk("d"), Frame::Double(b("0.5"))),
            (Frame::bulk("v"), Frame::Verbatim(b("txt"), b("text"))),
        ])
    );
}

fn leaf() -> impl Strategy<Value = Frame> {
    let bytes = || prop::collection::vec(any::<u8>(), 0..16).prop_map(Bytes::from);
    let line = || "[ -~]{0,12}".prop_map(|s| Bytes::from(s.into_bytes()));
    prop_oneof![
        line().prop_map(Frame::Simple),
        line().prop_map(Frame::Error),
        any::<i64>().prop_map(Frame::Integer),
        bytes().prop_map(Frame::Bulk),
        Just(Frame::Null),
        Just(Frame::NullArray),
        any::<f64>().prop_map(|v| {
            let mut t = Vec::new();
            darter_resp::format_g17(v, &mut t);
            Frame::Double(Bytes::from(t))
        }),
        any::<bool>().prop_map(Frame::Boolean),
        ("[a-z]{3}", bytes()).prop_map(|(f, t)| Frame::Verbatim(Bytes::from(f.into_bytes()), t)),
        "-?[1-9][0-9]{0,30}".prop_map(|d| Frame::BigNumber(Bytes::from(d.into_bytes()))),
    ]
}

fn frame() -> impl Strategy<Value = Frame> {
    leaf().prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Frame::Array),
            prop::collection::vec(inner.clone(), 0..6).prop_map(Frame::Set),
            prop::collection::vec(inner.clone(), 0..6).prop_map(Frame::Push),
            prop::collection::vec((inner.clone(), inner), 0..4).prop_map(Frame::Map),
        ]
    })
}

proptest! {
    #[test]
    fn encode_decode_round_trip(f in frame()) {
        let mut out = Vec::new();
        encode(&f, &mut out);
        prop_assert_eq!(decode(&out), Ok(Some((f, out.len()))));
        for n in 0..out.len() {
            prop_assert_eq!(decode(&out[..n]), Ok(None));
        }
    }
}
