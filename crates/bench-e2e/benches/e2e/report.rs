//! The markdown report: medians over rounds with their spread, and ratios against the floor
//! and between wintergreen and each peer, taken round by round (same run, same conditions).

use std::fmt::Write as _;

use crate::libs::Lib;
use crate::run::{CELLS, Idle, Results, Sample, Side};
use wintergreen_bench_e2e::host;
use wintergreen_bench_e2e::markdown::{header, thousands};
use wintergreen_bench_e2e::stats::{median, ratio, spread, times};

const PEERS: [Lib; 3] = [
    Lib::TokioTungstenite,
    Lib::Fastwebsockets,
    Lib::TokioWebsockets,
];

fn us(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.1}")
    }
}

fn rate(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2} M", v / 1e6)
    } else {
        format!("{:.1} k", v / 1e3)
    }
}

fn calls(v: f64) -> String {
    format!("{v:.2}")
}

fn kib(v: f64) -> String {
    format!("{v:.2}")
}

fn cell_name(c: usize) -> String {
    CELLS.get(c).map_or_else(String::new, |cell| {
        let size = if cell.size >= 1024 {
            format!("{} KiB", cell.size / 1024)
        } else {
            format!("{} B", cell.size)
        };
        if cell.burst > 1 {
            format!("{} × {size}, {} per flush", cell.conns, cell.burst)
        } else {
            format!("{} × {size}", cell.conns)
        }
    })
}

fn lib_names() -> Vec<&'static str> {
    Lib::ALL.iter().map(|l| l.name()).collect()
}

/// One table of `metric` per cell and library: `median [min–max] · ratio to floor`.
fn metric_table(
    out: &mut String,
    results: &Results,
    side: Side,
    metric: fn(&Sample) -> Option<f64>,
    show: fn(f64) -> String,
) {
    out.push_str(&header("connections × size", &lib_names()));
    for c in 0..CELLS.len() {
        let _ = write!(out, "| {} |", cell_name(c));
        row(out, |lib| per_round(results, side, c, lib, metric), show);
    }
}

/// A metric of one cell, side and library, one entry per round.
fn per_round(
    results: &Results,
    side: Side,
    cell: usize,
    lib: Lib,
    metric: fn(&Sample) -> Option<f64>,
) -> Vec<Option<f64>> {
    results
        .samples
        .get(&(side, cell, lib))
        .map(|v| v.iter().map(|s| s.as_ref().and_then(metric)).collect())
        .unwrap_or_default()
}

/// The rest of a table row: each library's `median [min–max]`, and its ratio to the floor.
fn row(out: &mut String, values_of: impl Fn(Lib) -> Vec<Option<f64>>, show: fn(f64) -> String) {
    let floor = values_of(Lib::Floor);
    for lib in Lib::ALL {
        let values = values_of(lib);
        let shown = spread(values.iter().flatten().copied(), show);
        if lib == Lib::Floor {
            let _ = write!(out, " {shown} |");
        } else {
            let _ = write!(out, " {shown} · **{}** |", times(ratio(&values, &floor)));
        }
    }
    out.push('\n');
}

/// wintergreen's CPU per message over each peer's, round by round.
fn versus_table(out: &mut String, results: &Results, side: Side) {
    let columns: Vec<String> = PEERS.iter().map(|p| format!("vs {}", p.name())).collect();
    let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
    out.push_str(&header("connections × size", &columns));
    for c in 0..CELLS.len() {
        let cpu = |lib: Lib| per_round(results, side, c, lib, |s| Some(s.cpu_us));
        let ours = cpu(Lib::Wintergreen);
        let _ = write!(out, "| {} |", cell_name(c));
        for peer in PEERS {
            let _ = write!(out, " {} |", times(ratio(&ours, &cpu(peer))));
        }
        out.push('\n');
    }
}

