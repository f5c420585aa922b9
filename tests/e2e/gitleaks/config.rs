//! What the project configures: `.gitleaksignore`, a baseline, its own gitleaks configuration,
//! greenlight's options, and what `list` and the report say about the check.

use super::*;

#[test]
fn gitleaksignore_suppresses_exactly_the_listed_finding() {
    if !require_tool("gitleaks") {
        return;
    }
    let (project, sha) = key_committed_then_removed();
    project.write("backup.py", &format!("BACKUP_KEY = \"{}\"\n", other_aws_key()));
    project.git(&["add", "-A"]);
    project.git(&["commit", "-q", "-m", "backup key"]);
    let backup_sha = project.git(&["rev-parse", "HEAD"]).trim().to_string();
    project.write(".gitleaksignore", &format!("# a test key\n{sha}:settings.py:aws-access-token:3\n"));
    project.git(&["add", "-A"]);
    project.git(&["commit", "-q", "-m", "ignore the test key"]);
    let result = run_gitleaks(project.path(), &[]);
    assert_eq!(result.code, Some(1), "{}", result.output());
    let check = gitleaks_check(&result);
    assert_eq!(rows(&check), [("aws-access-token".into(), "backup.py".into(), 1, Some(backup_sha))]);
    assert_eq!(rows(&check), gitleaks_by_hand(project.path(), false));
    // `BACKUP_KEY = "` is 14 bytes and line 1 starts its hunk: gitleaks' own columns are right.
    let location = check.findings[0].location.clone().unwrap();
    assert_eq!((location.column, location.end_column), (Some(15), Some(35)));
}

#[test]
fn a_baseline_suppresses_known_findings_and_a_missing_one_is_errored() {
    if !require_tool("gitleaks") {
        return;
    }
    let (project, _) = key_committed_then_removed();
    // Baselines as users make them: gitleaks' report, without --redact (it holds the key,
    // outside the project) and with it.
    let baseline_dir = tempfile::tempdir().unwrap();
    let (program, git_dir) = gitleaks_program();
    let scan: &[&str] = if git_dir { &["git", "."] } else { &["detect", "--source", "."] };
    for redact in [false, true] {
        let baseline = baseline_dir.path().join(format!("baseline-{redact}.json"));
        let status = Command::new(&program)
            .args(scan)
            .args(["--no-banner", "--report-format", "json", "--report-path"])
            .arg(&baseline)
            .args(redact.then_some("--redact"))
            .current_dir(project.path())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(1), "gitleaks found the key");
        with_config(&project, &format!("baseline = \"{}\"", baseline.display()));
        let result = run_gitleaks(project.path(), &[]);
        assert_eq!(result.code, Some(0), "{}", result.output());
        let check = gitleaks_check(&result);
        assert_eq!(check.outcome, Outcome::Passed);
        // gitleaks leaves out of its report the leaks of a baseline that holds their secrets;
        // those of a redacted one it reports, and greenlight drops and counts them.
        if redact {
            assert!(check.summary.contains("1 ignored by `.gitleaksignore` or the baseline"), "{}", check.summary);
        }
    }

    with_config(&project, "baseline = \"gitleaks-baseline.json\"");
    let result = run_gitleaks(project.path(), &[]);
    assert_eq!(result.code, Some(2), "{}", result.output());
    let check = gitleaks_check(&result);
    assert_eq!(check.outcome, Outcome::Errored);
    let reason = check.reason.unwrap();
    assert!(
        reason.contains("cannot read the baseline `gitleaks-baseline.json`") && reason.contains("--report-path"),
        "{reason}"
    );

    project.write("gitleaks-baseline.json", "not json\n");
    let result = run_gitleaks(project.path(), &[]);
    let reason = gitleaks_check(&result).reason.unwrap();
    assert!(reason.contains("is not a gitleaks JSON report"), "{reason}");
}

