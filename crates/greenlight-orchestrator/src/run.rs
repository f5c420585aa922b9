//! Running a plan: the graph of setup steps and checks, scheduled in parallel under limits,
//! with timeouts, fail-fast and cancellation, producing one [`RunReport`].

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use greenlight_checker::{CheckContext, CheckResult, Checker, ENVIRONMENT, PythonEnv, ToolSpec};
use greenlight_process::Stop;
use greenlight_report::{
    CheckReport, GREENLIGHT_VERSION, LogRef, NodeKind, Outcome, ProjectInfo, RunReport, SCHEMA_VERSION, ToolInfo,
    sort_findings,
};
use tokio::task::JoinSet;

use crate::cache::{self, KeyParts, ProjectFiles, ResultCache};
use crate::config::ToolPin;
use crate::environment::{self, EnvRequest};
use crate::history::History;
use crate::plan::Plan;
use crate::tools::ToolResolver;

/// How long a check may take to return after it was told to stop, before it is abandoned
/// (its processes are killed when its future is dropped).
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Options of one run (from the command line).
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Most CPU-bound checks at once (default: configuration, else the CPU count).
    pub jobs: Option<usize>,
    /// Stop everything at the first check that does not pass.
    pub fail_fast: bool,
    /// Timeout of the whole run.
    pub timeout: Option<Duration>,
    /// Let checks edit the user's files (`--fix`).
    pub fix: bool,
    /// Rebuild the project environment even when its key holds.
    pub rebuild_env: bool,
    /// Tool pins that override the configuration (`--tools-from`).
    pub tool_pins: BTreeMap<String, ToolPin>,
    /// The user's environment variables (captured once).
    pub vars: BTreeMap<String, String>,
    /// The revision the user asked for (`--rev`), for the report.
    pub rev: Option<String>,
    /// Replay results of checks whose inputs did not change (off: `--no-cache`).
    pub cache: bool,
    /// Files this run writes (reports): never inputs of the cache key.
    pub outputs: Vec<PathBuf>,
    /// Where logs, durations and environments go. Default: `<root>/.greenlight`. A run on a
    /// temporary worktree (`--rev`, `bisect`, `hotfix`) points it at the user's project so
    /// logs outlive the worktree; log paths in the report are relative to its parent.
    pub state_dir: Option<PathBuf>,
    /// Keep project environments side by side in this directory, one per dependency key
    /// (`<dir>/<key>`), instead of the single `<root>/.greenlight/venv`, so runs on several
    /// commits reuse them (see [`crate::environment`]). Default: `None`.
    pub env_store: Option<PathBuf>,
}

/// Receives progress events; the terminal reporter implements it.
pub trait Observer: Send + Sync {
    /// A node started.
    fn started(&self, _id: &str, _title: &str) {}
    /// A node finished (or was skipped without starting).
    fn finished(&self, _report: &CheckReport) {}
}

/// An observer that ignores everything.
#[derive(Debug, Default)]
pub struct NoObserver;
impl Observer for NoObserver {}

/// Why the run stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StopCause {
    FailFast,
    Deadline,
    User,
}

struct Node {
    id: String,
    title: String,
    kind: NodeKind,
    needs: Vec<String>,
    timeout: Duration,
    cpu_bound: bool,
    expected: Duration,
    task: NodeTask,
}

enum NodeTask {
    Environment {
        request: EnvRequest,
    },
    Check {
        checker: Arc<dyn Checker>,
        tools: Vec<ToolSpec>,
        uses_environment: bool,
        pass_env: Vec<String>,
        /// `None` when the check's results are never cached; else the time to live of a result
        /// that came from a remote service ([`Checker::online`]; `None` inside: such results
        /// are not cached). Other results live until an input changes.
        cache: Option<Option<Duration>>,
        env_vars: Vec<String>,
    },
}

/// What running a node produced: a fresh result (with its cache key, when cacheable), or a
/// replayed one.
enum Execution {
    Fresh(CheckResult, Option<KeyParts>),
    Cached(CheckReport),
}

