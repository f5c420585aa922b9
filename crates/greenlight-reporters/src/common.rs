//! What every renderer shares: secret redaction, the findings of a check including failing
//! tests, and ordering by importance. What renderers need to know about a check's tool comes
//! from the report ([`CheckReport::tool_facts`]), never from its id.

use std::borrow::Cow;

use greenlight_report::{CheckReport, Finding, FindingKind, Location, Outcome, RunReport, Severity, TestOutcome, text};

use crate::text::{duration, first_line};

/// The report as every renderer sees it: secret findings carry only what cannot hold the
/// secret.
///
/// gitleaks findings are redacted at the source, but a renderer must not trust that: for every
/// [`FindingKind::Secret`] finding the message is rebuilt from the rule, title and commit, the
/// detail is dropped, and the log tail of a check that reported a secret is dropped (its path
/// stays). A report without secret findings is not copied.
pub fn redact(report: &RunReport) -> Cow<'_, RunReport> {
    if !report.checks.iter().any(has_secret) {
        return Cow::Borrowed(report);
    }
    let mut report = report.clone();
    report.checks.iter_mut().for_each(redact_check);
    Cow::Owned(report)
}

/// The report as the human-facing formats show it: [`redact`]ed, and every text field that
/// holds tool output made printable ([`text::printable`]). Copied only when something changes.
pub fn prepare(report: &RunReport) -> Cow<'_, RunReport> {
    let needs_cleaning = report.checks.iter().any(is_dirty);
    let redacted = redact(report);
    if !needs_cleaning {
        return redacted;
    }
    let mut report = redacted.into_owned();
    report.checks.iter_mut().for_each(clean_check);
    Cow::Owned(report)
}

/// One check as the human-facing formats show it, as [`prepare`] does for a whole report (the
/// live view shows checks one by one, before there is a report).
pub fn prepare_check(check: &CheckReport) -> Cow<'_, CheckReport> {
    if !has_secret(check) && !is_dirty(check) {
        return Cow::Borrowed(check);
    }
    let mut check = check.clone();
    if has_secret(&check) {
        redact_check(&mut check);
    }
    clean_check(&mut check);
    Cow::Owned(check)
}

fn has_secret(check: &CheckReport) -> bool {
    check.findings.iter().any(|finding| finding.kind == FindingKind::Secret)
}

fn redact_check(check: &mut CheckReport) {
    let mut secrets = false;
    for finding in check.findings.iter_mut().filter(|finding| finding.kind == FindingKind::Secret) {
        secrets = true;
        finding.message = secret_message(finding);
        finding.detail = None;
    }
    if secrets && let Some(log) = &mut check.log {
        log.tail = String::new();
    }
}

/// Every text field of a check that holds tool output.
fn texts(check: &CheckReport) -> impl Iterator<Item = &String> {
    let findings = check.findings.iter().flat_map(|finding| {
        std::iter::once(&finding.message).chain([&finding.title, &finding.help, &finding.detail].into_iter().flatten())
    });
    let cases = check
        .tests
        .iter()
        .flat_map(|tests| &tests.cases)
        .flat_map(|case| std::iter::once(&case.name).chain([&case.message, &case.traceback].into_iter().flatten()));
    std::iter::once(&check.summary)
        .chain(&check.reason)
        .chain(check.log.as_ref().map(|log| &log.tail))
        .chain(findings)
        .chain(cases)
}

fn is_dirty(check: &CheckReport) -> bool {
    texts(check).any(|text| text::needs_cleaning(text))
}

fn clean_check(check: &mut CheckReport) {
    let clean = |text: &mut String| {
        if text::needs_cleaning(text) {
            *text = text::printable(text);
        }
    };
    clean(&mut check.summary);
    if let Some(reason) = &mut check.reason {
        clean(reason);
    }
    if let Some(log) = &mut check.log {
        clean(&mut log.tail);
    }
    for finding in &mut check.findings {
        clean(&mut finding.message);
        for text in [&mut finding.title, &mut finding.help, &mut finding.detail].into_iter().flatten() {
            clean(text);
        }
    }
    if let Some(tests) = &mut check.tests {
        for case in &mut tests.cases {
            clean(&mut case.name);
            for text in [&mut case.message, &mut case.traceback].into_iter().flatten() {
                clean(text);
            }
        }
    }
}

/// The message of a finding without the test id it starts with when its title names that id
/// (`tests/test_x.py::test_y failed: AssertionError` shown next to the id).
pub fn message_without_title(finding: &Finding) -> &str {
    let message = finding.message.as_str();
    let Some(title) = finding.title.as_deref().filter(|_| finding.kind == FindingKind::Test) else {
        return message;
    };
    let end = [message.find(' '), message.find(": ")].into_iter().flatten().min().unwrap_or(message.len());
    let id = &message[..end];
    let rest = message[end..].trim_start_matches(':').trim_start();
    if id.is_empty() || rest.is_empty() || !title.contains(id) { message } else { rest }
}

