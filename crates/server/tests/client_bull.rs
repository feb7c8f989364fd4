//! A real job-queue client library against darter: Bull (npm `bull`, pinned in
//! tests/clients/bull/package-lock.json) runs its queue workflow (tests/clients/bull/workload.js:
//! jobs added and processed by several Queue instances, priorities, delays, retries with backoff,
//! pause/resume, stalled-job recovery, repeatable jobs, a grouped rate limiter, clean and
//! obliterate) against a three-shard darter.
//!
//! Every Bull queue operation is a Lua script (EVALSHA, falling back to EVAL) that builds job keys
//! from a prefix passed in ARGV, i.e. touches keys it never declared in KEYS (the workload's doc
//! comment names the scripts); the scripts' keys land on every shard.
//!
//! It passed against redis-server 7.0.15 first; against darter it needed two fixes: the
//! cooperative-budget fix in `engine::nested` (pipelined EVALs) and noticing a blocked client's
//! close behind pipelined input (Bull's local pause sends QUIT and closes while a BRPOPLPUSH
//! blocks with more queued; `peer_closed` in crates/server/src/connection.rs).
//!
//! Needs `node` and the npm dependencies (`npm ci` in tests/clients/bull, which scripts/test.sh
//! does). Without them the test skips with its reason, except under CI (`CI=true`), where it fails.

use darter_testkit::{TestOptions, TestServer};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The workload bounds each phase itself; this only bounds a wedged node process.
const LIMIT: Duration = Duration::from_secs(150);

fn workload_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients/bull")
}

/// Why the workload cannot run here, if it cannot.
fn missing(dir: &Path) -> Option<String> {
    let node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !node {
        return Some("node is not installed".into());
    }
    if !dir.join("node_modules/bull/package.json").is_file() {
        return Some(format!(
            "bull is not installed (run `npm ci` in {})",
            dir.display()
        ));
    }
    None
}

#[test]
fn bull_queue_workload_passes() {
    let dir = workload_dir();
    if let Some(why) = missing(&dir) {
        // scripts/test.sh installs node's deps (and fails under CI=true if it cannot); a bare
        // `cargo test` without them skips loudly.
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the Bull workload is required under CI: {why}"
        );
        eprintln!("{why}: Bull client workload skipped");
        return;
    }
    let server = TestServer::start_with(TestOptions {
        threads: 3,
        shards: 3,
        ..Default::default()
    });
    let out_dir = std::env::temp_dir().join(format!("darter-bull-{}", std::process::id()));
    std::fs::create_dir_all(&out_dir).expect("temp dir");
    let (out_path, err_path) = (out_dir.join("stdout"), out_dir.join("stderr"));
    let mut child = Command::new("node")
        .arg("workload.js")
        .arg(server.addr().port().to_string())
        .arg("127.0.0.1")
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"))
        .spawn()
        .expect("start node");
    // A waiter thread reports node's exit; past LIMIT the process is killed by its pid.
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let _ = tx.send(child.wait().expect("wait for node"));
    });
    let status = match rx.recv_timeout(LIMIT) {
        Ok(status) => Some(status),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            None
        }
    };
    let _ = waiter.join();
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&out_dir);
    let Some(status) = status else {
        panic!("the Bull workload ran past {LIMIT:?}:\n{stdout}\n{stderr}");
    };
    assert!(
        status.success() && stdout.contains("bull workload OK"),
        "the Bull workload failed ({status}):\n{stdout}\n{stderr}"
    );
    // The workload obliterates its queues: nothing of its is left behind.
    let mut c = server.client();
    assert_eq!(c.cmd(&["DBSIZE"]), ":0\r\n", "keys left after the workload");
}

/// Bull's first phase, reduced: two connections each pipeline 50 EVALs of a script never run
/// before. The nested `redis.call` driver used to poll inside a connection task whose tokio coop
/// budget the long pipeline had used up, so a hop's reply never looked ready and the server
/// wedged (deterministically with one thread, often with three).
#[test]
fn pipelined_evals_from_two_connections_complete() {
    for threads in [1, 3] {
        let s = TestServer::start_with(TestOptions {
            threads,
            shards: threads,
            ..Default::default()
        });
        let script = format!("-- {threads}\nreturn redis.call('INCR', KEYS[1])");
        let one = darter_testkit::client::encode_request(&["EVAL", &script, "1", "samekey"]);
        let (tx, rx) = std::sync::mpsc::channel();
        for _ in 0..2 {
            let mut c = s.client();
            let (tx, req) = (tx.clone(), one.repeat(50));
            std::thread::spawn(move || {
                c.send_raw(&req);
                let replies: Vec<Vec<u8>> = (0..50).map(|_| c.read_reply_raw()).collect();
                let _ = tx.send(replies);
            });
        }
        let mut all = Vec::new();
        for _ in 0..2 {
            let replies = rx
                .recv_timeout(Duration::from_secs(20))
                .unwrap_or_else(|_| panic!("pipelined EVALs never answered ({threads} threads)"));
            all.extend(replies);
        }
        // Every INCR ran once: the replies are 1..=100 in some interleaving.
        let mut n: Vec<i64> = all
            .iter()
            .map(|r| {
                let t = String::from_utf8_lossy(r);
                t.trim_start_matches(':')
                    .trim()
                    .parse()
                    .expect("an integer reply")
            })
            .collect();
        n.sort_unstable();
        assert_eq!(n, (1..=100).collect::<Vec<i64>>(), "{threads} threads");
        assert_eq!(s.client().cmd(&["GET", "samekey"]), "$3\r\n100\r\n");
    }
}
