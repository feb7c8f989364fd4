//! Library half of `darter-bench`: the side-by-side harnesses that start
//! redis-server and darter and either drive both with `redis-benchmark`
//! (`compare`: throughput and server CPU per request) or load both with the
//! same keys through the protocol (`memory`: resident memory per key), or measure PUBLISH fan-out to many subscribers (`pubsub`). The
//! modules here orchestrate external processes only; they must not link
//! against or depend on any darter crate, so that the harness measures the
//! darter binary exactly as shipped and stays buildable while the server
//! crates are in flux.

pub mod args;
pub mod compare;
pub mod loader;
pub mod machine;
pub mod memory;
pub mod proc_mem;
pub mod proc_stat;
pub mod pubsub;
pub mod report;
pub mod resp_client;
pub mod runner;
pub mod server;
pub mod shapes;
pub mod shell_words;
