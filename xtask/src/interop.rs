//! `cargo xtask interop`: permessage-deflate against a third-party implementation, the
//! Python `websockets` library, in both roles.
//!
//! 1. makes sure a venv at `target/interop-venv` (the machine's `python3`) holds
//!    `websockets` [`WEBSOCKETS_VERSION`]; pip runs only when the venv lacks that version;
//! 2. builds `interop_client` and `autobahn_server` in one `cargo build --release` (the same
//!    command and features as `cargo xtask autobahn`, so the two share their artifacts);
//! 3. **part A**, our client → their server: starts `autobahn/interop/echo_server.py` on
//!    127.0.0.1:9005 and runs `interop_client`, which fails unless each of its two
//!    connections (default offer, tuned offer) negotiated permessage-deflate and every echo
//!    matched;
//! 4. **part B**, their client → our server: starts `autobahn_server` on 127.0.0.1:9006 and
//!    runs `autobahn/interop/client.py`, which fails unless deflate was negotiated and every
//!    echo matched;
//! 5. **part D**, their client → our axum integration: builds the `axum_echo` example
//!    (feature `axum`), starts it on 127.0.0.1:9007 and runs the same `client.py` against
//!    its WebSocket route over HTTP/1.1.
//!
//! Logs go to `target/interop/`; every child is killed on every exit path.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::autobahn::{build_examples, ensure_port_free, wait_listening};
use crate::util::{self, ChildGuard, Context, Result, bail, step};

/// The `websockets` release installed into the venv (needs Python ≥ 3.10; has the
/// `websockets.asyncio` API).
const WEBSOCKETS_VERSION: &str = "17.4";
/// Relative to the project root; under `target/`, so git ignores it.
const VENV: &str = "target/interop-venv";
const LOG_DIR: &str = "target/interop";

/// The Python echo server (part A).
const PY_SERVER_PORT: u16 = 9005;
/// Our echo server (part B).
const RS_SERVER_PORT: u16 = 9006;
/// The axum example (part D).
const AXUM_SERVER_PORT: u16 = 9007;

const CLIENT_EXAMPLE: &str = "interop_client";
const SERVER_EXAMPLE: &str = "autobahn_server";
const AXUM_EXAMPLE: &str = "axum_echo";
/// Bounds building [`AXUM_EXAMPLE`] (release, with the facade's `axum` feature).
const AXUM_BUILD_TIMEOUT: Duration = Duration::from_secs(30 * 60);

const PIP_TIMEOUT: Duration = Duration::from_secs(5 * 60);
const PROBE_TIMEOUT: Duration = Duration::from_secs(60);
/// For one whole client run (both connections, all messages).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(2 * 60);

