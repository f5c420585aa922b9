//! GitLab Code Quality (`--gitlab-codequality FILE`): the CodeClimate issue list GitLab reads
//! from `artifacts:reports:codequality` and shows inline in merge requests.
//!
//! Each issue has what GitLab's documented format requires: `description`, `check_name`,
//! `fingerprint`, `severity` (`info`, `minor`, `major`, `critical`, `blocker`) and
//! `location.path` with `location.lines.begin`. Paths are relative to the repository root
//! (prefixed with `project.path_in_repo`), as GitLab resolves them.
//!
//! As for SARIF, the file holds the findings of checks about the code that decided (passed or
//! failed); test results and pull-request policy are in JUnit and the annotations. A finding
//! without a place is put on line 1 of the file its checker names. GitLab shows only the
//! first of issues with one fingerprint, so each fingerprint is made unique: the finding's own
//! (stable across runs) with the check and its occurrence among identical ones.

use std::collections::BTreeMap;

use greenlight_report::{FindingKind, RunReport, Severity};
use serde::Serialize;

use crate::common::{code_checks, code_findings, facts, place_or_fallback, prepare};

/// A rendered Code Quality file and the checks it leaves out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeQuality {
    /// The JSON array, pretty-printed, with a trailing newline.
    pub text: String,
    /// Checks left out, one sentence each.
    pub notes: Vec<String>,
}

/// The report as a GitLab Code Quality report.
pub fn render(report: &RunReport) -> CodeQuality {
    let report = prepare(report);
    let (checks, notes) =
        code_checks(&report, "the Code Quality report has no issue of it (GitLab would show its issues as fixed)");
    let mut issues = Vec::new();
    for check in checks {
        let mut occurrences: BTreeMap<String, usize> = BTreeMap::new();
        for finding in code_findings(check) {
            let (location, fallback) = place_or_fallback(check, &finding);
            let own = if finding.fingerprint.is_empty() {
                greenlight_report::fingerprint(&[&finding.rule, &finding.message])
            } else {
                finding.fingerprint.clone()
            };
            let occurrence = occurrences.entry(own.clone()).or_insert(0);
            *occurrence += 1;
            let mut description = finding.message.trim_end().to_string();
            let facts = facts(&finding);
            if !facts.is_empty() {
                description.push_str(&format!(" ({facts})"));
            }
            if fallback {
                description.push_str(&format!(" [no source location; shown on line 1 of {}]", location.path));
            }
            let tool = check.tool_facts().name;
            issues.push(Issue {
                description,
                check_name: format!("{tool}:{}", finding.rule),
                fingerprint: greenlight_report::fingerprint(&[&check.id, &own, &occurrence.to_string()]),
                severity: severity(finding.kind, finding.severity),
                location: IssueLocation {
                    path: report.project.repo_path(&location.path),
                    lines: Lines { begin: location.line.filter(|line| *line >= 1).unwrap_or(1) },
                },
                categories: vec![category(finding.kind)],
                kind: "issue",
            });
        }
    }
    let mut text = serde_json::to_string_pretty(&issues).unwrap_or_else(|_| "[]".to_string());
    text.push('\n');
    CodeQuality { text, notes }
}

/// GitLab's scale: a leaked secret is `blocker`, a vulnerable dependency `critical`, other
/// errors `major`; warnings `minor`, notes `info`.
fn severity(kind: FindingKind, severity: Severity) -> &'static str {
    match (severity, kind) {
        (Severity::Error, FindingKind::Secret) => "blocker",
        (Severity::Error, FindingKind::Vulnerability) => "critical",
        (Severity::Error, _) => "major",
        (Severity::Warning, _) => "minor",
        (Severity::Note, _) => "info",
    }
}

/// CodeClimate's category of a kind of finding.
fn category(kind: FindingKind) -> &'static str {
    match kind {
        FindingKind::Secret | FindingKind::Vulnerability => "Security",
        FindingKind::Format => "Style",
        FindingKind::Lint | FindingKind::Test | FindingKind::Policy => "Bug Risk",
        FindingKind::Build => "Compatibility",
    }
}

#[derive(Serialize)]
struct Issue {
    description: String,
    check_name: String,
    fingerprint: String,
    severity: &'static str,
    location: IssueLocation,
    categories: Vec<&'static str>,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct IssueLocation {
    path: String,
    lines: Lines,
}

#[derive(Serialize)]
struct Lines {
    begin: u32,
}
