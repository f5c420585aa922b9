//! Reading `ruff format --check`'s text output, for the ruff releases whose formatter has no
//! JSON (before 0.16, see [`crate::version`]).
//!
//! What those releases print (recorded from 0.1.0, 0.4.10, 0.9.10, 0.14.10 and 0.15.22):
//!
//! ```text
//! stdout: Would reformat: pkg/bad.py
//!         1 file would be reformatted, 1 file already formatted      (0.1.x: "left unchanged")
//! stderr: error: Failed to parse syntax.py:1:7: Expected a parameter or the end of the parameter list
//!         error: Failed to format syntax.py: source contains syntax errors: LexicalError { ... }   (0.1.x)
//! ```
//!
//! and 0.16's text diagnostics (`unformatted: File would be reformatted` followed by
//! ` --> path:row:col`), in case a ruff prints text where JSON was asked for. Paths are
//! relative to the directory ruff ran in (the project root).

use std::path::Path;

use crate::parse::{Applicability, Diagnostics, Mode, RuffDiagnostic, RuffFix, RuffLocation};

/// What a text run of `ruff format --check` said.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FormatText {
    /// Files that would be reformatted and files with syntax errors.
    pub diagnostics: Diagnostics,
    /// `error:` lines that are not about a file's syntax (a configuration error, a file that
    /// cannot be read): ruff could not decide.
    pub errors: Vec<String>,
    /// True when ruff printed its closing count (`N files already formatted`, `No Python files
    /// found`): it got to the end.
    pub finished: bool,
}

/// Reads `ruff format --check`'s stdout and stderr; paths are made relative to `root`.
pub fn parse_format_text(stdout: &str, stderr: &str, root: &Path) -> FormatText {
    let mut parsed = FormatText::default();
    let mut push = |diagnostic: RuffDiagnostic| {
        parsed.diagnostics.findings.push(diagnostic.to_finding(root, Mode::Format));
    };
    for text in [stdout, stderr] {
        let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
        for (index, line) in lines.iter().enumerate() {
            if let Some(path) = line.strip_prefix("Would reformat: ") {
                push(diagnostic("unformatted", "File would be reformatted", root, path, None));
            } else if let Some(rest) = line.strip_prefix("error: Failed to parse ") {
                match split_place(rest) {
                    Some((path, place, message)) => {
                        push(diagnostic("invalid-syntax", message, root, path, Some(place)))
                    }
                    None => parsed.errors.push(line.to_string()),
                }
            } else if let Some(rest) = line.strip_prefix("error: Failed to format ")
                && let Some((path, detail)) = rest.split_once(": source contains syntax errors")
            {
                let message = format!("source contains syntax errors{detail}");
                push(diagnostic("invalid-syntax", &message, root, path, None));
            } else if let Some((code, message)) = diagnostic_heading(line)
                && let Some((path, place)) = lines.get(index + 1).and_then(|next| arrow_place(next))
            {
                push(diagnostic(code, message, root, path, Some(place)));
            } else if line.starts_with("error:") || line == &"ruff failed" {
                parsed.errors.push(line.to_string());
            } else if is_closing_count(line) {
                parsed.finished = true;
            }
        }
    }
    // A `ruff failed` block continues on indented `Cause:` lines.
    if parsed.errors.iter().any(|line| line == "ruff failed") {
        let causes = stderr.lines().filter(|line| line.trim_start().starts_with("Cause:")).map(str::trim);
        parsed.errors.extend(causes.map(str::to_string));
    }
    parsed
}

fn diagnostic(code: &str, message: &str, root: &Path, path: &str, place: Option<(u32, u32)>) -> RuffDiagnostic {
    let location = place.map(|(row, column)| RuffLocation { row, column });
    RuffDiagnostic {
        code: Some(code.to_string()),
        name: None,
        message: message.to_string(),
        filename: root.join(path).display().to_string(),
        location,
        end_location: None,
        fix: (code == "unformatted").then_some(RuffFix { applicability: Some(Applicability::Safe), message: None }),
        url: None,
        severity: None,
        cell: None,
    }
}

