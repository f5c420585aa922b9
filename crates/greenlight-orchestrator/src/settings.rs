//! The settings of one run, resolved once from their layers.
//!
//! Each setting has up to four layers, lowest first: greenlight's default, the configuration
//! file (`[tool.greenlight]` of `pyproject.toml`, or `greenlight.toml`: [`Settings`]), the
//! environment ([`Env`]) and the command line ([`RunFlags`]: only what the user typed, every
//! value optional). [`RunSettings::resolve`] combines them ([`Combine`]: the higher layer wins)
//! into the values the run uses; nothing downstream looks at a layer again. A check's own
//! options (`docker`'s `keep-image`) take the same path through
//! [`greenlight_checker::ConfigOverrides`], the command line's layer over the file, which the
//! checker factories read.
//!
//! Adding a run setting: a field in [`RunFlags`] (the flag's value, `None` when not given), in
//! [`Settings`] when the file may set it too, and in [`RunSettings`] (the resolved value),
//! combined in [`RunSettings::resolve`] and tested there.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use greenlight_env::{Env, EnvVars};

/// The state directory's name in the project when `--state-dir` does not move it.
pub const STATE_DIR: &str = ".greenlight";

use crate::as_of::{AsOf, AsOfSource, Moment, ResolvedAsOf};
use crate::config::{Settings, ToolPin};

/// Combines two layers of one setting: `self` is the higher layer and wins where it has a
/// value (uv's `Combine`).
pub trait Combine {
    /// `self` where set, else `lower`.
    fn combine(self, lower: Self) -> Self;
}

impl<T> Combine for Option<T> {
    fn combine(self, lower: Self) -> Self {
        self.or(lower)
    }
}

impl<K: Ord, V> Combine for BTreeMap<K, V> {
    /// Both maps; `self`'s entries win over `lower`'s for the same key.
    fn combine(self, mut lower: Self) -> Self {
        lower.extend(self);
        lower
    }
}

/// The command line's layer of a run's settings: what the user typed, nothing resolved.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunFlags {
    /// `--jobs N`.
    pub jobs: Option<usize>,
    /// `--fail-fast` (`Some(true)` when given).
    pub fail_fast: Option<bool>,
    /// `--timeout DUR`: the whole run's.
    pub timeout: Option<Duration>,
    /// `--fix`.
    pub fix: bool,
    /// `--rebuild-env`.
    pub rebuild_env: bool,
    /// `--no-cache` (`Some(false)`).
    pub cache: Option<bool>,
    /// `--tool NAME=VERSION` over `--tools-from REPORT` (the tool versions of an earlier
    /// report).
    pub tool_pins: BTreeMap<String, ToolPin>,
    /// `--as-of DATE|commit`.
    pub as_of: Option<AsOf>,
    /// The `as_of` of the `--tools-from` report: the moment, unless `--as-of` is given.
    pub report_as_of: Option<Moment>,
    /// `--config FILE`: greenlight's configuration from this file (absolute) instead of the
    /// project's `greenlight.toml` or `[tool.greenlight]`, at every revision.
    pub config: Option<PathBuf>,
    /// `--rev REV`, for the report.
    pub rev: Option<String>,
    /// The files this run writes (reports): never inputs of the result cache.
    pub outputs: Vec<PathBuf>,
    /// `--new-from REV`.
    pub new_from: Option<String>,
    /// `--baseline FILE`.
    pub baseline: Option<PathBuf>,
    /// `greenlight baseline write` (and `--new-from`'s own run at the base): the findings as
    /// they are, compared with nothing.
    pub no_baseline: bool,
    /// `--changed [REF]` / `--staged`.
    pub changed: Option<ChangedScope>,
    /// `--state-dir DIR` (absolute): greenlight's state directory instead of the project's
    /// `.greenlight/`.
    pub state_dir: Option<PathBuf>,
}

/// What `--changed` / `--staged` limit the checks that can be limited to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangedScope {
    /// `--changed REF`: the files changed since the merge base of REF and `HEAD` (committed,
    /// uncommitted and untracked), and the commits since it.
    Since(String),
    /// `--staged`: the files staged in the index (a pre-commit hook).
    Staged,
}

/// The state directory `--state-dir` (`flag`) or `GREENLIGHT_STATE_DIR` moves greenlight's
/// state to, absolute; `None`: the project's `.greenlight/`. The one place they are combined.
pub fn state_root(flag: Option<&Path>, env: &Env) -> Option<PathBuf> {
    let dir = flag.map(Path::to_path_buf).or_else(|| env.path(EnvVars::GREENLIGHT_STATE_DIR))?;
    Some(std::path::absolute(&dir).unwrap_or(dir))
}