#[test]
fn the_project_gitleaks_config_with_extend_and_allowlist() {
    if !require_tool("gitleaks") {
        return;
    }
    let project = TempProject::empty();
    project.write("pyproject.toml", PYPROJECT);
    project.write(
        ".gitleaks.toml",
        "[extend]\nuseDefault = true\n\n[allowlist]\npaths = ['''^fixtures/''']\n\n[[rules]]\nid = \"internal-token\"\ndescription = \"Internal service token\"\nregex = '''GLFAKE_[0-9A-Z]{20}'''\n",
    );
    project.write("client.py", "TOKEN = \"GLFAKE_ABCDEFGHIJ0123456789\"\n");
    project.write("fixtures/settings.py", &settings_with_key());
    project.write("settings.py", &settings_with_key());
    project.git_init();
    let result = run_gitleaks(project.path(), &[]);
    let check = gitleaks_check(&result);
    let found: Vec<(String, String)> = rows(&check).into_iter().map(|(rule, path, _, _)| (rule, path)).collect();
    let expected: Vec<(String, String)> =
        vec![("aws-access-token".into(), "settings.py".into()), ("internal-token".into(), "client.py".into())];
    assert_eq!(found, expected, "{}", result.output());

    project.write(".gitleaks.toml", "[[rules]\nid = \"broken\"\n");
    let result = run_gitleaks(project.path(), &[]);
    assert_eq!(result.code, Some(2), "{}", result.output());
    let reason = gitleaks_check(&result).reason.unwrap();
    assert!(
        reason.starts_with("gitleaks could not scan the git history: it cannot load `")
            && reason.contains(".gitleaks.toml"),
        "{reason}"
    );
}

#[test]
fn flags_that_would_print_secrets_are_a_configuration_error() {
    let project = TempProject::empty();
    with_config(&project, "args = [\"--verbose\"]");
    project.git_init();
    let result = project.run(&["run", "gitleaks"]);
    assert_eq!(result.code, Some(3), "{}", result.output());
    assert!(
        result.stderr.contains("`args` may not contain `--verbose`: it prints every secret in cleartext"),
        "{}",
        result.output()
    );
}

#[test]
fn list_explains_the_decision() {
    let (project, _) = key_committed_then_removed();
    let result = project.run(&["list"]);
    assert_eq!(result.code, Some(0), "{}", result.output());
    assert!(
        result.stdout.contains("gitleaks") && result.stdout.contains("scans the history, like CI"),
        "{}",
        result.output()
    );
}

#[test]
fn the_report_records_the_tool() {
    if !require_tool("gitleaks") {
        return;
    }
    let (project, _) = key_committed_then_removed();
    let result = run_gitleaks(project.path(), &[]);
    let report: &RunReport = result.report();
    assert!(report.tools.contains_key("gitleaks"), "{:?}", report.tools);
    let check = gitleaks_check(&result);
    let command = check.command.unwrap();
    // No `--redact`: greenlight reads the secrets from the report to mask them everywhere.
    assert!(!command.iter().any(|arg| arg == "-v" || arg == "--verbose" || arg.starts_with("--redact")));
    assert_eq!(check.exit_code, Some(77));
}

/// The same tests with gitleaks 8.30 (`gitleaks git` and `gitleaks dir`).
mod v8_30 {
    use crate::gitleaks::versions::with_gitleaks_8_30;

    #[test]
    fn gitleaksignore_suppresses_exactly_the_listed_finding() {
        with_gitleaks_8_30(super::gitleaksignore_suppresses_exactly_the_listed_finding);
    }
    #[test]
    fn a_baseline_suppresses_known_findings_and_a_missing_one_is_errored() {
        with_gitleaks_8_30(super::a_baseline_suppresses_known_findings_and_a_missing_one_is_errored);
    }
    #[test]
    fn the_project_gitleaks_config_with_extend_and_allowlist() {
        with_gitleaks_8_30(super::the_project_gitleaks_config_with_extend_and_allowlist);
    }
    #[test]
    fn the_report_records_the_tool() {
        with_gitleaks_8_30(super::the_report_records_the_tool);
    }
}
