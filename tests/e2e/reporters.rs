//! Every report format from real runs: files written when checks fail, error or are
//! interrupted; the GitHub Actions defaults; `report render` and `report merge`; a project in
//! a subdirectory of its repository.

use std::path::Path;
use std::time::Duration;

use greenlight_e2e::{RunResult, TempProject, interrupt, require_tool, run_greenlight, spawn_greenlight, wait_for};
use greenlight_report::{Outcome, RunReport};
use serde_json::Value;

const OUTPUTS: [&str; 8] = [
    "--json",
    "out/report.json",
    "--junit",
    "out/junit.xml",
    "--sarif",
    "out/report.sarif",
    "--markdown",
    "out/summary.md",
];

fn read(dir: &Path, relative: &str) -> String {
    std::fs::read_to_string(dir.join(relative)).unwrap_or_else(|error| panic!("{relative}: {error}"))
}

fn report(dir: &Path, relative: &str) -> RunReport {
    serde_json::from_str(&read(dir, relative)).expect("a JSON report")
}

/// Validates SARIF against the vendored OASIS schema; returns it parsed.
fn valid_sarif(text: &str) -> Value {
    let schema: Value =
        serde_json::from_str(include_str!("../../crates/greenlight-reporters/tests/schemas/sarif-schema-2.1.0.json"))
            .expect("the schema parses");
    let validator =
        jsonschema::draft4::options().should_validate_formats(true).build(&schema).expect("the schema compiles");
    let sarif: Value = serde_json::from_str(text).expect("SARIF is JSON");
    let errors: Vec<String> =
        validator.iter_errors(&sarif).map(|error| format!("{error} at {}", error.instance_path())).collect();
    assert!(errors.is_empty(), "schema violations:\n{}\n{text}", errors.join("\n"));
    sarif
}

/// Validates a JSON report against the checked-in schema of the report model.
fn valid_report(text: &str) -> Value {
    let schema: Value = serde_json::from_str(include_str!("../../docs/report.schema.json")).expect("the schema parses");
    let validator = jsonschema::draft202012::new(&schema).expect("the schema compiles");
    let report: Value = serde_json::from_str(text).expect("the report is JSON");
    let errors: Vec<String> =
        validator.iter_errors(&report).map(|error| format!("{error} at {}", error.instance_path())).collect();
    assert!(errors.is_empty(), "schema violations:\n{}\n{text}", errors.join("\n"));
    report
}

#[test]
fn a_real_report_follows_the_checked_in_schema() {
    if !require_tool("ruff") {
        return;
    }
    let project = TempProject::fixture("lint-errors");
    let result = project.run_checks(&["ruff-check", "ruff-format"]);
    assert_eq!(result.code, Some(1), "{}", result.output());
    let text = std::fs::read_to_string(project.path().join(".greenlight/e2e-report.json")).unwrap();
    let report = valid_report(&text);
    let checks = report["checks"].as_array().unwrap();
    assert!(checks.iter().any(|check| !check["findings"].as_array().unwrap().is_empty()), "{text}");
    assert!(checks.iter().any(|check| check["skip_cause"]["kind"] == "not_selected"), "{text}");
}

fn run_of<'a>(sarif: &'a Value, driver: &str) -> Option<&'a Value> {
    sarif["runs"].as_array()?.iter().find(|run| run["tool"]["driver"]["name"] == driver)
}

fn junit_suite<'a>(junit: &'a quick_junit::Report, id: &str) -> &'a quick_junit::TestSuite {
    junit.test_suites.iter().find(|suite| suite.name.as_str() == id).unwrap_or_else(|| panic!("no suite {id}"))
}

/// ruff on the lint-errors fixture, writing every format.
fn lint_errors_with_every_output() -> (TempProject, RunResult) {
    let project = TempProject::fixture("lint-errors");
    let mut args = vec!["run", "ruff-check", "ruff-format", "--no-progress"];
    args.extend(OUTPUTS);
    let result = project.run(&args);
    assert_eq!(result.code, Some(1), "{}", result.output());
    (project, result)
}

