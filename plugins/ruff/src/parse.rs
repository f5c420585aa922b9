//! Parsing ruff's JSON output (`--output-format json`), shared by `check` and `format --check`.

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
    /// A level this ruff does not know yet: treated as applicable, as ruff offers it.
    #[serde(other)]
    Other,
}

/// Parses ruff's JSON array.
pub fn parse_diagnostics(bytes: &[u8]) -> Result<Vec<RuffDiagnostic>, serde_json::Error> {
    serde_json::from_slice(bytes)
}

/// Parses ruff's JSON array straight into findings, one diagnostic at a time (large reports
/// are never held twice in memory).
pub fn parse_findings(bytes: &[u8], root: &Path, mode: Mode) -> Result<Vec<Finding>, serde_json::Error> {
    use serde::de::{DeserializeSeed, SeqAccess, Visitor};

    struct Findings<'a> {
        root: &'a Path,
        mode: Mode,
    }
    impl<'de> DeserializeSeed<'de> for Findings<'_> {
        type Value = Vec<Finding>;
        fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
            deserializer.deserialize_seq(self)
        }
    }
    impl<'de> Visitor<'de> for Findings<'_> {
        type Value = Vec<Finding>;
        fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            formatter.write_str("a JSON array of ruff diagnostics")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut findings = Vec::with_capacity(seq.size_hint().unwrap_or(0));
            while let Some(diagnostic) = seq.next_element::<RuffDiagnostic>()? {
                findings.push(diagnostic.to_finding(self.root, self.mode));
            }
            Ok(findings)
        }
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let findings = Findings { root, mode }.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(findings)
}

impl RuffDiagnostic {
    /// The finding for this diagnostic, with the path made relative to `root`.
    pub fn to_finding(&self, root: &Path, mode: Mode) -> Finding {
        let code = self.code.clone().unwrap_or_else(|| "ruff".to_string());
        let path = relative_to(root, Path::new(&self.filename));
        let location = Location {
            path,
            line: self.location.map(|l| l.row),
            column: self.location.map(|l| l.column),
            end_line: self.end_location.map(|l| l.row),
            end_column: self.end_location.map(|l| l.column),
        };
        let mut finding = Finding::new(code.clone(), self.message.clone(), Some(location));
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
        // A fix ruff offers to apply (safe with `--fix`; unsafe ones need --unsafe-fixes).
        let applicability = self.fix.as_ref().map(|fix| fix.applicability);
        finding.fix_available = applicability.is_some_and(|level| level != Some(Applicability::DisplayOnly));
        if finding.fix_available && code == "unformatted" {
            finding.help = Some("run `ruff format` (or `greenlight run --fix`)".to_string());
        } else if let Some(message) = self.fix.as_ref().and_then(|fix| fix.message.clone()) {
            finding.help = Some(if applicability == Some(Some(Applicability::Unsafe)) {
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
                ("F841".into(), "bad.py".into(), Some(6), Some(5), true),
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
        assert_eq!(streamed, whole);
        assert!(parse_findings(b"[] trailing", Path::new("/"), Mode::Check).is_err());
    }

    #[test]
    fn clean_and_garbage() {
        assert!(parse_diagnostics(include_bytes!("../tests/data/check-clean.json")).unwrap().is_empty());
        assert!(parse_diagnostics(b"not json").is_err());
        assert!(parse_diagnostics(b"{\"a\": 1}").is_err());
    }
}
