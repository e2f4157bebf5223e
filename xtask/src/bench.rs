//! `cargo xtask bench e2e|scale|h2`: the benchmark programs of `crates/bench-e2e`, built by
//! `cargo bench` (optimised) and run from the repository root; each report goes to
//! `target/bench-<name>/report.md` (under `CARGO_TARGET_DIR` when that is set). Options after
//! the name are the program's own (`--help`):
//! - `e2e`: against the peers (`--quick`, `--rounds N`, `--idle-conns N`, `--idle-large N`,
//!   `--seconds S`, `--callgrind`). `--callgrind` counts instructions per message under
//!   valgrind's callgrind (installed through apt with consent when missing; not part of `ci`:
//!   it is slow) and writes `target/bench-e2e/callgrind.md`;
//! - `scale`: handshakes per second and broadcast to 10,000 connections against the peers
//!   (`--quick`, `--rounds N`, `--conns N`, `--repeats N`, `--workers N`, `--seconds S`);
//! - `h2`: HTTP/2 against HTTP/1.1 (`--quick`, `--rounds N`, `--seconds S`, and HTTP/2
//!   settings to compare: `--stream-window`, `--conn-window`, `--max-frame`).

use std::time::Duration;

use crate::system::{self, Need};
use crate::util::{self, Result, bail};

/// valgrind, for `--callgrind`.
const VALGRIND: Need = Need {
    what: "valgrind",
    present: || {
        util::succeeds(
            std::process::Command::new("valgrind").arg("--version"),
            Duration::from_secs(30),
        )
    },
    packages: &["valgrind"],
};

/// Building (from cold, ~2 minutes here) plus the longest run (`--rounds 10 --idle-large`).
const TIMEOUT: Duration = Duration::from_secs(60 * 60);

pub fn run(args: &[String]) -> Result<()> {
    let Some((what, rest)) = args.split_first() else {
        bail!("bench needs a benchmark: `cargo xtask bench e2e|scale|h2 [--quick]`");
    };
    // The program's name, and the variable it reads the command line to report from.
    // `h2` needs the crate's `http2` feature, which `e2e` is built without.
    let (bench, command_var, features) = match what.as_str() {
        "e2e" => ("e2e", "BENCH_E2E_COMMAND", ""),
        "scale" => ("scale", "BENCH_SCALE_COMMAND", ""),
        "h2" => ("h2", "BENCH_H2_COMMAND", "http2"),
        _ => bail!(
            "unknown benchmark `{what}` (there are `e2e`, `scale` and `h2`; the codec's are `cargo bench -p wintergreen-codec-bench`)"
        ),
    };
    if rest.iter().any(|a| a == "--callgrind") {
        system::ensure(&[VALGRIND], "bench e2e --callgrind")?;
    }
    let root = util::project_root();
    let target = util::target_dir();
    let out = target.join(format!("bench-{bench}")).join("report.md");
    let shown = std::iter::once(format!("cargo xtask bench {bench}"))
        .chain(rest.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ");
    let mut cmd = util::cargo();
    cmd.current_dir(&root)
        .args([
            "bench",
            "--quiet",
            "-p",
            "wintergreen-bench-e2e",
            "--bench",
            bench,
        ])
        .args(
            ["--features", features]
                .iter()
                .filter(|_| !features.is_empty()),
        )
        .arg("--")
        .args(rest)
        .arg("--out")
        .arg(&out)
        .env(command_var, shown);
    util::run(&mut cmd, TIMEOUT)
}
