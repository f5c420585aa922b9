//! Runs on commits other than the working tree: the git repository around a project, and
//! temporary worktrees (`greenlight run --rev`, `bisect`, `hotfix`).
//!
//! Invariants: nothing here changes the user's checkout, index, current branch or bisect state.
//! A [`Worktree`] is a linked `git worktree` in a temporary directory outside the user's tree,
//! made with the repository's hooks turned off; [`Worktree::remove`] removes it and its
//! administrative entry, and dropping one that was not removed deletes both without running
//! git, so `git worktree list` is as before even after an error or an interrupted run.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use greenlight_checker::git::Git;
use greenlight_env::{Env, EnvVars};
use greenlight_process::{Cmd, Stop};

/// Environment variables git needs to write commits as the user (the process layer drops
/// names containing `AUTH` unless they are passed on by name).
const IDENTITY_VARS: &[&str] = &[
    "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL",
    "GIT_AUTHOR_DATE",
    "GIT_COMMITTER_NAME",
    "GIT_COMMITTER_EMAIL",
    "GIT_COMMITTER_DATE",
];

/// The git repository a project is in.
#[derive(Debug, Clone)]
pub struct Repo {
    /// The top-level directory of the user's work tree.
    pub toplevel: PathBuf,
    /// The project root relative to `toplevel` (empty when they are the same).
    pub prefix: PathBuf,
    /// The user's `GIT_CONFIG_COUNT`: greenlight's git entries come after theirs.
    user_config_count: Option<String>,
}

/// A commit with what people recognise it by.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CommitInfo {
    /// Full sha.
    pub sha: String,
    /// Abbreviated sha (12 digits).
    pub short: String,
    /// First line of the message.
    pub subject: String,
    /// `Name <email>` of the author.
    pub author: String,
    /// Author date, RFC 3339.
    pub date: String,
    /// Parent shas (two or more for a merge).
    #[serde(default)]
    pub parents: Vec<String>,
}

impl CommitInfo {
    /// True for a merge commit.
    pub fn is_merge(&self) -> bool {
        self.parents.len() > 1
    }
}

/// Runs `git` in `dir` and returns its stdout, or an error naming the command and git's words.
async fn git_text(command: Cmd, stop: &Stop) -> Result<String, String> {
    let display = command.display();
    let output = command.run(stop).await.map_err(|error| format!("cannot run `{display}`: {error}"))?;
    if !output.status.success() {
        let tail = output.both_tails(12);
        return Err(format!("`{display}` ended with {}: {}", output.status, tail.trim()));
    }
    Ok(output.stdout.text())
}

impl Repo {
    /// The repository around `project_root`, or why there is none. git runs with the user's
    /// configuration from `env` (see [`greenlight_checker::git`]).
    pub async fn open(project_root: &Path, env: &Env, stop: &Stop) -> Result<Self, String> {
        let user_config_count = env.get(EnvVars::GIT_CONFIG_COUNT).map(str::to_string);
        let discovery = Git::discovery(user_config_count.as_deref()).cmd(project_root);
        let text = git_text(discovery.args(["rev-parse", "--show-toplevel", "--show-prefix"]), stop)
            .await
            .map_err(|_| {
                format!(
                    "{} is not in a git repository; runs on other commits need one (run `git init` and commit, or drop the option)",
                    project_root.display()
                )
            })?;
        let mut lines = text.lines();
        let toplevel = PathBuf::from(lines.next().unwrap_or_default().trim());
        let prefix = PathBuf::from(lines.next().unwrap_or_default().trim().trim_end_matches('/'));
        if toplevel.as_os_str().is_empty() {
            return Err(format!("{} is not inside a git work tree", project_root.display()));
        }
        Ok(Self { toplevel, prefix, user_config_count })
    }

    /// How git runs on the work tree at `toplevel` (this repository's or one of its worktrees).
    fn setup(&self, toplevel: &Path) -> Git {
        Git::repository(toplevel, self.user_config_count.as_deref())
    }

    /// A git command in the user's work tree.
    pub fn git(&self) -> Cmd {
        self.setup(&self.toplevel).cmd(&self.toplevel)
    }

