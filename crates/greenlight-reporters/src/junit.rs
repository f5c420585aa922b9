//! JUnit XML (`--junit FILE`), as GitLab, Jenkins (the xUnit plugin's `junit-10.xsd`),
//! junit2html, junitparser, xunitparser and the JUnit actions of GitHub read it.
//!
//! One `<testsuite>` per check (and setup step), named by the check id:
//!
//! - a test runner's own cases (pytest) are carried over with their classname, name, file,
//!   line and time; the failure text is the traceback;
//! - every other finding is a test case of its own: `classname` = `<check>.<rule>`, `name` =
//!   what was checked — the package (`requests 2.19.0`) for a dependency, else the place
//!   (`path:line:col`), else the message — made unique within the report because GitLab keeps
//!   only the first of duplicate cases. Error findings are `<failure>`; warnings and notes
//!   (a dependency that could not be audited, a vulnerability in the environment's own
//!   tooling) are `<skipped>` with their text, never a passing case: JUnit has no "warning",
//!   and a passing case's text is dropped by GitLab and reads as "passed" everywhere;
//! - an errored or timed-out check adds one `<error>` case, a skipped or cancelled one a
//!   `<skipped>` case with the reason, a passing check without cases one passing case, so
//!   every check shows.
//!
//! The document is written here rather than by a JUnit library, to keep what consumers
//! check: property names unique in the whole file (`<check>.outcome`: xunitparser keeps the
//! properties of every suite in one table and refuses a repeated name), only the attributes
//! the xUnit schema allows (no `timestamp` or `skipped` on `<testsuites>`), line breaks and
//! tabs in attributes written as `&#10;` and `&#9;` (an XML reader turns a raw one into a
//! space: a file name with a newline would name a file that does not exist), and only
//! characters XML 1.0 allows (ANSI escapes and control characters are removed).

use std::collections::HashSet;
use std::fmt::Write as _;

use greenlight_report::{CheckReport, Finding, FindingKind, Outcome, RunReport, Severity, TestOutcome, text};

use crate::common::{facts, findings_of, prepare};
use crate::text::{clip, first_line};

/// Longest `message` attribute; the full text is in the element.
const MESSAGE_MAX: usize = 500;

/// The report as JUnit XML.
pub fn render(report: &RunReport) -> String {
    let report = prepare(report);
    let mut names = UniqueNames::default();
    let timestamp = timestamp(&report.started_at);
    let suites: Vec<Suite> = report.checks.iter().map(|check| suite(&report, check, &mut names)).collect();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let total = |count: fn(&Suite) -> usize| suites.iter().map(count).sum::<usize>().to_string();
    open(
        &mut out,
        0,
        "testsuites",
        &[
            ("name", "greenlight".to_string()),
            ("tests", total(|suite| suite.cases.len())),
            ("failures", total(|suite| suite.count(Kind::Failure))),
            ("errors", total(|suite| suite.count(Kind::Error))),
            ("time", seconds(report.duration_ms)),
        ],
        false,
    );
    for suite in &suites {
        suite.write(&mut out, timestamp.as_deref());
    }
    out.push_str("</testsuites>\n");
    out
}

/// Keeps `classname` + `name` unique across the whole report.
#[derive(Default)]
struct UniqueNames(HashSet<(String, String)>);

impl UniqueNames {
    fn claim(&mut self, classname: &str, name: &str) -> String {
        let mut candidate = name.to_string();
        let mut n = 2;
        while !self.0.insert((classname.to_string(), candidate.clone())) {
            candidate = format!("{name} #{n}");
            n += 1;
        }
        candidate
    }
}

/// What a test case's result element is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Failure,
    Error,
    Skipped,
}

impl Kind {
    fn element(self) -> &'static str {
        match self {
            Kind::Failure => "failure",
            Kind::Error => "error",
            Kind::Skipped => "skipped",
        }
    }
}

/// A `<failure>`, `<error>` or `<skipped>` element.
struct Verdict {
    kind: Kind,
    type_: Option<String>,
    message: String,
    text: String,
}

