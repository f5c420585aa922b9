//! The subcommands.

use std::collections::BTreeMap;
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use greenlight_orchestrator::config::ToolPin;
use greenlight_orchestrator::{Observer, Plan, PlanError, RunOptions, Selection};
use greenlight_process::Stop;
use greenlight_report::{CheckReport, ExitCode, RunReport};
use greenlight_reporters::terminal::{LiveMode, LiveView, SummaryOptions};

use crate::cli::{
    CacheCommand, Cli, Command, FormatArgs, MergeArgs, PolicyArgs, ProjectArgs, RenderArgs, ReportCommand, RunArgs,
};
use crate::registry::registry;
use crate::reproduce;

/// Runs the subcommand and returns the exit code.
pub async fn dispatch(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Run(args) => run(args).await,
        Command::List(args) => list(args).await,
        Command::Bisect(args) => reproduce::bisect(args).await,
        Command::Policy(args) => policy(args).await,
        Command::Hotfix(args) => reproduce::hotfix(args).await,
        Command::Cache { command: CacheCommand::Clean(args) } => cache_clean(&args),
        Command::Report(ReportCommand::Render(args)) => render(args),
        Command::Report(ReportCommand::Merge(args)) => merge(args),
    };
    result.unwrap_or_else(|error| {
        eprintln!("error: {}", error.message);
        error.code
    })
}

/// An error that ends the command before or after the run, with its exit code.
#[derive(Debug)]
pub struct Failure {
    message: String,
    code: ExitCode,
}

impl Failure {
    /// A usage or configuration error (exit code 3).
    pub fn usage(message: impl Into<String>) -> Self {
        Self { message: message.into(), code: ExitCode::Usage }
    }
    /// Something failed that is not the user's input (exit code 2).
    pub fn errored(message: impl Into<String>) -> Self {
        Self { message: message.into(), code: ExitCode::Errored }
    }
    /// The user interrupted (exit code 130).
    pub fn interrupted(message: impl Into<String>) -> Self {
        Self { message: message.into(), code: ExitCode::Interrupted }
    }
    /// True for a usage or configuration error.
    pub fn is_usage(&self) -> bool {
        self.code == ExitCode::Usage
    }
    /// What went wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<PlanError> for Failure {
    fn from(error: PlanError) -> Self {
        Self::usage(error.to_string())
    }
}

/// The project root from `--project` or the working directory.
pub fn project_root(args: &ProjectArgs) -> Result<PathBuf, Failure> {
    match &args.project {
        Some(dir) => {
            if !dir.is_dir() {
                return Err(Failure::usage(format!("--project {}: no such directory", dir.display())));
            }
            if !dir.join("pyproject.toml").is_file() && !dir.join("greenlight.toml").is_file() {
                tracing::warn!("{} has no pyproject.toml; only checks that need none will run", dir.display());
            }
            Ok(dir.clone())
        }
        None => {
            let cwd = std::env::current_dir()
                .map_err(|error| Failure::usage(format!("cannot read the working directory: {error}")))?;
            greenlight_orchestrator::discover_root(&cwd).ok_or_else(|| {
                Failure::usage(format!(
                    "no pyproject.toml in {} or any parent directory; run greenlight inside a Python project or pass --project DIR",
                    cwd.display()
                ))
            })
        }
    }
}

async fn run(args: RunArgs) -> Result<ExitCode, Failure> {
    let root = project_root(&args.project)?;
    if args.rev.is_some() && args.fix {
        return Err(Failure::usage(
            "--fix edits files and --rev checks a temporary checkout; run `--fix` on your working tree instead",
        ));
    }
    let selection = Selection { only: args.checks.clone(), skip: args.skip.clone() };
    let tool_pins = match &args.tools_from {
        Some(path) => tools_from(path)?,
        None => BTreeMap::new(),
    };
    let mut vars = user_vars(&args)?;
    pr_vars(&mut vars, args.pr_body.as_deref(), args.pr_base.as_deref(), None, &[])?;
    let options = RunOptions {
        jobs: args.jobs,
        fail_fast: args.fail_fast,
        timeout: args.timeout,
        fix: args.fix,
        rebuild_env: args.rebuild_env,
        tool_pins,
        vars,
        rev: args.rev.clone(),
        cache: !args.no_cache,
        outputs: args.output.formats.files().into_iter().cloned().collect(),
        ..RunOptions::default()
    };

    let json_to_stdout = args.output.formats.json.as_deref() == Some(Path::new("-"));
    let live = live_view(args.output.quiet, args.output.no_progress);
    let stop = Stop::new();
    let signals = tokio::spawn(watch_signals(stop.clone()));
    let report = match &args.rev {
        Some(rev) => reproduce::run_at_rev(&root, rev, &selection, options, live.clone(), &stop).await,
        None => run_pipeline(&root, &selection, options, live.clone(), &stop).await,
    };
    signals.abort();
    live.finish();
    let report = report?;

    // Every requested output is written however the run ended (failed, errored, interrupted).
    let written = write_outputs(&args.output.formats, &report, &CiEnv::from_env());
    print_summary(&report, args.output.verbose > 0, args.output.quiet, json_to_stdout);
    let code = written.exit_code(ExitCode::for_report(&report));
    // The process ends now: freeing a report of 100,000 findings piece by piece is wasted time.
    std::mem::forget(report);
    Ok(code)
}

