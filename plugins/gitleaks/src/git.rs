//! The git side of the checker: where the project sits in its repository, what the history
//! holds, and the hunks of the commits leaks were found in. Every git command comes from
//! [`CheckContext::git_cmd`] (the repository trusted even when another user owns it) and has
//! no log file: `git show` prints the secrets.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use greenlight_checker::process::Cmd;
use greenlight_checker::{CheckContext, CheckError, Project};

use crate::parse::Leak;

/// How long one git helper command may take.
const GIT_TIMEOUT: Duration = Duration::from_secs(300);
/// Most commits whose diffs are read to correct columns.
const MAX_COLUMN_COMMITS: usize = 100;
/// Most bytes of one commit's diff read for its hunk headers; a larger commit's leaks get no
/// columns.
const DIFF_LIMIT: usize = 32 * 1024 * 1024;

/// The first line of each added hunk, by commit and file.
pub(crate) type HunkStarts = BTreeMap<String, BTreeMap<String, BTreeSet<u32>>>;

/// Where things are: the directory gitleaks scans and where the project sits in it.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    /// The repository's top level, or the project root outside git.
    pub(crate) scan_root: PathBuf,
    /// The project root relative to `scan_root`, with a trailing `/` (empty when equal).
    pub(crate) prefix: String,
    /// True inside a git work tree.
    pub(crate) git: bool,
}

/// A project root that is not inside its repository's top level as the file system sees it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "cannot place the project root `{}` inside its git repository `{}`; run greenlight from a path inside the repository without symbolic links",
    root.display(),
    toplevel.display()
)]
pub(crate) struct LayoutError {
    root: PathBuf,
    toplevel: PathBuf,
}

impl From<LayoutError> for CheckError {
    fn from(error: LayoutError) -> Self {
        CheckError::errored(error.to_string())
    }
}

impl Layout {
    pub(crate) fn new(project: &Project) -> Result<Self, LayoutError> {
        let Some(git) = &project.git else {
            return Ok(Self { scan_root: project.root.clone(), prefix: String::new(), git: false });
        };
        let toplevel = std::fs::canonicalize(&git.toplevel).unwrap_or_else(|_| git.toplevel.clone());
        let root = std::fs::canonicalize(&project.root).unwrap_or_else(|_| project.root.clone());
        let Ok(relative) = root.strip_prefix(&toplevel) else {
            return Err(LayoutError { root, toplevel });
        };
        let mut prefix = relative.to_string_lossy().replace('\\', "/");
        if !prefix.is_empty() {
            prefix.push('/');
        }
        Ok(Self { scan_root: toplevel, prefix, git: true })
    }

    /// A gitleaks path (relative to the scan root) relative to the project root; `None` when
    /// outside the project.
    pub(crate) fn project_path(&self, file: &str) -> Option<String> {
        let file = file.strip_prefix("./").unwrap_or(file);
        let file = match Path::new(file).strip_prefix(&self.scan_root) {
            Ok(relative) if Path::new(file).is_absolute() => relative.to_string_lossy().into_owned(),
            _ => file.to_string(),
        };
        file.strip_prefix(self.prefix.as_str()).map(str::to_string)
    }

    /// A git command at the scan root.
    fn git(&self, cx: &CheckContext) -> Cmd {
        cx.git_cmd(&self.scan_root).timeout(GIT_TIMEOUT)
    }
}

/// True when the repository has at least one commit on any ref.
pub(crate) async fn has_commits(cx: &CheckContext, layout: &Layout) -> bool {
    if cx.project.git.as_ref().is_some_and(|git| git.head.is_some()) {
        return true;
    }
    let command = layout.git(cx).args(["rev-list", "--all", "--max-count=1"]);
    command.run(&cx.stop).await.is_ok_and(|output| output.status.success() && !output.stdout.text().trim().is_empty())
}

/// True in a shallow clone (its history stops at a grafted commit).
pub(crate) async fn is_shallow(cx: &CheckContext, layout: &Layout) -> bool {
    let command = layout.git(cx).args(["rev-parse", "--is-shallow-repository"]);
    command.run(&cx.stop).await.is_ok_and(|output| output.stdout.text().trim() == "true")
}

/// The history a scan reads, as text for the result cache: every ref and its tip, `HEAD`, and
/// the shallow grafts. `None` when it cannot be read.
pub(crate) async fn history_state(cx: &CheckContext, layout: &Layout) -> Option<String> {
    let head = layout.git(cx).args(["rev-parse", "--git-common-dir", "--is-shallow-repository", "HEAD"]);
    let refs = layout.git(cx).args(["for-each-ref", "--format=%(objectname) %(refname)"]);
    let (head, refs) = tokio::join!(head.run(&cx.stop), refs.run(&cx.stop));
    // `HEAD` fails to resolve in a repository without commits; the rest still printed.
    let head = head.ok()?.stdout.text();
    let refs = refs.ok().filter(|output| output.status.success())?.stdout.text();
    let common_dir = layout.scan_root.join(head.lines().next()?.trim());
    let shallow = std::fs::read_to_string(common_dir.join("shallow")).unwrap_or_default();
    Some(format!("{head}\n{refs}\n{shallow}\n"))
}

/// For the commits the leaks are in, the first line of each added hunk per file.
pub(crate) async fn hunk_starts(cx: &CheckContext, layout: &Layout, leaks: &[Leak]) -> HunkStarts {
    let commits: BTreeSet<&str> =
        leaks.iter().map(|leak| leak.commit.as_str()).filter(|commit| !commit.is_empty()).collect();
    let mut starts = BTreeMap::new();
    for commit in commits.into_iter().take(MAX_COLUMN_COMMITS) {
        if !commit.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            continue;
        }
        // The diff holds the secrets: this command has no log file and its output is only
        // parsed for hunk headers.
        let command = layout
            .git(cx)
            .args(["show", "--format=", "--patch", "-U0", "--no-color", "--no-ext-diff"])
            .arg(commit)
            .stdout_limit(DIFF_LIMIT);
        if let Ok(output) = command.run(&cx.stop).await
            && output.status.success()
            && output.stdout.is_complete()
        {
            starts.insert(commit.to_string(), crate::columns::hunk_starts(&output.stdout.text()));
        }
    }
    starts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(prefix: &str) -> Layout {
        Layout { scan_root: "/repo".into(), prefix: prefix.into(), git: true }
    }

    #[test]
    fn project_paths() {
        let root = layout("");
        assert_eq!(root.project_path("a/b.py"), Some("a/b.py".into()));
        assert_eq!(root.project_path("./a.py"), Some("a.py".into()));
        assert_eq!(root.project_path("/repo/a.py"), Some("a.py".into()));
        let sub = layout("services/api/");
        assert_eq!(sub.project_path("services/api/app.py"), Some("app.py".into()));
        assert_eq!(sub.project_path("services/web/app.py"), None);
        assert_eq!(sub.project_path("services/api-old/app.py"), None);
    }
}
