//! `cargo xtask autobahn-install`: a native (Docker-free) Autobahn|Testsuite.
//!
//! The testsuite is Python 2.7 only. Debian 12 has no Python 2, so we borrow `python2.7` from
//! Debian 11 ("bullseye") through an extra, low-priority apt source built from the mirror this
//! machine already uses, bootstrap a Python-2-capable pip from PyPI wheels (fetched with the
//! machine's Python 3 pip), and `pip install autobahntestsuite`. Every step is skipped when
//! its result is already there, so running this again is cheap.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::{self, Context, Result, bail, step};

/// The interpreter the testsuite runs on (Debian's, from bullseye).
pub const PYTHON2: &str = "/usr/bin/python2.7";
/// The testsuite release; it pins its own (Python 2) dependency set.
const AUTOBAHN_TESTSUITE: &str = "autobahntestsuite==25.10.1";
/// The last releases of pip/setuptools/wheel that still run on Python 2.7 (universal wheels).
const BOOTSTRAP: [&str; 3] = ["pip==20.3.4", "setuptools==44.1.1", "wheel==0.37.1"];
/// What apt installs from bullseye (python2.7*) and bookworm (the rest, usually present
/// already). The C compiler and headers build the testsuite's few source-only dependencies
/// (Twisted's and wsaccel's extension modules); cryptography comes as a manylinux wheel, so no
/// libssl/libffi headers are needed.
const APT_PACKAGES: [&str; 4] = ["python2.7", "python2.7-dev", "gcc", "libc6-dev"];
/// The Debian release that still ships Python 2.7.
const OLD_SUITE: &str = "bullseye";

const DEB822_SOURCES: &str = "/etc/apt/sources.list.d/debian.sources";
const LEGACY_SOURCES: &str = "/etc/apt/sources.list";
const OUR_SOURCES: &str = "/etc/apt/sources.list.d/wintergreen-bullseye.sources";
const OUR_PREFERENCES: &str = "/etc/apt/preferences.d/wintergreen-bullseye";
const DEFAULT_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// An installed testsuite.
#[derive(Debug, Clone)]
pub struct Testsuite {
    /// Python 2.7 with `autobahntestsuite` importable.
    pub python: PathBuf,
    /// The `wstest` console script pip wrote.
    pub wstest: PathBuf,
}

pub fn run(args: &[String]) -> Result<()> {
    if let Some(arg) = args.first() {
        bail!("autobahn-install takes no arguments (got `{arg}`)");
    }
    let ts = ensure()?;
    step!(
        "Autobahn|Testsuite is ready: {} (python: {})",
        ts.wstest.display(),
        ts.python.display()
    );
    Ok(())
}

/// Makes sure the testsuite is installed, installing what is missing.
pub fn ensure() -> Result<Testsuite> {
    if let Some(ts) = installed() {
        step!(
            "Autobahn|Testsuite already installed ({})",
            ts.wstest.display()
        );
        return Ok(ts);
    }
    let started = Instant::now();
    step!(
        "installing Autobahn|Testsuite natively (Python 2.7 from Debian {OLD_SUITE}, {AUTOBAHN_TESTSUITE} from PyPI)"
    );
    if !is_root() {
        bail!(
            "installing Autobahn|Testsuite needs root (apt-get, pip into the system Python 2.7); run `sudo cargo xtask autobahn-install` once, or use docker-compose.yml"
        );
    }

    let python = Path::new(PYTHON2);
    let headers = Path::new("/usr/include/python2.7/Python.h");
    if !python.exists() || !headers.exists() || util::which("gcc").is_none() {
        install_python2()?;
    } else {
        step!("[1/3] {PYTHON2} and its headers are present; apt not needed");
    }

    if util::succeeds(
        Command::new(PYTHON2).args(["-c", "import pip, setuptools, wheel"]),
        Duration::from_secs(60),
    ) {
        step!("[2/3] pip/setuptools/wheel already present for Python 2.7");
    } else {
        bootstrap_pip()?;
    }

    step!("[3/3] pip-installing {AUTOBAHN_TESTSUITE} into Python 2.7");
    util::run(
        py2_pip().args(["install", "--disable-pip-version-check", AUTOBAHN_TESTSUITE]),
        Duration::from_secs(20 * 60),
    )?;

    match installed() {
        Some(ts) => {
            step!(
                "installed Autobahn|Testsuite in {} ({})",
                util::fmt_duration(started.elapsed()),
                ts.wstest.display()
            );
            Ok(ts)
        }
        None => bail!(
            "{AUTOBAHN_TESTSUITE} was installed but `{PYTHON2} -c 'import autobahntestsuite.wstest'` still fails or no `wstest` script was found"
        ),
    }
}

