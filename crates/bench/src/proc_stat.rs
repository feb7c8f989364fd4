//! Reads a process's accumulated CPU time (utime + stime, fields 14 and 15 of
//! `/proc/PID/stat`, summed over all its threads) and converts clock ticks to
//! seconds with `sysconf(_SC_CLK_TCK)`. Linux only. It must not sample
//! anything else or keep state: callers take one sample right before and one
//! right after a run and difference them.

use std::io;

/// Clock ticks per second used by `/proc/PID/stat` (usually 100).
pub fn clock_ticks_per_sec() -> u64 {
    // SAFETY: sysconf has no preconditions; it only reads a constant.
    let v = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if v > 0 {
        v as u64
    } else {
        100
    }
}

/// utime + stime of `pid`, in clock ticks.
pub fn cpu_ticks(pid: u32) -> io::Result<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let (utime, stime) = parse_stat(&text).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("unparseable /proc/{pid}/stat: {text:?}"),
        )
    })?;
    Ok(utime + stime)
}

/// Extracts (utime, stime) from the contents of `/proc/PID/stat`.
///
/// Field 2 (`comm`) is parenthesised and may contain spaces or `)`, so fields
/// are counted from the last `)`: the token after it is field 3 (state), which
/// puts field 14 (utime) at index 11 and field 15 (stime) at index 12.
pub fn parse_stat(text: &str) -> Option<(u64, u64)> {
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime = fields.next()?.parse().ok()?;
    let stime = fields.next()?.parse().ok()?;
    Some((utime, stime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fields_14_and_15() {
        let line = "1234 (redis server) S 1 1234 1234 0 -1 4194560 1000 0 0 0 \
                    321 45 0 0 20 0 5 0 100 1000000 500 18446744073709551615";
        assert_eq!(parse_stat(line), Some((321, 45)));
    }

    #[test]
    fn handles_paren_in_comm() {
        let line = "7 (a) b) R 1 7 7 0 -1 0 0 0 0 0 9 8 0 0 20 0 1 0 1 1 1";
        assert_eq!(parse_stat(line), Some((9, 8)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn reads_own_process() {
        let me = std::process::id();
        assert!(cpu_ticks(me).is_ok());
        assert!(clock_ticks_per_sec() > 0);
    }
}
