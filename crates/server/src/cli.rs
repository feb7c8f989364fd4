//! The `darter` command line: flags (Dragonfly/Redis style, underscores in long names), an optional
//! Redis-style config file as the one positional argument, and their merge into the startup
//! configuration. A flag given on the command line beats the file; the file beats flag defaults.
//!
//! This module only reads and validates: it must not open sockets, start threads, install the log
//! subscriber or hold runtime state. Its result is handed to `ConfigStore::new` by `main`. Like Redis,
//! a bad config file is fatal: the error names the file and line, and the caller exits non-zero.

use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser};
use darter_commands::config::{self, ConfigStore, InitialConfig};

/// darter's `--log_level` values, least verbose first.
const LOG_LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];

/// darter: a Redis 7-compatible, thread-per-core in-memory datastore.
#[derive(Parser, Debug, Clone, PartialEq, Eq)]
#[command(name = "darter", bin_name = "darter", version, about, long_about = None)]
pub struct Flags {
    /// TCP port to listen on (config file: `port`).
    #[arg(long, default_value_t = 6379)]
    pub port: u16,

    /// Addresses to listen on, space-separated as in Redis: an IP, `localhost`, `*` (all IPv4),
    /// `::*` (all IPv6); a leading `-` means "skip if unavailable". Default: all interfaces.
    #[arg(long, default_value = "* -::*")]
    pub bind: String,

    /// Worker threads; 0 = one per CPU.
    #[arg(long = "proactor_threads", default_value_t = 0)]
    pub proactor_threads: usize,

    /// Keyspace shards; 0 = one per thread.
    #[arg(long = "num_shards", default_value_t = 0)]
    pub num_shards: usize,

    /// Password clients must AUTH with; empty or absent = none (config file: `requirepass`).
    #[arg(long)]
    pub requirepass: Option<String>,

    /// Number of logical databases (config file: `databases` or `dbnum`).
    #[arg(long, default_value_t = 16)]
    pub dbnum: u32,

    /// Maximum simultaneous clients.
    #[arg(long, default_value_t = 10000)]
    pub maxclients: u64,

    /// Close a client idle this many seconds; 0 = never.
    #[arg(long, default_value_t = 0)]
    pub timeout: u64,

    /// TCP keepalive interval in seconds; 0 = off (config file: `tcp-keepalive`).
    #[arg(long = "tcp_keepalive", default_value_t = 300)]
    pub tcp_keepalive: u64,

    /// Log verbosity (config file: `log_level`, or Redis's `loglevel` debug/verbose/notice/warning).
    #[arg(long = "log_level", default_value = "info", ignore_case = true,
          value_parser = clap::builder::PossibleValuesParser::new(LOG_LEVELS))]
    pub log_level: String,

    /// Memory limit, a Redis size (`1gb`, `512mb`, bytes); 0 = none. Past it, commands that may
    /// grow memory get Redis's OOM error (config file: `maxmemory`).
    #[arg(long)]
    pub maxmemory: Option<String>,

    /// Port of the memcached protocol listener (text and binary), sharing database 0 of the
    /// keyspace; 0 = off (config file: `memcached_port`).
    #[arg(long = "memcached_port")]
    pub memcached_port: Option<String>,

    /// Largest memcached item, a size (`1mb`, bytes), like memcached's `-I`
    /// (config file: `memcached_max_item_size`).
    #[arg(long = "memcached_max_item_size")]
    pub memcached_max_item_size: Option<String>,

    /// Redis-style config file (`key value` lines, `#` comments). Flags override it.
    #[arg(value_name = "CONFIG_FILE")]
    pub config_file: Option<PathBuf>,
}

/// The merged startup configuration. `log_level` is the tracing filter level (error, warn, info,
/// debug, trace); `init.loglevel` is the same setting in Redis's names, for CONFIG GET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    pub init: InitialConfig,
    pub log_level: String,
}

