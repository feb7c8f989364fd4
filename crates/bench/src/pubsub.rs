//! The `pubsub` subcommand: PUBLISH fan-out, redis-server and darter side by side. For each
//! server (fresh, on a free loopback port) and each round: `subscribers` connections SUBSCRIBE
//! to one channel, each read by its own thread; one publisher sends `messages` PUBLISHes in
//! pipelined batches and checks every reply counts every subscriber; the round ends when every
//! subscriber has read every message (counted in bytes: each message has the same encoding).
//! Prints deliveries per second and server CPU per delivery for both, and darter's ratios.
//! It must not leave servers running (guards drop on every path) and every read has a timeout.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use std::fmt::Write as _;

use crate::compare::{resolve_servers, workspace_root};
use crate::machine;
use crate::proc_stat;
use crate::report;
use crate::resp_client::push_command;
use crate::server::{self, Server, ServerSpec};

pub const USAGE: &str = "\
usage: darter-bench pubsub [options]

PUBLISH fan-out: N subscribers on one channel, one pipelined publisher,
redis-server and darter side by side; prints deliveries/s and server CPU
per delivery (medians over rounds) and darter's ratios.

options (defaults in brackets):
  --darter PATH          darter binary [<workspace>/target/release/darter]
  --redis PATH           redis-server binary [redis-server]
  --subscribers N        subscriber connections [100]
  --messages N           PUBLISHes per round [20000]
  --size N               message payload bytes [16]
  --pipeline N           PUBLISHes per write [16]
  --rounds N             rounds per server [3]
  --darter-threads N     darter --proactor_threads [1]
  -h, --help             this text";

#[derive(Debug, Clone, PartialEq)]
pub struct PubSubOpts {
    pub darter: Option<PathBuf>,
    pub redis: PathBuf,
    pub subscribers: usize,
    pub messages: usize,
    pub size: usize,
    pub pipeline: usize,
    pub rounds: usize,
    pub darter_threads: usize,
}

impl Default for PubSubOpts {
    fn default() -> Self {
        PubSubOpts {
            darter: None,
            redis: PathBuf::from("redis-server"),
            subscribers: 100,
            messages: 20_000,
            size: 16,
            pipeline: 16,
            rounds: 3,
            darter_threads: 1,
        }
    }
}

/// None: `--help`.
pub fn parse(argv: &[String]) -> Result<Option<PubSubOpts>, String> {
    let mut o = PubSubOpts::default();
    let mut it = argv.iter();
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value"))?
            .as_str();
        let num = || {
            value
                .parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| format!("{flag}: expected a positive integer, got {value:?}"))
        };
        match flag.as_str() {
            "--darter" => o.darter = Some(PathBuf::from(value)),
            "--redis" => o.redis = PathBuf::from(value),
            "--subscribers" => o.subscribers = num()?,
            "--messages" => o.messages = num()?,
            "--size" => o.size = num()?,
            "--pipeline" => o.pipeline = num()?,
            "--rounds" => o.rounds = num()?,
            "--darter-threads" => o.darter_threads = num()?,
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    Ok(Some(o))
}

const CHANNEL: &[u8] = b"bench";
const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// One round's measurement.
struct Sample {
    secs: f64,
    cpu_secs: f64,
}

fn connect(port: u16) -> Result<TcpStream, String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let s = TcpStream::connect_timeout(&addr, IO_TIMEOUT).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(IO_TIMEOUT)).ok();
    s.set_nodelay(true).ok();
    Ok(s)
}

fn read_exact(s: &mut TcpStream, n: usize, what: &str) -> Result<Vec<u8>, String> {
    let mut buf = vec![0u8; n];
    s.read_exact(&mut buf)
        .map_err(|e| format!("reading {what}: {e}"))?;
    Ok(buf)
}

/// `:<n>\r\n`
fn int_reply(n: usize) -> Vec<u8> {
    format!(":{n}\r\n").into_bytes()
}

