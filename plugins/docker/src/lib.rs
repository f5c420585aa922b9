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

pub mod buildlog;
pub mod context;
pub mod dockerfile;
pub mod engine;
pub mod ignore;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use greenlight_checker::env::EnvVars;
use greenlight_checker::process::Stop;
use greenlight_checker::report::Artifact;
use greenlight_checker::{
    CheckContext, CheckResult, Checker, CheckerFactory, CheckerInfo, ConfigError, Detection, DurationValue, Finding,
    FindingKind, Location, OptionKey, Outcome, Project, async_trait, check_options,
};

use crate::buildlog::{BuildLog, Verdict};
use crate::dockerfile::Dockerfile;
use crate::engine::{BuildEvent, BuildRequest, ConnectError, ContainerSpec, Engine, EngineError, PING_TIMEOUT};

/// The label on every image and container greenlight creates; its value is the run id.
pub const RUN_LABEL: &str = "io.greenlight.run";
/// `keep-image` of `[tool.greenlight.docker]`, which `greenlight run --keep-image` sets.
pub const KEEP_IMAGE: OptionKey<bool> = OptionKey::new("docker", "keep-image");

const DEFAULT_BUILD_TIMEOUT: Duration = Duration::from_secs(20 * 60);
const DEFAULT_RUN_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the removal of what a run created may take before the check returns (what remains
/// is removed when the check is dropped).
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a stopped build may take to finish its current step before its container is
/// removed by force.
const BUILD_STEP_GRACE: Duration = Duration::from_secs(15);
/// After a stopped build: how long no new layer must appear before the check stops watching,
/// and how long it watches at most.
const SWEEP_QUIET: Duration = Duration::from_secs(6);
const SWEEP_LIMIT: Duration = Duration::from_secs(20);
/// Bytes of the container's stdout and stderr kept (each).
const LOG_LIMIT: usize = 64 * 1024;

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
            let image = resolve_args(&reference, &plan.dockerfile, &plan.build_args);
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

    async fn run(&self, cx: &CheckContext) -> CheckResult {
        let plan = match Plan::new(&self.options, cx) {
            Ok(plan) => plan,
            Err(result) => return *result,
        };
        let engine = match engine::connect(cx.var(EnvVars::DOCKER_HOST), cx.var(EnvVars::DOCKER_TLS_VERIFY)) {
            Ok(engine) => engine,
            Err(ConnectError::NoEngine(detail)) => {
                let host = cx.var(EnvVars::DOCKER_HOST).filter(|host| !host.is_empty()).unwrap_or(engine::DEFAULT_HOST);
                return no_engine(host, &detail);
            }
            Err(ConnectError::Unsupported(reason)) => return CheckResult::errored(reason),
        };
        let for_cleanup = engine.clone();
        let reconnect: Reconnect =
            Arc::new(move || for_cleanup.reconnect().map(|engine| Arc::new(engine) as Arc<dyn Engine>));
        check(&plan, cx, Arc::new(engine), reconnect).await
    }
}

/// Makes a fresh engine client (for cleanup on a runtime of its own).
pub type Reconnect = Arc<dyn Fn() -> Option<Arc<dyn Engine>> + Send + Sync>;

fn no_engine(host: &str, detail: &str) -> CheckResult {
    if detail.to_ascii_lowercase().contains("permission denied") {
        return CheckResult::errored(format!(
            "the Docker engine at {host} refuses this user ({detail}); add the user to the `docker` group (then log in again), or skip the docker check (`greenlight run --skip docker`)"
        ));
    }
    CheckResult::errored(format!(
        "no Docker engine at {host} ({detail}); start it or skip the docker check (`greenlight run --skip docker`, or `enabled = false` in [tool.greenlight.docker])"
    ))
}

/// What the smoke test runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Smoke {
    /// Run this command; `origin` says where it came from, `line` is the Dockerfile line it was
    /// derived from.
    Command {
        /// The argv.
        argv: Vec<String>,
        /// Where it came from, for messages.
        origin: String,
        /// The Dockerfile line of the `CMD`/`ENTRYPOINT` it was derived from.
        line: Option<u32>,
    },
    /// `smoke-test = false`.
    Disabled,
    /// Nothing to derive a module from.
    Unknown,
}

