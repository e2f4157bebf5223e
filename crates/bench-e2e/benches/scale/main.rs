//! The scale benchmark behind `cargo xtask bench scale`
//! (`cargo bench -p wintergreen-bench-e2e --bench scale -- [options]`): handshakes per second
//! and broadcast of one message to 10,000 connections, each library's server under one
//! library-free client.
//!
//! With no subcommand it runs both (see [`run`]) and prints the markdown report, also written
//! to `--out`. It starts itself as `server` and client child processes, one pair per
//! measurement, so that each CPU figure belongs to one library alone.

// A benchmark program: it prints its progress and its report.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod child;
// The e2e benchmark's per-library servers and its `Lib`, shared rather than copied: this
// program runs their echo servers for the handshake measurement and uses none of their
// clients.
#[allow(dead_code)]
#[path = "../e2e/libs/mod.rs"]
mod e2e_libs;
mod libs;
mod report;
mod run;

use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};
use wintergreen_bench_e2e::{host, markdown, procs};

#[derive(Debug, Parser)]
#[command(
    name = "bench-scale",
    about = "Scale benchmark: handshakes per second and broadcast to 10,000 connections, \
             wintergreen's server against its peers' and a library-free floor"
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
    /// (internal) A server child.
    Server(child::ServerArgs),
    /// (internal) The handshake load client.
    Handshakes(child::HandshakeArgs),
    /// (internal) The broadcast client.
    Broadcast(child::BroadcastArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Some(Cmd::Server(args)) => child::server(args),
        Some(Cmd::Handshakes(args)) => child::handshakes(args),
        Some(Cmd::Broadcast(args)) => child::broadcast(args),
        None => run_all(&cli.run),
    };
    procs::exit_code(result)
}

fn run_all(args: &run::RunArgs) -> Result<()> {
    let results = run::run(args)?;
    let meta = host::Meta::collect("BENCH_SCALE_COMMAND");
    markdown::publish(&report::render(&results, &meta), &args.out)
}
