//! The executor: runs one node — the project environment, or a check with its tools, the
//! result cache and its timeout — and reports what happened, stopped or not. It never decides
//! what a stop means for the outcome; the dispatcher does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use greenlight_checker::{CheckContext, CheckResult, Checker, Project, PythonEnv, ToolSpec, text};
use greenlight_process::Stop;
use greenlight_report::fingerprint::{SourceText, fingerprint_findings};
use greenlight_report::{
    CheckReport, Finding, GREENLIGHT_VERSION, LogRef, NodeKind, Outcome, Secrets, SkipCause, sort_findings,
};

use crate::cache::{self, KeyParts, ProjectFiles, ResultCache};
use crate::config::EnvironmentSettings;
use crate::environment::{self, EnvRequest};
use crate::settings::RunSettings;
use crate::tools::ToolResolver;

/// How long a check may take to return after it was told to stop, before it is abandoned
/// (its processes are killed when its future is dropped).
pub(super) const STOP_GRACE: Duration = Duration::from_secs(10);

/// One node of the graph, as the executor runs it.
#[derive(Debug)]
pub(super) struct Node {
    pub id: String,
    pub title: String,
    pub kind: NodeKind,
    pub timeout: Duration,
    pub task: NodeTask,
}

/// What a node does.
pub(super) enum NodeTask {
    /// Make or reuse the project environment.
    Environment { request: EnvRequest },
    /// Run a check.
    Check {
        checker: Arc<dyn Checker>,
        tools: Vec<ToolSpec>,
        uses_environment: bool,
        /// The secret-looking variables its tools may see (the run's and its own).
        pass_env: Vec<String>,
        /// `None` when its results are never cached; else the time to live of a result that
        /// came from a remote service ([`Checker::online`]; `None` inside: not cached). Other
        /// results live until an input changes.
        cache: Option<Option<Duration>>,
        /// Variables whose values are part of its cache key.
        env_vars: Vec<String>,
        /// Whether its failure blocks (`severity`).
        severity: greenlight_report::CheckSeverity,
    },
}

impl std::fmt::Debug for NodeTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NodeTask::Environment { .. } => f.write_str("Environment"),
            NodeTask::Check { checker, .. } => write!(f, "Check({})", checker.id()),
        }
    }
}

/// What running one node produced.
#[derive(Debug)]
pub(super) struct Executed {
    /// The node's report as the work left it (a stopped check is often `errored`).
    pub report: CheckReport,
    /// Its own timeout fired, after which it was stopped.
    pub timed_out: Option<Duration>,
    /// Its stop fired while it ran (its timeout, or the run stopping).
    pub stopped: bool,
}

/// What every node of one run shares.
pub(super) struct Shared {
    pub project: Arc<Project>,
    pub settings: RunSettings,
    pub environment_settings: EnvironmentSettings,
    pub resolver: ToolResolver,
    pub log_dir: PathBuf,
    pub log_base: PathBuf,
    pub scratch: PathBuf,
    pub run_id: String,
    pub cache: Option<ResultCache>,
    pub config_hash: String,
    /// The run's secrets: the masked variables' values and what checks found.
    pub secrets: Secrets,
    /// Results to store in the cache once the run is over and every secret is known (a secret
    /// gitleaks finds last must not reach the stored result of a check that finished first).
    pending: Mutex<Vec<PendingStore>>,
    /// `--partition K/N`.
    pub partition: Option<greenlight_checker::Partition>,
    environment: Mutex<Option<(PythonEnv, String)>>,
    /// The run's hold on the project environment, from when it is ready until the run ends.
    environment_lease: Mutex<Option<Arc<environment::Lease>>>,
    /// The project's files for the cache key, listed once; `None` inside when they could not be.
    files: tokio::sync::OnceCell<Option<ProjectFiles>>,
}

impl Shared {
    /// The shared state of a run.
    #[expect(clippy::too_many_arguments, reason = "built once, in `run`, from named values")]
    pub fn new(
        project: Arc<Project>,
        settings: RunSettings,
        environment_settings: EnvironmentSettings,
        resolver: ToolResolver,
        (log_dir, log_base, scratch): (PathBuf, PathBuf, PathBuf),
        run_id: String,
        cache: Option<ResultCache>,
        config_hash: String,
        secrets: Secrets,
    ) -> Self {
        Self {
            project,
            settings,
            environment_settings,
            resolver,
            log_dir,
            log_base,
            scratch,
            run_id,
            cache,
            config_hash,
            secrets,
            pending: Mutex::new(Vec::new()),
            partition: None,
            environment: Mutex::new(None),
            environment_lease: Mutex::new(None),
            files: tokio::sync::OnceCell::new(),
        }
    }

