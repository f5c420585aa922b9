//! The image build through the engine's classic builder: the stream read into the log and
//! the [`BuildLog`], what the builder makes recorded for cleanup as it appears, the deadline and
//! the stop honoured between steps, and a failed build told apart: the project's fault
//! (`failed`, at its Dockerfile line) or not (`errored`: BuildKit syntax, a base image that
//! cannot be pulled, the engine).

use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use greenlight_checker::report::Artifact;
use greenlight_checker::{CheckError, CheckResult, Finding, FindingKind, Outcome, text};

use crate::buildlog::{self, BuildLog, Step, Verdict};
use crate::engine::{BuildEvent, BuildRequest, EngineError};
use crate::plan::{Plan, Smoke};
use crate::rewrite;
use crate::{BUILD_STEP_GRACE, Session, smoke};

/// Builds the image, then runs the smoke test in it.
pub(crate) async fn build_and_smoke(
    session: &Session<'_>,
    tar: &Path,
    dockerfile_in_tar: &str,
) -> Result<CheckResult, CheckError> {
    let Session { plan, engine, resources, log, stop } = *session;
    let request = BuildRequest {
        context_tar: tar.to_path_buf(),
        dockerfile: dockerfile_in_tar.to_string(),
        tag: plan.tag.clone(),
        target: plan.target.clone(),
        build_args: plan.build_args.clone(),
        // The sent Dockerfile labels every stage (`rewrite`); labels given here would only
        // reach the final image, in a step of their own.
        labels: std::collections::BTreeMap::new(),
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
                    log.raw(&text::strip_ansi(&chunk));
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
            return Err(timed_out(
                "the image build",
                plan.build_timeout,
                "build-timeout",
                &build_log_tail(plan, &build_log),
            ));
        }
        Some(_) => return Err(CheckError::cancelled()),
        None => {}
    }
    let build_time = started.elapsed();
    if let Some(error) = failure {
        log.line(&format!("greenlight: the build failed after {:.1}s: {error}", build_time.as_secs_f64()));
        return Ok(build_failed(plan, &build_log, &error));
    }
    let image = engine.inspect_image(&plan.tag).await.map_err(|error| {
        CheckError::errored(format!(
            "the build ended without an error, but the image {} cannot be found ({error}); see the log",
            plan.tag
        ))
    })?;
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
        Smoke::Command { argv, origin, line } => smoke::smoke(session, argv, origin, *line, &built).await?,
    };
    result.artifacts.push(artifact);
    Ok(result)
}

/// The step's number and the step count as `docker build` of the user's Dockerfile prints
/// them (without the steps greenlight added).
fn user_step(plan: &Plan, log: &BuildLog, step: &Step) -> (u32, u32) {
    let added = log.steps.iter().filter(|seen| seen.number <= step.number && rewrite::is_added_step(&seen.instruction));
    let added = u32::try_from(added.count()).unwrap_or(0);
    (step.number.saturating_sub(added), step.total.saturating_sub(plan.sent.added_steps))
}

/// The result of a failed build: `failed` only when the builder's own markers say the project
/// is at fault, `errored` for the engine, a stream that cannot be read, and anything unknown.
fn build_failed(plan: &Plan, log: &BuildLog, error: &EngineError) -> CheckResult {
    let message = text::strip_ansi(&error.to_string()).trim().to_string();
    let step = log.last_step();
    let during = step.map(|step| {
        let (number, total) = user_step(plan, log, step);
        format!(" (at step {number}/{total}: {})", text::clip(&step.instruction, 80))
    });
    let during = during.unwrap_or_default();
    match error {
        EngineError::Unreachable(detail) => {
            return CheckResult::errored(format!(
                "the Docker engine stopped answering during the build{during}: {detail}\ngreenlight cannot judge the project; check the engine (`docker info`, its log) and run again"
            ));
        }
        EngineError::Other(detail) => {
            return CheckResult::errored(format!(
                "the engine's build output could not be read{during}: {detail}\ngreenlight cannot tell whether the image builds; check the engine (`docker info`, its log) and run again"
            ));
        }
        _ => {}
    }
    let mut verdict = buildlog::classify(&message, step);
    if verdict == Verdict::Project && plan.dockerfile.uses_heredoc && message.contains("dockerfile parse error") {
        verdict = Verdict::BuildKit;
    }
    match verdict {
        Verdict::BuildKit => CheckResult::errored(format!(
            "{} needs BuildKit, which greenlight's builder (the engine's classic builder) does not run: {message}\ngreenlight cannot build this image to judge it; build it with `docker buildx build`, or turn the check off with `enabled = false` in [tool.greenlight.docker]",
            plan.dockerfile_display
        )),
        Verdict::Pull => pull_failed(plan, step, &message),
        Verdict::LostParent => CheckResult::errored(format!(
            "the Docker engine lost a layer this build stood on{during}: {message}\nsomething removed an image while the build used it (a `docker image prune`, or another tool's cleanup); greenlight cannot judge the project; run again"
        )),
        Verdict::Engine => CheckResult::errored(format!(
            "the Docker engine could not build the image{during}: {message}\nthe build output does not say the project is at fault, so greenlight cannot judge it; check the engine (`docker info`, its log) and run again"
        )),
        Verdict::Project => project_failed(plan, log, step, &message),
    }
}

