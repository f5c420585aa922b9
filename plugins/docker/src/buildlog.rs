//! Reading the classic builder's output: its steps, what each printed, the images it made, and
//! what a failure means.
//!
//! The classic builder (what `/build` runs without a BuildKit session) prints
//! `Step 3/7 : RUN pip install .` for each instruction, then ` ---> Running in <container>`,
//! the command's output (stderr wrapped in ANSI red), and ` ---> <image>` for the layer it
//! committed (` ---> Using cache` first when it reused one). Chunks do not end on line
//! boundaries.

use std::sync::LazyLock;

use regex::Regex;

/// Most output lines kept per step (the tail).
const MAX_STEP_LINES: usize = 200;

/// One build step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Step {
    /// `3` of `Step 3/7`.
    pub number: u32,
    /// `7` of `Step 3/7`.
    pub total: u32,
    /// The instruction as the builder printed it (`RUN pip install .`).
    pub instruction: String,
    /// What it printed (the tail), without ANSI codes.
    pub output: Vec<String>,
    /// The image it committed.
    pub image: Option<String>,
    /// True when it reused a cached layer.
    pub cached: bool,
    /// True once it started a container (`RUN`, and instructions that commit one).
    pub container: bool,
}

impl Step {
    /// True for `FROM`: its ` ---> id` is the base image, not a layer this build made.
    pub fn is_from(&self) -> bool {
        self.instruction.split_whitespace().next().is_some_and(|word| word.eq_ignore_ascii_case("FROM"))
    }
}

/// The build output so far.
#[derive(Debug, Clone, Default)]
pub struct BuildLog {
    /// Steps in order.
    pub steps: Vec<Step>,
    /// Output before the first step.
    pub preamble: Vec<String>,
    /// The built image, from `Successfully built` or the final aux message.
    pub image_id: Option<String>,
    partial: String,
}

static STEP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^Step (\d+)/(\d+) : (.*)$").expect("the step pattern compiles"));
static IMAGE_ID: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[0-9a-f]{12,64}$").expect("the id pattern compiles"));

/// What the builder did that the caller must clean up after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// It committed a layer for this build (not cached, not the base image).
    Layer(String),
    /// It started a container for a step.
    ContainerStarted(String),
    /// It removed that container.
    ContainerRemoved(String),
}

impl BuildLog {
    /// Adds a chunk of build output; returns what the builder made or removed, so the caller
    /// can remove what remains even if the build stops.
    pub fn push(&mut self, chunk: &str) -> Vec<Event> {
        self.partial.push_str(chunk);
        let mut events = Vec::new();
        while let Some(end) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=end).collect();
            events.extend(self.line(line.trim_end_matches(['\n', '\r'])));
        }
        events
    }

    /// Flushes an unterminated last line.
    pub fn finish(&mut self) -> Vec<Event> {
        let rest = std::mem::take(&mut self.partial);
        if rest.is_empty() { Vec::new() } else { self.line(&rest).into_iter().collect() }
    }

    /// True when closing the connection now cancels the build without it committing a layer
    /// unseen: before the first step, after a step finished, during a `FROM` (a pull), or while
    /// a step's container runs (the builder kills it, or commits it and reports nothing; the
    /// caller waits for the container to go).
    pub fn safe_to_leave(&self) -> bool {
        match self.steps.last() {
            None => true,
            Some(step) => step.image.is_some() || step.container || step.is_from(),
        }
    }

    /// The image the step in progress builds on (the last image a step produced or started
    /// from): whatever the builder commits next has it as its parent.
    pub fn last_image(&self) -> Option<String> {
        self.steps.iter().rev().find_map(|step| step.image.clone())
    }

    fn line(&mut self, line: &str) -> Option<Event> {
        let line = greenlight_checker::text::strip_ansi(line);
        if let Some(captures) = STEP.captures(&line) {
            self.steps.push(Step {
                number: captures[1].parse().unwrap_or(0),
                total: captures[2].parse().unwrap_or(0),
                instruction: captures[3].trim().to_string(),
                ..Step::default()
            });
            return None;
        }
        if let Some(rest) = line.strip_prefix(" ---> ") {
            let rest = rest.trim();
            let step = self.steps.last_mut()?;
            if rest == "Using cache" {
                step.cached = true;
            } else if let Some(container) = rest.strip_prefix("Running in ") {
                step.container = true;
                return Some(Event::ContainerStarted(container.trim().to_string()));
            } else if IMAGE_ID.is_match(rest) {
                step.image = Some(rest.to_string());
                if !step.cached && !step.is_from() {
                    return Some(Event::Layer(rest.to_string()));
                }
            }
            return None;
        }
        if let Some(container) = line.strip_prefix("Removing intermediate container ") {
            return Some(Event::ContainerRemoved(container.trim().to_string()));
        }
        if line.starts_with("Successfully tagged ") {
            return None;
        }
        if let Some(id) = line.strip_prefix("Successfully built ") {
            self.image_id = Some(id.trim().to_string());
            return None;
        }
        let lines = match self.steps.last_mut() {
            Some(step) => &mut step.output,
            None => &mut self.preamble,
        };
        lines.push(line);
        if lines.len() > MAX_STEP_LINES {
            lines.remove(0);
        }
        None
    }

    /// The step that was running last (the failing one when the build failed).
    pub fn last_step(&self) -> Option<&Step> {
        self.steps.last()
    }
}

