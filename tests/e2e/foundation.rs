//! The foundation: fixtures with ruff findings, exit codes, configuration errors, bad tools,
//! Ctrl-C, and a tree left untouched.

use std::time::Duration;

use greenlight_e2e::{TempProject, gone, interrupt, require_tool, run_greenlight, spawn_greenlight, wait_for};
use greenlight_report::Outcome;

fn check_fixture(name: &str) {
    if require_tool("ruff") {
        greenlight_e2e::check_fixture(name, &["--jobs", "4"]);
    }
}

#[test]
fn clean_service() {
    check_fixture("clean-service");
}

#[test]
fn bench_service() {
    check_fixture("bench-service");
}

#[test]
fn lint_errors() {
    check_fixture("lint-errors");
}

#[test]
fn unformatted() {
    check_fixture("unformatted");
}

#[test]
fn syntax_error() {
    check_fixture("syntax-error");
}

#[test]
fn broken_ruff_config() {
    check_fixture("broken-ruff-config");
}

#[test]
fn report_names_rule_file_and_line_in_terminal() {
    if !require_tool("ruff") {
        return;
    }
    let project = TempProject::fixture("lint-errors");
    let result = project.run(&["run", "ruff-check", "--no-progress"]);
    assert_eq!(result.code, Some(1), "{}", result.output());
    assert!(result.stdout.contains("packages/core/schemas.py:15:31  E711"), "{}", result.output());
    assert!(result.stdout.contains("FAILED: 1 failed"), "{}", result.output());
}

#[test]
fn json_to_stdout() {
    if !require_tool("ruff") {
        return;
    }
    let project = TempProject::fixture("clean-service");
    let result = project.run(&["run", "ruff-check", "--json", "-", "--no-progress"]);
    assert_eq!(result.code, Some(0), "{}", result.output());
    let report: greenlight_report::RunReport = serde_json::from_str(&result.stdout).expect("stdout is the JSON report");
    assert_eq!(report.check("ruff-check").unwrap().outcome, Outcome::Passed);
    assert!(result.stderr.contains("GREEN"), "the human summary goes to stderr: {}", result.output());
}

#[test]
fn unknown_config_key_is_a_usage_error_naming_line_and_keys() {
    let project = TempProject::fixture("clean-service");
    let pyproject = std::fs::read_to_string(project.path().join("pyproject.toml")).unwrap();
    project.write("pyproject.toml", &format!("{pyproject}\n[tool.greenlight]\njobs = 2\nfail-fats = true\n"));
    let result = project.run(&["run"]);
    assert_eq!(result.code, Some(3), "{}", result.output());
    let line = pyproject.lines().count() + 4;
    assert!(
        result.stderr.contains(&format!("pyproject.toml:{line}:1: unknown key `fail-fats`")),
        "{}",
        result.output()
    );
    assert!(result.stderr.contains("`fail-fast`"), "the valid keys are listed: {}", result.output());
}

#[test]
fn wrong_type_in_a_check_section_is_a_usage_error() {
    let project = TempProject::fixture("clean-service");
    let pyproject = std::fs::read_to_string(project.path().join("pyproject.toml")).unwrap();
    project.write("pyproject.toml", &format!("{pyproject}\n[tool.greenlight.ruff-check]\nargs = \"--select E\"\n"));
    let result = project.run(&["run"]);
    assert_eq!(result.code, Some(3), "{}", result.output());
    assert!(result.stderr.contains("invalid type: string"), "{}", result.output());
}

#[test]
fn unknown_check_on_the_command_line_is_a_usage_error() {
    let project = TempProject::fixture("clean-service");
    let result = project.run(&["run", "ruff-chek"]);
    assert_eq!(result.code, Some(3), "{}", result.output());
    assert!(result.stderr.contains("unknown check `ruff-chek`"), "{}", result.output());
}

#[test]
fn no_project_is_a_usage_error_suggesting_project() {
    let project = TempProject::empty();
    let result = project.run(&["run"]);
    assert_eq!(result.code, Some(3), "{}", result.output());
    assert!(result.stderr.contains("--project"), "{}", result.output());
}

