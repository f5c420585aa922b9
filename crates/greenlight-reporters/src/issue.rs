//! The escalation issue of a red `main` (`greenlight report issue`): the runbook's last step,
//! as a title (`[CRITICAL] CI Failure - <description>`), labels and a Markdown body for `gh
//! issue create --title ... --label ... --body-file`.
//!
//! The body says what fails and where (the commit, each failing check with its key output:
//! findings, or why it errored and the last lines of its log), the steps greenlight already
//! took (the reproduction the report is, the bisection's first bad commits, the hotfix branch
//! and whether it is green) and the current status with what to do next. Like every human
//! format it reads the report through [`crate::common::prepare`] (secrets rebuilt from what
//! cannot hold them, control characters dropped) and it is capped: GitHub refuses an issue body
//! over 65,536 characters.

use std::fmt::Write as _;

use greenlight_report::{CheckReport, NodeKind, Outcome, RunReport};

use crate::common::{findings_of, is_problem, message_without_title, prepare};
use crate::markdown::{code, fenced, inline};
use crate::text::{clip, first_line};

/// Labels the issue gets unless others are given.
pub const DEFAULT_LABELS: &[&str] = &["critical", "ci-failure"];

/// Most characters of the body (GitHub's limit is 65,536).
const MAX_BODY: usize = 60_000;
/// Most findings shown per check.
const MAX_FINDINGS: usize = 15;
/// Most lines of a log excerpt.
const MAX_LOG_LINES: usize = 20;

/// What the issue is made from: the report of the red run, and what else greenlight did.
#[derive(Debug, Clone, Default)]
pub struct IssueInput<'a> {
    /// What broke, for the title; default: the failing checks and the revision.
    pub description: Option<String>,
    /// The labels; empty: [`DEFAULT_LABELS`].
    pub labels: Vec<String>,
    /// The bisection's result, when one was made.
    pub bisect: Option<BisectFacts>,
    /// The report of the hotfix branch (`greenlight hotfix --json`), when one was made.
    pub hotfix: Option<&'a RunReport>,
}

/// What a bisection found, as the issue tells it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BisectFacts {
    /// The good revision as given.
    pub good: String,
    /// The bad revision as given.
    pub bad: String,
    /// Commits between them.
    pub commits: usize,
    /// Runs made.
    pub runs: usize,
    /// Each check's first bad commit.
    pub culprits: Vec<Culprit>,
    /// Checks whose first bad commit untestable commits hide, with the candidates (short shas).
    pub ambiguous: Vec<(String, Vec<String>)>,
}

/// The first bad commit of one check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Culprit {
    /// The check.
    pub check: String,
    /// Abbreviated sha.
    pub short: String,
    /// First line of its message.
    pub subject: String,
    /// `Name <email>`.
    pub author: String,
    /// Author date.
    pub date: String,
    /// True for a merge (reverted with `-m 1`).
    pub merge: bool,
}

/// The escalation issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// `[CRITICAL] CI Failure - <description>`.
    pub title: String,
    /// The labels.
    pub labels: Vec<String>,
    /// The Markdown body.
    pub body: String,
}

/// Why there is no issue to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssueError {
    /// The report is green.
    Green,
}

impl std::fmt::Display for IssueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IssueError::Green => {
                f.write_str("the report is green (no check failed, errored or timed out): there is nothing to escalate")
            }
        }
    }
}

impl std::error::Error for IssueError {}

