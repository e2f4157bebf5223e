//! The end-to-end benchmark behind `cargo xtask bench e2e`
//! (`cargo bench -p wintergreen-bench-e2e --bench e2e -- [options]`).
//!
//! With no subcommand it runs the whole matrix (see [`run`]) and prints the markdown report,
//! also written to `--out`. It starts itself as `server` and `client` child processes, one
//! pair per measurement, so that each CPU and memory figure belongs to one library alone.

// A benchmark program: it prints its progress and its report.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod child;
mod libs;
mod report;
mod run;

use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};
use wintergreen_bench_e2e::meta;

#[derive(Debug, Parser)]
#[command(
    name = "bench-e2e",
    about = "End-to-end WebSocket benchmark: wintergreen against its peers and a library-free floor"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    #[command(flatten)]
    run: run::RunArgs,
    /// (cargo bench passes it to every bench program)
    #[arg(long, hide = true)]
    bench: bool,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// (internal) An echo server child.
    Server(child::ServerArgs),
    /// (internal) A client child that measures one window.
    Client(child::ClientArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Some(Cmd::Server(args)) => child::server(args),
        Some(Cmd::Client(args)) => child::client(args),
        None => run_all(&cli.run),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_all(args: &run::RunArgs) -> Result<()> {
    let results = run::run(args)?;
    let meta = report::Meta {
        date: meta::today_utc(),
        machine: meta::machine(),
        command: meta::command_line("BENCH_E2E_COMMAND"),
    };
    let report = report::render(&results, &meta);
    meta::write_report(&args.out, &report)
}