/// Loads the project at `root`, plans `selection` and runs it.
pub async fn run_pipeline(
    root: &Path,
    selection: &Selection,
    options: RunOptions,
    live: Arc<LiveView>,
    stop: &Stop,
) -> Result<RunReport, Failure> {
    let project = greenlight_orchestrator::load_project(root).await;
    let plan = Plan::new(project, &registry(), selection)?;
    let state_dir = options.state_dir.clone().unwrap_or_else(|| plan.project.root.join(".greenlight"));
    greenlight_orchestrator::prepare_state_dir(&state_dir).map_err(Failure::usage)?;
    let observer: Arc<dyn Observer> = Arc::new(LiveObserver(live));
    Ok(greenlight_orchestrator::run(plan, options, observer, stop.clone()).await)
}

/// The live view for a run: spinners on a terminal, lines in CI and pipes, nothing with `-q`.
pub fn live_view(quiet: bool, no_progress: bool) -> Arc<LiveView> {
    let stderr_tty = std::io::stderr().is_terminal();
    let in_ci = std::env::var_os("CI").is_some_and(|value| !value.is_empty() && value != "false");
    let mode = if quiet {
        LiveMode::Silent
    } else if stderr_tty && !no_progress && !in_ci {
        LiveMode::Bars
    } else {
        LiveMode::Lines
    };
    let color = std::env::var_os("NO_COLOR").is_none();
    Arc::new(LiveView::new(mode, color && stderr_tty))
}

/// Prints the summary of `report` (to stderr when stdout carries JSON).
pub fn print_summary(report: &RunReport, verbose: bool, quiet: bool, json_to_stdout: bool) {
    let color = std::env::var_os("NO_COLOR").is_none()
        && if json_to_stdout { std::io::stderr().is_terminal() } else { std::io::stdout().is_terminal() };
    let summary_options = SummaryOptions { color, verbose, quiet, ..SummaryOptions::default() };
    let summary = greenlight_reporters::terminal::render_summary(report, &summary_options);
    if json_to_stdout {
        eprint!("{summary}");
    } else {
        print!("{summary}");
        let _ = std::io::stdout().flush();
    }
}

/// Sets the variables the `policy` check reads: the PR body file (made absolute, as runs on
/// other commits have another working directory), base, author and labels.
pub fn pr_vars(
    vars: &mut BTreeMap<String, String>,
    body: Option<&Path>,
    base: Option<&str>,
    author: Option<&str>,
    labels: &[String],
) -> Result<(), Failure> {
    use greenlight_plugin_policy::{BASE_VAR, BODY_FILE_VAR, LABELS_VAR, LOGIN_VAR};
    if let Some(body) = body {
        let absolute = std::fs::canonicalize(body)
            .map_err(|error| Failure::usage(format!("--pr-body {}: {error}", body.display())))?;
        vars.insert(BODY_FILE_VAR.to_string(), absolute.display().to_string());
    }
    if let Some(base) = base {
        vars.insert(BASE_VAR.to_string(), base.to_string());
    }
    if let Some(author) = author {
        vars.insert(LOGIN_VAR.to_string(), author.to_string());
    }
    if !labels.is_empty() {
        vars.insert(LABELS_VAR.to_string(), labels.join(","));
    }
    Ok(())
}

