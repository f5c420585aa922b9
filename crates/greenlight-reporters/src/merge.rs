//! Merging the reports of shards of one pipeline (`greenlight report merge`).
//!
//! CI can split the checks over several machines (`greenlight run ruff-check ruff-format` on
//! one, `greenlight run pytest` on another); each writes a report in which the checks it did
//! not run are `skipped` with the cause `not_selected`. Merging takes, for every check id, the
//! entry that actually ran: ran (passed, failed, errored, timed out) beats cancelled, which
//! beats skipped for a reason of the project's (not applicable, disabled, a need failed), which
//! beats left out by a shard's selection; between two that ran, the worse outcome wins, so a
//! merge never hides a failure. A check that ran its share of the work in each shard
//! (`--partition K/N`: pytest's test files; `shard` set) is added up instead: tests, cases and
//! findings of every shard, the worst outcome, so the counts equal a single run's.

use std::collections::BTreeMap;

use greenlight_report::{CheckReport, NodeKind, Outcome, RunReport, SkipCause, TestSummary};

/// Why reports cannot be merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeError {
    /// No report was given.
    Empty,
    /// The reports are of different commits (or some have a commit and some do not).
    DifferentCommits {
        /// Each report's commit, in the order given (`None` outside git).
        commits: Vec<Option<String>>,
    },
}

impl std::fmt::Display for MergeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MergeError::Empty => f.write_str("no report to merge"),
            MergeError::DifferentCommits { commits } => {
                let listed: Vec<String> = commits
                    .iter()
                    .enumerate()
                    .map(|(index, commit)| {
                        let commit =
                            commit.as_deref().map_or("no commit (not a git checkout)", |sha| &sha[..sha.len().min(12)]);
                        format!("report {}: {commit}", index + 1)
                    })
                    .collect();
                write!(
                    f,
                    "the reports are of different commits ({}); merge only the shards of one pipeline run",
                    listed.join(", ")
                )
            }
        }
    }
}

impl std::error::Error for MergeError {}

/// Merges reports of the same commit into one (see the module documentation).
///
/// The result has the checks of every report (one per id, sorted setup steps first then by
/// id), every tool (the first report's version wins when they differ), the earliest start,
/// the span from the earliest start to the latest end as its duration, `interrupted` when any
/// shard was, `dirty` when any shard's tree was, and the run ids joined by `+`.
pub fn merge(reports: Vec<RunReport>) -> Result<RunReport, MergeError> {
    let Some(first) = reports.first() else {
        return Err(MergeError::Empty);
    };
    let commits: Vec<Option<String>> = reports.iter().map(|report| report.project.commit.clone()).collect();
    if commits.iter().any(|commit| *commit != commits[0]) {
        return Err(MergeError::DifferentCommits { commits });
    }

    let mut merged = first.clone();
    merged.checks.clear();
    let mut checks: BTreeMap<String, CheckReport> = BTreeMap::new();
    let mut run_ids: Vec<String> = Vec::new();
    let mut span: Option<(i64, i64)> = None;
    for report in &reports {
        if !report.run_id.is_empty() && !run_ids.contains(&report.run_id) {
            run_ids.push(report.run_id.clone());
        }
        merged.interrupted |= report.interrupted;
        if report.project.dirty == Some(true) {
            merged.project.dirty = Some(true);
        }
        for (name, tool) in &report.tools {
            merged.tools.entry(name.clone()).or_insert_with(|| tool.clone());
        }
        if let Ok(start) = chrono::DateTime::parse_from_rfc3339(&report.started_at) {
            let start = start.timestamp_millis();
            let end = start + i64::try_from(report.duration_ms).unwrap_or(i64::MAX / 2);
            span = Some(match span {
                Some((earliest, latest)) => (earliest.min(start), latest.max(end)),
                None => (start, end),
            });
            if report.started_at < merged.started_at {
                merged.started_at = report.started_at.clone();
            }
        }
        for check in &report.checks {
            match checks.get(&check.id) {
                Some(kept) if shares(kept, check) => {
                    let combined = combine(kept, check);
                    checks.insert(check.id.clone(), combined);
                }
                Some(kept) if preference(kept) >= preference(check) => {}
                _ => {
                    checks.insert(check.id.clone(), check.clone());
                }
            }
        }
    }
    if let Some((earliest, latest)) = span {
        merged.duration_ms = u64::try_from(latest - earliest).unwrap_or(0);
        if let Some(start) = chrono::DateTime::from_timestamp_millis(earliest) {
            merged.started_at = start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        }
    } else {
        merged.duration_ms = reports.iter().map(|report| report.duration_ms).max().unwrap_or(0);
    }
    merged.run_id = run_ids.join("+");
    let mut checks: Vec<CheckReport> = checks.into_values().collect();
    checks.sort_by(|a, b| (a.kind != NodeKind::Setup, a.id.as_str()).cmp(&(b.kind != NodeKind::Setup, b.id.as_str())));
    merged.checks = checks;
    merged.recompute_outcome();
    Ok(merged)
}

