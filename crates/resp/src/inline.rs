//! Splitting an inline request line into arguments: a port of Redis's `sds.c:sdssplitargs`.
//!
//! The rules are Redis's, quirks included: blanks between arguments are C `isspace` (so `\v` and `\f`
//! too) but an unquoted argument ends only at space, tab, CR, LF or NUL; a quote may open in the middle
//! of an argument (`a"b c"` is the single argument `ab c`); a closing quote must be followed by a blank
//! or the end of the line. Arguments that are a contiguous run of the line are returned as ranges so
//! the parser can hand out zero-copy slices; only escapes and quote-joined pieces allocate.
//! This module only splits: finding the line and its length limit belong to `parse`.

/// One argument: a range of the line, or bytes rebuilt because of escapes or joined quotes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Token {
    Range(usize, usize),
    Owned(Vec<u8>),
}

/// The quotes did not balance (Redis: "unbalanced quotes in request").
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Unbalanced;

/// C `isspace` in the "C" locale. Bytes >= 0x80 are not spaces (glibc's table gives 0 for them).
#[inline]
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

#[inline]
fn hex_val(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// An argument being built: a range while it is contiguous in the line, bytes once it is not.
struct Building {
    start: usize,
    end: usize,
    owned: Option<Vec<u8>>,
}

impl Building {
    fn new() -> Self {
        Building {
            start: 0,
            end: 0,
            owned: None,
        }
    }

    fn owned(&mut self, line: &[u8]) -> &mut Vec<u8> {
        let (start, end) = (self.start, self.end);
        self.owned.get_or_insert_with(|| line[start..end].to_vec())
    }

    /// Appends the line's byte at `i` itself.
    fn push_at(&mut self, line: &[u8], i: usize) {
        if self.owned.is_none() {
            if self.start == self.end {
                self.start = i;
                self.end = i + 1;
                return;
            }
            if self.end == i {
                self.end += 1;
                return;
            }
        }
        self.owned(line).push(line[i]);
    }

    /// Appends a byte that is not the line's byte at this position (an unescaped value).
    fn push_byte(&mut self, line: &[u8], b: u8) {
        self.owned(line).push(b);
    }

    fn finish(self) -> Token {
        match self.owned {
            Some(v) => Token::Owned(v),
            None => Token::Range(self.start, self.end),
        }
    }
}

/// Splits `line` (without its trailing CRLF/LF) into `out`, which is cleared first.
/// As in C, a NUL byte ends the line.
pub(crate) fn split_args(line: &[u8], out: &mut Vec<Token>) -> Result<(), Unbalanced> {
    out.clear();
    // C reads the terminating NUL past the end; mirror that so the port stays line by line.
    let at = |i: usize| -> u8 { line.get(i).copied().unwrap_or(0) };
    let mut p = 0usize;
    loop {
        while at(p) != 0 && is_space(at(p)) {
            p += 1;
        }
        if at(p) == 0 {
            return Ok(());
        }
        let (mut inq, mut insq, mut done) = (false, false, false);
        let mut cur = Building::new();
        while !done {
            let c = at(p);
            if inq {
                if c == b'\\' && at(p + 1) == b'x' {
                    if let (Some(h), Some(l)) = (hex_val(at(p + 2)), hex_val(at(p + 3))) {
                        cur.push_byte(line, h * 16 + l);
                        p += 3;
                    } else {
                        // `\x` without two hex digits: the generic escape yields a literal 'x'.
                        p += 1;
                        cur.push_byte(line, b'x');
                    }
                } else if c == b'\\' && at(p + 1) != 0 {
                    p += 1;
                    let e = match at(p) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    };
                    cur.push_byte(line, e);
                } else if c == b'"' {
                    if at(p + 1) != 0 && !is_space(at(p + 1)) {
                        return Err(Unbalanced);
                    }
                    done = true;
                } else if c == 0 {
                    return Err(Unbalanced);
                } else {
                    cur.push_at(line, p);
                }
            } else if insq {
                if c == b'\\' && at(p + 1) == b'\'' {
                    p += 1;
                    cur.push_byte(line, b'\'');
                } else if c == b'\'' {
                    if at(p + 1) != 0 && !is_space(at(p + 1)) {
                        return Err(Unbalanced);
                    }
                    done = true;
                } else if c == 0 {
                    return Err(Unbalanced);
                } else {
                    cur.push_at(line, p);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => done = true,
                    b'"' => inq = true,
                    b'\'' => insq = true,
                    _ => cur.push_at(line, p),
                }
            }
            if at(p) != 0 {
                p += 1;
            }
        }
        out.push(cur.finish());
    }
}

