//! The process pairs every benchmark program here runs: a server child pinned to one CPU
//! that prints `LISTEN <addr>,...` and leaves when its stdin closes, and a client child that
//! measures and prints one `RESULT key=value ...` line. The parent starts both from its own
//! executable (`std::env::current_exe`), so each figure belongs to one process alone.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::rc::Rc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::LocalSet;

use crate::sys;

/// How long a server may take to say where it listens.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);

/// A running server child: its process id, its addresses (comma-separated, as printed), and
/// the child itself, asked to leave (stdin closed) and then killed when this is dropped.
#[derive(Debug)]
pub struct ServerChild {
    pub pid: u32,
    pub addrs: String,
    _reaper: Reaper,
}

/// Kills a child when dropped (the server, whatever happens to the measurement), after
/// waiting up to the given time for it to leave by itself.
#[derive(Debug)]
struct Reaper(Child, Option<ChildStdin>, Duration);

impl Drop for Reaper {
    fn drop(&mut self) {
        // Closing stdin asks the server to leave; a kill makes sure.
        drop(self.1.take());
        let deadline = Instant::now() + self.2;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// How long a child may take to start or to leave by itself: a process under a wrapper
/// such as valgrind starts and ends tens of times slower.
fn grace(wrapper: &[OsString]) -> Duration {
    Duration::from_secs(if wrapper.is_empty() { 5 } else { 120 })
}

/// This program with `args` (under `wrapper`, a program and its arguments, when that is not
/// empty), its stdout piped, errors without backtraces.
fn this_program<I, S>(wrapper: &[OsString], args: I) -> Result<Command>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let exe = std::env::current_exe().context("finding this program")?;
    let mut command = match wrapper.split_first() {
        Some((program, wrapper_args)) => {
            let mut command = Command::new(program);
            command.args(wrapper_args).arg(exe);
            command
        }
        None => Command::new(exe),
    };
    // No backtrace in errors (panics keep theirs): with `RUST_BACKTRACE=1` in the
    // environment, every `anyhow::Error` would capture one, and a server whose library
    // reports a client's leaving as an error would pay ~5 µs of unwinding per connection
    // (measured: 5 % of wintergreen's handshake server samples), a cost of the benchmark's.
    command
        .args(args)
        .env("RUST_LIB_BACKTRACE", "0")
        .stdout(Stdio::piped());
    Ok(command)
}

/// Starts this program with `args` as a server child and waits for its `LISTEN` line.
pub fn spawn_server<I, S>(args: I) -> Result<ServerChild>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    spawn_server_under(&[], args)
}

/// [`spawn_server`] under `wrapper` (a program and its arguments, e.g. valgrind's).
pub fn spawn_server_under<I, S>(wrapper: &[OsString], args: I) -> Result<ServerChild>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let grace = grace(wrapper);
    let mut child = this_program(wrapper, args)?
        .stdin(Stdio::piped())
        .spawn()
        .context("starting the server")?;
    let stdin = child.stdin.take();
    let stdout = child.stdout.take().context("server stdout")?;
    let pid = child.id();
    let reaper = Reaper(child, stdin, grace);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(LISTEN_TIMEOUT.max(grace))
        .context("the server did not say where it listens")?;
    let addrs = line
        .trim()
        .strip_prefix("LISTEN ")
        .with_context(|| format!("unexpected server line `{}`", line.trim()))?
        .to_owned();
    Ok(ServerChild {
        pid,
        addrs,
        _reaper: reaper,
    })
}

/// Runs this program with `args` as a client child, killed after `limit`, and returns the
/// `key=value` pairs of its `RESULT` line.
pub fn run_client<I, S>(args: I, limit: Duration) -> Result<BTreeMap<String, f64>>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_client_under(&[], args, limit)
}

/// [`run_client`] under `wrapper` (a program and its arguments, e.g. valgrind's).
pub fn run_client_under<I, S>(
    wrapper: &[OsString],
    args: I,
    limit: Duration,
) -> Result<BTreeMap<String, f64>>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut child = this_program(wrapper, args)?
        .spawn()
        .context("starting the client")?;
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("the client took longer than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        stdout.read_to_string(&mut out)?;
    }
    if !status.success() {
        bail!("the client failed ({status})");
    }
    let line = out
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .context("the client printed no result")?;
    parse_result(line)
}

