//! The `pytest` checker.
//!
//! pytest runs in the project environment (so the project and its `dev` extras are
//! importable) with `-p no:cacheprovider` (no `.pytest_cache/`), bytecode cached under
//! `.greenlight/pycache` (no `__pycache__/` in the tree), and a JUnit XML report in a private
//! temporary directory. The project's own
//! pytest configuration applies. The outcome comes from the exit code read together with the
//! report (TOOL-FACTS §2.1): failures and collection errors are `failed`; an internal or usage
//! error, a conftest that cannot be imported, or a non-zero exit without a report is `errored`.

mod extras;
mod progress;
mod retry;
mod share;

use std::sync::Arc;
use std::time::Duration;

use greenlight_checker::process::Output;
use greenlight_checker::report::TestSummary;
use greenlight_checker::{
    CheckContext, CheckError, CheckResult, Checker, CheckerFactory, CheckerInfo, Detection, ENVIRONMENT, Outcome,
    Project, ToolSpec, async_trait, check_options, text,
};

pub use greenlight_checker::junit::{Junit, JunitError, parse_junit};
use greenlight_checker::junit::{case_findings, counts};

/// pytest, from the project environment.
pub const PYTEST: ToolSpec = ToolSpec {
    name: "pytest",
    executable: "pytest",
    version_args: &["--version"],
    pypi: Some("pytest"),
    in_environment: true,
    install_hint: "add pytest to your test extras (for example `[project.optional-dependencies] dev = [\"pytest\"]`)",
    default_version: Some("9.2.0"),
    wheel: None,
};

check_options! {
    /// Options of `[tool.greenlight.pytest]`.
    pub struct PytestOptions {
        /// Extra arguments for pytest (`["-x", "-k", "not slow"]`).
        pub args: Vec<String>,
        /// Test paths (default: pytest's own configuration, `testpaths`).
        pub paths: Vec<String>,
        /// Treat "no tests collected" (exit code 5) as passed.
        pub allow_no_tests: bool,
        /// Run the tests that failed again, by node id, up to this many more times; one that
        /// then passes is `flaky`. Default 0.
        pub retries: u32,
        /// Let flaky tests fail the check. Default `false`: they pass, and the summary names them.
        pub flaky_fails: bool,
    }
}

/// The `pytest` factory.
pub const PYTEST_CHECK: CheckerFactory =
    CheckerFactory { id: "pytest", build: |source| Ok(Arc::new(PytestChecker { options: source.section("pytest")? })) };

#[derive(Debug)]
struct PytestChecker {
    options: PytestOptions,
}

#[async_trait]
impl Checker for PytestChecker {
    fn id(&self) -> &'static str {
        "pytest"
    }

    fn info(&self) -> CheckerInfo {
        CheckerInfo {
            tools: vec![PYTEST],
            needs: vec![ENVIRONMENT],
            default_timeout: Duration::from_secs(1800),
            expected: Duration::from_secs(10),
            homepage: Some("https://docs.pytest.org/"),
            // Under `--partition`, each shard runs its share of the test files.
            splits: true,
            // Test results are not code-scanning alerts: JUnit carries them.
            sarif: false,
            progress: Some(progress::progress),
            ..CheckerInfo::new("pytest")
        }
    }

    fn detect(&self, project: &Project) -> Detection {
        let configured = project.pyproject.as_ref().is_some_and(|p| p.has_tool("pytest"));
        if configured {
            Detection::applies("[tool.pytest] in pyproject.toml")
        } else if project.has("pytest.ini") {
            Detection::applies("pytest.ini found")
        } else if project.has("tests") || project.has("test") {
            Detection::applies("tests/ found")
        } else if project.has("conftest.py") {
            Detection::applies("conftest.py found")
        } else {
            Detection::not_applicable("no tests/ directory and no pytest configuration")
        }
    }

    async fn run(&self, cx: &CheckContext) -> Result<CheckResult, CheckError> {
        let report = cx.scratch.join("junit.xml");
        let paths = match cx.partition {
            Some(partition) => {
                let listed = cx.project_files().await?;
                let durations = std::fs::read_to_string(cx.project.root.join(share::DURATIONS_FILE))
                    .map(|text| share::file_durations(&text))
                    .unwrap_or_default();
                let roots =
                    share::test_roots(&self.options.paths, cx.project.pyproject.as_ref().map(|p| p.text.as_str()));
                let root = cx.project.root.clone();
                let size = |path: &std::path::Path| std::fs::metadata(root.join(path)).map_or(0, |meta| meta.len());
                let mine = share::share(&listed.files, &roots, &durations, size, partition);
                if mine.is_empty() {
                    return Ok(CheckResult::skipped(format!("no test files fall to shard {partition} (--partition)")));
                }
                cx.log().line(&format!("greenlight: shard {partition} runs {} test files", mine.len()));
                mine
            }
            None => self.options.paths.clone(),
        };
        let output = self.pytest(cx, &report, &paths)?.run().await?;
        let xml = std::fs::read_to_string(&report).ok();
        let mut result = interpret(&self.options, &output, xml.as_deref());
        if self.options.retries > 0
            && result.outcome == Outcome::Failed
            && output.status.code() == Some(1)
            && let Some(Ok(junit)) = xml.as_deref().map(parse_junit)
        {
            result = self.retried(cx, junit, &output.both_tails(60)).await?;
        }
        Ok(output.attach(with_extra_hint(result, cx, &output, xml.as_deref())))
    }
}

