//! What every renderer shares: secret redaction, the tool behind each check, the findings of a
//! check including failing tests, and ordering by importance.

use std::borrow::Cow;

use greenlight_report::{CheckReport, Finding, FindingKind, Location, Outcome, RunReport, Severity, TestOutcome};

/// The report as every renderer sees it: secret findings carry only what cannot hold the
/// secret.
///
/// gitleaks findings are redacted at the source, but a renderer must not trust that: for every
/// [`FindingKind::Secret`] finding the message is rebuilt from the rule, title and commit, the
/// detail is dropped, and the log tail of a check that reported a secret is dropped (its path
/// stays). A report without secret findings is not copied.
pub fn redact(report: &RunReport) -> Cow<'_, RunReport> {
    let has_secret = |check: &CheckReport| check.findings.iter().any(|finding| finding.kind == FindingKind::Secret);
    if !report.checks.iter().any(has_secret) {
        return Cow::Borrowed(report);
    }
    let mut report = report.clone();
    for check in &mut report.checks {
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
    Cow::Owned(report)
}

/// The report as the human-facing formats show it: [`redact`]ed, and every text field that
/// holds tool output made printable ([`printable`]). Copied only when something changes.
pub fn prepare(report: &RunReport) -> Cow<'_, RunReport> {
    let dirty = |text: &str| {
        text.chars().any(|c| (c.is_control() && !matches!(c, '\n' | '\t')) || matches!(c, '\u{fffe}' | '\u{ffff}'))
    };
    let needs_cleaning = report.checks.iter().any(|check| {
        dirty(&check.summary)
            || check.reason.as_deref().is_some_and(dirty)
            || check.log.as_ref().is_some_and(|log| dirty(&log.tail))
            || check.findings.iter().any(|finding| {
                dirty(&finding.message)
                    || [&finding.title, &finding.help, &finding.detail].into_iter().flatten().any(|text| dirty(text))
            })
            || check.tests.as_ref().is_some_and(|tests| {
                tests.cases.iter().any(|case| {
                    dirty(&case.name) || [&case.message, &case.traceback].into_iter().flatten().any(|text| dirty(text))
                })
            })
    });
    let redacted = redact(report);
    if !needs_cleaning {
        return redacted;
    }
    let mut report = redacted.into_owned();
    let clean = |text: &mut String| {
        if dirty(text) {
            *text = printable(text);
        }
    };
    for check in &mut report.checks {
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
    Cow::Owned(report)
}

/// `text` without ANSI escape sequences, control characters other than line breaks and tabs
/// (`\r\n` becomes `\n`), and the non-characters U+FFFE and U+FFFF.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.next() {
                // CSI: parameters and intermediates up to a final byte in @..~.
                Some('[') => {
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
                // OSC: up to BEL or ESC \.
                Some(']') => {
                    while let Some(c) = chars.next() {
                        if c == '\u{7}' || (c == '\u{1b}' && chars.next_if_eq(&'\\').is_some()) {
                            break;
                        }
                    }
                }
                _ => {}
            },
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\t' => out.push(c),
            '\u{fffe}' | '\u{ffff}' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
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

/// Facts about the tool behind a check that the report does not carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolMeta {
    /// SARIF `tool.driver.name`; distinct for every check.
    pub driver: String,
    /// Key of the tool in [`RunReport::tools`] (for its version).
    pub tool: String,
    /// Home page of the tool.
    pub information_uri: Option<&'static str>,
    /// Whether the check's findings belong in SARIF (code scanning): not test results (JUnit
    /// carries those) and not pull-request policy (about the PR, not the code).
    pub sarif: bool,
}

/// The tool behind the check `id`. Unknown ids (checkers added later) are their own tool.
pub fn tool_meta(id: &str) -> ToolMeta {
    let (driver, tool, information_uri, sarif) = match id {
        "ruff-check" => ("ruff", "ruff", Some("https://docs.astral.sh/ruff/"), true),
        "ruff-format" => ("ruff format", "ruff", Some("https://docs.astral.sh/ruff/formatter/"), true),
        "pytest" => ("pytest", "pytest", Some("https://docs.pytest.org/"), false),
        "gitleaks" => ("gitleaks", "gitleaks", Some("https://github.com/gitleaks/gitleaks"), true),
        "pip-audit" => ("pip-audit", "pip-audit", Some("https://github.com/pypa/pip-audit"), true),
        "build" => ("python -m build", "build", Some("https://build.pypa.io/"), true),
        "docker" => ("docker", "docker", Some("https://docs.docker.com/"), true),
        "policy" => ("greenlight policy", "", None, false),
        _ => (id, id, None, true),
    };
    ToolMeta { driver: driver.to_string(), tool: tool.to_string(), information_uri, sarif }
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

/// The first line of `text`, trimmed.
pub fn first_line(text: &str) -> &str {
    text.trim().lines().next().unwrap_or_default().trim()
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
    fn printable_drops_escapes_and_controls() {
        assert_eq!(printable("\u{1b}[31mred\u{1b}[0m ok\r\nnext\u{0}\u{7}\u{fffe}"), "red ok\nnext");
        assert_eq!(printable("\u{1b}]8;;https://x\u{7}link\u{1b}]8;;\u{1b}\\ end"), "link end");
        assert_eq!(printable("tab\tkept"), "tab\tkept");
    }

    #[test]
    fn every_known_check_has_a_distinct_driver() {
        let ids = ["ruff-check", "ruff-format", "pytest", "gitleaks", "pip-audit", "build", "docker", "policy"];
        let mut drivers: Vec<String> = ids.iter().map(|id| tool_meta(id).driver).collect();
        drivers.sort();
        drivers.dedup();
        assert_eq!(drivers.len(), ids.len());
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
