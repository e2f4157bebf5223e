//! The markdown report: medians over rounds with their spread, ratios against the floor and
//! between wintergreen and each peer, each taken within one round.

use std::fmt::Write as _;

use wintergreen_bench_e2e::host;
use wintergreen_bench_e2e::markdown::{header, thousands};
use wintergreen_bench_e2e::stats::{ratio, spread, times};

use crate::e2e_libs::Lib;
use crate::run::{BROADCAST_LIBS, HANDSHAKE_LIBS, Results, SIZES};

/// The peers wintergreen is compared with.
const PEERS: [Lib; 2] = [Lib::TokioTungstenite, Lib::TokioWebsockets];

/// One table row: a label and each library's figure per round.
struct Row<'a> {
    label: String,
    values: Box<dyn Fn(Lib) -> Vec<Option<f64>> + 'a>,
    show: fn(f64) -> String,
}

/// Each library's `median [min–max]`, then its ratio to the floor, per row; then a table of
/// wintergreen's ratio to each peer.
fn tables(out: &mut String, libs: &[Lib], rows: &[Row<'_>]) {
    let names: Vec<&str> = libs.iter().map(|l| l.name()).collect();
    out.push_str(&header("", &names));
    for row in rows {
        let _ = write!(out, "| {} |", row.label);
        let floor = (row.values)(Lib::Floor);
        for &lib in libs {
            let values = (row.values)(lib);
            let shown = spread(values.iter().flatten().copied(), row.show);
            if lib == Lib::Floor {
                let _ = write!(out, " {shown} |");
            } else {
                let _ = write!(out, " {shown} · **{}** |", times(ratio(&values, &floor)));
            }
        }
        out.push('\n');
    }
    out.push_str("\nwintergreen over each peer (same round, median of the rounds' ratios):\n\n");
    let peers: Vec<String> = PEERS.iter().map(|p| format!("vs {}", p.name())).collect();
    out.push_str(&header(
        "",
        &peers.iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    for row in rows {
        let _ = write!(out, "| {} |", row.label);
        let ours = (row.values)(Lib::Wintergreen);
        for peer in PEERS {
            let _ = write!(out, " {} |", times(ratio(&ours, &(row.values)(peer))));
        }
        out.push('\n');
    }
}

fn fixed(digits: usize) -> fn(f64) -> String {
    match digits {
        0 => |v| format!("{v:.0}"),
        1 => |v| format!("{v:.1}"),
        _ => |v| format!("{v:.2}"),
    }
}

fn size_name(size: usize) -> String {
    if size >= 1024 {
        format!("{} KiB", size / 1024)
    } else {
        format!("{size} B")
    }
}

pub(crate) fn render(r: &Results, meta: &host::Meta) -> String {
    let mut out = String::new();
    let rounds = r.rounds;
    let _ = writeln!(
        out,
        "Scale over loopback, {date}, {machine}: `{command}` ({rounds} interleaved round{s}, \
         {minutes:.1} min). Each server alone in a fresh process pinned to CPU 0 on a \
         current-thread tokio runtime, under a library-free client pinned to CPU 1; CPU time \
         from `/proc/<pid>/task/*/schedstat`. Figures are medians over rounds [min–max]; \
         **ratios** are taken within each round against the floor (hand-made upgrade, frames \
         by hand), then their median is shown.\n",
        date = meta.date,
        machine = meta.machine,
        command = meta.command,
        s = if rounds == 1 { "" } else { "s" },
        minutes = r.elapsed.as_secs_f64() / 60.0,
    );
    let _ = writeln!(
        out,
        "**Handshakes per second**, server side: {workers} client workers, each connecting, \
         sending the upgrade request, reading the 101 and dropping the socket (no close \
         frame), over a {seconds} s window after 0.5 s of warm-up:\n",
        workers = r.workers,
        seconds = r.seconds,
    );
    let hs = |f: fn(&crate::run::Handshakes) -> f64| {
        move |lib: Lib| -> Vec<Option<f64>> {
            r.handshakes
                .get(&lib)
                .map(|v| v.iter().map(|s| s.as_ref().map(f)).collect())
                .unwrap_or_default()
        }
    };
    let rows = [
        Row {
            label: "handshakes per second".to_owned(),
            values: Box::new(hs(|s| s.per_s)),
            show: fixed(0),
        },
        Row {
            label: "server CPU µs per handshake".to_owned(),
            values: Box::new(hs(|s| s.server_us)),
            show: fixed(1),
        },
        Row {
            label: "server CPU busy (share of the window)".to_owned(),
            values: Box::new(hs(|s| s.server_busy)),
            show: fixed(2),
        },
        Row {
            label: "client CPU busy (share of the window)".to_owned(),
            values: Box::new(hs(|s| s.client_busy)),
            show: fixed(2),
        },
    ];
    tables(&mut out, &HANDSHAKE_LIBS, &rows);
    let _ = writeln!(
        out,
        "\n**Broadcast to {conns} connections**: the client holds {conns} upgraded \
         connections, sends one binary message on the first, and times from that write until \
         every connection has read the whole broadcast of it; {repeats} broadcasts per size \
         after 2 of warm-up, the median per measurement; server CPU per broadcast over the \
         same broadcasts; server RSS with every connection open:\n",
        conns = thousands(r.conns),
        repeats = r.repeats,
    );
    let bc = |size: usize, f: fn(&crate::run::Broadcast) -> f64| {
        move |lib: Lib| -> Vec<Option<f64>> {
            r.broadcasts
                .get(&(size, lib))
                .map(|v| v.iter().map(|s| s.as_ref().map(f)).collect())
                .unwrap_or_default()
        }
    };
    let mut rows = Vec::new();
    for size in SIZES {
        rows.push(Row {
            label: format!("{}: ms until the last has it", size_name(size)),
            values: Box::new(bc(size, |b| b.ms)),
            show: fixed(2),
        });
        rows.push(Row {
            label: format!("{}: server CPU ms per broadcast", size_name(size)),
            values: Box::new(bc(size, |b| b.server_ms)),
            show: fixed(2),
        });
        rows.push(Row {
            label: format!("{}: client CPU ms per broadcast", size_name(size)),
            values: Box::new(bc(size, |b| b.client_ms)),
            show: fixed(2),
        });
    }
    rows.push(Row {
        label: "server RSS (MiB)".to_owned(),
        values: Box::new(|lib| r.rss.get(&lib).cloned().unwrap_or_default()),
        show: fixed(0),
    });
    tables(&mut out, &BROADCAST_LIBS, &rows);
    out
}
