//! The check's logic against a stand-in engine.
//!
//! The stand-in is used only for what the real engine cannot be made to do on demand here: a
//! build stream that never ends (the build deadline), an engine that dies in the middle of a
//! build, a removal that fails, and the exact order of cleanup calls when the check is stopped
//! at a given moment. Everything else is tested against the real engine in `tests/e2e/docker.rs`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use greenlight_checker::process::Stop;
use greenlight_checker::{CheckContext, Outcome, Project};

use futures_util::StreamExt as _;

use super::*;
use crate::dockerfile::Dockerfile;
use crate::engine::{BuildEvent, BuildRequest, ContainerSpec, EngineError};
use crate::engine::{BuildStream, ContainerLogs, ImageInfo};
use crate::plan::repository_name;

#[derive(Default)]
struct Script {
    /// Build events, then the stream ends (or hangs when `build_hangs`).
    build: Vec<Result<BuildEvent, EngineError>>,
    /// Each build event comes this long after the previous one.
    build_delay: Option<Duration>,
    build_hangs: bool,
    /// Exit code of the container, or `None` to hang.
    exit_code: Option<i64>,
    stderr: String,
    /// Removals of images fail with this error.
    remove_image_error: Option<EngineError>,
    /// A layer the builder committed without reporting it (once, as a child of this parent).
    unseen_layer: Option<(String, String)>,
}

/// A stand-in engine that follows a script and records every call.
#[derive(Clone, Default)]
struct FakeEngine {
    script: Arc<Script>,
    calls: Arc<Mutex<Vec<String>>>,
    /// The Dockerfile the last build was sent.
    sent: Arc<Mutex<String>>,
}

impl FakeEngine {
    fn new(script: Script) -> Self {
        Self { script: Arc::new(script), calls: Arc::default(), sent: Arc::default() }
    }

    fn record(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    fn sent_dockerfile(&self) -> String {
        self.sent.lock().unwrap().clone()
    }
}

#[async_trait]
impl Engine for FakeEngine {
    fn endpoint(&self) -> String {
        "unix:///fake.sock".to_string()
    }

    async fn version(&self) -> Result<String, EngineError> {
        Ok("Docker Engine fake (API 1.41)".to_string())
    }