/// Decides the smoke command: configuration, then the Dockerfile's command, then the layout.
pub fn smoke_plan(
    options: &DockerOptions,
    dockerfile: &Dockerfile,
    root: &Path,
    pyproject_text: Option<&str>,
) -> Smoke {
    if options.smoke_test == Some(false) {
        return Smoke::Disabled;
    }
    if let Some(argv) = &options.smoke_command {
        return Smoke::Command {
            argv: argv.clone(),
            origin: "`smoke-command` in [tool.greenlight.docker]".to_string(),
            line: None,
        };
    }
    let import = |module: &str| vec!["python".to_string(), "-c".to_string(), format!("import {module}")];
    if let Some(module) = &options.smoke_module {
        return Smoke::Command {
            argv: import(module),
            origin: "`smoke-module` in [tool.greenlight.docker]".to_string(),
            line: None,
        };
    }
    if let Some(command) = dockerfile.image_command(options.target.as_deref())
        && let Some(module) = dockerfile::module_from_command(&command.argv(), command.workdir.as_deref())
    {
        let what = if command.entrypoint.is_empty() { "CMD" } else { "ENTRYPOINT/CMD" };
        return Smoke::Command {
            argv: import(&module),
            origin: format!("the Dockerfile's {what} `{}`", command.argv().join(" ")),
            line: command.line,
        };
    }
    if let Some(module) = dockerfile::module_from_layout(root, pyproject_text) {
        return Smoke::Command {
            argv: import(&module),
            origin: format!("the project layout (`{module}`)"),
            line: None,
        };
    }
    Smoke::Unknown
}

/// Everything decided before talking to the engine.
struct Plan {
    context_dir: PathBuf,
    dockerfile_path: PathBuf,
    dockerfile_display: String,
    dockerfile_in_context: Option<String>,
    dockerfile: Dockerfile,
    smoke: Smoke,
    tag: String,
    container_name: String,
    labels: BTreeMap<String, String>,
    build_args: BTreeMap<String, String>,
    target: Option<String>,
    no_cache: bool,
    build_timeout: Duration,
    run_timeout: Duration,
    keep_image: bool,
}

impl Plan {
    fn new(options: &DockerOptions, cx: &CheckContext) -> Result<Self, Box<CheckResult>> {
        let root = &cx.project.root;
        let dockerfile_display = options.dockerfile.clone().unwrap_or_else(|| "Dockerfile".to_string());
        let dockerfile_path = root.join(&dockerfile_display);
        let context_dir = root.join(options.context.as_deref().unwrap_or("."));
        let context_dir = context_dir.canonicalize().map_err(|error| {
            Box::new(CheckResult::errored(format!(
                "the build context {} cannot be read ({error}); fix `context` in [tool.greenlight.docker]",
                context_dir.display()
            )))
        })?;
        let text = std::fs::read_to_string(&dockerfile_path).map_err(|error| {
            Box::new(CheckResult::errored(format!(
                "cannot read {dockerfile_display} ({error}); fix `dockerfile` in [tool.greenlight.docker]"
            )))
        })?;
        let dockerfile = Dockerfile::parse(&text);
        let dockerfile_in_context = dockerfile_path.canonicalize().ok().and_then(|path| {
            path.strip_prefix(&context_dir).ok().map(|relative| relative.to_string_lossy().into_owned())
        });
        let pyproject_text = cx.project.pyproject.as_ref().map(|pyproject| pyproject.text.as_str());
        let smoke = smoke_plan(options, &dockerfile, &context_dir, pyproject_text);
        let project_name =
            cx.project.pyproject.as_ref().and_then(|pyproject| pyproject.name.clone()).unwrap_or_else(|| {
                root.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default()
            });
        let run_id = sanitize_tag(&cx.run_id);
        let tag = format!("greenlight/{}:{run_id}", repository_name(&project_name));
        // One label: the classic builder adds a step per label.
        let labels = BTreeMap::from([(RUN_LABEL.to_string(), cx.run_id.clone())]);
        let keep_image = options.keep_image;
        Ok(Self {
            context_dir,
            dockerfile_path,
            dockerfile_display,
            dockerfile_in_context,
            dockerfile,
            smoke,
            tag,
            container_name: format!("greenlight-smoke-{run_id}"),
            labels,
            build_args: options.build_args.clone(),
            target: options.target.clone(),
            no_cache: options.no_cache,
            build_timeout: options.build_timeout.map_or(DEFAULT_BUILD_TIMEOUT, |timeout| timeout.0),
            run_timeout: options.run_timeout.map_or(DEFAULT_RUN_TIMEOUT, |timeout| timeout.0),
            keep_image,
        })
    }
}

/// A repository name Docker accepts: lowercase alphanumerics separated by single `-`.
fn repository_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() { "project".to_string() } else { out }
}

fn sanitize_tag(run_id: &str) -> String {
    let tag: String = run_id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_' { c } else { '-' })
        .collect();
    tag.chars().take(120).collect()
}

