//! `--callgrind`: instructions per message, counted by `valgrind --tool=callgrind`, which
//! (unlike CPU time) does not move with the machine's load.
//!
//! For each side, cell and library, the process under test runs under callgrind twice, at
//! two message counts, with its peer running natively (client side: each client against a
//! tokio-websockets echo server; server side: each server under the floor client, as in the
//! matrix). Instructions per message are the difference of the two totals over the
//! difference of the counts, so that start-up, connecting, the handshake, warming up and
//! leaving cancel. The callgrind files stay in `callgrind/` next to the report, for
//! `callgrind_annotate`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};

use wintergreen_bench_e2e::procs;

use crate::libs::Lib;
use crate::run::{self, Callgrind, Side};

/// A cell of the callgrind matrix: one connection, `size` bytes, `burst` per flush.
#[derive(Clone, Copy, Debug)]
struct Cell {
    size: usize,
    burst: usize,
}

/// The cells: the smallest message, 1 KiB (a server sends it by reference, as a vectored
/// write of header and payload), 16 KiB, and bursts.
const CELLS: [Cell; 4] = [
    Cell { size: 20, burst: 1 },
    Cell {
        size: 1024,
        burst: 1,
    },
    Cell {
        size: 16 * 1024,
        burst: 1,
    },
    Cell {
        size: 20,
        burst: 32,
    },
];

impl Cell {
    fn name(self) -> String {
        let size = if self.size >= 1024 {
            format!("{} KiB", self.size / 1024)
        } else {
            format!("{} B", self.size)
        };
        if self.burst > 1 {
            format!("1 × {size}, {} per flush", self.burst)
        } else {
            format!("1 × {size}")
        }
    }
}

/// Instructions per message by (side, cell index, library).
type Counts = BTreeMap<(Side, usize, Lib), f64>;

/// Runs the callgrind matrix and returns its markdown report; callgrind's files go to `dir`.
/// Only the sides in `sides` are measured (all when empty).
pub(crate) fn run(counts: [u64; 2], libs: &[Lib], sides: &[Side], dir: &Path) -> Result<String> {
    if counts[0] == counts[1] {
        bail!("--callgrind-messages needs two different counts");
    }
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut results = Counts::new();
    for side in Side::BOTH
        .into_iter()
        .filter(|s| sides.is_empty() || sides.contains(s))
    {
        for (c, cell) in CELLS.iter().enumerate() {
            for lib in Lib::ALL
                .into_iter()
                .filter(|l| libs.is_empty() || *l == Lib::Floor || libs.contains(l))
            {
                let label = format!("callgrind {side:?} {} {}", cell.name(), lib.name());
                match per_message(side, lib, c, *cell, counts, dir) {
                    Ok(n) => {
                        eprintln!("{label}: {n:.0} instructions/msg");
                        results.insert((side, c, lib), n);
                    }
                    Err(e) => eprintln!("{label}: FAILED: {e:#}"),
                }
            }
        }
    }
    Ok(render(&results, counts))
}

/// Instructions per message of `lib` on `side` in `cell`.
fn per_message(
    side: Side,
    lib: Lib,
    c: usize,
    cell: Cell,
    counts: [u64; 2],
    dir: &Path,
) -> Result<f64> {
    let mut measured = [(0.0, 0.0); 2];
    for (slot, count) in measured.iter_mut().zip(counts) {
        let out = dir.join(format!(
            "{}-{}-cell{c}-{count}.out",
            side_name(side),
            lib.name()
        ));
        // A failed run must not leave an earlier run's file to be read.
        let _ = fs::remove_file(&out);
        let (server, client) = side.pair(lib);
        let args = [
            "--conns",
            "1",
            "--size",
            &cell.size.to_string(),
            "--messages",
            &count.to_string(),
            "--burst",
            &cell.burst.to_string(),
            "--seconds",
            "1000000",
            "--no-perf",
        ];
        let under = Callgrind { side, out: &out };
        let r = run::measure(
            server,
            client,
            1,
            &args,
            Duration::from_secs(600),
            Some(&under),
        )?;
        *slot = (procs::get(&r, "messages")?, instructions(&out)?);
    }
    let [(m0, i0), (m1, i1)] = measured;
    if m1 == m0 {
        bail!("both runs echoed {m0} messages");
    }
    Ok((i1 - i0) / (m1 - m0))
}

/// The instruction total of a callgrind file (its `totals:` line, else `summary:`).
fn instructions(path: &Path) -> Result<f64> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let total = |prefix: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
    };
    total("totals:")
        .or_else(|| total("summary:"))
        .with_context(|| format!("no instruction total in {}", path.display()))
}

fn side_name(side: Side) -> &'static str {
    match side {
        Side::Client => "client",
        Side::Server => "server",
    }
}

fn render(results: &Counts, counts: [u64; 2]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "**Instructions per message** (callgrind; one connection; the difference of a \
         {}- and a {}-message run over the difference of their counts, so that start-up, \
         the handshake and warming up cancel; the peer runs natively: client side against a \
         tokio-websockets echo server, server side under the floor client). **Ratios** are \
         to the floor's count in the same cell.\n",
        counts[0], counts[1]
    );
    // A side left out by `--callgrind-sides` has no rows.
    for side in Side::BOTH
        .into_iter()
        .filter(|s| results.keys().any(|(r, _, _)| r == s))
    {
        let _ = writeln!(out, "{} side:\n", side_name(side));
        let _ = write!(out, "| cell |");
        for lib in Lib::ALL {
            let _ = write!(out, " {} |", lib.name());
        }
        out.push_str("\n|---|");
        for _ in Lib::ALL {
            out.push_str("---|");
        }
        out.push('\n');
        for (c, cell) in CELLS.iter().enumerate() {
            let _ = write!(out, "| {} |", cell.name());
            let floor = results.get(&(side, c, Lib::Floor)).copied();
            for lib in Lib::ALL {
                let shown = match (results.get(&(side, c, lib)), floor) {
                    (None, _) => "—".to_owned(),
                    (Some(n), _) if lib == Lib::Floor => format!("{n:.0}"),
                    (Some(n), Some(f)) if f > 0.0 => format!("{n:.0} · **{:.2}×**", n / f),
                    (Some(n), _) => format!("{n:.0}"),
                };
                let _ = write!(out, " {shown} |");
            }
            out.push('\n');
        }
        out.push('\n');
    }
    out
}
