//! Layer 5: every command script in `tests/diff/*.redis` runs against a real `redis-server` and an
//! in-process darter (3 shards), and every reply must be byte-identical.
//!
//! One redis-server and one darter serve all scripts (each script starts with FLUSHALL and opens
//! its own connections). All mismatches of all scripts are printed, grouped by file, before the
//! test fails. Without redis-server the test is skipped loudly, except under CI (`CI` set), where
//! `scripts/test.sh` has installed it and its absence is a failure.

use darter_testkit::{run_script, RedisServer, TestServer};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

const DIFF_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/diff");

fn scripts() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(DIFF_DIR)
        .unwrap_or_else(|e| panic!("read {DIFF_DIR}: {e}"))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "redis"))
        // DARTER_DIFF_ONLY=<name> runs one script (while working on it).
        .filter(|p| {
            std::env::var_os("DARTER_DIFF_ONLY")
                .is_none_or(|o| p.file_stem() == Some(o.as_os_str()))
        })
        .collect();
    files.sort();
    files
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "non-string panic".to_string())
}

#[test]
fn scripts_match_real_redis() {
    if !RedisServer::available() {
        let msg = "redis-server is not installed: the differential tests did NOT run \
                   (scripts/test.sh installs it)";
        if std::env::var_os("CI").is_some() {
            panic!("{msg}");
        }
        eprintln!("\n!!!!!!!!!! SKIPPED: {msg} !!!!!!!!!!\n");
        return;
    }
    let files = scripts();
    assert!(!files.is_empty(), "no scripts in {DIFF_DIR}");
    let redis = RedisServer::start();
    let darter = TestServer::start();

    let mut failed_files = 0;
    let mut total = 0;
    let mut out = String::new();
    for path in &files {
        let name = path.file_name().expect("file name").to_string_lossy();
        let script = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {name}: {e}"));
        // A script that breaks the harness (bad directive, a server closing the connection under
        // a plain command) is reported like a mismatch, so the other scripts still run.
        let result = catch_unwind(AssertUnwindSafe(|| {
            run_script(&script, || redis.client(), || darter.client())
        }));
        let lines: Vec<String> = match result {
            Ok(reports) => reports.iter().map(|r| r.to_string()).collect(),
            Err(p) => vec![format!("script aborted: {}", panic_text(&*p))],
        };
        if lines.is_empty() {
            continue;
        }
        failed_files += 1;
        total += lines.len();
        out.push_str(&format!("\n=== {name}: {} mismatch(es) ===\n", lines.len()));
        for l in lines {
            out.push_str(&l);
            out.push('\n');
        }
    }
    if total > 0 {
        eprintln!("{out}");
        panic!(
            "{total} mismatch(es) with redis-server in {failed_files} of {} script(s); see above",
            files.len()
        );
    }
}
