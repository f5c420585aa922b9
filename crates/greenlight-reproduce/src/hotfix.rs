//! `greenlight hotfix`: revert the commits that broke `main` on a new branch, in a temporary
//! worktree, and prove the result green before anything is pushed.
//!
//! [`Hotfix::prepare`] decides everything that needs no worktree (the branch, the base, what
//! to revert and in which order); [`Hotfix::run`] then takes the steps one by one — main's
//! evidence, the branch, the reverts, the branch's run, the PR body, the policy on the body —
//! and removes the worktree (and the branch, when a step failed) before it returns.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use greenlight_orchestrator::revision::{CommitInfo, Placement, Repo, Worktree};
use greenlight_orchestrator::{AsOf, Combine as _, Config, Selection};
use greenlight_process::Stop;
use greenlight_report::baseline::{self, Baseline, BaselineInfo};
use greenlight_report::{CheckReport, Finding, NodeKind, Outcome, RunReport, text};

use crate::bisect::BisectResult;
use crate::body::{BodyInput, default_description, hotfix_body};
use crate::{Error, Runs, Show, project_in, short};

/// The default branch `hotfix` creates.
pub const DEFAULT_BRANCH: &str = "hotfix/restore-main-green";
/// The default base of a hotfix.
pub const DEFAULT_BASE: &str = "main";

/// What happens to the hotfix worktree after a hotfix that made its branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AfterwardsWorktree {
    /// Remove it (the branch stays).
    #[default]
    Remove,
    /// Keep it for the user to work in (`--keep-worktree`).
    Keep,
}

/// What the user asked `greenlight hotfix` for (the command line's layer; the configuration's
/// `[tool.greenlight.hotfix]` fills what is not given).
#[derive(Debug, Clone, Default)]
pub struct HotfixRequest {
    /// Commits to revert (`--revert`).
    pub revert: Vec<String>,
    /// A bisection whose first bad commits to revert (`--from-bisect FILE`), and its file.
    pub from_bisect: Option<(PathBuf, BisectResult)>,
    /// `--branch`.
    pub branch: Option<String>,
    /// `--base`.
    pub base: Option<String>,
    /// `--description`.
    pub description: Option<String>,
    /// `--milestone`.
    pub milestone: Option<String>,
    /// `--blueprint`.
    pub blueprint: Option<String>,
    /// `--body-out`.
    pub body_out: Option<PathBuf>,
    /// `--keep-worktree`.
    pub worktree: AfterwardsWorktree,
    /// `--check`: the checks to run (all that apply when empty).
    pub checks: Vec<String>,
    /// `--main-report`: main's evidence from an earlier run, and its file.
    pub main_report: Option<(PathBuf, RunReport)>,
}

/// A commit to revert, with what bisect knew about it.
#[derive(Debug, Clone)]
pub(crate) struct Revert {
    pub(crate) info: CommitInfo,
    /// The checks whose first bad commit it is.
    pub(crate) broke: Vec<String>,
    /// Findings that appeared there, by check.
    pub(crate) findings: Vec<(String, Finding)>,
}

/// What a hotfix left.
#[derive(Debug)]
pub enum HotfixDone {
    /// `main` is green: there is nothing to restore (the message says so).
    NothingToRestore(String),
    /// The branch is made and checked.
    Made(Box<Made>),
}

/// A hotfix branch that was made and checked.
#[derive(Debug)]
pub struct Made {
    /// The branch's report.
    pub report: RunReport,
    /// The policy check's report on the PR body.
    pub policy: RunReport,
    /// The PR title.
    pub title: String,
    /// Where the PR body is.
    pub body_path: PathBuf,
    /// What happened, for people: green or not, the PR title and body, and the policy's word.
    pub summary: String,
    /// How to open the pull request, and where the branch and worktree are.
    pub next_steps: String,
}

