//! The `memory` subcommand: for every shape (`string:16`, `hash:1000x1000`,
//! ...), starts a fresh redis-server and then a fresh darter (one at a time,
//! each on a new free loopback port), samples the empty server's memory, loads
//! the shape through the protocol with the pipelined loader, checks DBSIZE and
//! a few keys' TYPE and member count, waits (bounded) for the resident set to
//! stop moving, samples /proc and `INFO memory` again, and stops the server.
//! It prints a Markdown report and writes `<results-dir>/memory-latest.md`.
//! Identical work for both servers: same keys, same members, same batches. It must not leave servers running (the
//! `Server` guard is dropped on every path), and every wait is bounded.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::args::MemoryOpts;
use crate::compare::{resolve_program, resolve_servers, workspace_root};
use crate::loader::{self, LoadParams, LoadStats};
use crate::machine::{self, MachineInfo};
use crate::proc_mem::{self, MemSample};
use crate::report::{self, Role};
use crate::resp_client::{self, info_u64, Conn, Reply};
use crate::server::{self, Server, ServerSpec};
use crate::shapes::Shape;
use crate::shell_words;

/// Interval between RSS samples while waiting for memory to settle.
const SETTLE_STEP: Duration = Duration::from_millis(250);
/// Samples that must agree (within `settle_tolerance`) to call RSS settled.
const SETTLE_SAMPLES: usize = 5;
/// Upper bound on the settle wait; the last sample is used if RSS still moves.
const SETTLE_MAX: Duration = Duration::from_secs(15);

const MIB: f64 = 1024.0 * 1024.0;

/// Everything measured for one (server, shape).
#[derive(Debug, Clone)]
pub struct Measurement {
    pub role: Role,
    pub shape: Shape,
    pub command_line: String,
    /// Right after the server answered PING (empty keyspace), settled.
    pub baseline: MemSample,
    /// After loading the shape, settled.
    pub loaded: MemSample,
    /// Seconds until `loaded` stopped moving (or `SETTLE_MAX`).
    pub settle_secs: f64,
    pub used_memory_before: Option<u64>,
    pub used_memory: Option<u64>,
    pub used_memory_rss: Option<u64>,
    pub dbsize: u64,
    pub load: LoadStats,
}

impl Measurement {
    fn rss_delta(&self) -> f64 {
        self.loaded.vm_rss as f64 - self.baseline.vm_rss as f64
    }

    /// (RSS after load - RSS when empty) / keys.
    pub fn rss_bytes_per_key(&self) -> f64 {
        self.rss_delta() / self.shape.keys as f64
    }

    /// (RSS after load - RSS when empty) / members over all keys.
    pub fn rss_bytes_per_member(&self) -> f64 {
        self.rss_delta() / self.shape.total_members() as f64
    }

    /// (used_memory after load - used_memory when empty) / keys.
    pub fn used_bytes_per_key(&self) -> Option<f64> {
        Some((self.used_memory? as f64 - self.used_memory_before? as f64) / self.shape.keys as f64)
    }

    /// Members loaded per second of load wall time.
    pub fn members_per_sec(&self) -> f64 {
        self.shape.total_members() as f64 / self.load.wall.as_secs_f64()
    }

    /// darter reports its RSS as `used_memory` (it has no allocator
    /// accounting yet); detect that so the report does not compare the two.
    pub fn used_memory_is_rss(&self) -> bool {
        self.used_memory.is_some() && self.used_memory == self.used_memory_rss
    }
}

/// Everything the report shows besides the measurements.
#[derive(Debug, Clone)]
pub struct MemContext {
    pub machine: MachineInfo,
    pub redis_version: Option<String>,
    pub darter_version: Option<String>,
    pub connections: usize,
    pub batch: u64,
    pub members_per_command: u64,
    pub invocation: String,
    pub load_before: String,
    pub load_after: String,
    /// (label, command line) in execution order.
    pub commands: Vec<(String, String)>,
}

