//! The docker check against the real engine where the engine and the runs around it misbehave:
//! a base image under another name (`image-map`), two runs building at once, a run killed with
//! SIGKILL mid-build (what it left is labelled and the next run removes it), and a file name
//! that is not UTF-8 in the build context; secret build arguments echoed by a failing step.

use std::time::Duration;

use greenlight_e2e::{DOCKER_BASE_IMAGE, TempProject, docker, require_docker, spawn_greenlight, wait_for};
use greenlight_report::Outcome;

use super::{EngineState, RUN_LABEL, configure, docker_project, docker_section, lines, run_id, serial, slow_build};

/// `[tool.greenlight.docker]` with only `extra` (no `build-args`: the fixture's Dockerfile then
/// builds `FROM python:3.11-slim`, which no registry here serves).
fn configure_without_base(project: &TempProject, extra: &str) {
    docker_section(project, extra);
}

/// The Dockerfile says `FROM ${BASE_IMAGE}` with the default `python:3.11-slim`; the engine has
/// the local base image only under another name. `image-map` (and `--image-map`) builds from
/// it without editing the Dockerfile; without it, the error names the image and suggests
/// `image-map`.
#[test]
fn image_map_builds_from_a_base_image_under_another_name() {
    if !require_docker() {
        return;
    }
    let _serial = serial();
    let before = EngineState::now();
    let project = TempProject::fixture("docker-service");
    let dockerfile = std::fs::read_to_string(project.path().join("Dockerfile")).unwrap();
    assert!(dockerfile.contains("ARG BASE_IMAGE=python:3.11-slim"), "{dockerfile}");

    configure_without_base(&project, "");
    let result = project.run_checks(&["docker"]);
    let check = result.report().check("docker").unwrap().clone();
    assert_eq!(check.outcome, Outcome::Errored, "{check:?}\n{}", result.output());
    assert!(check.summary.starts_with("the base image `python:3.11-slim` cannot be pulled"), "{check:?}");
    let reason = check.reason.clone().unwrap_or_default();
    assert!(reason.contains("image-map = { \"python:3.11-slim\" = \"IMAGE\" }"), "{reason}");
    assert!(reason.contains("`build-args` can set it too"), "an ARG names this base image: {reason}");
    before.assert_nothing_left(Some(&run_id(&result)));

    configure_without_base(&project, &format!("image-map = {{ \"python:3.11-slim\" = \"{DOCKER_BASE_IMAGE}\" }}\n"));
    let result = project.run_checks(&["docker"]);
    let check = result.report().check("docker").unwrap().clone();
    assert_eq!(check.outcome, Outcome::Passed, "{check:?}\n{}", result.output());
    before.assert_nothing_left(Some(&run_id(&result)));

    // The flag, for one run; the reference as the engine reads it.
    configure_without_base(&project, "");
    let mapping = format!("docker.io/library/python:3.11-slim={DOCKER_BASE_IMAGE}");
    let result = project.run_checks(&["docker", "--no-cache", "--image-map", &mapping]);
    let check = result.report().check("docker").unwrap().clone();
    assert_eq!(check.outcome, Outcome::Passed, "{check:?}\n{}", result.output());
    before.assert_nothing_left(Some(&run_id(&result)));
    assert_eq!(std::fs::read_to_string(project.path().join("Dockerfile")).unwrap(), dockerfile, "not edited");
}

