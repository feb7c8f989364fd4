//! `darter-scripting`: Redis 7.0's Lua 5.1 scripting engine, with no access to shards or commands.
//!
//! ```text
//!   command layer (EVAL/EVALSHA/FCALL, later)           this crate
//!   ───────────────────────────────────────           ─────────────────────────────────────────────
//!   ScriptVm::load(body) ───────────────────────────▶ shebang flags, SHA1, compile ("@user_script")
//!   ScriptVm::run(sha, KEYS, ARGV, sink, opts) ─────▶ sandboxed VM (read-only globals, Redis's libs)
//!        ▲                                                 │ redis.call / redis.pcall
//!        └──── impl CommandSink (runs the command, ◀───────┘ args as bytes, reply as Frame
//!              in the held transaction)                    │ every 100k instructions
//!              busy check closure ◀────────────────────────┘ Continue | Kill
//! ```
//!
//! One [`ScriptVm`] per thread (a Lua state is not `Send`). Conversions between Lua values and
//! replies follow Redis 7.0's `script_lua.c` byte for byte; the libraries Redis bundles (`bit`,
//! `cjson`, ...) are written in Rust here. This crate must not depend on the engine or the command
//! crates: the command step drives it through [`CommandSink`] (docs/design/scripting.md).

mod bit;
mod cjson;
mod cmsgpack;
mod convert;
mod function;
mod lstruct;
mod raise;
mod random;
mod shebang;
mod vm;

pub use darter_resp::Frame;
pub use function::{
    flag_names, parse_library_metadata, valid_name, CompiledLibrary, FunctionInfo, FunctionVm,
    LibraryInfo, LibraryMeta, BAD_NAME_ERR, ENGINE_NAME, FLAG_NAMES,
};
pub use shebang::{parse_shebang, ScriptFlags};
pub use vm::{
    sha1hex, CommandSink, Interrupt, LogLevel, RunOptions, ScriptInfo, ScriptVm, ABORTED_ERR,
    KILLED_ERR,
};