async fn policy(args: PolicyArgs) -> Result<ExitCode, Failure> {
    let root = project_root(&args.project)?;
    let mut vars: BTreeMap<String, String> = std::env::vars().collect();
    pr_vars(&mut vars, Some(&args.pr_body), args.base.as_deref(), args.author.as_deref(), &args.labels)?;
    let options = RunOptions { vars, ..RunOptions::default() };
    let selection = Selection { only: vec![greenlight_plugin_policy::ID.to_string()], skip: Vec::new() };
    let json_to_stdout = args.json.as_deref() == Some(Path::new("-"));
    let stop = Stop::new();
    let signals = tokio::spawn(watch_signals(stop.clone()));
    let live = live_view(true, true);
    let report = run_pipeline(&root, &selection, options, live, &stop).await;
    signals.abort();
    let report = report?;
    if let Some(path) = &args.json {
        write_json(path, &report)?;
    }
    print_summary(&report, true, args.quiet, json_to_stdout);
    Ok(ExitCode::for_report(&report))
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

/// The user's environment for the checks, plus what flags tell checks through it.
fn user_vars(args: &RunArgs) -> Result<BTreeMap<String, String>, Failure> {
    let mut vars: BTreeMap<String, String> = std::env::vars().collect();
    if args.keep_image {
        vars.insert(crate::registry::KEEP_IMAGE_VAR.to_string(), "1".to_string());
    }
    if let Some(db) = &args.advisory_db {
        if !db.is_dir() {
            return Err(Failure::usage(format!(
                "--advisory-db {}: no such directory (give a directory of OSV records, such as a copy of https://github.com/pypa/advisory-database)",
                db.display()
            )));
        }
        let db = std::path::absolute(db).unwrap_or_else(|_| db.clone());
        vars.insert(greenlight_plugin_pip_audit::ADVISORY_DB_VAR.to_string(), db.display().to_string());
    }
    Ok(vars)
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
    fn none() -> Self {
        Self::default()
    }

    fn from_env() -> Self {
        Self {
            github_actions: std::env::var("GITHUB_ACTIONS").is_ok_and(|value| value == "true"),
            step_summary: std::env::var_os("GITHUB_STEP_SUMMARY").filter(|value| !value.is_empty()).map(PathBuf::from),
        }
    }
}

/// Whether every requested output was written.
#[derive(Debug, Default)]
struct Written {
    failed: bool,
}

impl Written {
    /// The exit code of a command that produced `code` and then wrote its outputs: a file that
    /// could not be written makes an otherwise green run `errored` (2).
    fn exit_code(&self, code: ExitCode) -> ExitCode {
        if self.failed && code == ExitCode::Success { ExitCode::Errored } else { code }
    }
}

/// Writes every requested output of `report`. A file that cannot be written does not stop the
/// others: each failure is printed and counted.
fn write_outputs(formats: &FormatArgs, report: &RunReport, env: &CiEnv) -> Written {
    let mut written = Written::default();
    let json_to_stdout = formats.json.as_deref() == Some(Path::new("-"));
    let mut attempt = |what: &str, result: Result<(), Failure>| {
        if let Err(error) = result {
            eprintln!("error: {what}: {}", error.message);
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
        let sarif = greenlight_reporters::sarif::render(report);
        for note in &sarif.notes {
            eprintln!("note: SARIF: {note}");
        }
        attempt("SARIF report", write_file(path, &sarif.text));
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
fn create_file(path: &Path) -> Result<(), Failure> {
    if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|error| Failure::errored(format!("cannot create {}: {error}", parent.display())))?;
    }
    Ok(())
}

/// Reads a JSON report; any problem is a usage error naming the file.
fn read_report(path: &Path) -> Result<RunReport, Failure> {
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
fn render(args: RenderArgs) -> Result<ExitCode, Failure> {
    let report = read_report(&args.report)?;
    emit(&args.formats, &report, false)
}

/// `greenlight report merge`: exits like `render` with the merged report's exit code.
fn merge(args: MergeArgs) -> Result<ExitCode, Failure> {
    let reports = args.reports.iter().map(|path| read_report(path)).collect::<Result<Vec<_>, _>>()?;
    let merged = greenlight_reporters::merge::merge(reports).map_err(|error| Failure::usage(error.to_string()))?;
    emit(&args.formats, &merged, true)
}

/// Writes the outputs of a saved report; with none requested, the terminal summary (render)
/// or the JSON report (merge) goes to stdout. GitHub annotations and the step summary are
/// written only when asked for (`--github`, `--step-summary`), never by default.
fn emit(formats: &FormatArgs, report: &RunReport, json_by_default: bool) -> Result<ExitCode, Failure> {
    let mut env = CiEnv::none();
    if formats.step_summary == Some(true) {
        env.step_summary = CiEnv::from_env().step_summary;
    }
    let explicit = formats.any();
    let mut formats = formats.clone();
    if !explicit && json_by_default {
        formats.json = Some(PathBuf::from("-"));
    }
    let written = write_outputs(&formats, report, &env);
    if !explicit && !json_by_default {
        print_summary(report, false, false, false);
    }
    Ok(written.exit_code(ExitCode::for_report(report)))
}

/// Pins from an earlier report's `tools` (versions that are known).
pub fn tools_from(path: &Path) -> Result<BTreeMap<String, ToolPin>, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| Failure::usage(format!("--tools-from {}: {error}", path.display())))?;
    let report = greenlight_reporters::json::parse(&text).map_err(|error| {
        Failure::usage(format!("--tools-from {}: not a greenlight JSON report ({error})", path.display()))
    })?;
    Ok(report
        .tools
        .into_iter()
        .filter(|(_, tool)| tool.version != "unknown" && !tool.version.is_empty())
        .map(|(name, tool)| (name, ToolPin { version: Some(tool.version), path: None }))
        .collect())
}

/// First SIGINT/SIGTERM: stop gracefully. Second: kill at once.
pub async fn watch_signals(stop: Stop) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut interrupt), Ok(mut terminate)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate()))
    else {
        return;
    };
    let mut count = 0;
    loop {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        count += 1;
        if count == 1 {
            eprintln!("\ninterrupted: stopping every check (press Ctrl-C again to kill at once)");
            stop.cancel();
        } else {
            eprintln!("killing every check now");
            stop.kill();
        }
    }
}