/// What a failed build means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The builder's own markers say the project's Dockerfile or context is wrong (a `RUN`
    /// step's non-zero exit, a missing `COPY` source, a parse error): `failed`.
    Project,
    /// A base image could not be pulled: `errored` (greenlight cannot judge the project).
    Pull,
    /// Anything else: the engine, its network or storage, or a message the builder does not
    /// say is the project's (`errored`: greenlight cannot judge the project).
    Engine,
    /// The Dockerfile needs BuildKit (`RUN --mount`, `COPY --chmod`, here-documents), which the
    /// engine's classic builder does not run: `errored`.
    BuildKit,
    /// A parent layer went away while the build used it (another build's cleanup on the same
    /// engine): `errored`, and worth one more build.
    LostParent,
}

/// What the classic builder says when the project is at fault (moby's `builder/dockerfile`
/// and its parser): a step's command failed, a source is missing, the file does not parse or
/// names what does not exist.
const PROJECT_MARKERS: &[&str] = &[
    // RUN: `The command '/bin/sh -c ...' returned a non-zero code: 1`
    "returned a non-zero code",
    // COPY/ADD: `COPY failed: file not found in build context or excluded by .dockerignore`,
    // `COPY failed: no source files were specified`, `ADD failed: stat ...`
    "copy failed:",
    "add failed:",
    "failed to process \"",
    "dockerfile parse error",
    "unknown instruction",
    "invalid reference format",
    "should not be blank",
    "unknown flag",
    "no build stage",
    "failed to reach build target",
    "requires exactly one argument",
    "requires at least one argument",
    "requires at least two arguments",
    "requires either one or three arguments",
    "must have two arguments",
    "can't stat",
    "forbidden path outside the build context",
    "invalid from flag value",
    "is not a valid stage",
    "invalid containerport",
    "invalid signal",
    "invalid duration",
    "invalid escape token",
];

/// Judges a build error `message` given the step that was running: `failed` only on the
/// builder's own markers of a project fault, `errored` for everything else.
pub fn classify(message: &str, step: Option<&Step>) -> Verdict {
    let lower = message.to_ascii_lowercase();
    if lower.contains("unknown parent image id") || lower.contains("failed to set parent") {
        return Verdict::LostParent;
    }
    let engine_markers = [
        "no space left on device",
        "cannot connect to the docker daemon",
        "read-only file system",
        "could not find bridge",
        "failed to create endpoint",
        "failed to export image",
        "error creating overlay mount",
        "driver failed",
    ];
    if engine_markers.iter().any(|marker| lower.contains(marker)) {
        return Verdict::Engine;
    }
    if lower.contains("requires buildkit") {
        return Verdict::BuildKit;
    }
    let pull_markers = [
        "pull access denied",
        "manifest unknown",
        "manifest for ",
        "not found: manifest",
        "repository does not exist",
        "failed to resolve reference",
        "toomanyrequests",
        "docker login",
        "registry-1.docker.io",
        "no such host",
        "dial tcp",
        "i/o timeout",
        "tls handshake timeout",
        "connection refused",
        "unauthorized: ",
    ];
    let pulling = step.is_some_and(Step::is_from)
        || step.is_some_and(|step| step.instruction.to_ascii_lowercase().contains("--from="));
    if pull_markers.iter().any(|marker| lower.contains(marker)) && (pulling || lower.contains("pull")) {
        return Verdict::Pull;
    }
    if PROJECT_MARKERS.iter().any(|marker| lower.contains(marker)) {
        return Verdict::Project;
    }
    Verdict::Engine
}

/// The lines that explain a failed step: its output's tail without the builder's noise.
pub fn error_lines(step: &Step, limit: usize) -> Vec<String> {
    let lines: Vec<&String> = step.output.iter().filter(|line| !line.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(limit)..].iter().map(|line| line.to_string()).collect()
}

