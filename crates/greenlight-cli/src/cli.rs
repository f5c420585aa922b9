//! Command-line arguments (contract: DESIGN §7).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Runs a Python service's whole CI — ruff, pytest, gitleaks, pip-audit, build, Docker — in
/// parallel, and merges every result into one report.
#[derive(Debug, Parser)]
#[command(name = "greenlight", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// `-v` count and `-q` of the subcommand, for logging.
    pub fn verbosity(&self) -> (u8, bool) {
        let output = match &self.command {
            Command::Run(args) => &args.output,
            Command::Bisect(args) => &args.output,
            Command::Policy(args) => &args.output,
            Command::Hotfix(args) => &args.output,
            Command::Baseline { command: BaselineCommand::Write(args) } => &args.output,
            _ => return (0, false),
        };
        (output.verbose, output.quiet)
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the checks (all that apply, or the ones named).
    Run(RunArgs),
    /// List every check, whether it would run, and why, and the tools with their resolved
    /// paths and versions.
    List(ListArgs),
    /// Find the first commit at which checks fail, between a good and a bad revision.
    Bisect(BisectArgs),
    /// Check a pull request's body and changed files against the PR policy.
    Policy(PolicyArgs),
    /// Revert the commits that broke main on a new branch and prove the result is green.
    Hotfix(HotfixArgs),
    /// Record the findings the checks have now, so that runs block only on new ones.
    Baseline {
        /// What to do with the baseline.
        #[command(subcommand)]
        command: BaselineCommand,
    },
    /// Manage the result cache.
    Cache {
        /// What to do with the cache.
        #[command(subcommand)]
        command: CacheCommand,
    },
    /// Work with saved JSON reports: render them in other formats, merge shards.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Print the shell completion script for SHELL (`greenlight completions bash >
    /// ~/.local/share/bash-completion/completions/greenlight`).
    Completions {
        /// The shell.
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
}

/// `greenlight cache ...`.
#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Remove every stored result of the project.
    Clean(CacheCleanArgs),
}

/// `greenlight cache clean`.
#[derive(Debug, Clone, Args)]
pub struct CacheCleanArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// The state directory the runs used (`--state-dir` of `run`); overrides
    /// `GREENLIGHT_STATE_DIR`. Default: the project's `.greenlight/`.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

/// `greenlight baseline ...`.
#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Run the checks and write the fingerprints of their findings to FILE (default:
    /// [tool.greenlight] baseline, else `greenlight-baseline.json`); commit it and set
    /// `baseline = "FILE"` in the configuration: runs then fail only on findings it lacks.
    Write(BaselineWriteArgs),
}

/// `greenlight baseline write`.
#[derive(Debug, Clone, Args)]
pub struct BaselineWriteArgs {
    /// The baseline file, relative to the project root.
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub selection: SelectionArgs,
    #[command(flatten)]
    pub execution: ExecutionArgs,
    #[command(flatten)]
    pub check_options: CheckOptionArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `greenlight report ...`.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Render a saved JSON report in any format (the terminal summary when no format is given).
    Render(RenderArgs),
    /// Write the escalation issue of a red run: `[CRITICAL] CI Failure - <description>`, its
    /// labels and a Markdown body (what fails, the steps greenlight took, the status) for
    /// `gh issue create --title ... --body-file FILE`.
    Issue(IssueArgs),
    /// Merge the JSON reports of shards of one pipeline run (same commit) into one.
    ///
    /// For each check, the entry that ran wins over one that was skipped or cancelled; between
    /// two that ran, the worse outcome wins. Writes the merged JSON report to stdout when no
    /// output is given.
    Merge(MergeArgs),
}

/// `greenlight report render`.
#[derive(Debug, Clone, Args)]
pub struct RenderArgs {
    /// The JSON report (`greenlight run --json FILE`).
    #[arg(value_name = "REPORT.json")]
    pub report: PathBuf,
    #[command(flatten)]
    pub formats: FormatArgs,
}