impl PytestChecker {
    /// pytest on `selection` (paths or node ids), writing its JUnit report to `report`.
    fn pytest(
        &self,
        cx: &CheckContext,
        report: &std::path::Path,
        selection: &[String],
    ) -> Result<greenlight_checker::ToolInvocation, CheckError> {
        Ok(cx
            .tool(&PYTEST)?
            .args(["-p", "no:cacheprovider", "-o", "junit_family=xunit1", "--color=no"])
            .arg(format!("--junitxml={}", report.display()))
            .args(&self.options.args)
            .args(selection)
            // Bytecode (and pytest's rewritten test modules) goes under .greenlight/, not into
            // `__pycache__/` next to the user's sources, and is reused by the next run.
            .env("PYTHONPYCACHEPREFIX", cx.state_dir.join("pycache"))
            .env_remove("PYTHONDONTWRITEBYTECODE")
            .env_remove("PYTEST_ADDOPTS"))
    }

    /// `retries`: runs the failing tests of `junit` again by node id until they pass or the
    /// retries are used up, and decides from the folded report.
    async fn retried(&self, cx: &CheckContext, mut junit: Junit, text: &str) -> Result<CheckResult, CheckError> {
        for attempt in 2..=self.options.retries.saturating_add(1) {
            let failing = retry::still_failing(&junit);
            if failing.is_empty() {
                break;
            }
            cx.log().line(&format!(
                "retry {} of {}: {} failing test(s) again: {}",
                attempt - 1,
                self.options.retries,
                failing.len(),
                failing.join(" ")
            ));
            let report = cx.scratch.join(format!("junit-attempt-{attempt}.xml"));
            let _ = self.pytest(cx, &report, &failing)?.run().await?;
            let Some(Ok(again)) = std::fs::read_to_string(&report).ok().as_deref().map(parse_junit) else {
                cx.log().line("the retry wrote no readable JUnit report; its tests count as failing");
                continue;
            };
            retry::fold(&mut junit, &again.summary, attempt);
        }
        let code = if retry::still_failing(&junit).is_empty() { 0 } else { 1 };
        let flaky_fails = self.options.flaky_fails;
        let flaky = retry::flaky_findings(&junit.summary, flaky_fails);
        let mut result = from_junit(code, junit, text);
        if let Some(summary) = result.tests.as_ref().filter(|summary| summary.flaky > 0) {
            let line = retry::flaky_line(summary, flaky_fails);
            result.summary = format!("{}; {line}", result.summary);
            if let Some(outcome) = retry::outcome(summary, flaky_fails) {
                result.outcome = outcome;
            }
            result.reason = Some(match result.reason.take() {
                Some(reason) => format!("{reason}\n{line}"),
                None => line,
            });
        }
        result.findings.extend(flaky);
        Ok(result)
    }
}

/// A failed or errored run whose tests could not import a module that an extra of the
/// project provides says which extra, and how to select it.
fn with_extra_hint(mut result: CheckResult, cx: &CheckContext, output: &Output, xml: Option<&str>) -> CheckResult {
    if !matches!(result.outcome, Outcome::Failed | Outcome::Errored) {
        return result;
    }
    let Some(pyproject) = &cx.project.pyproject else { return result };
    let mut modules = extras::missing_modules(&output.both_tails(60));
    for module in extras::missing_modules(xml.unwrap_or_default()) {
        if !modules.contains(&module) {
            modules.push(module);
        }
    }
    let site_packages = cx.environment.as_ref().map(|environment| environment.site_packages.as_path());
    if let Some(hint) = extras::missing_extra_hint(&modules, pyproject, site_packages) {
        result.reason = Some(match result.reason.take() {
            Some(reason) => format!("{reason}\n{hint}"),
            None => hint,
        });
    }
    result
}

