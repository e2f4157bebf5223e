//! `cargo xtask bench e2e` and `cargo xtask bench scale`: the end-to-end benchmarks
//! (`crates/bench-e2e`, its `e2e` and `scale` bench programs), built by `cargo bench`
//! (optimised) and run from the repository root; the report goes to
//! `target/bench-<name>/report.md` (under `CARGO_TARGET_DIR` when that is set). Options after
//! the name are the benchmark's own (e2e: `--quick`, `--rounds N`, `--idle-conns N`,
//! `--idle-large N`, `--seconds S`, `--callgrind`; scale: `--quick`, `--rounds N`, `--conns N`,
//! `--repeats N`, `--workers N`, `--seconds S`; `--help`). `--callgrind` counts instructions
//! per message under valgrind's callgrind (installed through apt with consent when missing;
//! not part of `ci`: it is slow) and writes `target/bench-e2e/callgrind.md`.

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
    if what != "e2e" && what != "scale" {
        bail!(
            "unknown benchmark `{what}` (there are `e2e` and `scale`; the codec's are `cargo bench -p wintergreen-codec-bench`)"
        );
    }
    if rest.iter().any(|a| a == "--callgrind") {
        system::ensure(&[VALGRIND], "bench e2e --callgrind")?;
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
