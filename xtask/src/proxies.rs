//! `cargo xtask proxies`: the client through real proxy servers that no one here wrote —
//! tinyproxy (HTTP CONNECT with Basic authentication) and Dante's `danted` (SOCKS5 with
//! username/password authentication, RFC 1929) — from Debian 12's packages.
//!
//! 1. installs `tinyproxy` and `dante-server` through apt when missing (with consent, see
//!    [`system`]);
//! 2. Dante checks a SOCKS5 user name and password against the system's accounts, so a
//!    system user [`SOCKS_USER`] (no home, no login shell) is created once (with consent)
//!    and given a fresh random password on each run; this needs root;
//! 3. writes both configurations into `target/proxies/` and starts each proxy on a free
//!    127.0.0.1 port, accepting clients from 127.0.0.1 only;
//! 4. runs the ignored real-proxy tests of `crates/connect/tests/proxy.rs` with the proxy
//!    URLs in [`HTTP_PROXY_VAR`] and [`SOCKS5_PROXY_VAR`] (those tests fail without them);
//!    ws:// and wss://, HTTP/1.1 and HTTP/2, through each proxy, and wrong credentials;
//! 5. stops both proxies on every exit path. Logs stay in `target/proxies/`.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::autobahn::wait_listening;
use crate::system::{self, Need};
use crate::util::{self, ChildGuard, Context, Result, bail, step};

/// Where configurations and logs go, under the project root.
const DIR: &str = "target/proxies";
/// The environment variables that hand the proxy URLs (with credentials) to the tests.
const HTTP_PROXY_VAR: &str = "WINTERGREEN_TEST_HTTP_PROXY";
const SOCKS5_PROXY_VAR: &str = "WINTERGREEN_TEST_SOCKS5_PROXY";
/// tinyproxy's Basic-auth user (its own list, not a system account).
const HTTP_USER: &str = "wintergreen";
/// The system account Dante authenticates SOCKS5 clients against.
const SOCKS_USER: &str = "wintergreen-socks";
const TEST_TIMEOUT: Duration = Duration::from_secs(15 * 60);

const TINYPROXY: Need = Need {
    what: "tinyproxy",
    present: || Path::new("/usr/bin/tinyproxy").exists(),
    packages: &["tinyproxy"],
};
const DANTE: Need = Need {
    what: "danted (Dante SOCKS server)",
    present: || Path::new("/usr/sbin/danted").exists(),
    packages: &["dante-server"],
};

pub fn run(args: &[String]) -> Result<()> {
    if let Some(arg) = args.first() {
        bail!("unknown proxies option `{arg}` (see `cargo xtask help`)");
    }
    let started = Instant::now();
    if util::output(Command::new("id").arg("-u"), Duration::from_secs(10))?.trim() != "0" {
        bail!("the proxy tests need root: Dante checks SOCKS5 passwords against system accounts");
    }
    system::ensure(&[TINYPROXY, DANTE], "the proxy tests")?;
    let root = util::project_root();
    let dir = root.join(DIR);
    fs::create_dir_all(&dir).context(|| format!("creating {}", dir.display()))?;

    let http_password = random_hex()?;
    let socks_password = random_hex()?;
    ensure_socks_user(&socks_password)?;

    let http_port = free_port()?;
    let socks_port = free_port()?;
    let _tinyproxy = Terminated(start_tinyproxy(&dir, http_port, &http_password)?);
    let _danted = Terminated(start_danted(&dir, socks_port)?);

    let http_url = format!("http://{HTTP_USER}:{http_password}@127.0.0.1:{http_port}");
    let socks_url = format!("socks5://{SOCKS_USER}:{socks_password}@127.0.0.1:{socks_port}");
    util::run_shown(
        util::cargo()
            .args([
                "test",
                "-p",
                "wintergreen-connect",
                "--all-features",
                "--test",
                "proxy",
                "--",
                "--ignored",
                "real_",
            ])
            .env(HTTP_PROXY_VAR, &http_url)
            .env(SOCKS5_PROXY_VAR, &socks_url)
            .current_dir(&root),
        "cargo test -p wintergreen-connect --all-features --test proxy -- --ignored real_",
        TEST_TIMEOUT,
    )?;
    step!(
        "proxies: PASS (tinyproxy on :{http_port}, danted on :{socks_port}) in {}",
        util::fmt_duration(started.elapsed())
    );
    Ok(())
}

