//! Whether a check's findings block (`severity = "block"`, the default) or only warn
//! (`severity = "warn"`): a warning check that failed passes, its findings become warnings, and
//! its summary says so, so exit codes are unchanged for blocking checks and every format shows
//! the warnings apart (SARIF and annotations by the findings' level, JUnit as passing cases
//! with their text, the terminal and Markdown by the summary).

use serde::{Deserialize, Serialize};

use crate::model::{CheckReport, Outcome, Severity};

/// What a check's failure means for the run (contract: `severity` of a check in the report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum CheckSeverity {
    /// Its failure fails the run.
    #[default]
    Block,
    /// Its failure is reported as warnings and does not fail the run.
    Warn,
}

impl CheckSeverity {
    /// True for the default.
    pub fn is_block(&self) -> bool {
        *self == CheckSeverity::Block
    }
}

/// Applies `severity` to a finished check: a `warn` check that failed passes with its findings
/// as warnings. Errored, timed-out and other outcomes keep theirs ("could not decide" never
/// becomes a pass).
pub fn apply(check: &mut CheckReport, severity: CheckSeverity) {
    check.severity = severity;
    if severity != CheckSeverity::Warn || check.outcome != Outcome::Failed {
        return;
    }
    check.outcome = Outcome::Passed;
    for finding in &mut check.findings {
        if finding.severity == Severity::Error {
            finding.severity = Severity::Warning;
        }
    }
    check.summary = format!("warn: {} (severity = \"warn\": does not block)", check.summary);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Finding;

    #[test]
    fn a_failed_warning_check_passes_with_warnings_and_says_so() {
        let mut check = CheckReport::new("ruff-check", "ruff check", Outcome::Failed);
        check.summary = "2 findings".into();
        check.findings.push(Finding::new("E501", "line too long", None));
        apply(&mut check, CheckSeverity::Warn);
        assert_eq!(check.outcome, Outcome::Passed);
        assert_eq!(check.findings[0].severity, Severity::Warning);
        assert_eq!(check.summary, "warn: 2 findings (severity = \"warn\": does not block)");
        let json = serde_json::to_string(&check).unwrap();
        assert!(json.contains("\"severity\":\"warn\""), "{json}");
        let mut errored = CheckReport::new("pip-audit", "pip-audit", Outcome::Errored);
        apply(&mut errored, CheckSeverity::Warn);
        assert_eq!(errored.outcome, Outcome::Errored);
        let mut blocking = CheckReport::new("gitleaks", "gitleaks", Outcome::Failed);
        apply(&mut blocking, CheckSeverity::Block);
        assert_eq!(blocking.outcome, Outcome::Failed);
        assert!(!serde_json::to_string(&blocking).unwrap().contains("severity"));
    }
}
