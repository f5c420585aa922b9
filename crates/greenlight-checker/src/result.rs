//! What a check returns.

use greenlight_process::Output;
use greenlight_report::{Artifact, Finding, Outcome, TestSummary};

/// The verdict of one check run: outcome, summary line and data. The orchestrator adds id,
/// title, duration and the log.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckResult {
    /// What the check concluded.
    pub outcome: Outcome,
    /// One line for tables (`3 findings (2 fixable)`).
    pub summary: String,
    /// Why it errored or was skipped, and what to do next.
    pub reason: Option<String>,
    /// The main command line.
    pub command: Option<Vec<String>>,
    /// Its exit code.
    pub exit_code: Option<i32>,
    /// What it found.
    pub findings: Vec<Finding>,
    /// Test results.
    pub tests: Option<TestSummary>,
    /// Files or images produced.
    pub artifacts: Vec<Artifact>,
}

impl CheckResult {
    /// A result with this outcome and summary.
    pub fn new(outcome: Outcome, summary: impl Into<String>) -> Self {
        Self {
            outcome,
            summary: summary.into(),
            reason: None,
            command: None,
            exit_code: None,
            findings: Vec::new(),
            tests: None,
            artifacts: Vec::new(),
        }
    }

    /// Passed, with a summary.
    pub fn passed(summary: impl Into<String>) -> Self {
        Self::new(Outcome::Passed, summary)
    }

    /// Failed, with a summary.
    pub fn failed(summary: impl Into<String>) -> Self {
        Self::new(Outcome::Failed, summary)
    }

    /// Errored: the check could not decide. `reason` says why and what to do; its first line
    /// becomes the summary.
    pub fn errored(reason: impl Into<String>) -> Self {
        let reason = reason.into();
        let summary = greenlight_report::text::first_line(&reason).to_string();
        Self { reason: Some(reason), ..Self::new(Outcome::Errored, summary) }
    }

    /// Skipped, because of `reason`.
    pub fn skipped(reason: impl Into<String>) -> Self {
        let reason = reason.into();
        let summary = greenlight_report::text::first_line(&reason).to_string();
        Self { reason: Some(reason), ..Self::new(Outcome::Skipped, summary) }
    }

    /// Records the command line and exit code.
    pub fn with_command(mut self, argv: Vec<String>, output: Option<&Output>) -> Self {
        self.command = Some(argv);
        self.exit_code = output.and_then(|output| output.status.code());
        self
    }

    /// Adds findings.
    pub fn with_findings(mut self, findings: Vec<Finding>) -> Self {
        self.findings = findings;
        self
    }
}
