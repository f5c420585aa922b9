//! The command line of the runs on other commits (`run --rev`, `bisect`, `hotfix`): flags in,
//! results out. The work is in `greenlight_reproduce`.
#![expect(clippy::print_stdout, clippy::print_stderr, reason = "the command line prints results and progress")]

use std::path::Path;
use std::sync::Arc;

use greenlight_checker::{CheckerFactory, ConfigOverrides};
use greenlight_env::Env;
use greenlight_orchestrator::{Observer, RunFlags};
use greenlight_process::Stop;
use greenlight_report::ExitCode;
use greenlight_reporters::terminal::LiveView;
use greenlight_reproduce::bisect::BisectOutcome;
use greenlight_reproduce::{
    AfterwardsWorktree, BisectRequest, BisectResult, Console, Hotfix, HotfixDone, HotfixRequest, Runs, Show,
};

use crate::cli::{BisectArgs, HotfixArgs, IssueArgs, SelectionArgs};
use crate::output::{read_report, write_file, write_json};
use crate::printer::{Live, LiveObserver, Printer, Stream};
use crate::registry::registry;
use crate::shared::{Failure, project_root, watch_signals};
use greenlight_report::text::shell_quote;

/// The terminal as the console of runs on other commits: progress lines on stderr unless
/// quiet, and each run's live view.
pub struct Terminal {
    printer: Printer,
    live: Arc<LiveView>,
    hidden: Arc<LiveView>,
}

impl Terminal {
    /// A console printing as `printer` says, with `live` as the live view of shown runs.
    pub fn new(printer: Printer, env: &Env, live: Arc<LiveView>) -> Self {
        Self { printer, live, hidden: printer.live_view(env, Live::Hidden) }
    }
}

impl Console for Terminal {
    fn progress(&self, line: &str) {
        if self.printer.shows_progress_lines() {
            eprintln!("{line}");
        }
    }

    fn note(&self, line: &str) {
        eprintln!("{line}");
    }

    fn observer(&self, show: Show) -> Arc<dyn Observer> {
        match show {
            Show::Progress => Arc::new(LiveObserver(self.live.clone())),
            Show::Nothing => Arc::new(LiveObserver(self.hidden.clone())),
        }
    }
}

/// What every run of a command on other commits shares.
pub fn runs<'a>(
    registry: &'a [CheckerFactory],
    flags: RunFlags,
    overrides: ConfigOverrides,
    selection: &SelectionArgs,
    env: &Env,
    console: &'a dyn Console,
    stop: &'a Stop,
) -> Runs<'a> {
    Runs { registry, flags, overrides, skip: selection.skip.clone(), env: env.clone(), console, stop }
}

/// `greenlight bisect`.
pub async fn bisect(args: BisectArgs, env: &Env) -> Result<ExitCode, Failure> {
    let root = greenlight_reproduce::absolute(&project_root(&args.project)?)?;
    let printer = Printer::from_args(&args.output);
    let console = Terminal::new(printer, env, printer.live_view(env, Live::Hidden));
    let flags = args.execution.run_flags()?;
    let overrides = args.check_options.overrides(env)?;
    let registry = registry();
    let stop = Stop::new();
    let signals = tokio::spawn(watch_signals(stop.clone()));
    let runs = runs(&registry, flags, overrides, &args.selection, env, &console, &stop);
    let request = BisectRequest { good: args.good.clone(), bad: args.bad.clone(), checks: args.checks.clone() };
    let result = greenlight_reproduce::bisect::bisect(&runs, &root, &request).await;
    signals.abort();
    let result = result?;
    if let Some(path) = &args.json {
        write_bisect(path, &result)?;
    }
    Stream::beside_json(args.json.as_deref()).print(&greenlight_reproduce::render_bisect(&result));
    Ok(match result.outcome {
        BisectOutcome::Found => ExitCode::Success,
        BisectOutcome::Ambiguous => ExitCode::Errored,
    })
}

/// Writes a bisection as JSON to `path` (`-`: stdout).
fn write_bisect(path: &Path, result: &BisectResult) -> Result<(), Failure> {
    let mut text = serde_json::to_string_pretty(result)
        .map_err(|error| Failure::errored(format!("cannot write the bisection as JSON: {error}")))?;
    text.push('\n');
    if path == Path::new("-") {
        print!("{text}");
        Ok(())
    } else {
        write_file(path, &text)
    }
}

