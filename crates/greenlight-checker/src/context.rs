//! What a check is given when it runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use greenlight_process::{Cmd, Stop};

use crate::project::Project;

/// Everything a running check may use. Built by the orchestrator; read-only for the check.
#[derive(Debug, Clone)]
pub struct CheckContext {
    /// The project under check.
    pub project: Arc<Project>,
    /// The tools the check declared, resolved (missing ones are absent).
    pub tools: BTreeMap<String, ResolvedTool>,
    /// The project environment, when the check needs it and it is ready.
    pub environment: Option<PythonEnv>,
    /// A private temporary directory for report files and outputs, removed after the run.
    pub scratch: PathBuf,
    /// greenlight's state directory of the project (`.greenlight/`; for a run on another
    /// commit, the user's checkout's, which outlives the worktree): where a tool may keep a
    /// cache between runs (ruff's cache, bytecode).
    pub state_dir: PathBuf,
    /// `--partition K/N`: this run is one shard; a check that splits its own work
    /// ([`CheckerInfo::splits`](crate::CheckerInfo::splits)) runs only its share.
    pub partition: Option<crate::Partition>,
    /// The check's log file; [`CheckContext::cmd`] appends every command's output to it.
    pub log_path: PathBuf,
    /// Fires on Ctrl-C, fail-fast and the check's timeout.
    pub stop: Stop,
    /// True when the user asked for `--fix`: only then may a check edit the user's files.
    pub fix: bool,
    /// Secret-looking environment variables the user allowed for this check's tools.
    pub pass_env: Vec<String>,
    /// The id of this run (labels for containers, names of temporary images).
    pub run_id: String,
    /// The user's environment variables that matter to checks (`GITHUB_EVENT_PATH`,
    /// `DOCKER_HOST`, ...), captured once so tests can set them per run.
    pub vars: BTreeMap<String, String>,
    /// True when the run checks one revision checked out in a temporary worktree (`--rev`,
    /// `bisect`, `hotfix`): history-based checks look at that commit's ancestry only, as CI
    /// at that commit would, not at every ref of the repository.
    pub at_revision: bool,
    /// `--changed REF` / `--staged`, for a check that can look at only those files
    /// ([`crate::CheckerInfo::changed_only`]); `None` for every other check and run.
    pub changed: Option<Arc<ChangedFiles>>,
    /// The run's secrets: a check that learns one (gitleaks' findings, a build argument the
    /// user marked secret) adds it, and no output of the run shows it
    /// ([`greenlight_report::Secrets`]). Shared by every check of the run.
    pub secrets: greenlight_report::Secrets,
}

/// The files (and commits) a `--changed` or `--staged` run is about.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChangedFiles {
    /// What they changed against, for messages: `origin/main (merge base 1a2b3c4d5e6f)`, `the
    /// index`.
    pub since: String,
    /// The changed files that exist, relative to the project root, `/`-separated.
    pub files: Vec<String>,
    /// The new commits as a `git log` range (`<merge base>..HEAD`); `None` for `--staged`.
    pub commits: Option<String>,
}

impl CheckContext {
    /// A command for `program` that runs in the project root, logs to the check's log file,
    /// and passes the allowed variables.
    pub fn cmd(&self, program: impl AsRef<std::ffi::OsStr>) -> Cmd {
        Cmd::new(program).current_dir(&self.project.root).log_file(&self.log_path).pass_env(&self.pass_env)
    }

    /// A user variable captured at start (see [`CheckContext::vars`]).
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// `path` relative to the project root, with `/` separators.
    pub fn relative(&self, path: &Path) -> String {
        self.project.relative(path)
    }
}

/// A tool found or provisioned for this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedTool {
    /// Tool name (`ruff`).
    pub name: String,
    /// Absolute path of the executable.
    pub path: PathBuf,
    /// Version it reports (`0.17.6`), or `unknown`.
    pub version: String,
    /// Where it came from.
    pub source: ToolSource,
}

/// Where a tool was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolSource {
    /// `[tool.greenlight.tools]` gave its path.
    Config,
    /// The project environment under `.greenlight/`.
    Environment,
    /// `PATH`.
    Path,
    /// Installed by greenlight at the pinned version into the user cache.
    Provisioned,
}

impl ToolSource {
    /// The lowercase name used in the report.
    pub fn as_str(self) -> &'static str {
        match self {
            ToolSource::Config => "config",
            ToolSource::Environment => "environment",
            ToolSource::Path => "path",
            ToolSource::Provisioned => "provisioned",
        }
    }
}

/// A Python virtual environment with the project installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonEnv {
    /// The venv directory.
    pub root: PathBuf,
    /// Its `python` executable.
    pub python: PathBuf,
    /// Its `site-packages` directory.
    pub site_packages: PathBuf,
    /// Python version (`3.11.7`).
    pub python_version: String,
}

impl PythonEnv {
    /// The venv's `bin` directory.
    pub fn bin(&self) -> PathBuf {
        self.root.join("bin")
    }
}
