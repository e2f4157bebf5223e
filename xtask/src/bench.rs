//! `cargo xtask bench e2e`: the end-to-end benchmark (`crates/bench-e2e`, its `e2e` bench
//! program), built by `cargo bench` (optimised) and run from the repository root; its report
//! goes to `target/bench-e2e/report.md` (under `CARGO_TARGET_DIR` when that is set). Options after `e2e` are the benchmark's own
//! (`--quick`, `--rounds N`, `--idle-conns N`, `--idle-large N`, `--seconds S`, `--callgrind`;
//! `--help`). `--callgrind` counts instructions per message under valgrind's callgrind
//! (installed through apt with consent when missing; not part of `ci`: it is slow) and
//! writes `target/bench-e2e/callgrind.md`.

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
        bail!("bench needs a benchmark: `cargo xtask bench e2e [--quick]`");
    };
    if what != "e2e" {
        bail!(
            "unknown benchmark `{what}` (there is `e2e`; the codec's are `cargo bench -p wintergreen-codec-bench`)"
        );
    }
    if rest.iter().any(|a| a == "--callgrind") {
        system::ensure(&[VALGRIND], "bench e2e --callgrind")?;
    }
    let root = util::project_root();
    let target = util::target_dir();
    let out = target.join("bench-e2e").join("report.md");
    let shown = std::iter::once("cargo xtask bench e2e".to_owned())
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
            "e2e",
            "--",
        ])
        .args(rest)
        .arg("--out")
        .arg(&out)
        .env("BENCH_E2E_COMMAND", shown);
    util::run(&mut cmd, TIMEOUT)
}
