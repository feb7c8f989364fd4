//! Minimal POSIX-shell-like word splitting for `--darter-args`/`--redis-args`
//! (single quotes, double quotes, backslash escapes), plus the inverse quoting
//! used when printing the exact commands that were run. It must not perform
//! any expansion (variables, globs, command substitution): values are passed
//! to `execve` verbatim, never through a shell.

/// Splits `input` into words the way `sh` would, without expansions.
/// `--save ''` yields `["--save", ""]`.
pub fn split(input: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = input.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => cur.push(ch),
                        None => return Err(format!("unterminated single quote in {input:?}")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(ch @ ('"' | '\\' | '$' | '`')) => cur.push(ch),
                            Some(ch) => {
                                cur.push('\\');
                                cur.push(ch);
                            }
                            None => return Err(format!("unterminated double quote in {input:?}")),
                        },
                        Some(ch) => cur.push(ch),
                        None => return Err(format!("unterminated double quote in {input:?}")),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(ch) => cur.push(ch),
                    None => return Err(format!("trailing backslash in {input:?}")),
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// Quotes one word so that pasting it into `sh` reproduces it exactly.
pub fn quote(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./,:=+@%".contains(c));
    if safe {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Renders a program and its arguments as a copy-pasteable shell line.
pub fn join<S: AsRef<str>>(words: &[S]) -> String {
    words
        .iter()
        .map(|w| quote(w.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_quotes_and_empty_words() {
        assert_eq!(
            split("--save '' --appendonly no").unwrap(),
            vec!["--save", "", "--appendonly", "no"]
        );
        assert_eq!(
            split(r#"  a "b c" d\ e "x\"y" '' "" "#).unwrap(),
            vec!["a", "b c", "d e", "x\"y", "", ""]
        );
        assert_eq!(split("").unwrap(), Vec::<String>::new());
        assert!(split("'abc").is_err());
        assert!(split("\"abc").is_err());
    }

    #[test]
    fn quote_round_trips() {
        let words = ["--save", "", "it's", "a b", "plain-1,16"];
        let line = join(&words);
        assert_eq!(line, r#"--save '' 'it'\''s' 'a b' plain-1,16"#);
        assert_eq!(split(&line).unwrap(), words);
    }
}
