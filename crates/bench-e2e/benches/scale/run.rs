//! The orchestrator: for each round, each library's server (in an order rotated round by
//! round) under the handshake client, then under the broadcast client, each measurement a
//! fresh server and client process pair. Collects the clients' `RESULT` lines.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Result;
use wintergreen_bench_e2e::procs::{self, get};

use crate::e2e_libs::Lib;

/// The handshake servers, the floor first (the report's column order).
pub(crate) const HANDSHAKE_LIBS: [Lib; 5] = Lib::ALL;

/// The broadcast servers (fastwebsockets has none: see `libs/fastwebsockets.rs`).
pub(crate) const BROADCAST_LIBS: [Lib; 4] = [
    Lib::Floor,
    Lib::Wintergreen,
    Lib::TokioTungstenite,
    Lib::TokioWebsockets,
];

/// Broadcast payload sizes, in bytes.
pub(crate) const SIZES: [usize; 2] = [20, 16 * 1024];

/// `run` (the default): the whole benchmark and its report.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct RunArgs {
    /// One round, 1 s handshake windows, 2,000 broadcast connections, 5 broadcasts per size:
    /// about a minute.
    #[arg(long)]
    pub(crate) quick: bool,
    /// Interleaved rounds (default 3; 1 with --quick).
    #[arg(long)]
    pub(crate) rounds: Option<usize>,
    /// Handshake window per measurement, in seconds (default 3; 1 with --quick).
    #[arg(long)]
    pub(crate) seconds: Option<f64>,
    /// Concurrent handshake workers in the load client.
    #[arg(long, default_value_t = 16)]
    pub(crate) workers: usize,
    /// Connections a broadcast reaches (default 10,000; 2,000 with --quick).
    #[arg(long)]
    pub(crate) conns: Option<usize>,
    /// Measured broadcasts per size and measurement (default 20; 5 with --quick).
    #[arg(long)]
    pub(crate) repeats: Option<usize>,
    /// Where the markdown report goes.
    #[arg(long, default_value = "target/bench-scale/report.md")]
    pub(crate) out: PathBuf,
}

/// One handshake measurement of a server.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Handshakes {
    pub(crate) per_s: f64,
    /// Server CPU µs per handshake.
    pub(crate) server_us: f64,
    /// Share of the window each process ran on its CPU (1.0: all of it), server and client.
    pub(crate) server_busy: f64,
    pub(crate) client_busy: f64,
}

/// One broadcast size of one measurement: medians over its repeats.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Broadcast {
    /// From the trigger's write until the last connection has the whole message, in ms.
    pub(crate) ms: f64,
    /// Server and client CPU per broadcast, in ms.
    pub(crate) server_ms: f64,
    pub(crate) client_ms: f64,
}

/// Everything a run measured, one entry per round (`None`: that run failed).
#[derive(Debug, Default)]
pub(crate) struct Results {
    pub(crate) rounds: usize,
    pub(crate) seconds: f64,
    pub(crate) workers: usize,
    pub(crate) conns: usize,
    pub(crate) repeats: usize,
    pub(crate) handshakes: BTreeMap<Lib, Vec<Option<Handshakes>>>,
    /// (size, library) → per round.
    pub(crate) broadcasts: BTreeMap<(usize, Lib), Vec<Option<Broadcast>>>,
    /// Server RSS with every broadcast connection open, MiB, per round.
    pub(crate) rss: BTreeMap<Lib, Vec<Option<f64>>>,
    pub(crate) elapsed: Duration,
}

