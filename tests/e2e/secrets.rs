//! Secrets stay out of every output: a token gitleaks flags in the history, asserted on by a
//! failing test, and the values of the variables the configuration passes (`pass-env`) or
//! marks secret (`secret-env`), asserted on by failing tests too. Every output format, every
//! file greenlight wrote (logs, the cache, the reports) and the terminal are searched for them,
//! in a run and in a second run that replays from the cache.
//!
//! The token is assembled at run time, so that this repository holds none.

use std::path::Path;

use greenlight_e2e::{Expected, RunResult, TempProject, everything_written, require_tool, run_greenlight};
use greenlight_report::Outcome;

/// A GitHub personal access token of the right shape (`ghp_` and 36 alphanumerics), for no
/// account.
fn github_token() -> String {
    ["ghp_", "Ody0iSUn8mSXV5RB", "ioHh5pawy2ejYUQy4V7L"].concat()
}

const DEPLOY_TOKEN: &str = "dpl-7f3c9a21e4b8";
const DATABASE_URL: &str = "postgresql://svc:pw-Qm2xZ9kT@db.internal:5432/svc";

/// The values, and the end of the token as pytest shows it cut (`ghp_Od...wy2ejYUQy4V7L`).
fn secrets() -> Vec<String> {
    let token = github_token();
    let end = token[token.len() - 13..].to_string();
    vec![token, end, DEPLOY_TOKEN.to_string(), "pw-Qm2xZ9kT".to_string()]
}

/// The fixture with the token committed in its settings, as the mistake happens.
fn leaked_token_project() -> TempProject {
    let project = TempProject::fixture("leaked-token");
    project.write(
        "packages/core/settings.py",
        &format!("\"\"\"Settings of the service.\"\"\"\n\nGITHUB_TOKEN = \"{}\"\n", github_token()),
    );
    project.git_init();
    project
}

/// Runs every check the fixture expects with every output format, on GitHub Actions (workflow
/// commands and the step summary), with the secret variables set.
fn run_with_every_output(project: &TempProject) -> RunResult {
    let out = project.path().join(".greenlight/out");
    std::fs::create_dir_all(&out).unwrap();
    let file = |name: &str| out.join(name).display().to_string();
    let (json, junit, sarif, markdown, summary) =
        (file("report.json"), file("report.xml"), file("report.sarif"), file("report.md"), file("summary.md"));
    let mut args = vec!["run", "--no-progress", "-v", "--json", &json, "--junit", &junit, "--sarif", &sarif];
    args.extend(["--markdown", markdown.as_str()]);
    let checks = Expected::load("leaked-token");
    args.extend(checks.check_ids());
    let env = [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_STEP_SUMMARY", summary.as_str()),
        ("DEPLOY_TOKEN", DEPLOY_TOKEN),
        ("DATABASE_URL", DATABASE_URL),
    ];
    let mut result = run_greenlight(project.path(), &args, &env);
    result.report = std::fs::read_to_string(&json).ok().and_then(|text| serde_json::from_str(&text).ok());
    result
}

fn assert_no_secret_anywhere(dir: &Path, result: &RunResult) {
    let outputs = everything_written(dir, result);
    assert!(outputs.iter().any(|(name, _)| name.ends_with("pytest.log")), "no pytest log was written");
    for secret in secrets() {
        for (name, text) in &outputs {
            assert!(!text.contains(&secret), "{name} shows the secret `{secret}`\n{}", result.output());
        }
    }
}

#[test]
fn a_token_gitleaks_flags_and_the_secret_variables_are_masked_in_every_output() {
    if !require_tool("pytest") || !require_tool("gitleaks") {
        return;
    }
    let project = leaked_token_project();
    let result = run_with_every_output(&project);
    Expected::load("leaked-token").assert_matches(&result);
    let report = result.report();
    let pytest = report.check("pytest").expect("pytest ran");
    assert_eq!(pytest.outcome, Outcome::Failed, "{}", result.output());
    // The failures are still there to read, with the values masked.
    let cases = &pytest.tests.as_ref().expect("test results").cases;
    let bearer = cases.iter().find(|case| case.name.contains("bearer")).expect("the bearer test");
    let message = bearer.message.as_deref().unwrap_or_default();
    // pytest cuts the long value in the middle; both parts are masked.
    assert!(message.contains("assert 'token ***...***' == 'Bearer <token>'"), "{message}\n{}", result.output());
    assert!(result.stdout.contains("***"), "{}", result.output());
    assert!(result.stdout.contains("::error "), "annotations were written\n{}", result.output());
    assert_no_secret_anywhere(project.path(), &result);

    // Again: pytest and the environment replay from the cache, gitleaks (which found secrets) is
    // never stored, so it runs again and its secrets are known to the run.
    let again = run_with_every_output(&project);
    Expected::load("leaked-token").assert_matches(&again);
    let replayed = again.report();
    assert!(replayed.check("pytest").is_some_and(|check| check.cached), "{}", again.output());
    assert!(replayed.check("gitleaks").is_some_and(|check| !check.cached), "{}", again.output());
    assert_no_secret_anywhere(project.path(), &again);
}
