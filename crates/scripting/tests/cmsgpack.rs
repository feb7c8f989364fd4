//! `cmsgpack` against redis-server 7.0.15 (hex of `cmsgpack.pack(...)` captured with redis-cli),
//! and property tests of pack/unpack round trips.

mod common;
use common::*;
use darter_scripting::{Frame, ScriptVm};
use proptest::prelude::*;

const HEX: &str = "local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end ";

const PACK: &[(&str, &str)] = &[
    ("1", "01"),
    ("-1", "ff"),
    ("127", "7f"),
    ("128", "cc80"),
    ("255", "ccff"),
    ("256", "cd0100"),
    ("65535", "cdffff"),
    ("65536", "ce00010000"),
    ("4294967295", "ceffffffff"),
    ("4294967296", "cf0000000100000000"),
    ("-32", "e0"),
    ("-33", "d0df"),
    ("-128", "d080"),
    ("-129", "d1ff7f"),
    ("-32768", "d18000"),
    ("-32769", "d2ffff7fff"),
    ("-2147483648", "d280000000"),
    ("-2147483649", "d3ffffffff7fffffff"),
    ("1.5", "ca3fc00000"),
    ("0.1", "cb3fb999999999999a"),
    ("1/0", "ca7f800000"),
    ("0/0", "cbfff8000000000000"),
    ("2^63", "ca5f000000"),
    ("-2^63", "d38000000000000000"),
    ("2^64", "ca5f800000"),
    ("\"abc\"", "a3616263"),
    ("true", "c3"),
    ("false", "c2"),
    ("nil", "c0"),
    ("{}", "90"),
    ("{1,2,3}", "93010203"),
    ("{a=1}", "81a16101"),
    ("{1,nil,3}", "8201010303"),
    ("{[0]=1}", "810001"),
    ("{[1.5]=1}", "81ca3fc0000001"),
    ("1,2,\"x\"", "0102a178"),
    (
        "{1e-20, 1-2^-53, {a=1e-300}}",
        "93cb3bc79ca10c924223cb3fefffffffffffff81a161cb01a56e1fc2f8f359",
    ),
    (
        "{{{{{{{{{{{{{{{{{{1}}}}}}}}}}}}}}}}}}",
        "91919191919191919191919191919191c0",
    ),
];

#[test]
fn pack_matches_redis() {
    let mut vm = ScriptVm::new().unwrap();
    let mut sink = ToySink::default();
    for (args, want) in PACK {
        let body = format!("{HEX}return hex(cmsgpack.pack({args}))");
        assert_eq!(
            eval_with(&mut vm, &mut sink, &body, &[], &[]),
            bulk(want),
            "{args}"
        );
    }
    let body = format!("{HEX}return hex(cmsgpack.pack(string.rep('x', 32))):sub(1, 6)");
    assert_eq!(
        eval_with(&mut vm, &mut sink, &body, &[], &[]),
        bulk("d92078")
    );
    let body = format!("{HEX}return hex(cmsgpack.pack(string.rep('x', 256))):sub(1, 8)");
    assert_eq!(
        eval_with(&mut vm, &mut sink, &body, &[], &[]),
        bulk("da010078")
    );
}

fn msg(f: Frame) -> String {
    match f {
        Frame::Error(e) => String::from_utf8_lossy(&e)
            .split(" script: ")
            .next()
            .unwrap()
            .to_string(),
        Frame::Array(v) => v.into_iter().map(msg).collect::<Vec<_>>().join(" "),
        Frame::Integer(i) => i.to_string(),
        Frame::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
        Frame::Null => "(nil)".into(),
        other => format!("{other:?}"),
    }
}

