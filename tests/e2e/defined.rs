//! Checks defined without Rust, with the real tools: the shipped `mypy` and `bandit` checks on
//! fixtures with real defects and a clean one, compared with the tools run by hand; checks a
//! project defines in its configuration (mypy in five lines, a shell script that writes JUnit,
//! a tool that writes SARIF, a tool that crashes); broken definitions.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use greenlight_e2e::{TempProject, check_fixture, require_tool, workspace};
use greenlight_report::Outcome;
use serde_json::Value;

/// `rule path line column` of every finding.
type Place = (String, String, u64, u64);

fn tool(name: &str) -> std::path::PathBuf {
    workspace().join("target/tools/venv/bin").join(name)
}

/// mypy run by hand in `dir` as a developer runs it (`mypy .` with columns and codes), its
/// findings as `path:line:col: error: message  [code]` says.
fn mypy_by_hand(dir: &Path) -> BTreeSet<Place> {
    let cache = tempfile::tempdir().unwrap();
    let output = Command::new(tool("mypy"))
        .args(["--show-column-numbers", "--show-error-codes", "--no-error-summary", "--cache-dir"])
        .arg(cache.path())
        .arg(".")
        .current_dir(dir)
        .output()
        .expect("mypy runs");
    let text = String::from_utf8_lossy(&output.stdout);
    let pattern = regex::Regex::new(r"^([^:]+):(\d+):(\d+): error: .*  \[([a-z-]+)\]$").unwrap();
    text.lines()
        .filter_map(|line| pattern.captures(line))
        .map(|c| (c[4].to_string(), c[1].to_string(), c[2].parse().unwrap(), c[3].parse().unwrap()))
        .collect()
}

fn report_places(report: &greenlight_report::RunReport, id: &str) -> BTreeSet<Place> {
    let check = report.check(id).unwrap_or_else(|| panic!("{id} in the report"));
    check
        .findings
        .iter()
        .map(|finding| {
            let location = finding.location.clone().expect("a place");
            (
                finding.rule.clone(),
                location.path,
                u64::from(location.line.unwrap_or(0)),
                u64::from(location.column.unwrap_or(0)),
            )
        })
        .collect()
}

