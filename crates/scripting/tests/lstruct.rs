//! `struct` against redis-server 7.0.15 (outputs captured with redis-cli), and round-trip
//! property tests.

mod common;
use common::*;
use darter_scripting::{Frame, ScriptVm};
use proptest::prelude::*;

const HEX: &str = "local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end ";

const PACK: &[(&str, &str)] = &[
    ("\">i\", 1", "00000001"),
    ("\"<i\", -2", "feffffff"),
    ("\"b\", -1", "ff"),
    ("\"B\", 255", "ff"),
    ("\"h\", 513", "0102"),
    ("\">h\", 513", "0201"),
    ("\"l\", -3", "fdffffffffffffff"),
    ("\"L\", 1", "0100000000000000"),
    ("\"T\", 5", "0500000000000000"),
    ("\">I3\", 65536+2", "010002"),
    ("\"i16\", -1", "ffffffffffffffff0000000000000000"),
    ("\">i16\", -1", "0000000000000000ffffffffffffffff"),
    ("\"f\", 1.5", "0000c03f"),
    ("\">d\", 0.1", "3fb999999999999a"),
    ("\"c3\", \"abcdef\"", "616263"),
    ("\"c0\", \"abc\"", "616263"),
    ("\"s\", \"hi\"", "686900"),
    ("\"bxb\", 1, 2", "010002"),
    ("\"!4 b i\", 1, 2", "0100000002000000"),
    ("\"! b d\", 1, 2", "01000000000000000000000000000040"),
    ("\"!2 b i\", 1, 2", "010002000000"),
    ("\"> b !8 l\", 1, 2", "01000000000000000000000000000002"),
    ("\"i\", 2^40", "00000000"),
    ("\"i\", -2^40", "00000000"),
    ("\"i\", 3.7", "03000000"),
    ("\"i\", -3.7", "fdffffff"),
    ("\" b \", 7", "07"),
];

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
fn pack_matches_redis() {
    let mut vm = ScriptVm::new().unwrap();
    let mut sink = ToySink::default();
    for (args, want) in PACK {
        let body = format!("{HEX}return hex(struct.pack({args}))");
        assert_eq!(
            eval_with(&mut vm, &mut sink, &body, &[], &[]),
            bulk(want),
            "{args}"
        );
    }
}

#[test]
fn unpack_size_and_errors_match_redis() {
    let cases: &[(&str, &str)] = &[
        (
            "return struct.pack(\"c5\", \"ab\")",
            "ERR user_script:1: bad argument #3 to 'pack' (string too short)",
        ),
        (
            "return struct.pack(\"q\", 1)",
            "ERR user_script:1: bad argument #1 to 'pack' (invalid format option 'q')",
        ),
        (
            "return struct.pack(\"!3 i\", 1)",
            "ERR user_script:1: alignment 3 is not a power of 2",
        ),
        (
            "return struct.pack(\"i33\", 1)",
            "ERR user_script:1: integral size 33 is larger than limit of 32",
        ),
        (
            "return struct.pack(\"i\", \"x\")",
            "ERR user_script:1: bad argument #2 to 'pack' (number expected, got string)",
        ),
        ("return struct.pack(\"s\", 1)", "1\0"),
        ("return {struct.unpack(\">i\", \"\\0\\0\\1\\0\")}", "256 5"),
        ("return {struct.unpack(\"<h\", \"\\255\\255\")}", "-1 3"),
        ("return {struct.unpack(\"<H\", \"\\255\\255\")}", "65535 3"),
        (
            "return {struct.unpack(\"c2 c0\", \"ab\\3xyz\")}",
            "ERR user_script:1: format 'c0' needs a previous size",
        ),
        ("return {struct.unpack(\"b c0\", \"\\2xyz\")}", "xy 4"),
        ("return {struct.unpack(\"s b\", \"hi\\0\\5\")}", "hi 5 5"),
        (
            "return {struct.unpack(\"i\", \"ab\")}",
            "ERR user_script:1: bad argument #2 to 'unpack' (data string too short)",
        ),
        ("return {struct.unpack(\"b\", \"abc\", 2)}", "98 3"),
        (
            "return {struct.unpack(\"b\", \"abc\", 0)}",
            "ERR user_script:1: bad argument #3 to 'unpack' (offset must be 1 or greater)",
        ),
        (
            "return {struct.unpack(\"b\", \"abc\", 5)}",
            "ERR user_script:1: bad argument #2 to 'unpack' (data string too short)",
        ),
        (
            "return {struct.unpack(\"s\", \"abc\")}",
            "ERR user_script:1: unfinished string in data",
        ),
        (
            "return {struct.unpack(\"c0\", \"abc\")}",
            "ERR user_script:1: format 'c0' needs a previous size",
        ),
        (
            "return {struct.unpack(\"<f\", struct.pack(\"<f\", 1.5))}",
            "1 5",
        ),
        (
            "return {struct.unpack(\"d\", struct.pack(\"d\", 0.1)) == 0.1}",
            "1",
        ),
        ("return struct.size(\"i b !8 d\")", "16"),
        (
            "return struct.size(\"s\")",
            "ERR user_script:1: bad argument #1 to 'size' (option 's' has no fixed size)",
        ),
        (
            "return struct.size(\"c0\")",
            "ERR user_script:1: bad argument #1 to 'size' (option 'c0' has no fixed size)",
        ),
        ("return struct.size(\"c10 h\")", "12"),
        ("return struct.size(\"z\")", "0"),
        (
            "return {struct.unpack(\"!4 b i\", struct.pack(\"!4 b i\", 1, 2))}",
            "1 2 9",
        ),
        (
            "local t={} for k,v in pairs(struct) do t[#t+1]=k end table.sort(t) return t",
            "pack size unpack",
        ),
        (
            "return {struct.unpack(\">i16\", struct.pack(\">i16\", -5))}",
            "-5 17",
        ),
        (
            "return {struct.unpack(\">I9\", \"\\1\\0\\0\\0\\0\\0\\0\\0\\1\")}",
            "1 10",
        ),
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn pack_unpack_round_trip(
        big in any::<bool>(),
        align in prop_oneof![Just(1u32), Just(2), Just(4), Just(8)],
        b in any::<i8>(), hh in any::<u16>(), i in any::<i32>(), l in -(1i64 << 52)..(1i64 << 52),
        // Magnitudes below 2^-52 reach Rust as 0 through mlua's Lua 5.1 number conversion
        // (docs/design/scripting.md, "Differences from Redis").
        d in any::<f64>().prop_filter("finite, not tiny", |d| d.is_finite() && (*d == 0.0 || d.abs() > 1e-15)),
        s in "[a-z]{0,20}", c in "[a-z]{3}",
    ) {
        let mut vm = ScriptVm::new().unwrap();
        let mut sink = ToySink::default();
        let e = if big { ">" } else { "<" };
        let fmt = format!("{e}!{align} b H i l d s c3");
        let body = format!(
            "local f = '{fmt}' local p = struct.pack(f, {b}, {hh}, {i}, {l}, {d:e}, '{s}', '{c}') \
             local r = {{struct.unpack(f, p)}} \
             return {{r[1] == {b}, r[2] == {hh}, r[3] == {i}, r[4] == {l}, r[5] == {d:e}, r[6], r[7], r[8] == #p + 1}}"
        );
        prop_assert_eq!(
            eval_with(&mut vm, &mut sink, &body, &[], &[]),
            Frame::Array(vec![int(1), int(1), int(1), int(1), int(1), bulk(&s), bulk(&c), int(1)])
        );
    }
}
