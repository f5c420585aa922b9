//! Reproducing a red `main`: `run --rev`, `bisect` and `hotfix`.
//!
//! Every run here happens in a temporary `git worktree` outside the user's tree (see
//! [`greenlight_orchestrator::revision`]), with greenlight's state (logs, durations, project
//! environments) in the user's `.greenlight/`: environments are kept per dependency key in
//! `.greenlight/envs/<key>`, so commits with equal dependency files share one. The worktree is
//! removed before the command exits, also after Ctrl-C; the user's checkout, index, current
//! branch and bisect state are never touched. `hotfix` creates one branch ref and never pushes.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use greenlight_env::Env;
use greenlight_orchestrator::bisect::{MultiBisection, State, Verdict};
use greenlight_orchestrator::revision::{CommitInfo, Repo, Worktree};
use greenlight_orchestrator::{RunOptions, Selection};
use greenlight_process::Stop;
use greenlight_report::{ExitCode, Finding, Outcome, RunReport, SkipCause};
use greenlight_reporters::terminal::LiveView;
use serde::{Deserialize, Serialize};

use crate::cli::{BisectArgs, HotfixArgs};
use crate::commands::{
    Failure, live_view, pr_vars, print_summary, project_root, run_pipeline, tools_from, watch_signals, write_file,
    write_json,
};
use crate::registry::registry;

/// The absolute, symlink-free project root: tools run in the worktree, so relative paths to
/// the user's state would point elsewhere.
fn absolute(root: &Path) -> Result<PathBuf, Failure> {
    std::fs::canonicalize(root).map_err(|error| Failure::usage(format!("{}: {error}", root.display())))
}

/// Points a run on a worktree at the user's state directory and environment store.
fn worktree_options(root: &Path, mut options: RunOptions) -> RunOptions {
    let state = root.join(".greenlight");
    options.env_store = Some(state.join("envs"));
    options.state_dir = Some(state);
    options
}

/// A failure, or "interrupted" when the user stopped us while it happened.
fn or_interrupted(stop: &Stop, failure: Failure) -> Failure {
    if stop.is_cancelled() { Failure::interrupted("interrupted; the temporary worktree was removed") } else { failure }
}

/// Removes `worktree`, warning (not failing) when git could not.
async fn remove_worktree(worktree: Worktree) {
    let dir = worktree.dir().to_path_buf();
    if let Err(error) = worktree.remove().await {
        eprintln!("warning: removing the temporary worktree {} reported: {error}", dir.display());
    }
}

/// The project root inside `worktree`, or why the project is not there at that commit.
fn project_in(worktree: &Worktree, rev: &str) -> Result<PathBuf, Failure> {
    let root = worktree.project_root();
    if root.is_dir() {
        Ok(root)
    } else {
        Err(Failure::usage(format!("the project directory does not exist at `{rev}` (no {} there)", root.display())))
    }
}

/// `greenlight run --rev REV`: the pipeline on a clean checkout of `rev` in a temporary
/// worktree, removed afterwards.
pub async fn run_at_rev(
    root: &Path,
    rev: &str,
    selection: &Selection,
    options: RunOptions,
    live: Arc<LiveView>,
    stop: &Stop,
) -> Result<RunReport, Failure> {
    let root = &absolute(root)?;
    let repo = Repo::open(root, stop).await.map_err(|error| or_interrupted(stop, Failure::usage(error)))?;
    let sha = repo.resolve(rev, stop).await.map_err(|error| or_interrupted(stop, Failure::usage(error)))?;
    let worktree = Worktree::add(&repo, &sha, "rev", true, stop)
        .await
        .map_err(|error| or_interrupted(stop, Failure::errored(error)))?;
    let result = match project_in(&worktree, rev) {
        Ok(checkout) => {
            if stop.is_cancelled() {
                Err(Failure::interrupted("interrupted before the run started"))
            } else {
                run_pipeline(&checkout, selection, worktree_options(root, options), live, stop).await
            }
        }
        Err(failure) => Err(failure),
    };
    remove_worktree(worktree).await;
    let mut report = result?;
    report.project.root = root.display().to_string();
    report.project.commit = Some(sha.clone());
    report.project.rev = Some(rev.to_string());
    eprintln!("checked `{rev}` ({}) in a temporary worktree; your checkout was not touched", &sha[..12.min(sha.len())]);
    Ok(report)
}

// ---------------------------------------------------------------------------------------------
// bisect

/// What `greenlight bisect --json` writes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BisectResult {
    /// Version of this document's shape.
    pub schema_version: u32,
    /// `found` (every check has its first bad commit) or `ambiguous` (untestable commits hide
    /// some).
    pub outcome: String,
    /// The good revision as given and resolved.
    pub good: RevRef,
    /// The bad revision as given and resolved.
    pub bad: RevRef,
    /// Bisected along the first-parent line of `bad` (one commit per merged pull request).
    pub first_parent: bool,
    /// Commits between good (excluded) and bad (included).
    pub commits: usize,
    /// Pipeline runs made (including the runs at good and bad).
    pub runs: usize,
    /// Wall-clock time.
    pub duration_ms: u64,
    /// The earliest first bad commit of all checks, when known.
    pub first_bad: Option<CommitInfo>,
    /// Each bisected check.
    pub checks: Vec<CheckBisection>,
    /// Every commit a run was made on, oldest first.
    pub tested: Vec<TestedCommit>,
    /// Checks that were not bisected, and why.
    #[serde(default)]
    pub notes: Vec<String>,
}

/// A revision as the user gave it and the commit it named.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RevRef {
    /// As given (`main`, `v1.2`).
    pub rev: String,
    /// Full sha.
    pub commit: String,
}

/// The answer for one check.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckBisection {
    /// Check id.
    pub check: String,
    /// `found` or `ambiguous`.
    pub outcome: String,
    /// The first commit at which the check fails.
    pub first_bad: Option<CommitInfo>,
    /// When ambiguous: the commits that could be the first bad one (untestable ones, then the
    /// first known bad one).
    #[serde(default)]
    pub candidates: Vec<CommitInfo>,
    /// The check's summary at the first bad commit.
    #[serde(default)]
    pub summary: Option<String>,
    /// Findings at the first bad commit that its parent did not have.
    #[serde(default)]
    pub new_findings: Vec<Finding>,
}

