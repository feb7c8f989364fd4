//! `cjson` against redis-server 7.0.15 (outputs captured with `redis-cli EVAL ... 0`).

mod common;
use common::*;
use darter_scripting::Frame;

/// (script, expected bulk reply or error text without the ` script: ...` suffix)
const CASES: &[(&str, &str)] = &[
    ("return cjson.encode({1,2,3})", "[1,2,3]"),
    ("return cjson.encode({a=1})", "{\"a\":1}"),
    ("return cjson.encode({})", "{}"),
    ("return cjson.encode({[1]=1,[3]=3})", "[1,null,3]"),
    ("return cjson.encode({[1]=1,[20]=3})", "ERR user_script:1: Cannot serialise table: excessively sparse array"),
    ("return cjson.encode(0.1)", "0.1"),
    ("return cjson.encode(1/3)", "0.33333333333333"),
    ("return cjson.encode(1e300)", "1e+300"),
    ("return cjson.encode(1/0)", "ERR user_script:1: Cannot serialise number: must not be NaN or Inf"),
    ("return cjson.encode(0/0)", "ERR user_script:1: Cannot serialise number: must not be NaN or Inf"),
    ("return cjson.encode(\"a\\\"b\\\\/\\n\\1\\127é\")", "\"a\\\"b\\\\\\/\\n\\u0001\\u007fé\""),
    ("return cjson.encode(cjson.null)", "null"),
    ("return cjson.encode(true)", "true"),
    ("return cjson.encode({a={b={c=1}}, [1]=2})", "{\"a\":{\"b\":{\"c\":1}},\"1\":2}"),
    ("return cjson.encode({[true]=1})", "ERR user_script:1: Cannot serialise boolean: table key must be a number or string"),
    ("return cjson.encode({1.5,-0, 100000000000000})", "[1.5,-0,1e+14]"),
    ("return cjson.encode({1e-20, -0, 1-2^-53, {a=1e-300}})", "[1e-20,-0,1,{\"a\":1e-300}]"),
    ("return cjson._VERSION", "2.1.0"),
    ("return cjson._NAME", "cjson"),
    ("return cjson.encode(2^53)", "9.007199254741e+15"),
    ("return cjson.encode(-1e-7)", "-1e-07"),
    ("return cjson.encode({[1.5]=1})", "{\"1.5\":1}"),
    ("return cjson.encode({[2]=1})", "[null,1]"),
    ("return cjson.encode({a=cjson.null})", "{\"a\":null}"),
    ("return cjson.encode(cjson.decode(\"[1,null,{\\\"a\\\":[true,false]},\\\"\\\\u00e9\\\\ud83d\\\\ude00\\\",1.5e3]\"))", "[1,null,{\"a\":[true,false]},\"é😀\",1500]"),
    ("return cjson.decode(\"\")", "ERR user_script:1: Expected value but found T_END at character 1"),
    ("return cjson.decode(\"[1,2\")", "ERR user_script:1: Expected comma or array end but found T_END at character 5"),
    ("return cjson.decode(\"{\\\"a\\\" 1}\")", "ERR user_script:1: Expected colon but found T_NUMBER at character 6"),
    ("return cjson.decode(\"\\\"\\\\q\\\"\")", "ERR user_script:1: Expected value but found invalid escape code at character 2"),
    ("return cjson.decode(\"\\\"abc\")", "ERR user_script:1: Expected value but found unexpected end of string at character 5"),
    ("return cjson.decode(\"[1] x\")", "ERR user_script:1: Expected the end but found invalid token at character 5"),
    ("return cjson.decode(\"tru\")", "ERR user_script:1: Expected value but found invalid token at character 1"),
    ("return cjson.decode(\"1\", 2)", "ERR user_script:1: bad argument #1 to 'decode' (expected 1 argument)"),
    ("return cjson.encode()", "ERR user_script:1: bad argument #1 to 'encode' (expected 1 argument)"),
    ("return cjson.encode_number_precision(0)", "ERR user_script:1: bad argument #1 to 'encode_number_precision' (expected integer between 1 and 14)"),
    ("return cjson.decode(\".5\")", "ERR user_script:1: Expected value but found invalid token at character 1"),
    ("return cjson.decode(\"-\")", "ERR user_script:1: Expected value but found invalid number at character 1"),
    ("return cjson.decode(\"1e\")", "ERR user_script:1: Expected the end but found invalid token at character 2"),
    ("return cjson.decode(\"\\\"\\\\ud800\\\"\")", "ERR user_script:1: Expected value but found invalid unicode escape code at character 2"),
    ("return cjson.decode(\"nul\")", "ERR user_script:1: Expected value but found invalid token at character 1"),
    ("return tostring(cjson.decode(\"0x10\"))", "16"),
    ("return tostring(cjson.decode(\"+1\"))", "1"),
    ("return tostring(cjson.decode(\"01\"))", "1"),
    ("return tostring(cjson.decode(\"-Infinity\"))", "-inf"),
    ("local t = cjson.decode(\"[[[1]]]\") return tostring(t[1][1][1])", "1"),
];

