//! Socket tests for the server family (DBSIZE FLUSHDB FLUSHALL SWAPDB TIME INFO CONFIG DEBUG
//! SHUTDOWN) and COMMAND, against an in-process darter with three shards, plus the differential
//! scripts run against a real redis-server 7.0.15.

use darter_resp::Frame;
use darter_testkit::{run_script, RawClient, RedisServer, TestOptions, TestServer};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

fn bulk_text(f: &Frame) -> String {
    match f {
        Frame::Bulk(b) | Frame::Simple(b) => String::from_utf8_lossy(b).into_owned(),
        Frame::Verbatim(_, b) => String::from_utf8_lossy(b).into_owned(),
        other => panic!("not a string reply: {other:?}"),
    }
}

/// `count` keys whose names land on every one of darter's `shards` shards.
fn keys_on_all_shards(prefix: &str, shards: usize, count: usize) -> Vec<String> {
    let mut keys = Vec::new();
    let mut seen = vec![false; shards];
    let mut i = 0;
    while keys.len() < count || seen.iter().any(|s| !s) {
        let k = format!("{prefix}{i}");
        let s = darter_engine::shard_of(k.as_bytes(), shards);
        if keys.len() < count || !seen[s] {
            seen[s] = true;
            keys.push(k);
        }
        i += 1;
    }
    keys
}

fn assert_no_reports(reports: Vec<darter_testkit::DiffReport>) {
    if !reports.is_empty() {
        for r in &reports {
            eprintln!("{r}");
        }
        panic!("{} differences from redis-server", reports.len());
    }
}

/// DEBUG's argument handling, against a Redis that allows DEBUG. (DEBUG HELP differs on purpose:
/// darter lists only the subcommands it implements; DEBUG OBJECT's address and LRU fields vary.)
const DEBUG_SCRIPT: &str = r#"
DEBUG
DEBUG nosuch
DEBUG nosuch a b
DEBUG Object
DEBUG object a b
DEBUG sleep
DEBUG sleep 0 1
DEBUG sleep 0
DEBUG SLEEP 0.001
DEBUG sleep x
DEBUG sleep -1
DEBUG sleep inf
DEBUG sleep 1e-3
DEBUG set-active-expire
DEBUG set-active-expire 1 2
DEBUG set-active-expire 0
DEBUG set-active-expire x
DEBUG set-active-expire 2
DEBUG set-active-expire 1
DEBUG help x
DEBUG object nosuch
SET k hello
!type DEBUG object k
SET n 123
!type DEBUG OBJECT n
"#;

#[test]
fn debug_arguments_match_redis() {
    if !RedisServer::available() {
        eprintln!("redis-server not installed; skipping");
        return;
    }
    let redis = RedisServer::start_with_args(&["--enable-debug-command", "yes"]);
    let darter = TestServer::start();
    assert_no_reports(run_script(
        DEBUG_SCRIPT,
        || redis.client(),
        || darter.client(),
    ));
}

/// COMMAND INFO for every command darter registers, against Redis. Redis orders subcommands by
/// its hash table (randomly per process) and lists all of them; darter lists the implemented
/// ones, so containers are compared on darter's subcommands, both sides sorted by name.
#[test]
fn command_info_of_every_command_matches_redis() {
    if !RedisServer::available() {
        eprintln!("redis-server not installed; skipping");
        return;
    }
    let redis = RedisServer::start();
    let darter = TestServer::start();
    for proto in ["2", "3"] {
        let mut r = redis.client();
        let mut d = darter.client();
        r.cmd(&["HELLO", proto]);
        d.cmd(&["HELLO", proto]);
        let Frame::Array(names) = d.cmd_frame(&["COMMAND", "LIST"]) else {
            panic!("COMMAND LIST is not an array");
        };
        let names: Vec<String> = names.iter().map(bulk_text).collect();
        assert!(names.iter().any(|n| n == "config|get"));
        // Newer than Redis 7.0 (registry.rs's SUPPLEMENT): Redis 7.0 does not know them.
        let names: Vec<String> = names
            .into_iter()
            .filter(|n| !NEWER_THAN_7_0.contains(&n.as_str()))
            .collect();
        let top: Vec<&String> = names.iter().filter(|n| !n.contains('|')).collect();
        assert_eq!(
            d.cmd(&["COMMAND", "COUNT"]),
            format!(":{}\r\n", top.len()),
            "COUNT counts top-level commands"
        );
        for name in &names {
            let want = normalize(r.cmd_frame(&["COMMAND", "INFO", name]), &names);
            let got = normalize(d.cmd_frame(&["COMMAND", "INFO", name]), &names);
            assert_eq!(got, want, "COMMAND INFO {name} (RESP{proto})");
        }
        // The bare form and INFO without names describe every command.
        let Frame::Array(all) = d.cmd_frame(&["COMMAND", "INFO"]) else {
            panic!("COMMAND INFO is not an array");
        };
        assert_eq!(all.len(), top.len());
    }
}