/// Two runs of the same service build at once on one engine. Without per-run layers the
/// classic builder gives the second build the first one's fresh layers from its cache, and the
/// first run's cleanup removes them under it ("failed to export image: failed to set parent
/// ...: unknown parent image ID"). Several rounds, both green each time, nothing left.
#[test]
fn two_runs_building_at_once_do_not_remove_each_others_layers() {
    if !require_docker() {
        return;
    }
    let _serial = serial();
    let before = EngineState::now();
    let projects: Vec<TempProject> = (0..2).map(|_| docker_project("docker-service")).collect();
    for round in 0..3 {
        let children: Vec<_> = projects
            .iter()
            .map(|project| {
                spawn_greenlight(
                    project.path(),
                    &["run", "docker", "--no-progress", "--no-cache", "--json", "report.json"],
                )
            })
            .collect();
        for (child, project) in children.into_iter().zip(&projects) {
            let output = child.wait_with_output().unwrap();
            let report: greenlight_report::RunReport =
                serde_json::from_str(&std::fs::read_to_string(project.path().join("report.json")).unwrap()).unwrap();
            let check = report.check("docker").unwrap();
            assert_eq!(
                check.outcome,
                Outcome::Passed,
                "round {round}: {check:?}\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            assert_eq!(output.status.code(), Some(0));
            // The mechanism: no build took a layer of the other's from the builder's cache.
            let log = std::fs::read_to_string(project.path().join(&check.log.as_ref().unwrap().path)).unwrap();
            assert!(!log.contains("Using cache"), "round {round}: a layer was shared\n{log}");
        }
    }
    before.assert_nothing_left(None);
}

/// A run killed with SIGKILL while a `RUN` step runs cannot clean up. What it made carries its
/// label (the step's container, the layers before it), so the documented filter finds it, and
/// the next docker check in the project removes it.
#[test]
fn what_a_run_killed_mid_build_left_is_labelled_and_removed_by_the_next_run() {
    if !require_docker() {
        return;
    }
    let _serial = serial();
    let before = EngineState::now();
    let project = docker_project("docker-service");
    let dockerfile = std::fs::read_to_string(project.path().join("Dockerfile")).unwrap();
    slow_build(&project);
    let mut child = spawn_greenlight(project.path(), &["run", "docker", "--no-progress", "--json", "report.json"]);
    let label = format!("label={RUN_LABEL}");
    let running = wait_for(Duration::from_secs(120), || {
        lines(docker(&["ps", "--no-trunc", "--filter", &label, "--format", "{{.Command}}"]))
            .iter()
            .any(|command| command.contains("sleep 300"))
    });
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(running, "the step's container never appeared under the label filter");
    let layers = lines(docker(&["images", "-aq", "--filter", &label]));
    assert!(!layers.is_empty(), "the killed build's layers carry the label");
    let records = std::fs::read_dir(project.path().join(".greenlight/docker-runs")).unwrap().count();
    assert_eq!(records, 1, "the killed run's record is left for the next run");

    project.write("Dockerfile", &dockerfile);
    let result = project.run_checks(&["docker"]);
    let check = result.report().check("docker").unwrap().clone();
    assert_eq!(check.outcome, Outcome::Passed, "{check:?}\n{}", result.output());
    let log = std::fs::read_to_string(project.path().join(&check.log.as_ref().unwrap().path)).unwrap();
    assert!(log.contains("ended before it could remove them"), "{log}");
    before.assert_nothing_left(None);
    let records = std::fs::read_dir(project.path().join(".greenlight/docker-runs")).unwrap().count();
    assert_eq!(records, 0, "both records are gone");
}

/// A file whose name is not UTF-8 is sent in the build context as it is and reaches the image.
#[test]
fn a_file_name_that_is_not_utf8_reaches_the_image() {
    use std::os::unix::ffi::OsStrExt as _;
    if !require_docker() {
        return;
    }
    let _serial = serial();
    let before = EngineState::now();
    let project = TempProject::fixture("docker-service");
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.txt");
    std::fs::write(project.path().join("apps").join(name), "latin-1 name\n").unwrap();
    let probe = "import os, sys; sys.exit(0 if b'caf\\\\xe9.txt' in os.listdir(b'apps') else 'missing: ' + repr(os.listdir(b'apps')))";
    configure(&project, &format!("smoke-command = [\"python\", \"-c\", \"{probe}\"]\n"));
    let result = project.run_checks(&["docker"]);
    let check = result.report().check("docker").unwrap().clone();
    assert_eq!(check.outcome, Outcome::Passed, "{check:?}\n{}", result.output());
    before.assert_nothing_left(Some(&run_id(&result)));
}

/// A multi-stage Dockerfile naming the base image literally, with `--platform` and `AS`:
/// `image-map` keeps both and the later stage still builds on the named stage.
#[test]
fn image_map_keeps_platform_and_stage_names() {
    if !require_docker() {
        return;
    }
    let _serial = serial();
    let before = EngineState::now();
    let project = TempProject::fixture("docker-service");
    project.write(
        "Dockerfile",
        "FROM --platform=linux/amd64 python:3.11-slim AS base\nWORKDIR /app\nCOPY . .\n\nFROM base AS runtime\nCMD [\"uvicorn\", \"apps.api.main:app\"]\n",
    );
    configure_without_base(&project, &format!("image-map = {{ \"python:3.11-slim\" = \"{DOCKER_BASE_IMAGE}\" }}\n"));
    let result = project.run_checks(&["docker"]);
    let check = result.report().check("docker").unwrap().clone();
    assert_eq!(check.outcome, Outcome::Passed, "{check:?}\n{}", result.output());
    let log = std::fs::read_to_string(project.path().join(&check.log.as_ref().unwrap().path)).unwrap();
    assert!(log.contains(&format!("FROM --platform=linux/amd64 {DOCKER_BASE_IMAGE} AS base")), "{log}");
    before.assert_nothing_left(Some(&run_id(&result)));
}

/// A build argument marked secret (`secret-build-args`), one from the environment and one
/// from `build-args`, echoed by a failing `RUN`: the step fails at its line with the output
/// shown, and neither value is in any output (terminal, report, logs, the cache).
#[test]
fn secret_build_args_echoed_by_a_failing_step_are_masked_everywhere() {
    if !require_docker() {
        return;
    }
    let _serial = serial();
    let before = EngineState::now();
    let project = docker_project("docker-build-fails");
    let (from_env, from_config) = ("idx-Kq7xW2mZ9p", "cfg-Rt4vB8nL3s");
    project.write(
        "Dockerfile",
        "ARG BASE_IMAGE=python:3.11-slim\nFROM ${BASE_IMAGE}\nARG INDEX_TOKEN\nARG DEPLOY_KEY\nRUN echo \"index=$INDEX_TOKEN deploy=$DEPLOY_KEY\" && exit 3\n",
    );
    docker_section(
        &project,
        &format!(
            "build-args = {{ BASE_IMAGE = \"{DOCKER_BASE_IMAGE}\", DEPLOY_KEY = \"{from_config}\" }}\nsecret-build-args = [\"INDEX_TOKEN\", \"DEPLOY_KEY\"]\n"
        ),
    );
    let result = project.run_checks_with(&["-v", "docker"], &[("INDEX_TOKEN", from_env)]);
    let check = result.report().check("docker").unwrap().clone();
    assert_eq!(check.outcome, Outcome::Failed, "{check:?}\n{}", result.output());
    let shown = format!("{check:?}\n{}", result.output());
    assert!(shown.contains("index=*** deploy=***"), "the step's output is not shown masked\n{shown}");
    for (name, text) in greenlight_e2e::everything_written(project.path(), &result) {
        for secret in [from_env, from_config] {
            assert!(!text.contains(secret), "{name} shows the secret build argument `{secret}`");
        }
    }
    before.assert_nothing_left(Some(&run_id(&result)));

    // Without a value anywhere, the check says which variable to set.
    let missing = project.run_checks(&["docker"]);
    let check = missing.report().check("docker").unwrap().clone();
    assert_eq!(check.outcome, Outcome::Errored, "{check:?}\n{}", missing.output());
    assert!(check.summary.contains("set the environment variable INDEX_TOKEN"), "{check:?}");
}
