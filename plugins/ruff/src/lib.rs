//! The `ruff-check` and `ruff-format` checkers, for every ruff since 0.1.
//!
//! `ruff check` runs with `--output-format json --output-file` (every release has them) and
//! is decided from the parsed JSON. `ruff format --check` prints JSON only since 0.16: for
//! older releases it runs without `--output-format`, and its text is read instead
//! ([`format_text`]); which flags each release accepts is in [`version`] (a table by
//! version, and a probe of `ruff format --help` when the version cannot be read). The outcome
//! never comes from the exit code alone: `ruff format --check` exits 2 for a syntax error
//! *and* for a configuration error, and only the output tells them apart (TOOL-FACTS §1).
//!
//! Nothing is written into the project: ruff keeps its per-file cache in greenlight's state
//! directory (`RUFF_CACHE_DIR` is `.greenlight/ruff-cache`, the user's also for a run on
//! another commit), reused by the next run. greenlight's own `.greenlight/`
//! is excluded (`--extend-exclude`, or `--config 'extend-exclude = [...]'` for the formatter
//! of 0.2.2 to 0.15, which keeps the project's own `extend-exclude`; a 0.1 formatter checks
//! it and its results there are dropped). `--fix` is passed only when the user gave `--fix`.

mod diff;
mod format_text;
mod parse;
pub mod version;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use greenlight_checker::process::Output;
use greenlight_checker::{
    CheckContext, CheckError, CheckResult, Checker, CheckerFactory, CheckerInfo, ConfigSource, Detection, FileSet,
    FindingKind, Outcome, Project, Reads, ToolSpec, async_trait, check_options, text,
};

pub use format_text::{FormatText, parse_format_text};
pub use parse::{
    Applicability, Diagnostics, Mode, RuffDiagnostic, RuffFix, RuffLocation, parse_diagnostics, parse_findings,
};
pub use version::Features;

/// greenlight's state directory, never checked.
const STATE_DIR: &str = ".greenlight";

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

    /// Python sources and notebooks, TOML files (its configuration: `pyproject.toml`,
    /// `ruff.toml`, `.ruff.toml` and what they `extend`), the ignore files it honours, and
    /// whatever the options name.
    fn reads(&self, _project: &Project) -> Reads {
        Reads::Only(FileSet {
            extensions: vec!["py", "pyi", "ipynb", "toml"],
            names: vec![".gitignore", ".ignore"],
            prefixed: Vec::new(),
            paths: self.options.paths.iter().chain(&self.options.args).cloned().collect(),
            ..FileSet::default()
        })
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
            changed_only: true,
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
        let ruff = cx.resolved(&RUFF)?;
        let version = ruff.version.clone();
        let features = match Features::of(&version) {
            Some(features) => features,
            // `ruff check`'s flags are the same in every release.
            None if self.mode == Mode::Check => Features::LATEST,
            None => {
                // A version that cannot be read: ask this ruff which flags its formatter has.
                let help = cx.tool(&RUFF)?.args(["format", "--help"]).run().await?;
                Features::from_help(&help.stdout.text())
            }
        };
        let report_file = cx.scratch.join(format!("{}.json", self.id()));
        let output_kind = OutputKind::of(self.mode, cx.fix, features);
        let mut options = self.options.clone();
        if let Some(changed) = &cx.changed {
            let files = changed_python_files(&changed.files, &self.options.paths);
            if files.is_empty() {
                return Ok(CheckResult::passed(format!("no Python file changed since {}", changed.since)));
            }
            cx.log().line(&format!("--changed: {} changed since {}", text::plural(files.len(), "file"), changed.since));
            // Files named on the command line are checked even when the configuration excludes
            // them, unless `--force-exclude`.
            options.args.push("--force-exclude".to_string());
            options.paths = files;
        }
        let ruff = cx
            .tool(&RUFF)?
            .args(ruff_args(self.mode, cx.fix, features, &options, &report_file))
            // ruff's own per-file cache, kept between runs in greenlight's state directory.
            .env("RUFF_CACHE_DIR", cx.state_dir.join("ruff-cache"));
        // `ruff check` writes its report to a file; `ruff format` has no such option, so its
        // output is read from stdout, kept whole.
        let ruff = if self.mode == Mode::Format { ruff.stdout_limit(STDOUT_REPORT_LIMIT) } else { ruff };
        let output = ruff.run().await?;
        if self.mode == Mode::Format && !output.stdout.is_complete() {
            return Err(output.error(format!(
                "ruff printed more than {STDOUT_REPORT_LIMIT} bytes; narrow `paths` in [tool.greenlight.ruff-format]"
            )));
        }
        // `None`: ruff wrote no report at all (not even `[]`).
        let report = match output_kind {
            OutputKind::JsonFile => std::fs::read(&report_file).ok(),
            OutputKind::JsonStdout => Some(output.stdout.bytes()).filter(|bytes| !bytes.is_empty()),
            OutputKind::Text | OutputKind::Fixing => Some(Vec::new()),
        };
        let read = Reading { mode: self.mode, kind: output_kind, root: &cx.project.root, version: &version };
        let mut result = read.interpret(report.as_deref(), &output);
        if self.mode == Mode::Format && !cx.fix && result.findings.iter().any(|f| f.kind == FindingKind::Format) {
            self.attach_diffs(cx, features, &options, &mut result).await?;
        }
        if let Some(changed) = &cx.changed
            && matches!(result.outcome, Outcome::Passed | Outcome::Failed)
        {
            let count = text::plural(options.paths.len(), "changed file");
            result.summary = format!("{} ({count} since {})", result.summary, changed.since);
        }
        Ok(output.attach(result))
    }
}