/// Subcommands darter implements from later Redis versions (clients send them).
const NEWER_THAN_7_0: &[&str] = &["client|setinfo"];

/// Keeps only the subcommands both implement (`names`: darter's, less the newer ones) and sorts
/// them.
fn normalize(f: Frame, names: &[String]) -> Frame {
    let Frame::Array(mut entries) = f else {
        return f;
    };
    for e in &mut entries {
        if let Frame::Array(fields) = e {
            if let Some(Frame::Array(subs)) = fields.get_mut(9) {
                subs.retain(|s| match s {
                    Frame::Array(sf) => names.contains(&bulk_text(&sf[0])),
                    _ => true,
                });
                subs.sort_by_key(|s| match s {
                    Frame::Array(sf) => bulk_text(&sf[0]),
                    _ => String::new(),
                });
            }
        }
    }
    Frame::Array(entries)
}

#[test]
fn bare_command_lists_everything() {
    let darter = TestServer::start();
    let mut c = darter.client();
    let Frame::Array(all) = c.cmd_frame(&["COMMAND"]) else {
        panic!("COMMAND is not an array");
    };
    let count = c.cmd(&["COMMAND", "COUNT"]);
    assert_eq!(count, format!(":{}\r\n", all.len()));
}

#[test]
fn command_getkeys_and_list() {
    let darter = TestServer::start();
    let mut c = darter.client();
    assert_eq!(
        c.cmd(&["COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"]),
        "*2\r\n$1\r\na\r\n$1\r\nb\r\n"
    );
    assert_eq!(
        c.cmd(&["COMMAND", "GETKEYSANDFLAGS", "GET", "k"]),
        "*1\r\n*2\r\n$1\r\nk\r\n*2\r\n+RO\r\n+access\r\n"
    );
    // A command Redis has but darter does not implement is unknown here too.
    if c.cmd(&["COMMAND", "INFO", "zunionstore"]) == "*1\r\n$-1\r\n" {
        assert_eq!(
            c.cmd(&["COMMAND", "GETKEYS", "ZUNIONSTORE", "d", "1", "a"]),
            "-ERR Invalid command specified\r\n"
        );
    }
    assert_eq!(
        c.cmd(&["COMMAND", "GETKEYS", "CONFIG", "GET", "x"]),
        "-ERR The command has no key arguments\r\n"
    );
    assert_eq!(
        c.cmd(&["COMMAND", "LIST", "FILTERBY", "PATTERN", "config|*"]),
        "*4\r\n$10\r\nconfig|get\r\n$11\r\nconfig|help\r\n$16\r\nconfig|resetstat\r\n$10\r\nconfig|set\r\n"
    );
    let Frame::Array(admin) = c.cmd_frame(&["COMMAND", "LIST", "FILTERBY", "ACLCAT", "ADMIN"])
    else {
        panic!("not an array");
    };
    let admin: Vec<String> = admin.iter().map(bulk_text).collect();
    for want in ["config|get", "shutdown", "debug"] {
        assert!(admin.contains(&want.to_string()), "{want} in {admin:?}");
    }
    assert!(!admin.contains(&"config".to_string()));
    assert_eq!(
        c.cmd(&["COMMAND", "DOCS"]),
        "-ERR unknown subcommand 'DOCS'. Try COMMAND HELP.\r\n"
    );
}

