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
