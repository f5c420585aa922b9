//! The result cache: unchanged inputs replay; changing any one input runs again.

use greenlight_e2e::{TempProject, require_tool, run_greenlight};
use greenlight_report::{Outcome, RunReport};

fn cached(report: &RunReport, id: &str) -> bool {
    report.check(id).unwrap_or_else(|| panic!("{id} missing")).cached
}

/// A git repository with the lint-errors fixture, run once so the cache is warm.
fn warm(fixture: &str, checks: &[&str]) -> Option<TempProject> {
    if !require_tool("ruff") {
        return None;
    }
    let project = TempProject::fixture(fixture);
    project.write(".gitignore", "ignored.txt\n");
    project.git_init();
    let first = project.run_checks(checks);
    for id in checks {
        assert!(!cached(first.report(), id), "{id} replayed on the first run");
    }
    let second = project.run_checks(checks);
    for id in checks {
        assert!(cached(second.report(), id), "{id} ran again with nothing changed\n{}", second.output());
    }
    assert_eq!(first.code, second.code);
    Some(project)
}

#[test]
fn unchanged_rerun_replays_the_same_verdicts() {
    let Some(project) = warm("lint-errors", &["ruff-check", "ruff-format"]) else { return };
    let third = project.run_checks(&["ruff-check", "ruff-format"]);
    assert_eq!(third.code, Some(1), "a replayed failure still fails the run");
    let check = third.report().check("ruff-check").unwrap();
    assert_eq!(check.outcome, Outcome::Failed);
    assert_eq!(check.findings.len(), 4);
    assert!(check.log.as_ref().is_some_and(|log| project.path().join(&log.path).is_file()), "the log is replayed");
    // The live line (stderr) marks the replay after the summary, keeping the time column.
    let line = third.stderr.lines().find(|line| line.contains(" ruff-check ")).expect("a line for ruff-check");
    assert!(line.ends_with("(cached)"), "{}", third.output());
    assert!(!third.stdout.contains(" ruff-check  "), "the table is printed once, live:\n{}", third.output());
}

#[test]
fn a_modified_tracked_file_invalidates_and_the_commit_does_not() {
    let Some(project) = warm("lint-errors", &["ruff-check"]) else { return };
    let path = project.path().join("packages/core/health.py");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{text}\n\nCONSTANT = 1\n")).unwrap();
    assert!(!cached(project.run_checks(&["ruff-check"]).report(), "ruff-check"), "a modified file replayed");
    project.git(&["commit", "-qam", "add a constant"]);
    assert!(cached(project.run_checks(&["ruff-check"]).report(), "ruff-check"), "same content after the commit");
}

#[test]
fn untracked_files_invalidate_and_ignored_files_do_not() {
    let Some(project) = warm("lint-errors", &["ruff-check"]) else { return };
    project.write("ignored.txt", "not an input");
    assert!(cached(project.run_checks(&["ruff-check"]).report(), "ruff-check"), "an ignored file invalidated");
    project.write("packages/core/new_module.py", "import os\n");
    let result = project.run_checks(&["ruff-check"]);
    assert!(!cached(result.report(), "ruff-check"), "a new file replayed");
    assert_eq!(result.report().check("ruff-check").unwrap().findings.len(), 5, "the new file's finding is reported");
}

#[test]
fn a_deleted_file_invalidates() {
    let Some(project) = warm("lint-errors", &["ruff-check"]) else { return };
    std::fs::remove_file(project.path().join("packages/core/schemas.py")).unwrap();
    let result = project.run_checks(&["ruff-check"]);
    assert!(!cached(result.report(), "ruff-check"));
    assert_eq!(result.code, Some(0), "{}", result.output());
}

#[test]
fn a_configuration_change_invalidates() {
    let Some(project) = warm("lint-errors", &["ruff-check"]) else { return };
    project.write("greenlight.toml", "[ruff-check]\nargs = [\"--select\", \"F401\"]\n");
    let result = project.run_checks(&["ruff-check"]);
    assert!(!cached(result.report(), "ruff-check"));
    assert_eq!(result.report().check("ruff-check").unwrap().findings.len(), 2, "{}", result.output());
}

