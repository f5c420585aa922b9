//! The files and CI outputs a command writes from a report (`--json`, `--junit`, `--sarif`,
//! `--gitlab-codequality`, `--markdown`, `--github`, the step summary), and reading saved reports back
//! (`report render`, `report merge`, `--tools-from`, `--main-report`).
#![expect(clippy::print_stdout, clippy::print_stderr, reason = "outputs go to stdout and errors to stderr")]

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use greenlight_env::{Env, EnvVars};
use greenlight_orchestrator::Moment;
use greenlight_orchestrator::config::ToolPin;
use greenlight_report::{ExitCode, RunReport};

use crate::cli::{FormatArgs, MergeArgs, RenderArgs};
use crate::printer::{Printer, Stream, Verbosity};
use crate::shared::Failure;

/// Gives the findings of a run on the working tree at `root` fingerprints made of their lines'
/// content and neighbours instead of their line numbers
/// ([`greenlight_report::fingerprint::fingerprint_findings`]), so that SARIF alerts and Code
/// Quality issues keep their identity when lines are added above them. Findings that already
/// have such a fingerprint, or one of their checker's own, keep it.
pub fn fingerprint_by_content(report: &mut RunReport, root: &Path) {
    use greenlight_report::fingerprint::{SourceText, fingerprint_findings};
    for check in &mut report.checks {
        fingerprint_findings(&mut check.findings, |path| {
            std::fs::read_to_string(root.join(path)).ok().map(|text| SourceText::new(&text))
        });
    }
}

/// Writes `report` as JSON to `path` (`-`: stdout).
pub fn write_json(path: &Path, report: &RunReport) -> Result<(), Failure> {
    let written = if path == Path::new("-") {
        greenlight_reporters::json::write(report, std::io::stdout().lock())
    } else {
        create_file(path)?;
        std::fs::File::create(path).and_then(|file| greenlight_reporters::json::write(report, file))
    };
    written.map_err(|error| Failure::errored(format!("cannot write the JSON report to {}: {error}", path.display())))
}

/// What CI tells greenlight through the environment.
#[derive(Debug, Clone, Default)]
pub struct CiEnv {
    /// `GITHUB_ACTIONS=true`.
    pub github_actions: bool,
    /// `$GITHUB_STEP_SUMMARY`.
    pub step_summary: Option<PathBuf>,
}

impl CiEnv {
    /// Nothing from the environment: outputs only when asked for (`report render`, `report
    /// merge`, which a workflow may call several times on one report).
    pub fn none() -> Self {
        Self::default()
    }

    /// What the environment says.
    pub fn from_env(env: &Env) -> Self {
        Self {
            github_actions: env.get(EnvVars::GITHUB_ACTIONS) == Some("true"),
            step_summary: env.path(EnvVars::GITHUB_STEP_SUMMARY),
        }
    }
}

/// Whether every requested output was written.
#[derive(Debug, Default)]
pub struct Written {
    failed: bool,
}

impl Written {
    /// The exit code of a command whose report has `code` and that then wrote its outputs
    /// ([`ExitCode::after_writing`]).
    pub fn exit_code(&self, code: ExitCode) -> ExitCode {
        code.after_writing(!self.failed)
    }
}

/// Writes every requested output of `report`. A file that cannot be written does not stop the
/// others: each failure is printed and counted.
pub fn write_outputs(formats: &FormatArgs, report: &RunReport, env: &CiEnv) -> Written {
    let mut written = Written::default();
    let json_to_stdout = formats.json.as_deref() == Some(Path::new("-"));
    let mut attempt = |what: &str, result: Result<(), Failure>| {
        if let Err(error) = result {
            eprintln!("error: {what}: {}", error.message());
            written.failed = true;
        }
    };
    if let Some(path) = &formats.json {
        if json_to_stdout {
            if let Err(error) = greenlight_reporters::json::write(report, std::io::stdout().lock()) {
                attempt("JSON report", Err(Failure::errored(format!("cannot write to stdout: {error}"))));
            }
        } else {
            let written = create_file(path).and_then(|()| {
                std::fs::File::create(path)
                    .and_then(|file| greenlight_reporters::json::write(report, file))
                    .map_err(|error| Failure::errored(format!("cannot write {}: {error}", path.display())))
            });
            attempt("JSON report", written);
        }
    }
    if let Some(path) = &formats.junit {
        attempt("JUnit report", write_file(path, &greenlight_reporters::junit::render(report)));
    }
    if let Some(path) = &formats.sarif {
        let options = greenlight_reporters::sarif::SarifOptions {
            category: formats.sarif_category.clone(),
            ..Default::default()
        };
        let sarif = greenlight_reporters::sarif::render_with(report, &options);
        for note in &sarif.notes {
            eprintln!("note: SARIF: {note}");
        }
        attempt("SARIF report", write_file(path, &sarif.text));
    }
    if let Some(path) = &formats.gitlab_codequality {
        let quality = greenlight_reporters::codequality::render(report);
        for note in &quality.notes {
            eprintln!("note: Code Quality: {note}");
        }
        attempt("Code Quality report", write_file(path, &quality.text));
    }
    if let Some(path) = &formats.markdown {
        attempt("Markdown summary", write_file(path, &greenlight_reporters::markdown::render(report)));
    }
    if formats.step_summary.unwrap_or(env.step_summary.is_some()) {
        match &env.step_summary {
            Some(path) => attempt("$GITHUB_STEP_SUMMARY", append_step_summary(path, report)),
            None => eprintln!("note: --step-summary: $GITHUB_STEP_SUMMARY is not set; nothing written"),
        }
    }
    if formats.github.unwrap_or(env.github_actions) {
        let commands = greenlight_reporters::github::render(report);
        if json_to_stdout {
            // The runner reads workflow commands on stderr too.
            eprint!("{commands}");
        } else {
            print!("{commands}");
            let _ = std::io::stdout().flush();
        }
    }
    written
}

