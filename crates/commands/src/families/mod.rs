//! The command families, registered from one list read top to bottom.

use crate::registry::Cmd;

pub mod client;
pub mod connection;

/// Every family's rows. Adding a family: one line here.
pub static ALL: &[&[Cmd]] = &[connection::COMMANDS, client::COMMANDS];
