//! `cargo xtask soak`: wintergreen's server under 10,000 concurrent, partly hostile
//! connections on loopback, for a bounded time (`crates/soak`).
//!
//! The mix: 70% idle WebSockets, 10% chatty ones, 4% ping flooders that never read, 4%
//! senders that never read their echoes, 12% slowloris requests; plus one normal client whose
//! echoes must keep flowing. xtask samples the server's memory from /proc while it runs and
//! fails when the normal client starved or the server outgrew its budget:
//!
//! `peak RSS ≤ BASE_BUDGET + conns × PER_CONNECTION_BUDGET`.
//!
//! Not part of `cargo xtask ci`: with the default 60 s mix it takes about 70 s (a 2 s ramp
//! of 10,000 connections, the mix, teardown) plus the release build.
//!
//! `--hold` measures idle memory at scale instead (issue 15: 50,000 connections held): plain
//! WebSockets that echo 20 bytes once and then idle for `--seconds` (default 30). A process
//! may hold at most 20,000 descriptors here (the hard limit, which only a privileged process
//! may raise), and one source address reaches one port from at most ~28,000 ephemeral
//! ports, so the servers are spread over `ceil(conns / 15,000)` processes sharing one port
//! (SO_REUSEPORT: the kernel spreads connections by a hash of the addresses) and the clients
//! over as many processes, each connecting from its own address (127.0.0.2, 127.0.0.3, …).
//! It reports the servers' RSS summed over processes (at rest, all open and idle, peak) per
//! connection, and each server's share (its open descriptors).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::util::{self, ChildGuard, Context, Result, bail, step};

/// The server's memory before any connection, allowed on top of the per-connection part.
const BASE_BUDGET: u64 = 64 << 20;
/// What one connection of the mix may cost the server on average at the peak, in bytes,
/// from what each kind may hold by the documented limits:
/// - idle and slowloris (82%): the driver's buffers after the handshake, ≤ 16 KiB;
/// - chatty (10%), with permessage-deflate both ways: compressor 134 KiB + decompressor
///   ~48 KiB + buffers, ≤ 256 KiB;
/// - ping flooders and non-readers (8%): the write buffer (128 KiB), the session's bound on
///   peer-provoked output (128 KiB), a read buffer and one message in flight, ≤ 512 KiB.
///
/// 0.82 × 16 + 0.10 × 256 + 0.08 × 512 ≈ 80 KiB; 96 KiB leaves room for the allocator.
const PER_CONNECTION_BUDGET: u64 = 96 << 10;
/// The normal client must get at least this share of its echoes (one every 100 ms).
const MIN_ECHO_SHARE: f64 = 0.9;
/// …and never wait longer than this for one.
const MAX_ECHO_GAP: Duration = Duration::from_secs(2);

/// Connections per process in `--hold` mode (each process's descriptors stay under the
/// 20,000 hard limit, with room for an uneven SO_REUSEPORT spread).
const HOLD_PER_PROCESS: usize = 15_000;

