//! The `compare` subcommand: starts redis-server and darter side by side on
//! free loopback ports (both pinned to the server CPU), pre-populates what a
//! test reads or pops (keys for GET, `mylist` for LPOP/RPOP; see `Leftovers`),
//! then for every (test, pipeline) runs `rounds` rounds that alternate
//! which server goes first, sampling each server's CPU time from /proc right
//! before and after every redis-benchmark run. It prints the report and writes
//! `<results-dir>/<test>-latest.md`. It must not leave servers running (the
//! `Server` guards are dropped on every return path) and every wait is bounded.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::args::CompareOpts;
use crate::machine;
use crate::proc_stat;
use crate::report::{self, Context, Role, Sample};
use crate::runner::{self, BenchParams};
use crate::server::{self, Server, ServerSpec};

/// Requests used to pre-populate the keyspace before GET runs (pipelined SET,
/// ten times the keyspace so practically every key exists).
fn populate_requests(keyspace: u64) -> u64 {
    keyspace.saturating_mul(10).max(100_000)
}

/// What earlier runs left in both servers (they get the same runs), so a
/// test that reads or pops data is measured on hits, never on an empty
/// keyspace: GET needs the `key:__rand_int__` keys that SET writes, and
/// LPOP/RPOP pop from the one list `mylist` that LPUSH/RPUSH fill (one
/// element per request). redis-benchmark can overshoot `-n` by up to
/// clients x pipeline requests, so pushes count `-n` and pops count
/// `-n` plus that overshoot: the estimate of `mylist`'s length never exceeds
/// the real one.
#[derive(Debug, Default, Clone, PartialEq)]
struct Leftovers {
    keys_populated: bool,
    list_len: u64,
    /// `myzset` holds (nearly) every `element:N` of the keyspace (ZRANGE and ZRANK read it).
    zset_populated: bool,
    /// The `evalsha` test's script was run by body (`eval`), so the server has it.
    script_loaded: bool,
}

impl Leftovers {
    /// The unmeasured run (test, requests at pipeline 16) that `test` needs
    /// before its measured runs, or None if enough data is there already.
    fn populate_for(&self, test: &str, opts: &CompareOpts) -> Option<(&'static str, u64)> {
        match test {
            "get" if !self.keys_populated => Some(("set", populate_requests(opts.keyspace))),
            "zrange" | "zrank" if !self.zset_populated => {
                Some(("zadd", populate_requests(opts.keyspace)))
            }
            "evalsha" if !self.script_loaded => Some(("eval", 1000)),
            "lpop" | "rpop" => {
                let need: u64 = opts
                    .pipelines
                    .iter()
                    .map(|&p| {
                        u64::from(opts.rounds)
                            * (opts.requests_for(p) + u64::from(opts.clients) * u64::from(p))
                    })
                    .sum();
                (self.list_len < need).then(|| ("lpush", need - self.list_len))
            }
            _ => None,
        }
    }

    /// Accounts for one run (measured or not) of `test`.
    fn after_run(&mut self, test: &str, requests: u64, pipeline: u32, opts: &CompareOpts) {
        match test {
            "set" if requests >= populate_requests(opts.keyspace) => self.keys_populated = true,
            "zadd" if requests >= populate_requests(opts.keyspace) => self.zset_populated = true,
            "eval" => self.script_loaded = true,
            "lpush" | "rpush" => self.list_len += requests,
            "lpop" | "rpop" => {
                let most = requests + u64::from(opts.clients) * u64::from(pipeline);
                self.list_len = self.list_len.saturating_sub(most);
            }
            _ => {}
        }
    }
}