#[test]
fn flushdb_flushall_and_dbsize_span_every_shard() {
    let darter = TestServer::start();
    let mut c = darter.client();
    let keys = keys_on_all_shards("k", 3, 30);
    for db in ["0", "1"] {
        c.cmd(&["SELECT", db]);
        for k in &keys {
            assert_eq!(c.cmd(&["SET", k, "v"]), "+OK\r\n");
        }
        assert_eq!(c.cmd(&["DBSIZE"]), format!(":{}\r\n", keys.len()));
    }
    c.cmd(&["SELECT", "0"]);
    assert_eq!(c.cmd(&["FLUSHDB"]), "+OK\r\n");
    assert_eq!(c.cmd(&["DBSIZE"]), ":0\r\n");
    c.cmd(&["SELECT", "1"]);
    assert_eq!(c.cmd(&["DBSIZE"]), format!(":{}\r\n", keys.len()));
    assert_eq!(c.cmd(&["FLUSHALL", "ASYNC"]), "+OK\r\n");
    assert_eq!(c.cmd(&["DBSIZE"]), ":0\r\n");
    for k in &keys {
        assert_eq!(c.cmd(&["GET", k]), "$-1\r\n");
    }
}

#[test]
fn swapdb_swaps_on_every_shard_for_every_client() {
    let darter = TestServer::start();
    let mut a = darter.client();
    let mut b = darter.client();
    let keys = keys_on_all_shards("s", 3, 12);
    for k in &keys {
        a.cmd(&["SET", k, "zero"]);
    }
    b.cmd(&["SELECT", "1"]);
    b.cmd(&["SET", "only-in-one", "one"]);
    assert_eq!(a.cmd(&["SWAPDB", "0", "1"]), "+OK\r\n");
    assert_eq!(a.cmd(&["DBSIZE"]), ":1\r\n");
    assert_eq!(a.cmd(&["GET", "only-in-one"]), "$3\r\none\r\n");
    assert_eq!(b.cmd(&["DBSIZE"]), format!(":{}\r\n", keys.len()));
    for k in &keys {
        assert_eq!(b.cmd(&["GET", k]), "$4\r\nzero\r\n");
        assert_eq!(a.cmd(&["GET", k]), "$-1\r\n");
    }
    assert_eq!(b.cmd(&["SWAPDB", "1", "0"]), "+OK\r\n");
    assert_eq!(a.cmd(&["DBSIZE"]), format!(":{}\r\n", keys.len()));
    assert_eq!(
        a.cmd(&["SWAPDB", "0", "16"]),
        "-ERR DB index is out of range\r\n"
    );
}

/// Writers replace the same cross-shard keys with MSET while another client FLUSHALLs and a
/// reader MGETs them: every MGET sees all keys from one MSET, or none, never a keyspace flushed
/// on some shards only.
#[test]
fn flushall_is_atomic_under_concurrent_writers() {
    const ROUNDS: usize = 300;
    let darter = TestServer::start();
    let keys = keys_on_all_shards("atomic", 3, 3);
    assert!(keys.len() >= 3);
    let done = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..2 {
        let mut c = darter.client();
        let keys = keys.clone();
        writers.push(std::thread::spawn(move || {
            for i in 0..ROUNDS {
                let v = format!("w{w}-{i}");
                let mut args = vec!["MSET".to_string()];
                for k in &keys {
                    args.push(k.clone());
                    args.push(v.clone());
                }
                assert_eq!(c.cmd(&args), "+OK\r\n");
            }
        }));
    }
    let flusher = {
        let mut c = darter.client();
        let done = done.clone();
        std::thread::spawn(move || {
            let mut n = 0;
            while !done.load(Ordering::Relaxed) || n < 10 {
                assert_eq!(c.cmd(&["FLUSHALL"]), "+OK\r\n");
                n += 1;
            }
            n
        })
    };
    let mut reader = darter.client();
    let mut mget = vec!["MGET".to_string()];
    mget.extend(keys.iter().cloned());
    let (mut empty, mut full) = (0, 0);
    loop {
        let finished = writers.iter().all(|w| w.is_finished());
        let Frame::Array(vals) = reader.cmd_frame(&mget) else {
            panic!("MGET is not an array");
        };
        if vals.iter().all(|v| *v == Frame::Null) {
            empty += 1;
        } else {
            assert!(
                vals.iter().all(|v| *v == vals[0]),
                "MGET saw a partial flush or a partial MSET: {vals:?}"
            );
            full += 1;
        }
        if finished {
            break;
        }
    }
    for w in writers {
        w.join().expect("writer");
    }
    done.store(true, Ordering::Relaxed);
    let flushes = flusher.join().expect("flusher");
    assert!(
        flushes >= 10 && empty + full > 0,
        "{flushes} {empty} {full}"
    );
}