/// `greenlight report issue`.
#[derive(Debug, Clone, Args)]
pub struct IssueArgs {
    /// The JSON report of the red run (CI's, or `greenlight run --rev main --json FILE`).
    #[arg(value_name = "REPORT.json")]
    pub report: PathBuf,
    /// Write the body to FILE (and its title to ISSUE_TITLE.txt beside it) and print the `gh
    /// issue create` command; default: the body on stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The result of `greenlight bisect --json FILE`: the first bad commits.
    #[arg(long, value_name = "FILE")]
    pub bisect: Option<PathBuf>,
    /// The report of the hotfix branch (`greenlight hotfix --json FILE`).
    #[arg(long, value_name = "REPORT.json")]
    pub hotfix: Option<PathBuf>,
    /// What broke, for the title (default: the failing checks and the revision).
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// A label for the issue (repeatable; default: `critical` and `ci-failure`).
    #[arg(long = "label", value_name = "NAME")]
    pub labels: Vec<String>,
}

/// `greenlight report merge`.
#[derive(Debug, Clone, Args)]
pub struct MergeArgs {
    /// The JSON reports to merge (at least one).
    #[arg(value_name = "REPORT.json", required = true, num_args = 1..)]
    pub reports: Vec<PathBuf>,
    #[command(flatten)]
    pub formats: FormatArgs,
}

/// The report files and CI outputs `run`, `report render` and `report merge` write.
#[derive(Debug, Clone, Default, Args)]
pub struct FormatArgs {
    /// Write the JSON report to FILE (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write JUnit XML to FILE (one testsuite per check; GitLab, Jenkins).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write SARIF 2.1.0 to FILE (GitHub code scanning: one run per tool).
    #[arg(long, value_name = "FILE")]
    pub sarif: Option<PathBuf>,
    /// The code scanning category of the SARIF runs (`automationDetails.id`; default
    /// `greenlight`, or `greenlight/<path>` for a project in a subdirectory of its repository).
    #[arg(long, value_name = "NAME")]
    pub sarif_category: Option<String>,
    /// Write a GitLab Code Quality report (CodeClimate JSON) to FILE, for
    /// `artifacts:reports:codequality`.
    #[arg(long, value_name = "FILE")]
    pub gitlab_codequality: Option<PathBuf>,
    /// Write a Markdown summary to FILE.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Print GitHub Actions annotations and a log group per check [`run`: on when
    /// GITHUB_ACTIONS=true; `--github=false` turns it off].
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub github: Option<bool>,
    /// Append the Markdown summary to $GITHUB_STEP_SUMMARY [`run`: on when it is set;
    /// `--step-summary=false` turns it off].
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub step_summary: Option<bool>,
}

impl FormatArgs {
    /// The report files to write (not stdout), which must not count as project files.
    pub fn files(&self) -> Vec<&PathBuf> {
        [&self.json, &self.junit, &self.sarif, &self.gitlab_codequality, &self.markdown]
            .into_iter()
            .flatten()
            .filter(|path| path.as_os_str() != "-")
            .collect()
    }

    /// True when any output is asked for explicitly.
    pub fn any(&self) -> bool {
        self.json.is_some()
            || self.junit.is_some()
            || self.sarif.is_some()
            || self.gitlab_codequality.is_some()
            || self.markdown.is_some()
            || self.github == Some(true)
            || self.step_summary == Some(true)
    }
}

/// `greenlight list`.
#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Print JSON (the checks with their state and reason, the tools with their resolved
    /// paths and versions) instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// Where the project is.
#[derive(Debug, Clone, Args)]
pub struct ProjectArgs {
    /// The project directory (default: the nearest ancestor holding pyproject.toml).
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
}

/// Which checks a command runs, besides the ones it names: shared by `run`, `bisect` and
/// `hotfix`.
#[derive(Debug, Clone, Default, Args)]
pub struct SelectionArgs {
    /// Checks not to run (comma-separated or repeated).
    #[arg(long, value_name = "ID,...", value_delimiter = ',')]
    pub skip: Vec<String>,
}

