//! The store operations. The store is process-wide, so these tests take turns.

use super::*;
use std::sync::Mutex;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    let g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    op_flush();
    g
}

fn lib(name: &str, funcs: &[&str]) -> String {
    let mut s = format!("#!lua name={name}\n");
    for f in funcs {
        s.push_str(&format!(
            "redis.register_function('{f}', function(keys, args) return '{name}.{f}' end)\n"
        ));
    }
    s
}

fn names() -> Vec<String> {
    op_list(None).iter().map(|l| l.name.clone()).collect()
}

#[test]
fn load_replace_and_collisions() {
    let _g = serial();
    assert_eq!(
        op_load(lib("a", &["f1", "f2"]).as_bytes(), false),
        Ok("a".into())
    );
    assert_eq!(
        op_load(lib("a", &["f3"]).as_bytes(), false),
        Err("ERR Library 'a' already exists".into())
    );
    assert_eq!(
        op_load(lib("b", &["F1"]).as_bytes(), false),
        Err("ERR Function F1 already exists".into())
    );
    // REPLACE may reuse the replaced library's names, and drops its other functions.
    assert_eq!(
        op_load(lib("a", &["f1", "g"]).as_bytes(), true),
        Ok("a".into())
    );
    assert!(resolve(b"f2").is_none());
    let r = resolve(b"F1").unwrap();
    assert_eq!((&*r.library, &*r.function), ("a", "f1"));
    // A failed REPLACE keeps the old library.
    assert!(op_load(b"#!lua name=a\nreturn 1", true).is_err());
    assert!(resolve(b"g").is_some());
    assert_eq!(counts(), (1, 2));
    assert_eq!(op_load(lib("b", &["h"]).as_bytes(), true), Ok("b".into()));
    assert_eq!(names(), ["a", "b"]);
    assert_eq!(counts(), (2, 3));
    assert_eq!(
        op_load(b"#!lua name=c\nreturn 1", false),
        Err("ERR No functions registered".into())
    );
    assert_eq!(
        op_load(b"#!lua name=a\nreturn 1", false),
        Err("ERR Library 'a' already exists".into())
    );
}

#[test]
fn delete_flush_and_generation() {
    let _g = serial();
    let g0 = generation();
    op_load(lib("a", &["f"]).as_bytes(), false).unwrap();
    assert!(generation() > g0);
    assert_eq!(op_delete(b"nosuch"), Err(LIBRARY_NOT_FOUND));
    assert_eq!(op_delete(b"A"), Err(LIBRARY_NOT_FOUND));
    assert_eq!(op_delete(b"a"), Ok(()));
    assert!(resolve(b"f").is_none());
    op_load(lib("a", &["f"]).as_bytes(), false).unwrap();
    let g1 = generation();
    op_flush();
    assert!(generation() > g1);
    assert_eq!(counts(), (0, 0));
}

#[test]
fn vm_follows_the_store() {
    let _g = serial();
    op_load(lib("a", &["f"]).as_bytes(), false).unwrap();
    // Another thread's VM compiles the library on first use.
    let run = |name: &'static str| {
        std::thread::spawn(move || {
            let r = resolve(name.as_bytes())?;
            with_function_vm(|vm| {
                vm.library(&r.library)
                    .map(|l| l.functions.iter().any(|f| *f.name == *r.function))
            })
        })
        .join()
        .unwrap()
    };
    assert_eq!(run("f"), Some(true));
    op_load(lib("a", &["g"]).as_bytes(), true).unwrap();
    assert_eq!(run("f"), None);
    assert_eq!(run("g"), Some(true));
    // This thread's VM drops what the store dropped.
    with_function_vm(|vm| assert!(vm.library("a").is_some()));
    op_flush();
    with_function_vm(|vm| assert_eq!(vm.libraries().count(), 0));
}

