//! One run of the check: which scans to run, running gitleaks for each, and what its exit
//! code, report and log mean.
//!
//! The working-tree scan reads a copy of the project's files in the check's scratch directory:
//! gitleaks' directory scan reads everything under its source, including `.greenlight/` (the
//! project environment, logs) and virtual environments, and reports paths as they are walked.
//! Scanning a copy of exactly the files that matter ([`CheckContext::project_files`]), laid
//! out as in the repository, keeps the scan fast, its paths relative, its fingerprints those of
//! a scan from the repository root, and the user's tree untouched.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use greenlight_checker::process::Cmd;
use greenlight_checker::report::CommitRef;
use greenlight_checker::{
    CheckContext, CheckError, CheckResult, Finding, FindingKind, Location, Outcome, ToolOutput, files, text,
};

use crate::baseline::{Baseline, Suppressions, choose_config, ignore_files, load_baseline, load_ignores};
use crate::cli::{Cli, LEAKS_EXIT_CODE, ScanArgs, Target, detect_cli, help_lists, scan_args};
use crate::columns::fix_columns;
use crate::git::{HunkStarts, Layout, has_commits, hunk_starts, is_shallow};
use crate::parse::{self, Leak, LogLine, commits_scanned, parse_log, parse_report, parse_secrets};
use crate::{GITLEAKS, GitleaksOptions, Mode};

/// `--log-opts` for a run on one revision: the checked-out commit and its ancestors.
const HEAD_HISTORY: &str = "--full-history HEAD";
/// How long `gitleaks --help` may take.
const HELP_TIMEOUT: Duration = Duration::from_secs(30);
/// Bytes of gitleaks' output kept: it logs a few lines.
const OUTPUT_LIMIT: usize = 1024 * 1024;

/// Everything decided before gitleaks runs.
pub(crate) struct Run<'a> {
    cx: &'a CheckContext,
    options: &'a GitleaksOptions,
    no_color: bool,
    layout: Layout,
    targets: Vec<Target>,
    config: Option<PathBuf>,
    baseline: Option<PathBuf>,
    suppressions: Suppressions,
    shallow: bool,
    notes: Vec<String>,
}

/// The result of one gitleaks run.
struct ScanOutcome {
    target: Target,
    output: ToolOutput,
    /// Leaks gitleaks reported.
    leaks: Vec<Leak>,
    /// Why the scan is incomplete; `None` when it is complete.
    problem: Option<String>,
    /// `N commits scanned` (history).
    commits: Option<u64>,
    /// Files copied for the scan (tree).
    files: Option<usize>,
}

/// What gitleaks' report says, when it can be used.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Scanned {
    /// The report's leaks.
    leaks: Vec<Leak>,
    /// Why the scan is incomplete when gitleaks logged errors (a partial scan).
    problem: Option<String>,
}