/// A line number in a daemon message such as `dockerfile parse error line 2: unknown
/// instruction: RUNN`.
pub fn line_in_message(message: &str) -> Option<u32> {
    static LINE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)line (\d+)").expect("the line pattern compiles"));
    LINE.captures(message).and_then(|captures| captures[1].parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The classic builder's output for a failing `RUN`, as the engine streamed it here, split
    /// into the chunks it arrived in (step 4 marked as cached to cover that case).
    const FAILED_RUN: &[&str] = &[
        "Step 1/7 : ARG BASE_IMAGE=python:3.11-slim",
        "\n",
        "Step 2/7 : FROM ${BASE_IMAGE}",
        "\n",
        " ---> aaed5b53a1be\n",
        "Step 3/7 : WORKDIR /app",
        "\n",
        " ---> Running in fecc7baab234\n",
        "Removing intermediate container fecc7baab234\n",
        " ---> bd767bc64d92\n",
        "Step 4/7 : COPY a.txt .",
        "\n",
        " ---> Using cache\n",
        " ---> e868032cc36e\n",
        "Step 5/7 : RUN echo hello && python3 -c \"import sys; print('to stderr', file=sys.stderr); sys.exit(3)\"",
        "\n",
        " ---> Running in 0c75430ff2b8\n",
        "hello\n",
        "\u{1b}[91mto stderr\n\u{1b}[0m",
    ];

    #[test]
    fn steps_outputs_and_made_layers() {
        let mut log = BuildLog::default();
        let mut events = Vec::new();
        for chunk in FAILED_RUN {
            events.extend(log.push(chunk));
        }
        events.extend(log.finish());
        assert_eq!(
            events,
            [
                Event::ContainerStarted("fecc7baab234".into()),
                Event::ContainerRemoved("fecc7baab234".into()),
                Event::Layer("bd767bc64d92".into()),
                Event::ContainerStarted("0c75430ff2b8".into()),
            ],
            "the base image and cached layers are not this build's"
        );
        assert_eq!(log.last_image().as_deref(), Some("e868032cc36e"));
        assert_eq!(log.steps.len(), 5);
        let step = log.last_step().unwrap();
        assert_eq!((step.number, step.total), (5, 7));
        assert!(step.instruction.starts_with("RUN echo hello"));
        assert_eq!(error_lines(step, 10), ["hello", "to stderr"]);
        assert!(log.steps[3].cached);
        let verdict = classify("The command '/bin/sh -c echo hello' returned a non-zero code: 3", Some(step));
        assert_eq!(verdict, Verdict::Project);
    }

    #[test]
    fn pull_failures_are_not_the_projects_fault() {
        let from = Step { instruction: "FROM python:3.11-slim".to_string(), ..Step::default() };
        let offline = "Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io on 10.0.0.53:53: no such host";
        assert_eq!(classify(offline, Some(&from)), Verdict::Pull);
        let denied = "pull access denied for nope, repository does not exist or may require 'docker login': denied: requested access to the resource is denied";
        assert_eq!(classify(denied, Some(&from)), Verdict::Pull);
        let copy_from =
            Step { instruction: "COPY --from=ghcr.io/astral-sh/uv:latest /uv /bin/".to_string(), ..Step::default() };
        assert_eq!(classify(denied, Some(&copy_from)), Verdict::Pull);
        assert_eq!(classify("base name (${BASE_IMAGE}) should not be blank", Some(&from)), Verdict::Project);
        let run = Step { instruction: "RUN pip install -r requirements.txt".to_string(), ..Step::default() };
        assert_eq!(
            classify(
                "The command '/bin/sh -c pip install -r requirements.txt' returned a non-zero code: 1",
                Some(&run)
            ),
            Verdict::Project
        );
        assert_eq!(classify("write /var/lib/docker/tmp/x: no space left on device", Some(&run)), Verdict::Engine);
        let mount = "the --mount option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled";
        assert_eq!(classify(mount, Some(&run)), Verdict::BuildKit);
    }

    #[test]
    fn only_the_builders_own_markers_blame_the_project() {
        let run = Step { instruction: "RUN pip install .".to_string(), ..Step::default() };
        let bridge = "failed to create endpoint vibrant_lamport on network bridge: could not find bridge docker0: route ip+net: no such network interface";
        assert_eq!(classify(bridge, Some(&run)), Verdict::Engine);
        assert_eq!(classify("an error message the builder never printed", Some(&run)), Verdict::Engine);
        assert_eq!(classify("", None), Verdict::Engine);
        let lost = "failed to export image: failed to set parent sha256:4f2a: unknown parent image ID sha256:4f2a";
        assert_eq!(classify(lost, Some(&run)), Verdict::LostParent);
        let copy = Step { instruction: "COPY missing.txt .".to_string(), ..Step::default() };
        let missing = "COPY failed: file not found in build context or excluded by .dockerignore: stat missing.txt: file does not exist";
        assert_eq!(classify(missing, Some(&copy)), Verdict::Project);
        assert_eq!(classify("failed to process \"${X:?}\": X: is not set", Some(&copy)), Verdict::Project);
    }

    #[test]
    fn parse_errors_name_their_line() {
        let message = "dockerfile parse error line 2: unknown instruction: RUNN";
        assert_eq!(classify(message, None), Verdict::Project);
        assert_eq!(line_in_message(message), Some(2));
        assert_eq!(greenlight_checker::text::strip_ansi("\u{1b}[91merror\u{1b}[0m"), "error");
    }
}