#[test]
fn dump_restore_round_trip_and_policies() {
    let _g = serial();
    op_load(lib("a", &["f"]).as_bytes(), false).unwrap();
    let long = format!("{}-- {}\n", lib("b", &["g"]), "x".repeat(200));
    op_load(long.as_bytes(), false).unwrap();
    let dump = op_dump();
    op_flush();
    op_restore(&dump, RestorePolicy::Append).unwrap();
    assert_eq!(names(), ["a", "b"]);
    assert_eq!(op_list(Some(b"B"))[0].code, long.as_bytes());
    assert_eq!(
        op_restore(&dump, RestorePolicy::Append),
        Err("ERR Library a already exists".into())
    );
    op_restore(&dump, RestorePolicy::Replace).unwrap();
    assert_eq!(counts(), (2, 2));
    op_delete(b"a").unwrap();
    op_load(lib("c", &["f"]).as_bytes(), false).unwrap();
    assert_eq!(
        op_restore(&dump, RestorePolicy::Replace),
        Err("ERR Function f already exists".into())
    );
    assert_eq!(names(), ["b", "c"]);
    op_restore(&dump, RestorePolicy::Flush).unwrap();
    assert_eq!(names(), ["a", "b"]);
    let mut bad = dump.clone();
    bad[2] ^= 1;
    assert_eq!(
        op_restore(&bad, RestorePolicy::Flush),
        Err(BAD_PAYLOAD.into())
    );
    assert_eq!(
        op_restore(b"short", RestorePolicy::Flush),
        Err(BAD_PAYLOAD.into())
    );
    // Well-formed payloads with bad contents.
    let payload = |body: &[u8]| {
        let mut p = body.to_vec();
        rdb::add_footer(&mut p);
        p
    };
    let e = |body: &[u8]| op_restore(&payload(body), RestorePolicy::Flush).unwrap_err();
    assert_eq!(e(b"\x00"), "ERR given type is not a function");
    assert_eq!(e(b"\xf6"), "ERR Failed loading library name");
    assert_eq!(e(b"\xf6\x01a"), "ERR Failed loading engine name");
    assert_eq!(
        e(b"\xf6\x01a\x01b\x01"),
        "ERR Failed loading library description"
    );
    assert_eq!(e(b"\xf6\x01a\x01b\x00\x02ab"), "ERR Engine 'b' not found");
    let mut old = b"\xf6\x03old\x03LUA\x01\x04desc".to_vec();
    rdb::write_string(
        &mut old,
        b"redis.register_function('pf', function() return 'p' end)",
    );
    op_restore(&payload(&old), RestorePolicy::Append).unwrap();
    let l = op_list(Some(b"old"));
    assert_eq!(
        l[0].code,
        &b"#!LUA name=old\nredis.register_function('pf', function() return 'p' end)"[..]
    );
    op_delete(b"old").unwrap();
    // A record may run into the footer's bytes (as in Redis).
    assert_eq!(e(b"\xf5\x05ab"), "ERR Missing library metadata");
    assert_eq!(e(b"\xf5\x40"), "ERR Failed loading library payload");
    assert_eq!(e(b"\xf5\x02ab"), "ERR Missing library metadata");
    let mut twice = Vec::new();
    for _ in 0..2 {
        twice.push(rdb::OPCODE_FUNCTION2);
        rdb::write_string(&mut twice, lib("d", &["x"]).as_bytes());
    }
    assert_eq!(e(&twice), "ERR Library 'd' already exists");
    let mut clash = vec![rdb::OPCODE_FUNCTION2];
    rdb::write_string(&mut clash, lib("d", &["x"]).as_bytes());
    clash.push(rdb::OPCODE_FUNCTION2);
    rdb::write_string(&mut clash, lib("e", &["X"]).as_bytes());
    assert_eq!(e(&clash), "ERR Function X already exists");
    assert_eq!(names(), ["a", "b"]);
    // The empty payload: FLUSH empties, APPEND changes nothing.
    let empty = payload(b"");
    op_restore(&empty, RestorePolicy::Append).unwrap();
    assert_eq!(counts(), (2, 2));
    op_restore(&empty, RestorePolicy::Flush).unwrap();
    assert_eq!(counts(), (0, 0));
}

#[test]
fn list_pattern_is_case_insensitive() {
    let _g = serial();
    op_load(lib("Alpha", &["f"]).as_bytes(), false).unwrap();
    op_load(lib("beta", &["g"]).as_bytes(), false).unwrap();
    let got: Vec<String> = op_list(Some(b"a*"))
        .iter()
        .map(|l| l.name.clone())
        .collect();
    assert_eq!(got, ["Alpha"]);
    assert_eq!(op_list(Some(b"*")).len(), 2);
    assert!(op_list(Some(b"x")).is_empty());
}