/// Which of two entries of one check a merge keeps: the higher.
fn preference(check: &CheckReport) -> (u8, u8) {
    let ran = match check.outcome {
        Outcome::Skipped if check.skip_cause.as_ref().is_some_and(SkipCause::is_deselected) => 0,
        Outcome::Skipped => 1,
        Outcome::Cancelled => 2,
        Outcome::Passed | Outcome::Failed | Outcome::Errored | Outcome::TimedOut => 3,
    };
    (ran, check.outcome.rank())
}

/// Two shards' shares of one check that splits its work under `--partition` (pytest's test
/// files; `shard` is set on both): one entry with the tests, cases and findings added up, the
/// worse outcome, the longer duration.
fn combine(kept: &CheckReport, other: &CheckReport) -> CheckReport {
    let mut combined = if other.outcome.rank() > kept.outcome.rank() { other.clone() } else { kept.clone() };
    combined.findings = kept.findings.iter().chain(&other.findings).cloned().collect();
    combined.duration_ms = kept.duration_ms.max(other.duration_ms);
    combined.shard =
        Some(format!("{}+{}", kept.shard.as_deref().unwrap_or("?"), other.shard.as_deref().unwrap_or("?")));
    combined.tests = match (&kept.tests, &other.tests) {
        (Some(a), Some(b)) => Some(TestSummary {
            total: a.total + b.total,
            passed: a.passed + b.passed,
            failed: a.failed + b.failed,
            errors: a.errors + b.errors,
            skipped: a.skipped + b.skipped,
            flaky: a.flaky + b.flaky,
            cases: a.cases.iter().chain(&b.cases).cloned().collect(),
        }),
        (Some(one), None) | (None, Some(one)) => Some(one.clone()),
        (None, None) => None,
    };
    if let Some(tests) = &combined.tests {
        let counts =
            [(tests.failed, "failed"), (tests.errors, "errors"), (tests.passed, "passed"), (tests.skipped, "skipped")];
        let parts: Vec<String> =
            counts.iter().filter(|(count, _)| *count > 0).map(|(count, what)| format!("{count} {what}")).collect();
        combined.summary = format!("{} (shards {})", parts.join(", "), combined.shard.as_deref().unwrap_or_default());
    }
    combined
}

