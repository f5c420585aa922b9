//! Adopting greenlight on a service that is not clean yet: `--new-from REV` (the findings of the
//! merge base, run in a temporary worktree) and the committed baseline file (`greenlight
//! baseline write`), with the real ruff on the lint-errors fixture, whose four findings are
//! "already there" on `main`.

use greenlight_e2e::{TempProject, require_tool};
use greenlight_report::{BaselineState, Finding, Outcome};

/// The lint-errors service committed on `main` (four ruff findings in schemas.py), with a
/// feature branch checked out.
fn service_with_old_findings() -> Option<TempProject> {
    if !require_tool("ruff") {
        return None;
    }
    let project = TempProject::fixture("lint-errors");
    project.git_init();
    project.git(&["checkout", "-q", "-b", "feature"]);
    Some(project)
}

/// Ten lines above every old finding: each moves by ten, and the first import's neighbour
/// changes.
fn shift_by_ten_lines(project: &TempProject) {
    let path = project.path().join("packages/core/schemas.py");
    let text = std::fs::read_to_string(&path).unwrap();
    let (docstring, rest) = text.split_once("\n\n").unwrap();
    let notes: String = (1..=10).map(|n| format!("# Schema note {n}.\n")).collect();
    std::fs::write(&path, format!("{docstring}\n\n{notes}\n{rest}")).unwrap();
}

/// An unused import in another file: the one new finding.
fn add_one_finding(project: &TempProject) {
    project.write(
        "apps/api/main.py",
        "\"\"\"The HTTP entrypoint of the service.\"\"\"\n\nimport json\n\nfrom packages.core.health import health_status\n\n\ndef health() -> dict[str, str]:\n    return health_status()\n",
    );
}

fn states(findings: &[Finding]) -> Vec<(String, String, Option<BaselineState>)> {
    findings
        .iter()
        .map(|finding| {
            let path = finding.location.as_ref().map(|location| location.path.clone()).unwrap_or_default();
            (finding.rule.clone(), path, finding.baseline)
        })
        .collect()
}

