//! `greenlight bisect`: the first commit at which each failing check fails, between a good
//! and a bad revision, along the bad one's first-parent line (one commit per merged pull
//! request), by runs in one worktree that moves from commit to commit.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use greenlight_orchestrator::bisect::{MultiBisection, State, Verdict};
use greenlight_orchestrator::revision::{CommitInfo, Placement, Repo, Worktree};
use greenlight_report::{CheckReport, Finding, NodeKind, Outcome, RunReport, SkipCause, text};
use serde::{Deserialize, Serialize};

use crate::{Error, Runs, Show, project_in};

/// What to bisect.
#[derive(Debug, Clone)]
pub struct BisectRequest {
    /// A revision where the checks pass.
    pub good: String,
    /// A revision where they fail.
    pub bad: String,
    /// The checks to bisect; empty: the checks failing at `bad`.
    pub checks: Vec<String>,
}

/// Whether a bisection named one first bad commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BisectOutcome {
    /// The first bad commit is known.
    Found,
    /// Untestable commits hide which of some candidates is the first bad one.
    Ambiguous,
}

/// What `greenlight bisect --json` writes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BisectResult {
    /// Version of this document's shape.
    pub schema_version: u32,
    /// `found` (every check has its first bad commit) or `ambiguous` (untestable commits hide
    /// some).
    pub outcome: BisectOutcome,
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
    pub outcome: BisectOutcome,
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

/// `greenlight bisect` on the project at `root` (absolute). The worktree it runs in is
/// removed before it returns.
pub async fn bisect(runs: &Runs<'_>, root: &Path, request: &BisectRequest) -> Result<BisectResult, Error> {
    let started = Instant::now();
    let usage = |error: String| runs.or_interrupted(Error::Usage(error));
    let stop = runs.stop;
    let repo = Repo::open(root, &runs.env, stop).await.map_err(usage)?;
    let good = repo.resolve(&request.good, stop).await.map_err(usage)?;
    let bad = repo.resolve(&request.bad, stop).await.map_err(usage)?;
    if good == bad {
        return Err(Error::Usage(format!(
            "--good `{}` and --bad `{}` are the same commit; give an older good revision",
            request.good, request.bad
        )));
    }
    if !repo.is_ancestor(&good, &bad, stop).await.map_err(usage)? {
        return Err(Error::Usage(format!(
            "--good `{}` is not an ancestor of --bad `{}`; bisect needs a good commit in the bad one's history (`git merge-base {} {}` is a candidate)",
            request.good, request.bad, request.good, request.bad
        )));
    }
    let commits = repo.first_parent_path(&good, &bad, stop).await.map_err(usage)?;
    if commits.last() != Some(&bad) {
        return Err(Error::Errored(format!(
            "cannot list the commits from `{}` to `{}` along the first-parent line",
            request.good, request.bad
        )));
    }
    let worktree = Worktree::add(&repo, &bad, "bisect", Placement::Fixed, stop)
        .await
        .map_err(|error| runs.or_interrupted(Error::Errored(error)))?;
    let mut session = Session {
        runs,
        request,
        root,
        repo: &repo,
        worktree: &worktree,
        count: 0,
        infos: HashMap::new(),
        tested: Vec::new(),
    };
    let result = session.bisect(&good, &bad, &commits, started).await;
    runs.remove(worktree).await;
    result
}

/// One bisection in one worktree.
struct Session<'a> {
    runs: &'a Runs<'a>,
    request: &'a BisectRequest,
    root: &'a Path,
    repo: &'a Repo,
    worktree: &'a Worktree,
    /// Runs made so far.
    count: usize,
    infos: HashMap<String, CommitInfo>,
    tested: Vec<(String, Vec<String>, RunReport)>,
}