#[test]
fn unpack_matches_redis() {
    let cases: &[(&str, &str)] = &[
        ("return cmsgpack.pack()", "ERR user_script:1: bad argument #0 to 'pack' (MessagePack pack needs input.)"),
        ("return {cmsgpack.unpack(\"\\1\\2\\3\")}", "1 2 3"),
        ("return cmsgpack.unpack(\"\\204\")", "ERR user_script:1: Missing bytes in input."),
        ("return cmsgpack.unpack(\"\\193\")", "ERR user_script:1: Bad data format in input."),
        ("return cmsgpack.unpack(\"\\196\\1a\")", "ERR user_script:1: Bad data format in input."),
        ("return {cmsgpack.unpack_one(\"\\1\\2\\3\")}", "1 1"),
        ("return {cmsgpack.unpack_one(\"\\1\\2\\3\", 2)}", "-1 3"),
        ("return {cmsgpack.unpack_one(\"\\1\\2\\3\", 3)}", "-1"),
        ("return {cmsgpack.unpack_one(\"\\1\\2\\3\", 4)}", "ERR user_script:1: Start offset 4 greater than input length 3."),
        ("return {cmsgpack.unpack_one(\"\\1\\2\\3\", -1)}", "ERR user_script:1: Invalid request to unpack with offset of -1 and limit of 3."),
        ("return {cmsgpack.unpack_limit(\"\\1\\2\\3\", 2)}", "2 1 2"),
        ("return {cmsgpack.unpack_limit(\"\\1\\2\\3\", 0)}", "1 2 3"),
        ("return cmsgpack.unpack(\"\")", "(nil)"),
        ("return cjson.encode({cmsgpack.unpack(cmsgpack.pack({a={1,2,{b=true}},c=\"x\"}, 1.5, -7))})", "[{\"a\":[1,2,{\"b\":true}],\"c\":\"x\"},1.5,-7]"),
        ("return cmsgpack.unpack(\"\\129\\192\\1\")", "ERR table index is nil"),
        ("return tostring(cmsgpack.unpack(\"\\207\\255\\255\\255\\255\\255\\255\\255\\255\"))", "-1"),
        ("return tostring(cmsgpack.unpack(\"\\211\\128\\0\\0\\0\\0\\0\\0\\0\"))", "-9.2233720368548e+18"),
        ("return cmsgpack.unpack(\"\\212\\1\\1\")", "ERR user_script:1: Bad data format in input."),
        ("return {cmsgpack.unpack(\"\\147\\1\\192\\3\")}", "1"),
        ("return cmsgpack.unpack_limit(\"\\1\")", "ERR user_script:1: bad argument #2 to 'unpack_limit' (number expected, got no value)"),
    ];
    let mut vm = ScriptVm::new().unwrap();
    let mut sink = ToySink::default();
    for (body, want) in cases {
        assert_eq!(
            msg(eval_with(&mut vm, &mut sink, body, &[], &[])),
            *want,
            "{body}"
        );
    }
}

/// A Lua literal for a generated value, and a canonical rendering of what must come back.
#[derive(Debug, Clone)]
enum V {
    Int(i64),
    Str(String),
    Bool(bool),
    Arr(Vec<V>),
    Map(Vec<(String, V)>),
}

fn lit(v: &V) -> String {
    match v {
        V::Int(i) => format!("({i})"),
        V::Str(s) => format!("{s:?}"),
        V::Bool(b) => b.to_string(),
        V::Arr(a) => format!("{{{}}}", a.iter().map(lit).collect::<Vec<_>>().join(",")),
        V::Map(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("[{k:?}]={}", lit(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
    }
}

fn arb() -> impl Strategy<Value = V> {
    let leaf = prop_oneof![
        (-(1i64 << 53)..(1i64 << 53)).prop_map(V::Int),
        "[a-z]{0,40}".prop_map(V::Str),
        any::<bool>().prop_map(V::Bool),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(V::Arr),
            proptest::collection::btree_map("k[a-z]{0,5}", inner, 1..5)
                .prop_map(|m| V::Map(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn pack_unpack_round_trip(v in arb()) {
        let mut vm = ScriptVm::new().unwrap();
        let mut sink = ToySink::default();
        // What unpack returns is deeply equal to what was packed, and packs to the same length.
        let body = format!(
            "local function eq(a, b) \
               if type(a) ~= type(b) then return false end \
               if type(a) ~= 'table' then return a == b end \
               for k, v in pairs(a) do if not eq(v, b[k]) then return false end end \
               for k in pairs(b) do if a[k] == nil then return false end end \
               return true end \
             local v = {} local p = cmsgpack.pack(v) local u = cmsgpack.unpack(p) \
             return {{tostring(#cmsgpack.pack(u) == #p), eq(u, v) and 'same' or 'differ'}}",
            lit(&v)
        );
        prop_assert_eq!(eval_with(&mut vm, &mut sink, &body, &[], &[]), Frame::Array(vec![bulk("true"), bulk("same")]));
    }
}
