//! The same groups as `codec.rs`, measured interleaved and reported as ratios.
//!
//! Each round runs every peer of a group once, for about a millisecond each, in a rotating
//! order; the report gives each peer's median time per iteration and the median, over the
//! rounds, of the per-round ratio `peer time / wintergreen time`, with its quartiles. Times
//! are the thread's CPU time, so a slice preempted by another process is not charged for
//! the time it waited; load that drifts over seconds (its effect on caches and memory
//! bandwidth) hits all peers of a round alike and cancels out of the ratio, so these ratios
//! stay put on a busy machine where criterion's sequential numbers wander.
//!
//! `cargo bench -p wintergreen-codec-bench --bench ratios [-- FILTER...]` prints a markdown
//! table; `WINTERGREEN_BENCH_ROUNDS` sets the number of rounds (default 41).
//! `WINTERGREEN_BENCH_ONLY=PEER` runs that one peer of each selected group alone for about
//! two seconds and prints its rate instead, for a profiler (`perf record`, `perf stat`).

// A benchmark should stop loudly on a wrong result, and this one's output is its report.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout,
    clippy::print_stderr,
    missing_docs
)]

mod common;

use std::time::Duration;

/// Time per peer per round.
const SLICE: Duration = Duration::from_millis(1);

/// Peers shown in the report, in column order.
const COLUMNS: [&str; 5] = [
    "wintergreen",
    "wintergreen-receive",
    "tungstenite",
    "fastwebsockets",
    "tokio-websockets",
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo test --benches` passes no `--bench`, `cargo bench -- --test` passes `--test`:
    // then run every peer once, as a smoke test.
    let smoke = args.iter().any(|a| a == "--test") || !args.iter().any(|a| a == "--bench");
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let rounds = std::env::var("WINTERGREEN_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(41usize)
        .max(1);

    let only = std::env::var("WINTERGREEN_BENCH_ONLY").ok();
    if !smoke && only.is_none() {
        println!(
            "| benchmark | {} | wintergreen vs tungstenite |",
            COLUMNS.join(" | ")
        );
        println!("|---|---|---|---|---|---|---|");
    }
    for kind in common::KINDS {
        for index in 0..common::SIZES.len() {
            let mut case = common::case(kind, index);
            let id = case.id();
            if !filters.is_empty() && !filters.iter().any(|f| id.contains(f.as_str())) {
                continue;
            }
            if smoke {
                for peer in &mut case.peers {
                    (peer.run)(1);
                }
                eprintln!("{id}: ok");
                continue;
            }
            match &only {
                Some(name) => profile(&mut case, name),
                None => println!("{}", report(&mut case, rounds)),
            }
        }
    }
}

/// Runs the peer `name` of `case` alone for about [`PROFILE_TIME`], for a profiler.
fn profile(case: &mut common::Case, name: &str) {
    let (id, size, msgs) = (case.id(), case.size, case.msgs);
    let Some(peer) = case.peers.iter_mut().find(|p| p.name == name) else {
        eprintln!("{id}: no peer {name}");
        return;
    };
    let (mut iters, mut took) = (0u64, Duration::ZERO);
    // Bounded: every pass takes time, and the passes stop at the deadline.
    while took < PROFILE_TIME {
        took += (peer.run)(64);
        iters += 64;
    }
    let secs = took.as_secs_f64() / iters as f64;
    println!("{id} {name}: {}", rate(size, msgs, secs));
}

/// How long [`profile`] runs a peer.
const PROFILE_TIME: Duration = Duration::from_secs(2);

/// Runs `case` interleaved and formats its row.
fn report(case: &mut common::Case, rounds: usize) -> String {
    let (id, size, msgs) = (case.id(), case.size, case.msgs);
    let peers = &mut case.peers;
    // Warm up, then pick each peer's iterations per slice.
    let iters: Vec<u64> = peers
        .iter_mut()
        .map(|peer| {
            (peer.run)(1);
            let mut n = 1u64;
            loop {
                let took = (peer.run)(n);
                if took >= SLICE / 4 || n >= 1 << 30 {
                    let per = took.as_secs_f64() / n as f64;
                    break ((SLICE.as_secs_f64() / per.max(1e-12)) as u64).max(1);
                }
                n *= 4;
            }
        })
        .collect();
    // times[peer][round]: seconds per iteration.
    let mut times = vec![Vec::with_capacity(rounds); peers.len()];
    for round in 0..rounds {
        for k in 0..peers.len() {
            let i = (round + k) % peers.len();
            let took = (peers[i].run)(iters[i]);
            times[i].push(took.as_secs_f64() / iters[i] as f64);
        }
    }

    let ours = peers
        .iter()
        .position(|p| p.name == "wintergreen")
        .expect("wintergreen");
    let cells: Vec<String> = COLUMNS
        .iter()
        .map(|name| match peers.iter().position(|p| p.name == *name) {
            None => "—".to_owned(),
            Some(i) => {
                let secs = median(times[i].clone());
                let (q1, ratio, q3) =
                    quartiles((0..rounds).map(|r| times[i][r] / times[ours][r]).collect());
                let rate = rate(size, msgs, secs);
                if i == ours {
                    rate
                } else {
                    format!("{rate} ({ratio:.2}× our time, {q1:.2}–{q3:.2})")
                }
            }
        })
        .collect();
    // Against tungstenite; for `mask`, against its algorithm (fastwebsockets::unmask).
    let reference = ["tungstenite", "fastwebsockets"]
        .iter()
        .find_map(|name| peers.iter().position(|p| p.name == *name))
        .expect("a reference peer");
    let ratios: Vec<f64> = (0..rounds)
        .map(|r| times[reference][r] / times[ours][r])
        .collect();
    let (q1, mid, q3) = quartiles(ratios);
    format!(
        "| {id} | {} | **{mid:.2}×** ({q1:.2}–{q3:.2}) |",
        cells.join(" | ")
    )
}

/// Messages and bytes per second for `msgs` messages of `size` bytes in `secs`.
fn rate(size: usize, msgs: usize, secs: f64) -> String {
    let bytes = si((size * msgs) as f64 / secs, "B/s");
    if msgs > 1 {
        format!("{}, {bytes}", si(msgs as f64 / secs, "msg/s"))
    } else {
        format!("{}, {bytes}", human_time(secs))
    }
}

fn si(x: f64, unit: &str) -> String {
    match x {
        x if x >= 1e9 => format!("{:.2} G{unit}", x / 1e9),
        x if x >= 1e6 => format!("{:.2} M{unit}", x / 1e6),
        x if x >= 1e3 => format!("{:.2} k{unit}", x / 1e3),
        x => format!("{x:.0} {unit}"),
    }
}

fn human_time(secs: f64) -> String {
    match secs {
        s if s >= 1e-3 => format!("{:.2} ms", s * 1e3),
        s if s >= 1e-6 => format!("{:.2} µs", s * 1e6),
        s => format!("{:.1} ns", s * 1e9),
    }
}

fn median(values: Vec<f64>) -> f64 {
    quartiles(values).1
}

fn quartiles(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    (at(0.25), at(0.5), at(0.75))
}
