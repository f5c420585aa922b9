//! JUnit XML (`--junit FILE`), as GitLab, Jenkins and the JUnit actions of GitHub read it.
//!
//! One `<testsuite>` per check (and setup step), named by the check id:
//!
//! - a test runner's own cases (pytest) are carried over with their classname, name, file,
//!   line and time; the failure text is the traceback;
//! - every other finding is a test case of its own: `classname` = `<check>.<rule>`, `name` =
//!   `path:line:col` (or the message when it has no place), made unique within the report
//!   because GitLab keeps only the first of duplicate cases. Error findings are `<failure>`;
//!   warnings and notes pass, with the text in `<system-out>`;
//! - an errored or timed-out check adds one `<error>` case, a skipped or cancelled one a
//!   `<skipped>` case, a passing check without cases one passing case, so every check shows.
//!
//! XML escaping and the removal of characters XML 1.0 forbids (control characters, ANSI
//! escapes) are done by `quick-junit`; non-characters (U+FFFE, U+FFFF) are removed here.

use std::collections::HashSet;
use std::time::Duration;

use greenlight_report::{CheckReport, Finding, FindingKind, Outcome, RunReport, TestOutcome};
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use crate::common::{blocks, facts, findings_of, prepare};
use crate::text::{clip, first_line};

/// Longest `message` attribute; the full text is in the element.
const MESSAGE_MAX: usize = 500;

/// The report as JUnit XML.
pub fn render(report: &RunReport) -> String {
    let report = prepare(report);
    let mut junit = Report::new("greenlight");
    if let Ok(timestamp) = chrono::DateTime::parse_from_rfc3339(&report.started_at) {
        junit.set_timestamp(timestamp);
    }
    junit.set_time(Duration::from_millis(report.duration_ms));
    let mut names = UniqueNames::default();
    for check in &report.checks {
        junit.add_test_suite(suite(&report, check, &mut names));
    }
    match junit.to_string() {
        Ok(text) => text,
        // Serializing into memory does not fail; keep the output well-formed if it ever does.
        Err(error) => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"greenlight\"><!-- {} --></testsuites>\n",
            clean(&error.to_string()).replace("--", "- -")
        ),
    }
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