#[test]
fn matches_redis() {
    for (script, want) in CASES {
        let got = eval(script);
        let got = match got {
            Frame::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
            Frame::Error(e) => {
                let e = String::from_utf8_lossy(&e).into_owned();
                e.split(" script: ").next().unwrap().to_string()
            }
            other => format!("{other:?}"),
        };
        assert_eq!(&got, want, "{script}");
    }
}

#[test]
fn configuration() {
    assert_eq!(
        eval("return {cjson.encode_sparse_array()}"),
        Frame::Array(vec![Frame::Null, int(2), int(10)])
    );
    assert_eq!(
        eval("return {cjson.decode_invalid_numbers()}"),
        Frame::Array(vec![int(1)])
    );
    assert_eq!(
        eval("return {cjson.encode_invalid_numbers()}"),
        Frame::Array(vec![Frame::Null])
    );
    assert_eq!(
        eval("cjson.encode_invalid_numbers('null') return cjson.encode({1/0})"),
        bulk("[null]")
    );
    assert_eq!(
        eval("cjson.encode_invalid_numbers(true) return cjson.encode({1/0, -1/0, 0/0})"),
        bulk("[inf,-inf,nan]")
    );
    assert_eq!(
        eval("cjson.encode_sparse_array(true) return cjson.encode({[1]=1,[20]=3})"),
        bulk("{\"1\":1,\"20\":3}")
    );
    assert_eq!(
        eval("cjson.encode_number_precision(3) return cjson.encode(1/3)"),
        bulk("0.333")
    );
    assert_eq!(
        eval("cjson.decode_invalid_numbers(false) return cjson.decode('01')").prefix(),
        "ERR user_script:1: Expected value but found invalid number at character 1"
    );
    assert_eq!(
        eval("cjson.encode_max_depth(2) return cjson.encode({{{1}}})").prefix(),
        "ERR user_script:1: Cannot serialise, excessive nesting (3)"
    );
    assert_eq!(
        eval("cjson.decode_max_depth(2) return cjson.decode('[[[1]]]')").prefix(),
        "ERR user_script:1: Found too many nested data structures (3) at character 3"
    );
    // cjson.new has its own configuration.
    assert_eq!(eval("local c = cjson.new() c.encode_number_precision(3) return cjson.encode(1/3) .. c.encode(1/3)"), bulk("0.333333333333330.333"));
}

trait Shape {
    fn prefix(&self) -> String;
}

impl Shape for Frame {
    /// An error's text without the ` script: <sha>, on ...` suffix.
    fn prefix(&self) -> String {
        match self {
            Frame::Error(e) => String::from_utf8_lossy(e)
                .split(" script: ")
                .next()
                .unwrap()
                .to_string(),
            other => format!("{other:?}"),
        }
    }
}