impl Verdict {
    fn new(kind: Kind, type_: Option<&str>, message: &str, text: String) -> Self {
        Self { kind, type_: type_.map(str::to_string), message: attribute(message), text }
    }
}

struct Case {
    name: String,
    classname: String,
    time_ms: Option<u64>,
    file: Option<String>,
    line: Option<u32>,
    verdict: Option<Verdict>,
    system_out: Option<String>,
}

impl Case {
    fn new(names: &mut UniqueNames, classname: &str, name: &str, verdict: Option<Verdict>) -> Self {
        Self {
            name: names.claim(classname, name),
            classname: classname.to_string(),
            time_ms: None,
            file: None,
            line: None,
            verdict,
            system_out: None,
        }
    }

    fn is(&self, kind: Kind) -> bool {
        self.verdict.as_ref().is_some_and(|verdict| verdict.kind == kind)
    }
}

struct Suite {
    name: String,
    time_ms: u64,
    properties: Vec<(String, String)>,
    cases: Vec<Case>,
}

impl Suite {
    fn count(&self, kind: Kind) -> usize {
        self.cases.iter().filter(|case| case.is(kind)).count()
    }

    fn write(&self, out: &mut String, timestamp: Option<&str>) {
        let mut attributes = vec![
            ("name", self.name.clone()),
            ("tests", self.cases.len().to_string()),
            ("failures", self.count(Kind::Failure).to_string()),
            ("errors", self.count(Kind::Error).to_string()),
            ("skipped", self.count(Kind::Skipped).to_string()),
            ("time", seconds(self.time_ms)),
        ];
        if let Some(timestamp) = timestamp {
            attributes.push(("timestamp", timestamp.to_string()));
        }
        open(out, 1, "testsuite", &attributes, false);
        if !self.properties.is_empty() {
            open(out, 2, "properties", &[], false);
            for (name, value) in &self.properties {
                open(out, 3, "property", &[("name", name.clone()), ("value", value.clone())], true);
            }
            close(out, 2, "properties");
        }
        for case in &self.cases {
            let mut attributes = vec![("name", case.name.clone()), ("classname", case.classname.clone())];
            if let Some(ms) = case.time_ms {
                attributes.push(("time", seconds(ms)));
            }
            if let Some(file) = &case.file {
                attributes.push(("file", file.clone()));
            }
            if let Some(line) = case.line {
                attributes.push(("line", line.to_string()));
            }
            let empty = case.verdict.is_none() && case.system_out.is_none();
            open(out, 2, "testcase", &attributes, empty);
            if empty {
                continue;
            }
            if let Some(verdict) = &case.verdict {
                let mut attributes = Vec::new();
                if !verdict.message.is_empty() {
                    attributes.push(("message", verdict.message.clone()));
                }
                if let Some(type_) = &verdict.type_ {
                    attributes.push(("type", type_.clone()));
                }
                element(out, 3, verdict.kind.element(), &attributes, &verdict.text);
            }
            if let Some(text) = &case.system_out {
                element(out, 3, "system-out", &[], text);
            }
            close(out, 2, "testcase");
        }
        close(out, 1, "testsuite");
    }
}

