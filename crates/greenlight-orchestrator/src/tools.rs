//! Tool resolution: configured path → project environment → `PATH` → the pinned version
//! provisioned with uv into the user cache.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use greenlight_checker::{PythonEnv, ResolvedTool, ToolSource, ToolSpec};
use greenlight_process::{Cmd, Stop};
use serde::{Deserialize, Serialize};

use crate::config::ToolPin;
use crate::lock::FileLock;

/// Resolves tools for one run and remembers what it resolved (for the report).
#[derive(Debug)]
pub struct ToolResolver {
    root: PathBuf,
    pins: BTreeMap<String, ToolPin>,
    cache_dir: PathBuf,
    path_var: Option<String>,
    versions: Mutex<VersionCache>,
    resolved: Mutex<BTreeMap<String, ResolvedTool>>,
    provisioning: tokio::sync::Mutex<()>,
    pass_env: Vec<String>,
}

/// The version reported by an executable, cached by path, size and modification time so that
/// warm runs do not start Python just to ask a tool its version.
#[derive(Debug, Default, Serialize, Deserialize)]
struct VersionCache {
    entries: BTreeMap<String, String>,
    #[serde(skip)]
    dirty: bool,
}

impl ToolResolver {
    /// A resolver with the pins from the configuration (and `--tools-from`), provisioning
    /// into `cache_dir/tools`. `path_var` is the `PATH` to search (the user's).
    pub fn new(root: PathBuf, pins: BTreeMap<String, ToolPin>, cache_dir: PathBuf, path_var: Option<String>) -> Self {
        let versions = std::fs::read(cache_dir.join("versions.json"))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        Self {
            root,
            pins,
            cache_dir,
            path_var,
            versions: Mutex::new(versions),
            resolved: Mutex::new(BTreeMap::new()),
            provisioning: tokio::sync::Mutex::new(()),
            pass_env: Vec::new(),
        }
    }

    /// Lets the tools it runs (version probes, provisioning installs) see these
    /// secret-looking variables: the run's `pass-env`, which a private package index's
    /// credential may be in.
    pub fn with_pass_env(mut self, names: Vec<String>) -> Self {
        self.pass_env = names;
        self
    }

    /// The pin of `tool`, if any.
    pub fn pin(&self, tool: &str) -> Option<&ToolPin> {
        self.pins.get(tool)
    }

