//! Reply writer tests: every method's bytes in RESP2 and RESP3 (as Redis 7.0's addReply* functions
//! produce them), and `format_g17` against the C library's `snprintf("%.17g")`.

use darter_resp::{format_g17, Protocol, ReplyWriter};
use proptest::prelude::*;

fn both(f: impl Fn(&mut ReplyWriter)) -> (Vec<u8>, Vec<u8>) {
    let mut w2 = ReplyWriter::new(Protocol::Resp2);
    let mut w3 = ReplyWriter::new(Protocol::Resp3);
    f(&mut w2);
    f(&mut w3);
    (w2.buf.to_vec(), w3.buf.to_vec())
}

fn same(f: impl Fn(&mut ReplyWriter), want: &[u8]) {
    let (r2, r3) = both(f);
    assert_eq!(r2, want, "resp2");
    assert_eq!(r3, want, "resp3");
}

fn differ(f: impl Fn(&mut ReplyWriter), want2: &[u8], want3: &[u8]) {
    let (r2, r3) = both(f);
    assert_eq!(
        String::from_utf8_lossy(&r2),
        String::from_utf8_lossy(want2),
        "resp2"
    );
    assert_eq!(
        String::from_utf8_lossy(&r3),
        String::from_utf8_lossy(want3),
        "resp3"
    );
}

#[test]
fn scalars() {
    same(|w| w.ok(), b"+OK\r\n");
    same(|w| w.simple(b"PONG"), b"+PONG\r\n");
    same(|w| w.error("ERR syntax error"), b"-ERR syntax error\r\n");
    same(|w| w.error("ERR a\r\nb\nc"), b"-ERR a  b c\r\n");
    same(|w| w.error("\r\nERR trimmed\r\n"), b"-ERR trimmed\r\n");
    same(|w| w.int(0), b":0\r\n");
    same(|w| w.int(-42), b":-42\r\n");
    same(|w| w.int(i64::MIN), b":-9223372036854775808\r\n");
    same(|w| w.int(i64::MAX), b":9223372036854775807\r\n");
    same(|w| w.bulk(b""), b"$0\r\n\r\n");
    same(|w| w.bulk(b"a\r\nb"), b"$4\r\na\r\nb\r\n");
    same(|w| w.bulk_int(-17), b"$3\r\n-17\r\n");
    same(|w| w.bulk_int(i64::MIN), b"$20\r\n-9223372036854775808\r\n");
    same(|w| w.raw(b"+RAW\r\n"), b"+RAW\r\n");
    same(|w| w.array(3), b"*3\r\n");
    same(|w| w.array(0), b"*0\r\n");
}

#[test]
fn resp3_types_and_their_resp2_fallbacks() {
    differ(|w| w.null(), b"$-1\r\n", b"_\r\n");
    differ(|w| w.null_array(), b"*-1\r\n", b"_\r\n");
    differ(|w| w.map(2), b"*4\r\n", b"%2\r\n");
    differ(|w| w.set(5), b"*5\r\n", b"~5\r\n");
    differ(|w| w.push(3), b"*3\r\n", b">3\r\n");
    differ(|w| w.bool(true), b":1\r\n", b"#t\r\n");
    differ(|w| w.bool(false), b":0\r\n", b"#f\r\n");
    differ(|w| w.double(1.5), b"$3\r\n1.5\r\n", b",1.5\r\n");
    differ(
        |w| w.double(0.1),
        b"$19\r\n0.10000000000000001\r\n",
        b",0.10000000000000001\r\n",
    );
    differ(|w| w.double(1e17), b"$5\r\n1e+17\r\n", b",1e+17\r\n");
    differ(|w| w.double(f64::INFINITY), b"$3\r\ninf\r\n", b",inf\r\n");
    differ(
        |w| w.double(f64::NEG_INFINITY),
        b"$4\r\n-inf\r\n",
        b",-inf\r\n",
    );
    differ(|w| w.double(f64::NAN), b"$3\r\nnan\r\n", b",nan\r\n");
    differ(
        |w| w.verbatim("txt", b"hi\r\n"),
        b"$4\r\nhi\r\n\r\n",
        b"=8\r\ntxt:hi\r\n\r\n",
    );
    differ(
        |w| w.verbatim("m", b"x"),
        b"$1\r\nx\r\n",
        b"=5\r\nm  :x\r\n",
    );
    differ(
        |w| w.verbatim("mkdn", b"x"),
        b"$1\r\nx\r\n",
        b"=5\r\nmkd:x\r\n",
    );
    differ(|w| w.big_number("-123"), b"$4\r\n-123\r\n", b"(-123\r\n");
}