/// Shared state of a running run.
struct Shared {
    plan_project: Arc<greenlight_checker::Project>,
    settings: crate::config::Settings,
    resolver: ToolResolver,
    environment: Mutex<Option<PythonEnv>>,
    log_dir: PathBuf,
    log_base: PathBuf,
    scratch: PathBuf,
    run_id: String,
    options: RunOptions,
    global_pass_env: Vec<String>,
    cache: Option<ResultCache>,
    files: tokio::sync::OnceCell<ProjectFiles>,
    config_hash: String,
    environment_key: Mutex<Option<String>>,
}

/// Runs `plan` and returns its report. `stop` is the user's stop signal (Ctrl-C): when it
/// fires, running checks are stopped, pending ones cancelled, and the report is marked
/// interrupted.
pub async fn run(plan: Plan, options: RunOptions, observer: Arc<dyn Observer>, stop: Stop) -> RunReport {
    let started = Instant::now();
    let started_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let project = plan.project.clone();
    let run_id = run_id();
    let state_dir = options.state_dir.clone().unwrap_or_else(|| project.root.join(".greenlight"));
    let log_base = state_dir.parent().map_or_else(|| project.root.clone(), Path::to_path_buf);
    // The CLI prepares it first and stops with its error; here a failure shows in each check.
    let _ = prepare_state_dir(&state_dir);
    // Kills what an earlier run that was killed left running; records this run's processes.
    let _processes = greenlight_process::ProcessRecord::open(&state_dir).ok();
    let log_dir = state_dir.join("logs").join(&run_id);
    let _ = std::fs::create_dir_all(&log_dir);
    prune_logs(&state_dir.join("logs"), 20);
    let scratch = tempfile::Builder::new().prefix("greenlight-").tempdir().ok();
    let scratch_path = scratch.as_ref().map_or_else(std::env::temp_dir, |dir| dir.path().to_path_buf());

    let mut pins = plan.config.settings.tools.clone();
    pins.extend(options.tool_pins.clone());
    let cache_dir = crate::tools::cache_dir(&options.vars);
    let resolver = ToolResolver::new(project.root.clone(), pins, cache_dir, options.vars.get("PATH").cloned())
        .provisioning(plan.config.settings.provisions());
    let mut history = History::load(&state_dir);

    let (nodes, mut finished) = build_nodes(&plan, &options, &resolver, &history);
    for report in &finished {
        observer.finished(report);
    }
    let jobs = options
        .jobs
        .or(plan.config.settings.jobs)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .max(1);
    let fail_fast = options.fail_fast || plan.config.settings.fail_fast.unwrap_or(false);
    let deadline = options.timeout.or(plan.config.settings.timeout.map(|t| t.0));
    let global_pass_env = plan.config.settings.pass_env.clone();
    let shared = Arc::new(Shared {
        plan_project: project.clone(),
        settings: plan.config.settings.clone(),
        resolver,
        environment: Mutex::new(None),
        log_dir: log_dir.clone(),
        log_base,
        scratch: scratch_path,
        run_id: run_id.clone(),
        options: options.clone(),
        global_pass_env,
        cache: (options.cache && !options.fix && plan.config.settings.cache.enabled != Some(false))
            .then(|| ResultCache::new(&state_dir)),
        files: tokio::sync::OnceCell::new(),
        config_hash: cache::text_hash(&format!("{}\n{:?}", plan.config.source.text, plan.config.source.prefix)),
        environment_key: Mutex::new(None),
    });

    let run_stop = stop.child();
    let mut outcomes: HashMap<String, Outcome> = finished.iter().map(|r| (r.id.clone(), r.outcome)).collect();
    let mut pending: Vec<Node> = nodes;
    let mut running: JoinSet<CheckReport> = JoinSet::new();
    let mut running_meta: HashMap<tokio::task::Id, (String, String, bool, Instant)> = HashMap::new();
    let mut cpu_running = 0usize;
    let mut cause: Option<StopCause> = None;
    let deadline_sleep = async {
        match deadline {
            Some(deadline) => tokio::time::sleep(deadline).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(deadline_sleep);

    loop {
        // Nodes whose needs did not succeed are skipped; nodes whose needs succeeded start
        // while slots allow, longest expected first.
        if cause.is_none() {
            let mut index = 0;
            while index < pending.len() {
                let node = &pending[index];
                let failed_need = node.needs.iter().find_map(|need| match outcomes.get(need) {
                    Some(outcome) if !outcome.is_success() => Some((need.clone(), *outcome)),
                    _ => None,
                });
                if let Some((need, outcome)) = failed_need {
                    let node = pending.remove(index);
                    let mut report = CheckReport::new(&node.id, &node.title, Outcome::Skipped);
                    report.kind = node.kind;
                    let why = finished.iter().find(|r| r.id == need).map(|r| r.summary.clone()).unwrap_or_default();
                    report.reason = Some(format!(
                        "needs `{need}`, which {outcome}{}",
                        if why.is_empty() { String::new() } else { format!(": {why}") }
                    ));
                    report.summary = format!("skipped: `{need}` {outcome}");
                    observer.finished(&report);
                    outcomes.insert(report.id.clone(), report.outcome);
                    finished.push(report);
                    continue;
                }
                index += 1;
            }
            pending.sort_by(|a, b| b.expected.cmp(&a.expected).then_with(|| a.id.cmp(&b.id)));
            let mut index = 0;
            while index < pending.len() {
                let ready = pending[index].needs.iter().all(|need| outcomes.get(need).is_some_and(|o| o.is_success()));
                let slot_free = running.len() < jobs.max(2) * 2 && (!pending[index].cpu_bound || cpu_running < jobs);
                if ready && slot_free {
                    let node = pending.remove(index);
                    observer.started(&node.id, &node.title);
                    let meta = (node.id.clone(), node.title.clone(), node.cpu_bound, Instant::now());
                    if node.cpu_bound {
                        cpu_running += 1;
                    }
                    let handle = running.spawn(run_node(node, shared.clone(), run_stop.child()));
                    running_meta.insert(handle.id(), meta);
                } else {
                    index += 1;
                }
            }
        }
        if running.is_empty() {
            break;
        }
        tokio::select! {
            joined = running.join_next_with_id() => {
                let Some(joined) = joined else { continue };
                let (task_id, report) = match joined {
                    Ok((task_id, report)) => (task_id, report),
                    Err(error) => {
                        let task_id = error.id();
                        let (id, title, _, started) = running_meta.get(&task_id).cloned().expect("every running task has metadata");
                        let mut report = CheckReport::new(id, title, Outcome::Errored);
                        report.duration_ms = started.elapsed().as_millis() as u64;
                        let message = if error.is_panic() { panic_message(error.into_panic()) } else { "aborted".to_string() };
                        report.summary = "the checker panicked".to_string();
                        report.reason = Some(format!("the checker panicked: {message} (a bug in greenlight; please report it with the log)"));
                        (task_id, report)
                    }
                };
                if let Some((_, _, cpu_bound, _)) = running_meta.remove(&task_id)
                    && cpu_bound
                {
                    cpu_running -= 1;
                }
                let mut report = report;
                if let Some(cause) = cause {
                    mark_stopped(&mut report, cause, deadline);
                }
                if report.kind == NodeKind::Check && !report.cached {
                    history.record(&report.id, report.duration_ms);
                }
                if fail_fast && cause.is_none() && matches!(report.outcome, Outcome::Failed | Outcome::Errored | Outcome::TimedOut) {
                    cause = Some(StopCause::FailFast);
                    run_stop.cancel();
                }
                observer.finished(&report);
                outcomes.insert(report.id.clone(), report.outcome);
                finished.push(report);
            }
            () = stop.cancelled(), if cause.is_none() => {
                cause = Some(StopCause::User);
            }
            () = &mut deadline_sleep, if cause.is_none() => {
                cause = Some(StopCause::Deadline);
                run_stop.cancel();
            }
        }
    }

    // Whatever did not start is cancelled.
    for node in pending {
        let mut report = CheckReport::new(&node.id, &node.title, Outcome::Cancelled);
        report.kind = node.kind;
        report.summary = "not started".to_string();
        report.reason = Some(match cause {
            Some(StopCause::FailFast) => {
                "not started: --fail-fast stopped the run after a check did not pass".to_string()
            }
            Some(StopCause::Deadline) => format!(
                "not started: the run's timeout of {} elapsed",
                humantime::format_duration(deadline.unwrap_or_default())
            ),
            _ => "not started: the run was interrupted".to_string(),
        });
        observer.finished(&report);
        finished.push(report);
    }

    shared.resolver.save();
    history.save();
    let tools = shared
        .resolver
        .resolved()
        .into_values()
        .map(|tool| {
            (
                tool.name.clone(),
                ToolInfo {
                    version: tool.version,
                    path: tool.path.display().to_string(),
                    source: tool.source.as_str().to_string(),
                },
            )
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
            rev: options.rev.clone(),
            name: project.pyproject.as_ref().and_then(|p| p.name.clone()),
            path_in_repo: git.map(|git| path_in_repo(&git.toplevel, &project.root)),
        },
        started_at,
        duration_ms: started.elapsed().as_millis() as u64,
        tools,
        checks: finished,
    };
    report.recompute_outcome();
    drop(scratch);
    report
}

/// The project root relative to the git work tree's top level (`""` when they are the same).
fn path_in_repo(toplevel: &Path, root: &Path) -> String {
    let toplevel = std::fs::canonicalize(toplevel).unwrap_or_else(|_| toplevel.to_path_buf());
    match root.strip_prefix(&toplevel) {
        Ok(relative) => greenlight_checker::relative_to(Path::new(""), relative),
        Err(_) => String::new(),
    }
}

fn mark_stopped(report: &mut CheckReport, cause: StopCause, deadline: Option<Duration>) {
    if !matches!(report.outcome, Outcome::Cancelled | Outcome::Errored | Outcome::TimedOut) {
        return; // It finished with a verdict of its own.
    }
    match cause {
        StopCause::Deadline => {
            report.outcome = Outcome::TimedOut;
            report.summary = "timed out".to_string();
            report.reason = Some(format!(
                "stopped when the run's timeout of {} elapsed; raise --timeout or [tool.greenlight] timeout",
                humantime::format_duration(deadline.unwrap_or_default())
            ));
        }
        StopCause::FailFast | StopCause::User if report.outcome != Outcome::TimedOut => {
            report.outcome = Outcome::Cancelled;
            report.summary = "cancelled".to_string();
            report.reason = Some(if cause == StopCause::User {
                "stopped: the run was interrupted".to_string()
            } else {
                "stopped: --fail-fast stopped the run after another check did not pass".to_string()
            });
        }
        _ => {}
    }
}

fn build_nodes(
    plan: &Plan,
    options: &RunOptions,
    resolver: &ToolResolver,
    history: &History,
) -> (Vec<Node>, Vec<CheckReport>) {
    let env_settings = &plan.config.settings.environment;
    let env_enabled = env_settings.enabled != Some(false);
    let extras = environment::default_extras(&plan.project, env_settings);
    let declared = environment::declared_packages(&plan.project, &extras);
    let mut nodes = Vec::new();
    let mut skipped = Vec::new();
    let mut env_packages: Vec<String> = Vec::new();
    let mut env_needed = false;
    for check in &plan.checks {
        if let Some(reason) = &check.skip_reason {
            let mut report = CheckReport::new(check.id(), check.info.title, Outcome::Skipped);
            report.summary = reason.clone();
            report.reason = Some(reason.clone());
            skipped.push(report);
            continue;
        }
        let mut needs = check.needs();
        // A tool the project declares in its own dependencies runs from the project
        // environment, at the version the project chose.
        let in_env_tool = check.info.tools.iter().any(|tool| tool.in_environment);
        let declared_tool = check.info.tools.iter().any(|tool| {
            tool.pypi.is_some_and(|pypi| declared.contains(pypi))
                && resolver.pin(tool.name).and_then(|pin| pin.path.as_ref()).is_none()
        });
        let uses_environment =
            env_enabled && (needs.iter().any(|need| need == ENVIRONMENT) || in_env_tool || declared_tool);
        if uses_environment {
            env_needed = true;
            if !needs.iter().any(|need| need == ENVIRONMENT) {
                needs.push(ENVIRONMENT.to_string());
            }
            for tool in check.info.tools.iter().filter(|tool| tool.in_environment) {
                if let Some(pypi) = tool.pypi {
                    // Pinned, else what the project declares, else greenlight's default.
                    let provision = plan.config.settings.provisions();
                    let version = resolver.pin(tool.name).and_then(|pin| pin.version.clone()).or_else(|| {
                        tool.default_version.filter(|_| provision && !declared.contains(pypi)).map(str::to_string)
                    });
                    let requirement = match version {
                        Some(version) => format!("{pypi}=={version}"),
                        None => pypi.to_string(),
                    };
                    if !env_packages.contains(&requirement) {
                        env_packages.push(requirement);
                    }
                }
            }
        } else {
            needs.retain(|need| need != ENVIRONMENT);
        }
        let mut pass_env = check.common.pass_env.clone();
        pass_env.extend(plan.config.settings.pass_env.iter().cloned());
        let network_ttl = plan.config.settings.cache.network_ttl.map(|ttl| ttl.0);
        let cacheable = check.info.cacheable && check.common.cache != Some(false);
        let cache = cacheable.then_some(network_ttl);
        nodes.push(Node {
            id: check.id().to_string(),
            title: check.info.title.to_string(),
            kind: NodeKind::Check,
            needs,
            timeout: check.timeout(),
            cpu_bound: check.info.cpu_bound,
            expected: history.expected(check.id()).unwrap_or(check.info.expected),
            task: NodeTask::Check {
                checker: check.checker.clone(),
                tools: check.info.tools.clone(),
                uses_environment,
                pass_env,
                cache,
                env_vars: check
                    .info
                    .env_vars
                    .iter()
                    .map(|name| name.to_string())
                    .chain(plan.config.settings.cache.env.iter().cloned())
                    .collect(),
            },
        });
    }
    if env_needed {
        let requirements = env_settings.requirements.iter().map(PathBuf::from).collect();
        nodes.push(Node {
            id: ENVIRONMENT.to_string(),
            title: "project environment".to_string(),
            kind: NodeKind::Setup,
            needs: Vec::new(),
            timeout: env_settings.timeout.map_or(Duration::from_secs(1800), |t| t.0),
            cpu_bound: false,
            expected: history.expected(ENVIRONMENT).unwrap_or(Duration::from_secs(30)),
            task: NodeTask::Environment {
                request: EnvRequest {
                    extras,
                    packages: env_packages,
                    requirements,
                    rebuild: options.rebuild_env,
                    store: options.env_store.clone(),
                },
            },
        });
    }
    (nodes, skipped)
}

/// Runs one node with its timeout; never panics on its own account.
async fn run_node(node: Node, shared: Arc<Shared>, stop: Stop) -> CheckReport {
    let started = Instant::now();
    let log_path = shared.log_dir.join(format!("{}.log", node.id));
    let mut report = CheckReport::new(&node.id, &node.title, Outcome::Errored);
    report.kind = node.kind;
    let work = execute(&node, &shared, &log_path, &stop);
    tokio::pin!(work);
    let execution = tokio::select! {
        execution = &mut work => execution,
        () = tokio::time::sleep(node.timeout) => {
            stop.cancel();
            let _ = tokio::time::timeout(STOP_GRACE, &mut work).await;
            let mut result = CheckResult::new(Outcome::TimedOut, format!("timed out after {}", humantime::format_duration(node.timeout)));
            result.reason = Some(format!(
                "`{}` ran longer than its timeout of {} and was stopped with everything it started; raise it with [tool.greenlight.{}] timeout = \"...\"",
                node.id, humantime::format_duration(node.timeout), node.id
            ));
            Execution::Fresh(result, None)
        }
    };
    let (result, parts) = match execution {
        Execution::Cached(mut cached) => {
            cached.log = log_ref(&log_path, &shared.log_base);
            return cached;
        }
        Execution::Fresh(result, parts) => (result, parts),
    };
    report.outcome = result.outcome;
    report.summary = result.summary;
    report.reason = result.reason;
    report.command = result.command;
    report.exit_code = result.exit_code;
    report.findings = result.findings;
    sort_findings(&mut report.findings);
    report.tests = result.tests;
    report.artifacts = result.artifacts;
    report.duration_ms = started.elapsed().as_millis() as u64;
    report.log = log_ref(&log_path, &shared.log_base);
    if let (Some(cache), Some(parts)) = (&shared.cache, parts)
        && matches!(report.outcome, Outcome::Passed | Outcome::Failed)
        && !stop.is_cancelled()
        && let Some(files) = shared.files.get()
    {
        cache.store(&parts, files, &report, &log_path);
    }
    report
}

async fn execute(node: &Node, shared: &Shared, log_path: &Path, stop: &Stop) -> Execution {
    match &node.task {
        NodeTask::Environment { request } => {
            let prepared = environment::prepare(
                &shared.plan_project,
                &shared.settings.environment,
                request,
                &shared.resolver,
                log_path,
                stop,
            )
            .await;
            match prepared {
                Ok(prepared) => {
                    let summary = if prepared.repointed {
                        format!("reused {} (key {}) for this checkout", prepared.display_dir, prepared.key)
                    } else if prepared.reused {
                        format!("reused {} (key {})", prepared.display_dir, prepared.key)
                    } else {
                        let extras = if request.extras.is_empty() {
                            "no extras".to_string()
                        } else {
                            format!("extras: {}", request.extras.join(", "))
                        };
                        format!("created {} with {} ({extras})", prepared.display_dir, prepared.installer)
                    };
                    *shared.environment.lock().unwrap_or_else(|p| p.into_inner()) = Some(prepared.env);
                    *shared.environment_key.lock().unwrap_or_else(|p| p.into_inner()) = Some(prepared.key);
                    let mut result = CheckResult::passed(summary);
                    result.command = prepared.command;
                    Execution::Fresh(result, None)
                }
                Err(_) if stop.is_cancelled() => {
                    Execution::Fresh(CheckResult::new(Outcome::Cancelled, "cancelled"), None)
                }
                Err(reason) => Execution::Fresh(
                    CheckResult::errored(format!("the project environment could not be created: {reason}")),
                    None,
                ),
            }
        }
        NodeTask::Check { checker, tools, uses_environment, pass_env, cache, env_vars } => {
            let environment = if *uses_environment {
                shared.environment.lock().unwrap_or_else(|p| p.into_inner()).clone()
            } else {
                None
            };
            let mut resolved = BTreeMap::new();
            for spec in tools {
                match shared.resolver.resolve(spec, environment.as_ref(), stop).await {
                    Ok(tool) => {
                        resolved.insert(spec.name.to_string(), tool);
                    }
                    Err(_) if stop.is_cancelled() => {
                        return Execution::Fresh(CheckResult::new(Outcome::Cancelled, "cancelled"), None);
                    }
                    Err(reason) => return Execution::Fresh(CheckResult::errored(reason.to_string()), None),
                }
            }
            if stop.is_cancelled() {
                return Execution::Fresh(CheckResult::new(Outcome::Cancelled, "cancelled"), None);
            }
            let scratch = shared.scratch.join(&node.id);
            let _ = std::fs::create_dir_all(&scratch);
            let cx = CheckContext {
                project: shared.plan_project.clone(),
                tools: resolved,
                environment,
                scratch,
                log_path: log_path.to_path_buf(),
                stop: stop.clone(),
                fix: shared.options.fix,
                pass_env: pass_env.iter().chain(&shared.global_pass_env).cloned().collect(),
                run_id: shared.run_id.clone(),
                vars: shared.options.vars.clone(),
                at_revision: shared.options.rev.is_some(),
            };
            // A result from a remote service lives for `network-ttl`, or is not kept.
            let ttl = match cache {
                Some(network_ttl) if checker.online(&cx) => network_ttl.map(Some),
                Some(_) => Some(None),
                None => None,
            };
            let parts = if let (Some(result_cache), Some(ttl)) = (&shared.cache, ttl) {
                let Some(state) = checker.cache_state(&cx).await else {
                    if stop.is_cancelled() {
                        return Execution::Fresh(CheckResult::new(Outcome::Cancelled, "cancelled"), None);
                    }
                    tracing::info!(
                        check = %node.id,
                        "cache: not used: what the check reads besides the project's files could not be read"
                    );
                    return run_checker(checker.as_ref(), &cx, stop, None).await;
                };
                let files = shared
                    .files
                    .get_or_init(|| cache::project_files(&shared.plan_project, &shared.options.outputs, stop))
                    .await;
                let key_parts = shared.key_parts(&node.id, &cx, files, *uses_environment, env_vars, &state);
                if let Some(report) = result_cache.lookup(&key_parts, ttl, log_path) {
                    tracing::debug!(check = %node.id, "cache: hit, replaying the stored result");
                    return Execution::Cached(report);
                }
                tracing::info!(check = %node.id, "cache miss: {}", result_cache.explain_miss(&key_parts, files));
                Some(key_parts)
            } else {
                None
            };
            run_checker(checker.as_ref(), &cx, stop, parts).await
        }
    }
}

/// Runs `checker`; an `errored` result of a stopped check is `cancelled`.
async fn run_checker(checker: &dyn Checker, cx: &CheckContext, stop: &Stop, parts: Option<KeyParts>) -> Execution {
    let mut result = checker.run(cx).await;
    if stop.is_cancelled() && matches!(result.outcome, Outcome::Errored) {
        result = CheckResult::new(Outcome::Cancelled, "cancelled");
    }
    Execution::Fresh(result, parts)
}

impl Shared {
    /// The result cache's key of check `id` about to run in `cx`.
    fn key_parts(
        &self,
        id: &str,
        cx: &CheckContext,
        files: &ProjectFiles,
        uses_environment: bool,
        env_vars: &[String],
        state: &str,
    ) -> KeyParts {
        KeyParts {
            greenlight: GREENLIGHT_VERSION.to_string(),
            check: id.to_string(),
            files: files.digest.clone(),
            config: self.config_hash.clone(),
            tools: cx
                .tools
                .values()
                .map(|tool| format!("{} {} {}", tool.name, tool.path.display(), tool.version))
                .collect(),
            environment: if uses_environment {
                self.environment_key.lock().unwrap_or_else(|p| p.into_inner()).clone()
            } else {
                None
            },
            vars: env_vars
                .iter()
                .map(|name| {
                    let value = self.options.vars.get(name).map(|value| cache::text_hash(value)).unwrap_or_default();
                    (name.to_string(), value)
                })
                .collect(),
            state: cache::text_hash(state),
        }
    }
}

fn log_ref(path: &Path, root: &Path) -> Option<LogRef> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let mut file = std::fs::File::open(path).ok()?;
    let length = file.metadata().ok()?.len();
    let start = length.saturating_sub(16 * 1024);
    file.seek(SeekFrom::Start(start)).ok()?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ok()?;
    let text = strip_ansi(&String::from_utf8_lossy(&bytes));
    let lines: Vec<&str> = text.trim_end().lines().collect();
    let tail = lines[lines.len().saturating_sub(30)..].join("\n");
    Some(LogRef { path: greenlight_checker::relative_to(root, path), tail })
}

/// `text` without ANSI escape sequences (tools colour their logs even when not on a terminal).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                // CSI: parameters and intermediates up to a final byte in @..~.
                for next in chars.by_ref() {
                    if ('@'..='~').contains(&next) {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// A sortable, unique run id: `20261126-122605-<pid><nanos>`.
fn run_id() -> String {
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let stamp = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let compact: String = stamp.chars().filter(|c| c.is_ascii_digit()).collect();
    format!("{}-{}-{:x}{:05x}", &compact[..8], &compact[8..14], std::process::id(), now.subsec_micros())
}

/// `.greenlight/` holds a `.gitignore` of `*`, so git (and tools that honour it) ignores it.
/// Creates greenlight's state directory (logs, the project environment, caches) with a
/// `.gitignore` that keeps it out of git; an error says what is in the way and what to do.
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

fn prune_logs(dir: &Path, keep: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut runs: Vec<PathBuf> = entries.flatten().map(|entry| entry.path()).filter(|path| path.is_dir()).collect();
    runs.sort();
    if runs.len() > keep {
        for old in &runs[..runs.len() - keep] {
            let _ = std::fs::remove_dir_all(old);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ansi_is_stripped() {
        assert_eq!(
            super::strip_ansi("\u{1b}[90m1:02PM\u{1b}[0m \u{1b}[32mINF\u{1b}[0m scan done"),
            "1:02PM INF scan done"
        );
        assert_eq!(super::strip_ansi("plain"), "plain");
    }
}