/// The whole check against `engine` (a real one, or a stand-in in tests).
async fn check(plan: &Plan, cx: &CheckContext, engine: Arc<dyn Engine>, reconnect: Reconnect) -> CheckResult {
    let log = LogFile::new(&cx.log_path);
    let endpoint = engine.endpoint();
    let version = tokio::select! {
        () = cx.stop.cancelled() => return CheckResult::new(Outcome::Cancelled, "cancelled"),
        version = tokio::time::timeout(PING_TIMEOUT, engine.version()) => version,
    };
    match version {
        Ok(Ok(version)) => log.line(&format!("greenlight: {version} at {endpoint}")),
        Ok(Err(error)) => return no_engine(&endpoint, &error.to_string()),
        Err(_) => return no_engine(&endpoint, &format!("no answer within {}s", PING_TIMEOUT.as_secs())),
    }

    let tar = cx.scratch.join("docker-context.tar");
    let context = {
        let (context_dir, dockerfile_path, in_context, root) = (
            plan.context_dir.clone(),
            plan.dockerfile_path.clone(),
            plan.dockerfile_in_context.clone(),
            cx.project.root.clone(),
        );
        let tar = tar.clone();
        tokio::task::spawn_blocking(move || {
            let ignore_file = context::ignore_file_for(&context_dir, &dockerfile_path);
            let plan = context::plan(&context_dir, ignore_file.as_deref(), in_context.as_deref(), &root)?;
            let outside = if in_context.is_none() { Some(dockerfile_path.as_path()) } else { None };
            let stats = context::write_tar(&context_dir, &plan, outside, &tar)
                .map_err(|error| context::ContextError::Io { path: tar.clone(), error })?;
            Ok::<_, context::ContextError>((plan, stats))
        })
        .await
    };
    let (context_plan, stats) = match context {
        Ok(Ok(made)) => made,
        Ok(Err(context::ContextError::Pattern { file, error })) => {
            let mut finding = Finding::new("dockerignore", error.to_string(), Some(location(&file, None)));
            finding.kind = FindingKind::Build;
            finding.help = Some("`docker build` rejects this file too; fix or remove the pattern".to_string());
            return CheckResult::failed(format!("{file}: invalid pattern `{}`", error.pattern))
                .with_findings(vec![finding]);
        }
        Ok(Err(error)) => return CheckResult::errored(format!("cannot make the build context: {error}")),
        Err(error) => return CheckResult::errored(format!("making the build context failed: {error}")),
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

    let resources = Resources::new(engine.clone(), reconnect, plan.keep_image, cx.log_path.clone());
    resources.set_tag(&plan.tag);
    let dockerfile_in_tar =
        plan.dockerfile_in_context.clone().unwrap_or_else(|| context::OUTSIDE_DOCKERFILE.to_string());
    let session = Session { plan, engine: &*engine, resources: &resources, log: &log, stop: &cx.stop };
    let result = build_and_smoke(&session, &tar, &dockerfile_in_tar).await;
    if result.outcome == Outcome::Cancelled {
        log.line("greenlight: stopped; removing what this run created");
    }
    let problems = match tokio::time::timeout(CLEANUP_TIMEOUT, resources.cleanup()).await {
        Ok(problems) => problems,
        Err(_) => vec![format!(
            "cleanup took longer than {}s; what remains is removed in the background (look for `docker ps -a --filter label={RUN_LABEL}` and `docker images --filter label={RUN_LABEL}`)",
            CLEANUP_TIMEOUT.as_secs()
        )],
    };
    let _ = std::fs::remove_file(&tar);
    if problems.is_empty() {
        return result;
    }
    let mut result = result;
    let note = format!("greenlight could not remove everything it created:\n  {}", problems.join("\n  "));
    log.line(&note);
    result.reason = Some(match result.reason.take() {
        Some(reason) => format!("{reason}\n{note}"),
        None => note,
    });
    result
}

/// What the steps of one check share.
struct Session<'a> {
    plan: &'a Plan,
    engine: &'a dyn Engine,
    resources: &'a Resources,
    log: &'a LogFile,
    stop: &'a Stop,
}