pub fn run(args: &[String]) -> Result<()> {
    if let Some(arg) = args.first() {
        bail!("unknown interop option `{arg}` (see `cargo xtask help`)");
    }
    let started = Instant::now();
    let root = util::project_root();
    ensure_port_free(PY_SERVER_PORT, "a leftover echo_server.py?")?;
    ensure_port_free(RS_SERVER_PORT, "a leftover autobahn_server?")?;
    ensure_port_free(AXUM_SERVER_PORT, "a leftover axum_echo?")?;
    let logs = root.join(LOG_DIR);
    fs::create_dir_all(&logs).context(|| format!("creating {}", logs.display()))?;

    let t = Instant::now();
    let python = ensure_venv(&root)?;
    let venv_took = t.elapsed();

    let t = Instant::now();
    let built = build_examples(&root, &[CLIENT_EXAMPLE, SERVER_EXAMPLE])?;
    let build_took = t.elapsed();
    let exe = |name: &str| {
        built
            .get(name)
            .cloned()
            .ok_or_else(|| util::Error(format!("cargo built no `{name}` executable")))
    };
    let (client, server) = (exe(CLIENT_EXAMPLE)?, exe(SERVER_EXAMPLE)?);

    let t = Instant::now();
    let a = part_a(&root, &python, &client, &logs)?;
    let a_took = t.elapsed();
    let t = Instant::now();
    let b = part_b(&root, &python, &server, &logs)?;
    let b_took = t.elapsed();
    let t = Instant::now();
    let d = part_d(&root, &python, &logs)?;
    let d_took = t.elapsed();

    // The `wintergreen` command against the same third party, both roles (its ignored test
    // runs when WINTERGREEN_PYTHON names a Python with `websockets`).
    let t = Instant::now();
    util::run(
        util::cargo()
            .args(["test", "-p", "wintergreen-cli", "--", "--ignored"])
            .env("WINTERGREEN_PYTHON", &python)
            .current_dir(&root),
        Duration::from_secs(15 * 60),
    )?;
    let cli_took = t.elapsed();

    step!("interop summary (websockets {WEBSOCKETS_VERSION}, logs in {LOG_DIR}/):");
    step!(
        "  A  wintergreen client -> websockets server  ok in {}",
        util::fmt_duration(a_took)
    );
    for line in &a {
        step!("       {line}");
    }
    step!(
        "  B  websockets client -> wintergreen server  ok in {}",
        util::fmt_duration(b_took)
    );
    for line in &b {
        step!("       {line}");
    }
    step!(
        "  C  the wintergreen command <-> websockets, both roles  ok in {}",
        util::fmt_duration(cli_took)
    );
    step!(
        "  D  websockets client -> wintergreen::axum (axum_echo, HTTP/1.1)  ok in {}",
        util::fmt_duration(d_took)
    );
    for line in &d {
        step!("       {line}");
    }
    step!(
        "  venv {}, build {}, total {}",
        util::fmt_duration(venv_took),
        util::fmt_duration(build_took),
        util::fmt_duration(started.elapsed())
    );
    step!("interop: PASS");
    Ok(())
}

/// The venv's python, with `websockets` [`WEBSOCKETS_VERSION`] importable.
fn ensure_venv(root: &Path) -> Result<PathBuf> {
    let venv = root.join(VENV);
    let python = venv.join("bin/python");
    let probe = || {
        util::succeeds(
            Command::new(&python).args([
                "-c",
                &format!(
                    "import websockets, websockets.asyncio.client, websockets.asyncio.server\n\
                     assert websockets.__version__ == '{WEBSOCKETS_VERSION}'"
                ),
            ]),
            PROBE_TIMEOUT,
        )
    };
    if probe() {
        step!("{VENV} has websockets {WEBSOCKETS_VERSION}");
        return Ok(python);
    }
    if !util::is_executable(&python) {
        crate::system::ensure(
            &[crate::system::PYTHON3, crate::system::PYTHON3_VENV],
            "the interop venv",
        )?;
        let Some(python3) = util::which("python3") else {
            bail!("python3 is not on PATH; it is needed for the interop venv");
        };
        util::run(
            Command::new(python3)
                .args(["-m", "venv"])
                .arg(&venv)
                .stdin(Stdio::null()),
            PROBE_TIMEOUT,
        )?;
    }
    util::run(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--quiet",
                &format!("websockets=={WEBSOCKETS_VERSION}"),
            ])
            .stdin(Stdio::null()),
        PIP_TIMEOUT,
    )?;
    if !probe() {
        bail!("{VENV} still cannot import websockets {WEBSOCKETS_VERSION} after pip install");
    }
    Ok(python)
}

/// Starts `cmd` with stdout and stderr in `log`, and waits until it listens on `port`.
fn start(mut cmd: Command, what: &str, port: u16, log: &Path) -> Result<ChildGuard> {
    let file = fs::File::create(log).context(|| format!("creating {}", log.display()))?;
    let file2 = file.try_clone().context(|| "duplicating a log handle")?;
    cmd.stdin(Stdio::null()).stdout(file).stderr(file2);
    step!("starting {what} (log: {})", log.display());
    step!("$ {}", util::display(&cmd));
    let child = cmd.spawn().context(|| format!("could not start {what}"))?;
    wait_listening(ChildGuard::new(child, what), port, what, log)
}