#[test]
fn new_from_fails_on_exactly_the_finding_the_change_adds_in_every_format() {
    let Some(project) = service_with_old_findings() else { return };
    shift_by_ten_lines(&project);
    add_one_finding(&project);
    project.git(&["commit", "-q", "-am", "shift the schemas, import json"]);
    let main = project.git(&["rev-parse", "main"]).trim().to_string();
    let dir = project.path().join(".greenlight");
    let (sarif, junit, markdown) = (dir.join("r.sarif"), dir.join("r.xml"), dir.join("r.md"));
    let result = project.run_checks(&[
        "ruff-check",
        "ruff-format",
        "--new-from",
        "main",
        "--sarif",
        sarif.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
        "--markdown",
        markdown.to_str().unwrap(),
    ]);
    assert_eq!(result.code, Some(1), "{}", result.output());
    let report = result.report();
    let ruff = report.check("ruff-check").unwrap();
    assert_eq!(ruff.outcome, Outcome::Failed, "{}", result.output());
    let new: Vec<_> =
        states(&ruff.findings).into_iter().filter(|(.., state)| *state == Some(BaselineState::New)).collect();
    assert_eq!(new, [("F401".to_string(), "apps/api/main.py".to_string(), Some(BaselineState::New))], "{ruff:#?}");
    let existing = ruff.findings.iter().filter(|finding| finding.baseline == Some(BaselineState::Existing)).count();
    assert_eq!(existing, 4, "the old findings moved by ten lines and stay existing: {ruff:#?}");
    assert_eq!(ruff.summary, format!("1 finding new, 4 existing in main (merge base {})", &main[..12]));
    let baseline = report.baseline.as_ref().expect("the report says what it was compared with");
    assert_eq!((baseline.source.as_str(), baseline.commit.as_deref()), ("rev", Some(main.as_str())));
    assert_eq!((baseline.new, baseline.existing, baseline.checks.clone()), (1, 4, vec!["ruff-check".to_string()]));
    assert!(result.stdout.contains("compared with main (merge base"), "{}", result.output());
    assert!(result.stdout.contains("and 4 existing in the baseline, not blocking"), "{}", result.output());
    assert!(
        !result.stdout.contains("packages/core/schemas.py:13"),
        "existing findings are not listed: {}",
        result.output()
    );

    let sarif: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    let mut sarif_states: Vec<String> = sarif["runs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|run| run["results"].as_array().cloned().unwrap_or_default())
        .map(|result| result["baselineState"].as_str().unwrap_or("none").to_string())
        .collect();
    sarif_states.sort();
    assert_eq!(sarif_states, ["new", "unchanged", "unchanged", "unchanged", "unchanged"]);
    let junit = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(junit.matches("<failure").count(), 1, "only the new finding fails: {junit}");
    assert_eq!(junit.matches("existing: in the baseline, does not block").count(), 4, "{junit}");
    let markdown = std::fs::read_to_string(&markdown).unwrap();
    assert!(markdown.contains("1 new finding (blocking), 4 existing"), "{markdown}");
    assert!(markdown.contains("new: not in the baseline"), "{markdown}");
}

#[test]
fn new_from_passes_a_change_that_only_moves_old_findings() {
    let Some(project) = service_with_old_findings() else { return };
    shift_by_ten_lines(&project);
    project.git(&["commit", "-q", "-am", "shift the schemas"]);
    let result = project.run_checks(&["ruff-check", "--new-from", "main"]);
    assert_eq!(result.code, Some(0), "{}", result.output());
    let ruff = result.report().check("ruff-check").unwrap();
    assert_eq!(ruff.outcome, Outcome::Passed);
    assert!(ruff.summary.starts_with("4 findings existing in main"), "{}", ruff.summary);
    assert!(ruff.findings.iter().all(|finding| finding.baseline == Some(BaselineState::Existing)));
    assert!(ruff.findings.iter().all(|finding| finding.line_fingerprint.is_some()));
    assert_eq!(result.report().outcome, Outcome::Passed);
}

#[test]
fn a_committed_baseline_file_blocks_only_new_findings() {
    let Some(project) = service_with_old_findings() else { return };
    let written = project.run(&["baseline", "write", "--no-progress"]);
    assert_eq!(written.code, Some(0), "{}", written.output());
    assert!(
        written.stdout.contains("to ") && written.stdout.contains("greenlight-baseline.json"),
        "{}",
        written.output()
    );
    let file = std::fs::read_to_string(project.path().join("greenlight-baseline.json")).unwrap();
    assert_eq!(file.matches("\"rule\"").count(), 4, "the four ruff findings: {file}");
    assert!(!file.contains("\"line\""), "no line numbers in the baseline: {file}");
    let pyproject = std::fs::read_to_string(project.path().join("pyproject.toml")).unwrap();
    project.write(
        "pyproject.toml",
        &pyproject.replace("[tool.ruff]", "[tool.greenlight]\nbaseline = \"greenlight-baseline.json\"\n\n[tool.ruff]"),
    );
    project.git(&["add", "-A"]);
    project.git(&["commit", "-q", "-m", "adopt greenlight with a baseline"]);

    shift_by_ten_lines(&project);
    let moved = project.run_checks(&["ruff-check"]);
    assert_eq!(moved.code, Some(0), "{}", moved.output());
    assert_eq!(moved.report().baseline.as_ref().unwrap().file.as_deref(), Some("greenlight-baseline.json"));

    add_one_finding(&project);
    let added = project.run_checks(&["ruff-check"]);
    assert_eq!(added.code, Some(1), "{}", added.output());
    let ruff = added.report().check("ruff-check").unwrap();
    let new: Vec<_> = ruff.findings.iter().filter(|finding| finding.baseline == Some(BaselineState::New)).collect();
    assert_eq!(new.len(), 1, "{ruff:#?}");
    assert_eq!(new[0].location.as_ref().unwrap().path, "apps/api/main.py");

    let missing = project.run_checks(&["ruff-check", "--baseline", "nowhere.json"]);
    assert_eq!(missing.code, Some(3), "{}", missing.output());
    assert!(missing.stderr.contains("greenlight baseline write nowhere.json"), "{}", missing.output());
}

#[test]
fn a_warning_check_reports_its_findings_apart_and_does_not_block() {
    let Some(project) = service_with_old_findings() else { return };
    let pyproject = std::fs::read_to_string(project.path().join("pyproject.toml")).unwrap();
    project.write("pyproject.toml", &format!("{pyproject}\n[tool.greenlight.ruff-check]\nseverity = \"warn\"\n"));
    let sarif = project.path().join(".greenlight").join("warn.sarif");
    let result = project.run_checks(&["ruff-check", "ruff-format", "--sarif", sarif.to_str().unwrap()]);
    assert_eq!(result.code, Some(0), "{}", result.output());
    let ruff = result.report().check("ruff-check").unwrap();
    assert_eq!((ruff.outcome, ruff.severity), (Outcome::Passed, greenlight_report::CheckSeverity::Warn));
    assert!(ruff.summary.starts_with("warn: 4 findings"), "{}", ruff.summary);
    assert!(ruff.findings.iter().all(|finding| finding.severity == greenlight_report::Severity::Warning));
    assert!(result.output().contains(" WARN    ruff-check"), "the live line: {}", result.output());
    assert!(result.stdout.contains("WARNINGS (severity = \"warn\", not blocking): ruff-check"), "{}", result.output());
    let sarif = std::fs::read_to_string(&sarif).unwrap();
    assert_eq!(sarif.matches("\"level\": \"warning\",").count(), 4, "every result is a warning: {sarif}");

    // Formatting still blocks.
    project.write("apps/api/main.py", "def health( ):\n    return {}\n");
    let blocked = project.run_checks(&["ruff-check", "ruff-format"]);
    assert_eq!(blocked.code, Some(1), "{}", blocked.output());
}

/// The clean service with a history: `good`, then `unformatted` (ruff-format red from there),
/// then `lint` (ruff-check red too). Returns the project and the sha of `lint`.
fn format_red_before_lint_broke() -> Option<(TempProject, String)> {
    if !require_tool("ruff") {
        return None;
    }
    let project = TempProject::fixture("clean-service");
    project.git_init();
    project.write("packages/core/limits.py", "\"\"\"Limits.\"\"\"\n\nMAX_ITEMS  =  100\n");
    project.git(&["add", "-A"]);
    project.git(&["commit", "-q", "-m", "limits"]);
    project.write(
        "apps/api/main.py",
        &format!("import json\n{}", std::fs::read_to_string(project.path().join("apps/api/main.py")).unwrap()),
    );
    project.git(&["commit", "-q", "-am", "lint"]);
    let lint = project.git(&["rev-parse", "HEAD"]).trim().to_string();
    Some((project, lint))
}

#[test]
fn hotfix_is_green_when_it_restores_the_last_good_state() {
    let Some((project, lint)) = format_red_before_lint_broke() else { return };
    let json = project.path().join(".greenlight").join("hotfix.json");
    let result = project.run(&[
        "hotfix",
        "--revert",
        &lint,
        "--check",
        "ruff-check,ruff-format",
        "--json",
        json.to_str().unwrap(),
        "--no-progress",
    ]);
    assert_eq!(result.code, Some(0), "{}", result.output());
    assert!(result.stdout.contains("the reverts restore the state of the last good commit"), "{}", result.output());
    assert!(result.stdout.contains("fixed by the reverts: ruff-check"), "{}", result.output());
    assert!(result.stdout.contains("(no new findings on the branch): ruff-format"), "{}", result.output());
    assert!(result.stdout.contains("main would be green again"), "{}", result.output());
    let report: greenlight_report::RunReport = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let format = report.check("ruff-format").unwrap();
    assert_eq!(format.outcome, Outcome::Passed);
    assert!(format.findings.iter().all(|finding| finding.baseline == Some(BaselineState::Existing)), "{format:#?}");
}
