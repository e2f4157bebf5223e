//! `cargo xtask fuzz`: every fuzz target of `fuzz/`, for a bounded time each.
//!
//! Per target: first the committed seeds (`fuzz/seeds/TARGET/`, every crash ever found among
//! them) are replayed once each, as regression tests; then libFuzzer runs for `--time` seconds
//! on a scratch corpus (`fuzz/target/corpus/TARGET/`) grown from those seeds. A crash fails the
//! task and leaves its input in `fuzz/artifacts/TARGET/`. Targets run side by side, one per
//! core. Why cargo-fuzz with
//! `--sanitizer none` on the stable toolchain: `fuzz/README.md`.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::util::{self, Result, bail, step};

/// Installed when `cargo fuzz` is missing (~3 minutes to build).
const CARGO_FUZZ_VERSION: &str = "0.13.2";
/// Seconds per target when `--time` is not given (what CI runs).
pub const CI_SECONDS: u64 = 30;

pub fn run(args: &[String]) -> Result<()> {
    let mut seconds = CI_SECONDS;
    let mut only: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--time" => {
                let Some(value) = it.next() else {
                    bail!("--time needs a number of seconds");
                };
                seconds = value
                    .parse()
                    .map_err(|_| util::Error(format!("--time: `{value}` is not a number")))?;
            }
            other if other.starts_with('-') => bail!("unknown fuzz option `{other}`"),
            target => only.push(target.to_owned()),
        }
    }
    ensure_cargo_fuzz()?;
    let root = util::project_root();
    let dir = root.join("fuzz");
    let listed = util::output(cargo_fuzz(&dir).arg("list"), Duration::from_secs(5 * 60))?;
    let targets: Vec<&str> = listed
        .lines()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    if let Some(unknown) = only.iter().find(|t| !targets.contains(&t.as_str())) {
        bail!(
            "no fuzz target `{unknown}` (targets: {})",
            targets.join(", ")
        );
    }
    let chosen: Vec<&str> = targets
        .iter()
        .copied()
        .filter(|t| only.is_empty() || only.iter().any(|o| o == t))
        .collect();

    step!("fuzz: building {} targets", targets.len());
    util::run(
        cargo_fuzz(&dir).args(["build", "--sanitizer", "none"]),
        Duration::from_secs(20 * 60),
    )?;

    let rows = fuzz_all(&dir, &chosen, seconds)?;
    step!("fuzz summary ({seconds} s per target):");
    step!(
        "  {:<18} {:>6} {:>12} {:>10}",
        "target",
        "seeds",
        "executions",
        "exec/s"
    );
    for row in &rows {
        step!(
            "  {:<18} {:>6} {:>12} {:>10}",
            row.target,
            row.seeds,
            row.executions,
            row.per_second
        );
    }
    Ok(())
}

/// Runs [`fuzz_one`] for every target, as many at once as there are cores (each libFuzzer
/// process uses one), so that every target still gets its `seconds`; the rows come back in
/// the targets' order. The first failure is returned once the running ones have ended.
fn fuzz_all(dir: &Path, targets: &[&str], seconds: u64) -> Result<Vec<Row>> {
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(targets.len());
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let mut results: Vec<(usize, Result<Row>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    while !failed.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(target) = targets.get(i) else { break };
                        let result = fuzz_one(dir, target, seconds);
                        if result.is_err() {
                            failed.store(true, Ordering::Relaxed);
                        }
                        done.push((i, result));
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join().unwrap_or_else(|_| {
                    vec![(
                        usize::MAX,
                        Err(util::Error("a fuzz worker panicked".into())),
                    )]
                })
            })
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, row)| row).collect()
}

#[derive(Debug)]
struct Row {
    target: String,
    seeds: usize,
    executions: u64,
    per_second: u64,
}

