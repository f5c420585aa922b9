//! The files each check reads, as its result-cache key: gitleaks' history scan reads commits
//! and the files that steer it, its tree scan every file; build reads every file (the sdist
//! takes nearly all of them); docker reads its context (tests/e2e/docker.rs).

use greenlight_e2e::{TempProject, require_tool};
use greenlight_report::RunReport;

fn ran<'a>(report: &RunReport, ids: &[&'a str]) -> Vec<&'a str> {
    ids.iter().copied().filter(|id| !report.check(id).unwrap_or_else(|| panic!("{id} missing")).cached).collect()
}

/// A clean service with a README, committed.
fn committed_service(config: Option<&str>) -> TempProject {
    let project = TempProject::fixture("clean-service");
    project.write("README.md", "# clean-service\n");
    if let Some(config) = config {
        let pyproject = std::fs::read_to_string(project.path().join("pyproject.toml")).unwrap();
        project.write("pyproject.toml", &format!("{pyproject}\n{config}"));
    }
    project.git_init();
    project
}

fn append(project: &TempProject, relative: &str, text: &str) {
    let path = project.path().join(relative);
    let before = std::fs::read_to_string(&path).unwrap_or_default();
    std::fs::write(&path, format!("{before}{text}")).unwrap();
}

#[test]
fn a_history_scan_runs_again_for_new_commits_and_its_own_files_not_for_edits() {
    if !(require_tool("ruff") && require_tool("gitleaks") && require_tool("pyproject-build") && require_tool("uv")) {
        return;
    }
    let project = committed_service(None);
    let checks = ["ruff-check", "gitleaks", "build"];
    let rerun = |edit: &dyn Fn(), expected: &[&str]| {
        edit();
        let result = project.run_checks(&checks);
        assert_eq!(result.code, Some(0), "{}", result.output());
        assert_eq!(ran(result.report(), &checks), expected, "{}", result.output());
    };
    rerun(&|| {}, &checks);
    rerun(&|| {}, &[]);
    // Documentation: the sdist packs the README; ruff and the history scan do not read it.
    rerun(&|| append(&project, "README.md", "\nHow to run it.\n"), &["build"]);
    // A test: ruff and the build (setuptools' sdist takes `tests/test*.py`), not the history.
    rerun(
        &|| append(&project, "tests/test_api.py", "\n\ndef test_added():\n    assert True\n"),
        &["ruff-check", "build"],
    );
    // Committing what was already there: only the history changed.
    rerun(&|| drop(project.git(&["commit", "-qam", "docs and a test"])), &["gitleaks"]);
    // The files that steer the scan.
    rerun(&|| project.write(".gitleaksignore", "# no findings to ignore\n"), &["gitleaks", "build"]);
    rerun(&|| project.write(".gitleaks.toml", "[extend]\nuseDefault = true\n"), &["ruff-check", "gitleaks", "build"]);
    rerun(&|| {}, &[]);
}

#[test]
fn a_tree_scan_runs_again_for_any_edit() {
    if !(require_tool("gitleaks") && require_tool("ruff")) {
        return;
    }
    let project = committed_service(Some("[tool.greenlight.gitleaks]\nmode = \"tree\"\n"));
    let checks = ["ruff-check", "gitleaks"];
    let first = project.run_checks(&checks);
    assert_eq!(first.code, Some(0), "{}", first.output());
    let second = project.run_checks(&checks);
    assert_eq!(ran(second.report(), &checks), Vec::<&str>::new(), "{}", second.output());
    append(&project, "README.md", "\nHow to run it.\n");
    let third = project.run_checks(&checks);
    assert_eq!(ran(third.report(), &checks), ["gitleaks"], "{}", third.output());
    // A secret written into the README is found, not replayed away.
    // A fake AWS access key id: the right shape, no real account.
    let key = ["AKIA", "GREENLIGHT", "FAKE27"].concat();
    append(&project, "README.md", &format!("\nAWS_ACCESS_KEY_ID = \"{key}\"\n"));
    let fourth = project.run_checks(&checks);
    assert_eq!(fourth.code, Some(1), "{}", fourth.output());
    assert_eq!(ran(fourth.report(), &checks), ["gitleaks"], "{}", fourth.output());
}
