//! The `build` checker: builds the project's sdist and wheel the way CI does, and verifies them.
//!
//! It runs `python -m build` (the `pyproject-build` command of the `build` package) in a
//! temporary copy of the project's files with a temporary `--outdir`, never the user's `dist/`:
//! backends write into the source tree (setuptools writes `<name>.egg-info/` and `build/` even
//! with `--outdir`). The copy holds what CI's clean checkout holds
//! ([`CheckContext::project_files`]: what git lists, tracked and untracked but not ignored,
//! even in a checkout another user owns), without stale build outputs. The
//! isolated build environment is made with uv when it is available (`--installer uv`), which is
//! much faster than pip. Then it checks what CI checks: at least one wheel and one sdist, named
//! for the project's name and version, readable, and whose metadata agrees with
//! `pyproject.toml`. The verified files are kept under `.greenlight/dist/` and listed in the
//! report with size and SHA-256.
//!
//! Outcomes: a backend error (bad metadata, missing package directory, broken `pyproject.toml`)
//! is `failed` with the backend's error lines; an isolated environment whose requirements
//! cannot be installed (`[build-system].requires` unavailable, no index) is `errored`, because
//! greenlight could not build the project to judge it; and so is every exit 1 without build's
//! own verdict against the project (build crashing with its own traceback, output that is not
//! build's): `failed` only on evidence.

mod backend;
mod failure;
mod verify;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use greenlight_checker::env::EnvVars;
use greenlight_checker::process::Output;
use greenlight_checker::report::Artifact;
use greenlight_checker::{
    CheckContext, CheckError, CheckResult, Checker, CheckerFactory, CheckerInfo, Detection, Finding, FindingKind,
    Location, Project, Reads, ToolSpec, async_trait, check_options, files, text,
};
use serde::Deserialize;

pub use failure::{BuildFailure, FailureKind, classify};
pub use verify::{Declared, Dist, Kind, normalize_version, same_version, verify};

/// The `build` tool: `python -m build`, as its `pyproject-build` command.
pub const BUILD_TOOL: ToolSpec = ToolSpec {
    name: "build",
    executable: "pyproject-build",
    version_args: &["--version"],
    pypi: Some("build"),
    in_environment: false,
    install_hint: "install it with `pip install build` (or `uv tool install build`), or pin it in [tool.greenlight.tools] build = \"1.6.1\" and greenlight installs it",
    default_version: Some("1.6.1"),
    wheel: None,
};

/// Which installer `python -m build` uses for its isolated environment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Installer {
    /// uv when it is found (next to `pyproject-build` or on `PATH`), else pip.
    #[default]
    Auto,
    /// uv; `errored` when it is not found.
    Uv,
    /// pip, as build does by default.
    Pip,
}

check_options! {
    /// Options of `[tool.greenlight.build]`.
    pub struct BuildOptions {
        /// The installer of the isolated build environment: `auto` (default), `uv` or `pip`.
        pub installer: Installer,
        /// Extra arguments for `python -m build` (for example `["-C", "key=value"]`).
        pub args: Vec<String>,
    }
}

/// The `build` factory.
pub const BUILD: CheckerFactory =
    CheckerFactory { id: "build", build: |source| Ok(Arc::new(BuildChecker { options: source.section("build")? })) };

/// Where verified artifacts are kept, in the state directory (`.greenlight/dist/`).
pub const DIST_DIR: &str = "dist";

#[derive(Debug)]
struct BuildChecker {
    options: BuildOptions,
}

