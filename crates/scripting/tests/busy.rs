//! The busy-script hook: the caller's check runs while the script runs and can kill it, with
//! Redis 7.0's reply (captured with busy-reply-threshold 100 and SCRIPT KILL).

mod common;
use bytes::Bytes;
use common::*;
use darter_scripting::{Frame, Interrupt, RunOptions, ScriptVm};

fn run_killed_after(body: &str, checks_before_kill: usize) -> (Frame, usize, String) {
    let mut vm = ScriptVm::new().unwrap();
    let mut sink = ToySink::default();
    let info = vm.load(body.as_bytes()).unwrap();
    let mut n = 0;
    let mut check = || {
        n += 1;
        if n > checks_before_kill {
            Interrupt::Kill
        } else {
            Interrupt::Continue
        }
    };
    let f = vm
        .run(
            &info.sha,
            &[],
            &[],
            &mut sink,
            RunOptions {
                client_resp: 2,
                name: &info.sha,
                busy_check: Some(&mut check),
            },
        )
        .unwrap();
    // The VM stays usable after a kill.
    let info2 = vm.load(b"return 7").unwrap();
    let again = vm.run(
        &info2.sha,
        &[],
        &[],
        &mut sink,
        RunOptions {
            client_resp: 2,
            name: &info2.sha,
            busy_check: None,
        },
    );
    assert_eq!(again, Some(int(7)));
    (f, n, info.sha)
}

#[test]
fn kill_from_the_hook() {
    let (f, n, sha) = run_killed_after("local i=0 while true do i=i+1 end", 3);
    assert_eq!(n, 4);
    assert_eq!(
        f,
        Frame::Error(Bytes::from(format!(
            "ERR Script killed by user with SCRIPT KILL... script: {sha}, on @user_script:1."
        )))
    );
}

#[test]
fn kill_cannot_be_caught_by_pcall() {
    let (f, _, sha) = run_killed_after(
        "local i=0 while true do pcall(function() while true do i=i+1 end end) end",
        2,
    );
    assert_eq!(
        f,
        Frame::Error(Bytes::from(format!(
            "ERR Script killed by user with SCRIPT KILL... script: {sha}, on @user_script:1."
        )))
    );
}

#[test]
fn continue_lets_the_script_finish() {
    let mut vm = ScriptVm::new().unwrap();
    let mut sink = ToySink::default();
    let info = vm
        .load(b"local i=0 for j=1,1000000 do i=i+1 end return i")
        .unwrap();
    let mut calls = 0;
    let mut check = || {
        calls += 1;
        Interrupt::Continue
    };
    let f = vm.run(
        &info.sha,
        &[],
        &[],
        &mut sink,
        RunOptions {
            client_resp: 2,
            name: &info.sha,
            busy_check: Some(&mut check),
        },
    );
    assert_eq!(f, Some(int(1_000_000)));
    assert!(calls >= 10, "{calls}");
}
