//! Parsing ruff's JSON output (`--output-format json`), shared by `check` and `format --check`.
//!
//! The JSON of every ruff since 0.1 has the same shape; what differs is how a syntax error
//! is named: `E999` with a `SyntaxError: ` message (0.1 to 0.4), no code at all (0.5 to 0.9)
//! or `invalid-syntax` (later). All three become `invalid-syntax`, so findings compare across
//! ruff versions (bisect's "findings that appeared").

use std::path::Path;

use greenlight_checker::{Finding, FindingKind, Location, Severity, relative_to};
use serde::Deserialize;

/// Which ruff command wrote the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `ruff check`: lint findings.
    Check,
    /// `ruff format --check`: files that would be reformatted (and syntax errors).
    Format,
}

/// One diagnostic of ruff's JSON array.
#[derive(Debug, Clone, Deserialize)]
pub struct RuffDiagnostic {
    /// Rule code (`F401`), `invalid-syntax`, or `unformatted`.
    pub code: Option<String>,
    /// Rule name (`unused-import`).
    #[serde(default)]
    pub name: Option<String>,
    /// Message.
    pub message: String,
    /// Absolute file name.
    pub filename: String,
    /// Start (1-based).
    pub location: Option<RuffLocation>,
    /// End (exclusive column).
    pub end_location: Option<RuffLocation>,
    /// The fix, if any.
    #[serde(default)]
    pub fix: Option<RuffFix>,
    /// Rule documentation.
    #[serde(default)]
    pub url: Option<String>,
    /// `error` or `warning` (ruff ≥ 0.15.7).
    #[serde(default)]
    pub severity: Option<String>,
    /// Notebook cell, if any.
    #[serde(default)]
    pub cell: Option<u32>,
}

/// A row and column of ruff's output.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct RuffLocation {
    /// 1-based row.
    pub row: u32,
    /// 1-based column.
    pub column: u32,
}

/// A fix ruff can apply.
#[derive(Debug, Clone, Deserialize)]
pub struct RuffFix {
    /// When ruff applies it.
    #[serde(default)]
    pub applicability: Option<Applicability>,
    /// What the fix does.
    #[serde(default)]
    pub message: Option<String>,
}

/// When ruff applies a fix (ruff's own three levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Applicability {
    /// Applied by `ruff check --fix` (and so by `greenlight run --fix`).
    Safe,
    /// Applied only with `--unsafe-fixes`.
    Unsafe,
    /// Shown, never applied.
    DisplayOnly,
    /// A level this ruff does not know yet: not counted as fixable, since `ruff check --fix`
    /// may not apply it.
    #[serde(other)]
    Other,
}

/// The findings of one report, and how many of them have only an unsafe fix (ruff's "hidden
/// fixes", applied only with `--unsafe-fixes`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Diagnostics {
    /// One finding per diagnostic.
    pub findings: Vec<Finding>,
    /// Findings whose fix is unsafe (their `fix_available` is false).
    pub unsafe_fixes: usize,
}

/// Parses ruff's JSON array.
pub fn parse_diagnostics(bytes: &[u8]) -> Result<Vec<RuffDiagnostic>, serde_json::Error> {
    serde_json::from_slice(bytes)
}

/// Parses ruff's JSON array straight into findings, one diagnostic at a time (large reports
/// are never held twice in memory).
pub fn parse_findings(bytes: &[u8], root: &Path, mode: Mode) -> Result<Diagnostics, serde_json::Error> {
    use serde::de::{DeserializeSeed, SeqAccess, Visitor};

    struct Findings<'a> {
        root: &'a Path,
        mode: Mode,
    }
    impl<'de> DeserializeSeed<'de> for Findings<'_> {
        type Value = Diagnostics;
        fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
            deserializer.deserialize_seq(self)
        }
    }
    impl<'de> Visitor<'de> for Findings<'_> {
        type Value = Diagnostics;
        fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            formatter.write_str("a JSON array of ruff diagnostics")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut diagnostics =
                Diagnostics { findings: Vec::with_capacity(seq.size_hint().unwrap_or(0)), unsafe_fixes: 0 };
            while let Some(diagnostic) = seq.next_element::<RuffDiagnostic>()? {
                if diagnostic.applicability() == Some(Applicability::Unsafe) {
                    diagnostics.unsafe_fixes += 1;
                }
                diagnostics.findings.push(diagnostic.to_finding(self.root, self.mode));
            }
            Ok(diagnostics)
        }
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let findings = Findings { root, mode }.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(findings)
}