#[test]
fn a_different_tool_invalidates() {
    let Some(project) = warm("lint-errors", &["ruff-check"]) else { return };
    let ruff = std::env::split_paths(&greenlight_e2e::tools_path())
        .map(|dir| dir.join("ruff"))
        .find(|path| path.is_file())
        .unwrap();
    project.write("bin/ruff", &format!("#!/bin/sh\nexec {} \"$@\"\n", ruff.display()));
    std::fs::set_permissions(project.path().join("bin/ruff"), std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .unwrap();
    project.write(".gitignore", "ignored.txt\nbin/\n");
    project.git(&["commit", "-qam", "ignore bin"]);
    project.write("greenlight.toml", "[tools]\nruff = { path = \"bin/ruff\" }\n");
    let result = project.run_checks(&["ruff-check"]);
    assert!(!cached(result.report(), "ruff-check"), "another ruff replayed: {}", result.output());
    assert!(result.report().tools["ruff"].path.ends_with("bin/ruff"));
}

#[test]
fn a_declared_environment_variable_invalidates() {
    let Some(project) = warm("lint-errors", &["ruff-check"]) else { return };
    project.write("greenlight.toml", "[cache]\nenv = [\"APP_MODE\"]\n");
    project.git(&["add", "greenlight.toml"]);
    project.git(&["commit", "-qm", "declare APP_MODE"]);
    let run = |mode: &str| {
        let report = project.path().join("report.json");
        run_greenlight(project.path(), &["run", "ruff-check", "--json", "report.json"], &[("APP_MODE", mode)]);
        let report: RunReport = serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
        cached(&report, "ruff-check")
    };
    assert!(!run("a"), "the new configuration ran");
    assert!(run("a"), "same value replays");
    assert!(!run("b"), "another value ran again");
}

#[test]
fn outside_git_content_changes_invalidate() {
    if !require_tool("ruff") {
        return;
    }
    let project = TempProject::fixture("clean-service");
    project.run_checks(&["ruff-check"]);
    assert!(cached(project.run_checks(&["ruff-check"]).report(), "ruff-check"));
    project.write("apps/api/extra.py", "import os\n");
    let result = project.run_checks(&["ruff-check"]);
    assert!(!cached(result.report(), "ruff-check"));
    assert_eq!(result.code, Some(1));
}

#[test]
fn no_cache_and_cache_clean_run_everything() {
    let Some(project) = warm("lint-errors", &["ruff-check"]) else { return };
    assert!(!cached(project.run_checks(&["ruff-check", "--no-cache"]).report(), "ruff-check"));
    let clean = project.run(&["cache", "clean"]);
    assert_eq!(clean.code, Some(0), "{}", clean.output());
    assert!(!cached(project.run_checks(&["ruff-check"]).report(), "ruff-check"), "a cleaned cache replayed");
}

#[test]
fn errored_results_are_never_replayed() {
    let project = TempProject::fixture("broken-ruff-config");
    if !require_tool("ruff") {
        return;
    }
    project.run_checks(&["ruff-check"]);
    let second = project.run_checks(&["ruff-check"]);
    let check = second.report().check("ruff-check").unwrap();
    assert_eq!(check.outcome, Outcome::Errored);
    assert!(!check.cached);
}

/// The user's own git configuration passed in the environment (`GIT_CONFIG_COUNT`,
/// `GIT_CONFIG_KEY_n`, `GIT_CONFIG_VALUE_n`, as CI systems do) applies to greenlight's git
/// commands on a checkout owned by another user, where greenlight adds its own entry to trust
/// the repository: a file the user's excludes file ignores is neither an uncommitted change
/// nor an input of the cache.
#[test]
fn the_users_git_config_entries_apply_on_a_checkout_owned_by_another_user() {
    if !require_tool("ruff") {
        return;
    }
    let project = TempProject::fixture("lint-errors");
    project.git_init();
    project.write("scratch.txt", "notes");
    if !project.give_to_another_user() {
        return;
    }
    let excludes = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(excludes.path(), "scratch.txt\n").unwrap();
    let excludes = excludes.path().display().to_string();
    let user_config = [
        ("GIT_CONFIG_COUNT", "1"),
        ("GIT_CONFIG_KEY_0", "core.excludesFile"),
        ("GIT_CONFIG_VALUE_0", excludes.as_str()),
    ];
    let first = project.run_checks_with(&["ruff-check"], &user_config);
    assert_eq!(first.code, Some(1), "{}", first.output());
    let report = first.report();
    assert!(report.project.commit.is_some(), "git did not answer on the other user's checkout: {:?}", report.project);
    assert_eq!(report.project.dirty, Some(false), "the user's excludes file was not applied: {:?}", report.project);

    project.write("scratch.txt", "more notes");
    let second = project.run_checks_with(&["ruff-check"], &user_config);
    assert!(cached(second.report(), "ruff-check"), "a file the user's git ignores invalidated\n{}", second.output());
}

/// Each check is keyed on the files it reads: ruff on Python files and its configuration,
/// pip-audit on the dependency files (and the environment), pytest on everything.
#[test]
fn each_check_runs_again_only_when_a_file_it_reads_changes() {
    if !(require_tool("ruff") && require_tool("uv") && require_tool("pip-audit")) {
        return;
    }
    let project = TempProject::fixture("clean-service");
    project.write("README.md", "# clean-service\n");
    project.git_init();
    let db = greenlight_e2e::workspace().join("fixtures/advisory-db").display().to_string();
    let checks = ["ruff-check", "ruff-format", "pytest", "pip-audit", "--advisory-db", db.as_str()];
    let ids = ["ruff-check", "ruff-format", "pytest", "pip-audit"];
    let first = project.run_checks(&checks);
    assert_eq!(first.code, Some(0), "{}", first.output());
    let rerun = |edit: &dyn Fn(), expected: &[&str]| {
        edit();
        let result = project.run_checks(&checks);
        assert_eq!(result.code, Some(0), "{}", result.output());
        let ran: Vec<&str> = ids.iter().copied().filter(|id| !cached(result.report(), id)).collect();
        assert_eq!(ran, expected, "{}", result.output());
    };
    rerun(&|| {}, &[]);
    // Documentation: only pytest, whose tests may read any file.
    rerun(&|| project.write("README.md", "# clean-service\n\nHow to run it.\n"), &["pytest"]);
    // A test: the checks of Python files.
    let test = project.path().join("tests/test_api.py");
    let text = std::fs::read_to_string(&test).unwrap();
    rerun(
        &|| std::fs::write(&test, format!("{text}\n\ndef test_added():\n    assert True\n")).unwrap(),
        &["ruff-check", "ruff-format", "pytest"],
    );
    // ruff's own configuration file.
    rerun(&|| project.write("ruff.toml", "line-length = 100\n"), &["ruff-check", "ruff-format", "pytest"]);
    // A requirements file: pip-audit (and pytest).
    rerun(&|| project.write("requirements-dev.txt", "pytest>=7\n"), &["pytest", "pip-audit"]);
    // The project's metadata: everything (pip-audit and pytest through the environment too).
    let pyproject = std::fs::read_to_string(project.path().join("pyproject.toml")).unwrap();
    rerun(&|| project.write("pyproject.toml", &pyproject.replace("0.1.0", "0.1.1")), &ids);
    rerun(&|| {}, &[]);
}