/// Forwards progress events to the live view.
pub struct LiveObserver(pub Arc<LiveView>);

impl Observer for LiveObserver {
    fn started(&self, id: &str, title: &str) {
        self.0.started(id, title);
    }
    fn finished(&self, report: &CheckReport) {
        self.0.finished(report);
    }
}

async fn list(args: ProjectArgs) -> Result<ExitCode, Failure> {
    let root = project_root(&args)?;
    let project = greenlight_orchestrator::load_project(&root).await;
    let plan = Plan::new(project, &registry(), &Selection::default())?;
    println!("project: {}", plan.project.root.display());
    match &plan.config.source.path {
        Some(path) => println!("config:  {}", path.display()),
        None => println!("config:  none (defaults; add [tool.greenlight] to pyproject.toml to configure)"),
    }
    println!();
    for check in &plan.checks {
        let state = if check.skip_reason.is_none() { "on " } else { "off" };
        let why = check.skip_reason.clone().unwrap_or_else(|| check.detection.reason.clone());
        let mut extras = Vec::new();
        let needs = check.needs();
        if !needs.is_empty() {
            extras.push(format!("needs {}", needs.join(", ")));
        }
        let tools: Vec<&str> = check.info.tools.iter().map(|tool| tool.name).collect();
        if !tools.is_empty() {
            extras.push(format!("tools: {}", tools.join(", ")));
        }
        extras.push(format!("timeout {}", humantime_short(check.timeout())));
        println!(" {state}  {:<12} {why}  ({})", check.id(), extras.join("; "));
    }
    let vars: BTreeMap<String, String> = std::env::vars().collect();
    println!();
    if plan.config.settings.provisions() {
        println!("tools (used from PATH when found, else installed at this version; pin in [tool.greenlight.tools]):");
    } else {
        println!("tools (`provision = false`: greenlight installs none; a missing tool makes its checks error):");
    }
    for row in greenlight_orchestrator::tools::plan_tools(&plan, &vars) {
        let version = row.version.as_deref().unwrap_or("-");
        println!("  {:<10} {version:<9} {:<8} {}", row.name, row.origin, row.source);
    }
    Ok(ExitCode::Success)
}

fn humantime_short(duration: std::time::Duration) -> String {
    let seconds = duration.as_secs();
    if seconds.is_multiple_of(60) { format!("{}m", seconds / 60) } else { format!("{seconds}s") }
}

fn cache_clean(args: &ProjectArgs) -> Result<ExitCode, Failure> {
    let root = project_root(args)?;
    let cache = greenlight_orchestrator::cache::ResultCache::new(&root.join(".greenlight"));
    let freed = cache.clean().map_err(|error| Failure::errored(format!("cannot remove the cache: {error}")))?;
    println!("removed the result cache of {} ({} KiB)", root.display(), freed.div_ceil(1024));
    Ok(ExitCode::Success)
}
