//! Runs one `redis-benchmark` invocation (optionally pinned with taskset)
//! against a port and extracts requests/second from its `--csv` output. Each
//! run is bounded by a timeout after which the client is killed. It must not
//! know about servers or CPU accounting (the caller samples /proc around
//! `run`), and must not invoke a shell: arguments go straight to execve.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::server::arm_parent_death_signal;
use crate::shell_words;

/// Parameters of one redis-benchmark invocation.
#[derive(Debug, Clone)]
pub struct BenchParams {
    pub benchmark: PathBuf,
    pub client_cpu: Option<String>,
    pub port: u16,
    pub clients: u32,
    pub requests: u64,
    pub pipeline: u32,
    pub test: String,
    pub keyspace: u64,
    pub data_size: u32,
}

/// The script the `eval` and `evalsha` tests run.
pub const RATE_LIMIT_SCRIPT: &str = "local v = redis.call('incr', KEYS[1]) \
    if v == 1 then redis.call('expire', KEYS[1], 60) end return v";
/// Its SHA1 (a test checks it).
pub const RATE_LIMIT_SHA: &str = "ff193a6a5c2c5ee05768ea0e827fd71c813b035b";

/// Tests redis-benchmark has no `-t` name for, run as a command line instead (its CSV row is
/// that command). They read `myzset`, which redis-benchmark's own `zadd` test fills with
/// `element:__rand_int__` members scored `__rand_int__`.
pub fn custom_command(test: &str) -> Option<&'static [&'static str]> {
    match test {
        // A score lookup (random start) then ten entries: ZRANGE's BYSCORE + LIMIT path.
        "zrange" => Some(&[
            "ZRANGE",
            "myzset",
            "__rand_int__",
            "+inf",
            "BYSCORE",
            "LIMIT",
            "0",
            "10",
        ]),
        "zrank" => Some(&["ZRANK", "myzset", "element:__rand_int__"]),
        // A small script (a fixed-window rate limiter's step) by SHA: `eval` runs it by body
        // first, which loads it on the server.
        "evalsha" => Some(&["EVALSHA", RATE_LIMIT_SHA, "1", "rl:__rand_int__"]),
        "eval" => Some(&["EVAL", RATE_LIMIT_SCRIPT, "1", "rl:__rand_int__"]),
        _ => None,
    }
}

impl BenchParams {
    /// `[taskset -c CPU] redis-benchmark -h 127.0.0.1 -p PORT -c C -n N -P D
    /// -t TEST -r KEYSPACE -d SIZE --csv -q`, or with the test's command line
    /// (`custom_command`) in place of `-t TEST`.
    pub fn argv(&self) -> Vec<String> {
        let mut v = Vec::new();
        if let Some(cpu) = &self.client_cpu {
            v.extend(["taskset".to_string(), "-c".to_string(), cpu.clone()]);
        }
        v.push(self.benchmark.to_string_lossy().into_owned());
        let s = |x: &str| x.to_string();
        v.extend([
            s("-h"),
            s("127.0.0.1"),
            s("-p"),
            self.port.to_string(),
            s("-c"),
            self.clients.to_string(),
            s("-n"),
            self.requests.to_string(),
            s("-P"),
            self.pipeline.to_string(),
        ]);
        let custom = custom_command(&self.test);
        if custom.is_none() {
            v.extend([s("-t"), self.test.clone()]);
        }
        v.extend([
            s("-r"),
            self.keyspace.to_string(),
            s("-d"),
            self.data_size.to_string(),
            s("--csv"),
            s("-q"),
        ]);
        v.extend(custom.unwrap_or_default().iter().map(|w| w.to_string()));
        v
    }

    pub fn command_line(&self) -> String {
        shell_words::join(&self.argv())
    }
}

/// Result of one run.
#[derive(Debug, Clone)]
pub struct RunOutput {
    pub rps: f64,
    pub wall: Duration,
    /// Non-empty stderr lines (e.g. "WARNING: Could not fetch server CONFIG").
    pub warnings: Vec<String>,
}

/// Runs redis-benchmark to completion (or until `timeout`, then kills it).
pub fn run(p: &BenchParams, timeout: Duration) -> Result<RunOutput, String> {
    let argv = p.argv();
    let line = shell_words::join(&argv);
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    arm_parent_death_signal(&mut cmd);
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot spawn redis-benchmark: {e}\n  command: {line}"))?;
    // Drain both pipes on threads so a chatty child can never block on a full pipe.
    let mut out_pipe = child.stdout.take().expect("stdout piped");
    let mut err_pipe = child.stderr.take().expect("stderr piped");
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out_pipe.read_to_string(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err_pipe.read_to_string(&mut s);
        s
    });
    let deadline = start + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "redis-benchmark timed out after {timeout:?}\n  command: {line}"
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => return Err(format!("waiting for redis-benchmark: {e}")),
        }
    };
    let wall = start.elapsed();
    let stdout = out_t.join().unwrap_or_default();
    let stderr = err_t.join().unwrap_or_default();
    if !status.success() {
        return Err(format!(
            "redis-benchmark failed ({status})\n  command: {line}\n  stdout: {}\n  stderr: {}",
            stdout.trim(),
            stderr.trim()
        ));
    }
    let rps = parse_csv_rps(&stdout, &p.test).map_err(|e| {
        format!(
            "{e}\n  command: {line}\n  stdout: {}\n  stderr: {}",
            stdout.trim(),
            stderr.trim()
        )
    })?;
    let warnings = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    Ok(RunOutput {
        rps,
        wall,
        warnings,
    })
}

