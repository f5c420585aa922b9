//! Comparing a run with a baseline: the findings of the merge base (`--new-from REV`) or of a
//! committed baseline file (`greenlight baseline write`).
//!
//! Findings are matched by fingerprint ([`crate::fingerprint`]: rule, path, the line's content
//! and its neighbours, not the line number), first with their neighbours, then (for what is
//! left) by the line alone, each baseline finding matching at most one finding of the run.
//! A matched finding is `existing`, every other one `new`. A failed check whose findings are
//! all existing passes, and its summary says so; one with new findings still fails, on those.
//! Only findings about the code are compared (lint, format, secrets, vulnerabilities): a
//! failing test or a broken build is never "existing".

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{BaselineState, CheckReport, Finding, FindingKind, Outcome, RunReport};
use crate::text::plural;

/// Version of the baseline file's format written by this build.
pub const BASELINE_FILE_VERSION: u32 = 1;

/// What a run was compared with (the JSON report's `baseline`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct BaselineInfo {
    /// `rev` (`--new-from REV`: the merge base of REV and `HEAD`) or `file` (a baseline file).
    pub source: String,
    /// With `source: rev`, the revision as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rev: Option<String>,
    /// The commit the baseline's findings are from (the merge base; the file's commit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// With `source: file`, the file, relative to the project root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The checks compared with it.
    #[serde(default)]
    pub checks: Vec<String>,
    /// Findings the baseline does not have.
    #[serde(default)]
    pub new: usize,
    /// Findings the baseline has: reported, not blocking.
    #[serde(default)]
    pub existing: usize,
    /// Why some checks could not be compared (their run at the base did not decide), in
    /// words; they keep their outcome.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl BaselineInfo {
    /// `origin/main (merge base 1a2b3c4d5e6f)` or `the baseline file greenlight-baseline.json`.
    pub fn label(&self) -> String {
        let short = self.commit.as_deref().map(|sha| &sha[..12.min(sha.len())]);
        match (self.source.as_str(), &self.rev, &self.file, short) {
            ("rev", Some(rev), _, Some(short)) => format!("{rev} (merge base {short})"),
            ("rev", Some(rev), _, None) => rev.clone(),
            (_, _, Some(file), _) => format!("the baseline file {file}"),
            _ => "the baseline".to_string(),
        }
    }
}

/// The findings a baseline has, per check: what `greenlight baseline write` commits.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Baseline {
    /// [`BASELINE_FILE_VERSION`].
    pub version: u32,
    /// The commit the findings are from, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Per check id that reached a verdict there, its comparable findings.
    pub checks: BTreeMap<String, Vec<BaselineEntry>>,
}

/// One finding of a baseline: its fingerprints, and rule and path for people reading the file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BaselineEntry {
    /// The finding's rule.
    pub rule: String,
    /// Its file, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Its fingerprint.
    pub fingerprint: String,
    /// Its line-only fingerprint, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_fingerprint: Option<String>,
}

/// True for findings a baseline can hold: about the code, not about a run (tests, builds).
pub fn comparable(finding: &Finding) -> bool {
    matches!(finding.kind, FindingKind::Lint | FindingKind::Format | FindingKind::Secret | FindingKind::Vulnerability)
}

/// True when a check's verdict can be compared: it ran and decided.
fn decided(check: &CheckReport) -> bool {
    matches!(check.outcome, Outcome::Passed | Outcome::Failed)
}

impl Baseline {
    /// The baseline of `report`: every check that decided, with its comparable findings.
    pub fn from_report(report: &RunReport) -> Self {
        let checks = report
            .checks
            .iter()
            .filter(|check| decided(check))
            .map(|check| {
                let mut entries: Vec<BaselineEntry> = check
                    .findings
                    .iter()
                    .filter(|finding| comparable(finding))
                    .map(|finding| BaselineEntry {
                        rule: finding.rule.clone(),
                        path: finding.location.as_ref().map(|location| location.path.clone()),
                        fingerprint: finding.fingerprint.clone(),
                        line_fingerprint: finding.line_fingerprint.clone(),
                    })
                    .collect();
                entries.sort();
                (check.id.clone(), entries)
            })
            .collect();
        Self { version: BASELINE_FILE_VERSION, commit: report.project.commit.clone(), checks }
    }

