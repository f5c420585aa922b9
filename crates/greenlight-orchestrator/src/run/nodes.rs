//! The nodes of a plan: each selected check, the project environment when a check needs it,
//! and a report for each check the plan skipped.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use greenlight_checker::ENVIRONMENT;
use greenlight_report::{CheckReport, NodeKind, Outcome};

use super::executor::{Node, NodeTask};
use super::graph::GraphNode;
use crate::environment::{self, EnvRequest};
use crate::history::History;
use crate::plan::{Plan, PlannedCheck};
use crate::settings::RunSettings;
use crate::tools::ToolResolver;

/// The graph's nodes, and the reports of the checks the plan skipped.
pub(super) fn build(
    plan: &Plan,
    settings: &RunSettings,
    resolver: &ToolResolver,
    history: &History,
) -> (Vec<GraphNode<Node>>, Vec<CheckReport>) {
    let config = &plan.config.settings;
    let env_settings = &config.environment;
    let env_enabled = env_settings.enabled != Some(false);
    let extras = environment::default_extras(&plan.project, env_settings);
    let declared = environment::declared_packages(&plan.project, &extras);
    let mut nodes = Vec::new();
    let mut skipped = Vec::new();
    let env_packages = environment_packages(plan, settings, resolver, &declared);
    let mut env_needed = false;
    for check in &plan.checks {
        if let Some(skip) = &check.skip {
            let mut report = CheckReport::new(check.id(), check.info.title, Outcome::Skipped);
            report.summary = skip.reason.clone();
            report.reason = Some(skip.reason.clone());
            report.skip_cause = Some(skip.cause.clone());
            skipped.push(report);
            continue;
        }
        let mut needs = check.needs();
        let uses_environment = env_enabled && uses_environment(check, resolver, &declared);
        if uses_environment {
            env_needed = true;
            if !needs.iter().any(|need| need == ENVIRONMENT) {
                needs.push(ENVIRONMENT.to_string());
            }
        } else {
            needs.retain(|need| need != ENVIRONMENT);
        }
        let network_ttl = config.cache.network_ttl.map(|ttl| ttl.0);
        let cacheable = check.info.cacheable && check.common.cache != Some(false);
        nodes.push(GraphNode {
            id: check.id().to_string(),
            needs,
            expected: history.expected(check.id()).unwrap_or(check.info.expected),
            cpu_bound: check.info.cpu_bound,
            payload: Node {
                id: check.id().to_string(),
                title: check.info.title.to_string(),
                kind: NodeKind::Check,
                timeout: check.timeout(),
                task: NodeTask::Check {
                    checker: check.checker.clone(),
                    tools: check.info.tools.clone(),
                    uses_environment,
                    pass_env: settings.pass_env_for(&check.common.pass_env),
                    severity: check.common.severity.unwrap_or_default(),
                    cache: cacheable.then_some(network_ttl),
                    env_vars: check
                        .info
                        .env_vars
                        .iter()
                        .map(|name| name.to_string())
                        .chain(config.cache.env.iter().cloned())
                        .collect(),
                },
            },
        });
    }
    if env_needed {
        nodes.push(GraphNode {
            id: ENVIRONMENT.to_string(),
            needs: Vec::new(),
            expected: history.expected(ENVIRONMENT).unwrap_or(Duration::from_secs(30)),
            // Mostly waiting on the package index; it runs beside the checks that do not need it.
            cpu_bound: false,
            payload: Node {
                id: ENVIRONMENT.to_string(),
                title: "project environment".to_string(),
                kind: NodeKind::Setup,
                timeout: env_settings.timeout.map_or(Duration::from_secs(1800), |t| t.0),
                task: NodeTask::Environment {
                    request: EnvRequest {
                        extras,
                        packages: env_packages,
                        requirements: env_settings.requirements.iter().map(PathBuf::from).collect(),
                        rebuild: settings.rebuild_env,
                        store: settings.env_store(),
                        state_dir: settings.state_dir(&plan.project.root),
                        pass_env: settings.pass_env_for(&env_settings.pass_env),
                        as_of: settings.as_of.as_ref().map(|as_of| as_of.moment),
                    },
                },
            },
        });
    }
    (nodes, skipped)
}

/// True when `check` runs in the project environment: it needs it, runs an in-environment
/// tool, or a tool the project declares in its own dependencies (which then runs at the
/// version the project chose).
fn uses_environment(check: &PlannedCheck, resolver: &ToolResolver, declared: &BTreeSet<String>) -> bool {
    let in_env_tool = check.info.tools.iter().any(|tool| tool.in_environment);
    let declared_tool = check.info.tools.iter().any(|tool| {
        tool.pypi.is_some_and(|pypi| declared.contains(pypi))
            && resolver.pin(tool.name).and_then(|pin| pin.path.as_ref()).is_none()
    });
    check.needs().iter().any(|need| need == ENVIRONMENT) || in_env_tool || declared_tool
}

/// The packages the checks install into the project environment: those of every check the
/// configuration runs, whether or not this run's command line selected it (`CHECK...`,
/// `--skip`), so that one environment serves every selection of the same commit.
fn environment_packages(
    plan: &Plan,
    settings: &RunSettings,
    resolver: &ToolResolver,
    declared: &BTreeSet<String>,
) -> Vec<String> {
    let config = &plan.config.settings;
    let mut packages: Vec<String> = Vec::new();
    for check in plan.configured_checks().filter(|check| uses_environment(check, resolver, declared)) {
        for tool in check.info.tools.iter().filter(|tool| tool.in_environment) {
            let Some(pypi) = tool.pypi else { continue };
            // Pinned, else what the project declares, else greenlight's default; with
            // `--as-of`, the release of that moment (the installer's resolution).
            let provision = config.provisions() && settings.as_of.is_none();
            let version = resolver
                .pin(tool.name)
                .and_then(|pin| pin.version.clone())
                .or_else(|| tool.default_version.filter(|_| provision && !declared.contains(pypi)).map(str::to_string));
            let requirement = match version {
                Some(version) => format!("{pypi}=={version}"),
                None => pypi.to_string(),
            };
            if !packages.contains(&requirement) {
                packages.push(requirement);
            }
        }
    }
    packages
}