/// The message shown for a secret: what and where, never the value.
fn secret_message(finding: &Finding) -> String {
    let what = match finding.title.as_deref().map(first_line) {
        Some(title) if !title.is_empty() && !title.contains(&finding.rule) => {
            format!("{title} secret (rule `{}`)", finding.rule)
        }
        _ => format!("secret (rule `{}`)", finding.rule),
    };
    let place = match &finding.commit {
        Some(commit) if !commit.sha.is_empty() || !commit.short.is_empty() => {
            let short = if commit.short.is_empty() { &commit.sha[..commit.sha.len().min(12)] } else { &commit.short };
            match commit.date.as_deref().and_then(|date| date.get(..10)) {
                Some(day) => format!("added in commit {short} ({day})"),
                None => format!("added in commit {short}"),
            }
        }
        _ => "in the working tree".to_string(),
    };
    format!("{what} {place}; the value is not shown")
}

/// The findings of a check to report one by one: its findings, and when it has test results
/// but no test findings, one finding per failing or erroring test case.
pub fn findings_of(check: &CheckReport) -> Vec<Finding> {
    let mut findings = check.findings.clone();
    if let Some(tests) = &check.tests
        && !findings.iter().any(|finding| finding.kind == FindingKind::Test)
    {
        for case in tests.cases.iter().filter(|case| matches!(case.outcome, TestOutcome::Failed | TestOutcome::Error)) {
            let rule = if case.outcome == TestOutcome::Failed { "test-failed" } else { "test-error" };
            let location = case.file.as_ref().map(|file| Location::at(file, case.line, None));
            let message = match &case.message {
                Some(message) => format!("{}: {message}", case.node_id),
                None => format!("{} {}", case.node_id, if rule == "test-failed" { "failed" } else { "errored" }),
            };
            let mut finding = Finding::new(rule, message, location);
            finding.kind = FindingKind::Test;
            finding.title = Some(case.node_id.clone());
            finding.detail = case.traceback.clone();
            finding.fingerprint = greenlight_report::fingerprint(&[rule, &case.node_id]);
            findings.push(finding);
        }
    }
    findings
}

/// The checks whose findings are code alerts (SARIF, GitLab Code Quality): checks (not setup
/// steps) whose tool is about the code ([`greenlight_report::ToolFacts::sarif`]) and that
/// decided. A consumer takes a file as the complete list of open alerts, so a check that
/// errored, timed out or was cancelled is left out rather than reported empty (which would
/// close its alerts); each is named in a note ending in `consequence`.
pub fn code_checks<'a>(report: &'a RunReport, consequence: &str) -> (Vec<&'a CheckReport>, Vec<String>) {
    let mut notes = Vec::new();
    let mut checks = Vec::new();
    for check in &report.checks {
        if !check.tool_facts().sarif || check.kind != greenlight_report::NodeKind::Check {
            continue;
        }
        if matches!(check.outcome, Outcome::Passed | Outcome::Failed) {
            checks.push(check);
        } else if check.outcome != Outcome::Skipped {
            notes.push(format!("`{}` {}, so {consequence}", check.id, check.outcome));
        }
    }
    (checks, notes)
}

/// The findings of a check that are code alerts: all but test results and policy.
pub fn code_findings(check: &CheckReport) -> Vec<Finding> {
    findings_of(check)
        .into_iter()
        .filter(|finding| !matches!(finding.kind, FindingKind::Test | FindingKind::Policy))
        .collect()
}

/// Where a finding is shown: its place, else line 1 of the file its checker names
/// ([`greenlight_report::ToolFacts::fallback_path`]); the flag is true for the latter.
pub fn place_or_fallback(check: &CheckReport, finding: &Finding) -> (Location, bool) {
    match &finding.location {
        Some(location) => (location.clone(), false),
        None => (Location::at(&check.tool_facts().fallback_path, Some(1), None), true),
    }
}

/// The first `lines` lines of a format finding's diff, saying how many are left out: a diff
/// reads from the top (a traceback, the other kind of detail, from the bottom). `None` for a
/// finding that is not about formatting or has no diff.
pub fn diff_head(finding: &Finding, lines: usize) -> Option<String> {
    let detail = finding.detail.as_deref().filter(|_| finding.kind == FindingKind::Format)?;
    let all: Vec<&str> = detail.trim_end().lines().collect();
    let mut head = all[..all.len().min(lines)].join("\n");
    if all.len() > lines {
        head.push_str(&format!("\n… {} more lines", all.len() - lines));
    }
    Some(head)
}

