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
