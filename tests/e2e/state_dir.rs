//! `--state-dir` / `GREENLIGHT_STATE_DIR`: greenlight's state (the project environment, logs,
//! the result cache, tool caches) kept outside the project, and a read-only checkout checked.

use greenlight_e2e::{TempProject, require_tool};

const CHECKS: &[&str] = &["ruff-check", "ruff-format", "pytest"];

#[test]
fn a_state_dir_elsewhere_leaves_nothing_in_the_project_and_replays_from_there() {
    if !require_tool("ruff") || !require_tool("pytest") {
        return;
    }
    let project = TempProject::fixture("clean-service");
    project.git_init();
    let state = tempfile::tempdir().expect("a temp dir");
    let report = state.path().join("report.json");
    let state_arg = state.path().join("state").display().to_string();
    let report_arg = report.display().to_string();
    let run = |env: &[(&str, &str)], extra: &[&str]| {
        let mut args = vec!["run", "--no-progress", "--json", report_arg.as_str()];
        args.extend_from_slice(extra);
        args.extend_from_slice(CHECKS);
        let result = greenlight_e2e::run_greenlight(project.path(), &args, env);
        let text = std::fs::read_to_string(&report).unwrap_or_else(|_| panic!("no report\n{}", result.output()));
        let parsed: greenlight_report::RunReport = serde_json::from_str(&text).expect("the report parses");
        (result, parsed)
    };

    let before = project.snapshot();
    let (first, report1) = run(&[], &["--state-dir", &state_arg]);
    assert_eq!(first.code, Some(0), "{}", first.output());
    assert!(!project.path().join(".greenlight").exists(), "a .greenlight was made in the project");
    assert_eq!(project.snapshot(), before, "the run changed the project's files");
    assert_eq!(project.git(&["status", "--porcelain", "--ignored"]), "", "the tree is not clean");
    let state_dir = state.path().join("state");
    for made in ["venv/bin/python", "logs", "cache", "ruff-cache", "pycache", ".gitignore"] {
        assert!(state_dir.join(made).exists(), "no {made} in the state directory");
    }
    for id in CHECKS {
        let check = report1.check(id).unwrap();
        assert!(!check.cached, "{id} replayed on the first run");
        // The log is where the state is, named by its absolute path.
        let log = check.log.as_ref().unwrap_or_else(|| panic!("{id} has no log"));
        assert!(log.path.starts_with(&state_arg), "{id}'s log {} is not under the state dir", log.path);
    }

    // The variable moves it too; the second run replays every check from there.
    let (second, report2) = run(&[("GREENLIGHT_STATE_DIR", &state_arg)], &[]);
    assert_eq!(second.code, Some(0), "{}", second.output());
    for id in CHECKS {
        assert!(report2.check(id).unwrap().cached, "{id} ran again\n{}", second.output());
    }
    assert!(report2.check("environment").is_none_or(|env| env.summary.contains("reused")), "{}", second.output());
    assert!(!project.path().join(".greenlight").exists(), "a .greenlight was made in the project");

    // `cache clean` finds the results there.
    let clean = greenlight_e2e::run_greenlight(project.path(), &["cache", "clean", "--state-dir", &state_arg], &[]);
    assert_eq!(clean.code, Some(0), "{}", clean.output());
    assert!(!state_dir.join("cache").exists(), "the result cache was not removed");
}

/// Runs the binary in `project` made read-only: a read-only bind mount of it in a mount
/// namespace of its own when the tests run as root (root writes through permissions), else
/// the files' write permissions taken away.
#[expect(clippy::print_stderr, reason = "tests explain why they skip")]
fn run_read_only(project: &std::path::Path, args: &[&str]) -> Option<greenlight_e2e::RunResult> {
    use std::process::{Command, Stdio};
    let root =
        Command::new("id").arg("-u").output().is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0");
    let mut command = if root {
        let probe = Command::new("unshare").args(["-m", "true"]).status();
        if !probe.is_ok_and(|status| status.success()) {
            if std::env::var("GREENLIGHT_REQUIRE_TOOLS").is_ok_and(|value| value == "1") {
                panic!("a read-only mount needs `unshare -m` (CAP_SYS_ADMIN) when the tests run as root");
            }
            eprintln!("skipped: running as root without `unshare -m`, the tree cannot be made read-only");
            return None;
        }
        let dir = project.display().to_string();
        let mut command = Command::new("unshare");
        command
            .args([
                "-m",
                "sh",
                "-c",
                r#"mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" && shift && exec "$@""#,
                "sh",
            ])
            .arg(&dir)
            .arg(greenlight_e2e::greenlight_bin());
        command
    } else {
        let status = Command::new("chmod").args(["-R", "a-w"]).arg(project).status().expect("chmod");
        assert!(status.success());
        Command::new(greenlight_e2e::greenlight_bin())
    };
    command
        .args(args)
        .current_dir(project)
        .env("PATH", greenlight_e2e::tools_path())
        .env("NO_COLOR", "1")
        .env("GREENLIGHT_CACHE_DIR", greenlight_e2e::workspace().join("target/e2e-cache"))
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("GREENLIGHT_ADVISORY_DB")
        .stdin(Stdio::null());
    let output = command.output().expect("run greenlight");
    if !root {
        let _ = Command::new("chmod").args(["-R", "u+w"]).arg(project).status();
    }
    Some(greenlight_e2e::RunResult {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        report: None,
    })
}

#[test]
fn a_read_only_checkout_is_checked_green_with_the_state_elsewhere() {
    if !require_tool("ruff") || !require_tool("pytest") || !require_tool("pyproject-build") {
        return;
    }
    let project = TempProject::fixture("clean-service");
    let state = tempfile::tempdir().expect("a temp dir");
    let state_arg = state.path().join("state").display().to_string();
    let report = state.path().join("report.json");
    let before = project.snapshot();
    let advisory_db = greenlight_e2e::workspace().join("fixtures/advisory-db").display().to_string();
    let args = [
        "run",
        "--no-progress",
        "--state-dir",
        &state_arg,
        "--json",
        &report.display().to_string(),
        "--advisory-db",
        &advisory_db,
        "ruff-check",
        "ruff-format",
        "pytest",
        "build",
        "pip-audit",
    ];
    let Some(result) = run_read_only(project.path(), &args) else { return };
    assert_eq!(result.code, Some(0), "{}", result.output());
    let parsed: greenlight_report::RunReport =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("a report")).expect("the report parses");
    assert!(parsed.check("pytest").unwrap().summary.contains("6 passed"), "{}", result.output());
    assert_eq!(project.snapshot(), before, "the run changed the tree");
    assert!(!project.path().join(".greenlight").exists());
    // setuptools' by-products of the editable install went to the state directory, and are gone.
    let by_products = state.path().join("state/setuptools");
    assert!(by_products.is_dir(), "{}", result.output());
    assert_eq!(std::fs::read_dir(&by_products).unwrap().count(), 0, "setuptools' by-products were left");
}
