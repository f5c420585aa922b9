//! Running a plan: the graph of setup steps and checks, scheduled in parallel under limits,
//! with timeouts, fail-fast and cancellation, producing one [`RunReport`].
//!
//! Three parts, as a test runner's: the [`graph`] (pure: nodes, needs, readiness, the skips a
//! failed need causes), the [`dispatcher`] (the run's state: slots, longest first, why the run
//! stops, and every node's final outcome) and the [`executor`] (one node: tools, the result
//! cache, the checker, its timeout). They talk through the typed [`events`].

mod dispatcher;
mod events;
mod executor;
mod graph;
mod logs;
mod nodes;

use std::path::Path;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use greenlight_env::EnvVars;
use greenlight_process::Stop;
use greenlight_report::{
    GREENLIGHT_VERSION, NodeKind, Outcome, ProjectInfo, RunReport, SCHEMA_VERSION, Secrets, ToolInfo,
};

pub use events::{NoObserver, Observer, RunEvent};

use crate::cache::{self, ResultCache};
use crate::history::History;
use crate::plan::Plan;
use crate::settings::RunSettings;
use crate::tools::ToolResolver;
use dispatcher::{Dispatcher, Limits};
use executor::Shared;

/// Runs `plan` with `settings` and returns its report. `stop` is the user's stop signal
/// (Ctrl-C): when it fires, running checks are stopped, pending ones cancelled, and the report
/// is marked interrupted.
pub async fn run(plan: Plan, settings: RunSettings, observer: Arc<dyn Observer>, stop: Stop) -> RunReport {
    let started = Instant::now();
    let started_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let project = plan.project.clone();
    let run_id = run_id();
    let state_dir = settings.state_dir(&project.root);
    // Log paths relative to the project (`.greenlight/logs/...`); absolute when `--state-dir`
    // keeps them elsewhere.
    let log_base = match &settings.state_root {
        Some(_) => project.root.clone(),
        None => state_dir.parent().map_or_else(|| project.root.clone(), Path::to_path_buf),
    };
    // The CLI prepares it first and stops with its error; here a failure shows in each check.
    let _ = prepare_state_dir(&state_dir);
    // Kills what an earlier run that was killed left running; records this run's processes.
    let _processes = greenlight_process::ProcessRecord::open(&state_dir).ok();
    let log_dir = state_dir.join("logs").join(&run_id);
    let _ = std::fs::create_dir_all(&log_dir);
    logs::prune(&state_dir.join("logs"), &run_id, logs::KEEP_RUNS, logs::MAX_BYTES);
    let scratch = tempfile::Builder::new().prefix("greenlight-").tempdir().ok();
    let scratch_path = scratch.as_ref().map_or_else(std::env::temp_dir, |dir| dir.path().to_path_buf());

    let resolver = ToolResolver::new(
        project.root.clone(),
        settings.tool_pins.clone(),
        settings.cache_dir.clone(),
        settings.env.get(EnvVars::PATH).map(str::to_string),
    )
    .provisioning(plan.config.settings.provisions())
    .with_pass_env(settings.pass_env.clone())
    .as_of(settings.as_of.as_ref().map(|as_of| as_of.moment));
    let as_of = settings.as_of.as_ref().map(crate::as_of::ResolvedAsOf::info);
    let history = History::load(&state_dir);
    let (nodes, skipped) = nodes::build(&plan, &settings, &resolver, &history);
    let limits = Limits { jobs: settings.jobs, fail_fast: settings.fail_fast, deadline: settings.timeout };
    let cache = settings.cache.then(|| ResultCache::new(&state_dir));
    let config_hash = cache::text_hash(&plan.config.cache_text());
    let rev = settings.rev.clone();
    let secrets = secret_values(&plan, &settings);
    let mut shared = Shared::new(
        project.clone(),
        settings,
        plan.config.settings.environment.clone(),
        resolver,
        (log_dir, log_base, scratch_path),
        run_id.clone(),
        cache,
        config_hash,
        secrets.clone(),
    );
    shared.partition = plan.partition;
    let shared = Arc::new(shared);

    let dispatcher = Dispatcher::new(nodes, skipped, limits, observer, history);
    let (mut finished, history) = dispatcher.run(shared.clone(), &stop).await;
    shared.release_environment();
    for report in &mut finished {
        if let Some(check) = plan.checks.iter().find(|check| check.id() == report.id) {
            report.tool = Some(check.info.tool_facts(check.id()));
        }
    }

    shared.resolver.save();
    history.save();
    let tools = shared
        .resolver
        .resolved()
        .into_values()
        .map(|tool| {
            let info = ToolInfo {
                as_of: shared.resolver.resolved_as_of(&tool.name).map(|moment| moment.to_string()),
                version: tool.version,
                path: tool.path.display().to_string(),
                source: tool.source.as_str().to_string(),
            };
            (tool.name, info)
        })
        .collect();
    finished
        .sort_by(|a, b| (a.kind != NodeKind::Setup, a.id.as_str()).cmp(&(b.kind != NodeKind::Setup, b.id.as_str())));
    let git = project.git.as_ref();
    let mut report = RunReport {
        schema_version: SCHEMA_VERSION,
        greenlight_version: GREENLIGHT_VERSION.to_string(),
        run_id,
        outcome: Outcome::Skipped,
        interrupted: stop.is_cancelled(),
        project: ProjectInfo {
            root: project.root.display().to_string(),
            commit: git.and_then(|git| git.head.clone()),
            dirty: git.map(|git| git.dirty),
            rev,
            name: project.pyproject.as_ref().and_then(|p| p.name.clone()),
            path_in_repo: git.map(|git| path_in_repo(&git.toplevel, &project.root)),
        },
        started_at,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        tools,
        checks: finished,
        as_of,
        baseline: None,
    };
    report.recompute_outcome();
    // Every secret is known now: none reaches the report, the logs or the cache.
    secrets.mask_value(&mut report);
    mask_logs(&shared.log_dir, &secrets);
    shared.store_results(&report.checks);
    drop(scratch);
    report
}