/// Where a run keeps its state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum StateLocation {
    /// `<project root>/.greenlight`, with the project environment in `.greenlight/venv`.
    #[default]
    Project,
    /// A run on a temporary worktree (`--rev`, `bisect`, `hotfix`): logs, durations and
    /// caches in the user's project's `.greenlight/` (so they outlive the worktree), and
    /// project environments side by side in its `.greenlight/envs/<key>`, one per dependency
    /// key, so runs on several commits reuse them (see [`crate::environment`]).
    UserProject(PathBuf),
}

/// What a run's findings are compared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BaselineSource {
    /// The findings at the merge base of this revision and `HEAD` (`--new-from`, `new-from`).
    MergeBase(String),
    /// A baseline file (`--baseline`, `baseline`), relative to the project root unless
    /// absolute.
    File(PathBuf),
}

impl BaselineSource {
    /// The command line's (`--new-from` or `--baseline`) over the file's (`new-from` over
    /// `baseline`). None for runs on other commits (`--rev`, and the run at the merge base
    /// itself) and for `no_baseline`.
    fn resolve(flags: &RunFlags, config: &Settings) -> Option<Self> {
        if flags.rev.is_some() || flags.no_baseline {
            return None;
        }
        let flag = match (&flags.new_from, &flags.baseline) {
            (Some(rev), _) => Some(BaselineSource::MergeBase(rev.clone())),
            (None, Some(file)) => Some(BaselineSource::File(file.clone())),
            (None, None) => None,
        };
        let file = match (&config.new_from, &config.baseline) {
            (Some(rev), _) => Some(BaselineSource::MergeBase(rev.clone())),
            (None, Some(file)) => Some(BaselineSource::File(PathBuf::from(file))),
            (None, None) => None,
        };
        flag.combine(file)
    }
}

/// Everything a run decides by settings, resolved (ripgrep's `HiArgs`).
#[derive(Debug, Clone, PartialEq)]
pub struct RunSettings {
    /// Most CPU-bound checks at once: `--jobs`, else `jobs`, else the CPU count; at least 1.
    pub jobs: usize,
    /// Stop everything at the first check that does not pass.
    pub fail_fast: bool,
    /// Timeout of the whole run.
    pub timeout: Option<Duration>,
    /// Let checks edit the user's files (`--fix`).
    pub fix: bool,
    /// Rebuild the project environment even when its key holds.
    pub rebuild_env: bool,
    /// Replay results of checks whose inputs did not change: off with `--no-cache`, `[cache]
    /// enabled = false`, and always with `--fix`.
    pub cache: bool,
    /// Secret-looking variables every step of the run may see (`pass-env`): the checks, the
    /// project environment's installer, tool probes and provisioning. A node's own list adds
    /// to it ([`RunSettings::pass_env_for`]).
    pub pass_env: Vec<String>,
    /// Variables whose values no output shows (`secret-env`); the values of every `pass-env`
    /// variable are masked too.
    pub secret_env: Vec<String>,
    /// Tool pins: the configuration's, with `--tools-from`'s and `--tool`'s over them.
    pub tool_pins: BTreeMap<String, ToolPin>,
    /// The moment the run's Python tools and project environment are resolved as of
    /// (`--as-of`, else the `--tools-from` report's). `--as-of commit` is the checked
    /// commit's date, which [`crate::run_project`] fills in (it needs git).
    pub as_of: Option<ResolvedAsOf>,
    /// The user cache (provisioned tools, tool versions).
    pub cache_dir: PathBuf,
    /// The environment captured at start; checks read their variables from it.
    pub env: Env,
    /// `--rev`, for the report.
    pub rev: Option<String>,
    /// Files this run writes.
    pub outputs: Vec<PathBuf>,
    /// `--changed` / `--staged`: what the checks that can be limited look at, resolved by
    /// [`crate::run_project`] (it needs git). Not for runs on other commits.
    pub changed: Option<std::sync::Arc<greenlight_checker::ChangedFiles>>,
    /// What the findings are compared with: the command line's over the configuration's;
    /// `None` for runs on other commits and with `no_baseline`.
    pub baseline: Option<BaselineSource>,
    /// Where state goes.
    pub state: StateLocation,
    /// `--state-dir`, else `GREENLIGHT_STATE_DIR` (absolute): the state directory itself,
    /// whichever the [`StateLocation`]; `None`: the project's `.greenlight/`.
    pub state_root: Option<PathBuf>,
}