#[test]
fn every_format_from_a_real_ruff_run() {
    if !require_tool("ruff") {
        return;
    }
    let (project, result) = lint_errors_with_every_output();
    let dir = project.path();

    let sarif = valid_sarif(&read(dir, "out/report.sarif"));
    let ruff = run_of(&sarif, "ruff").expect("a ruff run");
    let mut found: Vec<(String, String, u64)> = ruff["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|result| {
            let location = &result["locations"][0]["physicalLocation"];
            (
                result["ruleId"].as_str().unwrap().to_string(),
                location["artifactLocation"]["uri"].as_str().unwrap().to_string(),
                location["region"]["startLine"].as_u64().unwrap(),
            )
        })
        .collect();
    found.sort();
    let expected: Vec<(String, String, u64)> = [("E711", 15), ("F401", 3), ("F401", 4), ("F841", 14)]
        .iter()
        .map(|(rule, line)| (rule.to_string(), "packages/core/schemas.py".to_string(), *line))
        .collect();
    assert_eq!(found, expected);
    assert_eq!(ruff["tool"]["driver"]["semanticVersion"], "0.17.6");
    let format = run_of(&sarif, "ruff format").expect("a passing check still has its (empty) run");
    assert_eq!(format["results"].as_array().unwrap().len(), 0);

    let junit = quick_junit::Report::deserialize_from_str(&read(dir, "out/junit.xml")).expect("JUnit parses");
    let suite = junit_suite(&junit, "ruff-check");
    assert_eq!(suite.failures, 4);
    assert!(suite.test_cases.iter().any(|case| case.classname.as_ref().map(|c| c.as_str()) == Some("ruff-check.E711")
        && case.name.as_str() == "packages/core/schemas.py:15:31"));
    assert_eq!(junit_suite(&junit, "ruff-format").tests, 1);

    let markdown = read(dir, "out/summary.md");
    assert!(markdown.starts_with("## greenlight: ❌ failed"), "{markdown}");
    assert!(markdown.contains("| ❌ | `ruff-check` | failed |"), "{markdown}");
    assert!(markdown.contains("`packages/core/schemas.py:15:31`"), "{markdown}");
    assert!(markdown.contains("Full log: `.greenlight/logs/"), "{markdown}");

    let saved = report(dir, "out/report.json");
    let log = saved.check("ruff-check").unwrap().log.clone().expect("the log is named in the report");
    assert!(dir.join(&log.path).is_file(), "{} exists", log.path);
    assert!(
        result.stdout.contains(&format!("full log: {}", log.path)),
        "the terminal points at the log:\n{}",
        result.output()
    );
}

#[test]
fn report_render_reproduces_the_run_outputs() {
    if !require_tool("ruff") {
        return;
    }
    let (project, _) = lint_errors_with_every_output();
    let rendered = project.run(&[
        "report",
        "render",
        "out/report.json",
        "--junit",
        "again/junit.xml",
        "--sarif",
        "again/report.sarif",
        "--markdown",
        "again/summary.md",
        "--json",
        "again/report.json",
    ]);
    assert_eq!(rendered.code, Some(1), "render exits with the report's code: {}", rendered.output());
    let dir = project.path();
    for file in ["junit.xml", "report.sarif", "summary.md", "report.json"] {
        assert_eq!(read(dir, &format!("again/{file}")), read(dir, &format!("out/{file}")), "{file} differs");
    }
    // Without formats: the terminal summary.
    let summary = project.run(&["report", "render", "out/report.json"]);
    assert!(summary.stdout.contains("packages/core/schemas.py:15:31  E711"), "{}", summary.output());
    assert!(summary.stdout.contains("FAILED: 1 failed, 1 passed"), "{}", summary.output());
}

#[test]
fn report_render_of_something_else_is_a_usage_error() {
    let project = TempProject::empty();
    project.write("notes.json", "{\"hello\": 1}");
    let result = project.run(&["report", "render", "notes.json", "--sarif", "x.sarif"]);
    assert_eq!(result.code, Some(3), "{}", result.output());
    assert!(result.stderr.contains("notes.json: not a greenlight JSON report"), "{}", result.output());
    assert!(!project.path().join("x.sarif").exists());
}

