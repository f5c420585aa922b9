//! The git history: leaks in commits, what `log-opts` limits, the history of one revision, and
//! the result cache of a scan.

use super::*;

#[test]
fn a_key_removed_from_the_tree_is_still_found_in_the_history() {
    if !require_tool("gitleaks") {
        return;
    }
    let (project, sha) = key_committed_then_removed();
    let before = project.snapshot();
    let result = run_gitleaks(project.path(), &[]);
    assert_eq!(result.code, Some(1), "{}", result.output());
    let check = gitleaks_check(&result);
    assert_eq!(check.outcome, Outcome::Failed);
    assert_eq!(check.summary, "1 leak in the git history");
    assert_eq!(rows(&check), [("aws-access-token".into(), "settings.py".into(), 3, Some(sha.clone()))]);
    assert_eq!(rows(&check), gitleaks_by_hand(project.path(), false), "greenlight and gitleaks by hand agree");
    let finding = &check.findings[0];
    assert_eq!(finding.fingerprint, format!("{sha}:settings.py:aws-access-token:3"));
    assert_eq!(finding.kind, greenlight_report::FindingKind::Secret);
    let location = finding.location.as_ref().unwrap();
    // `AWS_ACCESS_KEY_ID = "` is 21 bytes: the 20-byte key spans columns 22 to 41.
    assert_eq!((location.column, location.end_column), (Some(22), Some(42)));
    let commit = finding.commit.as_ref().unwrap();
    assert_eq!(commit.short, sha[..12]);
    assert!(commit.date.is_some());
    assert!(result.stdout.contains("settings.py:3:22"), "{}", result.output());
    assert!(result.stdout.contains(&sha[..12]), "{}", result.output());
    assert_eq!(project.snapshot(), before, "the scan changed the project's files");
}

#[test]
fn a_clean_repository_passes() {
    if !require_tool("gitleaks") {
        return;
    }
    let project = clean_repository();
    project.write("app.py", "x = 1\n");
    project.git(&["add", "-A"]);
    project.git(&["commit", "-q", "-m", "second"]);
    let result = run_gitleaks(project.path(), &[]);
    assert_eq!(result.code, Some(0), "{}", result.output());
    let check = gitleaks_check(&result);
    assert_eq!(check.outcome, Outcome::Passed);
    assert_eq!(check.summary, "no leaks in 2 commits");
}

#[test]
fn log_opts_limit_the_history() {
    if !require_tool("gitleaks") {
        return;
    }
    let (project, _) = key_committed_then_removed();
    with_config(&project, "log-opts = \"-1\"");
    project.git(&["commit", "-q", "-am", "configure greenlight"]);
    let result = run_gitleaks(project.path(), &[]);
    let check = gitleaks_check(&result);
    assert_eq!(check.outcome, Outcome::Passed, "{}", result.output());
    assert_eq!(check.summary, "no leaks in 1 commit");

    with_config(&project, "log-opts = \"no-such-branch..HEAD\"");
    let result = run_gitleaks(project.path(), &[]);
    assert_eq!(result.code, Some(2), "{}", result.output());
    let reason = gitleaks_check(&result).reason.unwrap();
    assert!(reason.contains("git does not know a revision in `log-opts") && reason.contains("git fetch"), "{reason}");

    // A range git knows that holds no commit: nothing was checked, so nothing passed.
    with_config(&project, "log-opts = \"HEAD..HEAD\"");
    let result = run_gitleaks(project.path(), &[]);
    assert_eq!(result.code, Some(2), "{}", result.output());
    let check = gitleaks_check(&result);
    assert_eq!(check.outcome, Outcome::Errored, "{}", result.output());
    let reason = check.reason.as_deref().unwrap_or_default();
    assert!(reason.contains("scanned 0 commits") && reason.contains("`log-opts = \"HEAD..HEAD\"`"), "{reason}");
}

#[test]
fn a_secret_added_and_removed_since_the_last_run_is_found() {
    if !require_tool("gitleaks") {
        return;
    }
    let project = clean_repository();
    let result = run_gitleaks(project.path(), &[]);
    assert_eq!(result.code, Some(0), "{}", result.output());
    // Two new commits leave the files exactly as they were: only the history changed.
    project.write("settings.py", &settings_with_key());
    project.git(&["commit", "-q", "-am", "oops"]);
    project.write("settings.py", SETTINGS_CLEAN);
    project.git(&["commit", "-q", "-am", "revert oops"]);
    let result = run_gitleaks(project.path(), &[]);
    assert_eq!(result.code, Some(1), "a cached result must not hide it: {}", result.output());
    assert!(!gitleaks_check(&result).cached);
}