pub fn run(args: &[String]) -> Result<()> {
    let mut conns: usize = 10_000;
    let mut seconds: Option<u64> = None;
    let mut hold = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| -> Result<u64> {
            let v = it
                .next()
                .ok_or_else(|| util::Error(format!("{name} needs a value")))?;
            v.parse()
                .map_err(|_| util::Error(format!("{name}: `{v}` is not a number")))
        };
        match arg.as_str() {
            "--conns" => conns = usize::try_from(value("--conns")?).unwrap_or(usize::MAX),
            "--seconds" => seconds = Some(value("--seconds")?),
            "--hold" => hold = true,
            other => bail!("unknown soak option `{other}` (--conns N, --seconds S, --hold)"),
        }
    }
    let root = util::project_root();
    util::run(
        util::cargo()
            .args(["build", "--release", "-p", "wintergreen-soak"])
            .current_dir(&root),
        Duration::from_secs(20 * 60),
    )?;
    let exe = util::target_dir().join("release/wintergreen-soak");
    if hold {
        return run_hold(&exe, conns, seconds.unwrap_or(30));
    }
    let seconds = seconds.unwrap_or(60);

    let (mut server, pid, addr) = start_server(&exe, "server", "127.0.0.1:0")?;
    thread::sleep(Duration::from_millis(200));
    let baseline = rss(pid, "VmRSS:").unwrap_or(0);
    step!(
        "soak: server {addr} (pid {pid}), {} KiB at rest; {conns} connections for {seconds} s",
        baseline >> 10
    );

    let mut clients = Command::new(&exe);
    clients
        .args([
            "clients",
            "--addr",
            &addr,
            "--conns",
            &conns.to_string(),
            "--seconds",
            &seconds.to_string(),
        ])
        .stdout(Stdio::piped())
        .stdin(Stdio::null());
    let clients = clients.spawn().context(|| "starting the soak clients")?;
    let mut clients = ChildGuard::new(clients, "soak clients");
    let (tx, rx) = mpsc::channel();
    forward_lines(&mut clients, tx)?;

    let started = Instant::now();
    let limit = Duration::from_secs(seconds + 240);
    let mut summary = None;
    let mut at_ready = None;
    let mut peak_sampled = 0u64;
    while started.elapsed() < limit {
        match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(line) => {
                println!("{line}");
                if line == "READY" {
                    at_ready = rss(pid, "VmRSS:");
                }
                if line.starts_with("SOAK ") {
                    summary = Some(line);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        peak_sampled = peak_sampled.max(rss(pid, "VmRSS:").unwrap_or(0));
    }
    let peak = rss(pid, "VmHWM:").unwrap_or(peak_sampled).max(peak_sampled);
    let _ = util::wait_timeout(&mut clients.child, Duration::from_secs(30));
    clients.kill();
    server.kill();
    let Some(summary) = summary else {
        bail!(
            "the soak clients did not finish within {}",
            util::fmt_duration(limit)
        );
    };
    let field = |name: &str| summary_field(&summary, name);
    let opened = field("opened");
    let at_ready = at_ready.unwrap_or(peak);
    let per_conn_idle = at_ready.saturating_sub(baseline) as f64 / opened.max(1.0);
    let per_conn_peak = peak.saturating_sub(baseline) as f64 / opened.max(1.0);
    step!(
        "soak results ({} total):",
        util::fmt_duration(started.elapsed())
    );
    step!(
        "  connections open       {opened} of {conns} (ramp {} s)",
        field("ramp_s")
    );
    step!("  server RSS at rest     {} KiB", baseline >> 10);
    step!(
        "  server RSS, all open   {} KiB ({:.1} KiB per connection)",
        at_ready >> 10,
        per_conn_idle / 1024.0
    );
    step!(
        "  server peak RSS        {} KiB ({:.1} KiB per connection)",
        peak >> 10,
        per_conn_peak / 1024.0
    );
    step!(
        "  normal client          {} of {} echoes, p99 {} ms, longest gap {} ms",
        field("normal_echoes"),
        field("normal_expected"),
        field("normal_p99_ms"),
        field("normal_max_gap_ms")
    );
    step!("  slowloris cut          {}", field("slowloris_cut"));
    step!(
        "  flooded / unread bytes {} / {}",
        field("flood_bytes"),
        field("nonreading_bytes")
    );

    let budget = BASE_BUDGET + conns as u64 * PER_CONNECTION_BUDGET;
    let mut failures = Vec::new();
    if field("normal_echoes") < MIN_ECHO_SHARE * field("normal_expected") {
        failures.push(format!(
            "the normal client got fewer than {:.0}% of its echoes",
            MIN_ECHO_SHARE * 100.0
        ));
    }
    if field("normal_max_gap_ms") > MAX_ECHO_GAP.as_millis() as f64 {
        failures.push(format!(
            "the normal client waited over {} ms for an echo",
            MAX_ECHO_GAP.as_millis()
        ));
    }
    if peak > budget {
        failures.push(format!(
            "server peak RSS {} KiB is over the budget of {} KiB",
            peak >> 10,
            budget >> 10
        ));
    }
    if opened < conns as f64 * 0.99 {
        failures.push(format!("only {opened} of {conns} connections opened"));
    }
    if !failures.is_empty() {
        bail!("soak failed: {}", failures.join("; "));
    }
    step!(
        "soak: PASS (peak {} KiB ≤ budget {} KiB)",
        peak >> 10,
        budget >> 10
    );
    Ok(())
}

/// Starts `exe <subcommand> --listen <listen>` and waits for its `listening on ADDR` line.
/// Returns the guarded child, its pid and ADDR.
fn start_server(exe: &Path, subcommand: &str, listen: &str) -> Result<(ChildGuard, u32, String)> {
    let mut server = Command::new(exe);
    server
        .args([subcommand, "--listen", listen])
        .stdout(Stdio::piped())
        .stdin(Stdio::null());
    let server = server.spawn().context(|| "starting the soak server")?;
    let pid = server.id();
    let mut server = ChildGuard::new(server, "soak server");
    let stdout = server
        .child
        .stdout
        .take()
        .ok_or("no stdout from the soak server")?;
    let mut lines = BufReader::new(stdout).lines();
    loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(addr) = line.strip_prefix("listening on ") {
                    return Ok((server, pid, addr.to_owned()));
                }
            }
            _ => bail!("the soak server exited before listening"),
        }
    }
}

