//! Function libraries (FUNCTION LOAD's engine part and FCALL's run), against replies captured from
//! redis-server 7.0.15 (`redis-cli FUNCTION LOAD ...`, `FCALL ...`).

mod common;
use bytes::Bytes;
use common::*;
use darter_scripting::{
    flag_names, parse_library_metadata, Frame, FunctionVm, LogLevel, RunOptions, ScriptFlags,
};

fn load(vm: &mut FunctionVm, body: &str) -> Result<darter_scripting::LibraryInfo, String> {
    let mut sink = ToySink::default();
    let lib = vm.compile(body.as_bytes(), &mut sink)?;
    let info = lib.info().clone();
    vm.install(lib);
    Ok(info)
}

/// Loads `#!lua name=t\n<body>` and returns the error text.
fn load_err(body: &str) -> String {
    let mut vm = FunctionVm::new().unwrap();
    load(&mut vm, &format!("#!lua name=t\n{body}")).unwrap_err()
}

fn fcall(vm: &mut FunctionVm, f: &str, keys: &[&str], args: &[&str]) -> Frame {
    let mut sink = ToySink::default();
    fcall_with(vm, &mut sink, f, keys, args)
}

fn fcall_with(
    vm: &mut FunctionVm,
    sink: &mut ToySink,
    f: &str,
    keys: &[&str],
    args: &[&str],
) -> Frame {
    let keys: Vec<Bytes> = keys
        .iter()
        .map(|s| Bytes::copy_from_slice(s.as_bytes()))
        .collect();
    let args: Vec<Bytes> = args
        .iter()
        .map(|s| Bytes::copy_from_slice(s.as_bytes()))
        .collect();
    vm.run_function(
        "t",
        f,
        &keys,
        &args,
        sink,
        RunOptions {
            client_resp: 2,
            name: "ignored",
            busy_check: None,
        },
    )
    .unwrap()
}

#[test]
fn metadata_errors() {
    let e = |c: &str| parse_library_metadata(c.as_bytes()).unwrap_err();
    assert_eq!(e("return 1"), "ERR Missing library metadata");
    assert_eq!(e("#!lua"), "ERR Invalid library metadata");
    assert_eq!(
        e("#!lua \"name=q\nreturn 1"),
        "ERR Invalid library metadata"
    );
    assert_eq!(
        e("#!lua name=n\0x\nreturn 1"),
        "ERR Invalid library metadata"
    );
    assert_eq!(e("#!lua\nreturn 1"), "ERR Library name was not given");
    assert_eq!(e("#!\nreturn 1"), "ERR Library name was not given");
    assert_eq!(e("#!luax name=x\nreturn 1"), "ERR Engine 'luax' not found");
    assert_eq!(e("#! name=z\nreturn 1"), "ERR Engine '' not found");
    assert_eq!(
        e("#!lua name=x name=y\n"),
        "ERR Invalid metadata value, name argument was given multiple times"
    );
    assert_eq!(
        e("#!lua foo=bar\n"),
        "ERR Invalid metadata value given: foo=bar"
    );
    let bad = "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";
    assert_eq!(e("#!lua name=a-b\n"), bad);
    assert_eq!(e("#!lua name=\n"), bad);
    let m = parse_library_metadata(b"#!LUA NAME=y_1\nx").unwrap();
    assert_eq!((m.name.as_str(), m.body_start), ("y_1", 14));
}

