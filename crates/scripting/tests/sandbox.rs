//! The sandbox, the `redis` API and the error formats, against replies captured from
//! redis-server 7.0.15 (`redis-cli EVAL ... 0`).

mod common;
use common::*;
use darter_scripting::{sha1hex, Frame};

#[test]
fn globals_are_protected() {
    assert_eq!(
        eval("x=1"),
        err("ERR user_script:1: Attempt to modify a readonly table script: 7caf6056913504f0508c65faf2dc3f94ff65bcfd, on @user_script:1.")
    );
    assert_eq!(
        eval("return y"),
        err("ERR user_script:1: Script attempted to access nonexistent global variable 'y' script: e278681ed961e2fb52881313e5c90fdd93749940, on @user_script:1.")
    );
    assert_eq!(
        eval("rawset(_G,\"x\",1)"),
        err("ERR Attempt to modify a readonly table script: 517037cf275e7e72b5879174217c6ec3d56fb107, on @user_script:1.")
    );
    assert_eq!(
        eval("setmetatable(_G,nil)"),
        err("ERR Attempt to modify a readonly table script: 363cd756dc20f58a9f4a1d92f45ec7a5f14fbaed, on @user_script:1.")
    );
    assert_eq!(
        eval("string.x=1"),
        err("ERR user_script:1: Attempt to modify a readonly table script: 0200261db1e7771c266e77366576961c8f228af1, on @user_script:1.")
    );
    assert_eq!(
        eval("return type(print)"),
        err("ERR user_script:1: Script attempted to access nonexistent global variable 'print' script: 296aa29e565df267b5e30e498f3872c9f9e8e8cc, on @user_script:1.")
    );
}

#[test]
fn visible_globals_match_redis_7_0() {
    let f = eval("local t={} for k,v in pairs(_G) do t[#t+1]=k end table.sort(t) return t");
    let want = "ARGV KEYS _G _VERSION __redis__err__handler assert bit cjson cmsgpack collectgarbage coroutine error gcinfo getmetatable ipairs load loadstring math next pairs pcall rawequal rawget rawset redis select setmetatable string struct table tonumber tostring type unpack xpcall";
    assert_eq!(names(&f).join(" "), want);
    let f = eval("local t={} for k,v in pairs(redis) do t[#t+1]=k end table.sort(t) return t");
    assert_eq!(
        names(&f).join(" "),
        "LOG_DEBUG LOG_NOTICE LOG_VERBOSE LOG_WARNING REDIS_VERSION REDIS_VERSION_NUM REPL_ALL REPL_AOF REPL_NONE REPL_REPLICA REPL_SLAVE acl_check_cmd breakpoint call debug error_reply log pcall replicate_commands set_repl setresp sha1hex status_reply"
    );
    assert_eq!(
        eval("return os.time()"),
        err("ERR user_script:1: Script attempted to access nonexistent global variable 'os' script: 13dea82ee9da896aebcd10f5e36f4a1eeb839b48, on @user_script:1.")
    );
    assert_eq!(eval("return _VERSION"), bulk("Lua 5.1"));
    assert_eq!(eval("return loadstring(\"return 1\")()"), int(1));
}