/// `--hold`: `conns` plain WebSockets, one echo each, held `seconds`; the servers' memory.
fn run_hold(exe: &Path, conns: usize, seconds: u64) -> Result<()> {
    let processes = conns.div_ceil(HOLD_PER_PROCESS).max(1);
    if processes > 250 {
        bail!(
            "--hold supports up to {} connections",
            250 * HOLD_PER_PROCESS
        );
    }
    let mut servers = Vec::with_capacity(processes);
    let (first, pid, addr) = start_server(exe, "hold-server", "127.0.0.1:0")?;
    servers.push((first, pid));
    for _ in 1..processes {
        let (server, pid, _) = start_server(exe, "hold-server", &addr)?;
        servers.push((server, pid));
    }
    let pids: Vec<u32> = servers.iter().map(|(_, pid)| *pid).collect();
    thread::sleep(Duration::from_millis(200));
    let sum = |key: &str| -> u64 { pids.iter().filter_map(|&p| rss(p, key)).sum() };
    let baseline = sum("VmRSS:");
    step!(
        "soak --hold: {processes} server process(es) on {addr} ({} KiB at rest in all), \
         {processes} client process(es); {conns} connections held {seconds} s",
        baseline >> 10
    );

    let (tx, rx) = mpsc::channel();
    let mut clients = Vec::with_capacity(processes);
    for i in 0..processes {
        let share = conns / processes + usize::from(i < conns % processes);
        let source = format!("127.0.0.{}", 2 + i);
        let mut cmd = Command::new(exe);
        cmd.args(["hold-clients", "--addr", &addr, "--source", &source])
            // Held until killed below, once every process is ready and `seconds` passed;
            // the bound only ends clients that outlive this run.
            .args(["--conns", &share.to_string()])
            .args(["--seconds", &(seconds + 600).to_string()])
            .stdout(Stdio::piped())
            .stdin(Stdio::null());
        let mut child = ChildGuard::new(
            cmd.spawn().context(|| "starting the hold clients")?,
            "hold clients",
        );
        forward_lines(&mut child, tx.clone())?;
        clients.push(child);
    }
    drop(tx);

    let started = Instant::now();
    let limit = Duration::from_secs(seconds + 300);
    let (mut ready, mut opened, mut failed, mut ramp_s) = (0, 0.0, 0.0, 0.0f64);
    let mut all_open = None;
    let mut peak_sampled = 0u64;
    let mut release_at = None;
    while started.elapsed() < limit && release_at.is_none_or(|at| Instant::now() < at) {
        match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(line) => {
                if let Some(summary) = line.strip_prefix("HOLD ") {
                    println!("{line}");
                    let field = |name: &str| summary_field(summary, name);
                    opened += field("opened");
                    failed += field("failed");
                    ramp_s = ramp_s.max(field("ramp_s"));
                }
                if line == "READY" {
                    ready += 1;
                    if ready == processes {
                        // Let the servers finish what follows the last echo.
                        thread::sleep(Duration::from_secs(1));
                        let spread: Vec<(u32, usize, u64)> = pids
                            .iter()
                            .map(|&p| (p, open_fds(p), rss(p, "VmRSS:").unwrap_or(0)))
                            .collect();
                        all_open = Some((sum("VmRSS:"), spread));
                        release_at = Some(Instant::now() + Duration::from_secs(seconds));
                    }
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        peak_sampled = peak_sampled.max(sum("VmRSS:"));
    }
    // Linux updates VmHWM lazily: the peak is the larger of it and the samples.
    let peak_hwm = sum("VmHWM:");
    let peak = peak_sampled.max(peak_hwm);
    for client in &mut clients {
        client.kill();
    }
    for (server, _) in &mut servers {
        server.kill();
    }
    let Some((at_ready, spread)) = all_open else {
        bail!(
            "the hold clients were not all ready within {}",
            util::fmt_duration(limit)
        );
    };
    let per = |bytes: u64| bytes.saturating_sub(baseline) as f64 / 1024.0 / opened.max(1.0);
    step!(
        "soak --hold results ({} total):",
        util::fmt_duration(started.elapsed())
    );
    step!("  connections open       {opened} of {conns}, {failed} failed (ramp {ramp_s:.1} s)");
    step!("  servers' RSS at rest   {} KiB", baseline >> 10);
    step!(
        "  servers' RSS, all open {} KiB ({:.2} KiB per connection)",
        at_ready >> 10,
        per(at_ready)
    );
    step!(
        "  servers' peak RSS      {} KiB ({:.2} KiB per connection; the larger of the summed \
         samples and the sum of each process's VmHWM)",
        peak >> 10,
        per(peak)
    );
    for (pid, fds, rss) in spread {
        step!(
            "  server pid {pid}: {fds} descriptors open, {} KiB",
            rss >> 10
        );
    }
    if opened < conns as f64 * 0.99 {
        bail!("soak --hold failed: only {opened} of {conns} connections opened");
    }
    step!("soak --hold: PASS");
    Ok(())
}

/// Sends each line of `child`'s stdout to `tx`, from a thread of its own.
fn forward_lines(child: &mut ChildGuard, tx: mpsc::Sender<String>) -> Result<()> {
    let out = child
        .child
        .stdout
        .take()
        .ok_or("no stdout from the soak clients")?;
    thread::spawn(move || {
        for line in BufReader::new(out)
            .lines()
            .map_while(std::result::Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    Ok(())
}

/// The value of `name=value` in a summary line of `key=value` fields (0 when absent).
fn summary_field(summary: &str, name: &str) -> f64 {
    summary
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// How many descriptors a process has open (`/proc/PID/fd`): its connections, give or take
/// a few (the listener, stdio, epoll).
fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

/// A `/proc/PID/status` memory line (`VmRSS:`, `VmHWM:`), in bytes.
fn rss(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix(key))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kib << 10)
}
