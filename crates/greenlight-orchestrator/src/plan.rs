//! The plan of a run: which checks exist, which apply, which are selected, and why.

use std::sync::Arc;
use std::time::Duration;

use greenlight_checker::report::SkipCause;
use greenlight_checker::{
    Checker, CheckerInfo, CommonOptions, ConfigError, ConfigOverrides, Detection, Partition, Project, Registry,
};

use crate::config::Config;

/// One check of the registry with its configuration and the decision whether it runs.
pub struct PlannedCheck {
    /// The checker, built from its configuration section.
    pub checker: Arc<dyn Checker>,
    /// Its static info.
    pub info: CheckerInfo,
    /// Its common options (`enabled`, `timeout`, `needs`, `pass-env`).
    pub common: CommonOptions,
    /// What detection said.
    pub detection: Detection,
    /// `None` when it runs; else why not.
    pub skip: Option<Skip>,
}

/// Why a planned check does not run: the cause as data and in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    /// The cause, as the report stores it.
    pub cause: SkipCause,
    /// The same in words (`disabled in [tool.greenlight.docker]`).
    pub reason: String,
}

impl Skip {
    fn new(cause: SkipCause, reason: impl Into<String>) -> Self {
        Self { cause, reason: reason.into() }
    }
}

impl PlannedCheck {
    /// The check id.
    pub fn id(&self) -> &'static str {
        self.checker.id()
    }

    /// The effective timeout.
    pub fn timeout(&self) -> Duration {
        self.common.timeout.map_or(self.info.default_timeout, |timeout| timeout.0)
    }

    /// Every node this check needs: its own, plus configured ones.
    pub fn needs(&self) -> Vec<String> {
        let mut needs: Vec<String> = self.info.needs.iter().map(|need| need.to_string()).collect();
        for need in &self.common.needs {
            if !needs.contains(need) {
                needs.push(need.clone());
            }
        }
        needs
    }
}

impl std::fmt::Debug for PlannedCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlannedCheck").field("id", &self.id()).field("skip", &self.skip).finish()
    }
}

/// Which checks the user asked for on the command line.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Run only these (positional `CHECK...`); empty means all that apply.
    pub only: Vec<String>,
    /// Never run these (`--skip`).
    pub skip: Vec<String>,
    /// `--partition K/N`: run this shard's share.
    pub partition: Option<Partition>,
}

/// Everything decided before running: project, configuration, checks.
pub struct Plan {
    /// The project.
    pub project: Arc<Project>,
    /// The configuration.
    pub config: Config,
    /// Every registered check, in registry order, then the checks the configuration defines,
    /// selected or not.
    pub checks: Vec<PlannedCheck>,
    /// `--partition K/N`, when this run is one shard.
    pub partition: Option<Partition>,
}

impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plan").field("root", &self.project.root).field("checks", &self.checks).finish()
    }
}

/// ` (did you mean `X`?)` for the id closest to a mistyped one, or empty.
pub fn did_you_mean(word: &str, ids: &[&str]) -> String {
    greenlight_report::text::closest(word, ids.iter().copied())
        .map(|id| format!(" (did you mean `{id}`?)"))
        .unwrap_or_default()
}

/// A usage error in the selection (unknown check id): exit code 3.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The configuration is invalid.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// An unknown check id on the command line.
    #[error("unknown check `{id}`{suggestion}; checks are {valid}")]
    UnknownCheck {
        /// What the user wrote.
        id: String,
        /// ` (did you mean `ruff-check`?)`, or empty.
        suggestion: String,
        /// The valid ids.
        valid: String,
    },
}

impl Plan {
    /// The checks that run when the command line selects nothing and skips nothing: the
    /// configuration's own set (enabled, applicable, not skipped in the configuration), whatever
    /// this run selected. The project environment is made for these, so that every selection
    /// of the same commit shares it.
    pub fn configured_checks(&self) -> impl Iterator<Item = &PlannedCheck> {
        self.checks.iter().filter(|check| match &check.skip {
            None => true,
            Some(skip) => {
                matches!(skip.cause, SkipCause::NotSelected | SkipCause::SkipFlag)
                    && !self.config.settings.skip.iter().any(|skipped| skipped == check.id())
                    && check.common.enabled != Some(false)
                    && (check.common.enabled == Some(true) || check.detection.applies)
            }
        })
    }

