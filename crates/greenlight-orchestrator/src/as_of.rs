//! `--as-of DATE|commit`: the Python tools greenlight installs and the project environment
//! resolved as they were at a moment, so that an unpinned project gets what its CI installed
//! that day (uv's `--exclude-newer`: only what was uploaded to the index before it).
//!
//! `--as-of commit` is the committer date of the commit each run checks (the working tree's
//! `HEAD`, the `--rev`, each commit bisect probes). Which release of a tool a moment gives is
//! asked of the index once (`uv pip compile --no-deps --exclude-newer`) and remembered in
//! `<cache>/tools/as-of/<package>.json`; the release itself is installed like a pinned one,
//! into `<cache>/tools/<name>-<version>/`, so commits whose dates give the same release share
//! one install and nothing is installed per probe. Between two remembered moments that gave
//! the same release, every moment gives it (a newer release would have been seen by the later
//! one), so a bisection asks the index only for the dates it has not bracketed yet.
//!
//! Precedence per tool ([`ToolResolver`]): a configured path, then a pinned version
//! (`--tool`, `--tools-from`, `[tool.greenlight.tools]`: the moment changes nothing pinned),
//! then the project environment when the project declares the tool (made as of the same
//! moment, as CI's `pip install -e .[dev]` was), else the release of the moment, installed —
//! never a tool from `PATH`, which is not "as of" anything. uv (greenlight's installer) and
//! tools that are not Python packages (gitleaks) are resolved as without `--as-of`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use greenlight_checker::git::Git;
use greenlight_checker::{Project, ResolvedTool, ToolSpec};
use greenlight_env::{Env, EnvVars};
use greenlight_process::{Cmd, Stop};
use serde::{Deserialize, Serialize};

use crate::tools::{ToolError, ToolResolver};

/// What `--as-of` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AsOf {
    /// A moment.
    Moment(Moment),
    /// The committer date of the commit each run checks.
    Commit,
    /// The committer date of this commit (a full sha), whatever the run checks: `hotfix`
    /// judges its branch by the tools of the base it restores.
    CommitOf(String),
}

/// A moment, to the second, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Moment(u64);

/// Why an `--as-of` value cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a moment; give a date (`2025-06-10`, the start of that day in UTC), a time (`2025-06-10T14:30:00Z`, `2025-06-10T16:30:00+02:00`) or `commit` (each checked commit's committer date)"
)]
pub struct AsOfError(String);

impl FromStr for AsOf {
    type Err = AsOfError;

    fn from_str(text: &str) -> Result<Self, AsOfError> {
        match text.trim() {
            "commit" => Ok(AsOf::Commit),
            other => other.parse().map(AsOf::Moment),
        }
    }
}

impl FromStr for Moment {
    type Err = AsOfError;

    fn from_str(text: &str) -> Result<Self, AsOfError> {
        let invalid = || AsOfError(text.to_string());
        let text = text.trim();
        // A date alone is the start of that day, in UTC.
        let (stamp, offset) = if text.len() == 10 {
            (format!("{text}T00:00:00Z"), 0i64)
        } else if let Some(utc) = text.strip_suffix('Z').or_else(|| text.strip_suffix('z')) {
            (format!("{utc}Z"), 0)
        } else {
            // `+HH:MM` / `-HH:MM` after the time.
            let split = text.len().checked_sub(6).filter(|at| text.is_char_boundary(*at)).ok_or_else(invalid)?;
            let (local, zone) = text.split_at(split);
            let sign = match zone.as_bytes().first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return Err(invalid()),
            };
            let (hours, minutes) = zone[1..].split_once(':').ok_or_else(invalid)?;
            let hours: i64 = hours.parse().map_err(|_| invalid())?;
            let minutes: i64 = minutes.parse().map_err(|_| invalid())?;
            (format!("{local}Z"), sign * (hours * 3600 + minutes * 60))
        };
        let local = humantime::parse_rfc3339(&stamp).map_err(|_| invalid())?;
        let seconds = local.duration_since(UNIX_EPOCH).map_err(|_| invalid())?.as_secs();
        let seconds = i64::try_from(seconds).map_err(|_| invalid())? - offset;
        Ok(Moment(u64::try_from(seconds).map_err(|_| invalid())?))
    }
}

impl Moment {
    /// The moment `seconds` after the Unix epoch (git's `%ct`).
    pub fn from_unix(seconds: u64) -> Self {
        Moment(seconds)
    }

    /// Seconds since the Unix epoch.
    pub fn unix(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Moment {
    /// RFC 3339 in UTC, as uv's `--exclude-newer` and pip's `--uploaded-prior-to` take it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(self.0)))
    }
}

/// The moment a run resolves as of, and where it came from (for the report).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedAsOf {
    /// The moment.
    pub moment: Moment,
    /// Where it came from.
    pub source: AsOfSource,
}

/// Where a run's `--as-of` moment came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AsOfSource {
    /// `--as-of DATE`.
    Given,
    /// `--as-of commit`: this commit's committer date.
    Commit(String),
    /// The `as_of` of the `--tools-from` report.
    Report,
}