#[test]
fn a_project_directory_without_a_project_is_a_usage_error_too() {
    // The same directory as the working directory and as `--project`: both exit 3, never
    // "GREEN: every check skipped".
    let project = TempProject::empty();
    project.write("README.md", "# not a Python project\n");
    project.git_init();
    let elsewhere = TempProject::empty();
    let dir = project.path().display().to_string();
    for (cwd, args) in [(project.path(), vec!["run"]), (elsewhere.path(), vec!["run", "--project", dir.as_str()])] {
        let result = run_greenlight(cwd, &args, &[]);
        assert_eq!(result.code, Some(3), "{args:?}\n{}", result.output());
        assert!(result.stderr.contains("no pyproject.toml"), "{}", result.output());
        assert!(!result.stdout.contains("GREEN"), "{}", result.output());
    }
}

#[test]
fn list_explains_every_decision() {
    let project = TempProject::fixture("clean-service");
    let result = project.run(&["list"]);
    assert_eq!(result.code, Some(0), "{}", result.output());
    assert!(result.stdout.contains("ruff-check"), "{}", result.output());
    assert!(result.stdout.contains("pyproject.toml found"), "{}", result.output());
}

/// A project whose `ruff` is a script we control.
fn with_fake_ruff(script: &str) -> TempProject {
    let project = TempProject::fixture("clean-service");
    project.write("fake-ruff", &format!("#!/bin/sh\n{script}\n"));
    let path = project.path().join("fake-ruff");
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let pyproject = std::fs::read_to_string(project.path().join("pyproject.toml")).unwrap();
    project
        .write("pyproject.toml", &format!("{pyproject}\n[tool.greenlight.tools]\nruff = {{ path = \"fake-ruff\" }}\n"));
    project
}

#[test]
fn missing_tool_is_errored_naming_where_it_looked() {
    let project = TempProject::fixture("clean-service");
    let pyproject = std::fs::read_to_string(project.path().join("pyproject.toml")).unwrap();
    project.write("pyproject.toml", &format!("{pyproject}\n[tool.greenlight]\nprovision = false\n"));
    let result = greenlight_e2e::run_greenlight(
        project.path(),
        &["run", "ruff-check", "--no-progress", "--json", "report.json"],
        &[("PATH", "/usr/bin:/bin")],
    );
    assert_eq!(result.code, Some(2), "{}", result.output());
    let report: greenlight_report::RunReport =
        serde_json::from_str(&std::fs::read_to_string(project.path().join("report.json")).unwrap()).unwrap();
    let check = report.check("ruff-check").unwrap();
    assert_eq!(check.outcome, Outcome::Errored);
    let reason = check.reason.as_deref().unwrap();
    assert!(reason.contains("looked in PATH") && reason.contains("pip install ruff"), "{reason}");
    assert!(
        reason.contains("`provision = false` in [tool.greenlight] keeps greenlight from installing ruff 0.17.6"),
        "{reason}"
    );
}

#[test]
fn garbage_output_is_errored_with_the_tail() {
    let project = with_fake_ruff("echo 'this is not json'; echo 'something broke' >&2; exit 1");
    let result = project.run_checks(&["ruff-format"]);
    assert_eq!(result.code, Some(2), "{}", result.output());
    let check = result.report().check("ruff-format").unwrap().clone();
    assert_eq!(check.outcome, Outcome::Errored, "{check:?}");
    assert!(check.reason.unwrap().contains("something broke"));
}

#[test]
fn crashing_tool_is_errored() {
    let project = with_fake_ruff("echo 'about to crash' >&2; kill -SEGV $$");
    let result = project.run_checks(&["ruff-check"]);
    let check = result.report().check("ruff-check").unwrap().clone();
    assert_eq!(check.outcome, Outcome::Errored, "{check:?}");
    assert!(check.reason.as_deref().unwrap().contains("SIGSEGV"), "{check:?}");
    assert_eq!(result.code, Some(2));
}