impl RunSettings {
    /// Resolves the settings of a run from the command line's `flags`, the configuration's
    /// `config` and the environment `env`.
    pub fn resolve(flags: &RunFlags, config: &Settings, env: &Env) -> Self {
        let jobs = flags
            .jobs
            .combine(config.jobs)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
            .max(1);
        let fix = flags.fix;
        Self {
            jobs,
            fail_fast: flags.fail_fast.combine(config.fail_fast).unwrap_or(false),
            timeout: flags.timeout.combine(config.timeout.map(|timeout| timeout.0)),
            fix,
            rebuild_env: flags.rebuild_env,
            cache: !fix && flags.cache.combine(config.cache.enabled).unwrap_or(true),
            pass_env: config.pass_env.clone(),
            secret_env: config.secret_env.clone(),
            tool_pins: flags.tool_pins.clone().combine(config.tools.clone()),
            as_of: match (&flags.as_of, flags.report_as_of) {
                (Some(AsOf::Moment(moment)), _) => Some(ResolvedAsOf { moment: *moment, source: AsOfSource::Given }),
                (Some(AsOf::Commit | AsOf::CommitOf(_)), _) => None,
                (None, Some(moment)) => Some(ResolvedAsOf { moment, source: AsOfSource::Report }),
                (None, None) => None,
            },
            cache_dir: crate::tools::cache_dir(env.vars()),
            env: env.clone(),
            rev: flags.rev.clone(),
            outputs: flags.outputs.clone(),
            baseline: BaselineSource::resolve(flags, config),
            changed: None,
            state: StateLocation::Project,
            state_root: state_root(flags.state_dir.as_deref(), env),
        }
    }

    /// The same settings for a run on a temporary worktree of the project at `user_root`.
    pub fn in_worktree_of(mut self, user_root: &Path) -> Self {
        self.state = StateLocation::UserProject(user_root.to_path_buf());
        self
    }

