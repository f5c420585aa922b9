//! The `docker` check against the real engine: image builds, failing steps, a missing module,
//! `.dockerignore`, no engine, an unpullable base image, timeouts and Ctrl-C, and after each
//! run, nothing left behind (checked by label, and against the containers and dangling images
//! that existed before).
//!
//! These tests run one at a time (`.config/nextest.toml` puts them in a group of one thread;
//! under plain `cargo test` a lock does the same, and a lock file in the temporary directory keeps
//! two test runs on one machine apart): they share one engine.

use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use greenlight_e2e::{
    DOCKER_BASE_IMAGE, Expected, RunResult, TempProject, docker, interrupt, require_docker, run_greenlight,
    spawn_greenlight, wait_for,
};
use greenlight_report::Outcome;

/// The label greenlight puts on what it creates.
const RUN_LABEL: &str = "io.greenlight.run";

/// Holds the engine for one docker test: a lock within this process (also without nextest)
/// and a lock file shared by every test run on the machine, so two checkouts testing at once
/// do not see each other's containers as leftovers.
struct Serial {
    _file: std::fs::File,
    _guard: MutexGuard<'static, ()>,
}

/// One docker test at a time, in this process and on this machine.
fn serial() -> Serial {
    static LOCK: Mutex<()> = Mutex::new(());
    let guard = LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let path = std::env::temp_dir().join("greenlight-docker-tests.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap_or_else(|error| panic!("cannot open {}: {error}", path.display()));
    file.lock().unwrap_or_else(|error| panic!("cannot lock {}: {error}", path.display()));
    Serial { _file: file, _guard: guard }
}

fn lines(text: Option<String>) -> BTreeSet<String> {
    text.unwrap_or_default().lines().map(str::trim).filter(|line| !line.is_empty()).map(str::to_string).collect()
}

/// What existed before a test, to prove afterwards that the run added nothing.
struct EngineState {
    containers: BTreeSet<String>,
    dangling: BTreeSet<String>,
}

impl EngineState {
    fn now() -> Self {
        Self {
            containers: lines(docker(&["ps", "-aq", "--no-trunc"])),
            dangling: lines(docker(&["images", "-q", "--no-trunc", "--filter", "dangling=true"])),
        }
    }

    /// Panics unless the engine holds nothing new: no container or image labelled by greenlight
    /// (for `run_id`, or any run when `None`), no new container, no new dangling image. Waits a
    /// little for the engine to finish removing the containers of a cancelled build.
    fn assert_nothing_left(&self, run_id: Option<&str>) {
        let label = match run_id {
            Some(run_id) => format!("label={RUN_LABEL}={run_id}"),
            None => format!("label={RUN_LABEL}"),
        };
        let mut report = String::new();
        let clean = wait_for(Duration::from_secs(15), || {
            let labelled_containers = lines(docker(&["ps", "-aq", "--filter", &label]));
            let labelled_images = lines(docker(&["images", "-aq", "--filter", &label]));
            let now = EngineState::now();
            let new_containers: Vec<_> = now.containers.difference(&self.containers).cloned().collect();
            let new_dangling: Vec<_> = now.dangling.difference(&self.dangling).cloned().collect();
            report = format!(
                "labelled containers {labelled_containers:?}, labelled images {labelled_images:?}, new containers {new_containers:?}, new dangling images {new_dangling:?}"
            );
            labelled_containers.is_empty()
                && labelled_images.is_empty()
                && new_containers.is_empty()
                && new_dangling.is_empty()
        });
        assert!(clean, "the run left things in the engine: {report}");
    }
}

/// A copy of a fixture that builds from the local base image.
fn docker_project(name: &str) -> TempProject {
    let project = TempProject::fixture(name);
    configure(&project, "");
    project
}

/// Appends `[tool.greenlight.docker]` with the local base image and `extra` lines.
fn configure(project: &TempProject, extra: &str) {
    docker_section(project, &format!("build-args = {{ BASE_IMAGE = \"{DOCKER_BASE_IMAGE}\" }}\n{extra}"));
}

/// Replaces the project's `[tool.greenlight.docker]` (at the end of its pyproject.toml) by one
/// with `body`.
fn docker_section(project: &TempProject, body: &str) {
    let pyproject = std::fs::read_to_string(project.path().join("pyproject.toml")).unwrap();
    let pyproject = match pyproject.find("\n[tool.greenlight.docker]") {
        Some(start) => pyproject[..start].to_string(),
        None => pyproject,
    };
    project.write("pyproject.toml", &format!("{pyproject}\n[tool.greenlight.docker]\n{body}"));
}

fn run_id(result: &RunResult) -> String {
    result.report().run_id.clone()
}

fn check_fixture(name: &str) {
    if !require_docker() {
        return;
    }
    let _serial = serial();
    let before = EngineState::now();
    let expected = Expected::load(name);
    let project = docker_project(name);
    let files = project.snapshot();
    let result = project.run_checks(&expected.check_ids());
    expected.assert_matches(&result);
    assert_eq!(project.snapshot(), files, "the run changed the project's files\n{}", result.output());
    before.assert_nothing_left(Some(&run_id(&result)));
}

#[test]
fn a_service_image_builds_and_its_entrypoint_imports() {
    if !greenlight_e2e::require_tool("pyproject-build") {
        return;
    }
    check_fixture("docker-service");
}

#[test]
fn a_failing_dockerfile_step_fails_at_its_line() {
    check_fixture("docker-build-fails");
}

#[test]
fn a_module_left_out_of_the_image_fails_the_smoke_test() {
    check_fixture("docker-import-fails");
}

#[test]
fn without_a_dockerfile_the_check_does_not_apply() {
    let expected = Expected::load("docker-none");
    let project = TempProject::fixture("docker-none");
    let result = project.run_checks(&expected.check_ids());
    expected.assert_matches(&result);
}

/// The smoke command looks inside the image: what `.dockerignore` excludes (a secret, an env
/// file, notes) is not there, and what it re-includes is. Without the `.dockerignore`, the
/// same command fails: the test can see a leak.
#[test]
fn files_excluded_by_dockerignore_never_enter_the_image() {
    if !require_docker() {
        return;
    }
    let _serial = serial();
    let before = EngineState::now();
    let project = TempProject::fixture("docker-service");
    let probe = "import os, sys; leaked = [p for p in ('.env', 'secrets/api-token.txt', 'docs/notes.md', 'tests', '.greenlight', '.dockerfile.greenlight') if os.path.exists(p)]; sys.exit(f'leaked: {leaked}' if leaked else 0 if os.path.exists('docs/runbook.md') else 'docs/runbook.md is missing')";
    configure(&project, &format!("smoke-command = [\"python\", \"-c\", \"{probe}\"]\n"));
    let result = project.run_checks(&["docker"]);
    let check = result.report().check("docker").unwrap().clone();
    assert_eq!(check.outcome, Outcome::Passed, "{check:?}\n{}", result.output());
    let log = std::fs::read_to_string(project.path().join(&check.log.as_ref().unwrap().path)).unwrap();
    assert!(log.contains("left out by .dockerignore: .env, docs/notes.md, secrets, tests"), "{log}");
    before.assert_nothing_left(Some(&run_id(&result)));

    // Without it everything is sent, but never greenlight's own state (a CI checkout has none).
    std::fs::remove_file(project.path().join(".dockerignore")).unwrap();
    let result = project.run_checks(&["docker"]);
    let check = result.report().check("docker").unwrap().clone();
    assert_eq!(check.outcome, Outcome::Failed, "{check:?}");
    assert!(check.summary.contains("leaked: ['.env', 'secrets/api-token.txt', 'docs/notes.md', 'tests']"), "{check:?}");
    before.assert_nothing_left(Some(&run_id(&result)));
}

#[test]
fn no_engine_is_errored_at_once() {
    let project = TempProject::fixture("docker-service");
    for host in ["unix:///nonexistent/docker.sock", "tcp://127.0.0.1:1"] {
        let started = Instant::now();
        let report = project.path().join("report.json");
        let result = run_greenlight(
            project.path(),
            &["run", "docker", "--no-progress", "--json", report.to_str().unwrap()],
            &[("DOCKER_HOST", host)],
        );
        let elapsed = started.elapsed();
        assert_eq!(result.code, Some(2), "{}", result.output());
        let report: greenlight_report::RunReport =
            serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
        let check = report.check("docker").unwrap();
        assert_eq!(check.outcome, Outcome::Errored, "{check:?}");
        let reason = check.reason.as_deref().unwrap();
        assert!(reason.starts_with(&format!("no Docker engine at {host}")), "{reason}");
        assert!(reason.contains("skip the docker check"), "{reason}");
        assert!(check.duration_ms < 1000, "found in {}ms; the whole run took {elapsed:?}", check.duration_ms);
    }
}

#[test]
fn a_base_image_that_cannot_be_pulled_is_errored() {
    if !require_docker() {
        return;
    }
    let _serial = serial();
    let before = EngineState::now();
    let project = TempProject::fixture("docker-service");
    let pyproject = std::fs::read_to_string(project.path().join("pyproject.toml")).unwrap();
    project.write(
        "pyproject.toml",
        &format!("{pyproject}\n[tool.greenlight.docker]\nbuild-args = {{ BASE_IMAGE = \"greenlight-test/unavailable:never\" }}\n"),
    );
    let result = project.run_checks(&["docker"]);
    assert_eq!(result.code, Some(2), "{}", result.output());
    let check = result.report().check("docker").unwrap().clone();
    assert_eq!(check.outcome, Outcome::Errored, "{check:?}");
    assert!(
        check.summary.starts_with("the base image `greenlight-test/unavailable:never` cannot be pulled"),
        "{check:?}"
    );
    before.assert_nothing_left(Some(&run_id(&result)));
}

/// A Dockerfile whose build takes as long as we like.
fn slow_build(project: &TempProject) {
    let dockerfile = std::fs::read_to_string(project.path().join("Dockerfile")).unwrap();
    project.write("Dockerfile", &dockerfile.replace("COPY . .\n", "COPY . .\nRUN sleep 300\n"));
}

#[test]
fn a_build_past_its_deadline_is_timed_out_and_removed() {
    if !require_docker() {
        return;
    }
    let _serial = serial();
    let before = EngineState::now();
    let project = TempProject::fixture("docker-service");
    configure(&project, "build-timeout = \"5s\"\n");
    slow_build(&project);
    let started = Instant::now();
    let result = project.run_checks(&["docker"]);
    assert_eq!(result.code, Some(2), "{}", result.output());
    let check = result.report().check("docker").unwrap().clone();
    assert_eq!(check.outcome, Outcome::TimedOut, "{check:?}");
    assert!(check.reason.as_deref().unwrap().contains("raise `build-timeout`"), "{check:?}");
    assert!(started.elapsed() < Duration::from_secs(60), "took {:?}", started.elapsed());
    before.assert_nothing_left(Some(&run_id(&result)));
}

/// Starts `greenlight run docker`, waits until `ready` holds, sends SIGINT, and checks the run
/// ends with 130, a cancelled check, and nothing left in the engine.
fn interrupt_when(project: &TempProject, before: &EngineState, ready: impl Fn(&TempProject) -> bool) {
    let mut child = spawn_greenlight(project.path(), &["run", "docker", "--no-progress", "--json", "report.json"]);
    let started = wait_for(Duration::from_secs(120), || ready(project));
    let status = interrupt(&mut child, Duration::from_secs(30));
    assert!(started, "the run never reached the point to interrupt");
    assert_eq!(status.code(), Some(130));
    let report: greenlight_report::RunReport =
        serde_json::from_str(&std::fs::read_to_string(project.path().join("report.json")).unwrap()).unwrap();
    assert!(report.interrupted);
    assert_eq!(report.check("docker").unwrap().outcome, Outcome::Cancelled);
    before.assert_nothing_left(Some(&report.run_id));
    before.assert_nothing_left(None);
}

#[test]
fn ctrl_c_during_the_build_removes_what_it_made() {
    if !require_docker() {
        return;
    }
    let _serial = serial();
    let before = EngineState::now();
    let project = TempProject::fixture("docker-service");
    configure(&project, "");
    slow_build(&project);
    // Interrupt while `RUN sleep 300` runs in the builder's container.
    interrupt_when(&project, &before, |_| {
        lines(docker(&["ps", "--no-trunc", "--format", "{{.Command}}"]))
            .iter()
            .any(|command| command.contains("sleep 300"))
    });
}

#[test]
fn ctrl_c_during_the_smoke_test_removes_the_container_and_the_image() {
    if !require_docker() {
        return;
    }
    let _serial = serial();
    let before = EngineState::now();
    let project = TempProject::fixture("docker-service");
    configure(&project, "smoke-command = [\"sleep\", \"300\"]\n");
    interrupt_when(&project, &before, |_| {
        !lines(docker(&["ps", "-q", "--filter", &format!("label={RUN_LABEL}")])).is_empty()
    });
}

#[test]
fn keep_image_keeps_the_image_and_nothing_else() {
    if !require_docker() {
        return;
    }
    let _serial = serial();
    let before = EngineState::now();
    let project = docker_project("docker-service");
    let result = project.run_checks(&["docker", "--keep-image"]);
    assert_eq!(result.code, Some(0), "{}", result.output());
    let check = result.report().check("docker").unwrap().clone();
    let image = &check.artifacts[0];
    assert_eq!(image.kind, "image");
    let label = format!("label={RUN_LABEL}={}", run_id(&result));
    let kept = lines(docker(&["images", "--filter", &label, "--format", "{{.Repository}}:{{.Tag}}"]));
    assert_eq!(kept.iter().collect::<Vec<_>>(), [&image.path], "{check:?}");
    assert!(lines(docker(&["ps", "-aq", "--filter", &label])).is_empty(), "the smoke container was left");
    docker(&["rmi", &image.path]).expect("the kept image can be removed");
    before.assert_nothing_left(Some(&run_id(&result)));
}

/// The result cache replays an unchanged build (as Docker's own layer cache would) and builds
/// again when the context changes — also by a file git ignores but the context sends — or
/// when the base image's name points at another image; a file `.dockerignore` excludes
/// replays.
#[test]
fn an_unchanged_build_replays_until_its_context_or_base_image_changes() {
    if !require_docker() {
        return;
    }
    let _serial = serial();
    let before = EngineState::now();
    let base = "greenlight-test/cache-base:e2e";
    docker(&["tag", DOCKER_BASE_IMAGE, base]).expect("tag the base image");
    let project = TempProject::fixture("docker-service");
    configure(&project, "");
    let pyproject = std::fs::read_to_string(project.path().join("pyproject.toml")).unwrap();
    project.write("pyproject.toml", &pyproject.replace(DOCKER_BASE_IMAGE, base));
    project.write(".gitignore", "generated.txt\n");
    project.git_init();
    let docker_check = |result: &RunResult| {
        let check = result.report().check("docker").unwrap_or_else(|| panic!("no docker\n{}", result.output()));
        (check.outcome, check.cached)
    };

    let first = project.run_checks(&["docker"]);
    assert_eq!(docker_check(&first), (Outcome::Passed, false), "{}", first.output());
    let second = project.run_checks(&["docker"]);
    assert_eq!(docker_check(&second), (Outcome::Passed, true), "{}", second.output());

    // The check reads its context only: a test and a document that `.dockerignore` keeps out
    // replay; the one document it lets in builds again.
    for excluded in ["tests/test_added.py", "docs/notes.md"] {
        project.write(excluded, "# not sent to Docker\n");
        let replayed = project.run_checks(&["docker"]);
        assert_eq!(docker_check(&replayed), (Outcome::Passed, true), "{excluded}\n{}", replayed.output());
    }
    project.write("docs/runbook.md", "# Runbook\n\nSent to Docker.\n");
    let sent = project.run_checks(&["docker"]);
    assert_eq!(docker_check(&sent), (Outcome::Passed, false), "{}", sent.output());

    project.write("generated.txt", "made by a build step, ignored by git, sent to Docker\n");
    let third = project.run_checks(&["docker", "-v"]);
    assert_eq!(docker_check(&third), (Outcome::Passed, false), "{}", third.output());
    assert!(third.stderr.contains("base images"), "-v explains the miss\n{}", third.output());

    // The same name, another image (one without Python: the smoke test fails).
    let empty = tempfile::tempdir().unwrap();
    std::fs::write(empty.path().join("README"), "not a Python image\n").unwrap();
    let tar = empty.path().join("image.tar");
    let made = std::process::Command::new("tar")
        .arg("-cf")
        .arg(&tar)
        .arg("-C")
        .arg(empty.path())
        .arg("README")
        .status()
        .unwrap();
    assert!(made.success());
    docker(&["import", &tar.display().to_string(), base]).expect("import a tiny image");
    let fourth = project.run_checks(&["docker"]);
    let (outcome, cached) = docker_check(&fourth);
    assert!(!cached && outcome != Outcome::Passed, "{outcome} from another base image\n{}", fourth.output());

    docker(&["rmi", base]).expect("remove the test image");
    before.assert_nothing_left(None);
}
mod fake_engine;
mod recipes;
mod reliability;