/// The issue for the failing run of `report` (CI's, or `greenlight run --rev main --json`)
/// and what else `input` says greenlight did.
pub fn render(report: &RunReport, input: &IssueInput<'_>) -> Result<Issue, IssueError> {
    let report = prepare(report);
    let problems: Vec<&CheckReport> =
        report.checks.iter().filter(|check| is_problem(check.outcome) && !report.interrupted).collect();
    if problems.is_empty() {
        return Err(IssueError::Green);
    }
    let rev = revision(&report);
    let description = input.description.clone().unwrap_or_else(|| default_description(&problems, &rev));
    let title = format!("[CRITICAL] CI Failure - {}", first_line(&description).trim());
    let labels = if input.labels.is_empty() {
        DEFAULT_LABELS.iter().map(|label| label.to_string()).collect()
    } else {
        input.labels.clone()
    };

    let mut body = String::new();
    let _ = writeln!(body, "## Status\n\n{}\n", status_line(&report, &problems, input));
    body.push_str(&what_fails(&report, &problems, &rev));
    body.push_str(&steps(&report, &rev, input));
    body.push_str(&next_steps(&report, &rev, input));
    let mut checks = String::from("\n## Failing checks\n");
    for check in &problems {
        checks.push_str(&check_section(check));
    }
    let footer = format!(
        "\n---\n<sub>Written by `greenlight report issue` from the report of run `{}` (greenlight {}).</sub>\n",
        report.run_id, report.greenlight_version
    );
    let room = MAX_BODY.saturating_sub(body.len() + footer.len() + 200);
    if checks.len() > room {
        let mut end = room;
        while !checks.is_char_boundary(end) {
            end -= 1;
        }
        checks.truncate(end);
        checks.push_str("\n\n… the rest is cut to fit an issue; the JSON report has everything.\n");
    }
    body.push_str(&checks);
    body.push_str(&footer);
    Ok(Issue { title, labels, body })
}

/// `main`, `main (1a2b3c4d5e6f)` or the short sha.
fn revision(report: &RunReport) -> String {
    let short = report.project.commit.as_deref().map(|sha| &sha[..sha.len().min(12)]);
    match (report.project.rev.as_deref(), short) {
        (Some(rev), Some(short)) if !short.starts_with(rev) => format!("{rev} ({short})"),
        (_, Some(short)) => short.to_string(),
        (Some(rev), None) => rev.to_string(),
        (None, None) => "the working tree".to_string(),
    }
}

/// A full sha as its first 12 digits; any other revision as given.
fn abbreviated(rev: &str) -> &str {
    if rev.len() == 40 && rev.chars().all(|c| c.is_ascii_hexdigit()) { &rev[..12] } else { rev }
}

