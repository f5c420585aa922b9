//! The project environment, pinned tools, and the pytest checker.

use greenlight_e2e::{TempProject, require_tool, run_greenlight};
use std::time::Duration;

use greenlight_report::{Outcome, RunReport};

fn ready() -> bool {
    require_tool("uv") && require_tool("ruff")
}

fn check_fixture(name: &str) {
    if ready() {
        greenlight_e2e::check_fixture(name, &["--jobs", "4"]);
    }
}

#[test]
fn failing_test() {
    check_fixture("failing-test");
}

#[test]
fn collection_error() {
    check_fixture("collection-error");
}

#[test]
fn no_tests() {
    check_fixture("no-tests");
}

#[test]
fn broken_conftest() {
    check_fixture("broken-conftest");
}

#[test]
fn uninstallable_dependencies() {
    check_fixture("uninstallable-deps");
}

fn summary(report: &RunReport, id: &str) -> String {
    report.check(id).unwrap_or_else(|| panic!("{id} missing")).summary.clone()
}

#[test]
fn environment_is_reused_until_a_dependency_file_changes() {
    if !ready() {
        return;
    }
    let project = TempProject::fixture("clean-service");
    let first = project.run_checks(&["pytest"]);
    assert_eq!(first.code, Some(0), "{}", first.output());
    assert!(summary(first.report(), "environment").starts_with("created"), "{}", first.output());
    let pytest = &first.report().tools["pytest"];
    assert!(pytest.path.contains(".greenlight/venv/bin/pytest"), "{pytest:?}");
    assert_eq!(pytest.source, "environment");

    let second = project.run_checks(&["pytest"]);
    assert_eq!(second.code, Some(0), "{}", second.output());
    assert!(summary(second.report(), "environment").starts_with("reused"), "{}", second.output());
    let environment = second.report().check("environment").unwrap();
    assert!(environment.duration_ms < 1000, "reusing took {} ms", environment.duration_ms);

    let pyproject = std::fs::read_to_string(project.path().join("pyproject.toml")).unwrap();
    project.write("pyproject.toml", &format!("{pyproject}\n# a change to a dependency file\n"));
    let third = project.run_checks(&["pytest"]);
    assert_eq!(third.code, Some(0), "{}", third.output());
    assert!(summary(third.report(), "environment").starts_with("created"), "{}", third.output());

    let fourth = project.run_checks(&["pytest", "--rebuild-env"]);
    assert!(summary(fourth.report(), "environment").starts_with("created"), "{}", fourth.output());
}

#[test]
fn pip_fallback_builds_the_same_environment() {
    if !ready() {
        return;
    }
    let project = TempProject::fixture("failing-test");
    let pyproject = std::fs::read_to_string(project.path().join("pyproject.toml")).unwrap();
    project.write("pyproject.toml", &format!("{pyproject}\n[tool.greenlight.environment]\ninstaller = \"pip\"\n"));
    let result = project.run_checks(&["pytest"]);
    assert_eq!(result.code, Some(1), "{}", result.output());
    assert!(summary(result.report(), "environment").contains("with pip"), "{}", result.output());
    assert_eq!(result.report().check("pytest").unwrap().tests.as_ref().unwrap().failed, 1);
}

#[test]
fn concurrent_runs_share_one_environment_safely() {
    if !ready() {
        return;
    }
    let project = TempProject::fixture("clean-service");
    let spawn = || greenlight_e2e::spawn_greenlight(project.path(), &["run", "pytest", "--no-progress"]);
    let (first, second) = (spawn(), spawn());
    let (first, second) = (first.wait_with_output().unwrap(), second.wait_with_output().unwrap());
    assert_eq!(first.status.code(), Some(0), "{}", String::from_utf8_lossy(&first.stdout));
    assert_eq!(second.status.code(), Some(0), "{}", String::from_utf8_lossy(&second.stdout));
    let third = project.run_checks(&["pytest"]);
    assert!(summary(third.report(), "environment").starts_with("reused"), "{}", third.output());
}

