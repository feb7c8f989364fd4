//! Starting, readiness-checking and stopping one server process (redis-server
//! or darter) on a loopback port, optionally pinned with `taskset -c`. The
//! `Server` guard owns the child: dropping it always terminates and reaps the
//! process (SIGTERM, then SIGKILL after a bounded wait), and children are also
//! armed with PR_SET_PDEATHSIG so they die if this harness is killed. It must
//! not sleep-and-hope for readiness (it polls with PING until +PONG, bounded),
//! and must never signal a process it did not spawn.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::proc_stat;
use crate::shell_words;

/// How long a server gets to answer PING after being spawned.
pub const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a server gets to exit after SIGTERM before it is SIGKILLed.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// Picks `n` distinct free loopback ports by binding 127.0.0.1:0. All
/// listeners are held until every port is known, so the same port cannot be
/// handed out twice; they are dropped before returning.
pub fn free_ports(n: usize) -> io::Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<io::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect()
}

/// What to run: `[taskset -c CPU] program args...`.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    /// Label used in reports ("redis" or "darter").
    pub name: String,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub cpu: Option<String>,
}

impl ServerSpec {
    /// redis-server on `port` with persistence off and in the foreground, then `extra` args.
    pub fn redis(program: &Path, port: u16, extra: &[String], cpu: Option<String>) -> ServerSpec {
        let base = [
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ]
        .map(String::from);
        ServerSpec {
            name: "redis".into(),
            program: program.to_path_buf(),
            args: base.into_iter().chain(extra.iter().cloned()).collect(),
            cpu,
        }
    }

    /// Full argv including the optional `taskset -c CPU` prefix.
    pub fn argv(&self) -> Vec<String> {
        let mut v = Vec::new();
        if let Some(cpu) = &self.cpu {
            v.extend(["taskset".to_string(), "-c".to_string(), cpu.clone()]);
        }
        v.push(self.program.to_string_lossy().into_owned());
        v.extend(self.args.iter().cloned());
        v
    }

    pub fn command_line(&self) -> String {
        shell_words::join(&self.argv())
    }
}

/// A running, ready server. Dropping it stops the process.
pub struct Server {
    pub name: String,
    pub port: u16,
    pub command_line: String,
    pub log_path: PathBuf,
    child: Child,
}

impl Server {
    /// Spawns the server with stdout/stderr sent to `log_path` and waits
    /// (bounded by READY_TIMEOUT) until it answers PING on `port`.
    pub fn start(spec: &ServerSpec, port: u16, log_path: &Path) -> Result<Server, String> {
        let argv = spec.argv();
        let command_line = shell_words::join(&argv);
        let log = File::create(log_path)
            .map_err(|e| format!("cannot create log {}: {e}", log_path.display()))?;
        let log2 = log
            .try_clone()
            .map_err(|e| format!("cannot dup log handle: {e}"))?;
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..])
            // Run inside the log directory so nothing the server writes
            // (dump.rdb, appendonlydir/, ...) lands in the caller's cwd.
            .current_dir(log_path.parent().unwrap_or(Path::new("/tmp")))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log2));
        arm_parent_death_signal(&mut cmd);
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot spawn {}: {e}\n  command: {command_line}", spec.name))?;
        let mut server = Server {
            name: spec.name.clone(),
            port,
            command_line,
            log_path: log_path.to_path_buf(),
            child,
        };
        // On error `server` is dropped here, which kills the child.
        server.wait_ready(READY_TIMEOUT)?;
        Ok(server)
    }

    /// OS pid of the server. With taskset the child execs the server in
    /// place, so this is the server's own pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// utime + stime of the server so far, in clock ticks.
    pub fn cpu_ticks(&self) -> Result<u64, String> {
        proc_stat::cpu_ticks(self.pid())
            .map_err(|e| format!("{}: cannot read /proc/{}/stat: {e}", self.name, self.pid()))
    }

    /// Errors out (with the log tail) if the server has exited.
    pub fn check_alive(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!(
                "{} exited unexpectedly ({status})\n  command: {}\n  log {}:\n{}",
                self.name,
                self.command_line,
                self.log_path.display(),
                log_tail(&self.log_path)
            )),
            Err(e) => Err(format!("{}: wait failed: {e}", self.name)),
        }
    }

    fn wait_ready(&mut self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let mut last_err = String::from("no attempt made");
        // Bounded: each iteration takes at least ~10 ms and the deadline is fixed.
        while Instant::now() < deadline {
            self.check_alive()?;
            match ping(addr, Duration::from_millis(500)) {
                Ok(()) => {
                    // Make sure the PONG came from our child and not from some
                    // other process that grabbed the port while ours failed.
                    std::thread::sleep(Duration::from_millis(10));
                    return self.check_alive();
                }
                Err(e) => last_err = e.to_string(),
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Err(format!(
            "{} did not answer PING with +PONG on 127.0.0.1:{} within {:?} (last error: {last_err})\n  command: {}\n  log {}:\n{}",
            self.name,
            self.port,
            timeout,
            self.command_line,
            self.log_path.display(),
            log_tail(&self.log_path)
        ))
    }

    fn stop(&mut self) {
        if !matches!(self.child.try_wait(), Ok(None)) {
            return;
        }
        // The child is not reaped yet, so its pid cannot have been reused.
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: kill(2) on our own unreaped child.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One inline `PING\r\n` round trip; Ok only if the reply is `+PONG`.
pub fn ping(addr: SocketAddr, timeout: Duration) -> io::Result<()> {
    let mut s = TcpStream::connect_timeout(&addr, timeout)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    s.write_all(b"PING\r\n")?;
    let mut buf = [0u8; 64];
    let mut got = Vec::new();
    // Bounded: at most 8 reads, each limited by the read timeout.
    for _ in 0..8 {
        let n = s.read(&mut buf)?;
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
        if got.starts_with(b"+PONG\r\n") {
            return Ok(());
        }
        if got.len() >= 7 || got.contains(&b'\n') {
            break;
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        format!("unexpected reply {:?}", String::from_utf8_lossy(&got)),
    ))
}

/// Makes the child receive SIGKILL if this process dies (even by SIGKILL),
/// so servers never outlive the harness. Survives taskset's exec.
pub fn arm_parent_death_signal(cmd: &mut Command) {
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: the closure only calls async-signal-safe functions (prctl,
    // getppid, _exit) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died before prctl took effect.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

/// Last few lines of a log file, indented, for error messages.
pub fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(15);
    let tail: Vec<String> = lines[start..].iter().map(|l| format!("    {l}")).collect();
    if tail.is_empty() {
        "    (empty)".into()
    } else {
        tail.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_distinct() {
        let p = free_ports(4).unwrap();
        for (i, a) in p.iter().enumerate() {
            assert_ne!(*a, 0);
            assert!(!p[i + 1..].contains(a));
        }
    }

    #[test]
    fn argv_with_and_without_taskset() {
        let mut spec = ServerSpec {
            name: "redis".into(),
            program: "redis-server".into(),
            args: vec!["--save".into(), "".into()],
            cpu: Some("0".into()),
        };
        assert_eq!(spec.command_line(), "taskset -c 0 redis-server --save ''");
        spec.cpu = None;
        assert_eq!(spec.command_line(), "redis-server --save ''");
    }

    #[test]
    fn ping_fails_fast_on_closed_port() {
        let port = free_ports(1).unwrap()[0];
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        assert!(ping(addr, Duration::from_millis(200)).is_err());
    }
}
