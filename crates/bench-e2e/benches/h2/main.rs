//! The HTTP/2 benchmark behind `cargo xtask bench h2`
//! (`cargo bench -p wintergreen-bench-e2e --features http2 --bench h2 -- [options]`): wintergreen's client
//! and server only (no other library here has an RFC 8441 client and server), HTTP/2 (h2c)
//! against HTTP/1.1 with the same client and server code otherwise. The server runs on
//! CPU 0 and the client on CPU 1, each a current-thread runtime in a process of its own.
//!
//! Cells, each run for both versions in an order rotated round by round:
//! - 1,000 WebSockets (over HTTP/2 all on one connection, over HTTP/1.1 a connection each):
//!   time to open them all at once, one 20 B echo on each at once, client and server KiB per
//!   WebSocket after it, then messages/s with all 1,000 echoing;
//! - 16 KiB messages on 1 and on 10 WebSockets (one in flight on each): messages/s and CPU
//!   per message on each side; the report gives HTTP/2 ÷ HTTP/1.1 (issue 15's goal: ≥ 0.7×).

// A benchmark program: it prints its progress and its report.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod child;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::{Parser, Subcommand};
use wintergreen_bench_e2e::procs::{self, get};
use wintergreen_bench_e2e::stats::{ratio, spread};
use wintergreen_bench_e2e::{host, markdown};

use crate::child::Proto;

#[derive(Debug, Parser)]
#[command(
    name = "bench-h2",
    about = "WebSockets over HTTP/2 against HTTP/1.1: wintergreen's client and server"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    #[command(flatten)]
    run: RunArgs,
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

#[derive(Debug, Clone, clap::Args)]
struct RunArgs {
    /// One round and a fifth of the messages: about a minute.
    #[arg(long)]
    quick: bool,
    /// Interleaved rounds (default 3; 1 with --quick).
    #[arg(long)]
    rounds: Option<usize>,
    /// Time limit of one measured window, in seconds.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    #[command(flatten)]
    settings: child::Settings,
    /// Where the markdown report goes.
    #[arg(long, default_value = "target/bench-h2/report.md")]
    out: PathBuf,
}

/// One cell: how many WebSockets, how large each message, how many messages in a full run.
#[derive(Clone, Copy, Debug)]
struct Cell {
    sockets: usize,
    size: usize,
    messages: u64,
}

const CELLS: [Cell; 3] = [
    Cell {
        sockets: 1000,
        size: 20,
        messages: 100_000,
    },
    Cell {
        sockets: 1,
        size: 16 * 1024,
        messages: 20_000,
    },
    Cell {
        sockets: 10,
        size: 16 * 1024,
        messages: 40_000,
    },
];

