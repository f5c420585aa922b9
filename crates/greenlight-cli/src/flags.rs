//! The command line's layers of the settings: the shared flag groups turned into
//! [`RunFlags`] (run settings) and [`ConfigOverrides`] (the checks' own options). The
//! orchestrator combines them with the configuration and the environment
//! ([`greenlight_orchestrator::RunSettings::resolve`]); this module only translates.
//!
//! Adding a flag to every command that runs checks: a field in the group of `cli.rs`
//! (`SelectionArgs`, `ExecutionArgs`, `CheckOptionArgs`, `OutputArgs`), translated here into
//! its layer; a check option also gets an [`greenlight_checker::OptionKey`] constant in its
//! plugin.

use std::path::{Path, PathBuf};

use greenlight_checker::{ConfigError, ConfigOverrides};
use greenlight_env::{Env, EnvVars};
use greenlight_orchestrator::RunFlags;
use greenlight_orchestrator::config::ToolPin;

use crate::cli::{CheckOptionArgs, ExecutionArgs};
use crate::output::tools_from;
use crate::shared::Failure;

impl ExecutionArgs {
    /// The run settings these flags give (`--tools-from` and `--config` are read here).
    pub fn run_flags(&self) -> Result<RunFlags, Failure> {
        let (mut tool_pins, report_as_of) = match &self.tools_from {
            Some(path) => tools_from(path)?,
            None => Default::default(),
        };
        let known = greenlight_orchestrator::known_tools(&crate::registry::registry());
        for (name, version) in &self.tools {
            if !known.contains(&name.as_str()) {
                return Err(Failure::usage(format!(
                    "--tool {name}={version}: greenlight has no tool `{name}`; the tools are {}",
                    known.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", ")
                )));
            }
            tool_pins.insert(name.clone(), ToolPin { version: Some(version.clone()), path: None });
        }
        let config = match &self.config {
            Some(path) => Some(std::fs::canonicalize(path).map_err(|error| {
                Failure::usage(format!(
                    "--config {}: {error}; give the path of a greenlight.toml (or a pyproject.toml with [tool.greenlight])",
                    path.display()
                ))
            })?),
            None => None,
        };
        Ok(RunFlags {
            jobs: self.jobs,
            fail_fast: self.fail_fast.then_some(true),
            timeout: self.timeout,
            cache: self.no_cache.then_some(false),
            rebuild_env: self.rebuild_env,
            tool_pins,
            as_of: self.as_of.clone(),
            report_as_of,
            config,
            state_dir: self.state_dir.as_ref().map(|dir| std::path::absolute(dir).unwrap_or_else(|_| dir.clone())),
            ..RunFlags::default()
        })
    }
}

impl CheckOptionArgs {
    /// The check options these flags set, over the environment's (`GREENLIGHT_ADVISORY_DB`),
    /// over the configuration's.
    pub fn overrides(&self, env: &Env) -> Result<ConfigOverrides, Failure> {
        let mut overrides = ConfigOverrides::default();
        if self.keep_image {
            overrides.set(greenlight_plugin_docker::KEEP_IMAGE, true).map_err(usage)?;
        }
        if !self.image_map.is_empty() {
            let map = self.image_map.iter().cloned().collect();
            overrides.set(greenlight_plugin_docker::IMAGE_MAP, map).map_err(usage)?;
        }
        let advisory_db = match &self.advisory_db {
            Some(db) => {
                if !db.is_dir() {
                    return Err(Failure::usage(format!(
                        "--advisory-db {}: no such directory (give a directory of OSV records, such as a copy of https://github.com/pypa/advisory-database)",
                        db.display()
                    )));
                }
                Some(db.clone())
            }
            None => env.path(EnvVars::GREENLIGHT_ADVISORY_DB),
        };
        if let Some(db) = advisory_db {
            // Relative to where greenlight was started, not to the project.
            let db = std::path::absolute(&db).unwrap_or(db);
            overrides.set(greenlight_plugin_pip_audit::ADVISORY_DB, db.display().to_string()).map_err(usage)?;
        }
        Ok(overrides)
    }
}

/// A pull request given on the command line, as `policy`'s options.
#[derive(Debug, Default)]
pub struct PullRequestArgs<'a> {
    /// `--pr-body FILE`.
    pub body: Option<&'a Path>,
    /// `--pr-base REV` (`greenlight policy --base`).
    pub base: Option<&'a str>,
    /// `--author LOGIN`.
    pub author: Option<&'a str>,
    /// `--label NAME`.
    pub labels: &'a [String],
}

impl PullRequestArgs<'_> {
    /// Adds the pull request to `overrides`; the body file is made absolute, as runs on other
    /// commits have another working directory.
    pub fn add_to(&self, overrides: &mut ConfigOverrides) -> Result<(), Failure> {
        use greenlight_plugin_policy::{PR_AUTHOR, PR_BASE, PR_BODY, PR_LABELS};
        if let Some(body) = self.body {
            let absolute: PathBuf = std::fs::canonicalize(body)
                .map_err(|error| Failure::usage(format!("--pr-body {}: {error}", body.display())))?;
            overrides.set(PR_BODY, absolute.display().to_string()).map_err(usage)?;
        }
        if let Some(base) = self.base {
            overrides.set(PR_BASE, base.to_string()).map_err(usage)?;
        }
        if let Some(author) = self.author {
            overrides.set(PR_AUTHOR, author.to_string()).map_err(usage)?;
        }
        if !self.labels.is_empty() {
            overrides.set(PR_LABELS, self.labels.to_vec()).map_err(usage)?;
        }
        Ok(())
    }
}

fn usage(error: ConfigError) -> Failure {
    Failure::usage(error.to_string())
}