    /// The checks of `report` whose verdict this baseline can change: failed with findings,
    /// all of them comparable. What a run at the merge base needs to run.
    pub fn checks_to_compare(report: &RunReport) -> Vec<String> {
        report
            .checks
            .iter()
            .filter(|check| check.outcome == Outcome::Failed && !check.findings.is_empty())
            .filter(|check| check.findings.iter().all(comparable))
            .map(|check| check.id.clone())
            .collect()
    }
}

/// Marks every comparable finding of the checks `baseline` has as `new` or `existing`, lets a
/// failed check whose findings are all existing pass (saying so in its summary), and records
/// `info` (with the counts) in the report.
pub fn compare(report: &mut RunReport, baseline: &Baseline, mut info: BaselineInfo) {
    for check in &mut report.checks {
        let Some(entries) = baseline.checks.get(&check.id) else { continue };
        let (new, existing) = mark(&mut check.findings, entries);
        info.checks.push(check.id.clone());
        info.new += new;
        info.existing += existing;
        if new + existing == 0 {
            continue;
        }
        let label = info.label();
        if check.outcome == Outcome::Failed && new == 0 && check.findings.iter().all(comparable) {
            check.outcome = Outcome::Passed;
            check.summary =
                format!("{} existing in {label}, none new (was: {})", plural(existing, "finding"), check.summary);
        } else if existing > 0 {
            check.summary = format!("{} new, {existing} existing in {label}", plural(new, "finding"));
        }
    }
    report.recompute_outcome();
    report.baseline = Some(info);
}

