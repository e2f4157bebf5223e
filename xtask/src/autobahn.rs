//! `cargo xtask autobahn`: the Autobahn|Testsuite fuzzingserver against our client, judged.
//!
//! 1. makes sure the testsuite is installed natively ([`crate::install`]);
//! 2. builds `cargo build --release -p spearmint --example autobahn_client`;
//! 3. starts `wstest -m fuzzingserver` on 127.0.0.1:9001 (cwd `autobahn/`, log in
//!    `autobahn/reports/fuzzingserver.log`), killed again whatever happens;
//! 4. runs the client once per row of [`AGENTS`], all into one report;
//! 5. reads `autobahn/reports/clients/index.json`, prints a per-section table, writes it to
//!    `autobahn/reports/clients/summary.md`, and fails unless every case passed (see [`judge`]).

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::install::{self, Testsuite};
use crate::util::{self, ChildGuard, Context, Result, bail, step};

/// Whether spearmint negotiates permessage-deflate (RFC 7692) in the Autobahn client yet.
/// While `false`, sections 12 and 13 (the compression cases) may come back UNIMPLEMENTED
/// (the client did not offer the extension) without failing the run. Flip it to `true`
/// when deflate lands: from then on those sections are judged like every other one.
const DEFLATE_IMPLEMENTED: bool = false;

/// How many cases Autobahn|Testsuite 25.10.1 runs for `"cases": ["*"]`. The full run fails
/// if the server offers, or the report holds, any other number, so that a case excluded in
/// the config (or skipped by a client) cannot slip through.
const EXPECTED_CASE_COUNT: usize = 517;

/// One run of a client against the fuzzingserver; every agent lands in the same report.
#[derive(Debug, Clone, Copy)]
struct Agent {
    /// The agent name in the report (`--agent`), also the report's file-name prefix.
    name: &'static str,
    /// Extra arguments for `autobahn_client` after `--url URL --agent NAME`.
    args: &'static [&'static str],
}

/// The client runs that `cargo xtask autobahn` judges. Add a row per transport/runtime,
/// e.g. `Agent { name: "spearmint-smol", args: &["--runtime", "smol"] }`.
const AGENTS: &[Agent] = &[Agent {
    name: "spearmint",
    args: &[],
}];

/// The agent name Autobahn's own testee client reports under (`--testee`).
const TESTEE_AGENT: &str = "autobahn-testee";

const HOST: Ipv4Addr = Ipv4Addr::LOCALHOST;
const PORT: u16 = 9001;
const URL: &str = "ws://127.0.0.1:9001";
/// Relative to `autobahn/`, as in `fuzzingserver.json` (which must agree).
const REPORT_DIR: &str = "reports/clients";

const BUILD_TIMEOUT: Duration = Duration::from_secs(30 * 60);
const SERVER_START_TIMEOUT: Duration = Duration::from_secs(60);
/// For all client runs together (the full suite takes a few minutes per agent).
const CLIENT_RUN_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Writing the HTML/JSON reports for every case of every agent.
const REPORT_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// Runs `wstest` with its WebSocket listener bound to 127.0.0.1 only: wstest itself always
/// listens on all interfaces (autobahn's `listenWS(..., interface='')`), whatever the URL in
/// the config says. Arguments after `-c CODE` are wstest's own.
const WSTEST_LOOPBACK_SHIM: &str = "\
import sys
from autobahntestsuite import wstest, fuzzing
_listen = fuzzing.listenWS
def _listen_loopback(factory, contextFactory=None, backlog=50, interface='127.0.0.1'):
    return _listen(factory, contextFactory, backlog, interface)
fuzzing.listenWS = _listen_loopback
sys.argv[0] = 'wstest'
wstest.run()
";

#[derive(Debug, Default)]
struct Options {
    /// `--cases 1.*,2.*`: run a subset (a temporary config) instead of the full suite.
    cases: Option<Vec<String>>,
    /// `--testee`: Autobahn's own testee client instead of ours, to test this pipeline.
    testee: bool,
    /// `--server-debug`: wstest's debug log (every handshake and frame) in fuzzingserver.log.
    server_debug: bool,
}