    /// Loads the configuration of `project`, builds every checker of `registry` and decides
    /// which run.
    /// `overrides` are the command line's values of the checks' own options.
    pub fn new(
        project: Project,
        registry: &Registry,
        selection: &Selection,
        overrides: &ConfigOverrides,
    ) -> Result<Self, PlanError> {
        Self::with_config(project, registry, selection, overrides, None)
    }

    /// [`Plan::new`] with the configuration read from `config_file` (`--config`) instead of
    /// the project's, when given.
    pub fn with_config(
        project: Project,
        registry: &Registry,
        selection: &Selection,
        overrides: &ConfigOverrides,
        config_file: Option<&std::path::Path>,
    ) -> Result<Self, PlanError> {
        let builtin = registry.ids();
        let config = Config::load_from(&project.root, config_file, &builtin, overrides)?;
        let mut ids = builtin.clone();
        ids.extend(config.defined.iter().map(String::as_str));
        for id in selection.only.iter().chain(&selection.skip) {
            if !ids.contains(&id.as_str()) {
                return Err(PlanError::UnknownCheck {
                    id: id.clone(),
                    suggestion: did_you_mean(id, &ids),
                    valid: ids.iter().map(|id| format!("`{id}`")).collect::<Vec<_>>().join(", "),
                });
            }
        }
        let mut checkers: Vec<(Arc<dyn Checker>, String)> = Vec::new();
        for factory in registry.iter() {
            checkers.push(((factory.build)(&config.source)?, config.source.table_name(factory.id)));
        }
        if let Some(define) = registry.define
            && !config.defined.is_empty()
        {
            for checker in define(&config.source, &config.defined)? {
                let table = config.source.table_name(&format!("{}.{}", crate::config::CHECKS_KEY, checker.id()));
                checkers.push((checker, table));
            }
        }
        // A pin of a tool no check runs would be believed and do nothing.
        let mut known = known_tools(registry);
        for (checker, _) in &checkers {
            for tool in checker.info().tools {
                if !known.contains(&tool.name) {
                    known.push(tool.name);
                }
            }
        }
        for key in &config.tool_keys {
            let name = key.get_ref().as_str();
            if !known.contains(&name) {
                let suggestion = greenlight_checker::text::closest(name, known.iter().copied())
                    .map(|closest| format!("did you mean `{closest}`? "))
                    .unwrap_or_default();
                let mut tools: Vec<&str> = known.clone();
                tools.sort_unstable();
                return Err(config
                    .source
                    .error_at(
                        key.span().start,
                        format!(
                            "greenlight has no tool `{name}` in {}; {suggestion}the tools are {}",
                            config.source.table_name("tools"),
                            tools.iter().map(|tool| format!("`{tool}`")).collect::<Vec<_>>().join(", ")
                        ),
                    )
                    .into());
            }
        }
        let mut checks = Vec::new();
        for (checker, table) in checkers {
            let id = checker.id();
            let info = checker.info();
            let common = config.common(id);
            let detection = checker.detect(&project);
            let skip = if selection.skip.iter().any(|skipped| skipped == id) {
                Some(Skip::new(SkipCause::SkipFlag, "skipped with --skip"))
            } else if config.settings.skip.iter().any(|skipped| skipped == id) {
                Some(Skip::new(SkipCause::SkipConfig, format!("skipped by `skip` in {}", config.source.table_name(""))))
            } else if !selection.only.is_empty() && !selection.only.iter().any(|only| only == id) {
                Some(Skip::new(SkipCause::NotSelected, "not selected on the command line"))
            } else if common.enabled == Some(false) {
                Some(Skip::new(SkipCause::Disabled, format!("disabled in {table}")))
            } else if common.enabled == Some(true) {
                None
            } else if !detection.applies {
                Some(Skip::new(SkipCause::NotApplicable, format!("not applicable: {}", detection.reason)))
            } else {
                None
            };
            checks.push(PlannedCheck { checker, info, common, detection, skip });
        }
        if let Some(partition) = selection.partition {
            assign_shards(&mut checks, partition);
        }
        let plan = Self { project: Arc::new(project), config, checks, partition: selection.partition };
        plan.check_cycles()?;
        Ok(plan)
    }

