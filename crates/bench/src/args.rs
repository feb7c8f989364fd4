//! Command-line parsing for `darter-bench` (hand-rolled to keep the crate
//! dependency-free apart from libc). It only turns argv into a validated
//! `CompareOpts` or `MemoryOpts`; it must not touch the filesystem, start
//! processes, or pick ports — defaults that depend on the environment are
//! resolved in `compare` and `memory`.

use std::path::PathBuf;

use crate::shapes::{self, Shape, MAX_KEYS};
use crate::shell_words;

pub const USAGE: &str = "\
usage: darter-bench compare [options]
       darter-bench memory [options]   (see `darter-bench memory --help`)
       darter-bench pubsub [options]   (see `darter-bench pubsub --help`)

Starts redis-server and darter pinned to one CPU, drives both with
redis-benchmark pinned to another CPU, and prints a Markdown table of
throughput and server CPU per request (medians over rounds).

options (defaults in brackets):
  --darter PATH          darter binary [<workspace>/target/release/darter]
  --redis PATH           redis-server binary [redis-server]
  --benchmark PATH       redis-benchmark binary [redis-benchmark]
  --requests N           requests per run [200000 for pipeline 1, else 2000000]
  --rounds N             rounds per (test, pipeline) [3]
  --clients N            redis-benchmark connections (-c) [50]
  --pipelines LIST       pipeline depths (-P), comma separated [1,16]
  --tests LIST           redis-benchmark tests (-t), comma separated [get,set]
  --keyspace N           random key range (-r) [100000]
  --data-size N          value size in bytes (-d) [16]
  --server-cpu CPUS      taskset -c list for both servers [0]
  --client-cpu CPUS      taskset -c list for redis-benchmark [1]
  --no-pin               do not use taskset at all
  --darter-args STR      extra darter arguments, shell-quoted [\"\"]
  --redis-args STR       extra redis-server arguments, shell-quoted [\"\"]
  --darter-threads-flag  pass `--proactor_threads 1` to darter [on]
  --no-threads-flag      do not pass `--proactor_threads 1`
  --results-dir DIR      where <test>-latest.md go [<workspace>/bench/results]
  --run-timeout SECS     kill a redis-benchmark run after this long [300]
  -h, --help             this text

example (redis in both roles, to validate the harness):
  darter-bench compare --darter /usr/bin/redis-server \\
      --darter-args \"--save '' --appendonly no\" --no-threads-flag";

pub const MEMORY_USAGE: &str = "\
usage: darter-bench memory [options]

For each shape, starts a fresh redis-server and a fresh darter, loads the
same keys (`key:000000000000` ...) and members with pipelined write commands
over the RESP protocol (every reply checked), checks DBSIZE, TYPE and the
member count of a few keys, and prints a Markdown table of resident memory
(VmRSS, smaps_rollup) and INFO used_memory, per key and per member.

shapes (--shapes, comma separated):
  string:SIZE            --keys keys, `SET key <SIZE bytes of x>`
  hash:KEYSxMEMBERS      HSET key field:<i> <16 bytes of x> ...
  set:KEYSxMEMBERS       SADD key member:<i> ...
  intset:KEYSxMEMBERS    SADD key <i> ...   (integer members)
  list:KEYSxMEMBERS      RPUSH key member:<i> ...
  zset:KEYSxMEMBERS      ZADD key <i> member:<i> ...   (score = i)

options (defaults in brackets):
  --darter PATH          darter binary [<workspace>/target/release/darter]
  --redis PATH           redis-server binary [redis-server]
  --shapes LIST          what to load, see above [string:16,string:100]
  --keys N               keys of each string shape [1000000]
  --sizes LIST           shorthand: --shapes string:S1,string:S2,...
  --members-per-command N  members per HSET/SADD/RPUSH/ZADD [100]
  --darter-threads N     pass `--proactor_threads N` to darter [1]
  --no-threads-flag      do not pass `--proactor_threads` at all
  --darter-args STR      extra darter arguments, shell-quoted [\"\"]
  --redis-args STR       extra redis-server arguments, shell-quoted [\"\"]
  --connections N        parallel loader connections [4]
  --batch N              members (string keys) per pipelined write [1000]
  --server-cpu CPUS      taskset -c list for the servers [unpinned]
  --results-dir DIR      where memory-latest.md goes [<workspace>/bench/results]
  --load-timeout SECS    fail if loading one server takes longer [600]
  -h, --help             this text

examples:
  darter-bench memory --shapes hash:1000x1000,set:1000x1000,set:1x1000000
  darter-bench memory --keys 100000 --darter /usr/bin/redis-server \\
      --darter-args \"--save '' --appendonly no\" --no-threads-flag   # A/A";

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Help,
    MemoryHelp,
    Compare(Box<CompareOpts>),
    Memory(Box<MemoryOpts>),
    PubSub(Box<crate::pubsub::PubSubOpts>),
    PubSubHelp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MemoryOpts {
    /// None: `<workspace>/target/release/darter`.
    pub darter: Option<PathBuf>,
    pub redis: PathBuf,
    /// Keys of each string shape.
    pub keys: u64,
    /// In load order; string shapes have `keys` keys.
    pub shapes: Vec<Shape>,
    pub members_per_command: u64,
    /// None: do not pass `--proactor_threads`.
    pub darter_threads: Option<u32>,
    pub darter_args: Vec<String>,
    pub redis_args: Vec<String>,
    pub connections: usize,
    /// Members (string keys count one each) per pipelined write.
    pub batch: u64,
    /// None: no pinning.
    pub server_cpu: Option<String>,
    /// None: `<workspace>/bench/results`.
    pub results_dir: Option<PathBuf>,
    pub load_timeout_secs: u64,
}

impl Default for MemoryOpts {
    fn default() -> Self {
        MemoryOpts {
            darter: None,
            redis: PathBuf::from("redis-server"),
            keys: 1_000_000,
            shapes: vec![Shape::string(1_000_000, 16), Shape::string(1_000_000, 100)],
            members_per_command: 100,
            darter_threads: Some(1),
            darter_args: Vec::new(),
            redis_args: Vec::new(),
            connections: 4,
            batch: 1000,
            server_cpu: None,
            results_dir: None,
            load_timeout_secs: 600,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CompareOpts {
    /// None: `<workspace>/target/release/darter`.
    pub darter: Option<PathBuf>,
    pub redis: PathBuf,
    pub benchmark: PathBuf,
    /// None: depends on the pipeline depth, see `requests_for`.
    pub requests: Option<u64>,
    pub rounds: u32,
    pub clients: u32,
    pub pipelines: Vec<u32>,
    pub tests: Vec<String>,
    pub keyspace: u64,
    pub data_size: u32,
    /// None: no pinning.
    pub server_cpu: Option<String>,
    pub client_cpu: Option<String>,
    pub darter_args: Vec<String>,
    pub redis_args: Vec<String>,
    pub darter_threads_flag: bool,
    /// None: `<workspace>/bench/results`.
    pub results_dir: Option<PathBuf>,
    pub run_timeout_secs: u64,
}

impl Default for CompareOpts {
    fn default() -> Self {
        CompareOpts {
            darter: None,
            redis: PathBuf::from("redis-server"),
            benchmark: PathBuf::from("redis-benchmark"),
            requests: None,
            rounds: 3,
            clients: 50,
            pipelines: vec![1, 16],
            tests: vec!["get".into(), "set".into()],
            keyspace: 100_000,
            data_size: 16,
            server_cpu: Some("0".into()),
            client_cpu: Some("1".into()),
            darter_args: Vec::new(),
            redis_args: Vec::new(),
            darter_threads_flag: true,
            results_dir: None,
            run_timeout_secs: 300,
        }
    }
}

impl CompareOpts {
    /// Requests per run for a pipeline depth: the override if given, else a
    /// count that keeps one run at a few seconds on a typical core.
    pub fn requests_for(&self, pipeline: u32) -> u64 {
        match self.requests {
            Some(n) => n,
            None if pipeline <= 1 => 200_000,
            None => 2_000_000,
        }
    }
}

pub fn parse(argv: &[String]) -> Result<Command, String> {
    let Some(sub) = argv.first() else {
        return Err("missing subcommand".into());
    };
    match sub.as_str() {
        "-h" | "--help" | "help" => Ok(Command::Help),
        "compare" => parse_compare(&argv[1..]),
        "memory" => parse_memory(&argv[1..]),
        "pubsub" => Ok(match crate::pubsub::parse(&argv[1..])? {
            Some(o) => Command::PubSub(Box::new(o)),
            None => Command::PubSubHelp,
        }),
        other => Err(format!(
            "unknown subcommand {other:?} (expected `compare`, `memory` or `pubsub`)"
        )),
    }
}

/// Walks options given as `--flag value` or `--flag=value`.
struct Flags<'a> {
    argv: &'a [String],
    i: usize,
    /// The value written as `--flag=value` for the current flag.
    inline: Option<&'a str>,
}

impl<'a> Flags<'a> {
    fn new(argv: &'a [String]) -> Self {
        Flags {
            argv,
            i: 0,
            inline: None,
        }
    }

    /// The next option: (as written, flag name).
    fn next_flag(&mut self) -> Option<(&'a str, &'a str)> {
        let raw = self.argv.get(self.i)?.as_str();
        self.i += 1;
        let (flag, inline) = match raw.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v)),
            _ => (raw, None),
        };
        self.inline = inline;
        Some((raw, flag))
    }

    /// The current flag's value: inline, else the next argument.
    fn value(&mut self, flag: &str) -> Result<String, String> {
        if let Some(v) = self.inline.take() {
            return Ok(v.to_string());
        }
        let v = self
            .argv
            .get(self.i)
            .cloned()
            .ok_or_else(|| format!("{flag} needs a value"))?;
        self.i += 1;
        Ok(v)
    }
}

fn parse_memory(argv: &[String]) -> Result<Command, String> {
    let mut o = MemoryOpts::default();
    // Parsed after all flags, because string shapes take `--keys`.
    let mut shapes = "string:16,string:100".to_string();
    let mut it = Flags::new(argv);
    while let Some((raw, flag)) = it.next_flag() {
        let mut value = || it.value(flag);
        match flag {
            "-h" | "--help" => return Ok(Command::MemoryHelp),
            "--darter" => o.darter = Some(PathBuf::from(value()?)),
            "--redis" => o.redis = PathBuf::from(value()?),
            "--keys" => o.keys = positive(flag, &value()?)?,
            "--shapes" => shapes = value()?,
            "--sizes" => {
                shapes = list(flag, &value()?)?
                    .iter()
                    .map(|p| positive::<usize>(flag, p).map(|n| format!("string:{n}")))
                    .collect::<Result<Vec<_>, _>>()?
                    .join(",")
            }
            "--members-per-command" => o.members_per_command = positive(flag, &value()?)?,
            "--darter-threads" => o.darter_threads = Some(positive(flag, &value()?)?),
            "--no-threads-flag" => o.darter_threads = None,
            "--darter-args" => o.darter_args = shell_words::split(&value()?)?,
            "--redis-args" => o.redis_args = shell_words::split(&value()?)?,
            "--connections" => o.connections = positive(flag, &value()?)?,
            "--batch" => o.batch = positive(flag, &value()?)?,
            "--server-cpu" => o.server_cpu = Some(value()?),
            "--no-pin" => o.server_cpu = None,
            "--results-dir" => o.results_dir = Some(PathBuf::from(value()?)),
            "--load-timeout" => o.load_timeout_secs = positive(flag, &value()?)?,
            _ => return Err(format!("unknown option {raw:?}")),
        }
    }
    if o.keys > MAX_KEYS {
        return Err(format!("--keys: at most {MAX_KEYS} (keys have 12 digits)"));
    }
    o.shapes = shapes::parse_list(&shapes, o.keys)?;
    Ok(Command::Memory(Box::new(o)))
}

fn parse_compare(argv: &[String]) -> Result<Command, String> {
    let mut o = CompareOpts::default();
    let mut server_cpu = o.server_cpu.clone();
    let mut client_cpu = o.client_cpu.clone();
    let mut pin = true;
    let mut it = Flags::new(argv);
    while let Some((raw, flag)) = it.next_flag() {
        let mut value = || it.value(flag);
        match flag {
            "-h" | "--help" => return Ok(Command::Help),
            "--darter" => o.darter = Some(PathBuf::from(value()?)),
            "--redis" => o.redis = PathBuf::from(value()?),
            "--benchmark" => o.benchmark = PathBuf::from(value()?),
            "--requests" => o.requests = Some(positive(flag, &value()?)?),
            "--rounds" => o.rounds = positive(flag, &value()?)?,
            "--clients" => o.clients = positive(flag, &value()?)?,
            "--pipelines" => {
                o.pipelines = list(flag, &value()?)?
                    .iter()
                    .map(|p| positive(flag, p))
                    .collect::<Result<_, _>>()?
            }
            "--tests" => o.tests = list(flag, &value()?)?,
            "--keyspace" => o.keyspace = positive(flag, &value()?)?,
            "--data-size" => o.data_size = positive(flag, &value()?)?,
            "--server-cpu" => server_cpu = Some(value()?),
            "--client-cpu" => client_cpu = Some(value()?),
            "--no-pin" => pin = false,
            "--darter-args" => o.darter_args = shell_words::split(&value()?)?,
            "--redis-args" => o.redis_args = shell_words::split(&value()?)?,
            "--darter-threads-flag" => o.darter_threads_flag = true,
            "--no-threads-flag" => o.darter_threads_flag = false,
            "--results-dir" => o.results_dir = Some(PathBuf::from(value()?)),
            "--run-timeout" => o.run_timeout_secs = positive(flag, &value()?)?,
            _ => return Err(format!("unknown option {raw:?}")),
        }
    }
    for t in &o.tests {
        if !t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("bad test name {t:?}"));
        }
    }
    o.tests = o.tests.iter().map(|t| t.to_ascii_lowercase()).collect();
    (o.server_cpu, o.client_cpu) = if pin {
        (server_cpu, client_cpu)
    } else {
        (None, None)
    };
    Ok(Command::Compare(Box::new(o)))
}

fn positive<T: std::str::FromStr + Default + PartialOrd>(flag: &str, s: &str) -> Result<T, String> {
    match s.trim().parse::<T>() {
        Ok(v) if v > T::default() => Ok(v),
        _ => Err(format!("{flag}: expected a positive integer, got {s:?}")),
    }
}

fn list(flag: &str, s: &str) -> Result<Vec<String>, String> {
    let items: Vec<String> = s
        .split(',')
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .collect();
    if items.is_empty() {
        return Err(format!("{flag}: empty list"));
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    fn compare(s: &[&str]) -> CompareOpts {
        match parse(&argv(s)).unwrap() {
            Command::Compare(o) => *o,
            c => panic!("unexpected {c:?}"),
        }
    }

    #[test]
    fn defaults() {
        let o = compare(&["compare"]);
        assert_eq!(o, CompareOpts::default());
        assert_eq!(o.requests_for(1), 200_000);
        assert_eq!(o.requests_for(16), 2_000_000);
    }

    #[test]
    fn all_flags() {
        let o = compare(&[
            "compare",
            "--darter",
            "/usr/bin/redis-server",
            "--darter-args",
            "--save '' --appendonly no",
            "--no-threads-flag",
            "--requests=1000",
            "--rounds",
            "5",
            "--pipelines",
            "1, 4,32",
            "--tests",
            "SET",
            "--server-cpu",
            "2-3",
            "--client-cpu=4",
        ]);
        assert_eq!(o.darter, Some(PathBuf::from("/usr/bin/redis-server")));
        assert_eq!(o.darter_args, vec!["--save", "", "--appendonly", "no"]);
        assert!(!o.darter_threads_flag);
        assert_eq!(o.requests_for(16), 1000);
        assert_eq!(o.rounds, 5);
        assert_eq!(o.pipelines, vec![1, 4, 32]);
        assert_eq!(o.tests, vec!["set"]);
        assert_eq!(o.server_cpu.as_deref(), Some("2-3"));
        assert_eq!(o.client_cpu.as_deref(), Some("4"));
    }

    #[test]
    fn no_pin_and_errors() {
        let o = compare(&["compare", "--no-pin"]);
        assert_eq!((o.server_cpu, o.client_cpu), (None, None));
        assert!(parse(&argv(&["compare", "--rounds", "0"])).is_err());
        assert!(parse(&argv(&["compare", "--rounds"])).is_err());
        assert!(parse(&argv(&["compare", "--bogus"])).is_err());
        assert!(parse(&argv(&["latency"])).is_err());
        assert!(parse(&argv(&[])).is_err());
        assert_eq!(parse(&argv(&["compare", "-h"])).unwrap(), Command::Help);
    }

    fn memory(s: &[&str]) -> MemoryOpts {
        match parse(&argv(s)).unwrap() {
            Command::Memory(o) => *o,
            c => panic!("unexpected {c:?}"),
        }
    }

    #[test]
    fn memory_defaults_and_flags() {
        let o = memory(&["memory"]);
        assert_eq!(o, MemoryOpts::default());
        assert_eq!(o.keys, 1_000_000);
        let labels: Vec<String> = o.shapes.iter().map(Shape::label).collect();
        assert_eq!(labels, ["string:16", "string:100"]);
        assert!(o.shapes.iter().all(|s| s.keys == 1_000_000));
        assert_eq!(o.darter_threads, Some(1));
        let o = memory(&[
            "memory",
            "--keys=5000",
            "--sizes",
            "8, 64,512",
            "--darter-threads",
            "2",
            "--connections",
            "2",
            "--batch=100",
            "--server-cpu",
            "0",
            "--redis-args",
            "--maxmemory 0",
        ]);
        assert_eq!(o.keys, 5000);
        let sizes: Vec<usize> = o.shapes.iter().map(|s| s.value_size).collect();
        assert_eq!(sizes, [8, 64, 512]);
        assert!(o.shapes.iter().all(|s| s.keys == 5000));
        assert_eq!(o.darter_threads, Some(2));
        assert_eq!((o.connections, o.batch), (2, 100));
        assert_eq!(o.server_cpu.as_deref(), Some("0"));
        assert_eq!(o.redis_args, vec!["--maxmemory", "0"]);
        let o = memory(&["memory", "--no-threads-flag", "--keys", "3"]);
        assert_eq!(o.darter_threads, None);
    }

    #[test]
    fn memory_shapes() {
        // --keys applies to string shapes wherever it appears.
        let o = memory(&[
            "memory",
            "--shapes",
            "string:16,hash:1000x1000,set:1000x1000,set:1x1000000,intset:1x1000000,\
             list:1000x1000,zset:1x1000000,zset:1000x1000",
            "--keys=200",
            "--members-per-command",
            "50",
        ]);
        let labels: Vec<String> = o.shapes.iter().map(Shape::label).collect();
        assert_eq!(
            labels,
            [
                "string:16",
                "hash:1000x1000",
                "set:1000x1000",
                "set:1x1000000",
                "intset:1x1000000",
                "list:1000x1000",
                "zset:1x1000000",
                "zset:1000x1000"
            ]
        );
        assert_eq!(o.shapes[0], Shape::string(200, 16));
        assert_eq!(o.shapes[3].total_members(), 1_000_000);
        assert_eq!(o.members_per_command, 50);
        assert!(parse(&argv(&["memory", "--shapes", "hash:10"])).is_err());
        assert!(parse(&argv(&["memory", "--shapes", "queue:1x1"])).is_err());
        assert!(parse(&argv(&["memory", "--shapes", ","])).is_err());
        assert!(parse(&argv(&["memory", "--members-per-command", "0"])).is_err());
    }

    #[test]
    fn memory_errors() {
        assert!(parse(&argv(&["memory", "--keys", "0"])).is_err());
        assert!(parse(&argv(&["memory", "--keys", "1000000000000"])).is_err());
        assert!(parse(&argv(&["memory", "--sizes", ""])).is_err());
        assert!(parse(&argv(&["memory", "--sizes", "16,x"])).is_err());
        assert!(parse(&argv(&["memory", "--darter-threads", "0"])).is_err());
        assert!(parse(&argv(&["memory", "--requests", "1"])).is_err());
        assert_eq!(
            parse(&argv(&["memory", "--help"])).unwrap(),
            Command::MemoryHelp
        );
    }
}