#[test]
fn a_nested_reply_and_len() {
    let mut w = ReplyWriter::new(Protocol::Resp3);
    w.map(1);
    w.bulk(b"k");
    w.array(2);
    w.int(1);
    w.null();
    assert_eq!(&w.buf[..], b"%1\r\n$1\r\nk\r\n*2\r\n:1\r\n_\r\n");
    assert_eq!(w.len(), w.buf.len());
    let w = ReplyWriter::with_buf(bytes::BytesMut::from(&b"x"[..]), Protocol::Resp2);
    assert_eq!(w.len(), 1);
}

/// glibc's `snprintf("%.17g")`.
fn c_g17(v: f64) -> Vec<u8> {
    let mut buf = [0u8; 64];
    // SAFETY: the buffer is 64 bytes and its size is passed; "%.17g" consumes exactly one double.
    let n = unsafe { libc::snprintf(buf.as_mut_ptr().cast(), buf.len(), c"%.17g".as_ptr(), v) };
    buf[..n as usize].to_vec()
}

fn rust_g17(v: f64) -> Vec<u8> {
    let mut out = Vec::new();
    format_g17(v, &mut out);
    out
}

// Some edge values need all their digits spelled out.
#[allow(clippy::excessive_precision)]
#[test]
fn g17_edge_values_match_libc() {
    let mut vals = vec![
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.1,
        0.5,
        1.5,
        2.5,
        1e-4,
        9.9999999999999995e-5,
        1e-5,
        1e15,
        1e16,
        9.999999999999999e16,
        1e17,
        1e21,
        1e22,
        1e300,
        1e-300,
        123456789012345678.0,
        f64::MAX,
        f64::MIN,
        f64::MIN_POSITIVE,
        f64::EPSILON,
        5e-324,
        2.2250738585072009e-308,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        -f64::NAN,
        1234567890123456.25,
        1234567890123456.75,
        0.30000000000000004,
        100.0,
        3.0e-5,
    ];
    for p in -330..310 {
        vals.push(10f64.powi(p));
        vals.push(-(10f64.powi(p)) * 1.5);
    }
    for k in 1..3000u32 {
        for j in [0, 1, 3, 7, 10, 20, 40, 55, 60] {
            vals.push(f64::from(k) / 2f64.powi(j));
        }
    }
    for v in vals {
        assert_eq!(
            String::from_utf8(rust_g17(v)).unwrap(),
            String::from_utf8(c_g17(v)).unwrap(),
            "{v:e}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 20000, ..ProptestConfig::default() })]

    #[test]
    fn g17_matches_libc_on_any_bits(bits in any::<u64>()) {
        let v = f64::from_bits(bits);
        prop_assert_eq!(rust_g17(v), c_g17(v));
    }

    #[test]
    fn g17_matches_libc_on_decimal_like_values(m in -1_000_000_000i64..1_000_000_000, e in -30i32..30) {
        let v = m as f64 * 10f64.powi(e);
        prop_assert_eq!(rust_g17(v), c_g17(v));
    }

    #[test]
    fn g17_matches_libc_on_ties(k in 1u64..(1 << 20), j in 0i32..70) {
        let v = k as f64 / 2f64.powi(j);
        prop_assert_eq!(rust_g17(v), c_g17(v));
    }
}