/// How the checks run: shared by `run`, `bisect` and `hotfix` (each run of theirs).
#[derive(Debug, Clone, Default, Args)]
pub struct ExecutionArgs {
    /// Most CPU-bound checks at once (default: [tool.greenlight] jobs, else the number of CPUs).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Stop at the first check that does not pass.
    #[arg(long)]
    pub fail_fast: bool,
    /// Timeout of the whole run (`90s`, `10m`; default: [tool.greenlight] timeout, else none).
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub timeout: Option<std::time::Duration>,
    /// Use the tool versions recorded in an earlier JSON report (and its `--as-of` moment for
    /// the project environment).
    #[arg(long, value_name = "REPORT")]
    pub tools_from: Option<PathBuf>,
    /// Use this version of a tool (repeatable: `--tool ruff=0.14.10 --tool pytest=7.4.4`);
    /// wins over `--tools-from` and [tool.greenlight.tools]. greenlight installs it when it is
    /// not found at that version.
    #[arg(long = "tool", value_name = "NAME=VERSION", value_parser = parse_tool)]
    pub tools: Vec<(String, String)>,
    /// Install the Python tools and the project's dependencies as they were at a moment: a date
    /// (`2025-06-10`, the start of that day in UTC), a time (`2025-06-10T14:30:00Z`), or
    /// `commit` for the committer date of each checked commit. Pinned tools keep their version;
    /// tools on PATH are not used.
    #[arg(long, value_name = "DATE|commit", value_parser = parse_as_of)]
    pub as_of: Option<greenlight_orchestrator::AsOf>,
    /// Read greenlight's configuration from FILE (a `greenlight.toml`, or a `pyproject.toml`
    /// for its [tool.greenlight]) instead of the project's; with --rev, bisect and hotfix, at
    /// every revision.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Keep greenlight's state (the project environment, logs, the result cache, tool caches)
    /// in DIR instead of the project's `.greenlight/`; nothing is written into the project
    /// (a read-only checkout can be checked). Overrides `GREENLIGHT_STATE_DIR`.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Run every check even when its inputs did not change since a stored result.
    #[arg(long)]
    pub no_cache: bool,
    /// Rebuild the project environment even if its dependency files did not change.
    #[arg(long)]
    pub rebuild_env: bool,
}

/// Command-line values of the checks' own options: shared by `run`, `bisect` and `hotfix`.
#[derive(Debug, Clone, Default, Args)]
pub struct CheckOptionArgs {
    /// Keep the image the docker check builds (tagged `greenlight/<project>:<run id>`) for
    /// debugging, instead of removing it ([tool.greenlight.docker] keep-image).
    #[arg(long)]
    pub keep_image: bool,
    /// Build the docker check's image from TO where the Dockerfile's FROM names FROM, without
    /// editing the Dockerfile (repeatable: `--image-map
    /// python:3.11-slim=mirror.local/python:3.11-slim`); replaces [tool.greenlight.docker]
    /// image-map.
    #[arg(long = "image-map", value_name = "FROM=TO", value_parser = parse_image_map)]
    pub image_map: Vec<(String, String)>,
    /// Audit dependencies offline against this directory of OSV records (a copy of the PyPA
    /// advisory database) instead of an online service; overrides `GREENLIGHT_ADVISORY_DB` and
    /// [tool.greenlight.pip-audit] advisory-db.
    #[arg(long, value_name = "DIR")]
    pub advisory_db: Option<PathBuf>,
}

/// When the terminal output has colours (`--color`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorWhen {
    /// On a terminal, unless NO_COLOR is set (not empty); FORCE_COLOR or CLICOLOR_FORCE (not
    /// empty, not `0`) turn it on anywhere.
    #[default]
    Auto,
    /// Always, even in a pipe.
    Always,
    /// Never.
    Never,
}

