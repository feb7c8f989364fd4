//! The command families, registered from one list read top to bottom.

use crate::registry::Cmd;

pub mod bitops;
pub mod blocking;
pub mod client;
pub mod command;
pub mod connection;
pub mod function;
pub mod generic;
pub mod geo;
pub mod hash;
pub mod hll;
pub mod list;
pub mod memory;
pub mod pubsub;
pub mod scripting;
pub mod server;
pub mod set;
pub mod sort;
pub mod string;
pub mod tracking;
pub mod transaction;
pub mod zset;

/// Every family's rows. Adding a family: one line here.
pub static ALL: &[&[Cmd]] = &[
    connection::COMMANDS,
    client::COMMANDS,
    string::COMMANDS,
    bitops::COMMANDS,
    set::COMMANDS,
    generic::COMMANDS,
    list::COMMANDS,
    blocking::COMMANDS,
    sort::COMMANDS,
    geo::COMMANDS,
    hash::COMMANDS,
    zset::COMMANDS,
    hll::COMMANDS,
    server::COMMANDS,
    memory::COMMANDS,
    command::COMMANDS,
    pubsub::COMMANDS,
    transaction::COMMANDS,
    scripting::COMMANDS,
    function::COMMANDS,
];