async fn build_and_smoke(session: &Session<'_>, tar: &Path, dockerfile_in_tar: &str) -> CheckResult {
    let Session { plan, engine, resources, log, stop } = *session;
    let request = BuildRequest {
        context_tar: tar.to_path_buf(),
        dockerfile: dockerfile_in_tar.to_string(),
        tag: plan.tag.clone(),
        target: plan.target.clone(),
        build_args: plan.build_args.clone(),
        labels: plan.labels.clone(),
        no_cache: plan.no_cache,
    };
    log.line(&format!("greenlight: building {} as {}", plan.dockerfile_display, plan.tag));
    let started = Instant::now();
    resources.build_started();
    let mut build_log = BuildLog::default();
    let mut failure = None;
    let mut stopping = None;
    let mut ended = false;
    {
        let mut stream = engine.build(&request);
        let deadline = tokio::time::sleep(plan.build_timeout);
        tokio::pin!(deadline);
        // Once told to stop, the build is abandoned (the connection closed, which cancels it)
        // only between steps or while a step's container runs: the builder finishes a step
        // it is in the middle of (a copy, a commit) and would commit a layer no one sees.
        let grace = tokio::time::sleep(Duration::from_secs(365 * 24 * 3600));
        tokio::pin!(grace);
        loop {
            if stopping.is_some() && (build_log.safe_to_leave() || stop.is_killed()) {
                break;
            }
            let item = tokio::select! {
                () = &mut deadline, if stopping.is_none() => {
                    stopping = Some(Outcome::TimedOut);
                    grace.as_mut().reset(tokio::time::Instant::now() + BUILD_STEP_GRACE);
                    continue;
                }
                () = stop.cancelled(), if stopping.is_none() => {
                    stopping = Some(Outcome::Cancelled);
                    grace.as_mut().reset(tokio::time::Instant::now() + BUILD_STEP_GRACE);
                    continue;
                }
                () = stop.killed(), if stopping.is_some() => break,
                () = &mut grace, if stopping.is_some() => break,
                item = stream.next() => item,
            };
            match item {
                None => {
                    ended = true;
                    break;
                }
                Some(Ok(BuildEvent::Output(chunk))) => {
                    log.raw(&buildlog::strip_ansi(&chunk));
                    resources.record(build_log.push(&chunk), build_log.last_image());
                }
                Some(Ok(BuildEvent::Status(status))) => {
                    let noisy = ["Downloading", "Extracting", "Waiting", "Verifying Checksum", "Pulling fs layer"];
                    if !noisy.iter().any(|word| status.contains(word)) {
                        log.line(&status);
                    }
                }
                Some(Ok(BuildEvent::ImageId(id))) => build_log.image_id = Some(id),
                Some(Err(error)) => {
                    failure = Some(error);
                    ended = true;
                    break;
                }
            }
        }
    }
    let events = build_log.finish();
    resources.record(events, build_log.last_image());
    if ended {
        // The builder is done and committed nothing unseen.
        resources.build_ended();
    }
    match stopping {
        Some(Outcome::TimedOut) => {
            return timed_out("the image build", plan.build_timeout, "build-timeout", &build_log_tail(&build_log));
        }
        Some(_) => return CheckResult::new(Outcome::Cancelled, "cancelled"),
        None => {}
    }
    let build_time = started.elapsed();
    if let Some(error) = failure {
        log.line(&format!("greenlight: the build failed after {:.1}s: {error}", build_time.as_secs_f64()));
        return build_failed(plan, &build_log, &error);
    }
    let image = match engine.inspect_image(&plan.tag).await {
        Ok(image) => image,
        Err(error) => {
            return CheckResult::errored(format!(
                "the build ended without an error, but the image {} cannot be found ({error}); see the log",
                plan.tag
            ));
        }
    };
    resources.built(&image.id);
    log.line(&format!("greenlight: built {} ({}) in {:.1}s", plan.tag, image.id, build_time.as_secs_f64()));
    let artifact = Artifact {
        kind: "image".to_string(),
        name: plan.tag.clone(),
        path: if plan.keep_image { plan.tag.clone() } else { format!("{} (removed after the run)", plan.tag) },
        size: image.size,
        sha256: Some(image.id.clone()),
    };
    let built = format!(
        "image built in {:.1}s{}",
        build_time.as_secs_f64(),
        image.size.map(|size| format!(" ({})", megabytes(size))).unwrap_or_default()
    );
    let mut result = match &plan.smoke {
        Smoke::Disabled => CheckResult::passed(format!("{built}; smoke test disabled (`smoke-test = false`)")),
        Smoke::Unknown => CheckResult::errored(format!(
            "{built}, but greenlight cannot tell which module to import: the Dockerfile's CMD/ENTRYPOINT does not name one and the project layout does not show one; set `smoke-module = \"your.module\"` or `smoke-command = [...]` in [tool.greenlight.docker] (or `smoke-test = false`)"
        )),
        Smoke::Command { argv, origin, line } => smoke(session, argv, origin, *line, &built).await,
    };
    result.artifacts.push(artifact);
    result
}