/// A hotfix, decided and ready to be made.
pub struct Hotfix<'a> {
    /// The runs' shared settings; `--as-of commit` is the base's date for every run.
    runs: Runs<'a>,
    request: &'a HotfixRequest,
    root: PathBuf,
    repo: Repo,
    config: Config,
    branch: String,
    base_rev: String,
    base: String,
    /// Newest first, so each revert applies on top of the later ones' removal.
    reverts: Vec<Revert>,
}

/// What the branch's run found.
struct Checked {
    report: RunReport,
    head: String,
    changed: String,
}

impl<'a> Hotfix<'a> {
    /// Decides the hotfix of the project at `root` (absolute): the branch and base (the request,
    /// else `[tool.greenlight.hotfix]`, else the defaults) and the commits to revert.
    pub async fn prepare(runs: &'a Runs<'a>, root: &Path, request: &'a HotfixRequest) -> Result<Self, Error> {
        let stop = runs.stop;
        let usage = |error: String| runs.or_interrupted(Error::Usage(error));
        let ids: Vec<&str> = runs.registry.iter().map(|factory| factory.id).collect();
        let config = Config::load_from(root, runs.flags.config.as_deref(), &ids, &runs.overrides)
            .map_err(|error| Error::Usage(error.to_string()))?;
        let settings = &config.settings.hotfix;
        let branch =
            request.branch.clone().combine(settings.branch.clone()).unwrap_or_else(|| DEFAULT_BRANCH.to_string());
        let base_rev = request.base.clone().combine(settings.base.clone()).unwrap_or_else(|| DEFAULT_BASE.to_string());
        let repo = Repo::open(root, &runs.env, stop).await.map_err(usage)?;
        let valid_name = repo
            .git()
            .args(["check-ref-format", "--branch", &branch])
            .run(stop)
            .await
            .is_ok_and(|output| output.status.success());
        if !valid_name {
            return Err(Error::Usage(format!("`{branch}` is not a valid branch name; pass another with --branch")));
        }
        let base = repo.resolve(&base_rev, stop).await.map_err(|error| {
            usage(format!("{error}\n  the hotfix starts from `{base_rev}`; pass --base REV if main has another name"))
        })?;
        let reverts = reverts(&repo, request, stop).await.map_err(|error| runs.or_interrupted(error))?;
        for revert in &reverts {
            if !repo.is_ancestor(&revert.info.sha, &base, stop).await.map_err(usage)? {
                return Err(Error::Usage(format!(
                    "{} (\"{}\") is not in the history of `{base_rev}`; there is nothing to revert there",
                    revert.info.short, revert.info.subject
                )));
            }
        }
        let reverts = newest_first(&repo, reverts, stop).await.map_err(usage)?;
        if repo.branch_exists(&branch, stop).await {
            return Err(Error::Usage(format!(
                "the branch `{branch}` already exists; delete it (`git branch -D {branch}`) or pass --branch NAME"
            )));
        }
        // The branch is judged by the tools of the base it restores: `--as-of commit` is the
        // base's committer date for main's run and the branch's.
        let mut runs = runs.clone();
        if runs.flags.as_of == Some(AsOf::Commit) {
            runs.flags.as_of = Some(AsOf::CommitOf(base.clone()));
        }
        Ok(Self { runs, request, root: root.to_path_buf(), repo, config, branch, base_rev, base, reverts })
    }

