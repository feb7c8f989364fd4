//! `bit.*` against redis-server 7.0.15.

mod common;
use common::*;
use darter_scripting::Frame;

#[test]
fn operations_match_redis() {
    let f = eval("return {bit.tobit(2^32+5), bit.tohex(-1), bit.tohex(255,-4), bit.bswap(0x12345678), bit.rol(0x80000001, 1), bit.arshift(-256, 4), bit.rshift(-256,4), bit.tobit(1.5), bit.tobit(2.5), bit.tobit(\"10\"), bit.bxor(5,3,1), bit.tohex(65535, 2), bit.bnot(0), bit.tobit(2^53+3), bit.lshift(1, 35)}");
    let want = "5 ffffffff 00FF 2018915346 3 -16 268435440 2 2 10 7 ff -1 2 8";
    let got: Vec<String> = match f {
        Frame::Array(v) => v
            .iter()
            .map(|x| match x {
                Frame::Integer(i) => i.to_string(),
                Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
                o => panic!("{o:?}"),
            })
            .collect(),
        o => panic!("{o:?}"),
    };
    assert_eq!(got.join(" "), want);
    assert_eq!(
        eval(
            "return {bit.band(0xff, 0x0f), bit.bor(1, 2, 4), bit.ror(1, 1), bit.tohex(0x1234, 0)}"
        ),
        Frame::Array(vec![int(15), int(7), int(-2147483648), bulk("")])
    );
}

#[test]
fn errors_match_redis() {
    assert_eq!(
        eval("return bit.band(\"x\")"),
        err("ERR user_script:1: bad argument #1 to 'band' (number expected, got string) script: ead7262ed91b4659715ea2e3311e15f614ee3667, on @user_script:1.")
    );
    assert_eq!(
        eval("return bit.bor(1,{})"),
        err("ERR user_script:1: bad argument #2 to 'bor' (number expected, got table) script: d564d59c2a1b3be2dbfa84c8c73694c66b12b8d9, on @user_script:1.")
    );
    assert_eq!(
        eval("return bit.lshift()"),
        err("ERR user_script:1: bad argument #1 to 'lshift' (number expected, got no value) script: 9ee8e1a81c9351dd35f171cce096b65264f2e2e4, on @user_script:1.")
    );
    assert_eq!(
        eval("local ok, e = pcall(bit.band, \"x\") return e"),
        bulk("bad argument #1 to '?' (number expected, got string)")
    );
}
