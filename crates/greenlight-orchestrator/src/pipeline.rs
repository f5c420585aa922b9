//! One run on a project directory, from the request to the report: load the project, plan,
//! resolve the settings, prepare the state directory, run, compare with the baseline. What `greenlight run`, `policy`,
//! `bisect` and `hotfix` each do once or many times.

use std::path::Path;
use std::sync::Arc;

use greenlight_checker::{ConfigOverrides, Registry};
use greenlight_env::Env;
use greenlight_process::Stop;
use greenlight_report::RunReport;

use crate::as_of::{AsOf, AsOfSource, ResolvedAsOf};
use crate::plan::{Plan, PlanError, Selection};
use crate::run::Observer;
use crate::settings::{RunFlags, RunSettings, StateLocation};

/// What to run, and with which settings.
#[derive(Debug, Clone)]
pub struct RunRequest<'a> {
    /// Every checker greenlight has.
    pub registry: &'a Registry,
    /// The checks asked for.
    pub selection: Selection,
    /// The command line's layer of the run settings.
    pub flags: RunFlags,
    /// The command line's values of the checks' own options.
    pub overrides: ConfigOverrides,
    /// The environment captured at start.
    pub env: Env,
    /// Where state goes.
    pub state: StateLocation,
}

/// Why a run did not start: the user's input (exit code 3).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The configuration or the selection is invalid.
    #[error("{0}")]
    Plan(#[from] PlanError),
    /// The state directory cannot be made.
    #[error("{0}")]
    StateDir(String),
    /// `--as-of commit` outside a repository with commits.
    #[error("{0}")]
    AsOf(String),
    /// The changed files (`--changed`, `--staged`) cannot be listed.
    #[error("{0}")]
    Changed(String),
    /// The baseline (`--new-from`, a baseline file) cannot be had.
    #[error("{0}")]
    Baseline(String),
}

/// Loads the project at `root`, plans `request` and runs it.
pub async fn run_project(
    root: &Path,
    request: &RunRequest<'_>,
    observer: Arc<dyn Observer>,
    stop: &Stop,
) -> Result<RunReport, PipelineError> {
    let project = crate::project::load_project(root, &request.env).await;
    let plan = Plan::with_config(
        project,
        request.registry,
        &request.selection,
        &request.overrides,
        request.flags.config.as_deref(),
    )?;
    let mut settings = RunSettings::resolve(&request.flags, &plan.config.settings, &request.env);
    settings.state = request.state.clone();
    let commit = match &request.flags.as_of {
        Some(AsOf::Commit) => Some("HEAD"),
        Some(AsOf::CommitOf(sha)) => Some(sha.as_str()),
        _ => None,
    };
    if let Some(rev) = commit {
        let (commit, moment) =
            crate::as_of::commit_moment(&plan.project, &request.env, rev, stop).await.map_err(PipelineError::AsOf)?;
        settings.as_of = Some(ResolvedAsOf { moment, source: AsOfSource::Commit(commit) });
    }
    if let Some(scope) = request.flags.changed.as_ref().filter(|_| request.flags.rev.is_none()) {
        let changed =
            crate::revision::changed_files(root, scope, &request.env, stop).await.map_err(PipelineError::Changed)?;
        settings.changed = Some(Arc::new(changed));
    }
    crate::run::prepare_state_dir(&settings.state_dir(&plan.project.root)).map_err(PipelineError::StateDir)?;
    let baseline = settings.baseline.clone();
    let mut report = crate::run::run(plan, settings, observer, stop.clone()).await;
    if let Some(source) = baseline
        && !report.interrupted
    {
        crate::baseline::apply(&mut report, &source, root, request, stop).await?;
    }
    Ok(report)
}
