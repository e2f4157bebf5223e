//! The orchestrator: for each round, each cell of the matrix and each library (in an order
//! rotated round by round), a fresh echo server and a fresh client process; then idle memory.
//! Collects the children's `RESULT` lines into [`Results`].

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Result;
use wintergreen_bench_e2e::procs::{self, get};

use crate::libs::Lib;

/// `run` (the default): the whole benchmark and its report.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct RunArgs {
    /// One round, a fifth of the messages, 200 idle connections: under a minute.
    #[arg(long)]
    pub(crate) quick: bool,
    /// Interleaved rounds (default 3; 1 with --quick).
    #[arg(long)]
    pub(crate) rounds: Option<usize>,
    /// Connections held for the idle-memory figure (default 1,000; 200 with --quick).
    #[arg(long)]
    pub(crate) idle_conns: Option<usize>,
    /// Also measure idle memory once at this many connections (e.g. 50000); needs a
    /// file-descriptor hard limit above it (raised when the process has CAP_SYS_RESOURCE).
    #[arg(long)]
    pub(crate) idle_large: Option<usize>,
    /// Time limit of one measured window, in seconds.
    #[arg(long, default_value_t = 10.0)]
    pub(crate) seconds: f64,
    /// Where the markdown report goes.
    #[arg(long, default_value = "target/bench-e2e/report.md")]
    pub(crate) out: PathBuf,
    /// Instead of the matrix: instructions per message under callgrind, client and server
    /// side (see `callgrind.rs`); the report goes to `callgrind.md` next to `--out`.
    #[arg(long)]
    pub(crate) callgrind: bool,
    /// With `--callgrind`: the two message counts whose difference is measured.
    #[arg(long, value_delimiter = ',', num_args = 2, default_values_t = [500u64, 2500])]
    pub(crate) callgrind_messages: Vec<u64>,
    /// With `--callgrind`: only these libraries (default: all; the floor is always run).
    #[arg(long, value_delimiter = ',', value_enum)]
    pub(crate) callgrind_libs: Vec<Lib>,
    /// With `--callgrind`: only these sides (default: both).
    #[arg(long, value_delimiter = ',', value_enum)]
    pub(crate) callgrind_sides: Vec<Side>,
}

/// One cell of the matrix.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cell {
    pub(crate) conns: usize,
    pub(crate) size: usize,
    /// Messages per measured window in a full run.
    messages: u64,
    /// Messages sent per flush before their echoes are read (1: one in flight).
    pub(crate) burst: usize,
}

/// The cells; the last sends bursts (issue 15: 32 messages of 20 B per flush), for CPU and
/// system calls per message below the one-in-flight floor.
pub(crate) const CELLS: [Cell; 6] = [
    Cell {
        conns: 1,
        size: 20,
        messages: 5_000,
        burst: 1,
    },
    Cell {
        conns: 100,
        size: 20,
        messages: 50_000,
        burst: 1,
    },
    Cell {
        conns: 10,
        size: 1024,
        messages: 30_000,
        burst: 1,
    },
    Cell {
        conns: 10,
        size: 16 * 1024,
        messages: 20_000,
        burst: 1,
    },
    Cell {
        conns: 100,
        size: 16 * 1024,
        messages: 20_000,
        burst: 1,
    },
    Cell {
        conns: 1,
        size: 20,
        messages: 64_000,
        burst: 32,
    },
];

/// Which role the libraries play; the other role is fixed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub(crate) enum Side {
    /// Client libraries against a tokio-websockets echo server.
    Client,
    /// Server libraries under the floor client.
    Server,
}

impl Side {
    pub(crate) const BOTH: [Side; 2] = [Side::Client, Side::Server];

    /// The (server, client) pair that measures `lib` on this side.
    pub(crate) fn pair(self, lib: Lib) -> (Lib, Lib) {
        match self {
            Side::Client => (Lib::TokioWebsockets, lib),
            Side::Server => (lib, Lib::Floor),
        }
    }
}