    fn build(&self, request: &BuildRequest) -> BuildStream<'_> {
        self.record(format!("build {}", request.tag));
        let mut archive = tar::Archive::new(std::fs::File::open(&request.context_tar).unwrap());
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            if entry.path().unwrap().to_string_lossy() == request.dockerfile {
                let mut text = String::new();
                std::io::Read::read_to_string(&mut entry, &mut text).unwrap();
                *self.sent.lock().unwrap() = text;
            }
        }
        let events = self.script.build.clone();
        let delay = self.script.build_delay;
        let stream = futures_util::stream::iter(events).then(move |event| async move {
            if let Some(delay) = delay {
                tokio::time::sleep(delay).await;
            }
            event
        });
        if self.script.build_hangs { Box::pin(stream.chain(futures_util::stream::pending())) } else { Box::pin(stream) }
    }

    async fn inspect_image(&self, image: &str) -> Result<ImageInfo, EngineError> {
        self.record(format!("inspect {image}"));
        Ok(ImageInfo { id: "sha256:feed".to_string(), size: Some(42_000_000) })
    }

    async fn create_container(&self, spec: &ContainerSpec) -> Result<String, EngineError> {
        self.record(format!("create {} {}", spec.name, spec.cmd.join(" ")));
        Ok("c0ffee".to_string())
    }

    async fn start_container(&self, id: &str) -> Result<(), EngineError> {
        self.record(format!("start {id}"));
        Ok(())
    }

    async fn wait_container(&self, id: &str) -> Result<i64, EngineError> {
        self.record(format!("wait {id}"));
        match self.script.exit_code {
            Some(code) => Ok(code),
            None => std::future::pending().await,
        }
    }

    async fn logs(&self, id: &str, _limit: usize) -> Result<ContainerLogs, EngineError> {
        self.record(format!("logs {id}"));
        Ok(ContainerLogs { stdout: String::new(), stderr: self.script.stderr.clone() })
    }

    async fn remove_container(&self, id: &str) -> Result<(), EngineError> {
        self.record(format!("rm {id}"));
        Ok(())
    }

    async fn container_exists(&self, id: &str) -> Result<bool, EngineError> {
        // The builder's container goes away on its own after a while.
        let looks = self.calls().iter().filter(|call| *call == &format!("exists {id}")).count();
        self.record(format!("exists {id}"));
        Ok(looks < 2)
    }

    async fn remove_image(&self, image: &str) -> Result<(), EngineError> {
        self.record(format!("rmi {image}"));
        match &self.script.remove_image_error {
            Some(error) => Err(error.clone()),
            None => Ok(()),
        }
    }

    async fn dangling_images(&self, _since: i64) -> Result<Vec<(String, String)>, EngineError> {
        let first = !self.calls().iter().any(|call| call == "dangling");
        self.record("dangling".to_string());
        match &self.script.unseen_layer {
            Some((parent, layer)) if first => Ok(vec![
                (layer.clone(), format!("sha256:{parent}ffff")),
                ("sha256:someone-elses".to_string(), "sha256:unrelated".to_string()),
            ]),
            _ => Ok(Vec::new()),
        }
    }

    async fn labelled_containers(&self, run: &str) -> Result<Vec<String>, EngineError> {
        self.record(format!("labelled containers {run}"));
        Ok(Vec::new())
    }

    async fn labelled_images(&self, run: &str) -> Result<Vec<String>, EngineError> {
        self.record(format!("labelled images {run}"));
        Ok(Vec::new())
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    cx: CheckContext,
}

fn fixture(dockerfile: &str) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("project");
    std::fs::create_dir_all(root.join("apps/api")).unwrap();
    std::fs::write(root.join("Dockerfile"), dockerfile).unwrap();
    std::fs::write(root.join("apps/api/main.py"), "app = object()\n").unwrap();
    std::fs::write(root.join(".dockerignore"), "secrets\n").unwrap();
    std::fs::create_dir_all(root.join("secrets")).unwrap();
    std::fs::write(root.join("secrets/token"), "not a real token").unwrap();
    let scratch = dir.path().join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    let cx = CheckContext {
        project: Arc::new(Project { root, ..Project::default() }),
        tools: BTreeMap::new(),
        environment: None,
        scratch,
        log_path: dir.path().join("docker.log"),
        stop: Stop::new(),
        fix: false,
        pass_env: Vec::new(),
        run_id: "20261126-120000-abc".to_string(),
        vars: BTreeMap::new(),
        at_revision: false,
        changed: None,
        secrets: Default::default(),
        state_dir: dir.path().join("state"),
        partition: None,
    };
    Fixture { _dir: dir, cx }
}

const DOCKERFILE: &str = "FROM base\nWORKDIR /app\nCOPY . .\nCMD [\"uvicorn\", \"apps.api.main:app\"]\n";
const TAG: &str = "greenlight/project:20261126-120000-abc";

fn output(text: &str) -> Result<BuildEvent, EngineError> {
    Ok(BuildEvent::Output(text.to_string()))
}

/// A successful build's events: a base image, one new layer.
fn built() -> Vec<Result<BuildEvent, EngineError>> {
    vec![
        output("Step 1/3 : FROM base\n ---> 1111111111aa\n"),
        output("Step 2/3 : COPY . .\n ---> 2222222222bb\n"),
        output("Step 3/3 : LABEL io.greenlight.run=x\n ---> Running in 3333\n ---> 4444444444cc\n"),
        output("Successfully built 4444444444cc\n"),
    ]
}