pub(crate) fn run(args: &RunArgs) -> Result<Results> {
    let started = Instant::now();
    let quick = args.quick;
    let mut results = Results {
        rounds: args.rounds.unwrap_or(if quick { 1 } else { 3 }).max(1),
        seconds: args.seconds.unwrap_or(if quick { 1.0 } else { 3.0 }),
        workers: args.workers.max(1),
        conns: args
            .conns
            .unwrap_or(if quick { 2_000 } else { 10_000 })
            .max(1),
        repeats: args.repeats.unwrap_or(if quick { 5 } else { 20 }).max(1),
        ..Results::default()
    };
    let rounds = results.rounds;
    for round in 0..rounds {
        for lib in rotated(HANDSHAKE_LIBS, round) {
            let label = format!("[round {}/{rounds}] handshakes {}", round + 1, lib.name());
            let sample = procs::logged(&label, handshakes(lib, &results), |s| {
                format!(
                    "{:.0}/s, {:.1} server µs each, CPU busy: server {:.0}%, client {:.0}%",
                    s.per_s,
                    s.server_us,
                    s.server_busy * 100.0,
                    s.client_busy * 100.0
                )
            });
            push(results.handshakes.entry(lib).or_default(), round, sample);
        }
        for lib in rotated(BROADCAST_LIBS, round) {
            let label = format!("[round {}/{rounds}] broadcast {}", round + 1, lib.name());
            let measured = procs::logged(&label, broadcast(lib, &results), |(b, rss)| {
                let sizes: Vec<String> = b
                    .iter()
                    .zip(SIZES)
                    .map(|(b, s)| {
                        format!("{s} B: {:.2} ms, {:.2} server CPU ms", b.ms, b.server_ms)
                    })
                    .collect();
                format!("{}; server RSS {rss:.0} MiB", sizes.join("; "))
            });
            for (i, size) in SIZES.into_iter().enumerate() {
                let sample = measured.as_ref().and_then(|(b, _)| b.get(i).copied());
                push(
                    results.broadcasts.entry((size, lib)).or_default(),
                    round,
                    sample,
                );
            }
            let rss = measured.map(|(_, rss)| rss);
            push(results.rss.entry(lib).or_default(), round, rss);
        }
    }
    results.elapsed = started.elapsed();
    Ok(results)
}

/// Sets round `round`'s entry (earlier rounds that left none stay `None`).
fn push<T>(entries: &mut Vec<Option<T>>, round: usize, value: Option<T>) {
    entries.resize_with(round, || None);
    entries.push(value);
}

/// `libs` in an order rotated by `by`, so that no library always runs first or last.
fn rotated<const N: usize>(mut libs: [Lib; N], by: usize) -> [Lib; N] {
    libs.rotate_left(by % N);
    libs
}

/// A fresh server of `lib` in `mode` on CPU 0, and `client` (a subcommand) on CPU 1.
fn measure(
    lib: Lib,
    mode: &str,
    client: &[&str],
    limit: Duration,
) -> Result<BTreeMap<String, f64>> {
    let server =
        procs::spawn_server(["server", "--cpu", "0", "--lib", lib.name(), "--mode", mode])?;
    let pid = server.pid.to_string();
    let target = ["--cpu", "1", "--addrs", &server.addrs, "--server-pid", &pid];
    procs::run_client(client.iter().chain(&target), limit)
}

fn handshakes(lib: Lib, r: &Results) -> Result<Handshakes> {
    let (seconds, workers) = (r.seconds.to_string(), r.workers.to_string());
    let client = ["handshakes", "--seconds", &seconds, "--workers", &workers];
    let limit = Duration::from_secs_f64(r.seconds + 60.0);
    let m = measure(lib, "handshake", &client, limit)?;
    let (n, wall) = (get(&m, "handshakes")?, get(&m, "wall_ns")?);
    Ok(Handshakes {
        per_s: n / (wall / 1e9),
        server_us: get(&m, "server_cpu_ns")? / n / 1e3,
        server_busy: get(&m, "server_cpu_ns")? / wall,
        client_busy: get(&m, "cpu_ns")? / wall,
    })
}

/// Each size's figures, and the server's RSS in MiB with all connections open.
fn broadcast(lib: Lib, r: &Results) -> Result<(Vec<Broadcast>, f64)> {
    let (conns, repeats) = (r.conns.to_string(), r.repeats.to_string());
    let sizes: Vec<String> = SIZES.iter().map(usize::to_string).collect();
    let sizes = sizes.join(",");
    let client = [
        "broadcast",
        "--conns",
        &conns,
        "--repeats",
        &repeats,
        "--sizes",
        &sizes,
    ];
    let m = measure(lib, "broadcast", &client, Duration::from_secs(300))?;
    let figures = SIZES
        .iter()
        .map(|size| {
            Ok(Broadcast {
                ms: get(&m, &format!("b{size}_ns"))? / 1e6,
                server_ms: get(&m, &format!("b{size}_server_cpu_ns"))? / 1e6,
                client_ms: get(&m, &format!("b{size}_cpu_ns"))? / 1e6,
            })
        })
        .collect::<Result<_>>()?;
    Ok((figures, get(&m, "server_rss_kib")? / 1024.0))
}