/// Parses `args` (`args[0]` is the program name), reads the config file if one is given, merges,
/// resolves `proactor_threads`/`num_shards` of 0, and validates everything through the config table.
/// `--help` and `--version` print and exit the process with status 0, as clap's `parse` would.
pub fn load_from_args<I: IntoIterator<Item = String>>(args: I) -> Result<Loaded, String> {
    let matches = match Flags::command().try_get_matches_from(args.into_iter().map(OsString::from))
    {
        Ok(m) => m,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            e.exit()
        }
        Err(e) => return Err(e.to_string()),
    };
    let flags = Flags::from_arg_matches(&matches).map_err(|e| e.to_string())?;
    let file = match &flags.config_file {
        Some(path) => {
            let shown = path.display().to_string();
            let text = std::fs::read(path)
                .map_err(|e| format!("Fatal error, can't open config file '{shown}': {e}"))?;
            parse_config_text(&text, &shown)?
        }
        None => FileSettings::default(),
    };
    let loaded = merge(&flags, &matches, file)?;
    for entry in &loaded.init.bind {
        parse_bind(entry)?;
    }
    ConfigStore::new(loaded.init.clone()).map_err(|e| format!("invalid configuration: {e}"))?;
    Ok(loaded)
}

/// One listening address from a Redis `bind` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BindAddr {
    pub ip: IpAddr,
    /// The entry had a leading `-`: if the address is unavailable, skip it instead of failing.
    pub optional: bool,
}

/// Interprets a Redis `bind` entry: `*` is every IPv4 interface, `::*` every IPv6 one (the listener
/// should set IPV6_V6ONLY so both can coexist, as Redis does), `localhost` is 127.0.0.1, and anything
/// else must be a literal IP. A leading `-` marks the address optional.
pub fn parse_bind(entry: &str) -> Result<BindAddr, String> {
    let (optional, addr) = match entry.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, entry),
    };
    let ip = match addr {
        "*" => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        "::*" => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
        other => other
            .parse()
            .map_err(|_| format!("invalid bind address '{entry}'"))?,
    };
    Ok(BindAddr { ip, optional })
}

// ---------------------------------------------------------------------------------------------------
// Config file.
// ---------------------------------------------------------------------------------------------------

/// What a config file set; `None` = not mentioned. Later lines win over earlier ones.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct FileSettings {
    port: Option<u16>,
    bind: Option<Vec<String>>,
    requirepass: Option<String>,
    databases: Option<u32>,
    maxclients: Option<u64>,
    timeout: Option<u64>,
    tcp_keepalive: Option<u64>,
    /// (Redis loglevel, tracing level).
    log: Option<(String, String)>,
    proactor_threads: Option<usize>,
    num_shards: Option<usize>,
    /// Other table parameters by canonical name (proto-max-bulk-len, client-query-buffer-limit, hz).
    extra: Vec<(String, String)>,
}

/// Parses a config file's bytes as Redis 7.0's loader does: lines split on `\n`, trimmed of
/// ` \t\r\n`, blank and `#` lines skipped, arguments split with Redis's quoting rules, the directive
/// name case-insensitive. Errors carry the file name, line number and line, like Redis's.
fn parse_config_text(text: &[u8], path: &str) -> Result<FileSettings, String> {
    let mut out = FileSettings::default();
    for (idx, raw) in text.split(|&b| b == b'\n').enumerate() {
        let line = trim(raw);
        if line.is_empty() || line[0] == b'#' {
            continue;
        }
        let fail = |msg: &str| {
            format!(
                "*** FATAL CONFIG FILE ERROR ***\nReading the configuration file {path}, at line {}\n>>> '{}'\n{msg}",
                idx + 1,
                String::from_utf8_lossy(line)
            )
        };
        let argv =
            split_args(line).ok_or_else(|| fail("Unbalanced quotes in configuration line"))?;
        let Some((key, args)) = argv.split_first() else {
            continue;
        };
        let key = String::from_utf8_lossy(key).to_ascii_lowercase();
        apply_directive(&mut out, &key, args).map_err(|e| fail(&e))?;
    }
    Ok(out)
}

