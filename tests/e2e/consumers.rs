//! The report files judged by the programs that read them: the JUnit of a run with a failing
//! test, lint errors in a file whose name holds a newline and a tab, and a dependency audit
//! that could not reach its service (errored) — validated against the Jenkins xUnit plugin's
//! `junit-10.xsd` (lxml) and read by junitparser, xunitparser and junit2html; the GitLab Code
//! Quality file of a real run against GitLab's documented format (check-jsonschema); the SARIF
//! fingerprints of a real run before and after a line is inserted above the findings.

use std::path::{Path, PathBuf};
use std::process::Command;

use greenlight_e2e::{TempProject, require_tool, run_greenlight, workspace};
use greenlight_report::Outcome;
use serde_json::Value;

/// A proxy nobody listens on: with it, pip-audit's service cannot be reached.
const DEAD_PROXY: &str = "http://127.0.0.1:9";

const SCHEMAS: &str = "crates/greenlight-reporters/tests/schemas";

/// The name of the file with a lint error: a newline and a tab in it.
const ODD_NAME: &str = "apps/api/odd\nname\tv2.py";

fn tools_python() -> PathBuf {
    workspace().join("target/tools/venv/bin/python")
}

/// Runs the consumers on a JUnit file and prints what they saw as JSON.
const JUNIT_CONSUMERS: &str = r#"
import json, os, subprocess, sys
from lxml import etree
import junitparser, xunitparser

path, xsd, html = sys.argv[1:4]
schema = etree.XMLSchema(etree.parse(xsd))
document = etree.parse(path)
schema.validate(document)
xsd_errors = [f"{error.line}: {error.message}" for error in schema.error_log]

cases = {}
for suite in junitparser.JUnitXml.fromfile(path):
    for case in suite:
        kinds = [type(result).__name__ for result in case.result]
        cases.setdefault(suite.name, []).append({
            "name": case.name,
            "classname": case.classname,
            "result": kinds[0] if kinds else "Passed",
            "message": next((result.message for result in case.result), None),
            "file": case._elem.get("file"),
        })

suite, result = xunitparser.parse(open(path, "rb"))
xunit = {"tests": result.testsRun, "errors": len(result.errors), "failures": len(result.failures),
         "skipped": len(result.skipped), "properties": len(suite.properties)}

page = subprocess.run([os.path.join(os.path.dirname(sys.executable), "junit2html"), path, html],
                      capture_output=True, text=True)
print(json.dumps({"xsd_errors": xsd_errors, "cases": cases, "xunitparser": xunit,
                  "junit2html": {"code": page.returncode, "stderr": page.stderr}}))
"#;