#[test]
fn failing_test_output_is_readable_in_the_terminal() {
    if !ready() {
        return;
    }
    let project = TempProject::fixture("failing-test");
    let result = project.run(&["run", "pytest", "--no-progress"]);
    assert_eq!(result.code, Some(1), "{}", result.output());
    for text in [
        "FAILED tests/test_pricing.py::test_total_with_discount",
        "assert -900.0 == 90.0",
        "tests/test_pricing.py:11: AssertionError",
    ] {
        assert!(result.stdout.contains(text), "missing {text:?}:\n{}", result.output());
    }
}

#[test]
fn pinned_tool_is_provisioned_recorded_and_reused_with_tools_from() {
    if !ready() {
        return;
    }
    let project = TempProject::fixture("lint-errors");
    let pyproject = std::fs::read_to_string(project.path().join("pyproject.toml")).unwrap();
    project.write("pyproject.toml", &format!("{pyproject}\n[tool.greenlight.tools]\nruff = \"0.14.10\"\n"));
    let result = project.run_checks(&["ruff-check"]);
    assert_eq!(result.code, Some(1), "{}", result.output());
    let ruff = &result.report().tools["ruff"];
    assert_eq!(ruff.version, "0.14.10", "{ruff:?}");
    assert_eq!(ruff.source, "provisioned");
    assert!(ruff.path.contains("tools/ruff-0.14.10/"), "{ruff:?}");
    let earlier = project.path().join(".greenlight/e2e-report.json");
    let saved = project.path().join("ci-report.json");
    std::fs::copy(&earlier, &saved).unwrap();

    // Another checkout without the pin reproduces the same version from the report.
    let other = TempProject::fixture("lint-errors");
    let saved_arg = saved.display().to_string();
    let again = other.run_checks(&["ruff-check", "--tools-from", &saved_arg]);
    assert_eq!(again.code, Some(1), "{}", again.output());
    assert_eq!(again.report().tools["ruff"].version, "0.14.10");
}

#[test]
fn a_version_that_cannot_be_provisioned_is_errored() {
    if !ready() {
        return;
    }
    let project = TempProject::fixture("clean-service");
    let pyproject = std::fs::read_to_string(project.path().join("pyproject.toml")).unwrap();
    project.write("pyproject.toml", &format!("{pyproject}\n[tool.greenlight.tools]\nruff = \"0.0.999\"\n"));
    let result = project.run_checks(&["ruff-check"]);
    assert_eq!(result.code, Some(2), "{}", result.output());
    let check = result.report().check("ruff-check").unwrap();
    assert_eq!(check.outcome, Outcome::Errored);
    let reason = check.reason.as_deref().unwrap();
    assert!(reason.contains("cannot install `ruff` 0.0.999 (pinned): `"), "{check:?}");
    assert!(reason.contains("uv pip install") && reason.contains("ruff==0.0.999"), "the failed command: {reason}");
    assert!(reason.contains("install.log"), "where the full output is: {reason}");
}

#[test]
fn tools_from_a_file_that_is_not_a_report_is_a_usage_error() {
    let project = TempProject::fixture("clean-service");
    project.write("not-a-report.json", "{\"hello\": 1}");
    let result = run_greenlight(project.path(), &["run", "--tools-from", "not-a-report.json"], &[]);
    assert_eq!(result.code, Some(3), "{}", result.output());
    assert!(result.stderr.contains("not a greenlight JSON report"), "{}", result.output());
}