/// The run's secrets known before it starts: the values of the variables named in
/// `secret-env` and in every `pass-env` (the run's, each check's, the environment's).
fn secret_values(plan: &Plan, settings: &RunSettings) -> Secrets {
    let secrets = Secrets::new();
    let names = settings
        .secret_env
        .iter()
        .chain(&settings.pass_env)
        .chain(plan.checks.iter().flat_map(|check| &check.common.pass_env))
        .chain(&plan.config.settings.environment.pass_env);
    for name in names {
        if let Some(value) = settings.env.get(name) {
            secrets.add(value);
        }
    }
    secrets
}

/// Masks `secrets` in every log of the run, in place.
fn mask_logs(log_dir: &Path, secrets: &Secrets) {
    if secrets.is_empty() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(log_dir) else {
        return;
    };
    for path in entries.flatten().map(|entry| entry.path()).filter(|path| path.is_file()) {
        if let Ok(bytes) = std::fs::read(&path)
            && let Some(masked) = secrets.mask_bytes(&bytes)
            && let Err(error) = crate::fsutil::write_atomic(&path, &masked)
        {
            tracing::warn!("cannot mask the secrets in {}: {error}", path.display());
        }
    }
}

/// The project root relative to the git work tree's top level (`""` when they are the same).
fn path_in_repo(toplevel: &Path, root: &Path) -> String {
    let toplevel = std::fs::canonicalize(toplevel).unwrap_or_else(|_| toplevel.to_path_buf());
    match root.strip_prefix(&toplevel) {
        Ok(relative) => greenlight_checker::relative_to(Path::new(""), relative),
        Err(_) => String::new(),
    }
}

/// A sortable, unique run id: `20261126-122605-<pid><nanos>`.
fn run_id() -> String {
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let stamp = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let compact: String = stamp.chars().filter(|c| c.is_ascii_digit()).collect();
    format!("{}-{}-{:x}{:05x}", &compact[..8], &compact[8..14], std::process::id(), now.subsec_micros())
}

/// Creates greenlight's state directory (logs, the project environment, caches) with a
/// `.gitignore` of `*` that keeps it out of git (and out of tools that honour it); an error
/// says what is in the way and what to do.
pub fn prepare_state_dir(dir: &Path) -> Result<(), String> {
    let fail = |error: std::io::Error| {
        format!(
            "cannot create greenlight's state directory {} ({error}); greenlight keeps its logs, the project environment and caches there: remove or rename what is in the way, or make the project directory writable",
            dir.display()
        )
    };
    std::fs::create_dir_all(dir).map_err(fail)?;
    let ignore = dir.join(".gitignore");
    if !ignore.exists() {
        std::fs::write(ignore, "# Created by greenlight: logs, the project environment and caches.\n*\n")
            .map_err(fail)?;
    }
    Ok(())
}
