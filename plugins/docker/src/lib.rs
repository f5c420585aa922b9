//! The `docker` checker: builds the project's image and runs an import smoke test in it, through
//! the Docker Engine API (bollard; never the `docker` CLI).
//!
//! 1. Connect to the engine at `DOCKER_HOST` or the default socket; no engine is `errored` at
//!    once (a missing socket is known without waiting).
//! 2. Make the build context as docker/cli does ([`context`]), honouring `.dockerignore` with
//!    Docker's own pattern semantics ([`ignore`]); what it excludes never leaves the machine.
//! 3. Build with the classic builder (`POST /build`), streaming its output into the check's
//!    log. A failing step is `failed` with the step, its Dockerfile line and its last output
//!    lines; a base image that cannot be pulled is `errored` (greenlight cannot judge).
//! 4. Run the smoke command in a container without network: by default
//!    `python -c "import <module>"`, the module taken from the configuration, the Dockerfile's
//!    `CMD`/`ENTRYPOINT` (`uvicorn apps.api.main:app` → `apps.api.main`) or the project layout.
//!    A non-zero exit is `failed` with the container's stdout and stderr.
//! 5. Always clean up: the container, the image and the layers this build made are removed at
//!    the end, on failure, on timeout and on cancellation (`--keep-image` keeps the image).
//!    Everything is labelled `io.greenlight.run=<run id>` and tagged per run.
//!
//! Build and run have their own deadlines (bollard's request timeout does not cover streams).

mod build;
pub mod buildlog;
mod cleanup;
pub mod context;
pub mod dockerfile;
pub mod engine;
pub mod ignore;
mod plan;
pub mod rewrite;
mod smoke;
mod sweep;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use greenlight_checker::env::EnvVars;
use greenlight_checker::process::Stop;
use greenlight_checker::{
    CheckContext, CheckError, CheckLog, CheckResult, Checker, CheckerFactory, CheckerInfo, ConfigError, Detection,
    DurationValue, FileSet, Finding, FindingKind, Location, OptionKey, Outcome, Project, Reads, async_trait,
    check_options,
};

use crate::cleanup::Resources;
use crate::engine::{ConnectError, Engine, PING_TIMEOUT};
use crate::plan::Plan;

pub use crate::plan::{Smoke, smoke_plan};

/// The label on every image and container greenlight creates; its value is the run id.
pub const RUN_LABEL: &str = "io.greenlight.run";
/// `keep-image` of `[tool.greenlight.docker]`, which `greenlight run --keep-image` sets.
pub const KEEP_IMAGE: OptionKey<bool> = OptionKey::new("docker", "keep-image");
/// `image-map` of `[tool.greenlight.docker]`, which `greenlight run --image-map FROM=TO` sets.
pub const IMAGE_MAP: OptionKey<BTreeMap<String, String>> = OptionKey::new("docker", "image-map");

/// How long the removal of what a run created may take before the check returns (what remains
/// is removed when the check is dropped).
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a stopped build may take to finish its current step before its container is
/// removed by force.
const BUILD_STEP_GRACE: Duration = Duration::from_secs(15);

check_options! {
    /// Options of `[tool.greenlight.docker]`.
    pub struct DockerOptions {
        /// The Dockerfile, relative to the project root (default `Dockerfile`).
        pub dockerfile: Option<String>,
        /// The build context, relative to the project root (default: the root).
        pub context: Option<String>,
        /// The stage to build (`--target`).
        pub target: Option<String>,
        /// Build arguments (`--build-arg`).
        pub build_args: BTreeMap<String, String>,
        /// Build arguments whose values no output shows (a token for a private index): each
        /// takes its value from `build-args`, else from the environment variable of its name
        /// (as `docker build --build-arg NAME` does), and the value is masked in every output.
        pub secret_build_args: Vec<String>,
        /// Base images to build from instead of those the Dockerfile names (a mirror, an
        /// image loaded on an air-gapped runner): `{ "python:3.11-slim" = "mirror/python:3.11-slim" }`.
        pub image_map: BTreeMap<String, String>,
        /// Build without the layer cache.
        pub no_cache: bool,
        /// Run the smoke test after the build (default true).
        pub smoke_test: Option<bool>,
        /// The module the smoke test imports.
        pub smoke_module: Option<String>,
        /// The whole smoke command, instead of `python -c "import <module>"`.
        pub smoke_command: Option<Vec<String>>,
        /// Deadline of the image build (default 20 minutes).
        pub build_timeout: Option<DurationValue>,
        /// Deadline of the smoke command (default 2 minutes).
        pub run_timeout: Option<DurationValue>,
        /// Keep the image after the check (it is removed by default).
        pub keep_image: bool,
    }
}