    /// The full sha of the commit `rev` names, or an error that says what to do.
    pub async fn resolve(&self, rev: &str, stop: &Stop) -> Result<String, String> {
        if rev.trim().is_empty() || rev.starts_with('-') {
            return Err(format!("`{rev}` is not a revision; give a commit sha, branch or tag"));
        }
        let spec = format!("{rev}^{{commit}}");
        let output = self
            .git()
            .args(["rev-parse", "--verify", "--quiet", "--end-of-options"])
            .arg(&spec)
            .run(stop)
            .await
            .map_err(|error| format!("cannot run git: {error}"))?;
        let sha = output.stdout.text().trim().to_string();
        if !output.status.success() || sha.is_empty() {
            return Err(format!(
                "unknown revision `{rev}` in {}; check the name (`git log --oneline -5 {rev}`) or fetch it (`git fetch origin {rev}`)",
                self.toplevel.display()
            ));
        }
        Ok(sha)
    }

    /// Subject, author, date and parents of `sha`.
    pub async fn commit_info(&self, sha: &str, stop: &Stop) -> Result<CommitInfo, String> {
        let text = git_text(
            self.git().args(["show", "-s", "--no-show-signature", "--format=%H%x00%s%x00%an <%ae>%x00%aI%x00%P", sha]),
            stop,
        )
        .await?;
        let mut fields = text.trim_end_matches('\n').split('\0');
        let mut next = || fields.next().unwrap_or_default().to_string();
        let sha = next();
        let subject = next();
        let author = next();
        let date = next();
        let parents = next().split_whitespace().map(str::to_string).collect();
        Ok(CommitInfo { short: sha.chars().take(12).collect(), sha, subject, author, date, parents })
    }

    /// True when `ancestor` is an ancestor of (or equal to) `descendant`.
    pub async fn is_ancestor(&self, ancestor: &str, descendant: &str, stop: &Stop) -> Result<bool, String> {
        let output = self
            .git()
            .args(["merge-base", "--is-ancestor", ancestor, descendant])
            .run(stop)
            .await
            .map_err(|error| format!("cannot run git: {error}"))?;
        match output.status.code() {
            Some(0) => Ok(true),
            Some(1) => Ok(false),
            _ => Err(format!("`git merge-base --is-ancestor` failed: {}", output.both_tails(5).trim())),
        }
    }

    /// The best common ancestor of `a` and `b` (full shas), or why there is none.
    pub async fn merge_base(&self, a: &str, b: &str, stop: &Stop) -> Result<String, String> {
        let text = git_text(self.git().args(["merge-base", a, b]), stop).await.map_err(|error| {
            format!("`{a}` and `{b}` have no common commit ({error}); fetch the history (`git fetch --unshallow`)")
        })?;
        Ok(text.trim().to_string())
    }

    /// The commits from `good` (excluded) to `bad` (included), oldest first, along `bad`'s
    /// first-parent line, keeping those that descend from `good`: the commits `main` went
    /// through, one per merged pull request.
    pub async fn first_parent_path(&self, good: &str, bad: &str, stop: &Stop) -> Result<Vec<String>, String> {
        let range = format!("{good}..{bad}");
        let first_parent = git_text(self.git().args(["rev-list", "--first-parent", "--reverse", &range]), stop).await?;
        let descendants = git_text(self.git().args(["rev-list", "--ancestry-path", &range]), stop).await?;
        let descendants: HashSet<&str> = descendants.lines().map(str::trim).collect();
        Ok(first_parent
            .lines()
            .map(str::trim)
            .filter(|sha| !sha.is_empty() && descendants.contains(sha))
            .map(str::to_string)
            .collect())
    }

    /// True when the local branch `name` exists.
    pub async fn branch_exists(&self, name: &str, stop: &Stop) -> bool {
        let reference = format!("refs/heads/{name}");
        self.git()
            .args(["rev-parse", "--verify", "--quiet", &reference])
            .run(stop)
            .await
            .is_ok_and(|output| output.status.success())
    }

    /// Deletes the local branch `name` (one greenlight created).
    pub async fn delete_branch(&self, name: &str, stop: &Stop) -> Result<(), String> {
        git_text(self.git().args(["branch", "-D", name]), stop).await.map(|_| ())
    }

    /// The user's state that greenlight promises not to change: current branch (or detached
    /// sha), `git status --porcelain`, `git worktree list --porcelain`. For checks and tests.
    pub async fn state(&self, stop: &Stop) -> Result<String, String> {
        let head = git_text(self.git().args(["rev-parse", "--symbolic-full-name", "HEAD"]), stop).await?;
        let status = git_text(self.git().args(["status", "--porcelain"]), stop).await?;
        let worktrees = git_text(self.git().args(["worktree", "list", "--porcelain"]), stop).await?;
        Ok(format!("{head}\n{status}\n{worktrees}"))
    }
}

