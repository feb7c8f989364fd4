//! A cursor over a command's arguments that latches the first error, so option parsing reads
//! top to bottom without per-command hand-unpacking. Numbers follow Redis's parsing rules.

use crate::errors;
use bytes::Bytes;
use darter_collections::num::{parse_f64, string2ll};

pub struct ArgCursor<'a> {
    args: &'a [Bytes],
    pos: usize,
    err: Option<String>,
}

impl<'a> ArgCursor<'a> {
    /// A cursor positioned at `start` (1 = first argument after the command name).
    pub fn new(args: &'a [Bytes], start: usize) -> Self {
        ArgCursor {
            args,
            pos: start,
            err: None,
        }
    }

    pub fn has_more(&self) -> bool {
        self.err.is_none() && self.pos < self.args.len()
    }

    pub fn remaining(&self) -> usize {
        self.args.len().saturating_sub(self.pos)
    }

    /// Next argument, or a syntax error latched when there is none. (Not an `Iterator`: it latches
    /// an error instead of ending.)
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> &'a [u8] {
        if self.err.is_some() {
            return b"";
        }
        match self.args.get(self.pos) {
            Some(a) => {
                self.pos += 1;
                a
            }
            None => {
                self.fail(errors::SYNTAX);
                b""
            }
        }
    }

    pub fn next_bytes(&mut self) -> Bytes {
        if self.err.is_some() {
            return Bytes::new();
        }
        match self.args.get(self.pos) {
            Some(a) => {
                self.pos += 1;
                a.clone()
            }
            None => {
                self.fail(errors::SYNTAX);
                Bytes::new()
            }
        }
    }

    /// Peeks at the next argument and consumes it when it equals `word` (case-insensitive).
    pub fn eat(&mut self, word: &str) -> bool {
        if self.err.is_some() {
            return false;
        }
        match self.args.get(self.pos) {
            Some(a) if a.eq_ignore_ascii_case(word.as_bytes()) => {
                self.pos += 1;
                true
            }
            _ => false,
        }
    }

    pub fn next_i64(&mut self) -> i64 {
        let a = self.next();
        if self.err.is_some() {
            return 0;
        }
        match string2ll(a) {
            Some(v) => v,
            None => {
                self.fail(errors::NOT_INTEGER);
                0
            }
        }
    }

    pub fn next_f64(&mut self) -> f64 {
        let a = self.next();
        if self.err.is_some() {
            return 0.0;
        }
        match parse_f64(a) {
            Some(v) if !v.is_nan() => v,
            _ => {
                self.fail(errors::NOT_FLOAT);
                0.0
            }
        }
    }

    /// Latches `msg` unless an earlier error is latched.
    pub fn fail(&mut self, msg: &str) {
        if self.err.is_none() {
            self.err = Some(msg.to_string());
        }
    }

    pub fn error(&self) -> Option<&str> {
        self.err.as_deref()
    }

    pub fn take_error(&mut self) -> Option<String> {
        self.err.take()
    }
}

/// Parses an integer argument with Redis's rules.
pub fn parse_i64(a: &[u8]) -> Option<i64> {
    string2ll(a)
}