    /// Makes the hotfix in a worktree, removed afterwards (kept with
    /// [`AfterwardsWorktree::Keep`] when the branch was made); a branch made by a step that
    /// then failed is deleted again.
    pub async fn run(self) -> Result<HotfixDone, Error> {
        let placement = match self.request.worktree {
            AfterwardsWorktree::Remove => Placement::Fixed,
            AfterwardsWorktree::Keep => Placement::Fresh,
        };
        let worktree = Worktree::add(&self.repo, &self.base, "hotfix", placement, self.runs.stop)
            .await
            .map_err(|error| self.runs.or_interrupted(Error::Errored(error)))?;
        let mut branch_created = false;
        let result = self.steps(&worktree, &mut branch_created).await;
        let kept = if self.request.worktree == AfterwardsWorktree::Keep && matches!(result, Ok(HotfixDone::Made(_))) {
            Some(worktree.keep())
        } else {
            self.runs.remove(worktree).await;
            None
        };
        match result {
            Ok(HotfixDone::Made(mut made)) => {
                made.next_steps = self.next_steps(&made, kept.as_deref());
                Ok(HotfixDone::Made(made))
            }
            Ok(done) => Ok(done),
            Err(failure) => {
                if branch_created && let Err(error) = self.repo.delete_branch(&self.branch, &Stop::new()).await {
                    let branch = &self.branch;
                    self.runs
                        .console
                        .note(&format!("warning: could not delete the branch `{branch}` greenlight created: {error}"));
                }
                Err(failure)
            }
        }
    }

    /// Every step, in order.
    async fn steps(&self, worktree: &Worktree, branch_created: &mut bool) -> Result<HotfixDone, Error> {
        let checkout = project_in(worktree, &self.base_rev)?;
        let Some(main) = self.main_evidence(&checkout).await? else {
            return Ok(HotfixDone::NothingToRestore(format!(
                "`{}` ({}) is green: no check fails there; there is nothing to restore",
                self.base_rev,
                short(&self.base)
            )));
        };
        self.create_branch(worktree).await?;
        *branch_created = true;
        let revert_commands = self.revert_all(worktree).await?;
        let mut checked = self.check_branch(worktree, &checkout).await?;
        let last_good = self.compare_with_last_good(&mut checked).await?;
        let (title, body_path) = self.write_body(&main, &checked, &revert_commands)?;
        let policy = self.check_body(&checkout, &body_path).await?;
        let mut summary = self.summary(&main, &checked, &title, &body_path, &policy);
        if let Some(last_good) = last_good {
            summary = format!("{}{summary}", verdict(&main, &checked.report, &last_good));
        }
        let made = Made { report: checked.report, policy, title, body_path, summary, next_steps: String::new() };
        Ok(HotfixDone::Made(Box::new(made)))
    }

    fn interrupted() -> Error {
        Error::Interrupted("interrupted; the temporary worktree was removed and no branch was left behind".to_string())
    }

    /// Step 1: main's report, as evidence (from `--main-report`, else a run); `None` when
    /// main is green. A main where nothing fails but something could not decide is an error.
    async fn main_evidence(&self, checkout: &Path) -> Result<Option<RunReport>, Error> {
        let (base_rev, base) = (&self.base_rev, &self.base);
        let main = match &self.request.main_report {
            Some((path, report)) => {
                if report.project.commit.as_deref() != Some(base.as_str()) {
                    self.runs.console.note(&format!(
                        "warning: --main-report {} is of commit {}, not of `{base_rev}` ({})",
                        path.display(),
                        report.project.commit.as_deref().unwrap_or("unknown"),
                        short(base)
                    ));
                }
                report.clone()
            }
            None => {
                self.runs.console.progress(&format!("running the checks on `{base_rev}` ({})", short(base)));
                let mut report =
                    self.runs.run(checkout, &self.root, &self.request.checks, base_rev, Show::Progress).await?;
                if report.interrupted {
                    return Err(Self::interrupted());
                }
                report.project.commit = Some(base.clone());
                report
            }
        };
        if main.checks.iter().any(|check| check.outcome == Outcome::Failed) {
            return Ok(Some(main));
        }
        let undecided: Vec<String> = main
            .checks
            .iter()
            .filter(|check| matches!(check.outcome, Outcome::Errored | Outcome::TimedOut))
            .map(|check| format!("{} {}", check.id, check.outcome))
            .collect();
        if undecided.is_empty() {
            return Ok(None);
        }
        Err(Error::Errored(format!(
            "no check fails on `{base_rev}` ({}), but some could not decide ({}); fix that first (`greenlight run --rev {base_rev}` shows why)",
            short(base),
            undecided.join(", ")
        )))
    }

