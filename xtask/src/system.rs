//! What the tasks need from the machine itself (Debian packages, apt sources), and consent
//! before changing it.
//!
//! On a fresh Debian 12 the tests need a few system packages: `python3` with `venv` and `pip`
//! for the interop step and for bootstrapping pip for the Autobahn|Testsuite's Python 2.7
//! (whose C compiler and Python 2.7 come with `install.rs`). [`ensure`] probes for each and
//! installs only what is missing, through apt, before the first step that needs it. The C
//! toolchain that cargo itself links with is `.ci/run`'s to install, before cargo runs.
//!
//! Changing a machine asks first: under `CI=true`, or with `--yes` on the command line, it
//! proceeds; at a terminal it lists the changes and asks; otherwise it stops and says what it
//! would change.

use std::io::{BufRead, IsTerminal, Write};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use crate::util::{self, Result, bail, step};

/// Set by `--yes` on the command line.
static ASSUME_YES: AtomicBool = AtomicBool::new(false);
/// `apt-get update` runs at most once per process.
static APT_UPDATED: Mutex<bool> = Mutex::new(false);

/// Records `--yes`: every change this process makes to the machine is pre-approved.
pub fn assume_yes() {
    ASSUME_YES.store(true, Ordering::Relaxed);
}

/// Something a task needs, how to tell it is there, and the Debian packages that provide it.
#[derive(Debug, Clone, Copy)]
pub struct Need {
    /// What it is, for messages.
    pub what: &'static str,
    /// True when it is already there.
    pub present: fn() -> bool,
    /// The Debian packages that provide it.
    pub packages: &'static [&'static str],
}

/// Python 3 itself.
pub const PYTHON3: Need = Need {
    what: "python3",
    present: || python3_runs(&["-c", "import sys"]),
    packages: &["python3"],
};
/// `python3 -m venv` with its pip seed (Debian splits `ensurepip` into python3-venv).
pub const PYTHON3_VENV: Need = Need {
    what: "python3 -m venv (with ensurepip)",
    present: || python3_runs(&["-c", "import venv, ensurepip"]),
    packages: &["python3-venv"],
};
/// `python3 -m pip`.
pub const PYTHON3_PIP: Need = Need {
    what: "python3 -m pip",
    present: || python3_runs(&["-m", "pip", "--version"]),
    packages: &["python3-pip"],
};
fn python3_runs(args: &[&str]) -> bool {
    util::succeeds(Command::new("python3").args(args), Duration::from_secs(60))
}

/// Makes sure every need is met, installing the packages of those that are not (with
/// consent), for `purpose`.
pub fn ensure(needs: &[Need], purpose: &str) -> Result<()> {
    let missing: Vec<&Need> = needs.iter().filter(|n| !(n.present)()).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let packages: Vec<&str> = missing
        .iter()
        .flat_map(|n| n.packages.iter().copied())
        .collect();
    let what: Vec<&str> = missing.iter().map(|n| n.what).collect();
    if !is_debian_like() {
        bail!(
            "{purpose} needs {} (missing here); install them with your system's package manager",
            what.join(", ")
        );
    }
    consent(&[format!(
        "apt-get install {} (for {purpose}: {} missing)",
        packages.join(" "),
        what.join(", ")
    )])?;
    apt_update()?;
    apt_install(&packages)?;
    if let Some(still) = missing.iter().find(|n| !(n.present)()) {
        bail!(
            "apt-get installed {} but {} is still missing",
            packages.join(" "),
            still.what
        );
    }
    Ok(())
}

/// Asks before the machine is changed (see the module docs). `changes` are shown one a line.
pub fn consent(changes: &[String]) -> Result<()> {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    if ci || ASSUME_YES.load(Ordering::Relaxed) {
        for change in changes {
            step!("changing this machine: {change}");
        }
        return Ok(());
    }
    let list: String = changes.iter().map(|c| format!("\n  - {c}")).collect();
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        bail!(
            "this task would change the machine:{list}\nre-run with --yes to allow it (CI=true allows it too)"
        );
    }
    eprint!("[xtask] this task will change the machine:{list}\n[xtask] proceed? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(|e| util::Error(format!("reading the answer: {e}")))?;
    if matches!(answer.trim(), "y" | "Y" | "yes" | "Yes") {
        Ok(())
    } else {
        bail!("not changing the machine (answer was not yes); nothing was done")
    }
}

fn is_debian_like() -> bool {
    util::which("apt-get").is_some()
}

/// `apt-get update`, once per process (again with `force`, after the sources changed).
pub fn apt_update_forced(force: bool) -> Result<()> {
    let mut done = APT_UPDATED.lock().unwrap_or_else(PoisonError::into_inner);
    if *done && !force {
        return Ok(());
    }
    util::run(
        Command::new("apt-get")
            .args(["-q", "update"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
        Duration::from_secs(10 * 60),
    )
    .map_err(|e| util::Error(format!("apt-get update failed: {e}")))?;
    *done = true;
    Ok(())
}

fn apt_update() -> Result<()> {
    apt_update_forced(false)
}

/// `apt-get install -y --no-install-recommends PACKAGES`.
pub fn apt_install(packages: &[&str]) -> Result<()> {
    util::run(
        Command::new("apt-get")
            .args(["-q", "install", "-y", "--no-install-recommends"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive"),
        Duration::from_secs(15 * 60),
    )
}