#[test]
fn megabytes_of_output_are_errored_with_a_bounded_tail() {
    let project = with_fake_ruff("head -c 30000000 /dev/zero | tr '\\0' x; exit 2");
    let result = project.run_checks(&["ruff-check"]);
    let check = result.report().check("ruff-check").unwrap().clone();
    assert_eq!(check.outcome, Outcome::Errored, "{check:?}");
    assert!(check.reason.as_deref().unwrap().len() < 300_000);
    let report_size = std::fs::metadata(project.path().join(".greenlight/e2e-report.json")).unwrap().len();
    assert!(report_size < 1_000_000, "the report stays small: {report_size} bytes");
}

#[test]
fn timeout_kills_the_tool_and_its_children() {
    let project = with_fake_ruff("sleep 300 & echo $! > grandchild.pid; sleep 300");
    let pyproject = std::fs::read_to_string(project.path().join("pyproject.toml")).unwrap();
    project.write("pyproject.toml", &format!("{pyproject}\n[tool.greenlight.ruff-check]\ntimeout = \"1s\"\n"));
    let result = project.run_checks(&["ruff-check"]);
    let check = result.report().check("ruff-check").unwrap().clone();
    assert_eq!(check.outcome, Outcome::TimedOut, "{check:?}");
    assert_eq!(result.code, Some(2));
    let pid = std::fs::read_to_string(project.path().join("grandchild.pid")).unwrap();
    assert!(gone(&pid), "the grandchild outlived the timeout");
}

#[test]
fn ctrl_c_cancels_writes_the_report_and_exits_130() {
    // Both checks run the fake tool: each appends its grandchild's pid.
    let project = with_fake_ruff("sleep 300 & echo $! >> grandchild.pid; sleep 300");
    let mut child = spawn_greenlight(
        project.path(),
        &["run", "ruff-check", "ruff-format", "--json", "report.json", "--no-progress"],
    );
    let pidfile = project.path().join("grandchild.pid");
    let started = || {
        std::fs::read_to_string(&pidfile)
            .is_ok_and(|pids| pids.lines().next().is_some_and(|pid| pid.trim().parse::<u32>().is_ok()))
    };
    assert!(wait_for(Duration::from_secs(20), started), "the fake tool never started");
    assert_eq!(interrupt(&mut child, Duration::from_secs(20)).code(), Some(130));
    let report: greenlight_report::RunReport =
        serde_json::from_str(&std::fs::read_to_string(project.path().join("report.json")).unwrap()).unwrap();
    assert!(report.interrupted);
    for id in ["ruff-check", "ruff-format"] {
        assert_eq!(report.check(id).unwrap().outcome, Outcome::Cancelled, "{id}");
    }
    let pids = std::fs::read_to_string(&pidfile).unwrap();
    for pid in pids.lines().filter(|line| !line.trim().is_empty()) {
        assert!(gone(pid), "grandchild {pid} outlived Ctrl-C");
    }
}