#[test]
fn load_errors() {
    assert_eq!(load_err("return 1"), "ERR No functions registered");
    assert_eq!(
        load_err("return +"),
        "ERR Error compiling function: user_function:2: unexpected symbol near '+'"
    );
    let reg = |s: &str| format!("ERR Error registering functions: {s}");
    let ng = |line: u32, v: &str| {
        reg(&format!(
            "ERR user_function:{line}: Script attempted to access nonexistent global variable '{v}'"
        ))
    };
    assert_eq!(load_err("\nerror('boom')"), ng(3, "error"));
    assert_eq!(load_err("redis.call('ping')"), ng(2, "call"));
    assert_eq!(load_err("redis.setresp(3)"), ng(2, "setresp"));
    assert_eq!(load_err("local s = string.len('x')"), ng(2, "string"));
    assert_eq!(load_err("local t = _G"), ng(2, "_G"));
    assert_eq!(load_err("local t = KEYS"), ng(2, "KEYS"));
    assert_eq!(load_err("local c = pcall(function() end)"), ng(2, "pcall"));
    assert_eq!(
        load_err("a = 1"),
        reg("ERR user_function:2: Attempt to modify a readonly table")
    );
    assert_eq!(
        load_err("redis.foo = 1"),
        reg("ERR user_function:2: Attempt to modify a readonly table")
    );
    assert_eq!(
        load_err("local x = nil + 1"),
        reg("ERR user_function:2: attempt to perform arithmetic on a nil value")
    );
    assert_eq!(
        load_err("while true do end"),
        reg("ERR FUNCTION LOAD timeout")
    );
}

#[test]
fn register_function_errors() {
    let reg = |s: &str| format!("ERR Error registering functions: ERR {s}");
    let cases = [
        ("redis.register_function('a-b', function() return 1 end)", "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"),
        ("redis.register_function('', function() return 1 end)", "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"),
        ("redis.register_function('f', function() end) redis.register_function('f', function() end)", "Function already exists in the library"),
        ("redis.register_function('g', 1)", "second argument to redis.register_function must be a function"),
        ("redis.register_function({}, function() end)", "first argument to redis.register_function must be a string"),
        ("redis.register_function('g')", "calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments)."),
        ("redis.register_function()", "wrong number of arguments to redis.register_function"),
        ("redis.register_function('g', function() end, 3)", "wrong number of arguments to redis.register_function"),
        ("redis.register_function{function_name='g', callback=function() end, flags={'no-writes', 'bad'}}", "unknown flag given"),
        ("redis.register_function{function_name='g', callback=function() end, flags={'no-writes', 5}}", "unknown flag given"),
        ("redis.register_function{function_name='g', callback=function() end, flags={'no-writes', {}}}", "unknown flag given"),
        ("redis.register_function{function_name='g', callback=function() end, flags='no-writes'}", "flags argument to redis.register_function must be a table representing function flags"),
        ("redis.register_function{function_name='g', callback=function() end, description={}}", "description argument given to redis.register_function must be a string"),
        ("redis.register_function{function_name='g', callback=5}", "callback argument given to redis.register_function must be a function"),
        ("redis.register_function{function_name={}, callback=function() end}", "function_name argument given to redis.register_function must be a string"),
        ("redis.register_function{callback=function() end}", "redis.register_function must get a function name argument"),
        ("redis.register_function{function_name='g'}", "redis.register_function must get a callback argument"),
        ("redis.register_function{function_name='g', callback=function() end, foo=1}", "unknown argument given to redis.register_function"),
        ("redis.register_function{[1]='g', callback=function() end}", "unknown argument given to redis.register_function"),
        ("redis.register_function{function_name='g', callback=function() end, [true]=1}", "named argument key given to redis.register_function is not a string"),
    ];
    for (body, want) in cases {
        assert_eq!(load_err(body), reg(want), "{body}");
    }
}