pub fn run(opts: &MemoryOpts) -> Result<(), String> {
    let (darter_bin, redis_bin) = resolve_servers(opts.darter.as_deref(), &opts.redis)?;
    if opts.server_cpu.is_some() {
        resolve_program(Path::new("taskset"))
            .map_err(|e| format!("{e}\n  install util-linux or drop --server-cpu"))?;
    }
    let results_dir = opts
        .results_dir
        .clone()
        .unwrap_or_else(|| workspace_root().join("bench/results"));
    let log_dir = std::env::temp_dir().join(format!("darter-bench-mem-{}", std::process::id()));
    std::fs::create_dir_all(&log_dir)
        .map_err(|e| format!("cannot create {}: {e}", log_dir.display()))?;

    let redis_spec =
        |port: u16| ServerSpec::redis(&redis_bin, port, &opts.redis_args, opts.server_cpu.clone());
    let darter_spec = |port: u16| {
        let mut args = vec!["--port".to_string(), port.to_string()];
        if let Some(n) = opts.darter_threads {
            args.extend(["--proactor_threads".to_string(), n.to_string()]);
        }
        args.extend(opts.darter_args.iter().cloned());
        ServerSpec {
            name: "darter".into(),
            program: darter_bin.clone(),
            args,
            cpu: opts.server_cpu.clone(),
        }
    };

    let argv: Vec<String> = std::env::args().collect();
    let mut ctx = MemContext {
        machine: machine::collect(),
        redis_version: machine::tool_version(&redis_bin),
        darter_version: machine::tool_version(&darter_bin),
        connections: opts.connections,
        batch: opts.batch,
        members_per_command: opts.members_per_command,
        invocation: shell_words::join(&argv),
        load_before: machine::loadavg(),
        load_after: String::new(),
        commands: Vec::new(),
    };

    let mut results = Vec::new();
    for shape in &opts.shapes {
        let label = shape.label();
        for role in [Role::Redis, Role::Darter] {
            let port = server::free_ports(1).map_err(|e| format!("cannot pick a port: {e}"))?[0];
            let spec = match role {
                Role::Redis => redis_spec(port),
                Role::Darter => darter_spec(port),
            };
            ctx.commands
                .push((format!("{} for {label}", role.label()), spec.command_line()));
            let log = log_dir.join(format!("{}-{}.log", role.label(), label.replace(':', "-")));
            let m = measure_one(&spec, role, port, &log, shape, opts)?;
            eprintln!(
                "[{label}] {:<6} RSS {:.1} MiB -> {:.1} MiB ({:.1} B/key, {:.1} B/member), \
                 used_memory {}, loaded in {:.2} s ({:.0} members/s)",
                role.label(),
                m.baseline.vm_rss as f64 / MIB,
                m.loaded.vm_rss as f64 / MIB,
                m.rss_bytes_per_key(),
                m.rss_bytes_per_member(),
                opt_mib(m.used_memory),
                m.load.wall.as_secs_f64(),
                m.members_per_sec()
            );
            results.push(m);
        }
    }
    ctx.load_after = machine::loadavg();
    let text = render(&ctx, &results);
    println!("{text}");
    let path = report::write_atomic(&results_dir, "memory-latest.md", &text)?;
    eprintln!("wrote {}", path.display());
    let _ = std::fs::remove_dir_all(&log_dir);
    Ok(())
}

