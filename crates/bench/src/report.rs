//! Turns raw per-run samples into the Markdown report: a summary table of
//! medians (ops/s and server CPU microseconds per request, with
//! darter/redis ratios), the per-round raw values, the exact commands and the
//! machine description. Pure formatting plus writing result files: it must
//! not run processes or measure anything.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::machine::MachineInfo;

/// Which server a sample belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Redis,
    Darter,
}

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Role::Redis => "redis",
            Role::Darter => "darter",
        }
    }
}

/// One measured redis-benchmark run.
#[derive(Debug, Clone)]
pub struct Sample {
    pub test: String,
    pub pipeline: u32,
    pub round: u32,
    pub role: Role,
    /// 0 if this server ran first in its round, 1 if second.
    pub order: u32,
    pub requests: u64,
    pub rps: f64,
    /// Server utime+stime consumed during the run, seconds.
    pub cpu_secs: f64,
    pub wall_secs: f64,
}

impl Sample {
    pub fn cpu_us_per_req(&self) -> f64 {
        self.cpu_secs / self.requests as f64 * 1e6
    }
}

/// Everything the report shows besides the samples.
#[derive(Debug, Clone)]
pub struct Context {
    pub machine: MachineInfo,
    pub redis_version: Option<String>,
    pub benchmark_version: Option<String>,
    pub rounds: u32,
    pub clients: u32,
    pub keyspace: u64,
    pub data_size: u32,
    pub server_cpu: Option<String>,
    pub client_cpu: Option<String>,
    pub clk_tck: u64,
    /// /proc/loadavg before the first and after the last run.
    pub load_before: String,
    pub load_after: String,
    /// (label, command line), in execution order of first use.
    pub commands: Vec<(String, String)>,
    pub warnings: Vec<String>,
}

/// Median of a non-empty slice (mean of the middle two for even lengths).
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Median figures for one (test, pipeline) row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub test: String,
    pub pipeline: u32,
    pub redis_rps: f64,
    pub darter_rps: f64,
    pub redis_us: f64,
    pub darter_us: f64,
}

impl Row {
    pub fn ops_ratio(&self) -> f64 {
        ratio(self.darter_rps, self.redis_rps)
    }
    pub fn cpu_ratio(&self) -> f64 {
        ratio(self.darter_us, self.redis_us)
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        f64::NAN
    }
}

/// Groups samples into rows, preserving first-seen (test, pipeline) order.
pub fn rows(samples: &[Sample]) -> Vec<Row> {
    let mut keys: Vec<(String, u32)> = Vec::new();
    for s in samples {
        let k = (s.test.clone(), s.pipeline);
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys.into_iter()
        .map(|(test, pipeline)| {
            let pick = |role: Role, f: fn(&Sample) -> f64| {
                let v: Vec<f64> = samples
                    .iter()
                    .filter(|s| s.test == test && s.pipeline == pipeline && s.role == role)
                    .map(f)
                    .collect();
                median(&v)
            };
            Row {
                redis_rps: pick(Role::Redis, |s| s.rps),
                darter_rps: pick(Role::Darter, |s| s.rps),
                redis_us: pick(Role::Redis, Sample::cpu_us_per_req),
                darter_us: pick(Role::Darter, Sample::cpu_us_per_req),
                test,
                pipeline,
            }
        })
        .collect()
}

fn num(x: f64, decimals: usize) -> String {
    if x.is_finite() {
        format!("{x:.decimals$}")
    } else {
        "n/a".into()
    }
}

/// The summary table (medians over rounds).
pub fn summary_table(rows: &[Row]) -> String {
    let mut out = String::new();
    out.push_str(
        "| test | pipeline | redis ops/s | darter ops/s | ops ratio (darter/redis) \
         | redis us/req CPU | darter us/req CPU | CPU ratio (darter/redis) |\n",
    );
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            r.test,
            r.pipeline,
            num(r.redis_rps, 0),
            num(r.darter_rps, 0),
            num(r.ops_ratio(), 2),
            num(r.redis_us, 3),
            num(r.darter_us, 3),
            num(r.cpu_ratio(), 2),
        );
    }
    out
}

/// One line per run, in execution order.
pub fn raw_table(samples: &[Sample]) -> String {
    let mut out = String::from(
        "| test | pipeline | round | server | ran | requests | ops/s | server CPU s | us/req CPU | wall s |\n\
         |---|---:|---:|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for s in samples {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            s.test,
            s.pipeline,
            s.round + 1,
            s.role.label(),
            if s.order == 0 { "1st" } else { "2nd" },
            s.requests,
            num(s.rps, 0),
            num(s.cpu_secs, 2),
            num(s.cpu_us_per_req(), 3),
            num(s.wall_secs, 2),
        );
    }
    out
}

