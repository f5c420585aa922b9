//! Finding the project and reading what it is: pyproject.toml and git state.

use std::path::{Path, PathBuf};

use greenlight_checker::git::Git;
use greenlight_checker::{GitInfo, Project, PyProject};
use greenlight_env::{Env, EnvVars};
use greenlight_process::Stop;

/// The nearest ancestor of `start` (itself included) holding `pyproject.toml` or
/// `greenlight.toml`.
pub fn discover_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join("pyproject.toml").is_file() || dir.join("greenlight.toml").is_file())
        .map(Path::to_path_buf)
}

/// Reads the project at `root` (which must exist): pyproject.toml and git state (git runs with
/// the user's configuration from `env`).
pub async fn load_project(root: &Path, env: &Env) -> Project {
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let (pyproject, pyproject_error) = match std::fs::read_to_string(root.join("pyproject.toml")) {
        Ok(text) => match PyProject::parse(&text) {
            Ok(pyproject) => (Some(pyproject), None),
            Err(error) => (None, Some(error.to_string())),
        },
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => (None, None),
        Err(error) => (None, Some(format!("cannot read pyproject.toml: {error}"))),
    };
    let git = git_info(&root, env).await;
    Project { root, pyproject, pyproject_error, git }
}

/// The repository around `root` and its state. The top level is found with every directory
/// trusted ([`Git::discovery`]), then git runs with that repository trusted
/// ([`Git::repository`]), so a checkout owned by another user answers; the user's own
/// `GIT_CONFIG_COUNT` entries apply to both.
async fn git_info(root: &Path, env: &Env) -> Option<GitInfo> {
    let stop = Stop::new();
    let count = env.get(EnvVars::GIT_CONFIG_COUNT);
    let toplevel = Git::discovery(count).cmd(root).args(["rev-parse", "--show-toplevel"]).run(&stop).await;
    let toplevel = toplevel.ok().filter(|output| output.status.success())?;
    let toplevel = PathBuf::from(toplevel.stdout.text().trim());
    let git = Git::repository(&toplevel, count);
    let head = git.cmd(root).args(["rev-parse", "--verify", "-q", "HEAD"]);
    let status = git.cmd(root).args(["status", "--porcelain", "--untracked-files=normal", "--", "."]);
    let (head, status) = tokio::join!(head.run(&stop), status.run(&stop));
    let head = head.ok().filter(|output| output.status.success()).map(|output| output.stdout.text().trim().to_string());
    let dirty = status
        .ok()
        .filter(|output| output.status.success())
        .is_some_and(|output| output.stdout.text().lines().any(|line| !line.ends_with(".greenlight/")));
    Some(GitInfo { toplevel, head: head.filter(|sha| !sha.is_empty()), dirty })
}