/// One measured window.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sample {
    /// CPU µs per message of the library under test (client or server, per side).
    pub(crate) cpu_us: f64,
    pub(crate) msgs_per_s: f64,
    /// System calls per message of the library under test (`None`: perf unavailable).
    pub(crate) syscalls: Option<f64>,
}

/// The connection count of the large idle run and its figures per (side, library).
pub(crate) type IdleLarge = (usize, BTreeMap<(Side, Lib), Option<Idle>>);

/// KiB per idle connection, each after one 20 B echo (see the client's `idle`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Idle {
    /// RSS growth over the measured connections, opened after a warm-up batch: what each
    /// further connection costs.
    pub(crate) per_conn: f64,
    /// RSS growth from the process's start over all its connections (warm-up included):
    /// also what the process pays once.
    pub(crate) cold: f64,
    /// The part of `cold` that is program pages read in as first used (`RssFile`).
    pub(crate) cold_file: f64,
}

/// Everything a run measured, by round.
#[derive(Debug, Default)]
pub(crate) struct Results {
    pub(crate) rounds: usize,
    pub(crate) idle_conns: usize,
    /// (side, cell index, library) → one entry per round (`None`: that run failed).
    pub(crate) samples: BTreeMap<(Side, usize, Lib), Vec<Option<Sample>>>,
    /// (side, library) → KiB per idle connection, per round.
    pub(crate) idle: BTreeMap<(Side, Lib), Vec<Option<Idle>>>,
    /// (side, library) → KiB per idle connection at `idle_large` connections.
    pub(crate) idle_large: Option<IdleLarge>,
    pub(crate) elapsed: Duration,
}

pub(crate) fn run(args: &RunArgs) -> Result<Results> {
    let started = Instant::now();
    let rounds = args.rounds.unwrap_or(if args.quick { 1 } else { 3 }).max(1);
    let idle_conns = args
        .idle_conns
        .unwrap_or(if args.quick { 200 } else { 1000 });
    let scale = if args.quick { 5 } else { 1 };
    let mut results = Results {
        rounds,
        idle_conns,
        ..Results::default()
    };
    for round in 0..rounds {
        for (c, cell) in CELLS.iter().enumerate() {
            for side in Side::BOTH {
                for lib in rotated(round + c) {
                    let (server, client) = side.pair(lib);
                    let messages = (cell.messages / scale).to_string();
                    let client_args = [
                        "--conns",
                        &cell.conns.to_string(),
                        "--size",
                        &cell.size.to_string(),
                        "--messages",
                        &messages,
                        "--seconds",
                        &args.seconds.to_string(),
                        "--burst",
                        &cell.burst.to_string(),
                    ];
                    let limit = Duration::from_secs_f64(args.seconds + 60.0);
                    let sample =
                        measure(server, client, 1, &client_args, limit, None).and_then(|r| {
                            let messages = get(&r, "messages")?;
                            let (cpu_key, sys_key) = match side {
                                Side::Client => ("cpu_ns", "syscalls"),
                                Side::Server => ("server_cpu_ns", "server_syscalls"),
                            };
                            Ok(Sample {
                                cpu_us: get(&r, cpu_key)? / messages / 1e3,
                                msgs_per_s: messages / (get(&r, "wall_ns")? / 1e9),
                                syscalls: get(&r, sys_key).ok().map(|n| n / messages),
                            })
                        });
                    let label = format!(
                        "[round {}/{rounds}] {side:?} {}×{} B ×{} {}",
                        round + 1,
                        cell.conns,
                        cell.size,
                        cell.burst,
                        lib.name()
                    );
                    let sample = procs::logged(&label, sample, |s| {
                        format!(
                            "{:.2} µs/msg, {:.0} msg/s, {} syscalls/msg",
                            s.cpu_us,
                            s.msgs_per_s,
                            s.syscalls
                                .map_or_else(|| "?".to_owned(), |n| format!("{n:.2}"))
                        )
                    });
                    let entry = results.samples.entry((side, c, lib)).or_default();
                    entry.resize(round, None);
                    entry.push(sample);
                }
            }
        }
        for side in Side::BOTH {
            for lib in rotated(round) {
                let value = idle(side, lib, idle_conns);
                let label = format!(
                    "[round {}/{rounds}] {side:?} idle {}",
                    round + 1,
                    lib.name()
                );
                let value = procs::logged(&label, value, Idle::describe);
                let entry = results.idle.entry((side, lib)).or_default();
                entry.resize(round, None);
                entry.push(value);
            }
        }
    }
    if let Some(n) = args.idle_large {
        let mut large = BTreeMap::new();
        for side in Side::BOTH {
            for lib in Lib::ALL {
                let value = idle(side, lib, n);
                let label = format!("{side:?} idle {} at {n}", lib.name());
                let value = procs::logged(&label, value, Idle::describe);
                large.insert((side, lib), value);
            }
        }
        results.idle_large = Some((n, large));
    }
    results.elapsed = started.elapsed();
    Ok(results)
}

