//! Reproducing a red `main`: a run on another revision (`greenlight run --rev`), the bisection
//! of failing checks (`greenlight bisect`) and the hotfix that reverts what broke it
//! (`greenlight hotfix`).
//!
//! Every run here happens in a temporary `git worktree` outside the user's tree (see
//! [`greenlight_orchestrator::revision`]), with greenlight's state (logs, durations, project
//! environments) in the user's `.greenlight/`: environments are kept per dependency key in
//! `.greenlight/envs/<key>`, so commits with equal dependency files share one. The worktree is
//! removed before a function returns, also after Ctrl-C; the user's checkout, index, current
//! branch and bisect state are never touched. `hotfix` creates one branch ref and never pushes.
//!
//! Nothing here prints: progress goes to the caller's [`Console`], results are returned.

pub mod bisect;
mod body;
pub mod hotfix;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use greenlight_checker::{ConfigOverrides, Registry};
use greenlight_env::Env;
use greenlight_orchestrator::revision::{Placement, Repo, Worktree};
use greenlight_orchestrator::{Observer, PipelineError, RunFlags, RunRequest, Selection, StateLocation};
use greenlight_process::Stop;
use greenlight_report::RunReport;

pub use bisect::{BisectRequest, BisectResult, CheckBisection, RevRef, TestedCommit, render_bisect};
pub use hotfix::{AfterwardsWorktree, Hotfix, HotfixDone, HotfixRequest, Made};

/// Why a command on other commits stopped before its result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The user's input cannot be used (a revision that does not exist, nothing to bisect).
    #[error("{0}")]
    Usage(String),
    /// Something that is not the user's input failed (git, a file).
    #[error("{0}")]
    Errored(String),
    /// The user interrupted.
    #[error("{0}")]
    Interrupted(String),
}

impl From<PipelineError> for Error {
    fn from(error: PipelineError) -> Self {
        Error::Usage(error.to_string())
    }
}

/// How much of a run the console shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    /// Nothing of the run itself (bisect's many runs, the policy check of a hotfix body).
    Nothing,
    /// The run's progress, as the user asked for it (`-q` hides it).
    Progress,
}

/// Where progress goes: the command line's terminal.
pub trait Console: Send + Sync {
    /// A line of progress (`bisecting 12 commits...`), unless the user asked for quiet.
    fn progress(&self, line: &str);
    /// A line the user sees even when quiet (a warning, what was left where).
    fn note(&self, line: &str);
    /// The observer of one run.
    fn observer(&self, show: Show) -> Arc<dyn Observer>;
}

/// What every run on another commit shares: the checks, the settings from the command line,
/// the environment and the stop signal.
#[derive(Clone)]
pub struct Runs<'a> {
    /// Every checker greenlight has.
    pub registry: &'a Registry,
    /// The command line's run settings (`--jobs`, `--timeout`, ...).
    pub flags: RunFlags,
    /// The command line's values of check options (`--advisory-db`, ...).
    pub overrides: ConfigOverrides,
    /// Checks never to run (`--skip`).
    pub skip: Vec<String>,
    /// The environment captured at start.
    pub env: Env,
    /// Where progress goes.
    pub console: &'a dyn Console,
    /// The user's stop (Ctrl-C).
    pub stop: &'a Stop,
}