    /// Step 2: the branch, at the base.
    async fn create_branch(&self, worktree: &Worktree) -> Result<(), Error> {
        let branch = &self.branch;
        worktree.run_git(&["switch", "--quiet", "--create", branch], self.runs.stop).await.map_err(|error| {
            self.runs.or_interrupted(Error::Errored(format!("cannot create the branch `{branch}`: {error}")))
        })?;
        Ok(())
    }

    /// Step 3: each revert, newest first; returns the commands, for the PR body. A revert
    /// that conflicts is aborted and named with its conflicting files.
    async fn revert_all(&self, worktree: &Worktree) -> Result<Vec<String>, Error> {
        let stop = self.runs.stop;
        let mut commands = Vec::new();
        for revert in &self.reverts {
            let mut command = vec!["revert", "--no-edit"];
            if revert.info.is_merge() {
                command.extend(["-m", "1"]);
            }
            command.push(&revert.info.sha);
            let mainline = if revert.info.is_merge() { "-m 1 " } else { "" };
            if let Err(error) = worktree.run_git(&command, stop).await {
                if stop.is_cancelled() {
                    return Err(Self::interrupted());
                }
                let cleanup = Stop::new();
                let conflicts =
                    worktree.run_git(&["diff", "--name-only", "--diff-filter=U"], &cleanup).await.unwrap_or_default();
                let _ = worktree.run_git(&["revert", "--abort"], &cleanup).await;
                let detail = if conflicts.trim().is_empty() {
                    error
                } else {
                    format!("conflicts in: {}", conflicts.split_whitespace().collect::<Vec<_>>().join(", "))
                };
                return Err(Error::Errored(format!(
                    "reverting {} (\"{}\") on `{}` failed: {detail}\n  later commits build on it; revert by hand: `git switch -c {} {} && git revert {mainline}{}`",
                    revert.info.short,
                    revert.info.subject,
                    self.base_rev,
                    self.branch,
                    self.base_rev,
                    revert.info.short
                )));
            }
            commands.push(format!("git revert --no-edit {mainline}{}", revert.info.short));
        }
        Ok(commands)
    }

    /// Step 4: the checks on the branch.
    async fn check_branch(&self, worktree: &Worktree, checkout: &Path) -> Result<Checked, Error> {
        let stop = self.runs.stop;
        let head = worktree.run_git(&["rev-parse", "HEAD"], stop).await.map_err(Error::Errored)?.trim().to_string();
        let changed =
            worktree.run_git(&["diff", "--stat=100", &self.base, "HEAD"], stop).await.map_err(Error::Errored)?;
        let branch = &self.branch;
        self.runs.console.progress(&format!("running the checks on `{branch}` ({})", short(&head)));
        let mut report = self.runs.run(checkout, &self.root, &self.request.checks, branch, Show::Progress).await?;
        if report.interrupted {
            return Err(Self::interrupted());
        }
        report.project.root = self.root.display().to_string();
        report.project.commit = Some(head.clone());
        report.project.rev = Some(branch.clone());
        Ok(Checked { report, head, changed })
    }