    /// Every tool resolved so far.
    pub fn resolved(&self) -> BTreeMap<String, ResolvedTool> {
        self.resolved.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Writes the version cache back if it changed.
    pub fn save(&self) {
        let mut versions = self.versions.lock().unwrap_or_else(|p| p.into_inner());
        if versions.dirty {
            let _ = std::fs::create_dir_all(&self.cache_dir);
            if let Ok(bytes) = serde_json::to_vec(&*versions) {
                let _ = crate::fsutil::write_atomic(&self.cache_dir.join("versions.json"), &bytes);
            }
            versions.dirty = false;
        }
    }

    /// Finds `spec` for a check. `environment` is the project environment when the check
    /// runs in it. `Err` is the reason for an `errored` outcome, naming where it looked.
    pub async fn resolve(
        &self,
        spec: &ToolSpec,
        environment: Option<&PythonEnv>,
        stop: &Stop,
    ) -> Result<ResolvedTool, String> {
        let pin = self.pins.get(spec.name).cloned().unwrap_or_default();
        let tool = self.resolve_inner(spec, &pin, environment, stop).await?;
        self.resolved.lock().unwrap_or_else(|p| p.into_inner()).insert(spec.name.to_string(), tool.clone());
        Ok(tool)
    }

    async fn resolve_inner(
        &self,
        spec: &ToolSpec,
        pin: &ToolPin,
        environment: Option<&PythonEnv>,
        stop: &Stop,
    ) -> Result<ResolvedTool, String> {
        if let Some(path) = &pin.path {
            let path = &self.root.join(path);
            if !path.is_file() {
                return Err(format!(
                    "`{}` is configured at {} in [tool.greenlight.tools], but that file does not exist; fix the path or remove it to use `{}` from PATH",
                    spec.name,
                    path.display(),
                    spec.executable
                ));
            }
            let version = self.version(spec, path, stop).await;
            if let Some(wanted) = &pin.version
                && !same_version(&version, wanted)
            {
                return Err(format!(
                    "`{}` at {} is version {version}, but version {wanted} is pinned",
                    spec.name,
                    path.display()
                ));
            }
            return Ok(self.tool(spec, path.clone(), version, ToolSource::Config));
        }

        let mut looked = Vec::new();
        let mut candidates = Vec::new();
        if let Some(environment) = environment {
            let path = environment.bin().join(spec.executable);
            looked.push(format!("the project environment ({})", environment.bin().display()));
            if path.is_file() {
                candidates.push((path, ToolSource::Environment));
            }
        }
        if !spec.in_environment || environment.is_none() {
            looked.push("PATH".to_string());
            if let Some(path) = self.which(spec.executable) {
                candidates.push((path, ToolSource::Path));
            }
        }
        let mut mismatches = Vec::new();
        for (path, source) in candidates {
            let version = self.version(spec, &path, stop).await;
            match &pin.version {
                Some(wanted) if !same_version(&version, wanted) => {
                    mismatches.push(format!("{} is {version}", path.display()))
                }
                _ => return Ok(self.tool(spec, path, version, source)),
            }
        }
        match (&pin.version, spec.pypi) {
            (Some(version), Some(package)) if !spec.in_environment => {
                self.provision(spec, package, version, stop).await
            }
            (Some(version), _) => Err(format!(
                "`{}` {version} is pinned but not found ({}); {}",
                spec.name,
                if mismatches.is_empty() {
                    format!("looked in {}", looked.join(" and "))
                } else {
                    mismatches.join(", ")
                },
                spec.install_hint
            )),
            (None, _) => Err(format!(
                "`{}` was not found (looked in {}); {}",
                spec.executable,
                looked.join(" and "),
                spec.install_hint
            )),
        }
    }

    fn tool(&self, spec: &ToolSpec, path: PathBuf, version: String, source: ToolSource) -> ResolvedTool {
        ResolvedTool { name: spec.name.to_string(), path, version, source }
    }

    fn which(&self, executable: &str) -> Option<PathBuf> {
        let cwd = std::env::current_dir().ok()?;
        which::which_in(executable, self.path_var.as_deref(), cwd).ok()
    }

    /// The version `path` reports, from the cache when the file is unchanged.
    pub async fn version(&self, spec: &ToolSpec, path: &Path, stop: &Stop) -> String {
        let key = file_key(path);
        if let Some(key) = &key
            && let Some(version) = self.versions.lock().unwrap_or_else(|p| p.into_inner()).entries.get(key)
        {
            return version.clone();
        }
        let output = Cmd::new(path)
            .args(spec.version_args)
            .pass_env(&self.pass_env)
            .timeout(std::time::Duration::from_secs(30))
            .run(stop)
            .await;
        let version = output
            .ok()
            .and_then(|output| parse_version(&format!("{}\n{}", output.stdout.text(), output.stderr.text())))
            .unwrap_or_else(|| "unknown".to_string());
        if let Some(key) = key {
            let mut versions = self.versions.lock().unwrap_or_else(|p| p.into_inner());
            versions.entries.insert(key, version.clone());
            versions.dirty = true;
        }
        version
    }

    /// Installs `package==version` into `<cache>/tools/<tool>-<version>/` (shared by every
    /// project) unless it is already there.
    async fn provision(
        &self,
        spec: &ToolSpec,
        package: &str,
        version: &str,
        stop: &Stop,
    ) -> Result<ResolvedTool, String> {
        let _one_at_a_time = self.provisioning.lock().await;
        let dir = self.cache_dir.join("tools").join(format!("{}-{version}", spec.name));
        let venv = dir.join("venv");
        let executable = venv.join("bin").join(spec.executable);
        let complete = dir.join(".complete");
        let resolved = |this: &Self| this.tool(spec, executable.clone(), version.to_string(), ToolSource::Provisioned);
        if complete.is_file() && executable.is_file() {
            return Ok(resolved(self));
        }
        std::fs::create_dir_all(&dir).map_err(|error| format!("cannot create {}: {error}", dir.display()))?;
        let _lock = FileLock::acquire(&dir.join(".lock"), stop)
            .await
            .map_err(|error| format!("cannot lock {}: {error}", dir.display()))?;
        if complete.is_file() && executable.is_file() {
            return Ok(resolved(self));
        }
        let _ = std::fs::remove_dir_all(&venv);
        let requirement = format!("{package}=={version}");
        let log = dir.join("install.log");
        let steps: Vec<Cmd> = match self.which("uv") {
            Some(uv) => vec![
                Cmd::new(&uv).args(["venv", "--quiet", "--no-project"]).arg(&venv),
                Cmd::new(&uv)
                    .args(["pip", "install", "--quiet", "--python"])
                    .arg(venv.join("bin/python"))
                    .arg(&requirement),
            ],
            None => {
                let python = self.which("python3").unwrap_or_else(|| PathBuf::from("python3"));
                vec![
                    Cmd::new(&python).args(["-m", "venv"]).arg(&venv),
                    Cmd::new(venv.join("bin/pip"))
                        .args(["install", "--quiet", "--disable-pip-version-check"])
                        .arg(&requirement),
                ]
            }
        };
        for step in steps {
            let step = step
                .current_dir(&dir)
                .log_file(&log)
                .pass_env(&self.pass_env)
                .timeout(std::time::Duration::from_secs(600));
            let output = step.run(stop).await.map_err(|error| format!("cannot provision {requirement}: {error}"))?;
            if !output.status.success() {
                let _ = std::fs::remove_dir_all(&venv);
                return Err(format!(
                    "cannot provision `{}` {version} (pinned): `{}` ended with {}:\n{}",
                    spec.name,
                    step.display(),
                    output.status,
                    output.both_tails(15)
                ));
            }
        }
        if !executable.is_file() {
            return Err(format!("installed {requirement}, but it has no `{}` executable", spec.executable));
        }
        std::fs::write(&complete, b"").map_err(|error| format!("cannot write {}: {error}", complete.display()))?;
        Ok(resolved(self))
    }
}

/// `path|size|mtime`, or `None` when the file cannot be read.
fn file_key(path: &Path) -> Option<String> {
    let metadata = std::fs::metadata(path).ok()?;
    let modified = metadata.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some(format!("{}|{}|{}", path.display(), metadata.len(), modified.as_nanos()))
}

/// The first word that looks like a version (`ruff 0.17.6` → `0.17.6`, `v8.16.0` → `8.16.0`).
pub fn parse_version(text: &str) -> Option<String> {
    text.split(|c: char| c.is_whitespace() || c == ',' || c == '(' || c == ')').find_map(|word| {
        let word = word.strip_prefix('v').unwrap_or(word);
        let looks = word.chars().next().is_some_and(|c| c.is_ascii_digit())
            && word.contains('.')
            && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '+' || c == '-');
        looks.then(|| word.to_string())
    })
}