/// The files of the project at `root` that `scope` names (see
/// [`crate::settings::ChangedScope`]), relative to it, deleted ones left out.
pub async fn changed_files(
    root: &Path,
    scope: &crate::settings::ChangedScope,
    env: &Env,
    stop: &Stop,
) -> Result<greenlight_checker::ChangedFiles, String> {
    use crate::settings::ChangedScope;
    let repo = Repo::open(root, env, stop).await?;
    let git = || repo.setup(&repo.toplevel).cmd(root);
    let lines = |text: String| -> Vec<String> {
        text.lines().map(str::trim).filter(|line| !line.is_empty()).map(str::to_string).collect()
    };
    let (since, mut files, commits) = match scope {
        ChangedScope::Staged => {
            let staged =
                git_text(git().args(["diff", "--cached", "--name-only", "--relative", "--diff-filter=d"]), stop)
                    .await?;
            ("the index (staged files)".to_string(), lines(staged), None)
        }
        ChangedScope::Since(rev) => {
            let target = repo.resolve(rev, stop).await?;
            let head = repo.resolve("HEAD", stop).await?;
            let base = repo.merge_base(&target, &head, stop).await?;
            let changed =
                git_text(git().args(["diff", "--name-only", "--relative", "--diff-filter=d", &base]), stop).await?;
            let untracked = git_text(git().args(["ls-files", "--others", "--exclude-standard"]), stop).await?;
            let mut files = lines(changed);
            files.extend(lines(untracked));
            let since =
                if base == head { rev.clone() } else { format!("{rev} (merge base {})", &base[..12.min(base.len())]) };
            (since, files, Some(format!("{base}..HEAD")))
        }
    };
    files.sort();
    files.dedup();
    files.retain(|file| root.join(file).is_file());
    Ok(greenlight_checker::ChangedFiles { since, files, commits })
}

/// Where a [`Worktree`] goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// The repository's fixed worktree path when free (else a fresh directory): the project
    /// environment's editable install, which records the checkout's path, stays valid from
    /// one run to the next.
    Fixed,
    /// A new temporary directory `greenlight-<purpose>-*`: for a worktree the user keeps
    /// ([`Worktree::keep`]), which the next run would otherwise clear.
    Fresh,
}

/// A temporary linked worktree of the user's repository.
///
/// It lives at a path fixed per repository (`$TMPDIR/greenlight-worktrees/<hash>/<name>`,
/// held with a lock) so that the project environment's editable install, which records the
/// checkout's path, stays valid from one run to the next; when another run holds that path,
/// a fresh temporary directory is used instead.
#[derive(Debug)]
pub struct Worktree {
    repo: Repo,
    dir: PathBuf,
    admin: Option<PathBuf>,
    temp: Option<tempfile::TempDir>,
    lock: Option<std::fs::File>,
    removed: bool,
}

/// The fixed worktree location of `repo` and its lock, when it can be taken.
fn fixed_location(repo: &Repo) -> Option<(PathBuf, std::fs::File)> {
    use sha2::{Digest as _, Sha256};
    let digest = Sha256::digest(repo.toplevel.as_os_str().as_encoded_bytes());
    let hash: String = digest[..8].iter().map(|byte| format!("{byte:02x}")).collect();
    let parent = std::env::temp_dir().join("greenlight-worktrees").join(hash);
    std::fs::create_dir_all(&parent).ok()?;
    let lock_path = parent.join("lock");
    let lock = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path).ok()?;
    lock.try_lock().ok()?;
    // The run that held it last removes the lock file when done: make sure the file locked is
    // still the one at that path (else another run may hold a new one).
    use std::os::unix::fs::MetadataExt as _;
    let (held, current) = (lock.metadata().ok()?, std::fs::metadata(&lock_path).ok()?);
    if (held.dev(), held.ino()) != (current.dev(), current.ino()) {
        return None;
    }
    let name = repo.toplevel.file_name().map_or_else(|| "checkout".into(), |name| name.to_os_string());
    Some((parent.join(name), lock))
}