fn parse_args(args: &[String]) -> Result<Options> {
    let mut opts = Options::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f, Some(v.to_owned())),
            None => (arg.as_str(), None),
        };
        match flag {
            "--cases" => {
                let Some(list) = inline.or_else(|| it.next().cloned()) else {
                    bail!("--cases needs a list, e.g. `--cases 1.*,2.*,9.1.1`");
                };
                let cases: Vec<String> = list
                    .split(',')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned)
                    .collect();
                if cases.is_empty() {
                    bail!("--cases needs at least one case pattern");
                }
                opts.cases = Some(cases);
            }
            "--testee" if inline.is_none() => opts.testee = true,
            "--server-debug" if inline.is_none() => opts.server_debug = true,
            _ => bail!("unknown autobahn option `{arg}` (see `cargo xtask help`)"),
        }
    }
    Ok(opts)
}

/// What to run for one agent.
#[derive(Debug)]
struct Run {
    agent: String,
    command: Command,
    /// How the command is shown in progress output.
    shown: String,
}

pub fn run(args: &[String]) -> Result<()> {
    let opts = parse_args(args)?;
    let started = Instant::now();
    let root = util::project_root();
    let dir = root.join("autobahn");
    ensure_port_free()?;
    let testsuite = install::ensure()?;

    // The config: the committed one, or a subset copy of it in the (ignored) reports dir.
    let reports = dir.join("reports");
    fs::create_dir_all(&reports).context(|| format!("creating {}", reports.display()))?;
    let config = match &opts.cases {
        None => "fuzzingserver.json".to_owned(),
        Some(cases) => write_subset_config(&dir, cases)?,
    };

    let mut runs = if opts.testee {
        let mut command = wstest(&testsuite);
        command
            .args(["-m", "testeeclient", "-w", URL, "-i", TESTEE_AGENT])
            .current_dir(&dir);
        vec![Run {
            agent: TESTEE_AGENT.to_owned(),
            command,
            shown: format!("wstest -m testeeclient -w {URL} -i {TESTEE_AGENT}"),
        }]
    } else {
        let client = build_client(&root)?;
        AGENTS
            .iter()
            .map(|a| {
                let mut command = Command::new(&client);
                command
                    .args(["--url", URL, "--agent", a.name])
                    .args(a.args)
                    .current_dir(&root);
                let shown = util::display(&command);
                Run {
                    agent: a.name.to_owned(),
                    command,
                    shown,
                }
            })
            .collect()
    };

    let report_dir = dir.join(REPORT_DIR);
    if report_dir.exists() {
        fs::remove_dir_all(&report_dir)
            .context(|| format!("removing the old report {}", report_dir.display()))?;
    }

    // --- the fuzzingserver, killed by the guard on every way out of this function ---
    let log_path = reports.join("fuzzingserver.log");
    let mut server = start_server(&testsuite, &dir, &config, &log_path, opts.server_debug)?;

    let offered = ws_text(
        &format!(
            "/getCaseCount?agent={}",
            runs.first().map_or("probe", |r| &r.agent)
        ),
        Duration::from_secs(30),
    )
    .and_then(|t| t.ok_or_else(|| util::Error("no message".into())))
    .and_then(|t| {
        t.trim()
            .parse::<usize>()
            .context(|| format!("case count `{t}`"))
    })
    .map_err(|e| util::Error(format!("asking the fuzzingserver for /getCaseCount: {e}")))?;
    let expected = match &opts.cases {
        None if offered != EXPECTED_CASE_COUNT => bail!(
            "the fuzzingserver offers {offered} cases, expected all {EXPECTED_CASE_COUNT}: does autobahn/{config} exclude cases? (a full run must run every case)"
        ),
        None => EXPECTED_CASE_COUNT,
        Some(_) if offered == 0 => bail!(
            "no case matches --cases {}",
            opts.cases.as_deref().unwrap_or_default().join(",")
        ),
        Some(_) => offered,
    };
    step!(
        "fuzzingserver offers {offered} cases; running {} agent(s): {}",
        runs.len(),
        runs.iter()
            .map(|r| r.agent.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );

    let agents: Vec<String> = runs.iter().map(|r| r.agent.clone()).collect();
    let deadline = Instant::now() + CLIENT_RUN_TIMEOUT;
    let mut client_errors = Vec::new();
    for run in &mut runs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            client_errors.push(format!(
                "agent {}: not run, the {} budget for all clients is used up",
                run.agent,
                util::fmt_duration(CLIENT_RUN_TIMEOUT)
            ));
            continue;
        }
        let t = Instant::now();
        step!("agent {}: running {expected} cases", run.agent);
        match util::run_shown(&mut run.command, &run.shown, left) {
            Ok(()) => step!(
                "agent {}: client finished in {}",
                run.agent,
                util::fmt_duration(t.elapsed())
            ),
            Err(e) => {
                step!(
                    "agent {}: client FAILED after {}: {e}",
                    run.agent,
                    util::fmt_duration(t.elapsed())
                );
                client_errors.push(format!("agent {}: {e}", run.agent));
            }
        }
        if !server_alive(&mut server) {
            break;
        }
    }

    // Have the server (re)write the reports for every agent it has seen, whether or not a
    // client got as far as asking: partial results are still worth a table.
    if server_alive(&mut server) {
        step!("asking the fuzzingserver to write its reports");
        if let Err(e) = ws_text(
            &format!(
                "/updateReports?agent={}",
                agents.first().map_or("", String::as_str)
            ),
            REPORT_TIMEOUT,
        ) {
            step!("warning: /updateReports failed: {e}");
        }
    }
    let server_died = !server_alive(&mut server);
    server.kill();
    drop(server);
    if server_died {
        client_errors.push(format!(
            "the fuzzingserver exited early; see {}",
            log_path.display()
        ));
        print_log_tail(&log_path);
    }

    let index_path = report_dir.join("index.json");
    let index = fs::read_to_string(&index_path).context(|| {
        format!(
            "reading {} (did any client finish a case?)",
            index_path.display()
        )
    })?;
    let index: Value =
        serde_json::from_str(&index).context(|| format!("parsing {}", index_path.display()))?;
    let report = Report::from_index(&index, &agents, expected)?;

    println!();
    print!("{}", report.text_tables());
    let summary_path = report_dir.join("summary.md");
    fs::write(
        &summary_path,
        report.markdown(&client_errors, opts.cases.as_deref(), opts.testee),
    )
    .context(|| format!("writing {}", summary_path.display()))?;
    step!(
        "report: {} (summary: {})",
        report_dir.join("index.html").display(),
        summary_path.display()
    );

    let failures = report.failures();
    for problem in &failures {
        println!("FAIL {problem}");
    }
    for e in &client_errors {
        println!("FAIL {e}");
    }
    if failures.is_empty() && client_errors.is_empty() {
        step!(
            "autobahn: PASS ({} agent(s) x {expected} cases{}) in {}",
            agents.len(),
            if DEFLATE_IMPLEMENTED {
                ""
            } else {
                "; UNIMPLEMENTED tolerated in 12.* and 13.* until DEFLATE_IMPLEMENTED"
            },
            util::fmt_duration(started.elapsed())
        );
        Ok(())
    } else {
        bail!(
            "autobahn: {} problem(s) (cases not OK/INFORMATIONAL, missing cases or agents, client errors); see above and {}",
            failures.len() + client_errors.len(),
            summary_path.display()
        )
    }
}

