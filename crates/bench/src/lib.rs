//! Library half of `darter-bench`: the side-by-side comparison harness that
//! starts redis-server and darter, drives both with `redis-benchmark`, and
//! reports throughput and server CPU per request. The modules here orchestrate
//! external processes only; they must not link against or depend on any darter
//! crate, so that the harness measures the darter binary exactly as shipped and
//! stays buildable while the server crates are in flux.

pub mod args;
pub mod compare;
pub mod machine;
pub mod proc_stat;
pub mod report;
pub mod runner;
pub mod server;
pub mod shell_words;