fn fuzz_one(dir: &Path, target: &str, seconds: u64) -> Result<Row> {
    let seeds = dir.join("seeds").join(target);
    let corpus = dir.join("target/corpus").join(target);
    let artifacts = dir.join("artifacts").join(target);
    let logs = dir.join("target/logs");
    for d in [&seeds, &corpus, &artifacts, &logs] {
        std::fs::create_dir_all(d).map_err(|e| util::Error(format!("{}: {e}", d.display())))?;
    }
    // The built fuzzer itself, not `cargo fuzz run`: a timeout then kills the process that
    // runs the input, and its output goes to a file, never into a pipe that could fill.
    // cargo-fuzz builds into `CARGO_TARGET_DIR` when it is set, else `fuzz/target`.
    let exe = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| dir.join("target"), std::path::PathBuf::from)
        .join(host_triple()?)
        .join("release")
        .join(target);
    let log = logs.join(format!("{target}.log"));
    let libfuzzer = |extra: &[String], log_name: &Path| -> Result<Command> {
        let file = std::fs::File::create(log_name)
            .map_err(|e| util::Error(format!("{}: {e}", log_name.display())))?;
        let mut cmd = Command::new(&exe);
        cmd.arg(format!("-artifact_prefix={}/", artifacts.display()))
            .arg(format!("-max_len={MAX_LEN}"))
            .args(extra)
            .stdin(std::process::Stdio::null())
            .stdout(file.try_clone().map_err(|e| util::Error(e.to_string()))?)
            .stderr(file);
        Ok(cmd)
    };

    let seed_count = std::fs::read_dir(&seeds).map(|d| d.count()).unwrap_or(0);
    step!("fuzz {target}: replaying {seed_count} committed seeds");
    let mut replay = libfuzzer(
        &["-runs=0".to_owned()],
        &logs.join(format!("{target}.seeds.log")),
    )?;
    replay.arg(&seeds);
    util::run(&mut replay, Duration::from_secs(10 * 60))
        .map_err(|e| crashed(target, e, &logs.join(format!("{target}.seeds.log"))))?;

    step!(
        "fuzz {target}: {seconds} s of coverage-guided fuzzing (log: {})",
        log.display()
    );
    let started = Instant::now();
    let mut fuzz = libfuzzer(
        &[
            format!("-max_total_time={seconds}"),
            "-print_final_stats=1".to_owned(),
        ],
        &log,
    )?;
    fuzz.arg(&corpus).arg(&seeds);
    util::run(&mut fuzz, Duration::from_secs(seconds + 5 * 60))
        .map_err(|e| crashed(target, e, &log))?;
    let out = std::fs::read_to_string(&log).unwrap_or_default();
    let executions = final_stat(&out, "stat::number_of_executed_units").unwrap_or(0);
    let per_second = final_stat(&out, "stat::average_exec_per_sec").unwrap_or(0);
    step!(
        "fuzz {target}: {executions} executions in {} ({per_second}/s), no crash",
        util::fmt_duration(started.elapsed())
    );
    Ok(Row {
        target: target.to_owned(),
        seeds: seed_count,
        executions,
        per_second,
    })
}

/// The longest input libFuzzer makes (its default); the targets' heap budgets assume it.
const MAX_LEN: usize = 4096;

/// The host's target triple, where cargo-fuzz puts the fuzzers (`rustc -vV`).
fn host_triple() -> Result<String> {
    let out = util::output(Command::new("rustc").arg("-vV"), Duration::from_secs(60))?;
    out.lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(|h| h.trim().to_owned())
        .ok_or_else(|| util::Error("`rustc -vV` names no host".to_owned()))
}

fn crashed(target: &str, e: util::Error, log: &Path) -> util::Error {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(30)..].join("\n");
    util::Error(format!(
        "fuzz target `{target}` failed: {e}\n{tail}\n  the input is in fuzz/artifacts/{target}/; reproduce with \
         `cd fuzz && cargo fuzz run -s none {target} artifacts/{target}/<file>`, fix, then move the \
         file to fuzz/seeds/{target}/ so it stays a regression test"
    ))
}

/// A `-print_final_stats=1` line's value: `stat::name:   1234`.
fn final_stat(output: &str, name: &str) -> Option<u64> {
    output
        .lines()
        .find_map(|l| l.trim().strip_prefix(name))
        .and_then(|rest| rest.trim_start_matches(':').trim().parse().ok())
}

fn cargo_fuzz(dir: &Path) -> Command {
    let mut cmd = util::cargo();
    cmd.arg("fuzz").current_dir(dir);
    cmd
}

fn ensure_cargo_fuzz() -> Result<()> {
    let probe = || {
        util::succeeds(
            util::cargo().args(["fuzz", "--version"]),
            Duration::from_secs(60),
        )
    };
    if probe() {
        return Ok(());
    }
    step!("cargo-fuzz is not installed; installing cargo-fuzz {CARGO_FUZZ_VERSION}");
    util::run(
        util::cargo().args([
            "install",
            "cargo-fuzz",
            "--locked",
            "--version",
            CARGO_FUZZ_VERSION,
        ]),
        Duration::from_secs(25 * 60),
    )?;
    if !probe() {
        bail!("`cargo fuzz --version` still fails after installing cargo-fuzz");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_libfuzzer_final_stats() {
        let out = "Done 100 runs in 1 second(s)\nstat::number_of_executed_units: 2219431\n\
                   stat::average_exec_per_sec:     36384\n";
        assert_eq!(
            final_stat(out, "stat::number_of_executed_units"),
            Some(2_219_431)
        );
        assert_eq!(final_stat(out, "stat::average_exec_per_sec"), Some(36_384));
        assert_eq!(final_stat(out, "stat::missing"), None);
    }
}
