//! The project environment: a virtual environment under `.greenlight/venv` with the project
//! installed editable with its extras, keyed by a hash of its dependency files and reused
//! while the key holds.
//!
//! With a store ([`EnvRequest::store`], used by `greenlight run --rev`, `bisect` and `hotfix`)
//! environments live in `<store>/<key>`, several side by side, so runs on different commits
//! reuse the environment of any commit with equal dependency files. An environment records the
//! project root its editable install points at; a stored one reused for another root (a
//! worktree in another directory) gets only the project reinstalled (`--no-deps -e`), not its
//! dependencies. The single `.greenlight/venv` of a project that moved is rebuilt (a venv's
//! scripts name its own path).
//!
//! The key does not depend on which checks a run selected: the packages the checks install
//! into it are those of every check the configuration runs, so a ruff-only run and a pytest
//! run of the same commit share one environment.
//!
//! Concurrent runs: a run holds its environment with a shared lock from the moment it is
//! ready until the run ends ([`Lease`]), so any number of runs use it at once. A change
//! (a build, `--rebuild-env`, repointing) takes the environment's build lock and then its
//! lock exclusively, so it waits for the runs using it to end, and says for whom it waits
//! (their pid and since when, recorded beside the lock) on stderr, in the node's log and in
//! its summary; it then keeps a shared lock for its own checks.
//!
//! With `--as-of` ([`EnvRequest::as_of`]) the install takes only what was uploaded before the
//! moment (uv's `--exclude-newer`; pip's `--uploaded-prior-to` where the environment's pip has
//! it, else today's packages, which the node's summary says), and the moment is part of the key.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use greenlight_checker::{Project, PythonEnv, ToolSpec};
use greenlight_process::{Cmd, Stop};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::as_of::Moment;
use crate::config::{EnvironmentSettings, Installer};
use crate::lock::{self, FileLock, Holder, HolderInfo, Mode};
use crate::tools::{ToolResolver, UV};

/// The environment's node id in the graph and the report.
pub const NODE_ID: &str = greenlight_checker::ENVIRONMENT;
/// Where it lives under the project root.
pub const VENV_DIR: &str = ".greenlight/venv";
const STAMP: &str = "greenlight-env.json";

const PYTHON: ToolSpec = ToolSpec {
    name: "python",
    executable: "python3",
    version_args: &["--version"],
    pypi: None,
    in_environment: false,
    install_hint: "install Python 3 or set [tool.greenlight.environment] python = \"/path/to/python\"",
    default_version: None,
    wheel: None,
};

/// What the environment is made from; its hash is the key.
#[derive(Debug, Clone)]
pub struct EnvRequest {
    /// Extras to install with the project.
    pub extras: Vec<String>,
    /// Packages the checks need inside it (`pytest`, or `pytest==9.2.0` when pinned).
    pub packages: Vec<String>,
    /// Requirements files to install.
    pub requirements: Vec<PathBuf>,
    /// Force a rebuild (`--rebuild-env`).
    pub rebuild: bool,
    /// Keep environments in this directory, one per key (`<store>/<key>`), instead of the single
    /// `venv` of the state directory. `None`: the single environment (plain runs).
    pub store: Option<PathBuf>,
    /// The run's state directory (`.greenlight/`, or `--state-dir`): the single environment
    /// is its `venv`.
    pub state_dir: PathBuf,
    /// Secret-looking variables the installer may see (a private index's credential).
    pub pass_env: Vec<String>,
    /// `--as-of`: install only what the index had at this moment.
    pub as_of: Option<Moment>,
}

/// The outcome of preparing the environment.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The environment.
    pub env: PythonEnv,
    /// True when an existing environment was reused.
    pub reused: bool,
    /// `uv` or `pip`.
    pub installer: &'static str,
    /// The key (hex).
    pub key: String,
    /// The main install command (for the report).
    pub command: Option<Vec<String>>,
    /// Where it is, for messages: `.greenlight/venv`, or `.greenlight/envs/<key>` in a store.
    pub display_dir: String,
    /// True when a reused environment was pointed at this project root (its dependencies
    /// were kept; only the project was reinstalled).
    pub repointed: bool,
    /// With `--as-of`: why the packages are today's and not the moment's (an installer that
    /// cannot filter by upload time), for the node's summary.
    pub not_as_of: Option<String>,
    /// Whom the run waited for (a run using the environment while this one rebuilds it, a
    /// run building it), for the node's summary.
    pub waited_for: Option<String>,
    /// The run's hold on the environment: keep it while checks use it.
    pub lease: Option<Arc<Lease>>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Stamp {
    key: String,
    python_version: String,
    installer: String,
    /// The project root the editable install points at (absent in stamps of older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    root: Option<PathBuf>,
}