/// True when two entries are shares of one check's work that both ran.
fn shares(kept: &CheckReport, other: &CheckReport) -> bool {
    let ran = |check: &CheckReport| preference(check).0 == 3;
    kept.shard.is_some() && other.shard.is_some() && ran(kept) && ran(other)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(run_id: &str, started_at: &str, duration_ms: u64, checks: &[(&str, Outcome)]) -> RunReport {
        let mut report = crate::sample::sample_report();
        report.run_id = run_id.to_string();
        report.started_at = started_at.to_string();
        report.duration_ms = duration_ms;
        report.checks = checks.iter().map(|(id, outcome)| CheckReport::new(*id, *id, *outcome)).collect();
        report.recompute_outcome();
        report
    }

    #[test]
    fn ran_beats_skipped_and_worse_beats_better() {
        let a = shard(
            "a",
            "2026-11-26T12:00:00Z",
            60_000,
            &[("pytest", Outcome::Skipped), ("ruff-check", Outcome::Passed), ("gitleaks", Outcome::Passed)],
        );
        let b = shard(
            "b",
            "2026-11-26T12:00:30Z",
            90_000,
            &[("pytest", Outcome::Failed), ("ruff-check", Outcome::Skipped), ("gitleaks", Outcome::Errored)],
        );
        let merged = merge(vec![a, b]).unwrap();
        let outcomes: Vec<(&str, Outcome)> = merged.checks.iter().map(|c| (c.id.as_str(), c.outcome)).collect();
        assert_eq!(
            outcomes,
            [("gitleaks", Outcome::Errored), ("pytest", Outcome::Failed), ("ruff-check", Outcome::Passed)]
        );
        assert_eq!(merged.outcome, Outcome::Failed);
        assert_eq!(merged.run_id, "a+b");
        assert_eq!(merged.started_at, "2026-11-26T12:00:00Z");
        assert_eq!(merged.duration_ms, 120_000, "from the first start to the last end");
    }

    #[test]
    fn the_shares_of_a_partitioned_check_are_added_up() {
        let tests = |passed, failed| TestSummary {
            total: passed + failed,
            passed,
            failed,
            errors: 0,
            skipped: 0,
            flaky: 0,
            cases: Vec::new(),
        };
        let mut a =
            shard("a", "2026-11-26T12:00:00Z", 1, &[("pytest", Outcome::Passed), ("ruff-check", Outcome::Passed)]);
        a.checks[0].tests = Some(tests(40, 0));
        a.checks[0].shard = Some("1/2".into());
        let mut b =
            shard("b", "2026-11-26T12:00:00Z", 1, &[("pytest", Outcome::Failed), ("ruff-check", Outcome::Skipped)]);
        b.checks[0].tests = Some(tests(70, 2));
        b.checks[0].shard = Some("2/2".into());
        b.checks[1].skip_cause = Some(SkipCause::NotSelected);
        let merged = merge(vec![a, b]).unwrap();
        let pytest = merged.check("pytest").unwrap();
        assert_eq!(pytest.outcome, Outcome::Failed);
        let counts = pytest.tests.as_ref().unwrap();
        assert_eq!((counts.total, counts.passed, counts.failed), (112, 110, 2));
        assert_eq!(pytest.summary, "2 failed, 110 passed (shards 1/2+2/2)");
        assert_eq!(merged.check("ruff-check").unwrap().outcome, Outcome::Passed);
    }

    #[test]
    fn cancelled_beats_skipped_but_not_a_verdict() {
        let a = shard("a", "2026-11-26T12:00:00Z", 1, &[("docker", Outcome::Cancelled), ("build", Outcome::Skipped)]);
        let b = shard("b", "2026-11-26T12:00:00Z", 1, &[("docker", Outcome::Passed), ("build", Outcome::Cancelled)]);
        let merged = merge(vec![a, b]).unwrap();
        assert_eq!(merged.check("docker").unwrap().outcome, Outcome::Passed);
        assert_eq!(merged.check("build").unwrap().outcome, Outcome::Cancelled);
    }

    #[test]
    fn a_real_skip_beats_a_shard_that_did_not_select_the_check() {
        let mut a = shard("a", "2026-11-26T12:00:00Z", 1, &[("pytest", Outcome::Skipped)]);
        a.checks[0].skip_cause = Some(SkipCause::NotSelected);
        let mut b = shard("b", "2026-11-26T12:00:00Z", 1, &[("pytest", Outcome::Skipped)]);
        let need = SkipCause::NeedFailed { need: "environment".into(), outcome: Outcome::Errored };
        b.checks[0].skip_cause = Some(need.clone());
        for reports in [vec![a.clone(), b.clone()], vec![b, a]] {
            let merged = merge(reports).unwrap();
            assert_eq!(merged.check("pytest").unwrap().skip_cause.as_ref(), Some(&need));
        }
    }

    #[test]
    fn different_commits_are_refused() {
        let a = shard("a", "2026-11-26T12:00:00Z", 1, &[]);
        let mut b = a.clone();
        b.project.commit = Some("fedcba9876543210fedcba9876543210fedcba98".to_string());
        let error = merge(vec![a.clone(), b]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the reports are of different commits (report 1: 0123456789ab, report 2: fedcba987654); merge only the shards of one pipeline run"
        );
        let mut c = a.clone();
        c.project.commit = None;
        assert!(matches!(merge(vec![a, c]), Err(MergeError::DifferentCommits { .. })));
        assert_eq!(merge(Vec::new()), Err(MergeError::Empty));
    }
}