#[test]
fn register_forms_and_flags() {
    let mut vm = FunctionVm::new().unwrap();
    let lib = load(
        &mut vm,
        "#!lua name=t\nredis.register_function{FUNCTION_NAME='g', CALLBACK=function() return 2 end, FLAGS={'NO-WRITES','Allow-OOM'}, Description='d'}\nredis.register_function(1, function() return 1 end)\nredis.register_function{function_name=5, callback=function() end, description=5}",
    )
    .unwrap();
    assert_eq!(lib.name, "t");
    let names: Vec<&str> = lib.functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["g", "1", "5"]);
    let g = &lib.functions[0];
    assert_eq!(g.description.as_deref(), Some(&b"d"[..]));
    assert_eq!(
        g.flags,
        ScriptFlags {
            no_writes: true,
            allow_oom: true,
            ..Default::default()
        }
    );
    assert_eq!(flag_names(&g.flags), ["no-writes", "allow-oom"]);
    assert_eq!(lib.functions[1].description, None);
    assert_eq!(lib.functions[2].description.as_deref(), Some(&b"5"[..]));
    assert!(lib.code.starts_with(b"#!lua name=t\n"));
    assert_eq!(fcall(&mut vm, "g", &[], &[]), int(2));
    assert_eq!(fcall(&mut vm, "1", &[], &[]), int(1));
    let all = "{function_name='h', callback=function() end, flags={'allow-cross-slot-keys','no-cluster','allow-stale','allow-oom','no-writes'}}";
    let lib = load(
        &mut vm,
        &format!("#!lua name=u\nredis.register_function{all}"),
    )
    .unwrap();
    assert_eq!(
        flag_names(&lib.functions[0].flags),
        [
            "no-writes",
            "allow-oom",
            "allow-stale",
            "no-cluster",
            "allow-cross-slot-keys"
        ]
    );
}

#[test]
fn log_and_version_at_load() {
    let mut vm = FunctionVm::new().unwrap();
    let mut sink = ToySink::default();
    let lib = vm
        .compile(
            b"#!lua name=t\nredis.log(redis.LOG_WARNING, 'hello', 'load')\nredis.register_function('g'..redis.REDIS_VERSION_NUM, function() return redis.REDIS_VERSION end)",
            &mut sink,
        )
        .unwrap();
    assert_eq!(sink.logs, vec![(LogLevel::Warning, b"hello load".to_vec())]);
    assert_eq!(lib.info().functions[0].name, "g458767");
    vm.install(lib);
    assert_eq!(fcall(&mut vm, "g458767", &[], &[]), bulk("7.0.15"));
}