/// The testsuite, if it is fully there: Python 2.7, the package and its dependencies
/// importable (`wstest` imports Twisted, autobahn and every test mode), and the `wstest` script.
pub fn installed() -> Option<Testsuite> {
    let python = PathBuf::from(PYTHON2);
    if !python.exists() {
        return None;
    }
    let mut imports = Command::new(&python);
    imports.args(["-c", "import autobahntestsuite, autobahntestsuite.wstest"]);
    if !util::succeeds(&mut imports, Duration::from_secs(60)) {
        return None;
    }
    let wstest = find_wstest()?;
    Some(Testsuite { python, wstest })
}

/// Where pip put `wstest`: Debian's Python installs console scripts for root in
/// /usr/local/bin; anything else on PATH is accepted as long as it is a Python 2 script.
fn find_wstest() -> Option<PathBuf> {
    let candidates = [
        PathBuf::from("/usr/local/bin/wstest"),
        PathBuf::from("/usr/bin/wstest"),
    ];
    candidates
        .into_iter()
        .chain(util::which("wstest"))
        .find(|p| {
            util::is_executable(p)
                && first_line(p).is_some_and(|l| l.starts_with("#!") && l.contains("python2"))
        })
}

fn first_line(p: &Path) -> Option<String> {
    let text = fs::read(p).ok()?;
    let line = text.split(|&b| b == b'\n').next()?;
    Some(String::from_utf8_lossy(line).into_owned())
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to the effective user of this process.
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn py2_pip() -> Command {
    let mut cmd = Command::new(PYTHON2);
    cmd.args(["-m", "pip"])
        .env("PIP_NO_PYTHON_VERSION_WARNING", "1");
    cmd
}

// ---------------------------------------------------------------------------------------------
// Step 1: apt

fn install_python2() -> Result<()> {
    let codename = os_codename().unwrap_or_else(|| "bookworm".to_owned());
    let source = debian_source(&codename)?;
    crate::system::consent(&[
        format!(
            "write {OUR_SOURCES}: Debian {OLD_SUITE} as an extra apt source (mirror {}, from this machine's {codename} source)",
            source.uri
        ),
        format!("write {OUR_PREFERENCES}: pin {OLD_SUITE} to priority 100, below {codename}"),
        format!("apt-get update; apt-get install {}", APT_PACKAGES.join(" ")),
    ])?;
    step!(
        "[1/3] adding Debian {OLD_SUITE} as a low-priority apt source (mirror {} from this machine's {codename} source)",
        source.uri
    );
    let preferences = format!(
        "Explanation: Written by `cargo xtask autobahn-install` (wintergreen). Debian {OLD_SUITE} is here only\n\
         Explanation: for packages {codename} lacks (python2.7); never prefer it over {codename}.\n\
         Package: *\n\
         Pin: release n={OLD_SUITE}\n\
         Pin-Priority: 100\n"
    );
    write_if_changed(Path::new(OUR_PREFERENCES), &preferences)?;

    // The regular mirror first; once a suite is retired Debian moves it to its archive
    // service, whose address follows the mirror's (see `archive_uri`).
    let mut tried: Vec<String> = Vec::new();
    let candidates = [Some(source.uri.clone()), archive_uri(&source.uri)];
    for uri in candidates.into_iter().flatten() {
        write_if_changed(
            Path::new(OUR_SOURCES),
            &sources_stanza(&uri, &source.signed_by),
        )?;
        let outcome = crate::system::apt_update_forced(true).and_then(|()| {
            if python2_candidate() {
                Ok(())
            } else {
                bail!("apt knows no installable python2.7 from {uri} {OLD_SUITE}")
            }
        });
        match outcome {
            Ok(()) => {
                crate::system::apt_install(&APT_PACKAGES)?;
                if !Path::new(PYTHON2).exists() {
                    bail!("apt-get installed {APT_PACKAGES:?} but {PYTHON2} is missing");
                }
                return Ok(());
            }
            Err(e) => {
                step!("Debian {OLD_SUITE} from {uri} did not work: {e}");
                tried.push(format!("{uri}: {e}"));
            }
        }
    }
    // Leave no source behind that breaks every later `apt-get update` on this machine.
    let _ = fs::remove_file(OUR_SOURCES);
    bail!(
        "could not install python2.7 from Debian {OLD_SUITE}; tried:\n  {}\n\
         (the suite may have moved: set a working mirror for {codename} in {DEB822_SOURCES}, or use docker-compose.yml)",
        tried.join("\n  ")
    )
}

fn sources_stanza(uri: &str, signed_by: &str) -> String {
    format!(
        "# Written by `cargo xtask autobahn-install` (wintergreen): Debian {OLD_SUITE} only for python2.7,\n\
         # which Autobahn|Testsuite needs. Pinned to priority 100 in {OUR_PREFERENCES}.\n\
         Types: deb\n\
         URIs: {uri}\n\
         Suites: {OLD_SUITE}\n\
         Components: main\n\
         Signed-By: {signed_by}\n"
    )
}

/// Does apt have an installable `python2.7` (a candidate version)?
fn python2_candidate() -> bool {
    util::output(
        Command::new("apt-cache").args(["policy", "python2.7"]),
        Duration::from_secs(60),
    )
    .is_ok_and(|out| {
        out.lines()
            .filter_map(|l| l.trim().strip_prefix("Candidate:"))
            .any(|v| !v.trim().is_empty() && v.trim() != "(none)")
    })
}

/// Where Debian keeps a retired suite, derived from the regular mirror's URI: the same scheme
/// and path on the host whose first label is `archive` (`http://deb.<domain>/debian` →
/// `http://archive.<domain>/debian`). `None` when the host has no domain to keep, or when the
/// URI already points at an archive.
fn archive_uri(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once("://")?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (first, domain) = host.split_once('.')?;
    if first == "archive" || domain.is_empty() || host.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    Some(format!("{scheme}://archive.{domain}/{path}"))
}

fn write_if_changed(path: &Path, content: &str) -> Result<()> {
    if fs::read_to_string(path).is_ok_and(|old| old == content) {
        return Ok(());
    }
    step!("writing {}", path.display());
    fs::write(path, content).context(|| format!("writing {}", path.display()))
}

/// `VERSION_CODENAME` from /etc/os-release.
fn os_codename() -> Option<String> {
    let text = fs::read_to_string("/etc/os-release").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("VERSION_CODENAME="))
        .map(|v| v.trim().trim_matches('"').to_owned())
        .filter(|v| !v.is_empty())
}