fn suite(report: &RunReport, check: &CheckReport, names: &mut UniqueNames) -> Suite {
    // Property names are unique in the whole file: xunitparser keeps one table for all suites.
    let mut properties = vec![
        (format!("{}.outcome", check.id), check.outcome.as_str().to_string()),
        (format!("{}.title", check.id), check.title.clone()),
    ];
    if !check.summary.is_empty() {
        properties.push((format!("{}.summary", check.id), check.summary.clone()));
    }
    if let Some(log) = &check.log {
        properties.push((format!("{}.log", check.id), log.path.clone()));
    }

    let mut cases = Vec::new();
    let mut carried_tests = false;
    if let Some(tests) = &check.tests
        && !tests.cases.is_empty()
    {
        carried_tests = true;
        for case in &tests.cases {
            let classname = if case.classname.is_empty() { check.id.clone() } else { case.classname.clone() };
            let verdict = match case.outcome {
                TestOutcome::Passed => None,
                TestOutcome::Failed | TestOutcome::Error => {
                    let (kind, word) = if case.outcome == TestOutcome::Failed {
                        (Kind::Failure, "failed")
                    } else {
                        (Kind::Error, "error")
                    };
                    let text = case.traceback.clone().or_else(|| case.message.clone()).unwrap_or_default();
                    Some(Verdict::new(kind, None, case.message.as_deref().unwrap_or(word), text))
                }
                TestOutcome::Skipped => {
                    let message = case.message.as_deref().unwrap_or("skipped");
                    Some(Verdict::new(Kind::Skipped, None, message, String::new()))
                }
            };
            let mut test_case = Case::new(names, &classname, &case.name, verdict);
            test_case.time_ms = Some(case.duration_ms);
            test_case.file = case.file.as_ref().map(|file| report.project.repo_path(file));
            test_case.line = case.line;
            cases.push(test_case);
        }
    }

    for finding in findings_of(check) {
        if carried_tests && finding.kind == FindingKind::Test {
            continue;
        }
        cases.push(finding_case(report, check, &finding, names));
    }

    let failures = cases.iter().filter(|case| case.is(Kind::Failure) || case.is(Kind::Error)).count();
    let alone = cases.is_empty();
    let text = outcome_text(check);
    let own = |kind, type_: &str, message: &str| Some(Verdict::new(kind, Some(type_), message, text.clone()));
    let verdict_case = match check.outcome {
        Outcome::Errored | Outcome::TimedOut => Some(own(Kind::Error, check.outcome.as_str(), &check.summary)),
        Outcome::Failed if failures == 0 => Some(own(Kind::Failure, "failed", &check.summary)),
        Outcome::Skipped | Outcome::Cancelled if alone => {
            let why = check.reason.as_deref().unwrap_or(&check.summary);
            let mut verdict = own(Kind::Skipped, check.outcome.as_str(), &format!("{}: {why}", check.outcome));
            if let Some(verdict) = &mut verdict {
                verdict.text = String::new();
            }
            Some(verdict)
        }
        Outcome::Passed if alone => Some(None),
        _ => None,
    };
    if let Some(verdict) = verdict_case {
        let passed = verdict.is_none();
        let mut case = Case::new(names, &check.id, &check.title, verdict);
        if passed && !check.summary.is_empty() {
            case.system_out = Some(check.summary.clone());
        }
        cases.push(case);
    }
    if alone && let [case] = cases.as_mut_slice() {
        // The one case that stands for the whole check takes its time.
        case.time_ms = Some(check.duration_ms);
    }
    Suite { name: check.id.clone(), time_ms: check.duration_ms, properties, cases }
}

/// What a finding's case is named by: the package it is about, else its place, else its
/// message.
fn case_name(finding: &Finding) -> String {
    if let Some(package) = &finding.package {
        return if package.version.is_empty() {
            package.name.clone()
        } else {
            format!("{} {}", package.name, package.version)
        };
    }
    match &finding.location {
        Some(location) => location.display(),
        None => clip(first_line(&finding.message), 120),
    }
}

fn finding_case(report: &RunReport, check: &CheckReport, finding: &Finding, names: &mut UniqueNames) -> Case {
    let classname = format!("{}.{}", check.id, finding.rule);
    let text = finding_text(finding);
    let verdict = match finding.severity {
        Severity::Error => Verdict::new(Kind::Failure, Some(&finding.rule), &finding.message, text),
        other => {
            Verdict::new(Kind::Skipped, Some(other.as_str()), &format!("{}: {}", other.as_str(), finding.message), text)
        }
    };
    let mut case = Case::new(names, &classname, &case_name(finding), Some(verdict));
    if let Some(location) = &finding.location {
        case.file = Some(report.project.repo_path(&location.path));
        case.line = location.line;
    }
    case
}

/// The full text of a finding: message, place, facts, help, link, detail.
fn finding_text(finding: &Finding) -> String {
    let mut lines = vec![finding.message.trim_end().to_string()];
    if let Some(location) = &finding.location {
        lines.push(format!("at {}", location.display()));
    }
    let facts = facts(finding);
    if !facts.is_empty() {
        lines.push(facts);
    }
    if let Some(help) = &finding.help {
        lines.push(format!("help: {help}"));
    }
    if let Some(url) = &finding.url {
        lines.push(format!("see {url}"));
    }
    if let Some(detail) = &finding.detail {
        lines.push(String::new());
        lines.push(detail.trim_end().to_string());
    }
    lines.join("\n")
}