/// A SIGKILLed greenlight takes the tools it started with it (`PR_SET_PDEATHSIG`); what those
/// tools started (in their group, or in a session of its own) is killed by the next run.
#[test]
fn a_killed_run_takes_its_tools_along_and_the_next_run_kills_the_rest() {
    let project = with_fake_ruff(
        "sleep 300 & echo $! > member.pid; setsid sleep 301 >/dev/null 2>&1 & echo $! > escaped.pid; \
         echo $$ > tool.pid; exec sleep 300",
    );
    let mut child = spawn_greenlight(project.path(), &["run", "ruff-check", "--no-progress"]);
    let pid = |name: &str| std::fs::read_to_string(project.path().join(name)).unwrap_or_default();
    let started =
        || ["tool.pid", "member.pid", "escaped.pid"].iter().all(|name| pid(name).trim().parse::<u32>().is_ok());
    assert!(wait_for(Duration::from_secs(20), started), "the fake tool never started");
    let runs_sleep = || {
        std::fs::read(format!("/proc/{}/cmdline", pid("escaped.pid").trim()))
            .is_ok_and(|cmdline| cmdline == b"sleep\x00301\x00")
    };
    assert!(wait_for(Duration::from_secs(20), runs_sleep), "the daemon never ran `sleep 301`");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(gone(&pid("tool.pid")), "the tool outlived the greenlight that started it");
    assert!(greenlight_e2e::pid_alive(&pid("member.pid")) && greenlight_e2e::pid_alive(&pid("escaped.pid")));

    project.write("fake-ruff", "#!/bin/sh\necho '[]'\n");
    let result = project.run_checks(&["ruff-check"]);
    assert!(gone(&pid("member.pid")), "the tool's child outlived the next run");
    assert!(gone(&pid("escaped.pid")), "the tool's daemon outlived the next run");
    assert!(
        // The tool's background child and its daemon.
        result.stderr.contains("killed 2 processes that an earlier greenlight run left running when it was killed"),
        "{}",
        result.output()
    );
    assert!(result.stderr.contains(&format!("pid {}, `sleep 301`", pid("escaped.pid").trim())), "{}", result.output());
}

/// A process that ruff leaves behind holding its stdout (here: started by a wrapper after
/// ruff printed its report) no longer costs the report: the leak is killed after a moment and
/// the check decides from what ruff printed.
#[test]
fn a_process_that_outlives_ruff_holding_stdout_does_not_lose_the_report() {
    if !require_tool("ruff") {
        return;
    }
    let ruff = greenlight_e2e::workspace().join("target/tools/venv/bin/ruff");
    // The wrapper exits only once its daemon has left the group (it wrote its pid after setsid).
    let project = with_fake_ruff(&format!(
        "if [ \"$1\" = --version ]; then exec {0} --version; fi\n\
         {0} \"$@\"; code=$?\n\
         setsid sh -c 'echo $$ > escaped.pid; exec sleep 300' 2>/dev/null &\n\
         while [ ! -s escaped.pid ]; do sleep 0.01; done\n\
         exit $code",
        ruff.display()
    ));
    project.write("apps/unformatted.py", "x = {  'a':1 }\n");
    let result = project.run_checks(&["ruff-format"]);
    assert_eq!(result.code, Some(1), "{}", result.output());
    let check = result.report().check("ruff-format").unwrap().clone();
    assert_eq!(check.outcome, Outcome::Failed, "{check:?}");
    let paths: Vec<&str> = check.findings.iter().filter_map(|f| f.location.as_ref()).map(|l| l.path.as_str()).collect();
    assert_eq!(paths, ["apps/unformatted.py"], "{check:?}");
    let escaped = std::fs::read_to_string(project.path().join("escaped.pid")).unwrap();
    assert!(gone(&escaped), "the process holding stdout was not killed");
    let log = std::fs::read_to_string(project.path().join(&check.log.as_ref().unwrap().path)).unwrap();
    assert!(log.contains(&format!("a process started by `fake-ruff` outlived it (pid {}", escaped.trim())), "{log}");
}

#[test]
fn fix_is_the_only_way_to_edit_files() {
    if !require_tool("ruff") {
        return;
    }
    let project = TempProject::fixture("unformatted");
    let result = project.run_checks(&["ruff-format"]);
    assert_eq!(result.code, Some(1), "{}", result.output());
    let result = project.run_checks(&["ruff-format", "--fix"]);
    assert_eq!(result.code, Some(0), "{}", result.output());
    let result = project.run_checks(&["ruff-format"]);
    assert_eq!(result.code, Some(0), "formatted after --fix: {}", result.output());
}