/// A project whose install needs a credential: its build backend (standing in for a download
/// from a private package index) refuses to build without `PRIVATE_INDEX_TOKEN`.
fn project_needing_a_credential() -> TempProject {
    let project = TempProject::empty();
    project.write(
        "pyproject.toml",
        r#"[build-system]
requires = ["setuptools>=61"]
build-backend = "private_backend"
backend-path = ["_build"]

[project]
name = "private-service"
version = "0.1.0"
requires-python = ">=3.10"
dependencies = []

[project.optional-dependencies]
dev = ["pytest>=7"]

[tool.setuptools]
packages = ["app"]

[tool.greenlight]
pass-env = ["PRIVATE_INDEX_TOKEN"]
"#,
    );
    project.write(
        "_build/private_backend.py",
        r#""""setuptools, behind a credential: what a build that downloads from a private index needs."""
import os

from setuptools import build_meta as _meta


def _credential():
    if not os.environ.get("PRIVATE_INDEX_TOKEN"):
        raise RuntimeError("PRIVATE_INDEX_TOKEN is not set: the private package index refuses the download")


def get_requires_for_build_editable(config_settings=None):
    _credential()
    return _meta.get_requires_for_build_editable(config_settings)


def prepare_metadata_for_build_editable(metadata_directory, config_settings=None):
    _credential()
    return _meta.prepare_metadata_for_build_editable(metadata_directory, config_settings)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    _credential()
    return _meta.build_editable(wheel_directory, config_settings, metadata_directory)


get_requires_for_build_wheel = _meta.get_requires_for_build_wheel
prepare_metadata_for_build_wheel = _meta.prepare_metadata_for_build_wheel
build_wheel = _meta.build_wheel
get_requires_for_build_sdist = _meta.get_requires_for_build_sdist
build_sdist = _meta.build_sdist
"#,
    );
    project.write("app/__init__.py", "VALUE = 1\n");
    project.write(
        "tests/test_app.py",
        "import os\n\nimport app\n\n\ndef test_the_credential_reaches_the_tests():\n    assert app.VALUE == 1\n    assert os.environ.get(\"PRIVATE_INDEX_TOKEN\")\n",
    );
    project
}

#[test]
fn a_pass_env_credential_reaches_the_environment_installer() {
    if !ready() {
        return;
    }
    let project = project_needing_a_credential();
    let token = "s3cr3t-index-token";
    let result = project.run_checks_with(&["pytest"], &[("PRIVATE_INDEX_TOKEN", token)]);
    let environment = result.report().check("environment").unwrap();
    assert_eq!(environment.outcome, Outcome::Passed, "{environment:?}\n{}", result.output());
    let pytest = result.report().check("pytest").unwrap();
    assert_eq!(pytest.outcome, Outcome::Passed, "{pytest:?}\n{}", result.output());
    assert_eq!(result.code, Some(0), "{}", result.output());
    assert!(!result.output().contains(token), "the credential was printed:\n{}", result.output());

    // Not listed in `pass-env`, it reaches neither: the install says why.
    let pyproject = std::fs::read_to_string(project.path().join("pyproject.toml")).unwrap();
    project.write("pyproject.toml", &pyproject.replace("pass-env = [\"PRIVATE_INDEX_TOKEN\"]", "pass-env = []"));
    let result = project.run_checks_with(&["pytest"], &[("PRIVATE_INDEX_TOKEN", token)]);
    let environment = result.report().check("environment").unwrap();
    assert_eq!(environment.outcome, Outcome::Errored, "{}", result.output());
    assert!(environment.reason.as_deref().unwrap().contains("PRIVATE_INDEX_TOKEN is not set"), "{environment:?}");
    assert_eq!(result.report().check("pytest").unwrap().outcome, Outcome::Skipped);
}