/// The libraries in an order rotated by `by`, so that no library always runs first or last.
fn rotated(by: usize) -> [Lib; 5] {
    let mut libs = Lib::ALL;
    libs.rotate_left(by % Lib::ALL.len());
    libs
}

/// KiB per idle connection of `lib` on `side` after one echo each over `n` connections.
fn idle(side: Side, lib: Lib, n: usize) -> Result<Idle> {
    let (server, client) = side.pair(lib);
    // One client address reaches at most ~28,000 ports of one listener.
    let listeners = n.div_ceil(20_000).max(1);
    let args = ["--idle", "--conns", &n.to_string(), "--size", "20"];
    let r = measure(
        server,
        client,
        listeners,
        &args,
        Duration::from_secs(300),
        None,
    )?;
    let who = match side {
        Side::Client => "client",
        Side::Server => "server",
    };
    Ok(Idle {
        per_conn: get(&r, &format!("{who}_kib_per_conn"))?,
        cold: get(&r, &format!("{who}_cold_kib_per_conn"))?,
        cold_file: get(&r, &format!("{who}_cold_file_kib_per_conn"))?,
    })
}

impl Idle {
    fn describe(&self) -> String {
        format!(
            "{:.2} KiB/conn ({:.2} from a cold start, of which program pages {:.2})",
            self.per_conn, self.cold, self.cold_file
        )
    }
}

/// Runs one side of a measurement under `valgrind --tool=callgrind`.
#[derive(Debug)]
pub(crate) struct Callgrind<'a> {
    /// The process under callgrind: the server (`Side::Server`) or the client.
    pub(crate) side: Side,
    /// Where callgrind writes its counts.
    pub(crate) out: &'a std::path::Path,
}

impl Callgrind<'_> {
    /// The wrapper that runs `side`'s process: valgrind when that is the side measured.
    fn wrapper(under: Option<&Self>, side: Side) -> Vec<OsString> {
        match under {
            Some(cg) if cg.side == side => vec![
                "valgrind".into(),
                "--tool=callgrind".into(),
                "--quiet".into(),
                format!("--callgrind-out-file={}", cg.out.display()).into(),
            ],
            _ => Vec::new(),
        }
    }
}

/// One measurement: a fresh `server` on CPU 0 and a `client` on CPU 1 with `client_args`,
/// one of them under callgrind when `under` says so.
pub(crate) fn measure(
    server: Lib,
    client: Lib,
    listeners: usize,
    client_args: &[&str],
    limit: Duration,
    under: Option<&Callgrind<'_>>,
) -> Result<BTreeMap<String, f64>> {
    let listeners = listeners.to_string();
    let server_child = procs::spawn_server_under(
        &Callgrind::wrapper(under, Side::Server),
        [
            "server",
            "--cpu",
            "0",
            "--lib",
            server.name(),
            "--listeners",
            &listeners,
        ],
    )?;
    let pid = server_child.pid.to_string();
    let target = ["--addrs", &server_child.addrs, "--server-pid", &pid];
    let args = ["client", "--cpu", "1", "--lib", client.name()];
    procs::run_client_under(
        &Callgrind::wrapper(under, Side::Client),
        args.iter().chain(&target).chain(client_args),
        limit,
    )
}