    /// A cycle of `needs` would never start: report it as a configuration error.
    fn check_cycles(&self) -> Result<(), ConfigError> {
        let needs: std::collections::BTreeMap<&str, Vec<String>> =
            self.checks.iter().map(|check| (check.id(), check.needs())).collect();
        fn visit<'a>(
            id: &'a str,
            needs: &'a std::collections::BTreeMap<&'a str, Vec<String>>,
            path: &mut Vec<&'a str>,
            done: &mut std::collections::BTreeSet<&'a str>,
        ) -> Option<Vec<&'a str>> {
            if let Some(start) = path.iter().position(|node| *node == id) {
                let mut cycle = path[start..].to_vec();
                cycle.push(id);
                return Some(cycle);
            }
            if !done.insert(id) {
                return None;
            }
            path.push(id);
            for need in needs.get(id).into_iter().flatten() {
                if let Some(cycle) = visit(need, needs, path, done) {
                    return Some(cycle);
                }
            }
            path.pop();
            None
        }
        let mut done = std::collections::BTreeSet::new();
        for id in needs.keys() {
            if let Some(cycle) = visit(id, &needs, &mut Vec::new(), &mut done) {
                return Err(ConfigError::new(
                    self.config.source.path.as_deref(),
                    format!("the checks' `needs` form a cycle: {}; remove one of these `needs`", cycle.join(" → ")),
                ));
            }
        }
        Ok(())
    }

    /// The checks that will run.
    pub fn selected(&self) -> impl Iterator<Item = &PlannedCheck> {
        self.checks.iter().filter(|check| check.skip.is_none())
    }
}

/// Leaves out of shard `partition` the selected checks that run whole elsewhere: each goes,
/// longest expected first, to the least loaded shard, every shard starting with its share of
/// the checks that split their own work. Only static facts decide it ([`CheckerInfo::expected`],
/// registry order), so every shard of a pipeline computes the same assignment.
fn assign_shards(checks: &mut [PlannedCheck], partition: Partition) {
    let count = partition.count as f64;
    let share: f64 = checks
        .iter()
        .filter(|check| check.skip.is_none() && check.info.splits)
        .map(|check| check.info.expected.as_secs_f64() / count)
        .sum();
    let mut loads = vec![share; partition.count];
    let whole: Vec<usize> =
        (0..checks.len()).filter(|&index| checks[index].skip.is_none() && !checks[index].info.splits).collect();
    let weights: Vec<f64> = whole.iter().map(|&index| checks[index].info.expected.as_secs_f64()).collect();
    for (&index, shard) in whole.iter().zip(greenlight_checker::partition::assign(&weights, &mut loads)) {
        if !partition.is_mine(shard) {
            checks[index].skip = Some(Skip::new(
                SkipCause::NotSelected,
                format!("runs in shard {}/{} (--partition)", shard + 1, partition.count),
            ));
        }
    }
}

/// The name of every tool the checks of `registry` declare, and uv: what `--tool NAME=VERSION`
/// and `[tool.greenlight.tools]` may name.
pub fn known_tools(registry: &Registry) -> Vec<&'static str> {
    let mut names = vec![crate::tools::UV.name];
    let source = greenlight_checker::ConfigSource::empty();
    for factory in registry.iter() {
        if let Ok(checker) = (factory.build)(&source) {
            for tool in checker.info().tools {
                if !names.contains(&tool.name) {
                    names.push(tool.name);
                }
            }
        }
    }
    names.sort_unstable();
    names
}
