//! Repositories that are not a plain clone: owned by another user, shallow, a linked worktree, a
//! project in a subdirectory.

use super::*;

#[test]
fn a_repository_owned_by_another_user_is_scanned() {
    if !require_tool("gitleaks") {
        return;
    }
    let (project, sha) = key_committed_then_removed();
    if !project.give_to_another_user() {
        return;
    }
    let result = run_gitleaks(project.path(), &[]);
    assert_eq!(result.code, Some(1), "{}", result.output());
    assert_eq!(rows(&gitleaks_check(&result)), [("aws-access-token".into(), "settings.py".into(), 3, Some(sha))]);
}

#[test]
fn a_shallow_clone_is_incomplete_unless_allowed() {
    if !require_tool("gitleaks") {
        return;
    }
    let (origin, _) = key_committed_then_removed();
    let clone = TempProject::empty();
    let url = format!("file://{}", origin.path().display());
    git(clone.path(), &["clone", "-q", "--depth", "1", &url, "."]);

    let result = run_gitleaks(clone.path(), &[]);
    assert_eq!(result.code, Some(2), "{}", result.output());
    let check = gitleaks_check(&result);
    assert_eq!(check.outcome, Outcome::Errored);
    let reason = check.reason.unwrap();
    assert!(reason.starts_with("the repository is a shallow clone: only 1 commit of its history"), "{reason}");
    assert!(reason.contains("git fetch --unshallow") && reason.contains("allow-shallow = true"), "{reason}");

    with_config(&clone, "allow-shallow = true");
    let result = run_gitleaks(clone.path(), &[]);
    assert_eq!(result.code, Some(0), "{}", result.output());
    assert_eq!(gitleaks_check(&result).summary, "no leaks in 1 commit (shallow clone: older history not scanned)");

    // A leak in what the clone holds is a failure either way.
    let (origin, _) = key_committed_then_removed();
    origin.write("settings.py", &settings_with_key());
    origin.git(&["commit", "-q", "-am", "put it back"]);
    let clone = TempProject::empty();
    git(clone.path(), &["clone", "-q", "--depth", "1", &format!("file://{}", origin.path().display()), "."]);
    let result = run_gitleaks(clone.path(), &[]);
    assert_eq!(result.code, Some(1), "{}", result.output());
    let check = gitleaks_check(&result);
    assert!(check.summary.contains("shallow clone"), "{}", check.summary);
}

#[test]
fn a_worktree_is_scanned_like_its_repository() {
    if !require_tool("gitleaks") {
        return;
    }
    let (project, sha) = key_committed_then_removed();
    let worktree_dir = tempfile::tempdir().unwrap();
    let path = worktree_dir.path().join("feature");
    project.git(&["worktree", "add", "-q", &path.display().to_string(), "-b", "feature-2"]);
    let result = run_gitleaks(&path, &[]);
    assert_eq!(result.code, Some(1), "{}", result.output());
    assert_eq!(rows(&gitleaks_check(&result)), [("aws-access-token".into(), "settings.py".into(), 3, Some(sha))]);
}

#[test]
fn a_project_in_a_subdirectory_keeps_its_own_leaks_with_project_paths() {
    if !require_tool("gitleaks") {
        return;
    }
    let repo = TempProject::empty();
    repo.write("services/api/pyproject.toml", PYPROJECT);
    repo.write("services/api/settings.py", &settings_with_key());
    repo.write("services/web/settings.py", &format!("KEY = \"{}\"\n", other_aws_key()));
    repo.write("services/api/keys/deploy_key", &private_key());
    repo.write(".gitignore", "deploy_key\n");
    repo.git_init();
    let sha = repo.git(&["rev-parse", "HEAD"]).trim().to_string();
    // The repository root's .gitleaksignore (CI reads it there) ignores nothing here; the
    // project's own one ignores nothing either, but both are read.
    repo.write(".gitleaksignore", "0000000000000000000000000000000000000000:x.py:rule:1\n");
    let api = repo.path().join("services/api");
    let result = run_gitleaks(&api, &[]);
    assert_eq!(result.code, Some(1), "{}", result.output());
    let check = gitleaks_check(&result);
    assert_eq!(rows(&check), [("aws-access-token".into(), "settings.py".into(), 3, Some(sha.clone()))]);
    // The fingerprint is gitleaks' own, from the repository root: what `.gitleaksignore` takes.
    assert_eq!(check.findings[0].fingerprint, format!("{sha}:services/api/settings.py:aws-access-token:3"));
    assert_eq!(
        check.summary,
        "1 leak in the git history (1 leak elsewhere in the repository, outside `services/api/`)"
    );

    // The project's .gitleaksignore takes the fingerprint gitleaks prints.
    std::fs::write(api.join(".gitleaksignore"), format!("{sha}:services/api/settings.py:aws-access-token:3\n"))
        .unwrap();
    let result = run_gitleaks(&api, &[]);
    assert_eq!(result.code, Some(0), "{}", result.output());

    // The working tree of the project only, with paths relative to it; the ignored key stays
    // out.
    std::fs::write(api.join("pyproject.toml"), format!("{PYPROJECT}\n[tool.greenlight.gitleaks]\nmode = \"tree\"\n"))
        .unwrap();
    std::fs::remove_file(api.join(".gitleaksignore")).unwrap();
    let result = run_gitleaks(&api, &[]);
    let check = gitleaks_check(&result);
    assert_eq!(rows(&check), [("aws-access-token".into(), "settings.py".into(), 3, None)], "{}", result.output());
    assert_eq!(check.findings[0].fingerprint, "services/api/settings.py:aws-access-token:3");
}

/// The same tests with gitleaks 8.30 (`gitleaks git` and `gitleaks dir`).
mod v8_30 {
    use crate::gitleaks::versions::with_gitleaks_8_30;

    #[test]
    fn a_repository_owned_by_another_user_is_scanned() {
        with_gitleaks_8_30(super::a_repository_owned_by_another_user_is_scanned);
    }
    #[test]
    fn a_shallow_clone_is_incomplete_unless_allowed() {
        with_gitleaks_8_30(super::a_shallow_clone_is_incomplete_unless_allowed);
    }
    #[test]
    fn a_worktree_is_scanned_like_its_repository() {
        with_gitleaks_8_30(super::a_worktree_is_scanned_like_its_repository);
    }
    #[test]
    fn a_project_in_a_subdirectory_keeps_its_own_leaks_with_project_paths() {
        with_gitleaks_8_30(super::a_project_in_a_subdirectory_keeps_its_own_leaks_with_project_paths);
    }
}