fn idle_table(out: &mut String, results: &Results) {
    type Pick = fn(&Idle) -> f64;
    let figures: [(&str, Pick); 3] = [
        ("", |i| i.per_conn),
        (", cold start", |i| i.cold),
        (", cold start: program pages", |i| i.cold_file),
    ];
    out.push_str(&header("idle connections", &lib_names()));
    for side in Side::BOTH {
        for (label, pick) in figures {
            let _ = write!(
                out,
                "| {} side, {} connections{label} |",
                side_name(side),
                thousands(results.idle_conns)
            );
            row(
                out,
                |lib| {
                    let rounds = results.idle.get(&(side, lib));
                    rounds.map_or_else(Vec::new, |r| {
                        r.iter().map(|i| i.as_ref().map(pick)).collect()
                    })
                },
                kib,
            );
        }
        if let Some((n, large)) = &results.idle_large {
            for (label, pick) in &figures[..2] {
                let _ = write!(
                    out,
                    "| {} side, {} connections{label} |",
                    side_name(side),
                    thousands(*n)
                );
                for lib in Lib::ALL {
                    let shown = large
                        .get(&(side, lib))
                        .copied()
                        .flatten()
                        .map_or_else(|| "—".to_owned(), |i| kib(pick(&i)));
                    let _ = write!(out, " {shown} |");
                }
                out.push('\n');
            }
        }
    }
}

fn side_name(side: Side) -> &'static str {
    match side {
        Side::Client => "client",
        Side::Server => "server",
    }
}

pub(crate) fn render(results: &Results, meta: &host::Meta) -> String {
    let mut out = String::new();
    let rounds = results.rounds;
    let minutes = results.elapsed.as_secs_f64() / 60.0;
    let _ = writeln!(
        out,
        "End-to-end over loopback, {date}, {machine}: `{command}` ({rounds} interleaved \
         round{s}, {minutes:.1} min). Echo server pinned to CPU 0, client pinned to CPU 1, \
         current-thread tokio runtimes, one binary message in flight per connection (in the \
         burst row, 32 sent with one flush, then their echoes read), a fresh \
         process pair per measurement, CPU time from `/proc/<pid>/task/*/schedstat`. Figures \
         are medians over rounds [min–max]; **ratios** are taken within each round against the \
         library-free floor (a hand-made upgrade, then one frame written and one read per \
         message) and then the median is shown: below 1.00× uses less than the floor.\n",
        date = meta.date,
        machine = meta.machine,
        command = meta.command,
        s = if rounds == 1 { "" } else { "s" },
    );
    for side in Side::BOTH {
        let (title, fixed) = match side {
            Side::Client => (
                "Client CPU per message (µs)",
                "each client against a tokio-websockets echo server",
            ),
            Side::Server => (
                "Server CPU per message (µs)",
                "each echo server under the floor client",
            ),
        };
        let _ = writeln!(out, "**{title}**, {fixed}:\n");
        metric_table(&mut out, results, side, |s| Some(s.cpu_us), us);
        let _ = writeln!(
            out,
            "\nwintergreen's {} CPU per message over each peer's (same round; below 1.00× \
             wintergreen uses less):\n",
            side_name(side)
        );
        versus_table(&mut out, results, side);
        let _ = writeln!(
            out,
            "\nThroughput, {} side (messages per second; one in flight per connection):\n",
            side_name(side)
        );
        metric_table(&mut out, results, side, |s| Some(s.msgs_per_s), rate);
        let _ = writeln!(
            out,
            "\nSystem calls per message, {} side (every kind, epoll waits included: `perf stat \
             -e raw_syscalls:sys_enter` over the measured window):\n",
            side_name(side)
        );
        metric_table(&mut out, results, side, |s| s.syscalls, calls);
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "**Idle memory per connection (KiB)**, each connection after one 20 B echo (client \
         side: each client against a fresh tokio-websockets server; server side: each server, \
         fresh, under the floor client). Each process first opens one batch of 50 connections \
         and holds them, then N more: the figure is the RSS growth over those N, divided by N, \
         what each further connection costs. The *cold start* rows divide the growth from the \
         process's start by all N + 50: they also hold what a process pays once, its \
         program's pages read in as first used (*program pages*, `RssFile`) and the heap \
         that 50 handshakes in flight at once take and free.\n"
    );
    idle_table(&mut out, results);
    goals(&mut out, results);
    out
}

