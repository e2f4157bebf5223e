//! The reports' markdown: table headers, numbers, and where a report goes.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use anyhow::{Context as _, Result};

/// A table's header row and its separator: `| first | c1 | c2 |` then `|---|---|---|`.
pub fn header(first: &str, columns: &[&str]) -> String {
    let mut s = format!("| {first} |");
    for c in columns {
        let _ = write!(s, " {c} |");
    }
    s.push_str("\n|---|");
    for _ in columns {
        s.push_str("---|");
    }
    s.push('\n');
    s
}

/// `n` with a comma between each group of three digits: `10,000`.
pub fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Prints `report` on stdout and writes it to `out` (its folder created).
#[allow(clippy::print_stdout, clippy::print_stderr)]
pub fn publish(report: &str, out: &Path) -> Result<()> {
    println!("\n{report}");
    if let Some(dir) = out.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    fs::write(out, report).with_context(|| format!("writing {}", out.display()))?;
    eprintln!("report written to {}", out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_from_the_right() {
        assert_eq!(thousands(7), "7");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(50_000), "50,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn header_has_one_separator_per_column() {
        assert_eq!(header("x", &["a", "b"]), "| x | a | b |\n|---|---|---|\n");
    }
}