impl Session<'_> {
    async fn info(&mut self, sha: &str) -> Result<CommitInfo, Error> {
        if let Some(info) = self.infos.get(sha) {
            return Ok(info.clone());
        }
        let info = self.repo.commit_info(sha, self.runs.stop).await.map_err(Error::Errored)?;
        self.infos.insert(sha.to_string(), info.clone());
        Ok(info)
    }

    /// Checks out `sha` and runs `checks` (all that apply when empty) there.
    async fn run_at(&mut self, sha: &str, checks: &[String]) -> Result<RunReport, Error> {
        self.worktree
            .checkout(sha, self.runs.stop)
            .await
            .map_err(|error| self.runs.or_interrupted(Error::Errored(error)))?;
        let checkout = project_in(self.worktree, sha)?;
        let report = self.runs.run(&checkout, self.root, checks, sha, Show::Nothing).await?;
        self.count += 1;
        if report.interrupted || self.runs.stop.is_cancelled() {
            return Err(Error::Interrupted(
                "interrupted; the temporary worktree was removed and nothing else changed".to_string(),
            ));
        }
        let ran = report
            .checks
            .iter()
            .filter(|check| checks.is_empty() || checks.contains(&check.id))
            .filter(|check| check.kind == NodeKind::Check)
            .map(|check| check.id.clone())
            .collect();
        self.tested.push((sha.to_string(), ran, report.clone()));
        Ok(report)
    }

    /// [`Session::run_at`] for a commit inside the range: a commit whose configuration cannot
    /// be loaded, or that lacks the project, cannot be tested, which does not end the bisection.
    async fn probe(&mut self, sha: &str, checks: &[String]) -> Result<RunReport, Error> {
        match self.run_at(sha, checks).await {
            Err(failure @ Error::Usage(_)) if !self.runs.stop.is_cancelled() => {
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
                    as_of: None,
                    baseline: None,
                };
                for id in checks {
                    let mut check = CheckReport::new(id, id, Outcome::Errored);
                    check.summary = "cannot be tested at this commit".to_string();
                    check.reason = Some(failure.to_string());
                    report.checks.push(check);
                }
                self.tested.push((sha.to_string(), checks.to_vec(), report.clone()));
                Ok(report)
            }
            other => other,
        }
    }

    async fn progress(&mut self, label: &str, sha: &str, report: &RunReport) -> Result<(), Error> {
        let info = self.info(sha).await?;
        let outcomes: Vec<String> = report
            .checks
            .iter()
            .filter(|check| {
                check.kind == NodeKind::Check && !check.skip_cause.as_ref().is_some_and(SkipCause::is_deselected)
            })
            .map(|check| format!("{} {}{}", check.id, check.outcome, if check.cached { " (cached)" } else { "" }))
            .collect();
        self.runs.console.progress(&format!(
            "{label:<10} {}  {}  {}",
            info.short,
            outcomes.join(", "),
            text::clip(&info.subject, 60)
        ));
        Ok(())
    }

    async fn bisect(
        &mut self,
        good: &str,
        bad: &str,
        commits: &[String],
        started: Instant,
    ) -> Result<BisectResult, Error> {
        let args = self.request;
        self.runs.console.progress(&format!(
            "bisecting {} commits from `{}` to `{}` along the first-parent line",
            commits.len(),
            args.good,
            args.bad
        ));
        // The checks failing at bad (or the ones asked for).
        let bad_report = self.run_at(bad, &args.checks).await?;
        if let Ok(checkout) = project_in(self.worktree, bad) {
            self.runs.untracked_config_note(self.root, &checkout, &args.bad);
        }
        self.progress("bad", bad, &bad_report).await?;
        let mut notes = Vec::new();
        let mut selected = Vec::new();
        let candidates: Vec<&CheckReport> =
            bad_report.checks.iter().filter(|check| check.kind == NodeKind::Check).collect();
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
            return Err(Error::Usage(format!(
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
            return Err(Error::Usage(format!("nothing to bisect:\n  {}", notes.join("\n  "))));
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
                        outcome: BisectOutcome::Found,
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
                        outcome: BisectOutcome::Ambiguous,
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
            let checks: Vec<&CheckReport> =
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
        Ok(BisectResult {
            schema_version: 1,
            outcome: if ambiguous { BisectOutcome::Ambiguous } else { BisectOutcome::Found },
            good: RevRef { rev: args.good.clone(), commit: good.to_string() },
            bad: RevRef { rev: args.bad.clone(), commit: bad.to_string() },
            first_parent: true,
            commits: commits.len(),
            runs: self.count,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            first_bad,
            checks: results,
            tested,
            notes,
        })
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

/// The bisection's result for people: each check's first bad commit (or the candidates), the
/// notes, the untestable commits, and how long it took.
pub fn render_bisect(result: &BisectResult) -> String {
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

/// A finding on one line: place, rule, the first line of its message.
pub(crate) fn finding_line(finding: &Finding) -> String {
    let place = finding.location.as_ref().map(|location| location.display()).unwrap_or_default();
    let message = finding.message.lines().next().unwrap_or_default();
    if place.is_empty() {
        format!("{}  {}", finding.rule, text::clip(message, 120))
    } else {
        format!("{place}  {}  {}", finding.rule, text::clip(message, 120))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use greenlight_report::Location;

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
}