/// Versions are equal when equal as strings after trimming a `v`.
fn same_version(found: &str, wanted: &str) -> bool {
    found.trim_start_matches('v') == wanted.trim_start_matches('v')
}

/// The user cache directory: `$GREENLIGHT_CACHE_DIR`, `$XDG_CACHE_HOME/greenlight` or
/// `~/.cache/greenlight`.
pub fn cache_dir(vars: &BTreeMap<String, String>) -> PathBuf {
    greenlight_env::Env::from(vars.clone())
        .user_cache_dir()
        .unwrap_or_else(|| std::env::temp_dir().join("greenlight-cache"))
}

/// Shared handle.
pub type SharedResolver = Arc<ToolResolver>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(parse_version("ruff 0.17.6").as_deref(), Some("0.17.6"));
        assert_eq!(parse_version("pytest 9.2.0\n").as_deref(), Some("9.2.0"));
        assert_eq!(parse_version("build 1.6.1 (/usr/lib/python3/site-packages/build)").as_deref(), Some("1.6.1"));
        assert_eq!(parse_version("v8.16.0").as_deref(), Some("8.16.0"));
        assert_eq!(parse_version("version is set by build process"), None);
        assert_eq!(parse_version("pip-audit 2.10.1").as_deref(), Some("2.10.1"));
    }
}