/// The darter binary (`--darter`, else the workspace's release build) and redis-server, both
/// resolved to paths, with how to get each when it is missing.
pub fn resolve_servers(darter: Option<&Path>, redis: &Path) -> Result<(PathBuf, PathBuf), String> {
    let darter_path = match darter {
        Some(p) => p.to_path_buf(),
        None => workspace_root().join("target/release/darter"),
    };
    let darter_bin = resolve_program(&darter_path).map_err(|e| {
        format!(
            "{e}\n  build it with `cargo build --release -p darter-server` or pass --darter PATH"
        )
    })?;
    let redis_bin = resolve_program(redis)
        .map_err(|e| format!("{e}\n  install it with `apt-get install redis-server`"))?;
    Ok((darter_bin, redis_bin))
}

pub fn run(opts: &CompareOpts) -> Result<(), String> {
    let (darter_bin, redis_bin) = resolve_servers(opts.darter.as_deref(), &opts.redis)?;
    let bench_bin = resolve_program(&opts.benchmark)
        .map_err(|e| format!("{e}\n  install it with `apt-get install redis-tools`"))?;
    if opts.server_cpu.is_some() || opts.client_cpu.is_some() {
        resolve_program(Path::new("taskset"))
            .map_err(|e| format!("{e}\n  install util-linux or pass --no-pin"))?;
    }
    let results_dir = opts
        .results_dir
        .clone()
        .unwrap_or_else(|| workspace_root().join("bench/results"));

    let log_dir = std::env::temp_dir().join(format!("darter-bench-{}", std::process::id()));
    std::fs::create_dir_all(&log_dir)
        .map_err(|e| format!("cannot create {}: {e}", log_dir.display()))?;

    let ports = server::free_ports(2).map_err(|e| format!("cannot pick free ports: {e}"))?;
    let redis_spec = ServerSpec::redis(
        &redis_bin,
        ports[0],
        &opts.redis_args,
        opts.server_cpu.clone(),
    );
    let mut darter_args = vec!["--port".to_string(), ports[1].to_string()];
    if opts.darter_threads_flag {
        darter_args.extend(["--proactor_threads".to_string(), "1".to_string()]);
    }
    darter_args.extend(opts.darter_args.iter().cloned());
    let darter_spec = ServerSpec {
        name: "darter".into(),
        program: darter_bin,
        args: darter_args,
        cpu: opts.server_cpu.clone(),
    };

    let mut ctx = Context {
        machine: machine::collect(),
        redis_version: machine::tool_version(&redis_bin),
        benchmark_version: machine::tool_version(&bench_bin),
        rounds: opts.rounds,
        clients: opts.clients,
        keyspace: opts.keyspace,
        data_size: opts.data_size,
        server_cpu: opts.server_cpu.clone(),
        client_cpu: opts.client_cpu.clone(),
        clk_tck: proc_stat::clock_ticks_per_sec(),
        load_before: machine::loadavg(),
        load_after: String::new(),
        commands: vec![
            ("redis server".into(), redis_spec.command_line()),
            ("darter server".into(), darter_spec.command_line()),
        ],
        warnings: Vec::new(),
    };
    if ctx.machine.nproc < 2 && opts.server_cpu.is_some() {
        eprintln!(
            "warning: only {} CPU available; server and client will share it",
            ctx.machine.nproc
        );
    }

    eprintln!("starting: {}", redis_spec.command_line());
    let mut redis = Server::start(&redis_spec, ports[0], &log_dir.join("redis.log"))?;
    eprintln!("starting: {}", darter_spec.command_line());
    let mut darter = Server::start(&darter_spec, ports[1], &log_dir.join("darter.log"))?;
    eprintln!(
        "both ready (redis pid {} port {}, darter pid {} port {}); logs in {}",
        redis.pid(),
        redis.port,
        darter.pid(),
        darter.port,
        log_dir.display()
    );

    let timeout = Duration::from_secs(opts.run_timeout_secs);
    let params = |port: u16, test: &str, pipeline: u32, requests: u64| BenchParams {
        benchmark: bench_bin.clone(),
        client_cpu: opts.client_cpu.clone(),
        port,
        clients: opts.clients,
        requests,
        pipeline,
        test: test.to_string(),
        keyspace: opts.keyspace,
        data_size: opts.data_size,
    };

    let mut samples: Vec<Sample> = Vec::new();
    let mut left = Leftovers::default();
    for test in &opts.tests {
        if let Some((fill, requests)) = left.populate_for(test, opts) {
            for srv in [&mut redis, &mut darter] {
                let p = params(srv.port, fill, 16, requests);
                ctx.commands
                    .push((populate_label(&srv.name, test), p.command_line()));
                eprintln!(
                    "populating {} for {test}: {requests} pipelined {}",
                    srv.name,
                    fill.to_ascii_uppercase()
                );
                srv.check_alive()?;
                let out = runner::run(&p, timeout)?;
                note_warnings(&mut ctx.warnings, &srv.name, &out.warnings);
                srv.check_alive()?;
            }
            left.after_run(fill, requests, 16, opts);
        }
        for &pipeline in &opts.pipelines {
            let requests = opts.requests_for(pipeline);
            for srv in [&redis, &darter] {
                ctx.commands.push((
                    format!("{test} -P {pipeline} against {}", srv.name),
                    params(srv.port, test, pipeline, requests).command_line(),
                ));
            }
            for round in 0..opts.rounds {
                let order = if round % 2 == 0 {
                    [Role::Redis, Role::Darter]
                } else {
                    [Role::Darter, Role::Redis]
                };
                for (pos, role) in order.into_iter().enumerate() {
                    let srv = match role {
                        Role::Redis => &mut redis,
                        Role::Darter => &mut darter,
                    };
                    let p = params(srv.port, test, pipeline, requests);
                    let s = measure(srv, &p, timeout, ctx.clk_tck, &mut ctx.warnings)?;
                    let sample = Sample {
                        test: test.clone(),
                        pipeline,
                        round,
                        role,
                        order: pos as u32,
                        requests,
                        rps: s.0,
                        cpu_secs: s.1,
                        wall_secs: s.2,
                    };
                    eprintln!(
                        "[{test} P={pipeline} round {}/{}] {:<6} {:>10.0} ops/s  {:>7.3} us/req CPU  ({:.2} s)",
                        round + 1,
                        opts.rounds,
                        role.label(),
                        sample.rps,
                        sample.cpu_us_per_req(),
                        sample.wall_secs
                    );
                    samples.push(sample);
                }
                left.after_run(test, requests, pipeline, opts);
            }
        }
    }
    // Stop servers before writing anything so nothing lingers on a write error.
    drop(darter);
    drop(redis);
    ctx.load_after = machine::loadavg();

    let full = report::render("darter vs redis-server", &ctx, &samples);
    println!("{full}");
    for test in &opts.tests {
        let subset: Vec<Sample> = samples
            .iter()
            .filter(|s| &s.test == test)
            .cloned()
            .collect();
        let mut tctx = ctx.clone();
        tctx.commands.retain(|(label, _)| {
            label.ends_with("server")
                || label == &populate_label("redis", test)
                || label == &populate_label("darter", test)
                || label.starts_with(&format!("{test} "))
        });
        let text = report::render(&format!("darter vs redis-server: {test}"), &tctx, &subset);
        let path = report::write_atomic(&results_dir, &format!("{test}-latest.md"), &text)?;
        eprintln!("wrote {}", path.display());
    }
    let _ = std::fs::remove_dir_all(&log_dir);
    Ok(())
}