/// One commit the pipeline ran on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TestedCommit {
    /// Full sha.
    pub commit: String,
    /// First line of its message.
    pub subject: String,
    /// The outcome of each check run there.
    pub outcomes: BTreeMap<String, Outcome>,
    /// Checks that could not decide there (skipped in the bisection, like `git bisect skip`).
    #[serde(default)]
    pub untestable: Vec<String>,
}

/// `greenlight bisect`.
pub async fn bisect(args: BisectArgs, env: &Env) -> Result<ExitCode, Failure> {
    let started = Instant::now();
    let root = absolute(&project_root(&args.project)?)?;
    let stop = Stop::new();
    let signals = tokio::spawn(watch_signals(stop.clone()));
    let result = bisect_setup(&args, &root, &stop, started, env).await;
    signals.abort();
    result
}

async fn bisect_setup(
    args: &BisectArgs,
    root: &Path,
    stop: &Stop,
    started: Instant,
    env: &Env,
) -> Result<ExitCode, Failure> {
    let usage = |error: String| or_interrupted(stop, Failure::usage(error));
    let repo = Repo::open(root, stop).await.map_err(usage)?;
    let good = repo.resolve(&args.good, stop).await.map_err(usage)?;
    let bad = repo.resolve(&args.bad, stop).await.map_err(usage)?;
    if good == bad {
        return Err(Failure::usage(format!(
            "--good `{}` and --bad `{}` are the same commit; give an older good revision",
            args.good, args.bad
        )));
    }
    if !repo.is_ancestor(&good, &bad, stop).await.map_err(usage)? {
        return Err(Failure::usage(format!(
            "--good `{}` is not an ancestor of --bad `{}`; bisect needs a good commit in the bad one's history (`git merge-base {} {}` is a candidate)",
            args.good, args.bad, args.good, args.bad
        )));
    }
    let commits = repo.first_parent_path(&good, &bad, stop).await.map_err(usage)?;
    if commits.last() != Some(&bad) {
        return Err(Failure::errored(format!(
            "cannot list the commits from `{}` to `{}` along the first-parent line",
            args.good, args.bad
        )));
    }
    let tool_pins = match &args.tools_from {
        Some(path) => tools_from(path)?,
        None => BTreeMap::new(),
    };
    let options = worktree_options(
        root,
        RunOptions {
            jobs: args.jobs,
            timeout: args.timeout,
            tool_pins,
            vars: env.vars().clone(),
            ..RunOptions::default()
        },
    );
    let worktree = Worktree::add(&repo, &bad, "bisect", true, stop)
        .await
        .map_err(|error| or_interrupted(stop, Failure::errored(error)))?;
    let mut session = Session {
        args,
        repo: &repo,
        worktree: &worktree,
        options,
        stop,
        env,
        runs: 0,
        infos: HashMap::new(),
        tested: Vec::new(),
    };
    let result = session.bisect(&good, &bad, &commits, started).await;
    remove_worktree(worktree).await;
    result
}

/// One bisection in one worktree.
struct Session<'a> {
    args: &'a BisectArgs,
    repo: &'a Repo,
    worktree: &'a Worktree,
    options: RunOptions,
    stop: &'a Stop,
    env: &'a Env,
    runs: usize,
    infos: HashMap<String, CommitInfo>,
    tested: Vec<(String, Vec<String>, RunReport)>,
}