fn wstest(ts: &Testsuite) -> Command {
    let mut cmd = Command::new(&ts.python);
    cmd.args(["-c", WSTEST_LOOPBACK_SHIM])
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    cmd
}

fn write_subset_config(dir: &Path, cases: &[String]) -> Result<String> {
    let base = dir.join("fuzzingserver.json");
    let text = fs::read_to_string(&base).context(|| format!("reading {}", base.display()))?;
    let mut config: Value =
        serde_json::from_str(&text).context(|| format!("parsing {}", base.display()))?;
    let Some(obj) = config.as_object_mut() else {
        bail!("{} is not a JSON object", base.display());
    };
    obj.insert("cases".into(), Value::from(cases.to_vec()));
    let rel = "reports/fuzzingserver.subset.json";
    let path = dir.join(rel);
    let pretty =
        serde_json::to_string_pretty(&config).context(|| "serializing the subset config")?;
    fs::write(&path, pretty + "\n").context(|| format!("writing {}", path.display()))?;
    step!(
        "subset config {} (cases {})",
        path.display(),
        cases.join(",")
    );
    Ok(rel.to_owned())
}

/// Builds the example client and returns the executable cargo reports for it.
fn build_client(root: &Path) -> Result<PathBuf> {
    step!("building the Autobahn client (release)");
    let mut cmd = util::cargo();
    cmd.args([
        "build",
        "--release",
        "-p",
        "spearmint",
        "--example",
        "autobahn_client",
        "--message-format=json-render-diagnostics",
    ])
    .current_dir(root);
    step!("$ {}", util::display(&cmd));
    let out = util::output(&mut cmd, BUILD_TIMEOUT)
        .map_err(|e| util::Error(format!("building the Autobahn client failed ({e}); it is crates/spearmint/examples/autobahn_client.rs")))?;
    out.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "autobahn_client")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| util::Error("cargo built no `autobahn_client` executable".into()))
}

