//! Entry point of the `darter-bench` binary. It only dispatches subcommands
//! (`compare`, `memory`, `pubsub`) and maps errors to a non-zero exit code; it must not
//! contain measurement logic, and it must return from `main` rather than call
//! `process::exit`, so that server guards are dropped and children killed.

use std::process::ExitCode;

use darter_bench::args::{self, Command};
use darter_bench::{compare, memory, pubsub};

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let command = match args::parse(&argv) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("darter-bench: {e}\n\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Help => {
            println!("{}", args::USAGE);
            ExitCode::SUCCESS
        }
        Command::MemoryHelp => {
            println!("{}", args::MEMORY_USAGE);
            ExitCode::SUCCESS
        }
        Command::PubSubHelp => {
            println!("{}", pubsub::USAGE);
            ExitCode::SUCCESS
        }
        Command::Compare(opts) => finish(compare::run(&opts)),
        Command::PubSub(opts) => finish(pubsub::run(&opts)),
        Command::Memory(opts) => finish(memory::run(&opts)),
    }
}

fn finish(result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("darter-bench: error: {e}");
            ExitCode::FAILURE
        }
    }
}