impl RuffChecker {
    /// Runs `ruff format --diff` on the same files with the same settings and puts each
    /// file's diff into its finding; its output is in the log too. A ruff that cannot show a
    /// diff leaves the findings as they are (the log says why); only a stop is passed on.
    async fn attach_diffs(
        &self,
        cx: &CheckContext,
        features: Features,
        options: &RuffOptions,
        result: &mut CheckResult,
    ) -> Result<(), CheckError> {
        let mut args = ruff_args(Mode::Format, false, features, options, Path::new(""));
        // `format --check --output-format json ...` becomes `format --diff ...`.
        args.retain(|arg| arg != "--check");
        if let Some(at) = args.iter().position(|arg| arg == "--output-format") {
            args.drain(at..at + 2);
        }
        args.insert(1, "--diff".into());
        let diff = cx
            .tool(&RUFF)?
            .args(args)
            .env("RUFF_CACHE_DIR", cx.state_dir.join("ruff-cache"))
            .stdout_limit(STDOUT_REPORT_LIMIT)
            .run()
            .await;
        match diff {
            Ok(diff) => diff::attach(&mut result.findings, &diff::split(&diff.stdout.text(), &cx.project.root)),
            Err(error @ (CheckError::Cancelled { .. } | CheckError::TimedOut { .. })) => return Err(error),
            Err(error) => cx.log().line(&format!("no diff of the unformatted files: {error}")),
        }
        Ok(())
    }
}

/// The Python files among `changed` (`.py`, `.pyi`), inside `paths` when it names any.
fn changed_python_files(changed: &[String], paths: &[String]) -> Vec<String> {
    let inside = |file: &str| {
        paths.is_empty()
            || paths.iter().any(|path| {
                let path = path.trim_start_matches("./").trim_end_matches('/');
                path == "." || file == path || file.starts_with(&format!("{path}/"))
            })
    };
    changed
        .iter()
        .filter(|file| file.ends_with(".py") || file.ends_with(".pyi"))
        .filter(|file| inside(file))
        .cloned()
        .collect()
}

/// Where the result of a ruff run is, for its release and the mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OutputKind {
    /// `ruff check`: a JSON report in `--output-file`.
    JsonFile,
    /// `ruff format --check --output-format json` (0.16 and later): JSON on stdout.
    JsonStdout,
    /// `ruff format --check` of an older release: text ([`format_text`]).
    Text,
    /// `ruff format` (with `--fix`): only the exit code and a count.
    Fixing,
}

impl OutputKind {
    fn of(mode: Mode, fix: bool, features: Features) -> Self {
        match mode {
            Mode::Check => OutputKind::JsonFile,
            Mode::Format if fix => OutputKind::Fixing,
            Mode::Format if features.format_json => OutputKind::JsonStdout,
            Mode::Format => OutputKind::Text,
        }
    }
}