    /// Step 4b: when the branch is not green, the checks still red there run at the last good
    /// commit (the first parent of the oldest reverted commit), and the branch is compared with
    /// it as with a baseline ([`greenlight_report::baseline`]): what was already red there,
    /// with no new finding, does not keep the hotfix from restoring that state. Returns the last
    /// good commit's report, `None` when the branch is green or has no such parent.
    async fn compare_with_last_good(&self, checked: &mut Checked) -> Result<Option<RunReport>, Error> {
        if is_green(&checked.report) {
            return Ok(None);
        }
        let Some(good) = self.reverts.last().and_then(|revert| revert.info.parents.first()).cloned() else {
            return Ok(None);
        };
        let red: Vec<String> = checked
            .report
            .checks
            .iter()
            .filter(|check| check.kind == NodeKind::Check && check.outcome == Outcome::Failed)
            .map(|check| check.id.clone())
            .collect();
        if red.is_empty() {
            return Ok(None);
        }
        let stop = self.runs.stop;
        self.runs.console.progress(&format!(
            "running {} at the last good commit {} (before the reverted commits)",
            red.join(", "),
            short(&good)
        ));
        let worktree = Worktree::add(&self.repo, &good, "hotfix-good", Placement::Fresh, stop)
            .await
            .map_err(|error| self.runs.or_interrupted(Error::Errored(error)))?;
        let result = match project_in(&worktree, &good) {
            Ok(checkout) => self.runs.run(&checkout, &self.root, &red, &good, Show::Nothing).await,
            Err(failure) => Err(failure),
        };
        self.runs.remove(worktree).await;
        let mut report = result?;
        if report.interrupted {
            return Err(Self::interrupted());
        }
        report.project.commit = Some(good.clone());
        let info = BaselineInfo {
            source: "rev".to_string(),
            rev: Some(format!("the last good commit {}", short(&good))),
            ..BaselineInfo::default()
        };
        baseline::compare(&mut checked.report, &Baseline::from_report(&report), info);
        Ok(Some(report))
    }

    /// Step 5: the PR title and body, written next to each other; returns the title and the
    /// body's path.
    fn write_body(&self, main: &RunReport, checked: &Checked, commands: &[String]) -> Result<(String, PathBuf), Error> {
        let request = self.request;
        let description =
            request.description.clone().unwrap_or_else(|| default_description(&self.reverts, &self.base_rev));
        let title = format!("HOTFIX: {description}");
        let settings = &self.config.settings.hotfix;
        let sections = greenlight_plugin_policy::PolicyOptions::load(&self.config.source)
            .map(|options| options.rules().sections)
            .unwrap_or_else(|_| greenlight_plugin_policy::DEFAULT_SECTIONS.iter().map(|s| s.to_string()).collect());
        let body = hotfix_body(&BodyInput {
            base_rev: &self.base_rev,
            base: &self.base,
            branch: &self.branch,
            head: &checked.head,
            reverts: &self.reverts,
            revert_commands: commands,
            main,
            hotfix: &checked.report,
            changed: &checked.changed,
            auto_run_mode: settings.auto_run_mode.as_deref().unwrap_or("MANUAL"),
            milestone: request.milestone.as_deref().combine(settings.milestone_id.as_deref()).unwrap_or("HOTFIX"),
            blueprint: request
                .blueprint
                .clone()
                .combine(settings.blueprint_ref.clone())
                .unwrap_or_else(|| format!("revert-{}", self.reverts[0].info.short)),
            sections: &sections,
        });
        let body_path = request.body_out.clone().unwrap_or_else(|| self.root.join(".greenlight/hotfix/PR_BODY.md"));
        write_file(&body_path, &body)?;
        write_file(&body_path.with_file_name("PR_TITLE.txt"), &format!("{title}\n"))?;
        Ok((title, body_path))
    }

    /// Step 6: the policy check on the body, on the branch.
    async fn check_body(&self, checkout: &Path, body_path: &Path) -> Result<RunReport, Error> {
        use greenlight_plugin_policy::{ID, PR_BASE, PR_BODY};
        let mut overrides = self.runs.overrides.clone();
        let body = std::fs::canonicalize(body_path).unwrap_or_else(|_| body_path.to_path_buf());
        let set = |error: greenlight_checker::ConfigError| Error::Errored(error.to_string());
        overrides.set(PR_BODY, body.display().to_string()).map_err(set)?;
        overrides.set(PR_BASE, self.base.clone()).map_err(set)?;
        let selection = Selection { only: vec![ID.to_string()], skip: Vec::new(), partition: None };
        let report =
            self.runs.run_with(checkout, &self.root, selection, &self.branch, Show::Nothing, overrides).await?;
        if report.interrupted {
            return Err(Self::interrupted());
        }
        Ok(report)
    }