impl Runs<'_> {
    /// Runs `checks` (every check that applies when empty) on the checkout at `checkout`,
    /// keeping state in the user's project at `user_root`; `rev` is recorded in the report.
    async fn run(
        &self,
        checkout: &Path,
        user_root: &Path,
        checks: &[String],
        rev: &str,
        show: Show,
    ) -> Result<RunReport, Error> {
        let selection = Selection { only: checks.to_vec(), skip: self.skip.clone(), partition: None };
        self.run_with(checkout, user_root, selection, rev, show, self.overrides.clone()).await
    }

    /// [`Runs::run`] of another selection with other check options.
    async fn run_with(
        &self,
        checkout: &Path,
        user_root: &Path,
        selection: Selection,
        rev: &str,
        show: Show,
        overrides: ConfigOverrides,
    ) -> Result<RunReport, Error> {
        let request = RunRequest {
            registry: self.registry,
            selection,
            flags: RunFlags { rev: Some(rev.to_string()), ..self.flags.clone() },
            overrides,
            env: self.env.clone(),
            state: StateLocation::UserProject(user_root.to_path_buf()),
        };
        Ok(greenlight_orchestrator::run_project(checkout, &request, self.console.observer(show), self.stop).await?)
    }

    /// `failure`, or "interrupted" when the user stopped us while it happened.
    fn or_interrupted(&self, failure: Error) -> Error {
        if self.stop.is_cancelled() {
            Error::Interrupted("interrupted; the temporary worktree was removed".to_string())
        } else {
            failure
        }
    }

    /// A note when the user's checkout has a `greenlight.toml` that the checkout of `rev` at
    /// `checkout` does not (untracked, or changed since): runs on other commits use the
    /// configuration committed there, unless `--config` names a file.
    fn untracked_config_note(&self, user_root: &Path, checkout: &Path, rev: &str) {
        if self.flags.config.is_some() {
            return;
        }
        let Ok(yours) = std::fs::read(user_root.join("greenlight.toml")) else { return };
        if std::fs::read(checkout.join("greenlight.toml")).ok().as_ref() != Some(&yours) {
            self.console.note(&format!(
                "note: your greenlight.toml is not the one committed at `{rev}` (untracked or changed); the run uses the configuration committed there; pass `--config greenlight.toml` to use yours"
            ));
        }
    }

    /// Removes `worktree`, warning (not failing) when git could not.
    async fn remove(&self, worktree: Worktree) {
        let dir = worktree.dir().to_path_buf();
        if let Err(error) = worktree.remove().await {
            self.console.note(&format!("warning: removing the temporary worktree {} reported: {error}", dir.display()));
        }
    }
}

/// The absolute, symlink-free project root: tools run in the worktree, so relative paths to
/// the user's state would point elsewhere.
pub fn absolute(root: &Path) -> Result<PathBuf, Error> {
    std::fs::canonicalize(root).map_err(|error| Error::Usage(format!("{}: {error}", root.display())))
}

/// The project root inside `worktree`, or why the project is not there at that commit.
fn project_in(worktree: &Worktree, rev: &str) -> Result<PathBuf, Error> {
    let root = worktree.project_root();
    if root.is_dir() {
        Ok(root)
    } else {
        Err(Error::Usage(format!("the project directory does not exist at `{rev}` (no {} there)", root.display())))
    }
}

/// The first 12 digits of a sha.
fn short(sha: &str) -> &str {
    &sha[..12.min(sha.len())]
}

/// `greenlight run --rev REV`: the checks `selection` names on a clean checkout of `rev` in a
/// temporary worktree, removed afterwards. The report names the user's project root and the
/// commit.
pub async fn run_at_rev(runs: &Runs<'_>, root: &Path, rev: &str, checks: &[String]) -> Result<RunReport, Error> {
    let root = &absolute(root)?;
    let repo =
        Repo::open(root, &runs.env, runs.stop).await.map_err(|error| runs.or_interrupted(Error::Usage(error)))?;
    let sha = repo.resolve(rev, runs.stop).await.map_err(|error| runs.or_interrupted(Error::Usage(error)))?;
    let worktree = Worktree::add(&repo, &sha, "rev", Placement::Fixed, runs.stop)
        .await
        .map_err(|error| runs.or_interrupted(Error::Errored(error)))?;
    let result = match project_in(&worktree, rev) {
        Ok(_) if runs.stop.is_cancelled() => Err(Error::Interrupted("interrupted before the run started".to_string())),
        Ok(checkout) => {
            runs.untracked_config_note(root, &checkout, rev);
            runs.run(&checkout, root, checks, rev, Show::Progress).await
        }
        Err(failure) => Err(failure),
    };
    runs.remove(worktree).await;
    let mut report = result?;
    report.project.root = root.display().to_string();
    report.project.commit = Some(sha.clone());
    report.project.rev = Some(rev.to_string());
    runs.console
        .note(&format!("checked `{rev}` ({}) in a temporary worktree; your checkout was not touched", short(&sha)));
    Ok(report)
}
