//! `cargo xtask ci`: everything CI checks, in order, stopping at the first failure.
//! `.ci/run` runs exactly this.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::{self, Result, bail, step};

#[derive(Debug, Clone, Copy)]
struct Step {
    name: &'static str,
    run: fn() -> Result<()>,
}

const STEPS: &[Step] = &[
    Step {
        name: "fmt",
        run: fmt,
    },
    Step {
        name: "clippy",
        run: clippy,
    },
    Step {
        name: "doc",
        run: doc,
    },
    Step {
        name: "features",
        run: features,
    },
    Step {
        name: "test",
        run: test,
    },
    Step {
        name: "interop",
        run: interop,
    },
    Step {
        name: "proxies",
        run: || crate::proxies::run(&[]),
    },
    Step {
        name: "quickstart",
        run: quickstart,
    },
    Step {
        name: "readme",
        run: readme,
    },
    Step {
        name: "deny",
        run: deny,
    },
    Step {
        name: "package",
        run: package,
    },
    Step {
        name: "fuzz",
        run: fuzz,
    },
    Step {
        name: "autobahn",
        run: autobahn,
    },
];

/// What every cargo that CI starts gets. Incremental compilation pays off only when the
/// same crates are rebuilt after small edits, which CI never does, and its caches were
/// 3.3 GB of a fresh checkout's 8.6 GB `target/debug`.
const CI_CARGO_ENV: &[(&str, &str)] = &[("CARGO_INCREMENTAL", "0")];

/// The cargo-deny checks that work offline (advisories need the advisory database).
const DENY_CHECKS: [&str; 3] = ["bans", "licenses", "sources"];
/// Installed when `cargo deny` is missing (tested with deny.toml; ~4 minutes to build).
const CARGO_DENY_VERSION: &str = "0.20.2";

pub fn run(args: &[String]) -> Result<()> {
    let mut skip: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            // For local use only: `cargo xtask ci --skip autobahn,deny`.
            "--skip" => match it.next() {
                Some(list) => skip.extend(list.split(',').map(str::to_owned)),
                None => bail!("--skip needs a list of steps"),
            },
            other => bail!("unknown ci option `{other}` (steps: {})", names()),
        }
    }
    if let Some(unknown) = skip
        .iter()
        .find(|s| !STEPS.iter().any(|st| st.name == s.as_str()))
    {
        bail!("--skip: no step `{unknown}` (steps: {})", names());
    }

    util::set_cargo_env(CI_CARGO_ENV);
    step!("disk: {} at the start", disk_free());
    let started = Instant::now();
    let mut done: Vec<(&str, &str, Duration)> = Vec::new();
    let mut outcome = Ok(());
    for (i, st) in STEPS.iter().enumerate() {
        if skip.iter().any(|s| s == st.name) {
            step!(
                "==> ci step {}/{}: {} SKIPPED (--skip)",
                i + 1,
                STEPS.len(),
                st.name
            );
            done.push((st.name, "skipped", Duration::ZERO));
            continue;
        }
        step!("==> ci step {}/{}: {}", i + 1, STEPS.len(), st.name);
        let t = Instant::now();
        let result = (st.run)();
        let took = t.elapsed();
        match result {
            Ok(()) => {
                step!(
                    "<== ci step {}: ok in {} (disk: {})",
                    st.name,
                    util::fmt_duration(took),
                    disk_free()
                );
                done.push((st.name, "ok", took));
            }
            Err(e) => {
                step!(
                    "<== ci step {}: FAILED after {} (disk: {})",
                    st.name,
                    util::fmt_duration(took),
                    disk_free()
                );
                done.push((st.name, "FAILED", took));
                outcome = Err(util::Error(format!("ci step `{}` failed: {e}", st.name)));
                break;
            }
        }
    }

    eprintln!();
    step!("ci summary:");
    for st in STEPS {
        match done.iter().find(|d| d.0 == st.name) {
            Some((name, status, took)) => {
                step!("  {name:<9} {status:<8} {}", util::fmt_duration(*took))
            }
            None => step!("  {:<9} not run", st.name),
        }
    }
    step!("  total     {}", util::fmt_duration(started.elapsed()));
    outcome
}

