//! The `ruff-check` and `ruff-format` checkers.
//!
//! Both run ruff with `--output-format json --no-cache` (no `.ruff_cache` in the user's tree)
//! and decide from the parsed JSON, not the exit code alone: `ruff format --check` exits 2 for
//! a syntax error *and* for a configuration error, and only the JSON tells them apart
//! (TOOL-FACTS §1). `--fix` is passed only when the user gave `--fix`.

mod parse;

use std::sync::Arc;
use std::time::Duration;

use greenlight_checker::process::Output;
use greenlight_checker::{
    CheckContext, CheckError, CheckResult, Checker, CheckerFactory, CheckerInfo, ConfigSource, Detection, Finding,
    Outcome, Project, ToolSpec, async_trait, check_options, text,
};

pub use parse::{Applicability, Mode, RuffDiagnostic, RuffFix, RuffLocation, parse_diagnostics, parse_findings};

/// Most bytes of JSON read from `ruff format`'s stdout.
const STDOUT_REPORT_LIMIT: usize = 512 * 1024 * 1024;

/// The ruff tool.
pub const RUFF: ToolSpec = ToolSpec {
    name: "ruff",
    executable: "ruff",
    version_args: &["--version"],
    pypi: Some("ruff"),
    in_environment: false,
    install_hint: "install it with `pip install ruff` (or `uv tool install ruff`), or pin it in [tool.greenlight.tools] ruff = \"0.17.6\" and greenlight installs it",
    default_version: Some("0.17.6"),
    wheel: None,
};

check_options! {
    /// Options of `[tool.greenlight.ruff-check]` and `[tool.greenlight.ruff-format]`.
    pub struct RuffOptions {
        /// Paths to check, relative to the project root (default: `.`).
        pub paths: Vec<String>,
        /// Extra arguments for ruff (for example `["--select", "E,F"]`).
        pub args: Vec<String>,
    }
}

/// The `ruff-check` factory.
pub const RUFF_CHECK: CheckerFactory = CheckerFactory {
    id: "ruff-check",
    build: |source| Ok(Arc::new(RuffChecker { mode: Mode::Check, options: source.section("ruff-check")? })),
};

/// The `ruff-format` factory.
pub const RUFF_FORMAT: CheckerFactory = CheckerFactory {
    id: "ruff-format",
    build: |source| Ok(Arc::new(RuffChecker { mode: Mode::Format, options: source.section("ruff-format")? })),
};

/// Builds a ruff checker directly (tests).
pub fn checker(id: &str, source: &ConfigSource) -> Option<Arc<dyn Checker>> {
    match id {
        "ruff-check" => (RUFF_CHECK.build)(source).ok(),
        "ruff-format" => (RUFF_FORMAT.build)(source).ok(),
        _ => None,
    }
}

#[derive(Debug)]
struct RuffChecker {
    mode: Mode,
    options: RuffOptions,
}

#[async_trait]
impl Checker for RuffChecker {
    fn id(&self) -> &'static str {
        match self.mode {
            Mode::Check => "ruff-check",
            Mode::Format => "ruff-format",
        }
    }

    fn info(&self) -> CheckerInfo {
        CheckerInfo {
            tools: vec![RUFF],
            default_timeout: Duration::from_secs(300),
            expected: Duration::from_millis(300),
            tool_name: Some(match self.mode {
                Mode::Check => "ruff",
                Mode::Format => "ruff format",
            }),
            homepage: Some(match self.mode {
                Mode::Check => "https://docs.astral.sh/ruff/",
                Mode::Format => "https://docs.astral.sh/ruff/formatter/",
            }),
            ..CheckerInfo::new(match self.mode {
                Mode::Check => "ruff check",
                Mode::Format => "ruff format --check",
            })
        }
    }

    fn detect(&self, project: &Project) -> Detection {
        if project.has_pyproject() {
            Detection::applies("pyproject.toml found")
        } else if project.has("ruff.toml") || project.has(".ruff.toml") {
            Detection::applies("ruff.toml found")
        } else {
            Detection::not_applicable("no pyproject.toml or ruff.toml")
        }
    }

    async fn run(&self, cx: &CheckContext) -> Result<CheckResult, CheckError> {
        let report_file = cx.scratch.join(format!("{}.json", self.id()));
        let ruff = cx.tool(&RUFF)?.args(ruff_args(self.mode, cx.fix, &self.options, &report_file));
        // `ruff check` writes its report to a file; `ruff format` has no such option, so its
        // JSON is read from stdout, kept whole.
        let ruff = if self.mode == Mode::Format { ruff.stdout_limit(STDOUT_REPORT_LIMIT) } else { ruff };
        let output = ruff.run().await?;
        let report = match self.mode {
            Mode::Check => std::fs::read(&report_file).unwrap_or_default(),
            Mode::Format if output.stdout.is_complete() => output.stdout.bytes(),
            Mode::Format => {
                return Err(output.error(format!(
                    "ruff printed more than {STDOUT_REPORT_LIMIT} bytes; narrow `paths` in [tool.greenlight.ruff-format]"
                )));
            }
        };
        Ok(output.attach(interpret(self.mode, cx, &report, &output)))
    }
}