async fn smoke(session: &Session<'_>, argv: &[String], origin: &str, line: Option<u32>, built: &str) -> CheckResult {
    let Session { plan, engine, resources, log, stop } = *session;
    let shown = shell_join(argv);
    if stop.is_cancelled() {
        return CheckResult::new(Outcome::Cancelled, "cancelled");
    }
    log.line(&format!("greenlight: smoke test `{shown}` (from {origin}), network disabled"));
    let spec = ContainerSpec {
        name: plan.container_name.clone(),
        image: plan.tag.clone(),
        cmd: argv.to_vec(),
        labels: plan.labels.clone(),
    };
    let id = match engine.create_container(&spec).await {
        Ok(id) => id,
        Err(error) => return CheckResult::errored(format!("cannot create the smoke-test container: {error}")),
    };
    resources.add_container(&id);
    if let Err(error) = engine.start_container(&id).await {
        let message = error.to_string();
        if message.contains("executable file not found") || message.contains("no such file or directory") {
            let mut finding = Finding::new(
                "docker-smoke",
                format!("`{shown}` cannot start in the image: {message}"),
                smoke_location(plan, line),
            );
            finding.kind = FindingKind::Build;
            finding.help = Some(format!(
                "the command comes from {origin}; install what it needs in the image, or set `smoke-command` in [tool.greenlight.docker]"
            ));
            return CheckResult::failed(format!("smoke test `{shown}` cannot start in the image"))
                .with_findings(vec![finding]);
        }
        return CheckResult::errored(format!("cannot start the smoke-test container: {message}"));
    }
    // Creating and starting are quick and not interrupted (a container created while no one
    // listens would be left behind); waiting is.
    let code = tokio::select! {
        () = stop.cancelled() => return CheckResult::new(Outcome::Cancelled, "cancelled"),
        code = tokio::time::timeout(plan.run_timeout, engine.wait_container(&id)) => code,
    };
    let logs = tokio::time::timeout(Duration::from_secs(10), engine.logs(&id, LOG_LIMIT)).await;
    let logs = match logs {
        Ok(Ok(logs)) => logs,
        _ => engine::ContainerLogs::default(),
    };
    log.line("greenlight: smoke test output:");
    log.raw(&logs.stdout);
    log.raw(&logs.stderr);
    let output = output_tail(&logs, 30);
    let code = match code {
        Ok(Ok(code)) => code,
        Ok(Err(error)) => return CheckResult::errored(format!("cannot wait for the smoke-test container: {error}")),
        Err(_) => return timed_out(&format!("the smoke command `{shown}`"), plan.run_timeout, "run-timeout", &output),
    };
    log.line(&format!("greenlight: smoke test exited with code {code}"));
    if code == 0 {
        return CheckResult::passed(format!("{built}; `{shown}` exits 0"));
    }
    let last = last_line(&logs.stderr).or_else(|| last_line(&logs.stdout));
    let message = match &last {
        Some(last) => format!("`{shown}` exited with code {code}: {last}"),
        None => format!("`{shown}` exited with code {code} without output"),
    };
    let mut finding = Finding::new("docker-smoke", message.clone(), smoke_location(plan, line));
    finding.kind = FindingKind::Build;
    finding.detail = (!output.is_empty()).then_some(output);
    finding.help = Some(format!(
        "the image builds but the smoke test fails (the command comes from {origin}); reproduce with `docker run --rm --network none --entrypoint '' IMAGE {shown}`"
    ));
    let summary = match last {
        Some(last) => format!("smoke test exited {code}: {last}"),
        None => format!("smoke test `{shown}` exited {code}"),
    };
    CheckResult::failed(summary).with_findings(vec![finding])
}

fn smoke_location(plan: &Plan, line: Option<u32>) -> Option<Location> {
    line.map(|line| location(&plan.dockerfile_display, Some(line)))
}

fn location(path: &str, line: Option<u32>) -> Location {
    Location { path: path.to_string(), line, ..Location::default() }
}

/// The result of a failed build.
fn build_failed(plan: &Plan, log: &BuildLog, error: &EngineError) -> CheckResult {
    let message = buildlog::strip_ansi(&error.to_string()).trim().to_string();
    if let EngineError::Unreachable(detail) = error {
        return CheckResult::errored(format!("the Docker engine stopped answering during the build: {detail}"));
    }
    let step = log.last_step();
    let mut verdict = buildlog::classify(&message, step);
    if verdict == Verdict::Project && plan.dockerfile.uses_heredoc && message.contains("dockerfile parse error") {
        verdict = Verdict::BuildKit;
    }
    match verdict {
        Verdict::BuildKit => CheckResult::errored(format!(
            "{} needs BuildKit, which greenlight's builder (the engine's classic builder) does not run: {message}\ngreenlight cannot build this image to judge it; build it with `docker buildx build`, or turn the check off with `enabled = false` in [tool.greenlight.docker]",
            plan.dockerfile_display
        )),
        Verdict::Pull => {
            let image = step.map(|step| base_image(&step.instruction, &plan.dockerfile, &plan.build_args));
            let image = image.as_deref().unwrap_or("a base image");
            CheckResult::errored(format!(
                "the base image `{image}` cannot be pulled: {message}\nno registry answered as needed, so greenlight cannot build the image to judge the project; pull or build `{image}` on this machine, or name one you have with `build-args` in [tool.greenlight.docker]"
            ))
        }
        Verdict::Engine => CheckResult::errored(format!("the Docker engine could not build the image: {message}")),
        Verdict::Project => {
            let line = step
                .and_then(|step| plan.dockerfile.line_of_step(&step.instruction))
                .or_else(|| buildlog::line_in_message(&message).filter(|_| step.is_none()));
            let mut detail: Vec<String> = step.map(|step| buildlog::error_lines(step, 20)).unwrap_or_default();
            if !detail.iter().any(|line| line.contains(&message)) {
                detail.push(message.clone());
            }
            let mut finding =
                Finding::new("docker-build", message.clone(), Some(location(&plan.dockerfile_display, line)));
            finding.kind = FindingKind::Build;
            finding.title = Some(match step {
                Some(step) => format!("docker build: step {}/{}", step.number, step.total),
                None => "docker build".to_string(),
            });
            finding.detail = Some(detail.join("\n"));
            finding.help =
                Some("reproduce with `docker build .`; the whole build output is in the check's log".to_string());
            let summary = match step {
                Some(step) => {
                    format!("build failed at step {}/{}: {}", step.number, step.total, clip(&step.instruction, 80))
                }
                None => format!("build failed: {}", clip(&message, 100)),
            };
            CheckResult::failed(summary).with_findings(vec![finding])
        }
    }
}