impl Session<'_> {
    async fn info(&mut self, sha: &str) -> Result<CommitInfo, Failure> {
        if let Some(info) = self.infos.get(sha) {
            return Ok(info.clone());
        }
        let info = self.repo.commit_info(sha, self.stop).await.map_err(Failure::errored)?;
        self.infos.insert(sha.to_string(), info.clone());
        Ok(info)
    }

    /// Checks out `sha` and runs `checks` (all that apply when empty) there.
    async fn run_at(&mut self, sha: &str, checks: &[String]) -> Result<RunReport, Failure> {
        self.worktree
            .checkout(sha, self.stop)
            .await
            .map_err(|error| or_interrupted(self.stop, Failure::errored(error)))?;
        let checkout = project_in(self.worktree, sha)?;
        let selection = Selection { only: checks.to_vec(), skip: Vec::new() };
        let mut options = self.options.clone();
        options.rev = Some(sha.to_string());
        let live = live_view(true, true, self.env);
        let report = run_pipeline(&checkout, &selection, options, live, self.stop).await?;
        self.runs += 1;
        if report.interrupted || self.stop.is_cancelled() {
            return Err(Failure::interrupted(
                "interrupted; the temporary worktree was removed and nothing else changed",
            ));
        }
        let ran = report
            .checks
            .iter()
            .filter(|check| checks.is_empty() || checks.contains(&check.id))
            .filter(|check| check.kind == greenlight_report::NodeKind::Check)
            .map(|check| check.id.clone())
            .collect();
        self.tested.push((sha.to_string(), ran, report.clone()));
        Ok(report)
    }

    /// [`Session::run_at`] for a commit inside the range: a commit whose configuration cannot
    /// be loaded, or that lacks the project, cannot be tested, which does not end the bisection.
    async fn probe(&mut self, sha: &str, checks: &[String]) -> Result<RunReport, Failure> {
        match self.run_at(sha, checks).await {
            Err(failure) if failure.is_usage() && !self.stop.is_cancelled() => {
                let mut report = RunReport {
                    schema_version: greenlight_report::SCHEMA_VERSION,
                    greenlight_version: greenlight_report::GREENLIGHT_VERSION.to_string(),
                    run_id: String::new(),
                    outcome: Outcome::Errored,
                    interrupted: false,
                    project: Default::default(),
                    started_at: String::new(),
                    duration_ms: 0,
                    tools: Default::default(),
                    checks: Vec::new(),
                };
                for id in checks {
                    let mut check = greenlight_report::CheckReport::new(id, id, Outcome::Errored);
                    check.summary = "cannot be tested at this commit".to_string();
                    check.reason = Some(failure.message().to_string());
                    report.checks.push(check);
                }
                self.tested.push((sha.to_string(), checks.to_vec(), report.clone()));
                Ok(report)
            }
            other => other,
        }
    }

    async fn progress(&mut self, label: &str, sha: &str, report: &RunReport) -> Result<(), Failure> {
        if self.args.quiet {
            return Ok(());
        }
        let info = self.info(sha).await?;
        let outcomes: Vec<String> = report
            .checks
            .iter()
            .filter(|check| {
                check.kind == greenlight_report::NodeKind::Check
                    && !check.skip_cause.as_ref().is_some_and(SkipCause::is_deselected)
            })
            .map(|check| format!("{} {}", check.id, check.outcome))
            .collect();
        eprintln!("{label:<10} {}  {}  {}", info.short, outcomes.join(", "), truncate(&info.subject, 60));
        Ok(())
    }

    async fn bisect(
        &mut self,
        good: &str,
        bad: &str,
        commits: &[String],
        started: Instant,
    ) -> Result<ExitCode, Failure> {
        let args = self.args;
        if !args.quiet {
            eprintln!(
                "bisecting {} commits from `{}` to `{}` along the first-parent line",
                commits.len(),
                args.good,
                args.bad
            );
        }
        // The checks failing at bad (or the ones asked for).
        let bad_report = self.run_at(bad, &args.checks).await?;
        self.progress("bad", bad, &bad_report).await?;
        let mut notes = Vec::new();
        let mut selected = Vec::new();
        let candidates: Vec<&greenlight_report::CheckReport> =
            bad_report.checks.iter().filter(|check| check.kind == greenlight_report::NodeKind::Check).collect();
        for check in &candidates {
            let asked = args.checks.contains(&check.id);
            match check.outcome {
                Outcome::Failed => selected.push(check.id.clone()),
                outcome if asked => notes.push(format!(
                    "`{}` is {outcome} at --bad `{}`, not failed: {}",
                    check.id,
                    args.bad,
                    check.reason.clone().unwrap_or_else(|| check.summary.clone())
                )),
                _ => {}
            }
        }
        if selected.is_empty() {
            let outcomes: Vec<String> = candidates
                .iter()
                .filter(|check| check.outcome != Outcome::Skipped)
                .map(|check| format!("{} {}", check.id, check.outcome))
                .collect();
            return Err(Failure::usage(format!(
                "nothing to bisect: no check fails at --bad `{}` ({}){}; give a bad revision where a check fails",
                args.bad,
                if outcomes.is_empty() { "no check ran".to_string() } else { outcomes.join(", ") },
                if notes.is_empty() { String::new() } else { format!("\n  {}", notes.join("\n  ")) }
            )));
        }

        // Good must pass them.
        let good_report = self.run_at(good, &selected).await?;
        self.progress("good", good, &good_report).await?;
        let mut kept = Vec::new();
        for id in &selected {
            let check = good_report.check(id);
            match check.map(|check| check.outcome) {
                Some(Outcome::Passed) => kept.push(id.clone()),
                Some(Outcome::Failed) => notes.push(format!(
                    "`{id}` already fails at --good `{}`; to bisect it, give an older --good where it passes",
                    args.good
                )),
                Some(outcome) => notes.push(format!(
                    "`{id}` is {outcome} at --good `{}`, so it cannot be bisected from there: {}",
                    args.good,
                    check.and_then(|check| check.reason.clone()).unwrap_or_default()
                )),
                None => notes.push(format!("`{id}` did not run at --good `{}`", args.good)),
            }
        }
        if kept.is_empty() {
            return Err(Failure::usage(format!("nothing to bisect:\n  {}", notes.join("\n  "))));
        }

        let mut bisection = MultiBisection::new(&kept, commits.len());
        let mut reports: HashMap<usize, RunReport> = HashMap::new();
        reports.insert(commits.len() - 1, bad_report);
        while let Some((index, checks)) = bisection.next_probe() {
            let sha = commits[index].clone();
            let report = self.probe(&sha, &checks).await?;
            for id in &checks {
                let verdict = match report.check(id).map(|check| check.outcome) {
                    Some(Outcome::Passed) => Verdict::Good,
                    Some(Outcome::Failed) => Verdict::Bad,
                    _ => Verdict::Skip,
                };
                bisection.record(id, index, verdict);
            }
            let label = format!("[{} left]", bisection.steps_left());
            self.progress(&label, &sha, &report).await?;
            reports.insert(index, report);
        }

        // The answers.
        let mut results = Vec::new();
        let mut first_bad_index: Option<usize> = None;
        let mut ambiguous = false;
        for (id, state) in bisection.answers() {
            match state {
                State::Found(index) => {
                    let sha = commits[index].clone();
                    let info = self.info(&sha).await?;
                    let at_bad = reports.get(&index).and_then(|report| report.check(&id)).cloned();
                    let parent = if index == 0 {
                        good_report.check(&id)
                    } else {
                        reports.get(&(index - 1)).and_then(|r| r.check(&id))
                    };
                    let new_findings = match (&at_bad, parent) {
                        (Some(at_bad), Some(parent)) => appeared(&at_bad.findings, &parent.findings),
                        (Some(at_bad), None) => at_bad.findings.clone(),
                        _ => Vec::new(),
                    };
                    first_bad_index = Some(first_bad_index.map_or(index, |current| current.min(index)));
                    results.push(CheckBisection {
                        check: id,
                        outcome: "found".to_string(),
                        first_bad: Some(info),
                        candidates: Vec::new(),
                        summary: at_bad.map(|check| check.summary),
                        new_findings,
                    });
                }
                State::Ambiguous(indices) => {
                    ambiguous = true;
                    let mut candidates = Vec::new();
                    for index in indices {
                        candidates.push(self.info(&commits[index]).await?);
                    }
                    results.push(CheckBisection {
                        check: id,
                        outcome: "ambiguous".to_string(),
                        first_bad: None,
                        candidates,
                        summary: None,
                        new_findings: Vec::new(),
                    });
                }
                State::Next(_) => {}
            }
        }
        let first_bad = match first_bad_index {
            Some(index) => Some(self.info(&commits[index]).await?),
            None => None,
        };
        let mut tested = Vec::new();
        let order: HashMap<&str, usize> = commits.iter().enumerate().map(|(i, sha)| (sha.as_str(), i + 1)).collect();
        let mut runs = self.tested.clone();
        runs.sort_by_key(|(sha, _, _)| order.get(sha.as_str()).copied().unwrap_or(0));
        for (sha, ran, report) in &runs {
            let info = self.info(sha).await?;
            let checks: Vec<&greenlight_report::CheckReport> =
                report.checks.iter().filter(|check| ran.contains(&check.id) && kept.contains(&check.id)).collect();
            tested.push(TestedCommit {
                commit: sha.clone(),
                subject: info.subject,
                outcomes: checks.iter().map(|check| (check.id.clone(), check.outcome)).collect(),
                untestable: checks
                    .iter()
                    .filter(|check| !matches!(check.outcome, Outcome::Passed | Outcome::Failed))
                    .map(|check| check.id.clone())
                    .collect(),
            });
        }
        let result = BisectResult {
            schema_version: 1,
            outcome: if ambiguous { "ambiguous" } else { "found" }.to_string(),
            good: RevRef { rev: args.good.clone(), commit: good.to_string() },
            bad: RevRef { rev: args.bad.clone(), commit: bad.to_string() },
            first_parent: true,
            commits: commits.len(),
            runs: self.runs,
            duration_ms: started.elapsed().as_millis() as u64,
            first_bad,
            checks: results,
            tested,
            notes,
        };
        if let Some(path) = &args.json {
            let mut text = serde_json::to_string_pretty(&result).unwrap_or_default();
            text.push('\n');
            if path == Path::new("-") {
                print!("{text}");
            } else {
                write_file(path, &text)?;
            }
        }
        let rendered = render_bisect(&result);
        if args.json.as_deref() == Some(Path::new("-")) {
            eprint!("{rendered}");
        } else {
            print!("{rendered}");
        }
        Ok(if ambiguous { ExitCode::Errored } else { ExitCode::Success })
    }
}