#[derive(Debug, PartialEq)]
struct DebianSource {
    uri: String,
    signed_by: String,
}

/// The Debian mirror this machine uses for `codename`: the `URIs:` of the deb822 stanza whose
/// `Suites:` list `codename` itself (not `codename-security`), else the matching one-line
/// entry of /etc/apt/sources.list.
fn debian_source(codename: &str) -> Result<DebianSource> {
    if let Ok(text) = fs::read_to_string(DEB822_SOURCES) {
        if let Some(src) = parse_deb822(&text, codename) {
            return Ok(src);
        }
        step!("no `Suites: {codename}` stanza in {DEB822_SOURCES}; trying {LEGACY_SOURCES}");
    }
    if let Ok(text) = fs::read_to_string(LEGACY_SOURCES) {
        if let Some(src) = parse_one_line(&text, codename) {
            return Ok(src);
        }
    }
    bail!(
        "found no Debian `{codename}` apt source in {DEB822_SOURCES} or {LEGACY_SOURCES} to derive the mirror from"
    )
}

fn parse_deb822(text: &str, codename: &str) -> Option<DebianSource> {
    // Stanzas are separated by blank lines; `#` lines are comments; a line starting with
    // whitespace continues the previous field (only used here to notice inline keys).
    let mut stanzas: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for line in text.lines() {
        if line.trim().is_empty() {
            if stanzas.last().is_some_and(|s| !s.is_empty()) {
                stanzas.push(Vec::new());
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let Some(stanza) = stanzas.last_mut() else {
            continue;
        };
        if line.starts_with([' ', '\t']) {
            if let Some(last) = stanza.last_mut() {
                last.1.push('\n');
                last.1.push_str(line.trim());
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            stanza.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    stanzas.into_iter().find_map(|fields| {
        let get = |key: &str| {
            fields
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        let words = |key: &str| {
            get(key)
                .unwrap_or("")
                .split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        if get("enabled").is_some_and(|v| v.eq_ignore_ascii_case("no")) {
            return None;
        }
        if !words("types").iter().any(|t| t == "deb")
            || !words("suites").iter().any(|s| s == codename)
        {
            return None;
        }
        let uri = words("uris").into_iter().next()?;
        // A keyring path is reused; an inline key block (multi-line) is not, use Debian's.
        let signed_by = get("signed-by")
            .filter(|v| !v.is_empty() && !v.contains('\n') && v.starts_with('/'))
            .unwrap_or(DEFAULT_KEYRING)
            .to_owned();
        Some(DebianSource { uri, signed_by })
    })
}

fn parse_one_line(text: &str, codename: &str) -> Option<DebianSource> {
    text.lines().find_map(|line| {
        let line = line.split('#').next().unwrap_or("").trim();
        let rest = line.strip_prefix("deb ")?.trim_start();
        let mut signed_by = DEFAULT_KEYRING.to_owned();
        let rest = if let Some(opts) = rest.strip_prefix('[') {
            let (opts, rest) = opts.split_once(']')?;
            for opt in opts.split_whitespace() {
                if let Some(path) = opt.strip_prefix("signed-by=") {
                    signed_by = path.to_owned();
                }
            }
            rest
        } else {
            rest
        };
        let mut words = rest.split_whitespace();
        let uri = words.next()?;
        (words.next()? == codename).then(|| DebianSource {
            uri: uri.to_owned(),
            signed_by,
        })
    })
}

// ---------------------------------------------------------------------------------------------
// Step 2: pip for Python 2.7

fn bootstrap_pip() -> Result<()> {
    step!(
        "[2/3] bootstrapping {} for Python 2.7 from their universal wheels",
        BOOTSTRAP.join(", ")
    );
    crate::system::ensure(
        &[crate::system::PYTHON3, crate::system::PYTHON3_PIP],
        "bootstrapping pip for Python 2.7",
    )?;
    let python3 = ["python3", "/usr/bin/python3"]
        .into_iter()
        .find(|p| util::succeeds(Command::new(p).args(["-m", "pip", "--version"]), Duration::from_secs(60)))
        .ok_or("no `python3 -m pip` on this machine to download the Python 2.7 pip bootstrap wheels with")?;

    let dir =
        std::env::temp_dir().join(format!("wintergreen-py2-bootstrap-{}", std::process::id()));
    let _cleanup = RemoveDirOnDrop(dir.clone());
    fs::create_dir_all(&dir).context(|| format!("creating {}", dir.display()))?;
    util::run(
        Command::new(python3)
            .args([
                "-m",
                "pip",
                "download",
                "--disable-pip-version-check",
                "--no-deps",
                "--only-binary=:all:",
                "--dest",
            ])
            .arg(&dir)
            .args(BOOTSTRAP),
        Duration::from_secs(5 * 60),
    )?;

    let mut wheels: Vec<PathBuf> = fs::read_dir(&dir)
        .context(|| format!("listing {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "whl"))
        .collect();
    wheels.sort();
    let pip_wheel = wheels
        .iter()
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("pip-"))
        })
        .ok_or("pip download produced no pip wheel")?;
    if wheels.len() != BOOTSTRAP.len() {
        bail!(
            "expected {} bootstrap wheels, pip downloaded {wheels:?}",
            BOOTSTRAP.len()
        );
    }
    // A wheel is a zip with the package at its root, so Python can run pip straight from it.
    util::run(
        Command::new(PYTHON2)
            .arg(pip_wheel.join("pip"))
            .args(["install", "--disable-pip-version-check", "--no-index"])
            .args(&wheels)
            .env("PIP_NO_PYTHON_VERSION_WARNING", "1"),
        Duration::from_secs(5 * 60),
    )
}

struct RemoveDirOnDrop(PathBuf);

impl Drop for RemoveDirOnDrop {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEBIAN_SOURCES: &str = "Types: deb\n\
        # a comment line\n\
        URIs: http://mirror.example/debian\n\
        Suites: bookworm bookworm-updates\n\
        Components: main\n\
        Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\
        \n\
        Types: deb\n\
        URIs: http://mirror.example/debian-security\n\
        Suites: bookworm-security\n\
        Components: main\n\
        Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n";

    #[test]
    fn deb822_picks_the_stanza_listing_the_release_itself() {
        let src = parse_deb822(DEBIAN_SOURCES, "bookworm").unwrap();
        assert_eq!(src.uri, "http://mirror.example/debian");
        assert_eq!(src.signed_by, DEFAULT_KEYRING);
        assert_eq!(parse_deb822(DEBIAN_SOURCES, "trixie"), None);
    }

    #[test]
    fn deb822_skips_security_only_and_disabled_stanzas() {
        let text = "Types: deb\nURIs: http://a.example/debian-security\nSuites: bookworm-security\n\n\
                    Types: deb\nEnabled: no\nURIs: http://b.example/debian\nSuites: bookworm\n\n\
                    Types: deb-src deb\nURIs: http://c.example/debian http://d.example/debian\nSuites: bookworm\n\
                    Signed-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n";
        let src = parse_deb822(text, "bookworm").unwrap();
        assert_eq!(src.uri, "http://c.example/debian");
        assert_eq!(src.signed_by, DEFAULT_KEYRING);
    }

    #[test]
    fn archive_location_follows_the_mirror() {
        assert_eq!(
            archive_uri("http://deb.example.org/debian").as_deref(),
            Some("http://archive.example.org/debian")
        );
        assert_eq!(
            archive_uri("https://mirror.example.net/debian/").as_deref(),
            Some("https://archive.example.net/debian/")
        );
        assert_eq!(archive_uri("http://archive.example.org/debian"), None);
        assert_eq!(archive_uri("http://10.0.0.1/debian"), None);
        assert_eq!(archive_uri("http://localhost/debian"), None);
    }

    #[test]
    fn one_line_format() {
        let text = "# deb http://old.example/debian bookworm main\n\
                    deb http://sec.example/debian-security bookworm-security main\n\
                    deb [arch=amd64 signed-by=/etc/k.gpg] http://m.example/debian bookworm main contrib\n";
        let src = parse_one_line(text, "bookworm").unwrap();
        assert_eq!(
            src,
            DebianSource {
                uri: "http://m.example/debian".into(),
                signed_by: "/etc/k.gpg".into()
            }
        );
    }
}
