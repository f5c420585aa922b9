//! The GitLab CI recipe's shell steps, as written in `docs/examples/gitlab-ci.yml`, in a clean
//! container that has Python, pip and git and nothing else (`greenlight-test/python-pip`,
//! which `cargo xtask setup` builds), against a fixture: green on the first run, every tool
//! installed by greenlight. The package index is reached with this machine's CA certificate
//! (passed in); `greenlight-ci` comes from the wheel `cargo xtask test` builds
//! (`target/dist-dev`, passed in as pip's `--find-links`). The fixture's Dockerfile is left
//! out: the container has no Docker engine (the recipe's `docker:dind` service); pip-audit
//! audits offline against the bundled advisory records (configured in the fixture's copy), so
//! the verdict does not depend on the vulnerability service.

use std::path::Path;
use std::time::Instant;

use greenlight_e2e::{TempProject, docker, require_docker, workspace};
use serde_yaml_ng::Value;

/// The runner image (see `xtask/src/base_image.rs`).
const RUNNER_IMAGE: &str = "greenlight-test/python-pip:3.11-bookworm";

fn get<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    value.as_mapping()?.get(Value::String(key.to_string()))
}

fn lines(value: Option<&Value>) -> Vec<String> {
    value.and_then(Value::as_sequence).into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect()
}

#[test]
#[expect(clippy::print_stderr, reason = "the test reports the first run's time")]
fn the_gitlab_recipe_is_green_on_the_first_run_in_a_python_only_container() {
    if !require_docker() {
        return;
    }
    let _serial = super::serial();
    let before = super::EngineState::now();
    let wheels = workspace().join("target/dist-dev");
    let has_wheel = std::fs::read_dir(&wheels)
        .map(|entries| entries.flatten().any(|entry| entry.file_name().to_string_lossy().ends_with(".whl")))
        .unwrap_or(false);
    if !has_wheel {
        assert!(
            std::env::var("GREENLIGHT_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "no wheel in {}: `cargo xtask test` builds it (`cargo xtask dist --profile dev --out target/dist-dev`)",
            wheels.display()
        );
        eprintln!("skipped: no wheel in {} (run `cargo xtask test`)", wheels.display());
        return;
    }
    assert!(
        docker(&["image", "inspect", "--format", "{{.Id}}", RUNNER_IMAGE]).is_some(),
        "{RUNNER_IMAGE} is missing: run `cargo xtask setup`"
    );
    let recipe: Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(workspace().join("docs/examples/gitlab-ci.yml")).expect("the recipe"),
    )
    .expect("YAML");
    let job = get(&recipe, "greenlight").expect("the greenlight job");
    let mut script = vec!["set -euo pipefail".to_string()];
    for (name, value) in get(&recipe, "variables").and_then(Value::as_mapping).expect("variables") {
        let (Some(name), Some(value)) = (name.as_str(), value.as_str()) else { continue };
        // No docker:dind service here.
        if !name.starts_with("DOCKER_") {
            script.push(format!("export {name}=\"{value}\""));
        }
    }
    script.extend(lines(get(job, "before_script")));
    script.extend(lines(get(job, "script")));

    let project = TempProject::fixture("clean-service");
    std::fs::remove_file(project.path().join("Dockerfile")).expect("the fixture has a Dockerfile");
    let pyproject = std::fs::read_to_string(project.path().join("pyproject.toml")).expect("pyproject.toml");
    project.write(
        "pyproject.toml",
        &format!("{pyproject}\n[tool.greenlight.pip-audit]\nadvisory-db = \"/advisory-db\"\n"),
    );
    project.git_init();
    let ca = "/etc/ssl/certs/ca-certificates.crt";
    let mounts = [
        format!("{}:/builds/service", project.path().display()),
        format!("{}:/wheels:ro", wheels.display()),
        format!("{ca}:{ca}:ro"),
        format!("{}:/advisory-db:ro", workspace().join("fixtures/advisory-db").display()),
    ];
    let mut args = vec!["run", "--rm", "--label", "io.greenlight.test=recipes", "-w", "/builds/service"];
    for mount in &mounts {
        args.extend(["-v", mount.as_str()]);
    }
    let env = [
        "CI_PROJECT_DIR=/builds/service".to_string(),
        "PIP_FIND_LINKS=/wheels".to_string(),
        format!("PIP_CERT={ca}"),
        format!("SSL_CERT_FILE={ca}"),
        format!("REQUESTS_CA_BUNDLE={ca}"),
    ];
    for var in &env {
        args.extend(["-e", var.as_str()]);
    }
    let script = script.join("\n");
    args.extend([RUNNER_IMAGE, "bash", "-c", script.as_str()]);
    let started = Instant::now();
    let output = std::process::Command::new("docker").args(&args).output().expect("docker run");
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the recipe failed ({}):\n{stdout}\n{stderr}", output.status);
    eprintln!("the GitLab recipe's first run in a Python-only container took {:.1}s", elapsed.as_secs_f64());
    let report: greenlight_report::RunReport = serde_json::from_str(
        &std::fs::read_to_string(project.path().join("greenlight/report.json")).expect("the JSON report"),
    )
    .expect("a report");
    assert_eq!(report.outcome, greenlight_report::Outcome::Passed, "{stdout}");
    for id in ["ruff-check", "ruff-format", "pytest", "gitleaks", "pip-audit", "build"] {
        let check = report.check(id).unwrap_or_else(|| panic!("no {id}"));
        assert_eq!(check.outcome, greenlight_report::Outcome::Passed, "{id}: {check:?}");
    }
    for tool in ["uv", "ruff", "pip-audit", "build", "gitleaks"] {
        assert_eq!(report.tools[tool].source, "provisioned", "{tool}: {:?}", report.tools[tool]);
        assert!(report.tools[tool].path.starts_with("/builds/service/.greenlight/ci/cache/tools/"), "{tool}");
    }
    assert!(Path::new(&project.path().join("greenlight/junit.xml")).is_file());
    before.assert_nothing_left(None);
}