/// How many environments a store keeps; the least recently used beyond that are removed.
pub const STORE_KEEP: usize = 6;

/// The extras to install: configured, else `dev` when the project defines it.
pub fn default_extras(project: &Project, settings: &EnvironmentSettings) -> Vec<String> {
    if let Some(extras) = &settings.extras {
        return extras.clone();
    }
    match &project.pyproject {
        Some(pyproject) if pyproject.optional_dependencies.contains_key("dev") => {
            vec!["dev".to_string()]
        }
        _ => Vec::new(),
    }
}

/// The PyPI packages the environment will contain by declaration (for tool resolution: a
/// tool the project pins in its extras is used from the environment).
pub fn declared_packages(project: &Project, extras: &[String]) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    if let Some(pyproject) = &project.pyproject {
        let extra_deps = extras.iter().filter_map(|extra| pyproject.optional_dependencies.get(extra)).flatten();
        for requirement in pyproject.dependencies.iter().chain(extra_deps) {
            names.insert(greenlight_checker::normalize_name(greenlight_checker::requirement_name(requirement)));
        }
    }
    names
}

/// Makes or reuses the environment. `Err` is the reason for an `errored` node, with the
/// installer's own error lines.
pub async fn prepare(
    project: &Project,
    settings: &EnvironmentSettings,
    request: &EnvRequest,
    resolver: &ToolResolver,
    log: &Path,
    stop: &Stop,
) -> Result<Prepared, String> {
    let python = match &settings.python {
        Some(python) if python.contains('/') => PathBuf::from(python),
        Some(python) => which::which(python).map_err(|_| {
            format!("the interpreter `{python}` set in [tool.greenlight.environment] python was not found on PATH")
        })?,
        None => {
            which::which("python3").map_err(|_| format!("`python3` was not found on PATH; {}", PYTHON.install_hint))?
        }
    };
    let python_version = resolver.version(&PYTHON, &python, stop).await;
    // uv from PATH, else greenlight's own (installed unless `provision = false`).
    let installer = match settings.installer.unwrap_or_default() {
        Installer::Pip => None,
        Installer::Uv => match resolver.uv(stop).await.map_err(|error| error.to_string())? {
            Some(uv) => Some(uv.path),
            None => return Err(format!("`uv` was not found on PATH; {}", UV.install_hint)),
        },
        // A uv that cannot be installed leaves pip to do it.
        Installer::Auto => resolver.uv(stop).await.ok().flatten().map(|uv| uv.path),
    };
    let installer_name = if installer.is_some() { "uv" } else { "pip" };
    let key = env_key(project, request, &python, &python_version, installer_name);

    let (root, lock_path, display_dir) = match &request.store {
        Some(store) => (store.join(&key), store.join(format!("{key}.lock")), format!(".greenlight/envs/{key}")),
        None => {
            let venv = request.state_dir.join("venv");
            let display = if request.state_dir == project.root.join(crate::STATE_DIR) {
                VENV_DIR.to_string()
            } else {
                venv.display().to_string()
            };
            (venv, request.state_dir.join("venv.lock"), display)
        }
    };
    let build_lock_path = lock_path.with_extension("build.lock");
    let env = python_env(&root, &python_version);
    let installs_project =
        project.pyproject.as_ref().is_some_and(|p| p.name.is_some() || p.has_build_system) || project.has("setup.py");
    let job = Job {
        project,
        request,
        root: &root,
        key: &key,
        python: &python,
        python_version: &python_version,
        installer: installer.as_deref(),
        installer_name,
        installs_project,
        log,
        timeout: settings.timeout.map_or(std::time::Duration::from_secs(1800), |timeout| timeout.0),
        stop,
    };
    let mut waited = Waited::new(&display_dir, log);
    let lock_error = |error: std::io::Error| format!("cannot lock the project environment: {error}");

    // Reuse, the common case: under a shared lock, beside any other run using it.
    if !request.rebuild {
        let shared = FileLock::acquire_as(&lock_path, Mode::Shared, stop, |_| waited.note(&lock_path))
            .await
            .map_err(lock_error)?;
        if let Some(stamp) = job.usable(&env)
            && !job.needs_repoint(&stamp)
        {
            if request.store.is_some() {
                // Refresh the modification time: the store removes the least recently used.
                write_stamp(&root, &key, &python_version, installer_name, &project.root)?;
            }
            let lease = Lease { _holder: Holder::record(&lock_path, "using it"), _lock: shared };
            return Ok(Prepared {
                env,
                reused: true,
                installer: installer_name,
                key,
                command: None,
                waited_for: waited.summary(),
                display_dir,
                repointed: false,
                not_as_of: None,
                lease: Some(Arc::new(lease)),
            });
        }
    }

    // A change (build, rebuild, repoint): one changer at a time, and nobody using it.
    let changing = FileLock::acquire_as(&build_lock_path, Mode::Exclusive, stop, |_| waited.note(&build_lock_path))
        .await
        .map_err(lock_error)?;
    let doing = if request.rebuild { "rebuilding it" } else { "building it" };
    let building = Holder::record(&build_lock_path, doing);
    let exclusive = FileLock::acquire_as(&lock_path, Mode::Exclusive, stop, |_| waited.note(&lock_path))
        .await
        .map_err(lock_error)?;
    let changed = match job.usable(&env).filter(|_| !request.rebuild) {
        // Another run built it while this one waited.
        Some(stamp) if !job.needs_repoint(&stamp) => Ok(Changed { reused: true, ..Changed::default() }),
        Some(_) => job.repoint(&env).await,
        None => job.build().await,
    };
    drop(exclusive);
    // Only a holder of the build lock takes the lock exclusively, so nothing changes the
    // environment between the two.
    let shared = FileLock::acquire_as(&lock_path, Mode::Shared, stop, |_| {}).await.map_err(lock_error)?;
    let lease = Lease { _holder: Holder::record(&lock_path, "using it"), _lock: shared };
    drop(building);
    drop(changing);
    let changed = changed?;
    if !changed.reused
        && let Some(store) = &request.store
    {
        prune_store(store, &key, STORE_KEEP);
    }
    Ok(Prepared {
        env,
        reused: changed.reused,
        installer: installer_name,
        key,
        command: changed.command,
        waited_for: waited.summary(),
        display_dir,
        repointed: changed.repointed,
        not_as_of: changed.not_as_of,
        lease: Some(Arc::new(lease)),
    })
}