/// The date, machine and kernel lines every report starts with.
pub fn machine_lines(out: &mut String, m: &crate::machine::MachineInfo) {
    let _ = writeln!(out, "- date: {}", m.timestamp_utc);
    let _ = writeln!(
        out,
        "- machine: nproc {} (online {}), {}",
        m.nproc, m.online, m.cpu_model
    );
    let _ = writeln!(out, "- kernel: {}", m.kernel);
}

/// Full Markdown document for `samples` (all tests, or one test's subset).
pub fn render(title: &str, ctx: &Context, samples: &[Sample]) -> String {
    let m = &ctx.machine;
    let mut out = String::new();
    let _ = writeln!(out, "# {title}\n");
    machine_lines(&mut out, m);
    let _ = writeln!(
        out,
        "- load average (1/5/15 min): {} before, {} after (server + client add about 2; more suggests other load)",
        ctx.load_before, ctx.load_after
    );
    if let Some(v) = &ctx.redis_version {
        let _ = writeln!(out, "- redis-server: {v}");
    }
    if let Some(v) = &ctx.benchmark_version {
        let _ = writeln!(out, "- redis-benchmark: {v}");
    }
    let _ = writeln!(
        out,
        "- setup: {} rounds (medians shown, server order alternates per round), {} clients, \
         {} random keys, {}-byte values, servers on CPU {}, client on CPU {}, CPU clock {} ticks/s",
        ctx.rounds,
        ctx.clients,
        ctx.keyspace,
        ctx.data_size,
        ctx.server_cpu.as_deref().unwrap_or("(unpinned)"),
        ctx.client_cpu.as_deref().unwrap_or("(unpinned)"),
        ctx.clk_tck
    );
    out.push_str("\n## Results (median over rounds)\n\n");
    out.push_str(&summary_table(&rows(samples)));
    out.push_str(
        "\nops ratio > 1: darter serves more requests per second. \
         CPU ratio < 1: darter spends less server CPU per request.\n",
    );
    out.push_str("\n## Commands\n\n```sh\n");
    for (label, cmd) in &ctx.commands {
        let _ = writeln!(out, "# {label}\n{cmd}");
    }
    out.push_str("```\n\n## Per-run values\n\n");
    out.push_str(&raw_table(samples));
    if !ctx.warnings.is_empty() {
        out.push_str("\n## redis-benchmark warnings\n\n");
        for w in &ctx.warnings {
            let _ = writeln!(out, "- {w}");
        }
    }
    out
}

/// Writes `text` to `dir/name` atomically (via a `.tmp` file and rename).
pub fn write_atomic(dir: &Path, name: &str, text: &str) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join(name);
    let tmp = dir.join(format!("{name}.tmp"));
    std::fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &path)
        .map_err(|e| format!("cannot rename to {}: {e}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(role: Role, round: u32, rps: f64, cpu: f64) -> Sample {
        Sample {
            test: "get".into(),
            pipeline: 1,
            round,
            role,
            order: 0,
            requests: 1_000_000,
            rps,
            cpu_secs: cpu,
            wall_secs: 1.0,
        }
    }

    #[test]
    fn median_odd_even() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn rows_and_ratios() {
        let s = vec![
            sample(Role::Redis, 0, 100.0, 2.0),
            sample(Role::Darter, 0, 150.0, 1.0),
            sample(Role::Redis, 1, 120.0, 4.0),
            sample(Role::Darter, 1, 90.0, 1.0),
            sample(Role::Redis, 2, 110.0, 3.0),
            sample(Role::Darter, 2, 165.0, 1.5),
        ];
        let r = rows(&s);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].redis_rps, 110.0);
        assert_eq!(r[0].darter_rps, 150.0);
        assert_eq!(r[0].redis_us, 3.0);
        assert_eq!(r[0].darter_us, 1.0);
        assert!((r[0].ops_ratio() - 150.0 / 110.0).abs() < 1e-12);
        assert!((r[0].cpu_ratio() - 1.0 / 3.0).abs() < 1e-12);
        let t = summary_table(&r);
        assert!(
            t.contains("| get | 1 | 110 | 150 | 1.36 | 3.000 | 1.000 | 0.33 |"),
            "{t}"
        );
    }

    #[test]
    fn missing_side_is_na() {
        let r = rows(&[sample(Role::Redis, 0, 100.0, 0.0)]);
        let t = summary_table(&r);
        assert!(t.contains("n/a"), "{t}");
    }
}