async fn run(fixture: &Fixture, options: DockerOptions, engine: FakeEngine) -> CheckResult {
    let plan = Plan::new(&options, &fixture.cx).unwrap();
    let for_reconnect = engine.clone();
    let reconnect: Reconnect = Arc::new(move || Some(Arc::new(for_reconnect.clone()) as Arc<dyn Engine>));
    check(&plan, &fixture.cx, Arc::new(engine), reconnect).await.unwrap_or_else(CheckError::into_result)
}

#[tokio::test]
async fn passes_and_cleans_up() {
    let fixture = fixture(DOCKERFILE);
    let engine = FakeEngine::new(Script { build: built(), exit_code: Some(0), ..Script::default() });
    let result = run(&fixture, DockerOptions::default(), engine.clone()).await;
    assert_eq!(result.outcome, Outcome::Passed, "{result:?}");
    assert!(result.summary.contains("`python -c 'import apps.api.main'` exits 0"), "{}", result.summary);
    assert_eq!(result.artifacts[0].sha256.as_deref(), Some("sha256:feed"));
    assert_eq!(
        engine.calls(),
        [
            format!("build {TAG}"),
            format!("inspect {TAG}"),
            "create greenlight-smoke-20261126-120000-abc python -c import apps.api.main".to_string(),
            "start c0ffee".to_string(),
            "wait c0ffee".to_string(),
            "logs c0ffee".to_string(),
            "rm c0ffee".to_string(),
            format!("rmi {TAG}"),
            "rmi 4444444444cc".to_string(),
            "rmi 2222222222bb".to_string(),
            "labelled containers 20261126-120000-abc".to_string(),
            "labelled images 20261126-120000-abc".to_string(),
        ],
        "then whatever carries the run's label"
    );
    let log = std::fs::read_to_string(&fixture.cx.log_path).unwrap();
    assert!(log.contains("left out by .dockerignore: secrets"), "{log}");
}

#[tokio::test]
async fn keep_image_keeps_only_the_image() {
    let fixture = fixture(DOCKERFILE);
    let engine = FakeEngine::new(Script { build: built(), exit_code: Some(0), ..Script::default() });
    let options = DockerOptions { keep_image: true, ..DockerOptions::default() };
    let result = run(&fixture, options, engine.clone()).await;
    assert_eq!(result.outcome, Outcome::Passed, "{result:?}");
    let calls = engine.calls();
    assert!(calls.contains(&"rm c0ffee".to_string()));
    assert!(!calls.contains(&format!("rmi {TAG}")), "{calls:?}");
    assert_eq!(result.artifacts[0].path, TAG);
}