/// Findings of `now` that `before` did not have, compared by check rule, file and message
/// (not line: code above a finding moves it), counting duplicates.
pub fn appeared(now: &[Finding], before: &[Finding]) -> Vec<Finding> {
    let key = |finding: &Finding| {
        (
            finding.rule.clone(),
            finding.location.as_ref().map(|location| location.path.clone()).unwrap_or_default(),
            finding.message.clone(),
        )
    };
    let mut remaining: HashMap<(String, String, String), usize> = HashMap::new();
    for finding in before {
        *remaining.entry(key(finding)).or_default() += 1;
    }
    now.iter()
        .filter(|finding| {
            let count = remaining.entry(key(finding)).or_default();
            if *count > 0 {
                *count -= 1;
                false
            } else {
                true
            }
        })
        .cloned()
        .collect()
}

fn render_bisect(result: &BisectResult) -> String {
    let mut out = String::new();
    for check in &result.checks {
        out.push('\n');
        match &check.first_bad {
            Some(commit) => {
                let _ = writeln!(out, "{}: first bad commit {}", check.check, commit.sha);
                let _ = writeln!(out, "  {}", commit.subject);
                let _ = writeln!(out, "  author: {}, {}", commit.author, commit.date);
                if commit.is_merge() {
                    let _ = writeln!(out, "  a merge: revert it with `git revert -m 1 {}`", commit.short);
                }
                if let Some(summary) = &check.summary {
                    let _ = writeln!(out, "  {} there: {summary}", check.check);
                }
                if !check.new_findings.is_empty() {
                    let _ = writeln!(out, "  findings that appeared there:");
                    for finding in check.new_findings.iter().take(30) {
                        let _ = writeln!(out, "    {}", finding_line(finding));
                    }
                    if check.new_findings.len() > 30 {
                        let _ = writeln!(out, "    … and {} more (all in --json)", check.new_findings.len() - 30);
                    }
                }
            }
            None => {
                let _ = writeln!(
                    out,
                    "{}: the first bad commit is one of these (the others could not be tested):",
                    check.check
                );
                for commit in &check.candidates {
                    let _ = writeln!(out, "  {}  {}", commit.short, commit.subject);
                }
            }
        }
    }
    for note in &result.notes {
        let _ = writeln!(out, "note: {note}");
    }
    let untestable: Vec<&TestedCommit> = result.tested.iter().filter(|commit| !commit.untestable.is_empty()).collect();
    if !untestable.is_empty() {
        let _ = writeln!(out, "\nskipped as untestable (a check could not decide there):");
        for commit in untestable {
            let _ = writeln!(
                out,
                "  {}  {}: {}",
                &commit.commit[..12.min(commit.commit.len())],
                commit.subject,
                commit
                    .untestable
                    .iter()
                    .map(|id| format!("{id} {}", commit.outcomes.get(id).map_or("?", |o| o.as_str())))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    let _ = writeln!(
        out,
        "\n{} commits, {} runs in {:.1}s",
        result.commits,
        result.runs,
        result.duration_ms as f64 / 1000.0
    );
    out
}

fn finding_line(finding: &Finding) -> String {
    let place = finding.location.as_ref().map(|location| location.display()).unwrap_or_default();
    let message = finding.message.lines().next().unwrap_or_default();
    if place.is_empty() {
        format!("{}  {}", finding.rule, truncate(message, 120))
    } else {
        format!("{place}  {}  {}", finding.rule, truncate(message, 120))
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut out: String = text.chars().take(max - 1).collect();
        out.push('…');
        out
    }
}

// ---------------------------------------------------------------------------------------------
// hotfix

/// The default branch `hotfix` creates.
pub const DEFAULT_BRANCH: &str = "hotfix/restore-main-green";
/// The default base of a hotfix.
pub const DEFAULT_BASE: &str = "main";

/// A commit to revert, with what bisect knew about it.
#[derive(Debug, Clone)]
struct Revert {
    info: CommitInfo,
    broke: Vec<String>,
    findings: Vec<(String, Finding)>,
}

/// `greenlight hotfix`.
pub async fn hotfix(args: HotfixArgs, env: &Env) -> Result<ExitCode, Failure> {
    let root = absolute(&project_root(&args.project)?)?;
    let stop = Stop::new();
    let signals = tokio::spawn(watch_signals(stop.clone()));
    let result = hotfix_setup(&args, &root, &stop, env).await;
    signals.abort();
    result
}

async fn hotfix_setup(args: &HotfixArgs, root: &Path, stop: &Stop, env: &Env) -> Result<ExitCode, Failure> {
    let usage = |error: String| or_interrupted(stop, Failure::usage(error));
    let ids: Vec<&str> = registry().iter().map(|factory| factory.id).collect();
    let config =
        greenlight_orchestrator::Config::load(root, &ids).map_err(|error| Failure::usage(error.to_string()))?;
    let settings = &config.settings.hotfix;
    let branch = args.branch.clone().or_else(|| settings.branch.clone()).unwrap_or_else(|| DEFAULT_BRANCH.to_string());
    let base_rev = args.base.clone().or_else(|| settings.base.clone()).unwrap_or_else(|| DEFAULT_BASE.to_string());
    let repo = Repo::open(root, stop).await.map_err(usage)?;
    let valid_name = repo
        .git()
        .args(["check-ref-format", "--branch", &branch])
        .run(stop)
        .await
        .is_ok_and(|output| output.status.success());
    if !valid_name {
        return Err(Failure::usage(format!("`{branch}` is not a valid branch name; pass another with --branch")));
    }
    let base = repo.resolve(&base_rev, stop).await.map_err(|error| {
        usage(format!("{error}\n  the hotfix starts from `{base_rev}`; pass --base REV if main has another name"))
    })?;

    // What to revert.
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
    if let Some(path) = &args.from_bisect {
        let text = std::fs::read_to_string(path)
            .map_err(|error| Failure::usage(format!("--from-bisect {}: {error}", path.display())))?;
        let result: BisectResult = serde_json::from_str(&text).map_err(|error| {
            Failure::usage(format!(
                "--from-bisect {}: not a `greenlight bisect --json` result ({error})",
                path.display()
            ))
        })?;
        for check in result.checks {
            match check.first_bad {
                Some(info) => {
                    let info = repo.commit_info(&info.sha, stop).await.map_err(usage)?;
                    let findings = check.new_findings.into_iter().map(|f| (check.check.clone(), f)).collect();
                    add(info, vec![check.check.clone()], findings);
                }
                None => {
                    return Err(Failure::usage(format!(
                        "the bisection of `{}` in {} did not name one commit (candidates: {}); choose with --revert SHA",
                        check.check,
                        path.display(),
                        check.candidates.iter().map(|c| c.short.clone()).collect::<Vec<_>>().join(", ")
                    )));
                }
            }
        }
    }
    for rev in &args.revert {
        let sha = repo.resolve(rev, stop).await.map_err(usage)?;
        let info = repo.commit_info(&sha, stop).await.map_err(usage)?;
        add(info, Vec::new(), Vec::new());
    }
    if reverts.is_empty() {
        return Err(Failure::usage(
            "nothing to revert: pass --revert SHA, or --from-bisect FILE written by `greenlight bisect --json FILE`",
        ));
    }
    for revert in &reverts {
        if !repo.is_ancestor(&revert.info.sha, &base, stop).await.map_err(usage)? {
            return Err(Failure::usage(format!(
                "{} (\"{}\") is not in the history of `{base_rev}`; there is nothing to revert there",
                revert.info.short, revert.info.subject
            )));
        }
    }
    // Newest first, so each revert applies on top of the later ones' removal.
    let mut ordered: Vec<Revert> = Vec::new();
    for revert in reverts {
        let mut at = ordered.len();
        for (index, other) in ordered.iter().enumerate() {
            if repo.is_ancestor(&other.info.sha, &revert.info.sha, stop).await.map_err(usage)? {
                at = index;
                break;
            }
        }
        ordered.insert(at, revert);
    }
    if repo.branch_exists(&branch, stop).await {
        return Err(Failure::usage(format!(
            "the branch `{branch}` already exists; delete it (`git branch -D {branch}`) or pass --branch NAME"
        )));
    }

    let worktree = Worktree::add(&repo, &base, "hotfix", !args.keep_worktree, stop)
        .await
        .map_err(|error| or_interrupted(stop, Failure::errored(error)))?;
    let mut branch_created = false;
    let result =
        hotfix_in(args, &config, root, &worktree, &base_rev, &base, &branch, &ordered, &mut branch_created, stop, env)
            .await;
    let keep = args.keep_worktree && matches!(result, Ok(Some(_)));
    let kept = if keep {
        Some(worktree.keep())
    } else {
        remove_worktree(worktree).await;
        None
    };
    match result {
        Ok(Some(done)) => {
            let mut out = String::new();
            let _ = writeln!(out, "\nnothing was pushed. To open the pull request:");
            let _ = writeln!(out, "  git push -u origin {branch}");
            let _ = writeln!(
                out,
                "  gh pr create --base {base_rev} --head {branch} --title {} --body-file {}",
                shell_quote(&done.title),
                shell_quote(&done.body_path.display().to_string())
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
            print!("{out}");
            Ok(done.code)
        }
        Ok(None) => Ok(ExitCode::Success),
        Err(failure) => {
            if branch_created {
                let cleanup = Stop::new();
                if let Err(error) = repo.delete_branch(&branch, &cleanup).await {
                    eprintln!("warning: could not delete the branch `{branch}` greenlight created: {error}");
                }
            }
            Err(failure)
        }
    }
}

/// What a finished hotfix left.
struct HotfixDone {
    code: ExitCode,
    title: String,
    body_path: PathBuf,
}

#[expect(clippy::too_many_arguments, reason = "one call site; the steps share all of it")]
async fn hotfix_in(
    args: &HotfixArgs,
    config: &greenlight_orchestrator::Config,
    root: &Path,
    worktree: &Worktree,
    base_rev: &str,
    base: &str,
    branch: &str,
    reverts: &[Revert],
    branch_created: &mut bool,
    stop: &Stop,
    env: &Env,
) -> Result<Option<HotfixDone>, Failure> {
    let checkout = project_in(worktree, base_rev)?;
    let tool_pins = match &args.tools_from {
        Some(path) => tools_from(path)?,
        None => BTreeMap::new(),
    };
    let options = worktree_options(
        root,
        RunOptions { jobs: args.jobs, tool_pins, vars: env.vars().clone(), ..RunOptions::default() },
    );
    let selection = Selection { only: args.checks.clone(), skip: Vec::new() };
    let interrupted =
        || Failure::interrupted("interrupted; the temporary worktree was removed and no branch was left behind");

    // 1. main, as evidence.
    let main_report = match &args.main_report {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|error| Failure::usage(format!("--main-report {}: {error}", path.display())))?;
            let report = greenlight_reporters::json::parse(&text).map_err(|error| {
                Failure::usage(format!("--main-report {}: not a greenlight JSON report ({error})", path.display()))
            })?;
            if report.project.commit.as_deref() != Some(base) {
                eprintln!(
                    "warning: --main-report {} is of commit {}, not of `{base_rev}` ({})",
                    path.display(),
                    report.project.commit.as_deref().unwrap_or("unknown"),
                    &base[..12]
                );
            }
            report
        }
        None => {
            if !args.quiet {
                eprintln!("running the checks on `{base_rev}` ({})", &base[..12]);
            }
            let mut options = options.clone();
            options.rev = Some(base_rev.to_string());
            let live = live_view(args.quiet, true, env);
            let mut report = run_pipeline(&checkout, &selection, options, live, stop).await?;
            if report.interrupted {
                return Err(interrupted());
            }
            report.project.commit = Some(base.to_string());
            report
        }
    };
    let main_failing: Vec<&greenlight_report::CheckReport> =
        main_report.checks.iter().filter(|check| check.outcome == Outcome::Failed).collect();
    if main_failing.is_empty() {
        let undecided: Vec<String> = main_report
            .checks
            .iter()
            .filter(|check| matches!(check.outcome, Outcome::Errored | Outcome::TimedOut))
            .map(|check| format!("{} {}", check.id, check.outcome))
            .collect();
        if undecided.is_empty() {
            println!("`{base_rev}` ({}) is green: no check fails there; there is nothing to restore", &base[..12]);
            return Ok(None);
        }
        return Err(Failure::errored(format!(
            "no check fails on `{base_rev}` ({}), but some could not decide ({}); fix that first (`greenlight run --rev {base_rev}` shows why)",
            &base[..12],
            undecided.join(", ")
        )));
    }

    // 2. The branch and the reverts.
    worktree.run_git(&["switch", "--quiet", "--create", branch], stop).await.map_err(|error| {
        or_interrupted(stop, Failure::errored(format!("cannot create the branch `{branch}`: {error}")))
    })?;
    *branch_created = true;
    let mut revert_commands = Vec::new();
    for revert in reverts {
        let mut command = vec!["revert", "--no-edit"];
        if revert.info.is_merge() {
            command.extend(["-m", "1"]);
        }
        command.push(&revert.info.sha);
        if let Err(error) = worktree.run_git(&command, stop).await {
            if stop.is_cancelled() {
                return Err(interrupted());
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
            return Err(Failure::errored(format!(
                "reverting {} (\"{}\") on `{base_rev}` failed: {detail}\n  later commits build on it; revert by hand: `git switch -c {branch} {base_rev} && git revert {}{}`",
                revert.info.short,
                revert.info.subject,
                if revert.info.is_merge() { "-m 1 " } else { "" },
                revert.info.short
            )));
        }
        revert_commands.push(format!(
            "git revert --no-edit {}{}",
            if revert.info.is_merge() { "-m 1 " } else { "" },
            revert.info.short
        ));
    }
    let head = worktree.run_git(&["rev-parse", "HEAD"], stop).await.map_err(Failure::errored)?.trim().to_string();
    let changed = worktree.run_git(&["diff", "--stat=100", base, "HEAD"], stop).await.map_err(Failure::errored)?;

    // 3. The pipeline on the result.
    if !args.quiet {
        eprintln!("running the checks on `{branch}` ({})", &head[..12]);
    }
    let mut hotfix_options = options.clone();
    hotfix_options.rev = Some(branch.to_string());
    let live = live_view(args.quiet, true, env);
    let mut report = run_pipeline(&checkout, &selection, hotfix_options, live, stop).await?;
    if report.interrupted {
        return Err(interrupted());
    }
    report.project.root = root.display().to_string();
    report.project.commit = Some(head.clone());
    report.project.rev = Some(branch.to_string());
    if let Some(path) = &args.json {
        write_json(path, &report)?;
    }
    let green = !report.checks.iter().any(|check| {
        check.kind == greenlight_report::NodeKind::Check
            && matches!(check.outcome, Outcome::Failed | Outcome::Errored | Outcome::TimedOut)
    });

    // 4. The PR body, checked by the policy on the hotfix branch.
    let description = args.description.clone().unwrap_or_else(|| default_description(reverts, base_rev));
    let title = format!("HOTFIX: {description}");
    let settings = &config.settings.hotfix;
    let sections = greenlight_plugin_policy::PolicyOptions::load(&config.source)
        .map(|options| options.rules().sections)
        .unwrap_or_else(|_| greenlight_plugin_policy::DEFAULT_SECTIONS.iter().map(|s| s.to_string()).collect());
    let body = hotfix_body(&BodyInput {
        base_rev,
        base,
        branch,
        head: &head,
        reverts,
        revert_commands: &revert_commands,
        main: &main_report,
        hotfix: &report,
        changed: &changed,
        auto_run_mode: settings.auto_run_mode.as_deref().unwrap_or("MANUAL"),
        milestone: args.milestone.as_deref().or(settings.milestone_id.as_deref()).unwrap_or("HOTFIX"),
        blueprint: args
            .blueprint
            .clone()
            .or(settings.blueprint_ref.clone())
            .unwrap_or_else(|| format!("revert-{}", reverts[0].info.short)),
        sections: &sections,
    });
    let body_path = args.body_out.clone().unwrap_or_else(|| root.join(".greenlight/hotfix/PR_BODY.md"));
    write_file(&body_path, &body)?;
    let title_path = body_path.with_file_name("PR_TITLE.txt");
    write_file(&title_path, &format!("{title}\n"))?;

    let mut vars: BTreeMap<String, String> = env.vars().clone();
    pr_vars(&mut vars, Some(&body_path), Some(base), None, &[])?;
    let policy_options = RunOptions { vars, ..options.clone() };
    let policy_selection = Selection { only: vec![greenlight_plugin_policy::ID.to_string()], skip: Vec::new() };
    let policy_report =
        run_pipeline(&checkout, &policy_selection, policy_options, live_view(true, true, env), stop).await?;
    if policy_report.interrupted {
        return Err(interrupted());
    }

    // 5. What happened.
    print_summary(&report, false, args.quiet, args.json.as_deref() == Some(Path::new("-")), env);
    let mut out = String::new();
    let failing_on_main: Vec<String> = main_failing.iter().map(|check| check.id.clone()).collect();
    if green {
        let _ = writeln!(
            out,
            "\n`{branch}` ({}): main would be green again (failing on `{base_rev}`: {})",
            &head[..12],
            failing_on_main.join(", ")
        );
    } else {
        let still: Vec<String> = report
            .checks
            .iter()
            .filter(|check| matches!(check.outcome, Outcome::Failed | Outcome::Errored | Outcome::TimedOut))
            .map(|check| format!("{} {}", check.id, check.outcome))
            .collect();
        let _ = writeln!(out, "\n`{branch}` ({}): main would NOT be green yet: {}", &head[..12], still.join(", "));
        let _ =
            writeln!(out, "  revert more (`greenlight bisect` finds what else broke), or fix forward on the branch");
    }
    let policy = policy_report.check(greenlight_plugin_policy::ID);
    let _ = writeln!(out, "PR title: {title}");
    match policy.map(|check| check.outcome) {
        Some(Outcome::Passed) => {
            let _ = writeln!(out, "PR body:  {} (passes the policy check)", body_path.display());
        }
        _ => {
            let _ = writeln!(out, "PR body:  {} — the policy check does not pass it yet:", body_path.display());
            if let Some(check) = policy {
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
    print!("{out}");
    let code = ExitCode::for_outcomes(report.checks.iter().chain(&policy_report.checks).map(|check| check.outcome));
    Ok(Some(HotfixDone { code, title, body_path }))
}

fn default_description(reverts: &[Revert], base_rev: &str) -> String {
    match reverts {
        [one] => {
            format!("revert {} \"{}\" to restore a green {base_rev}", one.info.short, truncate(&one.info.subject, 60))
        }
        many => format!(
            "revert {} to restore a green {base_rev}",
            many.iter().map(|revert| revert.info.short.clone()).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Everything the hotfix PR body says.
struct BodyInput<'a> {
    base_rev: &'a str,
    base: &'a str,
    branch: &'a str,
    head: &'a str,
    reverts: &'a [Revert],
    revert_commands: &'a [String],
    main: &'a RunReport,
    hotfix: &'a RunReport,
    changed: &'a str,
    auto_run_mode: &'a str,
    milestone: &'a str,
    blueprint: String,
    sections: &'a [String],
}

/// The hotfix PR body: metadata, then the sections filled with the evidence.
fn hotfix_body(input: &BodyInput<'_>) -> String {
    let short = |sha: &str| sha[..12.min(sha.len())].to_string();
    let checks = |report: &RunReport| -> String {
        let mut out = String::new();
        for check in report.checks.iter().filter(|check| check.kind == greenlight_report::NodeKind::Check) {
            if check.outcome == Outcome::Skipped {
                continue;
            }
            let _ = writeln!(out, "  - `{}`: {} — {}", check.id, check.outcome, check.summary);
        }
        out
    };
    let failing: Vec<String> = input
        .main
        .checks
        .iter()
        .filter(|check| check.outcome == Outcome::Failed)
        .map(|check| format!("`{}`", check.id))
        .collect();
    let hotfix_green = !input.hotfix.checks.iter().any(|check| {
        check.kind == greenlight_report::NodeKind::Check
            && matches!(check.outcome, Outcome::Failed | Outcome::Errored | Outcome::TimedOut)
    });

    let mut out = String::new();
    let _ = writeln!(out, "PR_TYPE: HOTFIX");
    let _ = writeln!(out, "AUTO_RUN_MODE: {}", input.auto_run_mode);
    let _ = writeln!(out, "MILESTONE_ID: {}", input.milestone);
    let _ = writeln!(out, "BLUEPRINT_REF: {}", input.blueprint);

    let mut sections: BTreeMap<&str, String> = BTreeMap::new();
    let mut ba = String::new();
    let _ = writeln!(
        ba,
        "`{}` is red at {}: {} failing. This hotfix reverts the commit{} that broke it, so `{}` is green again and work can continue:",
        input.base_rev,
        short(input.base),
        failing.join(", "),
        if input.reverts.len() == 1 { "" } else { "s" },
        input.base_rev
    );
    for revert in input.reverts {
        let broke = if revert.broke.is_empty() {
            String::new()
        } else {
            format!(
                " — first bad commit of {}",
                revert.broke.iter().map(|id| format!("`{id}`")).collect::<Vec<_>>().join(", ")
            )
        };
        let _ = writeln!(
            ba,
            "- {} \"{}\" by {} ({}){broke}",
            revert.info.short, revert.info.subject, revert.info.author, revert.info.date
        );
    }
    let _ = writeln!(ba, "The reverted change is to be re-landed with a fix in a follow-up pull request.");
    sections.insert("BA", ba);

    let mut qa = String::new();
    let _ = writeln!(qa, "Checked with `greenlight` on clean checkouts before pushing:");
    let _ = writeln!(qa, "- `{}` at {}: {}", input.base_rev, short(input.base), input.main.outcome);
    qa.push_str(&checks(input.main));
    let _ = writeln!(
        qa,
        "- `{}` at {} ({} + revert): {}{}",
        input.branch,
        short(input.head),
        input.base_rev,
        input.hotfix.outcome,
        if hotfix_green { " — every check that applies passes" } else { " — not green yet" }
    );
    qa.push_str(&checks(input.hotfix));
    let _ = writeln!(qa, "Reproduce: `greenlight run --rev {}`", input.branch);
    sections.insert("QA", qa);

    let mut sre = String::new();
    let _ = writeln!(sre, "Scope: only the reverted change leaves `{}`. Files changed by this hotfix:", input.base_rev);
    let _ = writeln!(sre, "```");
    sre.push_str(input.changed.trim_end());
    let _ = writeln!(sre, "\n```");
    let _ = writeln!(sre, "Rollback: revert this pull request; that restores the reverted change exactly as it was.");
    sections.insert("SRE", sre);

    let mut dev = String::new();
    let _ = writeln!(
        dev,
        "Made by `greenlight hotfix` on `{}` from `{}` ({}):",
        input.branch,
        input.base_rev,
        short(input.base)
    );
    for command in input.revert_commands {
        let _ = writeln!(dev, "- `{command}`");
    }
    let findings: Vec<&(String, Finding)> = input.reverts.iter().flat_map(|revert| &revert.findings).collect();
    if !findings.is_empty() {
        let _ = writeln!(
            dev,
            "Findings that appeared at the reverted commit{} (`greenlight bisect`):",
            if input.reverts.len() == 1 { "" } else { "s" }
        );
        for (check, finding) in findings.iter().take(20) {
            let _ = writeln!(dev, "- `{check}` {}", finding_line(finding));
        }
    }
    sections.insert("DEV", dev);

    for name in input.sections {
        let _ = writeln!(out, "\n[{name}]");
        match sections.get(name.as_str()) {
            Some(text) => out.push_str(text),
            None => {
                let _ = writeln!(out, "Hotfix: see [BA] and [QA]; the revert changes nothing else.");
            }
        }
    }
    out
}

fn shell_quote(word: &str) -> String {
    let plain =
        !word.is_empty() && word.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"-_./=:@,+%".contains(&byte));
    if plain { word.to_string() } else { format!("'{}'", word.replace('\'', "'\\''")) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use greenlight_report::{CheckReport, Location};

    fn finding(rule: &str, path: &str, line: u32, message: &str) -> Finding {
        Finding::new(rule, message, Some(Location::at(path, Some(line), None)))
    }

    #[test]
    fn appeared_ignores_moved_lines_and_counts_duplicates() {
        let before = vec![finding("F401", "a.py", 3, "`os` imported but unused")];
        let now = vec![
            finding("F401", "a.py", 5, "`os` imported but unused"),
            finding("F401", "a.py", 6, "`sys` imported but unused"),
            finding("E711", "b.py", 1, "comparison to None"),
            finding("E711", "b.py", 9, "comparison to None"),
        ];
        let new = appeared(&now, &before);
        let rules: Vec<(&str, u32)> =
            new.iter().map(|f| (f.rule.as_str(), f.location.as_ref().unwrap().line.unwrap())).collect();
        assert_eq!(rules, [("F401", 6), ("E711", 1), ("E711", 9)]);
    }

    fn report(outcomes: &[(&str, Outcome, &str)]) -> RunReport {
        RunReport {
            schema_version: 1,
            greenlight_version: "0".into(),
            run_id: String::new(),
            outcome: Outcome::worst(outcomes.iter().map(|(_, outcome, _)| *outcome)),
            interrupted: false,
            project: Default::default(),
            started_at: String::new(),
            duration_ms: 0,
            tools: Default::default(),
            checks: outcomes
                .iter()
                .map(|(id, outcome, summary)| {
                    let mut check = CheckReport::new(*id, *id, *outcome);
                    check.summary = summary.to_string();
                    check
                })
                .collect(),
        }
    }

    #[test]
    fn hotfix_body_passes_the_default_policy() {
        let commit = CommitInfo {
            sha: "a".repeat(40),
            short: "a".repeat(12),
            subject: "Merge branch 'feature'".into(),
            author: "Test Author <author@example.com>".into(),
            date: "2026-01-01T00:00:00+00:00".into(),
            parents: vec!["b".repeat(40), "c".repeat(40)],
        };
        let reverts = vec![Revert {
            info: commit,
            broke: vec!["pytest".into()],
            findings: vec![("pytest".into(), finding("test-failed", "tests/test_api.py", 4, "assert 1 == 2"))],
        }];
        let main = report(&[("ruff-check", Outcome::Passed, "no findings"), ("pytest", Outcome::Failed, "1 failed")]);
        let hotfix = report(&[("ruff-check", Outcome::Passed, "no findings"), ("pytest", Outcome::Passed, "6 passed")]);
        let sections: Vec<String> = ["BA", "QA", "SRE", "DEV"].iter().map(|s| s.to_string()).collect();
        let body = hotfix_body(&BodyInput {
            base_rev: "main",
            base: &"d".repeat(40),
            branch: DEFAULT_BRANCH,
            head: &"e".repeat(40),
            reverts: &reverts,
            revert_commands: &["git revert --no-edit -m 1 aaaaaaaaaaaa".to_string()],
            main: &main,
            hotfix: &hotfix,
            changed: " tests/test_api.py | 2 +-\n 1 file changed",
            auto_run_mode: "MANUAL",
            milestone: "HOTFIX",
            blueprint: "revert-aaaaaaaaaaaa".into(),
            sections: &sections,
        });
        let violations = greenlight_plugin_policy::evaluate(
            &greenlight_plugin_policy::Rules { non_empty_sections: true, ..Default::default() },
            &greenlight_plugin_policy::PullRequest { body: body.clone(), ..Default::default() },
            None,
        );
        assert_eq!(violations, vec![], "{body}");
        assert!(body.contains("PR_TYPE: HOTFIX"), "{body}");
        assert!(body.contains("`pytest`: failed — 1 failed"), "{body}");
        assert!(body.contains("git revert --no-edit -m 1"), "{body}");
        assert!(body.contains("first bad commit of `pytest`"), "{body}");
    }
}