/// Parses INFO text into sections of (key, value), checking the format of every line.
fn parse_info(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    assert!(text.ends_with("\r\n"), "INFO ends with CRLF");
    let mut out = BTreeMap::new();
    let mut current = None;
    let mut order = Vec::new();
    for line in text.split("\r\n") {
        if line.is_empty() {
            continue;
        }
        if let Some(title) = line.strip_prefix("# ") {
            current = Some(title.to_string());
            order.push(title.to_string());
            out.insert(title.to_string(), BTreeMap::new());
            continue;
        }
        let (k, v) = line
            .split_once(':')
            .unwrap_or_else(|| panic!("INFO line is not key:value: {line:?}"));
        assert!(
            !k.is_empty() && k.bytes().all(|b| b.is_ascii_graphic()),
            "bad key {k:?}"
        );
        let sect = current.clone().expect("field before any section");
        out.get_mut(&sect)
            .expect("section")
            .insert(k.into(), v.into());
    }
    // Sections are separated by exactly one blank line.
    assert!(!text.contains("\r\n\r\n\r\n"));
    out
}

#[test]
fn info_fields_are_present_and_parseable() {
    let darter = TestServer::start();
    let mut c = darter.client();
    c.cmd(&["SET", "plain", "v"]);
    c.cmd(&["SET", "ttl", "v", "EX", "100"]);
    c.cmd(&["GET", "plain"]);
    c.cmd(&["GET", "missing"]);
    c.cmd(&["CONFIG", "GET", "maxclients"]);
    c.cmd(&["GET"]);
    let text = bulk_text(&c.cmd_frame(&["INFO"]));
    let info = parse_info(&text);
    let titles: Vec<&str> = text
        .split("\r\n")
        .filter_map(|l| l.strip_prefix("# "))
        .collect();
    assert_eq!(
        titles,
        [
            "Server",
            "Clients",
            "Memory",
            "Persistence",
            "Stats",
            "Replication",
            "CPU",
            "Modules",
            "Errorstats",
            "Cluster",
            "Keyspace"
        ]
    );
    let f = |s: &str, k: &str| -> String {
        info[s]
            .get(k)
            .unwrap_or_else(|| panic!("INFO {s} has no {k}"))
            .clone()
    };
    assert_eq!(f("Server", "redis_version"), "7.0.15");
    assert_eq!(f("Server", "darter_version"), env!("CARGO_PKG_VERSION"));
    assert_eq!(f("Server", "redis_mode"), "standalone");
    assert_eq!(f("Server", "arch_bits"), "64");
    assert_eq!(f("Server", "tcp_port"), darter.addr().port().to_string());
    assert_eq!(f("Server", "process_id"), std::process::id().to_string());
    assert_eq!(f("Server", "run_id").len(), 40);
    for k in [
        "uptime_in_seconds",
        "server_time_usec",
        "lru_clock",
        "hz",
        "configured_hz",
    ] {
        f("Server", k).parse::<u64>().expect(k);
    }
    assert!(f("Clients", "connected_clients").parse::<u64>().unwrap() >= 1);
    assert_eq!(f("Clients", "maxclients"), "10000");
    assert!(f("Memory", "used_memory").parse::<u64>().unwrap() > 0);
    assert_eq!(f("Memory", "maxmemory"), "0");
    assert_eq!(f("Memory", "maxmemory_policy"), "noeviction");
    assert_eq!(f("Persistence", "loading"), "0");
    assert_eq!(f("Persistence", "aof_enabled"), "0");
    assert!(
        f("Stats", "total_commands_processed")
            .parse::<u64>()
            .unwrap()
            >= 5
    );
    f("Stats", "instantaneous_ops_per_sec")
        .parse::<u64>()
        .unwrap();
    f("Stats", "instantaneous_input_kbps")
        .parse::<f64>()
        .unwrap();
    assert!(f("Stats", "total_net_input_bytes").parse::<u64>().unwrap() > 0);
    assert!(f("Stats", "total_error_replies").parse::<u64>().unwrap() >= 1);
    assert!(f("Stats", "keyspace_hits").parse::<u64>().unwrap() >= 1);
    assert!(f("Stats", "keyspace_misses").parse::<u64>().unwrap() >= 1);
    assert_eq!(f("Replication", "role"), "master");
    assert_eq!(f("Replication", "connected_slaves"), "0");
    assert_eq!(f("Replication", "master_replid").len(), 40);
    f("CPU", "used_cpu_user").parse::<f64>().unwrap();
    f("CPU", "used_cpu_sys").parse::<f64>().unwrap();
    assert!(f("Errorstats", "errorstat_ERR").starts_with("count="));
    assert_eq!(f("Cluster", "cluster_enabled"), "0");
    let db0 = f("Keyspace", "db0");
    assert!(db0.starts_with("keys=2,expires=1,avg_ttl="), "{db0}");
    let ttl: u64 = db0.rsplit('=').next().unwrap().parse().unwrap();
    assert!(ttl > 0 && ttl <= 100_000, "{db0}");

    let all = parse_info(&bulk_text(&c.cmd_frame(&["INFO", "ALL"])));
    let stats = &all["Commandstats"];
    let get = &stats["cmdstat_get"];
    assert!(get.starts_with("calls=2,usec="), "{get}");
    assert!(get.ends_with(",rejected_calls=1,failed_calls=0"), "{get}");
    assert!(stats["cmdstat_config|get"].starts_with("calls=1,"));
    assert!(!stats.contains_key("cmdstat_config"));
    assert_eq!(
        parse_info(&bulk_text(&c.cmd_frame(&["INFO", "everything"]))).len(),
        all.len()
    );

    // CONFIG RESETSTAT clears command, error and server counters.
    assert_eq!(c.cmd(&["CONFIG", "RESETSTAT"]), "+OK\r\n");
    let after = parse_info(&bulk_text(&c.cmd_frame(&[
        "INFO",
        "stats",
        "errorstats",
        "commandstats",
    ])));
    assert_eq!(after["Stats"]["total_error_replies"], "0");
    assert_eq!(after["Stats"]["keyspace_hits"], "0");
    assert_eq!(after["Stats"]["total_connections_received"], "0");
    assert!(after["Errorstats"].is_empty());
    let cmds: Vec<&String> = after["Commandstats"].keys().collect();
    assert_eq!(cmds, ["cmdstat_config|resetstat"]);
    assert_eq!(
        after["Stats"]["total_commands_processed"], "1",
        "only RESETSTAT itself"
    );

    // RESP3: a verbatim string.
    c.cmd(&["HELLO", "3"]);
    let raw = c.cmd_raw(&["INFO", "cluster"]);
    assert_eq!(raw, b"=34\r\ntxt:# Cluster\r\ncluster_enabled:0\r\n\r\n");
}