/// What a command prints: shared by `run`, `bisect`, `hotfix` and `policy`.
#[derive(Debug, Clone, Default, Args)]
pub struct OutputArgs {
    /// When to use colours: `auto` (a terminal; NO_COLOR, FORCE_COLOR and CLICOLOR_FORCE
    /// honoured), `always`, `never`.
    #[arg(long, value_name = "WHEN", default_value = "auto")]
    pub color: ColorWhen,
    /// Do not show live progress.
    #[arg(long)]
    pub no_progress: bool,
    /// Print only problems and the result.
    #[arg(short, long)]
    pub quiet: bool,
    /// Show every finding and debug logs (`-vv` for more).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// `greenlight run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Checks to run (default: every check that applies).
    #[arg(value_name = "CHECK")]
    pub checks: Vec<String>,
    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub selection: SelectionArgs,
    #[command(flatten)]
    pub execution: ExecutionArgs,
    #[command(flatten)]
    pub check_options: CheckOptionArgs,
    /// Let tools fix what they can (`ruff check --fix`, `ruff format`): edits your files.
    #[arg(long)]
    pub fix: bool,
    /// Run shard K of N (`2/3`): pytest runs its share of the test files (balanced by the
    /// durations in `.test_durations` when the repository has one), every other check runs
    /// whole in one shard; `greenlight report merge` joins the shards' reports.
    #[arg(long, value_name = "K/N", value_parser = parse_partition)]
    pub partition: Option<greenlight_checker::Partition>,
    /// Check this commit (sha, branch, tag) in a clean temporary worktree instead of the
    /// working tree; your checkout is not touched.
    #[arg(long, value_name = "REV")]
    pub rev: Option<String>,
    /// Fail only on findings that the merge base of REV and HEAD does not have (the finding
    /// checks run there too, in a temporary worktree); the others are reported as existing
    /// (default: [tool.greenlight] new-from).
    #[arg(long, value_name = "REV", conflicts_with = "baseline")]
    pub new_from: Option<String>,
    /// Fail only on findings that this baseline file (`greenlight baseline write`) does not
    /// have (default: [tool.greenlight] baseline).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Look only at what changed since REF (default `HEAD`: the uncommitted changes), where
    /// that is sound: ruff check and ruff format on the changed Python files, gitleaks on the
    /// commits since the merge base of REF and HEAD. The other checks say so and run whole.
    #[arg(long, value_name = "REF", num_args = 0..=1, default_missing_value = "HEAD", require_equals = false, conflicts_with = "staged")]
    pub changed: Option<String>,
    /// Look only at the files staged for commit (a pre-commit hook): ruff on them; the other
    /// checks run whole.
    #[arg(long)]
    pub staged: bool,
    /// A pull request body to run the `policy` check on.
    #[arg(long, value_name = "FILE")]
    pub pr_body: Option<PathBuf>,
    /// The pull request's base, for the policy's path rules (files changed since the merge-base).
    #[arg(long, value_name = "REV")]
    pub pr_base: Option<String>,
    #[command(flatten)]
    pub formats: FormatArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `greenlight bisect`.
#[derive(Debug, Clone, Args)]
pub struct BisectArgs {
    /// A revision where the checks pass.
    #[arg(long, value_name = "REV")]
    pub good: String,
    /// A revision where they fail (for example `main`).
    #[arg(long, value_name = "REV")]
    pub bad: String,
    /// Checks to bisect (repeat or comma-separate; default: the checks failing at `--bad`).
    #[arg(long = "check", value_name = "ID", value_delimiter = ',')]
    pub checks: Vec<String>,
    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub selection: SelectionArgs,
    #[command(flatten)]
    pub execution: ExecutionArgs,
    #[command(flatten)]
    pub check_options: CheckOptionArgs,
    /// Write the result as JSON to FILE (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `greenlight policy`.
#[derive(Debug, Clone, Args)]
pub struct PolicyArgs {
    /// The pull request body (Markdown).
    #[arg(long, value_name = "FILE")]
    pub pr_body: PathBuf,
    /// The base the pull request merges into; path rules look at the files changed since the
    /// merge-base with it.
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
    /// The pull request's author (GitHub login), for exemptions.
    #[arg(long, value_name = "LOGIN")]
    pub author: Option<String>,
    /// The pull request's labels, for exemptions (repeat or comma-separate).
    #[arg(long = "label", value_name = "NAME", value_delimiter = ',')]
    pub labels: Vec<String>,
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Write the JSON report to FILE (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `greenlight hotfix`.
#[derive(Debug, Clone, Args)]
pub struct HotfixArgs {
    /// A commit to revert (repeat for several; merges are reverted against their first parent).
    #[arg(long, value_name = "SHA")]
    pub revert: Vec<String>,
    /// Revert the first bad commits of a `greenlight bisect --json` result.
    #[arg(long, value_name = "FILE")]
    pub from_bisect: Option<PathBuf>,
    /// The branch to create (default: [tool.greenlight.hotfix] branch, else `hotfix/restore-main-green`).
    #[arg(long, value_name = "NAME")]
    pub branch: Option<String>,
    /// Where the hotfix starts (default: [tool.greenlight.hotfix] base, else `main`).
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
    /// What the hotfix does, for the PR title `HOTFIX: <description>`.
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// `MILESTONE_ID:` of the PR body (default: [tool.greenlight.hotfix] milestone-id, else `HOTFIX`).
    #[arg(long, value_name = "ID")]
    pub milestone: Option<String>,
    /// `BLUEPRINT_REF:` of the PR body (default: [tool.greenlight.hotfix] blueprint-ref, else
    /// `revert-<short sha>`).
    #[arg(long, value_name = "REF")]
    pub blueprint: Option<String>,
    /// Where to write the PR body (default: `.greenlight/hotfix/PR_BODY.md`).
    #[arg(long, value_name = "FILE")]
    pub body_out: Option<PathBuf>,
    /// Keep the hotfix worktree (default: remove it; the branch stays).
    #[arg(long)]
    pub keep_worktree: bool,
    /// Checks to run (repeat or comma-separate; default: every check that applies).
    #[arg(long = "check", value_name = "ID", value_delimiter = ',')]
    pub checks: Vec<String>,
    /// A JSON report of `main` to use as its evidence instead of running it again
    /// (`greenlight run --rev main --json FILE`).
    #[arg(long, value_name = "REPORT")]
    pub main_report: Option<PathBuf>,
    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub selection: SelectionArgs,
    #[command(flatten)]
    pub execution: ExecutionArgs,
    #[command(flatten)]
    pub check_options: CheckOptionArgs,
    /// Write the JSON report of the hotfix branch to FILE (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
}

fn parse_as_of(text: &str) -> Result<greenlight_orchestrator::AsOf, String> {
    text.parse().map_err(|error: greenlight_orchestrator::as_of::AsOfError| error.to_string())
}

/// `ruff=0.14.10` (or `ruff==0.14.10`) → (`ruff`, `0.14.10`).
fn parse_tool(text: &str) -> Result<(String, String), String> {
    let (name, version) =
        text.split_once('=').ok_or_else(|| format!("`{text}` is not NAME=VERSION (`ruff=0.14.10`)"))?;
    let version = version.strip_prefix('=').unwrap_or(version).trim();
    let name = name.trim();
    let valid = |part: &str| !part.is_empty() && !part.contains(|c: char| c.is_whitespace() || c == '=');
    if !valid(name) || !valid(version) {
        return Err(format!("`{text}` is not NAME=VERSION (`ruff=0.14.10`)"));
    }
    Ok((name.to_string(), version.to_string()))
}

fn parse_partition(text: &str) -> Result<greenlight_checker::Partition, String> {
    greenlight_checker::Partition::parse(text)
}

fn parse_image_map(text: &str) -> Result<(String, String), String> {
    let invalid = || format!("`{text}` is not FROM=TO (`python:3.11-slim=mirror.local/python:3.11-slim`)");
    let (from, to) = text.split_once('=').ok_or_else(invalid)?;
    let valid = |part: &str| !part.is_empty() && !part.contains(|c: char| c.is_whitespace() || c == '=');
    if !valid(from) || !valid(to) {
        return Err(invalid());
    }
    Ok((from.to_string(), to.to_string()))
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    greenlight_checker::parse_duration(text).map_err(|error| error.to_string())
}

/// Sets up `tracing` to stderr: warnings by default, debug with `-v`, trace with `-vv`;
/// `RUST_LOG` overrides.
pub fn init_tracing((verbose, quiet): (u8, bool), env: &greenlight_env::Env) {
    use greenlight_env::EnvVars;
    use tracing_subscriber::EnvFilter;
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (_, 0) => "warn",
        (_, 1) => "warn,greenlight_orchestrator=debug,greenlight_process=debug",
        _ => "debug",
    };
    let filter = env
        .get(EnvVars::RUST_LOG)
        .and_then(|directives| EnvFilter::try_new(directives).ok())
        .unwrap_or_else(|| EnvFilter::new(default));
    use std::io::IsTerminal as _;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(crate::printer::colors(ColorWhen::Auto, env, std::io::stderr().is_terminal()))
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .try_init();
}