/// `syntax.py:1:7: Expected ...` → (`syntax.py`, (1, 7), `Expected ...`): the first
/// `:<row>:<column>: ` in the line ends the path.
fn split_place(text: &str) -> Option<(&str, (u32, u32), &str)> {
    for (at, _) in text.match_indices(':') {
        let mut parts = text[at + 1..].splitn(3, ':');
        let (Some(row), Some(column), Some(message)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if let (Ok(row), Ok(column)) = (row.parse(), column.parse()) {
            return Some((&text[..at], (row, column), message.trim_start()));
        }
    }
    None
}

/// `unformatted: File would be reformatted` → (`unformatted`, the message), for the codes
/// `ruff format` reports.
fn diagnostic_heading(line: &str) -> Option<(&str, &str)> {
    let (code, message) = line.split_once(": ")?;
    matches!(code, "unformatted" | "invalid-syntax").then_some((code, message))
}

/// ` --> bad.py:1:6` → (`bad.py`, (1, 6)).
fn arrow_place(line: &str) -> Option<(&str, (u32, u32))> {
    let place = line.trim_start().strip_prefix("--> ")?;
    let (rest, column) = place.rsplit_once(':')?;
    let (path, row) = rest.rsplit_once(':')?;
    Some((path, (row.parse().ok()?, column.parse().ok()?)))
}

/// ruff's last line: `2 files would be reformatted, 1 file already formatted`, `1 file left
/// unchanged`, or the warning that there was nothing to format.
fn is_closing_count(line: &str) -> bool {
    let counted = line.chars().next().is_some_and(|c| c.is_ascii_digit())
        && (line.contains("would be reformatted")
            || line.contains("already formatted")
            || line.contains("left unchanged"));
    counted || line.contains("No Python files found")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(parsed: &FormatText) -> Vec<(String, String, Option<u32>)> {
        parsed
            .diagnostics
            .findings
            .iter()
            .map(|f| {
                let location = f.location.clone().unwrap();
                (f.rule.clone(), location.path, location.line)
            })
            .collect()
    }

    /// The same project (formatted `good.py`, unformatted `pkg/bad.py`, `syntax.py` with a
    /// syntax error) under five releases without formatter JSON.
    #[test]
    fn reads_every_recorded_release() {
        let recordings: [(&str, &str, &str); 5] = [
            (
                "0.1.0",
                include_str!("../tests/data/format-text-0.1.0.stdout"),
                include_str!("../tests/data/format-text-0.1.0.stderr"),
            ),
            (
                "0.4.10",
                include_str!("../tests/data/format-text-0.4.10.stdout"),
                include_str!("../tests/data/format-text-0.4.10.stderr"),
            ),
            (
                "0.9.10",
                include_str!("../tests/data/format-text-0.9.10.stdout"),
                include_str!("../tests/data/format-text-0.9.10.stderr"),
            ),
            (
                "0.14.10",
                include_str!("../tests/data/format-text-0.14.10.stdout"),
                include_str!("../tests/data/format-text-0.14.10.stderr"),
            ),
            (
                "0.15.22",
                include_str!("../tests/data/format-text-0.15.22.stdout"),
                include_str!("../tests/data/format-text-0.15.22.stderr"),
            ),
        ];
        for (version, stdout, stderr) in recordings {
            let parsed = parse_format_text(stdout, stderr, Path::new("/project"));
            let line = if version == "0.1.0" { None } else { Some(1) };
            assert_eq!(
                rules(&parsed),
                [
                    ("unformatted".into(), "pkg/bad.py".into(), None),
                    ("invalid-syntax".into(), "syntax.py".into(), line)
                ],
                "{version}"
            );
            assert!(parsed.errors.is_empty() && parsed.finished, "{version}: {parsed:?}");
            let unformatted = &parsed.diagnostics.findings[0];
            assert!(unformatted.fix_available && unformatted.kind == greenlight_checker::FindingKind::Format);
        }
    }

    #[test]
    fn reads_text_diagnostics_and_errors() {
        // `ruff format --check` of 0.17.6 without `--output-format` (trimmed).
        let stdout = "unformatted: File would be reformatted\n --> bad.py:1:6\n  |\n  - x = {  \"a\":1 }\n1 + x = {\"a\": 1}\n  |\n\ninvalid-syntax: Expected a parameter or the end of the parameter list\n --> syntax.py:1:7\n  |\n\n1 file would be reformatted, 1 file already formatted\n";
        let parsed = parse_format_text(stdout, "", Path::new("/p"));
        assert_eq!(
            rules(&parsed),
            [("unformatted".into(), "bad.py".into(), Some(1)), ("invalid-syntax".into(), "syntax.py".into(), Some(1))]
        );
        // A configuration error (ruff 0.4.10).
        let stderr =
            "ruff failed\n  Cause: Failed to parse /p/pyproject.toml\n  Cause: TOML parse error at line 5, column 1\n";
        let parsed = parse_format_text("", stderr, Path::new("/p"));
        assert!(parsed.diagnostics.findings.is_empty() && !parsed.finished);
        assert_eq!(parsed.errors[0], "ruff failed");
        assert!(parsed.errors[1].starts_with("Cause: Failed to parse"), "{:?}", parsed.errors);
        assert!(parse_format_text("1 file left unchanged\n", "", Path::new("/p")).finished);
        let odd = parse_format_text("", "error: Failed to parse a:b.py: nonsense\n", Path::new("/p"));
        assert_eq!(odd.errors.len(), 1);
    }
}
