//! What the operating system tells about a process: CPU pinning, the file-descriptor limit,
//! CPU time from `/proc/<pid>/task/*/schedstat`, resident memory from `/proc/<pid>/status`.

use std::fs;

use anyhow::{Context as _, Result, bail};

/// Pins the calling thread (and so every thread it starts later) to one CPU.
pub fn pin_to_cpu(cpu: usize) -> Result<()> {
    let ids = core_affinity::get_core_ids().context("listing the CPUs")?;
    let Some(id) = ids.into_iter().find(|id| id.id == cpu) else {
        bail!("no CPU {cpu} on this machine");
    };
    if !core_affinity::set_for_current(id) {
        bail!("pinning to CPU {cpu} failed");
    }
    Ok(())
}

/// Raises the file-descriptor limit to at least `want` where allowed: the hard limit too
/// when the process may (root), else the soft limit up to the hard one. Returns the limit.
pub fn raise_fd_limit(want: u64) -> Result<u64> {
    let (_, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).context("reading RLIMIT_NOFILE")?;
    if hard < want {
        // Only a privileged process may raise the hard limit; otherwise the soft one is
        // raised as far as it goes and a large run fails at `connect`, saying so.
        let _ = rlimit::setrlimit(rlimit::Resource::NOFILE, want, want);
    }
    rlimit::increase_nofile_limit(want).context("raising RLIMIT_NOFILE")
}

/// CPU time a process has run, in nanoseconds: the first field of every thread's
/// `/proc/<pid>/task/<tid>/schedstat`, summed (threads that already ended are not counted;
/// every process here runs one current-thread runtime).
pub fn cpu_ns(pid: u32) -> Result<u64> {
    let dir = format!("/proc/{pid}/task");
    let mut total = 0u64;
    for entry in fs::read_dir(&dir).with_context(|| format!("reading {dir}"))? {
        let path = entry?.path().join("schedstat");
        // A thread may end between the listing and the read.
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        let first = text.split_whitespace().next().unwrap_or("0");
        total += first
            .parse::<u64>()
            .with_context(|| format!("parsing {}", path.display()))?;
    }
    Ok(total)
}

/// Resident memory of a process in KiB (`VmRSS` in `/proc/<pid>/status`).
pub fn rss_kib(pid: u32) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let text = fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .with_context(|| format!("no VmRSS in {path}"))?;
    let kib = line.trim().trim_end_matches("kB").trim();
    kib.parse()
        .with_context(|| format!("parsing VmRSS `{kib}` in {path}"))
}