/// The `docker` factory.
pub const DOCKER: CheckerFactory = CheckerFactory {
    id: "docker",
    build: |source| {
        let options: DockerOptions = source.section("docker")?;
        let table = source.table_name("docker");
        let invalid = |message: String| ConfigError::new(source.path.as_deref(), format!("{table}: {message}"));
        if options.smoke_command.as_ref().is_some_and(Vec::is_empty) {
            return Err(invalid("`smoke-command` is empty; give the program and its arguments, or remove it".into()));
        }
        for (from, to) in &options.image_map {
            let bad = |reference: &str| reference.is_empty() || reference.chars().any(char::is_whitespace);
            if bad(from) || bad(to) {
                return Err(invalid(format!(
                    "`image-map` entry \"{from}\" = \"{to}\" is not an image reference on each side, like \"python:3.11-slim\" = \"mirror.local/python:3.11-slim\""
                )));
            }
        }
        if options.smoke_command.is_some() && options.smoke_module.is_some() {
            return Err(invalid("set `smoke-module` or `smoke-command`, not both".into()));
        }
        if let Some(module) = &options.smoke_module
            && !module.split('.').all(|part| !part.is_empty() && part.chars().all(|c| c.is_alphanumeric() || c == '_'))
        {
            return Err(invalid(format!(
                "`smoke-module = \"{module}\"` is not a dotted module name like `apps.api.main`"
            )));
        }
        Ok(Arc::new(DockerChecker { options }))
    },
};

#[derive(Debug)]
struct DockerChecker {
    options: DockerOptions,
}

impl DockerChecker {
    fn dockerfile(&self) -> &str {
        self.options.dockerfile.as_deref().unwrap_or("Dockerfile")
    }
}

#[async_trait]
impl Checker for DockerChecker {
    fn id(&self) -> &'static str {
        "docker"
    }

    fn info(&self) -> CheckerInfo {
        CheckerInfo {
            default_timeout: Duration::from_secs(30 * 60),
            expected: Duration::from_secs(60),
            // A local engine builds on this machine's cores: unpacking, copying and committing
            // layers keep one busy. Taking a job slot kept the bench's warm run from 0.54× to
            // 0.34× of the sequential baseline (the build no longer fights pytest and build).
            cpu_bound: true,
            env_vars: vec![EnvVars::DOCKER_HOST, EnvVars::DOCKER_TLS_VERIFY],
            tool_name: Some("docker"),
            homepage: Some("https://docs.docker.com/"),
            // A finding without a line (a build that failed before any step) is about the
            // Dockerfile.
            fallback_path: self.dockerfile().to_string(),
            ..CheckerInfo::new("docker build + smoke test")
        }
    }

    fn detect(&self, project: &Project) -> Detection {
        let dockerfile = self.dockerfile();
        if project.has(dockerfile) {
            Detection::applies(format!("{dockerfile} found"))
        } else if self.options.dockerfile.is_some() {
            Detection::not_applicable(format!(
                "no Dockerfile: `dockerfile = \"{dockerfile}\"` in [tool.greenlight.docker] does not exist"
            ))
        } else {
            Detection::not_applicable("no Dockerfile")
        }
    }

    /// The files the build context sends (after `.dockerignore`), the ignore file, the
    /// Dockerfile, and `pyproject.toml` (the smoke test's module may come from it); every
    /// file when the context cannot be listed. What lies outside the project is in
    /// [`Checker::cache_state`]'s listing.
    fn reads(&self, project: &Project) -> Reads {
        let context = project.root.join(self.options.context.as_deref().unwrap_or("."));
        let dockerfile = project.root.join(self.dockerfile());
        match context::files_read(&context, &dockerfile, &project.root) {
            Some(files) => Reads::Only(FileSet {
                names: vec!["pyproject.toml", ".dockerignore"],
                paths: vec![format!("{}.dockerignore", self.dockerfile())],
                files,
                ..FileSet::default()
            }),
            None => Reads::Everything,
        }
    }

    /// The build context as the tar would hold it (every entry's size, time and mode), a
    /// Dockerfile outside it, the engine, and the ids of the images the build starts from —
    /// what Docker's own build cache keys on, plus the engine. `None` when a base image is
    /// not on the engine (the build would pull it), when there is no engine, and when the
    /// image is to be kept (`--keep-image`) or built without Docker's cache.
    async fn cache_state(&self, cx: &CheckContext) -> Option<String> {
        let plan = Plan::new(&self.options, cx).ok()?;
        if plan.keep_image || plan.no_cache {
            return None;
        }
        let engine = engine::connect(cx.var(EnvVars::DOCKER_HOST), cx.var(EnvVars::DOCKER_TLS_VERIFY)).ok()?;
        let version = tokio::time::timeout(PING_TIMEOUT, engine.version()).await.ok()?.ok()?;
        let mut state = format!("{} {version}\n", engine.endpoint());
        for reference in plan.dockerfile.external_images() {
            let image = plan.image(&reference);
            let info = tokio::time::timeout(PING_TIMEOUT, engine.inspect_image(&image)).await.ok()?.ok()?;
            state.push_str(&format!("image {image} {}\n", info.id));
        }
        let (context_dir, dockerfile_path, in_context, root) = (
            plan.context_dir.clone(),
            plan.dockerfile_path.clone(),
            plan.dockerfile_in_context.clone(),
            cx.project.root.clone(),
        );
        let listing = tokio::task::spawn_blocking(move || {
            context::listing(&context_dir, &dockerfile_path, in_context.as_deref(), &root).ok()
        });
        state.push_str(&listing.await.ok()??);
        Some(state)
    }

    async fn run(&self, cx: &CheckContext) -> Result<CheckResult, CheckError> {
        let plan = Plan::new(&self.options, cx)?;
        let engine = match engine::connect(cx.var(EnvVars::DOCKER_HOST), cx.var(EnvVars::DOCKER_TLS_VERIFY)) {
            Ok(engine) => engine,
            Err(ConnectError::NoEngine(detail)) => {
                let host = cx.var(EnvVars::DOCKER_HOST).filter(|host| !host.is_empty()).unwrap_or(engine::DEFAULT_HOST);
                return Err(no_engine(host, &detail));
            }
            Err(ConnectError::Unsupported(reason)) => return Err(CheckError::errored(reason)),
        };
        let for_cleanup = engine.clone();
        let reconnect: Reconnect =
            Arc::new(move || for_cleanup.reconnect().map(|engine| Arc::new(engine) as Arc<dyn Engine>));
        check(&plan, cx, Arc::new(engine), reconnect).await
    }
}

