//! The subcommands that run checks on the working tree (`run`, `policy`), list them (`list`)
//! or manage state (`cache clean`), and what every command shares: the exit-code error, the
//! `bisect`, `hotfix` and `run --rev` are in `reproduce.rs`; what every command shares (the
//! exit-code error, the project root, signals) in `shared.rs`.
#![expect(clippy::print_stdout, clippy::print_stderr, reason = "the command line prints its results and errors")]

use std::sync::Arc;

use greenlight_env::Env;
use greenlight_orchestrator::{Observer, Plan, RunRequest, Selection, StateLocation};
use greenlight_process::Stop;
use greenlight_report::{ExitCode, RunReport};

use crate::cli::{
    BaselineCommand, BaselineWriteArgs, CacheCleanArgs, CacheCommand, Cli, Command, ListArgs, PolicyArgs,
    ReportCommand, RunArgs,
};
use crate::flags::PullRequestArgs;
use crate::output::{CiEnv, write_json, write_outputs};
use crate::printer::{Live, LiveObserver, Printer, Stream, Verbosity};
use crate::registry::registry;
use crate::reproduce;
use crate::shared::{Failure, project_root, watch_signals};

/// Runs the subcommand and returns the exit code.
pub async fn dispatch(cli: Cli, env: &Env) -> ExitCode {
    // Commands that start no check print only: a signal or a closed pipe ends them at once.
    if matches!(cli.command, Command::List(_) | Command::Report(_) | Command::Cache { .. }) {
        greenlight_process::default_signal_actions();
    }
    let result = match cli.command {
        Command::Run(args) => run(args, env).await,
        Command::List(args) => list(args, env).await,
        Command::Bisect(args) => reproduce::bisect(args, env).await,
        Command::Policy(args) => policy(args, env).await,
        Command::Hotfix(args) => reproduce::hotfix(args, env).await,
        Command::Cache { command: CacheCommand::Clean(args) } => cache_clean(&args, env),
        Command::Baseline { command: BaselineCommand::Write(args) } => baseline_write(args, env).await,
        Command::Report(ReportCommand::Render(args)) => crate::output::render(args, env),
        Command::Report(ReportCommand::Merge(args)) => crate::output::merge(args, env),
        Command::Report(ReportCommand::Issue(args)) => reproduce::issue(&args),
        Command::Completions { shell } => Ok(completions(shell)),
    };
    result.unwrap_or_else(|error| {
        eprintln!("error: {}", error.message());
        error.code()
    })
}

async fn run(args: RunArgs, env: &Env) -> Result<ExitCode, Failure> {
    let root = project_root(&args.project)?;
    if args.rev.is_some() && args.fix {
        return Err(Failure::usage(
            "--fix edits files and --rev checks a temporary checkout; run `--fix` on your working tree instead",
        ));
    }
    let mut overrides = args.check_options.overrides(env)?;
    PullRequestArgs { body: args.pr_body.as_deref(), base: args.pr_base.as_deref(), ..Default::default() }
        .add_to(&mut overrides)?;
    let mut flags = args.execution.run_flags()?;
    flags.fix = args.fix;
    flags.rev = args.rev.clone();
    flags.new_from = args.new_from.clone();
    flags.baseline = args.baseline.clone();
    flags.changed = match (&args.changed, args.staged) {
        (Some(rev), _) => Some(greenlight_orchestrator::ChangedScope::Since(rev.clone())),
        (None, true) => Some(greenlight_orchestrator::ChangedScope::Staged),
        (None, false) => None,
    };
    flags.outputs = args.formats.files().into_iter().cloned().collect();

    let printer = Printer::from_args(&args.output);
    let live = printer.live_view(env, Live::Shown);
    let stop = Stop::new();
    let signals = tokio::spawn(watch_signals(stop.clone()));
    let registry = registry();
    let report = match &args.rev {
        Some(rev) => {
            let console = reproduce::Terminal::new(printer, env, live.clone());
            let runs = reproduce::runs(&registry, flags, overrides, &args.selection, env, &console, &stop);
            greenlight_reproduce::run_at_rev(&runs, &root, rev, &args.checks).await.map_err(Failure::from)
        }
        None => {
            let request = RunRequest {
                registry: &registry,
                selection: Selection {
                    only: args.checks.clone(),
                    skip: args.selection.skip.clone(),
                    partition: args.partition,
                },
                flags,
                overrides,
                env: env.clone(),
                state: StateLocation::Project,
            };
            run_checks(&root, &request, Arc::new(LiveObserver(live.clone())), &stop).await
        }
    };
    signals.abort();
    live.finish();
    // Nothing runs any more: a signal or a closed pipe ends the writing of the outputs at once.
    greenlight_process::default_signal_actions();
    let report = report?;

    // Every requested output is written however the run ended (failed, errored, interrupted).
    let written = write_outputs(&args.formats, &report, &CiEnv::from_env(env));
    printer.summary(
        &report,
        Stream::beside_json(args.formats.json.as_deref()),
        env,
        live.prints_lines() && report.baseline.is_none(),
    );
    let code = written.exit_code(ExitCode::for_report(&report));
    // The process ends now: freeing a report of 100,000 findings piece by piece is wasted time.
    std::mem::forget(report);
    Ok(code)
}