/// A run on one revision (`--rev`, `bisect`) scans that commit's ancestry, as CI at that
/// commit does, not every ref: so bisect names the commit that leaked, and an older commit is
/// clean although a later one leaked.
#[test]
fn on_one_revision_the_history_is_that_commits_ancestry() {
    if !require_tool("gitleaks") {
        return;
    }
    let project = TempProject::empty();
    project.write("pyproject.toml", PYPROJECT);
    project.write("app/main.py", "print('hello')\n");
    project.git_init();
    let clean = project.git(&["rev-parse", "HEAD"]).trim().to_string();
    for n in 1..=3 {
        project.write("docs/notes.md", &"- note\n".repeat(n));
        project.git(&["add", "-A"]);
        project.git(&["commit", "-q", "-m", &format!("notes {n}")]);
    }
    project.write("settings.py", &settings_with_key());
    project.git(&["add", "-A"]);
    project.git(&["commit", "-q", "-m", "add settings"]);
    let leak = project.git(&["rev-parse", "HEAD"]).trim().to_string();
    project.write("settings.py", SETTINGS_CLEAN);
    project.git(&["commit", "-q", "-am", "read the key from the environment"]);

    let older = run_gitleaks(project.path(), &["--rev", &clean]);
    let check = gitleaks_check(&older);
    assert_eq!(check.outcome, Outcome::Passed, "the leak came after {clean}\n{}", older.output());

    let bisect = project.path().join(".greenlight/bisect.json");
    let result = run_with_gitleaks(
        project.path(),
        &["bisect", "--good", &clean, "--bad", "main", "--check", "gitleaks", "--json", ".greenlight/bisect.json"],
    );
    assert_no_secrets(project.path(), &result);
    assert_eq!(result.code, Some(0), "{}", result.output());
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&bisect).unwrap()).unwrap();
    assert_eq!(json["first_bad"]["sha"], leak.as_str(), "{}", result.output());
    assert!(result.stdout.contains("add settings"), "{}", result.output());
}

/// The result cache keys a history scan on the refs: a commit that adds a secret and one that
/// removes it leave the files as they were, yet the next run scans again and finds it.
#[test]
fn the_cache_replays_a_scan_until_the_history_changes() {
    if !require_tool("gitleaks") {
        return;
    }
    let project = clean_repository();
    let first = gitleaks_check(&run_gitleaks(project.path(), &[]));
    assert_eq!((first.outcome, first.cached), (Outcome::Passed, false));
    let second = run_gitleaks(project.path(), &[]);
    let check = gitleaks_check(&second);
    assert_eq!((check.outcome, check.cached), (Outcome::Passed, true), "{}", second.output());

    project.write("settings.py", &settings_with_key());
    project.git(&["commit", "-q", "-am", "add the key"]);
    let leak = project.git(&["rev-parse", "HEAD"]).trim().to_string();
    project.write("settings.py", SETTINGS_CLEAN);
    project.git(&["commit", "-q", "-am", "remove the key"]);
    let third = run_gitleaks(project.path(), &["-v"]);
    let check = gitleaks_check(&third);
    assert_eq!((check.outcome, check.cached), (Outcome::Failed, false), "{}", third.output());
    assert!(third.stderr.contains("git refs"), "-v explains the miss\n{}", third.output());
    assert_eq!(rows(&check), [("aws-access-token".to_string(), "settings.py".to_string(), 3, Some(leak))]);
    // A scan that found secrets is never stored (replayed, its secrets would be unknown to the
    // run, which masks them in every other check's output): it runs again.
    let fourth = gitleaks_check(&run_gitleaks(project.path(), &[]));
    assert_eq!((fourth.outcome, fourth.cached, fourth.findings.len()), (Outcome::Failed, false, 1));

    // A new branch is history too (gitleaks scans every ref).
    project.git(&["branch", "topic"]);
    let fifth = gitleaks_check(&run_gitleaks(project.path(), &[]));
    assert!(!fifth.cached, "a new ref replayed");
}

/// The same tests with gitleaks 8.30 (`gitleaks git` and `gitleaks dir`).
mod v8_30 {
    use crate::gitleaks::versions::with_gitleaks_8_30;

    #[test]
    fn a_key_removed_from_the_tree_is_still_found_in_the_history() {
        with_gitleaks_8_30(super::a_key_removed_from_the_tree_is_still_found_in_the_history);
    }
    #[test]
    fn a_clean_repository_passes() {
        with_gitleaks_8_30(super::a_clean_repository_passes);
    }
    #[test]
    fn log_opts_limit_the_history() {
        with_gitleaks_8_30(super::log_opts_limit_the_history);
    }
    #[test]
    fn a_secret_added_and_removed_since_the_last_run_is_found() {
        with_gitleaks_8_30(super::a_secret_added_and_removed_since_the_last_run_is_found);
    }
    #[test]
    fn on_one_revision_the_history_is_that_commits_ancestry() {
        with_gitleaks_8_30(super::on_one_revision_the_history_is_that_commits_ancestry);
    }
    #[test]
    fn the_cache_replays_a_scan_until_the_history_changes() {
        with_gitleaks_8_30(super::the_cache_replays_a_scan_until_the_history_changes);
    }
}