    /// What happened: green or not, the PR title and body, the policy's word on the body.
    fn summary(
        &self,
        main: &RunReport,
        checked: &Checked,
        title: &str,
        body_path: &Path,
        policy: &RunReport,
    ) -> String {
        let (branch, head) = (&self.branch, short(&checked.head));
        let mut out = String::new();
        if is_green(&checked.report) {
            let failing: Vec<&str> = main
                .checks
                .iter()
                .filter(|check| check.outcome == Outcome::Failed)
                .map(|check| check.id.as_str())
                .collect();
            let _ = writeln!(
                out,
                "\n`{branch}` ({head}): main would be green again (failing on `{}`: {})",
                self.base_rev,
                failing.join(", ")
            );
        } else {
            let still: Vec<String> = checked
                .report
                .checks
                .iter()
                .filter(|check| matches!(check.outcome, Outcome::Failed | Outcome::Errored | Outcome::TimedOut))
                .map(|check| format!("{} {}", check.id, check.outcome))
                .collect();
            let _ = writeln!(out, "\n`{branch}` ({head}): main would NOT be green yet: {}", still.join(", "));
            let _ = writeln!(
                out,
                "  revert more (`greenlight bisect` finds what else broke), or fix forward on the branch"
            );
        }
        let check = policy.check(greenlight_plugin_policy::ID);
        let _ = writeln!(out, "PR title: {title}");
        match check.map(|check| check.outcome) {
            Some(Outcome::Passed) => {
                let _ = writeln!(out, "PR body:  {} (passes the policy check)", body_path.display());
            }
            _ => {
                let _ = writeln!(out, "PR body:  {} — the policy check does not pass it yet:", body_path.display());
                if let Some(check) = check {
                    for finding in &check.findings {
                        let _ = writeln!(out, "  {}  {}", finding.rule, finding.message);
                        if let Some(help) = &finding.help {
                            let _ = writeln!(out, "    help: {help}");
                        }
                    }
                    if let Some(reason) = &check.reason {
                        let _ = writeln!(out, "  {reason}");
                    }
                }
            }
        }
        out
    }

    /// How to open the pull request, and where the branch (and a kept worktree) are.
    fn next_steps(&self, made: &Made, kept: Option<&Path>) -> String {
        let (branch, base_rev) = (&self.branch, &self.base_rev);
        let mut out = String::new();
        let _ = writeln!(out, "\nnothing was pushed. To open the pull request:");
        let _ = writeln!(out, "  git push -u origin {branch}");
        let _ = writeln!(
            out,
            "  gh pr create --base {base_rev} --head {branch} --title {} --body-file {}",
            text::shell_quote(&made.title),
            text::shell_quote(&made.body_path.display().to_string())
        );
        match kept {
            Some(dir) => {
                let _ = writeln!(
                    out,
                    "the hotfix worktree is kept at {} (`git worktree remove {}` when done)",
                    dir.display(),
                    dir.display()
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "the branch `{branch}` is in your repository; your checkout was not touched (`git branch -D {branch}` discards it)"
                );
            }
        }
        out
    }
}

/// What the reverts fixed, and what was already red at the last good commit: `branch` was
/// compared with `last_good` (see [`Hotfix::compare_with_last_good`]).
fn verdict(main: &RunReport, branch: &RunReport, last_good: &RunReport) -> String {
    let failed = |report: &RunReport, id: &str| report.check(id).is_some_and(|check| check.outcome == Outcome::Failed);
    let fixed: Vec<&str> = main
        .checks
        .iter()
        .filter(|check| check.outcome == Outcome::Failed && !failed(last_good, &check.id))
        .filter(|check| branch.check(&check.id).is_some_and(|on_branch| on_branch.outcome == Outcome::Passed))
        .map(|check| check.id.as_str())
        .collect();
    let already: Vec<&str> = last_good
        .checks
        .iter()
        .filter(|check| check.outcome == Outcome::Failed)
        .filter(|check| branch.check(&check.id).is_some_and(|on_branch| on_branch.outcome == Outcome::Passed))
        .map(|check| check.id.as_str())
        .collect();
    let good = last_good.project.commit.as_deref().map_or("", short);
    let mut out = String::new();
    if is_green(branch) {
        let _ = writeln!(out, "\nthe reverts restore the state of the last good commit {good}:");
    } else {
        let _ = writeln!(out, "\nthe reverts do not restore the state of the last good commit {good}:");
    }
    let list = |ids: &[&str]| if ids.is_empty() { "nothing".to_string() } else { ids.join(", ") };
    let _ = writeln!(out, "  fixed by the reverts: {}", list(&fixed));
    let _ = writeln!(out, "  already red at {good} (no new findings on the branch): {}", list(&already));
    out
}

