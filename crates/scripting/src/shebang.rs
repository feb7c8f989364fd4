//! `#!lua flags=...` parsing as Redis 7.0's `evalExtractShebangFlags`, producing the flags the
//! command layer enforces (no-writes, allow-oom, ...). Pure parsing: nothing here runs a script.

/// Script flags from the shebang. A script without a shebang runs in EVAL compatibility mode
/// (`eval_compat`), where Redis ignores the flags (and, for example, allows writes everywhere).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScriptFlags {
    pub eval_compat: bool,
    pub no_writes: bool,
    pub allow_oom: bool,
    pub allow_stale: bool,
    pub no_cluster: bool,
    pub allow_cross_slot_keys: bool,
}

/// Parses a script body's shebang. Returns the flags and the shebang's length in bytes (the body
/// from there on, starting with the newline, is what gets compiled, so line numbers stay right), or
/// Redis's error text (without the leading `-`, e.g. `ERR Unexpected flag in script shebang: x`).
pub fn parse_shebang(body: &[u8]) -> Result<(ScriptFlags, usize), String> {
    if !body.starts_with(b"#!") {
        return Ok((
            ScriptFlags {
                eval_compat: true,
                ..Default::default()
            },
            0,
        ));
    }
    let Some(end) = body.iter().position(|&b| b == b'\n') else {
        return Err("ERR Invalid script shebang".into());
    };
    let line = String::from_utf8_lossy(&body[..end]);
    let parts = match split_args(&line) {
        Some(p) if !p.is_empty() => p,
        _ => return Err("ERR Invalid engine in script shebang".into()),
    };
    if parts[0] != "#!lua" {
        return Err(format!(
            "ERR Unexpected engine in script shebang: {}",
            parts[0]
        ));
    }
    let mut flags = ScriptFlags::default();
    for part in &parts[1..] {
        let Some(list) = part.strip_prefix("flags=") else {
            return Err(format!("ERR Unknown lua shebang option: {part}"));
        };
        if list.is_empty() {
            continue;
        }
        for f in list.split(',') {
            match f {
                "no-writes" => flags.no_writes = true,
                "allow-oom" => flags.allow_oom = true,
                "allow-stale" => flags.allow_stale = true,
                "no-cluster" => flags.no_cluster = true,
                "allow-cross-slot-keys" => flags.allow_cross_slot_keys = true,
                _ => return Err(format!("ERR Unexpected flag in script shebang: {f}")),
            }
        }
    }
    Ok((flags, end))
}

/// `sdssplitargs`: whitespace-separated words with "double" (escapes) and 'single' quotes; `None`
/// on unbalanced quotes or a closing quote not followed by a space.
pub(crate) fn split_args(line: &str) -> Option<Vec<String>> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            return Some(out);
        }
        let mut cur = Vec::new();
        let (mut inq, mut insq) = (false, false);
        loop {
            if inq {
                if i >= b.len() {
                    return None;
                }
                if b[i] == b'\\'
                    && i + 3 < b.len()
                    && b[i + 1] == b'x'
                    && is_hex(b[i + 2])
                    && is_hex(b[i + 3])
                {
                    cur.push(hex(b[i + 2]) * 16 + hex(b[i + 3]));
                    i += 3;
                } else if b[i] == b'\\' && i + 1 < b.len() {
                    i += 1;
                    cur.push(match b[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        c => c,
                    });
                } else if b[i] == b'"' {
                    if i + 1 < b.len() && !b[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(b[i]);
                }
            } else if insq {
                if i >= b.len() {
                    return None;
                }
                if b[i] == b'\\' && i + 1 < b.len() && b[i + 1] == b'\'' {
                    i += 1;
                    cur.push(b'\'');
                } else if b[i] == b'\'' {
                    if i + 1 < b.len() && !b[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(b[i]);
                }
            } else {
                if i >= b.len() {
                    break;
                }
                match b[i] {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => break,
                    b'"' => inq = true,
                    b'\'' => insq = true,
                    c => cur.push(c),
                }
            }
            i += 1;
        }
        out.push(String::from_utf8_lossy(&cur).into_owned());
    }
}

fn is_hex(c: u8) -> bool {
    c.is_ascii_hexdigit()
}

fn hex(c: u8) -> u8 {
    (c as char).to_digit(16).unwrap_or(0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected texts observed on redis-server 7.0.15 (EVAL replies).
    #[test]
    fn errors_match_redis() {
        let e = |b: &str| parse_shebang(b.as_bytes()).unwrap_err();
        assert_eq!(e("#!lua"), "ERR Invalid script shebang");
        assert_eq!(
            e("#!luax\nreturn 1"),
            "ERR Unexpected engine in script shebang: #!luax"
        );
        assert_eq!(
            e("#!lua foo=1\nreturn 1"),
            "ERR Unknown lua shebang option: foo=1"
        );
        assert_eq!(
            e("#!lua flags=no-writes,bad\nreturn 1"),
            "ERR Unexpected flag in script shebang: bad"
        );
    }

    #[test]
    fn flags() {
        let (f, len) = parse_shebang(b"#!lua flags=no-writes,allow-oom\nreturn 1").unwrap();
        assert_eq!(len, 31);
        assert!(f.no_writes && f.allow_oom && !f.eval_compat && !f.allow_stale);
        let (f, _) = parse_shebang(b"#!lua flags=\nreturn 1").unwrap();
        assert_eq!(f, ScriptFlags::default());
        let (f, len) = parse_shebang(b"return 1").unwrap();
        assert!(f.eval_compat);
        assert_eq!(len, 0);
        let (f, _) =
            parse_shebang(b"#!lua flags=allow-stale,no-cluster,allow-cross-slot-keys\n").unwrap();
        assert!(f.allow_stale && f.no_cluster && f.allow_cross_slot_keys);
    }
}
