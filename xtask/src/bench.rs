//! `cargo xtask bench e2e`: the end-to-end benchmark (`crates/bench-e2e`, its `e2e` bench
//! program), built by `cargo bench` (optimised) and run from the repository root; its report
//! goes to `target/bench-e2e/report.md` (under `CARGO_TARGET_DIR` when that is set). Options after `e2e` are the benchmark's own
//! (`--quick`, `--rounds N`, `--idle-conns N`, `--idle-large N`, `--seconds S`; `--help`).

use std::time::Duration;

use crate::util::{self, Result, bail};

/// Building (from cold, ~2 minutes here) plus the longest run (`--rounds 10 --idle-large`).
const TIMEOUT: Duration = Duration::from_secs(60 * 60);

pub fn run(args: &[String]) -> Result<()> {
    let Some((what, rest)) = args.split_first() else {
        bail!("bench needs a benchmark: `cargo xtask bench e2e [--quick]`");
    };
    // Both are bench programs of `crates/bench-e2e`; `scale` (handshakes per second,
    // broadcast to 10,000 connections) takes `--quick`, `--rounds N`, `--conns N`, `--help`.
    if what != "e2e" && what != "scale" {
        bail!(
            "unknown benchmark `{what}` (there are `e2e` and `scale`; the codec's are `cargo bench -p wintergreen-codec-bench`)"
        );
    }
    let root = util::project_root();
    let target = util::target_dir();
    let out = target.join(format!("bench-{what}")).join("report.md");
    let shown = std::iter::once(format!("cargo xtask bench {what}"))
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
            what.as_str(),
            "--",
        ])
        .args(rest)
        .arg("--out")
        .arg(&out)
        .env(format!("BENCH_{}_COMMAND", what.to_uppercase()), shown);
    util::run(&mut cmd, TIMEOUT)
}