/// The image a `FROM` step names, with `${ARG}` references resolved from the build arguments
/// and the Dockerfile's global `ARG` defaults.
fn base_image(instruction: &str, dockerfile: &Dockerfile, build_args: &BTreeMap<String, String>) -> String {
    let words: Vec<&str> = instruction.split_whitespace().skip(1).filter(|word| !word.starts_with("--")).collect();
    let reference = words.first().copied().unwrap_or_default();
    let reference = reference.strip_prefix("--from=").unwrap_or(reference);
    resolve_args(reference, dockerfile, build_args)
}

/// An image reference with `${ARG}` references resolved from the build arguments and the
/// Dockerfile's global `ARG` defaults.
fn resolve_args(reference: &str, dockerfile: &Dockerfile, build_args: &BTreeMap<String, String>) -> String {
    let mut defaults = BTreeMap::new();
    for instruction in &dockerfile.instructions {
        if instruction.keyword == "FROM" {
            break;
        }
        if instruction.keyword == "ARG"
            && let Some((name, value)) = instruction.args.split_once('=')
        {
            defaults.insert(name.trim().to_string(), value.trim().trim_matches('"').to_string());
        }
    }
    let lookup = |name: &str| build_args.get(name).or_else(|| defaults.get(name)).cloned().unwrap_or_default();
    let mut out = String::new();
    let mut rest = reference;
    while let Some(start) = rest.find('$') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        if let Some(inner) = after.strip_prefix('{')
            && let Some(end) = inner.find('}')
        {
            let name = inner[..end].split([':', '-']).next().unwrap_or_default();
            let value = lookup(name);
            let fallback = inner[..end].split_once(":-").map(|(_, default)| default.to_string());
            out.push_str(&if value.is_empty() { fallback.unwrap_or_default() } else { value });
            rest = &inner[end + 1..];
        } else {
            let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
            out.push_str(&lookup(&after[..end]));
            rest = &after[end..];
        }
    }
    out.push_str(rest);
    out
}

fn timed_out(what: &str, limit: Duration, option: &str, output: &str) -> CheckResult {
    let limit = humanize(limit);
    let mut result = CheckResult::new(Outcome::TimedOut, format!("{what} ran longer than {limit}"));
    let mut reason = format!(
        "{what} ran longer than {limit} and was stopped; raise `{option}` in [tool.greenlight.docker] if it needs longer"
    );
    if !output.trim().is_empty() {
        reason.push_str("\nlast output:\n");
        reason.push_str(output);
    }
    result.reason = Some(reason);
    result
}

fn build_log_tail(log: &BuildLog) -> String {
    match log.last_step() {
        Some(step) => {
            let mut lines = vec![format!("Step {}/{} : {}", step.number, step.total, step.instruction)];
            lines.extend(buildlog::error_lines(step, 10));
            lines.join("\n")
        }
        None => String::new(),
    }
}

fn output_tail(logs: &engine::ContainerLogs, lines: usize) -> String {
    let mut out = Vec::new();
    for text in [&logs.stdout, &logs.stderr] {
        let all: Vec<&str> = text.lines().filter(|line| !line.trim().is_empty()).collect();
        out.extend(all[all.len().saturating_sub(lines)..].iter().map(|line| line.to_string()));
    }
    out.join("\n")
}

fn last_line(text: &str) -> Option<String> {
    text.lines().rev().map(str::trim).find(|line| !line.is_empty()).map(|line| clip(line, 200))
}

fn clip(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(limit).collect::<String>())
    }
}

fn megabytes(bytes: u64) -> String {
    format!("{:.0} MB", bytes as f64 / 1_000_000.0)
}

fn humanize(duration: Duration) -> String {
    let seconds = duration.as_secs();
    if seconds >= 60 && seconds.is_multiple_of(60) { format!("{}m", seconds / 60) } else { format!("{}s", seconds) }
}

