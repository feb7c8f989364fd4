//! `mcbench`: a memcached text-protocol load generator for `bench/memcached.sh`.
//!
//! One thread (pin it with `taskset`), one tokio current-thread runtime, N connections each doing
//! one request at a time: a `get` with probability `--get-ratio`, else a `set`, on keys drawn
//! uniformly from `--keys`, `--data-size`-byte values. The keyspace is loaded first (pipelined
//! sets), then requests run for `--seconds`; it prints `ops_per_sec=<n> gets=<n> sets=<n>
//! hits=<n>`. It measures one server per run and never starts or stops one.

use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Opts {
    addr: String,
    conns: usize,
    seconds: u64,
    get_ratio: f64,
    keys: u64,
    data_size: usize,
}

fn parse() -> Result<Opts, String> {
    let mut o = Opts {
        addr: "127.0.0.1:11211".into(),
        conns: 50,
        seconds: 10,
        get_ratio: 0.9,
        keys: 100_000,
        data_size: 16,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let v = args
            .get(i + 1)
            .ok_or(format!("{} needs a value", args[i]))?;
        let num = |v: &str| v.parse::<u64>().map_err(|e| format!("{}: {e}", args[i]));
        match args[i].as_str() {
            "--addr" => o.addr = v.clone(),
            "--conns" => o.conns = num(v)? as usize,
            "--seconds" => o.seconds = num(v)?,
            "--keys" => o.keys = num(v)?.max(1),
            "--data-size" => o.data_size = num(v)? as usize,
            "--get-ratio" => o.get_ratio = v.parse().map_err(|e| format!("--get-ratio: {e}"))?,
            other => return Err(format!("unknown option {other}")),
        }
        i += 2;
    }
    Ok(o)
}

/// xorshift64*: cheap, deterministic per connection.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545F4914F6CDD1D)
    }
}

/// Reads until `buf` ends a complete reply: `STORED\r\n`, or a get's `END\r\n`.
async fn read_reply(s: &mut TcpStream, buf: &mut Vec<u8>, get: bool) -> std::io::Result<bool> {
    buf.clear();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if get && buf.ends_with(b"END\r\n") {
            return Ok(buf.starts_with(b"VALUE "));
        }
        if !get && buf.ends_with(b"\r\n") {
            return Ok(true);
        }
    }
}

async fn load(o: &Opts, value: &[u8]) -> std::io::Result<()> {
    let mut s = TcpStream::connect(&o.addr).await?;
    let mut buf = Vec::new();
    let batch = 1000u64;
    let mut k = 0;
    while k < o.keys {
        let mut req = Vec::new();
        let end = (k + batch).min(o.keys);
        for i in k..end {
            req.extend_from_slice(
                format!("set key:{i:012} 0 0 {} noreply\r\n", value.len()).as_bytes(),
            );
            req.extend_from_slice(value);
            req.extend_from_slice(b"\r\n");
        }
        req.extend_from_slice(b"get key:000000000000\r\n");
        s.write_all(&req).await?;
        read_reply(&mut s, &mut buf, true).await?;
        k = end;
    }
    Ok(())
}

async fn worker(
    o: std::rc::Rc<Opts>,
    id: u64,
    value: std::rc::Rc<Vec<u8>>,
    deadline: Instant,
) -> std::io::Result<(u64, u64, u64)> {
    let mut s = TcpStream::connect(&o.addr).await?;
    s.set_nodelay(true)?;
    let mut rng = Rng(0x9E3779B97F4A7C15 ^ (id + 1).wrapping_mul(0xD1B54A32D192ED03));
    let (mut gets, mut sets, mut hits) = (0u64, 0u64, 0u64);
    let mut req = Vec::with_capacity(128);
    let mut buf = Vec::with_capacity(4096);
    let threshold = (o.get_ratio * u64::MAX as f64) as u64;
    let mut n = 0u32;
    loop {
        n = n.wrapping_add(1);
        if n.is_multiple_of(64) && Instant::now() >= deadline {
            return Ok((gets, sets, hits));
        }
        let key = rng.next() % o.keys;
        let get = rng.next() <= threshold;
        req.clear();
        if get {
            req.extend_from_slice(format!("get key:{key:012}\r\n").as_bytes());
        } else {
            req.extend_from_slice(format!("set key:{key:012} 0 0 {}\r\n", value.len()).as_bytes());
            req.extend_from_slice(&value);
            req.extend_from_slice(b"\r\n");
        }
        s.write_all(&req).await?;
        let hit = read_reply(&mut s, &mut buf, get).await?;
        if get {
            gets += 1;
            hits += u64::from(hit);
        } else {
            sets += 1;
        }
    }
}

fn main() {
    let o = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("mcbench: {e}\nusage: mcbench [--addr H:P] [--conns 50] [--seconds 10] [--get-ratio 0.9] [--keys 100000] [--data-size 16]");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let local = tokio::task::LocalSet::new();
    let result = local.block_on(&rt, async move {
        let value = std::rc::Rc::new(vec![b'v'; o.data_size]);
        load(&o, &value).await?;
        let o = std::rc::Rc::new(o);
        let start = Instant::now();
        let deadline = start + Duration::from_secs(o.seconds);
        let tasks: Vec<_> = (0..o.conns as u64)
            .map(|i| tokio::task::spawn_local(worker(o.clone(), i, value.clone(), deadline)))
            .collect();
        let (mut gets, mut sets, mut hits) = (0, 0, 0);
        for t in tasks {
            let (g, s, h) = t.await.expect("worker")?;
            gets += g;
            sets += s;
            hits += h;
        }
        let secs = start.elapsed().as_secs_f64();
        Ok::<_, std::io::Error>(((gets + sets) as f64 / secs, gets, sets, hits))
    });
    match result {
        Ok((ops, gets, sets, hits)) => {
            println!("ops_per_sec={ops:.0} gets={gets} sets={sets} hits={hits}")
        }
        Err(e) => {
            eprintln!("mcbench: {e}");
            std::process::exit(1);
        }
    }
}
