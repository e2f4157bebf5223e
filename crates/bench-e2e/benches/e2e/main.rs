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

use std::fs;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};

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
    if args.callgrind {
        return run_callgrind(args);
    }
    let results = run::run(args)?;
    let meta = report::Meta {
        date: today_utc(),
        machine: machine(),
        command: std::env::var("BENCH_E2E_COMMAND").unwrap_or_else(|_| command_line()),
    };
    let report = report::render(&results, &meta);
    println!("\n{report}");
    if let Some(dir) = args.out.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    fs::write(&args.out, &report).with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!("report written to {}", args.out.display());
    Ok(())
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
    let body = callgrind::run(counts, &args.callgrind_libs, &dir.join("callgrind"))?;
    let command = std::env::var("BENCH_E2E_COMMAND").unwrap_or_else(|_| command_line());
    let report = format!(
        "Callgrind, {date}, {machine}: `{command}`.\n\n{body}",
        date = today_utc(),
        machine = machine()
    );
    println!("\n{report}");
    let out = dir.join("callgrind.md");
    fs::write(&out, &report).with_context(|| format!("writing {}", out.display()))?;
    eprintln!("report written to {}", out.display());
    Ok(())
}

fn command_line() -> String {
    // `cargo bench` appends `--bench`: not part of what was asked.
    std::env::args()
        .filter(|a| a != "--bench")
        .collect::<Vec<_>>()
        .join(" ")
}

/// The CPU model and count, and the kernel.
fn machine() -> String {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU", |(_, m)| m.trim());
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{cpus} × {model}, Linux {}", kernel.trim())
}

/// Today's date (UTC) as YYYY-MM-DD, from the system clock.
fn today_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // Howard Hinnant's civil_from_days.
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}
