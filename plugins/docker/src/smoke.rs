//! The smoke test: the command in a container of the built image, without network; its exit
//! code decides, its output explains.

use std::time::Duration;

use greenlight_checker::{CheckError, CheckResult, Finding, FindingKind, Location, text};

use crate::Session;
use crate::build::timed_out;
use crate::engine::{self, ContainerSpec};
use crate::plan::Plan;

/// Bytes of the container's stdout and stderr kept (each).
const LOG_LIMIT: usize = 64 * 1024;

/// Runs `argv` in a container of the built image, without network, and decides from its exit
/// code.
pub(crate) async fn smoke(
    session: &Session<'_>,
    argv: &[String],
    origin: &str,
    line: Option<u32>,
    built: &str,
) -> Result<CheckResult, CheckError> {
    let Session { plan, engine, resources, log, stop } = *session;
    let shown = text::shell_join(argv);
    if stop.is_cancelled() {
        return Err(CheckError::cancelled());
    }
    log.line(&format!("greenlight: smoke test `{shown}` (from {origin}), network disabled"));
    let spec = ContainerSpec {
        name: plan.container_name.clone(),
        image: plan.tag.clone(),
        cmd: argv.to_vec(),
        labels: plan.labels.clone(),
    };
    let id = engine
        .create_container(&spec)
        .await
        .map_err(|error| CheckError::errored(format!("cannot create the smoke-test container: {error}")))?;
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
            return Ok(CheckResult::failed(format!("smoke test `{shown}` cannot start in the image"))
                .with_findings(vec![finding]));
        }
        return Err(CheckError::errored(format!("cannot start the smoke-test container: {message}")));
    }
    // Creating and starting are quick and not interrupted (a container created while no one
    // listens would be left behind); waiting is.
    let code = tokio::select! {
        () = stop.cancelled() => return Err(CheckError::cancelled()),
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
        Ok(Err(error)) => {
            return Err(CheckError::errored(format!("cannot wait for the smoke-test container: {error}")));
        }
        Err(_) => {
            return Err(timed_out(&format!("the smoke command `{shown}`"), plan.run_timeout, "run-timeout", &output));
        }
    };
    log.line(&format!("greenlight: smoke test exited with code {code}"));
    if code == 0 {
        return Ok(CheckResult::passed(format!("{built}; `{shown}` exits 0")));
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
    Ok(CheckResult::failed(summary).with_findings(vec![finding]))
}

fn smoke_location(plan: &Plan, line: Option<u32>) -> Option<Location> {
    line.map(|line| crate::location(&plan.dockerfile_display, Some(line)))
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
    text.lines().rev().map(str::trim).find(|line| !line.is_empty()).map(|line| text::clip(line, 200))
}