/// One run on the working tree at `root`.
async fn run_checks(
    root: &std::path::Path,
    request: &RunRequest<'_>,
    observer: Arc<dyn Observer>,
    stop: &Stop,
) -> Result<RunReport, Failure> {
    Ok(greenlight_orchestrator::run_project(root, request, observer, stop).await?)
}

async fn policy(args: PolicyArgs, env: &Env) -> Result<ExitCode, Failure> {
    let root = project_root(&args.project)?;
    let mut overrides = Default::default();
    PullRequestArgs {
        body: Some(&args.pr_body),
        base: args.base.as_deref(),
        author: args.author.as_deref(),
        labels: &args.labels,
    }
    .add_to(&mut overrides)?;
    let registry = registry();
    let request = RunRequest {
        registry: &registry,
        selection: Selection {
            only: vec![greenlight_plugin_policy::ID.to_string()],
            skip: Vec::new(),
            partition: None,
        },
        flags: Default::default(),
        overrides,
        env: env.clone(),
        state: StateLocation::Project,
    };
    // Every finding of the policy is shown unless quiet.
    let printer = if args.output.quiet { Printer::lines(Verbosity::Quiet) } else { Printer::lines(Verbosity::Verbose) };
    let stop = Stop::new();
    let signals = tokio::spawn(watch_signals(stop.clone()));
    let live = printer.live_view(env, Live::Hidden);
    let report = run_checks(&root, &request, Arc::new(LiveObserver(live)), &stop).await;
    signals.abort();
    let report = report?;
    if let Some(path) = &args.json {
        write_json(path, &report)?;
    }
    printer.summary(&report, Stream::beside_json(args.json.as_deref()), env, false);
    Ok(ExitCode::for_report(&report))
}

async fn list(args: ListArgs, env: &Env) -> Result<ExitCode, Failure> {
    let root = project_root(&args.project)?;
    let project = greenlight_orchestrator::load_project(&root, env).await;
    let plan = Plan::new(project, &registry(), &Selection::default(), &Default::default())?;
    let tools = greenlight_orchestrator::tools::plan_tools(&plan, env.vars()).await;
    if args.json {
        println!("{}", list_json(&plan, &tools));
        return Ok(ExitCode::Success);
    }
    println!("project: {}", plan.project.root.display());
    match &plan.config.source.path {
        Some(path) => println!("config:  {}", path.display()),
        None => println!("config:  none (defaults; add [tool.greenlight] to pyproject.toml to configure)"),
    }
    println!();
    for check in &plan.checks {
        let state = if check.skip.is_none() { "on " } else { "off" };
        let why = check.skip.as_ref().map_or_else(|| check.detection.reason.clone(), |skip| skip.reason.clone());
        let mut extras = Vec::new();
        let needs = check.needs();
        if !needs.is_empty() {
            extras.push(format!("needs {}", needs.join(", ")));
        }
        let tools: Vec<&str> = check.info.tools.iter().map(|tool| tool.name).collect();
        if !tools.is_empty() {
            extras.push(format!("tools: {}", tools.join(", ")));
        }
        extras.push(format!("timeout {}", greenlight_report::text::limit(check.timeout())));
        println!(" {state}  {:<12} {why}  ({})", check.id(), extras.join("; "));
    }
    println!();
    if plan.config.settings.provisions() {
        println!("tools (used from PATH when found, else installed at this version; pin in [tool.greenlight.tools]):");
    } else {
        println!("tools (`provision = false`: greenlight installs none; a missing tool makes its checks error):");
    }
    for row in &tools {
        let version = row.found_version.as_deref().or(row.version.as_deref()).unwrap_or("-");
        println!("  {:<10} {version:<9} {:<8} {}", row.name, row.origin, row.source);
    }
    Ok(ExitCode::Success)
}