/// The arguments of ruff (after the program) for `mode`.
fn ruff_args(mode: Mode, fix: bool, options: &RuffOptions, report_file: &std::path::Path) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = match mode {
        Mode::Check if fix => vec!["check".into(), "--fix".into()],
        Mode::Check => vec!["check".into()],
        Mode::Format if fix => vec!["format".into()],
        Mode::Format => vec!["format".into(), "--check".into()],
    };
    args.extend(["--output-format", "json", "--no-cache", "--extend-exclude", ".greenlight"].map(Into::into));
    if mode == Mode::Check {
        args.extend(["--output-file".into(), report_file.as_os_str().to_os_string()]);
    }
    args.extend(options.args.iter().map(Into::into));
    if options.paths.is_empty() {
        args.push(".".into());
    } else {
        args.extend(options.paths.iter().map(Into::into));
    }
    args
}

/// Decides the outcome from ruff's exit code and its JSON report.
fn interpret(mode: Mode, cx: &CheckContext, report: &[u8], output: &Output) -> CheckResult {
    let code = output.status.code().unwrap_or(-1);
    if mode == Mode::Format && cx.fix {
        return match code {
            0 => CheckResult::passed(match text::first_line(&output.stdout.text()) {
                "" => "formatted".to_string(),
                line => line.to_string(),
            }),
            _ => errored_with_output("ruff format", code, output),
        };
    }
    let parsed = if report.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(parse_findings(report, &cx.project.root, mode))
    };
    match (code, parsed) {
        (0..=2, Some(Ok(findings))) if code == 0 || !findings.is_empty() => summarize(mode, findings),
        (0, None) => summarize(mode, Vec::new()),
        (_, Some(Err(error))) => CheckResult::errored(format!(
            "ruff printed a report greenlight cannot read ({error}); run `ruff --version` and check the tool is ruff ≥ 0.5\n{}",
            output.both_tails(10)
        )),
        (code, _) => errored_with_output("ruff", code, output),
    }
}

fn errored_with_output(tool: &str, code: i32, output: &Output) -> CheckResult {
    let text = output.both_tails(25);
    let hint = if text.contains("Failed to parse")
        || text.contains("Failed to load configuration")
        || text.contains("unknown field")
    {
        "\nruff could not load its configuration: fix the [tool.ruff] table (or ruff.toml) it names."
    } else {
        ""
    };
    CheckResult::errored(format!("{tool} failed with exit code {code} and no report:\n{text}{hint}"))
}

fn summarize(mode: Mode, findings: Vec<Finding>) -> CheckResult {
    if findings.is_empty() {
        return CheckResult::passed(match mode {
            Mode::Check => "no findings",
            Mode::Format => "all files formatted",
        });
    }
    let syntax = findings.iter().filter(|finding| finding.rule == "invalid-syntax").count();
    let summary = match mode {
        Mode::Check => {
            let fixable = findings.iter().filter(|finding| finding.fix_available).count();
            let mut summary = text::plural(findings.len(), "finding");
            if fixable > 0 {
                summary.push_str(&format!(" ({fixable} fixable)"));
            }
            summary
        }
        Mode::Format => {
            let unformatted = findings.len() - syntax;
            let mut parts = Vec::new();
            if unformatted > 0 {
                parts.push(format!("{} would be reformatted", text::plural(unformatted, "file")));
            }
            if syntax > 0 {
                parts.push(format!("{} with syntax errors", text::plural(syntax, "file")));
            }
            parts.join(", ")
        }
    };
    let mut result = CheckResult::new(Outcome::Failed, summary);
    result.findings = findings;
    result
}