/// A run's hold on its environment: a shared lock and its record (who, since when), so that
/// a rebuild waits for the run to end and can say so. Released when dropped.
#[derive(Debug)]
pub struct Lease {
    _lock: FileLock,
    _holder: Holder,
}

/// Whom a run waited for before it got the environment.
struct Waited<'a> {
    display_dir: &'a str,
    log: &'a Path,
    holders: Vec<HolderInfo>,
}

impl<'a> Waited<'a> {
    fn new(display_dir: &'a str, log: &'a Path) -> Self {
        Self { display_dir, log, holders: Vec::new() }
    }

    /// Says (on stderr and in the node's log) what holds `lock`, once per holder.
    fn note(&mut self, lock: &Path) {
        let holders = lock::holders(lock);
        let new: Vec<HolderInfo> = holders.into_iter().filter(|holder| !self.holders.contains(holder)).collect();
        if new.is_empty() {
            return;
        }
        let names: Vec<String> = new.iter().map(ToString::to_string).collect();
        let line = format!("waiting for the project environment {}: {}", self.display_dir, names.join("; "));
        tracing::warn!("{line}");
        greenlight_checker::CheckLog::open(self.log).line(&line);
        self.holders.extend(new);
    }

    fn summary(&self) -> Option<String> {
        (!self.holders.is_empty()).then(|| {
            let names: Vec<String> = self.holders.iter().map(ToString::to_string).collect();
            format!("waited for {}", names.join("; "))
        })
    }
}

/// What a change to the environment did.
#[derive(Debug, Default)]
struct Changed {
    reused: bool,
    repointed: bool,
    command: Option<Vec<String>>,
    not_as_of: Option<String>,
}

/// Everything the steps that make or repoint one environment need.
struct Job<'a> {
    project: &'a Project,
    request: &'a EnvRequest,
    root: &'a Path,
    key: &'a str,
    python: &'a Path,
    python_version: &'a str,
    installer: Option<&'a Path>,
    installer_name: &'static str,
    installs_project: bool,
    log: &'a Path,
    timeout: std::time::Duration,
    stop: &'a Stop,
}