/// Issue 15's goals for wintergreen, read off this run (a report, never an assertion).
fn goals(out: &mut String, results: &Results) {
    const CPU_GOAL: f64 = 1.05;
    const IDLE_GOAL_KIB: f64 = 2.0;
    let _ = writeln!(
        out,
        "\n**Goals** (issue 15; medians of this run): CPU per message within {CPU_GOAL:.2}× the \
         floor in every cell, idle connections at most {IDLE_GOAL_KIB} KiB.\n"
    );
    for side in Side::BOTH {
        let mut over = Vec::new();
        for c in 0..CELLS.len() {
            let cpu = |lib: Lib| per_round(results, side, c, lib, |s| Some(s.cpu_us));
            if let Some(r) = ratio(&cpu(Lib::Wintergreen), &cpu(Lib::Floor))
                && r > CPU_GOAL
            {
                // Three decimals: a ratio just over the goal would read as the goal itself.
                over.push(format!("{} ({r:.3}×)", cell_name(c)));
            }
        }
        let cpu = if over.is_empty() {
            "met in every cell".to_owned()
        } else {
            format!("over in {}", over.join(", "))
        };
        let mut idle: Vec<f64> = results
            .idle
            .get(&(side, Lib::Wintergreen))
            .map(|v| v.iter().flatten().map(|i| i.per_conn).collect())
            .unwrap_or_default();
        let idle = median(&mut idle).map_or_else(
            || "not measured".to_owned(),
            |kib| {
                let verdict = if kib <= IDLE_GOAL_KIB {
                    "met"
                } else {
                    "not met"
                };
                format!("{kib:.2} KiB, {verdict}")
            },
        );
        let _ = writeln!(out, "- {} side: CPU {cpu}; idle {idle}.", side_name(side));
    }
    burst_goal(out, results);
}

/// Issue 15's burst goal: a client's CPU per message in bursts at most half the floor's
/// with one message in flight (1 × 20 B), same round.
fn burst_goal(out: &mut String, results: &Results) {
    const BURST_GOAL: f64 = 0.5;
    let (Some(burst), Some(single)) = (
        CELLS.iter().position(|c| c.burst > 1),
        CELLS.iter().position(|c| c.burst == 1 && c.conns == 1),
    ) else {
        return;
    };
    let cpu = |c: usize, lib: Lib| per_round(results, Side::Client, c, lib, |s| Some(s.cpu_us));
    let sys = |lib: Lib| {
        let mut v: Vec<f64> = per_round(results, Side::Client, burst, lib, |s| s.syscalls)
            .into_iter()
            .flatten()
            .collect();
        median(&mut v).map_or_else(|| "—".to_owned(), calls)
    };
    let ours = ratio(&cpu(burst, Lib::Wintergreen), &cpu(single, Lib::Floor));
    let verdict = match ours {
        Some(r) if r <= BURST_GOAL => "met",
        Some(_) => "not met",
        None => "not measured",
    };
    let _ = writeln!(
        out,
        "- bursts ({}): client CPU per message {} of the floor's with one message in flight \
         ({}; goal at most {BURST_GOAL:.2}×: {verdict}); floor in bursts {}; system calls per \
         message: wintergreen {}, floor {}.",
        cell_name(burst),
        times(ours),
        cell_name(single),
        times(ratio(&cpu(burst, Lib::Floor), &cpu(single, Lib::Floor))),
        sys(Lib::Wintergreen),
        sys(Lib::Floor),
    );
}