    /// Lets go of the project environment: the run's checks are done with it.
    pub fn release_environment(&self) {
        self.environment_lease.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}

/// A result to store once the run is over.
pub(super) struct PendingStore {
    parts: KeyParts,
    log_path: PathBuf,
    /// The files the check read, its result's key and explanation.
    files: ProjectFiles,
}

impl Shared {
    /// Stores the results that may be kept, as `finished` (masked, settled) has them: only
    /// those still `passed` or `failed`. Called once, after the run.
    pub fn store_results(&self, finished: &[CheckReport]) {
        let pending = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        let Some(cache) = &self.cache else {
            return;
        };
        for PendingStore { parts, log_path, files } in pending {
            if let Some(report) = finished.iter().find(|report| report.id == parts.check)
                && matches!(report.outcome, Outcome::Passed | Outcome::Failed)
            {
                cache.store(&parts, &files, report, &log_path);
            }
        }
    }
}

/// A fresh result (with its cache key, when it may be stored), or a replayed one.
enum Execution {
    Fresh(CheckResult, Option<(KeyParts, ProjectFiles)>),
    Cached(CheckReport),
}

/// Runs `node` with its timeout. Never panics on its own account.
/// The log of node `id` in the run's log directory.
pub(super) fn log_path(log_dir: &Path, id: &str) -> PathBuf {
    log_dir.join(format!("{id}.log"))
}

pub(super) async fn execute(node: Node, shared: Arc<Shared>, stop: Stop) -> Executed {
    let started = Instant::now();
    let log_path = log_path(&shared.log_dir, &node.id);
    let work = work(&node, &shared, &log_path, &stop);
    tokio::pin!(work);
    let (execution, timed_out) = tokio::select! {
        execution = &mut work => (execution, None),
        () = tokio::time::sleep(node.timeout) => {
            stop.cancel();
            let execution = tokio::time::timeout(STOP_GRACE, &mut work).await.ok();
            let execution = execution.unwrap_or_else(|| Execution::Fresh(CheckResult::errored("abandoned after its timeout"), None));
            (execution, Some(node.timeout))
        }
    };
    let stopped = stop.is_cancelled();
    let (result, parts) = match execution {
        Execution::Cached(mut cached) => {
            cached.log = log_ref(&log_path, &shared.log_base);
            shared.secrets.mask_value(&mut cached);
            return Executed { report: cached, timed_out, stopped };
        }
        Execution::Fresh(result, parts) => (result, parts),
    };
    let mut report = CheckReport::new(&node.id, &node.title, result.outcome);
    report.kind = node.kind;
    if result.outcome == Outcome::Skipped {
        report.skip_cause = Some(SkipCause::NothingToCheck);
    }
    report.summary = result.summary;
    if let (Some(changed), NodeTask::Check { checker, .. }) = (&shared.settings.changed, &node.task)
        && !checker.info().changed_only
        && matches!(report.outcome, Outcome::Passed | Outcome::Failed)
    {
        report.summary = format!(
            "{} (runs whole: its verdict depends on more than the files changed since {})",
            report.summary, changed.since
        );
    }
    report.reason = result.reason;
    report.command = result.command;
    report.exit_code = result.exit_code;
    report.findings = fingerprinted(result.findings, &shared.project.root).await;
    report.tests = result.tests;
    if let (Some(partition), NodeTask::Check { checker, .. }) = (shared.partition, &node.task)
        && checker.info().splits
    {
        report.shard = Some(partition.to_string());
    }
    report.artifacts = result.artifacts;
    report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    report.log = log_ref(&log_path, &shared.log_base);
    if let NodeTask::Check { severity, .. } = &node.task {
        greenlight_report::severity::apply(&mut report, *severity);
    }
    // Masked with what is known now, for the live view; the run masks it again at the end.
    shared.secrets.mask_value(&mut report);
    if let Some((parts, files)) = parts
        && matches!(report.outcome, Outcome::Passed | Outcome::Failed)
        && !stopped
    {
        shared.pending.lock().unwrap_or_else(|p| p.into_inner()).push(PendingStore {
            parts,
            log_path: log_path.clone(),
            files,
        });
    }
    Executed { report, timed_out, stopped }
}

/// `findings` sorted, and fingerprinted from the content of their lines
/// ([`greenlight_report::fingerprint`]), reading the files under `root` on the blocking pool.
async fn fingerprinted(mut findings: Vec<Finding>, root: &Path) -> Vec<Finding> {
    sort_findings(&mut findings);
    if !findings.iter().any(|finding| finding.location.as_ref().is_some_and(|location| location.line.is_some())) {
        return findings;
    }
    let root = root.to_path_buf();
    let work = tokio::task::spawn_blocking(move || {
        let read = |path: &str| {
            let file = root.join(path);
            let small = std::fs::metadata(&file).is_ok_and(|meta| meta.is_file() && meta.len() <= MAX_SOURCE_BYTES);
            let text = small.then(|| std::fs::read(&file).ok()).flatten()?;
            Some(SourceText::new(&String::from_utf8_lossy(&text)))
        };
        let lines = fingerprint_findings(&mut findings, read);
        for (index, line) in lines {
            findings[index].line_fingerprint = Some(line);
        }
        findings
    });
    work.await.unwrap_or_default()
}

/// Files larger than this are not read for fingerprints (their findings keep rule, path and
/// message).
const MAX_SOURCE_BYTES: u64 = 16 << 20;

async fn work(node: &Node, shared: &Shared, log_path: &Path, stop: &Stop) -> Execution {
    match &node.task {
        NodeTask::Environment { request } => prepare_environment(request, shared, log_path, stop).await,
        NodeTask::Check { checker, tools, uses_environment, pass_env, cache, env_vars, .. } => {
            let environment = if *uses_environment {
                shared.environment.lock().unwrap_or_else(|p| p.into_inner()).clone()
            } else {
                None
            };
            let (environment, environment_key) = environment.unzip();
            let mut resolved = BTreeMap::new();
            for spec in tools {
                match shared.resolver.resolve(spec, environment.as_ref(), stop).await {
                    Ok(tool) => {
                        resolved.insert(spec.name.to_string(), tool);
                    }
                    Err(reason) => return Execution::Fresh(CheckResult::errored(reason.to_string()), None),
                }
            }
            if stop.is_cancelled() {
                return Execution::Fresh(CheckResult::errored("stopped before it started"), None);
            }
            let scratch = shared.scratch.join(&node.id);
            let _ = std::fs::create_dir_all(&scratch);
            let cx = CheckContext {
                project: shared.project.clone(),
                tools: resolved,
                environment,
                scratch,
                log_path: log_path.to_path_buf(),
                stop: stop.clone(),
                fix: shared.settings.fix,
                pass_env: pass_env.clone(),
                run_id: shared.run_id.clone(),
                vars: shared.settings.env.vars().clone(),
                at_revision: shared.settings.rev.is_some(),
                changed: shared.settings.changed.clone().filter(|_| checker.info().changed_only),
                secrets: Secrets::new(),
                state_dir: shared.settings.state_dir(&shared.project.root),
                partition: shared.partition,
            };
            // A result from a remote service lives for `network-ttl`, or is not kept.
            let ttl = match cache {
                Some(network_ttl) if checker.online(&cx) => network_ttl.map(Some),
                Some(_) => Some(None),
                None => None,
            };
            // A run on the changed files only is not the project's result: not stored, not replayed.
            let ttl = ttl.filter(|_| cx.changed.is_none());
            let parts = match (&shared.cache, ttl) {
                (Some(result_cache), Some(ttl)) => {
                    let Some(state) = checker.cache_state(&cx).await else {
                        if stop.is_cancelled() {
                            return Execution::Fresh(CheckResult::errored("stopped before it started"), None);
                        }
                        tracing::info!(
                            check = %node.id,
                            "cache: not used: what the check reads besides the project's files could not be read"
                        );
                        return run_checker(checker.as_ref(), &cx, shared, None).await;
                    };
                    let listed = shared.files.get_or_init(|| {
                        cache::project_files(&shared.project, &shared.settings.env, &shared.settings.outputs, stop)
                    });
                    let Some(files) = listed.await else {
                        return run_checker(checker.as_ref(), &cx, shared, None).await;
                    };
                    // Only the files the check reads are its inputs, narrowed to those it declares.
                    let files = files.only(&checker.reads(&shared.project));
                    let files = files.inputs(&checker.info().inputs).unwrap_or(files);
                    // A check that runs a share of its work under `--partition` is keyed on it.
                    let state = match shared.partition.filter(|_| checker.info().splits) {
                        Some(partition) => format!("{state}\npartition {partition}"),
                        None => state,
                    };
                    let key = key_parts(shared, &node.id, &cx, &files, environment_key, env_vars, &state);
                    if let Some(report) = result_cache.lookup(&key, ttl, log_path) {
                        tracing::debug!(check = %node.id, "cache: hit, replaying the stored result");
                        return Execution::Cached(report);
                    }
                    tracing::info!(check = %node.id, "cache miss: {}", result_cache.explain_miss(&key, &files));
                    Some((key, files))
                }
                _ => None,
            };
            run_checker(checker.as_ref(), &cx, shared, parts).await
        }
    }
}

/// Runs the checker in `cx` and adds the secrets it found to the run's.
async fn run_checker(
    checker: &dyn Checker,
    cx: &CheckContext,
    shared: &Shared,
    parts: Option<(KeyParts, ProjectFiles)>,
) -> Execution {
    let result = greenlight_checker::execute(checker, cx).await;
    // A result that came with secrets is never stored: replayed, its secrets would be unknown
    // to the run, which could not mask them in the output of its other checks.
    let parts = if cx.secrets.is_empty() { parts } else { None };
    shared.secrets.extend(&cx.secrets);
    Execution::Fresh(result, parts)
}

async fn prepare_environment(request: &EnvRequest, shared: &Shared, log_path: &Path, stop: &Stop) -> Execution {
    let prepared =
        environment::prepare(&shared.project, &shared.environment_settings, request, &shared.resolver, log_path, stop)
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
            let summary = match (request.as_of, &prepared.not_as_of) {
                (_, Some(not_as_of)) => format!("{summary}; {not_as_of}"),
                (Some(moment), None) => format!("{summary}, as of {moment}"),
                (None, None) => summary,
            };
            let summary = match &prepared.waited_for {
                Some(waited) => format!("{summary}; {waited}"),
                None => summary,
            };
            *shared.environment_lease.lock().unwrap_or_else(|p| p.into_inner()) = prepared.lease;
            *shared.environment.lock().unwrap_or_else(|p| p.into_inner()) = Some((prepared.env, prepared.key));
            let mut result = CheckResult::passed(summary);
            result.command = prepared.command;
            Execution::Fresh(result, None)
        }
        Err(reason) => Execution::Fresh(
            CheckResult::errored(format!("the project environment could not be created: {reason}")),
            None,
        ),
    }
}