impl Job<'_> {
    /// The stamp of an existing environment of this key that can be used as it is or
    /// repointed. A single environment made for another root moved with its project: its
    /// scripts name the old path, so it is rebuilt. One in a store stays where it is.
    fn usable(&self, env: &PythonEnv) -> Option<Stamp> {
        read_stamp(self.root)
            .filter(|stamp| stamp.key == self.key)
            .filter(|_| env.python.is_file())
            .filter(|stamp| self.request.store.is_some() || !self.moved(stamp))
    }

    fn moved(&self, stamp: &Stamp) -> bool {
        stamp.root.as_ref().is_some_and(|old| old != &self.project.root)
    }

    /// An environment of the store made for another checkout (a worktree elsewhere) has its
    /// editable install pointing there.
    fn needs_repoint(&self, stamp: &Stamp) -> bool {
        self.installs_project && self.moved(stamp)
    }

    fn step(&self, cmd: Cmd) -> Cmd {
        let cmd = cmd
            .current_dir(&self.project.root)
            .log_file(self.log)
            .pass_env(&self.request.pass_env)
            .timeout(self.timeout);
        match self.setuptools_config() {
            Some(config) => cmd.env("DIST_EXTRA_CONFIG", config),
            None => cmd,
        }
    }

    /// An extra setuptools configuration (`DIST_EXTRA_CONFIG`, setuptools 62.4 and later) that
    /// puts the `<name>.egg-info/` and `build/` of the project's install in the state
    /// directory's `setuptools/<key>/` instead of next to the sources: a read-only checkout can
    /// be installed editable, and the tree is not written. Older setuptools ignore it and write
    /// into the tree, from where [`remove_new_egg_info`] removes it again.
    fn setuptools_config(&self) -> Option<PathBuf> {
        let dir = self.setuptools_dir();
        std::fs::create_dir_all(&dir).ok()?;
        // configparser interpolates `%`.
        let escaped = |path: PathBuf| path.display().to_string().replace('%', "%%");
        let text = format!(
            "# Written by greenlight: setuptools' by-products of the project's install go here.\n[egg_info]\negg_base = {}\n[build]\nbuild_base = {}\n",
            escaped(dir.clone()),
            escaped(dir.join("build-base"))
        );
        let config = dir.join("setup.cfg");
        std::fs::write(&config, text).ok()?;
        Some(config)
    }

    fn setuptools_dir(&self) -> PathBuf {
        self.request.state_dir.join("setuptools").join(self.key)
    }

    /// Removes what the install left: setuptools' directory in the state directory, and the
    /// `<name>.egg-info/` an older setuptools wrote into the tree (not there `before`).
    fn remove_by_products(&self, before: &BTreeSet<PathBuf>) {
        let _ = std::fs::remove_dir_all(self.setuptools_dir());
        remove_new_egg_info(&self.project.root, before);
    }

    /// Reinstalls only the project, not its dependencies.
    async fn repoint(&self, env: &PythonEnv) -> Result<Changed, String> {
        let root = &self.project.root;
        let egg_info_before = egg_info_dirs(root);
        let step = match self.installer {
            Some(uv) => {
                Cmd::new(uv).args(["pip", "install", "--no-deps", "--python"]).arg(&env.python).arg("-e").arg(root)
            }
            None => Cmd::new(&env.python)
                .args(["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--no-deps", "-e"])
                .arg(root),
        };
        let step = self.step(step);
        let output = step.run(self.stop).await.map_err(|error| error.to_string())?;
        self.remove_by_products(&egg_info_before);
        if !output.status.success() {
            return Err(format!(
                "`{}` (pointing the reused environment at this checkout) ended with {}:\n{}",
                step.display(),
                output.status,
                installer_error_lines(&output.both_tails(40))
            ));
        }
        write_stamp(self.root, self.key, self.python_version, self.installer_name, root)?;
        Ok(Changed { reused: true, repointed: true, command: Some(step.argv()), not_as_of: None })
    }

    /// Makes the environment from nothing.
    async fn build(&self) -> Result<Changed, String> {
        let (project, request, root, stop) = (self.project, self.request, self.root, self.stop);
        let _ = std::fs::remove_dir_all(root);
        let egg_info_before = egg_info_dirs(&project.root);
        let mut install_args: Vec<String> = Vec::new();
        if self.installs_project {
            install_args.push("-e".to_string());
            install_args.push(if request.extras.is_empty() {
                ".".to_string()
            } else {
                format!(".[{}]", request.extras.join(","))
            });
        }
        for requirements in &request.requirements {
            install_args.push("-r".to_string());
            install_args.push(requirements.display().to_string());
        }
        install_args.extend(request.packages.iter().cloned());

        let venv_python = root.join("bin/python");
        let mut not_as_of = None;
        let as_of_args: Vec<String> = match (request.as_of, self.installer) {
            (None, _) => Vec::new(),
            (Some(moment), Some(_)) => vec!["--exclude-newer".to_string(), moment.to_string()],
            // pip filters by upload time only since 25.3; the venv's pip is known once it exists.
            (Some(moment), None) => vec![format!("--uploaded-prior-to={moment}")],
        };
        let (create, install) = match self.installer {
            Some(uv) => (
                Cmd::new(uv).args(["venv", "--no-project", "--quiet", "--python"]).arg(self.python).arg(root),
                // No bytecode at install: the checks run with `PYTHONPYCACHEPREFIX` (nothing
                // written next to the sources), under which bytecode in site-packages is never
                // read; what a check imports is compiled once, into the prefix, and reused.
                Cmd::new(uv)
                    .args(["pip", "install", "--python"])
                    .arg(&venv_python)
                    .args(&as_of_args)
                    .args(&install_args),
            ),
            None => (
                Cmd::new(self.python).args(["-m", "venv"]).arg(root),
                Cmd::new(&venv_python)
                    .args(["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--no-compile"])
                    .args(&install_args),
            ),
        };
        let started = Instant::now();
        let mut steps = vec![create];
        if !install_args.is_empty() {
            steps.push(install);
        }
        let mut command = None;
        for (index, step) in steps.into_iter().enumerate() {
            let step = self.step(step);
            // The install step, with pip: filtered by upload time if the new venv's pip can.
            let step = match request.as_of {
                Some(moment) if self.installer.is_none() && index == 1 => {
                    if pip_filters_by_upload_time(&venv_python, stop).await {
                        step.args(&as_of_args)
                    } else {
                        not_as_of = Some(format!(
                            "not as of {moment}: this pip has no `--uploaded-prior-to` (pip 25.3 and later have it; uv's `--exclude-newer` does it: [tool.greenlight.environment] installer = \"uv\"), so the packages are today's"
                        ));
                        step
                    }
                }
                _ => step,
            };
            command = Some(step.argv());
            let output = step.run(stop).await.map_err(|error| error.to_string())?;
            if !output.status.success() {
                let _ = std::fs::remove_dir_all(root);
                self.remove_by_products(&egg_info_before);
                return Err(format!(
                    "`{}` ended with {}:\n{}",
                    step.display(),
                    output.status,
                    installer_error_lines(&output.both_tails(40))
                ));
            }
        }
        self.remove_by_products(&egg_info_before);
        write_stamp(root, self.key, self.python_version, self.installer_name, &project.root)?;
        tracing::debug!(elapsed = ?started.elapsed(), installer = self.installer_name, "project environment created");
        Ok(Changed { reused: false, repointed: false, command, not_as_of })
    }
}