#[test]
fn one_environment_serves_every_selection_of_the_same_commit() {
    if !ready() {
        return;
    }
    let project = TempProject::fixture("clean-service");
    // The project pins its linter in its dev extra, so ruff-check runs from the environment.
    let pyproject = std::fs::read_to_string(project.path().join("pyproject.toml")).unwrap();
    project.write("pyproject.toml", &pyproject.replace("dev = [\"pytest>=7\"]", "dev = [\"pytest>=7\", \"ruff\"]"));
    let first = project.run_checks(&["pytest"]);
    assert_eq!(first.code, Some(0), "{}", first.output());
    assert!(summary(first.report(), "environment").starts_with("created"), "{}", first.output());
    let db = greenlight_e2e::workspace().join("fixtures/advisory-db").display().to_string();
    let audit = ["pip-audit", "--advisory-db", db.as_str()];
    for selection in [&["ruff-check"][..], &["ruff-check", "ruff-format", "pytest"], &audit, &["pytest"]] {
        let again = project.run_checks(selection);
        assert_eq!(again.code, Some(0), "{selection:?}: {}", again.output());
        let environment = summary(again.report(), "environment");
        assert!(environment.starts_with("reused"), "{selection:?} rebuilt the environment: {environment}");
        if let Some(ruff) = again.report().tools.get("ruff") {
            assert_eq!(ruff.source, "environment", "{selection:?}");
        }
    }
}

#[test]
fn a_rebuild_waits_for_a_run_using_the_environment_and_both_are_right() {
    if !ready() {
        return;
    }
    let project = TempProject::fixture("clean-service");
    let signals = tempfile::tempdir().unwrap();
    let (started, release) = (signals.path().join("started"), signals.path().join("release"));
    // A test that holds the first run inside pytest until the second one is waiting.
    project.write(
        "tests/test_hold.py",
        &format!(
            "import pathlib\nimport time\n\n\ndef test_waits_for_the_release():\n    pathlib.Path({started:?}).touch()\n    deadline = time.monotonic() + 300\n    while not pathlib.Path({release:?}).exists() and time.monotonic() < deadline:\n        time.sleep(0.05)\n    assert pathlib.Path({release:?}).exists()\n",
            started = started.display().to_string(),
            release = release.display().to_string(),
        ),
    );
    let json = |name: &str| project.path().join(name).display().to_string();
    let (first_json, second_json) = (json("first.json"), json("second.json"));
    let mut first =
        greenlight_e2e::spawn_greenlight(project.path(), &["run", "pytest", "--no-progress", "--json", &first_json]);
    assert!(
        greenlight_e2e::wait_for(Duration::from_secs(300), || started.exists()),
        "the first run's tests never started"
    );
    let second = greenlight_e2e::spawn_greenlight(
        project.path(),
        &["run", "pytest", "--rebuild-env", "--no-progress", "--json", &second_json],
    );
    // The second run records that it is changing the environment, then waits for the first.
    let building = project.path().join(format!(".greenlight/venv.build.lock.{}.holder", second.id()));
    let waiting = greenlight_e2e::wait_for(Duration::from_secs(120), || building.exists());
    std::fs::write(&release, "").unwrap();
    assert!(waiting, "the rebuild never started waiting");
    let first_pid = first.id();
    let first_status = first.wait().unwrap();
    let second = second.wait_with_output().unwrap();
    let second_stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(first_status.code(), Some(0));
    assert_eq!(second.status.code(), Some(0), "{second_stderr}");
    let read = |path: &str| -> RunReport { serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap() };
    let (first, second_report) = (read(&first_json), read(&second_json));
    assert!(summary(&first, "environment").starts_with("created"), "{:?}", first.check("environment"));
    assert_eq!(first.check("pytest").unwrap().tests.as_ref().unwrap().passed, 7);
    let rebuilt = summary(&second_report, "environment");
    assert!(rebuilt.starts_with("created"), "{rebuilt}");
    let holder = format!("greenlight (pid {first_pid}) using it since ");
    assert!(rebuilt.contains(&format!("waited for {holder}")), "{rebuilt}");
    assert!(
        second_stderr.contains(&format!("waiting for the project environment .greenlight/venv: {holder}")),
        "{second_stderr}"
    );
    assert_eq!(second_report.check("pytest").unwrap().outcome, Outcome::Passed);
    let third = project.run_checks(&["pytest"]);
    assert!(summary(third.report(), "environment").starts_with("reused"), "{}", third.output());
}