/// `greenlight list --json`: the plan's checks and the tools as programs read them.
fn list_json(plan: &Plan, tools: &[greenlight_orchestrator::tools::ToolRow]) -> String {
    use serde_json::json;
    let checks: Vec<serde_json::Value> = plan
        .checks
        .iter()
        .map(|check| {
            json!({
                "id": check.id(),
                "enabled": check.skip.is_none(),
                "reason": check.skip.as_ref().map_or_else(|| check.detection.reason.clone(), |skip| skip.reason.clone()),
                "needs": check.needs(),
                "tools": check.info.tools.iter().map(|tool| tool.name).collect::<Vec<_>>(),
                "timeout_s": check.timeout().as_secs(),
            })
        })
        .collect();
    let tools: Vec<serde_json::Value> = tools
        .iter()
        .map(|row| {
            json!({
                "name": row.name,
                "version": row.found_version.clone().or_else(|| row.version.clone()),
                "wanted_version": row.version,
                "origin": row.origin,
                "path": row.path.as_ref().map(|path| path.display().to_string()),
                "source": row.source,
            })
        })
        .collect();
    let config = plan.config.source.path.as_ref().map(|path| path.display().to_string());
    let value = json!({
        "project": plan.project.root.display().to_string(),
        "config": config,
        "checks": checks,
        "tools": tools,
    });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

/// `greenlight baseline write`: a run compared with nothing, and its findings' fingerprints.
async fn baseline_write(args: BaselineWriteArgs, env: &Env) -> Result<ExitCode, Failure> {
    let root = project_root(&args.project)?;
    let mut flags = args.execution.run_flags()?;
    flags.no_baseline = true;
    let registry = registry();
    let project = greenlight_orchestrator::load_project(&root, env).await;
    let configured =
        Plan::with_config(project, &registry, &Selection::default(), &Default::default(), flags.config.as_deref())?
            .config
            .settings
            .baseline
            .clone();
    let file = args.file.clone().or(configured.map(Into::into)).unwrap_or_else(|| "greenlight-baseline.json".into());
    let path = root.join(&file);
    flags.outputs = vec![path.clone()];
    let request = RunRequest {
        registry: &registry,
        selection: Selection { only: Vec::new(), skip: args.selection.skip.clone(), partition: None },
        flags,
        overrides: args.check_options.overrides(env)?,
        env: env.clone(),
        state: StateLocation::Project,
    };
    let printer = Printer::from_args(&args.output);
    let live = printer.live_view(env, Live::Shown);
    let stop = Stop::new();
    let signals = tokio::spawn(watch_signals(stop.clone()));
    let report = run_checks(&root, &request, Arc::new(LiveObserver(live.clone())), &stop).await;
    signals.abort();
    live.finish();
    let report = report?;
    printer.summary(&report, Stream::Stdout, env, live.prints_lines());
    if report.interrupted {
        return Err(Failure::interrupted("interrupted; the baseline was not written"));
    }
    let baseline = greenlight_report::baseline::Baseline::from_report(&report);
    let findings: usize = baseline.checks.values().map(Vec::len).sum();
    let text = serde_json::to_string_pretty(&baseline).map_err(|error| Failure::errored(error.to_string()))? + "\n";
    std::fs::write(&path, text)
        .map_err(|error| Failure::errored(format!("cannot write {}: {error}", path.display())))?;
    let undecided: Vec<&str> = report
        .checks
        .iter()
        .filter(|check| {
            !baseline.checks.contains_key(&check.id) && check.outcome != greenlight_report::Outcome::Skipped
        })
        .map(|check| check.id.as_str())
        .collect();
    println!(
        "wrote {} of {} to {}; commit it and set `baseline = \"{}\"` in [tool.greenlight]",
        greenlight_report::text::plural(findings, "finding"),
        greenlight_report::text::plural(baseline.checks.len(), "check"),
        path.display(),
        file.display()
    );
    if !undecided.is_empty() {
        println!("not in the baseline (no verdict): {}; their findings will all count as new", undecided.join(", "));
    }
    Ok(ExitCode::Success)
}

/// `greenlight completions SHELL`: the completion script on stdout.
fn completions(shell: clap_complete::Shell) -> ExitCode {
    use clap::CommandFactory as _;
    clap_complete::generate(shell, &mut Cli::command(), "greenlight", &mut std::io::stdout());
    ExitCode::Success
}

fn cache_clean(args: &CacheCleanArgs, env: &Env) -> Result<ExitCode, Failure> {
    let root = project_root(&args.project)?;
    let state_dir = greenlight_orchestrator::state_root(args.state_dir.as_deref(), env)
        .unwrap_or_else(|| root.join(greenlight_orchestrator::STATE_DIR));
    let cache = greenlight_orchestrator::cache::ResultCache::new(&state_dir);
    let freed = cache.clean().map_err(|error| Failure::errored(format!("cannot remove the cache: {error}")))?;
    println!("removed the result cache of {} ({} KiB)", root.display(), freed.div_ceil(1024));
    Ok(ExitCode::Success)
}
