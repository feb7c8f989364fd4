//! The real `darter` binary as a child process: flags, a config file with flags overriding it,
//! `--help`, a fatal config error, and SHUTDOWN.
//!
//! Readiness is the `darter listening on <addr>` line on stdout (never a sleep); every wait on the
//! child is bounded, and a child left running by a failed assertion is killed on drop.

use darter_testkit::RawClient;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_darter");
/// Generous bounds for a debug build on a busy machine; they only limit how long a broken binary
/// can hang a test.
const START_WAIT: Duration = Duration::from_secs(30);
const EXIT_WAIT: Duration = Duration::from_secs(30);

/// A temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "darter-bin-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }

    fn write(&self, name: &str, body: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, body).expect("write file");
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running darter child; killed on drop unless it already exited.
struct Darter {
    child: Child,
    addr: SocketAddr,
    /// Signalled when the child's stdout reaches EOF, i.e. when the process has exited.
    exited: mpsc::Receiver<()>,
}

impl Darter {
    /// Spawns `darter <args>` and waits (bounded) for its "darter listening on" line.
    fn spawn(args: &[&str]) -> Darter {
        let mut child = Command::new(BIN)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn darter");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        let (eof_tx, exited) = mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if !sent {
                    if let Some(a) = line.strip_prefix("darter listening on ") {
                        let _ = tx.send(a.trim().to_string());
                        sent = true;
                    }
                }
                // Keep draining so the child never blocks on a full pipe.
            }
            let _ = eof_tx.send(());
        });
        let addr = match rx.recv_timeout(START_WAIT) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                let status = child.wait();
                panic!("darter {args:?} did not report its address (exit: {status:?})");
            }
        };
        let addr = addr
            .parse()
            .unwrap_or_else(|e| panic!("bad address {addr:?}: {e}"));
        Darter {
            child,
            addr,
            exited,
        }
    }

    fn client(&self) -> RawClient {
        RawClient::connect_tcp(self.addr)
    }

    /// SHUTDOWN (or a kill if the command is refused), then waits for the exit.
    fn shutdown(mut self) -> ExitStatus {
        let mut c = self.client();
        c.send_raw(b"*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n");
        // Success closes the connection with no reply; an error reply means it did not happen.
        if let Some(r) = c.try_read_reply_raw() {
            panic!("SHUTDOWN NOSAVE replied {:?}", String::from_utf8_lossy(&r));
        }
        wait_exit(&mut self.child, &self.exited, EXIT_WAIT)
            .expect("darter did not exit after SHUTDOWN")
    }
}

impl Drop for Darter {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Waits (bounded) for the child to exit: `exited` fires when its stdout closes, which darter
/// only does by exiting; then the exit status is collected.
fn wait_exit(
    child: &mut Child,
    exited: &mpsc::Receiver<()>,
    limit: Duration,
) -> Option<ExitStatus> {
    exited.recv_timeout(limit).ok()?;
    child.wait().ok()
}

/// Runs `darter <args>` to completion (bounded): (status, stdout, stderr).
fn run_to_exit(args: &[&str]) -> (ExitStatus, String, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn darter");
    // Each reader sends its stream's text at EOF, which comes when the process exits.
    let drain = |mut r: Box<dyn Read + Send>| {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            let _ = tx.send(s);
        });
        rx
    };
    let out = drain(Box::new(child.stdout.take().expect("stdout")));
    let err = drain(Box::new(child.stderr.take().expect("stderr")));
    let (Ok(out), Ok(err)) = (out.recv_timeout(EXIT_WAIT), err.recv_timeout(EXIT_WAIT)) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("darter {args:?} did not exit");
    };
    (child.wait().expect("exit status"), out, err)
}

/// A flag's entry in clap's help: its line and the description lines up to the next flag.
fn help_entry(help: &str, flag: &str) -> Option<String> {
    let lines: Vec<&str> = help.lines().collect();
    let named = |l: &str| {
        let t = l.trim_start();
        t.starts_with('-') && t.split([' ', ',']).any(|w| w == flag)
    };
    let start = lines.iter().position(|l| named(l))?;
    let mut entry = lines[start].to_string();
    for l in &lines[start + 1..] {
        if l.trim_start().starts_with('-') {
            break;
        }
        entry.push('\n');
        entry.push_str(l);
    }
    Some(entry)
}

fn ping(c: &mut RawClient) {
    assert_eq!(c.cmd(&["PING"]), "+PONG\r\n");
}

