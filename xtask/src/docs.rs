//! The `doc` step: the docs as a user reads them.
//!
//! 1. `cargo doc --workspace --all-features --no-deps` with `-D warnings`: every public item of
//!    every crate is documented and every intra-doc link resolves.
//! 2. `cargo doc -p wintergreen --all-features --no-deps`, exactly the command a user (and
//!    docs.rs) runs for the facade, with `-D warnings`; then its HTML is read for links that
//!    rustdoc left as literal text: a `[Stream]` or `` [`Session`] `` in prose means a link that
//!    did not resolve where the item is re-exported, which rustdoc does not always warn about.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::util::{self, Context, Result, bail, step};

/// The facade's rendered docs, relative to the project root.
const FACADE_DOCS: &str = "target/doc/wintergreen";
/// Modules of the facade that are foreign crates re-exported whole; their prose is theirs.
const FOREIGN: [&str; 5] = ["rustls", "tokio_rustls", "http", "bytes", "webpki_roots"];

pub fn run() -> Result<()> {
    for args in [
        &["doc", "--workspace", "--all-features", "--no-deps"][..],
        &["doc", "-p", "wintergreen", "--all-features", "--no-deps"][..],
    ] {
        let mut cmd = util::cargo();
        cmd.args(args)
            .current_dir(util::project_root())
            .env("RUSTDOCFLAGS", "-D warnings");
        util::run(&mut cmd, Duration::from_secs(15 * 60))?;
    }
    let root = util::project_root().join(FACADE_DOCS);
    let mut pages = Vec::new();
    html_files(&root, &mut pages)?;
    let mut found = Vec::new();
    for page in &pages {
        let html = fs::read_to_string(page).context(|| format!("reading {}", page.display()))?;
        for text in literal_links(&html) {
            found.push(format!("{}: {text}", page.display()));
        }
    }
    if !found.is_empty() {
        for f in &found {
            step!("unresolved link rendered as text: {f}");
        }
        bail!(
            "{} unresolved doc link(s) in {FACADE_DOCS} (see above)",
            found.len()
        );
    }
    step!(
        "docs: {} pages of {FACADE_DOCS}, no literal [links]",
        pages.len()
    );
    Ok(())
}

fn html_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = fs::read_dir(dir).context(|| format!("listing {}", dir.display()))?;
    for entry in entries {
        let path = entry
            .context(|| format!("listing {}", dir.display()))?
            .path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            if !FOREIGN.contains(&name) {
                html_files(&path, out)?;
            }
        } else if name.ends_with(".html") {
            out.push(path);
        }
    }
    Ok(())
}

/// Bracketed names (`[Name]`, `` [`Name`] ``, `[a::b]`, `[f()]`) in the prose of the page's doc
/// blocks, outside `<code>` and `<pre>`.
fn literal_links(html: &str) -> Vec<String> {
    prose_of_docblocks(html)
        .iter()
        .flat_map(|text| bracketed_names(text))
        .collect()
}

/// The text inside `<div class="docblock…">` elements, with `<code>`/`<pre>` content and tags
/// removed. A small scanner, enough for rustdoc's well-formed output.
fn prose_of_docblocks(html: &str) -> Vec<String> {
    let mut texts = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<div class=\"docblock") {
        rest = &rest[start..];
        let mut depth = 0usize;
        let mut skip = 0usize; // inside <code>/<pre>
        let mut text = String::new();
        let mut i = 0;
        while i < rest.len() {
            let tail = &rest[i..];
            if tail.starts_with('<') {
                let end = tail.find('>').map_or(tail.len(), |e| e + 1);
                let tag = &tail[..end];
                let closing = tag.starts_with("</");
                let name: String = tag
                    .trim_start_matches(['<', '/'])
                    .chars()
                    .take_while(char::is_ascii_alphanumeric)
                    .collect();
                match (name.as_str(), closing) {
                    ("div", false) => depth += 1,
                    ("div", true) => depth = depth.saturating_sub(1),
                    ("code" | "pre", false) => skip += 1,
                    ("code" | "pre", true) => skip = skip.saturating_sub(1),
                    _ => {}
                }
                i += end;
                if depth == 0 {
                    break;
                }
                continue;
            }
            let ch = tail.chars().next().unwrap_or(' ');
            if skip == 0 {
                text.push(ch);
            }
            i += ch.len_utf8();
        }
        texts.push(text);
        rest = &rest[i.min(rest.len())..];
    }
    texts
}

fn bracketed_names(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        rest = &rest[open + 1..];
        let Some(close) = rest.find(']') else { break };
        let inner = rest[..close].trim_matches('`');
        let inner = inner.strip_suffix("()").unwrap_or(inner);
        let looks_like_path = inner
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && inner
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
        if looks_like_path {
            found.push(format!("[{}]", &rest[..close]));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_literal_link_in_prose_is_found() {
        let html = "<div class=\"docblock\"><p>Yields a [Stream] of [`Message`]s and \
                    [<code>Session</code>]</p><pre>let x = [a];</pre></div>";
        assert_eq!(literal_links(html), ["[Stream]", "[`Message`]"]);
    }

    #[test]
    fn code_and_resolved_links_are_not() {
        let html = "<div class=\"docblock\"><p>A <a href=\"x.html\"><code>Stream</code></a>, \
                    <code>v[i]</code>, an array [1, 2] and a note [see RFC 6455].</p>\
                    <div class=\"example-wrap\"><pre>x[0]</pre></div></div><p>[Outside]</p>";
        assert!(literal_links(html).is_empty(), "{:?}", literal_links(html));
    }
}