/// 16 random bytes from the kernel, as hex: a password for this run.
fn random_hex() -> Result<String> {
    let mut bytes = [0u8; 16];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context(|| "reading /dev/urandom".to_owned())?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A free port on 127.0.0.1 (bound, noted, released).
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context(|| "binding 127.0.0.1:0".to_owned())?;
    Ok(listener
        .local_addr()
        .context(|| "reading the bound port".to_owned())?
        .port())
}

/// Creates the SOCKS test account once (with consent) and sets this run's password.
fn ensure_socks_user(password: &str) -> Result<()> {
    let exists = util::succeeds(Command::new("id").arg(SOCKS_USER), Duration::from_secs(10));
    if !exists {
        system::consent(&[format!(
            "useradd --system --no-create-home --shell /usr/sbin/nologin {SOCKS_USER} \
             (the account Dante checks SOCKS5 test passwords against)"
        )])?;
        util::run(
            Command::new("useradd").args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SOCKS_USER,
            ]),
            Duration::from_secs(60),
        )?;
    }
    let mut child = Command::new("chpasswd")
        .stdin(Stdio::piped())
        .spawn()
        .context(|| "starting chpasswd".to_owned())?;
    if let Some(mut stdin) = child.stdin.take() {
        writeln!(stdin, "{SOCKS_USER}:{password}").context(|| "writing to chpasswd".to_owned())?;
    }
    match util::wait_timeout(&mut child, Duration::from_secs(60)) {
        Ok(Some(status)) if status.success() => Ok(()),
        other => bail!("chpasswd for {SOCKS_USER} failed: {other:?}"),
    }
}

fn start_tinyproxy(dir: &Path, port: u16, password: &str) -> Result<ChildGuard> {
    let config = dir.join("tinyproxy.conf");
    let log = dir.join("tinyproxy.log");
    // No ConnectPort line: CONNECT to any port (the test servers use ephemeral ones).
    let text = format!(
        "User nobody\nGroup nogroup\nPort {port}\nListen 127.0.0.1\nTimeout 60\n\
         MaxClients 64\nAllow 127.0.0.1\nBasicAuth {HTTP_USER} {password}\n\
         DisableViaHeader Yes\nLogLevel Info\n"
    );
    fs::write(&config, text).context(|| format!("writing {}", config.display()))?;
    spawn_logged(
        Command::new("/usr/bin/tinyproxy")
            .arg("-d")
            .arg("-c")
            .arg(&config),
        &log,
        "tinyproxy",
        port,
    )
}

fn start_danted(dir: &Path, port: u16) -> Result<ChildGuard> {
    let config = dir.join("danted.conf");
    let log = dir.join("danted.log");
    let text = format!(
        "logoutput: stderr\n\
         internal: 127.0.0.1 port = {port}\n\
         external: 127.0.0.1\n\
         socksmethod: username\n\
         clientmethod: none\n\
         user.privileged: root\n\
         user.unprivileged: nobody\n\
         client pass {{\n  from: 127.0.0.1/32 to: 0.0.0.0/0\n}}\n\
         socks pass {{\n  from: 127.0.0.1/32 to: 127.0.0.0/8\n  command: connect\n  socksmethod: username\n}}\n"
    );
    fs::write(&config, text).context(|| format!("writing {}", config.display()))?;
    spawn_logged(
        Command::new("/usr/sbin/danted")
            .arg("-f")
            .arg(&config)
            .args(["-N", "1"]),
        &log,
        "danted",
        port,
    )
}

/// A proxy stopped with SIGTERM (then, after 10 s, SIGKILL) when dropped: Dante's main
/// process stops and reaps its worker processes on SIGTERM, which SIGKILL would orphan.
struct Terminated(ChildGuard);

impl Drop for Terminated {
    fn drop(&mut self) {
        let child = &mut self.0.child;
        if let Ok(None) = child.try_wait() {
            let pid = child.id().to_string();
            let _ = util::succeeds(
                Command::new("kill").args(["-TERM", &pid]),
                Duration::from_secs(10),
            );
            let _ = util::wait_timeout(child, Duration::from_secs(10));
        }
    }
}

/// Starts `cmd` with stdout and stderr in `log`, and waits until it listens on `port`.
fn spawn_logged(cmd: &mut Command, log: &Path, what: &str, port: u16) -> Result<ChildGuard> {
    let out = fs::File::create(log).context(|| format!("creating {}", log.display()))?;
    let err = out
        .try_clone()
        .context(|| format!("opening {}", log.display()))?;
    let child = cmd
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .context(|| format!("starting {what}"))?;
    step!(
        "started {what} on 127.0.0.1:{port} (log: {})",
        log.display()
    );
    wait_listening(ChildGuard::new(child, what), port, what, log)
}