/// Decides the outcome from the exit code, the JUnit report (if written) and the output.
fn interpret(options: &PytestOptions, output: &Output, xml: Option<&str>) -> CheckResult {
    let code = output.status.code().unwrap_or(-1);
    let text = output.both_tails(60);
    if let Some(reason) = conftest_error(&text) {
        return CheckResult::errored(reason);
    }
    let parsed = xml.map(parse_junit);
    match (code, parsed) {
        (5, _) if options.allow_no_tests => CheckResult::passed("no tests collected (allowed by allow-no-tests)"),
        (5, _) => {
            let mut result = CheckResult::failed("no tests collected");
            result.reason = Some(
                "pytest collected no tests (exit code 5); add tests, fix `testpaths`, or set [tool.greenlight.pytest] allow-no-tests = true"
                    .to_string(),
            );
            result
        }
        (0 | 1 | 2 | 6, Some(Ok(junit))) => from_junit(code, junit, &text),
        (0, None) => {
            CheckResult::errored("pytest exited 0 but wrote no JUnit report; a plugin or `addopts` may interfere")
        }
        (3, _) => CheckResult::errored(format!(
            "pytest hit an internal error (exit code 3):\n{}",
            internal_error_lines(&text)
        )),
        (4, _) => {
            CheckResult::errored(format!("pytest was used incorrectly (exit code 4):\n{}", text::last_lines(&text, 15)))
        }
        (_, Some(Err(error))) => CheckResult::errored(format!(
            "pytest's JUnit report cannot be read ({error}); pytest said:\n{}",
            text::last_lines(&text, 15)
        )),
        (code, _) => CheckResult::errored(format!(
            "pytest exited with code {code} without writing its report (a crash or a forced exit, e.g. pytest-timeout's thread method); its last output:\n{}",
            text::last_lines(&text, 20)
        )),
    }
}

fn from_junit(code: i32, junit: Junit, text: &str) -> CheckResult {
    let summary = junit.summary;
    let findings = case_findings(&summary, &junit.failure_lines, "pytest");
    let counts = counts(&summary);
    let mut result = match code {
        0 if summary.failed + summary.errors == 0 => CheckResult::passed(counts),
        0 => {
            // pytest itself never does this; a wrapper script or plugin swallowed the exit code.
            let mut result = CheckResult::failed(counts);
            result.reason = Some("pytest exited 0, but its report lists failing tests".to_string());
            result
        }
        6 => {
            let mut result = CheckResult::failed(format!("{counts}; too many warnings"));
            result.reason = Some(format!(
                "tests pass, but the warnings exceed the configured maximum:\n{}",
                text::last_lines(text, 5)
            ));
            result
        }
        2 if summary.failed + summary.errors == 0 => {
            CheckResult::errored(format!("pytest was interrupted (exit code 2):\n{}", text::last_lines(text, 15)))
        }
        _ if summary.failed + summary.errors == 0 => {
            // Exit 1 with nothing failing: a strict xpass or a plugin's verdict.
            let mut result = CheckResult::failed(counts);
            result.reason = Some(format!("pytest exited with code {code}:\n{}", text::last_lines(text, 10)));
            result
        }
        _ => CheckResult::failed(counts),
    };
    if code == 2 && summary.errors > 0 {
        result.reason =
            Some("collection errors: pytest could not import some test modules, so no test ran".to_string());
        result.summary = format!("{} (collection errors)", result.summary);
    }
    result.findings = findings;
    result.tests = Some(summary);
    result
}

/// A conftest.py that cannot be imported stops pytest before it writes a report.
fn conftest_error(text: &str) -> Option<String> {
    let start = text.find("ImportError while loading conftest")?;
    let excerpt = &text[start..];
    Some(format!(
        "a conftest.py could not be imported, so no test ran; fix the import error it shows:\n{}",
        text::last_lines(excerpt, 15)
    ))
}

fn internal_error_lines(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|line| line.starts_with("INTERNALERROR>")).collect();
    if lines.is_empty() { text::last_lines(text, 15) } else { text::last_lines(&lines.join("\n"), 15) }
}

/// The `Outcome` a JUnit summary implies on its own (for tests of the parser).
pub fn outcome_of(summary: &TestSummary) -> Outcome {
    if summary.failed + summary.errors > 0 { Outcome::Failed } else { Outcome::Passed }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_line() {
        let junit =
            parse_junit(include_str!("../../../crates/greenlight-checker/tests/data/mixed-xunit1.xml")).unwrap();
        assert_eq!(counts(&junit.summary), "2 failed, 2 passed, 2 skipped, 3 errors");
        let findings = case_findings(&junit.summary, &junit.failure_lines, "pytest");
        assert_eq!(findings.len(), 5);
        let fail = findings.iter().find(|f| f.message.starts_with("tests/test_a.py::test_fail")).unwrap();
        assert_eq!(fail.location.as_ref().unwrap().line, Some(20));
        assert_eq!(fail.rule, "test-failed");
    }

    #[test]
    fn failures_in_the_report_fail_even_with_exit_code_zero() {
        let junit =
            parse_junit(include_str!("../../../crates/greenlight-checker/tests/data/mixed-xunit1.xml")).unwrap();
        let result = from_junit(0, junit, "");
        assert_eq!(result.outcome, Outcome::Failed);
        assert!(result.reason.unwrap().contains("exited 0"));
    }

    #[test]
    fn conftest_errors_are_plain() {
        let text = "ImportError while loading conftest '/p/tests/conftest.py'.\ntests/conftest.py:1: in <module>\n    import nope\nE   ModuleNotFoundError: No module named 'nope'";
        let reason = conftest_error(text).unwrap();
        assert!(reason.starts_with("a conftest.py could not be imported"));
        assert!(reason.contains("No module named 'nope'"));
    }
}
