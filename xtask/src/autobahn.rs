//! `cargo xtask autobahn`: Autobahn|Testsuite against both our roles over both HTTP
//! versions, every agent on all cases, judged strictly.
//!
//! 1. makes sure the testsuite is installed natively ([`crate::install`]);
//! 2. builds the examples the chosen sides need in one `cargo build --release`
//!    (`autobahn_client`, `autobahn_server`, the bridge `autobahn_h2_bridge`);
//! 3. runs the **lanes** of the chosen sides, [`PARALLEL_LANES`] at a time (each lane has
//!    its own ports, processes, logs and report folder, so lanes never share a wstest):
//!    - **client side**, a lane per row of [`AGENTS`]: a `wstest -m fuzzingserver` of its
//!      own on the agent's port (cwd `autobahn/`, a copy of `fuzzingserver.json` with that
//!      port and the report folder `reports/clients/AGENT/`), and our client against it
//!      (over HTTP/2 through the bridge `autobahn_h2_bridge` on [`BRIDGE_PORT`]);
//!    - **server side**, a lane per row of [`SERVER_AGENTS`]: our echo server
//!      (`autobahn_server`; over HTTP/2 behind the reverse bridge `autobahn_h2_bridge
//!      --reverse`, which turns the fuzzingclient's HTTP/1.1 upgrade into an extended
//!      CONNECT and then only copies bytes) and `wstest -m fuzzingclient` against it, into
//!      `reports/servers/` (HTTP/1.1 on tokio), `reports/servers-http2/`,
//!      `reports/servers-smol/` or `reports/servers-async-std/` (HTTP/1.1 on those runtimes),
//!      `reports/servers-http2-smol/` or `reports/servers-http2-async-std/`;
//!
//!    the HTTP/2 lanes on smol and async-std run sections 1–10 only (their [`Subset`]:
//!    [`WITHOUT_COMPRESSION`], which says why); every other lane runs all cases;
//!
//!    every process a lane starts is killed again whatever happens (logs in
//!    `autobahn/reports/`, named after the lane's agent);
//! 4. per lane, reads `index.json`, prints a per-section table, writes it to `summary.md`
//!    next to it, and fails unless every case passed (see [`Case::problem`]); then prints
//!    one line per lane (result, time). The run fails if any lane fails; a failing lane
//!    does not stop the others.
//!
//! `--side client|server|both` (default both) picks the sides; `--cases` applies to each.

use std::collections::{BTreeMap, VecDeque};
use std::fs;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::install::{self, Testsuite};
use crate::util::{self, ChildGuard, Context, Result, bail, step};

/// Whether wintergreen negotiates permessage-deflate (RFC 7692) in the Autobahn client and
/// echo server yet. While `false`, sections 12 and 13 (the compression cases) may come back
/// UNIMPLEMENTED (the client did not offer the extension, or the server did not accept the
/// fuzzingclient's offer) without failing the run. Flip it to `true` when deflate lands on
/// both sides: from then on those sections are judged like every other one.
const DEFLATE_IMPLEMENTED: bool = true;

/// How many cases Autobahn|Testsuite 25.10.1 runs for `"cases": ["*"]`. The full run fails
/// if the testsuite offers, or the report holds, any other number, so that a case excluded in
/// the config (or skipped by a client) cannot slip through.
const EXPECTED_CASE_COUNT: usize = 517;

/// How many lanes run at once. A lane is mostly wstest's own Python computing (in 12.1.*,
/// 28 s of wstest CPU in 35 s of wall time, our server 3 s), with some waiting on timers
/// and the peer, so on two cores more lanes than cores still gain a little: a full lane alone
/// took 10m55s, three at once 13–14.5 min each, four at once 16–18 min each (one lane per
/// 4.3 min). Four: the eight full lanes in two waves, then the four short ones.
const PARALLEL_LANES: usize = 4;

/// The cases of a lane that does not run all of them, how many that is, and why.
#[derive(Debug)]
struct Subset {
    /// Case patterns for the config's `"cases"` (as `--cases` takes them).
    cases: &'static [&'static str],
    /// How many cases Autobahn|Testsuite 25.10.1 runs for them: a lane that is offered any
    /// other number fails, as a full lane does ([`EXPECTED_CASE_COUNT`]).
    count: usize,
    /// Why the other cases are left out, for the lane's summary.
    why: &'static str,
}

/// Sections 1–10: every case but permessage-deflate's (sections 12 and 13), for the HTTP/2
/// lanes on smol and async-std.
const WITHOUT_COMPRESSION: Subset = Subset {
    cases: &[
        "1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "9.*", "10.*",
    ],
    count: 301,
    why: "sections 12 and 13 (permessage-deflate) are 98 % of a full lane's time, nearly all of \
          it wstest's own Python (in 12.1.*: 28 s of wstest CPU against 3 s of our server's), \
          and the code they test runs above the byte stream, the same on every runtime: \
          HTTP/2 on tokio and HTTP/1.1 on this runtime run them in full",
};

/// One client run, against a fuzzingserver of its own.
#[derive(Debug, Clone, Copy)]
struct Agent {
    /// The agent name in the report (`--agent`), also the report's folder name.
    name: &'static str,
    /// Extra arguments for `autobahn_client` after `--url URL --agent NAME`.
    args: &'static [&'static str],
    /// Run through an HTTP/2 → HTTP/1.1 bridge listening on this port instead of straight
    /// at the fuzzingserver: Autobahn speaks only HTTP/1.1.
    bridge_port: Option<u16>,
    /// This agent's fuzzingserver.
    port: u16,
    /// The cases this lane runs when not all (and `--cases` is not given).
    subset: Option<&'static Subset>,
}

/// The client runs that `cargo xtask autobahn` judges, on all cases unless a row names its
/// [`Subset`]. Add a row per transport/runtime, with ports of its own.
const AGENTS: &[Agent] = &[
    Agent {
        name: "wintergreen",
        args: &[],
        bridge_port: None,
        port: 9001,
        subset: None,
    },
    Agent {
        name: "wintergreen-http2",
        args: &["--http2"],
        bridge_port: Some(BRIDGE_PORT),
        port: 9011,
        subset: None,
    },
    Agent {
        name: "wintergreen-smol",
        args: &["--runtime", "smol"],
        bridge_port: None,
        port: 9021,
        subset: None,
    },
    Agent {
        name: "wintergreen-async-std",
        args: &["--runtime", "async-std"],
        bridge_port: None,
        port: 9031,
        subset: None,
    },
    Agent {
        name: "wintergreen-http2-smol",
        args: &["--http2", "--runtime", "smol"],
        bridge_port: Some(9042),
        port: 9041,
        subset: Some(&WITHOUT_COMPRESSION),
    },
    Agent {
        name: "wintergreen-http2-async-std",
        args: &["--http2", "--runtime", "async-std"],
        bridge_port: Some(9052),
        port: 9051,
        subset: Some(&WITHOUT_COMPRESSION),
    },
];

/// One server run: the fuzzingclient against our echo server, straight or through the
/// reverse bridge.
#[derive(Debug, Clone, Copy)]
struct ServerAgent {
    /// The agent name in the report: `fuzzingclient.json`'s agent, plus this suffix.
    suffix: &'static str,
    /// Extra arguments for `autobahn_server` after `--listen ADDR`.
    args: &'static [&'static str],
    /// Our echo server listens here.
    echo_port: u16,
    /// The reverse bridge (HTTP/1.1 → h2c) listens here, relaying to `echo_port`; the
    /// fuzzingclient connects to it instead.
    bridge_port: Option<u16>,
    /// The report folder, relative to `autobahn/`.
    report_dir: &'static str,
    /// The cases this lane runs when not all (and `--cases` is not given).
    subset: Option<&'static Subset>,
}