fn ensure_port_free() -> Result<()> {
    let addr = SocketAddr::from((HOST, PORT));
    if TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok() {
        bail!(
            "something already listens on {addr} (a leftover fuzzingserver? `docker compose up`?); stop it first"
        );
    }
    Ok(())
}

fn start_server(
    ts: &Testsuite,
    dir: &Path,
    config: &str,
    log_path: &Path,
    debug: bool,
) -> Result<ChildGuard> {
    let addr = SocketAddr::from((HOST, PORT));
    ensure_port_free()?;
    let log = fs::File::create(log_path).context(|| format!("creating {}", log_path.display()))?;
    let log2 = log
        .try_clone()
        .context(|| "duplicating the log file handle")?;
    let mut cmd = wstest(ts);
    // --webport 0: no extra HTTP server on 8080 (wstest would bind it on all interfaces).
    cmd.args(["-m", "fuzzingserver", "-s", config, "--webport", "0"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2);
    if debug {
        cmd.arg("--debug");
    }
    step!(
        "starting the fuzzingserver on {URL} (log: {})",
        log_path.display()
    );
    step!(
        "$ (cd {} && wstest -m fuzzingserver -s {config} --webport 0)",
        dir.display()
    );
    let child = cmd
        .spawn()
        .context(|| "could not start the fuzzingserver")?;
    let mut guard = ChildGuard::new(child, "wstest -m fuzzingserver");

    let t = Instant::now();
    loop {
        if let Ok(Some(status)) = guard.child.try_wait() {
            print_log_tail(log_path);
            bail!(
                "the fuzzingserver exited at start ({status}); see {}",
                log_path.display()
            );
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok() {
            step!(
                "fuzzingserver is up after {}",
                util::fmt_duration(t.elapsed())
            );
            return Ok(guard);
        }
        if t.elapsed() > SERVER_START_TIMEOUT {
            print_log_tail(log_path);
            bail!(
                "the fuzzingserver did not accept connections on {addr} within {}",
                util::fmt_duration(SERVER_START_TIMEOUT)
            );
        }
        thread::sleep(Duration::from_millis(100));
    }
}

fn server_alive(server: &mut ChildGuard) -> bool {
    matches!(server.child.try_wait(), Ok(None))
}

fn print_log_tail(path: &Path) {
    let Ok(text) = fs::read_to_string(path) else {
        return;
    };
    let lines: Vec<&str> = text.lines().collect();
    eprintln!("--- last lines of {} ---", path.display());
    for line in &lines[lines.len().saturating_sub(30)..] {
        eprintln!("{line}");
    }
    eprintln!("---");
}

/// A minimal WebSocket client for the fuzzingserver's control endpoints (`/getCaseCount`,
/// `/updateReports`): handshake, return the first text message (if any), answer the
/// server's close and wait for it to hang up. The server replies only after finishing the
/// request, so when this returns, `/updateReports` has written its files.
fn ws_text(path: &str, timeout: Duration) -> Result<Option<String>> {
    let addr = SocketAddr::from((HOST, PORT));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .context(|| format!("connecting to {addr}"))?;
    s.set_read_timeout(Some(timeout))
        .context(|| "set_read_timeout")?;
    s.set_write_timeout(Some(Duration::from_secs(10)))
        .context(|| "set_write_timeout")?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .context(|| "sending the handshake")?;

    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if read_more(&mut s, &mut buf)? == 0 {
            bail!("connection closed during the handshake");
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    if !head.starts_with("HTTP/1.1 101") {
        bail!("handshake refused: {}", head.lines().next().unwrap_or(""));
    }
    buf.drain(..head_end);

    let mut text = None;
    loop {
        let Some((opcode, payload, used)) = parse_frame(&buf) else {
            if read_more(&mut s, &mut buf)? == 0 {
                return Ok(text); // server hung up
            }
            continue;
        };
        buf.drain(..used);
        match opcode {
            0x1 if text.is_none() => text = Some(String::from_utf8_lossy(&payload).into_owned()),
            0x8 => {
                // Echo a normal close (masked, zero key, code 1000), then wait for EOF.
                let _ = s.write_all(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xE8]);
                let mut sink = [0u8; 1024];
                while matches!(s.read(&mut sink), Ok(n) if n > 0) {}
                return Ok(text);
            }
            _ => {}
        }
    }
}

fn read_more(s: &mut TcpStream, buf: &mut Vec<u8>) -> Result<usize> {
    let mut chunk = [0u8; 4096];
    let n = s.read(&mut chunk).map_err(|e| match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
            util::Error("timed out waiting for the fuzzingserver".into())
        }
        _ => util::Error(format!("reading from the fuzzingserver: {e}")),
    })?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

/// One unmasked server frame from the front of `buf`: (opcode, payload, bytes used).
fn parse_frame(buf: &[u8]) -> Option<(u8, Vec<u8>, usize)> {
    let (&b0, &b1) = (buf.first()?, buf.get(1)?);
    let (len, mut at) = match b1 & 0x7f {
        126 => (
            u64::from(u16::from_be_bytes(buf.get(2..4)?.try_into().ok()?)),
            4,
        ),
        127 => (u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?), 10),
        n => (u64::from(n), 2),
    };
    let mask: Option<[u8; 4]> = if b1 & 0x80 != 0 {
        let m = buf.get(at..at + 4)?.try_into().ok()?;
        at += 4;
        Some(m)
    } else {
        None
    };
    let end = at.checked_add(usize::try_from(len).ok()?)?;
    let mut payload = buf.get(at..end)?.to_vec();
    if let Some(m) = mask {
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= m[i % 4];
        }
    }
    Some((b0 & 0x0f, payload, end))
}

