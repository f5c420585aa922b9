//! pytest `retries`: a test that fails every other run (a state file it keeps) is run again by
//! node id, passes on the second attempt and is reported `flaky`, with its node id, in the
//! JSON report, the terminal and JUnit; `flaky-fails = true` makes it fail the check.

use greenlight_e2e::{TempProject, require_tool};
use greenlight_report::{Outcome, Severity, TestOutcome};

const NODE_ID: &str = "tests/test_flaky.py::test_refund_is_idempotent";

/// The clean service with a test that fails on every other run, and `retries` set.
fn service_with_a_flaky_test(options: &str) -> Option<TempProject> {
    if !require_tool("pytest") || !require_tool("uv") {
        return None;
    }
    let project = TempProject::fixture("clean-service");
    project.write(
        "tests/test_flaky.py",
        r#""""A test that depends on state left by its previous run: it fails every other run."""

from pathlib import Path

STATE = Path(__file__).resolve().parent.parent / ".greenlight" / "flaky-runs"


def test_refund_is_idempotent():
    runs = int(STATE.read_text()) if STATE.exists() else 0
    STATE.parent.mkdir(exist_ok=True)
    STATE.write_text(str(runs + 1))
    assert runs % 2 == 1, f"refund applied twice (run {runs})"
"#,
    );
    let pyproject = std::fs::read_to_string(project.path().join("pyproject.toml")).unwrap();
    project.write("pyproject.toml", &format!("{pyproject}\n[tool.greenlight.pytest]\n{options}\n"));
    Some(project)
}

#[test]
fn a_test_that_fails_every_other_run_is_flaky_with_its_node_id() {
    let Some(project) = service_with_a_flaky_test("retries = 2") else { return };
    let junit = project.path().join(".greenlight").join("flaky.xml");
    let result = project.run_checks(&["pytest", "--no-cache", "--junit", junit.to_str().unwrap()]);
    assert_eq!(result.code, Some(0), "flaky tests do not fail the run by default: {}", result.output());
    let pytest = result.report().check("pytest").unwrap();
    assert_eq!(pytest.outcome, Outcome::Passed);
    let tests = pytest.tests.as_ref().unwrap();
    assert_eq!((tests.flaky, tests.failed), (1, 0), "{tests:#?}");
    let case = tests.cases.iter().find(|case| case.node_id == NODE_ID).expect("the flaky case");
    assert!(case.flaky && case.outcome == TestOutcome::Passed && case.attempts == Some(2), "{case:#?}");
    assert!(case.message.as_deref().unwrap_or_default().contains("refund applied twice"), "{case:#?}");
    let finding = pytest.findings.iter().find(|finding| finding.rule == "test-flaky").expect("a test-flaky finding");
    assert_eq!(finding.severity, Severity::Warning);
    assert!(finding.message.starts_with(NODE_ID), "{}", finding.message);
    assert!(pytest.summary.contains(&format!("1 FLAKY (not failing the run): {NODE_ID}")), "{}", pytest.summary);
    assert!(
        result.stdout.contains(&format!(
            "FLAKY: 1 test of pytest failed, then passed on retry (they do not fail the run): {NODE_ID}"
        )),
        "{}",
        result.output()
    );
    let junit = std::fs::read_to_string(&junit).unwrap();
    assert!(junit.contains("flaky: failed, then passed on attempt 2"), "{junit}");
    assert_eq!(junit.matches("<failure").count(), 0, "{junit}");
    let log = std::fs::read_to_string(project.path().join(&pytest.log.as_ref().unwrap().path)).unwrap();
    assert!(log.contains(&format!("retry 1 of 2: 1 failing test(s) again: {NODE_ID}")), "{log}");
}

#[test]
fn flaky_fails_makes_a_flaky_test_fail_the_run() {
    let Some(project) = service_with_a_flaky_test("retries = 1\nflaky-fails = true") else { return };
    let result = project.run_checks(&["pytest", "--no-cache"]);
    assert_eq!(result.code, Some(1), "{}", result.output());
    let pytest = result.report().check("pytest").unwrap();
    assert_eq!(pytest.outcome, Outcome::Failed);
    assert!(pytest.summary.contains("failing the run: flaky-fails = true"), "{}", pytest.summary);
    let finding = pytest.findings.iter().find(|finding| finding.rule == "test-flaky").unwrap();
    assert_eq!(finding.severity, Severity::Error);
}

#[test]
fn without_retries_the_same_test_fails() {
    let Some(project) = service_with_a_flaky_test("retries = 0") else { return };
    let result = project.run_checks(&["pytest", "--no-cache"]);
    assert_eq!(result.code, Some(1), "{}", result.output());
    let tests = result.report().check("pytest").unwrap().tests.clone().unwrap();
    assert_eq!((tests.failed, tests.flaky), (1, 0));
}