/// GitHub drops a step's whole summary past 1 MiB: what this step already wrote counts too.
const STEP_SUMMARY_LIMIT: usize = 1024 * 1024;

fn append_step_summary(path: &Path, report: &RunReport) -> Result<(), Failure> {
    use greenlight_reporters::markdown::{MarkdownOptions, render_with};
    let existing = std::fs::metadata(path).map(|meta| meta.len() as usize).unwrap_or(0);
    let room = STEP_SUMMARY_LIMIT.saturating_sub(existing).saturating_sub(64 * 1024);
    let defaults = MarkdownOptions::default();
    let text = if room >= 16 * 1024 {
        render_with(report, &MarkdownOptions { max_bytes: defaults.max_bytes.min(room), ..defaults })
    } else {
        format!("\n**greenlight: {}** (no room left in this step's summary; see the JSON report)\n", report.outcome)
    };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|error| Failure::errored(format!("cannot open {}: {error}", path.display())))?;
    file.write_all(text.as_bytes())
        .map_err(|error| Failure::errored(format!("cannot write {}: {error}", path.display())))
}

/// Writes `text` to `path`, creating its directory.
pub fn write_file(path: &Path, text: &str) -> Result<(), Failure> {
    create_file(path)?;
    std::fs::write(path, text).map_err(|error| Failure::errored(format!("cannot write {}: {error}", path.display())))
}

/// Creates the parent directory of an output file.
pub fn create_file(path: &Path) -> Result<(), Failure> {
    if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|error| Failure::errored(format!("cannot create {}: {error}", parent.display())))?;
    }
    Ok(())
}

/// Reads a JSON report; any problem is a usage error naming the file.
pub fn read_report(path: &Path) -> Result<RunReport, Failure> {
    let text = std::fs::read_to_string(path).map_err(|error| Failure::usage(format!("{}: {error}", path.display())))?;
    greenlight_reporters::json::parse(&text).map_err(|error| {
        Failure::usage(format!(
            "{}: not a greenlight JSON report ({error}); write one with `greenlight run --json FILE`",
            path.display()
        ))
    })
}

/// `greenlight report render`: exits with the report's own exit code, so a CI step that
/// renders a merged report fails when the pipeline did.
pub fn render(args: RenderArgs, env: &Env) -> Result<ExitCode, Failure> {
    let report = read_report(&args.report)?;
    emit(&args.formats, &report, Unasked::Summary, env)
}

/// `greenlight report merge`: prints the merged run's summary (on stderr when the JSON goes to
/// stdout) and exits like `render` with the merged report's exit code.
pub fn merge(args: MergeArgs, env: &Env) -> Result<ExitCode, Failure> {
    let reports = args.reports.iter().map(|path| read_report(path)).collect::<Result<Vec<_>, _>>()?;
    let merged = greenlight_reporters::merge::merge(reports).map_err(|error| Failure::usage(error.to_string()))?;
    emit(&args.formats, &merged, Unasked::Json, env)
}

/// Writes the outputs of a saved report; with none requested, the terminal summary (render)
/// or the JSON report (merge) goes to stdout. GitHub annotations and the step summary are
/// written only when asked for (`--github`, `--step-summary`), never by default.
/// What a command on a saved report writes when no output is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unasked {
    /// The terminal summary (`report render`).
    Summary,
    /// The JSON report on stdout (`report merge`).
    Json,
}

fn emit(formats: &FormatArgs, report: &RunReport, unasked: Unasked, env: &Env) -> Result<ExitCode, Failure> {
    let mut ci = CiEnv::none();
    if formats.step_summary == Some(true) {
        ci.step_summary = CiEnv::from_env(env).step_summary;
    }
    let explicit = formats.any();
    let mut formats = formats.clone();
    if !explicit && unasked == Unasked::Json {
        formats.json = Some(PathBuf::from("-"));
    }
    let written = write_outputs(&formats, report, &ci);
    // `report merge` always says what the merged run was (a CI job's log is not left empty);
    // `report render` prints the summary when it writes nothing else.
    if unasked == Unasked::Json || !explicit {
        let stream = Stream::beside_json(formats.json.as_deref());
        Printer::lines(Verbosity::Default).summary(report, stream, env, false);
    }
    Ok(written.exit_code(ExitCode::for_report(report)))
}

/// Pins from an earlier report's `tools` (versions that are known), and its `--as-of` moment.
pub fn tools_from(path: &Path) -> Result<(BTreeMap<String, ToolPin>, Option<Moment>), Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| Failure::usage(format!("--tools-from {}: {error}", path.display())))?;
    let report = greenlight_reporters::json::parse(&text).map_err(|error| {
        Failure::usage(format!("--tools-from {}: not a greenlight JSON report ({error})", path.display()))
    })?;
    let as_of =
        match &report.as_of {
            Some(as_of) => Some(as_of.date.parse::<Moment>().map_err(|error| {
                Failure::usage(format!("--tools-from {}: its `as_of.date`: {error}", path.display()))
            })?),
            None => None,
        };
    let pins = report
        .tools
        .into_iter()
        .filter(|(_, tool)| tool.version != "unknown" && !tool.version.is_empty())
        .map(|(name, tool)| (name, ToolPin { version: Some(tool.version), path: None }))
        .collect();
    Ok((pins, as_of))
}
