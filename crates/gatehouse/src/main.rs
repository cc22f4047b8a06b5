//! `gatehouse`: the one binary. Parses the command line ([`cli`]), loads the
//! configuration ([`config`]) and runs a command from [`commands`]; [`filtering`] builds
//! the installation's web filter and DNS server.

mod cli;
mod commands;
mod config;
mod demo_school;
mod filtering;

use clap::Parser;
use std::process::ExitCode;

/// mimalloc: the DNS filter allocates and frees small buffers for every query on two
/// threads, where it costs markedly less than the system allocator (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let mut builder = if cli.command.serves() {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: could not start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