/// Redis's `sdssplitargs` as owned arguments: what inline commands, config files and
/// redis-cli-style scripts share. `None` for unbalanced quotes.
pub fn split_line(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut tokens = Vec::new();
    split_args(line, &mut tokens).ok()?;
    Some(
        tokens
            .into_iter()
            .map(|t| match t {
                Token::Owned(v) => v,
                Token::Range(a, b) => line[a..b].to_vec(),
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &[u8]) -> Result<Vec<Vec<u8>>, Unbalanced> {
        let mut toks = Vec::new();
        split_args(line, &mut toks)?;
        Ok(toks
            .into_iter()
            .map(|t| match t {
                Token::Range(s, e) => line[s..e].to_vec(),
                Token::Owned(v) => v,
            })
            .collect())
    }

    fn ok(line: &[u8], want: &[&[u8]]) {
        let got = split(line).expect("balanced");
        let want: Vec<Vec<u8>> = want.iter().map(|w| w.to_vec()).collect();
        assert_eq!(got, want, "line {:?}", String::from_utf8_lossy(line));
    }

    #[test]
    fn sdssplitargs_cases() {
        ok(b"", &[]);
        ok(b"   \t ", &[]);
        ok(b"set a b", &[b"set", b"a", b"b"]);
        ok(b"  set   a\tb  ", &[b"set", b"a", b"b"]);
        ok(b"\x0bfoo", &[b"foo"]);
        ok(b"a\x0bb", &[b"a\x0bb"]);
        ok(b"a\rb", &[b"a", b"b"]);
        ok(br#""a\x41\n""#, &[b"aA\n"]);
        ok(br#""\x4""#, &[b"x4"]);
        ok(br#""\xZZ""#, &[b"xZZ"]);
        ok(br#""\q\"\\""#, &[b"q\"\\"]);
        ok(br#""\t\r\b\a""#, &[b"\t\r\x08\x07"]);
        ok(br#""" """#, &[b"", b""]);
        ok(br#"a"b c""#, &[b"ab c"]);
        ok(br#"'a\'b'"#, &[b"a'b"]);
        ok(br#"'a\nb'"#, &[b"a\\nb"]);
        ok(b"\"a\"\x0b", &[b"a"]);
        ok(b"a\0b", &[b"a"]);
        ok("é ü".as_bytes(), &["é".as_bytes(), "ü".as_bytes()]);
        assert_eq!(split(br#""a"b"#), Err(Unbalanced));
        assert_eq!(split(br#"'a'b"#), Err(Unbalanced));
        assert_eq!(split(br#""abc"#), Err(Unbalanced));
        assert_eq!(split(br#"'abc"#), Err(Unbalanced));
        assert_eq!(split(br#""abc\"#), Err(Unbalanced));
    }

    #[test]
    fn contiguous_arguments_are_ranges() {
        let mut toks = Vec::new();
        split_args(br#"get "key" 'v' a"b""#, &mut toks).unwrap();
        assert_eq!(
            toks,
            vec![
                Token::Range(0, 3),
                Token::Range(5, 8),
                Token::Range(11, 12),
                Token::Owned(b"ab".to_vec()),
            ]
        );
    }
}