/// A command line for messages, quoted like a shell would need it.
fn shell_join(argv: &[String]) -> String {
    argv.iter()
        .map(|word| {
            let plain = !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+%".contains(c));
            if plain { word.clone() } else { format!("\"{}\"", word.replace('\\', "\\\\").replace('"', "\\\"")) }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The check's log file, appended to (best effort: the log is for people).
struct LogFile {
    file: Mutex<Option<std::fs::File>>,
}

impl LogFile {
    fn new(path: &Path) -> Self {
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        Self { file: Mutex::new(std::fs::OpenOptions::new().create(true).append(true).open(path).ok()) }
    }

    fn raw(&self, text: &str) {
        if let Some(file) = self.file.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).as_mut() {
            let _ = file.write_all(text.as_bytes());
        }
    }

    fn line(&self, line: &str) {
        self.raw(&format!("{}\n", line.trim_end()));
    }
}

/// What this run created in the engine, removed by [`Resources::cleanup`], or — if the check
/// was dropped before it could (abandoned after a stop) — when it is dropped.
struct Resources {
    engine: Arc<dyn Engine>,
    reconnect: Reconnect,
    keep_image: bool,
    log_path: PathBuf,
    state: Mutex<Created>,
}

/// Everything to remove, in the order [`Created::next`] hands it out.
#[derive(Debug, Default)]
struct Created {
    /// The smoke-test container.
    containers: Vec<String>,
    /// Containers the builder started for steps and had not removed yet.
    build_containers: Vec<String>,
    /// The tag of the image.
    tag: Option<String>,
    /// Layers this build committed, oldest first.
    layers: Vec<String>,
    /// The built image, kept with `--keep-image` (its layers stay).
    kept: Option<String>,
    /// While a build runs: the image the step in progress builds on, and when the build last
    /// spoke. If the check stops listening before the build ends, the builder may still commit
    /// the step it is in: a child of that image, made after that moment.
    sweep: Option<(Vec<String>, i64)>,
    /// True from the start of the build until it ended on its own.
    building: bool,
}

/// Seconds since the epoch, as the engine dates images.
fn unix_now() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.map_or(0, |since| i64::try_from(since.as_secs()).unwrap_or(i64::MAX))
}

/// One thing to remove.
#[derive(Debug)]
enum Removal {
    Container(String),
    BuildContainer(String),
    Image(String),
    Layer(String),
    Sweep(Vec<String>, i64),
}

impl Created {
    /// The next thing to remove: containers first, then what an interrupted build may have
    /// committed unseen, then the image, then the layers this build made (newest first).
    fn next(&mut self, keep_image: bool) -> Option<Removal> {
        if let Some(container) = self.containers.pop() {
            return Some(Removal::Container(container));
        }
        if let Some(container) = self.build_containers.pop() {
            return Some(Removal::BuildContainer(container));
        }
        // Before the layers: what the builder commits unseen is found by its parent.
        if let Some((known, since)) = self.sweep.take() {
            return Some(Removal::Sweep(known, since));
        }
        if let Some(tag) = self.tag.take()
            && !keep_image
        {
            return Some(Removal::Image(tag));
        }
        while let Some(layer) = self.layers.pop() {
            if self.kept.as_deref().is_some_and(|kept| engine::same_image(kept, &layer)) {
                continue;
            }
            return Some(Removal::Layer(layer));
        }
        None
    }

    fn is_empty(&self, keep_image: bool) -> bool {
        self.containers.is_empty()
            && self.build_containers.is_empty()
            && (self.tag.is_none() || keep_image)
            && self.layers.is_empty()
            && self.sweep.is_none()
    }
}

impl Resources {
    fn new(engine: Arc<dyn Engine>, reconnect: Reconnect, keep_image: bool, log_path: PathBuf) -> Self {
        Self { engine, reconnect, keep_image, log_path, state: Mutex::new(Created::default()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Created> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn set_tag(&self, tag: &str) {
        self.lock().tag = Some(tag.to_string());
    }

    fn build_started(&self) {
        self.lock().building = true;
    }

    /// Takes note of what the builder did; `images` are the images of its steps so far.
    fn record(&self, events: Vec<buildlog::Event>, parent: Option<String>) {
        let mut state = self.lock();
        for event in events {
            match event {
                buildlog::Event::Layer(id) => state.layers.push(id),
                buildlog::Event::ContainerStarted(id) => state.build_containers.push(id),
                buildlog::Event::ContainerRemoved(id) => state.build_containers.retain(|container| container != &id),
            }
        }
        if state.building {
            // What the builder commits unseen comes after this output, on `parent`: other
            // builds on the same engine may build on the same image, but not at this moment.
            // Image creation times are whole seconds.
            state.sweep = Some((parent.into_iter().collect(), unix_now() - 1));
        }
    }

    /// The build's stream ended (with its image or an error): the builder is done.
    fn build_ended(&self) {
        let mut state = self.lock();
        state.sweep = None;
        state.building = false;
    }

    /// The build made its image; with `--keep-image` it stays.
    fn built(&self, image_id: &str) {
        let mut state = self.lock();
        state.build_containers.clear();
        if self.keep_image {
            state.kept = Some(image_id.to_string());
        }
    }

    fn add_container(&self, id: &str) {
        self.lock().containers.push(id.to_string());
    }

    /// Removes everything; returns what could not be removed, with the command that would.
    async fn cleanup(&self) -> Vec<String> {
        let log = LogFile::new(&self.log_path);
        let mut problems = Vec::new();
        loop {
            let next = self.lock().next(self.keep_image);
            let Some(removal) = next else { break };
            problems.extend(remove(&*self.engine, removal, &log).await);
        }
        problems
    }
}

/// Removes one thing; returns the problems to report.
async fn remove(engine: &dyn Engine, removal: Removal, log: &LogFile) -> Vec<String> {
    let short = |id: &str| id.strip_prefix("sha256:").unwrap_or(id).chars().take(12).collect::<String>();
    match removal {
        Removal::Container(id) => match engine.remove_container(&id).await {
            Ok(()) | Err(EngineError::NotFound(_)) => {
                log.line(&format!("greenlight: removed container {}", short(&id)));
                Vec::new()
            }
            Err(error) => vec![format!("container {id}: {error}; remove it with `docker rm -f {id}`")],
        },
        // A stopped build finishes its current step (a `RUN` is killed; a commit completes),
        // then removes the step's container: wait for that, so that whatever it committed is
        // there to be found. Remove the container only if that takes too long.
        Removal::BuildContainer(id) => {
            let deadline = tokio::time::Instant::now() + BUILD_STEP_GRACE;
            while tokio::time::Instant::now() < deadline && engine.container_exists(&id).await.unwrap_or(false) {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            match engine.remove_container(&id).await {
                Ok(()) | Err(EngineError::NotFound(_) | EngineError::Conflict(_)) => Vec::new(),
                Err(error) => vec![format!("build container {id}: {error}; remove it with `docker rm -f {id}`")],
            }
        }
        Removal::Image(tag) => match engine.remove_image(&tag).await {
            Ok(()) | Err(EngineError::NotFound(_)) => {
                log.line(&format!("greenlight: removed image {tag}"));
                Vec::new()
            }
            Err(error) => vec![format!("image {tag}: {error}; remove it with `docker rmi {tag}`")],
        },
        Removal::Layer(id) => remove_layer(engine, &id).await.into_iter().collect(),
        Removal::Sweep(mut known, since) => {
            // A stopped build finishes the step it is in (a copy, a commit) and may commit it
            // after the check stopped reading: watch for new layers built on what the build
            // made until none has appeared for a while.
            let mut problems = Vec::new();
            let started = tokio::time::Instant::now();
            let mut last_seen = tokio::time::Instant::now();
            while last_seen.elapsed() < SWEEP_QUIET && started.elapsed() < SWEEP_LIMIT {
                let images = engine.dangling_images(since).await.unwrap_or_default();
                let unseen: Vec<String> = images
                    .into_iter()
                    .filter(|(id, parent)| {
                        known.iter().any(|image| engine::same_image(image, parent))
                            && !known.iter().any(|image| engine::same_image(image, id))
                    })
                    .map(|(id, _)| id)
                    .collect();
                for id in unseen {
                    log.line(&format!("greenlight: removed layer {} committed by the stopped build", short(&id)));
                    problems.extend(remove_layer(engine, &id).await);
                    known.push(id);
                    last_seen = tokio::time::Instant::now();
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            problems
        }
    }
}

/// Removes a layer this build made. One still in use by another image stays (it is that
/// image's now); one in use by a container the builder is removing is retried briefly.
async fn remove_layer(engine: &dyn Engine, id: &str) -> Option<String> {
    for _ in 0..10 {
        match engine.remove_image(id).await {
            Ok(()) | Err(EngineError::NotFound(_)) => return None,
            Err(EngineError::Conflict(message)) if message.contains("container") => {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            Err(EngineError::Conflict(_)) => return None,
            Err(error) => return Some(format!("layer {id}: {error}; remove it with `docker rmi {id}`")),
        }
    }
    Some(format!("layer {id} is still used by a container; remove both with `docker rm -f` and `docker rmi {id}`"))
}

impl Drop for Resources {
    fn drop(&mut self) {
        let mut created = std::mem::take(&mut *self.lock());
        if created.is_empty(self.keep_image) {
            return;
        }
        // The check was dropped before its cleanup ran (its run was abandoned): clean up on a
        // thread with a runtime of its own, bounded, and wait for it.
        let reconnect = self.reconnect.clone();
        let keep_image = self.keep_image;
        let log_path = self.log_path.clone();
        let worker = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            runtime.block_on(async move {
                let Some(engine) = reconnect() else { return };
                let log = LogFile::new(&log_path);
                let work = async {
                    while let Some(removal) = created.next(keep_image) {
                        let _ = remove(&*engine, removal, &log).await;
                    }
                };
                let _ = tokio::time::timeout(Duration::from_secs(15), work).await;
            });
        });
        let _ = worker.join();
    }
}

#[cfg(test)]
mod tests;