/// The arguments of ruff (after the program) for `mode`, as the release with `features`
/// accepts them.
fn ruff_args(
    mode: Mode,
    fix: bool,
    features: Features,
    options: &RuffOptions,
    report_file: &std::path::Path,
) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = match mode {
        Mode::Check if fix => vec!["check".into(), "--fix".into()],
        Mode::Check => vec!["check".into()],
        Mode::Format if fix => vec!["format".into()],
        Mode::Format => vec!["format".into(), "--check".into()],
    };
    match mode {
        Mode::Check => {
            args.extend(["--output-format", "json", "--extend-exclude", STATE_DIR].map(Into::into));
            args.extend(["--output-file".into(), report_file.as_os_str().to_os_string()]);
        }
        Mode::Format => {
            if features.format_json && !fix {
                args.extend(["--output-format", "json"].map(Into::into));
            }
            if features.format_extend_exclude {
                args.extend(["--extend-exclude", STATE_DIR].map(Into::into));
            } else if features.inline_config {
                args.extend(["--config".into(), format!("extend-exclude = [\"{STATE_DIR}\"]").into()]);
            }
        }
    }
    args.extend(options.args.iter().map(Into::into));
    if options.paths.is_empty() {
        args.push(".".into());
    } else {
        args.extend(options.paths.iter().map(Into::into));
    }
    args
}

/// How to read one run's output.
struct Reading<'a> {
    mode: Mode,
    kind: OutputKind,
    root: &'a std::path::Path,
    /// The ruff version, for messages.
    version: &'a str,
}

impl Reading<'_> {
    /// Decides the outcome from ruff's exit code and its report (JSON, else its text).
    fn interpret(&self, report: Option<&[u8]>, output: &Output) -> CheckResult {
        let code = output.status.code().unwrap_or(-1);
        if code == 0 && no_python_files(output) {
            return CheckResult::skipped(
                "ruff found no Python files to check: point `paths` in this check's section at the code, or check that the project's files are where ruff looks",
            );
        }
        let Some(report) = report else {
            let whence = match self.kind {
                OutputKind::JsonFile => "the report file it was given",
                _ => "stdout",
            };
            return CheckResult::errored(format!(
                "ruff {} exited with code {code} without writing its report to {whence}, so nothing is known about the project's files; run the command shown to see what it did\n{}",
                self.version,
                output.both_tails(10)
            ));
        };
        if self.kind == OutputKind::Fixing {
            return match code {
                0 => CheckResult::passed(match text::first_line(&output.stdout.text()) {
                    "" => "formatted".to_string(),
                    line => line.to_string(),
                }),
                _ => errored_with_output("ruff format", code, output),
            };
        }
        if self.kind == OutputKind::Text || (self.kind == OutputKind::JsonStdout && !looks_like_json(report)) {
            // Text where JSON was asked for: a release that ignores `--output-format`.
            return self.interpret_text(code, output);
        }
        let parsed = if report.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            Some(parse_findings(report, self.root, self.mode))
        };
        match (code, parsed) {
            (0..=2, Some(Ok(diagnostics))) if code == 0 || !diagnostics.findings.is_empty() => {
                summarize(self.mode, diagnostics)
            }
            (0, None) => summarize(self.mode, Diagnostics::default()),
            (_, Some(Err(error))) => CheckResult::errored(format!(
                "ruff {} printed a report greenlight cannot read ({error}); greenlight reads the JSON of every ruff since 0.1: if this ruff is an unusual build, pin a release with `--tool ruff=VERSION` or in [tool.greenlight.tools]\n{}",
                self.version,
                output.both_tails(10)
            )),
            (code, _) => errored_with_output("ruff", code, output),
        }
    }

    /// `ruff format --check`'s text: 0 clean, 1 files to reformat, 2 syntax errors (decided)
    /// or anything else (not decided).
    fn interpret_text(&self, code: i32, output: &Output) -> CheckResult {
        let parsed = parse_format_text(&output.stdout.text(), &output.stderr.text(), self.root);
        let decided = match code {
            // A clean run ends with ruff's count: without it, whatever printed this was not done.
            0 => parsed.errors.is_empty() && parsed.finished,
            1 => parsed.errors.is_empty() && !parsed.diagnostics.findings.is_empty(),
            2 => {
                parsed.errors.is_empty()
                    && parsed.diagnostics.findings.iter().any(|finding| finding.rule == "invalid-syntax")
            }
            _ => false,
        };
        if !decided {
            return errored_with_output("ruff format", code, output);
        }
        summarize(self.mode, parsed.diagnostics)
    }
}

