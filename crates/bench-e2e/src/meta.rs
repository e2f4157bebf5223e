//! What a benchmark report says about where and how it was made (machine, date, command),
//! and writing it out.

use std::fs;
use std::path::Path;

use anyhow::{Context as _, Result};

/// Prints `report` and writes it to `out` (creating its directory).
#[allow(clippy::print_stdout, clippy::print_stderr)] // a benchmark's report and progress
pub fn write_report(out: &Path, report: &str) -> Result<()> {
    println!("\n{report}");
    if let Some(dir) = out.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    fs::write(out, report).with_context(|| format!("writing {}", out.display()))?;
    eprintln!("report written to {}", out.display());
    Ok(())
}

/// The 1-minute load average (`/proc/loadavg`), to quote the noise a run saw.
pub fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

/// The command line that ran the benchmark: `var` (set by xtask to what was typed), else
/// this program's arguments.
pub fn command_line(var: &str) -> String {
    if let Ok(shown) = std::env::var(var) {
        return shown;
    }
    // `cargo bench` appends `--bench`: not part of what was asked.
    std::env::args()
        .filter(|a| a != "--bench")
        .collect::<Vec<_>>()
        .join(" ")
}

/// The CPU model and count, and the kernel.
pub fn machine() -> String {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU", |(_, m)| m.trim());
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{cpus} × {model}, Linux {}", kernel.trim())
}

/// Today's date (UTC) as YYYY-MM-DD, from the system clock.
pub fn today_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // Howard Hinnant's civil_from_days.
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}