#[async_trait]
impl Checker for BuildChecker {
    fn id(&self) -> &'static str {
        "build"
    }

    fn info(&self) -> CheckerInfo {
        CheckerInfo {
            tools: vec![BUILD_TOOL],
            default_timeout: Duration::from_secs(600),
            expected: Duration::from_secs(10),
            cpu_bound: true,
            // The isolated environment installs [build-system].requires from the index: a new
            // backend release can change the verdict, so the key holds their resolved
            // versions (`cache_state`, renewed daily) instead.
            network: false,
            env_vars: vec![
                "PIP_INDEX_URL",
                "PIP_EXTRA_INDEX_URL",
                "UV_INDEX_URL",
                "UV_EXTRA_INDEX_URL",
                "UV_DEFAULT_INDEX",
                "SOURCE_DATE_EPOCH",
            ],
            tool_name: Some("python -m build"),
            homepage: Some("https://build.pypa.io/"),
            ..CheckerInfo::new("python -m build")
        }
    }

    fn detect(&self, project: &Project) -> Detection {
        match &project.pyproject {
            Some(pyproject) if pyproject.has_build_system => {
                Detection::applies("pyproject.toml has a [build-system] table")
            }
            _ if project.pyproject_error.is_some() => {
                Detection::applies("pyproject.toml found (it does not parse; the build will say why)")
            }
            _ if project.has("setup.py") => Detection::applies("setup.py found"),
            Some(_) => Detection::not_applicable(
                "pyproject.toml has no [build-system] table and there is no setup.py (the project is not packaged)",
            ),
            None => Detection::not_applicable("no pyproject.toml or setup.py"),
        }
    }

    /// Every file: what goes into the sdist and the wheel is the backend's decision, and the
    /// defaults take nearly everything (hatchling: every file git does not ignore, tests and
    /// README included; setuptools-scm: every tracked file; setuptools: `MANIFEST.in`, the
    /// README, `tests/test*.py`, package data from any glob). Narrowing it would replay a
    /// build whose sdist changed.
    fn reads(&self, _project: &Project) -> Reads {
        Reads::Everything
    }

    /// The versions `[build-system].requires` resolve to ([`backend`]); `None` (runs, not
    /// stored) without uv or when the index cannot say.
    async fn cache_state(&self, cx: &CheckContext) -> Option<String> {
        let tool = cx.resolved(&BUILD_TOOL).ok()?.path.clone();
        let uv = self.installer(&tool, cx).ok().flatten()?;
        let requires = backend::requires(cx.project.pyproject.as_ref().map(|p| p.text.as_str()));
        let index: Vec<String> =
            self.info().env_vars.iter().map(|name| format!("{name}={}", cx.var(name).unwrap_or_default())).collect();
        let resolved = backend::resolved(cx, &uv, &requires, &index.join("\n")).await?;
        Some(format!("{}\n--\n{resolved}", requires.join("\n")))
    }

    async fn run(&self, cx: &CheckContext) -> Result<CheckResult, CheckError> {
        let tool = cx.resolved(&BUILD_TOOL)?.path.clone();
        let uv = self.installer(&tool, cx)?;
        let work = cx.scratch.join("build");
        let (source, outdir) = (work.join("src"), work.join("dist"));
        clean_copy(cx, &source, &outdir).await?;

        let mut build =
            cx.tool(&BUILD_TOOL)?.named("python -m build").current_dir(&source).arg(".").arg("--outdir").arg(&outdir);
        if let Some(uv) = &uv {
            build = build.args(["--installer", "uv"]);
            if let Some(dir) = uv.parent() {
                build = build.env("PATH", cx.path_with(dir));
            }
        }
        let output = build.args(&self.options.args).run().await?;
        Ok(output.attach(match output.code() {
            // Exit 0 and nothing written is the frontend's fault, not the project's: a backend
            // that cannot build says so and exits 1.
            0 if is_empty_dir(&outdir) => CheckResult::errored(format!(
                "`python -m build` exited with code 0 but wrote neither an sdist nor a wheel, so the build was not judged; run the command shown to see what it did, and check the installed build version:\n{}",
                output.both_tails(15)
            )),
            0 => verified(cx, &outdir),
            1 => build_failed(&output),
            code => CheckResult::errored(format!(
                "`python -m build` exited with code {code} (not a build failure: its arguments were rejected or it crashed); check `args` in [tool.greenlight.build] and the installed build version:\n{}",
                output.both_tails(15)
            )),
        }))
    }
}

