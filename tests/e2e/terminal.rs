//! The terminal as a user sees it: greenlight run in a real terminal (a tmux window of 80 and
//! of 200 columns), its screen captured: one table (the live lines, not again in the summary),
//! lines fitted to the width, deselected checks counted in one line; in a pipe nothing is cut;
//! `--color` and the colour variables; `report merge` says what the merged run was; shell
//! completions; "did you mean" for a mistyped check and a `[tool.greenlight]` header in
//! greenlight.toml.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use greenlight_e2e::{TempProject, greenlight_bin, require_tool, run_greenlight, tools_path, wait_for};

/// A build backend that fails with a long message: the build check's summary is 120
/// characters, longer than an 80-column line and shorter than a 200-column one.
fn project_with_a_long_summary() -> TempProject {
    let project = TempProject::empty();
    project.write(
        "pyproject.toml",
        "[build-system]\nrequires = []\nbuild-backend = \"refusing_backend\"\nbackend-path = [\".\"]\n\n[project]\nname = \"refusing\"\nversion = \"0.1.0\"\n",
    );
    let message = "the backend refuses to build this service because its release notes are missing from the docs folder of the repository";
    project.write(
        "refusing_backend.py",
        &format!("def _refuse(*_args, **_kwargs):\n    raise RuntimeError(\"{message}\")\n\n\nbuild_sdist = build_wheel = _refuse\n"),
    );
    project
}

/// Runs `greenlight ARGS` in a detached tmux window `columns` wide and returns the screen
/// (the whole scrollback) once it exited.
fn screen_of(dir: &Path, columns: u16, args: &str) -> String {
    let socket = format!("greenlight-e2e-{}-{columns}", std::process::id());
    let tmux = |tmux_args: &[&str]| Command::new("tmux").args(["-L", &socket]).args(tmux_args).output().unwrap();
    let command = format!(
        "cd '{}' && env -u NO_COLOR -u CI -u GITHUB_ACTIONS PATH='{}' '{}' {args}; echo greenlight-exited=$?; sleep 600",
        dir.display(),
        tools_path(),
        greenlight_bin().display()
    );
    let started = tmux(&["new-session", "-d", "-s", "e2e", "-x", &columns.to_string(), "-y", "60", &command]);
    assert!(started.status.success(), "tmux: {}", String::from_utf8_lossy(&started.stderr));
    let capture =
        || String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-S", "-1000", "-t", "e2e"]).stdout).to_string();
    let exited = wait_for(Duration::from_secs(120), || capture().contains("greenlight-exited="));
    let screen = capture();
    let _ = tmux(&["kill-server"]);
    assert!(exited, "greenlight did not finish in tmux:\n{screen}");
    screen
}

#[test]
fn the_terminal_at_80_and_200_columns() {
    if !(require_tool("ruff") && require_tool("pyproject-build") && require_tool("tmux")) {
        return;
    }
    let project = project_with_a_long_summary();
    for columns in [80, 200] {
        let screen = screen_of(project.path(), columns, "run build ruff-check --color never --no-cache");
        let build_lines: Vec<&str> = screen.lines().filter(|line| line.starts_with(" FAIL    build ")).collect();
        assert_eq!(build_lines.len(), 1, "one table, at {columns} columns:\n{screen}");
        let line = build_lines[0];
        assert!(line.chars().count() <= usize::from(columns), "fitted to {columns} columns: {line:?}");
        if columns == 80 {
            assert!(line.ends_with('…'), "cut to the width: {line:?}");
        } else {
            assert!(line.ends_with("docs folder of the repository"), "whole at 200 columns: {line:?}");
        }
        assert!(screen.contains(" checks not selected: "), "deselected checks in one line:\n{screen}");
        assert_eq!(screen.matches(" SKIP ").count(), 1, "no row per deselected check:\n{screen}");
        assert!(screen.contains("greenlight-exited=1"), "{screen}");
    }

    // In a pipe (a CI log) nothing is cut.
    let piped = project.run(&["run", "build", "--no-progress", "--no-cache"]);
    let line = piped.stderr.lines().find(|line| line.contains(" build ")).expect("a live line");
    assert!(line.ends_with("docs folder of the repository"), "{line:?}");
}

#[test]
fn colours_follow_the_flag_and_the_conventions() {
    if !require_tool("ruff") {
        return;
    }
    let project = TempProject::fixture("lint-errors");
    let args = ["run", "ruff-check", "--no-progress"];
    let escape = |env: &[(&str, &str)], extra: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(extra);
        run_greenlight(project.path(), &all, env).stdout.contains('\u{1b}')
    };
    // The tests' environment has NO_COLOR=1 and a pipe.
    assert!(!escape(&[], &[]));
    assert!(escape(&[], &["--color", "always"]));
    assert!(escape(&[("FORCE_COLOR", "1")], &[]), "FORCE_COLOR wins over NO_COLOR and a pipe");
    assert!(escape(&[("CLICOLOR_FORCE", "1")], &[]));
    assert!(!escape(&[("FORCE_COLOR", "1")], &["--color", "never"]));
}

