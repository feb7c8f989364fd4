//! `darter-memcache`: the memcached wire protocol (text and meta commands), bytes in and bytes out, with
//! no I/O and no storage.
//!
//! ```text
//!   socket bytes ──▶ &[u8] ──▶ text::parse ──▶ Parsed { request, used, swallow }
//!                                                   │  (requests run elsewhere, on the shards)
//!   socket ◀── Vec<u8> ◀── reply::* (VALUE lines, STORED, errors...) ◀─┘
//! ```
//!
//! memcached 1.6 is the specification for every byte: tokenizing, the number parsers
//! (`safe_strtoul`/`safe_strtol` of memcached's `util.c`), which malformed lines answer `ERROR`,
//! which `CLIENT_ERROR ...`, when `noreply` silences a reply, and how an oversized value's data
//! block is swallowed. This crate must not depend on any other darter crate, do I/O, or know about
//! storage: it never decides whether a key exists.
//!
//! Testing: `tests/text_table.rs` holds byte-exact tables (every prefix of each input is
//! `Incomplete`); `fuzz/` is a separate cargo-fuzz workspace with the `parse_text` target, run from
//! this crate's directory with `cargo +nightly fuzz run parse_text` (on a stable-only machine:
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run parse_text`).

pub mod binary;
pub mod meta;
pub mod num;
pub mod reply;
pub mod text;

pub use meta::{Meta, MetaCmd, SetMode};
pub use text::{parse, Fatal, Parsed, Request, Settings, StoreOp};

/// memcached's `KEY_MAX_LENGTH`.
pub const KEY_MAX_LENGTH: usize = 250;

/// The largest relative expiry (30 days); larger exptimes are absolute unix times.
pub const REALTIME_MAXDELTA: i64 = 60 * 60 * 24 * 30;