/// Makes a fresh engine client (for cleanup on a runtime of its own).
pub type Reconnect = Arc<dyn Fn() -> Option<Arc<dyn Engine>> + Send + Sync>;

fn no_engine(host: &str, detail: &str) -> CheckError {
    if detail.to_ascii_lowercase().contains("permission denied") {
        return CheckError::errored(format!(
            "the Docker engine at {host} refuses this user ({detail}); add the user to the `docker` group (then log in again), or skip the docker check (`greenlight run --skip docker`)"
        ));
    }
    CheckError::errored(format!(
        "no Docker engine at {host} ({detail}); start it or skip the docker check (`greenlight run --skip docker`, or `enabled = false` in [tool.greenlight.docker])"
    ))
}

/// The whole check against `engine` (a real one, or a stand-in in tests).
async fn check(
    plan: &Plan,
    cx: &CheckContext,
    engine: Arc<dyn Engine>,
    reconnect: Reconnect,
) -> Result<CheckResult, CheckError> {
    let log = cx.log();
    let endpoint = engine.endpoint();
    let version = tokio::select! {
        () = cx.stop.cancelled() => return Err(CheckError::cancelled()),
        version = tokio::time::timeout(PING_TIMEOUT, engine.version()) => version,
    };
    match version {
        Ok(Ok(version)) => log.line(&format!("greenlight: {version} at {endpoint}")),
        Ok(Err(error)) => return Err(no_engine(&endpoint, &error.to_string())),
        Err(_) => return Err(no_engine(&endpoint, &format!("no answer within {}s", PING_TIMEOUT.as_secs()))),
    }
    // What killed runs left is removed first; this run's record says it is alive until it
    // has removed what it made.
    let state_dir = sweep::state_dir(&cx.log_path);
    if let Some(dir) = &state_dir {
        tokio::select! {
            () = cx.stop.cancelled() => return Err(CheckError::cancelled()),
            () = sweep::sweep_abandoned(&*engine, dir, &log) => {}
        }
    }
    let record = state_dir.as_deref().and_then(|dir| sweep::RunRecord::open(dir, &cx.run_id, &endpoint).ok());

    let tar = cx.scratch.join("docker-context.tar");
    let context = {
        let (context_dir, dockerfile_path, in_context, root) = (
            plan.context_dir.clone(),
            plan.dockerfile_path.clone(),
            plan.dockerfile_in_context.clone(),
            cx.project.root.clone(),
        );
        let (tar, sent) = (tar.clone(), plan.sent.text.clone());
        // A stop abandons the tar where it is (nothing reached the engine yet).
        let stopped = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stopped.clone();
        let making = tokio::task::spawn_blocking(move || {
            let ignore_file = context::ignore_file_for(&context_dir, &dockerfile_path);
            let plan = context::plan(&context_dir, ignore_file.as_deref(), in_context.as_deref(), &root)?;
            let stats = context::write_tar(&context_dir, &plan, sent.as_bytes(), &tar, &flag)?;
            Ok::<_, context::ContextError>((plan, stats))
        });
        tokio::select! {
            () = cx.stop.cancelled() => {
                stopped.store(true, std::sync::atomic::Ordering::Relaxed);
                return Err(CheckError::cancelled());
            }
            made = making => made,
        }
    };
    let (context_plan, stats) = match context {
        Ok(Ok(made)) => made,
        Ok(Err(context::ContextError::Pattern { file, error })) => {
            let mut finding = Finding::new("dockerignore", error.to_string(), Some(location(&file, None)));
            finding.kind = FindingKind::Build;
            finding.help = Some("`docker build` rejects this file too; fix or remove the pattern".to_string());
            return Ok(CheckResult::failed(format!("{file}: invalid pattern `{}`", error.pattern))
                .with_findings(vec![finding]));
        }
        Ok(Err(error)) => return Err(CheckError::errored(format!("cannot make the build context: {error}"))),
        Err(error) => return Err(CheckError::errored(format!("making the build context failed: {error}"))),
    };
    log.line(&format!(
        "greenlight: build context {}: {} entries, {} KiB{}",
        plan.context_dir.display(),
        stats.entries,
        stats.bytes.div_ceil(1024),
        match &context_plan.ignore_file {
            Some(file) if !context_plan.excluded.is_empty() => format!(
                "; left out by {file}: {}{}",
                context_plan.excluded.iter().take(20).cloned().collect::<Vec<_>>().join(", "),
                if context_plan.excluded.len() > 20 { ", ..." } else { "" }
            ),
            Some(file) => format!("; {file} leaves nothing out"),
            None => "; no .dockerignore".to_string(),
        }
    ));

    let resources = Resources::new(engine.clone(), reconnect, plan.keep_image, cx.log_path.clone(), cx.stop.clone());
    resources.set_tag(&plan.tag);
    let dockerfile_in_tar = context::OUTSIDE_DOCKERFILE.to_string();
    let session = Session { plan, engine: &*engine, resources: &resources, log: &log, stop: &cx.stop };
    // Whatever the build and smoke test concluded, cleanup runs, and what it could not
    // remove is said in the reason.
    let result =
        build::build_and_smoke(&session, &tar, &dockerfile_in_tar).await.unwrap_or_else(CheckError::into_result);
    if result.outcome == Outcome::Cancelled {
        log.line("greenlight: stopped; removing what this run created");
    }
    let cleanup = async {
        let mut problems = resources.cleanup().await;
        if !plan.keep_image {
            // Whatever carries this run's label and was not seen in the build's output.
            problems.extend(sweep::remove_run(&*engine, &cx.run_id).await.2);
        }
        problems
    };
    let problems = match tokio::time::timeout(CLEANUP_TIMEOUT, cleanup).await {
        Ok(problems) => problems,
        Err(_) => vec![format!(
            "cleanup took longer than {}s; what remains is removed in the background and by the next run (look for `docker ps -a --filter label={RUN_LABEL}` and `docker images -a --filter label={RUN_LABEL}`)",
            CLEANUP_TIMEOUT.as_secs()
        )],
    };
    // A build stopped mid-step may still commit a layer after this; its record stays, and the
    // next run removes what carries the label.
    if problems.is_empty()
        && !resources.build_interrupted()
        && let Some(record) = record
    {
        record.done();
    }
    let _ = std::fs::remove_file(&tar);
    if problems.is_empty() {
        return Ok(result);
    }
    let mut result = result;
    let note = format!("greenlight could not remove everything it created:\n  {}", problems.join("\n  "));
    log.line(&note);
    result.reason = Some(match result.reason.take() {
        Some(reason) => format!("{reason}\n{note}"),
        None => note,
    });
    Ok(result)
}

/// What the steps of one check share.
struct Session<'a> {
    plan: &'a Plan,
    engine: &'a dyn Engine,
    resources: &'a Resources,
    log: &'a CheckLog,
    stop: &'a Stop,
}

/// A place in the project (the Dockerfile, `.dockerignore`) for a finding.
fn location(path: &str, line: Option<u32>) -> Location {
    Location { path: path.to_string(), line, ..Location::default() }
}

#[cfg(test)]
mod tests;