// ---------------------------------------------------------------------------------------------
// Judging and tables

/// The columns of the per-section table, in order; anything else counts as "other".
const COLUMNS: [&str; 7] = [
    "OK",
    "INFORMATIONAL",
    "NON-STRICT",
    "FAILED",
    "UNIMPLEMENTED",
    "WRONG CODE",
    "UNCLEAN",
];

/// Autobahn's top-level sections (8 and 11 do not exist).
const SECTIONS: [(u32, &str); 13] = [
    (1, "Framing"),
    (2, "Pings/Pongs"),
    (3, "Reserved Bits"),
    (4, "Opcodes"),
    (5, "Fragmentation"),
    (6, "UTF-8 Handling"),
    (7, "Close Handling"),
    (8, "(none)"),
    (9, "Limits/Performance"),
    (10, "Miscellaneous"),
    (11, "(none)"),
    (12, "Compression: payloads"),
    (13, "Compression: parameters"),
];

#[derive(Debug, Clone)]
struct Case {
    id: String,
    behavior: String,
    behavior_close: String,
}

impl Case {
    fn section(&self) -> u32 {
        self.id
            .split('.')
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    /// One label per case for the table: the opening `behavior`, unless that passed and the
    /// closing handshake did not (then `behaviorClose`, e.g. WRONG CODE or UNCLEAN).
    fn label(&self) -> &str {
        if is_pass(&self.behavior) && !is_pass(&self.behavior_close) {
            &self.behavior_close
        } else {
            &self.behavior
        }
    }

    /// `None` when the case passes, else why it fails.
    fn problem(&self) -> Option<String> {
        if is_pass(&self.behavior) && is_pass(&self.behavior_close) {
            return None;
        }
        if self.behavior == "UNIMPLEMENTED"
            && !DEFLATE_IMPLEMENTED
            && matches!(self.section(), 12 | 13)
        {
            return None;
        }
        Some(format!(
            "{}: behavior {}, behaviorClose {}",
            self.id, self.behavior, self.behavior_close
        ))
    }
}

fn is_pass(behavior: &str) -> bool {
    matches!(behavior, "OK" | "INFORMATIONAL")
}

#[derive(Debug)]
struct AgentReport {
    name: String,
    /// Present in index.json at all?
    present: bool,
    cases: Vec<Case>,
}

#[derive(Debug)]
struct Report {
    expected: usize,
    agents: Vec<AgentReport>,
}

impl Report {
    fn from_index(index: &Value, agents: &[String], expected: usize) -> Result<Report> {
        let Some(by_agent) = index.as_object() else {
            bail!("index.json is not a JSON object");
        };
        let mut out = Vec::new();
        for name in agents {
            let Some(cases) = by_agent.get(name) else {
                out.push(AgentReport {
                    name: name.clone(),
                    present: false,
                    cases: Vec::new(),
                });
                continue;
            };
            let Some(cases) = cases.as_object() else {
                bail!("index.json: agent {name} is not an object");
            };
            let mut list: Vec<Case> = cases
                .iter()
                .map(|(id, c)| Case {
                    id: id.clone(),
                    behavior: c["behavior"].as_str().unwrap_or("(missing)").to_owned(),
                    behavior_close: c["behaviorClose"]
                        .as_str()
                        .unwrap_or("(missing)")
                        .to_owned(),
                })
                .collect();
            list.sort_by_key(|c| case_key(&c.id));
            out.push(AgentReport {
                name: name.clone(),
                present: true,
                cases: list,
            });
        }
        // Agents in the report that we did not run are listed, not judged.
        for other in by_agent.keys().filter(|k| !agents.contains(k)) {
            step!("note: index.json also holds agent `{other}` (not judged)");
        }
        Ok(Report {
            expected,
            agents: out,
        })
    }

