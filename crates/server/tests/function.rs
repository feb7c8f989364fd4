//! FUNCTION across servers and threads: FUNCTION DUMP payloads move between redis-server 7.0.15
//! and darter in both directions (plain and LZF-compressed library code), and a library loaded on
//! one connection is visible on connections of every thread and runnable in every thread's
//! function VM. Libraries are process-wide, so the tests of this binary take turns.

use darter_commands::families::function::{resolve, with_function_vm};
use darter_resp::Frame;
use darter_testkit::{client::frame_bytes, RawClient, RedisServer, TestServer};
use std::sync::Mutex;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn lib(name: &str, f: &str, padding: usize) -> String {
    format!(
        "#!lua name={name}\nredis.register_function{{function_name='{f}', callback=function(keys, args) return '{name}' end, flags={{'no-writes'}}, description='d'}}\n-- {}",
        "pad ".repeat(padding)
    )
}

/// FUNCTION LIST WITHCODE, one entry per library, in library-name order (Redis lists in hash
/// order).
fn listing(c: &mut RawClient) -> Vec<Vec<u8>> {
    let Frame::Array(libs) = c.cmd_frame(&["FUNCTION", "LIST", "WITHCODE"]) else {
        panic!("FUNCTION LIST is not an array");
    };
    let mut out: Vec<Vec<u8>> = libs.iter().map(frame_bytes).collect();
    out.sort();
    out
}

fn dump(c: &mut RawClient) -> Vec<u8> {
    match c.cmd_frame(&["FUNCTION", "DUMP"]) {
        Frame::Bulk(b) => b.to_vec(),
        other => panic!("FUNCTION DUMP: {other:?}"),
    }
}

fn load(c: &mut RawClient, code: &str) {
    let name = code[11..code.find('\n').unwrap()].to_string();
    assert_eq!(
        c.cmd(&["FUNCTION", "LOAD", code]),
        format!("${}\r\n{name}\r\n", name.len())
    );
}

#[test]
fn dump_payloads_move_between_redis_and_darter() {
    if !RedisServer::available() {
        assert!(
            std::env::var_os("CI").is_none(),
            "redis-server is not installed"
        );
        eprintln!("SKIPPED: redis-server is not installed");
        return;
    }
    let _g = serial();
    let redis = RedisServer::start();
    let darter = TestServer::start();
    let mut r = redis.client();
    let mut d = darter.client();
    for c in [&mut r, &mut d] {
        assert_eq!(c.cmd(&["FUNCTION", "FLUSH"]), "+OK\r\n");
    }

    // redis -> darter: one short library (stored plain), one long (LZF).
    load(&mut r, &lib("short", "fs", 0));
    load(&mut r, &lib("long", "fl", 100));
    let payload = dump(&mut r);
    assert_eq!(d.cmd(&[&b"FUNCTION"[..], b"RESTORE", &payload]), "+OK\r\n");
    assert_eq!(listing(&mut d), listing(&mut r));
    assert_eq!(listing(&mut d).len(), 2);
    assert_eq!(
        d.cmd(&[&b"FUNCTION"[..], b"RESTORE", &payload]),
        "-ERR Library short already exists\r\n".replace(
            "short",
            if listing_first(&payload) {
                "long"
            } else {
                "short"
            }
        )
    );

    // darter -> redis.
    assert_eq!(d.cmd(&["FUNCTION", "FLUSH"]), "+OK\r\n");
    load(&mut d, &lib("dshort", "gs", 0));
    load(&mut d, &lib("dlong", "gl", 200));
    let payload = dump(&mut d);
    assert_eq!(
        r.cmd(&[&b"FUNCTION"[..], b"RESTORE", &payload, b"FLUSH"]),
        "+OK\r\n"
    );
    assert_eq!(listing(&mut r), listing(&mut d));
    // One library at a time, darter's payload is redis-server's, byte for byte.
    for c in [&mut r, &mut d] {
        assert_eq!(c.cmd(&["FUNCTION", "DELETE", "dshort"]), "+OK\r\n");
    }
    assert_eq!(dump(&mut d), dump(&mut r));
    for c in [&mut r, &mut d] {
        assert_eq!(c.cmd(&["FUNCTION", "FLUSH"]), "+OK\r\n");
    }
}

/// Whether the payload's first library is `long` (Redis dumps in hash order; RESTORE APPEND
/// reports the first library it finds already loaded).
fn listing_first(payload: &[u8]) -> bool {
    let code = String::from_utf8_lossy(payload);
    code.find("name=long").unwrap_or(usize::MAX) < code.find("name=short").unwrap_or(usize::MAX)
}

/// The library name and function names of `lib` in every thread's function VM, in thread order.
fn on_every_thread(darter: &TestServer, lib: &'static str) -> Vec<Option<Vec<String>>> {
    let engine = darter.server().engine.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(engine.on_all_threads(move |_| {
        with_function_vm(|vm| {
            vm.library(lib)
                .map(|l| l.functions.iter().map(|f| f.name.clone()).collect())
        })
    }))
}

#[test]
fn a_library_reaches_every_thread() {
    let _g = serial();
    let darter = TestServer::start();
    let mut a = darter.client();
    assert_eq!(a.cmd(&["FUNCTION", "FLUSH"]), "+OK\r\n");
    load(&mut a, &lib("shared", "f1", 0));
    // Connections are spread over the threads: twice as many as threads reach them all.
    let mut conns: Vec<RawClient> = (0..6).map(|_| darter.client()).collect();
    for c in &mut conns {
        let got = c.cmd(&["FUNCTION", "LIST", "LIBRARYNAME", "shared"]);
        assert!(got.contains("\r\nf1\r\n"), "{got}");
    }
    let threads = on_every_thread(&darter, "shared");
    assert_eq!(threads.len(), 3);
    assert!(threads
        .iter()
        .all(|t| t.as_deref() == Some(&["f1".to_string()][..])));
    assert_eq!(&*resolve(b"F1").expect("resolves").library, "shared");

    // A REPLACE on another connection replaces the library in every VM.
    let code = lib("shared", "f2", 0);
    assert_eq!(
        conns[1].cmd(&["FUNCTION", "LOAD", "REPLACE", &code]),
        "$6\r\nshared\r\n"
    );
    assert!(on_every_thread(&darter, "shared")
        .iter()
        .all(|t| t.as_deref() == Some(&["f2".to_string()][..])));
    assert!(resolve(b"f1").is_none());

    assert_eq!(conns[2].cmd(&["FUNCTION", "DELETE", "shared"]), "+OK\r\n");
    assert!(on_every_thread(&darter, "shared")
        .iter()
        .all(|t| t.is_none()));
    for c in &mut conns {
        assert_eq!(c.cmd(&["FUNCTION", "LIST"]), "*0\r\n");
    }
}