fn names(f: &Frame) -> Vec<String> {
    match f {
        Frame::Array(v) => v
            .iter()
            .map(|x| match x {
                Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
                other => panic!("{other:?}"),
            })
            .collect(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn redis_api() {
    assert_eq!(
        eval("return redis.sha1hex(\"\")"),
        bulk("da39a3ee5e6b4b0d3255bfef95601890afd80709")
    );
    assert_eq!(
        sha1hex(b"return 1"),
        "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"
    );
    assert_eq!(eval("return redis.REDIS_VERSION_NUM"), int(458767));
    assert_eq!(eval("return redis.REDIS_VERSION"), bulk("7.0.15"));
    assert_eq!(
        eval("return redis.setresp(4)"),
        err("ERR RESP version must be 2 or 3. script: 921c0a48021d97dfd5884aeea41875972c7804d9, on @user_script:1.")
    );
    assert_eq!(
        eval("return redis.log(99,\"x\")"),
        err("ERR Invalid debug level. script: c3f4933a9b131c692a20cc5c2a0421c00691de9b, on @user_script:1.")
    );
    assert_eq!(
        eval("return redis.log(redis.LOG_WARNING)"),
        err("ERR redis.log() requires two arguments or more. script: 224c2b6c4d4a245fb6c4394854d25a2ca448909c, on @user_script:1.")
    );
    assert_eq!(
        eval("return {redis.LOG_DEBUG,redis.LOG_VERBOSE,redis.LOG_NOTICE,redis.LOG_WARNING,redis.REPL_NONE,redis.REPL_AOF,redis.REPL_SLAVE,redis.REPL_REPLICA,redis.REPL_ALL}"),
        Frame::Array([0, 1, 2, 3, 0, 1, 2, 2, 3].iter().map(|&i| int(i)).collect())
    );
    assert_eq!(
        eval("return redis.set_repl(99)"),
        err("ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE. script: fae934173b6296d6836d5d5f52e192640f8897d9, on @user_script:1.")
    );
    assert_eq!(eval("return redis.replicate_commands()"), int(1));
    assert_eq!(eval("return redis.breakpoint()"), Frame::Null);
    assert_eq!(eval("return redis.debug(\"x\")"), Frame::Null);
    assert_eq!(eval("return redis.error_reply(\"my err\")"), err("my err"));
    assert_eq!(eval("return redis.error_reply(\"-my err\")"), err("my err"));
    assert_eq!(eval("return redis.error_reply(\"oops\")"), err("ERR oops"));
    assert_eq!(
        eval("return redis.status_reply(\"FINE\")"),
        Frame::Simple("FINE".into())
    );

    let mut vm = darter_scripting::ScriptVm::new().unwrap();
    let mut sink = ToySink::default();
    eval_with(
        &mut vm,
        &mut sink,
        "redis.log(redis.LOG_NOTICE, 'a', 1, 'b') redis.set_repl(redis.REPL_AOF)",
        &[],
        &[],
    );
    assert_eq!(
        sink.logs,
        vec![(darter_scripting::LogLevel::Notice, b"a 1 b".to_vec())]
    );
    assert_eq!(sink.repl, Some(1));
}

#[test]
fn call_and_pcall_errors() {
    assert_eq!(
        eval("return redis.call(\"nosuch\")"),
        err("ERR Unknown Redis command called from script script: 2218effcac8108416909801acfb39c080a85adfa, on @user_script:1.")
    );
    assert_eq!(
        eval("return redis.pcall(\"nosuch\")"),
        err("ERR Unknown Redis command called from script")
    );
    assert_eq!(
        eval("return redis.call(\"set\",\"a\")"),
        err("ERR Wrong number of args calling Redis command from script script: 6784ac7eceb982019b6d0d7f572eee7dad611374, on @user_script:1.")
    );
    assert_eq!(
        eval("return redis.call()"),
        err("ERR Please specify at least one argument for this redis lib call script: 0a907e1429221a4d85516cab7fd219a82a9439d8, on @user_script:1.")
    );
    assert_eq!(
        eval("return redis.call({})"),
        err("ERR Lua redis lib command arguments must be strings or integers script: 80747816df1f4411f7c442b928fce6a814214839, on @user_script:1.")
    );
    assert_eq!(
        eval("return redis.pcall()"),
        err("ERR Please specify at least one argument for this redis lib call")
    );
    assert_eq!(
        eval("return redis.pcall({})"),
        err("ERR Lua redis lib command arguments must be strings or integers")
    );
    assert_eq!(
        eval("local t = redis.pcall(\"nosuch\") return t.err"),
        bulk("ERR Unknown Redis command called from script")
    );
    assert_eq!(eval("return type(redis.pcall(\"nosuch\"))"), bulk("table"));
    assert_eq!(
        eval("error(\"boom\")"),
        err("ERR user_script:1: boom script: 872b3fcb081448525c6141cdfa3df8374d30d162, on @user_script:1.")
    );
    assert_eq!(
        eval("error({err=\"X boom\"})"),
        err("X boom script: d7d713e40f75be26f8188ff51a68bc062782ad48, on @user_script:1.")
    );
    assert_eq!(
        eval("local a = nil + 1"),
        err("ERR user_script:1: attempt to perform arithmetic on a nil value script: b077f1b8df8640265d919efadd6350982031d6bf, on @user_script:1.")
    );
    assert_eq!(
        eval("return \"x\".."),
        err("ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'")
    );
    assert_eq!(
        eval("#!lua\nerror(\"x\")"),
        err("ERR user_script:2: x script: 23ade40b599317f18975e8cce62f1fabc797480f, on @user_script:2.")
    );
    assert_eq!(
        eval("#!lua flags=no-writes,bad\nreturn 1"),
        err("ERR Unexpected flag in script shebang: bad")
    );
    // A command's own error reply: raised by call, returned by pcall.
    let mut vm = darter_scripting::ScriptVm::new().unwrap();
    let mut sink = ToySink::default();
    sink.data.insert(b"s".to_vec(), b"abc".to_vec());
    let f = eval_with(
        &mut vm,
        &mut sink,
        "return redis.call('incr', KEYS[1])",
        &["s"],
        &[],
    );
    let Frame::Error(e) = f else { panic!() };
    assert!(
        e.starts_with(b"ERR value is not an integer or out of range script: "),
        "{e:?}"
    );
    let f = eval_with(&mut vm, &mut sink, "local r = redis.pcall('incr', KEYS[1]) return {r.err, tostring(r.ignore_error_stats_update)}", &["s"], &[]);
    assert_eq!(
        f,
        Frame::Array(vec![
            bulk("ERR value is not an integer or out of range"),
            bulk("true")
        ])
    );
}

#[test]
fn library_tables_iterate_and_stay_readonly() {
    assert_eq!(eval("return string.format(\"%d\", 3)"), bulk("3"));
    assert_eq!(eval("return (\"abc\"):upper()"), bulk("ABC"));
    assert_eq!(
        eval("local n=0 for k in pairs(string) do n=n+1 end return n > 10"),
        int(1)
    );
    assert_eq!(eval("return rawget(_G, 'redis') == redis"), int(1));
    let f = eval("redis.call = nil");
    assert!(
        matches!(&f, Frame::Error(e) if e.starts_with(b"ERR user_script:1: Attempt to modify a readonly table"))
    );
    // KEYS and ARGV are fresh per run and writable.
    let mut vm = darter_scripting::ScriptVm::new().unwrap();
    let mut sink = ToySink::default();
    assert_eq!(
        eval_with(
            &mut vm,
            &mut sink,
            "KEYS[1] = 'z' return {KEYS[1], ARGV[1]}",
            &["k"],
            &["a"]
        ),
        Frame::Array(vec![bulk("z"), bulk("a")])
    );
    assert_eq!(
        eval_with(
            &mut vm,
            &mut sink,
            "return {KEYS[1], ARGV[1]}",
            &["k2"],
            &["b"]
        ),
        Frame::Array(vec![bulk("k2"), bulk("b")])
    );
}

#[test]
fn math_random_is_redis_lrand48() {
    // A fresh redis-server 7.0.15: the first draws, then after math.randomseed(5).
    let mut vm = darter_scripting::ScriptVm::new().unwrap();
    let mut sink = ToySink::default();
    assert_eq!(
        eval_with(&mut vm, &mut sink, "return {math.random(100), math.random(100), tostring(math.random()), math.random(5,10)}", &[], &[]),
        Frame::Array(vec![int(40), int(85), bulk("0.35333609737146"), int(7)])
    );
    assert_eq!(
        eval_with(
            &mut vm,
            &mut sink,
            "math.randomseed(5) return {math.random(100), math.random(1,10), math.random(7)}",
            &[],
            &[]
        ),
        Frame::Array(vec![int(53), int(3), int(6)])
    );
    let e = |b: &str| match eval(b) {
        Frame::Error(e) => String::from_utf8_lossy(&e)
            .split(" script: ")
            .next()
            .unwrap()
            .to_string(),
        other => format!("{other:?}"),
    };
    assert_eq!(
        e("return math.random(1,2,3)"),
        "ERR user_script:1: wrong number of arguments"
    );
    assert_eq!(
        e("return math.random(0)"),
        "ERR user_script:1: bad argument #1 to 'random' (interval is empty)"
    );
    assert_eq!(
        e("return math.random(2147483648)"),
        "ERR user_script:1: bad argument #1 to 'random' (interval is empty)"
    );
    assert_eq!(
        e("return math.random(5, 1)"),
        "ERR user_script:1: bad argument #2 to 'random' (interval is empty)"
    );
    assert_eq!(
        e("return math.randomseed()"),
        "ERR user_script:1: bad argument #1 to 'randomseed' (number expected, got no value)"
    );
}

#[test]
fn redis_api_argument_errors() {
    let e = |b: &str| match eval(b) {
        Frame::Error(e) => String::from_utf8_lossy(&e)
            .split(" script: ")
            .next()
            .unwrap()
            .to_string(),
        other => format!("{other:?}"),
    };
    // Returned, not raised: no " script: ..." suffix, and a table inside the script.
    assert_eq!(
        eval("return redis.error_reply(1)"),
        err("ERR wrong number or type of arguments")
    );
    assert_eq!(
        eval("return redis.status_reply()"),
        err("ERR wrong number or type of arguments")
    );
    assert_eq!(
        eval("local t = redis.error_reply(1) return type(t)"),
        bulk("table")
    );
    assert_eq!(e("return redis.sha1hex()"), "ERR wrong number of arguments");
    assert_eq!(
        eval("return redis.sha1hex(5)"),
        bulk("ac3478d69a3c81fa62e60f5c3696165a4e5e6ac4")
    );
    assert_eq!(
        eval("return redis.sha1hex({})"),
        bulk("da39a3ee5e6b4b0d3255bfef95601890afd80709")
    );
    assert_eq!(
        e("return redis.log('x','y')"),
        "ERR First argument must be a number (log level)."
    );
    assert_eq!(
        e("return redis.setresp()"),
        "ERR redis.setresp() requires one argument."
    );
    assert_eq!(
        e("return redis.set_repl()"),
        "ERR redis.set_repl() requires two arguments."
    );
    assert_eq!(eval("return redis.set_repl('x')"), Frame::Null);
    assert_eq!(eval("return redis.setresp('3')"), Frame::Null);
    assert_eq!(eval("return redis.log(2.5, 'x')"), Frame::Null);
    assert_eq!(
        e("return redis.acl_check_cmd()"),
        "ERR Please specify at least one argument for this redis lib call"
    );
}

#[test]
fn script_cache() {
    let mut vm = darter_scripting::ScriptVm::new().unwrap();
    let a = vm.load(b"return 1").unwrap();
    assert_eq!(a.sha, "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
    assert!(a.flags.eval_compat);
    let b = vm.load(b"#!lua flags=no-writes\nreturn 2").unwrap();
    assert!(b.flags.no_writes && !b.flags.eval_compat);
    assert!(vm.get("E0E1F9FABFC9D4800C877A703B823AC0578FF8DB").is_some());
    let mut sink = ToySink::default();
    let opts = |name| darter_scripting::RunOptions {
        client_resp: 2,
        name,
        busy_check: None,
    };
    assert_eq!(
        vm.run(&b.sha, &[], &[], &mut sink, opts(&b.sha)),
        Some(int(2))
    );
    vm.flush();
    assert!(vm.get(&a.sha).is_none());
    assert_eq!(vm.run(&a.sha, &[], &[], &mut sink, opts(&a.sha)), None);
}

#[test]
fn pcall_returns_the_err_field() {
    // Redis 7.0 wraps pcall (luaRedisPcall): an error table's err string replaces the table.
    assert_eq!(
        eval("local ok, e = pcall(error, {err=\"x\"}) return e"),
        bulk("x")
    );
    assert_eq!(
        eval("local ok, e = pcall(error, {err=\"x\"}) return tostring(ok)"),
        bulk("false")
    );
    assert_eq!(
        eval("local ok, e = pcall(redis.call, \"nosuch\") return e"),
        bulk("ERR Unknown Redis command called from script")
    );
    assert_eq!(
        eval("local ok, e = pcall(function() redis.call(\"nosuch\") end) return e"),
        bulk("ERR Unknown Redis command called from script")
    );
    assert_eq!(
        eval("local ok, e = pcall(error, {foo=\"x\"}) return type(e)"),
        bulk("table")
    );
    assert_eq!(
        eval("local ok, e = pcall(error, 5) return type(e)"),
        bulk("string")
    );
    assert_eq!(
        eval("local ok, e = pcall(error, nil) return type(e)"),
        bulk("nil")
    );
    assert_eq!(
        eval("local ok, e = pcall(error, {err=5}) return type(e)"),
        bulk("number")
    );
    assert_eq!(
        eval("local ok, e = pcall(error, true) return type(e)"),
        bulk("boolean")
    );
    assert_eq!(
        eval("local ok, e = xpcall(function() error({err=\"x\"}) end, function(m) return type(m) end) return e"),
        bulk("table")
    );
    assert_eq!(
        eval("local ok, e = pcall(bit.tohex) return e"),
        bulk("bad argument #1 to '?' (number expected, got no value)")
    );
    assert_eq!(
        eval("return coroutine.wrap(function() coroutine.yield(5) end)()"),
        int(5)
    );
    assert_eq!(eval("return getmetatable(\"\").__index == string"), int(1));
    assert_eq!(eval("return _G.redis == redis"), int(1));
    assert_eq!(eval("return string.format(\"%5.2f\", 1/3)"), bulk(" 0.33"));
    let f = eval("loadstring(\"x=1\")()");
    let Frame::Error(e) = f else { panic!() };
    assert!(
        e.starts_with(b"ERR [string \"x=1\"]:1: Attempt to modify a readonly table script: "),
        "{e:?}"
    );
}

#[test]
fn plain_lua_errors_match_redis() {
    let e = |b: &str| match eval(b) {
        Frame::Error(e) => String::from_utf8_lossy(&e).into_owned(),
        other => format!("{other:?}"),
    };
    assert_eq!(
        e("assert(false)"),
        "ERR user_script:1: assertion failed! script: 2878c2ae3cafd05c022d4f19e4b521d97df409a2, on @user_script:1."
    );
    assert_eq!(
        e("assert(false, \"m\")"),
        "ERR user_script:1: m script: 82dfd7bebdfee070628824b8c53f169f9bddad1d, on @user_script:1."
    );
    assert_eq!(
        e("local function f() error(\"deep\", 2) end f()"),
        "ERR user_script:1: deep script: 29e8ff23344d38b0e4a269de4b346451a9804b96, on @user_script:1."
    );
    assert_eq!(
        e("local t = {} t.x.y = 1"),
        "ERR user_script:1: attempt to index field 'x' (a nil value) script: a3e688812e3164b24d5a4a070bf45fd27d50fc57, on @user_script:1."
    );
    assert_eq!(eval("return tostring(nil) .. 1"), bulk("nil1"));
    assert_eq!(eval("string.rep(\"x\", -1) return 1"), int(1));
    assert_eq!(
        eval("return redis.pcall(\"ping\")"),
        Frame::Simple("PONG".into())
    );
    assert_eq!(eval("return type(redis.call(\"ping\"))"), bulk("table"));
}