/// How much a kind of finding matters when only a few can be shown (lower first).
pub fn kind_rank(kind: FindingKind) -> u8 {
    match kind {
        FindingKind::Secret => 0,
        FindingKind::Vulnerability => 1,
        FindingKind::Test => 2,
        FindingKind::Build => 3,
        FindingKind::Lint => 4,
        FindingKind::Policy => 5,
        FindingKind::Format => 6,
    }
}

/// Severity rank, higher is worse.
pub fn severity_rank(severity: Severity) -> u8 {
    match severity {
        Severity::Error => 2,
        Severity::Warning => 1,
        Severity::Note => 0,
    }
}

/// True for outcomes that mean "something is wrong here".
pub fn is_problem(outcome: Outcome) -> bool {
    matches!(outcome, Outcome::Failed | Outcome::Errored | Outcome::TimedOut)
}

/// How long a check took, for tables: empty for a check skipped before it ran, `(cached)`
/// after a replayed one.
pub fn elapsed(check: &CheckReport) -> String {
    let time = elapsed_time(check);
    if check.cached && !time.is_empty() { format!("{time} (cached)") } else { time }
}

/// [`elapsed`] without the `(cached)` mark (the terminal puts it after the summary, keeping
/// its time column aligned).
pub fn elapsed_time(check: &CheckReport) -> String {
    if check.outcome == Outcome::Skipped && check.duration_ms == 0 {
        String::new()
    } else {
        duration(check.duration_ms)
    }
}

/// A one-line description of a finding's extra facts (package, fixes, aliases, commit,
/// fixability), or an empty string. A secret's commit is already in its message.
pub fn facts(finding: &Finding) -> String {
    let mut parts = Vec::new();
    if let Some(package) = &finding.package {
        parts.push(format!("package {} {}", package.name, package.version));
    }
    if !finding.fix_versions.is_empty() {
        parts.push(format!("fixed in {}", finding.fix_versions.join(", ")));
    } else if finding.kind == FindingKind::Vulnerability {
        parts.push("no fixed version known".to_string());
    }
    if !finding.aliases.is_empty() {
        parts.push(format!("aliases {}", finding.aliases.join(", ")));
    }
    if let Some(commit) = finding.commit.as_ref().filter(|_| finding.kind != FindingKind::Secret) {
        let short = if commit.short.is_empty() { &commit.sha[..commit.sha.len().min(12)] } else { &commit.short };
        parts.push(format!("commit {short}"));
    }
    if finding.fix_available {
        parts.push("fixable with `greenlight run --fix`".to_string());
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_messages_lose_the_id_their_title_names() {
        let mut finding = Finding::new("test-failed", "tests/a.py::test_x failed: assert 1 == 2", None);
        finding.kind = FindingKind::Test;
        finding.title = Some("pytest: tests/a.py::test_x".to_string());
        assert_eq!(message_without_title(&finding), "failed: assert 1 == 2");
        finding.message = "tests/a.py::test_x: assert 1 == 2".to_string();
        assert_eq!(message_without_title(&finding), "assert 1 == 2");
        finding.title = Some("something else".to_string());
        assert_eq!(message_without_title(&finding), "tests/a.py::test_x: assert 1 == 2");
    }

    #[test]
    fn a_check_is_prepared_like_a_report() {
        let mut report = crate::sample::sample_report();
        let ruff = report.checks.iter_mut().find(|check| check.id == "ruff-check").unwrap();
        ruff.summary = "\u{1b}[2J\u{1b}]0;title\u{7}5 findings".to_string();
        let alone = prepare_check(ruff).into_owned();
        assert_eq!(alone.summary, "5 findings");
        assert_eq!(prepare(&report).check("ruff-check"), Some(&alone));
        let gitleaks = report.check("gitleaks").unwrap();
        assert_eq!(prepare_check(gitleaks).findings, prepare(&report).check("gitleaks").unwrap().findings);
        let pytest = report.check("pytest").unwrap();
        assert!(matches!(prepare_check(pytest), Cow::Owned(_)), "its traceback holds escapes");
    }

    #[test]
    fn secrets_lose_message_detail_and_log_tail() {
        let mut report = crate::sample::sample_report();
        let gitleaks = report.checks.iter_mut().find(|check| check.id == "gitleaks").unwrap();
        gitleaks.findings[0].message = format!("found {}", crate::sample::PLANTED_SECRET);
        gitleaks.findings[0].detail = Some(crate::sample::PLANTED_SECRET.to_string());
        let redacted = redact(&report);
        let text = serde_json::to_string(&redacted).unwrap();
        assert!(!text.contains(crate::sample::PLANTED_SECRET));
        let finding = &redacted.check("gitleaks").unwrap().findings[0];
        assert_eq!(
            finding.message,
            "secret (rule `aws-access-token`) added in commit 4f2c9e1a7b3d (2026-11-20); the value is not shown"
        );
    }
}