#[tokio::test(start_paused = true)]
async fn a_build_that_never_ends_times_out_and_is_cleaned_up() {
    let fixture = fixture(DOCKERFILE);
    let engine = FakeEngine::new(Script {
        build: vec![output(
            "Step 1/3 : FROM base\n ---> 1111111111aa\nStep 2/3 : RUN sleep infinity\n ---> Running in 99\n",
        )],
        build_hangs: true,
        ..Script::default()
    });
    let options =
        DockerOptions { build_timeout: Some(DurationValue(Duration::from_secs(60))), ..DockerOptions::default() };
    let result = run(&fixture, options, engine.clone()).await;
    assert_eq!(result.outcome, Outcome::TimedOut, "{result:?}");
    assert!(result.reason.as_deref().unwrap().contains("raise `build-timeout`"), "{result:?}");
    assert!(result.reason.as_deref().unwrap().contains("Step 2/2 : RUN sleep infinity"), "{result:?}");
    let calls = engine.calls();
    let cleanup: Vec<&str> = calls.iter().skip(1).take(5).map(String::as_str).collect();
    assert_eq!(
        cleanup,
        ["exists 99", "exists 99", "exists 99", "rm 99", "dangling"],
        "the builder's container (waited for), then a watch for layers committed unseen"
    );
    assert_eq!(calls.iter().filter(|call| *call == "dangling").count(), 3, "a quiet 1.5s, every 0.5s");
    let last: Vec<&str> = calls.iter().rev().take(3).rev().map(String::as_str).collect();
    assert_eq!(
        last,
        [&format!("rmi {TAG}"), "labelled containers 20261126-120000-abc", "labelled images 20261126-120000-abc"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_step_in_the_middle_of_a_copy_is_finished_before_the_build_is_abandoned() {
    let fixture = fixture(DOCKERFILE);
    let engine = FakeEngine::new(Script {
        build: vec![
            output("Step 1/3 : FROM base\n ---> 1111111111aa\n"),
            output("Step 2/3 : COPY . .\n"),
            output(" ---> 2222222222bb\n"),
            output("Step 3/3 : RUN sleep 300\n ---> Running in 99\n"),
        ],
        build_delay: Some(Duration::from_secs(1)),
        build_hangs: true,
        ..Script::default()
    });
    // The deadline falls while the copy runs (between the 2nd and 3rd event).
    let options =
        DockerOptions { build_timeout: Some(DurationValue(Duration::from_millis(2500))), ..DockerOptions::default() };
    let result = run(&fixture, options, engine.clone()).await;
    assert_eq!(result.outcome, Outcome::TimedOut, "{result:?}");
    let calls = engine.calls();
    assert!(calls.contains(&"rmi 2222222222bb".to_string()), "the copy's layer was seen and removed: {calls:?}");
    assert!(!calls.iter().any(|call| call.contains(" 99")), "the build was left before the next step: {calls:?}");
}

#[tokio::test(start_paused = true)]
async fn a_layer_committed_after_a_stop_is_found_and_removed() {
    let fixture = fixture(DOCKERFILE);
    let engine = FakeEngine::new(Script {
        build: vec![output("Step 1/3 : FROM base\n ---> 1111111111aa\nStep 2/3 : COPY . .\n")],
        build_hangs: true,
        unseen_layer: Some(("1111111111aa".to_string(), "sha256:7777".to_string())),
        ..Script::default()
    });
    let options =
        DockerOptions { build_timeout: Some(DurationValue(Duration::from_secs(5))), ..DockerOptions::default() };
    let result = run(&fixture, options, engine.clone()).await;
    assert_eq!(result.outcome, Outcome::TimedOut, "{result:?}");
    let calls = engine.calls();
    assert!(calls.contains(&"rmi sha256:7777".to_string()), "{calls:?}");
    assert!(!calls.contains(&"rmi sha256:someone-elses".to_string()), "only layers built on this build's: {calls:?}");
}

#[tokio::test(start_paused = true)]
async fn layers_of_other_builds_on_an_earlier_image_are_left_alone() {
    // Stopped while copying onto its own layer 2222222222bb: a new child of the base image
    // 1111111111aa is another build's (same base, same engine), not this one's.
    let fixture = fixture(DOCKERFILE);
    let engine = FakeEngine::new(Script {
        build: vec![output(
            "Step 1/4 : FROM base\n ---> 1111111111aa\nStep 2/4 : WORKDIR /app\n ---> 2222222222bb\nStep 3/4 : COPY . .\n",
        )],
        build_hangs: true,
        unseen_layer: Some(("1111111111aa".to_string(), "sha256:7777".to_string())),
        ..Script::default()
    });
    let options =
        DockerOptions { build_timeout: Some(DurationValue(Duration::from_secs(5))), ..DockerOptions::default() };
    let result = run(&fixture, options, engine.clone()).await;
    assert_eq!(result.outcome, Outcome::TimedOut, "{result:?}");
    let calls = engine.calls();
    assert!(calls.contains(&"dangling".to_string()), "the sweep ran: {calls:?}");
    assert!(!calls.contains(&"rmi sha256:7777".to_string()), "another build's layer was removed: {calls:?}");
    assert!(calls.contains(&"rmi 2222222222bb".to_string()), "this build's own layer is removed: {calls:?}");
}

#[tokio::test(start_paused = true)]
async fn a_hanging_smoke_command_times_out() {
    let fixture = fixture(DOCKERFILE);
    let engine = FakeEngine::new(Script { build: built(), exit_code: None, ..Script::default() });
    let result = run(&fixture, DockerOptions::default(), engine.clone()).await;
    assert_eq!(result.outcome, Outcome::TimedOut, "{result:?}");
    assert!(engine.calls().contains(&"rm c0ffee".to_string()));
}

#[tokio::test]
async fn cancellation_during_the_smoke_test_removes_everything() {
    let fixture = fixture(DOCKERFILE);
    let engine = FakeEngine::new(Script { build: built(), exit_code: None, ..Script::default() });
    let stop = fixture.cx.stop.clone();
    let watcher = engine.clone();
    tokio::spawn(async move {
        while !watcher.calls().iter().any(|call| call.starts_with("wait")) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        stop.cancel();
    });
    let result = run(&fixture, DockerOptions::default(), engine.clone()).await;
    assert_eq!(result.outcome, Outcome::Cancelled, "{result:?}");
    let calls = engine.calls();
    let tail: Vec<&str> = calls.iter().skip_while(|call| !call.starts_with("wait")).map(String::as_str).collect();
    assert_eq!(
        tail,
        [
            "wait c0ffee",
            "rm c0ffee",
            &format!("rmi {TAG}"),
            "rmi 4444444444cc",
            "rmi 2222222222bb",
            "labelled containers 20261126-120000-abc",
            "labelled images 20261126-120000-abc"
        ]
    );
}

#[tokio::test]
async fn a_failing_step_is_failed_at_its_line() {
    let fixture = fixture("FROM base\nWORKDIR /app\nRUN python -m compileall -q .\nCMD [\"python\"]\n");
    let engine = FakeEngine::new(Script {
        build: vec![
            // As the engine numbers the steps of the sent Dockerfile, with its `LABEL`.
            output("Step 1/5 : FROM base\n ---> 1111111111aa\n"),
            output("Step 2/5 : LABEL io.greenlight.run=\"20261126-120000-abc\"\n ---> Running in 77\n"),
            output("Removing intermediate container 77\n ---> 7777777777ee\n"),
            output("Step 3/5 : WORKDIR /app\n ---> 5555555555dd\n"),
            output("Step 4/5 : RUN python -m compileall -q .\n ---> Running in 66\n"),
            output(
                "*** Error compiling './broken.py'...\n  File \"./broken.py\", line 1\n    def (:\nSyntaxError: invalid syntax\n",
            ),
            Err(EngineError::Stream(
                "The command '/bin/sh -c python -m compileall -q .' returned a non-zero code: 1".to_string(),
            )),
        ],
        ..Script::default()
    });
    let result = run(&fixture, DockerOptions::default(), engine.clone()).await;
    assert_eq!(result.outcome, Outcome::Failed, "{result:?}");
    assert_eq!(
        result.summary, "build failed at step 3/4: RUN python -m compileall -q .",
        "as `docker build .` numbers it"
    );
    let finding = &result.findings[0];
    assert_eq!(finding.location.as_ref().unwrap().line, Some(3));
    assert!(finding.detail.as_deref().unwrap().contains("SyntaxError: invalid syntax"));
    assert!(engine.calls().contains(&"rmi 5555555555dd".to_string()), "the layer the failed build made is removed");
}

#[tokio::test]
async fn an_unpullable_base_image_is_errored_naming_it() {
    let fixture = fixture("ARG BASE_IMAGE=python:3.11-slim\nFROM ${BASE_IMAGE}\nCMD [\"python\"]\n");
    let engine = FakeEngine::new(Script {
        build: vec![
            output("Step 1/3 : ARG BASE_IMAGE=python:3.11-slim\n"),
            output("Step 2/3 : FROM ${BASE_IMAGE}\n"),
            Err(EngineError::Stream(
                "Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io: no such host"
                    .to_string(),
            )),
        ],
        ..Script::default()
    });
    let result = run(&fixture, DockerOptions::default(), engine).await;
    assert_eq!(result.outcome, Outcome::Errored, "{result:?}");
    assert!(result.summary.starts_with("the base image `python:3.11-slim` cannot be pulled"), "{}", result.summary);
}

#[tokio::test]
async fn an_engine_that_dies_mid_build_is_errored() {
    let fixture = fixture(DOCKERFILE);
    let engine = FakeEngine::new(Script {
        build: vec![
            output("Step 1/3 : FROM base\n"),
            Err(EngineError::Unreachable("connection reset by peer".to_string())),
        ],
        ..Script::default()
    });
    let result = run(&fixture, DockerOptions::default(), engine).await;
    assert_eq!(result.outcome, Outcome::Errored, "{result:?}");
    assert!(result.summary.contains("stopped answering"), "{}", result.summary);
}

#[tokio::test]
async fn a_failed_removal_is_reported_with_the_command_that_removes() {
    let fixture = fixture(DOCKERFILE);
    let engine = FakeEngine::new(Script {
        build: built(),
        exit_code: Some(1),
        stderr: "Traceback (most recent call last):\nModuleNotFoundError: No module named 'packages'\n".to_string(),
        remove_image_error: Some(EngineError::Server { status: 500, message: "driver failed".to_string() }),
        ..Script::default()
    });
    let result = run(&fixture, DockerOptions::default(), engine).await;
    assert_eq!(result.outcome, Outcome::Failed, "{result:?}");
    assert_eq!(result.summary, "smoke test exited 1: ModuleNotFoundError: No module named 'packages'");
    assert_eq!(result.findings[0].location.as_ref().unwrap().line, Some(4), "the CMD the module came from");
    assert!(result.reason.as_deref().unwrap().contains(&format!("`docker rmi {TAG}`")), "{result:?}");
}

#[tokio::test]
async fn no_module_to_import_is_errored_after_the_build() {
    let fixture = fixture("FROM base\nCMD [\"./start.sh\"]\n");
    std::fs::remove_dir_all(fixture.cx.project.root.join("apps")).unwrap();
    let engine = FakeEngine::new(Script { build: built(), ..Script::default() });
    let result = run(&fixture, DockerOptions::default(), engine).await;
    assert_eq!(result.outcome, Outcome::Errored, "{result:?}");
    assert!(result.summary.contains("cannot tell which module to import"), "{}", result.summary);
}

#[test]
fn smoke_plans() {
    let dockerfile = Dockerfile::parse(DOCKERFILE);
    let root = std::path::Path::new("/nonexistent");
    let plan = |options: DockerOptions| smoke_plan(&options, &dockerfile, root, None);
    match plan(DockerOptions::default()) {
        Smoke::Command { argv, origin, line } => {
            assert_eq!(argv, ["python", "-c", "import apps.api.main"]);
            assert_eq!(origin, "the Dockerfile's CMD `uvicorn apps.api.main:app`");
            assert_eq!(line, Some(4));
        }
        other => panic!("{other:?}"),
    }
    let options = DockerOptions { smoke_module: Some("svc.main".to_string()), ..DockerOptions::default() };
    assert!(matches!(plan(options), Smoke::Command { argv, .. } if argv[2] == "import svc.main"));
    let options = DockerOptions { smoke_test: Some(false), ..DockerOptions::default() };
    assert_eq!(plan(options), Smoke::Disabled);
}

#[test]
fn names() {
    assert_eq!(repository_name("Clean_Service.API"), "clean-service-api");
    assert_eq!(repository_name("--"), "project");
    let dockerfile = Dockerfile::parse("ARG BASE=python:3.11\nARG TAG\nFROM ${BASE}-slim\n");
    let args = BTreeMap::from([("BASE".to_string(), "local/python:3.12".to_string())]);
    assert_eq!(dockerfile.base_image("FROM ${BASE}-slim", &BTreeMap::new()), "python:3.11-slim");
    assert_eq!(dockerfile.base_image("FROM --platform=linux/amd64 ${BASE}-slim AS x", &args), "local/python:3.12-slim");
    assert_eq!(dockerfile.base_image("FROM ${MISSING:-alpine}", &BTreeMap::new()), "alpine");
}

#[tokio::test]
async fn buildkit_only_syntax_is_errored_not_failed() {
    let fixture = fixture("FROM base\nRUN --mount=type=cache,target=/root/.cache pip install .\n");
    let engine = FakeEngine::new(Script {
        build: vec![
            output("Step 1/3 : FROM base\n ---> 1111111111aa\n"),
            output("Step 2/3 : RUN --mount=type=cache,target=/root/.cache pip install .\n"),
            Err(EngineError::Stream("the --mount option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled".to_string())),
        ],
        ..Script::default()
    });
    let result = run(&fixture, DockerOptions::default(), engine).await;
    assert_eq!(result.outcome, Outcome::Errored, "{result:?}");
    assert!(result.summary.starts_with("Dockerfile needs BuildKit"), "{}", result.summary);
}

#[tokio::test]
async fn an_engine_fault_during_a_step_is_errored_not_failed() {
    // The engine cannot attach the step's container to its network: nothing the project did.
    let fixture = fixture(DOCKERFILE);
    let bridge = "failed to create endpoint vibrant_lamport on network bridge: could not find bridge docker0: route ip+net: no such network interface";
    let engine = FakeEngine::new(Script {
        build: vec![
            output("Step 1/4 : FROM base\n ---> 1111111111aa\n"),
            output("Step 2/4 : LABEL io.greenlight.run=\"20261126-120000-abc\"\n ---> 7777777777ee\n"),
            output("Step 3/4 : WORKDIR /app\n ---> 5555555555dd\nStep 4/4 : RUN pip install .\n"),
            Err(EngineError::Stream(bridge.to_string())),
        ],
        ..Script::default()
    });
    let result = run(&fixture, DockerOptions::default(), engine.clone()).await;
    assert_eq!(result.outcome, Outcome::Errored, "{result:?}");
    assert!(
        result.summary.starts_with("the Docker engine could not build the image (at step 3/3: RUN pip install .)"),
        "{}",
        result.summary
    );
    assert!(result.findings.is_empty(), "no finding points at the Dockerfile: {result:?}");
    assert!(engine.calls().contains(&"rmi 5555555555dd".to_string()), "what it made is removed");
}

#[tokio::test]
async fn a_build_stream_that_cannot_be_read_is_errored() {
    let fixture = fixture(DOCKERFILE);
    let engine = FakeEngine::new(Script {
        build: vec![
            output("Step 1/4 : FROM base\n ---> 1111111111aa\n"),
            Err(EngineError::Other("Failed to deserialize JSON: expected value at line 1 column 1".to_string())),
        ],
        ..Script::default()
    });
    let result = run(&fixture, DockerOptions::default(), engine).await;
    assert_eq!(result.outcome, Outcome::Errored, "{result:?}");
    assert!(result.summary.starts_with("the engine's build output could not be read"), "{}", result.summary);
}

#[tokio::test]
async fn an_unpullable_base_image_suggests_image_map_and_build_args_only_for_an_arg() {
    let pull_error = || {
        Err(EngineError::Stream(
            "pull access denied for python, repository does not exist or may require 'docker login'".to_string(),
        ))
    };
    let fixture = fixture("FROM python:3.11-slim\nCMD [\"python\"]\n");
    let engine = FakeEngine::new(Script {
        build: vec![output("Step 1/3 : FROM python:3.11-slim\n"), pull_error()],
        ..Script::default()
    });
    let result = run(&fixture, DockerOptions::default(), engine).await;
    assert_eq!(result.outcome, Outcome::Errored, "{result:?}");
    let reason = result.reason.clone().unwrap_or_default();
    assert!(result.summary.starts_with("the base image `python:3.11-slim` cannot be pulled"), "{result:?}");
    assert!(reason.contains("`image-map = { \"python:3.11-slim\" = \"IMAGE\" }`"), "{reason}");
    assert!(!reason.contains("build-args"), "no ARG feeds this FROM: {reason}");

    // Mapped to an image that is not there either: the message names both.
    let options = DockerOptions {
        image_map: BTreeMap::from([("python:3.11-slim".to_string(), "mirror.local/python:3.11-slim".to_string())]),
        ..DockerOptions::default()
    };
    let engine = FakeEngine::new(Script {
        build: vec![output("Step 1/3 : FROM mirror.local/python:3.11-slim\n"), pull_error()],
        ..Script::default()
    });
    let result = run(&fixture, options, engine.clone()).await;
    let reason = result.reason.clone().unwrap_or_default();
    assert!(
        result.summary.starts_with("the base image `mirror.local/python:3.11-slim` cannot be pulled"),
        "{result:?}"
    );
    assert!(reason.contains("`image-map` in [tool.greenlight.docker] builds `python:3.11-slim` from it"), "{reason}");
    let sent = engine.sent_dockerfile();
    assert!(
        sent.starts_with("FROM mirror.local/python:3.11-slim\nLABEL io.greenlight.run=\"20261126-120000-abc\"\n"),
        "{sent}"
    );
    let on_disk = std::fs::read_to_string(fixture.cx.project.root.join("Dockerfile")).unwrap();
    assert_eq!(on_disk, "FROM python:3.11-slim\nCMD [\"python\"]\n", "the user's Dockerfile is not edited");
}

#[tokio::test(start_paused = true)]
async fn a_second_ctrl_c_ends_the_check_without_waiting_for_the_builder() {
    // Stopped in the middle of a copy (not safe to leave), then killed: the check neither waits
    // for the step to end nor watches for layers it commits late (the record and the label
    // leave those to the next run).
    let fixture = fixture(DOCKERFILE);
    let engine = FakeEngine::new(Script {
        build: vec![output("Step 1/3 : FROM base\n ---> 1111111111aa\nStep 2/3 : COPY . .\n")],
        build_hangs: true,
        ..Script::default()
    });
    let stop = fixture.cx.stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        stop.cancel();
        tokio::time::sleep(Duration::from_millis(500)).await;
        stop.kill();
    });
    let started = tokio::time::Instant::now();
    let result = run(&fixture, DockerOptions::default(), engine.clone()).await;
    assert_eq!(result.outcome, Outcome::Cancelled, "{result:?}");
    let calls = engine.calls();
    assert!(!calls.contains(&"dangling".to_string()), "no watch for late layers: {calls:?}");
    assert!(calls.contains(&format!("rmi {TAG}")), "the quick removals still run: {calls:?}");
    assert!(started.elapsed() < Duration::from_secs(2), "left the builder at the second Ctrl-C (virtual time)");
}

#[tokio::test]
async fn a_parse_error_points_at_the_users_line_not_the_sent_files() {
    let fixture = fixture("FROM base\nRUNN pip install .\n");
    let engine = FakeEngine::new(Script {
        // The daemon numbers the lines of the sent file, which has a LABEL after the FROM.
        build: vec![Err(EngineError::Server {
            status: 400,
            message: "dockerfile parse error line 3: unknown instruction: RUNN".to_string(),
        })],
        ..Script::default()
    });
    let result = run(&fixture, DockerOptions::default(), engine).await;
    assert_eq!(result.outcome, Outcome::Failed, "{result:?}");
    assert_eq!(result.findings[0].location.as_ref().unwrap().line, Some(2), "{result:?}");
}