/// True when no check of `report` failed, errored or timed out.
pub(crate) fn is_green(report: &RunReport) -> bool {
    !report.checks.iter().any(|check: &CheckReport| {
        check.kind == NodeKind::Check && matches!(check.outcome, Outcome::Failed | Outcome::Errored | Outcome::TimedOut)
    })
}

/// The commits the request names: the bisection's first bad commits, then `--revert`'s, each
/// once.
async fn reverts(repo: &Repo, request: &HotfixRequest, stop: &Stop) -> Result<Vec<Revert>, Error> {
    let mut reverts: Vec<Revert> = Vec::new();
    let mut add = |info: CommitInfo, broke: Vec<String>, findings: Vec<(String, Finding)>| match reverts
        .iter_mut()
        .find(|revert| revert.info.sha == info.sha)
    {
        Some(revert) => {
            revert.broke.extend(broke);
            revert.findings.extend(findings);
        }
        None => reverts.push(Revert { info, broke, findings }),
    };
    if let Some((path, result)) = &request.from_bisect {
        for check in &result.checks {
            let Some(info) = &check.first_bad else {
                return Err(Error::Usage(format!(
                    "the bisection of `{}` in {} did not name one commit (candidates: {}); choose with --revert SHA",
                    check.check,
                    path.display(),
                    check.candidates.iter().map(|c| c.short.clone()).collect::<Vec<_>>().join(", ")
                )));
            };
            let info = repo.commit_info(&info.sha, stop).await.map_err(Error::Usage)?;
            let findings = check.new_findings.iter().map(|f| (check.check.clone(), f.clone())).collect();
            add(info, vec![check.check.clone()], findings);
        }
    }
    for rev in &request.revert {
        let sha = repo.resolve(rev, stop).await.map_err(Error::Usage)?;
        let info = repo.commit_info(&sha, stop).await.map_err(Error::Usage)?;
        add(info, Vec::new(), Vec::new());
    }
    if reverts.is_empty() {
        return Err(Error::Usage(
            "nothing to revert: pass --revert SHA, or --from-bisect FILE written by `greenlight bisect --json FILE`"
                .to_string(),
        ));
    }
    Ok(reverts)
}

/// `reverts` newest first, so each revert applies on top of the later ones' removal.
async fn newest_first(repo: &Repo, reverts: Vec<Revert>, stop: &Stop) -> Result<Vec<Revert>, String> {
    let mut ordered: Vec<Revert> = Vec::new();
    for revert in reverts {
        let mut at = ordered.len();
        for (index, other) in ordered.iter().enumerate() {
            if repo.is_ancestor(&other.info.sha, &revert.info.sha, stop).await? {
                at = index;
                break;
            }
        }
        ordered.insert(at, revert);
    }
    Ok(ordered)
}

/// Writes `text` to `path`, creating its directory.
fn write_file(path: &Path, text: &str) -> Result<(), Error> {
    if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|error| Error::Errored(format!("cannot create {}: {error}", parent.display())))?;
    }
    std::fs::write(path, text).map_err(|error| Error::Errored(format!("cannot write {}: {error}", path.display())))
}