/// Runs a client to completion within [`CLIENT_TIMEOUT`], echoing its stdout; on failure,
/// shows the server's log too.
fn run_client(mut cmd: Command, server_log: &Path) -> Result<Vec<String>> {
    cmd.stdin(Stdio::null());
    step!("$ {}", util::display(&cmd));
    match util::output(&mut cmd, CLIENT_TIMEOUT) {
        Ok(out) => {
            print!("{out}");
            Ok(out.lines().map(str::to_owned).collect())
        }
        Err(e) => {
            if let Ok(log) = fs::read_to_string(server_log) {
                step!("server log ({}):", server_log.display());
                eprint!("{log}");
            }
            Err(e)
        }
    }
}

/// Part A: our client against the websockets echo server.
fn part_a(root: &Path, python: &Path, client: &Path, logs: &Path) -> Result<Vec<String>> {
    step!("part A: wintergreen client -> websockets echo server");
    let log = logs.join("echo_server.log");
    let mut cmd = Command::new(python);
    cmd.arg(root.join("autobahn/interop/echo_server.py"))
        .arg(PY_SERVER_PORT.to_string())
        .current_dir(root);
    let mut server = start(cmd, "echo_server.py", PY_SERVER_PORT, &log)?;
    let mut cmd = Command::new(client);
    cmd.args(["--url", &format!("ws://127.0.0.1:{PY_SERVER_PORT}/")])
        .current_dir(root);
    let out = run_client(cmd, &log)?;
    server.kill();
    let mut lines: Vec<String> = out.into_iter().filter(|l| l.contains(": OK:")).collect();
    // The server's view of each connection's extensions.
    let server_log = fs::read_to_string(&log).unwrap_or_default();
    lines.extend(
        server_log
            .lines()
            .filter(|l| l.contains("extensions:"))
            .map(|l| format!("server saw {l}")),
    );
    Ok(lines)
}

/// Part B: the websockets client against our echo server.
fn part_b(root: &Path, python: &Path, server: &Path, logs: &Path) -> Result<Vec<String>> {
    step!("part B: websockets client -> wintergreen echo server (autobahn_server)");
    let log = logs.join("autobahn_server.log");
    python_client_against(root, python, server, RS_SERVER_PORT, "/", &log)
}

/// Part D: the websockets client against the axum integration (`axum_echo`'s `/ws`).
fn part_d(root: &Path, python: &Path, logs: &Path) -> Result<Vec<String>> {
    step!("part D: websockets client -> wintergreen::axum echo server ({AXUM_EXAMPLE})");
    util::run(
        util::cargo()
            .args(["build", "--release", "-p", "wintergreen"])
            .args(["--features", "axum", "--example", AXUM_EXAMPLE])
            .current_dir(root),
        AXUM_BUILD_TIMEOUT,
    )?;
    let target = util::target_dir();
    let server = target.join("release/examples").join(AXUM_EXAMPLE);
    let log = logs.join("axum_echo.log");
    python_client_against(root, python, &server, AXUM_SERVER_PORT, "/ws", &log)
}

/// Starts our echo server `server` with `--listen 127.0.0.1:<port>` (output in `log`), runs
/// `autobahn/interop/client.py` against `ws://127.0.0.1:<port><path>`, and stops the server.
fn python_client_against(
    root: &Path,
    python: &Path,
    server: &Path,
    port: u16,
    path: &str,
    log: &Path,
) -> Result<Vec<String>> {
    let what = server
        .file_name()
        .map_or_else(|| "the server".into(), |name| name.to_string_lossy());
    let mut cmd = Command::new(server);
    cmd.args(["--listen", &format!("127.0.0.1:{port}")])
        .current_dir(root);
    let mut guard = start(cmd, &what, port, log)?;
    let mut cmd = Command::new(python);
    cmd.arg(root.join("autobahn/interop/client.py"))
        .arg(format!("ws://127.0.0.1:{port}{path}"))
        .current_dir(root);
    let out = run_client(cmd, log)?;
    guard.kill();
    Ok(out)
}