/// Extracts the `rps` column for `test` from redis-benchmark `--csv` output.
///
/// redis-benchmark 6.2+ prints a header `"test","rps",...` then one quoted
/// row per test; older versions print `"SET","123.45"` without a header. The
/// row is matched by upper-cased test name; if there is exactly one data row
/// it is used regardless of name (e.g. `-t ping` reports `PING_INLINE`).
/// Splits one CSV line into cells, honouring quotes (a custom test's command line, the first
/// cell, may hold commas) and `""` escapes.
fn csv_cells(line: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => cells.push(std::mem::take(&mut cur).trim().to_string()),
            c => cur.push(c),
        }
    }
    cells.push(cur.trim().to_string());
    cells
}

pub fn parse_csv_rps(stdout: &str, test: &str) -> Result<f64, String> {
    let mut rps_col = 1;
    let mut rows: Vec<Vec<String>> = Vec::new();
    for line in stdout.lines() {
        // Progress output uses '\r'; keep only the last segment of a line.
        let line = line.rsplit('\r').next().unwrap_or("").trim();
        if !line.starts_with('"') {
            continue;
        }
        let cells = csv_cells(line);
        if cells.first().map(String::as_str) == Some("test") {
            if let Some(i) = cells.iter().position(|c| c == "rps") {
                rps_col = i;
            }
            continue;
        }
        rows.push(cells);
    }
    let want = test.to_ascii_uppercase();
    let row = match rows.iter().find(|r| r[0] == want) {
        Some(r) => r,
        None if rows.len() == 1 => &rows[0],
        None => {
            return Err(format!(
                "no CSV row for test {want:?} in redis-benchmark output"
            ))
        }
    };
    let cell = row
        .get(rps_col)
        .ok_or_else(|| format!("CSV row {row:?} has no column {rps_col}"))?;
    let rps: f64 = cell
        .parse()
        .map_err(|_| format!("CSV rps value {cell:?} is not a number"))?;
    if !(rps.is_finite() && rps > 0.0) {
        return Err(format!("CSV rps value {rps} is not positive"));
    }
    Ok(rps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_evalsha_test_names_its_script() {
        let sha = sha1_smol::Sha1::from(RATE_LIMIT_SCRIPT)
            .digest()
            .to_string();
        assert_eq!(sha, RATE_LIMIT_SHA);
    }

    #[test]
    fn a_command_line_with_commas_is_one_cell() {
        let out = "\"test\",\"rps\"\n\"EVAL return redis.call('incr', KEYS[1]) 1 k\",\"2.50\"\n";
        assert_eq!(parse_csv_rps(out, "evalsha").unwrap(), 2.5);
    }

    #[test]
    fn parses_redis7_csv() {
        let out = "\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\"\n\
                   \"SET\",\"625000.00\",\"1.153\",\"0.168\"\n";
        assert_eq!(parse_csv_rps(out, "set").unwrap(), 625000.0);
        assert_eq!(parse_csv_rps(out, "get").unwrap(), 625000.0);
    }

    #[test]
    fn parses_old_csv_and_picks_named_row() {
        let out = "\"SET\",\"100.5\"\n\"GET\",\"200.25\"\n";
        assert_eq!(parse_csv_rps(out, "get").unwrap(), 200.25);
        assert!(parse_csv_rps(out, "incr").is_err());
        assert!(parse_csv_rps("", "get").is_err());
        assert!(parse_csv_rps("\"GET\",\"nan\"\n", "get").is_err());
    }

    #[test]
    fn argv_shape() {
        let p = BenchParams {
            benchmark: "redis-benchmark".into(),
            client_cpu: Some("1".into()),
            port: 7000,
            clients: 50,
            requests: 1000,
            pipeline: 16,
            test: "get".into(),
            keyspace: 100_000,
            data_size: 16,
        };
        assert_eq!(
            p.command_line(),
            "taskset -c 1 redis-benchmark -h 127.0.0.1 -p 7000 -c 50 -n 1000 -P 16 -t get -r 100000 -d 16 --csv -q"
        );
        let z = BenchParams {
            test: "zrank".into(),
            ..p
        };
        assert_eq!(
            z.command_line(),
            "taskset -c 1 redis-benchmark -h 127.0.0.1 -p 7000 -c 50 -n 1000 -P 16 -r 100000 -d 16 --csv -q ZRANK myzset element:__rand_int__"
        );
    }
}
