//! Per-thread command statistics (INFO commandstats / errorstats / stats), summed across threads
//! on demand. Each thread records what it executed; nothing here is shared between threads.

use std::cell::RefCell;
use std::collections::BTreeMap;

#[derive(Default, Clone, Copy, Debug)]
pub struct CmdStat {
    pub calls: u64,
    pub usec: u64,
    pub rejected: u64,
    pub failed: u64,
}

#[derive(Default, Clone, Debug)]
pub struct ThreadStats {
    /// Indexed by `Spec::id`.
    pub cmds: Vec<CmdStat>,
    /// Subcommand stats keyed by `container|sub` (Redis reports those separately).
    pub subcmds: BTreeMap<&'static str, CmdStat>,
    pub errors: BTreeMap<String, u64>,
    pub total_commands: u64,
    pub total_error_replies: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
}

impl ThreadStats {
    pub fn merge(&mut self, o: &ThreadStats) {
        if self.cmds.len() < o.cmds.len() {
            self.cmds.resize(o.cmds.len(), CmdStat::default());
        }
        for (a, b) in self.cmds.iter_mut().zip(&o.cmds) {
            add(a, b);
        }
        for (k, v) in &o.subcmds {
            add(self.subcmds.entry(k).or_default(), v);
        }
        for (k, v) in &o.errors {
            *self.errors.entry(k.clone()).or_default() += v;
        }
        self.total_commands += o.total_commands;
        self.total_error_replies += o.total_error_replies;
        self.net_input_bytes += o.net_input_bytes;
        self.net_output_bytes += o.net_output_bytes;
    }
}

fn add(a: &mut CmdStat, b: &CmdStat) {
    a.calls += b.calls;
    a.usec += b.usec;
    a.rejected += b.rejected;
    a.failed += b.failed;
}

thread_local! {
    static STATS: RefCell<ThreadStats> = RefCell::new(ThreadStats::default());
}

pub fn with<R>(f: impl FnOnce(&mut ThreadStats) -> R) -> R {
    STATS.with(|s| f(&mut s.borrow_mut()))
}

/// The error code Redis files an error reply under: its first word (e.g. "ERR", "WRONGTYPE").
pub fn error_code(reply: &[u8]) -> &str {
    let body = reply.strip_prefix(b"-").unwrap_or(reply);
    let end = body
        .iter()
        .position(|&c| c == b' ' || c == b'\r')
        .unwrap_or(body.len());
    std::str::from_utf8(&body[..end]).unwrap_or("ERR")
}

/// Records an error reply (errorstats and total_error_replies).
pub fn record_error(reply: &[u8]) {
    let code = error_code(reply).to_string();
    with(|s| {
        *s.errors.entry(code).or_default() += 1;
        s.total_error_replies += 1;
    });
}

/// Records one executed command: `failed` when its reply was an error.
#[inline]
pub fn record_call(id: usize, sub: Option<&'static str>, usec: u64, failed: bool) {
    with(|s| {
        if s.cmds.len() <= id {
            s.cmds.resize(id + 1, CmdStat::default());
        }
        let c = match sub {
            Some(name) => s.subcmds.entry(name).or_default(),
            None => &mut s.cmds[id],
        };
        c.calls += 1;
        c.usec += usec;
        if failed {
            c.failed += 1;
        }
        s.total_commands += 1;
    });
}

/// Records a command rejected before execution (arity, auth).
pub fn record_rejected(id: usize, sub: Option<&'static str>) {
    with(|s| {
        if s.cmds.len() <= id {
            s.cmds.resize(id + 1, CmdStat::default());
        }
        match sub {
            Some(name) => s.subcmds.entry(name).or_default().rejected += 1,
            None => s.cmds[id].rejected += 1,
        }
    });
}

/// Clears this thread's counters (CONFIG RESETSTAT).
pub fn reset() {
    with(|s| {
        let n = s.cmds.len();
        *s = ThreadStats::default();
        s.cmds.resize(n, CmdStat::default());
    });
}