#[test]
fn github_actions_gets_annotations_groups_and_a_step_summary() {
    if !require_tool("ruff") {
        return;
    }
    let project = TempProject::fixture("lint-errors");
    project.write("step-summary.md", "# Earlier step\n");
    let summary_file = project.path().join("step-summary.md").display().to_string();
    let env = [("GITHUB_ACTIONS", "true"), ("GITHUB_STEP_SUMMARY", summary_file.as_str())];
    let result = run_greenlight(project.path(), &["run", "ruff-check", "ruff-format", "--no-progress"], &env);
    assert_eq!(result.code, Some(1), "{}", result.output());
    assert!(result.stdout.contains("::group::FAILED ruff-check "), "{}", result.output());
    assert!(result.stdout.contains("::endgroup::"), "{}", result.output());
    assert!(
        result.stdout.contains("::error file=packages/core/schemas.py,line=15,endLine=15,col=31,endColumn=35,title=ruff-check%3A ruff E711 (none-comparison)::"),
        "{}",
        result.output()
    );
    let summary = std::fs::read_to_string(project.path().join("step-summary.md")).unwrap();
    assert!(summary.starts_with("# Earlier step\n## greenlight: ❌ failed"), "appended:\n{summary}");

    // Turned off explicitly.
    let quiet = run_greenlight(
        project.path(),
        &["run", "ruff-check", "--no-progress", "--github=false", "--step-summary=false"],
        &env,
    );
    assert_eq!(quiet.code, Some(1), "{}", quiet.output());
    assert!(!quiet.stdout.contains("::group::"), "{}", quiet.output());
    assert_eq!(std::fs::read_to_string(project.path().join("step-summary.md")).unwrap(), summary);
}

#[test]
fn an_output_that_cannot_be_written_fails_a_green_run_with_exit_code_4() {
    if !require_tool("ruff") {
        return;
    }
    let project = TempProject::fixture("clean-service");
    project.write("blocked", "a file where the SARIF report's directory would go\n");
    let args = ["run", "ruff-format", "--no-progress", "--json", "out/report.json", "--sarif", "blocked/report.sarif"];
    let result = run_greenlight(project.path(), &args, &[]);
    assert_eq!(result.code, Some(4), "{}", result.output());
    assert!(result.stderr.contains("error: SARIF report: cannot create blocked"), "{}", result.output());
    // The others are written, and the report itself is green.
    assert_eq!(report(project.path(), "out/report.json").outcome, Outcome::Passed);

    // A red run keeps its own code.
    project.write("apps/api/main.py", "import os\n");
    let result =
        run_greenlight(project.path(), &["run", "ruff-check", "--no-progress", "--sarif", "blocked/x.sarif"], &[]);
    assert_eq!(result.code, Some(1), "{}", result.output());
}

#[test]
fn every_file_is_written_when_a_check_errors() {
    let project = TempProject::fixture("clean-service");
    // ruff is missing and not installed: the check errors.
    let pyproject = std::fs::read_to_string(project.path().join("pyproject.toml")).unwrap();
    project.write("pyproject.toml", &format!("{pyproject}\n[tool.greenlight]\nprovision = false\n"));
    let mut args = vec!["run", "ruff-check", "--no-progress"];
    args.extend(OUTPUTS);
    let result = run_greenlight(project.path(), &args, &[("PATH", "/usr/bin:/bin")]);
    assert_eq!(result.code, Some(2), "{}", result.output());
    let dir = project.path();
    assert_eq!(report(dir, "out/report.json").check("ruff-check").unwrap().outcome, Outcome::Errored);
    let junit = quick_junit::Report::deserialize_from_str(&read(dir, "out/junit.xml")).unwrap();
    assert_eq!(junit_suite(&junit, "ruff-check").errors, 1);
    let sarif = valid_sarif(&read(dir, "out/report.sarif"));
    assert!(run_of(&sarif, "ruff").is_none(), "an errored check has no run: it would close open alerts");
    assert!(result.stderr.contains("note: SARIF: `ruff-check` errored"), "{}", result.output());
    assert!(read(dir, "out/summary.md").contains("### ⚠️ `ruff-check` · errored"));
}