impl ServerAgent {
    /// Where the fuzzingclient connects.
    fn port(&self) -> u16 {
        self.bridge_port.unwrap_or(self.echo_port)
    }
}

/// The server runs that `cargo xtask autobahn` judges, on all cases unless a row names its
/// [`Subset`]. The first is `fuzzingclient.json` as committed; the others are copies of it
/// pointed elsewhere.
const SERVER_AGENTS: &[ServerAgent] = &[
    ServerAgent {
        suffix: "",
        args: &[],
        echo_port: ECHO_PORT,
        bridge_port: None,
        report_dir: SERVER_REPORT_DIR,
        subset: None,
    },
    ServerAgent {
        suffix: "-http2",
        args: &["--http2"],
        echo_port: 9005,
        bridge_port: Some(9004),
        report_dir: "reports/servers-http2",
        subset: None,
    },
    ServerAgent {
        suffix: "-smol",
        args: &["--runtime", "smol"],
        echo_port: 9022,
        bridge_port: None,
        report_dir: "reports/servers-smol",
        subset: None,
    },
    ServerAgent {
        suffix: "-async-std",
        args: &["--runtime", "async-std"],
        echo_port: 9032,
        bridge_port: None,
        report_dir: "reports/servers-async-std",
        subset: None,
    },
    ServerAgent {
        suffix: "-http2-smol",
        args: &["--http2", "--runtime", "smol"],
        echo_port: 9043,
        bridge_port: Some(9044),
        report_dir: "reports/servers-http2-smol",
        subset: Some(&WITHOUT_COMPRESSION),
    },
    ServerAgent {
        suffix: "-http2-async-std",
        args: &["--http2", "--runtime", "async-std"],
        echo_port: 9053,
        bridge_port: Some(9054),
        report_dir: "reports/servers-http2-async-std",
        subset: Some(&WITHOUT_COMPRESSION),
    },
];

/// The agent name Autobahn's own testee client reports under (`--testee`).
const TESTEE_AGENT: &str = "autobahn-testee";

const HOST: Ipv4Addr = Ipv4Addr::LOCALHOST;
/// The committed fuzzingserver config's port (`--testee` uses it).
const PORT: u16 = 9001;
/// Relative to `autobahn/`, as in `fuzzingserver.json` (which must agree); each agent's
/// report goes to a folder of its own below it.
const REPORT_DIR: &str = "reports/clients";

/// Our echo server over HTTP/1.1: the only address `fuzzingclient.json` may name; the
/// xtask refuses a config whose servers point anywhere else.
const ECHO_PORT: u16 = 9002;
const ECHO_URL: &str = "ws://127.0.0.1:9002";
/// Relative to `autobahn/`, as in `fuzzingclient.json` (which must agree).
const SERVER_REPORT_DIR: &str = "reports/servers";

const CLIENT_EXAMPLE: &str = "autobahn_client";
/// The bridges between HTTP/2 and HTTP/1.1, bytes untouched (crates/http2/examples): h2c
/// → the fuzzingserver for our client, and (`--reverse`) the fuzzingclient → h2c for
/// our server.
const BRIDGE_EXAMPLE: &str = "autobahn_h2_bridge";
const BRIDGE_PORT: u16 = 9003;
const SERVER_EXAMPLE: &str = "autobahn_server";

const BUILD_TIMEOUT: Duration = Duration::from_secs(30 * 60);
const SERVER_START_TIMEOUT: Duration = Duration::from_secs(60);
/// For one client agent's run (all cases take several minutes alone; lanes share the CPU, and a
/// loaded machine stretches them further).
const CLIENT_RUN_TIMEOUT: Duration = Duration::from_secs(45 * 60);
/// Writing the HTML/JSON reports for every case of an agent.
const REPORT_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// For one fuzzingclient run against our server, report writing included.
const FUZZINGCLIENT_TIMEOUT: Duration = Duration::from_secs(45 * 60);
/// How often progress is shown while the fuzzingclient runs.
const PROGRESS_EVERY: Duration = Duration::from_secs(60);

/// Runs `wstest` with its WebSocket listener bound to 127.0.0.1 only: wstest itself always
/// listens on all interfaces (autobahn's `listenWS(..., interface='')`), whatever the URL in
/// the config says. Arguments after `-c CODE` are wstest's own. (The fuzzingclient listens
/// on nothing; it only connects to the servers in its config.)
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

/// Which of our roles to test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// The fuzzingserver against our client.
    Client,
    /// The fuzzingclient against our echo server.
    Server,
    Both,
}

impl Side {
    fn client(self) -> bool {
        matches!(self, Side::Client | Side::Both)
    }

    fn server(self) -> bool {
        matches!(self, Side::Server | Side::Both)
    }
}

#[derive(Debug, Default)]
struct Options {
    /// `--cases 1.*,2.*`: run a subset (a temporary config) instead of the full suite.
    cases: Option<Vec<String>>,
    /// `--testee`: Autobahn's own testee client instead of ours, to test this pipeline.
    testee: bool,
    /// `--server-debug`: wstest's debug log (every handshake and frame) in the
    /// fuzzingservers' logs.
    server_debug: bool,
    /// `--side`: as given; see [`Options::side`] for the default.
    side: Option<Side>,
    /// `--agent A,B`: only the lanes of these agents (of the chosen sides).
    agents: Option<Vec<String>>,
}

impl Options {
    /// Both sides, unless `--side` says otherwise; `--testee` alone means the client side
    /// (it tests the client pipeline; there is no testee for the server side).
    fn side(&self) -> Side {
        self.side.unwrap_or(if self.testee {
            Side::Client
        } else {
            Side::Both
        })
    }

    /// The flags as typed, for the summaries (`cargo xtask autobahn` + this).
    fn shown(&self) -> String {
        let mut s = String::new();
        match self.side {
            Some(Side::Client) => s.push_str(" --side client"),
            Some(Side::Server) => s.push_str(" --side server"),
            Some(Side::Both) => s.push_str(" --side both"),
            None => {}
        }
        if let Some(cases) = &self.cases {
            s.push_str(&format!(" --cases {}", cases.join(",")));
        }
        if self.testee {
            s.push_str(" --testee");
        }
        if self.server_debug {
            s.push_str(" --server-debug");
        }
        if let Some(agents) = &self.agents {
            s.push_str(&format!(" --agent {}", agents.join(",")));
        }
        s
    }
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
            "--side" => {
                let Some(side) = inline.or_else(|| it.next().cloned()) else {
                    bail!("--side needs one of client, server, both");
                };
                opts.side = Some(match side.as_str() {
                    "client" => Side::Client,
                    "server" => Side::Server,
                    "both" => Side::Both,
                    other => bail!("--side {other}: expected client, server or both"),
                });
            }
            "--testee" if inline.is_none() => opts.testee = true,
            "--server-debug" if inline.is_none() => opts.server_debug = true,
            "--agent" => {
                let Some(list) = inline.or_else(|| it.next().cloned()) else {
                    bail!("--agent needs a list of agent names, e.g. `--agent wintergreen-smol`");
                };
                opts.agents = Some(list.split(',').map(|a| a.trim().to_owned()).collect());
            }
            _ => bail!("unknown autobahn option `{arg}` (see `cargo xtask help`)"),
        }
    }
    if opts.testee && opts.side == Some(Side::Server) {
        bail!(
            "--testee replaces our client (the client side); it means nothing with --side server"
        );
    }
    Ok(opts)
}

