//! Type conversions both ways, against redis-server 7.0.15's replies.

mod common;
use bytes::Bytes;
use common::*;
use darter_scripting::{Frame, ScriptVm};

#[test]
fn lua_to_reply_resp2() {
    assert_eq!(eval("return 3.99"), int(3));
    assert_eq!(eval("return -3.99"), int(-3));
    assert_eq!(eval("return true"), int(1));
    assert_eq!(eval("return false"), Frame::Null);
    assert_eq!(eval("return nil"), Frame::Null);
    assert_eq!(
        eval("return {1,2,nil,4}"),
        Frame::Array(vec![int(1), int(2)])
    );
    assert_eq!(
        eval("return {1,\"a\",{2.5,\"b\"},true,false}"),
        Frame::Array(vec![
            int(1),
            bulk("a"),
            Frame::Array(vec![int(2), bulk("b")]),
            int(1),
            Frame::Null
        ])
    );
    assert_eq!(eval("return {err=\"bad\"}"), err("bad"));
    assert_eq!(eval("return {err=\"-bad\"}"), err("-bad"));
    assert_eq!(
        eval("return {ok=\"fine\"}"),
        Frame::Simple(Bytes::from_static(b"fine"))
    );
    assert_eq!(
        eval("return {ok=\"a\\r\\nb\"}"),
        Frame::Simple(Bytes::from_static(b"a  b"))
    );
    assert_eq!(eval("return {double=3.5}"), bulk("3.5"));
    assert_eq!(eval("return {big_number=\"123\"}"), bulk("123"));
    assert_eq!(
        eval("return {map={a=1}}"),
        Frame::Array(vec![bulk("a"), int(1)])
    );
    assert_eq!(eval("return {set={a=true}}"), Frame::Array(vec![bulk("a")]));
    assert_eq!(
        eval("return {verbatim_string={format='txt',string='hi'}}"),
        bulk("hi")
    );
    assert_eq!(
        eval("return {1, 2, {3}, {}}"),
        Frame::Array(vec![
            int(1),
            int(2),
            Frame::Array(vec![int(3)]),
            Frame::Array(vec![])
        ])
    );
    assert_eq!(eval("return 0/0"), int(i64::MIN));
}

fn eval3(body: &str) -> Frame {
    let mut vm = ScriptVm::new().unwrap();
    let mut sink = ToySink::default();
    eval_resp(&mut vm, &mut sink, body, &[], &[], 3)
}

#[test]
fn lua_to_reply_resp3() {
    // Booleans follow the script's protocol (redis.setresp), not the client's: Redis 7.0.
    assert_eq!(eval3("return true"), Frame::Integer(1));
    assert_eq!(eval3("return false"), Frame::Null);
    assert_eq!(eval3("redis.setresp(3); return true"), Frame::Boolean(true));
    assert_eq!(
        eval3("redis.setresp(3); return false"),
        Frame::Boolean(false)
    );
    assert_eq!(
        eval3("return {double=3.5}"),
        Frame::Double(Bytes::from_static(b"3.5"))
    );
    assert_eq!(
        eval3("return {double=1/0}"),
        Frame::Double(Bytes::from_static(b"inf"))
    );
    assert_eq!(
        eval3("return {big_number=\"123\"}"),
        Frame::BigNumber(Bytes::from_static(b"123"))
    );
    assert_eq!(
        eval3("return {map={a=1}}"),
        Frame::Map(vec![(bulk("a"), int(1))])
    );
    assert_eq!(eval3("return {set={a=true}}"), Frame::Set(vec![bulk("a")]));
    assert_eq!(
        eval3("return {verbatim_string={format='txt',string='hi'}}"),
        Frame::Verbatim(Bytes::from_static(b"txt"), Bytes::from_static(b"hi"))
    );
    assert_eq!(eval3("return nil"), Frame::Null);
}

#[test]
fn reply_to_lua() {
    // RESP2: nil bulk is false; status is {ok=}; integers are numbers.
    assert_eq!(
        eval("return tostring(redis.call('get','nokey'))"),
        bulk("false")
    );
    assert_eq!(eval("return redis.call('ping').ok"), bulk("PONG"));
    assert_eq!(eval("return type(redis.call('incr','n'))"), bulk("number"));
    // Numbers as arguments are %.17g.
    assert_eq!(
        eval("return redis.call('echo', 0.1)"),
        bulk("0.10000000000000001")
    );
    assert_eq!(eval("return redis.call('echo', 5)"), bulk("5"));
    // RESP3 after redis.setresp(3): every type.
    let body = "redis.setresp(3) local r = redis.call('hello3') \
        return {r[1].map.k, r[2].set.m and 1 or 0, tostring(r[3].double), tostring(r[4]), tostring(r[5]), \
        r[6].big_number, r[7].verbatim_string.format, r[7].verbatim_string.string, tostring(r[8] == nil)}";
    assert_eq!(
        eval(body),
        Frame::Array(vec![
            int(1),
            int(1),
            bulk("3.5"),
            bulk("true"),
            bulk("false"),
            bulk("12345678901234567890"),
            bulk("txt"),
            bulk("hi"),
            bulk("true"),
        ])
    );
    // setresp is per run: the next run is back on RESP2.
    let mut vm = ScriptVm::new().unwrap();
    let mut sink = ToySink::default();
    eval_with(&mut vm, &mut sink, "redis.setresp(3) return 1", &[], &[]);
    assert_eq!(
        eval_with(
            &mut vm,
            &mut sink,
            "return tostring(redis.call('get','nokey'))",
            &[],
            &[]
        ),
        bulk("false")
    );
    assert_eq!(
        eval_with(
            &mut vm,
            &mut sink,
            "redis.setresp(3) return tostring(redis.call('get','nokey'))",
            &[],
            &[]
        ),
        bulk("nil")
    );
}

#[test]
fn numbers_and_nesting_match_redis() {
    assert_eq!(eval("return 1e20"), int(i64::MIN));
    assert_eq!(eval("return -1e20"), int(i64::MIN));
    assert_eq!(eval("return 2^63"), int(i64::MIN));
    assert_eq!(eval("return -0.5"), int(0));
    assert_eq!(
        eval("return {1,{err=\"x\"},{ok=\"y\"}}"),
        Frame::Array(vec![
            int(1),
            err("x"),
            Frame::Simple(Bytes::from_static(b"y"))
        ])
    );
    assert_eq!(eval("return {double=0.1}"), bulk("0.10000000000000001"));
    assert_eq!(eval("return tostring(0.1)"), bulk("0.1"));
    assert_eq!(
        eval("return {1,2,3,n=5}"),
        Frame::Array(vec![int(1), int(2), int(3)])
    );
    assert_eq!(
        eval("return {[1]=1,[2]=2,[4]=4}"),
        Frame::Array(vec![int(1), int(2)])
    );
    // A self-referencing table ends in the stack-limit error element instead of recursing forever.
    let f = eval("local t = {} t[1] = t return t");
    let mut depth = 0;
    let mut cur = &f;
    while let Frame::Array(v) = cur {
        depth += 1;
        cur = &v[0];
    }
    assert_eq!(cur, &err("ERR reached lua stack limit"));
    assert!(depth > 100);
}
