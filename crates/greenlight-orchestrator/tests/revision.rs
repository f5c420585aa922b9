//! Temporary worktrees and the commit list of a bisection, on real git repositories.

use std::path::Path;

use greenlight_env::Env;
use greenlight_orchestrator::revision::{Placement, Repo, Worktree};
use greenlight_process::{Cmd, Stop};

async fn git(dir: &Path, args: &[&str]) -> String {
    let output = Cmd::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Test Author")
        .env("GIT_AUTHOR_EMAIL", "author@example.com")
        .env("GIT_COMMITTER_NAME", "Test Author")
        .env("GIT_COMMITTER_EMAIL", "author@example.com")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .run(&Stop::new())
        .await
        .expect("git runs");
    assert!(output.status.success(), "git {args:?}: {}", output.both_tails(10));
    output.stdout.text().trim().to_string()
}

async fn commit(dir: &Path, file: &str, subject: &str) -> String {
    std::fs::write(dir.join(file), subject).unwrap();
    git(dir, &["add", "-A"]).await;
    git(dir, &["commit", "-q", "-m", subject]).await;
    git(dir, &["rev-parse", "HEAD"]).await
}

/// A repository whose project lives in `svc/`, with a dirty working tree.
async fn repository() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::Builder::new().prefix("greenlight-revision-").tempdir().unwrap();
    let root = dir.path().join("repo");
    std::fs::create_dir_all(root.join("svc")).unwrap();
    git(&root, &["init", "-q", "-b", "main"]).await;
    commit(&root, "svc/pyproject.toml", "one").await;
    std::fs::write(root.join("svc/untracked.txt"), "mine").unwrap();
    (dir, root)
}

async fn state(root: &Path) -> String {
    let repo = Repo::open(root, &Env::default(), &Stop::new()).await.unwrap();
    repo.state(&Stop::new()).await.unwrap()
}

#[tokio::test]
async fn worktrees_are_removed_and_dropped_ones_leave_nothing() {
    let (_dir, root) = repository().await;
    let stop = Stop::new();
    let before = state(&root).await;
    let repo = Repo::open(&root.join("svc"), &Env::default(), &stop).await.unwrap();
    assert_eq!(repo.prefix, Path::new("svc"));
    let head = repo.resolve("HEAD", &stop).await.unwrap();

    let worktree = Worktree::add(&repo, &head, "test", Placement::Fixed, &stop).await.unwrap();
    let checkout = worktree.project_root();
    assert!(checkout.join("pyproject.toml").is_file());
    assert!(!checkout.join("untracked.txt").exists(), "a clean checkout");
    assert!(!checkout.starts_with(&root), "outside the user's tree");
    let fixed_dir = worktree.dir().to_path_buf();
    assert_ne!(state(&root).await, before, "listed while it exists");

    // Another run at the same time gets its own directory.
    let second = Worktree::add(&repo, &head, "test", Placement::Fixed, &stop).await.unwrap();
    assert_ne!(second.dir(), fixed_dir);
    second.remove().await.unwrap();
    worktree.remove().await.unwrap();
    assert!(!fixed_dir.exists());
    assert_eq!(state(&root).await, before);

    // The next run gets the fixed directory again (environments recorded for it stay valid).
    let again = Worktree::add(&repo, &head, "test", Placement::Fixed, &stop).await.unwrap();
    assert_eq!(again.dir(), fixed_dir);
    // Dropped without `remove` (an error path, a panic): no git, still nothing left.
    drop(again);
    assert!(!fixed_dir.exists());
    assert_eq!(state(&root).await, before);
    let listed = git(&root, &["worktree", "list", "--porcelain"]).await;
    assert!(!listed.contains("prunable"), "{listed}");
}

#[tokio::test]
async fn a_leftover_of_a_killed_run_is_cleared() {
    let (_dir, root) = repository().await;
    let stop = Stop::new();
    let before = state(&root).await;
    let repo = Repo::open(&root, &Env::default(), &stop).await.unwrap();
    let head = repo.resolve("main", &stop).await.unwrap();
    let fixed = Worktree::add(&repo, &head, "test", Placement::Fixed, &stop).await.unwrap();
    let dir = fixed.dir().to_path_buf();
    fixed.remove().await.unwrap();

    // A killed run left its worktree registered at the fixed path...
    git(&root, &["worktree", "add", "-q", "--detach", dir.to_str().unwrap(), "HEAD"]).await;
    let worktree = Worktree::add(&repo, &head, "test", Placement::Fixed, &stop).await.unwrap();
    assert_eq!(worktree.dir(), dir);
    worktree.remove().await.unwrap();
    assert_eq!(state(&root).await, before);

    // ...or its entry only, the directory being gone (a cleaned temporary directory).
    git(&root, &["worktree", "add", "-q", "--detach", dir.to_str().unwrap(), "HEAD"]).await;
    std::fs::remove_dir_all(&dir).unwrap();
    let worktree = Worktree::add(&repo, &head, "test", Placement::Fixed, &stop).await.unwrap();
    assert_eq!(worktree.dir(), dir);
    worktree.remove().await.unwrap();
    assert_eq!(state(&root).await, before);
}

#[tokio::test]
async fn checkout_moves_between_commits_and_cleans() {
    let (_dir, root) = repository().await;
    let stop = Stop::new();
    let first = git(&root, &["rev-parse", "HEAD"]).await;
    let second = commit(&root, "svc/b.txt", "two").await;
    let repo = Repo::open(&root, &Env::default(), &stop).await.unwrap();
    let worktree = Worktree::add(&repo, &second, "test", Placement::Fresh, &stop).await.unwrap();
    std::fs::write(worktree.dir().join("svc/build-output.txt"), "x").unwrap();
    worktree.checkout(&first, &stop).await.unwrap();
    assert!(!worktree.dir().join("svc/b.txt").exists());
    assert!(!worktree.dir().join("svc/build-output.txt").exists(), "untracked files are cleaned");
    worktree.remove().await.unwrap();
}

#[tokio::test]
async fn first_parent_path_keeps_descendants_of_good() {
    let (_dir, root) = repository().await;
    let stop = Stop::new();
    let good = git(&root, &["rev-parse", "HEAD"]).await;
    let a = commit(&root, "a", "a").await;
    git(&root, &["switch", "-q", "-c", "feature", &good]).await;
    let side = commit(&root, "f", "feature").await;
    git(&root, &["switch", "-q", "main"]).await;
    git(&root, &["merge", "-q", "--no-ff", "feature", "-m", "merge"]).await;
    let merge = git(&root, &["rev-parse", "HEAD"]).await;
    let b = commit(&root, "b", "b").await;
    let repo = Repo::open(&root, &Env::default(), &stop).await.unwrap();
    assert_eq!(repo.first_parent_path(&good, &b, &stop).await.unwrap(), [a.clone(), merge.clone(), b.clone()]);
    // A good commit on a merged branch: the first-parent commits that contain it.
    assert_eq!(repo.first_parent_path(&side, &b, &stop).await.unwrap(), [merge.clone(), b.clone()]);
    assert!(repo.is_ancestor(&good, &b, &stop).await.unwrap());
    assert!(!repo.is_ancestor(&b, &good, &stop).await.unwrap());
    let info = repo.commit_info(&merge, &stop).await.unwrap();
    assert!(info.is_merge());
    assert_eq!(info.subject, "merge");
    assert_eq!(info.author, "Test Author <author@example.com>");
    let error = repo.resolve("nope", &stop).await.unwrap_err();
    assert!(error.contains("unknown revision `nope`"), "{error}");
}