/// Parses `key=value ...` (values are numbers).
fn parse_result(line: &str) -> Result<BTreeMap<String, f64>> {
    line.split_whitespace()
        .map(|kv| {
            let (k, v) = kv.split_once('=').context("key=value")?;
            Ok((k.to_owned(), v.parse::<f64>()?))
        })
        .collect()
}

/// The one value `key` of a client's result.
pub fn get(result: &BTreeMap<String, f64>, key: &str) -> Result<f64> {
    result
        .get(key)
        .copied()
        .with_context(|| format!("no `{key}` in the client's result"))
}

/// A benchmark program's exit: success, or the error's chain on stderr and failure.
#[allow(clippy::print_stderr)]
pub fn exit_code(result: Result<()>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `value`, with a progress line on stderr: `label: show(value)` or `label: FAILED: error`
/// (a failed measurement is reported and left out, and the run goes on).
#[allow(clippy::print_stderr)]
pub fn logged<T>(label: &str, value: Result<T>, show: impl Fn(&T) -> String) -> Option<T> {
    match value {
        Ok(v) => {
            eprintln!("{label}: {}", show(&v));
            Some(v)
        }
        Err(e) => {
            eprintln!("{label}: FAILED: {e:#}");
            None
        }
    }
}

/// How a server child runs: pinned, with raised descriptor limits, on a current-thread
/// runtime, for at most `lifetime`.
#[derive(Clone, Copy, Debug)]
pub struct ServerSetup {
    pub cpu: usize,
    /// Loopback ports to listen on (each takes at most ~28,000 connections from one client
    /// address).
    pub listeners: usize,
    /// File descriptors asked for (a server does not know how many clients will come).
    pub fd_limit: u64,
    /// A server never outlives this, whatever happens to its parent.
    pub lifetime: Duration,
}

/// The server child's body: listens on `setup.listeners` loopback ports, prints
/// `LISTEN <addr>,...`, and hands every accepted socket to `accept` (which spawns the
/// connection's task on the current `LocalSet`) until stdin closes or the lifetime ends.
pub fn serve(setup: ServerSetup, accept: impl Fn(TcpStream) + 'static) -> Result<()> {
    sys::pin_to_cpu(setup.cpu)?;
    sys::raise_fd_limit(setup.fd_limit)?;
    // The parent ends a server by closing its stdin (or by killing it).
    std::thread::spawn(|| {
        let mut sink = String::new();
        while std::io::stdin()
            .lock()
            .read_line(&mut sink)
            .is_ok_and(|n| n > 0)
        {}
        std::process::exit(0);
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = LocalSet::new();
    let accept = Rc::new(accept);
    local.block_on(&runtime, async {
        let mut addrs = Vec::new();
        for _ in 0..setup.listeners.max(1) {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            addrs.push(listener.local_addr()?.to_string());
            let accept = Rc::clone(&accept);
            tokio::task::spawn_local(async move {
                loop {
                    let Ok((tcp, _)) = listener.accept().await else {
                        // Out of descriptors, say: the client sees its connect fail or stall
                        // and reports it; the listener stays.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    };
                    accept(tcp);
                }
            });
        }
        let mut out = std::io::stdout().lock();
        writeln!(out, "LISTEN {}", addrs.join(","))?;
        out.flush()?;
        drop(out);
        tokio::time::sleep(setup.lifetime).await;
        anyhow::Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_line_parses_into_numbers_and_rejects_a_bare_word() -> Result<()> {
        let r = parse_result("messages=10 wall_ns=2.5e9")?;
        assert_eq!(get(&r, "messages")?, 10.0);
        assert_eq!(get(&r, "wall_ns")?, 2.5e9);
        assert!(get(&r, "cpu_ns").is_err());
        assert!(parse_result("messages").is_err());
        Ok(())
    }
}