/// Free space where the builds go, for the log: a CI machine's disk is shared, and a run
/// that fails for want of it should say so next to the step that ran out.
fn disk_free() -> String {
    match util::free_bytes(&util::project_root()) {
        Some(bytes) => format!("{} free", util::fmt_gib(bytes)),
        None => "free space unknown".to_owned(),
    }
}

fn names() -> String {
    STEPS.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
}

fn cargo(args: &[&str]) -> Command {
    let mut cmd = util::cargo();
    cmd.args(args).current_dir(util::project_root());
    cmd
}

/// Every public item is documented, every intra-doc link resolves, and the facade's docs
/// render with no literal `[links]` (see `docs.rs`).
fn doc() -> Result<()> {
    crate::docs::run()
}

fn fmt() -> Result<()> {
    util::run(
        &mut cargo(&["fmt", "--all", "--check"]),
        Duration::from_secs(5 * 60),
    )
}

fn clippy() -> Result<()> {
    util::run(
        &mut cargo(&[
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ]),
        Duration::from_secs(30 * 60),
    )
}

/// The facade's feature combinations the docs promise, each checked on its own (the
/// workspace build above only sees `--all-features`). `cargo check`, not test: fast.
const FEATURE_MATRIX: &[&str] = &[
    "runtime-tokio",
    "runtime-tokio,rustls-tls,ring",
    "runtime-tokio,rustls-native-roots",
    "runtime-tokio,http2,rustls-tls",
    "runtime-tokio,http2,rustls-tls,aws-lc-rs",
    "runtime-smol",
    "runtime-smol,deflate,rustls-tls,ring",
    "runtime-smol,http2,rustls-tls",
    "runtime-async-std",
    "runtime-async-std,deflate,rustls-tls,ring",
    "runtime-async-std,http2,rustls-native-roots",
    "deflate,http2",
    "runtime-tokio,hyper",
    "runtime-tokio,axum,http2,deflate",
    "runtime-tokio,runtime-smol,runtime-async-std,http2,deflate,rustls-tls",
];

fn features() -> Result<()> {
    // The defaults (runtime-tokio, deflate, rustls-tls) are what the test step builds too.
    util::run(
        &mut cargo(&["check", "-p", "wintergreen", "--all-targets"]),
        Duration::from_secs(15 * 60),
    )?;
    for features in FEATURE_MATRIX {
        step!("features: {features}");
        util::run(
            &mut cargo(&[
                "check",
                "-p",
                "wintergreen",
                "--no-default-features",
                "--features",
                features,
            ]),
            Duration::from_secs(15 * 60),
        )?;
    }
    Ok(())
}

fn test() -> Result<()> {
    util::run(
        &mut cargo(&["test", "--workspace", "--all-features"]),
        Duration::from_secs(30 * 60),
    )
}

/// The README's first command, the main job, exactly as a new user types it: it must work.
fn quickstart() -> Result<()> {
    util::run(
        &mut cargo(&["run", "--example", "quickstart", "--features", "http2"]),
        Duration::from_secs(10 * 60),
    )
}

