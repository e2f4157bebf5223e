//! The `wintergreen` command: an interactive WebSocket client (`wintergreen URL`), an
//! echo/broadcast server (`wintergreen listen ADDR`) and a load generator
//! (`wintergreen bench URL`), built on the wintergreen library. `wintergreen --help` has
//! the manual.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod bench;
mod cli;
mod client;
mod listen;
mod net;
mod stats;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("wintergreen: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Some(cli::Command::Listen(args)) => listen::run(args).await,
            Some(cli::Command::Bench(args)) => bench::run(args).await,
            None => client::run(cli.connect, cli.binary, cli.quiet, cli.linger, cli.stats).await,
        }
    });
    // The stdin reader thread may still be blocked on a read: do not wait for it.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line: the context chain, outermost first.
            let reason = err
                .chain()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(": ");
            eprintln!("wintergreen: {reason}");
            ExitCode::FAILURE
        }
    }
}