impl BuildChecker {
    /// uv for the isolated environment, as `installer` says.
    fn installer(&self, tool: &Path, cx: &CheckContext) -> Result<Option<PathBuf>, CheckError> {
        match self.options.installer {
            Installer::Pip => Ok(None),
            Installer::Auto => Ok(find_uv(tool, cx)),
            Installer::Uv => find_uv(tool, cx).map(Some).ok_or_else(|| {
                CheckError::errored(
                    "`installer = \"uv\"` is set in [tool.greenlight.build] but `uv` was found neither next to `pyproject-build` nor on PATH; install uv or set `installer = \"auto\"`",
                )
            }),
        }
    }
}

/// True when `dir` is missing or holds nothing.
fn is_empty_dir(dir: &Path) -> bool {
    std::fs::read_dir(dir).map_or(true, |mut entries| entries.next().is_none())
}

/// Copies the files a clean checkout has (build outputs left out) into a fresh `source`, and
/// makes a fresh `outdir`.
async fn clean_copy(cx: &CheckContext, source: &Path, outdir: &Path) -> Result<(), CheckError> {
    let listed = cx.project_files().await?;
    if cx.stop.is_cancelled() {
        return Err(CheckError::cancelled());
    }
    let listed_by = listed.listed_by;
    let files: Vec<PathBuf> = listed.files.into_iter().filter(|file| !files::is_generated(file)).collect();
    let (root, source_for_copy, outdir_for_copy) =
        (cx.project.root.clone(), source.to_path_buf(), outdir.to_path_buf());
    let copied = files::in_background(move || {
        fresh_dir(&source_for_copy)?;
        fresh_dir(&outdir_for_copy)?;
        files::copy(&root, &source_for_copy, &files, files::Copy::AsIs)
    })
    .await
    .map_err(|error| {
        CheckError::errored(format!(
            "cannot copy the project into a temporary directory for the build: {error}; check free space in the temporary directory ($TMPDIR)"
        ))
    })?;
    cx.log().line(&format!(
        "greenlight: building from a clean copy of {} files ({} KiB) listed by {listed_by}, in {}",
        copied.files,
        copied.bytes.div_ceil(1024),
        source.display()
    ));
    Ok(())
}

/// uv next to the build tool (the same venv) or on the user's `PATH`.
fn find_uv(tool: &Path, cx: &CheckContext) -> Option<PathBuf> {
    let sibling = tool.parent().map(|dir| dir.join("uv"));
    if let Some(sibling) = sibling.filter(|path| path.is_file()) {
        return Some(sibling);
    }
    std::env::split_paths(cx.var(EnvVars::PATH)?).map(|dir| dir.join("uv")).find(|candidate| candidate.is_file())
}

/// A fresh, empty directory at `path`.
fn fresh_dir(path: &Path) -> std::io::Result<()> {
    if path.exists() {
        std::fs::remove_dir_all(path)?;
    }
    std::fs::create_dir_all(path)
}

/// After a successful build: verify the artifacts and keep them under the state directory's
/// `dist/` (`.greenlight/dist/`).
fn verified(cx: &CheckContext, outdir: &Path) -> CheckResult {
    let pyproject = cx.project.pyproject.as_ref();
    let declared = Declared {
        name: pyproject.and_then(|p| p.name.clone()),
        version: pyproject.filter(|p| !p.dynamic_version).and_then(|p| p.version.clone()),
    };
    let (dists, problems) = verify(outdir, &declared);
    let kept = keep_artifacts(cx, &dists);
    let artifacts: Vec<Artifact> = dists
        .iter()
        .map(|dist| Artifact {
            kind: dist.kind.as_str().to_string(),
            name: dist.file_name.clone(),
            path: kept.get(&dist.file_name).cloned().unwrap_or_else(|| dist.path.display().to_string()),
            size: Some(dist.size),
            sha256: Some(dist.sha256.clone()),
        })
        .collect();
    let names: Vec<&str> = dists.iter().map(|dist| dist.file_name.as_str()).collect();
    let mut result = if problems.is_empty() {
        CheckResult::passed(format!("built {}", names.join(" and ")))
    } else {
        let findings = problems
            .iter()
            .map(|problem| {
                let mut finding = Finding::new("build-artifacts", problem.clone(), Some(pyproject_location(None)));
                finding.kind = FindingKind::Build;
                finding.title = Some("build: artifacts".to_string());
                finding.help = Some(
                    "the backend built the project, but not what CI expects; check [project] name and version and the backend's configuration".to_string(),
                );
                finding
            })
            .collect();
        let summary = if problems.len() == 1 {
            problems[0].clone()
        } else {
            format!("{} (and {} more problems)", problems[0], problems.len() - 1)
        };
        CheckResult::failed(summary).with_findings(findings)
    };
    result.artifacts = artifacts;
    result
}