/// One unit of work that runs on its own: its own ports, processes, logs and report.
#[derive(Debug, Clone, Copy)]
enum Lane {
    /// Our client (one row of [`AGENTS`]) against a fuzzingserver of its own.
    Client(&'static Agent),
    /// Autobahn's testee client against the fuzzingserver (`--testee`).
    Testee,
    /// The fuzzingclient against our echo server (one row of [`SERVER_AGENTS`]).
    Server(&'static ServerAgent),
}

impl Lane {
    /// The agent name in the lane's report.
    fn agent(&self) -> String {
        match self {
            Lane::Client(a) => a.name.to_owned(),
            Lane::Testee => TESTEE_AGENT.to_owned(),
            Lane::Server(s) => format!("wintergreen{}", s.suffix),
        }
    }

    /// The lane's own subset of cases, if it does not run them all.
    fn subset(&self) -> Option<&'static Subset> {
        match self {
            Lane::Client(a) => a.subset,
            Lane::Testee => None,
            Lane::Server(s) => s.subset,
        }
    }

    fn name(&self) -> String {
        match self {
            Lane::Client(a) => format!("client {}", a.name),
            Lane::Testee => format!("client {TESTEE_AGENT}"),
            Lane::Server(s) => format!("server wintergreen{}", s.suffix),
        }
    }
}

/// The executables a run needs, built once.
#[derive(Debug, Default)]
struct Exes {
    client: Option<PathBuf>,
    server: Option<PathBuf>,
    bridge: Option<PathBuf>,
}

impl Exes {
    fn get<'a>(exe: &'a Option<PathBuf>, name: &str) -> Result<&'a Path> {
        exe.as_deref()
            .ok_or_else(|| util::Error(format!("cargo built no `{name}` executable")))
    }
}

/// What every lane shares (read-only).
struct Ctx<'a> {
    opts: &'a Options,
    testsuite: &'a Testsuite,
    root: &'a Path,
    /// `autobahn/`.
    dir: &'a Path,
    exes: &'a Exes,
}

pub fn run(args: &[String]) -> Result<()> {
    let opts = parse_args(args)?;
    let side = opts.side();
    let started = Instant::now();
    let root = util::project_root();
    let dir = root.join("autobahn");

    let mut lanes = Vec::new();
    if side.client() {
        if opts.testee {
            lanes.push(Lane::Testee);
        } else {
            lanes.extend(AGENTS.iter().map(Lane::Client));
        }
    }
    if side.server() {
        lanes.extend(SERVER_AGENTS.iter().map(Lane::Server));
    }
    // The short lanes (a subset of the cases) last, so that the long ones start first.
    lanes.sort_by_key(|lane| lane.subset().is_some());
    if let Some(agents) = &opts.agents {
        lanes.retain(|lane| agents.iter().any(|a| *a == lane.agent()));
        if lanes.is_empty() {
            bail!(
                "--agent {}: no such agent on the chosen side(s)",
                agents.join(",")
            );
        }
    }
    for lane in &lanes {
        for port in lane_ports(lane) {
            ensure_port_free(port, "a leftover wstest, autobahn_server or bridge?")?;
        }
    }

    let testsuite = install::ensure()?;
    let reports = dir.join("reports");
    fs::create_dir_all(&reports).context(|| format!("creating {}", reports.display()))?;

    // One build for every example this run needs.
    let mut examples = Vec::new();
    if side.client() && !opts.testee {
        examples.push(CLIENT_EXAMPLE);
    }
    if side.server() {
        examples.push(SERVER_EXAMPLE);
    }
    if !opts.testee || side.server() {
        examples.push(BRIDGE_EXAMPLE);
    }
    let built = build_examples(&root, &examples)?;
    let exes = Exes {
        client: built.get(CLIENT_EXAMPLE).cloned(),
        server: built.get(SERVER_EXAMPLE).cloned(),
        bridge: built.get(BRIDGE_EXAMPLE).cloned(),
    };
    let ctx = Ctx {
        opts: &opts,
        testsuite: &testsuite,
        root: &root,
        dir: &dir,
        exes: &exes,
    };

    // The lanes, PARALLEL_LANES at a time, in the order listed.
    step!(
        "running {} lane(s), {} at a time: {}",
        lanes.len(),
        PARALLEL_LANES,
        lanes.iter().map(Lane::name).collect::<Vec<_>>().join(", ")
    );
    let queue = Mutex::new(lanes.iter().copied().collect::<VecDeque<_>>());
    let results: Mutex<Vec<(String, Result<String>, Duration)>> = Mutex::new(Vec::new());
    thread::scope(|scope| {
        for _ in 0..PARALLEL_LANES.min(lanes.len()) {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().ok().and_then(|mut q| q.pop_front());
                    let Some(lane) = next else { break };
                    let t = Instant::now();
                    let outcome = run_lane(&ctx, lane);
                    let took = t.elapsed();
                    match &outcome {
                        Ok(result) => step!(
                            "{}: PASS ({result}) in {}",
                            lane.name(),
                            util::fmt_duration(took)
                        ),
                        Err(e) => step!(
                            "{}: FAILED after {}: {e}",
                            lane.name(),
                            util::fmt_duration(took)
                        ),
                    }
                    if let Ok(mut r) = results.lock() {
                        r.push((lane.name(), outcome, took));
                    }
                }
            });
        }
    });
    let results = results.into_inner().unwrap_or_default();

    eprintln!();
    step!("autobahn summary:");
    for lane in &lanes {
        match results.iter().find(|r| r.0 == lane.name()) {
            Some((name, Ok(result), took)) => {
                step!(
                    "  {name:<30} PASS  {result:<32} {}",
                    util::fmt_duration(*took)
                );
            }
            Some((name, Err(_), took)) => {
                step!(
                    "  {name:<30} FAIL  {:<32} {}",
                    "(see above)",
                    util::fmt_duration(*took)
                );
            }
            None => step!("  {:<30} not run", lane.name()),
        }
    }
    let failed: Vec<&str> = results
        .iter()
        .filter(|r| r.1.is_err())
        .map(|r| r.0.as_str())
        .collect();
    if failed.is_empty() && results.len() == lanes.len() {
        step!(
            "autobahn: PASS ({} lanes) in {}",
            lanes.len(),
            util::fmt_duration(started.elapsed())
        );
        Ok(())
    } else {
        bail!(
            "autobahn: {} FAILED (after {}); see above",
            failed.join(", "),
            util::fmt_duration(started.elapsed())
        )
    }
}

/// Removes a lane's report of an earlier run (only its own folder: other lanes may be
/// writing theirs).
fn remove_old_report(report_dir: &Path) -> Result<()> {
    if report_dir.exists() {
        fs::remove_dir_all(report_dir)
            .context(|| format!("removing the old report {}", report_dir.display()))?;
    }
    Ok(())
}

/// The TCP ports a lane listens on.
fn lane_ports(lane: &Lane) -> Vec<u16> {
    match lane {
        Lane::Client(a) => [Some(a.port), a.bridge_port]
            .into_iter()
            .flatten()
            .collect(),
        Lane::Testee => vec![PORT],
        Lane::Server(s) => [Some(s.echo_port), s.bridge_port]
            .into_iter()
            .flatten()
            .collect(),
    }
}

