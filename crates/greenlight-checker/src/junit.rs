//! Reading JUnit XML test reports into test cases and findings: pytest's (`--junitxml`,
//! `junit_family=xunit1` for file and line) and any other tool's (a defined check with the
//! `junit` reader). One parser for every check that reads test results.

use greenlight_report::{Finding, FindingKind, Location, TestCase, TestOutcome, TestSummary};
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// Most bytes of traceback kept per failing case.
const TRACEBACK_LIMIT: usize = 4000;
/// Most lines of traceback kept per failing case.
const TRACEBACK_LINES: usize = 40;

/// A parse failure of the XML report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JunitError(pub String);

impl std::fmt::Display for JunitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The parsed report: counts as pytest reports them and every case.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Junit {
    /// Counts and cases.
    pub summary: TestSummary,
    /// The `line` in the failing frame of each failed case's traceback (`tests/x.py:12: ...`),
    /// by index into `summary.cases`.
    pub failure_lines: Vec<(usize, u32)>,
}

#[derive(Default)]
struct Pending {
    classname: String,
    name: String,
    file: Option<String>,
    line: Option<u32>,
    time: f64,
    outcome: Option<TestOutcome>,
    message: Option<String>,
    text: String,
}

/// Parses pytest's JUnit XML. Counts come from the `<testsuite>` attributes (what pytest
/// itself reports), but never fewer than the cases show: a report whose attributes say
/// `failures="0"` beside a failed case (a plugin that rewrites them, a merged file) counts the
/// case. `passed` is the number of cases without failure, error or skip.
pub fn parse_junit(xml: &str) -> Result<Junit, JunitError> {
    let mut reader = Reader::from_str(xml);
    let mut junit = Junit::default();
    let mut suites = 0;
    let mut current: Option<Pending> = None;
    let mut in_result = false;
    loop {
        let event = reader.read_event().map_err(|error| JunitError(format!("invalid XML: {error}")))?;
        let is_start = matches!(event, Event::Start(_));
        match event {
            Event::Start(element) | Event::Empty(element) if element.name().as_ref() == b"testsuite" => {
                suites += 1;
                let attributes = attributes(&element)?;
                let number = |key: &str| {
                    attributes.iter().find(|(k, _)| k == key).and_then(|(_, v)| v.parse::<u32>().ok()).unwrap_or(0)
                };
                junit.summary.total += number("tests");
                junit.summary.failed += number("failures");
                junit.summary.errors += number("errors");
                junit.summary.skipped += number("skipped");
            }
            Event::Start(element) if element.name().as_ref() == b"testcase" => {
                current = Some(pending(&element)?);
            }
            Event::Empty(element) if element.name().as_ref() == b"testcase" => {
                finish(&mut junit, pending(&element)?);
            }
            Event::Start(element) | Event::Empty(element)
                if matches!(element.name().as_ref(), b"failure" | b"error" | b"skipped") =>
            {
                if let Some(case) = current.as_mut() {
                    let kind = match element.name().as_ref() {
                        b"failure" => TestOutcome::Failed,
                        b"error" => TestOutcome::Error,
                        _ => TestOutcome::Skipped,
                    };
                    // A failure wins over a later teardown error; an error over a skip.
                    let rank = |outcome: Option<TestOutcome>| match outcome {
                        Some(TestOutcome::Failed) => 3,
                        Some(TestOutcome::Error) => 2,
                        Some(TestOutcome::Skipped) => 1,
                        _ => 0,
                    };
                    if rank(Some(kind)) > rank(case.outcome) {
                        case.outcome = Some(kind);
                        case.message = attributes(&element)?.into_iter().find(|(k, _)| k == "message").map(|(_, v)| v);
                        case.text.clear();
                        in_result = is_start && kind != TestOutcome::Skipped;
                    }
                }
            }
            Event::Text(text) if in_result => {
                if let Some(case) = current.as_mut() {
                    let text = text.decode().map_err(|error| JunitError(format!("invalid text: {error}")))?;
                    let unescaped = quick_xml::escape::unescape(&text)
                        .map_err(|error| JunitError(format!("invalid text: {error}")))?;
                    case.text.push_str(&unescaped);
                }
            }
            Event::GeneralRef(reference) if in_result => {
                if let Some(case) = current.as_mut() {
                    let name = String::from_utf8_lossy(reference.as_ref()).into_owned();
                    case.text.push_str(&unescape_reference(&name));
                }
            }
            Event::End(element) if matches!(element.name().as_ref(), b"failure" | b"error") => in_result = false,
            Event::End(element) if element.name().as_ref() == b"testcase" => {
                if let Some(case) = current.take() {
                    finish(&mut junit, case);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if suites == 0 {
        return Err(JunitError("no <testsuite> element".to_string()));
    }
    let count = |outcome: TestOutcome| junit.summary.cases.iter().filter(|case| case.outcome == outcome).count() as u32;
    let (failed, errors, skipped) =
        (count(TestOutcome::Failed), count(TestOutcome::Error), count(TestOutcome::Skipped));
    let cases = junit.summary.cases.len() as u32;
    junit.summary.passed = count(TestOutcome::Passed);
    // The attributes may count more (pytest counts a teardown error beside a failure), never less.
    junit.summary.failed = junit.summary.failed.max(failed);
    junit.summary.errors = junit.summary.errors.max(errors);
    junit.summary.skipped = junit.summary.skipped.max(skipped);
    junit.summary.total = junit.summary.total.max(cases);
    Ok(junit)
}

/// `3 failed, 108 passed, 1 skipped, 1 error` (nonzero parts only).
pub fn counts(summary: &TestSummary) -> String {
    let mut parts = Vec::new();
    if summary.failed > 0 {
        parts.push(format!("{} failed", summary.failed));
    }
    parts.push(format!("{} passed", summary.passed));
    if summary.skipped > 0 {
        parts.push(format!("{} skipped", summary.skipped));
    }
    if summary.errors > 0 {
        parts.push(greenlight_report::text::plural(summary.errors as usize, "error"));
    }
    parts.join(", ")
}

/// One finding per failed or errored case, at the failing line of its test file; `tool`
/// names the runner in the findings' titles (`pytest: tests/test_a.py::test_x`).
pub fn case_findings(summary: &TestSummary, failure_lines: &[(usize, u32)], tool: &str) -> Vec<Finding> {
    summary
        .cases
        .iter()
        .enumerate()
        .filter(|(_, case)| matches!(case.outcome, TestOutcome::Failed | TestOutcome::Error))
        .map(|(index, case)| {
            let line = failure_lines.iter().find(|(i, _)| *i == index).map(|(_, line)| *line).or(case.line);
            let location = case.file.clone().map(|file| Location::at(file, line, None));
            let (rule, verb) =
                if case.outcome == TestOutcome::Failed { ("test-failed", "failed") } else { ("test-error", "errored") };
            let first = case.message.as_deref().and_then(|m| m.lines().next()).unwrap_or("").trim().to_string();
            let message = if first.is_empty() {
                format!("{} {verb}", case.node_id)
            } else {
                format!("{} {verb}: {first}", case.node_id)
            };
            let mut finding = Finding::new(rule, message, location);
            finding.fingerprint = greenlight_report::fingerprint(&[rule, &case.node_id]);
            finding.kind = FindingKind::Test;
            finding.title = Some(format!("{tool}: {}", case.node_id));
            finding.detail = case.traceback.clone();
            finding
        })
        .collect()
}

fn unescape_reference(name: &str) -> String {
    match name {
        "lt" => "<".to_string(),
        "gt" => ">".to_string(),
        "amp" => "&".to_string(),
        "quot" => "\"".to_string(),
        "apos" => "'".to_string(),
        _ => {
            let code = name
                .strip_prefix("#x")
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| name.strip_prefix('#').and_then(|dec| dec.parse().ok()));
            code.and_then(char::from_u32).map_or_else(|| format!("&{name};"), String::from)
        }
    }
}

fn attributes(element: &BytesStart<'_>) -> Result<Vec<(String, String)>, JunitError> {
    element
        .attributes()
        .map(|attribute| {
            let attribute = attribute.map_err(|error| JunitError(format!("invalid attribute: {error}")))?;
            let key = String::from_utf8_lossy(attribute.key.as_ref()).into_owned();
            let value =
                attribute.unescape_value().map_err(|error| JunitError(format!("invalid attribute: {error}")))?;
            Ok((key, value.into_owned()))
        })
        .collect()
}

fn pending(element: &BytesStart<'_>) -> Result<Pending, JunitError> {
    let mut case = Pending::default();
    for (key, value) in attributes(element)? {
        match key.as_str() {
            "classname" => case.classname = value,
            "name" => case.name = value,
            "file" => case.file = Some(value),
            // xunit1 lines are 0-based.
            "line" => case.line = value.parse::<u32>().ok().map(|line| line + 1),
            "time" => case.time = value.parse().unwrap_or(0.0),
            _ => {}
        }
    }
    Ok(case)
}

fn finish(junit: &mut Junit, case: Pending) {
    let outcome = case.outcome.unwrap_or(TestOutcome::Passed);
    let collection_error = case.classname.is_empty();
    let file = case.file.clone().or_else(|| module_file(if collection_error { &case.name } else { &case.classname }));
    let node_id = node_id(&case.classname, &case.name, file.as_deref());
    let traceback = (!case.text.trim().is_empty()).then(|| bounded(&case.text));
    if let (Some(traceback), Some(file)) = (&traceback, &file)
        && matches!(outcome, TestOutcome::Failed | TestOutcome::Error)
        && let Some(line) = failing_line(traceback, file)
    {
        junit.failure_lines.push((junit.summary.cases.len(), line));
    }
    let message = match (&case.message, outcome) {
        (Some(message), TestOutcome::Failed | TestOutcome::Error | TestOutcome::Skipped) if !message.is_empty() => {
            Some(message.clone())
        }
        _ => None,
    };
    junit.summary.cases.push(TestCase {
        node_id,
        classname: case.classname,
        name: case.name,
        file,
        line: case.line,
        outcome,
        duration_ms: (case.time * 1000.0).round() as u64,
        message,
        traceback: if matches!(outcome, TestOutcome::Failed | TestOutcome::Error) { traceback } else { None },
        flaky: false,
        attempts: None,
    });
}

/// `tests.test_api` → `tests/test_api.py`.
fn module_file(dotted: &str) -> Option<String> {
    (!dotted.is_empty()).then(|| format!("{}.py", dotted.replace('.', "/")))
}

/// pytest's node id: `tests/test_a.py::TestCls::test_param[2]`; a collection error is the
/// module's path.
fn node_id(classname: &str, name: &str, file: Option<&str>) -> String {
    let Some(file) = file else {
        return if classname.is_empty() { name.to_string() } else { format!("{classname}::{name}") };
    };
    if classname.is_empty() {
        return file.to_string();
    }
    let module = file.trim_end_matches(".py").replace('/', ".");
    let classes = classname.strip_prefix(&module).map(|rest| rest.trim_start_matches('.')).unwrap_or("");
    let mut parts = vec![file.to_string()];
    parts.extend(classes.split('.').filter(|part| !part.is_empty()).map(str::to_string));
    parts.push(name.to_string());
    parts.join("::")
}

/// The line of the last traceback frame in `file` (`tests/test_a.py:20: AssertionError`).
fn failing_line(traceback: &str, file: &str) -> Option<u32> {
    let prefix = format!("{file}:");
    traceback.lines().rev().find_map(|line| {
        let rest = line.trim_start().strip_prefix(&prefix)?;
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    })
}

/// The last [`TRACEBACK_LINES`] lines, at most [`TRACEBACK_LIMIT`] bytes.
fn bounded(text: &str) -> String {
    let lines: Vec<&str> = text.trim_end().lines().collect();
    let mut kept = lines[lines.len().saturating_sub(TRACEBACK_LINES)..].join("\n");
    if kept.len() > TRACEBACK_LIMIT {
        let mut start = kept.len() - TRACEBACK_LIMIT;
        while !kept.is_char_boundary(start) {
            start += 1;
        }
        kept = format!("…{}", &kept[start..]);
    } else if lines.len() > TRACEBACK_LINES {
        kept = format!("… ({} lines above)\n{kept}", lines.len() - TRACEBACK_LINES);
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_report() {
        let junit = parse_junit(include_str!("../tests/data/mixed-xunit1.xml")).unwrap();
        let summary = &junit.summary;
        assert_eq!((summary.total, summary.failed, summary.errors, summary.skipped), (9, 2, 3, 2));
        assert_eq!(summary.passed, 2);
        let ids: Vec<(&str, TestOutcome, Option<u32>)> =
            summary.cases.iter().map(|case| (case.node_id.as_str(), case.outcome, case.line)).collect();
        assert_eq!(
            ids,
            vec![
                ("tests/test_collect_err.py", TestOutcome::Error, None),
                ("tests/test_a.py::test_pass", TestOutcome::Passed, Some(15)),
                ("tests/test_a.py::test_fail", TestOutcome::Failed, Some(19)),
                ("tests/test_a.py::test_error", TestOutcome::Error, Some(23)),
                ("tests/test_a.py::test_skip", TestOutcome::Skipped, Some(27)),
                ("tests/test_a.py::test_xfail", TestOutcome::Skipped, Some(31)),
                ("tests/test_a.py::TestCls::test_param[1]", TestOutcome::Passed, Some(37)),
                ("tests/test_a.py::TestCls::test_param[2]", TestOutcome::Failed, Some(37)),
                ("tests/test_a.py::test_teardown_err", TestOutcome::Error, Some(42)),
            ]
        );
        let fail = &summary.cases[2];
        assert_eq!(fail.message.as_deref(), Some("AssertionError: values differ <&>\nassert 1 == 2"));
        let traceback = fail.traceback.as_deref().unwrap();
        assert!(traceback.contains("assert 1 == 2, \"values differ <&>\""), "{traceback}");
        assert!(traceback.ends_with("tests/test_a.py:20: AssertionError"), "{traceback}");
        assert!(junit.failure_lines.contains(&(2, 20)));
        assert!(summary.cases[0].traceback.as_deref().unwrap().contains("No module named 'nonexistent_module_xyz'"));
    }

    #[test]
    fn collection_error_report() {
        let junit = parse_junit(include_str!("../tests/data/collection-error-xunit1.xml")).unwrap();
        assert_eq!((junit.summary.total, junit.summary.errors), (1, 1));
        assert_eq!(junit.summary.cases[0].message.as_deref(), Some("collection failure"));
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse_junit("not xml at all").is_err());
        assert!(parse_junit("<testsuites></testsuites>").is_err());
    }

    #[test]
    fn node_ids() {
        assert_eq!(
            node_id("tests.test_a.TestCls", "test_x", Some("tests/test_a.py")),
            "tests/test_a.py::TestCls::test_x"
        );
        assert_eq!(node_id("tests.test_a", "test_x", None), "tests.test_a::test_x");
        assert_eq!(node_id("", "tests.test_b", Some("tests/test_b.py")), "tests/test_b.py");
    }

    #[test]
    fn long_tracebacks_are_bounded() {
        let long: String = (0..200).map(|i| format!("line {i}\n")).collect();
        let kept = bounded(&long);
        assert!(kept.lines().count() <= TRACEBACK_LINES + 1);
        assert!(kept.ends_with("line 199"));
        assert!(kept.starts_with("… (160 lines above)"));
    }

    #[test]
    fn counts_never_contradict_the_cases() {
        let xml = r#"<?xml version="1.0"?><testsuites><testsuite name="pytest" errors="0" failures="0" skipped="0" tests="1"><testcase classname="tests.test_a" name="test_ok"/><testcase classname="tests.test_a" name="test_bad"><failure message="assert 1 == 2">tests/test_a.py:3: AssertionError</failure></testcase></testsuite></testsuites>"#;
        let summary = parse_junit(xml).unwrap().summary;
        assert_eq!((summary.total, summary.passed, summary.failed, summary.errors), (2, 1, 1, 0));
    }
}