impl RuffDiagnostic {
    /// How its fix applies; `None` without a fix.
    pub fn applicability(&self) -> Option<Applicability> {
        self.fix.as_ref().map(|fix| fix.applicability.unwrap_or(Applicability::Other))
    }

    /// The rule and message, with a syntax error named `invalid-syntax` whatever the ruff
    /// version called it.
    fn rule_and_message(&self) -> (String, String) {
        let syntax = self.message.strip_prefix("SyntaxError: ");
        match (self.code.as_deref(), syntax) {
            (None | Some("E999"), Some(message)) => ("invalid-syntax".to_string(), message.to_string()),
            (Some(code), _) => (code.to_string(), self.message.clone()),
            (None, None) => ("ruff".to_string(), self.message.clone()),
        }
    }

    /// The finding for this diagnostic, with the path made relative to `root`.
    pub fn to_finding(&self, root: &Path, mode: Mode) -> Finding {
        let (code, message) = self.rule_and_message();
        let path = relative_to(root, Path::new(&self.filename));
        let location = Location {
            path,
            line: self.location.map(|l| l.row),
            column: self.location.map(|l| l.column),
            end_line: self.end_location.map(|l| l.row),
            end_column: self.end_location.map(|l| l.column),
        };
        let mut finding = Finding::new(code.clone(), message, Some(location));
        finding.kind =
            if mode == Mode::Format && code == "unformatted" { FindingKind::Format } else { FindingKind::Lint };
        finding.severity = match self.severity.as_deref() {
            Some("warning") => Severity::Warning,
            _ => Severity::Error,
        };
        finding.url = self.url.clone();
        finding.title = Some(match &self.name {
            Some(name) if name != &code => format!("ruff {code} ({name})"),
            _ => format!("ruff {code}"),
        });
        // Fixable: what `ruff check --fix` (and so `greenlight run --fix`) applies, the safe
        // fixes; an unsafe one needs `--unsafe-fixes` and is said so in the help.
        let applicability = self.applicability();
        finding.fix_available = applicability == Some(Applicability::Safe);
        if finding.fix_available && code == "unformatted" {
            finding.help = Some("run `ruff format` (or `greenlight run --fix`)".to_string());
        } else if let Some(message) = self.fix.as_ref().and_then(|fix| fix.message.clone()) {
            finding.help = Some(if applicability == Some(Applicability::Unsafe) {
                format!("{message} (unsafe fix: `ruff check --fix --unsafe-fixes`)")
            } else {
                message
            });
        }
        if let Some(cell) = self.cell {
            finding.message = format!("{} (cell {cell})", finding.message);
        }
        finding
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_recorded_check_output() {
        let diagnostics = parse_diagnostics(include_bytes!("../tests/data/check-findings.json")).unwrap();
        let findings: Vec<Finding> =
            diagnostics.iter().map(|d| d.to_finding(Path::new("/project"), Mode::Check)).collect();
        type Row = (String, String, Option<u32>, Option<u32>, bool);
        let summary: Vec<Row> = findings
            .iter()
            .map(|f| {
                let location = f.location.clone().unwrap();
                (f.rule.clone(), location.path, location.line, location.column, f.fix_available)
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("F401".into(), "bad.py".into(), Some(1), Some(8), true),
                ("F841".into(), "bad.py".into(), Some(6), Some(5), false),
                ("invalid-syntax".into(), "syntax.py".into(), Some(1), Some(7), false),
                ("invalid-syntax".into(), "syntax.py".into(), Some(1), Some(8), false),
            ]
        );
        assert_eq!(findings[0].url.as_deref(), Some("https://docs.astral.sh/ruff/rules/unused-import"));
        assert_eq!(findings[0].location.as_ref().unwrap().end_column, Some(10));
        assert!(findings[1].help.as_deref().unwrap().contains("unsafe"));
    }

    #[test]
    fn parses_format_output_with_syntax_error() {
        let diagnostics = parse_diagnostics(include_bytes!("../tests/data/format-with-syntax-error.json")).unwrap();
        let findings: Vec<Finding> =
            diagnostics.iter().map(|d| d.to_finding(Path::new("/project"), Mode::Format)).collect();
        assert_eq!(findings.len(), 2);
        assert_eq!(findings[0].rule, "invalid-syntax");
        assert_eq!(findings[1].rule, "unformatted");
        assert_eq!(findings[1].kind, greenlight_checker::FindingKind::Format);
        assert_eq!(findings[1].location.as_ref().unwrap().path, "unformatted.py");
    }

    #[test]
    fn streaming_parse_matches() {
        let bytes = include_bytes!("../tests/data/check-findings.json");
        let streamed = parse_findings(bytes, Path::new("/project"), Mode::Check).unwrap();
        let whole: Vec<Finding> = parse_diagnostics(bytes)
            .unwrap()
            .iter()
            .map(|d| d.to_finding(Path::new("/project"), Mode::Check))
            .collect();
        assert_eq!(streamed.findings, whole);
        assert_eq!(streamed.unsafe_fixes, 1, "F841's fix is unsafe");
        assert!(parse_findings(b"[] trailing", Path::new("/"), Mode::Check).is_err());
    }

    /// The JSON of ruff 0.1.0, 0.4.10, 0.9.10 and 0.14.10 on one project (an unused import with
    /// a safe fix, an unused variable and a comparison to None with unsafe fixes, a syntax
    /// error): the same findings, the syntax error named `invalid-syntax` in each.
    #[test]
    fn parses_the_json_of_old_releases() {
        let recordings: [(&str, &[u8]); 4] = [
            ("0.1.0", include_bytes!("../tests/data/check-0.1.0.json")),
            ("0.4.10", include_bytes!("../tests/data/check-0.4.10.json")),
            ("0.9.10", include_bytes!("../tests/data/check-0.9.10.json")),
            ("0.14.10", include_bytes!("../tests/data/check-0.14.10.json")),
        ];
        for (version, bytes) in recordings {
            let parsed = parse_findings(bytes, Path::new("/project"), Mode::Check).unwrap();
            let rules: Vec<(&str, &str, bool)> = parsed
                .findings
                .iter()
                .map(|f| (f.rule.as_str(), f.location.as_ref().unwrap().path.as_str(), f.fix_available))
                .collect();
            assert_eq!(&rules[..3], [("F401", "bad.py", true), ("F841", "bad.py", false), ("E711", "bad.py", false)]);
            assert!(
                rules[3..].iter().all(|(rule, path, _)| *rule == "invalid-syntax" && *path == "syntax.py"),
                "{version}: {rules:?}"
            );
            assert!(
                parsed.findings[3].message.starts_with("Expected")
                    || parsed.findings[3].message.starts_with("Unexpected"),
                "{version}: {}",
                parsed.findings[3].message
            );
            assert_eq!(parsed.unsafe_fixes, 2, "{version}");
        }
    }

    #[test]
    fn clean_and_garbage() {
        assert!(parse_diagnostics(include_bytes!("../tests/data/check-clean.json")).unwrap().is_empty());
        assert!(parse_diagnostics(b"not json").is_err());
        assert!(parse_diagnostics(b"{\"a\": 1}").is_err());
    }
}
