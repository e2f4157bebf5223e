//! `cargo xtask readme`: the README's client and server, exactly as written, in a crate of
//! their own outside the workspace, built with the README's `[dependencies]` block (the facade
//! by path instead of from the registry) and run against each other on a free port.
//!
//! The doc tests (`cargo test --doc -p wintergreen`) already compile every Rust block of the
//! README, but inside the workspace, with the facade's dev-dependencies and features. This step
//! proves what a new user sees: the listed dependencies are enough, and the client ends by
//! itself after the echo.
//!
//! The blocks are found by the HTML comments `<!-- readme-check: server -->` and
//! `<!-- readme-check: client -->` right before them (invisible when the README is rendered).

use std::fmt::Write as _;
use std::fs;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{self, ChildGuard, Context, Result, bail, step};

/// Where the scratch crate is written (inside the workspace's target directory, so that it is
/// ignored by git and shares the compiled dependencies).
const CHECK_DIR: &str = "target/readme-check";
/// How the README names the facade; replaced by a path dependency.
const REGISTRY_DEP: &str = "wintergreen = \"0.1\"";
/// What the client must print once the echo came back.
const EXPECTED_ECHO: &str = "echo: Text(";

pub fn run(args: &[String]) -> Result<()> {
    if let Some(arg) = args.first() {
        bail!("readme takes no arguments (got `{arg}`)");
    }
    let root = util::project_root();
    let readme = fs::read_to_string(root.join("README.md")).context(|| "reading README.md")?;
    let blocks = Blocks::parse(&readme)?;

    let dir = root.join(CHECK_DIR);
    write_crate(&root, &dir, &blocks)?;

    let mut build = util::cargo();
    build
        .args(["build", "--bins", "--quiet"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", root.join("target"));
    util::run(&mut build, Duration::from_secs(15 * 60))?;

    let bin = root.join("target/debug");
    let addr = free_loopback_addr()?;
    step!("readme: starting the README server on {addr}");
    let server = Command::new(bin.join("readme-server"))
        .arg(addr.to_string())
        .stdin(Stdio::null())
        .spawn()
        .context(|| "starting the README server")?;
    let mut server = ChildGuard::new(server, "readme-server");
    wait_listening(addr, &mut server, Duration::from_secs(20))?;

    step!("readme: running the README client against ws://{addr}/");
    let mut client = Command::new(bin.join("readme-client"));
    client.arg(format!("ws://{addr}/")).stdin(Stdio::null());
    let out = util::output(&mut client, Duration::from_secs(30))
        .map_err(|e| util::Error(format!("the README client did not end by itself: {e}")))?;
    print!("{out}");
    if !out.contains(EXPECTED_ECHO) {
        bail!("the README client exited without printing the echo (`{EXPECTED_ECHO}…`)");
    }
    server.kill();
    step!("readme: the client got its echo and exited by itself");
    Ok(())
}

/// The parts of the README this step needs.
#[derive(Debug, PartialEq)]
struct Blocks {
    /// The lines of the `[dependencies]` TOML block, the `[dependencies]` line excluded.
    dependencies: String,
    server: String,
    client: String,
}

impl Blocks {
    fn parse(readme: &str) -> Result<Blocks> {
        let dependencies = fenced_blocks(readme)
            .into_iter()
            .find_map(|(info, body, _)| {
                let rest = body.strip_prefix("[dependencies]\n")?;
                (info == "toml").then(|| rest.to_owned())
            })
            .ok_or("README.md has no ```toml block starting with `[dependencies]`")?;
        if !dependencies.lines().any(|l| l.trim() == REGISTRY_DEP) {
            bail!("the README's [dependencies] block must name the facade as `{REGISTRY_DEP}`");
        }
        Ok(Blocks {
            dependencies,
            server: marked_block(readme, "server")?,
            client: marked_block(readme, "client")?,
        })
    }
}

/// Every fenced block: (info string, body, the non-blank line before the fence).
fn fenced_blocks(text: &str) -> Vec<(String, String, String)> {
    let mut blocks = Vec::new();
    let mut lines = text.lines();
    let mut before = String::new();
    while let Some(line) = lines.next() {
        let Some(info) = line.strip_prefix("```") else {
            if !line.trim().is_empty() {
                before = line.trim().to_owned();
            }
            continue;
        };
        let mut body = String::new();
        for inner in lines.by_ref() {
            if inner.starts_with("```") {
                break;
            }
            body.push_str(inner);
            body.push('\n');
        }
        blocks.push((info.trim().to_owned(), body, std::mem::take(&mut before)));
    }
    blocks
}

/// The Rust block right after `<!-- readme-check: NAME -->`, which must be a whole program
/// with no hidden (`# `) lines: it is pasted as written.
fn marked_block(readme: &str, name: &str) -> Result<String> {
    let marker = format!("<!-- readme-check: {name} -->");
    let found: Vec<_> = fenced_blocks(readme)
        .into_iter()
        .filter(|(_, _, before)| *before == marker)
        .collect();
    let [(info, body, _)] = found.as_slice() else {
        bail!(
            "README.md must have exactly one code block right after `{marker}` (found {})",
            found.len()
        );
    };
    if !info.starts_with("rust") {
        bail!("the block after `{marker}` is `{info}`, not Rust");
    }
    if body.lines().any(|l| l.trim_start().starts_with("# ")) {
        bail!("the block after `{marker}` hides lines (`# `): a user could not paste it as is");
    }
    if !body.contains("fn main(") {
        bail!("the block after `{marker}` is not a whole program (no `fn main`)");
    }
    Ok(body.clone())
}

fn write_crate(root: &Path, dir: &Path, blocks: &Blocks) -> Result<()> {
    let facade = root.join("crates/wintergreen");
    let mut dependencies = String::new();
    for line in blocks.dependencies.lines() {
        if line.trim() == REGISTRY_DEP {
            let _ = writeln!(dependencies, "wintergreen = {{ path = {:?} }}", facade);
        } else {
            dependencies.push_str(line);
            dependencies.push('\n');
        }
    }
    let manifest = format!(
        "# Written by `cargo xtask readme` from README.md; do not edit.\n\
         [package]\n\
         name = \"readme-check\"\n\
         version = \"0.0.0\"\n\
         edition = \"2024\"\n\
         publish = false\n\n\
         # Its own workspace: nothing of wintergreen's is inherited.\n\
         [workspace]\n\n\
         [[bin]]\n\
         name = \"readme-server\"\n\
         path = \"src/server.rs\"\n\n\
         [[bin]]\n\
         name = \"readme-client\"\n\
         path = \"src/client.rs\"\n\n\
         [dependencies]\n\
         {dependencies}"
    );
    let src = dir.join("src");
    fs::create_dir_all(&src).context(|| format!("creating {}", src.display()))?;
    let write = |path: &Path, text: &str| {
        fs::write(path, text).context(|| format!("writing {}", path.display()))
    };
    write(&dir.join("Cargo.toml"), &manifest)?;
    write(&src.join("server.rs"), &blocks.server)?;
    write(&src.join("client.rs"), &blocks.client)?;
    // The workspace's lock file keeps the dependency versions the rest of CI tested (cargo
    // drops the entries this crate does not need and adds its own root).
    fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock"))
        .context(|| "copying Cargo.lock into the README crate")?;
    Ok(())
}

/// A loopback port that was free a moment ago (bind to port 0, read it, release it).
fn free_loopback_addr() -> Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").context(|| "binding 127.0.0.1:0")?;
    listener
        .local_addr()
        .context(|| "reading the ephemeral port")
}

fn wait_listening(addr: SocketAddr, server: &mut ChildGuard, limit: Duration) -> Result<()> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            bail!("the README server exited before listening ({status})");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!(
        "the README server did not listen on {addr} within {}",
        util::fmt_duration(limit)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const README: &str = "# x\n\n```toml\n[dependencies]\nwintergreen = \"0.1\"\ntokio = \"1\"\n```\n\n\
        <!-- readme-check: server -->\n```rust,no_run\nfn main() {}\n```\n\n\
        text\n\n<!-- readme-check: client -->\n\n```rust\nfn main() { println!(); }\n```\n\n\
        ```rust\nfn other() {}\n```\n";

    #[test]
    fn finds_the_dependencies_and_the_marked_programs() {
        let blocks = Blocks::parse(README).unwrap();
        assert_eq!(
            blocks.dependencies,
            "wintergreen = \"0.1\"\ntokio = \"1\"\n"
        );
        assert_eq!(blocks.server, "fn main() {}\n");
        assert_eq!(blocks.client, "fn main() { println!(); }\n");
    }

    #[test]
    fn a_block_with_hidden_lines_is_refused() {
        let readme = README.replace("fn main() {}", "# use x;\nfn main() {}");
        let err = Blocks::parse(&readme).unwrap_err();
        assert!(err.0.contains("hides lines"), "{err}");
    }

    #[test]
    fn a_missing_marker_is_an_error() {
        let readme = README.replace("<!-- readme-check: client -->", "");
        let err = Blocks::parse(&readme).unwrap_err();
        assert!(err.0.contains("readme-check: client"), "{err}");
    }

    #[test]
    fn the_facade_must_be_named_as_users_name_it() {
        let readme = README.replace("wintergreen = \"0.1\"", "wintergreen = \"*\"");
        assert!(Blocks::parse(&readme).is_err());
    }
}