impl ResolvedAsOf {
    /// What the report records.
    pub fn info(&self) -> greenlight_report::AsOfInfo {
        let (source, commit) = match &self.source {
            AsOfSource::Given => ("date", None),
            AsOfSource::Commit(sha) => ("commit", Some(sha.clone())),
            AsOfSource::Report => ("report", None),
        };
        greenlight_report::AsOfInfo { date: self.moment.to_string(), source: source.to_string(), commit }
    }
}

/// The committer date of `rev` (`HEAD`: the checkout's commit) in the repository of
/// `project`, git running with the user's configuration from `env`: `--as-of commit`.
pub async fn commit_moment(project: &Project, env: &Env, rev: &str, stop: &Stop) -> Result<(String, Moment), String> {
    let root = &project.root;
    let output = Git::for_project(project, env.get(EnvVars::GIT_CONFIG_COUNT))
        .cmd(root)
        .args(["show", "-s", "--no-show-signature", "--format=%H %ct", rev])
        .run(stop)
        .await
        .map_err(|error| format!("`--as-of commit` cannot run git: {error}"))?;
    let text = output.stdout.text();
    let parsed = text.split_once(' ').and_then(|(sha, seconds)| Some((sha, seconds.trim().parse::<u64>().ok()?)));
    match parsed {
        Some((sha, seconds)) if output.status.success() => Ok((sha.to_string(), Moment(seconds))),
        _ => Err(format!(
            "`--as-of commit` takes the checked commit's date, but {} has no commit (not a git repository, or no commit yet); give a date instead (`--as-of 2025-06-10`)",
            root.display()
        )),
    }
}

/// The release of each package that moments gave, remembered per package.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Releases {
    /// Unix seconds → the version the index gave then.
    versions: BTreeMap<u64, String>,
}

impl Releases {
    fn path(cache_dir: &Path, package: &str) -> PathBuf {
        cache_dir.join("tools").join("as-of").join(format!("{package}.json"))
    }

    fn load(cache_dir: &Path, package: &str) -> Self {
        std::fs::read(Self::path(cache_dir, package))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// The release at `moment` when it is known: remembered for it, or the same release
    /// remembered on both sides of it.
    fn at(&self, moment: Moment) -> Option<&str> {
        if let Some(version) = self.versions.get(&moment.0) {
            return Some(version);
        }
        let before = self.versions.range(..moment.0).next_back()?.1;
        let after = self.versions.range(moment.0..).next()?.1;
        (before == after).then_some(before.as_str())
    }
}

/// How to ask the index which release of a package a moment gives.
#[derive(Debug)]
pub struct ReleaseQuery<'a> {
    /// The user cache (`<cache>/tools/as-of/`).
    pub cache_dir: &'a Path,
    /// The uv that asks.
    pub uv: &'a Path,
    /// The interpreter the tool will run on (its `requires-python` decides, as in CI).
    pub python: &'a Path,
    /// Secret-looking variables the index may need.
    pub pass_env: &'a [String],
}

impl ReleaseQuery<'_> {
    /// The newest release of `package` uploaded before `moment`.
    pub async fn release(&self, package: &str, moment: Moment, stop: &Stop) -> Result<String, String> {
        if let Some(version) = Releases::load(self.cache_dir, package).at(moment) {
            return Ok(version.to_string());
        }
        let dir = self.cache_dir.join("tools").join("as-of");
        std::fs::create_dir_all(&dir).map_err(|error| format!("cannot create {}: {error}", dir.display()))?;
        let input = dir.join(format!("{package}.in"));
        std::fs::write(&input, format!("{package}\n"))
            .map_err(|error| format!("cannot write {}: {error}", input.display()))?;
        let command = Cmd::new(self.uv)
            .args(["pip", "compile", "--no-deps", "--no-header", "--no-annotate", "--quiet", "--exclude-newer"])
            .arg(moment.to_string())
            .arg("--python")
            .arg(self.python)
            .arg(&input)
            .env("UV_PYTHON_DOWNLOADS", "never")
            .env("UV_NO_PROGRESS", "1")
            .pass_env(self.pass_env)
            .timeout(Duration::from_secs(120));
        let display = command.display();
        let output = command.run(stop).await.map_err(|error| format!("cannot run `{display}`: {error}"))?;
        let version = output.stdout.text().lines().find_map(|line| pinned_version(line, package));
        let Some(version) = version.filter(|_| output.status.success()) else {
            return Err(format!(
                "cannot find the release of `{package}` as of {moment}: `{display}` ended with {}:\n{}\nthe package index may have nothing that old; pin a version instead (`--tool NAME=VERSION`)",
                output.status,
                output.both_tails(12).trim()
            ));
        };
        // Remembered for the next run (a lost update of a concurrent run only costs a query).
        let mut releases = Releases::load(self.cache_dir, package);
        releases.versions.insert(moment.0, version.clone());
        if let Ok(bytes) = serde_json::to_vec_pretty(&releases) {
            let _ = crate::fsutil::write_atomic(&Releases::path(self.cache_dir, package), &bytes);
        }
        Ok(version)
    }
}