/// True when the pip of the environment at `python` has `--uploaded-prior-to`.
async fn pip_filters_by_upload_time(python: &Path, stop: &Stop) -> bool {
    let help = Cmd::new(python).args(["-m", "pip", "install", "--help"]).timeout(std::time::Duration::from_secs(60));
    help.run(stop).await.is_ok_and(|output| output.stdout.text().contains("--uploaded-prior-to"))
}

fn write_stamp(
    root: &Path,
    key: &str,
    python_version: &str,
    installer: &str,
    project_root: &Path,
) -> Result<(), String> {
    let stamp = Stamp {
        key: key.to_string(),
        python_version: python_version.to_string(),
        installer: installer.to_string(),
        root: Some(project_root.to_path_buf()),
    };
    let stamp = serde_json::to_vec_pretty(&stamp).map_err(|error| error.to_string())?;
    crate::fsutil::write_atomic(&root.join(STAMP), &stamp)
        .map_err(|error| format!("cannot write the environment stamp: {error}"))
}

/// Removes the least recently used environments of a store beyond `keep` (never `current`,
/// never one whose lock another run holds).
fn prune_store(store: &Path, current: &str, keep: usize) {
    let Ok(entries) = std::fs::read_dir(store) else { return };
    let mut environments: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.is_dir() && path.file_name().is_some_and(|name| name != current))
        .map(|path| {
            let used = std::fs::metadata(path.join(STAMP))
                .and_then(|meta| meta.modified())
                .unwrap_or(std::time::SystemTime::UNIX_EPOCH);
            (used, path)
        })
        .collect();
    if environments.len() < keep {
        return;
    }
    environments.sort();
    let excess = environments.len() + 1 - keep;
    for (_, path) in environments.into_iter().take(excess) {
        let lock = path.with_extension("lock");
        let Ok(file) = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock) else {
            continue;
        };
        if file.try_lock().is_ok() {
            let _ = std::fs::remove_dir_all(&path);
            let _ = file.unlock();
            let _ = std::fs::remove_file(&lock);
        }
    }
}