/// When greenlight cannot make its state directory (here a file stands in its place), nothing
/// runs: a usage error names the path and what to do, and the file is left as it was.
#[test]
fn a_state_directory_that_cannot_be_made_stops_the_run_with_advice() {
    let project = TempProject::fixture("lint-errors");
    project.write(".greenlight", "a file of the user's\n");
    let result = project.run(&["run", "ruff-check", "--json", "report.json"]);
    assert_eq!(result.code, Some(3), "{}", result.output());
    assert!(
        result.stderr.contains(&format!(
            "cannot create greenlight's state directory {}",
            project.path().join(".greenlight").display()
        )),
        "{}",
        result.output()
    );
    assert!(result.stderr.contains("remove or rename what is in the way"), "{}", result.output());
    assert_eq!(std::fs::read_to_string(project.path().join(".greenlight")).unwrap(), "a file of the user's\n");
    assert!(!project.path().join("report.json").exists(), "nothing ran");
}

#[test]
fn a_closed_pipe_ends_a_printing_command_quietly() {
    use std::os::unix::process::ExitStatusExt as _;
    let project = TempProject::fixture("clean-service");
    // `greenlight list | true`: the reader is gone before greenlight writes.
    let mut child = spawn_greenlight(project.path(), &["list"]);
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("wait for greenlight");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() || output.status.signal() == Some(13),
        "ended by {:?}, not quietly (0 or SIGPIPE)\n{stderr}",
        output.status
    );
    assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{stderr}");
}

#[test]
fn an_endless_input_is_refused() {
    let project = TempProject::empty();
    let result = project.run(&["report", "render", "/dev/zero"]);
    assert_eq!(result.code, Some(3), "{}", result.output());
    assert!(result.stderr.contains("/dev/zero: larger than 256 MiB"), "{}", result.output());
}

#[test]
fn a_signal_ends_a_run_blocked_writing_its_report() {
    use std::os::unix::process::ExitStatusExt as _;
    // `--json` names a FIFO nobody reads: writing the report blocks once the checks are done.
    let project = TempProject::fixture("clean-service");
    let fifo = project.path().join("report.fifo");
    let status = std::process::Command::new("mkfifo").arg(&fifo).status().expect("run mkfifo");
    assert!(status.success());
    let fifo_arg = fifo.display().to_string();
    let mut child = spawn_greenlight(project.path(), &["run", "policy", "--no-progress", "--json", &fifo_arg]);
    // Blocked opening the FIFO (the kernel's `wait_for_partner`): the checks are done.
    let blocked = || {
        let tasks = std::fs::read_dir(format!("/proc/{}/task", child.id())).into_iter().flatten().flatten();
        tasks.into_iter().any(|task| {
            std::fs::read_to_string(task.path().join("wchan")).is_ok_and(|wchan| wchan.contains("wait_for_partner"))
        })
    };
    assert!(wait_for(Duration::from_secs(60), blocked), "greenlight never got to writing its report");
    // SIGTERM now and then, in case one comes before the write.
    let mut finished = None;
    let ended = wait_for(Duration::from_secs(60), || {
        let _ = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        std::thread::sleep(Duration::from_millis(500));
        finished = child.try_wait().expect("wait for greenlight");
        finished.is_some()
    });
    if !ended {
        let _ = child.kill();
        let _ = child.wait();
    }
    let status = finished.expect("greenlight ignored SIGTERM while blocked writing its report");
    assert!(status.signal() == Some(15) || status.code() == Some(130), "{status:?}");
}

#[test]
fn a_pin_of_a_tool_greenlight_does_not_have_is_an_error_with_a_suggestion() {
    let project = TempProject::fixture("clean-service");
    let pyproject = std::fs::read_to_string(project.path().join("pyproject.toml")).unwrap();
    let line = pyproject.lines().count() + 3;
    project.write("pyproject.toml", &format!("{pyproject}\n[tool.greenlight.tools]\nruf = \"0.17.6\"\n"));
    let result = project.run(&["run", "ruff-check"]);
    assert_eq!(result.code, Some(3), "{}", result.output());
    assert!(
        result.stderr.contains(&format!("pyproject.toml:{line}:1: greenlight has no tool `ruf`")),
        "{}",
        result.output()
    );
    assert!(result.stderr.contains("did you mean `ruff`?"), "{}", result.output());
}