fn suite(report: &RunReport, check: &CheckReport, names: &mut UniqueNames) -> TestSuite {
    let mut suite = TestSuite::new(clean(&check.id));
    suite.set_time(Duration::from_millis(check.duration_ms));
    suite.add_property(Property::new("outcome", check.outcome.as_str()));
    suite.add_property(Property::new("title", clean(&check.title)));
    if !check.summary.is_empty() {
        suite.add_property(Property::new("summary", clean(&check.summary)));
    }
    if let Some(log) = &check.log {
        suite.add_property(Property::new("log", clean(&log.path)));
    }

    let mut cases = Vec::new();
    let mut carried_tests = false;
    let mut failures = 0;
    if let Some(tests) = &check.tests
        && !tests.cases.is_empty()
    {
        carried_tests = true;
        for case in &tests.cases {
            let classname = if case.classname.is_empty() { check.id.clone() } else { case.classname.clone() };
            let status = match case.outcome {
                TestOutcome::Passed => TestCaseStatus::success(),
                TestOutcome::Failed | TestOutcome::Error => {
                    failures += 1;
                    let kind = if case.outcome == TestOutcome::Failed {
                        NonSuccessKind::Failure
                    } else {
                        NonSuccessKind::Error
                    };
                    let mut status = TestCaseStatus::non_success(kind);
                    let message = case.message.as_deref().unwrap_or(if case.outcome == TestOutcome::Failed {
                        "failed"
                    } else {
                        "error"
                    });
                    status.set_message(attribute(message));
                    let text = match (&case.traceback, &case.message) {
                        (Some(traceback), _) => traceback.clone(),
                        (None, Some(message)) => message.clone(),
                        (None, None) => String::new(),
                    };
                    if !text.is_empty() {
                        status.set_description(clean(&text));
                    }
                    status
                }
                TestOutcome::Skipped => {
                    let mut status = TestCaseStatus::skipped();
                    if let Some(message) = &case.message {
                        status.set_message(attribute(message));
                    }
                    status
                }
            };
            let name = names.claim(&classname, &case.name);
            let mut test_case = TestCase::new(clean(&name), status);
            test_case.set_classname(clean(&classname));
            test_case.set_time(Duration::from_millis(case.duration_ms));
            if let Some(file) = &case.file {
                test_case.extra.insert("file".into(), clean(&report.project.repo_path(file)).into());
            }
            if let Some(line) = case.line {
                test_case.extra.insert("line".into(), line.to_string().into());
            }
            if case.flaky {
                let attempts = case.attempts.unwrap_or(2);
                let first = case.message.as_deref().unwrap_or("failed");
                test_case.set_system_out(clean(&format!(
                    "flaky: failed, then passed on attempt {attempts}; the first failure: {first}"
                )));
            }
            cases.push(test_case);
        }
    }

    for finding in findings_of(check) {
        if carried_tests && finding.kind == FindingKind::Test {
            continue;
        }
        if blocks(&finding) {
            failures += 1;
        }
        cases.push(finding_case(report, check, &finding, names));
    }

    let classname = check.id.clone();
    let text = outcome_text(check);
    let alone = cases.is_empty();
    match check.outcome {
        Outcome::Errored | Outcome::TimedOut => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status.set_type(check.outcome.as_str());
            status.set_message(attribute(&check.summary));
            status.set_description(clean(&text));
            cases.push(named_case(names, &classname, &check.title, status));
        }
        Outcome::Failed if failures == 0 => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status.set_type("failed");
            status.set_message(attribute(&check.summary));
            status.set_description(clean(&text));
            cases.push(named_case(names, &classname, &check.title, status));
        }
        Outcome::Skipped | Outcome::Cancelled if cases.is_empty() => {
            let mut status = TestCaseStatus::skipped();
            status.set_type(check.outcome.as_str());
            let why = check.reason.as_deref().unwrap_or(&check.summary);
            status.set_message(attribute(&format!("{}: {why}", check.outcome)));
            cases.push(named_case(names, &classname, &check.title, status));
        }
        Outcome::Passed if cases.is_empty() => {
            let mut case = named_case(names, &classname, &check.title, TestCaseStatus::success());
            if !check.summary.is_empty() {
                case.set_system_out(clean(&check.summary));
            }
            cases.push(case);
        }
        _ => {}
    }
    if alone && let [case] = cases.as_mut_slice() {
        // The one case that stands for the whole check takes its time.
        case.set_time(Duration::from_millis(check.duration_ms));
    }
    suite.add_test_cases(cases);
    suite
}

fn named_case(names: &mut UniqueNames, classname: &str, name: &str, status: TestCaseStatus) -> TestCase {
    let name = names.claim(classname, name);
    let mut case = TestCase::new(clean(&name), status);
    case.set_classname(clean(classname));
    case
}

fn finding_case(report: &RunReport, check: &CheckReport, finding: &Finding, names: &mut UniqueNames) -> TestCase {
    let classname = format!("{}.{}", check.id, finding.rule);
    let name = match &finding.location {
        Some(location) => location.display(),
        None => clip(first_line(&finding.message), 120),
    };
    let text = finding_text(finding);
    let status = if blocks(finding) {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        status.set_type(clean(&finding.rule));
        status.set_message(attribute(&finding.message));
        status.set_description(clean(&text));
        status
    } else {
        TestCaseStatus::success()
    };
    let mut case = named_case(names, &classname, &name, status);
    if !blocks(finding) {
        case.set_system_out(clean(&format!("{}: {text}", finding.severity.as_str())));
    }
    if let Some(location) = &finding.location {
        case.extra.insert("file".into(), clean(&report.project.repo_path(&location.path)).into());
        if let Some(line) = location.line {
            case.extra.insert("line".into(), line.to_string().into());
        }
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
    clean(&clip(&joined, MESSAGE_MAX))
}

/// Removes what quick-junit does not: the XML 1.0 non-characters U+FFFE and U+FFFF.
fn clean(text: &str) -> String {
    text.chars().filter(|c| !matches!(c, '\u{fffe}' | '\u{ffff}')).collect()
}