#[test]
fn starts_from_flags_serves_and_shuts_down() {
    let d = Darter::spawn(&[
        "--port",
        "0",
        "--bind",
        "127.0.0.1",
        "--proactor_threads",
        "2",
    ]);
    assert!(d.addr.ip().is_loopback(), "{}", d.addr);
    assert_ne!(d.addr.port(), 0);
    let mut c = d.client();
    ping(&mut c);
    assert_eq!(c.cmd(&["ECHO", "hello"]), "$5\r\nhello\r\n");
    // Default 16 databases.
    assert_eq!(c.cmd(&["SELECT", "15"]), "+OK\r\n");
    assert_eq!(
        c.cmd(&["SELECT", "16"]),
        "-ERR DB index is out of range\r\n"
    );
    let st = d.shutdown();
    assert!(st.success(), "exit status {st}");
}

#[test]
fn flags_override_the_config_file() {
    let dir = TempDir::new();
    let conf = dir.write(
        "darter.conf",
        "# test config\nport 0\nbind 127.0.0.1\ndatabases 4\nproactor_threads 2\n",
    );
    let conf = conf.to_str().expect("utf-8 path");

    // The file alone: 4 databases.
    let d = Darter::spawn(&[conf]);
    let mut c = d.client();
    assert_eq!(c.cmd(&["SELECT", "3"]), "+OK\r\n");
    assert_eq!(c.cmd(&["SELECT", "4"]), "-ERR DB index is out of range\r\n");
    assert!(d.shutdown().success());

    // A flag beats the file, whichever side of the file name it is on.
    for args in [[conf, "--dbnum", "8"], ["--dbnum", "8", conf]] {
        let d = Darter::spawn(&args);
        let mut c = d.client();
        assert_eq!(c.cmd(&["SELECT", "7"]), "+OK\r\n", "{args:?}");
        assert_eq!(c.cmd(&["SELECT", "8"]), "-ERR DB index is out of range\r\n");
        ping(&mut c);
        assert!(d.shutdown().success());
    }
}

#[test]
fn help_lists_every_flag_with_its_default() {
    let (st, out, _) = run_to_exit(&["--help"]);
    assert!(st.success(), "--help exit status {st}");
    for (flag, default) in [
        ("--port", Some("[default: 6379]")),
        ("--bind", Some("[default: \"* -::*\"]")),
        ("--proactor_threads", Some("[default: 0]")),
        ("--num_shards", Some("[default: 0]")),
        ("--requirepass", None),
        ("--dbnum", Some("[default: 16]")),
        ("--maxclients", Some("[default: 10000]")),
        ("--timeout", Some("[default: 0]")),
        ("--tcp_keepalive", Some("[default: 300]")),
        ("--log_level", Some("[default: info]")),
    ] {
        let Some(entry) = help_entry(&out, flag) else {
            panic!("--help lacks {flag}:\n{out}");
        };
        match default {
            Some(d) => assert!(entry.contains(d), "{flag} lacks {d}: {entry:?}"),
            None => assert!(!entry.contains("[default:"), "{flag}: {entry:?}"),
        }
    }
    assert!(out.contains("CONFIG_FILE"), "{out}");
}

#[test]
fn a_bad_config_line_is_fatal_and_names_file_and_line() {
    let dir = TempDir::new();
    let conf = dir.write(
        "bad.conf",
        "port 0\nbind 127.0.0.1\n\nnosuchdirective 1\ndatabases 4\n",
    );
    let conf = conf.to_str().expect("utf-8 path");
    let (st, out, err) = run_to_exit(&[conf]);
    assert!(!st.success(), "exit status {st}");
    assert!(!out.contains("listening"), "it started: {out}");
    for needle in [
        "*** FATAL CONFIG FILE ERROR ***",
        &format!("Reading the configuration file {conf}, at line 4"),
        ">>> 'nosuchdirective 1'",
        "Bad directive or wrong number of arguments",
    ] {
        assert!(err.contains(needle), "stderr lacks {needle:?}:\n{err}");
    }

    // A bad value names its line too.
    let conf = dir.write("bad2.conf", "port 0\ndatabases 0\n");
    let conf = conf.to_str().expect("utf-8 path");
    let (st, _, err) = run_to_exit(&[conf]);
    assert!(!st.success());
    assert!(err.contains("at line 2"), "{err}");
    assert!(err.contains(">>> 'databases 0'"), "{err}");

    // A missing file and a bad flag fail too.
    let missing = dir.0.join("missing.conf");
    let (st, _, err) = run_to_exit(&[missing.to_str().expect("utf-8 path")]);
    assert!(!st.success());
    assert!(err.contains("missing.conf"), "{err}");
    let (st, _, err) = run_to_exit(&["--port", "70000"]);
    assert!(!st.success());
    assert!(err.contains("70000"), "{err}");
}
