//! A toy command sink for the scripting tests: a few string commands on a HashMap, with the
//! script-layer errors Redis raises for unknown commands and wrong arity.
#![allow(dead_code)]

use std::collections::HashMap;

use bytes::Bytes;
use darter_scripting::{CommandSink, Frame, LogLevel, RunOptions, ScriptVm};

#[derive(Default)]
pub struct ToySink {
    pub data: HashMap<Vec<u8>, Vec<u8>>,
    pub logs: Vec<(LogLevel, Vec<u8>)>,
    pub calls: Vec<Vec<Bytes>>,
    pub repl: Option<i64>,
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

impl CommandSink for ToySink {
    fn call(&mut self, args: &[Bytes], resp: u8) -> Result<Frame, Bytes> {
        self.calls.push(args.to_vec());
        let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
        let arity: i64 = match name.as_str() {
            "get" | "incr" | "hgetall" => 2,
            "set" => -3,
            "ping" => -1,
            "echo" => 2,
            "hello3" => 1,
            _ => return Err(b("Unknown Redis command called from script")),
        };
        let n = args.len() as i64;
        if (arity > 0 && n != arity) || (arity < 0 && n < -arity) {
            return Err(b("Wrong number of args calling Redis command from script"));
        }
        Ok(match name.as_str() {
            "get" => match self.data.get(args[1].as_ref()) {
                Some(v) => Frame::Bulk(Bytes::from(v.clone())),
                None => Frame::Null,
            },
            "set" => {
                self.data.insert(args[1].to_vec(), args[2].to_vec());
                Frame::Simple(b("OK"))
            }
            "incr" => {
                let cur = self
                    .data
                    .get(args[1].as_ref())
                    .cloned()
                    .unwrap_or(b"0".to_vec());
                match String::from_utf8_lossy(&cur).parse::<i64>() {
                    Ok(v) => {
                        self.data
                            .insert(args[1].to_vec(), (v + 1).to_string().into_bytes());
                        Frame::Integer(v + 1)
                    }
                    Err(_) => Frame::Error(b("ERR value is not an integer or out of range")),
                }
            }
            "hgetall" => {
                if resp == 3 {
                    Frame::Map(vec![])
                } else {
                    Frame::Array(vec![])
                }
            }
            "ping" => Frame::Simple(b("PONG")),
            "echo" => Frame::Bulk(args[1].clone()),
            // Every RESP3 type at once, to check the conversions into Lua.
            "hello3" => Frame::Array(vec![
                Frame::Map(vec![(Frame::Bulk(b("k")), Frame::Integer(1))]),
                Frame::Set(vec![Frame::Bulk(b("m"))]),
                Frame::Double(b("3.5")),
                Frame::Boolean(true),
                Frame::Boolean(false),
                Frame::BigNumber(b("12345678901234567890")),
                Frame::Verbatim(b("txt"), b("hi")),
                Frame::Null,
            ]),
            _ => unreachable!(),
        })
    }

    fn log(&mut self, level: LogLevel, msg: &[u8]) {
        self.logs.push((level, msg.to_vec()));
    }

    fn set_repl(&mut self, flags: i64) {
        self.repl = Some(flags);
    }
}

/// EVAL body with KEYS/ARGV for a RESP2 client, as the reply frame.
pub fn eval_with(
    vm: &mut ScriptVm,
    sink: &mut ToySink,
    body: &str,
    keys: &[&str],
    argv: &[&str],
) -> Frame {
    eval_resp(vm, sink, body, keys, argv, 2)
}

pub fn eval_resp(
    vm: &mut ScriptVm,
    sink: &mut ToySink,
    body: &str,
    keys: &[&str],
    argv: &[&str],
    resp: u8,
) -> Frame {
    let info = match vm.load(body.as_bytes()) {
        Ok(i) => i,
        Err(e) => return Frame::Error(Bytes::from(e)),
    };
    let keys: Vec<Bytes> = keys.iter().map(|s| b(s)).collect();
    let argv: Vec<Bytes> = argv.iter().map(|s| b(s)).collect();
    let sha = info.sha.clone();
    vm.run(
        &sha,
        &keys,
        &argv,
        sink,
        RunOptions {
            client_resp: resp,
            name: &sha,
            busy_check: None,
        },
    )
    .unwrap()
}

/// EVAL with no keys; the reply as `redis-cli` would show an error (`ERR ...`) or a value.
pub fn eval(body: &str) -> Frame {
    let mut vm = ScriptVm::new().unwrap();
    let mut sink = ToySink::default();
    eval_with(&mut vm, &mut sink, body, &[], &[])
}

pub fn bulk(s: &str) -> Frame {
    Frame::Bulk(b(s))
}

pub fn err(s: &str) -> Frame {
    Frame::Error(b(s))
}

pub fn int(i: i64) -> Frame {
    Frame::Integer(i)
}
