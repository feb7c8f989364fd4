//! Helpers shared by the parser tests: drive a `RequestParser` over an input delivered in chunks and
//! record everything it produced, so different deliveries of the same bytes can be compared.
#![allow(dead_code)]

use bytes::BytesMut;
use darter_resp::{Limits, RequestParser};

/// How a run over some input ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// All input used up; this many bytes are buffered as an incomplete request.
    Incomplete(usize),
    /// The parser failed with this message (the connection would be closed).
    Error(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub commands: Vec<Vec<Vec<u8>>>,
    pub end: End,
}

/// Parses `input` delivered in pieces ending at `cuts` (sorted offsets; the rest is the last piece).
pub fn run_split(input: &[u8], cuts: &[usize], limits: &Limits, auth_required: bool) -> Outcome {
    let mut parser = RequestParser::new();
    parser.set_auth_required(auth_required);
    let mut buf = BytesMut::new();
    let mut commands = Vec::new();
    let mut start = 0;
    let ends = cuts.iter().copied().chain(std::iter::once(input.len()));
    for end in ends {
        let end = end.clamp(start, input.len());
        buf.extend_from_slice(&input[start..end]);
        start = end;
        loop {
            match parser.parse(&mut buf, limits) {
                Ok(Some(args)) => commands.push(args.iter().map(|a| a.to_vec()).collect()),
                Ok(None) => break,
                Err(e) => {
                    return Outcome {
                        commands,
                        end: End::Error(e.to_string()),
                    };
                }
            }
        }
    }
    Outcome {
        commands,
        end: End::Incomplete(buf.len()),
    }
}

pub fn run_whole(input: &[u8]) -> Outcome {
    run_split(input, &[], &Limits::default(), false)
}

pub fn run_bytewise(input: &[u8]) -> Outcome {
    let cuts: Vec<usize> = (1..input.len()).collect();
    run_split(input, &cuts, &Limits::default(), false)
}

/// Encodes `args` as a multibulk request.
pub fn multibulk(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

pub fn cmds(list: &[&[&str]]) -> Vec<Vec<Vec<u8>>> {
    list.iter()
        .map(|c| c.iter().map(|a| a.as_bytes().to_vec()).collect())
        .collect()
}
