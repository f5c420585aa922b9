//! The diff of a `ruff-format` failure: `ruff format --diff` (the same files and settings as
//! the check) split per file, so that each unformatted file's finding carries what the
//! formatter would change, for the terminal, the Markdown summary and the annotations.
//!
//! ruff prints one unified diff per file, each starting with `--- PATH` and `+++ PATH`, on
//! stdout (its summary goes to stderr). A file's diff is bounded ([`MAX_LINES`]).

use std::collections::BTreeMap;
use std::path::Path;

use greenlight_checker::{Finding, FindingKind};

/// Most lines of one file's diff kept in its finding.
pub const MAX_LINES: usize = 200;

/// Each file's diff in `ruff format --diff` output, keyed by its path relative to `root`.
pub fn split(stdout: &str, root: &Path) -> BTreeMap<String, String> {
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    let mut current: Option<(String, Vec<&str>)> = None;
    let lines: Vec<&str> = stdout.lines().collect();
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index];
        let next = lines.get(index + 1).copied().unwrap_or_default();
        if let Some(path) = line.strip_prefix("--- ")
            && next.starts_with("+++ ")
        {
            if let Some((path, body)) = current.take() {
                files.insert(path, bounded(&body));
            }
            // Some diff writers add a tab and a timestamp after the name.
            let path = path.split('\t').next().unwrap_or(path);
            let path = greenlight_checker::relative_to(root, Path::new(path));
            current = Some((path, vec![line, next]));
            index += 2;
            continue;
        }
        if let Some((_, body)) = &mut current {
            body.push(line);
        }
        index += 1;
    }
    if let Some((path, body)) = current {
        files.insert(path, bounded(&body));
    }
    files
}

fn bounded(lines: &[&str]) -> String {
    let mut lines: Vec<&str> = lines.to_vec();
    while lines.last().is_some_and(|line| line.trim().is_empty()) {
        lines.pop();
    }
    if lines.len() <= MAX_LINES {
        return lines.join("\n");
    }
    let rest = lines.len() - MAX_LINES;
    format!("{}\n… {rest} more lines (`ruff format --diff` shows them all)", lines[..MAX_LINES].join("\n"))
}

/// Puts each file's diff into the `detail` of its format finding.
pub fn attach(findings: &mut [Finding], diffs: &BTreeMap<String, String>) {
    for finding in findings.iter_mut().filter(|finding| finding.kind == FindingKind::Format) {
        if let Some(diff) = finding.location.as_ref().and_then(|location| diffs.get(&location.path)) {
            finding.detail = Some(diff.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIFF: &str = "--- apps/api/main.py\n+++ apps/api/main.py\n@@ -1,2 +1,2 @@\n-x = {'a':1}\n+x = {\"a\": 1}\n \n--- /project/b.py\n+++ /project/b.py\n@@ -1 +1 @@\n-y=2\n+y = 2\n\n";

    #[test]
    fn one_diff_per_file_with_relative_paths() {
        let files = split(DIFF, Path::new("/project"));
        assert_eq!(files.len(), 2, "{files:?}");
        assert!(files["apps/api/main.py"].starts_with("--- apps/api/main.py\n+++ apps/api/main.py\n@@ -1,2 +1,2 @@"));
        assert!(files["apps/api/main.py"].ends_with("+x = {\"a\": 1}"));
        assert_eq!(files["b.py"], "--- /project/b.py\n+++ /project/b.py\n@@ -1 +1 @@\n-y=2\n+y = 2");
    }

    #[test]
    fn long_diffs_are_cut_and_say_so() {
        let body: String = (0..500).map(|n| format!("+line {n}\n")).collect();
        let files = split(&format!("--- a.py\n+++ a.py\n@@ -1 +1,500 @@\n{body}"), Path::new("/p"));
        let diff = &files["a.py"];
        assert_eq!(diff.lines().count(), MAX_LINES + 1);
        assert!(diff.ends_with("… 303 more lines (`ruff format --diff` shows them all)"), "{diff}");
    }

    #[test]
    fn findings_get_their_file_diff() {
        let mut findings = vec![Finding::new(
            "unformatted",
            "File would be reformatted",
            Some(greenlight_checker::Location::at("b.py", Some(1), None)),
        )];
        findings[0].kind = FindingKind::Format;
        attach(&mut findings, &split(DIFF, Path::new("/project")));
        assert!(findings[0].detail.as_deref().unwrap().contains("+y = 2"));
    }
}