fn ids(checks: &[&CheckReport]) -> String {
    let ids: Vec<&str> = checks.iter().map(|check| check.id.as_str()).collect();
    match ids.as_slice() {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// `ruff-check and pytest failing on main (1a2b3c4d5e6f)`.
fn default_description(problems: &[&CheckReport], rev: &str) -> String {
    let failed: Vec<&CheckReport> = problems.iter().copied().filter(|check| check.outcome == Outcome::Failed).collect();
    if failed.is_empty() {
        format!("{} cannot run on {rev}", ids(problems))
    } else {
        format!("{} failing on {rev}", ids(&failed))
    }
}

fn hotfix_green(hotfix: &RunReport) -> bool {
    !hotfix.checks.iter().any(|check| check.kind == NodeKind::Check && is_problem(check.outcome))
}

fn status_line(report: &RunReport, problems: &[&CheckReport], input: &IssueInput<'_>) -> String {
    let failed = problems.iter().filter(|check| check.outcome == Outcome::Failed).count();
    let undecided = problems.len() - failed;
    let mut parts = Vec::new();
    if failed > 0 {
        parts.push(format!("{failed} check{} failing", if failed == 1 { "" } else { "s" }));
    }
    if undecided > 0 {
        parts.push(format!("{undecided} that could not decide"));
    }
    let mut line = format!("🔴 **Red**: {}", parts.join(", "));
    match (input.hotfix, &input.bisect) {
        (Some(hotfix), _) if hotfix_green(hotfix) => {
            let _ = write!(
                line,
                ". A hotfix branch, {}, is green and not pushed yet.",
                code(hotfix.project.rev.as_deref().unwrap_or("(unnamed)"))
            );
        }
        (Some(hotfix), _) => {
            let _ = write!(
                line,
                ". The hotfix branch {} does not make it green yet.",
                code(hotfix.project.rev.as_deref().unwrap_or("(unnamed)"))
            );
        }
        (None, Some(bisect)) if !bisect.culprits.is_empty() => {
            line.push_str(". The breaking commit is known; no hotfix yet.")
        }
        _ => line.push_str(". Not bisected yet."),
    }
    if report.project.dirty == Some(true) {
        line.push_str("\n\n⚠️ The report is of a working tree with uncommitted changes.");
    }
    line
}

fn what_fails(report: &RunReport, problems: &[&CheckReport], rev: &str) -> String {
    let mut out = String::from("## What fails\n\n");
    match (&report.project.commit, report.project.rev.as_deref()) {
        (Some(commit), Some(name)) if !commit.starts_with(name) => {
            let _ = writeln!(out, "- **Commit:** {} ({})", code(commit), code(name));
        }
        (Some(commit), _) => {
            let _ = writeln!(out, "- **Commit:** {}", code(commit));
        }
        (None, _) => {
            let _ = writeln!(out, "- **Commit:** none ({})", inline(rev));
        }
    }
    if let Some(name) = &report.project.name {
        let _ = writeln!(out, "- **Project:** {}", inline(name));
    }
    for check in problems {
        let _ = writeln!(
            out,
            "- {} **{}**: {}",
            code(&check.id),
            check.outcome.as_str().replace('_', " "),
            inline(first_line(&check.summary))
        );
    }
    let mut tools: Vec<String> = report.tools.iter().map(|(name, tool)| format!("{name} {}", tool.version)).collect();
    tools.sort();
    if !tools.is_empty() {
        let _ = writeln!(out, "- **Tools:** {}", inline(&tools.join(", ")));
    }
    if let Some(as_of) = &report.as_of {
        let _ = writeln!(out, "- **As of:** {} ({})", inline(&as_of.date), inline(&as_of.source));
    }
    let _ = writeln!(out, "- **Run:** {} at {}", code(&report.run_id), inline(&report.started_at));
    out
}

fn steps(report: &RunReport, rev: &str, input: &IssueInput<'_>) -> String {
    let mut out = String::from("\n## Steps already taken\n\n");
    let target = report.project.commit.as_deref().map(|sha| &sha[..sha.len().min(12)]).unwrap_or("HEAD");
    let how = if report.project.rev.is_some() {
        format!("`greenlight run --rev {target}` in a clean worktree")
    } else {
        "`greenlight run` on the working tree".to_string()
    };
    let _ = writeln!(out, "1. **Reproduced** {} with {how}: {}.", inline(rev), report.outcome);
    match &input.bisect {
        Some(bisect) => {
            let _ = writeln!(
                out,
                "2. **Bisected** {} commits from {} to {} in {} runs:",
                bisect.commits,
                code(abbreviated(&bisect.good)),
                code(abbreviated(&bisect.bad)),
                bisect.runs
            );
            for culprit in &bisect.culprits {
                let _ = writeln!(
                    out,
                    "   - {}: first bad commit {} \"{}\" by {}, {}{}",
                    code(&culprit.check),
                    code(&culprit.short),
                    inline(&culprit.subject),
                    inline(&culprit.author),
                    inline(&culprit.date),
                    if culprit.merge { " (a merge)" } else { "" }
                );
            }
            for (check, candidates) in &bisect.ambiguous {
                let _ = writeln!(
                    out,
                    "   - {}: one of {} (commits between could not be tested)",
                    code(check),
                    candidates.iter().map(|short| code(short)).collect::<Vec<_>>().join(", ")
                );
            }
        }
        None => out.push_str("2. **Not bisected yet.**\n"),
    }
    match input.hotfix {
        Some(hotfix) => {
            let branch = hotfix.project.rev.as_deref().unwrap_or("(unnamed)");
            let head = hotfix.project.commit.as_deref().map(|sha| &sha[..sha.len().min(12)]).unwrap_or("?");
            let verdict = if hotfix_green(hotfix) {
                "every check passes there".to_string()
            } else {
                let still: Vec<String> = hotfix
                    .checks
                    .iter()
                    .filter(|check| check.kind == NodeKind::Check && is_problem(check.outcome))
                    .map(|check| format!("{} {}", check.id, check.outcome))
                    .collect();
                format!("still red: {}", still.join(", "))
            };
            let _ = writeln!(out, "3. **Hotfix branch** {} ({}): {verdict}. Not pushed.", code(branch), code(head));
        }
        None => out.push_str("3. **No hotfix branch yet.**\n"),
    }
    out
}

fn next_steps(report: &RunReport, rev: &str, input: &IssueInput<'_>) -> String {
    let mut out = String::from("\n## Next\n\n");
    let bad = report.project.rev.clone().unwrap_or_else(|| "main".to_string());
    match (input.hotfix, &input.bisect) {
        (Some(hotfix), _) if hotfix_green(hotfix) => {
            let branch = hotfix.project.rev.as_deref().unwrap_or("hotfix/restore-main-green");
            let _ = writeln!(
                out,
                "- Review and push the hotfix: `git push -u origin {branch}`, then open its pull request (`greenlight hotfix` wrote its body)."
            );
        }
        (Some(_), _) => {
            out.push_str(
                "- Revert more (`greenlight bisect` on what still fails), or fix forward on the hotfix branch.\n",
            );
        }
        (None, Some(bisect)) if !bisect.culprits.is_empty() => {
            out.push_str("- Revert the first bad commits on a branch and prove it green: `greenlight hotfix --from-bisect bisect.json`.\n");
        }
        _ => {
            let _ = writeln!(
                out,
                "- Find the commit that broke it: `greenlight bisect --good <last green commit> --bad {bad} --json bisect.json`."
            );
        }
    }
    let target = report.project.commit.as_deref().map(|sha| &sha[..sha.len().min(12)]).unwrap_or("HEAD");
    let _ = writeln!(
        out,
        "- Reproduce {} yourself: `greenlight run --rev {target} --tools-from report.json` (this report's tool versions).",
        inline(rev)
    );
    out
}

/// One failing check: its reason, its findings (capped), or the last lines of its log.
fn check_section(check: &CheckReport) -> String {
    let mut out = format!(
        "\n### {} · {}{}\n",
        code(&check.id),
        check.outcome.as_str().replace('_', " "),
        if check.summary.is_empty() { String::new() } else { format!(" · {}", inline(first_line(&check.summary))) }
    );
    if let Some(reason) = check.reason.as_deref().filter(|reason| reason.trim() != check.summary.trim()) {
        out.push('\n');
        for line in reason.trim().lines().take(MAX_LOG_LINES) {
            let _ = writeln!(out, "> {}", inline(&clip(line, 500)));
        }
    }
    let findings = findings_of(check);
    if !findings.is_empty() {
        let mut lines = String::new();
        for finding in findings.iter().take(MAX_FINDINGS) {
            let place = finding.location.as_ref().map(|location| location.display()).unwrap_or_default();
            let message = clip(first_line(message_without_title(finding)).trim(), 200);
            if place.is_empty() {
                let _ = writeln!(lines, "{}  {message}", finding.rule);
            } else {
                let _ = writeln!(lines, "{place}  {}  {message}", finding.rule);
            }
        }
        if findings.len() > MAX_FINDINGS {
            let _ = writeln!(lines, "… and {} more", findings.len() - MAX_FINDINGS);
        }
        out.push('\n');
        out.push_str(&fenced(lines.trim_end()));
    } else if let Some(log) = check.log.as_ref().filter(|log| !log.tail.trim().is_empty()) {
        let all: Vec<&str> = log.tail.trim_end().lines().collect();
        let start = all.len().saturating_sub(MAX_LOG_LINES);
        out.push('\n');
        out.push_str(&fenced(&all[start..].join("\n")));
    }
    if let Some(command) = &check.command
        && !command.is_empty()
    {
        let _ = writeln!(out, "\nCommand: {}", code(&greenlight_report::text::shell_join(command)));
    }
    if let Some(log) = &check.log {
        let _ = writeln!(out, "Full log (on the machine that ran it): {}", code(&log.path));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_green_report_has_nothing_to_escalate() {
        let mut report = crate::sample::sample_report();
        report.checks.retain(|check| !is_problem(check.outcome));
        report.recompute_outcome();
        assert_eq!(render(&report, &IssueInput::default()), Err(IssueError::Green));
    }

    #[test]
    fn the_body_fits_an_issue() {
        let mut report = crate::sample::sample_report();
        for check in &mut report.checks {
            if check.outcome == Outcome::Failed {
                check.reason = Some("x".repeat(200_000));
            }
        }
        let issue = render(&report, &IssueInput::default()).unwrap();
        assert!(issue.body.len() <= 65_536, "{}", issue.body.len());
        assert!(issue.title.starts_with("[CRITICAL] CI Failure - "), "{}", issue.title);
        assert_eq!(issue.labels, ["critical", "ci-failure"]);
    }
}