    /// The secret-looking variables one node may see: the run's `pass-env` and the node's
    /// own. The one place the lists are merged.
    pub fn pass_env_for(&self, own: &[String]) -> Vec<String> {
        let mut names = self.pass_env.clone();
        for name in own {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        names
    }

    /// The state directory of a run on the project at `root`.
    /// `--state-dir` when given, else the project's `.greenlight/` (the user's checkout's for a
    /// run on another commit).
    pub fn state_dir(&self, root: &Path) -> PathBuf {
        if let Some(dir) = &self.state_root {
            return dir.clone();
        }
        match &self.state {
            StateLocation::Project => root.join(STATE_DIR),
            StateLocation::UserProject(user_root) => user_root.join(STATE_DIR),
        }
    }

    /// Where project environments are kept side by side, when they are: `envs/` of the state
    /// directory for runs on other commits.
    pub fn env_store(&self) -> Option<PathBuf> {
        match &self.state {
            StateLocation::Project => None,
            StateLocation::UserProject(user_root) => Some(self.state_dir(user_root).join("envs")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CacheSettings;
    use greenlight_checker::DurationValue;

    fn config() -> Settings {
        Settings {
            jobs: Some(3),
            timeout: Some(DurationValue(Duration::from_secs(600))),
            fail_fast: Some(true),
            pass_env: vec!["INDEX_TOKEN".into()],
            tools: BTreeMap::from([
                ("ruff".into(), ToolPin { version: Some("0.17.6".into()), path: None }),
                ("pytest".into(), ToolPin { version: Some("9.2.0".into()), path: None }),
            ]),
            cache: CacheSettings { enabled: Some(false), ..CacheSettings::default() },
            ..Settings::default()
        }
    }

    #[test]
    fn the_command_line_wins_over_the_file_which_wins_over_defaults() {
        let env = Env::from_pairs([("GREENLIGHT_CACHE_DIR", "/cache")]);
        let from_file = RunSettings::resolve(&RunFlags::default(), &config(), &env);
        assert_eq!((from_file.jobs, from_file.fail_fast, from_file.cache), (3, true, false));
        assert_eq!(from_file.timeout, Some(Duration::from_secs(600)));
        assert_eq!(from_file.cache_dir, PathBuf::from("/cache"));

        let flags = RunFlags {
            jobs: Some(7),
            fail_fast: Some(false),
            timeout: Some(Duration::from_secs(5)),
            cache: Some(true),
            tool_pins: BTreeMap::from([("ruff".into(), ToolPin { version: Some("0.14.10".into()), path: None })]),
            ..RunFlags::default()
        };
        let settings = RunSettings::resolve(&flags, &config(), &env);
        assert_eq!((settings.jobs, settings.fail_fast, settings.cache), (7, false, true));
        assert_eq!(settings.timeout, Some(Duration::from_secs(5)));
        assert_eq!(settings.tool_pins["ruff"].version.as_deref(), Some("0.14.10"));
        assert_eq!(settings.tool_pins["pytest"].version.as_deref(), Some("9.2.0"));

        let defaults = RunSettings::resolve(&RunFlags::default(), &Settings::default(), &Env::default());
        assert!(defaults.jobs >= 1 && !defaults.fail_fast && defaults.cache && defaults.timeout.is_none());
        let no_jobs = RunSettings::resolve(&RunFlags { jobs: Some(0), ..RunFlags::default() }, &config(), &env);
        assert_eq!(no_jobs.jobs, 1);
    }

    #[test]
    fn as_of_is_the_flag_else_the_reports() {
        let moment = |text: &str| text.parse::<Moment>().unwrap();
        let resolve = |as_of: Option<AsOf>, report: Option<&str>| {
            let flags = RunFlags { as_of, report_as_of: report.map(moment), ..RunFlags::default() };
            RunSettings::resolve(&flags, &Settings::default(), &Env::default()).as_of
        };
        assert_eq!(resolve(None, None), None);
        let given = resolve(Some(AsOf::Moment(moment("2025-06-10"))), Some("2024-01-01")).unwrap();
        assert_eq!((given.moment, given.source), (moment("2025-06-10"), AsOfSource::Given));
        let report = resolve(None, Some("2024-01-01")).unwrap();
        assert_eq!((report.moment, report.source), (moment("2024-01-01"), AsOfSource::Report));
        assert_eq!(resolve(Some(AsOf::Commit), Some("2024-01-01")), None, "the commit's date is filled in later");
    }

    #[test]
    fn the_baseline_is_the_flags_else_the_files_and_never_at_another_revision() {
        let file = Settings { baseline: Some("greenlight-baseline.json".into()), ..Settings::default() };
        let resolve =
            |flags: RunFlags, config: &Settings| RunSettings::resolve(&flags, config, &Env::default()).baseline;
        assert_eq!(resolve(RunFlags::default(), &Settings::default()), None);
        assert_eq!(
            resolve(RunFlags::default(), &file),
            Some(BaselineSource::File(PathBuf::from("greenlight-baseline.json")))
        );
        let new_from = RunFlags { new_from: Some("origin/main".into()), ..RunFlags::default() };
        assert_eq!(resolve(new_from.clone(), &file), Some(BaselineSource::MergeBase("origin/main".into())));
        let at_rev = RunFlags { rev: Some("abc".into()), ..new_from.clone() };
        assert_eq!(resolve(at_rev, &file), None);
        assert_eq!(resolve(RunFlags { no_baseline: true, ..new_from }, &file), None);
    }

    #[test]
    fn fix_never_uses_the_cache() {
        let flags = RunFlags { fix: true, cache: Some(true), ..RunFlags::default() };
        assert!(!RunSettings::resolve(&flags, &Settings::default(), &Env::default()).cache);
    }

    #[test]
    fn pass_env_is_the_runs_and_the_nodes_own() {
        let settings = RunSettings::resolve(&RunFlags::default(), &config(), &Env::default());
        assert_eq!(settings.pass_env_for(&[]), ["INDEX_TOKEN"]);
        assert_eq!(
            settings.pass_env_for(&["DB_PASSWORD".into(), "INDEX_TOKEN".into()]),
            ["INDEX_TOKEN", "DB_PASSWORD"]
        );
    }

    #[test]
    fn a_worktree_run_keeps_state_in_the_users_project() {
        let settings = RunSettings::resolve(&RunFlags::default(), &Settings::default(), &Env::default());
        assert_eq!(settings.state_dir(Path::new("/p")), PathBuf::from("/p/.greenlight"));
        assert_eq!(settings.env_store(), None);
        let settings = settings.in_worktree_of(Path::new("/user"));
        assert_eq!(settings.state_dir(Path::new("/tmp/wt")), PathBuf::from("/user/.greenlight"));
        assert_eq!(settings.env_store(), Some(PathBuf::from("/user/.greenlight/envs")));
    }

    #[test]
    fn the_state_dir_flag_wins_over_the_variable_for_every_location() {
        let env = Env::from_pairs([("GREENLIGHT_STATE_DIR", "/var/state")]);
        let settings = RunSettings::resolve(&RunFlags::default(), &Settings::default(), &env);
        assert_eq!(settings.state_dir(Path::new("/p")), PathBuf::from("/var/state"));
        assert_eq!(settings.env_store(), None);
        let settings = settings.in_worktree_of(Path::new("/user"));
        assert_eq!(settings.state_dir(Path::new("/tmp/wt")), PathBuf::from("/var/state"));
        assert_eq!(settings.env_store(), Some(PathBuf::from("/var/state/envs")));
        let flags = RunFlags { state_dir: Some("/flag".into()), ..RunFlags::default() };
        assert_eq!(
            RunSettings::resolve(&flags, &Settings::default(), &env).state_dir(Path::new("/p")),
            PathBuf::from("/flag")
        );
    }
}
