//! The `doc` step: the docs as a user reads them.
//!
//! 1. `cargo doc --workspace --all-features --no-deps` with `-D warnings`: every public item of
//!    every crate is documented and every intra-doc link resolves.
//! 2. `cargo doc -p wintergreen --all-features --no-deps`, exactly the command a user (and
//!    docs.rs) runs for the facade, with `-D warnings`; then its HTML is read as a user reads
//!    it. rustdoc checks intra-doc links only in the crate that writes them: docs inlined into
//!    the facade from the other crates (re-exported items, modules, crates) are rendered
//!    without a warning even when their link has no page in the facade's docs. Such a link
//!    shows as literal text (`[Stream]`, `` [`Session`] ``, `[http::Request<()>]`) or as an
//!    anchor whose target is a Rust path (`href="codec::Session"`) or a page outside the
//!    facade's docs (another crate's, absent with `--no-deps`). All three are faults, in the
//!    item pages' doc blocks and in the one-line summaries of the module pages alike.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::util::{self, Context, Result, bail, step};

/// The facade's rendered docs, under cargo's target directory.
const FACADE_DOCS: &str = "doc/wintergreen";
/// Modules of the facade that are foreign crates re-exported whole; their prose is theirs.
const FOREIGN: [&str; 6] = [
    "rustls",
    "tokio_rustls",
    "http",
    "bytes",
    "webpki_roots",
    "h2",
];

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
    let root = util::target_dir().join(FACADE_DOCS);
    let mut pages = Vec::new();
    html_files(&root, &mut pages)?;
    let canonical_root = root
        .canonicalize()
        .context(|| format!("resolving {}", root.display()))?;
    let mut found = Vec::new();
    for page in &pages {
        let html = fs::read_to_string(page).context(|| format!("reading {}", page.display()))?;
        let dir = page.parent().unwrap_or(&root);
        let local = |href: &str| {
            dir.join(href)
                .canonicalize()
                .is_ok_and(|page| page.starts_with(&canonical_root))
        };
        for fault in broken_links(&html, local) {
            found.push(format!("{}: {fault}", page.display()));
        }
    }
    if !found.is_empty() {
        for f in &found {
            step!("broken doc link: {f}");
        }
        bail!(
            "{} doc link(s) in {} lead nowhere (see above)",
            found.len(),
            root.display()
        );
    }
    step!(
        "docs: {} pages of {}, every link leads to a page of them",
        pages.len(),
        root.display()
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

/// The faults of one page's prose: literal `[links]`, and anchors whose `href` is not a page
/// of the facade's docs (`local` judges a relative href, fragment removed).
fn broken_links(html: &str, local: impl Fn(&str) -> bool) -> Vec<String> {
    let mut faults = Vec::new();
    for prose in prose_blocks(html) {
        faults.extend(bracketed_names(&prose.text));
        for href in prose.hrefs {
            if let Some(why) = href_fault(&href, &local) {
                faults.push(format!("href=\"{href}\" ({why})"));
            }
        }
    }
    faults
}

/// Why an anchor in prose leads nowhere, if it does.
fn href_fault(href: &str, local: impl Fn(&str) -> bool) -> Option<&'static str> {
    if href.starts_with('#') || href.contains("://") || href.starts_with("mailto:") {
        return None;
    }
    let path = href.split('#').next().unwrap_or(href);
    if path.contains("::") || !path.ends_with(".html") {
        return Some("a Rust path rustdoc could not turn into a page");
    }
    (!local(path)).then_some("no such page in the facade's docs")
}

/// Prose of one doc block or item summary: its text with code spans as `` `code` `` (their
/// own brackets dropped, so `v[i]` is no link), and the `href`s of its anchors.
#[derive(Default)]
struct Prose {
    text: String,
    hrefs: Vec<String>,
}

/// The prose of the page's doc blocks (`<div class="docblock…">`, either quote) and of the
/// item summaries of module pages (`<dd>`), outside `<pre>` and outside the trait and blanket
/// implementation lists (there the prose is the trait's, checked on the trait's own page, or
/// a foreign crate's). A small scanner, enough for rustdoc's well-formed output.
fn prose_blocks(html: &str) -> Vec<Prose> {
    let html = without_impl_lists(html);
    let mut blocks = Vec::new();
    let mut rest = html.as_str();
    loop {
        // rustdoc writes `class="docblock"`, and `class='docblock'` in some sections.
        let next = ["<div class=\"docblock", "<div class='docblock", "<dd>"]
            .iter()
            .filter_map(|open| rest.find(open).map(|at| (at, *open)))
            .min();
        let Some((start, open)) = next else { break };
        let element = if open == "<dd>" { "dd" } else { "div" };
        rest = &rest[start..];
        let mut depth = 0usize;
        let mut pre = 0usize;
        let mut code = 0usize;
        let mut prose = Prose::default();
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
                    (n, false) if n == element => depth += 1,
                    (n, true) if n == element => depth = depth.saturating_sub(1),
                    ("pre", false) => pre += 1,
                    ("pre", true) => pre = pre.saturating_sub(1),
                    ("code", open) if pre == 0 => {
                        code = if open {
                            code.saturating_sub(1)
                        } else {
                            code + 1
                        };
                        prose.text.push('`');
                    }
                    ("a", false) if pre == 0 => {
                        if let Some(href) = attribute(tag, "href") {
                            prose.hrefs.push(href);
                        }
                    }
                    _ => {}
                }
                i += end;
                if depth == 0 {
                    break;
                }
                continue;
            }
            let (ch, len) = next_char(tail);
            if pre == 0 && !(code > 0 && (ch == '[' || ch == ']')) {
                prose.text.push(ch);
            }
            i += len;
        }
        blocks.push(prose);
        rest = &rest[i.min(rest.len())..];
    }
    blocks
}