fn apply_directive(out: &mut FileSettings, key: &str, args: &[Vec<u8>]) -> Result<(), String> {
    let strs = args
        .iter()
        .map(|a| {
            String::from_utf8(a.clone()).map_err(|_| "argument is not valid UTF-8".to_string())
        })
        .collect::<Result<Vec<String>, String>>()?;
    if key == "log_level" {
        let [level] = strs.as_slice() else {
            return Err(config::MSG_WRONG_ARGS.to_string());
        };
        let redis = config::loglevel_from_tracing(level).ok_or_else(|| {
            format!(
                "argument(s) must be one of the following: {}",
                LOG_LEVELS.join(", ")
            )
        })?;
        out.log = Some((redis.to_string(), level.to_ascii_lowercase()));
        return Ok(());
    }
    let name = if key == "dbnum" { "databases" } else { key };
    let arg_refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    let canonical = config::check_directive(name, &arg_refs)?;
    // check_directive accepted the value, so these numeric conversions cannot fail.
    let value = strs.join(" ");
    let num = || value.parse::<u64>().map_err(|e| e.to_string());
    match canonical {
        "port" => {
            out.port = Some(
                value
                    .parse()
                    .map_err(|e: std::num::ParseIntError| e.to_string())?,
            )
        }
        "bind" => out.bind = Some(strs),
        "requirepass" => out.requirepass = Some(value),
        "databases" => {
            out.databases = Some(
                value
                    .parse()
                    .map_err(|e: std::num::ParseIntError| e.to_string())?,
            )
        }
        "maxclients" => out.maxclients = Some(num()?),
        "timeout" => out.timeout = Some(num()?),
        "tcp-keepalive" => out.tcp_keepalive = Some(num()?),
        "loglevel" => {
            let redis = value.to_ascii_lowercase();
            let tracing = config::loglevel_to_tracing(&redis).to_string();
            out.log = Some((redis, tracing));
        }
        "proactor_threads" => out.proactor_threads = Some(num()? as usize),
        "num_shards" => out.num_shards = Some(num()? as usize),
        other => {
            // Each `client-output-buffer-limit` line sets only the classes it names.
            if other != "client-output-buffer-limit" {
                out.extra.retain(|(n, _)| n != other);
            }
            out.extra.push((other.to_string(), value));
        }
    }
    Ok(())
}

/// Redis's `sdstrim(line, " \t\r\n")`.
fn trim(mut s: &[u8]) -> &[u8] {
    let strip = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    while s.first().is_some_and(strip) {
        s = &s[1..];
    }
    while s.last().is_some_and(strip) {
        s = &s[..s.len() - 1];
    }
    s
}

/// Redis's `sdssplitargs` (the same splitter inline commands use).
fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    darter_resp::split_line(line)
}

// ---------------------------------------------------------------------------------------------------
// Merge.
// ---------------------------------------------------------------------------------------------------

/// `extra` with `name` set to a flag's value when the flag was typed (it beats the file's line).
fn with_flag(
    mut extra: Vec<(String, String)>,
    name: &str,
    flag: Option<&String>,
) -> Vec<(String, String)> {
    if let Some(v) = flag {
        extra.retain(|(n, _)| n != name);
        extra.push((name.to_string(), v.clone()));
    }
    extra
}