fn consumers_see(junit: &Path, dir: &Path) -> Value {
    let html = dir.join("junit.html");
    let output = Command::new(tools_python())
        .args(["-c", JUNIT_CONSUMERS])
        .arg(junit)
        .arg(workspace().join(SCHEMAS).join("junit-10.xsd"))
        .arg(&html)
        .output()
        .expect("the tools' python runs");
    assert!(output.status.success(), "the consumers failed:\n{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("the consumers print JSON")
}

/// failing-test with a lint error in a file of an odd name and two dependencies to audit.
fn service_with_problems() -> TempProject {
    let project = TempProject::fixture("failing-test");
    let pyproject = std::fs::read_to_string(project.path().join("pyproject.toml")).unwrap();
    project.write("pyproject.toml", &pyproject.replace("dependencies = []", "dependencies = [\"idna==3.10\"]"));
    project.write(ODD_NAME, "import os\n");
    project
}

#[test]
fn junit_of_a_run_with_an_errored_check_satisfies_every_consumer() {
    if !(require_tool("ruff") && require_tool("pip-audit") && require_tool("junit2html")) {
        return;
    }
    let project = service_with_problems();
    // The environment needs the package index; then pip-audit loses its service.
    let built = project.run_checks(&["pytest"]);
    assert_eq!(built.code, Some(1), "{}", built.output());
    project.write("greenlight.toml", "[pip-audit]\nservice = \"pypi\"\n");
    let offline: Vec<(&str, &str)> =
        ["HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "ALL_PROXY"].map(|name| (name, DEAD_PROXY)).into();
    let result = run_greenlight(
        project.path(),
        &[
            "run",
            "ruff-check",
            "pytest",
            "pip-audit",
            "--no-progress",
            "--junit",
            "out/junit.xml",
            "--json",
            "out/report.json",
        ],
        &offline,
    );
    assert_eq!(result.code, Some(1), "{}", result.output());
    let report: greenlight_report::RunReport =
        serde_json::from_str(&std::fs::read_to_string(project.path().join("out/report.json")).unwrap()).unwrap();
    assert_eq!(report.check("pip-audit").unwrap().outcome, Outcome::Errored, "{}", result.output());

    let seen = consumers_see(&project.path().join("out/junit.xml"), project.path());
    assert_eq!(seen["xsd_errors"], Value::Array(Vec::new()), "the Jenkins xUnit schema rejects it: {seen:#}");
    assert_eq!(seen["junit2html"]["code"], 0, "{seen:#}");
    assert!(project.path().join("junit.html").is_file());
    let xunit = &seen["xunitparser"];
    assert!(xunit["errors"].as_u64().unwrap() >= 1 && xunit["failures"].as_u64().unwrap() >= 2, "{seen:#}");

    // The audit that could not run is an error with pip-audit's reason, never a pass.
    let audit = seen["cases"]["pip-audit"].as_array().expect("a pip-audit suite");
    assert!(audit.iter().all(|case| case["result"] != "Passed"), "{audit:#?}");
    let error = audit.iter().find(|case| case["result"] == "Error").expect("an error case");
    assert!(error["message"].as_str().unwrap().starts_with("not audited: "), "{error:#}");

    // The file attribute names the file that exists.
    let lint = seen["cases"]["ruff-check"].as_array().expect("a ruff-check suite");
    let odd = lint.iter().find(|case| case["classname"] == "ruff-check.F401").expect("F401 in the odd file");
    assert_eq!(odd["file"], ODD_NAME, "{odd:#}");
    assert!(project.path().join(odd["file"].as_str().unwrap()).is_file());
    // The failing test is a failure.
    let tests = seen["cases"]["pytest"].as_array().expect("a pytest suite");
    assert!(tests.iter().any(|case| case["result"] == "Failure"), "{tests:#?}");
}

#[test]
fn gitlab_code_quality_of_a_real_run_follows_gitlabs_format() {
    if !(require_tool("ruff") && require_tool("check-jsonschema")) {
        return;
    }
    let repo = TempProject::fixture_at("lint-errors", "services/api");
    repo.git_init();
    let result = run_greenlight(
        repo.path(),
        &[
            "run",
            "ruff-check",
            "ruff-format",
            "--project",
            "services/api",
            "--no-progress",
            "--gitlab-codequality",
            "cq.json",
        ],
        &[],
    );
    assert_eq!(result.code, Some(1), "{}", result.output());
    let file = repo.path().join("cq.json");
    let schema = workspace().join(SCHEMAS).join("gitlab-codequality.schema.json");
    let validated = Command::new(workspace().join("target/tools/venv/bin/check-jsonschema"))
        .arg("--schemafile")
        .arg(&schema)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        validated.status.success(),
        "{}{}",
        String::from_utf8_lossy(&validated.stdout),
        String::from_utf8_lossy(&validated.stderr)
    );
    let issues: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(issues.len(), 4, "{issues:#?}");
    let mut fingerprints: Vec<&str> = issues.iter().map(|issue| issue["fingerprint"].as_str().unwrap()).collect();
    fingerprints.sort();
    fingerprints.dedup();
    assert_eq!(fingerprints.len(), 4, "GitLab shows one issue per fingerprint");
    let e711 = issues.iter().find(|issue| issue["check_name"] == "ruff:E711").expect("E711");
    assert_eq!(e711["location"]["path"], "services/api/packages/core/schemas.py");
    assert_eq!(e711["location"]["lines"]["begin"], 15);
    assert_eq!(e711["severity"], "major");
}

/// The fingerprints of every SARIF result (and Code Quality issue) of ruff on lint-errors, with
/// each result's start line.
fn fingerprints_of_a_run(project: &TempProject) -> (Vec<(String, String)>, Vec<u64>, Vec<String>) {
    let result =
        project.run(&["run", "ruff-check", "--no-progress", "--sarif", "out.sarif", "--gitlab-codequality", "cq.json"]);
    assert_eq!(result.code, Some(1), "{}", result.output());
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(project.path().join("out.sarif")).unwrap()).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let mut fingerprints: Vec<(String, String)> = results
        .iter()
        .map(|result| {
            let partial = &result["partialFingerprints"];
            (
                partial["primaryLocationLineHash"].as_str().unwrap().to_string(),
                partial["greenlightFingerprint/v1"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    fingerprints.sort();
    let mut lines: Vec<u64> = results
        .iter()
        .map(|result| result["locations"][0]["physicalLocation"]["region"]["startLine"].as_u64().unwrap())
        .collect();
    lines.sort();
    let issues: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(project.path().join("cq.json")).unwrap()).unwrap();
    let mut quality: Vec<String> =
        issues.iter().map(|issue| issue["fingerprint"].as_str().unwrap().to_string()).collect();
    quality.sort();
    (fingerprints, lines, quality)
}

#[test]
fn sarif_and_code_quality_fingerprints_survive_a_line_inserted_above_the_findings() {
    if !require_tool("ruff") {
        return;
    }
    let project = TempProject::fixture("lint-errors");
    let (before, lines_before, quality_before) = fingerprints_of_a_run(&project);
    assert_eq!(before.len(), 4, "{before:?}");
    let path = "packages/core/schemas.py";
    let text = std::fs::read_to_string(project.path().join(path)).unwrap();
    project.write(path, &format!("# Schemas of the core package.\n{text}"));
    let (after, lines_after, quality_after) = fingerprints_of_a_run(&project);
    assert_eq!(lines_after, lines_before.iter().map(|line| line + 1).collect::<Vec<_>>(), "every finding moved down");
    assert_eq!(after, before, "GitHub would close and reopen alerts whose fingerprint changed");
    assert_eq!(quality_after, quality_before);

    // Editing the line of a finding gives it a new identity.
    let text = std::fs::read_to_string(project.path().join(path)).unwrap();
    project.write(path, &text.replacen("import os", "import os  # unused", 1));
    let (edited, _, _) = fingerprints_of_a_run(&project);
    assert_ne!(edited, before);
}