/// Why a check ended as it did, with where its log is.
fn outcome_text(check: &CheckReport) -> String {
    let mut lines = vec![format!("{} {}: {}", check.id, check.outcome, check.summary)];
    if let Some(reason) = &check.reason {
        lines.push(reason.trim_end().to_string());
    }
    if let Some(command) = &check.command {
        lines.push(format!("command: {}", command.join(" ")));
    }
    if let Some(log) = &check.log {
        lines.push(format!("full log: {}", log.path));
        if !log.tail.trim().is_empty() {
            lines.push(String::new());
            lines.push(log.tail.trim_end().to_string());
        }
    }
    lines.join("\n")
}

/// A `message` attribute: one line, bounded.
fn attribute(text: &str) -> String {
    let joined = text.trim().lines().map(str::trim).filter(|line| !line.is_empty()).collect::<Vec<_>>().join(" ");
    clip(&joined, MESSAGE_MAX)
}

/// The run's start in ISO 8601 with its offset, as pytest writes `timestamp`
/// (`2026-11-26T12:00:00.000+00:00`), when it parses.
fn timestamp(started_at: &str) -> Option<String> {
    let parsed = chrono::DateTime::parse_from_rfc3339(started_at).ok()?;
    Some(parsed.format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string())
}

fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// Only the characters XML 1.0 allows, without ANSI escapes.
fn xml_chars(value: &str) -> std::borrow::Cow<'_, str> {
    let allowed = |c: char| !matches!(c, '\u{fffe}' | '\u{ffff}') && (!c.is_control() || matches!(c, '\t' | '\n'));
    if value.chars().all(allowed) {
        std::borrow::Cow::Borrowed(value)
    } else {
        std::borrow::Cow::Owned(text::printable(value))
    }
}

fn escape_attribute(value: &str, out: &mut String) {
    for c in xml_chars(value).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
}

fn escape_text(value: &str, out: &mut String) {
    for c in xml_chars(value).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
}

/// `<name key="value" ...` at `depth`, not yet closed.
fn start(out: &mut String, depth: usize, name: &str, attributes: &[(&str, String)]) {
    let _ = write!(out, "{:indent$}<{name}", "", indent = depth * 4);
    for (key, value) in attributes {
        let _ = write!(out, " {key}=\"");
        escape_attribute(value, out);
        out.push('"');
    }
}

fn open(out: &mut String, depth: usize, name: &str, attributes: &[(&str, String)], empty: bool) {
    start(out, depth, name, attributes);
    out.push_str(if empty { "/>\n" } else { ">\n" });
}

fn close(out: &mut String, depth: usize, name: &str) {
    let _ = writeln!(out, "{:indent$}</{name}>", "", indent = depth * 4);
}

/// An element with text content on one line (`<failure ...>text</failure>`), or empty.
fn element(out: &mut String, depth: usize, name: &str, attributes: &[(&str, String)], text: &str) {
    start(out, depth, name, attributes);
    if text.is_empty() {
        out.push_str("/>\n");
    } else {
        out.push('>');
        escape_text(text, out);
        let _ = writeln!(out, "</{name}>");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_keep_line_breaks_and_tabs() {
        let mut out = String::new();
        escape_attribute("a\nb\tc \"d\" & <e>\u{1b}[31m\u{7}", &mut out);
        assert_eq!(out, "a&#10;b&#9;c &quot;d&quot; &amp; &lt;e&gt;");
    }

    #[test]
    fn timestamps_and_seconds() {
        assert_eq!(timestamp("2026-11-26T12:00:00.25+01:00").as_deref(), Some("2026-11-26T12:00:00.250+01:00"));
        assert_eq!(timestamp("yesterday"), None);
        assert_eq!(seconds(612_400), "612.400");
        assert_eq!(seconds(5), "0.005");
    }
}