impl ToolResolver {
    /// Installs `spec` as the release of `package` at `moment` (`--as-of`).
    pub(crate) async fn provision_as_of(
        &self,
        spec: &ToolSpec,
        package: &str,
        moment: Moment,
        stop: &Stop,
    ) -> Result<ResolvedTool, ToolError> {
        let name = spec.name;
        if !self.provision {
            return Err(ToolError::Missing(format!(
                "`--as-of` installs the release of `{name}` of {moment}, but `provision = false` in [tool.greenlight] keeps greenlight from installing it; pin a version that is on PATH (`--tool {name}=VERSION`), or allow provisioning"
            )));
        }
        let uv = Box::pin(self.uv(stop)).await?.ok_or_else(|| {
            ToolError::Missing(format!("cannot find the `{name}` release of {moment}: uv is needed and not found"))
        })?;
        let python = self.which("python3").unwrap_or_else(|| PathBuf::from("python3"));
        let query =
            ReleaseQuery { cache_dir: &self.cache_dir, uv: &uv.path, python: &python, pass_env: &self.pass_env };
        let version = match query.release(package, moment, stop).await {
            Ok(version) => version,
            Err(_) if stop.is_cancelled() => return Err(ToolError::Cancelled),
            Err(reason) => return Err(ToolError::Missing(reason)),
        };
        let tool = self.provision(spec, &version, "the release of the --as-of moment", stop).await?;
        self.as_of_tools.lock().unwrap_or_else(|p| p.into_inner()).insert(name.to_string(), moment);
        Ok(tool)
    }
}

/// `ruff==0.14.10` → `0.14.10` when the line pins `package` (names compared normalized).
fn pinned_version(line: &str, package: &str) -> Option<String> {
    let (name, version) = line.trim().split_once("==")?;
    let same = greenlight_checker::normalize_name(name.trim()) == greenlight_checker::normalize_name(package);
    let version = version.split([' ', ';', '#']).next()?.trim();
    (same && !version.is_empty()).then(|| version.to_string())
}

/// The moment now (for messages and tests).
pub fn now() -> Moment {
    Moment(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moment(text: &str) -> Moment {
        text.parse().unwrap()
    }

    #[test]
    fn dates_times_and_offsets() {
        assert_eq!(moment("2025-12-29").to_string(), "2025-12-29T00:00:00Z");
        assert_eq!(moment("2025-12-29T13:05:00Z").to_string(), "2025-12-29T13:05:00Z");
        assert_eq!(moment("2025-12-29T15:05:00+02:00").to_string(), "2025-12-29T13:05:00Z");
        assert_eq!(moment("2025-12-29T08:05:00-05:00").to_string(), "2025-12-29T13:05:00Z");
        assert_eq!("commit".parse::<AsOf>(), Ok(AsOf::Commit));
        assert_eq!("2025-06-10".parse::<AsOf>(), Ok(AsOf::Moment(moment("2025-06-10T00:00:00Z"))));
        for bad in ["yesterday", "2025-13-01", "2025-06-10T25:00:00Z", "2025-06-10T10:00:00+0200", ""] {
            let error = bad.parse::<AsOf>().unwrap_err().to_string();
            assert!(error.contains("is not a moment") && error.contains("`commit`"), "{bad}: {error}");
        }
        assert_eq!(Moment::from_unix(1_767_225_600).to_string(), "2026-01-01T00:00:00Z");
    }

    #[test]
    fn a_release_between_two_equal_answers_is_known() {
        let mut releases = Releases::default();
        releases.versions.insert(moment("2025-06-01").unix(), "0.11.12".to_string());
        releases.versions.insert(moment("2025-06-05").unix(), "0.11.12".to_string());
        releases.versions.insert(moment("2025-12-29").unix(), "0.14.10".to_string());
        assert_eq!(releases.at(moment("2025-06-01")), Some("0.11.12"));
        assert_eq!(releases.at(moment("2025-06-03T12:00:00Z")), Some("0.11.12"));
        assert_eq!(releases.at(moment("2025-07-01")), None, "different answers on both sides: ask");
        assert_eq!(releases.at(moment("2025-05-01")), None, "nothing known before it");
        assert_eq!(releases.at(moment("2026-01-01")), None, "nothing known after it");
    }

    #[test]
    fn reads_uv_pins() {
        assert_eq!(pinned_version("ruff==0.14.10", "ruff").as_deref(), Some("0.14.10"));
        assert_eq!(pinned_version("pip-audit==2.6.1\n", "pip_audit").as_deref(), Some("2.6.1"));
        assert_eq!(pinned_version("build==1.2.1 ; python_version >= '3.8'", "build").as_deref(), Some("1.2.1"));
        assert_eq!(pinned_version("packaging==24.0", "build"), None);
        assert_eq!(pinned_version("# via foo", "build"), None);
    }
}
