//! What the operating system tells about a process: CPU pinning, the file-descriptor limit,
//! CPU time from `/proc/<pid>/task/*/schedstat`, resident memory from `/proc/<pid>/status`.

use std::fs;
use std::process::{Child, Command, Stdio};

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

/// Counts a process's system calls from now until [`finish`](Self::finish), with
/// `perf stat -e raw_syscalls:sys_enter -p <pid>` (the kernel counts each system call's
/// entry; every kind, epoll waits included). `None` where perf or the tracepoint is not
/// available (perf needs `perf_event_paranoid` ≤ 1 or root).
#[derive(Debug)]
pub struct SyscallCounter(Child);

impl SyscallCounter {
    /// Starts counting for `pid`; waits a moment for perf to attach.
    pub fn start(pid: u32) -> Option<Self> {
        let child = Command::new("perf")
            .args(["stat", "-x", ",", "-e", "raw_syscalls:sys_enter", "-p"])
            .arg(pid.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .ok()?;
        std::thread::sleep(std::time::Duration::from_millis(300));
        Some(Self(child))
    }

    /// Stops counting (SIGINT, as perf expects) and returns the count.
    pub fn finish(mut self) -> Option<u64> {
        let stopped = Command::new("kill")
            .args(["-INT", &self.0.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        if !stopped {
            let _ = self.0.kill();
        }
        let out = self.0.wait_with_output().ok()?;
        // CSV: `count,unit,event,...`.
        String::from_utf8_lossy(&out.stderr).lines().find_map(|l| {
            let mut fields = l.split(',');
            let count = fields.next()?.trim().parse().ok()?;
            fields
                .nth(1)
                .is_some_and(|e| e.starts_with("raw_syscalls:sys_enter"))
                .then_some(count)
        })
    }
}

/// Resident memory of a process in KiB (`VmRSS` in `/proc/<pid>/status`).
pub fn rss_kib(pid: u32) -> Result<u64> {
    status_kib(pid, "VmRSS")
}

/// One memory line of `/proc/<pid>/status` in KiB: `VmRSS`, or its parts `RssAnon` (heap,
/// stacks), `RssFile` (pages of the program and libraries touched so far) and `RssShmem`.
pub fn status_kib(pid: u32, field: &str) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let text = fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .with_context(|| format!("no {field} in {path}"))?;
    let kib = line.trim().trim_end_matches("kB").trim();
    kib.parse()
        .with_context(|| format!("parsing {field} `{kib}` in {path}"))
}