#[test]
fn report_merge_says_what_the_merged_run_was() {
    if !require_tool("ruff") {
        return;
    }
    let project = TempProject::fixture("lint-errors");
    project.git_init();
    let lint = project.run(&["run", "ruff-check", "--no-progress", "--json", "lint.json"]);
    assert_eq!(lint.code, Some(1), "{}", lint.output());
    let merged = project.run(&["report", "merge", "lint.json", "--json", "merged.json", "--junit", "merged.xml"]);
    assert_eq!(merged.code, Some(1), "{}", merged.output());
    assert!(merged.stdout.contains("FAILED: 1 failed"), "the merge job's log says why it fails:\n{}", merged.output());
    assert!(merged.stdout.contains("packages/core/schemas.py:15:31  E711"), "{}", merged.output());
    let missing = project.run(&["report", "merge", "reports/*.json"]);
    assert_eq!(missing.code, Some(3), "{}", missing.output());
    assert!(missing.stderr.contains("error: reports/*.json: "), "{}", missing.output());
}

#[test]
fn completions_and_did_you_mean() {
    let project = TempProject::fixture("lint-errors");
    for shell in ["bash", "zsh", "fish"] {
        let script = project.run(&["completions", shell]);
        assert_eq!(script.code, Some(0), "{}", script.output());
        assert!(script.stdout.contains("greenlight") && script.stdout.contains("gitlab-codequality"), "{shell}");
    }
    let typo = project.run(&["run", "ruf-check"]);
    assert_eq!(typo.code, Some(3), "{}", typo.output());
    assert!(typo.stderr.contains("unknown check `ruf-check` (did you mean `ruff-check`?)"), "{}", typo.output());
    let subcommand = project.run(&["lsit"]);
    assert!(subcommand.stderr.contains("a similar subcommand exists: 'list'"), "{}", subcommand.output());

    project.write("greenlight.toml", "[tool.greenlight]\njobs = 2\n");
    let header = project.run(&["list"]);
    assert_eq!(header.code, Some(3), "{}", header.output());
    assert!(header.stderr.contains("drop the `[tool.greenlight]` header"), "{}", header.output());
}

#[test]
fn list_json_names_each_tools_resolved_path_and_version() {
    if !require_tool("ruff") {
        return;
    }
    let project = TempProject::fixture("lint-errors");
    let listed = project.run(&["list", "--json"]);
    assert_eq!(listed.code, Some(0), "{}", listed.output());
    let list: serde_json::Value = serde_json::from_str(&listed.stdout).expect("JSON on stdout");
    let ruff_check = list["checks"].as_array().unwrap().iter().find(|check| check["id"] == "ruff-check").unwrap();
    assert_eq!(ruff_check["enabled"], true);
    let ruff = list["tools"].as_array().unwrap().iter().find(|tool| tool["name"] == "ruff").expect("ruff");
    let path = ruff["path"].as_str().expect("a resolved path");
    assert!(path.ends_with("target/tools/venv/bin/ruff"), "{path}");
    let reported = Command::new(path).arg("--version").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&reported.stdout).trim(), format!("ruff {}", ruff["version"].as_str().unwrap()));
}

#[test]
fn a_running_pytest_shows_its_counter_and_elapsed_time() {
    if !(require_tool("uv") && require_tool("tmux")) {
        return;
    }
    let project = TempProject::fixture("failing-test");
    project.write(
        "tests/test_slow.py",
        "import time\n\nimport pytest\n\n\n@pytest.mark.parametrize(\"n\", range(40))\ndef test_slow(n):\n    time.sleep(0.25)\n",
    );
    // Build the environment first, so that the run in the terminal is the tests'.
    let built = project.run(&["run", "pytest", "--no-progress"]);
    assert_eq!(built.code, Some(1), "{}", built.output());
    let socket = format!("greenlight-e2e-{}-pytest", std::process::id());
    let tmux = |args: &[&str]| Command::new("tmux").args(["-L", &socket]).args(args).output().unwrap();
    let command = format!(
        "cd '{}' && env -u NO_COLOR -u CI -u GITHUB_ACTIONS PATH='{}' '{}' run pytest --no-cache --color never; sleep 600",
        project.path().display(),
        tools_path(),
        greenlight_bin().display()
    );
    assert!(tmux(&["new-session", "-d", "-s", "e2e", "-x", "120", "-y", "30", &command]).status.success());
    let mut seen = String::new();
    let counted = wait_for(Duration::from_secs(60), || {
        seen = String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", "e2e"]).stdout).to_string();
        seen.lines().any(|line| line.contains(" pytest ") && line.contains("passed") && line.contains("so far"))
    });
    let _ = tmux(&["kill-server"]);
    assert!(counted, "no live counter:\n{seen}");
    let line = seen.lines().find(|line| line.contains("so far")).unwrap();
    assert!(
        line.split_whitespace().any(|word| word.ends_with('s') && word[..word.len() - 1].parse::<u64>().is_ok()),
        "elapsed time beside it: {line}"
    );
}
