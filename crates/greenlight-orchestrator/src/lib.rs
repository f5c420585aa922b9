//! The orchestrator: configuration, detection, the project environment, tool resolution and
//! the parallel scheduler.
//!
//! It never names a concrete checker: the CLI hands it the registry
//! ([`greenlight_checker::CheckerFactory`] values). [`Plan::new`] loads the configuration and
//! decides what runs; [`RunSettings::resolve`] decides how (jobs, timeouts, the cache, who may
//! see which variables); [`run`] runs the graph of setup steps and checks and returns one
//! [`greenlight_report::RunReport`]. [`run_project`] is all of it for a project directory.

pub mod as_of;
mod baseline;
pub mod bisect;
pub mod cache;
pub mod config;
pub mod environment;
mod fsutil;
mod history;
mod lock;
mod pipeline;
mod plan;
pub mod project;
pub mod revision;
mod run;
pub mod settings;
pub mod tools;

pub use as_of::{AsOf, AsOfSource, Moment, ResolvedAsOf};
pub use config::Config;
pub use pipeline::{PipelineError, RunRequest, run_project};
pub use plan::{Plan, PlanError, PlannedCheck, Selection, Skip, known_tools};
pub use project::{discover_root, load_project};
pub use run::{NoObserver, Observer, RunEvent, prepare_state_dir, run};
pub use settings::{
    BaselineSource, ChangedScope, Combine, RunFlags, RunSettings, STATE_DIR, StateLocation, state_root,
};
