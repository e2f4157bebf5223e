//! The end-to-end benchmark behind `cargo xtask bench e2e`
//! (`cargo bench -p wintergreen-bench-e2e --bench e2e -- [options]`).
//!
//! With no subcommand it runs the whole matrix (see [`run`]) and prints the markdown report,
//! also written to `--out`. It starts itself as `server` and `client` child processes, one
//! pair per measurement, so that each CPU and memory figure belongs to one library alone.

// A benchmark program: it prints its progress and its report.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod callgrind;
mod child;
mod libs;
mod report;
mod run;

use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};
use wintergreen_bench_e2e::{host, markdown, procs};

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
    procs::exit_code(result)
}

fn run_all(args: &run::RunArgs) -> Result<()> {
    if args.callgrind {
        return run_callgrind(args);
    }
    let results = run::run(args)?;
    let meta = host::Meta::collect("BENCH_E2E_COMMAND");
    markdown::publish(&report::render(&results, &meta), &args.out)
}

/// `--callgrind`: the instruction counts, printed and written to `callgrind.md` next to
/// `--out`, with callgrind's own files in `callgrind/` there.
fn run_callgrind(args: &run::RunArgs) -> Result<()> {
    let dir = args
        .out
        .parent()
        .unwrap_or_else(|| std::path::Path::new("."));
    let counts = match args.callgrind_messages[..] {
        [a, b] => [a, b],
        _ => anyhow::bail!("--callgrind-messages takes two counts"),
    };
    let body = callgrind::run(
        counts,
        &args.callgrind_libs,
        &args.callgrind_sides,
        &dir.join("callgrind"),
    )?;
    let meta = host::Meta::collect("BENCH_E2E_COMMAND");
    let report = format!(
        "Callgrind, {date}, {machine}: `{command}`.\n\n{body}",
        date = meta.date,
        machine = meta.machine,
        command = meta.command,
    );
    markdown::publish(&report, &dir.join("callgrind.md"))
}