fn python_env(root: &Path, python_version: &str) -> PythonEnv {
    let short: Vec<&str> = python_version.split('.').take(2).collect();
    PythonEnv {
        root: root.to_path_buf(),
        python: root.join("bin/python"),
        site_packages: root.join(format!("lib/python{}/site-packages", short.join("."))),
        python_version: python_version.to_string(),
    }
}

fn read_stamp(root: &Path) -> Option<Stamp> {
    std::fs::read(root.join(STAMP)).ok().and_then(|bytes| serde_json::from_slice::<Stamp>(&bytes).ok())
}

/// The key: a hash of the dependency files, the interpreter, the installer and the request.
pub fn env_key(
    project: &Project,
    request: &EnvRequest,
    python: &Path,
    python_version: &str,
    installer: &str,
) -> String {
    let mut hasher = Sha256::new();
    let mut field = |name: &str, value: &[u8]| {
        hasher.update(name.as_bytes());
        hasher.update((value.len() as u64).to_le_bytes());
        hasher.update(value);
    };
    field("v", b"1");
    field("python", python.as_os_str().as_encoded_bytes());
    field("python-version", python_version.as_bytes());
    field("installer", installer.as_bytes());
    field("extras", request.extras.join(",").as_bytes());
    field("packages", request.packages.join(",").as_bytes());
    if let Some(moment) = request.as_of {
        field("as-of", moment.to_string().as_bytes());
    }
    let mut files: Vec<PathBuf> = request.requirements.iter().map(|path| project.root.join(path)).collect();
    if let Ok(entries) = std::fs::read_dir(&project.root) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_dependency_file = name == "pyproject.toml"
                || name == "uv.lock"
                || name == "setup.py"
                || name == "setup.cfg"
                || (name.starts_with("requirements") && name.ends_with(".txt"))
                || (name.starts_with("pylock") && name.ends_with(".toml"));
            if is_dependency_file {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    files.dedup();
    for file in files {
        let content = std::fs::read(&file).unwrap_or_default();
        field(&file.file_name().unwrap_or_default().to_string_lossy(), &content);
    }
    let digest = hasher.finalize();
    digest[..12].iter().map(|byte| format!("{byte:02x}")).collect()
}

fn egg_info_dirs(root: &Path) -> BTreeSet<PathBuf> {
    let mut found = BTreeSet::new();
    for dir in [root.to_path_buf(), root.join("src")] {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().ends_with(".egg-info") {
                    found.insert(entry.path());
                }
            }
        }
    }
    found
}

/// setuptools writes `<name>.egg-info/` next to the sources during an editable install; the
/// installed metadata lives in the environment, so a directory that was not there before is
/// removed to leave the user's tree as it was.
fn remove_new_egg_info(root: &Path, before: &BTreeSet<PathBuf>) {
    for dir in egg_info_dirs(root).difference(before) {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// The installer's error lines: from the first line that looks like an error to the end, or the
/// whole tail when none does.
fn installer_error_lines(tail: &str) -> String {
    let lines: Vec<&str> = tail.lines().collect();
    let start = lines.iter().position(|line| {
        let line = line.trim_start();
        line.starts_with("error") || line.starts_with("ERROR") || line.starts_with('×') || line.starts_with("  ×")
    });
    match start {
        Some(start) => lines[start..].join("\n"),
        None => tail.to_string(),
    }
}