/// Starts one fresh server, loads it, samples it and stops it.
fn measure_one(
    spec: &ServerSpec,
    role: Role,
    port: u16,
    log: &Path,
    shape: &Shape,
    opts: &MemoryOpts,
) -> Result<Measurement, String> {
    let name = role.label();
    eprintln!("starting: {}", spec.command_line());
    let mut srv = Server::start(spec, port, log)?;
    let timeout = Duration::from_secs(10);
    let mut conn =
        Conn::connect(port, timeout).map_err(|e| format!("{name}: cannot connect: {e}"))?;
    let before = conn.dbsize().map_err(|e| format!("{name}: {e}"))?;
    if before != 0 {
        return Err(format!(
            "{name}: fresh server has {before} keys (DBSIZE), expected 0"
        ));
    }
    let (baseline, _) = settle(&mut srv)?;
    let used_memory_before = info_u64(&conn.info("memory")?, "used_memory");

    let label = shape.label();
    eprintln!(
        "loading {label} ({} keys, {} members) into {name} ({} connections, \
         {} members per write, {} per command)",
        shape.keys,
        shape.total_members(),
        opts.connections,
        opts.batch,
        opts.members_per_command
    );
    let load = loader::load(&LoadParams {
        port,
        shape: *shape,
        members_per_command: opts.members_per_command,
        connections: opts.connections,
        batch: opts.batch,
        timeout: Duration::from_secs(opts.load_timeout_secs),
    })
    .map_err(|e| format!("{name}: {e}"))?;
    srv.check_alive()?;

    let dbsize = conn.dbsize().map_err(|e| format!("{name}: {e}"))?;
    if dbsize != shape.keys {
        return Err(format!(
            "{name}: DBSIZE is {dbsize} after loading {label} ({} distinct keys, every write \
             answered as expected); the server lost or invented keys",
            shape.keys
        ));
    }
    let (loaded, settle_secs) = settle(&mut srv)?;
    let info = conn.info("memory")?;
    verify_keys(&mut conn, shape).map_err(|e| format!("{name}: {e}"))?;
    srv.check_alive()?;
    drop(conn);
    drop(srv);
    Ok(Measurement {
        role,
        shape: *shape,
        command_line: spec.command_line(),
        baseline,
        loaded,
        settle_secs,
        used_memory_before,
        used_memory: info_u64(&info, "used_memory"),
        used_memory_rss: info_u64(&info, "used_memory_rss"),
        dbsize,
        load,
    })
}

/// Spot-checks the first, middle and last key end to end: TYPE, and the
/// member count (HLEN, SCARD, LLEN, ZCARD) or, for strings, the exact value.
fn verify_keys(conn: &mut Conn, shape: &Shape) -> Result<(), String> {
    let mut picks = vec![0, shape.keys / 2, shape.keys - 1];
    picks.dedup();
    for i in picks {
        let key = resp_client::key_name(i);
        let mut ask = |args: &[&[u8]], want: Reply| match conn.command(args) {
            Ok(r) if r == want => Ok(()),
            other => Err(format!(
                "{} {key} returned {other:?}, expected {want:?}",
                String::from_utf8_lossy(args[0])
            )),
        };
        ask(
            &[b"TYPE", key.as_bytes()],
            Reply::Simple(shape.kind.type_reply().into()),
        )?;
        match shape.kind.len_command() {
            Some(cmd) => ask(&[cmd, key.as_bytes()], Reply::Int(shape.members as i64))?,
            None => ask(
                &[b"GET", key.as_bytes()],
                Reply::Bulk(Some(resp_client::value_of_size(shape.value_size))),
            )?,
        }
    }
    Ok(())
}

/// Samples memory every `SETTLE_STEP` until `SETTLE_SAMPLES` consecutive
/// VmRSS readings agree within tolerance (or `SETTLE_MAX` passes), so lazy
/// frees and allocator purging have happened. Returns the last sample and
/// how long it took.
fn settle(srv: &mut Server) -> Result<(MemSample, f64), String> {
    let start = Instant::now();
    let mut window: Vec<u64> = Vec::new();
    loop {
        srv.check_alive()?;
        let s = proc_mem::sample(srv.pid())
            .map_err(|e| format!("{}: cannot read /proc/{}: {e}", srv.name, srv.pid()))?;
        window.push(s.vm_rss);
        if window.len() > SETTLE_SAMPLES {
            window.remove(0);
        }
        if (window.len() == SETTLE_SAMPLES && is_settled(&window)) || start.elapsed() >= SETTLE_MAX
        {
            return Ok((s, start.elapsed().as_secs_f64()));
        }
        std::thread::sleep(SETTLE_STEP);
    }
}