/// The result cache's key of check `id` about to run in `cx`.
fn key_parts(
    shared: &Shared,
    id: &str,
    cx: &CheckContext,
    files: &ProjectFiles,
    environment_key: Option<String>,
    env_vars: &[String],
    state: &str,
) -> KeyParts {
    KeyParts {
        greenlight: GREENLIGHT_VERSION.to_string(),
        check: id.to_string(),
        files: files.digest.clone(),
        config: shared.config_hash.clone(),
        tools: cx
            .tools
            .values()
            .map(|tool| format!("{} {} {}", tool.name, tool.path.display(), tool.version))
            .collect(),
        environment: environment_key,
        vars: env_vars
            .iter()
            .map(|name| {
                let value = shared.settings.env.get(name).map(cache::text_hash).unwrap_or_default();
                (name.to_string(), value)
            })
            .collect(),
        state: cache::text_hash(state),
    }
}

/// The log's path relative to `root` and its last lines.
fn log_ref(path: &Path, root: &Path) -> Option<LogRef> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let mut file = std::fs::File::open(path).ok()?;
    let length = file.metadata().ok()?.len();
    let start = length.saturating_sub(16 * 1024);
    file.seek(SeekFrom::Start(start)).ok()?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ok()?;
    // Tools colour their logs even when not on a terminal.
    let text = text::strip_ansi(&String::from_utf8_lossy(&bytes));
    let tail = text::last_lines(&text, 30);
    Some(LogRef { path: greenlight_checker::relative_to(root, path), tail })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_log_tail_is_its_last_lines_without_colours() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/ruff.log");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut log: String = (1..=40).map(|n| format!("line {n}\n")).collect();
        log.push_str("\u{1b}[90m1:02PM\u{1b}[0m \u{1b}[32mINF\u{1b}[0m scan done\n\n");
        std::fs::write(&path, log).unwrap();
        let log = super::log_ref(&path, dir.path()).unwrap();
        assert_eq!(log.path, "logs/ruff.log");
        let lines: Vec<&str> = log.tail.lines().collect();
        assert_eq!(lines.len(), 30);
        assert_eq!((lines[0], lines[29]), ("line 12", "1:02PM INF scan done"));
    }
}