impl Worktree {
    /// Checks out `commit` (detached) in a worktree outside the user's tree, placed as
    /// `placement` says (a fresh temporary directory `greenlight-<purpose>-*` when the fixed
    /// path is held by another run).
    pub async fn add(
        repo: &Repo,
        commit: &str,
        purpose: &str,
        placement: Placement,
        stop: &Stop,
    ) -> Result<Self, String> {
        let fixed = (placement == Placement::Fixed).then(|| fixed_location(repo)).flatten();
        let (dir, temp, lock) = match fixed {
            Some((dir, lock)) => {
                // A run that was killed may have left it (or its entry in the repository):
                // clear both; the path is greenlight's own.
                let clear = Stop::new();
                let _ = repo.git().args(["worktree", "remove", "--force", "--force"]).arg(&dir).run(&clear).await;
                let _ = std::fs::remove_dir_all(&dir);
                (dir, None, Some(lock))
            }
            None => {
                let temp = tempfile::Builder::new()
                    .prefix(&format!("greenlight-{purpose}-"))
                    .tempdir()
                    .map_err(|error| format!("cannot create a temporary directory: {error}"))?;
                let name = repo.toplevel.file_name().map_or_else(|| "checkout".into(), |name| name.to_os_string());
                (temp.path().join(name), Some(temp), None)
            }
        };
        let mut worktree = Self { repo: repo.clone(), dir: dir.clone(), admin: None, temp, lock, removed: false };
        let add = repo.git().args(["worktree", "add", "--detach", "--quiet"]).arg(&dir).arg(commit);
        let added = match git_text(add, stop).await {
            Ok(_) => git_text(repo.setup(&dir).cmd(&dir).args(["rev-parse", "--absolute-git-dir"]), stop).await,
            Err(error) => Err(format!("cannot check out {commit} in a worktree: {error}")),
        };
        match added {
            Ok(admin) => {
                worktree.admin = Some(PathBuf::from(admin.trim()));
                Ok(worktree)
            }
            Err(error) => {
                // Interrupted half-way, git may have registered it already.
                let _ = worktree.remove().await;
                Err(error)
            }
        }
    }

    /// The worktree's top-level directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The project root inside the worktree (the same place the user's project has in the
    /// repository).
    pub fn project_root(&self) -> PathBuf {
        if self.repo.prefix.as_os_str().is_empty() { self.dir.clone() } else { self.dir.join(&self.repo.prefix) }
    }

    /// A git command in the worktree, with hooks off ([`greenlight_checker::git`]) and the
    /// user's identity passed on.
    pub fn git(&self) -> Cmd {
        self.repo
            .setup(&self.dir)
            .cmd(&self.dir)
            .pass_env(&IDENTITY_VARS.iter().map(|name| (*name).to_string()).collect::<Vec<_>>())
            .args(["-c", "advice.detachedHead=false"])
    }

    /// Runs git in the worktree and returns its stdout.
    pub async fn run_git(&self, args: &[&str], stop: &Stop) -> Result<String, String> {
        git_text(self.git().args(args), stop).await
    }

    /// Moves the worktree to `commit` (detached) and removes every file git does not track,
    /// so each commit is checked from a clean checkout.
    pub async fn checkout(&self, commit: &str, stop: &Stop) -> Result<(), String> {
        self.run_git(&["checkout", "--detach", "--force", "--quiet", commit], stop).await?;
        self.run_git(&["clean", "-ffdxq"], stop).await?;
        Ok(())
    }

    /// Removes the worktree and its entry in the repository. Runs even when `stop` fired.
    pub async fn remove(mut self) -> Result<(), String> {
        self.removed = true;
        let stop = Stop::new();
        let result =
            git_text(self.repo.git().args(["worktree", "remove", "--force", "--force"]).arg(&self.dir), &stop).await;
        // Whatever git did, make sure nothing is left.
        self.delete_files();
        result.map(|_| ())
    }

    /// Leaves the worktree in place (for the user to work in) and returns its directory.
    pub fn keep(mut self) -> PathBuf {
        self.removed = true;
        if let Some(temp) = self.temp.take() {
            let _ = temp.keep();
        }
        self.dir.clone()
    }

    fn delete_files(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        // Only ever a linked worktree's entry (`.git/worktrees/<name>`), never the repository.
        if let Some(admin) = &self.admin
            && admin.parent().and_then(Path::file_name).is_some_and(|name| name == "worktrees")
        {
            let _ = std::fs::remove_dir_all(admin);
        }
        drop(self.temp.take());
        if let Some(lock) = self.lock.take() {
            // Tidy the fixed location while still holding its lock (see `fixed_location`).
            if let Some(parent) = self.dir.parent() {
                let _ = std::fs::remove_file(parent.join("lock"));
                let _ = std::fs::remove_dir(parent);
            }
            drop(lock);
        }
    }
}

impl Drop for Worktree {
    fn drop(&mut self) {
        if !self.removed {
            // No process may be started here: delete the checkout and its administrative
            // entry directly (what `git worktree remove` and `prune` do for one worktree).
            self.delete_files();
        }
    }
}
