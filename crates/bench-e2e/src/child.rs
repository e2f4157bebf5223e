//! The child processes of a measurement, seen from the parent: a server that says where it
//! listens and lives until its stdin closes, and a client that prints one
//! `RESULT key=value ...` line. Each figure then belongs to one process alone (CPU and memory
//! are read per process), and a stuck child is killed, never waited on without bound.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

/// How long a server may take to print its `LISTEN` line.
const LISTEN_WAIT: Duration = Duration::from_secs(10);
/// How long a server may take to leave after its stdin closed, before it is killed.
const LEAVE_WAIT: Duration = Duration::from_secs(5);

/// A running server child: its process id and the addresses it printed. Dropping it closes
/// the server's stdin (its signal to leave) and kills it if it has not left within 5 s.
#[derive(Debug)]
pub struct ServerChild {
    child: Child,
    stdin: Option<ChildStdin>,
    /// The server's process id (for its CPU time and memory).
    pub pid: u32,
    /// What followed `LISTEN ` on its first line: comma-separated addresses.
    pub addrs: String,
}

impl ServerChild {
    /// Starts `cmd` with piped stdin and stdout and waits (at most 10 s) for its first line,
    /// `LISTEN <addrs>`.
    pub fn start(mut cmd: Command) -> Result<Self> {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("starting the server")?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().context("server stdout")?;
        let pid = child.id();
        // Owned from here: an early return below still ends the child.
        let mut server = Self {
            child,
            stdin,
            pid,
            addrs: String::new(),
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(LISTEN_WAIT)
            .context("the server did not say where it listens")?;
        server.addrs = line
            .trim()
            .strip_prefix("LISTEN ")
            .with_context(|| format!("unexpected server line `{}`", line.trim()))?
            .to_owned();
        Ok(server)
    }
}

impl Drop for ServerChild {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + LEAVE_WAIT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a client child to its end (killed past `limit`) and parses its `RESULT` line into
/// key → value.
pub fn run_client(mut cmd: Command, limit: Duration) -> Result<BTreeMap<String, f64>> {
    let mut child = cmd
        .stdout(Stdio::piped())
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
    parse_result(&out)
}

/// The `RESULT k=v ...` line of a client's output as key → value.
pub fn parse_result(out: &str) -> Result<BTreeMap<String, f64>> {
    let line = out
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .context("the client printed no result")?;
    line.split_whitespace()
        .map(|kv| {
            let (k, v) = kv.split_once('=').context("key=value")?;
            Ok((k.to_owned(), v.parse::<f64>()?))
        })
        .collect()
}

/// One value of a parsed result, or an error naming the missing key.
pub fn get(result: &BTreeMap<String, f64>, key: &str) -> Result<f64> {
    result
        .get(key)
        .copied()
        .with_context(|| format!("no `{key}` in the client's result"))
}

/// In a server child: prints `LISTEN <addrs>`, then ends the process once stdin closes
/// (the parent left or dropped its [`ServerChild`]).
pub fn announce_and_exit_with_stdin(addrs: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "LISTEN {addrs}")?;
    out.flush()?;
    std::thread::spawn(|| {
        let mut sink = String::new();
        while std::io::stdin()
            .lock()
            .read_line(&mut sink)
            .is_ok_and(|n| n > 0)
        {}
        std::process::exit(0);
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_line_parses_among_other_output() -> Result<()> {
        let r = parse_result("progress\nRESULT messages=10 wall_ns=2.5e9\n")?;
        assert_eq!(get(&r, "messages")?, 10.0);
        assert_eq!(get(&r, "wall_ns")?, 2.5e9);
        assert!(get(&r, "cpu_ns").is_err());
        assert!(parse_result("no result here").is_err());
        assert!(parse_result("RESULT messages").is_err());
        Ok(())
    }
}
