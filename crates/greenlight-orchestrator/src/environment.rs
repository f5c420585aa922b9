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
//! With `--as-of` ([`EnvRequest::as_of`]) the install takes only what was uploaded before the
//! moment (uv's `--exclude-newer`; pip's `--uploaded-prior-to` where the environment's pip has
//! it, else today's packages, which the node's summary says), and the moment is part of the key.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use greenlight_checker::{Project, PythonEnv, ToolSpec};
use greenlight_process::{Cmd, Stop};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::as_of::Moment;
use crate::config::{EnvironmentSettings, Installer};
use crate::lock::FileLock;
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
    /// `<root>/.greenlight/venv`. `None`: the single environment (plain runs).
    pub store: Option<PathBuf>,
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
        None => (project.root.join(VENV_DIR), project.root.join(".greenlight/venv.lock"), VENV_DIR.to_string()),
    };
    let env = python_env(&root, &python_version);
    let _lock = FileLock::acquire(&lock_path, stop)
        .await
        .map_err(|error| format!("cannot lock the project environment: {error}"))?;
    let installs_project =
        project.pyproject.as_ref().is_some_and(|p| p.name.is_some() || p.has_build_system) || project.has("setup.py");
    let timeout = settings.timeout.map_or(std::time::Duration::from_secs(1800), |timeout| timeout.0);
    // A single environment made for another root moved with its project: its scripts name
    // the old path, so it is rebuilt. One in a store stays where it is and is only repointed.
    let moved = |stamp: &Stamp| stamp.root.as_ref().is_some_and(|old| old != &project.root);
    if let Some(stamp) = read_stamp(&root).filter(|stamp| stamp.key == key)
        && !request.rebuild
        && env.python.is_file()
        && (request.store.is_some() || !moved(&stamp))
    {
        // An environment of the store made for another checkout (a worktree elsewhere) has
        // its editable install pointing there: reinstall only the project, not its dependencies.
        let repoint = installs_project && moved(&stamp);
        let mut command = None;
        if repoint {
            let egg_info_before = egg_info_dirs(&project.root);
            let step = match &installer {
                Some(uv) => Cmd::new(uv)
                    .args(["pip", "install", "--no-deps", "--python"])
                    .arg(&env.python)
                    .arg("-e")
                    .arg(&project.root),
                None => Cmd::new(&env.python)
                    .args(["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--no-deps", "-e"])
                    .arg(&project.root),
            };
            let step = step.current_dir(&project.root).log_file(log).pass_env(&request.pass_env).timeout(timeout);
            command = Some(step.argv());
            let output = step.run(stop).await.map_err(|error| error.to_string())?;
            remove_new_egg_info(&project.root, &egg_info_before);
            if !output.status.success() {
                return Err(format!(
                    "`{}` (pointing the reused environment at this checkout) ended with {}:\n{}",
                    step.display(),
                    output.status,
                    installer_error_lines(&output.both_tails(40))
                ));
            }
            write_stamp(&root, &key, &python_version, installer_name, &project.root)?;
        } else if request.store.is_some() {
            // Refresh the modification time: the store removes the least recently used.
            write_stamp(&root, &key, &python_version, installer_name, &project.root)?;
        }
        return Ok(Prepared {
            env,
            reused: true,
            installer: installer_name,
            key,
            command,
            display_dir,
            repointed: repoint,
            not_as_of: None,
        });
    }

    let _ = std::fs::remove_dir_all(&root);
    let egg_info_before = egg_info_dirs(&project.root);
    let mut install_args: Vec<String> = Vec::new();
    if installs_project {
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
    let as_of_args: Vec<String> = match (request.as_of, &installer) {
        (None, _) => Vec::new(),
        (Some(moment), Some(_)) => vec!["--exclude-newer".to_string(), moment.to_string()],
        // pip filters by upload time only since 25.3; the venv's pip is known once it exists.
        (Some(moment), None) => vec![format!("--uploaded-prior-to={moment}")],
    };
    let (create, install) = match &installer {
        Some(uv) => (
            Cmd::new(uv).args(["venv", "--no-project", "--quiet", "--python"]).arg(&python).arg(&root),
            Cmd::new(uv)
                .args(["pip", "install", "--compile-bytecode", "--python"])
                .arg(&venv_python)
                .args(&as_of_args)
                .args(&install_args),
        ),
        None => (
            Cmd::new(&python).args(["-m", "venv"]).arg(&root),
            Cmd::new(&venv_python)
                .args(["-m", "pip", "install", "--disable-pip-version-check", "--no-input"])
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
        let step = step.current_dir(&project.root).log_file(log).pass_env(&request.pass_env).timeout(timeout);
        // The install step, with pip: filtered by upload time if the new venv's pip can.
        let step = match request.as_of {
            Some(moment) if installer.is_none() && index == 1 => {
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
            let _ = std::fs::remove_dir_all(&root);
            remove_new_egg_info(&project.root, &egg_info_before);
            return Err(format!(
                "`{}` ended with {}:\n{}",
                step.display(),
                output.status,
                installer_error_lines(&output.both_tails(40))
            ));
        }
    }
    remove_new_egg_info(&project.root, &egg_info_before);
    write_stamp(&root, &key, &python_version, installer_name, &project.root)?;
    tracing::debug!(elapsed = ?started.elapsed(), installer = installer_name, "project environment created");
    if let Some(store) = &request.store {
        prune_store(store, &key, STORE_KEEP);
    }
    Ok(Prepared {
        env,
        reused: false,
        installer: installer_name,
        key,
        command,
        display_dir,
        repointed: false,
        not_as_of,
    })
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
