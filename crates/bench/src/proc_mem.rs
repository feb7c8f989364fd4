//! Reads a process's memory figures from `/proc/PID/status` (VmRSS, VmHWM)
//! and `/proc/PID/smaps_rollup` (Rss, Pss, Anonymous) and converts their
//! `kB` values to bytes. Linux only; smaps_rollup needs kernel 4.14+ and may
//! be unreadable, so its fields are optional. It must not keep state or
//! sample anything besides memory: the caller decides when to sample.

use std::io;

/// One sample of a process's memory, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemSample {
    /// Resident set size (`VmRSS` in /proc/PID/status).
    pub vm_rss: u64,
    /// Peak resident set size so far (`VmHWM`).
    pub vm_hwm: u64,
    /// `Rss` from smaps_rollup, if readable.
    pub smaps_rss: Option<u64>,
    /// Proportional set size (shared pages divided among sharers).
    pub smaps_pss: Option<u64>,
    /// Anonymous memory (heap, stacks): what the dataset lives in.
    pub smaps_anon: Option<u64>,
}

/// Samples `pid`. Fails only if /proc/PID/status cannot be read or parsed.
pub fn sample(pid: u32) -> io::Result<MemSample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let get = |field: &str| {
        kb_field(&status, field).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("no {field} line in /proc/{pid}/status"),
            )
        })
    };
    let vm_rss = get("VmRSS")?;
    let vm_hwm = get("VmHWM")?;
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    Ok(MemSample {
        vm_rss,
        vm_hwm,
        smaps_rss: kb_field(&rollup, "Rss"),
        smaps_pss: kb_field(&rollup, "Pss"),
        smaps_anon: kb_field(&rollup, "Anonymous"),
    })
}

/// Finds a `Name:   1234 kB` line and returns the value in bytes.
pub fn kb_field(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        if k.trim() != name {
            return None;
        }
        let mut parts = v.split_whitespace();
        let n: u64 = parts.next()?.parse().ok()?;
        match parts.next() {
            Some("kB") => Some(n * 1024),
            None => Some(n),
            Some(_) => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Name:\tredis-server\nUmask:\t0022\nState:\tS (sleeping)\n\
        VmPeak:\t  231500 kB\nVmSize:\t  231500 kB\nVmHWM:\t   12000 kB\nVmRSS:\t   11340 kB\n\
        RssAnon:\t    6000 kB\nThreads:\t5\n";

    const ROLLUP: &str =
        "00400000-7ffd4e5fe000 ---p 00000000 00:00 0                          [rollup]\n\
        Rss:               11340 kB\nPss:                9876 kB\nPss_Anon:           6000 kB\n\
        Shared_Clean:       2000 kB\nAnonymous:          6000 kB\nSwap:                  0 kB\n";

    #[test]
    fn parses_status() {
        assert_eq!(kb_field(STATUS, "VmRSS"), Some(11340 * 1024));
        assert_eq!(kb_field(STATUS, "VmHWM"), Some(12000 * 1024));
        assert_eq!(kb_field(STATUS, "Threads"), Some(5));
        assert_eq!(kb_field(STATUS, "Vm"), None);
        assert_eq!(kb_field(STATUS, "State"), None, "not a number");
    }

    #[test]
    fn parses_smaps_rollup() {
        assert_eq!(kb_field(ROLLUP, "Rss"), Some(11340 * 1024));
        assert_eq!(kb_field(ROLLUP, "Pss"), Some(9876 * 1024), "not Pss_Anon");
        assert_eq!(kb_field(ROLLUP, "Anonymous"), Some(6000 * 1024));
        assert_eq!(kb_field("", "Rss"), None);
    }

    #[test]
    fn samples_own_process() {
        let s = sample(std::process::id()).unwrap();
        assert!(s.vm_rss > 0);
        assert!(s.vm_hwm >= s.vm_rss);
    }
}