/// True if all samples lie within max(256 KiB, 0.2 %) of each other.
pub fn is_settled(samples: &[u64]) -> bool {
    let (Some(&lo), Some(&hi)) = (samples.iter().min(), samples.iter().max()) else {
        return false;
    };
    hi - lo <= (256 * 1024).max(hi / 500)
}

fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / MIB)
}

fn opt_mib(bytes: Option<u64>) -> String {
    bytes.map_or_else(|| "n/a".into(), mib)
}

fn num(x: Option<f64>, decimals: usize) -> String {
    match x {
        Some(v) if v.is_finite() => format!("{v:.decimals$}"),
        _ => "n/a".into(),
    }
}

fn find<'a>(ms: &'a [Measurement], role: Role, shape: &Shape) -> Option<&'a Measurement> {
    ms.iter().find(|m| m.role == role && m.shape == *shape)
}

/// The main table: one row per shape, redis and darter side by side.
pub fn summary_table(ms: &[Measurement]) -> String {
    let mut shapes: Vec<Shape> = Vec::new();
    for m in ms {
        if !shapes.contains(&m.shape) {
            shapes.push(m.shape);
        }
    }
    let mut out = String::from(
        "| shape | keys | members | redis RSS (MiB) | darter RSS (MiB) | RSS ratio (darter/redis) \
         | redis bytes/key | darter bytes/key | redis bytes/member | darter bytes/member \
         | redis used_memory (MiB) | darter used_memory (MiB) |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for shape in shapes {
        let r = find(ms, Role::Redis, &shape);
        let d = find(ms, Role::Darter, &shape);
        let rss = |m: Option<&Measurement>| m.map(|m| m.loaded.vm_rss);
        let ratio = match (rss(d), rss(r)) {
            (Some(d), Some(r)) if r > 0 => Some(d as f64 / r as f64),
            _ => None,
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            shape.label(),
            shape.keys,
            shape.total_members(),
            opt_mib(rss(r)),
            opt_mib(rss(d)),
            num(ratio, 2),
            num(r.map(Measurement::rss_bytes_per_key), 1),
            num(d.map(Measurement::rss_bytes_per_key), 1),
            num(r.map(Measurement::rss_bytes_per_member), 1),
            num(d.map(Measurement::rss_bytes_per_member), 1),
            opt_mib(r.and_then(|m| m.used_memory)),
            opt_mib(d.and_then(|m| m.used_memory)),
        );
    }
    out
}

/// Every figure for every (server, shape), in the order measured.
pub fn detail_table(ms: &[Measurement]) -> String {
    let mut out = String::from(
        "| server | shape | empty VmRSS | loaded VmRSS | peak VmHWM | smaps Rss | smaps Pss \
         | smaps Anonymous | used_memory | used_memory_rss | used_memory bytes/key | DBSIZE \
         | load s | members/s | settled after s |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for m in ms {
        let secs = m.load.wall.as_secs_f64();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.2} | {:.0} | {:.2} |",
            m.role.label(),
            m.shape.label(),
            mib(m.baseline.vm_rss),
            mib(m.loaded.vm_rss),
            mib(m.loaded.vm_hwm),
            opt_mib(m.loaded.smaps_rss),
            opt_mib(m.loaded.smaps_pss),
            opt_mib(m.loaded.smaps_anon),
            opt_mib(m.used_memory),
            opt_mib(m.used_memory_rss),
            num(m.used_bytes_per_key(), 1),
            m.dbsize,
            secs,
            m.members_per_sec(),
            m.settle_secs,
        );
    }
    out
}

