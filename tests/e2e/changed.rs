//! `--changed [REF]` and `--staged` on the lint-errors service, whose schemas.py has four old
//! ruff findings: ruff check and ruff format look at the changed files only (named on ruff's
//! command line), pytest says it runs whole and runs whole.

use greenlight_e2e::{TempProject, require_tool};
use greenlight_report::Outcome;

const MAIN_WITH_UNUSED_IMPORT: &str = "\"\"\"The HTTP entrypoint of the service.\"\"\"\n\nimport json\n\nfrom packages.core.health import health_status\n\n\ndef health() -> dict[str, str]:\n    return health_status()\n";

fn service() -> Option<TempProject> {
    if !require_tool("ruff") || !require_tool("pytest") || !require_tool("uv") {
        return None;
    }
    let project = TempProject::fixture("lint-errors");
    project.git_init();
    Some(project)
}

fn ruff_files(command: &[String]) -> Vec<&str> {
    command.iter().map(String::as_str).filter(|arg| arg.ends_with(".py") || *arg == ".").collect()
}

#[test]
fn changed_runs_ruff_on_the_one_changed_file_only() {
    let Some(project) = service() else { return };
    project.write("apps/api/main.py", MAIN_WITH_UNUSED_IMPORT);
    let result = project.run_checks(&["ruff-check", "ruff-format", "pytest", "--changed"]);
    assert_eq!(result.code, Some(1), "{}", result.output());
    let report = result.report();
    let ruff = report.check("ruff-check").unwrap();
    assert_eq!(ruff_files(ruff.command.as_ref().unwrap()), ["apps/api/main.py"], "{:?}", ruff.command);
    let paths: Vec<_> = ruff.findings.iter().map(|finding| finding.location.clone().unwrap().path).collect();
    assert_eq!(paths, ["apps/api/main.py"], "schemas.py did not change: {ruff:#?}");
    assert!(ruff.summary.ends_with("(1 changed file since HEAD)"), "{}", ruff.summary);
    let format = report.check("ruff-format").unwrap();
    assert_eq!(format.outcome, Outcome::Passed);
    assert_eq!(ruff_files(format.command.as_ref().unwrap()), ["apps/api/main.py"]);
    let pytest = report.check("pytest").unwrap();
    assert_eq!(pytest.outcome, Outcome::Passed, "{pytest:#?}");
    assert!(
        pytest.summary.contains("(runs whole: its verdict depends on more than the files changed since HEAD)"),
        "{}",
        pytest.summary
    );
    assert!(pytest.tests.as_ref().unwrap().total > 0);
}

#[test]
fn changed_since_a_branch_and_staged_files() {
    let Some(project) = service() else { return };
    project.git(&["checkout", "-q", "-b", "feature"]);
    project.write("apps/api/main.py", MAIN_WITH_UNUSED_IMPORT);
    project.git(&["commit", "-q", "-am", "import json"]);
    let since_main = project.run_checks(&["ruff-check", "--changed", "main"]);
    assert_eq!(since_main.code, Some(1), "{}", since_main.output());
    let ruff = since_main.report().check("ruff-check").unwrap();
    assert_eq!(ruff.findings.len(), 1, "{ruff:#?}");
    assert!(ruff.summary.contains("since main (merge base"), "{}", ruff.summary);

    // Nothing staged: nothing for ruff to look at.
    let nothing = project.run_checks(&["ruff-check", "--staged"]);
    assert_eq!(nothing.code, Some(0), "{}", nothing.output());
    assert_eq!(
        nothing.report().check("ruff-check").unwrap().summary,
        "no Python file changed since the index (staged files)"
    );
    project.write("packages/core/health.py", "\"\"\"Health.\"\"\"\n\nimport os\n\n\ndef health_status() -> dict[str, str]:\n    return {\"status\": \"ok\"}\n");
    project.git(&["add", "packages/core/health.py"]);
    let staged = project.run_checks(&["ruff-check", "--staged"]);
    assert_eq!(staged.code, Some(1), "{}", staged.output());
    let ruff = staged.report().check("ruff-check").unwrap();
    assert_eq!(ruff_files(ruff.command.as_ref().unwrap()), ["packages/core/health.py"]);
    assert_eq!(ruff.findings.len(), 1, "{ruff:#?}");
}