/// Marks `findings` against `entries`; returns how many are new and how many existing.
fn mark(findings: &mut [Finding], entries: &[BaselineEntry]) -> (usize, usize) {
    let mut by_context: BTreeMap<&str, usize> = BTreeMap::new();
    for entry in entries {
        *by_context.entry(entry.fingerprint.as_str()).or_default() += 1;
    }
    let mut unmatched_lines: BTreeMap<&str, usize> = BTreeMap::new();
    let mut matched = vec![false; findings.len()];
    for (index, finding) in findings.iter().enumerate() {
        if !comparable(finding) {
            continue;
        }
        if let Some(count) = by_context.get_mut(finding.fingerprint.as_str()).filter(|count| **count > 0) {
            *count -= 1;
            matched[index] = true;
        }
    }
    // The baseline's findings no finding matched by context may still match by the line alone.
    let mut left = by_context;
    for entry in entries {
        let Some(count) = left.get_mut(entry.fingerprint.as_str()).filter(|count| **count > 0) else { continue };
        *count -= 1;
        if let Some(line) = &entry.line_fingerprint {
            *unmatched_lines.entry(line.as_str()).or_default() += 1;
        }
    }
    let (mut new, mut existing) = (0, 0);
    for (index, finding) in findings.iter_mut().enumerate() {
        if !comparable(finding) {
            continue;
        }
        let by_line = !matched[index]
            && finding
                .line_fingerprint
                .as_deref()
                .and_then(|line| unmatched_lines.get_mut(line))
                .filter(|count| **count > 0)
                .map(|count| *count -= 1)
                .is_some();
        if matched[index] || by_line {
            finding.baseline = Some(BaselineState::Existing);
            existing += 1;
        } else {
            finding.baseline = Some(BaselineState::New);
            new += 1;
        }
    }
    (new, existing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Location, ProjectInfo};

    fn finding(rule: &str, fingerprint: &str, line: &str) -> Finding {
        let mut finding = Finding::new(rule, "message", Some(Location::at("app/main.py", Some(3), None)));
        finding.fingerprint = fingerprint.to_string();
        finding.line_fingerprint = Some(line.to_string());
        finding
    }

    fn report(findings: Vec<Finding>) -> RunReport {
        let mut check = CheckReport::new("ruff-check", "ruff check", Outcome::Failed);
        check.summary = format!("{} findings", findings.len());
        check.findings = findings;
        RunReport {
            schema_version: 1,
            greenlight_version: String::new(),
            run_id: String::new(),
            outcome: Outcome::Failed,
            interrupted: false,
            project: ProjectInfo::default(),
            started_at: String::new(),
            duration_ms: 0,
            tools: Default::default(),
            checks: vec![check],
            as_of: None,
            baseline: None,
        }
    }

    fn info() -> BaselineInfo {
        BaselineInfo { source: "rev".into(), rev: Some("main".into()), ..Default::default() }
    }

    #[test]
    fn all_existing_passes_and_one_new_fails_on_it() {
        let base = Baseline::from_report(&report(vec![finding("F401", "a", "la"), finding("E501", "b", "lb")]));
        let mut same = report(vec![finding("F401", "a", "la"), finding("E501", "b", "lb")]);
        compare(&mut same, &base, info());
        assert_eq!(same.outcome, Outcome::Passed);
        assert!(
            same.checks[0].summary.starts_with("2 findings existing in main, none new"),
            "{}",
            same.checks[0].summary
        );
        let mut one_more =
            report(vec![finding("F401", "a", "la"), finding("E501", "b", "lb"), finding("S307", "c", "lc")]);
        compare(&mut one_more, &base, info());
        assert_eq!(one_more.outcome, Outcome::Failed);
        let states: Vec<_> = one_more.checks[0].findings.iter().map(|finding| finding.baseline).collect();
        assert_eq!(states, [Some(BaselineState::Existing), Some(BaselineState::Existing), Some(BaselineState::New)]);
        assert_eq!(one_more.checks[0].summary, "1 finding new, 2 existing in main");
        let info = one_more.baseline.unwrap();
        assert_eq!((info.new, info.existing, info.checks), (1, 2, vec!["ruff-check".to_string()]));
    }

    #[test]
    fn a_neighbour_edit_matches_by_the_line_and_each_base_finding_once() {
        let base = Baseline::from_report(&report(vec![finding("F401", "a", "la")]));
        let mut edited = report(vec![finding("F401", "a2", "la"), finding("F401", "a3", "la")]);
        compare(&mut edited, &base, info());
        let states: Vec<_> = edited.checks[0].findings.iter().map(|finding| finding.baseline).collect();
        assert_eq!(states, [Some(BaselineState::Existing), Some(BaselineState::New)]);
        assert_eq!(edited.outcome, Outcome::Failed);
    }

    #[test]
    fn tests_and_checks_the_base_lacks_are_not_compared() {
        let mut test = finding("test_failed", "t", "t");
        test.kind = FindingKind::Test;
        let mut run = report(vec![test]);
        run.checks[0].id = "pytest".into();
        assert!(Baseline::checks_to_compare(&run).is_empty());
        let base = Baseline::from_report(&run);
        compare(&mut run, &base, info());
        assert_eq!(run.outcome, Outcome::Failed);
        assert_eq!(run.checks[0].findings[0].baseline, None);
        let mut other = report(vec![finding("F401", "a", "la")]);
        compare(&mut other, &Baseline::default(), info());
        assert_eq!((other.outcome, other.checks[0].findings[0].baseline), (Outcome::Failed, None));
    }

    #[test]
    fn the_file_round_trips() {
        let base = Baseline::from_report(&report(vec![finding("F401", "a", "la")]));
        let text = serde_json::to_string_pretty(&base).unwrap();
        assert!(text.contains("\"rule\": \"F401\"") && text.contains("\"path\": \"app/main.py\""), "{text}");
        assert_eq!(serde_json::from_str::<Baseline>(&text).unwrap(), base);
    }
}