#[test]
fn config_get_set_round_trips() {
    let darter = TestServer::start();
    let mut c = darter.client();
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "maxclients", "50", "timeout", "30"]),
        "+OK\r\n"
    );
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "maxclients"]),
        "*2\r\n$10\r\nmaxclients\r\n$2\r\n50\r\n"
    );
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "timeout"]),
        "*2\r\n$7\r\ntimeout\r\n$2\r\n30\r\n"
    );
    let info = parse_info(&bulk_text(&c.cmd_frame(&["INFO", "clients"])));
    assert_eq!(info["Clients"]["maxclients"], "50");
    assert_eq!(c.cmd(&["CONFIG", "SET", "hz", "1000"]), "+OK\r\n");
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "hz"]),
        "*2\r\n$2\r\nhz\r\n$3\r\n500\r\n"
    );
    let info = parse_info(&bulk_text(&c.cmd_frame(&["INFO", "server"])));
    assert_eq!(info["Server"]["configured_hz"], "500");
    // All or nothing: a bad second pair leaves the first unapplied.
    assert!(c
        .cmd(&["CONFIG", "SET", "maxclients", "60", "timeout", "x"])
        .starts_with("-ERR CONFIG SET failed"));
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "maxclients"]),
        "*2\r\n$10\r\nmaxclients\r\n$2\r\n50\r\n"
    );
    // A password set at runtime applies to new connections.
    assert_eq!(c.cmd(&["CONFIG", "SET", "requirepass", "pw"]), "+OK\r\n");
    let mut other = darter.client();
    assert_eq!(
        other.cmd(&["DBSIZE"]),
        "-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(other.cmd(&["AUTH", "pw"]), "+OK\r\n");
    assert_eq!(other.cmd(&["CONFIG", "SET", "requirepass", ""]), "+OK\r\n");
    // RESP3 replies with a map.
    c.cmd(&["HELLO", "3"]);
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "timeout"]),
        "%1\r\n$7\r\ntimeout\r\n$2\r\n30\r\n"
    );
}