fn sarif_places(sarif: &Value, driver: &str) -> BTreeSet<Place> {
    let run = sarif["runs"].as_array().unwrap().iter().find(|run| run["tool"]["driver"]["name"] == driver);
    let run = run.unwrap_or_else(|| panic!("no SARIF run of {driver}: {sarif}"));
    run["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|result| {
            let location = &result["locations"][0]["physicalLocation"];
            (
                result["ruleId"].as_str().unwrap().to_string(),
                location["artifactLocation"]["uri"].as_str().unwrap().to_string(),
                location["region"]["startLine"].as_u64().unwrap(),
                location["region"]["startColumn"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// `(classname, name)` of the failing JUnit cases of suite `id`.
fn junit_failures(xml: &str, id: &str) -> BTreeSet<(String, String)> {
    let junit = quick_junit::Report::deserialize_from_str(xml).expect("JUnit parses");
    let suite = junit.test_suites.iter().find(|suite| suite.name.as_str() == id).expect("a suite per check");
    suite
        .test_cases
        .iter()
        .filter(|case| !matches!(case.status, quick_junit::TestCaseStatus::Success { .. }))
        .map(|case| {
            (case.classname.as_ref().map(|c| c.to_string()).unwrap_or_default(), case.name.as_str().to_string())
        })
        .collect()
}

fn run_with_outputs(project: &TempProject, checks: &[&str]) -> greenlight_e2e::RunResult {
    let mut args = vec!["run", "--no-progress", "--json", "out/report.json", "--sarif", "out/report.sarif"];
    args.extend(["--junit", "out/junit.xml"]);
    args.extend_from_slice(checks);
    let mut result = project.run(&args);
    let text = std::fs::read_to_string(project.path().join("out/report.json")).expect("the JSON report");
    result.report = Some(serde_json::from_str(&text).expect("the report parses"));
    result
}

/// Terminal, JSON, SARIF and JUnit all show what mypy by hand shows, at the same places.
fn same_findings_as_by_hand(project: &TempProject, result: &greenlight_e2e::RunResult, id: &str, driver: &str) {
    let by_hand = mypy_by_hand(project.path());
    assert!(!by_hand.is_empty(), "mypy by hand found nothing");
    assert_eq!(report_places(result.report(), id), by_hand, "{}", result.output());
    let sarif: Value = serde_json::from_str(&std::fs::read_to_string(project.path().join("out/report.sarif")).unwrap())
        .expect("SARIF is JSON");
    assert_eq!(sarif_places(&sarif, driver), by_hand);
    let junit = std::fs::read_to_string(project.path().join("out/junit.xml")).unwrap();
    let wanted: BTreeSet<(String, String)> = by_hand
        .iter()
        .map(|(rule, path, line, column)| (format!("{id}.{rule}"), format!("{path}:{line}:{column}")))
        .collect();
    assert_eq!(junit_failures(&junit, id), wanted);
    for (rule, path, line, column) in &by_hand {
        let place = format!("{path}:{line}:{column}");
        assert!(
            result.stdout.lines().any(|text| text.contains(&place) && text.contains(rule.as_str())),
            "the terminal shows {place} {rule}:\n{}",
            result.stdout
        );
    }
}

#[test]
fn mypy_finds_what_mypy_by_hand_finds_in_every_format() {
    if !require_tool("mypy") {
        return;
    }
    let result = check_fixture("mypy-errors", &[]);
    let check = result.report().check("mypy").unwrap();
    assert!(check.findings.iter().all(|finding| finding.url.as_deref().is_some_and(|url| url.contains("#code-"))));
    let project = TempProject::fixture("mypy-errors");
    let result = run_with_outputs(&project, &["mypy"]);
    assert_eq!(result.code, Some(1), "{}", result.output());
    same_findings_as_by_hand(&project, &result, "mypy", "mypy");
    // mypy writes no `.mypy_cache/` into the project.
    assert!(!project.path().join(".mypy_cache").exists());
}

#[test]
fn mypy_and_bandit_pass_a_clean_service() {
    if !require_tool("mypy") || !require_tool("bandit") {
        return;
    }
    check_fixture("typed-clean", &[]);
}

#[test]
fn bandit_finds_what_bandit_by_hand_finds() {
    if !require_tool("bandit") {
        return;
    }
    let result = check_fixture("bandit-issues", &[]);
    let project = TempProject::fixture("bandit-issues");
    let output = Command::new(tool("bandit"))
        .args(["-c", "pyproject.toml", "-r", ".", "-f", "json", "-q"])
        .current_dir(project.path())
        .output()
        .expect("bandit runs");
    let by_hand: Value = serde_json::from_slice(&output.stdout).expect("bandit's JSON");
    let wanted: BTreeSet<Place> = by_hand["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let path = r["filename"].as_str().unwrap().trim_start_matches("./").to_string();
            let column = r["col_offset"].as_u64().unwrap() + 1;
            (r["test_id"].as_str().unwrap().to_string(), path, r["line_number"].as_u64().unwrap(), column)
        })
        .collect();
    assert_eq!(report_places(result.report(), "bandit"), wanted);
}

/// mypy's configuration cannot be loaded (a plugin that does not exist): mypy exits 2, which
/// is a crash, not findings.
#[test]
fn a_mypy_that_cannot_start_is_errored() {
    if !require_tool("mypy") {
        return;
    }
    let project = TempProject::fixture("typed-clean");
    project.write("mypy.ini", "[mypy]\nplugins = not_a_plugin\n");
    let result = project.run_checks(&["mypy"]);
    assert_eq!(result.code, Some(2), "{}", result.output());
    let check = result.report().check("mypy").unwrap();
    assert_eq!(check.outcome, Outcome::Errored, "{check:?}");
    let reason = check.reason.clone().unwrap_or_default();
    assert!(reason.contains("exited with code 2") && reason.contains("not_a_plugin"), "{reason}");
}

/// The mypy-errors service without `[tool.mypy]`, so that the built-in check does not apply.
fn service_without_mypy_config() -> TempProject {
    let project = TempProject::fixture("mypy-errors");
    let pyproject = std::fs::read_to_string(project.path().join("pyproject.toml")).unwrap();
    let start = pyproject.find("[tool.mypy]").unwrap();
    let end = start + pyproject[start..].find("\n\n").unwrap();
    project.write("pyproject.toml", &format!("{}{}", &pyproject[..start], &pyproject[end + 2..]));
    project
}

/// A service adds mypy in five lines of greenlight.toml and gets what mypy by hand reports,
/// in the terminal, the JSON report, SARIF and JUnit.
#[test]
fn mypy_in_five_lines_of_configuration() {
    if !require_tool("mypy") {
        return;
    }
    let project = service_without_mypy_config();
    let five_lines = r#"[checks.types]
command = "mypy --output json --no-error-summary ."
environment = true
tool = "mypy==2.4.1"
reader = { format = "json-lines", path = "file", line = "line", column = "column", column-base = 0, rule = "code", message = "message", severity = "severity" }
"#;
    assert_eq!(five_lines.lines().count(), 5);
    project.write("greenlight.toml", five_lines);
    let result = run_with_outputs(&project, &["types"]);
    assert_eq!(result.code, Some(1), "{}", result.output());
    let report = result.report();
    assert_eq!(report.check("mypy").unwrap().outcome, Outcome::Skipped);
    let check = report.check("types").unwrap();
    assert_eq!(check.outcome, Outcome::Failed, "{check:?}");
    assert_eq!(report.tools["mypy"].version, "2.4.1");
    same_findings_as_by_hand(&project, &result, "types", "types");
    let _ = std::fs::remove_dir_all(project.path().join(".mypy_cache"));

    // `greenlight list` shows the check and the tool it provisions.
    let list = project.run(&["list"]);
    assert_eq!(list.code, Some(0), "{}", list.output());
    assert!(list.stdout.contains("types"), "{}", list.stdout);
    assert!(list.stdout.lines().any(|line| line.contains("mypy") && line.contains("2.4.1")), "{}", list.stdout);
}

const SMOKE_SCRIPT: &str = r#"#!/bin/sh
# Smoke checks of the service's layout, written as JUnit XML to "$1".
out="$1"
failures=0
cases=""
check() {
    if eval "$2"; then
        cases="$cases<testcase classname=\"smoke\" name=\"$1\" time=\"0.001\"/>"
    else
        failures=$((failures + 1))
        cases="$cases<testcase classname=\"smoke\" name=\"$1\" time=\"0.001\"><failure message=\"$3\">$2</failure></testcase>"
    fi
}
check has_entrypoint "test -f apps/api/main.py" "no entrypoint"
check has_health_handler "grep -q 'def health' apps/api/main.py" "no health handler"
check has_readme "test -f README.md" "README.md is missing"
printf '<?xml version="1.0"?><testsuites><testsuite name="smoke" tests="3" failures="%s" errors="0" skipped="0">%s</testsuite></testsuites>\n' "$failures" "$cases" > "$out"
test "$failures" -eq 0
"#;

/// A shell script that writes JUnit, a tool that writes SARIF, and tools that crash, die by
/// a signal or write no report, as checks defined in greenlight.toml.
#[test]
fn defined_checks_read_junit_and_sarif_and_error_on_crashes() {
    if !require_tool("ruff") {
        return;
    }
    let project = TempProject::fixture("lint-errors");
    project.write("scripts/smoke.sh", SMOKE_SCRIPT);
    project.write(
        "greenlight.toml",
        r#"[checks.smoke]
title = "smoke tests"
command = ["sh", "scripts/smoke.sh", "{report}"]
reader = { format = "junit", file = "{report}" }
cpu-bound = false

[checks.lint-sarif]
command = "ruff check --no-cache --exit-zero --output-format sarif ."
tool = "ruff==0.17.6"
reader = "sarif"
applies-when = ["**/*.py"]

[checks.crashes]
command = ["python3", "-c", "import sys; print('Traceback (most recent call last):', file=sys.stderr); sys.exit(70)"]

[checks.killed]
command = ["sh", "-c", "kill -SEGV $$"]

[checks.no-report]
command = "true"
reader = { format = "sarif", file = "{report}" }

[checks.not-here]
command = "true"
applies-when = ["Dockerfile", { pyproject = "nothing" }]
"#,
    );
    let ids = ["smoke", "lint-sarif", "crashes", "killed", "no-report", "not-here"];
    let result = run_with_outputs(&project, &ids);
    assert_eq!(result.code, Some(1), "{}", result.output());
    let report = result.report();
    let outcome = |id: &str| report.check(id).unwrap_or_else(|| panic!("{id}: {}", result.output())).clone();

    let smoke = outcome("smoke");
    assert_eq!(smoke.outcome, Outcome::Failed, "{smoke:?}");
    assert_eq!(smoke.title, "smoke tests");
    let tests = smoke.tests.clone().expect("test results");
    assert_eq!((tests.total, tests.passed, tests.failed), (3, 2, 1));
    assert_eq!(smoke.findings.len(), 1);
    assert!(smoke.findings[0].message.contains("README.md is missing"), "{:?}", smoke.findings);

    // SARIF's findings fail the check although ruff exits 0 (`--exit-zero`).
    let sarif_check = outcome("lint-sarif");
    assert_eq!(sarif_check.outcome, Outcome::Failed, "{sarif_check:?}");
    assert_eq!(sarif_check.exit_code, Some(0));
    let found: BTreeSet<(String, u32)> = sarif_check
        .findings
        .iter()
        .map(|f| (f.rule.clone(), f.location.as_ref().and_then(|l| l.line).unwrap_or(0)))
        .collect();
    let wanted: BTreeSet<(String, u32)> =
        [("E711", 15), ("F401", 3), ("F401", 4), ("F841", 14)].iter().map(|(r, l)| (r.to_string(), *l)).collect();
    assert_eq!(found, wanted);
    assert!(sarif_check.findings.iter().all(|f| f.url.as_deref().is_some_and(|url| url.starts_with("https://"))));
    assert!(sarif_check.findings.iter().all(|f| f.location.as_ref().unwrap().path == "packages/core/schemas.py"));

    for id in ["crashes", "killed", "no-report"] {
        let check = outcome(id);
        assert_eq!(check.outcome, Outcome::Errored, "{id}: {check:?}");
    }
    let reason = |id: &str| outcome(id).reason.unwrap_or_default();
    assert!(reason("crashes").contains("exited with code 70") && reason("crashes").contains("Traceback"));
    assert!(reason("killed").contains("signal") || reason("killed").contains("SIGSEGV"), "{}", reason("killed"));
    assert!(reason("no-report").contains("wrote no readable report"), "{}", reason("no-report"));
    let not_here = outcome("not-here");
    assert_eq!(not_here.outcome, Outcome::Skipped);
    assert!(not_here.summary.contains("`Dockerfile`"), "{}", not_here.summary);

    // Every format carries them: SARIF has the SARIF tool's run and none for test results;
    // JUnit has the script's cases.
    let sarif: Value = serde_json::from_str(&std::fs::read_to_string(project.path().join("out/report.sarif")).unwrap())
        .expect("SARIF is JSON");
    assert_eq!(sarif_places(&sarif, "lint-sarif").len(), 4);
    let drivers: Vec<&str> =
        sarif["runs"].as_array().unwrap().iter().filter_map(|run| run["tool"]["driver"]["name"].as_str()).collect();
    assert!(!drivers.contains(&"smoke"), "{drivers:?}");
    let junit = std::fs::read_to_string(project.path().join("out/junit.xml")).unwrap();
    assert!(junit.contains("has_readme"), "{junit}");
}

/// A broken definition is a configuration error (exit code 3) naming file, line and column,
/// before anything runs.
#[test]
fn a_broken_definition_exits_3_naming_the_line() {
    let project = TempProject::fixture("clean-service");
    let cases = [
        ("[checks.lint]\ncommand = 'x'\nreader = { format = 'sarif', pattern = '.*' }\n", "greenlight.toml:3:10:"),
        ("[checks.lint]\ncommand = 'x'\nexit-codes = { success = [0], findings = [0] }\n", "greenlight.toml:3:14:"),
        ("jobs = 2\n\n[checks.mypy]\ncommand = 'mypy .'\n", "greenlight.toml:3:9:"),
        ("[checks.lint]\ncomand = 'x'\n", "greenlight.toml:2:1:"),
    ];
    for (text, place) in cases {
        project.write("greenlight.toml", text);
        let result = project.run(&["run", "--no-progress"]);
        assert_eq!(result.code, Some(3), "{text}\n{}", result.output());
        assert!(result.stderr.contains(place), "{text}: wanted {place}\n{}", result.output());
    }
    // In pyproject.toml, the table's own name.
    project.write("greenlight.toml", "");
    std::fs::remove_file(project.path().join("greenlight.toml")).unwrap();
    let pyproject = std::fs::read_to_string(project.path().join("pyproject.toml")).unwrap();
    project.write("pyproject.toml", &format!("{pyproject}\n[tool.greenlight.checks.lint]\ncommand = \"sh -c 'x\"\n"));
    let result = project.run(&["list"]);
    assert_eq!(result.code, Some(3), "{}", result.output());
    let line = pyproject.lines().count() + 3;
    assert!(result.stderr.contains(&format!("pyproject.toml:{line}:11:")), "{}", result.output());
    assert!(result.stderr.contains("[tool.greenlight.checks.lint]"), "{}", result.output());
}

/// A defined check that declares its `inputs` is keyed by those files alone: another file
/// changing replays it, one of its inputs changing runs it again.
#[test]
fn declared_inputs_key_the_result_cache() {
    let project = TempProject::fixture("clean-service");
    project.write(
        "greenlight.toml",
        "[checks.schemas]\ncommand = ['sh', '-c', 'grep -q dataclass packages/core/schemas.py']\ninputs = ['packages/core/*.py']\n\n[checks.everything]\ncommand = 'true'\n",
    );
    project.git_init();
    let checks = ["schemas", "everything"];
    let first = project.run_checks(&checks);
    assert_eq!(first.code, Some(0), "{}", first.output());
    let second = project.run_checks(&checks);
    let cached = |result: &greenlight_e2e::RunResult, id: &str| result.report().check(id).unwrap().cached;
    assert!(cached(&second, "schemas") && cached(&second, "everything"), "{}", second.output());

    project.write("README.md", "# clean-service\n");
    let third = project.run_checks(&checks);
    assert!(cached(&third, "schemas"), "a file outside its inputs ran it again\n{}", third.output());
    assert!(!cached(&third, "everything"), "a check without inputs depends on every file");

    project.write("packages/core/schemas.py", "\"\"\"Schemas, none yet.\"\"\"\n");
    let fourth = project.run_checks(&checks);
    let schemas = fourth.report().check("schemas").unwrap();
    assert!(!schemas.cached, "a changed input replayed");
    assert_eq!(schemas.outcome, Outcome::Failed, "{schemas:?}");
}

/// mypy before 1.11 has no JSON output: the shipped definition reads its text instead, and
/// finds the same places as mypy 2.4.1's JSON.
#[test]
fn mypy_before_json_output_is_read_from_its_text() {
    if !require_tool("mypy") {
        return;
    }
    let project = TempProject::fixture("mypy-errors");
    let pyproject = std::fs::read_to_string(project.path().join("pyproject.toml")).unwrap();
    project.write("pyproject.toml", &format!("{pyproject}\n[tool.greenlight.tools]\nmypy = \"1.10.1\"\n"));
    let result = project.run_checks(&["mypy"]);
    assert_eq!(result.code, Some(1), "{}", result.output());
    let report = result.report();
    assert_eq!(report.tools["mypy"].version, "1.10.1", "{:?}", report.tools);
    let command = report.check("mypy").unwrap().command.clone().unwrap_or_default();
    assert!(!command.iter().any(|word| word == "--output"), "{command:?}");
    assert_eq!(report_places(report, "mypy"), mypy_by_hand(project.path()));
}