fn round(port: u16, server: &Server, o: &PubSubOpts) -> Result<Sample, String> {
    let payload = vec![b'x'; o.size];
    let mut message = Vec::new();
    crate::resp_client::push_header(&mut message, b'*', 3);
    for part in [&b"message"[..], CHANNEL, &payload] {
        crate::resp_client::push_bulk(&mut message, part);
    }
    let mut confirm = Vec::new();
    crate::resp_client::push_header(&mut confirm, b'*', 3);
    crate::resp_client::push_bulk(&mut confirm, b"subscribe");
    crate::resp_client::push_bulk(&mut confirm, CHANNEL);
    confirm.extend_from_slice(b":1\r\n");

    let mut readers = Vec::new();
    for _ in 0..o.subscribers {
        let mut s = connect(port)?;
        let mut req = Vec::new();
        push_command(&mut req, &[b"SUBSCRIBE", CHANNEL]);
        s.write_all(&req).map_err(|e| format!("subscribe: {e}"))?;
        if read_exact(&mut s, confirm.len(), "subscribe reply")? != confirm {
            return Err("unexpected SUBSCRIBE reply".into());
        }
        let total = message.len() * o.messages;
        let last = message.clone();
        readers.push(std::thread::spawn(move || -> Result<(), String> {
            let mut buf = vec![0u8; 64 * 1024];
            let mut got = 0;
            let mut tail = Vec::new();
            while got < total {
                let n = s
                    .read(&mut buf[..(total - got).min(64 * 1024)])
                    .map_err(|e| format!("subscriber read: {e}"))?;
                if n == 0 {
                    return Err("subscriber closed".into());
                }
                got += n;
                tail.extend_from_slice(&buf[..n]);
                if tail.len() > 2 * last.len() {
                    tail.drain(..tail.len() - last.len());
                }
            }
            if !tail.ends_with(&last) {
                return Err("the last message read is not the expected one".into());
            }
            Ok(())
        }));
    }

    let mut publisher = connect(port)?;
    let mut batch = Vec::new();
    for _ in 0..o.pipeline {
        push_command(&mut batch, &[b"PUBLISH", CHANNEL, &payload]);
    }
    let want: Vec<u8> = int_reply(o.subscribers).repeat(o.pipeline);
    let cpu0 = server.cpu_ticks()?;
    let t0 = Instant::now();
    let mut sent = 0;
    while sent < o.messages {
        let k = o.pipeline.min(o.messages - sent);
        let bytes = batch.len() / o.pipeline * k;
        publisher
            .write_all(&batch[..bytes])
            .map_err(|e| format!("publish: {e}"))?;
        let r = read_exact(
            &mut publisher,
            want.len() / o.pipeline * k,
            "PUBLISH replies",
        )?;
        if r[..] != want[..r.len()] {
            return Err(format!(
                "PUBLISH did not count {} receivers: {}",
                o.subscribers,
                String::from_utf8_lossy(&r)
            ));
        }
        sent += k;
    }
    for r in readers {
        r.join().map_err(|_| "subscriber thread panicked")??;
    }
    let secs = t0.elapsed().as_secs_f64();
    let cpu_secs = (server.cpu_ticks()? - cpu0) as f64 / proc_stat::clock_ticks_per_sec() as f64;
    Ok(Sample { secs, cpu_secs })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

pub fn run(o: &PubSubOpts) -> Result<(), String> {
    let (darter_bin, redis_bin) = resolve_servers(o.darter.as_deref(), &o.redis)?;
    let log_dir = std::env::temp_dir().join(format!("darter-bench-pubsub-{}", std::process::id()));
    std::fs::create_dir_all(&log_dir).map_err(|e| format!("{}: {e}", log_dir.display()))?;
    let ports = server::free_ports(2).map_err(|e| format!("cannot pick free ports: {e}"))?;
    let specs = [
        ServerSpec::redis(&redis_bin, ports[0], &[], None),
        ServerSpec {
            name: "darter".into(),
            program: darter_bin,
            args: vec![
                "--port".into(),
                ports[1].to_string(),
                "--proactor_threads".into(),
                o.darter_threads.to_string(),
            ],
            cpu: None,
        },
    ];
    let deliveries = (o.messages * o.subscribers) as f64;
    let mut results = Vec::new();
    for (spec, &port) in specs.iter().zip(&ports) {
        let server = Server::start(spec, port, &log_dir.join(format!("{}.log", spec.name)))?;
        let mut rate = Vec::new();
        let mut cpu_ns = Vec::new();
        for _ in 0..o.rounds {
            let s = round(port, &server, o)?;
            rate.push(deliveries / s.secs);
            cpu_ns.push(s.cpu_secs * 1e9 / deliveries);
        }
        results.push((
            spec.name.clone(),
            spec.command_line(),
            median(rate),
            median(cpu_ns),
        ));
    }
    let mut out = String::new();
    let _ = writeln!(out, "# PUBLISH fan-out: darter vs redis-server\n");
    let m = machine::collect();
    report::machine_lines(&mut out, &m);
    let _ = writeln!(
        out,
        "\n{} subscribers on one channel, {} messages of {} bytes from one publisher, pipeline {}, \
         {} rounds per server (medians); no CPU pinning (the subscribers' reader threads share the \
         machine with the servers).\n",
        o.subscribers, o.messages, o.size, o.pipeline, o.rounds
    );
    let _ = writeln!(
        out,
        "| server | deliveries/s | server CPU ns/delivery | command |"
    );
    let _ = writeln!(out, "| --- | ---: | ---: | --- |");
    for (name, cmd, rate, cpu) in &results {
        let _ = writeln!(out, "| {name} | {rate:.0} | {cpu:.1} | `{cmd}` |");
    }
    let (r, d) = (&results[0], &results[1]);
    let _ = writeln!(
        out,
        "\ndarter/redis: throughput {:.2}x, CPU per delivery {:.2}x",
        d.2 / r.2,
        d.3 / r.3
    );
    print!("{out}");
    let dir = workspace_root().join("bench/results");
    let name = format!("pubsub-t{}-p{}-latest.md", o.darter_threads, o.pipeline);
    let path = report::write_atomic(&dir, &name, &out)?;
    println!("\nwritten to {}", path.display());
    Ok(())
}