#[test]
fn time_follows_the_engine_clock() {
    let darter = TestServer::start_with(TestOptions {
        manual_clock: true,
        ..TestOptions::default()
    });
    let mut c = darter.client();
    let secs = |c: &mut RawClient| -> (u64, u64) {
        let Frame::Array(v) = c.cmd_frame(&["TIME"]) else {
            panic!("TIME is not an array");
        };
        (
            bulk_text(&v[0]).parse().unwrap(),
            bulk_text(&v[1]).parse().unwrap(),
        )
    };
    let (s0, us0) = secs(&mut c);
    assert!(us0 < 1_000_000);
    darter.advance_ms(5000);
    let (s1, _) = secs(&mut c);
    assert_eq!(s1, s0 + 5);
}

#[test]
fn debug_object_sleep_and_active_expire() {
    let darter = TestServer::start();
    let mut c = darter.client();
    c.cmd(&["SET", "k", "hello"]);
    let line = c.cmd(&["DEBUG", "OBJECT", "k"]);
    assert!(line.starts_with("+Value at:0x"), "{line}");
    assert!(
        line.contains(" refcount:1 encoding:embstr serializedlength:6 lru:"),
        "{line}"
    );
    assert!(line.ends_with(" lru_seconds_idle:0\r\n"), "{line}");
    assert_eq!(c.cmd(&["DEBUG", "OBJECT", "nope"]), "-ERR no such key\r\n");
    let help = c.cmd_frame(&["DEBUG", "HELP"]);
    assert!(matches!(help, Frame::Array(ref l) if l.len() == 16));

    // DEBUG SET-ACTIVE-EXPIRE reaches every shard.
    let engine = darter.server().engine.clone();
    let flags = move || {
        let engine = engine.clone();
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(async move { engine.on_all_shards(|s| s.active_expire).await })
    };
    assert_eq!(c.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), "+OK\r\n");
    assert_eq!(flags(), [false, false, false]);
    assert_eq!(c.cmd(&["DEBUG", "set-active-expire", "1"]), "+OK\r\n");
    assert_eq!(flags(), [true, true, true]);

    // DEBUG SLEEP pauses only its connection: clients on every thread (including the sleeper's,
    // as connections are spread round-robin over three threads) keep being served.
    let mut sleeper = darter.client();
    sleeper.send_raw(b"*3\r\n$5\r\nDEBUG\r\n$5\r\nSLEEP\r\n$2\r\n30\r\n");
    for _ in 0..3 {
        let mut other = darter.client();
        assert_eq!(other.cmd(&["PING"]), "+PONG\r\n");
    }
    assert_eq!(c.cmd(&["DEBUG", "SLEEP", "0"]), "+OK\r\n");
}

#[test]
fn shutdown_closes_the_connection() {
    let darter = TestServer::start();
    let mut c = darter.client();
    assert_eq!(
        c.cmd(&["SHUTDOWN", "ABORT"]),
        "-ERR No shutdown in progress.\r\n"
    );
    assert_eq!(
        c.cmd(&["SHUTDOWN", "SAVE"]),
        "-ERR Errors trying to SHUTDOWN. Check logs.\r\n"
    );
    assert_eq!(
        c.cmd(&["SHUTDOWN", "NOSAVE", "SAVE"]),
        "-ERR syntax error\r\n"
    );
    assert!(!darter.server().shutting_down.load(Ordering::SeqCst));
    c.send_raw(b"*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n");
    assert!(c.try_read_reply_raw().is_none(), "no reply, just a close");
    assert!(darter.server().shutting_down.load(Ordering::SeqCst));
}