#[test]
fn every_file_is_written_when_the_run_is_interrupted() {
    let project = TempProject::fixture("clean-service");
    project.write("fake-ruff", "#!/bin/sh\nsleep 300 & echo $! > grandchild.pid; sleep 300\n");
    std::fs::set_permissions(project.path().join("fake-ruff"), std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .unwrap();
    let pyproject = std::fs::read_to_string(project.path().join("pyproject.toml")).unwrap();
    project
        .write("pyproject.toml", &format!("{pyproject}\n[tool.greenlight.tools]\nruff = {{ path = \"fake-ruff\" }}\n"));
    let mut args = vec!["run", "ruff-check", "ruff-format", "--no-progress"];
    args.extend(OUTPUTS);
    let mut child = spawn_greenlight(project.path(), &args);
    let pidfile = project.path().join("grandchild.pid");
    assert!(wait_for(Duration::from_secs(20), || pidfile.exists()), "the fake tool never started");
    assert_eq!(interrupt(&mut child, Duration::from_secs(20)).code(), Some(130));
    let dir = project.path();
    let saved = report(dir, "out/report.json");
    assert!(saved.interrupted);
    let junit = quick_junit::Report::deserialize_from_str(&read(dir, "out/junit.xml")).unwrap();
    assert_eq!(junit_suite(&junit, "ruff-check").skipped, 1, "cancelled checks are skipped cases");
    valid_sarif(&read(dir, "out/report.sarif"));
    assert!(read(dir, "out/summary.md").starts_with("## greenlight: ⏹️ interrupted"));
}

#[test]
fn shards_of_one_commit_merge_and_other_commits_are_refused() {
    if !require_tool("ruff") {
        return;
    }
    let project = TempProject::fixture("lint-errors");
    project.git_init();
    let lint = project.run(&["run", "ruff-check", "--no-progress", "--json", "shard-lint.json"]);
    assert_eq!(lint.code, Some(1), "{}", lint.output());
    let format = project.run(&["run", "ruff-format", "--no-progress", "--json", "shard-format.json"]);
    assert_eq!(format.code, Some(0), "{}", format.output());

    let merged = project.run(&[
        "report",
        "merge",
        "shard-lint.json",
        "shard-format.json",
        "--json",
        "merged.json",
        "--junit",
        "merged.xml",
    ]);
    assert_eq!(merged.code, Some(1), "the merged report failed: {}", merged.output());
    let report = report(project.path(), "merged.json");
    assert_eq!(report.check("ruff-check").unwrap().outcome, Outcome::Failed);
    assert_eq!(report.check("ruff-format").unwrap().outcome, Outcome::Passed);
    assert_eq!(report.outcome, Outcome::Failed);
    assert!(report.run_id.contains('+'), "{}", report.run_id);
    let junit = quick_junit::Report::deserialize_from_str(&read(project.path(), "merged.xml")).unwrap();
    assert_eq!(junit_suite(&junit, "ruff-check").failures, 4);

    // Without an output: the merged JSON on stdout.
    let stdout = project.run(&["report", "merge", "shard-lint.json", "shard-format.json"]);
    let parsed: RunReport = serde_json::from_str(&stdout.stdout).expect("JSON on stdout");
    assert_eq!(parsed.checks.len(), report.checks.len());

    // A shard of another commit.
    project.write("NEWS.md", "next\n");
    project.git(&["add", "-A"]);
    project.git(&["commit", "-q", "-m", "next"]);
    let later = project.run(&["run", "ruff-format", "--no-progress", "--json", "shard-later.json"]);
    assert_eq!(later.code, Some(0), "{}", later.output());
    let refused = project.run(&["report", "merge", "shard-lint.json", "shard-later.json", "--json", "bad.json"]);
    assert_eq!(refused.code, Some(3), "{}", refused.output());
    assert!(refused.stderr.contains("the reports are of different commits"), "{}", refused.output());
    assert!(!project.path().join("bad.json").exists());
}

#[test]
fn a_project_in_a_subdirectory_reports_repository_paths() {
    if !require_tool("ruff") {
        return;
    }
    let repo = TempProject::fixture_at("lint-errors", "services/api");
    repo.git_init();
    let result = run_greenlight(
        repo.path(),
        &[
            "run",
            "ruff-check",
            "--project",
            "services/api",
            "--no-progress",
            "--sarif",
            "out.sarif",
            "--json",
            "out.json",
            "--github",
        ],
        &[],
    );
    assert_eq!(result.code, Some(1), "{}", result.output());
    let saved = report(repo.path(), "out.json");
    assert_eq!(saved.project.path_in_repo.as_deref(), Some("services/api"));
    let sarif = valid_sarif(&read(repo.path(), "out.sarif"));
    let ruff = run_of(&sarif, "ruff").unwrap();
    let uri = ruff["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap();
    assert_eq!(uri, "services/api/packages/core/schemas.py");
    assert_eq!(ruff["automationDetails"]["id"], "greenlight/services/api/", "a category of its own in a monorepo");
    let root = std::fs::canonicalize(repo.path()).unwrap();
    assert_eq!(ruff["originalUriBaseIds"]["%SRCROOT%"]["uri"], format!("file://{}/", root.display()));
    assert!(result.stdout.contains("::error file=services/api/packages/core/schemas.py,"), "{}", result.output());
}

/// A tool that prints terminal escapes (clear the screen, set the window title) into what
/// becomes a check's summary: the JSON report keeps the text as it was, but neither the live
/// view on stderr nor the summary on stdout passes an escape or a control character on.
#[test]
fn escapes_in_tool_output_never_reach_the_terminal() {
    if !require_tool("pyproject-build") {
        return;
    }
    let project = TempProject::empty();
    project.write(
        "pyproject.toml",
        "[build-system]\nrequires = []\nbuild-backend = \"noisy_backend\"\nbackend-path = [\".\"]\n\n[project]\nname = \"noisy\"\nversion = \"0.1.0\"\n",
    );
    project.write(
        "noisy_backend.py",
        "def _refuse(*_args, **_kwargs):\n    raise RuntimeError(\"\\x1b[2J\\x1b]0;owned\\x07the backend refuses to build\")\n\n\nbuild_sdist = build_wheel = _refuse\n",
    );
    let result = project.run_checks(&["build"]);
    assert_eq!(result.code, Some(1), "{}", result.output());
    let check = result.report().check("build").expect("build in the report").clone();
    assert_eq!(check.outcome, Outcome::Failed, "{check:?}");
    assert!(check.summary.contains("\u{1b}[2J\u{1b}]0;owned\u{7}"), "the summary carries the escapes: {check:?}");

    let live = result.stderr.lines().find(|line| line.contains(" build ")).expect("a live line for build");
    assert!(live.ends_with("RuntimeError: the backend refuses to build"), "{live:?}");
    for (stream, text) in [("stderr", &result.stderr), ("stdout", &result.stdout)] {
        let raw: Vec<char> = text.chars().filter(|c| c.is_control() && !matches!(c, '\n' | '\t')).collect();
        assert!(raw.is_empty(), "control characters {raw:?} on {stream}:\n{}", result.output());
    }
}

/// A ruff-format failure shows what the formatter would change: each unformatted file's diff
/// (from `ruff format --diff`) is in its finding, the terminal summary, the Markdown summary and
/// the check's log.
#[test]
fn format_findings_carry_the_diff_everywhere() {
    if !require_tool("ruff") {
        return;
    }
    let project = TempProject::fixture("unformatted");
    let result = project.run_checks(&["ruff-format", "--markdown", "out/summary.md"]);
    assert_eq!(result.code, Some(1), "{}", result.output());
    let check = result.report().check("ruff-format").unwrap().clone();
    let routes = check
        .findings
        .iter()
        .find(|finding| finding.location.as_ref().is_some_and(|location| location.path == "apps/api/routes.py"))
        .expect("routes.py would be reformatted");
    let diff = routes.detail.as_deref().expect("the finding carries the diff");
    assert!(diff.starts_with("--- apps/api/routes.py\n+++ apps/api/routes.py\n@@ "), "{diff}");
    assert!(diff.lines().any(|line| line.starts_with('+')) && diff.lines().any(|line| line.starts_with('-')), "{diff}");
    let first_change = diff.lines().find(|line| line.starts_with('+') && !line.starts_with("+++")).unwrap();
    assert!(result.stdout.contains(&format!("│ {first_change}")), "the terminal shows it:\n{}", result.output());
    let markdown = read(project.path(), "out/summary.md");
    assert!(markdown.contains("```diff\n--- apps/api/routes.py"), "{markdown}");
    let log = std::fs::read_to_string(project.path().join(&check.log.unwrap().path)).unwrap();
    assert!(log.contains("+++ apps/api/routes.py"), "the log has ruff's diff:\n{log}");
}
