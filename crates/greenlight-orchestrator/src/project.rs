//! Finding the project and reading what it is: pyproject.toml and git state.

use std::path::{Path, PathBuf};

use greenlight_checker::{GitInfo, Project, PyProject};
use greenlight_process::{Cmd, Stop};

/// The nearest ancestor of `start` (itself included) holding `pyproject.toml` or
/// `greenlight.toml`.
pub fn discover_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join("pyproject.toml").is_file() || dir.join("greenlight.toml").is_file())
        .map(Path::to_path_buf)
}

/// Reads the project at `root` (which must exist): pyproject.toml and git state.
pub async fn load_project(root: &Path) -> Project {
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let (pyproject, pyproject_error) = match std::fs::read_to_string(root.join("pyproject.toml")) {
        Ok(text) => match PyProject::parse(&text) {
            Ok(pyproject) => (Some(pyproject), None),
            Err(error) => (None, Some(error.to_string())),
        },
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => (None, None),
        Err(error) => (None, Some(format!("cannot read pyproject.toml: {error}"))),
    };
    let git = git_info(&root).await;
    Project { root, pyproject, pyproject_error, git }
}

/// Runs `git` in `dir` with safe.directory allowed for this repository only, so a checkout
/// owned by another user (containers, CI) still answers.
pub fn git(dir: &Path) -> Cmd {
    Cmd::new("git")
        .current_dir(dir)
        .env("GIT_CONFIG_COUNT", "1")
        .env("GIT_CONFIG_KEY_0", "safe.directory")
        .env("GIT_CONFIG_VALUE_0", "*")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C")
}

async fn git_info(root: &Path) -> Option<GitInfo> {
    let stop = Stop::new();
    let toplevel = git(root).args(["rev-parse", "--show-toplevel"]);
    let head = git(root).args(["rev-parse", "--verify", "-q", "HEAD"]);
    let status = git(root).args(["status", "--porcelain", "--untracked-files=normal", "--", "."]);
    let (toplevel, head, status) = tokio::join!(toplevel.run(&stop), head.run(&stop), status.run(&stop));
    let toplevel = toplevel.ok().filter(|output| output.status.success())?;
    let head = head.ok().filter(|output| output.status.success()).map(|output| output.stdout.text().trim().to_string());
    let dirty = status
        .ok()
        .filter(|output| output.status.success())
        .is_some_and(|output| output.stdout.text().lines().any(|line| !line.ends_with(".greenlight/")));
    Some(GitInfo {
        toplevel: PathBuf::from(toplevel.stdout.text().trim()),
        head: head.filter(|sha| !sha.is_empty()),
        dirty,
    })
}