fn merge(flags: &Flags, matches: &ArgMatches, file: FileSettings) -> Result<Loaded, String> {
    let given = |id: &str| matches.value_source(id) == Some(ValueSource::CommandLine);
    // The flag if typed on the command line, else the file's value, else the flag's default.
    fn pick<T: Clone>(given: bool, flag: &T, file: Option<T>) -> T {
        if given {
            flag.clone()
        } else {
            file.unwrap_or_else(|| flag.clone())
        }
    }
    let bind_flag: Vec<String> = flags.bind.split_whitespace().map(str::to_string).collect();
    if bind_flag.is_empty() {
        return Err("--bind needs at least one address".to_string());
    }
    let (loglevel, log_level) = if given("log_level") || file.log.is_none() {
        let level = flags.log_level.to_ascii_lowercase();
        let redis = config::loglevel_from_tracing(&level)
            .unwrap_or("notice")
            .to_string();
        (redis, level)
    } else {
        file.log.clone().unwrap_or_default()
    };
    let requirepass = if given("requirepass") {
        flags.requirepass.clone()
    } else {
        file.requirepass
    };
    let mut proactor_threads = pick(
        given("proactor_threads"),
        &flags.proactor_threads,
        file.proactor_threads,
    );
    if proactor_threads == 0 {
        proactor_threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    }
    let mut num_shards = pick(given("num_shards"), &flags.num_shards, file.num_shards);
    if num_shards == 0 {
        num_shards = proactor_threads;
    }
    let init = InitialConfig {
        port: pick(given("port"), &flags.port, file.port),
        bind: pick(given("bind"), &bind_flag, file.bind),
        requirepass: requirepass.filter(|p| !p.is_empty()),
        databases: pick(given("dbnum"), &flags.dbnum, file.databases),
        maxclients: pick(given("maxclients"), &flags.maxclients, file.maxclients),
        timeout: pick(given("timeout"), &flags.timeout, file.timeout),
        tcp_keepalive: pick(
            given("tcp_keepalive"),
            &flags.tcp_keepalive,
            file.tcp_keepalive,
        ),
        loglevel,
        proactor_threads,
        num_shards,
        extra: with_flag(
            with_flag(
                with_flag(file.extra, "maxmemory", flags.maxmemory.as_ref()),
                "memcached_port",
                flags.memcached_port.as_ref(),
            ),
            "memcached_max_item_size",
            flags.memcached_max_item_size.as_ref(),
        ),
    };
    Ok(Loaded { init, log_level })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn args(a: &[&str]) -> Vec<String> {
        std::iter::once("darter")
            .chain(a.iter().copied())
            .map(str::to_string)
            .collect()
    }

    fn cpus() -> usize {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }

    /// A config file in the temp dir, unique per test, removed on drop.
    struct TempConf(PathBuf);
    impl TempConf {
        fn new(body: &str) -> Self {
            static N: AtomicUsize = AtomicUsize::new(0);
            let name = format!(
                "darter-cli-{}-{}.conf",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            );
            let path = std::env::temp_dir().join(name);
            std::fs::write(&path, body).unwrap();
            TempConf(path)
        }
        fn path(&self) -> String {
            self.0.display().to_string()
        }
    }
    impl Drop for TempConf {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[test]
    fn defaults() {
        let l = load_from_args(args(&[])).unwrap();
        let want = InitialConfig {
            port: 6379,
            bind: vec!["*".into(), "-::*".into()],
            requirepass: None,
            databases: 16,
            maxclients: 10000,
            timeout: 0,
            tcp_keepalive: 300,
            loglevel: "notice".into(),
            proactor_threads: cpus(),
            num_shards: cpus(),
            extra: vec![],
        };
        assert_eq!(
            l,
            Loaded {
                init: want,
                log_level: "info".into()
            }
        );
    }

    #[test]
    fn flags_only() {
        let l = load_from_args(args(&[
            "--port",
            "7001",
            "--bind",
            "127.0.0.1 ::1",
            "--proactor_threads",
            "3",
            "--num_shards",
            "2",
            "--requirepass",
            "pw",
            "--dbnum",
            "4",
            "--maxclients",
            "50",
            "--timeout",
            "9",
            "--tcp_keepalive",
            "0",
            "--log_level",
            "DEBUG",
        ]))
        .unwrap();
        let i = &l.init;
        assert_eq!(
            (i.port, i.bind.clone(), i.requirepass.as_deref()),
            (7001, vec!["127.0.0.1".into(), "::1".into()], Some("pw"))
        );
        assert_eq!(
            (i.databases, i.maxclients, i.timeout, i.tcp_keepalive),
            (4, 50, 9, 0)
        );
        assert_eq!((i.proactor_threads, i.num_shards), (3, 2));
        assert_eq!(
            (i.loglevel.as_str(), l.log_level.as_str()),
            ("verbose", "debug")
        );
    }

    #[test]
    fn help_shows_underscored_flags_and_defaults() {
        let help = Flags::command().render_long_help().to_string();
        for needle in [
            "--proactor_threads",
            "--num_shards",
            "--tcp_keepalive",
            "--log_level",
            "--dbnum",
            "[default: 6379]",
            "[default: 10000]",
            "[default: 300]",
            "[default: 16]",
            "[default: info]",
            "[default: \"* -::*\"]",
            "CONFIG_FILE",
        ] {
            assert!(help.contains(needle), "help lacks {needle:?}:\n{help}");
        }
    }

    #[test]
    fn bad_flags_are_errors() {
        assert!(load_from_args(args(&["--port", "70000"])).is_err());
        assert!(load_from_args(args(&["--log_level", "loud"])).is_err());
        assert!(load_from_args(args(&["--proactor-threads", "2"])).is_err());
        let e = load_from_args(args(&["--maxclients", "0"])).unwrap_err();
        assert!(
            e.contains("argument must be between 1 and 4294967295 inclusive"),
            "{e}"
        );
        let e = load_from_args(args(&["--bind", "nowhere"])).unwrap_err();
        assert_eq!(e, "invalid bind address 'nowhere'");
        assert!(load_from_args(args(&["--bind", " "])).is_err());
    }

    #[test]
    fn file_only() {
        let f = TempConf::new(concat!(
            "# darter test config\n",
            "\n",
            "PORT 7002\r\n",
            "bind 127.0.0.1 -::1\n",
            "  requirepass \"se cret\"  \n",
            "databases 8\n",
            "maxclients 100\n",
            "timeout 5\n",
            "tcp-keepalive 60\n",
            "loglevel warning\n",
            "proto-max-bulk-len 2mb\n",
            "client-query-buffer-limit 1gb\n",
            "hz 20\n",
            "hz 30\n",
            "proactor_threads 2\n",
            "num_shards 1\n",
        ));
        let l = load_from_args(args(&[&f.path()])).unwrap();
        let want = InitialConfig {
            port: 7002,
            bind: vec!["127.0.0.1".into(), "-::1".into()],
            requirepass: Some("se cret".into()),
            databases: 8,
            maxclients: 100,
            timeout: 5,
            tcp_keepalive: 60,
            loglevel: "warning".into(),
            proactor_threads: 2,
            num_shards: 1,
            extra: vec![
                ("proto-max-bulk-len".into(), "2mb".into()),
                ("client-query-buffer-limit".into(), "1gb".into()),
                ("hz".into(), "30".into()),
            ],
        };
        assert_eq!(
            l,
            Loaded {
                init: want,
                log_level: "warn".into()
            }
        );
        let store = ConfigStore::new(l.init).unwrap();
        assert_eq!(store.proto_max_bulk_len(), 2 << 20);
        assert_eq!(store.hz(), 30);
    }

    #[test]
    fn darter_names_in_file() {
        let f = TempConf::new("dbnum 3\nlog_level TRACE\nproactor_threads 0\nnum_shards 0\n");
        let l = load_from_args(args(&[&f.path()])).unwrap();
        assert_eq!(l.init.databases, 3);
        assert_eq!(
            (l.init.loglevel.as_str(), l.log_level.as_str()),
            ("debug", "trace")
        );
        assert_eq!(
            (l.init.proactor_threads, l.init.num_shards),
            (cpus(), cpus())
        );
    }

    #[test]
    fn flags_override_file() {
        let f = TempConf::new(
            "port 7003\ntimeout 5\nrequirepass filepw\nlog_level error\ndbnum 2\nbind 127.0.0.1\n",
        );
        let l = load_from_args(args(&[
            "--port",
            "7004",
            &f.path(),
            "--log_level",
            "info",
            "--requirepass",
            "",
        ]))
        .unwrap();
        assert_eq!(l.init.port, 7004);
        assert_eq!(l.init.timeout, 5); // from the file: not given as a flag
        assert_eq!(l.init.databases, 2);
        assert_eq!(l.init.bind, vec!["127.0.0.1".to_string()]);
        assert_eq!(l.init.requirepass, None); // an explicit empty flag clears the file's password
        assert_eq!(
            (l.init.loglevel.as_str(), l.log_level.as_str()),
            ("notice", "info")
        );
        // A flag given with its default value still wins over the file.
        let l = load_from_args(args(&[&f.path(), "--port", "6379"])).unwrap();
        assert_eq!(l.init.port, 6379);
        assert_eq!(l.init.requirepass.as_deref(), Some("filepw"));
        assert_eq!(
            (l.init.loglevel.as_str(), l.log_level.as_str()),
            ("warning", "error")
        );
    }

    #[test]
    fn memcached_flags_and_file() {
        let st = |a: &[&str]| ConfigStore::new(load_from_args(args(a)).unwrap().init).unwrap();
        let d = st(&[]);
        assert_eq!(
            (d.memcached_port(), d.memcached_max_item_size()),
            (0, 1 << 20)
        );
        let s = st(&[
            "--memcached_port",
            "11211",
            "--memcached_max_item_size",
            "2mb",
        ]);
        assert_eq!(
            (s.memcached_port(), s.memcached_max_item_size()),
            (11211, 2 << 20)
        );
        let f = TempConf::new("memcached_port 11311\nmemcached_max_item_size 4096\n");
        let s = st(&[&f.path()]);
        assert_eq!(
            (s.memcached_port(), s.memcached_max_item_size()),
            (11311, 4096)
        );
        let s = st(&[&f.path(), "--memcached_port", "0"]);
        assert_eq!(s.memcached_port(), 0);
        let e = load_from_args(args(&["--memcached_port", "70000"])).unwrap_err();
        assert!(e.contains("memcached_port"), "{e}");
    }

    #[test]
    fn notify_keyspace_events_in_a_config_file() {
        let f = TempConf::new("notify-keyspace-events EKx\n");
        let l = load_from_args(args(&[&f.path()])).unwrap();
        let st = ConfigStore::new(l.init).unwrap();
        assert_eq!(
            st.get(&[b"notify-keyspace-events"]),
            vec![("notify-keyspace-events".to_string(), "xKE".to_string())]
        );
        let f = TempConf::new("notify-keyspace-events \"\"\n");
        let l = load_from_args(args(&[&f.path()])).unwrap();
        assert_eq!(ConfigStore::new(l.init).unwrap().keyspace_events(), 0);
        let f = TempConf::new("notify-keyspace-events Q\n");
        let e = load_from_args(args(&[&f.path()])).unwrap_err();
        assert!(
            e.contains("Invalid event class character. Use 'Ag$lshzxeKEtmdn'."),
            "{e}"
        );
        let f = TempConf::new("notify-keyspace-events KE x\n");
        let e = load_from_args(args(&[&f.path()])).unwrap_err();
        assert!(e.contains("wrong number of arguments"), "{e}");
    }

    #[test]
    fn maxmemory_flag_and_file() {
        let l = load_from_args(args(&["--maxmemory", "512mb"])).unwrap();
        assert_eq!(ConfigStore::new(l.init).unwrap().maxmemory(), 512 << 20);
        let f = TempConf::new("maxmemory 1gb\nmaxmemory-policy noeviction\n");
        let l = load_from_args(args(&[&f.path()])).unwrap();
        assert_eq!(ConfigStore::new(l.init).unwrap().maxmemory(), 1 << 30);
        // The flag beats the file.
        let l = load_from_args(args(&[&f.path(), "--maxmemory", "1kb"])).unwrap();
        assert_eq!(ConfigStore::new(l.init).unwrap().maxmemory(), 1024);
        let e = load_from_args(args(&["--maxmemory", "lots"])).unwrap_err();
        assert!(e.contains("argument must be a memory value"), "{e}");
        let f = TempConf::new("maxmemory-policy allkeys-lru\n");
        let e = load_from_args(args(&[&f.path()])).unwrap_err();
        assert!(
            e.contains("argument(s) must be one of the following: noeviction"),
            "{e}"
        );
    }

    #[test]
    fn client_output_buffer_limit_lines_add_up_class_by_class() {
        let f = TempConf::new(
            "client-output-buffer-limit normal 1 2 3\nclient-output-buffer-limit pubsub 1mb 1kb 9\n",
        );
        let l = load_from_args(args(&[&f.path()])).unwrap();
        let store = ConfigStore::new(l.init).unwrap();
        let got = store.get(&[b"client-output-buffer-limit"]);
        assert_eq!(
            got[0].1,
            "normal 1 2 3 slave 268435456 67108864 60 pubsub 1048576 1024 9"
        );
        let f = TempConf::new("client-output-buffer-limit pubsub 1 2\n");
        let e = load_from_args(args(&[&f.path()])).unwrap_err();
        assert!(
            e.contains("Wrong number of arguments in buffer limit configuration."),
            "{e}"
        );
    }

    #[test]
    fn bad_lines_name_file_and_line() {
        let cases = [
            (
                "port 1\nfoo bar\n",
                2,
                "'foo bar'",
                "Bad directive or wrong number of arguments",
            ),
            (
                "# x\n\nmaxclients abc\n",
                3,
                "'maxclients abc'",
                "argument couldn't be parsed into an integer",
            ),
            (
                "timeout 1 2\n",
                1,
                "'timeout 1 2'",
                "wrong number of arguments",
            ),
            (
                "requirepass \"abc\n",
                1,
                "'requirepass \"abc'",
                "Unbalanced quotes in configuration line",
            ),
            (
                "requirepass \"abc\"x\n",
                1,
                "'requirepass \"abc\"x'",
                "Unbalanced quotes in configuration line",
            ),
            (
                "databases 0\n",
                1,
                "'databases 0'",
                "argument must be between 1 and 2147483647 inclusive",
            ),
            (
                "dbnum 0\n",
                1,
                "'dbnum 0'",
                "argument must be between 1 and 2147483647 inclusive",
            ),
            (
                "log_level loud\n",
                1,
                "'log_level loud'",
                "argument(s) must be one of the following: error, warn, info, debug, trace",
            ),
            (
                "loglevel info\n",
                1,
                "'loglevel info'",
                "argument(s) must be one of the following: debug, verbose, notice, warning",
            ),
            (
                "proto-max-bulk-len 5x\n",
                1,
                "'proto-max-bulk-len 5x'",
                "argument must be a memory value",
            ),
            (
                "port 6379 # comment\n",
                1,
                "'port 6379 # comment'",
                "wrong number of arguments",
            ),
            (
                "save 900 1\n",
                1,
                "'save 900 1'",
                "Bad directive or wrong number of arguments",
            ),
        ];
        for (body, line, shown, msg) in cases {
            let f = TempConf::new(body);
            let e = load_from_args(args(&[&f.path()])).unwrap_err();
            let want = format!(
                "*** FATAL CONFIG FILE ERROR ***\nReading the configuration file {}, at line {line}\n>>> {shown}\n{msg}",
                f.path()
            );
            assert_eq!(e, want);
        }
        let e = load_from_args(args(&["/nonexistent/darter.conf"])).unwrap_err();
        assert!(
            e.starts_with("Fatal error, can't open config file '/nonexistent/darter.conf'"),
            "{e}"
        );
    }

    #[test]
    fn quoting_follows_sdssplitargs() {
        let split = |s: &str| {
            split_args(s.as_bytes()).map(|v| {
                v.into_iter()
                    .map(|a| String::from_utf8_lossy(&a).into_owned())
                    .collect::<Vec<_>>()
            })
        };
        let v = |a: &[&str]| Some(a.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(split("a b\tc"), v(&["a", "b", "c"]));
        assert_eq!(split("  a   b  "), v(&["a", "b"]));
        assert_eq!(split(""), v(&[]));
        assert_eq!(split("\"a b\" c"), v(&["a b", "c"]));
        assert_eq!(split("\"\""), v(&[""]));
        assert_eq!(split("''"), v(&[""]));
        assert_eq!(split(r#""a\"b""#), v(&["a\"b"]));
        assert_eq!(split(r#""\n\r\t\\\q""#), v(&["\n\r\t\\q"]));
        assert_eq!(split(r#""\x41\x4a\x4""#), v(&["AJx4"]));
        assert_eq!(split(r"'it\'s' 'a\nb'"), v(&["it's", "a\\nb"]));
        assert_eq!(split("ab\"cd ef\" g"), v(&["abcd ef", "g"]));
        assert_eq!(split("a\"b\"c"), None);
        assert_eq!(split("'a'b"), None);
        assert_eq!(split("\"abc"), None);
        assert_eq!(split("'abc"), None);
        assert_eq!(split("\"a\\"), None);
        assert_eq!(split_args(b"\"\\xff\\x00\""), Some(vec![vec![0xff, 0x00]]));
    }

    #[test]
    fn quoted_values_in_a_file() {
        let f = TempConf::new("requirepass 'p w\\'d'\nbind \"127.0.0.1\" '::1'\n");
        let l = load_from_args(args(&[&f.path()])).unwrap();
        assert_eq!(l.init.requirepass.as_deref(), Some("p w'd"));
        assert_eq!(
            l.init.bind,
            vec!["127.0.0.1".to_string(), "::1".to_string()]
        );
        let f = TempConf::new("requirepass \"\\xff\"\n");
        let e = load_from_args(args(&[&f.path()])).unwrap_err();
        assert!(e.ends_with("argument is not valid UTF-8"), "{e}");
        let f = TempConf::new("requirepass \"\"\n");
        assert_eq!(
            load_from_args(args(&[&f.path()])).unwrap().init.requirepass,
            None
        );
    }

    #[test]
    fn bind_entries() {
        let b = |s: &str| parse_bind(s).unwrap();
        assert_eq!(
            b("*"),
            BindAddr {
                ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                optional: false
            }
        );
        assert_eq!(
            b("-::*"),
            BindAddr {
                ip: IpAddr::V6(Ipv6Addr::UNSPECIFIED),
                optional: true
            }
        );
        assert_eq!(b("localhost").ip, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(b("::1").ip, IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert_eq!(
            b("-10.0.0.1"),
            BindAddr {
                ip: "10.0.0.1".parse().unwrap(),
                optional: true
            }
        );
        assert!(parse_bind("example.com").is_err());
        assert!(parse_bind("").is_err());
    }
}
