//! One run on a project directory, from the request to the report: load the project, plan,
//! resolve the settings, prepare the state directory, run. What `greenlight run`, `policy`,
//! `bisect` and `hotfix` each do once or many times.

use std::path::Path;
use std::sync::Arc;

use greenlight_checker::{CheckerFactory, ConfigOverrides};
use greenlight_env::Env;
use greenlight_process::Stop;
use greenlight_report::RunReport;

use crate::plan::{Plan, PlanError, Selection};
use crate::run::Observer;
use crate::settings::{RunFlags, RunSettings, StateLocation};

/// What to run, and with which settings.
#[derive(Debug, Clone)]
pub struct RunRequest<'a> {
    /// Every checker greenlight has.
    pub registry: &'a [CheckerFactory],
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
}

/// Loads the project at `root`, plans `request` and runs it.
pub async fn run_project(
    root: &Path,
    request: &RunRequest<'_>,
    observer: Arc<dyn Observer>,
    stop: &Stop,
) -> Result<RunReport, PipelineError> {
    let project = crate::project::load_project(root, &request.env).await;
    let plan = Plan::new(project, request.registry, &request.selection, &request.overrides)?;
    let mut settings = RunSettings::resolve(&request.flags, &plan.config.settings, &request.env);
    settings.state = request.state.clone();
    crate::run::prepare_state_dir(&settings.state_dir(&plan.project.root)).map_err(PipelineError::StateDir)?;
    Ok(crate::run::run(plan, settings, observer, stop.clone()).await)
}