/// The page without the trait and blanket implementation lists.
fn without_impl_lists(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    loop {
        let next = [
            "<div id=\"trait-implementations-list\"",
            "<div id=\"synthetic-implementations-list\"",
            "<div id=\"blanket-implementations-list\"",
        ]
        .iter()
        .filter_map(|open| rest.find(open))
        .min();
        let Some(start) = next else { break };
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        // Skip to the matching `</div>`.
        let mut depth = 0usize;
        let mut i = 0;
        while let Some(at) = rest[i..].find("div") {
            let at = i + at;
            if rest[..at].ends_with('<') {
                depth += 1;
            } else if rest[..at].ends_with("</") {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    i = at;
                    break;
                }
            }
            i = at + 3;
        }
        rest = &rest[i.min(rest.len())..];
        if i == 0 {
            break;
        }
    }
    out.push_str(rest);
    out
}

/// One character of text, with the entities rustdoc writes decoded.
fn next_char(text: &str) -> (char, usize) {
    for (entity, ch) in [
        ("&lt;", '<'),
        ("&gt;", '>'),
        ("&amp;", '&'),
        ("&quot;", '"'),
        ("&#39;", '\''),
    ] {
        if text.starts_with(entity) {
            return (ch, entity.len());
        }
    }
    let ch = text.chars().next().unwrap_or(' ');
    (ch, ch.len_utf8())
}

/// The value of a tag's attribute, e.g. `href` of `<a href="x.html">`.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let len = tag[at..].find('"')?;
    Some(tag[at..at + len].to_owned())
}

/// Bracketed Rust paths in prose: `[Name]`, `` [`Name`] ``, `[a::b]`, `[f()]`,
/// `[http::Request<()>]`, but not `[1, 2]` or `[see RFC 6455]`.
fn bracketed_names(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        rest = &rest[open + 1..];
        let Some(close) = rest.find(']') else { break };
        let inner = rest[..close].trim_matches('`');
        if looks_like_path(inner) {
            found.push(format!("[{}]", &rest[..close]));
        }
    }
    found
}

/// A Rust path, optionally with generics and a trailing `()`: letters, digits, `_`, `::`;
/// inside `<…>` also `(`, `)`, `&`, `'`, `,` and spaces.
fn looks_like_path(inner: &str) -> bool {
    let inner = inner.strip_suffix("()").unwrap_or(inner);
    let mut angle = 0usize;
    let starts_well = inner
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    starts_well
        && inner.chars().all(|c| match c {
            '<' => {
                angle += 1;
                true
            }
            '>' => {
                let inside = angle > 0;
                angle = angle.saturating_sub(1);
                inside
            }
            c if c.is_ascii_alphanumeric() || c == '_' || c == ':' => true,
            '(' | ')' | '&' | '\'' | ',' | ' ' => angle > 0,
            _ => false,
        })
        && angle == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faults(html: &str) -> Vec<String> {
        broken_links(html, |href| href == "struct.Stream.html")
    }

    #[test]
    fn a_literal_link_in_prose_is_found() {
        let html = "<div class='docblock'><p>Yields a [Stream] of \
                    [<code>Session</code>]s, an [http::Request&lt;()&gt;] and \
                    [<code>Stream::poll_next()</code>]</p><pre>let x = [a];</pre></div>";
        assert_eq!(
            faults(html),
            [
                "[Stream]",
                "[`Session`]",
                "[http::Request<()>]",
                "[`Stream::poll_next()`]"
            ]
        );
    }

    #[test]
    fn a_summary_on_a_module_page_is_read() {
        let html = "<dl class=\"item-table\"><dt><a href=\"struct.Stream.html\">Stream</a></dt>\
                    <dd>The receiving half: a [<code>Stream</code>] of messages.</dd></dl>";
        assert_eq!(faults(html), ["[`Stream`]"]);
    }

    #[test]
    fn an_anchor_to_a_rust_path_or_a_missing_page_is_found() {
        let html = "<div class=\"docblock\"><p>The <a href=\"codec::Session\">Session</a>, \
                    <a href=\"../wintergreen_codec/struct.Session.html#method.receive\">receive</a>\
                    </p></div>";
        assert_eq!(
            faults(html),
            [
                "href=\"codec::Session\" (a Rust path rustdoc could not turn into a page)",
                "href=\"../wintergreen_codec/struct.Session.html#method.receive\" (no such page \
                 in the facade's docs)",
            ]
        );
    }

    #[test]
    fn code_and_resolved_links_are_not() {
        let html = "<div class=\"docblock\"><p>A <a href=\"struct.Stream.html#x\"><code>Stream</code></a>, \
                    <code>v[i]</code>, an array [1, 2], a note [see RFC 6455], a \
                    <a href=\"https://example.org/\">site</a> and <a href=\"#s\">a section</a>.</p>\
                    <div class=\"example-wrap\"><pre>x[0]</pre></div></div><p>[Outside]</p>";
        assert!(faults(html).is_empty(), "{:?}", faults(html));
    }

    #[test]
    fn a_trait_implementation_list_is_the_trait_s_prose() {
        let html = "<div id=\"blanket-implementations-list\"><div><div class=\"docblock\">\
                    <p>[<code>Span</code>]</p></div></div></div>\
                    <div class=\"docblock\"><p>[Mine]</p></div>";
        assert_eq!(faults(html), ["[Mine]"]);
    }
}
