//! The working tree: untracked and ignored files, a repository without commits, and a project
//! outside git.

use super::*;

#[test]
fn a_private_key_in_the_working_tree() {
    if !require_tool("gitleaks") {
        return;
    }
    let project = TempProject::empty();
    project.write("pyproject.toml", PYPROJECT);
    project.git_init();
    project.write("keys/deploy_key", &private_key());

    // History only (the default): the key is not committed.
    let result = run_gitleaks(project.path(), &[]);
    assert_eq!(gitleaks_check(&result).outcome, Outcome::Passed, "{}", result.output());

    // The working tree, alone and with the history.
    for mode in ["tree", "both"] {
        with_config(&project, &format!("mode = \"{mode}\""));
        let result = run_gitleaks(project.path(), &[]);
        assert_eq!(result.code, Some(1), "{mode}: {}", result.output());
        let check = gitleaks_check(&result);
        assert_eq!(check.summary, "1 leak in the working tree", "{mode}");
        assert_eq!(rows(&check), [("private-key".into(), "keys/deploy_key".into(), 1, None)], "{mode}");
        let location = check.findings[0].location.clone().unwrap();
        assert_eq!((location.end_line, location.column), (Some(4), Some(1)));
        assert_eq!(check.findings[0].fingerprint, "keys/deploy_key:private-key:1");
        assert_eq!(rows(&check), gitleaks_by_hand(project.path(), true));
    }
    assert!(project.git(&["status", "--porcelain"]).contains("?? keys/"), "the key is still untracked");
}

#[test]
fn ignored_files_and_greenlight_state_are_not_scanned_in_the_tree() {
    if !require_tool("gitleaks") {
        return;
    }
    let project = TempProject::empty();
    with_config(&project, "mode = \"tree\"");
    project.write(".gitignore", ".env\n");
    project.write(".env", &format!("AWS_ACCESS_KEY_ID={}\n", aws_key()));
    project.git_init();
    let result = run_gitleaks(project.path(), &[]);
    let check = gitleaks_check(&result);
    assert_eq!(check.outcome, Outcome::Passed, "an ignored .env is not committed: {}", result.output());
    // Twice: the first run's logs and report under .greenlight/ are not scanned either.
    let result = run_gitleaks(project.path(), &[]);
    assert_eq!(gitleaks_check(&result).outcome, Outcome::Passed, "{}", result.output());
}

#[test]
fn a_repository_without_commits_scans_the_working_tree() {
    if !require_tool("gitleaks") {
        return;
    }
    let project = TempProject::empty();
    project.write("pyproject.toml", PYPROJECT);
    project.write("settings.py", &settings_with_key());
    project.git(&["init", "-q", "-b", "main"]);
    let result = run_gitleaks(project.path(), &[]);
    assert_eq!(result.code, Some(1), "{}", result.output());
    let check = gitleaks_check(&result);
    assert_eq!(check.summary, "1 leak in the working tree (no commits yet: scanned the working tree instead)");
    assert_eq!(rows(&check), [("aws-access-token".into(), "settings.py".into(), 3, None)]);

    project.write("settings.py", SETTINGS_CLEAN);
    let result = run_gitleaks(project.path(), &[]);
    assert_eq!(result.code, Some(0), "{}", result.output());
    assert_eq!(
        gitleaks_check(&result).summary,
        "no leaks in 2 files (no commits yet: scanned the working tree instead)"
    );
}

#[test]
fn outside_git_it_applies_only_when_configured() {
    if !require_tool("gitleaks") {
        return;
    }
    let project = TempProject::empty();
    project.write("pyproject.toml", PYPROJECT);
    project.write("settings.py", &settings_with_key());
    project.write(".venv/pyvenv.cfg", "home = /usr/bin\n");
    project.write(".venv/lib/leak.py", &format!("K = \"{}\"\n", other_aws_key()));
    let list = project.run(&["list"]);
    assert!(list.stdout.contains("not in a git repository; set `mode = \"tree\"`"), "{}", list.output());
    let result = run_gitleaks(project.path(), &[]);
    assert_eq!(gitleaks_check(&result).outcome, Outcome::Skipped, "{}", result.output());

    with_config(&project, "mode = \"tree\"");
    let result = run_gitleaks(project.path(), &[]);
    assert_eq!(result.code, Some(1), "{}", result.output());
    assert_eq!(rows(&gitleaks_check(&result)), [("aws-access-token".into(), "settings.py".into(), 3, None)]);

    with_config(&project, "mode = \"history\"");
    let result = run_gitleaks(project.path(), &[]);
    assert_eq!(result.code, Some(2), "{}", result.output());
    let reason = gitleaks_check(&result).reason.unwrap();
    assert!(reason.contains("is not in a git repository") && reason.contains("mode = \"tree\""), "{reason}");
}

/// The same tests with gitleaks 8.30 (`gitleaks git` and `gitleaks dir`).
mod v8_30 {
    use crate::gitleaks::versions::with_gitleaks_8_30;

    #[test]
    fn a_private_key_in_the_working_tree() {
        with_gitleaks_8_30(super::a_private_key_in_the_working_tree);
    }
    #[test]
    fn ignored_files_and_greenlight_state_are_not_scanned_in_the_tree() {
        with_gitleaks_8_30(super::ignored_files_and_greenlight_state_are_not_scanned_in_the_tree);
    }
    #[test]
    fn a_repository_without_commits_scans_the_working_tree() {
        with_gitleaks_8_30(super::a_repository_without_commits_scans_the_working_tree);
    }
}
