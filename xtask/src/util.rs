//! Small helpers shared by the tasks: errors, running commands with timeouts, a guard that
//! kills a background process, paths.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

/// A task failure: one human-readable message, printed by `main`.
#[derive(Debug)]
pub struct Error(pub String);

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for Error {
    fn from(s: String) -> Self {
        Error(s)
    }
}

impl From<&str> for Error {
    fn from(s: &str) -> Self {
        Error(s.to_owned())
    }
}

/// `return Err(format!(...).into())`
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err($crate::util::Error(format!($($arg)*)))
    };
}
pub(crate) use bail;

/// Adds what was being done to an error, e.g. `fs::read(p).context(|| format!("reading {p}"))`.
pub trait Context<T> {
    fn context<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T>;
}

impl<T, E: fmt::Display> Context<T> for std::result::Result<T, E> {
    fn context<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T> {
        self.map_err(|e| Error(format!("{}: {e}", what().into())))
    }
}

/// The repository root (the workspace directory holding `xtask/`).
pub fn project_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map_or_else(|| manifest_dir.to_path_buf(), Path::to_path_buf)
}

/// Cargo's target directory: `CARGO_TARGET_DIR` when set, else `target/` in the project.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| project_root().join("target"), PathBuf::from)
}

/// Environment every cargo that xtask starts gets, on top of its own; set once, by
/// `cargo xtask ci` (see [`set_cargo_env`]).
static CARGO_ENV: OnceLock<&'static [(&'static str, &'static str)]> = OnceLock::new();

/// Gives every later [`cargo`] these variables. The first call wins; later ones are ignored.
pub fn set_cargo_env(vars: &'static [(&'static str, &'static str)]) {
    let _ = CARGO_ENV.set(vars);
}

/// The cargo that runs us (so `cargo +nightly xtask` stays on nightly), else `cargo`, with
/// the variables of [`set_cargo_env`].
pub fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    for (key, value) in CARGO_ENV.get().copied().unwrap_or_default() {
        cmd.env(key, value);
    }
    cmd
}

/// Bytes free to an unprivileged user on the file system holding `path`, as `df` reports
/// them; `None` when `df` is missing or says something unexpected.
pub fn free_bytes(path: &Path) -> Option<u64> {
    let out = Command::new("df")
        .args(["-P", "-k"])
        .arg(path)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    // POSIX format: a header line, then `fs 1024-blocks used available capacity mount`.
    let text = String::from_utf8(out.stdout).ok()?;
    let kib: u64 = text
        .lines()
        .nth(1)?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()?;
    kib.checked_mul(1024)
}

/// `bytes` in GiB with one decimal, for progress output.
pub fn fmt_gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / f64::from(1u32 << 30))
}

/// How a command looks on a shell line, for progress output.
pub fn display(cmd: &Command) -> String {
    let program = cmd.get_program();
    let is_cargo = std::env::var_os("CARGO").is_some_and(|c| c == program);
    let mut s = if is_cargo {
        "cargo".to_owned()
    } else {
        program.to_string_lossy().into_owned()
    };
    for arg in cmd.get_args() {
        let arg = arg.to_string_lossy();
        s.push(' ');
        if arg.is_empty()
            || arg.contains(|c: char| c.is_whitespace() || "'\"$*?;&|<>()".contains(c))
        {
            s.push('\'');
            s.push_str(&arg.replace('\'', r"'\''"));
            s.push('\'');
        } else {
            s.push_str(&arg);
        }
    }
    s
}

/// Prints a progress line (to stderr, which stays unbuffered and next to the tools' own output).
macro_rules! step {
    ($($arg:tt)*) => {
        eprintln!("[xtask] {}", format_args!($($arg)*))
    };
}
pub(crate) use step;

/// Waits for `child` at most `timeout`; `Ok(None)` when it is still running.
pub fn wait_timeout(child: &mut Child, timeout: Duration) -> io::Result<Option<ExitStatus>> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(10);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(250));
    }
}

/// Runs `cmd` (inheriting stdio) to completion within `timeout`; a non-zero exit, a failure
/// to start or a timeout (after which the process is killed) is an error.
pub fn run(cmd: &mut Command, timeout: Duration) -> Result<()> {
    let shown = display(cmd);
    run_shown(cmd, &shown, timeout)
}

/// [`run`], showing the command as `shown` (for commands whose real form is unreadable).
pub fn run_shown(cmd: &mut Command, shown: &str, timeout: Duration) -> Result<()> {
    step!("$ {shown}");
    let child = cmd
        .spawn()
        .context(|| format!("could not start `{shown}`"))?;
    let mut guard = ChildGuard::new(child, shown);
    match wait_timeout(&mut guard.child, timeout).context(|| format!("waiting for `{shown}`"))? {
        Some(status) if status.success() => Ok(()),
        Some(status) => bail!("`{shown}` failed ({status})"),
        None => bail!("`{shown}` timed out after {}", fmt_duration(timeout)),
    }
}

/// Runs `cmd` and returns its stdout (stderr is inherited) if it succeeds within `timeout`.
pub fn output(cmd: &mut Command, timeout: Duration) -> Result<String> {
    let shown = display(cmd);
    let child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .context(|| format!("could not start `{shown}`"))?;
    let mut guard = ChildGuard::new(child, &shown);
    // Read stdout on a thread so a chatty child cannot block on a full pipe while we wait.
    let mut stdout = guard.child.stdout.take();
    let reader = thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(out) = stdout.as_mut() {
            let _ = io::Read::read_to_end(out, &mut buf);
        }
        buf
    });
    let status =
        wait_timeout(&mut guard.child, timeout).context(|| format!("waiting for `{shown}`"))?;
    let Some(status) = status else {
        bail!("`{shown}` timed out after {}", fmt_duration(timeout));
    };
    let bytes = reader.join().unwrap_or_default();
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Does the command run and exit 0 (output discarded)? For cheap probes.
pub fn succeeds(cmd: &mut Command, timeout: Duration) -> bool {
    let Ok(child) = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    else {
        return false;
    };
    let mut guard = ChildGuard::new(child, "probe");
    matches!(wait_timeout(&mut guard.child, timeout), Ok(Some(s)) if s.success())
}

/// Owns a child process and kills it when dropped (normal return, `?`, or panic unwinding),
/// unless it already exited.
#[derive(Debug)]
pub struct ChildGuard {
    pub child: Child,
    name: String,
}

impl ChildGuard {
    pub fn new(child: Child, name: &str) -> Self {
        ChildGuard {
            child,
            name: name.to_owned(),
        }
    }

    /// Kills the process (SIGKILL) and reaps it. Idempotent.
    pub fn kill(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            match wait_timeout(&mut self.child, Duration::from_secs(10)) {
                Ok(Some(_)) => {}
                _ => eprintln!(
                    "[xtask] warning: `{}` (pid {}) did not exit after SIGKILL",
                    self.name,
                    self.child.id()
                ),
            }
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn fmt_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        let whole = d.as_secs();
        format!("{}m{:02}s", whole / 60, whole % 60)
    }
}

/// Finds an executable named `name` on `PATH`.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

pub fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