const RUNTIME_LIB: &str = "#!lua name=t
local function f() return 1 end
redis.register_function('g', f)
redis.register_function('h', function(keys, args)
  local t = {}
  for k in pairs(_G) do t[#t+1] = k end
  table.sort(t)
  return t
end)
redis.register_function('r', function()
  local t = {}
  for k in pairs(redis) do t[#t+1] = k end
  table.sort(t)
  return t
end)
redis.register_function('k', function(keys, args) return {keys, args, #keys, #args} end)
redis.register_function('e', function(keys, args) return redis.call('nosuch') end)
redis.register_function('e2', function(keys, args) 
  error('boom') end)
redis.register_function('e3', function(keys, args) return KEYS end)
redis.register_function('e4', function(keys, args) return redis.register_function end)
redis.register_function('e5', function(keys, args) return redis.error_reply('MY err') end)
redis.register_function('e6', function(keys, args) x = 1 end)
local r = redis
redis.register_function('e7', function() r.register_function('z', function() end) end)
local n = 0
redis.register_function('inc', function() n = n + 1 return n end)
redis.register_function('set', function(keys, args) return redis.call('set', keys[1], args[1]) end)
";

fn names(f: &Frame) -> Vec<String> {
    match f {
        Frame::Array(items) => items
            .iter()
            .map(|i| match i {
                Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
                other => format!("{other:?}"),
            })
            .collect(),
        other => panic!("not an array: {other:?}"),
    }
}

#[test]
fn running_functions() {
    let mut vm = FunctionVm::new().unwrap();
    load(&mut vm, RUNTIME_LIB).unwrap();
    assert_eq!(
        names(&fcall(&mut vm, "h", &[], &[])).join(" "),
        "_G _VERSION assert bit cjson cmsgpack collectgarbage coroutine error gcinfo getmetatable ipairs load loadstring math next pairs pcall rawequal rawget rawset redis select setmetatable string struct table tonumber tostring type unpack xpcall"
    );
    assert_eq!(
        names(&fcall(&mut vm, "r", &[], &[])).join(" "),
        "LOG_DEBUG LOG_NOTICE LOG_VERBOSE LOG_WARNING REDIS_VERSION REDIS_VERSION_NUM REPL_ALL REPL_AOF REPL_NONE REPL_REPLICA REPL_SLAVE acl_check_cmd call error_reply log pcall set_repl setresp sha1hex status_reply"
    );
    assert_eq!(
        fcall(&mut vm, "k", &["a", "b"], &["c", "d", "e"]),
        Frame::Array(vec![
            Frame::Array(vec![bulk("a"), bulk("b")]),
            Frame::Array(vec![bulk("c"), bulk("d"), bulk("e")]),
            int(2),
            int(3),
        ])
    );
    let cases = [
        ("e", "ERR Unknown Redis command called from script script: e, on @user_function:17."),
        ("e2", "ERR user_function:19: boom script: e2, on @user_function:19."),
        ("e3", "ERR user_function:20: Script attempted to access nonexistent global variable 'KEYS' script: e3, on @user_function:20."),
        ("e5", "MY err"),
        ("e6", "ERR user_function:23: Attempt to modify a readonly table script: e6, on @user_function:23."),
        ("e7", "ERR redis.register_function can only be called on FUNCTION LOAD command script: e7, on @user_function:25."),
    ];
    for (f, want) in cases {
        assert_eq!(fcall(&mut vm, f, &[], &[]), err(want), "{f}");
    }
    assert_eq!(fcall(&mut vm, "e4", &[], &[]), Frame::Null);
    // Upvalues live as long as the library in this VM.
    assert_eq!(fcall(&mut vm, "inc", &[], &[]), int(1));
    assert_eq!(fcall(&mut vm, "inc", &[], &[]), int(2));
    let mut sink = ToySink::default();
    assert_eq!(
        fcall_with(&mut vm, &mut sink, "set", &["k"], &["v"]),
        Frame::Simple(Bytes::from_static(b"OK"))
    );
    assert_eq!(sink.data.get(&b"k"[..]).map(|v| &v[..]), Some(&b"v"[..]));
}

#[test]
fn install_remove_replace() {
    let mut vm = FunctionVm::new().unwrap();
    let mut sink = ToySink::default();
    assert!(vm
        .run_function(
            "t",
            "g",
            &[],
            &[],
            &mut sink,
            RunOptions {
                client_resp: 2,
                name: "",
                busy_check: None
            }
        )
        .is_none());
    load(
        &mut vm,
        "#!lua name=t\nredis.register_function('g', function() return 1 end)",
    )
    .unwrap();
    assert_eq!(fcall(&mut vm, "g", &[], &[]), int(1));
    let lib = vm_compile(
        &mut vm,
        "#!lua name=t\nredis.register_function('g', function() return 2 end)",
    );
    let old = vm.install(lib);
    assert!(old.is_some());
    assert_eq!(fcall(&mut vm, "g", &[], &[]), int(2));
    assert_eq!(vm.libraries().count(), 1);
    assert!(vm.library("t").is_some());
    assert!(vm.remove("t"));
    assert!(!vm.remove("t"));
    assert!(vm.library("t").is_none());
    load(
        &mut vm,
        "#!lua name=t\nredis.register_function('g', function() return 1 end)",
    )
    .unwrap();
    vm.clear();
    assert_eq!(vm.libraries().count(), 0);
}

fn vm_compile(vm: &mut FunctionVm, code: &str) -> darter_scripting::CompiledLibrary {
    vm.compile(code.as_bytes(), &mut ToySink::default())
        .unwrap()
}

#[test]
fn a_c_function_as_callback() {
    let mut vm = FunctionVm::new().unwrap();
    load(
        &mut vm,
        "#!lua name=t\nredis.register_function('lg', redis.log)\nredis.register_function('lg2', function(k, a) return redis.log(k, a) end)",
    )
    .unwrap();
    // redis-server 7.0.15: no Lua frame to point at, so no suffix.
    assert_eq!(
        fcall(&mut vm, "lg", &[], &[]),
        err("ERR First argument must be a number (log level).")
    );
    assert_eq!(
        fcall(&mut vm, "lg2", &[], &[]),
        err("ERR First argument must be a number (log level). script: lg2, on @user_function:3.")
    );
}