/// `greenlight hotfix`.
pub async fn hotfix(args: HotfixArgs, env: &Env) -> Result<ExitCode, Failure> {
    let root = greenlight_reproduce::absolute(&project_root(&args.project)?)?;
    let request = hotfix_request(&args)?;
    let printer = Printer::lines(Printer::from_args(&args.output).verbosity);
    let console = Terminal::new(printer, env, printer.live_view(env, Live::Shown));
    let flags = args.execution.run_flags()?;
    let overrides = args.check_options.overrides(env)?;
    let registry = registry();
    let stop = Stop::new();
    let signals = tokio::spawn(watch_signals(stop.clone()));
    let runs = runs(&registry, flags, overrides, &args.selection, env, &console, &stop);
    let result = match Hotfix::prepare(&runs, &root, &request).await {
        Ok(hotfix) => hotfix.run().await,
        Err(error) => Err(error),
    };
    signals.abort();
    match result? {
        HotfixDone::NothingToRestore(message) => {
            println!("{message}");
            Ok(ExitCode::Success)
        }
        HotfixDone::Made(made) => {
            if let Some(path) = &args.json {
                write_json(path, &made.report)?;
            }
            printer.summary(&made.report, Stream::beside_json(args.json.as_deref()), env, false);
            print!("{}{}", made.summary, made.next_steps);
            Ok(ExitCode::for_outcomes(made.report.checks.iter().chain(&made.policy.checks).map(|check| check.outcome)))
        }
    }
}

/// `greenlight report issue`: the escalation issue from a red report, and what bisect and
/// hotfix found.
pub fn issue(args: &IssueArgs) -> Result<ExitCode, Failure> {
    use greenlight_reporters::issue::{BisectFacts, Culprit, IssueInput, render};
    let report = read_report(&args.report)?;
    let bisect = match &args.bisect {
        Some(path) => {
            let result = read_bisect(path, "--bisect")?;
            Some(BisectFacts {
                good: result.good.rev,
                bad: result.bad.rev,
                commits: result.commits,
                runs: result.runs,
                culprits: result
                    .checks
                    .iter()
                    .filter_map(|check| {
                        let commit = check.first_bad.as_ref()?;
                        Some(Culprit {
                            check: check.check.clone(),
                            short: commit.short.clone(),
                            subject: commit.subject.clone(),
                            author: commit.author.clone(),
                            date: commit.date.clone(),
                            merge: commit.is_merge(),
                        })
                    })
                    .collect(),
                ambiguous: result
                    .checks
                    .iter()
                    .filter(|check| check.first_bad.is_none())
                    .map(|check| (check.check.clone(), check.candidates.iter().map(|c| c.short.clone()).collect()))
                    .collect(),
            })
        }
        None => None,
    };
    let hotfix = match &args.hotfix {
        Some(path) => {
            Some(read_report(path).map_err(|failure| Failure::usage(format!("--hotfix {}", failure.message())))?)
        }
        None => None,
    };
    let input = IssueInput {
        description: args.description.clone(),
        labels: args.labels.clone(),
        bisect,
        hotfix: hotfix.as_ref(),
    };
    let issue =
        render(&report, &input).map_err(|error| Failure::usage(format!("{}: {error}", args.report.display())))?;
    let labels: String = issue.labels.iter().map(|label| format!(" --label {}", shell_quote(label))).collect();
    match &args.out {
        Some(path) => {
            write_file(path, &issue.body)?;
            let title_path = path.with_file_name("ISSUE_TITLE.txt");
            write_file(&title_path, &format!("{}\n", issue.title))?;
            println!(
                "gh issue create --title {}{labels} --body-file {}",
                shell_quote(&issue.title),
                shell_quote(&path.display().to_string())
            );
        }
        None => {
            print!("{}", issue.body);
            eprintln!("title: {}", issue.title);
            eprintln!("labels: {}", issue.labels.join(", "));
        }
    }
    Ok(ExitCode::Success)
}

/// Reads a `greenlight bisect --json` result named by `flag`.
fn read_bisect(path: &Path, flag: &str) -> Result<BisectResult, Failure> {
    let text =
        std::fs::read_to_string(path).map_err(|error| Failure::usage(format!("{flag} {}: {error}", path.display())))?;
    serde_json::from_str(&text).map_err(|error| {
        Failure::usage(format!("{flag} {}: not a `greenlight bisect --json` result ({error})", path.display()))
    })
}

/// The hotfix flags, with the files they name read.
fn hotfix_request(args: &HotfixArgs) -> Result<HotfixRequest, Failure> {
    let from_bisect = match &args.from_bisect {
        Some(path) => Some((path.clone(), read_bisect(path, "--from-bisect")?)),
        None => None,
    };
    let main_report = match &args.main_report {
        Some(path) => {
            let report =
                read_report(path).map_err(|failure| Failure::usage(format!("--main-report {}", failure.message())))?;
            Some((path.clone(), report))
        }
        None => None,
    };
    Ok(HotfixRequest {
        revert: args.revert.clone(),
        from_bisect,
        branch: args.branch.clone(),
        base: args.base.clone(),
        description: args.description.clone(),
        milestone: args.milestone.clone(),
        blueprint: args.blueprint.clone(),
        body_out: args.body_out.clone(),
        worktree: if args.keep_worktree { AfterwardsWorktree::Keep } else { AfterwardsWorktree::Remove },
        checks: args.checks.clone(),
        main_report,
    })
}
