//! `darter-resp`: the Redis wire protocol, bytes in and bytes out, with no I/O and no storage.
//!
//! ```text
//!   socket bytes ──▶ BytesMut ──▶ parse::RequestParser ──▶ Vec<Bytes> args (zero-copy slices)
//!                                                                │  (commands run elsewhere)
//!   socket ◀── BytesMut ◀── write::ReplyWriter (RESP2 | RESP3) ◀─┘
//!
//!   frame::{decode, encode}: whole RESP2/RESP3 values, for tests, clients and scripting.
//! ```
//!
//! Redis 7.0 is the specification for every byte: request parsing ports `networking.c`, replies port
//! the `addReply*` family, doubles are `%.17g`. This crate must not depend on any other darter crate,
//! do I/O, or know about commands.
//!
//! Testing: `tests/` holds byte-exact tables (observed on redis-server 7.0.15) and property tests;
//! `fuzz/` is a separate cargo-fuzz workspace with the `parse_request` target, run from this crate's
//! directory with `cargo +nightly fuzz run parse_request -- -dict=fuzz/parse_request.dict` (on a
//! stable-only machine: `RUSTC_BOOTSTRAP=1 cargo fuzz run ...`).

mod g17;
mod inline;
mod num;

pub mod frame;
pub mod parse;
pub mod write;

pub use frame::{decode, encode, encode_for, Frame};
pub use inline::split_line;
pub use num::string2ll;
pub use parse::{Limits, ParseError, RequestParser};
pub use write::{format_g17, Protocol, ReplyWriter};