/// What one measured window gave.
#[derive(Clone, Copy, Debug)]
struct Sample {
    open_ms: f64,
    first_echo_ms: f64,
    client_kib: f64,
    server_kib: f64,
    msgs_per_s: f64,
    client_us: f64,
    server_us: f64,
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

/// (cell index, version) → one entry per round (`None`: that run failed).
type Samples = BTreeMap<(usize, Proto), Vec<Option<Sample>>>;

fn run_all(args: &RunArgs) -> Result<()> {
    let started = Instant::now();
    let load_at_start = host::load_average();
    let rounds = args.rounds.unwrap_or(if args.quick { 1 } else { 3 }).max(1);
    let scale = if args.quick { 5 } else { 1 };
    let mut samples = Samples::new();
    for round in 0..rounds {
        for (c, cell) in CELLS.iter().enumerate() {
            let mut order = Proto::BOTH;
            order.rotate_left((round + c) % Proto::BOTH.len());
            for proto in order {
                let label = format!(
                    "[round {}/{rounds}] {} × {} B over {}",
                    round + 1,
                    cell.sockets,
                    cell.size,
                    proto.label()
                );
                let sample = match measure(args, *cell, proto, cell.messages / scale) {
                    Ok(s) => {
                        eprintln!(
                            "{label}: open {:.1} ms, {:.0} msg/s, client {:.2} µs/msg, server {:.2} µs/msg, \
                             {:.2}/{:.2} KiB per WebSocket (client/server)",
                            s.open_ms,
                            s.msgs_per_s,
                            s.client_us,
                            s.server_us,
                            s.client_kib,
                            s.server_kib
                        );
                        Some(s)
                    }
                    Err(e) => {
                        eprintln!("{label}: FAILED: {e:#}");
                        None
                    }
                };
                let entry = samples.entry((c, proto)).or_default();
                entry.resize(round, None);
                entry.push(sample);
            }
        }
    }
    let load = (load_at_start, host::load_average());
    let report = render(args, rounds, &samples, started.elapsed(), &load);
    markdown::publish(&report, &args.out)
}

/// One measurement: a fresh server on CPU 0 and a client on CPU 1.
fn measure(args: &RunArgs, cell: Cell, proto: Proto, messages: u64) -> Result<Sample> {
    let mut server_args: Vec<String> = ["server", "--cpu", "0", "--proto", proto.name()]
        .map(str::to_owned)
        .to_vec();
    server_args.extend(args.settings.to_args());
    let server = procs::spawn_server(&server_args)?;
    let mut client_args: Vec<String> = ["client", "--cpu", "1", "--proto", proto.name()]
        .map(str::to_owned)
        .to_vec();
    client_args.extend([
        "--addr".to_owned(),
        server.addrs.clone(),
        "--server-pid".to_owned(),
        server.pid.to_string(),
        "--sockets".to_owned(),
        cell.sockets.to_string(),
        "--size".to_owned(),
        cell.size.to_string(),
        "--messages".to_owned(),
        messages.to_string(),
        "--seconds".to_owned(),
        args.seconds.to_string(),
    ]);
    client_args.extend(args.settings.to_args());
    let r = procs::run_client(&client_args, Duration::from_secs_f64(args.seconds + 120.0))?;
    let n = get(&r, "messages")?;
    Ok(Sample {
        open_ms: get(&r, "open_ns")? / 1e6,
        first_echo_ms: get(&r, "first_echo_ns")? / 1e6,
        client_kib: get(&r, "client_kib_per_ws")?,
        server_kib: get(&r, "server_kib_per_ws")?,
        msgs_per_s: n / (get(&r, "wall_ns")? / 1e9),
        client_us: get(&r, "cpu_ns")? / n / 1e3,
        server_us: get(&r, "server_cpu_ns")? / n / 1e3,
    })
}

/// "median [min–max]" of one field over a cell's rounds.
fn show(samples: Option<&Vec<Option<Sample>>>, field: fn(&Sample) -> f64, digits: usize) -> String {
    let values = samples.into_iter().flatten().flatten().map(field);
    match digits {
        0 => spread(values, |v| format!("{v:.0}")),
        1 => spread(values, |v| format!("{v:.1}")),
        _ => spread(values, |v| format!("{v:.2}")),
    }
}

/// One field per round (`None` where the round failed).
fn per_round(samples: Option<&Vec<Option<Sample>>>, field: fn(&Sample) -> f64) -> Vec<Option<f64>> {
    samples.map_or_else(Vec::new, |s| {
        s.iter().map(|s| s.as_ref().map(field)).collect()
    })
}

/// The markdown report; `load` is the 1-minute load average at the start and at the end.
fn render(
    args: &RunArgs,
    rounds: usize,
    samples: &Samples,
    elapsed: Duration,
    load: &(String, String),
) -> String {
    let mut out = String::new();
    let command = host::command("BENCH_H2_COMMAND");
    let window = args.settings.describe();
    let _ = writeln!(
        out,
        "{}, {}, load average {} at the start and {} at the end.\n\n`{command}`: {rounds} \
         interleaved round(s), {:.0} s in all; server on CPU 0, client on \
         CPU 1, current-thread runtimes, one message in flight per WebSocket; HTTP/2 settings: \
         {window}. Medians [min–max] over rounds.\n",
        host::today_utc(),
        host::machine(),
        load.0,
        load.1,
        elapsed.as_secs_f64()
    );
    let c = 0;
    let [cell, ..] = CELLS;
    let _ = writeln!(
        out,
        "{} WebSockets × {} B (HTTP/2: one connection; HTTP/1.1: one connection each)\n",
        cell.sockets, cell.size
    );
    let _ = writeln!(
        out,
        "| | open all (ms) | one echo on each (ms) | server KiB/WebSocket | client KiB/WebSocket | msg/s, all echoing | server µs/msg | client µs/msg |\n|---|---|---|---|---|---|---|---|"
    );
    for proto in Proto::BOTH {
        let s = samples.get(&(c, proto));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            proto.label(),
            show(s, |s| s.open_ms, 1),
            show(s, |s| s.first_echo_ms, 1),
            show(s, |s| s.server_kib, 2),
            show(s, |s| s.client_kib, 2),
            show(s, |s| s.msgs_per_s, 0),
            show(s, |s| s.server_us, 2),
            show(s, |s| s.client_us, 2),
        );
    }
    let _ = writeln!(
        out,
        "\n16 KiB messages: HTTP/2 against HTTP/1.1 (median over rounds of the ratio within each round; goal ≥ 0.7×)\n\n\
         | WebSockets | version | msg/s | server µs/msg | client µs/msg | HTTP/2 ÷ HTTP/1.1 msg/s |\n|---|---|---|---|---|---|"
    );
    for (c, cell) in CELLS.iter().enumerate().skip(1) {
        let ratio = ratio(
            &per_round(samples.get(&(c, Proto::H2)), |s| s.msgs_per_s),
            &per_round(samples.get(&(c, Proto::H1)), |s| s.msgs_per_s),
        )
        .map_or_else(|| "—".to_owned(), |r| format!("{r:.2}×"));
        for proto in Proto::BOTH {
            let s = samples.get(&(c, proto));
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                cell.sockets,
                proto.label(),
                show(s, |s| s.msgs_per_s, 0),
                show(s, |s| s.server_us, 2),
                show(s, |s| s.client_us, 2),
                if proto == Proto::H2 {
                    ratio.as_str()
                } else {
                    ""
                },
            );
        }
    }
    out
}
