//! Everything the check decides before it talks to the engine: the build context and
//! Dockerfile, the tag and labels, the deadlines, and what the smoke test runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use greenlight_checker::{CheckContext, CheckError};

use crate::dockerfile::{self, Dockerfile};
use crate::rewrite::{self, Sent};
use crate::{DockerOptions, RUN_LABEL};

const DEFAULT_BUILD_TIMEOUT: Duration = Duration::from_secs(20 * 60);
const DEFAULT_RUN_TIMEOUT: Duration = Duration::from_secs(120);

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
pub(crate) struct Plan {
    pub(crate) context_dir: PathBuf,
    pub(crate) dockerfile_path: PathBuf,
    pub(crate) dockerfile_display: String,
    pub(crate) dockerfile_in_context: Option<String>,
    pub(crate) dockerfile: Dockerfile,
    /// The Dockerfile as sent: `FROM`s through `image-map`, each stage labelled.
    pub(crate) sent: Sent,
    pub(crate) image_map: BTreeMap<String, String>,
    pub(crate) smoke: Smoke,
    pub(crate) tag: String,
    pub(crate) container_name: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) build_args: BTreeMap<String, String>,
    pub(crate) target: Option<String>,
    pub(crate) no_cache: bool,
    pub(crate) build_timeout: Duration,
    pub(crate) run_timeout: Duration,
    pub(crate) keep_image: bool,
}

/// `build-args` with the `secret-build-args` not given there taken from the environment; each
/// secret value joins the run's secrets, so no output shows it.
fn build_args(options: &DockerOptions, cx: &CheckContext) -> Result<BTreeMap<String, String>, CheckError> {
    let mut args = options.build_args.clone();
    for name in &options.secret_build_args {
        let value = match args.get(name) {
            Some(value) => value.clone(),
            None => cx.vars.get(name).cloned().ok_or_else(|| {
                CheckError::errored(format!(
                    "the secret build argument `{name}` (secret-build-args in [tool.greenlight.docker]) has no value: set the environment variable {name}, or give it in `build-args`"
                ))
            })?,
        };
        cx.secrets.add(&value);
        args.insert(name.clone(), value);
    }
    Ok(args)
}

impl Plan {
    pub(crate) fn new(options: &DockerOptions, cx: &CheckContext) -> Result<Self, CheckError> {
        let root = &cx.project.root;
        let dockerfile_display = options.dockerfile.clone().unwrap_or_else(|| "Dockerfile".to_string());
        let dockerfile_path = root.join(&dockerfile_display);
        let context_dir = root.join(options.context.as_deref().unwrap_or("."));
        let context_dir = context_dir.canonicalize().map_err(|error| {
            CheckError::errored(format!(
                "the build context {} cannot be read ({error}); fix `context` in [tool.greenlight.docker]",
                context_dir.display()
            ))
        })?;
        let text = std::fs::read_to_string(&dockerfile_path).map_err(|error| {
            CheckError::errored(format!(
                "cannot read {dockerfile_display} ({error}); fix `dockerfile` in [tool.greenlight.docker]"
            ))
        })?;
        let dockerfile = Dockerfile::parse(&text);
        let build_args = build_args(options, cx)?;
        let sent = rewrite::rewrite(&text, &dockerfile, &options.image_map, &build_args, &cx.run_id);
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
            sent,
            image_map: options.image_map.clone(),
            smoke,
            tag,
            container_name: format!("greenlight-smoke-{run_id}"),
            labels,
            build_args,
            target: options.target.clone(),
            no_cache: options.no_cache,
            build_timeout: options.build_timeout.map_or(DEFAULT_BUILD_TIMEOUT, |timeout| timeout.0),
            run_timeout: options.run_timeout.map_or(DEFAULT_RUN_TIMEOUT, |timeout| timeout.0),
            keep_image,
        })
    }
}

impl Plan {
    /// The image a reference of the Dockerfile (`${BASE_IMAGE}`, `python:3.11-slim`) builds
    /// from: its build arguments resolved, then `image-map` applied.
    pub(crate) fn image(&self, reference: &str) -> String {
        let resolved = self.dockerfile.resolve_args(reference, &self.build_args);
        rewrite::lookup(&self.image_map, &resolved).map_or(resolved, str::to_string)
    }
}

/// A repository name Docker accepts: lowercase alphanumerics separated by single `-`.
pub(crate) fn repository_name(name: &str) -> String {
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