/// A base image that cannot be pulled: named, with what to do (`image-map`; `build-args` only
/// when an `ARG` names the image).
fn pull_failed(plan: &Plan, step: Option<&Step>, message: &str) -> CheckResult {
    let image = step.map(|step| plan.dockerfile.base_image(&step.instruction, &plan.build_args));
    let image = image.filter(|image| !image.is_empty()).unwrap_or_else(|| "a base image".to_string());
    let mapped_from = plan.sent.mapped.iter().find(|(_, to)| *to == image).map(|(from, _)| from.clone());
    let what_to_do = match &mapped_from {
        Some(from) => format!(
            "`image-map` in [tool.greenlight.docker] builds `{from}` from it; pull or load `{image}` on this machine, or map `{from}` to an image the engine has"
        ),
        None => {
            let by_arg = step.is_some_and(|step| step.instruction.contains('$'));
            format!(
                "pull or load `{image}` on this machine, or build from an image the engine has without editing the Dockerfile: `image-map = {{ \"{image}\" = \"IMAGE\" }}` in [tool.greenlight.docker] (or `--image-map {image}=IMAGE`){}",
                if by_arg { "; an `ARG` names this image, so `build-args` can set it too" } else { "" }
            )
        }
    };
    CheckResult::errored(format!(
        "the base image `{image}` cannot be pulled: {message}\nno registry answered as needed, so greenlight cannot build the image to judge the project; {what_to_do}"
    ))
}

/// The project's fault, at its Dockerfile line.
fn project_failed(plan: &Plan, log: &BuildLog, step: Option<&Step>, message: &str) -> CheckResult {
    let line = step.and_then(|step| plan.dockerfile.line_of_step(&step.instruction)).or_else(|| {
        buildlog::line_in_message(message).filter(|_| step.is_none()).and_then(|line| plan.sent.original_line(line))
    });
    let mut detail: Vec<String> = step.map(|step| buildlog::error_lines(step, 20)).unwrap_or_default();
    if !detail.iter().any(|line| line.contains(message)) {
        detail.push(message.to_string());
    }
    let mut finding =
        Finding::new("docker-build", message.to_string(), Some(crate::location(&plan.dockerfile_display, line)));
    finding.kind = FindingKind::Build;
    let numbers = step.map(|step| user_step(plan, log, step));
    finding.title = Some(match numbers {
        Some((number, total)) => format!("docker build: step {number}/{total}"),
        None => "docker build".to_string(),
    });
    finding.detail = Some(detail.join("\n"));
    finding.help = Some("reproduce with `docker build .`; the whole build output is in the check's log".to_string());
    let summary = match (step, numbers) {
        (Some(step), Some((number, total))) => {
            format!("build failed at step {number}/{total}: {}", text::clip(&step.instruction, 80))
        }
        _ => format!("build failed: {}", text::clip(message, 100)),
    };
    CheckResult::failed(summary).with_findings(vec![finding])
}

/// `what` ran past `limit`, which `option` in the configuration sets.
pub(crate) fn timed_out(what: &str, limit: Duration, option: &str, output: &str) -> CheckError {
    let limit = text::limit(limit);
    let mut reason = format!(
        "{what} ran longer than {limit} and was stopped; raise `{option}` in [tool.greenlight.docker] if it needs longer"
    );
    if !output.trim().is_empty() {
        reason.push_str("\nlast output:\n");
        reason.push_str(output);
    }
    CheckError::timed_out(format!("{what} ran longer than {limit}"), Some(reason))
}

fn build_log_tail(plan: &Plan, log: &BuildLog) -> String {
    match log.last_step() {
        Some(step) => {
            let (number, total) = user_step(plan, log, step);
            let mut lines = vec![format!("Step {number}/{total} : {}", step.instruction)];
            lines.extend(buildlog::error_lines(step, 10));
            lines.join("\n")
        }
        None => String::new(),
    }
}

fn megabytes(bytes: u64) -> String {
    format!("{:.0} MB", bytes as f64 / 1_000_000.0)
}