fn populate_label(server: &str, test: &str) -> String {
    format!("populate {server} for {test} (not measured)")
}

/// One measured run: (ops/s, server CPU seconds, wall seconds).
fn measure(
    srv: &mut Server,
    p: &BenchParams,
    timeout: Duration,
    clk_tck: u64,
    warnings: &mut Vec<String>,
) -> Result<(f64, f64, f64), String> {
    srv.check_alive()?;
    let before = srv.cpu_ticks()?;
    let out = runner::run(p, timeout)?;
    let after = srv.cpu_ticks()?;
    srv.check_alive()?;
    note_warnings(warnings, &srv.name, &out.warnings);
    let cpu_secs = after.saturating_sub(before) as f64 / clk_tck as f64;
    Ok((out.rps, cpu_secs, out.wall.as_secs_f64()))
}

fn note_warnings(all: &mut Vec<String>, server: &str, new: &[String]) {
    for w in new {
        let line = format!("{server}: {w}");
        if !all.contains(&line) {
            eprintln!("redis-benchmark warning ({line})");
            all.push(line);
        }
    }
}

/// The workspace root, derived from this crate's location at build time.
pub(crate) fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(Path::parent)
        .map_or_else(|| manifest.to_path_buf(), Path::to_path_buf)
}

/// Finds an executable: paths containing '/' are checked as given, bare names
/// are looked up in $PATH. Returns the path to run.
pub(crate) fn resolve_program(p: &Path) -> Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    let is_exec = |c: &Path| {
        c.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    };
    if p.as_os_str().to_string_lossy().contains('/') {
        return if is_exec(p) {
            // Absolute (without resolving symlinks) because servers run with
            // their log directory as the working directory.
            std::path::absolute(p).map_err(|e| format!("{}: {e}", p.display()))
        } else {
            Err(format!(
                "{} does not exist or is not executable",
                p.display()
            ))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(p))
        .find(|c| is_exec(c))
        .and_then(|c| std::path::absolute(c).ok())
        .ok_or_else(|| format!("{} not found in PATH", p.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_programs() {
        assert!(resolve_program(Path::new("sh")).is_ok());
        assert!(resolve_program(Path::new("/definitely/not/here")).is_err());
        assert!(resolve_program(Path::new("no-such-program-xyz")).is_err());
    }

    #[test]
    fn pops_run_on_a_filled_list() {
        let opts = CompareOpts {
            tests: vec!["lpush".into(), "lpop".into(), "hset".into(), "sadd".into()],
            ..CompareOpts::default()
        };
        // Per round: 200000 + 50 at -P 1, 2000000 + 800 at -P 16.
        let per_round = 200_050 + 2_000_800;
        let mut left = Leftovers::default();
        assert_eq!(
            left.populate_for("lpop", &opts),
            Some(("lpush", 3 * per_round))
        );
        assert_eq!(left.populate_for("hset", &opts), None);
        assert_eq!(left.populate_for("sadd", &opts), None);
        // LPUSH measured first: its runs push 3 x (200000 + 2000000), so only
        // the overshoot margin is still missing.
        for _ in 0..3 {
            left.after_run("lpush", 200_000, 1, &opts);
            left.after_run("lpush", 2_000_000, 16, &opts);
        }
        assert_eq!(left.populate_for("lpop", &opts), Some(("lpush", 3 * 850)));
        left.after_run("lpush", 3 * 850, 16, &opts);
        assert_eq!(left.populate_for("rpop", &opts), None);
        // Popping drains the estimate; a second pop test fills again.
        left.after_run("lpop", 200_000, 1, &opts);
        assert!(left.populate_for("lpop", &opts).is_some());
    }

    #[test]
    fn get_is_populated_once() {
        let opts = CompareOpts::default();
        let mut left = Leftovers::default();
        assert_eq!(left.populate_for("get", &opts), Some(("set", 1_000_000)));
        assert_eq!(left.populate_for("zrank", &opts), Some(("zadd", 1_000_000)));
        left.after_run("zadd", 1_000_000, 16, &opts);
        assert_eq!(left.populate_for("zrange", &opts), None);
        left.after_run("set", 1_000_000, 16, &opts);
        assert_eq!(left.populate_for("get", &opts), None);
        let mut left = Leftovers::default();
        left.after_run("set", 200_000, 1, &opts);
        assert!(
            left.populate_for("get", &opts).is_some(),
            "a short SET run is not enough"
        );
    }

    #[test]
    fn workspace_root_has_bench_dir() {
        assert!(workspace_root().join("crates/bench").is_dir());
    }
}