    fn failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        for a in &self.agents {
            if !a.present {
                out.push(format!("agent {} is missing from the report", a.name));
                continue;
            }
            if a.cases.len() != self.expected {
                out.push(format!(
                    "agent {}: report holds {} cases, expected {}",
                    a.name,
                    a.cases.len(),
                    self.expected
                ));
            }
            out.extend(
                a.cases
                    .iter()
                    .filter_map(Case::problem)
                    .map(|p| format!("agent {}: case {p}", a.name)),
            );
        }
        out
    }

    /// rows[section] = counts per column (COLUMNS then "other").
    fn counts(a: &AgentReport) -> BTreeMap<u32, [usize; COLUMNS.len() + 1]> {
        let mut rows: BTreeMap<u32, [usize; COLUMNS.len() + 1]> = SECTIONS
            .iter()
            .map(|&(n, _)| (n, [0; COLUMNS.len() + 1]))
            .collect();
        for c in &a.cases {
            let col = COLUMNS
                .iter()
                .position(|&k| k == c.label())
                .unwrap_or(COLUMNS.len());
            if let Some(cell) = rows.entry(c.section()).or_default().get_mut(col) {
                *cell += 1;
            }
        }
        rows
    }

    fn headers() -> Vec<&'static str> {
        let mut h = vec!["section"];
        h.extend(COLUMNS);
        h.extend(["other", "total"]);
        h
    }

    /// Table rows as cells (including a total row).
    fn rows(a: &AgentReport) -> Vec<Vec<String>> {
        let mut rows = Vec::new();
        let mut total = [0usize; COLUMNS.len() + 1];
        for (section, counts) in Self::counts(a) {
            let name = SECTIONS
                .iter()
                .find(|s| s.0 == section)
                .map_or("?", |s| s.1);
            let mut row = vec![format!("{section} {name}")];
            row.extend(counts.iter().map(usize::to_string));
            row.push(counts.iter().sum::<usize>().to_string());
            for (t, c) in total.iter_mut().zip(counts) {
                *t += c;
            }
            rows.push(row);
        }
        let mut row = vec!["total".to_owned()];
        row.extend(total.iter().map(usize::to_string));
        row.push(total.iter().sum::<usize>().to_string());
        rows.push(row);
        rows
    }

    fn title(&self, a: &AgentReport) -> String {
        if a.present {
            format!(
                "agent {}: {} of {} cases",
                a.name,
                a.cases.len(),
                self.expected
            )
        } else {
            format!("agent {}: MISSING from the report", a.name)
        }
    }

    fn text_tables(&self) -> String {
        let headers = Self::headers();
        let mut out = String::new();
        for a in &self.agents {
            out.push_str(&self.title(a));
            out.push('\n');
            if !a.present {
                out.push('\n');
                continue;
            }
            let rows = Self::rows(a);
            let widths: Vec<usize> = (0..headers.len())
                .map(|i| {
                    rows.iter()
                        .filter_map(|r| r.get(i))
                        .map(String::len)
                        .chain([headers[i].len()])
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            let line = |cells: &mut dyn Iterator<Item = &str>| {
                let mut s = String::new();
                for (i, (cell, w)) in cells.zip(&widths).enumerate() {
                    if i == 0 {
                        s.push_str(&format!("{cell:<w$}"));
                    } else {
                        s.push_str(&format!("  {cell:>w$}"));
                    }
                }
                s.push('\n');
                s
            };
            out.push_str(&line(&mut headers.iter().copied()));
            for r in &rows {
                out.push_str(&line(&mut r.iter().map(String::as_str)));
            }
            out.push('\n');
        }
        out
    }

    fn markdown(&self, client_errors: &[String], cases: Option<&[String]>, testee: bool) -> String {
        let failures = self.failures();
        let pass = failures.is_empty() && client_errors.is_empty();
        let mut md = String::from("# Autobahn|Testsuite: client conformance\n\n");
        md.push_str(&format!(
            "Written by `cargo xtask autobahn{}{}`. Verdict: **{}**. Cases: {}; a case passes when `behavior` and \
             `behaviorClose` are OK or INFORMATIONAL{}.\n\n",
            cases.map(|c| format!(" --cases {}", c.join(","))).unwrap_or_default(),
            if testee { " --testee" } else { "" },
            if pass { "PASS" } else { "FAIL" },
            match cases {
                None => format!("all {}", self.expected),
                Some(c) => format!("{} ({})", self.expected, c.join(",")),
            },
            if DEFLATE_IMPLEMENTED {
                ""
            } else {
                "; UNIMPLEMENTED is tolerated in sections 12 and 13 (permessage-deflate) until `DEFLATE_IMPLEMENTED` is set"
            },
        ));
        md.push_str("Each case is counted once: under its `behavior`, or under its `behaviorClose` when only the closing handshake went wrong.\n\n");
        let headers = Self::headers();
        for a in &self.agents {
            md.push_str(&format!("## {}\n\n", self.title(a)));
            if !a.present {
                continue;
            }
            md.push_str(&format!("| {} |\n", headers.join(" | ")));
            md.push_str(&format!("|---|{}\n", "--:|".repeat(headers.len() - 1)));
            for r in Self::rows(a) {
                md.push_str(&format!("| {} |\n", r.join(" | ")));
            }
            md.push('\n');
        }
        if !pass {
            md.push_str("## Problems\n\n");
            for p in client_errors.iter().chain(&failures) {
                md.push_str(&format!("- {p}\n"));
            }
            md.push('\n');
        }
        md
    }
}

/// Sort key for case ids like "9.10.2": numerically per component.
fn case_key(id: &str) -> Vec<u32> {
    id.split('.')
        .map(|p| p.parse().unwrap_or(u32::MAX))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(id: &str, b: &str, c: &str) -> Case {
        Case {
            id: id.into(),
            behavior: b.into(),
            behavior_close: c.into(),
        }
    }

    #[test]
    fn judging() {
        assert_eq!(case("1.1.1", "OK", "OK").problem(), None);
        assert_eq!(
            case("6.4.1", "NON-STRICT", "OK").problem().as_deref(),
            Some("6.4.1: behavior NON-STRICT, behaviorClose OK")
        );
        assert_eq!(
            case("7.1.6", "INFORMATIONAL", "INFORMATIONAL").problem(),
            None
        );
        assert!(case("7.9.1", "OK", "WRONG CODE").problem().is_some());
        assert!(case("5.1", "OK", "UNCLEAN").problem().is_some());
        assert!(
            case("1.1.1", "UNIMPLEMENTED", "UNIMPLEMENTED")
                .problem()
                .is_some()
        );
        assert_eq!(
            case("12.1.1", "UNIMPLEMENTED", "UNIMPLEMENTED")
                .problem()
                .is_none(),
            !DEFLATE_IMPLEMENTED
        );
        assert_eq!(
            case("13.7.18", "UNIMPLEMENTED", "OK").problem().is_none(),
            !DEFLATE_IMPLEMENTED
        );
        assert_eq!(case("7.9.1", "OK", "WRONG CODE").label(), "WRONG CODE");
        assert_eq!(case("6.4.1", "NON-STRICT", "UNCLEAN").label(), "NON-STRICT");
    }

    #[test]
    fn report_counts_missing_agents_and_cases() {
        let index: Value = serde_json::json!({
            "a": {"1.1.1": {"behavior": "OK", "behaviorClose": "OK"},
                  "12.1.1": {"behavior": "UNIMPLEMENTED", "behaviorClose": "UNIMPLEMENTED"}},
        });
        let r = Report::from_index(&index, &["a".into(), "b".into()], 3).unwrap();
        let f = r.failures();
        assert!(
            f.iter()
                .any(|p| p.contains("agent a: report holds 2 cases, expected 3")),
            "{f:?}"
        );
        assert!(f.iter().any(|p| p.contains("agent b is missing")), "{f:?}");
        let md = r.markdown(&[], None, false);
        assert!(
            md.contains("| 12 Compression: payloads | 0 | 0 | 0 | 0 | 1 | 0 | 0 | 0 | 1 |"),
            "{md}"
        );
        assert!(
            md.contains("| total | 1 | 0 | 0 | 0 | 1 | 0 | 0 | 0 | 2 |"),
            "{md}"
        );
    }

    #[test]
    fn frames() {
        assert_eq!(
            parse_frame(&[0x81, 0x03, b'5', b'1', b'7']),
            Some((1, b"517".to_vec(), 5))
        );
        assert_eq!(parse_frame(&[0x81, 0x03, b'5']), None);
        assert_eq!(
            parse_frame(&[0x88, 0x02, 0x03, 0xE8, 0xFF]),
            Some((8, vec![0x03, 0xE8], 4))
        );
    }

    #[test]
    fn case_ids_sort_numerically() {
        let mut ids = vec!["10.1.1", "9.10.1", "9.2.1", "1.1.10", "1.1.2"];
        ids.sort_by_key(|id| case_key(id));
        assert_eq!(ids, ["1.1.2", "1.1.10", "9.2.1", "9.10.1", "10.1.1"]);
    }
}