fn deny() -> Result<()> {
    let probe = || util::succeeds(&mut cargo(&["deny", "--version"]), Duration::from_secs(60));
    if !probe() {
        step!("cargo-deny is not installed; installing cargo-deny {CARGO_DENY_VERSION}");
        let t = Instant::now();
        util::run(
            &mut cargo(&[
                "install",
                "cargo-deny",
                "--locked",
                "--version",
                CARGO_DENY_VERSION,
            ]),
            Duration::from_secs(25 * 60),
        )?;
        step!(
            "installed cargo-deny in {}",
            util::fmt_duration(t.elapsed())
        );
        if !probe() {
            bail!("`cargo deny --version` still fails after installing cargo-deny");
        }
    }
    // `cargo deny` reads `cargo metadata` for every platform, whose crates a Linux build never
    // downloads (wasi, windows-sys, ...): fetch them from the registry first, then judge offline.
    util::run(
        &mut cargo(&["fetch", "--quiet"]),
        Duration::from_secs(10 * 60),
    )?;
    let mut args = vec!["deny", "--offline", "check"];
    args.extend(DENY_CHECKS);
    util::run(&mut cargo(&args), Duration::from_secs(10 * 60))
}

/// Every crate meant for the registry packages and builds from its package alone (the ones
/// with `publish = false` are excluded: the bench crate and xtask).
fn package() -> Result<()> {
    forget_unpacked_workspace_crates()?;
    // A target directory of its own, emptied first: cargo takes a registry crate's build as
    // never changing, so a build of the same version kept from an earlier run (older code)
    // would be reused for the verification.
    let verify_dir = util::target_dir().join("package-verify");
    if verify_dir.exists() {
        std::fs::remove_dir_all(&verify_dir)
            .map_err(|e| util::Error(format!("removing {}: {e}", verify_dir.display())))?;
    }
    let verify_arg = verify_dir.to_string_lossy().into_owned();
    util::run(
        &mut cargo(&[
            "package",
            "--workspace",
            "--exclude",
            "xtask",
            "--exclude",
            "wintergreen-codec-bench",
            "--target-dir",
            &verify_arg,
        ]),
        Duration::from_secs(20 * 60),
    )?;
    // A second debug build of every crate, needed only for the verdict above: free its space
    // for the steps after (kept when the step fails, to look at).
    std::fs::remove_dir_all(&verify_dir)
        .map_err(|e| util::Error(format!("removing {}: {e}", verify_dir.display())))
}

/// `cargo package --workspace` verifies each crate against the others' fresh tarballs
/// through a local registry, and cargo unpacks those into `$CARGO_HOME/registry/src/-HASH/`
/// (the `-` marks a local source, never crates.io). It never unpacks a version again, so a
/// second run in the same checkout could verify against the first run's sources (same
/// version, older code). Remove our crates from those local sources first.
fn forget_unpacked_workspace_crates() -> Result<()> {
    let home = match std::env::var_os("CARGO_HOME") {
        Some(home) => std::path::PathBuf::from(home),
        None => match std::env::var_os("HOME") {
            Some(home) => std::path::PathBuf::from(home).join(".cargo"),
            None => return Ok(()),
        },
    };
    let Ok(sources) = std::fs::read_dir(home.join("registry").join("src")) else {
        return Ok(());
    };
    for source in sources.flatten() {
        if !source.file_name().to_string_lossy().starts_with('-') {
            continue;
        }
        let Ok(crates) = std::fs::read_dir(source.path()) else {
            continue;
        };
        for unpacked in crates.flatten() {
            if unpacked
                .file_name()
                .to_string_lossy()
                .starts_with("wintergreen")
            {
                std::fs::remove_dir_all(unpacked.path()).map_err(|e| {
                    util::Error(format!("removing {}: {e}", unpacked.path().display()))
                })?;
            }
        }
    }
    Ok(())
}

/// Every fuzz target: its committed seeds replayed, then a short coverage-guided run.
fn fuzz() -> Result<()> {
    crate::fuzz::run(&[])
}

/// The README's client and server, exactly as a user pastes them (`cargo xtask readme`).
fn readme() -> Result<()> {
    crate::readme::run(&[])
}

fn autobahn() -> Result<()> {
    crate::autobahn::run(&[])
}

/// permessage-deflate against the Python `websockets` library, both roles (issue 4).
fn interop() -> Result<()> {
    crate::interop::run(&[])
}