/// Runs one lane; `Ok` holds its result in words ("514 OK + 3 INFORMATIONAL").
fn run_lane(ctx: &Ctx<'_>, lane: Lane) -> Result<String> {
    match lane {
        Lane::Client(agent) => {
            let client = Exes::get(&ctx.exes.client, CLIENT_EXAMPLE)?;
            let bridge = if agent.bridge_port.is_some() {
                Some(Exes::get(&ctx.exes.bridge, BRIDGE_EXAMPLE)?)
            } else {
                None
            };
            run_client(
                ctx,
                ClientRun::Ours {
                    agent,
                    client,
                    bridge,
                },
            )
        }
        Lane::Testee => run_client(ctx, ClientRun::Testee),
        Lane::Server(server) => {
            let exe = Exes::get(&ctx.exes.server, SERVER_EXAMPLE)?;
            let bridge = if server.bridge_port.is_some() {
                Some(Exes::get(&ctx.exes.bridge, BRIDGE_EXAMPLE)?)
            } else {
                None
            };
            run_server(ctx, server, exe, bridge)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Client side: the fuzzingserver against our client

/// Which client a client lane runs.
enum ClientRun<'a> {
    Ours {
        agent: &'static Agent,
        client: &'a Path,
        /// The HTTP/2 bridge, for an agent that runs through it.
        bridge: Option<&'a Path>,
    },
    /// Autobahn's testee client (`--testee`).
    Testee,
}

/// The cases a lane runs: `--cases` when given, else the lane's [`Subset`], else all
/// (`None`: the committed config's).
fn lane_cases(opts: &Options, subset: Option<&Subset>) -> Option<Vec<String>> {
    opts.cases
        .clone()
        .or_else(|| subset.map(|s| s.cases.iter().map(|c| (*c).to_owned()).collect()))
}

/// How many cases a lane must be offered when `--cases` is not given: all, or its
/// [`Subset`]'s count. Any other number means cases were excluded somewhere.
fn required_count(subset: Option<&Subset>) -> usize {
    subset.map_or(EXPECTED_CASE_COUNT, |s| s.count)
}

/// What a lane runs, in words, for error messages: "all 517" or "the 301 of 1.*,2.*,…".
fn required_in_words(subset: Option<&Subset>) -> String {
    match subset {
        None => format!("all {EXPECTED_CASE_COUNT}"),
        Some(s) => format!("the {} of {}", s.count, s.cases.join(",")),
    }
}

/// A fuzzingserver of its own against one client.
fn run_client(ctx: &Ctx<'_>, which: ClientRun<'_>) -> Result<String> {
    let started = Instant::now();
    let (agent, port, subset, bridge_port) = match &which {
        ClientRun::Ours { agent, .. } => (agent.name, agent.port, agent.subset, agent.bridge_port),
        ClientRun::Testee => (TESTEE_AGENT, PORT, None, None),
    };
    let cases = lane_cases(ctx.opts, subset);
    let dir = ctx.dir;
    let reports = dir.join("reports");
    let url = format!("ws://127.0.0.1:{port}");
    let report_rel = format!("{REPORT_DIR}/{agent}");

    // The committed config, with this lane's port and report folder (and the subset).
    let config = lane_config(
        dir,
        "fuzzingserver.json",
        &format!("fuzzingserver-{agent}"),
        cases.as_deref(),
        |c| {
            c.insert("url".into(), Value::from(url.clone()));
            c.insert("outdir".into(), Value::from(format!("./{report_rel}")));
        },
    )?;
    let report_dir = dir.join(&report_rel);
    remove_old_report(&report_dir)?;

    let mut command;
    let shown;
    match &which {
        ClientRun::Ours { client, .. } => {
            let target = match (&which, bridge_port) {
                (
                    ClientRun::Ours {
                        bridge: Some(_), ..
                    },
                    Some(bridge_port),
                ) => format!("ws://127.0.0.1:{bridge_port}"),
                _ => url.clone(),
            };
            command = Command::new(client);
            command
                .args(["--url", &target, "--agent", agent])
                .args(match &which {
                    ClientRun::Ours { agent, .. } => agent.args,
                    ClientRun::Testee => &[],
                })
                .current_dir(ctx.root);
            shown = util::display(&command);
        }
        ClientRun::Testee => {
            command = wstest(ctx.testsuite);
            command
                .args(["-m", "testeeclient", "-w", &url, "-i", TESTEE_AGENT])
                .current_dir(dir);
            shown = format!("wstest -m testeeclient -w {url} -i {TESTEE_AGENT}");
        }
    }
    let client_log = reports.join(format!("client-{agent}.log"));
    let log =
        fs::File::create(&client_log).context(|| format!("creating {}", client_log.display()))?;
    let log2 = log
        .try_clone()
        .context(|| "duplicating the log file handle")?;
    command.stdin(Stdio::null()).stdout(log).stderr(log2);

    // --- the fuzzingserver (and bridge), killed by the guards on every way out ---
    let log_path = reports.join(format!("fuzzingserver-{agent}.log"));
    let mut server = start_server(
        ctx.testsuite,
        dir,
        &config,
        port,
        &log_path,
        ctx.opts.server_debug,
    )?;
    let _bridge = match (&which, bridge_port) {
        (
            ClientRun::Ours {
                bridge: Some(exe), ..
            },
            Some(bridge_port),
        ) => Some(start_bridge(
            exe,
            &[
                "--listen",
                &format!("127.0.0.1:{bridge_port}"),
                "--upstream",
                &format!("127.0.0.1:{port}"),
            ],
            bridge_port,
            &reports.join(format!("bridge-{agent}.log")),
        )?),
        _ => None,
    };

    let offered = ws_text(
        port,
        &format!("/getCaseCount?agent={agent}"),
        Duration::from_secs(30),
    )
    .and_then(|t| t.ok_or_else(|| util::Error("no message".into())))
    .and_then(|t| {
        t.trim()
            .parse::<usize>()
            .context(|| format!("case count `{t}`"))
    })
    .map_err(|e| util::Error(format!("asking the fuzzingserver for /getCaseCount: {e}")))?;
    let expected = match &ctx.opts.cases {
        None if offered != required_count(subset) => bail!(
            "the fuzzingserver offers {offered} cases, expected {}: does autobahn/fuzzingserver.json exclude cases? (a full run must run every case)",
            required_in_words(subset)
        ),
        None => offered,
        Some(_) if offered == 0 => bail!(
            "no case matches --cases {}",
            ctx.opts.cases.as_deref().unwrap_or_default().join(",")
        ),
        Some(_) => offered,
    };

    step!(
        "client {agent}: running {expected} cases (log: {})",
        client_log.display()
    );
    let mut client_errors = Vec::new();
    let t = Instant::now();
    match util::run_shown(&mut command, &shown, CLIENT_RUN_TIMEOUT) {
        Ok(()) => step!(
            "client {agent}: finished in {}",
            util::fmt_duration(t.elapsed())
        ),
        Err(e) => {
            print_log_tail(&client_log);
            client_errors.push(format!("agent {agent}: {e}"));
        }
    }

    // Have the server (re)write the reports, whether or not the client got as far as
    // asking: partial results are still worth a table.
    if server_alive(&mut server) {
        if let Err(e) = ws_text(
            port,
            &format!("/updateReports?agent={agent}"),
            REPORT_TIMEOUT,
        ) {
            step!("client {agent}: warning: /updateReports failed: {e}");
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

    judge(
        Side::Client,
        &Scope::new(ctx.opts, cases.as_deref(), subset),
        &report_dir,
        agent,
        expected,
        &client_errors,
        started,
    )
}

/// Writes `autobahn/{base}` changed by `edit` (and with `"cases"` replaced by `cases`) to
/// `reports/{name}.json` and returns that path relative to `autobahn/`.
fn lane_config(
    dir: &Path,
    base: &str,
    name: &str,
    cases: Option<&[String]>,
    edit: impl FnOnce(&mut serde_json::Map<String, Value>),
) -> Result<String> {
    let base_path = dir.join(base);
    let text =
        fs::read_to_string(&base_path).context(|| format!("reading {}", base_path.display()))?;
    let mut config: Value =
        serde_json::from_str(&text).context(|| format!("parsing {}", base_path.display()))?;
    let Some(obj) = config.as_object_mut() else {
        bail!("{} is not a JSON object", base_path.display());
    };
    edit(obj);
    if let Some(cases) = cases {
        obj.insert("cases".into(), Value::from(cases.to_vec()));
    }
    let rel = format!("reports/{name}.json");
    let path = dir.join(&rel);
    let pretty = serde_json::to_string_pretty(&config).context(|| "serializing the config")?;
    fs::write(&path, pretty + "\n").context(|| format!("writing {}", path.display()))?;
    Ok(rel)
}

/// What a lane was asked to run, for its summary.
struct Scope<'a> {
    /// What followed `cargo xtask autobahn`.
    invocation: String,
    /// The lane's cases (`None`: all).
    cases: Option<&'a [String]>,
    /// Why the lane runs a subset, when it is the lane's own rather than `--cases`.
    why_subset: Option<&'static str>,
}

impl<'a> Scope<'a> {
    fn new(opts: &Options, cases: Option<&'a [String]>, subset: Option<&'static Subset>) -> Self {
        Scope {
            invocation: opts.shown(),
            cases,
            why_subset: subset.filter(|_| opts.cases.is_none()).map(|s| s.why),
        }
    }
}

/// Reads `report_dir/index.json`, prints the table, writes `summary.md`, and fails unless
/// `agent` has every case and every case passed, and there were no `run_errors`. `Ok`
/// holds the result in words.
fn judge(
    side: Side,
    scope: &Scope<'_>,
    report_dir: &Path,
    agent: &str,
    expected: usize,
    run_errors: &[String],
    started: Instant,
) -> Result<String> {
    let side_name = if side == Side::Server {
        "server"
    } else {
        "client"
    };
    let index_path = report_dir.join("index.json");
    let index = fs::read_to_string(&index_path).context(|| {
        format!(
            "reading {} (did any case finish?){}",
            index_path.display(),
            if run_errors.is_empty() {
                String::new()
            } else {
                format!("; {}", run_errors.join("; "))
            }
        )
    })?;
    let index: Value =
        serde_json::from_str(&index).context(|| format!("parsing {}", index_path.display()))?;
    let report = Report::from_index(&index, &[agent.to_owned()], expected)?;

    let summary_path = report_dir.join("summary.md");
    fs::write(&summary_path, report.markdown(side, run_errors, scope))
        .context(|| format!("writing {}", summary_path.display()))?;
    let failures = report.failures();
    {
        // One block per lane, not interleaved with another lane's.
        static PRINT: Mutex<()> = Mutex::new(());
        let _one_at_a_time = PRINT.lock();
        println!();
        println!("{side_name} side:");
        print!("{}", report.text_tables());
        step!(
            "report: {} (summary: {})",
            report_dir.join("index.html").display(),
            summary_path.display()
        );
        for problem in &failures {
            println!("FAIL {problem}");
        }
        for e in run_errors {
            println!("FAIL {e}");
        }
    }
    if failures.is_empty() && run_errors.is_empty() {
        step!(
            "autobahn {side_name} {agent}: PASS ({expected} cases{}) in {}",
            if DEFLATE_IMPLEMENTED {
                ""
            } else {
                "; UNIMPLEMENTED tolerated in 12.* and 13.* until DEFLATE_IMPLEMENTED"
            },
            util::fmt_duration(started.elapsed())
        );
        Ok(report.in_words())
    } else {
        bail!(
            "{} problem(s) (cases not OK/INFORMATIONAL, missing cases, {} errors); see above and {}",
            failures.len() + run_errors.len(),
            if side == Side::Server {
                "run"
            } else {
                "client"
            },
            summary_path.display()
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Server side: the fuzzingclient against our echo server

/// The fuzzingclient against our echo server `server_exe` (behind the reverse bridge when
/// the lane has one).
fn run_server(
    ctx: &Ctx<'_>,
    lane: &ServerAgent,
    server_exe: &Path,
    bridge_exe: Option<&Path>,
) -> Result<String> {
    let started = Instant::now();
    let dir = ctx.dir;
    let reports = dir.join("reports");
    let cases = lane_cases(ctx.opts, lane.subset);
    let (config, agent) =
        fuzzingclient_config(dir, ctx.opts.cases.is_some(), cases.as_deref(), lane)?;
    let report_dir = dir.join(lane.report_dir);
    remove_old_report(&report_dir)?;

    // --- our server (and the bridge), killed by the guards on every way out ---
    let server_log = reports.join(format!("autobahn_server-{agent}.log"));
    let mut server = start_echo_server(server_exe, lane, &server_log)?;
    let _bridge = match (bridge_exe, lane.bridge_port) {
        (Some(exe), Some(port)) => Some(start_bridge(
            exe,
            &[
                "--reverse",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--upstream",
                &format!("127.0.0.1:{}", lane.echo_port),
            ],
            port,
            &reports.join(format!("bridge-{agent}.log")),
        )?),
        _ => None,
    };

    let client_log = reports.join(format!("fuzzingclient-{agent}.log"));
    let mut run_errors = Vec::new();
    if let Err(e) = run_fuzzingclient(ctx.testsuite, dir, &config, &client_log, &mut server) {
        run_errors.push(e.0);
    }
    let server_died = !server_alive(&mut server);
    server.kill();
    drop(server);
    if server_died {
        run_errors.push(format!(
            "our echo server exited during the run; see {}",
            server_log.display()
        ));
        print_log_tail(&server_log);
    }

    // How many cases the fuzzingclient resolved the config to ("Ok, will run N test cases").
    let offered = fs::read_to_string(&client_log)
        .ok()
        .and_then(|log| planned_case_count(&log));
    let expected = match (&ctx.opts.cases, offered) {
        (None, Some(n)) if n != required_count(lane.subset) => bail!(
            "the fuzzingclient planned {n} cases, expected {}: does autobahn/{config} exclude cases? (a full run must run every case)",
            required_in_words(lane.subset)
        ),
        (None, _) => required_count(lane.subset),
        (Some(cases), Some(0)) => bail!("no case matches --cases {}", cases.join(",")),
        (Some(_), Some(n)) => n,
        (Some(_), None) => {
            print_log_tail(&client_log);
            bail!(
                "the fuzzingclient did not say how many cases it would run; see {}",
                client_log.display()
            )
        }
    };

    judge(
        Side::Server,
        &Scope::new(ctx.opts, cases.as_deref(), lane.subset),
        &report_dir,
        &agent,
        expected,
        &run_errors,
        started,
    )
}

/// Checks `fuzzingclient.json` (report folder, our one server on [`ECHO_URL`], every case
/// unless `--cases` was given: `user_cases`) and returns the config to run and the agent
/// name the report will use. For the first of [`SERVER_AGENTS`] without `--cases` that is
/// the committed file; otherwise a copy in the reports dir, pointed at `lane`'s port and
/// report folder, with `lane`'s suffix on the agent name (and the `cases` subset: `--cases`
/// or the lane's own).
fn fuzzingclient_config(
    dir: &Path,
    user_cases: bool,
    cases: Option<&[String]>,
    lane: &ServerAgent,
) -> Result<(String, String)> {
    const BASE: &str = "fuzzingclient.json";
    let path = dir.join(BASE);
    let text = fs::read_to_string(&path).context(|| format!("reading {}", path.display()))?;
    let config: Value =
        serde_json::from_str(&text).context(|| format!("parsing {}", path.display()))?;
    let outdir = config["outdir"].as_str().unwrap_or_default();
    if outdir.trim_start_matches("./").trim_end_matches('/') != SERVER_REPORT_DIR {
        bail!(
            "autobahn/{BASE}: \"outdir\" is `{outdir}`, expected `./{SERVER_REPORT_DIR}` (where the report is judged)"
        );
    }
    let servers = config["servers"].as_array().map_or(&[][..], Vec::as_slice);
    let [server] = servers else {
        bail!(
            "autobahn/{BASE}: expected exactly one entry in \"servers\" (our echo server on {ECHO_URL}), found {}",
            servers.len()
        );
    };
    let url = server["url"].as_str().unwrap_or_default();
    let Some(path_part) = url
        .strip_prefix(ECHO_URL)
        .filter(|rest| rest.is_empty() || rest.starts_with('/'))
    else {
        bail!(
            "autobahn/{BASE}: the server url is `{url}`; the fuzzingclient may only connect to our echo server on {ECHO_URL}"
        );
    };
    let Some(agent) = server["agent"].as_str().filter(|a| !a.is_empty()) else {
        bail!("autobahn/{BASE}: the server needs an \"agent\" name (the report is keyed by it)");
    };
    if !user_cases {
        let all = config["cases"].as_array().is_some_and(|c| *c == ["*"]);
        let excluded = config["exclude-cases"]
            .as_array()
            .is_some_and(|c| !c.is_empty())
            || config["exclude-agent-cases"]
                .as_object()
                .is_some_and(|c| !c.is_empty());
        if !all || excluded {
            bail!(
                "autobahn/{BASE} must run every case (\"cases\": [\"*\"], no exclusions); use --cases for a subset"
            );
        }
    }
    let agent = format!("{agent}{}", lane.suffix);
    if cases.is_none() && lane.port() == ECHO_PORT && lane.report_dir == SERVER_REPORT_DIR {
        return Ok((BASE.to_owned(), agent));
    }
    let url = format!("ws://127.0.0.1:{}{path_part}", lane.port());
    let config = lane_config(dir, BASE, &format!("fuzzingclient-{agent}"), cases, |c| {
        c.insert(
            "servers".into(),
            serde_json::json!([{"agent": agent, "url": url}]),
        );
        c.insert(
            "outdir".into(),
            Value::from(format!("./{}", lane.report_dir)),
        );
    })?;
    Ok((config, agent))
}

/// The `N` of the fuzzingclient's "Ok, will run N test cases against M servers".
fn planned_case_count(log: &str) -> Option<usize> {
    log.lines().find_map(|l| {
        l.strip_prefix("Ok, will run ")?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    })
}

/// Starts `autobahn_server --listen 127.0.0.1:PORT` with the lane's arguments (output to
/// `log_path`) and waits until it accepts connections.
fn start_echo_server(exe: &Path, lane: &ServerAgent, log_path: &Path) -> Result<ChildGuard> {
    let port = lane.echo_port;
    ensure_port_free(port, "a leftover autobahn_server?")?;
    let log = fs::File::create(log_path).context(|| format!("creating {}", log_path.display()))?;
    let log2 = log
        .try_clone()
        .context(|| "duplicating the log file handle")?;
    let mut cmd = Command::new(exe);
    cmd.args(["--listen", &format!("127.0.0.1:{port}")])
        .args(lane.args)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2);
    step!("$ {} (log: {})", util::display(&cmd), log_path.display());
    let child = cmd
        .spawn()
        .context(|| format!("could not start {}", exe.display()))?;
    let guard = ChildGuard::new(child, SERVER_EXAMPLE);
    wait_listening(guard, port, "our echo server", log_path)
}

/// Starts the bridge with `args` (it listens on `port`) and waits until it accepts
/// connections.
fn start_bridge(exe: &Path, args: &[&str], port: u16, log_path: &Path) -> Result<ChildGuard> {
    ensure_port_free(port, "a leftover autobahn_h2_bridge?")?;
    let log = fs::File::create(log_path).context(|| format!("creating {}", log_path.display()))?;
    let log2 = log
        .try_clone()
        .context(|| "duplicating the log file handle")?;
    let mut cmd = Command::new(exe);
    cmd.args(args).stdin(Stdio::null()).stdout(log).stderr(log2);
    step!("$ {} (log: {})", util::display(&cmd), log_path.display());
    let child = cmd
        .spawn()
        .context(|| format!("could not start {}", exe.display()))?;
    let guard = ChildGuard::new(child, BRIDGE_EXAMPLE);
    wait_listening(guard, port, "the bridge", log_path)
}

/// Runs `wstest -m fuzzingclient -s CONFIG` in `dir` (output to `log_path`), bounded by
/// [`FUZZINGCLIENT_TIMEOUT`], showing progress now and then.
fn run_fuzzingclient(
    ts: &Testsuite,
    dir: &Path,
    config: &str,
    log_path: &Path,
    server: &mut ChildGuard,
) -> Result<()> {
    let log = fs::File::create(log_path).context(|| format!("creating {}", log_path.display()))?;
    let log2 = log
        .try_clone()
        .context(|| "duplicating the log file handle")?;
    let mut cmd = wstest(ts);
    cmd.args(["-m", "fuzzingclient", "-s", config])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2);
    let shown = format!(
        "(cd {} && wstest -m fuzzingclient -s {config})",
        dir.display()
    );
    step!("$ {shown}");
    step!("fuzzingclient log: {}", log_path.display());
    let child = cmd
        .spawn()
        .context(|| "could not start the fuzzingclient")?;
    let mut client = ChildGuard::new(child, "wstest -m fuzzingclient");
    let t = Instant::now();
    let deadline = t + FUZZINGCLIENT_TIMEOUT;
    loop {
        let slice = PROGRESS_EVERY.min(deadline.saturating_duration_since(Instant::now()));
        match util::wait_timeout(&mut client.child, slice)
            .context(|| "waiting for the fuzzingclient")?
        {
            Some(status) if status.success() => {
                step!(
                    "fuzzingclient finished in {}",
                    util::fmt_duration(t.elapsed())
                );
                return Ok(());
            }
            Some(status) => {
                print_log_tail(log_path);
                bail!(
                    "`wstest -m fuzzingclient` failed ({status}) after {}; see {}",
                    util::fmt_duration(t.elapsed()),
                    log_path.display()
                );
            }
            None if Instant::now() >= deadline => {
                client.kill();
                print_log_tail(log_path);
                bail!(
                    "`wstest -m fuzzingclient` timed out after {}; see {}",
                    util::fmt_duration(FUZZINGCLIENT_TIMEOUT),
                    log_path.display()
                );
            }
            None => {
                let log = fs::read_to_string(log_path).unwrap_or_default();
                let planned =
                    planned_case_count(&log).map_or_else(|| "?".to_owned(), |n| n.to_string());
                let started = log
                    .lines()
                    .filter(|l| l.starts_with("Running test case ID "))
                    .count();
                step!(
                    "fuzzingclient: {started} of {planned} cases started after {}{}",
                    util::fmt_duration(t.elapsed()),
                    if server_alive(server) {
                        ""
                    } else {
                        " (our echo server has EXITED)"
                    }
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Shared plumbing

fn wstest(ts: &Testsuite) -> Command {
    let mut cmd = Command::new(&ts.python);
    cmd.args(["-c", WSTEST_LOOPBACK_SHIM])
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    cmd
}

/// Builds the `examples` of the wintergreen crate in one `cargo build --release` and returns
/// the executable cargo reports for each, by example name.
pub(crate) fn build_examples(root: &Path, examples: &[&str]) -> Result<BTreeMap<String, PathBuf>> {
    let mut built = BTreeMap::new();
    if examples.is_empty() {
        return Ok(built);
    }
    step!("building {} (release)", examples.join(" and "));
    let mut cmd = util::cargo();
    // The client runs over HTTP/2 too (agent wintergreen-http2) and on smol and async-std
    // (`--runtime`), and the bridge lives in wintergreen-http2.
    cmd.args([
        "build",
        "--release",
        "-p",
        "wintergreen",
        "-p",
        "wintergreen-http2",
        "--features",
        "wintergreen/http2,wintergreen/runtime-smol,wintergreen/runtime-async-std",
    ]);
    for example in examples {
        cmd.args(["--example", example]);
    }
    cmd.arg("--message-format=json-render-diagnostics")
        .current_dir(root);
    step!("$ {}", util::display(&cmd));
    let out = util::output(&mut cmd, BUILD_TIMEOUT).map_err(|e| {
        util::Error(format!(
            "building the Autobahn examples failed ({e}); they are crates/wintergreen/examples/{{{}}}.rs",
            examples.join(",")
        ))
    })?;
    for m in out
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact")
    {
        if let (Some(name), Some(exe)) = (m["target"]["name"].as_str(), m["executable"].as_str()) {
            if examples.contains(&name) {
                built.insert(name.to_owned(), PathBuf::from(exe));
            }
        }
    }
    Ok(built)
}

pub(crate) fn ensure_port_free(port: u16, hint: &str) -> Result<()> {
    let addr = SocketAddr::from((HOST, port));
    if TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok() {
        bail!("something already listens on {addr} ({hint}); stop it first");
    }
    Ok(())
}

/// Waits until the process in `guard` accepts TCP connections on `port`, or fails (and kills
/// it) when it exits or [`SERVER_START_TIMEOUT`] passes.
pub(crate) fn wait_listening(
    mut guard: ChildGuard,
    port: u16,
    what: &str,
    log_path: &Path,
) -> Result<ChildGuard> {
    let addr = SocketAddr::from((HOST, port));
    let t = Instant::now();
    loop {
        if let Ok(Some(status)) = guard.child.try_wait() {
            print_log_tail(log_path);
            bail!(
                "{what} exited at start ({status}); see {}",
                log_path.display()
            );
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok() {
            step!("{what} is up after {}", util::fmt_duration(t.elapsed()));
            return Ok(guard);
        }
        if t.elapsed() > SERVER_START_TIMEOUT {
            print_log_tail(log_path);
            bail!(
                "{what} did not accept connections on {addr} within {}",
                util::fmt_duration(SERVER_START_TIMEOUT)
            );
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// Starts `wstest -m fuzzingserver -s CONFIG` (listening on `port`, as the config says) in
/// `dir` and waits until it accepts connections.
fn start_server(
    ts: &Testsuite,
    dir: &Path,
    config: &str,
    port: u16,
    log_path: &Path,
    debug: bool,
) -> Result<ChildGuard> {
    ensure_port_free(port, "a leftover fuzzingserver? `docker compose up`?")?;
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
        "$ (cd {} && wstest -m fuzzingserver -s {config} --webport 0) (log: {})",
        dir.display(),
        log_path.display()
    );
    let child = cmd
        .spawn()
        .context(|| "could not start the fuzzingserver")?;
    let guard = ChildGuard::new(child, "wstest -m fuzzingserver");
    wait_listening(guard, port, "the fuzzingserver", log_path)
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
fn ws_text(port: u16, path: &str, timeout: Duration) -> Result<Option<String>> {
    let addr = SocketAddr::from((HOST, port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .context(|| format!("connecting to {addr}"))?;
    s.set_read_timeout(Some(timeout))
        .context(|| "set_read_timeout")?;
    s.set_write_timeout(Some(Duration::from_secs(10)))
        .context(|| "set_write_timeout")?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
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

    /// The result in words, e.g. "514 OK + 3 INFORMATIONAL", over all agents.
    fn in_words(&self) -> String {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for c in self.agents.iter().flat_map(|a| &a.cases) {
            *counts.entry(c.label()).or_default() += 1;
        }
        let mut parts: Vec<String> = COLUMNS
            .iter()
            .filter_map(|&k| counts.remove(k).map(|n| format!("{n} {k}")))
            .collect();
        parts.extend(counts.into_iter().map(|(k, n)| format!("{n} {k}")));
        parts.join(" + ")
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

    /// `rows[section]` = counts per column (COLUMNS then "other").
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

    /// The summary for one side; `invocation` is what followed `cargo xtask autobahn`.
    fn markdown(&self, side: Side, run_errors: &[String], scope: &Scope<'_>) -> String {
        let Scope {
            invocation,
            cases,
            why_subset,
        } = scope;
        let failures = self.failures();
        let pass = failures.is_empty() && run_errors.is_empty();
        let mut md = String::from(match side {
            Side::Server => {
                "# Autobahn|Testsuite: server conformance

The fuzzingclient against our echo server (`autobahn_server`).

"
            }
            Side::Client | Side::Both => {
                "# Autobahn|Testsuite: client conformance

The fuzzingserver against our client (`autobahn_client`).

"
            }
        });
        md.push_str(&format!(
            "Written by `cargo xtask autobahn{invocation}`. Verdict: **{}**. Cases: {}; a case passes when `behavior` and \
             `behaviorClose` are OK or INFORMATIONAL{}.\n\n",
            if pass { "PASS" } else { "FAIL" },
            match cases {
                None => format!("all {}", self.expected),
                Some(c) => format!(
                    "{} ({}{})",
                    self.expected,
                    c.join(","),
                    why_subset.map_or_else(String::new, |why| format!(": this lane's subset; {why}"))
                ),
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
            for p in run_errors.iter().chain(&failures) {
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
        let scope = Scope {
            invocation: String::new(),
            cases: None,
            why_subset: None,
        };
        let md = r.markdown(Side::Client, &[], &scope);
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

    fn args(a: &[&str]) -> Result<Options> {
        parse_args(&a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn sides() {
        let side = |a: &[&str]| args(a).map(|o| o.side()).ok();
        assert_eq!(side(&[]), Some(Side::Both));
        assert_eq!(side(&["--side", "server"]), Some(Side::Server));
        assert_eq!(side(&["--side=client"]), Some(Side::Client));
        assert_eq!(side(&["--testee"]), Some(Side::Client));
        assert_eq!(side(&["--testee", "--side", "both"]), Some(Side::Both));
        assert_eq!(side(&["--side", "server", "--testee"]), None);
        assert_eq!(side(&["--side", "neither"]), None);
        assert_eq!(side(&["--side"]), None);
        let Ok(o) = args(&["--side", "server", "--cases", "1.*,9.1.1"]) else {
            panic!("valid options refused");
        };
        assert_eq!(o.shown(), " --side server --cases 1.*,9.1.1");
        assert!(Side::Both.client() && Side::Both.server());
        assert!(!Side::Client.server() && !Side::Server.client());
    }

    #[test]
    fn a_lane_runs_its_subset_unless_cases_are_given() {
        let none = args(&[]).unwrap();
        let given = args(&["--cases", "2.*"]).unwrap();
        let subset = Some(&WITHOUT_COMPRESSION);
        assert_eq!(lane_cases(&none, None), None);
        assert_eq!(
            lane_cases(&none, subset),
            Some(
                WITHOUT_COMPRESSION
                    .cases
                    .iter()
                    .map(|c| (*c).to_owned())
                    .collect()
            )
        );
        assert_eq!(lane_cases(&given, subset), Some(vec!["2.*".to_owned()]));
        assert_eq!(required_count(None), EXPECTED_CASE_COUNT);
        assert_eq!(required_count(subset), 301);
        // No compression case in the subset.
        assert!(
            WITHOUT_COMPRESSION
                .cases
                .iter()
                .all(|c| !c.starts_with("12.") && !c.starts_with("13."))
        );
    }

    #[test]
    fn lanes_listen_on_ports_of_their_own() {
        let lanes = AGENTS
            .iter()
            .map(Lane::Client)
            .chain(SERVER_AGENTS.iter().map(Lane::Server))
            .chain([Lane::Testee]);
        let mut seen = std::collections::BTreeSet::new();
        for lane in lanes {
            for port in lane_ports(&lane) {
                // The testee shares the first client lane's fuzzingserver port: it replaces it.
                if matches!(lane, Lane::Testee) && port == PORT {
                    continue;
                }
                assert!(seen.insert(port), "{} reuses port {port}", lane.name());
            }
        }
    }

    #[test]
    fn planned_cases_from_the_fuzzingclient_log() {
        let log = "Autobahn Fuzzing WebSocket Client (Autobahn Testsuite Version 25.10.1)\n\
                   Ok, will run 301 test cases against 1 servers\nCases = ['1.1.1']\n";
        assert_eq!(planned_case_count(log), Some(301));
        assert_eq!(planned_case_count("Using Twisted reactor\n"), None);
    }

    /// A scratch `autobahn/` holding `fuzzingclient.json` = `config`.
    fn scratch_dir(name: &str, config: &Value) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("wintergreen-xtask-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        assert!(fs::create_dir_all(dir.join("reports")).is_ok());
        assert!(fs::write(dir.join("fuzzingclient.json"), config.to_string()).is_ok());
        dir
    }

    #[test]
    fn fuzzingclient_config_is_checked() {
        let good = serde_json::json!({
            "outdir": "./reports/servers",
            "servers": [{"agent": "wintergreen", "url": "ws://127.0.0.1:9002"}],
            "cases": ["*"], "exclude-cases": [], "exclude-agent-cases": {},
        });
        let dir = scratch_dir("good", &good);
        let [h1, h2, smol, async_std, h2_smol, h2_async_std] = SERVER_AGENTS else {
            panic!(
                "expected the server agents: HTTP/1.1, HTTP/2, smol, async-std, HTTP/2 on smol and on async-std"
            );
        };
        assert_eq!(
            fuzzingclient_config(&dir, false, None, h1).ok(),
            Some(("fuzzingclient.json".to_owned(), "wintergreen".to_owned()))
        );
        let cases = ["1.*".to_owned()];
        assert_eq!(
            fuzzingclient_config(&dir, true, Some(&cases), h1).ok(),
            Some((
                "reports/fuzzingclient-wintergreen.json".to_owned(),
                "wintergreen".to_owned()
            ))
        );
        let subset = fs::read_to_string(dir.join("reports/fuzzingclient-wintergreen.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok());
        assert_eq!(
            subset.map(|v| v["cases"].clone()),
            Some(serde_json::json!(["1.*"]))
        );
        // The HTTP/2 lane: a copy pointed at the reverse bridge, all cases, its own report.
        assert_eq!(
            fuzzingclient_config(&dir, false, None, h2).ok(),
            Some((
                "reports/fuzzingclient-wintergreen-http2.json".to_owned(),
                "wintergreen-http2".to_owned()
            ))
        );
        let copy = fs::read_to_string(dir.join("reports/fuzzingclient-wintergreen-http2.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .unwrap_or_default();
        assert_eq!(
            copy["servers"],
            serde_json::json!([{"agent": "wintergreen-http2", "url": "ws://127.0.0.1:9004"}])
        );
        assert_eq!(copy["outdir"], "./reports/servers-http2");
        assert_eq!(copy["cases"], serde_json::json!(["*"]));
        // The other runtimes: copies pointed at their own echo servers (HTTP/2 on smol and
        // async-std: at bridges of their own, with their subset of cases).
        let options = args(&[]).unwrap();
        let lanes = [
            (smol, 9022),
            (async_std, 9032),
            (h2_smol, 9044),
            (h2_async_std, 9054),
        ];
        for (agent, port) in lanes {
            let name = format!("wintergreen{}", agent.suffix);
            let file = format!("reports/fuzzingclient-{name}.json");
            let cases = lane_cases(&options, agent.subset);
            assert_eq!(
                fuzzingclient_config(&dir, false, cases.as_deref(), agent).ok(),
                Some((file.clone(), name.clone()))
            );
            let copy = fs::read_to_string(dir.join(&file))
                .ok()
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                .unwrap_or_default();
            assert_eq!(
                copy["servers"],
                serde_json::json!([{"agent": name, "url": format!("ws://127.0.0.1:{port}")}])
            );
            assert_eq!(copy["outdir"], format!("./reports/servers{}", agent.suffix));
            let want = agent.subset.map_or(&["*"][..], |s| s.cases);
            assert_eq!(copy["cases"], serde_json::json!(want));
        }
        let _ = fs::remove_dir_all(&dir);

        let bad = |name: &str, patch: Value, want: &str| {
            let mut config = good.clone();
            if let (Some(c), Some(p)) = (config.as_object_mut(), patch.as_object()) {
                c.extend(p.clone());
            }
            let dir = scratch_dir(name, &config);
            let err = fuzzingclient_config(&dir, false, None, h1)
                .err()
                .map(|e| e.0);
            let _ = fs::remove_dir_all(&dir);
            assert!(
                err.as_deref().is_some_and(|e| e.contains(want)),
                "{name}: {err:?}"
            );
        };
        bad(
            "remote",
            serde_json::json!({"servers": [{"agent": "x", "url": "ws://10.0.0.1:9002"}]}),
            "may only connect",
        );
        bad(
            "port-prefix",
            serde_json::json!({"servers": [{"agent": "x", "url": "ws://127.0.0.1:90021"}]}),
            "may only connect",
        );
        bad(
            "two",
            serde_json::json!({"servers": [
                {"agent": "a", "url": "ws://127.0.0.1:9002"},
                {"agent": "b", "url": "ws://127.0.0.1:9002"}]}),
            "exactly one",
        );
        bad(
            "outdir",
            serde_json::json!({"outdir": "./reports/clients"}),
            "outdir",
        );
        bad(
            "excluded",
            serde_json::json!({"exclude-cases": ["9.*"]}),
            "every case",
        );
        bad(
            "subset",
            serde_json::json!({"cases": ["1.*"]}),
            "every case",
        );
        bad(
            "no-agent",
            serde_json::json!({"servers": [{"url": "ws://127.0.0.1:9002"}]}),
            "agent",
        );
    }
}