/// Copies the artifacts to `.greenlight/dist/` (emptied first); returns their new relative
/// paths by file name. Failing to keep them is not a verdict: the report then names the
/// temporary paths.
fn keep_artifacts(cx: &CheckContext, dists: &[Dist]) -> std::collections::BTreeMap<String, String> {
    let mut kept = std::collections::BTreeMap::new();
    let dir = cx.state_dir.join(DIST_DIR);
    if fresh_dir(&dir).is_err() {
        return kept;
    }
    for dist in dists {
        if std::fs::copy(&dist.path, dir.join(&dist.file_name)).is_ok() {
            let path = greenlight_checker::relative_to(&cx.project.root, &dir.join(&dist.file_name));
            kept.insert(dist.file_name.clone(), path);
        }
    }
    kept
}

/// The result of `python -m build` exiting with 1.
fn build_failed(output: &Output) -> CheckResult {
    let failure = classify(&output.stdout.text(), &output.stderr.text());
    let cause = if failure.cause.is_empty() { output.both_tails(10) } else { failure.cause.join("\n") };
    let headline = failure.headline.clone().unwrap_or_else(|| "the build failed".to_string());
    match failure.kind {
        FailureKind::Frontend => CheckResult::errored(format!(
            "`python -m build` exited with code 1 without saying the project is at fault (it printed no verdict of its own about the project: it crashed or its output is not build's), so greenlight cannot judge the project; check the installed build (`pyproject-build --version`) and the log:\n{}",
            text::indent(&output.both_tails(15), "  ")
        )),
        FailureKind::Environment => {
            let requirements = if failure.requirements.is_empty() {
                String::new()
            } else {
                format!(" (`{}`)", failure.requirements.join("`, `"))
            };
            CheckResult::errored(format!(
                "the isolated build environment could not be set up: its requirements{requirements} could not be installed\n{}\n`python -m build` installs [build-system].requires from the package index; check that they name packages and versions that exist and that the index is reachable (network, proxy, PIP_INDEX_URL/UV_INDEX_URL); greenlight could not build the project to judge it",
                text::indent(&cause, "  ")
            ))
        }
        FailureKind::Project => {
            let first = failure.cause.first().cloned().unwrap_or_else(|| headline.clone());
            let location = if failure.pyproject_position.is_some()
                || cause.contains("pyproject.toml")
                || headline.contains("pyproject.toml")
                || headline.starts_with("Backend ")
            {
                Some(pyproject_location(failure.pyproject_position))
            } else if cause.contains("setup.py") {
                Some(Location { path: "setup.py".to_string(), ..Location::default() })
            } else {
                None
            };
            let mut finding = Finding::new("build-failed", headline.clone(), location);
            finding.kind = FindingKind::Build;
            finding.title = Some("python -m build".to_string());
            finding.detail = Some(cause);
            finding.help = Some(
                "reproduce with `python -m build` in a clean checkout; the full output is in the check's log"
                    .to_string(),
            );
            CheckResult::failed(first).with_findings(vec![finding])
        }
    }
}

fn pyproject_location(position: Option<(u32, u32)>) -> Location {
    Location {
        path: "pyproject.toml".to_string(),
        line: position.map(|(line, _)| line),
        column: position.map(|(_, column)| column),
        ..Location::default()
    }
}
