//! `retries = N`: the tests that failed run again, by node id, up to N more times (as nextest's
//! retries). A test that failed and then passed is `flaky`: its case passes with `flaky: true`
//! and the first failure's message, and a `test-flaky` finding names it. Whether flaky tests
//! fail the check is `flaky-fails` (default `false`: they do not, and the summary says so).

use greenlight_checker::report::{TestOutcome, TestSummary};
use greenlight_checker::{Finding, FindingKind, Location, Outcome, Severity};

use greenlight_checker::junit::Junit;

/// The node ids of the cases that still fail (failed or errored, not flaky).
pub fn still_failing(junit: &Junit) -> Vec<String> {
    junit
        .summary
        .cases
        .iter()
        .filter(|case| matches!(case.outcome, TestOutcome::Failed | TestOutcome::Error))
        .map(|case| case.node_id.clone())
        .collect()
}

/// Folds the report of attempt `attempt` (2 for the first retry), which ran only failing
/// tests, into `first`: each failing case that passed there becomes a flaky pass. Returns how
/// many did.
pub fn fold(first: &mut Junit, retry: &TestSummary, attempt: u32) -> u32 {
    let mut passed_now = 0;
    for (index, case) in first.summary.cases.iter_mut().enumerate() {
        if !matches!(case.outcome, TestOutcome::Failed | TestOutcome::Error) {
            continue;
        }
        case.attempts = Some(attempt);
        let Some(again) = retry.cases.iter().find(|again| again.node_id == case.node_id) else { continue };
        if again.outcome != TestOutcome::Passed {
            continue;
        }
        match case.outcome {
            TestOutcome::Error => first.summary.errors = first.summary.errors.saturating_sub(1),
            _ => first.summary.failed = first.summary.failed.saturating_sub(1),
        }
        case.outcome = TestOutcome::Passed;
        case.flaky = true;
        first.summary.passed += 1;
        first.summary.flaky += 1;
        first.failure_lines.retain(|(line_index, _)| *line_index != index);
        passed_now += 1;
    }
    passed_now
}

/// A `test-flaky` finding for every flaky case: an error when `flaky_fails`, else a warning.
pub fn flaky_findings(summary: &TestSummary, flaky_fails: bool) -> Vec<Finding> {
    summary
        .cases
        .iter()
        .filter(|case| case.flaky)
        .map(|case| {
            let first = case.message.as_deref().and_then(|message| message.lines().next()).unwrap_or("failed");
            let attempts = case.attempts.unwrap_or(2);
            let message = format!("{} is flaky: it failed ({first}), then passed on attempt {attempts}", case.node_id);
            let location = case.file.clone().map(|file| Location::at(file, case.line, None));
            let mut finding = Finding::new("test-flaky", message, location);
            finding.fingerprint = greenlight_checker::report::fingerprint(&["test-flaky", &case.node_id]);
            finding.kind = FindingKind::Test;
            finding.severity = if flaky_fails { Severity::Error } else { Severity::Warning };
            finding.title = Some(format!("pytest flaky: {}", case.node_id));
            finding.detail = case.traceback.clone();
            finding
        })
        .collect()
}

/// The words of a run with flaky tests (failed, then passed on retry): `1 FLAKY (not failing
/// the run): tests/test_api.py::test_x`.
pub fn flaky_line(summary: &TestSummary, flaky_fails: bool) -> String {
    let ids: Vec<&str> = summary.cases.iter().filter(|case| case.flaky).map(|case| case.node_id.as_str()).collect();
    let verdict = if flaky_fails { "failing the run: flaky-fails = true" } else { "not failing the run" };
    format!("{} FLAKY ({verdict}): {}", summary.flaky, ids.join(", "))
}

/// The outcome of a run whose failures were all flaky.
pub fn outcome(summary: &TestSummary, flaky_fails: bool) -> Option<Outcome> {
    (summary.flaky > 0 && flaky_fails).then_some(Outcome::Failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use greenlight_checker::junit::parse_junit;

    #[test]
    fn a_failure_that_passes_on_retry_is_flaky() {
        let mut first =
            parse_junit(include_str!("../../../crates/greenlight-checker/tests/data/mixed-xunit1.xml")).unwrap();
        let failing = still_failing(&first);
        assert_eq!(failing.len(), 5, "{failing:?}");
        let mut retry = first.summary.clone();
        let target = failing.iter().find(|id| id.contains("test_fail")).unwrap().clone();
        for case in &mut retry.cases {
            if case.node_id == target {
                case.outcome = TestOutcome::Passed;
            }
        }
        let (failed, passed) = (first.summary.failed, first.summary.passed);
        assert_eq!(fold(&mut first, &retry, 2), 1);
        assert_eq!((first.summary.failed, first.summary.passed, first.summary.flaky), (failed - 1, passed + 1, 1));
        assert_eq!(still_failing(&first).len(), 4);
        let case = first.summary.cases.iter().find(|case| case.node_id == target).unwrap();
        assert!(case.flaky && case.outcome == TestOutcome::Passed && case.message.is_some());
        let findings = flaky_findings(&first.summary, false);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].severity, Severity::Warning);
        assert!(findings[0].message.starts_with(&format!("{target} is flaky")), "{}", findings[0].message);
        assert!(flaky_line(&first.summary, false).contains("not failing the run"));
        assert_eq!(outcome(&first.summary, true), Some(Outcome::Failed));
    }
}
