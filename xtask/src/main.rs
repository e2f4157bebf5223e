//! `cargo xtask`: wintergreen's own tooling. Std-only apart from `serde_json`.
//!
//! ```text
//! cargo xtask ci                      fmt, clippy, test, deny, autobahn (what .ci/run runs)
//! cargo xtask autobahn [--side client|server|both] [--cases 1.*,2.*] [--testee] [--server-debug]
//!                                     Autobahn|Testsuite vs our client and our server, judged
//! cargo xtask autobahn-install        native Autobahn|Testsuite (Python 2.7), idempotent
//! cargo xtask interop                 permessage-deflate against Python `websockets`, both roles
//! cargo xtask proxies                 the client through tinyproxy (HTTP CONNECT) and danted (SOCKS5)
//! cargo xtask fuzz [--time S]        every fuzz target for S seconds (seeds replayed first)
//! cargo xtask soak                    10,000 mixed connections against our server, bounded
//! cargo xtask readme                  the README's client and server, as written, run as a pair
//! cargo xtask bench e2e [--quick]     end-to-end CPU, throughput and memory against the peers
//! cargo xtask bench h2 [--quick]      WebSockets over HTTP/2 against HTTP/1.1, 1,000 on one connection
//! ```

mod autobahn;
mod bench;
mod ci;
mod docs;
mod fuzz;
mod install;
mod interop;
mod proxies;
mod readme;
mod soak;
mod system;
mod util;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <task> [options]

tasks:
  ci [--skip STEP,...]    run everything CI runs, in order, failing fast:
                          fmt --check, clippy -D warnings, docs, feature matrix, test,
                          interop, proxies, quickstart, readme, cargo deny, package, autobahn
                          (--skip is for local use; CI runs every step)
  autobahn [options]      Autobahn|Testsuite against our client (fuzzingserver) and our echo
                          server (fuzzingclient), judged strictly; reports in
                          autobahn/reports/{clients,servers}/ (index.html, summary.md)
      --side SIDE         client, server or both (default: both; client with --testee)
      --cases LIST        only these cases (each side), e.g. `--cases 1.*,2.*,9.1.1`
                          (developers; CI runs all)
      --testee            run Autobahn's own testee client instead of ours (tests the client
                          pipeline)
      --server-debug      wstest's debug log (handshakes, frames) in autobahn/reports/fuzzingserver.log
  autobahn-install        install Autobahn|Testsuite natively (needs root; idempotent)
  interop                 permessage-deflate with a third-party implementation (Python
                          `websockets` in a venv at target/interop-venv): our client against
                          its echo server on 127.0.0.1:9005, its client against ours on :9006
  proxies                 the client through real proxies on free 127.0.0.1 ports: tinyproxy
                          (HTTP CONNECT, Basic auth) and danted (SOCKS5, username/password;
                          needs root: a system user `wintergreen-socks` is created once and
                          given a random password per run); ws:// and wss://, HTTP/1.1 and
                          HTTP/2; configs and logs in target/proxies/
  readme                  the README's client and server blocks, as written, in a new crate
                          outside the workspace with the README's [dependencies]; the pair
                          runs on a free loopback port and the client must exit by itself
  fuzz [--time S] [TARGET...]
                          every fuzz target (fuzz/, cargo-fuzz on stable, no sanitizer):
                          replay the committed seeds, then S seconds each (default 30,
                          what CI runs); a crash fails and leaves its input in fuzz/artifacts/
  soak [--conns N] [--seconds S] [--hold]
                          our server under N (10,000) mixed connections on loopback: idle,
                          chatty, ping flooders, non-readers, slowloris, and one normal
                          client whose echoes must keep flowing; reports RSS per connection
                          and fails over the memory budget (not in ci: ~70 s + build);
                          --hold: N plain WebSockets that echo once and idle, spread over
                          ceil(N/15,000) server processes (SO_REUSEPORT) and as many client
                          processes (one source address each); servers' RSS per connection
  bench e2e [--quick]     end-to-end benchmark (crates/bench-e2e): CPU per message, throughput
                          and idle memory per connection of each client and server against
                          tokio-tungstenite, fastwebsockets, tokio-websockets and a library-free
                          floor, interleaved; report in target/bench-e2e/report.md (full run
                          ~5 min, --quick under 1 min; `bench e2e --help` for its options);
                          `bench e2e --callgrind`: instructions per message under callgrind
                          (valgrind, installed with consent), in target/bench-e2e/callgrind.md
  bench scale [--quick]   handshakes per second and broadcast to 10,000 connections, each
                          server against tokio-tungstenite, fastwebsockets, tokio-websockets
                          and a library-free floor; report in target/bench-scale/report.md
  bench h2 [--quick]      WebSockets over HTTP/2 against HTTP/1.1, our client and server:
                          1,000 WebSockets on one connection, 16 KiB throughput ratio; report
                          in target/bench-h2/report.md (`bench h2 --help` for its options)
  help                    this text

Any task takes --yes: the apt packages and sources it needs (python3-venv, python3-pip, Python
2.7 from Debian 11 for Autobahn, tinyproxy and dante-server) may be installed without asking. Under CI=true it proceeds;
otherwise it lists the changes and asks at a terminal, or stops and says what it would change.
";

fn main() -> ExitCode {
    // `--yes`, anywhere: changes to the machine (apt packages and sources) are pre-approved.
    let (yes, args): (Vec<String>, Vec<String>) =
        std::env::args().skip(1).partition(|a| a == "--yes");
    if !yes.is_empty() {
        system::assume_yes();
    }
    let (task, rest) = match args.split_first() {
        Some((task, rest)) => (task.as_str(), rest),
        None => ("help", &[][..]),
    };
    let result = match task {
        "ci" => ci::run(rest),
        "autobahn" => autobahn::run(rest),
        "autobahn-install" => install::run(rest),
        "interop" => interop::run(rest),
        "proxies" => proxies::run(rest),
        "readme" => readme::run(rest),
        "fuzz" => fuzz::run(rest),
        "soak" => soak::run(rest),
        "bench" => bench::run(rest),
        "help" | "-h" | "--help" => {
            print!("{USAGE}");
            Ok(())
        }
        other => Err(util::Error(format!("unknown task `{other}`\n\n{USAGE}"))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("[xtask] error: {e}");
            ExitCode::FAILURE
        }
    }
}