impl<'a> Run<'a> {
    /// Decides the scans: what the mode and the repository allow, the configuration, the
    /// baseline and the ignore files.
    pub(crate) async fn prepare(options: &'a GitleaksOptions, cx: &'a CheckContext) -> Result<Self, CheckError> {
        let (cli, no_color) = probe_cli(cx, &cx.resolved(&GITLEAKS)?.path).await?;
        let layout = Layout::new(&cx.project)?;
        let mut notes = Vec::new();
        let mut targets = match (options.mode, layout.git) {
            (Some(Mode::History), false) => {
                return Err(CheckError::errored(format!(
                    "`mode = \"history\"` is set, but `{}` is not in a git repository; set `mode = \"tree\"` in [tool.greenlight.gitleaks] to scan the files, or run `git init`",
                    cx.project.root.display()
                )));
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
        let config = choose_config(options, &cx.project, &layout)?;
        let baseline = load_baseline(options, &cx.project)?;
        let ignored = load_ignores(&ignore_files(&layout, &cx.project.root));
        Ok(Self {
            cx,
            options,
            no_color,
            targets,
            config,
            baseline: baseline.as_ref().map(|baseline: &Baseline| baseline.path.clone()),
            suppressions: Suppressions { cli, ignored, baseline },
            layout,
            shallow,
            notes,
        })
    }

    /// Runs the scans and decides.
    pub(crate) async fn execute(mut self) -> Result<CheckResult, CheckError> {
        let mut scans = Vec::new();
        for target in self.targets.clone() {
            scans.push(self.scan(target).await?);
        }
        let mut findings = Vec::new();
        let mut outside = 0;
        let mut suppressed = 0;
        let mut problems = Vec::new();
        for scan in &scans {
            if let Some(problem) = &scan.problem {
                problems.push(problem.clone());
            }
            let starts = if scan.target == Target::History {
                hunk_starts(self.cx, &self.layout, &scan.leaks).await
            } else {
                BTreeMap::new()
            };
            for leak in &scan.leaks {
                let Some(path) = self.layout.project_path(&leak.file) else {
                    outside += 1;
                    continue;
                };
                if self.suppressions.suppress(leak) {
                    suppressed += 1;
                    continue;
                }
                findings.push(to_finding(leak, path, scan.target, &starts));
            }
        }
        if outside > 0 {
            self.notes.push(format!(
                "{} elsewhere in the repository, outside `{}`",
                text::plural(outside, "leak"),
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
        let Some(main) = scans.first() else {
            return Err(CheckError::errored("gitleaks scanned nothing (a bug: no scan was planned)"));
        };

        let mut result = if !findings.is_empty() {
            let mut result = CheckResult::failed(leak_summary(&findings));
            if !problems.is_empty() {
                result.reason =
                    Some(format!("the scan was incomplete, so there may be more leaks:\n{}", problems.join("\n")));
            }
            result.with_findings(findings)
        } else if !problems.is_empty() {
            CheckResult::errored(problems.join("\n"))
        } else if scans.iter().any(|scan| scan.target == Target::History && scan.commits == Some(0)) {
            CheckResult::errored(no_commit_scanned(self.options.log_opts.as_deref()))
        } else if incomplete_history && !self.options.allow_shallow && self.options.log_opts.is_none() {
            CheckResult::errored(format!(
                "the repository is a shallow clone: only {} of its history could be scanned, and an older commit may hold a secret\nfetch the whole history (`git fetch --unshallow`; in GitHub Actions `fetch-depth: 0` in actions/checkout), or accept a partial scan with `allow-shallow = true` in [tool.greenlight.gitleaks]",
                scans
                    .iter()
                    .find_map(|scan| scan.commits)
                    .map_or_else(|| "part".to_string(), |count| text::plural(count as usize, "commit"))
            ))
        } else {
            CheckResult::passed(clean_summary(&scans))
        };
        if let Some(changed) = cx_changed_note(self.cx, self.options)
            && matches!(result.outcome, Outcome::Passed | Outcome::Failed)
        {
            result.summary = format!("{} ({changed})", result.summary);
        }
        if matches!(result.outcome, Outcome::Passed | Outcome::Failed) && !self.notes.is_empty() {
            result.summary = format!("{} ({})", result.summary, self.notes.join("; "));
        }
        Ok(main.output.attach(result))
    }

    /// Runs one gitleaks scan and reads its report.
    async fn scan(&self, target: Target) -> Result<ScanOutcome, CheckError> {
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
                (PathBuf::from("."), copy_root, Some(files))
            }
        };
        let args = ScanArgs {
            target,
            source,
            report: report.clone(),
            config: self.config.clone(),
            baseline: self.baseline.clone(),
            // On one revision (`--rev`, bisect, hotfix) the history is that commit's ancestry, as
            // CI at that commit scans it; gitleaks' default `--all` would also report secrets
            // committed later on other refs.
            // With `--changed REF`, the commits since the merge base.
            log_opts: self
                .options
                .log_opts
                .clone()
                .or_else(|| cx.changed.as_ref().and_then(|changed| changed.commits.clone()))
                .or_else(|| cx.at_revision.then(|| HEAD_HISTORY.to_string())),
            extra: self.options.args.clone(),
            no_color: self.no_color,
        };
        // gitleaks runs git: the repository is trusted for it as for greenlight's own git.
        let output = cx
            .tool(&GITLEAKS)?
            .current_dir(&cwd)
            .map(|command| cx.git().apply(command))
            .env_remove("GITLEAKS_CONFIG")
            .env_remove("GITLEAKS_CONFIG_TOML")
            .args(scan_args(self.suppressions.cli, &args))
            .capture_limit(OUTPUT_LIMIT)
            .run()
            .await?;
        let log = parse_log(&output.stderr.text());
        let bytes = std::fs::read(&report).ok();
        // The report holds the secrets in cleartext: they go into the run's secrets, to be
        // masked in every output, and the file goes at once.
        let _ = std::fs::remove_file(&report);
        for secret in bytes.as_deref().map(parse_secrets).unwrap_or_default() {
            cx.secrets.add(&secret);
        }
        let parsed = bytes.map(|bytes| parse_report(&bytes));
        let context =
            FailureContext { target, layout: &self.layout, options: self.options, config: self.config.as_deref() };
        let scanned = interpret(output.code(), parsed, &log, &context)
            .map_err(|error| error.with_command(output.argv.clone(), output.status.code()))?;
        Ok(ScanOutcome {
            target,
            leaks: scanned.leaks,
            problem: scanned.problem,
            commits: commits_scanned(&log),
            files,
            output,
        })
    }

    /// Copies the project's files ([`CheckContext::project_files`]: in git what a clean
    /// checkout or the next commit holds, else everything but environments and caches) into
    /// `<scratch>/tree/<prefix>`; returns the copy's root and how many files it holds.
    async fn copy_tree(&self) -> Result<(PathBuf, usize), CheckError> {
        let cx = self.cx;
        let copy_root = cx.scratch.join("tree");
        let _ = std::fs::remove_dir_all(&copy_root);
        let listed = cx.project_files().await?;
        let root = cx.project.root.clone();
        let target = copy_root.join(&self.layout.prefix);
        let mut extra: Vec<(PathBuf, PathBuf)> = Vec::new();
        // gitleaks reads `.gitleaksignore` from the directory it scans, and resolves a relative
        // `[extend] path` from where it runs: bring both from the repository root.
        for relative in [Some(PathBuf::from(".gitleaksignore")), self.extend_path()].into_iter().flatten() {
            let source = self.layout.scan_root.join(&relative);
            if source.is_file() {
                extra.push((source, copy_root.join(relative)));
            }
        }
        let copied = files::in_background(move || -> std::io::Result<usize> {
            let copied = files::copy(&root, &target, &listed.files, files::Copy::RegularFiles)?;
            for (source, destination) in extra {
                if !destination.exists() {
                    if let Some(parent) = destination.parent() {
                        std::fs::create_dir_all(parent)?;
                    }
                    std::fs::copy(source, destination)?;
                }
            }
            Ok(copied.files)
        })
        .await
        .map_err(|error| {
            CheckError::errored(format!(
                "cannot copy the working tree for the scan: {error}; make the file readable, or add it to `.gitignore` if it should not be committed"
            ))
        })?;
        if copied == 0 {
            // A scan of nothing is not a clean scan.
            return Err(CheckError::errored(format!(
                "the working tree of `{}` has no files to scan (git ignores them all?); check `.gitignore`, or scan the history with `mode = \"history\"`",
                cx.project.root.display()
            )));
        }
        Ok((copy_root, copied))
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
}

fn leak_summary(findings: &[Finding]) -> String {
    let history = findings.iter().filter(|finding| finding.commit.is_some()).count();
    let tree = findings.len() - history;
    match (history, tree) {
        (_, 0) => format!("{} in the git history", text::plural(history, "leak")),
        (0, _) => format!("{} in the working tree", text::plural(tree, "leak")),
        _ => format!(
            "{}: {history} in the git history, {tree} in the working tree",
            text::plural(findings.len(), "leak")
        ),
    }
}

fn clean_summary(scans: &[ScanOutcome]) -> String {
    let parts: Vec<String> = scans
        .iter()
        .map(|scan| match scan.target {
            Target::History => match scan.commits {
                Some(commits) => text::plural(commits as usize, "commit"),
                None => "the git history".to_string(),
            },
            Target::Tree => text::plural(scan.files.unwrap_or(0), "file"),
        })
        .collect();
    format!("no leaks in {}", parts.join(" and "))
}

/// Why a history scan of no commit decides nothing, and what to do.
fn no_commit_scanned(log_opts: Option<&str>) -> String {
    match log_opts {
        Some(log_opts) => format!(
            "gitleaks scanned 0 commits, so the history was not checked: `log-opts = {log_opts:?}` in [tool.greenlight.gitleaks] selects no commit\nfix it (gitleaks passes it to `git log`; try `git log {log_opts}`), or remove it to scan every ref"
        ),
        None => "gitleaks scanned 0 commits, so the history was not checked\nrun `git log --all` in the project: gitleaks scans what it lists".to_string(),
    }
}

/// A finding for the report: rule, description, place, commit and gitleaks' fingerprint.
fn to_finding(leak: &Leak, path: String, target: Target, starts: &HunkStarts) -> Finding {
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

/// Decides what a gitleaks run means from its exit code, its report and its log: the
/// report's leaks (with why the scan is incomplete, when gitleaks logged errors), or the
/// scan failed and found nothing usable.
fn interpret(
    code: i32,
    report: Option<Result<Vec<Leak>, serde_json::Error>>,
    log: &[LogLine],
    context: &FailureContext<'_>,
) -> Result<Scanned, CheckError> {
    let errors = parse::errors(log);
    let failed = |what: &str| CheckError::errored(failure_reason(code, log, context, what));
    let complete = |leaks| Ok(Scanned { leaks, problem: None });
    let partial = |leaks, what: &str| Ok(Scanned { leaks, problem: Some(failure_reason(code, log, context, what)) });
    match (code, report) {
        (126, _) => {
            let first = log.iter().find(|line| !line.message.is_empty()).map_or("", |line| line.message.as_str());
            Err(CheckError::errored(format!(
                "gitleaks rejected its arguments (exit code 126): {first}\ncheck `args` in [tool.greenlight.gitleaks]: this gitleaks may not know one of them"
            )))
        }
        (LEAKS_EXIT_CODE, Some(Ok(leaks))) if leaks.is_empty() => {
            Err(failed("reported leaks but wrote an empty report"))
        }
        (0 | LEAKS_EXIT_CODE, Some(Ok(leaks))) if errors.is_empty() => complete(leaks),
        (0 | LEAKS_EXIT_CODE, Some(Ok(leaks))) if leaks.is_empty() => Err(failed("logged errors")),
        (0 | LEAKS_EXIT_CODE, Some(Ok(leaks))) => partial(leaks, "logged errors"),
        (0 | LEAKS_EXIT_CODE, Some(Err(error))) => Err(CheckError::errored(format!(
            "gitleaks wrote a report greenlight cannot read ({error}); check that `gitleaks` is gitleaks 8 (`gitleaks --help`)"
        ))),
        (0 | LEAKS_EXIT_CODE, None) => Err(failed("wrote no report")),
        // A failed git scan still writes the leaks it found before the failure.
        (_, Some(Ok(leaks))) if !leaks.is_empty() => partial(leaks, "failed"),
        (_, _) => Err(failed("failed")),
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
            reason.push_str(&format!("\n  {}", text::clip(error, 400)));
        }
    } else if code != 0 && code != LEAKS_EXIT_CODE {
        let tail: Vec<&LogLine> = log.iter().rev().take(5).collect();
        if !tail.is_empty() {
            reason.push_str("\ngitleaks said:");
            for line in tail.iter().rev() {
                reason.push_str(&format!("\n  {}", text::clip(&line.message, 400)));
            }
        }
    }
    reason.push('\n');
    reason.push_str(&todo);
    reason
}

/// Finds out which command line `gitleaks` has, and whether it knows `--no-color`, by reading
/// its `--help`.
async fn probe_cli(cx: &CheckContext, gitleaks: &Path) -> Result<(Cli, bool), CheckError> {
    let help = Cmd::new(gitleaks).arg("--help").current_dir(&cx.scratch).pass_env(&cx.pass_env).timeout(HELP_TIMEOUT);
    let output = cx.invocation("`gitleaks --help`", help).run().await?;
    let help = format!("{}\n{}", output.stdout.text(), output.stderr.text());
    let no_color = help_lists(&help, "--no-color");
    detect_cli(&help).map(|cli| (cli, no_color)).ok_or_else(|| {
        output.error(format!(
            "`{} --help` lists neither `git`/`dir` (gitleaks 8.19+) nor `detect` (gitleaks 8): is it gitleaks 8? {}\n{}",
            gitleaks.display(),
            GITLEAKS.install_hint,
            output.both_tails(10)
        ))
    })
}

/// What a `--changed` / `--staged` run scanned, for the summary.
fn cx_changed_note(cx: &CheckContext, options: &GitleaksOptions) -> Option<String> {
    let changed = cx.changed.as_ref()?;
    Some(match (&changed.commits, &options.log_opts) {
        (Some(_), None) => format!("the commits since {}", changed.since),
        (Some(_), Some(_)) => "runs whole: `log-opts` in the configuration wins over --changed".to_string(),
        (None, _) => "runs whole: --staged has no commits to scan".to_string(),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

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
    fn findings_from_the_recorded_history() {
        let leaks = parse_report(include_bytes!("../tests/data/history-findings.json")).unwrap();
        let starts: HunkStarts = BTreeMap::from([
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
        assert_eq!(interpret(0, Some(Ok(Vec::new())), &clean, &cx), Ok(Scanned { leaks: Vec::new(), problem: None }));
        let leaks = parse_report(include_bytes!("../tests/data/history-findings.json")).unwrap();
        let scanned = interpret(LEAKS_EXIT_CODE, Some(Ok(leaks.clone())), &clean, &cx).unwrap();
        assert_eq!(scanned.leaks.len(), 2);
        assert!(scanned.problem.is_none());
        // Leaks claimed, none reported; no report at all; garbage.
        assert!(interpret(LEAKS_EXIT_CODE, Some(Ok(Vec::new())), &clean, &cx).is_err());
        assert!(interpret(0, None, &clean, &cx).is_err());
        let garbage = parse_report(b"<html>");
        assert!(interpret(0, Some(garbage), &clean, &cx).unwrap_err().to_string().contains("cannot read"));
        // A failed scan's empty report is never clean.
        let reason = interpret(1, Some(Ok(Vec::new())), &log("dubious-ownership.stderr"), &cx).unwrap_err().to_string();
        assert!(
            reason.starts_with(
                "gitleaks could not scan the git history: git refuses the repository `/repo`, which belongs to another user"
            ),
            "{reason}"
        );
        assert!(reason.contains("safe.directory /repo"), "{reason}");
        assert!(reason.contains("[git] fatal: detected dubious ownership"), "{reason}");
        // A failed scan that found leaks before failing: the leaks, and the problem.
        let scanned = interpret(1, Some(Ok(leaks)), &log("bad-log-opts.stderr"), &cx).unwrap();
        assert_eq!(scanned.leaks.len(), 2);
        assert!(scanned.problem.unwrap().contains("git could not list the history"));
        // A clean exit with an error logged is not clean either.
        let reason = interpret(0, Some(Ok(Vec::new())), &log("missing-baseline.stderr"), &cx).unwrap_err().to_string();
        assert!(reason.contains("cannot use the baseline"), "{reason}");
    }

    #[test]
    fn failure_messages_say_what_to_do() {
        let layout = layout("");
        let mut options = options();
        let cx = context(&layout, &options);
        let reason = interpret(1, Some(Ok(Vec::new())), &log("not-a-repository.stderr"), &cx).unwrap_err().to_string();
        assert!(reason.contains("not a git repository") && reason.contains("mode = \"tree\""), "{reason}");
        let reason = interpret(1, None, &log("bad-config.stderr"), &cx).unwrap_err().to_string();
        assert!(
            reason.starts_with("gitleaks could not scan the git history: it cannot load the gitleaks configuration"),
            "{reason}"
        );
        assert!(reason.contains("toml: expected character ]"), "{reason}");
        let reason = interpret(126, None, &log("unknown-flag.stderr"), &cx).unwrap_err().to_string();
        assert!(reason.contains("unknown flag: --bogus") && reason.contains("`args`"), "{reason}");
        options.log_opts = Some("nosuchref..HEAD".into());
        let cx = context(&layout, &options);
        let reason = interpret(1, Some(Ok(Vec::new())), &log("bad-log-opts.stderr"), &cx).unwrap_err().to_string();
        assert!(
            reason.starts_with(
                "gitleaks could not scan the git history: git does not know a revision in `log-opts = \"nosuchref..HEAD\"`"
            ),
            "{reason}"
        );
        assert!(reason.contains("git fetch"), "{reason}");
        let reason = interpret(2, None, &[], &cx).unwrap_err().to_string();
        assert!(reason.contains("exit code 2"), "{reason}");
    }
}