/// True when ruff said it found no Python file under the paths it was given (it then exits 0
/// with an empty report, which would read as a clean project).
fn no_python_files(output: &Output) -> bool {
    output.stderr.text().contains("No Python files found under the given path")
}

/// True when `bytes` starts like a JSON array (after whitespace).
fn looks_like_json(bytes: &[u8]) -> bool {
    bytes.iter().find(|byte| !byte.is_ascii_whitespace()) == Some(&b'[')
}

fn errored_with_output(tool: &str, code: i32, output: &Output) -> CheckResult {
    let text = output.both_tails(25);
    let hint = if text.contains("Failed to parse")
        || text.contains("Failed to load configuration")
        || text.contains("unknown field")
    {
        "\nruff could not load its configuration: fix the [tool.ruff] table (or ruff.toml) it names."
    } else if text.contains("unexpected argument") {
        "\nthis ruff does not accept an argument greenlight or [tool.greenlight] args passed: check `args` for this ruff version"
    } else {
        ""
    };
    CheckResult::errored(format!("{tool} failed with exit code {code} and no report:\n{text}{hint}"))
}

fn summarize(mode: Mode, diagnostics: Diagnostics) -> CheckResult {
    let Diagnostics { mut findings, unsafe_fixes } = diagnostics;
    // greenlight's own directory is not the project's (a 0.1 formatter cannot exclude it).
    findings.retain(|finding| {
        finding
            .location
            .as_ref()
            .is_none_or(|location| location.path != STATE_DIR && !location.path.starts_with(&format!("{STATE_DIR}/")))
    });
    if findings.is_empty() {
        return CheckResult::passed(match mode {
            Mode::Check => "no findings",
            Mode::Format => "all files formatted",
        });
    }
    let syntax = findings.iter().filter(|finding| finding.rule == "invalid-syntax").count();
    let summary = match mode {
        Mode::Check => {
            fixable_summary(findings.len(), findings.iter().filter(|f| f.fix_available).count(), unsafe_fixes)
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

/// `106 findings (97 fixable, 9 with unsafe fixes)`: fixable as ruff counts it (the safe
/// fixes `ruff check --fix` applies), unsafe ones apart.
fn fixable_summary(findings: usize, fixable: usize, unsafe_fixes: usize) -> String {
    let mut summary = text::plural(findings, "finding");
    let mut parts = Vec::new();
    if fixable > 0 {
        parts.push(format!("{fixable} fixable"));
    }
    if unsafe_fixes > 0 {
        parts.push(format!("{unsafe_fixes} with unsafe fixes"));
    }
    if !parts.is_empty() {
        summary.push_str(&format!(" ({})", parts.join(", ")));
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(mode: Mode, version: &str) -> Vec<String> {
        let features = Features::of(version).unwrap();
        ruff_args(mode, false, features, &RuffOptions::default(), std::path::Path::new("/s/r.json"))
            .into_iter()
            .map(|arg| arg.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn each_release_gets_the_flags_it_accepts() {
        assert_eq!(
            args(Mode::Format, "0.17.6"),
            ["format", "--check", "--output-format", "json", "--extend-exclude", ".greenlight", "."]
        );
        for version in ["0.4.10", "0.9.10", "0.14.10", "0.15.22"] {
            assert_eq!(
                args(Mode::Format, version),
                ["format", "--check", "--config", "extend-exclude = [\".greenlight\"]", "."],
                "{version}"
            );
        }
        assert_eq!(args(Mode::Format, "0.1.0"), ["format", "--check", "."]);
        assert_eq!(
            args(Mode::Check, "0.1.0"),
            ["check", "--output-format", "json", "--extend-exclude", ".greenlight", "--output-file", "/s/r.json", "."]
        );
        assert_eq!(OutputKind::of(Mode::Format, false, Features::of("0.14.10").unwrap()), OutputKind::Text);
        assert_eq!(OutputKind::of(Mode::Format, false, Features::LATEST), OutputKind::JsonStdout);
    }

    #[test]
    fn fixable_counts_match_ruff() {
        assert_eq!(fixable_summary(106, 97, 9), "106 findings (97 fixable, 9 with unsafe fixes)");
        assert_eq!(fixable_summary(1, 1, 0), "1 finding (1 fixable)");
        assert_eq!(fixable_summary(2, 0, 2), "2 findings (2 with unsafe fixes)");
        assert_eq!(fixable_summary(3, 0, 0), "3 findings");
    }
}