/// The whole Markdown document.
pub fn render(ctx: &MemContext, ms: &[Measurement]) -> String {
    let m = &ctx.machine;
    let mut out = String::from("# darter vs redis-server: memory\n\n");
    report::machine_lines(&mut out, m);
    let _ = writeln!(
        out,
        "- load average (1/5/15 min): {} before, {} after",
        ctx.load_before, ctx.load_after
    );
    if let Some(v) = &ctx.redis_version {
        let _ = writeln!(out, "- redis-server: {v}");
    }
    if let Some(v) = &ctx.darter_version {
        let _ = writeln!(out, "- darter: {v}");
    }
    let _ = writeln!(
        out,
        "- setup: a fresh server per (server, shape); keys `key:000000000000`.. (16 bytes each) \
         loaded over RESP with `SET key <x repeated>`, `HSET key field:<i> <16 x> ..`, \
         `SADD key member:<i> ..` (intset: `SADD key <i> ..`), `RPUSH key member:<i> ..` or \
         `ZADD key <i> member:<i> ..`; {} members per command, {} connections, about {} members \
         per pipelined write; every reply checked (+OK, or the count of members added), then \
         DBSIZE, and TYPE and HLEN/SCARD/LLEN/ZCARD (strings: GET) of the first, middle and last key",
        ctx.members_per_command, ctx.connections, ctx.batch
    );
    let _ = writeln!(
        out,
        "- RSS is VmRSS from /proc/PID/status once it stopped moving (5 samples 250 ms apart \
         within max(256 KiB, 0.2 %), at most {} s); bytes/key = (loaded RSS - empty RSS) / keys, \
         bytes/member = the same over all members of all keys (strings: one per key)",
        SETTLE_MAX.as_secs()
    );
    out.push_str("\n## Results\n\n");
    out.push_str(&summary_table(ms));
    out.push_str("\nRSS ratio < 1: darter holds the same data in less resident memory.\n");
    if ms
        .iter()
        .any(|m| m.role == Role::Darter && m.used_memory_is_rss())
    {
        out.push_str(
            "darter's INFO `used_memory` equals its `used_memory_rss` (darter does not count its \
             allocations yet), so it is RSS, not comparable with redis's `used_memory` (bytes \
             allocated through jemalloc).\n",
        );
    }
    out.push_str("\n## Details (MiB unless noted)\n\n");
    out.push_str(&detail_table(ms));
    out.push_str("\n## Commands\n\n```sh\n");
    let _ = writeln!(out, "# this run\n{}", ctx.invocation);
    for (label, cmd) in &ctx.commands {
        let _ = writeln!(out, "# {label}\n{cmd}");
    }
    out.push_str("```\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meas(role: Role, size: usize, base: u64, loaded: u64, used: Option<u64>) -> Measurement {
        meas_shape(role, Shape::string(1000, size), base, loaded, used)
    }

    fn meas_shape(
        role: Role,
        shape: Shape,
        base: u64,
        loaded: u64,
        used: Option<u64>,
    ) -> Measurement {
        Measurement {
            role,
            shape,
            command_line: "x".into(),
            baseline: MemSample {
                vm_rss: base,
                vm_hwm: base,
                ..MemSample::default()
            },
            loaded: MemSample {
                vm_rss: loaded,
                vm_hwm: loaded,
                smaps_rss: Some(loaded),
                smaps_pss: None,
                smaps_anon: Some(loaded / 2),
            },
            settle_secs: 1.0,
            used_memory_before: used.map(|_| 1000),
            used_memory: used,
            used_memory_rss: Some(loaded),
            dbsize: 1000,
            load: LoadStats {
                commands: 1000,
                bytes_sent: 1,
                wall: Duration::from_millis(500),
            },
        }
    }

    #[test]
    fn bytes_per_key_and_rss_detection() {
        let r = meas(Role::Redis, 16, 1_000_000, 1_120_000, Some(101_000));
        assert_eq!(r.rss_bytes_per_key(), 120.0);
        assert_eq!(r.used_bytes_per_key(), Some(100.0));
        assert!(!r.used_memory_is_rss());
        let d = meas(Role::Darter, 16, 1_000_000, 1_100_000, Some(1_100_000));
        assert!(d.used_memory_is_rss());
        let n = meas(Role::Darter, 16, 1_000_000, 1_100_000, None);
        assert_eq!(n.used_bytes_per_key(), None);
        assert!(!n.used_memory_is_rss());
    }

    #[test]
    fn summary_rows() {
        let ms = vec![
            meas(Role::Redis, 16, 8 << 20, 108 << 20, Some(90 << 20)),
            meas(Role::Darter, 16, 4 << 20, 79 << 20, None),
            meas(Role::Redis, 100, 8 << 20, 208 << 20, Some(190 << 20)),
        ];
        let t = summary_table(&ms);
        assert!(
            t.contains(
                "| string:16 | 1000 | 1000 | 108.0 | 79.0 | 0.73 | 104857.6 | 78643.2 \
                 | 104857.6 | 78643.2 | 90.0 | n/a |"
            ),
            "{t}"
        );
        assert!(
            t.contains(
                "| string:100 | 1000 | 1000 | 208.0 | n/a | n/a | 209715.2 | n/a | 209715.2 \
                 | n/a | 190.0 | n/a |"
            ),
            "{t}"
        );
        let d = detail_table(&ms);
        assert_eq!(d.lines().count(), 2 + 3, "{d}");
        assert!(d.contains("| darter | string:16 | 4.0 | 79.0 | 79.0 | 79.0 | n/a | 39.5 | n/a |"));
    }

    #[test]
    fn per_member_figures_for_collections() {
        let shape = Shape::parse("set:10x1000", 1).unwrap();
        let ms = vec![
            meas_shape(Role::Redis, shape, 1 << 20, (1 << 20) + 800_000, Some(5)),
            meas_shape(Role::Darter, shape, 1 << 20, (1 << 20) + 400_000, None),
        ];
        assert_eq!(ms[0].rss_bytes_per_key(), 80_000.0);
        assert_eq!(ms[0].rss_bytes_per_member(), 80.0);
        let t = summary_table(&ms);
        assert!(t.contains("| set:10x1000 | 10 | 10000 |"), "{t}");
        assert!(t.contains("| 80000.0 | 40000.0 | 80.0 | 40.0 |"), "{t}");
        assert!(detail_table(&ms).contains("| redis | set:10x1000 |"));
    }

    #[test]
    fn render_mentions_rss_proxy() {
        let ctx = MemContext {
            machine: machine::collect(),
            redis_version: Some("Redis server v=7".into()),
            darter_version: None,
            connections: 4,
            batch: 1000,
            members_per_command: 100,
            invocation: "darter-bench memory".into(),
            load_before: "0 0 0".into(),
            load_after: "0 0 0".into(),
            commands: vec![("redis".into(), "redis-server --port 1".into())],
        };
        let ms = vec![
            meas(Role::Redis, 16, 1, 2, Some(5)),
            meas(Role::Darter, 16, 1, 2, Some(2)),
        ];
        let doc = render(&ctx, &ms);
        assert!(doc.contains("equals its `used_memory_rss`"), "{doc}");
        assert!(doc.contains("redis-server --port 1"));
        assert!(doc.contains("## Details"));
    }

    #[test]
    fn settle_tolerance() {
        assert!(is_settled(&[100 << 20, (100 << 20) + 100 * 1024]));
        assert!(!is_settled(&[100 << 20, 101 << 20]));
        assert!(
            is_settled(&[1 << 30, (1 << 30) + (2 << 20)]),
            "0.2 % of 1 GiB"
        );
        assert!(!is_settled(&[]));
    }
}
